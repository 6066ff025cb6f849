// EventWatcher: a level-triggered reactor over epoll.
//
// Threads. Every EventWatcher has one *loop thread*: the thread currently
// inside run() (the started thread by default, or the caller's own with
// Options::start_thread = false). Callbacks and tasks run only there, one at
// a time. All public methods are thread-safe unless stated otherwise; methods
// called from another thread while the loop runs are handed to the loop and
// wait for it, so their effects are ordered with dispatch. When no thread is
// running the loop, they take effect directly on the calling thread.
//
// Turns. The loop repeats: wait in epoll, call the callbacks of the fetched
// batch, run the due timers, run the queued tasks.
//
// Readiness. Registrations are level-triggered: while an fd stays ready its
// callback is called again on every loop turn, so a callback need not drain
// the fd, but must make progress or unwatch. Hang-up and error (EPOLLHUP,
// EPOLLERR) are delivered to every registration of the fd, so read()/write()
// can observe EOF or the error. Spurious calls are possible (for example the
// peer's data was consumed by a dup of the fd): use non-blocking fds and treat
// EAGAIN as "not ready after all".
//
// Closing fds. Unwatch an fd (both flags) *before* closing it. Another thread
// may reuse the number at once, and the kernel keeps an epoll entry alive as
// long as any dup of the fd is open. If an fd is closed while watched anyway,
// exactly this happens:
//  - With no dup open, the kernel drops the entry: the callbacks are not
//    called again, except for an event already fetched in the current batch
//    (closed by an earlier callback of that batch), which is still delivered,
//    with the old number. The registrations stay in the table until
//    unwatch(), unwatchAll(), or a watch() of the number, which all succeed
//    without error whatever the number names by then (another socket,
//    /dev/null, a regular file, nothing); the first of these to reach the
//    kernel notices the file is gone and removes both flags' registrations
//    (suspend() and resume() do too; resume() then throws ENOENT).
//  - A watch() of the reused number starts clean: no event of the old file
//    ever reaches the new callback (each epoll entry carries a generation).
//  - While a dup of the old file stays open, the kernel keeps reporting the
//    old entry. Until the number is unwatched or watched again, its events
//    reach the old callbacks, called with the old number, which may by then
//    name an unrelated file: a callback that reads it takes that file's
//    data. Nothing but unwatch-before-close prevents that.
//
// Timers. runAfter() and runEvery() run a task on the loop thread at a
// deadline of CLOCK_MONOTONIC (or Options::clock), never before it. The wait
// ends at the earliest deadline, to the nanosecond (epoll_pwait2; before
// Linux 5.11, in milliseconds rounded up): with no timer pending an idle loop
// still waits with no timeout, and a periodic timer costs one wakeup per
// period. A turn's timer phase, after the batch's callbacks and before the
// queued tasks, runs the timers that are due when it starts, by deadline and
// equal deadlines in scheduling order; a timer scheduled during the phase
// (even with no delay, even by a timer's task) waits for a later turn, so
// timers cannot keep the loop from its fds. Pending timers are never
// drained: when run() returns they stay pending, to run if a thread runs the
// loop again; ~EventWatcher destroys them without running them.
#pragma once

#include <eventwatcher/export.hpp>
#include <eventwatcher/options.hpp>
#include <eventwatcher/timer_id.hpp>
#include <eventwatcher/watch_callback.hpp>
#include <eventwatcher/watch_flag.hpp>

#include <chrono>
#include <functional>
#include <memory>

namespace eventwatcher {

namespace detail {
class Loop;
}

class EVENTWATCHER_API EventWatcher {
 public:
  /// Creates the epoll instance and the wakeup eventfd and starts the loop
  /// thread. Throws std::system_error if epoll_create1, eventfd or thread
  /// creation fails.
  EventWatcher();

  /// As EventWatcher(), with settings. With `options.start_thread == false` no
  /// thread is started: call run() on a thread you own. Throws
  /// std::invalid_argument if `options.max_events < 1`, std::system_error as
  /// above.
  explicit EventWatcher(Options options);

  /// Stops the loop and waits for it: for the started thread, joins it; with
  /// start_thread == false, waits until run() has returned on its thread.
  /// Every task submitted before the destructor was called has run on the loop
  /// thread by then (run() runs queued tasks before it returns), and no
  /// callback or task is called after the destructor returns. If no thread
  /// ever runs the loop again (start_thread == false and run() not active),
  /// tasks still queued are destroyed without running. Pending timers never
  /// run: their tasks are destroyed on the calling thread, after the loop has
  /// stopped (their captures must not use the watcher). Closes the epoll fd
  /// and the eventfd; watched fds are not closed. Must not be called from the
  /// loop thread (that would be a self-join): doing so prints a message and
  /// aborts.
  ~EventWatcher();

