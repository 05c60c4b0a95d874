#!/usr/bin/env bash
# The fault-tolerance figures, medians of RUNS runs (default 5; failover: 3):
#   restore throughput vs a raw read of the same changelog (couponflow_restore_bench),
#   exactly_once_v2 vs at_least_once throughput (couponflow_runtime_bench),
#   failover time with and without standby replicas (couponflow_failover_bench).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
ninja -C "$build" couponflow couponflow_restore_bench couponflow_runtime_bench couponflow_failover_bench >/dev/null
field() { sed -n "s/.* $1=\([0-9.]*\).*/\1/p"; }

declare -A col
run() {  # name, field, command...
  local name=$1 f=$2; shift 2
  local line; line="$("$@")"; echo "$name: $line"
  col[$name]+="$(field "$f" <<<" $line")"$'\n'
}
for ((i = 1; i <= runs; i++)); do
  run raw_rate rate "$build/bench/couponflow_restore_bench" --mode raw
  run restore_rate rate "$build/bench/couponflow_restore_bench" --mode restore
  run restore_mbps mbps "$build/bench/couponflow_restore_bench" --mode restore
  run alos_rate rate "$build/bench/couponflow_runtime_bench" --mode processor --guarantee at_least_once
  run eos_rate rate "$build/bench/couponflow_runtime_bench" --mode processor --guarantee exactly_once_v2
done
for ((i = 1; i <= ${FAILOVER_RUNS:-3}; i++)); do
  run failover_cold failover_seconds "$build/bench/couponflow_failover_bench" --couponflow "$build/couponflow"
  run failover_warm failover_seconds "$build/bench/couponflow_failover_bench" --couponflow "$build/couponflow" --standby
  run restore_cold restore_seconds "$build/bench/couponflow_failover_bench" --couponflow "$build/couponflow"
  run restore_warm restore_seconds "$build/bench/couponflow_failover_bench" --couponflow "$build/couponflow" --standby
done
for k in raw_rate restore_rate restore_mbps alos_rate eos_rate failover_cold failover_warm restore_cold restore_warm; do
  echo "median $k=$(printf '%s' "${col[$k]}" | median %.3f)"
done
