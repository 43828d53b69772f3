/* The media engine: one media thread per worker process that owns every
 * call's ICE agent, DTLS, SRTP, repacketizer and jitter buffer, driven by
 * the control thread (RTMP and XMPP) through lock-free rings.
 *
 * Threads.  mengine_alloc() starts the media thread.  Every mengine_* and
 * mcall_* function is called from the control thread (the one whose loop
 * was given to mengine_alloc); every handler runs on that thread, from its
 * loop.  Nothing here takes a lock:
 *   - commands (create, credentials, candidates, security, close) go to the
 *     media thread through one SPSC command ring, events come back through
 *     one SPSC event ring; each ring has an eventfd that is signalled only
 *     when a push finds it empty;
 *   - audio has its own preallocated SPSC ring per call and direction;
 *     when a push finds a call's ring empty, the call is queued for the
 *     other thread on the command (or event) ring, which wakes it.  The
 *     other side then drains that call's ring until it is empty.  So a
 *     burst of audio costs one wake-up, and nothing is allocated per
 *     packet on either side.
 *
 * A call (struct mcall, a mem block) is created by the control thread and
 * dies with mem_deref: no handler is called after that, the media side is
 * torn down asynchronously, and the memory they share is freed once the
 * media thread has let go of it.
 *
 * Media starts when ICE has a selected pair on every component in use and
 * the security mode is set (for DTLS: once the handshake is done and the
 * peer's certificate matched the signalled fingerprint).  Until then audio
 * from RTMP is dropped and counted (stats.tx_before_ready).
 *
 * RTMP side, per call: mcall_send_audio() takes RTMP audio messages (FLV
 * byte + Speex, 1..32 frames), which go out as RTP (one frame per packet,
 * repack.h); received RTP goes through the jitter buffer and comes back in
 * the audio handler as RTMP audio messages (FLV byte + fpp frames) with
 * monotonic RTMP timestamps starting at 0.
 *
 * RTCP: a compound SR (or RR while we have sent nothing) with SDES CNAME
 * every 5 s, on component 2 or muxed; received SR/RR update the stats.
 * A stats snapshot reaches the control thread as MCALL_EV_STATS every 5 s
 * (or on mcall_request_stats()); mcall_stats() returns the last one.
 *
 * Errors are negative errno values. */
#ifndef RX_ENGINE_H
#define RX_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "dtls.h"
#include "ice.h"
#include "repack.h"
#include "srtp.h"

struct loop;
struct mengine;
struct mcall;

struct mengine_config {
	struct ice_config ice;     /* copied, strings too */
	const char *cert_pem;      /* DTLS certificate and key files; NULL: generated */
	const char *key_pem;
	unsigned max_calls;        /* 0: 1024; mcall_alloc() past it gives -EBUSY */
	bool allow_plain;          /* plain RTP allowed (mcall_set_plain) */
	/* bytes of the audio ring per call and direction, a power of 2,
	 * 8192..1 MiB; 0: 16384.  A message of n bytes takes n + 12 rounded up
	 * to 8: 16 KiB hold about 4 s of one Speex frame per message, or 7 of
	 * MCALL_AUDIO_MAX. */
	unsigned audio_ring;
	/* slots of the command ring and of the event ring, power of 2; 0: 1024.
	 * A message that finds its ring full waits in an allocated node, so
	 * this only trades memory for allocations (tests use 2). */
	unsigned ctl_slots;
};

/* loop: the control thread's loop (the caller's).  Generates or loads the
 * certificate, starts the media thread, and returns once it runs.
 * mem_deref of the engine (also from a handler) tears down every call's
 * media side and joins the thread; calls not yet released get no handler
 * calls any more and wait for their own mem_deref. */
int mengine_alloc(struct mengine **ep, struct loop *loop, const struct mengine_config *cfg);
/* Our DTLS certificate's sha-256 fingerprint, "AB:CD:..." (XEP-0320). */
const char *mengine_fingerprint(const struct mengine *e);
bool mengine_allow_plain(const struct mengine *e);
unsigned mengine_calls(const struct mengine *e);   /* live calls: allocated, not yet released */

