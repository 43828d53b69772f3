/* Speex repacketization between RTMP audio messages and RTP (RFC 5574),
 * one object per direction per call.  All memory is taken at creation:
 * pushing, putting and ticking allocate nothing (not even inside speexdsp)
 * and take no lock.  Each object belongs to one thread, the media thread.
 *
 * RTMP -> RTP (repack.c): repack_tx_push() takes one RTMP audio message
 * (the FLV tag byte and a Speex payload of 1..32 frames, bit-packed or
 * byte-padded), walks it with speex_walk() and sends each frame as its own
 * RTP packet.  RTP timestamps are derived from the RTMP milliseconds, so
 * silence gaps keep their length:
 *   - the first frame of the first message is media time 0 (rtp_tx adds
 *     the random offset), and the RTMP time m0 of that message is the
 *     anchor: media time A = 0 at RTMP time M = m0;
 *   - frames of one message are 320 apart; "next" is the slot after the
 *     previous frame sent (last + 320);
 *   - for a later message at RTMP time m, step = m - (previous message's
 *     m) as a signed 32-bit number, so 2^32 ms wraps and extended
 *     timestamps need nothing special;
 *   - step < 0 or step > 10000 ms: the RTMP clock jumped.  The message
 *     continues at "next", with the marker bit, and re-anchors
 *     (A = next, M = m);
 *   - otherwise ideal = A + 16 * (m - M) (mod 2^32) and d = ideal - next.
 *     d >= 160 (half a frame): a gap.  The message starts k = (d + 160) /
 *     320 frames after "next" (the nearest whole frame; rtp_tx sets the
 *     marker).  d < 160: the message starts at "next"; if d < -160 (the
 *     RTMP clock runs behind the frames, e.g. a sender that stamps
 *     messages of several frames 20 ms apart) A moves on by whole frames
 *     until |d| <= 160, so that the next real gap is measured from where
 *     the frames are.
 *   So every RTP timestamp is on the 320 grid of the first frame, never
 *   goes backwards, and jitter in the RTMP clock of less than half a frame
 *   never makes a gap.
 *
 * RTP -> RTMP (repack_rx.c, repack_play.c): repack_rx_put() splits each
 * RTP payload into frames and stores them in a speexdsp jitter buffer.  A
 * frame in order (the next after the last one out, nothing missing
 * between them) goes out at once, from repack_rx_put(), with any held
 * frames that then follow it; on a clean path nothing waits.  A frame
 * behind a missing one waits: repack_rx_tick(), called every 20 ms, runs
 * speexdsp's 20 ms slots, gives up on the missing frame when speexdsp's
 * adaptive delay has passed, and sends what follows.  Frames go out in
 * RTMP messages of fpp frames (joined with speex_pack() when fpp > 1; a
 * shorter one when a gap cuts it).  Passthrough: no decoder, so no
 * concealment; a lost frame is skipped, and a frame that comes after its
 * slot but before any later frame was sent still goes out.
 * RTMP timestamps start at 0 for the first frame out.  Within a stream
 * the next frame's is the last one's plus (its RTP timestamp - the last
 * one's) / 16, so lost frames and silence keep their length.  After an
 * SSRC change or a confirmed timestamp jump (more than 2 s from the
 * playout point, twice in sequence), or when the RTP step is under a frame
 * or further ahead than the ticks since the last frame out allow (1 s of
 * slack), it is the last one's plus 20 ms per tick slot since then (at
 * least 20).  So they only go forward, by 20 ms or more per frame.  The
 * speexdsp settings and the delay they give are in repack_rx.c.
 *
 * Errors are negative errno values: -EBADMSG for a Speex payload that does
 * not walk, -E2BIG for more than SPEEX_MAX_FRAMES frames in one message,
 * -EPROTONOSUPPORT for a message that is not Speex, -ENODATA for an empty
 * one, -EINVAL for bad arguments, -ENOMEM. */
#ifndef RX_REPACK_H
#define RX_REPACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct rtp_hdr;
struct rtp_tx;

#define REPACK_FRAME_MAX 256   /* bytes of one frame; longer frames are dropped */
#define REPACK_MAX_FPP 8       /* frames per RTMP message, RTP -> RTMP */
#define REPACK_POOL 100        /* frames the jitter buffer may hold (2 s) */

