// Shared helpers for the native suite: real fds, bounded waits, loop syncs.
//
// Synchronisation rules of the suite: a positive check waits on a future or a
// counter with a generous bound (kPatience) that only a broken loop reaches. A
// negative check ("this callback is not called", "this call has not
// returned") must be able to fail, so it first proves that the other side got
// to where a wrong implementation would have acted: the loop ran a known
// number of turns (flush_turns: level-triggered epoll reports every ready fd
// on every turn, so a live registration would be called), a thread making a
// call is seen asleep inside it (thread_state), or the thread that could act
// has ended. That the loop makes no wakeups is read from the loop thread's own
// wait (asleep_in_epoll_wait_without_timeout), not from a quiet window.
// Nothing sleeps to let time pass, and no test measures time, except to check
// that a wait or a timer did not end before its deadline (a lower bound, which
// no load on the machine can break); timers are driven by an injected clock
// (fake_time.hpp).
#pragma once

#include <eventwatcher/event_watcher.hpp>

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <utility>

namespace eventwatcher::test {

using namespace std::chrono_literals;

/// Upper bound for anything that should happen "at once"; only a hung or
/// broken loop gets near it.
inline constexpr auto kPatience = 10s;

/// Scale tests (1,000,000 timers) use a tenth of their size under TSan: it
/// instruments every memory access of a Debug build (ten times the run time
/// of ASan's), and their work is one thread's data structure, where it has no
/// race to find. The regular and ASan suites run them at full size.
#if defined(__SANITIZE_THREAD__)
inline constexpr int kScaleDivisor = 10;
#else
inline constexpr int kScaleDivisor = 1;
#endif

/// CLOCK_MONOTONIC now, the clock of the core's timers.
inline std::chrono::nanoseconds monotonic_now() {
  timespec now{};
  ::clock_gettime(CLOCK_MONOTONIC, &now);
  return std::chrono::seconds(now.tv_sec) + std::chrono::nanoseconds(now.tv_nsec);
}

/// An owned fd, closed on destruction.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Fd& operator=(Fd&& other) noexcept {
    reset(std::exchange(other.fd_, -1));
    return *this;
  }
  ~Fd() { reset(); }
  int get() const { return fd_; }
  void reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_ = -1;
};

/// A non-blocking pipe.
struct Pipe {
  Fd read_end;
  Fd write_end;
  Pipe() {
    int fds[2];
    if (::pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0)
      throw std::system_error(errno, std::system_category());
    read_end.reset(fds[0]);
    write_end.reset(fds[1]);
  }
  int r() const { return read_end.get(); }
  int w() const { return write_end.get(); }
  /// Makes the read end readable (one byte).
  void fill() const { ASSERT_EQ(::write(w(), "x", 1), 1); }
  /// Reads everything available; returns the byte count.
  std::size_t drain() const {
    char buffer[4096];
    std::size_t total = 0;
    ssize_t n;
    while ((n = ::read(r(), buffer, sizeof buffer)) > 0) total += static_cast<std::size_t>(n);
    return total;
  }
};

/// A non-blocking AF_UNIX stream socketpair.
struct SocketPair {
  Fd a;
  Fd b;
  SocketPair() {
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) != 0) {
      throw std::system_error(errno, std::system_category());
    }
    a.reset(fds[0]);
    b.reset(fds[1]);
  }
};

/// Waits for `future` for at most kPatience; true if it became ready.
template <typename T>
bool ready(std::future<T>& future) {
  return future.wait_for(kPatience) == std::future_status::ready;
}

/// Waits until `predicate` holds, for at most kPatience (polling a counter
/// that other threads advance; the bound only matters if the loop is broken).
inline bool eventually(const std::function<bool()>& predicate) {
  const auto deadline = std::chrono::steady_clock::now() + kPatience;
  while (!predicate()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::yield();
  }
  return true;
}

/// Blocks until the loop has run a task submitted now, so that everything
/// submitted before it has been processed.
inline void sync(EventWatcher& watcher) {
  std::promise<void> done;
  auto future = done.get_future();
  watcher.runInEventWatcherLoop([&] { done.set_value(); });
  ASSERT_TRUE(ready(future)) << "loop did not run a task";
}

/// Runs `action` on the loop thread and returns once it has run. Things done
/// there (watch, make fds ready) all land before the next epoll_wait, so one
/// batch fetches every event they cause.
inline void on_loop(EventWatcher& watcher, const std::function<void()>& action) {
  std::promise<void> done;
  auto future = done.get_future();
  watcher.runInEventWatcherLoop([&] {
    action();
    done.set_value();
  });
  ASSERT_TRUE(ready(future)) << "loop did not run the action";
}

