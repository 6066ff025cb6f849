#include "watcher_bridge.hpp"

#include <cerrno>
#include <new>
#include <system_error>

namespace eventwatcher::jni {
namespace {

int negated(int error) {
  return error == 0 ? 0 : -error;
}

}  // namespace

WatcherBridge::WatcherBridge(int max_events, std::int32_t* batch, detail::Delivery delivery)
    : poller_({}, max_events, delivery, no_handler_), batch_(batch) {}

int WatcherBridge::turn(std::int64_t timeout_ns) noexcept {
  const int fetched = poller_.wait(timeout_ns);
  return fetched < 0 ? fetched : poller_.collect(batch_);
}

int WatcherBridge::watch(int fd, WatchFlag flag, bool suspended) noexcept {
  try {
    return negated(poller_.registry().watch(fd, flag, nullptr, suspended));
  } catch (const std::bad_alloc&) {
    return -ENOMEM;  // the table could not grow; nothing changed
  }
}

int WatcherBridge::unwatch(int fd, WatchFlag flag) noexcept {
  return negated(poller_.registry().unwatch(fd, flag));
}

int WatcherBridge::resume(int fd, WatchFlag flag) noexcept {
  return negated(poller_.registry().resume(fd, flag));
}

int WatcherBridge::unwatch_all() noexcept {
  return negated(poller_.registry().unwatch_all());
}

int WatcherBridge::arm(int fd, WatchFlag flag, std::uint64_t token) noexcept {
  try {
    return negated(poller_.arms().arm(fd, flag, token));
  } catch (const std::system_error& error) {
    return -error.code().value();  // the first arm could not make the arms' epolls
  } catch (const std::bad_alloc&) {
    return -ENOMEM;
  }
}

int WatcherBridge::disarm(int fd, WatchFlag flag) noexcept {
  try {
    return negated(poller_.arms().disarm(fd, flag));
  } catch (const std::system_error& error) {
    return -error.code().value();
  } catch (const std::bad_alloc&) {
    return -ENOMEM;
  }
}

int WatcherBridge::hand_off_arms() noexcept {
  try {
    return negated(poller_.make_arms_harvested_elsewhere());
  } catch (const std::bad_alloc&) {
    return -ENOMEM;
  }
}

int WatcherBridge::harvest_arms(WatchFlag flag, std::int32_t* out, int max) noexcept {
  constexpr int kMost = 64;
  epoll_event events[kMost];
  const int count = poller_.arms().harvest(flag, events, max < kMost ? max : kMost);
  for (int i = 0; i < count; ++i) {
    out[2 * i] = static_cast<std::int32_t>(static_cast<std::uint32_t>(events[i].data.u64));
    out[2 * i + 1] =
        static_cast<std::int32_t>(static_cast<std::uint32_t>(events[i].data.u64 >> 32));
  }
  return count;
}

int WatcherBridge::rearm_arms(WatchFlag flag) noexcept {
  return negated(poller_.arms().rearm(flag));
}

}  // namespace eventwatcher::jni
