/* Tests for gateway/amf3.c over test-vectors/amf3 (origins in its README.md,
 * made by scripts/gen-amf-vectors.py).  Decoded trees are freed by the
 * helpers that decode them, so a failing check never leaks. */
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include "amf3.h"
#include "mem.h"
#include "test.h"

typedef int (check_h)(const AMFObjectProperty *p, const uint8_t *d, size_t n);

static const AMFObjectProperty invalid = { .p_type = AMF_INVALID };

static bool is_container(const AMFObjectProperty *p)
{
	return p->p_type == AMF_OBJECT || p->p_type == AMF_ECMA_ARRAY ||
	       p->p_type == AMF_STRICT_ARRAY;
}

static int count(const AMFObjectProperty *p)
{
	return is_container(p) ? p->p_vu.p_object.o_num : -1;
}

static const AMFObjectProperty *kid(const AMFObjectProperty *p, int i)
{
	if (!is_container(p) || i < 0 || i >= p->p_vu.p_object.o_num)
		return &invalid;
	return &p->p_vu.p_object.o_props[i];
}

static bool aval_is(const AVal *a, const char *s)
{
	size_t n = strlen(s);
	return a->av_len >= 0 && (size_t)a->av_len == n && (!n || !memcmp(a->av_val, s, n));
}

static const AMFObjectProperty *get(const AMFObjectProperty *p, const char *name)
{
	for (int i = 0; i < count(p); i++)
		if (aval_is(&kid(p, i)->p_name, name))
			return kid(p, i);
	return &invalid;
}

static bool str_is(const AMFObjectProperty *p, const char *s)
{
	return p->p_type == AMF_STRING && aval_is(&p->p_vu.p_aval, s);
}

static bool num_is(const AMFObjectProperty *p, double v)
{
	return p->p_type == AMF_NUMBER && p->p_vu.p_number == v;
}

static bool aval_eq(const AVal *a, const AVal *b)
{
	return a->av_len == b->av_len && (a->av_len <= 0 || !memcmp(a->av_val, b->av_val,
								    (size_t)a->av_len));
}

/* Same names, types and values, recursively. */
static bool same(const AMFObjectProperty *a, const AMFObjectProperty *b)
{
	if (a->p_type != b->p_type || !aval_eq(&a->p_name, &b->p_name))
		return false;
	switch (a->p_type) {
	case AMF_NUMBER: case AMF_BOOLEAN: case AMF_DATE:
		return a->p_vu.p_number == b->p_vu.p_number ||
		       (isnan(a->p_vu.p_number) && isnan(b->p_vu.p_number));
	case AMF_STRING: case AMF_XML_DOC: case AMF_UNSUPPORTED:
		return aval_eq(&a->p_vu.p_aval, &b->p_vu.p_aval);
	case AMF_OBJECT: case AMF_ECMA_ARRAY: case AMF_STRICT_ARRAY:
		if (count(a) != count(b))
			return false;
		for (int i = 0; i < count(a); i++)
			if (!same(kid(a, i), kid(b, i)))
				return false;
		return true;
	default:
		return true;
	}
}

/* Decode all of vector rel, run check on the tree, free everything. */
static int decode_check(const char *rel, check_h *check)
{
	AMFObjectProperty p;
	uint8_t *d;
	size_t n;
	int r, err = test_load_vector(rel, &d, &n);

	if (err)
		return err;
	r = amf3_decode(&p, d, n);
	if (r < 0) {
		err = -r;
		test_fail(__FILE__, __LINE__, rel);
	} else if ((size_t)r != n) {
		err = EBADMSG;
		test_fail(__FILE__, __LINE__, "did not consume the whole vector");
	} else {
		err = check(&p, d, n);
	}
	AMFProp_Reset(&p);
	mem_deref(d);
	return err;
}

