#!/usr/bin/env bash
# Installs couponflow's build dependencies from Debian 12 packages and builds it into
# build/. Idempotent; run as root (or with sudo). Used by the README, CI and the Dockerfile.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  build-essential cmake ninja-build pkg-config
  librdkafka-dev      # Kafka client, and its mock cluster (the embedded broker)
  librocksdb-dev      # local state stores
  libsimdjson-dev     # DOM-free JSON parsing on the hot path
  libfmt-dev          # formatting
  libcli11-dev        # the command line
  doctest-dev         # tests
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends "${missing[@]}"
fi

cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build
