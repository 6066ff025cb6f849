// WatcherBridge: one Java EventWatcher's native half.
#pragma once

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
/// | flag` straight into `batch_` (a direct ByteBuffer's memory owned by
/// Java), with no callback per event: one downcall per epoll_wait.
///
/// Threads. begin() makes the calling thread the owner; every member but
/// wake() must then be called on it (checked in debug builds). wake() may be
/// called from any thread while the Java side holds its handle guard.
/// Results are counts or -errno; nothing throws.
class WatcherBridge {
 public:
  /// `batch` must hold 2 * max_events int32 entries and outlive the bridge.
  /// Throws std::system_error, std::invalid_argument, std::bad_alloc.
  WatcherBridge(int max_events, std::int32_t* batch, detail::Delivery delivery);

  /// Makes the calling (Java loop) thread the owner.
  void begin() noexcept { poller_.registry().owner().claim(); }
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

 private:
  const Options::ErrorHandler no_handler_;  // callbacks run in Java: nothing to report here
  detail::Poller poller_;
  std::int32_t* batch_;
};

}  // namespace eventwatcher::jni
