/* SRTP and SRTCP on libsrtp2, and the SDES key-params (RFC 4568) that
 * XEP-0167 carries in <crypto/>. */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <srtp2/srtp.h>
#include "buf.h"
#include "log.h"
#include "mem.h"
#include "srtp.h"

_Static_assert(MSRTP_MAX_TRAILER >= SRTP_MAX_TRAILER_LEN + 4, "SRTCP trailer room");

#define RTP_HDR 12
#define RTCP_HDR 8
#define SRTCP_INDEX 4
#define RTCP_TAG 10     /* SRTCP keeps the 80-bit tag in both profiles (RFC 4568, 5764) */
#define B64_KEY 40      /* base64 of 30 bytes, no padding */

/* libsrtp allows one wildcard-SSRC template per srtp_t, so each direction
 * has its own. */
struct msrtp {
	srtp_t tx, rx;
	enum msrtp_profile prof;
	struct msrtp_stats st;
};

static bool inited;

int msrtp_init(void)
{
	srtp_err_status_t e;

	if (inited)
		return 0;
	e = srtp_init();
	if (e) {
		LOGE("srtp: srtp_init failed (%d)", (int)e);
		return -EIO;
	}
	inited = true;
	return 0;
}

static void destroy(void *arg)
{
	struct msrtp *s = arg;

	if (s->tx)
		srtp_dealloc(s->tx);
	if (s->rx)
		srtp_dealloc(s->rx);
}

static void set_policy(srtp_policy_t *p, enum msrtp_profile prof, srtp_ssrc_type_t dir,
		       unsigned char *key)
{
	memset(p, 0, sizeof(*p));
	if (prof == MSRTP_AES_CM_128_HMAC_SHA1_32)
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_32(&p->rtp);
	else
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&p->rtp);
	srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&p->rtcp);
	p->ssrc.type = dir;
	p->key = key;
	p->window_size = 128;
	p->allow_repeat_tx = 0;
}

static srtp_err_status_t create(srtp_t *ctx, enum msrtp_profile prof, srtp_ssrc_type_t dir,
				const uint8_t *key_salt)
{
	unsigned char key[MSRTP_KEY_SALT_LEN];
	srtp_policy_t pol;
	srtp_err_status_t e;

	memcpy(key, key_salt, sizeof(key));
	set_policy(&pol, prof, dir, key);
	e = srtp_create(ctx, &pol);
	OPENSSL_cleanse(key, sizeof(key));
	if (e)
		*ctx = NULL;
	return e;
}

int msrtp_alloc(struct msrtp **sp, enum msrtp_profile prof,
		const uint8_t *tx_key_salt, const uint8_t *rx_key_salt)
{
	srtp_err_status_t e;
	struct msrtp *s;

	if (!sp || !tx_key_salt || !rx_key_salt ||
	    (prof != MSRTP_AES_CM_128_HMAC_SHA1_80 && prof != MSRTP_AES_CM_128_HMAC_SHA1_32))
		return -EINVAL;
	if (!inited)
		return -EIO;
	s = mem_zalloc(sizeof(*s), destroy);
	if (!s)
		return -ENOMEM;
	s->prof = prof;
	e = create(&s->tx, prof, ssrc_any_outbound, tx_key_salt);
	if (!e)
		e = create(&s->rx, prof, ssrc_any_inbound, rx_key_salt);
	if (e) {
		LOGW("srtp: srtp_create failed (%d)", (int)e);
		mem_deref(s);
		return e == srtp_err_status_alloc_fail ? -ENOMEM : -EIO;
	}
	*sp = s;
	return 0;
}

