// Workload 2, cross-thread task submission, on the project's C++ core: runInEventWatcherLoop
// against epoll_pingpong.c's eventfd ping-pong and mutex queue.
//
// Round trip (one submitter, the main thread): the submitter calls runInEventWatcherLoop with a
// task that bumps a std::atomic<uint32_t> and wakes the futex on it; the submitter sleeps on that
// futex until the value changes. That is one syscall on each side, as the eventfd write and the
// blocking read are in epoll_pingpong.c. (Not std::atomic wait: libstdc++ 12 first spins 12
// pauses and 4 sched_yields, which on a shared CPU can hand the CPU to the loop so that the
// submitter never sleeps, another mechanism than the C side's.) Each round trip is timed with the
// monotonic clock; the samples of the first WARMUP_MS are dropped (at most 5,000,000 are kept).
// The task captures one pointer, so the std::function stores it inline: no allocation per task.
//
// Throughput (SUBMITTERS threads): each submitter calls runInEventWatcherLoop with at most 1,024
// tasks in flight; when its window is full it raises a flag and sleeps on a futex until half of
// the window has drained, and the task that completes at that count wakes it: the very protocol
// and code of epoll_pingpong.c, so that only the queue differs. (Not std::atomic wait either:
// libstdc++ 12 counts waiters per bucket of 16, keyed by address, and 64-byte-aligned counters
// all share one, so every task's notify_one made a futex syscall whenever any submitter waited.)
// Tasks also count completions in a total that the main thread samples over MEASURE_MS after
// WARMUP_MS. The core's queue coalesces wakeups (one eventfd write per burst) and the loop runs
// the whole queue per wakeup.
//
// usage: core_tasks WARMUP_MS MEASURE_MS SUBMITTERS
// prints on stdout
//   RESULT task-rtt cpp-core 1 p50_ns|p99_ns|mean_ns X
//   RESULT task-throughput cpp-core SUBMITTERS tasks_per_s X
#include <eventwatcher/event_watcher.hpp>

#include "bench_util.h"

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

namespace {

constexpr std::uint32_t kWindow = 1024;
constexpr std::size_t kMaxSamples = 5000000;

void measure_round_trips(eventwatcher::EventWatcher& watcher, long warmup_ms, long measure_ms) {
  std::vector<std::uint64_t> samples(kMaxSamples);  // zeroed: no page faults while timing
  std::atomic<std::uint32_t> flag{0};
  std::atomic<std::uint32_t>* const replies = &flag;
  const std::uint64_t start = bench_now_ns();
  const std::uint64_t measure_from = start + static_cast<std::uint64_t>(warmup_ms) * 1000000u;
  const std::uint64_t end = measure_from + static_cast<std::uint64_t>(measure_ms) * 1000000u;
  std::size_t count = 0;
  for (std::uint64_t before = start; before < end;) {
    const std::uint32_t old = flag.load(std::memory_order_relaxed);
    watcher.runInEventWatcherLoop([replies] {
      replies->fetch_add(1);
      bench_futex_wake(replies);
    });
    while (flag.load() == old) bench_futex_wait(&flag, old);
    const std::uint64_t after = bench_now_ns();
    if (before >= measure_from && count < kMaxSamples) samples[count++] = after - before;
    before = after;
  }
  bench_rtt_results("cpp-core", samples.data(), count);
}

struct alignas(64) Submitter {
  std::atomic<std::uint32_t> completed{0};  // written by the loop thread only
  std::atomic<std::uint32_t> wake_at{0};    // the `completed` count that wakes the submitter
  std::atomic<std::uint32_t> waiting{0};    // the submitter sleeps on `completed`
};

struct Shared {
  std::atomic<std::uint64_t> total{0};  // written by the loop thread only
  std::atomic<bool> stop{false};
};

void submit(eventwatcher::EventWatcher& watcher, Shared& shared, Submitter& submitter) {
  Submitter* const self = &submitter;
  Shared* const totals = &shared;
  std::uint32_t submitted = 0;
  while (!shared.stop.load(std::memory_order_relaxed)) {
    std::uint32_t done = submitter.completed.load(std::memory_order_acquire);
    while (submitted - done >= kWindow) {  // full: sleep until half of the window is free
      submitter.wake_at.store(submitted - kWindow / 2, std::memory_order_relaxed);
      submitter.waiting.store(1);
      done = submitter.completed.load();
      if (submitted - done > kWindow / 2) bench_futex_wait(&submitter.completed, done);
      submitter.waiting.store(0, std::memory_order_relaxed);
      done = submitter.completed.load(std::memory_order_acquire);
    }
    watcher.runInEventWatcherLoop([self, totals] {
      // seq_cst store, then load of `waiting`: pairs with the submitter's store of `waiting`,
      // then load of `completed`, so that one side always sees the other. Only the submitter
      // clears the flag (see epoll_pingpong.c).
      const std::uint32_t completed = self->completed.load(std::memory_order_relaxed) + 1;
      self->completed.store(completed);
      totals->total.store(totals->total.load(std::memory_order_relaxed) + 1,
                          std::memory_order_relaxed);
      if (self->waiting.load() && self->wake_at.load(std::memory_order_relaxed) == completed) {
        bench_futex_wake(&self->completed);
      }
    });
    submitted++;
  }
}

void measure_throughput(eventwatcher::EventWatcher& watcher, long warmup_ms, long measure_ms,
                        long submitters) {
  Shared shared;
  std::vector<Submitter> states(static_cast<std::size_t>(submitters));
  std::vector<std::thread> threads;
  for (Submitter& state : states) {
    threads.emplace_back([&watcher, &shared, &state] { submit(watcher, shared, state); });
  }
  bench_sleep_ms(warmup_ms);
  const std::uint64_t start = bench_now_ns();
  const std::uint64_t before = shared.total.load(std::memory_order_relaxed);
  bench_sleep_ms(measure_ms);
  const std::uint64_t after = shared.total.load(std::memory_order_relaxed);
  const double seconds = static_cast<double>(bench_now_ns() - start) / 1e9;
  shared.stop.store(true);
  for (std::thread& thread : threads) thread.join();
  // Tasks still queued point at `states` and `shared`: let them run before those go.
  std::atomic<std::uint32_t> drained{0};
  watcher.runInEventWatcherLoop([&drained] {
    drained.store(1);
    drained.notify_one();
  });
  drained.wait(0);
  bench_result("task-throughput", "cpp-core", std::to_string(submitters).c_str(), "tasks_per_s",
               static_cast<double>(after - before) / seconds);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: %s WARMUP_MS MEASURE_MS SUBMITTERS\n", argv[0]);
    return 2;
  }
  const long warmup_ms = bench_arg_long(argv[1], "WARMUP_MS", 0, 3600000);
  const long measure_ms = bench_arg_long(argv[2], "MEASURE_MS", 1, 3600000);
  const long submitters = bench_arg_long(argv[3], "SUBMITTERS", 1, 1024);
  eventwatcher::EventWatcher watcher;  // default options: own loop thread
  measure_round_trips(watcher, warmup_ms, measure_ms);
  measure_throughput(watcher, warmup_ms, measure_ms, submitters);
  return 0;
}
