/* Tests for media/rtcp.c: compound packets built byte-exact against the
 * hand-computed vectors in test-vectors/rtp/, parsed back, malformed
 * packets, feedback and APP skipped, FFmpeg's SR + SDES + BYE, and the
 * round-trip time of RFC 3550 6.4.1's example. */
#include <string.h>
#include "buf.h"
#include "mem.h"
#include "rtcp.h"
#include "test.h"

static const struct rtcp_sender_info sr_si = {0xb44db70520000000ull, 0x00010000, 100, 7000};
static const struct rtcp_rb sr_rb = {0x22222222, 0x40, 5, 0x0001ffff, 12, 0xb7052000, 0x00054000};
static const struct rtcp_rb rr_rb = {0x44444444, 0, -3, 0x00020005, 0, 0, 0};

static int rb_eq(const struct rtcp_rb *a, const struct rtcp_rb *b)
{
	return a->ssrc == b->ssrc && a->fraction == b->fraction && a->lost == b->lost &&
	       a->ext_seq == b->ext_seq && a->jitter == b->jitter && a->lsr == b->lsr &&
	       a->dlsr == b->dlsr;
}

static int check_sr_sdes(const uint8_t *v, size_t n)
{
	struct rtcp_iter it;
	struct rtcp_pkt pkt;

	TEST_EQ(rtcp_iter_init(&it, v, n), 0);
	TEST_EQ(rtcp_next(&it, &pkt), 0);
	TEST_EQ(pkt.type, RTCP_SR);
	TEST_EQ(pkt.count, 1);
	TEST_EQ(pkt.ssrc, 0x11111111);
	TEST_ASSERT(pkt.u.r.si.ntp == sr_si.ntp && pkt.u.r.si.rtp_ts == sr_si.rtp_ts);
	TEST_ASSERT(pkt.u.r.si.packets == 100 && pkt.u.r.si.octets == 7000);
	TEST_ASSERT(rb_eq(&pkt.u.r.rb[0], &sr_rb));
	TEST_EQ(rtcp_next(&it, &pkt), 0);
	TEST_EQ(pkt.type, RTCP_SDES);
	TEST_EQ(pkt.count, 1);
	TEST_EQ(pkt.ssrc, 0x11111111);
	TEST_EQ(pkt.u.sdes[0].ssrc, 0x11111111);
	TEST_MEMEQ(pkt.u.sdes[0].cname, pkt.u.sdes[0].cname_len, "user@host", 9);
	TEST_EQ(rtcp_next(&it, &pkt), -ENOENT);
	return 0;
}

int test_rtcp_sr_sdes(void)
{
	uint8_t *v, out[128];
	size_t n;
	int a, b, err = test_load_vector("rtp/rtcp-sr-sdes.bin", &v, &n);

	if (err)
		return err;
	a = rtcp_build_sr(out, sizeof(out), 0x11111111, &sr_si, &sr_rb, 1);
	b = rtcp_build_sdes(out + a, sizeof(out) - (size_t)a, 0x11111111, "user@host", 9);
	err = a == 52 && b == 20 ? test_memeq(__FILE__, __LINE__, out, (size_t)(a + b), v, n) : EBADMSG;
	if (!err)
		err = check_sr_sdes(v, n);
	mem_deref(v);
	if (err)
		return err;
	TEST_EQ(rtcp_build_sr(out, 51, 1, &sr_si, &sr_rb, 1), -ENOSPC);
	TEST_EQ(rtcp_build_sr(out, sizeof(out), 1, &sr_si, &sr_rb, 32), -EINVAL);
	TEST_EQ(rtcp_build_sdes(out, 19, 1, "user@host", 9), -ENOSPC);
	TEST_EQ(rtcp_build_sdes(out, sizeof(out), 1, "", 0), -EINVAL);
	TEST_EQ(rtcp_build_sdes(out, sizeof(out), 1, "x", 256), -EINVAL);
	/* CNAME lengths around the 32-bit boundary: at least one null octet */
	for (size_t len = 1; len < 12; len++) {
		struct rtcp_iter it;
		struct rtcp_pkt pkt;
		int k = rtcp_build_sdes(out, sizeof(out), 7, "abcdefghijk", len);

		TEST_EQ(k, (int)((8 + 2 + len + 1 + 3) / 4 * 4));
		TEST_EQ(out[10 + len], 0);
		TEST_EQ(rtcp_iter_init(&it, out, (size_t)k), 0);
		TEST_EQ(rtcp_next(&it, &pkt), 0);
		TEST_EQ(pkt.u.sdes[0].cname_len, len);
	}
	return 0;
}

