/* RTP -> RTMP, frames out: RTMP messages with monotonic timestamps
 * (repack.h), sent as soon as their frames are in order.
 *
 * A frame in order goes out at once, from repack_rx_put: one that follows
 * the last frame out with nothing missing between them (the next frame of
 * its packet, or the first of the next sequence number, after silence
 * too), or the first of a stream.  Frames held behind it that now follow
 * go with it.  So on a clean path nothing waits, and a swapped pair leaves
 * when the missing frame comes.  Only a frame behind a missing one waits,
 * for the tick that gives up on the missing frame.
 *
 * This is a fast path in front of speexdsp, not a use of its API, because
 * speexdsp's model is one jitter_buffer_get per tick at the playout clock:
 * each get moves its pointer a frame on, jitter_buffer_tick sets the point
 * arrivals are timed against, and its delay is learnt from both.  A get
 * on arrival would move the pointer at the pace of arrivals rather than
 * of the clock, leaving no clock to time a missing frame out against
 * (and jitter_buffer_update_delay switches its own adaptation off for
 * good).  So speexdsp still gets every frame and every tick as before and
 * still decides what it did: how long to wait for a missing frame (its
 * adaptive delay), when to give up, when to start over.  A frame sent
 * ahead stays in speexdsp, marked played, until speexdsp returns or drops
 * it; that only frees its slot.
 *
 * A tick runs one 20 ms slot and sends, in timestamp order, every frame
 * that can still go out and has not yet: the one speexdsp returns, frames
 * that came after their own slot (repack_rx.c keeps them aside), and
 * frames speexdsp's pointer jumped over.  It jumps when it changes its
 * delay: to grow it rewinds and then returns an "insertion" past frames
 * that may well be here, to shrink it skips forward.  With a decoder those
 * frames would be concealed or dropped; in passthrough they are simply
 * sent, with their own timestamps.  Then the frames that follow in order.
 * A frame is given up (counted late) only when a later frame has already
 * been sent.
 *
 * With fpp > 1 a message is sent when full, or when the slot of the frame
 * that would continue it passes without it (not on a slot that speexdsp
 * fills with silence to grow its delay while that frame is still in
 * time): the same messages and timestamps as when every frame waited for
 * its tick, only sooner. */
#include <errno.h>
#include <string.h>
#include "mem.h"
#include "repack_int.h"

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
			repack_rx_release(r, r->pend[i]);
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

/* RTMP time of a frame: from its RTP timestamp within a stream (when it is
 * a frame or more after the last one, and not further ahead than the ticks
 * since then allow), else from the tick clock; either way at least 20 ms
 * after the last frame.  Counts gaps, loss and delay. */