/* Decoding vector rel must fail with -want and leave the property empty. */
static int expect_err(const char *rel, int want)
{
	AMFObjectProperty p;
	uint8_t *d;
	size_t n;
	int r, err = test_load_vector(rel, &d, &n);

	if (err)
		return err;
	r = amf3_decode(&p, d, n);
	if (r == -ENOMEM) {
		err = ENOMEM;
	} else if (r != -want || p.p_type != AMF_INVALID) {
		char m[120];
		snprintf(m, sizeof(m), "%s: got %d, want %d", rel, r, -want);
		test_fail(__FILE__, __LINE__, m);
		err = EBADMSG;
	}
	if (r >= 0)
		AMFProp_Reset(&p);
	mem_deref(d);
	return err;
}

/* Encode p into an exact-size block and compare with want; every shorter
 * buffer must be refused without writing past it (ASan watches). */
static int encode_eq(const AMFObjectProperty *p, const uint8_t *want, size_t n)
{
	int err = 0;

	for (size_t size = 0; size <= n && !err; size++) {
		uint8_t *b = mem_alloc(size ? size : 1, NULL), *e;

		if (!b)
			return ENOMEM;
		e = amf3_encode(b, b + size, p);
		if (size < n && e)
			err = EBADMSG;
		if (size == n && (!e || e != b + n || memcmp(b, want, n)))
			err = EBADMSG;
		mem_deref(b);
	}
	if (err)
		test_fail(__FILE__, __LINE__, "encoding differs");
	return err;
}

/* Spec section 1.3.1: the U29 range boundaries, and the 29-bit signed
 * integer extremes, decoded and encoded. */
int test_amf3_u29(void)
{
	static const struct {
		double v;
		const char *enc;
		size_t len;
	} t[] = {
		{ 0, "\x04\x00", 2 }, { 0x7f, "\x04\x7f", 2 }, { 0x80, "\x04\x81\x00", 3 },
		{ 0x3fff, "\x04\xff\x7f", 3 }, { 0x4000, "\x04\x81\x80\x00", 4 },
		{ 0x1fffff, "\x04\xff\xff\x7f", 4 }, { 0x200000, "\x04\x80\xc0\x80\x00", 5 },
		{ 0x0fffffff, "\x04\xbf\xff\xff\xff", 5 }, { -1, "\x04\xff\xff\xff\xff", 5 },
		{ -0x10000000, "\x04\xc0\x80\x80\x00", 5 },
	};
	AMFObjectProperty p;
	uint8_t *d;
	size_t n, pos = 0;
	int r, err = test_load_vector("amf3/u29-int.bin", &d, &n);

	if (err)
		return err;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]) && !err; i++) {
		r = amf3_decode(&p, d + pos, n - pos);
		if (r != (int)t[i].len || !num_is(&p, t[i].v) ||
		    memcmp(d + pos, t[i].enc, t[i].len))
			err = r == -ENOMEM ? ENOMEM : EBADMSG;
		else
			err = encode_eq(&p, d + pos, t[i].len);
		if (err)
			test_fail(__FILE__, __LINE__, "U29 value");
		pos += t[i].len;
	}
	if (!err && pos != n)
		err = EBADMSG;
	mem_deref(d);
	return err;
}

/* Numbers outside the 29-bit range, fractions and -0 are doubles. */
int test_amf3_double(void)
{
	static const double v[] = { 268435456.0, -268435457.0, 1.5, -0.0, 1e300 };
	AMFObjectProperty p;
	uint8_t *d;
	size_t n;
	int r, err = test_load_vector("amf3/double.bin", &d, &n);

	if (err)
		return err;
	if (n != 9 * sizeof(v) / sizeof(v[0]))
		err = EBADMSG;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]) && !err; i++) {
		r = amf3_decode(&p, d + 9 * i, 9);
		if (r != 9 || !num_is(&p, v[i]) || signbit(p.p_vu.p_number) != signbit(v[i]))
			err = EBADMSG;
		else
			err = encode_eq(&p, d + 9 * i, 9);
	}
	mem_deref(d);
	return err;
}

