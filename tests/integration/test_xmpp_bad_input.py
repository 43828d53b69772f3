#!/usr/bin/python3
"""Bad input to nc.call("xmpp", ...) (client-api.md "Text stanzas"): it never
kills the session and never reaches the XMPP server.  With a responder the
client gets _error {level: "error", code, description}; without one, the
client's xmpp_error(code, description) callback.

- xmpp before xmpp_connect: XMPP.NotConnected (both forms);
- innerxml not well-formed: XMPP.Stanza.Invalid, and the very next valid
  message is still delivered to the contact (bob);
- stanza type "foo", a message of type "bogus", an iq without type:
  XMPP.Stanza.BadType;
- innerxml over --max-stanza (100 KiB against the default 64 KiB), and (last,
  with the default limits) a 1 MiB body: XMPP.Stanza.TooLarge, session kept;
- "</message><iq ...>" in innerxml (smuggling a second stanza), an unbound
  prefix, a control character, bytes that are not UTF-8, 1000 nested
  elements, a number as innerxml: refused, and nothing reaches bob;
- attribute values with quotes, <, & are sent escaped (bob gets them back
  exactly), and one with a control character does not break the stream;
- afterwards the session still works both ways and no xmpp_disconnected
  came.
"""
from harness import Procs, args, check
from rtmpc import amf0
from stanza_kit import (ALICE_FULL, BOB_FULL, BOB_PW, Rtmp, accounts, amf0_long_string,
                        answer, callback, disconnected, start_gateway)
from xmpp_bot import Bot, child
from xmpp_server import Prosody


def refused(rc, code, kind, attrib, inner, what):
    """Send with a responder, expect _error with this code; then the same
    without a responder, expect xmpp_error(code, description)."""
    tx = rc.send(kind, attrib, inner, responder=True)
    r = rc.expect(answer(tx), 10, "answer to " + what)
    info = r[3] if len(r) > 3 and isinstance(r[3], dict) else {}
    check(r[0] == "_error" and info.get("code") == code and info.get("level") == "error"
          and info.get("description"),
          "%s: responder gets _error %s (got %r)" % (what, code, r))
    rc.send(kind, attrib, inner)
    e = rc.expect(lambda m: m[0] == "xmpp_error", 10, "xmpp_error for " + what)
    check(e[3] == code and isinstance(e[4], str) and e[4],
          "%s: without responder, xmpp_error(%s, %r)" % (what, code, e[4] if len(e) > 4 else None))


def delivered(rc, bob, text, attrib=None):
    """A valid chat message reaches bob; returns the element."""
    mark = bob.mark()
    at = {"to": BOB_FULL, "type": "chat"}
    at.update(attrib or {})
    rc.send("message", at, "<body>%s</body>" % text)
    return bob.wait_for(lambda e: e.tag == "{jabber:client}message" and child(e, "body") is not None
                        and child(e, "body").text == text, 10, after=mark,
                        what="message %r" % text)


def send_raw_xmpp(rc, kind, attrib, inner_bytes, txid):
    """nc.call("xmpp", ...) with innerxml given as raw AMF0 bytes."""
    body = amf0("xmpp") + amf0(txid) + amf0(None) + amf0(kind) + amf0(attrib) + inner_bytes
    rc.c.send_msg(20, body)


