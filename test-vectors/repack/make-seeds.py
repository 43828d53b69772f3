#!/usr/bin/python3
"""Write the seeds of tests/fuzz/fuzz_repack.c (format: README.md here).

Run from the repository root:  /usr/bin/python3 test-vectors/repack/make-seeds.py
Deterministic: it reads only committed vectors and uses no randomness."""
import os
import struct

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
OUT = os.path.dirname(os.path.abspath(__file__))


def flv_audio(path):
    """(ms, body) of every audio tag of an FLV file."""
    d = open(os.path.join(ROOT, path), "rb").read()
    pos, out = 13, []
    while pos + 15 <= len(d):
        size = int.from_bytes(d[pos + 1:pos + 4], "big")
        ms = int.from_bytes(d[pos + 4:pos + 7], "big") | d[pos + 7] << 24
        if d[pos] == 8 and size:
            out.append((ms, d[pos + 11:pos + 11 + size]))
        pos += 15 + size
    return out


def spxv_stream(path, fpp, layout):
    """The RTMP payloads (no tag byte) of one stream of an .spxv file."""
    d = open(os.path.join(ROOT, path), "rb").read()
    pos = 8
    for _ in range(d[7]):
        pos += 1 + d[pos]
    for f in range(1, 5):
        for l in range(2):
            n = d[pos + 2]
            pos += 3
            pkts = []
            for _ in range(n):
                ln = int.from_bytes(d[pos:pos + 2], "big")
                pkts.append(d[pos + 2:pos + 2 + ln])
                pos += 2 + ln
            if (f, l) == (fpp, layout):
                return pkts
    raise ValueError(path)


def tag(kind, ms, body, late=0, ticks=0):
    return (bytes([kind]) + len(body).to_bytes(3, "big") + (ms & 0xffffff).to_bytes(3, "big")
            + bytes([ms >> 24 & 0xff, late, ticks, 0]) + body + (11 + len(body)).to_bytes(4, "big"))


def flv(flags, tags):
    return b"FLV\x01" + bytes([flags]) + struct.pack(">I", 9) + b"\0\0\0\0" + b"".join(tags)


def rtp(seq, ts, ssrc, payload, marker=False):
    return struct.pack(">BBHII", 0x80, (0x80 if marker else 0) | 97, seq & 0xffff,
                       ts & 0xffffffff, ssrc) + payload


def cfg(fpp, flash=False):
    """FLV flags byte: audio, frames per message out, tag byte."""
    return 0x04 | (fpp - 1) << 4 | (0x80 if flash else 0)


def write(name, data):
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)


def main():
    fpp1 = flv_audio("speech/speech-en-fpp1.flv")
    fpp2 = flv_audio("speech/speech-en-fpp2.flv")

    write("ffmpeg-fpp1.flv", flv(cfg(1), [tag(8, ms, b) for ms, b in fpp1[:50]]))
    write("ffmpeg-fpp2-jitter-rx2.flv",
          flv(cfg(2), [tag(8, ms, b, late=i * 7 % 50, ticks=1) for i, (ms, b) in enumerate(fpp2[:25])]))

    pk = spxv_stream("speex/wb-q8.spxv", 4, 1)
    write("flash-fpp4-padded-rx4.flv",
          flv(cfg(4, True), [tag(8, 80 * i, b"\xb2" + p) for i, p in enumerate(pk[:12])]))
    pk = spxv_stream("speex/wb-q3-dtx-inband.spxv", 3, 0)
    write("inband-fpp3-rx3.flv", flv(cfg(3), [tag(8, 60 * i, b"\xb6" + p) for i, p in enumerate(pk[:15])]))

    # RTMP clock: start near 2^32 ms, a VAD gap, backwards, more than 10 s on
    times = [0xffffff00 + 20 * i for i in range(12)] + [0x100, 0x50, 0x64, 0x78, 0x30000, 0x30014]
    write("rtmp-clock-rx1.flv", flv(cfg(1), [tag(8, t & 0xffffffff, fpp1[i][1]) for i, t in enumerate(times)]))

    # RTP in, impaired: reorder, duplicate, loss, late, SSRC change
    frames = [b[1:] for _, b in fpp1[:80]]
    arr = {i: 20 * i for i in range(80)}
    arr[11], arr[10] = 200, 201        # swapped
    del arr[30]                          # lost
    arr[40] = 20 * 43 + 5                # after 41..43
    evs = [(a, i) for i, a in arr.items()] + [(405, 20)]   # 20 twice
    tags = []
    for a, i in sorted(evs):
        ssrc, seq, ts = (0x1111, 100 + i, 5000 + 320 * i) if i < 60 else \
            (0x2222, 65520 + i, 0xfffff000 + 320 * i)
        tags.append(tag(9, a, rtp(seq, ts, ssrc, frames[i], marker=i in (0, 60))))
    tags += [tag(18, 20 * i + 10, b"") for i in range(0, 90, 10)]
    write("rtp-impaired-rx1.flv", flv(cfg(1), tags))

    # RTP with two frames a packet (FFmpeg's fpp 2 payloads), sequence and
    # timestamp wrap, then a DTX silence of 30 frames
    tags = []
    for i, (ms, b) in enumerate(fpp2[:30]):
        t = ms + (600 if i >= 20 else 0)
        tags.append(tag(9, t, rtp(65530 + i, 0xffffe000 + 16 * t, 0x3333, b[1:], marker=i in (0, 20)),
                        ticks=2))
    write("rtp-multi-wrap-rx2.flv", flv(cfg(2, True), tags))


if __name__ == "__main__":
    main()
