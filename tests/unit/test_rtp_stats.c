/* Tests for the receiver statistics of media/rtp.c (RFC 3550 A.1, A.3,
 * A.8) on scripted sequences.  The expected numbers were worked out by hand
 * and cross-checked with a Python transcription of the appendix code. */
#include <string.h>
#include "rtcp.h"
#include "rtp.h"
#include "test.h"

#define SSRC 0x0badcafe

/* Feed seq with timestamp seq * step and arrival = timestamp. */
static unsigned feed(struct rtp_rx_stats *st, uint32_t ssrc, uint16_t seq, uint32_t step)
{
	return rtp_rx_update(st, ssrc, seq, seq * step, seq * step);
}

/* 1000..1999 with every seq ending in 9 dropped, then 2000..2099 likewise */
int test_rtp_stats_loss(void)
{
	struct rtp_rx_stats st;
	struct rtcp_rb rb;
	unsigned valid = 0;

	rtp_rx_init(&st);
	for (uint32_t s = 1000; s < 2000; s++)
		if (s % 10 != 9)
			valid += feed(&st, SSRC, (uint16_t)s, 160);
	/* 1000 is the first probation packet; 1001 makes the source valid */
	TEST_EQ(valid, 899);
	TEST_EQ(st.base_seq, 1001);
	rtp_rx_report(&st, &rb, 0);
	TEST_EQ(rb.ssrc, SSRC);
	TEST_EQ(rb.ext_seq, 1998);
	TEST_EQ(rb.lost, 99);
	TEST_EQ(rb.fraction, 99 * 256 / 998);    /* 25 */
	TEST_EQ(rb.jitter, 0);
	TEST_EQ(rb.lsr, 0);
	TEST_EQ(rb.dlsr, 0);
	for (uint32_t s = 2000; s < 2100; s++)
		if (s % 10 != 9)
			feed(&st, SSRC, (uint16_t)s, 160);
	rtp_rx_report(&st, &rb, 0);
	TEST_EQ(rb.ext_seq, 2098);
	TEST_EQ(rb.lost, 109);
	TEST_EQ(rb.fraction, 10 * 256 / 100);    /* this interval only */
	/* an interval with nothing new */
	rtp_rx_report(&st, &rb, 0);
	TEST_EQ(rb.lost, 109);
	TEST_EQ(rb.fraction, 0);
	return 0;
}

/* Duplicates and reordering count as received: cumulative loss goes
 * negative, fraction lost stays 0. */
int test_rtp_stats_dup_reorder(void)
{
	static const uint16_t seqs[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 11, 10, 12, 12,
					13, 14, 15, 16, 17, 18, 19, 20};
	struct rtp_rx_stats st;
	struct rtcp_rb rb;

	rtp_rx_init(&st);
	for (size_t i = 0; i < sizeof(seqs) / sizeof(seqs[0]); i++)
		TEST_EQ(feed(&st, SSRC, seqs[i], 160), i > 0);
	rtp_rx_report(&st, &rb, 0);
	TEST_EQ(rb.ext_seq, 20);
	TEST_EQ(st.received, 22);
	TEST_EQ(rb.lost, -2);
	TEST_EQ(rb.fraction, 0);
	/* a late packet from before the base is counted too */
	TEST_ASSERT(feed(&st, SSRC, 65530, 160));
	rtp_rx_report(&st, &rb, 0);
	TEST_EQ(rb.lost, -3);
	TEST_EQ(rb.ext_seq, 20);
	/* the cumulative count is clamped to 24 bits */
	st.received = 0x01000000;
	rtp_rx_report(&st, &rb, 0);
	TEST_EQ(rb.lost, -0x800000);
	st.received = 0;
	st.cycles = 0x7fff0000;
	rtp_rx_report(&st, &rb, 0);
	TEST_EQ(rb.lost, 0x7fffff);
	return 0;
}

int test_rtp_stats_wrap(void)
{
	struct rtp_rx_stats st;
	struct rtcp_rb rb;
	uint16_t s;

	rtp_rx_init(&st);
	for (s = 65530; s != 11; s++)
		feed(&st, SSRC, s, 320);
	rtp_rx_report(&st, &rb, 0);
	TEST_EQ(rb.ext_seq, 65536 + 10);
	TEST_EQ(st.cycles, 65536);
	TEST_EQ(rb.lost, 0);
	TEST_EQ(rb.fraction, 0);
	/* the same with 65535 and 0 lost across the wrap */
	rtp_rx_init(&st);
	for (s = 65530; s != 11; s++)
		if (s != 65535 && s != 0)
			feed(&st, SSRC, s, 320);
	rtp_rx_report(&st, &rb, 0);
	TEST_EQ(rb.ext_seq, 65536 + 10);
	TEST_EQ(rb.lost, 2);
	TEST_EQ(rb.fraction, 2 * 256 / 16);
	/* many cycles */
	for (uint32_t i = 0; i < 3 * 65536; i++, s++)
		feed(&st, SSRC, s, 320);
	rtp_rx_report(&st, &rb, 0);
	TEST_EQ(rb.ext_seq, 4 * 65536 + 10);
	TEST_EQ(rb.lost, 2);
	TEST_EQ(rb.fraction, 0);
	return 0;
}

