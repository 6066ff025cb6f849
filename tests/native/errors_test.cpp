// Semantics 9 (errors go to the caller) and 10 (exceptions from callbacks and
// tasks go to the handler; the loop lives on).
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
  EXPECT_EQ(printed, "eventwatcher: uncaught exception in task: visible\n");
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

}  // namespace
}  // namespace eventwatcher::test
