/* Speex frame walker: frame boundaries from the mode tables, no decoding.
 * The bitstream facts are in speex.h. */
#include <errno.h>
#include <string.h>
#include "speex.h"

#define MODE_USER 13
#define MODE_INBAND 14
#define MODE_TERM 15

/* Bits per frame, header included (libspeex modes.c, modes_wb.c); 0 = invalid. */
static const uint16_t nb_bits[16] = {5, 43, 119, 160, 220, 300, 364, 492, 79};
static const uint16_t wb_bits[8] = {4, 36, 112, 192, 352};
/* Bits after a mode 14 request's 4-bit id (speex_inband_handler). */
static const uint8_t inband_bits[16] = {1, 1, 4, 4, 4, 4, 4, 4, 8, 8, 16, 16, 32, 32, 64, 64};

struct reader {
	const uint8_t *p;
	size_t len;
	uint32_t total;   /* bits */
};

enum { END = 0, FRAME = 1 };

static void init(struct reader *r, const uint8_t *p, size_t len)
{
	r->p = p;
	r->len = len;
	r->total = (uint32_t)len * 8;
}

/* n <= 9 bits at bit off, MSB first; the caller checked off + n <= total. */
static unsigned get(const struct reader *r, uint32_t off, unsigned n)
{
	size_t i = off >> 3;
	unsigned w = (unsigned)r->p[i] << 8;

	if (i + 1 < r->len)
		w |= r->p[i + 1];
	return (w >> (16 - n - (off & 7))) & ((1u << n) - 1);
}

/* Write the n <= 8 low bits of v at bit off.  The rest of off's byte must
 * be 0; the next byte is overwritten if the bits reach it. */
static void put(uint8_t *d, uint32_t off, unsigned v, unsigned n)
{
	uint8_t *q = d + (off >> 3);
	unsigned s = off & 7;
	unsigned w = v << (16 - n - s);

	*q = s ? (uint8_t)(*q | w >> 8) : (uint8_t)(w >> 8);
	if (s + n > 8)
		q[1] = (uint8_t)w;
}

/* speex_bits_insert_terminator(): a 0 bit, then 1 bits up to the byte
 * boundary; nothing when aligned.  Returns the aligned offset. */
static uint32_t pad(uint8_t *d, uint32_t off)
{
	unsigned k = (8 - (off & 7)) & 7;

	if (k)
		put(d, off, (1u << (k - 1)) - 1, k);
	return off + k;
}

/* Are the n < 8 bits at off such padding? */
static bool is_pad(const struct reader *r, uint32_t off, unsigned n)
{
	return !n || get(r, off, n) == (1u << (n - 1)) - 1;
}

/* Copy n bits from r at soff to the start of q, a byte at a time. */
static void copy_aligned(uint8_t *q, const struct reader *r, uint32_t soff, uint32_t n)
{
	const uint8_t *s = r->p + (soff >> 3);
	unsigned ss = soff & 7, tail = n & 7;
	uint32_t whole = n / 8;

	if (!ss)
		memcpy(q, s, whole);
	else
		for (uint32_t i = 0; i < whole; i++)
			q[i] = (uint8_t)(s[i] << ss | s[i + 1] >> (8 - ss));
	if (tail)
		q[whole] = (uint8_t)(get(r, soff + 8 * whole, tail) << (8 - tail));
}

/* Copy n bits from r at soff to d at doff.  As for put(), the rest of
 * doff's byte must be 0. */
static void copy_bits(uint8_t *d, uint32_t doff, const struct reader *r, uint32_t soff,
		      uint32_t n)
{
	unsigned k = (8 - (doff & 7)) & 7;

	if (!n)
		return;  /* p may be NULL */
	if (k > n)
		k = n;
	if (k)
		put(d, doff, get(r, soff, k), k);
	copy_aligned(d + (doff + k) / 8, r, soff + k, n - k);
}

/* What may follow the last frame: whole 5-bit terminators (FFmpeg's end of
 * stream), then the padding of speex_bits_write(). */
static bool check_tail(const struct reader *r, uint32_t off)
{
	for (;;) {
		uint32_t left = r->total - off;

		if (left < 8 && is_pad(r, off, left))
			return true;
		if (left < 5 || get(r, off, 5) != MODE_TERM)
			return false;
		off += 5;
	}
}

/* Skip a mode 13 or 14 message at *off (its 5-bit header included). */
static int skip_inband(const struct reader *r, uint32_t *off, unsigned mode)
{
	uint32_t need;
	unsigned v;

	if (r->total - *off < 9)
		return -EBADMSG;
	v = get(r, *off + 5, 4);
	need = mode == MODE_INBAND ? 9u + inband_bits[v] : 9u + 5 + 8 * v;
	if (r->total - *off < need)
		return -EBADMSG;
	*off += need;
	return 0;
}

/* The wideband layer after the core at *off, if the next bit says so.
 * Returns 1 if there was one, 0 if not, or -EBADMSG. */
