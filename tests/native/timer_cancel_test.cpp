// cancel(): synchronous like unwatch, from any thread. Before the run it
// prevents it and destroys the task; after it, or of an unknown or stale id,
// it returns false; from inside the task it does not wait (a periodic timer
// stops, a one-shot has run); from another thread it never waits for the loop
// unless that very timer's task is running, and then returns only after that
// run has ended. Every negative check first proves that the other side got
// where a wrong implementation would have acted.
#include "fake_time.hpp"
#include "test_support.hpp"

#include <random>
#include <thread>
#include <vector>

namespace eventwatcher::test {
namespace {

using TimerCancel = DrivenLoop;

TEST_F(TimerCancel, BeforeTheRunPreventsItAndDestroysTheTask) {
  bool ran = false;
  auto captured = std::make_shared<int>(0);
  const std::weak_ptr<int> alive = captured;
  const TimerId id = watcher.runAfter(10ms, [&ran, captured] { ran = true; });
  captured.reset();
  EXPECT_FALSE(alive.expired());
  EXPECT_TRUE(watcher.cancel(id));
  EXPECT_TRUE(alive.expired()) << "cancel() kept the task";
  EXPECT_FALSE(watcher.cancel(id)) << "cancelled twice";
  // A later timer runs only after the cancelled one's deadline has passed.
  bool later_ran = false;
  watcher.runAfter(20ms, [&] { later_ran = true; });
  ASSERT_TRUE(turn_until(driver, [&] { return later_ran; }));
  EXPECT_FALSE(ran);
}

TEST_F(TimerCancel, AfterTheRunReturnsFalse) {
  bool ran = false;
  const TimerId id = watcher.runAfter(1ms, [&] { ran = true; });
  ASSERT_TRUE(turn_until(driver, [&] { return ran; }));
  EXPECT_FALSE(watcher.cancel(id));
}

TEST_F(TimerCancel, StaleIdAfterTheSlotIsReusedReturnsFalse) {
  const TimerId old_id = watcher.runAfter(1s, [] {});
  ASSERT_TRUE(watcher.cancel(old_id));
  bool ran = false;
  const TimerId new_id = watcher.runAfter(1s, [&] { ran = true; });
  // The low 32 bits are the slot (timer_heap.hpp): the new timer took the old one's.
  ASSERT_EQ(static_cast<std::uint32_t>(old_id.value()), static_cast<std::uint32_t>(new_id.value()));
  EXPECT_NE(old_id, new_id);
  EXPECT_FALSE(watcher.cancel(old_id)) << "a stale id cancelled the slot's new timer";
  ASSERT_TRUE(turn_until(driver, [&] { return ran; }));
}

TEST_F(TimerCancel, OneShotFromInsideItsTaskReturnsFalse) {
  TimerId id;
  int runs = 0;
  bool result = true;
  id = watcher.runAfter(0ns, [&] {
    ++runs;
    result = watcher.cancel(id);
  });
  ASSERT_TRUE(driver.turn());
  EXPECT_EQ(runs, 1);
  EXPECT_FALSE(result) << "a one-shot that is running has not been prevented";
}

TEST_F(TimerCancel, PeriodicFromInsideItsTaskReturnsTrueAndStopsIt) {
  TimerId id;
  int runs = 0;
  std::vector<bool> results;
  auto captured = std::make_shared<int>(0);
  const std::weak_ptr<int> alive = captured;
  id = watcher.runEvery(10ms, [&, captured] {
    if (++runs < 3) return;
    results.push_back(watcher.cancel(id));
    results.push_back(watcher.cancel(id));
  });
  captured.reset();
  ASSERT_TRUE(turn_until(driver, [&] { return runs == 3; }));
  EXPECT_EQ(results, (std::vector<bool>{true, false}));
  EXPECT_TRUE(alive.expired()) << "the cancelled timer's task outlived its run";
  // Ten of its periods later it has not run again.
  bool sentinel = false;
  watcher.runAfter(100ms, [&] { sentinel = true; });
  ASSERT_TRUE(turn_until(driver, [&] { return sentinel; }));
  EXPECT_EQ(runs, 3);
}

// While the loop is held inside a task, cancel() of a pending timer from
// another thread returns: it needs nothing from the loop.
TEST(TimerCancelAcrossThreads, WhilePendingNeverWaitsForTheLoop) {
  EventWatcher watcher;
  bool ran = false;
  const TimerId id = watcher.runAfter(1h, [&] { ran = true; });
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::promise<void> entered;
  watcher.runInEventWatcherLoop([&] {
    entered.set_value();
    released.wait_for(kPatience);
  });
  auto in_task = entered.get_future();
  ASSERT_TRUE(ready(in_task));
  auto cancelled = std::async(std::launch::async, [&] { return watcher.cancel(id); });
  const bool returned = ready(cancelled);
  release.set_value();
  ASSERT_TRUE(returned) << "cancel() waited for the loop";
  EXPECT_TRUE(cancelled.get());
  sync(watcher);
  EXPECT_FALSE(ran);
}

// A timer whose task is held inside its first run; cancel() from another
// thread must wait for that run to end, and the timer never runs again.
struct HeldRun {
  std::promise<void> entered;
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<int> runs{0};
  std::atomic<bool> ended{false};

