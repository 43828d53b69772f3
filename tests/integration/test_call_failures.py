#!/usr/bin/python3
"""Calls that go wrong on the media side, against peers we did not write,
through a private prosody (with websocket):

1. Consent lost.  bob (StanzaJS + werift, tests/peers/stanza_peer.mjs) calls
   alice (an RTMP user of the gateway), who answers; audio flows both ways.
   Then bob's process is killed (SIGKILL: no session-terminate, no
   unavailable presence of its own).  The gateway's ICE consent checks
   (RFC 7675) go unanswered, so alice gets jingle_state(ended,
   connectivity-error) within 30 s of the kill (a few seconds of slack for
   the checks' own timing), and NetStream.Play.Stop; the engine's call is
   torn down on the media thread, with nothing left there (the engine's
   debug line), and the gateway exits cleanly (ASan: no leak).

2. A hand-written Jingle client: carol is a slixmpp contact that answers
   alice's session-initiate itself, with werift (tests/peers/werift_peer.mjs)
   for the media, so every field of the answer is the test's.
   a. Control: the right fingerprint.  The call goes active and Speex
      frames arrive frame-exact both ways; this proves the jig.
   b. A fingerprint that does not match werift's certificate (XEP-0320):
      DTLS completes, the gateway refuses the certificate, alice gets
      jingle_state(ended, security-error), carol gets a session-terminate
      with <security-error/>, and no audio flows either way.

Every wait is bounded; processes are ended by PID; the temporary folder is
removed (kept on failure with RX_KEEP=1).
"""
import os
import re
import sys
import time
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Procs, args, check, gateway_tail_on_failure, fail  # noqa: E402
from call_kit import Phone, wait_state  # noqa: E402
from peers import (StanzaPeer, WeriftPeer, ensure_installed, read_frames,  # noqa: E402
                   speex_test_frames, wait_frames, write_frames)
from stanza_kit import (ALICE_FULL, ALICE_PW, BOB, BOB_PW, DOMAIN, accounts,  # noqa: E402
                        callback, start_gateway)
from xmpp_bot import Bot, is_iq  # noqa: E402
from xmpp_server import Prosody  # noqa: E402

a = args()
N_FRAMES = 100
A_FRAMES, B_FRAMES = speex_test_frames(N_FRAMES)
CONSENT_S = 30       # RFC 7675: consent expires 30 s after the last answer
SLACK_S = 6          # when the last check before the kill was answered, and ours
NS_J = "urn:xmpp:jingle:1"
NS_RTP = "urn:xmpp:jingle:apps:rtp:1"
NS_ICE = "urn:xmpp:jingle:transports:ice-udp:1"
NS_DTLS = "urn:xmpp:jingle:apps:dtls:0"
CAROL = "carol@" + DOMAIN
CAROL_PW = "c4rol-pw-1234"
CAROL_FULL = CAROL + "/jbot"


def torn_down(gw, call, timeout=10):
    """The engine's debug line for call: how many calls it still holds."""
    end = time.monotonic() + timeout
    pat = re.compile(r"engine: call %s torn down; (\d+) left on the media thread"
                     % re.escape(call))
    while time.monotonic() < end:
        m = pat.search(gw.log())
        if m:
            return int(m.group(1))
        time.sleep(0.2)
    return None


def consent_lost(P, gw, p, alice):
    send_b = P.path("bob.send")
    write_frames(send_b, B_FRAMES)
    recv_b = P.path("bob.recv")
    bob = StanzaPeer(p.ws_url, BOB + "/stanzajs", BOB_PW, send=send_b, recv=recv_b,
                     log=P.path("stanza.log"))
    try:
        bob.expect("online", 20)
        time.sleep(0.5)
        bob.send({"cmd": "call", "to": ALICE_FULL})
        sid = bob.expect("session", 10)["sid"]
        inc = alice.r.expect(callback("jingle_incoming"), 15, "jingle_incoming at alice")
        call = inc[3]
        ap, al = alice.stream(), alice.stream()
        alice.publish(ap, call)
        alice.play(al, call)
        wait_state(alice, call, "active", 20, "jingle_state(active) at alice")
        bob.expect("active", 20, sid=sid)
        time.sleep(1.0)
        alice.send_frames(ap, A_FRAMES[:50])
        alice.r.pump(0.5)
        got_b = wait_frames(recv_b, 40, 5)
        got_a = alice.audio_on(al)
        check(len(got_b) >= 40 and len(got_a) >= 40,
              "1: audio flows both ways before the kill (%d to bob, %d to alice)"
              % (len(got_b), len(got_a)))
        bob.proc.kill()
        t0 = time.monotonic()
        bob.proc.wait(10)
        n_before = len(alice.audio_on(al))
        r = wait_state(alice, call, "ended", CONSENT_S + SLACK_S + 5,
                       "jingle_state(ended) after the kill")
        dt = time.monotonic() - t0
        print("1: ended(%s) %.1f s after the kill" % (r, dt), flush=True)
        check(r == "connectivity-error", "1: the reason is connectivity-error (%r)" % r)
        check(dt <= CONSENT_S + SLACK_S, "1: within %d s (+%d s slack) of the kill (%.1f s)"
              % (CONSENT_S, SLACK_S, dt))
        alice.r.expect(lambda m: (m[0] == "onStatus" and len(m) > 3 and isinstance(m[3], dict)
                                  and m[3].get("code") == "NetStream.Play.Stop"),
                       5, "NetStream.Play.Stop at alice")
        check(True, "1: alice's playing stream gets NetStream.Play.Stop")
        check(len(alice.audio_on(al)) <= n_before + 5, "1: no audio after the kill")
        left = torn_down(gw, call)
        check(left == 0, "1: the engine tore the call down and holds no call (%r)" % left)
        alice.delete(ap, al)
    finally:
        bob.close()


