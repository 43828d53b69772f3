/* Tests for media/rtp.c: the header against hand-built vectors
 * (test-vectors/rtp/, from the RFC 3550 5.1 layout), malformed packets,
 * demultiplexing, RFC 4733 events, the sender helper and FFmpeg's capture.
 * The statistics are in test_rtp_stats.c. */
#include <string.h>
#include "buf.h"
#include "mem.h"
#include "rtcp.h"
#include "rtp.h"
#include "test.h"

/* Build h + payload and compare with the vector, then parse the vector
 * and compare with h. */
static int check_vector(const char *name, const struct rtp_hdr *h, const uint8_t *pl, size_t plen)
{
	uint8_t *v, out[128];
	size_t n;
	struct rtp_hdr g;
	int err = test_load_vector(name, &v, &n);

	if (err)
		return err;
	err = EBADMSG;
	if (rtp_build(out, sizeof(out), h, pl, plen) != (int)n ||
	    test_memeq(__FILE__, __LINE__, out, n, v, n))
		goto out;
	if (rtp_build(out, n - 1, h, pl, plen) != -ENOSPC)
		goto out;
	memset(&g, 0x5a, sizeof(g));
	if (rtp_parse(&g, v, n) || g.marker != h->marker || g.pt != h->pt || g.seq != h->seq ||
	    g.ts != h->ts || g.ssrc != h->ssrc || g.cc != h->cc || g.ext != h->ext ||
	    g.pad_len != h->pad_len || g.plen != plen || g.payload != v + rtp_hdr_len(h) ||
	    (plen && memcmp(g.payload, pl, plen)) || memcmp(g.csrc, h->csrc, 4u * h->cc))
		goto out;
	if (h->ext && (g.ext_profile != h->ext_profile || g.ext_len != h->ext_len ||
		       memcmp(g.ext_data, h->ext_data, h->ext_len)))
		goto out;
	err = 0;
out:
	if (err)
		fprintf(stderr, "  vector %s does not match\n", name);
	mem_deref(v);
	return err;
}

int test_rtp_header_vectors(void)
{
	static const uint8_t pcmu[] = {1, 2, 3, 4}, ext[] = {0x10, 0xff, 0, 0};
	struct rtp_hdr h = {.pt = 0, .seq = 0x1234, .ts = 0x11223344, .ssrc = 0xdeadbeef};
	int err;

	err = check_vector("rtp/rtp-basic.bin", &h, pcmu, sizeof(pcmu));
	if (err)
		return err;
	memset(&h, 0, sizeof(h));
	h.marker = true;
	h.pt = 97;
	h.seq = 65535;
	h.ts = 0xfffffec0;
	h.ssrc = 0x01020304;
	h.cc = 2;
	h.csrc[0] = 0xaaaaaaaa;
	h.csrc[1] = 0xbbbbbbbb;
	h.ext = true;
	h.ext_profile = 0xbede;
	h.ext_data = ext;
	h.ext_len = sizeof(ext);
	h.pad_len = 3;
	err = check_vector("rtp/rtp-csrc-ext-pad.bin", &h, (const uint8_t *)"speex", 5);
	if (err)
		return err;
	/* padding only: libwebrtc's probes */
	memset(&h, 0, sizeof(h));
	h.pt = 111;
	h.seq = 7;
	h.ts = 160;
	h.ssrc = 0x5eed;
	h.pad_len = 4;
	return check_vector("rtp/rtp-pad-only.bin", &h, NULL, 0);
}

/* An extension with no words, 15 CSRCs, building in place. */
int test_rtp_build_edges(void)
{
	uint8_t p[200], q[200];
	struct rtp_hdr h = {.pt = 96, .seq = 1, .ts = 2, .ssrc = 3, .cc = 15, .ext = true,
			    .ext_profile = 0x1000};
	struct rtp_hdr g;

	for (unsigned i = 0; i < 15; i++)
		h.csrc[i] = 0x01010101u * i;
	TEST_EQ(rtp_hdr_len(&h), 12 + 60 + 4);
	memcpy(p + rtp_hdr_len(&h), "abc", 3);
	TEST_EQ(rtp_build(p, sizeof(p), &h, p + rtp_hdr_len(&h), 3), 79);
	TEST_EQ(p[0], 0x9f);
	TEST_EQ(rtp_parse(&g, p, 79), 0);
	TEST_EQ(g.cc, 15);
	TEST_EQ(g.csrc[14], 0x0e0e0e0e);
	TEST_ASSERT(g.ext && g.ext_len == 0 && g.ext_profile == 0x1000);
	TEST_MEMEQ(g.payload, g.plen, "abc", 3);
	TEST_EQ(rtp_build(q, sizeof(q), &g, g.payload, g.plen), 79);
	TEST_MEMEQ(q, 79, p, 79);
	h.ext_len = 3;
	TEST_EQ(rtp_build(p, sizeof(p), &h, NULL, 0), -EINVAL);
	h.ext = false;
	h.pt = 128;
	TEST_EQ(rtp_build(p, sizeof(p), &h, NULL, 0), -EINVAL);
	h.pt = 0;
	h.cc = 16;
	TEST_EQ(rtp_build(p, sizeof(p), &h, NULL, 0), -EINVAL);
	return 0;
}

