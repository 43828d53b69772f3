"""Self-test of the XMPP test infrastructure (xmpp_server.Prosody and
xmpp_bot.Bot): no gateway involved.

- two bots exchange a chat message and presence over a mutual roster;
- a MUC room carries a groupchat message;
- a wrong password is refused with a clear error;
- a server whose certificate we do not trust is refused by TLS verification;
- XEP-0198, XEP-0215 and the websocket endpoint are there;
- stop() is a clean shutdown the client sees, kill() is not;
- registering 2000 accounts is timed.
"""
import base64
import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import check, fail  # noqa: E402
from xmpp_bot import (AuthError, Bot, ConnectError, TLSError, NS_STREAM, child,  # noqa: E402
                      is_message, is_presence, local)
from xmpp_server import Prosody  # noqa: E402

NS_SM = "urn:xmpp:sm:3"
NS_EXTDISCO = "urn:xmpp:extdisco:2"


def ws_open(url, domain, timeout=5):
    """Minimal RFC 6455 + RFC 7395 client: handshake, send <open/>, return
    the server's first frames as text."""
    hostport, path = url[len("ws://"):].split("/", 1)
    host, port = hostport.split(":")
    s = socket.create_connection((host, int(port)), timeout)
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall(("GET /%s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n"
               "Sec-WebSocket-Protocol: xmpp\r\n\r\n" % (path, hostport, key)).encode())
    buf = b""
    end = time.monotonic() + timeout
    while b"\r\n\r\n" not in buf and time.monotonic() < end:
        buf += s.recv(4096)
    head, _, rest = buf.partition(b"\r\n\r\n")
    status = head.split(b"\r\n")[0].decode()
    if " 101 " not in status:
        s.close()
        return status, ""
    payload = ("<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' to='%s' version='1.0'/>"
               % domain).encode()
    mask = os.urandom(4)
    frame = bytes([0x81, 0x80 | len(payload)]) + mask + \
        bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    s.sendall(frame)
    text = ""
    data = rest
    while "</stream:features>" not in text and "features/>" not in text and time.monotonic() < end:
        try:
            data += s.recv(4096)
        except socket.timeout:
            break
        while len(data) >= 2:             # unmasked server frames
            n = data[1] & 0x7f
            off = 2
            if n == 126:
                n = int.from_bytes(data[2:4], "big")
                off = 4
            elif n == 127:
                n = int.from_bytes(data[2:10], "big")
                off = 10
            if len(data) < off + n:
                break
            text += data[off:off + n].decode(errors="replace")
            data = data[off + n:]
    s.close()
    return status, text


