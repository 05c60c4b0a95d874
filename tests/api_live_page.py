#!/usr/bin/env python3
"""End to end: the live page that `couponflow api` serves at GET /, rendered by a real
(headless) Chromium, shows what the API answers.

Usage: tests/api_live_page.py path/to/couponflow REPO_ROOT
       UPDATE_SCREENSHOT=1 tests/api_live_page.py ...   also writes docs/img/api_live_page.png

Starts, on free loopback ports: the embedded broker (3 partitions), a catalog of 3
coupons (capacities 5, 10 and 20), one processor instance and `couponflow api`. Once
GET /api/coupons/{id} answers 200 for every coupon it issues through the API (POST
/api/coupons/{id}/issue?wait=...): 7 distinct users on the capacity-5 coupon (5 accepted,
2 SOLD_OUT) and 3 on the capacity-10 one. It then checks:

- GET /api/coupons lists the 3 coupons and GET /api/coupons/{id} counts the issues;
- Debian's Chromium (/usr/bin/chromium, headless, no network) renders GET / and, in the
  DOM after its scripts ran, every coupon has one row whose capacity, issued and remaining
  cells are exactly what GET /api/coupons/{id} answers (read before and after the
  rendering: nothing changes them meanwhile), the bar is issued/capacity wide, the sold-out
  row is marked, the totals add up, and the page refreshed at least once;
- a screenshot of the page is a PNG of more than 5 KB. With UPDATE_SCREENSHOT=1 it is
  then copied to docs/img/api_live_page.png.

Every process it starts is stopped by PID (SIGTERM, then SIGKILL) in a finally block;
Chromium runs in its own process group, is killed (each of its processes, by PID) if it
takes more than 60 s, and the whole run is bounded (about 90 s).
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
import urllib.request
from html.parser import HTMLParser

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "support"))
from processes import Checks, Procs, TestFailure, free_ports, log  # noqa: E402

PARTITIONS = 3
COUPONS = [("lp-5", 5), ("lp-10", 10), ("lp-20", 20)]
ISSUES = {"lp-5": 7, "lp-10": 3}  # distinct users per coupon
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_TIMEOUT = 60
SCREENSHOT = "docs/img/api_live_page.png"


CHECKS = Checks(88)
check, remaining = CHECKS.check, CHECKS.remaining


def http(url, data=None, timeout=5):
    """(status, body); status 0 when nothing answers."""
    req = urllib.request.Request(url, data=data, method="POST" if data is not None else "GET")
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode("utf-8", "replace")
    except (urllib.error.URLError, ConnectionError, socket.timeout, TimeoutError) as e:
        return 0, str(getattr(e, "reason", e))


def get_json(url, what):
    status, body = http(url)
    if status != 200:
        raise TestFailure(f"{what}: GET {url} answered {status}: {body[:200]}")
    try:
        return json.loads(body)
    except ValueError:
        raise TestFailure(f"{what}: GET {url} is not JSON: {body[:200]}")


def _terminated(signum, _frame):
    raise TestFailure(f"stopped by signal {signum}")


def run_cmd(argv, limit, what):
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=remaining(limit))
    except subprocess.TimeoutExpired:
        raise TestFailure(f"{what} took more than {limit} s: {' '.join(argv)}")


# ---------------------------------------------------------------------------- Chromium

def _group_members(pgid):
    """PIDs of the live processes in process group `pgid` (from /proc)."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2:].split()  # state ppid pgrp ...
        if len(fields) > 2 and fields[0] != "Z" and int(fields[2]) == pgid:
            pids.append(int(entry))
    return pids


def _kill_members(pgid):
    for pid in _group_members(pgid):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _chromium_child():
    os.setsid()  # its own process group: its helpers (zygote, renderer, gpu) are found by pgid
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def chromium(args, work, name):
    """Runs headless Chromium with a fresh profile and no network; (stdout, stderr)."""
    profile = tempfile.mkdtemp(prefix=f"chromium-{name}-", dir=work)
    argv = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            f"--user-data-dir={profile}"] + args
    log(f"run   {' '.join(argv)}")
    started = time.monotonic()
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                         preexec_fn=_chromium_child)
    try:
        out, err = p.communicate(timeout=remaining(CHROMIUM_TIMEOUT))
    except subprocess.TimeoutExpired:
        _kill_members(p.pid)
        p.kill()
        p.communicate()
        raise TestFailure(f"chromium ({name}) did not finish in {CHROMIUM_TIMEOUT} s: killed")
    finally:
        # A helper (crashpad, zygote) can outlive the browser for a moment: give it a second
        # or two to exit, then kill what is left, by PID.
        for _ in range(20):
            if not _group_members(p.pid):
                break
            time.sleep(0.1)
        _kill_members(p.pid)
    out, err = out.decode("utf-8", "replace"), err.decode("utf-8", "replace")
    with open(os.path.join(work, f"chromium-{name}.err"), "w") as f:
        f.write(err)
    log(f"      chromium ({name}) took {time.monotonic() - started:.1f} s, exit {p.returncode}")
    if p.returncode != 0:
        raise TestFailure(f"chromium ({name}) exited {p.returncode}: {err.strip()[-600:]}")
    return out, err


