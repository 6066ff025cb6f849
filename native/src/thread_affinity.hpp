// ThreadAffinity: executable "this thread only" rules, checked in debug builds.
#pragma once

#include <atomic>
#include <thread>

namespace eventwatcher::detail {

/// Records which thread owns a piece of state and, in builds with
/// EVENTWATCHER_DEBUG_CHECKS (the test and sanitizer builds), aborts with a
/// message naming the entry point when another thread calls it. In other
/// builds every member is an empty inline function, so release code pays
/// nothing. The owner may change (a loop started on another thread, a caller
/// borrowing an idle loop); claim() and release() bracket each ownership.
class ThreadAffinity {
 public:
#ifdef EVENTWATCHER_DEBUG_CHECKS
  /// Makes the calling thread the owner. Any thread; never throws.
  void claim() noexcept {
    owner_.store(std::this_thread::get_id(), std::memory_order_relaxed);
  }
  /// Leaves the state without an owner. The owner; never throws.
  void release() noexcept {
    owner_.store(std::thread::id{}, std::memory_order_relaxed);
  }
  /// Aborts, naming `entry_point`, unless the calling thread is the owner.
  void check(const char* entry_point) const noexcept {
    if (owner_.load(std::memory_order_relaxed) != std::this_thread::get_id()) fail(entry_point);
  }

 private:
  [[noreturn]] static void fail(const char* entry_point) noexcept;
  std::atomic<std::thread::id> owner_{};
#else
  void claim() noexcept {}
  void release() noexcept {}
  void check(const char*) const noexcept {}
#endif
};

}  // namespace eventwatcher::detail
