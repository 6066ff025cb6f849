#include "timers.hpp"

#include "error_report.hpp"

#include <algorithm>
#include <utility>

namespace eventwatcher::detail {
namespace {

constexpr std::int64_t kLatest = std::numeric_limits<std::int64_t>::max();

// `time` + `delay` (>= 0), saturated: a deadline past the clock's range is
// one that never comes.
std::int64_t later(std::int64_t time, std::int64_t delay) noexcept {
  std::int64_t sum;
  return __builtin_add_overflow(time, delay, &sum) ? kLatest : sum;
}

// A periodic timer's deadline after the run for `deadline` that started its
// phase at `now` (>= deadline). Fixed rate: deadline + period. If the loop
// fell a period or more behind, the runs it missed are skipped, not made up
// in a burst: the next deadline is the first deadline + k * period after now.
std::int64_t following(std::int64_t deadline, std::int64_t period, std::int64_t now) noexcept {
  // The difference of two int64 values with now >= deadline fits in uint64.
  const std::uint64_t late = static_cast<std::uint64_t>(now) - static_cast<std::uint64_t>(deadline);
  const std::uint64_t periods = late / static_cast<std::uint64_t>(period) + 1;
  std::int64_t step;
  if (periods > static_cast<std::uint64_t>(kLatest) ||
      __builtin_mul_overflow(static_cast<std::int64_t>(periods), period, &step)) {
    return kLatest;
  }
  return later(deadline, step);
}

}  // namespace

Timers::Scheduled Timers::schedule(std::int64_t delay_ns, std::int64_t period_ns,
                                   WatchCallback task) {
  const std::int64_t deadline = later(clock_.now(), std::max<std::int64_t>(delay_ns, 0));
  std::lock_guard lock(mutex_);
  // Equal to the earliest is not earlier: that one runs first.
  const bool earliest = heap_.empty() || deadline < heap_.next_deadline();
  const TimerHeap::Id id =
      heap_.push(deadline, std::max<std::int64_t>(period_ns, 0), std::move(task));
  if (earliest) next_deadline_.store(deadline, std::memory_order_release);
  return {TimerId(id), earliest};
}

bool Timers::cancel(TimerId timer, bool from_loop) noexcept {
  const TimerHeap::Id id = timer.value_;
  std::unique_lock lock(mutex_);
  switch (heap_.state(id)) {
    case TimerHeap::State::pending: {
      WatchCallback task = heap_.remove(id);
      publish_next_deadline();
      lock.unlock();
      return true;  // destroys `task` unlocked: its captures may schedule or cancel
    }
    case TimerHeap::State::taken: {
      // Only the running timer is taken. Cancelling it prevents the later
      // runs of a periodic timer (once); a one-shot's run is under way.
      const bool prevented = heap_.period(id) > 0 && !running_cancelled_;
      running_cancelled_ = true;
      if (!from_loop) run_ended_.wait(lock, [&] { return running_ != id; });
      return prevented;
    }
    case TimerHeap::State::unknown:
      break;
  }
  return false;
}

std::int64_t Timers::timeout_ns() const noexcept {
  const std::int64_t next = next_deadline_.load(std::memory_order_acquire);
  if (next == kNoDeadline) return -1;
  const std::int64_t now = clock_.now();
  if (next <= now) return 0;
  const std::uint64_t left = static_cast<std::uint64_t>(next) - static_cast<std::uint64_t>(now);
  return left > static_cast<std::uint64_t>(kLatest) ? kLatest : static_cast<std::int64_t>(left);
}

void Timers::run_due() noexcept {
  runner_.check("Timers::run_due");
  const std::int64_t next = next_deadline_.load(std::memory_order_acquire);
  if (next == kNoDeadline) return;  // no timer: no clock, no lock
  const std::int64_t now = clock_.now();
  if (next > now) return;
  std::unique_lock lock(mutex_);
  // What is scheduled from here on (by the tasks below, or other threads)
  // waits for the next turn, even if already due: a timer that schedules a
  // timer with no delay cannot keep the loop in this phase.
  const std::uint64_t bound = heap_.next_sequence();
  for (;;) {
    const TimerHeap::Taken taken = heap_.take_due(now, bound, running_task_);
    if (taken.id == 0) break;
    running_ = taken.id;
    running_cancelled_ = false;
    publish_next_deadline();
    lock.unlock();
    try {
      running_task_();
    } catch (...) {
      report_error(on_error_, std::current_exception(), -1);
    }
    lock.lock();
    finish(taken, now, lock);
  }
}

void Timers::finish(const TimerHeap::Taken& taken, std::int64_t now,
                    std::unique_lock<std::mutex>& lock) noexcept {
  if (taken.period > 0 && !running_cancelled_) {
    // Nobody waits for this run: a cancel() would have set running_cancelled_.
    heap_.requeue(taken.id, following(taken.deadline, taken.period, now), std::move(running_task_));
    running_ = 0;
    publish_next_deadline();
    return;
  }
  // The task is destroyed before a waiting cancel() returns, and unlocked:
  // its captures' destructors may schedule or cancel (then not waiting, as
  // they run on the loop thread).
  lock.unlock();
  running_task_ = nullptr;
  lock.lock();
  heap_.release(taken.id);
  running_ = 0;
  run_ended_.notify_all();
}

void Timers::publish_next_deadline() noexcept {
  next_deadline_.store(heap_.empty() ? kNoDeadline : heap_.next_deadline(),
                       std::memory_order_release);
}

}  // namespace eventwatcher::detail