int test_rtcp_rr_bye(void)
{
	uint8_t *v, out[128];
	size_t n;
	uint32_t ssrc = 0x33333333;
	struct rtcp_iter it;
	struct rtcp_pkt pkt;
	int a, b, err = test_load_vector("rtp/rtcp-rr-bye.bin", &v, &n);

	if (err)
		return err;
	a = rtcp_build_rr(out, sizeof(out), ssrc, &rr_rb, 1);
	b = rtcp_build_bye(out + a, sizeof(out) - (size_t)a, &ssrc, 1, "bye", 3);
	err = a == 32 && b == 12 ? test_memeq(__FILE__, __LINE__, out, (size_t)(a + b), v, n) : EBADMSG;
	if (!err && (rtcp_iter_init(&it, v, n) || rtcp_next(&it, &pkt) || pkt.type != RTCP_RR ||
		     pkt.count != 1 || pkt.ssrc != ssrc || !rb_eq(&pkt.u.r.rb[0], &rr_rb)))
		err = EBADMSG;
	if (!err && (rtcp_next(&it, &pkt) || pkt.type != RTCP_BYE || pkt.count != 1 ||
		     pkt.u.bye.ssrc[0] != ssrc || pkt.u.bye.reason_len != 3 ||
		     memcmp(pkt.u.bye.reason, "bye", 3) || rtcp_next(&it, &pkt) != -ENOENT))
		err = EBADMSG;
	mem_deref(v);
	TEST_EQ(err, 0);
	/* BYE without a reason, and with several sources */
	{
		uint32_t s[3] = {1, 2, 3};
		TEST_EQ(rtcp_build_bye(out, sizeof(out), s, 3, NULL, 0), 16);
		TEST_EQ(out[0], 0x83);
		TEST_EQ(rtcp_iter_init(&it, out, 16), 0);
		TEST_EQ(rtcp_next(&it, &pkt), 0);
		TEST_ASSERT(pkt.count == 3 && pkt.u.bye.ssrc[2] == 3 && !pkt.u.bye.reason);
		TEST_EQ(rtcp_build_bye(out, 15, s, 3, NULL, 0), -ENOSPC);
		TEST_EQ(rtcp_build_bye(out, sizeof(out), s, 1, "x", 256), -EINVAL);
	}
	/* lost beyond 24 bits is clamped when built */
	{
		struct rtcp_rb rb = rr_rb;
		rb.lost = -0x1000000;
		TEST_EQ(rtcp_build_rr(out, sizeof(out), 1, &rb, 1), 32);
		TEST_EQ(be24(out + 13), 0x800000);
		rb.lost = 0x1000000;
		TEST_EQ(rtcp_build_rr(out, sizeof(out), 1, &rb, 1), 32);
		TEST_EQ(be24(out + 13), 0x7fffff);
		TEST_EQ(rtcp_build_rr(out, 31, 1, &rb, 1), -ENOSPC);
	}
	return 0;
}

/* RR with no blocks, NACK, PLI, APP and an XR this parser does not know,
 * padded: all walked, none an error. */
int test_rtcp_feedback_app(void)
{
	static const uint8_t types[] = {RTCP_RR, RTCP_RTPFB, RTCP_PSFB, RTCP_APP, 207};
	uint8_t *v;
	size_t n;
	struct rtcp_iter it;
	struct rtcp_pkt pkt;
	int err = test_load_vector("rtp/rtcp-fb-app-xr.bin", &v, &n);

	if (err)
		return err;
	err = rtcp_iter_init(&it, v, n);
	for (size_t i = 0; !err && i < sizeof(types); i++) {
		err = rtcp_next(&it, &pkt) || pkt.type != types[i] ? EBADMSG : 0;
		if (err || (i && i < 4 && pkt.ssrc != 0x55555555))
			err = EBADMSG;
		else if (i == 1 && (pkt.count != 1 || pkt.u.app.media_ssrc != 0x66666666 ||
				    pkt.u.app.len != 4 || be16(pkt.u.app.data) != 1000))
			err = EBADMSG;
		else if (i == 2 && (pkt.count != 1 || pkt.u.app.len != 0))
			err = EBADMSG;
		else if (i == 3 && (pkt.count != 3 || memcmp(pkt.u.app.name, "RX2X", 4) ||
				    pkt.u.app.len != 4 || memcmp(pkt.u.app.data, "data", 4)))
			err = EBADMSG;
		else if (i == 4 && pkt.blen != 8)
			err = EBADMSG;   /* padding removed */
	}
	if (!err && rtcp_next(&it, &pkt) != -ENOENT)
		err = EBADMSG;
	mem_deref(v);
	return err;
}

