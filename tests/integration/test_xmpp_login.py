#!/usr/bin/python3
"""xmpp_connect as RTMP clients see it (client-api.md "Text stanzas"), against
a real prosody and a slixmpp contact (bob):

- the right password gives 1.0, and bob sees our bound full JID (with our
  resource) as the sender of our message;
- a second xmpp_connect gives 0.0 and xmpp_disconnected("already-connected"),
  and the first session keeps working both ways;
- a wrong password gives 0.0 then xmpp_disconnected("auth-failed"), and the
  same RTMP connection can then log in with the right one;
- a closed port gives socket-not-connected;
- a server whose certificate we do not trust (a second prosody) gives
  tls-failed;
- missing fields, no object, or a string instead of one give invalid-arguments;
- logging in twice with one resource ends the older session with
  xmpp_disconnected("stream-error:conflict");
- login at connect: Success only once logged in (a stanza sent right after
  it is delivered), and a wrong password gives NetConnection.Connect.Rejected
  with description auth-failed;
- the gateway's debug log never contains a password;
- logging in delivers no stanza the client did not ask for (such as the
  resource-binding result).
"""
from harness import Procs, args, check, free_port
from stanza_kit import (ALICE_FULL, ALICE_PW, BOB_FULL, BOB_PW, Rtmp, accounts, callback,
                        disconnected, login_fields, start_gateway)
from xmpp_bot import Bot, child
from xmpp_server import Prosody

WRONG_PW = "Wr0ng-pa55word-9921"


def bob_got(bob, body, timeout=10):
    """The message with this body that bob received; returns its from."""
    m = bob.wait_for(lambda e: e.tag == "{jabber:client}message"
                     and child(e, "body") is not None and child(e, "body").text == body,
                     timeout=timeout, what="message %r" % body)
    return m.get("from")


def failed_login(rc, p, reason, what, **kw):
    """xmpp_connect that must give 0.0, then xmpp_disconnected(reason)."""
    res = rc.login(p, **kw)
    check(res == 0.0, "%s: responder gets 0.0 (got %r)" % (what, res))
    d = rc.expect(disconnected, 15, "xmpp_disconnected after %s" % what)
    check(d[3] == reason, "%s: then xmpp_disconnected(%r) (got %r)" % (what, reason, d[3:]))


