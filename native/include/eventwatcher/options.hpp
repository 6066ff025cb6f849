// Options: construction-time settings of an EventWatcher.
#pragma once

#include <sys/epoll.h>

#include <chrono>
#include <exception>
#include <functional>
#include <string>

namespace eventwatcher {

/// Plain settings struct for `EventWatcher(Options)`. Every field has a usable
/// default, so `EventWatcher{Options{}}` equals `EventWatcher{}`.
struct Options {
  /// Signature of ::epoll_wait.
  using EpollWaitFunction = std::function<int(int epfd, epoll_event* events, int max, int timeout)>;
  /// Receives an exception that escaped a callback (fd >= 0), a task or the
  /// loop itself (fd == -1: a failed epoll_wait, retried after a back-off).
  /// Called on the loop thread.
  using ErrorHandler = std::function<void(std::exception_ptr error, int fd)>;
  /// A clock for timers: nanoseconds since an arbitrary epoch.
  using ClockFunction = std::function<std::chrono::nanoseconds()>;

  /// The function the loop waits with. Tests inject one to count calls, see
  /// the timeout passed or simulate EINTR. The timeout is in milliseconds: -1
  /// when no timer is pending and no work is queued, 0 when work is queued or
  /// a timer is due, else the time to the earliest timer's deadline rounded up
  /// to a whole millisecond (never down: a wait never ends before a
  /// deadline). Empty means the kernel's wait, with nanosecond timeouts
  /// (epoll_pwait2, or ::epoll_wait with milliseconds rounded up on kernels
  /// without it). It must behave like ::epoll_wait: return the number of
  /// events, or -1 with errno set.
  EpollWaitFunction epoll_wait;

  /// The clock timers are scheduled and fired by (EventWatcher::runAfter,
  /// runEvery). Empty means CLOCK_MONOTONIC. Tests inject one together with
  /// epoll_wait (which sees the timeout and can advance the clock by it) to
  /// drive time without sleeping. It is called from every thread that
  /// schedules a timer and from the loop thread, never under a lock of the
  /// watcher's: it must be thread-safe, never go backwards, and not throw (an
  /// exception escaping it terminates the program).
  ClockFunction clock;

  /// Maximum events fetched by one epoll_wait call (the batch size), >= 1.
  /// More ready fds than this are served over several turns.
  int max_events = 256;

  /// Handler for exceptions escaping callbacks and tasks. Empty means: print
  /// one line on stderr (at most 10 a second; the next says how many were
  /// suppressed). If the handler itself throws (anything, including
  /// std::bad_alloc), a fixed line naming the fd is written to fd 2 instead,
  /// with no allocation; the loop keeps running either way.
  ErrorHandler error_handler;

  /// true: the constructor starts a thread that runs the loop until the
  /// destructor. false: no thread is started; the caller runs the loop on a
  /// thread it owns with run() and ends it with stop().
  bool start_thread = true;

  /// Name of the started thread (Linux keeps the first 15 characters).
  std::string thread_name = "eventwatcher";
};

}  // namespace eventwatcher
