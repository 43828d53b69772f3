/* SRTP and SRTCP (RFC 3711) ourselves, on OpenSSL: the default msrtp
 * backend (srtp.c says why).  AES_CM_128 with HMAC_SHA1_80 or _32 for SRTP
 * and always _80 for SRTCP; the crypto is in srtp_ossl_key.c.
 *
 * It gives the bytes and verdicts libsrtp gives for the same keys and
 * packets (tests/unit/test_srtp_cross.c holds it to that): the same index
 * estimate, a 128-packet replay window per SSRC for SRTP and for SRTCP,
 * SRTCP indices from 1 per SSRC, the replay check before the tag and the
 * state moved only after it.  Any SSRC is taken, as libsrtp's
 * ssrc_any_inbound and ssrc_any_outbound, but instead of a stream
 * allocated per SSRC each direction keeps a fixed table of NSSRC, and a
 * new one takes the place of the least recently used (its window and ROC
 * are forgotten).  Sending, we choose the SSRCs: one per call.  Receiving,
 * only an authenticated packet makes or refreshes an entry.  So nothing
 * is allocated per packet. */
#include <errno.h>
#include <string.h>
#include <openssl/crypto.h>
#include "buf.h"
#include "log.h"
#include "mem.h"
#include "srtp_int.h"

#define NSSRC 4
#define WIN 128
#define SEQ_HALF 0x8000
#define SRTCP_E 0x80000000u
#define SRTCP_MAX_INDEX 0x7fffffffu

/* One SSRC of one direction.  A new one is all zero but for rtcp_top. */
struct ostream {
	uint32_t ssrc;
	uint64_t used;            /* the direction's clock at its last packet; 0: free */
	uint64_t rtp_top;         /* highest SRTP index */
	/* Receiving: the highest SRTCP index, 127 at first (libsrtp's window
	 * starts at 0).  Sending: the last SRTCP index used. */
	uint64_t rtcp_top;
	struct osrtp_win rtp_win, rtcp_win;
};

struct odir {
	struct osrtp_keys rtp, rtcp;
	struct ostream ss[NSSRC];
	uint64_t clock;
	bool rx;
};

struct osess {
	struct odir tx, rx;
};

int osrtp_estimate(uint64_t top, uint16_t seq, uint64_t *index)
{
	uint32_t roc = (uint32_t)(top >> 16);
	int s_l = (uint16_t)top, d = (int)seq - s_l;

	/* libsrtp never guesses ROC - 1 (ROC 0xffffffff) near the start. */
	if (top <= SEQ_HALF) {
		*index = seq;
		return d;
	}
	if (s_l < SEQ_HALF && d > SEQ_HALF) {
		roc--;
		d -= 0x10000;
	} else if (s_l >= SEQ_HALF && s_l - SEQ_HALF > (int)seq) {
		roc++;
		d += 0x10000;
	}
	*index = (uint64_t)roc << 16 | seq;
	return d;
}

int osrtp_win_check(const struct osrtp_win *w, int64_t delta)
{
	uint64_t k;

	if (delta > 0)
		return 0;
	if (delta <= -WIN)
		return -EALREADY;
	k = (uint64_t)-delta;
	return w->bits[k / 64] >> (k % 64) & 1 ? -EALREADY : 0;
}

void osrtp_win_add(struct osrtp_win *w, uint64_t *top, int64_t delta)
{
	uint64_t k;

	if (delta <= -WIN)
		return;
	if (delta > 0) {
		uint64_t n = (uint64_t)delta;

		if (n >= WIN) {
			w->bits[0] = w->bits[1] = 0;
		} else if (n >= 64) {
			w->bits[1] = w->bits[0] << (n - 64);
			w->bits[0] = 0;
		} else {
			w->bits[1] = w->bits[1] << n | w->bits[0] >> (64 - n);
			w->bits[0] <<= n;
		}
		*top += n;
		delta = 0;
	}
	k = (uint64_t)-delta;
	w->bits[k / 64] |= 1ull << (k % 64);
}

static void fresh(const struct odir *d, struct ostream *st, uint32_t ssrc)
{
	memset(st, 0, sizeof(*st));
	st->ssrc = ssrc;
	st->rtcp_top = d->rx ? WIN - 1 : 0;
}

