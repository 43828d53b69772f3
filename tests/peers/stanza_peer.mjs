#!/usr/bin/env node
// stanza_peer.mjs: a scripted Jingle audio client for the tests: StanzaJS
// (XMPP over websocket, Jingle RTP sessions) with werift as its
// RTCPeerConnection (speex/16000, DTLS-SRTP, ICE-UDP host candidates on
// 127.0.0.1, rtcp-mux).
//
//   node stanza_peer.mjs --ws ws://127.0.0.1:PORT/xmpp-websocket
//        --jid user@localhost/res --password PW --send FRAMES_FILE --recv OUT_FILE
//        [--codecs speex/16000/97,PCMU/8000/0]   offered in this order (default speex/16000/97)
//        [--early-candidates]                     see "transport-info ordering" below
//        [--accept-all]                           accept every incoming session at once
//        [--rtp-log FILE]                         one JSON line per received speex RTP
//             packet: {"t": process.hrtime.bigint() as a decimal string (CLOCK_MONOTONIC
//             ns on Linux), "sid", "from", "seq", "ts", "ssrc", "m", "p": payload hex};
//             written at quit (the benchmark's path (c), bench/rtpside.py)
//
// Protocol (JSON lines; stdout carries only these, logs go to stderr):
//   out {"ev":"online","jid":FULLJID}    logged in, available presence sent (with
//        XEP-0115 caps; disco#info lists jingle:1, apps:rtp:1, apps:rtp:audio,
//        transports:ice-udp:1, apps:dtls:0, ...)
//   in  {"cmd":"call","to":FULLJID}      -> out {"ev":"session","sid","dir":"out"}
//   out {"ev":"incoming","sid","from","codecs":[{"name","clockrate","id","channels"}]}
//   in  {"cmd":"accept","sid"} | {"cmd":"decline","sid","reason":"busy|decline"}
//   in  {"cmd":"hangup","sid"}           -> session-terminate, reason success
//   out {"ev":"active","sid"}            session accepted and DTLS-SRTP up: the frames
//        of FRAMES_FILE go out, one RTP packet every 20 ms; then
//        {"ev":"sent","sid","frames":N}
//   out {"ev":"ended","sid","reason":CONDITION,"sent":N,"received":M}  (either side ended
//        it; "iq-error:CONDITION" when our session-initiate got an IQ error)
//   in  {"cmd":"raw","xml":"<message .../>"}   sent as is (jabber:client is added
//        as the default namespace when missing; RFC 7395 wants it on each stanza)
//   out {"ev":"jmi","xml":"..."}         each incoming <message> with a
//        urn:xmpp:jingle-message:0 child (XEP-0353; StanzaJS has no support)
//   in  {"cmd":"quit"} or stdin EOF      -> disconnect, exit 0 (SIGTERM too)
//   out {"ev":"error","what":"..."}       login failure or lost connection: exit 1
// Every received RTP packet whose payload type maps to speex/16000 (in the local
// or remote SDP) has its payload appended to OUT_FILE ({u16 BE length, bytes}),
// whatever its SSRC (we tap werift's DTLS transport: werift's router drops RTP
// whose SSRC was not announced with <source/>).  Every Jingle IQ sent or
// received, and the replies to them, is logged to stderr as raw XML.
//
// How StanzaJS gets werift: the jingle plugin reads client.config.jingle, and
// SessionManager calls config.createPeerConnection(session, opts) for each
// session (otherwise it uses a global RTCPeerConnection, which Node lacks;
// without hasRTCPeerConnection:true it also advertises no audio features).
//
// Transport-info ordering: werift gathers (and fires onicecandidate) inside
// setLocalDescription(), and StanzaJS sends session-initiate/-accept only after
// that resolves, so the raw pairing sends transport-info BEFORE
// session-initiate.  A StanzaJS receiver answers that with item-not-found
// <unknown-session/>, and the StanzaJS sender then ends its session ("gone").
// So by default we hold each session's local candidates until its
// session-initiate/-accept has been sent (as a browser would order them);
// --early-candidates keeps the raw werift+StanzaJS order.  Also see
// noCloseEvent() for the one other werift/StanzaJS mismatch we patch.
import {
  RTCPeerConnection, RTCRtpCodecParameters, MediaStreamTrack, MediaStream, RtpHeader, RtpPacket,
} from "werift";
import * as XMPP from "stanza";
import crypto from "node:crypto";
import fs from "node:fs";
import {
  emit, log, loopbackOnly, iceConfig, parseArgs, readFrames, FrameWriter, paced, readCommands,
} from "./lib.mjs";

