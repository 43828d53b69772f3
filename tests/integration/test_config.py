#!/usr/bin/python3
"""Configuration: --help documents every setting; a GKeyFile config file is
read and command-line flags override it; bad values are refused with a
clear message and exit status 2."""
import subprocess
import time
from harness import Gateway, Procs, args, check, free_port
from rtmpc import Client

a = args()


def run(*argv):
    return subprocess.run([a.gateway] + list(argv), capture_output=True, text=True, timeout=10)


h = run("--help")
check(h.returncode == 0, "--help exits 0")
for flag in ("--listen", "--config", "--app", "--log-level", "--max-connections",
             "--max-message-size", "--max-chunk-size", "--handshake-timeout", "--idle-timeout"):
    check(flag in h.stdout, "--help documents %s" % flag)

r = run("--listen", "nonsense:port")
check(r.returncode == 2 and "bad --listen" in r.stderr, "bad --listen refused: " + r.stderr.strip())
r = run("--max-connections", "0")
check(r.returncode == 2 and "max_connections" in r.stderr, "out-of-range limit refused")

with Procs("config") as P:
    cfg = P.path("gw.conf")
    port = free_port()
    with open(cfg, "w") as f:
        f.write("[server]\nlisten = 127.0.0.1:%d\napp = phone\n[log]\nlevel = debug\n"
                "[limits]\nmax_connections = 2\nhandshake_timeout = 3\n" % port)
    r = run("--config", P.path("missing.conf"))
    check(r.returncode == 2 and "missing.conf" in r.stderr, "missing config file reported")
    with open(P.path("bad.conf"), "w") as f:
        f.write("[limits]\nidle_timeout = soon\n")
    r = run("--config", P.path("bad.conf"))
    check(r.returncode == 2 and "idle_timeout" in r.stderr, "non-numeric setting reported")

    # The file sets app "phone" and max_connections 2; --listen overrides its port.
    gw = Gateway(P, a.gateway, extra=["--config", cfg], level=None)
    check(gw.port != port, "--listen overrides the file's listen address")
    c1 = Client(gw.port)
    check(c1.connect(app="phone")[0] == "_result", "app name from the config file accepted")
    c2 = Client(gw.port)
    check(c2.connect(app="xmpp")[0] == "_error", "default app name refused when configured otherwise")
    c2.close()
    time.sleep(0.3)
    c3 = Client(gw.port)
    c4 = Client(gw.port)
    refused = False
    try:
        c4.handshake()
    except (EOFError, OSError):
        refused = True
    check(refused, "max_connections = 2 from the file refuses a third client")
    for c in (c1, c3, c4):
        c.close()
    check("connection limit reached" in gw.log(), "refusal logged")
    check("accepted from" in gw.log(), "log level debug from the file applied")
    check(gw.stop() == 0, "gateway exits 0")
