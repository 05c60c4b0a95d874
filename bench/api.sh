#!/usr/bin/env bash
# The HTTP API (`couponflow api`) under Debian's wrk, on loopback with keep-alive
# connections, in front of an embedded broker (`couponflow broker`) and one processor
# (`couponflow process`), every one a process of its own. Four scenarios:
#
#   issue-202       POST /api/coupons/{id}/issue, fire-and-forget: 202 once the broker
#                   acknowledged (bench/wrk/issue.lua: a unique userId and requestId per
#                   request, spread over the coupons, so every request is ACCEPTED)
#   issue-wait      the same with ?wait=WAIT_MS: 200 with the decision (a 202 means the
#                   decision did not come in time and counts as other_2xx)
#   coupon          GET /api/coupons/{id} over the coupons (bench/wrk/query.lua): an
#                   interactive query the api proxies to the processor owning the partition
#   holders         GET /api/coupons/{id}/holders/{userId} for users issue-202 issued
#
# Each run starts two stacks (broker, catalog, processor, api), each its own fresh
# broker: one for issue-202 then coupon and holders, one for issue-wait. Fresh because
# the embedded broker (librdkafka's mock cluster) finds a fetch offset by walking the
# partition's message sets from the first, so every consumer of a growing log (the
# processor, the api's decision feed) costs the broker more per fetch as the log grows,
# and a run on a fuller broker is slower for the broker's sake alone; and because it
# keeps ~5 MB and 100k message sets per partition and silently drops the oldest beyond
# that (see the capacity check below).
#
# Per scenario: requests/s, latency p50/p95/p99/max (wrk's, per request), the answers
# other than the expected status (non2xx, other_2xx) and socket errors or timeouts, and
# CPU time per request of the api, the processor and the broker (utime + stime from
# /proc/PID/stat; for the POST scenarios from the start of wrk until the processor has
# decided every acknowledged request, so the processor's share is counted in full).
#
#   COUPONFLOW   the binary (default <repo>/build/couponflow; copied at the start, so a
#                rebuild during the run does not change it)
#   DURATION     seconds per scenario (default 10)
#   CONNECTIONS  wrk connections (default 32)
#   THREADS      wrk threads (default 2)
#   PARTITIONS   partitions of every topic (default 12)
#   RUNS         runs of everything (default 1); the table has per-scenario medians
#                (errors: totals over the runs)
#   COUPONS      coupons (default 120: ids chosen so that every partition has as many, by
#                the murmur2 partitioner; capacity CAPACITY, default 1000000000)
#   WAIT_MS      the wait of issue-wait (default 5000)
#   VERIFY       1 (default): `couponflow verify` on each stack before it stops, which
#                also tells whether the broker dropped records (exit 3); 0: not
#   OUT          where api.tsv goes (default bench/out)
#   WRK          the wrk binary (default wrk; Debian's package, LuaJIT scripts); curl too
#
# Prints every scenario's line, warnings, and a table of the medians, which also goes to
# OUT/api.tsv. The load is what wrk can push on this machine (a closed loop of
# CONNECTIONS): wrk, the api, the processor and the broker share its cores.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
name=$(basename "$0")
# Not common.sh: it would configure a build directory, and this bench needs none.
for var in DURATION CONNECTIONS THREADS PARTITIONS RUNS COUPONS CAPACITY WAIT_MS; do
  value="${!var:-}"
  if [[ -n "$value" && ! "$value" =~ ^[1-9][0-9]*$ ]]; then
    echo "$name: $var must be a positive integer, got '$value'" >&2
    exit 2
  fi
done
duration="${DURATION:-10}"
connections="${CONNECTIONS:-32}"
threads="${THREADS:-2}"
partitions="${PARTITIONS:-12}"
runs="${RUNS:-1}"
coupon_count="${COUPONS:-120}"
capacity="${CAPACITY:-1000000000}"
wait_ms="${WAIT_MS:-5000}"
verify="${VERIFY:-1}"
out="${OUT:-$repo/bench/out}"
source_binary="${COUPONFLOW:-$repo/build/couponflow}"
wrk_bin="${WRK:-wrk}"
lua="$repo/bench/wrk"
for tool in "$wrk_bin" curl timeout; do
  command -v "$tool" >/dev/null || { echo "$name: $tool is not installed" >&2; exit 2; }
