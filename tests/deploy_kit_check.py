#!/usr/bin/env python3
"""Static checks of the deployment kit: Grafana dashboard and provisioning, Prometheus
config and rules, docker compose, Dockerfile, Kubernetes manifests.

Usage: tests/deploy_kit_check.py REPO_ROOT

- promtool check config / check rules, and the rules' unit tests (promtool test rules
  ops/prometheus/alerts_test.yml) (Debian package `prometheus`);
- every YAML under ops/ and grafana/ and every JSON under grafana/ parses;
- the dashboard: schemaVersion 39, the `datasource` and `instance` variables, every panel
  and target on the `${datasource}` variable, every selector filtered on
  instance=~"$instance", every range [$__rate_interval], no other variable;
- every metric the dashboard and the rules use is documented in docs/metrics.md (with
  _bucket/_sum/_count for histograms), with documented labels only; every recorded
  series `couponflow:...` is defined in the rules file;
- alert rules: the required alerts, each `expr` on one line and of the form
  `<series> <comparison> <number>` or `absent(<metric>)`, with for, severity, summary,
  description and a runbook_url into a section of docs/runbook.md;
- consistency: metrics port 9464 in compose, Kubernetes, Prometheus and the Dockerfile;
  compose processor services = scrape targets; the Dockerfile runs ops/setup-debian.sh;
  Kubernetes probes on /healthz and /readyz; topics of docs/design.md created in compose;
  Grafana mounts and provider path, datasource URL = the compose prometheus service;
- the image (ops/docker/Dockerfile): a build stage and a runtime stage; the runtime stage
  installs no compiler, copies only the installed tree from the build stage, and its
  packages provide every library `ldd build/couponflow` lists (dpkg -S, then the packages'
  Depends as dpkg knows them); HEALTHCHECK on /healthz, a numeric non-root USER, the
  REVISION build arg reaches CMake; Dockerfile.dockerignore leaves out build trees and .git;
- CMake's install() rules name files that exist, the binary in bin/;
- the systemd unit (ops/systemd/couponflow.service) passes `systemd-analyze verify` with
  no warning (in a scratch root holding the host's units and a stand-in binary at the
  ExecStart path) and `systemd-analyze security --offline` at exposure 2.0 or less;
  runs `process --config`, restarts on failure, sandboxed, TimeoutStopSec above
  shutdown.timeout.ms;
- Kubernetes: a PodDisruptionBudget selecting the StatefulSet's pods, pod anti-affinity
  by host, --config from a mounted ConfigMap, SASL credentials from a Secret (never in the
  ConfigMap; its placeholder copy out of `kubectl apply -f ops/k8s/`), memory requests and
  limits with room for 12 tasks' store caches, a grace period above shutdown.timeout.ms.

Prints one line per check ("skip" when a tool a check needs is missing); exits 1 listing
every failure.
"""

import fnmatch
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

import yaml

METRICS_PORT = 9464
DS_REF = {"type": "prometheus", "uid": "${datasource}"}
ALLOWED_DASHBOARD_VARS = {"datasource", "instance", "__rate_interval"}
REQUIRED_ALERTS = {"CouponflowFallingBehind", "CouponflowProcessingStalled", "CouponflowInstanceDown",
                   "CouponflowPartitionsUnowned", "CouponflowDeliveryErrors", "CouponflowLatencyHigh",
                   "CouponflowCatalogMisses", "CouponflowDlqRate", "CouponflowNoInstanceReady",
                   "CouponflowRestoreStuck"}
RUNBOOK = "docs/runbook.md"
PARTITIONS = 12  # per topic (compose creates them so); at most this many tasks per instance
DEFAULT_SHUTDOWN_TIMEOUT_MS = 60_000  # ops/app_config.h
DEFAULT_STORE_CACHE_BYTES = 128 << 20  # state/cache_budget.h: one budget per instance
IMAGE_PREFIX = "/opt/couponflow"  # cmake --install ... --prefix in the image
UNIT = "ops/systemd/couponflow.service"
UNIT_PROPERTIES = "ops/systemd/couponflow.properties.example"
BUILD_TOOLS = re.compile(r"(?<![\w.-])(build-essential|gcc|g\+\+|cpp|clang(?:-\d+)?|cmake|ninja-build|make|"
                         r"pkg-config|[\w.+-]+-dev)(?![\w.+-])")
HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")
SCRAPE_LABELS = {"instance", "job"}
PROMQL_KEYWORDS = {"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring",
                   "group_left", "group_right", "inf", "nan", "atan2", "start", "end"}
ALERT_EXPR_FORM = re.compile(
    r"^(?:absent\(\s*[a-zA-Z_][\w]*\s*\)|[a-zA-Z_:][\w:]*\s*(?:<=|>=|==|!=|<|>)\s*-?[0-9]+(?:\.[0-9]+)?)$")


# ------------------------------------------------------------------------- PromQL helpers
def strip_strings(expr):
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    return re.sub(r"'(?:[^'\\]|\\.)*'", "''", expr)


def metric_names(expr):
    """Series names an expression selects (functions, keywords and labels left out)."""
    s = strip_strings(expr)
    s = re.sub(r"\{[^{}]*\}", " ", s)
    s = re.sub(r"\[[^\]]*\]", " ", s)
    s = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", s)
    names = []
    for m in re.finditer(r"(?<![\w:.$])([a-zA-Z_:][\w:]*)(\s*\()?", s):
        name, call = m.group(1), m.group(2)
        if call or name in PROMQL_KEYWORDS:
            continue
        names.append(name)
    return names


def selectors(expr):
    """(metric name, matcher text or None) for each selector of a named series."""
    out = []
    for m in re.finditer(r"(?<![\w:.$])([a-zA-Z_:][\w:]*)\s*(\{[^{}]*\})?", expr):
        name, braces = m.group(1), m.group(2)
        rest = expr[m.end():]
        if rest.lstrip().startswith("(") or name in PROMQL_KEYWORDS:
            continue
        out.append((name, braces))
    # Drop names inside by (...)/on (...) lists and strings: keep only those metric_names finds.
    known = metric_names(expr)
    return [(n, b) for n, b in out if n in known]


def matcher_labels(braces):
    return re.findall(r"([a-zA-Z_]\w*)\s*(?:=~|!~|!=|=)\s*\"", braces or "")


def dashboard_panels(dashboard):
    """Every panel, rows' nested panels included."""
    out = []
    for p in dashboard.get("panels", []):
        out.append(p)
        out.extend(p.get("panels", []) or [])
    return out


