/* Two threads through an SPSC ring (test_ring.c, test_bring.c).  A
 * producer thread pushes items 0..n-1 in batches of 1..64, as a thread
 * handling one epoll round would, and signals an eventfd once after a batch
 * in which some push found the ring empty, or before it waits on a full
 * ring.  (Signalling right at the push is just as correct, but on a loaded
 * machine the woken consumer tends to preempt the producer, take that one
 * item and sleep again: 30 to 74% of pushes signalled in a test here.)  The
 * calling thread sleeps on the eventfd, drains it and takes items until
 * the ring is empty; a lost wake-up shows as a 5 s poll timeout. */
#ifndef RX_SPSC_UTIL_H
#define RX_SPSC_UTIL_H

#include <stdbool.h>
#include <stdint.h>

struct spsc_ops {
	/* item i into the ring: 0, -ENOSPC when full (tried again), or an
	 * errno value that stops the run */
	int (*push)(void *ring, uint32_t i, bool *was_empty);
	/* the next item out, which must be item next: 0, -EAGAIN when empty,
	 * or EBADMSG */
	int (*pop)(void *ring, uint32_t next, uint32_t wakeup);
};

struct spsc_stats {
	uint32_t signals, full, wakeups, batches;
};

/* 0 when every item arrived once, in order, intact, with a signal at most
 * per batch or full ring and a wake-up at most per signal; the counts in
 * *st. */
int spsc_run(void *ring, const struct spsc_ops *ops, uint32_t n, struct spsc_stats *st);

#endif
