/* Tests for gateway/amf.c: amf0_check (the strict gate in front of
 * librtmp's AMF0 decoder), command decoding from the FFmpeg captures and
 * the AMF3 vectors, and command encoding, byte for byte against what
 * nginx-rtmp sent (test-vectors/rtmp/README.md).
 *
 * After any decoding error, the command must hold nothing to free: the
 * stream code (cmd.c) does not call amf_cmd_reset() then. */
#include <stdbool.h>
#include <string.h>
#include <librtmp/amf.h>
#include "amf.h"
#include "buf.h"
#include "mem.h"
#include "test.h"

#define HS_HALF 3073

/* A copy of p at the end of a block of exactly n bytes, so that ASan sees
 * any read past it. */
static uint8_t *tight(const void *p, size_t n)
{
	uint8_t *b = mem_alloc(n ? n : 1, NULL);

	if (b && n)
		memcpy(b, p, n);
	return b;
}

static bool aval_is(const AVal *a, const char *s)
{
	size_t n = strlen(s);
	return a->av_len >= 0 && (size_t)a->av_len == n && (!n || !memcmp(a->av_val, s, n));
}

static bool str_is(const AMFObjectProperty *v, const char *name, const char *s)
{
	char b[256];
	const char *r = amf_str(v, name, b, sizeof(b));
	return r && !strcmp(r, s) && strlen(r) == strlen(s);
}

static bool num_is(const AMFObjectProperty *v, const char *name, double want)
{
	double d = -12345;
	return amf_num(v, name, &d) && d == want;
}

/* --- amf0_check --- */

struct val {
	const char *b;
	size_t n;
	int type;   /* what librtmp makes of it */
};

#define V(lit, type) {lit, sizeof(lit) - 1, type}

static const struct val values[] = {
	V("\x00\x40\x09\x21\xfb\x54\x44\x2d\x18", AMF_NUMBER),   /* pi */
	V("\x01\x01", AMF_BOOLEAN),
	V("\x01\x00", AMF_BOOLEAN),
	V("\x02\x00\x00", AMF_STRING),
	V("\x02\x00\x03" "abc", AMF_STRING),
	V("\x03\x00\x00\x09", AMF_OBJECT),
	V("\x03\x00\x01" "a" "\x00\x3f\xf0\x00\x00\x00\x00\x00\x00" "\x00\x01" "b" "\x05"
	  "\x00\x02" "cd" "\x03\x00\x01" "e" "\x02\x00\x01" "f" "\x00\x00\x09" "\x00\x00\x09",
	  AMF_OBJECT),
	V("\x05", AMF_NULL),
	V("\x06", AMF_NULL),        /* undefined */
	V("\x08\x00\x00\x00\x01\x00\x01" "a" "\x02\x00\x01" "x" "\x00\x00\x09", AMF_ECMA_ARRAY),
	V("\x08\xff\xff\xff\xff\x00\x00\x09", AMF_ECMA_ARRAY),  /* the count is a hint */
	V("\x0a\x00\x00\x00\x00", AMF_STRICT_ARRAY),
	V("\x0a\x00\x00\x00\x03\x05\x00\x40\x00\x00\x00\x00\x00\x00\x00\x03\x00\x00\x09",
	  AMF_STRICT_ARRAY),
	V("\x0b\x42\x77\x3c\x0b\x5a\x80\x00\x00\x00\x00", AMF_DATE),
	V("\x0c\x00\x00\x00\x03" "abc", AMF_STRING),  /* long string */
	V("\x0c\x00\x00\x00\x00", AMF_STRING),
	V("\x0d", AMF_NULL),        /* unsupported */
	V("\x0f\x00\x00\x00\x04" "<a/>", AMF_XML_DOC),
};

#define NVALUES (sizeof(values) / sizeof(values[0]))

/* "x", txid 5, then v: a command whose val[0] is v. */
static size_t cmd_with(uint8_t *b, const void *v, size_t n)
{
	memcpy(b, "\x02\x00\x01" "x" "\x00\x40\x14\x00\x00\x00\x00\x00\x00", 13);
	memcpy(b + 13, v, n);
	return 13 + n;
}

static int check_value(const struct val *v)
{
	struct rtmp_cmd cmd;
	const char *why = NULL;
	uint8_t *t, body[128];
	size_t blen;
	int r, err;

	/* exactly the value, and with bytes after it */
	if (!(t = tight(v->b, v->n)))
		return ENOMEM;
	r = amf0_check(t, v->n);
	mem_deref(t);
	TEST_EQ(r, (int)v->n);
	memcpy(body, v->b, v->n);
	memcpy(body + v->n, "\x02\xff\xff", 3);
	TEST_EQ(amf0_check(body, v->n + 3), (int)v->n);
	/* cut anywhere: truncated */
	for (size_t k = 0; k < v->n; k++) {
		if (!(t = tight(v->b, k)))
			return ENOMEM;
		r = amf0_check(t, k);
		mem_deref(t);
		if (r != -ENODATA) {
			char m[80];
			snprintf(m, sizeof(m), "value %02x cut at %zu: %d", v->b[0] & 0xff, k, r);
			test_fail(__FILE__, __LINE__, m);
			return EBADMSG;
		}
	}
	/* and librtmp decodes what we let through */
	blen = cmd_with(body, v->b, v->n);
	err = amf_cmd_decode(&cmd, body, blen, false, &why);
	TEST_EQ(err, 0);
	TEST_ASSERT(aval_is(&cmd.name, "x"));
	TEST_EQ(cmd.txid, 5);
	r = cmd.nvals == 1 && (int)cmd.val[0].p_type == v->type;
	amf_cmd_reset(&cmd);
	TEST_ASSERT(r);
	return 0;
}

