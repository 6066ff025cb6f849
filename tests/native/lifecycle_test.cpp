// Semantic 11 (destruction), leak checks, and running the loop on a thread
// the caller owns (start_thread = false, run(), stop()).
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
  auto watcher = std::make_unique<EventWatcher>();
  for (Pipe& pipe : pipes) {
    pipe.fill();
    watcher->watch(pipe.r(), WatchFlag::Read, [&](int) { ++calls; });
  }
  ASSERT_TRUE(eventually([&] { return calls >= 8; }));
  watcher.reset();
  const int at_destruction = calls;
  std::this_thread::sleep_for(kIdleWindow);  // idle window: nothing may happen
  EXPECT_EQ(calls, at_destruction);
}

TEST(Destruction, ClosesItsEpollFdAndEventfdAndJoinsItsThread) {
  const ResourceBaseline before;
  {
    EventWatcher watcher;
    sync(watcher);
    EXPECT_EQ(count_entries("/proc/self/fd"), before.fds + 2);  // epoll fd + eventfd
    EXPECT_EQ(count_entries("/proc/self/task"), before.threads + 1);
  }
  EXPECT_EQ(count_entries("/proc/self/fd"), before.fds);
  EXPECT_EQ(count_entries("/proc/self/task"), before.threads);
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
  EXPECT_EQ(count_entries("/proc/self/task"), before.threads);
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

TEST(AfterDispatchHook, RunsAtTheEndOfEachTurnAndWorkItPostsIsNotStranded) {
  Options options;
  options.start_thread = false;
  std::string order;  // loop thread only
  EventWatcher* self = nullptr;
  std::atomic<bool> hook_off_loop{false};
  bool posted_from_hook = false;
  options.after_dispatch = [&] {
    if (!self->inEventWatcherLoop()) hook_off_loop = true;
    order += 'h';
    if (order.find('t') != std::string::npos && !posted_from_hook) {
      posted_from_hook = true;  // must run in a following turn, not wait for an event
      self->runInEventWatcherLoop([&] {
        order += 'x';
        self->stop();
      });
    }
  };
  EventWatcher watcher(options);
  self = &watcher;
  Pipe pipe;
  pipe.fill();
  watcher.watch(pipe.r(), WatchFlag::Read, [&](int fd) {
    order += 'c';
    watcher.unwatch(fd, WatchFlag::Read);
    watcher.runInEventWatcherLoop([&] { order += 't'; });
  });
  auto ran = std::async(std::launch::async, [&] { watcher.run(); });
  ASSERT_TRUE(ready(ran)) << "work posted from the hook was stranded";
  EXPECT_FALSE(hook_off_loop);
  EXPECT_EQ(order.substr(0, 3), "cth");  // callback, its task, then the hook
  EXPECT_NE(order.find('x'), std::string::npos);
}

}  // namespace
}  // namespace eventwatcher::test
