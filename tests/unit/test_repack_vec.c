/* Round trips RTMP -> RTP -> RTMP through media/repack*.c over recorded
 * and generated Speex: FFmpeg's FLV files (test-vectors/speech/, corpus/)
 * and libspeex's frames in both layouts (the .spxv files of test-vectors/speex/).
 * Every frame that goes in comes out byte for byte: as one RTP payload,
 * then in an RTMP message, at the RTMP time of the frame that went in.
 * Joined again at the input's frames per message, FFmpeg's (bit-packed)
 * messages come out identical. */
#include <stdbool.h>
#include <string.h>
#include "buf.h"
#include "flv.h"
#include "mem.h"
#include "repack.h"
#include "rtp.h"
#include "speex.h"
#include "test.h"

#define MAX_MSG 400
#define MAX_FR 800
#define ARENA (MAX_FR * (REPACK_FRAME_MAX + 16))

struct msg {
	uint32_t ms;
	const uint8_t *b;
	size_t len;
	int frames;
};

static struct rt {
	struct msg in[MAX_MSG];
	unsigned nin;
	/* every frame in, alone: what RTP and fpp 1 must carry */
	uint8_t fr[MAX_FR][REPACK_FRAME_MAX];
	uint16_t flen[MAX_FR];
	uint32_t fms[MAX_FR];
	unsigned fmsg[MAX_FR], fpos[MAX_FR];   /* its message, its place there */
	unsigned nf;
	/* RTP out of repack_tx */
	uint8_t pkt[MAX_FR][RTP_HDR_LEN + REPACK_FRAME_MAX];
	size_t plen[MAX_FR];
	unsigned np;
	/* RTMP out of repack_rx, and what it must be if ref is set */
	unsigned no, whole, nmsg;
	const struct msg *ref;
	unsigned nref;
	uint8_t tag;
	unsigned fpp;
	bool packed;            /* the input is bit-packed: whole messages compare */
	bool bad;
	uint8_t arena[ARENA];   /* message bodies built here */
	size_t used;
} rt;

static int expect_frames(void)
{
	for (unsigned i = 0; i < rt.nin; i++) {
		struct speex_frame f[SPEEX_MAX_FRAMES];
		struct flv_audio a;
		int n;

		TEST_EQ(flv_audio_parse(&a, rt.in[i].b, rt.in[i].len), 0);
		n = speex_walk(a.payload, a.len, f, SPEEX_MAX_FRAMES, NULL);
		TEST_ASSERT(n >= 0 && rt.nf + (unsigned)n <= MAX_FR);
		rt.in[i].frames = n;
		for (int k = 0; k < n; k++, rt.nf++) {
			int m = speex_frame_copy(a.payload, a.len, &f[k], rt.fr[rt.nf],
						 REPACK_FRAME_MAX);
			TEST_ASSERT(m > 0);
			rt.flen[rt.nf] = (uint16_t)m;
			rt.fms[rt.nf] = rt.in[i].ms + 20 * (uint32_t)k;
			rt.fmsg[rt.nf] = i;
			rt.fpos[rt.nf] = (unsigned)k;
		}
	}
	return 0;
}

static void on_rtp(const struct rtp_hdr *h, const uint8_t *p, size_t len, void *arg)
{
	struct rtp_hdr g;
	unsigned i = rt.np;

	(void)arg;
	if (i >= rt.nf || rtp_parse(&g, p, len) || g.pt != 97 || g.ssrc != 0xabcu ||
	    g.marker != !i || g.plen != rt.flen[i] || memcmp(g.payload, rt.fr[i], g.plen) ||
	    g.ts - h->ts != 0) {
		rt.bad = true;
		return;
	}
	memcpy(rt.pkt[i], p, len);
	rt.plen[i] = len;
	rt.np++;
}

/* Frames of one RTMP message from repack_rx: the next ones expected, at
 * their times; when the input message is there whole, its very bytes. */
