// WatcherBridge: one Java EventWatcher's native half.
#pragma once

#include <eventwatcher/event_watcher.hpp>

#include <jni.h>

#include <cstdint>
#include <memory>

namespace eventwatcher::jni {

/// Owns the core EventWatcher (its loop runs on the Java loop thread through
/// run()) and the event batch shared with Java.
///
/// Batch. Every core registration uses one of two recorder callbacks, which
/// append `fd << 1 | flag` to `batch_` (a direct ByteBuffer's memory owned by
/// Java). After the core has dispatched a batch, the after_dispatch hook makes
/// one upcall, Reactor.onTurn(count), and Java calls its own callbacks from
/// the batch: one JNI crossing per epoll_wait, not one per event. Each epoll
/// event records at most two entries, so 2 * max_events entries always fit.
///
/// Threads. run(), watch(), unwatch(), unwatch_all() and destroy are called
/// on the Java loop thread only; wake() and stop() from any thread while the
/// Java side holds its handle guard.
class WatcherBridge {
 public:
  /// `batch` must hold 2 * max_events int32 entries and outlive the bridge.
  WatcherBridge(int max_events, std::int32_t* batch);

  /// Runs the core loop on the calling (Java loop) thread until stop();
  /// `reactor` receives onTurn upcalls. Returns early, with the Java exception
  /// pending, if an upcall throws.
  void run(JNIEnv* env, jobject reactor);
  /// Registers the recorder for (fd, flag). Returns 0 or -errno.
  int watch(int fd, WatchFlag flag) noexcept;
  /// Removes the registration for (fd, flag). Returns 0 or -errno.
  int unwatch(int fd, WatchFlag flag) noexcept;
  /// Removes every registration. Returns 0 or -errno.
  int unwatch_all() noexcept;
  /// Makes the loop run a turn soon (the Java side has tasks). Any thread.
  void wake();
  /// Ends run() after the current turn. Any thread.
  void stop() noexcept { watcher_->stop(); }

 private:
  class Recorder;
  void after_dispatch() noexcept;

  std::int32_t* batch_;
  int recorded_ = 0;
  JNIEnv* env_ = nullptr;      // set for the duration of run()
  jobject reactor_ = nullptr;  // local ref, valid for the duration of run()
  std::shared_ptr<Recorder> read_recorder_;
  std::shared_ptr<Recorder> write_recorder_;
  std::unique_ptr<EventWatcher> watcher_;  // last: destroyed first
};

}  // namespace eventwatcher::jni
