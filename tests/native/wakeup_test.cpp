// Wakeups: any number of task submissions before the loop wakes cost one
// eventfd write (none from the loop thread); an idle loop waits in epoll_wait
// with no timeout, so it neither busy-waits nor polls, and a call from another
// thread wakes it; an epoll_wait interrupted by EINTR is retried transparently,
// other epoll_wait errors end run() with std::system_error.
#include "wakeup.hpp"
#include "test_support.hpp"

#include <cerrno>
#include <cstdint>
#include <mutex>

namespace eventwatcher::test {
namespace {

std::uint64_t read_counter(int eventfd) {
  std::uint64_t value = 0;
  if (::read(eventfd, &value, sizeof value) != sizeof value) return 0;
  return value;
}

TEST(CoalescedWakeup, ManyRequestsWriteTheEventfdOnce) {
  detail::Wakeup wakeup;
  for (int i = 0; i < 100; ++i) wakeup.request(false);
  EXPECT_TRUE(wakeup.pending());
  EXPECT_EQ(read_counter(wakeup.fd()), 1u) << "one eventfd write for 100 requests";
  EXPECT_TRUE(wakeup.consume());
  EXPECT_FALSE(wakeup.pending());
  wakeup.request(false);  // after consume, the next request writes again
  EXPECT_EQ(read_counter(wakeup.fd()), 1u);
}

TEST(CoalescedWakeup, RequestFromTheLoopMakesNoSyscall) {
  detail::Wakeup wakeup;
  wakeup.request(true);
  EXPECT_TRUE(wakeup.pending());
  EXPECT_EQ(read_counter(wakeup.fd()), 0u) << "eventfd was written";
  EXPECT_EQ(errno, EAGAIN);
}

// Records every epoll_wait call the loop makes.
struct WaitRecorder {
  std::atomic<int> calls{0};
  std::atomic<int> last_timeout{0};
  std::atomic<int> eintr_left{0};
  std::atomic<int> blocked{0};  // calls currently inside epoll_wait(-1)

  Options options() {
    Options options;
    options.epoll_wait = [this](int epfd, epoll_event* events, int max, int timeout) {
      ++calls;
      last_timeout = timeout;
      if (eintr_left > 0) {
        --eintr_left;
        errno = EINTR;
        return -1;
      }
      if (timeout < 0) ++blocked;
      const int n = ::epoll_wait(epfd, events, max, timeout);
      if (timeout < 0) --blocked;
      return n;
    };
    return options;
  }
};

TEST(NoBusyWait, IdleLoopSleepsInEpollWaitWithoutTimeout) {
  WaitRecorder recorder;
  EventWatcher watcher(recorder.options());
  const pid_t loop = loop_tid(watcher);
  // Asleep (not spinning) in the epoll_wait(-1) it was given: only an event
  // can wake it, so an idle loop makes no wakeups.
  ASSERT_TRUE(eventually([&] {
    return recorder.blocked == 1 && asleep_in_epoll_wait_without_timeout(loop);
  })) << "the idle loop does not sleep in epoll_wait without timeout";
  EXPECT_EQ(recorder.last_timeout, -1);
}

TEST(NoBusyWait, WatchFromAnotherThreadWakesALoopAsleepWithoutTimeout) {
  WaitRecorder recorder;
  EventWatcher watcher(recorder.options());
  const pid_t loop = loop_tid(watcher);
  ASSERT_TRUE(eventually([&] { return asleep_in_epoll_wait_without_timeout(loop); }));
  Pipe pipe;
  pipe.fill();
  std::promise<void> called;
  auto future = called.get_future();
  std::once_flag once;
  watcher.watch(pipe.r(), WatchFlag::Read,
                [&](int) { std::call_once(once, [&] { called.set_value(); }); });
  EXPECT_TRUE(ready(future));
  watcher.unwatch(pipe.r(), WatchFlag::Read);
}

TEST(NoBusyWait, BurstOfTasksCostsOneTurn) {
  WaitRecorder recorder;
  EventWatcher watcher(recorder.options());
  std::promise<void> release;
  auto released = release.get_future().share();
  std::promise<void> gate_entered;
  watcher.runInEventWatcherLoop([&] {
    gate_entered.set_value();
    released.wait_for(kPatience);
  });
  auto entered = gate_entered.get_future();
  ASSERT_TRUE(ready(entered));
  std::atomic<int> ran{0};
  for (int i = 0; i < 1000; ++i) watcher.runInEventWatcherLoop([&] { ++ran; });
  const int calls_before = recorder.calls;
  release.set_value();
  ASSERT_TRUE(eventually([&] { return ran == 1000; }));
  // One turn polls (timeout 0) and runs all 1000; the eventfd written once may
  // show up in one more turn. Never one turn per task.
  EXPECT_LE(recorder.calls - calls_before, 3);
}

TEST(EintrRetry, InterruptedWaitIsRetriedTransparently) {
  WaitRecorder recorder;
  recorder.eintr_left = 5;
  std::atomic<int> errors{0};
  Options options = recorder.options();
  options.error_handler = [&](std::exception_ptr, int) { ++errors; };
  EventWatcher watcher(options);
  Pipe pipe;
  pipe.fill();
  Counter counter;
  watcher.watch(pipe.r(), WatchFlag::Read, counter.callback());
  EXPECT_TRUE(eventually([&] { return counter.calls > 0; }));
  EXPECT_EQ(recorder.eintr_left, 0);
  EXPECT_GE(recorder.calls, 6);
  EXPECT_EQ(errors, 0);
  watcher.unwatch(pipe.r(), WatchFlag::Read);
}

TEST(EintrRetry, OtherWaitErrorsEndRunWithSystemError) {
  Options options;
  options.start_thread = false;
  options.epoll_wait = [](int, epoll_event*, int, int) {
    errno = EBADF;
    return -1;
  };
  EventWatcher watcher(options);
  try {
    watcher.run();
    FAIL() << "run() returned normally";
  } catch (const std::system_error& error) {
    EXPECT_EQ(error.code().value(), EBADF);
  }
}

}  // namespace
}  // namespace eventwatcher::test
