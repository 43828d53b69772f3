/* RTMP handshake, server side: the simple one and the Flash Player 9 digest
 * one.  No I/O here: bytes in, bytes to send out. */
#include <errno.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include "handshake.h"

#define DIGEST_LEN 32
#define FP_KEY_TEXT 30    /* "Genuine Adobe Flash Player 001" */
#define FMS_KEY_TEXT 36   /* "Genuine Adobe Flash Media Server 001" */
#define S2_SIGNED (HS_SIZE - DIGEST_LEN)

/* Both keys are a text followed by the same 32 bytes.  Digests in C1 and S1
 * are keyed with the text alone, the S2 signature key with all of fms_key. */
static const uint8_t fp_key[FP_KEY_TEXT + 32] = {
	'G', 'e', 'n', 'u', 'i', 'n', 'e', ' ', 'A', 'd', 'o', 'b', 'e', ' ',
	'F', 'l', 'a', 's', 'h', ' ', 'P', 'l', 'a', 'y', 'e', 'r', ' ',
	'0', '0', '1',
	0xf0, 0xee, 0xc2, 0x4a, 0x80, 0x68, 0xbe, 0xe8, 0x2e, 0x00, 0xd0, 0xd1,
	0x02, 0x9e, 0x7e, 0x57, 0x6e, 0xec, 0x5d, 0x2d, 0x29, 0x80, 0x6f, 0xab,
	0x93, 0xb8, 0xe6, 0x36, 0xcf, 0xeb, 0x31, 0xae,
};

static const uint8_t fms_key[FMS_KEY_TEXT + 32] = {
	'G', 'e', 'n', 'u', 'i', 'n', 'e', ' ', 'A', 'd', 'o', 'b', 'e', ' ',
	'F', 'l', 'a', 's', 'h', ' ', 'M', 'e', 'd', 'i', 'a', ' ',
	'S', 'e', 'r', 'v', 'e', 'r', ' ', '0', '0', '1',
	0xf0, 0xee, 0xc2, 0x4a, 0x80, 0x68, 0xbe, 0xe8, 0x2e, 0x00, 0xd0, 0xd1,
	0x02, 0x9e, 0x7e, 0x57, 0x6e, 0xec, 0x5d, 0x2d, 0x29, 0x80, 0x6f, 0xab,
	0x93, 0xb8, 0xe6, 0x36, 0xcf, 0xeb, 0x31, 0xae,
};

/* The version a digest S1 announces, as FMS 4.5 does.  FFmpeg checks the S1
 * digest and the S2 signature only when the first byte is at least 3. */
static const uint8_t server_version[4] = {4, 5, 0, 1};

/* Where the 32 digest bytes sit in a C1 or S1 (see handshake.h). */
static size_t digest_pos(const uint8_t *p, int scheme)
{
	size_t base = scheme ? 8 : 772;

	return (size_t)(p[base] + p[base + 1] + p[base + 2] + p[base + 3]) % 728 + base + 4;
}

static int hmac(const uint8_t *key, size_t klen, const uint8_t *msg, size_t len,
		uint8_t md[DIGEST_LEN])
{
	unsigned int mdlen = 0;

	if (!HMAC(EVP_sha256(), key, (int)klen, msg, len, md, &mdlen) || mdlen != DIGEST_LEN)
		return -ENOMEM;
	return 0;
}

/* HMAC-SHA256 over a 1536-byte block without the 32 bytes at pos. */
static int hmac_around(const uint8_t *block, size_t pos, const uint8_t *key, size_t klen,
		       uint8_t md[DIGEST_LEN])
{
	uint8_t rest[HS_SIZE - DIGEST_LEN];

	memcpy(rest, block, pos);
	memcpy(rest + pos, block + pos + DIGEST_LEN, sizeof(rest) - pos);
	return hmac(key, klen, rest, sizeof(rest), md);
}

/* Returns the scheme whose digest in C1 is valid, -1 if neither, or -errno.
 * Scheme 1 first: it is what FFmpeg, our main client, uses. */
