/* RTP header, demultiplexing, telephone-events, receiver statistics and the
 * sender helper (rtp.h). */
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/random.h>
#include <sys/types.h>
#include "buf.h"
#include "rtcp.h"
#include "rtp.h"

int rtp_parse(struct rtp_hdr *h, const uint8_t *p, size_t len)
{
	size_t pos = RTP_HDR_LEN, end = len;

	if (len < 1)
		return -ENODATA;
	if (p[0] >> 6 != RTP_VERSION)
		return -EBADMSG;
	if (len < RTP_HDR_LEN)
		return -ENODATA;
	h->cc = p[0] & 0x0f;
	h->ext = p[0] & 0x10;
	h->marker = p[1] >> 7;
	h->pt = p[1] & 0x7f;
	h->seq = (uint16_t)be16(p + 2);
	h->ts = be32(p + 4);
	h->ssrc = be32(p + 8);
	if (len - pos < 4u * h->cc)
		return -ENODATA;
	for (unsigned i = 0; i < h->cc; i++, pos += 4)
		h->csrc[i] = be32(p + pos);
	h->ext_profile = 0;
	h->ext_data = NULL;
	h->ext_len = 0;
	if (h->ext) {
		if (len - pos < 4)
			return -ENODATA;
		h->ext_profile = (uint16_t)be16(p + pos);
		h->ext_len = 4 * (size_t)be16(p + pos + 2);
		pos += 4;
		if (len - pos < h->ext_len)
			return -ENODATA;
		h->ext_data = p + pos;
		pos += h->ext_len;
	}
	h->pad_len = 0;
	if (p[0] & 0x20) {
		/* the count includes itself; a padding-only packet (no payload)
		 * is valid: libwebrtc sends them to probe bandwidth */
		h->pad_len = p[len - 1];
		if (!h->pad_len || h->pad_len > len - pos)
			return -EBADMSG;
		end -= h->pad_len;
	}
	h->payload = p + pos;
	h->plen = end - pos;
	return 0;
}

size_t rtp_hdr_len(const struct rtp_hdr *h)
{
	return RTP_HDR_LEN + 4u * h->cc + (h->ext ? 4 + h->ext_len : 0);
}

int rtp_build(uint8_t *p, size_t cap, const struct rtp_hdr *h, const uint8_t *payload,
	      size_t plen)
{
	size_t hl, n, pos = RTP_HDR_LEN;

	if (h->pt > 127 || h->cc > RTP_MAX_CSRC ||
	    (h->ext && (h->ext_len % 4 || h->ext_len > 4 * 0xffffu)))
		return -EINVAL;
	hl = rtp_hdr_len(h);
	if (plen > INT_MAX - hl - h->pad_len)
		return -EINVAL;
	n = hl + plen + h->pad_len;
	if (n > cap)
		return -ENOSPC;
	/* the payload may already sit in p (after the header): move it first */
	if (plen)
		memmove(p + hl, payload, plen);
	p[0] = (uint8_t)(RTP_VERSION << 6 | (h->pad_len ? 0x20 : 0) | (h->ext ? 0x10 : 0) | h->cc);
	p[1] = (uint8_t)((h->marker ? 0x80 : 0) | h->pt);
	put_be16(p + 2, h->seq);
	put_be32(p + 4, h->ts);
	put_be32(p + 8, h->ssrc);
	for (unsigned i = 0; i < h->cc; i++, pos += 4)
		put_be32(p + pos, h->csrc[i]);
	if (h->ext) {
		put_be16(p + pos, h->ext_profile);
		put_be16(p + pos + 2, (uint32_t)(h->ext_len / 4));
		if (h->ext_len)
			memmove(p + pos + 4, h->ext_data, h->ext_len);
	}
	if (h->pad_len) {
		memset(p + hl + plen, 0, h->pad_len - 1u);
		p[n - 1] = h->pad_len;
	}
	return (int)n;
}

