# Installation: headers, the library, a CMake package (runtools::runtools)
# and a pkg-config file (runtools.pc).

include(CMakePackageConfigHelpers)

set(RUNTOOLS_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/runtools)

install(TARGETS runtools
  EXPORT runtoolsTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/runtools
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
  FILES_MATCHING PATTERN "*.hpp" PATTERN "*.h")
install(FILES ${PROJECT_BINARY_DIR}/include/runtools/version.hpp
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/runtools)

install(EXPORT runtoolsTargets
  NAMESPACE runtools::
  DESTINATION ${RUNTOOLS_CMAKE_DIR})
configure_package_config_file(
  ${PROJECT_SOURCE_DIR}/cmake/runtoolsConfig.cmake.in
  ${PROJECT_BINARY_DIR}/runtoolsConfig.cmake
  INSTALL_DESTINATION ${RUNTOOLS_CMAKE_DIR})
write_basic_package_version_file(
  ${PROJECT_BINARY_DIR}/runtoolsConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES
  ${PROJECT_BINARY_DIR}/runtoolsConfig.cmake
  ${PROJECT_BINARY_DIR}/runtoolsConfigVersion.cmake
  DESTINATION ${RUNTOOLS_CMAKE_DIR})

# One name for C and C++ consumers: `pkg-config --cflags --libs runtools`.
# A static libruntools needs its dependencies on the consumer's link line,
# with the C++ runtime for a C program linked by the C compiler; since only
# the static library is installed then, they are in Requires/Libs, so the
# line links with or without --static. The shared library carries them itself.
get_target_property(RUNTOOLS_TYPE runtools TYPE)
if(RUNTOOLS_TYPE STREQUAL "SHARED_LIBRARY")
  set(RUNTOOLS_PC_REQUIRES "nlohmann_json")
  set(RUNTOOLS_PC_REQUIRES_PRIVATE "libcurl")
  set(RUNTOOLS_PC_LIBS_PRIVATE "-pthread")
  set(RUNTOOLS_PC_LIBS_EXTRA "")
else()
  set(RUNTOOLS_PC_REQUIRES "nlohmann_json libcurl")
  set(RUNTOOLS_PC_REQUIRES_PRIVATE "")
  set(RUNTOOLS_PC_LIBS_PRIVATE "")
  set(RUNTOOLS_PC_LIBS_EXTRA "-pthread")
  foreach(lib IN LISTS RUNTOOLS_CXX_RUNTIME_LIBS)
    string(APPEND RUNTOOLS_PC_LIBS_EXTRA " -l${lib}")
  endforeach()
endif()
# Relocatable: the prefix is found relative to the .pc file itself.
file(RELATIVE_PATH RUNTOOLS_PC_PREFIX_REL "/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/")
string(REGEX REPLACE "/$" "" RUNTOOLS_PC_PREFIX_REL "${RUNTOOLS_PC_PREFIX_REL}")
configure_file(${PROJECT_SOURCE_DIR}/cmake/runtools.pc.in
               ${PROJECT_BINARY_DIR}/runtools.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/runtools.pc
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

if(RUNTOOLS_BUILD_EMULATOR AND TARGET runtools-emulator)
  install(TARGETS runtools-emulator RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
endif()

if(RUNTOOLS_BUILD_CLI AND TARGET runtools-cli)
  install(TARGETS runtools-cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
endif()