static int check_strings(const AMFObjectProperty *p, const uint8_t *d, size_t n)
{
	TEST_EQ(p->p_type, AMF_STRICT_ARRAY);
	TEST_EQ(count(p), 6);
	TEST_ASSERT(str_is(kid(p, 0), "hello") && str_is(kid(p, 2), "hello"));
	/* a reference yields the first occurrence's bytes */
	TEST_ASSERT(kid(p, 0)->p_vu.p_aval.av_val == kid(p, 2)->p_vu.p_aval.av_val);
	TEST_ASSERT(str_is(kid(p, 1), "") && str_is(kid(p, 5), ""));
	/* "" took no table slot, so reference 1 is "world" */
	TEST_ASSERT(str_is(kid(p, 3), "world") && str_is(kid(p, 4), "world"));
	return 0;
}

int test_amf3_strings(void)
{
	return decode_check("amf3/strings.bin", check_strings);
}

static int check_object(const AMFObjectProperty *p, const uint8_t *d, size_t n)
{
	TEST_EQ(p->p_type, AMF_OBJECT);
	TEST_EQ(count(p), 3);
	TEST_ASSERT(aval_is(&kid(p, 0)->p_name, "x") && num_is(kid(p, 0), 1));
	TEST_ASSERT(aval_is(&kid(p, 1)->p_name, "y") && num_is(kid(p, 1), 2));
	TEST_ASSERT(aval_is(&kid(p, 2)->p_name, "z") && str_is(kid(p, 2), "x"));
	return 0;
}

int test_amf3_object(void)
{
	return decode_check("amf3/object-sealed-dynamic.bin", check_object);
}

static int check_traits(const AMFObjectProperty *p, const uint8_t *d, size_t n)
{
	static const double xy[3][2] = { { 1, 2 }, { 3, 4 }, { 1, 2 } };

	TEST_EQ(count(p), 3);
	for (int i = 0; i < 3; i++) {
		TEST_EQ(kid(p, i)->p_type, AMF_OBJECT);
		TEST_EQ(count(kid(p, i)), 2);
		TEST_ASSERT(num_is(get(kid(p, i), "x"), xy[i][0]));
		TEST_ASSERT(num_is(get(kid(p, i), "y"), xy[i][1]));
	}
	/* the object reference is a deep copy */
	TEST_ASSERT(kid(p, 2)->p_vu.p_object.o_props != kid(p, 0)->p_vu.p_object.o_props);
	return 0;
}

int test_amf3_traits(void)
{
	return decode_check("amf3/traits-ref.bin", check_traits);
}

static int check_array(const AMFObjectProperty *p, const uint8_t *d, size_t n)
{
	TEST_EQ(p->p_type, AMF_ECMA_ARRAY);
	TEST_EQ(count(p), 5);
	TEST_ASSERT(aval_is(&kid(p, 0)->p_name, "a") && num_is(kid(p, 0), 1));
	TEST_ASSERT(aval_is(&kid(p, 1)->p_name, "b") && str_is(kid(p, 1), "x"));
	TEST_ASSERT(kid(p, 2)->p_type == AMF_BOOLEAN && kid(p, 2)->p_vu.p_number == 1);
	TEST_EQ(kid(p, 3)->p_type, AMF_NULL);
	TEST_ASSERT(num_is(kid(p, 4), 2.5));
	for (int i = 2; i < 5; i++)
		TEST_EQ(kid(p, i)->p_name.av_len, 0);
	return 0;
}

int test_amf3_array(void)
{
	return decode_check("amf3/array-mixed.bin", check_array);
}

static int check_date(const AMFObjectProperty *p, const uint8_t *d, size_t n)
{
	TEST_EQ(count(p), 2);
	for (int i = 0; i < 2; i++) {
		TEST_EQ(kid(p, i)->p_type, AMF_DATE);
		TEST_ASSERT(kid(p, i)->p_vu.p_number == 1234567890123.0);
		TEST_EQ(kid(p, i)->p_UTCoffset, 0);
	}
	return encode_eq(kid(p, 0), d + 3, 10);
}

