/* Internal API between dtls.c (sessions) and dtls_cert.c (the certificate,
 * the SSL_CTX every session is made from, and the datagram BIO). */
#ifndef RX_MDTLS_INT_H
#define RX_MDTLS_INT_H

#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include "dtls.h"

struct mdtls_cert {
	X509 *x509;
	EVP_PKEY *key;
	SSL_CTX *ctx;
	BIO_METHOD *bm;     /* our datagram BIO */
	char fp[MDTLS_FP_SIZE];
};

enum mdtls_state { ST_NEW, ST_HANDSHAKE, ST_WAIT_FP, ST_UP, ST_DONE };

struct mdtls {
	struct mdtls_cert *cert;
	SSL *ssl;
	enum mdtls_role role;
	enum mdtls_state state;
	const EVP_MD *rmd;              /* the peer's fingerprint: digest, */
	uint8_t rfp[EVP_MAX_MD_SIZE];   /* value */
	size_t rfp_len;                 /* and length (0: not known yet) */
	const uint8_t *in;              /* the datagram being fed in */
	size_t inlen;
	unsigned retx_ms;
	bool pending;                   /* a result waits for finish() */
	int perr;
	struct mdtls_keys keys;
	mdtls_send_h *sendh;
	mdtls_done_h *doneh;
	void *arg;
	struct mdtls_stats stats;
};

/* The newest OpenSSL error as text, for the log. */
const char *mdtls_ssl_why(void);
/* Parse "AB:CD:..." into md; the digest is told by the length. */
const EVP_MD *mdtls_fp_parse(const char *fp, uint8_t md[EVP_MAX_MD_SIZE], size_t *n);

#endif
