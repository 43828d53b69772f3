/* The process-wide DTLS certificate (ECDSA P-256, self-signed, or loaded
 * from PEM), its sha-256 fingerprint, and the SSL_CTX every session is made
 * from: DTLS 1.2, use_srtp with both AES-CM profiles, a client certificate
 * required but checked by fingerprint only, no tickets, no renegotiation.
 * Also the datagram BIO the sessions do their I/O through. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include "dtls_int.h"
#include "log.h"
#include "mem.h"

/* OpenSSL's error queue, for the log (it never holds key material). */
const char *mdtls_ssl_why(void)
{
	static _Thread_local char s[160];
	unsigned long e = ERR_peek_last_error();

	if (!e)
		return "no detail";
	ERR_error_string_n(e, s, sizeof(s));
	return s;
}

static int accept_any(int ok, X509_STORE_CTX *store)
{
	(void)ok; (void)store;
	return 1;   /* the fingerprint is checked after the handshake */
}

/* The datagram BIO: a write is one datagram out, a read takes the one
 * datagram mdtls_recv() is feeding in. */
static int bio_write(BIO *b, const char *buf, int len)
{
	struct mdtls *d = BIO_get_data(b);

	d->stats.tx++;
	if (d->sendh)
		d->sendh((const uint8_t *)buf, (size_t)len, d->arg);
	return len;
}

static int bio_read(BIO *b, char *buf, int size)
{
	struct mdtls *d = BIO_get_data(b);
	size_t n;

	BIO_clear_retry_flags(b);
	if (!d->in || size <= 0) {
		BIO_set_retry_read(b);
		return -1;
	}
	n = d->inlen < (size_t)size ? d->inlen : (size_t)size;
	memcpy(buf, d->in, n);
	d->in = NULL;
	return (int)n;
}

static long bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
	(void)b; (void)num; (void)ptr;
	switch (cmd) {
	case BIO_CTRL_FLUSH:
		return 1;
	case BIO_CTRL_DGRAM_QUERY_MTU:
		return MDTLS_MTU;
	default:
		return 0;   /* no pending bytes, no overhead, no peer address */
	}
}

static void cert_destroy(void *arg)
{
	struct mdtls_cert *c = arg;

	SSL_CTX_free(c->ctx);
	X509_free(c->x509);
	EVP_PKEY_free(c->key);
	BIO_meth_free(c->bm);
}

static void format_fp(const uint8_t *md, unsigned n, char *out)
{
	static const char hex[] = "0123456789ABCDEF";

	for (unsigned i = 0; i < n; i++) {
		*out++ = hex[md[i] >> 4];
		*out++ = hex[md[i] & 15];
		*out++ = i + 1 < n ? ':' : '\0';
	}
}

/* The SSL_CTX and BIO method shared by every session on this certificate. */
static int cert_setup(struct mdtls_cert *c)
{
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned n = 0;

	if (!X509_check_private_key(c->x509, c->key) ||
	    !X509_digest(c->x509, EVP_sha256(), md, &n) || n != 32)
		return -EINVAL;
	format_fp(md, n, c->fp);
	c->bm = BIO_meth_new(BIO_TYPE_SOURCE_SINK, "mdtls");
	c->ctx = SSL_CTX_new(DTLS_method());
	if (!c->bm || !c->ctx || !BIO_meth_set_write(c->bm, bio_write) ||
	    !BIO_meth_set_read(c->bm, bio_read) || !BIO_meth_set_ctrl(c->bm, bio_ctrl))
		return -ENOMEM;
	if (!SSL_CTX_set_min_proto_version(c->ctx, DTLS1_2_VERSION) ||
	    SSL_CTX_use_certificate(c->ctx, c->x509) != 1 ||
	    SSL_CTX_use_PrivateKey(c->ctx, c->key) != 1 ||
	    SSL_CTX_set_tlsext_use_srtp(c->ctx, "SRTP_AES128_CM_SHA1_80:SRTP_AES128_CM_SHA1_32"))
		return -EINVAL;
	SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, accept_any);
	SSL_CTX_set_options(c->ctx, SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION);
	SSL_CTX_set_session_cache_mode(c->ctx, SSL_SESS_CACHE_OFF);
	return 0;
}

