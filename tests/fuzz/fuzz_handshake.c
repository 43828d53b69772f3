/* libFuzzer target for gateway/handshake.c.  The input is the byte stream a
 * client sends (seed with test-vectors/handshake/); it is fed in chunks whose
 * sizes come from a generator seeded by the input's last bytes, so the same
 * input always splits the same way.  Checks the invariants of
 * handshake_input() besides memory safety. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "buf.h"
#include "handshake.h"

#define REPLY (1 + 2 * HS_SIZE)
#define CHECK(c) do { if (!(c)) abort(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint32_t next(uint32_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 17;
	*x ^= *x << 5;
	return *x;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct handshake hs;
	struct buf out;
	uint32_t seed = 0x9e3779b9u;
	size_t off = 0;

	for (size_t i = size > 4 ? size - 4 : 0; i < size; i++)
		seed = seed * 31 + data[i] + 1;
	buf_init(&out);
	handshake_init(&hs, seed);
	while (off < size) {
		uint32_t r = next(&seed);
		/* mostly small pieces, sometimes everything that is left */
		size_t chunk = r & 0x100 ? size - off : (r >> 16) % 600 + 1;
		int n;

		if (chunk > size - off)
			chunk = size - off;
		n = handshake_input(&hs, data + off, chunk, &out);
		if (n < 0) {
			CHECK(n == -EPROTO && off == 0 && data[0] != 3);
			CHECK(hs.state == HS_WAIT_C0C1 && hs.got == 0 && !out.len);
			break;
		}
		CHECK((size_t)n <= chunk);
		CHECK(hs.state == HS_DONE || (size_t)n == chunk);
		off += (size_t)n;
		CHECK(buf_unread(&out) == (off > HS_SIZE ? REPLY : 0));
		if (hs.state == HS_DONE) {
			CHECK(off == 1 + 2 * HS_SIZE);
			CHECK(handshake_input(&hs, data + off, size - off, &out) == 0);
			break;
		}
	}
	if (buf_unread(&out)) {
		const uint8_t *s = buf_head(&out);
		CHECK(s[0] == 3 && be32(s + 1) == hs.epoch);
		CHECK(hs.digest == (hs.scheme >= 0) && hs.scheme <= 1);
		if (!hs.digest)
			CHECK(!memcmp(s + 1 + HS_SIZE, hs.c1, HS_SIZE));
	}
	buf_reset(&out);
	return 0;
}
