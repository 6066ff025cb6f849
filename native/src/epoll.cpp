#include "epoll.hpp"

#include "syscall_error.hpp"

#include <unistd.h>

#include <cerrno>

namespace eventwatcher::detail {

Epoll::Epoll(Options::EpollWaitFunction wait_fn)
    : fd_(::epoll_create1(EPOLL_CLOEXEC)), wait_fn_(std::move(wait_fn)) {
  if (fd_ < 0) throw_errno("epoll_create1", -1);
}

Epoll::~Epoll() {
  ::close(fd_);
}

int Epoll::ctl(int op, int fd, std::uint32_t events, std::uint64_t data) noexcept {
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = data;
  return ::epoll_ctl(fd_, op, fd, &ev) == 0 ? 0 : errno;
}

int Epoll::add(int fd, std::uint32_t events, std::uint64_t data) noexcept {
  return ctl(EPOLL_CTL_ADD, fd, events, data);
}

int Epoll::modify(int fd, std::uint32_t events, std::uint64_t data) noexcept {
  return ctl(EPOLL_CTL_MOD, fd, events, data);
}

int Epoll::remove(int fd) noexcept {
  return ctl(EPOLL_CTL_DEL, fd, 0, 0);
}

int Epoll::wait(epoll_event* events, int max, int timeout_ms) noexcept {
  for (;;) {
    int n;
    if (!wait_fn_) {
      n = ::epoll_wait(fd_, events, max, timeout_ms);  // the common case: no indirect call
    } else {
      try {
        n = wait_fn_(fd_, events, max, timeout_ms);
      } catch (...) {
        return -EFAULT;  // an injected wait function broke its contract
      }
    }
    if (n >= 0) return n;
    if (errno != EINTR) return -errno;
  }
}

}  // namespace eventwatcher::detail
