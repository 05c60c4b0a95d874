#!/usr/bin/env bash
# Runs couponflow_bench in both modes RUNS times (default 5), interleaved so that a
# noisy neighbour slows both modes alike, then prints the median rate of each mode and
# median(topology) / median(rocksdb). Extra arguments go to every run, e.g.
#   RUNS=3 bench/run.sh --requests 100000
# BUILD_DIR overrides the build directory (default: <repo>/build).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
ninja -C "$build" couponflow_bench >/dev/null

run_mode() { "$build/bench/couponflow_bench" "${extra[@]}" --mode "$1"; }
extra=("$@")
interleave mode topology rocksdb run_mode
awk -v t="${median_rate[topology]}" -v r="${median_rate[rocksdb]}" 'BEGIN { printf "ratio topology/rocksdb=%.2f\n", t / r }'
