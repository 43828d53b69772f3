/* The libsrtp2 msrtp backend (--srtp-backend libsrtp).  Debian's libsrtp2
 * is built on NSS, whose cost per packet is why it is not the default
 * (srtp.c has the numbers). */
#include <errno.h>
#include <string.h>
#include <openssl/crypto.h>
#include <srtp2/srtp.h>
#include "log.h"
#include "mem.h"
#include "srtp_int.h"

_Static_assert(MSRTP_MAX_TRAILER >= SRTP_MAX_TRAILER_LEN + 4, "SRTCP trailer room");

/* libsrtp allows one wildcard-SSRC template per srtp_t, so each direction
 * has its own. */
struct lsess {
	srtp_t tx, rx;
};

static int init(void)
{
	srtp_err_status_t e = srtp_init();

	if (e) {
		LOGE("srtp: srtp_init failed (%d)", (int)e);
		return -EIO;
	}
	return 0;
}

static void destroy(void *arg)
{
	struct lsess *l = arg;

	if (l->tx)
		srtp_dealloc(l->tx);
	if (l->rx)
		srtp_dealloc(l->rx);
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

static int alloc(struct msrtp *s, const uint8_t *tx_key_salt, const uint8_t *rx_key_salt)
{
	struct lsess *l = mem_zalloc(sizeof(*l), destroy);
	srtp_err_status_t e;

	if (!l)
		return -ENOMEM;
	e = create(&l->tx, s->prof, ssrc_any_outbound, tx_key_salt);
	if (!e)
		e = create(&l->rx, s->prof, ssrc_any_inbound, rx_key_salt);
	if (e) {
		LOGW("srtp: srtp_create failed (%d)", (int)e);
		mem_deref(l);
		return e == srtp_err_status_alloc_fail ? -ENOMEM : -EIO;
	}
	s->be = l;
	return 0;
}

/* A libsrtp status as an errno value (srtp.c counts it). */
static int status(srtp_err_status_t e)
{
	switch (e) {
	case srtp_err_status_ok:
		return 0;
	case srtp_err_status_auth_fail:
		return -EACCES;
	case srtp_err_status_replay_fail:
	case srtp_err_status_replay_old:
		return -EALREADY;
	case srtp_err_status_bad_param:
	case srtp_err_status_parse_err:
	case srtp_err_status_bad_mki:
	case srtp_err_status_no_ctx:
		return -EBADMSG;
	case srtp_err_status_alloc_fail:
		return -ENOMEM;
	default:
		return -EIO;
	}
}

/* srtp.c has checked that *len fits an int with the trailer. */
static int run(srtp_err_status_t (*fn)(srtp_t, void *, int *), srtp_t ctx, uint8_t *pkt,
	       size_t *len)
{
	int n = (int)*len, err = status(fn(ctx, pkt, &n));

	if (!err)
		*len = (size_t)n;
	return err;
}

static int protect(struct msrtp *s, uint8_t *pkt, size_t *len, size_t hdr)
{
	return run(srtp_protect, ((struct lsess *)s->be)->tx, pkt, len);
}

static int unprotect(struct msrtp *s, uint8_t *pkt, size_t *len, size_t hdr)
{
	return run(srtp_unprotect, ((struct lsess *)s->be)->rx, pkt, len);
}

static int protect_rtcp(struct msrtp *s, uint8_t *pkt, size_t *len)
{
	return run(srtp_protect_rtcp, ((struct lsess *)s->be)->tx, pkt, len);
}

static int unprotect_rtcp(struct msrtp *s, uint8_t *pkt, size_t *len)
{
	return run(srtp_unprotect_rtcp, ((struct lsess *)s->be)->rx, pkt, len);
}

const struct msrtp_ops msrtp_libsrtp_ops = {
	.name = "libsrtp",
	.init = init,
	.alloc = alloc,
	.protect = protect,
	.unprotect = unprotect,
	.protect_rtcp = protect_rtcp,
	.unprotect_rtcp = unprotect_rtcp,
};
