/* RTMP -> RTP: one RTP packet per Speex frame, timestamps from the RTMP
 * clock (the rule is in repack.h). */
#include <errno.h>
#include <string.h>
#include "flv.h"
#include "mem.h"
#include "repack.h"
#include "rtp.h"
#include "speex.h"

#define FRAME SPEEX_WB_SAMPLES       /* RTP clock units per frame */
#define JUMP_MS 10000                /* a larger RTMP step re-anchors */

struct rtmp2rtp {
	struct rtp_tx tx;
	bool started;
	bool remark;          /* set the marker on the next packet */
	uint32_t anchor_rtp;  /* media time of RTMP time anchor_ms */
	uint32_t anchor_ms;
	uint32_t last_ms;     /* RTMP time of the previous message */
	uint32_t next;        /* media time of the slot after the last frame */
	struct repack_stats st;
	struct speex_frame f[SPEEX_MAX_FRAMES];
	uint8_t pkt[RTP_HDR_LEN + REPACK_FRAME_MAX];
};

int repack_tx_alloc(struct rtmp2rtp **tp, uint8_t pt, uint32_t ssrc)
{
	struct rtmp2rtp *t;
	int err;

	if (!tp || pt > 127)
		return -EINVAL;
	t = mem_zalloc(sizeof(*t), NULL);
	if (!t)
		return -ENOMEM;
	err = rtp_tx_init(&t->tx, pt, FRAME);
	if (err) {
		mem_deref(t);
		return err;
	}
	if (ssrc)
		t->tx.ssrc = ssrc;
	*tp = t;
	return 0;
}

static void anchor(struct rtmp2rtp *t, uint32_t rtp, uint32_t ms)
{
	t->anchor_rtp = rtp;
	t->anchor_ms = ms;
}

/* Media time of the first frame of a message at RTMP time ms. */
static uint32_t place(struct rtmp2rtp *t, uint32_t ms)
{
	int32_t step = (int32_t)(ms - t->last_ms), d;
	uint32_t k;

	if (!t->started) {
		t->started = true;
		anchor(t, 0, ms);
		return 0;
	}
	if (step < 0 || step > JUMP_MS) {
		anchor(t, t->next, ms);
		t->remark = true;
		t->st.resyncs++;
		return t->next;
	}
	d = (int32_t)(t->anchor_rtp + 16u * (ms - t->anchor_ms) - t->next);
	if (d >= FRAME / 2) {
		k = ((uint32_t)d + FRAME / 2) / FRAME;
		t->st.gaps += k;
		return t->next + k * FRAME;
	}
	if (d < -FRAME / 2)
		t->anchor_rtp += FRAME * (((uint32_t)-(int64_t)d + FRAME / 2 - 1) / FRAME);
	return t->next;
}

/* Send frame i at media time ts, counting it in *sent; false if the
 * object was freed. */
static bool send_frame(struct rtmp2rtp *t, const uint8_t *p, size_t len, int i, uint32_t ts,
		       repack_out_h *outh, void *arg, int *sent)
{
	struct rtp_hdr h;
	int m = speex_frame_copy(p, len, &t->f[i], t->pkt + RTP_HDR_LEN, REPACK_FRAME_MAX);

	if (m < 0) {
		t->st.dropped++;   /* too long: its slot stays empty */
		return true;
	}
	rtp_tx_next(&t->tx, ts, &h);
	h.marker |= t->remark;
	t->remark = false;
	m = rtp_build(t->pkt, sizeof(t->pkt), &h, t->pkt + RTP_HDR_LEN, (size_t)m);
	if (m < 0)
		return true;   /* cannot happen: the buffer holds header and frame */
	t->st.frames_out++;
	(*sent)++;
	if (!outh)
		return true;
	outh(&h, t->pkt, (size_t)m, arg);
	return mem_nrefs(t) > 1;
}

int repack_tx_push(struct rtmp2rtp *t, uint32_t rtmp_ts, const uint8_t *body, size_t len,
		   repack_out_h *outh, void *arg)
{
	struct flv_audio a;
	uint32_t ts;
	int n, sent = 0;

	if (!t || (!body && len))
		return -EINVAL;
	if (flv_audio_parse(&a, body, len)) {
		t->st.bad++;
		return -ENODATA;
	}
	if (a.codec != FLV_SPEEX) {
		t->st.bad++;
		return -EPROTONOSUPPORT;
	}
	n = speex_walk(a.payload, a.len, t->f, SPEEX_MAX_FRAMES, NULL);
	if (n < 0) {
		t->st.bad++;
		return n == -E2BIG || n == -EMSGSIZE ? n : -EBADMSG;
	}
	if (!n)
		return 0;   /* only a terminator: nothing to time */
	t->st.msgs++;
	t->st.frames_in += (uint64_t)n;
	ts = place(t, rtmp_ts);
	t->last_ms = rtmp_ts;
	t->next = ts + (uint32_t)n * FRAME;
	mem_ref(t);
	for (int i = 0; i < n; i++)
		if (!send_frame(t, a.payload, a.len, i, ts + (uint32_t)i * FRAME, outh, arg, &sent))
			break;
	mem_deref(t);
	return sent;
}

const struct rtp_tx *repack_tx_rtp(const struct rtmp2rtp *t)
{
	return t ? &t->tx : NULL;
}

void repack_tx_stats(const struct rtmp2rtp *t, struct repack_stats *st)
{
	if (t && st)
		*st = t->st;
}
