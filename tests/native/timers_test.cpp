// Timers (runAfter, runEvery): order by deadline with equal deadlines in
// scheduling order, never before the deadline, the injected clock deciding,
// where the timer phase sits in a turn and that it is bounded, the argument
// checks, a throwing task reported with the loop alive, 1,000,000 pending
// timers, and what happens to pending timers at stop and destruction. Time is
// the injected clock's (FakeTime), driven by the injected wait, never a sleep.
#include "fake_time.hpp"
#include "test_support.hpp"

#include <stdexcept>
#include <string>
#include <unordered_set>
#include <vector>

namespace eventwatcher::test {
namespace {

using TimerClock = DrivenLoop;
using TimerDelay = DrivenLoop;
using TimerOrder = DrivenLoop;
using TimerPhase = DrivenLoop;
using TimerScale = DrivenLoop;

TEST_F(TimerOrder, ByDeadlineAndEqualDeadlinesInSchedulingOrder) {
  std::vector<int> order;
  const std::chrono::nanoseconds delays[] = {30ms, 10ms, 20ms, 10ms, 0ns, 20ms, 10ms, 1ns};
  for (int i = 0; i < 8; ++i) watcher.runAfter(delays[i], [&order, i] { order.push_back(i); });
  ASSERT_TRUE(turn_until(driver, [&] { return order.size() == 8; }));
  EXPECT_EQ(order, (std::vector<int>{4, 7, 1, 3, 6, 2, 5, 0}));
}

// The clock moves 100 us per wait, whatever the timeout: each timer must run
// in the first timer phase at or after its deadline, and never before it.
TEST_F(TimerOrder, NeverBeforeTheDeadline) {
  time.step = 100'000;
  const std::chrono::nanoseconds delays[] = {1'550us, 250us, 3ms, 999'999ns, 100us};
  int ran = 0;
  for (const auto delay : delays) {
    const auto deadline = time.now() + delay;
    watcher.runAfter(delay, [&, deadline] {
      ++ran;
      EXPECT_GE(time.now(), deadline) << "ran before its deadline";
      EXPECT_LT(time.now(), deadline + 100us) << "a phase at or after the deadline missed it";
    });
  }
  ASSERT_TRUE(turn_until(driver, [&] { return ran == 5; }));
}

// With a frozen injected clock a 1 ns timer never becomes due, however many
// turns pass in real time; one nanosecond of the injected clock makes it due.
TEST_F(TimerClock, TheInjectedClockDecides) {
  time.step = 0;
  bool ran = false;
  watcher.runAfter(1ns, [&] { ran = true; });
  for (int turn = 0; turn < 100; ++turn) ASSERT_TRUE(driver.turn());
  EXPECT_FALSE(ran) << "ran by the real clock";
  EXPECT_EQ(time.last_timeout(), 1) << "1 ns is waited for as 1 ms, rounded up";
  time.advance(1ns);
  ASSERT_TRUE(driver.turn());
  EXPECT_TRUE(ran);
}

TEST_F(TimerDelay, NegativeDelayCountsAsZero) {
  time.step = 0;
  bool ran = false;
  watcher.runAfter(-5s, [&] { ran = true; });
  ASSERT_TRUE(driver.turn());
  EXPECT_TRUE(ran);
  EXPECT_EQ(time.timeouts(), std::vector<int>{0});
}

TEST(TimerArguments, InvalidArgumentsThrow) {
  EventWatcher watcher;
  EXPECT_THROW(watcher.runEvery(0ns, [] {}), std::invalid_argument);
  EXPECT_THROW(watcher.runEvery(-1ms, [] {}), std::invalid_argument);
  EXPECT_THROW(watcher.runAfter(1s, WatchCallback{}), std::invalid_argument);
  EXPECT_THROW(watcher.runEvery(1s, WatchCallback{}), std::invalid_argument);
}

TEST(TimerId, DefaultIsInvalidAndReturnedIdsAreDistinctKeys) {
  EventWatcher watcher;
  EXPECT_FALSE(TimerId{}.valid());
  EXPECT_FALSE(watcher.cancel(TimerId{}));
  std::unordered_set<TimerId> ids;
  for (int i = 0; i < 100; ++i) {
    const TimerId id = watcher.runAfter(1h, [] {});
    EXPECT_TRUE(id.valid());
    EXPECT_NE(id, TimerId{});
    EXPECT_TRUE(ids.insert(id).second) << "an id was returned twice";
  }
}

// In one turn: the batch's callbacks, then the due timers, then the tasks.
TEST_F(TimerPhase, AfterTheBatchAndBeforeTheTasks) {
  time.step = 0;
  Pipe pipe;
  pipe.fill();
  std::vector<std::string> order;
  watcher.watch(pipe.r(), WatchFlag::Read, [&](int fd) {
    order.push_back("callback");
    watcher.unwatch(fd, WatchFlag::Read);
  });
  watcher.runInEventWatcherLoop([&] { order.push_back("task"); });
  watcher.runAfter(0ns, [&] { order.push_back("timer"); });
  ASSERT_TRUE(driver.turn());
  EXPECT_EQ(order, (std::vector<std::string>{"callback", "timer", "task"}));
}

// A timer that schedules a timer with no delay, again and again (five times):
// one run per turn, so the loop goes back to its fds in between.
TEST_F(TimerPhase, ATimerScheduledDuringThePhaseWaitsForTheNextTurn) {
  time.step = 0;
  int runs = 0;
  std::function<void()> again = [&] {
    if (++runs < 5) watcher.runAfter(0ns, again);
  };
  watcher.runAfter(0ns, again);
  for (int turn = 1; turn <= 5; ++turn) {
    ASSERT_TRUE(driver.turn());
    EXPECT_EQ(runs, turn) << "one phase ran timers scheduled during it";
  }
  EXPECT_EQ(time.timeouts(), std::vector<int>(5, 0)) << "each turn polls for the next one";
}

TEST(TimerErrors, AThrowingTaskIsReportedAndTheLoopAndItsScheduleGoOn) {
  FakeTime time;
  std::vector<std::string> reports;
  Options options = time.options(false);
  options.error_handler = [&](std::exception_ptr error, int fd) {
    EXPECT_EQ(fd, -1);
    try {
      std::rethrow_exception(error);
    } catch (const std::runtime_error& e) {
      reports.emplace_back(e.what());
    }
  };
  EventWatcher watcher(options);
  EventWatcher::Driver driver(watcher);
  watcher.runEvery(10ms, [] { throw std::runtime_error("tick"); });
  ASSERT_TRUE(turn_until(driver, [&] { return reports.size() == 3; }));
  EXPECT_EQ(reports, (std::vector<std::string>(3, "tick"))) << "the periodic timer stopped";
  bool ran = false;
  watcher.runAfter(0ns, [&] { ran = true; });
  ASSERT_TRUE(driver.turn());
  EXPECT_TRUE(ran) << "the loop died with the task";
}

// 1,000,000 pending timers through the watcher (a tenth under TSan): half
// cancelled, the rest fired in deadline order in one turn once the clock has
// passed them all.
TEST_F(TimerScale, MillionPendingTimersHalfCancelledRestFiredInOrder) {
  constexpr int kTimers = 1'000'000 / kScaleDivisor;
  time.step = 0;
  struct Tally {
    int last = -1;
    int ran = 0;
    int out_of_order = 0;
  } tally;
  std::vector<TimerId> ids(kTimers);
  // Deadlines i ns from now, scheduled in a shuffled order (a stride coprime with kTimers).
  for (int k = 0; k < kTimers; ++k) {
    const int i = static_cast<int>((static_cast<long long>(k) * 7919) % kTimers);
    Tally* state = &tally;  // two words: the task fits std::function's inline buffer
    ids[i] = watcher.runAfter(std::chrono::nanoseconds(i), [state, i] {
      if (i <= state->last) ++state->out_of_order;
      state->last = i;
      ++state->ran;
    });
  }
  int cancelled = 0;
  for (int i = 0; i < kTimers; i += 2) cancelled += watcher.cancel(ids[i]) ? 1 : 0;
  EXPECT_EQ(cancelled, kTimers / 2);
  time.advance(1s);
  ASSERT_TRUE(driver.turn());
  EXPECT_EQ(tally.ran, kTimers / 2);
  EXPECT_EQ(tally.out_of_order, 0);
  for (int i = 1; i < kTimers; i += 2) ASSERT_FALSE(watcher.cancel(ids[i])) << "timer " << i;
}

TEST(TimerLifecycle, PendingTimersAreDroppedAtDestructionWithoutRunning) {
  std::atomic<int> ran{0};
  auto captured = std::make_shared<int>(0);
  const std::weak_ptr<int> alive = captured;
  {
    EventWatcher watcher;
    watcher.runAfter(1h, [&ran, captured] { ++ran; });
    watcher.runEvery(1h, [&ran, captured] { ++ran; });
    captured.reset();
    sync(watcher);
    EXPECT_FALSE(alive.expired()) << "a pending timer's task was destroyed early";
  }
  EXPECT_TRUE(alive.expired()) << "the destructor kept a pending timer's task";
  EXPECT_EQ(ran, 0);
}

// start_thread = false: run() returns with timers still pending (they are not
// drained like tasks); they run when a thread runs the loop again.
TEST(TimerLifecycle, PendingTimersStayPendingWhenRunReturns) {
  FakeTime time;
  time.step = 0;
  EventWatcher watcher(time.options(false));
  bool ran = false;
  bool task_ran = false;
  watcher.runAfter(0ns, [&] { ran = true; });
  watcher.runInEventWatcherLoop([&] { task_ran = true; });
  watcher.stop();
  watcher.run();  // stopped before it began: runs the queued task only
  EXPECT_TRUE(task_ran);
  EXPECT_FALSE(ran) << "run() drained a timer";
  EventWatcher::Driver driver(watcher);
  ASSERT_TRUE(driver.turn());
  EXPECT_TRUE(ran);
}

}  // namespace
}  // namespace eventwatcher::test
