#!/usr/bin/python3
"""XEP-0198: a short TCP drop between the gateway and the XMPP server loses
no stanza.  A TCP relay sits between the gateway and prosody (which offers
stream management with resumption).  The relay cuts the connection; while
it is down the contact sends to the RTMP user and the RTMP user sends to the
contact.  The gateway resumes the stream: both messages arrive, and the RTMP
client is never told the session went away.  If the server is gone for good
(the relay refuses), the client gets xmpp_disconnected("connection-lost")."""
import socket
import struct
import threading
import time
from harness import Procs, args, check
from stanza_kit import (ALICE_FULL, BOB_PW, Rtmp, accounts, bot_full_jid, callback,
                        disconnected, login_fields, start_gateway)
from xmpp_bot import Bot
from xmpp_server import Prosody


class Relay:
    """127.0.0.1:port -> upstream; cut() drops every connection abruptly;
    refuse() stops accepting."""

    def __init__(self, upstream):
        self.up = upstream
        self.ls = socket.socket()
        self.ls.bind(("127.0.0.1", 0))
        self.ls.listen(16)
        self.port = self.ls.getsockname()[1]
        self.pairs = []
        self.lock = threading.Lock()
        self.accepting = True
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                c, _ = self.ls.accept()
            except OSError:
                return
            if not self.accepting:
                c.close()
                continue
            u = socket.create_connection(("127.0.0.1", self.up), 5)
            with self.lock:
                self.pairs.append((c, u))
            for a, b in ((c, u), (u, c)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(a, b):
        try:
            while True:
                d = a.recv(65536)
                if not d:
                    break
                b.sendall(d)
        except OSError:
            pass

    def cut(self):
        with self.lock:
            pairs, self.pairs = self.pairs, []
        for c, u in pairs:
            for s in (c, u):
                try:
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    # shutdown() wakes the relay threads blocked in recv();
                    # close() alone would wait for them to return.
                    s.shutdown(socket.SHUT_RDWR)
                    s.close()
                except OSError:
                    pass
        return len(pairs)



a = args()
with Procs("resume") as P, Prosody() as X:
    accounts(X)
    relay = Relay(X.port)
    gw = start_gateway(P, a.gateway, X, level="info")
    bob = Bot("bob")
    bob.connect(X.jid("bob"), BOB_PW, X.ca_file, port=X.port)
    BOB_FULL = bot_full_jid(bob)
    rc = Rtmp(gw.port)
    r = rc.rpc("xmpp_connect", login_fields(X, port=relay.port), timeout=15)
    check(r[0] == "_result" and r[3] == 1.0, "logged in through the relay")
    rc.send("presence", {}, "")
    bob.wait_for(lambda e: e.tag.endswith("presence") and e.get("from") == ALICE_FULL, 10,
                 what="alice's presence")
    time.sleep(1.0)   # let the stream management <enabled/> exchange finish

    check(relay.cut() == 1, "the relay cut the gateway's XMPP connection")
    mark = bob.mark()
    bob.send_message(ALICE_FULL, "sent while the link was down")
    rc.send("message", {"to": BOB_FULL, "type": "chat"}, "<body>sent by alice during the drop</body>")
    m = rc.expect(callback("xmpp_message", from_=BOB_FULL), 20, "bob's message after the resume")
    check("sent while the link was down" in m[4], "the message bob sent during the drop arrived")
    got = bob.wait_for(lambda e: e.tag.endswith("message") and
                       "sent by alice during the drop" in (e.findtext("{jabber:client}body") or ""),
                       20, after=mark, what="alice's message from the drop")
    check(got.get("from") == ALICE_FULL, "alice's message from the drop reached bob from %s"
          % got.get("from"))
    check(not rc.none_of(disconnected, 1), "the client was never told the session went away")
    check("stream resumed" in gw.log(), "the gateway logged the resumption")

    # A server that is gone (the relay refuses): connection-lost, quickly.
    relay.accepting = False
    relay.ls.close()   # the port now refuses connections
    check(relay.cut() == 1, "the relay cut the resumed connection")
    t0 = time.time()
    m = rc.expect(disconnected, 20, "xmpp_disconnected after the server went away")
    check(m[3] == "connection-lost", "reason connection-lost (%r) after %.1f s"
          % (m[3], time.time() - t0))
    bob.stop()
    rc.close()
    check(gw.stop() == 0, "gateway exits 0")
