#!/usr/bin/python3
"""Calls with the STUN and TURN servers of the user's XMPP server (XEP-0215,
docs/calls.md "ICE servers"), between two RTMP users of one gateway run with
--media-addresses 127.0.0.1 and no STUN or TURN of its own:

- prosody 0.12 with mod_turn_external hands out coturn's address and
  time-limited credentials (TURN REST: "EXPIRY:USER", HMAC-SHA1 of a secret
  coturn shares, use-auth-secret); coturn runs on 127.0.0.1 with its relay
  ports in a range of our choosing.  Each session asks once; the gateway
  logs what its server offers (host:port, never the credentials);
- the session-initiate and the session-accept carry a relay candidate on a
  port of coturn's range, and coturn's log shows allocations made with the
  XEP-0215 username, whose expiry is the one prosody set;
- Speex frames arrive exact and in order both ways;
- neither the shared secret nor a password derived from it, nor a TURN
  username, is in the gateway's log;
- a prosody without mod_turn_external (mod_external_services with nothing
  configured): the log says the server offers no external services, the
  call has no relay candidate, coturn sees no new allocation, audio flows;
- a prosody without mod_external_services answers service-unavailable: the
  log says so, and the session goes on.
Every wait is bounded; coturn and prosody run in temporary folders and are
ended by PID.
"""
import base64
import hashlib
import hmac
import os
import random
import re
import secrets
import socket
import time

from harness import Procs, VECTORS, args, check, fail, free_port
from call_kit import Phone, wait_state
from peers import speex_frames_from_spxv
from stanza_kit import ALICE_FULL, ALICE_PW, BOB_PW, DOMAIN, accounts, callback, start_gateway
from xmpp_server import Prosody

a = args()
BOB_RTMP = "bob@" + DOMAIN + "/rtmpphone"
SECRET = "rx-turn-" + secrets.token_hex(12)
TURN_USER = "rxturnuser"
TTL = 3600
# coturn's relay ports: below Linux's ephemeral range, so nothing else
# takes them by chance, and at a random place in it so that runs may overlap.
RELAY_LO = random.randrange(10000, 19000, 100)
RELAY_HI = RELAY_LO + 99
FRAMES = speex_frames_from_spxv(os.path.join(VECTORS, "speex", "wb-q8.spxv"))


def stun_answers(port, timeout):
    """Whether a STUN Binding to 127.0.0.1:port is answered within timeout s."""
    req = b"\x00\x01\x00\x00\x21\x12\xa4\x42" + secrets.token_bytes(12)
    end = time.monotonic() + timeout
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(0.2)
        while time.monotonic() < end:
            s.sendto(req, ("127.0.0.1", port))
            try:
                data = s.recv(1500)
                if data[:2] == b"\x01\x01" and data[8:20] == req[8:20]:
                    return True
            except OSError:
                pass
    return False


def start_coturn(P, port):
    log = P.path("turn.log")
    argv = ["turnserver", "-n", "--listening-ip=127.0.0.1", "--relay-ip=127.0.0.1",
            "--listening-port=%d" % port, "--min-port=%d" % RELAY_LO,
            "--max-port=%d" % RELAY_HI, "--use-auth-secret",
            "--static-auth-secret=" + SECRET, "--realm=" + DOMAIN, "--no-cli", "--no-tls",
            "--no-dtls", "--allow-loopback-peers", "--no-multicast-peers",
            "--log-file=" + log, "--simple-log", "--no-stdout-log",
            "--pidfile=" + P.path("turn.pid"), "--db=" + P.path("turndb"), "-v"]
    proc = P.start(argv, "coturn")
    if not stun_answers(port, 10):
        fail("coturn did not answer STUN within 10 s:\n" + P.log(proc) + read(log)[-2000:])
    return proc, log


def read(path):
    try:
        with open(path, "rb") as f:
            return f.read().decode(errors="replace")
    except OSError:
        return ""


def wait_log(pred, timeout):
    """The text pred accepts (gw log or coturn log, re-read) within timeout s."""
    end = time.monotonic() + timeout
    while True:
        r = pred()
        if r or time.monotonic() > end:
            return r
        time.sleep(0.1)


