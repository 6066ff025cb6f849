// TaskQueue: the multi-producer queue of tasks for the loop thread.
#pragma once

#include <eventwatcher/watch_callback.hpp>

#include <mutex>
#include <vector>

namespace eventwatcher::detail {

/// A mutex-protected FIFO. Producers push from any thread; the loop thread
/// takes the whole queue at once with take_all(), so the lock is held for a
/// push_back or a swap, never while a task runs.
class TaskQueue {
 public:
  /// Appends a task. Any thread. Throws std::bad_alloc.
  void push(WatchCallback task);

  /// Moves every queued task into `out` (which must be empty), keeping the
  /// capacity of both vectors so steady state allocates nothing. The loop's
  /// owner only.
  void take_all(std::vector<WatchCallback>& out);

 private:
  std::mutex mutex_;
  std::vector<WatchCallback> tasks_;
};

}  // namespace eventwatcher::detail
