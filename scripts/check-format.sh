#!/usr/bin/env bash
# Checks that every tracked C and C++ file is formatted as .clang-format says
# (clang-format --dry-run -Werror); installs clang-format if it is missing.
# Prints the offending lines and exits 1 when a file needs formatting.
#
#   scripts/check-format.sh          # check (what CI runs)
#   scripts/check-format.sh --fix    # reformat the files in place instead
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
if ! command -v clang-format >/dev/null 2>&1; then
  "$root/scripts/install-deps.sh" clang-format
fi

mapfile -t files < <(git ls-files '*.cpp' '*.hpp' '*.h' '*.c')
if [ ${#files[@]} -eq 0 ]; then
  echo "check-format: no tracked C/C++ files found" >&2
  exit 1
fi

if [ "${1:-}" = "--fix" ]; then
  clang-format -i "${files[@]}"
  echo "formatted ${#files[@]} files"
  exit 0
fi

if clang-format --dry-run -Werror "${files[@]}"; then
  echo "check-format: ${#files[@]} files formatted ($(clang-format --version))"
else
  echo "check-format: run scripts/check-format.sh --fix (or clang-format -i FILE) and commit" >&2
  exit 1
fi