def dashboard_exprs(dashboard):
    """(panel title, expr) of every target."""
    return [(p.get("title", "?"), t["expr"]) for p in dashboard_panels(dashboard)
            for t in p.get("targets", []) or [] if "expr" in t]


def rules_of(rules_doc):
    return [r for g in rules_doc.get("groups", []) for r in g.get("rules", [])]


def parse_metrics_doc(path):
    """docs/metrics.md's table: {name: (type, set of labels)}."""
    metrics = {}
    for line in open(path, encoding="utf-8"):
        # A row names one metric or several of one type and labels: `a`, `b`.
        m = re.match(r"^\|\s*((?:`\w+`[,\s]*)+)\|\s*([^|]+?)\s*\|\s*([^|]*?)\s*\|", line)
        if m:
            labels = set(re.findall(r"`(\w+)`", re.sub(r"\([^)]*\)", "", m.group(3))))
            for name in re.findall(r"`(\w+)`", m.group(1)):
                metrics[name] = (m.group(2).split()[0], labels)
    return metrics


# ------------------------------------------------------------------------- deployment helpers
def parse_properties(text):
    """A properties file as the processor reads it: key=value lines, '#' comments."""
    out = {}
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            out[key.strip()] = value.strip()
    return out


def dockerfile_stages(text):
    """[(FROM arguments, [instruction, ...])]: comment lines dropped, continuations joined."""
    text = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    stages = []
    for line in re.sub(r"\\\n", " ", text).splitlines():
        line = line.strip()
        if not line:
            continue
        word, _, rest = line.partition(" ")
        if word.upper() == "FROM":
            stages.append((rest.strip(), []))
        elif stages:
            stages[-1][1].append(line)
    return stages


def instructions(stage, name):
    return [line.partition(" ")[2].strip() for line in stage[1] if line.partition(" ")[0].upper() == name]


def apt_installed(run_lines):
    """Package names given to apt-get install in RUN lines."""
    packages = []
    for run in run_lines:
        for m in re.finditer(r"apt-get\s+install\s+(.*?)(?:&&|;|$)", run):
            packages += [w for w in m.group(1).split() if not w.startswith("-")]
    return packages


def parse_unit(text):
    """{(section, key): [values]} of a systemd unit (continuation lines joined)."""
    out, section = {}, None
    for line in re.sub(r"\\\n", " ", text).splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
        elif "=" in line:
            key, value = line.split("=", 1)
            out.setdefault((section, key.strip()), []).append(value.strip())
    return out


def systemd_seconds(value):
    """A systemd time span ("90", "90s", "1min 30s") in seconds; None if unreadable."""
    if value.strip() == "infinity":
        return float("inf")
    units = {"": 1, "s": 1, "sec": 1, "ms": 0.001, "m": 60, "min": 60, "h": 3600, "hr": 3600}
    parts = re.findall(r"(\d+(?:\.\d+)?)\s*([a-z]*)", value)
    if not parts or any(u not in units for _, u in parts):
        return None
    return sum(float(n) * units[u] for n, u in parts)


