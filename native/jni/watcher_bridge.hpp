// WatcherBridge: one Java EventWatcher's native half.
#pragma once

#include "clock.hpp"
#include "poller.hpp"

#include <eventwatcher/options.hpp>
#include <eventwatcher/watch_flag.hpp>

#include <cstdint>

namespace eventwatcher::jni {

/// The core's Poller, driven by the Java loop thread, which owns the task
/// queue, the coalescing flag and the callbacks: the bridge keeps only what
/// the kernel needs (registrations with their generations, the eventfd).
///
/// Batch. Each turn, the Poller records every ready registration as `fd << 1
/// | flag`, and every reported one-shot arm as three entries (see Poller),
/// straight into `batch_` (a direct ByteBuffer's memory owned by Java), with
/// no callback per event: one downcall per epoll_wait.
///
/// Threads. begin() makes the calling thread the owner; every member but
/// wake(), arm() and disarm() must then be called on it (checked in debug
/// builds). Those three may be called from any thread while the Java side
/// holds its handle guard. Results are counts or -errno; nothing throws.
class WatcherBridge {
 public:
  /// `batch` must hold batch_capacity(max_events) int32 entries and outlive
  /// the bridge.
  /// Throws std::system_error, std::invalid_argument, std::bad_alloc.
  WatcherBridge(int max_events, std::int32_t* batch, detail::Delivery delivery);

  /// Makes the calling (Java loop) thread the owner, with a timer slack of
  /// 1 ns (see use_precise_timer_slack): the Java timers' deadlines are its
  /// wait timeouts.
  void begin() noexcept {
    poller_.registry().owner().claim();
    detail::use_precise_timer_slack();
  }
  /// Waits up to `timeout_ns` nanoseconds (-1: no limit; see
  /// detail::Epoll::wait for the precision and EINTR); returns the number of
  /// batch entries recorded, or -errno if the wait failed.
  int turn(std::int64_t timeout_ns) noexcept;
  /// Registers (fd, flag), armed unless `suspended`. Returns 0 or -errno.
  int watch(int fd, WatchFlag flag, bool suspended) noexcept;
  /// Removes the registration for (fd, flag). Returns 0 or -errno.
  int unwatch(int fd, WatchFlag flag) noexcept;
  /// Re-arms a suspended (fd, flag). Returns 0 or -errno (-ENOENT if the fd
  /// was closed or reused meanwhile; its registrations are gone then).
  int resume(int fd, WatchFlag flag) noexcept;
  /// Removes every registration. Returns 0 or -errno.
  int unwatch_all() noexcept;
  /// Makes the loop's current or next epoll_wait return. Any thread.
  void wake() noexcept { poller_.wakeup().signal(); }
  /// Arms a one-shot interest (see detail::Arms::arm): one epoll_ctl on the
  /// calling thread. Any thread. Returns 0 or -errno.
  int arm(int fd, WatchFlag flag, std::uint64_t token) noexcept;
  /// Removes (fd, flag)'s arm (see detail::Arms::disarm). Any thread.
  /// Returns 0 or -errno.
  int disarm(int fd, WatchFlag flag) noexcept;

  /// Makes the arms harvested by the caller's poller threads (harvest_arms,
  /// rearm_arms) instead of turn(). Any thread, before the first arm().
  /// Returns 0, -EBUSY if arms exist already, or -errno.
  int hand_off_arms() noexcept;
  /// A poller thread of `flag`: up to `max` reported arms into `out`, two
  /// entries each (the token's low and high halves). Returns the count.
  int harvest_arms(WatchFlag flag, std::int32_t* out, int max) noexcept;
  /// A poller thread of `flag`, after a harvest found nothing: lets the loop
  /// report the next arms. Returns 0 or -errno.
  int rearm_arms(WatchFlag flag) noexcept;

  /// The int32 entries a batch of `max_events` needs.
  static int batch_capacity(int max_events) noexcept {
    return detail::Poller::batch_capacity(max_events, true);
  }

 private:
  const Options::ErrorHandler no_handler_;  // callbacks run in Java: nothing to report here
  detail::Poller poller_;
  std::int32_t* batch_;
};

}  // namespace eventwatcher::jni