# ----- 2: the test is the Jingle client -----

def q(tag, ns):
    return "{%s}%s" % (ns, tag)


def parse_offer(iq):
    """The gateway's session-initiate -> (sid, pt, werift "remote" dict)."""
    j = iq.find(q("jingle", NS_J))
    content = j.find(q("content", NS_J))
    desc = content.find(q("description", NS_RTP))
    pts = [pt for pt in desc.findall(q("payload-type", NS_RTP))
           if pt.get("name", "").lower() == "speex" and pt.get("clockrate") == "16000"]
    check(pts, "2: the offer has speex/16000")
    tr = content.find(q("transport", NS_ICE))
    fp = tr.find(q("fingerprint", NS_DTLS))
    check(fp is not None and fp.get("setup") == "actpass",
          "2: the offer has a DTLS fingerprint, setup actpass")
    cands = [cand_of(c) for c in tr.findall(q("candidate", NS_ICE))]
    remote = {"ufrag": tr.get("ufrag"), "pwd": tr.get("pwd"),
              "fingerprint": {"hash": fp.get("hash"), "value": fp.text.strip()},
              "setup": "actpass", "candidates": cands}
    return j.get("sid"), content.get("name"), content.get("creator"), int(pts[0].get("id")), remote


def cand_of(c):
    return {"foundation": c.get("foundation"), "component": int(c.get("component")),
            "protocol": c.get("protocol"), "priority": int(c.get("priority")),
            "ip": c.get("ip"), "port": int(c.get("port")), "type": c.get("type")}


def more_candidates(carol, sid, remote, after):
    """transport-info from the gateway (trickle) until none comes for 0.3 s:
    their candidates are added to remote."""
    def is_ti(e):
        j = e.find(q("jingle", NS_J))
        return (is_iq(type="set", ns=NS_J)(e) and j.get("action") == "transport-info"
                and j.get("sid") == sid)
    while True:
        try:
            e = carol.wait_for(is_ti, 0.3, after=after)
        except TimeoutError:
            return
        remote["candidates"] += [cand_of(c) for c in e.iter(q("candidate", NS_ICE))]


def accept_xml(sid, name, creator, pt, local, fp_value):
    cands = "".join(
        "<candidate component='%d' foundation='%s' generation='0' id='c%d' ip='%s' network='0'"
        " port='%d' priority='%d' protocol='udp' type='%s'/>"
        % (c["component"], c["foundation"], i, c["ip"], c["port"], c["priority"], c["type"])
        for i, c in enumerate(local["candidates"]))
    return ("<iq type='set' to='%s' id='acc-%s'><jingle xmlns='%s' action='session-accept'"
            " sid='%s' responder='%s'><content creator='%s' name='%s'>"
            "<description xmlns='%s' media='audio'><payload-type id='%d' name='speex'"
            " clockrate='16000' channels='1'/><rtcp-mux/></description>"
            "<transport xmlns='%s' ufrag='%s' pwd='%s'>"
            "<fingerprint xmlns='%s' hash='%s' setup='active'>%s</fingerprint>%s"
            "</transport></content></jingle></iq>"
            % (ALICE_FULL, sid, NS_J, sid, CAROL_FULL, creator, name, NS_RTP, pt, NS_ICE,
               local["ufrag"], local["pwd"], NS_DTLS, local["fingerprint"]["hash"], fp_value,
               cands))


