#include "arms.hpp"

#include "syscall_error.hpp"

#include <cerrno>

namespace eventwatcher::detail {
namespace {

constexpr std::uint32_t interest(WatchFlag flag) {
  return (flag == WatchFlag::Read ? EPOLLIN : EPOLLOUT) | EPOLLONESHOT;
}

}  // namespace

Arms::Arms(Epoll& loop, bool harvested_elsewhere)
    : loop_(loop), read_({}), write_({}), harvested_elsewhere_(harvested_elsewhere) {
  if (const int error = loop_.add(read_.fd(), nesting(), kReadToken)) {
    throw syscall_error(error, "epoll_ctl(EPOLL_CTL_ADD) of the read arms", read_.fd());
  }
  if (const int error = loop_.add(write_.fd(), nesting(), kWriteToken)) {
    loop_.remove(read_.fd());
    throw syscall_error(error, "epoll_ctl(EPOLL_CTL_ADD) of the write arms", write_.fd());
  }
}

Arms::~Arms() {
  loop_.remove(write_.fd());
  loop_.remove(read_.fd());
}

int Arms::arm(int fd, WatchFlag flag, std::uint64_t token) noexcept {
  Epoll& epoll = of(flag);
  const int error = epoll.modify(fd, interest(flag), token);
  return error == ENOENT ? epoll.add(fd, interest(flag), token) : error;
}

int Arms::disarm(int fd, WatchFlag flag) noexcept {
  const int error = of(flag).remove(fd);
  return error == ENOENT || error == EBADF ? 0 : error;
}

int Arms::rearm(WatchFlag flag) noexcept {
  return loop_.modify(of(flag).fd(), nesting(), flag == WatchFlag::Read ? kReadToken : kWriteToken);
}

int Arms::harvest(WatchFlag flag, epoll_event* events, int max) noexcept {
  const int count = of(flag).wait(events, max, 0);
  return count > 0 ? count : 0;
}

}  // namespace eventwatcher::detail
