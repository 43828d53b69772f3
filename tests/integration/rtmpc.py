"""A raw RTMP client for tests: handshake, chunks and AMF0/AMF3 built by
hand, so that tests can send exactly the bytes they mean, good or bad, and
see exactly what the gateway answers."""
import os
import socket
import struct
import time


# ---- AMF0 -------------------------------------------------------------
class Undefined:
    pass


def amf0(v):
    if v is None:
        return b"\x05"
    if isinstance(v, bool):
        return b"\x01" + (b"\x01" if v else b"\x00")
    if isinstance(v, (int, float)):
        return b"\x00" + struct.pack(">d", float(v))
    if isinstance(v, str):
        b = v.encode()
        return b"\x02" + struct.pack(">H", len(b)) + b
    if isinstance(v, dict):
        out = b"\x03"
        for k, x in v.items():
            kb = k.encode()
            out += struct.pack(">H", len(kb)) + kb + amf0(x)
        return out + b"\x00\x00\x09"
    raise TypeError(v)


def _amf0_dec(b, i):
    m = b[i]
    i += 1
    if m == 0:
        return struct.unpack(">d", b[i:i + 8])[0], i + 8
    if m == 1:
        return b[i] != 0, i + 1
    if m == 2:
        n = struct.unpack(">H", b[i:i + 2])[0]
        return b[i + 2:i + 2 + n].decode(), i + 2 + n
    if m in (3, 8):
        if m == 8:
            i += 4
        d = {}
        while True:
            n = struct.unpack(">H", b[i:i + 2])[0]
            if n == 0 and b[i + 2] == 9:
                return d, i + 3
            k = b[i + 2:i + 2 + n].decode()
            d[k], i = _amf0_dec(b, i + 2 + n)
    if m in (5, 6):
        return None, i
    if m == 10:
        n = struct.unpack(">I", b[i:i + 4])[0]
        i += 4
        out = []
        for _ in range(n):
            v, i = _amf0_dec(b, i)
            out.append(v)
        return out, i
    if m == 12:
        n = struct.unpack(">I", b[i:i + 4])[0]
        return b[i + 4:i + 4 + n].decode(), i + 4 + n
    if m == 0x11:
        return _Amf3(b).value(i)
    raise ValueError("AMF0 marker %d" % m)


def amf0_decode_all(b):
    out, i = [], 0
    while i < len(b):
        v, i = _amf0_dec(b, i)
        out.append(v)
    return out


# ---- AMF3 (enough for command objects) --------------------------------
def u29(n):
    n &= 0x1FFFFFFF
    if n < 0x80:
        return bytes([n])
    if n < 0x4000:
        return bytes([(n >> 7) | 0x80, n & 0x7F])
    if n < 0x200000:
        return bytes([(n >> 14) | 0x80, ((n >> 7) & 0x7F) | 0x80, n & 0x7F])
    return bytes([(n >> 22) | 0x80, ((n >> 15) & 0x7F) | 0x80, ((n >> 8) & 0x7F) | 0x80, n & 0xFF])


def amf3(v):
    if v is None:
        return b"\x01"
    if v is False:
        return b"\x02"
    if v is True:
        return b"\x03"
    if isinstance(v, int) and -(1 << 28) <= v < (1 << 28):
        return b"\x04" + u29(v)
    if isinstance(v, (int, float)):
        return b"\x05" + struct.pack(">d", float(v))
    if isinstance(v, str):
        return b"\x06" + _amf3_str(v)
    if isinstance(v, dict):
        out = b"\x0a\x0b\x01"  # inline traits, dynamic, no sealed members, anonymous
        for k, x in v.items():
            out += _amf3_str(k) + amf3(x)
        return out + b"\x01"
    raise TypeError(v)


def _amf3_str(s):
    b = s.encode()
    return u29((len(b) << 1) | 1) + b


class _Amf3:
    def __init__(self, b):
        self.b, self.strs, self.traits, self.objs = b, [], [], []

    def _u29(self, i):
        n = 0
        for k in range(4):
            c = self.b[i]
            i += 1
            if k == 3:
                return (n << 8) | c, i
            n = (n << 7) | (c & 0x7F)
            if not c & 0x80:
                return n, i
        return n, i

    def _str(self, i):
        r, i = self._u29(i)
        if not r & 1:
            return self.strs[r >> 1], i
        n = r >> 1
        s = self.b[i:i + n].decode()
        if s:
            self.strs.append(s)
        return s, i + n

    def value(self, i):
        m = self.b[i]
        i += 1
        if m in (0, 1):
            return None, i
        if m in (2, 3):
            return m == 3, i
        if m == 4:
            n, i = self._u29(i)
            return (n - (1 << 29) if n & (1 << 28) else n), i
        if m == 5:
            return struct.unpack(">d", self.b[i:i + 8])[0], i + 8
        if m == 6:
            return self._str(i)
        if m == 0x0a:
            r, i = self._u29(i)
            if not r & 1:
                return self.objs[r >> 1], i
            if not r & 2:
                dyn, names = self.traits[r >> 2]
            else:
                _, i = self._str(i)
                dyn, names = bool(r & 8), []
                for _ in range(r >> 4):
                    k, i = self._str(i)
                    names.append(k)
                self.traits.append((dyn, names))
            d = {}
            self.objs.append(d)
            for k in names:
                d[k], i = self.value(i)
            while dyn:
                k, i = self._str(i)
                if not k:
                    break
                d[k], i = self.value(i)
            return d, i
        raise ValueError("AMF3 marker %d" % m)


# ---- the connection ---------------------------------------------------
class RtmpError(Exception):
    pass


