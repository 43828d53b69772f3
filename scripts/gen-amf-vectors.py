#!/usr/bin/python3
"""Generate the AMF test vectors in test-vectors/amf3/ (see its README.md).

Run from anywhere with /usr/bin/python3 (standard library only):
    /usr/bin/python3 scripts/gen-amf-vectors.py
The output is deterministic; the script checks its own U29 encoder against
the bit layouts of the AMF 3 specification (section 1.3.1) first.
"""
import os
import struct
import sys

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test-vectors", "amf3")

# AMF3 markers (AMF 3 specification, section 3.1)
UNDEFINED, NULL, FALSE, TRUE, INTEGER, DOUBLE, STRING, XMLDOC, DATE, ARRAY, OBJECT, XML, \
    BYTEARRAY = range(13)
VECTOR_INT, DICTIONARY = 0x0D, 0x11


def u29(v):
    """Variable-length unsigned 29-bit integer."""
    assert 0 <= v <= 0x1FFFFFFF
    if v < 0x80:
        return bytes([v])
    if v < 0x4000:
        return bytes([0x80 | v >> 7, v & 0x7F])
    if v < 0x200000:
        return bytes([0x80 | v >> 14, 0x80 | (v >> 7) & 0x7F, v & 0x7F])
    return bytes([0x80 | (v >> 22) & 0x7F, 0x80 | (v >> 15) & 0x7F, 0x80 | (v >> 8) & 0x7F,
                  v & 0xFF])


def vr(s):
    """UTF-8-vr written inline."""
    b = s.encode("utf-8") if isinstance(s, str) else s
    return u29(len(b) << 1 | 1) + b


def sref(i):
    """UTF-8-vr as a string table reference."""
    return u29(i << 1)


def oref(i):
    """U29O-ref: object table reference."""
    return u29(i << 1)


def integer(v):
    assert -0x10000000 <= v <= 0x0FFFFFFF
    return bytes([INTEGER]) + u29(v & 0x1FFFFFFF)


def double(v):
    return bytes([DOUBLE]) + struct.pack(">d", v)


def string(s):
    return bytes([STRING]) + vr(s)


def date(ms):
    return bytes([DATE, 0x01]) + struct.pack(">d", ms)


def traits(nsealed, dynamic):
    """U29O-traits for an inline object with inline traits."""
    return u29(nsealed << 4 | (8 if dynamic else 0) | 0x03)


def array(dense, assoc=b""):
    """dense: list of encoded values; assoc: encoded name/value pairs."""
    return bytes([ARRAY]) + u29(len(dense) << 1 | 1) + assoc + b"\x01" + b"".join(dense)


def anon(members):
    """Anonymous dynamic object with inline member names (name, encoded value)."""
    body = b"".join(vr(n) + v for n, v in members)
    return bytes([OBJECT]) + traits(0, True) + b"\x01" + body + b"\x01"


# AMF0 (AMF 0 specification) for the command envelopes
def a0_str(s):
    b = s.encode()
    return b"\x02" + struct.pack(">H", len(b)) + b


def a0_num(v):
    return b"\x00" + struct.pack(">d", v)


def a0_bool(v):
    return b"\x01" + bytes([1 if v else 0])


def a0_obj(members):
    body = b"".join(struct.pack(">H", len(n)) + n.encode() + v for n, v in members)
    return b"\x03" + body + b"\x00\x00\x09"


def selfcheck():
    # Section 1.3.1: 0xxxxxxx / 1xxxxxxx 0xxxxxxx / 1xxxxxxx 1xxxxxxx 0xxxxxxx /
    # 1xxxxxxx 1xxxxxxx 1xxxxxxx xxxxxxxx, at the range boundaries.
    table = {0: "00", 0x7F: "7f", 0x80: "8100", 0x3FFF: "ff7f", 0x4000: "818000",
             0x1FFFFF: "ffff7f", 0x200000: "80c08000", 0x0FFFFFFF: "bfffffff",
             0x1FFFFFFF: "ffffffff", 0x10000000: "c0808000"}
    for v, h in table.items():
        assert u29(v).hex() == h, (hex(v), u29(v).hex(), h)


U29_VALUES = [0, 0x7F, 0x80, 0x3FFF, 0x4000, 0x1FFFFF, 0x200000, 0x0FFFFFFF, -1, -0x10000000]
DOUBLE_VALUES = [268435456.0, -268435457.0, 1.5, -0.0, 1e300]


