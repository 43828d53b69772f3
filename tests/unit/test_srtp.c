/* Tests for media/srtp.c on each backend: known answers from libsrtp's
 * srtp_validate() and from RFC 3711 appendix B (checked by an independent
 * AES-CM/HMAC build of the packet here), round trips, tampering, replay,
 * wrong keys, malformed packets, counters; and the SDES key-params.
 * test_srtp_ossl.c tests the OpenSSL backend's parts, test_srtp_cross.c
 * holds the two backends to the same bytes and verdicts. */
#include <string.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include "buf.h"
#include "mem.h"
#include "srtp_int.h"
#include "test.h"

/* Like TEST_ASSERT, TEST_EQ and TEST_MEMEQ, but through "out" so that
 * nothing leaks when a check fails. */
#define CHECK(c) TEST_ERR((c) ? 0 : EBADMSG)
#define CHECK_MEMEQ(a, alen, b, blen) TEST_ERR(test_memeq(__FILE__, __LINE__, a, alen, b, blen))
#define CHECK_EQ(a, b) do { long long a_ = (long long)(a), b_ = (long long)(b); \
	if (a_ != b_) { char m_[200]; \
		snprintf(m_, sizeof(m_), "%s == %s (%lld != %lld)", #a, #b, a_, b_); \
		test_fail(__FILE__, __LINE__, m_); err = EBADMSG; goto out; } } while (0)

/* cisco/libsrtp test/srtp_driver.c, srtp_validate(): the master key and salt
 * (also RFC 3711 B.3's), an RTP and an RTCP packet, and what the default
 * policy (AES_CM_128_HMAC_SHA1_80, SSRC 0xcafebabe) makes of them. */
static const uint8_t kat_key[MSRTP_KEY_SALT_LEN] = {
	0xe1, 0xf9, 0x7a, 0x0d, 0x3e, 0x01, 0x8b, 0xe0, 0xd6, 0x4f, 0xa3, 0x2c,
	0x06, 0xde, 0x41, 0x39, 0x0e, 0xc6, 0x75, 0xad, 0x49, 0x8a, 0xfe, 0xeb,
	0xb6, 0x96, 0x0b, 0x3a, 0xab, 0xe6,
};
static const uint8_t kat_rtp[28] = {
	0x80, 0x0f, 0x12, 0x34, 0xde, 0xca, 0xfb, 0xad, 0xca, 0xfe, 0xba, 0xbe,
	0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab,
	0xab, 0xab, 0xab, 0xab,
};
static const uint8_t kat_srtp[38] = {
	0x80, 0x0f, 0x12, 0x34, 0xde, 0xca, 0xfb, 0xad, 0xca, 0xfe, 0xba, 0xbe,
	0x4e, 0x55, 0xdc, 0x4c, 0xe7, 0x99, 0x78, 0xd8, 0x8c, 0xa4, 0xd2, 0x15,
	0x94, 0x9d, 0x24, 0x02, 0xb7, 0x8d, 0x6a, 0xcc, 0x99, 0xea, 0x17, 0x9b,
	0x8d, 0xbb,
};
static const uint8_t kat_rtcp[24] = {
	0x81, 0xc8, 0x00, 0x0b, 0xca, 0xfe, 0xba, 0xbe, 0xab, 0xab, 0xab, 0xab,
	0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab,
};
static const uint8_t kat_srtcp[38] = {
	0x81, 0xc8, 0x00, 0x0b, 0xca, 0xfe, 0xba, 0xbe, 0x71, 0x28, 0x03, 0x5b,
	0xe4, 0x87, 0xb9, 0xbd, 0xbe, 0xf8, 0x90, 0x41, 0xf9, 0x77, 0xa5, 0xa8,
	0x80, 0x00, 0x00, 0x01, 0x99, 0x3e, 0x08, 0xcd, 0x54, 0xd6, 0xc1, 0x23,
	0x07, 0x98,
};

