// unwatch and unwatchAll are synchronous, from any thread and from inside
// callbacks: when they return, the callback is not running and is never
// called again, even for events already fetched in the current batch.
#include "test_support.hpp"

#include <vector>

namespace eventwatcher::test {
namespace {

TEST(SynchronousUnwatch, FromAnotherThreadWaitsForTheRunningCallback) {
  EventWatcher watcher;
  Pipe pipe;
  pipe.fill();
  std::promise<void> entered;
  std::promise<void> release;
  auto released = release.get_future().share();
  std::atomic<bool> inside{false};
  std::atomic<int> calls{0};
  watcher.watch(pipe.r(), WatchFlag::Read, [&](int) {
    inside = true;
    if (++calls == 1) {
      entered.set_value();
      released.wait_for(kPatience);
    }
    inside = false;
  });
  auto entered_future = entered.get_future();
  ASSERT_TRUE(ready(entered_future));

  std::atomic<pid_t> unwatcher{0};
  auto unwatched = std::async(std::launch::async, [&] {
    unwatcher = this_thread_tid();
    watcher.unwatch(pipe.r(), WatchFlag::Read);
  });
  // Once the unwatcher is seen asleep (it announced itself just before the
  // call, so it sleeps inside unwatch, and the loop is busy in the callback, so
  // nothing can end that wait), an unwatch that did not wait for the callback
  // would have returned.
  ASSERT_TRUE(eventually([&] {
    return unwatched.wait_for(0s) == std::future_status::ready ||
           (unwatcher != 0 && thread_state(unwatcher) == 'S');
  }));
  EXPECT_NE(unwatched.wait_for(0s), std::future_status::ready)
      << "unwatch returned while its callback was still running";
  release.set_value();
  ASSERT_TRUE(ready(unwatched));
  EXPECT_FALSE(inside);
  const int calls_at_return = calls;
  flush_turns(watcher);
  EXPECT_EQ(calls, calls_at_return);
}

TEST(SynchronousUnwatch, FromAnotherThreadNoCallAfterReturnUnderChurn) {
  EventWatcher watcher;
  std::atomic<int> late_calls{0};
  for (int i = 0; i < 200; ++i) {
    Pipe pipe;
    pipe.fill();
    std::atomic<bool> unwatched{false};
    std::atomic<int> calls{0};
    watcher.watch(pipe.r(), WatchFlag::Read, [&](int) {
      if (unwatched) ++late_calls;
      ++calls;
    });
    ASSERT_TRUE(eventually([&] { return calls > 0; }));
    watcher.unwatch(pipe.r(), WatchFlag::Read);
    unwatched = true;
  }
  flush_turns(watcher);
  EXPECT_EQ(late_calls, 0);
}

// Both pipes are made ready inside one task, so one epoll_wait fetches both
// events; whichever callback runs first unwatches the other.
TEST(SynchronousUnwatch, InsideCallbackDropsEventsOfTheSameBatch) {
  EventWatcher watcher;
  Pipe first;
  Pipe second;
  std::atomic<int> calls{0};
  auto unwatch_both = [&](int) {
    ++calls;
    watcher.unwatch(first.r(), WatchFlag::Read);
    watcher.unwatch(second.r(), WatchFlag::Read);
  };
  on_loop(watcher, [&] {
    watcher.watch(first.r(), WatchFlag::Read, unwatch_both);
    watcher.watch(second.r(), WatchFlag::Read, unwatch_both);
    first.fill();
    second.fill();
  });
  flush_turns(watcher, 5);
  EXPECT_EQ(calls, 1);
}

TEST(SynchronousUnwatch, CallbackUnwatchingItselfIsCalledOnce) {
  EventWatcher watcher;
  Pipe pipe;
  pipe.fill();
  Counter counter;
  counter.then = [&](int fd) { watcher.unwatch(fd, WatchFlag::Read); };
  watcher.watch(pipe.r(), WatchFlag::Read, counter.callback());
  ASSERT_TRUE(eventually([&] { return counter.calls == 1; }));
  flush_turns(watcher, 5);
  EXPECT_EQ(counter.calls, 1);
}

TEST(SynchronousUnwatch, UnwatchAllInsideCallbackStopsTheRestOfTheBatch) {
  EventWatcher watcher;
  std::vector<Pipe> pipes(4);
  std::atomic<int> calls{0};
  on_loop(watcher, [&] {
    for (Pipe& pipe : pipes) {
      watcher.watch(pipe.r(), WatchFlag::Read, [&](int) {
        ++calls;
        watcher.unwatchAll();
      });
      pipe.fill();
    }
  });
  flush_turns(watcher, 5);
  EXPECT_EQ(calls, 1);
}

TEST(SynchronousUnwatch, UnwatchAllFromAnotherThread) {
  EventWatcher watcher;
  std::vector<Pipe> pipes(8);
  std::atomic<bool> unwatched{false};
  std::atomic<int> calls{0};
  std::atomic<int> late_calls{0};
  for (Pipe& pipe : pipes) {
    pipe.fill();
    watcher.watch(pipe.r(), WatchFlag::Read, [&](int) {
      if (unwatched) ++late_calls;
      ++calls;
    });
  }
  ASSERT_TRUE(eventually([&] { return calls >= 16; }));
  watcher.unwatchAll();
  unwatched = true;
  flush_turns(watcher);
  EXPECT_EQ(late_calls, 0);
  // The fds can be watched again afterwards.
  Counter again;
  watcher.watch(pipes[0].r(), WatchFlag::Read, again.callback());
  EXPECT_TRUE(eventually([&] { return again.calls > 0; }));
  watcher.unwatchAll();
}

TEST(SynchronousUnwatch, CallbackCanWatchAnotherFd) {
  EventWatcher watcher;
  Pipe trigger;
  Pipe target;
  target.fill();
  Counter target_calls;
  watcher.watch(trigger.r(), WatchFlag::Read, [&](int fd) {
    watcher.unwatch(fd, WatchFlag::Read);
    watcher.watch(target.r(), WatchFlag::Read, target_calls.callback());
  });
  trigger.fill();
  EXPECT_TRUE(eventually([&] { return target_calls.calls > 0; }));
  watcher.unwatchAll();
}

TEST(SynchronousUnwatch, UnwatchOfUnwatchedFdIsANoOp) {
  EventWatcher watcher;
  Pipe pipe;
  EXPECT_NO_THROW(watcher.unwatch(pipe.r(), WatchFlag::Read));
  EXPECT_NO_THROW(watcher.unwatch(12345, WatchFlag::Write));
  Counter counter;
  watcher.watch(pipe.r(), WatchFlag::Read, counter.callback());
  EXPECT_NO_THROW(watcher.unwatch(pipe.r(), WatchFlag::Write));  // other flag
  pipe.fill();
  EXPECT_TRUE(eventually([&] { return counter.calls > 0; }));
  watcher.unwatch(pipe.r(), WatchFlag::Read);
}

}  // namespace
}  // namespace eventwatcher::test
