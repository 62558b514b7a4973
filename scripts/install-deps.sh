#!/usr/bin/env bash
# Installs the Debian packages the build needs, if any is missing.
# Runs `apt-get update` once, then `apt-get install -y` for what is missing.
set -euo pipefail

packages=(cmake g++ make pkg-config libcurl4-openssl-dev nlohmann-json3-dev catch2
          libcpp-httplib-dev libcli11-dev "$@")

missing=()
for pkg in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "installing: ${missing[*]}" >&2
if [ "$(id -u)" -eq 0 ]; then
  sudo=()
elif command -v sudo >/dev/null 2>&1; then
  sudo=(sudo)
else
  echo "missing packages (${missing[*]}) and no root access; install them and retry" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
