#!/usr/bin/env bash
# Runs couponflow_bench in both modes RUNS times (default 5), interleaved so that a
# noisy neighbour slows both modes alike, then prints the median rate of each mode and
# median(topology) / median(rocksdb). Extra arguments go to every run, e.g.
#   RUNS=3 bench/run.sh --requests 100000
# BUILD_DIR overrides the build directory (default: <repo>/build).
# BASE_BUILD (the build directory of an earlier commit, e.g. a git worktree's) compares
# one optimisation step instead: the topology mode of that build and of this one,
# interleaved, and median(this) / median(base).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
ninja -C "$build" couponflow_bench >/dev/null
extra=("$@")

if [[ -n "${BASE_BUILD:-}" ]]; then
  ninja -C "$BASE_BUILD" couponflow_bench >/dev/null
  run_build() {
    local dir=$build
    [[ "$1" == base ]] && dir=$BASE_BUILD
    "$dir/bench/couponflow_bench" "${extra[@]}" --mode topology
  }
  interleave build base this run_build
  awk -v t="${median_rate[this]}" -v b="${median_rate[base]}" 'BEGIN { printf "ratio this/base=%.3f\n", t / b }'
  exit 0
fi

run_mode() { "$build/bench/couponflow_bench" "${extra[@]}" --mode "$1"; }
interleave mode topology rocksdb run_mode
awk -v t="${median_rate[topology]}" -v r="${median_rate[rocksdb]}" 'BEGIN { printf "ratio topology/rocksdb=%.2f\n", t / r }'
