/* A lock-free single-producer/single-consumer ring of fixed-size slots, for
 * handing packets between the control and media threads without a lock or
 * an allocation per packet.
 *
 * One thread pushes, one thread pops.  All memory is taken once by
 * ring_alloc (one mem block; free it with mem_deref).  Each slot holds a
 * length and up to slot_size bytes.
 *
 * Wake-ups: the producer signals the consumer's eventfd only when a push
 * finds the ring empty (*was_empty).  The consumer drains the eventfd, then
 * pops until -EAGAIN, then sleeps.  A full fence on both sides makes sure
 * that a push the consumer missed on its last look is always reported as
 * was_empty, so no wake-up is lost. */
#ifndef RX_RING_H
#define RX_RING_H

#include <stdbool.h>
#include <stdint.h>

struct ring;

/* nslots: a power of two, 2..2^24; slot_size: 1..2^24 bytes.  Returns 0,
 * -EINVAL or -ENOMEM. */
int ring_alloc(struct ring **rp, uint32_t nslots, uint32_t slot_size);
uint32_t ring_slot_size(const struct ring *r);

/* Producer.  Copy len bytes into the next slot: 0, -ENOSPC when full,
 * -EMSGSIZE when len > slot_size.  *was_empty (may be NULL) says to wake
 * the consumer. */
int ring_push(struct ring *r, const void *data, uint32_t len, bool *was_empty);
/* Zero-copy: the next free slot's bytes (slot_size of them), or NULL when
 * full; then commit len bytes of it. */
void *ring_push_slot(struct ring *r);
int ring_push_commit(struct ring *r, uint32_t len, bool *was_empty);

/* Consumer.  Copy the oldest item out: 0, -EAGAIN when empty, -EMSGSIZE
 * when it is longer than cap (it stays in the ring; *len gets its length). */
int ring_pop(struct ring *r, void *buf, uint32_t cap, uint32_t *len);
/* Zero-copy: the oldest item, valid until ring_pop_commit, or NULL. */
const void *ring_peek(struct ring *r, uint32_t *len);
void ring_pop_commit(struct ring *r);

/* An eventfd for wake-ups (non-blocking, close-on-exec): returns the fd or
 * a negative errno.  signal adds one; drain reads and returns the count
 * (0 when there was nothing). */
int ring_wake_fd(void);
int ring_wake_signal(int fd);
uint64_t ring_wake_drain(int fd);

#endif
