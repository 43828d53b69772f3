#!/usr/bin/env node
// werift_peer.mjs: a raw ICE + DTLS-SRTP RTP endpoint for the tests (no
// signalling server).  It stands for a third-party WebRTC-style peer of our C
// media engine (libnice + OpenSSL + libsrtp2), so it follows the standards:
// RFC 8445 ICE (full agent, host candidates), RFC 5763/5764 DTLS-SRTP with
// certificate fingerprints, RFC 5761 rtcp-mux, RFC 3550 RTP.
//
//   node werift_peer.mjs --pt 97 --send FRAMES_FILE --recv OUT_FILE
//        [--setup actpass|active|passive] [--controlling|--controlled]
//        [--connect-timeout SECONDS]            (default 30)
//        [--sdes] [--no-rtcp-mux]               (unsupported by werift: exit 2)
//
// Protocol (JSON lines; stdout carries only these, logs go to stderr):
//   out {"ev":"local","ufrag","pwd","fingerprint":{"hash":"sha-256","value"},
//        "setup","candidates":[{foundation,component,protocol,priority,ip,port,type}]}
//   in  {"cmd":"remote","ufrag","pwd","fingerprint":{hash,value},"setup","candidates":[...]}
//        setup is the REMOTE side's role: "passive" -> we send the ClientHello;
//        "active" -> we wait for it; "actpass" -> we take active unless we were
//        started with --setup passive.
//   out {"ev":"connected"}   ICE + DTLS up; then the frames go out, one per RTP
//        packet every 20 ms (timestamp +320, random SSRC/seq/timestamp start,
//        marker on the first), then {"ev":"sent","frames":N}
//   in  {"cmd":"stop"} or stdin EOF or SIGTERM -> {"ev":"done","sent":N,"received":M}, exit 0
//   out {"ev":"error","what":"..."} and exit 1 on ICE/DTLS failure or timeout.
// Every received RTP packet with payload type --pt has its payload appended to
// OUT_FILE as {u16 big-endian length, bytes}, in arrival order, whatever its
// SSRC (we tap the DTLS transport's decrypted RTP: werift's own router drops
// packets whose SSRC the remote SDP did not announce, and ours announces none).
//
// How the SDP is built.  RTCPeerConnection is werift's supported API (its ICE
// and DTLS transport classes are not meant to be driven on their own), so we
// keep it and feed it SDP:
//  1. werift is always the offerer.  Config: one audio codec
//     speex/16000/1 with payload type --pt, no header extensions, no STUN/TURN,
//     host candidates on 127.0.0.1 only (lib.mjs).  One sendrecv audio
//     transceiver; createOffer() + setLocalDescription(), wait for gathering.
//     werift's offer is: a=group:BUNDLE 0, m=audio 9 UDP/TLS/RTP/SAVPF PT,
//     a=candidate lines, a=end-of-candidates, a=ice-ufrag/ice-pwd,
//     a=fingerprint:sha-256 (upper-case hex with colons), a=setup:actpass,
//     a=mid:0, a=rtcp-mux, a=ssrc:N cname:..., a=rtpmap:PT speex/16000.
//     The "local" event is read out of that SDP ("setup" is --setup, default
//     actpass: werift can take either role, the answer decides).
//  2. From the "remote" command we write the answer werift applies with
//     setRemoteDescription({type:"answer"}):
//        v=0
//        o=- <random> 2 IN IP4 127.0.0.1
//        s=-
//        t=0 0
//        m=audio 9 UDP/TLS/RTP/SAVPF PT
//        c=IN IP4 0.0.0.0
//        a=mid:0
//        a=sendrecv
//        a=ice-ufrag:<ufrag>
//        a=ice-pwd:<pwd>
//        a=fingerprint:<hash> <value>
//        a=setup:active|passive          (remote role, resolved as above)
//        a=rtcp-mux
//        a=rtpmap:PT speex/16000
//        a=candidate:<foundation> <component> <protocol> <priority> <ip> <port> typ <type>
//                                        (UDP, component 1 only: rtcp-mux)
//        a=end-of-candidates
//     No BUNDLE group (one m-line), no a=ssrc.  werift then sets its DTLS role
//     opposite to the answer's a=setup and starts ICE + DTLS.
//  3. ICE role: as offerer werift is controlling; --controlled flips it just
//     before the answer is applied.  A role conflict is repaired by werift
//     (487 + tie-breaker, RFC 8445 7.3.1.1).
import { RTCPeerConnection, RTCRtpCodecParameters, MediaStreamTrack, RtpHeader, RtpPacket } from "werift";
import crypto from "node:crypto";
import {
  emit, log, loopbackOnly, iceConfig, parseArgs, readFrames, FrameWriter, paced,
  readCommands, withTimeout,
} from "./lib.mjs";