static int skip_wb(const struct reader *r, uint32_t *off)
{
	unsigned sub;

	if (*off == r->total || !get(r, *off, 1))
		return 0;
	if (r->total - *off < 4)
		return -EBADMSG;
	sub = get(r, *off + 1, 3);
	if (!wb_bits[sub] || r->total - *off < wb_bits[sub])
		return -EBADMSG;
	*off += wb_bits[sub];
	return 1;
}

/* One frame at *off, as the decoder reads it.  Returns FRAME with *off past
 * it, END with *off where the frames stop (fewer than 5 bits left, or a
 * terminator), or -EBADMSG.  *odd counts what encoders do not write. */
static int next(const struct reader *r, uint32_t *off, unsigned *odd)
{
	uint32_t o = *off;
	bool inband = false;
	unsigned m;
	int err, wb;

	for (;;) {
		if (r->total - o < 5)
			return inband ? -EBADMSG : END;
		m = get(r, o, 5);
		if (m & 16)
			return -EBADMSG;  /* a wideband layer without its core */
		if (m == MODE_TERM)
			return inband ? -EBADMSG : END;
		if (m != MODE_USER && m != MODE_INBAND)
			break;
		err = skip_inband(r, &o, m);
		if (err)
			return err;
		inband = true;
	}
	if (!nb_bits[m] || r->total - o < nb_bits[m])
		return -EBADMSG;
	o += nb_bits[m];
	wb = skip_wb(r, &o);
	if (wb < 0)
		return wb;
	*odd += !wb + inband;
	*off = o;
	return FRAME;
}

/* Read the whole payload in one layout.  Stores the first max frames and
 * returns how many there are, or -EBADMSG. */
static int run(const struct reader *r, struct speex_frame *f, int max, bool padded,
	       unsigned *odd)
{
	uint32_t off = 0, start;
	int n = 0, ret;

	*odd = 0;
	for (;;) {
		start = off;
		ret = next(r, &off, odd);
		if (ret < 0)
			return ret;
		if (ret == END)
			return check_tail(r, off) ? n : -EBADMSG;
		if (n < max) {
			f[n].bit_off = start;
			f[n].bits = off - start;
		}
		n++;
		if (padded && (off & 7)) {
			if (!is_pad(r, off, 8 - (off & 7)))
				return -EBADMSG;
			off = (off | 7) + 1;
		}
	}
}

/* The first reading that works of: bit-packed and clean (no odd frames),
 * byte-padded and clean, bit-packed (as libspeex reads it), byte-padded. */
static int pick(const struct reader *r, struct speex_frame *f, int max, bool *padded)
{
	unsigned odd_b, odd_p;
	int nb, np;

	nb = run(r, f, max, false, &odd_b);
	if (nb >= 0 && !odd_b)
		return nb;
	np = run(r, f, max, true, &odd_p);
	if (np >= 0 && (nb < 0 || !odd_p)) {
		*padded = true;
		return np;
	}
	return nb < 0 ? nb : run(r, f, max, false, &odd_b);  /* f was overwritten */
}

int speex_walk(const uint8_t *p, size_t len, struct speex_frame *f, int max, bool *padded)
{
	struct reader r;
	bool pd = false;
	int n;

	if (padded)
		*padded = false;
	if (len > SPEEX_MAX_PAYLOAD)
		return -EMSGSIZE;
	init(&r, p, len);
	if (max < 0)
		max = 0;
	n = pick(&r, f, max, &pd);
	if (n > max)
		return -E2BIG;
	if (padded && n >= 0)
		*padded = pd;
	return n;
}

int speex_frame_copy(const uint8_t *p, size_t len, const struct speex_frame *f,
		     uint8_t *out, size_t cap)
{
	struct reader r;
	size_t n = speex_frame_bytes(f);

	if (len > SPEEX_MAX_PAYLOAD || f->bit_off > len * 8 || f->bits > len * 8 - f->bit_off)
		return -EINVAL;
	if (n > cap)
		return -ENOSPC;
	init(&r, p, len);
	copy_bits(out, 0, &r, f->bit_off, f->bits);
	pad(out, f->bits);
	return (int)n;
}

int speex_pack(const uint8_t *const *in, const size_t *lens, int n, uint8_t *out, size_t cap)
{
	struct speex_frame f[SPEEX_MAX_FRAMES];
	uint32_t off = 0;
	int total = 0;

	for (int i = 0; i < n; i++) {
		struct reader r;
		int m = speex_walk(in[i], lens[i], f, SPEEX_MAX_FRAMES - total, NULL);

		if (m < 0)
			return m;
		init(&r, in[i], lens[i]);
		for (int j = 0; j < m; j++) {
			if (((size_t)off + f[j].bits + 7) / 8 > cap)
				return -ENOSPC;
			copy_bits(out, off, &r, f[j].bit_off, f[j].bits);
			off += f[j].bits;
		}
		total += m;
	}
	return (int)(pad(out, off) / 8);
}
