/* Tests for gateway/chunk.c's dechunker on hand-made chunks: every header
 * form, the extended timestamp, the basic header sizes, truncation and each
 * limit.  Each test owns its dechunker in a wrapper that frees it. */
#include <stdbool.h>
#include <string.h>
#include "buf.h"
#include "chunk.h"
#include "mem.h"
#include "test.h"
#include "chunk_util.h"

/* What we keep of a message once the dechunker has moved on. */


static int with_dechunker(const struct dechunk_limits *lim, int (*fn)(struct dechunker *d))
{
	struct dechunker d;
	int err;

	dechunk_init(&d, lim);
	err = fn(&d);
	dechunk_reset(&d);
	return err;
}

static int header_types(struct dechunker *d)
{
	static const uint8_t in[] = {
		/* fmt 0: csid 3, ts 100, len 2, type 20, stream 1 */
		0x03, 0x00, 0x00, 0x64, 0x00, 0x00, 0x02, 0x14, 0x01, 0x00, 0x00, 0x00, 0xa0, 0xa1,
		/* fmt 3 starting a message after fmt 0: adds the type-0 field, 100 */
		0xc3, 0xa2, 0xa3,
		/* fmt 2: delta 10 */
		0x83, 0x00, 0x00, 0x0a, 0xa4, 0xa5,
		/* fmt 3: adds 10 again */
		0xc3, 0xa6, 0xa7,
		/* fmt 1: delta 5, len 3, type 8; stream id stays 1 */
		0x43, 0x00, 0x00, 0x05, 0x00, 0x00, 0x03, 0x08, 0xb0, 0xb1, 0xb2,
		/* another chunk stream in between has its own state */
		0x04, 0x00, 0x27, 0x10, 0x00, 0x00, 0x01, 0x12, 0x07, 0x00, 0x00, 0x00, 0xd0,
		0xc4, 0xd1,
		/* fmt 3 on csid 3: adds 5 */
		0xc3, 0xb3, 0xb4, 0xb5,
		/* fmt 0 going backwards: ts 7, len 1, type 9, stream 2 */
		0x03, 0x00, 0x00, 0x07, 0x00, 0x00, 0x01, 0x09, 0x02, 0x00, 0x00, 0x00, 0xc0,
		/* fmt 3: adds 7 */
		0xc3, 0xc1,
		/* fmt 2 with delta 0, then fmt 3 */
		0x83, 0x00, 0x00, 0x00, 0xc2,
		0xc3, 0xc3,
		/* fmt 1 with delta 0 and a new length */
		0x43, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x09, 0xe0, 0xe1,
	};
	static const struct expect e[] = {
		{0, 14, 3, 100, 2, 1, 20}, {0, 3, 3, 200, 2, 1, 20}, {0, 6, 3, 210, 2, 1, 20},
		{0, 3, 3, 220, 2, 1, 20}, {0, 11, 3, 225, 3, 1, 8},
		{0, 13, 4, 10000, 1, 7, 18}, {0, 2, 4, 20000, 1, 7, 18},
		{0, 4, 3, 230, 3, 1, 8}, {0, 13, 3, 7, 1, 2, 9}, {0, 2, 3, 14, 1, 2, 9},
		{0, 5, 3, 14, 1, 2, 9}, {0, 2, 3, 14, 1, 2, 9}, {0, 10, 3, 14, 2, 2, 9},
	};

	return walk(d, in, sizeof(in), e, sizeof(e) / sizeof(e[0]));
}

int test_chunk_header_types(void)
{
	return with_dechunker(&lim_big, header_types);
}

/* A type-3 chunk continues a message without touching the timestamp; after
 * the message it starts the next one with the delta. */
