"""The text table and the gnuplot plots of a bench run, drawn from its
results.json alone (so `bench/run.py --replot DIR` can redraw them).
Paths: (a) RTMP -> echo -> RTMP, (b) RTMP -> Jingle -> RTMP, (c) RTMP -> RTP."""
import os
import shutil
import subprocess

LABEL = {"ours": "rtmp2xmpp", "nginx": "nginx-rtmp", "floor": "floor", "floor_tcp": "floor-tcp",
         "ours_call": "rtmp2xmpp (calls)"}
COLOR = {"ours": "#d62728", "nginx": "#1f77b4", "floor": "#7f7f7f", "floor_tcp": "#2ca02c"}
VS = ("nginx", "floor", "floor_tcp")
ORDER = ("ours",) + VS + ("ours_call",)


def ordered(d):
    """(key, value) in the order ours, nginx, floor, floor-tcp (results.json
    is written with sorted keys)."""
    return [(k, d[k]) for k in ORDER if k in d]
PCT_KEYS = ["p50", "p90", "p99", "p99_9", "max"]


def fmt(v, w=8, d=3):
    if v is None:
        return "-".rjust(w)
    return ("%.*f" % (d, v)).rjust(w)


TITLE = {"a": "RTMP -> echo -> RTMP", "b": "RTMP -> Jingle -> RTMP", "c": "RTMP -> RTP"}


def header(r):
    m = r["machine"]
    lines = [
        "rtmp2xmpp benchmark, " + ", ".join("path (%s): %s" % (k, TITLE[k])
                                            for k in sorted(r["paths"])),
        "%s, mode %s, command: %s" % (r["date"], r["mode"], r["command"]),
        "machine: %d x %s, Linux %s, load average %.2f before, %.2f after"
        % (m["nproc"], m["cpu_model"], m["kernel"], m["loadavg_before"][0],
           m["loadavg_after"][0]),
    ]
    s = r.get("stream")
    if s and "a" in r["paths"]:
        lines.append("stream: %s (%d ms packets, looped), %g s per run, %d round(s), "
                     "servers interleaved" % (s["file"], s["packet_ms"], s["duration_s"],
                                              s["rounds"]))
    elif s:
        lines.append("stream: %s (%d ms packets, looped)" % (s["file"], s["packet_ms"]))
    return lines


def latency_table(a, title="Added latency per frame, ms: publisher send() -> relay -> "
                              "player recv()", unit="stream"):
    out = ["", title,
           "streams  server       frames  lost  dup  late     p50      p90      p99    p99.9"
           "      max   jitter  cpu ms/%s-s" % unit]
    for lv in a["latency"]:
        for key, x in ordered(lv["servers"]):
            out.append("%7d  %-10s %8d %5d %4d %5d %s %s %s %s %s %s %s" % (
                lv["streams"], LABEL[key], x["frames"], x["lost"], x["duplicated"], x["late"],
                fmt(x["p50"]), fmt(x["p90"]), fmt(x["p99"]), fmt(x["p99_9"]), fmt(x["max"]),
                fmt(x["jitter_ms"]), fmt(x["cpu_ms_per_stream_s"], 9)))
        for vs in VS:
            rt = lv["ratios"].get(vs)
            if rt:
                out.append("         %-33s %s %s %s %s %s %s %s" % (
                    "ours/" + LABEL[vs], fmt(rt["p50"], 7, 2), fmt(rt["p90"], 8, 2),
                    fmt(rt["p99"], 8, 2), fmt(rt["p99_9"], 8, 2), fmt(rt["max"], 8, 2),
                    " " * 8, fmt(rt.get("cpu"), 9, 2)))
    return out