/// Runs `turns` complete loop turns (each with an epoll_wait that reports
/// every ready fd) and returns once they are done. A task posted from a task
/// runs in the next turn, so a chain of `turns` tasks spans that many turns.
inline void flush_turns(EventWatcher& watcher, int turns = 3) {
  std::promise<void> done;
  auto future = done.get_future();
  auto remaining = std::make_shared<int>(turns);
  auto step = std::make_shared<std::function<void()>>();
  *step = [&watcher, &done, remaining, weak = std::weak_ptr(step)] {
    if (--*remaining <= 0) {
      done.set_value();
    } else if (auto next = weak.lock()) {
      watcher.runInEventWatcherLoop(*next);
    }
  };
  watcher.runInEventWatcherLoop(*step);
  ASSERT_TRUE(ready(future)) << "loop did not complete " << turns << " turns";
}

/// The kernel's id of the calling thread (as in /proc/self/task).
inline pid_t this_thread_tid() {
  return ::gettid();
}

/// The kernel's id of the loop thread, fetched from a task; -1 on failure.
inline pid_t loop_tid(EventWatcher& watcher) {
  auto tid = std::make_shared<std::promise<pid_t>>();
  auto future = tid->get_future();
  watcher.runInEventWatcherLoop([tid] { tid->set_value(this_thread_tid()); });
  if (!ready(future)) {
    ADD_FAILURE() << "loop did not run a task";
    return -1;
  }
  return future.get();
}

/// The state letter of thread `tid` of this process (R running, S asleep, D
/// in uninterruptible wait...) from /proc/self/task/TID/stat, or 0 once the
/// thread is gone.
inline char thread_state(pid_t tid) {
  std::ifstream stat("/proc/self/task/" + std::to_string(tid) + "/stat");
  std::string text;
  if (!std::getline(stat, text)) return 0;
  const auto close = text.rfind(')');
  if (close == std::string::npos || close + 2 >= text.size()) return 0;
  return text[close + 2];
}

/// Whether thread `tid` sleeps in epoll_wait (or epoll_pwait/epoll_pwait2)
/// with no timeout: state S, and /proc/self/task/TID/syscall names that call
/// with timeout -1 (epoll_pwait2: no timespec). Nothing but a ready fd or the
/// wakeup eventfd can end such a wait, and a loop that spins or polls is never
/// seen so. x86_64 numbers; where the kernel does not show the system call,
/// the state alone.
inline bool asleep_in_epoll_wait_without_timeout(pid_t tid) {
  if (thread_state(tid) != 'S') return false;
  std::ifstream file("/proc/self/task/" + std::to_string(tid) + "/syscall");
  std::string line;
  if (!std::getline(file, line)) return true;
  std::istringstream fields(line);
  std::string number;
  std::string args[4];
  if (!(fields >> number >> args[0] >> args[1] >> args[2] >> args[3])) return false;
  if (args[3].rfind("0x", 0) != 0) return false;
  const unsigned long long timeout = std::stoull(args[3].substr(2), nullptr, 16);
  if (number == "232" || number == "281") return static_cast<int>(timeout) == -1;
  if (number == "441") return timeout == 0;
  return false;
}

/// Number of entries in a /proc/self directory ("fd" or "task").
inline std::size_t count_entries(const char* directory) {
  std::size_t count = 0;
  for (const auto& entry : std::filesystem::directory_iterator(directory)) {
    (void)entry;
    ++count;
  }
  return count;
}

/// Threads of this process named `name` (a watcher's loop thread is named
/// "eventwatcher"). A joined thread leaves /proc/self/task a moment after
/// pthread_join returns, so callers wait for the count they expect.
inline std::size_t count_threads_named(const std::string& name) {
  std::size_t count = 0;
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream comm(task.path() / "comm");
    std::string text;
    if (std::getline(comm, text) && text == name) ++count;
  }
  return count;
}

/// Process fd and thread counts, for leak checks. The constructor first
/// creates and destroys one watcher, so that runtime threads started lazily
/// with the first thread (TSan's background thread) are in the baseline, and
/// waits until that watcher's thread has left /proc.
struct ResourceBaseline {
  std::size_t fds;
  std::size_t threads;
  ResourceBaseline() {
    { EventWatcher warm_up; }
    EXPECT_TRUE(eventually([] { return count_threads_named("eventwatcher") == 0; }));
    fds = count_entries("/proc/self/fd");
    threads = count_entries("/proc/self/task");
  }
  /// True once the thread count is back to the baseline (bounded wait).
  bool threads_back() const {
    return eventually([this] { return count_entries("/proc/self/task") == threads; });
  }
};

/// A callback counting its calls, optionally running extra code.
struct Counter {
  std::atomic<int> calls{0};
  std::function<void(int)> then;
  std::function<void(int)> callback() {
    return [this](int fd) {
      ++calls;
      if (then) then(fd);
    };
  }
};

}  // namespace eventwatcher::test