/* A sender that restarts (a big jump, confirmed by the next packet), a
 * new SSRC, and probation broken by a packet out of sequence. */
int test_rtp_stats_restart(void)
{
	struct rtp_rx_stats st;
	struct rtcp_rb rb;

	rtp_rx_init(&st);
	rtp_rx_report(&st, &rb, 0);   /* nothing yet: zeros */
	TEST_ASSERT(!rb.ssrc && !rb.ext_seq && !rb.lost);
	for (uint16_t s = 100; s < 110; s++)
		feed(&st, SSRC, s, 320);
	rtp_rx_report(&st, &rb, 0);
	TEST_EQ(rb.ext_seq, 109);
	TEST_EQ(rb.lost, 0);
	/* the jump to 40000 is not believed ... */
	TEST_ASSERT(!feed(&st, SSRC, 40000, 320));
	TEST_EQ(st.bad_seq, 40001);
	TEST_EQ(rtp_rx_ext_max(&st), 109);
	/* ... until 40001 follows it: the source starts again there */
	for (uint16_t s = 40001; s <= 40010; s++)
		TEST_ASSERT(feed(&st, SSRC, s, 320));
	rtp_rx_report(&st, &rb, 0);
	TEST_EQ(rb.ext_seq, 40010);
	TEST_EQ(st.base_seq, 40001);
	TEST_EQ(rb.lost, 0);
	TEST_EQ(rb.fraction, 0);
	/* a jump not confirmed is dropped and changes nothing */
	TEST_ASSERT(!feed(&st, SSRC, 9000, 320));
	TEST_ASSERT(feed(&st, SSRC, 40011, 320));
	TEST_EQ(rtp_rx_ext_max(&st), 40011);
	/* a gap below MAX_DROPOUT (3000) is loss, not a restart */
	TEST_ASSERT(feed(&st, SSRC, 40011 + 2999, 320));
	rtp_rx_report(&st, &rb, 0);
	TEST_EQ(rb.lost, 2998);
	/* a new SSRC: probation, then counts from its second packet */
	TEST_ASSERT(!feed(&st, 0x5555, 500, 320));
	rtp_rx_report(&st, &rb, 0);
	TEST_EQ(rb.ssrc, 0x5555);
	TEST_ASSERT(!rb.ext_seq && !rb.lost && !rb.fraction);
	/* out of sequence during probation: probation starts over */
	TEST_ASSERT(!feed(&st, 0x5555, 502, 320));
	TEST_ASSERT(feed(&st, 0x5555, 503, 320));
	TEST_ASSERT(feed(&st, 0x5555, 505, 320));
	rtp_rx_report(&st, &rb, 0);
	TEST_EQ(rb.ext_seq, 505);
	TEST_EQ(st.base_seq, 503);
	TEST_EQ(rb.lost, 1);
	TEST_EQ(rb.fraction, 256 / 3);
	return 0;
}

/* Packets every 320 units arriving alternately on time and 160 late: every
 * |D| is 160, so the estimate converges to 160. */
int test_rtp_stats_jitter(void)
{
	struct rtp_rx_stats st;
	struct rtcp_rb rb;

	rtp_rx_init(&st);
	for (uint32_t i = 0; i < 400; i++) {
		uint32_t ts = 0xfffff000 + i * 320;   /* wraps */
		rtp_rx_update(&st, SSRC, (uint16_t)i, ts, ts + 5000 + (i % 2 ? 160 : 0));
	}
	rtp_rx_report(&st, &rb, 0);
	/* A.8's integer filter settles at 16 * 160 - 8; we round it */
	TEST_EQ(st.jitter, 2552);
	TEST_EQ(rb.jitter, 160);
	/* steady arrivals decay it */
	for (uint32_t i = 400; i < 800; i++)
		rtp_rx_update(&st, SSRC, (uint16_t)i, i * 320, i * 320 + 99);
	rtp_rx_report(&st, &rb, 0);
	TEST_EQ(rb.jitter, 0);
	/* the first packet only sets the reference transit time */
	rtp_rx_init(&st);
	rtp_rx_update(&st, SSRC, 1, 0, 0);
	rtp_rx_update(&st, SSRC, 2, 320, 123456);
	rtp_rx_update(&st, SSRC, 3, 640, 123456 + 320 + 16);
	TEST_EQ(st.jitter, 16);
	return 0;
}

/* LSR and DLSR from the last SR (RFC 3550 6.4.1's example times). */
int test_rtp_stats_lsr(void)
{
	struct rtp_rx_stats st;
	struct rtcp_rb rb;

	rtp_rx_init(&st);
	for (uint16_t s = 1; s < 5; s++)
		feed(&st, SSRC, s, 160);
	rtp_rx_sr(&st, 0xb44db70520000000ull, 0xb7052000);
	rtp_rx_report(&st, &rb, 0xb7052000 + 0x00054000);
	TEST_EQ(rb.lsr, 0xb7052000);
	TEST_EQ(rb.dlsr, 0x00054000);
	TEST_EQ(rb.ext_seq, 4);
	return 0;
}
