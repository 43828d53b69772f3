/* SRTP and SRTCP through a backend, and the SDES key-params (RFC 4568)
 * that XEP-0167 carries in <crypto/>.  This file checks arguments and
 * headers, counts outcomes and dispatches; srtp_ossl.c and srtp_libsrtp.c
 * do the crypto (srtp_int.h).
 *
 * Why OpenSSL is the default: Debian 12's libsrtp2 2.5.0 is built on NSS,
 * whose AES-ICM makes and frees a PK11 context for every packet under a
 * lock that both media threads contend on; at 100 calls the engine spent
 * about half its CPU in srtp_protect/unprotect (perf).  bench/srtp/
 * srtp_bench, protect + unprotect of one 75-byte Speex payload, CPU ns
 * per packet (median of 3; RelWithDebInfo, 2-vCPU Xeon with AES-NI and
 * SHA-NI, OpenSSL 3.0.22), with 1, 100 and 1000 sessions per thread:
 *                          1 call   100 calls   1000 calls   mallocs
 *   openssl, 1 thread         430         436          510         0
 *   openssl, 2 threads        430         438          515         0
 *   libsrtp, 1 thread       3 450       5 280       87 600        28
 *   libsrtp, 2 threads      3 620       9 600      350 000        28
 * (libsrtp's wall time with two threads is 1.7x its CPU time at 1 call:
 * the lock.)  NSS's cost grows with the number of keys it holds, OpenSSL's
 * only with the cache.  1000 calls are 50 000 packets/s each way: 2.6% of
 * a core on OpenSSL, and more than four cores on libsrtp.  libsrtp stays
 * as an option (--srtp-backend libsrtp) to compare with and fall back on. */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include "buf.h"
#include "log.h"
#include "mem.h"
#include "srtp_int.h"

#define B64_KEY 40      /* base64 of 30 bytes, no padding */

static const struct msrtp_ops *const backends[] = {
	[MSRTP_OPENSSL] = &msrtp_ossl_ops,
	[MSRTP_LIBSRTP] = &msrtp_libsrtp_ops,
};
#define NBACKENDS (sizeof(backends) / sizeof(backends[0]))

static enum msrtp_backend backend = MSRTP_OPENSSL;
static bool inited;

/* Every backend, so that sessions of either can be made later. */
int msrtp_init(void)
{
	if (inited)
		return 0;
	for (size_t i = 0; i < NBACKENDS; i++) {
		int err = backends[i]->init();
		if (err)
			return err;
	}
	inited = true;
	return 0;
}

int msrtp_set_backend(enum msrtp_backend b)
{
	if ((unsigned)b >= NBACKENDS)
		return -EINVAL;
	backend = b;
	return 0;
}

enum msrtp_backend msrtp_get_backend(void)
{
	return backend;
}

const char *msrtp_backend_name(enum msrtp_backend b)
{
	return (unsigned)b < NBACKENDS ? backends[b]->name : "?";
}

int msrtp_backend_parse(const char *name, enum msrtp_backend *b)
{
	for (size_t i = 0; name && i < NBACKENDS; i++) {
		if (!strcmp(name, backends[i]->name)) {
			*b = (enum msrtp_backend)i;
			return 0;
		}
	}
	return -EINVAL;
}

static void destroy(void *arg)
{
	struct msrtp *s = arg;

	mem_deref(s->be);
}

int msrtp_alloc_on(struct msrtp **sp, enum msrtp_backend b, enum msrtp_profile prof,
		   const uint8_t *tx_key_salt, const uint8_t *rx_key_salt)
{
	struct msrtp *s;
	int err;

	if (!sp || !tx_key_salt || !rx_key_salt || (unsigned)b >= NBACKENDS ||
	    (prof != MSRTP_AES_CM_128_HMAC_SHA1_80 && prof != MSRTP_AES_CM_128_HMAC_SHA1_32))
		return -EINVAL;
	if (!inited)
		return -EIO;
	s = mem_zalloc(sizeof(*s), destroy);
	if (!s)
		return -ENOMEM;
	s->ops = backends[b];
	s->prof = prof;
	err = s->ops->alloc(s, tx_key_salt, rx_key_salt);
	if (err) {
		mem_deref(s);
		return err;
	}
	*sp = s;
	return 0;
}