int test_amf3_date(void)
{
	return decode_check("amf3/date.bin", check_date);
}

static int check_xml_bytes(const AMFObjectProperty *p, const uint8_t *d, size_t n)
{
	TEST_EQ(count(p), 6);
	TEST_ASSERT(kid(p, 0)->p_type == AMF_XML_DOC && aval_is(&kid(p, 0)->p_vu.p_aval, "<a/>"));
	TEST_ASSERT(kid(p, 1)->p_type == AMF_XML_DOC && aval_is(&kid(p, 1)->p_vu.p_aval, "<b/>"));
	for (int i = 2; i < 4; i++) {
		TEST_EQ(kid(p, i)->p_type, AMF_UNSUPPORTED);
		TEST_MEMEQ(kid(p, i)->p_vu.p_aval.av_val, (size_t)kid(p, i)->p_vu.p_aval.av_len,
			   "\x01\x02\x03", 3);
	}
	TEST_ASSERT(str_is(kid(p, 4), "<a/>") && str_is(kid(p, 5), "<a/>"));
	return 0;
}

int test_amf3_xml_bytes(void)
{
	return decode_check("amf3/xml-bytes.bin", check_xml_bytes);
}

static int check_cyclic(const AMFObjectProperty *p, const uint8_t *d, size_t n)
{
	const AMFObjectProperty *s = get(p, "self");

	/* the copy holds what the object held then: self still null */
	TEST_EQ(count(p), 1);
	TEST_EQ(s->p_type, AMF_OBJECT);
	TEST_EQ(count(s), 1);
	TEST_EQ(get(s, "self")->p_type, AMF_NULL);
	return 0;
}

int test_amf3_cyclic(void)
{
	return decode_check("amf3/cyclic.bin", check_cyclic);
}

static int check_complex(const AMFObjectProperty *p, const uint8_t *d, size_t n)
{
	const AMFObjectProperty *body = get(p, "body"), *again = get(p, "again");
	const AMFObjectProperty *self = get(p, "self");

	TEST_EQ(p->p_type, AMF_OBJECT);
	TEST_EQ(count(p), 11);
	TEST_ASSERT(num_is(get(p, "id"), 300));
	TEST_EQ(body->p_type, AMF_ECMA_ARRAY);
	TEST_EQ(count(body), 6);
	TEST_ASSERT(str_is(get(body, "k"), "v") && num_is(kid(body, 1), 1.5));
	TEST_ASSERT(str_is(kid(body, 2), "Msg"));
	TEST_ASSERT(kid(body, 3)->p_type == AMF_BOOLEAN && !kid(body, 3)->p_vu.p_number);
	TEST_ASSERT(kid(body, 4)->p_type == AMF_NULL && kid(body, 5)->p_type == AMF_NULL);
	TEST_ASSERT(get(p, "when")->p_type == AMF_DATE && get(p, "when")->p_vu.p_number == 1e12);
	TEST_EQ(get(p, "when2")->p_type, AMF_DATE);
	TEST_ASSERT(get(p, "when2")->p_vu.p_number == 1e12);
	TEST_EQ(get(p, "blob")->p_vu.p_aval.av_len, 4);
	TEST_ASSERT(aval_is(&get(p, "doc")->p_vu.p_aval, "<x/>"));
	/* trait reference: sealed id and body, then dynamic x */
	TEST_EQ(count(again), 3);
	TEST_ASSERT(num_is(get(again, "id"), -5) && str_is(get(again, "x"), "k"));
	TEST_ASSERT(same(get(again, "body"), body));
	/* reference to the root while it is being decoded */
	TEST_EQ(count(self), 7);
	TEST_EQ(get(self, "self")->p_type, AMF_NULL);
	TEST_ASSERT(same(get(self, "again"), again));
	TEST_ASSERT(num_is(get(p, "big"), 0x0fffffff));
	TEST_ASSERT(str_is(get(p, "str"), "v") && str_is(get(p, "e"), ""));
	return 0;
}

