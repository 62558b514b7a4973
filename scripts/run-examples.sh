#!/usr/bin/env bash
# Builds the SDK, the emulator and the examples, starts a fresh emulator,
# runs every example against it and stops it.
#
#   scripts/run-examples.sh            # build dir: ./build
#   BUILD_DIR=out scripts/run-examples.sh
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build}
"$root/scripts/install-deps.sh"

cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DRUNTOOLS_BUILD_EXAMPLES=ON -DRUNTOOLS_BUILD_EMULATOR=ON \
  -DRUNTOOLS_WERROR="${RUNTOOLS_WERROR:-OFF}" >/dev/null
cmake --build "$build" --parallel "$(nproc)" --target runtools-emulator runtools_examples

run_all() {
  local failed=0
  while read -r example; do
    echo "=== $example"
    if ! "$build/examples/$example" </dev/null; then
      echo "=== $example FAILED" >&2
      failed=1
    fi
  done <"$build/examples/examples.txt"
  return $failed
}
export -f run_all
export build
"$root/scripts/with-emulator.sh" "$build/emulator/runtools-emulator" bash -c run_all