def place_and_answer(alice, bob):
    """alice calls bob's RTMP resource, bob answers: the call id and the
    streams (alice publish, alice play, bob publish, bob play)."""
    ap, al = alice.stream(), alice.stream()
    alice.publish(ap, BOB_RTMP)
    alice.play(al, BOB_RTMP)
    call = alice.r.expect(lambda m: m[0] == "jingle_state" and m[4] == "proposed", 15,
                          "jingle_state(proposed) at the caller")[3]
    inc = bob.r.expect(callback("jingle_incoming"), 15, "jingle_incoming at the callee")
    check(inc[3] == call and inc[4] == ALICE_FULL, "bob is offered alice's call")
    bp, bl = bob.stream(), bob.stream()
    bob.publish(bp, call)
    bob.play(bl, call)
    wait_state(alice, call, "active", 15, "jingle_state(active) at the caller")
    wait_state(bob, call, "active", 15, "jingle_state(active) at the callee")
    return call, (ap, al, bp, bl)


def check_audio(got, sent, what):
    """The frames received: a run of the frames sent, maybe missing the
    first ones (DTLS may still be finishing) and at most two at the end."""
    ts = [t for t, _ in got]
    frames = [b[1:] for _, b in got if b and b[0] >> 4 == 11]
    check(len(frames) == len(got) and frames, "%s: Speex audio arrived (%d messages)"
          % (what, len(got)))
    check(all(x < y for x, y in zip(ts, ts[1:])), "%s: RTMP timestamps increase" % what)
    start = next((i for i in range(min(26, len(sent))) if sent[i] == frames[0]), None)
    if start is None:
        fail("%s: the first frame received is not one of the first sent" % what)
    check(frames == sent[start:start + len(frames)] and len(frames) >= len(sent) - start - 2,
          "%s: %d of %d frames exact and in order from frame %d"
          % (what, len(frames), len(sent), start))


def talk(alice, bob, streams):
    ap, al, bp, bl = streams
    time.sleep(1.0)   # ICE and DTLS on loopback
    sent = FRAMES * 2
    alice.send_frames(ap, sent)
    bob.r.pump(1.0)
    check_audio(bob.audio_on(bl), sent, "alice -> bob")
    bob.send_frames(bp, sent)
    alice.r.pump(1.0)
    check_audio(alice.audio_on(al), sent, "bob -> alice")


def hang_up(alice, bob, call, streams):
    bob.r.call("jingle_hangup", call, "success")
    r = wait_state(alice, call, "ended", 10, "jingle_state(ended) at the caller")
    check(r == "success", "the call ends with success (%r)" % r)
    alice.delete(*streams[:2])
    bob.delete(*streams[2:])


def candidates(log, call, action):
    """(type, port) of the candidates the gateway put in its action for call."""
    return [(t, int(p)) for t, p in re.findall(
        r"call %s: %s with candidate (\w+) 127\.0\.0\.1:(\d+)" % (call, action), log)]


def allocations(turn_log):
    """The usernames of coturn's successful allocations."""
    return re.findall(r"user <([^>]*)>: incoming packet ALLOCATE processed, success", turn_log)


no_disco = 'modules_disabled = { "s2s"; "s2s_auth_certs"; "external_services" }'
turn_port = free_port()
turn_cfg = "\n".join("%s = %s" % kv for kv in (
    ("turn_external_secret", '"%s"' % SECRET), ("turn_external_host", '"127.0.0.1"'),
    ("turn_external_port", str(turn_port)), ("turn_external_user", '"%s"' % TURN_USER),
    ("turn_external_ttl", str(TTL))))
