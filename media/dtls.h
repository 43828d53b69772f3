/* DTLS-SRTP (RFC 5763, 5764) on OpenSSL, without sockets: datagrams come in
 * through mdtls_recv() and go out through the send handler.
 *
 * The peer's certificate is not checked against any CA.  It is trusted when
 * its fingerprint matches the one the peer signalled (XEP-0320, RFC 8122).
 * The keys are handed over once, through the done handler; they are never
 * logged.
 *
 * A session belongs to one thread (the media thread).  The certificate is
 * made once at start-up and shared by reference. */
#ifndef RX_MDTLS_H
#define RX_MDTLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "srtp.h"

/* sha-256 as "AB:CD:...": 32 pairs, 31 colons, NUL. */
#define MDTLS_FP_SIZE 96
#define MDTLS_MTU 1200

struct mdtls_cert;
struct mdtls;

enum mdtls_role {
	MDTLS_ACTIVE,    /* setup='active': the DTLS client, sends the ClientHello */
	MDTLS_PASSIVE,   /* setup='passive': the DTLS server */
};

/* Profiles to offer or accept, as bits (default: both, _80 first). */
#define MDTLS_PROFILE_BIT(p) (1u << (p))
#define MDTLS_PROFILES_ALL (MDTLS_PROFILE_BIT(MSRTP_AES_CM_128_HMAC_SHA1_80) | \
			    MDTLS_PROFILE_BIT(MSRTP_AES_CM_128_HMAC_SHA1_32))

struct mdtls_keys {
	enum msrtp_profile profile;
	uint8_t tx[MSRTP_KEY_SALT_LEN];   /* what we protect with */
	uint8_t rx[MSRTP_KEY_SALT_LEN];   /* what we unprotect with */
};

struct mdtls_stats {
	uint64_t rx, tx;        /* datagrams fed in and sent */
	uint64_t not_dtls;      /* first byte outside 20..63 (RFC 7983) */
	uint64_t truncated;     /* a record longer than the datagram */
	uint64_t oversized;     /* datagrams over MDTLS_MAX_DGRAM */
	uint64_t late;          /* after failure or close, or application data */
	uint64_t timeouts;      /* retransmissions */
};
#define MDTLS_MAX_DGRAM 16640   /* 2^14 plus room for record overhead */

/* Send one datagram.  Must not free the session. */
typedef void (mdtls_send_h)(const uint8_t *pkt, size_t len, void *arg);
/* The handshake result, once: err 0 with the keys, or
 *   -EACCES     the peer's fingerprint does not match (security-error),
 *   -EPROTO     the handshake failed or no SRTP profile was agreed,
 *   -ETIMEDOUT  retransmissions gave up,
 *   -ECONNRESET the peer closed first.
 * After success it may be called once more with -ECONNRESET and NULL keys
 * when the peer sends close_notify.  The handler may free the session. */
typedef void (mdtls_done_h)(int err, const struct mdtls_keys *keys, void *arg);

/* ECDSA P-256, self-signed, valid 30 days, random CN. */
int mdtls_cert_generate(struct mdtls_cert **cp);
int mdtls_cert_load(struct mdtls_cert **cp, const char *cert_pem, const char *key_pem);
/* The sha-256 fingerprint as XEP-0320 wants it (uppercase, colons). */
void mdtls_cert_fingerprint(const struct mdtls_cert *c, char out[MDTLS_FP_SIZE]);

/* remote_fp may be NULL and given later; it is hex pairs with colons of a
 * sha-1, sha-224, sha-256, sha-384 or sha-512 digest (told by its length). */
int mdtls_alloc(struct mdtls **dp, struct mdtls_cert *c, enum mdtls_role role,
		const char *remote_fp, mdtls_send_h *sendh, mdtls_done_h *doneh, void *arg);
int mdtls_set_remote_fingerprint(struct mdtls *d, const char *remote_fp);
/* Before mdtls_start(): restrict the SRTP profiles (MDTLS_PROFILE_BIT). */
int mdtls_set_profiles(struct mdtls *d, unsigned mask);
/* First retransmission timeout, 20 ms to 8 s (default 400 ms; doubles up to
 * 8 s; OpenSSL gives up after 12). */
void mdtls_set_retransmit_ms(struct mdtls *d, unsigned ms);
/* The active side sends its ClientHello now; the passive side waits. */
int mdtls_start(struct mdtls *d);
/* Feed one received datagram.  0, or -EBADMSG when it was dropped. */
int mdtls_recv(struct mdtls *d, const uint8_t *pkt, size_t len);
/* Milliseconds until mdtls_on_timeout() is due, or -1 when no timer runs. */
int mdtls_timeout_ms(struct mdtls *d);
void mdtls_on_timeout(struct mdtls *d);
/* Send close_notify; the session stays allocated. */
void mdtls_close(struct mdtls *d);
const struct mdtls_stats *mdtls_stats(const struct mdtls *d);
bool mdtls_established(const struct mdtls *d);

/* RFC 7983 demultiplexing: does this datagram look like DTLS? */
static inline bool mdtls_is_dtls(const uint8_t *p, size_t len)
{
	return len > 0 && p[0] >= 20 && p[0] <= 63;
}

#endif
