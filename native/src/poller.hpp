// Poller: one epoll instance with its wakeup eventfd, its registrations and
// its event buffer; the part of a loop that both Loop and the JNI bridge use.
#pragma once

#include "arms.hpp"
#include "epoll.hpp"
#include "registry.hpp"
#include "wakeup.hpp"

#include <eventwatcher/options.hpp>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

namespace eventwatcher::detail {

/// A turn is wait() then either dispatch() (call the callbacks) or collect()
/// (record the ready registrations for a caller that calls them itself). Both
/// drain the wakeup eventfd when it was among the events. The registry's
/// owner thread (see Registry) makes every call but wakeup() and arms().
///
/// Arms are made on first use (their two epoll fds exist only in a poller
/// that parks threads), and only collect() reports them.
///
/// Batch entries of collect(): `fd << 1 | flag` (>= 0) for a registration;
/// with arms, three for each reported arm: `-1 - flag`, then the token's low
/// and high 32 bits; or, when the arms are harvested elsewhere, one entry
/// `-3 - flag` saying that arms of `flag` are pending for that harvester.
class Poller {
 public:
  /// Creates the epoll instance and the eventfd and registers the eventfd.
  /// `on_error` must outlive the poller. Throws std::system_error,
  /// std::invalid_argument if max_events < 1.
  Poller(Options::EpollWaitFunction wait_fn, int max_events, Delivery delivery,
         const Options::ErrorHandler& on_error);

  Registry& registry() noexcept { return registry_; }
  /// Any thread.
  Wakeup& wakeup() noexcept { return wakeup_; }
  /// The one-shot arms, made on the first call (once, whichever threads
  /// race). Any thread. Throws std::system_error (EMFILE: then a later call
  /// tries again), std::bad_alloc.
  Arms& arms();
  /// Makes the arms, to be harvested by poller threads of the caller's
  /// instead of collect() (see Arms). Any thread. Returns 0, EBUSY if the
  /// arms exist already, or errno; throws std::bad_alloc.
  int make_arms_harvested_elsewhere();
  /// The batch size of a wait.
  int max_events() const noexcept { return static_cast<int>(events_.size()); }
  /// The entries collect() may record in one turn: 2 per event, and with
  /// arms 3 per arm for up to max_events arms of each flag.
  static int batch_capacity(int max_events, bool with_arms) noexcept {
    return 2 * max_events + (with_arms ? 2 * 3 * max_events : 0);
  }

  /// Waits up to `timeout_ns` nanoseconds (-1: no limit) for events; EINTR
  /// as Epoll::wait says. Returns the number fetched, or -errno if the wait
  /// failed.
  int wait(std::int64_t timeout_ns) noexcept;
  /// Calls the callbacks for the events of the last wait(). For a poller
  /// without arms.
  void dispatch() noexcept;
  /// Records the events of the last wait() into `out` (batch_capacity()
  /// entries; see the class comment and Registry::collect), then harvests the
  /// arms reported. Returns the number of entries.
  int collect(std::int32_t* out) noexcept;

 private:
  int collect_arms(WatchFlag flag, std::int32_t* out) noexcept;
  Arms& make_arms(bool harvested_elsewhere);  // under arms_mutex_

  Epoll epoll_;
  Wakeup wakeup_;
  Registry registry_;
  std::vector<epoll_event> events_;
  int fetched_ = 0;  // events of the last wait(), not yet dispatched or collected
  // Last: nested in epoll_, removed from it first. `arms_` is published once
  // under `arms_mutex_`; collect() reads it without the lock.
  std::mutex arms_mutex_;
  std::unique_ptr<Arms> arms_owner_;
  std::atomic<Arms*> arms_{nullptr};
};

}  // namespace eventwatcher::detail