def wrong_fp(value):
    first = int(value[:2], 16) ^ 0xff
    return "%02X%s" % (first, value[2:])


def jingle_client(P, gw, p, alice, carol, bad_fp):
    what = "2b (wrong fingerprint)" if bad_fp else "2a (control)"
    tag = "b" if bad_fp else "a"
    send_w, recv_w = P.path("w%s.send" % tag), P.path("w%s.recv" % tag)
    write_frames(send_w, B_FRAMES)
    mark = carol.mark()
    ap, al = alice.stream(), alice.stream()
    alice.publish(ap, CAROL_FULL)
    alice.play(al, CAROL_FULL)
    iq = carol.wait_for(lambda e: is_iq(type="set", ns=NS_J)(e) and
                        e.find(q("jingle", NS_J)).get("action") == "session-initiate",
                        15, after=mark, what="session-initiate at carol")
    sid, name, creator, pt, remote = parse_offer(iq)
    w = WeriftPeer(pt=pt, send=send_w, recv=recv_w, controlling=False,
                   log=P.path("werift-%s.log" % tag), name="werift-" + tag)
    try:
        local = w.expect("local", 20)
        time.sleep(0.3)
        more_candidates(carol, sid, remote, mark)
        check(remote["candidates"], "%s: the gateway offered candidates" % what)
        w.remote(dict(remote, ev="local"))
        fp_value = local["fingerprint"]["value"]
        carol.send(accept_xml(sid, name, creator, pt, local,
                              wrong_fp(fp_value) if bad_fp else fp_value))
        if not bad_fp:
            wait_state(alice, sid, "active", 20, "jingle_state(active) at alice")
            w.expect("connected", 20)
            time.sleep(1.0)   # werift is up; give our side time to install its keys
            alice.send_frames(ap, A_FRAMES)
            w.expect("sent", 30)
            alice.r.pump(1.0)
            got_w = wait_frames(recv_w, len(A_FRAMES), 5)
            got_a = [b[1:] for _, b in alice.audio_on(al)]
            check(got_w == A_FRAMES, "%s: werift got alice's %d frames exact (%d)"
                  % (what, len(A_FRAMES), len(got_w)))
            check(got_a == B_FRAMES, "%s: alice got werift's %d frames exact (%d)"
                  % (what, len(B_FRAMES), len(got_a)))
            alice.r.call("jingle_hangup", sid, "success")
            r = wait_state(alice, sid, "ended", 10, "jingle_state(ended) at alice")
            check(r == "success", "%s: hangup -> ended(success) (%r)" % (what, r))
        else:
            r = wait_state(alice, sid, "ended", 20, "jingle_state(ended) at alice")
            check(r == "security-error", "%s: alice hears ended(security-error) (%r)"
                  % (what, r))
            t = carol.wait_for(lambda e: is_iq(type="set", ns=NS_J)(e) and
                               e.find(q("jingle", NS_J)).get("action") == "session-terminate",
                               10, after=mark, what="session-terminate at carol")
            reason = t.find(q("jingle", NS_J)).find(q("reason", NS_J))
            check(reason is not None and reason.find(q("security-error", NS_J)) is not None,
                  "%s: carol gets session-terminate with <security-error/>" % what)
            alice.send_frames(ap, A_FRAMES[:25])
            alice.r.pump(1.5)
            check(not read_frames(recv_w) if os.path.exists(recv_w) else True,
                  "%s: werift received no audio from the gateway" % what)
            check(not alice.audio_on(al), "%s: alice received no audio from werift" % what)
        alice.delete(ap, al)
        alice.r.pump(0.5)
        alice.r.audio.clear()
    finally:
        w.close()


def main():
    ensure_installed()
    with Procs("call-failures") as P, Prosody(websocket=True) as p:
        accounts(p)
        p.register("carol", CAROL_PW)
        gw = start_gateway(P, a.gateway, p, "--media-addresses", "127.0.0.1", level="debug")
        with gateway_tail_on_failure(gw):
            alice = Phone(gw, p, "alice", ALICE_PW)
            with Bot("carol") as carol:
                carol.connect(CAROL_FULL, CAROL_PW, p.ca_file, port=p.port)
                carol.auto_reply_iq(NS_J)   # every Jingle iq set gets its result
                carol.send_presence()
                jingle_client(P, gw, p, alice, carol, bad_fp=False)
                jingle_client(P, gw, p, alice, carol, bad_fp=True)
            consent_lost(P, gw, p, alice)
            check(gw.alive(), "gateway still running")
            check(gw.stop() == 0, "gateway exits 0 on SIGTERM (no leak under ASan)")
    print("PASS")


main()
