#!/usr/bin/python3
"""Record the C0+C1 bytes (1 + 1536) that an RTMP client sends first.

Listens on 127.0.0.1, accepts one connection, reads exactly 1537 bytes,
writes them to OUT and closes the connection.  If a client command is given
after "--", the script starts it (every "{port}" in its arguments is replaced
with the listening port), and once the bytes are saved (or on timeout) it
stops that client by its PID: SIGTERM, then SIGKILL if it lingers.

    capture-handshake.py -o ffmpeg-play.c0c1.bin -- \\
        ffmpeg -i rtmp://127.0.0.1:{port}/xmpp/echo -f null -

Standard library only.  Exit status: 0 when OUT was written, 1 otherwise.
"""
import argparse
import os
import signal
import socket
import subprocess
import sys
import time

C0C1_SIZE = 1 + 1536


def read_exact(conn, n, deadline):
    data = b""
    while len(data) < n:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("timed out after %d of %d bytes" % (len(data), n))
        conn.settimeout(left)
        chunk = conn.recv(n - len(data))
        if not chunk:
            raise ConnectionError("peer closed after %d of %d bytes" % (len(data), n))
        data += chunk
    return data


def stop(proc, grace):
    if proc is None or proc.poll() is not None:
        return
    os.kill(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=grace)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-o", "--out", required=True, help="file to write C0+C1 to")
    ap.add_argument("-p", "--port", type=int, default=0, help="port (default: any free one)")
    ap.add_argument("-t", "--timeout", type=float, default=15.0,
                    help="seconds to wait for the connection and the bytes")
    ap.add_argument("command", nargs=argparse.REMAINDER,
                    help="-- client command; {port} is replaced by the port")
    args = ap.parse_args()
    cmd = args.command[1:] if args.command[:1] == ["--"] else args.command

    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", args.port))
    srv.listen(1)
    port = srv.getsockname()[1]
    print("listening on 127.0.0.1:%d" % port, file=sys.stderr, flush=True)

    proc = None
    ok = False
    deadline = time.monotonic() + args.timeout
    try:
        if cmd:
            argv = [a.replace("{port}", str(port)) for a in cmd]
            print("running: %s" % " ".join(argv), file=sys.stderr, flush=True)
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL, start_new_session=True)
        srv.settimeout(args.timeout)
        conn, peer = srv.accept()
        with conn:
            data = read_exact(conn, C0C1_SIZE, deadline)
        with open(args.out, "wb") as f:
            f.write(data)
        print("saved %d bytes from %s:%d to %s (C0=%d, version %d.%d.%d.%d)"
              % (len(data), peer[0], peer[1], args.out, data[0], data[5], data[6], data[7],
                 data[8]), file=sys.stderr)
        ok = True
    except (OSError, TimeoutError) as e:
        print("capture failed: %s" % e, file=sys.stderr)
    finally:
        srv.close()
        stop(proc, 5.0)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
