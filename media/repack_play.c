/* RTP -> RTMP, frames out: one 20 ms slot per tick, RTMP messages with
 * monotonic timestamps (repack.h).
 *
 * A slot sends, in timestamp order, every frame that can still go out:
 * the one speexdsp returns, frames that came after their own slot but
 * before any later frame left (repack_rx.c keeps them aside), and frames
 * speexdsp's pointer jumped over.  It jumps when it changes its delay:
 * to grow it rewinds and then returns an "insertion" past frames that may
 * well be here, to shrink it skips forward.  With a decoder those frames
 * would be concealed or dropped; in passthrough they are simply sent, a
 * little early or late, with their own timestamps.  A frame is given up
 * (counted late) only when a later frame has already been sent. */
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

	s->busy = s->played = true;
	if (r->npend && ms != r->pend_ms + RP_SLOT_MS * r->npend && !flush(r, msgh, arg))
		return false;
	if (!r->npend)
		r->pend_ms = ms;
	r->pend[r->npend++] = s;
	return r->npend < r->fpp || flush(r, msgh, arg);
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
	if (!n)
		return flush(r, msgh, arg);   /* nothing in this slot: a gap */
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
		return send_slot(r, NULL, false, 0, 0, now, msgh, arg);
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
		if (!run_slot(r, now_ms, msgh, arg))
			break;
		r->next_tick += RP_SLOT_MS;
		r->slot_no++;
	}
	msgs = r->st.msgs - msgs;
	mem_deref(r);
	return (int)msgs;
}
