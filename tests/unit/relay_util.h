/* A UDP impairment relay for the engine tests (test_engine_relay.c), on the
 * test's control loop.  It has one socket facing engine A and one facing
 * engine B; each engine is given only the relay's socket facing it as the
 * other's candidate (relay_cand()), so everything between them (STUN,
 * DTLS, SRTP, RTCP) passes through it, from the address the engine
 * expects.  Datagrams are told apart by their first byte (RFC 7983,
 * rtp_classify()) and only RTP is impaired, by a script over the order of
 * the RTP packets in each direction rather than at random, so that what
 * the receiver plays can be predicted exactly.  For packet k:
 *   - k % drop_m == drop_r: dropped;
 *   - else k % swap_m == swap_r: held, and sent right after the next RTP
 *     packet that goes out (neighbours swapped), or after RELAY_HOLD_MS if
 *     none comes (then not swapped, but counted apart);
 *   - k % dup_m == dup_r (and not dropped): sent twice in a row;
 *   - k >= ssrc_from: under another SSRC (plain RTP only).
 * A modulus of 0 turns a rule off.  The frame a packet carries is its
 * sequence number minus the first one's (the engine sends one frame per
 * packet, in order, and loopback keeps the order); what happened to each
 * frame is kept in a fate array.  A hook sees every RTP packet before the
 * script does and may send datagrams of its own with relay_send().
 * Nothing is allocated per packet. */
#ifndef RX_RELAY_UTIL_H
#define RX_RELAY_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct loop;
struct ice_cand;
struct relay;

enum { RELAY_AB = 0, RELAY_BA = 1 };   /* directions: from engine A (0) or B (1) */

#define RELAY_HOLD_MS 60

/* fate of a frame, as bits */
enum {
	RELAY_SEEN = 1,
	RELAY_DROPPED = 2,
	RELAY_SWAPPED = 4,
	RELAY_DUPLICATED = 8,
};

struct relay_impair {
	unsigned drop_m, drop_r;
	unsigned swap_m, swap_r;
	unsigned dup_m, dup_r;
	/* from packet ssrc_from on, the SSRC is xored with ssrc_xor (0: never):
	 * the sender restarts, as far as the receiver can tell (plain RTP) */
	unsigned ssrc_from;
	uint32_t ssrc_xor;
};

struct relay_stats {
	uint64_t rtp, rtcp, dtls, stun, other;   /* datagrams in, by kind */
	uint64_t dropped, swapped, duplicated;   /* RTP packets */
	uint64_t held_out;                       /* held, then sent alone by the timer */
	uint64_t injected;                       /* sent by relay_send() */
	uint32_t ssrc;                           /* of the first RTP packet */
	/* what must not be: a datagram from an unknown source or cut short,
	 * an RTP packet out of the sender's order or past the fate array, a
	 * send that failed */
	uint64_t bad;
};

/* Packet k (from 0) of direction dir, before the script acts on it. */
typedef void (relay_rtp_h)(struct relay *rl, unsigned dir, unsigned k, const uint8_t *pkt,
			   size_t len, void *arg);

/* Two UDP sockets on 127.0.0.1, read from loop; nframes: size of the fate
 * arrays (frames per direction).  0 or an errno value. */
int relay_alloc(struct relay **rlp, struct loop *loop, unsigned nframes, relay_rtp_h *rtph,
		void *arg);
void relay_set_impair(struct relay *rl, unsigned dir, const struct relay_impair *imp);
/* A local candidate of engine "from" (0 A, 1 B) on its way to the other:
 * its UDP host candidate of component 1 becomes the relay's socket facing
 * the other engine (and the relay learns where "from" is); false for any
 * other candidate, which is to be withheld. */
bool relay_cand(struct relay *rl, unsigned from, struct ice_cand *c);
/* A datagram of our own in direction dir, from the relay's address the
 * receiver knows.  0 or an errno value. */
int relay_send(struct relay *rl, unsigned dir, const uint8_t *p, size_t len);
const struct relay_stats *relay_stats(const struct relay *rl, unsigned dir);
/* RELAY_* bits of frame i in direction dir (0 past the array). */
unsigned relay_fate(const struct relay *rl, unsigned dir, unsigned i);

#endif
