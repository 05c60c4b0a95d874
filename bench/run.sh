#!/usr/bin/env bash
# Runs couponflow_bench in both modes RUNS times (default 5), interleaved so that a
# noisy neighbour slows both modes alike, then prints the median rate of each mode and
# median(topology) / median(rocksdb). Extra arguments go to every run, e.g.
#   RUNS=3 bench/run.sh --requests 100000
# BUILD_DIR overrides the build directory (default: <repo>/build).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${BUILD_DIR:-$repo/build}"
runs="${RUNS:-5}"
if ! [[ "$runs" =~ ^[1-9][0-9]*$ ]]; then
  echo "run.sh: RUNS must be a positive integer, got '$runs'" >&2
  exit 2
fi

# Configure only when the build directory was never configured; ninja itself is a
# no-op when the bench is up to date.
if [[ ! -f "$build/build.ninja" ]]; then
  cmake -S "$repo" -B "$build" -G Ninja >/dev/null
fi
ninja -C "$build" couponflow_bench >/dev/null
bench="$build/bench/couponflow_bench"

declare -A rates=([topology]="" [rocksdb]="")
for ((i = 1; i <= runs; i++)); do
  for mode in topology rocksdb; do
    line="$("$bench" --mode "$mode" "$@")"
    echo "run=$i $line"
    rate="$(sed -n 's/.* rate=\([0-9.]*\).*/\1/p' <<<"$line")"
    [[ -n "$rate" ]] || { echo "run.sh: no rate in: $line" >&2; exit 1; }
    rates[$mode]+="$rate"$'\n'
  done
done

median() { sort -g | awk '{ v[NR] = $1 } END { printf "%.0f\n", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
topology="$(printf '%s' "${rates[topology]}" | median)"
rocksdb="$(printf '%s' "${rates[rocksdb]}" | median)"
echo "median mode=topology rate=$topology runs=$runs"
echo "median mode=rocksdb rate=$rocksdb runs=$runs"
awk -v t="$topology" -v r="$rocksdb" 'BEGIN { printf "ratio topology/rocksdb=%.2f\n", t / r }'
