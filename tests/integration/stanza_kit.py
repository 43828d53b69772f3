"""Shared pieces of the text-stanza gateway tests (test_xmpp_*.py).

    with Procs("x") as P, Prosody() as p, Bot("bob") as bob:
        accounts(p)                              # alice/bob, mutual roster
        gw = start_gateway(P, a.gateway, p, "--iq-timeout", "2")
        bob.connect(BOB_FULL, BOB_PW, p.ca_file, port=p.port)
        rc = Rtmp(gw.port)                      # raw RTMP client, connected
        check(rc.login(p) == 1.0, ...)
        rc.send("message", {"to": BOB_FULL, "type": "chat"}, "<body>hi</body>")
        m = rc.expect(callback("xmpp_message"), what="a message")

Rtmp wraps rtmpc.Client.  It keeps every command the gateway sends in an
inbox, so that waiting for one thing never loses another, and it decodes
AMF3 arrays (the [attrib, rawbody] answer of an iq responder, for an
objectEncoding 3 client), which rtmpc's decoder does not.  Every wait is
bounded: reads wait in select() for at most the time left.
"""
import os
import select
import socket
import struct
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import rtmpc  # noqa: E402
from harness import Gateway, fail  # noqa: E402

DOMAIN = "localhost"
ALICE_PW = "Al1ce-s3cret-pw-4711"     # distinctive: the log must never contain it
BOB_PW = "b0b-pw-0815"
RESOURCE = "rtmpphone"
ALICE = "alice@" + DOMAIN
ALICE_FULL = ALICE + "/" + RESOURCE
BOB = "bob@" + DOMAIN
BOB_FULL = BOB + "/desk"

NS_ROSTER = "jabber:iq:roster"
NS_CAPS = "http://jabber.org/protocol/caps"
NS_DISCO_INFO = "http://jabber.org/protocol/disco#info"
NS_PING = "urn:xmpp:ping"
NS_STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas"
NS_MUC = "http://jabber.org/protocol/muc"


def accounts(p, mutual=True):
    """alice (the RTMP user) and bob (the slixmpp contact), each on the
    other's roster with subscription both."""
    p.register("alice", ALICE_PW)
    p.register("bob", BOB_PW)
    p.add_roster("alice", "bob", mutual=mutual)


def start_gateway(procs, binary, p, *extra, level="debug"):
    """The gateway, trusting prosody p's certificate."""
    return Gateway(procs, binary, ["--xmpp-cafile", p.ca_file] + list(extra), level=level)


def login_fields(p, user="alice", password=ALICE_PW, resource=RESOURCE, **more):
    d = {"username": user, "domain": p.domain, "password": password, "resource": resource,
         "host": "127.0.0.1", "port": p.port}
    d.update(more)
    return d


def bot_full_jid(bot):
    return bot._call(lambda: bot.xmpp.boundjid.full)


# ---- AMF ---------------------------------------------------------------
class _Amf3(rtmpc._Amf3):
    """rtmpc's AMF3 reader, plus arrays (marker 0x09)."""

    def value(self, i):
        if self.b[i] != 0x09:
            return super().value(i)
        r, i = self._u29(i + 1)
        if not r & 1:
            return self.objs[r >> 1], i
        out = []
        self.objs.append(out)
        assoc = {}
        while True:
            k, i = self._str(i)
            if not k:
                break
            assoc[k], i = self.value(i)
        for _ in range(r >> 1):
            v, i = self.value(i)
            out.append(v)
        return (out if out or not assoc else assoc), i


def decode_cmd(mtype, body):
    """A command message (type 20, or 17 = AMF3 command) -> [name, txid, args...]."""
    if mtype == 17:
        body = body[1:]
    out, i = [], 0
    while i < len(body):
        if body[i] == 0x11:
            v, i = _Amf3(body).value(i + 1)
        else:
            v, i = rtmpc._amf0_dec(body, i)
        out.append(v)
    return out


def amf0_long_string(s):
    b = s.encode()
    return b"\x0c" + struct.pack(">I", len(b)) + b


# ---- predicates over commands ---------------------------------------------
def callback(name, **attrib):
    """A server invoke such as xmpp_message(attrib, rawbody) whose attrib has
    these values (from_ for "from")."""
    want = {("from" if k == "from_" else k): v for k, v in attrib.items()}

    def p(m):
        if m[0] != name:
            return False
        a = m[3] if len(m) > 3 and isinstance(m[3], dict) else {}
        return all(a.get(k) == v for k, v in want.items())
    return p


