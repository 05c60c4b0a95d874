#!/usr/bin/env bash
# The seeds' before/after (issue 10): the seeds' Redis approach (a Lua INCR/DECR script
# with per-user dedup, one-at-a-time and pipelined clients) and couponflow on the same
# workload, side by side in one run.
#
#   throughput  couponflow_redis_bench --mode sync (16 connections) and --mode pipelined
#               (4 x 100 in flight) against Debian's redis-server (no persistence; with
#               AOF=1 also appendonly + appendfsync everysec, as a Redis that keeps its
#               counts would run); couponflow_runtime_bench --mode processor and
#               --mode passthrough on one preloaded embedded broker (as bench/cpu.sh).
#   latency     couponflow_latency_bench at a fixed rate (LATENCY_RATE, default half the
#               processor's median rate; a run is shortened to stay under the embedded
#               broker's per-partition cap), couponflow and the passthrough, each run on
#               a fresh broker.
#
#   RUNS             runs of everything, interleaved (default 3); figures are per-metric
#                    medians over the runs
#   REQUESTS         requests per throughput run (default 300000, the runtime bench's)
#   LATENCY_SECONDS  seconds of sending per latency run (default 10; shortened so that
#                    a run sends at most 250,000 requests)
#   LATENCY_RATE     requests/s for the latency runs (default: see above)
#   AOF              1 (default): also run Redis with appendonly everysec; 0: not
#   OUT              output directory (default bench/out/compare_redis): runs.txt (every
#                    run's line), summary.tsv, throughput.tsv, latency.tsv, and per system
#                    cdf-<system>.tsv / backlog-<system>.tsv (of its median-p99 run)
#
# Prints every run's key=value line, then `summary system=... key=value...` lines and a
# table. Exits 1 if a Redis run fails its consistency check or a run fails.
set -euo pipefail
RUNS="${RUNS:-3}"
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
ninja -C "$build" couponflow couponflow_runtime_bench couponflow_redis_bench couponflow_latency_bench >/dev/null

requests="${REQUESTS:-300000}"
latency_seconds="${LATENCY_SECONDS:-10}"
latency_rate="${LATENCY_RATE:-}"
aof="${AOF:-1}"
out="${OUT:-$repo/bench/out/compare_redis}"
# Requests one latency run may send to one broker: 250k over 12 partitions stays under
# the embedded broker's ~5 MB per partition for the requests and for the results.
latency_max_requests=250000
bin="$build/bench"
mkdir -p "$out"
rm -f "$out"/*.tsv "$out"/runs.txt
work=$(mktemp -d)

started=()  # PIDs of the servers this script started
cleanup() {
  local pid
  for pid in "${started[@]}"; do
    kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT

# stop PID: SIGTERM one server this script started, wait for it, forget it.
stop() {
  local pid=$1 kept=() p
  kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  for p in "${started[@]}"; do [[ "$p" == "$pid" ]] || kept+=("$p"); done
  started=("${kept[@]}")
}

# start_redis NAME ARGS...: a redis-server on 127.0.0.1 and a free port, with its data
# in the work directory; sets redis_port[NAME].
declare -A redis_port
start_redis() {
  local name=$1 port attempt
  shift
  mkdir -p "$work/redis-$name"
  for attempt in $(seq 20); do
    port=$((20000 + RANDOM % 20000))
    # A port that answers a connection is taken; redis-server still fails if it races.
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && continue
    redis-server --bind 127.0.0.1 --port "$port" --dir "$work/redis-$name" --save '' "$@" \
      >"$work/redis-$name.log" 2>&1 &
    started+=($!)
    for _ in $(seq 50); do
      redis-cli -p "$port" ping >/dev/null 2>&1 && { redis_port[$name]=$port; return; }
      kill -0 "${started[-1]}" 2>/dev/null || break
      sleep 0.1
    done
    stop "${started[-1]}"
  done
  echo "compare_redis.sh: cannot start redis-server ($name); see $work/redis-$name.log" >&2
  exit 1
}

# start_broker NAME [APPLICATION-IDS...]: an embedded broker process; sets broker_pid
# and bootstrap.
start_broker() {
  local name=$1
  shift
  "$build/couponflow" broker --partitions 12 --application-id "${@:-coupon-processor}" \
    --bootstrap-file "$work/$name.bootstrap" >"$work/$name.out" 2>"$work/$name.err" &
  broker_pid=$!
  started+=("$broker_pid")
  for _ in $(seq 100); do [[ -s "$work/$name.bootstrap" ]] && break; sleep 0.1; done
  [[ -s "$work/$name.bootstrap" ]] || { echo "compare_redis.sh: the broker did not start" >&2; exit 1; }
  bootstrap=$(cat "$work/$name.bootstrap")
}

field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<" $2"; }

# record SYSTEM RUN LINE: keeps a run's line (runs.txt) for the medians.
declare -A lines
record() {
  echo "system=$1 run=$2 $3" | tee -a "$out/runs.txt"
  lines[$1]+="$3"$'\n'
}

# median_of SYSTEM KEY [FORMAT]: the median of KEY over SYSTEM's runs.
median_of() {
  local v
  v=$(printf '%s' "${lines[$1]}" | sed -n "s/.* $2=\([0-9.]*\).*/\1/p; s/^$2=\([0-9.]*\).*/\1/p")
  [[ -n "$v" ]] || { echo "-"; return; }
  printf '%s\n' "$v" | median "${3:-%.0f}"
}

