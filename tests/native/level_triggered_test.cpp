// Level-triggered readiness: while an fd stays ready its callback is called
// again on every loop turn; once drained, not until it is ready again.
#include "test_support.hpp"

namespace eventwatcher::test {
namespace {

TEST(LevelTriggered, CallbackRepeatsWhileFdStaysReadable) {
  EventWatcher watcher;
  Pipe pipe;
  pipe.fill();  // never drained
  std::promise<void> fifth_call;
  auto fifth = fifth_call.get_future();
  int calls = 0;  // loop thread only
  watcher.watch(pipe.r(), WatchFlag::Read, [&](int) {
    if (++calls == 5) fifth_call.set_value();
  });
  EXPECT_TRUE(ready(fifth));
  watcher.unwatch(pipe.r(), WatchFlag::Read);
}

TEST(LevelTriggered, CallbackRepeatsWhileFdStaysWritable) {
  EventWatcher watcher;
  SocketPair sockets;
  std::promise<void> fifth_call;
  auto fifth = fifth_call.get_future();
  int calls = 0;
  watcher.watch(sockets.a.get(), WatchFlag::Write, [&](int) {
    if (++calls == 5) fifth_call.set_value();
  });
  EXPECT_TRUE(ready(fifth));
  watcher.unwatch(sockets.a.get(), WatchFlag::Write);
}

TEST(LevelTriggered, DrainedFdIsNotReportedUntilReadyAgain) {
  EventWatcher watcher;
  Pipe pipe;
  Counter counter;
  counter.then = [&](int) { pipe.drain(); };
  watcher.watch(pipe.r(), WatchFlag::Read, counter.callback());
  pipe.fill();
  ASSERT_TRUE(eventually([&] { return counter.calls == 1; }));
  flush_turns(watcher, 5);
  EXPECT_EQ(counter.calls, 1);
  pipe.fill();
  EXPECT_TRUE(eventually([&] { return counter.calls == 2; }));
  watcher.unwatch(pipe.r(), WatchFlag::Read);
}

}  // namespace
}  // namespace eventwatcher::test
