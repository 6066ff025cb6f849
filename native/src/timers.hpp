// Timers: a watcher's timers, shared by every thread under their own mutex.
#pragma once

#include "clock.hpp"
#include "thread_affinity.hpp"
#include "timer_heap.hpp"

#include <eventwatcher/options.hpp>
#include <eventwatcher/timer_id.hpp>
#include <eventwatcher/watch_callback.hpp>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <limits>
#include <mutex>

namespace eventwatcher::detail {

/// The TimerHeap behind a mutex of its own, apart from the loop's hand-off:
/// scheduling and cancelling from any thread take only this mutex, for a few
/// heap operations, and never wait for the loop, except for a cancel() of the
/// very timer that is running, which waits for that run to end on a
/// condition variable. The loop runs tasks with the mutex released.
///
/// The earliest deadline is mirrored in an atomic, so the loop reads its wait
/// timeout without the mutex, and without the clock when no timer is pending.
///
/// Running. One timer at a time runs (`running_`); a one-shot timer's slot is
/// freed when its run ends, a periodic timer is put back with its next
/// deadline unless it was cancelled meanwhile (`running_cancelled_`).
///
/// The public contract (what cancel returns, the turn's timer phase, fixed
/// rate) is documented on EventWatcher; see event_watcher.hpp.
class Timers {
 public:
  /// No timer pending: what next_deadline_ holds then.
  static constexpr std::int64_t kNoDeadline = std::numeric_limits<std::int64_t>::max();

  /// `on_error` must outlive the timers.
  Timers(Options::ClockFunction clock, const Options::ErrorHandler& on_error) noexcept
      : clock_(std::move(clock)), on_error_(on_error) {}
  /// Destroys the pending timers' tasks without running them.
  ~Timers() = default;
  Timers(const Timers&) = delete;
  Timers& operator=(const Timers&) = delete;

  /// The loop thread, which alone may call run_due(); claimed by the loop.
  ThreadAffinity& runner() noexcept { return runner_; }

  struct Scheduled {
    TimerId id;
    bool earliest;  ///< it is now the first to run: a loop asleep must wake
  };
  /// Schedules `task` `delay_ns` from now (< 0 counts as 0), periodic with
  /// `period_ns` if it is > 0. Any thread. Throws std::bad_alloc,
  /// std::length_error; nothing changes then.
  Scheduled schedule(std::int64_t delay_ns, std::int64_t period_ns, WatchCallback task);

  /// See EventWatcher::cancel. `from_loop`: the caller is the loop thread,
  /// so a running timer is the caller itself, which is not waited for. Any
  /// thread. Destroys a pending timer's task on the calling thread.
  bool cancel(TimerId timer, bool from_loop) noexcept;

  /// The wait's timeout: -1 if no timer is pending, else the nanoseconds to
  /// the earliest deadline (0 if it is due). Any thread; takes no lock, and
  /// reads the clock only if a timer is pending.
  std::int64_t timeout_ns() const noexcept;

  /// The turn's timer phase: runs, in order, the timers due at its start that
  /// were scheduled before its start; exceptions go to the error handler. The
  /// runner only; without a pending timer, one atomic load.
  void run_due() noexcept;

 private:
  // Ends the run of `taken`: puts a periodic timer back, or frees the slot
  // and wakes cancellers waiting for the run. Under `lock`; may unlock it.
  void finish(const TimerHeap::Taken& taken, std::int64_t now,
              std::unique_lock<std::mutex>& lock) noexcept;
  void publish_next_deadline() noexcept;  // under mutex_

  const Clock clock_;
  const Options::ErrorHandler& on_error_;
  ThreadAffinity runner_;

  std::mutex mutex_;
  std::condition_variable run_ended_;  // running_ changed
  TimerHeap heap_;                     // guarded by mutex_
  TimerHeap::Id running_ = 0;          // guarded by mutex_: the timer running now, or 0
  bool running_cancelled_ = false;     // guarded by mutex_: cancel() was called for running_
  WatchCallback running_task_;         // the runner's: the task of running_
  std::atomic<std::int64_t> next_deadline_{kNoDeadline};  // written under mutex_
};

}  // namespace eventwatcher::detail
