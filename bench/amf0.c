/* Minimal AMF0 writer and reader (see amf0.h). */
#include <errno.h>
#include <string.h>
#include "amf0.h"

#define MAX_DEPTH 16

int amf0_w_num(struct buf *b, double v)
{
	uint8_t x[9];
	uint64_t u;

	memcpy(&u, &v, 8);
	x[0] = AMF0_NUMBER;
	put_be32(x + 1, (uint32_t)(u >> 32));
	put_be32(x + 5, (uint32_t)u);
	return buf_append(b, x, 9);
}

int amf0_w_bool(struct buf *b, bool v)
{
	uint8_t x[2] = {AMF0_BOOL, v};
	return buf_append(b, x, 2);
}

static int put_utf8(struct buf *b, const char *s)
{
	size_t n = strlen(s);
	uint8_t x[2];

	if (n > 0xffff)
		return EINVAL;
	put_be16(x, (uint32_t)n);
	return buf_append(b, x, 2) || buf_append(b, s, n) ? ENOMEM : 0;
}

int amf0_w_str(struct buf *b, const char *s)
{
	uint8_t m = AMF0_STRING;
	return buf_append(b, &m, 1) || put_utf8(b, s) ? ENOMEM : 0;
}

int amf0_w_null(struct buf *b)
{
	uint8_t m = AMF0_NULL;
	return buf_append(b, &m, 1);
}

int amf0_w_obj_start(struct buf *b)
{
	uint8_t m = AMF0_OBJECT;
	return buf_append(b, &m, 1);
}

int amf0_w_key(struct buf *b, const char *key)
{
	return put_utf8(b, key);
}

int amf0_w_obj_end(struct buf *b)
{
	static const uint8_t end[3] = {0, 0, AMF0_OBJ_END};
	return buf_append(b, end, 3);
}

static bool have(const struct amf0_r *r, size_t n)
{
	return (size_t)(r->end - r->p) >= n;
}

static int skip_value(struct amf0_r *r, int depth);

/* Properties up to the 00 00 09 end marker. */
static int skip_props(struct amf0_r *r, int depth)
{
	for (;;) {
		size_t n;
		int err;

		if (!have(r, 2))
			return EBADMSG;
		n = be16(r->p);
		r->p += 2;
		if (!have(r, n + 1))
			return EBADMSG;
		r->p += n;
		if (!n && *r->p == AMF0_OBJ_END) {
			r->p++;
			return 0;
		}
		if ((err = skip_value(r, depth + 1)))
			return err;
	}
}

static int skip_value(struct amf0_r *r, int depth)
{
	uint8_t m;
	uint32_t n;

	if (depth > MAX_DEPTH || !have(r, 1))
		return EBADMSG;
	m = *r->p++;
	switch (m) {
	case AMF0_NUMBER:
		n = 8;
		break;
	case AMF0_BOOL:
		n = 1;
		break;
	case AMF0_STRING:
		if (!have(r, 2))
			return EBADMSG;
		n = 2 + be16(r->p);
		break;
	case AMF0_LSTRING:
		if (!have(r, 4))
			return EBADMSG;
		n = be32(r->p);
		if (n > UINT32_MAX - 4)
			return EBADMSG;
		n += 4;
		break;
	case AMF0_DATE:
		n = 10;
		break;
	case AMF0_NULL: case AMF0_UNDEFINED:
		return 0;
	case AMF0_ECMA:
		if (!have(r, 4))
			return EBADMSG;
		r->p += 4;
		/* fall through */
	case AMF0_OBJECT:
		return skip_props(r, depth);
	case AMF0_STRICT:
		if (!have(r, 4))
			return EBADMSG;
		n = be32(r->p);
		r->p += 4;
		for (uint32_t i = 0; i < n; i++) {
			int err = skip_value(r, depth + 1);
			if (err)
				return err;
		}
		return 0;
	default:
		return ENOTSUP;
	}
	if (!have(r, n))
		return EBADMSG;
	r->p += n;
	return 0;
}

int amf0_skip(struct amf0_r *r)
{
	return skip_value(r, 0);
}

int amf0_r_str(struct amf0_r *r, char *dst, size_t size)
{
	size_t n;

	if (!have(r, 3) || r->p[0] != AMF0_STRING)
		return EBADMSG;
	n = be16(r->p + 1);
	if (!have(r, 3 + n))
		return EBADMSG;
	if (size) {
		size_t k = n < size - 1 ? n : size - 1;
		memcpy(dst, r->p + 3, k);
		dst[k] = '\0';
	}
	r->p += 3 + n;
	return 0;
}

int amf0_r_num(struct amf0_r *r, double *v)
{
	uint64_t u;

	if (!have(r, 9) || r->p[0] != AMF0_NUMBER)
		return EBADMSG;
	u = (uint64_t)be32(r->p + 1) << 32 | be32(r->p + 5);
	memcpy(v, &u, 8);
	r->p += 9;
	return 0;
}

int amf0_r_prop_str(struct amf0_r *r, const char *key, char *dst, size_t size)
{
	size_t klen = strlen(key);

	if (size)
		dst[0] = '\0';
	if (!have(r, 1) || (r->p[0] != AMF0_OBJECT && r->p[0] != AMF0_ECMA))
		return EBADMSG;
	if (r->p[0] == AMF0_ECMA && !have(r, 5))
		return EBADMSG;
	r->p += r->p[0] == AMF0_ECMA ? 5 : 1;
	for (;;) {
		size_t n;
		int err;

		if (!have(r, 3))
			return EBADMSG;
		n = be16(r->p);
		if (!n && r->p[2] == AMF0_OBJ_END) {
			r->p += 3;
			return 0;
		}
		if (!have(r, 2 + n))
			return EBADMSG;
		r->p += 2;
		if (n == klen && !memcmp(r->p, key, n)) {
			r->p += n;
			if (have(r, 1) && r->p[0] == AMF0_STRING) {
				if ((err = amf0_r_str(r, dst, size)))
					return err;
				continue;
			}
		} else {
			r->p += n;
		}
		if ((err = skip_value(r, 1)))
			return err;
	}
}
