#!/usr/bin/env bash
# shared_build.sh BUILD_DIR PROJECT_DIR
#
# Configures and builds libruntools as a shared library (Release, no tests,
# examples or emulator) in BUILD_DIR/install-test-shared and prints that
# directory. The tree is kept, so that a second run only rebuilds what
# changed; it uses BUILD_DIR's compiler launcher (ccache), if any. Used by
# the install test and the ctypes test (which hold the same CTest lock).
set -euo pipefail

build_dir=$1
project_dir=$2
shared_build=$build_dir/install-test-shared
launcher=$(sed -nE 's/^CMAKE_CXX_COMPILER_LAUNCHER:[A-Z]+=(.*)$/\1/p' "$build_dir/CMakeCache.txt")
cmake -S "$project_dir" -B "$shared_build" -DBUILD_SHARED_LIBS=ON \
  -DRUNTOOLS_BUILD_TESTS=OFF -DRUNTOOLS_BUILD_EXAMPLES=OFF -DRUNTOOLS_BUILD_EMULATOR=OFF \
  -DCMAKE_CXX_COMPILER_LAUNCHER="$launcher" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$shared_build" --parallel "$(nproc)" >/dev/null
echo "$shared_build"
