// Destruction (queued tasks run, no callback after the destructor returns,
// the epoll fd and eventfd closed, the thread joined), leak checks, and
// running the loop on a thread the caller owns (start_thread = false, run(),
// stop(), Driver).
#include "test_support.hpp"

#include <string>
#include <vector>

namespace eventwatcher::test {
namespace {

Options caller_owned() {
  Options options;
  options.start_thread = false;
  return options;
}

TEST(Destruction, TasksSubmittedBeforeTheDestructorAllRun) {
  std::atomic<int> ran{0};
  {
    EventWatcher watcher;
    for (int i = 0; i < 10000; ++i) watcher.runInEventWatcherLoop([&] { ++ran; });
  }
  EXPECT_EQ(ran, 10000);
}

TEST(Destruction, NoCallbackAfterTheDestructorReturns) {
  std::vector<Pipe> pipes(4);
  std::atomic<int> calls{0};
  std::atomic<int> calls_off_the_loop{0};
  auto watcher = std::make_unique<EventWatcher>();
  const pid_t loop = loop_tid(*watcher);
  for (Pipe& pipe : pipes) {
    pipe.fill();
    watcher->watch(pipe.r(), WatchFlag::Read, [&](int) {
      if (this_thread_tid() != loop) ++calls_off_the_loop;
      ++calls;
    });
  }
  ASSERT_TRUE(eventually([&] { return calls >= 8; }));
  watcher.reset();
  const int at_destruction = calls;
  // Callbacks run on the loop thread only; once it is gone, none can come.
  // (A joined thread leaves /proc a moment after the join returns.)
  EXPECT_TRUE(eventually([&] { return thread_state(loop) == 0; })) << "the loop thread lives on";
  EXPECT_EQ(calls_off_the_loop, 0);
  EXPECT_EQ(calls, at_destruction);
}

TEST(Destruction, ClosesItsEpollFdAndEventfdAndJoinsItsThread) {
  const ResourceBaseline before;
  {
    EventWatcher watcher;
    sync(watcher);
    EXPECT_EQ(count_entries("/proc/self/fd"), before.fds + 2);  // epoll fd + eventfd
    EXPECT_EQ(count_threads_named("eventwatcher"), 1u);
  }
  EXPECT_EQ(count_entries("/proc/self/fd"), before.fds);
  EXPECT_TRUE(before.threads_back()) << "the loop thread was not joined";
}

TEST(Destruction, QueuedTasksAreDestroyedUnrunWhenNoLoopRuns) {
  auto token = std::make_shared<int>(0);
  bool ran = false;
  {
    EventWatcher watcher(caller_owned());
    watcher.runInEventWatcherLoop([&ran, token] { ran = true; });
    EXPECT_EQ(token.use_count(), 2);
  }
  EXPECT_FALSE(ran);
  EXPECT_EQ(token.use_count(), 1) << "the queued task was not destroyed";
}

TEST(Destruction, StopsAndWaitsForARunOnACallerThread) {
  auto watcher = std::make_unique<EventWatcher>(caller_owned());
  std::promise<void> started;
  auto started_future = started.get_future();
  watcher->runInEventWatcherLoop([&] { started.set_value(); });
  std::thread runner([&] { watcher->run(); });
  ASSERT_TRUE(ready(started_future));
  std::atomic<int> ran{0};
  for (int i = 0; i < 1000; ++i) watcher->runInEventWatcherLoop([&] { ++ran; });
  watcher.reset();  // stops the loop, waits for run() to finish its tasks
  EXPECT_EQ(ran, 1000);
  runner.join();
}

TEST(Leaks, ThousandWatchersCreatedAndDestroyedLeakNoFdOrThread) {
  const ResourceBaseline before;
  Pipe pipe;
  pipe.fill();
  for (int i = 0; i < 1000; ++i) {
    EventWatcher watcher;
    watcher.watch(pipe.r(), WatchFlag::Read, [](int) {});
    if (i % 100 == 0) sync(watcher);
  }
  pipe = Pipe{};
  EXPECT_EQ(count_entries("/proc/self/fd"), before.fds + 2);  // the new pipe
  EXPECT_TRUE(before.threads_back()) << "a loop thread leaked";
}

TEST(CallerOwnedLoop, WatchBeforeRunThenCallbacksOnTheRunningThread) {
  EventWatcher watcher(caller_owned());
  Pipe pipe;
  pipe.fill();
  std::promise<std::pair<std::thread::id, bool>> called;
  auto future = called.get_future();
  watcher.watch(pipe.r(), WatchFlag::Read, [&](int fd) {
    watcher.unwatch(fd, WatchFlag::Read);
    called.set_value({std::this_thread::get_id(), watcher.inEventWatcherLoop()});
  });
  std::thread runner([&] { watcher.run(); });
  ASSERT_TRUE(ready(future));
  const auto [thread, in_loop] = future.get();
  EXPECT_EQ(thread, runner.get_id());
  EXPECT_TRUE(in_loop);
  EXPECT_FALSE(watcher.inEventWatcherLoop());
  watcher.stop();
  runner.join();
}

TEST(CallerOwnedLoop, RunReturnsAfterStopAndCanRunAgain) {
  EventWatcher watcher(caller_owned());
  for (int round = 0; round < 3; ++round) {
    std::atomic<int> ran{0};
    watcher.runInEventWatcherLoop([&] { ++ran; });  // queued before run()
    std::thread runner([&] { watcher.run(); });
    ASSERT_TRUE(eventually([&] { return ran == 1; }));
    watcher.runInEventWatcherLoop([&] { watcher.stop(); });
    runner.join();
  }
}

TEST(CallerOwnedLoop, StopBeforeRunMakesRunReturnAfterQueuedTasks) {
  EventWatcher watcher(caller_owned());
  bool ran = false;
  watcher.runInEventWatcherLoop([&] { ran = true; });
  watcher.stop();
  watcher.run();  // returns: the stop request was kept
  EXPECT_TRUE(ran);
}

TEST(CallerOwnedLoop, StopOnAWatcherWithItsOwnThreadDoesNothing) {
  EventWatcher watcher;
  watcher.stop();
  sync(watcher);  // the loop still runs tasks
  Pipe pipe;
  pipe.fill();
  Counter counter;
  watcher.watch(pipe.r(), WatchFlag::Read, counter.callback());
  EXPECT_TRUE(eventually([&] { return counter.calls > 0; })) << "and dispatches";
  watcher.unwatch(pipe.r(), WatchFlag::Read);
}

TEST(CallerOwnedLoop, RunOnAWatcherWithItsOwnThreadIsALogicError) {
  EventWatcher watcher;
  EXPECT_THROW(watcher.run(), std::logic_error);
}

TEST(CallerOwnedLoop, NestedRunIsALogicError) {
  EventWatcher watcher(caller_owned());
  bool threw = false;
  watcher.runInEventWatcherLoop([&] {
    try {
      watcher.run();
    } catch (const std::logic_error&) {
      threw = true;
    }
    watcher.stop();
  });
  watcher.run();
  EXPECT_TRUE(threw);
}

TEST(Driver, RunsTheLoopOneTurnPerCallOnTheCallingThread) {
  EventWatcher watcher(caller_owned());
  Pipe pipe;
  pipe.fill();
  int calls = 0;  // this thread only: it is the loop thread
  watcher.watch(pipe.r(), WatchFlag::Read, [&](int) { ++calls; });
  {
    EventWatcher::Driver driver(watcher);
    EXPECT_TRUE(watcher.inEventWatcherLoop());
    for (int turn = 1; turn <= 5; ++turn) {
      ASSERT_TRUE(driver.turn());
      EXPECT_EQ(calls, turn) << "level-triggered: one call per turn";
    }
    watcher.unwatch(pipe.r(), WatchFlag::Read);  // the caller's own work, between turns
  }
  EXPECT_FALSE(watcher.inEventWatcherLoop());
}

TEST(Driver, WorkSubmittedBetweenTurnsIsPickedUpByTheNextTurn) {
  EventWatcher watcher(caller_owned());
  EventWatcher::Driver driver(watcher);
  bool ran = false;
  // Between turns, on the loop thread, ask for a turn that does not block. A
  // blocked epoll_wait here would hang the test.
  watcher.runInEventWatcherLoop([&] { ran = true; });
  ASSERT_TRUE(driver.turn());
  EXPECT_TRUE(ran);
}

TEST(Driver, TurnReturnsFalseOnceStopped) {
  EventWatcher watcher(caller_owned());
  bool ran_at_release = false;
  {
    EventWatcher::Driver driver(watcher);
    watcher.runInEventWatcherLoop([&] { watcher.stop(); });
    EXPECT_TRUE(driver.turn());  // runs the task, which stops the loop
    EXPECT_FALSE(driver.turn());
    watcher.runInEventWatcherLoop([&] { ran_at_release = true; });
  }
  EXPECT_TRUE(ran_at_release) << "tasks still queued run when the driver is destroyed";
  EventWatcher::Driver again(watcher);  // the stop request was consumed
  watcher.runInEventWatcherLoop([] {});
  EXPECT_TRUE(again.turn());
}

TEST(Driver, RefusesAWatcherWithItsOwnThreadOrARunningLoop) {
  EventWatcher own_thread;
  EXPECT_THROW(EventWatcher::Driver{own_thread}, std::logic_error);
  EventWatcher watcher(caller_owned());
  EventWatcher::Driver driver(watcher);
  EXPECT_THROW(EventWatcher::Driver{watcher}, std::logic_error);
}

// A call from another thread while run() is finishing waits for the loop to
// become idle (signalled, not polled) and then runs on the calling thread.
TEST(CallerOwnedLoop, CallDuringTheFinalTasksProceedsOnceTheLoopIsIdle) {
  EventWatcher watcher(caller_owned());
  std::promise<void> finishing;
  std::atomic<bool> caller_started{false};
  std::atomic<bool> final_task_done{false};
  const std::function<void()> final_task = [&] {
    // Posted after the stop request: run by leave(), in the finishing state.
    finishing.set_value();
    while (!caller_started) std::this_thread::yield();
    final_task_done = true;
  };
  watcher.runInEventWatcherLoop([&] {
    watcher.stop();
    watcher.runInEventWatcherLoop(final_task);
  });
  std::thread runner([&] { watcher.run(); });
  finishing.get_future().wait();
  Pipe pipe;
  caller_started = true;
  watcher.watch(pipe.r(), WatchFlag::Read, [](int) {});
  EXPECT_TRUE(final_task_done) << "the call ran while the loop still owned the registry";
  runner.join();
  EXPECT_FALSE(watcher.inEventWatcherLoop());
  watcher.unwatch(pipe.r(), WatchFlag::Read);
}

#ifdef EVENTWATCHER_DEBUG_CHECKS
// Thread affinity is checked, not only documented, in debug builds.
TEST(ThreadAffinityDeathTest, DriverTurnOnAnotherThreadAborts) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        EventWatcher watcher(caller_owned());
        EventWatcher::Driver driver(watcher);
        std::thread([&] { driver.turn(); }).join();
      },
      "thread-affinity violation: EventWatcher::Driver::turn");
}
#endif

}  // namespace
}  // namespace eventwatcher::test