int test_rtp_malformed(void)
{
	static const char *names[] = {"rtp/rtp-basic.bin", "rtp/rtp-csrc-ext-pad.bin",
				      "rtp/ffmpeg-rtp-first.bin"};
	static const size_t hlen[] = {12, 28, 12};
	uint8_t bad[80], *v;
	struct rtp_hdr h;
	size_t n;
	int err;

	/* every prefix shorter than the header is -ENODATA; longer ones only
	 * lose payload (a datagram's end cannot be checked), or padding
	 * turns invalid */
	for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
		err = test_load_vector(names[k], &v, &n);
		if (err)
			return err;
		for (size_t i = 0; i < n; i++) {
			int e = rtp_parse(&h, v, i);
			if (i < hlen[k] ? e != -ENODATA : e && e != -EBADMSG) {
				fprintf(stderr, "  %s cut at %zu: %d\n", names[k], i, e);
				mem_deref(v);
				return EBADMSG;
			}
		}
		mem_deref(v);
	}
	memset(bad, 0, sizeof(bad));
	TEST_EQ(rtp_parse(&h, bad, 0), -ENODATA);
	for (unsigned ver = 0; ver < 4; ver++) {
		bad[0] = (uint8_t)(ver << 6);
		TEST_EQ(rtp_parse(&h, bad, 12), ver == 2 ? 0 : -EBADMSG);
		TEST_EQ(rtp_parse(&h, bad, 1), ver == 2 ? -ENODATA : -EBADMSG);
	}
	/* padding longer than the payload, or a zero count */
	bad[0] = 0xa0;
	bad[15] = 5;
	TEST_EQ(rtp_parse(&h, bad, 16), -EBADMSG);
	bad[15] = 4;
	TEST_EQ(rtp_parse(&h, bad, 16), 0);
	TEST_EQ(h.plen, 0);
	bad[15] = 0;
	TEST_EQ(rtp_parse(&h, bad, 16), -EBADMSG);
	/* padding that would eat into the CSRCs */
	bad[0] = 0xa1;
	bad[19] = 5;
	TEST_EQ(rtp_parse(&h, bad, 20), -EBADMSG);
	/* CSRC count past the end */
	bad[0] = 0x8f;
	TEST_EQ(rtp_parse(&h, bad, 12 + 56), -ENODATA);
	/* extension length past the end */
	bad[0] = 0x90;
	put_be16(bad + 14, 6);
	TEST_EQ(rtp_parse(&h, bad, 12 + 4 + 20), -ENODATA);
	TEST_EQ(rtp_parse(&h, bad, 12 + 4 + 24), 0);
	TEST_EQ(h.ext_len, 24);
	TEST_EQ(h.plen, 0);
	TEST_EQ(rtp_parse(&h, bad, 14), -ENODATA);
	return 0;
}