  EventWatcher(const EventWatcher&) = delete;
  EventWatcher& operator=(const EventWatcher&) = delete;

  /// Registers `callback` for readiness `flag` of `fd`, replacing any callback
  /// already registered for (fd, flag): once watch returns, the old callback
  /// is not running and is never called again. The other flag's registration
  /// is unaffected. A callback never sees events that were fetched before it
  /// was registered. Any thread; from another thread than the loop's, waits
  /// until the loop has applied it (it is then watched by the very next
  /// epoll_wait).
  /// Throws std::invalid_argument if fd < 0 or callback is null;
  /// std::system_error (errno, message naming the fd) if epoll_ctl refuses
  /// the fd: EBADF for a closed fd, EPERM for a regular file or directory;
  /// std::bad_alloc.
  void watch(int fd, WatchFlag flag, IWatchCallbackPtr callback);

  /// As watch(int, WatchFlag, IWatchCallbackPtr), for any callable taking
  /// the fd. Throws std::invalid_argument if `callback` is empty.
  void watch(int fd, WatchFlag flag, std::function<void(int fd)> callback);

  /// Removes the registration for (fd, flag), if any (otherwise a no-op).
  /// Synchronous: when it returns, that callback is not running and will never
  /// be called again, including for events already fetched in the current
  /// batch. Called from inside a callback, it cannot wait for that callback
  /// itself to return, but no further call happens. Removes the fd from epoll
  /// when its last registration goes. Unwatching an fd that was already closed
  /// still removes the registration. Any thread.
  /// Throws std::invalid_argument if fd < 0; std::system_error if epoll_ctl
  /// fails for a reason other than the fd being closed (the registration is
  /// removed all the same).
  void unwatch(int fd, WatchFlag flag);

  /// Removes every registration, synchronously as unwatch() does. Any thread.
  /// Throws std::system_error if an epoll_ctl fails for a reason other than a
  /// closed fd (after all registrations are removed).
  void unwatchAll();

  /// Stops calling the callback of (fd, flag) without removing the
  /// registration, until resume(). Synchronous like unwatch(): when it
  /// returns, the callback is not running (unless the caller is that
  /// callback) and is not called again before resume(). The fd stays in epoll
  /// with that readiness taken out (a placeholder entry if nothing else is
  /// watched), which is what lets resume() notice that the fd was closed and
  /// its number reused meanwhile. For a binding that runs callbacks elsewhere
  /// (the Java executor mode) and must not let a still-ready fd spin the loop.
  /// A no-op if (fd, flag) is not registered or already suspended. Any thread.
  /// Throws std::invalid_argument if fd < 0; std::system_error if epoll_ctl
  /// fails for a reason other than the fd being closed (a closed fd's
  /// registrations are removed instead).
  void suspend(int fd, WatchFlag flag);

  /// Calls the callback of a suspended (fd, flag) again when ready; events
  /// fetched before resume() are not delivered. A no-op if not suspended. Any
  /// thread. Throws std::invalid_argument if fd < 0; std::system_error with
  /// ENOENT if (fd, flag) is not registered, or if the fd was closed while
  /// suspended, even if its number now names another file: the fd's
  /// registrations are then removed, and that other file is never watched by
  /// mistake.
  void resume(int fd, WatchFlag flag);

  /// Runs `task` on the loop thread soon. Any thread; never waits for the
  /// task. Tasks run in submission order (FIFO per submitting thread, and
  /// globally FIFO as observed by the queue). From another thread it wakes a
  /// blocked loop through the eventfd; any number of submissions before the
  /// loop wakes cost one eventfd write. From the loop thread it makes no
  /// syscall and the task runs after the current callback or task returns,
  /// never re-entrantly. Tasks queued while no thread runs the loop run when
  /// run() starts. See ~EventWatcher for tasks queued at destruction.
  /// Throws std::invalid_argument if `task` is empty, std::bad_alloc.
  void runInEventWatcherLoop(WatchCallback task);

