"""ctest bench-engine-smoke: engine_bench with 2 calls for 3 s in both
modes, then its JSON: well formed, one run per mode, every call up, and
frames_sent == frames_received + lost with nothing lost, duplicated or
corrupt.  Usage: smoke.py ENGINE_BENCH JSON_OUT"""
import json
import subprocess
import sys


def check(run):
    """The failures of one run, as strings."""
    bad = []
    want = {"lost": 0, "duplicated": 0, "corrupt": 0, "send_errors": 0}
    if run["calls_up"] != run["calls"]:
        bad.append("%d of %d calls up" % (run["calls_up"], run["calls"]))
    if run["frames_sent"] != run["frames_received"] + run["lost"]:
        bad.append("frames_sent != frames_received + lost")
    if run["frames_sent"] < run["calls"] * 2 * 100:
        bad.append("only %d frames sent" % run["frames_sent"])
    for key, value in want.items():
        if run[key] != value:
            bad.append("%s = %s" % (key, run[key]))
    if not 0 < run["latency_ms"]["p50"] <= run["latency_ms"]["max"]:
        bad.append("latency percentiles out of order")
    return bad


def main():
    prog, out = sys.argv[1], sys.argv[2]
    proc = subprocess.run([prog, "-n", "2", "-s", "3", "--json", out], check=False)
    with open(out, encoding="utf-8") as f:
        doc = json.load(f)
    runs = doc["runs"]
    failed = proc.returncode != 0
    if sorted(r["mode"] for r in runs) != ["attach", "ours"]:
        print("smoke: want one run per mode, got", [r["mode"] for r in runs])
        failed = True
    for run in runs:
        for why in check(run):
            print("smoke: %s: %s" % (run["mode"], why))
            failed = True
    if len(doc["ratios_ours_over_attach"]) != 1:
        print("smoke: no ratio row")
        failed = True
    print("smoke:", "FAIL" if failed else "ok")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
