/* Internal API of RTP -> RTMP (repack_rx.c: frames in; repack_play.c:
 * frames out).  Not for other modules. */
#ifndef RX_REPACK_INT_H
#define RX_REPACK_INT_H

#include <speex/speex_jitter.h>
#include "repack.h"
#include "speex.h"

#define RP_FRAME SPEEX_WB_SAMPLES   /* RTP clock units per frame */
#define RP_SLOT_MS 20
#define RP_IDLE_SLOTS 20             /* empty slots in a row that reset the buffer */
#define RP_SEQ_JUMP 3000             /* RFC 3550 A.1 MAX_DROPOUT */
#define RP_CATCHUP 50                /* slots one tick may run: 1 s */

/* One frame.  Owned by speexdsp while jb is set (also after it was sent
 * ahead of its slot, until speexdsp returns or drops it), by us while busy
 * (in a message being joined) or late (behind speexdsp's pointer, waiting
 * to be sent); free when none is set. */
struct rp_slot {
	struct rtp2rtmp *r;
	struct rp_slot *next;   /* free list */
	bool jb;                /* speexdsp holds it */
	bool busy;              /* in the message being joined */
	bool late;              /* came after its slot: goes out in order or at the next */
	bool played;            /* sent, or given up (late) */
	bool mark;              /* the shared mark speexdsp gets for late frames */
	uint16_t len;
	uint32_t ts, seq, arrival, epoch;   /* seq extended */
	uint8_t data[REPACK_FRAME_MAX];
};

struct rtp2rtmp {
	JitterBuffer *jb;
	uint8_t tag;
	unsigned fpp;
	/* speexdsp, mirrored (repack_rx.c says why) */
	bool jb_reset;           /* it waits for a packet to sync on */
	unsigned jb_lost;        /* gets in a row without a frame (>= its own count) */
	unsigned in_jb;          /* entries it holds, marks included */
	unsigned hold;           /* slots left of an insertion longer than one */
	uint32_t grid;           /* a timestamp on the stream's 320 grid */
	bool have_top;           /* top is set (cleared by a new stream) */
	uint32_t top;            /* the newest timestamp held in this stream */
	struct rp_slot *free;
	/* the source */
	bool have_src, have_old, have_seq, far_pending;
	uint32_t ssrc, old_ssrc;
	uint32_t max_seq;        /* extended */
	uint64_t seen;           /* bit i: max_seq - i arrived */
	uint32_t bad_seq, far_seq;
	uint32_t epoch;          /* one per stream: SSRC change or timestamp jump */
	/* playout */
	bool ticking, have_out;
	uint32_t next_tick, slot_no;
	uint32_t out_ms, out_rtp, out_slot, out_seq, out_epoch;   /* the last frame out */
	struct rp_slot *pend[REPACK_MAX_FPP];
	unsigned npend;
	uint32_t pend_ms;
	struct repack_stats st;
	struct rp_slot mark;
	struct rp_slot pool[REPACK_POOL];
	uint8_t msg[1 + REPACK_MAX_FPP * REPACK_FRAME_MAX];
};

uint32_t repack_rx_pointer(const struct rtp2rtmp *r);
void repack_rx_reset_jb(struct rtp2rtmp *r);
void repack_rx_release(struct rtp2rtmp *r, struct rp_slot *s);
struct rp_slot *repack_rx_slot_of(void *data);
/* Whether a frame of the current stream at ts would come after the last
 * frame out, so that it can still be sent. */
bool repack_rx_too_late(const struct rtp2rtmp *r, uint32_t epoch, uint32_t ts);
/* Send at once every held frame that follows the last one out in order
 * (repack_play.c); hint: the frame just put, checked first.  False if the
 * object was freed. */
bool repack_rx_send_ready(struct rtp2rtmp *r, struct rp_slot *hint, uint32_t now,
			  repack_msg_h *msgh, void *arg);

#endif
