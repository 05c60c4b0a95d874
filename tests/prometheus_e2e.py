#!/usr/bin/env python3
"""End to end: two live `couponflow process` instances scraped by a real Prometheus, every
query of the Grafana dashboard and every rule of ops/prometheus/alerts.yml run against it.

Usage: tests/prometheus_e2e.py path/to/couponflow REPO_ROOT

Starts, on free loopback ports: the embedded broker (4 partitions), a catalog of 5
coupons (one of capacity 3, so SOLD_OUT happens), two processor instances with
--metrics-listen, Debian's `prometheus` scraping both every second and evaluating
alerts.yml every second. Once both answer /readyz 200 it sends 3000 requests with
loadgen (few users, so ALREADY_ISSUED happens) and, when kcat is installed, three
records the processor must dead-letter (MALFORMED, MISSING_FIELD, MISROUTED); loadgen
has no option to send such records. It then checks:

- /healthz and /readyz answer 200 on both instances, /metrics is Prometheus text 0.0.4;
- Prometheus counts every record sent: decisions + dead letters, consumed and processed
  records of coupon-issuance; lag drains to 0; 4 running tasks, 2 ready instances;
- couponflow_info maps each target to its --instance-id; the dashboard's `instance`
  variable (label_values(couponflow_info, instance)) lists both targets;
- every dashboard query ($instance -> .*, $__rate_interval -> 30s) succeeds and returns
  data;
- every recording rule's expr returns data and its recorded series exists; every alert
  expr evaluates and every series it reads returns data; Prometheus reports every rule
  healthy and no alert firing;
- `couponflow verify` passes and agrees with Prometheus: results = decisions, DLQ total
  and by reason, and remaining capacity = capacity - issued for every coupon;
- both processors exit 0 on SIGTERM.

Every process it starts is stopped by PID (SIGTERM, then SIGKILL) in a finally block; the
whole run is bounded (about 3 minutes at most).
"""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

import yaml

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "support"))
from deploy_kit_check import dashboard_exprs, metric_names, rules_of  # noqa: E402
from processes import Checks, Procs, TestFailure, free_ports, log  # noqa: E402

PARTITIONS = 4
COUPONS = [("c-1", 3), ("c-2", 40), ("c-3", 200), ("c-4", 1000), ("c-5", 1000)]
REQUESTS, RATE, USERS = 3000, 1000, 300
RATE_INTERVAL = "30s"


CHECKS = Checks(170)
check, remaining = CHECKS.check, CHECKS.remaining