int test_amf3_complex(void)
{
	return decode_check("amf3/complex.bin", check_complex);
}

static int check_flex(const AMFObjectProperty *p, const uint8_t *d, size_t n)
{
	const AMFObjectProperty *h = get(p, "headers");

	TEST_EQ(count(p), 9);
	TEST_ASSERT(str_is(get(p, "operation"), "statisticAllTask"));
	TEST_EQ(get(p, "source")->p_type, AMF_NULL);
	TEST_ASSERT(get(p, "body")->p_type == AMF_STRICT_ARRAY && !count(get(p, "body")));
	TEST_ASSERT(str_is(get(p, "messageId"), "595D8F82-7AD2-CE38-EBA6-A1BBF524E1C0"));
	TEST_ASSERT(num_is(get(p, "timestamp"), 0) && num_is(get(p, "timeToLive"), 0));
	TEST_ASSERT(str_is(get(p, "destination"), "taskManager"));
	TEST_EQ(count(h), 3);
	TEST_ASSERT(str_is(get(h, "DSEndpoint"), "my-graniteamf"));
	TEST_ASSERT(num_is(get(h, "DSRequestTimeout"), 86400));
	TEST_ASSERT(str_is(get(h, "DSId"), "99853A75-B61C-4A43-A16C-DFB5E64B7FEA"));
	return 0;
}

int test_amf3_flex(void)
{
	return decode_check("amf3/flex-remoting.bin", check_flex);
}

static const char *const valid[] = {
	"amf3/strings.bin", "amf3/object-sealed-dynamic.bin", "amf3/traits-ref.bin",
	"amf3/array-mixed.bin", "amf3/date.bin", "amf3/xml-bytes.bin", "amf3/cyclic.bin",
	"amf3/complex.bin", "amf3/flex-remoting.bin", "amf3/encode-tree.bin",
	"amf3/deep-32.bin",
};

/* Every proper prefix, in a block of exactly that size. */
static int truncate_all(const uint8_t *d, size_t n)
{
	for (size_t k = 0; k < n; k++) {
		uint8_t *b = k ? mem_alloc(k, NULL) : NULL;
		AMFObjectProperty p;
		int r;

		if (k && !b)
			return ENOMEM;
		if (k)
			memcpy(b, d, k);
		r = amf3_decode(&p, b, k);
		mem_deref(b);
		if (r == -ENOMEM)
			return ENOMEM;
		if ((r != -ENODATA && r != -EBADMSG) || p.p_type != AMF_INVALID ||
		    p.p_vu.p_object.o_props) {
			char m[80];
			snprintf(m, sizeof(m), "prefix %zu of %zu: %d", k, n, r);
			test_fail(__FILE__, __LINE__, m);
			if (r >= 0)
				AMFProp_Reset(&p);
			return EBADMSG;
		}
	}
	return 0;
}

int test_amf3_truncated(void)
{
	int err = 0;

	for (size_t i = 0; i < sizeof(valid) / sizeof(valid[0]) && !err; i++) {
		uint8_t *d;
		size_t n;

		err = test_load_vector(valid[i], &d, &n);
		if (err)
			return err;
		err = truncate_all(d, n);
		mem_deref(d);
	}
	return err;
}