int test_rtp_demux(void)
{
	static const struct {
		uint8_t b0, b1;
		enum rtp_kind kind;
	} cases[] = {
		{0x00, 0x01, RTP_KIND_STUN}, {0x01, 0x01, RTP_KIND_STUN}, {0x03, 0, RTP_KIND_STUN},
		{0x04, 0, RTP_KIND_OTHER}, {0x10, 0, RTP_KIND_ZRTP}, {0x13, 0, RTP_KIND_ZRTP},
		{0x14, 0xfe, RTP_KIND_DTLS}, {0x16, 0xfe, RTP_KIND_DTLS}, {0x3f, 0, RTP_KIND_DTLS},
		{0x40, 0, RTP_KIND_TURN}, {0x4f, 0, RTP_KIND_TURN}, {0x50, 0, RTP_KIND_OTHER},
		{0x80, 0x00, RTP_KIND_RTP}, {0x80, 0x60, RTP_KIND_RTP}, {0x80, 0xbf, RTP_KIND_RTP},
		{0x80, 0xc0, RTP_KIND_RTCP}, {0x80, 0xc8, RTP_KIND_RTCP}, {0x81, 0xc9, RTP_KIND_RTCP},
		{0x80, 0xdf, RTP_KIND_RTCP}, {0x80, 0xe0, RTP_KIND_RTP}, {0x80, 0xe1, RTP_KIND_RTP},
		{0xbf, 0xc8, RTP_KIND_RTCP}, {0xbf, 0x48, RTP_KIND_RTP}, {0xc0, 0xc8, RTP_KIND_OTHER},
		{0xff, 0, RTP_KIND_OTHER}, {0x7f, 0xc8, RTP_KIND_OTHER},
	};
	uint8_t p[2];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		p[0] = cases[i].b0;
		p[1] = cases[i].b1;
		TEST_EQ(rtp_classify(p, 2), cases[i].kind);
		TEST_EQ(rtp_is_rtcp(p, 2), cases[i].kind == RTP_KIND_RTCP);
	}
	TEST_EQ(rtp_classify(p, 0), RTP_KIND_OTHER);
	p[0] = 0x80;
	TEST_EQ(rtp_classify(p, 1), RTP_KIND_RTP);
	TEST_ASSERT(!rtp_is_rtcp(p, 1));
	return 0;
}

/* The digit-9 packets of test-vectors/rtp/rfc4733-digit9-*.bin */
int test_rtp_dtmf(void)
{
	static const uint16_t dur[] = {400, 800, 1200, 1600};
	uint8_t *v, out[4], two[8];
	struct rtp_dtmf ev;
	struct rtp_hdr h;
	size_t n;
	char name[64];
	int err;

	for (unsigned i = 0; i < 4; i++) {
		snprintf(name, sizeof(name), "rtp/rfc4733-digit9-%u.bin", i + 1);
		err = test_load_vector(name, &v, &n);
		if (err)
			return err;
		err = rtp_parse(&h, v, n);
		if (!err)
			err = rtp_dtmf_parse(&ev, h.payload, h.plen) == 1 ? 0 : EBADMSG;
		if (!err && (h.pt != 101 || h.marker != !i || h.seq != i + 1 || h.ts != 8000 ||
			     ev.event != 9 || ev.volume != 10 || ev.duration != dur[i] ||
			     ev.end != (i == 3)))
			err = EBADMSG;
		if (!err && (rtp_dtmf_build(out, sizeof(out), &ev) != 4 || memcmp(out, h.payload, 4)))
			err = EBADMSG;
		mem_deref(v);
		if (err) {
			fprintf(stderr, "  %s\n", name);
			return EBADMSG;
		}
	}
	/* two blocks: the last is the current event; R is ignored */
	memcpy(two, "\x05\x80\x03\x20\x0b\x4a\x01\x40", 8);
	TEST_EQ(rtp_dtmf_parse(&ev, two, 8), 2);
	TEST_EQ(ev.event, 11);
	TEST_ASSERT(!ev.end);
	TEST_EQ(ev.volume, 10);
	TEST_EQ(ev.duration, 320);
	TEST_EQ(rtp_dtmf_parse(&ev, two, 3), -ENODATA);
	TEST_EQ(rtp_dtmf_parse(&ev, two, 6), -EBADMSG);
	ev.volume = 64;
	TEST_EQ(rtp_dtmf_build(out, sizeof(out), &ev), -EINVAL);
	ev.volume = 63;
	TEST_EQ(rtp_dtmf_build(out, 3, &ev), -ENOSPC);
	return 0;
}

