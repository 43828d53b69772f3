"""Our media engine (media/engine.h, run by tests/peers/engine_peer) against
a foreign WebRTC stack (werift, tests/peers/werift_peer.mjs): raw ICE +
DTLS-SRTP over loopback, rtcp-mux, speex/16000 as payload type 97.  The
signalling is done here: werift's JSON "local" event becomes the engine's
remote-* lines and the engine's local/fp/cand lines become werift's
"remote" command.  No gateway, no XMPP.

(1) werift ICE-controlling and DTLS client (active), the engine controlled
    and passive;
(2) the engine controlling and active, werift controlled and passive;
    in both, 150 frames each way (test-vectors/speex/wb-q8.spxv, looped)
    arrive byte-exact and in order, and the engine's stats count every
    packet (rtp_sent, rtp_recv) with no SRTP authentication failure, no
    bad or malformed packet and no loss;
(3) as (1) but the engine is given a wrong fingerprint for werift: the
    engine reports security-error (the certificate does not match), never
    reports media, receives and delivers nothing, and werift receives no
    RTP.

Every wait is bounded; both peers are ended by PID; the temporary folder is
removed (kept on failure with RX_KEEP=1).
"""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Procs, check  # noqa: E402
from peers import (EnginePeer, WeriftPeer, ensure_installed, read_frames,  # noqa: E402
                   speex_test_frames, wait_frames, write_frames)

N_FRAMES = 150
PT = 97
# after the security error: time for anything that should not happen
# (werift's media, our media) to show up
QUIET_S = 2


def wrong(fp):
    """The same fingerprint with its first byte changed."""
    pairs = fp["value"].split(":")
    pairs[0] = "%02X" % (int(pairs[0], 16) ^ 0xFF)
    return {"hash": fp["hash"], "value": ":".join(pairs)}


def start(d, tag, binary, w_frames, e_frames, engine_controlling, engine_setup):
    """Both peers, their parameters checked; returns (werift, engine, paths)."""
    paths = {x: os.path.join(d, "%s-%s" % (tag, x)) for x in ("w.send", "e.send", "w.recv", "e.recv")}
    write_frames(paths["w.send"], w_frames)
    write_frames(paths["e.send"], e_frames)
    w = WeriftPeer(pt=PT, send=paths["w.send"], recv=paths["w.recv"],
                   setup="active" if engine_setup == "passive" else "passive",
                   controlling=not engine_controlling, log=os.path.join(d, tag + "-werift.log"),
                   name="werift")
    try:
        e = EnginePeer(binary, pt=PT, send=paths["e.send"], recv=paths["e.recv"],
                       controlling=engine_controlling, timeout=60,
                       log=os.path.join(d, tag + "-engine.log"))
    except BaseException:
        w.close()
        raise
    return w, e, paths


def check_local(tag, el, wl):
    for who, loc in (("engine", el), ("werift", wl)):
        c = loc["candidates"]
        check(c and all(x["ip"] == "127.0.0.1" and x["type"] == "host" and x["component"] == 1
                        and x["protocol"] == "udp" for x in c)
              and loc["fingerprint"]["hash"] == "sha-256"
              and len(loc["fingerprint"]["value"].split(":")) == 32,
              "%s: %s: %d udp host candidate(s) on 127.0.0.1, component 1, sha-256 fingerprint"
              % (tag, who, len(c)))


