#!/usr/bin/env bash
# The CLI as operators use it, each command a real process: help and flag errors, the
# embedded broker, catalog put/delete, a processor that refuses bad configuration and
# shuts down cleanly on SIGTERM, verify. Usage: tests/cli_smoke.sh path/to/couponflow
set -euo pipefail
BIN=$(realpath "$1")
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# Every subcommand documents itself; a bad flag exits 2 with one line.
"$BIN" --help >/dev/null || fail "--help"
# --version names the release, the git revision it was built from and the allocator.
version=$("$BIN" --version) || fail "--version"
[[ "$version" =~ ^couponflow\ [0-9]+\.[0-9]+\.[0-9]+\ \(revision\ ([0-9a-f]{7,}(-dirty)?),\ allocator\ (jemalloc\ [^ ]+|system)\)$ ]] ||
  fail "--version printed: $version"
revision=${BASH_REMATCH[1]}
allocator=${BASH_REMATCH[3]}
for c in broker process catalog verify demo loadgen api topics "topics create" "topics check" reset describe drill "drill restore" "drill kill"; do
  # shellcheck disable=SC2086
  "$BIN" $c --help >/dev/null || fail "$c --help"
done
set +e
"$BIN" process --bootstrap x --no-such-flag 2>"$work/err"; rc=$?
set -e
[ "$rc" -eq 2 ] || fail "bad flag exited $rc, expected 2"
[ "$(wc -l <"$work/err")" -eq 1 ] || fail "bad flag message is not one line: $(cat "$work/err")"

# The embedded broker prints its bootstrap list first and writes it to a file.
"$BIN" broker --partitions 4 --bootstrap-file "$work/boot" >"$work/broker.out" 2>"$work/broker.err" &
broker=$!
pids+=("$broker")
for _ in $(seq 100); do [ -s "$work/boot" ] && break; sleep 0.1; done
[ -s "$work/boot" ] || fail "broker wrote no bootstrap file"
bs=$(cat "$work/boot")
[ "$(head -1 "$work/broker.out")" = "$bs" ] || fail "first stdout line is not the bootstrap list"

"$BIN" catalog put --bootstrap "$bs" --coupon c1 --capacity 5 --opens-at 0 | grep -q '"capacity":5' || fail "catalog put"
"$BIN" catalog delete --bootstrap "$bs" --coupon c2 | grep -q "deleted c2" || fail "catalog delete"

# One client configuration everywhere (contract v2): bootstrap.servers from --config or
# -X instead of --bootstrap; an unknown librdkafka property is a one-line usage error.
printf 'bootstrap.servers=%s\n# a comment\nsocket.keepalive.enable=true\n' "$bs" >"$work/client.properties"
"$BIN" catalog put --config "$work/client.properties" --coupon c3 --capacity 1 | grep -q '"couponId":"c3"' || fail "catalog put --config"
"$BIN" catalog put -X bootstrap.servers="$bs" --coupon c3 --capacity 2 | grep -q '"capacity":2' || fail "catalog put -X"
set +e
"$BIN" catalog put --bootstrap "$bs" -X no.such.property=1 --coupon c4 --capacity 1 2>"$work/err"; rc=$?
set -e
[ "$rc" -eq 2 ] || fail "an unknown property exited $rc, expected 2"
[ "$(wc -l <"$work/err")" -eq 1 ] || fail "unknown property message is not one line: $(cat "$work/err")"
set +e
"$BIN" verify 2>"$work/err"; rc=$?
set -e
[ "$rc" -eq 2 ] || fail "verify without a cluster exited $rc, expected 2"

# topics: the embedded broker has no Admin API: check and create say so and exit 3.
set +e
"$BIN" topics check --bootstrap "$bs" >"$work/topics.out"; rc=$?
set -e
[ "$rc" -eq 3 ] || fail "topics check on the embedded broker exited $rc, expected 3"
grep -q "has no Admin API" "$work/topics.out" || fail "topics check: $(cat "$work/topics.out")"

# loadgen sends requests for the coupons in the catalog.
"$BIN" loadgen --bootstrap "$bs" --requests 50 | grep -q "loadgen: 5[0-9] records (50 requests, 2 coupons)" || fail "loadgen"
"$BIN" loadgen --bootstrap "$bs" --requests 3 --id-prefix j- --output json >"$work/loadgen.json" || fail "loadgen --output json"
python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); assert d["requests"] == 3 and d["sent"] >= 3, d' \
  "$work/loadgen.json" || fail "loadgen --output json printed: $(cat "$work/loadgen.json")"

# Misconfiguration is fatal with one clear line: this application's changelog is missing.
set +e
"$BIN" process --bootstrap "$bs" --state-dir "$work/s0" --application-id other-app --metrics-listen 127.0.0.1:0 >"$work/bad.out" 2>"$work/bad.err"; rc=$?
set -e
[ "$rc" -eq 1 ] || fail "missing changelog topic exited $rc, expected 1"
grep -q "couponflow: fatal: missing topic(s): other-app-issued-changelog" "$work/bad.err" || fail "no clear fatal line: $(tail -3 "$work/bad.err")"

