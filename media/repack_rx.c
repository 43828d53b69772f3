/* RTP -> RTMP through a speexdsp jitter buffer (repack.h).
 *
 * speexdsp settings, for passthrough of 20 ms frames:
 *   jitter_buffer_init(320), JITTER_BUFFER_SET_DELAY_STEP 320 and
 *   JITTER_BUFFER_SET_CONCEALMENT_SIZE 320: the buffer grows and shrinks
 *   by whole frames only, since a frame cannot be cut;
 *   JITTER_BUFFER_SET_MARGIN 0: no extra frame held on a clean path.  A
 *   frame that arrives before the tick of its slot leaves at that tick, so
 *   the added delay on a clean path is the phase between arrivals and
 *   ticks, under 20 ms (tests/unit/test_jitter.c measures 0, 10 and 19 ms
 *   for phases 0, 10 and 19);
 *   JITTER_BUFFER_SET_MAX_LATE_RATE and LATE_COST keep speexdsp's defaults
 *   (4 %, automatic): one frame more of delay when late frames keep coming,
 *   back down when they stop;
 *   JITTER_BUFFER_SET_DESTROY_CALLBACK: speexdsp then stores our pointer
 *   instead of copying each packet into a speex_alloc()ed block, so put
 *   allocates nothing.  Frames live in a pool of REPACK_POOL slots taken
 *   at creation.
 *
 * speexdsp decides everything from the order of put and get calls; we keep
 * a mirror of the two facts it does not expose (whether it is in its reset
 * state, how many entries it holds) so that a slot is handed to it only
 * when it will keep it:
 *   - a frame older than the playout point (late) never gets a slot: it is
 *     put with a shared mark instead, so that speexdsp still learns that
 *     frames come late and raises its delay;
 *   - speexdsp resets itself on a put after 21 empty gets in a row; we
 *     reset it after 20 (IDLE_SLOTS), so it never does so behind our back.
 * When speexdsp shrinks its delay it skips a frame; in passthrough that
 * would lose audio, so the skipped frame is sent at once instead. */
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <stdlib.h> /* XXX */
#include <stdio.h> /* XXX */
#include <speex/speex_jitter.h>
#include "flv.h"
#include "mem.h"
#include "repack.h"
#include "rtp.h"
#include "speex.h"

#define FRAME SPEEX_WB_SAMPLES   /* RTP clock units per frame */
#define SLOT_MS 20
#define IDLE_SLOTS 20            /* empty slots in a row that reset the buffer */
#define FAR (100 * FRAME)        /* 2 s from the playout point: a timestamp jump */
#define SEQ_JUMP 3000            /* RFC 3550 A.1 MAX_DROPOUT */
#define CATCHUP 50               /* slots one tick may run: 1 s */
#define DUP_WINDOW 64
#define NO_SEQ 0x10000           /* bad_seq when there is none */

struct slot {
	struct rtp2rtmp *r;
	struct slot *next;   /* free list */
	bool jb;             /* speexdsp holds it */
	bool busy;           /* waiting in a message being joined */
	bool played;
	bool mark;           /* the shared mark for late frames */
	uint16_t len;
	uint32_t ts, seq, arrival, epoch;   /* seq extended */
	uint8_t data[REPACK_FRAME_MAX];
};

struct rtp2rtmp {
	JitterBuffer *jb;
	uint8_t tag;
	unsigned fpp;
	bool jb_reset;           /* mirror: speexdsp waits for a packet to sync on */
	unsigned jb_lost;        /* gets in a row without a frame (>= speexdsp's count) */
	unsigned in_jb;          /* mirror: entries speexdsp holds, marks included */
	unsigned hold;           /* slots left of an insertion longer than one */
	uint32_t grid;           /* a timestamp on the stream's 320 grid */
	struct slot *free;
	/* the source */
	bool have_src, have_old, have_seq, far_pending;
	uint32_t ssrc, old_ssrc;
	uint32_t max_seq;        /* extended */
	uint64_t seen;           /* bit i: max_seq - i arrived */
	uint32_t bad_seq, far_seq;
	uint32_t epoch;          /* one per stream: SSRC or timestamp jump */
	/* playout */
	bool ticking, have_out;
	uint32_t next_tick, slot_no;
	uint32_t out_ms, out_rtp, out_slot, out_seq, out_epoch;
	struct slot *pend[REPACK_MAX_FPP];
	unsigned npend;
	uint32_t pend_ms;
	struct repack_stats st;
	struct slot mark;
	struct slot pool[REPACK_POOL];
	uint8_t msg[1 + REPACK_MAX_FPP * REPACK_FRAME_MAX];
};

