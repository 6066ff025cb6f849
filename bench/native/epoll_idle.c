/*
 * Workload 6, an idle loop, on plain C epoll: the floor (an idle epoll loop never wakes).
 *
 * A loop thread watches one never-ready fd (the read end of a pipe whose write end stays open)
 * and blocks in epoll_wait with no timeout; an eventfd ends it. The main thread waits until the
 * loop thread is asleep, then samples over SECONDS, without ever waking the loop:
 *   loop_wakeups   the loop thread's context switches (voluntary + involuntary), read from
 *                  /proc/self/task/TID/status (TID reported by the loop thread at start);
 *   loop_cpu_ms    the loop thread's CPU time, from its pthread_getcpuclockid clock;
 *   process_cpu_ms the whole process's CPU time (the main thread mostly sleeps).
 * core_idle.cpp samples the core's loop thread the same way.
 *
 * usage: epoll_idle SECONDS
 * prints on stdout
 *   RESULT idle c-epoll SECONDS loop_wakeups|loop_cpu_ms|process_cpu_ms X
 */
#define _GNU_SOURCE
#include "bench_util.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

struct loop {
  int epfd, stop_fd;
  atomic_long tid; /* the loop thread's, 0 until it runs */
};

static void* run_loop(void* arg) {
  struct loop* loop = arg;
  atomic_store(&loop->tid, (long)gettid());
  struct epoll_event events[256];
  for (;;) {
    const int n = epoll_wait(loop->epfd, events, 256, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      bench_die("epoll_wait");
    }
    for (int i = 0; i < n; i++) {
      if (events[i].data.fd == loop->stop_fd) return NULL;
    }
  }
}

static void add(int epfd, int fd) {
  struct epoll_event event = {.events = EPOLLIN, .data.fd = fd};
  if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &event) != 0) bench_die("epoll_ctl");
}

static uint64_t thread_cpu_ns(clockid_t clock) {
  struct timespec ts;
  if (clock_gettime(clock, &ts) != 0) bench_die("clock_gettime");
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int main(int argc, char** argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s SECONDS\n", argv[0]);
    return 2;
  }
  const long seconds = bench_arg_long(argv[1], "SECONDS", 1, 86400);
  struct loop loop = {.epfd = epoll_create1(EPOLL_CLOEXEC)};
  if (loop.epfd < 0) bench_die("epoll_create1");
  int pipe_fds[2]; /* the write end stays open and unused: the read end is never ready */
  if (pipe2(pipe_fds, O_NONBLOCK | O_CLOEXEC) != 0) bench_die("pipe2");
  if ((loop.stop_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0) bench_die("eventfd");
  add(loop.epfd, pipe_fds[0]);
  add(loop.epfd, loop.stop_fd);
  atomic_init(&loop.tid, 0);
  pthread_t thread;
  if ((errno = pthread_create(&thread, NULL, run_loop, &loop)) != 0) bench_die("pthread_create");
  clockid_t loop_clock;
  if ((errno = pthread_getcpuclockid(thread, &loop_clock)) != 0) bench_die("pthread_getcpuclockid");

  /* Start once the loop thread sleeps (in epoll_wait). */
  long tid;
  while ((tid = atomic_load(&loop.tid)) == 0) bench_sleep_ms(1);
  bench_wait_asleep(tid);
  const long switches_before = bench_task_switches(tid, NULL);
  const uint64_t loop_cpu_before = thread_cpu_ns(loop_clock);
  const uint64_t process_cpu_before = bench_process_cpu_ns();
  bench_sleep_ms(seconds * 1000);
  const long switches_after = bench_task_switches(tid, NULL);
  const uint64_t loop_cpu_after = thread_cpu_ns(loop_clock);
  const uint64_t process_cpu_after = bench_process_cpu_ns();
  fprintf(stderr, "loop thread %ld: %ld context switches before the window, %ld in it\n", tid,
          switches_before, switches_after - switches_before);

  const uint64_t one = 1;
  if (write(loop.stop_fd, &one, sizeof one) != sizeof one) bench_die("write eventfd");
  if ((errno = pthread_join(thread, NULL)) != 0) bench_die("pthread_join");
  if (close(loop.stop_fd) != 0 || close(pipe_fds[0]) != 0 || close(pipe_fds[1]) != 0 ||
      close(loop.epfd) != 0) {
    bench_die("close");
  }
  char param[24];
  snprintf(param, sizeof param, "%ld", seconds);
  bench_result("idle", "c-epoll", param, "loop_wakeups",
               (double)(switches_after - switches_before));
  bench_result("idle", "c-epoll", param, "loop_cpu_ms",
               (double)(loop_cpu_after - loop_cpu_before) / 1e6);
  bench_result("idle", "c-epoll", param, "process_cpu_ms",
               (double)(process_cpu_after - process_cpu_before) / 1e6);
  return 0;
}
