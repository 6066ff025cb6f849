// Wakeup: an eventfd that pulls the loop out of epoll_wait, with coalescing.
#pragma once

#include <atomic>

namespace eventwatcher::detail {

/// Invariant: `pending_` is true from the first request() after the loop last
/// called consume() until the loop's next consume(). Only the request that
/// flips it false->true writes the eventfd, so a burst of requests costs one
/// write. The loop never blocks while `pending_` is set (it polls with
/// timeout 0), which is what lets a request from the loop thread itself skip
/// the syscall.
class Wakeup {
 public:
  /// Creates the eventfd (non-blocking, close-on-exec). Throws std::system_error.
  Wakeup();
  ~Wakeup();
  Wakeup(const Wakeup&) = delete;
  Wakeup& operator=(const Wakeup&) = delete;

  /// The eventfd, to register with epoll for reading.
  int fd() const noexcept { return fd_; }

  /// Marks work pending; writes the eventfd only on the false->true edge and
  /// only when `from_loop` is false. Any thread. Never throws: the write can
  /// only fail on a broken invariant (a closed eventfd), which aborts, since a
  /// lost wakeup would hang every caller waiting on the loop.
  void request(bool from_loop) noexcept;

  /// True if work was requested and not yet consumed. Any thread.
  bool pending() const noexcept { return pending_.load(std::memory_order_acquire); }

  /// Loop thread: clears the pending mark, returning whether it was set. Call
  /// before draining the work so that later requests write again.
  bool consume() noexcept { return pending_.exchange(false, std::memory_order_acq_rel); }

  /// Loop thread: resets the eventfd counter after epoll reported it readable.
  void drain() noexcept;

 private:
  int fd_;
  std::atomic<bool> pending_{false};
};

}  // namespace eventwatcher::detail
