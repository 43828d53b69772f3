/* A lock-free single-producer/single-consumer ring of variable-length
 * records: a byte ring that costs what it carries.  ring.h gives every item
 * a slot of the largest size, so a ring of short items with a rare long one
 * still touches slots x largest bytes; here records of {length, bytes} are
 * packed one after the other, so a 16 KiB ring holds two hundred 70-byte
 * messages or seven of 2 KiB.
 *
 * One thread pushes, one thread pops.  All memory is taken once by
 * bring_alloc (one mem block; free it with mem_deref).  A record is never
 * split across the end of the buffer: one that does not fit before the end
 * leaves the rest of it as padding and starts at the beginning.  A record
 * takes its length rounded up to 8, plus 8 bytes of header (its bytes are
 * 8-byte aligned).
 *
 * Wake-ups work as in ring.h: *was_empty says the consumer may have seen
 * the ring empty and must be woken (ring_wake_signal); none is lost. */
#ifndef RX_BRING_H
#define RX_BRING_H

#include <stdbool.h>
#include <stdint.h>

struct bring;

/* The longest record a ring of size bytes always takes when empty, padding
 * or not: half of it, less a header. */
#define BRING_MAX_LEN(size) ((size) / 2 - 8)

/* size: a power of two, 64..2^24 bytes.  Returns 0, -EINVAL or -ENOMEM. */
int bring_alloc(struct bring **rp, uint32_t size);
uint32_t bring_size(const struct bring *r);
uint32_t bring_max_len(const struct bring *r);   /* BRING_MAX_LEN(size) */

/* Producer.  Copy len bytes in as one record: 0, -ENOSPC when there is no
 * room now, -EMSGSIZE when len > bring_max_len.  *was_empty (may be NULL)
 * says to wake the consumer. */
int bring_push(struct bring *r, const void *data, uint32_t len, bool *was_empty);
/* Zero-copy: room for a record of up to len bytes, or NULL when there is
 * none now (or ever: len > bring_max_len); then commit the len bytes
 * actually written (at most the reserved length) as one record. */
void *bring_reserve(struct bring *r, uint32_t len);
int bring_commit(struct bring *r, uint32_t len, bool *was_empty);

/* Consumer.  Copy the oldest record out: 0, -EAGAIN when empty, -EMSGSIZE
 * when it is longer than cap (it stays in the ring; *len gets its length). */
int bring_pop(struct bring *r, void *buf, uint32_t cap, uint32_t *len);
/* Zero-copy: the oldest record, valid until bring_release, or NULL. */
const void *bring_peek(struct bring *r, uint32_t *len);
void bring_release(struct bring *r);

#endif
