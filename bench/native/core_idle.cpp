// Workload 6, an idle watcher, on the project's C++ core, against epoll_idle.c.
//
// A watcher (default options, own loop thread) watches one never-ready fd (the read end of a pipe
// whose write end stays open). One task, run before the window, reports the loop thread's tid
// and pthread_t; once the loop thread sleeps again, the main thread samples over SECONDS without
// ever waking the loop (no task is sent at the end, so the window holds no wakeup of ours):
//   loop_wakeups   the loop thread's context switches (voluntary + involuntary), read from
//                  /proc/self/task/TID/status;
//   loop_cpu_ms    the loop thread's CPU time, from its pthread_getcpuclockid clock;
//   process_cpu_ms the whole process's CPU time (the main thread mostly sleeps).
//
// usage: core_idle SECONDS
// prints on stdout
//   RESULT idle cpp-core SECONDS loop_wakeups|loop_cpu_ms|process_cpu_ms X
#include <eventwatcher/event_watcher.hpp>

#include "bench_util.h"

#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

namespace {

class NeverCalled final : public eventwatcher::IWatchCallback {
 public:
  void run(int fd) override {
    std::fprintf(stderr, "fd %d reported ready: it never is\n", fd);
    std::exit(1);
  }
};

std::uint64_t thread_cpu_ns(clockid_t clock) {
  struct timespec ts;
  if (::clock_gettime(clock, &ts) != 0) bench_die("clock_gettime");
  return static_cast<std::uint64_t>(ts.tv_sec) * 1000000000u +
         static_cast<std::uint64_t>(ts.tv_nsec);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s SECONDS\n", argv[0]);
    return 2;
  }
  const long seconds = bench_arg_long(argv[1], "SECONDS", 1, 86400);
  int pipe_fds[2];  // the write end stays open and unused: the read end is never ready
  if (::pipe2(pipe_fds, O_NONBLOCK | O_CLOEXEC) != 0) bench_die("pipe2");

  long switches, loop_cpu_ns, process_cpu_ns;
  {
    eventwatcher::EventWatcher watcher;
    watcher.watch(pipe_fds[0], eventwatcher::WatchFlag::Read, std::make_shared<NeverCalled>());
    std::atomic<long> tid{0};
    pthread_t loop_thread{};
    watcher.runInEventWatcherLoop([&] {
      loop_thread = ::pthread_self();
      tid.store(static_cast<long>(::gettid()));  // publishes loop_thread too
      tid.notify_one();
    });
    tid.wait(0);
    clockid_t loop_clock;
    if ((errno = ::pthread_getcpuclockid(loop_thread, &loop_clock)) != 0) {
      bench_die("pthread_getcpuclockid");
    }
    bench_wait_asleep(tid.load());

    const long switches_before = bench_task_switches(tid.load(), nullptr);
    const std::uint64_t loop_cpu_before = thread_cpu_ns(loop_clock);
    const std::uint64_t process_cpu_before = bench_process_cpu_ns();
    bench_sleep_ms(seconds * 1000);
    switches = bench_task_switches(tid.load(), nullptr) - switches_before;
    std::fprintf(stderr, "loop thread %ld: %ld context switches before the window, %ld in it\n",
                 tid.load(), switches_before, switches);
    loop_cpu_ns = static_cast<long>(thread_cpu_ns(loop_clock) - loop_cpu_before);
    process_cpu_ns = static_cast<long>(bench_process_cpu_ns() - process_cpu_before);
    watcher.unwatch(pipe_fds[0], eventwatcher::WatchFlag::Read);
  }
  if (::close(pipe_fds[0]) != 0 || ::close(pipe_fds[1]) != 0) bench_die("close");
  const std::string param = std::to_string(seconds);
  bench_result("idle", "cpp-core", param.c_str(), "loop_wakeups", static_cast<double>(switches));
  bench_result("idle", "cpp-core", param.c_str(), "loop_cpu_ms", loop_cpu_ns / 1e6);
  bench_result("idle", "cpp-core", param.c_str(), "process_cpu_ms", process_cpu_ns / 1e6);
  return 0;
}
