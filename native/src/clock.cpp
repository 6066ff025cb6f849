#include "clock.hpp"

#include <time.h>

namespace eventwatcher::detail {

std::int64_t monotonic_ns() noexcept {
  timespec now{};
  // Cannot fail: CLOCK_MONOTONIC exists on every Linux, and `now` is valid.
  ::clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<std::int64_t>(now.tv_sec) * 1'000'000'000 + now.tv_nsec;
}

}  // namespace eventwatcher::detail
