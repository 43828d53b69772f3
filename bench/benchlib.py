"""Processes, servers and load runs for bench/run.py.

Every child is started through Run, ended by its PID with a bounded wait,
and logs into Run's temporary folder, which is removed at the end."""
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

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
CORPUS = os.path.join(ROOT, "test-vectors", "corpus")
RAW = np.dtype([("pair", "<u4"), ("rel", "<u4"), ("sent", "<i8"), ("lat", "<i8")])
NGINX_MODULES = ["/usr/lib/nginx/modules/ngx_rtmp_module.so",
                 "/usr/share/nginx/modules/ngx_rtmp_module.so"]
NGINX_CONF = """\
# written by bench/run.py
load_module {module};
daemon off;
master_process off;
worker_processes 1;
worker_rlimit_nofile {nofile};
pid {tmp}/nginx.pid;
error_log {tmp}/nginx-error.log warn;
events {{
    worker_connections {conns};
}}
rtmp {{
    server {{
        listen 127.0.0.1:{port};
        chunk_size 4096;
        application xmpp {{
            live on;
        }}
    }}
}}
"""


def log(msg):
    print("[bench] " + msg, flush=True)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class BenchError(Exception):
    pass


class Run:
    """The processes and the temporary folder of one bench run."""

    def __init__(self, keep=False):
        self.tmp = tempfile.mkdtemp(prefix="rx-bench-")
        self.procs = []
        self.keep = keep

    def path(self, name):
        return os.path.join(self.tmp, name)

    def start(self, argv, name, stdout=None):
        out = open(self.path(name + ".log"), "ab")
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=stdout or out, stderr=out)
        out.close()
        p.name = name
        p.logname = self.path(name + ".log")
        self.procs.append(p)
        return p

    def stop(self, p, sig=signal.SIGTERM, timeout=10):
        """End one child by PID: sig, a bounded wait, then SIGKILL."""
        if p.poll() is None:
            try:
                os.kill(p.pid, sig)
                p.wait(timeout)
            except subprocess.TimeoutExpired:
                os.kill(p.pid, signal.SIGKILL)
                p.wait(5)
            except ProcessLookupError:
                pass
        if p in self.procs:
            self.procs.remove(p)
        return p.returncode

    def close(self):
        for p in list(self.procs):
            self.stop(p, timeout=5)
        if self.keep:
            log("kept " + self.tmp)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def tail(self, p, n=20):
        try:
            with open(p.logname, "rb") as f:
                lines = f.read().decode(errors="replace").splitlines()
        except OSError:
            return []
        return lines[-n:]


def wait_listening(port, proc, timeout=10):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            return False
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


def tool_version(argv):
    try:
        r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=10)
        return r.stdout.decode(errors="replace").splitlines()[0].strip()
    except (OSError, subprocess.TimeoutExpired, IndexError):
        return None


# ---- the servers ----------------------------------------------------------
class Server:
    """One relay under test: our gateway, nginx-rtmp, or the floor."""

    def __init__(self, run, key, label):
        self.run, self.key, self.label = run, key, label
        self.logname = key   # the log file in Run's folder
        self.proc, self.port, self.argv, self.crashes = None, None, None, []

    @property
    def pid(self):
        return self.proc.pid

    @property
    def url(self):
        return "rtmp://127.0.0.1:%d/xmpp" % self.port

    def argv_for(self, port):
        raise NotImplementedError

    def start(self):
        self.port = free_port()
        self.argv = self.argv_for(self.port)
        self.proc = self.run.start(self.argv, self.logname)
        if not wait_listening(self.port, self.proc):
            tail = "\n".join(self.run.tail(self.proc))
            self.run.stop(self.proc)
            raise BenchError("%s did not start listening:\n%s" % (self.label, tail))
        time.sleep(0.2)   # let workers (ours) come up before we measure

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def check(self, what):
        """After a run: if the server died, keep the evidence and restart it."""
        if self.alive():
            return True
        ev = {"during": what, "returncode": self.proc.returncode,
              "log_tail": self.run.tail(self.proc, 40)}
        self.crashes.append(ev)
        log("%s EXITED during %s (rc %s); restarting. Log tail:\n  %s"
            % (self.label, what, self.proc.returncode, "\n  ".join(ev["log_tail"][-10:])))
        self.start()
        return False

    def stop(self):
        if self.proc is not None:
            self.run.stop(self.proc)

    def warnings(self):
        """Log lines at warn or error level (all of them, across restarts)."""
        lines = [l for l in self.run.tail(self.proc, 1000000)
                 if re.search(r"\b(warn|error|WARN|ERROR)\b", l)]
        return len(lines), lines[:10]


