#!/usr/bin/python3
"""Scale: many concurrent RTMP+XMPP sessions against prosody, with well over
1024 descriptors in play across the gateway's processes.  Every session
logs in, sends a chat message to its partner session, and must receive its
partner's message.  No crash, every message arrives.

libstrophe corrupts memory for sockets numbered >= 1024 (it uses select());
the gateway's worker processes each hold at most users_per_worker
connections and cannot open descriptor 1024 at all, which this test proves
by load.  ctest label "scale"; RX_SCALE_SESSIONS sets the count (default
1500)."""
import asyncio
import os
import resource
import time
from harness import Gateway, Procs, args, check, fail
from xmpp_server import Prosody
from artmpc import AClient

a = args()
N = int(os.environ.get("RX_SCALE_SESSIONS", "1500"))
N -= N % 2
RAMP = int(os.environ.get("RX_SCALE_RAMP", "50"))
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 65536), hard))


def gateway_fds(pid):
    """Descriptors held by the gateway's master and workers, and the highest."""
    total, high = 0, 0
    pids = [pid] + [int(p) for p in open("/proc/%d/task/%d/children" % (pid, pid)).read().split()]
    for p in pids:
        fds = [int(f) for f in os.listdir("/proc/%d/fd" % p)]
        total += len(fds)
        if p != pid:
            high = max([high] + fds)
    return total, high, len(pids) - 1


async def session(i, port, xport, ready, go, results, gate):
    c = AClient()
    try:
        await gate.acquire()   # logins in flight at once: a ramp, as real users arrive
        await c.open(port)
        r = await c.connect()
        if r[0] != "_result":
            raise RuntimeError("connect: %r" % (r,))
        tx = c.call("xmpp_connect", None, {"username": "u%d" % i, "domain": "localhost",
                                            "password": "p%d" % i, "resource": "r",
                                            "host": "127.0.0.1", "port": xport})
        r = await c.wait_cmd(lambda m: m[1] == tx or m[0] == "xmpp_disconnected")
        if r[0] != "_result" or r[3] != 1.0:
            if r[0] == "_result":
                r = await c.wait_cmd(lambda m: m[0] == "xmpp_disconnected")
            raise RuntimeError("login of u%d failed: %r" % (i, r))
        gate.release()
        ready.append(i)
        await go.wait()
        peer = i ^ 1
        c.call("xmpp", None, "message", {"to": "u%d@localhost/r" % peer, "type": "chat"},
               "<body>from %d to %d</body>" % (i, peer), txid=0)
        m = await c.wait_cmd(lambda m: m[0] == "xmpp_message")
        want = "from %d to %d" % (peer, i)
        results[i] = want in m[4] and m[3].get("from") == "u%d@localhost/r" % peer
    finally:
        c.close()


async def main(port, xport, gw_pid):
    ready, go, results = [], asyncio.Event(), {}
    gate = asyncio.Semaphore(RAMP)
    t0 = time.time()
    tasks = [asyncio.create_task(session(i, port, xport, ready, go, results, gate))
             for i in range(N)]
    deadline = time.time() + 240
    while len(ready) < N and time.time() < deadline:
        if any(t.done() and t.exception() for t in tasks):
            break
        await asyncio.sleep(0.5)
    errs = [t.exception() for t in tasks if t.done() and t.exception()]
    if errs:
        fail("%d sessions failed; first: %r" % (len(errs), errs[0]))
    check(len(ready) == N, "%d sessions logged in within %.0f s (%.1f logins/s)"
          % (len(ready), time.time() - t0, len(ready) / (time.time() - t0)))
    total, high, workers = gateway_fds(gw_pid)
    print("gateway: %d descriptors in %d workers + master; highest in a worker: %d"
          % (total, workers, high))
    check(total > 1024, "more than 1024 descriptors in play (%d)" % total)
    check(high < 1024, "every worker descriptor is below 1024 (highest %d)" % high)
    go.set()
    done, pending = await asyncio.wait(tasks, timeout=120)
    check(not pending, "every session finished its exchange")
    errs = [t.exception() for t in done if t.exception()]
    check(not errs, "no session failed during the exchange: %r" % (errs[:1],))
    check(len(results) == N and all(results.values()),
          "all %d messages arrived, each from the right peer" % N)


with Procs("scale") as P, Prosody(log_level="warn", iterations=4096) as X:
    t0 = time.time()
    X.register_many([("u%d" % i, "p%d" % i) for i in range(N)])
    print("registered %d accounts in %.1f s" % (N, time.time() - t0))
    gw = Gateway(P, a.gateway, extra=["--xmpp-cafile", X.ca_file, "--max-connections",
                                      str(N + 100), "--workers", "2"], level=os.environ.get("RX_SCALE_LOG", "warn"))
    asyncio.run(main(gw.port, X.port, gw.p.pid))
    check(gw.alive(), "gateway still running")
    log = gw.log()
    check("died of signal" not in log and "AddressSanitizer" not in log, "no worker crashed")
    check(gw.stop() == 0, "gateway exits 0 on SIGTERM")
