/*
 * What every C and C++ benchmark program shares: the RESULT line (see
 * bench/README.md), a monotonic clock, fatal errors, the fd limit, per-thread
 * CPU and context-switch counters, and percentiles. Header-only, C11 and C++20.
 */
#ifndef EVENTWATCHER_BENCH_UTIL_H
#define EVENTWATCHER_BENCH_UTIL_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* Prints one result: RESULT <workload> <impl> <param> <metric> <value>, tab-separated. */
static inline void bench_result(const char* workload, const char* impl, const char* param,
                                const char* metric, double value) {
  printf("RESULT\t%s\t%s\t%s\t%s\t%.6g\n", workload, impl, param, metric, value);
  fflush(stdout);
}

/* Nanoseconds on CLOCK_MONOTONIC. */
static inline uint64_t bench_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Prints what failed with errno's text and exits with status 1. */
static inline void bench_die(const char* what) {
  fprintf(stderr, "%s: %s\n", what, strerror(errno));
  exit(1);
}

/* Raises the soft fd limit to the hard one, or to `wanted` if it is higher and the
   process may (root): the 100,000-fd workloads need ~200,000 descriptors. Exits if
   the limit stays below `wanted`. */
static inline void bench_raise_nofile(rlim_t wanted) {
  struct rlimit limit;
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) bench_die("getrlimit");
  if (limit.rlim_max < wanted) limit.rlim_max = wanted; /* only root may; fall back below */
  limit.rlim_cur = limit.rlim_max;
  if (setrlimit(RLIMIT_NOFILE, &limit) != 0) {
    if (getrlimit(RLIMIT_NOFILE, &limit) != 0) bench_die("getrlimit");
    limit.rlim_cur = limit.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &limit) != 0) bench_die("setrlimit");
  }
  if (limit.rlim_cur < wanted) {
    fprintf(stderr, "need %lu file descriptors, the limit is %lu\n", (unsigned long)wanted,
            (unsigned long)limit.rlim_cur);
    exit(1);
  }
}

/* CPU time (user + system) of the calling thread, in nanoseconds. */
static inline uint64_t bench_thread_cpu_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* CPU time (user + system) of the whole process, in nanoseconds. */
static inline uint64_t bench_process_cpu_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Voluntary plus involuntary context switches of the calling thread: each time it
   blocked (a wakeup follows) or was preempted. */
static inline long bench_thread_switches(void) {
  struct rusage usage;
  if (getrusage(RUSAGE_THREAD, &usage) != 0) bench_die("getrusage");
  return usage.ru_nvcsw + usage.ru_nivcsw;
}

static inline int bench_compare_u64(const void* a, const void* b) {
  const uint64_t x = *(const uint64_t*)a, y = *(const uint64_t*)b;
  return (x > y) - (x < y);
}

/* Sorts `samples` in place and returns the p-th percentile (0 < p <= 100), nearest rank. */
static inline uint64_t bench_percentile(uint64_t* samples, size_t count, double p) {
  qsort(samples, count, sizeof *samples, bench_compare_u64);
  size_t rank = (size_t)((p / 100.0) * (double)count + 0.999999);
  if (rank < 1) rank = 1;
  if (rank > count) rank = count;
  return samples[rank - 1];
}

/* The HTTP responders' answer to every request (workload 4): the exact bytes the project's
   HttpServer sends for a keep-alive GET /, with the Date of `second` (UTC) formatted as Java's
   DateTimeFormatter.RFC_1123_DATE_TIME does ("Sun, 1 Nov 2026 09:05:03 GMT": the day of month is
   not zero-padded; English names whatever the locale). Writes the response and a terminating NUL
   (not part of it) to `out`; returns the response's length, or 0 if `capacity` is too small.
   Thread-safe. */