class PageParser(HTMLParser):
    """Coupon rows (tr[data-coupon]) with their classed cells, the totals and body data."""

    def __init__(self):
        super().__init__()
        self.rows = {}        # coupon -> {"class": tr class, "cells": {cls: text}, "bar": style}
        self.by_id = {}       # element id -> text
        self.body = {}
        self._row = None
        self._cell = None     # (kind, key) being read
        self._text = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "body":
            self.body = a
        elif tag == "tr" and "data-coupon" in a:
            self._row = {"class": a.get("class") or "", "cells": {}, "bar": None, "tds": 0}
            self.rows.setdefault(a["data-coupon"], []).append(self._row)
        elif tag == "td" and self._row is not None:
            self._row["tds"] += 1
            cls = a.get("class") or ""
            if cls in ("capacity", "issued", "remaining"):
                self._cell, self._text = ("cell", cls), []
        elif tag == "div" and self._row is not None and a.get("class") == "fill":
            self._row["bar"] = a.get("style")
        if "id" in a and tag in ("td", "div"):
            self._cell, self._text = ("id", a["id"]), []

    def handle_data(self, data):
        if self._cell is not None:
            self._text.append(data)

    def handle_endtag(self, tag):
        if tag in ("td", "div") and self._cell is not None:
            kind, key = self._cell
            text = "".join(self._text).strip()
            if kind == "cell" and self._row is not None:
                self._row["cells"][key] = text
            elif kind == "id":
                self.by_id[key] = text
            self._cell = None
        elif tag == "tr":
            self._row = None


# ---------------------------------------------------------------------------- the test

def main():
    if len(sys.argv) != 3:
        print("usage: api_live_page.py path/to/couponflow REPO_ROOT", file=sys.stderr)
        return 2
    binary, root = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    if not os.access(CHROMIUM, os.X_OK):
        print(f"FAIL: no {CHROMIUM} (Debian: apt-get install -y chromium)", file=sys.stderr)
        return 1

    signal.signal(signal.SIGTERM, _terminated)  # so that the finally below stops what was started
    work = tempfile.mkdtemp(prefix="couponflow-live-page-")
    procs = Procs(work)
    ok = False
    started = time.monotonic()
    try:
        ok = scenario(binary, root, work, procs)
    except TestFailure as e:
        log(f"FAIL  {e}")
        for name, _ in procs.procs:
            log(procs.tail(name))
    finally:
        procs.stop_all()
    took = time.monotonic() - started
    if ok:
        shutil.rmtree(work, ignore_errors=True)
        log(f"api-live-page: {CHECKS.passed} passed, 0 failed ({took:.1f} s)")
        return 0
    log(f"logs kept in {work}")
    log(f"api-live-page: {CHECKS.passed} passed, 1 failed ({took:.1f} s)")
    return 1


