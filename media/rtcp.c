/* RTCP compound packets: walk, decode, build (rtcp.h). */
#include <errno.h>
#include <string.h>
#include "buf.h"
#include "rtcp.h"

#define HDR_LEN 4
#define RB_LEN 24
#define SI_LEN 20

/* Bytes of the packet starting at p, from its length field. */
static size_t read_len(const uint8_t *p)
{
	return ((size_t)be16(p + 2) + 1) * 4;
}

int rtcp_iter_init(struct rtcp_iter *it, const uint8_t *p, size_t len)
{
	size_t pos = 0;

	it->p = p;
	it->len = len;
	it->pos = 0;
	if (!len)
		return -ENODATA;
	while (pos < len) {
		const uint8_t *h = p + pos;
		size_t n;

		if (len - pos < HDR_LEN)
			return -ENODATA;
		if (h[0] >> 6 != 2 || h[1] < 192 || h[1] > 223)
			return -EBADMSG;
		n = read_len(h);
		if (n > len - pos)
			return -ENODATA;
		if (h[0] & 0x20) {
			/* padding belongs to the last packet only, and its count
			 * (the last byte) must leave the header alone */
			if (pos + n != len || !p[len - 1] || p[len - 1] > n - HDR_LEN)
				return -EBADMSG;
		}
		pos += n;
	}
	return 0;
}

static void get_rb(struct rtcp_rb *rb, const uint8_t *b)
{
	rb->ssrc = be32(b);
	rb->fraction = b[4];
	rb->lost = (int32_t)(be24(b + 5) ^ 0x800000) - 0x800000;
	rb->ext_seq = be32(b + 8);
	rb->jitter = be32(b + 12);
	rb->lsr = be32(b + 16);
	rb->dlsr = be32(b + 20);
}

/* SR and RR; bytes after the blocks are profile-specific extensions */
static int parse_report(struct rtcp_pkt *pkt)
{
	const uint8_t *b = pkt->body;
	size_t off = pkt->type == RTCP_SR ? 4 + SI_LEN : 4;

	if (pkt->blen < off + (size_t)RB_LEN * pkt->count)
		return -EBADMSG;
	pkt->ssrc = be32(b);
	if (pkt->type == RTCP_SR) {
		struct rtcp_sender_info *si = &pkt->u.r.si;
		si->ntp = (uint64_t)be32(b + 4) << 32 | be32(b + 8);
		si->rtp_ts = be32(b + 12);
		si->packets = be32(b + 16);
		si->octets = be32(b + 20);
	}
	for (unsigned i = 0; i < pkt->count; i++)
		get_rb(&pkt->u.r.rb[i], b + off + (size_t)RB_LEN * i);
	return 0;
}

/* One chunk from *pos: SSRC, items, then null octets to a 32-bit boundary */
static int parse_chunk(struct rtcp_sdes_chunk *c, const uint8_t *b, size_t blen, size_t *pos)
{
	size_t i = *pos;

	if (blen - i < 4)
		return -EBADMSG;
	c->ssrc = be32(b + i);
	i += 4;
	for (;;) {
		if (i >= blen)
			return -EBADMSG;   /* no terminating null octet */
		if (!b[i])
			break;
		if (blen - i < 2 || blen - i - 2 < b[i + 1])
			return -EBADMSG;
		if (b[i] == RTCP_SDES_CNAME && !c->cname) {
			c->cname = b + i + 2;
			c->cname_len = b[i + 1];
		}
		i += 2 + (size_t)b[i + 1];
	}
	for (i++; i % 4; i++)
		if (i >= blen || b[i])
			return -EBADMSG;
	*pos = i;
	return 0;
}

static int parse_sdes(struct rtcp_pkt *pkt)
{
	size_t pos = 0;

	for (unsigned i = 0; i < pkt->count; i++) {
		int err = parse_chunk(&pkt->u.sdes[i], pkt->body, pkt->blen, &pos);
		if (err)
			return err;
	}
	/* tolerate null words after the last chunk, nothing else */
	for (; pos < pkt->blen; pos++)
		if (pkt->body[pos])
			return -EBADMSG;
	pkt->ssrc = pkt->count ? pkt->u.sdes[0].ssrc : 0;
	return 0;
}

static int parse_bye(struct rtcp_pkt *pkt)
{
	const uint8_t *b = pkt->body;
	size_t pos = 4 * (size_t)pkt->count;

	if (pkt->blen < pos)
		return -EBADMSG;
	for (unsigned i = 0; i < pkt->count; i++)
		pkt->u.bye.ssrc[i] = be32(b + 4 * i);
	pkt->ssrc = pkt->count ? pkt->u.bye.ssrc[0] : 0;
	if (pos < pkt->blen) {
		uint8_t n = b[pos];
		if (pkt->blen - pos - 1 < n)
			return -EBADMSG;
		pkt->u.bye.reason = b + pos + 1;
		pkt->u.bye.reason_len = n;
		pos += 1 + (size_t)n;
		if (pkt->blen - pos >= 4)
			return -EBADMSG;   /* more than alignment after the reason */
	}
	return 0;
}

/* APP: SSRC, name, data; RTPFB and PSFB: SSRC, media SSRC, FCI */
static int parse_app(struct rtcp_pkt *pkt)
{
	const uint8_t *b = pkt->body;

	if (pkt->blen < 8)
		return -EBADMSG;
	pkt->ssrc = be32(b);
	if (pkt->type == RTCP_APP)
		memcpy(pkt->u.app.name, b + 4, 4);
	else
		pkt->u.app.media_ssrc = be32(b + 4);
	pkt->u.app.data = b + 8;
	pkt->u.app.len = pkt->blen - 8;
	return 0;
}

