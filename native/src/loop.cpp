#include "loop.hpp"

#include "error_report.hpp"
#include "syscall_error.hpp"

#include <pthread.h>

#include <algorithm>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <type_traits>

namespace eventwatcher::detail {
namespace {

// Lets a caller on another thread wait for an operation the loop runs. The
// task handed to the loop captures only a pointer to this (on the caller's
// stack), which std::function stores inline: the hand-off allocates nothing.
class Completion {
 public:
  explicit Completion(FunctionRef<int()> operation) noexcept : operation_(operation) {}

  void run() noexcept {
    try {
      result_ = operation_();
    } catch (...) {
      failure_ = std::current_exception();
    }
    // Notify under the lock: the waiter destroys *this as soon as it sees done_.
    std::lock_guard lock(mutex_);
    done_ = true;
    done_changed_.notify_one();
  }

  int wait() {
    std::unique_lock lock(mutex_);
    done_changed_.wait(lock, [this] { return done_; });
    if (failure_) std::rethrow_exception(failure_);
    return result_;
  }

 private:
  FunctionRef<int()> operation_;
  std::mutex mutex_;
  std::condition_variable done_changed_;
  bool done_ = false;
  int result_ = 0;
  std::exception_ptr failure_;
};

// Throws the std::system_error of a failed public operation.
void check(int error, const char* method, int fd) {
  if (error != 0) throw syscall_error(error, method, fd);
}

}  // namespace

Loop::Loop(Options options)
    : options_(std::move(options)),
      poller_(options_.epoll_wait, options_.max_events, Delivery::level, options_.error_handler),
      timers_(options_.clock, options_.error_handler) {
  if (options_.start_thread) thread_ = std::thread([this] { serve(); });
}

Loop::~Loop() {
  if (in_loop()) {
    write_stderr_line("eventwatcher: EventWatcher destroyed on its own loop thread; aborting");
    std::abort();
  }
  stop();
  if (thread_.joinable()) {
    thread_.join();
  } else {
    // Waits for a run() on a caller's thread to return.
    std::unique_lock lock(mutex_);
    state_changed_.wait(lock, [this] { return state_ == State::idle; });
  }
}

void Loop::watch(int fd, WatchFlag flag, IWatchCallbackPtr callback) {
  check(execute([&] { return poller_.registry().watch(fd, flag, std::move(callback)); }),
        "EventWatcher::watch", fd);
}

void Loop::unwatch(int fd, WatchFlag flag) {
  check(execute([&] { return poller_.registry().unwatch(fd, flag); }), "EventWatcher::unwatch", fd);
}

void Loop::unwatch_all() {
  check(execute([&] { return poller_.registry().unwatch_all(); }), "EventWatcher::unwatchAll", -1);
}

void Loop::suspend(int fd, WatchFlag flag) {
  check(execute([&] { return poller_.registry().suspend(fd, flag); }), "EventWatcher::suspend", fd);
}

void Loop::resume(int fd, WatchFlag flag) {
  check(execute([&] { return poller_.registry().resume(fd, flag); }), "EventWatcher::resume", fd);
}

void Loop::post(WatchCallback task) {
  tasks_.push(std::move(task));
  poller_.wakeup().request_for_task(in_loop());
}

TimerId Loop::schedule(std::int64_t delay_ns, std::int64_t period_ns, WatchCallback task) {
  const Timers::Scheduled scheduled = timers_.schedule(delay_ns, period_ns, std::move(task));
  // The loop thread computes its next timeout afresh before it waits again.
  if (scheduled.earliest && !in_loop()) poller_.wakeup().request(false);
  return scheduled.id;
}

bool Loop::cancel(TimerId timer) noexcept {
  return timers_.cancel(timer, in_loop());
}

bool Loop::in_loop() const noexcept {
  return loop_thread_.load(std::memory_order_acquire) == std::this_thread::get_id();
}

void Loop::run() {
  check_caller_owned();
  enter();
  try {
    while (step()) {
    }
  } catch (...) {
    leave();
    throw;
  }
  leave();
}

void Loop::check_caller_owned() const {
  if (options_.start_thread) {
    throw std::logic_error("EventWatcher: this watcher runs its own loop thread");
  }
}

void Loop::stop_caller_owned() noexcept {
  if (!options_.start_thread) stop();
}

void Loop::stop() noexcept {
  stop_requested_.store(true, std::memory_order_release);
  poller_.wakeup().request(in_loop());
}

int Loop::execute(FunctionRef<int()> operation) {
  if (in_loop()) return operation();
  std::unique_lock lock(mutex_);
  state_changed_.wait(lock, [this] { return state_ == State::idle || state_ == State::running; });
  if (state_ == State::idle) return borrow(lock, operation);
  Completion completion(operation);
  auto task = [completion = &completion] { completion->run(); };
  // Small and trivially copyable: std::function keeps it in its inline buffer.
  static_assert(sizeof(task) == sizeof(void*) && std::is_trivially_copyable_v<decltype(task)>);
  tasks_.push(task);  // under mutex_: the loop cannot reach finishing before it drains this
  lock.unlock();
  poller_.wakeup().request_for_task(false);
  return completion.wait();
}

int Loop::borrow(std::unique_lock<std::mutex>& lock, FunctionRef<int()> operation) {
  set_state(State::borrowed);
  lock.unlock();
  // Gives the registry back whatever the operation does.
  struct Return {
    Loop& loop;
    std::unique_lock<std::mutex>& lock;
    ~Return() {
      loop.poller_.registry().owner().release();
      lock.lock();
      loop.set_state(State::idle);
    }
  } give_back{*this, lock};
  poller_.registry().owner().claim();
  return operation();
}

void Loop::set_state(State state) noexcept {
  state_ = state;
  state_changed_.notify_all();
}

void Loop::serve() noexcept {
  try {
    const std::string name = options_.thread_name.substr(0, 15);
    ::pthread_setname_np(::pthread_self(), name.c_str());
  } catch (...) {
    report_error(options_.error_handler, std::current_exception(), -1);
  }
  try {
    enter();  // cannot fail: nothing else may run this loop
  } catch (...) {
    report_error(options_.error_handler, std::current_exception(), -1);
    return;
  }
  // The loop never dies: a failed epoll_wait is reported and retried after
  // a back-off; only stop() (from the destructor) ends it.
  while (!stop_requested_.load(std::memory_order_acquire)) {
    if (const int error = turn()) back_off(error);
  }
  leave();
}

void Loop::enter() {
  std::unique_lock lock(mutex_);
  for (;;) {
    if (state_ == State::running || state_ == State::finishing) {
      throw std::logic_error("EventWatcher: the loop is already running");
    }
    if (state_ == State::idle) break;
    state_changed_.wait(lock);  // a caller borrowing the idle loop finishes its operation
  }
  loop_thread_.store(std::this_thread::get_id(), std::memory_order_release);
  poller_.registry().owner().claim();
  timers_.runner().claim();
  set_state(State::running);
}

bool Loop::step() {
  poller_.registry().owner().check("EventWatcher::Driver::turn");
  if (stop_requested_.load(std::memory_order_acquire)) return false;
  if (const int error = turn()) throw syscall_error(error, "epoll_wait", -1);
  return true;
}

void Loop::leave() noexcept {
  {
    std::lock_guard lock(mutex_);
    set_state(State::finishing);  // from now on, callers wait instead of queuing
  }
  // Draining until empty runs tasks that tasks queued, too.
  poller_.wakeup().consume();
  while (run_tasks()) {
  }
  stop_requested_.store(false, std::memory_order_release);
  timers_.runner().release();  // pending timers stay pending, for a later run()
  poller_.registry().owner().release();
  loop_thread_.store(std::thread::id{}, std::memory_order_release);
  // Last touch of *this: a destructor waiting for idle may free the loop as
  // soon as the mutex is released.
  std::lock_guard lock(mutex_);
  set_state(State::idle);
}

int Loop::turn() noexcept {
  // Never block while work is pending: it may have been requested from this
  // thread, which skips the eventfd write. Otherwise wait for the earliest
  // timer (-1, no limit, if there is none).
  const int count = poller_.wait(poller_.wakeup().pending() ? 0 : timers_.timeout_ns());
  if (count < 0) return -count;
  failed_waits_ = 0;
  poller_.dispatch();
  timers_.run_due();
  if (poller_.wakeup().consume()) run_tasks();
  return 0;
}

void Loop::back_off(int error) noexcept {
  // Report the 1st, 2nd, 4th, 8th... failure in a row, so a broken epoll fd
  // costs a line now and then, not a flood; wait up to a second between
  // tries (stop() and new work cut the wait short), so it costs no busy loop.
  ++failed_waits_;
  if ((failed_waits_ & (failed_waits_ - 1)) == 0) {
    try {
      report_error(options_.error_handler,
                   std::make_exception_ptr(syscall_error(error, "epoll_wait", -1)), -1);
    } catch (...) {
      write_stderr_line("eventwatcher: epoll_wait failed, errno ", static_cast<long long>(error));
    }
  }
  poller_.wakeup().wait(std::min(1 << std::min(failed_waits_, 10), 1000));
  poller_.wakeup().drain();
  timers_.run_due();
  if (poller_.wakeup().consume()) run_tasks();
}

bool Loop::run_tasks() noexcept {
  tasks_.take_all(running_tasks_);
  if (running_tasks_.empty()) return false;
  for (WatchCallback& task : running_tasks_) {
    try {
      task();
    } catch (...) {
      report_error(options_.error_handler, std::current_exception(), -1);
    }
  }
  running_tasks_.clear();
  return true;
}

}  // namespace eventwatcher::detail
