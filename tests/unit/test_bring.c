/* Tests for base/bring.c: the edges (empty, full, a record that exactly
 * fills the end, padding, the longest record at every offset), a drifting
 * fill level checked against a model of where records go, two threads
 * passing a million records of random lengths with checksums, and no
 * allocation per push or pop. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include "bring.h"
#include "mem.h"
#include "spsc_util.h"
#include "test.h"

int test_bring_basic(void)
{
	struct bring *r;
	uint8_t buf[256];
	uint32_t len;
	bool we;
	uint8_t *d;
	int err;

	TEST_EQ(bring_alloc(&r, 0), -EINVAL);
	TEST_EQ(bring_alloc(&r, 32), -EINVAL);
	TEST_EQ(bring_alloc(&r, 100), -EINVAL);
	TEST_EQ(bring_alloc(&r, 1u << 25), -EINVAL);
	err = bring_alloc(&r, 256);
	if (err)
		return -err;
	err = EBADMSG;
	if (bring_size(r) != 256 || bring_max_len(r) != 120 || bring_max_len(r) != BRING_MAX_LEN(256))
		goto out;
	if (bring_pop(r, buf, sizeof(buf), &len) != -EAGAIN || bring_peek(r, &len))
		goto out;
	/* the first push finds it empty, the next ones do not */
	if (bring_push(r, "one", 3, &we) || !we || bring_push(r, "", 0, &we) || we)
		goto out;
	if (bring_push(r, buf, 121, &we) != -EMSGSIZE || we || bring_reserve(r, 121))
		goto out;
	/* too small a buffer leaves the record in place */
	if (bring_pop(r, buf, 2, &len) != -EMSGSIZE || len != 3)
		goto out;
	if (bring_pop(r, buf, sizeof(buf), &len) || len != 3 || memcmp(buf, "one", 3))
		goto out;
	if (bring_pop(r, NULL, 0, &len) || len != 0)
		goto out;
	/* empty at offset 24 (records of 16 and 8 bytes went by) */
	if (bring_pop(r, buf, sizeof(buf), &len) != -EAGAIN)
		goto out;
	bring_release(r);   /* on an empty ring: nothing */
	/* commit: not without a reservation, not more than reserved */
	if (bring_commit(r, 0, &we) != -ENOSPC || we)
		goto out;
	if (!(d = bring_reserve(r, 100)) || ((uintptr_t)d & 7) || bring_commit(r, 101, &we) != -EMSGSIZE)
		goto out;
	memcpy(d, "shorter", 7);
	if (bring_commit(r, 7, &we) || !we || bring_commit(r, 7, NULL) != -ENOSPC)
		goto out;
	/* 16 bytes used; 30 records of 8 bytes fill it to the byte, round the
	 * end (no padding is ever needed: 8 always fit before the end) */
	for (uint8_t i = 0; i < 30; i++)
		if (bring_push(r, &i, 0, &we) || we)
			goto out;
	if (bring_push(r, "", 0, &we) != -ENOSPC || we || bring_reserve(r, 0))
		goto out;
	if (bring_pop(r, buf, sizeof(buf), &len) || len != 7 || memcmp(buf, "shorter", 7))
		goto out;
	/* 16 bytes free again */
	if (bring_push(r, "abcdefgh", 8, &we) || we || bring_push(r, "", 0, NULL) != -ENOSPC)
		goto out;
	for (int i = 0; i < 30; i++)
		if (bring_pop(r, buf, sizeof(buf), &len) || len != 0)
			goto out;
	if (bring_pop(r, buf, sizeof(buf), &len) || len != 8 || memcmp(buf, "abcdefgh", 8) ||
	    bring_peek(r, &len))
		goto out;
	err = 0;
out:
	mem_deref(r);
	return err;
}

/* Where records go, as bring.h describes it: head and tail in bytes, a
 * record of 8 + len rounded up to 8, padded to the start when it does not
 * fit before the end.  The ring must take a record exactly when this says
 * it fits: never more (it would overwrite), never less (wasted room). */
#define MODEL_Q 1024
struct model {
	uint32_t size, head, tail;
	uint32_t q[MODEL_Q], qn, qh;   /* bytes of each queued record, padding included */
};