def capacity_table(a, what="echo calls"):
    cap = a.get("capacity")
    if not cap:
        return []
    out = ["", "Capacity, %s (clean: every frame arrives once and intact, p99 <= %g ms)"
           % (what, cap["p99_limit_ms"]),
           "server      calls  ready   lost     p50      p99    p99.9  cpu ms/call-s  "
           "RSS KiB/call  gen util  clean"]
    for key, c in ordered(cap["servers"]):
        for st in c["steps"]:
            out.append("%-10s %6d %6d %6d %s %s %s %14s %13s %9s  %s" % (
                LABEL[key], st["calls"], st["ready"], st["lost"], fmt(st["p50"]),
                fmt(st["p99"]), fmt(st["p99_9"]), fmt(st["cpu_ms_per_call_s"], 14, 3),
                fmt(st["rss_kib_per_call"], 13, 1), fmt(st["generator_util"], 9, 2),
                "yes" if st["clean"] else "no: " + st["why"]))
    out.append("highest clean count: " + ", ".join(
        "%s %s%s" % (LABEL[k], c["highest_clean"],
                     "" if c["stopped_by"] else " (every step clean; ramp ended)")
        for k, c in ordered(cap["servers"])))
    for k, c in ordered(cap["servers"]):
        if "highest_loose" in c:
            out.append("%s: highest count with no frame lost and p99 <= %g ms: %d%s"
                       % (LABEL[k], c["loose_p99_ms"], c["highest_loose"],
                          " (stopped by %s)" % c["loose_stopped_by"] if c["loose_stopped_by"]
                          else " (ramp ended)"))
    return out


def path_c_lines(c):
    out = ["", "== Path (c): %s (%g s per run, %d round(s))" % (TITLE["c"], c["duration_s"],
                                                               c["rounds"]),
           "", "Latency per frame, ms: caller send() -> gateway -> SRTP -> StanzaJS/werift "
           "RTP arrival (%d ms settle); jitter: RFC 3550 on the RTP side" % c["settle_ms"],
           "  calls   frames  lost  dup  late     p50      p90      p99    p99.9      max  "
           "rtp jitter  cpu ms/leg-s"]
    for lv in c["latency"]:
        x = lv["servers"]["ours"]
        out.append("%7d %8d %5d %4d %5d %s %s %s %s %s %11s %13s" % (
            lv["streams"], x["frames"], x["lost"], x["duplicated"], x["late"], fmt(x["p50"]),
            fmt(x["p90"]), fmt(x["p99"]), fmt(x["p99_9"]), fmt(x["max"]),
            fmt(x["rtp_jitter_ms"]["mean"], 11), fmt(x["cpu_ms_per_leg_s"], 13)))
    for lv in c["latency"]:
        x = lv["servers"]["ours"]
        if x["corrupt"] or x["unknown"] or x["unmatched"] or x["calls_without_base"] or \
                x["lost_at_start_max"] or x["failed_pairs"]:
            out.append("  %d call(s): %d corrupt, %d unknown, %d never mapped, %d calls without "
                       "a timestamp base, up to %d frames lost at a call's start, %d failed"
                       % (lv["streams"], x["corrupt"], x["unknown"], x["unmatched"],
                          x["calls_without_base"], x["lost_at_start_max"], x["failed_pairs"]))
    return out


def extra_tables(a, r):
    out = []
    if a.get("corpus"):
        out += ["", "Recorded corpus, one pass per item, 2 pairs each, items in parallel",
                "%-34s %-10s %6s %5s %4s %7s %8s %8s" % ("item", "server", "frames", "lost",
                                                         "dup", "corrupt", "p50", "p99")]
        for it in a["corpus"]:
            out.append("%-34s %-10s %6d %5d %4d %7d %s %s" % (
                it["item"], LABEL[it["server"]], it["sent"], it["lost"], it["duplicated"],
                it["corrupt"], fmt(it["p50"]), fmt(it["p99"])))
    if a.get("ext_ts"):
        out += ["", "Extended timestamps: the 5-hour stream from 0x%X ms, across 0xFFFFFF"
                % a["ext_ts"][0]["seek_ts"]]
        for e in a["ext_ts"]:
            out.append("  %-10s sent %d, lost %d, dup %d, corrupt %d, unknown %d, p99 %s ms"
                       % (LABEL[e["server"]], e["sent"], e["lost"], e["duplicated"],
                          e["corrupt"], e["unknown"], fmt(e["p99"]).strip()))
    if r.get("validation"):
        out += ["", "rtmpload against FFmpeg (same frames, same timestamps)"]
        for v in r["validation"]:
            out.append("  %-10s %-30s publish (FFmpeg plays): %s; play (FFmpeg publishes): %s"
                       % (LABEL[v["server"]], v["stream"], v["publish"]["verdict"],
                          v["play"]["verdict"]))
    return out


