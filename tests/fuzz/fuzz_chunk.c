/* libFuzzer target for the dechunker (gateway/chunk.c): the input is what a
 * client sends after the handshake.  Set Chunk Size and Abort messages are
 * applied as the connection would, and every message that comes out is
 * re-chunked and decoded again, which must give the same message. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "chunk.h"
#include "mem.h"

#define CHECK(c) do { if (!(c)) abort(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void roundtrip(const struct rtmp_msg *m)
{
	struct dechunk_limits lim = {1 << 20, 1 << 16, 8, 2 << 20};
	struct dechunker d;
	struct chunker c;
	struct buf b;
	struct rtmp_msg out = {0}, in = *m;
	size_t used;
	int err;

	in.csid = 3 + m->csid % 60;
	buf_init(&b);
	chunker_init(&c);
	c.chunk_size = 64;
	dechunk_init(&d, &lim);
	CHECK(dechunk_set_chunk_size(&d, 64) == 0);
	CHECK(chunker_write(&c, &b, &in) == 0);
	do {
		err = dechunk_next(&d, buf_head(&b), buf_unread(&b), &used, &out);
		buf_consume(&b, used);
	} while (err == EAGAIN);
	CHECK(err == 0);
	CHECK(out.len == m->len && out.type == m->type && out.ts == m->ts &&
	      out.stream_id == m->stream_id);
	CHECK(!m->len || !memcmp(out.body, m->body, m->len));
	CHECK(buf_unread(&b) == 0);
	dechunk_reset(&d);
	buf_reset(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dechunk_limits lim = {1 << 16, 1 << 16, 16, 1 << 17};
	struct dechunker d;
	size_t pos = 0;

	dechunk_init(&d, &lim);
	while (pos < size) {
		struct rtmp_msg m;
		size_t used;
		int err = dechunk_next(&d, data + pos, size - pos, &used, &m);

		CHECK(used <= size - pos);
		pos += used;
		if (err == EAGAIN)
			continue;
		if (err)
			break;
		CHECK(m.len <= lim.max_msg);
		if (m.type == 1 && m.len >= 4 && dechunk_set_chunk_size(&d, be32(m.body)))
			break;
		if (m.type == 2 && m.len >= 4)
			dechunk_abort(&d, be32(m.body));
		roundtrip(&m);
	}
	dechunk_reset(&d);
	return 0;
}
