/* AMF3 decoding into librtmp's property tree, and AMF3 encoding (amf3.h).
 *
 * The decoder keeps the AMF3 reference tables (strings, traits, objects) in
 * one context per call, allocated with mem_*; the tree's o_props arrays come
 * from libc malloc, as AMFProp_Reset() frees them with free().  An object
 * table entry records where its value sits in the tree (the container's
 * entry and the index in it), not a pointer, because o_props arrays move as
 * they grow.  A reference deep-copies what the value holds at that moment:
 * in a cycle the referencing slot is still null, so the copy ends there. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include "amf3.h"
#include "mem.h"

enum {
	M_UNDEFINED, M_NULL, M_FALSE, M_TRUE, M_INTEGER, M_DOUBLE, M_STRING,
	M_XMLDOC, M_DATE, M_ARRAY, M_OBJECT, M_XML, M_BYTEARRAY, M_DICTIONARY = 0x11
};

#define INT29_MIN (-0x10000000)
#define INT29_MAX 0x0fffffff
/* Output properties per call: each decoded value takes at least one input
 * byte; the budget allows 3 more per byte for copies made by references. */
#define MAX_NODES (1u << 20)

struct trait {
	uint32_t first;    /* first sealed member name in ctx.names */
	uint32_t nsealed;
	bool dynamic;
};

struct objref {
	int32_t parent;    /* object table index of the container, -1: root */
	uint32_t idx;      /* index in the container's o_props */
};

struct table {
	void *v;
	size_t n, cap;
};

struct ctx {
	const uint8_t *p, *end;
	AMFObjectProperty *root;
	struct table strs, traits, names, objs;  /* AVal, trait, AVal, objref */
	size_t nodes, max_nodes;
};

static void *push(struct table *t, size_t size)
{
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 8;
		void *v = cap <= SIZE_MAX / size ? mem_realloc(t->v, cap * size) : NULL;

		if (!v)
			return NULL;
		t->v = v;
		t->cap = cap;
	}
	return (char *)t->v + t->n++ * size;
}

static size_t left(const struct ctx *c)
{
	return (size_t)(c->end - c->p);
}

static int rd_u29(struct ctx *c, uint32_t *v)
{
	uint32_t x = 0;

	for (int i = 0; i < 4; i++) {
		if (c->p == c->end)
			return -ENODATA;
		uint8_t b = *c->p++;
		x = i == 3 ? x << 8 | b : x << 7 | (b & 0x7f);
		if (!(b & 0x80))
			break;
	}
	*v = x;
	return 0;
}

static int rd_double(struct ctx *c, double *d)
{
	uint64_t x = 0;

	if (left(c) < 8)
		return -ENODATA;
	for (int i = 0; i < 8; i++)
		x = x << 8 | *c->p++;
	memcpy(d, &x, sizeof(*d));
	return 0;
}

static int rd_bytes(struct ctx *c, uint32_t n, AVal *s)
{
	if (n > left(c))
		return -ENODATA;
	/* AVal is not const-qualified; nothing writes through it. */
	s->av_val = n ? (char *)(uintptr_t)c->p : NULL;
	s->av_len = (int)n;
	c->p += n;
	return 0;
}

/* UTF-8-vr: a reference, or an inline string that enters the table unless
 * it is empty. */
static int rd_str(struct ctx *c, AVal *s)
{
	uint32_t h;
	AVal *slot;
	int err = rd_u29(c, &h);

	if (err)
		return err;
	if (!(h & 1)) {
		if (h >> 1 >= c->strs.n)
			return -EBADMSG;
		*s = ((const AVal *)c->strs.v)[h >> 1];
		return 0;
	}
	err = rd_bytes(c, h >> 1, s);
	if (err || !s->av_len)
		return err;
	slot = push(&c->strs, sizeof(*slot));
	if (!slot)
		return -ENOMEM;
	*slot = *s;
	return 0;
}

static int reserve(AMFObject *o, size_t *cap, size_t want)
{
	AMFObjectProperty *v;

	if (want <= *cap)
		return 0;
	v = realloc(o->o_props, want * sizeof(*v));
	if (!v)
		return -ENOMEM;
	o->o_props = v;
	*cap = want;
	return 0;
}