const USAGE = "node werift_peer.mjs --pt 97 --send FRAMES_FILE --recv OUT_FILE " +
  "[--setup actpass|active|passive] [--controlling|--controlled] [--connect-timeout S]";
const args = parseArgs(process.argv.slice(2), {
  pt: "string", send: "string", recv: "string", setup: "string", controlling: "bool",
  controlled: "bool", sdes: "bool", "no-rtcp-mux": "bool", "connect-timeout": "string",
}, USAGE);
if (args.sdes) {
  console.error("werift_peer: --sdes is not supported: werift implements DTLS-SRTP only (no a=crypto / SDES)");
  process.exit(2);
}
if (args["no-rtcp-mux"]) {
  console.error("werift_peer: --no-rtcp-mux is not supported: werift requires rtcp-mux (rtcpMuxPolicy 'require' only)");
  process.exit(2);
}
const PT = Number(args.pt ?? 97);
const SETUP = args.setup ?? "actpass";
if (!["actpass", "active", "passive"].includes(SETUP) || !(PT >= 0 && PT <= 127) ||
    (args.controlling && args.controlled)) {
  console.error(`bad arguments\nusage: ${USAGE}`);
  process.exit(2);
}
const CONTROLLED = !!args.controlled;
const CONNECT_TIMEOUT_MS = Number(args["connect-timeout"] ?? 30) * 1000;
const frames = args.send ? readFrames(args.send) : [];
const recv = new FrameWriter(args.recv);

loopbackOnly();
const pc = new RTCPeerConnection({
  ...iceConfig(),
  codecs: {
    audio: [new RTCRtpCodecParameters({ mimeType: "audio/speex", clockRate: 16000, channels: 1, payloadType: PT })],
    video: [],
  },
  headerExtensions: { audio: [], video: [] },
});
const track = new MediaStreamTrack({ kind: "audio" });
pc.addTransceiver(track, { direction: "sendrecv" });

let sent = 0, state = "gathering", sender = null, connectTimer = null;

async function finish(code, error) {
  if (state === "finished") return;
  state = "finished";
  clearTimeout(connectTimer);
  sender?.cancel();
  if (error) emit({ ev: "error", what: error });
  await withTimeout(pc.close(), 3000, "close").catch((e) => log("close:", e.message));
  recv.close();
  if (!error) emit({ ev: "done", sent, received: recv.count });
  process.exit(code);
}

function sdpLines(sdp, prefix) {
  return sdp.split(/\r?\n/).filter((l) => l.startsWith(prefix)).map((l) => l.slice(prefix.length));
}

function localParams(sdp) {
  const [hash, value] = sdpLines(sdp, "a=fingerprint:")[0].split(" ");
  const candidates = sdpLines(sdp, "a=candidate:").map((c) => {
    const f = c.split(" ");
    return {
      foundation: f[0], component: Number(f[1]), protocol: f[2].toLowerCase(),
      priority: Number(f[3]), ip: f[4], port: Number(f[5]), type: f[7],
    };
  }).filter((c) => c.ip === "127.0.0.1" && c.protocol === "udp");
  return {
    ufrag: sdpLines(sdp, "a=ice-ufrag:")[0], pwd: sdpLines(sdp, "a=ice-pwd:")[0],
    fingerprint: { hash, value }, setup: SETUP, candidates,
  };
}

function remoteSetup(theirs) {
  if (theirs === "actpass") return SETUP === "passive" ? "active" : "passive";
  if (theirs !== "active" && theirs !== "passive") throw new Error(`bad remote setup ${theirs}`);
  if (theirs === SETUP) throw new Error(`DTLS role conflict: both sides ${theirs}`);
  return theirs;
}

