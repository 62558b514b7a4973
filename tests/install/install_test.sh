#!/usr/bin/env bash
# install_test.sh BUILD_DIR SOURCE_DIR PROJECT_DIR
#
# Installs the (static) build tree into a temporary prefix, then builds and
# runs a consumer against it with find_package(runtools) as C++17 and as
# C++20, and with pkg-config. Then builds libruntools as a shared library
# from PROJECT_DIR, installs it, and runs the same consumers against that.
set -euo pipefail

build_dir=$1
source_dir=$2
project_dir=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

check_prefix() {
  local prefix=$1 name=$2
  for std in 17 20; do
    cmake -S "$source_dir/consumer" -B "$work/$name-cmake-$std" -DCMAKE_PREFIX_PATH="$prefix" \
      -DCONSUMER_CXX_STANDARD=$std -DCMAKE_BUILD_TYPE=Release >/dev/null
    cmake --build "$work/$name-cmake-$std" >/dev/null
    env -u RUNTOOLS_API_KEY LD_LIBRARY_PATH="$prefix/lib:${LD_LIBRARY_PATH:-}" \
      "$work/$name-cmake-$std/consumer"
  done

  local pc_dir
  pc_dir=$(dirname "$(find "$prefix" -name runtools.pc | head -n1)")
  PKG_CONFIG_PATH=$pc_dir pkg-config --exists runtools
  # shellcheck disable=SC2046
  c++ -std=c++17 -Wall -Wextra -Wpedantic -Werror "$source_dir/consumer/main.cpp" \
    -o "$work/$name-consumer-pc" $(PKG_CONFIG_PATH=$pc_dir pkg-config --cflags --libs runtools)
  LD_LIBRARY_PATH="$prefix/lib:${LD_LIBRARY_PATH:-}" "$work/$name-consumer-pc"

  # The command-line tool, when it was built (it needs CLI11), is installed and runs.
  if [ -e "$prefix/bin/runtools" ] || [ "${expect_cli:-0}" = 1 ]; then
    LD_LIBRARY_PATH="$prefix/lib:${LD_LIBRARY_PATH:-}" "$prefix/bin/runtools" --version >/dev/null
  fi
}

cmake --install "$build_dir" --prefix "$work/static" >/dev/null
expect_cli=0
if [ -e "$build_dir/cli/runtools" ]; then expect_cli=1; fi
test -f "$work/static/lib/libruntools.a"
check_prefix "$work/static" static

cmake -S "$project_dir" -B "$work/shared-build" -DBUILD_SHARED_LIBS=ON \
  -DRUNTOOLS_BUILD_TESTS=OFF -DRUNTOOLS_BUILD_EXAMPLES=OFF -DRUNTOOLS_BUILD_EMULATOR=OFF \
  -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$work/shared-build" --parallel "$(nproc)" >/dev/null
cmake --install "$work/shared-build" --prefix "$work/shared" >/dev/null
test -f "$work/shared/lib/libruntools.so"
test ! -e "$work/shared/lib/libruntools.a"
check_prefix "$work/shared" shared

echo "install test passed (static and shared)"
