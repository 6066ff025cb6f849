#include "epoll.hpp"

#include "syscall_error.hpp"

#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <climits>

namespace eventwatcher::detail {
namespace {

constexpr std::int64_t kNanosPerMilli = 1'000'000;
constexpr std::int64_t kNanosPerSecond = 1'000'000'000;

// Whether the kernel has epoll_pwait2, for the whole process: true until the
// first ENOSYS (a kernel before 5.11), which every later wait then skips.
std::atomic<bool> have_epoll_pwait2{true};

}  // namespace

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

int Epoll::to_milliseconds(std::int64_t timeout_ns) noexcept {
  if (timeout_ns < 0) return -1;
  const std::int64_t ms = timeout_ns / kNanosPerMilli + (timeout_ns % kNanosPerMilli != 0);
  return ms > INT_MAX ? INT_MAX : static_cast<int>(ms);
}

int Epoll::kernel_wait(epoll_event* events, int max, std::int64_t timeout_ns) noexcept {
  if (have_epoll_pwait2.load(std::memory_order_relaxed)) {
    timespec timeout{};
    timeout.tv_sec = static_cast<time_t>(timeout_ns / kNanosPerSecond);
    timeout.tv_nsec = static_cast<long>(timeout_ns % kNanosPerSecond);
    const int n = ::epoll_pwait2(fd_, events, max, timeout_ns < 0 ? nullptr : &timeout, nullptr);
    if (n >= 0 || errno != ENOSYS) return n;
    have_epoll_pwait2.store(false, std::memory_order_relaxed);
  }
  return ::epoll_wait(fd_, events, max, to_milliseconds(timeout_ns));
}

int Epoll::wait(epoll_event* events, int max, std::int64_t timeout_ns) noexcept {
  for (;;) {
    int n;
    if (!wait_fn_) {
      n = kernel_wait(events, max, timeout_ns);  // the common case: no indirect call
    } else {
      try {
        n = wait_fn_(fd_, events, max, to_milliseconds(timeout_ns));
      } catch (...) {
        return -EFAULT;  // an injected wait function broke its contract
      }
    }
    if (n >= 0) return n;
    if (errno != EINTR) return -errno;
    if (timeout_ns >= 0) return 0;  // retrying with the same timeout would wait too long
  }
}

}  // namespace eventwatcher::detail
