/*
 * Workload 2, cross-thread task submission, on plain C: the limit for runInEventWatcherLoop.
 *
 * Round trip (one submitter, the main thread): a loop thread blocks in epoll_wait on eventfd A.
 * The submitter puts the task (a function pointer and its argument) in a one-slot mailbox, writes
 * A, and blocks in read() on eventfd B. The loop wakes, reads A, takes the task from the mailbox
 * and calls it; the task writes B, which wakes the submitter. Each round trip is timed with the
 * monotonic clock; the samples of the first WARMUP_MS are dropped (at most 5,000,000 are kept).
 *
 * Throughput (SUBMITTERS threads): a mutex-protected queue (two preallocated arrays swapped by the
 * loop, as the core's task queue swaps two vectors, so no allocation per task) with an eventfd
 * written only when a push finds the queue empty; the loop reads the eventfd, then takes and runs
 * the whole queue per wakeup. Each submitter keeps at most 1,024 tasks in flight: when its window
 * is full it raises a flag and sleeps on a futex until half of the window has drained; the task
 * that completes at that count wakes it (so wakeups of submitters cost little of the loop's time).
 * Tasks count completions; the main thread samples the count over MEASURE_MS after WARMUP_MS.
 *
 * usage: epoll_pingpong WARMUP_MS MEASURE_MS SUBMITTERS
 * prints on stdout
 *   RESULT task-rtt c-eventfd 1 p50_ns|p99_ns|mean_ns X
 *   RESULT task-throughput c-eventfd SUBMITTERS tasks_per_s X
 */
#define _GNU_SOURCE
#include "bench_util.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define WINDOW 1024
#define MAX_SAMPLES 5000000

typedef void (*task_fn)(void* arg);
struct task {
  task_fn fn;
  void* arg;
};

/* Blocks until `fd` is readable, then reads its eventfd counter. Loop thread. */
static void wait_and_consume(int epfd, int fd) {
  struct epoll_event event;
  uint64_t value;
  while (epoll_wait(epfd, &event, 1, -1) != 1) {
    if (errno != EINTR) bench_die("epoll_wait");
  }
  if (read(fd, &value, sizeof value) < 0 && errno != EAGAIN) bench_die("read eventfd");
}

static void signal_eventfd(int fd) {
  const uint64_t one = 1;
  if (write(fd, &one, sizeof one) != sizeof one) bench_die("write eventfd");
}

static int watched_eventfd(int epfd, int flags) {
  const int fd = eventfd(0, EFD_CLOEXEC | flags);
  if (fd < 0) bench_die("eventfd");
  struct epoll_event event = {.events = EPOLLIN, .data.fd = fd};
  if (epfd >= 0 && epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &event) != 0) bench_die("epoll_ctl");
  return fd;
}

/* ---- Round trip ---- */

struct pingpong {
  int epfd, request_fd, reply_fd; /* A (watched, non-blocking) and B (blocking) */
  _Atomic(task_fn) mailbox;       /* the task; its argument is stored before it */
  void* mailbox_arg;
  bool running; /* loop thread only */
};

static void reply(void* arg) {
  signal_eventfd(*(int*)arg);
}
static void clear_flag(void* arg) { /* stops a loop */
  *(bool*)arg = false;
}

static void* pingpong_loop(void* arg) {
  struct pingpong* p = arg;
  while (p->running) {
    wait_and_consume(p->epfd, p->request_fd);
    const task_fn task = atomic_exchange_explicit(&p->mailbox, NULL, memory_order_acquire);
    if (task != NULL) task(p->mailbox_arg);
  }
  return NULL;
}

static void pingpong_submit(struct pingpong* p, task_fn task, void* arg) {
  p->mailbox_arg = arg;
  atomic_store_explicit(&p->mailbox, task, memory_order_release);
  signal_eventfd(p->request_fd);
}

