#!/usr/bin/python3
"""The echo account (gateway/echobot.c): the gateway logs in to
echo@localhost itself (--echo-account, --echo-password-file, --echo-server)
and answers every call with the caller's own audio.  Through a private
prosody with websocket:

1. alice, an RTMP user, publishes and plays echo's full JID: the call goes
   active, and the 100 Speex frames she sends come back to her, frame-exact
   and in order, with increasing RTMP timestamps.
2. alice calls echo's bare JID: XEP-0353 propose; the echo account rings,
   proceeds and answers; the frames come back again.
3. bob on StanzaJS + werift (a Jingle client we did not write) calls echo's
   full JID: what bob sends comes back to him frame-exact (the first few
   may be lost while DTLS comes up on his side).
4. A chat message to echo gets one line back saying what it is; the echo
   account answers disco#info with the Jingle features.
5. echo's password never appears in the gateway's log, and the gateway
   exits 0 on SIGTERM (ASan: no leak).

Every wait is bounded; processes are ended by PID; the temporary folder is
removed (kept on failure with RX_KEEP=1).
"""
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Procs, args, check, gateway_tail_on_failure, fail  # noqa: E402
from call_kit import Phone, wait_state  # noqa: E402
from peers import (StanzaPeer, ensure_installed, speex_test_frames,  # noqa: E402
                   wait_frames, write_frames)
from stanza_kit import (ALICE, ALICE_PW, BOB, BOB_PW, DOMAIN, accounts,  # noqa: E402
                        callback, start_gateway)
from xmpp_server import Prosody  # noqa: E402

a = args()
ECHO = "echo@" + DOMAIN
ECHO_FULL = ECHO + "/echo"
ECHO_PW = "3cho-s3cret-pw-9042"    # distinctive: the log must never contain it
N_FRAMES = 100
FRAMES, BOB_FRAMES = speex_test_frames(N_FRAMES)


def call_echo(alice, target, what):
    ap, al = alice.stream(), alice.stream()
    alice.r.audio.clear()
    alice.publish(ap, target)
    alice.play(al, target)
    st = alice.r.expect(lambda m: m[0] == "jingle_state" and len(m) > 4 and m[4] == "proposed",
                        15, "jingle_state(proposed) at alice")
    call = st[3]
    wait_state(alice, call, "active", 20, "%s: jingle_state(active)" % what)
    time.sleep(0.5)   # ICE and DTLS on loopback, both calls
    alice.send_frames(ap, FRAMES)
    alice.r.pump(1.0)
    msgs = alice.audio_on(al)
    got = [b[1:] for _, b in msgs]
    ts = [t for t, _ in msgs]
    print("%s: %d frames sent, %d back" % (what, len(FRAMES), len(got)), flush=True)
    check(got == FRAMES, "%s: every frame came back exact and in order" % what)
    check(all(t2 > t1 for t1, t2 in zip(ts, ts[1:])), "%s: RTMP timestamps increase" % what)
    alice.r.call("jingle_hangup", call, "success")
    r = wait_state(alice, call, "ended", 10, "%s: jingle_state(ended)" % what)
    check(r == "success", "%s: hangup -> ended(success) (%r)" % (what, r))
    alice.delete(ap, al)
    alice.r.pump(0.5)


def stanzajs_calls_echo(P, p):
    send_b, recv_b = P.path("bob.send"), P.path("bob.recv")
    write_frames(send_b, BOB_FRAMES)
    bob = StanzaPeer(p.ws_url, BOB + "/stanzajs", BOB_PW, send=send_b, recv=recv_b,
                     log=P.path("stanza.log"))
    try:
        bob.expect("online", 20)
        bob.send({"cmd": "call", "to": ECHO_FULL})
        sid = bob.expect("session", 10)["sid"]
        bob.expect("active", 20, sid=sid)
        s = bob.expect("sent", 30, sid=sid)
        check(s["frames"] == N_FRAMES, "3: StanzaJS sent its %d frames" % N_FRAMES)
        got = wait_frames(recv_b, N_FRAMES, 3)
        print("3: StanzaJS got %d frames back" % len(got), flush=True)
        check(got, "3: audio came back to StanzaJS")
        starts = [i for i in range(min(26, len(BOB_FRAMES)))
                  if BOB_FRAMES[i:i + len(got)] == got]
        check(starts and len(got) >= N_FRAMES - starts[0] - 2,
              "3: what came back is what bob sent, exact and in order, from frame %s"
              % (starts[0] if starts else "?"))
        bob.send({"cmd": "hangup", "sid": sid})
        e = bob.expect("ended", 10, sid=sid)
        check(e["reason"] == "success", "3: hangup -> ended(success) (%r)" % e["reason"])
        bob.quit()
    finally:
        bob.close()


def main():
    ensure_installed()
    with Procs("echo-account") as P, Prosody(websocket=True) as p:
        accounts(p)
        p.register("echo", ECHO_PW)
        p.add_roster("alice", "echo")
        pwfile = P.path("echo.pass")
        with open(pwfile, "w") as f:
            f.write(ECHO_PW + "\n")
        gw = start_gateway(P, a.gateway, p, "--media-addresses", "127.0.0.1",
                           "--echo-account", ECHO, "--echo-password-file", pwfile,
                           "--echo-server", "127.0.0.1:%d" % p.port, level="debug")
        with gateway_tail_on_failure(gw):
            end = time.monotonic() + 20
            while time.monotonic() < end and \
                    "echo account %s: answering calls" % ECHO_FULL not in gw.log():
                time.sleep(0.2)
            check("echo account %s: answering calls" % ECHO_FULL in gw.log(),
                  "the echo account logged in")
            alice = Phone(gw, p, "alice", ALICE_PW)
            alice.r.pump(1.0)   # echo's presence reaches alice's session
            call_echo(alice, ECHO_FULL, "1 (full JID)")
            call_echo(alice, ECHO, "2 (bare JID, XEP-0353)")
            stanzajs_calls_echo(P, p)

            alice.r.send("message", {"to": ECHO, "type": "chat"}, "<body>hello?</body>")
            m = alice.r.expect(lambda m: m[0] == "xmpp_message" and len(m) > 4 and
                               "echo test" in str(m[4]), 10, "echo's answer to a chat message")
            check(m[3].get("from", "").startswith(ECHO), "4: echo answers a chat message")
            tx = alice.r.send("iq", {"to": ECHO_FULL, "type": "get", "id": "d1"},
                              "<query xmlns='http://jabber.org/protocol/disco#info'/>",
                              responder=True)
            r = alice.r.expect(lambda m: m[0] == "_result" and m[1] == tx, 10,
                               "disco#info answer")
            body = str(r[3:])
            check("urn:xmpp:jingle:apps:rtp:audio" in body and "urn:xmpp:jingle-message:0" in body,
                  "4: echo's disco#info lists the Jingle features")
            check(ECHO_PW not in gw.log(), "5: echo's password is not in the log")
            check(gw.alive(), "gateway still running")
            check(gw.stop() == 0, "5: gateway exits 0 on SIGTERM (no leak under ASan)")
    print("PASS")


main()
