/* Tests for codecs/speex.c: the frame walker against libspeex's own output
 * (test-vectors/speex/, made by tests/tools/speex-vectors.c) and against
 * FFmpeg's (test-vectors/speech/speech-en-fpp{1,2}.flv), hand-built
 * bitstreams for the edge cases, and a decode cross-check with libspeex. */
#include <stdbool.h>
#include <string.h>
#include <speex/speex.h>
#include "buf.h"
#include "mem.h"
#include "speex.h"
#include "test.h"

#define VEC_MAX 128   /* frames or packets per stream */
#define VEC_FILES 35

/* One .spxv file of test-vectors/speex/ (format in its README.md). */
struct vec {
	uint8_t *data;
	size_t len;
	int q, frames;
	unsigned flags;
	const uint8_t *ref[VEC_MAX];
	size_t ref_len[VEC_MAX];
	struct stream {
		int n;
		const uint8_t *pkt[VEC_MAX];
		size_t len[VEC_MAX];
	} s[4][2];   /* [fpp - 1][0 bit-packed, 1 byte-padded] */
};

static struct vec vecs[VEC_FILES];

static const char *vec_name(int i)
{
	static const char *const kind[3] = {"", "-vad", "-dtx"};
	static char name[64];

	if (i == 33)
		return "speex/wb-q8-inband.spxv";
	if (i == 34)
		return "speex/wb-q3-dtx-inband.spxv";
	snprintf(name, sizeof(name), "speex/wb-q%d%s.spxv", i % 11, kind[i / 11]);
	return name;
}

static int take(struct vec *v, size_t *pos, size_t n, const uint8_t **p)
{
	if (v->len - *pos < n)
		return EBADMSG;
	*p = v->data + *pos;
	*pos += n;
	return 0;
}

static int parse_stream(struct vec *v, size_t *pos, int fpp, int layout)
{
	struct stream *s = &v->s[fpp - 1][layout];
	const uint8_t *h;

	if (take(v, pos, 3, &h) || h[0] != fpp || h[1] != layout || h[2] > VEC_MAX)
		return EBADMSG;
	s->n = h[2];
	for (int i = 0; i < s->n; i++) {
		if (take(v, pos, 2, &h))
			return EBADMSG;
		s->len[i] = be16(h);
		if (take(v, pos, s->len[i], &s->pkt[i]))
			return EBADMSG;
	}
	return 0;
}

static int parse_vec(struct vec *v)
{
	const uint8_t *h;
	size_t pos = 0;

	if (take(v, &pos, 8, &h) || memcmp(h, "SPXV\x01", 5) || h[7] > VEC_MAX)
		return EBADMSG;
	v->q = h[5];
	v->flags = h[6];
	v->frames = h[7];
	for (int i = 0; i < v->frames; i++) {
		if (take(v, &pos, 1, &h))
			return EBADMSG;
		v->ref_len[i] = h[0];
		if (take(v, &pos, v->ref_len[i], &v->ref[i]))
			return EBADMSG;
	}
	for (int fpp = 1; fpp <= 4; fpp++)
		for (int l = 0; l < 2; l++)
			if (parse_stream(v, &pos, fpp, l))
				return EBADMSG;
	return pos == v->len ? 0 : EBADMSG;
}

static void free_all(void)
{
	for (int i = 0; i < VEC_FILES; i++)
		vecs[i].data = mem_deref(vecs[i].data);
}

/* Every file first, so that --oom fails allocations before the work. */
static int load_all(void)
{
	for (int i = 0; i < VEC_FILES; i++) {
		int err = test_load_vector(vec_name(i), &vecs[i].data, &vecs[i].len);

		if (!err && parse_vec(&vecs[i])) {
			fprintf(stderr, "  bad vector file %s\n", vec_name(i));
			err = EBADMSG;
		}
		if (err) {
			free_all();
			return err;
		}
	}
	return 0;
}

/* Bits of reference frame i (its one frame, walked). */
static int ref_bits(const struct vec *v, int i, uint32_t *bits)
{
	struct speex_frame f;
	bool padded = true;

	TEST_EQ(speex_walk(v->ref[i], v->ref_len[i], &f, 1, &padded), 1);
	TEST_ASSERT(!padded);
	TEST_EQ(f.bit_off, 0);
	TEST_EQ(speex_frame_bytes(&f), v->ref_len[i]);
	*bits = f.bits;
	return 0;
}