def complex_vector():
    """Typed object with sealed and dynamic members using every reference kind.
    String table: 0 Msg, 1 id, 2 body, 3 k, 4 v, 5 when, 6 blob, 7 doc,
    8 again, 9 x, 10 self, 11 big, 12 str, 13 when2, 14 e.
    Object table: 0 root, 1 body, 2 when, 3 blob, 4 doc, 5 again."""
    body = array([double(1.5), bytes([STRING]) + sref(0), bytes([FALSE]), bytes([NULL]),
                  bytes([UNDEFINED])], vr("k") + string("v"))
    again = bytes([OBJECT]) + u29(0 << 2 | 0x01) + integer(-5) + bytes([ARRAY]) + oref(1) \
        + vr("x") + bytes([STRING]) + sref(3) + b"\x01"
    return (bytes([OBJECT]) + traits(2, True) + vr("Msg") + vr("id") + vr("body")
            + integer(300) + body
            + vr("when") + date(1e12)
            + vr("blob") + bytes([BYTEARRAY]) + vr(b"\xde\xad\xbe\xef")
            + vr("doc") + bytes([XML]) + vr("<x/>")
            + vr("again") + again
            + vr("self") + bytes([OBJECT]) + oref(0)
            + vr("big") + integer(0x0FFFFFFF)
            + vr("str") + bytes([STRING]) + sref(4)
            + vr("when2") + bytes([DATE]) + oref(2)
            + vr("e") + string("")
            + b"\x01")


def encode_tree_vector():
    """What amf3_encode() must produce for the tree test_amf3_encode builds."""
    return anon([
        ("name", string("alice")),
        ("n", integer(42)),
        ("big", double(268435456.0)),
        ("neg", integer(-300)),
        ("pi", double(3.5)),
        ("ok", bytes([TRUE])),
        ("no", bytes([FALSE])),
        ("nil", bytes([NULL])),
        ("undef", bytes([UNDEFINED])),
        ("when", date(1.5e12)),
        ("xml", bytes([XMLDOC]) + vr("<r/>")),
        ("raw", bytes([BYTEARRAY]) + vr(b"\x00\xff")),
        ("list", array([integer(1), string("two"), bytes([NULL])])),
        ("map", array([integer(7)], vr("k") + string("v"))),
        ("empty", string("")),
    ])


# The AMF3 part of a Flex RemotingMessage: a typed object with nine sealed
# members and a nested anonymous dynamic object, as a Flex client sent it
# (published as AMF3_in_AMF0.sample in github.com/ihgazni/SIMPLE-AMF-DECODER).
FLEX_REMOTING = (
    b"\n\x81\x13Oflex.messaging.messages.RemotingMessage\x13operation\rsource\tbody"
    b"\x13messageId\x13timestamp\x11clientId\x15timeToLive\x17destination\x0fheaders"
    b"\x06!statisticAllTask\x01\t\x01\x01\x06I595D8F82-7AD2-CE38-EBA6-A1BBF524E1C0"
    b"\x04\x00\x01\x04\x00\x06\x17taskManager\n\x0b\x01\x15DSEndpoint\x06\x1bmy-graniteamf"
    b"!DSRequestTimeout\x04\x85\xa3\x00\tDSId\x06I99853A75-B61C-4A43-A16C-DFB5E64B7FEA\x01")


def nested(n):
    """n arrays, each the only dense element of the one outside it."""
    return (bytes([ARRAY]) + u29(1 << 1 | 1) + b"\x01") * (n - 1) + array([])


def ref_bomb(levels):
    """[a0, a1, ...] with a0 = [] and a(k) = [a(k-1), a(k-1)] by reference:
    a few bytes per level, 2^k properties once references are copied."""
    items = [array([])]
    for k in range(1, levels):
        r = bytes([ARRAY]) + oref(k)  # a(k-1) is object k (the outer array is 0)
        items.append(array([r, r]))
    return array(items)


