"""Processes a Python test starts, each stopped by PID (SIGTERM, then SIGKILL) whatever
happens to the test, and free loopback ports for them. Used by tests/prometheus_e2e.py,
tests/kafka_python_interop.py and tests/api_live_page.py; also their checks and time budget."""

import os
import signal
import socket
import subprocess
import time


def log(msg):
    print(msg, flush=True)


class TestFailure(Exception):
    """A check failed: the test stops and reports this."""


class Checks:
    """A test's checks, one "ok" line each, and its time budget."""

    def __init__(self, budget_seconds):
        self.deadline = time.monotonic() + budget_seconds
        self.passed = 0

    def check(self, ok, what, detail=""):
        if not ok:
            raise TestFailure(f"{what}{': ' + str(detail) if detail != '' else ''}")
        self.passed += 1
        log(f"ok    {what}")

    def remaining(self, limit):
        """Seconds to wait for one step: at most `limit`, never past the test's deadline."""
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TestFailure("the test ran out of its time budget")
        return min(limit, left)


def free_ports(n):
    socks, ports = [], []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
        ports.append(s.getsockname()[1])
    for s in socks:
        s.close()
    return ports


def _die_with_parent():
    """In the child: get SIGTERM if this test dies, even by SIGKILL (Linux prctl)."""
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


class Procs:
    """Processes this test started, stopped by PID."""

    def __init__(self, workdir):
        self.workdir = workdir
        self.procs = []  # (name, Popen)

    def start(self, name, argv, stdin=None):
        out = open(os.path.join(self.workdir, f"{name}.out"), "w")
        err = open(os.path.join(self.workdir, f"{name}.err"), "w")
        p = subprocess.Popen(argv, stdout=out, stderr=err, stdin=stdin or subprocess.DEVNULL,
                             preexec_fn=_die_with_parent)
        self.procs.append((name, p))
        log(f"started {name} (pid {p.pid}): {' '.join(argv)}")
        return p

    def stop(self, name, timeout=15):
        """SIGTERM, then SIGKILL after `timeout`; returns the exit code."""
        for n, p in self.procs:
            if n == name:
                if p.poll() is None:
                    p.send_signal(signal.SIGTERM)
                    try:
                        p.wait(timeout)
                    except subprocess.TimeoutExpired:
                        log(f"{name} (pid {p.pid}) ignored SIGTERM for {timeout} s: SIGKILL")
                        p.kill()
                        p.wait(5)
                return p.returncode
        return None

    def stop_all(self):
        for name, _ in reversed(self.procs):
            try:
                self.stop(name, timeout=10)
            except Exception as e:  # keep stopping the others
                log(f"could not stop {name}: {e}")

    def tail(self, name, n=15):
        lines = []
        for ext in ("err", "out"):
            path = os.path.join(self.workdir, f"{name}.{ext}")
            if os.path.exists(path):
                with open(path, errors="replace") as f:
                    lines += [f"  {name}.{ext}: {line.rstrip()}" for line in f.readlines()[-n:]]
        return "\n".join(lines)

    def alive(self, name):
        return any(n == name and p.poll() is None for n, p in self.procs)
