/* Tests for gateway/handshake.c against C0+C1 captured from real clients
 * (test-vectors/handshake/README.md).  The digest checks below recompute
 * everything with their own copy of the keys, the way FFmpeg checks a server:
 * the FFmpeg vectors prove those keys right, since FFmpeg signed its C1 with
 * the real Flash Player key. */
#include <stdbool.h>
#include <string.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include "buf.h"
#include "handshake.h"
#include "mem.h"
#include "test.h"

#define EPOCH 0x01020304u
#define C0C1 (1 + HS_SIZE)
#define REPLY (1 + 2 * HS_SIZE)

static const uint8_t tail[32] = {
	0xf0, 0xee, 0xc2, 0x4a, 0x80, 0x68, 0xbe, 0xe8, 0x2e, 0x00, 0xd0, 0xd1,
	0x02, 0x9e, 0x7e, 0x57, 0x6e, 0xec, 0x5d, 0x2d, 0x29, 0x80, 0x6f, 0xab,
	0x93, 0xb8, 0xe6, 0x36, 0xcf, 0xeb, 0x31, 0xae,
};
static const char fp_text[] = "Genuine Adobe Flash Player 001";
static const char fms_text[] = "Genuine Adobe Flash Media Server 001";

static void sha256_hmac(const void *key, size_t klen, const uint8_t *msg, size_t len, uint8_t *md)
{
	unsigned int mdlen;
	HMAC(EVP_sha256(), key, (int)klen, msg, len, md, &mdlen);
}

static size_t scheme_pos(const uint8_t *p, int scheme)
{
	size_t base = scheme ? 8 : 772;
	return (size_t)(p[base] + p[base + 1] + p[base + 2] + p[base + 3]) % 728 + base + 4;
}

/* Is the digest of this C1 or S1 at the given scheme's place valid? */
static bool digest_ok(const uint8_t *p, int scheme, const char *text)
{
	uint8_t rest[HS_SIZE - 32], md[32];
	size_t pos = scheme_pos(p, scheme);

	memcpy(rest, p, pos);
	memcpy(rest + pos, p + pos + 32, sizeof(rest) - pos);
	sha256_hmac(text, strlen(text), rest, sizeof(rest), md);
	return !memcmp(md, p + pos, 32);
}

/* Which scheme carries a valid digest, -1 if none; 0 is tried first, as
 * FFmpeg does when it checks S1. */
static int which_scheme(const uint8_t *p, const char *text)
{
	if (digest_ok(p, 0, text))
		return 0;
	return digest_ok(p, 1, text) ? 1 : -1;
}

static int feed_c0c1(struct handshake *hs, const uint8_t *v, bool bytewise, struct buf *out)
{
	int r;

	if (!bytewise) {
		r = handshake_input(hs, v, C0C1, out);
		if (r == -ENOMEM)
			return ENOMEM;
		TEST_EQ(r, C0C1);
		return 0;
	}
	for (size_t i = 0; i < C0C1; i++) {
		r = handshake_input(hs, v + i, 1, out);
		if (r == -ENOMEM)
			return ENOMEM;
		TEST_EQ(r, 1);
		if (i + 1 < C0C1) {
			TEST_EQ(hs->state, HS_WAIT_C0C1);
			TEST_EQ(buf_unread(out), 0);
		}
	}
	return 0;
}

/* What the client would verify, and what we promise besides. */
static int check_reply(const struct handshake *hs, const uint8_t *c1, const uint8_t *s,
		       int want_scheme)
{
	const uint8_t *s1 = s + 1, *s2 = s + 1 + HS_SIZE;
	uint8_t fms_key[36 + 32], key[32], sig[32];

	TEST_EQ(hs->scheme, want_scheme);
	TEST_EQ(hs->digest, want_scheme >= 0);
	TEST_EQ(which_scheme(c1, fp_text), want_scheme);
	TEST_EQ(s[0], 3);
	TEST_EQ(be32(s1), EPOCH);
	if (want_scheme < 0) {
		TEST_EQ(be32(s1 + 4), 0);
		TEST_MEMEQ(s2, HS_SIZE, c1, HS_SIZE);
		return 0;
	}
	TEST_ASSERT(s1[4] >= 3);  /* else FFmpeg skips its checks */
	TEST_EQ(which_scheme(s1, fms_text), want_scheme);
	TEST_ASSERT(!digest_ok(s1, !want_scheme, fms_text));
	memcpy(fms_key, fms_text, 36);
	memcpy(fms_key + 36, tail, 32);
	sha256_hmac(fms_key, sizeof(fms_key), c1 + scheme_pos(c1, want_scheme), 32, key);
	sha256_hmac(key, 32, s2, HS_SIZE - 32, sig);
	TEST_MEMEQ(s2 + HS_SIZE - 32, 32, sig, 32);
	return 0;
}

