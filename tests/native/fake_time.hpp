// FakeTime: an injected clock and epoll_wait that drive timers without sleeps.
#pragma once

#include "test_support.hpp"

#include <sys/epoll.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <vector>

namespace eventwatcher::test {

/// The clock and the wait of a watcher under test (Options::clock and
/// Options::epoll_wait). Each wait records the timeout it was given, moves the
/// clock on (see `step`), and then asks the real epoll fd without blocking, so
/// ready fds and the wakeup eventfd are still seen. A wait without timeout
/// blocks in the real epoll_wait only with `block_when_idle` (a started loop
/// thread, which nothing but an event may wake); a Driver's test thread never
/// blocks. Must outlive the watcher.
class FakeTime {
 public:
  /// `step` for a wait that jumps to its timeout: the clock reaches the
  /// deadline the loop waits for (rounded up to the millisecond).
  static constexpr std::int64_t kToTheTimeout = -1;

  explicit FakeTime(bool block_when_idle = false) : block_when_idle_(block_when_idle) {}

  /// How far a wait with a timeout > 0 moves the clock: kToTheTimeout, 0 (a
  /// frozen clock, moved only by advance()), or this many nanoseconds.
  std::atomic<std::int64_t> step{kToTheTimeout};

  /// Options with this clock and wait; `start_thread` as given.
  Options options(bool start_thread) {
    Options options;
    options.start_thread = start_thread;
    options.clock = [this] { return std::chrono::nanoseconds(now_.load()); };
    options.epoll_wait = [this](int epfd, epoll_event* events, int max, int timeout_ms) {
      record(timeout_ms);
      const bool block = timeout_ms < 0 && block_when_idle_;
      return ::epoll_wait(epfd, events, max, block ? -1 : 0);
    };
    return options;
  }

  /// The clock now. Starts far from 0: the epoch is arbitrary.
  std::chrono::nanoseconds now() const { return std::chrono::nanoseconds(now_.load()); }
  void advance(std::chrono::nanoseconds by) { now_ += by.count(); }

  /// The timeouts (ms) of every wait so far.
  std::vector<int> timeouts() {
    std::lock_guard lock(mutex_);
    return timeouts_;
  }
  int waits() {
    std::lock_guard lock(mutex_);
    return static_cast<int>(timeouts_.size());
  }
  int last_timeout() {
    std::lock_guard lock(mutex_);
    return timeouts_.empty() ? -2 : timeouts_.back();
  }

 private:
  void record(int timeout_ms) {
    {
      std::lock_guard lock(mutex_);
      timeouts_.push_back(timeout_ms);
    }
    if (timeout_ms <= 0) return;
    const std::int64_t by = step.load();
    now_ += by == kToTheTimeout ? std::int64_t{timeout_ms} * 1'000'000 : by;
  }

  const bool block_when_idle_;
  std::atomic<std::int64_t> now_{1'000'000'000'000};
  std::mutex mutex_;
  std::vector<int> timeouts_;
};

/// A watcher on FakeTime whose loop the test's own thread drives, one
/// driver.turn() at a time (start_thread = false), for TEST_F. A test sets
/// time.step as it needs (by default waits jump to their timeout).
class DrivenLoop : public ::testing::Test {
 protected:
  FakeTime time;
  EventWatcher watcher{time.options(false)};
  EventWatcher::Driver driver{watcher};
};

/// Runs driver.turn() until `done` holds, at most `max_turns` times; returns
/// whether it held. The bound only matters if the loop is broken.
template <typename Done>
bool turn_until(EventWatcher::Driver& driver, Done&& done, int max_turns = 10'000) {
  for (int turn = 0; turn < max_turns && !done(); ++turn) {
    if (!driver.turn()) return false;
  }
  return done();
}

}  // namespace eventwatcher::test
