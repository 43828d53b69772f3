#!/usr/bin/python3
"""Voice calls between an RTMP user of the gateway (alice) and a third-party
Jingle client (bob: StanzaJS + werift, tests/peers/stanza_peer.mjs driven by
peers.StanzaPeer), through a private prosody with websocket:

1. bob (full JID) calls alice's full JID: alice gets jingle_incoming and
   answers with publish(call)/play(call); Speex frames flow both ways
   frame-exact and in order (the first few may be lost while DTLS comes
   up); bob hangs up -> alice gets jingle_state(ended, success).
2. alice calls bob's full JID (publish/play); bob accepts; frames both
   ways; alice hangs up (jingle_hangup) -> bob reports ended(success).
3. alice calls bob's bare JID (XEP-0353): bob sees the <propose/> as a
   "jmi" event, answers with raw <ringing/> and <proceed/>; the gateway's
   session-initiate reaches bob, who accepts; frames both ways; alice
   hangs up.
4. alice calls bob's bare JID and bob, like StanzaJS itself, ignores the
   propose: after 5 s without ringing the gateway retracts it and sends
   the session-initiate to bob's available resource; bob accepts; frames
   both ways; alice hangs up.

Frames are the reference frames of test-vectors/speex/wb-q8.spxv, looped to
150 per direction.  Every wait is bounded; processes are ended by PID; the
temporary folder is removed (kept on failure with RX_KEEP=1).  On failure
the tails of the gateway and StanzaJS logs are printed.
"""
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Procs, VECTORS, args, check, fail  # noqa: E402
from call_kit import Phone, wait_state  # noqa: E402
from peers import (PeerError, StanzaPeer, ensure_installed,  # noqa: E402
                   speex_frames_from_spxv, wait_frames, write_frames)
from stanza_kit import (ALICE_FULL, ALICE_PW, BOB, BOB_PW, accounts,  # noqa: E402
                        callback, start_gateway)
from xmpp_server import Prosody  # noqa: E402

a = args()
N_FRAMES = 150
BOB_SJ = BOB + "/stanzajs"
NS_JMI = "urn:xmpp:jingle-message:0"

