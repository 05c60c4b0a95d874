#!/usr/bin/env bash
# CPU per decision (issue 10): the processor's own CPU time per decision next to a tuned
# passthrough's per record, on the same broker and the same preloaded requests, in one
# run. The embedded broker runs as a separate process (`couponflow broker`), so each
# figure is the measured process alone, as on a cluster where the broker is elsewhere.
#   RUNS      runs per mode, interleaved (default 5)
#   RECORDS   preloaded requests (default 300000: 25k per partition, under the embedded
#             broker's per-partition cap)
#   OUT       where cpu.tsv goes (default bench/out/cpu), for bench/plots/cpu.gp
# A third mode, "shaped", is the passthrough writing what the processor writes: the
# share of requests the contract grants (preload computes it) to coupon-issued and to a
# changelog, the rest to coupon-rejected. It is librdkafka's part of the processor's
# cost with none of its work: shaped / passthrough is a floor that processor /
# passthrough cannot go below with this client.
# Prints every run, the medians, and the ratios processor / passthrough of CPU per record
# (the target is <= 1.5) and of records per second (>= 0.6), and the shaped floor. Extra
# arguments go to every processor run (e.g. --guarantee exactly_once_v2, --metrics off,
# --threads 2).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
ninja -C "$build" couponflow couponflow_runtime_bench >/dev/null
records="${RECORDS:-300000}"

ids=()
for ((i = 1; i <= runs; i++)); do ids+=("cpu-bench-$i"); done
start_broker 12 "${ids[@]}" shaped-passthrough
bench="$build/bench/couponflow_runtime_bench"
preloaded=$("$bench" --bootstrap "$bs" --mode preload --records "$records")
share=$(awk -v line="$preloaded" -v n="$records" \
  'BEGIN { match(line, /granted=[0-9]+/); printf "%.4f", substr(line, RSTART + 8, RLENGTH - 8) / n }')
echo "$preloaded granted_share=$share"

field() { sed -n "s/.* $1=\([0-9.]*\).*/\1/p" <<<"$2"; }
declare -A rates cpus
for ((i = 1; i <= runs; i++)); do
  line=$("$bench" --bootstrap "$bs" --records "$records" --mode passthrough --group "passthrough-$i")
  echo "run=$i $line"
  rates[passthrough]+="$(field rate "$line")"$'\n'
  cpus[passthrough]+="$(field cpu_us_per_record "$line")"$'\n'
  line=$("$bench" --bootstrap "$bs" --records "$records" --mode shaped --group "shaped-$i" \
    --application-id shaped-passthrough --granted-share "$share")
  echo "run=$i $line"
  rates[shaped]+="$(field rate "$line")"$'\n'
  cpus[shaped]+="$(field cpu_us_per_record "$line")"$'\n'
  line=$("$bench" --bootstrap "$bs" --records "$records" --mode processor --application-id "cpu-bench-$i" "$@")
  echo "run=$i $line"
  rates[processor]+="$(field rate "$line")"$'\n'
  cpus[processor]+="$(field cpu_us_per_record "$line")"$'\n'
done
for mode in passthrough shaped processor; do
  rate=$(printf '%s' "${rates[$mode]}" | median)
  cpu=$(printf '%s' "${cpus[$mode]}" | median %.3f)
  echo "median mode=$mode rate=$rate cpu_us_per_record=$cpu runs=$runs"
  eval "rate_$mode=$rate cpu_$mode=$cpu"
done
out="${OUT:-$repo/bench/out/cpu}"
mkdir -p "$out"
printf 'mode\tcpu_us_per_record\trecords_per_second\npassthrough\t%s\t%s\nshaped-passthrough\t%s\t%s\ncouponflow\t%s\t%s\n' \
  "$cpu_passthrough" "$rate_passthrough" "$cpu_shaped" "$rate_shaped" "$cpu_processor" "$rate_processor" >"$out/cpu.tsv"
awk -v cp="$cpu_processor" -v ct="$cpu_passthrough" -v rp="$rate_processor" -v rt="$rate_passthrough" \
  'BEGIN { printf "ratio cpu per record processor/passthrough=%.2f (target <= 1.5); rate processor/passthrough=%.2f (target >= 0.6)\n", cp / ct, rp / rt }'
awk -v cs="$cpu_shaped" -v ct="$cpu_passthrough" -v rs="$rate_shaped" -v rt="$rate_passthrough" \
  'BEGIN { printf "floor (librdkafka alone, the processor'"'"'s records) shaped/passthrough: cpu per record=%.2f rate=%.2f\n", cs / ct, rs / rt }'
