"""An asyncio RTMP client for scale tests: thousands of connections from
one process.  AMF encoding and decoding come from rtmpc.py; the chunk
parsing is the same, over asyncio streams."""
import asyncio
import os
import struct

from rtmpc import amf0, amf0_decode_all


class AClient:
    def __init__(self):
        self.r = self.w = None
        self.in_chunk = 128
        self.cs = {}
        self.txid = 1
        self.pump = None

    async def open(self, port, host="127.0.0.1"):
        self.r, self.w = await asyncio.open_connection(host, port)
        c1 = bytes(8) + os.urandom(1528)
        self.w.write(b"\x03" + c1)
        s = await self.r.readexactly(1 + 1536 + 1536)
        if s[0] != 3 or s[1 + 1536:] != c1:
            raise RuntimeError("bad handshake answer")
        self.w.write(s[1:1 + 1536])

    def send_msg(self, mtype, body, csid=3, sid=0):
        hdr = bytes([csid]) + b"\x00\x00\x00" + struct.pack(">I", len(body))[1:]
        hdr += bytes([mtype]) + struct.pack("<I", sid)
        out = hdr
        for k in range(0, max(len(body), 1), 128):
            if k:
                out += bytes([0xC0 | csid])
            out += body[k:k + 128]
        self.w.write(out)

    def call(self, name, *args, txid=None):
        if txid is None:
            self.txid += 1
            txid = self.txid
        self.send_msg(20, amf0(name) + amf0(txid) + b"".join(amf0(a) for a in args))
        return txid

    async def read_msg(self):
        while True:
            b0 = (await self.r.readexactly(1))[0]
            fmt, csid = b0 >> 6, b0 & 0x3F
            if csid == 0:
                csid = 64 + (await self.r.readexactly(1))[0]
            elif csid == 1:
                x = await self.r.readexactly(2)
                csid = 64 + x[0] + 256 * x[1]
            st = self.cs.setdefault(csid, {"ts": 0, "delta": 0, "len": 0, "type": 0,
                                           "buf": b"", "ext": False})
            h = await self.r.readexactly([11, 7, 3, 0][fmt])
            if fmt < 3:
                st["ext"] = h[0:3] == b"\xff\xff\xff"
            if st["ext"]:
                await self.r.readexactly(4)
            if fmt <= 1:
                st["len"] = int.from_bytes(h[3:6], "big")
                st["type"] = h[6]
            n = min(self.in_chunk, st["len"] - len(st["buf"]))
            st["buf"] += await self.r.readexactly(n)
            if len(st["buf"]) < st["len"]:
                continue
            body, st["buf"] = st["buf"], b""
            if st["type"] == 1:
                self.in_chunk = struct.unpack(">I", body[:4])[0]
            elif st["type"] == 4 and body[:2] == b"\x00\x06":
                self.send_msg(4, b"\x00\x07" + body[2:6], csid=2)
            return st["type"], body

    async def _pump(self):
        """Read all the time, so that pings are answered while the test waits."""
        try:
            while True:
                t, body = await self.read_msg()
                if t == 20:
                    await self.q.put(amf0_decode_all(body))
        except Exception as e:   # EOF or reset: wake the waiter
            await self.q.put(e)

    async def wait_cmd(self, pred):
        if self.pump is None:
            self.q = asyncio.Queue()
            self.pump = asyncio.create_task(self._pump())
        while True:
            c = await self.q.get()
            if isinstance(c, Exception):
                raise c
            if pred(c):
                return c

    async def connect(self, app="xmpp"):
        obj = {"app": app, "tcUrl": "rtmp://127.0.0.1/" + app, "objectEncoding": 0}
        self.send_msg(20, amf0("connect") + amf0(1) + amf0(obj))
        return await self.wait_cmd(lambda c: c[1] == 1 and c[0] in ("_result", "_error"))

    def close(self):
        if self.pump:
            self.pump.cancel()
        if self.w:
            self.w.close()
