#!/usr/bin/python3
"""How XMPP sessions end, as the RTMP client and a contact (bob, with alice
on his roster, subscription both) see it.  The gateway runs with
--xmpp-ping-interval 2 --xmpp-ping-timeout 2.

- xmpp_disconnect: the responder gets "client-requested"; bob sees alice go
  unavailable; no callback at all reaches the client afterwards although bob
  keeps sending; xmpp then gives XMPP.NotConnected; a new xmpp_connect on the
  same RTMP connection works and callbacks flow again.
- the RTMP client closes its socket (FIN), or vanishes (RST): the XMPP
  session is closed, and bob sees alice's unavailable presence.
- the gateway shuts down: the client gets NetConnection.Connect.Closed, and
  bob sees alice go unavailable.
- the XMPP server freezes (SIGSTOP: the TCP connection stays open, nothing
  answers): the keepalive ping times out and the client gets
  xmpp_disconnected("connection-lost") within 10 s.
- the XMPP server is killed (SIGKILL): xmpp_disconnected("connection-lost")
  within 10 s; the RTMP connection stays usable (xmpp gives
  XMPP.NotConnected, xmpp_connect gives socket-not-connected).
- the XMPP server shuts down (SIGTERM): the client is told within 5 s.
"""
import os
import signal
import time

from harness import Procs, args, check
from stanza_kit import (ALICE, ALICE_FULL, ALICE_PW, BOB_FULL, BOB_PW, Rtmp, accounts, answer,
                        callback, disconnected, start_gateway)
from xmpp_bot import Bot, is_presence
from xmpp_server import Prosody

XMPP_CALLBACKS = ("xmpp_message", "xmpp_presence", "xmpp_iq", "xmpp_disconnected", "xmpp_error")


def online(rc, bob, resource):
    """Log rc in as alice/resource, send available presence, wait until bob sees it."""
    check(rc.login(p, resource=resource) == 1.0, "alice/%s logged in" % resource)
    mark = bob.mark()
    rc.send("presence", {}, "")
    bob.wait_for(lambda e: is_presence()(e) and e.get("from") == ALICE + "/" + resource, 10,
                 after=mark, what="alice/%s available" % resource)
    return mark


def sees_unavailable(bob, resource, mark, what, timeout=10):
    t0 = time.time()
    bob.wait_for(lambda e: is_presence(type="unavailable")(e)
                 and e.get("from") == ALICE + "/" + resource, timeout, after=mark,
                 what="alice/%s unavailable" % resource)
    check(True, "%s: bob sees alice/%s unavailable (%.1f s)" % (what, resource, time.time() - t0))


def lost(rc, what, timeout=10, reasons=("connection-lost",)):
    t0 = time.time()
    d = rc.expect(disconnected, timeout, "xmpp_disconnected after " + what)
    check(d[3] in reasons, "%s: xmpp_disconnected(%r) after %.1f s (want %s)"
          % (what, d[3], time.time() - t0, " or ".join(reasons)))