/* RFC 3711 B.3: the session keys derived from kat_key (kdr 0, index 0). */
static const uint8_t b3_cipher_key[16] = {
	0xc6, 0x1e, 0x7a, 0x93, 0x74, 0x4f, 0x39, 0xee, 0x10, 0x73, 0x4a, 0xfe,
	0x3f, 0xf7, 0xa0, 0x87,
};
static const uint8_t b3_salt[14] = {
	0x30, 0xcb, 0xbc, 0x08, 0x86, 0x3d, 0x8c, 0x85, 0xd4, 0x9d, 0xb3, 0x4a,
	0x9a, 0xe1,
};
static const uint8_t b3_auth_key[20] = {
	0xce, 0xbe, 0x32, 0x1f, 0x6f, 0xf7, 0x71, 0x6b, 0x6f, 0xd4, 0xab, 0x49,
	0xaf, 0x25, 0x6a, 0x15, 0x6d, 0x38, 0xba, 0xa4,
};
/* RFC 3711 B.2: AES-CM keystream for this session key and salt, SSRC 0, index 0. */
static const uint8_t b2_key[16] = {
	0x2b, 0x7e, 0x15, 0x16, 0x28, 0xae, 0xd2, 0xa6, 0xab, 0xf7, 0x15, 0x88,
	0x09, 0xcf, 0x4f, 0x3c,
};
static const uint8_t b2_salt[14] = {
	0xf0, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa, 0xfb,
	0xfc, 0xfd,
};
static const uint8_t b2_stream[48] = {
	0xe0, 0x3e, 0xad, 0x09, 0x35, 0xc9, 0x5e, 0x80, 0xe1, 0x66, 0xb1, 0x6d,
	0xd9, 0x2b, 0x4e, 0xb4, 0xd2, 0x35, 0x13, 0x16, 0x2b, 0x02, 0xd0, 0xf7,
	0x2a, 0x43, 0xa2, 0xfe, 0x4a, 0x5f, 0x97, 0xab, 0x41, 0xe9, 0x5b, 0x3b,
	0xb0, 0xa2, 0xe8, 0xdd, 0x47, 0x79, 0x01, 0xe4, 0xfc, 0xa8, 0x94, 0xc0,
};

/* AES-CM (RFC 3711 4.1.1) with OpenSSL's CTR mode: XOR data with the key
 * stream for IV = salt*2^16 ^ SSRC*2^64 ^ index*2^16. */
static int aes_cm(const uint8_t key[16], const uint8_t salt[14], uint32_t ssrc, uint64_t index,
		  uint8_t *data, size_t len)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	uint8_t iv[16] = {0};
	int n = 0, ok;

	memcpy(iv, salt, 14);
	for (int i = 0; i < 4; i++)
		iv[4 + i] ^= (uint8_t)(ssrc >> (24 - 8 * i));
	for (int i = 0; i < 6; i++)
		iv[8 + i] ^= (uint8_t)(index >> (40 - 8 * i));
	ok = c && EVP_EncryptInit_ex(c, EVP_aes_128_ctr(), NULL, key, iv) &&
	     EVP_EncryptUpdate(c, data, &n, data, (int)len) && n == (int)len;
	EVP_CIPHER_CTX_free(c);
	return ok ? 0 : EIO;
}

/* The RFC 3711 4.3.1 key derivation with kdr 0: AES-CM under the master key
 * with x = label*2^48 ^ master salt as the "salt", over zeros. */
static int derive(const uint8_t *master, uint8_t label, uint8_t *out, size_t len)
{
	uint8_t x[14];

	memcpy(x, master + 16, 14);
	x[7] ^= label;
	memset(out, 0, len);
	return aes_cm(master, x, 0, 0, out, len);
}

/* Run a test once per backend, through the public msrtp_alloc(). */
static int each_backend(int (*fn)(void), const char *name)
{
	enum msrtp_backend was = msrtp_get_backend();
	int err = 0;

	for (int b = MSRTP_OPENSSL; b <= MSRTP_LIBSRTP && !err; b++) {
		msrtp_set_backend((enum msrtp_backend)b);
		err = fn();
		if (err) {
			char m[100];
			snprintf(m, sizeof(m), "%s on %s", name, msrtp_backend_name(b));
			test_fail(__FILE__, __LINE__, m);
		}
	}
	msrtp_set_backend(was);
	return err;
}

