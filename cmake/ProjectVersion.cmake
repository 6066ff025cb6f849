# One version number for the whole project, kept in one place: the Maven parent
# pom (java/pom.xml). The C++ library, its SONAME, its CMake package and its
# pkg-config file take it from there, so they always carry the jar's number.
# Maven needs the number written literally in each module's <parent>, so those
# (and the benchmarks' default library version) are checked against it here: a module naming another parent version would
# silently build against a stale parent from ~/.m2.
#
#   eventwatcher_read_version(OUT_VAR)

set(_eventwatcher_root "${CMAKE_CURRENT_LIST_DIR}/..")
cmake_path(NORMAL_PATH _eventwatcher_root)

# The text of the first <TAG> element at exactly INDENT spaces in FILE.
function(_eventwatcher_pom_element file indent tag out_var)
  file(STRINGS "${file}" lines REGEX "^${indent}<${tag}>[^<]*</${tag}>")
  if(NOT lines)
    string(LENGTH "${indent}" spaces)
    message(FATAL_ERROR "${file}: no <${tag}> indented by ${spaces} spaces")
  endif()
  list(GET lines 0 line)
  string(REGEX REPLACE "^ *<${tag}>([^<]*)</${tag}>.*" "\\1" value "${line}")
  set(${out_var} "${value}" PARENT_SCOPE)
endfunction()

function(eventwatcher_read_version out_var)
  set(java_dir "${_eventwatcher_root}java")
  # Editing a pom reconfigures, so a plain cmake --build sees a new version too.
  set_property(DIRECTORY "${CMAKE_SOURCE_DIR}" APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS
    "${java_dir}/pom.xml" "${java_dir}/eventwatcher/pom.xml" "${java_dir}/examples/pom.xml"
    "${_eventwatcher_root}bench/pom.xml")
  # The parent's own <version> is a direct child of <project>: two spaces.
  _eventwatcher_pom_element("${java_dir}/pom.xml" "  " version version)
  if(NOT version MATCHES "^[0-9]+\\.[0-9]+\\.[0-9]+$")
    message(FATAL_ERROR "java/pom.xml: version '${version}' is not MAJOR.MINOR.PATCH")
  endif()
  # Each module's <parent><version>: four spaces.
  foreach(module eventwatcher examples)
    _eventwatcher_pom_element("${java_dir}/${module}/pom.xml" "    " version parent_version)
    if(NOT parent_version STREQUAL version)
      message(FATAL_ERROR "java/${module}/pom.xml names parent version ${parent_version}, "
                          "but java/pom.xml is ${version}: one version for the whole project")
    endif()
  endforeach()
  # The benchmarks build against the library of this checkout by default.
  _eventwatcher_pom_element("${_eventwatcher_root}bench/pom.xml" "    " eventwatcher.version bench_version)
  if(NOT bench_version STREQUAL version)
    message(FATAL_ERROR "bench/pom.xml builds against eventwatcher ${bench_version}, "
                        "but java/pom.xml is ${version}: one version for the whole project")
  endif()
  set(${out_var} "${version}" PARENT_SCOPE)
endfunction()