int test_rtcp_malformed(void)
{
	uint8_t *v, b[64];
	size_t n;
	struct rtcp_iter it;
	struct rtcp_pkt pkt;
	int err = test_load_vector("rtp/rtcp-sr-sdes.bin", &v, &n);

	if (err)
		return err;
	/* truncated anywhere: the length fields no longer add up */
	for (size_t i = 0; i < n && !err; i++) {
		int e = rtcp_iter_init(&it, v, i);
		if (e != -ENODATA && !(e == 0 && i == 52))
			err = EBADMSG;
	}
	mem_deref(v);
	TEST_EQ(err, 0);
	memset(b, 0, sizeof(b));
	/* version, packet type, lengths */
	memcpy(b, "\x40\xc9\x00\x01", 4);
	TEST_EQ(rtcp_iter_init(&it, b, 8), -EBADMSG);
	memcpy(b, "\x80\x48\x00\x01", 4);
	TEST_EQ(rtcp_iter_init(&it, b, 8), -EBADMSG);
	memcpy(b, "\x80\xc9\x00\x01", 4);
	TEST_EQ(rtcp_iter_init(&it, b, 8), 0);
	TEST_EQ(rtcp_iter_init(&it, b, 11), -ENODATA);   /* trailing bytes */
	TEST_EQ(rtcp_iter_init(&it, b, 12), -EBADMSG);   /* a zero word */
	TEST_EQ(rtcp_iter_init(&it, b, 0), -ENODATA);
	/* padding only on the last packet, with a count inside the packet */
	memcpy(b, "\xa0\xc9\x00\x01\x00\x00\x00\x00\x80\xc9\x00\x01", 12);
	TEST_EQ(rtcp_iter_init(&it, b, 16), -EBADMSG);
	memcpy(b, "\xa0\xc9\x00\x02", 4);
	b[11] = 4;
	TEST_EQ(rtcp_iter_init(&it, b, 12), 0);
	b[11] = 9;
	TEST_EQ(rtcp_iter_init(&it, b, 12), -EBADMSG);
	b[11] = 0;
	TEST_EQ(rtcp_iter_init(&it, b, 12), -EBADMSG);
	/* a report count past the packet's length */
	memcpy(b, "\x81\xc9\x00\x01", 4);
	TEST_EQ(rtcp_iter_init(&it, b, 8), 0);
	TEST_EQ(rtcp_next(&it, &pkt), -EBADMSG);
	memcpy(b, "\x81\xc8\x00\x07", 4);   /* SR of 32 bytes: no room for a block */
	TEST_EQ(rtcp_iter_init(&it, b, 32), 0);
	TEST_EQ(rtcp_next(&it, &pkt), -EBADMSG);
	/* SDES: item past the end, no null octet, non-zero alignment */
	memset(b, 0, sizeof(b));
	memcpy(b, "\x81\xca\x00\x02\x00\x00\x00\x01\x01\x05xx", 12);
	TEST_EQ(rtcp_iter_init(&it, b, 12), 0);
	TEST_EQ(rtcp_next(&it, &pkt), -EBADMSG);
	memcpy(b, "\x81\xca\x00\x02\x00\x00\x00\x01\x01\x02xy", 12);
	TEST_EQ(rtcp_iter_init(&it, b, 12), 0);
	TEST_EQ(rtcp_next(&it, &pkt), -EBADMSG);
	memcpy(b, "\x81\xca\x00\x02\x00\x00\x00\x01\x01\x00\x00\x05", 12);
	TEST_EQ(rtcp_iter_init(&it, b, 12), 0);
	TEST_EQ(rtcp_next(&it, &pkt), -EBADMSG);
	b[11] = 0;
	TEST_EQ(rtcp_iter_init(&it, b, 12), 0);
	TEST_EQ(rtcp_next(&it, &pkt), 0);
	TEST_ASSERT(pkt.u.sdes[0].cname == b + 10 && pkt.u.sdes[0].cname_len == 0);
	TEST_EQ(rtcp_next(&it, &pkt), -ENOENT);
	/* null words after the last chunk are tolerated, anything else not */
	memcpy(b, "\x81\xca\x00\x03", 4);
	memset(b + 12, 0, 4);
	TEST_EQ(rtcp_iter_init(&it, b, 16), 0);
	TEST_EQ(rtcp_next(&it, &pkt), 0);
	b[15] = 1;
	TEST_EQ(rtcp_iter_init(&it, b, 16), 0);
	TEST_EQ(rtcp_next(&it, &pkt), -EBADMSG);
	memcpy(b, "\x82\xca\x00\x02\x00\x00\x00\x01\x01\x01x\x00", 12);
	TEST_EQ(rtcp_iter_init(&it, b, 12), 0);
	TEST_EQ(rtcp_next(&it, &pkt), -EBADMSG);   /* second chunk missing */
	/* BYE: more sources than room, a reason past the end */
	memcpy(b, "\x82\xcb\x00\x01\x00\x00\x00\x01", 8);
	TEST_EQ(rtcp_iter_init(&it, b, 8), 0);
	TEST_EQ(rtcp_next(&it, &pkt), -EBADMSG);
	memcpy(b, "\x81\xcb\x00\x02\x00\x00\x00\x01\x04xyz", 12);
	TEST_EQ(rtcp_iter_init(&it, b, 12), 0);
	TEST_EQ(rtcp_next(&it, &pkt), -EBADMSG);
	/* APP and feedback shorter than their fixed part */
	memcpy(b, "\x80\xcc\x00\x01\x00\x00\x00\x01", 8);
	TEST_EQ(rtcp_iter_init(&it, b, 8), 0);
	TEST_EQ(rtcp_next(&it, &pkt), -EBADMSG);
	return 0;
}

