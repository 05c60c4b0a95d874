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
- alert rules: the four alerts, each `expr` on one line and of the form
  `<series> <comparison> <number>` or `absent(<metric>)`, with for, severity, summary
  and description;
- consistency: metrics port 9464 in compose, Kubernetes, Prometheus and the Dockerfile;
  compose processor services = scrape targets; the Dockerfile runs ops/setup-debian.sh;
  Kubernetes probes on /healthz and /readyz; topics of docs/design.md created in compose;
  Grafana mounts and provider path, datasource URL = the compose prometheus service.

Prints one line per check; exits 1 listing every failure.
"""

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
REQUIRED_ALERTS = {"CouponflowLagGrowing", "CouponflowDlqRate", "CouponflowNoInstanceReady",
                   "CouponflowRestoreStuck"}
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
        m = re.match(r"^\|\s*`(couponflow_\w+)`\s*\|\s*([^|]+?)\s*\|\s*([^|]*?)\s*\|", line)
        if m:
            labels = set(re.findall(r"`(\w+)`", re.sub(r"\([^)]*\)", "", m.group(3))))
            metrics[m.group(1)] = (m.group(2).split()[0], labels)
    return metrics


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
        self.check(not bad, "alert rules: simple expr, for, severity, summary, description", "; ".join(bad))
        return recorded

    # --------------------------------------------------------------- consistency
    def consistency(self, docs):
        compose = docs["ops/docker/docker-compose.yml"][0]
        prom = docs["ops/prometheus/prometheus.yml"][0]
        k8s = docs["ops/k8s/statefulset.yaml"]
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
        self.check(re.search(r"^ENTRYPOINT .*build/couponflow", dockerfile, re.M) is not None,
                   "Dockerfile entrypoint is build/couponflow")
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
        grace = pod.get("spec", {}).get("terminationGracePeriodSeconds", 30)
        self.check(isinstance(grace, int) and grace >= 45,
                   "k8s terminationGracePeriodSeconds leaves time for a clean shutdown (>= 45 s)", str(grace))

    # --------------------------------------------------------------- all
    def run(self):
        self.promtool()
        docs = self.parse_all()
        needed = ["ops/prometheus/prometheus.yml", "ops/prometheus/alerts.yml", "ops/docker/docker-compose.yml",
                  "ops/k8s/statefulset.yaml", "grafana/dashboards/couponflow.json",
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