def k8s_bytes(quantity):
    """A Kubernetes memory quantity ("2Gi", "512M", "1073741824") in bytes."""
    m = re.fullmatch(r"(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?", str(quantity).strip())
    if not m:
        return None
    scale = {None: 1, "Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30, "Ti": 1 << 40,
             "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12}[m.group(2)]
    return int(float(m.group(1)) * scale)


def host_unit_dir():
    """The host's system unit directory (with sysinit.target), or None."""
    for d in ("/usr/lib/systemd/system", "/lib/systemd/system"):
        if os.path.exists(os.path.join(d, "sysinit.target")):
            return d
    return None


# ------------------------------------------------------------------------- the checker
class Checker:
    def __init__(self, root):
        self.root = root
        self.failures = []
        self.passed = 0

    def path(self, rel):
        return os.path.join(self.root, rel)

    def check(self, ok, what, detail=""):
        if ok:
            self.passed += 1
            print(f"ok    {what}")
        else:
            self.failures.append(f"{what}{': ' + detail if detail else ''}")
            print(f"FAIL  {what}{': ' + detail if detail else ''}")
        return ok

    def skip(self, what, why):
        print(f"skip  {what}: {why}")

    # --------------------------------------------------------------- promtool
    def promtool(self):
        exe = shutil.which("promtool")
        if not self.check(exe is not None, "promtool is installed",
                          "not found on PATH (Debian: apt-get install -y prometheus)"):
            return
        for args in (["check", "config", "ops/prometheus/prometheus.yml"],
                     ["check", "rules", "ops/prometheus/alerts.yml"],
                     ["test", "rules", "ops/prometheus/alerts_test.yml"]):
            r = subprocess.run([exe] + args, cwd=self.root, capture_output=True, text=True, timeout=60)
            out = [line.strip() for line in (r.stdout + r.stderr).splitlines() if line.strip()]
            failed = [line for line in out if "SUCCESS" not in line and not line.startswith(("Checking", "Unit"))]
            self.check(r.returncode == 0, "promtool " + " ".join(args), " | ".join(failed)[:1500])

    def promql_parses(self, exprs):
        """promtool parses every dashboard query (variables substituted as Grafana would)."""
        exe = shutil.which("promtool")
        if exe is None:
            return
        rules = {"groups": [{"name": "dashboard", "rules": [
            {"record": f"dashboard_query_{n}",
             "expr": e.replace("$__rate_interval", "30s").replace("$instance", ".*")}
            for n, e in enumerate(exprs)]}]}
        with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as f:
            yaml.safe_dump(rules, f)
        try:
            r = subprocess.run([exe, "check", "rules", f.name], capture_output=True, text=True, timeout=60)
        finally:
            os.unlink(f.name)
        out = [line.strip() for line in (r.stdout + r.stderr).splitlines() if line.strip()]
        self.check(r.returncode == 0, "promtool parses every dashboard query",
                   " | ".join(line for line in out if "SUCCESS" not in line and "Checking" not in line))

    # --------------------------------------------------------------- parsing
    def parse_all(self):
        docs = {}
        for top in ("ops", "grafana"):
            for dirpath, _, files in os.walk(self.path(top)):
                for f in sorted(files):
                    full = os.path.join(dirpath, f)
                    rel = os.path.relpath(full, self.root)
                    try:
                        if f.endswith((".yml", ".yaml")):
                            with open(full, encoding="utf-8") as fh:
                                docs[rel] = list(yaml.safe_load_all(fh))
                        elif f.endswith(".json"):
                            with open(full, encoding="utf-8") as fh:
                                docs[rel] = [json.load(fh)]
                        else:
                            continue
                        self.check(True, f"{rel} parses")
                    except (yaml.YAMLError, json.JSONDecodeError) as e:
                        self.check(False, f"{rel} parses", str(e).replace("\n", " "))
        return docs

    # --------------------------------------------------------------- dashboard
    def dashboard(self, d, docs_metrics, recorded):
        self.check(d.get("schemaVersion") == 39, "dashboard schemaVersion is 39", str(d.get("schemaVersion")))
        self.check(bool(d.get("uid")) and bool(d.get("title")), "dashboard has a uid and a title")
        variables = {v.get("name"): v for v in d.get("templating", {}).get("list", [])}
        ds = variables.get("datasource", {})
        self.check(ds.get("type") == "datasource" and ds.get("query") == "prometheus",
                   "variable `datasource` is a Prometheus datasource variable", json.dumps(ds)[:200])
        inst = variables.get("instance", {})
        q = inst.get("query")
        q = q.get("query") if isinstance(q, dict) else q
        self.check(inst.get("type") == "query" and re.sub(r"\s", "", q or "") == "label_values(couponflow_info,instance)"
                   and inst.get("multi") is True and inst.get("includeAll") is True and inst.get("allValue") == ".*"
                   and inst.get("datasource") == DS_REF,
                   "variable `instance` = label_values(couponflow_info, instance), multi, All = .*",
                   json.dumps(inst)[:300])
        self.check(set(variables) == {"datasource", "instance"}, "dashboard defines only `datasource` and `instance`",
                   str(sorted(variables)))

        panels = dashboard_panels(d)
        ids = [p.get("id") for p in panels]
        self.check(len(ids) == len(set(ids)) and None not in ids, "panel ids are unique", str(ids))
        bad_ds = []
        for p in panels:
            if p.get("type") == "row":
                continue
            if p.get("datasource") != DS_REF:
                bad_ds.append(f"panel '{p.get('title')}'")
            if not p.get("targets"):
                bad_ds.append(f"panel '{p.get('title')}' has no target")
            for t in p.get("targets", []) or []:
                if t.get("datasource") != DS_REF:
                    bad_ds.append(f"target {t.get('refId')} of '{p.get('title')}'")
            if "gridPos" not in p:
                bad_ds.append(f"panel '{p.get('title')}' has no gridPos")
        self.check(not bad_ds, 'every panel and target uses {"type":"prometheus","uid":"${datasource}"}',
                   "; ".join(bad_ds))

        text = json.dumps(d.get("panels", []))
        used_vars = set(re.findall(r"\$\{?(\w+)", text))
        self.check(used_vars <= ALLOWED_DASHBOARD_VARS, "panels use only $datasource, $instance, $__rate_interval",
                   str(sorted(used_vars - ALLOWED_DASHBOARD_VARS)))

        exprs = dashboard_exprs(d)
        self.check(len(exprs) >= 20, f"dashboard has {len(exprs)} queries")
        problems = []
        for title, e in exprs:
            if "\n" in e:
                problems.append(f"'{title}': expr spans lines")
            for rng in re.findall(r"\[([^\]]*)\]", e):
                if rng != "$__rate_interval":
                    problems.append(f"'{title}': range [{rng}] is not [$__rate_interval]")
            sels = selectors(e)
            if not sels:
                problems.append(f"'{title}': no series selected in {e}")
            for name, braces in sels:
                if 'instance=~"$instance"' not in (braces or ""):
                    problems.append(f"'{title}': {name} not filtered on instance=~\"$instance\"")
        self.check(not problems, "every dashboard query filters instance=~\"$instance\" and uses [$__rate_interval]",
                   "; ".join(problems))
        self.promql_parses([e for _, e in exprs])
        var_metric = re.match(r"\s*label_values\(\s*([\w:]+)\s*,", q or "")
        self.metrics_documented("dashboard", [e for _, e in exprs] + [var_metric.group(1) if var_metric else ""],
                                docs_metrics, recorded,
                                allow_recorded=False)

        required_titles = ["lag by partition", "TPS", "Rejected by reason", "End-to-end latency", "Process latency",
                           "Dead letters by reason", "Remaining capacity per coupon", "Restore remaining",
                           "Restored records/s", "Tasks by state", "Rebalances", "Assigned partitions",
                           "TPS by instance", "Ready by instance", "Lag by instance", "Commit latency p99",
                           "Producer queue", "State store size", "Aborted transactions"]
        titles = " | ".join(p.get("title", "") for p in panels)
        missing = [t for t in required_titles if t.lower() not in titles.lower()]
        self.check(not missing, "dashboard has every required panel", str(missing))

    def metrics_documented(self, where, exprs, docs_metrics, recorded, allow_recorded):
        unknown, bad_labels, bare_hist = set(), set(), set()
        for e in exprs:
            for name in metric_names(e):
                if name.startswith("couponflow:"):
                    if not allow_recorded or name not in recorded:
                        unknown.add(name)
                    continue
                base, suffix = name, ""
                for s in HISTOGRAM_SUFFIXES:
                    if name.endswith(s) and name[: -len(s)] in docs_metrics \
                            and docs_metrics[name[: -len(s)]][0] == "histogram":
                        base, suffix = name[: -len(s)], s
                if base not in docs_metrics:
                    unknown.add(name)
                    continue
                if docs_metrics[base][0] == "histogram" and not suffix:
                    bare_hist.add(name)
            for name, braces in selectors(e):
                if name.startswith("couponflow:") or not braces:
                    continue
                base = name
                for s in HISTOGRAM_SUFFIXES:
                    if name.endswith(s) and name[: -len(s)] in docs_metrics:
                        base = name[: -len(s)]
                if base not in docs_metrics:
                    continue
                allowed = docs_metrics[base][1] | SCRAPE_LABELS | ({"le"} if name.endswith("_bucket") else set())
                for label in matcher_labels(braces):
                    if label not in allowed:
                        bad_labels.add(f"{name}{{{label}}}")
        self.check(not unknown, f"{where}: every metric is documented in docs/metrics.md"
                   + (" or recorded in alerts.yml" if allow_recorded else ""), str(sorted(unknown)))
        self.check(not bare_hist, f"{where}: histograms are used through _bucket/_sum/_count", str(sorted(bare_hist)))
        self.check(not bad_labels, f"{where}: selectors match documented labels only", str(sorted(bad_labels)))

    # --------------------------------------------------------------- rules
    def rules(self, rules_doc, rules_text, docs_metrics):
        rules = rules_of(rules_doc)
        recorded = {r["record"] for r in rules if "record" in r}
        self.check(all(n.startswith("couponflow:") for n in recorded), "recorded series are named couponflow:...",
                   str(sorted(recorded)))
        groups = rules_doc.get("groups", [])
        self.check(bool(groups) and all("record" in r for r in groups[0].get("rules", [])),
                   "the first rule group holds the recording rules")
        # As a line-by-line reader sees them: `expr: <the whole expression>` on one line.
        expr_lines = {line.strip()[len("expr:"):].strip() for line in rules_text.splitlines()
                      if line.strip().startswith("expr:")}
        one_line = [r.get("record") or r.get("alert") for r in rules if r.get("expr") not in expr_lines]
        self.check(not one_line, "every rule's expr is on one line", str(one_line))
        # Every recorded series a rule reads is recorded before it (rules of a group run in order).
        seen, order = set(), []
        for r in rules:
            for n in metric_names(r["expr"]):
                if n.startswith("couponflow:") and n not in seen:
                    order.append(f"{r.get('record') or r.get('alert')} reads {n} before it is recorded")
            if "record" in r:
                seen.add(r["record"])
        self.check(not order, "recorded series are defined before they are used", "; ".join(order))
        self.metrics_documented("alerts.yml", [r["expr"] for r in rules], docs_metrics, recorded, allow_recorded=True)

        alerts = [r for r in rules if "alert" in r]
        # GitHub's anchors of the runbook's "## " headings: lower case, spaces to dashes.
        with open(self.path(RUNBOOK), encoding="utf-8") as f:
            runbook_anchors = {re.sub(r"[^\w-]", "", line[3:].strip().lower().replace(" ", "-"))
                               for line in f if line.startswith("## ")}
        self.check(REQUIRED_ALERTS <= {a["alert"] for a in alerts}, "alerts " + ", ".join(sorted(REQUIRED_ALERTS)),
                   str(sorted(REQUIRED_ALERTS - {a["alert"] for a in alerts})))
        bad = []
        for a in alerts:
            name, expr = a["alert"], a["expr"].strip()
            if not ALERT_EXPR_FORM.match(expr):
                bad.append(f"{name}: expr '{expr}' is not '<series> <cmp> <number>' or absent(<metric>)")
            if not a.get("for"):
                bad.append(f"{name}: no for:")
            if a.get("labels", {}).get("severity") not in ("info", "warning", "critical"):
                bad.append(f"{name}: no severity label")
            ann = a.get("annotations", {})
            if not ann.get("summary") or not ann.get("description"):
                bad.append(f"{name}: summary/description missing")
            url = ann.get("runbook_url", "")
            anchor = url.split("#", 1)[1] if url.startswith(RUNBOOK + "#") else None
            if anchor is None or anchor not in runbook_anchors:
                bad.append(f"{name}: runbook_url '{url}' is not a section of {RUNBOOK}")
        self.check(not bad, "alert rules: simple expr, for, severity, summary, description, runbook_url",
                   "; ".join(bad))
        return recorded

    # --------------------------------------------------------------- consistency
    def consistency(self, docs):
        compose = docs["ops/docker/docker-compose.yml"][0]
        prom = docs["ops/prometheus/prometheus.yml"][0]
        k8s = [doc for rel, ds in docs.items() if rel.startswith("ops/k8s/") for doc in ds]
        services = compose.get("services", {})

        # Processor services of compose.
        processors = {}
        for name, svc in services.items():
            cmd = svc.get("command") or []
            if isinstance(cmd, str):
                cmd = cmd.split()
            if cmd and cmd[0] == "process":
                processors[name] = (svc, cmd)
        self.check(len(processors) >= 2, "compose runs at least two processor services", str(sorted(processors)))

        def flag(cmd, f):
            return cmd[cmd.index(f) + 1] if f in cmd and cmd.index(f) + 1 < len(cmd) else None

        bad = []
        for name, (svc, cmd) in processors.items():
            if flag(cmd, "--metrics-listen") != f"0.0.0.0:{METRICS_PORT}":
                bad.append(f"{name}: --metrics-listen {flag(cmd, '--metrics-listen')}")
            if flag(cmd, "--instance-id") != name:
                bad.append(f"{name}: --instance-id {flag(cmd, '--instance-id')}")
            state = flag(cmd, "--state-dir")
            vols = [v.split(":") for v in svc.get("volumes", []) if isinstance(v, str)]
            named = [v for v in vols if len(v) >= 2 and v[1] == state and v[0] in (compose.get("volumes") or {})]
            if not state or not named:
                bad.append(f"{name}: --state-dir {state} is not a named volume")
            hc = " ".join(map(str, (svc.get("healthcheck") or {}).get("test", [])))
            if f":{METRICS_PORT}/healthz" not in hc:
                bad.append(f"{name}: healthcheck '{hc}' is not on :{METRICS_PORT}/healthz")
            if "kafka:9092" != flag(cmd, "--bootstrap"):
                bad.append(f"{name}: --bootstrap {flag(cmd, '--bootstrap')}")
        self.check(not bad, f"compose processors: metrics on 0.0.0.0:{METRICS_PORT}, healthcheck /healthz, "
                   "instance id = service name, state on a named volume", "; ".join(bad))

        jobs = {j.get("job_name"): j for j in prom.get("scrape_configs", [])}
        job = jobs.get("couponflow", {})
        targets = [t for sc in job.get("static_configs", []) for t in sc.get("targets", [])]
        self.check(job.get("scrape_interval") == "5s", "prometheus job couponflow scrapes every 5s",
                   str(job.get("scrape_interval")))
        self.check(sorted(targets) == sorted(f"{n}:{METRICS_PORT}" for n in processors),
                   "scrape targets = compose processor services on the metrics port",
                   f"targets {sorted(targets)} vs services {sorted(processors)}")
        self.check(prom.get("rule_files") == ["alerts.yml"], "prometheus.yml loads alerts.yml", str(prom.get("rule_files")))

        # Prometheus and Grafana services and their mounts.
        pvols = " ".join(services.get("prometheus", {}).get("volumes", []))
        self.check("../prometheus:/etc/prometheus" in pvols, "compose prometheus mounts ops/prometheus", pvols)
        gvols = services.get("grafana", {}).get("volumes", [])
        prov = docs["grafana/provisioning/dashboards/couponflow.yml"][0]
        provider_path = prov["providers"][0]["options"]["path"]
        self.check(f"../../grafana/dashboards:{provider_path}:ro" in gvols
                   and "../../grafana/provisioning:/etc/grafana/provisioning:ro" in gvols,
                   "compose grafana mounts grafana/provisioning and grafana/dashboards at the provider path",
                   f"{gvols} vs {provider_path}")
        dsdoc = docs["grafana/provisioning/datasources/prometheus.yml"][0]["datasources"][0]
        self.check(dsdoc.get("type") == "prometheus" and dsdoc.get("uid") == "prometheus"
                   and dsdoc.get("url") == "http://prometheus:9090" and "prometheus" in services,
                   "grafana datasource: uid prometheus at http://prometheus:9090 (the compose service)", str(dsdoc))
        self.check(services.get("kafka", {}).get("image") == "apache/kafka:3.7.0",
                   "compose kafka is apache/kafka:3.7.0")
        kenv = services.get("kafka", {}).get("environment", {})
        self.check("broker,controller" == kenv.get("KAFKA_PROCESS_ROLES")
                   and "PLAINTEXT://kafka:9092" in str(kenv.get("KAFKA_ADVERTISED_LISTENERS")),
                   "compose kafka: KRaft broker+controller, advertised as kafka:9092 in the network")

        # Topics: every topic of docs/design.md section 3, 12 partitions, compaction where it says so.
        design = open(self.path("docs/design.md"), encoding="utf-8").read()
        topic_rows = re.findall(r"^\|\s*`([\w.-]+)`\s*\|.*?\|\s*P(?: \((\d+)\))?\s*\|\s*([^|]+?)\s*\|", design, re.M)
        command = services.get("topics", {}).get("command", "")
        topics_cmd = "\n".join(command) if isinstance(command, list) else str(command)
        bad = []
        for topic, _, cleanup in topic_rows:
            m = re.search(r"--topic " + re.escape(topic) + r"(?![\w-])(.*)", topics_cmd)
            if not m:
                bad.append(f"{topic} not created")
            elif ("compact" in cleanup) != ("cleanup.policy=compact" in m.group(1)):
                bad.append(f"{topic}: cleanup should be {cleanup.strip('*')}")
        self.check(len(topic_rows) >= 6 and not bad, f"compose creates the {len(topic_rows)} topics of docs/design.md",
                   "; ".join(bad))
        self.check("--partitions 12" in topics_cmd, "compose topics have 12 partitions")

        # Dockerfile.
        dockerfile = open(self.path("ops/docker/Dockerfile"), encoding="utf-8").read()
        run_lines = re.findall(r"^RUN .*?(?<!\\)$", re.sub(r"\\\n", " ", dockerfile), re.M)
        self.check(any("ops/setup-debian.sh" in line for line in run_lines), "Dockerfile runs ops/setup-debian.sh")
        self.check(re.search(r"^FROM debian:12\b", dockerfile, re.M) is not None, "Dockerfile is FROM debian:12")
        self.check(re.search(rf"^EXPOSE .*\b{METRICS_PORT}\b", dockerfile, re.M) is not None,
                   f"Dockerfile exposes {METRICS_PORT}")
        self.check(re.search(rf'^ENTRYPOINT \["{IMAGE_PREFIX}/bin/couponflow"', dockerfile, re.M) is not None,
                   f"Dockerfile entrypoint is the installed {IMAGE_PREFIX}/bin/couponflow")
        self.check(re.search(r"^VOLUME .*/var/lib/couponflow", dockerfile, re.M) is not None,
                   "Dockerfile declares the state dir a volume")
        for name, (svc, _) in processors.items():
            b = svc.get("build", {})
            self.check(b.get("dockerfile") == "ops/docker/Dockerfile"
                       and os.path.normpath(os.path.join(self.root, "ops/docker", b.get("context", "")))
                       == os.path.normpath(self.root), f"compose {name} builds ops/docker/Dockerfile from the repo root")

        # Kubernetes.
        kinds = {doc.get("kind"): doc for doc in k8s if doc}
        svc, sts = kinds.get("Service", {}), kinds.get("StatefulSet", {})
        self.check(svc.get("spec", {}).get("clusterIP") == "None", "k8s Service is headless")
        self.check(sts.get("spec", {}).get("serviceName") == svc.get("metadata", {}).get("name"),
                   "k8s StatefulSet serviceName is the headless Service")
        pod = sts.get("spec", {}).get("template", {})
        c = (pod.get("spec", {}).get("containers") or [{}])[0]
        args = [str(a) for a in c.get("args", [])]
        ports = {p.get("name"): p.get("containerPort") for p in c.get("ports", [])}
        ann = pod.get("metadata", {}).get("annotations", {})

        def probe(kind):
            g = (c.get(kind) or {}).get("httpGet", {})
            port = g.get("port")
            return g.get("path"), ports.get(port, port)

        self.check(probe("livenessProbe") == ("/healthz", METRICS_PORT), "k8s liveness probe GET /healthz on 9464",
                   str(probe("livenessProbe")))
        self.check(probe("readinessProbe") == ("/readyz", METRICS_PORT), "k8s readiness probe GET /readyz on 9464",
                   str(probe("readinessProbe")))
        self.check(flag(args, "--metrics-listen") == f"0.0.0.0:{METRICS_PORT}"
                   and str(ann.get("prometheus.io/port")) == str(METRICS_PORT) and ann.get("prometheus.io/scrape") == "true",
                   "k8s: --metrics-listen 0.0.0.0:9464 and prometheus.io scrape annotations on 9464",
                   f"{flag(args, '--metrics-listen')} {ann}")
        env = {e.get("name"): e for e in c.get("env", [])}
        iid = flag(args, "--instance-id") or ""
        m = re.fullmatch(r"\$\((\w+)\)", iid)
        self.check(m is not None and env.get(m.group(1), {}).get("valueFrom", {}).get("fieldRef", {}).get("fieldPath")
                   == "metadata.name", "k8s --instance-id is the pod name", iid)
        state = flag(args, "--state-dir")
        claims = {t.get("metadata", {}).get("name") for t in sts.get("spec", {}).get("volumeClaimTemplates", [])}
        mounts = {vm.get("mountPath"): vm.get("name") for vm in c.get("volumeMounts", [])}
        self.check(state is not None and mounts.get(state) in claims,
                   "k8s --state-dir is mounted from a volumeClaimTemplate", f"{state} {mounts} {claims}")

    # --------------------------------------------------------------- image
    def image(self, k8s_user):
        dockerfile = open(self.path("ops/docker/Dockerfile"), encoding="utf-8").read()
        stages = dockerfile_stages(dockerfile)
        if not self.check(len(stages) >= 2, "Dockerfile has a build stage and a runtime stage",
                          f"{len(stages)} FROM"):
            return
        build, final = stages[0], stages[-1]
        build_name = build[0].split()[-1] if re.search(r"\s+AS\s+", build[0], re.I) else "0"
        final_runs = instructions(final, "RUN")
        tools = sorted({m.group(1) for run in final_runs for m in BUILD_TOOLS.finditer(run)})
        self.check(not tools, "Dockerfile runtime stage installs or runs no compiler, build tool or -dev package",
                   str(tools))
        copies = instructions(final, "COPY") + instructions(final, "ADD")
        self.check(bool(copies) and all(c.split() == [f"--from={build_name}", IMAGE_PREFIX, IMAGE_PREFIX]
                                        for c in copies),
                   f"Dockerfile runtime stage copies only {IMAGE_PREFIX} from the build stage (no sources)",
                   str(copies))
        build_runs = " ".join(instructions(build, "RUN"))
        self.check(re.search(rf"cmake --install build --prefix {IMAGE_PREFIX}(\s|$)", build_runs) is not None,
                   f"Dockerfile build stage installs with cmake --install build --prefix {IMAGE_PREFIX}")
        setup = open(self.path("ops/setup-debian.sh"), encoding="utf-8").read()
        self.check("REVISION" in " ".join(instructions(build, "ARG"))
                   and re.search(r"COUPONFLOW_CMAKE_ARGS=\"?-DCOUPONFLOW_REVISION=\$\{?REVISION\b",
                                 build_runs) is not None
                   and re.search(r"^cmake -S .*\$\{COUPONFLOW_CMAKE_ARGS:-\}", setup, re.M) is not None,
                   "Dockerfile's REVISION build arg reaches CMake (COUPONFLOW_CMAKE_ARGS of ops/setup-debian.sh)")
        hc = " ".join(instructions(final, "HEALTHCHECK"))
        self.check(re.search(rf"CMD .*curl .*http://127\.0\.0\.1:{METRICS_PORT}/healthz", hc) is not None
                   and all(f"--{o}=" in hc for o in ("interval", "timeout", "start-period"))
                   and "curl" in apt_installed(final_runs),
                   f"Dockerfile HEALTHCHECK: curl GET :{METRICS_PORT}/healthz with interval, timeout, start-period",
                   hc)
        users = instructions(final, "USER")
        user = users[-1].split(":")[0] if users else "root"
        self.check(user.isdigit() and int(user) != 0 and int(user) == k8s_user,
                   "Dockerfile USER is numeric and not root (= the k8s runAsUser)", f"USER {user}, k8s {k8s_user}")
        self.check(instructions(final, "STOPSIGNAL") == ["SIGTERM"], "Dockerfile STOPSIGNAL SIGTERM")
        self.runtime_libraries(apt_installed(final_runs))

        ignore = [line.strip().strip("/") for line in
                  open(self.path("ops/docker/Dockerfile.dockerignore"), encoding="utf-8")
                  if line.strip() and not line.startswith("#")]
        top = os.listdir(self.root)
        builds = {".git", "build", "build-release"} | {e for e in top if re.fullmatch(r"build-.*", e)}
        left_out = {e for e in builds | set(top) if any(fnmatch.fnmatch(e, p) for p in ignore)}
        self.check(left_out == builds, "Dockerfile.dockerignore leaves out .git and every build tree, and no source",
                   f"left out {sorted(left_out)}, should be {sorted(builds)}")

    def runtime_libraries(self, packages):
        """The runtime stage's packages, with their Depends, provide every library the binary loads."""
        what = "Dockerfile runtime packages provide every library `ldd build/couponflow` lists"
        binary = self.path("build/couponflow")
        if not os.path.exists(binary):
            return self.skip(what, "build/couponflow is not built")
        if not (shutil.which("ldd") and shutil.which("dpkg") and shutil.which("dpkg-query")):
            return self.skip(what, "ldd, dpkg or dpkg-query not found (not a Debian host)")
        ldd = subprocess.run(["ldd", binary], capture_output=True, text=True, timeout=60).stdout
        libs = {m.group(1): m.group(2) for m in re.finditer(r"^\s*(\S+) => (/\S+)", ldd, re.M)}
        owners = subprocess.run(["dpkg", "-S"] + [f"*/{name}" for name in libs],
                                capture_output=True, text=True, timeout=60).stdout
        lib_package = {}
        for line in owners.splitlines():
            pkgs, _, path = line.partition(": ")
            for name, resolved in libs.items():
                if os.path.basename(path) == name and os.path.realpath(path) == os.path.realpath(resolved):
                    lib_package[name] = pkgs.split(",")[0].split(":")[0].strip()
        # Depends and Pre-Depends of every installed package, alternatives included.
        fields = subprocess.run(["dpkg-query", "-W", "-f=${Package}\t${Pre-Depends}, ${Depends}\n"],
                                capture_output=True, text=True, timeout=60).stdout
        depends = {}
        for line in fields.splitlines():
            name, _, deps = line.partition("\t")
            depends[name] = {re.split(r"[\s:(]", d.strip())[0] for d in re.split(r"[,|]", deps) if d.strip()}
        unknown = [p for p in packages if p not in depends]
        closure, todo = set(), list(packages)
        while todo:
            p = todo.pop()
            if p not in closure:
                closure.add(p)
                todo += depends.get(p, ())
        missing = sorted(f"{lib} ({lib_package.get(lib, 'no package')})" for lib in libs
                         if lib_package.get(lib) not in closure)
        self.check(bool(libs) and not missing and not unknown, what,
                   f"not provided: {missing}; packages dpkg does not know: {unknown}")

    # --------------------------------------------------------------- install rules
    def install_rules(self):
        cmake = open(self.path("CMakeLists.txt"), encoding="utf-8").read()
        rules = re.findall(r"^install\((.*?)\)\s*$", cmake, re.M | re.S)
        files = [f for r in rules if r.lstrip().startswith("FILES")
                 for f in re.split(r"\s+", r.split("DESTINATION")[0].strip())[1:]]
        absent = [f for f in files if not os.path.isfile(self.path(f))]
        kit = {UNIT, UNIT_PROPERTIES, "grafana/dashboards/couponflow.json", "ops/prometheus/alerts.yml", RUNBOOK}
        self.check("include(GNUInstallDirs)" in cmake
                   and any(re.match(r"TARGETS couponflow\s.*DESTINATION \$\{CMAKE_INSTALL_BINDIR\}", r, re.S)
                           for r in rules)
                   and kit <= set(files) and not absent,
                   "CMake installs couponflow to bin/ and the unit, properties, dashboard, rules and runbook",
                   f"not installed: {sorted(kit - set(files))}; missing files: {absent}")

    # --------------------------------------------------------------- systemd
    def systemd(self):
        text = open(self.path(UNIT), encoding="utf-8").read()
        unit = parse_unit(text)
        props = parse_properties(open(self.path(UNIT_PROPERTIES), encoding="utf-8").read())

        def one(section, key):
            values = unit.get((section, key), [])
            return values[-1] if values else None

        exec_start = (one("Service", "ExecStart") or "").split()
        exe = exec_start[0] if exec_start else ""
        analyze = shutil.which("systemd-analyze")
        units = host_unit_dir()
        if analyze is None or units is None:
            why = "systemd-analyze not found (Debian: apt-get install systemd)" if analyze is None \
                else "no system unit directory with sysinit.target"
            self.skip("systemd unit passes systemd-analyze verify", why)
            self.skip("systemd unit: systemd-analyze security exposure <= 2.0", why)
        else:
            # verify loads the unit's dependencies (sysinit.target, ...) and checks that the
            # ExecStart binary is executable: a scratch root holds the host's units and a
            # stand-in at the install path, so nothing needs to be installed.
            with tempfile.TemporaryDirectory() as root:
                shutil.copytree(units, os.path.join(root, "usr/lib/systemd/system"), symlinks=True)
                os.makedirs(os.path.join(root, "etc/systemd/system"))
                shutil.copy(self.path(UNIT), os.path.join(root, "etc/systemd/system"))
                if exe.startswith("/"):
                    stub = os.path.join(root, exe.lstrip("/"))
                    os.makedirs(os.path.dirname(stub), exist_ok=True)
                    with open(stub, "w") as f:
                        f.write("#!/bin/sh\n")
                    os.chmod(stub, 0o755)
                name = os.path.basename(UNIT)
                r = subprocess.run([analyze, "verify", f"--root={root}", name],
                                   capture_output=True, text=True, timeout=60)
                out = (r.stdout + r.stderr).strip().replace(root, "")
                # Unknown keys and bad values are only warnings (exit 0): any output fails.
                self.check(r.returncode == 0 and not out, "systemd unit passes systemd-analyze verify, no warning",
                           out.replace("\n", " | ")[:1500])
                r = subprocess.run([analyze, "security", "--offline=true", f"--root={root}", "--threshold=20",
                                    "--no-pager", name], capture_output=True, text=True, timeout=60)
                if "--offline" in r.stderr and ("unrecognized" in r.stderr or "Unknown" in r.stderr):
                    self.skip("systemd unit: systemd-analyze security exposure <= 2.0", "systemd older than 250")
                else:
                    level = re.search(r"Overall exposure level for \S+: (.*)", r.stdout)
                    self.check(r.returncode == 0 and level is not None,
                               "systemd unit: systemd-analyze security exposure <= 2.0",
                               (level.group(1) if level else r.stderr.strip())[:300])

        # --config names the file directly or as a credential (%d/NAME, LoadCredential=NAME:PATH).
        cred = {v.split(":", 1)[0]: v.split(":", 1)[1] for v in unit.get(("Service", "LoadCredential"), [])
                if ":" in v}

        def flag(f):
            return exec_start[exec_start.index(f) + 1] if f in exec_start[:-1] else None

        config = flag("--config") or ""
        config_source = cred.get(config[len("%d/"):]) if config.startswith("%d/") else config
        state_dir = one("Service", "StateDirectory")
        # /usr/local/bin: where cmake --install puts the binary under the default prefix.
        self.check(exe == "/usr/local/bin/couponflow" and exec_start[1:2] == ["process"]
                   and config_source == "/etc/couponflow/couponflow.properties"
                   and flag("--state-dir") == f"/var/lib/{state_dir}" and "bootstrap.servers" in props,
                   "systemd ExecStart: /usr/local/bin/couponflow process --config /etc/couponflow/couponflow.properties"
                   " (the example names bootstrap.servers), --state-dir = StateDirectory",
                   f"{' '.join(exec_start)}; config from {config_source}; StateDirectory={state_dir}")
        user = one("Service", "User")
        self.check(one("Service", "DynamicUser") == "yes" or (user not in (None, "root", "0")),
                   "systemd unit runs as a dedicated user (DynamicUser= or User=)")
        self.check(one("Service", "Restart") == "on-failure" and one("Service", "KillSignal") == "SIGTERM"
                   and one("Service", "LimitNOFILE") is not None,
                   "systemd unit: Restart=on-failure, KillSignal=SIGTERM, LimitNOFILE")
        sandbox = {"ProtectSystem": {"strict"}, "ProtectHome": {"yes", "true", "read-only", "tmpfs"},
                   "PrivateTmp": {"yes", "true"}, "NoNewPrivileges": {"yes", "true"}}
        bad = [f"{k}={one('Service', k)}" for k, ok in sandbox.items() if one("Service", k) not in ok]
        self.check(not bad, "systemd unit sandbox: ProtectSystem=strict, ProtectHome, PrivateTmp, NoNewPrivileges",
                   ", ".join(bad))
        stop = systemd_seconds(one("Service", "TimeoutStopSec") or "")
        timeout_ms = int(props.get("shutdown.timeout.ms", DEFAULT_SHUTDOWN_TIMEOUT_MS))
        self.check(stop is not None and stop * 1000 > timeout_ms,
                   f"systemd TimeoutStopSec exceeds shutdown.timeout.ms ({timeout_ms / 1000:g} s)",
                   f"TimeoutStopSec={one('Service', 'TimeoutStopSec')}")

    # --------------------------------------------------------------- Kubernetes
    def kubernetes(self, docs):
        k8s = [(rel, doc) for rel, ds in docs.items() if rel.startswith("ops/k8s/") for doc in ds if doc]
        kinds = {doc.get("kind"): doc for _, doc in k8s}
        sts = kinds.get("StatefulSet", {})
        pod = sts.get("spec", {}).get("template", {})
        pod_labels = pod.get("metadata", {}).get("labels", {})
        spec = pod.get("spec", {})
        c = (spec.get("containers") or [{}])[0]
        args = [str(a) for a in c.get("args", [])]

        def flag(f):
            return args[args.index(f) + 1] if f in args[:-1] else None

        def selects(selector):
            labels = (selector or {}).get("matchLabels") or {}
            return bool(labels) and all(pod_labels.get(k) == v for k, v in labels.items())

        pdb = kinds.get("PodDisruptionBudget", {})
        self.check(pdb.get("apiVersion") == "policy/v1" and pdb.get("spec", {}).get("maxUnavailable") == 1
                   and selects(pdb.get("spec", {}).get("selector")),
                   "k8s PodDisruptionBudget (maxUnavailable: 1) selects the StatefulSet's pods", str(pdb.get("spec")))
        terms = spec.get("affinity", {}).get("podAntiAffinity", {}) \
            .get("preferredDuringSchedulingIgnoredDuringExecution", [])
        self.check(any(t.get("podAffinityTerm", {}).get("topologyKey") == "kubernetes.io/hostname"
                       and selects(t.get("podAffinityTerm", {}).get("labelSelector")) for t in terms),
                   "k8s pod anti-affinity (preferred) keeps the pods on different hosts", str(terms))

        # --config: a file of a ConfigMap mounted in the container.
        config = flag("--config") or ""
        mounts = {vm.get("name"): vm.get("mountPath") for vm in c.get("volumeMounts", [])}
        volumes = {v.get("name"): v for v in spec.get("volumes", [])}
        cm_name = next((v["configMap"].get("name") for n, v in volumes.items()
                        if "configMap" in v and mounts.get(n) == os.path.dirname(config)), None)
        cm = next((doc for _, doc in k8s if doc.get("kind") == "ConfigMap"
                   and doc.get("metadata", {}).get("name") == cm_name), {})
        props_text = (cm.get("data") or {}).get(os.path.basename(config), "")
        props = parse_properties(props_text)
        self.check(bool(props) and "bootstrap.servers" in props and flag("--bootstrap") is None,
                   "k8s --config reads a mounted ConfigMap's file, which names bootstrap.servers",
                   f"--config {config}, ConfigMap {cm_name}, keys {sorted(props)}")

        # Credentials: a Secret, through env and -X, never in the ConfigMap.
        secrets = {doc.get("metadata", {}).get("name"): (rel, doc) for rel, doc in k8s if doc.get("kind") == "Secret"}
        from_secret = {}
        for e in c.get("env", []):
            ref = e.get("valueFrom", {}).get("secretKeyRef", {})
            secret = secrets.get(ref.get("name"), (None, {}))[1]
            if ref.get("key") in {**(secret.get("data") or {}), **(secret.get("stringData") or {})}:
                from_secret[e.get("name")] = ref
        x = [args[i + 1] for i, a in enumerate(args[:-1]) if a == "-X"]
        x_env = [re.fullmatch(r"([\w.]+)=\$\((\w+)\)", kv) for kv in x]
        x_secret = {m.group(1) for m in x_env if m and m.group(2) in from_secret}
        leaked = [k for k in props if re.search(r"password|secret|sasl\.username|sasl\.oauthbearer", k)]
        self.check({"sasl.username", "sasl.password"} <= x_secret and not leaked,
                   "k8s SASL credentials come from a Secret (env secretKeyRef, -X), none in the ConfigMap",
                   f"-X from the Secret: {sorted(x_secret)}; in the ConfigMap: {leaked}")
        placed = [rel for rel, _ in secrets.values()]
        self.check(bool(placed) and all(os.path.dirname(rel) != "ops/k8s" for rel in placed),
                   "k8s placeholder Secret is outside `kubectl apply -f ops/k8s/` (a subdirectory)", str(placed))

        # Memory: the instance's store-cache budget (one figure, whatever the number of
        # tasks) in at most half the limit (the rest: RocksDB, client queues, buffers;
        # statefulset.yaml has the whole budget).
        res = c.get("resources", {})
        limit = k8s_bytes(res.get("limits", {}).get("memory", ""))
        request = k8s_bytes(res.get("requests", {}).get("memory", ""))
        cache = int(props.get("statestore.cache.max.bytes", DEFAULT_STORE_CACHE_BYTES))
        self.check(limit is not None and request is not None and request <= limit and cache <= limit / 2,
                   "k8s memory request and limit set; the store-cache budget (statestore.cache.max.bytes) "
                   "fits in half the limit", f"request {request}, limit {limit}, caches {cache}")

        grace = spec.get("terminationGracePeriodSeconds", 30)
        timeout_ms = int(props.get("shutdown.timeout.ms", DEFAULT_SHUTDOWN_TIMEOUT_MS))
        self.check(isinstance(grace, int) and grace * 1000 > timeout_ms,
                   f"k8s terminationGracePeriodSeconds exceeds shutdown.timeout.ms ({timeout_ms / 1000:g} s)",
                   str(grace))

    # --------------------------------------------------------------- all
    def run(self):
        self.promtool()
        docs = self.parse_all()
        needed = ["ops/prometheus/prometheus.yml", "ops/prometheus/alerts.yml", "ops/docker/docker-compose.yml",
                  "ops/k8s/statefulset.yaml", "ops/k8s/config.yaml", "ops/k8s/pdb.yaml",
                  "grafana/dashboards/couponflow.json",
                  "grafana/provisioning/datasources/prometheus.yml", "grafana/provisioning/dashboards/couponflow.yml"]
        missing = [n for n in needed if n not in docs]
        if not self.check(not missing, "every kit file exists and parses", str(missing)):
            return
        docs_metrics = parse_metrics_doc(self.path("docs/metrics.md"))
        self.check(len(docs_metrics) >= 20, f"docs/metrics.md documents {len(docs_metrics)} metrics")
        rules_text = open(self.path("ops/prometheus/alerts.yml"), encoding="utf-8").read()
        recorded = self.rules(docs["ops/prometheus/alerts.yml"][0], rules_text, docs_metrics)
        self.dashboard(docs["grafana/dashboards/couponflow.json"][0], docs_metrics, recorded)
        self.consistency(docs)
        sts = next((d for d in docs["ops/k8s/statefulset.yaml"] if d and d.get("kind") == "StatefulSet"), {})
        pod_security = sts.get("spec", {}).get("template", {}).get("spec", {}).get("securityContext", {})
        self.image(pod_security.get("runAsUser"))
        self.install_rules()
        self.systemd()
        self.kubernetes(docs)


def main():
    if len(sys.argv) != 2:
        print("usage: deploy_kit_check.py REPO_ROOT", file=sys.stderr)
        return 2
    checker = Checker(os.path.abspath(sys.argv[1]))
    try:
        checker.run()
    except (KeyError, IndexError, TypeError, AttributeError, ValueError, OSError) as e:
        checker.failures.append(f"unexpected structure: {type(e).__name__}: {e}")
        print(f"FAIL  unexpected structure: {type(e).__name__}: {e}")
    print(f"deploy-kit: {checker.passed} passed, {len(checker.failures)} failed")
    if checker.failures:
        print("failures:\n  " + "\n  ".join(checker.failures))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