done
[[ -x "$source_binary" ]] || { echo "$name: no couponflow binary at $source_binary (set COUPONFLOW)" >&2; exit 2; }
((threads <= connections)) || { echo "$name: THREADS must not exceed CONNECTIONS" >&2; exit 2; }

# The embedded broker's limits per partition, and the share of them a stack may use
# before this script warns. A result record of this workload takes ~230 bytes of a
# partition (its JSON ~190, key, record and batch framing), a request ~160: the results
# fill a partition first.
max_partition_bytes=$((5 * 1024 * 1024))
max_message_sets=100000
result_bytes=230
headroom_percent=70

median() {  # median [FORMAT]: of the numbers on stdin, one per line (as common.sh)
  sort -g | awk -v f="${1:-%.0f}" '{ v[NR] = $1 } END { if (NR == 0) { print "-"; exit }
    printf f "\n", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

work=$(mktemp -d)
cf="$work/couponflow"
cp "$source_binary" "$cf"
started=()  # PIDs of the processes this script started and has not stopped yet
cleanup() {
  local pid
  for pid in "${started[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${started[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# stop PID: SIGTERM one process this script started (SIGKILL after 30 s), wait for it,
# forget it.
stop() {
  local pid=$1 kept=() p
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  for p in "${started[@]}"; do [[ "$p" == "$pid" ]] || kept+=("$p"); done
  started=("${kept[@]}")
}

die() {
  echo "$name: $*" >&2
  exit 1
}

# murmur2_partition KEY N: the partition of KEY among N, as the Java client's and
# librdkafka's murmur2 partitioners place it (the api's producer and the catalog's).
murmur2_partition() {
  local s=$1 n=$2 len=${#1} m=0x5bd1e995 h i k c
  local -a b=()
  for ((i = 0; i < len; i++)); do printf -v c '%d' "'${s:i:1}"; b+=("$c"); done
  h=$(((0x9747b28c ^ len) & 0xFFFFFFFF))
  for ((i = 0; i + 4 <= len; i += 4)); do
    k=$((b[i] | b[i + 1] << 8 | b[i + 2] << 16 | b[i + 3] << 24))
    k=$(((k * m) & 0xFFFFFFFF))
    k=$((k ^ (k >> 24)))
    k=$(((k * m) & 0xFFFFFFFF))
    h=$((((h * m) & 0xFFFFFFFF) ^ k))
  done
  case $((len % 4)) in
    3) h=$((h ^ b[i + 2] << 16)) ;&
    2) h=$((h ^ b[i + 1] << 8)) ;&
    1) h=$(((h ^ b[i]) * m & 0xFFFFFFFF)) ;;
  esac
  h=$((h ^ (h >> 13)))
  h=$(((h * m) & 0xFFFFFFFF))
  h=$((h ^ (h >> 15)))
  echo $(((h & 0x7FFFFFFF) % n))
}

