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

Writes bench/results/<date>/{results.json, table.txt, latency-cdf.png,
capacity.png} and prints the table.  Modes: --smoke (ctest: ours and the
floor, 2 pairs, 5 s, under a minute), --quick (under 3 minutes), full
(the default: 3 rounds of 20 s, the full ramp; about 25-40 minutes).
--replot DIR redraws the table and plots from DIR/results.json."""
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

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as B   # noqa: E402
import corpus          # noqa: E402
import report          # noqa: E402

STREAM = "speech-en-q8-fpp1.flv"
P99_LIMIT = 20.0
EXT_SEEK = 0xFFFFFF - 3000
ALL = ["ours", "nginx", "floor", "floor_tcp"]
MODES = {
    "smoke": dict(servers=["ours", "floor"], levels=[2], duration=5, rounds=1, validate=[],
                  corpus=False, ext=0, ramp=None),
    "quick": dict(servers=ALL, levels=[1, 10, 50], duration=3, rounds=1,
                  validate=[STREAM], validate_servers=["ours", "nginx"],
                  corpus=True, corpus_servers=["ours", "nginx"],
                  ext=4, ext_servers=["ours", "nginx"],
                  ramp=dict(steps=[25, 50, 100, 200], duration=4, servers=["ours", "nginx"])),
    "full": dict(servers=ALL, levels=[1, 10, 50], duration=20, rounds=3,
                 validate=[STREAM, "speech-en-q8-fpp4-b2.flv", "speech-en-vbr8-fpp1-vaddtx.flv"],
                 validate_servers=["ours", "nginx", "floor"],
                 corpus=True, corpus_servers=["ours", "nginx", "floor"],
                 ext=10, ext_servers=ALL,
                 ramp=dict(steps=[50, 100, 200, 300, 400, 600, 800, 1000, 1250, 1500, 2000,
                                  2500, 3000, 4000], duration=20,
                           servers=["ours", "nginx", "floor"])),
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
def summarize(runs, key, level):
    lat = np.concatenate([l for _, l in runs]) if runs else np.zeros(0)
    tot = lambda k: int(sum(r[k] for r, _ in runs))   # noqa: E731
    calls_s = sum(r["ready"] * r["stream_s"] for r, _ in runs)
    srv = [r["server"] for r, _ in runs if r.get("server")]
    x = {"frames": tot("sent"), "lost": tot("lost"), "duplicated": tot("duplicated"),
         "late": tot("late"), "reordered": tot("reordered"), "corrupt": tot("corrupt"),
         "unknown": tot("unknown"), "failed_pairs": tot("failed")}
    x.update(B.percentiles(lat))
    x["jitter_ms"] = float(np.mean([r["jitter_ms"]["mean"] for r, _ in runs]))
    # schedstat (ns) is the figure; utime+stime (10 ms ticks) is the cross-check
    x["cpu_ms_per_stream_s"] = (sum(s["run_s"] for s in srv) * 1000 / calls_s
                                if srv and calls_s else None)
    x["cpu_ms_per_stream_s_stat"] = (sum(s["cpu_s"] for s in srv) * 1000 / calls_s
                                     if srv and calls_s else None)
    x["server_procs"] = max((s["procs"] for s in srv), default=None)
    x["generator_util_max"] = max(r["generator"]["util"] for r, _ in runs)
    x["send_slip_p99_max_ms"] = max(r["send_slip_ms"]["p99"] for r, _ in runs)
    x["rounds"] = [{k: r["latency_ms"][k] for k in ("p50", "p99", "p99_9", "max")}
                   for r, _ in runs]
    x["rtmpload_exit"] = sorted({r["rc"] for r, _ in runs})
    x["cdf"] = B.cdf_points(lat)
    return x


def ratio(a, b):
    return a / b if a is not None and b else None


def latency(ctx, m):
    acc = {}
    servers = [ctx.servers[k] for k in m["servers"] if k in ctx.servers]
    for rnd in range(m["rounds"]):
        for li, level in enumerate(m["levels"]):
            shift = (rnd + li) % len(servers)
            for s in servers[shift:] + servers[:shift]:
                B.log("latency: %s, %d stream(s), round %d" % (s.label, level, rnd + 1))
                res, lat = ctx.load.once(s, ctx.stream, level, m["duration"])
                s.check("latency run, %d streams" % level)
                acc.setdefault((s.key, level), []).append((res, lat))
    out = []
    for level in m["levels"]:
        lv = {"streams": level, "servers": {}, "ratios": {}}
        for s in servers:
            lv["servers"][s.key] = summarize(acc[(s.key, level)], s.key, level)
        ours = lv["servers"].get("ours")
        for vs in report.VS:
            other = lv["servers"].get(vs)
            if ours and other:
                rt = {k: ratio(ours[k], other[k]) for k in report.PCT_KEYS}
                rt["cpu"] = ratio(ours["cpu_ms_per_stream_s"], other["cpu_ms_per_stream_s"])
                lv["ratios"][vs] = rt
        out.append(lv)
    return out


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
def ramp_step(ctx, server, calls, duration):
    idle = B.tree_rss_kb(server.pid)
    res, _ = ctx.load.once(server, ctx.stream, calls, duration,
                           extra=["--setup-par", "64"], raw=False)
    alive = server.check("capacity ramp, %d calls" % calls)
    lm, srv = res["latency_ms"], res.get("server") or {}
    call_s = res["ready"] * res["stream_s"]
    why = []
    if not alive:
        why.append("server exited")
    if res["ready"] < calls:
        why.append("%d calls failed to set up (%s)" % (calls - res["ready"], res["first_error"]))
    for k in ("lost", "duplicated", "corrupt", "unknown"):
        if res[k]:
            why.append("%d %s" % (res[k], k))
    if lm["p99"] > P99_LIMIT:
        why.append("p99 %.1f ms" % lm["p99"])
    return {"calls": calls, "ready": res["ready"], "lost": res["lost"], "p50": lm["p50"],
            "p99": lm["p99"], "p99_9": lm["p99_9"], "max": lm["max"],
            "cpu_ms_per_call_s": srv.get("run_s", 0) * 1000 / call_s if call_s else None,
            "cpu_ms_per_call_s_stat": srv.get("cpu_s", 0) * 1000 / call_s if call_s else None,
            "rss_kib_per_call": (srv.get("rss_kb_end", idle) - idle) / calls if srv else None,
            "server_procs": srv.get("procs"), "generator_util": res["generator"]["util"],
            "send_slip_p99_ms": res["send_slip_ms"]["p99"], "setup_s": res["setup_s"],
            "clean": not why, "why": "; ".join(why)}


def capacity(ctx, server, ramp):
    steps, best, stopped = [], 0, None
    for calls in ramp["steps"]:
        for attempt in (1, 2):   # one retry: the machine is shared and noisy
            B.log("capacity: %s, %d calls, attempt %d" % (server.label, calls, attempt))
            st = ramp_step(ctx, server, calls, ramp["duration"])
            st["attempt"] = attempt
            steps.append(st)
            if st["clean"]:
                break
        if not st["clean"]:
            stopped = st["why"]
            break
        best = calls
    return {"steps": steps, "highest_clean": best, "stopped_by": stopped}


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
    lv = res["latency"][-1]["servers"]
    if "nginx" in lv:
        res["cpu_note"] = ("CPU per stream-second at %d streams: %s" % (
            res["latency"][-1]["streams"], ", ".join(
                "%s %.3f ms" % (report.LABEL[k], v["cpu_ms_per_stream_s"] or 0)
                for k, v in report.ordered(lv))) +
            " (ours/nginx %.2f)" % (ratio(lv["ours"]["cpu_ms_per_stream_s"],
                                         lv["nginx"]["cpu_ms_per_stream_s"]) or 0))
    if m["corpus"] and not a.no_corpus:
        res["corpus"] = timed(ctx, "corpus", lambda: [
            it for k in m["corpus_servers"] if k in ctx.servers
            for it in corpus_sweep(ctx, ctx.servers[k])])
    if m["ext"]:
        res["ext_ts"] = timed(ctx, "ext_ts", lambda: [
            ext_ts(ctx, ctx.servers[k], m["ext"]) for k in m["ext_servers"]
            if k in ctx.servers])
    if m["ramp"] and not a.no_ramp:
        res["capacity"] = {"p99_limit_ms": P99_LIMIT, "duration_s": m["ramp"]["duration"],
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


def smoke_check(r):
    bad = []
    for lv in r["paths"]["a"]["latency"]:
        for k, x in lv["servers"].items():
            if (x["lost"] or x["failed_pairs"] or x["duplicated"] or x["corrupt"] or
                    not x["frames"] or x["rtmpload_exit"] != [0]):
                bad.append("%s: %d frames, %d lost, %d failed pairs, rtmpload exit %s"
                           % (k, x["frames"], x["lost"], x["failed_pairs"], x["rtmpload_exit"]))
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
    t0 = time.monotonic()
    now = datetime.datetime.now(datetime.timezone.utc)
    outdir = a.out or os.path.join(B.ROOT, "bench", "results", now.strftime("%Y-%m-%d-%H%M%S"))
    build = os.path.abspath(a.build)
    ctx = Ctx()
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
        keys = set(m["servers"]) | set(m.get("validate_servers", [])) | \
            set((m["ramp"] or {}).get("servers", []))
        r["servers"] = start_servers(ctx, [k for k in ALL if k in keys], build,
                                     a.ours_args.split())
        r["paths"] = {"a": run_all(ctx, m, a)}
        for k, s in ctx.servers.items():
            r["servers"][k]["crashes"] = s.crashes
            if k == "ours":
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