static int multi_chunk(struct dechunker *d)
{
	static const uint8_t in[] = {
		/* chunk size 4; csid 3, ts 100, len 10, type 8, stream 0 */
		0x03, 0x00, 0x00, 0x64, 0x00, 0x00, 0x0a, 0x08, 0x00, 0x00, 0x00, 0x00,
		'0', '1', '2', '3', 0xc3, '4', '5', '6', '7', 0xc3, '8', '9',
		/* fmt 3: next message, ts 200, in three chunks */
		0xc3, 'a', 'b', 'c', 'd', 0xc3, 'e', 'f', 'g', 'h', 0xc3, 'i', 'j',
		/* fmt 2 delta 1, three chunks */
		0x83, 0x00, 0x00, 0x01, 'A', 'B', 'C', 'D', 0xc3, 'E', 'F', 'G', 'H', 0xc3, 'I', 'J',
		/* fmt 3: delta 1 */
		0xc3, 'k', 'l', 'm', 'n', 0xc3, 'o', 'p', 'q', 'r', 0xc3, 's', 't',
		/* exactly one chunk: len 4, no empty continuation */
		0x43, 0x00, 0x00, 0x02, 0x00, 0x00, 0x04, 0x08, 'w', 'x', 'y', 'z',
		/* exactly two chunks */
		0x43, 0x00, 0x00, 0x02, 0x00, 0x00, 0x08, 0x08, '1', '2', '3', '4', 0xc3,
		'5', '6', '7', '8',
	};
	static const struct expect e[] = {
		AGAIN(16), AGAIN(5), {0, 3, 3, 100, 10, 0, 8},
		AGAIN(5), AGAIN(5), {0, 3, 3, 200, 10, 0, 8},
		AGAIN(8), AGAIN(5), {0, 3, 3, 201, 10, 0, 8},
		AGAIN(5), AGAIN(5), {0, 3, 3, 202, 10, 0, 8},
		{0, 12, 3, 204, 4, 0, 8},
		AGAIN(12), {0, 5, 3, 206, 8, 0, 8},
	};
	static const char *bodies[] = {"0123456789", "abcdefghij", "ABCDEFGHIJ", "klmnopqrst"};
	size_t pos = 0, k = 0;
	int err;

	TEST_ERR(dechunk_set_chunk_size(d, 4));
	TEST_EQ(d->chunk_size, 4);
	for (size_t i = 0; i < sizeof(e) / sizeof(e[0]); i++) {
		struct rtmp_msg m;
		size_t used;
		int ret = dechunk_next(d, in + pos, sizeof(in) - pos, &used, &m);

		TEST_EQ(ret, e[i].ret);
		TEST_EQ(used, e[i].used);
		pos += used;
		if (ret == EAGAIN) {
			TEST_ASSERT(d->buffered > 0);
			continue;
		}
		TEST_EQ(d->buffered, 0);
		TEST_EQ(m.ts, e[i].ts);
		TEST_EQ(m.len, e[i].len);
		if (k < 4)
			TEST_MEMEQ(m.body, m.len, bodies[k], 10);
		else if (k == 4)
			TEST_MEMEQ(m.body, m.len, "wxyz", 4);
		else
			TEST_MEMEQ(m.body, m.len, "12345678", 8);
		k++;
	}
	TEST_EQ(pos, sizeof(in));
out:
	return err;
}

int test_chunk_multi(void)
{
	return with_dechunker(&lim_big, multi_chunk);
}

/* Two messages with their chunks interleaved; the shorter completes first. */
static int interleaved(struct dechunker *d)
{
	static const uint8_t in[] = {
		0x03, 0x00, 0x00, 0x01, 0x00, 0x00, 0x0a, 0x08, 0x01, 0x00, 0x00, 0x00,
		'a', 'b', 'c', 'd',
		0x04, 0x00, 0x00, 0x02, 0x00, 0x00, 0x06, 0x09, 0x01, 0x00, 0x00, 0x00,
		'A', 'B', 'C', 'D',
		0xc3, 'e', 'f', 'g', 'h',
		0xc4, 'E', 'F',
		0xc3, 'i', 'j',
	};
	static const struct expect e[] = {
		AGAIN(16), AGAIN(16), AGAIN(5), {0, 3, 4, 2, 6, 1, 9}, {0, 3, 3, 1, 10, 1, 8},
	};
	static const uint32_t buffered[] = {4, 8, 12, 8, 0};
	size_t pos = 0;
	int err;

	TEST_ERR(dechunk_set_chunk_size(d, 4));
	for (size_t i = 0; i < sizeof(e) / sizeof(e[0]); i++) {
		struct rtmp_msg m;
		size_t used;
		int ret = dechunk_next(d, in + pos, sizeof(in) - pos, &used, &m);

		TEST_EQ(ret, e[i].ret);
		TEST_EQ(used, e[i].used);
		TEST_EQ(d->buffered, buffered[i]);
		pos += used;
		if (ret)
			continue;
		TEST_EQ(m.csid, e[i].csid);
		TEST_EQ(m.ts, e[i].ts);
		TEST_EQ(m.type, e[i].type);
		if (m.csid == 4)
			TEST_MEMEQ(m.body, m.len, "ABCDEF", 6);
		else
			TEST_MEMEQ(m.body, m.len, "abcdefghij", 10);
	}
out:
	return err;
}

int test_chunk_interleaved(void)
{
	return with_dechunker(&lim_big, interleaved);
}

/* A 20000-byte message in 157 chunks; its buffer is released afterwards. */
static uint8_t big_in[24000];

static int big_message(struct dechunker *d)
{
	static const uint8_t small[] = {0x05, 0, 0, 0, 0, 0, 1, 8, 0, 0, 0, 0, 0x55};
	const uint32_t len = 20000;
	struct mem_stat before, after;
	struct rtmp_msg m;
	size_t n = 0, pos = 0, used, chunks = 0;
	int ret;

	memcpy(big_in, "\x03\x00\x00\x05\x00\x4e\x20\x09\x01\x00\x00\x00", 12);
	n = 12;
	for (uint32_t i = 0; i < len; i++) {
		if (i && i % 128 == 0)
			big_in[n++] = 0xc3;
		big_in[n++] = (uint8_t)(i * 7 + (i >> 8));
	}
	do {
		ret = dechunk_next(d, big_in + pos, n - pos, &used, &m);
		pos += used;
		chunks++;
	} while (ret == EAGAIN);
	TEST_EQ(ret, 0);
	TEST_EQ(chunks, 157);
	TEST_EQ(pos, n);
	TEST_EQ(m.len, len);
	TEST_EQ(m.ts, 5);
	TEST_EQ(m.type, 9);
	for (uint32_t i = 0; i < len; i++)
		if (m.body[i] != (uint8_t)(i * 7 + (i >> 8)))
			TEST_EQ(i, len);
	mem_get_stat(&before);
	TEST_EQ(dechunk_next(d, small, sizeof(small), &used, &m), 0);
	mem_get_stat(&after);
	TEST_EQ(m.body[0], 0x55);
	/* the 20000-byte buffer is not kept (csid 5 only grows the array) */
	TEST_EQ(after.blocks, before.blocks - 1);
	TEST_EQ(d->buffered, 0);
	return 0;
}