int test_amf0_check_types(void)
{
	int err;

	for (size_t i = 0; i < NVALUES; i++)
		if ((err = check_value(&values[i])))
			return err;
	return 0;
}

int test_amf0_check_bad(void)
{
	static const struct val bad[] = {
		V("\x04", -EBADMSG),                        /* movie clip */
		V("\x09", -EBADMSG),                        /* object end as a value */
		V("\x0e", -EBADMSG),                        /* record set */
		V("\x07\x00\x01", -ENOTSUP),                /* reference */
		V("\x10\x00\x01" "A" "\x00\x00\x09", -ENOTSUP),  /* typed object */
		V("\x11\x06\x01", -ENOTSUP),                /* switch to AMF3 */
		V("\x03\x00\x01" "a" "\x07\x00\x00" "\x00\x00\x09", -ENOTSUP),
		V("\x03\x00\x01" "a" "\x11\x01" "\x00\x00\x09", -ENOTSUP),
		V("\x03\x00\x01" "a" "\x04" "\x00\x00\x09", -EBADMSG),
		V("\x08\x00\x00\x00\x00\x00\x01" "a" "\x0e" "\x00\x00\x09", -EBADMSG),
		V("\x0a\x00\x00\x00\x02\x05\x10\x00\x00\x00\x00\x09", -ENOTSUP),
		V("\x0a\x00\x00\x00\x02\x05\x09\x00\x00\x09", -EBADMSG),
		/* an object end inside a strict array is not one */
		V("\x0a\x00\x00\x00\x01\x00\x00\x09", -ENODATA),
	};
	struct rtmp_cmd cmd;
	const char *why;
	uint8_t b[64], body[80];
	int err;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t blen;

		TEST_EQ(amf0_check((const uint8_t *)bad[i].b, bad[i].n), bad[i].type);
		/* as a command argument: the same error, nothing kept */
		blen = cmd_with(body, bad[i].b, bad[i].n);
		why = NULL;
		err = amf_cmd_decode(&cmd, body, blen, false, &why);
		TEST_EQ(err, -bad[i].type);
		TEST_EQ(cmd.nvals, 0);
		TEST_ASSERT(why != NULL);
		if (err == ENOTSUP)
			TEST_STREQ(why, "unsupported AMF type");
	}
	/* every marker past 0x11 */
	for (unsigned m = 0x12; m <= 0xff; m++) {
		memset(b, 0, sizeof(b));
		b[0] = (uint8_t)m;
		TEST_EQ(amf0_check(b, sizeof(b)), -EBADMSG);
	}
	TEST_EQ(amf0_check(b, 0), -ENODATA);
	return 0;
}

/* Lengths far past the data are truncation, found without allocating. */
int test_amf0_check_huge(void)
{
	static const struct val huge[] = {
		V("\x0a\xff\xff\xff\xff\x05\x05\x05", 0),
		V("\x0a\x00\x00\x00\x03\x05\x05", 0),
		V("\x0c\xff\xff\xff\xff" "abc", 0),
		V("\x0f\x7f\xff\xff\xff" "abc", 0),
		V("\x02\xff\xff" "abc", 0),
		V("\x03\xff\xff" "abc", 0),
		V("\x03\x00\x01" "a" "\x0a\x80\x00\x00\x00\x05\x00\x00\x09", 0),
	};
	struct mem_stat before, after;
	struct rtmp_cmd cmd;
	const char *why;
	uint8_t body[64];

	for (size_t i = 0; i < sizeof(huge) / sizeof(huge[0]); i++) {
		size_t blen = cmd_with(body, huge[i].b, huge[i].n);
		int err;

		TEST_EQ(amf0_check((const uint8_t *)huge[i].b, huge[i].n), -ENODATA);
		mem_get_stat(&before);
		err = amf_cmd_decode(&cmd, body, blen, false, &why);
		mem_get_stat(&after);
		TEST_EQ(err, ENODATA);
		TEST_EQ(cmd.nvals, 0);
		TEST_STREQ(why, "truncated AMF value");
		TEST_EQ(after.allocs, before.allocs);
	}
	return 0;
}

/* n containers, each holding the next as its only member, around a number. */
enum nest { N_OBJECT, N_ECMA, N_STRICT, N_MIXED };

static size_t build_nested(uint8_t *b, size_t n, enum nest kind)
{
	size_t pos = 0, ends = 0;

	for (size_t i = 0; i < n; i++) {
		enum nest k = kind == N_MIXED ? (enum nest)(i % 3) : kind;
		switch (k) {
		case N_OBJECT:
			memcpy(b + pos, "\x03\x00\x01" "a", 4);
			pos += 4;
			ends++;
			break;
		case N_ECMA:
			memcpy(b + pos, "\x08\x00\x00\x00\x01\x00\x01" "a", 8);
			pos += 8;
			ends++;
			break;
		default:
			memcpy(b + pos, "\x0a\x00\x00\x00\x01", 5);
			pos += 5;
			break;
		}
	}
	memcpy(b + pos, "\x00\x40\x45\x00\x00\x00\x00\x00\x00", 9);  /* 42 */
	pos += 9;
	/* strict arrays have no end marker, so the ends go in reverse order
	 * of the containers that need one: all of them are the same bytes */
	for (size_t i = 0; i < ends; i++) {
		memcpy(b + pos, "\x00\x00\x09", 3);
		pos += 3;
	}
	return pos;
}

