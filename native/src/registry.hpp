// Registry: the fd-indexed table of registrations, and dispatch of a batch.
#pragma once

#include "thread_affinity.hpp"

#include <eventwatcher/options.hpp>
#include <eventwatcher/watch_callback.hpp>
#include <eventwatcher/watch_flag.hpp>

#include <sys/epoll.h>

#include <cstdint>
#include <vector>

namespace eventwatcher::detail {

class Epoll;

/// How a ready registration is delivered.
enum class Delivery : std::uint8_t {
  /// Level-triggered: on every turn while the fd stays ready.
  level,
  /// One-shot (EPOLLONESHOT): a delivered registration is suspended, with no
  /// syscall, until resume() re-arms it; the kernel disarms the entry as it
  /// reports it. For a binding that runs callbacks on other threads and must
  /// not let a still-ready fd spin the loop.
  oneshot,
};

/// Owns every registration. Its owner thread, and only it, may call any
/// member (checked in debug builds): the loop thread while a loop runs,
/// otherwise a caller that holds the loop's hand-off (see Loop). That is why
/// dispatch needs no lock.
///
/// Table. Slots are indexed by fd (a vector grown geometrically, as fds are
/// small dense integers), so dispatch is an array index, not a hash lookup.
///
/// Generation. Each slot counts the epoll entries it has had; the count of
/// the current entry is packed with the fd into epoll_event.data. An fd
/// closed without unwatch and reused by a new file gets a new entry with a
/// new generation, so events from the old entry (which lingers in the kernel
/// while a dup of the old file is open, and may already sit in a fetched
/// batch) never match the slot once the number is watched again.
///
/// Closed under us. An epoll_ctl on a registered number that answers ENOENT
/// (the number names another file), EBADF (it names nothing) or EPERM (it
/// names a file epoll cannot watch) means the watched file was closed without
/// unwatch: its registrations are dropped, which is what the contract asks.
///
/// Suspension. A suspended registration keeps its kernel entry (and so its
/// generation) with its readiness taken out of the mask; an entry whose
/// registrations are all suspended keeps a placeholder mask with no readiness
/// bit (edge-triggered, or one-shot), so that a hang-up is reported once
/// instead of every turn. Keeping the entry is what lets resume() detect a
/// closed-and-reused fd: the kernel answers ENOENT to a MOD on a number that
/// now names another file.
///
/// Turn stamp. Each registration remembers the batch (turn) during or after
/// which it was made; a batch only reaches registrations made before its
/// epoll_wait, which are exactly those whose stamp differs from the batch's
/// number (made between batches: the previous number; during it: its own).
/// So a callback replaced or unwatched and rewatched inside a batch never
/// receives events fetched for its predecessor. The stamp is 32 bits: after a
/// wrap, a registration made 2^32 turns ago skips one turn's event, which
/// level-triggered readiness (and a one-shot re-arm) delivers on the next.
///
/// Errors. Members return 0 or an errno value; turning that into an
/// exception is the caller's business (one convention per boundary).
class Registry {
 public:
  /// epoll_event.data of the loop's own wakeup eventfd; no slot matches it.
  static constexpr std::uint64_t kWakeupToken = ~std::uint64_t{0};
  /// The highest kReservedTokens data values (kWakeupToken and below) name
  /// the poller's own fds, never a registration: a registration's token has
  /// its fd (< 2^31) in the low half. Each seen in a batch sets bit
  /// signal_bit(token) of what dispatch() and collect() report.
  static constexpr std::uint64_t kReservedTokens = 8;
  static constexpr bool reserved(std::uint64_t token) noexcept {
    return token > ~std::uint64_t{0} - kReservedTokens;
  }
  static constexpr std::uint32_t signal_bit(std::uint64_t token) noexcept {
    return 1u << static_cast<unsigned>(~token);
  }

  Registry(Epoll& epoll, Delivery delivery, const Options::ErrorHandler& on_error) noexcept
      : epoll_(epoll), on_error_(on_error), delivery_(delivery) {}

  /// Which thread may call the members; claimed and released by the loop.
  ThreadAffinity& owner() noexcept { return owner_; }

