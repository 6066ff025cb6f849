// Clock: the time timers are scheduled and fired by.
#pragma once

#include <eventwatcher/options.hpp>

#include <cstdint>
#include <utility>

namespace eventwatcher::detail {

/// Nanoseconds of CLOCK_MONOTONIC (clock_gettime, through the vDSO: no
/// syscall). Any thread; never throws.
std::int64_t monotonic_ns() noexcept;

/// Makes the calling thread's timed waits end as close to their timeout as
/// the kernel can: sets its timer slack (PR_SET_TIMERSLACK) to 1 ns from the
/// default 50 us, by which the kernel may delay a wakeup to merge it with
/// others. For loop threads the library starts itself, so that timers are not
/// up to 50 us late; it costs nothing while a loop waits with no timeout, and
/// otherwise only that merging. Never throws; a refusal leaves the slack.
void use_precise_timer_slack() noexcept;

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
