#!/usr/bin/env bash
# Builds the core fuzzer in build/fuzz and runs it for SECONDS on a copy of
# tests/fuzz/corpus (the committed corpus is never changed). Exits non-zero
# on any crash, leak or timeout; the failing input is kept in
# build/fuzz/artifacts/ (replay: build/fuzz/tests/fuzz/eventwatcher_fuzz FILE).
#
#   tests/fuzz/run.sh SECONDS
#
# Needs clang-14 and libclang-rt-14-dev (libFuzzer): installed here with
# apt-get when running as root, otherwise the script says what to install.
set -euo pipefail

seconds="${1:?usage: tests/fuzz/run.sh SECONDS}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="${root}/build/fuzz"
packages=(clang-14 libclang-rt-14-dev)

die() {
  printf 'tests/fuzz/run.sh: %s\n' "$*" >&2
  exit 1
}

have_clang() {
  command -v clang++-14 > /dev/null &&
    compgen -G '/usr/lib/llvm-14/lib/clang/*/lib/linux/libclang_rt.fuzzer-*.a' > /dev/null
}

if ! have_clang; then
  [[ $(id -u) -eq 0 ]] || die "needs ${packages[*]}: apt-get install -y ${packages[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y "${packages[@]}" || { apt-get update && apt-get install -y "${packages[@]}"; }
  have_clang || die "clang++-14 or libFuzzer still missing after installing ${packages[*]}"
fi

cmake -S "${root}" -B "${build}" -DCMAKE_CXX_COMPILER=clang++-14 -DCMAKE_BUILD_TYPE=Debug \
  -DEVENTWATCHER_BUILD_FUZZ=ON -DEVENTWATCHER_BUILD_TESTS=OFF -DEVENTWATCHER_BUILD_JNI=OFF \
  -DEVENTWATCHER_DEBUG_CHECKS=ON -DCMAKE_CXX_FLAGS='-fsanitize=fuzzer-no-link,address,undefined'
cmake --build "${build}" -j2

corpus="$(mktemp -d)"
trap 'rm -rf "${corpus}"' EXIT
cp "${root}"/tests/fuzz/corpus/* "${corpus}/"
mkdir -p "${build}/artifacts"
# -entropic=0: libFuzzer 14's entropic schedule spends ~90% of the time
# ranking this target's many features (10x fewer executions per second).
"${build}/tests/fuzz/eventwatcher_fuzz" "${corpus}" -max_total_time="${seconds}" -timeout=10 \
  -rss_limit_mb=2048 -entropic=0 -print_final_stats=1 -artifact_prefix="${build}/artifacts/"
