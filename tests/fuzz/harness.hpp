// The fuzzer's harness: one EventWatcher driven on the fuzzing thread, the
// pool of fds and the model, and the callbacks and tasks that report to it.
// Operations are applied in harness.cpp, the loop's side (turns, callbacks,
// tasks, waits, errors) is checked in harness_loop.cpp.
#pragma once

#include "core_model.hpp"
#include "fuzz_files.hpp"
#include "fuzz_ops.hpp"

#include <eventwatcher/event_watcher.hpp>

#include <sys/epoll.h>

#include <cstdint>
#include <exception>
#include <memory>
#include <optional>

namespace eventwatcher::fuzz {

inline constexpr int kMaxEvents = 64;
inline constexpr int kMaxOps = 1024;                   // top-level operations per input
inline constexpr int kInvalidArgument = -1;            // outcome: std::invalid_argument
inline constexpr int kOtherException = -2;             // outcome: any other exception
inline constexpr int kNoFd = -2;                       // resolve_fd: nothing to act on
inline constexpr int kHighNumbers[] = {70, 141, 300};  // Replace targets that grow the table

// What a callback or task throws for the error handler.
struct Thrown {};

class Harness;

// A registration's callback: reports each call to the harness.
class ModelCallback final : public IWatchCallback {
 public:
  /// Callback number `id` for (fd, flag); performs `then` when called.
  ModelCallback(Harness& harness, std::uint64_t id, int fd, WatchFlag flag,
                std::shared_ptr<const Op> then);
  /// Tells the harness (which checks it is not running).
  ~ModelCallback() override;
  /// Tells the harness, which checks the call and performs `then`.
  void run(int fd) override;

  const std::uint64_t id;
  const int fd;
  const WatchFlag flag;
  const std::shared_ptr<const Op> then;

 private:
  Harness& harness_;
};

// Counts the tasks alive (queued, or held by the watcher): one per task,
// shared by the copies std::function makes.
struct TaskLife {
  explicit TaskLife(int& live) : live(live) { ++live; }
  ~TaskLife() { --live; }
  int& live;
};

// Where an operation runs: the top level, or inside a callback or task.
struct Context {
  int depth = 0;
  const ModelCallback* callback = nullptr;
};

// The watcher, its Driver, the pool and the model for one input.
class Harness {
 public:
  /// Creates the watcher (no thread, non-blocking waits, batch of 64).
  Harness();
  /// Ends the input: the Driver, the watcher, then the pool's fds.
  ~Harness();
  Harness(const Harness&) = delete;
  Harness& operator=(const Harness&) = delete;

  /// Performs the input's operations, at most kMaxOps of them.
  void run(Decoder& input);
  /// A callback is called with `fd`: checks the call, performs its action.
  void on_callback(ModelCallback& callback, int fd);
  /// A callback object is destroyed.
  void on_callback_destroyed(const ModelCallback& callback);
  int live_callbacks = 0;  ///< callback objects alive

 private:
  // Performs one operation, checking the outcome against the model.
  void perform(const Op& op, const Context& context);
  // unwatch, unwatchAll, suspend, resume.
  void registry_op(const Op& op, int fd, WatchFlag flag, int depth);
  void watch(const Op& op, int fd, WatchFlag flag, int depth);
  void post(const Op& op, int depth);
  // Feed, Drain, Fill, Close, Replace: the pool only (Close and Replace tell the model).
  void file_op(const Op& op, int fd, int depth);
  // One Driver::turn() (creating a Driver first if there is none).
  void turn();
  // Destroys the Driver (checking it ran every task) or creates one.
  void toggle_driver();
  // Task `sequence` runs: checks it, performs `then`.
  void on_task(std::uint64_t sequence, const std::shared_ptr<const Op>& then);
  // The injected epoll_wait: lets the model fetch the batch, never blocks.
  int on_wait(int epoll_fd, epoll_event* events, int max, int timeout);
  // The error handler.
  void on_error(std::exception_ptr error, int fd);
  // The fd an operation acts on: a pool number, the callback's own fd, a
  // high number (Replace), -1 (an invalid argument) or kNoFd.
  int resolve_fd(const Op& op, const Context& context) const;
  // Read, Write, the callback's own flag or the other one.
  static WatchFlag resolve_flag(const Op& op, const Context& context);
  // Calls `call`, checking that it ends with `expected` (0, errno, kInvalidArgument).
  template <typename Call>
  void expect(int depth, const char* what, int fd, WatchFlag flag, int expected, Call&& call);

  Files files_;  // first: closed last, after the watcher is gone
  Model model_{files_};
  std::optional<EventWatcher> watcher_;
  std::optional<EventWatcher::Driver> driver_;
  const ModelCallback* running_callback_ = nullptr;
  bool running_task_ = false;
  std::uint64_t next_callback_ = 1;
  int live_tasks_ = 0;
};

// Restores a flag when a callback or task returns or throws.
template <typename T>
struct Restore {
  T& variable;
  T saved;
  ~Restore() { variable = saved; }
};

}  // namespace eventwatcher::fuzz