int test_chunk_big_message(void)
{
	return with_dechunker(&lim_big, big_message);
}

static int zero_length(struct dechunker *d)
{
	static const uint8_t in[] = {
		0x03, 0x00, 0x00, 0x05, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x00,
		0xc3,
		0x83, 0x00, 0x00, 0x03,
		0xc3,
		/* with an extended timestamp */
		0x04, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x12, 0x01, 0x00, 0x00, 0x00,
		0x01, 0x00, 0x00, 0x00,
		0xc4, 0x01, 0x00, 0x00, 0x00,
		/* fmt 1 to length 0 */
		0x43, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x08,
	};
	static const struct expect e[] = {
		{0, 12, 3, 5, 0, 0, 20}, {0, 1, 3, 10, 0, 0, 20}, {0, 4, 3, 13, 0, 0, 20},
		{0, 1, 3, 16, 0, 0, 20},
		{0, 16, 4, 0x01000000, 0, 1, 18}, {0, 5, 4, 0x02000000, 0, 1, 18},
		{0, 8, 3, 17, 0, 0, 8},
	};
	struct rtmp_msg m;
	size_t used = 7;

	TEST_EQ(dechunk_next(d, in, 0, &used, &m), ENODATA);
	TEST_EQ(used, 0);
	return walk(d, in, sizeof(in), e, sizeof(e) / sizeof(e[0]));
}

int test_chunk_zero_length(void)
{
	return with_dechunker(&lim_big, zero_length);
}

static int ext_timestamp(struct dechunker *d)
{
	static const uint8_t in[] = {
		/* fmt 0 with extended timestamp 0x12345678, len 5, chunk size 2:
		 * the extended timestamp is repeated on every type-3 chunk */
		0x04, 0xff, 0xff, 0xff, 0x00, 0x00, 0x05, 0x08, 0x01, 0x00, 0x00, 0x00,
		0x12, 0x34, 0x56, 0x78, 0xa0, 0xa1,
		0xc4, 0x12, 0x34, 0x56, 0x78, 0xa2, 0xa3,
		0xc4, 0x12, 0x34, 0x56, 0x78, 0xa4,
		/* fmt 3 starting a message: adds the type-0 field again */
		0xc4, 0x12, 0x34, 0x56, 0x78, 0xb0, 0xb1,
		0xc4, 0x12, 0x34, 0x56, 0x78, 0xb2, 0xb3,
		0xc4, 0x12, 0x34, 0x56, 0x78, 0xb4,
		/* fmt 2 with extended delta 0x01000000 */
		0x84, 0xff, 0xff, 0xff, 0x01, 0x00, 0x00, 0x00, 0xc0, 0xc1,
		0xc4, 0x01, 0x00, 0x00, 0x00, 0xc2, 0xc3,
		0xc4, 0x01, 0x00, 0x00, 0x00, 0xc4,
		/* fmt 3: the same delta, extended */
		0xc4, 0x01, 0x00, 0x00, 0x00, 0xd0, 0xd1,
		0xc4, 0x01, 0x00, 0x00, 0x00, 0xd2, 0xd3,
		0xc4, 0x01, 0x00, 0x00, 0x00, 0xd4,
		/* fmt 2 with delta 0xfffffe: not extended, nor are its type-3 chunks */
		0x84, 0xff, 0xff, 0xfe, 0xe0, 0xe1,
		0xc4, 0xe2, 0xe3,
		0xc4, 0xe4,
		/* fmt 1 with an extended delta of 0xffffffff (minus one) */
		0x44, 0xff, 0xff, 0xff, 0x00, 0x00, 0x01, 0x09, 0xff, 0xff, 0xff, 0xff, 0xf0,
		0xc4, 0xff, 0xff, 0xff, 0xff, 0xf1,
	};
	static const struct expect e[] = {
		AGAIN(18), AGAIN(7), {0, 6, 4, 0x12345678, 5, 1, 8},
		AGAIN(7), AGAIN(7), {0, 6, 4, 0x2468acf0, 5, 1, 8},
		AGAIN(10), AGAIN(7), {0, 6, 4, 0x2568acf0, 5, 1, 8},
		AGAIN(7), AGAIN(7), {0, 6, 4, 0x2668acf0, 5, 1, 8},
		AGAIN(6), AGAIN(3), {0, 2, 4, 0x2768acee, 5, 1, 8},
		{0, 13, 4, 0x2768aced, 1, 1, 9}, {0, 6, 4, 0x2768acec, 1, 1, 9},
	};
	int err;

	TEST_ERR(dechunk_set_chunk_size(d, 2));
	err = walk(d, in, sizeof(in), e, sizeof(e) / sizeof(e[0]));
out:
	return err;
}