static int nested_ok(uint8_t *b, size_t n, enum nest kind)
{
	struct rtmp_cmd cmd;
	const AMFObjectProperty *v;
	const char *why;
	size_t len;
	int err;

	len = build_nested(b + 13, n, kind);
	TEST_EQ(amf0_check(b + 13, len), (int)len);
	memcpy(b, "\x02\x00\x01" "x" "\x00\x40\x14\x00\x00\x00\x00\x00\x00", 13);
	err = amf_cmd_decode(&cmd, b, 13 + len, false, &why);
	TEST_EQ(err, 0);
	v = &cmd.val[0];
	for (size_t i = 0; v && i < n; i++) {
		if (v->p_type == AMF_OBJECT || v->p_type == AMF_ECMA_ARRAY)
			v = amf_get(v, "a");
		else if (v->p_type == AMF_STRICT_ARRAY && v->p_vu.p_object.o_num == 1)
			v = &v->p_vu.p_object.o_props[0];
		else
			v = NULL;
	}
	err = num_is(v, NULL, 42) ? 0 : EBADMSG;
	amf_cmd_reset(&cmd);
	if (err)
		test_fail(__FILE__, __LINE__, "42 at the bottom");
	return err;
}

static int nested_bad(uint8_t *b, size_t n, enum nest kind)
{
	struct rtmp_cmd cmd;
	const char *why = NULL;
	size_t len = build_nested(b + 13, n, kind);

	TEST_EQ(amf0_check(b + 13, len), -EBADMSG);
	memcpy(b, "\x02\x00\x01" "x" "\x00\x40\x14\x00\x00\x00\x00\x00\x00", 13);
	TEST_EQ(amf_cmd_decode(&cmd, b, 13 + len, false, &why), EBADMSG);
	TEST_EQ(cmd.nvals, 0);
	TEST_STREQ(why, "malformed AMF value");
	return 0;
}

/* AMF0_MAX_DEPTH containers around a value are fine, one more is not, and
 * 100000 more do not exhaust the stack. */
int test_amf0_check_depth(void)
{
	const size_t deep = 100000;
	uint8_t *b = mem_alloc(13 + deep * 11 + 9, NULL);
	int err = 0;

	if (!b)
		return ENOMEM;
	for (enum nest k = N_OBJECT; !err && k <= N_MIXED; k++) {
		err = nested_ok(b, AMF0_MAX_DEPTH, k);
		if (!err)
			err = nested_bad(b, AMF0_MAX_DEPTH + 1, k);
		if (!err)
			err = nested_bad(b, deep, k);
	}
	mem_deref(b);
	return err;
}

/* --- Commands from the captures --- */

/* The body of the type-0 message at off in a capture, reassembled from
 * chunk-size pieces with 0xC0|csid continuation headers. */
static int capture_body(const uint8_t *d, size_t dlen, size_t off, uint8_t csid, uint32_t len,
			uint8_t type, uint32_t chunk, uint8_t **body)
{
	uint8_t *b;
	size_t pos = off + 12;

	TEST_ASSERT(off + 12 <= dlen);
	TEST_EQ(d[off], csid);
	TEST_EQ(be24(d + off + 4), len);
	TEST_EQ(d[off + 7], type);
	if (!(b = mem_alloc(len, NULL)))
		return ENOMEM;
	for (uint32_t got = 0; got < len;) {
		uint32_t n = len - got < chunk ? len - got : chunk;
		if (pos + n > dlen) {
			mem_deref(b);
			return EBADMSG;
		}
		memcpy(b + got, d + pos, n);
		pos += n;
		got += n;
		if (got < len && d[pos++] != (0xc0 | csid)) {
			mem_deref(b);
			return EBADMSG;
		}
	}
	*body = b;
	return 0;
}

static int load_body(const char *rel, size_t off, uint8_t csid, uint32_t len, uint8_t type,
		     uint32_t chunk, uint8_t **body)
{
	uint8_t *d;
	size_t dlen;
	int err = test_load_vector(rel, &d, &dlen);

	if (err)
		return err;
	err = capture_body(d, dlen, off, csid, len, type, chunk, body);
	mem_deref(d);
	return err;
}

/* Every cut of a command body is ENODATA with nothing kept, except at the
 * ends of its values, where the command is what came before. */
static int check_cuts(const uint8_t *body, size_t len, bool amf3, const size_t *ends,
		      const int *nvals, size_t nends)
{
	for (size_t k = 0; k < len; k++) {
		struct rtmp_cmd cmd;
		const char *why = NULL;
		uint8_t *t = tight(body, k);
		int err, want = ENODATA, nv = 0;

		if (!t)
			return ENOMEM;
		for (size_t i = 0; i < nends; i++)
			if (ends[i] == k) {
				want = 0;
				nv = nvals[i];
			}
		err = amf_cmd_decode(&cmd, t, k, amf3, &why);
		if (err != want || cmd.nvals != nv || (!err && cmd.name.av_val != (char *)t + 3 + amf3)) {
			char m[80];
			snprintf(m, sizeof(m), "cut at %zu: %d with %d values", k, err, cmd.nvals);
			test_fail(__FILE__, __LINE__, m);
			amf_cmd_reset(&cmd);
			mem_deref(t);
			return EBADMSG;
		}
		amf_cmd_reset(&cmd);
		mem_deref(t);
	}
	return 0;
}