  WatchCallback task() {
    return [this] {
      if (++runs > 1) return;
      entered.set_value();
      released.wait_for(kPatience);
      ended = true;
    };
  }
};

// Cancels `id` on a new thread while `run`'s task is held; returns what
// cancel() returned, after checking that it did not return before the run
// ended (the canceller is seen asleep inside cancel() first).
bool cancel_while_held(EventWatcher& watcher, TimerId id, HeldRun& run) {
  auto entered = run.entered.get_future();
  EXPECT_TRUE(ready(entered)) << "the timer did not run";
  std::atomic<pid_t> canceller{0};
  std::atomic<bool> returned{false};
  bool result = false;
  bool ended_first = false;
  std::thread thread([&] {
    canceller = this_thread_tid();
    result = watcher.cancel(id);
    ended_first = run.ended;
    returned = true;
  });
  EXPECT_TRUE(eventually([&] { return canceller != 0 && thread_state(canceller) == 'S'; }))
      << "the canceller did not block in cancel()";
  EXPECT_FALSE(returned) << "cancel() returned while the task ran";
  run.release.set_value();
  thread.join();
  EXPECT_TRUE(ended_first) << "cancel() returned before the run ended";
  return result;
}

TEST(TimerCancelAcrossThreads, PeriodicWhileItRunsWaitsForTheRunAndStopsIt) {
  FakeTime time(true);  // a started loop: time jumps from deadline to deadline
  EventWatcher watcher(time.options(true));
  HeldRun run;
  const TimerId id = watcher.runEvery(10ms, run.task());
  EXPECT_TRUE(cancel_while_held(watcher, id, run)) << "stopping a periodic timer prevents runs";
  // Were it still scheduled, it would run ten times before this one.
  std::promise<void> sentinel;
  auto sentinel_ran = sentinel.get_future();
  watcher.runAfter(100ms, [&] { sentinel.set_value(); });
  ASSERT_TRUE(ready(sentinel_ran));
  EXPECT_EQ(run.runs, 1);
  EXPECT_FALSE(watcher.cancel(id));
}

TEST(TimerCancelAcrossThreads, OneShotWhileItRunsWaitsForTheRunAndReturnsFalse) {
  FakeTime time(true);
  EventWatcher watcher(time.options(true));
  HeldRun run;
  const TimerId id = watcher.runAfter(10ms, run.task());
  EXPECT_FALSE(cancel_while_held(watcher, id, run)) << "a running one-shot was not prevented";
  EXPECT_EQ(run.runs, 1);
}

// Threads schedule and cancel real-clock timers due within microseconds
// while the loop fires them: cancel() being synchronous, once it returns
// each timer has either run (false) or never will (true), exactly one.
TEST(TimerCancelAcrossThreads, RacingTheLoopEachTimerRunsOrIsCancelledExactlyOnce) {
  constexpr int kThreads = 4;
  constexpr int kTimers = 2000;
  EventWatcher watcher;
  std::vector<std::atomic<int>> runs(kThreads * kTimers);
  std::vector<char> cancelled(kThreads * kTimers, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 random(t);
      // Batches of 100, cancelled after the whole batch is scheduled, so
      // that some have run by then, some are running and some have not.
      std::vector<TimerId> ids(100);
      for (int batch = 0; batch < kTimers / 100; ++batch) {
        const int first = t * kTimers + batch * 100;
        for (int i = 0; i < 100; ++i) {
          ids[i] = watcher.runAfter(std::chrono::microseconds(random() % 20),
                                    [&runs, k = first + i] { ++runs[k]; });
        }
        std::this_thread::yield();
        for (int i = 0; i < 100; ++i) cancelled[first + i] = watcher.cancel(ids[i]) ? 1 : 0;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  int both = 0;
  int neither = 0;
  for (int k = 0; k < kThreads * kTimers; ++k) {
    both += runs[k] == 1 && cancelled[k];
    neither += runs[k] == 0 && !cancelled[k];
    EXPECT_LE(runs[k], 1) << "a one-shot timer ran twice";
  }
  EXPECT_EQ(both, 0) << "cancel() returned true for a timer that ran";
  EXPECT_EQ(neither, 0) << "cancel() returned false for a timer that had not run";
}

}  // namespace
}  // namespace eventwatcher::test