a = args()
with Procs("xbad") as P, Prosody() as p, Bot("bob") as bob:
    accounts(p)
    gw = start_gateway(P, a.gateway, p)
    bob.connect(BOB_FULL, BOB_PW, p.ca_file, port=p.port)
    rc = Rtmp(gw.port)

    refused(rc, "XMPP.NotConnected", "message", {"to": BOB_FULL}, "<body>too early</body>",
            "xmpp before xmpp_connect")
    check(rc.login(p) == 1.0, "logged in")
    start = bob.mark()

    refused(rc, "XMPP.Stanza.Invalid", "message", {"to": BOB_FULL, "type": "chat"},
            "<body>unclosed", "innerxml not well-formed")
    m = delivered(rc, bob, "right after the bad one")
    check(True, "the very next valid message is delivered to bob")
    refused(rc, "XMPP.Stanza.Invalid", "message", {"to": BOB_FULL}, "<a></b>", "mismatched tags")
    refused(rc, "XMPP.Stanza.Invalid", "message", {"to": BOB_FULL}, "<body>a & b</body>",
            "a bare &")

    refused(rc, "XMPP.Stanza.BadType", "foo", {"to": BOB_FULL}, "<body>x</body>", 'type "foo"')
    refused(rc, "XMPP.Stanza.BadType", "message", {"to": BOB_FULL, "type": "bogus"},
            "<body>x</body>", 'message of type "bogus"')
    refused(rc, "XMPP.Stanza.BadType", "iq", {"to": BOB_FULL},
            "<query xmlns='jabber:iq:version'/>", "iq without type")

    big = "<body>%s</body>" % ("y" * (100 * 1024))
    tx = 0
    rc.c.set_chunk_size(65536)
    for with_resp in (True, False):
        tx = rc.c.txid = rc.c.txid + 1
        send_raw_xmpp(rc, "message", {"to": BOB_FULL, "type": "chat"}, amf0_long_string(big),
                      tx if with_resp else 0)
        if with_resp:
            r = rc.expect(answer(tx), 10, "answer to 100 KiB")
            check(r[0] == "_error" and r[3].get("code") == "XMPP.Stanza.TooLarge",
                  "innerxml of 100 KiB (over --max-stanza 64 KiB): _error XMPP.Stanza.TooLarge "
                  "(got %r)" % (r[:3] + [r[3] if len(r) > 3 else None],))
        else:
            e = rc.expect(lambda m: m[0] == "xmpp_error", 10, "xmpp_error for 100 KiB")
            check(e[3] == "XMPP.Stanza.TooLarge", "without responder: xmpp_error TooLarge")

    # Smuggling and other content the XMPP server would kill the stream for.
    smuggle = ("<body>a</body></message><iq type='set' id='smug1' to='%s'>"
               "<query xmlns='jabber:iq:roster'/></iq><message to='%s' type='chat'>"
               "<body>smuggled</body>" % (BOB_FULL, BOB_FULL))
    refused(rc, "XMPP.Stanza.Invalid", "message", {"to": BOB_FULL, "type": "chat"}, smuggle,
            "a second stanza smuggled through innerxml")
    refused(rc, "XMPP.Stanza.Invalid", "message", {"to": BOB_FULL, "type": "chat"},
            "<body>a</body></message></stream:stream>", "a stream end in innerxml")
    refused(rc, "XMPP.Stanza.Invalid", "message", {"to": BOB_FULL, "type": "chat"},
            "<body>ctl \x01</body>", "a control character in innerxml")
    refused(rc, "XMPP.Stanza.Invalid", "message", {"to": BOB_FULL, "type": "chat"},
            "<x:body>unbound prefix</x:body>", "an unbound namespace prefix")
    refused(rc, "XMPP.Stanza.Invalid", "message", {"to": BOB_FULL, "type": "chat"},
            "<body>deep</body>" + "<a>" * 1000 + "</a>" * 1000, "1000 nested elements")
    refused(rc, "XMPP.Stanza.Invalid", "message", {"to": BOB_FULL, "type": "chat"}, 42,
            "an innerxml that is a number")
    tx = rc.c.txid = rc.c.txid + 1
    bad_utf8 = b"<body>\xff\xfe not utf-8</body>"
    send_raw_xmpp(rc, "message", {"to": BOB_FULL, "type": "chat"},
                  b"\x02" + len(bad_utf8).to_bytes(2, "big") + bad_utf8, tx)
    r = rc.expect(answer(tx), 10, "answer to invalid UTF-8")
    check(r[0] == "_error" and r[3].get("code") == "XMPP.Stanza.Invalid",
          "bytes that are not UTF-8: _error XMPP.Stanza.Invalid (got %r)" % (r,))

    m = delivered(rc, bob, "after the refusals")
    got = bob.received(start)
    leaked = [x for x in got if x.get("id") == "smug1"
              or any(b.text in ("smuggled", "unclosed", "too early", "ctl \x01", "unbound prefix", "deep")
                     for b in x.iter("{jabber:client}body"))
              or any("y" * 100 in (b.text or "") for b in x.iter("{jabber:client}body"))]
    check(not leaked, "nothing refused reached bob (%d stanzas arrived, %d leaked)"
          % (len(got), len(leaked)))

    # Attribute values are escaped, not pasted.
    m = delivered(rc, bob, "odd id", {"id": "q\"u'o<t>e&d"})
    check(m.get("id") == "q\"u'o<t>e&d", "an id with quotes, <, > and & reaches bob exactly "
          "(%r)" % m.get("id"))
    # A control character cannot be written in XML at all: the gateway must
    # refuse it (or drop it), not send what the server kills the stream for.
    tx = rc.send("message", {"to": BOB_FULL, "type": "chat", "id": "ctl\x01id"},
                 "<body>ctl attr</body>", responder=True)
    r = rc.expect(answer(tx), 10, "answer to a control character in attrib")
    check(r[0] == "_error" and r[3].get("code") in ("XMPP.Stanza.Invalid", "XMPP.Stanza.BadType"),
          "a control character in an attribute: _error (got %r)" % (r,))

    # The session survived all of it.
    delivered(rc, bob, "still alive")
    bob.send_message(ALICE_FULL, "and back", id="back1")
    rc.expect(callback("xmpp_message", id="back1"), 10, "bob's message")
    downs = rc.none_of(disconnected, 0.3)
    check(not downs, "the session is still up both ways, no xmpp_disconnected (%r)" % downs)

    # Last, as it may cost the connection: a 1 MiB body (what client-api.md
    # promises to refuse with TooLarge, with the gateway's default limits).
    huge = "<body>%s</body>" % ("z" * (1 << 20))
    tx = rc.c.txid = rc.c.txid + 1
    send_raw_xmpp(rc, "message", {"to": BOB_FULL, "type": "chat"}, amf0_long_string(huge), tx)
    r = rc.expect(answer(tx), 10, "answer to a 1 MiB body")
    check(r[0] == "_error" and r[3].get("code") == "XMPP.Stanza.TooLarge",
          "a 1 MiB body: _error XMPP.Stanza.TooLarge (got %r)" % (r[:3],))
    delivered(rc, bob, "alive after 1 MiB")
    check(True, "and the session still works")
    rc.close()
    check(gw.alive(), "gateway still running")
    check(gw.stop() == 0, "gateway exits 0 on SIGTERM")
