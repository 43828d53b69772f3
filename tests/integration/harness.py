"""Test harness: starts the real gateway and real clients (FFmpeg,
rtmpdump) as processes, ends each one by PID, and cleans up its temporary
folder.  Every wait is bounded."""
import argparse
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
VECTORS = os.path.join(ROOT, "test-vectors")


def args(extra=None):
    p = argparse.ArgumentParser()
    p.add_argument("--gateway", required=True, help="path to the rtmp2xmpp binary")
    for a, kw in (extra or []):
        p.add_argument(a, **kw)
    return p.parse_args()


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def fail(msg):
    print("FAIL: " + msg, flush=True)
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)
    print("ok: " + msg, flush=True)


class Procs:
    """Processes and the temporary folder of one test; ends them all."""

    def __init__(self, name):
        self.dir = tempfile.mkdtemp(prefix="rx-%s-" % name)
        self.procs = []

    def path(self, name):
        return os.path.join(self.dir, name)

    def start(self, argv, name, **kw):
        out = open(self.path(name + ".log"), "wb")
        p = subprocess.Popen(argv, stdout=kw.pop("stdout", out), stderr=out,
                             stdin=subprocess.DEVNULL, **kw)
        p.logname = self.path(name + ".log")
        self.procs.append(p)
        return p

    def log(self, p):
        with open(p.logname, "rb") as f:
            return f.read().decode(errors="replace")

    def end(self, p, sig=signal.SIGTERM, timeout=10):
        if p.poll() is None:
            p.send_signal(sig)
            try:
                p.wait(timeout)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(5)
        return p.returncode

    def close(self, keep=False):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait(5)
        if keep:
            print("kept " + self.dir)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close(keep=exc[0] is not None and os.environ.get("RX_KEEP"))


class Gateway:
    def __init__(self, procs, binary, extra=(), level="info"):
        self.port = free_port()
        self.procs = procs
        argv = [binary, "--listen", "127.0.0.1:%d" % self.port]
        if level:
            argv += ["--log-level", level]
        argv += list(extra)
        self.p = procs.start(argv, "gateway")
        end = time.time() + 10
        while time.time() < end:
            if self.p.poll() is not None:
                fail("gateway exited at start:\n" + self.log())
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        fail("gateway did not listen within 10 s")

    def url(self, stream="", app="xmpp"):
        return "rtmp://127.0.0.1:%d/%s/%s" % (self.port, app, stream)

    def log(self):
        return self.procs.log(self.p)

    def alive(self):
        return self.p.poll() is None

    def stop(self):
        return self.procs.end(self.p)


@contextlib.contextmanager
def gateway_tail_on_failure(gw, lines=60):
    """On any failure inside: print the gateway log's last lines, stop the
    gateway, and let the failure go on."""
    try:
        yield
    except BaseException:
        print("--- gateway log tail ---\n" + "\n".join(gw.log().splitlines()[-lines:]))
        if gw.alive():
            gw.stop()
        raise


def run(argv, timeout, **kw):
    return subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, timeout=timeout, **kw)


def decode_wav(src, dst):
    # libspeex, not FFmpeg 5.1's native decoder, which decodes only the first
    # frame of a packet holding several (fpp > 1).
    r = run(["ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-c:a", "libspeex", "-i", src,
             "-ar", "16000",
             "-ac", "1", "-c:a", "pcm_s16le", dst], 60)
    if r.returncode:
        fail("ffmpeg could not decode %s: %s" % (src, r.stdout.decode(errors="replace")))


def flv_audio_tags(path):
    """How many audio tags (type 8) an FLV file holds."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:3] != b"FLV":
        fail("%s is not an FLV file" % path)
    pos, n = int.from_bytes(data[5:9], "big") + 4, 0
    while pos + 11 <= len(data):
        size = int.from_bytes(data[pos + 1:pos + 4], "big")
        n += data[pos] & 0x1f == 8
        pos += 11 + size + 4
    return n


def audiocmp(ref, got, min_corr, max_dur_diff=0.05):
    r = run(["/usr/bin/python3", os.path.join(HERE, "audiocmp.py"), ref, got,
             "--min-corr", str(min_corr), "--max-dur-diff", str(max_dur_diff)], 60)
    out = r.stdout.decode(errors="replace").strip()
    print("audiocmp: " + out, flush=True)
    return r.returncode == 0
