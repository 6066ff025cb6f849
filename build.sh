#!/usr/bin/env bash
# The single entry point of the project.
#
#   ./build.sh              build the release artifacts (native library, the
#                           library jar, the examples' runnable jar) and run
#                           the demo (java -jar eventwatcher-examples.jar demo)
#   ./build.sh test         build and run every test suite: googletest (ctest),
#                           JUnit under -Xcheck:jni, the jar alone on JDK 17/25,
#                           the servers under curl/wrk/nc, and the consumer
#                           tests against an install into build/consumer-prefix
#   ./build.sh install [--prefix DIR]
#                           install the C++ library into DIR (default /usr/local)
#                           and io.eventwatcher:eventwatcher into ~/.m2
#   ./build.sh bench [--quick]
#                           every benchmark against its peers (C epoll, C++
#                           core, JDK Selector, Netty): docs/BENCHMARKS.md;
#                           --quick is a few-minute smoke run (bench/target/quick)
#   ./build.sh sanitize address|thread
#                           run the native suite under ASan+UBSan or TSan
#   ./build.sh fuzz SECONDS run the core's model-based fuzz target (libFuzzer)
#   ./build.sh format       reformat C/C++ (clang-format) and Java (google-java-format)
#   ./build.sh format-check fail if any source is not formatted
#   ./build.sh help         this text
#
# Needs a JDK, Maven, CMake (>= 3.25) and g++ (>= 12). googletest comes from
# Debian's libgtest-dev: installed here with apt-get when running as root,
# otherwise the script says what to install.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
build_root="${root}/build"
jobs=2

log() { printf '==> %s\n' "$*"; }
die() {
  printf 'build.sh: %s\n' "$*" >&2
  exit 1
}

