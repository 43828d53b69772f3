/* RTCP (RFC 3550 section 6) as pure functions over buffers: walk a compound
 * packet, build SR, RR, SDES CNAME and BYE, and the round-trip time.
 *
 * Errors are negative errno values: -ENODATA when a packet's declared
 * length runs past the datagram, -EBADMSG for anything else that is not
 * RTCP, -ENOSPC when an output buffer is too small, -EINVAL for a field
 * that cannot be encoded. */
#ifndef RX_RTCP_H
#define RX_RTCP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum rtcp_type {
	RTCP_SR = 200,
	RTCP_RR = 201,
	RTCP_SDES = 202,
	RTCP_BYE = 203,
	RTCP_APP = 204,
	RTCP_RTPFB = 205,   /* RFC 4585 transport feedback (NACK ...) */
	RTCP_PSFB = 206,    /* RFC 4585 payload-specific feedback (PLI ...) */
};

#define RTCP_MAX_COUNT 31   /* the 5-bit count field */
#define RTCP_SDES_CNAME 1

/* A report block.  lost is the 24-bit signed cumulative count; lsr is the
 * middle 32 bits of the NTP time of the last SR from that source; dlsr is
 * the delay since, in 1/65536 s. */
struct rtcp_rb {
	uint32_t ssrc;
	uint8_t fraction;      /* lost in the interval, out of 256 */
	int32_t lost;
	uint32_t ext_seq;
	uint32_t jitter;
	uint32_t lsr;
	uint32_t dlsr;
};

struct rtcp_sender_info {
	uint64_t ntp;          /* seconds since 1900 << 32 | fraction */
	uint32_t rtp_ts;
	uint32_t packets;
	uint32_t octets;
};

struct rtcp_sdes_chunk {
	uint32_t ssrc;
	const uint8_t *cname;  /* NULL when the chunk has none; not terminated */
	uint8_t cname_len;
};

/* One packet of a compound packet; pointers point into the datagram.  It
 * is about 900 bytes (31 report blocks or chunks). */
struct rtcp_pkt {
	uint8_t type;          /* any of 192..223 */
	uint8_t count;         /* RC, SC, APP subtype or feedback FMT */
	const uint8_t *body;   /* after the 4-byte header, padding removed */
	size_t blen;
	uint32_t ssrc;         /* the sender; SDES, BYE: the first source */
	union {
		struct {
			struct rtcp_sender_info si;   /* SR only */
			struct rtcp_rb rb[RTCP_MAX_COUNT];
		} r;                                  /* SR, RR: count blocks */
		struct rtcp_sdes_chunk sdes[RTCP_MAX_COUNT];
		struct {
			uint32_t ssrc[RTCP_MAX_COUNT];
			const uint8_t *reason;        /* NULL when absent */
			uint8_t reason_len;
		} bye;
		struct {
			uint8_t name[4];
			const uint8_t *data;          /* APP data, feedback FCI */
			size_t len;
			uint32_t media_ssrc;          /* RTPFB, PSFB */
		} app;
	} u;
};

/* Walks a compound packet.  rtcp_iter_init checks every header first
 * (RFC 3550 A.2: version 2, lengths that add up to the datagram, padding
 * only on the last packet); rtcp_next then decodes one packet at a time.
 * Types it does not know are returned with only the header fields set. */
struct rtcp_iter {
	const uint8_t *p;
	size_t len, pos;
};
int rtcp_iter_init(struct rtcp_iter *it, const uint8_t *p, size_t len);
/* Returns 0 with *pkt filled, or -ENOENT after the last packet. */
int rtcp_next(struct rtcp_iter *it, struct rtcp_pkt *pkt);

/* Builders: append to a compound packet by calling them one after another
 * with p + n, cap - n.  Each returns the bytes written. */
int rtcp_build_sr(uint8_t *p, size_t cap, uint32_t ssrc, const struct rtcp_sender_info *si,
		  const struct rtcp_rb *rb, unsigned nrb);
int rtcp_build_rr(uint8_t *p, size_t cap, uint32_t ssrc, const struct rtcp_rb *rb,
		  unsigned nrb);
/* One chunk holding only a CNAME (len 1..255). */
int rtcp_build_sdes(uint8_t *p, size_t cap, uint32_t ssrc, const char *cname, size_t len);
/* reason may be NULL; rlen up to 255. */
int rtcp_build_bye(uint8_t *p, size_t cap, const uint32_t *ssrc, unsigned n, const char *reason,
		   size_t rlen);

/* NTP short format (16.16 seconds), as LSR, DLSR and RTT use. */
static inline uint32_t rtcp_ntp_short(uint64_t ntp)
{
	return (uint32_t)(ntp >> 16);
}
/* Round-trip time from a report block about our stream, received at now
 * (NTP short): now - LSR - DLSR, in 1/65536 s.  -ENODATA when the peer
 * has had no SR from us (LSR 0), -ERANGE when the result would be
 * negative (a bad clock or a forged block). */
int rtcp_rtt(const struct rtcp_rb *rb, uint32_t now, uint32_t *rtt);

#endif
