/* RTP (RFC 3550) as pure functions over buffers: the header, demultiplexing
 * on a shared port (RFC 5761, RFC 7983), telephone-events (RFC 4733), the
 * receiver statistics of RFC 3550 appendix A and a sender helper.
 *
 * Errors are negative errno values: -ENODATA when the bytes end before the
 * header does, -EBADMSG when they cannot be RTP, -ENOSPC when an output
 * buffer is too small, -EINVAL for a field that cannot be encoded. */
#ifndef RX_RTP_H
#define RX_RTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RTP_VERSION 2
#define RTP_HDR_LEN 12
#define RTP_MAX_CSRC 15

struct rtp_hdr {
	bool marker;
	uint8_t pt;            /* 0..127 */
	uint16_t seq;
	uint32_t ts;
	uint32_t ssrc;
	uint8_t cc;            /* CSRC count, 0..15 */
	uint32_t csrc[RTP_MAX_CSRC];
	bool ext;              /* X: a header extension follows the CSRCs */
	uint16_t ext_profile;  /* its "defined by profile" field (0xBEDE: RFC 8285) */
	const uint8_t *ext_data;   /* ext_len bytes, a multiple of 4 */
	size_t ext_len;
	uint8_t pad_len;       /* padding bytes at the end, counting the last (0: none) */
	const uint8_t *payload;    /* parse: into the packet, padding removed */
	size_t plen;
};

/* Parse one datagram; pointers in h point into p. */
int rtp_parse(struct rtp_hdr *h, const uint8_t *p, size_t len);
/* Header length rtp_build writes for h (fixed part, CSRCs, extension). */
size_t rtp_hdr_len(const struct rtp_hdr *h);
/* Write h, then payload, then h->pad_len bytes of padding (zeros, the last
 * one holding the count).  h->payload and h->plen are not used.  Returns
 * the packet length. */
int rtp_build(uint8_t *p, size_t cap, const struct rtp_hdr *h, const uint8_t *payload,
	      size_t plen);

/* What arrives on a port shared by STUN, DTLS and RTP/RTCP: RFC 7983
 * classifies by the first byte, RFC 5761 tells RTCP from RTP by the
 * second (192..223: RTCP packet types SR..; RTP payload types 64..95 are
 * avoided with rtcp-mux). */
enum rtp_kind {
	RTP_KIND_OTHER,   /* drop */
	RTP_KIND_STUN,    /* 0..3 */
	RTP_KIND_ZRTP,    /* 16..19 */
	RTP_KIND_DTLS,    /* 20..63 */
	RTP_KIND_TURN,    /* 64..79: TURN channel data */
	RTP_KIND_RTP,     /* 128..191 */
	RTP_KIND_RTCP,    /* 128..191 with a second byte of 192..223 */
};
enum rtp_kind rtp_classify(const uint8_t *p, size_t len);
bool rtp_is_rtcp(const uint8_t *p, size_t len);

/* RFC 4733 telephone-event payload: event (0..9, 10 '*', 11 '#', 12..15
 * A..D), the end bit, volume (0..63, in -dBm0) and duration in RTP clock
 * units. */
struct rtp_dtmf {
	uint8_t event;
	bool end;
	uint8_t volume;
	uint16_t duration;
};
#define RTP_DTMF_LEN 4
/* Parse the last 4-byte event block (earlier blocks, RFC 4733 2.5.1.5,
 * report events that already ended).  Returns the number of blocks. */
int rtp_dtmf_parse(struct rtp_dtmf *ev, const uint8_t *p, size_t len);
int rtp_dtmf_build(uint8_t *p, size_t cap, const struct rtp_dtmf *ev);

/* Receive statistics for one source (RFC 3550 A.1, A.3, A.8).  arrival is
 * the local receive time in RTP clock units (any origin, wrapping).  A
 * new source is on probation until two packets arrive in sequence.  A
 * change of SSRC starts over with the new source, so feed one struct only
 * the stream it tracks: telephone-events sent on their own SSRC (RFC 4733
 * 2.6.2 allows it) need a struct of their own. */
struct rtp_rx_stats {
	bool started;
	bool have_transit;
	uint32_t ssrc;
	uint16_t max_seq;      /* highest sequence number seen */
	uint32_t cycles;       /* sequence wraps, shifted left by 16 */
	uint32_t base_seq;
	uint32_t bad_seq;      /* the sequence number after a big jump */
	uint32_t probation;
	uint32_t received;
	uint32_t expected_prior;   /* at the last report (A.3) */
	uint32_t received_prior;
	uint32_t transit;          /* of the last packet (A.8) */
	uint32_t jitter;           /* scaled by 16 */
	uint32_t lsr;              /* middle 32 bits of the last SR's NTP time */
	uint32_t lsr_at;           /* when it arrived, NTP short format (16.16) */
};
struct rtcp_rb;

void rtp_rx_init(struct rtp_rx_stats *st);
/* Count a packet.  Returns false while the source is on probation and for
 * the first packet after a big sequence jump: RFC 3550 A.1 says not to
 * use those. */
bool rtp_rx_update(struct rtp_rx_stats *st, uint32_t ssrc, uint16_t seq, uint32_t rtp_ts,
		   uint32_t arrival);
/* Remember the sender's last SR: its 64-bit NTP time and our receive time
 * in NTP short format. */
void rtp_rx_sr(struct rtp_rx_stats *st, uint64_t ntp, uint32_t now);
/* Fill a report block and start a new interval for fraction lost.  now is
 * in NTP short format, for DLSR. */
void rtp_rx_report(struct rtp_rx_stats *st, struct rtcp_rb *rb, uint32_t now);
static inline uint32_t rtp_rx_ext_max(const struct rtp_rx_stats *st)
{
	return st->cycles + st->max_seq;
}

/* Sender: a random SSRC, sequence number and timestamp offset (RFC 3550
 * 5.1), and the marker bit on the first packet and on the first packet
 * after a silence gap (RFC 3551 4.1): a timestamp step larger than one
 * frame, or backwards. */
struct rtp_tx {
	uint32_t ssrc;
	uint16_t seq;          /* of the next packet */
	uint32_t ts_off;       /* added to the caller's timestamps */
	uint8_t pt;
	uint32_t frame;        /* RTP clock units per frame, e.g. 320 */
	uint32_t last_ts;
	bool started;
};
int rtp_tx_init(struct rtp_tx *tx, uint8_t pt, uint32_t frame);
/* Fill h for the next packet, whose first frame is at media time ts (RTP
 * clock units from any origin). */
void rtp_tx_next(struct rtp_tx *tx, uint32_t ts, struct rtp_hdr *h);

#endif