static void on_rtmp(uint32_t ms, const uint8_t *b, size_t len, void *arg)
{
	struct speex_frame f[REPACK_MAX_FPP];
	uint8_t fr[REPACK_FRAME_MAX];
	unsigned first = rt.no;
	int n = speex_walk(b + 1, len - 1, f, REPACK_MAX_FPP, NULL);

	(void)arg;
	if (n < 1 || b[0] != rt.tag || rt.no + (unsigned)n > rt.nf) {
		rt.bad = true;
		return;
	}
	for (int k = 0; k < n; k++, rt.no++) {
		int m = speex_frame_copy(b + 1, len - 1, &f[k], fr, sizeof(fr));
		if (m != rt.flen[rt.no] || memcmp(fr, rt.fr[rt.no], (size_t)m) ||
		    ms + 20 * (uint32_t)k != rt.fms[rt.no] - rt.fms[0])
			rt.bad = true;
	}
	if (rt.ref && (rt.nmsg >= rt.nref || rt.ref[rt.nmsg].len != len ||
		       memcmp(rt.ref[rt.nmsg].b, b, len)))
		rt.bad = true;
	rt.nmsg++;
	if (n == 1 && (len != 1u + rt.flen[first] || memcmp(b + 1, rt.fr[first], len - 1)))
		rt.bad = true;
	/* (a short last message may end in FFmpeg's terminators) */
	if (rt.packed && rt.fpos[first] == 0 && rt.in[rt.fmsg[first]].frames == n && n > 1 &&
	    n == (int)rt.fpp) {
		if (memcmp(b, rt.in[rt.fmsg[first]].b, len))
			rt.bad = true;
		rt.whole++;
	}
}

/* rt.in[] through both directions, joined at fpp.  Returns the input
 * messages that came out whole. */
static int roundtrip(unsigned fpp, uint8_t tag, unsigned *whole)
{
	struct repack_stats st;
	struct rtmp2rtp *t;
	struct rtp2rtmp *r;
	unsigned e = 0;
	int err;

	rt.nf = rt.np = rt.no = rt.whole = rt.nmsg = 0;
	rt.bad = false;
	rt.tag = tag;
	rt.fpp = fpp;
	TEST_EQ(expect_frames(), 0);
	err = repack_tx_alloc(&t, 97, 0xabc);
	if (err)
		return -err;
	for (unsigned i = 0; i < rt.nin && !err; i++)
		if (repack_tx_push(t, rt.in[i].ms, rt.in[i].b, rt.in[i].len, on_rtp, NULL) !=
		    rt.in[i].frames)
			err = EBADMSG;
	mem_deref(t);
	TEST_EQ(err, 0);
	TEST_ASSERT(!rt.bad);
	TEST_EQ(rt.np, rt.nf);
	err = repack_rx_alloc(&r, tag, fpp);
	if (err)
		return -err;
	/* packets arrive with their message; ticks every 20 ms, 10 ms after */
	for (uint32_t now = rt.fms[0] + 10; e < rt.np || now < rt.fms[rt.nf - 1] + 400; now += 20) {
		for (; e < rt.np && rt.in[rt.fmsg[e]].ms <= now; e++) {
			struct rtp_hdr h;
			if (rtp_parse(&h, rt.pkt[e], rt.plen[e]) ||
			    repack_rx_put(r, &h, rt.in[rt.fmsg[e]].ms, on_rtmp, NULL) < 0)
				rt.bad = true;
		}
		repack_rx_tick(r, now, on_rtmp, NULL);
	}
	repack_rx_stats(r, &st);
	mem_deref(r);
	TEST_ASSERT(!rt.bad);
	TEST_EQ(rt.no, rt.nf);
	TEST_EQ(st.frames_out, rt.nf);
	TEST_EQ(st.lost + st.late + st.dups + st.dropped + st.held, 0);
	*whole = rt.whole;
	return 0;
}