static int check_publish_connect(const uint8_t *b, size_t len, bool amf3)
{
	struct rtmp_cmd cmd;
	const AMFObjectProperty *o;
	const char *why = NULL;
	char s[64];
	double d;
	int err = amf_cmd_decode(&cmd, b, len, amf3, &why);

	if (err)
		return err;
	TEST_ASSERT(aval_is(&cmd.name, "connect"));
	TEST_ASSERT(cmd.name.av_val == (const char *)b + 3 + amf3);  /* points into the body */
	TEST_EQ(cmd.txid, 1);
	TEST_EQ(cmd.nvals, 1);
	o = &cmd.val[0];
	TEST_EQ(o->p_type, AMF_OBJECT);
	TEST_EQ(o->p_vu.p_object.o_num, 4);
	TEST_ASSERT(str_is(o, "app", "xmpp"));
	TEST_ASSERT(str_is(o, "type", "nonprivate"));
	TEST_ASSERT(str_is(o, "flashVer", "FMLE/3.0 (compatible; Lavf59.27.100)"));
	/* the relay's port varies from capture to capture */
	TEST_ASSERT(amf_str(o, "tcUrl", s, sizeof(s)) == s);
	TEST_ASSERT(strlen(s) > 22 && strlen(s) < 29);
	TEST_ASSERT(!strncmp(s, "rtmp://127.0.0.1:", 17) && !strcmp(s + strlen(s) - 5, "/xmpp"));
	/* helpers: wrong type, absent, small buffers, no name */
	TEST_ASSERT(!amf_num(o, "app", &d));
	TEST_ASSERT(!amf_get(o, "ap"));
	TEST_ASSERT(!amf_get(o, "apps"));
	TEST_ASSERT(!amf_get(o, "App"));
	TEST_ASSERT(!amf_str(o, "nope", s, sizeof(s)));
	TEST_ASSERT(!amf_str(o, "app", s, 0));
	TEST_STREQ(amf_str(o, "app", s, 5), "xmpp");
	TEST_STREQ(amf_str(o, "app", s, 3), "xm");
	TEST_STREQ(amf_str(o, "app", s, 1), "");
	TEST_STREQ(amf_str(amf_get(o, "type"), NULL, s, sizeof(s)), "nonprivate");
	TEST_ASSERT(!amf_str(o, NULL, s, sizeof(s)));       /* an object is not a string */
	TEST_ASSERT(!amf_get(amf_get(o, "app"), "x"));       /* a string has no members */
	TEST_ASSERT(!amf_get(NULL, "x"));
	TEST_ASSERT(!amf_num(NULL, NULL, &d));
	amf_cmd_reset(&cmd);
	TEST_EQ(cmd.nvals, 0);
	return 0;
}

/* FFmpeg's connect when publishing: 140 bytes, chunked at 128. */
int test_amf_cmd_connect_publish(void)
{
	static const size_t ends[] = {10, 19, 140};
	static const int nvals[] = {0, 0, 1};
	uint8_t *b = NULL, *b3 = NULL;
	int err = load_body("rtmp/ffmpeg-publish.c2s.bin", HS_HALF, 3, 140, 20, 128, &b);

	if (err)
		return err;
	err = check_publish_connect(b, 140, false);
	if (!err)
		err = check_cuts(b, 140, false, ends, nvals, 3);
	/* type 17 may carry plain AMF0 after its format byte */
	if (!err && !(b3 = mem_alloc(141, NULL)))
		err = ENOMEM;
	if (!err) {
		b3[0] = 0;
		memcpy(b3 + 1, b, 140);
		err = check_publish_connect(b3, 141, true);
	}
	mem_deref(b3);
	mem_deref(b);
	return err;
}

/* FFmpeg's connect when playing: 197 bytes with codecs and capabilities. */
int test_amf_cmd_connect_play(void)
{
	struct rtmp_cmd cmd = {.nvals = 0};
	const AMFObjectProperty *o, *fpad;
	const char *why;
	uint8_t *b = NULL;
	int err = load_body("rtmp/ffmpeg-play.c2s.bin", HS_HALF, 3, 197, 20, 128, &b);

	if (err)
		return err;
	err = amf_cmd_decode(&cmd, b, 197, false, &why);
	if (err)
		goto out;
	o = &cmd.val[0];
	err = EBADMSG;
	if (!aval_is(&cmd.name, "connect") || cmd.txid != 1 || cmd.nvals != 1 ||
	    o->p_vu.p_object.o_num != 8 || !str_is(o, "app", "xmpp") ||
	    !str_is(o, "flashVer", "LNX 9,0,124,2") || !num_is(o, "capabilities", 15) ||
	    !num_is(o, "audioCodecs", 4071) || !num_is(o, "videoCodecs", 252) ||
	    !num_is(o, "videoFunction", 1))
		goto out;
	fpad = amf_get(o, "fpad");
	if (!fpad || fpad->p_type != AMF_BOOLEAN || fpad->p_vu.p_number != 0 ||
	    amf_num(o, "fpad", &(double){0}))
		goto out;
	err = 0;
out:
	if (err)
		test_fail(__FILE__, __LINE__, "play connect");
	amf_cmd_reset(&cmd);
	mem_deref(b);
	return err;
}

