/* RTP -> RTMP, frames in: RTP payloads into a speexdsp jitter buffer
 * (repack.h; repack_play.c takes them out, at once when they are in order,
 * and says why that is done in front of speexdsp rather than through it).
 *
 * speexdsp settings, for passthrough of 20 ms frames.  Its delay is now
 * only how long a frame waits behind a missing one before the missing one
 * is given up; frames in order do not wait for it:
 *   jitter_buffer_init(320), JITTER_BUFFER_SET_DELAY_STEP 320 and
 *   JITTER_BUFFER_SET_CONCEALMENT_SIZE 320: the buffer grows and shrinks
 *   by whole frames only, since a frame cannot be cut;
 *   JITTER_BUFFER_SET_MARGIN 0: no extra frame of delay on a clean path;
 *   JITTER_BUFFER_SET_MAX_LATE_RATE 4 and LATE_COST 0 (automatic):
 *   speexdsp's defaults.  Since a frame that is late but still in order
 *   goes out anyway (repack_play.c), only reordering beyond the current
 *   delay loses frames, and the defaults trade that against delay well.
 *   Measured with 20 ms ticks at phase 10 (repack_rx arrivals scripted,
 *   5000 frames): arrival to message mean / p99 / max in ms, and in
 *   brackets when every frame still waited for its tick:
 *     clean path                      0 / 0 / 0       (10 / 10 / 10), none lost
 *     sender clock 1 % / 0.1 % slow   0 / 0 / 0       (10 / 19 / 19), none lost
 *     sender clock 1 % fast           0 / 0 / 0       (158 / 208 / 212), none lost
 *     sender clock 0.1 % fast         0 / 0 / 0       (26 / 37 / 37), none lost
 *     exponential jitter, mean 10 ms  0.8 / 22 / 50   (41 / 50 / 50), 5 lost either way
 *     100 ms stall every 6 s          0 / 0 / 0       (11 / 10 / 110), none lost
 *     one frame 60 ms late per 2 s    0.1 / 10 / 10   (10 / 10 / 10), those 1 % lost
 *   A late rate of 20 % (a 4 s window) shrinks faster (fast 1 %: mean
 *   37 ms, with every frame waiting for its tick) but loses 26 of 5000
 *   under exponential jitter; a late cost of 1000 or more keeps 60 to
 *   100 ms of delay after any spike or stall;
 *   JITTER_BUFFER_SET_DESTROY_CALLBACK: speexdsp then stores our pointer
 *   instead of copying each packet into a speex_alloc()ed block (which it
 *   does per put otherwise), so put allocates nothing.  Frames live in a
 *   pool of REPACK_POOL slots taken at creation.
 *
 * speexdsp decides everything from the order of put and get calls.  We
 * mirror the two facts it does not expose, whether it is in its reset
 * state and how many entries it holds, so that a slot is handed to it only
 * when it will keep it (a slot it silently refused would leak):
 *   - a frame older than its playout point is put with a shared mark
 *     instead of the frame: speexdsp learns that frames come late (and
 *     raises its delay), the frame itself waits in its slot (repack_play.c
 *     sends it at once if it is in order, else at the next tick, since
 *     nothing later has been sent yet);
 *   - speexdsp resets itself on a put after 21 empty gets in a row; we
 *     reset it after 20 (RP_IDLE_SLOTS), so it never does so unseen. */
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include "flv.h"
#include "mem.h"
#include "repack_int.h"
#include "rtp.h"

#define FAR (100 * RP_FRAME)   /* 2 s from the playout point: a timestamp jump */
#define DUP_WINDOW 64
#define NO_SEQ 0x10000         /* bad_seq when there is none */

struct rp_slot *repack_rx_slot_of(void *data)
{
	return (struct rp_slot *)(void *)((uint8_t *)data - offsetof(struct rp_slot, data));
}

void repack_rx_release(struct rtp2rtmp *r, struct rp_slot *s)
{
	s->jb = s->busy = s->late = s->played = false;
	s->next = r->free;
	r->free = s;
	r->st.held--;
}

/* speexdsp drops an entry: older than its pointer, reset, or full. */
static void on_destroy(void *data)
{
	struct rp_slot *s = repack_rx_slot_of(data);
	struct rtp2rtmp *r = s->r;

	r->in_jb--;
	if (s->mark)
		return;
	s->jb = false;
	if (s->busy)
		return;
	if (!s->played)
		r->st.dropped++;
	repack_rx_release(r, s);
}

void repack_rx_reset_jb(struct rtp2rtmp *r)
{
	jitter_buffer_reset(r->jb);
	r->jb_reset = true;
	r->jb_lost = 0;
	r->hold = 0;
}

