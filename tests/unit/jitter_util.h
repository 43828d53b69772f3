/* The jitter buffer tests' script runner (test_jitter.c, test_jitter_edge.c):
 * packets with an arrival time, ticks every 20 ms, the RTMP output read
 * back as frame numbers.  Packet i nominally arrives at 20 i ms with RTP
 * timestamp TS0 + 320 i and sequence number SEQ0 + i; each frame carries
 * its number. */
#ifndef RX_JITTER_UTIL_H
#define RX_JITTER_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct rtp2rtmp;
struct repack_stats;

#define SSRC1 0x11111111u
#define SSRC2 0x22222222u
#define SEQ0 65500u            /* wraps at packet 36 */
#define TS0 0xffff0000u        /* wraps at packet 205 */
#define MAX_EV 6000
#define MAX_OUT 6000

struct jb_pkt {
	uint32_t at, id, ssrc, ts;
	uint16_t seq;
	uint8_t frames;            /* frames in the packet: id, id + 1, ... */
};

extern struct jb_pkt jb_ev[MAX_EV];
extern unsigned jb_nev;

extern struct jout {
	uint32_t ms[MAX_OUT], id[MAX_OUT];
	unsigned first[MAX_OUT];   /* of each message: its first frame's index */
	uint32_t when[MAX_OUT];    /* of each message: the clock it was sent at */
	bool by_tick[MAX_OUT];     /* of each message: sent by repack_rx_tick, not _put */
	unsigned n, msgs, max_frames;
	bool bad;                  /* a message that does not walk, or time went back */
} jb_out;

size_t jb_mkframe(uint8_t *p, uint32_t id);
void jb_add(uint32_t at, uint32_t id, uint32_t ssrc, uint16_t seq, uint32_t ts);
void jb_stream(uint32_t first, uint32_t last);
struct jb_pkt *jb_find(uint32_t id);
void jb_drop(uint32_t id);
/* Feed the script, ticking every tick_ms at phase until 400 ms after the
 * last arrival, and on while frames are held (10 s at most). */
int jb_run(struct rtp2rtmp *r, uint32_t phase, uint32_t tick_ms);
/* The output must be the frames in "0-49,51,53-60" order, frame i at RTMP
 * time 20 i, or 20 i + d for a range written "a-b@d". */
int jb_expect(const char *ranges);
/* Every message was sent by the repack_rx_put of the last of its frames
 * or of an older one, whichever came last: nothing waited for a tick. */
int jb_expect_at_once(void);
/* A fresh object with fpp, jb_run at phase, stats, then jb_expect(want). */
int jb_script(uint8_t fpp, uint32_t phase, const char *want, struct repack_stats *st);

#endif
