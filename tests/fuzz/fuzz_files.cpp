#include "fuzz_files.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>

namespace eventwatcher::fuzz {
namespace {

// Bounds the read and write loops (the buffers are made small below).
constexpr int kMaxChunks = 64;
constexpr std::size_t kChunk = 4096;

// An unlinked regular file, or -1.
int open_regular_file() {
  int fd = ::open("/tmp", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd >= 0) return fd;
  char name[] = "/tmp/eventwatcher_fuzz_XXXXXX";  // file systems without O_TMPFILE
  fd = ::mkostemp(name, O_CLOEXEC);
  if (fd >= 0) ::unlink(name);
  return fd;
}

// Writes `size` bytes of `fd` (a socket or a pipe end); the result of write(2).
ssize_t put(int fd, Kind kind, const char* data, std::size_t size) {
  if (kind == Kind::Socket) return ::send(fd, data, size, MSG_NOSIGNAL | MSG_DONTWAIT);
  return ::write(fd, data, size);
}

}  // namespace

Files::~Files() {
  close_all();
}

void Files::add(int fd, Kind kind, int peer) {
  open_[fd] = File{next_serial_++, kind, peer};
  if (std::find(numbers_.begin(), numbers_.end(), fd) == numbers_.end()) numbers_.push_back(fd);
}

bool Files::open_pipe() {
  int fds[2];
  if (!room(2) || ::pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) return false;
  (void)::fcntl(fds[0], F_SETPIPE_SZ, 4096);  // one page: Fill is one write
  add(fds[0], Kind::PipeRead, fds[1]);
  add(fds[1], Kind::PipeWrite, fds[0]);
  return true;
}

bool Files::open_socket_pair() {
  int fds[2];
  if (!room(2) || ::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) != 0) {
    return false;
  }
  for (const int fd : fds) {
    const int smallest = 1;  // the kernel rounds it up to its minimum
    (void)::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &smallest, sizeof smallest);
  }
  add(fds[0], Kind::Socket, fds[1]);
  add(fds[1], Kind::Socket, fds[0]);
  return true;
}

int Files::open_new(NewFile what, int& other_end) {
  other_end = -1;
  int fds[2];
  switch (what) {
    case NewFile::PipeRead:
    case NewFile::PipeWrite: {
      if (::pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) return -1;
      (void)::fcntl(fds[0], F_SETPIPE_SZ, 4096);
      const bool read_end = what == NewFile::PipeRead;
      other_end = fds[read_end ? 1 : 0];
      return fds[read_end ? 0 : 1];
    }
    case NewFile::Socket:
      if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) != 0) return -1;
      other_end = fds[1];
      return fds[0];
    case NewFile::DevNull:
      return ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    case NewFile::Regular:
      return open_regular_file();
    case NewFile::Directory:
    case NewFile::Count:
      break;
  }
  return ::open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

bool Files::replace(int fd, NewFile what) {
  const bool paired =
      what == NewFile::PipeRead || what == NewFile::PipeWrite || what == NewFile::Socket;
  const bool held = open_.count(fd) != 0;
  if (!room((paired ? 2 : 1) - (held ? 1 : 0))) return false;
  // A free number outside the pool may be taken; a used one only if ours.
  if (!held && !(::fcntl(fd, F_GETFD) == -1 && errno == EBADF)) return false;
  int other = -1;
  int moved = open_new(what, other);
  if (moved < 0) return false;
  if (other == fd) {  // the kernel handed the free number to the other end: move it aside
    const int aside = ::fcntl(other, F_DUPFD_CLOEXEC, fd + 1);
    ::close(other);
    other = aside;
    if (other < 0) std::abort();
  }
  if (moved != fd) {
    // dup3 closes the file on `fd` (if any) and puts the new one there.
    if (::dup3(moved, fd, O_CLOEXEC) != fd) std::abort();
    ::close(moved);
  }
  if (held) {
    const int old_peer = open_[fd].peer;
    if (old_peer >= 0) open_[old_peer].peer = -1;
    open_.erase(fd);
  }
  static constexpr Kind kinds[] = {Kind::PipeRead, Kind::PipeWrite, Kind::Socket,
                                   Kind::DevNull,  Kind::Regular,   Kind::Directory};
  const Kind kind = kinds[static_cast<int>(what)];
  add(fd, kind, other);
  if (other >= 0) {
    add(other,
        kind == Kind::PipeRead    ? Kind::PipeWrite
        : kind == Kind::PipeWrite ? Kind::PipeRead
                                  : Kind::Socket,
        fd);
  }
  return true;
}

void Files::close(int fd) {
  auto it = open_.find(fd);
  if (it == open_.end()) return;
  ::close(fd);
  if (it->second.peer >= 0) open_[it->second.peer].peer = -1;
  open_.erase(it);
}

void Files::close_all() {
  for (const auto& [fd, file] : open_) ::close(fd);
  open_.clear();
}

void Files::feed(int fd) {
  const File* file = at(fd);
  if (file == nullptr || file->peer < 0) return;
  if (file->kind != Kind::PipeRead && file->kind != Kind::Socket) return;
  (void)put(file->peer, file->kind == Kind::Socket ? Kind::Socket : Kind::PipeWrite, "x", 1);
}

void Files::drain(int fd) {
  const File* file = at(fd);
  if (file == nullptr || (file->kind != Kind::PipeRead && file->kind != Kind::Socket)) return;
  char buffer[kChunk];
  for (int i = 0; i<kMaxChunks&& ::read(fd, buffer, sizeof buffer)> 0; ++i) {
  }
}

void Files::fill(int fd) {
  const File* file = at(fd);
  if (file == nullptr || file->peer < 0) return;  // no reader: EPIPE, nothing to fill
  if (file->kind != Kind::PipeWrite && file->kind != Kind::Socket) return;
  static const char buffer[kChunk] = {};
  for (int i = 0; i < kMaxChunks && put(fd, file->kind, buffer, sizeof buffer) > 0; ++i) {
  }
}

const File* Files::at(int fd) const {
  auto it = open_.find(fd);
  return it == open_.end() ? nullptr : &it->second;
}

short Files::readiness(int fd) const {
  pollfd entry{fd, POLLIN | POLLOUT, 0};
  return ::poll(&entry, 1, 0) == 1 ? entry.revents : 0;
}

}  // namespace eventwatcher::fuzz