/* Flash Player 10's AMF0 connect asking for objectEncoding 3. */
int test_amf_cmd_connect_as3(void)
{
	struct rtmp_cmd cmd = {.nvals = 0};
	const AMFObjectProperty *o;
	const char *why;
	uint8_t *d = NULL;
	size_t n;
	int err = test_load_vector("amf3/connect-as3.bin", &d, &n);

	if (err)
		return err;
	err = amf_cmd_decode(&cmd, d, n, false, &why);
	if (err)
		goto out;
	o = &cmd.val[0];
	err = EBADMSG;
	if (!aval_is(&cmd.name, "connect") || cmd.txid != 1 || cmd.nvals != 1 ||
	    o->p_type != AMF_OBJECT || o->p_vu.p_object.o_num != 11 ||
	    !num_is(o, "objectEncoding", 3) || !str_is(o, "app", "xmpp") ||
	    !str_is(o, "flashVer", "WIN 10,0,32,18") ||
	    !str_is(o, "tcUrl", "rtmp://127.0.0.1/xmpp") ||
	    !str_is(o, "swfUrl", "http://127.0.0.1/xmpp.swf") ||
	    !str_is(o, "pageUrl", "http://127.0.0.1/xmpp.html") ||
	    !num_is(o, "capabilities", 239) || !num_is(o, "audioCodecs", 3575) ||
	    !num_is(o, "videoCodecs", 252) || !num_is(o, "videoFunction", 1) ||
	    amf_get(o, "fpad")->p_type != AMF_BOOLEAN)
		goto out;
	err = 0;
out:
	if (err)
		test_fail(__FILE__, __LINE__, "connect-as3.bin");
	amf_cmd_reset(&cmd);
	mem_deref(d);
	return err;
}

/* nc.call("xmpp_connect", responder, {...}) from an AS3 client: type 17,
 * AMF0 name, txid and null, then the object in AMF3. */
int test_amf_cmd_amf3_call(void)
{
	static const size_t ends[] = {16, 25, 26, 98};
	static const int nvals[] = {0, 0, 1, 2};
	struct rtmp_cmd cmd = {.nvals = 0};
	const AMFObjectProperty *o;
	const char *why = NULL;
	uint8_t *d = NULL;
	size_t n;
	int err = test_load_vector("amf3/call-xmpp_connect.bin", &d, &n);

	if (err)
		return err;
	if (n != 98) {
		err = EBADMSG;
		goto out;
	}
	err = amf_cmd_decode(&cmd, d, n, true, &why);
	if (err)
		goto out;
	o = &cmd.val[1];
	err = EBADMSG;
	if (!aval_is(&cmd.name, "xmpp_connect") || cmd.txid != 2 || cmd.nvals != 2 ||
	    cmd.val[0].p_type != AMF_NULL || o->p_type != AMF_OBJECT ||
	    o->p_vu.p_object.o_num != 4 || !str_is(o, "username", "alice") ||
	    !str_is(o, "domain", "localhost") || !str_is(o, "password", "secret") ||
	    !str_is(o, "resource", "flash"))
		goto out;
	/* strings point into the message */
	if (amf_get(o, "username")->p_vu.p_aval.av_val < (char *)d ||
	    amf_get(o, "username")->p_vu.p_aval.av_val >= (char *)d + n)
		goto out;
	amf_cmd_reset(&cmd);
	err = check_cuts(d, n, true, ends, nvals, 4);
	if (err)
		goto out;
	/* read as AMF0, the format byte is a number where the name should be */
	err = amf_cmd_decode(&cmd, d, n, false, &why);
	if (err != EBADMSG || cmd.nvals || strcmp(why, "command name is not a string")) {
		err = EBADMSG;
		goto out;
	}
	err = 0;
out:
	if (err)
		test_fail(__FILE__, __LINE__, "call-xmpp_connect.bin");
	amf_cmd_reset(&cmd);
	mem_deref(d);
	return err;
}

/* --- Encoding --- */

static int same_prop(const AMFObjectProperty *a, const AMFObjectProperty *b)
{
	TEST_EQ(a->p_type, b->p_type);
	TEST_ASSERT(a->p_name.av_len == b->p_name.av_len &&
		    (!a->p_name.av_len ||
		     !memcmp(a->p_name.av_val, b->p_name.av_val, (size_t)a->p_name.av_len)));
	switch (a->p_type) {
	case AMF_NUMBER:
	case AMF_BOOLEAN:
		TEST_ASSERT(a->p_vu.p_number == b->p_vu.p_number);
		break;
	case AMF_STRING:
		TEST_MEMEQ(a->p_vu.p_aval.av_val, (size_t)a->p_vu.p_aval.av_len, b->p_vu.p_aval.av_val,
			   (size_t)b->p_vu.p_aval.av_len);
		break;
	case AMF_OBJECT:
	case AMF_ECMA_ARRAY:
	case AMF_STRICT_ARRAY:
		TEST_EQ(a->p_vu.p_object.o_num, b->p_vu.p_object.o_num);
		for (int i = 0; i < a->p_vu.p_object.o_num; i++)
			if (same_prop(&a->p_vu.p_object.o_props[i], &b->p_vu.p_object.o_props[i]))
				return EBADMSG;
		break;
	default:
		break;
	}
	return 0;
}

/* Decode what was encoded: the same command. */
static int decodes_to(const uint8_t *b, size_t len, bool amf3, const char *name, double txid,
		      const AMFObjectProperty *vals, int nvals)
{
	struct rtmp_cmd cmd;
	const char *why;
	int err = amf_cmd_decode(&cmd, b, len, amf3, &why);

	if (err)
		return err;
	if (!aval_is(&cmd.name, name) || cmd.txid != txid || cmd.nvals != nvals) {
		err = EBADMSG;
		test_fail(__FILE__, __LINE__, "name, txid, count");
	}
	for (int i = 0; !err && i < nvals; i++)
		err = same_prop(&vals[i], &cmd.val[i]);
	amf_cmd_reset(&cmd);
	return err;
}

