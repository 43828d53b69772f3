#!/usr/bin/python3
"""A client that stops reading is disconnected past the hard limit
(--out-limit), with the reason in the log, and other sessions are not
disturbed: stanzas are never dropped, so the only way out is to close that
one client."""
import socket
import time
from harness import Procs, args, check
from stanza_kit import (ALICE_FULL, BOB_PW, Rtmp, accounts, bot_full_jid, callback,
                        login_fields, start_gateway)
from xmpp_bot import Bot
from xmpp_server import Prosody
import rtmpc

a = args()
with Procs("slowreader") as P, Prosody() as X:
    accounts(X)
    X.register("carol", "carolpw")
    gw = start_gateway(P, a.gateway, X, "--out-limit", "65536", "--workers", "0", level="info")
    bob = Bot("bob")
    bob.connect(X.jid("bob"), BOB_PW, X.ca_file, port=X.port)
    bob_full = bot_full_jid(bob)

    # carol: a normal client on the same worker
    carol = Rtmp(gw.port)
    check(carol.login(X, user="carol", password="carolpw", resource="c") == 1.0, "carol logged in")

    # alice: a client with a tiny receive buffer that stops reading after login
    slow = rtmpc.Client.__new__(rtmpc.Client)
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect(("127.0.0.1", gw.port))
    s.settimeout(10)
    slow.sock, slow.rbuf, slow.in_chunk, slow.out_chunk, slow.cs, slow.txid, slow.amf3 = \
        s, b"", 128, 128, {}, 1, False
    slow.connect()
    tx = slow.call("xmpp_connect", None, login_fields(X))
    r = slow.wait_cmd(lambda m: m[1] == tx, timeout=15)
    check(r[0] == "_result" and r[3] == 1.0, "alice (the slow reader) logged in")

    body = "x" * 2000
    for i in range(400):   # about 800 KB of stanzas, far past the 64 KiB limit
        bob.send_message(ALICE_FULL, "%d %s" % (i, body))
    t0 = time.time()
    while time.time() - t0 < 30 and "client stopped reading" not in gw.log():
        time.sleep(0.2)
    check("client stopped reading" in gw.log(),
          "the gateway closed alice with a reason in its log after %.1f s" % (time.time() - t0))

    bob.send_message("carol@localhost/c", "still here?")
    m = carol.expect(callback("xmpp_message", from_=bob_full), 10, "bob's message to carol")
    check("still here?" in m[4], "carol's session was not disturbed")
    check(gw.alive(), "gateway still running")
    bob.stop()
    carol.close()
    check(gw.stop() == 0, "gateway exits 0")