a = args()
with Procs("xlogin") as P, Prosody() as p, Prosody() as untrusted, Bot("bob") as bob:
    accounts(p)
    gw = start_gateway(P, a.gateway, p, level="debug")
    bob.connect(BOB_FULL, BOB_PW, p.ca_file, port=p.port)

    # Right password; the contact sees our bound full JID.
    rc = Rtmp(gw.port)
    r = rc.rpc("xmpp_connect", login_fields(p), timeout=15)
    check(r[0] == "_result" and r[3] == 1.0,
          "xmpp_connect with the right password: responder gets 1.0")
    check(len(r) > 4 and r[4] == ALICE_FULL,
          "the _result also carries the bound full JID (%r)" % (r[4:],))
    # Checked last (see the end): what arrived unasked right after the login.
    unasked = rc.none_of(lambda m: m[0] in ("xmpp_iq", "xmpp_message", "xmpp_presence"), 0.5)
    rc.send("message", {"to": BOB_FULL, "type": "chat"}, "<body>hello from rtmp</body>")
    frm = bob_got(bob, "hello from rtmp")
    check(frm == ALICE_FULL, "the contact sees our bound full JID %s (got %s)" % (ALICE_FULL, frm))

    # xmpp_connect twice: refused, and the first session keeps working.
    failed_login(rc, p, "already-connected", "a second xmpp_connect", resource="other")
    rc.send("message", {"to": BOB_FULL, "type": "chat"}, "<body>still here</body>")
    frm = bob_got(bob, "still here")
    check(frm == ALICE_FULL, "after already-connected the first session still sends (as %s)" % frm)
    bob.send_message(ALICE_FULL, "still hearing you")
    m = rc.expect(callback("xmpp_message", from_=BOB_FULL), 10, "bob's message")
    check("still hearing you" in m[4], "after already-connected the first session still receives")

    # Wrong password, then the right one on the same RTMP connection.
    rc2 = Rtmp(gw.port)
    failed_login(rc2, p, "auth-failed", "a wrong password", password=WRONG_PW, resource="second")
    check(rc2.login(p, resource="second") == 1.0,
          "after auth-failed the same RTMP connection logs in with the right password")
    rc2.send("message", {"to": BOB_FULL, "type": "chat"}, "<body>second try</body>")
    check(bob_got(bob, "second try") == "alice@localhost/second", "the retry's session works")
    rc2.close()

    # A port nobody listens on.
    rc3 = Rtmp(gw.port)
    failed_login(rc3, p, "socket-not-connected", "a closed port", port=free_port())

    # A server whose certificate we do not trust.
    failed_login(rc3, untrusted, "tls-failed", "an untrusted certificate")

    # Bad arguments.
    failed_login(rc3, p, "invalid-arguments", "no domain or password",
                 domain="", password=None)
    r = rc3.rpc("xmpp_connect", {"username": "alice"})
    check(r[0] == "_result" and r[3] == 0.0, "only a username: 0.0")
    d = rc3.expect(disconnected, 5, "xmpp_disconnected")
    check(d[3] == "invalid-arguments", "only a username: invalid-arguments (got %r)" % d[3])
    r = rc3.rpc("xmpp_connect")
    d = rc3.expect(disconnected, 5, "xmpp_disconnected")
    check(r[3] == 0.0 and d[3] == "invalid-arguments", "no object at all: 0.0, invalid-arguments")
    r = rc3.rpc("xmpp_connect", "alice@localhost")
    d = rc3.expect(disconnected, 5, "xmpp_disconnected")
    check(r[3] == 0.0 and d[3] == "invalid-arguments", "a string, not an object: invalid-arguments")
    rc3.close()

    # The same resource again: the server ends the older session with a
    # stream error, and the client is told which.
    old = Rtmp(gw.port)
    check(old.login(p, resource="dup") == 1.0, "alice/dup logged in")
    new = Rtmp(gw.port)
    check(new.login(p, resource="dup") == 1.0, "alice/dup logged in again elsewhere")
    d = old.expect(disconnected, 10, "xmpp_disconnected of the older session")
    check(d[3] == "stream-error:conflict", "the older session gets "
          "xmpp_disconnected(\"stream-error:conflict\") (got %r)" % d[3])
    old.close()
    new.close()

    # Login at connect.
    rc4 = Rtmp(gw.port, extra=login_fields(p, resource="atconnect"))
    ans = rc4.connect_answer
    check(ans[0] == "_result" and ans[3].get("code") == "NetConnection.Connect.Success",
          "login at connect: NetConnection.Connect.Success (got %r)" % (ans,))
    rc4.send("message", {"to": BOB_FULL, "type": "chat"}, "<body>right after connect</body>")
    check(bob_got(bob, "right after connect") == "alice@localhost/atconnect",
          "Success came only after the login: a stanza sent right after it is delivered")
    errs = rc4.none_of(lambda m: m[0] in ("xmpp_error", "_error", "xmpp_disconnected"), 0.5)
    check(not errs, "and no error came back (%r)" % errs)
    rc4.close()

    rc5 = Rtmp(gw.port, extra=login_fields(p, password=WRONG_PW, resource="atconnect2"))
    ans = rc5.connect_answer
    check(ans[0] == "_error" and ans[3].get("code") == "NetConnection.Connect.Rejected"
          and ans[3].get("description") == "auth-failed",
          "login at connect with a wrong password: Rejected, description auth-failed (got %r)"
          % (ans,))
    rc5.close()

    rc.close()
    check(gw.alive(), "gateway still running")
    log = gw.log()
    for pw in (ALICE_PW, WRONG_PW):
        check(pw not in log, "the debug log never contains the password %s...%s"
              % (pw[:2], pw[-2:]))
    check("logging in as alice@localhost" in log, "(the debug log does record the logins)")
    check(gw.stop() == 0, "gateway exits 0 on SIGTERM")
    # The session's own set-up traffic (resource binding) is not the
    # client's business: no xmpp_iq/message/presence before it sent anything.
    check(not unasked, "xmpp_connect delivers no callback the client did not ask for (got %r)"
          % unasked)
