#!/usr/bin/env bash
# Copies the built jar alone into an empty directory, compiles a small
# program against it, and runs that program from another directory on every
# JDK present (17 and Temurin 25): it must work with no JVM flag and print
# nothing on stderr (no native-access warning, no logging noise).
#
#   tests/jar/jar_alone_test.sh path/to/eventwatcher-<version>.jar
set -euo pipefail

jar="$(realpath "$1")"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "${work}"' EXIT

expected="smoke-loop read hello
task on loop thread: true
native watchers left: 0"

passed=0
failed=0
for jdk in /usr/lib/jvm/java-17-openjdk-amd64 /usr/lib/jvm/temurin-25-jdk-amd64; do
  if [[ ! -x "${jdk}/bin/java" ]]; then
    echo "jar-alone: ${jdk} not installed, skipped"
    continue
  fi
  dir="${work}/$(basename "${jdk}")"
  mkdir -p "${dir}/classes"
  cp "${jar}" "${dir}/eventwatcher.jar"
  # Compiled with this JDK's javac for Java 17, then packaged the way an
  # application would be: its own jar naming the library on its Class-Path.
  "${jdk}/bin/javac" --release 17 -cp "${dir}/eventwatcher.jar" -d "${dir}/classes" "${here}/Smoke.java"
  # The README's Java example, exactly as printed, must compile and run too:
  # the first Java block (the later ones are fragments, not programs).
  awk '/^```java$/ { inside = 1; next } inside && /^```$/ { exit } inside' \
    "${here}/../../README.md" > "${dir}/PipeExample.java"
  "${jdk}/bin/javac" --release 17 -cp "${dir}/eventwatcher.jar" -d "${dir}/classes" "${dir}/PipeExample.java"
  # The README's virtual-thread example (the block after its marker), on a
  # JDK with virtual threads.
  child_lines_ok=true
  if ! "${jdk}/bin/java" -version 2>&1 | head -1 | grep -q '"17\.'; then
    awk '/jar_alone_test.sh compiles and runs this block/ { marked = 1; next }
         marked && /^```java$/ { inside = 1; next } inside && /^```$/ { exit } inside' \
      "${here}/../../README.md" > "${dir}/ChildLines.java"
    "${jdk}/bin/javac" --release 21 -cp "${dir}/eventwatcher.jar" -d "${dir}/child" "${dir}/ChildLines.java"
    child_lines="$(cd / && "${jdk}/bin/java" --enable-native-access=ALL-UNNAMED \
      -cp "${dir}/child:${dir}/eventwatcher.jar" ChildLines 2>&1)" || child_lines_ok=false
    [[ "${child_lines}" == $'child: one\nchild: two\nexit 0' ]] || child_lines_ok=false
  fi
  printf 'Main-Class: Smoke\nClass-Path: eventwatcher.jar\nEnable-Native-Access: ALL-UNNAMED\n' > "${dir}/manifest.txt"
  "${jdk}/bin/jar" --create --file "${dir}/smoke.jar" --manifest "${dir}/manifest.txt" -C "${dir}/classes" .
  if output="$(cd / && "${jdk}/bin/java" -jar "${dir}/smoke.jar" 2> "${dir}/stderr")" &&
    [[ "${output}" == "${expected}" && ! -s "${dir}/stderr" ]] &&
    example="$(cd / && "${jdk}/bin/java" --enable-native-access=ALL-UNNAMED -cp "${dir}/smoke.jar" PipeExample 2>&1)" &&
    [[ "${example}" == "read 5 bytes" ]] && ${child_lines_ok}; then
    echo "jar-alone: PASS on $("${jdk}/bin/java" -version 2>&1 | head -1)"
    passed=$((passed + 1))
  else
    echo "jar-alone: FAIL on ${jdk}"
    echo "--- stdout:"
    echo "${output:-}"
    echo "--- stderr:"
    cat "${dir}/stderr"
    echo "--- README example:"
    echo "${example:-}"
    echo "--- README virtual-thread example:"
    echo "${child_lines:-}"
    failed=$((failed + 1))
  fi
done
echo "jar-alone: ${passed} passed, ${failed} failed"
[[ "${failed}" -eq 0 && "${passed}" -gt 0 ]]
