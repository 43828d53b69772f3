"""What the call tests share: an RTMP user placing and taking calls through
the gateway (client-api.md "Voice calls"), on stanza_kit's raw client."""
import time

from harness import check
from stanza_kit import Rtmp


def state_of(call):
    return lambda m: m[0] == "jingle_state" and len(m) > 3 and m[3] == call


def wait_state(phone, call, state, timeout, what):
    """The reason of jingle_state(call, state, reason) at phone."""
    m = phone.r.expect(lambda m: state_of(call)(m) and m[4] == state, timeout, what)
    return m[5] if len(m) > 5 else None


class Phone:
    """An RTMP user, logged in with xmpp_connect and available, with streams
    for calls."""

    def __init__(self, gw, p, user, pw):
        self.r = Rtmp(gw.port)
        res = self.r.login(p, user=user, password=pw, timeout=20)
        check(res == 1.0, "%s logged in" % user)
        self.r.send("presence", {}, "")

    def stream(self):
        r = self.r.rpc("createStream")
        check(r[0] == "_result", "createStream answered")
        return int(r[3])

    def publish(self, sid, name):
        self.r.c.call("publish", None, name, "live", sid=sid, txid=0)

    def play(self, sid, name):
        self.r.c.call("play", None, name, sid=sid, txid=0)

    def send_frames(self, sid, frames, t0=0):
        """Speex frames as RTMP audio (FLV byte 0xB2), one every 20 ms."""
        for k, f in enumerate(frames):
            self.r.c.send_msg(8, b"\xb2" + f, sid=sid, csid=6, ts=t0 + 20 * k)
            time.sleep(0.02)

    def audio_on(self, sid):
        """(timestamp, body) of the audio received on stream sid."""
        return [(ts, body) for s, ts, body in self.r.audio if s == sid]

    def delete(self, *sids):
        for sid in sids:
            self.r.c.call("deleteStream", None, float(sid), txid=0)
