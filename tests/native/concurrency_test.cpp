// Every public method is thread-safe: watch, unwatch and runInEventWatcherLoop
// from many threads at once on distinct fds, with no call after unwatch
// returns, also while the loop keeps stopping and restarting. Meant to run
// under ThreadSanitizer as well.
#include "test_support.hpp"

#include <vector>

namespace eventwatcher::test {
namespace {

// One worker's round: watch a ready pipe, see the callback, unwatch, check
// no late call, and round-trip a task.
void churn(EventWatcher& watcher, int rounds, std::atomic<int>& failures) {
  for (int i = 0; i < rounds; ++i) {
    Pipe pipe;
    pipe.fill();
    std::atomic<bool> unwatched{false};
    std::atomic<int> calls{0};
    const WatchFlag flag = i % 2 == 0 ? WatchFlag::Read : WatchFlag::Write;
    const int fd = flag == WatchFlag::Read ? pipe.r() : pipe.w();
    watcher.watch(fd, flag, [&](int) {
      if (unwatched) ++failures;
      ++calls;
    });
    if (!eventually([&] { return calls > 0; })) ++failures;
    watcher.unwatch(fd, flag);
    unwatched = true;
    std::promise<void> done;
    auto future = done.get_future();
    watcher.runInEventWatcherLoop([&] { done.set_value(); });
    if (!ready(future)) ++failures;
  }
}

TEST(ThreadSafety, ManyThreadsWatchUnwatchAndSubmitOnDistinctFds) {
  EventWatcher watcher;
  std::atomic<int> failures{0};
  std::vector<std::thread> workers;
  for (int t = 0; t < 8; ++t) workers.emplace_back([&] { churn(watcher, 100, failures); });
  for (auto& worker : workers) worker.join();
  flush_turns(watcher);
  EXPECT_EQ(failures, 0);
}

// Workers race with a loop that keeps stopping and restarting, so their
// calls alternate between the direct path (no loop running) and the hand-off
// to the loop.
TEST(ThreadSafety, CallsRaceWithALoopStartingAndStopping) {
  Options options;
  options.start_thread = false;
  EventWatcher watcher(options);
  std::atomic<bool> workers_done{false};
  std::atomic<int> runs{0};
  std::thread runner([&] {
    while (!workers_done) {
      watcher.run();
      ++runs;
    }
  });
  std::thread stopper([&] {
    while (!workers_done) {
      watcher.stop();
      std::this_thread::yield();
    }
  });
  std::atomic<int> failures{0};
  std::vector<std::thread> workers;
  for (int t = 0; t < 4; ++t) workers.emplace_back([&] { churn(watcher, 50, failures); });
  for (auto& worker : workers) worker.join();
  workers_done = true;
  stopper.join();
  watcher.stop();
  runner.join();
  EXPECT_EQ(failures, 0);
  EXPECT_GT(runs, 0);
}

}  // namespace
}  // namespace eventwatcher::test