int test_rtp_tx(void)
{
	struct rtp_tx tx, tx2;
	struct rtp_hdr h;
	uint16_t seq0;
	uint32_t ts0;

	TEST_EQ(rtp_tx_init(&tx, 128, 320), -EINVAL);
	TEST_EQ(rtp_tx_init(&tx, 97, 0), -EINVAL);
	TEST_EQ(rtp_tx_init(&tx, 97, 320), 0);
	TEST_EQ(rtp_tx_init(&tx2, 97, 320), 0);
	TEST_ASSERT(tx.ssrc != tx2.ssrc || tx.seq != tx2.seq || tx.ts_off != tx2.ts_off);
	seq0 = tx.seq;
	ts0 = tx.ts_off;
	/* first packet: marker; then one frame apart: none */
	rtp_tx_next(&tx, 0, &h);
	TEST_ASSERT(h.marker && h.pt == 97 && h.seq == seq0 && h.ts == ts0 && h.ssrc == tx.ssrc);
	TEST_ASSERT(!h.cc && !h.ext && !h.pad_len);
	rtp_tx_next(&tx, 320, &h);
	TEST_ASSERT(!h.marker && h.seq == (uint16_t)(seq0 + 1) && h.ts == ts0 + 320);
	rtp_tx_next(&tx, 640, &h);
	TEST_ASSERT(!h.marker);
	/* a silence gap of two frames: marker on the first packet after it */
	rtp_tx_next(&tx, 1600, &h);
	TEST_ASSERT(h.marker && h.ts == ts0 + 1600 && h.seq == (uint16_t)(seq0 + 3));
	rtp_tx_next(&tx, 1920, &h);
	TEST_ASSERT(!h.marker);
	/* the same timestamp again is not a gap; going backwards is */
	rtp_tx_next(&tx, 1920, &h);
	TEST_ASSERT(!h.marker);
	rtp_tx_next(&tx, 0, &h);
	TEST_ASSERT(h.marker);
	/* sequence and timestamps wrap */
	tx.seq = 65535;
	rtp_tx_next(&tx, 320, &h);
	TEST_EQ(h.seq, 65535);
	TEST_EQ(tx.seq, 0);
	tx.ts_off = 0xffffff00;
	rtp_tx_next(&tx, 640, &h);
	TEST_ASSERT(!h.marker && h.ts == 0x180);
	return 0;
}

/* FFmpeg's Speex stream (test-vectors/rtp/ffmpeg-speex16k.pkts): 150 RTP
 * packets, 20 ms apart in RTP time, sequence 65500 wrapping to 113. */
int test_rtp_ffmpeg_capture(void)
{
	uint8_t *d;
	size_t n, pos = 0;
	unsigned nrtp = 0, nrtcp = 0;
	struct rtp_rx_stats st;
	struct rtcp_rb rb;
	int err = test_load_vector("rtp/ffmpeg-speex16k.pkts", &d, &n);

	if (err)
		return err;
	rtp_rx_init(&st);
	while (!err && pos + 7 <= n) {
		uint32_t us = be32(d + pos + 1), len = be16(d + pos + 5);
		const uint8_t *p = d + pos + 7;
		struct rtp_hdr h;

		if (len > n - pos - 7) {
			err = EBADMSG;
			break;
		}
		pos += 7 + len;
		if (d[pos - 7 - len]) {
			nrtcp++;
			err = rtp_classify(p, len) == RTP_KIND_RTCP ? 0 : EBADMSG;
			continue;
		}
		/* FFmpeg sets the marker bit on every Speex packet */
		if (rtp_classify(p, len) != RTP_KIND_RTP || rtp_parse(&h, p, len)) {
			err = EBADMSG;
			break;
		}
		if (h.pt != 97 ||
		    h.ssrc != 0x1a2b3c4d || h.seq != (uint16_t)(65500 + nrtp) || !h.marker ||
		    h.plen != 70 || h.ts - 373394918u != 320 * nrtp)
			err = EBADMSG;
		rtp_rx_update(&st, h.ssrc, h.seq, h.ts, us * 16 / 1000);
		nrtp++;
	}
	mem_deref(d);
	TEST_EQ(err, 0);
	TEST_EQ(pos, n);
	TEST_EQ(nrtp, 150);
	TEST_EQ(nrtcp, 2);
	rtp_rx_report(&st, &rb, 0);
	/* the first packet is the probation one, so 149 are counted */
	TEST_EQ(st.received, 149);
	TEST_EQ(rb.ext_seq, 65536 + 113);
	TEST_EQ(rb.lost, 0);
	TEST_EQ(rb.fraction, 0);
	/* FFmpeg sends bursts of three every 64 ms; the RFC 3550 A.8 model
	 * in Python gives 6837 / 16 on these arrival times */
	TEST_EQ(st.jitter, 6837);
	TEST_EQ(rb.jitter, 427);
	return 0;
}
