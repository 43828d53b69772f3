"""A private prosody on 127.0.0.1 for one test (and for the README demo).

    with Prosody() as p:                      # started and ready
        p.register("alice", "pw1")
        p.register("bob", "pw2")
        p.add_roster("alice", "bob")          # mutual subscription
        ...  p.port, p.ca_file, p.domain, p.muc ...

Everything lives in one folder (a temporary one unless state_dir is given):
the config, the certificate, the data, the log and the PID file.  prosody
runs in the foreground as our child and is ended by PID.

Facts this relies on (prosody 0.12.3, Debian bookworm), measured here:
- mod_posix is loaded automatically on POSIX.  As root it refuses to start
  unless run_as_root = true.  It is also the module that writes the pidfile
  and that handles SIGTERM: with it, SIGTERM is a clean shutdown (every
  client gets <stream:error><system-shutdown/> and </stream:stream>, exit
  status 0); without it, SIGTERM kills prosody on the spot, exactly like
  SIGKILL.  So by default we keep it (graceful=True) with run_as_root = true
  and `prosody -F` (foreground; it never daemonizes).  graceful=False gives
  the "no mod_posix" configuration; then we write the PID file ourselves.
- With run_as_root = true, prosodyctl does not switch to user `prosody`
  (util/startup.lua switch_user()); without it, it does.  We make the data
  folder the prosody user's anyway, so both work.
- mod_s2s is loaded automatically and would listen on 5269; we disable it,
  so that several test servers can run at once.
- The internal storage backend reads its files on every access (no cache),
  so accounts written straight into data/ while prosody runs are seen at
  once.  Rosters are the exception: prosody keeps the roster of a user who
  is online in memory, so call add_roster() before either user logs in.

Registration writes the account files directly, in prosody's own format
(SCRAM-SHA-1 stored_key/server_key, as mod_auth_internal_hashed does); see
register_many().  Measured for 2000 accounts on a 2-CPU machine: 0.15 s
when they share a password (one PBKDF2), 2.5 s with 2000 different
passwords.  `prosodyctl --config CFG register` gives the same result at
26 ms per account (52 s for 2000: a Lua start and a config load each time),
so it is kept only as method="prosodyctl".

Run as a script, `xmpp_server.py --demo STATE_DIR [start|stop|status]`
starts or stops the quick-start demo server (scripts/demo-prosody.sh).
"""
import argparse
import hashlib
import hmac
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from harness import free_port

PROSODY = "/usr/bin/prosody"
PROSODYCTL = "/usr/bin/prosodyctl"
MODULES_DIR = "/usr/lib/prosody/modules"
DEFAULT_ITERATIONS = 10000      # prosody's default_iteration_count


class ProsodyError(Exception):
    pass


def _lua_str(s):
    """A Lua string literal (the config and data files are Lua)."""
    out = ['"']
    for ch in str(s).encode("utf-8"):
        c = chr(ch)
        if c in '"\\':
            out.append("\\" + c)
        elif 0x20 <= ch < 0x7f:
            out.append(c)
        else:
            out.append("\\%03d" % ch)
    out.append('"')
    return "".join(out)


def _lua(v, indent=""):
    """Python value -> Lua literal (str, bool, int, list, dict)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return _lua_str(v)
    if isinstance(v, (list, tuple)):
        return "{ " + "; ".join(_lua(x, indent) for x in v) + " }"
    if isinstance(v, dict):
        inner = indent + "\t"
        items = []
        for k, x in v.items():
            key = "[%s]" % (_lua(k) if k is not False else "false")
            items.append("%s%s = %s;\n" % (inner, key, _lua(x, inner)))
        return "{\n" + "".join(items) + indent + "}"
    raise TypeError("cannot write %r as Lua" % (v,))


def _encode_node(s):
    """prosody's util.datamanager encode(): every non-alphanumeric byte as %xx."""
    return "".join(c if c.isascii() and c.isalnum() else "".join("%%%02x" % b for b in c.encode())
                   for c in s)


