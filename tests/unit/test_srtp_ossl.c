/* The OpenSSL SRTP backend's own parts (media/srtp_ossl.c): the packet
 * index estimate (RFC 3711 3.3.1, appendix A) on its edges, the replay
 * window against a plain list of what was seen, and the fixed SSRC table:
 * the least recently used entry goes, a forgery takes no place, and no
 * packet allocates.  Its RFC 3711 vectors are in test_srtp.c. */
#include <string.h>
#include "buf.h"
#include "mem.h"
#include "srtp_int.h"
#include "test.h"

int test_srtp_ossl_index(void)
{
	static const struct {
		uint64_t top;
		uint16_t seq;
		uint64_t index;
		int delta;
	} cases[] = {
		{0, 5, 5, 5},
		{0, 0, 0, 0},
		{100, 65000, 65000, 64900},         /* ROC 0 near the start: never ROC - 1 */
		{0x8000, 0, 0, -0x8000},
		{0x8001, 0, 0x10000, 0x7fff},      /* s_l >= 2^15: the next ROC */
		{0x1ffff, 0, 0x20000, 1},          /* the wrap */
		{0x1ffff, 65534, 0x1fffe, -1},
		{0x20005, 65530, 0x1fffa, -11},    /* s_l < 2^15: the previous ROC */
		{0x18000, 0, 0x10000, -0x8000},
		{0x18001, 0, 0x20000, 0x7fff},
		{0x10064, 100 + 0x8000, 0x10064 + 0x8000, 0x8000},
		{0x10064, 100 + 0x8001, 0x00064 + 0x8001, 0x8001 - 0x10000},
		{0xffffffff0000ull + 5, 65535, 0xfffffffeffffull, -6},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t index = 0;
		int d = osrtp_estimate(cases[i].top, cases[i].seq, &index);

		TEST_EQ(index, cases[i].index);
		TEST_EQ(d, cases[i].delta);
	}
	return 0;
}

/* Random deltas against a list of seen indices: the window must say
 * -EALREADY exactly for those seen and for those 128 or more behind. */
int test_srtp_ossl_window(void)
{
	static uint8_t seen[1 << 16];
	struct osrtp_win w = {{0, 0}};
	uint64_t top = 1000, x = 88172645463325252ull;

	memset(seen, 0, sizeof(seen));
	for (int i = 0; i < 20000; i++) {
		int64_t delta;
		uint64_t at;
		int want;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		delta = (int64_t)(x % 150) - 140;
		if (x % 97 == 0)
			delta = 64 + (int64_t)(x >> 40 & 127);   /* jumps across the 64-bit words */
		at = top + (uint64_t)delta;
		if (at >= sizeof(seen))
			break;   /* far enough */
		want = delta > 0 ? 0 : delta <= -128 || seen[at] ? -EALREADY : 0;
		TEST_EQ(osrtp_win_check(&w, delta), want);
		if (!want) {
			osrtp_win_add(&w, &top, delta);
			seen[at] = 1;
			if (delta > 0)
				TEST_EQ(top, at);
			TEST_EQ(osrtp_win_check(&w, (int64_t)at - (int64_t)top), -EALREADY);
		}
	}
	TEST_ASSERT(top > 10000);   /* the walk went somewhere */
	return 0;
}

static int send_recv(struct msrtp *tx, struct msrtp *rx, uint32_t ssrc, uint16_t seq,
		     uint8_t *keep, size_t *keep_len)
{
	uint8_t pkt[12 + 20 + MSRTP_MAX_TRAILER] = {0x80, 0};
	size_t len = 12 + 20;
	int err;

	put_be16(pkt + 2, seq);
	put_be32(pkt + 8, ssrc);
	err = msrtp_protect(tx, pkt, &len, sizeof(pkt));
	if (!err && keep) {
		memcpy(keep, pkt, len);
		*keep_len = len;
	}
	return err ? err : msrtp_unprotect(rx, pkt, &len);
}

static int again(struct msrtp *rx, const uint8_t *pkt, size_t len)
{
	uint8_t buf[64];

	memcpy(buf, pkt, len);
	return msrtp_unprotect(rx, buf, &len);
}

int test_srtp_ossl_ssrcs(void)
{
	uint8_t key[MSRTP_KEY_SALT_LEN], first[5][64], forged[64];
	char params[MSRTP_SDES_SIZE];
	struct msrtp *tx = NULL, *rx = NULL;
	size_t flen[5], forged_len;
	struct mem_stat m0, m1;
	int err;

	TEST_ERR(-msrtp_init());
	TEST_ERR(-msrtp_sdes_generate(key, params));
	TEST_ERR(-msrtp_alloc_on(&tx, MSRTP_OPENSSL, MSRTP_AES_CM_128_HMAC_SHA1_80, key, key));
	TEST_ERR(-msrtp_alloc_on(&rx, MSRTP_OPENSSL, MSRTP_AES_CM_128_HMAC_SHA1_80, key, key));
	/* Four SSRCs fit; each packet's replay is refused. */
	for (uint32_t s = 0; s < 4; s++)
		TEST_ERR(-send_recv(tx, rx, 100 + s, 7, first[s], &flen[s]));
	for (uint32_t s = 0; s < 4; s++)
		TEST_ERR(again(rx, first[s], flen[s]) == -EALREADY ? 0 : EBADMSG);
	/* Keep SSRC 100 fresh; a forgery from a fifth SSRC takes no place. */
	TEST_ERR(-send_recv(tx, rx, 100, 8, NULL, NULL));
	memcpy(forged, first[1], flen[1]);
	put_be32(forged + 8, 999);
	forged_len = flen[1];
	TEST_ERR(again(rx, forged, forged_len) == -EACCES ? 0 : EBADMSG);
	TEST_ERR(again(rx, first[1], flen[1]) == -EALREADY ? 0 : EBADMSG);
	/* A real fifth SSRC replaces the least recently used, 101: its window
	 * is forgotten (libsrtp would still refuse this replay). */
	TEST_ERR(-send_recv(tx, rx, 104, 7, first[4], &flen[4]));
	TEST_ERR(again(rx, first[0], flen[0]) == -EALREADY ? 0 : EBADMSG);
	TEST_ERR(again(rx, first[2], flen[2]) == -EALREADY ? 0 : EBADMSG);
	TEST_ERR(-again(rx, first[1], flen[1]));

	/* Packets allocate nothing (the engine counts the same way). */
	mem_get_stat(&m0);
	for (uint16_t seq = 10; seq < 1010; seq++)
		TEST_ERR(-send_recv(tx, rx, 100 + seq % 6, seq, NULL, NULL));
	mem_get_stat(&m1);
	TEST_ERR(m1.allocs == m0.allocs ? 0 : EBADMSG);
out:
	mem_deref(tx);
	mem_deref(rx);
	return err;
}
