// Workload 3, watch/unwatch churn, on the project's C++ core, against epoll_churn.c.
//
// One op = watcher.watch(fd, Read, callback) then watcher.unwatch(fd, Read), for the read end of
// a pipe whose write end stays open and which is never written, so never ready. The callback is
// one IWatchCallbackPtr created once, so no op allocates a callback.
//
// loop: a task on the loop thread does batches of 1,000 ops, publishes the op count, and submits
// itself again (so the loop turns between batches, polling epoll with timeout 0 as a task is
// pending), until a stop flag is set.
//
// cross-thread: the loop idles (blocked in epoll_wait) while the main thread calls watch and
// unwatch, each a synchronous hand-off to the loop thread and back.
//
// Each mode runs WARMUP_MS, then counts ops over MEASURE_MS, on a fresh watcher.
//
// usage: core_churn WARMUP_MS MEASURE_MS
// prints on stdout
//   RESULT churn cpp-core loop ops_per_s X
//   RESULT churn cpp-core cross-thread ops_per_s X
#include <eventwatcher/event_watcher.hpp>

#include "bench_util.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <exception>
#include <memory>

namespace {

constexpr int kBatch = 1000;

class NeverCalled final : public eventwatcher::IWatchCallback {
 public:
  void run(int fd) override {
    std::fprintf(stderr, "fd %d reported ready: it never is\n", fd);
    std::exit(1);
  }
};

struct Churn {
  eventwatcher::EventWatcher& watcher;
  int fd;
  eventwatcher::IWatchCallbackPtr callback;
  std::atomic<std::uint64_t> ops{0};  // written by the loop thread only
  std::atomic<bool> stop{false};
  std::atomic<std::uint32_t> stopped{0};
};

void churn_once(eventwatcher::EventWatcher& watcher, int fd,
                const eventwatcher::IWatchCallbackPtr& callback) {
  watcher.watch(fd, eventwatcher::WatchFlag::Read, callback);
  watcher.unwatch(fd, eventwatcher::WatchFlag::Read);
}

// A task: one batch, then again, until `stop`.
void churn_batch(Churn* churn) {
  try {
    for (int i = 0; i < kBatch; i++) churn_once(churn->watcher, churn->fd, churn->callback);
  } catch (const std::exception& e) {  // would end the chain and leave main waiting
    std::fprintf(stderr, "watch/unwatch: %s\n", e.what());
    std::exit(1);
  }
  churn->ops.store(churn->ops.load(std::memory_order_relaxed) + kBatch, std::memory_order_relaxed);
  if (churn->stop.load(std::memory_order_relaxed)) {
    churn->stopped.store(1);
    churn->stopped.notify_one();
    return;
  }
  churn->watcher.runInEventWatcherLoop([churn] { churn_batch(churn); });
}

double measure_in_loop(int fd, const eventwatcher::IWatchCallbackPtr& callback, long warmup_ms,
                       long measure_ms) {
  eventwatcher::EventWatcher watcher;
  Churn churn{watcher, fd, callback};
  Churn* const state = &churn;
  watcher.runInEventWatcherLoop([state] { churn_batch(state); });
  bench_sleep_ms(warmup_ms);
  const std::uint64_t start = bench_now_ns();
  const std::uint64_t before = churn.ops.load(std::memory_order_relaxed);
  bench_sleep_ms(measure_ms);
  const std::uint64_t after = churn.ops.load(std::memory_order_relaxed);
  const double elapsed = static_cast<double>(bench_now_ns() - start);
  churn.stop.store(true, std::memory_order_relaxed);
  churn.stopped.wait(0);
  return static_cast<double>(after - before) * 1e9 / elapsed;
}

double measure_cross_thread(int fd, const eventwatcher::IWatchCallbackPtr& callback, long warmup_ms,
                            long measure_ms) {
  eventwatcher::EventWatcher watcher;
  const std::uint64_t measure_from =
      bench_now_ns() + static_cast<std::uint64_t>(warmup_ms) * 1000000u;
  const std::uint64_t end = measure_from + static_cast<std::uint64_t>(measure_ms) * 1000000u;
  std::uint64_t now, start = 0, ops = 0;
  while ((now = bench_now_ns()) < end) {  // the clock is read once per 100 ops
    if (start == 0 && now >= measure_from) start = now;
    for (int i = 0; i < 100; i++) churn_once(watcher, fd, callback);
    if (start != 0) ops += 100;
  }
  return static_cast<double>(ops) * 1e9 / static_cast<double>(now - start);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s WARMUP_MS MEASURE_MS\n", argv[0]);
    return 2;
  }
  const long warmup_ms = bench_arg_long(argv[1], "WARMUP_MS", 0, 3600000);
  const long measure_ms = bench_arg_long(argv[2], "MEASURE_MS", 1, 3600000);
  int pipe_fds[2];  // the write end stays open and unused: the read end is never ready
  if (::pipe2(pipe_fds, O_NONBLOCK | O_CLOEXEC) != 0) bench_die("pipe2");
  const eventwatcher::IWatchCallbackPtr callback = std::make_shared<NeverCalled>();
  bench_result("churn", "cpp-core", "loop", "ops_per_s",
               measure_in_loop(pipe_fds[0], callback, warmup_ms, measure_ms));
  bench_result("churn", "cpp-core", "cross-thread", "ops_per_s",
               measure_cross_thread(pipe_fds[0], callback, warmup_ms, measure_ms));
  if (::close(pipe_fds[0]) != 0 || ::close(pipe_fds[1]) != 0) bench_die("close");
  return 0;
}
