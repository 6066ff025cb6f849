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

log_dir=$(dirname "$results")/servers
mkdir -p "$log_dir"
ticks_per_s=$(getconf CLK_TCK)
if (($(nproc) >= 2)); then
  server_cpu=(taskset -c 0) load_cpu=(taskset -c 1)
else
  server_cpu=() load_cpu=()
fi
# IPv4 sockets, as the C and C++ servers use (the JDK's are dual-stack IPv6 otherwise).
java_flags=(-Xms512m -Xmx512m -Djava.net.preferIPv4Stack=true --enable-native-access=ALL-UNNAMED)

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

server_pid=""
started=() # every server pid, for the exit trap
cleanup() { for pid in "${started[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done; }
trap cleanup EXIT

cpu_ticks() { # utime + stime of a process; fields counted after the ")" that ends comm
  local stat
  stat=$(<"/proc/$1/stat")
  stat=${stat##*) }
  read -r -a fields <<<"$stat"
  echo $((fields[11] + fields[12]))
}

# Starts a server in the background; sets server_pid and port.
start_server() {
  local impl=$1 out="$log_dir/$1.log"
  : >"$out" # exists before the first look below, whatever the background child has done
  # shellcheck disable=SC2086 # the command is a word list on purpose
  "${server_cpu[@]}" ${commands[$impl]} >"$out" 2>&1 &
  server_pid=$!
  started+=("$server_pid")
  for _ in $(seq 300); do
    port=$(sed -n 's/.*127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p' "$out" | head -1)
    [[ -n "$port" ]] && return
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "server $impl did not start:" >&2
  cat "$out" >&2
  exit 1
}

stop_server() {
  kill -TERM "$server_pid"
  for _ in $(seq 100); do
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$server_pid" 2>/dev/null; then
    echo "server pid $server_pid ignored SIGTERM for 10 s" >&2
    exit 1
  fi
  wait "$server_pid" || true
  server_pid=""
}

# wrk CONNECTIONS SECONDS OUTPUT_FILE
load() {
  "${load_cpu[@]}" wrk -t1 -c"$1" -d"$2"s --latency --timeout 10s "http://127.0.0.1:$port/" >"$3" 2>&1 ||
    { cat "$3" >&2; exit 1; }
  kill -0 "$server_pid" 2>/dev/null || { echo "the server died under load" >&2; exit 1; }
}

# measure IMPL CONNECTIONS OUT: one measured run against the server at $server_pid:$port;
# prints its RESULT lines.
measure() {
  local impl=$1 c=$2 out=$3 before after
  before=$(cpu_ticks "$server_pid")
  load "$c" "$duration" "$out"
  after=$(cpu_ticks "$server_pid")
  sed -n '/requests in/p;/Requests\/sec/p;/errors/p' "$out" | sed "s/^/  $impl, $c connections: /" >&2
  awk -v impl="$impl" -v c="$c" -v cpu_s="$(((after - before)))" -v hz="$ticks_per_s" '
    function us(v) { # wrk prints 812.00us, 1.20ms or 2.00s
      if (v ~ /us$/) return v + 0
      if (v ~ /ms$/) return v * 1000
      if (v ~ /s$/) return v * 1000000
      return v + 0
    }
    /^ +50%/ { p50 = us($2) }
    /^ +99%/ { p99 = us($2) }
    /requests in/ { requests = $1 }
    /Requests\/sec/ { rps = $2 }
    /Socket errors/ { gsub(/,/, ""); errors += $4 + $6 + $8 + $10 }
    /Non-2xx/ { errors += $NF }
    END {
      if (requests == 0) exit 1
      printf "RESULT\tserver\t%s\t%s\treq_per_s\t%s\n", impl, c, rps
      printf "RESULT\tserver\t%s\t%s\tp50_us\t%s\n", impl, c, p50
      printf "RESULT\tserver\t%s\t%s\tp99_us\t%s\n", impl, c, p99
      printf "RESULT\tserver\t%s\t%s\tcpu_us_per_req\t%.4f\n", impl, c, cpu_s / hz / requests * 1e6
      printf "RESULT\tserver\t%s\t%s\terrors\t%d\n", impl, c, errors
    }' "$out" || { echo "no requests in $out" >&2; exit 1; }
}

cpu_of() { awk -F'\t' '$5 == "cpu_us_per_req" { print $6 }' "$1"; } # cpu_of RESULT_FILE

# median_round FILE...: the RESULT lines of the round whose CPU per request is the median.
median_round() {
  local f
  for f in "$@"; do printf '%s\t%s\n' "$(cpu_of "$f")" "$f"; done |
    sort -g | awk -v n="$#" 'NR == int((n + 1) / 2) { print $2 }' | xargs cat
}

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

declare -A pids ports
for impl in "${paired[@]}"; do
  printf '\n== server %s: %s\n' "$impl" "${commands[$impl]}" >&2
  start_server "$impl"
  pids[$impl]=$server_pid ports[$impl]=$port
done
for c in "${connections[@]}"; do
  for impl in "${paired[@]}"; do
    server_pid=${pids[$impl]} port=${ports[$impl]}
    load "$c" "$warmup" "$log_dir/$impl-$c.wrk.warmup"
  done
  for round in $(seq "$rounds"); do
    for impl in "${paired[@]}"; do
      server_pid=${pids[$impl]} port=${ports[$impl]}
      measure "$impl" "$c" "$log_dir/$impl-$c-$round.wrk" >"$log_dir/$impl-$c-$round.result"
    done
  done
  for impl in "${paired[@]}"; do
    files=()
    for round in $(seq "$rounds"); do files+=("$log_dir/$impl-$c-$round.result"); done
    median_round "${files[@]}" >>"$results"
  done
  # The CPU ratio on/off of each round (its two runs back to back): median and range.
  for round in $(seq "$rounds"); do
    paste <(cpu_of "$log_dir/${paired[0]}-$c-$round.result") <(cpu_of "$log_dir/${paired[1]}-$c-$round.result")
  done | awk '{ print $1 / $2 }' | sort -g | awk -v c="$c" -v impl="${paired[0]}" '
    { r[NR] = $1 }
    END {
      printf "RESULT\tserver\t%s\t%s\ttimeouts_ratio_median\t%.4f\n", impl, c, r[int((NR + 1) / 2)]
      printf "RESULT\tserver\t%s\t%s\ttimeouts_ratio_lo\t%.4f\n", impl, c, r[1]
      printf "RESULT\tserver\t%s\t%s\ttimeouts_ratio_hi\t%.4f\n", impl, c, r[NR]
    }' >>"$results"
done
for impl in "${paired[@]}"; do
  server_pid=${pids[$impl]}
  stop_server
done