/* Encode into a buffer of every size below what it takes: -ENOSPC, with
 * nothing written past the end; and the result, once it fits, is want. */
static int encode_sizes(bool amf3, bool data, const char *name, double txid,
			const AMFObjectProperty *vals, int nvals, const uint8_t *want, size_t wlen)
{
	uint8_t b[600];
	int r = 0;
	size_t k;

	TEST_ASSERT(wlen + 8 < sizeof(b));
	for (k = 0; k <= wlen + 4; k++) {
		memset(b, 0xee, sizeof(b));
		r = data ? amf_data_encode(b, b + k, vals, nvals)
			 : amf_cmd_encode(b, b + k, amf3, name, txid, vals, nvals);
		for (size_t i = k; i < sizeof(b); i++)
			if (b[i] != 0xee) {
				char m[80];
				snprintf(m, sizeof(m), "size %zu: byte %zu written", k, i);
				test_fail(__FILE__, __LINE__, m);
				return EBADMSG;
			}
		if (r >= 0)
			break;
		TEST_EQ(r, -ENOSPC);
	}
	if (r < 0 || (size_t)r != wlen || k < wlen) {
		char m[120];
		snprintf(m, sizeof(m), "fits in %zu bytes with %d, want exactly %zu", k, r, wlen);
		test_fail(__FILE__, __LINE__, m);
		return EBADMSG;
	}
	TEST_MEMEQ(b, (size_t)r, want, wlen);
	/* librtmp asks for a spare byte after a null, and for two after a
	 * string (room for its long form): -ENOSPC, never less written */
	TEST_ASSERT(k <= wlen + 2);
	return data ? 0 : decodes_to(b, (size_t)r, amf3, name, txid, vals, nvals);
}

struct replies {
	AMFObjectProperty ver[2], info[4], status[3], unpub[3];
	AMFObjectProperty connect[2], create[2], publish[2], unpublish[2];
};

static void make_replies(struct replies *r)
{
	r->ver[0] = amfv_str("fmsVer", "FMS/3,0,1,123");
	r->ver[1] = amfv_num("capabilities", 31);
	r->info[0] = amfv_str("level", "status");
	r->info[1] = amfv_str("code", "NetConnection.Connect.Success");
	r->info[2] = amfv_str("description", "Connection succeeded.");
	r->info[3] = amfv_num("objectEncoding", 0);
	r->connect[0] = amfv_obj(NULL, r->ver, 2);
	r->connect[1] = amfv_obj(NULL, r->info, 4);
	r->create[0] = amfv_null();
	r->create[1] = amfv_num(NULL, 1);
	r->status[0] = amfv_str("level", "status");
	r->status[1] = amfv_str("code", "NetStream.Publish.Start");
	r->status[2] = amfv_str("description", "Start publishing");
	r->publish[0] = amfv_null();
	r->publish[1] = amfv_obj(NULL, r->status, 3);
	r->unpub[0] = amfv_str("level", "status");
	r->unpub[1] = amfv_str("code", "NetStream.Unpublish.Success");
	r->unpub[2] = amfv_str("description", "Stop publishing");
	r->unpublish[0] = amfv_null();
	r->unpublish[1] = amfv_obj(NULL, r->unpub, 3);
}

/* A named null member keeps its name; ECMA and strict arrays; nothing is
 * dropped to make things fit. */
static int encode_containers(void)
{
	static const char want_status[] =
		"\x02\x00\x08" "onStatus" "\x00\x00\x00\x00\x00\x00\x00\x00\x00" "\x05"
		"\x03" "\x00\x05" "level" "\x02\x00\x05" "error"
		"\x00\x07" "details" "\x05"
		"\x00\x04" "code" "\x02\x00\x1d" "NetStream.Play.StreamNotFound"
		"\x00\x00\x09";
	static const char want_meta[] =
		"\x02\x00\x0a" "onMetaData"
		"\x08\x00\x00\x00\x03"
		"\x00\x08" "duration" "\x00\x00\x00\x00\x00\x00\x00\x00\x00"
		"\x00\x0c" "audiocodecid" "\x00\x40\x26\x00\x00\x00\x00\x00\x00"
		"\x00\x01" "x" "\x05"
		"\x00\x00\x09"
		"\x0a\x00\x00\x00\x02" "\x00\x3f\xf0\x00\x00\x00\x00\x00\x00" "\x02\x00\x01" "a";
	AMFObjectProperty info[3] = {amfv_str("level", "error"), amfv_null(),
				     amfv_str("code", "NetStream.Play.StreamNotFound")};
	AMFObjectProperty status[2] = {amfv_null(), amfv_obj(NULL, info, 3)};
	AMFObjectProperty ecma[3] = {amfv_num("duration", 0), amfv_num("audiocodecid", 11),
				     amfv_null()};
	AMFObjectProperty arr[2] = {amfv_num(NULL, 1), amfv_str(NULL, "a")};
	AMFObjectProperty meta[3] = {amfv_str(NULL, "onMetaData"), {.p_type = AMF_ECMA_ARRAY},
				     {.p_type = AMF_STRICT_ARRAY}};
	int err;

	info[1].p_name.av_val = (char *)(uintptr_t)"details";
	info[1].p_name.av_len = 7;
	ecma[2].p_name.av_val = (char *)(uintptr_t)"x";
	ecma[2].p_name.av_len = 1;
	meta[1].p_vu.p_object.o_num = 3;
	meta[1].p_vu.p_object.o_props = ecma;
	meta[2].p_vu.p_object.o_num = 2;
	meta[2].p_vu.p_object.o_props = arr;
	err = encode_sizes(false, false, "onStatus", 0, status, 2, (const uint8_t *)want_status,
			   sizeof(want_status) - 1);
	if (!err)
		err = encode_sizes(false, true, NULL, 0, meta, 3, (const uint8_t *)want_meta,
				   sizeof(want_meta) - 1);
	/* and they pass our own check */
	if (!err && (amf0_check((const uint8_t *)want_meta + 13, sizeof(want_meta) - 1 - 13) != 54 ||
		     amf0_check((const uint8_t *)want_meta + 67, 18) != 18)) {
		test_fail(__FILE__, __LINE__, "ECMA array checks");
		err = EBADMSG;
	}
	return err;
}