/* Packet p of stream (fpp, layout): frame count, layout, frames, repacking. */
static int check_packet(const struct vec *v, int fpp, int layout, int p)
{
	const struct stream *s = &v->s[fpp - 1][layout];
	const uint8_t *in[4];
	size_t lens[4];
	struct speex_frame f[SPEEX_MAX_FRAMES];
	uint8_t out[1024];
	int first = p * fpp, n = v->frames - first < fpp ? v->frames - first : fpp, len;
	bool padded, want_padded = false;

	for (int j = 0; j < n; j++) {
		uint32_t bits;
		if (ref_bits(v, first + j, &bits))
			return EBADMSG;
		want_padded |= layout && j < n - 1 && bits % 8;
		in[j] = v->ref[first + j];
		lens[j] = v->ref_len[first + j];
	}
	TEST_EQ(speex_walk(s->pkt[p], s->len[p], f, SPEEX_MAX_FRAMES, &padded), n);
	TEST_EQ(padded, want_padded);
	for (int j = 0; j < n; j++) {
		TEST_EQ(speex_frame_copy(s->pkt[p], s->len[p], &f[j], out, sizeof(out)),
			v->ref_len[first + j]);
		TEST_MEMEQ(out, v->ref_len[first + j], v->ref[first + j], v->ref_len[first + j]);
	}
	/* joined: FFmpeg's bytes, but for its end-of-stream terminators */
	len = speex_pack(in, lens, n, out, sizeof(out));
	TEST_ASSERT(len > 0);
	if (n == fpp)
		TEST_MEMEQ(out, (size_t)len, v->s[fpp - 1][0].pkt[p], v->s[fpp - 1][0].len[p]);
	TEST_EQ(speex_walk(out, (size_t)len, f, SPEEX_MAX_FRAMES, &padded), n);
	return 0;
}

static int check_vec(const struct vec *v)
{
	bool dtx = false;

	for (int i = 0; i < v->frames; i++)
		dtx |= v->ref_len[i] == 2;   /* 9 bits: modes 0 and 0 */
	if (!(v->flags & 4))   /* in-band messages make them longer */
		TEST_EQ(dtx, (v->flags & 2) != 0);
	for (int fpp = 1; fpp <= 4; fpp++) {
		for (int l = 0; l < 2; l++) {
			TEST_EQ(v->s[fpp - 1][l].n, (v->frames + fpp - 1) / fpp);
			for (int p = 0; p < v->s[fpp - 1][l].n; p++)
				if (check_packet(v, fpp, l, p)) {
					fprintf(stderr, "  fpp %d, %s, packet %d\n", fpp,
						l ? "byte-padded" : "bit-packed", p);
					return EBADMSG;
				}
		}
	}
	return 0;
}

int test_speex_vectors(void)
{
	int err = load_all();

	for (int i = 0; i < VEC_FILES && !err; i++) {
		err = check_vec(&vecs[i]);
		if (err)
			fprintf(stderr, "  in %s\n", vec_name(i));
	}
	free_all();
	return err;
}

/* The Speex payloads (after the 0xB6 byte) of an FFmpeg FLV file. */
struct payloads {
	int n;
	const uint8_t *p[VEC_MAX * 3];
	size_t len[VEC_MAX * 3];
};

static int flv_payloads(const uint8_t *d, size_t n, struct payloads *l)
{
	size_t pos;

	TEST_ASSERT(n > 13 && !memcmp(d, "FLV\x01", 4));
	l->n = 0;
	for (pos = 13; pos + 15 <= n;) {
		uint32_t size = be24(d + pos + 1);

		TEST_ASSERT(size <= n - pos - 15);
		if (d[pos] == 8 && size > 1) {
			TEST_EQ(d[pos + 11], 0xb6);
			TEST_ASSERT(l->n < VEC_MAX * 3);
			l->p[l->n] = d + pos + 12;
			l->len[l->n++] = size - 1;
		}
		pos += 11 + size + 4;
	}
	TEST_EQ(pos, n);
	return 0;
}

static struct payloads fpp1, fpp2;

/* fpp1 and fpp2 carry the same bitstream: walking fpp2 gives fpp1's
 * payloads, and joining two fpp1 payloads gives fpp2's. */