static int kat(void)
{
	uint8_t buf[64 + MSRTP_MAX_TRAILER];
	struct msrtp *s = NULL;
	size_t len;
	int err;

	TEST_ERR(msrtp_init());
	TEST_ERR(msrtp_alloc(&s, MSRTP_AES_CM_128_HMAC_SHA1_80, kat_key, kat_key));
	memcpy(buf, kat_rtp, sizeof(kat_rtp));
	len = sizeof(kat_rtp);
	TEST_ERR(msrtp_protect(s, buf, &len, sizeof(buf)));
	CHECK_MEMEQ(buf, len, kat_srtp, sizeof(kat_srtp));
	TEST_ERR(msrtp_unprotect(s, buf, &len));
	CHECK_MEMEQ(buf, len, kat_rtp, sizeof(kat_rtp));

	memcpy(buf, kat_rtcp, sizeof(kat_rtcp));
	len = sizeof(kat_rtcp);
	TEST_ERR(msrtp_protect_rtcp(s, buf, &len, sizeof(buf)));
	CHECK_MEMEQ(buf, len, kat_srtcp, sizeof(kat_srtcp));
	TEST_ERR(msrtp_unprotect_rtcp(s, buf, &len));
	CHECK_MEMEQ(buf, len, kat_rtcp, sizeof(kat_rtcp));
	s = mem_deref(s);

	/* _32: the same packet, the tag cut to its first 4 bytes (RFC 3711
	 * 4.2: the leftmost bits of HMAC-SHA1); SRTCP keeps 80 bits. */
	TEST_ERR(msrtp_alloc(&s, MSRTP_AES_CM_128_HMAC_SHA1_32, kat_key, kat_key));
	memcpy(buf, kat_rtp, sizeof(kat_rtp));
	len = sizeof(kat_rtp);
	TEST_ERR(msrtp_protect(s, buf, &len, sizeof(buf)));
	CHECK_MEMEQ(buf, len, kat_srtp, sizeof(kat_rtp) + 4);
	TEST_ERR(msrtp_unprotect(s, buf, &len));
	CHECK_MEMEQ(buf, len, kat_rtp, sizeof(kat_rtp));
	memcpy(buf, kat_rtcp, sizeof(kat_rtcp));
	len = sizeof(kat_rtcp);
	TEST_ERR(msrtp_protect_rtcp(s, buf, &len, sizeof(buf)));
	CHECK_MEMEQ(buf, len, kat_srtcp, sizeof(kat_srtcp));
	CHECK_EQ(msrtp_get_profile(s), MSRTP_AES_CM_128_HMAC_SHA1_32);
out:
	mem_deref(s);
	return err;
}

static int rfc3711_vectors(void)
{
	uint8_t ck[16], salt[14], ak[20], stream[48] = {0}, tag[20];
	uint8_t pkt[12 + 160 + MSRTP_MAX_TRAILER], want[12 + 160 + 10];
	struct msrtp *s = NULL;
	unsigned taglen = 0;
	size_t len;
	int err;

	/* B.2 checks our AES-CM, B.3 our key derivation. */
	TEST_ERR(aes_cm(b2_key, b2_salt, 0, 0, stream, sizeof(stream)));
	CHECK_MEMEQ(stream, sizeof(stream), b2_stream, sizeof(b2_stream));
	TEST_ERR(derive(kat_key, 0, ck, sizeof(ck)));
	TEST_ERR(derive(kat_key, 1, ak, sizeof(ak)));
	TEST_ERR(derive(kat_key, 2, salt, sizeof(salt)));
	CHECK_MEMEQ(ck, sizeof(ck), b3_cipher_key, sizeof(b3_cipher_key));
	CHECK_MEMEQ(ak, sizeof(ak), b3_auth_key, sizeof(b3_auth_key));
	CHECK_MEMEQ(salt, sizeof(salt), b3_salt, sizeof(b3_salt));

	/* A 20 ms PCMU-sized packet built by hand with the B.3 session keys
	 * (RFC 3711 3.1, 4.1.1, 4.2: ROC 0), against a full msrtp_protect. */
	memset(pkt, 0, sizeof(pkt));
	pkt[0] = 0x80;
	pkt[1] = 0x80 | 8;
	put_be16(pkt + 2, 0x1234);
	put_be32(pkt + 4, 160 * 99);
	put_be32(pkt + 8, 0xdeadbeef);
	for (int i = 0; i < 160; i++)
		pkt[12 + i] = (uint8_t)(i * 7 + 1);
	memcpy(want, pkt, 12 + 160);
	TEST_ERR(aes_cm(ck, salt, 0xdeadbeef, 0x1234, want + 12, 160));
	memset(want + 12 + 160, 0, 4);   /* ROC, authenticated but not sent */
	CHECK(HMAC(EVP_sha1(), ak, sizeof(ak), want, 12 + 160 + 4, tag, &taglen));
	memcpy(want + 12 + 160, tag, 10);

	TEST_ERR(msrtp_init());
	TEST_ERR(msrtp_alloc(&s, MSRTP_AES_CM_128_HMAC_SHA1_80, kat_key, kat_key));
	len = 12 + 160;
	TEST_ERR(msrtp_protect(s, pkt, &len, sizeof(pkt)));
	CHECK_MEMEQ(pkt, len, want, sizeof(want));
out:
	mem_deref(s);
	return err;
}