# keep_median_run SYSTEM: of SYSTEM's runs, the one with the median p99 gives
# cdf-SYSTEM.tsv (and backlog-SYSTEM.tsv), so a plotted curve is a run that happened.
keep_median_run() {
  local system=$1 key run
  key=$(printf '%s' "${lines[$system]}" | sed -n 's/.*p99_\(us\|ms\)=.*/p99_\1/p' | head -1)
  run=$(grep "^system=$system " "$out/runs.txt" | awk -v k="$key" '{
      for (i = 1; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
      print f[k], f["run"] }' | sort -g | awk '{ r[NR] = $2 } END { print r[int((NR + 1) / 2)] }')
  cp "$work/cdf-$system-$run.tsv" "$out/cdf-$system.tsv"
  [[ -f "$work/backlog-$system-$run.tsv" ]] && cp "$work/backlog-$system-$run.tsv" "$out/backlog-$system.tsv"
  return 0
}

# --- servers for the throughput runs ---------------------------------------------------
start_redis plain --appendonly no
redis_systems=(redis-sync redis-pipelined)
if [[ "$aof" == 1 ]]; then
  start_redis aof --appendonly yes --appendfsync everysec
  redis_systems+=(redis-sync-aof redis-pipelined-aof)
fi
ids=()
for ((i = 1; i <= runs; i++)); do ids+=("compare-redis-$i"); done
start_broker throughput "${ids[@]}"
throughput_broker=$broker_pid
"$bin/couponflow_runtime_bench" --bootstrap "$bootstrap" --mode preload --records "$requests" >/dev/null

redis_run() {  # redis_run SYSTEM RUN SERVER MODE ARGS...
  local system=$1 run=$2 server=$3 mode=$4 line
  shift 4
  line=$("$bin/couponflow_redis_bench" --port "${redis_port[$server]}" --mode "$mode" --requests "$requests" \
    --cdf "$work/cdf-$system-$run.tsv" "$@") || { echo "compare_redis.sh: $system failed: $line" >&2; exit 1; }
  record "$system" "$run" "$line"
}

echo "# throughput: $requests requests per run, $runs runs interleaved"
for ((i = 1; i <= runs; i++)); do
  redis_run redis-sync "$i" plain sync --connections 16
  redis_run redis-pipelined "$i" plain pipelined --connections 4 --depth 100
  if [[ "$aof" == 1 ]]; then
    redis_run redis-sync-aof "$i" aof sync --connections 16
    redis_run redis-pipelined-aof "$i" aof pipelined --connections 4 --depth 100
  fi
  record passthrough-max "$i" "$("$bin/couponflow_runtime_bench" --bootstrap "$bootstrap" --records "$requests" \
    --mode passthrough --group "compare-passthrough-$i")"
  record couponflow-max "$i" "$("$bin/couponflow_runtime_bench" --bootstrap "$bootstrap" --records "$requests" \
    --mode processor --application-id "compare-redis-$i")"
done
stop "$throughput_broker"

# --- latency at a fixed rate -----------------------------------------------------------
processor_rate=$(median_of couponflow-max rate)
[[ -n "$latency_rate" ]] || latency_rate=$((processor_rate / 2))
# The rate is the point of the comparison (half the highest), so the broker cap
# shortens the run rather than lowering the rate.
latency_seconds=$(awk -v s="$latency_seconds" -v r="$latency_rate" -v m="$latency_max_requests" \
  'BEGIN { printf "%.1f", (r * s > m) ? int(10 * m / r) / 10 : s }')
echo "# latency: $latency_rate requests/s for $latency_seconds s (processor median rate $processor_rate/s), $runs runs interleaved"
for ((i = 1; i <= runs; i++)); do
  for mode in passthrough processor; do
    system=$([[ $mode == processor ]] && echo couponflow || echo passthrough)-at-rate
    start_broker "latency-$mode-$i"
    line=$("$bin/couponflow_latency_bench" --bootstrap "$bootstrap" --mode "$mode" --rate "$latency_rate" \
      --seconds "$latency_seconds" --couponflow "$build/couponflow" \
      --cdf "$work/cdf-$system-$i.tsv" --backlog "$work/backlog-$system-$i.tsv") ||
      { echo "compare_redis.sh: latency run failed: $line" >&2; exit 1; }
    record "$system" "$i" "$line"
    stop "$broker_pid"
  done
done

# --- summary ---------------------------------------------------------------------------
# One row per system: tps, latency percentiles (ms), the largest backlog, errors.
# Redis is a closed loop, so its "backlog" is at most the requests in flight
# (connections x depth); the max-throughput runs of couponflow read a preloaded backlog,
# so they have throughput only.
summary_header=$'system\tload\ttps\tp50_ms\tp95_ms\tp99_ms\tmax_ms\tmax_backlog\terrors\terror_rate'
printf '%s\n' "$summary_header" >"$out/summary.tsv"
printf 'system\ttps\n' >"$out/throughput.tsv"
printf 'system\tp50_ms\tp95_ms\tp99_ms\tmax_ms\n' >"$out/latency.tsv"
ms() { [[ "$1" == - ]] && echo - || awk -v v="$1" 'BEGIN { printf "%.2f", v / 1000 }'; }
row() {  # row SYSTEM LOAD TPS P50 P95 P99 MAX BACKLOG ERRORS ERROR_RATE
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >>"$out/summary.tsv"
  echo "summary system=$1 load=$2 tps=$3 p50_ms=$4 p95_ms=$5 p99_ms=$6 max_ms=$7 max_backlog=$8 errors=$9 error_rate=${10}"
  [[ "$3" != - && "$2" != fixed:* ]] && printf '%s\t%s\n' "$1" "$3" >>"$out/throughput.tsv"
  [[ "$4" != - ]] && printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$4" "$5" "$6" "$7" >>"$out/latency.tsv"
  return 0
}
for system in "${redis_systems[@]}"; do
  first=$(printf '%s' "${lines[$system]}" | head -1)
  connections=$(field connections "$first")
  depth=$(field depth "$first")
  errors=$(median_of "$system" errors)
  row "$system" "closed:${connections}x${depth}" "$(median_of "$system" rate)" \
    "$(ms "$(median_of "$system" p50_us)")" "$(ms "$(median_of "$system" p95_us)")" \
    "$(ms "$(median_of "$system" p99_us)")" "$(ms "$(median_of "$system" max_us)")" \
    "$((connections * depth))" "$errors" "$(awk -v e="$errors" -v n="$requests" 'BEGIN { printf "%.6f", e / n }')"
  keep_median_run "$system"
done
row couponflow-max "backlog:$requests" "$(median_of couponflow-max rate)" - - - - - - -
row passthrough-max "backlog:$requests" "$(median_of passthrough-max rate)" - - - - - - -
for system in couponflow-at-rate passthrough-at-rate; do
  row "$system" "fixed:$latency_rate/s" "$(median_of "$system" achieved_rate)" "$(median_of "$system" p50_ms %.2f)" \
    "$(median_of "$system" p95_ms %.2f)" "$(median_of "$system" p99_ms %.2f)" "$(median_of "$system" max_ms %.2f)" \
    "$(median_of "$system" max_backlog)" "$(median_of "$system" errors)" "$(median_of "$system" error_rate %.6f)"
  keep_median_run "$system"
done
echo
echo "medians of $runs runs (per metric); latency in ms; redis backlog = requests in flight"
column -t -s $'\t' "$out/summary.tsv"
echo "data: $out"
