/* Generate the Speex frame walker's test vectors (test-vectors/speex/,
 * format in its README.md) with libspeex.
 *
 *   speex-vectors test-vectors/speech/speech-en.wav test-vectors/speex
 *
 * For each variant (wideband quality 0..10; CBR, VBR+VAD, VBR+VAD+DTX; two
 * with in-band messages) FRAMES frames of the speech from FIRST are encoded
 * by separate, identically set up encoders:
 * - the reference: each frame alone in its own SpeexBits, speex_bits_write();
 * - bit-packed, fpp 1..4: one SpeexBits per packet, frames back to back,
 *   written once, with 5-bit terminators for missing frames in the last
 *   packet (FFmpeg's libspeexenc);
 * - byte-padded, fpp 1..4: speex_bits_insert_terminator() after each frame.
 * The encoder is deterministic, so byte-padded packets must equal their
 * reference frames concatenated; this is checked. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <speex/speex.h>
#include <speex/speex_stereo.h>

#define FIRST 120          /* from 2.4 s: a word, the pause between the sentences, words */
#define FRAMES 75          /* 1.5 s */
#define SAMPLES 320        /* 20 ms at 16 kHz */
#define WAV_HEADER 44
#define MAX_BYTES 2048     /* one packet */
#define SEED_FRAME 40      /* the packet holding it becomes a fuzz seed */

enum { F_VAD = 1, F_DTX = 2, F_INBAND = 4 };
enum { REF, PACKED, PADDED };

struct variant {
	int q;
	unsigned flags;
	char name[32];
};

struct stream {
	uint8_t data[FRAMES][MAX_BYTES];
	int len[FRAMES];
	int n;
};

static int16_t pcm[FRAMES][SAMPLES];
static struct stream ref, packets[4][2];

static void die(const char *what)
{
	fprintf(stderr, "speex-vectors: %s\n", what);
	exit(1);
}

static void load(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t b[SAMPLES * 2];

	if (!f || fseek(f, WAV_HEADER + FIRST * SAMPLES * 2, SEEK_SET))
		die("cannot open the wav file");
	for (int i = 0; i < FRAMES; i++) {
		if (fread(b, 1, sizeof(b), f) != sizeof(b))
			die("wav file too short");
		for (int j = 0; j < SAMPLES; j++)
			pcm[i][j] = (int16_t)(b[2 * j] | b[2 * j + 1] << 8);
	}
	fclose(f);
}

static void *start(const struct variant *v)
{
	void *st = speex_encoder_init(speex_lib_get_mode(SPEEX_MODEID_WB));
	spx_int32_t one = 1, q = v->q, cx = 3;
	float vq = (float)v->q;

	speex_encoder_ctl(st, SPEEX_SET_COMPLEXITY, &cx);
	if (v->flags & F_VAD) {
		speex_encoder_ctl(st, SPEEX_SET_VBR, &one);
		speex_encoder_ctl(st, SPEEX_SET_VBR_QUALITY, &vq);
		speex_encoder_ctl(st, SPEEX_SET_VAD, &one);
	} else {
		speex_encoder_ctl(st, SPEEX_SET_QUALITY, &q);
	}
	if (v->flags & F_DTX)
		speex_encoder_ctl(st, SPEEX_SET_DTX, &one);
	return st;
}

/* Mode 13 (user message) as libspeex's decoder skips it: a 4-bit size n,
 * then 5 + 8n bits; mode 14 (request) id then 1..64 bits by id. */
static void put_inband(SpeexBits *b, int i)
{
	static const int req_bits[16] = {1, 1, 4, 4, 4, 4, 4, 4, 8, 8, 16, 16, 32, 32, 64, 64};

	if (i % 5 == 1) {
		int n = i % 4;
		speex_bits_pack(b, 13, 5);
		speex_bits_pack(b, n, 4);
		speex_bits_pack(b, 0x15, 5);
		for (int k = 0; k < n; k++)
			speex_bits_pack(b, 'a' + k, 8);
	}
	if (i % 3 == 2) {
		int id = (i / 3) % 16;
		speex_bits_pack(b, 14, 5);
		speex_bits_pack(b, id, 4);
		for (int left = req_bits[id]; left > 0; left -= 16) {
			int k = left < 16 ? left : 16;
			speex_bits_pack(b, 0xa5c3 >> (16 - k), k);
		}
	}
}

/* One frame into b, in-band messages first for F_INBAND: the stereo balance
 * from speex_encode_stereo_int() (a made-up right channel), and others. */
static void encode(void *st, SpeexBits *b, const struct variant *v, int i)
{
	int16_t x[2 * SAMPLES];

	if (v->flags & F_INBAND) {
		put_inband(b, i);
		for (int j = 0; j < SAMPLES; j++) {
			x[2 * j] = pcm[i][j];
			x[2 * j + 1] = (int16_t)(pcm[i][j] / (1 + i % 3));
		}
		speex_encode_stereo_int(x, SAMPLES, b);
	} else {
		memcpy(x, pcm[i], sizeof(pcm[i]));
	}
	speex_encode_int(st, x, b);
}

