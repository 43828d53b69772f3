#!/usr/bin/python3
"""The latency and capacity bench, ours side by side with nginx-rtmp and a
physical floor, all measured in the same run.

  bench/run.py [--quick | --smoke] [--build DIR] [--out DIR] [options]

Builds nothing: it uses DIR/gateway/rtmp2xmpp, DIR/bench/rtmpload and
DIR/bench/floor from an existing build (default build/).  It starts our
gateway, nginx-rtmp (one worker) and the floor on 127.0.0.1, and for path
(a), RTMP -> echo -> RTMP:

  1. validates rtmpload against FFmpeg (FFmpeg plays what rtmpload
     publishes, rtmpload plays what FFmpeg publishes: same frames, same
     timestamps);
  2. measures added latency at 1, 10 and 50 concurrent streams, the three
     servers interleaved, and prints our/nginx and our/floor ratios;
  3. replays every recorded corpus item, and the 5-hour stream across the
     RTMP extended-timestamp boundary;
  4. ramps concurrent echo calls until p99 exceeds 20 ms or a frame is lost.

Path (b), RTMP -> Jingle -> RTMP (calls.py): voice calls between rtmpload's
pairs through our gateway and a private prosody, at 1, 10 and 50 calls,
next to nginx-rtmp and the floor relaying the same pairs, and a ramp of
calls.  Path (c), RTMP -> RTP (rtpside.py): rtmpload calls a StanzaJS +
werift peer that timestamps each RTP packet.

Writes bench/results/<date>/{results.json, table.txt, latency-cdf.png,
latency-cdf-b.png, capacity.png} and prints the table.  Modes: --smoke
(ctest: path (a) on ours and the floor, 2 pairs, 5 s; with --paths b,c the
calls smoke test), --quick (about 5 minutes), full (the default: 3 rounds
of 20 s, the full ramps; about 40-60 minutes).  --paths picks paths
(default a,b,c; a for --smoke).  --replot DIR redraws the table and plots
from DIR/results.json."""
import argparse
import datetime
import json
import os
import platform
import re
import signal
import subprocess
import sys
import time


sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as B   # noqa: E402
import calls           # noqa: E402
import corpus          # noqa: E402
import measure as M    # noqa: E402
import report          # noqa: E402
import rtpside         # noqa: E402

STREAM = "speech-en-q8-fpp1.flv"
EXT_SEEK = 0xFFFFFF - 3000
ALL = ["ours", "nginx", "floor", "floor_tcp"]
MODES = {
    "smoke": dict(servers=["ours", "floor"], levels=[2], duration=5, rounds=1, validate=[],
                  corpus=False, ext=0, ramp=None, paths="a",
                  b=dict(levels=[2], duration=4, rounds=1, servers=["floor"]),
                  c=dict(levels=[1], duration=4, rounds=1)),
    "quick": dict(servers=ALL, levels=[1, 10, 50], duration=3, rounds=1,
                  validate=[STREAM], validate_servers=["ours", "nginx"],
                  corpus=True, corpus_servers=["ours", "nginx"],
                  ext=4, ext_servers=["ours", "nginx"],
                  ramp=dict(steps=[25, 50, 100, 200], duration=4, servers=["ours", "nginx"]),
                  b=dict(levels=[1, 10, 50], duration=3, rounds=1, servers=["nginx", "floor"],
                         ramp=dict(steps=[10, 25, 50, 100], duration=4)),
                  c=dict(levels=[1, 4], duration=3, rounds=1)),
    "full": dict(servers=ALL, levels=[1, 10, 50], duration=20, rounds=3,
                 validate=[STREAM, "speech-en-q8-fpp4-b2.flv", "speech-en-vbr8-fpp1-vaddtx.flv"],
                 validate_servers=["ours", "nginx", "floor"],
                 corpus=True, corpus_servers=["ours", "nginx", "floor"],
                 ext=10, ext_servers=ALL,
                 ramp=dict(steps=[50, 100, 200, 300, 400, 600, 800, 1000, 1250, 1500, 2000,
                                  2500, 3000, 4000], duration=20,
                           servers=["ours", "nginx", "floor"]),
                 b=dict(levels=[1, 10, 50], duration=20, rounds=3, servers=["nginx", "floor"],
                        ramp=dict(steps=[10, 25, 50, 100, 150, 200, 300, 400, 600, 800],
                                  duration=20)),
                 c=dict(levels=[1, 4, 8], duration=20, rounds=3)),
}


