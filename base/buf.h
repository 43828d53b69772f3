/* Growable byte buffer and big-endian helpers for wire formats. */
#ifndef RX_BUF_H
#define RX_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Bytes [pos, len) are unread; [len, cap) is free room. */
struct buf {
	uint8_t *data;
	size_t pos;
	size_t len;
	size_t cap;
};

void buf_init(struct buf *b);
void buf_reset(struct buf *b);          /* frees the storage */
int buf_reserve(struct buf *b, size_t room);   /* ENOMEM */
int buf_append(struct buf *b, const void *p, size_t n);
void buf_consume(struct buf *b, size_t n);
/* Move unread bytes to the front once at least half the buffer is read. */
void buf_compact(struct buf *b);

static inline size_t buf_unread(const struct buf *b) { return b->len - b->pos; }
static inline const uint8_t *buf_head(const struct buf *b) { return b->data + b->pos; }

static inline uint32_t be16(const uint8_t *p) { return (uint32_t)p[0] << 8 | p[1]; }
static inline uint32_t be24(const uint8_t *p) { return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2]; }
static inline uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}
static inline void put_be16(uint8_t *p, uint32_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static inline void put_be24(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 16); p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)v;
}
static inline void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}
static inline void put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24);
}

#endif
