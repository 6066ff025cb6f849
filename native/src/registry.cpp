#include "registry.hpp"

#include "epoll.hpp"
#include "error_report.hpp"
#include "syscall_error.hpp"

#include <cerrno>
#include <initializer_list>
#include <utility>

namespace eventwatcher::detail {
namespace {

constexpr std::uint32_t kErrorEvents = EPOLLHUP | EPOLLERR;

constexpr std::size_t index(WatchFlag flag) {
  return static_cast<std::size_t>(flag);
}

// The epoll interest bit a flag asks for.
constexpr std::uint32_t interest(WatchFlag flag) {
  return flag == WatchFlag::Read ? EPOLLIN : EPOLLOUT;
}

// The mask of an entry whose registrations are all suspended: no readiness,
// and edge-triggered so that EPOLLHUP/EPOLLERR (always reported) fire once.
constexpr std::uint32_t kPlaceholder = EPOLLET;

constexpr std::uint64_t token(int fd, std::uint32_t generation) {
  return std::uint64_t{generation} << 32 | static_cast<std::uint32_t>(fd);
}

// epoll_ctl errors meaning "the fd was closed under us": the kernel dropped
// the entry (ENOENT) or the number is not open at all (EBADF).
constexpr bool closed_under_us(int error) {
  return error == ENOENT || error == EBADF;
}

}  // namespace

void Registry::watch(int fd, WatchFlag flag, IWatchCallbackPtr callback) {
  if (static_cast<std::size_t>(fd) < slots_.size() && slots_[fd].events != 0) {
    Slot& slot = slots_[fd];
    const std::uint32_t events = kernel_mask(slot, &flag);
    // MOD even when the mask is unchanged: it checks that the entry still
    // belongs to the open file behind this fd number.
    const int error = epoll_.modify(fd, events, token(fd, slot.generation));
    if (error == 0) {
      slot.events = events;
      install(slot.registrations[index(flag)], std::move(callback));
      return;
    }
    if (error != ENOENT) throw syscall_error(error, "epoll_ctl(EPOLL_CTL_MOD)", fd);
    // ENOENT: the fd was closed without unwatch and the number now names a
    // new file. The old registrations died with the old file.
    retire_all(slot);
  }
  add_entry(fd, flag, std::move(callback));
}

void Registry::add_entry(int fd, WatchFlag flag, IWatchCallbackPtr callback) {
  const bool known = static_cast<std::size_t>(fd) < slots_.size();
  const std::uint32_t generation = (known ? slots_[fd].generation : 0) + 1;
  const int error = epoll_.add(fd, interest(flag), token(fd, generation));
  if (error != 0) throw syscall_error(error, "epoll_ctl(EPOLL_CTL_ADD)", fd);
  if (!known) {
    // Grow only for fds the kernel accepted, so the table is bounded by the
    // process's fd limit. Doubling keeps growth amortised O(1).
    try {
      std::size_t size = slots_.empty() ? 64 : slots_.size();
      while (size <= static_cast<std::size_t>(fd)) size *= 2;
      slots_.resize(size);
    } catch (...) {
      epoll_.remove(fd);
      throw;
    }
  }
  Slot& slot = slots_[fd];
  slot.generation = generation;
  slot.events = interest(flag);
  install(slot.registrations[index(flag)], std::move(callback));
}

void Registry::unwatch(int fd, WatchFlag flag) {
  if (static_cast<std::size_t>(fd) >= slots_.size()) return;
  Slot& slot = slots_[fd];
  Registration& registration = slot.registrations[index(flag)];
  if (!registration.callback) return;
  retire(registration);

  const std::uint32_t events = kernel_mask(slot);
  int error;
  if (events != 0) {
    error = epoll_.modify(fd, events, token(fd, slot.generation));
    if (error == 0) {
      slot.events = events;
      return;
    }
    // The kernel keeps the old mask; events for `flag` now find no callback.
    if (!closed_under_us(error)) throw syscall_error(error, "epoll_ctl(EPOLL_CTL_MOD)", fd);
  } else {
    error = epoll_.remove(fd);
  }
  // The entry is gone: removed, or the fd was closed under us, in which case
  // the other flag's registration died with the file too.
  retire_all(slot);
  if (error != 0 && !closed_under_us(error)) {
    throw syscall_error(error, "epoll_ctl(EPOLL_CTL_DEL)", fd);
  }
}

std::uint32_t Registry::kernel_mask(const Slot& slot, const WatchFlag* active) {
  std::uint32_t mask = active != nullptr ? interest(*active) : 0;
  bool any = active != nullptr;
  for (const WatchFlag flag : {WatchFlag::Read, WatchFlag::Write}) {
    if (active != nullptr && flag == *active) continue;
    const Registration& registration = slot.registrations[index(flag)];
    if (!registration.callback) continue;
    any = true;
    if (!registration.suspended) mask |= interest(flag);
  }
  return mask != 0 ? mask : (any ? kPlaceholder : 0);
}

void Registry::suspend(int fd, WatchFlag flag) {
  if (static_cast<std::size_t>(fd) >= slots_.size()) return;
  Slot& slot = slots_[fd];
  Registration& registration = slot.registrations[index(flag)];
  if (!registration.callback || registration.suspended) return;
  registration.suspended = true;
  const std::uint32_t events = kernel_mask(slot);
  const int error = epoll_.modify(fd, events, token(fd, slot.generation));
  if (error == 0) {
    slot.events = events;
  } else if (closed_under_us(error)) {
    retire_all(slot);  // the file is gone: so are its registrations
  } else {
    registration.suspended = false;
    throw syscall_error(error, "epoll_ctl(EPOLL_CTL_MOD)", fd);
  }
}

void Registry::resume(int fd, WatchFlag flag) {
  Registration* registration = static_cast<std::size_t>(fd) < slots_.size()
                                   ? &slots_[fd].registrations[index(flag)]
                                   : nullptr;
  if (registration == nullptr || !registration->callback) {
    throw syscall_error(ENOENT, "resume: not registered (closed and reused while suspended?)", fd);
  }
  if (!registration->suspended) return;
  Slot& slot = slots_[fd];
  registration->suspended = false;
  const std::uint32_t events = kernel_mask(slot);
  // The entry was kept while suspended: a MOD that fails now means the number
  // no longer names the file that was watched.
  const int error = epoll_.modify(fd, events, token(fd, slot.generation));
  if (error == 0) {
    slot.events = events;
    registration->since_turn = turn_;  // events fetched before now are not for it
    return;
  }
  if (closed_under_us(error)) {
    // Closed (EBADF) or closed and reused (ENOENT): either way the watched
    // file is gone, which the contract reports as ENOENT.
    retire_all(slot);
    throw syscall_error(ENOENT, "resume: the fd was closed while suspended", fd);
  }
  registration->suspended = true;
  throw syscall_error(error, "resume: epoll_ctl(EPOLL_CTL_MOD)", fd);
}

void Registry::unwatch_all() {
  int first_error = 0;
  int first_fd = -1;
  for (std::size_t fd = 0; fd < slots_.size(); ++fd) {
    Slot& slot = slots_[fd];
    if (slot.events == 0) continue;
    const int error = epoll_.remove(static_cast<int>(fd));
    retire_all(slot);
    if (error != 0 && !closed_under_us(error) && first_error == 0) {
      first_error = error;
      first_fd = static_cast<int>(fd);
    }
  }
  if (first_error != 0) throw syscall_error(first_error, "epoll_ctl(EPOLL_CTL_DEL)", first_fd);
}

void Registry::install(Registration& registration, IWatchCallbackPtr callback) {
  retire(registration);
  registration.callback = std::move(callback);
  registration.since_turn = turn_;
  registration.suspended = false;
}

void Registry::retire(Registration& registration) {
  if (dispatching_ && registration.callback) {
    retired_.push_back(std::move(registration.callback));
  }
  registration.callback.reset();
}

void Registry::retire_all(Slot& slot) {
  retire(slot.registrations[index(WatchFlag::Read)]);
  retire(slot.registrations[index(WatchFlag::Write)]);
  slot.events = 0;
}

bool Registry::dispatch(const epoll_event* events, int count) noexcept {
  ++turn_;
  dispatching_ = true;
  bool woken = false;
  for (int i = 0; i < count; ++i) {
    const std::uint64_t data = events[i].data.u64;
    if (data == kWakeupToken) {
      woken = true;
      continue;
    }
    const int fd = static_cast<int>(static_cast<std::uint32_t>(data));
    const auto generation = static_cast<std::uint32_t>(data >> 32);
    const std::uint32_t ready = events[i].events;
    if (ready & (EPOLLIN | kErrorEvents)) deliver(fd, generation, WatchFlag::Read);
    if (ready & (EPOLLOUT | kErrorEvents)) deliver(fd, generation, WatchFlag::Write);
  }
  dispatching_ = false;
  retired_.clear();
  return woken;
}

void Registry::deliver(int fd, std::uint32_t generation, WatchFlag flag) noexcept {
  // Look the slot up afresh for every call: the previous callback may have
  // unwatched this fd, closed and reused it, or grown the table.
  if (static_cast<std::size_t>(fd) >= slots_.size()) return;
  Slot& slot = slots_[fd];
  if (slot.generation != generation) return;
  const Registration& registration = slot.registrations[index(flag)];
  if (!registration.callback || registration.suspended || registration.since_turn >= turn_) return;
  // A raw pointer is enough: if the callback unwatches itself, retire() keeps
  // it alive in retired_ until the batch ends.
  IWatchCallback* callback = registration.callback.get();
  try {
    callback->run(fd);
  } catch (...) {
    report_error(on_error_, std::current_exception(), fd);
  }
}

}  // namespace eventwatcher::detail
