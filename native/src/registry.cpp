#include "registry.hpp"

#include "epoll.hpp"
#include "error_report.hpp"

#include <cerrno>
#include <initializer_list>
#include <utility>

namespace eventwatcher::detail {
namespace {

constexpr std::uint32_t kErrorEvents = EPOLLHUP | EPOLLERR;
constexpr std::uint32_t kReadiness = EPOLLIN | EPOLLOUT;

constexpr std::size_t index(WatchFlag flag) {
  return static_cast<std::size_t>(flag);
}

constexpr WatchFlag other(WatchFlag flag) {
  return flag == WatchFlag::Read ? WatchFlag::Write : WatchFlag::Read;
}

// The epoll interest bit a flag asks for.
constexpr std::uint32_t interest(WatchFlag flag) {
  return flag == WatchFlag::Read ? EPOLLIN : EPOLLOUT;
}

constexpr std::uint64_t token(int fd, std::uint32_t generation) {
  return std::uint64_t{generation} << 32 | static_cast<std::uint32_t>(fd);
}

// epoll_ctl errors on a registered number meaning "the watched file was
// closed under us": the number now names another file (ENOENT), nothing
// (EBADF), or a file epoll cannot watch, such as /dev/null or a regular file
// (EPERM). epoll_ctl MOD and DEL fail in no other way on a valid epoll fd.
constexpr bool closed_under_us(int error) {
  return error == ENOENT || error == EBADF || error == EPERM;
}

}  // namespace

Registry::Slot* Registry::slot_with_entry(int fd) noexcept {
  const auto at = static_cast<std::size_t>(fd);
  return at < slots_.size() && slots_[at].in_epoll ? &slots_[at] : nullptr;
}

int Registry::watch(int fd, WatchFlag flag, IWatchCallbackPtr callback, bool suspended) {
  owner_.check("Registry::watch");
  if (Slot* slot = slot_with_entry(fd)) {
    const std::uint32_t events = kernel_mask(*slot, flag, suspended);
    // MOD even when the mask is unchanged: it checks that the entry still
    // belongs to the open file behind this fd number.
    const int error = epoll_.modify(fd, events, token(fd, slot->generation));
    if (error == 0) {
      install(slot->registrations[index(flag)], std::move(callback), suspended);
      return 0;
    }
    if (!closed_under_us(error)) return error;
    // The fd was closed without unwatch (and the number perhaps reused): the
    // old registrations died with the old file.
    retire_all(*slot);
  }
  return add_entry(fd, flag, callback, suspended);
}

int Registry::add_entry(int fd, WatchFlag flag, IWatchCallbackPtr& callback, bool suspended) {
  const auto at = static_cast<std::size_t>(fd);
  const bool known = at < slots_.size();
  const std::uint32_t generation = (known ? slots_[at].generation : 0) + 1;
  const std::uint32_t events = kernel_mask(Slot{}, flag, suspended);
  int error = epoll_.add(fd, events, token(fd, generation));
  // EEXIST: an entry of this very file under this number outlived an earlier
  // registration (unwatched after close while a dup kept the file open, and
  // the number given back to the same file). Take it over.
  if (error == EEXIST) error = epoll_.modify(fd, events, token(fd, generation));
  if (error != 0) return error;
  if (!known) {
    // Grow only for fds the kernel accepted, so the table is bounded by the
    // process's fd limit. Doubling keeps growth amortised O(1).
    try {
      std::size_t size = slots_.empty() ? 64 : slots_.size();
      while (size <= at) size *= 2;
      slots_.resize(size);
    } catch (...) {
      epoll_.remove(fd);
      throw;
    }
  }
  Slot& slot = slots_[at];
  slot.generation = generation;
  slot.in_epoll = true;
  install(slot.registrations[index(flag)], std::move(callback), suspended);
  return 0;
}

int Registry::unwatch(int fd, WatchFlag flag) noexcept {
  owner_.check("Registry::unwatch");
  Slot* slot = slot_with_entry(fd);
  if (slot == nullptr || !slot->registrations[index(flag)].registered) return 0;
  retire(slot->registrations[index(flag)]);

  const std::uint32_t events = kernel_mask(*slot);
  int error;
  if (events != 0) {
    error = epoll_.modify(fd, events, token(fd, slot->generation));
    if (error == 0) return 0;
    // The kernel keeps the old mask; events for `flag` now find no registration.
    if (!closed_under_us(error)) return error;
  } else {
    error = epoll_.remove(fd);
  }
  // The entry is gone: removed, or the fd was closed under us, in which case
  // the other flag's registration died with the file too.
  retire_all(*slot);
  return closed_under_us(error) ? 0 : error;
}

int Registry::unwatch_all() noexcept {
  owner_.check("Registry::unwatch_all");
  int first_error = 0;
  for (std::size_t fd = 0; fd < slots_.size(); ++fd) {
    Slot& slot = slots_[fd];
    if (!slot.in_epoll) continue;
    const int error = epoll_.remove(static_cast<int>(fd));
    retire_all(slot);
    if (error != 0 && !closed_under_us(error) && first_error == 0) first_error = error;
  }
  return first_error;
}

int Registry::suspend(int fd, WatchFlag flag) noexcept {
  owner_.check("Registry::suspend");
  Slot* slot = slot_with_entry(fd);
  if (slot == nullptr) return 0;
  Registration& registration = slot->registrations[index(flag)];
  if (!registration.registered || registration.suspended) return 0;
  const std::uint32_t events = kernel_mask(*slot, flag, true);
  const int error = epoll_.modify(fd, events, token(fd, slot->generation));
  if (error == 0) {
    registration.suspended = true;
  } else if (closed_under_us(error)) {
    retire_all(*slot);  // the file is gone: so are its registrations
  } else {
    return error;
  }
  return 0;
}

int Registry::resume(int fd, WatchFlag flag) noexcept {
  owner_.check("Registry::resume");
  Slot* slot = slot_with_entry(fd);
  if (slot == nullptr || !slot->registrations[index(flag)].registered) return ENOENT;
  Registration& registration = slot->registrations[index(flag)];
  if (!registration.suspended) return 0;
  const std::uint32_t events = kernel_mask(*slot, flag, false);
  // The entry was kept while suspended: a MOD that fails now means the number
  // no longer names the file that was watched.
  const int error = epoll_.modify(fd, events, token(fd, slot->generation));
  if (error == 0) {
    registration.suspended = false;
    registration.since_turn = turn_;  // events fetched before now are not for it
    return 0;
  }
  if (!closed_under_us(error)) return error;
  // Closed (EBADF, EPERM) or closed and reused (ENOENT): either way the
  // watched file is gone, which the contract reports as ENOENT.
  retire_all(*slot);
  return ENOENT;
}

std::uint32_t Registry::kernel_mask(const Slot& slot) const noexcept {
  for (const WatchFlag flag : {WatchFlag::Read, WatchFlag::Write}) {
    const Registration& registration = slot.registrations[index(flag)];
    if (registration.registered) return kernel_mask(slot, flag, registration.suspended);
  }
  return 0;
}

std::uint32_t Registry::kernel_mask(const Slot& slot, WatchFlag flag,
                                    bool suspended) const noexcept {
  // `flag` counts as registered with `suspended`; the other flag as it is.
  const Registration& peer = slot.registrations[index(other(flag))];
  std::uint32_t mask = suspended ? 0 : interest(flag);
  if (peer.registered && !peer.suspended) mask |= interest(other(flag));
  if (delivery_ == Delivery::oneshot) return mask | EPOLLONESHOT;
  // No readiness wanted: edge-triggered, so that a hang-up fires once.
  return mask != 0 ? mask : EPOLLET;
}

void Registry::install(Registration& registration, IWatchCallbackPtr callback,
                       bool suspended) noexcept {
  retire(registration);
  registration.callback = std::move(callback);
  registration.since_turn = turn_;
  registration.registered = true;
  registration.suspended = suspended;
}

void Registry::retire(Registration& registration) noexcept {
  if (registration.callback.get() == running_ && running_ != nullptr && !running_retired_) {
    running_retired_ = std::move(registration.callback);  // the running callback removed itself
  }
  registration.callback.reset();
  registration.registered = false;
  registration.suspended = false;
}

void Registry::retire_all(Slot& slot) noexcept {
  retire(slot.registrations[index(WatchFlag::Read)]);
  retire(slot.registrations[index(WatchFlag::Write)]);
  slot.in_epoll = false;
}

Registry::Registration* Registry::target(int fd, std::uint32_t generation,
                                         WatchFlag flag) noexcept {
  // Look the slot up afresh for every event: the previous callback may have
  // unwatched this fd, closed and reused it, or grown the table.
  Slot* slot = slot_with_entry(fd);
  if (slot == nullptr || slot->generation != generation) return nullptr;
  Registration& registration = slot->registrations[index(flag)];
  if (!registration.registered || registration.suspended || registration.since_turn == turn_) {
    return nullptr;
  }
  // One-shot: the kernel disarmed the entry as it reported it.
  if (delivery_ == Delivery::oneshot) registration.suspended = true;
  return &registration;
}

template <typename Deliver>
std::uint32_t Registry::for_each_ready(const epoll_event* events, int count,
                                       Deliver&& deliver) noexcept {
  ++turn_;
  std::uint32_t signals = 0;
  // The slots of a large batch are cache misses (the kernel's work in
  // epoll_wait evicts them): ask for a few events' slots ahead, so that the
  // misses overlap instead of stalling each event in turn.
  constexpr int kPrefetchDistance = 4;
  const auto prefetch = [this](const epoll_event& event) {
    const auto fd = static_cast<std::uint32_t>(event.data.u64);
    if (fd < slots_.size()) __builtin_prefetch(&slots_[fd]);
  };
  for (int i = 0; i < count && i < kPrefetchDistance; ++i) prefetch(events[i]);
  for (int i = 0; i < count; ++i) {
    if (i + kPrefetchDistance < count) prefetch(events[i + kPrefetchDistance]);
    const std::uint64_t data = events[i].data.u64;
    if (reserved(data)) {
      signals |= signal_bit(data);
      continue;
    }
    const int fd = static_cast<int>(static_cast<std::uint32_t>(data));
    const auto generation = static_cast<std::uint32_t>(data >> 32);
    const std::uint32_t ready = events[i].events;
    if (ready & (EPOLLIN | kErrorEvents)) deliver(fd, generation, WatchFlag::Read);
    if (ready & (EPOLLOUT | kErrorEvents)) deliver(fd, generation, WatchFlag::Write);
    if (delivery_ == Delivery::oneshot) rearm_after_event(fd, generation);
  }
  return signals;
}

void Registry::rearm_after_event(int fd, std::uint32_t generation) noexcept {
  // The kernel disarmed the whole entry; a registration of it that was not
  // delivered (the other flag was not ready) still wants events.
  Slot* slot = slot_with_entry(fd);
  if (slot == nullptr || slot->generation != generation) return;
  const std::uint32_t events = kernel_mask(*slot);
  if ((events & kReadiness) == 0) return;  // nothing armed is wanted: stay disarmed
  if (closed_under_us(epoll_.modify(fd, events, token(fd, generation)))) retire_all(*slot);
}

std::uint32_t Registry::dispatch(const epoll_event* events, int count) noexcept {
  owner_.check("Registry::dispatch");
  return for_each_ready(events, count, [this](int fd, std::uint32_t generation, WatchFlag flag) {
    if (Registration* registration = target(fd, generation, flag)) call(*registration, fd);
  });
}

void Registry::call(Registration& registration, int fd) noexcept {
  if (!registration.callback) return;  // recorded-only registration
  // A raw pointer is enough: if the callback retires itself, retire() keeps
  // it alive in running_retired_ until it returns.
  running_ = registration.callback.get();
  try {
    running_->run(fd);
  } catch (...) {
    report_error(on_error_, std::current_exception(), fd);
  }
  running_ = nullptr;
  if (running_retired_) running_retired_.reset();
}

int Registry::collect(const epoll_event* events, int count, std::int32_t* out,
                      std::uint32_t& signals) noexcept {
  owner_.check("Registry::collect");
  int recorded = 0;
  signals = for_each_ready(events, count, [&](int fd, std::uint32_t generation, WatchFlag flag) {
    if (target(fd, generation, flag) != nullptr) {
      out[recorded++] = static_cast<std::int32_t>(fd) << 1 | static_cast<std::int32_t>(index(flag));
    }
  });
  return recorded;
}

}  // namespace eventwatcher::detail
