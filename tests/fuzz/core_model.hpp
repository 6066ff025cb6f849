// The model: EventWatcher's documented contract (event_watcher.hpp) as plain
// state, which the fuzzer checks the real watcher against.
//
// What it knows. Which callback is registered for each (fd, flag), for which
// open file (the pool's serial at watch time), and whether it is suspended;
// the tasks posted and run; the stop request; and the loop's phase. File
// readiness is not modelled: the model asks poll(2) (Files::readiness), the
// kernel's own answer with no epoll involved.
//
// How the contract reads here, where the header leaves room:
//  - A registration is live while its file is still on its number. Once that
//    file is closed (without unwatch) the registration is orphaned: it is
//    never called again, and it stays until an operation on the number finds
//    the file gone. watch() of the number, unwatch() or suspend() of a
//    registered (and, for suspend, unsuspended) flag, and resume() of a
//    suspended one find it gone and remove all of the number's
//    registrations: unwatch and suspend without error, resume with ENOENT,
//    watch with the error of the file now on the number (EBADF for none,
//    EPERM for one epoll refuses) or success. The no-op cases stay no-ops:
//    unwatch or suspend of an unregistered flag, suspend of a suspended one,
//    resume of an unsuspended one (even orphaned) touch nothing.
//  - A turn fetches one batch at its epoll_wait: every live, unsuspended
//    registration whose file is then ready for its flag (Read: POLLIN; Write:
//    POLLOUT; POLLHUP or POLLERR: both). The dispatch calls each of them
//    exactly once, unless it is unwatched, replaced or suspended before its
//    turn in the batch; nothing else is called (not a registration made or
//    resumed after the wait). A readiness change after the wait does not
//    change the batch: a callback whose fd another callback drained is still
//    called (the header's "spurious calls").
//  - One exception: if a callback closes a watched fd (without unwatch) and
//    that fd's event is already in the batch, the old callback may still be
//    called for it, in this turn only. The core cannot see a close; "never
//    called again" holds from the next turn on, and at once if the number is
//    watched again (a new generation).
//  - Tasks run in posting order, each once, only in a turn's task phase
//    (after its dispatch) or while the Driver is destroyed. A turn runs every
//    task posted before its task phase began; one posted by a task may wait
//    for the next turn. A wait with tasks queued must not block (timeout 0);
//    an idle wait blocks (-1). One idle wait that does not block is allowed
//    (a stale wakeup mark: tasks that ~Driver runs may set it for the next
//    Driver), but not two in a row within one Driver: that is a busy loop.
#pragma once

#include "fuzz_files.hpp"

#include <eventwatcher/watch_flag.hpp>

#include <cstdint>
#include <map>
#include <utility>

namespace eventwatcher::fuzz {

/// Records one line of what the fuzzer did (the last lines are printed with
/// a violation). `depth` indents: 0 top level, 1 and 2 inside callbacks/tasks.
void note(int depth, const char* format, ...) __attribute__((format(printf, 2, 3)));
/// Forgets the recorded lines (a new input starts).
void forget_notes() noexcept;
/// With `on`, also prints every line as it is noted (for reading a run).
void trace_notes(bool on) noexcept;
/// Prints the recent lines and `format` (a contract violation) on stderr, and
/// aborts, which libFuzzer reports as a crash.
[[noreturn]] void violation(const char* format, ...) __attribute__((format(printf, 1, 2)));

/// The contract's state for one watcher. Members that apply an operation
/// return the errno the real call must throw (0: it must return normally).
class Model {
 public:
  explicit Model(const Files& files) : files_(files) {}

  int watch(int fd, WatchFlag flag, std::uint64_t callback);
  int unwatch(int fd, WatchFlag flag);
  void unwatch_all();
  int suspend(int fd, WatchFlag flag);
  int resume(int fd, WatchFlag flag);
  /// The file on `fd` is about to be closed (or replaced): its events
  /// already in the batch may still reach its callbacks, this turn only.
  void closing(int fd);

  /// Driver::turn() is called; returns what it must return (false after stop()).
  bool turn_begins();
  /// The turn's epoll_wait, about to fetch the batch with `timeout`.
  void fetching(int timeout);
  /// Callback `callback` of (fd, flag) is called.
  void called(std::uint64_t callback, int fd, WatchFlag flag);
  /// Driver::turn() returned `result`.
  void turn_ended(bool result);

  /// A task is posted: returns its sequence number.
  std::uint64_t post() noexcept { return posted_++; }
  /// Task `sequence` runs.
  void task_runs(std::uint64_t sequence);
  /// stop() is called.
  void stop() noexcept { stop_requested_ = true; }
  /// The Driver is destroyed (it runs the queued tasks) / has been.
  void driver_ending();
  void driver_ended();
  /// The watcher is being destroyed: nothing may run any more.
  void watcher_ending() noexcept { phase_ = Phase::dead; }

  /// A callback (fd >= 0) or task (fd == -1) throws; the error handler is
  /// then called with the fd (error_reported) before anything else runs.
  void error_thrown(int fd) noexcept { pending_error_ = fd; }
  void error_reported(int fd);
  void no_error_pending() const;

 private:
  enum class Phase { idle, waiting, dispatch, tasks, leaving, dead };
  struct Registration {
    std::uint64_t callback;
    std::uint64_t serial;  // of the file it was made for
    bool suspended = false;
  };
  struct Fetched {
    int fd;
    WatchFlag flag;
    bool optional = false;  // its file was closed after the fetch
  };
  using Key = std::pair<int, WatchFlag>;

  Registration* find(int fd, WatchFlag flag);
  bool orphaned(int fd) const;
  void drop(int fd, WatchFlag flag);
  void drop_all(int fd);
  bool ready(int fd, WatchFlag flag) const;
  void end_dispatch();
  static const char* phase_name(Phase phase);

  const Files& files_;
  std::map<Key, Registration> registrations_;
  std::map<std::uint64_t, Fetched> batch_;  // by callback: fetched, not yet called
  Phase phase_ = Phase::idle;
  bool stop_requested_ = false;
  bool turn_expected_ = false;
  bool stale_nonblocking_wait_ = false;  // the last wait was idle and did not block
  std::uint64_t posted_ = 0;
  std::uint64_t ran_ = 0;
  std::uint64_t due_ = 0;   // tasks this turn must have run
  int pending_error_ = -2;  // fd of an exception not yet reported; -2: none
};

/// "Read" or "Write".
const char* name(WatchFlag flag);

}  // namespace eventwatcher::fuzz
