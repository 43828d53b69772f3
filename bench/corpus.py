#!/usr/bin/python3
"""Tools for the recorded-stream corpus (test-vectors/corpus/), stdlib only.

  corpus.py flv-info FILE...              tags, duration, tag bytes (JSON lines)
  corpus.py flv-tagbyte IN OUT --byte 0xB2   rewrite every audio tag byte
  corpus.py flv-loop IN OUT --seconds S   repeat IN's audio tags, timestamps
                                          continuing, for S seconds (the 5-hour
                                          stream that crosses 0xFFFFFF ms)
  corpus.py rtp-record FLV PCAP RTPDUMP   send FLV as RTP speex/16000 with
                                          `ffmpeg -re -f rtp` to our own UDP
                                          listener and record arrival times
  corpus.py rtp-impair IN.pcap PROFILE SEED OUT.pcap OUT.rtpdump
                                          derive an impairment profile
  corpus.py rtp-info FILE.pcap...         packets, loss, reorder, jitter (JSON)

FLV: 9-byte header, then tags (type, 24-bit size, 24-bit timestamp + 8-bit
extension, stream id, data, 32-bit previous tag size).
pcap: classic libpcap, microsecond timestamps, LINKTYPE_RAW (IPv4 + UDP
headers synthesized, 127.0.0.1:5004 -> 127.0.0.1:5004).
rtpdump: rtptools' "#!rtpplay1.0" binary format (millisecond offsets)."""
import hashlib
import json
import os
import random
import signal
import socket
import struct
import subprocess
import sys
import threading
import time

FLV_AUDIO, FLV_SCRIPT = 8, 18


# ---- FLV ----------------------------------------------------------------
def flv_read(path):
    """Return (header bytes, [(type, ts, data)])."""
    with open(path, "rb") as f:
        b = f.read()
    if b[:3] != b"FLV":
        raise ValueError("%s: not an FLV file" % path)
    hlen = struct.unpack(">I", b[5:9])[0]
    tags, i = [], hlen + 4
    while i + 11 <= len(b):
        t = b[i]
        size = int.from_bytes(b[i + 1:i + 4], "big")
        ts = int.from_bytes(b[i + 4:i + 7], "big") | b[i + 7] << 24
        if i + 11 + size > len(b):
            break
        tags.append((t, ts, b[i + 11:i + 11 + size]))
        i += 11 + size + 4
    return b[:hlen], tags


def flv_tag(t, ts, data):
    return (bytes([t]) + len(data).to_bytes(3, "big") + (ts & 0xFFFFFF).to_bytes(3, "big")
            + bytes([ts >> 24 & 0xFF]) + b"\0\0\0" + data + struct.pack(">I", 11 + len(data)))


def flv_write(path, header, tags):
    with open(path, "wb") as f:
        f.write(header + b"\0\0\0\0")
        for t, ts, data in tags:
            f.write(flv_tag(t, ts, data))


def audio_tags(tags):
    return [(ts, d) for t, ts, d in tags if t == FLV_AUDIO and d]


def frame_step(audio):
    """Milliseconds between packets (the last delta; 20 * frames per packet)."""
    return audio[-1][0] - audio[-2][0] if len(audio) > 1 else 20


def cmd_flv_info(paths):
    for p in paths:
        _, tags = flv_read(p)
        a = audio_tags(tags)
        sizes = sorted({len(d) for _, d in a})
        print(json.dumps({
            "file": os.path.basename(p), "bytes": os.path.getsize(p), "packets": len(a),
            "duration_ms": a[-1][0] - a[0][0] + frame_step(a) if a else 0,
            "packet_ms": frame_step(a), "tag_bytes": sorted({"0x%02X" % d[0] for _, d in a}),
            "payload_sizes": [sizes[0], sizes[-1]] if sizes else [],
            "sha256": hashlib.sha256(open(p, "rb").read()).hexdigest()}))


def cmd_flv_tagbyte(src, dst, byte):
    header, tags = flv_read(src)
    out = [(t, ts, bytes([byte]) + d[1:] if t == FLV_AUDIO and d else d) for t, ts, d in tags]
    flv_write(dst, header, out)


def cmd_flv_loop(src, dst, seconds):
    header, tags = flv_read(src)
    a = audio_tags(tags)
    step = frame_step(a)
    period = a[-1][0] - a[0][0] + step
    end = int(seconds * 1000)
    with open(dst, "wb") as f:
        f.write(header + b"\0\0\0\0")
        base = 0
        while base < end:
            f.write(b"".join(flv_tag(FLV_AUDIO, base + ts - a[0][0], d) for ts, d in a
                             if base + ts - a[0][0] < end))
            base += period