int test_chunk_ext_timestamp(void)
{
	return with_dechunker(&lim_big, ext_timestamp);
}

/* 0xffffff in the field always means "extended"; past 2^32 timestamps wrap. */
static int ts_edges(struct dechunker *d)
{
	static const uint8_t in[] = {
		/* 0xfffffe fits the field */
		0x05, 0xff, 0xff, 0xfe, 0x00, 0x00, 0x01, 0x08, 0x00, 0x00, 0x00, 0x00, 0xe1,
		/* 0xffffff does not */
		0x06, 0xff, 0xff, 0xff, 0x00, 0x00, 0x01, 0x08, 0x00, 0x00, 0x00, 0x00,
		0x00, 0xff, 0xff, 0xff, 0xe0,
		/* wrap: 0xfffffff0, then delta 0x20 */
		0x07, 0xff, 0xff, 0xff, 0x00, 0x00, 0x01, 0x08, 0x00, 0x00, 0x00, 0x00,
		0xff, 0xff, 0xff, 0xf0, 0xf0,
		0x87, 0x00, 0x00, 0x20, 0xf1,
		0xc7, 0xf2,
		/* fmt 1 delta 0xffffffff, then fmt 3: minus one each */
		0x47, 0xff, 0xff, 0xff, 0x00, 0x00, 0x01, 0x08, 0xff, 0xff, 0xff, 0xff, 0xf3,
		0xc7, 0xff, 0xff, 0xff, 0xff, 0xf4,
		/* absolute 0 again (fmt 0 without extension) */
		0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x08, 0x00, 0x00, 0x00, 0x00, 0xf5,
		0xc7, 0xf6,
	};
	static const struct expect e[] = {
		{0, 13, 5, 0xfffffe, 1, 0, 8}, {0, 17, 6, 0xffffff, 1, 0, 8},
		{0, 17, 7, 0xfffffff0, 1, 0, 8}, {0, 5, 7, 0x10, 1, 0, 8}, {0, 2, 7, 0x30, 1, 0, 8},
		{0, 13, 7, 0x2f, 1, 0, 8}, {0, 6, 7, 0x2e, 1, 0, 8},
		{0, 13, 7, 0, 1, 0, 8}, {0, 2, 7, 0, 1, 0, 8},
	};

	return walk(d, in, sizeof(in), e, sizeof(e) / sizeof(e[0]));
}

int test_chunk_ts_edges(void)
{
	return with_dechunker(&lim_big, ts_edges);
}

static int csid_forms(struct dechunker *d)
{
	static const uint8_t in[] = {
		/* 2 and 63: one byte */
		0x02, 0, 0, 1, 0, 0, 1, 8, 0, 0, 0, 0, 0x11,
		0x3f, 0, 0, 2, 0, 0, 1, 8, 0, 0, 0, 0, 0x12,
		/* 64 and 319: two bytes */
		0x00, 0x00, 0, 0, 3, 0, 0, 1, 8, 0, 0, 0, 0, 0x13,
		0x00, 0xff, 0, 0, 4, 0, 0, 1, 8, 0, 0, 0, 0, 0x14,
		/* 320, 1000 and 65599: three bytes, low byte first */
		0x01, 0x00, 0x01, 0, 0, 5, 0, 0, 1, 8, 0, 0, 0, 0, 0x15,
		0x01, 0xa8, 0x03, 0, 0, 6, 0, 0, 1, 8, 0, 0, 0, 0, 0x16,
		0x01, 0xff, 0xff, 0, 0, 7, 0, 0, 1, 8, 0, 0, 0, 0, 0x17,
		/* type 3 in each form */
		0xc0, 0x00, 0x23, 0xc0, 0xff, 0x24, 0xc1, 0x00, 0x01, 0x25, 0xc1, 0xff, 0xff, 0x27,
		/* csid 64 in the three-byte form is the same chunk stream */
		0xc1, 0x00, 0x00, 0x33,
		/* type 2 in the two- and three-byte forms */
		0x80, 0xff, 0, 0, 1, 0x34, 0x81, 0xa8, 0x03, 0, 0, 1, 0x36,
		/* a message in two chunks on 65599 (chunk size 2) */
		0x41, 0xff, 0xff, 0, 0, 1, 0, 0, 3, 9, 0x40, 0x41, 0xc1, 0xff, 0xff, 0x42,
	};
	static const struct expect e[] = {
		{0, 13, 2, 1, 1, 0, 8}, {0, 13, 63, 2, 1, 0, 8},
		{0, 14, 64, 3, 1, 0, 8}, {0, 14, 319, 4, 1, 0, 8},
		{0, 15, 320, 5, 1, 0, 8}, {0, 15, 1000, 6, 1, 0, 8}, {0, 15, 65599, 7, 1, 0, 8},
		{0, 3, 64, 6, 1, 0, 8}, {0, 3, 319, 8, 1, 0, 8}, {0, 4, 320, 10, 1, 0, 8},
		{0, 4, 65599, 14, 1, 0, 8},
		{0, 4, 64, 9, 1, 0, 8},
		{0, 6, 319, 9, 1, 0, 8}, {0, 7, 1000, 7, 1, 0, 8},
		AGAIN(12), {0, 4, 65599, 15, 3, 0, 9},
	};
	struct rtmp_msg m;
	size_t used;
	int err;

	err = walk(d, in, sizeof(in) - 16, e, sizeof(e) / sizeof(e[0]) - 2);
	if (err)
		return err;
	TEST_ERR(dechunk_set_chunk_size(d, 2));
	TEST_EQ(dechunk_next(d, in + sizeof(in) - 16, 12, &used, &m), EAGAIN);
	TEST_EQ(dechunk_next(d, in + sizeof(in) - 4, 4, &used, &m), 0);
	TEST_EQ(m.csid, 65599);
	TEST_EQ(m.ts, 15);
	TEST_MEMEQ(m.body, m.len, "\x40\x41\x42", 3);
	TEST_EQ(d->ncs, 7);
out:
	return err;
}