static uint32_t rec_bytes(uint32_t len)
{
	return (8 + len + 7) & ~7u;
}

/* A record of len bytes written into room reserved for res bytes: the
 * reservation decides the padding. */
static bool model_push_res(struct model *m, uint32_t res, uint32_t len)
{
	uint32_t off = m->head % m->size, pad = 0;

	if (rec_bytes(res) > m->size - off)
		pad = m->size - off;
	if (res > BRING_MAX_LEN(m->size) || m->qn == MODEL_Q ||
	    pad + rec_bytes(res) > m->size - (m->head - m->tail))
		return false;
	m->head += pad + rec_bytes(len);
	m->q[(m->qh + m->qn++) % MODEL_Q] = pad + rec_bytes(len);
	return true;
}

static bool model_push(struct model *m, uint32_t len)
{
	return model_push_res(m, len, len);
}

static void model_pop(struct model *m)
{
	m->tail += m->q[m->qh];
	m->qh = (m->qh + 1) % MODEL_Q;
	m->qn--;
}

/* Push to the ring and the model: the ring's result, or EPROTO when the
 * two disagree on whether it fits. */
static int put(struct bring *r, struct model *m, const void *d, uint32_t len, bool *we)
{
	int e = bring_push(r, d, len, we);

	return (e == 0) != model_push(m, len) ? EPROTO : -e;
}

static int take(struct bring *r, struct model *m, void *buf, uint32_t cap, uint32_t *len)
{
	int e = bring_pop(r, buf, cap, len);

	if (!e)
		model_pop(m);
	return -e;
}

/* Advance an empty ring to offset off (a multiple of 8) with empty records. */
static int seek_empty(struct bring *r, struct model *m, uint32_t off)
{
	uint32_t len;

	while (m->head % m->size != off)
		if (put(r, m, NULL, 0, NULL) || take(r, m, NULL, 0, &len) || len)
			return EBADMSG;
	return 0;
}

/* Records that exactly fill the end, that need padding, and the longest
 * one at every offset. */
int test_bring_edges(void)
{
	struct model m = {.size = 256};
	struct bring *r;
	uint8_t in[128], out[128];
	uint32_t len, max;
	bool we;
	int err = bring_alloc(&r, 256);

	if (err)
		return -err;
	max = bring_max_len(r);
	for (uint32_t i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)(i * 7 + 1);
	err = EBADMSG;
	/* 128 bytes at offset 128: up to the end exactly, no padding, so a
	 * second one fits from 0 and the ring is full to the byte */
	if (seek_empty(r, &m, 128) || put(r, &m, in, 120, &we) || !we ||
	    put(r, &m, in + 1, 119, &we) || we || put(r, &m, NULL, 0, NULL) != ENOSPC)
		goto out;
	if (take(r, &m, out, sizeof(out), &len) || len != 120 || memcmp(out, in, 120) ||
	    take(r, &m, out, sizeof(out), &len) || len != 119 || memcmp(out, in + 1, 119) ||
	    bring_peek(r, &len))
		goto out;
	/* 128 bytes at offset 136: 120 bytes of padding, then 128 from 0; 8
	 * bytes are left (at 128) */
	if (seek_empty(r, &m, 136) || put(r, &m, in, 120, &we) || !we ||
	    put(r, &m, in + 2, 0, &we) || we || put(r, &m, in, 0, NULL) != ENOSPC)
		goto out;
	/* taking the record gives its padding back: 248 bytes are free, 120
	 * before the end and 128 from 0, so 112 bytes fit in one piece and
	 * 120 with padding, but 121 do not */
	if (take(r, &m, out, sizeof(out), &len) || len != 120 || memcmp(out, in, 120))
		goto out;
	if (bring_reserve(r, 121) || !bring_reserve(r, 112) || !bring_reserve(r, 120) ||
	    put(r, &m, in + 3, 120, &we) || we || put(r, &m, in, 0, NULL) != ENOSPC)
		goto out;
	if (take(r, &m, out, sizeof(out), &len) || len != 0 ||
	    take(r, &m, out, sizeof(out), &len) || len != 120 || memcmp(out, in + 3, 120) ||
	    bring_peek(r, &len))
		goto out;
	/* the longest record fits an empty ring at every offset; a second one
	 * only when the first one ends where the second can start without
	 * padding (offsets 0 and 128) */
	for (uint32_t off = 0; off < 256; off += 8) {
		bool two = off == 0 || off == 128;
		if (seek_empty(r, &m, off) || put(r, &m, in, max, &we) || !we ||
		    put(r, &m, in + 1, max, NULL) != (two ? 0 : ENOSPC))
			goto out;
		if (take(r, &m, out, sizeof(out), &len) || len != max || memcmp(out, in, max))
			goto out;
		if (two && (take(r, &m, out, sizeof(out), &len) || len != max ||
			    memcmp(out, in + 1, max)))
			goto out;
		if (bring_peek(r, &len))
			goto out;
	}
	err = 0;
out:
	mem_deref(r);
	return err;
}