int msrtp_alloc(struct msrtp **sp, enum msrtp_profile prof,
		const uint8_t *tx_key_salt, const uint8_t *rx_key_salt)
{
	return msrtp_alloc_on(sp, backend, prof, tx_key_salt, rx_key_salt);
}

/* Count an outcome in the session's stats. */
static int count(struct msrtp *s, int err)
{
	switch (err) {
	case 0:
		break;
	case -EACCES:
		s->st.auth_fail++;
		break;
	case -EALREADY:
		s->st.replay++;
		break;
	case -EBADMSG:
		s->st.malformed++;
		break;
	case -ENOSPC:
		s->st.nospace++;
		break;
	default:
		s->st.other++;
		break;
	}
	return err;
}

/* Header length of an RTP packet (fixed part, CSRCs, extension), or 0. */
static size_t rtp_hdr_len(const uint8_t *p, size_t len)
{
	size_t h;

	if (len < MSRTP_RTP_HDR || p[0] >> 6 != 2)
		return 0;
	h = MSRTP_RTP_HDR + 4 * (size_t)(p[0] & 0x0f);
	if (p[0] & 0x10) {
		if (h + 4 > len)
			return 0;
		h += 4 + 4 * (size_t)be16(p + h + 2);
	}
	return h <= len ? h : 0;
}

static int check_room(const size_t *len, size_t cap)
{
	if (*len > INT_MAX - MSRTP_MAX_TRAILER || cap < *len + MSRTP_MAX_TRAILER)
		return -ENOSPC;
	return 0;
}

int msrtp_protect(struct msrtp *s, uint8_t *pkt, size_t *len, size_t cap)
{
	size_t h;
	int err;

	if (!pkt || !len)
		return -EINVAL;
	if ((err = check_room(len, cap)))
		return count(s, err);
	if (!(h = rtp_hdr_len(pkt, *len)))
		return count(s, -EBADMSG);
	err = count(s, s->ops->protect(s, pkt, len, h));
	if (!err)
		s->st.rtp_tx++;
	return err;
}

int msrtp_unprotect(struct msrtp *s, uint8_t *pkt, size_t *len)
{
	size_t h;
	int err;

	if (!pkt || !len)
		return -EINVAL;
	h = rtp_hdr_len(pkt, *len);
	if (!h || *len < h + msrtp_tag_len(s) || *len > INT_MAX)
		return count(s, -EBADMSG);
	err = count(s, s->ops->unprotect(s, pkt, len, h));
	if (!err)
		s->st.rtp_rx++;
	return err;
}

int msrtp_protect_rtcp(struct msrtp *s, uint8_t *pkt, size_t *len, size_t cap)
{
	int err;

	if (!pkt || !len)
		return -EINVAL;
	if ((err = check_room(len, cap)))
		return count(s, err);
	if (*len < MSRTP_RTCP_HDR || pkt[0] >> 6 != 2)
		return count(s, -EBADMSG);
	err = count(s, s->ops->protect_rtcp(s, pkt, len));
	if (!err)
		s->st.rtcp_tx++;
	return err;
}

int msrtp_unprotect_rtcp(struct msrtp *s, uint8_t *pkt, size_t *len)
{
	int err;

	if (!pkt || !len)
		return -EINVAL;
	if (*len < MSRTP_RTCP_HDR + MSRTP_SRTCP_INDEX + MSRTP_RTCP_TAG || *len > INT_MAX ||
	    pkt[0] >> 6 != 2)
		return count(s, -EBADMSG);
	err = count(s, s->ops->unprotect_rtcp(s, pkt, len));
	if (!err)
		s->st.rtcp_rx++;
	return err;
}

