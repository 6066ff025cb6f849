#include "loop.hpp"

#include "error_report.hpp"
#include "syscall_error.hpp"

#include <pthread.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
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
  explicit Completion(FunctionRef<void()> operation) noexcept : operation_(operation) {}

  void run() noexcept {
    try {
      operation_();
    } catch (...) {
      error_ = std::current_exception();
    }
    // Notify under the lock: the waiter destroys *this as soon as it sees done_.
    std::lock_guard lock(mutex_);
    done_ = true;
    done_changed_.notify_one();
  }

  void wait() {
    std::unique_lock lock(mutex_);
    done_changed_.wait(lock, [this] { return done_; });
    if (error_) std::rethrow_exception(error_);
  }

 private:
  FunctionRef<void()> operation_;
  std::mutex mutex_;
  std::condition_variable done_changed_;
  bool done_ = false;
  std::exception_ptr error_;
};

Options validated(Options options) {
  if (options.max_events < 1) {
    throw std::invalid_argument("EventWatcher: max_events must be at least 1, got " +
                                std::to_string(options.max_events));
  }
  return options;
}

}  // namespace

Loop::Loop(Options options)
    : options_(validated(std::move(options))),
      epoll_(options_.epoll_wait),
      registry_(epoll_, options_.error_handler),
      events_(static_cast<std::size_t>(options_.max_events)) {
  if (const int error = epoll_.add(wakeup_.fd(), EPOLLIN, Registry::kWakeupToken)) {
    throw syscall_error(error, "epoll_ctl(EPOLL_CTL_ADD) of the wakeup eventfd", wakeup_.fd());
  }
  if (options_.start_thread) {
    thread_ = std::thread([this] {
      const std::string name = options_.thread_name.substr(0, 15);
      ::pthread_setname_np(::pthread_self(), name.c_str());
      try {
        run_loop();
      } catch (...) {
        report_error(options_.error_handler, std::current_exception(), -1);
      }
    });
  }
}

Loop::~Loop() {
  if (in_loop()) {
    std::fputs("eventwatcher: EventWatcher destroyed on its own loop thread; aborting\n", stderr);
    std::abort();
  }
  stop();
  if (thread_.joinable()) {
    thread_.join();
  } else {
    // Waits for a run() on a caller's thread to return.
    std::lock_guard owner(owner_mutex_);
  }
}

void Loop::watch(int fd, WatchFlag flag, IWatchCallbackPtr callback) {
  execute([&] { registry_.watch(fd, flag, std::move(callback)); });
}

void Loop::unwatch(int fd, WatchFlag flag) {
  execute([&] { registry_.unwatch(fd, flag); });
}

void Loop::unwatch_all() {
  execute([&] { registry_.unwatch_all(); });
}

void Loop::suspend(int fd, WatchFlag flag) {
  execute([&] { registry_.suspend(fd, flag); });
}

void Loop::resume(int fd, WatchFlag flag) {
  execute([&] { registry_.resume(fd, flag); });
}

void Loop::post(WatchCallback task) {
  tasks_.push(std::move(task));
  wakeup_.request_for_task(in_loop());
}

bool Loop::in_loop() const noexcept {
  return loop_thread_.load(std::memory_order_acquire) == std::this_thread::get_id();
}

void Loop::run() {
  check_caller_owned();
  run_loop();
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
  wakeup_.request(in_loop());
}

void Loop::execute(FunctionRef<void()> operation) {
  if (in_loop()) {
    operation();
    return;
  }
  for (int attempt = 0;; ++attempt) {
    {
      std::unique_lock owner(owner_mutex_, std::try_to_lock);
      if (owner.owns_lock()) {  // no loop is running: we own the registry
        operation();
        return;
      }
    }
    Completion completion(operation);
    auto task = [completion = &completion] { completion->run(); };
    // Small and trivially copyable: std::function keeps it in its inline buffer.
    static_assert(sizeof(task) == sizeof(void*) && std::is_trivially_copyable_v<decltype(task)>);
    if (tasks_.try_push(task)) {
      wakeup_.request_for_task(false);
      completion.wait();
      return;
    }
    // A loop is starting or finishing (or try_lock failed spuriously): one of
    // the two branches above succeeds once it is done. Finishing runs the
    // queued tasks, which may take a while: back off from yielding to short
    // sleeps. (Waking us from leave() would touch the loop after it released
    // the owner mutex, when a destructor may already be freeing it.)
    if (attempt < 64) {
      std::this_thread::yield();
    } else {
      std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
  }
}

void Loop::run_loop() {
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

void Loop::enter() {
  if (running_.exchange(true, std::memory_order_acq_rel)) {
    throw std::logic_error("EventWatcher: the loop is already running");
  }
  owner_mutex_.lock();  // released by leave(), which may run in another call
  loop_thread_.store(std::this_thread::get_id(), std::memory_order_release);
  tasks_.set_open(true);
}

bool Loop::step() {
  if (stop_requested_.load(std::memory_order_acquire)) return false;
  turn();
  return true;
}

void Loop::leave() noexcept {
  // Closing first means no waiting caller's task can slip in after the final
  // drain; draining until empty runs tasks that tasks queued, too.
  tasks_.set_open(false);
  wakeup_.consume();
  while (run_tasks()) {
  }
  stop_requested_.store(false, std::memory_order_release);
  loop_thread_.store(std::thread::id{}, std::memory_order_release);
  running_.store(false, std::memory_order_release);
  // Last touch of *this: a destructor waiting for this run() may free the
  // loop as soon as the owner mutex is released.
  owner_mutex_.unlock();
}

void Loop::turn() {
  // Never block while work is pending: it may have been requested from this
  // thread, which skips the eventfd write.
  const int timeout = wakeup_.pending() ? 0 : -1;
  const int count = epoll_.wait(events_.data(), options_.max_events, timeout);
  if (registry_.dispatch(events_.data(), count)) wakeup_.drain();
  if (wakeup_.consume()) run_tasks();
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
