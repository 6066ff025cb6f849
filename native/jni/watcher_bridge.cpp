#include "watcher_bridge.hpp"

#include <cerrno>
#include <new>
#include <stdexcept>
#include <system_error>

namespace eventwatcher::jni {

class WatcherBridge::Recorder final : public IWatchCallback {
 public:
  Recorder(WatcherBridge& bridge, WatchFlag flag)
      : bridge_(bridge), flag_bit_(flag == WatchFlag::Write ? 1 : 0) {}
  void run(int fd) override { bridge_.batch_[bridge_.recorded_++] = fd << 1 | flag_bit_; }

 private:
  WatcherBridge& bridge_;
  const std::int32_t flag_bit_;
};

namespace {

// Runs a core call, turning its exceptions into -errno for the Java side.
template <typename F>
int errno_of(F&& call) noexcept {
  try {
    call();
    return 0;
  } catch (const std::system_error& error) {
    return -error.code().value();
  } catch (const std::invalid_argument&) {
    return -EINVAL;
  } catch (const std::bad_alloc&) {
    return -ENOMEM;
  } catch (...) {
    return -EIO;
  }
}

}  // namespace

WatcherBridge::WatcherBridge(int max_events, std::int32_t* batch)
    : batch_(batch),
      read_recorder_(std::make_shared<Recorder>(*this, WatchFlag::Read)),
      write_recorder_(std::make_shared<Recorder>(*this, WatchFlag::Write)) {
  Options options;
  options.max_events = max_events;
  options.start_thread = false;
  watcher_ = std::make_unique<EventWatcher>(std::move(options));
}

void WatcherBridge::begin() {
  driver_ = std::make_unique<EventWatcher::Driver>(*watcher_);
}

int WatcherBridge::turn() {
  recorded_ = 0;
  return driver_->turn() ? recorded_ : -1;
}

int WatcherBridge::watch(int fd, WatchFlag flag) noexcept {
  return errno_of([&] {
    watcher_->watch(fd, flag, flag == WatchFlag::Read ? read_recorder_ : write_recorder_);
  });
}

int WatcherBridge::unwatch(int fd, WatchFlag flag) noexcept {
  return errno_of([&] { watcher_->unwatch(fd, flag); });
}

int WatcherBridge::suspend(int fd, WatchFlag flag) noexcept {
  return errno_of([&] { watcher_->suspend(fd, flag); });
}

int WatcherBridge::resume(int fd, WatchFlag flag) noexcept {
  return errno_of([&] { watcher_->resume(fd, flag); });
}

int WatcherBridge::unwatch_all() noexcept {
  return errno_of([&] { watcher_->unwatchAll(); });
}

void WatcherBridge::wake() {
  // An empty task: the blocked loop wakes (or, from the loop thread, its next
  // turn polls instead of blocking), turn() returns, and Java drains its own
  // task queue.
  watcher_->runInEventWatcherLoop([] {});
}

}  // namespace eventwatcher::jni
