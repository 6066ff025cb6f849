#include <eventwatcher/event_watcher.hpp>

#include "loop.hpp"

#include <stdexcept>
#include <string>
#include <utility>

namespace eventwatcher {
namespace {

void require_fd(int fd, const char* method) {
  if (fd < 0) {
    throw std::invalid_argument(std::string("EventWatcher::") + method + ": fd must be >= 0, got " +
                                std::to_string(fd));
  }
}

// Adapts a std::function to IWatchCallback (one allocation per watch call).
class FunctionCallback final : public IWatchCallback {
 public:
  explicit FunctionCallback(std::function<void(int)> function) : function_(std::move(function)) {}
  void run(int fd) override { function_(fd); }

 private:
  std::function<void(int)> function_;
};

}  // namespace

EventWatcher::EventWatcher() : EventWatcher(Options{}) {}

EventWatcher::EventWatcher(Options options)
    : loop_(std::make_unique<detail::Loop>(std::move(options))) {}

EventWatcher::~EventWatcher() = default;

void EventWatcher::watch(int fd, WatchFlag flag, IWatchCallbackPtr callback) {
  require_fd(fd, "watch");
  if (!callback) throw std::invalid_argument("EventWatcher::watch: callback is null");
  loop_->watch(fd, flag, std::move(callback));
}

void EventWatcher::watch(int fd, WatchFlag flag, std::function<void(int fd)> callback) {
  if (!callback) throw std::invalid_argument("EventWatcher::watch: callback is empty");
  watch(fd, flag, std::make_shared<FunctionCallback>(std::move(callback)));
}

void EventWatcher::unwatch(int fd, WatchFlag flag) {
  require_fd(fd, "unwatch");
  loop_->unwatch(fd, flag);
}

void EventWatcher::suspend(int fd, WatchFlag flag) {
  require_fd(fd, "suspend");
  loop_->suspend(fd, flag);
}

void EventWatcher::resume(int fd, WatchFlag flag) {
  require_fd(fd, "resume");
  loop_->resume(fd, flag);
}

void EventWatcher::unwatchAll() {
  loop_->unwatch_all();
}

void EventWatcher::runInEventWatcherLoop(WatchCallback task) {
  if (!task) throw std::invalid_argument("EventWatcher::runInEventWatcherLoop: task is empty");
  loop_->post(std::move(task));
}

TimerId EventWatcher::runAfter(std::chrono::nanoseconds delay, WatchCallback task) {
  if (!task) throw std::invalid_argument("EventWatcher::runAfter: task is empty");
  return loop_->schedule(delay.count(), 0, std::move(task));
}

TimerId EventWatcher::runEvery(std::chrono::nanoseconds period, WatchCallback task) {
  if (period.count() <= 0) {
    throw std::invalid_argument("EventWatcher::runEvery: period must be > 0, got " +
                                std::to_string(period.count()) + " ns");
  }
  if (!task) throw std::invalid_argument("EventWatcher::runEvery: task is empty");
  return loop_->schedule(period.count(), period.count(), std::move(task));
}

bool EventWatcher::cancel(TimerId timer) noexcept {
  return loop_->cancel(timer);
}

bool EventWatcher::inEventWatcherLoop() const noexcept {
  return loop_->in_loop();
}

void EventWatcher::run() {
  loop_->run();
}

void EventWatcher::stop() noexcept {
  loop_->stop_caller_owned();
}

EventWatcher::Driver::Driver(EventWatcher& watcher) : loop_(*watcher.loop_) {
  loop_.check_caller_owned();
  loop_.enter();
}

EventWatcher::Driver::~Driver() {
  loop_.leave();
}

bool EventWatcher::Driver::turn() {
  return loop_.step();
}

}  // namespace eventwatcher
