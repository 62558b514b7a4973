#!/usr/bin/env bash
# Builds everything with a sanitizer and runs the whole test suite.
#
#   scripts/sanitize.sh asan   # AddressSanitizer + UndefinedBehaviorSanitizer
#   scripts/sanitize.sh tsan   # ThreadSanitizer
set -euo pipefail

kind=${1:-asan}
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/install-deps.sh"

case "$kind" in
  asan)
    flags="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
    export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1
    export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
    ;;
  tsan)
    flags="-fsanitize=thread -fno-omit-frame-pointer"
    export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$root/scripts/tsan.supp"
    ;;
  *)
    echo "usage: $0 asan|tsan" >&2
    exit 2
    ;;
esac

build=${BUILD_DIR:-$root/build-$kind}
# -O1 keeps the run fast enough; the sanitizers need no more.
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g" \
  -DCMAKE_CXX_FLAGS="$flags" -DCMAKE_C_FLAGS_DEBUG="-O1 -g" -DCMAKE_C_FLAGS="$flags" \
  -DRUNTOOLS_BUILD_TESTS=ON -DRUNTOOLS_BUILD_EXAMPLES=ON \
  -DRUNTOOLS_BUILD_BENCH=OFF -DRUNTOOLS_WERROR=OFF >/dev/null
cmake --build "$build" --parallel "$(nproc)"
cd "$build"
# The install and ctypes tests rebuild the library without sanitizers; they prove
# nothing more here.
ctest --output-on-failure --parallel "$(nproc)" --timeout 600 -E "^(install|ffi):"
