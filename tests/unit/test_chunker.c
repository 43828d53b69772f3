/* Tests for gateway/chunk.c's chunker: exact bytes for each header form,
 * then a randomized chunker -> dechunker round trip. */
#include <stdbool.h>
#include <string.h>
#include "buf.h"
#include "chunk.h"
#include "mem.h"
#include "test.h"
#include "chunk_util.h"

/* --- Chunker --- */

struct wctx {
	struct chunker c;
	struct buf out;
	struct dechunker d;
	struct buf in;
};

static int with_chunker(int (*fn)(struct wctx *w))
{
	struct wctx w;
	int err;

	chunker_init(&w.c);
	buf_init(&w.out);
	buf_init(&w.in);
	dechunk_init(&w.d, &lim_big);
	err = fn(&w);
	buf_reset(&w.out);
	buf_reset(&w.in);
	dechunk_reset(&w.d);
	return err;
}

/* Write one message; the bytes added must be exactly want. */
static int write_eq(struct wctx *w, uint32_t csid, uint32_t ts, uint8_t type, uint32_t sid,
		    const char *body, const void *want, size_t wlen)
{
	struct rtmp_msg m = {
		.csid = csid, .ts = ts, .type = type, .stream_id = sid,
		.len = (uint32_t)strlen(body), .body = (const uint8_t *)body,
	};
	size_t before = w->out.len, bound = chunker_bound(&w->c, m.len);
	int err = chunker_write(&w->c, &w->out, &m);

	if (err)
		return err;
	TEST_ASSERT(w->out.len - before <= bound);
	TEST_MEMEQ(w->out.data + before, w->out.len - before, want, wlen);
	return 0;
}

#define WRITE_EQ(csid, ts, type, sid, body, want) do { \
	if ((err = write_eq(w, csid, ts, type, sid, body, want, sizeof(want) - 1))) return err; \
	} while (0)

static int chunker_formats(struct wctx *w)
{
	static const struct expect e[] = {
		{0, 0, 3, 1000, 5, 0, 20}, {0, 0, 3, 1020, 5, 0, 20}, {0, 0, 3, 1040, 5, 0, 20},
		{0, 0, 3, 1060, 5, 0, 20}, {0, 0, 3, 1070, 5, 0, 20}, {0, 0, 3, 1080, 3, 0, 20},
		{0, 0, 3, 1090, 3, 0, 20}, {0, 0, 3, 1100, 3, 0, 8}, {0, 0, 3, 1000, 3, 0, 8},
		{0, 0, 3, 1010, 3, 1, 8}, {0, 0, 4, 1010, 3, 1, 8}, {0, 0, 4, 1010, 3, 1, 8},
		{0, 0, 4, 1010, 3, 1, 8}, {0, 0, 3, 1030, 3, 1, 8},
	};
	struct rec r[16];
	size_t n;
	int err;

	/* first message: type 0 */
	WRITE_EQ(3, 1000, 20, 0, "hello",
		 "\x03\x00\x03\xe8\x00\x00\x05\x14\x00\x00\x00\x00hello");
	/* same length and type, new delta: type 2 (never 3 right after type 0) */
	WRITE_EQ(3, 1020, 20, 0, "hello", "\x83\x00\x00\x14hello");
	/* same delta: type 3 */
	WRITE_EQ(3, 1040, 20, 0, "hello", "\xc3hello");
	WRITE_EQ(3, 1060, 20, 0, "hello", "\xc3hello");
	WRITE_EQ(3, 1070, 20, 0, "hello", "\x83\x00\x00\x0ahello");
	/* new length: type 1 */
	WRITE_EQ(3, 1080, 20, 0, "abc", "\x43\x00\x00\x0a\x00\x00\x03\x14" "abc");
	/* type 3 after type 1 with the same delta */
	WRITE_EQ(3, 1090, 20, 0, "abc", "\xc3" "abc");
	/* new type: type 1 */
	WRITE_EQ(3, 1100, 8, 0, "abc", "\x43\x00\x00\x0a\x00\x00\x03\x08" "abc");
	/* backwards: type 0 */
	WRITE_EQ(3, 1000, 8, 0, "abc", "\x03\x00\x03\xe8\x00\x00\x03\x08\x00\x00\x00\x00" "abc");
	/* new stream id: type 0 (little-endian) */
	WRITE_EQ(3, 1010, 8, 1, "abc", "\x03\x00\x03\xf2\x00\x00\x03\x08\x01\x00\x00\x00" "abc");
	/* another chunk stream has its own state */
	WRITE_EQ(4, 1010, 8, 1, "abc", "\x04\x00\x03\xf2\x00\x00\x03\x08\x01\x00\x00\x00" "abc");
	WRITE_EQ(4, 1010, 8, 1, "abc", "\x84\x00\x00\x00" "abc");
	WRITE_EQ(4, 1010, 8, 1, "abc", "\xc4" "abc");
	WRITE_EQ(3, 1030, 8, 1, "abc", "\x83\x00\x00\x14" "abc");
	/* what the dechunker makes of it */
	err = feed(&w->d, &w->in, w->out.data, w->out.len, 1, r, 16, &n);
	if (err)
		return err;
	TEST_EQ(n, 14);
	for (size_t i = 0; i < n; i++) {
		TEST_EQ(r[i].csid, e[i].csid);
		TEST_EQ(r[i].ts, e[i].ts);
		TEST_EQ(r[i].len, e[i].len);
		TEST_EQ(r[i].stream_id, e[i].stream_id);
		TEST_EQ(r[i].type, e[i].type);
		TEST_MEMEQ(r[i].head, r[i].len, e[i].len == 5 ? "hello" : "abc", e[i].len);
	}
	return 0;
}

