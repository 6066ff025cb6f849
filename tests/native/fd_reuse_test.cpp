// Semantic 8: a closed-and-reused fd number never gets the old events.
#include "test_support.hpp"

namespace eventwatcher::test {
namespace {

// Puts a fresh pipe's read end on the number `fd` (as a reusing open would).
Pipe reuse_number(int fd) {
  Pipe fresh;
  if (fresh.r() == fd) return fresh;  // the kernel handed out the freed number
  EXPECT_EQ(::dup3(fresh.r(), fd, O_CLOEXEC), fd);
  fresh.read_end.reset(fd);
  return fresh;
}

TEST(FdReuse, NewWatchOnReusedNumberWorks) {
  EventWatcher watcher;
  Pipe old_pipe;
  old_pipe.fill();
  std::atomic<bool> rewatched{false};
  std::atomic<int> late_old_calls{0};
  std::atomic<int> old_calls{0};
  const int fd = old_pipe.r();
  watcher.watch(fd, WatchFlag::Read, [&](int) {
    if (rewatched) ++late_old_calls;
    ++old_calls;
  });
  ASSERT_TRUE(eventually([&] { return old_calls > 0; }));
  old_pipe.read_end.release();  // closed below without unwatch: a caller bug
  ::close(fd);
  Pipe fresh = reuse_number(fd);
  Counter fresh_calls;
  watcher.watch(fd, WatchFlag::Read, fresh_calls.callback());
  rewatched = true;
  flush_turns(watcher);
  EXPECT_EQ(fresh_calls.calls, 0) << "the new pipe is empty";
  fresh.fill();
  EXPECT_TRUE(eventually([&] { return fresh_calls.calls > 0; }));
  EXPECT_EQ(late_old_calls, 0);
  watcher.unwatch(fd, WatchFlag::Read);
}

// A dup keeps the old file alive, so the kernel keeps reporting the old
// epoll entry (with the old generation) after the number was reused.
TEST(FdReuse, StaleKernelEntryOfADupNeverReachesTheNewCallback) {
  EventWatcher watcher;
  Pipe old_pipe;
  old_pipe.fill();
  const int fd = old_pipe.r();
  Fd keep_alive(::dup(fd));
  ASSERT_GE(keep_alive.get(), 0);
  std::atomic<bool> rewatched{false};
  std::atomic<int> late_old_calls{0};
  watcher.watch(fd, WatchFlag::Read, [&](int) {
    if (rewatched) ++late_old_calls;
  });
  old_pipe.read_end.release();
  ::close(fd);
  Pipe fresh = reuse_number(fd);
  Counter fresh_calls;
  watcher.watch(fd, WatchFlag::Read, fresh_calls.callback());
  rewatched = true;
  flush_turns(watcher, 5);  // the stale entry fires on each of these turns
  EXPECT_EQ(fresh_calls.calls, 0) << "an event of the old file reached the new callback";
  fresh.fill();
  EXPECT_TRUE(eventually([&] { return fresh_calls.calls > 0; }));
  EXPECT_EQ(late_old_calls, 0);
  watcher.unwatch(fd, WatchFlag::Read);
  keep_alive.reset();  // releases the old file and its stale entry
}

// The number is closed and reused inside a callback while the old fd's event
// already sits in the same batch.
TEST(FdReuse, ReuseInsideABatchDropsTheFetchedEvent) {
  EventWatcher watcher;
  Pipe first;
  Pipe second;
  std::atomic<int> old_calls{0};
  Counter fresh_calls;
  Pipe fresh;  // becomes the replacement of whichever pipe loses the race
  auto replace_the_other = [&](int fd) {
    ++old_calls;
    const int other = fd == first.r() ? second.r() : first.r();
    Pipe& victim = fd == first.r() ? second : first;
    // Caller bug on purpose: close without unwatch, then reuse the number.
    victim.read_end.release();
    ::close(other);
    fresh = reuse_number(other);
    watcher.watch(other, WatchFlag::Read, fresh_calls.callback());
    watcher.unwatch(fd, WatchFlag::Read);
  };
  on_loop(watcher, [&] {
    watcher.watch(first.r(), WatchFlag::Read, replace_the_other);
    watcher.watch(second.r(), WatchFlag::Read, replace_the_other);
    first.fill();
    second.fill();
  });
  ASSERT_TRUE(eventually([&] { return old_calls > 0; }));
  flush_turns(watcher, 5);
  EXPECT_EQ(old_calls, 1);
  EXPECT_EQ(fresh_calls.calls, 0) << "the fresh pipe is empty";
  fresh.fill();
  EXPECT_TRUE(eventually([&] { return fresh_calls.calls > 0; }));
  watcher.unwatchAll();
}

}  // namespace
}  // namespace eventwatcher::test
