"""Path (b), RTMP -> Jingle -> RTMP: voice calls between two RTMP users of
our gateway (docs/calls.md), next to nginx-rtmp relaying the same rtmpload
pairs and the TCP -> UDP -> TCP floor.

For ours, each rtmpload pair is one call (rtmpload --call, loadcall.c): the
player logs in at connect as u(2i+1) and plays "incoming", the publisher
logs in as u(2i) and publishes to u(2i+1)'s full JID.  The gateway signals
the call through prosody on 127.0.0.1 and carries the audio RTMP -> RTP ->
ICE + DTLS-SRTP over loopback -> jitter buffer -> RTMP.  One call is one
leg (one direction of media), so CPU per stream-second is CPU per
leg-second.  nginx-rtmp and the floor relay rtmpload's ordinary pairs,
publish and play of one stream name, with the same client and file."""
import benchlib as B
import measure as M

LOOSE_P99 = 50.0   # rtmpload's "late" threshold: the ramp goes on to here
SETTLE_MS = 500    # from both sides' jingle_state "active" to the first frame


def call_once(ctx, srv, calls, dur, raw=True):
    return ctx.load.once(srv, ctx.stream, calls, dur, raw=raw, timeout=dur + 90 + calls / 2.0,
                         extra=srv.call_args(calls) + ["--settle-ms", str(SETTLE_MS)])


def call_runner(ctx, srv):
    return M.Runner(srv, lambda calls, dur: call_once(ctx, srv, calls, dur))


def relay_runner(ctx, s):
    return M.Runner(s, lambda level, dur: ctx.load.once(s, ctx.stream, level, dur,
                                                        prefix="relay/p"))


def path_b(ctx, mb):
    srv = ctx.call_server
    runners = [call_runner(ctx, srv)] + [relay_runner(ctx, ctx.servers[k])
                                         for k in mb["servers"] if k in ctx.servers]
    res = {"description": "RTMP -> Jingle -> RTMP: rtmpload pair i logs in as u(2i) and "
                          "u(2i+1); u(2i+1) plays 'incoming', u(2i) publishes to its JID; "
                          "nginx-rtmp and the floor relay the same pairs as plain streams",
           "settle_ms": SETTLE_MS, "loose_p99_ms": LOOSE_P99, "duration_s": mb["duration"],
           "rounds": mb["rounds"]}
    res["latency"] = M.latency(runners, mb["levels"], mb["rounds"], mb["duration"],
                               what="path b")
    note = M.cpu_note(res["latency"], unit="leg-second (ours: one call) or relayed "
                                          "stream-second (nginx, floor)")
    if note:
        res["cpu_note"] = note
    ramp = mb.get("ramp")
    if ramp:
        B.log("path b: capacity ramp of calls")
        res["capacity"] = {"p99_limit_ms": M.P99_LIMIT, "duration_s": ramp["duration"],
                           "servers": {"ours": M.capacity(
                               lambda calls, dur: call_once(ctx, srv, calls, dur, raw=False),
                               srv, "rtmp2xmpp calls", ramp["steps"], ramp["duration"],
                               loose=LOOSE_P99)}}
    return res
