// Registry: the fd-indexed table of registrations, and dispatch of a batch.
#pragma once

#include <eventwatcher/options.hpp>
#include <eventwatcher/watch_callback.hpp>
#include <eventwatcher/watch_flag.hpp>

#include <sys/epoll.h>

#include <cstdint>
#include <vector>

namespace eventwatcher::detail {

class Epoll;

/// Owns every registration. Not thread-safe: only the thread that owns the
/// loop touches it (the loop thread, or a caller while no loop runs), which
/// is why dispatch needs no lock.
///
/// Table. Slots are indexed by fd (a vector grown geometrically, as fds are
/// small dense integers), so dispatch is an array index, not a hash lookup.
///
/// Generation. Each slot counts the epoll entries it has had; the count of
/// the current entry is packed with the fd into epoll_event.data. An fd
/// closed without unwatch and reused by a new file gets a new entry with a
/// new generation, so events from the old entry (which lingers in the kernel
/// while a dup of the old file is open, and may already sit in a fetched
/// batch) never match the slot and are dropped.
///
/// Suspension. A suspended registration keeps its kernel entry (and so its
/// generation) with its readiness taken out of the mask; an entry whose
/// registrations are all suspended keeps a placeholder mask, EPOLLET with no
/// readiness bit, so that a hang-up is reported once instead of every turn.
/// Keeping the entry is what lets resume() detect a closed-and-reused fd: the
/// kernel answers ENOENT to a MOD on a number that now names another file.
///
/// Turn stamp. Each registration remembers the batch (turn) during or after
/// which it was made; a batch only reaches registrations made before its
/// epoll_wait. So a callback replaced or unwatched and rewatched inside a
/// batch never receives events fetched for its predecessor.
class Registry {
 public:
  /// epoll_event.data of the loop's own wakeup eventfd; no slot matches it.
  static constexpr std::uint64_t kWakeupToken = ~std::uint64_t{0};

  Registry(Epoll& epoll, const Options::ErrorHandler& on_error) noexcept
      : epoll_(epoll), on_error_(on_error) {}

  /// See EventWatcher::watch. Throws std::system_error, std::bad_alloc.
  void watch(int fd, WatchFlag flag, IWatchCallbackPtr callback);
  /// See EventWatcher::unwatch. Throws std::system_error.
  void unwatch(int fd, WatchFlag flag);
  /// See EventWatcher::unwatchAll. Throws std::system_error.
  void unwatch_all();
  /// See EventWatcher::suspend. Throws std::system_error.
  void suspend(int fd, WatchFlag flag);
  /// See EventWatcher::resume. Throws std::system_error (ENOENT when not
  /// registered, or when the fd was closed or reused while suspended).
  void resume(int fd, WatchFlag flag);

  /// Calls the callbacks for a batch of `count` events from epoll_wait.
  /// Returns whether the batch holds kWakeupToken. Never throws: callback
  /// exceptions go to the error handler.
  bool dispatch(const epoll_event* events, int count) noexcept;

 private:
  struct Registration {
    IWatchCallbackPtr callback;  // empty: not registered
    std::uint64_t since_turn = 0;
    bool suspended = false;  // registered, but its readiness is out of the kernel mask
  };
  struct Slot {
    Registration registrations[2];  // indexed by WatchFlag
    std::uint32_t generation = 0;   // of the current (or last) epoll entry
    std::uint32_t events = 0;       // interest in the kernel; 0: no entry
  };

  void deliver(int fd, std::uint32_t generation, WatchFlag flag) noexcept;
  void install(Registration& registration, IWatchCallbackPtr callback);
  void retire(Registration& registration);
  void retire_all(Slot& slot);
  void add_entry(int fd, WatchFlag flag, IWatchCallbackPtr callback);
  // The kernel mask for the slot's registrations (with `active` counted as an
  // unsuspended registration if given); 0 when it has none.
  static std::uint32_t kernel_mask(const Slot& slot, const WatchFlag* active = nullptr);

  Epoll& epoll_;
  const Options::ErrorHandler& on_error_;
  std::vector<Slot> slots_;
  std::uint64_t turn_ = 0;  // number of batches dispatched so far
  bool dispatching_ = false;
  // Callbacks removed during a batch; kept alive until it ends, as one of
  // them may be the running callback that removed itself.
  std::vector<IWatchCallbackPtr> retired_;
};

}  // namespace eventwatcher::detail
