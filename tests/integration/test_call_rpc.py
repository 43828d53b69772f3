#!/usr/bin/python3
"""Voice calls between two RPC-capable RTMP clients of one gateway
(client-api.md "Voice calls"), through a real prosody, plus Jingle bad
input from a slixmpp contact:

- alice publishes and plays bob's full JID: jingle_state(proposed); bob gets
  jingle_incoming(call, alice's JID, {media}) and answers with
  publish(call)/play(call); both get jingle_state(active);
- Speex frames (libspeex output, FLV byte 0xB2) flow both ways frame-exact
  and in order, with increasing RTMP timestamps;
- bob hangs up (jingle_hangup): alice gets jingle_state(ended, success) and
  NetStream.Play.Stop on her playing stream;
- bob declines (jingle_reject decline) and is busy (busy): alice gets
  ended(decline) / ended(busy);
- nobody answers: with --answer-timeout 3 both get ended(timeout);
- the callee is offline: ended(gone) within 5 s;
- a contact (slixmpp) sends malformed Jingle: no sid -> bad-request, a
  session-terminate for alice's call -> item-not-found + unknown-session,
  an unknown action -> feature-not-implemented, 1000 session-initiates ->
  resource-constraint after the first 2, which alice is offered; the call
  between alice and bob keeps carrying audio meanwhile.
"""
import os
import threading
import time

from harness import Procs, VECTORS, args, check, fail
from call_kit import Phone, wait_state
from peers import speex_frames_from_spxv
from stanza_kit import (ALICE_FULL, ALICE_PW, BOB_PW, DOMAIN, accounts, callback,
                        start_gateway)
from xmpp_bot import Bot
from xmpp_server import Prosody

a = args()
BOB_RTMP = "bob@" + DOMAIN + "/rtmpphone"
NS_J = "urn:xmpp:jingle:1"
N_FLOOD = 1000     # session-initiates from one contact, back to back


FRAMES = speex_frames_from_spxv(os.path.join(VECTORS, "speex", "wb-q8.spxv"))



def status(code, sid=None):
    def p(m):
        return (m[0] == "onStatus" and len(m) > 3 and isinstance(m[3], dict)
                and m[3].get("code") == code)
    return p




def place_call(alice, bob, target):
    """alice calls target; bob answers.  Returns (call, alice streams, bob streams)."""
    ap, al = alice.stream(), alice.stream()
    alice.publish(ap, target)
    alice.play(al, target)
    st = alice.r.expect(lambda m: m[0] == "jingle_state" and m[4] == "proposed", 15,
                        "jingle_state(proposed) at the caller")
    call = st[3]
    inc = bob.r.expect(callback("jingle_incoming"), 15, "jingle_incoming at the callee")
    check(inc[3] == call, "the callee is offered the same call id")
    check(inc[4] == ALICE_FULL, "jingle_incoming names the caller's full JID (%r)" % inc[4])
    return call, (ap, al), inc


def answer(bob, call):
    bp, bl = bob.stream(), bob.stream()
    bob.publish(bp, call)
    bob.play(bl, call)
    return bp, bl



def frames_of(msgs):
    bad = [b for _, b in msgs if not b or b[0] >> 4 != 11]
    if bad:
        fail("audio that is not Speex: %r" % bad[:2])
    return [b[1:] for _, b in msgs]


def check_frames(got_msgs, sent, what):
    got = frames_of(got_msgs)
    ts = [t for t, _ in got_msgs]
    check(all(t2 > t1 for t1, t2 in zip(ts, ts[1:])), "%s: RTMP timestamps increase" % what)
    # The first frames may be lost while DTLS finishes; the rest must be exact.
    if not got:
        fail("%s: no audio arrived" % what)
    try:
        first = sent.index(got[0])
    except ValueError:
        fail("%s: the first frame received is not one we sent" % what)
    check(got == sent[first:first + len(got)], "%s: %d frames arrive exact and in order"
          % (what, len(got)))
    check(len(got) >= len(sent) - first - 2 and first <= 25,
          "%s: nothing lost after the start (%d of %d from frame %d)"
          % (what, len(got), len(sent), first))