# ---- RTP capture files --------------------------------------------------
PCAP_PORT = 5004


def ip_checksum(h):
    s = sum(struct.unpack("!10H", h))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF


def pcap_write(path, pkts):
    """pkts: [(arrival_us, rtp bytes)] in arrival order."""
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 101))
        for t, rtp in pkts:
            udp = struct.pack("!HHHH", PCAP_PORT, PCAP_PORT, 8 + len(rtp), 0) + rtp
            ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0x4000, 64, 17, 0,
                             bytes([127, 0, 0, 1]), bytes([127, 0, 0, 1]))
            ip = ip[:10] + struct.pack("!H", ip_checksum(ip)) + ip[12:]
            frame = ip + udp
            f.write(struct.pack("<IIII", t // 1000000, t % 1000000, len(frame), len(frame)))
            f.write(frame)


def pcap_read(path):
    with open(path, "rb") as f:
        b = f.read()
    if struct.unpack("<I", b[:4])[0] != 0xA1B2C3D4:
        raise ValueError("%s: not a little-endian microsecond pcap" % path)
    out, i = [], 24
    while i + 16 <= len(b):
        sec, usec, incl, _ = struct.unpack("<IIII", b[i:i + 16])
        frame = b[i + 16:i + 16 + incl]
        out.append((sec * 1000000 + usec, frame[28:]))   # 20 IP + 8 UDP
        i += 16 + incl
    return out


def rtpdump_write(path, pkts):
    """rtptools format; offsets are milliseconds from the first packet."""
    t0 = pkts[0][0] if pkts else 0
    with open(path, "wb") as f:
        f.write(b"#!rtpplay1.0 127.0.0.1/%d\n" % PCAP_PORT)
        f.write(struct.pack("!IIIHH", t0 // 1000000, t0 % 1000000, 0x7F000001, PCAP_PORT, 0))
        for t, rtp in pkts:
            f.write(struct.pack("!HHI", 8 + len(rtp), len(rtp), (t - t0) // 1000) + rtp)


def rtp_fields(rtp):
    seq, ts = struct.unpack("!HI", rtp[2:8])
    return seq, ts


def cmd_rtp_record(flv, pcap, rtpdump):
    """ffmpeg -re sends FLV's Speex packets as RTP to our listener; we keep
    each datagram with its arrival time (CLOCK_REALTIME, microseconds)."""
    rtp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rtp.bind(("127.0.0.1", 0))
    port = rtp.getsockname()[1]
    rtcp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        rtcp.bind(("127.0.0.1", port + 1))
    except OSError:
        sys.exit("rtp-record: port %d (RTCP) is busy; run again" % (port + 1))
    pkts, done = [], threading.Event()

    def listen():
        rtp.settimeout(0.2)
        while not done.is_set():
            try:
                d = rtp.recv(2048)
            except socket.timeout:
                continue
            pkts.append((time.time_ns() // 1000, d))

    th = threading.Thread(target=listen, daemon=True)
    th.start()
    cmd = ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-re", "-i", flv,
           "-map", "0:a", "-c:a", "copy", "-fflags", "+bitexact", "-f", "rtp",
           "-payload_type", "97", "-ssrc", "0x5EEC0DE5", "-seq", "1000",
           "rtp://127.0.0.1:%d?rtcpport=%d" % (port, port + 1)]
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    try:
        p.wait(120)
    except subprocess.TimeoutExpired:
        p.send_signal(signal.SIGKILL)
        p.wait(5)
        sys.exit("rtp-record: ffmpeg did not finish in 120 s")
    time.sleep(0.3)
    done.set()
    th.join(2)
    rtp.close()
    rtcp.close()
    if p.returncode or not pkts:
        sys.exit("rtp-record: ffmpeg failed (%s) or nothing arrived" % p.returncode)
    pcap_write(pcap, pkts)
    rtpdump_write(rtpdump, pkts)


# Impairment profiles.  Each starts from the recorded arrival times (the
# loopback's own jitter) and adds one-way delay, loss or reordering with a
# seeded generator, so the same capture and seed give the same file.
PROFILES = {
    # FIFO queueing delay: 20 ms + Gamma(k=2, theta=7.5 ms); order is kept.
    "jitter": {"base_ms": 20, "gamma_k": 2, "gamma_theta_ms": 7.5, "fifo": True},
    # Gilbert-Elliott bursty loss: good->bad 1.25 %, bad->good 40 % per packet,
    # every packet in the bad state lost: 3.0 % average, bursts of 2.5.
    "loss": {"base_ms": 20, "ge_p": 0.0125, "ge_r": 0.4},
    # 5 % of packets held back 20-60 ms (1-3 packet times) past later ones.
    "reorder": {"base_ms": 20, "reorder_p": 0.05, "reorder_ms": [20, 60]},
    # All three, milder: a busy Wi-Fi hop.
    "mixed": {"base_ms": 20, "gamma_k": 2, "gamma_theta_ms": 10, "fifo": True,
              "ge_p": 0.0085, "ge_r": 0.4, "reorder_p": 0.02, "reorder_ms": [20, 60]},
}


def impair(pkts, prof, seed):
    rnd = random.Random(seed)
    out, bad, last = [], False, 0
    for t, rtp in pkts:
        d = prof["base_ms"] * 1000
        if "gamma_k" in prof:
            d += int(rnd.gammavariate(prof["gamma_k"], prof["gamma_theta_ms"]) * 1000)
        if "ge_p" in prof:
            bad = rnd.random() < (1 - prof["ge_r"] if bad else prof["ge_p"])
            if bad:
                continue
        a = t + d
        if prof.get("fifo"):
            a = max(a, last)
            last = a
        if "reorder_p" in prof and rnd.random() < prof["reorder_p"]:
            lo, hi = prof["reorder_ms"]
            a += rnd.randint(lo * 1000, hi * 1000)
        out.append((a, rtp))
    out.sort(key=lambda x: x[0])
    return out


def cmd_rtp_impair(src, profile, seed, pcap, rtpdump):
    pkts = impair(pcap_read(src), PROFILES[profile], seed)
    pcap_write(pcap, pkts)
    rtpdump_write(rtpdump, pkts)


def rtp_stats(pkts, clock=16000):
    """Loss from sequence numbers, late-order count, RFC 3550 jitter (ms)."""
    seqs = [rtp_fields(r)[0] for _, r in pkts]
    ext, prev, base = [], None, 0
    for s in seqs:   # unwrap 16-bit sequence numbers
        if prev is not None and s < prev and prev - s > 32768:
            base += 65536
        ext.append(base + s)
        prev = s
    expected = max(ext) - min(ext) + 1
    reordered, top = 0, -1
    for e in ext:   # packets that arrive after one with a higher number
        reordered += e < top
        top = max(top, e)
    j, jmax, last = 0.0, 0.0, None
    for t, r in pkts:
        transit = t / 1e6 - rtp_fields(r)[1] / clock
        if last is not None:
            j += (abs(transit - last) - j) / 16
            jmax = max(jmax, j)
        last = transit
    gaps = [(pkts[i][0] - pkts[i - 1][0]) / 1000 for i in range(1, len(pkts))]
    return {"packets": len(pkts), "expected": expected,
            "lost_pct": round(100.0 * (expected - len(set(ext))) / expected, 2),
            "reordered": reordered, "jitter_ms": round(j * 1000, 3),
            "jitter_max_ms": round(jmax * 1000, 3),
            "gap_ms_max": round(max(gaps), 3) if gaps else 0}


def cmd_rtp_info(paths):
    for p in paths:
        s = rtp_stats(pcap_read(p))
        s["file"] = os.path.basename(p)
        print(json.dumps(s))


def main(argv):
    if len(argv) < 2:
        sys.exit(__doc__)
    c, a = argv[1], argv[2:]
    if c == "flv-info":
        cmd_flv_info(a)
    elif c == "flv-tagbyte" and len(a) == 4 and a[2] == "--byte":
        cmd_flv_tagbyte(a[0], a[1], int(a[3], 0))
    elif c == "flv-loop" and len(a) == 4 and a[2] == "--seconds":
        cmd_flv_loop(a[0], a[1], float(a[3]))
    elif c == "rtp-record" and len(a) == 3:
        cmd_rtp_record(*a)
    elif c == "rtp-impair" and len(a) == 5 and a[1] in PROFILES:
        cmd_rtp_impair(a[0], a[1], int(a[2]), a[3], a[4])
    elif c == "rtp-info":
        cmd_rtp_info(a)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
