#!/usr/bin/python3
"""Record the RTP and RTCP datagrams FFmpeg's rtp muxer sends to loopback.

usage: capture.py PORT SECONDS OUT.pkts
Listens on 127.0.0.1:PORT (RTP) and PORT+1 (RTCP) for SECONDS and writes
every datagram, in arrival order, as a record:
  u8 kind (0 RTP, 1 RTCP) | u32 arrival in microseconds since the first
  datagram (big-endian) | u16 length (big-endian) | the datagram's bytes
"""
import select, socket, struct, sys, time

port, secs, out = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
socks = []
for kind, p in ((0, port), (1, port + 1)):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", p))
    socks.append((kind, s))
recs, t0, end = [], None, time.monotonic() + secs
while time.monotonic() < end:
    ready, _, _ = select.select([s for _, s in socks], [], [], 0.1)
    for kind, s in socks:
        if s in ready:
            data = s.recv(65536)
            now = time.monotonic()
            t0 = now if t0 is None else t0
            recs.append(struct.pack(">BIH", kind, int((now - t0) * 1e6), len(data)) + data)
with open(out, "wb") as f:
    f.write(b"".join(recs))
print(len(recs), "datagrams")