with Procs("call-rpc") as P, Prosody() as p, Bot("mallory") as bot:
    accounts(p)
    p.register("carol", "c4rol-pw-77")
    p.register("mallory", "m4llory-pw-12")
    p.add_roster("mallory", "alice", mutual=True)
    gw = start_gateway(P, a.gateway, p, "--media-addresses", "127.0.0.1",
                       "--answer-timeout", "3", level="debug")
    alice = Phone(gw, p, "alice", ALICE_PW)
    bob = Phone(gw, p, "bob", BOB_PW)

    # --- a call, audio both ways, hang-up by the callee ---
    call, (ap, al), inc = place_call(alice, bob, BOB_RTMP)
    bp, bl = answer(bob, call)
    wait_state(alice, call, "active", 15, "jingle_state(active) at the caller")
    wait_state(bob, call, "active", 15, "jingle_state(active) at the callee")
    time.sleep(1.0)   # ICE and DTLS on loopback
    sent = FRAMES * 2
    alice.send_frames(ap, sent)
    bob.r.pump(1.0)
    check_frames(bob.audio_on(bl), sent, "alice -> bob")
    bob.send_frames(bp, sent)
    alice.r.pump(1.0)
    check_frames(alice.audio_on(al), sent, "bob -> alice")

    bob.r.call("jingle_hangup", call, "success")
    r = wait_state(alice, call, "ended", 10, "jingle_state(ended) at the caller")
    check(r == "success", "the caller hears the reason success (%r)" % r)
    alice.r.expect(status("NetStream.Play.Stop"), 10, "NetStream.Play.Stop at the caller")
    for ph, ids in ((alice, (ap, al)), (bob, (bp, bl))):
        for sid in ids:
            ph.r.c.call("deleteStream", None, float(sid), txid=0)

    # --- decline and busy ---
    for reason in ("decline", "busy"):
        call, _, _ = place_call(alice, bob, BOB_RTMP)
        bob.r.call("jingle_reject", call, reason)
        r = wait_state(alice, call, "ended", 10, "ended after %s" % reason)
        check(r == reason, "the caller hears %s (%r)" % (reason, r))

    # --- no answer ---
    call, _, _ = place_call(alice, bob, BOB_RTMP)
    t0 = time.time()
    r = wait_state(alice, call, "ended", 10, "ended with no answer")
    check(r == "timeout" and time.time() - t0 < 6, "no answer -> ended(timeout) (%r)" % r)
    r = wait_state(bob, call, "ended", 10, "the callee's ringing ends too")
    check(r in ("timeout", "cancel"), "the callee hears the call end (%r)" % r)

    # --- callee offline ---
    ap2, al2 = alice.stream(), alice.stream()
    alice.publish(ap2, "carol@%s/phone" % DOMAIN)
    st = alice.r.expect(lambda m: m[0] == "jingle_state" and m[4] == "proposed", 10,
                        "proposed to an offline callee")
    t0 = time.time()
    r = wait_state(alice, st[3], "ended", 5, "ended for an offline callee")
    check(r == "gone", "an offline callee gives ended(gone) within 5 s (%r, %.1f s)"
          % (r, time.time() - t0))

    # --- bad Jingle from a contact, while a call runs ---
    call, (ap, al), inc = place_call(alice, bob, BOB_RTMP)
    bp, bl = answer(bob, call)
    wait_state(alice, call, "active", 15, "active for the bad-input part")
    time.sleep(1.0)
    bot.connect("mallory@%s/evil" % DOMAIN, "m4llory-pw-12", p.ca_file, port=p.port)

    mal = "mallory@%s/evil" % DOMAIN
    counter = [0]

    def jingle_iq(attrs, body=""):
        counter[0] += 1
        return ("<iq xmlns='jabber:client' type='set' to='%s' id='bad%d'>"
                "<jingle xmlns='%s' %s>%s</jingle></iq>" % (ALICE_FULL, counter[0], NS_J, attrs,
                                                           body))

    def error_of(reply):
        """(type, conditions) of an iq reply; type 'result' has no conditions."""
        if reply.get("type") != "error":
            return reply.get("type"), []
        err = [c for c in reply if c.tag.endswith("}error")][0]
        return "error", [c.tag.split("}")[1] for c in err]

    OFFER = ("<content creator='initiator' name='audio'>"
             "<description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'>"
             "<payload-type id='97' name='speex' clockrate='16000'/></description>"
             "<transport xmlns='urn:xmpp:jingle:transports:ice-udp:1' ufrag='abcd' "
             "pwd='abcdefghijklmnopqrstuvwx'>"
             "<fingerprint xmlns='urn:xmpp:jingle:apps:dtls:0' hash='sha-256' setup='actpass'>"
             + ":".join(["AB"] * 32) + "</fingerprint></transport></content>")

    sent2 = FRAMES * 3
    bob.r.audio.clear()
    talker = threading.Thread(target=lambda: alice.send_frames(ap, sent2))
    talker.start()

    r = error_of(bot.send_iq(jingle_iq("action='session-initiate' initiator='%s'" % mal, OFFER)))
    check(r == ("error", ["bad-request"]) or "bad-request" in r[1],
          "a session-initiate without sid gets bad-request (%r)" % (r,))
    r = error_of(bot.send_iq(jingle_iq("action='session-terminate' sid='%s'" % call,
                                       "<reason><success/></reason>")))
    check("item-not-found" in r[1] and "unknown-session" in r[1],
          "terminating someone else's call gets item-not-found/unknown-session (%r)" % (r,))
    r = error_of(bot.send_iq(jingle_iq("action='teleport' sid='x1'")))
    check("feature-not-implemented" in r[1],
          "an unknown action gets feature-not-implemented (%r)" % (r,))
    bad_cand = OFFER.replace("</transport>", "<candidate component='1' foundation='1' "
                             "generation='0' id='c1' ip='127.0.0.1' port='70000' priority='1' "
                             "protocol='udp' type='host'/></transport>")
    r = error_of(bot.send_iq(jingle_iq("action='session-initiate' sid='badport' initiator='%s'"
                                       % mal, bad_cand)))
    check("bad-request" in r[1], "a candidate with port 70000 gets bad-request (%r)" % (r,))

    # Sent back to back (the answer timeout is 3 s here), answers collected after.
    ids = []
    t0 = time.monotonic()
    for k in range(N_FLOOD):
        ids.append(bot.send(jingle_iq("action='session-initiate' sid='flood%d' initiator='%s'"
                                      % (k, mal), OFFER)))
    results = [error_of(bot.wait_for(lambda e, i=i: e.tag.endswith("}iq") and e.get("id") == i,
                                     10, what="the answer to " + i)) for i in ids]
    print("%d session-initiates answered in %.1f s" % (N_FLOOD, time.monotonic() - t0))
    ok = [r for r in results if r[0] == "result"]
    limited = [r for r in results if "resource-constraint" in r[1]]
    check(len(ok) == 2 and len(limited) == N_FLOOD - 2,
          "a flood of %d session-initiates: 2 accepted for ringing, the rest "
          "resource-constraint (%d, %d)" % (N_FLOOD, len(ok), len(limited)))
    offered = alice.r.none_of(callback("jingle_incoming"), 0.5)
    check(len(offered) == 2, "alice is offered exactly those 2 (%d)" % len(offered))
    for m in offered:
        alice.r.call("jingle_reject", m[3], "busy")

    talker.join()
    bob.r.pump(1.5)
    check_frames(bob.audio_on(bl), sent2, "the running call during the bad input")
    alice.r.call("jingle_hangup", call, "success")
    r = wait_state(bob, call, "ended", 10, "ended at bob")
    check(r == "success", "hang-up by the caller reaches the callee (%r)" % r)
    check(gw.alive(), "gateway still running")
    check(gw.stop() == 0, "gateway exits 0 on SIGTERM")
