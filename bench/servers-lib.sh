#!/usr/bin/env bash
# What the server workloads share (sourced by run-servers.sh and run-loops.sh):
# starting and stopping a server process, loading it with wrk, reading its CPU
# time from /proc, and alternating rounds with their median and ratios.
#
# The sourcing script sets, after sourcing: commands (impl id -> command line; every server
# prints "...127.0.0.1:PORT..." once listening), log_dir, warmup, duration,
# rounds, server_cpu and load_cpu (command prefixes, e.g. taskset, or empty),
# and workload (the RESULT lines' workload). The library sets an EXIT trap that
# kills every server it started (cleanup); a script with its own EXIT trap must
# call cleanup from it.

ticks_per_s=$(getconf CLK_TCK)
# IPv4 sockets, as the C and C++ servers use (the JDK's are dual-stack IPv6 otherwise).
java_flags=(-Xms512m -Xmx512m -Djava.net.preferIPv4Stack=true --enable-native-access=ALL-UNNAMED)
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
  awk -v w="$workload" -v impl="$impl" -v c="$c" -v cpu_s="$(((after - before)))" -v hz="$ticks_per_s" '
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
      printf "RESULT\t%s\t%s\t%s\treq_per_s\t%s\n", w, impl, c, rps
      printf "RESULT\t%s\t%s\t%s\tp50_us\t%s\n", w, impl, c, p50
      printf "RESULT\t%s\t%s\t%s\tp99_us\t%s\n", w, impl, c, p99
      printf "RESULT\t%s\t%s\t%s\tcpu_us_per_req\t%.4f\n", w, impl, c, cpu_s / hz / requests * 1e6
      printf "RESULT\t%s\t%s\t%s\terrors\t%d\n", w, impl, c, errors
    }' "$out" || { echo "no requests in $out" >&2; exit 1; }
}

# cpu_of RESULT_FILE: its CPU figure, the metric named by cpu_metric.
cpu_metric=cpu_us_per_req
cpu_of() { awk -F'\t' -v m="$cpu_metric" '$5 == m { print $6 }' "$1"; }

# median_round FILE...: the RESULT lines of the round whose CPU figure is the median.
median_round() {
  local f
  for f in "$@"; do printf '%s\t%s\n' "$(cpu_of "$f")" "$f"; done |
    sort -g | awk -v n="$#" 'NR == int((n + 1) / 2) { print $2 }' | xargs cat
}


declare -A pids ports # impl -> pid and port of the servers that alternate_rounds loads

# start_servers IMPL...: starts each (all up at once: an idle one uses no CPU), into pids/ports.
start_servers() {
  local impl
  for impl in "$@"; do
    printf '\n== server %s: %s\n' "$impl" "${commands[$impl]}" >&2
    start_server "$impl"
    pids[$impl]=$server_pid ports[$impl]=$port
  done
}

# stop_servers IMPL...
stop_servers() {
  local impl
  for impl in "$@"; do
    server_pid=${pids[$impl]}
    stop_server
  done
}

# alternate_rounds RESULTS C IMPL...: warms each server up with wrk at C connections, then
# measures them in $rounds alternating rounds (each round runs every IMPL once, back to back,
# so that a drift of the machine hits all alike); appends each IMPL's median round to RESULTS.
# Leaves the rounds in $log_dir/IMPL-C-ROUND.result for round_ratios.
alternate_rounds() {
  local results=$1 c=$2 impl round
  shift 2
  for impl in "$@"; do
    server_pid=${pids[$impl]} port=${ports[$impl]}
    load "$c" "$warmup" "$log_dir/$impl-$c.wrk.warmup"
  done
  for round in $(seq "$rounds"); do
    for impl in "$@"; do
      server_pid=${pids[$impl]} port=${ports[$impl]}
      measure "$impl" "$c" "$log_dir/$impl-$c-$round.wrk" >"$log_dir/$impl-$c-$round.result"
    done
  done
  append_medians "$results" "$c" "$@"
}

# append_medians RESULTS PARAM IMPL...: appends each IMPL's median round of
# $log_dir/IMPL-PARAM-ROUND.result to RESULTS.
append_medians() {
  local results=$1 param=$2 impl round files
  shift 2
  for impl in "$@"; do
    files=()
    for round in $(seq "$rounds"); do files+=("$log_dir/$impl-$param-$round.result"); done
    median_round "${files[@]}" >>"$results"
  done
}

# round_ratios RESULTS PARAM NAME NUM DEN: the CPU figure of NUM over DEN's in each round (two
# runs back to back) of $log_dir/IMPL-PARAM-ROUND.result; appends their median, lowest and
# highest as NUM's metrics NAME_median, NAME_lo and NAME_hi at PARAM.
round_ratios() {
  local results=$1 param=$2 name=$3 num=$4 den=$5 round
  for round in $(seq "$rounds"); do
    paste <(cpu_of "$log_dir/$num-$param-$round.result") <(cpu_of "$log_dir/$den-$param-$round.result")
  done | awk '$2 > 0 { print $1 / $2 }' | sort -g | awk -v w="$workload" -v p="$param" -v impl="$num" -v n="$name" '
    { r[NR] = $1 }
    END {
      if (NR == 0) exit # no round with CPU time to divide by: no ratio
      printf "RESULT\t%s\t%s\t%s\t%s_median\t%.4f\n", w, impl, p, n, r[int((NR + 1) / 2)]
      printf "RESULT\t%s\t%s\t%s\t%s_lo\t%.4f\n", w, impl, p, n, r[1]
      printf "RESULT\t%s\t%s\t%s\t%s_hi\t%.4f\n", w, impl, p, n, r[NR]
    }' >>"$results"
}
