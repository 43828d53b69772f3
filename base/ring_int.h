/* Internal to ring.c and bring.c: the ordering both SPSC rings share, kept
 * in one place because the wake-up guarantee rests on it.
 *
 * Each end has a free-running counter that only its thread advances (head:
 * the producer, tail: the consumer) and that thread's last look at the
 * other end's counter (seen).  Items are published by the release store of
 * head (acquired by the consumer) and handed back by the release store of
 * tail (acquired by the producer).
 *
 * The producer stores head, fences and loads tail; the consumer stores
 * tail, fences and loads head before it reports empty.  At least one of
 * the two loads sees the other's store, so either the consumer sees the
 * new item or the producer sees that it had taken everything before it and
 * wakes it: no wake-up is lost. */
#ifndef RX_RING_INT_H
#define RX_RING_INT_H

#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#define RING_CACHE_LINE 64

/* Producer, right after the release store of head (old value h): whether
 * the consumer may have found the ring empty and must be woken. */
static inline bool ring_sync_woke(const atomic_uint_least32_t *tail, uint32_t *seen, uint32_t h)
{
	uint32_t t;

	atomic_thread_fence(memory_order_seq_cst);
	t = atomic_load_explicit(tail, memory_order_acquire);
	*seen = t;
	return t == h;
}

/* Consumer at tail t: whether head has moved past it (refreshing *seen
 * only when the cached copy says empty). */
static inline bool ring_sync_more(const atomic_uint_least32_t *head, uint32_t *seen, uint32_t t)
{
	if (t != *seen)
		return true;
	*seen = atomic_load_explicit(head, memory_order_acquire);
	if (t != *seen)
		return true;
	/* about to report empty: the fence pairs with ring_sync_woke's */
	atomic_thread_fence(memory_order_seq_cst);
	*seen = atomic_load_explicit(head, memory_order_acquire);
	return t != *seen;
}

/* The copy out of a pop: d and n from a peek (d NULL: empty).  0 when the
 * caller may release the item. */
static inline int ring_copy_out(const void *d, uint32_t n, void *buf, uint32_t cap, uint32_t *len)
{
	if (!d)
		return -EAGAIN;
	if (len)
		*len = n;
	if (n > cap)
		return -EMSGSIZE;
	if (n)
		memcpy(buf, d, n);
	return 0;
}

#endif