/* Walk down from the root to object table entry i. */
static const AMFObjectProperty *resolve(const struct ctx *c, uint32_t i)
{
	const struct objref *t = c->objs.v;
	const AMFObjectProperty *p = c->root;
	uint32_t path[AMF3_MAX_DEPTH + 1];
	int n = 0;

	for (int32_t j = (int32_t)i; t[j].parent >= 0; j = t[j].parent) {
		if (n > AMF3_MAX_DEPTH)
			return NULL;
		path[n++] = t[j].idx;
	}
	while (n--)
		p = &p->p_vu.p_object.o_props[path[n]];
	return p;
}

/* Deep-copy src's value (not its name) into dst, a property outside the
 * tree that stays freeable with AMFProp_Reset() on every path. */
static int copy(struct ctx *c, AMFObjectProperty *dst, const AMFObjectProperty *src, int depth)
{
	const AMFObject *so = &src->p_vu.p_object;
	AMFObject *o = &dst->p_vu.p_object;

	dst->p_type = src->p_type;
	dst->p_vu = src->p_vu;
	dst->p_UTCoffset = src->p_UTCoffset;
	if (src->p_type != AMF_OBJECT && src->p_type != AMF_ECMA_ARRAY &&
	    src->p_type != AMF_STRICT_ARRAY)
		return 0;
	o->o_num = 0;
	o->o_props = NULL;
	if (depth >= AMF3_MAX_DEPTH || (size_t)so->o_num > c->max_nodes - c->nodes)
		return -EBADMSG;
	if (!so->o_num)
		return 0;
	c->nodes += (size_t)so->o_num;
	o->o_props = malloc((size_t)so->o_num * sizeof(*o->o_props));
	if (!o->o_props)
		return -ENOMEM;
	for (int i = 0; i < so->o_num; i++) {
		AMFObjectProperty *d = &o->o_props[o->o_num++];
		int err;

		d->p_name = so->o_props[i].p_name;
		err = copy(c, d, &so->o_props[i], depth + 1);
		if (err)
			return err;
	}
	return 0;
}

static int copy_ref(struct ctx *c, AMFObjectProperty *p, uint32_t i, int depth)
{
	const AMFObjectProperty *src;
	AMFObjectProperty t;
	int err;

	if (i >= c->objs.n || !(src = resolve(c, i)))
		return -EBADMSG;
	memset(&t, 0, sizeof(t));
	err = copy(c, &t, src, depth);
	if (err) {
		AMFProp_Reset(&t);
		return err;
	}
	t.p_name = p->p_name;
	*p = t;
	return 0;
}

static int rd_value(struct ctx *c, AMFObjectProperty *p, struct objref at, int depth);

/* Append a member to o (object table entry self) and decode its value. */
static int member(struct ctx *c, AMFObject *o, size_t *cap, const AVal *name, int32_t self,
		  int depth)
{
	struct objref at = { self, (uint32_t)o->o_num };
	AMFObjectProperty *q;
	int err;

	if (c->nodes >= c->max_nodes)
		return -EBADMSG;
	err = reserve(o, cap, (size_t)o->o_num < *cap ? *cap : *cap * 2 + 4);
	if (err)
		return err;
	q = &o->o_props[o->o_num++];
	c->nodes++;
	memset(q, 0, sizeof(*q));
	q->p_name = *name;
	q->p_type = AMF_NULL;
	return rd_value(c, q, at, depth + 1);
}

/* Array body after the header; n is the size of the dense part. */
static int rd_array(struct ctx *c, AMFObjectProperty *p, int32_t self, uint32_t n, int depth)
{
	static const AVal none = { NULL, 0 };
	AMFObject *o = &p->p_vu.p_object;
	size_t cap = 0;
	AVal name;
	int err;

	for (;;) {
		err = rd_str(c, &name);
		if (err || !name.av_len)
			break;
		p->p_type = AMF_ECMA_ARRAY;  /* associative part first, named */
		err = member(c, o, &cap, &name, self, depth);
		if (err)
			return err;
	}
	if (!err && n > left(c))
		err = -ENODATA;  /* every value takes at least one byte */
	if (!err && n > c->max_nodes - c->nodes)
		err = -EBADMSG;
	if (!err)
		err = reserve(o, &cap, (size_t)o->o_num + n);
	while (!err && n--)
		err = member(c, o, &cap, &none, self, depth);
	return err;
}