def server_lines(r):
    """Crashes and warnings of every server (ours_call: the gateway of the calls)."""
    out = []
    for key, s in ordered(r.get("servers", {})):
        for c in s.get("crashes", []):
            out.append("  !! %s exited during %s (rc %s)" % (LABEL[key], c["during"],
                                                            c["returncode"]))
        if s.get("log_lines"):
            out.append("  %s logged %d line(s) at warn level, e.g. %s"
                       % (LABEL[key], s["log_lines"], s["log_sample"][0][:100]))
    return out


def call_lines(b):
    """How the calls of path (b) went: set-up, offsets learnt, early ends."""
    out = []
    for lv in b["latency"]:
        x = lv["servers"].get("ours", {})
        c = x.get("call")
        if c:
            out.append("  %d call(s): offsets learnt for %d call-runs, %d frames never mapped, "
                       "%d offset conflicts, %d calls ended early%s; set-up up to %.1f s"
                       % (lv["streams"], c["pairs_with_offset"], c["unmatched"],
                          c["offset_conflicts"], c["ended_early"],
                          " (" + c["first_end"] + ")" if c["first_end"] else "",
                          x.get("setup_s_max", 0)))
    return out


def path_b_lines(b):
    lines = ["", "== Path (b): %s (%g s per run, %d round(s), servers interleaved)"
             % (TITLE["b"], b["duration_s"], b["rounds"])]
    lines += latency_table(b, "Added latency per frame, ms: caller send() -> gateway -> SRTP "
                              "-> gateway -> callee recv() (ours, %d ms settle); publisher "
                              "-> relay -> player (nginx-rtmp, floor)" % b.get("settle_ms", 0),
                           "leg")
    lines += call_lines(b)
    if b.get("cpu_note"):
        lines += ["", b["cpu_note"]]
    return lines + capacity_table(b, "calls")


def table(r):
    lines = header(r)
    a, b, c = (r["paths"].get(k) for k in "abc")
    if a:
        lines += latency_table(a)
        if a.get("cpu_note"):
            lines += ["", a["cpu_note"]]
        lines += capacity_table(a) + extra_tables(a, r)
    if b:
        lines += path_b_lines(b)
    if c:
        lines += path_c_lines(c)
    lines += server_lines(r)
    return "\n".join(lines) + "\n"


# ---- plots ------------------------------------------------------------------
def gnuplot_ok():
    return shutil.which("gnuplot") is not None


def write_dat(path, rows):
    with open(path, "w") as f:
        for row in rows:
            f.write(" ".join(str(x) for x in row) + "\n")


