// Workload 1, dispatch throughput, on the project's C++ core, without JNI or Java.
//
// The workload of epoll_dispatch.c: WATCHED fds, one descriptor each, watched for Read through
// one shared IWatchCallback (a virtual call per event, as the JNI bridge's recorder is): READY of
// them (spread evenly) are read ends of pipes holding one unread byte with the write end closed,
// readable forever; the others unbound UDP sockets, never readable. The watcher runs its own
// loop thread with default options (256 events per epoll_wait); the main thread only sleeps and
// samples the counter, as the JMH benchmark thread does for the Java binding. Comparing with
// epoll_dispatch.c gives the core's own per-turn and per-event overhead.
//
// The fds are watched from one task on the loop thread (no hand-off per fd), which keeps the
// setup of 100,000 fds short; setup is not measured.
//
// usage: core_dispatch READY WATCHED WARMUP_MS ITERATIONS ITERATION_MS
// prints one line per iteration on stderr, then on stdout
//   RESULT dispatch cpp-core READY|WATCHED/READY events_per_s MEAN
#include <eventwatcher/event_watcher.hpp>

#include "bench_util.h"

#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <exception>
#include <memory>
#include <string>
#include <vector>

namespace {

// Written by the loop thread only: a relaxed load+store (no locked instruction)
// that the sampling thread can read without a data race.
class Counter final : public eventwatcher::IWatchCallback {
 public:
  void run(int) override {
    count_.store(count_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  }
  std::uint64_t count() const { return count_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> count_{0};
};

}  // namespace

int main(int argc, char** argv) {
  if (argc != 6) {
    std::fprintf(stderr, "usage: %s READY WATCHED WARMUP_MS ITERATIONS ITERATION_MS\n", argv[0]);
    return 2;
  }
  const long ready = bench_arg_long(argv[1], "READY", 1, 1000000);
  const long watched = bench_arg_long(argv[2], "WATCHED", ready, 1000000);
  const long warmup_ms = bench_arg_long(argv[3], "WARMUP_MS", 0, 3600000);
  const long iterations = bench_arg_long(argv[4], "ITERATIONS", 1, 1000000);
  const long iteration_ms = bench_arg_long(argv[5], "ITERATION_MS", 1, 3600000);
  bench_raise_nofile(static_cast<rlim_t>(watched + 64));

  std::vector<int> fds(static_cast<std::size_t>(watched));
  for (long i = 0; i < watched; i++)
    fds[i] = bench_dispatch_fd(bench_dispatch_is_ready(i, watched, ready));

  auto counter = std::make_shared<Counter>();
  double sum = 0;
  {
    eventwatcher::EventWatcher watcher;  // default options: own loop thread, 256 events per wait
    std::atomic<std::uint32_t> watching{0};  // 1: done, 2: failed
    watcher.runInEventWatcherLoop([&] {
      try {
        for (int fd : fds) watcher.watch(fd, eventwatcher::WatchFlag::Read, counter);
        watching.store(1);
      } catch (const std::exception& e) {
        std::fprintf(stderr, "watch: %s\n", e.what());
        watching.store(2);
      }
      watching.notify_one();
    });
    watching.wait(0);
    if (watching.load() != 1) return 1;

    bench_sleep_ms(warmup_ms);
    for (long i = 0; i < iterations; i++) {
      const std::uint64_t start = bench_now_ns();
      const std::uint64_t before = counter->count();
      bench_sleep_ms(iteration_ms);
      const std::uint64_t after = counter->count();
      const double rate =
          static_cast<double>(after - before) * 1e9 / static_cast<double>(bench_now_ns() - start);
      std::fprintf(stderr, "iteration %ld: %.0f events/s\n", i + 1, rate);
      sum += rate;
    }
    watcher.unwatchAll();
  }  // ~EventWatcher stops the loop before the fds are closed
  for (int fd : fds) {
    if (::close(fd) != 0) bench_die("close");
  }
  const std::string param = watched == ready
                                ? std::to_string(ready)
                                : std::to_string(watched) + "/" + std::to_string(ready);
  bench_result("dispatch", "cpp-core", param.c_str(), "events_per_s", sum / iterations);
  return 0;
}
