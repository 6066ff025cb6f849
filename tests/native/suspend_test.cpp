// suspend() / resume(): a registration kept but not called, and resume()
// refusing an fd that was closed (and its number reused) meanwhile.
#include "test_support.hpp"

#include <cerrno>

namespace eventwatcher::test {
namespace {

TEST(Suspend, StopsCallsWhileTheFdStaysReadyAndResumeRestoresThem) {
  EventWatcher watcher;
  Pipe pipe;
  pipe.fill();  // never drained
  Counter counter;
  watcher.watch(pipe.r(), WatchFlag::Read, counter.callback());
  ASSERT_TRUE(eventually([&] { return counter.calls > 0; }));
  watcher.suspend(pipe.r(), WatchFlag::Read);
  const int at_suspend = counter.calls;
  flush_turns(watcher, 5);
  EXPECT_EQ(counter.calls, at_suspend) << "called while suspended";
  watcher.resume(pipe.r(), WatchFlag::Read);
  EXPECT_TRUE(eventually([&] { return counter.calls > at_suspend + 2; }));
  watcher.unwatch(pipe.r(), WatchFlag::Read);
}

TEST(Suspend, OtherFlagKeepsWorkingAndUnwatchRemovesASuspendedRegistration) {
  EventWatcher watcher;
  SocketPair sockets;
  const int fd = sockets.a.get();
  ASSERT_EQ(::write(sockets.b.get(), "x", 1), 1);
  Counter reads;
  Counter writes;
  watcher.watch(fd, WatchFlag::Read, reads.callback());
  watcher.watch(fd, WatchFlag::Write, writes.callback());
  watcher.suspend(fd, WatchFlag::Read);
  const int reads_at_suspend = reads.calls;
  const int writes_at_suspend = writes.calls;
  flush_turns(watcher);
  EXPECT_EQ(reads.calls, reads_at_suspend);
  EXPECT_GT(writes.calls, writes_at_suspend);
  watcher.unwatch(fd, WatchFlag::Read);
  EXPECT_THROW(watcher.resume(fd, WatchFlag::Read), std::system_error) << "no longer registered";
  watcher.unwatch(fd, WatchFlag::Write);
}

TEST(Suspend, ResumeRefusesAnFdClosedAndReusedWhileSuspended) {
  EventWatcher watcher;
  Pipe old_pipe;
  old_pipe.fill();
  const int fd = old_pipe.r();
  std::atomic<bool> resumed{false};
  std::atomic<int> late_calls{0};
  watcher.watch(fd, WatchFlag::Read, [&](int) {
    if (resumed) ++late_calls;
  });
  watcher.suspend(fd, WatchFlag::Read);
  // Caller bug on purpose: close without unwatch, and the number is reused.
  old_pipe.read_end.release();
  ::close(fd);
  Pipe fresh;
  if (fresh.r() != fd) {
    ASSERT_EQ(::dup3(fresh.r(), fd, O_CLOEXEC), fd);
    fresh.read_end.reset(fd);
  }
  fresh.fill();
  try {
    watcher.resume(fd, WatchFlag::Read);
    FAIL() << "resume armed the old callback on a new file";
  } catch (const std::system_error& error) {
    EXPECT_EQ(error.code().value(), ENOENT);
  }
  resumed = true;
  flush_turns(watcher, 5);
  EXPECT_EQ(late_calls, 0);
  Counter fresh_calls;  // the number can be watched afresh
  watcher.watch(fd, WatchFlag::Read, fresh_calls.callback());
  EXPECT_TRUE(eventually([&] { return fresh_calls.calls > 0; }));
  watcher.unwatch(fd, WatchFlag::Read);
}

TEST(Suspend, ASuspendedHungUpFdDoesNotSpinTheLoop) {
  EventWatcher watcher;
  const pid_t loop = loop_tid(watcher);
  Pipe pipe;
  Counter counter;
  watcher.watch(pipe.r(), WatchFlag::Read, counter.callback());
  watcher.suspend(pipe.r(), WatchFlag::Read);
  pipe.write_end.reset();  // EPOLLHUP: reported even with no readiness in the mask
  flush_turns(watcher);
  EXPECT_EQ(counter.calls, 0) << "called while suspended";
  // Every epoll_wait from here on sees the hung-up fd: were its placeholder
  // entry still reported, epoll_wait would return at once, every time, and
  // the loop would never be seen asleep.
  EXPECT_TRUE(eventually([&] { return asleep_in_epoll_wait_without_timeout(loop); }))
      << "the placeholder entry made the loop spin";
  EXPECT_EQ(counter.calls, 0);
  watcher.unwatch(pipe.r(), WatchFlag::Read);
}

TEST(Suspend, NegativeFdIsInvalidArgumentAndUnknownFdIsANoOp) {
  EventWatcher watcher;
  EXPECT_THROW(watcher.suspend(-1, WatchFlag::Read), std::invalid_argument);
  EXPECT_THROW(watcher.resume(-1, WatchFlag::Read), std::invalid_argument);
  EXPECT_NO_THROW(watcher.suspend(4321, WatchFlag::Read));
}

}  // namespace
}  // namespace eventwatcher::test
