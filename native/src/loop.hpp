// Loop: the event loop behind EventWatcher (its pimpl).
#pragma once

#include "function_ref.hpp"
#include "poller.hpp"
#include "task_queue.hpp"
#include "timers.hpp"

#include <eventwatcher/options.hpp>
#include <eventwatcher/timer_id.hpp>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

namespace eventwatcher::detail {

/// Runs turns of: epoll_wait, dispatch the batch, run the due timers, run
/// queued tasks.
///
/// Ownership of the registry. Exactly one thread at a time may touch the
/// registry (checked by its ThreadAffinity in debug builds). `state_`, under
/// `mutex_`, says which:
///   idle      no loop runs; a caller may take the registry (-> borrowed)
///   borrowed  a caller on another thread runs one operation directly
///   running   the loop thread owns it; other callers hand their operation
///             to the loop as a task pushed under `mutex_` and wait for it
///   finishing the loop thread runs its last tasks; callers wait for idle
/// A caller that finds borrowed or finishing waits on `state_changed_`, which
/// every transition back to idle or running signals: nobody polls or sleeps.
/// A task pushed while running is always run, because leave() moves to
/// finishing under the same mutex before its final drain.
///
/// Timers are not part of that hand-off: they have a mutex of their own (see
/// Timers), so scheduling and cancelling never wait for the loop.
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
  /// A timer `delay_ns` from now, periodic if `period_ns` > 0; wakes the loop
  /// if it is now the earliest and the caller is another thread.
  TimerId schedule(std::int64_t delay_ns, std::int64_t period_ns, WatchCallback task);
  bool cancel(TimerId timer) noexcept;
  bool in_loop() const noexcept;
  void run();
  void stop() noexcept;
  /// stop(), unless the watcher runs its own thread (then a no-op).
  void stop_caller_owned() noexcept;

  // The three parts of run(), also driven one turn at a time by
  // EventWatcher::Driver. enter() makes the calling thread the loop thread
  // (throws std::logic_error if a loop runs); step() runs one turn unless a
  // stop was requested (returns false then; throws std::system_error if
  // epoll_wait fails); leave() runs the queued tasks and gives the loop up.
  void enter();
  bool step();
  void leave() noexcept;
  /// Throws std::logic_error unless start_thread is false.
  void check_caller_owned() const;

 private:
  enum class State { idle, borrowed, running, finishing };

  void serve() noexcept;  // the started thread: turns until stop(), surviving failures
  int turn() noexcept;    // one turn; 0 or the errno of a failed epoll_wait
  void back_off(int error) noexcept;
  bool run_tasks() noexcept;  // false if the queue was empty
  // Runs `operation` as the registry's owner and returns its result (0 or
  // errno; rethrows what it threw) once it is done. Takes a reference, not a
  // std::function: callers pass lambdas capturing several references, which
  // std::function would heap-allocate.
  int execute(FunctionRef<int()> operation);
  int borrow(std::unique_lock<std::mutex>& lock, FunctionRef<int()> operation);
  void set_state(State state) noexcept;  // under mutex_; wakes waiting callers

  Options options_;
  Poller poller_;
  TaskQueue tasks_;
  Timers timers_;
  std::vector<WatchCallback> running_tasks_;  // loop thread; reused, so no allocation per turn
  int failed_waits_ = 0;                      // loop thread: consecutive failed epoll_waits

  std::mutex mutex_;
  std::condition_variable state_changed_;
  State state_ = State::idle;  // guarded by mutex_
  std::atomic<bool> stop_requested_{false};
  std::atomic<std::thread::id> loop_thread_{};
  std::thread thread_;  // last member: started once everything above exists
};

}  // namespace eventwatcher::detail