def _raise_nofile():
    """In the child before exec: prosody never raises its descriptor limit
    itself, and a soft limit of 1024 would cap it near 1000 clients."""
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard if hard != resource.RLIM_INFINITY
                                                    else max(soft, 65536), hard))


def available_modules():
    """Names of the modules Debian's prosody ships (mod_NAME.lua or mod_NAME/)."""
    names = set()
    for f in os.listdir(MODULES_DIR):
        if f.startswith("mod_"):
            names.add(f[4:-4] if f.endswith(".lua") else f[4:])
    names.add("muc")        # modules/muc/ is the MUC component
    return names


def make_cert(dirpath, names=("localhost",), ips=("127.0.0.1",), stem=None, days=3650):
    """A self-signed EC P-256 certificate; returns (cert_path, key_path).

    The certificate is its own trust anchor: hand cert_path to a client as
    its CA file.  subjectAltName carries every name in `names` (DNS) and
    every address in `ips` (IP)."""
    stem = stem or names[0]
    crt = os.path.join(dirpath, stem + ".crt")
    key = os.path.join(dirpath, stem + ".key")
    san = ",".join(["DNS:" + n for n in names] + ["IP:" + i for i in ips])
    r = subprocess.run(["openssl", "req", "-x509", "-newkey", "ec",
                        "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                        "-days", str(days), "-subj", "/CN=" + names[0],
                        "-addext", "subjectAltName=" + san,
                        "-keyout", key, "-out", crt],
                       stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=30)
    if r.returncode:
        raise ProsodyError("openssl req failed: " + r.stdout.decode(errors="replace"))
    os.chmod(key, 0o640)
    os.chmod(crt, 0o644)
    return crt, key


def scram_sha1_record(password, iterations=DEFAULT_ITERATIONS, salt=None):
    """The account record mod_auth_internal_hashed stores for `password`."""
    salt = salt or str(uuid.uuid4())         # prosody uses a UUID string as salt
    salted = hashlib.pbkdf2_hmac("sha1", password.encode(), salt.encode(), iterations)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha1).digest()
    server_key = hmac.new(salted, b"Server Key", hashlib.sha1).digest()
    return {
        "iteration_count": iterations,
        "salt": salt,
        "server_key": server_key.hex(),
        "stored_key": hashlib.sha1(client_key).hexdigest(),
    }


