/* DTLS-SRTP sessions on OpenSSL over a datagram BIO of our own: each write
 * is one datagram handed to the send handler, each read gives the one
 * datagram being fed in.  Peers are trusted by fingerprint only (RFC 5763);
 * the certificate, SSL_CTX and BIO are in dtls_cert.c. */
#include <errno.h>
#include <string.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include "buf.h"
#include "dtls_int.h"
#include "log.h"
#include "mem.h"

#define EXPORT_LEN (2 * MSRTP_KEY_LEN + 2 * MSRTP_SALT_LEN)
#define REC_HDR 13            /* DTLS record header */
#define RETX_MS 400
#define RETX_MAX_US 8000000u

static void destroy(void *arg)
{
	struct mdtls *d = arg;

	SSL_free(d->ssl);
	mem_deref(d->cert);
	OPENSSL_cleanse(&d->keys, sizeof(d->keys));
}

static unsigned int timer_cb(SSL *ssl, unsigned int prev_us)
{
	struct mdtls *d = SSL_get_app_data(ssl);

	if (!prev_us)
		return d->retx_ms * 1000u;
	return prev_us > RETX_MAX_US / 2 ? RETX_MAX_US : prev_us * 2;
}

int mdtls_alloc(struct mdtls **dp, struct mdtls_cert *c, enum mdtls_role role,
		const char *remote_fp, mdtls_send_h *sendh, mdtls_done_h *doneh, void *arg)
{
	struct mdtls *d;
	BIO *bio;
	int err;

	if (!dp || !c || (role != MDTLS_ACTIVE && role != MDTLS_PASSIVE))
		return -EINVAL;
	d = mem_zalloc(sizeof(*d), destroy);
	if (!d)
		return -ENOMEM;
	d->cert = mem_ref(c);
	d->role = role;
	d->retx_ms = RETX_MS;
	d->sendh = sendh;
	d->doneh = doneh;
	d->arg = arg;
	d->ssl = SSL_new(c->ctx);
	bio = d->ssl ? BIO_new(c->bm) : NULL;
	if (!bio) {
		ERR_clear_error();
		mem_deref(d);
		return -ENOMEM;
	}
	BIO_set_data(bio, d);
	BIO_set_init(bio, 1);
	SSL_set_bio(d->ssl, bio, bio);
	SSL_set_app_data(d->ssl, d);
	SSL_set_options(d->ssl, SSL_OP_NO_QUERY_MTU);
	SSL_set_mtu(d->ssl, MDTLS_MTU);
	DTLS_set_timer_cb(d->ssl, timer_cb);
	if (role == MDTLS_ACTIVE)
		SSL_set_connect_state(d->ssl);
	else
		SSL_set_accept_state(d->ssl);
	err = remote_fp ? mdtls_set_remote_fingerprint(d, remote_fp) : 0;
	if (err) {
		mem_deref(d);
		return err;
	}
	*dp = d;
	return 0;
}

static void finish(struct mdtls *d);

static void fail(struct mdtls *d, int err, const char *why)
{
	if (err == -EPROTO)
		LOGW("dtls: %s: %s", why, mdtls_ssl_why());
	else if (err == -ECONNRESET)
		LOGI("dtls: %s", why);
	else
		LOGW("dtls: %s", why);
	ERR_clear_error();
	d->state = ST_DONE;
	d->pending = true;
	d->perr = err;
}