/* C2 (the client's echo of S1) and 5 bytes of the first chunk. */
static int feed_c2(struct handshake *hs, const uint8_t *s1, bool bytewise, struct buf *out)
{
	uint8_t c2[HS_SIZE + 5];
	int r;

	memcpy(c2, s1, HS_SIZE);
	memcpy(c2 + HS_SIZE, "\x02\x00\x00\x00\x00", 5);
	if (bytewise) {
		for (size_t i = 0; i < HS_SIZE; i++) {
			TEST_EQ(hs->state, HS_WAIT_C2);
			TEST_EQ(handshake_input(hs, c2 + i, 1, out), 1);
		}
		r = 0;
	} else {
		r = handshake_input(hs, c2, sizeof(c2), out);
	}
	if (!bytewise)
		TEST_EQ(r, HS_SIZE);
	TEST_EQ(hs->state, HS_DONE);
	TEST_EQ(handshake_input(hs, c2 + HS_SIZE, 5, out), 0);
	TEST_EQ(buf_unread(out), REPLY);
	return 0;
}

static int run_c0c1(const uint8_t *v, int want_scheme, bool bytewise)
{
	struct handshake hs;
	struct buf out;
	int err;

	buf_init(&out);
	handshake_init(&hs, EPOCH);
	err = feed_c0c1(&hs, v, bytewise, &out);
	if (err)
		goto out;
	if (buf_unread(&out) != REPLY) {
		test_fail(__FILE__, __LINE__, "reply is S0+S1+S2");
		err = EBADMSG;
		goto out;
	}
	if (hs.state != HS_WAIT_C2) {
		test_fail(__FILE__, __LINE__, "waiting for C2");
		err = EBADMSG;
		goto out;
	}
	err = check_reply(&hs, v + 1, buf_head(&out), want_scheme);
	if (!err)
		err = feed_c2(&hs, buf_head(&out) + 1, bytewise, &out);
out:
	buf_reset(&out);
	return err;
}

static int run_vector(const char *rel, int want_scheme)
{
	uint8_t *v = NULL;
	size_t len;
	int err = test_load_vector(rel, &v, &len);

	if (err)
		return err;
	if (len != C0C1 || v[0] != 3) {
		test_fail(__FILE__, __LINE__, "vector is C0 3 + C1");
		err = EBADMSG;
	}
	if (!err)
		err = run_c0c1(v, want_scheme, false);
	if (!err)
		err = run_c0c1(v, want_scheme, true);
	mem_deref(v);
	return err;
}

/* FFmpeg's native client signs C1 with scheme 1 (base 8) when unencrypted,
 * version 9.0.124.2; publishing and playing send the same bytes. */
int test_handshake_ffmpeg_publish(void)
{
	return run_vector("handshake/ffmpeg-publish.c0c1.bin", 1);
}

int test_handshake_ffmpeg_play(void)
{
	return run_vector("handshake/ffmpeg-play.c0c1.bin", 1);
}

/* librtmp sends version 0 without swfVfy or RTMPE: the simple handshake. */
int test_handshake_rtmpdump(void)
{
	return run_vector("handshake/rtmpdump.c0c1.bin", -1);
}

int test_handshake_python_librtmp(void)
{
	return run_vector("handshake/python-librtmp.c0c1.bin", -1);
}

/* Flash Player 10.0.32.18 style, scheme 0 (base 772). */
int test_handshake_fp9_scheme0(void)
{
	return run_vector("handshake/synthetic-fp9-scheme0.c0c1.bin", 0);
}