int test_chunk_csid_forms(void)
{
	return with_dechunker(&lim_big, csid_forms);
}

/* --- Truncation: a chunk cut anywhere is ENODATA with nothing used, and
 * leaves no trace. --- */

struct wb {
	uint8_t b[4096];
	size_t n;
	size_t ends[64];  /* where each chunk ends */
	size_t nends;
};

static void w_u8(struct wb *w, uint32_t v)
{
	w->b[w->n++] = (uint8_t)v;
}

static void w_be24(struct wb *w, uint32_t v)
{
	put_be24(w->b + w->n, v);
	w->n += 3;
}

static void w_be32(struct wb *w, uint32_t v)
{
	put_be32(w->b + w->n, v);
	w->n += 4;
}

static void w_basic(struct wb *w, unsigned fmt, uint32_t csid)
{
	if (csid < 64) {
		w_u8(w, fmt << 6 | csid);
	} else if (csid < 320) {
		w_u8(w, fmt << 6);
		w_u8(w, csid - 64);
	} else {
		w_u8(w, fmt << 6 | 1);
		w_u8(w, (csid - 64) & 0xff);
		w_u8(w, (csid - 64) >> 8);
	}
}

/* A type-0 header (extended when ts needs it). */
static void w_h0(struct wb *w, uint32_t csid, uint32_t ts, uint32_t len, uint8_t type,
		 uint32_t sid)
{
	w_basic(w, 0, csid);
	w_be24(w, ts >= 0xffffff ? 0xffffff : ts);
	w_be24(w, len);
	w_u8(w, type);
	put_le32(w->b + w->n, sid);
	w->n += 4;
	if (ts >= 0xffffff)
		w_be32(w, ts);
}

static void w_end(struct wb *w)
{
	w->ends[w->nends++] = w->n;
}

static void w_fill(struct wb *w, size_t n, uint8_t seed)
{
	for (size_t i = 0; i < n; i++)
		w_u8(w, (uint8_t)(seed + i));
	w_end(w);
}

static struct wb trunc_w;

static void build_trunc(struct wb *w)
{
	memset(w, 0, sizeof(*w));
	w_h0(w, 3, 1000, 5, 20, 0);                 /* one-byte csid */
	w_fill(w, 5, 1);
	w_h0(w, 100, 0x01020304, 200, 8, 1);        /* two-byte csid, extended */
	w_fill(w, 128, 2);
	w_basic(w, 3, 100);                         /* continuation, extended */
	w_be32(w, 0x01020304);
	w_fill(w, 72, 3);
	w_basic(w, 3, 100);                         /* new message, extended */
	w_be32(w, 0x01020304);
	w_fill(w, 128, 4);
	w_basic(w, 3, 100);
	w_be32(w, 0x01020304);
	w_fill(w, 72, 5);
	w_h0(w, 5000, 7, 0, 9, 2);                  /* three-byte csid, empty */
	w_end(w);
	w_basic(w, 1, 5000);                        /* fmt 1 */
	w_be24(w, 3);
	w_be24(w, 2);
	w_u8(w, 9);
	w_fill(w, 2, 6);
	w_basic(w, 2, 5000);                        /* fmt 2 */
	w_be24(w, 4);
	w_fill(w, 2, 7);
	w_basic(w, 3, 5000);                        /* fmt 3 */
	w_fill(w, 2, 8);
	w_basic(w, 2, 3);                           /* fmt 2, extended delta */
	w_be24(w, 0xffffff);
	w_be32(w, 0x7fffffff);
	w_fill(w, 5, 9);
}