/* The handshake is over and the peer's fingerprint known: check, export. */
static void verify(struct mdtls *d)
{
	X509 *peer = SSL_get0_peer_certificate(d->ssl);
	const SRTP_PROTECTION_PROFILE *p = SSL_get_selected_srtp_profile(d->ssl);
	uint8_t md[EVP_MAX_MD_SIZE], m[EXPORT_LEN];
	unsigned n = 0;

	if (!peer || !X509_digest(peer, d->rmd, md, &n) || n != d->rfp_len ||
	    CRYPTO_memcmp(md, d->rfp, n)) {
		fail(d, -EACCES, "peer certificate does not match the fingerprint");
		return;
	}
	if (!p || (p->id != SRTP_AES128_CM_SHA1_80 && p->id != SRTP_AES128_CM_SHA1_32)) {
		fail(d, -EPROTO, "no SRTP profile agreed");
		return;
	}
	if (SSL_export_keying_material(d->ssl, m, sizeof(m), "EXTRACTOR-dtls_srtp", 19,
				       NULL, 0, 0) != 1) {
		fail(d, -EPROTO, "keying material export failed");
		return;
	}
	/* RFC 5764 4.2: client key | server key | client salt | server salt.
	 * (Two of our own endpoints agree even on wrong offsets; a foreign
	 * stack, werift, caught it.) */
	{
		const uint8_t *ck = m, *sk = m + MSRTP_KEY_LEN;
		const uint8_t *cs = m + 2 * MSRTP_KEY_LEN, *ss = cs + MSRTP_SALT_LEN;
		bool client = d->role == MDTLS_ACTIVE;
		memcpy(d->keys.tx, client ? ck : sk, MSRTP_KEY_LEN);
		memcpy(d->keys.tx + MSRTP_KEY_LEN, client ? cs : ss, MSRTP_SALT_LEN);
		memcpy(d->keys.rx, client ? sk : ck, MSRTP_KEY_LEN);
		memcpy(d->keys.rx + MSRTP_KEY_LEN, client ? ss : cs, MSRTP_SALT_LEN);
	}
	OPENSSL_cleanse(m, sizeof(m));
	d->keys.profile = p->id == SRTP_AES128_CM_SHA1_32 ? MSRTP_AES_CM_128_HMAC_SHA1_32 :
		MSRTP_AES_CM_128_HMAC_SHA1_80;
	d->state = ST_UP;
	d->pending = true;
	d->perr = 0;
	LOGI("dtls: established as %s, %s", d->role == MDTLS_ACTIVE ? "client" : "server",
	     msrtp_profile_name(d->keys.profile));
}

/* Hand a result to the done handler.  Called last in every public entry
 * point, since the handler may free the session. */
static void finish(struct mdtls *d)
{
	mdtls_done_h *h = d->doneh;
	struct mdtls_keys k;
	int err = d->perr;

	if (!d->pending)
		return;
	d->pending = false;
	k = d->keys;
	OPENSSL_cleanse(&d->keys, sizeof(d->keys));
	if (err)
		d->doneh = NULL;
	if (h)
		h(err, err ? NULL : &k, d->arg);
	OPENSSL_cleanse(&k, sizeof(k));
}

int mdtls_set_remote_fingerprint(struct mdtls *d, const char *fp)
{
	uint8_t md[EVP_MAX_MD_SIZE];
	const EVP_MD *type;
	size_t n;

	if (!d || !fp || !(type = mdtls_fp_parse(fp, md, &n)))
		return -EINVAL;
	if (d->state > ST_WAIT_FP)
		return -EALREADY;
	d->rmd = type;
	memcpy(d->rfp, md, n);
	d->rfp_len = n;
	if (d->state == ST_WAIT_FP) {
		verify(d);
		finish(d);
	}
	return 0;
}

int mdtls_set_profiles(struct mdtls *d, unsigned mask)
{
	char list[64] = "";

	if (!d || !mask || (mask & ~MDTLS_PROFILES_ALL))
		return -EINVAL;
	if (d->state != ST_NEW)
		return -EALREADY;
	if (mask & MDTLS_PROFILE_BIT(MSRTP_AES_CM_128_HMAC_SHA1_80))
		strcat(list, "SRTP_AES128_CM_SHA1_80:");
	if (mask & MDTLS_PROFILE_BIT(MSRTP_AES_CM_128_HMAC_SHA1_32))
		strcat(list, "SRTP_AES128_CM_SHA1_32:");
	list[strlen(list) - 1] = '\0';
	if (SSL_set_tlsext_use_srtp(d->ssl, list)) {
		ERR_clear_error();
		return -ENOMEM;
	}
	return 0;
}

/* OpenSSL takes a timer with under 15 ms left as expired already. */
void mdtls_set_retransmit_ms(struct mdtls *d, unsigned ms)
{
	d->retx_ms = ms < 20 ? 20 : ms > 8000 ? 8000 : ms;
}