def scenario(binary, root, work, procs):
    metrics_port, api_port = free_ports(2)

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

    # ------------------------------------------------------------ processor and api
    procs.start("process", [binary, "process", "--bootstrap", bootstrap, "--state-dir", os.path.join(work, "a"),
                            "--instance-id", "a", "--metrics-listen", f"127.0.0.1:{metrics_port}"])
    procs.start("api", [binary, "api", "--bootstrap", bootstrap, "--listen", f"127.0.0.1:{api_port}"])
    base = f"http://127.0.0.1:{api_port}"

    api_out = os.path.join(work, "api.out")
    deadline = time.monotonic() + remaining(15)
    first = ""
    while time.monotonic() < deadline:
        if not procs.alive("api"):
            raise TestFailure("the api exited")
        with open(api_out, errors="replace") as f:
            line = f.readline()
        if line.endswith("\n"):
            first = line.strip()
            break
        time.sleep(0.1)
    check(first == f"listening on {base}", f"the api's first stdout line is `listening on {base}`", repr(first))

    deadline = time.monotonic() + remaining(60)
    last = {}
    while time.monotonic() < deadline:
        for name in ("process", "api"):
            if not procs.alive(name):
                raise TestFailure(f"{name} exited")
        last = {c: http(f"{base}/api/coupons/{c}", timeout=5) for c, _ in COUPONS}
        if all(s == 200 for s, _ in last.values()):
            break
        time.sleep(0.5)
    check(all(s == 200 for s, _ in last.values()), "GET /api/coupons/{id} answers 200 for every coupon",
          "; ".join(f"{c} {s} {b.strip()[:150]}" for c, (s, b) in last.items()))

    listed = get_json(f"{base}/api/coupons", "the catalog")
    check(sorted(listed.get("coupons", [])) == sorted(c for c, _ in COUPONS),
          "GET /api/coupons lists the 3 coupons", listed)

    # ------------------------------------------------------------ issue through the api
    capacities = dict(COUPONS)
    expect_issued = {c: 0 for c, _ in COUPONS}
    for coupon, n in ISSUES.items():
        statuses = []
        for i in range(n):
            body = json.dumps({"userId": f"user-{coupon}-{i}"}).encode()
            status, answer = http(f"{base}/api/coupons/{coupon}/issue?wait=10000", data=body,
                                  timeout=remaining(15))
            check(status == 200, f"POST /api/coupons/{coupon}/issue (user {i}) is decided within the wait",
                  f"{status} {answer[:200]}")
            result = json.loads(answer)
            statuses.append(result.get("status") if result.get("status") == "ACCEPTED" else result.get("reason"))
        accepted = min(n, capacities[coupon])
        expect_issued[coupon] = accepted
        want = ["ACCEPTED"] * accepted + ["SOLD_OUT"] * (n - accepted)
        check(statuses == want, f"{coupon}: {n} requests -> {accepted} ACCEPTED, {n - accepted} SOLD_OUT", statuses)

    def api_view():
        view = {}
        for c, _ in COUPONS:
            d = get_json(f"{base}/api/coupons/{c}", "a coupon")
            view[c] = {k: d.get(k) for k in ("capacity", "issued", "remaining")}
        return view

    want_view = {c: {"capacity": cap, "issued": expect_issued[c], "remaining": cap - expect_issued[c]}
                 for c, cap in COUPONS}
    deadline = time.monotonic() + remaining(15)
    before = api_view()
    while before != want_view and time.monotonic() < deadline:
        time.sleep(0.3)
        before = api_view()
    check(before == want_view, "GET /api/coupons/{id} counts the issues", f"{before} != {want_view}")

    # ------------------------------------------------------------ the page in Chromium
    status, page = http(f"{base}/")
    check(status == 200 and "<tbody id=\"rows\">" in page, "GET / serves the live page", f"{status} {page[:100]}")

    dom, _ = chromium(["--virtual-time-budget=5000", "--dump-dom", f"{base}/"], work, "dom")
    with open(os.path.join(work, "dom.html"), "w") as f:
        f.write(dom)
    after = api_view()
    check(after == before, "the API's numbers did not change while Chromium rendered", f"{before} -> {after}")

    parser = PageParser()
    parser.feed(dom)
    refreshed = parser.body.get("data-refreshed", "")
    check(refreshed.isdigit() and int(refreshed) >= 1, f"the page refreshed (body data-refreshed={refreshed!r})",
          f"updated: {parser.by_id.get('updated')!r}")
    check(sorted(parser.rows) == sorted(c for c, _ in COUPONS)
          and all(len(rows) == 1 for rows in parser.rows.values()),
          "the page has one row per coupon", {c: len(r) for c, r in parser.rows.items()})
    check(list(parser.rows) == [c for c, _ in COUPONS], "the rows are in natural order (lp-5 before lp-10)",
          list(parser.rows))
    for coupon, _ in COUPONS:
        row = parser.rows[coupon][0]
        shown = {k: row["cells"].get(k) for k in ("capacity", "issued", "remaining")}
        want = {k: str(v) for k, v in after[coupon].items()}
        check(shown == want, f"{coupon}: the row shows capacity/issued/remaining as the API "
              f"({want['capacity']}/{want['issued']}/{want['remaining']})", f"{shown} (row class {row['class']!r})")
        m = re.search(r"width:\s*([0-9.]+)%", row["bar"] or "")
        width = 100 * after[coupon]["issued"] / after[coupon]["capacity"]
        check(m is not None and abs(float(m.group(1)) - width) < 0.01,
              f"{coupon}: the bar is {width:g}% wide", row["bar"])
        soldout = after[coupon]["remaining"] == 0
        check(("soldout" in row["class"].split()) == soldout,
              f"{coupon}: the row is {'' if soldout else 'not '}marked sold out", repr(row["class"]))
    totals = {k: str(sum(v[k] for v in after.values())) for k in ("capacity", "issued", "remaining")}
    shown = {k: parser.by_id.get(f"t-{k}") for k in totals}
    check(shown == totals, "the totals row adds up", f"{shown} != {totals}")
    check(parser.by_id.get("updated", "").startswith(f"{len(COUPONS)} coupons, updated"),
          "the page says when it updated", repr(parser.by_id.get("updated")))

    # ------------------------------------------------------------ screenshot
    png = os.path.join(work, "api_live_page.png")
    chromium([f"--screenshot={png}", "--window-size=1000,420", "--hide-scrollbars", "--virtual-time-budget=5000",
              f"{base}/"], work, "screenshot")
    size = os.path.getsize(png) if os.path.exists(png) else 0
    with open(png, "rb") if size else open(os.devnull, "rb") as f:
        magic = f.read(8)
    check(magic == b"\x89PNG\r\n\x1a\n" and size > 5 * 1024, f"the screenshot is a PNG of more than 5 KB ({size} B)")
    if os.environ.get("UPDATE_SCREENSHOT") == "1":
        dest = os.path.join(root, SCREENSHOT)
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        shutil.copyfile(png, dest)
        log(f"      wrote {dest}")

    for name in ("api", "process"):
        rc = procs.stop(name, timeout=20)
        check(rc == 0, f"{name} exits 0 on SIGTERM", f"{rc}\n{procs.tail(name, 5)}")
    return True


if __name__ == "__main__":
    sys.exit(main())
