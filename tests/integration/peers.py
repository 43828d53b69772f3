"""Python side of the test peers in tests/peers/: the JavaScript ones and
engine_peer, one call of our C media engine.

    with WeriftPeer(pt=97, send=frames_file, recv=out_file) as a:
        local = a.expect("local")               # our ICE/DTLS parameters
        a.send(dict(remote_params, cmd="remote"))
        a.expect("connected", 15)
        ...
        a.stop()                                # {"cmd":"stop"} -> "done" event

    with StanzaPeer(ws_url, "alice@localhost/a", "pw", send=..., recv=...) as s:
        s.expect("online")
        s.send({"cmd": "call", "to": "bob@localhost/b"})

    with EnginePeer(engine_peer_path, send=..., recv=...) as e:
        local = e.local()                       # the shape of werift's "local"
        e.remote(werift_local, setup="passive") # remote-* lines, our DTLS role
        e.expect("media", 15)
        stats, done = e.stop()

Each peer is one process with a line protocol: commands on its stdin,
events on its stdout (tests/peers/*.mjs and engine_peer.c document them;
the node peers speak JSON, engine_peer words).  Its stderr is kept
(the last lines are quoted in every error) and, with log=PATH, also written
to a file.  expect() keeps the events it skipped, so a later expect() for an
earlier event still finds it.  close() ends the process by PID (SIGTERM,
wait, SIGKILL) and is idempotent; the context manager calls it.

Frames files (every peer's --send and --recv) are repeated
{u16 big-endian length, that many bytes}: write_frames() / read_frames();
wait_frames() polls a --recv file until it holds n frames.
speex_frames_from_spxv() gives the reference frames of a test vector
(test-vectors/speex/README.md), speex_test_frames() two streams of them.
"""
import collections
import json
import os
import queue
import shutil
import struct
import subprocess
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
PEERS_DIR = os.path.join(ROOT, "tests", "peers")
NODE = shutil.which("node") or "/usr/bin/node"


class PeerError(Exception):
    pass


def ensure_installed(timeout=300):
    """Run tests/peers/install.sh (npm ci; a no-op when up to date)."""
    r = subprocess.run(["bash", os.path.join(PEERS_DIR, "install.sh")], stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout)
    if r.returncode:
        raise PeerError("tests/peers/install.sh failed:\n" + r.stdout.decode(errors="replace")[-3000:])


def write_frames(path, frames):
    with open(path, "wb") as f:
        for fr in frames:
            if len(fr) > 0xFFFF:
                raise ValueError("frame too long")
            f.write(struct.pack(">H", len(fr)) + bytes(fr))


def read_frames(path):
    with open(path, "rb") as f:
        data = f.read()
    frames, off = [], 0
    while off + 2 <= len(data):
        (n,) = struct.unpack_from(">H", data, off)
        if off + 2 + n > len(data):
            raise ValueError("%s: truncated frame at offset %d" % (path, off))
        frames.append(data[off + 2:off + 2 + n])
        off += 2 + n
    if off != len(data):
        raise ValueError("%s: %d stray bytes at the end" % (path, len(data) - off))
    return frames


def options(**opts):
    """["--name", value, ...] for each option that is not None or empty;
    underscores in names become dashes."""
    return [x for k, v in opts.items() if v not in (None, "")
            for x in ("--" + k.replace("_", "-"), v)]


def wait_frames(path, n, timeout=5):
    """The frames of `path` once it holds n of them (or at the timeout)."""
    end = time.monotonic() + timeout
    while True:
        frames = read_frames(path) if os.path.exists(path) else []
        if len(frames) >= n or time.monotonic() > end:
            return frames
        time.sleep(0.1)


def speex_frames_from_spxv(path):
    """The reference frames of a .spxv file: "SPXV" u8 version u8 quality
    u8 flags u8 frames, then frames x {u8 len, len bytes}."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:4] != b"SPXV" or data[4] != 1:
        raise ValueError("%s: not a version 1 .spxv file" % path)
    count, off, frames = data[7], 8, []
    for _ in range(count):
        n = data[off]
        frames.append(data[off + 1:off + 1 + n])
        off += 1 + n
    return frames


def speex_test_frames(n, vector="wb-q8.spxv"):
    """Two different streams of n frames for the two directions of a call:
    the vector's reference frames looped, and the same reversed."""
    ref = speex_frames_from_spxv(os.path.join(ROOT, "test-vectors", "speex", vector))
    loops = n // len(ref) + 1
    return (ref * loops)[:n], (ref[::-1] * loops)[:n]


