/* Lock-free SPSC ring of fixed-size slots (ring.h).
 *
 * head and tail are free-running 32-bit counters (head - tail items are
 * queued), each alone on its cache line together with its thread's cached
 * copy of the other counter, so the two threads only touch each other's
 * line when the cached copy says full or empty.  The ordering, shared with
 * bring.c, is in ring_int.h. */
#include <errno.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include "mem.h"
#include "ring.h"
#include "ring_int.h"

#define CACHE_LINE RING_CACHE_LINE
#define SLOT_HDR 8   /* the length, then the bytes at 8-byte alignment */
#define MAX_SLOTS (1u << 24)
#define MAX_SLOT_SIZE (1u << 24)

/* One end: the counter its thread advances and that thread's last look at
 * the other end's counter. */
struct end {
	alignas(CACHE_LINE) atomic_uint_least32_t idx;
	uint32_t seen;
};

struct ring {
	struct end *prod;      /* head */
	struct end *cons;      /* tail */
	uint8_t *slots;
	uint32_t mask;
	uint32_t slot_size;
	size_t stride;
};

int ring_alloc(struct ring **rp, uint32_t nslots, uint32_t slot_size)
{
	struct ring *r;
	uintptr_t line;
	uint64_t stride, size;

	if (nslots < 2 || nslots > MAX_SLOTS || (nslots & (nslots - 1)) || !slot_size ||
	    slot_size > MAX_SLOT_SIZE)
		return -EINVAL;
	/* whole cache lines per slot: neighbouring slots in use by the two
	 * threads at once do not share a line */
	stride = (SLOT_HDR + (uint64_t)slot_size + CACHE_LINE - 1) & ~(uint64_t)(CACHE_LINE - 1);
	size = sizeof(*r) + CACHE_LINE - 1 + 2 * sizeof(struct end) + stride * nslots;
	if (size > SIZE_MAX)
		return -ENOMEM;
	r = mem_alloc((size_t)size, NULL);
	if (!r)
		return -ENOMEM;
	line = ((uintptr_t)(r + 1) + CACHE_LINE - 1) & ~(uintptr_t)(CACHE_LINE - 1);
	r->prod = (struct end *)line;
	r->cons = r->prod + 1;
	r->slots = (uint8_t *)(r->cons + 1);
	r->mask = nslots - 1;
	r->slot_size = slot_size;
	r->stride = (size_t)stride;
	atomic_init(&r->prod->idx, 0);
	r->prod->seen = 0;
	atomic_init(&r->cons->idx, 0);
	r->cons->seen = 0;
	*rp = r;
	return 0;
}

uint32_t ring_slot_size(const struct ring *r)
{
	return r->slot_size;
}

static uint8_t *get_slot(const struct ring *r, uint32_t i)
{
	return r->slots + (size_t)(i & r->mask) * r->stride;
}

void *ring_push_slot(struct ring *r)
{
	uint32_t h = atomic_load_explicit(&r->prod->idx, memory_order_relaxed);

	if (h - r->prod->seen > r->mask) {
		r->prod->seen = atomic_load_explicit(&r->cons->idx, memory_order_acquire);
		if (h - r->prod->seen > r->mask)
			return NULL;
	}
	return get_slot(r, h) + SLOT_HDR;
}

int ring_push_commit(struct ring *r, uint32_t len, bool *was_empty)
{
	uint32_t h = atomic_load_explicit(&r->prod->idx, memory_order_relaxed);

	if (was_empty)
		*was_empty = false;
	if (len > r->slot_size)
		return -EMSGSIZE;
	if (h - r->prod->seen > r->mask)
		return -ENOSPC;   /* no ring_push_slot, or it said full */
	memcpy(get_slot(r, h), &len, sizeof(len));
	atomic_store_explicit(&r->prod->idx, h + 1, memory_order_release);
	if (was_empty)
		*was_empty = ring_sync_woke(&r->cons->idx, &r->prod->seen, h);
	return 0;
}

int ring_push(struct ring *r, const void *data, uint32_t len, bool *was_empty)
{
	void *s;

	if (was_empty)
		*was_empty = false;
	if (len > r->slot_size)
		return -EMSGSIZE;
	s = ring_push_slot(r);
	if (!s)
		return -ENOSPC;
	if (len)
		memcpy(s, data, len);
	return ring_push_commit(r, len, was_empty);
}

const void *ring_peek(struct ring *r, uint32_t *len)
{
	uint32_t t = atomic_load_explicit(&r->cons->idx, memory_order_relaxed);
	const uint8_t *s;

	if (!ring_sync_more(&r->prod->idx, &r->cons->seen, t))
		return NULL;
	s = get_slot(r, t);
	memcpy(len, s, sizeof(*len));
	return s + SLOT_HDR;
}

void ring_pop_commit(struct ring *r)
{
	uint32_t t = atomic_load_explicit(&r->cons->idx, memory_order_relaxed);

	if (t != r->cons->seen)
		atomic_store_explicit(&r->cons->idx, t + 1, memory_order_release);
}

int ring_pop(struct ring *r, void *buf, uint32_t cap, uint32_t *len)
{
	uint32_t n = 0;
	const void *d = ring_peek(r, &n);
	int err = ring_copy_out(d, n, buf, cap, len);

	if (!err)
		ring_pop_commit(r);
	return err;
}

int ring_wake_fd(void)
{
	int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

int ring_wake_signal(int fd)
{
	uint64_t one = 1;

	return write(fd, &one, sizeof(one)) == (ssize_t)sizeof(one) ? 0 : -errno;
}

uint64_t ring_wake_drain(int fd)
{
	uint64_t n;

	return read(fd, &n, sizeof(n)) == (ssize_t)sizeof(n) ? n : 0;
}
