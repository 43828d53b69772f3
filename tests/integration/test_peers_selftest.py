"""Self-test of the JavaScript test peers (tests/peers/, driven through
peers.py): no gateway involved.

(a) werift <-> werift, raw ICE + DTLS-SRTP over loopback: 150 speex frames
    each way arrive frame-exact.  Run twice: active/passive with
    controlling/controlled, then an actpass offer with both sides
    controlling (werift repairs the ICE role conflict).  --sdes and
    --no-rtcp-mux are refused with exit status 2.
(b) StanzaJS <-> StanzaJS through a private prosody (websocket): a raw
    XEP-0353 <propose/> reaches the other side as a "jmi" event; alice calls
    bob, the offer is speex/16000, 150 frames each way arrive frame-exact,
    alice hangs up and both see "ended" (success); bob calls alice, alice
    declines with "busy" and both see "ended" (busy).

Frames are the reference frames of test-vectors/speex/wb-q8.spxv, looped.
Every wait is bounded; the peers are ended by PID; the temporary folder is
removed (kept on failure with RX_KEEP=1).
"""
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import check  # noqa: E402
from peers import (NODE, PEERS_DIR, StanzaPeer, WeriftPeer, ensure_installed,  # noqa: E402
                   speex_test_frames, wait_frames, write_frames)
from xmpp_server import Prosody  # noqa: E402

N_FRAMES = 150


def werift_pair(d, tag, a_frames, b_frames, a_opts, b_opts):
    fa, fb = [os.path.join(d, "%s-%s" % (tag, x)) for x in ("a.send", "b.send")]
    ra, rb = [os.path.join(d, "%s-%s" % (tag, x)) for x in ("a.recv", "b.recv")]
    write_frames(fa, a_frames)
    write_frames(fb, b_frames)
    with WeriftPeer(send=fa, recv=ra, log=os.path.join(d, tag + "-a.log"), name="werift-a", **a_opts) as a, \
            WeriftPeer(send=fb, recv=rb, log=os.path.join(d, tag + "-b.log"), name="werift-b", **b_opts) as b:
        la, lb = a.expect("local", 15), b.expect("local", 15)
        for loc in (la, lb):
            c = loc["candidates"]
            check(c and all(x["ip"] == "127.0.0.1" and x["type"] == "host" and x["component"] == 1
                            for x in c) and loc["fingerprint"]["hash"] == "sha-256"
                  and len(loc["fingerprint"]["value"].split(":")) == 32,
                  "%s: local parameters: %d host candidate(s) on 127.0.0.1, sha-256 fingerprint, "
                  "setup %s" % (tag, len(c), loc["setup"]))
        a.remote(lb)
        b.remote(la)
        t = time.monotonic()
        a.expect("connected", 20)
        b.expect("connected", 20)
        check(True, "%s: ICE + DTLS up in %.2f s" % (tag, time.monotonic() - t))
        check(a.expect("sent", 30)["frames"] == len(a_frames) and
              b.expect("sent", 30)["frames"] == len(b_frames), "%s: all frames sent" % tag)
        got_a, got_b = wait_frames(ra, len(b_frames)), wait_frames(rb, len(a_frames))
        da, db = a.stop(), b.stop()
    check(da["received"] == len(b_frames) and db["received"] == len(a_frames),
          "%s: done events count %d/%d received" % (tag, da["received"], db["received"]))
    check(got_b == a_frames, "%s: a -> b %d frames frame-exact" % (tag, len(got_b)))
    check(got_a == b_frames, "%s: b -> a %d frames frame-exact" % (tag, len(got_a)))


def test_werift(d, a_frames, b_frames):
    werift_pair(d, "werift-1", a_frames, b_frames,
                dict(setup="active", controlling=True), dict(setup="passive", controlling=False))
    werift_pair(d, "werift-2", a_frames, b_frames,
                dict(setup="actpass", controlling=True), dict(setup="active", controlling=True))
    for flag in ("--sdes", "--no-rtcp-mux"):
        r = subprocess.run([NODE, os.path.join(PEERS_DIR, "werift_peer.mjs"), "--pt", "97", flag],
                           stdin=subprocess.DEVNULL, capture_output=True, timeout=30)
        check(r.returncode == 2 and b"not supported" in r.stderr and not r.stdout,
              "werift_peer %s refused (exit 2): %s" % (flag, r.stderr.decode().strip()))


