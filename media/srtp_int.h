/* Internal API of srtp.c and its backends (srtp_libsrtp.c, srtp_ossl.c,
 * srtp_ossl_key.c), and of the tests that reach into them.
 *
 * srtp.c checks every argument and packet header, counts the outcome in
 * the session's stats and calls the backend through its ops; a backend
 * sees only packets whose header is whole and whose buffer has room. */
#ifndef RX_MSRTP_INT_H
#define RX_MSRTP_INT_H

#include <stdbool.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include "srtp.h"

#define MSRTP_RTP_HDR 12
#define MSRTP_RTCP_HDR 8
#define MSRTP_SRTCP_INDEX 4   /* E bit and 31-bit index */
#define MSRTP_RTCP_TAG 10     /* SRTCP keeps the 80-bit tag in both profiles (RFC 4568, 5764) */

struct msrtp {
	const struct msrtp_ops *ops;
	void *be;                 /* the backend's state, a mem object */
	enum msrtp_profile prof;
	struct msrtp_stats st;
};

/* Each returns 0 or a negative errno value as srtp.h documents; srtp.c
 * counts it.  hdr is the RTP header's length (CSRCs and extension
 * included); protect has MSRTP_MAX_TRAILER bytes of room after *len. */
struct msrtp_ops {
	const char *name;
	int (*init)(void);
	int (*alloc)(struct msrtp *s, const uint8_t *tx_key_salt, const uint8_t *rx_key_salt);
	int (*protect)(struct msrtp *s, uint8_t *pkt, size_t *len, size_t hdr);
	int (*unprotect)(struct msrtp *s, uint8_t *pkt, size_t *len, size_t hdr);
	int (*protect_rtcp)(struct msrtp *s, uint8_t *pkt, size_t *len);
	int (*unprotect_rtcp)(struct msrtp *s, uint8_t *pkt, size_t *len);
};

extern const struct msrtp_ops msrtp_ossl_ops;
extern const struct msrtp_ops msrtp_libsrtp_ops;

/* msrtp_alloc() on a given backend, whatever msrtp_set_backend() chose:
 * for the tests, the fuzz target and the benchmark, which compare them. */
int msrtp_alloc_on(struct msrtp **sp, enum msrtp_backend b, enum msrtp_profile prof,
		   const uint8_t *tx_key_salt, const uint8_t *rx_key_salt);

static inline size_t msrtp_tag_len(const struct msrtp *s)
{
	return s->prof == MSRTP_AES_CM_128_HMAC_SHA1_32 ? 4 : 10;
}

/* srtp_ossl_key.c: the session keys of one direction and one kind (SRTP or
 * SRTCP), set up once, so that a packet costs one IV set, one CTR pass and
 * two SHA-1 state copies. */
struct osrtp_keys {
	EVP_CIPHER_CTX *ctr;      /* AES-128-CTR under the session key */
	uint8_t salt[MSRTP_SALT_LEN];
	SHA_CTX inner, outer;     /* SHA-1 after the HMAC key's ipad / opad block */
};

#define OSRTP_LABEL_RTP 0     /* RFC 3711 4.3.2: labels 0-2 for SRTP, */
#define OSRTP_LABEL_RTCP 3    /* 3-5 for SRTCP (cipher key, auth key, salt) */
#define OSRTP_AUTH_KEY_LEN 20

/* RFC 3711 4.3.1 with key_derivation_rate 0: len bytes of the AES-CM PRF
 * under the master key for one label.  0 or -EIO. */
int osrtp_derive(const uint8_t master[MSRTP_KEY_SALT_LEN], uint8_t label, uint8_t *out,
		 size_t len);
/* Derive the three keys of labels first..first+2 into k (0, -ENOMEM, -EIO). */
int osrtp_keys_init(struct osrtp_keys *k, const uint8_t master[MSRTP_KEY_SALT_LEN],
		    uint8_t first);
/* Key k with session keys given as they are (RFC 3711 B.2 has no master). */
int osrtp_keys_set(struct osrtp_keys *k, const uint8_t key[MSRTP_KEY_LEN],
		   const uint8_t salt[MSRTP_SALT_LEN], const uint8_t auth[OSRTP_AUTH_KEY_LEN]);
void osrtp_keys_clear(struct osrtp_keys *k);
/* AES-CM (RFC 3711 4.1.1): XOR data with the key stream for this SSRC and
 * packet index (48 bits for SRTP, 31 for SRTCP).  0 or -EIO. */
int osrtp_crypt(const struct osrtp_keys *k, uint32_t ssrc, uint64_t index, uint8_t *data,
		size_t len);
/* HMAC-SHA1 (RFC 3711 4.2) of msg followed by the big-endian ROC when
 * roc is not NULL (SRTP), into the full 20-byte tag. */
void osrtp_hmac(const struct osrtp_keys *k, const uint8_t *msg, size_t len,
		const uint8_t roc[4], uint8_t tag[20]);

/* srtp_ossl.c: packet indices and replay windows, as pure functions over
 * the state of one SSRC. */
struct osrtp_win {
	uint64_t bits[2];         /* 128 packets: bit k is the index top - k */
};

/* RFC 3711 3.3.1 / appendix A the way libsrtp does it, so that both guess
 * the same: *index is SEQ with the ROC that puts it nearest top, the highest
 * index seen so far (ROC 0 while top <= 2^15).  Returns *index - top. */
int osrtp_estimate(uint64_t top, uint16_t seq, uint64_t *index);
/* 0, or -EALREADY: index top + delta was seen, or is 128 or more behind. */
int osrtp_win_check(const struct osrtp_win *w, int64_t delta);
/* Mark index top + delta seen, moving top when it is ahead. */
void osrtp_win_add(struct osrtp_win *w, uint64_t *top, int64_t delta);

#endif