enum mcall_security { MCALL_SEC_NONE = 0, MCALL_SEC_PLAIN, MCALL_SEC_SDES, MCALL_SEC_DTLS };

struct mcall_params {
	bool controlling;    /* ICE role (the Jingle initiator is controlling) */
	unsigned ncomp;      /* 1 (rtcp-mux) or 2; 0 means 1 */
	uint8_t pt;          /* payload type of speex/16000, 0..127 */
	uint8_t tag;         /* FLV byte of audio to RTMP: 0xB2 (Flash) or 0xB6 (FFmpeg) */
	unsigned fpp;        /* frames per RTMP message to RTMP; 0 means 1 */
	const char *name;    /* for log lines (e.g. the Jingle sid); copied; may be NULL */
	/* payload type of telephone-event (RFC 4733, 96..127) if negotiated;
	 * 0: none.  Such packets are counted (telephone_events), not played. */
	uint8_t te_pt;
	/* STUN and TURN servers for this call's ICE agent instead of the
	 * engine's, kind by kind (ice.h, struct ice_servers), e.g. those the
	 * user's XMPP server offers (XEP-0215); NULL: the engine's.  Copied,
	 * strings too: each shorter than ICE_SERVER_STR_SIZE, or -EINVAL. */
	const struct ice_servers *servers;
};

/* Per call.  Counters only grow. */
struct mcall_stats {
	/* RTP we send */
	uint64_t rtp_sent, rtp_bytes_sent, rtcp_sent;   /* bytes: RTP payload, as SR counts */
	uint64_t tx_before_ready;   /* RTMP messages dropped: media not up (yet, or any more) */
	uint64_t tx_ring_full;      /* RTMP messages dropped: the ring to the media thread was full */
	uint64_t send_errors;       /* ICE send failures */
	/* RTP we receive */
	uint64_t rtp_recv, rtp_bytes_recv, rtcp_recv;   /* of the speex payload type */
	uint64_t rx_ring_full;      /* RTMP messages dropped: the ring to the control thread was full */
	uint32_t ssrc_remote;       /* the last one seen (0: none) */
	int64_t lost;               /* RFC 3550 cumulative lost, as our RR reports it */
	uint32_t jitter;            /* RFC 3550 interarrival jitter, RTP units (16 kHz) */
	/* what the peer reports about our stream (its last RR block for our SSRC) */
	bool have_remote_report;
	int64_t remote_lost;
	uint32_t remote_jitter;
	uint8_t remote_fraction_lost;
	uint32_t rtt_ms;            /* from LSR/DLSR; 0 until known */
	/* dropped input, by cause (the call goes on) */
	uint64_t bad_packets;       /* not RTP, RTCP, DTLS or STUN (RFC 7983), or garbage */
	uint64_t bad_rtp;           /* truncated or malformed RTP/RTCP */
	uint64_t wrong_pt;          /* RTP of another payload type (telephone-event counted apart) */
	uint64_t foreign_ssrc;      /* RTP from an SSRC other than the one played, until it
	                             * takes over (2 in sequence, none of ours between) */
	uint64_t telephone_events;  /* RFC 4733 packets recognised (not forwarded yet) */
	uint64_t srtp_auth_fail;    /* SRTP/SRTCP authentication failures */
	uint64_t srtp_replay;       /* SRTP/SRTCP replays */
	uint64_t dtls_bad;          /* DTLS records dropped (oversized, truncated, late) */
	uint64_t before_secure;     /* RTP/RTCP that came before the keys, dropped */
	struct repack_stats tx, rx; /* the repacketizer (RTMP -> RTP) and jitter buffer */
};

enum mcall_ev_type {
	MCALL_EV_CANDIDATE,       /* a local candidate to signal: ev->cand */
	MCALL_EV_GATHERING_DONE,  /* every local candidate was reported */
	MCALL_EV_CONNECTED,       /* ICE has a selected pair on every component */
	MCALL_EV_MEDIA,           /* security is up too (DTLS done, or SDES/plain): media flows */
	MCALL_EV_FAILED,          /* ICE failed (no pair); final */
	MCALL_EV_CONSENT_LOST,    /* RFC 7675; final */
	/* DTLS failed, or the peer's certificate does not match the signalled
	 * fingerprint (ev->why says which); final.  Jingle reason
	 * security-error. */
	MCALL_EV_SECURITY_ERROR,
	MCALL_EV_STATS,           /* every 5 s: ev->stats */
};