  /// Runs `task` once on the loop thread, `delay` from now (a negative delay
  /// counts as 0: the next timer phase), and returns its id for cancel(). Any
  /// thread; never waits for the loop. From another thread, a timer that is
  /// now the earliest wakes the loop through the eventfd; from the loop thread
  /// it makes no syscall (the next wait's timeout is computed afresh). An
  /// exception escaping the task goes to Options::error_handler. See "Timers"
  /// at the top for where timers run and what happens to them at the end.
  /// Throws std::invalid_argument if `task` is empty, std::bad_alloc.
  TimerId runAfter(std::chrono::nanoseconds delay, WatchCallback task);

  /// Runs `task` on the loop thread every `period`, at a fixed rate, until
  /// cancel(): first one period from now, then at each deadline + period,
  /// however long the task takes. If the loop falls a period or more behind
  /// (a long callback, a loop not running), the runs it missed are skipped,
  /// not made up in a burst: the next deadline is the first deadline + k *
  /// period after the start of the late run's timer phase. A task that throws
  /// is reported to Options::error_handler and keeps its schedule. Otherwise
  /// as runAfter(). Throws std::invalid_argument if `period` is not positive
  /// or `task` is empty, std::bad_alloc.
  TimerId runEvery(std::chrono::nanoseconds period, WatchCallback task);

  /// Cancels a timer, synchronously like unwatch(): when it returns, the task
  /// is not running (unless the caller is that task) and never runs again.
  /// Returns true if it prevented a run: the timer was pending, or is a
  /// periodic timer, also one cancelling itself from inside its task. False
  /// if it prevented nothing: a one-shot timer already run or running now,
  /// an already cancelled timer, or an id naming none (default, stale, of
  /// another watcher's). Any thread. Never waits for the loop, except when
  /// called from another thread while this very timer's task runs: then it
  /// waits for that run to end (on a condition variable). The task is
  /// destroyed before it returns (a pending timer's, on the calling thread),
  /// or, called from inside the task, once the task returns. Never throws.
  bool cancel(TimerId timer) noexcept;

  /// True if the calling thread is the loop thread, inside run(). Any thread;
  /// never throws.
  bool inEventWatcherLoop() const noexcept;

  /// Runs the loop on the calling thread until stop(): waits in epoll_wait
  /// (until the earliest timer's deadline; with none, timeout -1 when idle, so
  /// an idle loop makes no wakeups), dispatches the batch, runs the due
  /// timers, runs queued tasks, repeats. Before returning it runs every task
  /// still queued (pending timers stay pending). For start_thread == false
  /// only: call it from the thread that should own the loop. If stop() was
  /// called before run(), run() returns after running queued tasks. Throws
  /// std::logic_error if the watcher started its own thread or run() is
  /// already active; std::system_error if epoll_wait fails other than with
  /// EINTR (EINTR is retried transparently, or ends a wait with a timeout
  /// early, which the loop then computes afresh).
  void run();

  /// Runs the loop one turn per call on the calling thread, for callers that
  /// do work of their own between turns; with start_thread == false only.
  /// Equivalent to run():
  ///
  ///     EventWatcher::Driver driver(watcher);
  ///     while (driver.turn()) { /* the caller's own work, on the loop thread */ }
  ///
  /// Construction makes the calling thread the loop thread (inEventWatcherLoop()
  /// is true on it until destruction); destruction does what run() does before
  /// it returns: runs the tasks still queued and gives the loop up. Create,
  /// use and destroy it on one thread (debug builds abort otherwise).
  class EVENTWATCHER_API Driver {
   public:
    /// Takes the loop. Throws std::logic_error if the watcher started its own
    /// thread or a loop is already running.
    explicit Driver(EventWatcher& watcher);
    /// Runs the queued tasks and releases the loop. Never throws.
    ~Driver();
    Driver(const Driver&) = delete;
    Driver& operator=(const Driver&) = delete;

    /// Runs one turn (wait, dispatch the batch, run the due timers, run
    /// queued tasks), unless stop() was requested: then it runs nothing and
    /// returns false (the stop request is consumed when the Driver is
    /// destroyed). Throws std::system_error if epoll_wait fails other than
    /// with EINTR.
    bool turn();

   private:
    detail::Loop& loop_;
  };

  /// Asks the loop to return from run() after the current batch and the tasks
  /// queued at that point (Driver::turn() returns false instead). For
  /// start_thread == false; on a watcher that runs its own thread it does
  /// nothing, as that thread serves until the destructor (stopping it early
  /// would leave later watches and tasks accepted but never run). Any thread,
  /// including callbacks; does not wait. The request is kept until run()
  /// honours it. Never throws.
  void stop() noexcept;

 private:
  std::unique_ptr<detail::Loop> loop_;
};

}  // namespace eventwatcher
