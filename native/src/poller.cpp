#include "poller.hpp"

#include "syscall_error.hpp"

#include <stdexcept>
#include <string>
#include <system_error>

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

Arms& Poller::arms() {
  if (Arms* made = arms_.load(std::memory_order_acquire)) return *made;
  const std::lock_guard<std::mutex> lock(arms_mutex_);
  return arms_owner_ ? *arms_owner_ : make_arms(false);
}

int Poller::make_arms_harvested_elsewhere() {
  const std::lock_guard<std::mutex> lock(arms_mutex_);
  if (arms_owner_) return EBUSY;
  try {
    make_arms(true);
  } catch (const std::system_error& error) {
    return error.code().value();
  }
  return 0;
}

Arms& Poller::make_arms(bool harvested_elsewhere) {
  arms_owner_ = std::make_unique<Arms>(epoll_, harvested_elsewhere);
  arms_.store(arms_owner_.get(), std::memory_order_release);
  return *arms_owner_;
}

int Poller::wait(std::int64_t timeout_ns) noexcept {
  const int count = epoll_.wait(events_.data(), max_events(), timeout_ns);
  fetched_ = count > 0 ? count : 0;
  return count;
}

void Poller::dispatch() noexcept {
  const std::uint32_t signals = registry_.dispatch(events_.data(), fetched_);
  if (signals & Registry::signal_bit(Registry::kWakeupToken)) wakeup_.drain();
  fetched_ = 0;
}

int Poller::collect(std::int32_t* out) noexcept {
  std::uint32_t signals = 0;
  int recorded = registry_.collect(events_.data(), fetched_, out, signals);
  if (signals & Registry::signal_bit(Registry::kWakeupToken)) wakeup_.drain();
  fetched_ = 0;  // events_ is free again: the arms' harvest reuses it
  if (arms_.load(std::memory_order_acquire) != nullptr) {
    if (signals & Registry::signal_bit(Arms::kReadToken)) {
      recorded += collect_arms(WatchFlag::Read, out + recorded);
    }
    if (signals & Registry::signal_bit(Arms::kWriteToken)) {
      recorded += collect_arms(WatchFlag::Write, out + recorded);
    }
  }
  return recorded;
}

int Poller::collect_arms(WatchFlag flag, std::int32_t* out) noexcept {
  Arms* arms = arms_.load(std::memory_order_acquire);
  if (arms->harvested_elsewhere()) {
    *out = -3 - static_cast<std::int32_t>(flag);  // the one-shot nesting stays off until rearm()
    return 1;
  }
  // More than max_events reported arms stay in the nested instance, which
  // stays readable: the next turn takes them.
  const int count = arms->harvest(flag, events_.data(), max_events());
  const std::int32_t marker = -1 - static_cast<std::int32_t>(flag);
  for (int i = 0; i < count; ++i) {
    const std::uint64_t token = events_[static_cast<std::size_t>(i)].data.u64;
    out[3 * i] = marker;
    out[3 * i + 1] = static_cast<std::int32_t>(static_cast<std::uint32_t>(token));
    out[3 * i + 2] = static_cast<std::int32_t>(static_cast<std::uint32_t>(token >> 32));
  }
  return 3 * count;
}

}  // namespace eventwatcher::detail
