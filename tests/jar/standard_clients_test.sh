#!/usr/bin/env bash
# The servers with ordinary clients, as the README shows them: curl and wrk
# against `http` (on one loop, then on two), two nc clients against `chat` on two loops,
# then SIGTERM/SIGINT and a clean exit. Loopback only; every wait is a bounded
# poll of a condition.
#
#   tests/jar/standard_clients_test.sh path/to/eventwatcher-examples-<version>.jar
set -euo pipefail
# Job control: background jobs get their own process group and keep SIGINT's
# default disposition (a plain script starts them with SIGINT ignored).
set -m

jar="$(realpath "$1")"
work="$(mktemp -d)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -KILL "${pid}" 2> /dev/null || true; done
  rm -rf "${work}"
}
trap cleanup EXIT

passed=0
failed=0
check() { # check NAME COMMAND...: runs the command, counts the verdict
  local name="$1"
  shift
  if "$@"; then
    echo "standard-clients: PASS ${name}"
    passed=$((passed + 1))
  else
    echo "standard-clients: FAIL ${name}"
    failed=$((failed + 1))
  fi
}

# until_true SECONDS COMMAND...: polls COMMAND every 50 ms, at most SECONDS.
until_true() {
  local deadline=$((SECONDS + $1))
  shift
  until "$@"; do
    ((SECONDS < deadline)) || return 1
    sleep 0.05
  done
}

# start_server NAME ARGS...: runs `java -jar` in the background, logging to
# ${work}/NAME.log, and sets `port` from its banner.
start_server() {
  local name="$1"
  shift
  java -jar "${jar}" "$@" --port 0 > "${work}/${name}.log" 2>&1 &
  pids+=("$!")
  server_pid=$!
  until_true 20 grep -q 'listening on' "${work}/${name}.log"
  port="$(grep -o '127\.0\.0\.1:[0-9]*' "${work}/${name}.log" | head -1 | cut -d: -f2)"
}

stops_cleanly() { # stops_cleanly SIGNAL NAME
  kill "-$1" "${server_pid}"
  local status=0
  wait "${server_pid}" || status=$?
  [[ "${status}" -eq 0 ]] && grep -q '^stopped$' "${work}/$2.log"
}

missing=()
for tool in curl wrk nc; do command -v "${tool}" > /dev/null || missing+=("${tool}"); done
if ((${#missing[@]})); then
  # Failing, not skipping: "works with ordinary clients" must not pass unchecked.
  # (build.sh test installs them when run as root.)
  echo "standard-clients: FAIL, not installed: ${missing[*]} (Debian: curl wrk netcat-openbsd)"
  echo "standard-clients: set EVENTWATCHER_SKIP_CLIENT_TESTS=1 to skip this test knowingly"
  [[ "${EVENTWATCHER_SKIP_CLIENT_TESTS:-0}" == 1 ]]
  exit
fi

# --- http: curl for each route, wrk for load with keep-alive ---
start_server http http
base="http://127.0.0.1:${port}"
check "curl GET /" test "$(curl -s "${base}/")" = "Hello from eventwatcher"
check "curl GET /stats" grep -q '"requests":' <(curl -s "${base}/stats")
check "curl 404" test "$(curl -s -o /dev/null -w '%{http_code}' "${base}/missing")" = 404
check "curl 405" test "$(curl -s -o /dev/null -w '%{http_code}' -X DELETE "${base}/")" = 405
wrk -t1 -c20 -d1s "${base}/" > "${work}/wrk.txt"
check "wrk keep-alive load" bash -c "grep -q 'Requests/sec' '${work}/wrk.txt' && ! grep -qE 'Non-2xx|Socket errors' '${work}/wrk.txt'"
check "http stops on SIGTERM with status 0" stops_cleanly TERM http

# --- http --threads 2: wrk's 20 connections spread over two loops ---
start_server http2 http --threads 2
base="http://127.0.0.1:${port}"
check "http --threads 2 banner" grep -q 'on 2 loops' "${work}/http2.log"
wrk -t2 -c20 -d1s "${base}/" > "${work}/wrk2.txt"
check "wrk keep-alive load on 2 loops" bash -c "grep -q 'Requests/sec' '${work}/wrk2.txt' && ! grep -qE 'Non-2xx|Socket errors' '${work}/wrk2.txt'"
check "/stats sums both loops" grep -q '"loops":2' <(curl -s "${base}/stats")
check "http --threads 2 stops on SIGTERM with status 0" stops_cleanly TERM http2

# --- chat on two loops: two nc clients, each sees the other's line ---
start_server chat chat --threads 2
check "chat --threads 2 banner" grep -q 'on 2 loops' "${work}/chat.log"
mkfifo "${work}/to-nc1" "${work}/to-nc2"
nc 127.0.0.1 "${port}" < "${work}/to-nc1" > "${work}/nc1.out" &
pids+=("$!")
disown "$!" # the cleanup kills what is left, without job-control chatter
nc 127.0.0.1 "${port}" < "${work}/to-nc2" > "${work}/nc2.out" &
pids+=("$!")
disown "$!"
exec 3> "${work}/to-nc1" 4> "${work}/to-nc2" # hold the fifos open: nc keeps its input
connected() { [[ "$(grep -c ' connected$' "${work}/chat.log")" -eq 2 ]]; }
check "two nc clients connect" until_true 20 connected
echo "hello from nc1" >&3
echo "hello from nc2" >&4
check "nc2 receives nc1's line" until_true 20 grep -qx 'hello from nc1' "${work}/nc2.out"
check "nc1 receives nc2's line" until_true 20 grep -qx 'hello from nc2' "${work}/nc1.out"
check "chat stops on SIGINT with status 0" stops_cleanly INT chat
check "chat summary counts both loops' clients" grep -q 'summary: connections=2 .* lines=2 ' "${work}/chat.log"
exec 3>&- 4>&-

echo "standard-clients: ${passed} passed, ${failed} failed"
[[ "${failed}" -eq 0 ]]
