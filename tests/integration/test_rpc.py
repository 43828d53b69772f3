#!/usr/bin/python3
"""python3-librtmp (librtmp's own client) connects, calls an unknown method
and gets _error NetConnection.Call.Failed, stays connected (a createStream
afterwards is answered), and closes.  A raw client does the same with
objectEncoding 3, the AS3 default, and must get its answers in AMF3 form."""
import librtmp
from harness import Gateway, Procs, args, check
from rtmpc import Client

a = args()
with Procs("rpc") as P:
    gw = Gateway(P, a.gateway, level="debug")

    conn = librtmp.RTMP(gw.url(), live=True, timeout=10)
    conn.connect()
    check(conn.connected, "python3-librtmp connected")
    conn.call("no_such_method", 1, "two")
    err = conn.process_packets(invoked_method="_error", timeout=10)
    check(err is not None and err[0].get("code") == "NetConnection.Call.Failed",
          "unknown method answered with _error NetConnection.Call.Failed: %r" % (err,))
    sid = conn.call("createStream").result(timeout=10)
    check(isinstance(sid, float) and sid >= 1, "still connected: createStream gave stream %r" % sid)
    conn.close()

    # The same with AMF3 (type 17 commands), as Flash/AIR send by default.
    c = Client(gw.port)
    res = c.connect(encoding=3)
    check(res[0] == "_result" and res[3].get("code") == "NetConnection.Connect.Success"
          and res[3].get("objectEncoding") == 3, "AMF3 connect accepted: %r" % (res,))
    check(res[2].get("capabilities") == 31 and res[2].get("mode") == 1,
          "connect _result carries capabilities 31 and mode 1")
    tx = c.call("no_such_method", None, {"nested": {"a": 1}})
    r = c.wait_cmd(lambda m: m[1] == tx)
    check(r[0] == "_error" and r[3]["code"] == "NetConnection.Call.Failed",
          "AMF3 unknown call answered with _error: %r" % (r,))
    tx = c.call("createStream", None)
    r = c.wait_cmd(lambda m: m[1] == tx)
    check(r[0] == "_result" and r[3] == 1, "AMF3 createStream answered with stream 1: %r" % (r,))
    # Commands in unusual orders: publish before FCPublish/releaseStream,
    # FCPublish after publish, a second createStream, deleteStream of a stream
    # that does not exist.
    c.call("publish", None, "echo", "live", sid=1)
    r = c.wait_cmd(lambda m: m[0] == "onStatus")
    check(r[3]["code"] == "NetStream.Publish.Start", "publish before FCPublish works")
    tx = c.call("FCPublish", None, "echo")
    r = c.wait_cmd(lambda m: m[1] == tx)
    check(r[0] == "_result", "FCPublish after publish gets _result")
    tx = c.call("releaseStream", None, "echo")
    check(c.wait_cmd(lambda m: m[1] == tx)[0] == "_result", "releaseStream gets _result")
    c.call("deleteStream", None, 7)
    tx = c.call("createStream", None)
    r = c.wait_cmd(lambda m: m[1] == tx)
    check(r[0] == "_result" and r[3] == 2, "second createStream gives stream 2")
    tx = c.call("getStreamLength", None, "echo")
    r = c.wait_cmd(lambda m: m[1] == tx)
    check(r[0] == "_result" and r[3] == 0, "getStreamLength answers 0 for live")
    c.close()

    # Wrong application name.
    c = Client(gw.port)
    res = c.connect(app="nope")
    check(res[0] == "_error" and res[3]["code"] == "NetConnection.Connect.Rejected",
          "connect to an unknown app is rejected")
    c.close()
    check(gw.alive(), "gateway still running")
    log = gw.log()
    check("unknown command 'no_such_method'" in log, "gateway logged the unknown command")
    check(gw.stop() == 0, "gateway exits 0 on SIGTERM")
