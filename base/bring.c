/* Lock-free SPSC ring of variable-length records (bring.h).
 *
 * As ring.c, with byte counters instead of slot counters: head and tail
 * are free-running 32-bit byte offsets (head - tail bytes are in use,
 * padding included), each alone on its cache line with its thread's cached
 * copy of the other, so the two threads only touch each other's line when
 * the cached copy says full or empty.  The ordering, shared with ring.c,
 * is in ring_int.h.
 *
 * A record is an 8-byte header (its length) and its bytes, rounded up to 8.
 * Every offset is a multiple of 8, so there are always at least 8 bytes
 * before the end: a record that does not fit there gets a PAD header in
 * them and starts at offset 0, and one store of head publishes both.
 *
 * Why records are at most half the ring: a ring that is empty at offset o
 * has the whole ring free, but a record of n bytes that does not fit in the
 * size - o bytes before the end needs them as padding plus n from the
 * start, so it fits only if n <= o.  One of the two holds for any o only
 * when n <= size / 2.  Otherwise a long record could find an empty ring
 * full, forever if the producer keeps waiting for it. */
#include <errno.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <string.h>
#include "bring.h"
#include "mem.h"
#include "ring_int.h"

#define CACHE_LINE RING_CACHE_LINE
#define HDR 8
#define PAD UINT32_MAX
#define MIN_SIZE 64u
#define MAX_SIZE (1u << 24)

/* One end: the counter its thread advances, that thread's last look at the
 * other end's counter, and the record it has in hand (reserved by the
 * producer, peeked at by the consumer): its length and the padding before
 * it. */
struct end {
	alignas(CACHE_LINE) atomic_uint_least32_t idx;
	uint32_t seen;
	uint32_t len, pad;
	bool busy;
};

struct bring {
	struct end *prod;      /* head */
	struct end *cons;      /* tail */
	uint8_t *buf;
	uint32_t size, mask, max_len;
};

_Static_assert(BRING_MAX_LEN(MIN_SIZE) > 0, "the smallest ring holds a record");

/* Bytes a record of len bytes takes. */
static uint32_t rec_size(uint32_t len)
{
	return (HDR + len + 7) & ~7u;
}

static void put_hdr(uint8_t *p, uint32_t len)
{
	memcpy(p, &len, sizeof(len));
}

static uint32_t get_hdr(const uint8_t *p)
{
	uint32_t len;

	memcpy(&len, p, sizeof(len));
	return len;
}

static void end_init(struct end *e)
{
	atomic_init(&e->idx, 0);
	e->seen = e->len = e->pad = 0;
	e->busy = false;
}

int bring_alloc(struct bring **rp, uint32_t size)
{
	struct bring *r;
	uintptr_t line;

	if (size < MIN_SIZE || size > MAX_SIZE || (size & (size - 1)))
		return -EINVAL;
	r = mem_alloc(sizeof(*r) + CACHE_LINE - 1 + 2 * sizeof(struct end) + size, NULL);
	if (!r)
		return -ENOMEM;
	line = ((uintptr_t)(r + 1) + CACHE_LINE - 1) & ~(uintptr_t)(CACHE_LINE - 1);
	r->prod = (struct end *)line;
	r->cons = r->prod + 1;
	r->buf = (uint8_t *)(r->cons + 1);
	r->size = size;
	r->mask = size - 1;
	r->max_len = BRING_MAX_LEN(size);
	end_init(r->prod);
	end_init(r->cons);
	*rp = r;
	return 0;
}

uint32_t bring_size(const struct bring *r)
{
	return r->size;
}

uint32_t bring_max_len(const struct bring *r)
{
	return r->max_len;
}

void *bring_reserve(struct bring *r, uint32_t len)
{
	struct end *p = r->prod;
	uint32_t h = atomic_load_explicit(&p->idx, memory_order_relaxed);
	uint32_t off = h & r->mask, pad = 0, need;

	p->busy = false;
	if (len > r->max_len)
		return NULL;
	need = rec_size(len);
	if (need > r->size - off)
		pad = r->size - off;   /* it goes at the start */
	if (pad + need > r->size - (h - p->seen)) {
		p->seen = atomic_load_explicit(&r->cons->idx, memory_order_acquire);
		if (pad + need > r->size - (h - p->seen))
			return NULL;
	}
	p->busy = true;
	p->len = len;
	p->pad = pad;
	return r->buf + (pad ? 0 : off) + HDR;
}

int bring_commit(struct bring *r, uint32_t len, bool *was_empty)
{
	struct end *p = r->prod;
	uint32_t h = atomic_load_explicit(&p->idx, memory_order_relaxed), off = h & r->mask;

	if (was_empty)
		*was_empty = false;
	if (!p->busy)
		return -ENOSPC;   /* no bring_reserve, or it said full */
	if (len > p->len)
		return -EMSGSIZE;
	if (p->pad) {
		put_hdr(r->buf + off, PAD);
		off = 0;
	}
	put_hdr(r->buf + off, len);
	p->busy = false;
	atomic_store_explicit(&p->idx, h + p->pad + rec_size(len), memory_order_release);
	if (was_empty)
		*was_empty = ring_sync_woke(&r->cons->idx, &p->seen, h);
	return 0;
}

int bring_push(struct bring *r, const void *data, uint32_t len, bool *was_empty)
{
	void *d;

	if (was_empty)
		*was_empty = false;
	if (len > r->max_len)
		return -EMSGSIZE;
	d = bring_reserve(r, len);
	if (!d)
		return -ENOSPC;
	if (len)
		memcpy(d, data, len);
	return bring_commit(r, len, was_empty);
}

const void *bring_peek(struct bring *r, uint32_t *len)
{
	struct end *c = r->cons;
	uint32_t t = atomic_load_explicit(&c->idx, memory_order_relaxed), off, n;

	c->busy = false;
	if (!ring_sync_more(&r->prod->idx, &c->seen, t))
		return NULL;
	off = t & r->mask;
	n = get_hdr(r->buf + off);
	c->pad = 0;
	if (n == PAD) {
		/* published with the record after it, by the same store */
		c->pad = r->size - off;
		off = 0;
		n = get_hdr(r->buf);
	}
	c->len = n;
	c->busy = true;
	*len = n;
	return r->buf + off + HDR;
}

void bring_release(struct bring *r)
{
	struct end *c = r->cons;
	uint32_t t = atomic_load_explicit(&c->idx, memory_order_relaxed);

	if (!c->busy)
		return;
	c->busy = false;
	atomic_store_explicit(&c->idx, t + c->pad + rec_size(c->len), memory_order_release);
}

int bring_pop(struct bring *r, void *buf, uint32_t cap, uint32_t *len)
{
	uint32_t n = 0;
	const void *d = bring_peek(r, &n);
	int err = ring_copy_out(d, n, buf, cap, len);

	if (!err)
		bring_release(r);
	return err;
}