int test_amf3_malformed(void)
{
	static const struct {
		const char *rel;
		int err;
	} t[] = {
		{ "amf3/bad-string-ref.bin", EBADMSG }, { "amf3/bad-object-ref.bin", EBADMSG },
		{ "amf3/bad-trait-ref.bin", EBADMSG }, { "amf3/bad-marker.bin", EBADMSG },
		{ "amf3/unsupported-vector.bin", ENOTSUP },
		{ "amf3/unsupported-dictionary.bin", ENOTSUP },
		{ "amf3/externalizable.bin", ENOTSUP }, { "amf3/ref-bomb.bin", EBADMSG },
		{ "amf3/huge-array.bin", ENODATA }, { "amf3/huge-string.bin", ENODATA },
		{ "amf3/huge-bytes.bin", ENODATA }, { "amf3/huge-sealed.bin", ENODATA },
	};
	AMFObjectProperty p;
	int err = 0;

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]) && !err; i++)
		err = expect_err(t[i].rel, t[i].err);
	if (!err && (amf3_decode(&p, NULL, 0) != -ENODATA || p.p_type != AMF_INVALID))
		err = EBADMSG;
	return err;
}

static int check_deep(const AMFObjectProperty *p, const uint8_t *d, size_t n)
{
	int levels = 0;

	for (; p->p_type == AMF_STRICT_ARRAY; p = kid(p, 0))
		levels++;
	TEST_EQ(levels, AMF3_MAX_DEPTH);
	return 0;
}

/* The encoder refuses what the decoder would refuse. */
static int encode_too_deep(void)
{
	AMFObjectProperty a[AMF3_MAX_DEPTH + 1];
	uint8_t b[256];

	memset(a, 0, sizeof(a));
	for (int i = 0; i <= AMF3_MAX_DEPTH; i++) {
		a[i].p_type = AMF_STRICT_ARRAY;
		a[i].p_vu.p_object.o_num = i < AMF3_MAX_DEPTH;
		a[i].p_vu.p_object.o_props = i < AMF3_MAX_DEPTH ? &a[i + 1] : NULL;
	}
	TEST_ASSERT(amf3_encode(b, b + sizeof(b), &a[0]) == NULL);
	TEST_ASSERT(amf3_encode(b, b + sizeof(b), &a[1]) == b + 3 * AMF3_MAX_DEPTH);
	return 0;
}

int test_amf3_depth(void)
{
	int err = decode_check("amf3/deep-32.bin", check_deep);

	if (!err)
		err = expect_err("amf3/deep-33.bin", EBADMSG);
	if (!err)
		err = expect_err("amf3/deep-copy.bin", EBADMSG);
	return err ? err : encode_too_deep();
}

/* decode, encode, decode: the same tree. */
static int roundtrip(const AMFObjectProperty *p, const uint8_t *d, size_t n)
{
	static uint8_t b[4096];
	AMFObjectProperty q;
	uint8_t *e = amf3_encode(b, b + sizeof(b), p);
	int r, err = 0;

	TEST_ASSERT(e);
	r = amf3_decode(&q, b, (size_t)(e - b));
	if (r < 0)
		return -r;
	if (r != e - b || !same(p, &q))
		err = EBADMSG;
	AMFProp_Reset(&q);
	return err;
}

/* Also the same bytes, for vectors without references, sealed members or
 * undefined (the encoder writes strings inline and objects anonymous). */
static int roundtrip_exact(const AMFObjectProperty *p, const uint8_t *d, size_t n)
{
	int err = roundtrip(p, d, n);

	return err ? err : encode_eq(p, d, n);
}

int test_amf3_roundtrip(void)
{
	int err = 0;

	for (size_t i = 0; i < sizeof(valid) / sizeof(valid[0]) && !err; i++)
		err = decode_check(valid[i], roundtrip);
	if (!err)
		err = decode_check("amf3/array-mixed.bin", roundtrip_exact);
	if (!err)
		err = decode_check("amf3/deep-32.bin", roundtrip_exact);
	return err;
}

static AMFObjectProperty mk(const char *name, AMFDataType t, double v, const char *s, int len)
{
	AMFObjectProperty p;

	memset(&p, 0, sizeof(p));
	p.p_name.av_val = (char *)(uintptr_t)name;
	p.p_name.av_len = name ? (int)strlen(name) : 0;
	p.p_type = t;
	if (s) {
		p.p_vu.p_aval.av_val = (char *)(uintptr_t)s;
		p.p_vu.p_aval.av_len = len < 0 ? (int)strlen(s) : len;
	} else {
		p.p_vu.p_number = v;
	}
	return p;
}