/* B.2, B.3 and HMAC through the OpenSSL backend's own functions. */
int test_srtp_ossl_vectors(void)
{
	static const uint8_t msg[] = "RFC 3711 4.2: the authenticated portion, then the ROC";
	static const uint8_t zero[48];
	uint8_t out[48] = {0}, tag[20], want[20], roc[4] = {0, 0, 0, 7}, m2[sizeof(msg) + 4];
	struct osrtp_keys k = {0};
	unsigned taglen = 0;
	int err;

	TEST_ERR(-osrtp_keys_set(&k, b2_key, b2_salt, b3_auth_key));
	TEST_ERR(-osrtp_crypt(&k, 0, 0, out, sizeof(out)));
	CHECK_MEMEQ(out, sizeof(out), b2_stream, sizeof(b2_stream));
	/* A packet index moves the key stream; encrypting twice gives zeros. */
	TEST_ERR(-osrtp_crypt(&k, 0, 1, out, sizeof(out)));
	CHECK(memcmp(out, zero, sizeof(out)));
	TEST_ERR(-osrtp_crypt(&k, 0, 1, out, sizeof(out)));
	TEST_ERR(-osrtp_crypt(&k, 0, 0, out, sizeof(out)));
	CHECK_MEMEQ(out, sizeof(out), zero, sizeof(zero));

	memcpy(m2, msg, sizeof(msg));
	memcpy(m2 + sizeof(msg), roc, 4);
	osrtp_hmac(&k, msg, sizeof(msg), roc, tag);
	CHECK(HMAC(EVP_sha1(), b3_auth_key, 20, m2, sizeof(m2), want, &taglen));
	CHECK_MEMEQ(tag, sizeof(tag), want, sizeof(want));
	osrtp_hmac(&k, m2, sizeof(m2), NULL, tag);
	CHECK_MEMEQ(tag, sizeof(tag), want, sizeof(want));

	TEST_ERR(-osrtp_derive(kat_key, OSRTP_LABEL_RTP, out, 16));
	CHECK_MEMEQ(out, 16, b3_cipher_key, sizeof(b3_cipher_key));
	TEST_ERR(-osrtp_derive(kat_key, OSRTP_LABEL_RTP + 1, out, 20));
	CHECK_MEMEQ(out, 20, b3_auth_key, sizeof(b3_auth_key));
	TEST_ERR(-osrtp_derive(kat_key, OSRTP_LABEL_RTP + 2, out, 14));
	CHECK_MEMEQ(out, 14, b3_salt, sizeof(b3_salt));
	/* The SRTCP labels, against this file's independent derive(). */
	for (uint8_t l = OSRTP_LABEL_RTCP; l < OSRTP_LABEL_RTCP + 3; l++) {
		TEST_ERR(-osrtp_derive(kat_key, l, out, 20));
		TEST_ERR(derive(kat_key, l, want, 20));
		CHECK_MEMEQ(out, 20, want, 20);
	}
out:
	osrtp_keys_clear(&k);
	return err;
}

static void make_rtp(uint8_t *p, uint16_t seq, uint32_t ssrc, size_t payload)
{
	p[0] = 0x80;
	p[1] = 96;
	put_be16(p + 2, seq);
	put_be32(p + 4, 320u * seq);
	put_be32(p + 8, ssrc);
	for (size_t i = 0; i < payload; i++)
		p[12 + i] = (uint8_t)(seq + i);
}

/* Alice and Bob, each sending with one key and receiving with the other. */
static int pair(struct msrtp **a, struct msrtp **b, enum msrtp_profile prof)
{
	uint8_t ka[MSRTP_KEY_SALT_LEN], kb[MSRTP_KEY_SALT_LEN];
	char params[MSRTP_SDES_SIZE];
	int err;

	*a = *b = NULL;
	err = msrtp_init();
	if (!err)
		err = msrtp_sdes_generate(ka, params);
	if (!err)
		err = msrtp_sdes_generate(kb, params);
	if (!err)
		err = msrtp_alloc(a, prof, ka, kb);
	if (!err)
		err = msrtp_alloc(b, prof, kb, ka);
	if (err)
		*a = mem_deref(*a);
	return err;
}

