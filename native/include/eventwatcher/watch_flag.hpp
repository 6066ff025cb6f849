// WatchFlag: which readiness of a file descriptor a registration waits for.
#pragma once

#include <cstdint>
#include <string_view>

namespace eventwatcher {

/// The readiness a registration waits for. Read and Write on the same fd are
/// independent registrations that share one epoll entry.
enum class WatchFlag : std::uint8_t {
  Read,   ///< readable (EPOLLIN), or hang-up/error pending
  Write,  ///< writable (EPOLLOUT), or hang-up/error pending
};

/// Returns "Read" or "Write". Thread-safe; never throws.
constexpr std::string_view to_string(WatchFlag flag) noexcept {
  return flag == WatchFlag::Read ? "Read" : "Write";
}

}  // namespace eventwatcher
