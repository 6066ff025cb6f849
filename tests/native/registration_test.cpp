// One callback per (fd, flag): a watch replaces the registered callback,
// which is never called again once watch returns; Read and Write of one fd
// are registered, called and unwatched independently.
#include "test_support.hpp"

namespace eventwatcher::test {
namespace {

TEST(ReplaceOnRewatch, OldCallbackNeverCalledAfterWatchReturns) {
  EventWatcher watcher;
  Pipe pipe;
  pipe.fill();
  Counter first;
  Counter second;
  watcher.watch(pipe.r(), WatchFlag::Read, first.callback());
  ASSERT_TRUE(eventually([&] { return first.calls > 0; }));

  watcher.watch(pipe.r(), WatchFlag::Read, second.callback());
  const int first_calls = first.calls;
  ASSERT_TRUE(eventually([&] { return second.calls >= 3; }));
  flush_turns(watcher);
  EXPECT_EQ(first.calls, first_calls);
  watcher.unwatch(pipe.r(), WatchFlag::Read);
}

TEST(ReplaceOnRewatch, CallbackCanReplaceItself) {
  EventWatcher watcher;
  Pipe pipe;
  pipe.fill();
  Counter second;
  Counter first;
  first.then = [&](int fd) { watcher.watch(fd, WatchFlag::Read, second.callback()); };
  watcher.watch(pipe.r(), WatchFlag::Read, first.callback());
  ASSERT_TRUE(eventually([&] { return second.calls >= 3; }));
  EXPECT_EQ(first.calls, 1);
  watcher.unwatch(pipe.r(), WatchFlag::Read);
}

TEST(IndependentFlags, ReadAndWriteShareAnFdButNotARegistration) {
  EventWatcher watcher;
  SocketPair sockets;
  const int fd = sockets.a.get();
  ASSERT_EQ(::write(sockets.b.get(), "x", 1), 1);  // a: readable and writable
  Counter reads;
  Counter writes;
  watcher.watch(fd, WatchFlag::Read, reads.callback());
  watcher.watch(fd, WatchFlag::Write, writes.callback());
  ASSERT_TRUE(eventually([&] { return reads.calls > 0 && writes.calls > 0; }));

  watcher.unwatch(fd, WatchFlag::Write);
  const int write_calls = writes.calls;
  const int read_calls = reads.calls;
  flush_turns(watcher);
  EXPECT_EQ(writes.calls, write_calls);
  EXPECT_GT(reads.calls, read_calls) << "unwatching Write must keep Read";

  watcher.watch(fd, WatchFlag::Write, writes.callback());
  watcher.unwatch(fd, WatchFlag::Read);
  const int reads_after = reads.calls;
  const int writes_before = writes.calls;
  flush_turns(watcher);
  EXPECT_EQ(reads.calls, reads_after);
  EXPECT_GT(writes.calls, writes_before) << "unwatching Read must keep Write";
  watcher.unwatch(fd, WatchFlag::Write);
}

TEST(IndependentFlags, WriteOnlyRegistrationIgnoresReadability) {
  EventWatcher watcher;
  SocketPair sockets;
  const int fd = sockets.a.get();
  Counter reads;
  watcher.watch(fd, WatchFlag::Read, reads.callback());
  watcher.unwatch(fd, WatchFlag::Read);
  Counter writes;
  watcher.watch(fd, WatchFlag::Write, writes.callback());
  ASSERT_EQ(::write(sockets.b.get(), "x", 1), 1);
  ASSERT_TRUE(eventually([&] { return writes.calls > 2; }));
  flush_turns(watcher);
  EXPECT_EQ(reads.calls, 0);
  watcher.unwatch(fd, WatchFlag::Write);
}

}  // namespace
}  // namespace eventwatcher::test
