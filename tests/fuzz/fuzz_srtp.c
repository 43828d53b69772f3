/* libFuzzer target for msrtp_unprotect() and msrtp_unprotect_rtcp() on the
 * OpenSSL backend (media/srtp_ossl.c), with libsrtp as the oracle.  Byte 0:
 * bit 0 the profile (_80 or _32), bit 1 the mode:
 *   raw:    the rest is datagrams, each a 2-byte big-endian length (top
 *           bit: SRTCP) and its bytes, unprotected by both backends;
 *   sealed: the rest is steps, each an op byte, a 2-byte length and a
 *           plaintext RTP or RTCP packet (op bit 0) that both backends'
 *           senders protect (the version bits forced to 2); op bits 1-2:
 *           0 deliver it, 1 deliver it with one bit flipped, 2 deliver
 *           instead one of the last 8 sealed (op bits 3-5), 3 keep it.
 * Both senders must give the same verdict and the same bytes; both
 * receivers the same verdict (but for the E bit cleared: -EBADMSG against
 * libsrtp's -EIO) and, on success, the plaintext back.  Up to 4 SSRCs
 * only: past that the OpenSSL backend forgets one and libsrtp does not.
 * Seeds: test-vectors/rtp/ (any bytes will do). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "buf.h"
#include "mem.h"
#include "srtp_int.h"

#define CHECK(c) do { if (!(c)) abort(); } while (0)
#define MAXPKT 1500
#define CAP (MAXPKT + MSRTP_MAX_TRAILER)
#define NSSRC 4
#define RING 8

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct sealed {
	uint8_t plain[MAXPKT], prot[CAP];
	size_t plen, len;
	bool rtcp;
};

static const uint8_t key[MSRTP_KEY_SALT_LEN] = "rtmp2xmpp fuzz key and salt!!";
static struct msrtp *tx[2], *rx[2];   /* [0] OpenSSL, [1] libsrtp */
static struct sealed ring[RING];
/* libsrtp's NSS backend shuts NSS down (dlclose) with its last cipher and
 * loads it again with the next: one session kept for good saves that. */
static struct msrtp *nss_keepalive;
static uint32_t ssrcs[NSSRC];
static unsigned nssrc;

static bool e_bit_clear(const uint8_t *p, size_t len)
{
	return len >= MSRTP_RTCP_TAG + MSRTP_SRTCP_INDEX &&
	       !(p[len - MSRTP_RTCP_TAG - MSRTP_SRTCP_INDEX] & 0x80);
}

/* Unprotect the same bytes on both backends and compare. */
static void deliver(const uint8_t *pkt, size_t len, bool rtcp, const uint8_t *plain,
		    size_t plen)
{
	uint8_t buf[2][CAP];
	size_t n[2];
	int e[2];

	for (int b = 0; b < 2; b++) {
		memcpy(buf[b], pkt, len);
		n[b] = len;
		e[b] = rtcp ? msrtp_unprotect_rtcp(rx[b], buf[b], &n[b]) :
			      msrtp_unprotect(rx[b], buf[b], &n[b]);
	}
	CHECK(e[0] == 0 || e[0] == -EACCES || e[0] == -EALREADY || e[0] == -EBADMSG);
	if (rtcp && e[0] == -EBADMSG && e[1] == -EIO && e_bit_clear(pkt, len))
		return;
	CHECK(e[0] == e[1]);
	if (!e[0]) {
		CHECK(n[0] == n[1] && !memcmp(buf[0], buf[1], n[0]));
		CHECK(!plain || (n[0] == plen && !memcmp(buf[0], plain, plen)));
	}
}

/* Up to NSSRC distinct SSRCs; false when one more would be needed. */
static bool ssrc_ok(const uint8_t *p, size_t len, bool rtcp)
{
	uint32_t s;

	if (len < (rtcp ? 8u : 12u))
		return true;   /* malformed either way */
	s = be32(p + (rtcp ? 4 : 8));
	for (unsigned i = 0; i < nssrc; i++)
		if (ssrcs[i] == s)
			return true;
	if (nssrc == NSSRC)
		return false;
	ssrcs[nssrc++] = s;
	return true;
}

