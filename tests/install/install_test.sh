#!/usr/bin/env bash
# Installs the build tree into a temporary prefix, then builds and runs a
# consumer against it twice: with find_package(runtools) (as C++17 and as
# C++20) and with pkg-config.
set -euo pipefail

build_dir=$1
source_dir=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

prefix=$work/prefix
cmake --install "$build_dir" --prefix "$prefix" >/dev/null

for std in 17 20; do
  cmake -S "$source_dir/consumer" -B "$work/cmake-$std" -DCMAKE_PREFIX_PATH="$prefix" \
    -DCONSUMER_CXX_STANDARD=$std -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$work/cmake-$std" >/dev/null
  env -u RUNTOOLS_API_KEY "$work/cmake-$std/consumer"
done

pc_dir=$(dirname "$(find "$prefix" -name runtools.pc | head -n1)")
export PKG_CONFIG_PATH=$pc_dir
pkg-config --exists runtools
# shellcheck disable=SC2046
c++ -std=c++17 -Wall -Wextra -Wpedantic -Werror "$source_dir/consumer/main.cpp" \
  -o "$work/consumer-pc" $(pkg-config --cflags --libs runtools)
"$work/consumer-pc"
echo "install test passed"