const USAGE = "node stanza_peer.mjs --ws URL --jid user@domain/res --password PW " +
  "[--send FRAMES_FILE] [--recv OUT_FILE] [--codecs speex/16000/97,...] [--early-candidates] " +
  "[--accept-all] [--rtp-log FILE]";
const args = parseArgs(process.argv.slice(2), {
  ws: "string", jid: "string", password: "string", send: "string", recv: "string",
  codecs: "string", "early-candidates": "bool", "accept-all": "bool", "rtp-log": "string",
}, USAGE);
if (!args.ws || !args.jid || !args.password) {
  console.error(`usage: ${USAGE}`);
  process.exit(2);
}
const CODECS = (args.codecs || "speex/16000/97").split(",").map((c) => {
  const [name, rate, pt, ch] = c.split("/");
  return { name, clockRate: Number(rate), payloadType: Number(pt), channels: Number(ch || 1) };
});
const frames = args.send ? readFrames(args.send) : [];
const recv = new FrameWriter(args.recv);
const rtpLog = args["rtp-log"] ? [] : null;   // lines, written at quit
loopbackOnly();

// ----- werift as StanzaJS's RTCPeerConnection -----

function createPeerConnection(session) {
  const pc = new RTCPeerConnection({
    ...iceConfig(),
    codecs: {
      audio: CODECS.map((c) => new RTCRtpCodecParameters({
        mimeType: `audio/${c.name}`, clockRate: c.clockRate, channels: c.channels, payloadType: c.payloadType,
      })),
      video: [],
    },
    headerExtensions: { audio: [], video: [] },
  });
  if (!args["early-candidates"]) holdCandidates(pc, session);
  noCloseEvent(pc);
  pc.connectionStateChange.subscribe((s) => {
    log(`${session.sid}: pc connection ${s}`);
    if (s === "connected" && !media(session).dtlsUp) {
      media(session).dtlsUp = true;
      tapRtp(session, pc);
      maybeActive(session);
    }
  });
  return pc;
}

// See "Transport-info ordering" above.  werift calls this.onicecandidate?.(e),
// so an own accessor on the instance sees every event first.
function holdCandidates(pc, session) {
  let handler = null, released = false;
  const held = [];
  Object.defineProperty(pc, "onicecandidate", {
    configurable: true,
    get: () => (e) => (released ? handler?.(e) : held.push(e)),
    set: (h) => { handler = h; },
  });
  const send = session.send.bind(session);
  session.send = (action, data) => {
    send(action, data);
    if ((action === "session-initiate" || action === "session-accept") && !released) {
      released = true;
      for (const e of held.splice(0)) handler?.(e);
    }
  };
}

// werift's close() reports iceConnectionState "closed" to
// oniceconnectionstatechange, which browsers never do (W3C: close() fires no
// events).  StanzaJS reacts to "closed" with end() -- reason success, not
// silent -- from inside its own end(): every session would be reported as
// ended with "success" and answer the peer's session-terminate with one of
// its own.  So that one event is dropped.
function noCloseEvent(pc) {
  let handler = null;
  Object.defineProperty(pc, "oniceconnectionstatechange", {
    configurable: true,
    get: () => () => { if (pc.iceConnectionState !== "closed") handler?.(); },
    set: (h) => { handler = h; },
  });
}

// ----- per-session media -----

const sessions = new Map();       // sid -> {track, dtlsUp, active, ended, sender, sent, received}

function media(session) {
  const sid = typeof session === "string" ? session : session.sid;
  let m = sessions.get(sid);
  if (!m) {
    m = { track: new MediaStreamTrack({ kind: "audio" }), dtlsUp: false, active: false, ended: false, sent: 0, received: 0 };
    sessions.set(sid, m);
  }
  return m;
}

function speexPts(pc) {
  const pts = new Set();
  for (const d of [pc.localDescription, pc.remoteDescription]) {
    for (const m of (d?.sdp || "").matchAll(/^a=rtpmap:(\d+) speex\/16000/gim)) pts.add(Number(m[1]));
  }
  return pts;
}