def vectors():
    v = {}
    v["u29-int.bin"] = b"".join(integer(x) for x in U29_VALUES)
    v["double.bin"] = b"".join(double(x) for x in DOUBLE_VALUES)
    # "" is never sent by reference and takes no table slot, so "world" is 1
    v["strings.bin"] = array([string("hello"), string(""), bytes([STRING]) + sref(0),
                              string("world"), bytes([STRING]) + sref(1), string("")])
    # class Pt {x, y} dynamic, with z = "x" by reference (strings: Pt, x, y, z)
    v["object-sealed-dynamic.bin"] = (bytes([OBJECT]) + traits(2, True) + vr("Pt") + vr("x")
                                      + vr("y") + integer(1) + integer(2) + vr("z")
                                      + bytes([STRING]) + sref(1) + b"\x01")
    pt1 = bytes([OBJECT]) + traits(2, False) + vr("Pt") + vr("x") + vr("y") + integer(1) \
        + integer(2)
    pt2 = bytes([OBJECT]) + u29(0 << 2 | 0x01) + integer(3) + integer(4)
    v["traits-ref.bin"] = array([pt1, pt2, bytes([OBJECT]) + oref(1)])
    v["array-mixed.bin"] = array([bytes([TRUE]), bytes([NULL]), double(2.5)],
                                 vr("a") + integer(1) + vr("b") + string("x"))
    v["date.bin"] = array([date(1234567890123.0), bytes([DATE]) + oref(1)])
    # XML goes to the object table, not the string table: "<a/>" as a string
    # afterwards is string 0
    v["xml-bytes.bin"] = array([bytes([XMLDOC]) + vr("<a/>"), bytes([XML]) + vr("<b/>"),
                                bytes([BYTEARRAY]) + vr(b"\x01\x02\x03"),
                                bytes([BYTEARRAY]) + oref(3), string("<a/>"),
                                bytes([STRING]) + sref(0)])
    v["cyclic.bin"] = anon([("self", bytes([OBJECT]) + oref(0))])
    v["complex.bin"] = complex_vector()
    v["flex-remoting.bin"] = FLEX_REMOTING
    v["encode-tree.bin"] = encode_tree_vector()
    # malformed
    v["bad-string-ref.bin"] = array([string("a"), bytes([STRING]) + sref(1)])
    v["bad-object-ref.bin"] = array([bytes([OBJECT]) + oref(1)])
    v["bad-trait-ref.bin"] = array([bytes([OBJECT]) + u29(0 << 2 | 0x01)])
    v["bad-marker.bin"] = bytes([0x12])
    v["unsupported-vector.bin"] = bytes([VECTOR_INT]) + u29(1 << 1 | 1) + b"\x00" + b"\0\0\0\1"
    v["unsupported-dictionary.bin"] = bytes([DICTIONARY]) + u29(0 << 1 | 1) + b"\x00"
    v["externalizable.bin"] = (bytes([OBJECT]) + u29(0x07) + vr("flex.messaging.io.ArrayCollection")
                               + array([]))
    v["deep-32.bin"] = nested(32)
    v["deep-33.bin"] = nested(33)
    # [X, [X by reference]] with X 31 arrays deep: fine where X is, one too
    # deep where the reference copies it
    v["deep-copy.bin"] = array([nested(31), array([bytes([ARRAY]) + oref(1)])])
    v["huge-array.bin"] = bytes([ARRAY]) + u29(0x1FFFFFFF) + b"\x01"
    v["huge-string.bin"] = bytes([STRING]) + u29(0x1FFFFFFF)
    v["huge-bytes.bin"] = bytes([BYTEARRAY]) + u29(0x1FFFFFFF) + b"\x00"
    v["huge-sealed.bin"] = bytes([OBJECT]) + traits(0x1FFFFFF, True) + b"\x01"
    v["ref-bomb.bin"] = ref_bomb(30)
    # RTMP type 17 body of nc.call("xmpp_connect", responder, {...}) with
    # objectEncoding 3: format byte, AMF0 name, txid and null, then AMF3
    v["call-xmpp_connect.bin"] = (b"\x00" + a0_str("xmpp_connect") + a0_num(2.0) + b"\x05"
                                  + b"\x11" + anon([("username", string("alice")),
                                                    ("domain", string("localhost")),
                                                    ("password", string("secret")),
                                                    ("resource", string("flash"))]))
    # RTMP type 20 body of Flash Player 10's connect with objectEncoding 3
    v["connect-as3.bin"] = (a0_str("connect") + a0_num(1.0) + a0_obj([
        ("app", a0_str("xmpp")),
        ("flashVer", a0_str("WIN 10,0,32,18")),
        ("swfUrl", a0_str("http://127.0.0.1/xmpp.swf")),
        ("tcUrl", a0_str("rtmp://127.0.0.1/xmpp")),
        ("fpad", a0_bool(False)),
        ("capabilities", a0_num(239.0)),
        ("audioCodecs", a0_num(3575.0)),
        ("videoCodecs", a0_num(252.0)),
        ("videoFunction", a0_num(1.0)),
        ("pageUrl", a0_str("http://127.0.0.1/xmpp.html")),
        ("objectEncoding", a0_num(3.0)),
    ]))
    return v


def main():
    selfcheck()
    os.makedirs(OUT, exist_ok=True)
    for name, data in sorted(vectors().items()):
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)
        if "-v" in sys.argv:
            print(f"{name:32} {len(data):5} {data[:24].hex()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