static AMFObjectProperty mkobj(const char *name, AMFDataType t, AMFObjectProperty *m, int n)
{
	AMFObjectProperty p = mk(name, t, 0, NULL, 0);

	p.p_vu.p_object.o_num = n;
	p.p_vu.p_object.o_props = m;
	return p;
}

static int check_encoded(const AMFObjectProperty *p, const uint8_t *d, size_t n);

int test_amf3_encode(void)
{
	return decode_check("amf3/encode-tree.bin", check_encoded);
}

/* The tree scripts/gen-amf-vectors.py encodes as encode-tree.bin. */
static int check_encoded(const AMFObjectProperty *p, const uint8_t *d, size_t n)
{
	AMFObjectProperty list[3], map[2], top[15], root, bad;
	uint8_t b[16];

	list[0] = mk(NULL, AMF_NUMBER, 1, NULL, 0);
	list[1] = mk(NULL, AMF_STRING, 0, "two", -1);
	list[2] = mk(NULL, AMF_NULL, 0, NULL, 0);
	map[0] = mk(NULL, AMF_NUMBER, 7, NULL, 0);  /* dense, though listed first */
	map[1] = mk("k", AMF_STRING, 0, "v", -1);
	top[0] = mk("name", AMF_STRING, 0, "alice", -1);
	top[1] = mk("n", AMF_NUMBER, 42, NULL, 0);
	top[2] = mk("big", AMF_NUMBER, 268435456.0, NULL, 0);
	top[3] = mk("neg", AMF_NUMBER, -300, NULL, 0);
	top[4] = mk("pi", AMF_NUMBER, 3.5, NULL, 0);
	top[5] = mk("ok", AMF_BOOLEAN, 1, NULL, 0);
	top[6] = mk("no", AMF_BOOLEAN, 0, NULL, 0);
	top[7] = mk("nil", AMF_NULL, 0, NULL, 0);
	top[8] = mk("undef", AMF_UNDEFINED, 0, NULL, 0);
	top[9] = mk("when", AMF_DATE, 1.5e12, NULL, 0);
	top[10] = mk("xml", AMF_XML_DOC, 0, "<r/>", -1);
	top[11] = mk("raw", AMF_UNSUPPORTED, 0, "\x00\xff", 2);
	top[12] = mkobj("list", AMF_STRICT_ARRAY, list, 3);
	top[13] = mkobj("map", AMF_ECMA_ARRAY, map, 2);
	top[14] = mk("empty", AMF_STRING, 0, NULL, 0);
	root = mkobj(NULL, AMF_OBJECT, top, 15);
	if (encode_eq(&root, d, n))
		return EBADMSG;
	/* decoded back: undefined is null, the ECMA array's named part first */
	top[8].p_type = AMF_NULL;
	map[0] = mk("k", AMF_STRING, 0, "v", -1);
	map[1] = mk(NULL, AMF_NUMBER, 7, NULL, 0);
	TEST_ASSERT(same(p, &root));
	/* what AMF3 cannot carry */
	bad = mk(NULL, AMF_TYPED_OBJECT, 0, NULL, 0);
	TEST_ASSERT(!amf3_encode(b, b + sizeof(b), &bad));
	bad.p_type = AMF_REFERENCE;
	TEST_ASSERT(!amf3_encode(b, b + sizeof(b), &bad));
	list[0] = mk(NULL, AMF_NUMBER, 1, NULL, 0);
	bad = mkobj(NULL, AMF_OBJECT, list, 1);  /* unnamed object member */
	TEST_ASSERT(!amf3_encode(b, b + sizeof(b), &bad));
	bad = mk(NULL, AMF_STRING, 0, "x", 1);
	bad.p_vu.p_aval.av_len = -2;
	TEST_ASSERT(!amf3_encode(b, b + sizeof(b), &bad));
	TEST_ASSERT(!amf3_encode(b + 1, b, &list[0]));
	return 0;
}

