#!/usr/bin/python3
"""Echo test with real clients: FFmpeg publishes recorded Speex speech to
rtmp://.../xmpp/echo, and FFmpeg (or rtmpdump) plays it back.  The played
audio must match what was published: same duration within 5 %, and
correlation of the decoded samples >= 0.99.

The frames go through the media engine (two engine calls over loopback ICE
with DTLS-SRTP, gateway/echo.c), and the gateway's log must say so.

Why 0.99: the gateway relays the Speex frames unchanged, so decoding what
comes back must reproduce decoding the input frame for frame; any lost,
reordered or corrupted frame drops the correlation well below that (a 20 ms
gap per second already costs more), while codec loss does not count
because both sides go through the same decoder."""
import os
import re
import time
from harness import (Gateway, Procs, VECTORS, args, check, decode_wav, audiocmp, fail,
                     flv_audio_tags)

a = args([("--fpp", {"type": int, "default": 1}),
          ("--player", {"default": "ffmpeg", "choices": ["ffmpeg", "rtmpdump"]})])
src = os.path.join(VECTORS, "speech", "speech-en-fpp%d.flv" % a.fpp)

with Procs("echo") as P:
    gw = Gateway(P, a.gateway)
    ref = P.path("ref.wav")
    decode_wav(src, ref)

    # The player starts first and waits for the publisher, so nothing is missed.
    if a.player == "ffmpeg":
        out = P.path("out.wav")
        player = P.start(["ffmpeg", "-nostdin", "-y", "-loglevel", "info",
                          "-c:a", "libspeex", "-i", gw.url("echo"),
                          "-c:a", "pcm_s16le", "-ar", "16000", "-ac", "1", out], "player")
    else:
        out = P.path("out.flv")
        player = P.start(["rtmpdump", "--live", "-r", gw.url("echo"), "-o", out], "player")
    time.sleep(1.0)
    check(player.poll() is None, "player is waiting for the publisher")

    pub = P.start(["ffmpeg", "-nostdin", "-loglevel", "info", "-re", "-i", src, "-c:a", "copy",
                   "-f", "flv", gw.url("echo")], "publisher")
    try:
        pub.wait(60)
    except Exception:
        fail("publisher did not finish in 60 s")
    check(pub.returncode == 0, "FFmpeg published the whole file (exit %s)" % pub.returncode)
    try:
        player.wait(20)
    except Exception:
        print(P.log(player))
        fail("player did not stop after the publisher ended")
    log = P.log(player)
    if a.player == "rtmpdump":
        check(os.path.getsize(out) > 1000, "rtmpdump wrote %d bytes" % os.path.getsize(out))
        wav = P.path("out.wav")
        decode_wav(out, wav)
        out = wav
    else:
        check(player.returncode == 0, "FFmpeg player exited cleanly")
    same = audiocmp(ref, out, 0.99, 0.05)
    if not same:
        print(log[-3000:])
    check(same, "played audio matches the published audio")
    # The audio went through the media engine (echo.c), not around it: the
    # gateway switches once both engine calls carry media, and logs how many
    # messages it gave the engine and got back when the publisher stops.
    glog = gw.log()
    m = re.search(r"echo 'echo' through the media engine ended: (\d+) messages in, (\d+) out",
                  glog)
    check(m is not None, "the gateway reports the echo went through the media engine")
    total = flv_audio_tags(src)
    n_in, n_out = int(m.group(1)), int(m.group(2))
    print("engine: %d of %d messages in, %d out" % (n_in, total, n_out))
    check(n_in >= total * 0.9, "at least 90% of the messages went through the engine")
    # Each message comes back, but for the last in flight at unpublish
    # (which goes to the player directly).  With fpp > 1 a frame that misses
    # its slot under load makes a message leave short, and one more leave.
    check(abs(n_out - n_in) <= 2, "every message given to the engine came back")
    check(gw.alive(), "gateway still running")
    check(gw.stop() == 0, "gateway exits 0 on SIGTERM")
