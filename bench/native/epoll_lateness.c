/*
 * Workload 7, timer lateness, on plain C: the floor for how late a loop's timer can run here.
 *
 * One thread, one epoll instance with nothing in it: for each sample, take the monotonic clock,
 * add a delay drawn uniformly from [1 ms, 20 ms) (a fixed seed), and wait in epoll_pwait2 with
 * that delay as its nanosecond timeout; the lateness is the clock after the wait minus that
 * deadline. This is the wait a loop with nanosecond timeouts makes, without the hand-off to the
 * loop thread and the task call: what is left is the kernel's timer slack (for a normal thread,
 * the larger of 50 us, its default timer_slack_ns, and 0.1% of the timeout) and the wake-up of
 * an idle CPU. SLACK_NS, if given, is set first with prctl(PR_SET_TIMERSLACK) (1 = the finest).
 * A warm-up of 100 short waits is not counted.
 *
 * usage: epoll_lateness SAMPLES [SLACK_NS]
 * prints on stdout
 *   RESULT timer-lateness c-epoll SAMPLES p50_us|p99_us|max_us X
 */
#define _GNU_SOURCE
#include "bench_util.h"

#include <sys/epoll.h>
#include <sys/prctl.h>

#define WARM_UP 100
#define MIN_DELAY_NS 1000000L
#define MAX_DELAY_NS 20000000L

/* Waits `delay_ns` in epoll_pwait2 on the empty `epfd`; returns how late it woke, in ns. */
static uint64_t late_ns(int epfd, long delay_ns) {
  const uint64_t deadline = bench_now_ns() + (uint64_t)delay_ns;
  struct timespec timeout = {delay_ns / 1000000000L, delay_ns % 1000000000L};
  struct epoll_event event;
  if (epoll_pwait2(epfd, &event, 1, &timeout, NULL) < 0 && errno != EINTR)
    bench_die("epoll_pwait2");
  const uint64_t woke = bench_now_ns();
  return woke > deadline ? woke - deadline : 0; /* the kernel never wakes early */
}

int main(int argc, char** argv) {
  if (argc != 2 && argc != 3) {
    fprintf(stderr, "usage: epoll_lateness SAMPLES [SLACK_NS]\n");
    return 2;
  }
  const long samples = bench_arg_long(argv[1], "SAMPLES", 1, 10000000);
  if (argc == 3 &&
      prctl(PR_SET_TIMERSLACK, bench_arg_long(argv[2], "SLACK_NS", 1, 1000000000), 0, 0, 0) != 0) {
    bench_die("prctl(PR_SET_TIMERSLACK)");
  }
  const int epfd = epoll_create1(EPOLL_CLOEXEC);
  if (epfd < 0) bench_die("epoll_create1");
  uint64_t* late = malloc((size_t)samples * sizeof *late);
  if (late == NULL) bench_die("malloc");
  srand(3);
  for (int i = 0; i < WARM_UP; i++) late_ns(epfd, rand() % MIN_DELAY_NS);
  for (long i = 0; i < samples; i++) {
    late[i] = late_ns(epfd, MIN_DELAY_NS + rand() % (MAX_DELAY_NS - MIN_DELAY_NS));
  }
  char param[32];
  snprintf(param, sizeof param, "%ld", samples);
  bench_result("timer-lateness", "c-epoll", param, "p50_us",
               bench_percentile(late, samples, 50) / 1e3);
  bench_result("timer-lateness", "c-epoll", param, "p99_us",
               bench_percentile(late, samples, 99) / 1e3);
  bench_result("timer-lateness", "c-epoll", param, "max_us",
               bench_percentile(late, samples, 100) / 1e3);
  free(late);
  close(epfd);
  return 0;
}
