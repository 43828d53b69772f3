"""Path (c), RTMP -> RTP: rtmpload calls a foreign Jingle client through our
gateway, and latency is measured per frame up to the RTP packet's arrival.

The foreign client is tests/peers/stanza_peer.mjs (StanzaJS over prosody's
websocket, werift for ICE, DTLS-SRTP and RTP), run as one process that
accepts every call (--accept-all) and logs each speex RTP packet it gets
with process.hrtime.bigint() taken as the packet comes out of werift's
SRTP (--rtp-log).  On Linux that is CLOCK_MONOTONIC, the clock rtmpload
stamps its send() calls with: rtmpload reports its stream start
(t_stream_ns) and the send time of every frame relative to it (--raw).

rtmpload --mode publish --call: pair i logs in as u(2i) and publishes to the
peer's full JID; once the gateway reports the call active and a settle time
has passed, it sends the file's frames at real time.  The RTP timestamps
follow the RTMP clock (+16 per ms, media/repack.c) from a random base, so
each call's base is learnt as path (b)'s offset is (loadcall.c): a packet
whose payload occurs once in the file is the latest frame the caller sent
from that position, and two such packets must agree.  Then every packet
maps to a frame by its timestamp, its payload is compared, and latency =
arrival - send.  The RTP side's jitter is RFC 3550's estimator on the
arrival times against the RTP timestamps.  The latency includes werift's
receive path (UDP, SRTP, JavaScript), so it is an upper bound for ours."""
import json
import os
import sys

import numpy as np

import benchlib as B
import corpus
import measure as M

sys.path.insert(0, os.path.join(B.ROOT, "tests", "integration"))
import peers   # noqa: E402  (tests/integration/peers.py)

SETTLE_MS = 1000   # werift's ICE and DTLS take longer than the gateway's own
DRAIN_MS = 1000
CONFIRM = 2
LATE_MS = 50


def file_frames(path):
    """[(ts, FLV body)] and {payload hex: [file index]} (payload: no FLV byte)."""
    frames = corpus.audio_tags(corpus.flv_read(path)[1])
    index = {}
    for i, (_, d) in enumerate(frames):
        index.setdefault(d[1:].hex(), []).append(i)
    return frames, index