static uint32_t place_out(struct rtp2rtmp *r, const struct rp_slot *s, uint32_t now)
{
	int32_t d = (int32_t)(s->ts - r->out_rtp), g;
	uint32_t ticks = r->slot_no - r->out_slot, ms = 0, delay;

	if (r->have_out) {
		if (s->epoch == r->out_epoch && d >= RP_FRAME &&
		    (uint32_t)d / RP_FRAME <= ticks + RP_CATCHUP)
			ms = r->out_ms + (uint32_t)d / 16;
		else
			ms = r->out_ms + RP_SLOT_MS * (ticks ? ticks : 1);
		if (ms - r->out_ms > RP_SLOT_MS)
			r->st.gaps += (ms - r->out_ms) / RP_SLOT_MS - 1;
		g = (int32_t)(s->seq - r->out_seq) - 1;
		if (s->epoch == r->out_epoch && g > 0 && g < RP_SEQ_JUMP)
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

/* One frame out: into the message being joined, which is sent when full
 * or when the frame does not follow it. */
static bool frame_out(struct rtp2rtmp *r, struct rp_slot *s, uint32_t now, repack_msg_h *msgh,
		      void *arg)
{
	uint32_t ms = place_out(r, s, now);

	s->late = false;
	s->busy = s->played = true;
	if (r->npend && ms != r->pend_ms + RP_SLOT_MS * r->npend && !flush(r, msgh, arg))
		return false;
	if (!r->npend)
		r->pend_ms = ms;
	r->pend[r->npend++] = s;
	return r->npend < r->fpp || flush(r, msgh, arg);
}

/* Whether s may go out before its slot: it follows the last frame out
 * with nothing missing between them (the next frame of the same packet,
 * or the first of the next packet, after silence too), or no frame of
 * this stream has gone out yet. */
static bool in_order(const struct rtp2rtmp *r, const struct rp_slot *s)
{
	int32_t d = (int32_t)(s->ts - r->out_rtp);

	if (s->played || (!s->jb && !s->late) || s->epoch != r->epoch)
		return false;
	if (!r->have_out || r->out_epoch != r->epoch)
		return true;
	return d >= RP_FRAME &&
	       (s->seq == r->out_seq + 1 || (s->seq == r->out_seq && d == RP_FRAME));
}

/* The next frame to send ahead of the ticks: hint if it is in order, else
 * the oldest held frame that is.  The pool is scanned only when a frame
 * is held ahead of the last one out (top), so a clean path never scans. */
static struct rp_slot *next_in_order(struct rtp2rtmp *r, struct rp_slot *hint)
{
	bool start = !r->have_out || r->out_epoch != r->epoch;
	struct rp_slot *best = NULL;

	if (hint && !start && in_order(r, hint))
		return hint;
	if (!r->have_top || (!start && (int32_t)(r->top - r->out_rtp) <= 0))
		return NULL;
	for (int i = 0; i < REPACK_POOL; i++) {
		struct rp_slot *s = &r->pool[i];

		if (in_order(r, s) && (!best || (int32_t)(s->ts - best->ts) < 0))
			best = s;
	}
	return best;
}

bool repack_rx_send_ready(struct rtp2rtmp *r, struct rp_slot *hint, uint32_t now,
			  repack_msg_h *msgh, void *arg)
{
	struct rp_slot *s;

	for (; (s = next_in_order(r, hint)); hint = NULL)
		if (!frame_out(r, s, now, msgh, arg))
			return false;
	return true;
}

/* Whether the message being joined can no longer grow: the slot of the
 * frame after the last one out has passed without it (b: speexdsp's
 * pointer now), or the stream changed.  A slot whose frame went out ahead
 * of it is no gap. */
static bool gap(const struct rtp2rtmp *r, uint32_t b)
{
	return r->jb_reset || r->out_epoch != r->epoch || (int32_t)(b - r->out_rtp) > RP_FRAME;
}

/* Is s to go out in this slot?  got: what speexdsp returned; [a, b): what
 * its pointer passed (when skip is set). */
static bool due(const struct rp_slot *s, const struct rp_slot *got, bool skip, uint32_t a,
		uint32_t b)
{
	if (s == got || s->late)
		return true;
	return skip && s->jb && !s->played && (int32_t)(s->ts - a) >= 0 &&
	       (int32_t)(s->ts - b) < 0;
}

static bool send_slot(struct rtp2rtmp *r, struct rp_slot *got, bool skip, uint32_t a, uint32_t b,
		      uint32_t now, repack_msg_h *msgh, void *arg)
{
	struct rp_slot *c[REPACK_POOL];
	unsigned n = 0;

	for (int i = 0; i < REPACK_POOL; i++) {
		struct rp_slot *s = &r->pool[i];
		unsigned j = n++;

		if (!due(s, got, skip, a, b)) {
			n--;
			continue;
		}
		for (; j && (int32_t)(s->ts - c[j - 1]->ts) < 0; j--)
			c[j] = c[j - 1];
		c[j] = s;
	}
	if (!n)   /* nothing in this slot */
		return !gap(r, b) || flush(r, msgh, arg);
	for (unsigned i = 0; i < n; i++) {
		struct rp_slot *s = c[i];

		s->late = false;
		if (repack_rx_too_late(r, s->epoch, s->ts)) {
			r->st.late++;
			s->played = true;   /* given up: not "dropped" when speexdsp lets go */
			if (!s->jb && !s->busy)
				repack_rx_release(r, s);
			continue;
		}
		if (!frame_out(r, s, now, msgh, arg))
			return false;
	}
	return true;
}

/* What speexdsp returned: a frame to send, or NULL. */
static struct rp_slot *got_frame(struct rtp2rtmp *r, JitterBufferPacket *p)
{
	struct rp_slot *s = repack_rx_slot_of(p->data);

	r->in_jb--;
	if (s->mark)
		return NULL;
	s->jb = false;
	if (!s->played)
		return s;
	if (!s->busy)
		repack_rx_release(r, s);   /* sent already, when the pointer passed it */
	return NULL;
}

/* One 20 ms slot. */
static bool run_slot(struct rtp2rtmp *r, uint32_t now, repack_msg_h *msgh, void *arg)
{
	JitterBufferPacket p;
	spx_int32_t off = 0;
	struct rp_slot *got = NULL;
	uint32_t a, b, c;
	bool skip = !r->jb_reset;
	int ret;

	if (r->hold) {
		r->hold--;   /* speexdsp asked for more than one slot of silence */
		a = repack_rx_pointer(r);
		return send_slot(r, NULL, false, a, a, now, msgh, arg);
	}
	if (r->jb_reset && r->in_jb) {
		r->jb_reset = false;   /* speexdsp syncs on its oldest packet */
		r->jb_lost = 0;
	}
	a = repack_rx_pointer(r);
	memset(&p, 0, sizeof(p));
	ret = jitter_buffer_get(r->jb, &p, RP_FRAME, &off);
	if (ret == JITTER_BUFFER_OK) {
		r->jb_lost = 0;
		got = got_frame(r, &p);
	} else {
		r->jb_lost++;
		if (ret == JITTER_BUFFER_INSERTION && p.span > RP_FRAME)
			r->hold = (unsigned)(p.span / RP_FRAME - 1);
	}
	b = repack_rx_pointer(r);
	jitter_buffer_tick(r->jb);
	c = repack_rx_pointer(r);
	if ((int32_t)(c - b) > 0)
		b = c;
	if (!send_slot(r, got, skip, a, b, now, msgh, arg))
		return false;
	if (r->jb_lost >= RP_IDLE_SLOTS && !r->jb_reset)
		repack_rx_reset_jb(r);
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
	if (behind >= RP_CATCHUP * RP_SLOT_MS || behind < -RP_CATCHUP * RP_SLOT_MS) {
		/* the clock stalled or jumped: start over rather than replay */
		repack_rx_reset_jb(r);
		r->st.resyncs++;
		r->next_tick = now_ms;
	}
	msgs = r->st.msgs;
	mem_ref(r);
	while ((int32_t)(now_ms - r->next_tick) >= 0) {
		/* then what the slot let through: frames held behind it */
		if (!run_slot(r, now_ms, msgh, arg) ||
		    !repack_rx_send_ready(r, NULL, now_ms, msgh, arg))
			break;
		r->next_tick += RP_SLOT_MS;
		r->slot_no++;
	}
	msgs = r->st.msgs - msgs;
	mem_deref(r);
	return (int)msgs;
}
