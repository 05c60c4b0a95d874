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
#   LATENCY_RATE, LATENCY_SECONDS  then, per partition count, couponflow's latency at a
#               fixed rate (couponflow_latency_bench on a fresh broker; default 50000/s
#               for 2 s), medians of RUNS: p50 and p99 as the partitions grow
#   OUT         where scale.tsv goes (default bench/out/scale)
# Prints every run and a table; scale.tsv feeds bench/plots/scale.gp.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
ninja -C "$build" couponflow couponflow_runtime_bench couponflow_latency_bench >/dev/null
records="${RECORDS:-120000}"
hot_records="${HOT_RECORDS:-35000}"
partition_counts="${PARTITIONS:-3 6 12 24}"
latency_rate="${LATENCY_RATE:-50000}"
latency_seconds="${LATENCY_SECONDS:-2}"
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

# start_broker PARTITIONS IDS...: a broker process of its own; sets broker_pid, bs.
start_broker() {
  local partitions=$1
  shift
  rm -f "$work/bootstrap"
  "$build/couponflow" broker --partitions "$partitions" --application-id "$@" \
    --bootstrap-file "$work/bootstrap" >"$work/broker.out" 2>"$work/broker.err" &
  broker_pid=$!
  for _ in $(seq 100); do [[ -s "$work/bootstrap" ]] && break; sleep 0.1; done
  bs=$(cat "$work/bootstrap")
}

# latency PARTITIONS: couponflow's p50 and p99 (ms) at the fixed rate, medians of RUNS
# runs, each on a fresh broker (the latency bench's application, coupon-processor).
latency() {
  local p50s="" p99s="" line
  for ((i = 1; i <= runs; i++)); do
    start_broker "$1" coupon-processor
    line=$("$build/bench/couponflow_latency_bench" --bootstrap "$bs" --partitions "$1" --mode processor \
      --rate "$latency_rate" --seconds "$latency_seconds" --couponflow "$build/couponflow")
    echo "point=partitions-$1 run=$i $line" >&2
    stop_broker
    p50s+="$(field p50_ms "$line")"$'\n'
    p99s+="$(field p99_ms "$line")"$'\n'
  done
  printf '%s\t%s' "$(printf '%s' "$p50s" | median %.2f)" "$(printf '%s' "$p99s" | median %.2f)"
}

# point NAME PARTITIONS RECORDS COUPONS: one broker, RUNS runs of each mode; prints the
# medians as one TSV row (without its latency columns).
point() {
  local name=$1 partitions=$2 n=$3 coupons=$4
  local ids=()
  for ((i = 1; i <= runs; i++)); do ids+=("scale-$i"); done
  start_broker "$partitions" "${ids[@]}"
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
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s' "$name" "$partitions" "$n" \
    "$(printf '%s' "${rates[processor]}" | median)" "$(printf '%s' "${cpus[processor]}" | median %.3f)" \
    "$(printf '%s' "${rates[passthrough]}" | median)" "$(printf '%s' "${cpus[passthrough]}" | median %.3f)"
}

{
  printf 'point\tpartitions\trecords\tprocessor_rate\tprocessor_cpu_us\tpassthrough_rate\tpassthrough_cpu_us'
  printf '\tp50_ms_at_%s\tp99_ms_at_%s\n' "$latency_rate" "$latency_rate"
  for p in $partition_counts; do
    point "partitions-$p" "$p" "$records" 100
    printf '\t%s\n' "$(latency "$p")"
  done
  point "hot-coupon" 12 "$hot_records" 1
  printf '\t-\t-\n'
} >"$out/scale.tsv"
column -t "$out/scale.tsv"
echo "wrote $out/scale.tsv"
