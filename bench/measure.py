"""The measurements every path shares: interleaved latency rounds at a few
stream counts, their summary and ratios, and the capacity ramp.

A path describes its relays as Runners: a key (ours, nginx, floor, ...),
a label and once(streams, seconds) -> (rtmpload's report, latencies in ms).
Path (a) runs echo streams on each relay; path (b) runs voice calls on ours
and the same rtmpload pairs relayed by nginx-rtmp and the floor."""
import numpy as np

import benchlib as B
import report

P99_LIMIT = 20.0


class Runner:
    def __init__(self, server, once, key=None):
        self.server = server
        self.key = key or server.key
        self.label = report.LABEL[self.key]
        self.once = once


def summarize(runs):
    lat = np.concatenate([l for _, l in runs]) if runs else np.zeros(0)
    tot = lambda k: int(sum(r[k] for r, _ in runs))   # noqa: E731
    srv = [r["server"] for r, _ in runs if r.get("server")]
    x = {"frames": tot("sent"), "received": tot("received"), "lost": tot("lost"), "duplicated": tot("duplicated"),
         "late": tot("late"), "reordered": tot("reordered"), "corrupt": tot("corrupt"),
         "unknown": tot("unknown"), "failed_pairs": tot("failed")}
    x.update(B.percentiles(lat))
    x["jitter_ms"] = float(np.mean([r["jitter_ms"]["mean"] for r, _ in runs]))
    x["cpu_ms_per_stream_s"], x["cpu_ms_per_stream_s_stat"] = server_cpu(runs)
    x["server_procs"] = max((s["procs"] for s in srv), default=None)
    x["generator_util_max"] = max(r["generator"]["util"] for r, _ in runs)
    x["send_slip_p99_max_ms"] = max(r["send_slip_ms"]["p99"] for r, _ in runs)
    x["rounds"] = [{k: r["latency_ms"][k] for k in ("p50", "p99", "p99_9", "max")}
                   for r, _ in runs]
    x["rtmpload_exit"] = sorted({r["rc"] for r, _ in runs})
    calls = [r["call"] for r, _ in runs if r.get("call")]
    if calls:
        x["call"] = {k: int(sum(c[k] for c in calls))
                     for k in ("pairs_with_offset", "unmatched", "offset_conflicts",
                               "ended_early")}
        x["call"]["settle_ms"] = calls[0]["settle_ms"]
        x["call"]["first_end"] = next((c["first_end"] for c in calls if c["first_end"]), "")
        x["setup_s_max"] = max(r["setup_s"] for r, _ in runs)
    x["cdf"] = B.cdf_points(lat)
    return x


def ratio(a, b):
    return a / b if a is not None and b else None


def latency(runners, levels, rounds, duration, what="latency"):
    """Each runner at each level, `rounds` times, the order rotated per round
    and level; then per level: the summaries and ours/other ratios."""
    acc = {}
    for rnd in range(rounds):
        for li, level in enumerate(levels):
            shift = (rnd + li) % len(runners)
            for rn in runners[shift:] + runners[:shift]:
                B.log("%s: %s, %d stream(s), round %d" % (what, rn.label, level, rnd + 1))
                res, lat = rn.once(level, duration)
                rn.server.check("%s run, %d streams" % (what, level))
                acc.setdefault((rn.key, level), []).append((res, lat))
    out = []
    for level in levels:
        lv = {"streams": level, "servers": {}, "ratios": {}}
        for rn in runners:
            lv["servers"][rn.key] = summarize(acc[(rn.key, level)])
        ours = lv["servers"].get("ours")
        for vs in report.VS:
            other = lv["servers"].get(vs)
            if ours and other:
                rt = {k: ratio(ours[k], other[k]) for k in report.PCT_KEYS}
                rt["cpu"] = ratio(ours["cpu_ms_per_stream_s"], other["cpu_ms_per_stream_s"])
                lv["ratios"][vs] = rt
        out.append(lv)
    return out


