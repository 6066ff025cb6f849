// Callback types: what a registration calls, and what a task is.
#pragma once

#include <functional>
#include <memory>

namespace eventwatcher {

/// A readiness callback. `run(fd)` is called on the loop thread each loop turn
/// in which `fd` is ready for the registered flag (level-triggered). It may
/// call any EventWatcher method, including unwatching itself. An exception
/// escaping `run` is passed to Options::error_handler; the registration stays.
class IWatchCallback {
 public:
  virtual ~IWatchCallback() = default;
  /// Handles readiness of `fd`. Called only on the loop thread.
  virtual void run(int fd) = 0;
};

/// Shared ownership: the watcher keeps the callback alive while registered.
using IWatchCallbackPtr = std::shared_ptr<IWatchCallback>;

/// A task for EventWatcher::runInEventWatcherLoop.
using WatchCallback = std::function<void()>;

}  // namespace eventwatcher