# A processor joins, and leaves cleanly on SIGTERM with exit code 0.
"$BIN" process --bootstrap "$bs" --state-dir "$work/s1" --instance-id smoke --metrics-listen 127.0.0.1:0 \
  -X consumer.session.timeout.ms=3000 -X statistics.interval.ms=500 >"$work/p.out" 2>"$work/p.err" &
proc=$!
pids+=("$proc")
# It serves /healthz, /readyz and /metrics on the port it picked (logged).
for _ in $(seq 100); do grep -q "serving /metrics" "$work/p.err" && break; sleep 0.1; done
addr=$(sed -n 's/.*serving \/metrics, \/healthz and \/readyz on //p' "$work/p.err" | head -1)
[ -n "$addr" ] || fail "no metrics listener logged: $(tail -3 "$work/p.err")"
code() { curl -s -o /dev/null -w '%{http_code}' "http://$addr/$1"; }
[ "$(code healthz)" = 200 ] || fail "/healthz"
for _ in $(seq 200); do [ "$(code readyz)" = 200 ] && break; sleep 0.1; done
[ "$(code readyz)" = 200 ] || fail "/readyz never 200: $(curl -s "http://$addr/readyz")"
[ "$(code nope)" = 404 ] || fail "an unknown path is not 404"
for _ in $(seq 200); do grep -q "RESTORING -> RUNNING" "$work/p.err" && break; sleep 0.1; done
grep -q "RESTORING -> RUNNING" "$work/p.err" || fail "processor never ran a task: $(tail -5 "$work/p.err")"
# Every request gets answered: verify passes once the processor has caught up.
for _ in $(seq 150); do "$BIN" verify --bootstrap "$bs" >"$work/verify.out" 2>&1 && break; sleep 0.2; done
grep -q "verify: PASS" "$work/verify.out" || fail "verify never passed: $(tail -5 "$work/verify.out")"
# The metrics agree: 50 requests decided (published within 100 ms of processing).
decided=0
for _ in $(seq 50); do
  decided=$(curl -s "http://$addr/metrics" | awk '/^couponflow_decisions_total/ {s += $2} END {print s + 0}')
  [ "$decided" -ge 50 ] && break
  sleep 0.1
done
[ "$decided" -ge 50 ] || fail "couponflow_decisions_total is $decided, expected 50"
curl -s "http://$addr/metrics" | grep -q '^couponflow_ready 1' || fail "couponflow_ready is not 1"
# The process's own series, the build, and librdkafka's statistics (every 500 ms here).
curl -s "http://$addr/metrics" >"$work/metrics.txt"
grep -q '^process_cpu_seconds_total ' "$work/metrics.txt" || fail "no process_cpu_seconds_total"
grep -q '^process_resident_memory_bytes ' "$work/metrics.txt" || fail "no process_resident_memory_bytes"
grep -q "^couponflow_build_info{version=\"[0-9.]*\",revision=\"$revision\",allocator=\"$allocator\"} 1" \
  "$work/metrics.txt" || fail "couponflow_build_info does not match --version"
# A round-trip time appears only after a statistics window in which a request
# completed, which can be a window later than the fetch state: wait for each.
stats_seen() {
  curl -s "http://$addr/metrics" >"$work/metrics.txt"
  grep -q '^couponflow_kafka_consumer_partitions{client="consumer",state="active"} [1-9]' "$work/metrics.txt" &&
    grep -q '^couponflow_kafka_broker_rtt_seconds{' "$work/metrics.txt"
}
for _ in $(seq 100); do stats_seen && break; sleep 0.2; done
stats_seen || fail "no librdkafka statistics metrics: $(grep '^couponflow_kafka_' "$work/metrics.txt" | head -5)"

# A metrics listener that cannot bind is fatal with one clear line.
set +e
"$BIN" process --bootstrap "$bs" --state-dir "$work/s2" --metrics-listen "$addr" >"$work/busy.out" 2>"$work/busy.err"; rc=$?
set -e
[ "$rc" -eq 1 ] || fail "busy metrics port exited $rc, expected 1"
grep -q "couponflow: fatal: cannot listen on $addr" "$work/busy.err" || fail "busy port: $(tail -2 "$work/busy.err")"
# reset refuses while the processor runs: exit 1, nothing changed.
set +e
"$BIN" reset --bootstrap "$bs" -X consumer.session.timeout.ms=3000 >"$work/reset-live.out" 2>&1; rc=$?
set -e
[ "$rc" -eq 1 ] || fail "reset of a running application exited $rc, expected 1: $(cat "$work/reset-live.out")"
grep -q "reset: refused: the group has running members" "$work/reset-live.out" || fail "reset: $(cat "$work/reset-live.out")"
# A --to-datetime that names no real time is a usage error (exit 2) before the cluster
# is asked anything: February 31 is not read as March 3.
set +e
"$BIN" reset --bootstrap "$bs" --to-datetime 2026-02-31T00:00:00Z >"$work/reset-date.out" 2>&1; rc=$?
set -e
[ "$rc" -eq 2 ] || fail "reset --to-datetime 2026-02-31T00:00:00Z exited $rc, expected 2: $(cat "$work/reset-date.out")"
grep -q "expected UTC like" "$work/reset-date.out" || fail "reset --to-datetime: $(cat "$work/reset-date.out")"
kill -TERM "$proc"
set +e
wait "$proc"; rc=$?
set -e
[ "$rc" -eq 0 ] || fail "processor exited $rc on SIGTERM: $(tail -5 "$work/p.err")"
grep -q "shut down cleanly" "$work/p.err" || fail "no clean shutdown line"

