#!/usr/bin/env bash
# with-emulator.sh EMULATOR_BINARY COMMAND [ARGS...]
#
# Starts runtools-emulator on a free loopback port with a fresh state
# directory, points the RUNTOOLS_* variables at it, runs COMMAND, stops the
# emulator and exits with COMMAND's status.
set -euo pipefail

emulator=$1
shift

work=$(mktemp -d)
key="rt_test_$(head -c 512 /dev/urandom | tr -dc 'A-Za-z0-9' | head -c 32)"
"$emulator" --host 127.0.0.1 --port 0 --state-dir "$work/state" --api-key "$key" \
  --device-auto-approve-ms 1500 \
  >"$work/stdout" 2>"$work/stderr" &
emulator_pid=$!

stop_emulator() {
  if kill -0 "$emulator_pid" 2>/dev/null; then
    kill -TERM "$emulator_pid" 2>/dev/null || true
    wait "$emulator_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap stop_emulator EXIT

url=""
for _ in $(seq 1 200); do
  line=$(head -n1 "$work/stdout" 2>/dev/null || true)
  if [[ $line == "listening on "* ]]; then
    url=${line#listening on }
    break
  fi
  if ! kill -0 "$emulator_pid" 2>/dev/null; then
    echo "runtools-emulator exited early:" >&2
    cat "$work/stderr" >&2
    exit 1
  fi
  sleep 0.05
done
if [ -z "$url" ]; then
  echo "runtools-emulator did not start within 10 s" >&2
  exit 1
fi

export RUNTOOLS_API_KEY=$key
export RUNTOOLS_API_URL=$url
export RUNTOOLS_TOOLS_URL=$url
export RUNTOOLS_AUTH_URL=$url
export RUNTOOLS_STORAGE_URL=$url
unset RUNTOOLS_ACCESS_TOKEN

echo "runtools-emulator at $url" >&2
set +e
"$@"
status=$?
set -e
exit $status