static int roundtrip(void)
{
	struct msrtp *a = NULL, *b = NULL;
	int err = 0;

	for (int prof = 0; prof < 2; prof++) {
		size_t tag = prof == MSRTP_AES_CM_128_HMAC_SHA1_32 ? 4 : 10;

		TEST_ERR(pair(&a, &b, (enum msrtp_profile)prof));
		for (uint16_t seq = 65530; seq != 6; seq++) {   /* across the rollover */
			uint8_t pkt[12 + 200 + MSRTP_MAX_TRAILER], ref[12 + 200];
			size_t n = 12 + (seq % 7) * 30, len = n;
			struct msrtp *from = seq & 1 ? a : b, *to = seq & 1 ? b : a;

			make_rtp(pkt, seq, seq & 1 ? 0x11111111 : 0x22222222, n - 12);
			memcpy(ref, pkt, n);
			TEST_ERR(msrtp_protect(from, pkt, &len, sizeof(pkt)));
			CHECK_EQ(len, n + tag);
			CHECK(n == 12 || memcmp(pkt + 12, ref + 12, n - 12));
			TEST_ERR(msrtp_unprotect(to, pkt, &len));
			CHECK_MEMEQ(pkt, len, ref, n);
		}
		CHECK_EQ(msrtp_stats(a)->rtp_tx + msrtp_stats(b)->rtp_tx, 12);
		CHECK_EQ(msrtp_stats(a)->rtp_rx + msrtp_stats(b)->rtp_rx, 12);
		a = mem_deref(a);
		b = mem_deref(b);
	}
out:
	mem_deref(a);
	mem_deref(b);
	return err;
}

static int tamper_replay(void)
{
	uint8_t pkt[12 + 40 + MSRTP_MAX_TRAILER], sent[12 + 40 + 10], bad[sizeof(sent)];
	struct msrtp *a = NULL, *b = NULL;
	size_t len = 12 + 40;
	int err;

	TEST_ERR(pair(&a, &b, MSRTP_AES_CM_128_HMAC_SHA1_80));
	make_rtp(pkt, 1000, 0xabcdef01, 40);
	TEST_ERR(msrtp_protect(a, pkt, &len, sizeof(pkt)));
	memcpy(sent, pkt, len);
	for (size_t i = 0; i < sizeof(sent); i += 5) {   /* header, payload, tag */
		size_t n = sizeof(bad);

		memcpy(bad, sent, sizeof(sent));
		bad[i] ^= 0x01;
		CHECK_EQ(msrtp_unprotect(b, bad, &n), -EACCES);
	}
	CHECK_EQ(msrtp_stats(b)->auth_fail, (sizeof(sent) + 4) / 5);
	/* The forgeries did not move the replay window: the real one passes. */
	len = sizeof(sent);
	TEST_ERR(msrtp_unprotect(b, pkt, &len));
	memcpy(pkt, sent, sizeof(sent));
	len = sizeof(sent);
	CHECK_EQ(msrtp_unprotect(b, pkt, &len), -EALREADY);
	CHECK_EQ(msrtp_stats(b)->replay, 1);
	/* A packet sent back to its sender meets the other key. */
	memcpy(pkt, sent, sizeof(sent));
	len = sizeof(sent);
	CHECK_EQ(msrtp_unprotect(a, pkt, &len), -EACCES);
	/* Wrong key altogether. */
	a = mem_deref(a);
	b = mem_deref(b);
	TEST_ERR(pair(&a, &b, MSRTP_AES_CM_128_HMAC_SHA1_80));
	memcpy(pkt, sent, sizeof(sent));
	len = sizeof(sent);
	CHECK_EQ(msrtp_unprotect(b, pkt, &len), -EACCES);
	CHECK_EQ(msrtp_stats(b)->auth_fail, 1);
	CHECK_EQ(msrtp_stats(b)->rtp_rx, 0);
out:
	mem_deref(a);
	mem_deref(b);
	return err;
}