static struct ostream *find(struct odir *d, uint32_t ssrc)
{
	for (unsigned i = 0; i < NSSRC; i++)
		if (d->ss[i].used && d->ss[i].ssrc == ssrc)
			return &d->ss[i];
	return NULL;
}

/* The entry for a new SSRC: a free one, else the least recently used. */
static struct ostream *take(struct odir *d, uint32_t ssrc)
{
	struct ostream *st = &d->ss[0];

	for (unsigned i = 1; i < NSSRC; i++)
		if (d->ss[i].used < st->used)
			st = &d->ss[i];
	if (st->used)
		LOGD("srtp: %s SSRC %08x replaces %08x", d->rx ? "received" : "sent", ssrc,
		     st->ssrc);
	fresh(d, st, ssrc);
	st->used = ++d->clock;
	return st;
}

/* Receiving: the SSRC's entry, or a fresh one in *tmp until the packet is
 * authenticated (then commit() gives it a place). */
static struct ostream *lookup(struct odir *d, uint32_t ssrc, struct ostream *tmp)
{
	struct ostream *st = find(d, ssrc);

	if (st)
		return st;
	fresh(d, tmp, ssrc);
	return tmp;
}

static struct ostream *commit(struct odir *d, struct ostream *st, const struct ostream *tmp)
{
	if (st == tmp) {
		st = take(d, tmp->ssrc);
		*st = *tmp;
	}
	st->used = ++d->clock;
	return st;
}

static int protect(struct msrtp *s, uint8_t *pkt, size_t *len, size_t hdr)
{
	struct odir *d = &((struct osess *)s->be)->tx;
	uint32_t ssrc = be32(pkt + 8);
	struct ostream *st = find(d, ssrc);
	uint8_t roc[4], tag[SHA_DIGEST_LENGTH];
	uint64_t index;
	int delta, err;

	if (!st)
		st = take(d, ssrc);
	delta = osrtp_estimate(st->rtp_top, be16(pkt + 2), &index);
	err = osrtp_win_check(&st->rtp_win, delta);   /* an index is never used twice */
	if (err)
		return err;
	osrtp_win_add(&st->rtp_win, &st->rtp_top, delta);
	st->used = ++d->clock;
	err = osrtp_crypt(&d->rtp, ssrc, index, pkt + hdr, *len - hdr);
	if (err)
		return err;
	put_be32(roc, (uint32_t)(index >> 16));
	osrtp_hmac(&d->rtp, pkt, *len, roc, tag);
	memcpy(pkt + *len, tag, msrtp_tag_len(s));
	*len += msrtp_tag_len(s);
	return 0;
}

static int unprotect(struct msrtp *s, uint8_t *pkt, size_t *len, size_t hdr)
{
	struct odir *d = &((struct osess *)s->be)->rx;
	size_t n = *len - msrtp_tag_len(s);
	uint32_t ssrc = be32(pkt + 8);
	struct ostream tmp, *st = lookup(d, ssrc, &tmp);
	uint8_t roc[4], tag[SHA_DIGEST_LENGTH];
	uint64_t index;
	int delta, err;

	delta = osrtp_estimate(st->rtp_top, be16(pkt + 2), &index);
	err = osrtp_win_check(&st->rtp_win, delta);
	if (err)
		return err;
	put_be32(roc, (uint32_t)(index >> 16));
	osrtp_hmac(&d->rtp, pkt, n, roc, tag);
	if (CRYPTO_memcmp(tag, pkt + n, msrtp_tag_len(s)))
		return -EACCES;
	err = osrtp_crypt(&d->rtp, ssrc, index, pkt + hdr, n - hdr);
	if (err)
		return err;
	st = commit(d, st, &tmp);
	osrtp_win_add(&st->rtp_win, &st->rtp_top, delta);
	*len = n;
	return 0;
}

/* RFC 3711 3.4: all but the first 8 bytes encrypted, then E and the index,
 * then the tag over everything before it. */