static int check_ffmpeg(void)
{
	struct speex_frame f[SPEEX_MAX_FRAMES];
	uint8_t out[256];
	bool padded;

	TEST_EQ(fpp1.n, 314);
	TEST_EQ(fpp2.n, 157);
	for (int k = 0; k < fpp2.n; k++) {
		const uint8_t *in[2] = {fpp1.p[2 * k], fpp1.p[2 * k + 1]};
		size_t lens[2] = {fpp1.len[2 * k], fpp1.len[2 * k + 1]};

		TEST_EQ(speex_walk(fpp2.p[k], fpp2.len[k], f, SPEEX_MAX_FRAMES, &padded), 2);
		TEST_ASSERT(!padded);
		for (int j = 0; j < 2; j++) {
			TEST_EQ(f[j].bits, 556);
			TEST_EQ(f[j].bit_off, 556 * j);
			TEST_EQ(speex_frame_copy(fpp2.p[k], fpp2.len[k], &f[j], out, sizeof(out)), 70);
			TEST_MEMEQ(out, 70, fpp1.p[2 * k + j], fpp1.len[2 * k + j]);
		}
		TEST_EQ(speex_pack(in, lens, 2, out, sizeof(out)), 139);
		TEST_MEMEQ(out, 139, fpp2.p[k], fpp2.len[k]);
	}
	return 0;
}

int test_speex_ffmpeg(void)
{
	uint8_t *d1 = NULL, *d2 = NULL;
	size_t n1, n2;
	int err;

	err = test_load_vector("speech/speech-en-fpp1.flv", &d1, &n1);
	if (!err)
		err = test_load_vector("speech/speech-en-fpp2.flv", &d2, &n2);
	if (!err)
		err = flv_payloads(d1, n1, &fpp1);
	if (!err)
		err = flv_payloads(d2, n2, &fpp2);
	if (!err)
		err = check_ffmpeg();
	mem_deref(d1);
	mem_deref(d2);
	return err;
}

/* Each packet cut at every byte, placed at the end of an exact-size block
 * so that ASan sees any read past it.  A cut may still be valid: at a
 * byte-aligned frame end, where the bits left look like padding, when only
 * FFmpeg's end-of-stream terminators are cut.  Read in the same layout as
 * the whole packet, it then holds the same first frames (the last one maybe
 * cut to its narrowband core, which the decoder allows).  Read in the
 * other layout, the cut bits happened to parse as frames. */
static int check_cuts(uint8_t *buf, size_t cap, const uint8_t *pkt, size_t len)
{
	struct speex_frame full[SPEEX_MAX_FRAMES], f[SPEEX_MAX_FRAMES];
	bool padded;
	int n = speex_walk(pkt, len, full, SPEEX_MAX_FRAMES, &padded);

	TEST_ASSERT(n > 0 && len <= cap);
	for (size_t cut = 0; cut < len; cut++) {
		uint8_t *p = buf + cap - cut;
		bool cp;
		int m;

		memcpy(p, pkt, cut);
		m = speex_walk(p, cut, f, SPEEX_MAX_FRAMES, &cp);
		if (m < 0) {
			TEST_EQ(m, -EBADMSG);
			continue;
		}
		if (cp != padded)
			continue;  /* 0.7% of the cuts: the bits left happen to parse */
		TEST_ASSERT(m <= n);
		for (int j = 0; j < m; j++) {
			TEST_EQ(f[j].bit_off, full[j].bit_off);
			if (j < m - 1)
				TEST_EQ(f[j].bits, full[j].bits);
			else
				TEST_ASSERT(f[j].bits <= full[j].bits);
		}
	}
	return 0;
}

int test_speex_truncated(void)
{
	static const int pick[] = {0, 10, 19, 21, 32, 33, 34};
	uint8_t *buf = mem_alloc(1024, NULL);
	int err = buf ? load_all() : ENOMEM;

	for (size_t i = 0; i < sizeof(pick) / sizeof(pick[0]) && !err; i++) {
		const struct vec *v = &vecs[pick[i]];
		for (int fpp = 2; fpp <= 4 && !err; fpp++)
			for (int l = 0; l < 2 && !err; l++)
				for (int p = 0; p < v->s[fpp - 1][l].n && !err; p++)
					err = check_cuts(buf, 1024, v->s[fpp - 1][l].pkt[p],
							 v->s[fpp - 1][l].len[p]);
	}
	if (buf)
		free_all();
	mem_deref(buf);
	return err;
}