int test_chunker_formats(void)
{
	return with_chunker(chunker_formats);
}

static int chunker_split(struct wctx *w)
{
	static const uint32_t want_ts[] = {0, 0, 0, 0, 0x01000000, 0x02000000, 0x03000000,
					   0x03000014, 0x03000028, 0xffffff, 0xfffffe};
	struct rec r[16];
	size_t n;
	int err;

	w->c.chunk_size = 4;
	/* continuation chunks are 0xC0 | csid */
	WRITE_EQ(5, 0, 9, 1, "0123456789",
		 "\x05\x00\x00\x00\x00\x00\x0a\x09\x01\x00\x00\x00" "0123\xc5" "4567\xc5" "89");
	/* exactly one chunk, exactly two: no empty continuation */
	WRITE_EQ(5, 0, 9, 1, "abcd", "\x45\x00\x00\x00\x00\x00\x04\x09" "abcd");
	WRITE_EQ(5, 0, 9, 1, "abcdefgh", "\x45\x00\x00\x00\x00\x00\x08\x09" "abcd\xc5" "efgh");
	/* empty */
	WRITE_EQ(5, 0, 9, 1, "", "\x45\x00\x00\x00\x00\x00\x00\x09");
	/* extended timestamp, repeated on every continuation chunk */
	WRITE_EQ(6, 0x01000000, 8, 0, "ABCDEF",
		 "\x06\xff\xff\xff\x00\x00\x06\x08\x00\x00\x00\x00\x01\x00\x00\x00" "ABCD"
		 "\xc6\x01\x00\x00\x00" "EF");
	/* an extended delta on type 2, then on type 3 */
	WRITE_EQ(6, 0x02000000, 8, 0, "ABCDEF",
		 "\x86\xff\xff\xff\x01\x00\x00\x00" "ABCD\xc6\x01\x00\x00\x00" "EF");
	WRITE_EQ(6, 0x03000000, 8, 0, "ABCDEF",
		 "\xc6\x01\x00\x00\x00" "ABCD\xc6\x01\x00\x00\x00" "EF");
	/* back to a small delta: no extension anywhere */
	WRITE_EQ(6, 0x03000014, 8, 0, "ABCDEF", "\x86\x00\x00\x14" "ABCD\xc6" "EF");
	WRITE_EQ(6, 0x03000028, 8, 0, "ABCDEF", "\xc6" "ABCD\xc6" "EF");
	/* 0xffffff needs the extension, 0xfffffe does not */
	WRITE_EQ(7, 0xffffff, 8, 0, "z",
		 "\x07\xff\xff\xff\x00\x00\x01\x08\x00\x00\x00\x00\x00\xff\xff\xff" "z");
	WRITE_EQ(8, 0xfffffe, 8, 0, "z", "\x08\xff\xff\xfe\x00\x00\x01\x08\x00\x00\x00\x00" "z");
	/* the dechunker agrees */
	TEST_ERR(dechunk_set_chunk_size(&w->d, 4));
	err = feed(&w->d, &w->in, w->out.data, w->out.len, 0, r, 16, &n);
	if (err)
		return err;
	TEST_EQ(n, 11);
	for (size_t i = 0; i < n; i++)
		TEST_EQ(r[i].ts, want_ts[i]);
	TEST_EQ(r[3].len, 0);
	TEST_MEMEQ(r[6].head, r[6].len, "ABCDEF", 6);
out:
	return err;
}