static int cert_make(struct mdtls_cert **cp, X509 *x, EVP_PKEY *key)
{
	struct mdtls_cert *c = mem_zalloc(sizeof(*c), cert_destroy);
	int err;

	if (!c) {
		X509_free(x);
		EVP_PKEY_free(key);
		return -ENOMEM;
	}
	c->x509 = x;
	c->key = key;
	err = cert_setup(c);
	if (err) {
		LOGE("dtls: certificate setup failed: %s", mdtls_ssl_why());
		ERR_clear_error();
		mem_deref(c);
		return err;
	}
	*cp = c;
	return 0;
}

int mdtls_cert_generate(struct mdtls_cert **cp)
{
	uint8_t rnd[16];
	char cn[2 * sizeof(rnd) + 1];
	EVP_PKEY *key = NULL;
	X509 *x = NULL;
	X509_NAME *name;
	uint64_t serial;

	if (!cp)
		return -EINVAL;
	key = EVP_EC_gen("P-256");
	x = X509_new();
	name = x ? X509_get_subject_name(x) : NULL;
	if (!key || !name || RAND_bytes(rnd, sizeof(rnd)) != 1)
		goto fail;
	for (size_t i = 0; i < sizeof(rnd); i++)
		snprintf(cn + 2 * i, 3, "%02x", rnd[i]);
	memcpy(&serial, rnd, sizeof(serial));
	if (!X509_set_version(x, 2) ||
	    !ASN1_INTEGER_set_int64(X509_get_serialNumber(x), (int64_t)(serial >> 1)) ||
	    !X509_gmtime_adj(X509_getm_notBefore(x), -86400) ||
	    !X509_gmtime_adj(X509_getm_notAfter(x), 30L * 86400) ||
	    !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (unsigned char *)cn, -1, -1, 0) ||
	    !X509_set_issuer_name(x, name) || !X509_set_pubkey(x, key) ||
	    !X509_sign(x, key, EVP_sha256()))
		goto fail;
	return cert_make(cp, x, key);
fail:
	LOGE("dtls: cannot make a certificate: %s", mdtls_ssl_why());
	ERR_clear_error();
	X509_free(x);
	EVP_PKEY_free(key);
	return -ENOMEM;
}

int mdtls_cert_load(struct mdtls_cert **cp, const char *cert_pem, const char *key_pem)
{
	BIO *bc = cert_pem ? BIO_new_file(cert_pem, "r") : NULL;
	BIO *bk = key_pem ? BIO_new_file(key_pem, "r") : NULL;
	X509 *x = bc ? PEM_read_bio_X509(bc, NULL, NULL, NULL) : NULL;
	EVP_PKEY *key = bk ? PEM_read_bio_PrivateKey(bk, NULL, NULL, NULL) : NULL;

	BIO_free(bc);
	BIO_free(bk);
	if (!cp || !x || !key) {
		LOGE("dtls: cannot load %s and %s: %s", cert_pem ? cert_pem : "(none)",
		     key_pem ? key_pem : "(none)", mdtls_ssl_why());
		ERR_clear_error();
		X509_free(x);
		EVP_PKEY_free(key);
		return -EINVAL;
	}
	return cert_make(cp, x, key);
}

void mdtls_cert_fingerprint(const struct mdtls_cert *c, char out[MDTLS_FP_SIZE])
{
	memcpy(out, c->fp, MDTLS_FP_SIZE);
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static const EVP_MD *fp_md(size_t n)
{
	switch (n) {
	case 20: return EVP_sha1();
	case 28: return EVP_sha224();
	case 32: return EVP_sha256();
	case 48: return EVP_sha384();
	case 64: return EVP_sha512();
	default: return NULL;
	}
}

const EVP_MD *mdtls_fp_parse(const char *fp, uint8_t md[EVP_MAX_MD_SIZE], size_t *np)
{
	size_t len = strlen(fp), n = (len + 1) / 3;
	const EVP_MD *type = fp_md(n);

	if (!type || len != 3 * n - 1)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		int hi = hexval(fp[3 * i]), lo = hexval(fp[3 * i + 1]);

		if (hi < 0 || lo < 0 || (i + 1 < n && fp[3 * i + 2] != ':'))
			return NULL;
		md[i] = (uint8_t)(hi << 4 | lo);
	}
	*np = n;
	return type;
}