def server_cpu(runs):
    """The server's CPU ms per stream-second over rtmpload runs [(report, _)]:
    from schedstat (ns; the figure) and from utime+stime (10 ms ticks; the
    cross-check); None without a server snapshot."""
    calls_s = sum(r["ready"] * r["stream_s"] for r, _ in runs)
    srv = [r["server"] for r, _ in runs if r.get("server")]
    if not srv or not calls_s:
        return None, None
    return (sum(s["run_s"] for s in srv) * 1000 / calls_s,
            sum(s["cpu_s"] for s in srv) * 1000 / calls_s)


def cpu_note(levels, unit="stream-second"):
    """One line: CPU per stream-second at the highest level, and ours/nginx."""
    lv = levels[-1]["servers"]
    if "nginx" not in lv or "ours" not in lv:
        return None
    return ("CPU per %s at %d streams: %s" % (unit, levels[-1]["streams"], ", ".join(
        "%s %.3f ms" % (report.LABEL[k], v["cpu_ms_per_stream_s"] or 0)
        for k, v in report.ordered(lv))) +
        " (ours/nginx %.2f)" % (ratio(lv["ours"]["cpu_ms_per_stream_s"],
                                      lv["nginx"]["cpu_ms_per_stream_s"]) or 0))


def ramp_step(once, server, calls, duration, limit=P99_LIMIT, loose=None):
    """One step of a ramp: `calls` streams or calls at once, once(calls,
    duration) -> (report, latencies).  Clean: all set up, nothing lost,
    duplicated, corrupt or unknown, and p99 <= limit; "loose_clean" the same
    with p99 <= loose."""
    idle = B.tree_rss_kb(server.pid)
    res, _ = once(calls, duration)
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
    bad = list(why)
    if lm["p99"] > limit:
        why.append("p99 %.1f ms" % lm["p99"])
    if loose is not None and lm["p99"] > loose:
        bad.append("p99 %.1f ms" % lm["p99"])
    return {"loose_clean": not bad, "loose_why": "; ".join(bad),"calls": calls, "ready": res["ready"], "lost": res["lost"], "p50": lm["p50"],
            "p99": lm["p99"], "p99_9": lm["p99_9"], "max": lm["max"],
            "cpu_ms_per_call_s": srv.get("run_s", 0) * 1000 / call_s if call_s else None,
            "cpu_ms_per_call_s_stat": srv.get("cpu_s", 0) * 1000 / call_s if call_s else None,
            "rss_kib_per_call": (srv.get("rss_kb_end", idle) - idle) / calls if srv else None,
            "server_procs": srv.get("procs"), "generator_util": res["generator"]["util"],
            "send_slip_p99_ms": res["send_slip_ms"]["p99"], "setup_s": res["setup_s"],
            "clean": not why, "why": "; ".join(why)}


def capacity(once, server, label, steps, duration, limit=P99_LIMIT, loose=None):
    """Ramp until a step is not clean (after one retry).  With `loose`, the
    ramp goes on past that step while steps stay clean with p99 <= loose:
    highest_clean is the count before the first failure at `limit`,
    highest_loose the last step clean at `loose`."""
    out, best, best_loose, stopped, loose_stop = [], 0, 0, None, None
    for calls in steps:
        want = "clean" if stopped is None else "loose_clean"
        for attempt in (1, 2):   # one retry: the machine is shared and noisy
            B.log("capacity: %s, %d calls, attempt %d" % (label, calls, attempt))
            st = ramp_step(once, server, calls, duration, limit, loose)
            st["attempt"] = attempt
            out.append(st)
            if st[want]:
                break
        if stopped is None:
            if st["clean"]:
                best = calls
            else:
                stopped = st["why"]
        if loose is None:
            if stopped:
                break
            continue
        if not st["loose_clean"]:
            loose_stop = st["loose_why"]
            break
        best_loose = calls
    res = {"steps": out, "highest_clean": best, "stopped_by": stopped}
    if loose is not None:
        res.update({"loose_p99_ms": loose, "highest_loose": best_loose,
                    "loose_stopped_by": loose_stop})
    return res
