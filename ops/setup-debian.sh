#!/usr/bin/env bash
# Installs couponflow's build dependencies from Debian 12 packages and builds it into
# build/. Idempotent; run as root (or with sudo). Used by the README, CI and the Dockerfile.
# Usage: ops/setup-debian.sh [--no-test-tools]
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  build-essential cmake ninja-build pkg-config
  librdkafka-dev      # Kafka client, and its mock cluster (the embedded broker)
  librocksdb-dev      # local state stores
  libsimdjson-dev     # DOM-free JSON parsing on the hot path
  libfmt-dev          # formatting
  libcli11-dev        # the command line
  prometheus-cpp-dev  # metrics registry and text format
  libboost-dev        # Asio/Beast: the /metrics, /healthz, /readyz listener
  libjemalloc-dev     # the allocator: per-thread caches, cheap frees of another thread's memory
  doctest-dev         # tests
)
# Tools the tests run: a real Prometheus (and promtool) scraping a processor, the
# deployment kit checks, kafka-python (a client that is not librdkafka, for interop),
# and clang with its sanitizer and libFuzzer runtimes for the fuzz targets (tests/fuzz).
# Left out with --no-test-tools (e.g. the container image).
test_tools=(prometheus python3 python3-yaml python3-kafka curl kcat clang libclang-rt-14-dev)
# Benchmarks (bench/): the seeds' Redis approach for comparison, and the plots of docs/performance.md.
test_tools+=(redis-server libhiredis-dev gnuplot-nox)
# The api: its live page rendered in headless Chromium, and an HTTP load generator.
test_tools+=(chromium wrk)
[ "${1:-}" = "--no-test-tools" ] || packages+=("${test_tools[@]}")
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

# COUPONFLOW_CMAKE_ARGS: extra configure arguments, split on spaces (the Dockerfile passes
# -DCOUPONFLOW_REVISION=...).
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo ${COUPONFLOW_CMAKE_ARGS:-}
cmake --build build