/* The audio tags of an FLV file into rt.in[]. */
static int load_flv(const uint8_t *d, size_t n, uint8_t *tag)
{
	size_t pos;

	rt.nin = 0;
	TEST_ASSERT(n > 13 && !memcmp(d, "FLV\x01", 4));
	for (pos = 13; pos + 15 <= n;) {
		uint32_t size = be24(d + pos + 1);

		TEST_ASSERT(pos + 15 + size <= n);
		if (d[pos] == 8 && size) {
			TEST_ASSERT(rt.nin < MAX_MSG);
			rt.in[rt.nin++] = (struct msg){be24(d + pos + 4) | (uint32_t)d[pos + 7] << 24,
						       d + pos + 11, size, 0};
			*tag = d[pos + 11];
		}
		pos += 11 + size + 4;
	}
	return 0;
}

static int flv_file(const char *name, unsigned fpp_in)
{
	unsigned whole;
	uint8_t *d, tag = 0;
	size_t n;
	int err = test_load_vector(name, &d, &n);

	if (err)
		return err;
	err = load_flv(d, n, &tag);
	rt.packed = true;   /* FFmpeg */
	if (!err)
		err = roundtrip(1, tag, &whole);
	if (!err && fpp_in > 1) {
		unsigned full = 0;

		err = roundtrip(fpp_in, tag, &whole);
		for (unsigned i = 0; i < rt.nin; i++)
			full += rt.in[i].frames == (int)fpp_in;
		/* all but a short last one, which FFmpeg ends with terminators */
		if (!err && (whole != full || full + 1 < rt.nin)) {
			fprintf(stderr, "  %u of %u messages whole\n", whole, rt.nin);
			err = EBADMSG;
		}
	}
	mem_deref(d);
	if (err == EBADMSG)   /* not an injected allocation failure */
		fprintf(stderr, "  %s\n", name);
	return err;
}

int test_repack_flv(void)
{
	static const struct {
		const char *name;
		unsigned fpp;
	} files[] = {
		{"speech/speech-en-fpp1.flv", 1},
		{"speech/speech-en-fpp2.flv", 2},
		{"corpus/speech-en-q8-fpp2.flv", 2},
		{"corpus/speech-en-q8-fpp4.flv", 4},
		{"corpus/speech-en-q8-fpp4-b2.flv", 4},
		{"corpus/speech-en-q8-fpp1-vaddtx-b2.flv", 1},
		{"corpus/speech-en-vbr8-fpp1-vaddtx.flv", 1},
		{"corpus/silence-q8-fpp1-vaddtx.flv", 1},
		{"corpus/speech-en-q0-fpp1.flv", 1},
		{"corpus/speech-en-q10-fpp1.flv", 1},
		{"corpus/tone-q8-fpp1.flv", 1},
	};

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		int err = flv_file(files[i].name, files[i].fpp);
		if (err)
			return err;
	}
	return 0;
}

/* FFmpeg's fpp 1 and fpp 2 files carry the same frames: joined at 2, the
 * first gives the second's messages, byte for byte. */
int test_repack_flv_join(void)
{
	static struct msg two[MAX_MSG];
	uint8_t *d1 = NULL, *d2 = NULL, tag = 0;
	size_t n1, n2;
	unsigned whole, ntwo = 0;
	int err = test_load_vector("speech/speech-en-fpp1.flv", &d1, &n1);

	if (!err)
		err = test_load_vector("speech/speech-en-fpp2.flv", &d2, &n2);
	if (!err)
		err = load_flv(d2, n2, &tag);
	if (!err) {
		ntwo = rt.nin;
		memcpy(two, rt.in, sizeof(two));
		err = load_flv(d1, n1, &tag);
	}
	if (!err) {
		rt.packed = true;
		rt.ref = two;
		rt.nref = ntwo;
		err = roundtrip(2, tag, &whole);
		rt.ref = NULL;
	}
	mem_deref(d1);
	mem_deref(d2);
	TEST_EQ(err, 0);
	TEST_EQ(rt.nmsg, ntwo);
	TEST_EQ(ntwo, 157);
	return 0;
}

