#!/usr/bin/env bash
# Builds everything (SDK, emulator, examples, tests) and runs the whole test
# suite: unit, integration, emulator, examples, the install test and the
# ctypes test.
#
#   scripts/test.sh                    # build dir: ./build-test
#   RUNTOOLS_WERROR=ON scripts/test.sh # warnings are errors (CI)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build-test}
"$root/scripts/install-deps.sh" python3  # python3: the ctypes test

cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DRUNTOOLS_BUILD_TESTS=ON -DRUNTOOLS_BUILD_EXAMPLES=ON -DRUNTOOLS_BUILD_EMULATOR=ON \
  -DRUNTOOLS_WERROR="${RUNTOOLS_WERROR:-OFF}" >/dev/null
cmake --build "$build" --parallel "$(nproc)"
cd "$build"
ctest --output-on-failure --parallel "$(nproc)" --timeout 300