static bool seal(struct sealed *s)
{
	uint8_t other[CAP];
	size_t olen = s->plen;
	int e0, e1;

	memcpy(s->prot, s->plain, s->plen);
	memcpy(other, s->plain, s->plen);
	s->len = s->plen;
	e0 = s->rtcp ? msrtp_protect_rtcp(tx[0], s->prot, &s->len, CAP) :
		       msrtp_protect(tx[0], s->prot, &s->len, CAP);
	e1 = s->rtcp ? msrtp_protect_rtcp(tx[1], other, &olen, CAP) :
		       msrtp_protect(tx[1], other, &olen, CAP);
	CHECK(e0 == e1);
	CHECK(e0 || (s->len == olen && !memcmp(s->prot, other, olen)));
	return !e0;
}

static void steps(const uint8_t *p, size_t size)
{
	for (unsigned k = 0; size >= 3; k++) {
		uint8_t op = p[0];
		size_t len = be16(p + 1) % (MAXPKT + 1);
		struct sealed *s = &ring[k % RING];

		if (len > size - 3)
			len = size - 3;
		memcpy(s->plain, p + 3, len);
		if (len)
			s->plain[0] = (uint8_t)((s->plain[0] & 0x3f) | 0x80);
		s->plen = len;
		s->rtcp = op & 1;
		p += 3 + len;
		size -= 3 + len;
		if (!ssrc_ok(s->plain, s->plen, s->rtcp))
			return;
		if (!seal(s)) {
			s->len = 0;
			continue;
		}
		switch (op >> 1 & 3) {
		case 0:
			deliver(s->prot, s->len, s->rtcp, s->plain, s->plen);
			break;
		case 1: {
			size_t bit = ((size_t)(op >> 3) * 131 + len) % (s->len * 8);
			uint8_t bad[CAP];

			memcpy(bad, s->prot, s->len);
			bad[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			deliver(bad, s->len, s->rtcp, NULL, 0);
			break;
		}
		case 2:
			s = &ring[(op >> 3 & 7) % RING];
			if (s->len)
				deliver(s->prot, s->len, s->rtcp, s->plain, s->plen);
			break;
		default:
			break;
		}
	}
}

static void raw(const uint8_t *p, size_t size)
{
	while (size >= 2) {
		size_t len = be16(p) & 0x7fff;
		bool rtcp = p[0] & 0x80;

		p += 2;
		size -= 2;
		if (len > size)
			len = size;
		if (len <= MAXPKT && ssrc_ok(p, len, rtcp))
			deliver(p, len, rtcp, NULL, 0);
		p += len;
		size -= len;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum msrtp_profile prof;

	if (!size)
		return 0;
	CHECK(msrtp_init() == 0);
	if (!nss_keepalive)
		CHECK(msrtp_alloc_on(&nss_keepalive, MSRTP_LIBSRTP, MSRTP_AES_CM_128_HMAC_SHA1_80,
				     key, key) == 0);
	prof = data[0] & 1 ? MSRTP_AES_CM_128_HMAC_SHA1_32 : MSRTP_AES_CM_128_HMAC_SHA1_80;
	for (int b = 0; b < 2; b++) {
		CHECK(msrtp_alloc_on(&tx[b], b, prof, key, key) == 0);
		CHECK(msrtp_alloc_on(&rx[b], b, prof, key, key) == 0);
	}
	memset(ring, 0, sizeof(ring));
	nssrc = 0;
	if (data[0] & 2)
		steps(data + 1, size - 1);
	else
		raw(data + 1, size - 1);
	for (int b = 0; b < 2; b++) {
		tx[b] = mem_deref(tx[b]);
		rx[b] = mem_deref(rx[b]);
	}
	return 0;
}