static int truncation(struct dechunker *d)
{
	static const struct expect want[] = {
		{0, 0, 3, 1000, 5, 0, 20}, AGAIN(0), {0, 0, 100, 0x01020304, 200, 1, 8},
		AGAIN(0), {0, 0, 100, 0x02040608, 200, 1, 8}, {0, 0, 5000, 7, 0, 2, 9},
		{0, 0, 5000, 10, 2, 2, 9}, {0, 0, 5000, 14, 2, 2, 9}, {0, 0, 5000, 18, 2, 2, 9},
		{0, 0, 3, 1000 + 0x7fffffffu, 5, 0, 20},
	};
	struct wb *w = &trunc_w;
	uint8_t *tail = NULL;
	size_t start = 0;
	int err = 0;

	build_trunc(w);
	if (w->nends != sizeof(want) / sizeof(want[0])) {
		test_fail(__FILE__, __LINE__, "chunk count");
		return EBADMSG;
	}
	for (size_t c = 0; c < w->nends; c++) {
		size_t clen = w->ends[c] - start;
		struct rtmp_msg m;
		size_t used;
		int ret;

		/* each prefix sits at the end of a block of its own size, so that
		 * ASan sees any read past it */
		tail = mem_alloc(clen, NULL);
		if (!tail)
			return ENOMEM;
		for (size_t k = 0; k < clen; k++) {
			uint8_t *p = tail + clen - k;
			memcpy(p, w->b + start, k);
			used = 77;
			ret = dechunk_next(d, p, k, &used, &m);
			if (ret != ENODATA || used) {
				char msg[100];
				snprintf(msg, sizeof(msg), "chunk %zu cut at %zu: ret %d used %zu", c, k,
					 ret, used);
				test_fail(__FILE__, __LINE__, msg);
				err = EBADMSG;
				goto out;
			}
		}
		memcpy(tail, w->b + start, clen);
		ret = dechunk_next(d, tail, clen, &used, &m);
		if (ret != want[c].ret || used != clen) {
			test_fail(__FILE__, __LINE__, "whole chunk");
			err = ret == ENOMEM ? ENOMEM : EBADMSG;
			goto out;
		}
		if (!ret && (m.csid != want[c].csid || m.ts != want[c].ts || m.len != want[c].len ||
			     m.stream_id != want[c].stream_id || m.type != want[c].type)) {
			test_fail(__FILE__, __LINE__, "message after truncated tries");
			err = EBADMSG;
			goto out;
		}
		tail = mem_deref(tail);
		start = w->ends[c];
	}
out:
	mem_deref(tail);
	return err;
}

int test_chunk_truncation(void)
{
	int err = with_dechunker(&lim_big, truncation);
	size_t n = 0;

	/* and the same bytes fed 1, 7, ... at a time */
	if (!err)
		err = feed_all_ways(&lim_big, trunc_w.b, trunc_w.n, &n);
	if (!err && n != 8) {
		test_fail(__FILE__, __LINE__, "8 messages");
		err = EBADMSG;
	}
	return err;
}

/* --- Abort and limits --- */

static const uint8_t msg200_c3[] = {0x03, 0, 0, 50, 0, 0, 200, 8, 0, 0, 0, 0};

static uint8_t fill200[256];

static int abort_msg(struct dechunker *d)
{
	static const uint8_t small[] = {0x03, 0, 0, 60, 0, 0, 3, 20, 0, 0, 0, 0, 'x', 'y', 'z'};
	static const uint8_t other[] = {0x04, 0, 0, 1, 0, 0, 200, 8, 0, 0, 0, 0};
	uint8_t in[512];
	struct rtmp_msg m;
	size_t used;

	memset(fill200, 0x5a, sizeof(fill200));
	memcpy(in, msg200_c3, 12);
	memcpy(in + 12, fill200, 128);
	TEST_EQ(dechunk_next(d, in, 140, &used, &m), EAGAIN);
	TEST_EQ(used, 140);
	TEST_EQ(d->buffered, 128);
	/* a new header inside the message is refused ... */
	TEST_EQ(dechunk_next(d, small, sizeof(small), &used, &m), EPROTO);
	TEST_EQ(used, 0);
	/* ... until the message is aborted */
	dechunk_abort(d, 3);
	TEST_EQ(d->buffered, 0);
	TEST_EQ(dechunk_next(d, small, sizeof(small), &used, &m), 0);
	TEST_EQ(used, sizeof(small));
	TEST_EQ(m.ts, 60);
	TEST_EQ(m.len, 3);
	TEST_MEMEQ(m.body, m.len, "xyz", 3);

	/* abort on one chunk stream leaves the other's partial message */
	memcpy(in, msg200_c3, 12);
	memcpy(in + 12, fill200, 128);
	TEST_EQ(dechunk_next(d, in, 140, &used, &m), EAGAIN);
	memcpy(in, other, 12);
	TEST_EQ(dechunk_next(d, in, 140, &used, &m), EAGAIN);
	TEST_EQ(d->buffered, 256);
	dechunk_abort(d, 4);
	TEST_EQ(d->buffered, 128);
	dechunk_abort(d, 4);         /* nothing partial: no change */
	dechunk_abort(d, 77);        /* unknown: no change */
	dechunk_abort(d, 65599);
	TEST_EQ(d->buffered, 128);
	in[0] = 0xc3;
	memcpy(in + 1, fill200, 72);
	TEST_EQ(dechunk_next(d, in, 73, &used, &m), 0);
	TEST_EQ(m.len, 200);
	TEST_EQ(m.ts, 50);
	TEST_EQ(d->buffered, 0);

	/* after an abort, type 3 starts a new message with the old header */
	memcpy(in, "\xc3", 1);
	memcpy(in + 1, fill200, 128);
	TEST_EQ(dechunk_next(d, in, 129, &used, &m), EAGAIN);
	dechunk_abort(d, 3);
	TEST_EQ(dechunk_next(d, in, 129, &used, &m), EAGAIN);
	TEST_EQ(dechunk_next(d, in, 73, &used, &m), 0);
	TEST_EQ(m.len, 200);
	TEST_EQ(m.ts, 150);  /* 50 + two deltas of 50: the aborted one counted */
	TEST_EQ(d->buffered, 0);
	return 0;
}

