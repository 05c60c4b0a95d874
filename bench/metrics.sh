#!/usr/bin/env bash
# What metrics cost: couponflow_runtime_bench in processor mode with metrics on (as
# `process` runs: registry, per-record latency histograms, /metrics scraped every second)
# and off (metrics.recording.level=off, no registry), RUNS times each (default 5),
# interleaved; prints both medians and the cost in percent. Extra arguments go to every
# run, e.g.  RUNS=3 bench/metrics.sh --guarantee exactly_once_v2. INSTRUCTIONS=1 adds an
# instruction count of the per-record part (see the end).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
ninja -C "$build" couponflow_runtime_bench >/dev/null

run_metrics() { "$build/bench/couponflow_runtime_bench" "${extra[@]}" --mode processor --metrics "$1"; }
extra=("$@")
interleave metrics off on run_metrics
awk -v on="${median_rate[on]}" -v off="${median_rate[off]}" 'BEGIN { printf "metrics cost=%.1f%% of throughput\n", (off - on) * 100 / off }'

# Wall-clock rates on two shared cores vary by more than the cost measured; instruction
# counts do not. With INSTRUCTIONS=1, callgrind counts the instructions spent processing
# (TopologyTestDriver::process_all: decide, store, emit, plus the per-record metrics) for
# the same 200k requests with per-record metrics off and on (about two minutes).
if [[ "${INSTRUCTIONS:-0}" == 1 ]]; then
  ninja -C "$build" couponflow_bench >/dev/null
  declare -A instructions
  for metrics in off on; do
    out="$(valgrind --tool=callgrind --callgrind-out-file=/dev/null '--toggle-collect=*TopologyTestDriver::process_all*' \
      "$build/bench/couponflow_bench" --mode topology --requests 200000 --metrics "$metrics" 2>&1)"
    instructions[$metrics]="$(sed -n 's/.*Collected : \([0-9]*\).*/\1/p' <<<"$out")"
    echo "instructions metrics=$metrics processing=${instructions[$metrics]}"
  done
  awk -v on="${instructions[on]}" -v off="${instructions[off]}" \
    'BEGIN { printf "per-record metrics: %+.0f instructions per request, %+.2f%% of processing instructions\n", (on - off) / 200000, (on - off) * 100 / off }'
fi