class Client:
    def __init__(self, port, host="127.0.0.1", timeout=10.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.rbuf = b""
        self.in_chunk = 128
        self.out_chunk = 128
        self.cs = {}
        self.txid = 1
        self.amf3 = False

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def send(self, b):
        self.sock.sendall(b)

    def _read(self, n):
        while len(self.rbuf) < n:
            d = self.sock.recv(65536)
            if not d:
                raise EOFError("connection closed by server")
            self.rbuf += d
        out, self.rbuf = self.rbuf[:n], self.rbuf[n:]
        return out

    def handshake(self):
        c1 = struct.pack(">II", 0, 0) + os.urandom(1528)
        self.send(b"\x03" + c1)
        s0 = self._read(1)
        if s0 != b"\x03":
            raise RtmpError("S0 %r" % s0)
        s1 = self._read(1536)
        s2 = self._read(1536)
        if s2 != c1:
            raise RtmpError("S2 does not echo C1")
        self.send(s1)

    def chunk(self, csid, mtype, sid, body, ts=0):
        """One message, fmt 0 first chunk then fmt 3 continuations."""
        out = bytes([csid]) + struct.pack(">I", ts)[1:] + struct.pack(">I", len(body))[1:]
        out += bytes([mtype]) + struct.pack("<I", sid)
        for k in range(0, max(len(body), 1), self.out_chunk):
            if k:
                out += bytes([0xC0 | csid])
            out += body[k:k + self.out_chunk]
        return out

    def send_msg(self, mtype, body, sid=0, csid=3, ts=0):
        self.send(self.chunk(csid, mtype, sid, body, ts))

    def set_chunk_size(self, n):
        self.send_msg(1, struct.pack(">I", n), csid=2)
        self.out_chunk = n

    def call(self, name, *args, sid=0, txid=None, use_amf3=None):
        if txid is None:
            self.txid += 1
            txid = self.txid
        use3 = self.amf3 if use_amf3 is None else use_amf3
        if use3:
            body = b"\x00" + amf0(name) + amf0(txid)
            for a in args:
                body += b"\x11" + amf3(a) if isinstance(a, dict) else amf0(a)
            self.send_msg(17, body, sid=sid, csid=3 if not sid else 8)
        else:
            body = amf0(name) + amf0(txid) + b"".join(amf0(a) for a in args)
            self.send_msg(20, body, sid=sid, csid=3 if not sid else 8)
        return txid

    def read_msg(self):
        """Return (type, stream_id, timestamp, body) of the next message."""
        while True:
            b0 = self._read(1)[0]
            fmt, csid = b0 >> 6, b0 & 0x3F
            if csid == 0:
                csid = 64 + self._read(1)[0]
            elif csid == 1:
                x = self._read(2)
                csid = 64 + x[0] + 256 * x[1]
            st = self.cs.setdefault(csid, {"ts": 0, "delta": 0, "len": 0, "type": 0,
                                           "sid": 0, "buf": b"", "ext": False})
            hl = [11, 7, 3, 0][fmt]
            h = self._read(hl)
            if fmt < 3:
                field = int.from_bytes(h[0:3], "big")
                st["ext"] = field == 0xFFFFFF
            if st["ext"]:
                e = int.from_bytes(self._read(4), "big")
                if fmt < 3:
                    field = e
            new = not st["buf"]
            if fmt <= 1:
                st["len"] = int.from_bytes(h[3:6], "big")
                st["type"] = h[6]
            if fmt == 0:
                st["sid"] = struct.unpack("<I", h[7:11])[0]
            if new:
                if fmt == 0:
                    st["ts"], st["delta"] = field, 0
                elif fmt in (1, 2):
                    st["delta"] = field
                    st["ts"] = (st["ts"] + field) & 0xFFFFFFFF
                else:
                    st["ts"] = (st["ts"] + st["delta"]) & 0xFFFFFFFF
            n = min(self.in_chunk, st["len"] - len(st["buf"]))
            st["buf"] += self._read(n)
            if len(st["buf"]) < st["len"]:
                continue
            body, st["buf"] = st["buf"], b""
            if st["type"] == 1:
                self.in_chunk = struct.unpack(">I", body[:4])[0]
            if st["type"] == 4 and body[:2] == b"\x00\x06":
                self.send_msg(4, b"\x00\x07" + body[2:6], csid=2)  # answer pings
            return st["type"], st["sid"], st["ts"], body

    def read_cmd(self, timeout=10.0):
        """Next command message, decoded: [name, txid, args...]."""
        end = time.time() + timeout
        while time.time() < end:
            t, sid, ts, body = self.read_msg()
            if t == 20:
                return amf0_decode_all(body)
            if t == 17:
                return amf0_decode_all(body[1:])
        raise RtmpError("no command within %.1fs" % timeout)

    def wait_cmd(self, pred, timeout=10.0):
        end = time.time() + timeout
        while time.time() < end:
            c = self.read_cmd(max(0.1, end - time.time()))
            if pred(c):
                return c
        raise RtmpError("expected command did not arrive")

    def connect(self, app="xmpp", encoding=0, extra=None):
        self.handshake()
        obj = {"app": app, "flashVer": "LNX 10,0,32,18", "tcUrl": "rtmp://127.0.0.1/" + app,
               "fpad": False, "capabilities": 15, "audioCodecs": 3575, "videoCodecs": 252,
               "videoFunction": 1, "objectEncoding": encoding}
        args = [obj] + ([extra] if extra is not None else [])
        body = amf0("connect") + amf0(1) + b"".join(amf0(a) for a in args)
        self.send_msg(20, body)
        res = self.wait_cmd(lambda c: c[0] in ("_result", "_error") and c[1] == 1)
        self.amf3 = encoding == 3
        return res
