/* RTMP chunk stream layer: dechunker and chunker. */
#include <errno.h>
#include <string.h>
#include "chunk.h"
#include "mem.h"

struct dechunk_cs {
	uint32_t csid;
	bool ext;            /* last header had an extended timestamp */
	uint8_t type;
	uint32_t ts;
	uint32_t delta;
	uint32_t len;
	uint32_t stream_id;
	uint8_t *body;       /* partial message, cap bytes */
	uint32_t got;
	uint32_t cap;
};

#define KEEP_BODY_MAX 16384  /* larger reassembly buffers are freed after use */

void dechunk_init(struct dechunker *d, const struct dechunk_limits *lim)
{
	memset(d, 0, sizeof(*d));
	d->lim = *lim;
	d->chunk_size = RTMP_DEFAULT_CHUNK;
}

void dechunk_reset(struct dechunker *d)
{
	for (uint32_t i = 0; i < d->ncs; i++)
		mem_deref(d->cs[i].body);
	mem_deref(d->cs);
	d->cs = NULL;
	d->ncs = 0;
	d->buffered = 0;
}

static int fail(struct dechunker *d, int err, const char *why)
{
	d->why = why;
	return err;
}

static struct dechunk_cs *find_cs(struct dechunker *d, uint32_t csid)
{
	for (uint32_t i = 0; i < d->ncs; i++)
		if (d->cs[i].csid == csid)
			return &d->cs[i];
	return NULL;
}

static int add_cs(struct dechunker *d, uint32_t csid, struct dechunk_cs **csp)
{
	struct dechunk_cs *cs;

	if (d->ncs >= d->lim.max_streams)
		return fail(d, EPROTO, "too many chunk streams");
	cs = mem_realloc(d->cs, (d->ncs + 1) * sizeof(*cs));
	if (!cs)
		return fail(d, ENOMEM, "out of memory");
	d->cs = cs;
	cs = &d->cs[d->ncs++];
	memset(cs, 0, sizeof(*cs));
	cs->csid = csid;
	*csp = cs;
	return 0;
}

/* Trim reassembly buffers held from the message returned last time. */
static void trim_bodies(struct dechunker *d)
{
	for (uint32_t i = 0; i < d->ncs; i++) {
		struct dechunk_cs *cs = &d->cs[i];
		if (!cs->got && cs->cap > KEEP_BODY_MAX) {
			cs->body = mem_deref(cs->body);
			cs->cap = 0;
		}
	}
}

static int store(struct dechunker *d, struct dechunk_cs *cs, const uint8_t *p, uint32_t n)
{
	if (n > d->lim.max_buffered - d->buffered)
		return fail(d, EMSGSIZE, "too many bytes in partial messages");
	if (cs->got + n > cs->cap) {
		uint32_t cap = cs->cap ? cs->cap : 256;
		uint8_t *b;
		while (cap < cs->got + n)
			cap = cap > cs->len / 2 ? cs->len : cap * 2;
		b = mem_realloc(cs->body, cap);
		if (!b)
			return fail(d, ENOMEM, "out of memory");
		cs->body = b;
		cs->cap = cap;
	}
	memcpy(cs->body + cs->got, p, n);
	cs->got += n;
	d->buffered += n;
	return 0;
}

static const size_t hdr_len[4] = {11, 7, 3, 0};

int dechunk_next(struct dechunker *d, const uint8_t *in, size_t len, size_t *used,
		 struct rtmp_msg *msg)
{
	size_t pos = 1, hl;
	uint32_t csid, field = 0, n;
	uint8_t fmt;
	struct dechunk_cs *cs;
	bool ext;
	int err;

	*used = 0;
	trim_bodies(d);
	if (len < 1)
		return ENODATA;
	fmt = in[0] >> 6;
	csid = in[0] & 0x3f;
	if (csid == 0) {
		if (len < 2)
			return ENODATA;
		csid = 64 + in[1];
		pos = 2;
	} else if (csid == 1) {
		if (len < 3)
			return ENODATA;
		csid = 64 + in[1] + ((uint32_t)in[2] << 8);
		pos = 3;
	}
	hl = hdr_len[fmt];
	if (len < pos + hl)
		return ENODATA;
	cs = find_cs(d, csid);
	if (!cs && fmt != 0)
		return fail(d, EPROTO, "chunk stream starts without a type-0 header");
	if (cs && cs->got && fmt != 3)
		return fail(d, EPROTO, "new message header inside a message");
	if (fmt < 3)
		field = be24(in + pos);
	ext = fmt < 3 ? field == 0xffffff : cs->ext;
	if (ext) {
		if (len < pos + hl + 4)
			return ENODATA;
		if (fmt < 3)
			field = be32(in + pos + hl);
		hl += 4;
	}