/* The type 17 body an AS3 client sends for nc.call("xmpp_connect", ...). */
int test_amf3_call_vector(void)
{
	AMFObjectProperty p;
	uint8_t *d;
	size_t n, pos = 0;
	AVal name;
	int r, err = test_load_vector("amf3/call-xmpp_connect.bin", &d, &n);

	if (err)
		return err;
	if (n < 27 || d[0] || d[1] != 0x02) {
		err = EBADMSG;
		goto out;
	}
	AMF_DecodeString((const char *)d + 2, &name);
	pos = 4 + (size_t)name.av_len;
	if (!aval_is(&name, "xmpp_connect") || d[pos] != 0x00 ||
	    AMF_DecodeNumber((const char *)d + pos + 1) != 2.0 || d[pos + 9] != 0x05 ||
	    d[pos + 10] != 0x11) {
		err = EBADMSG;
		goto out;
	}
	pos += 11;
	r = amf3_decode(&p, d + pos, n - pos);
	if (r < 0) {
		err = -r;
		goto out;
	}
	if ((size_t)r != n - pos || count(&p) != 4 || !str_is(get(&p, "username"), "alice") ||
	    !str_is(get(&p, "domain"), "localhost") || !str_is(get(&p, "password"), "secret") ||
	    !str_is(kid(&p, 3), "flash") || !aval_is(&kid(&p, 3)->p_name, "resource"))
		err = EBADMSG;
	if (!err)
		err = encode_eq(&p, d + pos, n - pos);
	AMFProp_Reset(&p);
out:
	if (err)
		test_fail(__FILE__, __LINE__, "call-xmpp_connect.bin");
	mem_deref(d);
	return err;
}

static int check_connect(AMFObject *o)
{
	const AMFObjectProperty *c;

	TEST_EQ(o->o_num, 3);
	TEST_ASSERT(str_is(&o->o_props[0], "connect") && num_is(&o->o_props[1], 1));
	c = &o->o_props[2];
	TEST_EQ(c->p_type, AMF_OBJECT);
	TEST_EQ(count(c), 11);
	TEST_ASSERT(str_is(get(c, "app"), "xmpp"));
	TEST_ASSERT(str_is(get(c, "flashVer"), "WIN 10,0,32,18"));
	TEST_ASSERT(str_is(get(c, "tcUrl"), "rtmp://127.0.0.1/xmpp"));
	TEST_ASSERT(get(c, "fpad")->p_type == AMF_BOOLEAN && !get(c, "fpad")->p_vu.p_number);
	TEST_ASSERT(num_is(get(c, "capabilities"), 239) && num_is(get(c, "audioCodecs"), 3575));
	TEST_ASSERT(num_is(get(c, "videoCodecs"), 252) && num_is(get(c, "videoFunction"), 1));
	TEST_ASSERT(num_is(get(c, "objectEncoding"), 3));
	TEST_EQ(get(c, "swfUrl")->p_type, AMF_STRING);
	TEST_EQ(get(c, "pageUrl")->p_type, AMF_STRING);
	return 0;
}

/* Flash Player 10's AMF0 connect asking for objectEncoding 3, read with
 * librtmp's own decoder. */
int test_amf3_connect_vector(void)
{
	AMFObject o;
	uint8_t *d;
	size_t n;
	int err = test_load_vector("amf3/connect-as3.bin", &d, &n);

	if (err)
		return err;
	if (AMF_Decode(&o, (const char *)d, (int)n, FALSE) != (int)n)
		err = EBADMSG;
	else
		err = check_connect(&o);
	AMF_Reset(&o);
	mem_deref(d);
	return err;
}
