// Errors go to the caller; exceptions from callbacks and tasks go to the
// handler, and whatever the handler, the report or epoll_wait does, the loop
// lives on.
#include "allocation_failure.hpp"
#include "test_support.hpp"

#include <cstdio>
#include <mutex>
#include <string>
#include <vector>

namespace eventwatcher::test {
namespace {

TEST(CallerErrors, NegativeFdIsInvalidArgument) {
  EventWatcher watcher;
  EXPECT_THROW(watcher.watch(-1, WatchFlag::Read, [](int) {}), std::invalid_argument);
  EXPECT_THROW(watcher.unwatch(-1, WatchFlag::Write), std::invalid_argument);
}

TEST(CallerErrors, NullCallbackIsInvalidArgument) {
  EventWatcher watcher;
  Pipe pipe;
  EXPECT_THROW(watcher.watch(pipe.r(), WatchFlag::Read, IWatchCallbackPtr{}),
               std::invalid_argument);
  EXPECT_THROW(watcher.watch(pipe.r(), WatchFlag::Read, std::function<void(int)>{}),
               std::invalid_argument);
}

TEST(CallerErrors, ClosedFdIsSystemErrorWithErrnoAndFd) {
  EventWatcher watcher;
  Pipe pipe;
  const int fd = pipe.read_end.release();
  ::close(fd);
  try {
    watcher.watch(fd, WatchFlag::Read, [](int) {});
    FAIL() << "no exception";
  } catch (const std::system_error& error) {
    EXPECT_EQ(error.code().value(), EBADF);
    EXPECT_NE(std::string(error.what()).find("fd " + std::to_string(fd)), std::string::npos)
        << error.what();
  }
}

TEST(CallerErrors, RegularFileIsSystemErrorEperm) {
  EventWatcher watcher;
  std::FILE* file = std::tmpfile();
  ASSERT_NE(file, nullptr);
  try {
    watcher.watch(::fileno(file), WatchFlag::Read, [](int) {});
    FAIL() << "no exception";
  } catch (const std::system_error& error) {
    EXPECT_EQ(error.code().value(), EPERM);
  }
  std::fclose(file);
}

TEST(CallerErrors, ErrorsReachACallerOnTheLoopThreadToo) {
  EventWatcher watcher;
  std::promise<int> caught;
  auto future = caught.get_future();
  watcher.runInEventWatcherLoop([&] {
    try {
      watcher.watch(987654, WatchFlag::Read, [](int) {});
      caught.set_value(0);
    } catch (const std::system_error& error) {
      caught.set_value(error.code().value());
    }
  });
  ASSERT_TRUE(ready(future));
  EXPECT_EQ(future.get(), EBADF);
}

TEST(CallerErrors, WatcherStaysUsableAfterAnError) {
  EventWatcher watcher;
  EXPECT_THROW(watcher.watch(987654, WatchFlag::Read, [](int) {}), std::system_error);
  Pipe pipe;
  pipe.fill();
  Counter counter;
  watcher.watch(pipe.r(), WatchFlag::Read, counter.callback());
  EXPECT_TRUE(eventually([&] { return counter.calls > 0; }));
  watcher.unwatch(pipe.r(), WatchFlag::Read);
}

TEST(CallerErrors, MaxEventsBelowOneIsInvalidArgument) {
  Options options;
  options.max_events = 0;
  EXPECT_THROW(EventWatcher{options}, std::invalid_argument);
}

struct Reported {
  std::mutex mutex;
  std::vector<std::pair<int, std::string>> errors;
  Options options() {
    Options options;
    options.error_handler = [this](std::exception_ptr error, int fd) {
      try {
        std::rethrow_exception(error);
      } catch (const std::exception& e) {
        std::lock_guard lock(mutex);
        errors.emplace_back(fd, e.what());
      }
    };
    return options;
  }
  std::size_t count() {
    std::lock_guard lock(mutex);
    return errors.size();
  }
};

TEST(CallbackExceptions, GoToTheHandlerAndTheLoopKeepsWorking) {
  Reported reported;
  EventWatcher watcher(reported.options());
  Pipe throwing;
  Pipe healthy;
  throwing.fill();
  std::atomic<int> throws{0};
  watcher.watch(throwing.r(), WatchFlag::Read, [&](int) {
    ++throws;
    throw std::runtime_error("boom");
  });
  ASSERT_TRUE(eventually([&] { return throws >= 3; })) << "registration must stay after a throw";
  Counter counter;
  watcher.watch(healthy.r(), WatchFlag::Read, counter.callback());
  healthy.fill();
  EXPECT_TRUE(eventually([&] { return counter.calls > 0; }));
  watcher.unwatchAll();
  std::lock_guard lock(reported.mutex);
  ASSERT_FALSE(reported.errors.empty());
  EXPECT_EQ(reported.errors.front().first, throwing.r());
  EXPECT_EQ(reported.errors.front().second, "boom");
}

TEST(CallbackExceptions, TaskExceptionsReachTheHandlerWithFdMinusOne) {
  Reported reported;
  EventWatcher watcher(reported.options());
  watcher.runInEventWatcherLoop([] { throw std::runtime_error("task failed"); });
  sync(watcher);
  std::lock_guard lock(reported.mutex);
  ASSERT_EQ(reported.errors.size(), 1u);
  EXPECT_EQ(reported.errors[0].first, -1);
  EXPECT_EQ(reported.errors[0].second, "task failed");
}

TEST(CallbackExceptions, DefaultHandlerPrintsOneLineOnStderr) {
  testing::internal::CaptureStderr();
  {
    EventWatcher watcher;
    watcher.runInEventWatcherLoop([] { throw std::runtime_error("visible"); });
    sync(watcher);
  }
  const std::string printed = testing::internal::GetCapturedStderr();
  EXPECT_EQ(printed, "eventwatcher: uncaught exception in task or loop: visible\n");
}

TEST(CallbackExceptions, ThrowingHandlerDoesNotStopTheLoop) {
  Options options;
  options.error_handler = [](std::exception_ptr, int) { throw std::logic_error("handler"); };
  testing::internal::CaptureStderr();
  {
    EventWatcher watcher(options);
    watcher.runInEventWatcherLoop([] { throw 42; });
    sync(watcher);
    sync(watcher);
  }
  const std::string printed = testing::internal::GetCapturedStderr();
  EXPECT_NE(printed.find("error handler threw"), std::string::npos) << printed;
}

// One turn of a caller-owned watcher on this thread, whose only ready fd has
// a callback that throws `error` with allocation refused from the throw on.
// Returns what reached stderr; `refused` gets the allocations attempted
// (and refused) on the way from the throw to the end of the turn.
std::string turn_with_allocation_refused(Options options, const std::exception& error, int& refused,
                                         int& fd) {
  options.start_thread = false;
  EventWatcher watcher(options);
  Pipe pipe;
  pipe.fill();
  fd = pipe.r();
  const std::runtime_error copy(error.what());
  watcher.watch(pipe.r(), WatchFlag::Read, [&](int) {
    AllocationFailure::start();
    throw copy;  // copied by the runtime with malloc, not operator new
  });
  testing::internal::CaptureStderr();
  {
    EventWatcher::Driver driver(watcher);
    driver.turn();
    AllocationFailure::stop();
    refused = AllocationFailure::refused();
  }
  watcher.unwatch(pipe.r(), WatchFlag::Read);
  return testing::internal::GetCapturedStderr();
}

TEST(LastResort, DefaultReportAllocatesNothing) {
  int refused = -1;
  int fd = -1;
  const std::string printed =
      turn_with_allocation_refused(Options{}, std::runtime_error("out of everything"), refused, fd);
  EXPECT_EQ(refused, 0) << "the report tried to allocate";
  EXPECT_EQ(printed, "eventwatcher: uncaught exception in callback for fd " + std::to_string(fd) +
                         ": out of everything\n");
}

TEST(LastResort, AHandlerThatCannotAllocateFallsBackToAFixedLine) {
  Options options;
  std::atomic<int> handler_calls{0};
  options.error_handler = [&](std::exception_ptr, int) {
    ++handler_calls;
    const std::string formatted(4096, 'x');  // refused: throws std::bad_alloc
    std::fputs(formatted.c_str(), stderr);
  };
  int refused = -1;
  int fd = -1;
  const std::string printed =
      turn_with_allocation_refused(options, std::runtime_error("lost"), refused, fd);
  EXPECT_EQ(handler_calls, 1);
  EXPECT_EQ(refused, 1) << "only the handler's own allocation";
  EXPECT_EQ(printed, "eventwatcher: an error in callback for fd " + std::to_string(fd) +
                         " was lost: the error handler threw\n");
}

TEST(LastResort, HandlerThrowingAnythingLeavesTheLoopRunning) {
  std::atomic<int> throws{0};
  Options options;
  options.error_handler = [&](std::exception_ptr, int) {
    switch (throws++ % 3) {
      case 0:
        throw std::bad_alloc();
      case 1:
        throw 7;
      default:
        throw std::runtime_error("handler");
    }
  };
  testing::internal::CaptureStderr();
  {
    EventWatcher watcher(options);
    for (int i = 0; i < 6; ++i)
      watcher.runInEventWatcherLoop([] { throw std::logic_error("task"); });
    sync(watcher);  // the loop ran a task after six failed reports
  }
  const std::string printed = testing::internal::GetCapturedStderr();
  EXPECT_EQ(throws, 6);
  std::size_t lines = 0;
  for (std::size_t at = 0;
       (at = printed.find("was lost: the error handler threw\n", at)) != std::string::npos; ++at) {
    ++lines;
  }
  EXPECT_EQ(lines, 6u) << printed;
}

// A handler that throws on every report costs a line now and then, not one
// per failure: lines on fd 2 are limited to 10 a second (a burst straddling a
// second's boundary may show up to 20).
TEST(LastResort, LinesOnStderrAreRateLimited) {
  std::atomic<int> handled{0};
  Options options;
  options.error_handler = [&](std::exception_ptr, int) {
    ++handled;
    throw std::runtime_error("handler");
  };
  testing::internal::CaptureStderr();
  {
    EventWatcher watcher(options);
    for (int i = 0; i < 100; ++i) watcher.runInEventWatcherLoop([] { throw 1; });
    sync(watcher);
  }
  const std::string printed = testing::internal::GetCapturedStderr();
  EXPECT_EQ(handled, 100) << "every failure reaches the handler";
  std::size_t lines = 0;
  for (std::size_t at = 0; (at = printed.find('\n', at)) != std::string::npos; ++at) ++lines;
  EXPECT_GE(lines, 1u);
  EXPECT_LE(lines, 20u) << printed;
}

// epoll_wait failing on the started thread: reported (1st, 2nd, 4th... in a
// row, not every time), retried after a back-off, and the loop carries on.
TEST(LoopSurvives, FailingEpollWaitIsReportedRetriedAndOutlived) {
  std::atomic<int> failures_left{5};
  std::mutex mutex;
  std::vector<int> reported;
  Options options;
  options.epoll_wait = [&](int epfd, epoll_event* events, int max, int timeout) {
    if (failures_left.fetch_sub(1) > 0) {
      errno = ENOMEM;
      return -1;
    }
    return ::epoll_wait(epfd, events, max, timeout);
  };
  options.error_handler = [&](std::exception_ptr error, int fd) {
    try {
      std::rethrow_exception(error);
    } catch (const std::system_error& e) {
      std::lock_guard lock(mutex);
      reported.push_back(e.code().value());
      EXPECT_EQ(fd, -1);
    }
  };
  EventWatcher watcher(options);
  Pipe pipe;
  pipe.fill();
  Counter counter;
  watcher.watch(pipe.r(), WatchFlag::Read, counter.callback());
  EXPECT_TRUE(eventually([&] { return counter.calls > 0; })) << "the loop did not recover";
  watcher.unwatch(pipe.r(), WatchFlag::Read);
  std::lock_guard lock(mutex);
  EXPECT_EQ(reported, (std::vector<int>{ENOMEM, ENOMEM, ENOMEM})) << "failures 1, 2 and 4 of 5";
}

}  // namespace
}  // namespace eventwatcher::test