static int find_digest(const uint8_t *c1)
{
	uint8_t md[DIGEST_LEN];

	for (int scheme = 1; scheme >= 0; scheme--) {
		size_t pos = digest_pos(c1, scheme);
		int err = hmac_around(c1, pos, fp_key, FP_KEY_TEXT, md);

		if (err)
			return err;
		if (!CRYPTO_memcmp(md, c1 + pos, DIGEST_LEN))
			return scheme;
	}
	return -1;
}

static int fill_random(uint8_t *p, size_t n)
{
	return RAND_bytes(p, (int)n) == 1 ? 0 : -EIO;
}

/* S1: time, zero version, random.  S2: C1 echoed unchanged. */
static int make_simple(const struct handshake *hs, uint8_t *s1, uint8_t *s2)
{
	put_be32(s1, hs->epoch);
	memset(s1 + 4, 0, 4);
	memcpy(s2, hs->c1, HS_SIZE);
	return fill_random(s1 + 8, HS_SIZE - 8);
}

/* S1: time, version, random with our digest placed by the client's scheme.
 * S2: random, signed with a key derived from the client's digest. */
static int make_digest(const struct handshake *hs, uint8_t *s1, uint8_t *s2)
{
	uint8_t key[DIGEST_LEN];
	size_t pos;
	int err;

	put_be32(s1, hs->epoch);
	memcpy(s1 + 4, server_version, sizeof(server_version));
	err = fill_random(s1 + 8, HS_SIZE - 8);
	if (err)
		return err;
	pos = digest_pos(s1, hs->scheme);
	err = hmac_around(s1, pos, fms_key, FMS_KEY_TEXT, s1 + pos);
	if (err)
		return err;

	err = fill_random(s2, S2_SIGNED);
	if (err)
		return err;
	err = hmac(fms_key, sizeof(fms_key), hs->c1 + digest_pos(hs->c1, hs->scheme),
		   DIGEST_LEN, key);
	if (!err)
		err = hmac(key, sizeof(key), s2, S2_SIGNED, s2 + S2_SIGNED);
	OPENSSL_cleanse(key, sizeof(key));
	return err;
}

/* C1 is complete: choose the variant and append S0+S1+S2 to out. */
static int respond(struct handshake *hs, struct buf *out)
{
	uint8_t s[1 + 2 * HS_SIZE];
	int scheme = -1;
	int err;

	if (be32(hs->c1 + 4)) {
		scheme = find_digest(hs->c1);
		if (scheme < -1)
			return scheme;
	}
	hs->scheme = scheme;
	hs->digest = scheme >= 0;
	s[0] = 3;
	if (hs->digest)
		err = make_digest(hs, s + 1, s + 1 + HS_SIZE);
	else
		err = make_simple(hs, s + 1, s + 1 + HS_SIZE);
	if (!err && buf_append(out, s, sizeof(s)))
		err = -ENOMEM;
	if (err) {
		hs->scheme = -1;
		hs->digest = false;
	}
	return err;
}

void handshake_init(struct handshake *hs, uint32_t epoch)
{
	memset(hs, 0, sizeof(*hs));
	hs->state = HS_WAIT_C0C1;
	hs->scheme = -1;
	hs->epoch = epoch;
}

int handshake_input(struct handshake *hs, const uint8_t *in, size_t len, struct buf *out)
{
	size_t used = 0, n;
	int err;

	if (hs->state == HS_WAIT_C0C1 && len) {
		if (!hs->got) {
			if (in[0] != 3)
				return -EPROTO;
			used = 1;
		}
		n = 1 + HS_SIZE - hs->got - used;
		if (n > len - used)
			n = len - used;
		memcpy(hs->c1 + hs->got + used - 1, in + used, n);
		used += n;
		if (hs->got + used < 1 + HS_SIZE) {
			hs->got += used;
			return (int)used;
		}
		err = respond(hs, out);
		if (err)
			return err;   /* hs->got unchanged: the caller may feed it again */
		hs->state = HS_WAIT_C2;
		hs->got = 0;
	}
	if (hs->state == HS_WAIT_C2) {
		n = HS_SIZE - hs->got;
		if (n > len - used)
			n = len - used;
		hs->got += n;
		used += n;
		if (hs->got == HS_SIZE)
			hs->state = HS_DONE;
	}
	return (int)used;
}