/* A bit writer for hand-built payloads. */
struct bw {
	uint8_t b[512];
	uint32_t off;
};

static void bw_put(struct bw *w, uint32_t v, unsigned n)
{
	while (n--) {
		if (!(w->off & 7))
			w->b[w->off >> 3] = 0;
		if (v >> n & 1)
			w->b[w->off >> 3] |= (uint8_t)(0x80 >> (w->off & 7));
		w->off++;
	}
}

static void bw_zeros(struct bw *w, unsigned n)
{
	for (; n > 16; n -= 16)
		bw_put(w, 0, 16);
	bw_put(w, 0, n);
}

/* speex_bits_insert_terminator() */
static size_t bw_end(struct bw *w)
{
	if (w->off & 7)
		bw_put(w, 0, 1);
	while (w->off & 7)
		bw_put(w, 1, 1);
	return w->off / 8;
}

/* A DTX frame: narrowband mode 0 (5 bits) and wideband submode 0 (4). */
static void bw_dtx(struct bw *w)
{
	bw_put(w, 0, 5);
	bw_put(w, 8, 4);
}

/* A quality 0 frame: narrowband mode 1 (43 bits), wideband 1 (36). */
static void bw_q0(struct bw *w)
{
	bw_put(w, 1, 5);
	bw_zeros(w, 38);
	bw_put(w, 9, 4);
	bw_zeros(w, 32);
}

static int walk_bw(struct bw *w, struct speex_frame *f, bool *padded)
{
	return speex_walk(w->b, bw_end(w), f, SPEEX_MAX_FRAMES, padded);
}

int test_speex_malformed(void)
{
	struct speex_frame f[SPEEX_MAX_FRAMES];
	struct bw w;
	bool padded;

	/* a wideband layer first; narrowband modes 9..12; wideband 5..7 */
	w.off = 0; bw_put(&w, 0x80 | 9, 9); TEST_EQ(walk_bw(&w, f, &padded), -EBADMSG);
	for (unsigned m = 9; m <= 12; m++) {
		w.off = 0; bw_put(&w, m, 5); bw_zeros(&w, 500);
		TEST_EQ(walk_bw(&w, f, &padded), -EBADMSG);
	}
	for (unsigned s = 5; s <= 7; s++) {
		w.off = 0; bw_put(&w, 0, 5); bw_put(&w, 8 | s, 4); bw_zeros(&w, 400);
		TEST_EQ(walk_bw(&w, f, &padded), -EBADMSG);
	}
	/* a second wideband layer (ultra-wideband) */
	w.off = 0; bw_q0(&w); bw_put(&w, 9, 4); bw_zeros(&w, 32);
	TEST_EQ(walk_bw(&w, f, &padded), -EBADMSG);
	/* a terminator between frames, in either layout */
	w.off = 0; bw_q0(&w); bw_put(&w, 15, 5); bw_q0(&w);
	TEST_EQ(walk_bw(&w, f, &padded), -EBADMSG);
	w.off = 0; bw_q0(&w); bw_end(&w); bw_put(&w, 15, 5); bw_end(&w); bw_q0(&w);
	TEST_EQ(walk_bw(&w, f, &padded), -EBADMSG);
	/* padding that is not 0 then 1s; bits after the end; a short frame */
	w.off = 0; bw_q0(&w); bw_put(&w, 1, 1);
	TEST_EQ(speex_walk(w.b, bw_end(&w), f, SPEEX_MAX_FRAMES, &padded), -EBADMSG);
	w.off = 0; bw_q0(&w); bw_put(&w, 0x2, 2); bw_put(&w, 1, 1);
	TEST_EQ(walk_bw(&w, f, &padded), -EBADMSG);
	w.off = 0; bw_q0(&w); bw_zeros(&w, 5);
	TEST_EQ(walk_bw(&w, f, &padded), 2);   /* zeros read as a narrowband mode 0 frame */
	w.off = 0; bw_q0(&w); bw_zeros(&w, 8);
	TEST_EQ(walk_bw(&w, f, &padded), -EBADMSG);
	w.off = 0; bw_q0(&w); bw_put(&w, 0xff, 8);
	TEST_EQ(walk_bw(&w, f, &padded), -EBADMSG);
	w.off = 0; bw_q0(&w);
	TEST_EQ(speex_walk(w.b, 9, f, SPEEX_MAX_FRAMES, &padded), -EBADMSG);
	w.off = 0; bw_put(&w, 0, 5); bw_put(&w, 1, 1);
	TEST_EQ(speex_walk(w.b, 1, f, SPEEX_MAX_FRAMES, &padded), -EBADMSG);
	/* in-band messages with no frame after them, or cut short */
	w.off = 0; bw_q0(&w); bw_put(&w, 14, 5); bw_put(&w, 8, 4); bw_put(&w, 'x', 8);
	TEST_EQ(walk_bw(&w, f, &padded), -EBADMSG);
	w.off = 0; bw_put(&w, 13, 5); bw_put(&w, 15, 4); bw_zeros(&w, 5 + 8 * 14);
	TEST_EQ(walk_bw(&w, f, &padded), -EBADMSG);
	w.off = 0; bw_put(&w, 14, 5); bw_put(&w, 15, 4); bw_zeros(&w, 60);
	TEST_EQ(walk_bw(&w, f, &padded), -EBADMSG);
	return 0;
}