/* FFmpeg's first SR + SDES and last SR + SDES + BYE */
int test_rtcp_ffmpeg(void)
{
	static const char *names[] = {"rtp/ffmpeg-rtcp-sr-sdes.bin", "rtp/ffmpeg-rtcp-sr-sdes-bye.bin"};
	int err = 0;

	for (int k = 0; k < 2 && !err; k++) {
		uint8_t *v, out[128];
		size_t n, m = 0;
		struct rtcp_iter it;
		struct rtcp_pkt pkt;

		err = test_load_vector(names[k], &v, &n);
		if (err)
			return err;
		err = rtcp_iter_init(&it, v, n);
		while (!err && !(err = rtcp_next(&it, &pkt))) {
			int w = -1;

			if (pkt.type == RTCP_SR && pkt.ssrc == 0x1a2b3c4d && !pkt.count &&
			    pkt.u.r.si.packets == (k ? 150u : 0u) && pkt.u.r.si.octets == (k ? 10500u : 0u))
				w = rtcp_build_sr(out + m, sizeof(out) - m, pkt.ssrc, &pkt.u.r.si, NULL, 0);
			else if (pkt.type == RTCP_SDES && pkt.count == 1 && pkt.u.sdes[0].cname &&
				 pkt.u.sdes[0].cname_len == 14 &&
				 !memcmp(pkt.u.sdes[0].cname, "rtmp2xmpp-test", 14))
				w = rtcp_build_sdes(out + m, sizeof(out) - m, pkt.ssrc, "rtmp2xmpp-test", 14);
			else if (pkt.type == RTCP_BYE && k && pkt.count == 1 && !pkt.u.bye.reason)
				w = rtcp_build_bye(out + m, sizeof(out) - m, pkt.u.bye.ssrc, 1, NULL, 0);
			if (w < 0)
				err = EBADMSG;
			m += (size_t)(w < 0 ? 0 : w);
		}
		if (err == -ENOENT)
			err = test_memeq(__FILE__, __LINE__, out, m, v, n);   /* rebuilt exactly */
		mem_deref(v);
	}
	return err ? EBADMSG : 0;
}

/* RFC 3550 6.4.1: SR sent at 0xb705:2000 (LSR), held 0x0005:4000 (DLSR),
 * the RR arrives at 0xb710:8000: round trip 0x0006:2000, 6.125 s. */
int test_rtcp_rtt(void)
{
	struct rtcp_rb rb = {.lsr = rtcp_ntp_short(0xb44db70520000000ull), .dlsr = 0x00054000};
	uint32_t rtt = 0;

	TEST_EQ(rb.lsr, 0xb7052000);
	TEST_EQ(rtcp_rtt(&rb, 0xb7108000, &rtt), 0);
	TEST_EQ(rtt, 0x00062000);
	TEST_EQ((uint64_t)rtt * 1000 >> 16, 6125);
	/* across the 32-bit wrap of the NTP short time */
	rb.lsr = 0xffff8000;
	rb.dlsr = 0x00010000;
	TEST_EQ(rtcp_rtt(&rb, 0x00018000, &rtt), 0);
	TEST_EQ(rtt, 0x00010000);
	/* no SR yet; a delay longer than the time since the SR */
	rb.lsr = 0;
	TEST_EQ(rtcp_rtt(&rb, 0x00018000, &rtt), -ENODATA);
	rb.lsr = 0x10000;
	rb.dlsr = 0x20000;
	TEST_EQ(rtcp_rtt(&rb, 0x20000, &rtt), -ERANGE);
	rb.dlsr = 0x10000;
	TEST_EQ(rtcp_rtt(&rb, 0x20000, &rtt), 0);
	TEST_EQ(rtt, 0);
	return 0;
}