/* After the handshake: retransmitted flights, alerts, close_notify. */
static void read_records(struct mdtls *d)
{
	uint8_t buf[512];

	for (int i = 0; i < 64; i++) {
		int r = SSL_read(d->ssl, buf, sizeof(buf));

		if (r > 0) {
			d->stats.late++;   /* application data: not ours to take */
			continue;
		}
		switch (SSL_get_error(d->ssl, r)) {
		case SSL_ERROR_WANT_READ:
		case SSL_ERROR_WANT_WRITE:
			ERR_clear_error();
			return;
		case SSL_ERROR_ZERO_RETURN:
			fail(d, -ECONNRESET, "peer closed");
			return;
		default:
			fail(d, -EPROTO, "record layer failed");
			return;
		}
	}
}

static void drive(struct mdtls *d)
{
	int r;

	if (d->state == ST_WAIT_FP || d->state == ST_UP) {
		read_records(d);
		return;
	}
	if (d->state != ST_HANDSHAKE)
		return;
	r = SSL_do_handshake(d->ssl);
	if (r == 1) {
		d->state = ST_WAIT_FP;
		if (d->rfp_len)
			verify(d);
		else
			LOGD("dtls: handshake done, waiting for the peer's fingerprint");
		return;
	}
	switch (SSL_get_error(d->ssl, r)) {
	case SSL_ERROR_WANT_READ:
	case SSL_ERROR_WANT_WRITE:
		ERR_clear_error();
		break;
	case SSL_ERROR_ZERO_RETURN:
		fail(d, -ECONNRESET, "peer closed during the handshake");
		break;
	default:
		fail(d, -EPROTO, "handshake failed");
		break;
	}
}

int mdtls_start(struct mdtls *d)
{
	if (!d)
		return -EINVAL;
	if (d->state != ST_NEW)
		return 0;
	d->state = ST_HANDSHAKE;
	if (d->role == MDTLS_ACTIVE) {
		drive(d);
		finish(d);
	}
	return 0;
}

/* Every record header in the datagram must fit in it (RFC 6347 4.1). */
static int check_records(struct mdtls *d, const uint8_t *p, size_t len)
{
	if (len > MDTLS_MAX_DGRAM) {
		d->stats.oversized++;
		return -EBADMSG;
	}
	if (!mdtls_is_dtls(p, len)) {
		d->stats.not_dtls++;
		return -EBADMSG;
	}
	for (size_t off = 0; off < len;) {
		if (len - off < REC_HDR) {
			d->stats.truncated++;
			return -EBADMSG;
		}
		if (p[off] < 20 || p[off] > 25 || p[off + 1] != 0xfe) {
			d->stats.not_dtls++;
			return -EBADMSG;
		}
		off += REC_HDR + be16(p + off + 11);
		if (off > len) {
			d->stats.truncated++;
			return -EBADMSG;
		}
	}
	return 0;
}

int mdtls_recv(struct mdtls *d, const uint8_t *pkt, size_t len)
{
	int err;

	if (!d || (!pkt && len))
		return -EINVAL;
	err = check_records(d, pkt, len);
	if (err)
		return err;
	if (d->state == ST_DONE) {
		d->stats.late++;
		return -EBADMSG;
	}
	if (d->state == ST_NEW)
		d->state = ST_HANDSHAKE;
	d->stats.rx++;
	d->in = pkt;
	d->inlen = len;
	drive(d);
	d->in = NULL;
	finish(d);
	return 0;
}

int mdtls_timeout_ms(struct mdtls *d)
{
	struct timeval tv;

	if (!d || d->state == ST_NEW || d->state == ST_DONE || !DTLSv1_get_timeout(d->ssl, &tv))
		return -1;
	return (int)(tv.tv_sec * 1000 + (tv.tv_usec + 999) / 1000);
}

void mdtls_on_timeout(struct mdtls *d)
{
	int r;

	if (!d || d->state == ST_NEW || d->state == ST_DONE)
		return;
	r = (int)DTLSv1_handle_timeout(d->ssl);
	if (r > 0)
		d->stats.timeouts++;
	else if (r < 0)
		fail(d, -ETIMEDOUT, "no answer to retransmissions");
	ERR_clear_error();
	finish(d);
}

void mdtls_close(struct mdtls *d)
{
	if (!d || d->state == ST_NEW || d->state == ST_DONE)
		return;
	d->state = ST_DONE;
	d->doneh = NULL;
	SSL_shutdown(d->ssl);
	ERR_clear_error();
}

const struct mdtls_stats *mdtls_stats(const struct mdtls *d)
{
	return &d->stats;
}

bool mdtls_established(const struct mdtls *d)
{
	return d && d->state == ST_UP;
}