int test_chunk_abort(void)
{
	return with_dechunker(&lim_big, abort_msg);
}

static int max_msg(struct dechunker *d)
{
	static const uint8_t huge[] = {0x03, 0, 0, 0, 0xff, 0xff, 0xff, 8, 0, 0, 0, 0};
	static const uint8_t over[] = {0x03, 0, 0, 0, 0x00, 0x03, 0xe9, 8, 0, 0, 0, 0};
	static const uint8_t at[] = {0x03, 0, 0, 0, 0x00, 0x03, 0xe8, 8, 0, 0, 0, 0};
	static const uint8_t fmt1[] = {0x43, 0, 0, 0, 0x00, 0x03, 0xe9, 8};
	uint8_t in[200];
	struct rtmp_msg m;
	size_t used = 5;

	/* refused as soon as the header is there, before the body arrives */
	d->why = NULL;
	TEST_EQ(dechunk_next(d, huge, sizeof(huge), &used, &m), EMSGSIZE);
	TEST_EQ(used, 0);
	TEST_ASSERT(d->why != NULL);
	TEST_EQ(dechunk_next(d, over, sizeof(over), &used, &m), EMSGSIZE);
	TEST_EQ(used, 0);
	TEST_EQ(d->ncs, 0);
	memcpy(in, at, 12);
	memset(in + 12, 1, 128);
	TEST_EQ(dechunk_next(d, in, 140, &used, &m), EAGAIN);
	dechunk_abort(d, 3);
	/* a type-1 header growing the length is checked too */
	TEST_EQ(dechunk_next(d, fmt1, sizeof(fmt1), &used, &m), EMSGSIZE);
	TEST_EQ(used, 0);
	return 0;
}

int test_chunk_max_msg(void)
{
	struct dechunk_limits lim = lim_big;

	lim.max_msg = 1000;
	return with_dechunker(&lim, max_msg);
}

static int set_chunk_size(struct dechunker *d)
{
	static const uint32_t bad[] = {0, 0x80000000u, 0xffffffffu, 65537, 0x7fffffffu};

	TEST_EQ(d->chunk_size, RTMP_DEFAULT_CHUNK);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		d->why = NULL;
		TEST_EQ(dechunk_set_chunk_size(d, bad[i]), EPROTO);
		TEST_ASSERT(d->why != NULL);
		TEST_EQ(d->chunk_size, RTMP_DEFAULT_CHUNK);
	}
	TEST_EQ(dechunk_set_chunk_size(d, 65536), 0);
	TEST_EQ(d->chunk_size, 65536);
	TEST_EQ(dechunk_set_chunk_size(d, 1), 0);
	TEST_EQ(d->chunk_size, 1);
	TEST_EQ(dechunk_set_chunk_size(d, 0), EPROTO);
	TEST_EQ(d->chunk_size, 1);
	return 0;
}

int test_chunk_set_chunk_size(void)
{
	struct dechunk_limits lim = lim_big;
	int err;

	lim.max_chunk = 65536;
	err = with_dechunker(&lim, set_chunk_size);
	if (!err) {
		/* the largest valid value, where the limit allows it */
		struct dechunker d;
		lim.max_chunk = 0xffffffffu;
		dechunk_init(&d, &lim);
		TEST_EQ(dechunk_set_chunk_size(&d, 0x7fffffffu), 0);
		TEST_EQ(dechunk_set_chunk_size(&d, 0x80000000u), EPROTO);
		TEST_EQ(d.chunk_size, 0x7fffffffu);
		dechunk_reset(&d);
	}
	return err;
}

static int max_streams(struct dechunker *d)
{
	uint8_t in[13] = {0x03, 0, 0, 0, 0, 0, 1, 8, 0, 0, 0, 0, 0x99};
	struct rtmp_msg m;
	size_t used;

	for (uint8_t csid = 3; csid < 6; csid++) {
		in[0] = csid;
		TEST_EQ(dechunk_next(d, in, sizeof(in), &used, &m), 0);
	}
	in[0] = 6;
	d->why = NULL;
	TEST_EQ(dechunk_next(d, in, sizeof(in), &used, &m), EPROTO);
	TEST_EQ(used, 0);
	TEST_ASSERT(d->why != NULL);
	TEST_EQ(d->ncs, 3);
	/* a two-byte csid is one more too */
	TEST_EQ(dechunk_next(d, (const uint8_t *)"\x00\x00\x00\x00\x00\x00\x00\x00\x08\x00\x00\x00\x00",
			     13, &used, &m), EPROTO);
	/* the known ones still work */
	in[0] = 0xc4;
	TEST_EQ(dechunk_next(d, in, 2, &used, &m), 0);
	TEST_EQ(m.csid, 4);
	TEST_EQ(used, 2);
	return 0;
}