/* Map a libsrtp status to an errno value and count it. */
static int status(struct msrtp *s, srtp_err_status_t e)
{
	switch (e) {
	case srtp_err_status_ok:
		return 0;
	case srtp_err_status_auth_fail:
		s->st.auth_fail++;
		return -EACCES;
	case srtp_err_status_replay_fail:
	case srtp_err_status_replay_old:
		s->st.replay++;
		return -EALREADY;
	case srtp_err_status_bad_param:
	case srtp_err_status_parse_err:
	case srtp_err_status_bad_mki:
	case srtp_err_status_no_ctx:
		s->st.malformed++;
		return -EBADMSG;
	case srtp_err_status_alloc_fail:
		s->st.other++;
		return -ENOMEM;
	default:
		s->st.other++;
		return -EIO;
	}
}

static int malformed(struct msrtp *s)
{
	s->st.malformed++;
	return -EBADMSG;
}

/* Header length of an RTP packet (fixed part, CSRCs, extension), or 0. */
static size_t rtp_hdr_len(const uint8_t *p, size_t len)
{
	size_t h;

	if (len < RTP_HDR || p[0] >> 6 != 2)
		return 0;
	h = RTP_HDR + 4 * (size_t)(p[0] & 0x0f);
	if (p[0] & 0x10) {
		if (h + 4 > len)
			return 0;
		h += 4 + 4 * (size_t)be16(p + h + 2);
	}
	return h <= len ? h : 0;
}

static size_t rtp_tag_len(const struct msrtp *s)
{
	return s->prof == MSRTP_AES_CM_128_HMAC_SHA1_32 ? 4 : 10;
}

static int check_room(struct msrtp *s, const uint8_t *pkt, const size_t *len, size_t cap)
{
	if (!pkt || !len)
		return -EINVAL;
	if (*len > INT_MAX - MSRTP_MAX_TRAILER || cap < *len + MSRTP_MAX_TRAILER) {
		s->st.nospace++;
		return -ENOSPC;
	}
	return 0;
}

int msrtp_protect(struct msrtp *s, uint8_t *pkt, size_t *len, size_t cap)
{
	int n, err = check_room(s, pkt, len, cap);

	if (err)
		return err;
	if (!rtp_hdr_len(pkt, *len))
		return malformed(s);
	n = (int)*len;
	err = status(s, srtp_protect(s->tx, pkt, &n));
	if (err)
		return err;
	*len = (size_t)n;
	s->st.rtp_tx++;
	return 0;
}

int msrtp_unprotect(struct msrtp *s, uint8_t *pkt, size_t *len)
{
	size_t h;
	int n, err;

	if (!pkt || !len)
		return -EINVAL;
	h = rtp_hdr_len(pkt, *len);
	if (!h || *len < h + rtp_tag_len(s) || *len > INT_MAX)
		return malformed(s);
	n = (int)*len;
	err = status(s, srtp_unprotect(s->rx, pkt, &n));
	if (err)
		return err;
	*len = (size_t)n;
	s->st.rtp_rx++;
	return 0;
}

int msrtp_protect_rtcp(struct msrtp *s, uint8_t *pkt, size_t *len, size_t cap)
{
	int n, err = check_room(s, pkt, len, cap);

	if (err)
		return err;
	if (*len < RTCP_HDR || pkt[0] >> 6 != 2)
		return malformed(s);
	n = (int)*len;
	err = status(s, srtp_protect_rtcp(s->tx, pkt, &n));
	if (err)
		return err;
	*len = (size_t)n;
	s->st.rtcp_tx++;
	return 0;
}

int msrtp_unprotect_rtcp(struct msrtp *s, uint8_t *pkt, size_t *len)
{
	int n, err;

	if (!pkt || !len)
		return -EINVAL;
	if (*len < RTCP_HDR + SRTCP_INDEX + RTCP_TAG || *len > INT_MAX || pkt[0] >> 6 != 2)
		return malformed(s);
	n = (int)*len;
	err = status(s, srtp_unprotect_rtcp(s->rx, pkt, &n));
	if (err)
		return err;
	*len = (size_t)n;
	s->st.rtcp_rx++;
	return 0;
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
