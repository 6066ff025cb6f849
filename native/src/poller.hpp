// Poller: one epoll instance with its wakeup eventfd, its registrations and
// its event buffer; the part of a loop that both Loop and the JNI bridge use.
#pragma once

#include "epoll.hpp"
#include "registry.hpp"
#include "wakeup.hpp"

#include <eventwatcher/options.hpp>

#include <cstdint>
#include <vector>

namespace eventwatcher::detail {

/// A turn is wait() then either dispatch() (call the callbacks) or collect()
/// (record the ready registrations for a caller that calls them itself). Both
/// drain the wakeup eventfd when it was among the events. The registry's
/// owner thread (see Registry) makes every call but wakeup().
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
  /// The batch size: collect() records at most twice as many entries.
  int max_events() const noexcept { return static_cast<int>(events_.size()); }

  /// Waits up to `timeout_ns` nanoseconds (-1: no limit) for events; EINTR
  /// as Epoll::wait says. Returns the number fetched, or -errno if the wait
  /// failed.
  int wait(std::int64_t timeout_ns) noexcept;
  /// Calls the callbacks for the events of the last wait().
  void dispatch() noexcept;
  /// Records the events of the last wait() into `out` (2 * max_events()
  /// entries; see Registry::collect). Returns the number of entries.
  int collect(std::int32_t* out) noexcept;

 private:
  Epoll epoll_;
  Wakeup wakeup_;
  Registry registry_;
  std::vector<epoll_event> events_;
  int fetched_ = 0;  // events of the last wait(), not yet dispatched or collected
};

}  // namespace eventwatcher::detail
