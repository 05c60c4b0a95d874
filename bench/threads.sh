#!/usr/bin/env bash
# num.stream.threads=1 vs 2: couponflow_runtime_bench in processor mode with one and
# with two stream threads, RUNS times each (default 5), interleaved, on the embedded
# broker (which runs in the same process, on one thread of its own). Prints the median
# rate of each and median(2 threads) / median(1 thread). Extra arguments go to every
# run, e.g.  RUNS=3 bench/threads.sh --guarantee exactly_once_v2
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
ninja -C "$build" couponflow_runtime_bench >/dev/null

run_threads() { "$build/bench/couponflow_runtime_bench" "${extra[@]}" --mode processor --threads "$1"; }
extra=("$@")
interleave threads 1 2 run_threads
awk -v two="${median_rate[2]}" -v one="${median_rate[1]}" 'BEGIN { printf "ratio 2 threads/1 thread=%.2f\n", two / one }'