usage() { sed -n '2,27p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }

# googletest: Debian's libgtest-dev ships the static libraries and the CMake
# package config that find_package(GTest) uses.
have_gtest() {
  [[ -f /usr/include/gtest/gtest.h ]] &&
    compgen -G '/usr/lib/*/cmake/GTest/GTestConfig.cmake' > /dev/null
}

# apt_install WHAT PACKAGE...: installs Debian packages as root (after an
# apt-get update if the first try fails); otherwise says what to install.
apt_install() {
  local what="$1"
  shift
  if [[ "$(id -u)" -ne 0 ]]; then
    die "${what} is missing; install it with: sudo apt-get install -y $*"
  fi
  log "installing ${what} ($*) with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q "$@" > /dev/null ||
    { apt-get update -q > /dev/null && apt-get install -y -q "$@" > /dev/null; } ||
    die "apt-get could not install $*"
}

ensure_gtest() {
  have_gtest && return
  apt_install googletest libgtest-dev
  have_gtest || die "libgtest-dev installed but GTestConfig.cmake was not found"
}

# The ordinary clients the server tests drive: curl, wrk, nc.
ensure_client_tools() {
  command -v curl > /dev/null && command -v wrk > /dev/null && command -v nc > /dev/null && return
  if [[ "$(id -u)" -ne 0 ]]; then
    log "curl, wrk or nc missing (sudo apt-get install -y curl wrk netcat-openbsd); the server test will fail"
    return
  fi
  apt_install "curl, wrk and nc" curl wrk netcat-openbsd
}

# clang-format-14: Debian's clang-format-14, installed with apt-get as root.
ensure_clang_format() {
  command -v clang-format-14 > /dev/null || apt_install clang-format-14 clang-format-14
}

# pkg-config, for the consumer test of eventwatcher.pc.
ensure_pkg_config() {
  command -v pkg-config > /dev/null || apt_install pkg-config pkgconf
}

# The C and C++ sources under version control.
cxx_sources() {
  git -C "${root}" ls-files 'native/*.cpp' 'native/*.hpp' 'tests/*.cpp' 'tests/*.hpp' \
    'bench/native/*.c' 'bench/native/*.cpp' 'bench/native/*.h' | sed "s|^|${root}/|"
}

# configure_and_build DIR [cmake args...]
configure_and_build() {
  local dir="$1"
  shift
  cmake -S "${root}" -B "${dir}" "$@" > /dev/null
  cmake --build "${dir}" -j "${jobs}"
}

run_ctest() {
  (cd "$1" && ctest -j "${jobs}" --output-on-failure --timeout 300)
}

# The release native build: the C++ library, the demo and the JNI library
# that the jar bundles (build/release/java-resources/natives/linux_64/).
build_release_native() {
  log "building the native library and the JNI bridge (release)"
  configure_and_build "${build_root}/release" -DCMAKE_BUILD_TYPE=Release -DEVENTWATCHER_BUILD_TESTS=OFF
}

# mvn GOALS... in java/. The library's pom finds the release JNI library in
# build/release by default, as a user's plain `mvn install` does.
maven() {
  (cd "${root}/java" && mvn -B -ntp "$@")
}

project_version() {
  sed -n 's|^  <version>\(.*\)</version>|\1|p' "${root}/java/pom.xml" | head -1
}

# The library jar (what applications depend on) and the examples' runnable jar.
library_jar() { echo "${root}/java/eventwatcher/target/eventwatcher-$(project_version).jar"; }
examples_jar() { echo "${root}/java/examples/target/eventwatcher-examples-$(project_version).jar"; }

cmd_default() {
  build_release_native
  log "building the jars"
  maven -q clean package -DskipTests
  log "built the library:  $(library_jar)"
  log "built the examples: $(examples_jar)"
  log "running the demo: java -jar $(examples_jar) demo"
  java -jar "$(examples_jar)" demo
}

# The JUnit suite runs under -Xcheck:jni; any JNI warning fails the build,
# even when every test passed (the JVM only prints them).
run_java_suite() {
  local log_file="${build_root}/java-test.log"
  mkdir -p "${build_root}"
  log "running the Java suite under -Xcheck:jni"
  # install, not package: the consumer tests resolve the library from ~/.m2.
  if ! maven clean install -Dtest.jvm.flags=-Xcheck:jni 2>&1 | tee "${log_file}"; then
    die "the Java suite failed (log: ${log_file})"
  fi
  # Again on JDK 25 when present (the jar targets 17 and must run on both; 25
  # also has virtual threads for the executor tests). The jar is left as built:
  # test-compile finds every class up to date and packages nothing, yet it puts
  # the build in the session, so that the examples resolve the library from
  # eventwatcher/target (surefire:test alone would look for it in ~/.m2, where
  # it is missing or another checkout's).
  local jdk25=/usr/lib/jvm/temurin-25-jdk-amd64
  if [[ -x "${jdk25}/bin/java" ]]; then
    log "running the Java suite on $("${jdk25}/bin/java" -version 2>&1 | head -1) under -Xcheck:jni"
    if ! JAVA_HOME="${jdk25}" maven test-compile surefire:test -Dtest.jvm.flags=-Xcheck:jni 2>&1 | tee -a "${log_file}"; then
      die "the Java suite failed on JDK 25 (log: ${log_file})"
    fi
  fi
  if grep -nE 'WARNING in native method|FATAL ERROR in native method|JNI local refs: [0-9]+, exceeds capacity|Warning: SIG[A-Z0-9]+ handler modified|Warning: Calling other JNI functions' "${log_file}"; then
    die "-Xcheck:jni reported the JNI misuse above (log: ${log_file})"
  fi
}

# The C++ library into PREFIX (cmake --install of the release build).
install_native() {
  log "installing the C++ library into $1"
  cmake --install "${build_root}/release" --prefix "$1" > /dev/null
}

# The jar first: it goes to the caller's own ~/.m2 and needs no privilege,
# while the default prefix /usr/local needs root. As root, ldconfig then makes
# the new shared library known to the dynamic loader.
cmd_install() {
  local usage="usage: ./build.sh install [--prefix DIR]" prefix=/usr/local
  case "$#:${1:-}" in
    0:) ;;
    2:--prefix) prefix="$2" ;;
    1:--prefix=?*) prefix="${1#--prefix=}" ;;
    *) die "${usage}" ;;
  esac
  [[ -n "${prefix}" ]] || die "${usage}"
  prefix="$(realpath -m -- "${prefix}")"
  build_release_native
  log "installing io.eventwatcher:eventwatcher:$(project_version) into the local Maven repository"
  maven -q clean install -DskipTests
  install_native "${prefix}"
  if [[ "$(id -u)" -eq 0 ]] && command -v ldconfig > /dev/null; then
    ldconfig
  fi
}