const struct msrtp_stats *msrtp_stats(const struct msrtp *s)
{
	return &s->st;
}

enum msrtp_profile msrtp_get_profile(const struct msrtp *s)
{
	return s->prof;
}

static const char *const suites[] = {
	[MSRTP_AES_CM_128_HMAC_SHA1_80] = "AES_CM_128_HMAC_SHA1_80",
	[MSRTP_AES_CM_128_HMAC_SHA1_32] = "AES_CM_128_HMAC_SHA1_32",
};

const char *msrtp_profile_name(enum msrtp_profile prof)
{
	return (unsigned)prof < sizeof(suites) / sizeof(suites[0]) ? suites[prof] : "?";
}

int msrtp_profile_parse(const char *suite, enum msrtp_profile *prof)
{
	for (unsigned i = 0; suite && i < sizeof(suites) / sizeof(suites[0]); i++) {
		if (!strcmp(suite, suites[i])) {
			*prof = (enum msrtp_profile)i;
			return 0;
		}
	}
	return -ENOTSUP;
}

int msrtp_sdes_generate(uint8_t key_salt[MSRTP_KEY_SALT_LEN], char params[MSRTP_SDES_SIZE])
{
	if (RAND_bytes(key_salt, MSRTP_KEY_SALT_LEN) != 1)
		return -EIO;
	memcpy(params, "inline:", 7);
	if (EVP_EncodeBlock((unsigned char *)params + 7, key_salt, MSRTP_KEY_SALT_LEN) != B64_KEY)
		return -EIO;
	return 0;
}

static int b64val(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Strict base64 of exactly 30 bytes: 40 characters, no padding. */
static int b64_key(const char *s, uint8_t out[MSRTP_KEY_SALT_LEN])
{
	for (size_t i = 0, o = 0; i < B64_KEY; i += 4) {
		uint32_t v = 0;

		for (size_t j = 0; j < 4; j++) {
			int d = b64val(s[i + j]);
			if (d < 0)
				return -EBADMSG;
			v = v << 6 | (uint32_t)d;
		}
		out[o++] = (uint8_t)(v >> 16);
		out[o++] = (uint8_t)(v >> 8);
		out[o++] = (uint8_t)v;
	}
	return 0;
}

/* A lifetime is a decimal number or "2^" and one. */
static bool lifetime_ok(const char *p, size_t n)
{
	if (n > 2 && p[0] == '2' && p[1] == '^') {
		p += 2;
		n -= 2;
	}
	if (!n || n > 20)
		return false;
	for (size_t i = 0; i < n; i++)
		if (p[i] < '0' || p[i] > '9')
			return false;
	return true;
}

int msrtp_sdes_parse(const char *params, size_t len, uint8_t key_salt[MSRTP_KEY_SALT_LEN])
{
	const char *p = params, *end = params + len;
	uint8_t tmp[MSRTP_KEY_SALT_LEN];
	int err, nparts = 0;

	if (!params)
		return -EINVAL;
	if (memchr(p, ';', len))
		return -ENOTSUP;   /* several keys */
	if (len < 7 + B64_KEY || strncasecmp(p, "inline:", 7))
		return -EBADMSG;
	p += 7;
	err = b64_key(p, tmp);
	p += B64_KEY;
	if (!err && p < end && *p != '|')
		err = -EBADMSG;   /* longer key, padding or junk */
	while (!err && p < end) {
		const char *part = p + 1, *bar = memchr(part, '|', (size_t)(end - part));
		size_t n = (size_t)((bar ? bar : end) - part);

		if (memchr(part, ':', n))
			err = -ENOTSUP;   /* MKI */
		else if (nparts++ || !lifetime_ok(part, n))
			err = -EBADMSG;   /* one lifetime at most */
		p = part + n;
	}
	if (!err)
		memcpy(key_salt, tmp, sizeof(tmp));
	OPENSSL_cleanse(tmp, sizeof(tmp));
	return err;
}
