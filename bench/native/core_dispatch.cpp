// DispatchBenchmark's workload on the project's C++ core, without JNI or Java.
//
// N pipes each hold one byte that is never read, watched for Read through one
// IWatchCallback (a virtual call per event, as the JNI bridge's recorder is).
// The watcher runs its own loop thread with default options (256 events per
// epoll_wait); the main thread only sleeps and samples the counter, as the JMH
// benchmark thread does for the Java binding. Comparing with epoll_dispatch.c
// gives the core's own per-turn and per-event overhead.
//
// usage: core_dispatch FDS [WARMUP_MS ITERATIONS ITERATION_MS]
// prints one line per iteration, then:
//   RESULT impl=cpp-core fds=N mean=EVENTS_PER_S iterations=I
#include <eventwatcher/event_watcher.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <thread>
#include <vector>

namespace {

// Written by the loop thread only: a relaxed load+store (no locked instruction)
// that the sampling thread can read without a data race.
class Counter final : public eventwatcher::IWatchCallback {
 public:
  void run(int) override { count_.store(count_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed); }
  std::uint64_t count() const { return count_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> count_{0};
};

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2 && argc != 5) {
    std::fprintf(stderr, "usage: %s FDS [WARMUP_MS ITERATIONS ITERATION_MS]\n", argv[0]);
    return 2;
  }
  const int nfds = std::atoi(argv[1]);
  const long warmup_ms = argc == 5 ? std::atol(argv[2]) : 1000;
  const int iterations = argc == 5 ? std::atoi(argv[3]) : 5;
  const long iteration_ms = argc == 5 ? std::atol(argv[4]) : 1000;
  if (nfds < 1 || warmup_ms < 1 || iterations < 1 || iteration_ms < 1) return 2;

  std::vector<int> fds;
  for (int i = 0; i < nfds; i++) {
    int pipe[2];
    if (::pipe2(pipe, O_NONBLOCK | O_CLOEXEC) != 0 || ::write(pipe[1], "x", 1) != 1) {
      std::perror("pipe");
      return 1;
    }
    fds.push_back(pipe[0]);
    fds.push_back(pipe[1]);  // write end stays open: no hang-up
  }

  auto counter = std::make_shared<Counter>();
  double sum = 0;
  {
    eventwatcher::EventWatcher watcher;  // default options: own loop thread, 256 events per wait
    for (int i = 0; i < nfds; i++) watcher.watch(fds[2 * i], eventwatcher::WatchFlag::Read, counter);

    using Clock = std::chrono::steady_clock;
    std::this_thread::sleep_for(std::chrono::milliseconds(warmup_ms));
    for (int i = 0; i < iterations; i++) {
      const auto start = Clock::now();
      const std::uint64_t before = counter->count();
      std::this_thread::sleep_for(std::chrono::milliseconds(iteration_ms));
      const std::uint64_t after = counter->count();
      const std::chrono::duration<double> elapsed = Clock::now() - start;
      const double rate = static_cast<double>(after - before) / elapsed.count();
      std::printf("iteration %d: %.0f events/s\n", i + 1, rate);
      sum += rate;
    }
  }  // ~EventWatcher stops the loop before the fds are closed
  for (int fd : fds) ::close(fd);
  std::printf("RESULT impl=cpp-core fds=%d mean=%.0f iterations=%d\n", nfds, sum / iterations, iterations);
  return 0;
}