cmd_test() {
  ensure_gtest
  build_release_native
  log "building the native suite"
  configure_and_build "${build_root}/test" -DCMAKE_BUILD_TYPE=RelWithDebInfo
  log "running the native suite"
  run_ctest "${build_root}/test"
  run_java_suite
  log "running the jar alone on each JDK"
  "${root}/tests/jar/jar_alone_test.sh" "$(library_jar)"
  log "running the servers with curl, wrk and nc"
  ensure_client_tools
  "${root}/tests/jar/standard_clients_test.sh" "$(examples_jar)"
  log "running the consumer tests (Maven on JDK 17/25, CMake, pkg-config)"
  ensure_pkg_config
  local prefix="${build_root}/consumer-prefix"
  rm -rf "${prefix}"
  install_native "${prefix}"
  "${root}/tests/consumer/run.sh" "${prefix}"
}

cmd_sanitize() {
  local sanitizer="${1:-}"
  case "${sanitizer}" in
    address | thread) ;;
    *) die "usage: ./build.sh sanitize address|thread" ;;
  esac
  ensure_gtest
  log "building the native suite with -fsanitize=${sanitizer}"
  configure_and_build "${build_root}/${sanitizer}" -DCMAKE_BUILD_TYPE=Debug \
    -DEVENTWATCHER_SANITIZER="${sanitizer}" -DEVENTWATCHER_BUILD_JNI=OFF
  # Any report fails the run: ASan/UBSan abort (-fno-sanitize-recover), TSan
  # halts on the first race.
  export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:strict_string_checks=1"
  export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
  export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1"
  log "running the native suite under ${sanitizer} sanitizer"
  run_ctest "${build_root}/${sanitizer}"
}

cmd_format() {
  ensure_clang_format
  log "formatting C and C++ (clang-format-14)"
  cxx_sources | xargs clang-format-14 -i
  log "formatting Java (google-java-format, through Spotless)"
  (cd "${root}/java" && mvn -B -q -ntp spotless:apply)
  mvn -B -q -ntp -f "${root}/bench/pom.xml" spotless:apply
}

cmd_format_check() {
  ensure_clang_format
  log "checking the C and C++ formatting (clang-format-14)"
  cxx_sources | xargs clang-format-14 --dry-run --Werror ||
    die "C/C++ sources are not formatted: run ./build.sh format"
  log "checking the Java formatting (google-java-format, through Spotless)"
  { (cd "${root}/java" && mvn -B -q -ntp spotless:check) &&
    mvn -B -q -ntp -f "${root}/bench/pom.xml" spotless:check; } ||
    die "Java sources are not formatted: run ./build.sh format"
}

cmd_fuzz() {
  local seconds="${1:-}"
  [[ "${seconds}" =~ ^[0-9]+$ ]] || die "usage: ./build.sh fuzz SECONDS"
  "${root}/tests/fuzz/run.sh" "${seconds}"
}

# The benchmarks need the library jar in ~/.m2 (bench/pom.xml depends on it),
# wrk for the servers and python3 for the report.
cmd_bench() {
  ensure_client_tools
  command -v python3 > /dev/null || die "python3 is needed for the benchmark report"
  build_release_native
  log "installing the library jar into ~/.m2 for the benchmarks"
  maven -q clean install -DskipTests
  "${root}/bench/run.sh" "$@"
}

main() {
  case "${1:-}" in
    "") cmd_default ;;
    test) cmd_test ;;
    install) cmd_install "${@:2}" ;;
    sanitize) cmd_sanitize "${2:-}" ;;
    fuzz) cmd_fuzz "${2:-}" ;;
    format) cmd_format ;;
    format-check) cmd_format_check ;;
    bench) cmd_bench "${@:2}" ;;
    help | -h | --help) usage ;;
    *)
      usage >&2
      die "unknown command: $1"
      ;;
  esac
}

main "$@"
