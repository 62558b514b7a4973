#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (AddressSanitizer and UBSan on)
# and runs each for SECONDS (default 60) from its seed corpus in fuzz/corpus.
# New inputs go to a scratch corpus, not into the repository.
#
#   scripts/fuzz.sh 20        # CI's smoke run
#   scripts/fuzz.sh 3600      # a long run
set -euo pipefail

seconds=${1:-60}
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build-fuzz}
"$root/scripts/install-deps.sh" clang libclang-rt-14-dev

CXX=clang++ cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DRUNTOOLS_FUZZ=ON -DRUNTOOLS_BUILD_TESTS=OFF -DRUNTOOLS_BUILD_EXAMPLES=OFF \
  -DRUNTOOLS_BUILD_EMULATOR=OFF \
  -DRUNTOOLS_BUILD_BENCH=OFF -DRUNTOOLS_INSTALL=OFF \
  -DCMAKE_CXX_FLAGS="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer" \
  >/dev/null
targets=(envelope_fuzz sse_fuzz emulator_request_fuzz)
cmake --build "$build" --parallel "$(nproc)" --target "${targets[@]}"

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
status=0
for target in "${targets[@]}"; do
  corpus=${target%_fuzz}
  mkdir -p "$scratch/$corpus"
  echo "=== $target for ${seconds}s"
  if ! "$build/fuzz/$target" -max_total_time="$seconds" -print_final_stats=1 -timeout=10 \
      -rss_limit_mb=2048 "$scratch/$corpus" "$root/fuzz/corpus/$corpus" 2>"$scratch/$target.log"; then
    tail -n 40 "$scratch/$target.log" >&2
    status=1
  fi
  grep -E "stat::number_of_executed_units|stat::peak_rss_mb|cov: " "$scratch/$target.log" | tail -n 3
done
exit $status
