/* Growable byte buffer. */
#include <errno.h>
#include <string.h>
#include "buf.h"
#include "mem.h"

void buf_init(struct buf *b)
{
	memset(b, 0, sizeof(*b));
}

void buf_reset(struct buf *b)
{
	mem_deref(b->data);
	buf_init(b);
}

void buf_compact(struct buf *b)
{
	if (b->pos == 0)
		return;
	if (b->pos == b->len) {
		b->pos = b->len = 0;
		return;
	}
	if (b->pos < b->cap / 2)
		return;
	memmove(b->data, b->data + b->pos, b->len - b->pos);
	b->len -= b->pos;
	b->pos = 0;
}

int buf_reserve(struct buf *b, size_t room)
{
	size_t need, cap;
	uint8_t *d;

	if (b->cap - b->len >= room)
		return 0;
	if (b->pos) {
		memmove(b->data, b->data + b->pos, b->len - b->pos);
		b->len -= b->pos;
		b->pos = 0;
		if (b->cap - b->len >= room)
			return 0;
	}
	if (room > SIZE_MAX / 2 - b->len)
		return ENOMEM;
	need = b->len + room;
	cap = b->cap ? b->cap : 256;
	while (cap < need)
		cap *= 2;
	d = mem_realloc(b->data, cap);
	if (!d)
		return ENOMEM;
	b->data = d;
	b->cap = cap;
	return 0;
}

int buf_append(struct buf *b, const void *p, size_t n)
{
	int err = buf_reserve(b, n);
	if (err)
		return err;
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	return 0;
}

void buf_consume(struct buf *b, size_t n)
{
	if (n > b->len - b->pos)
		n = b->len - b->pos;
	b->pos += n;
	if (b->pos == b->len)
		b->pos = b->len = 0;
}