static int protect_rtcp(struct msrtp *s, uint8_t *pkt, size_t *len)
{
	struct odir *d = &((struct osess *)s->be)->tx;
	uint32_t ssrc = be32(pkt + 4);
	struct ostream *st = find(d, ssrc);
	uint8_t tag[SHA_DIGEST_LENGTH];
	size_t n = *len;
	int err;

	if (!st)
		st = take(d, ssrc);
	if (st->rtcp_top >= SRTCP_MAX_INDEX)
		return -EIO;   /* libsrtp's key_expired: time to rekey */
	st->rtcp_top++;
	st->used = ++d->clock;
	err = osrtp_crypt(&d->rtcp, ssrc, st->rtcp_top, pkt + MSRTP_RTCP_HDR, n - MSRTP_RTCP_HDR);
	if (err)
		return err;
	put_be32(pkt + n, SRTCP_E | (uint32_t)st->rtcp_top);
	n += MSRTP_SRTCP_INDEX;
	osrtp_hmac(&d->rtcp, pkt, n, NULL, tag);
	memcpy(pkt + n, tag, MSRTP_RTCP_TAG);
	*len = n + MSRTP_RTCP_TAG;
	return 0;
}

static int unprotect_rtcp(struct msrtp *s, uint8_t *pkt, size_t *len)
{
	struct odir *d = &((struct osess *)s->be)->rx;
	size_t n = *len - MSRTP_RTCP_TAG;   /* the authenticated part */
	uint32_t ssrc = be32(pkt + 4), e_index = be32(pkt + n - MSRTP_SRTCP_INDEX);
	struct ostream tmp, *st = lookup(d, ssrc, &tmp);
	uint8_t tag[SHA_DIGEST_LENGTH];
	uint32_t index = e_index & SRTCP_MAX_INDEX;
	int64_t delta;
	int err;

	/* We always encrypt SRTCP, so we take no packet in clear. */
	if (!(e_index & SRTCP_E))
		return -EBADMSG;
	delta = (int64_t)index - (int64_t)st->rtcp_top;
	err = osrtp_win_check(&st->rtcp_win, delta);
	if (err)
		return err;
	osrtp_hmac(&d->rtcp, pkt, n, NULL, tag);
	if (CRYPTO_memcmp(tag, pkt + n, MSRTP_RTCP_TAG))
		return -EACCES;
	n -= MSRTP_SRTCP_INDEX;
	err = osrtp_crypt(&d->rtcp, ssrc, index, pkt + MSRTP_RTCP_HDR, n - MSRTP_RTCP_HDR);
	if (err)
		return err;
	st = commit(d, st, &tmp);
	osrtp_win_add(&st->rtcp_win, &st->rtcp_top, delta);
	*len = n;
	return 0;
}

static void destroy(void *arg)
{
	struct osess *o = arg;

	osrtp_keys_clear(&o->tx.rtp);
	osrtp_keys_clear(&o->tx.rtcp);
	osrtp_keys_clear(&o->rx.rtp);
	osrtp_keys_clear(&o->rx.rtcp);
}

static int alloc(struct msrtp *s, const uint8_t *tx_key_salt, const uint8_t *rx_key_salt)
{
	struct osess *o = mem_zalloc(sizeof(*o), destroy);
	int err;

	if (!o)
		return -ENOMEM;
	o->rx.rx = true;
	err = osrtp_keys_init(&o->tx.rtp, tx_key_salt, OSRTP_LABEL_RTP);
	if (!err)
		err = osrtp_keys_init(&o->tx.rtcp, tx_key_salt, OSRTP_LABEL_RTCP);
	if (!err)
		err = osrtp_keys_init(&o->rx.rtp, rx_key_salt, OSRTP_LABEL_RTP);
	if (!err)
		err = osrtp_keys_init(&o->rx.rtcp, rx_key_salt, OSRTP_LABEL_RTCP);
	if (err) {
		mem_deref(o);
		return err;
	}
	s->be = o;
	return 0;
}

static int init(void)
{
	return 0;   /* OpenSSL 3 initialises itself */
}

const struct msrtp_ops msrtp_ossl_ops = {
	.name = "openssl",
	.init = init,
	.alloc = alloc,
	.protect = protect,
	.unprotect = unprotect,
	.protect_rtcp = protect_rtcp,
	.unprotect_rtcp = unprotect_rtcp,
};