int rtcp_next(struct rtcp_iter *it, struct rtcp_pkt *pkt)
{
	const uint8_t *h;
	size_t n;

	if (it->pos >= it->len)
		return -ENOENT;
	h = it->p + it->pos;
	n = read_len(h);
	it->pos += n;
	memset(pkt, 0, sizeof(*pkt));
	pkt->type = h[1];
	pkt->count = h[0] & 0x1f;
	pkt->body = h + HDR_LEN;
	pkt->blen = n - HDR_LEN - (h[0] & 0x20 ? it->p[it->len - 1] : 0);
	switch (pkt->type) {
	case RTCP_SR:
	case RTCP_RR:
		return parse_report(pkt);
	case RTCP_SDES:
		return parse_sdes(pkt);
	case RTCP_BYE:
		return parse_bye(pkt);
	case RTCP_APP:
	case RTCP_RTPFB:
	case RTCP_PSFB:
		return parse_app(pkt);
	default:
		return 0;
	}
}

static void put_hdr(uint8_t *p, unsigned count, enum rtcp_type type, size_t n)
{
	p[0] = (uint8_t)(0x80 | count);
	p[1] = (uint8_t)type;
	put_be16(p + 2, (uint32_t)(n / 4 - 1));
}

static void put_rb(uint8_t *p, const struct rtcp_rb *rb)
{
	int32_t lost = rb->lost > 0x7fffff ? 0x7fffff : rb->lost < -0x800000 ? -0x800000 : rb->lost;

	put_be32(p, rb->ssrc);
	p[4] = rb->fraction;
	put_be24(p + 5, (uint32_t)lost & 0xffffff);
	put_be32(p + 8, rb->ext_seq);
	put_be32(p + 12, rb->jitter);
	put_be32(p + 16, rb->lsr);
	put_be32(p + 20, rb->dlsr);
}

static int build_report(uint8_t *p, size_t cap, enum rtcp_type type, uint32_t ssrc,
			const struct rtcp_sender_info *si, const struct rtcp_rb *rb, unsigned nrb)
{
	size_t off = si ? 8 + SI_LEN : 8, n = off + (size_t)RB_LEN * nrb;

	if (nrb > RTCP_MAX_COUNT)
		return -EINVAL;
	if (n > cap)
		return -ENOSPC;
	put_hdr(p, nrb, type, n);
	put_be32(p + 4, ssrc);
	if (si) {
		put_be32(p + 8, (uint32_t)(si->ntp >> 32));
		put_be32(p + 12, (uint32_t)si->ntp);
		put_be32(p + 16, si->rtp_ts);
		put_be32(p + 20, si->packets);
		put_be32(p + 24, si->octets);
	}
	for (unsigned i = 0; i < nrb; i++)
		put_rb(p + off + (size_t)RB_LEN * i, &rb[i]);
	return (int)n;
}

int rtcp_build_sr(uint8_t *p, size_t cap, uint32_t ssrc, const struct rtcp_sender_info *si,
		  const struct rtcp_rb *rb, unsigned nrb)
{
	return build_report(p, cap, RTCP_SR, ssrc, si, rb, nrb);
}

int rtcp_build_rr(uint8_t *p, size_t cap, uint32_t ssrc, const struct rtcp_rb *rb,
		  unsigned nrb)
{
	return build_report(p, cap, RTCP_RR, ssrc, NULL, rb, nrb);
}

int rtcp_build_sdes(uint8_t *p, size_t cap, uint32_t ssrc, const char *cname, size_t len)
{
	/* header, SSRC, CNAME item, at least one null octet, to 32 bits */
	size_t n = (HDR_LEN + 4 + 2 + len + 1 + 3) & ~(size_t)3;

	if (!len || len > 255)
		return -EINVAL;
	if (n > cap)
		return -ENOSPC;
	memset(p, 0, n);
	put_hdr(p, 1, RTCP_SDES, n);
	put_be32(p + 4, ssrc);
	p[8] = RTCP_SDES_CNAME;
	p[9] = (uint8_t)len;
	memcpy(p + 10, cname, len);
	return (int)n;
}

int rtcp_build_bye(uint8_t *p, size_t cap, const uint32_t *ssrc, unsigned nssrc,
		   const char *reason, size_t rlen)
{
	size_t n = HDR_LEN + 4 * (size_t)nssrc, pos = n;

	if (nssrc > RTCP_MAX_COUNT || rlen > 255)
		return -EINVAL;
	if (reason && rlen)
		n += (1 + rlen + 3) & ~(size_t)3;
	if (n > cap)
		return -ENOSPC;
	memset(p, 0, n);
	put_hdr(p, nssrc, RTCP_BYE, n);
	for (unsigned i = 0; i < nssrc; i++)
		put_be32(p + HDR_LEN + 4 * i, ssrc[i]);
	if (reason && rlen) {
		p[pos] = (uint8_t)rlen;
		memcpy(p + pos + 1, reason, rlen);
	}
	return (int)n;
}

int rtcp_rtt(const struct rtcp_rb *rb, uint32_t now, uint32_t *rtt)
{
	uint32_t elapsed = now - rb->lsr;

	if (!rb->lsr)
		return -ENODATA;
	if (elapsed > INT32_MAX || rb->dlsr > elapsed)
		return -ERANGE;
	*rtt = elapsed - rb->dlsr;
	return 0;
}
