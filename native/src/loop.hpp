// Loop: the event loop behind EventWatcher (its pimpl).
#pragma once

#include "epoll.hpp"
#include "function_ref.hpp"
#include "registry.hpp"
#include "task_queue.hpp"
#include "wakeup.hpp"

#include <eventwatcher/options.hpp>

#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

namespace eventwatcher::detail {

/// Runs turns of: epoll_wait, dispatch the batch, run queued tasks.
///
/// Ownership of the registry. Exactly one thread at a time may touch the
/// registry: the loop thread while run() is active, otherwise whichever
/// caller holds `owner_mutex_`. run() (between enter() and leave()) holds
/// `owner_mutex_` for its whole duration, so a caller on another thread that fails to take it hands
/// its operation to the loop as a task (try_push, accepted only while the loop will still drain)
/// and waits for it. Dispatch itself never locks.
///
/// The public methods document the contract; see event_watcher.hpp.
class Loop {
 public:
  explicit Loop(Options options);
  ~Loop();
  Loop(const Loop&) = delete;
  Loop& operator=(const Loop&) = delete;

  void watch(int fd, WatchFlag flag, IWatchCallbackPtr callback);
  void unwatch(int fd, WatchFlag flag);
  void unwatch_all();
  void suspend(int fd, WatchFlag flag);
  void resume(int fd, WatchFlag flag);
  void post(WatchCallback task);
  bool in_loop() const noexcept;
  void run();
  void stop() noexcept;
  /// stop(), unless the watcher runs its own thread (then a no-op).
  void stop_caller_owned() noexcept;

  // The three parts of run(), also driven one turn at a time by
  // EventWatcher::Driver. enter() makes the calling thread the loop thread
  // (throws std::logic_error if a loop runs); step() runs one turn unless a
  // stop was requested (returns false then); leave() runs the queued tasks
  // and gives the loop up.
  void enter();
  bool step();
  void leave() noexcept;
  /// Throws std::logic_error unless start_thread is false.
  void check_caller_owned() const;

 private:
  void run_loop();
  void turn();
  bool run_tasks() noexcept;  // false if the queue was empty
  // Runs `operation` as the registry's owner and returns (or rethrows) when
  // it is done. Takes a reference, not a std::function: callers pass lambdas
  // capturing several references, which std::function would heap-allocate.
  void execute(FunctionRef<void()> operation);

  Options options_;
  Epoll epoll_;
  Wakeup wakeup_;
  Registry registry_;
  TaskQueue tasks_;
  std::vector<epoll_event> events_;
  std::vector<WatchCallback> running_tasks_;  // loop thread; reused, so no allocation per turn

  // Held by the loop thread from enter() to leave(). Locked and unlocked by
  // hand, not by a unique_lock member: leave()'s unlock must be its very last
  // touch of *this (a waiting destructor frees the loop right after).
  std::mutex owner_mutex_;
  std::atomic<bool> running_{false};  // a run() is active (guards against two)
  std::atomic<bool> stop_requested_{false};
  std::atomic<std::thread::id> loop_thread_{};
  std::thread thread_;  // last member: started once everything above exists
};

}  // namespace eventwatcher::detail