static uint32_t xorshift(uint32_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 17;
	*x ^= *x << 5;
	return *x;
}

/* One record: its number, then bytes that follow from it. */
static void fill(uint8_t *d, uint32_t len, uint32_t n)
{
	for (uint32_t k = 0; k < len; k++)
		d[k] = k < 4 ? (uint8_t)(n >> 8 * k) : (uint8_t)(n + k);
}

static bool check(const uint8_t *d, uint32_t len, uint32_t n)
{
	for (uint32_t k = 0; k < len; k++)
		if (d[k] != (k < 4 ? (uint8_t)(n >> 8 * k) : (uint8_t)(n + k)))
			return false;
	return true;
}

/* Records of 0..max bytes, through push and through reserve/commit (some
 * committing less than they reserved), the fill level drifting round a
 * small ring thousands of times; the ring takes a record exactly when the
 * model says it fits. */
int test_bring_wrap(void)
{
	struct model *m = mem_zalloc(sizeof(*m), NULL);
	struct bring *r = NULL;
	uint32_t lens[MODEL_Q];   /* the length of each queued record */
	uint8_t buf[2048];
	uint32_t len, next = 0, popped = 0, x = 12345, max, pads = 0;
	int err;

	if (!m)
		return ENOMEM;
	m->size = 4096;
	TEST_ERR(-bring_alloc(&r, m->size));
	max = bring_max_len(r);
	err = EBADMSG;
	for (uint32_t round = 0; round < 20000; round++) {
		uint32_t npush = 1 + round % 13, npop = 1 + (round * 7) % 13;

		for (uint32_t i = 0; i < npush; i++) {
			uint32_t res, h0 = m->head;
			uint8_t *d;
			bool fits;
			/* mostly short, sometimes up to the longest */
			len = xorshift(&x) % 16 ? x % 200 : x % (max + 1);
			if (x & 0x100000) {
				fill(buf, len, next);
				if ((err = put(r, m, buf, len, NULL)) == ENOSPC)
					break;
			} else {
				res = len + x % 24 > max ? max : len + x % 24;
				d = bring_reserve(r, res);
				fits = model_push_res(m, res, len);
				err = !d != !fits ? EPROTO : 0;
				if (err || !d)
					break;
				fill(d, len, next);
				err = bring_commit(r, len, NULL) ? EPROTO : 0;
			}
			if (err)
				goto out;
			pads += m->head - h0 > rec_bytes(len);
			lens[next++ % MODEL_Q] = len;
		}
		if (err && err != ENOSPC)
			goto out;
		err = EBADMSG;
		for (uint32_t i = 0; i < npop; i++) {
			const uint8_t *d = (round & 1) ? bring_peek(r, &len) : NULL;
			if (!(round & 1)) {
				if (take(r, m, buf, sizeof(buf), &len))
					break;
				d = buf;
			} else if (!d) {
				break;
			}
			if (len != lens[popped % MODEL_Q] || !check(d, len, popped))
				goto out;
			if (round & 1) {
				bring_release(r);
				model_pop(m);
			}
			popped++;
		}
	}
	if (getenv("RX_TEST_VERBOSE"))
		fprintf(stderr, "  %u records, %u paddings, %u times round\n", next, pads,
			m->head / m->size);
	/* every kind of record went through, round the ring many times */
	err = EBADMSG;
	if (next < 50000 || pads < 1000 || m->head / m->size < 1000)
		goto out;
	err = 0;
out:
	if (err)
		fprintf(stderr, "  record %u/%u, %u paddings\n", popped, next, pads);
	mem_deref(r);
	mem_deref(m);
	return err;
}