class Prosody:
    """One prosody process.  See the module docstring.

    domain       the virtual host (default "localhost"); the MUC component is
                 "conference." + domain (attribute `muc`).
    websocket    also serve ws://127.0.0.1:PORT/xmpp-websocket (mod_websocket
                 over mod_http, consider_websocket_secure = true); `ws_url`.
    direct_tls   also listen for XEP-0368 direct TLS; `direct_tls_port`.
    cert_from    another Prosody whose certificate to reuse (so one CA file
                 trusts both).  By default each instance makes its own
                 self-signed certificate, so a client trusting one instance
                 does NOT trust another: that is how tests get an untrusted
                 server.
    cert_names   names put in the certificate (default (domain,
                 "conference."+domain)); pass e.g. ("example.org",) for a
                 certificate that does not match the domain.
    iterations   SCRAM iteration count for accounts we write.
    graceful     keep mod_posix, so that stop() (SIGTERM) is a clean shutdown
                 that closes every client stream; False: no mod_posix, and
                 SIGTERM is as abrupt as kill().
    state_dir    keep everything in this folder and never delete it (demo).
    port         the c2s port (default: a free one).
    stun         (host, port) of a STUN server to advertise through XEP-0215
                 (mod_external_services); None (the default): none.  Only
                 advertise one that answers: the gateway uses it for its
                 calls, and one that does not answer holds up every call's
                 candidate gathering by 2 s.  For TURN, enable
                 "turn_external" in extra_modules with its options in
                 extra_config (tests/integration/test_call_turn.py).
    extra_modules  more modules to enable; extra_config: Lua lines appended
                 to the global section.
    """

    def __init__(self, domain="localhost", websocket=False, direct_tls=False,
                 cert_from=None, cert_names=None, iterations=DEFAULT_ITERATIONS,
                 state_dir=None, port=None, log_level="debug", stun=None,
                 extra_modules=(), extra_config="", graceful=True, start=True, timeout=20):
        self.domain = domain
        self.muc = "conference." + domain
        self.iterations = iterations
        self.graceful = graceful
        self.log_level = log_level
        self.persistent = state_dir is not None
        if state_dir:
            os.makedirs(state_dir, exist_ok=True)
            self.dir = os.path.abspath(state_dir)
        else:
            self.dir = tempfile.mkdtemp(prefix="rx-prosody-")
        self.data_dir = os.path.join(self.dir, "data")
        self.config_file = os.path.join(self.dir, "prosody.cfg.lua")
        self.log_file = os.path.join(self.dir, "prosody.log")
        self.pid_file = os.path.join(self.dir, "prosody.pid")
        self.port = port or free_port()
        self.http_port = free_port() if websocket else None
        self.direct_tls_port = free_port() if direct_tls else None
        self.proc = None
        self.pid = None
        self._modules = available_modules()
        try:
            self._make_dirs()
            if cert_from is not None:
                self.cert_file, self.key_file = cert_from.cert_file, cert_from.key_file
            else:
                self.cert_file = os.path.join(self.dir, "certs", domain + ".crt")
                self.key_file = os.path.join(self.dir, "certs", domain + ".key")
                if not (os.path.exists(self.cert_file) and os.path.exists(self.key_file)):
                    make_cert(os.path.join(self.dir, "certs"),
                              names=tuple(cert_names or (domain, self.muc)), stem=domain)
            self.modules = self._pick_modules(websocket, extra_modules)
            with open(self.config_file, "w") as f:
                f.write(self.config_text(log_level, stun, extra_config))
            os.chmod(self.config_file, 0o644)
            if start:
                self.start(timeout)
        except BaseException:
            self.close()
            raise

    # ----- set-up -----

    def _make_dirs(self):
        """The data folder is made writable by user `prosody` and our folder
        traversable (mkdtemp gives 0700).  prosodyctl switches to that user
        only when run_as_root is not set, which our config always sets, so
        this is a safety margin, not a requirement."""
        os.chmod(self.dir, 0o755)
        os.makedirs(self.data_dir, exist_ok=True)
        os.makedirs(os.path.join(self.dir, "certs"), exist_ok=True)
        os.chmod(self.data_dir, 0o770)
        os.chmod(os.path.join(self.dir, "certs"), 0o755)
        if os.geteuid() == 0:
            try:
                pw = pwd.getpwnam("prosody")
                os.chown(self.data_dir, pw.pw_uid, pw.pw_gid)
            except KeyError:
                pass

    def _pick_modules(self, websocket, extra):
        want = ["roster", "saslauth", "tls", "disco", "ping", "carbons",
                "version", "time", "blocklist"]
        # XEP-0198 and XEP-0215: in core since prosody 0.12; enable if shipped.
        for m in ("smacks", "external_services"):
            if m in self._modules:
                want.append(m)
        if websocket:
            want += ["http", "websocket"]
        want += list(extra)
        missing = [m for m in want if m not in self._modules]
        if missing:
            raise ProsodyError("prosody modules not installed: " + ", ".join(missing))
        return list(dict.fromkeys(want))

    def config_text(self, log_level="debug", stun=None, extra=""):
        """The whole prosody.cfg.lua; the only copy of the template."""
        disabled = ["s2s", "s2s_auth_certs"]     # s2s would listen on 5269
        if not self.graceful:
            disabled.insert(0, "posix")
        g = {
            "run_as_root": True,
            "modules_disabled": disabled,
            "modules_enabled": self.modules,
            "daemonize": False,            # and `prosody -F`
            "pidfile": self.pid_file,      # mod_posix writes it, else we do
            "data_path": self.data_dir,
            "network_backend": "epoll",
            "log": [{"levels": {"min": log_level}, "to": "file", "filename": self.log_file}],
            "interfaces": ["127.0.0.1"],
            "c2s_ports": [self.port],
            "c2s_interfaces": ["127.0.0.1"],
            "c2s_direct_tls_ports": [self.direct_tls_port] if self.direct_tls_port else [],
            "c2s_direct_tls_interfaces": ["127.0.0.1"],
            "s2s_ports": [],
            "s2s_direct_tls_ports": [],
            "http_ports": [self.http_port] if self.http_port else [],
            "http_interfaces": ["127.0.0.1"],
            "https_ports": [],
            "https_interfaces": ["127.0.0.1"],
            "consider_websocket_secure": True,
            "c2s_require_encryption": True,
            "allow_registration": False,
            "authentication": "internal_hashed",
            "default_iteration_count": self.iterations,
            "storage": "internal",
            "certificates": os.path.dirname(self.cert_file),
            "ssl": {"certificate": self.cert_file, "key": self.key_file},
            "muc_room_locking": False,
            "smacks_hibernation_time": 60,
        }
        if stun:
            g["external_services"] = [{"type": "stun", "transport": "udp",
                                       "host": stun[0], "port": int(stun[1])}]
        lines = ["-- Generated by tests/integration/xmpp_server.py; do not edit.", ""]
        lines += ["%s = %s" % (k, _lua(v)) for k, v in g.items()]
        if extra:
            lines += ["", extra]
        lines += ["", "VirtualHost %s" % _lua_str(self.domain),
                  "\tssl = %s" % _lua({"certificate": self.cert_file, "key": self.key_file}, "\t"),
                  "", "Component %s %s" % (_lua_str(self.muc), _lua_str("muc")), ""]
        return "\n".join(lines)

    # ----- process -----

    def start(self, timeout=20, detach=False):
        """Start prosody and wait (at most `timeout` s) until the c2s port
        accepts and the log shows the host is up."""
        if self.proc is not None or self.pid is not None:
            raise ProsodyError("already started")
        out = open(os.path.join(self.dir, "prosody.out"), "ab")
        self.proc = subprocess.Popen([PROSODY, "--config", self.config_file, "-F"],
                                     stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                                     cwd=self.dir, start_new_session=detach,
                                     preexec_fn=_raise_nofile)
        out.close()
        self.pid = self.proc.pid
        if not self.graceful:
            with open(self.pid_file, "w") as f:
                f.write("%d\n" % self.pid)
        end = time.monotonic() + timeout
        ports = [p for p in (self.port, self.http_port, self.direct_tls_port) if p]
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise ProsodyError("prosody exited at start (status %s):\n%s\n%s" % (
                    self.proc.returncode, self.output(), self.log()[-3000:]))
            # The listening sockets exist only once the config, the hosts and
            # the modules are loaded; the log line confirms it when logged.
            if all(self._accepts(p) for p in ports) and (
                    self.log_level not in ("debug", "info")
                    or "Activated service 'c2s'" in self.log()):
                return self
            time.sleep(0.05)
        self.stop()
        raise ProsodyError("prosody not ready within %s s:\n%s" % (timeout, self.log()[-3000:]))

    @staticmethod
    def _accepts(port):
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return True
        except OSError:
            return False

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout=10):
        """SIGTERM by PID, then SIGKILL after `timeout` s.  Returns the exit status."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        return self._ended()

    def kill(self):
        """SIGKILL by PID, to simulate a crash."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)
        return self._ended()

    def _ended(self):
        rc = self.proc.returncode
        self.proc = None
        self.pid = None
        try:
            os.unlink(self.pid_file)
        except OSError:
            pass
        return rc

    def restart(self, timeout=20):
        self.stop()
        return self.start(timeout)

    def close(self, keep=False):
        """Stop prosody and remove the temporary folder (unless persistent or keep)."""
        self.stop()
        if keep:
            print("kept " + self.dir, flush=True)
        elif not self.persistent:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close(keep=bool(exc[0] is not None and os.environ.get("RX_KEEP")))

    # ----- information -----

    @property
    def ca_file(self):
        """The file a client should trust: the server's own self-signed cert."""
        return self.cert_file

    @property
    def ws_url(self):
        return "ws://127.0.0.1:%d/xmpp-websocket" % self.http_port if self.http_port else None

    def jid(self, user):
        return "%s@%s" % (user, self.domain)

    def log(self):
        try:
            with open(self.log_file, "rb") as f:
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def output(self):
        try:
            with open(os.path.join(self.dir, "prosody.out"), "rb") as f:
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    # ----- accounts -----

    def _store_path(self, store, user):
        return os.path.join(self.data_dir, _encode_node(self.domain), store,
                            _encode_node(user) + ".dat")

    def _write_store(self, store, user, data):
        path = self._store_path(store, user)
        d = os.path.dirname(path)
        if not os.path.isdir(d):
            os.makedirs(d, exist_ok=True)
            for x in (os.path.dirname(d), d):
                os.chmod(x, 0o770)
                self._chown(x)
        tmp = path + "~"            # atomic, as prosody's datamanager does
        with open(tmp, "w") as f:
            f.write("return " + _lua(data) + ";\n")
        os.chmod(tmp, 0o640)
        self._chown(tmp)
        os.replace(tmp, path)

    def _chown(self, path):
        if os.geteuid() == 0:
            try:
                pw = pwd.getpwnam("prosody")
                os.chown(path, pw.pw_uid, pw.pw_gid)
            except KeyError:
                pass

    @staticmethod
    def _check_user(user):
        if not user or user != user.lower() or any(c in user for c in "@/\"&'<>: \t\n"):
            raise ValueError("not a plain lower-case localpart: %r" % (user,))

    def register(self, user, password, method="files"):
        """Create (or reset) account user@domain.  method "files" (default)
        writes the account file directly; "prosodyctl" runs
        `prosodyctl --config CFG register` (about 0.3 s each)."""
        if method == "prosodyctl":
            r = subprocess.run([PROSODYCTL, "--config", self.config_file, "register",
                                user, self.domain, password],
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, timeout=30, cwd=self.dir)
            if r.returncode:
                raise ProsodyError("prosodyctl register %s failed: %s"
                                   % (user, r.stdout.decode(errors="replace")))
            return
        self.register_many([(user, password)])

    def register_many(self, accounts, threads=None):
        """Create many accounts fast: [(user, password), ...].

        The SCRAM hashes are computed here (PBKDF2-SHA1 through OpenSSL,
        about 2.4 ms each at 10000 iterations; hashlib releases the GIL, so
        a thread per CPU).  Accounts that share a password share one salt and
        one hash, so 2000 accounts with the same password cost one PBKDF2.
        Passwords must be ASCII (prosody SASLprep's them; for ASCII that is
        the identity)."""
        accounts = list(accounts)
        for user, pw in accounts:
            self._check_user(user)
            if not pw.isascii() or not pw.isprintable():
                raise ValueError("register_many: password for %s is not printable ASCII" % user)
        records = {}
        uniq = list(dict.fromkeys(pw for _, pw in accounts))
        n = threads or os.cpu_count() or 1
        if len(uniq) > 1 and n > 1:
            with ThreadPoolExecutor(n) as ex:
                for pw, rec in zip(uniq, ex.map(lambda p: scram_sha1_record(p, self.iterations), uniq)):
                    records[pw] = rec
        else:
            for pw in uniq:
                records[pw] = scram_sha1_record(pw, self.iterations)
        for user, pw in accounts:
            self._write_store("accounts", user, records[pw])

    def user_exists(self, user):
        return os.path.exists(self._store_path("accounts", user))

    def add_roster(self, user, contact, name=None, groups=(), mutual=True):
        """Put `contact` on `user`'s roster with subscription "both" (and the
        reverse when mutual), so presence flows both ways.  `contact` is a
        localpart on this server or a full bare JID.  Call it while neither
        user is online: prosody caches the roster of online users."""
        cjid = contact if "@" in contact else self.jid(contact)
        self._roster_set(user, cjid, name or cjid.split("@")[0], groups)
        if mutual and cjid.endswith("@" + self.domain):
            self._roster_set(cjid.split("@")[0], self.jid(user), user, groups)

    def _roster_set(self, user, cjid, name, groups):
        path = self._store_path("roster", user)
        roster = self._read_roster(path)
        meta = roster.setdefault(False, {"version": 1, "pending": {}})
        meta["version"] = int(meta.get("version", 0)) + 1
        roster[cjid] = {"subscription": "both", "name": name,
                        "groups": {g: True for g in groups}}
        self._write_store("roster", user, roster)

    def _read_roster(self, path):
        try:
            with open(path, encoding="utf-8") as f:
                data = parse_lua_data(f.read())
        except FileNotFoundError:
            return {}
        return data if isinstance(data, dict) else {}

    def read_store(self, store, user):
        """A user's data file (e.g. "roster", "accounts") as Python, or None."""
        try:
            with open(self._store_path(store, user), encoding="utf-8") as f:
                return parse_lua_data(f.read())
        except FileNotFoundError:
            return None


