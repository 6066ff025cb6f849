// The wait with timers: its timeout is the time to the earliest deadline
// (-1 with no timer, milliseconds rounded up for an injected wait, 0 when
// due), one periodic timer costs one wakeup per period, a timer scheduled on
// another thread wakes a loop asleep without timeout, and while a timer is
// pending the loop sleeps in the kernel with a timeout. Also the real-clock
// smoke test: a 2 ms timer fires, and not before its deadline.
#include "fake_time.hpp"
#include "test_support.hpp"

#include <vector>

namespace eventwatcher::test {
namespace {

using TimerWait = DrivenLoop;

// Whether thread `tid` sleeps in epoll_wait/epoll_pwait with a timeout > 0,
// or in epoll_pwait2 with a timespec (x86_64 numbers): a loop waiting for a
// timer, neither spinning nor waiting forever.
bool asleep_in_epoll_wait_with_timeout(pid_t tid) {
  if (thread_state(tid) != 'S') return false;
  std::ifstream file("/proc/self/task/" + std::to_string(tid) + "/syscall");
  std::string number;
  std::string args[4];
  if (!(file >> number >> args[0] >> args[1] >> args[2] >> args[3])) return false;
  const unsigned long long timeout = std::stoull(args[3].substr(2), nullptr, 16);
  if (number == "232" || number == "281") return static_cast<int>(timeout) > 0;
  return number == "441" && timeout != 0;
}

TEST_F(TimerWait, TimeoutIsTheTimeToTheEarliestDeadlineRoundedUp) {
  time.step = 0;
  ASSERT_TRUE(driver.turn());
  EXPECT_EQ(time.last_timeout(), -1) << "no timer: no timeout";
  // Scheduled on the loop thread: no wakeup requested, so no poll (0) first.
  const TimerId later = watcher.runAfter(1'500us, [] {});
  ASSERT_TRUE(driver.turn());
  EXPECT_EQ(time.last_timeout(), 2);
  const TimerId exact = watcher.runAfter(1ms, [] {});
  ASSERT_TRUE(driver.turn());
  EXPECT_EQ(time.last_timeout(), 1);
  watcher.cancel(exact);
  time.advance(700us);  // 800 us left
  ASSERT_TRUE(driver.turn());
  EXPECT_EQ(time.last_timeout(), 1);
  time.advance(800us);  // due
  ASSERT_TRUE(driver.turn());
  EXPECT_EQ(time.last_timeout(), 0);
  EXPECT_FALSE(watcher.cancel(later)) << "it should have run in that turn";
  ASSERT_TRUE(driver.turn());
  EXPECT_EQ(time.last_timeout(), -1) << "its run left no timeout behind";
}

TEST_F(TimerWait, CancellingTheOnlyTimerBringsBackTheWaitWithoutTimeout) {
  time.step = 0;
  watcher.cancel(watcher.runAfter(1h, [] {}));
  ASSERT_TRUE(driver.turn());
  EXPECT_EQ(time.last_timeout(), -1);
}

TEST_F(TimerWait, OnePeriodicTimerCostsOneWakeupPerPeriod) {
  int runs = 0;
  watcher.runEvery(10ms, [&] { ++runs; });
  ASSERT_TRUE(turn_until(driver, [&] { return runs == 100; }));
  EXPECT_EQ(time.timeouts(), std::vector<int>(100, 10)) << "one wait of one period per run";
}

// Fixed rate, missed runs skipped: a loop held 3.5 periods runs the timer
// once, then back on its grid (deadline + k * period), not in a burst.
TEST_F(TimerWait, APeriodicTimerThatFellBehindSkipsTheMissedRuns) {
  time.step = 0;
  const auto start = time.now();
  std::vector<std::chrono::nanoseconds> ran_at;
  watcher.runEvery(10ms, [&] { ran_at.push_back(time.now() - start); });
  time.advance(45ms);
  ASSERT_TRUE(driver.turn());
  time.step = FakeTime::kToTheTimeout;
  ASSERT_TRUE(turn_until(driver, [&] { return ran_at.size() == 3; }));
  EXPECT_EQ(ran_at, (std::vector<std::chrono::nanoseconds>{45ms, 50ms, 60ms}));
}

TEST(TimerRealClock, TimerFromAnotherThreadWakesALoopAsleepWithoutTimeout) {
  EventWatcher watcher;
  const pid_t loop = loop_tid(watcher);
  ASSERT_TRUE(eventually([&] { return asleep_in_epoll_wait_without_timeout(loop); }));
  std::promise<void> fired;
  auto future = fired.get_future();
  watcher.runAfter(1ms, [&] { fired.set_value(); });
  EXPECT_TRUE(ready(future)) << "the loop slept through the timer";
}

// A pending timer: the loop sleeps in the kernel with a timeout, neither
// spinning nor without limit; once it is cancelled, the next wait has none.
TEST(TimerRealClock, TheLoopSleepsWithATimeoutWhileATimerIsPending) {
  EventWatcher watcher;
  const pid_t loop = loop_tid(watcher);
  const TimerId id = watcher.runAfter(1h, [] {});
  EXPECT_TRUE(eventually([&] { return asleep_in_epoll_wait_with_timeout(loop); }));
  EXPECT_TRUE(watcher.cancel(id));
  sync(watcher);  // one turn more, which computes its wait afresh
  EXPECT_TRUE(eventually([&] { return asleep_in_epoll_wait_without_timeout(loop); }));
}

TEST(TimerRealClock, TwoMillisecondTimerFiresNotBeforeItsDeadline) {
  EventWatcher watcher;
  std::promise<std::chrono::nanoseconds> fired;
  auto future = fired.get_future();
  const auto scheduled = monotonic_now();
  watcher.runAfter(2ms, [&] { fired.set_value(monotonic_now()); });
  ASSERT_TRUE(ready(future)) << "a 2 ms timer did not fire";
  EXPECT_GE(future.get() - scheduled, 2ms) << "it fired before its deadline";
}

}  // namespace
}  // namespace eventwatcher::test