def machine():
    model = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem = int(f.readline().split()[1])
    return {"nproc": os.cpu_count(), "cpu_model": model, "kernel": platform.release(),
            "mem_total_kb": mem, "loadavg_before": B.loadavg()}


def source():
    """The commit the gateway was built from, and how many files differ."""
    def git(*args):
        r = subprocess.run(["git", "-C", B.ROOT] + list(args), stdout=subprocess.PIPE,
                           stderr=subprocess.DEVNULL, timeout=30)
        return r.stdout.decode(errors="replace").strip() if not r.returncode else None
    st = git("status", "--porcelain", "--", "base", "codecs", "gateway", "media", "signaling")
    return {"commit": git("rev-parse", "--short", "HEAD"),
            "uncommitted_server_files": len(st.splitlines()) if st is not None else None}


def flv_info(path):
    _, tags = corpus.flv_read(path)
    a = corpus.audio_tags(tags)
    step = corpus.frame_step(a)
    return {"frames": a, "packet_ms": step, "period_ms": a[-1][0] - a[0][0] + step}


# ---- 1. rtmpload against FFmpeg ---------------------------------------------
def expected_frames(info, n):
    """What rtmpload's pair 0 publishes: the file from its start, looped."""
    fr, out = info["frames"], []
    for k in range(n):
        ts, d = fr[k % len(fr)]
        out.append((ts + k // len(fr) * info["period_ms"], d))
    return out


def compare(got, want, same_tag_byte):
    """Frames got vs want: count, timestamps, payloads.  FFmpeg rewrites the
    tag byte (0xB2 becomes 0xB6), so then only its codec nibble must match."""
    if len(got) != len(want):
        return "FAIL: %d frames, expected %d" % (len(got), len(want))
    for i, ((ts, d), (wts, wd)) in enumerate(zip(got, want)):
        if ts != wts:
            return "FAIL: frame %d has timestamp %d, expected %d" % (i, ts, wts)
        if d[1:] != wd[1:] or (d[:1] != wd[:1] if same_tag_byte else d[0] >> 4 != 11):
            return "FAIL: frame %d payload differs" % i
    return "ok (%d frames)" % len(got)


def ffmpeg_play(ctx, server, name, out):
    """FFmpeg plays name and remuxes it to FLV, flushing every packet (nginx
    and the floor keep it waiting after the publisher leaves; we stop it)."""
    return ctx.run.start(["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
                          "-rtmp_app", "xmpp", "-rtmp_playpath", name, "-i", server.url,
                          "-map", "0:a", "-c", "copy", "-flush_packets", "1", "-f", "flv", out],
                         "ffmpeg-play")


def ffmpeg_publish(ctx, server, name, flv):
    return ctx.run.start(["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-re",
                          "-i", flv, "-map", "0:a", "-c:a", "copy", "-f", "flv",
                          "-rtmp_app", "xmpp", "-rtmp_playpath", name, server.url],
                         "ffmpeg-publish")


def read_frames(path):
    if not os.path.exists(path) or os.path.getsize(path) <= 13:
        return []
    return corpus.audio_tags(corpus.flv_read(path)[1])


def validate_one(ctx, server, name):
    """(1) rtmpload publishes, FFmpeg plays: FFmpeg must see exactly the
    frames rtmpload meant to send, and so must rtmpload's own player.
    (2) FFmpeg publishes at real time, rtmpload plays: rtmpload must see
    exactly the file's frames.  Both at once, on different stream names."""
    run, path = ctx.run, os.path.join(B.CORPUS, name)
    info = flv_info(path)
    tag = "%s-%s" % (server.key, name)
    ff_out, rec, rec2 = (run.path(x + tag) for x in ("ff-", "rec-", "rec2-"))
    ff = ffmpeg_play(ctx, server, "echo/v0", ff_out)
    lp = ctx.load.start(server, path, 1, info["period_ms"] / 1000.0 + 4, prefix="echo/w",
                        extra=["--mode", "play", "--record", rec2], raw=False)
    time.sleep(1.5)
    pub2 = ffmpeg_publish(ctx, server, "echo/w0", path)
    dur = 2 * info["period_ms"] / 1000.0   # past FFmpeg's 5 s probe
    res, _ = ctx.load.once(server, path, 1, dur, prefix="echo/v", extra=["--record", rec],
                           raw=False)
    res2, _ = ctx.load.finish(lp)
    for p in (ff, pub2):
        try:
            p.wait(3)
        except subprocess.TimeoutExpired:
            pass
        run.stop(p, signal.SIGINT, 3)
    want = expected_frames(info, res["frames_per_pair"])
    got = read_frames(ff_out)
    pub = {"rtmpload_sent": res["sent"], "ffmpeg_frames": len(got),
           "verdict": compare(got, want, False) if got else "FAIL: FFmpeg recorded nothing",
           "rtmpload_player": compare(read_frames(rec), want, True)}
    if not pub["rtmpload_player"].startswith("ok"):
        pub["verdict"] = "FAIL: rtmpload's player: " + pub["rtmpload_player"]
    play = {"ffmpeg_rc": pub2.returncode, "rtmpload_frames": res2["play_frames"],
            "verdict": compare(read_frames(rec2), info["frames"], False)}
    for f in (ff_out, rec, rec2):
        if os.path.exists(f):
            os.remove(f)
    server.check("validation")
    ok = pub["verdict"].startswith("ok") and play["verdict"].startswith("ok")
    return {"server": server.key, "stream": name, "publish": pub, "play": play, "pass": ok}


def validate_all(ctx, m):
    out = []
    for name in m["validate"]:
        for k in m["validate_servers"]:
            if k in ctx.servers:
                B.log("validation: %s on %s" % (name, ctx.servers[k].label))
                out.append(validate_one(ctx, ctx.servers[k], name))
    return out


# ---- 2. latency at 1, 10, 50 streams ------------------------------------------
def echo_runner(ctx, s):
    return M.Runner(s, lambda level, dur: ctx.load.once(s, ctx.stream, level, dur))


def latency(ctx, m):
    return M.latency([echo_runner(ctx, ctx.servers[k]) for k in m["servers"]
                      if k in ctx.servers], m["levels"], m["rounds"], m["duration"])


# ---- 3. corpus and extended timestamps ------------------------------------------
def corpus_items():
    return sorted(f for f in os.listdir(B.CORPUS) if f.endswith(".flv"))


def corpus_sweep(ctx, server):
    procs = []
    for i, item in enumerate(corpus_items()):
        path = os.path.join(B.CORPUS, item)
        dur = flv_info(path)["period_ms"] / 1000.0
        procs.append((item, ctx.load.start(server, path, 2, dur, prefix="echo/c%d-" % i,
                                           raw=False)))
    out = []
    for item, p in procs:
        res, _ = ctx.load.finish(p)
        out.append({"item": item, "server": server.key, "sent": res["sent"],
                    "lost": res["lost"], "duplicated": res["duplicated"],
                    "corrupt": res["corrupt"], "unknown": res["unknown"],
                    "failed_pairs": res["failed"], "first_error": res["first_error"],
                    "p50": res["latency_ms"]["p50"], "p99": res["latency_ms"]["p99"]})
    server.check("corpus sweep")
    return out


def ext_ts(ctx, server, seconds):
    long_flv = ctx.run.path("long-5h.flv")
    if not os.path.exists(long_flv):
        B.log("writing the 5-hour stream (flv-loop of %s)" % STREAM)
        corpus.cmd_flv_loop(ctx.stream, long_flv, 5 * 3600)
    res, lat = ctx.load.once(server, long_flv, 1, seconds, extra=["--seek", str(EXT_SEEK)])
    server.check("extended timestamp run")
    p = B.percentiles(lat)
    return {"server": server.key, "seek_ts": res["seek_ts"],
            "end_ts": res["seek_ts"] + int(seconds * 1000), "sent": res["sent"],
            "lost": res["lost"], "duplicated": res["duplicated"], "corrupt": res["corrupt"],
            "unknown": res["unknown"], "p50": p["p50"], "p99": p["p99"]}


# ---- 4. the capacity ramp -----------------------------------------------------
def capacity(ctx, server, ramp):
    def once(calls, dur):
        return ctx.load.once(server, ctx.stream, calls, dur, extra=["--setup-par", "64"],
                             raw=False)
    return M.capacity(once, server, server.label, ramp["steps"], ramp["duration"])


# ---- the run ----------------------------------------------------------------------
class Ctx:
    pass


def start_servers(ctx, keys, build, ours_args):
    makers = {"ours": lambda: B.Ours(ctx.run, build, ours_args),
              "nginx": lambda: B.Nginx(ctx.run), "floor": lambda: B.Floor(ctx.run, build),
              "floor_tcp": lambda: B.Floor(ctx.run, build, direct=True)}
    ctx.servers, info = {}, {}
    for k in keys:
        try:
            s = makers[k]()
            s.start()
        except B.BenchError as e:
            if k == "ours":
                raise
            B.log("skipping %s: %s" % (k, e))
            continue
        ctx.servers[k] = s
        info[k] = {"label": s.label, "version": s.version(),
                   "argv": [os.path.relpath(a, B.ROOT) if a.startswith(B.ROOT) else a
                            for a in s.argv]}
        if k == "nginx":
            info[k]["conf"] = s.conf
        B.log("%s listening on %s (pid %d)" % (s.label, s.url, s.pid))
    return info


def start_call_server(ctx, build, ours_args):
    """Our gateway with a private prosody, for paths (b) and (c)."""
    s = ctx.call_server = B.OursCall(ctx.run, build, ours_args)
    s.start()
    B.log("%s with prosody (c2s %d) listening on %s (pid %d)"
          % (s.label, s.xmpp.port, s.url, s.pid))
    return {"label": s.label + " (calls)", "version": s.version(),
            "argv": [os.path.relpath(x, B.ROOT) if x.startswith(B.ROOT) else x
                     for x in s.argv],
            "prosody": B.tool_version(["dpkg-query", "-W", "-f", "${Version}", "prosody"])}


def timed(ctx, name, fn, *args):
    t = time.monotonic()
    out = fn(*args)
    ctx.results.setdefault("timings_s", {})[name] = round(time.monotonic() - t, 1)
    return out


def run_all(ctx, m, a):
    res = {"description": "RTMP -> echo -> RTMP: publish to rtmp://HOST:PORT/xmpp/echo/pN, "
                          "play the same name from a second connection"}
    if m["validate"] and not a.no_validate:
        ctx.results["validation"] = timed(ctx, "validation", validate_all, ctx, m)
    res["latency"] = timed(ctx, "latency", latency, ctx, m)
    note = M.cpu_note(res["latency"])
    if note:
        res["cpu_note"] = note
    if m["corpus"] and not a.no_corpus:
        res["corpus"] = timed(ctx, "corpus", lambda: [
            it for k in m["corpus_servers"] if k in ctx.servers
            for it in corpus_sweep(ctx, ctx.servers[k])])
    if m["ext"]:
        res["ext_ts"] = timed(ctx, "ext_ts", lambda: [
            ext_ts(ctx, ctx.servers[k], m["ext"]) for k in m["ext_servers"]
            if k in ctx.servers])
    if m["ramp"] and not a.no_ramp:
        res["capacity"] = {"p99_limit_ms": M.P99_LIMIT, "duration_s": m["ramp"]["duration"],
                           "servers": timed(ctx, "capacity", lambda: {
                               k: capacity(ctx, ctx.servers[k], m["ramp"])
                               for k in m["ramp"]["servers"] if k in ctx.servers})}
    return res


def write_outputs(r, outdir, tmp):
    os.makedirs(outdir, exist_ok=True)
    text = json.dumps(r, indent=1, sort_keys=True)
    # one line per list of numbers (the CDF points), not one line per number
    text = re.sub(r"\[[-0-9.eE,\s\[\]]+\]",
                  lambda mt: re.sub(r"\s+", "", mt.group(0)).replace(",", ", "), text)
    with open(os.path.join(outdir, "results.json"), "w") as f:
        f.write(text + "\n")
    text = report.table(r)
    with open(os.path.join(outdir, "table.txt"), "w") as f:
        f.write(text)
    problems = report.plots(r, outdir, tmp)
    for p in problems:
        B.log(p)
    return text


SMOKE_KEYS = ("frames", "received", "lost", "duplicated", "corrupt", "failed_pairs",
              "p50", "p99", "max", "cdf", "rtmpload_exit")


def smoke_check(r):
    """Every path run: the summaries have their fields, every frame sent was
    received or lost (frames == received + lost), and none was lost."""
    bad = []
    for name, path in sorted(r["paths"].items()):
        for lv in path.get("latency", []):
            for k, x in sorted(lv["servers"].items()):
                what = "path %s, %s, %d stream(s)" % (name, k, lv["streams"])
                missing = [f for f in SMOKE_KEYS if f not in x]
                if missing:
                    bad.append("%s: no %s in the report" % (what, ", ".join(missing)))
                    continue
                if (x["lost"] or x["failed_pairs"] or x["duplicated"] or x["corrupt"] or
                        not x["frames"] or x["frames"] != x["received"] + x["lost"] or
                        x["rtmpload_exit"] != [0] or x["p50"] is None):
                    bad.append("%s: %d frames, %d received, %d lost, %d failed pairs, "
                               "rtmpload exit %s" % (what, x["frames"], x["received"], x["lost"],
                                                     x["failed_pairs"], x["rtmpload_exit"]))
    return bad


def parse():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    g = ap.add_mutually_exclusive_group()
    g.add_argument("--quick", action="store_true", help="under 3 minutes")
    g.add_argument("--smoke", action="store_true", help="ctest: ours and the floor only")
    g.add_argument("--replot", metavar="DIR", help="redraw DIR's table and plots")
    ap.add_argument("--build", default=os.path.join(B.ROOT, "build"))
    ap.add_argument("--out", help="results folder (default bench/results/<date>)")
    ap.add_argument("--stream", default=STREAM, help="corpus item for the latency runs")
    ap.add_argument("--duration", type=float, help="seconds per latency run")
    ap.add_argument("--rounds", type=int)
    ap.add_argument("--servers", help="comma list of ours,nginx,floor,floor_tcp")
    ap.add_argument("--paths", help="comma list of a,b,c (default a,b,c; --smoke: a)")
    ap.add_argument("--ours-args", default="", help="extra gateway flags, e.g. '--workers 0'")
    ap.add_argument("--no-ramp", action="store_true")
    ap.add_argument("--no-validate", action="store_true")
    ap.add_argument("--no-corpus", action="store_true")
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder")
    return ap.parse_args()


def main():
    a = parse()
    if a.replot:
        with open(os.path.join(a.replot, "results.json")) as f:
            r = json.load(f)
        run = B.Run()
        try:
            sys.stdout.write(write_outputs(r, a.replot, run.tmp))
        finally:
            run.close()
        return 0
    mode = "smoke" if a.smoke else "quick" if a.quick else "full"
    m = dict(MODES[mode])
    for k in ("duration", "rounds"):
        if getattr(a, k):
            m[k] = getattr(a, k)
    if a.servers:   # only these, everywhere
        keep = a.servers.split(",")
        m["servers"] = [k for k in m["servers"] if k in keep]
        for k in ("validate_servers", "corpus_servers", "ext_servers"):
            m[k] = [x for x in m.get(k, []) if x in keep]
        if m["ramp"]:
            m["ramp"] = dict(m["ramp"], servers=[x for x in m["ramp"]["servers"] if x in keep])
        m["b"] = dict(m["b"], servers=[x for x in m["b"]["servers"] if x in keep])
    paths = (a.paths or m.get("paths") or "a,b,c").split(",")
    if a.no_ramp:
        m["b"] = dict(m["b"], ramp=None)
    t0 = time.monotonic()
    now = datetime.datetime.now(datetime.timezone.utc)
    outdir = a.out or os.path.join(B.ROOT, "bench", "results", now.strftime("%Y-%m-%d-%H%M%S"))
    build = os.path.abspath(a.build)
    ctx = Ctx()
    ctx.call_server = None
    ctx.run = B.Run(a.keep)
    ctx.load = B.Load(ctx.run, build)
    ctx.stream = os.path.join(B.CORPUS, a.stream)
    info = flv_info(ctx.stream)
    argv = ["bench/run.py"] + sys.argv[1:]
    ctx.results = r = {
        "schema": 1, "date": now.strftime("%Y-%m-%d %H:%M:%S UTC"), "mode": mode,
        "command": " ".join(argv), "machine": machine(), "source": source(),
        "versions": {"ffmpeg": B.tool_version(["ffmpeg", "-version"]),
                     "gnuplot": B.tool_version(["gnuplot", "--version"]),
                     "libnginx-mod-rtmp": B.tool_version(
                         ["dpkg-query", "-W", "-f", "${Version}", "libnginx-mod-rtmp"]),
                     "python": platform.python_version()},
        "stream": {"file": a.stream, "packet_ms": info["packet_ms"],
                   "duration_s": m["duration"], "rounds": m["rounds"]},
    }
    try:
        keys = set()
        if "a" in paths:
            keys |= set(m["servers"]) | set(m.get("validate_servers", [])) | \
                set((m["ramp"] or {}).get("servers", []))
        if "b" in paths:
            keys |= set(m["b"]["servers"])
        r["servers"] = start_servers(ctx, [k for k in ALL if k in keys], build,
                                     a.ours_args.split())
        if "b" in paths or "c" in paths:
            r["servers"]["ours_call"] = start_call_server(ctx, build, a.ours_args.split())
        r["paths"] = {}
        if "a" in paths:
            r["paths"]["a"] = run_all(ctx, m, a)
        if "b" in paths:
            r["paths"]["b"] = timed(ctx, "path_b", calls.path_b, ctx, m["b"])
        if "c" in paths:
            r["paths"]["c"] = timed(ctx, "path_c", rtpside.path_c, ctx, m["c"])
        for k, s in list(ctx.servers.items()) + [("ours_call", ctx.call_server)]:
            if s is None:
                continue
            r["servers"][k]["crashes"] = s.crashes
            if k in ("ours", "ours_call"):
                n, sample = s.warnings()
                r["servers"][k]["log_lines"], r["servers"][k]["log_sample"] = n, sample
            s.stop()
        r["machine"]["loadavg_after"] = B.loadavg()
        r["elapsed_s"] = round(time.monotonic() - t0, 1)
        sys.stdout.write(write_outputs(r, outdir, ctx.run.tmp))
        B.log("wrote %s in %.0f s" % (os.path.relpath(outdir), r["elapsed_s"]))
    except B.BenchError as e:
        B.log("FAILED: %s" % e)
        return 1
    finally:
        if ctx.call_server is not None:
            ctx.call_server.stop()   # and its prosody, which Run does not own
        ctx.run.close()
    if mode == "smoke":
        bad = smoke_check(r)
        ok = os.path.exists(os.path.join(outdir, "results.json"))
        for b in bad:
            B.log("smoke: FAIL: " + b)
        if not ok:
            B.log("smoke: FAIL: results.json was not written")
        return 1 if bad or not ok else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
