/* Helpers shared by the chunk layer tests (chunk_util.h). */
#include <stdio.h>
#include <string.h>
#include "mem.h"
#include "test.h"
#include "chunk_util.h"

const struct dechunk_limits lim_big = {
	.max_msg = 1u << 20, .max_chunk = 1u << 20, .max_streams = 64, .max_buffered = 4u << 20,
};


static uint32_t fnv(const uint8_t *p, size_t n)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

void rec_set(struct rec *r, const struct rtmp_msg *m)
{
	memset(r, 0, sizeof(*r));
	r->csid = m->csid;
	r->ts = m->ts;
	r->stream_id = m->stream_id;
	r->len = m->len;
	r->type = m->type;
	r->hash = fnv(m->body, m->len);
	if (m->len)
		memcpy(r->head, m->body, m->len < HEAD_MAX ? m->len : HEAD_MAX);
}

int rec_same(const struct rec *a, const struct rec *b)
{
	TEST_EQ(a->csid, b->csid);
	TEST_EQ(a->ts, b->ts);
	TEST_EQ(a->stream_id, b->stream_id);
	TEST_EQ(a->len, b->len);
	TEST_EQ(a->type, b->type);
	TEST_EQ(a->hash, b->hash);
	TEST_MEMEQ(a->head, sizeof(a->head), b->head, sizeof(b->head));
	return 0;
}

/* Feed [data, data+len) to d the way a socket delivers it: step bytes at a
 * time (all at once for 0) appended to what the dechunker left unconsumed.
 * Set Chunk Size is applied as the stream code does.  The messages go to
 * r[0..cap) and their count to *n.  Returns 0, or the first error of
 * dechunk_next or dechunk_set_chunk_size.  Everything must be consumed. */
int feed(struct dechunker *d, struct buf *in, const uint8_t *data, size_t len,
		size_t step, struct rec *r, size_t cap, size_t *n)
{
	size_t fed = 0;
	int err;

	*n = 0;
	for (;;) {
		struct rtmp_msg m;
		size_t used = 12345;
		int ret = ENODATA;

		if (buf_unread(in))
			ret = dechunk_next(d, buf_head(in), buf_unread(in), &used, &m);
		else
			used = 0;
		if (ret == ENODATA) {
			size_t k = step && step < len - fed ? step : len - fed;
			TEST_EQ(used, 0);
			if (fed == len)
				break;
			buf_compact(in);
			if ((err = buf_append(in, data + fed, k)))
				return err;
			fed += k;
			continue;
		}
		if (ret && ret != EAGAIN)
			return ret;
		TEST_ASSERT(used > 0 && used <= buf_unread(in));
		buf_consume(in, used);
		if (ret == EAGAIN)
			continue;
		TEST_ASSERT(*n < cap);
		rec_set(&r[(*n)++], &m);
		if (m.type == RTMP_SET_CHUNK_SIZE) {
			TEST_EQ(m.len, 4);
			if ((err = dechunk_set_chunk_size(d, be32(m.body))))
				return err;
		}
	}
	TEST_EQ(buf_unread(in), 0);
	return 0;
}

/* Feed the same bytes in several ways; each must give what the first gives. */
struct rec recs_whole[RECS_MAX], recs_frag[RECS_MAX];

int feed_all_ways(const struct dechunk_limits *lim, const uint8_t *data, size_t len,
			 size_t *n)
{
	static const size_t steps[] = {0, 1, 7, 13, 127, 128, 129, 4096};
	struct dechunker d;
	struct buf in;
	int err = 0;

	for (size_t i = 0; !err && i < sizeof(steps) / sizeof(steps[0]); i++) {
		struct rec *r = i ? recs_frag : recs_whole;
		size_t got = 0;

		dechunk_init(&d, lim);
		buf_init(&in);
		err = feed(&d, &in, data, len, steps[i], r, RECS_MAX, &got);
		if (!err && d.buffered) {
			test_fail(__FILE__, __LINE__, "nothing left buffered at the end");
			err = EBADMSG;
		}
		dechunk_reset(&d);
		buf_reset(&in);
		if (err)
			break;
		if (!i) {
			*n = got;
			continue;
		}
		if (got != *n) {
			test_fail(__FILE__, __LINE__, "same message count in fragments");
			err = EBADMSG;
		}
		for (size_t j = 0; !err && j < got; j++)
			err = rec_same(&recs_whole[j], &recs_frag[j]);
	}
	return err;
}



/* Run dechunk_next over p chunk by chunk, checking each call. */
int walk(struct dechunker *d, const uint8_t *p, size_t len, const struct expect *e,
		size_t ne)
{
	size_t pos = 0;

	for (size_t i = 0; i < ne; i++) {
		struct rtmp_msg m;
		size_t used = 999;
		int ret = dechunk_next(d, p + pos, len - pos, &used, &m);

		if (ret != e[i].ret || used != e[i].used) {
			char msg[120];
			snprintf(msg, sizeof(msg), "chunk %zu at %zu: ret %d used %zu, want %d %zu", i,
				 pos, ret, used, e[i].ret, e[i].used);
			test_fail(__FILE__, __LINE__, msg);
			return EBADMSG;
		}
		pos += used;
		if (ret)
			continue;
		TEST_EQ(m.csid, e[i].csid);
		TEST_EQ(m.ts, e[i].ts);
		TEST_EQ(m.len, e[i].len);
		TEST_EQ(m.stream_id, e[i].stream_id);
		TEST_EQ(m.type, e[i].type);
		/* a message in one chunk is the chunk's tail */
		if (i == 0 || e[i - 1].ret != EAGAIN)
			TEST_MEMEQ(m.body, m.len, p + pos - m.len, m.len);
	}
	TEST_EQ(pos, len);
	return 0;
}
