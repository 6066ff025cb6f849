// Workload 5, memory per watched fd, on the project's C++ core: the native heap bytes that
// watching FDS fds adds.
//
// FDS eventfds with a zero counter (one fd each, never readable) are created first, and a watcher
// is started and settled by a round trip through runInEventWatcherLoop, so its thread, epoll fd
// and initial structures are outside the measurement. Then one task watches every fd for Read with
// one shared callback (so no callback is allocated per fd), on the loop thread so that 100,000
// watches take no 100,000 hand-offs (a hand-off leaves nothing allocated behind: the heap after it
// is the same), and the main thread waits for that task. The figure is the growth of malloc's bytes
// in use, mallinfo2().uordblks (arena chunks, every arena) plus hblkhd (mmap'd chunks), divided by
// FDS. Kernel memory (the epoll entries) is not included; the table grows by doubling, so the
// figure depends on where FDS falls between powers of two.
//
// usage: core_memory FDS
// prints on stdout
//   RESULT memory cpp-core FDS native_bytes_per_fd X
#include <eventwatcher/event_watcher.hpp>

#include "bench_util.h"

#include <malloc.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <exception>
#include <memory>
#include <string>
#include <vector>

namespace {

class NeverCalled final : public eventwatcher::IWatchCallback {
 public:
  void run(int fd) override {
    std::fprintf(stderr, "fd %d reported ready: it never is\n", fd);
    std::exit(1);
  }
};

// Runs an empty task on the loop thread and waits for it.
void round_trip(eventwatcher::EventWatcher& watcher) {
  std::atomic<std::uint32_t> done{0};
  watcher.runInEventWatcherLoop([&done] {
    done.store(1);
    done.notify_one();
  });
  done.wait(0);
}

std::size_t heap_in_use() {
  const struct mallinfo2 info = ::mallinfo2();
  return info.uordblks + info.hblkhd;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s FDS\n", argv[0]);
    return 2;
  }
  const long count = bench_arg_long(argv[1], "FDS", 1, 1000000);
  bench_raise_nofile(static_cast<rlim_t>(count + 64));

  std::vector<int> fds(static_cast<std::size_t>(count));
  for (int& fd : fds) {
    if ((fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0) bench_die("eventfd");
  }
  const eventwatcher::IWatchCallbackPtr callback = std::make_shared<NeverCalled>();
  {
    eventwatcher::EventWatcher watcher;
    round_trip(watcher);
    const std::size_t before = heap_in_use();
    std::atomic<std::uint32_t> watched{0};  // 1: done, 2: failed
    watcher.runInEventWatcherLoop([&] {
      try {
        for (int fd : fds) watcher.watch(fd, eventwatcher::WatchFlag::Read, callback);
        watched.store(1);
      } catch (const std::exception& e) {
        std::fprintf(stderr, "watch: %s\n", e.what());
        watched.store(2);
      }
      watched.notify_one();
    });
    watched.wait(0);
    if (watched.load() != 1) return 1;
    const std::size_t after = heap_in_use();
    std::fprintf(stderr, "heap in use: %zu bytes before, %zu after watching %ld fds\n", before,
                 after, count);
    bench_result("memory", "cpp-core", std::to_string(count).c_str(), "native_bytes_per_fd",
                 (static_cast<double>(after) - static_cast<double>(before)) / count);
    watcher.unwatchAll();
  }
  for (int fd : fds) {
    if (::close(fd) != 0) bench_die("close");
  }
  return 0;
}
