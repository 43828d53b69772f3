/* libFuzzer target for codecs/speex.c: walk any payload; copy every frame
 * out on its own, which must walk back to that one frame; join the copies
 * bit-packed, which must walk back to the same frames.
 * Seed corpus: test-vectors/speex/ (packets/ holds single payloads). */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include "speex.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Frames in order, inside the payload, not overlapping. */
static void check_frames(const struct speex_frame *f, int n, size_t size)
{
	uint64_t end = 0;

	for (int j = 0; j < n; j++) {
		if (f[j].bit_off < end || f[j].bits < 5 ||
		    (uint64_t)f[j].bit_off + f[j].bits > (uint64_t)size * 8)
			abort();
		end = (uint64_t)f[j].bit_off + f[j].bits;
	}
}

/* Copy frame f to out; it walks back to one frame of the same length. */
static size_t copy_one(const uint8_t *data, size_t size, const struct speex_frame *f,
		       uint8_t *out, size_t cap)
{
	struct speex_frame g;
	bool padded;
	int m = speex_frame_copy(data, size, f, out, cap);

	if (m != (int)speex_frame_bytes(f) ||
	    speex_walk(out, (size_t)m, &g, 1, &padded) != 1 ||
	    g.bit_off || g.bits != f->bits || padded)
		abort();
	return (size_t)m;
}

static void check_join(const uint8_t *data, size_t size, const struct speex_frame *f, int n)
{
	struct speex_frame g[SPEEX_MAX_FRAMES];
	const uint8_t *in[SPEEX_MAX_FRAMES];
	size_t lens[SPEEX_MAX_FRAMES], cap = size + SPEEX_MAX_FRAMES, off = 0;
	uint8_t *copies = malloc(cap), *out = malloc(cap);
	bool padded;
	int len;

	if (!copies || !out)
		abort();
	for (int j = 0; j < n; j++) {
		in[j] = copies + off;
		lens[j] = copy_one(data, size, &f[j], copies + off, cap - off);
		off += lens[j];
	}
	len = speex_pack(in, lens, n, out, cap);
	if (len < 0 || speex_walk(out, (size_t)len, g, SPEEX_MAX_FRAMES, &padded) != n)
		abort();
	for (int j = 0; j < n; j++)
		if (g[j].bits != f[j].bits)
			abort();
	free(copies);
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct speex_frame f[SPEEX_MAX_FRAMES];
	bool padded;
	int n = speex_walk(data, size, f, SPEEX_MAX_FRAMES, &padded);

	if (n < 0) {
		if (n != -EBADMSG && n != -E2BIG && n != -EMSGSIZE)
			abort();
		return 0;
	}
	check_frames(f, n, size);
	check_join(data, size, f, n);
	return 0;
}
