#!/usr/bin/env bash
# Workload 8: several loops. The HTTP and chat servers on 1 and 2 loops, Netty's
# HTTP peer on 1 and 2 threads, and the cost of handing a connection to another loop.
#
#   bench/run-loops.sh RESULTS_TSV WARMUP_S DURATION_S CONNECTIONS...
#
# Environment: BENCH_JAR (benchmarks.jar), EXAMPLES_JAR (the examples' runnable
# jar); ROUNDS (default 3) alternating rounds; CHAT_RATES (default "250 750 1500
# max": rounds per second that ChatLoad offers, "max" for as fast as its window
# allows); CHAT_BIG (default 10000) clients for the exactly-once run over two
# loops; HANDOFF_FDS (default 5000) descriptors per hand-off round.
#
# Nothing is pinned: a second loop needs the second core, which the load
# generator (wrk, or ChatLoad's one thread) then shares; every server runs under
# the same conditions. The servers of a comparison are all up at once (an idle
# one uses no CPU) and measured in ROUNDS alternating rounds; each reports its
# median round, and the ratio 2 loops / 1 loop of each round (two runs back to
# back) gives a median and a range. The server's CPU time is utime + stime of
# its whole process. Appends RESULT lines (see bench/README.md) to RESULTS_TSV;
# fails if a server does not start or dies, wrk fails, or ChatLoad sees a line
# lost, repeated or out of order. Judges no number.
set -euo pipefail

if (($# < 4)); then
  echo "usage: $0 RESULTS_TSV WARMUP_S DURATION_S CONNECTIONS..." >&2
  exit 2
fi
results=$1 warmup=$2 duration=$3
shift 3
connections=("$@")
: "${BENCH_JAR:?}" "${EXAMPLES_JAR:?}"
rounds=${ROUNDS:-3}
read -r -a chat_rates <<<"${CHAT_RATES:-250 750 1500 max}"
chat_big=${CHAT_BIG:-10000}
handoff_fds=${HANDOFF_FDS:-5000}
# shellcheck source=servers-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/servers-lib.sh"
server_cpu=() load_cpu=()
base_dir=$(dirname "$results")

# --- HTTP: 1 and 2 loops, beside Netty's EpollEventLoopGroup with 1 and 2 threads ---
workload=loops-http
log_dir=$base_dir/loops-http
mkdir -p "$log_dir"
declare -A commands=(
  [java-api-1]="java ${java_flags[*]} -jar $EXAMPLES_JAR http --port 0 --threads 1"
  [java-api-2]="java ${java_flags[*]} -jar $EXAMPLES_JAR http --port 0 --threads 2"
  [netty-epoll-1]="java ${java_flags[*]} -cp $BENCH_JAR io.eventwatcher.bench.servers.NettyHttpServer 0 1"
  [netty-epoll-2]="java ${java_flags[*]} -cp $BENCH_JAR io.eventwatcher.bench.servers.NettyHttpServer 0 2"
)
http=(java-api-1 java-api-2 netty-epoll-1 netty-epoll-2)
start_servers "${http[@]}"
for c in "${connections[@]}"; do
  alternate_rounds "$results" "$c" "${http[@]}"
  round_ratios "$results" "$c" loops_ratio java-api-2 java-api-1
  round_ratios "$results" "$c" loops_ratio netty-epoll-2 netty-epoll-1
done
stop_servers "${http[@]}"

# --- chat fan-out: 100 clients, 20 of them talking, on 1 and 2 loops ---
workload=chat cpu_metric=cpu_ns_per_delivery
log_dir=$base_dir/loops-chat
mkdir -p "$log_dir"
commands=(
  [java-api-1]="java ${java_flags[*]} -jar $EXAMPLES_JAR chat --port 0 --threads 1"
  [java-api-2]="java ${java_flags[*]} -jar $EXAMPLES_JAR chat --port 0 --threads 2"
)
chat=(java-api-1 java-api-2)
# chat_load IMPL PARAM CLIENTS SENDERS RATE SECONDS: ChatLoad against the server IMPL.
chat_load() {
  local impl=$1 param=$2 clients=$3 senders=$4 rate=$5 seconds=$6
  [[ "$rate" == max ]] && rate=0
  java -cp "$BENCH_JAR" io.eventwatcher.bench.probes.ChatLoad "$workload" "$impl" "$param" \
    "${ports[$impl]}" "${pids[$impl]}" "$clients" "$senders" "$rate" "$warmup" "$seconds"
  kill -0 "${pids[$impl]}" 2>/dev/null || { echo "the chat server $impl died" >&2; exit 1; }
}
start_servers "${chat[@]}"
for rate in "${chat_rates[@]}"; do
  for round in $(seq "$rounds"); do
    for impl in "${chat[@]}"; do
      chat_load "$impl" "$rate" 100 20 "$rate" "$duration" >"$log_dir/$impl-$rate-$round.result"
      sed "s/^/  $impl, $rate rounds\/s, round $round: /" "$log_dir/$impl-$rate-$round.result" >&2
    done
  done
  append_medians "$results" "$rate" "${chat[@]}"
  round_ratios "$results" "$rate" loops_ratio java-api-2 java-api-1
done
stop_servers "${chat[@]}"

# --- chat_big clients over 2 loops, 10 talking: every line to every client once, in order ---
workload=chat-big
log_dir=$base_dir/loops-chat-big
mkdir -p "$log_dir"
start_servers java-api-2
chat_load java-api-2 "$chat_big" "$chat_big" 10 max "$duration" | tee -a "$results" >&2
stop_servers java-api-2
# The summary the server logs at exit: how the kernel spread the clients over the loops.
sed -n 's/.*connections_per_loop=\([0-9]*\),\([0-9]*\).*/\1 \2/p' "$log_dir/java-api-2.log" | tail -1 |
  awk -v w="$workload" -v p="$chat_big" '
    NF == 2 {
      printf "RESULT\t%s\tjava-api-2\t%s\tclients_loop_0\t%d\n", w, p, $1
      printf "RESULT\t%s\tjava-api-2\t%s\tclients_loop_1\t%d\n", w, p, $2
      found = 1
    }
    END { if (!found) { print "no connections_per_loop in the chat server log" > "/dev/stderr"; exit 1 } }' \
    >>"$results"

# --- hand-off: a loop giving descriptors to another loop ---
printf '\n== hand-off: HandoffProbe %s %s\n' "$handoff_fds" "$rounds" >&2
java --enable-native-access=ALL-UNNAMED -cp "$BENCH_JAR" io.eventwatcher.bench.probes.HandoffProbe \
  "$handoff_fds" "$rounds" | tee -a "$results" >&2