REF = speex_frames_from_spxv(os.path.join(VECTORS, "speex", "wb-q8.spxv"))
A_FRAMES = (REF * (N_FRAMES // len(REF) + 1))[:N_FRAMES]          # alice -> bob
B_FRAMES = (REF[::-1] * (N_FRAMES // len(REF) + 1))[:N_FRAMES]    # bob -> alice






def check_seq(got, sent, what):
    """got must be sent[first:first+len(got)], with first <= 25 and at most
    2 frames missing at the end."""
    if not got:
        fail("%s: no audio arrived" % what)
    try:
        first = sent.index(got[0])
    except ValueError:
        fail("%s: the first frame received is not one we sent" % what)
    # The reference set repeats; pick the earliest start that matches.
    starts = [i for i, f in enumerate(sent) if f == got[0]
              and sent[i:i + len(got)] == got]
    if starts:
        first = starts[0]
    check(got == sent[first:first + len(got)], "%s: %d frames arrive exact and in order"
          % (what, len(got)))
    check(len(got) >= len(sent) - first - 2 and first <= 25,
          "%s: nothing lost after the start (%d of %d from frame %d)"
          % (what, len(got), len(sent), first))


def check_rtmp_frames(msgs, sent, what):
    bad = [b for _, b in msgs if not b or b[0] >> 4 != 11]
    if bad:
        fail("%s: audio that is not Speex: %r" % (what, bad[:2]))
    ts = [t for t, _ in msgs]
    check(all(t2 > t1 for t1, t2 in zip(ts, ts[1:])), "%s: RTMP timestamps increase" % what)
    check_seq([b[1:] for _, b in msgs], sent, what)


def talk(alice, ap, al, bob, sid, recv, what):
    """Both sides talk: bob started at "active"; alice sends now.  Checks
    both directions frame-exact."""
    time.sleep(1.0)   # ICE and DTLS on loopback
    alice.send_frames(ap, A_FRAMES)
    alice.r.pump(1.0)
    s = bob.expect("sent", 30, sid=sid)
    check(s["frames"] == len(B_FRAMES), "%s: StanzaJS sent its %d frames" % (what, s["frames"]))
    alice.r.pump(0.5)
    got_b = wait_frames(recv, len(A_FRAMES), 5)
    got_a = alice.audio_on(al)
    print("%s: StanzaJS received %d frames, alice received %d audio messages"
          % (what, len(got_b), len(got_a)), flush=True)
    check_rtmp_frames(got_a, B_FRAMES, "%s: StanzaJS -> alice" % what)
    check_seq(got_b, A_FRAMES, "%s: alice -> StanzaJS" % what)


def scenario_incoming(P, gw, alice, bob, recv):
    """1. StanzaJS calls alice's full JID."""
    bob.send({"cmd": "call", "to": ALICE_FULL})
    sid = bob.expect("session", 10)["sid"]
    inc = alice.r.expect(callback("jingle_incoming"), 15, "jingle_incoming at alice")
    call = inc[3]
    check(call == sid, "jingle_incoming carries StanzaJS's sid (%r)" % call)
    check(inc[4] == BOB_SJ, "jingle_incoming names bob's full JID (%r)" % inc[4])
    ap, al = alice.stream(), alice.stream()
    alice.publish(ap, call)
    alice.play(al, call)
    wait_state(alice, call, "active", 20, "jingle_state(active) at alice")
    bob.expect("active", 20, sid=sid)
    check(True, "1: session active on both sides")
    talk(alice, ap, al, bob, sid, recv, "1")
    bob.send({"cmd": "hangup", "sid": sid})
    r = wait_state(alice, call, "ended", 10, "jingle_state(ended) at alice")
    check(r == "success", "1: StanzaJS hangs up -> alice hears ended(success) (%r)" % r)
    e = bob.expect("ended", 10, sid=sid)
    check(e["reason"] == "success", "1: StanzaJS reports ended(success) (%r)" % e["reason"])
    alice.delete(ap, al)


def place_outgoing(alice, target):
    ap, al = alice.stream(), alice.stream()
    alice.publish(ap, target)
    alice.play(al, target)
    st = alice.r.expect(lambda m: m[0] == "jingle_state" and len(m) > 4 and m[4] == "proposed",
                        15, "jingle_state(proposed) at alice")
    return st[3], ap, al


def finish_outgoing(alice, bob, call, sid, ap, al, recv, what):
    check(sid == call, "%s: StanzaJS is offered alice's call id (%r)" % (what, sid))
    bob.send({"cmd": "accept", "sid": sid})
    wait_state(alice, call, "active", 20, "jingle_state(active) at alice")
    bob.expect("active", 20, sid=sid)
    check(True, "%s: session active on both sides" % what)
    talk(alice, ap, al, bob, sid, recv, what)
    alice.r.call("jingle_hangup", call, "success")
    e = bob.expect("ended", 10, sid=sid)
    check(e["reason"] == "success", "%s: alice hangs up -> StanzaJS ended(success) (%r)"
          % (what, e["reason"]))
    r = wait_state(alice, call, "ended", 10, "jingle_state(ended) at alice")
    check(r == "success", "%s: alice hears ended(success) (%r)" % (what, r))
    alice.delete(ap, al)


def scenario_outgoing_full(alice, bob, recv):
    """2. alice calls StanzaJS's full JID."""
    call, ap, al = place_outgoing(alice, BOB_SJ)
    inc = bob.expect("incoming", 15)
    codecs = inc["codecs"]
    check(inc["from"] == ALICE_FULL and codecs and codecs[0]["name"] == "speex"
          and codecs[0]["clockrate"] == 16000,
          "2: StanzaJS sees alice's call, speex/16000: %s from %s" % (codecs, inc["from"]))
    finish_outgoing(alice, bob, call, inc["sid"], ap, al, recv, "2")


def scenario_outgoing_bare(alice, bob, recv):
    """3. alice calls bob's bare JID: XEP-0353 propose / ringing / proceed."""
    call, ap, al = place_outgoing(alice, BOB)
    jmi = bob.expect("jmi", 15)
    xml = jmi["xml"]
    m = re.search(r"<propose\b[^>]*\bid=[\"']([^\"']+)[\"']", xml)
    check(m is not None and NS_JMI in xml, "3: StanzaJS receives a XEP-0353 <propose/>")
    pid = m.group(1)
    check(pid == call, "3: the propose id is the call id (%r, %r)" % (pid, call))
    frm = re.search(r"<message\b[^>]*\bfrom=[\"']([^\"']+)[\"']", xml)
    check(frm is not None and frm.group(1) == ALICE_FULL,
          "3: the propose comes from alice's full JID (%r)" % (frm and frm.group(1)))
    for el in ("ringing", "proceed"):
        bob.send({"cmd": "raw", "xml": "<message to='%s' id='jmi-%s-%s'><%s xmlns='%s' id='%s'/>"
                  "</message>" % (ALICE_FULL, el, pid, el, NS_JMI, pid)})
        if el == "ringing":
            wait_state(alice, call, "ringing", 10, "jingle_state(ringing) at alice")
            check(True, "3: <ringing/> -> jingle_state(ringing)")
    inc = bob.expect("incoming", 15)
    check(inc["from"] == ALICE_FULL, "3: after <proceed/> the session-initiate reaches StanzaJS")
    finish_outgoing(alice, bob, call, inc["sid"], ap, al, recv, "3")


def scenario_outgoing_fallback(alice, bob, recv):
    """4. alice calls bob's bare JID; bob ignores the propose."""
    call, ap, al = place_outgoing(alice, BOB)
    jmi = bob.expect("jmi", 15)
    check("<propose" in jmi["xml"], "4: StanzaJS receives the <propose/> (and ignores it)")
    t0 = time.monotonic()
    inc = bob.expect("incoming", 15)
    dt = time.monotonic() - t0
    check(inc["from"] == ALICE_FULL and 4.0 <= dt <= 8.0,
          "4: without ringing, the session-initiate reaches bob's resource %.1f s later" % dt)
    retract = bob.expect("jmi", 5)
    check("<retract" in retract["xml"], "4: the propose is retracted")
    finish_outgoing(alice, bob, call, inc["sid"], ap, al, recv, "4")


def tail(text, n=60):
    return "\n".join(text.splitlines()[-n:])


def main():
    ensure_installed()
    with Procs("call-stanzajs") as P, Prosody(websocket=True) as p:
        accounts(p)
        gw = start_gateway(P, a.gateway, p, "--media-addresses", "127.0.0.1", level="debug")
        send_b = P.path("bob.send")
        write_frames(send_b, B_FRAMES)
        slog = P.path("stanza.log")
        bob = None
        try:
            alice = Phone(gw, p, "alice", ALICE_PW)
            failed = []
            for n, what in ((1, "incoming"), (2, "outgoing-full"), (3, "outgoing-bare"),
                            (4, "outgoing-bare-fallback")):
                recv = P.path("bob-%d.recv" % n)
                # One StanzaJS process per scenario: its --recv file is per process.
                bob = StanzaPeer(p.ws_url, BOB_SJ, BOB_PW, send=send_b, recv=recv, log=slog,
                                 name="stanzajs-%d" % n)
                bob.expect("online", 20)
                time.sleep(0.5)   # bob's presence reaches alice's gateway session
                alice.r.audio.clear()   # stream ids are reused after deleteStream
                try:
                    if n == 1:
                        scenario_incoming(P, gw, alice, bob, recv)
                    elif n == 2:
                        scenario_outgoing_full(alice, bob, recv)
                    elif n == 3:
                        scenario_outgoing_bare(alice, bob, recv)
                    else:
                        scenario_outgoing_fallback(alice, bob, recv)
                    bob.quit()
                except (SystemExit, PeerError) as e:
                    # Go on with the next scenario (a fresh StanzaJS), fail at the end.
                    if isinstance(e, PeerError):
                        print("FAIL: %s" % e, flush=True)
                    failed.append("%d (%s)" % (n, what))
                    print("--- scenario %d failed; gateway log tail ---\n%s"
                          % (n, tail(gw.log(), 40)), flush=True)
                bob.close()
                bob = None
                alice.r.pump(1.0)
                print("scenario %d (%s) %s" % (n, what, "FAILED" if failed and failed[-1].startswith(
                    str(n)) else "passed"), flush=True)
            if failed:
                fail("scenarios failed: %s" % ", ".join(failed))
            check(gw.alive(), "gateway still running")
            check(gw.stop() == 0, "gateway exits 0 on SIGTERM")
        except (SystemExit, PeerError, Exception) as e:
            if bob is not None:
                bob.close()
            print("--- gateway log tail ---\n" + tail(gw.log(), 80))
            if os.path.exists(slog):
                with open(slog, errors="replace") as f:
                    print("--- StanzaJS log tail ---\n" + tail(f.read(), 60))
            if gw.alive():
                gw.stop()       # SIGTERM: the workers shut down with the master
            if isinstance(e, PeerError):
                print("FAIL: %s" % e, flush=True)
                raise SystemExit(1)
            raise
    print("PASS")


if __name__ == "__main__":
    main()
