/* libFuzzer target for media/rtp.c.  The input is one datagram: it is
 * classified (rtp_is_rtcp must agree with rtp_classify), and if it parses
 * as RTP it is built again from the parsed header, which must give the
 * same bytes (padding aside, written as zeros) and parse to the same
 * fields; a payload that parses as telephone-events must build back too.
 * The input is also read as a script of (SSRC, seq, timestamp, arrival)
 * for the receive statistics, whose reports must stay within the field
 * ranges. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "buf.h"
#include "rtcp.h"
#include "rtp.h"

#define CHECK(c) do { if (!(c)) abort(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void same_hdr(const struct rtp_hdr *a, const struct rtp_hdr *b)
{
	CHECK(a->marker == b->marker && a->pt == b->pt && a->seq == b->seq && a->ts == b->ts);
	CHECK(a->ssrc == b->ssrc && a->cc == b->cc && a->ext == b->ext);
	CHECK(!memcmp(a->csrc, b->csrc, 4u * a->cc));
	CHECK(a->ext_profile == b->ext_profile && a->ext_len == b->ext_len);
	CHECK(!a->ext_len || !memcmp(a->ext_data, b->ext_data, a->ext_len));
	CHECK(a->pad_len == b->pad_len && a->plen == b->plen);
	CHECK(!a->plen || !memcmp(a->payload, b->payload, a->plen));
}

static void roundtrip(const uint8_t *data, size_t size)
{
	static uint8_t out[65536 + 512];
	struct rtp_hdr h, g;
	struct rtp_dtmf ev;
	int n;

	if (rtp_parse(&h, data, size))
		return;
	CHECK(rtp_classify(data, size) == RTP_KIND_RTP || rtp_classify(data, size) == RTP_KIND_RTCP);
	CHECK(rtp_hdr_len(&h) + h.plen + h.pad_len == size);
	CHECK(h.payload == data + rtp_hdr_len(&h));
	if (size > sizeof(out))
		return;
	n = rtp_build(out, sizeof(out), &h, h.payload, h.plen);
	CHECK(n == (int)size);
	CHECK(!memcmp(out, data, size - h.pad_len));
	CHECK(!h.pad_len || out[size - 1] == h.pad_len);
	CHECK(rtp_build(out, size - 1, &h, h.payload, h.plen) == -ENOSPC);
	CHECK(rtp_parse(&g, out, size) == 0);
	g.payload = h.payload;   /* compare contents, not where they sit */
	g.ext_data = h.ext_data;
	same_hdr(&h, &g);
	n = rtp_dtmf_parse(&ev, h.payload, h.plen);
	if (n > 0) {
		/* the same block back, but for the reserved R bit */
		const uint8_t *q = h.payload + h.plen - 4;
		uint8_t b[4];
		CHECK((size_t)n * 4 == h.plen);
		CHECK(rtp_dtmf_build(b, sizeof(b), &ev) == 4);
		CHECK(b[0] == q[0] && b[1] == (q[1] & ~0x40) && !memcmp(b + 2, q + 2, 2));
	}
}

static void stats(const uint8_t *data, size_t size)
{
	struct rtp_rx_stats st;
	struct rtcp_rb rb;

	rtp_rx_init(&st);
	for (size_t i = 0; i + 12 <= size; i += 12) {
		const uint8_t *p = data + i;
		/* a few SSRCs, so that restarts happen without drowning the rest */
		rtp_rx_update(&st, p[0] & 3, (uint16_t)be16(p + 2), be32(p + 4), be32(p + 8));
		if (p[1] == 0xff)
			rtp_rx_sr(&st, (uint64_t)be32(p + 4) << 32 | be32(p + 8), be32(p + 6));
		if (p[1] >= 0xf0) {
			rtp_rx_report(&st, &rb, be32(p + 8));
			CHECK(rb.lost >= -0x800000 && rb.lost <= 0x7fffff);
			CHECK(rb.ssrc == st.ssrc);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	CHECK(rtp_is_rtcp(data, size) == (rtp_classify(data, size) == RTP_KIND_RTCP));
	roundtrip(data, size);
	stats(data, size);
	return 0;
}