class Ours(Server):
    def __init__(self, run, build, extra=()):
        super().__init__(run, "ours", "rtmp2xmpp")
        self.binary = os.path.join(build, "gateway", "rtmp2xmpp")
        self.extra = list(extra)
        if not os.access(self.binary, os.X_OK):
            raise BenchError("no gateway at %s (build first: scripts/build.sh)" % self.binary)

    def argv_for(self, port):
        return [self.binary, "--listen", "127.0.0.1:%d" % port, "--log-level", "warn",
                "--max-connections", "100000"] + self.extra

    def version(self):
        return tool_version([self.binary, "--version"])


class Nginx(Server):
    def __init__(self, run):
        super().__init__(run, "nginx", "nginx-rtmp")
        self.binary = shutil.which("nginx") or "/usr/sbin/nginx"
        self.module = next((m for m in NGINX_MODULES if os.path.isfile(m)), None)
        if not os.access(self.binary, os.X_OK) or not self.module:
            raise BenchError("nginx with libnginx-mod-rtmp is not installed "
                             "(apt-get install nginx libnginx-mod-rtmp)")
        self.conf = None

    def argv_for(self, port):
        d = self.run.path("nginx-%d" % port)
        os.makedirs(d, exist_ok=True)
        self.conf = NGINX_CONF.format(module=self.module, tmp=d, port=port, nofile=20000,
                                      conns=16384)
        path = os.path.join(d, "nginx.conf")
        with open(path, "w") as f:
            f.write(self.conf)
        return [self.binary, "-p", d + "/", "-e", os.path.join(d, "nginx-error.log"), "-c", path]

    def version(self):
        return tool_version([self.binary, "-v"])


class Floor(Server):
    """TCP -> UDP -> TCP; with direct, TCP -> TCP (path (a)'s own floor)."""

    def __init__(self, run, build, direct=False):
        super().__init__(run, "floor_tcp" if direct else "floor",
                         "floor-tcp" if direct else "floor")
        self.binary = os.path.join(build, "bench", "floor")
        self.direct = direct
        if not os.access(self.binary, os.X_OK):
            raise BenchError("no floor at %s (it is built with the project)" % self.binary)

    def argv_for(self, port):
        return [self.binary, "--listen", "127.0.0.1:%d" % port] + (["--direct"] if self.direct
                                                                    else [])

    def version(self):
        return "bench/floor.c"


class OursCall(Ours):
    """Our gateway for voice calls (paths (b) and (c)): a private prosody on
    127.0.0.1 (tests/integration/xmpp_server.py, with websocket for the
    StanzaJS peer of path (c)), accounts u0, u1, ... sharing one password,
    and a gateway that trusts prosody's certificate and keeps ICE on
    127.0.0.1.  Its own process tree is what rtmpload measures; prosody is
    idle while frames flow (the media goes gateway to gateway, or gateway to
    peer, over UDP)."""

    PASSWORD = "bench-call-pw"

    def __init__(self, run, build, extra=()):
        super().__init__(run, build, extra)
        self.logname = "ours-call"
        self.xmpp = None
        self.accounts = 0
        self.runs = 0

    def start_xmpp(self):
        if self.xmpp is not None and self.xmpp.alive():
            return
        if self.xmpp is not None:
            self.xmpp.close()
        sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
        import xmpp_server   # noqa: E402  (tests/integration/)
        try:
            # 4096 SCRAM iterations, as test_xmpp_scale.py: logins are not what we measure
            self.xmpp = xmpp_server.Prosody(log_level="warn", iterations=4096, websocket=True)
        except xmpp_server.ProsodyError as e:
            raise BenchError("prosody did not start: %s" % e)
        self.accounts = 0

    def ensure_accounts(self, n):
        """u0 .. u(n-1) exist (the files are written directly; one PBKDF2)."""
        if n > self.accounts:
            self.xmpp.register_many([("u%d" % i, self.PASSWORD)
                                     for i in range(self.accounts, n)])
            self.accounts = n

    def start(self):
        self.start_xmpp()
        super().start()

    def argv_for(self, port):
        return super().argv_for(port) + ["--xmpp-cafile", self.xmpp.ca_file,
                                         "--media-addresses", "127.0.0.1"]

    def check(self, what):
        if self.xmpp is not None and not self.xmpp.alive():
            self.crashes.append({"during": what, "returncode": None,
                                 "log_tail": ["prosody exited"]})
            log("prosody EXITED during %s; restarting it and the gateway" % what)
            self.stop()
            self.start()
            return False
        return super().check(what)

    def account(self, user):
        """One more account (path (c)'s peer), with the same password."""
        self.xmpp.register_many([(user, self.PASSWORD)])
        return "%s@%s" % (user, self.xmpp.domain)

    def call_args(self, calls):
        """rtmpload's flags for `calls` calls (accounts u0 .. u<2 calls - 1>),
        with a resource new to this run, so that no session of an earlier
        run is still being replaced."""
        self.runs += 1
        self.ensure_accounts(2 * calls)
        jid = "u%%d@%s/b%d" % (self.xmpp.domain, self.runs)
        return ["--call", jid, "--call-password", self.PASSWORD,
                "--call-server", "127.0.0.1:%d" % self.xmpp.port,
                "--setup-timeout", "%g" % (20 + calls / 5.0), "--setup-par", "32"]

    def stop(self):
        super().stop()
        if self.xmpp is not None:
            self.xmpp.close()
            self.xmpp = None