static int rtcp(void)
{
	/* A receiver report with one block. */
	uint8_t rr[32] = {0x81, 0xc9, 0x00, 0x07, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88};
	uint8_t pkt[sizeof(rr) + MSRTP_MAX_TRAILER], sent[sizeof(rr) + 14];
	struct msrtp *a = NULL, *b = NULL;
	size_t len;
	int err;

	TEST_ERR(pair(&a, &b, MSRTP_AES_CM_128_HMAC_SHA1_32));
	for (int i = 0; i < 3; i++) {
		memcpy(pkt, rr, sizeof(rr));
		len = sizeof(rr);
		TEST_ERR(msrtp_protect_rtcp(a, pkt, &len, sizeof(pkt)));
		CHECK_EQ(len, sizeof(rr) + 4 + 10);   /* E|index, 80-bit tag */
		CHECK_EQ(be32(pkt + sizeof(rr)), 0x80000000u | (uint32_t)(i + 1));
		memcpy(sent, pkt, len);
		TEST_ERR(msrtp_unprotect_rtcp(b, pkt, &len));
		CHECK_MEMEQ(pkt, len, rr, sizeof(rr));
	}
	memcpy(pkt, sent, sizeof(sent));
	len = sizeof(sent);
	CHECK_EQ(msrtp_unprotect_rtcp(b, pkt, &len), -EALREADY);
	/* A fresh packet altered: auth fails (replay is checked first). */
	memcpy(pkt, rr, sizeof(rr));
	len = sizeof(rr);
	TEST_ERR(msrtp_protect_rtcp(a, pkt, &len, sizeof(pkt)));
	pkt[10] ^= 0x80;
	CHECK_EQ(msrtp_unprotect_rtcp(b, pkt, &len), -EACCES);
	pkt[10] ^= 0x80;
	TEST_ERR(msrtp_unprotect_rtcp(b, pkt, &len));
	CHECK_EQ(msrtp_stats(a)->rtcp_tx, 4);
	CHECK_EQ(msrtp_stats(b)->rtcp_rx, 4);
	CHECK_EQ(msrtp_stats(b)->replay, 1);
	CHECK_EQ(msrtp_stats(b)->auth_fail, 1);
out:
	mem_deref(a);
	mem_deref(b);
	return err;
}

static int malformed(void)
{
	uint8_t pkt[64 + MSRTP_MAX_TRAILER];
	struct msrtp *a = NULL, *b = NULL;
	size_t len;
	int err;

	TEST_ERR(pair(&a, &b, MSRTP_AES_CM_128_HMAC_SHA1_80));
	make_rtp(pkt, 1, 1, 20);
	len = 32;
	CHECK_EQ(msrtp_protect(a, pkt, &len, 32 + MSRTP_MAX_TRAILER - 1), -ENOSPC);
	CHECK_EQ(msrtp_protect_rtcp(a, pkt, &len, 40), -ENOSPC);
	CHECK_EQ(msrtp_stats(a)->nospace, 2);
	len = 11;
	CHECK_EQ(msrtp_protect(a, pkt, &len, sizeof(pkt)), -EBADMSG);
	pkt[0] = 0x40;   /* version 1 */
	len = 32;
	CHECK_EQ(msrtp_protect(a, pkt, &len, sizeof(pkt)), -EBADMSG);
	pkt[0] = 0x8f;   /* 15 CSRCs do not fit in 32 bytes */
	CHECK_EQ(msrtp_protect(a, pkt, &len, sizeof(pkt)), -EBADMSG);
	pkt[0] = 0x90;   /* an extension longer than the packet */
	put_be16(pkt + 14, 10);
	CHECK_EQ(msrtp_protect(a, pkt, &len, sizeof(pkt)), -EBADMSG);
	put_be16(pkt + 14, 1);   /* one extension word: fine */
	TEST_ERR(msrtp_protect(a, pkt, &len, sizeof(pkt)));
	TEST_ERR(msrtp_unprotect(b, pkt, &len));
	len = 12 + 9;   /* shorter than header and tag */
	CHECK_EQ(msrtp_unprotect(b, pkt, &len), -EBADMSG);
	len = 7;
	CHECK_EQ(msrtp_protect_rtcp(a, pkt, &len, sizeof(pkt)), -EBADMSG);
	len = 8 + 4 + 9;
	CHECK_EQ(msrtp_unprotect_rtcp(b, pkt, &len), -EBADMSG);
	CHECK_EQ(msrtp_stats(a)->malformed, 5);
	CHECK_EQ(msrtp_stats(b)->malformed, 2);
	CHECK_EQ(msrtp_alloc(&a, (enum msrtp_profile)7, pkt, pkt), -EINVAL);
out:
	mem_deref(a);
	mem_deref(b);
	return err;
}

