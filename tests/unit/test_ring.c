/* Tests for base/ring.c: single-thread semantics and wrap-around, two
 * threads passing a million items woken through an eventfd only on the
 * empty -> non-empty transition, and no allocation per push or pop. */
#include <stdbool.h>
#include <string.h>
#include "mem.h"
#include "ring.h"
#include "spsc_util.h"
#include "test.h"

int test_ring_basic(void)
{
	struct ring *r;
	uint8_t buf[64];
	uint32_t len;
	bool we;
	int err;

	TEST_EQ(ring_alloc(&r, 3, 16), -EINVAL);
	TEST_EQ(ring_alloc(&r, 1, 16), -EINVAL);
	TEST_EQ(ring_alloc(&r, 4, 0), -EINVAL);
	TEST_EQ(ring_alloc(&r, 1u << 25, 16), -EINVAL);
	err = ring_alloc(&r, 4, 16);
	if (err)
		return -err;
	err = EBADMSG;
	if (ring_slot_size(r) != 16 || ring_pop(r, buf, sizeof(buf), &len) != -EAGAIN ||
	    ring_peek(r, &len))
		goto out;
	/* the first push finds it empty, the next ones do not */
	if (ring_push(r, "one", 3, &we) || !we || ring_push(r, "", 0, &we) || we ||
	    ring_push(r, "sixteen-bytes-ok", 16, &we) || we)
		goto out;
	if (ring_push(r, "seventeen bytes!!", 17, &we) != -EMSGSIZE || we)
		goto out;
	if (ring_push(r, "four", 4, NULL) || ring_push(r, "full", 4, &we) != -ENOSPC || we ||
	    ring_push_slot(r))
		goto out;
	/* too small a buffer leaves the item in place */
	if (ring_pop(r, buf, 2, &len) != -EMSGSIZE || len != 3)
		goto out;
	if (ring_pop(r, buf, sizeof(buf), &len) || len != 3 || memcmp(buf, "one", 3))
		goto out;
	if (ring_pop(r, NULL, 0, &len) || len != 0)
		goto out;
	if (ring_pop(r, buf, sizeof(buf), &len) || len != 16 || memcmp(buf, "sixteen-bytes-ok", 16))
		goto out;
	/* the consumer has not emptied it: no wake-up needed */
	if (ring_push(r, "five", 4, &we) || we)
		goto out;
	if (ring_pop(r, buf, sizeof(buf), NULL) || memcmp(buf, "four", 4) ||
	    ring_pop(r, buf, sizeof(buf), &len) || len != 4 || memcmp(buf, "five", 4) ||
	    ring_pop(r, buf, sizeof(buf), &len) != -EAGAIN)
		goto out;
	ring_pop_commit(r);   /* on an empty ring: nothing */
	if (ring_push(r, "six", 3, &we) || !we)
		goto out;
	err = 0;
out:
	mem_deref(r);
	return err;
}

/* Zero-copy calls, and indices wrapping many times round a small ring. */
int test_ring_wrap(void)
{
	struct ring *r;
	uint32_t len, next = 0, popped = 0;
	int err = ring_alloc(&r, 8, 100);

	if (err)
		return -err;
	err = EBADMSG;
	for (uint32_t round = 0; round < 10000; round++) {
		/* push 1..8, pop fewer: the fill level drifts around */
		uint32_t npush = 1 + round % 8, npop = 1 + (round * 7) % 8;

		for (uint32_t i = 0; i < npush; i++) {
			uint8_t *s = ring_push_slot(r);
			if (!s)
				break;
			memcpy(s, &next, 4);
			memset(s + 4, (int)(next & 0xff), next % 97);
			if (ring_push_commit(r, 4 + next % 97, NULL))
				goto out;
			next++;
		}
		for (uint32_t i = 0; i < npop; i++) {
			const uint8_t *d = ring_peek(r, &len);
			uint32_t v;
			if (!d)
				break;
			memcpy(&v, d, 4);
			if (v != popped || len != 4 + v % 97)
				goto out;
			for (uint32_t k = 4; k < len; k++)
				if (d[k] != (v & 0xff))
					goto out;
			ring_pop_commit(r);
			popped++;
		}
	}
	if (next < 10000 || ring_push_commit(r, 101, NULL) != -EMSGSIZE)
		goto out;
	err = 0;
out:
	mem_deref(r);
	return err;
}

#define ITEMS 1000000u
#define SLOT 256u

static uint32_t item_len(uint32_t i)
{
	return 4 + (i * 2654435761u >> 24) % (SLOT - 3);   /* 4..SLOT */
}

/* Item i: i, then bytes that follow from it. */
static int push_item(void *r, uint32_t i, bool *we)
{
	uint8_t b[SLOT];
	uint32_t len = item_len(i);

	memcpy(b, &i, 4);
	for (uint32_t k = 4; k < len; k++)
		b[k] = (uint8_t)(i + k);
	return ring_push(r, b, len, we);
}

static int pop_item(void *r, uint32_t next, uint32_t wakeup)
{
	uint8_t b[SLOT];
	uint32_t len, v;
	int e = ring_pop(r, b, sizeof(b), &len);

	(void)wakeup;
	if (e)
		return e;
	memcpy(&v, b, 4);
	if (v != next || len != item_len(v))
		return EBADMSG;
	for (uint32_t k = 4; k < len; k++)
		if (b[k] != (uint8_t)(v + k))
			return EBADMSG;
	return 0;
}

int test_ring_threads(void)
{
	static const struct spsc_ops ops = {push_item, pop_item};
	struct spsc_stats st;
	struct ring *r;
	int err = ring_alloc(&r, 64, SLOT);

	if (err)
		return -err;
	err = spsc_run(r, &ops, ITEMS, &st);
	mem_deref(r);
	TEST_EQ(err, 0);
	TEST_ASSERT(st.signals < ITEMS / 10);
	return 0;
}

/* A million push/pop pairs allocate nothing. */
int test_ring_no_alloc(void)
{
	struct ring *r;
	struct mem_stat a, b;
	uint8_t buf[32];
	uint32_t len;
	int err = ring_alloc(&r, 16, 32);

	if (err)
		return -err;
	mem_get_stat(&a);
	for (uint32_t i = 0; i < 1000000 && !err; i++) {
		bool we;
		if (ring_push(r, &i, 4, &we) || ring_pop(r, buf, sizeof(buf), &len) || len != 4 ||
		    memcmp(buf, &i, 4))
			err = EBADMSG;
	}
	mem_get_stat(&b);
	mem_deref(r);
	TEST_EQ(err, 0);
	TEST_EQ(b.allocs, a.allocs);
	TEST_EQ(b.blocks, a.blocks);
	return 0;
}