static const uint8_t *take(const uint8_t *d, size_t n, size_t *pos, size_t len)
{
	const uint8_t *p = d + *pos;

	if (n - *pos < len)
		return NULL;
	*pos += len;
	return p;
}

/* One stream of an .spxv file (format in test-vectors/speex/README.md)
 * into rt.in[], with Flash's tag byte for the byte-padded layout. */
static int load_stream(const uint8_t *d, size_t n, size_t *pos, int fpp, int layout)
{
	const uint8_t *h = take(d, n, pos, 3);

	TEST_ASSERT(h && h[0] == fpp && h[1] == layout);
	rt.nin = 0;
	rt.used = 0;
	for (unsigned p = 0; p < h[2]; p++) {
		const uint8_t *l = take(d, n, pos, 2), *b;
		size_t len;

		TEST_ASSERT(l);
		len = be16(l);
		b = take(d, n, pos, len);
		TEST_ASSERT(b && rt.used + len + 1 <= ARENA && rt.nin < MAX_MSG);
		rt.arena[rt.used] = layout ? FLV_SPEEX_FLASH : FLV_SPEEX_FFMPEG;
		memcpy(rt.arena + rt.used + 1, b, len);
		rt.in[rt.nin++] = (struct msg){20 * (uint32_t)fpp * p, rt.arena + rt.used, len + 1, 0};
		rt.used += len + 1;
	}
	return 0;
}

static int spxv_file(const uint8_t *d, size_t n)
{
	const uint8_t *ref[128], *h;
	size_t ref_len[128], pos = 0;
	unsigned frames, whole;
	int err;

	h = take(d, n, &pos, 8);
	TEST_ASSERT(h && !memcmp(h, "SPXV\x01", 5) && h[7] <= 128);
	frames = h[7];
	for (unsigned i = 0; i < frames; i++) {
		h = take(d, n, &pos, 1);
		TEST_ASSERT(h);
		ref_len[i] = h[0];
		ref[i] = take(d, n, &pos, ref_len[i]);
		TEST_ASSERT(ref[i]);
	}
	for (int fpp = 1; fpp <= 4; fpp++) {
		for (int layout = 0; layout < 2; layout++) {
			uint8_t tag = layout ? FLV_SPEEX_FLASH : FLV_SPEEX_FFMPEG;
			unsigned full = 0;

			TEST_EQ(load_stream(d, n, &pos, fpp, layout), 0);
			rt.packed = !layout;
			err = roundtrip(1, tag, &whole);
			if (err)
				return err;
			/* what went in is libspeex's own frames, one by one */
			TEST_EQ(rt.nf, frames);
			for (unsigned i = 0; i < frames; i++)
				TEST_MEMEQ(rt.fr[i], rt.flen[i], ref[i], ref_len[i]);
			if (fpp == 1)
				continue;
			err = roundtrip((unsigned)fpp, tag, &whole);
			if (err)
				return err;
			for (unsigned i = 0; i < rt.nin; i++)
				full += rt.in[i].frames == fpp;
			if (!layout)
				TEST_EQ(whole, full);
		}
	}
	TEST_EQ(pos, n);
	return 0;
}

/* All 35 files: CBR, VBR+VAD, DTX, in-band messages; qualities 0..10. */
int test_repack_spxv(void)
{
	static const char *const kind[3] = {"", "-vad", "-dtx"};
	char name[64];

	for (int i = 0; i < 35; i++) {
		uint8_t *d;
		size_t n;
		int err;

		if (i < 33)
			snprintf(name, sizeof(name), "speex/wb-q%d%s.spxv", i % 11, kind[i / 11]);
		else
			snprintf(name, sizeof(name), "speex/%s.spxv",
				 i == 33 ? "wb-q8-inband" : "wb-q3-dtx-inband");
		err = test_load_vector(name, &d, &n);
		if (err)
			return err;
		err = spxv_file(d, n);
		mem_deref(d);
		if (err) {
			if (err == EBADMSG)
				fprintf(stderr, "  %s\n", name);
			return err;
		}
	}
	return 0;
}
