// WatcherBridge: one Java EventWatcher's native half.
#pragma once

#include <eventwatcher/event_watcher.hpp>

#include <cstdint>
#include <memory>

namespace eventwatcher::jni {

/// Owns the core EventWatcher (its loop runs on the Java loop thread through
/// run()) and the event batch shared with Java.
///
/// Batch. Every core registration uses one of two recorder callbacks, which
/// append `fd << 1 | flag` to `batch_` (a direct ByteBuffer's memory owned by
/// Java). The Java loop thread drives the core one turn per downcall, turn(),
/// which returns how many entries the turn recorded; Java then calls its own
/// callbacks from the batch. One JNI crossing per epoll_wait, not one per
/// event, and a downcall rather than an upcall. Each epoll event records at
/// most two entries, so 2 * max_events entries always fit.
///
/// Threads. begin(), turn(), end(), watch(), unwatch() and unwatch_all() are
/// called on the Java loop thread only; wake() and stop() from any thread
/// while the Java side holds its handle guard.
class WatcherBridge {
 public:
  /// `batch` must hold 2 * max_events int32 entries and outlive the bridge.
  WatcherBridge(int max_events, std::int32_t* batch);

  /// Makes the calling (Java loop) thread the loop thread. Throws
  /// std::logic_error if a loop is already running.
  void begin();
  /// Runs one turn; returns the number of batch entries it recorded, or -1
  /// once stop() was requested. Throws std::system_error if epoll_wait fails.
  int turn();
  /// Runs the core tasks still queued and gives the loop up. Never throws.
  void end() noexcept { driver_.reset(); }
  /// Registers the recorder for (fd, flag). Returns 0 or -errno.
  int watch(int fd, WatchFlag flag) noexcept;
  /// Removes the registration for (fd, flag). Returns 0 or -errno.
  int unwatch(int fd, WatchFlag flag) noexcept;
  /// Suspends (fd, flag), keeping its epoll entry. Returns 0 or -errno.
  int suspend(int fd, WatchFlag flag) noexcept;
  /// Resumes (fd, flag). Returns 0 or -errno (-ENOENT if the fd was closed
  /// or reused while suspended; its registrations are gone then).
  int resume(int fd, WatchFlag flag) noexcept;
  /// Removes every registration. Returns 0 or -errno.
  int unwatch_all() noexcept;
  /// Makes the loop run a turn soon (the Java side has tasks). Any thread.
  void wake();
  /// Makes turn() return -1 after the current turn. Any thread.
  void stop() noexcept { watcher_->stop(); }

 private:
  class Recorder;

  std::int32_t* batch_;
  int recorded_ = 0;
  std::shared_ptr<Recorder> read_recorder_;
  std::shared_ptr<Recorder> write_recorder_;
  std::unique_ptr<EventWatcher> watcher_;
  std::unique_ptr<EventWatcher::Driver> driver_;  // between begin() and end(); destroyed first
};

}  // namespace eventwatcher::jni