struct mcall_event {
	enum mcall_ev_type type;
	const struct ice_cand *cand;        /* CANDIDATE */
	const struct mcall_stats *stats;    /* STATS */
	const char *why;                    /* SECURITY_ERROR, FAILED: for the log */
};

/* Handlers run on the control thread.  Either may mem_deref the call. */
typedef void (mcall_event_h)(struct mcall *c, const struct mcall_event *ev, void *arg);
/* One RTMP audio message: body is the FLV byte and fpp Speex frames, valid
 * during the call only; rtmp_ts is monotonic per call, starting at 0. */
typedef void (mcall_audio_h)(struct mcall *c, uint32_t rtmp_ts, const uint8_t *body,
			     size_t len, void *arg);

/* A call with fresh ICE credentials (known at once, see below).  -EBUSY
 * past max_calls (calls released but not yet torn down by the media thread
 * count too), -EINVAL, -ENOMEM, -EAGAIN when the command ring is full.
 * The other mcall_* functions give -ESHUTDOWN once the engine is gone (the
 * call then only waits for its mem_deref) and -EINVAL for bad arguments;
 * commands never wait: when the command ring is full they are queued. */
int mcall_alloc(struct mcall **cp, struct mengine *e, const struct mcall_params *p,
		mcall_event_h *evh, mcall_audio_h *audioh, void *arg);
/* Our ICE ufrag and password: valid as long as the call. */
void mcall_local_credentials(const struct mcall *c, const char **ufrag, const char **pwd);
/* Starts gathering: MCALL_EV_CANDIDATE per candidate, then GATHERING_DONE. */
int mcall_gather(struct mcall *c);
int mcall_set_remote_credentials(struct mcall *c, const char *ufrag, const char *pwd);
/* A remote candidate (trickle): any time, before or after the credentials. */
int mcall_add_remote_candidate(struct mcall *c, const struct ice_cand *cand);
int mcall_end_of_candidates(struct mcall *c);
/* The peer accepted rtcp-mux: component 2 is dropped. */
int mcall_rtcp_mux(struct mcall *c);

/* Security, once per call (-EALREADY after).  DTLS-SRTP: role is ours
 * (MDTLS_ACTIVE sends the ClientHello once ICE connects), remote_fp the
 * peer's sha-256 fingerprint as signalled ("AB:CD:...", case ignored;
 * sha-1 to sha-512 are taken, told by the length); both SRTP profiles are
 * offered.  Without rtcp-mux each component has its own DTLS session and
 * keys (RFC 5764 4.1). */
int mcall_set_dtls(struct mcall *c, enum mdtls_role role, const char *remote_fp);
/* SDES (XEP-0167 <crypto/>): the master key+salt we protect with and the
 * one the peer protects with. */
int mcall_set_sdes(struct mcall *c, enum msrtp_profile prof,
		   const uint8_t tx_key[MSRTP_KEY_SALT_LEN], const uint8_t rx_key[MSRTP_KEY_SALT_LEN]);
/* Plain RTP: -EPERM unless the engine allows it. */
int mcall_set_plain(struct mcall *c);
enum mcall_security mcall_security(const struct mcall *c);

/* One RTMP audio message (FLV byte + Speex) at RTMP time rtmp_ts.  0 when
 * queued or dropped-and-counted (before media, ring full); -EMSGSIZE
 * when longer than MCALL_AUDIO_MAX bytes. */
#define MCALL_AUDIO_MAX 2100   /* at least 1 + REPACK_MAX_FPP * REPACK_FRAME_MAX */
int mcall_send_audio(struct mcall *c, uint32_t rtmp_ts, const uint8_t *body, size_t len);

/* The last stats snapshot (zeros until the first). */
const struct mcall_stats *mcall_stats(const struct mcall *c);
/* Ask for a fresh snapshot now: it arrives as MCALL_EV_STATS. */
int mcall_request_stats(struct mcall *c);

#endif
