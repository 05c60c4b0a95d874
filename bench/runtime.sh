#!/usr/bin/env bash
# Runs couponflow_runtime_bench in both modes RUNS times (default 5), interleaved, on
# the embedded broker, then prints the median rate of each mode and
# median(processor) / median(passthrough): how close the processor gets to what the
# broker and client can move at all. Extra arguments go to every run, e.g.
#   RUNS=3 bench/runtime.sh --brokers 3
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
ninja -C "$build" couponflow_runtime_bench >/dev/null

run_mode() { "$build/bench/couponflow_runtime_bench" "${extra[@]}" --mode "$1"; }
extra=("$@")
interleave mode passthrough processor run_mode
awk -v p="${median_rate[processor]}" -v t="${median_rate[passthrough]}" 'BEGIN { printf "ratio processor/passthrough=%.2f\n", p / t }'
