# cmake --install: what C++ users consume. Headers, libeventwatcher.so.X.Y.Z
# with its SONAME and links, libeventwatcher.a, the CMake package
# (eventwatcherConfig.cmake, eventwatcherConfigVersion.cmake, the exported
# targets eventwatcher::eventwatcher and eventwatcher::eventwatcher_static)
# and eventwatcher.pc. The JNI bridge and the demo are not installed: the jar
# carries the former, the latter is an example.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(config_dir "${CMAKE_INSTALL_LIBDIR}/cmake/eventwatcher")

install(TARGETS eventwatcher eventwatcher_static
  EXPORT eventwatcherTargets
  LIBRARY DESTINATION "${CMAKE_INSTALL_LIBDIR}"
  ARCHIVE DESTINATION "${CMAKE_INSTALL_LIBDIR}")
install(DIRECTORY "${PROJECT_SOURCE_DIR}/native/include/eventwatcher"
  DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}")
install(EXPORT eventwatcherTargets
  NAMESPACE eventwatcher::
  DESTINATION "${config_dir}")

configure_package_config_file("${CMAKE_CURRENT_LIST_DIR}/eventwatcherConfig.cmake.in"
  "${PROJECT_BINARY_DIR}/eventwatcherConfig.cmake"
  INSTALL_DESTINATION "${config_dir}")
# Before 1.0 a minor release may break the API, as it does the ABI (the SONAME).
if(PROJECT_VERSION_MAJOR EQUAL 0)
  set(compatibility SameMinorVersion)
else()
  set(compatibility SameMajorVersion)
endif()
write_basic_package_version_file("${PROJECT_BINARY_DIR}/eventwatcherConfigVersion.cmake"
  COMPATIBILITY ${compatibility})
install(FILES "${PROJECT_BINARY_DIR}/eventwatcherConfig.cmake"
  "${PROJECT_BINARY_DIR}/eventwatcherConfigVersion.cmake"
  DESTINATION "${config_dir}")

# The pkg-config file names absolute paths, so it is written at install time,
# when the prefix is known (cmake --install --prefix may change it).
set(pc_file "${PROJECT_BINARY_DIR}/eventwatcher.pc")
install(CODE "
  set(EVENTWATCHER_PC_PREFIX \"\${CMAKE_INSTALL_PREFIX}\")
  set(EVENTWATCHER_PC_LIBDIR \"${CMAKE_INSTALL_LIBDIR}\")
  set(EVENTWATCHER_PC_INCLUDEDIR \"${CMAKE_INSTALL_INCLUDEDIR}\")
  set(PROJECT_VERSION \"${PROJECT_VERSION}\")
  configure_file(\"${CMAKE_CURRENT_LIST_DIR}/eventwatcher.pc.in\" \"${pc_file}\" @ONLY)
")
install(FILES "${pc_file}" DESTINATION "${CMAKE_INSTALL_LIBDIR}/pkgconfig")
