// Epoll: the only place that calls epoll_create1, epoll_ctl and epoll_wait.
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
  /// `wait_fn` empty means ::epoll_wait.
  explicit Epoll(Options::EpollWaitFunction wait_fn);
  ~Epoll();
  Epoll(const Epoll&) = delete;
  Epoll& operator=(const Epoll&) = delete;

  /// EPOLL_CTL_ADD. Returns 0 or an errno value; never throws.
  int add(int fd, std::uint32_t events, std::uint64_t data) noexcept;
  /// EPOLL_CTL_MOD. Returns 0 or an errno value; never throws.
  int modify(int fd, std::uint32_t events, std::uint64_t data) noexcept;
  /// EPOLL_CTL_DEL. Returns 0 or an errno value; never throws.
  int remove(int fd) noexcept;

  /// Waits for up to `max` events; retries EINTR with the same timeout.
  /// Returns the number of events, or -errno on any other failure. Never
  /// throws (an injected wait function that throws counts as -EFAULT).
  int wait(epoll_event* events, int max, int timeout_ms) noexcept;

 private:
  int ctl(int op, int fd, std::uint32_t events, std::uint64_t data) noexcept;

  int fd_;
  Options::EpollWaitFunction wait_fn_;  // empty: ::epoll_wait
};

}  // namespace eventwatcher::detail