class LinePeer:
    """One process with a line protocol: commands on stdin, one event a line
    on stdout, parsed by parse() into a dict with "ev".  See the module
    docstring."""

    def __init__(self, argv, name, cwd=None, log=None, env=None):
        self.name = name
        self.events = queue.Queue()      # dicts, or None at EOF
        self.backlog = []                # events read but not yet expected
        self.history = []                # every event, in order
        self.stderr_tail = collections.deque(maxlen=80)
        self._log = open(log, "ab") if log else None
        self._closed = False
        self.proc = subprocess.Popen([str(a) for a in argv], cwd=cwd, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     bufsize=1, text=True, errors="replace",
                                     env=dict(os.environ, **(env or {})))
        self.pid = self.proc.pid
        self._threads = [threading.Thread(target=self._read_stdout, daemon=True),
                         threading.Thread(target=self._read_stderr, daemon=True)]
        for t in self._threads:
            t.start()

    # ----- reader threads -----

    def _read_stdout(self):
        for line in self.proc.stdout:
            line = line.strip()
            if not line:
                continue
            try:
                ev = self.parse(line)
            except ValueError:
                self.stderr_tail.append("(bad stdout line) " + line)
                continue
            self.events.put(ev)
        self.events.put(None)

    def _read_stderr(self):
        for line in self.proc.stderr:
            self.stderr_tail.append(line.rstrip("\n"))
            if self._log:
                try:
                    self._log.write(line.encode())
                    self._log.flush()
                except ValueError:      # closed
                    pass

    # ----- protocol -----

    @staticmethod
    def parse(line):
        """One stdout line -> an event dict; ValueError when malformed."""
        raise NotImplementedError

    def tail(self, n=40):
        return "\n".join(list(self.stderr_tail)[-n:])

    def _fail(self, msg):
        raise PeerError("%s (pid %d): %s\n--- stderr tail ---\n%s"
                        % (self.name, self.pid, msg, self.tail()))

    def send_line(self, line):
        try:
            self.proc.stdin.write(line + "\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, ValueError, OSError) as e:
            self._fail("cannot send %r: %s" % (line, e))

    def expect(self, ev, timeout=10, **match):
        """The first event named `ev` (whose fields equal `match`), from the
        backlog or read within `timeout` s.  An "error" event, the end of
        the process or the timeout raises PeerError."""
        def ok(e):
            return e.get("ev") == ev and all(e.get(k) == v for k, v in match.items())
        for i, e in enumerate(self.backlog):
            if ok(e):
                return self.backlog.pop(i)
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                self._fail("timeout (%.1f s) waiting for %r %s; events so far: %s"
                           % (timeout, ev, match or "", self.history[-10:]))
            try:
                e = self.events.get(timeout=left)
            except queue.Empty:
                continue
            if e is None:
                self.events.put(None)        # stay at EOF for later calls
                rc = self.proc.wait(timeout=5)
                self._fail("process ended (status %s) while waiting for %r; events: %s"
                           % (rc, ev, self.history[-10:]))
            self.history.append(e)
            if ok(e):
                return e
            if e.get("ev") == "error" and ev != "error":
                self._fail("error event while waiting for %r: %s" % (ev, e))
            self.backlog.append(e)

    def pending(self):
        """The events read so far that no expect() took, without waiting."""
        while True:
            try:
                e = self.events.get_nowait()
            except queue.Empty:
                break
            if e is None:
                self.events.put(None)
                break
            self.history.append(e)
            self.backlog.append(e)
        return list(self.backlog)

    def wait_exit(self, timeout=10):
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self._fail("did not exit within %s s" % timeout)

    def close(self):
        """End the process by PID: SIGTERM, wait, SIGKILL.  Idempotent."""
        if self._closed:
            return
        self._closed = True
        if self.proc.poll() is None:
            try:
                self.proc.terminate()
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        for f in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            try:
                f.close()
            except (OSError, ValueError):
                pass
        for t in self._threads:
            t.join(timeout=2)
        if self._log:
            self._log.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class NodePeer(LinePeer):
    """One node script of tests/peers/ with a JSON-lines protocol."""

    SCRIPT = None

    def __init__(self, args, name=None, log=None, env=None):
        super().__init__([NODE, os.path.join(PEERS_DIR, self.SCRIPT)] + list(args),
                         name or self.SCRIPT, cwd=PEERS_DIR, log=log, env=env)

    @staticmethod
    def parse(line):
        return json.loads(line)

    def send(self, obj):
        self.send_line(json.dumps(obj))


class WeriftPeer(NodePeer):
    """tests/peers/werift_peer.mjs: a raw ICE + DTLS-SRTP speex/16000 endpoint."""

    SCRIPT = "werift_peer.mjs"

    def __init__(self, pt=97, send=None, recv=None, setup=None, controlling=None,
                 extra=(), **kw):
        args = options(pt=pt, send=send, recv=recv, setup=setup)
        if controlling is True:
            args.append("--controlling")
        elif controlling is False:
            args.append("--controlled")
        super().__init__(args + list(extra), **kw)

    def remote(self, local_event, setup=None):
        """Send the other side's "local" event as our "remote" command."""
        cmd = {k: v for k, v in local_event.items() if k != "ev"}
        cmd["cmd"] = "remote"
        if setup:
            cmd["setup"] = setup
        self.send(cmd)

    def stop(self, timeout=10):
        """{"cmd":"stop"} -> the "done" event; waits for exit 0."""
        self.send({"cmd": "stop"})
        done = self.expect("done", timeout)
        rc = self.wait_exit(timeout)
        if rc != 0:
            self._fail("exit status %d after stop" % rc)
        return done


class StanzaPeer(NodePeer):
    """tests/peers/stanza_peer.mjs: a StanzaJS Jingle client with werift media."""

    SCRIPT = "stanza_peer.mjs"

    def __init__(self, ws, jid, password, send=None, recv=None, codecs=None, extra=(), **kw):
        args = options(ws=ws, jid=jid, password=password, send=send, recv=recv, codecs=codecs)
        kw.setdefault("name", "stanza_peer[%s]" % jid)
        super().__init__(args + list(extra), **kw)

    def quit(self, timeout=10):
        self.send({"cmd": "quit"})
        rc = self.wait_exit(timeout)
        if rc != 0:
            self._fail("exit status %d after quit" % rc)


class EnginePeer(LinePeer):
    """tests/peers/engine_peer (C, built by CMake): one call of our media
    engine, host candidates on 127.0.0.1, rtcp-mux, DTLS-SRTP.  Its words
    become events: "cand f 1 udp p ip port host" -> {"ev": "cand",
    "foundation", "component", "protocol", "priority", "ip", "port", "type"}
    (werift_peer's candidate keys), "stats k=v ..." and "done k=v ..." ->
    integers by key, "failed" / "security-error" / "error" WHY -> "what"."""

    FIELDS = {"local": ("ufrag", "pwd"), "fp": ("hash", "value"), "sent": ("frames",),
              "cand": ("foundation", "component", "protocol", "priority", "ip", "port", "type")}
    INTS = ("frames", "component", "priority", "port", "rport")
    TEXT = ("failed", "security-error", "error")

    def __init__(self, binary, pt=97, send=None, recv=None, controlling=False, timeout=None,
                 extra=(), name="engine_peer", **kw):
        args = [binary, "--controlling" if controlling else "--controlled"]
        args += options(pt=pt, send=send, recv=recv, timeout=timeout)
        super().__init__(args + list(extra), name, **kw)

    @classmethod
    def parse(cls, line):
        word, _, rest = line.partition(" ")
        ev = {"ev": word}
        if word in cls.TEXT:
            ev["what"] = rest
        elif word in ("stats", "done"):
            for kv in rest.split():
                k, v = kv.split("=")
                ev[k] = int(v)
        elif word in cls.FIELDS:
            names, vals = cls.FIELDS[word], rest.split()
            if len(vals) < len(names) or (len(vals) - len(names)) % 2:
                raise ValueError(line)
            ev.update(zip(names, vals))
            ev.update(zip(vals[len(names)::2], vals[len(names) + 1::2]))   # raddr, rport
            for k in cls.INTS:
                if k in ev:
                    ev[k] = int(ev[k])
        elif rest:
            raise ValueError(line)
        return ev

    def local(self, timeout=15):
        """Our ICE/DTLS parameters once gathering is done, shaped as
        werift_peer's "local" event (without "setup")."""
        lo, fp = self.expect("local", timeout), self.expect("fp", timeout)
        self.expect("gathered", timeout)
        cands = [{k: v for k, v in e.items() if k != "ev"}
                 for e in self.history if e["ev"] == "cand"]
        return {"ufrag": lo["ufrag"], "pwd": lo["pwd"], "candidates": cands,
                "fingerprint": {"hash": fp["hash"], "value": fp["value"]}}

    def remote(self, local_event, setup):
        """The other side's parameters (werift_peer's "local" shape) as
        remote-* lines; setup is OUR DTLS role, active or passive."""
        r = local_event
        self.send_line("remote-cred %s %s" % (r["ufrag"], r["pwd"]))
        self.send_line("remote-fp %s %s" % (r["fingerprint"]["hash"], r["fingerprint"]["value"]))
        self.send_line("setup " + setup)
        for c in r["candidates"]:
            line = "remote-cand %s %d %s %d %s %d %s" % (
                c["foundation"], c["component"], c.get("protocol", "udp"), c["priority"],
                c["ip"], c["port"], c.get("type", "host"))
            if c.get("raddr"):
                line += " raddr %s rport %d" % (c["raddr"], c["rport"])
            self.send_line(line)
        self.send_line("remote-eoc")

    def stop(self, timeout=10):
        """"stop" -> the final "stats" and "done" events; waits for exit 0."""
        self.send_line("stop")
        stats, done = self.expect("stats", timeout), self.expect("done", timeout)
        rc = self.wait_exit(timeout)
        if rc != 0:
            self._fail("exit status %d after stop" % rc)
        return stats, done