def read_log(path):
    """The peer's packets, by caller pair: {pair: [packet, ...]} in arrival order."""
    by_pair = {}
    if not os.path.exists(path):
        return by_pair
    with open(path) as f:
        for line in f:
            if not line.strip():
                continue
            pk = json.loads(line)
            user = pk["from"].split("@", 1)[0]
            if user.startswith("u") and user[1:].isdigit():
                pk["t"] = int(pk["t"])
                by_pair.setdefault(int(user[1:]) // 2, []).append(pk)
    return by_pair


class Call:
    """One caller's sent frames (from rtmpload's records) and what arrived."""

    def __init__(self, pair, recs, t_stream, frames, index):
        self.pair, self.frames, self.index = pair, frames, index
        self.rel = recs["rel"].astype(np.int64)
        self.sent = recs["sent"].astype(np.int64) + t_stream   # CLOCK_MONOTONIC ns
        self.k_of = {int(r): k for k, r in enumerate(self.rel)}
        self.arrival = np.full(len(self.rel), -1, dtype=np.int64)
        self.dup = self.corrupt = self.unknown = self.reordered = self.unmatched = 0
        self.base = None
        self.jitter_ns, self.last_transit, self.max_k = 0.0, None, -1

    def payload(self, k):
        return self.frames[(self.pair + k) % len(self.frames)][1][1:]

    def identify(self, pk):
        """The RTP timestamp base if pk's payload is unique in the file."""
        idx = self.index.get(pk["p"])
        if not idx or len(idx) != 1:
            return None
        n = len(self.frames)
        k0 = (idx[0] - self.pair) % n
        ks = [k for k in range(k0, len(self.rel), n) if self.sent[k] <= pk["t"]]
        if not ks:
            return None
        return (pk["ts"] - int(self.rel[ks[-1]]) * 16) & 0xFFFFFFFF

    def take(self, pk):
        d = (pk["ts"] - self.base) & 0xFFFFFFFF
        k = self.k_of.get(d // 16) if d % 16 == 0 else None
        if k is None:
            self.unknown += 1
            return
        if self.arrival[k] >= 0:
            self.dup += 1
            return
        self.arrival[k] = pk["t"]
        if bytes.fromhex(pk["p"]) != self.payload(k):
            self.corrupt += 1
        if k < self.max_k:
            self.reordered += 1
        self.max_k = max(self.max_k, k)
        transit = pk["t"] - d * 62500   # ns; 16 kHz: 62500 ns per tick
        if self.last_transit is not None:
            self.jitter_ns += (abs(transit - self.last_transit) - self.jitter_ns) / 16
        self.last_transit = transit

    def feed(self, packets):
        pend, cand, cand_n = [], None, 0
        for pk in packets:
            if self.base is not None:
                self.take(pk)
                continue
            pend.append(pk)
            b = self.identify(pk)
            if b is None:
                continue
            cand_n = cand_n + 1 if b == cand else 1
            cand = b
            if cand_n >= CONFIRM:
                self.base = cand
                for q in pend:
                    self.take(q)
                pend = []
        self.unmatched = len(pend)


def run_once(ctx, srv, calls, dur, peer_jid):
    n = ctx.load.n + 1
    log = ctx.run.path("rtp-%d.jsonl" % n)
    peer = peers.StanzaPeer(srv.xmpp.ws_url, "%s/bench%d" % (peer_jid, n), srv.PASSWORD,
                            extra=["--accept-all", "--rtp-log", log],
                            log=ctx.run.path("stanza-%d.log" % n))
    try:
        peer.expect("online", 30)
        p = ctx.load.start(srv, ctx.stream, calls, dur, timeout=dur + 90 + calls,
                           extra=srv.call_args(calls) + [
                               "--mode", "publish", "--call-to", "%s/bench%d" % (peer_jid, n),
                               "--settle-ms", str(SETTLE_MS), "--drain-ms", str(DRAIN_MS)])
        res, recs = ctx.load.collect(p)
        peer.quit(15)
    except peers.PeerError as e:
        raise B.BenchError("path (c): the StanzaJS peer failed: %s" % e)
    finally:
        peer.close()
    srv.check("path c run, %d calls" % calls)
    return res, recs, read_log(log)


def measure_run(ctx, res, recs, by_pair):
    frames, index = ctx.c_frames
    out = []
    for pair in range(res["pairs"]):
        sel = recs[recs["pair"] == pair] if recs is not None else recs
        if sel is None or not len(sel):
            continue
        c = Call(pair, sel, res["t_stream_ns"], frames, index)
        c.feed(by_pair.get(pair, []))
        out.append(c)
    return out


def summarize(runs):
    """runs: [(rtmpload report, [Call])] of one level."""
    cs = [c for _, calls in runs for c in calls]
    got = [c.arrival[c.arrival >= 0] - c.sent[c.arrival >= 0] for c in cs]
    lat = np.concatenate(got) / 1e6 if got else np.zeros(0)
    sent = sum(len(c.rel) for c in cs)
    received = int(sum((c.arrival >= 0).sum() for c in cs))
    lost_start = [int(np.argmax(c.arrival >= 0)) if (c.arrival >= 0).any() else len(c.rel)
                  for c in cs]
    x = {"frames": sent, "received": received, "lost": sent - received,
         "duplicated": sum(c.dup for c in cs), "corrupt": sum(c.corrupt for c in cs),
         "unknown": sum(c.unknown for c in cs), "reordered": sum(c.reordered for c in cs),
         "unmatched": sum(c.unmatched for c in cs), "late": int((lat > LATE_MS).sum()),
         "failed_pairs": int(sum(r["failed"] for r, _ in runs)),
         "calls_without_base": sum(c.base is None for c in cs),
         "lost_at_start_max": max(lost_start, default=0),
         "rtmpload_exit": sorted({r["rc"] for r, _ in runs}),
         "rtp_jitter_ms": {"mean": float(np.mean([c.jitter_ns for c in cs])) / 1e6 if cs else 0,
                           "max": max((c.jitter_ns for c in cs), default=0) / 1e6},
         "cpu_ms_per_leg_s": M.server_cpu(runs)[0],
         "send_slip_p99_max_ms": max(r["send_slip_ms"]["p99"] for r, _ in runs),
         "cdf": B.cdf_points(lat)}
    x.update(B.percentiles(lat))
    return x


def path_c(ctx, mc):
    srv = ctx.call_server
    try:
        peers.ensure_installed()
    except peers.PeerError as e:
        raise B.BenchError("path (c) needs tests/peers (npm ci): %s" % e)
    ctx.c_frames = file_frames(ctx.stream)
    if corpus.frame_step(ctx.c_frames[0]) != 20:
        raise B.BenchError("path (c) matches one RTP packet per RTMP message: it needs a "
                           "stream of one 20 ms frame per packet")
    peer_jid = srv.account("w0")
    acc = {}
    for rnd in range(mc["rounds"]):
        for level in mc["levels"]:
            B.log("path c: rtmp2xmpp -> StanzaJS/werift, %d call(s), round %d"
                  % (level, rnd + 1))
            res, recs, by_pair = run_once(ctx, srv, level, mc["duration"], peer_jid)
            acc.setdefault(level, []).append((res, measure_run(ctx, res, recs, by_pair)))
    return {"description": "RTMP -> RTP: rtmpload pair i logs in as u(2i) and publishes to a "
                           "StanzaJS + werift peer's full JID; latency is rtmpload's send() "
                           "to the peer's RTP arrival (CLOCK_MONOTONIC both)",
            "settle_ms": SETTLE_MS, "duration_s": mc["duration"], "rounds": mc["rounds"],
            "latency": [{"streams": level, "servers": {"ours": summarize(acc[level])}}
                        for level in mc["levels"]]}
