#!/usr/bin/python3
"""Gateway-to-gateway voice calls with FFmpeg only (client-api.md "Voice
calls", "Answering without RPC"), through a real prosody:

- B (FFmpeg) logs in at connect (-rtmp_conn) and plays the stream
  "incoming", recording into a WAV;
- A (FFmpeg) logs in at connect and publishes recorded speech to B's JID;
- the gateway places a Jingle call from A's account to B's (full JID:
  session-initiate; bare JID: XEP-0353 propose first), B's answering stream
  takes it, and A's Speex frames reach B through ICE and DTLS-SRTP;
- when A's file ends, A unpublishes, the call ends, and B's FFmpeg stops.

B's recording must hold the whole speech: the correlation with the
decoded input, at the best lag, is >= 0.99 over the speech (the frames are
relayed unchanged, so anything lost or corrupted shows) and the overlap
covers at least 95 % of it.  The source starts with 2 s of silence, which
covers the call set-up: audio published before the media path is up is
dropped by design.

--direction picks who calls whom (A=alice -> B=bob, or the reverse), and
--target full|bare picks the JID form."""
import os
import re
import sys
import time

from harness import Procs, VECTORS, args, check, fail, run
from stanza_kit import ALICE_PW, BOB_PW, accounts, start_gateway
from xmpp_server import Prosody

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import audiocmp  # noqa: E402

a = args([("--target", {"default": "full", "choices": ["full", "bare"]}),
          ("--reverse", {"action": "store_true"})])

SILENCE_S = 2.0


def rtmp_conn(p, user, pw, resource):
    return ("O:1 NS:username:%s NS:domain:%s NS:password:%s NS:resource:%s "
            "NS:host:127.0.0.1 NN:port:%d O:0" % (user, p.domain, pw, resource, p.port))


def make_source(P):
    """2 s of silence then the speech, as FLV Speex fpp 1; and the decoded
    speech part as the reference."""
    speech = os.path.join(VECTORS, "speech", "speech-en.wav")
    src = P.path("src.flv")
    r = run(["ffmpeg", "-nostdin", "-loglevel", "error", "-y",
             "-f", "lavfi", "-t", str(SILENCE_S), "-i", "anullsrc=r=16000:cl=mono",
             "-i", speech, "-filter_complex", "[0:a][1:a]concat=n=2:v=0:a=1[a]",
             "-map", "[a]", "-c:a", "libspeex", "-ar", "16000", "-ac", "1",
             "-frames_per_packet", "1", "-f", "flv", src], 60)
    if r.returncode:
        fail("could not make the source: " + r.stdout.decode(errors="replace"))
    full = P.path("src.wav")
    r = run(["ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-c:a", "libspeex", "-i", src,
             "-c:a", "pcm_s16le", "-ar", "16000", "-ac", "1", full], 60)
    if r.returncode:
        fail("could not decode the source")
    ref = P.path("ref.wav")
    r = run(["ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-i", full,
             "-ss", str(SILENCE_S), "-c:a", "pcm_s16le", ref], 60)
    if r.returncode:
        fail("could not cut the reference")
    return src, ref


def wait_log(gw, text, timeout, what):
    end = time.time() + timeout
    while time.time() < end:
        if text in gw.log():
            return
        if not gw.alive():
            fail("gateway died while waiting for " + what)
        time.sleep(0.1)
    print(gw.log()[-4000:])
    fail("%s: %r not in the gateway log within %s s" % (what, text, timeout))


with Procs("call-ffmpeg") as P, Prosody() as p:
    accounts(p)
    gw = start_gateway(P, a.gateway, p, "--media-addresses", "127.0.0.1", level="debug")
    src, ref = make_source(P)
    caller, callee = ("bob", "alice") if a.reverse else ("alice", "bob")
    pw = {"alice": ALICE_PW, "bob": BOB_PW}
    callee_jid = "%s@%s/ff" % (callee, p.domain)
    target = callee_jid if a.target == "full" else "%s@%s" % (callee, p.domain)

    out = P.path("got.wav")
    player = P.start(["ffmpeg", "-nostdin", "-y", "-loglevel", "info",
                      "-rtmp_conn", rtmp_conn(p, callee, pw[callee], "ff"),
                      "-rtmp_app", "xmpp", "-rtmp_playpath", "incoming", "-rtmp_live", "live",
                      "-analyzeduration", "0", "-c:a", "libspeex",
                      "-i", gw.url(""), "-c:a", "pcm_s16le", "-ar", "16000", "-ac", "1", out],
                     "callee")
    wait_log(gw, "logged in as " + callee_jid, 20, "the callee's login")
    wait_log(gw, "answering the next call", 20, "the callee's answering stream")
    time.sleep(0.5)   # its presence reaches the caller's session via prosody

    pub = P.start(["ffmpeg", "-nostdin", "-loglevel", "info", "-re", "-i", src, "-c:a", "copy",
                   "-rtmp_conn", rtmp_conn(p, caller, pw[caller], "ffcall"),
                   "-rtmp_app", "xmpp", "-rtmp_playpath", target, "-f", "flv", gw.url("")],
                  "caller")
    try:
        pub.wait(60)
    except Exception:
        print(gw.log()[-4000:])
        fail("the caller did not finish in 60 s")
    check(pub.returncode == 0, "the caller published the whole file (exit %s)" % pub.returncode)
    try:
        player.wait(20)
    except Exception:
        print(gw.log()[-4000:])
        fail("the callee's FFmpeg did not stop after the call ended")
    log = gw.log()
    check("incoming (XEP-0353)" in log if a.target == "bare" else "dialling" in log,
          "the call went out as %s" % ("a JMI propose" if a.target == "bare"
                                      else "a session-initiate"))
    check("media flows" in log, "the media path came up (ICE + DTLS-SRTP)")
    # The caller's FFmpeg leaves right after unpublishing: its hang-up
    # (session-terminate) must still reach the callee, who ends with
    # success, not later with connectivity-error when ICE consent runs out.
    check(re.search(r"call \S+ from \S+: ended success", log) is not None
          and "consent lost" not in log,
          "the callee's call ended by the caller's session-terminate (success)")
    res = audiocmp.compare_files(ref, out, max_lag_s=SILENCE_S + 1.0)
    print("audiocmp: %s" % res, flush=True)
    overlap = min(res["ref_s"], res["got_s"] - max(0.0, res["lag_ms"] / 1000.0))
    if res["corr"] < 0.99 or overlap < 0.95 * res["ref_s"]:
        print(P.log(player)[-2000:])
        print(log[-6000:])
    check(res["corr"] >= 0.99, "the callee heard the caller's speech (corr %.4f)" % res["corr"])
    check(overlap >= 0.95 * res["ref_s"],
          "all of it (%.2f s of %.2f s)" % (overlap, res["ref_s"]))
    check(gw.alive(), "gateway still running")
    check(gw.stop() == 0, "gateway exits 0 on SIGTERM")