uint32_t repack_rx_pointer(const struct rtp2rtmp *r)
{
	return (uint32_t)jitter_buffer_get_pointer_timestamp(r->jb);
}

bool repack_rx_too_late(const struct rtp2rtmp *r, uint32_t epoch, uint32_t ts)
{
	return r->have_out && epoch == r->out_epoch && (int32_t)(ts - r->out_rtp) <= 0;
}

static void rx_destructor(void *arg)
{
	struct rtp2rtmp *r = arg;

	if (r->jb)
		jitter_buffer_destroy(r->jb);
}

int repack_rx_alloc(struct rtp2rtmp **rp, uint8_t tag, unsigned fpp)
{
	struct rtp2rtmp *r;
	spx_int32_t v;

	if (!rp || tag >> 4 != FLV_SPEEX || fpp > REPACK_MAX_FPP)
		return -EINVAL;
	r = mem_zalloc(sizeof(*r), rx_destructor);
	if (!r)
		return -ENOMEM;
	r->jb = jitter_buffer_init(RP_FRAME);
	if (!r->jb) {
		mem_deref(r);
		return -ENOMEM;
	}
	v = 0;
	jitter_buffer_ctl(r->jb, JITTER_BUFFER_SET_MARGIN, &v);
	v = RP_FRAME;
	jitter_buffer_ctl(r->jb, JITTER_BUFFER_SET_DELAY_STEP, &v);
	jitter_buffer_ctl(r->jb, JITTER_BUFFER_SET_CONCEALMENT_SIZE, &v);
	v = 4;
	jitter_buffer_ctl(r->jb, JITTER_BUFFER_SET_MAX_LATE_RATE, &v);
	v = 0;
	jitter_buffer_ctl(r->jb, JITTER_BUFFER_SET_LATE_COST, &v);
	jitter_buffer_ctl(r->jb, JITTER_BUFFER_SET_DESTROY_CALLBACK, (void *)on_destroy);
	r->tag = tag;
	r->fpp = fpp ? fpp : 1;
	r->jb_reset = true;
	r->mark.r = r;
	r->mark.mark = true;
	for (int i = REPACK_POOL - 1; i >= 0; i--) {
		r->pool[i].r = r;
		r->pool[i].next = r->free;
		r->free = &r->pool[i];
	}
	*rp = r;
	return 0;
}

/* A new stream (SSRC change or confirmed timestamp jump): start over. */
static void new_stream(struct rtp2rtmp *r)
{
	repack_rx_reset_jb(r);
	r->epoch++;
	r->have_seq = false;
	r->have_top = false;
	r->far_pending = false;
	r->st.resyncs++;
}

/* Extended sequence number of seq; false for a duplicate. */
static bool track_seq(struct rtp2rtmp *r, uint16_t seq, uint32_t *ext)
{
	int32_t delta = (int16_t)(uint16_t)(seq - (uint16_t)r->max_seq);

	if (!r->have_seq) {
		r->have_seq = true;
		r->max_seq = *ext = seq;
		r->seen = 1;
		r->bad_seq = NO_SEQ;
		return true;
	}
	*ext = r->max_seq + (uint32_t)delta;
	if (delta > 0) {
		r->seen = delta >= DUP_WINDOW ? 1 : r->seen << delta | 1;
		r->max_seq = *ext;
	} else if (delta < -RP_SEQ_JUMP) {
		/* very old, or the sender restarted: two in a row re-base */
		if (seq == r->bad_seq) {
			r->max_seq = *ext;
			r->seen = 1;
		}
		r->bad_seq = (uint16_t)(seq + 1);
	} else if (-delta < DUP_WINDOW) {
		if (r->seen & (uint64_t)1 << -delta)
			return false;
		r->seen |= (uint64_t)1 << -delta;
		r->st.reordered++;
	} else {
		r->st.reordered++;
	}
	return true;
}

/* The packet's timestamp, on the stream's grid; false (counted) while a
 * jump of more than FAR from the playout point waits for confirmation by
 * a second packet in sequence.  A confirmed jump starts a new stream, and
 * *ext is numbered afresh in it, as the packets after it will be (the
 * test for "in order" in repack_play.c compares sequence numbers). */
static bool place_in(struct rtp2rtmp *r, uint32_t *ext, int n, uint32_t *ts)
{
	int64_t d;

	if (!r->jb_reset) {
		d = (int32_t)(*ts - repack_rx_pointer(r));
		if (d > FAR || d < -FAR) {
			if (!r->far_pending || *ext != r->far_seq) {
				r->far_pending = true;
				r->far_seq = *ext + 1;
				r->st.dropped += (uint64_t)n;
				return false;
			}
			new_stream(r);
			track_seq(r, (uint16_t)*ext, ext);
		}
	}
	r->far_pending = false;
	if (r->jb_reset && !r->in_jb)
		r->grid = *ts;
	d = (int32_t)(*ts - r->grid);
	d = d >= 0 ? (d + RP_FRAME / 2) / RP_FRAME : -((-d + RP_FRAME / 2 - 1) / RP_FRAME);
	*ts = r->grid + (uint32_t)(d * RP_FRAME);
	return true;
}