/* Traits from an object header h (inline-object flag removed). */
static int rd_traits(struct ctx *c, uint32_t h, struct trait *t)
{
	struct trait *nt;
	AVal name, *slot;
	int err;

	if (!(h & 1)) {
		if (h >> 1 >= c->traits.n)
			return -EBADMSG;
		*t = ((const struct trait *)c->traits.v)[h >> 1];
		return 0;
	}
	if (h & 2)
		return -ENOTSUP;  /* externalizable: the class defines the bytes */
	t->dynamic = h & 4;
	t->nsealed = h >> 3;
	t->first = (uint32_t)c->names.n;
	err = rd_str(c, &name);  /* class name, not kept */
	if (err)
		return err;
	if (t->nsealed > left(c))
		return -ENODATA;
	for (uint32_t i = 0; i < t->nsealed; i++) {
		err = rd_str(c, &name);
		if (err)
			return err;
		slot = push(&c->names, sizeof(*slot));
		if (!slot)
			return -ENOMEM;
		*slot = name;
	}
	nt = push(&c->traits, sizeof(*nt));
	if (!nt)
		return -ENOMEM;
	*nt = *t;
	return 0;
}

static int rd_object(struct ctx *c, AMFObjectProperty *p, int32_t self, uint32_t h, int depth)
{
	AMFObject *o = &p->p_vu.p_object;
	struct trait t = { 0, 0, false };
	size_t cap = 0;
	AVal name;
	int err = rd_traits(c, h, &t);

	for (uint32_t i = 0; !err && i < t.nsealed; i++) {
		/* names may move as members add traits: index, don't point */
		name = ((const AVal *)c->names.v)[t.first + i];
		err = member(c, o, &cap, &name, self, depth);
	}
	while (!err && t.dynamic) {
		err = rd_str(c, &name);
		if (err || !name.av_len)
			break;
		err = member(c, o, &cap, &name, self, depth);
	}
	return err;
}

/* XMLDocument, date, array, object, XML, byte array: a reference, copied
 * into p, or a value that enters the object table. */
static int rd_complex(struct ctx *c, AMFObjectProperty *p, struct objref at, uint8_t m,
		      int depth)
{
	int32_t self = (int32_t)c->objs.n;
	struct objref *o;
	uint32_t h;
	int err = rd_u29(c, &h);

	if (err)
		return err;
	if (!(h & 1))
		return copy_ref(c, p, h >> 1, depth);
	o = push(&c->objs, sizeof(*o));
	if (!o)
		return -ENOMEM;
	*o = at;
	h >>= 1;
	if (m == M_DATE) {
		p->p_type = AMF_DATE;
		return rd_double(c, &p->p_vu.p_number);
	}
	if (m == M_XMLDOC || m == M_XML || m == M_BYTEARRAY) {
		p->p_type = m == M_BYTEARRAY ? AMF_UNSUPPORTED : AMF_XML_DOC;
		return rd_bytes(c, h, &p->p_vu.p_aval);
	}
	if (depth >= AMF3_MAX_DEPTH)
		return -EBADMSG;
	/* p is zeroed: an empty container */
	p->p_type = m == M_ARRAY ? AMF_STRICT_ARRAY : AMF_OBJECT;
	if (m == M_ARRAY)
		return rd_array(c, p, self, h, depth);
	return rd_object(c, p, self, h, depth);
}