def pair(v):
    """An iq responder's [attrib, rawbody]: an AMF3 array, or for AMF0 clients
    an object with members "0" and "1" (readable by librtmp-based clients,
    which drop AMF0 arrays).  None if v is neither."""
    if isinstance(v, list) and len(v) == 2:
        return v[0], v[1]
    if isinstance(v, dict) and set(v) == {"0", "1"}:
        return v["0"], v["1"]
    return None


def answer(txid):
    return lambda m: m[0] in ("_result", "_error") and m[1] == txid


def disconnected(m):
    return m[0] == "xmpp_disconnected"


# ---- the RTMP client --------------------------------------------------
class Rtmp:
    """A raw RTMP client (rtmpc.Client) that connects at once and keeps an
    inbox of the commands the gateway sent.  Each inbox entry is
    (message type, [name, txid, args...])."""

    def __init__(self, port, encoding=0, extra=None, app="xmpp"):
        self.c = rtmpc.Client(port)
        self.inbox = []
        self.audio = []       # (stream id, timestamp, body) of audio messages received
        self.closed = False
        self.connect_answer = self.c.connect(app=app, encoding=encoding, extra=extra)

    def close(self):
        self.c.close()

    def vanish(self):
        """Drop the TCP connection abruptly (RST, no close command)."""
        self.c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.c.close()

    # -- reading --
    def _read_one(self, deadline):
        """The next command message, or None when none came before deadline."""
        while True:
            if not self.c.rbuf:
                left = deadline - time.time()
                if left <= 0:
                    return None
                r, _, _ = select.select([self.c.sock], [], [], left)
                if not r:
                    return None
            try:
                t, sid, ts, body = self.c.read_msg()
            except (EOFError, ConnectionError):
                self.closed = True
                return None
            if t in (17, 20):
                return t, decode_cmd(t, body)
            if t == 8:
                self.audio.append((sid, ts, body))

    def pump(self, seconds):
        """Read whatever arrives in the next `seconds` into the inbox."""
        end = time.time() + seconds
        while not self.closed:
            x = self._read_one(end)
            if x is None:
                break
            self.inbox.append(x)

    def expect_raw(self, pred, timeout=10, what="expected command"):
        """(type, command) of the first inbox entry matching pred, removed
        from the inbox; waits at most timeout s, else the test fails."""
        end = time.time() + timeout
        i = 0
        while True:
            while i < len(self.inbox):
                if pred(self.inbox[i][1]):
                    return self.inbox.pop(i)
                i += 1
            if self.closed:
                fail("%s: the gateway closed the RTMP connection; got %s"
                     % (what, [m for _, m in self.inbox][-8:]))
            x = self._read_one(end)
            if x is None:
                if self.closed:
                    continue
                fail("%s not received within %s s; got %s"
                     % (what, timeout, [m for _, m in self.inbox][-8:]))
            self.inbox.append(x)

    def expect(self, pred, timeout=10, what="expected command"):
        return self.expect_raw(pred, timeout, what)[1]

    def none_of(self, pred, seconds):
        """Wait `seconds`; return the commands matching pred that arrived
        (and any already in the inbox)."""
        self.pump(seconds)
        return [m for _, m in self.inbox if pred(m)]

    # -- calling --
    def call(self, name, *args, txid=None):
        return self.c.call(name, None, *args, txid=txid)

    def rpc(self, name, *args, timeout=10):
        """Call with a responder; return the _result/_error command."""
        tx = self.call(name, *args)
        return self.expect(answer(tx), timeout, "answer to %s" % name)

    def login(self, p, timeout=10, **kw):
        """xmpp_connect; returns the responder's result (1.0 or 0.0)."""
        r = self.rpc("xmpp_connect", login_fields(p, **kw), timeout=timeout)
        if r[0] != "_result":
            fail("xmpp_connect answered %r" % (r,))
        return r[3]

    def send(self, kind, attrib, inner, responder=False):
        """nc.call("xmpp", responder_or_null, kind, attrib, inner); returns
        the txid (0 without a responder)."""
        return self.call("xmpp", kind, attrib, inner, txid=None if responder else 0)