# One certificate for the three servers (cert_from), so that one gateway,
# trusting it, serves users of each.
with Procs("call-turn") as P, \
        Prosody(extra_modules=["turn_external"], extra_config=turn_cfg) as p, \
        Prosody(cert_from=p) as p2, Prosody(cert_from=p, extra_config=no_disco) as p3:
    coturn, turn_log = start_coturn(P, turn_port)
    t0 = time.time()
    for srv in (p, p2, p3):
        accounts(srv)
    gw = start_gateway(P, a.gateway, p, "--media-addresses", "127.0.0.1", level="debug")

    # --- prosody with mod_turn_external: relays through coturn ---
    alice = Phone(gw, p, "alice", ALICE_PW)
    bob = Phone(gw, p, "bob", BOB_PW)
    offer = "extdisco: localhost offers turn 127.0.0.1:%d over udp with credentials" % turn_port
    n = wait_log(lambda: gw.log().count(offer) >= 2, 10)
    check(n, "both sessions learn coturn's TURN over UDP from prosody (XEP-0215)")
    check(gw.log().count("extdisco: localhost offers stun 127.0.0.1:%d over udp"
                         % turn_port) == 2, "... and its STUN")

    call, streams = place_and_answer(alice, bob)
    log = gw.log()
    check(re.search(r"call %s: ICE servers from the XMPP server: stun 127\.0\.0\.1:%d turn "
                    r"127\.0\.0\.1:%d over udp" % (call, turn_port, turn_port), log),
          "the call uses the XMPP server's STUN and TURN")
    for action in ("session-initiate", "session-accept"):
        c = candidates(log, call, action)
        relay = [port for t, port in c if t == "relay"]
        print("%s candidates: %s" % (action, c))
        check(relay and all(RELAY_LO <= port <= RELAY_HI for port in relay),
              "the %s carries relay candidates on coturn's ports %d-%d (%s)"
              % (action, RELAY_LO, RELAY_HI, relay))
    users = wait_log(lambda: allocations(read(turn_log)), 5)
    print("coturn allocations by: %s" % sorted(set(users)))
    check(len(users) >= 2, "coturn made allocations for both sides (%d)" % len(users))
    for u in set(users):
        m = re.fullmatch(r"(\d+):" + TURN_USER, u)
        check(m and t0 + TTL - 5 <= int(m.group(1)) <= time.time() + TTL + 5,
              "allocation username %s is prosody's time-limited XEP-0215 one" % u)
    talk(alice, bob, streams)
    hang_up(alice, bob, call, streams)

    log = gw.log()
    for u in set(users):
        pw = base64.b64encode(hmac.new(SECRET.encode(), u.encode(), hashlib.sha1).digest())
        check(pw.decode() not in log and u not in log,
              "the gateway's log has neither the TURN username %s nor its password" % u)
    check(SECRET not in log and ":" + TURN_USER not in log, "nor the shared secret")
    alice.r.close()
    bob.r.close()

    # --- a server that offers nothing: calls as before, without relays ---
    n_alloc = len(allocations(read(turn_log)))
    mark = len(gw.log())
    alice = Phone(gw, p2, "alice", ALICE_PW)
    bob = Phone(gw, p2, "bob", BOB_PW)
    none = "extdisco: localhost offers no external services\n"
    check(wait_log(lambda: gw.log()[mark:].count(none) >= 2, 10),
          "both sessions log that the server offers no external services")
    call, streams = place_and_answer(alice, bob)
    log = gw.log()[mark:]
    check("call %s: ICE servers from the XMPP server" % call not in log,
          "the call uses the gateway's own ICE config")
    for action in ("session-initiate", "session-accept"):
        c = candidates(log, call, action)
        check(c and all(t == "host" for t, _ in c),
              "the %s has host candidates only (%s)" % (action, c))
    talk(alice, bob, streams)
    hang_up(alice, bob, call, streams)
    check(len(allocations(read(turn_log))) == n_alloc, "coturn saw no new allocation")
    alice.r.close()
    bob.r.close()

    # --- a server without XEP-0215 at all ---
    mark = len(gw.log())
    alice = Phone(gw, p3, "alice", ALICE_PW)
    err = "extdisco: localhost offers no external services (XEP-0215): service-unavailable"
    check(wait_log(lambda: err in gw.log()[mark:], 10),
          "a server without XEP-0215: the log says it offers none (service-unavailable)")
    r = alice.r.rpc("createStream")
    check(r[0] == "_result", "the session goes on")
    alice.r.close()

    check(gw.alive(), "gateway still running")
    check(gw.stop() == 0, "gateway exits 0 on SIGTERM")
    check(P.end(coturn) is not None, "coturn ended")
