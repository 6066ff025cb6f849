#include "poller.hpp"

#include "syscall_error.hpp"

#include <stdexcept>
#include <string>

namespace eventwatcher::detail {
namespace {

std::size_t checked(int max_events) {
  if (max_events < 1) {
    throw std::invalid_argument("EventWatcher: max_events must be at least 1, got " +
                                std::to_string(max_events));
  }
  return static_cast<std::size_t>(max_events);
}

}  // namespace

Poller::Poller(Options::EpollWaitFunction wait_fn, int max_events, Delivery delivery,
               const Options::ErrorHandler& on_error)
    : epoll_(std::move(wait_fn)),
      registry_(epoll_, delivery, on_error),
      events_(checked(max_events)) {
  if (const int error = epoll_.add(wakeup_.fd(), EPOLLIN, Registry::kWakeupToken)) {
    throw syscall_error(error, "epoll_ctl(EPOLL_CTL_ADD) of the wakeup eventfd", wakeup_.fd());
  }
}

int Poller::wait(std::int64_t timeout_ns) noexcept {
  const int count = epoll_.wait(events_.data(), max_events(), timeout_ns);
  fetched_ = count > 0 ? count : 0;
  return count;
}

void Poller::dispatch() noexcept {
  if (registry_.dispatch(events_.data(), fetched_)) wakeup_.drain();
  fetched_ = 0;
}

int Poller::collect(std::int32_t* out) noexcept {
  bool woken = false;
  const int recorded = registry_.collect(events_.data(), fetched_, out, woken);
  if (woken) wakeup_.drain();
  fetched_ = 0;
  return recorded;
}

}  // namespace eventwatcher::detail
