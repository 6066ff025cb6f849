// Clock: the time timers are scheduled and fired by.
#pragma once

#include <eventwatcher/options.hpp>

#include <cstdint>
#include <utility>

namespace eventwatcher::detail {

/// Nanoseconds of CLOCK_MONOTONIC (clock_gettime, through the vDSO: no
/// syscall). Any thread; never throws.
std::int64_t monotonic_ns() noexcept;

/// Options::clock, or CLOCK_MONOTONIC when it is empty. Any thread.
class Clock {
 public:
  explicit Clock(Options::ClockFunction injected) noexcept : injected_(std::move(injected)) {}

  /// Nanoseconds since the clock's epoch. Never throws: an injected clock
  /// that throws terminates the program (see Options::clock).
  std::int64_t now() const noexcept { return injected_ ? injected_().count() : monotonic_ns(); }

 private:
  Options::ClockFunction injected_;
};

}  // namespace eventwatcher::detail
