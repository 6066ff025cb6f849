#!/usr/bin/env bash
# The consumer tests: the library as its users meet it, after
#
#   ./build.sh install --prefix PREFIX
#
# put io.eventwatcher:eventwatcher into the local Maven repository (~/.m2) and
# the C++ library into PREFIX.
#  - maven/: an application's Maven build against the installed artifact, on
#    JDK 17 and on the Temurin 25 JDK (both must be there). Its run-time
#    dependencies must be the library jar alone (target/lib, and
#    dependency:tree), and the sources and javadoc jars must resolve as an IDE
#    asks for them. It runs on the class path and on the module path (native
#    access granted to io.eventwatcher only) and must print its expected lines
#    and nothing on stderr.
#  - cpp/: find_package(eventwatcher CONFIG REQUIRED), shared and static.
#  - pkg-config: the README's command line, compiling cpp/app.cpp.
# Both native checks make sure they found PREFIX's files, not an older
# install in the system's paths.
# The README's "Use it from ..." snippets are checked to be what these build.
# Gradle is not installed here, so its snippet is checked for coordinates only.
#
#   tests/consumer/run.sh PREFIX
set -euo pipefail

[[ $# -eq 1 && -d "$1" ]] || { echo "usage: tests/consumer/run.sh PREFIX" >&2; exit 2; }
prefix="$(realpath "$1")"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "${here}/../.." && pwd)"
readme="${root}/README.md"
version="$(sed -n 's|^  <version>\(.*\)</version>|\1|p' "${root}/java/pom.xml" | head -1)"
work="$(mktemp -d)"
trap 'rm -rf "${work}"' EXIT

failures=0
pass() { echo "consumer: PASS $*"; }
fail() {
  echo "consumer: FAIL $*"
  failures=$((failures + 1))
}

# readme_block HEADING LANG: the first ```LANG block under the heading HEADING
# (before the next heading; lines in code blocks are never headings).
readme_block() {
  awk -v heading="$1" -v fence="\`\`\`$2" '
    /^```/ {
      if (!in_code) { in_code = 1; if (under && !done && $0 == fence) printing = 1 }
      else { in_code = 0; if (printing) { printing = 0; done = 1 } }
      next
    }
    printing { print; next }
    !in_code && /^#+ / { title = $0; sub(/^#+ /, "", title); under = (title == heading) }' "${readme}"
}

squeeze() { tr -d ' \t\n'; }

# expect NAME EXPECTED_STDOUT COMMAND...: runs COMMAND from /, which must print
# EXPECTED_STDOUT and nothing on stderr.
expect() {
  local name="$1" expected="$2"
  shift 2
  local out err
  out="${work}/out" err="${work}/err"
  if (cd / && "$@") > "${out}" 2> "${err}" && [[ "$(cat "${out}")" == "${expected}" && ! -s "${err}" ]]; then
    pass "${name}"
  else
    fail "${name}"
    echo "--- expected:"
    echo "${expected}"
    echo "--- stdout:"
    cat "${out}"
    echo "--- stderr:"
    cat "${err}"
  fi
}

check_readme() {
  local maven gradle cmake line
  maven="$(readme_block "Use it from Maven" xml)"
  if [[ -n "${maven}" && "$(squeeze < "${here}/maven/pom.xml")" == *"$(squeeze <<< "${maven}")"* &&
    "${maven}" == *"<version>${version}</version>"* ]]; then
    pass "README Maven snippet is maven/pom.xml's dependency, version ${version}"
  else
    fail "README Maven snippet (version ${version}) is not in tests/consumer/maven/pom.xml"
  fi
  gradle="$(readme_block "Use it from Gradle (mavenLocal)" kotlin)"
  if [[ "${gradle}" == *"mavenLocal()"* && "${gradle}" == *"\"io.eventwatcher:eventwatcher:${version}\""* ]]; then
    pass "README Gradle snippet names mavenLocal() and io.eventwatcher:eventwatcher:${version}"
  else
    fail "README Gradle snippet does not name mavenLocal() and io.eventwatcher:eventwatcher:${version}"
  fi
  cmake="$(readme_block "Use it from CMake" cmake)"
  local missing=0
  while IFS= read -r line; do
    [[ -z "${line}" ]] && continue
    grep -qxF -- "${line}" "${here}/cpp/CMakeLists.txt" || missing=1
  done <<< "${cmake}"
  if [[ -n "${cmake}" && "${missing}" -eq 0 ]]; then
    pass "README CMake snippet is in cpp/CMakeLists.txt"
  else
    fail "README CMake snippet is not in tests/consumer/cpp/CMakeLists.txt"
  fi
}

java_expected() {
  local module="$1" exported="$2"
  printf '%s\n' "module: ${module}" \
    "internals exported: ${exported}, shaded loader exported: ${exported}" \
    "consumer-loop read hello" \
    "timer on loop thread: true" \
    "error: write failed for fd 2147483647: Bad file descriptor (errno 9)"
}

# maven_consumer JDK: builds maven/ with that JDK and runs it both ways.
maven_consumer() {
  local jdk="$1" name dir java lib
  name="$(basename "${jdk}")"
  dir="${work}/maven-${name}"
  java="${jdk}/bin/java"
  mkdir -p "${dir}"
  cp -r "${here}/maven/pom.xml" "${here}/maven/src" "${dir}/"
  if ! (cd "${dir}" && JAVA_HOME="${jdk}" mvn -B -q -ntp package dependency:tree \
    -DoutputFile=tree.txt > build.log 2>&1); then
    fail "maven build on ${name}"
    cat "${dir}/build.log"
    return
  fi
  lib="${dir}/target/lib"
  local classifier
  for classifier in sources javadoc; do
    if (cd "${dir}" && JAVA_HOME="${jdk}" mvn -B -q -ntp dependency:copy \
      -Dartifact="io.eventwatcher:eventwatcher:${version}:jar:${classifier}" \
      -DoutputDirectory=attached > /dev/null 2>&1) &&
      [[ -s "${dir}/attached/eventwatcher-${version}-${classifier}.jar" ]]; then
      pass "${name}: the ${classifier} jar resolves"
    else
      fail "${name}: the ${classifier} jar does not resolve"
    fi
  done
  if [[ "$(ls "${lib}")" == "eventwatcher-${version}.jar" &&
    "$(sed 1d "${dir}/tree.txt")" == "\\- io.eventwatcher:eventwatcher:jar:${version}:compile" ]]; then
    pass "${name}: the run-time dependencies are the library jar alone"
  else
    fail "${name}: run-time dependencies other than the library jar"
    ls "${lib}"
    cat "${dir}/tree.txt"
  fi
  local grant_unnamed=()
  "${java}" --enable-native-access=ALL-UNNAMED -version > /dev/null 2>&1 &&
    grant_unnamed=(--enable-native-access=ALL-UNNAMED)
  expect "${name}: class path" "$(java_expected unnamed true)" \
    "${java}" "${grant_unnamed[@]}" -cp "${dir}/target/classes:${lib}/eventwatcher-${version}.jar" \
    example.consumer.Main
  expect "${name}: module path, --enable-native-access=io.eventwatcher" \
    "$(java_expected io.eventwatcher false)" \
    "${java}" --enable-native-access=io.eventwatcher -p "${dir}/target/classes:${lib}" \
    -m example.consumer/example.consumer.Main
  # The grant above is what JDK 22+ asks for, for this module: without it the
  # JDK warns and names that very flag.
  local major
  major="$("${java}" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')"
  if [[ "${major}" -ge 22 ]]; then
    if "${java}" -p "${dir}/target/classes:${lib}" -m example.consumer/example.consumer.Main \
      2>&1 > /dev/null | grep -qF -- "--enable-native-access=io.eventwatcher"; then
      pass "${name}: without the grant, the JDK asks for --enable-native-access=io.eventwatcher"
    else
      fail "${name}: without the grant, the JDK does not ask for --enable-native-access=io.eventwatcher"
    fi
  fi
}

cmake_consumer() {
  local dir="${work}/cmake" expected
  expected="$(printf '%s\n' "read hello" "timer on loop thread: true" "error: EBADF")"
  if ! { cmake -S "${here}/cpp" -B "${dir}" -DCMAKE_PREFIX_PATH="${prefix}" &&
    cmake --build "${dir}" -j 2; } > "${work}/cmake.log" 2>&1; then
    fail "find_package(eventwatcher CONFIG REQUIRED) build"
    cat "${work}/cmake.log"
    return
  fi
  local found
  found="$(sed -n 's/^eventwatcher_DIR:PATH=//p' "${dir}/CMakeCache.txt")"
  if [[ "${found}" == "${prefix}/"* ]]; then
    pass "find_package found ${found#"${prefix}/"} in the prefix"
  else
    fail "find_package found eventwatcher in ${found:-nowhere}, not in ${prefix}"
    return
  fi
  expect "CMake, eventwatcher::eventwatcher" "${expected}" "${dir}/app"
  expect "CMake, eventwatcher::eventwatcher_static" "${expected}" "${dir}/app_static"
  local library soname
  library="$(find "${prefix}" -name libeventwatcher.so | head -1)"
  soname="$(readelf -d "${library:-/dev/null}" 2> /dev/null | sed -n 's/.*SONAME.*\[\(.*\)\]/\1/p')"
  if [[ "${soname}" != libeventwatcher.so.* ]] ||
    ! readelf -d "${dir}/app" | grep NEEDED | grep -qF "[${soname}]"; then
    fail "app does not need the SONAME ${soname:-(none)}"
  elif readelf -d "${dir}/app_static" | grep NEEDED | grep -q libeventwatcher; then
    fail "app_static needs libeventwatcher.so"
  else
    pass "app needs ${soname}; app_static needs no libeventwatcher.so"
  fi
}

pkg_config_consumer() {
  local dir="${work}/pkg-config" command libdir
  mkdir -p "${dir}"
  cp "${here}/cpp/app.cpp" "${dir}/"
  # PKG_CONFIG_LIBDIR replaces the default search path: only PREFIX's file.
  export PKG_CONFIG_LIBDIR
  PKG_CONFIG_LIBDIR="$(find "${prefix}" -type d -name pkgconfig | paste -sd:)"
  if [[ "$(pkg-config --variable=prefix eventwatcher 2>&1)" != "${prefix}" ||
    "$(pkg-config --modversion eventwatcher 2>&1)" != "${version}" ]]; then
    fail "pkg-config finds no eventwatcher ${version} with prefix ${prefix}"
    return
  fi
  command="$(readme_block "Use it from CMake" sh)"
  if [[ "${command}" != *'$(pkg-config --cflags --libs eventwatcher)'* ]]; then
    fail "the README's pkg-config command line is missing"
    return
  fi
  if ! (cd "${dir}" && eval "${command}") > "${work}/pkg-config.log" 2>&1; then
    fail "pkg-config compile: ${command}"
    cat "${work}/pkg-config.log"
    return
  fi
  libdir="$(pkg-config --variable=libdir eventwatcher)"
  expect "pkg-config: ${command}" "$(printf '%s\n' "read hello" "timer on loop thread: true" "error: EBADF")" \
    env LD_LIBRARY_PATH="${libdir}" "${dir}/app"
}

check_readme
for jdk in /usr/lib/jvm/java-17-openjdk-amd64 /usr/lib/jvm/temurin-25-jdk-amd64; do
  if [[ -x "${jdk}/bin/java" ]]; then
    maven_consumer "${jdk}"
  else
    fail "${jdk} is not installed: the consumer must build on JDK 17 and on Temurin 25"
  fi
done
cmake_consumer
pkg_config_consumer
echo "consumer: ${failures} failed"
[[ "${failures}" -eq 0 ]]