// Received RTP, from the moment DTLS is up (the payload types are looked up
// per packet: the remote description may still be on its way).
function tapRtp(session, pc) {
  const m = media(session);
  let seen = 0;
  for (const dtls of new Set(pc.dtlsTransports)) {
    dtls.onRtp.subscribe((rtp) => {
      if (m.ended) return;
      const h = rtp.header;
      if (seen++ < 3) log(`${session.sid}: rtp in pt ${h.payloadType} seq ${h.sequenceNumber} ts ${h.timestamp} ssrc ${h.ssrc} m ${+h.marker}`);
      if (speexPts(pc).has(h.payloadType)) {
        const t = process.hrtime.bigint();   // first: the arrival time is what is measured
        m.received++;
        recv.write(rtp.payload);
        rtpLog?.push(JSON.stringify({
          t: String(t), sid: session.sid, from: session.peerID, seq: h.sequenceNumber,
          ts: h.timestamp, ssrc: h.ssrc, m: +h.marker, p: rtp.payload.toString("hex"),
        }));
      }
    });
  }
}

function maybeActive(session) {
  const m = media(session);
  if (m.active || m.ended || !m.dtlsUp || session.state !== "active") return;
  m.active = true;
  const pc = session.pc;
  log(`${session.sid}: active; speex payload types ${[...speexPts(pc)]}; DTLS ${pc.dtlsTransports[0]?.role}, ` +
      `ICE ${pc.iceTransports[0]?.connection?.iceControlling ? "controlling" : "controlled"}`);
  emit({ ev: "active", sid: session.sid });
  const ssrc = crypto.randomInt(1, 2 ** 32 - 1);
  let seq = crypto.randomInt(0, 65536), ts = crypto.randomInt(0, 2 ** 32);
  m.sender = paced(frames.length, 20, (i) => {
    if (m.ended) return;
    // werift's RTCRtpSender sets the negotiated payload type and its own SSRC.
    m.track.writeRtp(new RtpPacket(new RtpHeader({ ssrc, sequenceNumber: seq, timestamp: ts, marker: i === 0 }),
                                   Buffer.from(frames[i])));
    seq = (seq + 1) & 0xffff;
    ts = (ts + 320) >>> 0;
    m.sent++;
  });
  m.sender.done.then(() => { if (!m.ended) emit({ ev: "sent", sid: session.sid, frames: m.sent }); });
}

// ----- XMPP client -----

const client = XMPP.createClient({
  jid: args.jid,
  password: args.password,
  resource: args.jid.includes("/") ? args.jid.split("/").slice(1).join("/") : undefined,
  transports: { websocket: args.ws, bosh: false },
  useStreamManagement: false,       // raw stanzas would upset its counters
  autoReconnect: false,
  jingle: {
    hasRTCPeerConnection: true,
    advertiseAudio: true,
    advertiseVideo: false,
    advertiseFileTransfer: false,
    iceServers: [],
    createPeerConnection,
  },
});

let quitting = false, online = false;

async function quit(code, error) {
  if (quitting) return;
  quitting = true;
  if (error) emit({ ev: "error", what: error });
  for (const m of sessions.values()) m.sender?.cancel();
  try {
    client.jingle.endAllSessions("success", false);
  } catch (e) {
    log("endAllSessions:", e.message);
  }
  await Promise.race([client.disconnect().catch(() => {}), new Promise((r) => setTimeout(r, 2000))]);
  recv.close();
  if (rtpLog) fs.writeFileSync(args["rtp-log"], rtpLog.length ? rtpLog.join("\n") + "\n" : "");
  process.exit(code);
}

// Jingle IQ logging (raw XML): sets carrying urn:xmpp:jingle:1, and the
// results/errors that answer them (matched by id).
const jingleIds = new Set();
function logJingle(dir, xml) {
  if (!xml.startsWith("<iq")) return;
  const id = /\sid=["']([^"']*)["']/.exec(xml)?.[1];
  if (xml.includes("urn:xmpp:jingle:1")) {
    if (id) jingleIds.add(id);
    log(`jingle ${dir}: ${xml}`);
  } else if (id && jingleIds.has(id)) {
    jingleIds.delete(id);
    log(`jingle ${dir} reply: ${xml}`);
  }
}
client.on("raw:outgoing", (xml) => {
  logJingle("out", xml);
  if (xml.startsWith("<presence")) log(`presence out: ${xml}`);
});
client.on("raw:incoming", (xml) => {
  logJingle("in", xml);
  if (xml.startsWith("<message") && xml.includes("urn:xmpp:jingle-message:0")) emit({ ev: "jmi", xml });
});

