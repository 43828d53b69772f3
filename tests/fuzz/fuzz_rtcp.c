/* libFuzzer target for media/rtcp.c.  The input is one datagram: if its
 * headers check out, every packet is decoded; SR, RR, SDES CNAMEs and BYE
 * are built again from the decoded fields and must decode to the same
 * fields (and to the same bytes when the packet had nothing the builders
 * leave out); report blocks go through the round-trip-time code. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "buf.h"
#include "rtcp.h"

#define CHECK(c) do { if (!(c)) abort(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t out[2048];
static struct rtcp_pkt p2;   /* big: keep off the stack */

/* Decode the single packet in out[0..n) into p2. */
static void reparse(int n, uint8_t type)
{
	struct rtcp_iter it;

	CHECK(n > 0);
	CHECK(rtcp_iter_init(&it, out, (size_t)n) == 0);
	CHECK(rtcp_next(&it, &p2) == 0);
	CHECK(p2.type == type);
	CHECK(rtcp_next(&it, &p2) == -ENOENT && p2.type == type);
}

static void rb_same(const struct rtcp_rb *a, const struct rtcp_rb *b)
{
	CHECK(a->ssrc == b->ssrc && a->fraction == b->fraction && a->lost == b->lost);
	CHECK(a->ext_seq == b->ext_seq && a->jitter == b->jitter);
	CHECK(a->lsr == b->lsr && a->dlsr == b->dlsr);
}

static void report(const struct rtcp_pkt *pkt)
{
	const struct rtcp_sender_info *si = pkt->type == RTCP_SR ? &pkt->u.r.si : NULL;
	size_t want = (si ? 28 : 8) + 24 * (size_t)pkt->count;
	int n = si ? rtcp_build_sr(out, sizeof(out), pkt->ssrc, si, pkt->u.r.rb, pkt->count)
		   : rtcp_build_rr(out, sizeof(out), pkt->ssrc, pkt->u.r.rb, pkt->count);

	CHECK(n == (int)want);
	/* no extension, no padding: the same bytes */
	if (pkt->blen + 4 == want && !(pkt->body[-4] & 0x20))
		CHECK(!memcmp(out, pkt->body - 4, want));
	reparse(n, pkt->type);
	CHECK(p2.ssrc == pkt->ssrc && p2.count == pkt->count);
	if (si)
		CHECK(p2.u.r.si.ntp == si->ntp && p2.u.r.si.rtp_ts == si->rtp_ts &&
		      p2.u.r.si.packets == si->packets && p2.u.r.si.octets == si->octets);
	for (unsigned i = 0; i < pkt->count; i++) {
		uint32_t rtt;
		rb_same(&p2.u.r.rb[i], &pkt->u.r.rb[i]);
		if (!rtcp_rtt(&pkt->u.r.rb[i], pkt->ssrc, &rtt))
			CHECK(rtt <= pkt->ssrc - pkt->u.r.rb[i].lsr);
	}
}

static void sdes(const struct rtcp_pkt *pkt)
{
	for (unsigned i = 0; i < pkt->count; i++) {
		const struct rtcp_sdes_chunk *c = &pkt->u.sdes[i];
		int n;

		if (!c->cname || !c->cname_len)
			continue;
		n = rtcp_build_sdes(out, sizeof(out), c->ssrc, (const char *)c->cname, c->cname_len);
		reparse(n, RTCP_SDES);
		CHECK(p2.count == 1 && p2.u.sdes[0].ssrc == c->ssrc);
		CHECK(p2.u.sdes[0].cname_len == c->cname_len);
		CHECK(!memcmp(p2.u.sdes[0].cname, c->cname, c->cname_len));
	}
}

static void bye(const struct rtcp_pkt *pkt)
{
	const char *reason = (const char *)pkt->u.bye.reason;
	int n = rtcp_build_bye(out, sizeof(out), pkt->u.bye.ssrc, pkt->count, reason,
			       pkt->u.bye.reason_len);

	reparse(n, RTCP_BYE);
	CHECK(p2.count == pkt->count);
	CHECK(!memcmp(p2.u.bye.ssrc, pkt->u.bye.ssrc, 4u * pkt->count));
	if (reason && pkt->u.bye.reason_len)
		CHECK(p2.u.bye.reason_len == pkt->u.bye.reason_len &&
		      !memcmp(p2.u.bye.reason, reason, p2.u.bye.reason_len));
	else
		CHECK(!p2.u.bye.reason);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct rtcp_pkt pkt;
	struct rtcp_iter it;
	size_t total = 0;
	int err;

	if (rtcp_iter_init(&it, data, size))
		return 0;
	while (!(err = rtcp_next(&it, &pkt))) {
		CHECK(pkt.body >= data + 4 && pkt.body + pkt.blen <= data + size);
		total += pkt.blen + 4;
		if (pkt.type == RTCP_SR || pkt.type == RTCP_RR)
			report(&pkt);
		else if (pkt.type == RTCP_SDES)
			sdes(&pkt);
		else if (pkt.type == RTCP_BYE)
			bye(&pkt);
	}
	CHECK(err == -ENOENT || err == -EBADMSG);
	CHECK(total <= size);
	return 0;
}