def parse_lua_data(text):
    """Parse a data file written by prosody's util.serialization ("return
    {...};"): tables, strings, numbers, booleans.  Lists come back as dicts
    keyed 1..n; the `false` key stays False."""
    pos = 0
    n = len(text)

    def ws():
        nonlocal pos
        while pos < n:
            if text[pos].isspace():
                pos += 1
            elif text.startswith("--", pos):
                e = text.find("\n", pos)
                pos = n if e < 0 else e + 1
            else:
                break

    def value():
        nonlocal pos
        ws()
        c = text[pos]
        if c == "{":
            pos += 1
            t, i = {}, 1
            while True:
                ws()
                if text[pos] == "}":
                    pos += 1
                    return t
                if text[pos] == "[":
                    pos += 1
                    k = value()
                    ws()
                    expect("]")
                    ws()
                    expect("=")
                    t[k] = value()
                else:
                    m = _IDENT.match(text, pos)
                    save = pos
                    if m and m.group(0) not in ("true", "false", "nil"):
                        pos = m.end()
                        ws()
                        if pos < n and text[pos] == "=":
                            pos += 1
                            t[m.group(0)] = value()
                        else:
                            pos = save
                            t[i] = value()
                            i += 1
                    else:
                        t[i] = value()
                        i += 1
                ws()
                if text[pos] in ",;":
                    pos += 1
        if c in "\"'":
            return string(c)
        m = _IDENT.match(text, pos)
        if m and m.group(0) in ("true", "false", "nil"):
            pos = m.end()
            return {"true": True, "false": False, "nil": None}[m.group(0)]
        m = _NUMBER.match(text, pos)
        if m:
            pos = m.end()
            v = m.group(0)
            return int(v, 0) if _INT.fullmatch(v) else float(v)
        raise ValueError("unexpected %r at %d" % (text[pos:pos + 20], pos))

    def expect(ch):
        nonlocal pos
        if text[pos] != ch:
            raise ValueError("expected %r at %d" % (ch, pos))
        pos += 1

    def string(q):
        nonlocal pos
        pos += 1
        out = bytearray()
        while text[pos] != q:
            c = text[pos]
            if c == "\\":
                pos += 1
                c = text[pos]
                if c.isdigit():
                    m = re.compile(r"\d{1,3}").match(text, pos)
                    out.append(int(m.group(0)))
                    pos = m.end()
                    continue
                if c == "x":
                    out.append(int(text[pos + 1:pos + 3], 16))
                    pos += 3
                    continue
                out += {"n": b"\n", "t": b"\t", "r": b"\r", "a": b"\a", "b": b"\b",
                        "f": b"\f", "v": b"\v", "\n": b"\n"}.get(c, c.encode())
            else:
                out += c.encode("utf-8")
            pos += 1
        pos += 1
        return out.decode("utf-8", errors="surrogateescape")

    ws()
    if text.startswith("return", pos):
        pos += len("return")
    v = value()
    return v