int test_chunker_split(void)
{
	return with_chunker(chunker_split);
}

/* A timestamp that wraps past 2^32 moves forward: type 2, not type 0. */
static int chunker_wrap(struct wctx *w)
{
	struct rec r[4];
	size_t n;
	int err;

	WRITE_EQ(3, 0xfffffff0u, 8, 1, "w",
		 "\x03\xff\xff\xff\x00\x00\x01\x08\x01\x00\x00\x00\xff\xff\xff\xf0" "w");
	WRITE_EQ(3, 0x10, 8, 1, "w", "\x83\x00\x00\x20" "w");
	WRITE_EQ(3, 0x30, 8, 1, "w", "\xc3" "w");
	/* a step back is type 0 */
	WRITE_EQ(3, 0x20, 8, 1, "w", "\x03\x00\x00\x20\x00\x00\x01\x08\x01\x00\x00\x00" "w");
	err = feed(&w->d, &w->in, w->out.data, w->out.len, 0, r, 4, &n);
	if (err)
		return err;
	TEST_EQ(n, 4);
	TEST_EQ(r[0].ts, 0xfffffff0u);
	TEST_EQ(r[1].ts, 0x10);
	TEST_EQ(r[2].ts, 0x30);
	TEST_EQ(r[3].ts, 0x20);
	return 0;
}

int test_chunker_wrap(void)
{
	return with_chunker(chunker_wrap);
}

int test_chunker_einval(void)
{
	static const uint32_t bad[] = {0, 1, CHUNK_MAX_CSID_OUT, 100, 65599};
	struct chunker c;
	struct buf out;
	struct rtmp_msg m = {.len = 1, .body = (const uint8_t *)"x", .type = 8};

	chunker_init(&c);
	buf_init(&out);
	TEST_EQ(c.chunk_size, RTMP_DEFAULT_CHUNK);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		m.csid = bad[i];
		TEST_EQ(chunker_write(&c, &out, &m), EINVAL);
		TEST_EQ(out.len, 0);
	}
	/* the length field has 24 bits: 0xffffff is the most a message holds */
	{
		uint8_t *big = mem_zalloc(0x1000001, NULL);
		size_t n1;
		int r1, r2, r3;

		if (!big)
			return ENOMEM;
		c.chunk_size = 1u << 20;
		m = (struct rtmp_msg){.csid = 4, .type = 9, .len = 0x1000001, .body = big};
		r1 = chunker_write(&c, &out, &m);
		m.len = 0x1000000;
		r2 = chunker_write(&c, &out, &m);
		n1 = out.len;
		m.len = 0xffffff;
		r3 = chunker_write(&c, &out, &m);
		mem_deref(big);
		if (r3 == ENOMEM) {
			buf_reset(&out);
			return ENOMEM;
		}
		TEST_EQ(r1, EINVAL);
		TEST_EQ(r2, EINVAL);
		TEST_EQ(n1, 0);
		TEST_EQ(r3, 0);
		/* one type-0 header, 16 chunks of 1 MiB */
		TEST_EQ(out.len, 12 + 0xffffff + 15);
		TEST_EQ(be24(out.data + 4), 0xffffff);
		TEST_EQ(out.data[12 + (1u << 20)], 0xc4);
	}
	buf_reset(&out);
	return 0;
}

/* --- Random round trip --- */

#define RT_MSGS 200
#define RT_POOL (RT_MSGS * 2200)

static uint32_t rnd_state;

static uint32_t rnd(void)
{
	uint32_t x = rnd_state;
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return rnd_state = x;
}

static uint32_t rnd_below(uint32_t n)
{
	return rnd() % n;
}

static uint8_t rt_pool[RT_POOL];
static struct rec rt_want[RT_MSGS * 2], rt_got[RT_MSGS * 2];