static inline size_t bench_http_response(char* out, size_t capacity, time_t second) {
  static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  static const char body[] = "Hello from eventwatcher\n";
  struct tm utc;
  if (gmtime_r(&second, &utc) == NULL) return 0;
  const int length =
      snprintf(out, capacity,
               "HTTP/1.1 200 OK\r\nDate: %s, %d %s %d %02d:%02d:%02d GMT\r\n"
               "Server: eventwatcher\r\nContent-Type: text/plain\r\n"
               "Content-Length: %d\r\n\r\n%s",
               days[utc.tm_wday], utc.tm_mday, months[utc.tm_mon], utc.tm_year + 1900, utc.tm_hour,
               utc.tm_min, utc.tm_sec, (int)(sizeof body - 1), body);
  return length > 0 && (size_t)length < capacity ? (size_t)length : 0;
}

/* Parses argument `text` as a decimal integer in [min, max]; otherwise prints which argument
   (`name`) is wrong and exits with status 2, the bad-usage status. */
static inline long bench_arg_long(const char* text, const char* name, long min, long max) {
  char* end;
  errno = 0;
  const long value = strtol(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || value < min || value > max) {
    fprintf(stderr, "%s must be an integer in [%ld, %ld], got '%s'\n", name, min, max, text);
    exit(2);
  }
  return value;
}

/* Sleeps `ms` milliseconds, resuming after signals. */
static inline void bench_sleep_ms(long ms) {
  struct timespec left = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&left, &left) != 0) {
    if (errno != EINTR) bench_die("nanosleep");
  }
}

/* Voluntary plus involuntary context switches of thread `tid` of this process, read from
   /proc/self/task/TID/status, so that another thread can sample them without waking it. Stores
   the thread's state letter (R running, S sleeping, ...) in *state unless state is NULL. */
static inline long bench_task_switches(long tid, char* state) {
  char path[64], line[256];
  snprintf(path, sizeof path, "/proc/self/task/%ld/status", tid);
  FILE* file = fopen(path, "r");
  if (file == NULL) bench_die(path);
  long voluntary = -1, involuntary = -1;
  while (fgets(line, sizeof line, file) != NULL) {
    if (state != NULL && strncmp(line, "State:", 6) == 0) sscanf(line + 6, " %c", state);
    if (strncmp(line, "voluntary_ctxt_switches:", 24) == 0) voluntary = atol(line + 24);
    if (strncmp(line, "nonvoluntary_ctxt_switches:", 27) == 0) involuntary = atol(line + 27);
  }
  fclose(file);
  if (voluntary < 0 || involuntary < 0) {
    fprintf(stderr, "%s: no context switch counts\n", path);
    exit(1);
  }
  return voluntary + involuntary;
}

/* Workload 4: one HTTP connection's buffers, as the C and C++ responders keep them. A
   partial request head waits in `in` for the rest (a head over the capacity is refused);
   responses are built in `out` and written from there. */
#define BENCH_HTTP_IN_CAPACITY 8192
#define BENCH_HTTP_OUT_CAPACITY 65536 /* answers to a full `in` of typical heads fit at once */
struct bench_http_connection {
  uint32_t in_length; /* bytes in in[] */
  uint32_t scanned;   /* in[0, scanned) was searched: no head ends inside it */
  uint32_t out_start; /* out[out_start, out_end) waits to be written */
  uint32_t out_end;
  char in[BENCH_HTTP_IN_CAPACITY];
  char out[BENCH_HTTP_OUT_CAPACITY];
};

/* Empties both buffers, for a new connection. */
static inline void bench_http_reset(struct bench_http_connection* c) {
  c->in_length = c->scanned = c->out_start = c->out_end = 0;
}

/* Answers every complete request head (anything up to CRLFCRLF) at the front of c->in with
   `response` appended to c->out, until no complete head is left (returns 0) or c->out has
   no room for another response (returns 1; call again once it is written). The unanswered
   bytes move to the front of c->in. If 0 is returned with c->in full, the head in it is
   over BENCH_HTTP_IN_CAPACITY bytes. */
static inline int bench_http_answer(struct bench_http_connection* c, const char* response,
                                    size_t length) {
  uint32_t start = 0;
  int full = 0;
  for (;;) {
    if (c->out_end + length > BENCH_HTTP_OUT_CAPACITY) {
      full = 1;
      break;
    }
    const uint32_t from = c->scanned >= start + 3 ? c->scanned - 3 : start;
    const char* end = (const char*)memmem(c->in + from, c->in_length - from, "\r\n\r\n", 4);
    if (end == NULL) {
      c->scanned = c->in_length;
      break;
    }
    memcpy(c->out + c->out_end, response, length);
    c->out_end += (uint32_t)length;
    start = (uint32_t)(end - c->in) + 4;
    c->scanned = start;
  }
  if (start > 0) {
    memmove(c->in, c->in + start, c->in_length - start);
    c->in_length -= start;
    c->scanned -= start;
  }
  return full;
}