bool rtp_is_rtcp(const uint8_t *p, size_t len)
{
	return len >= 2 && p[0] >> 6 == RTP_VERSION && p[1] >= 192 && p[1] <= 223;
}

enum rtp_kind rtp_classify(const uint8_t *p, size_t len)
{
	if (!len)
		return RTP_KIND_OTHER;
	if (p[0] <= 3)
		return RTP_KIND_STUN;
	if (p[0] >= 16 && p[0] <= 19)
		return RTP_KIND_ZRTP;
	if (p[0] >= 20 && p[0] <= 63)
		return RTP_KIND_DTLS;
	if (p[0] >= 64 && p[0] <= 79)
		return RTP_KIND_TURN;
	if (p[0] >= 128 && p[0] <= 191)
		return rtp_is_rtcp(p, len) ? RTP_KIND_RTCP : RTP_KIND_RTP;
	return RTP_KIND_OTHER;
}

int rtp_dtmf_parse(struct rtp_dtmf *ev, const uint8_t *p, size_t len)
{
	const uint8_t *q;

	if (len < RTP_DTMF_LEN)
		return -ENODATA;
	if (len % RTP_DTMF_LEN || len > 0xffff)
		return -EBADMSG;
	q = p + len - RTP_DTMF_LEN;
	ev->event = q[0];
	ev->end = q[1] >> 7;        /* the R bit (0x40) is ignored */
	ev->volume = q[1] & 0x3f;
	ev->duration = (uint16_t)be16(q + 2);
	return (int)(len / RTP_DTMF_LEN);
}

int rtp_dtmf_build(uint8_t *p, size_t cap, const struct rtp_dtmf *ev)
{
	if (ev->volume > 63)
		return -EINVAL;
	if (cap < RTP_DTMF_LEN)
		return -ENOSPC;
	p[0] = ev->event;
	p[1] = (uint8_t)((ev->end ? 0x80 : 0) | ev->volume);
	put_be16(p + 2, ev->duration);
	return RTP_DTMF_LEN;
}

/* RFC 3550 A.1 */
#define MAX_DROPOUT 3000
#define MAX_MISORDER 100
#define MIN_SEQUENTIAL 2
#define SEQ_MOD (1u << 16)

void rtp_rx_init(struct rtp_rx_stats *st)
{
	memset(st, 0, sizeof(*st));
}

static void init_seq(struct rtp_rx_stats *st, uint16_t seq)
{
	st->base_seq = seq;
	st->max_seq = seq;
	st->bad_seq = SEQ_MOD + 1;   /* so seq == bad_seq is false */
	st->cycles = 0;
	st->received = 0;
	st->received_prior = 0;
	st->expected_prior = 0;
	st->have_transit = false;  /* a restarted sender has a new clock */
}

static void start_source(struct rtp_rx_stats *st, uint32_t ssrc, uint16_t seq)
{
	rtp_rx_init(st);
	st->started = true;
	st->ssrc = ssrc;
	init_seq(st, seq);
	st->max_seq = (uint16_t)(seq - 1);
	st->probation = MIN_SEQUENTIAL;
}

static bool update_seq(struct rtp_rx_stats *st, uint16_t seq)
{
	uint16_t udelta = (uint16_t)(seq - st->max_seq);

	if (st->probation) {
		/* in sequence: one step closer to being a valid source */
		if (seq == (uint16_t)(st->max_seq + 1)) {
			st->probation--;
			st->max_seq = seq;
			if (!st->probation) {
				init_seq(st, seq);
				st->received++;
				return true;
			}
		} else {
			st->probation = MIN_SEQUENTIAL - 1;
			st->max_seq = seq;
		}
		return false;
	}
	if (udelta < MAX_DROPOUT) {
		/* in order, with a permissible gap */
		if (seq < st->max_seq)
			st->cycles += SEQ_MOD;
		st->max_seq = seq;
	} else if (udelta <= SEQ_MOD - MAX_MISORDER) {
		/* a very large jump: believe it when the next one follows it */
		if (seq != st->bad_seq) {
			st->bad_seq = (seq + 1u) & (SEQ_MOD - 1);
			return false;
		}
		init_seq(st, seq);
	}
	/* else a duplicate or a reordered packet: counted, as A.1 does */
	st->received++;
	return true;
}

