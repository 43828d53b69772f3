#!/usr/bin/python3
"""The seed-000 stanza API used exactly as an AS3 client uses it, through
python3-librtmp (librtmp's own client, AMF0): xmpp_connect with a result,
xmpp_presence/xmpp_message/xmpp_iq/xmpp_disconnected as invoke handlers,
presence, a roster get whose result is [attrib, rawbody], a chat message
and its reply, an incoming iq answered from the xmpp_iq handler with
feature-not-implemented (the seed's "bare minimum"), and xmpp_disconnect.

The function softphone() is, verbatim, the python3-librtmp example of
docs/stanza-api.md; this test checks that the document still holds it.
"""
import os

import librtmp

from harness import ROOT, Procs, args, check, fail
from stanza_kit import ALICE_FULL, ALICE_PW, BOB, BOB_FULL, BOB_PW, accounts, start_gateway
from xmpp_bot import NS_STANZAS, Bot, is_iq
from xmpp_server import Prosody

DOC = os.path.join(ROOT, "docs", "stanza-api.md")


# ---- docs/stanza-api.md example begins ----
def softphone(url, login, contact):
    """Log in, say hello to `contact`, wait for the answer, log out.
    Returns what the server told us, for the caller to look at."""
    seen = {"presence": [], "message": [], "iq": [], "disconnected": []}
    conn = librtmp.RTMP(url, live=True, timeout=10)
    conn.connect()

    # The callbacks the gateway invokes (NetConnection.client in AS3).
    @conn.invoke_handler
    def xmpp_presence(attrib, rawbody):
        seen["presence"].append((attrib, rawbody))

    @conn.invoke_handler
    def xmpp_message(attrib, rawbody):
        seen["message"].append((attrib, rawbody))

    @conn.invoke_handler
    def xmpp_iq(attrib, rawbody):
        seen["iq"].append((attrib, rawbody))
        if attrib.get("type") in ("get", "set"):   # we MUST answer these
            conn.call("xmpp", "iq", {"to": attrib["from"], "id": attrib["id"], "type": "error"},
                      "<error type='cancel'><feature-not-implemented"
                      " xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error>")

    @conn.invoke_handler
    def xmpp_disconnected(reason):
        seen["disconnected"].append(reason)

    # xmpp_connect: the result is 1.0, or 0.0 followed by xmpp_disconnected.
    ok = conn.call("xmpp_connect", login).result(timeout=15)
    if ok != 1.0:
        why = conn.process_packets(invoked_method="xmpp_disconnected", timeout=15)
        conn.close()
        raise RuntimeError("xmpp_connect failed: %s" % (why,))

    # Presence, then a chat message; "from" would be ignored: the gateway
    # sets our full JID.
    conn.call("xmpp", "presence", {}, "<show>chat</show>")
    conn.call("xmpp", "message", {"to": contact, "type": "chat"},
              "<body>Hello from python3-librtmp</body>")
    while not seen["message"]:
        conn.process_packets(invoked_method="xmpp_message", timeout=15)

    # An iq get with a result: it is [attrib, rawbody].
    seen["roster"] = conn.call("xmpp", "iq", {"type": "get"},
                               "<query xmlns='jabber:iq:roster'/>").result(timeout=15)

    # Log out: the result is the reason, "client-requested".
    seen["logout"] = conn.call("xmpp_disconnect").result(timeout=15)
    conn.close()
    return seen
# ---- docs/stanza-api.md example ends ----


def example_text():
    with open(__file__) as f:
        src = f.read()
    begin = src.index("# ---- docs/stanza-api.md example begins ----\n")
    end = src.index("# ---- docs/stanza-api.md example ends ----")
    return src[begin + len("# ---- docs/stanza-api.md example begins ----\n"):end]


a = args()
with Procs("xlibrtmp") as P, Prosody() as p, Bot("bob") as bob:
    accounts(p)
    gw = start_gateway(P, a.gateway, p)
    bob.connect(BOB_FULL, BOB_PW, p.ca_file, port=p.port)

    # bob answers a hello: first with an iq get (which the example's xmpp_iq
    # handler must answer), then with a message.
    def on_message(msg):
        if msg["body"] == "Hello from python3-librtmp":
            iq = bob.xmpp.make_iq_get(queryxmlns="jabber:iq:version", ito=msg["from"])
            iq["id"] = "ver1"
            bob.xmpp.send(iq)   # no waiting: the softphone answers it
            msg.reply("Hello yourself").send()
    bob._call(lambda: bob.xmpp.add_event_handler("message", on_message))

    mark = bob.mark()
    seen = softphone(gw.url(), {"username": "alice", "domain": p.domain, "password": ALICE_PW,
                                "resource": "rtmpphone", "host": "127.0.0.1",
                                "port": p.port}, BOB_FULL)
    print("softphone saw: %r" % seen, flush=True)

    check(seen["logout"] == "client-requested", "xmpp_disconnect's result is \"client-requested\"")
    check(any(at.get("from") == BOB_FULL for at, _ in seen["presence"]),
          "xmpp_presence delivered bob's presence")
    at, body = seen["message"][0]
    check(at.get("from") == BOB_FULL and "<body>Hello yourself</body>" in body,
          "xmpp_message delivered bob's reply: %r %r" % (at, body))
    check(any(x.get("id") == "ver1" for x, _ in seen["iq"]), "xmpp_iq delivered bob's iq get")
    check(not seen["disconnected"], "no xmpp_disconnected callback after xmpp_disconnect")
    r = bob.wait_for(is_iq(id="ver1"), 5, after=mark, what="answer to bob's iq")
    err = r.find("{jabber:client}error")
    check(r.get("type") == "error" and r.get("from") == ALICE_FULL and err is not None
          and err.find("{%s}feature-not-implemented" % NS_STANZAS) is not None,
          "bob gets the handler's feature-not-implemented, from our full JID")
    hello = bob.wait_for(lambda e: e.get("from") == ALICE_FULL and e.tag.endswith("message"), 1,
                         after=mark, what="the hello")
    check(hello is not None, "bob got the hello from %s" % ALICE_FULL)

    # Failure path of the same API: a wrong password.
    try:
        softphone(gw.url(), {"username": "alice", "domain": p.domain, "password": "nope",
                             "resource": "x", "host": "127.0.0.1", "port": p.port}, BOB_FULL)
        fail("a wrong password did not raise")
    except RuntimeError as e:
        check("auth-failed" in str(e), "a wrong password: 0.0, then xmpp_disconnected: %s" % e)

    try:
        with open(DOC) as f:
            doc = f.read()
    except OSError:
        doc = ""
    check(example_text() in doc, "docs/stanza-api.md holds softphone() verbatim")
    check(gw.alive(), "gateway still running")
    check(gw.stop() == 0, "gateway exits 0 on SIGTERM")

    # Last, as it fails today (see docs/stanza-api.md "python3-librtmp"):
    # python3-librtmp decodes an AMF0 strict array as [].
    r = seen["roster"]
    check(isinstance(r, (list, dict)) and len(r) == 2,
          "python3-librtmp can read the iq result [attrib, rawbody] (got %r)" % (r,))
    attrib, rawbody = (r[0], r[1]) if isinstance(r, list) else (r["0"], r["1"])
    check(attrib.get("type") == "result" and "jabber:iq:roster" in rawbody and BOB in rawbody,
          "the roster result holds %s" % BOB)