static void measure_round_trips(long warmup_ms, long measure_ms) {
  uint64_t* samples = malloc(MAX_SAMPLES * sizeof *samples);
  if (samples == NULL) bench_die("malloc");
  memset(samples, 0, MAX_SAMPLES * sizeof *samples); /* no page faults while timing */
  struct pingpong p = {.epfd = epoll_create1(EPOLL_CLOEXEC), .running = true};
  if (p.epfd < 0) bench_die("epoll_create1");
  p.request_fd = watched_eventfd(p.epfd, EFD_NONBLOCK);
  p.reply_fd = watched_eventfd(-1, 0);
  atomic_init(&p.mailbox, NULL);
  pthread_t thread;
  if ((errno = pthread_create(&thread, NULL, pingpong_loop, &p)) != 0) bench_die("pthread_create");

  const uint64_t start = bench_now_ns();
  const uint64_t measure_from = start + (uint64_t)warmup_ms * 1000000u;
  const uint64_t end = measure_from + (uint64_t)measure_ms * 1000000u;
  size_t count = 0;
  uint64_t value;
  for (uint64_t before = start; before < end;) {
    pingpong_submit(&p, reply, &p.reply_fd);
    if (read(p.reply_fd, &value, sizeof value) != sizeof value) bench_die("read eventfd");
    const uint64_t after = bench_now_ns();
    if (before >= measure_from && count < MAX_SAMPLES) samples[count++] = after - before;
    before = after;
  }
  pingpong_submit(&p, clear_flag, &p.running);
  if ((errno = pthread_join(thread, NULL)) != 0) bench_die("pthread_join");
  if (close(p.request_fd) != 0 || close(p.reply_fd) != 0 || close(p.epfd) != 0) bench_die("close");
  bench_rtt_results("c-eventfd", samples, count);
  free(samples);
}

/* ---- Throughput ---- */

struct queue {
  pthread_mutex_t mutex;
  struct task *items, *spare; /* items: under mutex; spare: loop thread */
  size_t count, capacity;
  int epfd, wake_fd;
  bool running; /* loop thread only */
};

struct submitter {
  _Alignas(64) atomic_uint completed; /* written by the loop thread only */
  atomic_uint wake_at;                /* the `completed` count that wakes the submitter */
  atomic_int waiting;                 /* the submitter sleeps on `completed` */
  struct queue* queue;
  pthread_t thread;
};

static atomic_uint_fast64_t total_completed; /* written by the loop thread only */
static atomic_bool stop_submitting;

static void complete(void* arg) {
  struct submitter* s = arg;
  /* seq_cst store, then load of `waiting`: pairs with the submitter's store of `waiting`, then
     load of `completed`, so that one of the two sides always sees the other. */
  const unsigned completed = atomic_load_explicit(&s->completed, memory_order_relaxed) + 1;
  atomic_store(&s->completed, completed);
  atomic_store_explicit(&total_completed,
                        atomic_load_explicit(&total_completed, memory_order_relaxed) + 1,
                        memory_order_relaxed);
  /* Only the submitter clears the flag: a completion it has already seen could otherwise clear
     the flag of its next wait. */
  if (atomic_load(&s->waiting) &&
      atomic_load_explicit(&s->wake_at, memory_order_relaxed) == completed) {
    bench_futex_wake(&s->completed);
  }
}

static void queue_push(struct queue* q, task_fn fn, void* arg) {
  pthread_mutex_lock(&q->mutex);
  if (q->count == q->capacity) abort(); /* cannot happen: the windows bound the queue */
  const bool was_empty = q->count == 0;
  q->items[q->count++] = (struct task){fn, arg};
  pthread_mutex_unlock(&q->mutex);
  if (was_empty) signal_eventfd(q->wake_fd);
}

static void* queue_loop(void* arg) {
  struct queue* q = arg;
  while (q->running) {
    wait_and_consume(q->epfd, q->wake_fd); /* before taking: a later push writes again */
    pthread_mutex_lock(&q->mutex);
    struct task* batch = q->items;
    const size_t count = q->count;
    q->items = q->spare;
    q->count = 0;
    pthread_mutex_unlock(&q->mutex);
    for (size_t i = 0; i < count; i++) batch[i].fn(batch[i].arg);
    q->spare = batch;
  }
  return NULL;
}

