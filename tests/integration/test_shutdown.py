#!/usr/bin/python3
"""SIGTERM shuts down gracefully: every connected client is told
NetConnection.Connect.Closed, then its socket closes, and the gateway exits 0.
A client still in the handshake is closed too."""
import socket
import time
from harness import Gateway, Procs, args, check
from rtmpc import Client

a = args()
with Procs("shutdown") as P:
    gw = Gateway(P, a.gateway)
    clients = []
    for enc in (0, 3, 0):
        c = Client(gw.port)
        r = c.connect(encoding=enc)
        check(r[0] == "_result", "client (AMF%d) connected" % enc)
        clients.append(c)
    raw = socket.create_connection(("127.0.0.1", gw.port), 5)
    raw.sendall(b"\x03")  # half a handshake
    time.sleep(0.2)
    t0 = time.time()
    gw.p.terminate()
    for i, c in enumerate(clients):
        m = c.wait_cmd(lambda m: m[0] == "onStatus", timeout=5)
        check(m[3]["code"] == "NetConnection.Connect.Closed",
              "client %d told NetConnection.Connect.Closed" % i)
        closed = False
        try:
            while True:
                c.read_msg()
        except EOFError:
            closed = True
        check(closed, "client %d: socket closed by the gateway" % i)
        c.close()
    raw.settimeout(5)
    try:
        while raw.recv(10000):
            pass
        closed = True
    except socket.timeout:
        closed = False
    except OSError:
        closed = True   # reset
    check(closed, "client in handshake closed")
    raw.close()
    rc = gw.p.wait(10)
    check(rc == 0, "gateway exited 0 after %.2fs" % (time.time() - t0))
    check("shutting down" in gw.log(), "shutdown logged")
