#!/usr/bin/env bash
# A drill on a cluster runs as an application of its own: its group, topics and catalog.
# The embedded broker plays the cluster (`couponflow broker`, topics of the production
# application coupon-processor, a production coupon published); after the drill,
# production's topics hold exactly what they held, and its group has no offsets.
set -euo pipefail
BIN=$1
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*" >&2
  exit 1
}

"$BIN" broker --partitions 4 --bootstrap-file "$work/boot" >"$work/broker.out" 2>"$work/broker.err" &
pids+=("$!")
for _ in $(seq 100); do [ -s "$work/boot" ] && break; sleep 0.1; done
bs=$(cat "$work/boot")
"$BIN" catalog put --bootstrap "$bs" --coupon production-coupon --capacity 5 >/dev/null

# Names that are production's are refused before anything starts (a usage error).
set +e
"$BIN" drill restore --bootstrap "$bs" --application-id coupon-processor >"$work/refused.out" 2>&1; rc=$?
set -e
[ "$rc" -eq 2 ] || fail "a drill in production's group exited $rc, expected 2: $(cat "$work/refused.out")"
grep -q "would join production's group coupon-processor" "$work/refused.out" || fail "$(cat "$work/refused.out")"
# The drill itself, on its own application, reaching the cluster through --config
# (as every Kafka-facing subcommand can); its instances get the same configuration.
printf 'bootstrap.servers=%s\n' "$bs" >"$work/cluster.properties"
"$BIN" drill restore --config "$work/cluster.properties" --application-id drill-app --requests 3000 --instances 2 --output json \
  -X consumer.session.timeout.ms=3000 -X consumer.heartbeat.interval.ms=500 >"$work/drill.json" 2>"$work/drill.err" ||
  fail "drill on the cluster failed: $(tail -5 "$work/drill.err"; cat "$work/drill.json")"
python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["passed"] and d["verify"]["verdict"] == "pass" and d["verify"]["requests"] >= 3000, d
' "$work/drill.json" || fail "drill printed: $(cat "$work/drill.json")"
grep -q "drill application drill-app on its own topics drill-app\.\*" "$work/drill.err" || fail "$(head -5 "$work/drill.err")"

# Production is untouched: no request, no result, no offset of its group, no holding;
# its catalog holds its one coupon only.
"$BIN" describe --bootstrap "$bs" --output json >"$work/describe.json"
python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
for i in d["inputs"]:
    assert i["committed"] is None, i
    assert i["log_end"] == (0 if not i["table"] else i["log_end"]), i
assert sum(i["log_end"] for i in d["inputs"] if i["table"]) == 1, d
assert all(c["log_end"] == 0 for c in d["changelogs"]), d
' "$work/describe.json" || fail "production was touched: $(cat "$work/describe.json")"
"$BIN" verify --bootstrap "$bs" --output json | grep -q '"requests":0,' || fail "production has requests or results"
# The drill's own topics hold its load. (Its group's offsets may trail: the last
# asynchronous commits of a shutdown can be refused while the group rebalances, and
# the input positions recorded with the state cover them.)
"$BIN" describe --bootstrap "$bs" --application-id drill-app -X coupon.topic.issuance=drill-app.coupon-issuance \
  -X coupon.topic.catalog=drill-app.coupon-catalog --output json | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert sum(i["log_end"] for i in d["inputs"] if not i["table"]) >= 3000, d
assert all(c["log_end"] > 0 for c in d["changelogs"]), d
' || fail "the drill's topics do not hold its load"
echo "drill_on_cluster: OK"
