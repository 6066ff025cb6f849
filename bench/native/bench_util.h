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
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

/* Prints one result: RESULT <workload> <impl> <param> <metric> <value>, tab-separated. */
static inline void bench_result(const char *workload, const char *impl, const char *param, const char *metric,
                                double value) {
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
static inline void bench_die(const char *what) {
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

static inline int bench_compare_u64(const void *a, const void *b) {
  const uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return (x > y) - (x < y);
}

/* Sorts `samples` in place and returns the p-th percentile (0 < p <= 100), nearest rank. */
static inline uint64_t bench_percentile(uint64_t *samples, size_t count, double p) {
  qsort(samples, count, sizeof *samples, bench_compare_u64);
  size_t rank = (size_t)((p / 100.0) * (double)count + 0.999999);
  if (rank < 1) rank = 1;
  if (rank > count) rank = count;
  return samples[rank - 1];
}

#endif