/* What a valid payload may hold besides frames. */
int test_speex_terminators(void)
{
	struct speex_frame f[SPEEX_MAX_FRAMES];
	struct bw w;
	bool padded = true;

	TEST_EQ(speex_walk(NULL, 0, f, SPEEX_MAX_FRAMES, &padded), 0);
	TEST_ASSERT(!padded);
	w.off = 0; bw_put(&w, 15, 5);
	TEST_EQ(walk_bw(&w, f, &padded), 0);
	TEST_EQ(w.b[0], 0x7b);
	/* FFmpeg's last packet: frames, then a 5-bit terminator per missing one */
	for (int k = 0; k <= 3; k++) {
		w.off = 0; bw_q0(&w);
		for (int i = 0; i < k; i++)
			bw_put(&w, 15, 5);
		TEST_EQ(walk_bw(&w, f, &padded), 1);
		TEST_ASSERT(!padded);
		TEST_EQ(f[0].bits, 79);
	}
	/* padding after every frame of 1..8 DTX frames: 9 bits, 7 padding */
	for (int n = 1; n <= 8; n++) {
		w.off = 0;
		for (int i = 0; i < n; i++) {
			bw_dtx(&w);
			bw_end(&w);
		}
		TEST_EQ(walk_bw(&w, f, &padded), n);
		TEST_EQ(padded, n > 1);
		for (int i = 0; i < n; i++) {
			TEST_EQ(f[i].bit_off, 16 * i);
			TEST_EQ(f[i].bits, 9);
		}
	}
	/* a frame without its wideband layer, as the decoder allows */
	w.off = 0; bw_put(&w, 1, 5); bw_zeros(&w, 38); bw_dtx(&w);
	TEST_EQ(walk_bw(&w, f, &padded), 2);
	TEST_EQ(f[0].bits, 43);
	TEST_EQ(f[1].bit_off, 43);
	return 0;
}

/* In-band messages belong to the frame after them: the request sizes by
 * id, and user messages (4-bit size n, then 5 + 8n bits). */
int test_speex_inband(void)
{
	static const unsigned req[16] = {1, 1, 4, 4, 4, 4, 4, 4, 8, 8, 16, 16, 32, 32, 64, 64};
	struct speex_frame f[SPEEX_MAX_FRAMES];
	uint8_t out[64];
	struct bw w;
	bool padded;

	for (unsigned id = 0; id < 16; id++) {
		w.off = 0; bw_dtx(&w);
		bw_put(&w, 14, 5); bw_put(&w, id, 4); bw_zeros(&w, req[id]);
		bw_q0(&w);
		TEST_EQ(walk_bw(&w, f, &padded), 2);
		TEST_ASSERT(!padded);
		TEST_EQ(f[1].bit_off, 9);
		TEST_EQ(f[1].bits, 9 + req[id] + 79);
		TEST_EQ(speex_frame_copy(w.b, w.off / 8, &f[1], out, sizeof(out)), (9 + req[id] + 79 + 7) / 8);
	}
	for (unsigned n = 0; n < 16; n++) {
		w.off = 0;
		bw_put(&w, 13, 5); bw_put(&w, n, 4); bw_zeros(&w, 5 + 8 * n);
		bw_put(&w, 14, 5); bw_put(&w, 9, 4); bw_zeros(&w, 8);
		bw_dtx(&w);
		bw_dtx(&w);
		TEST_EQ(walk_bw(&w, f, &padded), 2);
		TEST_EQ(f[0].bit_off, 0);
		TEST_EQ(f[0].bits, 9 + 5 + 8 * n + 17 + 9);
		TEST_EQ(f[1].bits, 9);
	}
	return 0;
}

