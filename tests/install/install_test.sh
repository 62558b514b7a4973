#!/usr/bin/env bash
# install_test.sh BUILD_DIR SOURCE_DIR PROJECT_DIR PROJECT_VERSION
#
# Installs the (static) build tree into a temporary prefix, then builds and
# runs a C++ consumer against it with find_package(runtools) as C++17 and as
# C++20, and with pkg-config, and a C99 consumer with the CMake target (from
# a C-only project) and with pkg-config (plain and --static). Then builds
# libruntools as a shared library from PROJECT_DIR, checks its SONAME and
# that it exports only rt_* and runtools:: symbols, installs it, and runs
# the same consumers against that.
set -euo pipefail

build_dir=$1
source_dir=$2
project_dir=$3
version=$4
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

c_flags=(-std=c99 -pedantic -Wall -Wextra -Werror)

# `pkg-config --static` also lists libcurl's own static dependencies, whose
# development packages Debian's libcurl4-openssl-dev does not pull in (.ci/run
# installs them). Without them that variant is skipped, and says so.
pkg_static=(--static)
printf 'int main(void) { return 0; }\n' >"$work/empty.c"
# shellcheck disable=SC2046
if ! gcc "$work/empty.c" -o "$work/empty" $(pkg-config --static --libs libcurl) 2>"$work/curl.log"; then
  pkg_static=()
  echo "note: pkg-config --static not tried: libcurl's static dependencies do not link here" \
    "($(grep -o 'cannot find -l[^:]*' "$work/curl.log" | sed 's/cannot find //' | sort -u | tr '\n' ' '))"
fi

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

  # The C API from C: one CMake target, or one pkg-config name.
  echo "== $name: C consumer, CMake target runtools::runtools and pkg-config runtools"
  test "$(PKG_CONFIG_PATH=$pc_dir pkg-config --modversion runtools)" = "$version"
  cmake -S "$source_dir/c_consumer" -B "$work/$name-c-cmake" -DCMAKE_PREFIX_PATH="$prefix" \
    -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$work/$name-c-cmake" >/dev/null
  env -u RUNTOOLS_API_KEY LD_LIBRARY_PATH="$prefix/lib:${LD_LIBRARY_PATH:-}" \
    "$work/$name-c-cmake/c_consumer" "$version"
  for static in "" "${pkg_static[@]}"; do
    # shellcheck disable=SC2046
    gcc "${c_flags[@]}" "$source_dir/c_consumer/main.c" -o "$work/$name-c-pc$static" \
      $(PKG_CONFIG_PATH=$pc_dir pkg-config $static --cflags --libs runtools)
    env -u RUNTOOLS_API_KEY LD_LIBRARY_PATH="$prefix/lib:${LD_LIBRARY_PATH:-}" \
      "$work/$name-c-pc$static" "$version"
  done

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

shared_build=$(bash "$source_dir/shared_build.sh" "$build_dir" "$project_dir")
cmake --install "$shared_build" --prefix "$work/shared" >/dev/null
test -f "$work/shared/lib/libruntools.so"
test ! -e "$work/shared/lib/libruntools.a"

# A versioned SONAME: MAJOR.MINOR while the major version is 0, else MAJOR.
major=${version%%.*}
minor=${version#*.}
minor=${minor%%.*}
if [ "$major" = 0 ]; then soversion=$major.$minor; else soversion=$major; fi
so=$(readlink -f "$work/shared/lib/libruntools.so")
soname=$(readelf -d "$so" | sed -nE 's/.*\(SONAME\).*\[(.*)\]/\1/p')
if [ "$soname" != "libruntools.so.$soversion" ]; then
  echo "SONAME is '$soname', expected libruntools.so.$soversion" >&2
  exit 1
fi
test -e "$work/shared/lib/libruntools.so.$soversion"
echo "SONAME $soname"

# Exported: the C API and the runtools namespace (functions, typeinfo,
# vtables, thunks, guards); of runtools::internal only what the public
# header templates call. No std::, nlohmann:: or curl symbol.
nm -D --defined-only "$so" | awk '{print $NF}' | sort -u >"$work/exported"
grep -vE '^(rt_|_ZN[KRO]*8runtools|_ZT[ISVT]N8runtools|_ZTh[^N]*_NK?8runtools|_ZTv[^N]*_NK?8runtools|_ZGVZ?N8runtools|_ZZNK?8runtools)' \
  "$work/exported" >"$work/stray" || true
if [ -s "$work/stray" ]; then
  echo "libruntools.so exports symbols outside rt_* and runtools::" >&2
  c++filt <"$work/stray" | head -n 40 >&2
  exit 1
fi
grep -E '^_Z(N[KRO]*|T[ISVT]N|GVZ?N|ZNK?|Th[^N]*_NK?|Tv[^N]*_NK?)8runtools8internal' "$work/exported" |
  grep -v '^_ZN8runtools8internal[0-9]*operation' >"$work/internal" || true
if [ -s "$work/internal" ]; then
  echo "libruntools.so exports internal symbols:" >&2
  c++filt <"$work/internal" | head -n 40 >&2
  exit 1
fi
for symbol in rt_version rt_client_new _ZTIN8runtools13NotFoundErrorE; do
  grep -qx "$symbol" "$work/exported" || { echo "libruntools.so does not export $symbol" >&2; exit 1; }
done
echo "libruntools.so exports $(grep -c '^rt_' "$work/exported") rt_* and" \
  "$(grep -vc '^rt_' "$work/exported") runtools:: symbols, nothing else"

check_prefix "$work/shared" shared

echo "install test passed (static and shared)"
