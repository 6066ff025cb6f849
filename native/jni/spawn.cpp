#include "spawn.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

extern char** environ;

namespace eventwatcher::jni {
namespace {

int pidfd_open(pid_t pid) noexcept {
  const long fd = ::syscall(SYS_pidfd_open, pid, 0);
  return fd >= 0 ? static_cast<int>(fd) : -errno;
}

void close_all(int (&fds)[3]) noexcept {
  for (int& fd : fds) {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
}

// The file actions and attributes of one spawn, destroyed with it.
class SpawnPlan {
 public:
  SpawnPlan() {
    ok_ = ::posix_spawn_file_actions_init(&actions_) == 0;
    if (ok_ && ::posix_spawnattr_init(&attributes_) != 0) {
      ::posix_spawn_file_actions_destroy(&actions_);
      ok_ = false;
    }
  }
  ~SpawnPlan() {
    if (!ok_) return;
    ::posix_spawnattr_destroy(&attributes_);
    ::posix_spawn_file_actions_destroy(&actions_);
  }
  SpawnPlan(const SpawnPlan&) = delete;
  SpawnPlan& operator=(const SpawnPlan&) = delete;

  bool ok() const noexcept { return ok_; }

  // Every step returns 0 or errno.
  int dup(int fd, int target) noexcept {
    return ::posix_spawn_file_actions_adddup2(&actions_, fd, target);
  }
  int open(int target, const std::string& path, int flags) noexcept {
    return ::posix_spawn_file_actions_addopen(&actions_, target, path.c_str(), flags, 0666);
  }
  int finish(const std::string& directory) noexcept {
    if (!directory.empty()) {
      if (int error = ::posix_spawn_file_actions_addchdir_np(&actions_, directory.c_str())) {
        return error;
      }
    }
    // The JVM's own fds that lack O_CLOEXEC must not reach the child.
    if (int error = ::posix_spawn_file_actions_addclosefrom_np(&actions_, 3)) return error;
    sigset_t all;
    sigset_t none;
    sigfillset(&all);
    sigemptyset(&none);
    if (int error = ::posix_spawnattr_setsigdefault(&attributes_, &all)) return error;
    if (int error = ::posix_spawnattr_setsigmask(&attributes_, &none)) return error;
    return ::posix_spawnattr_setflags(&attributes_, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
  }
  int run(pid_t& pid, char* const* argv, char* const* envp) noexcept {
    return ::posix_spawnp(&pid, argv[0], &actions_, &attributes_, argv, envp);
  }

 private:
  posix_spawn_file_actions_t actions_{};
  posix_spawnattr_t attributes_{};
  bool ok_ = false;
};

std::vector<char*> c_strings(const std::vector<std::string>& strings) {
  std::vector<char*> pointers;
  pointers.reserve(strings.size() + 1);
  for (const std::string& s : strings) pointers.push_back(const_cast<char*>(s.c_str()));
  pointers.push_back(nullptr);
  return pointers;
}

constexpr int open_flags(Redirect redirect) {
  switch (redirect) {
    case Redirect::read:
      return O_RDONLY;
    case Redirect::write:
      return O_WRONLY | O_CREAT | O_TRUNC;
    case Redirect::append:
      return O_WRONLY | O_CREAT | O_APPEND;
    default:
      return -1;
  }
}

// Adds the actions for fds 0-2; creates the pipes (child ends in `child`,
// parent ends in `parent`). Returns 0 or errno.
int plan_streams(const SpawnRequest& request, SpawnPlan& plan, int (&parent)[3],
                 int (&child)[3]) noexcept {
  for (int target = 0; target < 3; ++target) {
    const Redirect redirect = request.redirects[target];
    if (target == 2 && request.error_to_output) {
      if (int error = plan.dup(1, 2)) return error;
      continue;
    }
    if (redirect == Redirect::inherit) continue;
    if (redirect != Redirect::pipe) {
      if (int error = plan.open(target, request.paths[target], open_flags(redirect))) return error;
      continue;
    }
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return errno;
    const bool child_reads = target == 0;
    child[target] = fds[child_reads ? 0 : 1];
    parent[target] = fds[child_reads ? 1 : 0];
    // Only the parent's end is non-blocking: the child sees an ordinary pipe.
    const int flags = ::fcntl(parent[target], F_GETFL);
    if (flags < 0 || ::fcntl(parent[target], F_SETFL, flags | O_NONBLOCK) != 0) return errno;
    if (int error = plan.dup(child[target], target)) return error;
  }
  return 0;
}

}  // namespace

int spawn(const SpawnRequest& request, SpawnResult& result) noexcept {
  if (request.argv.empty()) return EINVAL;
  int parent[3] = {-1, -1, -1};
  int child[3] = {-1, -1, -1};
  int error = 0;
  pid_t pid = -1;
  try {
    SpawnPlan plan;
    if (!plan.ok()) return ENOMEM;
    error = plan_streams(request, plan, parent, child);
    if (error == 0) error = plan.finish(request.directory);
    if (error == 0) {
      const std::vector<char*> argv = c_strings(request.argv);
      const std::vector<char*> envp = c_strings(request.environment);
      error = plan.run(pid, argv.data(), request.inherit_environment ? environ : envp.data());
    }
  } catch (...) {
    error = ENOMEM;  // std::bad_alloc from the argument arrays
  }
  close_all(child);
  if (error != 0) {
    close_all(parent);
    return error;
  }
  const int pidfd = pidfd_open(pid);
  if (pidfd < 0) {
    // Without a pidfd nothing could watch or signal it safely: undo the start.
    ::kill(pid, SIGKILL);
    while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
    }
    close_all(parent);
    return -pidfd;
  }
  result.pid = pid;
  result.pidfd = pidfd;
  for (int i = 0; i < 3; ++i) result.pipes[i] = parent[i];
  return 0;
}

int send_signal(int pidfd, int signal) noexcept {
  return ::syscall(SYS_pidfd_send_signal, pidfd, signal, nullptr, 0) == 0 ? 0 : errno;
}

int reap(pid_t pid, bool wait) noexcept {
  int status = 0;
  pid_t reaped;
  do {
    reaped = ::waitpid(pid, &status, wait ? 0 : WNOHANG);
  } while (reaped < 0 && errno == EINTR);
  if (reaped < 0) return -errno;
  if (reaped == 0) return -EAGAIN;
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -EAGAIN;  // stopped or continued: not an exit
}

int pidfd_support() noexcept {
  const int fd = pidfd_open(::getpid());
  if (fd < 0) return -fd;
  ::close(fd);
  return 0;
}

}  // namespace eventwatcher::jni
