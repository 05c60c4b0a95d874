#!/usr/bin/env bash
# Restore against a raw read of the same changelog (issue 10: restore >= 0.8x the raw
# read), in records per second and in CPU time per record. The embedded broker runs as
# a separate process (`couponflow broker`), preloaded once with the issued store's
# changelog; then RUNS times (default 5), interleaved, a plain consumer reads it (raw)
# and a processor instance with an empty state directory restores it (restore), each
# printing rate and cpu_us_per_record (its own process only: getrusage).
#   RUNS        runs per mode (default 5)
#   RECORDS     preloaded holdings (default 800000)
#   PARTITIONS  changelog partitions (default 24; ~33k holdings each, under the
#               embedded broker's per-partition cap)
#   SETTLE_SECONDS  restore runs then idle this long and report rss_settled_mb (default 0;
#               12 outlasts jemalloc's 10 s decay of freed pages)
#   OUT         where restore.tsv goes (default bench/out/restore), for bench/plots/restore.gp
#   BASE_BUILD  also restore with that build's couponflow_restore_bench (a worktree of an
#               earlier commit, as for bench/ab.sh), interleaved: before/after of a step
# rss_mb is the process's resident memory once every task runs (restore: with every
# holding restored; RECORDS=1000000 gives issue 10's "RSS with 1M holdings").
# Prints every run, the medians, and the ratios restore / raw of records per second
# (target >= 0.8) and of CPU per record.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
ninja -C "$build" couponflow couponflow_restore_bench >/dev/null
modes=(raw restore)
if [[ -n "${BASE_BUILD:-}" ]]; then
  # A copied binary (no build.ninja) is used as it is.
  [[ -f "$BASE_BUILD/build.ninja" ]] && ninja -C "$BASE_BUILD" couponflow_restore_bench >/dev/null
  modes=(raw base restore)
fi
records="${RECORDS:-800000}"
partitions="${PARTITIONS:-24}"
app=restore-bench

start_broker "$partitions" "$app"
bench=("$build/bench/couponflow_restore_bench" --bootstrap "$bs" --application-id "$app"
  --records "$records" --partitions "$partitions")
"${bench[@]}" --mode preload >/dev/null

field() { sed -n "s/.* $1=\([0-9.]*\).*/\1/p" <<<"$2"; }
declare -A rates cpus rss settled
for ((i = 1; i <= runs; i++)); do
  for mode in "${modes[@]}"; do
    if [[ $mode == base ]]; then
      line=$("$BASE_BUILD/bench/couponflow_restore_bench" "${bench[@]:1}" --mode restore)
      line="${line/mode=restore/mode=base}"
    else
      line=$("${bench[@]}" --mode "$mode" $([[ $mode == restore ]] && echo --settle-seconds "${SETTLE_SECONDS:-0}"))
    fi
    echo "run=$i $line"
    rates[$mode]+="$(field rate "$line")"$'\n'
    cpus[$mode]+="$(field cpu_us_per_record "$line")"$'\n'
    rss[$mode]+="$(field rss_mb "$line")"$'\n'
    settled[$mode]+="$(field rss_settled_mb "$line")"$'\n'
  done
done
out="${OUT:-$repo/bench/out/restore}"
mkdir -p "$out"
printf 'mode\trecords_per_second\tcpu_us_per_record\trss_mb\trss_settled_mb\n' >"$out/restore.tsv"
for mode in "${modes[@]}"; do
  rate=$(printf '%s' "${rates[$mode]}" | median)
  cpu=$(printf '%s' "${cpus[$mode]}" | median %.3f)
  mb=$(printf '%s' "${rss[$mode]}" | median)
  settled_mb=$(printf '%s' "${settled[$mode]}" | median)
  echo "median mode=$mode rate=$rate cpu_us_per_record=$cpu rss_mb=$mb rss_settled_mb=$settled_mb runs=$runs"
  [[ $mode == base ]] || printf '%s\t%s\t%s\t%s\t%s\n' "$mode" "$rate" "$cpu" "$mb" "$settled_mb" >>"$out/restore.tsv"
  eval "rate_$mode=$rate cpu_$mode=$cpu"
done
awk -v rr="$rate_restore" -v rw="$rate_raw" -v cr="$cpu_restore" -v cw="$cpu_raw" \
  'BEGIN { printf "ratio rate restore/raw=%.2f (target >= 0.8); cpu per record restore/raw=%.2f\n", rr / rw, cr / cw }'
if [[ -n "${BASE_BUILD:-}" ]]; then
  awk -v rr="$rate_restore" -v rb="$rate_base" -v cr="$cpu_restore" -v cb="$cpu_base" \
    'BEGIN { printf "ratio restore/base: rate=%.2f cpu per record=%.2f\n", rr / rb, cr / cb }'
fi
