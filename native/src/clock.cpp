#include "clock.hpp"

#include <sys/prctl.h>
#include <time.h>

namespace eventwatcher::detail {

std::int64_t monotonic_ns() noexcept {
  timespec now{};
  // Cannot fail: CLOCK_MONOTONIC exists on every Linux, and `now` is valid.
  ::clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<std::int64_t>(now.tv_sec) * 1'000'000'000 + now.tv_nsec;
}

void use_precise_timer_slack() noexcept {
  ::prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
}

}  // namespace eventwatcher::detail
