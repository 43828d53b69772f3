#!/usr/bin/python3
"""Bad input closes only the offending connection, with a log line saying
why, while an FFmpeg echo session running at the same time keeps working
(its played audio must still match the published audio)."""
import os
import socket
import struct
import subprocess
import time
from harness import Gateway, Procs, VECTORS, args, check, decode_wav, audiocmp, fail
from rtmpc import Client, amf0

a = args()
src = os.path.join(VECTORS, "speech", "speech-en-fpp1.flv")


def closed_by_server(sock, timeout=5.0):
    """True when the gateway closes the socket (EOF or reset) in time."""
    sock.settimeout(timeout)
    try:
        while sock.recv(65536):
            pass
        return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False


def connected_client(gw):
    c = Client(gw.port)
    r = c.connect()
    if r[0] != "_result":
        fail("could not connect: %r" % (r,))
    return c


with Procs("badinput") as P:
    gw = Gateway(P, a.gateway, extra=["--handshake-timeout", "2"])
    ref = P.path("ref.wav")
    decode_wav(src, ref)
    out = P.path("out.wav")
    player = P.start(["ffmpeg", "-nostdin", "-y", "-c:a", "libspeex", "-i", gw.url("echo"),
                      "-c:a", "pcm_s16le", out], "player")
    time.sleep(1.0)
    pub = P.start(["ffmpeg", "-nostdin", "-re", "-stream_loop", "1", "-i", src, "-c:a", "copy",
                   "-f", "flv", gw.url("echo")], "publisher")
    time.sleep(0.5)

    # 1. garbage handshake
    s = socket.create_connection(("127.0.0.1", gw.port), 5)
    s.sendall(b"\xff" * 1537)
    check(closed_by_server(s), "garbage handshake: connection closed")
    s.close()

    # 2. a chunk header announcing a huge message (the 24-bit length field
    #    tops out at 16 MiB; the limit is 2 MiB)
    c = connected_client(gw)
    c.send(bytes([3]) + b"\x00\x00\x00" + b"\xff\xff\xff" + bytes([20]) + b"\x00" * 4 + b"x" * 100)
    check(closed_by_server(c.sock), "16 MiB message header: connection closed")
    c.close()

    # 3. chunk sizes 0 and 2^31
    for size in (0, 1 << 31):
        c = connected_client(gw)
        c.send_msg(1, struct.pack(">I", size), csid=2)
        check(closed_by_server(c.sock), "Set Chunk Size %d: connection closed" % size)
        c.close()

    # 4. a client that opens a socket and never sends anything
    s = socket.create_connection(("127.0.0.1", gw.port), 5)
    t0 = time.time()
    check(closed_by_server(s, 10), "silent client closed after %.1fs" % (time.time() - t0))
    s.close()

    # 5. a truncated AMF object in a command
    c = connected_client(gw)
    body = amf0("createStream") + amf0(2) + b"\x03\x00\x04name\x02\x00\x10short"
    c.send_msg(20, body)
    check(closed_by_server(c.sock), "truncated AMF object: connection closed")
    c.close()

    # 6. 1000 rapid connect/disconnect cycles, some mid-handshake
    t0 = time.time()
    for i in range(1000):
        s = socket.create_connection(("127.0.0.1", gw.port), 5)
        if i % 3 == 1:
            s.sendall(b"\x03" + b"\x00" * 100)
        elif i % 3 == 2:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()
    print("1000 connect/disconnect cycles in %.1fs" % (time.time() - t0))
    check(gw.alive(), "gateway survived 1000 connect/disconnect cycles")
    c = connected_client(gw)
    tx = c.call("createStream", None)
    check(c.wait_cmd(lambda m: m[1] == tx)[0] == "_result", "a new client still gets service")
    c.close()

    try:
        pub.wait(60)
        player.wait(20)
    except Exception:
        fail("echo session did not finish")
    check(pub.returncode == 0, "echo publisher finished cleanly")
    # The publisher looped the file twice, so the played audio is twice the
    # reference; compare it against the reference played twice.
    ref2 = P.path("ref2.wav")
    subprocess.run(["sox", ref, ref, ref2], check=True, timeout=30)
    same = audiocmp(ref2, out, 0.99, 0.05)
    check(same, "the concurrent echo session played back what it published")

    log = gw.log()
    for why in ("bad handshake", "message larger than the limit", "invalid chunk size",
                "handshake timeout", "truncated AMF value"):
        check(why in log, "log says why: '%s'" % why)
    check(gw.alive(), "gateway still running")
    check(gw.stop() == 0, "gateway exits 0 on SIGTERM")
