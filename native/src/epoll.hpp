// Epoll: the only place that calls epoll_create1, epoll_ctl and epoll_wait
// (or epoll_pwait2).
#pragma once

#include <eventwatcher/options.hpp>

#include <sys/epoll.h>

#include <cstdint>

namespace eventwatcher::detail {

/// Owns an epoll instance. ctl calls are thread-safe (the kernel serialises
/// them); wait() is called by the loop thread only.
class Epoll {
 public:
  /// Creates the instance (EPOLL_CLOEXEC). Throws std::system_error.
  /// `wait_fn` empty means the kernel's wait (see wait()).
  explicit Epoll(Options::EpollWaitFunction wait_fn);
  ~Epoll();
  Epoll(const Epoll&) = delete;
  Epoll& operator=(const Epoll&) = delete;

  /// The epoll fd, for nesting this instance in another one.
  int fd() const noexcept { return fd_; }

  /// EPOLL_CTL_ADD. Returns 0 or an errno value; never throws.
  int add(int fd, std::uint32_t events, std::uint64_t data) noexcept;
  /// EPOLL_CTL_MOD. Returns 0 or an errno value; never throws.
  int modify(int fd, std::uint32_t events, std::uint64_t data) noexcept;
  /// EPOLL_CTL_DEL. Returns 0 or an errno value; never throws.
  int remove(int fd) noexcept;

  /// Waits up to `timeout_ns` nanoseconds (-1: no limit) for up to `max`
  /// events. With epoll_pwait2 (Linux 5.11) to the nanosecond; on an older
  /// kernel (the first ENOSYS, process-wide, switches over) and through an
  /// injected wait function, in milliseconds rounded up, so a wait never ends
  /// before its timeout. EINTR: retried when there is no limit; with a limit,
  /// the wait returns 0, so that the caller computes the time left afresh.
  /// Returns the number of events, or -errno on any other failure. Never
  /// throws (an injected wait function that throws counts as -EFAULT).
  int wait(epoll_event* events, int max, std::int64_t timeout_ns) noexcept;

  /// `timeout_ns` in milliseconds for epoll_wait: rounded up, -1 for a
  /// negative timeout, at most INT_MAX. Never throws.
  static int to_milliseconds(std::int64_t timeout_ns) noexcept;

 private:
  int ctl(int op, int fd, std::uint32_t events, std::uint64_t data) noexcept;
  // One wait: the count, or -1 with errno set.
  int kernel_wait(epoll_event* events, int max, std::int64_t timeout_ns) noexcept;

  int fd_;
  Options::EpollWaitFunction wait_fn_;  // empty: kernel_wait()
};

}  // namespace eventwatcher::detail