_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NUMBER = re.compile(r"-?(0[xX][0-9a-fA-F]+|\d+(\.\d*)?([eE][-+]?\d+)?)")
_INT = re.compile(r"-?(0[xX][0-9a-fA-F]+|\d+)")


# ---------------------------------------------------------------------------
# The quick-start demo: scripts/demo-prosody.sh STATE_DIR [stop|status]

DEMO_USERS = ("alice", "bob", "echo")   # echo: the gateway's echo account


def _pid_alive(pid, config_file):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            cmd = f.read().split(b"\0")
    except OSError:
        return False
    return config_file.encode() in cmd


def _read_pid(state_dir):
    try:
        with open(os.path.join(state_dir, "prosody.pid")) as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return None


def demo_accounts(state_dir):
    """alice, bob and echo with random passwords, made once and kept in
    accounts.txt; echo's also alone in echo.pass, for the gateway's
    --echo-password-file."""
    path = os.path.join(state_dir, "accounts.txt")
    acc = {}
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                parts = line.split()
                if len(parts) == 2 and "@" in parts[0]:
                    acc[parts[0].split("@")[0]] = parts[1]
    changed = False
    for u in DEMO_USERS:
        if u not in acc:
            acc[u] = secrets.token_urlsafe(12)
            changed = True
    if changed:
        fd = os.open(path + "~", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write("# demo accounts: JID PASSWORD (made by scripts/demo-prosody.sh)\n")
            for u in DEMO_USERS:
                f.write("%s@localhost %s\n" % (u, acc[u]))
        os.replace(path + "~", path)
    pw = os.path.join(state_dir, "echo.pass")
    fd = os.open(pw + "~", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(acc["echo"] + "\n")
    os.replace(pw + "~", pw)
    return acc


def demo(state_dir, action="start", port=5222):
    state_dir = os.path.abspath(state_dir)
    os.makedirs(state_dir, exist_ok=True)
    config_file = os.path.join(state_dir, "prosody.cfg.lua")
    pid = _read_pid(state_dir)
    running = pid is not None and _pid_alive(pid, config_file)
    if action == "status":
        print("demo prosody %s" % ("running, PID %d" % pid if running else "not running"))
        return 0 if running else 3
    if action == "stop":
        if not running:
            print("demo prosody is not running")
            if pid is not None:
                os.unlink(os.path.join(state_dir, "prosody.pid"))
            return 0
        os.kill(pid, signal.SIGTERM)
        end = time.monotonic() + 10
        while time.monotonic() < end and _pid_alive(pid, config_file):
            time.sleep(0.1)
        if _pid_alive(pid, config_file):
            os.kill(pid, signal.SIGKILL)
            end = time.monotonic() + 5
            while time.monotonic() < end and _pid_alive(pid, config_file):
                time.sleep(0.1)
        try:
            os.unlink(os.path.join(state_dir, "prosody.pid"))
        except OSError:
            pass
        print("demo prosody stopped (PID %d)" % pid)
        return 0
    acc = demo_accounts(state_dir)
    if running:
        print("demo prosody already running, PID %d, on 127.0.0.1:%d" % (pid, port))
    else:
        if Prosody._accepts(port):
            print("demo-prosody: 127.0.0.1:%d is already in use by another program" % port,
                  file=sys.stderr)
            return 1
        p = Prosody(state_dir=state_dir, port=port, log_level="info", start=False)
        for u in DEMO_USERS:
            if not p.user_exists(u):
                p.register(u, acc[u])
        if not os.path.exists(p._store_path("roster", "alice")):
            p.add_roster("alice", "bob")
        if not os.path.exists(p._store_path("roster", "echo")):
            p.add_roster("alice", "echo")
            p.add_roster("bob", "echo")
        p.start(detach=True)          # new session: survives our exit
        print("demo prosody started, PID %d, on 127.0.0.1:%d (log %s)" % (p.pid, port, p.log_file))
    print("CA file (the server's self-signed certificate): %s"
          % os.path.join(state_dir, "certs", "localhost.crt"))
    for u in DEMO_USERS:
        print("  %s@localhost  password %s%s" % (u, acc[u], "  (the gateway's echo test: call it)"
                                                if u == "echo" else ""))
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--demo", metavar="STATE_DIR", required=True,
                    help="run the quick-start demo server with its data in STATE_DIR")
    ap.add_argument("action", nargs="?", default="start", choices=("start", "stop", "status"))
    ap.add_argument("--port", type=int, default=5222)
    a = ap.parse_args()
    try:
        return demo(a.demo, a.action, a.port)
    except ProsodyError as e:
        print("demo-prosody: %s" % e, file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