client.on("session:started", async () => {
  await client.updateCaps();
  client.sendPresence({ legacyCapabilities: client.disco.getCaps() });
  online = true;
  log("disco features:", [...(client.disco.features.get("") || [])].join(" "));
  emit({ ev: "online", jid: client.jid });
});
client.on("auth:failed", () => quit(1, "authentication failed"));
client.on("stream:error", (e) => log("stream error", e));
client.on("--transport-disconnected", () => {
  if (!quitting) quit(1, online ? "connection lost" : "could not connect");
});

// Codecs of each incoming session-initiate, as parsed by StanzaJS.
const offeredCodecs = new Map();
client.on("iq:set:jingle", (iq) => {
  if (iq.jingle?.action !== "session-initiate") return;
  const app = iq.jingle.contents?.[0]?.application;
  offeredCodecs.set(iq.jingle.sid, (app?.codecs || []).map((c) => ({
    name: c.name, clockrate: c.clockRate, id: Number(c.id), channels: c.channels ?? 1,
  })));
});

client.on("jingle:incoming", (session) => {
  log(`${session.sid}: incoming from ${session.peerID}`);
  emit({ ev: "incoming", sid: session.sid, from: session.peerID, codecs: offeredCodecs.get(session.sid) || [] });
  offeredCodecs.delete(session.sid);
  if (args["accept-all"]) onCommand({ cmd: "accept", sid: session.sid }).catch((e) => log("accept failed:", e?.stack || e));
});
client.on("jingle:accepted", (session) => maybeActive(session));
client.on("jingle:terminated", (session, reason) => {
  const m = media(session);
  if (m.ended) return;
  m.ended = true;
  m.sender?.cancel();
  const condition = typeof reason === "string" ? reason : reason?.condition;
  log(`${session.sid}: ended (${condition})`);
  emit({ ev: "ended", sid: session.sid, reason: condition || "unknown", sent: m.sent, received: m.received });
});
client.jingle.on("sessionState", (session, state) => { if (state === "active") maybeActive(session); });
client.jingle.on("log", (level, msg, ...rest) => {
  if (level !== "debug") log(`jingle ${level}: ${msg}`, rest.length ? JSON.stringify(rest).slice(0, 500) : "");
});

// StanzaJS keeps a session "pending" forever when its session-initiate gets
// an IQ error (e.g. service-unavailable from an offline resource) or times
// out.  XEP-0166 treats that as the end of the session, so we end it
// (silently) and report the reason as "iq-error:CONDITION".
const processJingle = client.jingle.process.bind(client.jingle);
client.jingle.process = (req) => {
  processJingle(req);
  if (req.type !== "error" || req.jingle?.action !== "session-initiate") return;
  const s = client.jingle.sessions[req.jingle.sid];
  if (s && s.state !== "ended") s.end({ condition: `iq-error:${req.error?.condition || "unknown"}` }, true);
};

function session(sid) {
  const s = client.jingle.sessions[sid];
  if (!s) throw new Error(`no session ${sid}`);
  return s;
}

async function onCommand(cmd) {
  switch (cmd.cmd) {
    case "call": {
      const sid = crypto.randomUUID();
      const m = media(sid);
      const s = client.jingle.createMediaSession(cmd.to, sid, new MediaStream([m.track]));
      emit({ ev: "session", sid, dir: "out" });
      await s.start();
      return;
    }
    case "accept": {
      const s = session(cmd.sid);
      const m = media(s);
      await s.addTrack(m.track, new MediaStream([m.track]));
      await s.accept();
      return;
    }
    case "decline": return session(cmd.sid).end(cmd.reason || "decline");
    case "hangup": return session(cmd.sid).end(cmd.reason || "success");
    case "raw": {
      let xml = String(cmd.xml).trim();
      if (!/^<[^>\s]+[^>]*\sxmlns=/.test(xml.slice(0, xml.indexOf(">") + 1))) {
        xml = xml.replace(/^<([^\s/>]+)/, '<$1 xmlns="jabber:client"');
      }
      log(`raw out: ${xml}`);
      client.transport.write(xml);
      return;
    }
    case "quit": return quit(0);
    default: log("unknown command", cmd);
  }
}

process.on("SIGTERM", () => quit(0));
process.on("SIGINT", () => quit(0));
process.on("unhandledRejection", (e) => log("unhandled rejection:", e?.stack || e));
readCommands(onCommand, () => quit(0));
client.connect();