int test_speex_limits(void)
{
	static uint8_t big[SPEEX_MAX_PAYLOAD + 1];
	struct speex_frame f[SPEEX_MAX_FRAMES + 1], g = {0, 0};
	uint8_t out[64], one[2];
	const uint8_t *in[3];
	size_t lens[3];
	struct bw w, w2;
	bool padded;

	w.off = 0;
	for (int i = 0; i < SPEEX_MAX_FRAMES + 1; i++)
		bw_dtx(&w);
	bw_end(&w);
	TEST_EQ(speex_walk(w.b, w.off / 8, f, SPEEX_MAX_FRAMES, &padded), -E2BIG);
	TEST_EQ(speex_walk(w.b, w.off / 8, f, SPEEX_MAX_FRAMES + 1, &padded), SPEEX_MAX_FRAMES + 1);
	TEST_EQ(speex_walk(w.b, w.off / 8, NULL, 0, &padded), -E2BIG);
	TEST_EQ(speex_walk(w.b, w.off / 8, f, -1, NULL), -E2BIG);
	TEST_EQ(speex_walk(big, sizeof(big), f, SPEEX_MAX_FRAMES, &padded), -EMSGSIZE);
	/* copy: out of room, outside the payload, an empty frame */
	w.off = 0; bw_q0(&w);
	TEST_EQ(walk_bw(&w, f, &padded), 1);
	TEST_EQ(speex_frame_copy(w.b, 10, &f[0], out, 9), -ENOSPC);
	TEST_EQ(speex_frame_copy(w.b, 9, &f[0], out, sizeof(out)), -EINVAL);
	g.bit_off = 81;
	TEST_EQ(speex_frame_copy(w.b, 10, &g, out, sizeof(out)), -EINVAL);
	g.bit_off = 80;
	TEST_EQ(speex_frame_copy(w.b, 10, &g, out, 0), 0);
	g.bit_off = 0;
	TEST_EQ(speex_frame_copy(NULL, 0, &g, NULL, 0), 0);
	in[0] = NULL;
	lens[0] = 0;
	TEST_EQ(speex_pack(in, lens, 1, NULL, 0), 0);
	/* pack: out of room, a bad input, more than SPEEX_MAX_FRAMES in all */
	in[0] = in[1] = w.b;
	lens[0] = lens[1] = 10;
	TEST_EQ(speex_pack(in, lens, 2, out, 20), 20);
	TEST_EQ(speex_pack(in, lens, 2, out, 19), -ENOSPC);
	TEST_EQ(speex_pack(in, lens, 0, out, 0), 0);
	one[0] = 0xff;
	in[2] = one;
	lens[2] = 1;
	TEST_EQ(speex_pack(in, lens, 3, out, sizeof(out)), -EBADMSG);
	w2.off = 0;
	for (int i = 0; i < SPEEX_MAX_FRAMES - 1; i++)
		bw_dtx(&w2);
	in[2] = w2.b;
	lens[2] = bw_end(&w2);
	TEST_EQ(speex_pack(in + 1, lens + 1, 2, out, sizeof(out)), 45);   /* 79 + 31 * 9 bits */
	TEST_EQ(speex_pack(in, lens, 3, out, sizeof(out)), -E2BIG);
	return 0;
}

/* Decoding with libspeex: each frame alone, as walked and copied, gives the
 * PCM of decoding the whole bit-packed packet, and the decoder finds no
 * more frames in the packet than the walker. */
struct dec {
	void *st;
	SpeexBits bits;
};

static void dec_open(struct dec *d)
{
	d->st = speex_decoder_init(speex_lib_get_mode(SPEEX_MODEID_WB));
	speex_bits_init(&d->bits);
}

static void dec_close(struct dec *d)
{
	speex_bits_destroy(&d->bits);
	speex_decoder_destroy(d->st);
}

