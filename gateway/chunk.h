/* RTMP chunk stream layer: pure encode/decode over buffers.
 *
 * The dechunker turns received bytes into whole messages, one chunk at a
 * time, under limits (message size, chunk size, chunk streams, bytes
 * buffered).  The chunker turns messages into chunks with the smallest
 * header that is unambiguous for every reader we know (FFmpeg, librtmp,
 * Flash): a type-3 header starts a new message only after a type-1/2 header
 * with the same delta. */
#ifndef RX_CHUNK_H
#define RX_CHUNK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "buf.h"

#define RTMP_DEFAULT_CHUNK 128
#define RTMP_MAX_CSID 65599

enum rtmp_msg_type {
	RTMP_SET_CHUNK_SIZE = 1, RTMP_ABORT = 2, RTMP_ACK = 3, RTMP_USER_CONTROL = 4,
	RTMP_WINDOW_ACK_SIZE = 5, RTMP_SET_PEER_BW = 6,
	RTMP_AUDIO = 8, RTMP_VIDEO = 9,
	RTMP_DATA_AMF3 = 15, RTMP_SHARED_OBJ_AMF3 = 16, RTMP_CMD_AMF3 = 17,
	RTMP_DATA_AMF0 = 18, RTMP_SHARED_OBJ_AMF0 = 19, RTMP_CMD_AMF0 = 20,
	RTMP_AGGREGATE = 22,
};

enum rtmp_uc_event {
	UC_STREAM_BEGIN = 0, UC_STREAM_EOF = 1, UC_STREAM_DRY = 2, UC_SET_BUFFER_LEN = 3,
	UC_STREAM_IS_RECORDED = 4, UC_PING_REQUEST = 6, UC_PING_RESPONSE = 7,
};

struct rtmp_msg {
	uint32_t csid;
	uint32_t ts;          /* absolute, milliseconds, wraps at 2^32 */
	uint8_t type;
	uint32_t stream_id;
	uint32_t len;
	const uint8_t *body;
};

struct dechunk_limits {
	uint32_t max_msg;        /* largest message accepted */
	uint32_t max_chunk;      /* largest Set Chunk Size accepted */
	uint32_t max_streams;    /* chunk streams with state at once */
	uint32_t max_buffered;   /* bytes of partial messages held at once */
};

struct dechunk_cs;

struct dechunker {
	struct dechunk_limits lim;
	uint32_t chunk_size;
	struct dechunk_cs *cs;   /* mem array, ncs entries */
	uint32_t ncs;
	uint32_t buffered;
	const char *why;         /* static text for the last error */
};

void dechunk_init(struct dechunker *d, const struct dechunk_limits *lim);
void dechunk_reset(struct dechunker *d);
/* Decode at most one chunk from [in, in+len).  *used receives the bytes
 * consumed.  Returns 0 with *msg set when a message completed (msg->body is
 * valid until the next call), EAGAIN when a chunk was consumed but its
 * message is not complete, ENODATA when more bytes are needed (nothing
 * consumed), or EPROTO/EMSGSIZE/ENOMEM on bad input, with d->why set. */
int dechunk_next(struct dechunker *d, const uint8_t *in, size_t len, size_t *used,
		 struct rtmp_msg *msg);
/* Apply the peer's Set Chunk Size (EPROTO if 0, >= 2^31 or over the limit). */
int dechunk_set_chunk_size(struct dechunker *d, uint32_t size);
/* Drop the partial message on csid (Abort Message). */
void dechunk_abort(struct dechunker *d, uint32_t csid);

#define CHUNK_MAX_CSID_OUT 64

struct chunk_out_cs {
	bool used;
	bool ext;          /* last header carried an extended timestamp */
	uint8_t last_fmt;
	uint8_t type;
	uint32_t ts;
	uint32_t delta;
	uint32_t len;
	uint32_t stream_id;
};

struct chunker {
	uint32_t chunk_size;
	struct chunk_out_cs cs[CHUNK_MAX_CSID_OUT];
};

void chunker_init(struct chunker *c);
/* Append msg (csid 2..63) as chunks to out.  ENOMEM, EINVAL. */
int chunker_write(struct chunker *c, struct buf *out, const struct rtmp_msg *msg);
/* Bytes chunker_write would add for a message of len bytes (upper bound). */
size_t chunker_bound(const struct chunker *c, uint32_t len);

#endif
