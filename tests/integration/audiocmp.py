#!/usr/bin/python3
"""Compare two WAV recordings: best-lag normalized correlation and duration.

Usage:
    audiocmp.py REF.wav GOT.wav [--min-corr C] [--max-dur-diff F] [--max-lag S]
    audiocmp.py --self-test [REF.wav]

Both files are decoded to 16-bit mono.  GOT is brought to REF's sample rate;
any file that is not 16-bit PCM mono at the needed rate (stereo, other rate,
float, WAVE_FORMAT_EXTENSIBLE, ...) is converted with ffmpeg into a temporary
file that is deleted afterwards.

The alignment lag is the peak of the FFT cross-correlation within +-max-lag
(default 2 s); a positive lag means GOT is delayed with respect to REF.  At
that lag the Pearson correlation of the overlapping part is computed.

Prints one JSON line:
    {"ref_s": .., "got_s": .., "dur_diff": .., "lag_ms": .., "corr": ..}
where dur_diff = (got_s - ref_s) / ref_s.

Exit status: 0 if corr >= C (default 0.9) and |dur_diff| <= F (default 0.05);
1 if the comparison fails; 2 on usage or I/O errors.

Requires numpy (Debian: apt-get install python3-numpy) and, only for format
conversion, ffmpeg.  Run with /usr/bin/python3.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import wave

import numpy as np


class AudioError(Exception):
    pass


def _read_wav_raw(path):
    """Return (samples int16 ndarray, rate) or None if not plain s16 mono."""
    try:
        with wave.open(path, "rb") as w:
            if w.getsampwidth() != 2 or w.getnchannels() != 1:
                return None, w.getframerate()
            rate = w.getframerate()
            data = w.readframes(w.getnframes())
    except (wave.Error, EOFError):
        return None, None
    return np.frombuffer(data, dtype="<i2"), rate


def _ffmpeg_convert(path, rate, tmpdir):
    """Convert any audio file to s16 mono WAV at `rate` (or native rate)."""
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        raise AudioError("%s needs conversion but ffmpeg is not installed" % path)
    out = os.path.join(tmpdir, "conv-%d.wav" % len(os.listdir(tmpdir)))
    cmd = [ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
           "-i", path, "-vn", "-ac", "1"]
    if rate:
        cmd += ["-ar", str(rate)]
    cmd += ["-c:a", "pcm_s16le", "-f", "wav", out]
    try:
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=60)
    except subprocess.TimeoutExpired:
        raise AudioError("ffmpeg timed out converting %s" % path)
    if r.returncode != 0:
        raise AudioError("ffmpeg failed converting %s: %s"
                         % (path, r.stderr.decode(errors="replace").strip()))
    x, got_rate = _read_wav_raw(out)
    if x is None:
        raise AudioError("cannot read ffmpeg output for %s" % path)
    return x, got_rate


def load(path, rate=None, tmpdir=None):
    """Load `path` as int16 mono; resample to `rate` if given."""
    if not os.path.isfile(path):
        raise AudioError("no such file: %s" % path)
    x, r = _read_wav_raw(path)
    if x is not None and (rate is None or r == rate):
        return x, r
    return _ffmpeg_convert(path, rate, tmpdir)


def _next_pow2(n):
    return 1 << max(0, int(n - 1).bit_length())


def compare_signals(ref, got, rate, max_lag_s=2.0):
    """Return dict with ref_s, got_s, dur_diff, lag_ms, corr."""
    ref = np.asarray(ref, dtype=np.float64)
    got = np.asarray(got, dtype=np.float64)
    ref_s = len(ref) / float(rate)
    got_s = len(got) / float(rate)
    res = {"ref_s": round(ref_s, 4), "got_s": round(got_s, 4),
           "dur_diff": round((got_s - ref_s) / ref_s, 4) if ref_s > 0 else None,
           "lag_ms": 0.0, "corr": 0.0}
    if len(ref) == 0 or len(got) == 0:
        return res

    # Remove DC so an offset does not dominate the cross-correlation.
    ref = ref - ref.mean()
    got = got - got.mean()

    # xc[k] = sum_n got[n + k] * ref[n]  (k > 0: GOT delayed w.r.t. REF)
    n = _next_pow2(len(ref) + len(got))
    xc = np.fft.irfft(np.fft.rfft(got, n) * np.conj(np.fft.rfft(ref, n)), n)
    max_lag = int(round(max_lag_s * rate))
    pos_max = min(max_lag, len(got) - 1)
    neg_max = min(max_lag, len(ref) - 1)
    lags = np.concatenate((np.arange(-neg_max, 0), np.arange(0, pos_max + 1)))
    vals = np.concatenate((xc[n - neg_max:], xc[:pos_max + 1]))
    lag = int(lags[int(np.argmax(vals))])

    # Overlapping part at that lag: got[n + lag] ~ ref[n].
    if lag >= 0:
        a = ref[:max(0, min(len(ref), len(got) - lag))]
        b = got[lag:lag + len(a)]
    else:
        b = got[:max(0, min(len(got), len(ref) + lag))]
        a = ref[-lag:-lag + len(b)]
    corr = 0.0
    if len(a) > 1:
        a = a - a.mean()
        b = b - b.mean()
        den = np.sqrt(np.dot(a, a) * np.dot(b, b))
        if den > 0:
            corr = float(np.dot(a, b) / den)
    res["lag_ms"] = round(lag * 1000.0 / rate, 3)
    res["corr"] = round(corr, 6)
    return res


def verdict(res, min_corr, max_dur_diff):
    return (res["corr"] >= min_corr and res["dur_diff"] is not None
            and abs(res["dur_diff"]) <= max_dur_diff)


def compare_files(ref_path, got_path, max_lag_s=2.0):
    with tempfile.TemporaryDirectory(prefix="audiocmp-") as tmpdir:
        ref, rate = load(ref_path, None, tmpdir)
        got, _ = load(got_path, rate, tmpdir)
    return compare_signals(ref, got, rate, max_lag_s)


# ---------------------------------------------------------------- self test

def _synthetic_speechlike(rate, seconds=4.0, seed=1):
    """Deterministic harmonic signal with a varying pitch and syllable
    envelopes, roughly speech-like (not white)."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / float(rate)
    f0 = 120.0 + 40.0 * np.sin(2 * np.pi * 0.7 * t) + 15.0 * np.sin(2 * np.pi * 2.3 * t)
    phase = 2 * np.pi * np.cumsum(f0) / rate
    x = np.zeros_like(t)
    for h in range(1, 15):
        x += (1.0 / h) * np.sin(h * phase + rng.uniform(0, 2 * np.pi))
    env = np.clip(np.sin(2 * np.pi * 2.1 * t) + 0.3 * np.sin(2 * np.pi * 0.37 * t), 0, None)
    x = x * env + 0.02 * rng.standard_normal(len(t))
    return np.round(x / np.abs(x).max() * 20000).astype(np.int16)


