/*
 * Workload 1, dispatch throughput, on a plain C epoll loop: the limit every peer is compared to.
 *
 * WATCHED fds are registered for EPOLLIN, level-triggered, one descriptor each, as in every peer
 * (DispatchBenchmark.java): READY of them (spread evenly) are read ends of pipes holding one byte
 * that is never read, with the write end closed, so readable forever (the byte, then end-of-file);
 * the others are unbound UDP sockets, never readable, which show that the cost follows ready fds,
 * not watched ones. Every epoll_wait returns at once with min(READY, 256) events (256 =
 * EventWatcher's default batch). Each event goes to a callback through a volatile function
 * pointer, as a library calls a user callback, so the compiler cannot fold the loop away; the
 * callback bumps a counter with a relaxed load and store (no locked instruction), exactly as
 * core_dispatch.cpp's does. This is the floor: epoll_wait plus one indirect call per event.
 *
 * The loop runs on a second thread, like every other peer's loop: glibc takes a cheaper path
 * around each syscall while a process has a single thread, which no peer gets. The main thread
 * only sleeps and samples the counter; the loop checks a stop flag once per epoll_wait (it never
 * blocks, as some fd is always ready).
 *
 * usage: epoll_dispatch READY WATCHED WARMUP_MS ITERATIONS ITERATION_MS
 * prints one line per iteration on stderr, then on stdout
 *   RESULT dispatch c-epoll READY|WATCHED/READY events_per_s MEAN
 */
#define _GNU_SOURCE
#include "bench_util.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/epoll.h>
#include <unistd.h>

#define MAX_EVENTS 256

typedef void (*callback_fn)(int fd, void* context);

/* noinline + a volatile pointer: a real indirect call per event. */
__attribute__((noinline)) static void count_event(int fd, void* context) {
  (void)fd;
  atomic_uint_fast64_t* count = context;
  atomic_store_explicit(count, atomic_load_explicit(count, memory_order_relaxed) + 1,
                        memory_order_relaxed);
}
static callback_fn volatile callback = count_event;

struct loop {
  int epfd;
  atomic_uint_fast64_t count; /* written by the loop thread only */
  atomic_bool stop;
};

static void* run_loop(void* arg) {
  struct loop* loop = arg;
  struct epoll_event events[MAX_EVENTS];
  while (!atomic_load_explicit(&loop->stop, memory_order_relaxed)) {
    const int n = epoll_wait(loop->epfd, events, MAX_EVENTS, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      bench_die("epoll_wait");
    }
    for (int i = 0; i < n; i++) callback(events[i].data.fd, &loop->count);
  }
  return NULL;
}

int main(int argc, char** argv) {
  if (argc != 6) {
    fprintf(stderr, "usage: %s READY WATCHED WARMUP_MS ITERATIONS ITERATION_MS\n", argv[0]);
    return 2;
  }
  const long ready = bench_arg_long(argv[1], "READY", 1, 1000000);
  const long watched = bench_arg_long(argv[2], "WATCHED", ready, 1000000);
  const long warmup_ms = bench_arg_long(argv[3], "WARMUP_MS", 0, 3600000);
  const long iterations = bench_arg_long(argv[4], "ITERATIONS", 1, 1000000);
  const long iteration_ms = bench_arg_long(argv[5], "ITERATION_MS", 1, 3600000);
  bench_raise_nofile((rlim_t)(watched + 64));

  struct loop loop = {.epfd = epoll_create1(EPOLL_CLOEXEC)};
  if (loop.epfd < 0) bench_die("epoll_create1");
  atomic_init(&loop.count, 0);
  atomic_init(&loop.stop, false);
  int* fds = malloc((size_t)watched * sizeof *fds);
  if (fds == NULL) bench_die("malloc");
  for (long i = 0; i < watched; i++) {
    fds[i] = bench_dispatch_fd(bench_dispatch_is_ready(i, watched, ready));
    struct epoll_event event = {.events = EPOLLIN, .data.fd = fds[i]};
    if (epoll_ctl(loop.epfd, EPOLL_CTL_ADD, fds[i], &event) != 0) bench_die("epoll_ctl");
  }

  pthread_t thread;
  if ((errno = pthread_create(&thread, NULL, run_loop, &loop)) != 0) bench_die("pthread_create");
  bench_sleep_ms(warmup_ms);
  double sum = 0;
  for (long i = 0; i < iterations; i++) {
    const uint64_t start = bench_now_ns();
    const uint64_t before = atomic_load_explicit(&loop.count, memory_order_relaxed);
    bench_sleep_ms(iteration_ms);
    const uint64_t after = atomic_load_explicit(&loop.count, memory_order_relaxed);
    const double rate = (double)(after - before) * 1e9 / (double)(bench_now_ns() - start);
    fprintf(stderr, "iteration %ld: %.0f events/s\n", i + 1, rate);
    sum += rate;
  }
  atomic_store_explicit(&loop.stop, true, memory_order_relaxed);
  if ((errno = pthread_join(thread, NULL)) != 0) bench_die("pthread_join");

  for (long i = 0; i < watched; i++) {
    if (close(fds[i]) != 0) bench_die("close");
  }
  if (close(loop.epfd) != 0) bench_die("close");
  free(fds);
  char param[48];
  if (watched == ready) {
    snprintf(param, sizeof param, "%ld", ready);
  } else {
    snprintf(param, sizeof param, "%ld/%ld", watched, ready);
  }
  bench_result("dispatch", "c-epoll", param, "events_per_s", sum / (double)iterations);
  return 0;
}