static int decode_packet(struct dec *whole, struct dec *each, const uint8_t *pkt, size_t len,
			 const uint8_t *split, size_t split_len)
{
	struct speex_frame f[SPEEX_MAX_FRAMES];
	spx_int16_t a[SPEEX_WB_SAMPLES], b[SPEEX_WB_SAMPLES];
	uint8_t out[1024];
	int n = speex_walk(split, split_len, f, SPEEX_MAX_FRAMES, NULL);

	TEST_ASSERT(n > 0);
	speex_bits_read_from(&whole->bits, (const char *)pkt, (int)len);
	for (int j = 0; j < n; j++) {
		int m = speex_frame_copy(split, split_len, &f[j], out, sizeof(out));

		TEST_ASSERT(m > 0);
		TEST_EQ(speex_decode_int(whole->st, &whole->bits, a), 0);
		speex_bits_read_from(&each->bits, (const char *)out, m);
		TEST_EQ(speex_decode_int(each->st, &each->bits, b), 0);
		TEST_MEMEQ(a, sizeof(a), b, sizeof(b));
		TEST_EQ(speex_decode_int(each->st, &each->bits, b), -1);
	}
	TEST_EQ(speex_decode_int(whole->st, &whole->bits, a), -1);
	return 0;
}

/* Whole bit-packed packets against the frames of stream (fpp, layout). */
static int decode_stream(const struct vec *v, int fpp, int layout)
{
	const struct stream *s = &v->s[fpp - 1][0], *t = &v->s[fpp - 1][layout];
	struct dec whole, each;
	int err = 0;

	dec_open(&whole);
	dec_open(&each);
	for (int p = 0; p < s->n && !err; p++)
		err = decode_packet(&whole, &each, s->pkt[p], s->len[p], t->pkt[p], t->len[p]);
	dec_close(&whole);
	dec_close(&each);
	return err;
}

int test_speex_decode(void)
{
	int err = load_all();

	for (int i = 0; i < VEC_FILES && !err; i++) {
		for (int fpp = 2; fpp <= 4 && !err; fpp++)
			for (int l = 0; l < 2 && !err; l++)
				err = decode_stream(&vecs[i], fpp, l);
		if (err)
			fprintf(stderr, "  in %s\n", vec_name(i));
	}
	free_all();
	return err;
}

/* The same for FFmpeg's packets. */
int test_speex_decode_ffmpeg(void)
{
	struct dec whole, each;
	uint8_t *d;
	size_t n;
	int err = test_load_vector("speech/speech-en-fpp2.flv", &d, &n);

	if (err)
		return err;
	err = flv_payloads(d, n, &fpp2);
	dec_open(&whole);
	dec_open(&each);
	for (int k = 0; k < fpp2.n && !err; k++)
		err = decode_packet(&whole, &each, fpp2.p[k], fpp2.len[k], fpp2.p[k], fpp2.len[k]);
	dec_close(&whole);
	dec_close(&each);
	mem_deref(d);
	return err;
}

/* Found by fuzz_speex: frames without their wideband layer (read bit-packed,
 * as libspeex does) whose join also reads byte-padded.  A byte-padded
 * reading wins only when it is clean, so the join walks back the same. */
int test_speex_rewalk(void)
{
	static const uint8_t in[] = {
		0x0e, 0x00, 0x00, 0x08, 0x03, 0x90, 0x15, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x00, 0x00, 0x25, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x3d,
	};
	struct speex_frame f[SPEEX_MAX_FRAMES], g[SPEEX_MAX_FRAMES];
	uint8_t copies[SPEEX_MAX_FRAMES][16], out[64];
	const uint8_t *p[SPEEX_MAX_FRAMES];
	size_t lens[SPEEX_MAX_FRAMES];
	bool padded;
	int n, len;

	n = speex_walk(in, sizeof(in), f, SPEEX_MAX_FRAMES, &padded);
	TEST_EQ(n, 11);
	TEST_ASSERT(!padded);
	for (int j = 0; j < n; j++) {
		int m = speex_frame_copy(in, sizeof(in), &f[j], copies[j], sizeof(copies[j]));
		TEST_ASSERT(m > 0);
		p[j] = copies[j];
		lens[j] = (size_t)m;
	}
	len = speex_pack(p, lens, n, out, sizeof(out));
	TEST_EQ(len, sizeof(in));
	TEST_EQ(speex_walk(out, (size_t)len, g, SPEEX_MAX_FRAMES, &padded), n);
	TEST_ASSERT(!padded);
	for (int j = 0; j < n; j++)
		TEST_EQ(g[j].bits, f[j].bits);
	return 0;
}