static struct slot *slot_of(void *data)
{
	return (struct slot *)(void *)((uint8_t *)data - offsetof(struct slot, data));
}

static uint32_t pointer(const struct rtp2rtmp *r);
static void release(struct rtp2rtmp *r, struct slot *s)
{
	s->jb = s->busy = s->played = false;
	s->next = r->free;
	r->free = s;
	r->st.held--;
}

/* speexdsp drops an entry: too old, buffer reset or full. */
static void on_destroy(void *data)
{
	struct slot *s = slot_of(data);
	struct rtp2rtmp *r = s->r;

	r->in_jb--;
	if (s->mark)
		return;
	s->jb = false;
	if (s->busy)
		return;
	if (!s->played) {
		r->st.dropped++;
		if (getenv("JB_DBG")) fprintf(stderr, "drop ts %u ptr %u slot %u\n", s->ts, pointer(r), r->slot_no); /* XXX */
	}
	release(r, s);
}

static uint32_t pointer(const struct rtp2rtmp *r);
static void reset_jb(struct rtp2rtmp *r)
{
	jitter_buffer_reset(r->jb);
	r->jb_reset = true;
	r->jb_lost = 0;
	r->hold = 0;
}

static uint32_t pointer(const struct rtp2rtmp *r)
{
	return (uint32_t)jitter_buffer_get_pointer_timestamp(r->jb);
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
	r->jb = jitter_buffer_init(FRAME);
	if (!r->jb) {
		mem_deref(r);
		return -ENOMEM;
	}
	v = 0;
	jitter_buffer_ctl(r->jb, JITTER_BUFFER_SET_MARGIN, &v);
	v = FRAME;
	jitter_buffer_ctl(r->jb, JITTER_BUFFER_SET_DELAY_STEP, &v);
	jitter_buffer_ctl(r->jb, JITTER_BUFFER_SET_CONCEALMENT_SIZE, &v);
	jitter_buffer_ctl(r->jb, JITTER_BUFFER_SET_DESTROY_CALLBACK, (void *)on_destroy);
	if (getenv("JB_LC") && *getenv("JB_LC")) { v = atoi(getenv("JB_LC")); jitter_buffer_ctl(r->jb, JITTER_BUFFER_SET_LATE_COST, &v); } /* XXX */
	if (getenv("JB_MLR") && *getenv("JB_MLR")) { v = atoi(getenv("JB_MLR")); jitter_buffer_ctl(r->jb, JITTER_BUFFER_SET_MAX_LATE_RATE, &v); } /* XXX */
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
	reset_jb(r);
	r->epoch++;
	r->have_seq = false;
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
	} else if (delta < -SEQ_JUMP) {
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

/* The packet's timestamp on the stream's grid; false (counted) while a
 * jump of more than FAR from the playout point waits for its
 * confirmation: a second packet in sequence. */
static bool place_in(struct rtp2rtmp *r, uint32_t ext, int n, uint32_t *ts)
{
	int64_t d;

	if (!r->jb_reset) {
		d = (int32_t)(*ts - pointer(r));
		if (d > FAR || d < -FAR) {
			if (!r->far_pending || ext != r->far_seq) {
				r->far_pending = true;
				r->far_seq = ext + 1;
				r->st.dropped += (uint64_t)n;
				return false;
			}
			new_stream(r);
		}
	}
	r->far_pending = false;
	if (r->jb_reset && !r->in_jb)
		r->grid = *ts;
	d = (int32_t)(*ts - r->grid);
	d = d >= 0 ? (d + FRAME / 2) / FRAME : -((-d + FRAME / 2 - 1) / FRAME);
	*ts = r->grid + (uint32_t)(d * FRAME);
	return true;
}

static struct slot *take(struct rtp2rtmp *r)
{
	struct slot *s;

	if (!r->free) {
		/* 2 s buffered: nobody is playing, or junk sits far ahead */
		reset_jb(r);
		r->st.resyncs++;
	}
	s = r->free;
	if (s) {
		r->free = s->next;
		r->st.held++;
	}
	return s;
}

static void put_frame(struct rtp2rtmp *r, const struct rtp_hdr *h, const struct speex_frame *f,
		      uint32_t ts, uint32_t ext, uint32_t arrival)
{
	JitterBufferPacket p;
	uint32_t ptr = pointer(r);
	struct slot *s;
	int n;

	memset(&p, 0, sizeof(p));
	p.timestamp = ts;
	p.span = FRAME;
	p.sequence = (uint16_t)ext;
	if (getenv("JB_DBG")) fprintf(stderr, "put ts %u ptr %u\n", ts, ptr); /* XXX */
	if (!r->jb_reset && (int32_t)(ts - ptr) < 0) {
		r->st.late++;
		if ((int32_t)(ts + 2 * FRAME - ptr) >= 0)
			r->in_jb++;   /* speexdsp keeps it until its next put */
		p.data = (char *)r->mark.data;
		jitter_buffer_put(r->jb, &p);
		return;
	}
	s = take(r);
	if (!s) {
		r->st.dropped++;
		return;
	}
	n = speex_frame_copy(h->payload, h->plen, f, s->data, REPACK_FRAME_MAX);
	if (n < 0) {
		release(r, s);
		r->st.dropped++;
		return;
	}
	s->len = (uint16_t)n;
	s->ts = ts;
	s->seq = ext;
	s->arrival = arrival;
	s->epoch = r->epoch;
	s->jb = true;
	p.data = (char *)s->data;
	p.len = (spx_uint32_t)n;
	r->in_jb++;
	jitter_buffer_put(r->jb, &p);
}

int repack_rx_put(struct rtp2rtmp *r, const struct rtp_hdr *h, uint32_t arrival_ms)
{
	struct speex_frame f[SPEEX_MAX_FRAMES];
	uint32_t ext, ts;
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
	if (!place_in(r, ext, n, &ts))
		return 0;
	for (int i = 0; i < n; i++)
		put_frame(r, h, &f[i], ts + (uint32_t)i * FRAME, ext, arrival_ms);
	return 0;
}

/* Send the message being joined; false if the object was freed. */
static bool flush(struct rtp2rtmp *r, repack_msg_h *msgh, void *arg)
{
	const uint8_t *in[REPACK_MAX_FPP];
	size_t lens[REPACK_MAX_FPP];
	unsigned count = r->npend;
	int n;

	if (!count)
		return true;
	for (unsigned i = 0; i < count; i++) {
		in[i] = r->pend[i]->data;
		lens[i] = r->pend[i]->len;
	}
	r->msg[0] = r->tag;
	if (count == 1) {
		memcpy(r->msg + 1, in[0], lens[0]);
		n = (int)lens[0];
	} else {
		n = speex_pack(in, lens, (int)count, r->msg + 1, sizeof(r->msg) - 1);
	}
	for (unsigned i = 0; i < count; i++) {
		r->pend[i]->busy = false;
		if (!r->pend[i]->jb)
			release(r, r->pend[i]);
	}
	r->npend = 0;
	if (n < 0) {
		r->st.dropped += count;   /* cannot happen: every frame walked before */
		return true;
	}
	r->st.msgs++;
	r->st.frames_out += count;
	if (!msgh)
		return true;
	msgh(r->pend_ms, r->msg, (size_t)n + 1, arg);
	return mem_nrefs(r) > 1;
}

/* RTMP time of a frame: from its RTP timestamp within a stream, else from
 * the tick clock; counts gaps, loss and delay. */
static uint32_t place_out(struct rtp2rtmp *r, const struct slot *s, uint32_t now)
{
	int32_t d = (int32_t)(s->ts - r->out_rtp), g;
	uint32_t ticks = r->slot_no - r->out_slot, ms = 0, delay;

	if (r->have_out) {
		if (s->epoch == r->out_epoch && d > 0 && (uint32_t)d / FRAME <= ticks + CATCHUP)
			ms = r->out_ms + (uint32_t)d / 16;
		else
			ms = r->out_ms + SLOT_MS * (ticks ? ticks : 1);
		if (ms - r->out_ms > SLOT_MS)
			r->st.gaps += (ms - r->out_ms) / SLOT_MS - 1;
		g = (int32_t)(s->seq - r->out_seq) - 1;
		if (s->epoch == r->out_epoch && g > 0 && g < SEQ_JUMP)
			r->st.lost += (uint64_t)g;
	}
	r->have_out = true;
	r->out_ms = ms;
	r->out_rtp = s->ts;
	r->out_slot = r->slot_no;
	r->out_seq = s->seq;
	r->out_epoch = s->epoch;
	delay = (int32_t)(now - s->arrival) > 0 ? now - s->arrival : 0;
	r->st.delay_ms = delay;
	if (delay > r->st.delay_max_ms)
		r->st.delay_max_ms = delay;
	return ms;
}

/* One frame out: into the message being joined, sent when it is full or
 * when the frame does not follow it. */
static bool frame_out(struct rtp2rtmp *r, struct slot *s, uint32_t now, repack_msg_h *msgh,
		      void *arg)
{
	uint32_t ms = place_out(r, s, now);

	s->busy = s->played = true;
	if (r->npend && ms != r->pend_ms + SLOT_MS * r->npend && !flush(r, msgh, arg))
		return false;
	if (!r->npend)
		r->pend_ms = ms;
	r->pend[r->npend++] = s;
	return r->npend < r->fpp || flush(r, msgh, arg);
}

/* speexdsp moved its pointer from a to b to shrink its delay: send the
 * frames it skipped now rather than lose them. */
static bool catch_up(struct rtp2rtmp *r, uint32_t a, uint32_t b, uint32_t now,
		     repack_msg_h *msgh, void *arg)
{
	for (;;) {
		struct slot *s = NULL;

		for (int i = 0; i < REPACK_POOL; i++) {
			struct slot *c = &r->pool[i];
			if (c->jb && !c->played && (int32_t)(c->ts - a) >= 0 &&
			    (int32_t)(c->ts - b) < 0 && (!s || (int32_t)(c->ts - s->ts) < 0))
				s = c;
		}
		if (!s)
			return true;
		if (!frame_out(r, s, now, msgh, arg))
			return false;
	}
}

/* One 20 ms slot: at most one frame from speexdsp. */
static bool run_slot(struct rtp2rtmp *r, uint32_t now, repack_msg_h *msgh, void *arg)
{
	JitterBufferPacket p;
	spx_int32_t off = 0;
	struct slot *s = NULL;
	uint32_t a;
	int ret;

	if (r->hold) {
		r->hold--;   /* speexdsp asked for more than one slot of silence */
		return flush(r, msgh, arg);
	}
	if (r->jb_reset && r->in_jb) {
		r->jb_reset = false;   /* speexdsp syncs on its oldest packet */
		r->jb_lost = 0;
	}
	memset(&p, 0, sizeof(p));
	ret = jitter_buffer_get(r->jb, &p, FRAME, &off);
	if (getenv("JB_DBG")) fprintf(stderr, "slot %u get %d ts %u span %u ptr %u\n", r->slot_no, ret, p.timestamp, p.span, pointer(r)); /* XXX */
	if (ret == JITTER_BUFFER_OK) {
		r->in_jb--;
		r->jb_lost = 0;
		s = slot_of(p.data);
		if (!s->mark) {
			s->jb = false;
			if (s->played) {
				if (!s->busy)
					release(r, s);   /* sent by catch_up already */
				s = NULL;
			}
		} else {
			s = NULL;
		}
	} else {
		r->jb_lost++;
		if (ret == JITTER_BUFFER_INSERTION && p.span > FRAME)
			r->hold = (unsigned)(p.span / FRAME - 1);
	}
	if (s ? !frame_out(r, s, now, msgh, arg) : !flush(r, msgh, arg))
		return false;
	a = pointer(r);
	jitter_buffer_tick(r->jb);
	if (getenv("JB_DBG")) fprintf(stderr, "  tick ptr %u\n", pointer(r)); /* XXX */
	if ((int32_t)(pointer(r) - a) > 0 && !catch_up(r, a, pointer(r), now, msgh, arg))
		return false;
	if (r->jb_lost >= IDLE_SLOTS && !r->jb_reset)
		reset_jb(r);
	return true;
}

int repack_rx_tick(struct rtp2rtmp *r, uint32_t now_ms, repack_msg_h *msgh, void *arg)
{
	uint64_t msgs;
	int32_t behind;

	if (!r)
		return -EINVAL;
	if (!r->ticking) {
		r->ticking = true;
		r->next_tick = now_ms;
	}
	behind = (int32_t)(now_ms - r->next_tick);
	if (behind >= CATCHUP * SLOT_MS || behind < -CATCHUP * SLOT_MS) {
		/* the clock stalled or jumped: start over rather than replay */
		reset_jb(r);
		r->st.resyncs++;
		r->next_tick = now_ms;
	}
	msgs = r->st.msgs;
	mem_ref(r);
	while ((int32_t)(now_ms - r->next_tick) >= 0) {
		if (!run_slot(r, now_ms, msgh, arg))
			break;
		r->next_tick += SLOT_MS;
		r->slot_no++;
	}
	msgs = r->st.msgs - msgs;
	mem_deref(r);
	return (int)msgs;
}

void repack_rx_stats(const struct rtp2rtmp *r, struct repack_stats *st)
{
	if (r && st)
		*st = r->st;
}
