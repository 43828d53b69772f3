/* Helpers shared by the chunk layer tests. */
#ifndef RX_CHUNK_UTIL_H
#define RX_CHUNK_UTIL_H

#include <stdbool.h>
#include "buf.h"
#include "chunk.h"

#define HS_HALF 3073  /* C0+C1+C2 or S0+S1+S2 */
#define HEAD_MAX 256
#define RECS_MAX 600
#define AGAIN(used) {EAGAIN, used, 0, 0, 0, 0, 0}

/* What we keep of a message once the dechunker has moved on. */
struct rec {
	uint32_t csid, ts, stream_id, len, hash;
	uint8_t type;
	uint8_t head[HEAD_MAX];
};

struct expect {
	int ret;
	size_t used;
	uint32_t csid, ts, len, stream_id;
	uint8_t type;
};

extern const struct dechunk_limits lim_big;
extern struct rec recs_whole[RECS_MAX], recs_frag[RECS_MAX];

void rec_set(struct rec *r, const struct rtmp_msg *m);
int rec_same(const struct rec *a, const struct rec *b);
int feed(struct dechunker *d, struct buf *in, const uint8_t *data, size_t len,
		size_t step, struct rec *r, size_t cap, size_t *n);
int feed_all_ways(const struct dechunk_limits *lim, const uint8_t *data, size_t len,
			 size_t *n);
int walk(struct dechunker *d, const uint8_t *p, size_t len, const struct expect *e,
		size_t ne);

#endif