def _write_wav(path, x, rate, channels=1):
    with wave.open(path, "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(np.asarray(x, dtype="<i2").tobytes())


def self_test(ref_path=None, min_corr=0.9, max_dur_diff=0.05):
    import time
    rate = 16000
    results = []
    failures = 0

    def check(name, cond, res):
        nonlocal failures
        ok = bool(cond)
        failures += 0 if ok else 1
        results.append(name)
        print("%s %-34s %s" % ("PASS" if ok else "FAIL", name, json.dumps(res)))

    sources = [("synthetic", None)]
    if ref_path:
        sources.append((os.path.basename(ref_path), ref_path))

    with tempfile.TemporaryDirectory(prefix="audiocmp-selftest-") as tmp:
        for label, path in sources:
            if path is None:
                sig = _synthetic_speechlike(rate)
            else:
                sig, rate = load(path, None, tmp)
            ref_wav = os.path.join(tmp, "ref.wav")
            _write_wav(ref_wav, sig, rate)

            # identical
            t0 = time.monotonic()
            res = compare_files(ref_wav, ref_wav)
            dt = time.monotonic() - t0
            check(label + ": self", res["corr"] > 0.999 and res["lag_ms"] == 0
                  and verdict(res, min_corr, max_dur_diff), res)
            check(label + ": speed (%.0f ms)" % (dt * 1000), dt < 1.0, res)

            # 120 ms delayed copy (same length + 120 ms leading silence)
            d = int(0.120 * rate)
            delayed = np.concatenate((np.zeros(d, np.int16), sig))
            p = os.path.join(tmp, "delayed.wav")
            _write_wav(p, delayed, rate)
            res = compare_files(ref_wav, p)
            check(label + ": delayed 120 ms", abs(res["lag_ms"] - 120.0) < 0.5
                  and res["corr"] > 0.99, res)

            # 120 ms advanced copy (negative lag)
            p = os.path.join(tmp, "advanced.wav")
            _write_wav(p, sig[d:], rate)
            res = compare_files(ref_wav, p)
            check(label + ": advanced 120 ms", abs(res["lag_ms"] + 120.0) < 0.5
                  and res["corr"] > 0.99, res)

            # white noise of the same length and level
            rng = np.random.default_rng(7)
            noise = np.clip(rng.standard_normal(len(sig)) * max(1.0, sig.std()),
                            -32768, 32767).astype(np.int16)
            p = os.path.join(tmp, "noise.wav")
            _write_wav(p, noise, rate)
            res = compare_files(ref_wav, p)
            check(label + ": white noise", res["corr"] < 0.2
                  and not verdict(res, min_corr, max_dur_diff), res)

            # truncated by 10 %: correlation fine, duration check must fail
            p = os.path.join(tmp, "trunc.wav")
            _write_wav(p, sig[:int(len(sig) * 0.9)], rate)
            res = compare_files(ref_wav, p)
            check(label + ": truncated 10%", res["corr"] > 0.99
                  and abs(res["dur_diff"] + 0.1) < 0.001
                  and not verdict(res, min_corr, max_dur_diff), res)

            # stereo 48 kHz copy, exercising the ffmpeg conversion path
            if shutil.which("ffmpeg"):
                src = os.path.join(tmp, "src48.wav")
                subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-y",
                                "-i", ref_wav, "-ar", "48000", "-ac", "2",
                                "-c:a", "pcm_s16le", src], check=True, timeout=60)
                res = compare_files(ref_wav, src)
                check(label + ": stereo 48 kHz copy", res["corr"] > 0.99
                      and abs(res["lag_ms"]) <= 1.0
                      and verdict(res, min_corr, max_dur_diff), res)

    print("self-test: %d checks, %d failed" % (len(results), failures))
    return 0 if failures == 0 else 1


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("ref", nargs="?", help="reference WAV")
    ap.add_argument("got", nargs="?", help="WAV to check")
    ap.add_argument("--min-corr", type=float, default=0.9)
    ap.add_argument("--max-dur-diff", type=float, default=0.05,
                    help="maximum |got-ref|/ref duration difference")
    ap.add_argument("--max-lag", type=float, default=2.0,
                    help="alignment search range in seconds (default 2)")
    ap.add_argument("--self-test", action="store_true",
                    help="run built-in checks (optionally also on REF)")
    args = ap.parse_args(argv)

    try:
        if args.self_test:
            return self_test(args.ref, args.min_corr, args.max_dur_diff)
        if not args.ref or not args.got:
            ap.print_usage(sys.stderr)
            return 2
        res = compare_files(args.ref, args.got, args.max_lag)
    except AudioError as e:
        print("audiocmp: %s" % e, file=sys.stderr)
        return 2
    print(json.dumps(res))
    sys.stdout.flush()
    return 0 if verdict(res, args.min_corr, args.max_dur_diff) else 1


if __name__ == "__main__":
    sys.exit(main())