# verify: the 50 requests were all answered by the processor before it stopped; the
# same through --config, and as the contract's JSON.
"$BIN" verify --bootstrap "$bs" | grep -q "verify: PASS" || fail "verify"
"$BIN" verify --config "$work/client.properties" --output json | grep -q '^{"verdict":"pass","requests":5[0-9],' ||
  fail "verify --config --output json"
# Stopped (a static member is let go after its session timeout), reset's dry run
# shows every input partition going back to its start and changes nothing.
for _ in $(seq 10); do
  "$BIN" reset --config "$work/client.properties" -X consumer.session.timeout.ms=3000 --dry-run --output json \
    >"$work/reset.json" 2>"$work/reset.err" && break
  sleep 1
done
python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["dry_run"] and d["group_empty"], d
assert {i["topic"] for i in d["inputs"]} == {"coupon-issuance", "coupon-catalog"} and all(i["to"] == 0 for i in d["inputs"]), d
assert d["changelogs"][0]["tombstones"] > 0, d
' "$work/reset.json" || fail "reset --dry-run --output json printed: $(cat "$work/reset.json" "$work/reset.err")"
"$BIN" verify --bootstrap "$bs" | grep -q "verify: PASS" || fail "verify after a dry run"
# describe: the topology alone without a cluster; with one, every input partition
# caught up and the members unknown (the embedded broker cannot describe groups).
"$BIN" describe | grep -q "processor issuer (stores: issued, catalog)" || fail "describe without a cluster: $("$BIN" describe 2>&1 | head -3)"
"$BIN" describe --config "$work/client.properties" --output json >"$work/describe.json" || fail "describe --output json"
python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["application_id"] == "coupon-processor" and d["group"] is None and d["lag"] == 0, d
assert sum(i["table"] for i in d["inputs"]) * 2 == len(d["inputs"]) and all(i["committed"] == i["log_end"] for i in d["inputs"] if not i["table"]), d
assert [s["changelog"] for s in d["topology"]["stores"]] == ["coupon-catalog", "coupon-processor-issued-changelog"], d
' "$work/describe.json" || fail "describe printed: $(cat "$work/describe.json")"

# A graceful stop that cannot finish (its broker does not answer: the thread keeps
# retrying for up to 30 s): a second SIGTERM exits at once with 128+15, and
# shutdown.timeout.ms bounds it on its own with exit 1.
stuck() {
  "$BIN" process --bootstrap 127.0.0.1:9 --state-dir "$work/$1" --metrics-listen 127.0.0.1:0 "${@:2}" \
    >"$work/$1.out" 2>"$work/$1.err" &
  stuck_pid=$!
  pids+=("$stuck_pid")
  sleep 1
  kill -TERM "$stuck_pid"
}
stuck s3
sleep 0.5
kill -0 "$stuck_pid" 2>/dev/null || fail "the stop of an instance whose broker is down finished at once"
started=$SECONDS
kill -TERM "$stuck_pid"
set +e
wait "$stuck_pid"; rc=$?
set -e
[ "$rc" -eq 143 ] || fail "a second SIGTERM exited $rc, expected 143: $(tail -2 "$work/s3.err")"
[ $((SECONDS - started)) -le 2 ] || fail "a second SIGTERM took $((SECONDS - started)) s"
grep -q "second signal while stopping" "$work/s3.err" || fail "no line for the second signal"
stuck s4 -X shutdown.timeout.ms=1500 -X log.format=json
set +e
wait "$stuck_pid"; rc=$?
set -e
[ "$rc" -eq 1 ] || fail "a stop past shutdown.timeout.ms exited $rc, expected 1: $(tail -2 "$work/s4.err")"
grep -q "longer than shutdown.timeout.ms (1500 ms)" "$work/s4.err" || fail "no line for shutdown.timeout.ms"
# log.format=json: every line one JSON object with the four fields.
python3 -c '
import json, sys
lines = open(sys.argv[1], encoding="utf-8").read().splitlines()
assert lines, "no log lines"
for line in lines:
    entry = json.loads(line)
    assert set(entry) == {"ts", "level", "instance", "message"}, line
' "$work/s4.err" || fail "log.format=json wrote a line that is not a JSON log entry: $(head -3 "$work/s4.err")"
echo "cli smoke: ok"