function answerSdp(r) {
  const lines = [
    "v=0", `o=- ${crypto.randomInt(1, 2 ** 31)} 2 IN IP4 127.0.0.1`, "s=-", "t=0 0",
    `m=audio 9 UDP/TLS/RTP/SAVPF ${PT}`, "c=IN IP4 0.0.0.0", "a=mid:0", "a=sendrecv",
    `a=ice-ufrag:${r.ufrag}`, `a=ice-pwd:${r.pwd}`,
    `a=fingerprint:${r.fingerprint.hash} ${r.fingerprint.value}`,
    `a=setup:${remoteSetup(r.setup)}`, "a=rtcp-mux", `a=rtpmap:${PT} speex/16000`,
  ];
  for (const c of r.candidates || []) {
    if (Number(c.component) !== 1 || String(c.protocol || "udp").toLowerCase() !== "udp") continue;
    let l = `a=candidate:${c.foundation} 1 udp ${c.priority} ${c.ip} ${c.port} typ ${c.type || "host"}`;
    if (c.raddr) l += ` raddr ${c.raddr} rport ${c.rport}`;
    lines.push(l);
  }
  lines.push("a=end-of-candidates");
  return lines.join("\r\n") + "\r\n";
}

function startSending() {
  const ssrc = crypto.randomInt(1, 2 ** 32 - 1);
  let seq = crypto.randomInt(0, 65536), ts = crypto.randomInt(0, 2 ** 32);
  sender = paced(frames.length, 20, (i) => {
    const header = new RtpHeader({ payloadType: PT, ssrc, sequenceNumber: seq, timestamp: ts, marker: i === 0 });
    track.writeRtp(new RtpPacket(header, Buffer.from(frames[i])));
    seq = (seq + 1) & 0xffff;
    ts = (ts + 320) >>> 0;
    sent++;
  });
  sender.done.then(() => { if (state === "connected") emit({ ev: "sent", frames: sent }); });
}

let rtpSeen = 0;
function onRtp(rtp) {
  const h = rtp.header;
  if (rtpSeen++ < 3) log(`rtp in: pt ${h.payloadType} seq ${h.sequenceNumber} ts ${h.timestamp} ssrc ${h.ssrc} m ${+h.marker} len ${rtp.payload.length}`);
  if (h.payloadType === PT) recv.write(rtp.payload);
}

async function onRemote(r) {
  if (state !== "waiting") throw new Error(`remote in state ${state}`);
  state = "connecting";
  const sdp = answerSdp(r);
  log("remote answer SDP:\n" + sdp);
  if (CONTROLLED) for (const t of pc.iceTransports) t.connection.iceControlling = false;
  connectTimer = setTimeout(() => finish(1, "ICE/DTLS connect timeout"), CONNECT_TIMEOUT_MS);
  await pc.setRemoteDescription({ type: "answer", sdp });
  const seen = new Set();
  for (const t of pc.getTransceivers()) {
    const dtls = t.receiver.dtlsTransport;
    if (seen.has(dtls)) continue;
    seen.add(dtls);
    dtls.onRtp.subscribe(onRtp);
  }
}

pc.iceConnectionStateChange.subscribe((s) => {
  log("ice:", s);
  if (s === "failed" && state !== "finished") finish(1, "ICE failed");
});
pc.connectionStateChange.subscribe((s) => {
  log("connection:", s);
  if (s === "connected" && state === "connecting") {
    state = "connected";
    clearTimeout(connectTimer);
    const t = pc.iceTransports[0];
    log(`ICE ${t?.connection?.iceControlling ? "controlling" : "controlled"}, DTLS ${pc.dtlsTransports[0]?.role}`);
    emit({ ev: "connected" });
    startSending();
  } else if (s === "failed" && state !== "finished") {
    finish(1, "ICE or DTLS failed");
  }
});

process.on("SIGTERM", () => finish(0));
process.on("SIGINT", () => finish(0));
process.on("unhandledRejection", (e) => { log(e?.stack || e); finish(1, String(e?.message || e)); });
process.on("uncaughtException", (e) => { log(e?.stack || e); finish(1, String(e?.message || e)); });

const offer = await pc.createOffer();
await pc.setLocalDescription(offer);
await withTimeout(new Promise((resolve) => {
  if (pc.iceGatheringState === "complete") return resolve();
  pc.iceGatheringStateChange.subscribe((s) => s === "complete" && resolve());
}), 10000, "ICE gathering").catch((e) => finish(1, e.message));
const local = localParams(pc.localDescription.sdp);
log("local offer SDP:\n" + pc.localDescription.sdp);
if (state === "gathering") {
  state = "waiting";
  emit({ ev: "local", ...local });
  readCommands((cmd) => {
    if (cmd.cmd === "remote") return onRemote(cmd).catch((e) => finish(1, `remote: ${e.message}`));
    if (cmd.cmd === "stop") return finish(0);
    log("unknown command", cmd);
  }, () => finish(0));
}