#define RECORDS 1000000u
#define TSIZE 16384u
#define TMAX BRING_MAX_LEN(TSIZE)

/* Record i's length: mostly 8..200 bytes, one in 32 up to the longest. */
static uint32_t rec_len(uint32_t i)
{
	uint32_t h = i * 2654435761u;

	h ^= h >> 15;
	h *= 2246822519u;
	h ^= h >> 13;
	return h % 32 ? 8 + (h >> 8) % 193 : 8 + (h >> 8) % (TMAX - 7);
}

/* FNV-1a */
static uint32_t sum(const uint8_t *p, uint32_t n)
{
	uint32_t h = 2166136261u;

	while (n--)
		h = (h ^ *p++) * 16777619u;
	return h;
}

/* Record i: i, the checksum of what follows, random bytes.  Odd ones are
 * written in place (reserve/commit), even ones copied in (push). */
static int push_rec(void *r, uint32_t i, bool *we)
{
	static _Thread_local uint32_t x = 2463534242u;
	uint8_t b[TMAX], *d = b;
	uint32_t len = rec_len(i), c;

	if ((i & 1) && !(d = bring_reserve(r, len)))
		return -ENOSPC;
	for (uint32_t k = 8; k < len; k++)
		d[k] = (uint8_t)(xorshift(&x) >> 24);
	c = sum(d + 8, len - 8);
	memcpy(d, &i, 4);
	memcpy(d + 4, &c, 4);
	return (i & 1) ? bring_commit(r, len, we) : bring_push(r, d, len, we);
}

/* The next record, by peek and release or by copy, by turns. */
static int pop_rec(void *r, uint32_t next, uint32_t wakeup)
{
	static _Thread_local uint8_t b[TMAX];
	const uint8_t *d = b;
	uint32_t len, v, c;
	int e = 0;

	if (wakeup & 1)
		e = bring_pop(r, b, sizeof(b), &len);
	else if (!(d = bring_peek(r, &len)))
		e = -EAGAIN;
	if (e)
		return e;
	memcpy(&v, d, 4);
	memcpy(&c, d + 4, 4);
	if (len != rec_len(next) || v != next || c != sum(d + 8, len - 8))
		return EBADMSG;
	if (!(wakeup & 1))
		bring_release(r);
	return 0;
}

/* A million records of random lengths between two threads: each arrives
 * once, in order, intact, woken only on the empty -> non-empty edge. */
int test_bring_threads(void)
{
	static const struct spsc_ops ops = {push_rec, pop_rec};
	struct spsc_stats st;
	struct bring *r;
	uint32_t len;
	int err = bring_alloc(&r, TSIZE);

	if (err)
		return -err;
	err = spsc_run(r, &ops, RECORDS, &st);
	if (!err && bring_peek(r, &len))
		err = EBADMSG;
	mem_deref(r);
	return err;
}

/* A million records, with padding, allocate nothing. */
int test_bring_no_alloc(void)
{
	struct bring *r;
	struct mem_stat a, b;
	uint8_t buf[64];
	uint32_t len;
	int err = bring_alloc(&r, 256);

	if (err)
		return -err;
	mem_get_stat(&a);
	for (uint32_t i = 0; i < 1000000 && !err; i++) {
		bool we;
		uint32_t n = 4 + i % 40;
		uint8_t *d = bring_reserve(r, n);
		if (!d || (memcpy(d, &i, 4), bring_commit(r, n, &we)) || !we ||
		    bring_pop(r, buf, sizeof(buf), &len) || len != n || memcmp(buf, &i, 4))
			err = EBADMSG;
	}
	mem_get_stat(&b);
	mem_deref(r);
	TEST_EQ(err, 0);
	TEST_EQ(b.allocs, a.allocs);
	TEST_EQ(b.blocks, a.blocks);
	return 0;
}
