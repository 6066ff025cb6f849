// Epoll::wait with a nanosecond timeout: to the nanosecond through the
// kernel (epoll_pwait2), never ending early; in milliseconds rounded up for
// an injected wait function; EINTR retried without limit, and with one
// returned as 0 so that the caller computes the time left.
#include "epoll.hpp"
#include "test_support.hpp"

#include <cerrno>
#include <climits>
#include <cstdint>
#include <vector>

namespace eventwatcher::test {
namespace {

TEST(EpollWait, InjectedWaitGetsMillisecondsRoundedUp) {
  EXPECT_EQ(detail::Epoll::to_milliseconds(-1), -1);
  EXPECT_EQ(detail::Epoll::to_milliseconds(0), 0);
  EXPECT_EQ(detail::Epoll::to_milliseconds(1), 1);
  EXPECT_EQ(detail::Epoll::to_milliseconds(999'999), 1);
  EXPECT_EQ(detail::Epoll::to_milliseconds(1'000'000), 1);
  EXPECT_EQ(detail::Epoll::to_milliseconds(1'000'001), 2);
  EXPECT_EQ(detail::Epoll::to_milliseconds(INT64_MAX), INT_MAX);
  std::vector<int> seen;
  detail::Epoll epoll([&](int, epoll_event*, int, int timeout) {
    seen.push_back(timeout);
    return 0;
  });
  epoll_event events[1];
  for (const std::int64_t ns : {std::int64_t{-1}, std::int64_t{0}, std::int64_t{2'500'000}}) {
    EXPECT_EQ(epoll.wait(events, 1, ns), 0);
  }
  EXPECT_EQ(seen, (std::vector<int>{-1, 0, 3}));
}

// EINTR: without limit the wait is retried; with one it returns 0, so that
// the loop computes the time left instead of waiting the whole timeout again.
TEST(EpollWait, InterruptedWaitIsRetriedOnlyWithoutLimit) {
  int calls = 0;
  detail::Epoll epoll([&](int, epoll_event*, int, int) {
    if (++calls % 2 == 1) {
      errno = EINTR;
      return -1;
    }
    return 0;
  });
  epoll_event events[1];
  EXPECT_EQ(epoll.wait(events, 1, -1), 0);
  EXPECT_EQ(calls, 2) << "not retried";
  EXPECT_EQ(epoll.wait(events, 1, 5'000'000), 0);
  EXPECT_EQ(calls, 3) << "retried with the whole timeout";
}

TEST(EpollWait, KernelWaitEndsNoEarlierThanItsNanosecondTimeout) {
  detail::Epoll epoll({});
  epoll_event events[1];
  for (const std::chrono::nanoseconds timeout : {1ns, 300'000ns, 1'200'000ns}) {
    const auto before = monotonic_now();
    EXPECT_EQ(epoll.wait(events, 1, timeout.count()), 0);
    EXPECT_GE(monotonic_now() - before, timeout) << "ended before its timeout";
  }
}

}  // namespace
}  // namespace eventwatcher::test
