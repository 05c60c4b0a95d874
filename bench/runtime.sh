#!/usr/bin/env bash
# Runs couponflow_runtime_bench in both modes RUNS times (default 5), interleaved, on
# the embedded broker, then prints the median rate of each mode and
# median(processor) / median(passthrough): how close the processor gets to what the
# broker and client can move at all. Extra arguments go to every run, e.g.
#   RUNS=3 bench/runtime.sh --brokers 3
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${BUILD_DIR:-$repo/build}"
runs="${RUNS:-5}"
[[ -f "$build/build.ninja" ]] || cmake -S "$repo" -B "$build" -G Ninja >/dev/null
ninja -C "$build" couponflow_runtime_bench >/dev/null
bench="$build/bench/couponflow_runtime_bench"

declare -A rates=([passthrough]="" [processor]="")
for ((i = 1; i <= runs; i++)); do
  for mode in passthrough processor; do
    line="$("$bench" --mode "$mode" "$@")"
    echo "run=$i $line"
    rates[$mode]+="$(sed -n 's/.* rate=\([0-9.]*\).*/\1/p' <<<"$line")"$'\n'
  done
done
median() { sort -g | awk '{ v[NR] = $1 } END { printf "%.0f\n", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
passthrough="$(printf '%s' "${rates[passthrough]}" | median)"
processor="$(printf '%s' "${rates[processor]}" | median)"
echo "median mode=passthrough rate=$passthrough runs=$runs"
echo "median mode=processor rate=$processor runs=$runs"
awk -v p="$processor" -v t="$passthrough" 'BEGIN { printf "ratio processor/passthrough=%.2f\n", p / t }'