	/* Learn the message length first, so we know the whole chunk's size. */
	{
		uint32_t mlen = fmt <= 1 ? be24(in + pos + 3) : cs->len;
		uint32_t got = cs ? cs->got : 0;
		if (mlen > d->lim.max_msg)
			return fail(d, EMSGSIZE, "message larger than the limit");
		n = mlen - got < d->chunk_size ? mlen - got : d->chunk_size;
		if (len < pos + hl + n)
			return ENODATA;
	}
	if (!cs && (err = add_cs(d, csid, &cs)))
		return err;

	if (!cs->got) {
		switch (fmt) {
		case 0:
			cs->ts = field;
			cs->delta = field;
			cs->stream_id = le32(in + pos + 7);
			/* fall through */
		case 1:
			cs->len = be24(in + pos + 3);
			cs->type = in[pos + 6];
			if (fmt == 1) {
				cs->delta = field;
				cs->ts += field;
			}
			break;
		case 2:
			cs->delta = field;
			cs->ts += field;
			break;
		default:
			cs->ts += cs->delta;
			break;
		}
		if (fmt < 3)
			cs->ext = ext;
	}
	pos += hl;
	*used = pos + n;

	if (!cs->got && n == cs->len) {
		msg->body = in + pos;      /* whole message in one chunk */
	} else {
		if ((err = store(d, cs, in + pos, n))) {
			*used = 0;
			return err;
		}
		if (cs->got < cs->len)
			return EAGAIN;
		msg->body = cs->body;
		d->buffered -= cs->got;
	}
	cs->got = 0;
	msg->csid = csid;
	msg->ts = cs->ts;
	msg->type = cs->type;
	msg->stream_id = cs->stream_id;
	msg->len = cs->len;
	return 0;
}

int dechunk_set_chunk_size(struct dechunker *d, uint32_t size)
{
	if (size == 0 || size & 0x80000000u)
		return fail(d, EPROTO, "invalid chunk size");
	if (size > d->lim.max_chunk)
		return fail(d, EPROTO, "chunk size over the limit");
	d->chunk_size = size;
	return 0;
}

void dechunk_abort(struct dechunker *d, uint32_t csid)
{
	struct dechunk_cs *cs = find_cs(d, csid);
	if (!cs)
		return;
	d->buffered -= cs->got;
	cs->got = 0;
}

void chunker_init(struct chunker *c)
{
	memset(c, 0, sizeof(*c));
	c->chunk_size = RTMP_DEFAULT_CHUNK;
}

size_t chunker_bound(const struct chunker *c, uint32_t len)
{
	size_t nchunks = len / c->chunk_size + 1;
	return 16 + len + nchunks * 5;
}

static uint8_t *put_ts(uint8_t *p, uint32_t v)
{
	put_be24(p, v >= 0xffffff ? 0xffffff : v);
	return p + 3;
}

int chunker_write(struct chunker *c, struct buf *out, const struct rtmp_msg *msg)
{
	struct chunk_out_cs *s;
	uint8_t fmt, *p;
	uint32_t field, delta, left;
	const uint8_t *body = msg->body;
	int err;

	if (msg->csid < 2 || msg->csid >= CHUNK_MAX_CSID_OUT || msg->len > 0xffffff)
		return EINVAL;   /* the header has 24 bits for the length */
	if ((err = buf_reserve(out, chunker_bound(c, msg->len))))
		return err;
	s = &c->cs[msg->csid];
	delta = msg->ts - s->ts;
	if (!s->used || msg->stream_id != s->stream_id || (int32_t)delta < 0)
		fmt = 0;
	else if (msg->len != s->len || msg->type != s->type)
		fmt = 1;
	else if (s->last_fmt == 0 || delta != s->delta)
		fmt = 2;
	else
		fmt = 3;
	field = fmt == 0 ? msg->ts : delta;

	p = out->data + out->len;
	*p++ = (uint8_t)(fmt << 6 | msg->csid);
	if (fmt < 3) {
		p = put_ts(p, field);
		if (fmt < 2) {
			put_be24(p, msg->len);
			p[3] = msg->type;
			p += 4;
			if (fmt == 0) {
				put_le32(p, msg->stream_id);
				p += 4;
			}
		}
		s->ext = field >= 0xffffff;
	}
	if (s->ext) {
		put_be32(p, field);
		p += 4;
	}
	s->used = true;
	s->last_fmt = fmt;
	s->type = msg->type;
	s->ts = msg->ts;
	s->delta = fmt == 0 ? 0 : delta;
	s->len = msg->len;
	s->stream_id = msg->stream_id;

	left = msg->len;
	for (;;) {
		uint32_t n = left < c->chunk_size ? left : c->chunk_size;
		if (!n)
			break;   /* zero-length message: header only */
		memcpy(p, body, n);
		p += n;
		body += n;
		left -= n;
		if (!left)
			break;
		*p++ = (uint8_t)(3 << 6 | msg->csid);
		if (s->ext) {
			put_be32(p, field);
			p += 4;
		}
	}
	out->len = (size_t)(p - out->data);
	return 0;
}