def test_stanza(d, a_frames, b_frames):
    fa, fb = os.path.join(d, "alice.send"), os.path.join(d, "bob.send")
    ra, rb = os.path.join(d, "alice.recv"), os.path.join(d, "bob.recv")
    write_frames(fa, a_frames)
    write_frames(fb, b_frames)
    with Prosody(websocket=True) as p:
        p.register("alice", "alice-pw")
        p.register("bob", "bob-pw")
        p.add_roster("alice", "bob")
        with StanzaPeer(p.ws_url, "alice@localhost/a", "alice-pw", send=fa, recv=ra,
                        log=os.path.join(d, "stanza-alice.log")) as alice, \
                StanzaPeer(p.ws_url, "bob@localhost/b", "bob-pw", send=fb, recv=rb,
                           log=os.path.join(d, "stanza-bob.log")) as bob:
            check(alice.expect("online", 20)["jid"] == "alice@localhost/a" and
                  bob.expect("online", 20)["jid"] == "bob@localhost/b", "both StanzaJS peers online")

            alice.send({"cmd": "raw", "xml": "<message to='bob@localhost/b' id='jmi1'>"
                        "<propose xmlns='urn:xmpp:jingle-message:0' id='p1'>"
                        "<description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'/>"
                        "</propose></message>"})
            jmi = bob.expect("jmi", 10)
            check("propose" in jmi["xml"] and "p1" in jmi["xml"], "raw XEP-0353 propose arrives as jmi")

            alice.send({"cmd": "call", "to": "bob@localhost/b"})
            sid = alice.expect("session", 10)["sid"]
            inc = bob.expect("incoming", 15)
            codecs = inc["codecs"]
            check(inc["sid"] == sid and inc["from"] == "alice@localhost/a" and codecs and
                  codecs[0]["name"] == "speex" and codecs[0]["clockrate"] == 16000,
                  "bob sees the incoming call, speex/16000 first: %s" % codecs)
            bob.send({"cmd": "accept", "sid": sid})
            t = time.monotonic()
            alice.expect("active", 20, sid=sid)
            bob.expect("active", 20, sid=sid)
            check(True, "session active on both sides in %.2f s" % (time.monotonic() - t))
            check(alice.expect("sent", 30, sid=sid)["frames"] == len(a_frames) and
                  bob.expect("sent", 30, sid=sid)["frames"] == len(b_frames), "all frames sent")
            got_a, got_b = wait_frames(ra, len(b_frames)), wait_frames(rb, len(a_frames))
            alice.send({"cmd": "hangup", "sid": sid})
            ea, eb = alice.expect("ended", 10, sid=sid), bob.expect("ended", 10, sid=sid)
            check(ea["reason"] == "success" and eb["reason"] == "success",
                  "hangup: both ended (%s, %s)" % (ea["reason"], eb["reason"]))
            check(got_b == a_frames, "alice -> bob %d frames frame-exact" % len(got_b))
            check(got_a == b_frames, "bob -> alice %d frames frame-exact" % len(got_a))

            bob.send({"cmd": "call", "to": "alice@localhost/a"})
            sid2 = bob.expect("session", 10)["sid"]
            alice.expect("incoming", 15, sid=sid2)
            alice.send({"cmd": "decline", "sid": sid2, "reason": "busy"})
            ea, eb = alice.expect("ended", 10, sid=sid2), bob.expect("ended", 10, sid=sid2)
            check(ea["reason"] == "busy" and eb["reason"] == "busy",
                  "decline busy: both ended (%s, %s)" % (ea["reason"], eb["reason"]))
            alice.quit()
            bob.quit()
            check(True, "both StanzaJS peers quit with status 0")


def main():
    ensure_installed()
    a_frames, b_frames = speex_test_frames(N_FRAMES)
    d = tempfile.mkdtemp(prefix="rx-peers-")
    ok = False
    try:
        test_werift(d, a_frames, b_frames)
        test_stanza(d, a_frames, b_frames)
        ok = True
    finally:
        if ok or not os.environ.get("RX_KEEP"):
            shutil.rmtree(d, ignore_errors=True)
        else:
            print("kept " + d)
    print("PASS")


if __name__ == "__main__":
    main()