def http_get(url, timeout=3):
    """(status, body, headers); status 0 when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read().decode("utf-8", "replace"), dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode("utf-8", "replace"), dict(e.headers)
    except (urllib.error.URLError, ConnectionError, socket.timeout, TimeoutError) as e:
        return 0, str(getattr(e, "reason", e)), {}


def _terminated(signum, _frame):
    raise TestFailure(f"stopped by signal {signum}")


class Prom:
    def __init__(self, port):
        self.base = f"http://127.0.0.1:{port}"

    def api(self, path, params):
        url = f"{self.base}{path}?{urllib.parse.urlencode(params, doseq=True)}"
        status, body, _ = http_get(url, timeout=10)
        try:
            data = json.loads(body)
        except ValueError:
            raise TestFailure(f"Prometheus {path} answered {status}: {body[:300]}")
        return data

    def query(self, expr):
        """(status, error, result list) of an instant query now."""
        d = self.api("/api/v1/query", {"query": expr})
        return d.get("status"), d.get("error", ""), (d.get("data") or {}).get("result", [])

    def value(self, expr):
        """The single value of a one-element result, or None."""
        status, _, result = self.query(expr)
        if status != "success" or len(result) != 1:
            return None
        return float(result[0]["value"][1])

    def wait_value(self, expr, want, limit, what):
        deadline = time.monotonic() + remaining(limit)
        last = None
        while time.monotonic() < deadline:
            last = self.value(expr)
            if last is not None and abs(last - want) < 1e-9:
                check(True, f"{what}: {expr} = {want:g}")
                return
            time.sleep(0.5)
        check(False, f"{what}: {expr} = {want:g}", f"last value {last} after {limit} s")


def run_cmd(argv, limit, what):
    try:
        r = subprocess.run(argv, capture_output=True, text=True, timeout=remaining(limit))
    except subprocess.TimeoutExpired:
        raise TestFailure(f"{what} took more than {limit} s: {' '.join(argv)}")
    return r


def main():
    if len(sys.argv) != 3:
        print("usage: prometheus_e2e.py path/to/couponflow REPO_ROOT", file=sys.stderr)
        return 2
    binary, root = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    prometheus = shutil.which("prometheus")
    if prometheus is None:
        print("FAIL: no `prometheus` on PATH (Debian: apt-get install -y prometheus)", file=sys.stderr)
        return 1
    with open(os.path.join(root, "grafana/dashboards/couponflow.json")) as f:
        dashboard = json.load(f)
    with open(os.path.join(root, "ops/prometheus/alerts.yml")) as f:
        rules = rules_of(yaml.safe_load(f))

    signal.signal(signal.SIGTERM, _terminated)  # so that the finally below stops what was started
    work = tempfile.mkdtemp(prefix="couponflow-prom-e2e-")
    procs = Procs(work)
    ok = False
    try:
        ok = scenario(binary, root, prometheus, dashboard, rules, work, procs)
    except TestFailure as e:
        log(f"FAIL  {e}")
        for name, _ in procs.procs:
            log(procs.tail(name))
    finally:
        procs.stop_all()
    if ok:
        shutil.rmtree(work, ignore_errors=True)
        log(f"prometheus-e2e: {CHECKS.passed} passed, 0 failed")
        return 0
    log(f"logs kept in {work}")
    log(f"prometheus-e2e: {CHECKS.passed} passed, 1 failed")
    return 1


def scenario(binary, root, prometheus, dashboard, rules, work, procs):
    p1_port, p2_port, prom_port = free_ports(3)
    instances = {"p1": f"127.0.0.1:{p1_port}", "p2": f"127.0.0.1:{p2_port}"}

    # ------------------------------------------------------------ broker and catalog
    boot = os.path.join(work, "boot")
    procs.start("broker", [binary, "broker", "--partitions", str(PARTITIONS), "--bootstrap-file", boot])
    deadline = time.monotonic() + remaining(15)
    while time.monotonic() < deadline and not (os.path.exists(boot) and os.path.getsize(boot) > 0):
        if not procs.alive("broker"):
            raise TestFailure("the broker exited")
        time.sleep(0.1)
    check(os.path.exists(boot) and os.path.getsize(boot) > 0, "the broker wrote its bootstrap file")
    with open(boot) as f:
        bootstrap = f.read().strip()
    for coupon, capacity in COUPONS:
        r = run_cmd([binary, "catalog", "put", "--bootstrap", bootstrap, "--coupon", coupon,
                     "--capacity", str(capacity)], 30, "catalog put")
        check(r.returncode == 0, f"catalog put {coupon} capacity {capacity}", r.stderr.strip())

    # ------------------------------------------------------------ processors and Prometheus
    for name, target in instances.items():
        procs.start(name, [binary, "process", "--bootstrap", bootstrap, "--state-dir", os.path.join(work, name),
                           "--instance-id", name, "--metrics-listen", target])
    prom_config = {
        "global": {"scrape_interval": "1s", "scrape_timeout": "900ms", "evaluation_interval": "1s"},
        "rule_files": [os.path.join(root, "ops/prometheus/alerts.yml")],
        "scrape_configs": [{"job_name": "couponflow", "static_configs": [{"targets": list(instances.values())}]}],
    }
    prom_config_path = os.path.join(work, "prometheus.yml")
    with open(prom_config_path, "w") as f:
        yaml.safe_dump(prom_config, f)
    procs.start("prometheus", [prometheus, f"--config.file={prom_config_path}",
                               f"--storage.tsdb.path={os.path.join(work, 'tsdb')}",
                               f"--web.listen-address=127.0.0.1:{prom_port}"])
    prom = Prom(prom_port)

    deadline = time.monotonic() + remaining(30)
    while time.monotonic() < deadline and http_get(f"{prom.base}/-/ready")[0] != 200:
        if not procs.alive("prometheus"):
            raise TestFailure("prometheus exited")
        time.sleep(0.2)
    check(http_get(f"{prom.base}/-/ready")[0] == 200, f"prometheus is ready on 127.0.0.1:{prom_port}")

    # Until the metrics endpoint exists, this is where the test stops.
    deadline = time.monotonic() + remaining(60)
    last = {}
    while time.monotonic() < deadline:
        for name, target in instances.items():
            if not procs.alive(name):
                raise TestFailure(f"processor {name} exited")
            last[name] = http_get(f"http://{target}/readyz", timeout=2)[:2]
        if all(s == 200 for s, _ in last.values()):
            break
        time.sleep(0.25)
    check(all(s == 200 for s, _ in last.values()), "both processors answer /readyz 200",
          "; ".join(f"{n} {'not listening (' + b + ')' if s == 0 else str(s) + ' ' + b.strip()[:120]}"
                    for n, (s, b) in last.items()))
    for name, target in instances.items():
        status, body, _ = http_get(f"http://{target}/healthz")
        check(status == 200, f"{name} /healthz 200", f"{status} {body[:100]}")
        status, body, headers = http_get(f"http://{target}/metrics")
        ctype = {k.lower(): v for k, v in headers.items()}.get("content-type", "")
        check(status == 200 and "text/plain" in ctype and "0.0.4" in ctype and "couponflow_info" in body,
              f"{name} /metrics is Prometheus text 0.0.4 with couponflow_info", f"{status} {ctype}")

    # Both targets up in Prometheus.
    deadline = time.monotonic() + remaining(20)
    up, targets = set(), []
    while time.monotonic() < deadline:
        targets = prom.api("/api/v1/targets", {"state": "active"})["data"]["activeTargets"]
        up = {t["labels"]["instance"] for t in targets if t["health"] == "up"}
        if up == set(instances.values()):
            break
        time.sleep(0.5)
    check(up == set(instances.values()), "Prometheus scrapes both instances", str(targets)[:400])

    # ------------------------------------------------------------ load
    r = run_cmd([binary, "loadgen", "--bootstrap", bootstrap, "--requests", str(REQUESTS), "--rate", str(RATE),
                 "--users", str(USERS), "--seed", "7"], 60, "loadgen")
    m = re.search(r"loadgen: (\d+) records", r.stdout)
    check(r.returncode == 0 and m is not None, "loadgen sent its requests", (r.stdout + r.stderr).strip()[-300:])
    sent = int(m.group(1))
    log(f"      {r.stdout.strip()}")

    dead_letters = {}
    kcat = shutil.which("kcat")
    if kcat:
        bad = ["c-1:this is not json", 'c-1:{"requestId":"bad-2","couponId":"c-1"}',
               'c-2:{"requestId":"bad-3","couponId":"c-1","userId":"u-1"}']
        r = subprocess.run([kcat, "-P", "-b", bootstrap, "-t", "coupon-issuance", "-K:",
                            "-X", "partitioner=murmur2_random"], input="\n".join(bad) + "\n",
                           capture_output=True, text=True, timeout=remaining(30))
        check(r.returncode == 0, "kcat sent 3 records to dead-letter (MALFORMED, MISSING_FIELD, MISROUTED)",
              r.stderr.strip())
        sent += len(bad)
        dead_letters = {"MALFORMED": 1, "MISSING_FIELD": 1, "MISROUTED": 1}
    else:
        log("skip  no kcat on PATH and loadgen cannot send undecidable records: no dead letters sent, "
            "dead-letter queries may be empty")

    # ------------------------------------------------------------ counts in Prometheus
    prom.wait_value("sum(couponflow_decisions_total) + (sum(couponflow_dlq_records_total) or vector(0))", sent, 60,
                    f"every record sent ({sent}) is decided or dead-lettered")
    prom.wait_value('sum(couponflow_records_consumed_total{topic="coupon-issuance"})', sent, 10,
                    "consumed requests")
    prom.wait_value('sum(couponflow_records_processed_total{topic="coupon-issuance"})', sent, 10,
                    "processed requests")
    prom.wait_value('sum(couponflow_consumer_lag_records{topic="coupon-issuance"})', 0, 15, "the lag drains")
    prom.wait_value('sum(couponflow_tasks{state="running"})', PARTITIONS, 10, "every task runs")
    prom.wait_value("sum(couponflow_assigned_partitions)", PARTITIONS, 10, "every partition is assigned")
    prom.wait_value("sum(couponflow_ready)", 2, 10, "both instances ready")
    status, _, result = prom.query("couponflow_info")
    mapping = {s["metric"].get("instance"): s["metric"].get("instance_id") for s in result}
    check(mapping == {t: n for n, t in instances.items()}, "couponflow_info maps each target to its --instance-id",
          mapping)
    d = prom.api("/api/v1/label/instance/values", {"match[]": "couponflow_info"})
    check(sorted(d.get("data", [])) == sorted(instances.values()),
          "the dashboard's instance variable (label_values(couponflow_info, instance)) lists both targets", d)

    # ------------------------------------------------------------ every dashboard query
    empty, failed = [], []
    exprs = dashboard_exprs(dashboard)
    for title, expr in exprs:
        q = expr.replace("$__rate_interval", RATE_INTERVAL).replace("$instance", ".*")
        status, error, result = prom.query(q)
        if status != "success":
            failed.append(f"[{title}] {q}: {error}")
        elif not result:
            empty.append(f"[{title}] {q}")
        else:
            log(f"      {len(result):3d} series  [{title}] {q}")
    dlq_only = [e for e in empty if "couponflow_dlq_records_total" in e and not dead_letters]
    for e in dlq_only:
        log(f"skip  empty without dead letters: {e}")
    empty = [e for e in empty if e not in dlq_only]
    check(not failed, f"every dashboard query succeeds ({len(exprs)} queries)", "\n  ".join(failed))
    check(not empty, "every dashboard query returns data", "\n  ".join(empty))

    # ------------------------------------------------------------ rules
    time.sleep(2)  # a couple of rule evaluations after the counts settled
    problems = []
    for rule in rules:
        name = rule.get("record") or rule.get("alert")
        status, error, result = prom.query(rule["expr"])
        if status != "success":
            problems.append(f"{name}: {rule['expr']}: {error}")
            continue
        if "record" in rule:
            if not result:
                problems.append(f"recording rule {name}: expr returns no data")
            status, error, recorded = prom.query(name)
            if status != "success" or not recorded:
                problems.append(f"recorded series {name} has no data")
            else:
                log(f"      {len(result):3d} series  record {name} = {[s['value'][1] for s in recorded][:4]}")
        else:
            for series in metric_names(rule["expr"]):
                status, error, result = prom.query(series)
                if status != "success" or not result:
                    problems.append(f"alert {name}: {series} has no data")
            log(f"      alert {name}: {rule['expr']} evaluates")
    check(not problems, f"every rule evaluates and every series it reads has data ({len(rules)} rules)",
          "\n  ".join(problems))
    groups = prom.api("/api/v1/rules", {})["data"]["groups"]
    loaded = [r for g in groups for r in g["rules"]]
    unhealthy = [f"{r['name']}: {r.get('lastError')}" for r in loaded if r.get("health") != "ok"]
    check(len(loaded) == len(rules) and not unhealthy, f"Prometheus loaded {len(loaded)} rules, all healthy",
          "; ".join(unhealthy) or f"{len(loaded)} loaded, {len(rules)} in the file")
    alerts = prom.api("/api/v1/alerts", {})["data"]["alerts"]
    firing = [f"{a['labels'].get('alertname')} {a['labels']}" for a in alerts if a["state"] == "firing"]
    pending = [a["labels"].get("alertname") for a in alerts if a["state"] == "pending"]
    if pending:
        log(f"      pending alerts: {pending}")
    check(not firing, "no alert fires on a healthy run", "; ".join(firing))

    # ------------------------------------------------------------ verify agrees with Prometheus
    r = run_cmd([binary, "verify", "--bootstrap", bootstrap], 60, "verify")
    check(r.returncode == 0 and "verify: PASS" in r.stdout, "couponflow verify passes", r.stdout[-500:] + r.stderr)
    m = re.search(r"requests (\d+)\s+results (\d+) \(replayed duplicates (\d+)\)\s+DLQ (\d+)", r.stdout)
    check(m is not None, "verify prints its summary line", r.stdout[:300])
    v_requests, v_results, _, v_dlq = map(int, m.groups())
    check(v_requests == sent, f"verify counts the {sent} records sent", v_requests)
    decisions = prom.value("sum(couponflow_decisions_total)")
    check(decisions == v_results, f"sum(couponflow_decisions_total) = verify's results ({v_results})", decisions)
    dlq = prom.value("sum(couponflow_dlq_records_total) or vector(0)")
    check(dlq == v_dlq == sum(dead_letters.values()), f"sum(couponflow_dlq_records_total) = verify's DLQ ({v_dlq})",
          dlq)
    m = re.search(r"^DLQ by reason:(.*)$", r.stdout, re.M)
    v_reasons = dict((k, int(v)) for k, v in re.findall(r"(\w+)=(\d+)", m.group(1))) if m else {}
    _, _, result = prom.query("sum by (reason) (couponflow_dlq_records_total)")
    p_reasons = {s["metric"].get("reason"): int(float(s["value"][1])) for s in result if float(s["value"][1]) > 0}
    check(p_reasons == v_reasons == dead_letters, "dead letters by reason agree (Prometheus, verify, sent)",
          f"{p_reasons} / {v_reasons} / {dead_letters}")
    rows = {}
    for line in r.stdout.splitlines():
        cols = line.split()
        if cols and cols[0] in dict(COUPONS) and len(cols) >= 8:
            rows[cols[0]] = (int(cols[1]), int(cols[2]), int(cols[3]), int(cols[4]))
    _, _, result = prom.query("min by (coupon) (couponflow_coupon_remaining)")
    remaining_by_coupon = {s["metric"].get("coupon"): float(s["value"][1]) for s in result}
    mismatch = {c: (capacity - issued, remaining_by_coupon.get(c)) for c, (capacity, issued, _, _) in rows.items()
                if remaining_by_coupon.get(c) != capacity - issued}
    check(len(rows) == len(COUPONS) and not mismatch,
          "couponflow_coupon_remaining = capacity - issued (verify) for every coupon", mismatch or rows)
    sold_out = sum(s for _, _, s, _ in rows.values())
    already = sum(a for _, _, _, a in rows.values())
    check(sold_out > 0 and already > 0, f"the run saw SOLD_OUT ({sold_out}) and ALREADY_ISSUED ({already})")
    accepted = prom.value('sum(couponflow_decisions_total{status="ACCEPTED"})')
    issued = sum(i for _, i, _, _ in rows.values())
    check(accepted is not None and accepted >= issued,
          f"accepted decisions ({accepted:g}) >= distinct issued ({issued}); resends are accepted again", accepted)

    # ------------------------------------------------------------ clean shutdown
    for name in instances:
        rc = procs.stop(name, timeout=30)
        check(rc == 0, f"processor {name} exits 0 on SIGTERM", f"{rc}\n{procs.tail(name, 5)}")
    return True


if __name__ == "__main__":
    sys.exit(main())