/* Our replies in AMF0 are byte for byte what nginx-rtmp sent FFmpeg. */
int test_amf_cmd_encode_amf0(void)
{
	/* offsets after the three protocol control messages (16+17+16) */
	static const struct { size_t off; uint8_t csid; uint32_t len; } at[] = {
		{HS_HALF + 49, 3, 190}, {HS_HALF + 251, 3, 29}, {HS_HALF + 292, 5, 105},
		{HS_HALF + 409, 5, 108},
	};
	struct replies r;
	uint8_t *d = NULL, *body[4] = {NULL};
	size_t n;
	int err = test_load_vector("rtmp/ffmpeg-publish.s2c.bin", &d, &n);

	if (err)
		return err;
	for (int i = 0; !err && i < 4; i++)
		err = capture_body(d, n, at[i].off, at[i].csid, at[i].len, 20, 4096, &body[i]);
	if (err)
		goto out;
	make_replies(&r);
	err = encode_sizes(false, false, "_result", 1, r.connect, 2, body[0], 190);
	if (!err)
		err = encode_sizes(false, false, "_result", 4, r.create, 2, body[1], 29);
	if (!err)
		err = encode_sizes(false, false, "onStatus", 0, r.publish, 2, body[2], 105);
	if (!err)
		err = encode_sizes(false, false, "onStatus", 0, r.unpublish, 2, body[3], 108);
	if (!err)
		err = encode_containers();
	if (!err) {
		AMFObjectProperty sa[3] = {amfv_str(NULL, "|RtmpSampleAccess"), amfv_bool(NULL, true),
					   amfv_bool(NULL, true)};
		static const char want[] = "\x02\x00\x11|RtmpSampleAccess\x01\x01\x01\x01";
		err = encode_sizes(false, true, NULL, 0, sa, 3, (const uint8_t *)want,
				   sizeof(want) - 1);
	}
out:
	for (int i = 0; i < 4; i++)
		mem_deref(body[i]);
	mem_deref(d);
	return err;
}

/* With AMF3, objects and arrays become 0x11 + AMF3; the rest stays AMF0. */
int test_amf_cmd_encode_amf3(void)
{
	static const char want_connect[] =
		"\x00" "\x02\x00\x07" "_result" "\x00\x3f\xf0\x00\x00\x00\x00\x00\x00"
		"\x11\x0a\x0b\x01"
		"\x0d" "fmsVer" "\x06\x1b" "FMS/3,0,1,123"
		"\x19" "capabilities" "\x04\x1f"
		"\x01"
		"\x11\x0a\x0b\x01"
		"\x0b" "level" "\x06\x0d" "status"
		"\x09" "code" "\x06\x3b" "NetConnection.Connect.Success"
		"\x17" "description" "\x06\x2b" "Connection succeeded."
		"\x1d" "objectEncoding" "\x04\x00"
		"\x01";
	static const char want_create[] =
		"\x00" "\x02\x00\x07" "_result" "\x00\x40\x10\x00\x00\x00\x00\x00\x00"
		"\x05" "\x00\x3f\xf0\x00\x00\x00\x00\x00\x00";
	static const char want_mixed[] =
		"\x00" "\x02\x00\x04" "call" "\x00\x00\x00\x00\x00\x00\x00\x00\x00"
		"\x05" "\x01\x01" "\x02\x00\x01" "s"
		"\x11\x09\x05\x01" "\x04\x01" "\x06\x03" "a"
		"\x11\x09\x01" "\x03" "k" "\x05\x3f\xf8\x00\x00\x00\x00\x00\x00" "\x01"
		"\x00\xbf\xf8\x00\x00\x00\x00\x00\x00";
	struct replies r;
	AMFObjectProperty arr[2] = {amfv_num(NULL, 1), amfv_str(NULL, "a")};
	AMFObjectProperty ecma[1] = {amfv_num("k", 1.5)};
	AMFObjectProperty mixed[6] = {
		amfv_null(), amfv_bool(NULL, true), amfv_str(NULL, "s"),
		{.p_type = AMF_STRICT_ARRAY}, {.p_type = AMF_ECMA_ARRAY}, amfv_num(NULL, -1.5),
	};
	int err;

	make_replies(&r);
	err = encode_sizes(true, false, "_result", 1, r.connect, 2, (const uint8_t *)want_connect,
			   sizeof(want_connect) - 1);
	if (!err)
		err = encode_sizes(true, false, "_result", 4, r.create, 2,
				   (const uint8_t *)want_create, sizeof(want_create) - 1);
	if (err)
		return err;
	mixed[3].p_vu.p_object.o_num = 2;
	mixed[3].p_vu.p_object.o_props = arr;
	mixed[4].p_vu.p_object.o_num = 1;
	mixed[4].p_vu.p_object.o_props = ecma;
	/* an ECMA array is an AMF3 array with only named members */
	{
		uint8_t b[200];
		int n = amf_cmd_encode(b, b + sizeof(b), true, "call", 0, mixed, 6);
		TEST_EQ(n, (int)sizeof(want_mixed) - 1);
		TEST_MEMEQ(b, (size_t)n, want_mixed, sizeof(want_mixed) - 1);
		err = decodes_to(b, (size_t)n, true, "call", 0, mixed, 6);
	}
	return err;
}