static void* submit_loop(void* arg) {
  struct submitter* s = arg;
  unsigned submitted = 0;
  while (!atomic_load_explicit(&stop_submitting, memory_order_relaxed)) {
    unsigned done = atomic_load_explicit(&s->completed, memory_order_acquire);
    while (submitted - done >= WINDOW) { /* full: sleep until half of the window is free */
      atomic_store_explicit(&s->wake_at, submitted - WINDOW / 2, memory_order_relaxed);
      atomic_store(&s->waiting, 1);
      done = atomic_load(&s->completed);
      if (submitted - done > WINDOW / 2) bench_futex_wait(&s->completed, done);
      atomic_store_explicit(&s->waiting, 0, memory_order_relaxed);
      done = atomic_load_explicit(&s->completed, memory_order_acquire);
    }
    queue_push(s->queue, complete, s);
    submitted++;
  }
  return NULL;
}

static void measure_throughput(long warmup_ms, long measure_ms, long submitters) {
  struct queue q = {.capacity = (size_t)submitters * WINDOW + 1, .running = true};
  if ((errno = pthread_mutex_init(&q.mutex, NULL)) != 0) bench_die("pthread_mutex_init");
  q.items = calloc(q.capacity, sizeof *q.items);
  q.spare = calloc(q.capacity, sizeof *q.spare);
  struct submitter* s = aligned_alloc(64, (size_t)submitters * sizeof *s);
  if (q.items == NULL || q.spare == NULL || s == NULL) bench_die("calloc");
  if ((q.epfd = epoll_create1(EPOLL_CLOEXEC)) < 0) bench_die("epoll_create1");
  q.wake_fd = watched_eventfd(q.epfd, EFD_NONBLOCK);
  pthread_t loop;
  if ((errno = pthread_create(&loop, NULL, queue_loop, &q)) != 0) bench_die("pthread_create");
  for (long i = 0; i < submitters; i++) {
    atomic_init(&s[i].completed, 0);
    atomic_init(&s[i].wake_at, 0);
    atomic_init(&s[i].waiting, 0);
    s[i].queue = &q;
    if ((errno = pthread_create(&s[i].thread, NULL, submit_loop, &s[i])) != 0) {
      bench_die("pthread_create");
    }
  }
  bench_sleep_ms(warmup_ms);
  const uint64_t start = bench_now_ns();
  const uint64_t before = atomic_load_explicit(&total_completed, memory_order_relaxed);
  bench_sleep_ms(measure_ms);
  const uint64_t after = atomic_load_explicit(&total_completed, memory_order_relaxed);
  const double seconds = (double)(bench_now_ns() - start) / 1e9;
  atomic_store(&stop_submitting, true);
  for (long i = 0; i < submitters; i++) {
    if ((errno = pthread_join(s[i].thread, NULL)) != 0) bench_die("pthread_join");
  }
  queue_push(&q, clear_flag, &q.running);
  if ((errno = pthread_join(loop, NULL)) != 0) bench_die("pthread_join");
  if (close(q.wake_fd) != 0 || close(q.epfd) != 0) bench_die("close");
  pthread_mutex_destroy(&q.mutex);
  free(q.items);
  free(q.spare);
  free(s);
  char param[24];
  snprintf(param, sizeof param, "%ld", submitters);
  bench_result("task-throughput", "c-eventfd", param, "tasks_per_s",
               (double)(after - before) / seconds);
}

int main(int argc, char** argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: %s WARMUP_MS MEASURE_MS SUBMITTERS\n", argv[0]);
    return 2;
  }
  const long warmup_ms = bench_arg_long(argv[1], "WARMUP_MS", 0, 3600000);
  const long measure_ms = bench_arg_long(argv[2], "MEASURE_MS", 1, 3600000);
  const long submitters = bench_arg_long(argv[3], "SUBMITTERS", 1, 1024);
  measure_round_trips(warmup_ms, measure_ms);
  measure_throughput(warmup_ms, measure_ms, submitters);
  return 0;
}