static int rd_value(struct ctx *c, AMFObjectProperty *p, struct objref at, int depth)
{
	uint32_t u = 0;
	uint8_t m;
	int err;

	if (c->p == c->end)
		return -ENODATA;
	m = *c->p++;
	switch (m) {
	case M_UNDEFINED:
	case M_NULL:
		p->p_type = AMF_NULL;
		return 0;
	case M_FALSE:
	case M_TRUE:
		p->p_type = AMF_BOOLEAN;
		p->p_vu.p_number = m == M_TRUE;
		return 0;
	case M_INTEGER:  /* 29-bit two's complement */
		err = rd_u29(c, &u);
		p->p_type = AMF_NUMBER;
		p->p_vu.p_number = u > INT29_MAX ? (double)u - 0x20000000 : (double)u;
		return err;
	case M_DOUBLE:
		p->p_type = AMF_NUMBER;
		return rd_double(c, &p->p_vu.p_number);
	case M_STRING:
		p->p_type = AMF_STRING;
		return rd_str(c, &p->p_vu.p_aval);
	}
	if (m <= M_BYTEARRAY)
		return rd_complex(c, p, at, m, depth);
	return m <= M_DICTIONARY ? -ENOTSUP : -EBADMSG;  /* vectors, dictionary */
}

int amf3_decode(AMFObjectProperty *prop, const uint8_t *buf, size_t len)
{
	struct objref root = { -1, 0 };
	struct ctx c;
	int err;

	memset(prop, 0, sizeof(*prop));
	prop->p_type = AMF_INVALID;
	if (!buf || !len)
		return -ENODATA;
	len = len < INT_MAX ? len : INT_MAX;
	memset(&c, 0, sizeof(c));
	c.p = buf;
	c.end = buf + len;
	c.root = prop;
	c.max_nodes = len < (MAX_NODES - 64) / 4 ? len * 4 + 64 : MAX_NODES;
	prop->p_type = AMF_NULL;
	err = rd_value(&c, prop, root, 0);
	mem_deref(c.strs.v);
	mem_deref(c.traits.v);
	mem_deref(c.names.v);
	mem_deref(c.objs.v);
	if (!err)
		return (int)(c.p - buf);
	AMFProp_Reset(prop);
	memset(prop, 0, sizeof(*prop));
	prop->p_type = AMF_INVALID;
	return err;
}

/* Encoding: every writer passes NULL through, so calls can be chained. */
static uint8_t *wr_raw(uint8_t *p, uint8_t *end, const void *d, size_t n)
{
	if (!p || (size_t)(end - p) < n)
		return NULL;
	if (n)
		memcpy(p, d, n);
	return p + n;
}

static uint8_t *wr_u8(uint8_t *p, uint8_t *end, uint8_t v)
{
	return wr_raw(p, end, &v, 1);
}

/* v < 2^29: up to three bytes of 7 bits with a continuation flag, then a
 * fourth byte of 8 bits. */
static uint8_t *wr_u29(uint8_t *p, uint8_t *end, uint32_t v)
{
	int n = v < 0x80 ? 1 : v < 0x4000 ? 2 : v < 0x200000 ? 3 : 4;
	int k = n < 4 ? n : 3;
	uint32_t x = n < 4 ? v : v >> 8;
	uint8_t b[4];

	for (int i = 0; i < k; i++)
		b[i] = (x >> 7 * (k - 1 - i) & 0x7f) | (i < n - 1 ? 0x80 : 0);
	b[3] = v & 0xff;
	return wr_raw(p, end, b, (size_t)n);
}

static uint8_t *wr_double(uint8_t *p, uint8_t *end, double d)
{
	uint8_t b[8];
	uint64_t x;

	memcpy(&x, &d, sizeof(x));
	for (int i = 7; i >= 0; i--, x >>= 8)
		b[i] = x & 0xff;
	return wr_raw(p, end, b, sizeof(b));
}

/* Inline UTF-8-vr; also the body of XML and byte arrays. */
static uint8_t *wr_str(uint8_t *p, uint8_t *end, const AVal *s)
{
	if (s->av_len < 0 || s->av_len > INT29_MAX || (s->av_len && !s->av_val))
		return NULL;
	p = wr_u29(p, end, (uint32_t)s->av_len << 1 | 1);
	return wr_raw(p, end, s->av_val, (size_t)s->av_len);
}