static struct rp_slot *take(struct rtp2rtmp *r)
{
	struct rp_slot *s;

	if (!r->free) {
		/* 2 s held: nobody plays, or junk sits far ahead */
		repack_rx_reset_jb(r);
		r->st.resyncs++;
	}
	s = r->free;
	if (s) {
		r->free = s->next;
		r->st.held++;
	}
	return s;
}

/* The frame's slot, or NULL when it was dropped (counted). */
static struct rp_slot *put_frame(struct rtp2rtmp *r, const struct rtp_hdr *h,
				 const struct speex_frame *f, uint32_t ts, uint32_t ext,
				 uint32_t arrival)
{
	JitterBufferPacket p;
	uint32_t ptr = repack_rx_pointer(r);
	bool late = !r->jb_reset && (int32_t)(ts - ptr) < 0;
	struct rp_slot *s;
	int n;

	memset(&p, 0, sizeof(p));
	p.timestamp = ts;
	p.span = RP_FRAME;
	p.sequence = (uint16_t)ext;
	if (late) {
		/* speexdsp keeps it until its next put if it is not too old */
		if ((int32_t)(ts + 2 * RP_FRAME - ptr) >= 0)
			r->in_jb++;
		p.data = (char *)r->mark.data;
		jitter_buffer_put(r->jb, &p);
	}
	if (repack_rx_too_late(r, r->epoch, ts)) {
		r->st.late++;
		return NULL;
	}
	s = take(r);
	if (!s) {
		r->st.dropped++;
		return NULL;
	}
	n = speex_frame_copy(h->payload, h->plen, f, s->data, REPACK_FRAME_MAX);
	if (n < 0) {
		repack_rx_release(r, s);
		r->st.dropped++;
		return NULL;
	}
	s->len = (uint16_t)n;
	s->ts = ts;
	s->seq = ext;
	s->arrival = arrival;
	s->epoch = r->epoch;
	if (!r->have_top || (int32_t)(ts - r->top) > 0)
		r->top = ts;
	r->have_top = true;
	if (late) {
		s->late = true;
		return s;
	}
	s->jb = true;
	p.data = (char *)s->data;
	p.len = (spx_uint32_t)n;
	r->in_jb++;
	jitter_buffer_put(r->jb, &p);
	return s;
}

int repack_rx_put(struct rtp2rtmp *r, const struct rtp_hdr *h, uint32_t arrival_ms,
		  repack_msg_h *msgh, void *arg)
{
	struct speex_frame f[SPEEX_MAX_FRAMES];
	struct rp_slot *first = NULL, *s;
	uint32_t ext, ts;
	uint64_t msgs;
	int n;

	if (!r || !h || (!h->payload && h->plen))
		return -EINVAL;
	n = speex_walk(h->payload, h->plen, f, SPEEX_MAX_FRAMES, NULL);
	if (n < 0) {
		r->st.bad++;
		return -EBADMSG;
	}
	r->st.frames_in += (uint64_t)n;
	if (!n)
		return 0;
	if (r->have_src && h->ssrc != r->ssrc) {
		if (r->have_old && h->ssrc == r->old_ssrc) {
			r->st.late += (uint64_t)n;   /* a straggler of the stream before */
			return 0;
		}
		r->old_ssrc = r->ssrc;
		r->have_old = true;
		new_stream(r);
	}
	r->have_src = true;
	r->ssrc = h->ssrc;
	if (!track_seq(r, h->seq, &ext)) {
		r->st.dups++;
		return 0;
	}
	ts = h->ts;
	if (!place_in(r, &ext, n, &ts))
		return 0;
	for (int i = 0; i < n; i++) {
		s = put_frame(r, h, &f[i], ts + (uint32_t)i * RP_FRAME, ext, arrival_ms);
		if (!first)
			first = s;
	}
	if (!msgh)
		return 0;   /* nobody to send to yet: the frames wait for the tick */
	msgs = r->st.msgs;
	mem_ref(r);
	repack_rx_send_ready(r, first, arrival_ms, msgh, arg);
	msgs = r->st.msgs - msgs;
	mem_deref(r);
	return (int)msgs;
}

void repack_rx_stats(const struct rtp2rtmp *r, struct repack_stats *st)
{
	if (r && st)
		*st = r->st;
}
