// Shared helpers of the test peers (werift_peer.mjs, stanza_peer.mjs).
//
// - stdout carries JSON lines only (emit()); console.log is sent to stderr so
//   that a library's chatter can never corrupt the protocol.
// - loopbackOnly(): werift gathers a host candidate for every address that
//   os.networkInterfaces() lists and skips loopback.  The tests run on
//   127.0.0.1 only, so we hide every interface and give werift 127.0.0.1 as
//   its one "additional host address" (see iceConfig()).  werift's ESM build
//   does `import * as os from "node:os"`, so the patched function has to be
//   pushed into the ESM namespace with syncBuiltinESMExports().
// - Frames files: repeated { u16 big-endian length, that many bytes }.
import fs from "node:fs";
import os from "node:os";
import readline from "node:readline";
import { syncBuiltinESMExports } from "node:module";

console.log = (...a) => console.error(...a);
console.info = console.log;

export function emit(obj) {
  process.stdout.write(JSON.stringify(obj) + "\n");
}

export function log(...a) {
  console.error(`[${new Date().toISOString().slice(11, 23)}]`, ...a);
}

export function loopbackOnly() {
  os.networkInterfaces = () => ({});
  syncBuiltinESMExports();
}

// werift RTCPeerConnection options for loopback-only ICE: host candidates on
// 127.0.0.1 only (no STUN/TURN, no IPv6, no mDNS: werift never obfuscates
// host candidates with mDNS names).
export function iceConfig() {
  return {
    iceServers: [],
    iceUseIpv6: false,
    iceUseIpv4: true,
    iceAdditionalHostAddresses: ["127.0.0.1"],
    iceInterfaceAddresses: { udp4: "127.0.0.1" },
  };
}

// Minimal --flag / --key value parser.  spec: {name: "bool" | "string"}.
export function parseArgs(argv, spec, usage) {
  const out = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const name = a.replace(/^--/, "");
    if (!a.startsWith("--") || !(name in spec)) {
      console.error(`unknown argument: ${a}\nusage: ${usage}`);
      process.exit(2);
    }
    if (spec[name] === "bool") out[name] = true;
    else if (i + 1 < argv.length) out[name] = argv[++i];
    else {
      console.error(`--${name} needs a value\nusage: ${usage}`);
      process.exit(2);
    }
  }
  return out;
}

export function readFrames(path) {
  const buf = fs.readFileSync(path);
  const frames = [];
  for (let off = 0; off + 2 <= buf.length; ) {
    const n = buf.readUInt16BE(off);
    if (off + 2 + n > buf.length) throw new Error(`${path}: truncated frame at ${off}`);
    frames.push(buf.subarray(off + 2, off + 2 + n));
    off += 2 + n;
  }
  return frames;
}

// Appends frames to a file, synchronously (the file is complete the moment
// the peer reports "done").
export class FrameWriter {
  constructor(path) {
    this.fd = path ? fs.openSync(path, "w") : null;
    this.count = 0;
  }
  write(payload) {
    this.count++;
    if (this.fd === null) return;
    const head = Buffer.alloc(2);
    head.writeUInt16BE(payload.length);
    fs.writeSync(this.fd, Buffer.concat([head, payload]));
  }
  close() {
    if (this.fd !== null) fs.closeSync(this.fd);
    this.fd = null;
  }
}

// Calls fn(i) for i = 0..n-1 every `ms` milliseconds, on a fixed schedule
// (no drift).  Returns a promise that resolves after the last call, and a
// cancel function.
export function paced(n, ms, fn) {
  let timer = null, cancelled = false;
  const start = performance.now();
  const done = new Promise((resolve) => {
    let i = 0;
    const tick = () => {
      if (cancelled) return resolve(i);
      if (i >= n) return resolve(i);
      fn(i++);
      timer = setTimeout(tick, Math.max(0, start + i * ms - performance.now()));
    };
    tick();
  });
  return { done, cancel: () => { cancelled = true; clearTimeout(timer); } };
}

// JSON-lines commands from stdin.  onCmd(obj) for each line; onEnd() at EOF.
export function readCommands(onCmd, onEnd) {
  const rl = readline.createInterface({ input: process.stdin });
  rl.on("line", (line) => {
    if (!line.trim()) return;
    let obj;
    try {
      obj = JSON.parse(line);
    } catch (e) {
      log("bad command line:", line);
      return;
    }
    Promise.resolve()
      .then(() => onCmd(obj))
      .catch((e) => log("command failed:", obj.cmd, e?.stack || e));
  });
  rl.on("close", () => onEnd());
}

export function withTimeout(promise, ms, what) {
  let t;
  return Promise.race([
    promise,
    new Promise((_, reject) => { t = setTimeout(() => reject(new Error(`${what}: timeout`)), ms); }),
  ]).finally(() => clearTimeout(t));
}