/* Counters, per direction.  A field that does not apply stays 0. */
struct repack_stats {
	uint64_t msgs;        /* RTMP messages in (tx) or out (rx) */
	uint64_t frames_in;   /* frames walked: tx from messages, rx from packets */
	uint64_t frames_out;  /* frames sent: tx RTP packets, rx frames in messages */
	uint64_t gaps;        /* empty 20 ms slots between two frames out (silence or loss) */
	uint64_t lost;        /* rx: sequence numbers never played (lost on the way, or
	                       * late: "late" counts those that came after all) */
	uint64_t late;        /* rx: frames that came after a later frame was sent (or
	                       * from the SSRC before the last change), dropped */
	uint64_t dups;        /* rx: packets seen before, dropped */
	uint64_t reordered;   /* rx: packets older than the newest one seen (in time or late) */
	uint64_t dropped;     /* frames thrown away otherwise: over REPACK_FRAME_MAX, pool
	                       * full, a timestamp jump not yet confirmed, buffer reset */
	uint64_t bad;         /* messages or packets refused: not Speex, bits that do not walk */
	uint64_t resyncs;     /* tx: RTMP clock jumps; rx: SSRC changes, timestamp jumps */
	uint32_t delay_ms;    /* rx: time the last frame out spent in the buffer (out -
	                       * arrival: 0 in order; with fpp > 1 the message waits for
	                       * its last frame) */
	uint32_t delay_max_ms;
	uint32_t held;        /* rx: frames in the buffer or waiting for fpp */
};

/* RTMP -> RTP */
struct rtmp2rtp;
/* One RTP packet: h as built (h->payload is not set), pkt its bytes; both
 * valid only during the call.  The object may be freed from here: the
 * rest of the message is then not sent. */
typedef void (repack_out_h)(const struct rtp_hdr *h, const uint8_t *pkt, size_t len, void *arg);

/* pt 0..127; ssrc 0 picks a random one (sequence and timestamp offset are
 * always random, RFC 3550 5.1). */
int repack_tx_alloc(struct rtmp2rtp **tp, uint8_t pt, uint32_t ssrc);
/* One RTMP audio message body at RTMP time rtmp_ts (ms).  Calls outh once
 * per frame, in order.  Returns the number of packets sent, or an error
 * (nothing sent). */
int repack_tx_push(struct rtmp2rtp *t, uint32_t rtmp_ts, const uint8_t *body, size_t len,
		   repack_out_h *outh, void *arg);
/* The RTP sender state: SSRC, next sequence number (for RTCP). */
const struct rtp_tx *repack_tx_rtp(const struct rtmp2rtp *t);
void repack_tx_stats(const struct rtmp2rtp *t, struct repack_stats *st);

/* RTP -> RTMP */
struct rtp2rtmp;
/* One RTMP audio message: body is the tag byte and the Speex payload,
 * valid only during the call.  The object may be freed from here. */
typedef void (repack_msg_h)(uint32_t rtmp_ts, const uint8_t *body, size_t len, void *arg);

/* tag: the FLV byte to send (FLV_SPEEX_FLASH 0xB2 or FLV_SPEEX_FFMPEG 0xB6);
 * fpp: frames per RTMP message, 1..REPACK_MAX_FPP (0 means 1). */
int repack_rx_alloc(struct rtp2rtmp **rp, uint8_t tag, unsigned fpp);
/* One RTP packet of the Speex payload type, as rtp_parse() gave it, that
 * arrived at arrival_ms (the clock repack_rx_tick() is given).  Frames
 * that now follow the last one out in order go out at once through msgh
 * (as from repack_rx_tick); with msgh NULL they wait for the tick instead.
 * Returns the number of messages sent (0 also for a duplicate or late
 * packet, which is counted and dropped), -EBADMSG when the payload is not
 * Speex frames. */
int repack_rx_put(struct rtp2rtmp *r, const struct rtp_hdr *h, uint32_t arrival_ms,
		  repack_msg_h *msgh, void *arg);
/* Call every 20 ms (more often is fine; a late call runs the slots it
 * missed, up to 1 s): gives up on missing frames and sends what follows
 * them.  Returns the number of messages sent. */
int repack_rx_tick(struct rtp2rtmp *r, uint32_t now_ms, repack_msg_h *msgh, void *arg);
void repack_rx_stats(const struct rtp2rtmp *r, struct repack_stats *st);

#endif