a = args()
with Procs("xfaults") as P, Prosody() as p, Prosody(cert_from=p) as frozen, \
        Prosody(cert_from=p) as closing, Bot("bob") as bob:
    accounts(p)
    for x in (frozen, closing):
        x.register("alice", ALICE_PW)
    gw = start_gateway(P, a.gateway, p, "--xmpp-ping-interval", "2", "--xmpp-ping-timeout", "2")
    bob.connect(BOB_FULL, BOB_PW, p.ca_file, port=p.port)

    # ---- xmpp_disconnect ----
    rc = Rtmp(gw.port)
    mark = online(rc, bob, "rtmpphone")
    r = rc.rpc("xmpp_disconnect")
    check(r[0] == "_result" and r[3] == "client-requested",
          "xmpp_disconnect: the responder gets \"client-requested\" (%r)" % (r[3:],))
    sees_unavailable(bob, "rtmpphone", mark, "xmpp_disconnect")
    t0 = time.time()
    rc.inbox = [x for x in rc.inbox if x[1][0] not in XMPP_CALLBACKS]
    for i in range(3):
        bob.send_message(ALICE_FULL, "are you there %d" % i)
        bob.send_message(ALICE, "bare %d" % i)
    bob.send_presence(status="still here")
    bob.send("<iq type='get' to='%s' id='late1'><query xmlns='jabber:iq:version'/></iq>"
             % ALICE_FULL)
    late = rc.none_of(lambda m: m[0] in XMPP_CALLBACKS, 2.0)
    check(not late, "after xmpp_disconnect no callback reaches the client, though bob keeps "
          "sending (%r)" % late)
    tx = rc.send("message", {"to": BOB_FULL, "type": "chat"}, "<body>x</body>", responder=True)
    r = rc.expect(answer(tx), 5, "answer to xmpp after disconnect")
    check(r[0] == "_error" and r[3].get("code") == "XMPP.NotConnected",
          "xmpp after xmpp_disconnect: XMPP.NotConnected")
    mark = online(rc, bob, "again")
    bob.send_message(ALICE + "/again", "welcome back", id="wb1")
    rc.expect(callback("xmpp_message", id="wb1"), 10, "bob's message to the new session")
    check(True, "a new xmpp_connect on the same RTMP connection works, callbacks flow again")

    # ---- the RTMP client goes away ----
    rc2 = Rtmp(gw.port)
    mark = online(rc2, bob, "closing")
    rc2.close()
    sees_unavailable(bob, "closing", mark, "the RTMP client closes its socket")
    rc3 = Rtmp(gw.port)
    mark = online(rc3, bob, "vanishing")
    rc3.vanish()
    sees_unavailable(bob, "vanishing", mark, "the RTMP client vanishes (RST)")

    # ---- the gateway shuts down (a second gateway, so that this one stays) ----
    gw2 = start_gateway(P, a.gateway, p)
    rc6 = Rtmp(gw2.port)
    mark = online(rc6, bob, "gwstop")
    check(gw2.stop() == 0, "a second gateway exits 0 on SIGTERM")
    st = rc6.expect(lambda m: m[0] == "onStatus", 5, "onStatus at shutdown")
    check(st[3].get("code") == "NetConnection.Connect.Closed",
          "gateway shutdown: the client gets NetConnection.Connect.Closed")
    sees_unavailable(bob, "gwstop", mark, "gateway shutdown")
    rc6.close()

    # ---- the XMPP server freezes: only the keepalive ping can tell ----
    rc4 = Rtmp(gw.port)
    check(rc4.login(frozen, resource="frozen") == 1.0, "logged in on a second prosody")
    os.kill(frozen.pid, signal.SIGSTOP)
    try:
        lost(rc4, "the XMPP server froze (SIGSTOP)")
    finally:
        frozen.kill()
    rc4.close()

    # ---- the XMPP server is killed ----
    p.kill()
    lost(rc, "prosody was killed (SIGKILL)")
    tx = rc.send("message", {"to": BOB_FULL, "type": "chat"}, "<body>x</body>", responder=True)
    r = rc.expect(answer(tx), 5, "answer to xmpp after the loss")
    check(r[0] == "_error" and r[3].get("code") == "XMPP.NotConnected",
          "the RTMP connection stays up: xmpp gives XMPP.NotConnected")
    r = rc.rpc("xmpp_disconnect")
    check(r[0] == "_result" and r[3] == "client-requested",
          "xmpp_disconnect without a session still answers \"client-requested\"")
    check(rc.login(p) == 0.0, "xmpp_connect to the dead server: 0.0")
    lost(rc, "xmpp_connect to the dead server", reasons=("socket-not-connected",))
    rc.close()

    # ---- the XMPP server shuts down (SIGTERM) ----
    # prosody 0.12's mod_smacks closes the TCP connection of a session that
    # may resume (libstrophe enables XEP-0198) without a stream error, so
    # that the client can resume after a restart: the gateway cannot see more
    # than a lost connection here.
    rc5 = Rtmp(gw.port)
    check(rc5.login(closing, resource="closing") == 1.0, "logged in on a third prosody")
    closing.stop()
    lost(rc5, "prosody shut down (SIGTERM)", timeout=5,
         reasons=("connection-lost", "stream-error:system-shutdown", "server-shutdown"))
    rc5.close()

    check(gw.alive(), "gateway still running")
    check(gw.stop() == 0, "gateway exits 0 on SIGTERM")
