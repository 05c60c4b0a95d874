#!/usr/bin/env bash
# Scale figures (issue 10): decisions/s and CPU per decision of one processor instance
# as the partitions grow (3, 6, 12, 24), next to the passthrough on the same broker and
# input, and one hot coupon's ceiling (every request for one coupon, so on one
# partition, decided by one task). Each point has a broker of its own (`couponflow
# broker` as a separate process) preloaded once; the two modes alternate RUNS times.
#   RUNS        runs per mode and point (default 3)
#   RECORDS     preloaded requests per point (default 120000: 40k per partition at 3
#               partitions, under the embedded broker's ~5 MB per partition)
#   HOT_RECORDS requests for the hot coupon (default 35000, all on one partition)
#   PARTITIONS  the partition counts (default "3 6 12 24")
#   OUT         where scale.tsv goes (default bench/out/scale)
# Prints every run and a table; scale.tsv feeds bench/plots/scale.gp.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
ninja -C "$build" couponflow couponflow_runtime_bench >/dev/null
records="${RECORDS:-120000}"
hot_records="${HOT_RECORDS:-35000}"
partition_counts="${PARTITIONS:-3 6 12 24}"
out="${OUT:-$repo/bench/out/scale}"
mkdir -p "$out"
work=$(mktemp -d)
broker_pid=""
stop_broker() {
  if [[ -n "$broker_pid" ]]; then
    kill "$broker_pid" 2>/dev/null || true
    wait "$broker_pid" 2>/dev/null || true
    broker_pid=""
  fi
}
cleanup() {
  stop_broker
  rm -rf "$work"
}
trap cleanup EXIT
bench="$build/bench/couponflow_runtime_bench"
field() { sed -n "s/.* $1=\([0-9.]*\).*/\1/p" <<<"$2"; }

# point NAME PARTITIONS RECORDS COUPONS: one broker, RUNS runs of each mode; prints the
# medians as one TSV row.
point() {
  local name=$1 partitions=$2 n=$3 coupons=$4
  local ids=()
  for ((i = 1; i <= runs; i++)); do ids+=("scale-$i"); done
  rm -f "$work/bootstrap"
  "$build/couponflow" broker --partitions "$partitions" --application-id "${ids[@]}" \
    --bootstrap-file "$work/bootstrap" >"$work/broker.out" 2>"$work/broker.err" &
  broker_pid=$!
  for _ in $(seq 100); do [[ -s "$work/bootstrap" ]] && break; sleep 0.1; done
  local bs
  bs=$(cat "$work/bootstrap")
  "$bench" --bootstrap "$bs" --mode preload --records "$n" --coupons "$coupons" >/dev/null
  local -A rates=() cpus=()
  for ((i = 1; i <= runs; i++)); do
    local line
    line=$("$bench" --bootstrap "$bs" --records "$n" --mode passthrough --group "passthrough-$i")
    echo "point=$name run=$i $line" >&2
    rates[passthrough]+="$(field rate "$line")"$'\n'
    cpus[passthrough]+="$(field cpu_us_per_record "$line")"$'\n'
    line=$("$bench" --bootstrap "$bs" --records "$n" --mode processor --application-id "scale-$i")
    echo "point=$name run=$i $line" >&2
    rates[processor]+="$(field rate "$line")"$'\n'
    cpus[processor]+="$(field cpu_us_per_record "$line")"$'\n'
  done
  stop_broker
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$partitions" "$n" \
    "$(printf '%s' "${rates[processor]}" | median)" "$(printf '%s' "${cpus[processor]}" | median %.3f)" \
    "$(printf '%s' "${rates[passthrough]}" | median)" "$(printf '%s' "${cpus[passthrough]}" | median %.3f)"
}

{
  printf 'point\tpartitions\trecords\tprocessor_rate\tprocessor_cpu_us\tpassthrough_rate\tpassthrough_cpu_us\n'
  for p in $partition_counts; do point "partitions-$p" "$p" "$records" 100; done
  point "hot-coupon" 12 "$hot_records" 1
} >"$out/scale.tsv"
column -t "$out/scale.tsv"
echo "wrote $out/scale.tsv"
