// TaskQueue: the multi-producer queue of tasks for the loop thread.
#pragma once

#include <eventwatcher/watch_callback.hpp>

#include <mutex>
#include <vector>

namespace eventwatcher::detail {

/// A mutex-protected FIFO. Producers push from any thread; the loop thread
/// takes the whole queue at once with take_all(), so the lock is held for a
/// push_back or a swap, never while a task runs.
///
/// The `open` flag says whether a loop is running that will drain the queue.
/// It is changed under the same lock as pushes, which gives try_push() its
/// guarantee: a task accepted by try_push() is always run, because the loop
/// closes the queue before its final drain and drains until empty.
class TaskQueue {
 public:
  /// Appends a task. Any thread. Throws std::bad_alloc.
  void push(WatchCallback task);

  /// Appends a task only while the queue is open; returns whether it did.
  /// Any thread. Throws std::bad_alloc.
  bool try_push(WatchCallback task);

  /// Opens or closes the queue (see class comment). Loop thread.
  void set_open(bool open);

  /// Moves every queued task into `out` (which must be empty), keeping the
  /// capacity of both vectors so steady state allocates nothing. Loop thread.
  void take_all(std::vector<WatchCallback>& out);

  /// Destroys every queued task without running it.
  void clear();

 private:
  std::mutex mutex_;
  std::vector<WatchCallback> tasks_;
  bool open_ = false;
};

}  // namespace eventwatcher::detail
