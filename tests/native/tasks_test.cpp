// runInEventWatcherLoop: tasks run on the loop thread, in submission order
// per submitting thread, after the callback or task that submitted them
// (never re-entrantly); a submission from another thread wakes a loop asleep
// in epoll_wait and is never lost, and stop() racing submitters is seen.
#include "test_support.hpp"

#include <array>
#include <thread>
#include <vector>

namespace eventwatcher::test {
namespace {

TEST(Tasks, RunOnTheLoopThread) {
  EventWatcher watcher;
  EXPECT_FALSE(watcher.inEventWatcherLoop());
  std::promise<std::pair<bool, std::thread::id>> seen;
  auto future = seen.get_future();
  watcher.runInEventWatcherLoop([&] {
    seen.set_value({watcher.inEventWatcherLoop(), std::this_thread::get_id()});
  });
  ASSERT_TRUE(ready(future));
  const auto [in_loop, thread] = future.get();
  EXPECT_TRUE(in_loop);
  EXPECT_NE(thread, std::this_thread::get_id());
}

TEST(Tasks, FifoPerSubmittingThread) {
  EventWatcher watcher;
  constexpr int kThreads = 4;
  constexpr int kTasks = 2000;
  std::vector<int> last(kThreads, -1);  // loop thread only
  std::atomic<int> out_of_order{0};
  std::atomic<int> ran{0};
  std::vector<std::thread> submitters;
  for (int t = 0; t < kThreads; ++t) {
    submitters.emplace_back([&, t] {
      for (int i = 0; i < kTasks; ++i) {
        watcher.runInEventWatcherLoop([&, t, i] {
          if (last[t] != i - 1) ++out_of_order;
          last[t] = i;
          ++ran;
        });
      }
    });
  }
  for (auto& submitter : submitters) submitter.join();
  ASSERT_TRUE(eventually([&] { return ran == kThreads * kTasks; }));
  EXPECT_EQ(out_of_order, 0);
}

TEST(Tasks, TaskFromAnotherThreadWakesALoopAsleepWithoutTimeout) {
  EventWatcher watcher;
  const pid_t loop = loop_tid(watcher);
  for (int i = 0; i < 50; ++i) {
    // Asleep in epoll_wait(-1): only the submission can wake it.
    ASSERT_TRUE(eventually([&] { return asleep_in_epoll_wait_without_timeout(loop); }));
    sync(watcher);
  }
}

TEST(Tasks, TaskFromACallbackRunsAfterTheCallbackReturns) {
  EventWatcher watcher;
  Pipe pipe;
  bool in_callback = false;  // loop thread only
  std::promise<bool> nested;
  auto future = nested.get_future();
  watcher.watch(pipe.r(), WatchFlag::Read, [&](int fd) {
    watcher.unwatch(fd, WatchFlag::Read);
    in_callback = true;
    watcher.runInEventWatcherLoop([&] { nested.set_value(in_callback); });
    in_callback = false;
  });
  pipe.fill();
  ASSERT_TRUE(ready(future));
  EXPECT_FALSE(future.get()) << "task ran inside the callback that submitted it";
}

TEST(Tasks, TaskFromATaskRunsAfterIt) {
  EventWatcher watcher;
  std::vector<int> order;  // loop thread only
  std::promise<void> done;
  auto future = done.get_future();
  watcher.runInEventWatcherLoop([&] {
    watcher.runInEventWatcherLoop([&] {
      order.push_back(2);
      done.set_value();
    });
    order.push_back(1);
  });
  ASSERT_TRUE(ready(future));
  EXPECT_EQ(order, (std::vector<int>{1, 2}));
}

// Submitters race the loop's consume of the pending mark: each waits for its
// task before posting the next, so a lost wakeup leaves one never run.
TEST(Tasks, RacingSubmittersNeverLoseAWakeup) {
  constexpr int kThreads = 3;
  constexpr int kRounds = 3000;
  // Declared before the watcher: a task left queued by a failure still runs
  // when the watcher is destroyed, and must find its counter alive.
  std::array<std::atomic<int>, kThreads> runs{};
  std::atomic<int> lost{0};
  EventWatcher watcher;
  std::vector<std::thread> submitters;
  for (int t = 0; t < kThreads; ++t) {
    submitters.emplace_back([&, t] {
      std::atomic<int>& ran = runs[t];
      for (int i = 1; i <= kRounds && lost == 0; ++i) {
        watcher.runInEventWatcherLoop([&ran, i] { ran.store(i, std::memory_order_release); });
        if (!eventually([&] { return ran.load(std::memory_order_acquire) == i; })) ++lost;
      }
    });
  }
  for (auto& submitter : submitters) submitter.join();
  EXPECT_EQ(lost, 0);
}

// stop() from another thread while tasks keep coming: the loop sees it.
TEST(Tasks, StopRacingSubmittersIsSeen) {
  for (int iteration = 0; iteration < 100; ++iteration) {
    Options options;
    options.start_thread = false;
    EventWatcher watcher(options);
    std::atomic<bool> submitting{true};
    std::atomic<int> ran{0};
    std::thread submitter([&] {
      while (submitting) watcher.runInEventWatcherLoop([&] { ++ran; });
    });
    std::promise<void> returned;
    auto future = returned.get_future();
    std::thread runner([&] {
      watcher.run();
      returned.set_value();
    });
    ASSERT_TRUE(eventually([&] { return ran > 10; }));
    watcher.stop();
    const bool stopped = ready(future);
    submitting = false;
    submitter.join();
    if (!stopped) watcher.stop();  // unblock the runner so the test can fail cleanly
    runner.join();
    ASSERT_TRUE(stopped) << "run() did not return after stop(), iteration " << iteration;
  }
}

TEST(Tasks, EmptyTaskIsRejected) {
  EventWatcher watcher;
  EXPECT_THROW(watcher.runInEventWatcherLoop(WatchCallback{}), std::invalid_argument);
}

}  // namespace
}  // namespace eventwatcher::test