struct rt_cs {
	bool used;
	uint32_t ts, delta, len, sid;
	uint8_t type;
};

static int roundtrip(struct wctx *w)
{
	static const uint8_t types[] = {4, 5, 8, 9, 15, 17, 18, 20, 22};
	static const uint32_t sizes[] = {1, 2, 3, 64, 128, 1000, 4096, 65536};
	struct rt_cs cs[CHUNK_MAX_CSID_OUT];
	size_t pool = 0, nw = 0, n, fmts[4] = {0}, ext = 0;
	int err;

	memset(cs, 0, sizeof(cs));
	rnd_state = 0x2545f491;
	for (int i = 0; i < RT_MSGS; i++) {
		struct rtmp_msg m;
		struct rt_cs *s;
		size_t before;
		uint32_t k;

		if (!rnd_below(12)) {
			uint8_t scs[4];
			uint32_t size = rnd_below(3) ? sizes[rnd_below(8)] : 1 + rnd_below(300);
			put_be32(scs, size);
			m = (struct rtmp_msg){.csid = 2, .type = RTMP_SET_CHUNK_SIZE, .len = 4,
					      .body = scs};
			TEST_ERR(chunker_write(&w->c, &w->out, &m));
			rec_set(&rt_want[nw++], &m);
			w->c.chunk_size = size;
		}
		m.csid = rnd_below(4) ? 3 + rnd_below(4) : 2 + rnd_below(CHUNK_MAX_CSID_OUT - 2);
		s = &cs[m.csid];
		k = rnd_below(16);
		m.len = s->used && k < 8 ? s->len : rnd_below(8) ? rnd_below(300) : rnd_below(2000);
		m.type = s->used && k < 12 ? s->type : types[rnd_below(sizeof(types))];
		m.stream_id = s->used && rnd_below(16) ? s->sid : rnd_below(3);
		switch (s->used ? rnd_below(10) : 9) {
		case 0: case 1: case 2: case 3: m.ts = s->ts + s->delta; break;
		case 4: m.ts = s->ts + rnd_below(100); break;
		case 5: m.ts = s->ts + 0xfffffe + rnd_below(3); break;
		case 6: m.ts = s->ts + 0x01000000 + rnd(); break;  /* may go back */
		case 7: m.ts = s->ts - rnd_below(1000); break;
		case 8: m.ts = 0xffffff00u + rnd_below(0x200); break;
		default: m.ts = rnd_below(4) ? rnd_below(100000) : rnd(); break;
		}
		if (pool + m.len > RT_POOL)
			break;
		for (uint32_t j = 0; j < m.len; j++)
			rt_pool[pool + j] = (uint8_t)rnd();
		m.body = rt_pool + pool;
		pool += m.len;
		s->delta = m.ts - s->ts;
		s->used = true;
		s->ts = m.ts;
		s->len = m.len;
		s->type = m.type;
		s->sid = m.stream_id;
		before = w->out.len;
		TEST_ERR(chunker_write(&w->c, &w->out, &m));
		TEST_ASSERT(w->out.len - before <= chunker_bound(&w->c, m.len));
		fmts[w->out.data[before] >> 6]++;
		if (w->out.len - before >= 4 && !memcmp(w->out.data + before + 1, "\xff\xff\xff", 3))
			ext++;
		rec_set(&rt_want[nw++], &m);
	}
	TEST_EQ(nw >= RT_MSGS, 1);
	/* the random choices reach every header type and the extension */
	for (int f = 0; f < 4; f++)
		TEST_ASSERT(fmts[f] >= 10);
	TEST_ASSERT(ext >= 10);
	for (size_t step = 0; step < 12; step += 11) {
		dechunk_reset(&w->d);
		dechunk_init(&w->d, &lim_big);
		buf_reset(&w->in);
		err = feed(&w->d, &w->in, w->out.data, w->out.len, step, rt_got, RT_MSGS * 2, &n);
		if (err)
			return err;
		TEST_EQ(n, nw);
		for (size_t i = 0; i < n; i++)
			if ((err = rec_same(&rt_want[i], &rt_got[i]))) {
				fprintf(stderr, "  message %zu differs\n", i);
				return err;
			}
	}
out:
	return err;
}

int test_chunk_roundtrip(void)
{
	return with_chunker(roundtrip);
}

