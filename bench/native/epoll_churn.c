/*
 * Workload 3, watch/unwatch churn, on a plain C epoll loop: the limit for watch + unwatch.
 *
 * One op = epoll_ctl(EPOLL_CTL_ADD) of one fd for EPOLLIN, then epoll_ctl(EPOLL_CTL_DEL): the
 * read end of a pipe whose write end stays open and which is never written, so never ready.
 *
 * loop: the loop thread itself does batches of 1,000 ops between epoll_waits (timeout 0, as the
 * core's loop polls while a task is pending), and publishes its op count after each batch.
 *
 * cross-thread: the loop thread blocks in epoll_wait (an eventfd ends it), while the main thread
 * does the ops on the loop's epoll fd: epoll_ctl is thread-safe, so no hand-off is needed, which
 * is as fast as another thread can get.
 *
 * Each mode runs WARMUP_MS, then counts ops over MEASURE_MS.
 *
 * usage: epoll_churn WARMUP_MS MEASURE_MS
 * prints on stdout
 *   RESULT churn c-epoll loop ops_per_s X
 *   RESULT churn c-epoll cross-thread ops_per_s X
 */
#define _GNU_SOURCE
#include "bench_util.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define BATCH 1000
#define MAX_EVENTS 256

struct loop {
  int epfd, stop_fd, fd;    /* fd: the churned pipe read end */
  bool churn;               /* loop mode: the loop thread does the ops */
  atomic_uint_fast64_t ops; /* written by the loop thread only */
  atomic_bool stop;
};

static void churn_once(int epfd, int fd) {
  struct epoll_event event = {.events = EPOLLIN, .data.fd = fd};
  if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &event) != 0) bench_die("epoll_ctl(ADD)");
  if (epoll_ctl(epfd, EPOLL_CTL_DEL, fd, NULL) != 0) bench_die("epoll_ctl(DEL)");
}

static void* run_loop(void* arg) {
  struct loop* loop = arg;
  struct epoll_event events[MAX_EVENTS];
  while (!atomic_load_explicit(&loop->stop, memory_order_relaxed)) {
    const int n = epoll_wait(loop->epfd, events, MAX_EVENTS, loop->churn ? 0 : -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      bench_die("epoll_wait");
    }
    if (!loop->churn) continue; /* woken by stop_fd, with `stop` set */
    for (int i = 0; i < BATCH; i++) churn_once(loop->epfd, loop->fd);
    atomic_store_explicit(&loop->ops,
                          atomic_load_explicit(&loop->ops, memory_order_relaxed) + BATCH,
                          memory_order_relaxed);
  }
  return NULL;
}

/* Runs one mode with a fresh loop thread and returns ops per second. */
static double measure(bool churn_in_loop, int fd, long warmup_ms, long measure_ms) {
  struct loop loop = {.epfd = epoll_create1(EPOLL_CLOEXEC), .fd = fd, .churn = churn_in_loop};
  if (loop.epfd < 0) bench_die("epoll_create1");
  if ((loop.stop_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0) bench_die("eventfd");
  struct epoll_event event = {.events = EPOLLIN, .data.fd = loop.stop_fd};
  if (epoll_ctl(loop.epfd, EPOLL_CTL_ADD, loop.stop_fd, &event) != 0) bench_die("epoll_ctl");
  atomic_init(&loop.ops, 0);
  atomic_init(&loop.stop, false);
  pthread_t thread;
  if ((errno = pthread_create(&thread, NULL, run_loop, &loop)) != 0) bench_die("pthread_create");

  double rate;
  if (churn_in_loop) {
    bench_sleep_ms(warmup_ms);
    const uint64_t start = bench_now_ns();
    const uint64_t before = atomic_load_explicit(&loop.ops, memory_order_relaxed);
    bench_sleep_ms(measure_ms);
    const uint64_t after = atomic_load_explicit(&loop.ops, memory_order_relaxed);
    rate = (double)(after - before) * 1e9 / (double)(bench_now_ns() - start);
  } else {
    const uint64_t measure_from = bench_now_ns() + (uint64_t)warmup_ms * 1000000u;
    const uint64_t end = measure_from + (uint64_t)measure_ms * 1000000u;
    uint64_t now, start = 0, ops = 0;
    while ((now = bench_now_ns()) < end) { /* the clock is read once per 100 ops */
      if (start == 0 && now >= measure_from) start = now;
      for (int i = 0; i < 100; i++) churn_once(loop.epfd, fd);
      if (start != 0) ops += 100;
    }
    rate = (double)ops * 1e9 / (double)(now - start);
  }

  atomic_store_explicit(&loop.stop, true, memory_order_relaxed);
  const uint64_t one = 1;
  if (write(loop.stop_fd, &one, sizeof one) != sizeof one) bench_die("write eventfd");
  if ((errno = pthread_join(thread, NULL)) != 0) bench_die("pthread_join");
  if (close(loop.stop_fd) != 0 || close(loop.epfd) != 0) bench_die("close");
  return rate;
}

int main(int argc, char** argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s WARMUP_MS MEASURE_MS\n", argv[0]);
    return 2;
  }
  const long warmup_ms = bench_arg_long(argv[1], "WARMUP_MS", 0, 3600000);
  const long measure_ms = bench_arg_long(argv[2], "MEASURE_MS", 1, 3600000);
  int pipe_fds[2]; /* the write end stays open and unused: the read end is never ready */
  if (pipe2(pipe_fds, O_NONBLOCK | O_CLOEXEC) != 0) bench_die("pipe2");
  bench_result("churn", "c-epoll", "loop", "ops_per_s",
               measure(true, pipe_fds[0], warmup_ms, measure_ms));
  bench_result("churn", "c-epoll", "cross-thread", "ops_per_s",
               measure(false, pipe_fds[0], warmup_ms, measure_ms));
  if (close(pipe_fds[0]) != 0 || close(pipe_fds[1]) != 0) bench_die("close");
  return 0;
}
