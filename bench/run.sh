#!/usr/bin/env bash
# Every benchmark workload against its peers in one run, then the report.
#
#   bench/run.sh           full run (~45 min): docs/BENCHMARKS.md and docs/bench/
#   bench/run.sh --quick   CI smoke (~2-4 min): bench/target/quick/BENCHMARKS.md
#   bench/run.sh [--quick] --only SECTION
#                          one section (dispatch, tasks, churn, executor, memory,
#                          idle, servers, timers, loops, fdio): a page of that section only,
#                          bench/target/{full,quick}/SECTION/BENCHMARKS.md
#
# Called by `./build.sh bench [--quick]`, which first builds the release
# native library and installs the library jar into ~/.m2; this script builds
# the benchmark programs (build/bench) and benchmarks.jar itself. Needs wrk,
# taskset and python3. See bench/README.md for the workloads and the result
# format. Exits non-zero if a program fails or a workload has no result; no
# number is judged.
set -euo pipefail

quick=false only=""
sections=" dispatch tasks churn executor memory idle servers timers loops fdio "
usage() { echo "usage: $0 [--quick] [--only SECTION] (SECTION:$sections)" >&2; exit 2; }
while (($#)); do
  case "$1" in
    --quick) quick=true ;;
    --only) [[ $# -ge 2 && "$sections" == *" $2 "* ]] || usage; only=$2; shift ;;
    *) usage ;;
  esac
  shift
done
want() { [[ -z "$only" || "$only" == "$1" ]]; } # want SECTION: whether this run measures it

bench_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$bench_dir")
cd "$root"

# 100,000 watched fds need 100,000 descriptors: root may raise the hard limit,
# but a sandbox without CAP_SYS_RESOURCE may not. The largest watched count
# that fits (rounded down to thousands, at most 100,000) stands in for it.
ulimit -Hn 1048576 2>/dev/null || true
ulimit -Sn "$(ulimit -Hn)"
most_fds=$((($(ulimit -Hn) - 2000) / 1000 * 1000))
((most_fds > 100000)) && most_fds=100000

if $quick; then
  dispatch_params=(1 1000 "$most_fds/100")
  native_dispatch=(200 1 500)            # warm-up ms, iterations, ms per iteration
  jmh_args=(-f 1 -wi 1 -w 500ms -i 1 -r 500ms)
  task_args=(200 500 4)                  # warm-up ms, measured ms, submitter threads
  churn_args=(200 500)
  memory_fds=$((most_fds < 10000 ? most_fds : 10000)) idle_seconds=1
  server_args=(1 1 50)                   # warm-up s, measured s, connection counts...
  timer_pending=1000 lateness_samples=50 timer_count=10000
  loops_args=(1 1 50)                    # warm-up s, measured s, HTTP connection counts...
  loops_env=(ROUNDS=1 "CHAT_RATES=750 max" CHAT_BIG=2000 HANDOFF_FDS=1000)
  fdio_args=(1 2000 10000 1000 50 65536)  # rounds, ping-pong warm-up and round trips, parked threads, children, bytes each
  jvm_flags=(-Djmh.ignoreLock=true)      # a smoke run judges no timing: never refuse to run
  out_dir="$bench_dir/target/quick" report="$bench_dir/target/quick/BENCHMARKS.md"
else
  dispatch_params=(1 100 1000 10000 "$most_fds/100")
  native_dispatch=(1000 5 1000)
  jmh_args=(-f 1 -wi 3 -w 1s -i 5 -r 1s)
  task_args=(2000 5000 4)
  churn_args=(1000 5000)
  memory_fds=$most_fds idle_seconds=10
  server_args=(5 10 50 500 5000)
  export ROUNDS=7                        # alternating rounds of the servers' timeouts on/off
  timer_pending=1000,100000,1000000 lateness_samples=2000 timer_count=1000000
  loops_args=(2 4 50 500 5000)
  fdio_args=(5 20000 100000 10000 500 1048576)
  loops_env=(ROUNDS=5 "CHAT_RATES=250 750 1500 max" "CHAT_BIG=$(((most_fds - 1000) < 10000 ? most_fds - 1000 : 10000))" HANDOFF_FDS=$(((most_fds / 2 - 500) < 5000 ? most_fds / 2 - 500 : 5000)))
  jvm_flags=()                           # JMH's lock: one measurement at a time
  out_dir="$bench_dir/target/full" report="$root/docs/BENCHMARKS.md"
fi
if [[ -n "$only" ]]; then out_dir+="/$only" report="$out_dir/BENCHMARKS.md"; fi
run_dir="$out_dir/run"
rm -rf "$run_dir"
mkdir -p "$run_dir"
results="$run_dir/results.tsv"
: >"$results"

step() { printf '\n== %s\n' "$*" >&2; }
# record CMD...: runs a program, keeps its RESULT lines, shows the rest.
record() {
  "$@" | tee -a "$run_dir/stdout.log" | { grep '^RESULT' || true; } >>"$results"
}

step "building the benchmark programs (build/bench) and benchmarks.jar"
cmake -S "$root" -B "$root/build/bench" -DCMAKE_BUILD_TYPE=Release -DEVENTWATCHER_BUILD_BENCH=ON \
  -DEVENTWATCHER_BUILD_TESTS=OFF -DEVENTWATCHER_BUILD_JNI=OFF >/dev/null
cmake --build "$root/build/bench" -j 2 >/dev/null
native="$root/build/bench/bench/native"
mvn -B -q -ntp -f "$bench_dir/pom.xml" package
bench_jar="$bench_dir/target/benchmarks.jar"
baseline_jar="$bench_dir/target/baseline/benchmarks.jar"
if want executor; then
  step "building benchmarks.jar against the baseline library (bench/baseline.sh)"
  "$bench_dir/baseline.sh"
fi

jmh_pin=()
jmh_jar=$bench_jar
jmh() { # jmh NAME CLASS [JMH args...]: one JMH run, JSON into the run folder (jmh_pin: a prefix)
  local name=$1 cls=$2
  shift 2
  local cmd=("${jmh_pin[@]}" java "${jvm_flags[@]}" -jar "$jmh_jar" "$cls" "${jmh_args[@]}" -foe true "$@"
    -rf json -rff "$run_dir/jmh-$name.json" -jvmArgsAppend --enable-native-access=ALL-UNNAMED)
  step "${cmd[*]}"
  "${cmd[@]}" >"$run_dir/jmh-$name.log"
  sed -n '/^Benchmark /,$p' "$run_dir/jmh-$name.log" >&2
}

if want dispatch; then
  step "1. dispatch"
  # C and the C++ core alternate, three rounds each: on a shared VM a neighbour's
  # burst lands on one run, not on one program; the report takes the median.
  for p in "${dispatch_params[@]}"; do
    ready=${p#*/} watched=${p%/*}
    for _ in 1 2 3; do
      for program in epoll_dispatch core_dispatch; do
        record "$native/$program" "$ready" "$watched" "${native_dispatch[@]}"
      done
    done
  done
  fds_csv=$(IFS=,; echo "${dispatch_params[*]}")
  jmh dispatch DispatchBenchmark -p fds="$fds_csv" -prof gc
fi

# Every task peer runs on CPU 0 only: across two vCPUs a round trip is dominated
# by waking the idle one (45-70 us on a VM whose idle CPUs halt), and the
# scheduler picks one placement or the other from run to run. On one CPU each
# round trip is two context switches plus the library's own work, for all peers.
if want tasks; then
  step "2. tasks (pinned to CPU 0)"
  pin=()
  command -v taskset >/dev/null && pin=(taskset -c 0)
  for program in epoll_pingpong core_tasks; do record "${pin[@]}" "$native/$program" "${task_args[@]}"; done
  jmh_pin=("${pin[@]}")
  jmh task-latency TaskLatencyBenchmark
  jmh task-throughput TaskThroughputBenchmark
  jmh_pin=()
fi

if want churn; then
  step "3. churn"
  for program in epoll_churn core_churn; do record "$native/$program" "${churn_args[@]}"; done
  jmh churn ChurnBenchmark
fi

if want executor; then
  step "3b. executor mode, and cross-thread churn, against the baseline library too"
  jmh executor ExecutorBenchmark
  jmh_jar=$baseline_jar
  jmh executor-baseline ExecutorBenchmark
  jmh churn-baseline 'ChurnBenchmark.javaApiCrossThread'
  jmh_jar=$bench_jar
fi

if want memory; then
  step "5. memory"
  record "$native/core_memory" "$memory_fds"
  for impl in java-api jdk-selector; do
    record java -Xint -Xms1g -Xmx1g -XX:+AlwaysPreTouch -XX:+UseSerialGC --enable-native-access=ALL-UNNAMED \
      -cp "$bench_jar" io.eventwatcher.bench.probes.MemoryProbe "$impl" "$memory_fds"
  done
fi

if want idle; then
  step "6. idle: all five loops side by side for ${idle_seconds} s"
  idle_logs=()
  for cmd in "$native/epoll_idle $idle_seconds" "$native/core_idle $idle_seconds" \
    "java --enable-native-access=ALL-UNNAMED -cp $bench_jar io.eventwatcher.bench.probes.IdleProbe java-api $idle_seconds" \
    "java -cp $bench_jar io.eventwatcher.bench.probes.IdleProbe jdk-selector $idle_seconds" \
    "java -cp $bench_jar io.eventwatcher.bench.probes.IdleProbe netty-epoll $idle_seconds"; do
    idle_logs+=("$run_dir/idle-${#idle_logs[@]}.log")
    # shellcheck disable=SC2086 # the command is a word list on purpose
    $cmd >"${idle_logs[-1]}" &
  done
  failed=0
  for _ in "${idle_logs[@]}"; do wait -n || failed=1; done
  ((failed == 0)) || { cat "${idle_logs[@]}" >&2; exit 1; }
  cat "${idle_logs[@]}" | grep '^RESULT' >>"$results"
fi

if want servers; then
  step "4. servers"
  examples_jar=$(ls "$root"/java/examples/target/eventwatcher-examples-*.jar | grep -v original | head -1)
  NATIVE_DIR="$native" BENCH_JAR="$bench_jar" EXAMPLES_JAR="$examples_jar" \
    "$bench_dir/run-servers.sh" "$results" "${server_args[@]}"
fi

if want timers; then
  step "7. timers"
  jmh timers TimerBenchmark -p pending="$timer_pending"
  # One implementation at a time, each alone on the machine: lateness is mostly wake-up latency.
  record "$native/epoll_lateness" "$lateness_samples"
  for impl in java-api jdk-stpe netty-epoll netty-wheel; do
    record java --enable-native-access=ALL-UNNAMED -cp "$bench_jar" \
      io.eventwatcher.bench.probes.TimerLatenessProbe "$impl" "$lateness_samples"
  done
  for impl in java-api jdk-stpe netty-epoll netty-wheel; do
    record java -Xint -Xms1g -Xmx1g -XX:+AlwaysPreTouch -XX:+UseSerialGC --enable-native-access=ALL-UNNAMED \
      -cp "$bench_jar" io.eventwatcher.bench.probes.TimerMemoryProbe "$impl" "$timer_count"
  done
fi

if want loops; then
  step "8. several loops (nothing pinned)"
  examples_jar=$(ls "$root"/java/examples/target/eventwatcher-examples-*.jar | grep -v original | head -1)
  env "${loops_env[@]}" BENCH_JAR="$bench_jar" EXAMPLES_JAR="$examples_jar" \
    "$bench_dir/run-loops.sh" "$results" "${loops_args[@]}"
fi

if want fdio; then
  step "9. blocking I/O on any fd, and child processes (JDK 25 for virtual threads; nothing pinned)"
  java25=/usr/lib/jvm/temurin-25-jdk-amd64/bin/java
  [[ -x "$java25" ]] || java25=java # the probes fail clearly on a JDK without virtual threads
  read -r fdio_rounds pp_warmup pp_rounds parked children child_bytes <<<"${fdio_args[*]}"
  # 2 fds per pipe: where COUNT pipes do not fit the fd limit, eventfds (one fd each) stand in.
  parked_kind=pipe
  ((2 * parked + 1000 > $(ulimit -Hn))) && parked_kind=eventfd
  probe() { record "$java25" --enable-native-access=ALL-UNNAMED --add-opens java.base/java.io=ALL-UNNAMED \
    -cp "$bench_jar" "io.eventwatcher.bench.fdio.$@"; }
  for ((round = 0; round < fdio_rounds; round++)); do # alternating rounds; the report takes medians
    for impl in fdchannel-virtual jdk-pipe-virtual fis-platform; do
      probe PipePingPongProbe "$impl" "$pp_warmup" "$pp_rounds"
    done
    for impl in fdchannel-virtual fis-platform; do probe ParkedThreadsProbe "$impl" "$parked" "$parked_kind"; done
    for impl in subprocess processbuilder nuprocess; do probe ChildEchoProbe "$impl" "$children" "$child_bytes"; done
  done
  echo "RESULT	parked	fdchannel-virtual	$parked	kind_is_pipe	$([[ $parked_kind == pipe ]] && echo 1 || echo 0)" >>"$results"
fi

command_line="./build.sh bench"
if $quick; then command_line+=" --quick"; fi
if [[ -n "$only" ]]; then command_line+=" --only $only"; fi
{
  echo "command=$command_line"
  echo "date=$(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "machine=$(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -1), $(nproc) CPUs, $(free -g | awk '/^Mem:/ { print $2 }') GiB"
  echo "kernel=Linux $(uname -r)"
  echo "jdk=$(java -version 2>&1 | head -1); section 9 on $(/usr/lib/jvm/temurin-25-jdk-amd64/bin/java -version 2>&1 | head -1)"
  echo "compiler=$(gcc --version | head -1)"
  echo "baseline=$(tr -d '[:space:]' <"$bench_dir/baseline.txt") (bench/baseline.txt), $(git -C "$root" log -1 --format=%s "$(tr -d '[:space:]' <"$bench_dir/baseline.txt")")"
  echo "netty=$(sed -n 's|.*<netty.version>\(.*\)</netty.version>.*|\1|p' "$bench_dir/pom.xml") (netty-transport-native-epoll)"
  echo "wrk=$(wrk -v 2>&1 | head -1)"
  echo "fd_limit=$(ulimit -Hn) (hard RLIMIT_NOFILE: the most watched fds measured is $most_fds)"
  echo "durations=dispatch ${native_dispatch[*]} (C/C++ warm-up ms, iterations, ms) and JMH ${jmh_args[*]}; tasks ${task_args[*]}; churn ${churn_args[*]}; servers ${server_args[*]} (warm-up s, measured s, connections); loops ${loops_args[*]} (warm-up s, measured s, HTTP connections) with ${loops_env[*]}; timers: JMH with ${timer_pending} pending, lateness ${lateness_samples} samples, memory with ${timer_count} pending; fdio ${fdio_args[*]} (rounds, ping-pong warm-up and round trips, parked threads, children, bytes each)"
} >"$run_dir/meta.txt"

step "report: $report"
mkdir -p "$(dirname "$report")"
python3 "$bench_dir/report.py" "$run_dir" "$report" ${only:+--only "$only"}
sed -n '/^## Targets/,/^## [0-9]/p' "$report" | head -n -1