def main():
    with Prosody(websocket=True, stun=("127.0.0.1", 3478)) as p, Prosody() as other:
        print("prosody %s: c2s 127.0.0.1:%d, ws %s, modules %s"
              % (p.dir, p.port, p.ws_url, " ".join(p.modules)), flush=True)
        p.register("alice", "alice-pw")
        p.register("bob", "bob-pw")
        p.add_roster("alice", "bob")
        check(p.read_store("roster", "bob")["alice@localhost"]["subscription"] == "both",
              "mutual roster written")

        alice, bob = Bot("alice"), Bot("bob")
        try:
            t = time.monotonic()
            alice.connect("alice@localhost/a", "alice-pw", p.ca_file, port=p.port)
            print("alice logged in in %.2f s" % (time.monotonic() - t))
            mechs = alice.sasl_mechanisms()
            print("SASL mechanisms offered after STARTTLS: %s" % mechs)
            check(mechs and "SCRAM-SHA-1" in mechs, "prosody offers SCRAM-SHA-1")
            feats = alice.features
            check(feats is not None and feats.find("{%s}sm" % NS_SM) is not None,
                  "XEP-0198 stream management advertised (mod_smacks)")

            bob.connect("bob@localhost/b", "bob-pw", p.ca_file, port=p.port)
            alice.wait_for(is_presence(frm="bob@localhost/b"), 5, what="bob's presence")
            check(True, "alice sees bob's presence (mutual roster)")
            bob.wait_for(is_presence(frm="alice@localhost/a"), 5, what="alice's presence")
            check(True, "bob sees alice's presence")

            alice.send_message("bob@localhost", "hello bob")
            m = bob.wait_for(is_message(body="hello bob", type="chat"), 5, what="chat message")
            check(m.get("from") == "alice@localhost/a", "bob receives alice's chat message")
            bob.send_message("alice@localhost/a", "hello alice")
            alice.wait_for(is_message(body="hello alice", frm="bob@localhost"), 5)
            check(True, "alice receives bob's reply")

            mk = alice.mark()
            bob.send_presence(show="away", status="busy here")
            pr = alice.wait_for(is_presence(frm="bob@localhost/b"), 5, after=mk)
            check(child(pr, "show") is not None and child(pr, "show").text == "away",
                  "presence change (away) reaches alice")

            r = bob.iq_query("localhost", "<services xmlns='%s'/>" % NS_EXTDISCO)
            svc = [s for s in r.iter("{%s}service" % NS_EXTDISCO)]
            print("XEP-0215 reply: %s" % [dict(s.attrib) for s in svc])
            check(r.get("type") == "result" and any(s.get("type") == "stun" and s.get("port") == "3478"
                                                     for s in svc),
                  "XEP-0215 advertises the STUN server 127.0.0.1:3478")

            # an automatic answer and a query between the bots
            bob.auto_reply_iq("urn:example:q", "<answer xmlns='urn:example:q'>42</answer>")
            r = alice.iq_query("bob@localhost/b", "<question xmlns='urn:example:q'/>")
            check(r.get("type") == "result" and r.find("{urn:example:q}answer").text == "42",
                  "auto-reply answers an iq get with a result")
            r = alice.iq_query("bob@localhost/b", "<nothing xmlns='urn:example:none'/>")
            check(r.get("type") == "error", "unhandled iq gets an error reply")
            r = alice.iq_query("bob@localhost/b", "<ping xmlns='urn:xmpp:ping'/>")
            check(r.get("type") == "result", "XEP-0199 ping answered by the bot")

            room = "room1@" + p.muc
            bob.join_muc(room, "bob")
            alice.join_muc(room, "alice")
            check(True, "alice and bob joined %s" % room)
            alice.send_message(room, "hello room", type="groupchat")
            g = bob.wait_for(is_message(body="hello room", type="groupchat"), 5,
                             what="groupchat message")
            check(g.get("from") == room + "/alice", "bob receives alice's groupchat message")
        finally:
            alice.stop()
            bob.stop()

        with Bot("mallory") as bad:
            try:
                bad.connect("alice@localhost", "wrong-password", p.ca_file, port=p.port)
                fail("login with a wrong password succeeded")
            except AuthError as e:
                print("error: %s" % e)
                check("not-authorized" in str(e), "wrong password refused (not-authorized)")

        with Bot("nobody") as bad:
            try:
                bad.connect("nobody@localhost", "x", p.ca_file, port=p.port)
                fail("login as a missing user succeeded")
            except AuthError as e:
                check(True, "unknown user refused: %s" % e)

        other.register("alice", "alice-pw")
        with Bot("untrusting") as b:
            try:
                b.connect("alice@localhost", "alice-pw", p.ca_file, port=other.port)
                fail("TLS with an untrusted certificate succeeded")
            except TLSError as e:
                print("error: %s" % e)
                check("CERTIFICATE_VERIFY_FAILED" in str(e) or "certificate" in str(e),
                      "untrusted server certificate refused by TLS verification")
        with Bot("trusting") as b:
            b.connect("alice@localhost", "alice-pw", other.ca_file, port=other.port)
            check(True, "the same server is accepted with its own CA file")
        with Prosody(cert_from=p) as shared, Bot("shared") as b:
            shared.register("alice", "alice-pw")
            b.connect("alice@localhost", "alice-pw", p.ca_file, port=shared.port)
            check(True, "a second server made with cert_from= is trusted by the first CA file")
        with Prosody(cert_names=("example.org",)) as wrong, Bot("wrongname") as b:
            wrong.register("alice", "alice-pw")
            try:
                b.connect("alice@localhost", "alice-pw", wrong.ca_file, port=wrong.port)
                fail("TLS with a certificate for another name succeeded")
            except TLSError as e:
                print("error: %s" % e)
                check("mismatch" in str(e) or "not valid for" in str(e),
                      "a trusted certificate for another name is refused")
        with Prosody(graceful=False) as ng, Bot("abrupt") as b:
            ng.register("alice", "alice-pw")
            b.connect("alice@localhost", "alice-pw", ng.ca_file, port=ng.port)
            rc = ng.stop()
            time.sleep(0.3)
            check(rc == -15 and not any(local(e) == "error" for e in b.received()),
                  "without mod_posix (graceful=False) SIGTERM kills prosody: no stream error")

        status, text = ws_open(p.ws_url, p.domain)
        print("websocket: %s; %s" % (status, text[:300]))
        check(" 101 " in status and "<open" in text and "SCRAM-SHA-1" in text,
              "websocket endpoint upgrades and offers SASL (consider_websocket_secure)")

        n = 2000
        t = time.monotonic()
        p.register_many([("load%04d" % i, "load-pw") for i in range(n)])
        dt_same = time.monotonic() - t
        t = time.monotonic()
        p.register_many([("uniq%04d" % i, "pw-%04d" % i) for i in range(n)])
        dt_uniq = time.monotonic() - t
        print("TIMING: registered %d accounts in %.2f s (one shared password), "
              "%d in %.2f s (all different passwords)" % (n, dt_same, n, dt_uniq), flush=True)
        with Bot("load") as b:
            b.connect("load1999@localhost", "load-pw", p.ca_file, port=p.port, roster=False)
        with Bot("uniq") as b:
            b.connect("uniq1234@localhost", "pw-1234", p.ca_file, port=p.port, roster=False)
        check(True, "bulk-registered accounts can log in")

        # graceful stop vs crash, as a client sees them
        p.register("carol", "carol-pw")
        with Bot("carol") as c:
            c.connect("carol@localhost", "carol-pw", p.ca_file, port=p.port)
            pid = p.pid
            t = time.monotonic()
            rc = p.stop()
            e = c.wait_for(lambda e: local(e) == "error", 5, what="stream error")
            check(rc == 0 and e.tag == "{%s}error" % NS_STREAM and
                  e.find("{urn:ietf:params:xml:ns:xmpp-streams}system-shutdown") is not None,
                  "stop() (SIGTERM to %d) shuts down cleanly in %.2f s: system-shutdown"
                  % (pid, time.monotonic() - t))
            check(not os.path.exists(p.pid_file), "pid file removed")
        p.start()
        with Bot("carol2") as c:
            c.connect("carol@localhost", "carol-pw", p.ca_file, port=p.port)
            mk = c.mark()
            rc = p.kill()
            time.sleep(0.5)
            check(rc == -9 and not any(local(e) == "error" for e in c.received(mk)),
                  "kill() is a crash: no stream error reaches the client")

        with Bot("late") as b:
            try:
                b.connect("carol@localhost", "carol-pw", p.ca_file, port=p.port, timeout=3)
                fail("connected to a dead server")
            except ConnectError as e:
                check(True, "connecting to a stopped server fails: %s" % e)
        d1, d2 = p.dir, other.dir
    check(not os.path.exists(d1) and not os.path.exists(d2), "temporary folders removed")
    print("PASS")


if __name__ == "__main__":
    main()
