#!/usr/bin/env bash
# Before/after of one optimisation step: the processor of two builds (BASE_BUILD, e.g. a
# worktree of the previous commit, and BUILD_DIR) on the same embedded broker and the
# same preloaded requests, runs interleaved, each run measuring its own process's CPU
# per decision (couponflow_runtime_bench --mode processor, as bench/cpu.sh does). A
# step's effect is measured this way because the passthrough of bench/cpu.sh shares the
# Kafka client code and may move with it.
#   BASE_BUILD  the build to compare against (required)
#   RUNS        runs per build (default 5); RECORDS as in bench/cpu.sh (default 300000)
# Extra arguments go to every processor run. Prints every run, the medians and the ratio
# after / before of CPU per decision.
#   git worktree add /tmp/base HEAD~1 && cmake -S /tmp/base -B /tmp/base/build -G Ninja \
#     && BASE_BUILD=/tmp/base/build RUNS=5 bench/ab.sh
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
base="${BASE_BUILD:?set BASE_BUILD to the build directory to compare against}"
ninja -C "$build" couponflow couponflow_runtime_bench >/dev/null
# A copied binary (no build.ninja) is used as it is.
[[ -f "$base/build.ninja" ]] && ninja -C "$base" couponflow_runtime_bench >/dev/null
records="${RECORDS:-300000}"

ids=()
for ((i = 1; i <= runs; i++)); do ids+=("ab-before-$i" "ab-after-$i"); done
start_broker 12 "${ids[@]}"
"$build/bench/couponflow_runtime_bench" --bootstrap "$bs" --mode preload --records "$records" >/dev/null

field() { sed -n "s/.* $1=\([0-9.]*\).*/\1/p" <<<"$2"; }
declare -A rates cpus
declare -A bench_of=([before]="$base/bench/couponflow_runtime_bench" [after]="$build/bench/couponflow_runtime_bench")
for ((i = 1; i <= runs; i++)); do
  for which in before after; do
    line=$("${bench_of[$which]}" --bootstrap "$bs" --records "$records" --mode processor \
      --application-id "ab-$which-$i" "$@")
    echo "run=$i build=$which $line"
    rates[$which]+="$(field rate "$line")"$'\n'
    cpus[$which]+="$(field cpu_us_per_record "$line")"$'\n'
  done
done
for which in before after; do
  rate=$(printf '%s' "${rates[$which]}" | median)
  cpu=$(printf '%s' "${cpus[$which]}" | median %.3f)
  echo "median build=$which rate=$rate cpu_us_per_record=$cpu runs=$runs"
  eval "cpu_$which=$cpu"
done
awk -v a="$cpu_after" -v b="$cpu_before" 'BEGIN { printf "ratio cpu per decision after/before=%.2f\n", a / b }'