def plot_cdf(r, outdir, tmp, path="a", name="latency-cdf.png"):
    if not r["paths"].get(path, {}).get("latency"):
        return None
    levels = r["paths"][path]["latency"]
    cmds = ["set terminal pngcairo size %d,760 font 'sans,10'" % (420 * len(levels)),
            "set output '%s'" % os.path.join(outdir, name),
            "set multiplot layout 2,%d title 'Path (%s) %s: added latency "
            "per frame (%s)'" % (len(levels), path, TITLE[path], r["date"]),
            "set logscale x", "set grid", "set key bottom right", "set format x '%g'"]
    for row in ("cdf", "ccdf"):
        for lv in levels:
            plots = []
            for key, x in ordered(lv["servers"]):
                dat = os.path.join(tmp, "cdf-%s-%s-%d.dat" % (path, key, lv["streams"]))
                write_dat(dat, x["cdf"])
                col = "2" if row == "cdf" else "(1-$2 > 0 ? 1-$2 : 1/0)"
                plots.append("'%s' using 1:%s with lines lw 2 lc rgb '%s' title '%s'"
                             % (dat, col, COLOR[key], LABEL[key]))
            if row == "cdf":
                cmds += ["unset logscale y", "set yrange [0:1]", "set key bottom right",
                         "set ylabel 'fraction of frames'"]
            else:
                cmds += ["set logscale y", "set yrange [*:1]", "set key top right",
                         "set format y '%g'", "set ylabel '1 - CDF (tail)'"]
            cmds += ["set xlabel 'added latency, ms'",
                     "set title '%d stream(s)'" % lv["streams"], "plot " + ", ".join(plots)]
    cmds.append("unset multiplot")
    return run_gnuplot(cmds, tmp, "cdf")


def plot_capacity(r, outdir, tmp):
    cap = r["paths"].get("a", {}).get("capacity")
    if not cap:
        return None
    cmds = ["set terminal pngcairo size 1100,460 font 'sans,10'",
            "set output '%s'" % os.path.join(outdir, "capacity.png"),
            "set multiplot layout 1,2 title 'Echo capacity ramp (%s)'" % r["date"],
            "set grid", "set key top left", "set xlabel 'concurrent echo calls'",
            "set logscale x", "set format x '%g'",
            "set logscale y", "set format y '%g'", "set ylabel 'p99 added latency, ms'",
            "set title 'p99 latency (dashed: the %g ms limit; open points: not clean)'"
            % cap["p99_limit_ms"]]
    lat, cpu = [], []
    for key, c in ordered(cap["servers"]):
        ok = [[s["calls"], s["p99"] or 1e-3, s["cpu_ms_per_call_s"] or 0] for s in c["steps"]
              if s["clean"]]
        bad = [[s["calls"], s["p99"] or 1e-3, s["cpu_ms_per_call_s"] or 0] for s in c["steps"]
               if not s["clean"]]
        for tag, rows in (("ok", ok), ("bad", bad)):
            dat = os.path.join(tmp, "cap-%s-%s.dat" % (key, tag))
            write_dat(dat, rows or [["NaN", "NaN", "NaN"]])
            style = "linespoints pt 7" if tag == "ok" else "points pt 6 ps 1.5"
            title = LABEL[key] if tag == "ok" else ""
            lat.append("'%s' using 1:2 with %s lw 2 lc rgb '%s' title '%s'"
                       % (dat, style, COLOR[key], title))
            cpu.append("'%s' using 1:3 with %s lw 2 lc rgb '%s' title '%s'"
                       % (dat, style, COLOR[key], title))
    cmds.append("plot %s, %g with lines dt 2 lc rgb 'black' notitle"
                % (", ".join(lat), cap["p99_limit_ms"]))
    cmds += ["unset logscale y", "set yrange [0:*]", "set ylabel 'server CPU ms per call-second'",
             "set title 'server CPU per call-second'", "plot " + ", ".join(cpu),
             "unset multiplot"]
    return run_gnuplot(cmds, tmp, "capacity")


def run_gnuplot(cmds, tmp, name):
    script = os.path.join(tmp, name + ".gp")
    with open(script, "w") as f:
        f.write("\n".join(cmds) + "\n")
    r = subprocess.run(["gnuplot", script], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=60)
    if r.returncode:
        return "gnuplot failed: " + r.stdout.decode(errors="replace")[-500:]
    return None


def plots(r, outdir, tmp):
    """Draw both plots; returns a list of problems (empty when fine)."""
    if not gnuplot_ok():
        return ["gnuplot is not installed (apt-get install gnuplot-nox): no plots"]
    return [e for e in (plot_cdf(r, outdir, tmp), plot_cdf(r, outdir, tmp, "b", "latency-cdf-b.png"),
                        plot_capacity(r, outdir, tmp)) if e]