/* C0+C1, C2 and the start of the chunk stream in one read. */
int test_handshake_one_read(void)
{
	struct handshake hs;
	struct buf out;
	uint8_t *v = NULL, all[C0C1 + HS_SIZE + 7];
	size_t len;
	int r, err = test_load_vector("handshake/ffmpeg-publish.c0c1.bin", &v, &len);

	if (err)
		return err;
	buf_init(&out);
	handshake_init(&hs, EPOCH);
	memcpy(all, v, C0C1);
	memset(all + C0C1, 0x5a, sizeof(all) - C0C1);
	r = handshake_input(&hs, all, sizeof(all), &out);
	if (r == -ENOMEM) {
		err = ENOMEM;
		goto out;
	}
	if (r != C0C1 + HS_SIZE || hs.state != HS_DONE || buf_unread(&out) != REPLY) {
		test_fail(__FILE__, __LINE__, "one read consumes exactly C0+C1+C2");
		err = EBADMSG;
		goto out;
	}
	err = check_reply(&hs, v + 1, buf_head(&out), 1);
out:
	buf_reset(&out);
	mem_deref(v);
	return err;
}

int test_handshake_bad_c0(void)
{
	static const uint8_t bad[] = {6, 8, 0xff, 0, 9};
	uint8_t c0c1[C0C1] = {0};
	struct handshake hs;
	struct buf out;

	buf_init(&out);
	for (size_t i = 0; i < sizeof(bad); i++) {
		handshake_init(&hs, EPOCH);
		c0c1[0] = bad[i];
		TEST_EQ(handshake_input(&hs, c0c1, sizeof(c0c1), &out), -EPROTO);
		TEST_EQ(handshake_input(&hs, c0c1, 1, &out), -EPROTO);
		TEST_EQ(hs.state, HS_WAIT_C0C1);
		TEST_EQ(hs.got, 0);
		TEST_EQ(out.len, 0);
	}
	handshake_init(&hs, EPOCH);
	TEST_EQ(handshake_input(&hs, NULL, 0, &out), 0);
	TEST_EQ(hs.got, 0);
	buf_reset(&out);
	return 0;
}

/* A non-zero version without a valid digest gets the simple answer: made-up
 * bytes, and FFmpeg's C1 with one digest byte flipped. */
int test_handshake_no_digest(void)
{
	uint8_t *v = NULL, c0c1[C0C1];
	size_t len;
	uint32_t x = 12345;
	int err;

	c0c1[0] = 3;
	for (size_t i = 1; i < C0C1; i++) {
		x = x * 1103515245u + 12345u;
		c0c1[i] = (uint8_t)(x >> 16);
	}
	memcpy(c0c1 + 5, "\x0a\x00\x20\x12", 4);
	err = run_c0c1(c0c1, -1, false);
	if (err)
		return err;
	err = test_load_vector("handshake/ffmpeg-play.c0c1.bin", &v, &len);
	if (err)
		return err;
	v[1 + scheme_pos(v + 1, 1) + 7] ^= 0x40;
	err = run_c0c1(v, -1, false);
	mem_deref(v);
	return err;
}

/* When the reply cannot be stored, nothing changes and a retry works. */
int test_handshake_enomem(void)
{
	struct handshake hs;
	struct buf out;
	uint8_t *v = NULL;
	size_t len;
	int r, err = test_load_vector("handshake/ffmpeg-play.c0c1.bin", &v, &len);

	if (err)
		return err;
	buf_init(&out);
	handshake_init(&hs, EPOCH);
	TEST_ERR(handshake_input(&hs, v, 100, &out) == 100 ? 0 : EBADMSG);
	mem_fail_after(1);
	r = handshake_input(&hs, v + 100, C0C1 - 100, &out);
	mem_fail_after(0);
	TEST_ERR(r == -ENOMEM && hs.got == 100 && hs.state == HS_WAIT_C0C1 && !out.len ? 0 : EBADMSG);
	r = handshake_input(&hs, v + 100, C0C1 - 100, &out);
	if (r == -ENOMEM) {
		err = ENOMEM;
		goto out;
	}
	TEST_ERR(r == C0C1 - 100 ? 0 : EBADMSG);
	err = check_reply(&hs, v + 1, buf_head(&out), 1);
out:
	buf_reset(&out);
	mem_deref(v);
	return err;
}