int test_chunk_max_streams(void)
{
	struct dechunk_limits lim = lim_big;

	lim.max_streams = 3;
	return with_dechunker(&lim, max_streams);
}

static int proto_errors(struct dechunker *d)
{
	static const uint8_t fmt1[] = {0x43, 0, 0, 1, 0, 0, 1, 8, 0x11};
	static const uint8_t fmt2[] = {0x83, 0, 0, 1, 0x11};
	static const uint8_t fmt3[] = {0xc3, 0x11};
	static const uint8_t fmt3_2b[] = {0xc0, 0x05, 0x11};
	static const uint8_t fmt0[] = {0x03, 0, 0, 1, 0, 0, 1, 8, 0, 0, 0, 0, 0x11};
	const uint8_t *unknown[] = {fmt1, fmt2, fmt3, fmt3_2b};
	const size_t ulen[] = {sizeof(fmt1), sizeof(fmt2), sizeof(fmt3), sizeof(fmt3_2b)};
	uint8_t in[140];
	struct rtmp_msg m;
	size_t used;

	/* a chunk stream's first header must be type 0 */
	for (size_t i = 0; i < 4; i++) {
		d->why = NULL;
		used = 3;
		TEST_EQ(dechunk_next(d, unknown[i], ulen[i], &used, &m), EPROTO);
		TEST_EQ(used, 0);
		TEST_ASSERT(d->why != NULL);
	}
	TEST_EQ(d->ncs, 0);
	/* a header other than type 3 inside a message */
	memcpy(in, msg200_c3, 12);
	memset(in + 12, 7, 128);
	TEST_EQ(dechunk_next(d, in, 140, &used, &m), EAGAIN);
	TEST_EQ(dechunk_next(d, fmt0, sizeof(fmt0), &used, &m), EPROTO);
	TEST_EQ(used, 0);
	TEST_EQ(dechunk_next(d, fmt1, sizeof(fmt1), &used, &m), EPROTO);
	TEST_EQ(dechunk_next(d, fmt2, sizeof(fmt2), &used, &m), EPROTO);
	/* while other chunk streams may start messages */
	in[0] = 0x04;
	in[6] = 1;
	TEST_EQ(dechunk_next(d, in, 13, &used, &m), 0);
	TEST_EQ(m.csid, 4);
	return 0;
}

int test_chunk_proto_errors(void)
{
	return with_dechunker(&lim_big, proto_errors);
}

/* Partial messages on several chunk streams share one byte budget. */
static int max_buffered(struct dechunker *d)
{
	uint8_t in[200];
	struct rtmp_msg m;
	size_t used;

	memset(in, 0x33, sizeof(in));
	memcpy(in, "\x03\x00\x00\x00\x00\x00\x96\x08\x00\x00\x00\x00", 12);  /* len 150 */
	TEST_EQ(dechunk_next(d, in, 140, &used, &m), EAGAIN);
	in[0] = 0x04;
	TEST_EQ(dechunk_next(d, in, 140, &used, &m), EAGAIN);
	TEST_EQ(d->buffered, 256);
	/* completing one message returns its bytes to the budget */
	in[140] = 0xc3;
	TEST_EQ(dechunk_next(d, in + 140, 23, &used, &m), 0);
	TEST_EQ(m.csid, 3);
	TEST_EQ(m.len, 150);
	TEST_EQ(d->buffered, 128);
	in[0] = 0x05;
	TEST_EQ(dechunk_next(d, in, 140, &used, &m), EAGAIN);
	TEST_EQ(d->buffered, 256);
	/* a message in one chunk is not buffered */
	memcpy(in, "\x06\x00\x00\x00\x00\x00\x64\x08\x00\x00\x00\x00", 12);  /* len 100 */
	TEST_EQ(dechunk_next(d, in, 112, &used, &m), 0);
	TEST_EQ(m.len, 100);
	TEST_EQ(d->buffered, 256);
	/* a third partial message would go over 300 */
	memcpy(in, "\x07\x00\x00\x00\x00\x00\x96\x08\x00\x00\x00\x00", 12);
	d->why = NULL;
	TEST_EQ(dechunk_next(d, in, 140, &used, &m), EMSGSIZE);
	TEST_EQ(used, 0);
	TEST_ASSERT(d->why != NULL);
	TEST_EQ(d->buffered, 256);
	/* and so would the rest of one that fits only in part */
	dechunk_abort(d, 4);
	in[0] = 0xc5;
	TEST_EQ(dechunk_next(d, in, 23, &used, &m), 0);
	TEST_EQ(m.csid, 5);
	TEST_EQ(d->buffered, 0);
	return 0;
}

int test_chunk_max_buffered(void)
{
	struct dechunk_limits lim = lim_big;

	lim.max_buffered = 300;
	return with_dechunker(&lim, max_buffered);
}

