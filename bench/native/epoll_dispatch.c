/*
 * Baseline for DispatchBenchmark: the same workload on a plain C epoll loop.
 *
 * N pipes each hold one byte that is never read and are registered for EPOLLIN,
 * level-triggered, so every epoll_wait returns at once with min(N, 256) events
 * (256 = EventWatcher's default batch). Each event goes to a callback through a
 * function pointer, as a library would call a user callback, so the compiler
 * cannot fold the loop away. This is the floor: epoll_wait plus one indirect
 * call per event, nothing else.
 *
 * Timing uses an interval timer (SIGALRM sets a flag the loop checks once per
 * epoll_wait), so the hot loop reads no clock.
 *
 * usage: epoll_dispatch FDS [WARMUP_MS ITERATIONS ITERATION_MS]
 * prints one line per iteration, then:
 *   RESULT impl=c-epoll fds=N mean=EVENTS_PER_S iterations=I
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#ifndef MAX_EVENTS /* -DMAX_EVENTS=1024 mimics the JDK Selector's batch, for experiments */
#define MAX_EVENTS 256
#endif

typedef void (*callback_fn)(int fd, void *context);

/* noinline + a volatile pointer: a real indirect call per event. */
__attribute__((noinline)) static void count_event(int fd, void *context) {
  (void)fd;
  ++*(uint64_t *)context;
}
static callback_fn volatile callback = count_event;

static volatile sig_atomic_t tick;
static void on_alarm(int signo) {
  (void)signo;
  tick = 1;
}

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what) {
  perror(what);
  exit(1);
}

/* Arms the interval timer to fire once after ms milliseconds. */
static void arm(long ms) {
  struct itimerval timer = {{0, 0}, {ms / 1000, (ms % 1000) * 1000}};
  if (setitimer(ITIMER_REAL, &timer, NULL) != 0) die("setitimer");
}

int main(int argc, char **argv) {
  if (argc != 2 && argc != 5) {
    fprintf(stderr, "usage: %s FDS [WARMUP_MS ITERATIONS ITERATION_MS]\n", argv[0]);
    return 2;
  }
  const int nfds = atoi(argv[1]);
  const long warmup_ms = argc == 5 ? atol(argv[2]) : 1000;
  const int iterations = argc == 5 ? atoi(argv[3]) : 5;
  const long iteration_ms = argc == 5 ? atol(argv[4]) : 1000;
  if (nfds < 1 || warmup_ms < 1 || iterations < 1 || iteration_ms < 1) return 2;

  const int epfd = epoll_create1(EPOLL_CLOEXEC);
  if (epfd < 0) die("epoll_create1");
  for (int i = 0; i < nfds; i++) {
    int fds[2];
    if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) die("pipe2");
    if (write(fds[1], "x", 1) != 1) die("write");  /* write end stays open: no EPOLLHUP */
    struct epoll_event event = {.events = EPOLLIN, .data.fd = fds[0]};
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, fds[0], &event) != 0) die("epoll_ctl");
  }

  struct sigaction action = {0};
  action.sa_handler = on_alarm;
  if (sigaction(SIGALRM, &action, NULL) != 0) die("sigaction");

  struct epoll_event events[MAX_EVENTS];
  uint64_t count = 0;
  double sum = 0;
  int done = -1; /* -1: warming up */
  arm(warmup_ms);
  double start = now_seconds();
  uint64_t start_count = 0;
  while (done < iterations) {
    const int n = epoll_wait(epfd, events, MAX_EVENTS, -1);
    if (n < 0 && errno != EINTR) die("epoll_wait");
    for (int i = 0; i < n; i++) callback(events[i].data.fd, &count);
    if (!tick) continue;
    tick = 0;
    const double end = now_seconds();
    if (done >= 0) {
      const double rate = (double)(count - start_count) / (end - start);
      printf("iteration %d: %.0f events/s\n", done + 1, rate);
      sum += rate;
    }
    done++;
    if (done < iterations) arm(iteration_ms);
    start = end;
    start_count = count;
  }
  printf("RESULT impl=c-epoll fds=%d mean=%.0f iterations=%d\n", nfds, sum / iterations, iterations);
  return 0;
}