static void flush(struct stream *s, SpeexBits *b)
{
	if (speex_bits_nbytes(b) > MAX_BYTES)
		die("packet too big");
	s->len[s->n] = speex_bits_write(b, (char *)s->data[s->n], MAX_BYTES);
	s->n++;
	speex_bits_reset(b);
}

/* Encode all frames into s: REF (fpp 1 per SpeexBits), PACKED or PADDED. */
static void run(const struct variant *v, struct stream *s, int kind, int fpp)
{
	void *st = start(v);
	SpeexBits b;
	int i;

	speex_bits_init(&b);
	s->n = 0;
	for (i = 0; i < FRAMES; i++) {
		encode(st, &b, v, i);
		if (kind == PADDED)
			speex_bits_insert_terminator(&b);
		if (kind == REF || (i + 1) % fpp == 0)
			flush(s, &b);
	}
	if (i % fpp) {
		for (int k = i % fpp; kind == PACKED && k < fpp; k++)
			speex_bits_pack(&b, 15, 5);
		flush(s, &b);
	}
	speex_bits_destroy(&b);
	speex_encoder_destroy(st);
}

static void check(int fpp, const struct stream *s)
{
	for (int p = 0; p < s->n; p++) {
		int off = 0;
		for (int i = p * fpp; i < FRAMES && i < (p + 1) * fpp; i++) {
			if (off + ref.len[i] > s->len[p] ||
			    memcmp(s->data[p] + off, ref.data[i], (size_t)ref.len[i]))
				die("packet differs from its reference frames");
			off += ref.len[i];
		}
		if (off != s->len[p])
			die("packet longer than its reference frames");
	}
}

static void put8(FILE *f, int v)
{
	fputc(v, f);
}

static void put16(FILE *f, int v)
{
	fputc(v >> 8, f);
	fputc(v & 0xff, f);
}

static void save(const struct variant *v, const char *dir)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s.spxv", dir, v->name);
	f = fopen(path, "wb");
	if (!f)
		die("cannot write a vector file");
	fwrite("SPXV", 1, 4, f);
	put8(f, 1);
	put8(f, v->q);
	put8(f, (int)v->flags);
	put8(f, FRAMES);
	for (int i = 0; i < FRAMES; i++) {
		put8(f, ref.len[i]);
		fwrite(ref.data[i], 1, (size_t)ref.len[i], f);
	}
	for (int fpp = 1; fpp <= 4; fpp++) {
		for (int l = 0; l < 2; l++) {
			const struct stream *s = &packets[fpp - 1][l];
			put8(f, fpp);
			put8(f, l);
			put8(f, s->n);
			for (int p = 0; p < s->n; p++) {
				put16(f, s->len[p]);
				fwrite(s->data[p], 1, (size_t)s->len[p], f);
			}
		}
	}
	if (fclose(f))
		die("write failed");
}

/* One packet per fpp and layout as a raw payload: fuzz seeds. */
static void save_seeds(const struct variant *v, const char *dir)
{
	static const char *const layout[2] = {"packed", "padded"};
	char path[512];

	for (int fpp = 1; fpp <= 4; fpp++) {
		for (int l = 0; l < 2; l++) {
			const struct stream *s = &packets[fpp - 1][l];
			int p = SEED_FRAME / fpp;
			FILE *f;

			if (fpp == 1 && l == 1)
				continue;  /* same bytes as packed */
			snprintf(path, sizeof(path), "%s/packets/%s-fpp%d-%s.bin", dir, v->name,
				 fpp, layout[l]);
			f = fopen(path, "wb");
			if (!f || fwrite(s->data[p], 1, (size_t)s->len[p], f) != (size_t)s->len[p] ||
			    fclose(f))
				die("cannot write a seed (does DIR/packets exist?)");
		}
	}
}

static void make(const struct variant *v, const char *dir, bool seeds)
{
	run(v, &ref, REF, 1);
	for (int fpp = 1; fpp <= 4; fpp++) {
		run(v, &packets[fpp - 1][0], PACKED, fpp);
		run(v, &packets[fpp - 1][1], PADDED, fpp);
		check(fpp, &packets[fpp - 1][1]);
	}
	check(1, &packets[0][0]);
	save(v, dir);
	if (seeds)
		save_seeds(v, dir);
}

int main(int argc, char **argv)
{
	static const struct { const char *suffix; unsigned flags; } kinds[] = {
		{"", 0}, {"-vad", F_VAD}, {"-dtx", F_VAD | F_DTX},
	};
	struct variant v;

	if (argc != 3) {
		fprintf(stderr, "usage: speex-vectors SPEECH.wav OUTDIR\n");
		return 2;
	}
	load(argv[1]);
	for (unsigned k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		for (int q = 0; q <= 10; q++) {
			v.q = q;
			v.flags = kinds[k].flags;
			snprintf(v.name, sizeof(v.name), "wb-q%d%s", q, kinds[k].suffix);
			make(&v, argv[2], q % 2 == 0);
		}
	}
	v = (struct variant){8, F_INBAND, "wb-q8-inband"};
	make(&v, argv[2], true);
	v = (struct variant){3, F_VAD | F_DTX | F_INBAND, "wb-q3-dtx-inband"};
	make(&v, argv[2], true);
	return 0;
}
