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
///
/// Only the loop clears `pending_`, and every write to it, set or clear, is
/// an exchange, so in its modification order the first set after a clear
/// always reads false and so writes the eventfd (or comes from the loop
/// thread, which then sees it before it next blocks). Like every eventfd
/// wakeup, this relies on the kernel ordering memory: a write() that the
/// loop's epoll_wait or read() observes happens before what the loop does
/// next (the eventfd's lock and wait queue act as a release/acquire pair).
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

  /// request() for a task pushed on the TaskQueue just before, from the
  /// same thread. Cheaper when a wakeup is already pending: it loads the
  /// flag first and returns if it is set, without a locked instruction and
  /// without taking the cache line from the loop. See wakeup.cpp for why
  /// that needs the queue's mutex, and so is not for other work (stop()).
  void request_for_task(bool from_loop) noexcept;

  /// Writes the eventfd, whatever the pending mark says: for a caller that
  /// keeps its own coalescing flag and task queue (the JNI binding), so that
  /// only one flag stands in front of the eventfd. Any thread. Never throws;
  /// aborts on a broken invariant as request() does.
  void signal() noexcept;

  /// Blocks until the eventfd is readable or `timeout_ms` passed (the loop's
  /// back-off after a failed epoll_wait, which request() and signal() cut
  /// short). Loop thread; never throws.
  void wait(int timeout_ms) noexcept;

  /// True if work was requested and not yet consumed. Any thread.
  bool pending() const noexcept { return pending_.load(std::memory_order_acquire); }

  /// Loop thread: clears the pending mark, returning whether it was set. Call
  /// before draining the work so that later requests write again.
  ///
  /// Loads first, so an idle turn costs no locked instruction. A relaxed load
  /// is enough. If it reads true, the mark stays set until the exchange
  /// (only the loop clears it), so the exchange returns true and acquires
  /// exactly as an unconditional one would. If it reads false, nothing is
  /// read on its strength, so it needs no ordering; and it cannot hide a
  /// request: the first set since the last clear either came from this thread
  /// (sequenced before this load, so the load sees it by coherence, or after
  /// it, so the next turn's pending() sees it and polls), or wrote the
  /// eventfd. If that write came after the loop's last drain(), the next
  /// epoll_wait returns at once; if before, it happens before the drain and
  /// so before this load, which then reads true.
  bool consume() noexcept {
    if (!pending_.load(std::memory_order_relaxed)) return false;
    return pending_.exchange(false, std::memory_order_acq_rel);
  }

  /// Loop thread: resets the eventfd counter after epoll reported it readable.
  void drain() noexcept;

 private:
  int fd_;
  std::atomic<bool> pending_{false};
};

}  // namespace eventwatcher::detail