  /// See EventWatcher::watch. `callback` may be null: such a registration is
  /// recorded by collect() and skipped by dispatch(). With `suspended` it is
  /// registered but not armed until resume(). Returns 0 or errno; throws
  /// std::bad_alloc (nothing changed then).
  int watch(int fd, WatchFlag flag, IWatchCallbackPtr callback, bool suspended = false);
  /// See EventWatcher::unwatch. Returns 0 or errno (removed either way).
  int unwatch(int fd, WatchFlag flag) noexcept;
  /// See EventWatcher::unwatchAll. Returns 0 or the first errno.
  int unwatch_all() noexcept;
  /// See EventWatcher::suspend. Returns 0 or errno.
  int suspend(int fd, WatchFlag flag) noexcept;
  /// See EventWatcher::resume. Returns 0 or errno: ENOENT when not registered,
  /// or when the fd was closed or reused while suspended (then removed).
  int resume(int fd, WatchFlag flag) noexcept;

  /// Calls the callbacks for a batch of `count` events from epoll_wait.
  /// Returns the signal_bit()s of the reserved tokens in the batch. Callback
  /// exceptions go to the error handler.
  std::uint32_t dispatch(const epoll_event* events, int count) noexcept;

  /// Records the batch instead of calling callbacks: one entry `fd << 1 |
  /// flag` (Read 0, Write 1) per registration that dispatch() would call, at
  /// most 2 * count, into `out`. Sets `signals` to the signal_bit()s of the
  /// reserved tokens in the batch. Returns the number of entries.
  int collect(const epoll_event* events, int count, std::int32_t* out,
              std::uint32_t& signals) noexcept;

 private:
  struct Registration {
    IWatchCallbackPtr callback;
    std::uint32_t since_turn = 0;  // the turn_ during or after which it was made
    bool registered = false;
    bool suspended = false;  // registered, but its readiness is out of the kernel mask
  };
  // One cache line per fd: dispatch reads the generation and a registration
  // of a slot it has not touched since the last turn, so at 1,000 ready fds
  // and more each slot is a cache miss; keeping it to one line halves them.
  struct alignas(64) Slot {
    std::uint32_t generation = 0;   // of the current (or last) epoll entry
    bool in_epoll = false;          // the kernel has an entry for it
    Registration registrations[2];  // indexed by WatchFlag
  };
  static_assert(sizeof(Slot) == 64);

  template <typename Deliver>
  std::uint32_t for_each_ready(const epoll_event* events, int count, Deliver&& deliver) noexcept;
  // The registration an event of (fd, generation, flag) is for, or null.
  Registration* target(int fd, std::uint32_t generation, WatchFlag flag) noexcept;
  void call(Registration& registration, int fd) noexcept;
  void rearm_after_event(int fd, std::uint32_t generation) noexcept;
  int add_entry(int fd, WatchFlag flag, IWatchCallbackPtr& callback, bool suspended);
  void install(Registration& registration, IWatchCallbackPtr callback, bool suspended) noexcept;
  void retire(Registration& registration) noexcept;
  void retire_all(Slot& slot) noexcept;
  Slot* slot_with_entry(int fd) noexcept;
  // The kernel mask for the slot's registrations (0 when none is
  // registered); the second form takes `flag` as registered, suspended or
  // not, and the other flag as it is.
  std::uint32_t kernel_mask(const Slot& slot) const noexcept;
  std::uint32_t kernel_mask(const Slot& slot, WatchFlag flag, bool suspended) const noexcept;

  Epoll& epoll_;
  const Options::ErrorHandler& on_error_;
  const Delivery delivery_;
  ThreadAffinity owner_;
  std::vector<Slot> slots_;
  std::uint32_t turn_ = 0;  // number of batches dispatched so far, modulo 2^32
  // The callback running now, and a reference keeping it alive if it is
  // retired (unwatched, replaced) while it runs. Only one callback runs at a
  // time, so one reference suffices: retiring allocates nothing.
  IWatchCallback* running_ = nullptr;
  IWatchCallbackPtr running_retired_;
};

}  // namespace eventwatcher::detail