int test_srtp_kat(void) { return each_backend(kat, "kat"); }
int test_srtp_rfc3711_vectors(void) { return each_backend(rfc3711_vectors, "rfc3711_vectors"); }
int test_srtp_roundtrip(void) { return each_backend(roundtrip, "roundtrip"); }
int test_srtp_tamper_replay(void) { return each_backend(tamper_replay, "tamper_replay"); }
int test_srtp_rtcp(void) { return each_backend(rtcp, "rtcp"); }
int test_srtp_malformed(void) { return each_backend(malformed, "malformed"); }

static int parse(const char *s, uint8_t *out)
{
	return msrtp_sdes_parse(s, strlen(s), out);
}

int test_srtp_sdes(void)
{
	/* The example key of RFC 4568, without its lifetime and MKI. */
	static const uint8_t rfc_key[MSRTP_KEY_SALT_LEN] = {
		0x3d, 0x2d, 0x6e, 0x40, 0x25, 0x5e, 0x78, 0x21, 0x42, 0x6a, 0x75, 0x66,
		0x72, 0x39, 0x29, 0x3f, 0x2c, 0x23, 0x35, 0x68, 0x5c, 0x60, 0x3d, 0x26,
		0x5d, 0x7b, 0x71, 0x69, 0x50, 0x51,
	};
	const char *k = "inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR";
	uint8_t key[MSRTP_KEY_SALT_LEN], back[MSRTP_KEY_SALT_LEN], other[MSRTP_KEY_SALT_LEN];
	char params[MSRTP_SDES_SIZE], s[128];
	enum msrtp_profile prof;

	TEST_EQ(parse(k, key), 0);
	TEST_MEMEQ(key, sizeof(key), rfc_key, sizeof(rfc_key));
	snprintf(s, sizeof(s), "%s|2^20", k);
	TEST_EQ(parse(s, key), 0);
	snprintf(s, sizeof(s), "%s|1048576", k);
	TEST_EQ(parse(s, key), 0);
	snprintf(s, sizeof(s), "INLINE:%s", k + 7);
	TEST_EQ(parse(s, key), 0);
	snprintf(s, sizeof(s), "%s|2^20|1:32", k);
	TEST_EQ(parse(s, key), -ENOTSUP);
	snprintf(s, sizeof(s), "%s|1:4", k);
	TEST_EQ(parse(s, key), -ENOTSUP);
	snprintf(s, sizeof(s), "%s;%s", k, k);
	TEST_EQ(parse(s, key), -ENOTSUP);
	const char *bad[] = {
		"", "inline:", "inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVB",
		"inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBRAA==",
		"inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaV=R",
		"inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVB!",
		"inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|",
		"inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^",
		"inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20|2^20",
		"inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|x",
		"inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR ",
		"outline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR",
	};
	memset(back, 0x5a, sizeof(back));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		TEST_EQ(parse(bad[i], back), -EBADMSG);
		TEST_EQ(back[0], 0x5a);   /* untouched on failure */
	}

	TEST_EQ(msrtp_sdes_generate(key, params), 0);
	TEST_EQ(strlen(params), 47);
	TEST_ASSERT(!strncmp(params, "inline:", 7));
	TEST_EQ(parse(params, back), 0);
	TEST_MEMEQ(back, sizeof(back), key, sizeof(key));
	TEST_EQ(msrtp_sdes_generate(other, params), 0);
	TEST_ASSERT(memcmp(other, key, sizeof(key)));

	TEST_STREQ(msrtp_profile_name(MSRTP_AES_CM_128_HMAC_SHA1_80), "AES_CM_128_HMAC_SHA1_80");
	TEST_STREQ(msrtp_profile_name(MSRTP_AES_CM_128_HMAC_SHA1_32), "AES_CM_128_HMAC_SHA1_32");
	TEST_EQ(msrtp_profile_parse("AES_CM_128_HMAC_SHA1_32", &prof), 0);
	TEST_EQ(prof, MSRTP_AES_CM_128_HMAC_SHA1_32);
	TEST_EQ(msrtp_profile_parse("AEAD_AES_256_GCM", &prof), -ENOTSUP);
	return 0;
}