# ---- /proc --------------------------------------------------------------
def proc_tree(pid):
    """PIDs of pid and its descendants."""
    parent = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                s = f.read()
            parent[int(d)] = int(s[s.rindex(")") + 2:].split()[1])
        except (OSError, ValueError, IndexError):
            pass
    tree, grew = {pid}, True
    while grew:
        grew = False
        for p, pp in parent.items():
            if pp in tree and p not in tree:
                tree.add(p)
                grew = True
    return sorted(tree)


def tree_rss_kb(pid):
    total = 0
    for p in proc_tree(pid):
        try:
            with open("/proc/%d/status" % p) as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total


def loadavg():
    with open("/proc/loadavg") as f:
        return [float(x) for x in f.read().split()[:3]]


# ---- rtmpload ------------------------------------------------------------
class Load:
    """Runs rtmpload (built with the project) and reads what it wrote."""

    def __init__(self, run, build):
        self.run = run
        self.binary = os.path.join(build, "bench", "rtmpload")
        if not os.access(self.binary, os.X_OK):
            raise BenchError("no rtmpload at %s (it is built with the project)" % self.binary)
        self.n = 0

    def argv(self, server, flv, pairs, duration, prefix="echo/p", extra=(), raw=None):
        a = [self.binary, "--url", server.url, "--flv", flv, "--pairs", str(pairs),
             "--duration", "%g" % duration, "--prefix", prefix, "--server-pid", str(server.pid)]
        if raw:
            a += ["--raw", raw]
        return a + list(extra)

    def start(self, server, flv, pairs, duration, prefix="echo/p", extra=(), raw=True,
              timeout=None):
        """Start rtmpload in the background; finish() collects it."""
        self.n += 1
        rawp = self.run.path("raw-%d.bin" % self.n) if raw else None
        out = self.run.path("load-%d.json" % self.n)
        with open(out, "wb") as f:
            p = self.run.start(self.argv(server, flv, pairs, duration, prefix, extra, rawp),
                               "load-%d" % self.n, stdout=f)
        p.out, p.raw = out, rawp
        p.timeout = timeout or duration + 60 + pairs / 20.0
        p.t0 = time.monotonic()
        return p

    def finish(self, p):
        """(report, latencies in ms of the frames received) of a run."""
        res, recs = self.collect(p)
        lat = np.zeros(0)
        if recs is not None:
            lat = recs["lat"][recs["lat"] >= 0] / 1e6   # ms
        return res, lat

    def collect(self, p):
        """(report, the --raw records as a RAW array or None) of a run."""
        try:
            p.wait(max(1, p.timeout - (time.monotonic() - p.t0)))
        except subprocess.TimeoutExpired:
            self.run.stop(p, signal.SIGKILL)
            raise BenchError("rtmpload did not finish in %.0f s" % p.timeout)
        if p in self.run.procs:
            self.run.procs.remove(p)
        try:
            with open(p.out) as f:
                res = json.load(f)
        except (OSError, ValueError):
            raise BenchError("rtmpload failed (rc %s): %s"
                             % (p.returncode, "\n".join(self.run.tail(p))))
        res["rc"] = p.returncode
        recs = None
        if p.raw and os.path.exists(p.raw):
            recs = np.fromfile(p.raw, dtype=RAW)
            os.remove(p.raw)
        os.remove(p.out)
        return res, recs

    def once(self, server, flv, pairs, duration, **kw):
        return self.finish(self.start(server, flv, pairs, duration, **kw))


def nearest_rank(sorted_ms, q):
    n = len(sorted_ms)
    if not n:
        return None
    i = int(np.ceil(q * n)) - 1
    return float(sorted_ms[max(0, min(n - 1, i))])


PCTS = [("p50", 0.5), ("p90", 0.9), ("p99", 0.99), ("p99_9", 0.999), ("max", 1.0)]


def percentiles(lat_ms):
    s = np.sort(lat_ms)
    return {k: nearest_rank(s, q) for k, q in PCTS}


def cdf_points(lat_ms, n=200):
    """(latency ms, fraction <= it) at n quantiles spread on a log scale of
    the tail, so that the plot shows p99.9 as clearly as p50."""
    s = np.sort(lat_ms)
    if not len(s):
        return []
    tail = np.unique(np.concatenate([np.linspace(0, 0.9, n // 2),
                                     1 - np.logspace(-1, np.log10(1.0 / len(s)), n // 2)]))
    out = []
    for q in tail:
        i = min(len(s) - 1, max(0, int(np.ceil(q * len(s))) - 1))
        out.append([round(float(s[i]), 5), round(float(q), 6)])
    out.append([round(float(s[-1]), 5), 1.0])
    return out