/* RFC 3550 A.8, in the integer form: jitter is kept scaled by 16 */
static void update_jitter(struct rtp_rx_stats *st, uint32_t rtp_ts, uint32_t arrival)
{
	uint32_t transit = arrival - rtp_ts;
	uint32_t d = transit - st->transit;
	uint64_t j;

	if (st->have_transit) {
		if (d > INT32_MAX)
			d = -d;
		j = (uint64_t)st->jitter + d - ((st->jitter + 8ull) >> 4);
		st->jitter = j > UINT32_MAX ? UINT32_MAX : (uint32_t)j;
	}
	st->transit = transit;
	st->have_transit = true;
}

bool rtp_rx_update(struct rtp_rx_stats *st, uint32_t ssrc, uint16_t seq, uint32_t rtp_ts,
		   uint32_t arrival)
{
	if (!st->started || ssrc != st->ssrc)
		start_source(st, ssrc, seq);
	if (!update_seq(st, seq))
		return false;
	update_jitter(st, rtp_ts, arrival);
	return true;
}

void rtp_rx_sr(struct rtp_rx_stats *st, uint64_t ntp, uint32_t now)
{
	st->lsr = (uint32_t)(ntp >> 16);
	st->lsr_at = now;
}

/* RFC 3550 A.3 */
void rtp_rx_report(struct rtp_rx_stats *st, struct rtcp_rb *rb, uint32_t now)
{
	uint32_t expected, exp_int, rcv_int;
	int64_t lost, lost_int;

	memset(rb, 0, sizeof(*rb));
	rb->ssrc = st->ssrc;
	rb->lsr = st->lsr;
	rb->dlsr = st->lsr ? now - st->lsr_at : 0;
	if (!st->started || st->probation)
		return;
	expected = rtp_rx_ext_max(st) - st->base_seq + 1;
	lost = (int64_t)expected - st->received;
	rb->lost = (int32_t)(lost > 0x7fffff ? 0x7fffff : lost < -0x800000 ? -0x800000 : lost);
	exp_int = expected - st->expected_prior;
	st->expected_prior = expected;
	rcv_int = st->received - st->received_prior;
	st->received_prior = st->received;
	lost_int = (int64_t)exp_int - rcv_int;
	if (exp_int && lost_int > 0)
		rb->fraction = (uint8_t)(lost_int >= exp_int ? 255 : (lost_int << 8) / exp_int);
	rb->ext_seq = rtp_rx_ext_max(st);
	/* A.8 reports jitter >> 4, but its integer filter settles half a unit
	 * low (at 16 D - 8 for a constant D), so round instead */
	rb->jitter = (uint32_t)((st->jitter + 8ull) >> 4);
}

int rtp_tx_init(struct rtp_tx *tx, uint8_t pt, uint32_t frame)
{
	uint8_t r[10];
	ssize_t n;

	if (pt > 127 || !frame)
		return -EINVAL;
	do
		n = getrandom(r, sizeof(r), 0);
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof(r))
		return n < 0 ? -errno : -EIO;
	memset(tx, 0, sizeof(*tx));
	tx->ssrc = be32(r);
	tx->seq = (uint16_t)be16(r + 4);
	tx->ts_off = be32(r + 6);
	tx->pt = pt;
	tx->frame = frame;
	return 0;
}

void rtp_tx_next(struct rtp_tx *tx, uint32_t ts, struct rtp_hdr *h)
{
	memset(h, 0, sizeof(*h));
	h->marker = !tx->started || ts - tx->last_ts > tx->frame;
	h->pt = tx->pt;
	h->seq = tx->seq++;
	h->ts = ts + tx->ts_off;
	h->ssrc = tx->ssrc;
	tx->started = true;
	tx->last_ts = ts;
}
