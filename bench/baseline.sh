#!/usr/bin/env bash
# Builds benchmarks.jar against the library as it was at the baseline commit
# (bench/baseline.txt: the last commit before the binding was rebuilt), so
# that run.sh can measure before and after side by side in one run.
#
#   bench/baseline.sh     -> bench/target/baseline/benchmarks.jar
#
# The baseline is checked out into a temporary git worktree (the clone's own
# history, nothing fetched), its native library and jar built as that commit
# built them, and the jar installed into ~/.m2 as
# io.eventwatcher:eventwatcher:0.1.0-baseline. Only public API is used by the
# benchmarks, so the same sources compile against both, except the timer
# benchmarks and probes (*Timer*.java) and the hand-off probe: the baseline has
# no timers and no EventWatcherGroup, and its jar leaves them out.
set -euo pipefail

bench_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$bench_dir")
commit=$(tr -d '[:space:]' <"$bench_dir/baseline.txt")
work=$(mktemp -d)
trap 'git -C "$root" worktree remove --force "$work/tree" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

git -C "$root" worktree add --detach "$work/tree" "$commit" >/dev/null 2>&1 ||
  { echo "baseline: commit $commit is not in this clone's history" >&2; exit 1; }
cmake -S "$work/tree" -B "$work/tree/build/release" -DCMAKE_BUILD_TYPE=Release \
  -DEVENTWATCHER_BUILD_TESTS=OFF >/dev/null
cmake --build "$work/tree/build/release" -j 2 >/dev/null
(cd "$work/tree/java" &&
  mvn -B -q -ntp -Dnative.resources="$work/tree/build/release/java-resources" package -DskipTests &&
  mvn -B -q -ntp install:install-file -Dfile="target/eventwatcher-0.1.0.jar" -DgroupId=io.eventwatcher \
    -DartifactId=eventwatcher -Dversion=0.1.0-baseline -Dpackaging=jar)
mvn -B -q -ntp -f "$bench_dir/pom.xml" package -Deventwatcher.version=0.1.0-baseline \
  -Dbench.buildDirectory="$bench_dir/target/baseline" -Dbench.exclude='**/*Timer*.java' \
  -Dbench.exclude.also='**/HandoffProbe.java' -Dbench.exclude.fdio='**/bench/fdio/**'
echo "baseline: $bench_dir/target/baseline/benchmarks.jar (library at $commit)" >&2
