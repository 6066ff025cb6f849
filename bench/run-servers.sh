#!/usr/bin/env bash
# Workload 4: each HTTP server under wrk, at each connection count.
#
#   bench/run-servers.sh RESULTS_TSV WARMUP_S DURATION_S CONNECTIONS...
#
# Environment: NATIVE_DIR (epoll_http, core_http), BENCH_JAR (benchmarks.jar),
# EXAMPLES_JAR (the examples' runnable jar, whose `http` command is the project's server;
# run twice: with its default timeouts, and with them off, to measure what they cost).
# Each server is started once, pinned to CPU 0, and loaded by wrk (one thread)
# pinned to CPU 1, so that the server never competes with its load for a core.
# Per connection count: a warm-up run (JIT, connection setup), then the
# measured run. The project's server with its timeouts on and off (java-api,
# java-api-no-timeouts), whose difference is a few percent, is measured in
# ROUNDS (default 3) alternating rounds instead, both servers up at once (the
# idle one uses no CPU: its timeout tick runs only while a connection is open);
# each reports its median round, and the on/off CPU ratio of each round (two
# runs back to back, so that a drift of the machine hits both alike) gives a
# median and a range. The server's CPU time is utime + stime of its whole process
# (every JVM thread included) over the measured run, read from /proc/PID/stat.
# Appends RESULT lines (see bench/README.md) to RESULTS_TSV; fails if a server
# does not start, dies, or wrk fails. Judges no number.
set -euo pipefail

if (($# < 4)); then
  echo "usage: $0 RESULTS_TSV WARMUP_S DURATION_S CONNECTIONS..." >&2
  exit 2
fi
results=$1 warmup=$2 duration=$3
shift 3
connections=("$@")
: "${NATIVE_DIR:?}" "${BENCH_JAR:?}" "${EXAMPLES_JAR:?}"
rounds=${ROUNDS:-3}
# shellcheck source=servers-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/servers-lib.sh"
workload=server

log_dir=$(dirname "$results")/servers
mkdir -p "$log_dir"
if (($(nproc) >= 2)); then
  server_cpu=(taskset -c 0) load_cpu=(taskset -c 1)
else
  server_cpu=() load_cpu=()
fi

# impl id -> command; every server takes a port and prints "...127.0.0.1:PORT..." once listening.
declare -A commands=(
  [c-epoll]="$NATIVE_DIR/epoll_http 0"
  [cpp-core]="$NATIVE_DIR/core_http 0"
  [java-api]="java ${java_flags[*]} -jar $EXAMPLES_JAR http --port 0"
  [java-api-no-timeouts]="java ${java_flags[*]} -jar $EXAMPLES_JAR http --port 0 --header-timeout 0 --idle-timeout 0 --write-timeout 0"
  [jdk-selector]="java ${java_flags[*]} -cp $BENCH_JAR io.eventwatcher.bench.servers.SelectorHttpServer 0"
  [netty-epoll]="java ${java_flags[*]} -cp $BENCH_JAR io.eventwatcher.bench.servers.NettyHttpServer 0"
)
order=(c-epoll cpp-core jdk-selector netty-epoll)
paired=(java-api java-api-no-timeouts)

for impl in "${order[@]}"; do
  printf '\n== server %s: %s\n' "$impl" "${commands[$impl]}" >&2
  start_server "$impl"
  for c in "${connections[@]}"; do
    out="$log_dir/$impl-$c.wrk"
    load "$c" "$warmup" "$out.warmup"
    measure "$impl" "$c" "$out" >>"$results"
  done
  stop_server
done

start_servers "${paired[@]}"
for c in "${connections[@]}"; do
  alternate_rounds "$results" "$c" "${paired[@]}"
  round_ratios "$results" "$c" timeouts_ratio "${paired[0]}" "${paired[1]}"
done
stop_servers "${paired[@]}"