/* --- Limits of amf_cmd_decode --- */

static int decode_err(const void *body, size_t len, bool amf3, int want, const char *why_want)
{
	struct rtmp_cmd cmd;
	const char *why = NULL;
	uint8_t *t = tight(body, len);
	int err;

	if (!t)
		return ENOMEM;
	err = amf_cmd_decode(&cmd, t, len, amf3, &why);
	if (err != want || cmd.nvals != 0 || !why || (why_want && strcmp(why, why_want))) {
		char m[160];
		snprintf(m, sizeof(m), "got %d (%s) with %d values kept, want %d (%s)", err,
			 why ? why : "-", cmd.nvals, want, why_want ? why_want : "-");
		test_fail(__FILE__, __LINE__, m);
		amf_cmd_reset(&cmd);  /* the stream code would not */
		err = EBADMSG;
	} else {
		err = 0;
	}
	mem_deref(t);
	return err;
}

int test_amf_cmd_limits(void)
{
	static const char head[] = "\x02\x00\x01" "x" "\x00\x40\x14\x00\x00\x00\x00\x00\x00";
	static const char obj[] = "\x03\x00\x01" "k" "\x02\x00\x01" "v" "\x00\x00\x09";
	uint8_t b[400];
	struct rtmp_cmd cmd;
	const char *why;
	size_t n = sizeof(head) - 1;
	int err;

	/* CMD_MAX_VALUES values after name and txid fit ... */
	memcpy(b, head, n);
	for (int i = 0; i < CMD_MAX_VALUES; i++)
		b[n++] = 0x05;
	TEST_EQ(amf_cmd_decode(&cmd, b, n, false, &why), 0);
	TEST_EQ(cmd.nvals, CMD_MAX_VALUES);
	amf_cmd_reset(&cmd);
	/* ... one more does not */
	b[n++] = 0x05;
	if ((err = decode_err(b, n, false, E2BIG, "too many command arguments")))
		return err;
	/* also when they are objects, which must be freed */
	n = sizeof(head) - 1;
	for (int i = 0; i <= CMD_MAX_VALUES; i++) {
		memcpy(b + n, obj, sizeof(obj) - 1);
		n += sizeof(obj) - 1;
	}
	if ((err = decode_err(b, n, false, E2BIG, "too many command arguments")))
		return err;

	/* the name must be a string */
	if ((err = decode_err("\x00\x40\x14\x00\x00\x00\x00\x00\x00", 9, false, EBADMSG,
			      "command name is not a string")) ||
	    (err = decode_err("\x05\x02\x00\x01" "x", 5, false, EBADMSG,
			      "command name is not a string")) ||
	    (err = decode_err("\x03\x00\x01" "k" "\x02\x00\x01" "v" "\x00\x00\x09", 11, false,
			      EBADMSG, "command name is not a string")) ||
	    (err = decode_err("\x00\x11\x0a\x0b\x01\x01", 6, true, EBADMSG,
			      "command name is not a string")))
		return err;
	/* an AMF3 string is a name */
	TEST_EQ(amf_cmd_decode(&cmd, (const uint8_t *)"\x00\x11\x06\x09" "ping", 8, true, &why), 0);
	TEST_ASSERT(aval_is(&cmd.name, "ping"));
	amf_cmd_reset(&cmd);
	/* a txid that is not a number counts as 0 */
	TEST_EQ(amf_cmd_decode(&cmd, (const uint8_t *)"\x02\x00\x01" "x" "\x05\x05", 6, false, &why),
		0);
	TEST_EQ(cmd.txid, 0);
	TEST_EQ(cmd.nvals, 1);
	amf_cmd_reset(&cmd);

	/* empty */
	if ((err = decode_err("", 0, false, ENODATA, NULL)) ||
	    (err = decode_err("", 0, true, ENODATA, "empty AMF3 command")) ||
	    (err = decode_err("\x00", 1, true, ENODATA, NULL)) ||
	    (err = decode_err("\x02\x00\x00", 3, false, ENODATA, NULL)))
		return err;
	/* an empty name with arguments: nothing may be kept */
	memcpy(b, "\x02\x00\x00" "\x00\x40\x14\x00\x00\x00\x00\x00\x00", 12);
	memcpy(b + 12, obj, sizeof(obj) - 1);
	if ((err = decode_err(b, 12 + sizeof(obj) - 1, false, ENODATA, NULL)))
		return err;
	/* a bad value after good ones: those are freed */
	n = sizeof(head) - 1;
	memcpy(b, head, n);
	memcpy(b + n, obj, sizeof(obj) - 1);
	n += sizeof(obj) - 1;
	b[n++] = 0x04;
	if ((err = decode_err(b, n, false, EBADMSG, "malformed AMF value")))
		return err;
	/* the same in a type-17 body, ending in an AMF3 switch and nothing */
	memmove(b + 1, b, n);
	b[0] = 0;
	b[n] = 0x11;
	if ((err = decode_err(b, n + 1, true, ENODATA, "truncated AMF value")))
		return err;
	b[n] = 0x04;
	if ((err = decode_err(b, n + 1, true, EBADMSG, "malformed AMF value")))
		return err;
	return 0;
}