# The coupons: c-0, c-1, ... taking at most ceil(COUPONS / PARTITIONS) per partition, so
# the load is spread evenly over the partitions (and the broker's cap is reached last).
coupons=()
declare -A per_partition
per_max=$(((coupon_count + partitions - 1) / partitions))
for ((i = 0; ${#coupons[@]} < coupon_count; i++)); do
  p=$(murmur2_partition "c-$i" "$partitions")
  ((${per_partition[$p]:-0} < per_max)) || continue
  per_partition[$p]=$((${per_partition[$p]:-0} + 1))
  coupons+=("c-$i")
done
coupon_list=$(IFS=,; echo "${coupons[*]}")
hottest_share=$(awk -v m="$per_max" -v n="$coupon_count" 'BEGIN { print m / n }')
# Requests one stack may take before its hottest partition passes the headroom of a limit.
budget=$(awk -v s="$hottest_share" -v b="$max_partition_bytes" -v r="$result_bytes" -v c="$max_message_sets" \
  -v h="$headroom_percent" 'BEGIN { per = b / r; if (c < per) per = c; printf "%d", per * h / 100 / s }')

# --- a stack: broker, catalog, processor, api --------------------------------------------

# cpu_ticks PID: utime + stime of a process (all its threads), in clock ticks.
cpu_ticks() { sed 's/^.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'; }
clock_ticks=$(getconf CLK_TCK)

# http_status URL: the status code of a GET (000 if none), within 2 s.
http_status() { curl -s -o /dev/null -m 2 -w '%{http_code}' "$1" || true; }

# start_stack NAME: sets broker_pid, processor_pid, api_pid, bootstrap, api_url,
# processor_url; returns once the api is ready and answers a query for every coupon.
start_stack() {
  local s=$1 deadline line coupon
  "$cf" broker --partitions "$partitions" --bootstrap-file "$work/$s.bootstrap" \
    >"$work/$s.broker.out" 2>"$work/$s.broker.err" &
  broker_pid=$!
  started+=("$broker_pid")
  for _ in $(seq 100); do [[ -s "$work/$s.bootstrap" ]] && break; sleep 0.1; done
  [[ -s "$work/$s.bootstrap" ]] || die "the broker did not start: $(tail -3 "$work/$s.broker.err")"
  bootstrap=$(cat "$work/$s.bootstrap")
  for coupon in "${coupons[@]}"; do
    timeout 30 "$cf" catalog put --bootstrap "$bootstrap" --coupon "$coupon" --capacity "$capacity" >/dev/null ||
      die "catalog put $coupon failed"
  done
  "$cf" process --bootstrap "$bootstrap" --state-dir "$work/$s.state" --instance-id a \
    --metrics-listen 127.0.0.1:0 >"$work/$s.process.out" 2>"$work/$s.process.err" &
  processor_pid=$!
  started+=("$processor_pid")
  "$cf" api --bootstrap "$bootstrap" --listen 127.0.0.1:0 >"$work/$s.api.out" 2>"$work/$s.api.err" &
  api_pid=$!
  started+=("$api_pid")
  deadline=$((SECONDS + 60))
  api_url="" processor_url=""
  while [[ -z "$api_url" || -z "$processor_url" ]]; do
    ((SECONDS < deadline)) || die "the api or the processor did not start (see $s.api.err, $s.process.err)"
    kill -0 "$api_pid" 2>/dev/null || die "the api exited: $(tail -3 "$work/$s.api.err")"
    kill -0 "$processor_pid" 2>/dev/null || die "the processor exited: $(tail -3 "$work/$s.process.err")"
    line=$(head -1 "$work/$s.api.out")
    [[ "$line" =~ ^listening\ on\ (http://[^ ]+)$ ]] && api_url=${BASH_REMATCH[1]}
    line=$(sed -n 's|.*serving /metrics.* on \([0-9.]*:[0-9]*\)$|\1|p' "$work/$s.process.err" | head -1)
    [[ -n "$line" ]] && processor_url="http://$line"
    sleep 0.1
  done
  until [[ $(http_status "$api_url/readyz") == 200 ]]; do
    ((SECONDS < deadline)) || die "the api is not ready after 60 s"
    sleep 0.2
  done
  # 503 while the processor's partitions are assigned and restored.
  for coupon in "${coupons[@]}"; do
    until [[ $(http_status "$api_url/api/coupons/$coupon") == 200 ]]; do
      ((SECONDS < deadline)) || die "GET /api/coupons/$coupon does not answer 200 after 60 s"
      sleep 0.2
    done
  done
}

stop_stack() {
  stop "$api_pid"
  stop "$processor_pid"
  stop "$broker_pid"
}

# decisions: the processor's decisions so far (couponflow_decisions_total, all labels).
decisions() {
  curl -s -m 2 "$processor_url/metrics" | awk '/^couponflow_decisions_total/ { s += $2 } END { printf "%d\n", s }'
}

# check_capacity STACK: how full the hottest partition is (its request count, from
# `couponflow describe`), against the broker's limits; warns above the headroom, and if
# the broker already dropped records. With VERIFY=1, `couponflow verify` as well.
check_capacity() {
  local s=$1 ends hottest dropped rc=0 verdict
  local json
  json=$(timeout 60 "$cf" describe --bootstrap "$bootstrap" --output json 2>/dev/null) || {
    echo "warning: $s: couponflow describe failed; the broker's fill is unknown" >&2
    return 0
  }
  ends=$(grep -o '"topic":"coupon-issuance","partition":[0-9]*,[^}]*' <<<"$json" |
    sed -n 's/.*"log_start":\([0-9]*\),"log_end":\([0-9]*\).*/\1 \2/p')
  hottest=$(awk '$2 > m { m = $2 } END { print m + 0 }' <<<"$ends")
  dropped=$(awk '$1 > 0 { d = 1 } END { print d + 0 }' <<<"$ends")
  awk -v n="$hottest" -v b="$max_partition_bytes" -v r="$result_bytes" -v c="$max_message_sets" -v s="$s" \
    -v h="$headroom_percent" 'BEGIN {
      bytes = n * r / b * 100; sets = n / c * 100; share = (bytes > sets) ? bytes : sets
      printf "capacity stack=%s hottest_partition_requests=%d results_bytes_share=%.0f%% message_sets_share=%.0f%%\n", s, n, bytes, sets
      if (share > h) printf "warning: %s: the hottest partition holds ~%.0f%% of what the embedded broker keeps (more than %d%%): lower DURATION or raise PARTITIONS\n", s, share, h > "/dev/stderr" }'
  ((dropped == 0)) || echo "warning: $s: the broker dropped requests (a coupon-issuance log no longer starts at 0)" >&2
  if [[ "$verify" == 1 ]]; then
    verdict=$(timeout 300 "$cf" verify --bootstrap "$bootstrap" 2>/dev/null | grep -E '^(requests|verify:)' | tr '\n' ' ') || rc=$?
    echo "verify stack=$s exit=$rc $verdict"
    case $rc in
      0) ;;
      3) echo "warning: $s: verify cannot verify (exit 3): the broker dropped records the check needs" >&2 ;;
      *) echo "warning: $s: verify exit $rc" >&2 ;;
    esac
  fi
}

# report_logs STACK: the api's and the processor's warnings and errors, if any.
report_logs() {
  local s=$1 file count
  for file in api process; do
    count=$(grep -cE ' (WARN|ERROR)' "$work/$s.$file.err" || true)
    ((count == 0)) && continue
    echo "warning: $s: $file logged $count warnings/errors, e.g.:" >&2
    grep -E ' (WARN|ERROR)' "$work/$s.$file.err" | head -3 | sed 's/^/  /' >&2
  done
}

# --- a scenario --------------------------------------------------------------------------

field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<" $2"; }
declare -A lines         # scenario -> its runs' lines
declare -A rate_seen     # scenario -> the last run's rate (for the capacity forecast)
last_line=""

# scenario RUN NAME POST SCRIPT ARGS...: one wrk run against the current stack; POST=1:
# also waits until the processor has decided every acknowledged request (for its CPU).
scenario() {
  local run=$1 scenario=$2 post=$3 script=$4
  shift 4
  local before_api before_processor before_broker decided_before summary ok deadline expected_decisions
  local api_us processor_us broker_us
  if ((post)) && [[ -n "${rate_seen[$scenario]:-}" ]]; then
    awk -v r="${rate_seen[$scenario]}" -v d="$duration" -v b="$budget" -v s="$scenario" -v h="$headroom_percent" 'BEGIN {
      if (r * d > b) printf "warning: %s: at the last run'"'"'s %.0f requests/s, %d s could send %.0f requests, more than ~%d (%d%% of what the embedded broker keeps here)\n", s, r, d, r * d, b, h > "/dev/stderr" }'
  fi
  decided_before=$( ((post)) && decisions || echo 0)
  before_api=$(cpu_ticks "$api_pid")
  before_processor=$(cpu_ticks "$processor_pid")
  before_broker=$(cpu_ticks "$broker_pid")
  timeout $((duration + 60)) "$wrk_bin" -t "$threads" -c "$connections" -d "${duration}s" --timeout 10s --latency \
    -s "$lua/$script" "$api_url" -- "$@" >"$work/wrk-$run-$scenario.txt" 2>&1 ||
    die "wrk failed ($scenario): $(tail -5 "$work/wrk-$run-$scenario.txt")"
  summary=$(grep '^wrk-summary ' "$work/wrk-$run-$scenario.txt") ||
    die "no summary from wrk ($scenario): $(tail -5 "$work/wrk-$run-$scenario.txt")"
  if ((post)); then
    ok=$(($(field expected "$summary") + $(field unexpected_2xx "$summary")))
    expected_decisions=$((decided_before + ok))
    deadline=$((SECONDS + 120))
    while (($(decisions) < expected_decisions)); do
      ((SECONDS < deadline)) || { echo "warning: $scenario: the processor has not decided every acknowledged request after 120 s" >&2; break; }
      sleep 0.2
    done
  fi
  local n
  n=$(field requests "$summary")
  per_request() { awk -v t="$1" -v k="$clock_ticks" -v n="$n" 'BEGIN { printf "%.1f", (n > 0) ? t / k * 1e6 / n : 0 }'; }
  api_us=$(per_request $(($(cpu_ticks "$api_pid") - before_api)))
  processor_us=$(per_request $(($(cpu_ticks "$processor_pid") - before_processor)))
  broker_us=$(per_request $(($(cpu_ticks "$broker_pid") - before_broker)))
  ms() { awk -v v="$1" 'BEGIN { printf "%.2f", v / 1000 }'; }
  last_line="requests=$n rps=$(field rps "$summary") p50_ms=$(ms "$(field p50_us "$summary")")"
  last_line+=" p95_ms=$(ms "$(field p95_us "$summary")") p99_ms=$(ms "$(field p99_us "$summary")")"
  last_line+=" max_ms=$(ms "$(field max_us "$summary")") non2xx=$(field non2xx "$summary")"
  last_line+=" other_2xx=$(field unexpected_2xx "$summary") socket_errors=$(field socket_errors "$summary")"
  last_line+=" api_cpu_us=$api_us processor_cpu_us=$processor_us broker_cpu_us=$broker_us"
  last_line+=" statuses=$(field statuses "$summary") timeouts=$(field timeout "$summary")"
  last_line+=" min_counter=$(field min_counter "$summary")"
  echo "run=$run scenario=$scenario $last_line"
  lines[$scenario]+="$last_line"$'\n'
  ((post)) && rate_seen[$scenario]=$(field rps "$summary")
  return 0
}

# --- the runs ----------------------------------------------------------------------------

echo "# api bench: $runs run(s), $duration s per scenario, $connections connections, $threads wrk threads," \
  "$partitions partitions, ${#coupons[@]} coupons (at most $per_max per partition) of capacity $capacity"
echo "# a stack takes ~$budget requests before its hottest partition passes $headroom_percent% of the" \
  "embedded broker's cap (~$((max_partition_bytes / result_bytes)) results or $max_message_sets message sets per partition)"
for ((run = 1; run <= runs; run++)); do
  tag="r$run-$$"
  start_stack "run$run-a"
  scenario "$run" issue-202 1 issue.lua "ff$tag" "$coupon_list" "$threads"
  issued=$(($(field min_counter "$last_line") - (connections + threads - 1) / threads))
  scenario "$run" coupon 0 query.lua coupon "$coupon_list"
  scenario "$run" holders 0 query.lua holders "$coupon_list" "ff$tag" "$threads" "$issued"
  check_capacity "run$run-a"
  report_logs "run$run-a"
  stop_stack
  start_stack "run$run-b"
  scenario "$run" issue-wait 1 issue.lua "w$tag" "$coupon_list" "$threads" "$wait_ms"
  check_capacity "run$run-b"
  report_logs "run$run-b"
  stop_stack
done

# --- the table ---------------------------------------------------------------------------

median_of() {  # median_of SCENARIO KEY [FORMAT]
  printf '%s' "${lines[$1]}" | sed -n "s/.*\(^\| \)$2=\([0-9.]*\).*/\2/p" | median "${3:-%.0f}"
}
total_of() {  # total_of SCENARIO KEY: the sum over the runs
  printf '%s' "${lines[$1]}" | sed -n "s/.*\(^\| \)$2=\([0-9.]*\).*/\2/p" | awk '{ s += $1 } END { print s + 0 }'
}
mkdir -p "$out"
{
  printf 'scenario\truns\trequests\trequests_per_s\tp50_ms\tp95_ms\tp99_ms\tmax_ms\tnon2xx\tother_2xx\tsocket_errors'
  printf '\tapi_cpu_us_per_request\tprocessor_cpu_us_per_request\tbroker_cpu_us_per_request\n'
  for s in issue-202 issue-wait coupon holders; do
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$s" "$runs" "$(median_of $s requests)" \
      "$(median_of $s rps)" "$(median_of $s p50_ms %.2f)" "$(median_of $s p95_ms %.2f)" "$(median_of $s p99_ms %.2f)" \
      "$(median_of $s max_ms %.2f)" "$(total_of $s non2xx)" "$(total_of $s other_2xx)" "$(total_of $s socket_errors)" \
      "$(median_of $s api_cpu_us %.1f)" "$(median_of $s processor_cpu_us %.1f)" "$(median_of $s broker_cpu_us %.1f)"
  done
} >"$out/api.tsv"
echo
echo "medians of $runs run(s) (non2xx, other_2xx, socket_errors: totals); latency in ms; CPU in us per request"
column -t -s $'\t' "$out/api.tsv"
echo "wrote $out/api.tsv"
