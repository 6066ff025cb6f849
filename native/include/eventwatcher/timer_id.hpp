// TimerId: names a timer scheduled with EventWatcher::runAfter or runEvery.
#pragma once

#include <compare>
#include <cstddef>
#include <cstdint>
#include <functional>

namespace eventwatcher {

namespace detail {
class Timers;
}

/// An opaque value naming one timer of one watcher, for EventWatcher::cancel.
/// A default-constructed TimerId names no timer (valid() is false), and
/// cancel() of it returns false. Inside it are a slot number and that slot's
/// generation, so the id of a timer that has run or been cancelled never names
/// a later timer that reuses the slot (until that one slot has been reused
/// 2^32 times). Ids mean something only to the watcher that returned them.
/// Ordered (an arbitrary but consistent order) and hashable, for use as a key.
/// Any thread; never throws.
class TimerId {
 public:
  constexpr TimerId() noexcept = default;

  /// False for a default-constructed id, true for one a watcher returned.
  constexpr bool valid() const noexcept { return value_ != 0; }
  /// The id as a number (0 for the default id), for hashing and logging.
  constexpr std::uint64_t value() const noexcept { return value_; }

  friend constexpr auto operator<=>(TimerId, TimerId) noexcept = default;

 private:
  friend class detail::Timers;
  constexpr explicit TimerId(std::uint64_t value) noexcept : value_(value) {}

  std::uint64_t value_ = 0;
};

}  // namespace eventwatcher

template <>
struct std::hash<eventwatcher::TimerId> {
  std::size_t operator()(eventwatcher::TimerId id) const noexcept {
    return std::hash<std::uint64_t>{}(id.value());
  }
};
