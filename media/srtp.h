/* SRTP and SRTCP (RFC 3711), plus the SDES key-params of XEP-0167.
 *
 * One session protects what we send with one master key and unprotects what
 * we receive with another (any SSRC each way), with replay protection.  A
 * session is not thread-safe: it belongs to the media thread.
 *
 * Two backends do the work behind this one header (as libstrophe's tls.h):
 * our own RFC 3711 on OpenSSL (srtp_ossl.c, the default) and libsrtp2
 * (srtp_libsrtp.c), chosen once per process.  They give the same bytes
 * and the same verdicts, but for two things: an SRTCP packet with the E bit
 * clear is -EBADMSG on OpenSSL and -EIO on libsrtp; and OpenSSL remembers 4
 * SSRCs each way (a fifth replaces the least recently used, whose replay
 * window is forgotten) where libsrtp allocates one stream per SSRC.
 *
 * Every function returns 0 or a negative errno value:
 *   -EACCES   authentication failed (wrong key, or the packet was altered)
 *   -EALREADY replayed, or too old for the replay window
 *   -EBADMSG  malformed packet or key-params
 *   -ENOSPC   the buffer lacks MSRTP_MAX_TRAILER spare bytes
 *   -ENOTSUP  an SDES feature we do not take (MKI, several keys)
 *   -ENOMEM, -EINVAL, -EIO (any other backend failure)
 * Keys are never logged. */
#ifndef RX_MSRTP_H
#define RX_MSRTP_H

#include <stddef.h>
#include <stdint.h>

enum msrtp_profile {
	MSRTP_AES_CM_128_HMAC_SHA1_80 = 0,
	MSRTP_AES_CM_128_HMAC_SHA1_32 = 1,
};

#define MSRTP_KEY_LEN 16
#define MSRTP_SALT_LEN 14
#define MSRTP_KEY_SALT_LEN 30   /* master key followed by master salt */
/* Spare room protect needs after the packet, whatever the backend:
 * libsrtp's SRTP_MAX_TRAILER_LEN plus the 4-byte SRTCP index. */
#define MSRTP_MAX_TRAILER 148
/* "inline:" and 40 base64 characters, with the NUL. */
#define MSRTP_SDES_SIZE 48

struct msrtp_stats {
	uint64_t rtp_tx, rtp_rx, rtcp_tx, rtcp_rx;   /* packets that went through */
	uint64_t auth_fail;
	uint64_t replay;
	uint64_t malformed;
	uint64_t nospace;
	uint64_t other;
};

enum msrtp_backend {
	MSRTP_OPENSSL = 0,   /* the default: see srtp.c for why */
	MSRTP_LIBSRTP = 1,
};

struct msrtp;

/* Once at start-up, before any thread uses SRTP: readies every backend. */
int msrtp_init(void);
/* The backend msrtp_alloc() uses from now on; a session keeps the one it was
 * made with.  Process-wide: set it before threads use SRTP.  -EINVAL for an
 * unknown value. */
int msrtp_set_backend(enum msrtp_backend b);
enum msrtp_backend msrtp_get_backend(void);
/* "openssl" and "libsrtp", for the configuration. */
const char *msrtp_backend_name(enum msrtp_backend b);
int msrtp_backend_parse(const char *name, enum msrtp_backend *b);

int msrtp_alloc(struct msrtp **sp, enum msrtp_profile prof,
		const uint8_t *tx_key_salt, const uint8_t *rx_key_salt);

/* In place: *len is the packet length in and out; cap is the buffer size. */
int msrtp_protect(struct msrtp *s, uint8_t *pkt, size_t *len, size_t cap);
int msrtp_unprotect(struct msrtp *s, uint8_t *pkt, size_t *len);
int msrtp_protect_rtcp(struct msrtp *s, uint8_t *pkt, size_t *len, size_t cap);
int msrtp_unprotect_rtcp(struct msrtp *s, uint8_t *pkt, size_t *len);

const struct msrtp_stats *msrtp_stats(const struct msrtp *s);
enum msrtp_profile msrtp_get_profile(const struct msrtp *s);

/* The crypto-suite names of XEP-0167 / RFC 4568. */
const char *msrtp_profile_name(enum msrtp_profile prof);
int msrtp_profile_parse(const char *suite, enum msrtp_profile *prof);

/* SDES: a fresh random key||salt and its key-params "inline:BASE64". */
int msrtp_sdes_generate(uint8_t key_salt[MSRTP_KEY_SALT_LEN], char params[MSRTP_SDES_SIZE]);
/* Parse key-params "inline:BASE64[|lifetime][|MKI:len]" of len bytes.  The
 * lifetime is checked for syntax and ignored; an MKI gives -ENOTSUP. */
int msrtp_sdes_parse(const char *params, size_t len, uint8_t key_salt[MSRTP_KEY_SALT_LEN]);

#endif