/* Writes c->out to the non-blocking socket `fd` until it is all written (returns 0), the
   socket is full (1: the rest stays, to be written when it is writable) or the write fails
   (-1, errno set: the peer is gone). With SIGPIPE ignored. */
static inline int bench_http_flush(int fd, struct bench_http_connection* c) {
  while (c->out_start < c->out_end) {
    const ssize_t n = write(fd, c->out + c->out_start, c->out_end - c->out_start);
    if (n > 0) {
      c->out_start += (uint32_t)n;
    } else if (n < 0 && errno == EAGAIN) {
      return 1;
    } else if (!(n < 0 && errno == EINTR)) {
      return -1;
    }
  }
  c->out_start = c->out_end = 0;
  return 0;
}

/* Sleeps while the 32-bit word at `word` (an atomic uint32, C or C++) holds `expected`: returns
   at once if it does not, and may return spuriously, so callers recheck. The futex(2) the C and
   C++ programs share, so that both sides of a comparison wait the same way. */
static inline void bench_futex_wait(void* word, uint32_t expected) {
  if (syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, expected, NULL, NULL, 0) != 0 &&
      errno != EAGAIN && errno != EINTR) {
    bench_die("futex wait");
  }
}

/* Wakes one thread sleeping in bench_futex_wait on `word`. */
static inline void bench_futex_wake(void* word) {
  if (syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0) < 0) bench_die("futex wake");
}

/* Waits (polling every millisecond, up to 10 s, then exits) until thread `tid` of this process
   is asleep: state S, as a loop blocked in epoll_wait is. */
static inline void bench_wait_asleep(long tid) {
  char state = '?';
  for (int waited = 0; waited < 10000; waited++) {
    bench_task_switches(tid, &state);
    if (state == 'S') return;
    bench_sleep_ms(1);
  }
  fprintf(stderr, "thread %ld does not go to sleep (state %c)\n", tid, state);
  exit(1);
}

/* Prints the round-trip results of workload 2 for `impl`: p50_ns, p99_ns and mean_ns of `count`
   samples in nanoseconds (sorted in place). Exits if there is none. */
static inline void bench_rtt_results(const char* impl, uint64_t* samples, size_t count) {
  if (count == 0) {
    fprintf(stderr, "no round trip measured\n");
    exit(1);
  }
  double sum = 0;
  for (size_t i = 0; i < count; i++) sum += (double)samples[i];
  fprintf(stderr, "%zu round trips measured\n", count);
  bench_result("task-rtt", impl, "1", "p50_ns", (double)bench_percentile(samples, count, 50));
  bench_result("task-rtt", impl, "1", "p99_ns", (double)bench_percentile(samples, count, 99));
  bench_result("task-rtt", impl, "1", "mean_ns", sum / (double)count);
}

/* Workload 1's fds, the kinds every peer uses (DispatchBenchmark.java), one descriptor each: for
   a ready fd, the read end of a pipe holding one byte whose write end is closed (readable
   forever: the byte, then end-of-file); otherwise an unbound UDP socket (never readable). */
static inline int bench_dispatch_fd(int ready) {
  if (!ready) {
    const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) bench_die("socket");
    return fd;
  }
  int fds[2];
  if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) bench_die("pipe2");
  if (write(fds[1], "x", 1) != 1) bench_die("write");
  if (close(fds[1]) != 0) bench_die("close");
  return fds[0];
}

/* Whether fd `i` of `watched` is one of the `ready` ones, spread evenly: every
   (watched / ready)-th, `ready` of them in all (as DispatchBenchmark.Shape.isReady). */
static inline int bench_dispatch_is_ready(long i, long watched, long ready) {
  const long stride = watched / ready;
  return i % stride == 0 && i / stride < ready;
}

#endif