/* Integers that fit 29 bits as integer (as Flash Player does), else double. */
static uint8_t *wr_number(uint8_t *p, uint8_t *end, double d)
{
	bool integral = d >= INT29_MIN && d <= INT29_MAX && d == (double)(int32_t)d;

	if (integral && !(d == 0 && signbit(d)))
		return wr_u29(wr_u8(p, end, M_INTEGER), end, (uint32_t)(int32_t)d & 0x1fffffff);
	return wr_double(wr_u8(p, end, M_DOUBLE), end, d);
}

static uint8_t *wr_value(uint8_t *p, uint8_t *end, const AMFObjectProperty *v, int depth);

/* Members of an object or array: the named ones as name and value (object
 * members, associative part of ECMA arrays), else the unnamed ones' values
 * (dense part; all members of strict arrays). */
static uint8_t *wr_members(uint8_t *p, uint8_t *end, const AMFObjectProperty *v, bool named,
			   int depth)
{
	const AMFObject *o = &v->p_vu.p_object;

	for (int i = 0; p && i < o->o_num; i++) {
		const AMFObjectProperty *m = &o->o_props[i];

		if (named != (v->p_type != AMF_STRICT_ARRAY && m->p_name.av_len > 0))
			continue;
		if (named)
			p = wr_str(p, end, &m->p_name);
		p = wr_value(p, end, m, depth + 1);
	}
	return p;
}

static uint8_t *wr_container(uint8_t *p, uint8_t *end, const AMFObjectProperty *v, int depth)
{
	const AMFObject *o = &v->p_vu.p_object;
	uint32_t dense = 0;

	if (depth >= AMF3_MAX_DEPTH || o->o_num < 0 || (o->o_num && !o->o_props))
		return NULL;
	for (int i = 0; i < o->o_num; i++)
		dense += v->p_type == AMF_STRICT_ARRAY || o->o_props[i].p_name.av_len <= 0;
	if (v->p_type == AMF_OBJECT) {
		if (dense)
			return NULL;  /* the empty name ends the dynamic members */
		/* inline traits: dynamic, no sealed members, anonymous */
		p = wr_members(wr_raw(p, end, "\x0a\x0b\x01", 3), end, v, true, depth);
		return wr_u8(p, end, 0x01);
	}
	if (dense > INT29_MAX)
		return NULL;
	p = wr_u29(wr_u8(p, end, M_ARRAY), end, dense << 1 | 1);
	p = wr_u8(wr_members(p, end, v, true, depth), end, 0x01);
	return wr_members(p, end, v, false, depth);
}

static uint8_t *wr_value(uint8_t *p, uint8_t *end, const AMFObjectProperty *v, int depth)
{
	const AVal *s = &v->p_vu.p_aval;

	switch (v->p_type) {
	case AMF_NUMBER: return wr_number(p, end, v->p_vu.p_number);
	case AMF_BOOLEAN: return wr_u8(p, end, v->p_vu.p_number != 0 ? M_TRUE : M_FALSE);
	case AMF_STRING: case AMF_LONG_STRING: return wr_str(wr_u8(p, end, M_STRING), end, s);
	case AMF_NULL: return wr_u8(p, end, M_NULL);
	case AMF_UNDEFINED: return wr_u8(p, end, M_UNDEFINED);
	case AMF_XML_DOC: return wr_str(wr_u8(p, end, M_XMLDOC), end, s);
	case AMF_UNSUPPORTED: return wr_str(wr_u8(p, end, M_BYTEARRAY), end, s);
	case AMF_DATE: return wr_double(wr_raw(p, end, "\x08\x01", 2), end, v->p_vu.p_number);
	case AMF_OBJECT: case AMF_ECMA_ARRAY: case AMF_STRICT_ARRAY:
		return wr_container(p, end, v, depth);
	default: return NULL;
	}
}

uint8_t *amf3_encode(uint8_t *p, uint8_t *end, const AMFObjectProperty *prop)
{
	if (!p || !end || p > end || !prop)
		return NULL;
	return wr_value(p, end, prop, 0);
}
