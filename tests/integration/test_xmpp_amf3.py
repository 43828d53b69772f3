#!/usr/bin/python3
"""The stanza API for an objectEncoding 3 client (the AS3 default): its
commands are AMF3 command messages (type 17, objects as 0x11 + AMF3), and
every answer and callback must come back as type 17 and decode:

- xmpp_connect (its object in AMF3) -> 1.0;
- a message round trip with the contact (bob): bob gets ours; xmpp_message
  brings attrib (an AMF3 object) and rawbody;
- a roster get with a responder -> [attrib, rawbody] as an AMF3 array;
- a bad stanza -> _error with a responder, xmpp_error without;
- login at connect with objectEncoding 3 -> Success, then stanzas flow;
- xmpp_disconnect -> "client-requested".
"""
from harness import Procs, args, check
from stanza_kit import (ALICE_FULL, BOB, BOB_FULL, BOB_PW, Rtmp, accounts, answer, callback,
                        login_fields, start_gateway)
from xmpp_bot import Bot, child
from xmpp_server import Prosody


def expect17(rc, pred, what):
    t, m = rc.expect_raw(pred, 10, what)
    check(t == 17, "%s arrives as an AMF3 command (type %d)" % (what, t))
    return m


a = args()
with Procs("xamf3") as P, Prosody() as p, Bot("bob") as bob:
    accounts(p)
    gw = start_gateway(P, a.gateway, p)
    bob.connect(BOB_FULL, BOB_PW, p.ca_file, port=p.port)

    rc = Rtmp(gw.port, encoding=3)
    check(rc.connect_answer[3].get("objectEncoding") == 3, "connected with objectEncoding 3")
    tx = rc.call("xmpp_connect", login_fields(p))
    r = expect17(rc, answer(tx), "the xmpp_connect result")
    check(r[0] == "_result" and r[3] == 1.0, "xmpp_connect with an AMF3 object: 1.0 (%r)" % (r,))

    rc.send("message", {"to": BOB_FULL, "type": "chat", "id": "a3"}, "<body>amf3 hello</body>")
    m = bob.wait_for(lambda e: e.get("id") == "a3", 10, what="our message")
    check(m.get("from") == ALICE_FULL and child(m, "body").text == "amf3 hello",
          "bob gets our message from our full JID")
    bob.send_message(ALICE_FULL, "amf3 reply \u00e9", id="r3")
    m = expect17(rc, callback("xmpp_message", id="r3"), "xmpp_message")
    check(isinstance(m[3], dict) and m[3].get("from") == BOB_FULL and m[3].get("type") == "chat",
          "xmpp_message attrib decodes: %r" % m[3])
    check(m[4] == "<body>amf3 reply \u00e9</body>", "rawbody decodes: %r" % m[4])

    tx = rc.send("iq", {"type": "get"}, "<query xmlns='jabber:iq:roster'/>", responder=True)
    r = expect17(rc, answer(tx), "the roster result")
    check(r[0] == "_result" and isinstance(r[3], list) and len(r[3]) == 2
          and r[3][0].get("type") == "result" and BOB in r[3][1],
          "the responder's [attrib, rawbody] decodes as an AMF3 array: %r" % (r[3],))

    tx = rc.send("message", {"to": BOB_FULL}, "<body>bad", responder=True)
    r = expect17(rc, answer(tx), "the _error for bad XML")
    check(r[0] == "_error" and r[3].get("code") == "XMPP.Stanza.Invalid",
          "bad XML with a responder: _error XMPP.Stanza.Invalid")
    rc.send("foo", {}, "")
    r = expect17(rc, lambda x: x[0] == "xmpp_error", "xmpp_error")
    check(r[3] == "XMPP.Stanza.BadType" and r[4], "without a responder: xmpp_error(%s, %r)"
          % (r[3], r[4]))

    tx = rc.call("xmpp_disconnect")
    r = expect17(rc, answer(tx), "the xmpp_disconnect result")
    check(r[3] == "client-requested", "xmpp_disconnect: \"client-requested\"")
    others = [(t, m[0]) for t, m in rc.inbox if t != 17]
    check(not others, "nothing came as AMF0 (%r)" % others)
    rc.close()

    rc = Rtmp(gw.port, encoding=3, extra=login_fields(p, resource="at3"))
    check(rc.connect_answer[3].get("code") == "NetConnection.Connect.Success",
          "login at connect with objectEncoding 3: Success")
    bob.send_message("alice@localhost/at3", "to at3", id="t3")
    m = expect17(rc, callback("xmpp_message", id="t3"), "xmpp_message after login at connect")
    check("to at3" in m[4], "stanzas flow after login at connect")
    rc.close()
    check(gw.alive(), "gateway still running")
    check(gw.stop() == 0, "gateway exits 0 on SIGTERM")