def media_case(d, binary, tag, w_frames, e_frames, engine_controlling, engine_setup):
    w, e, paths = start(d, tag, binary, w_frames, e_frames, engine_controlling, engine_setup)
    with w, e:
        wl, el = w.expect("local", 15), e.local(15)
        check_local(tag, el, wl)
        e.remote(wl, setup=engine_setup)
        w.remote(el, setup=engine_setup)
        t = time.monotonic()
        e.expect("connected", 20)
        e.expect("media", 20)
        w.expect("connected", 20)
        check(True, "%s: ICE + DTLS-SRTP up on both sides in %.2f s" % (tag, time.monotonic() - t))
        check(w.expect("sent", 30)["frames"] == len(w_frames) and
              e.expect("sent", 30)["frames"] == len(e_frames), "%s: all frames sent" % tag)
        got_e = wait_frames(paths["e.recv"], len(w_frames))
        got_w = wait_frames(paths["w.recv"], len(e_frames))
        st, ed = e.stop()
        wd = w.stop()
    print("   engine stats: " + " ".join("%s=%s" % kv for kv in st.items() if kv[0] != "ev"))
    check(got_e == w_frames, "%s: werift -> engine %d/%d frames, byte-exact and in order"
          % (tag, len(got_e), len(w_frames)))
    check(got_w == e_frames, "%s: engine -> werift %d/%d frames, byte-exact and in order"
          % (tag, len(got_w), len(e_frames)))
    check(ed["received"] == len(w_frames) and ed["sent"] == len(e_frames) and
          wd["received"] == len(e_frames) and wd["sent"] == len(w_frames),
          "%s: done events: engine sent %d received %d, werift sent %d received %d"
          % (tag, ed["sent"], ed["received"], wd["sent"], wd["received"]))
    check(st["rtp_recv"] == len(got_e) and st["rtp_sent"] == len(e_frames) and
          st["rx_frames_out"] == len(got_e),
          "%s: engine stats: rtp_recv %d, rtp_sent %d, frames played %d"
          % (tag, st["rtp_recv"], st["rtp_sent"], st["rx_frames_out"]))
    bad = {k: st[k] for k in ("srtp_auth_fail", "srtp_replay", "bad_packets", "bad_rtp",
                              "wrong_pt", "dtls_bad", "send_errors", "tx_before_ready",
                              "rx_lost", "rx_late", "rx_dups", "rx_dropped", "rx_bad", "lost")}
    check(not any(bad.values()), "%s: engine stats: nothing failed, dropped or lost: %s" % (tag, bad))


def wrong_fp_case(d, binary, tag, w_frames, e_frames):
    w, e, paths = start(d, tag, binary, w_frames, e_frames, False, "passive")
    with w, e:
        wl, el = w.expect("local", 15), e.local(15)
        check_local(tag, el, wl)
        e.remote(dict(wl, fingerprint=wrong(wl["fingerprint"])), setup="passive")
        w.remote(el, setup="passive")
        sec = e.expect("security-error", 20)
        check("fingerprint" in sec["what"], "%s: engine: security-error: %s" % (tag, sec["what"]))
        time.sleep(QUIET_S)
        st, ed = e.stop()
        # werift either gave up on the handshake (an "error" event, exit 1)
        # or still waits for it; it must not have seen media either way
        w_events = [x for x in w.pending() if x.get("ev") != "local"]
        w_alive = w.proc.poll() is None
        wd = w.stop() if w_alive else None
    got_e, got_w = read_frames(paths["e.recv"]), read_frames(paths["w.recv"])
    print("   werift: %s, events %s" % ("still waiting" if w_alive else
                                         "exited %s" % w.proc.returncode, w_events))
    check(not any(x["ev"] in ("media", "sent") for x in e.history),
          "%s: engine: no media event, nothing sent" % tag)
    check(not got_e and ed["received"] == 0 and st["rtp_recv"] == 0 and st["rtp_sent"] == 0,
          "%s: engine delivered %d frames, rtp_recv %d, rtp_sent %d"
          % (tag, len(got_e), st["rtp_recv"], st["rtp_sent"]))
    check(not got_w and (wd is None or wd["received"] == 0),
          "%s: werift received %d frames" % (tag, len(got_w)))
    check(st["srtp_auth_fail"] == 0 and st["bad_packets"] == 0,
          "%s: engine stats: srtp_auth_fail %d, bad_packets %d, before_secure %d"
          % (tag, st["srtp_auth_fail"], st["bad_packets"], st["before_secure"]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--engine-peer", required=True, help="path to tests/peers/engine_peer")
    binary = ap.parse_args().engine_peer
    ensure_installed()
    w_frames, e_frames = speex_test_frames(N_FRAMES)
    t0 = time.monotonic()
    with Procs("engine-werift") as procs:     # the temporary folder
        media_case(procs.dir, binary, "werift-active", w_frames, e_frames, False, "passive")
        media_case(procs.dir, binary, "engine-active", w_frames, e_frames, True, "active")
        wrong_fp_case(procs.dir, binary, "wrong-fp", w_frames, e_frames)
    print("PASS (%.1f s)" % (time.monotonic() - t0))


if __name__ == "__main__":
    main()
