#!/usr/bin/env bash
# ctypes_test.sh BUILD_DIR PROJECT_DIR EMULATOR PYTHON
#
# Builds libruntools as a shared library (tests/install/shared_build.sh),
# installs it into a temporary prefix and runs ctypes_test.py, then the
# README's ctypes block, against the installed library and a freshly started
# emulator binary.
set -euo pipefail

build_dir=$1
project_dir=$2
emulator=$3
python=$4
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

shared_build=$(bash "$project_dir/tests/install/shared_build.sh" "$build_dir" "$project_dir")
cmake --install "$shared_build" --prefix "$work/prefix" >/dev/null
library=$(find "$work/prefix" -name libruntools.so | head -n1)
bash "$project_dir/scripts/with-emulator.sh" "$emulator" "$python" "$here/ctypes_test.py" "$library"

# The README's ctypes block, as written (it loads the library by its SONAME).
sed -n '/^```python$/,/^```$/p' "$project_dir/README.md" | sed '1d;$d' >"$work/readme_ctypes.py"
test -s "$work/readme_ctypes.py"
echo "running the README's ctypes block"
LD_LIBRARY_PATH="$(dirname "$library")" \
  bash "$project_dir/scripts/with-emulator.sh" "$emulator" "$python" "$work/readme_ctypes.py"
