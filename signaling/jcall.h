/* Jingle voice calls of one XMPP session: XEP-0166/0167/0176/0320 sessions
 * and XEP-0353 ringing, driving one media engine call (media/engine.h)
 * each.  No RTMP here: the owner (gateway/call.c) places and answers calls
 * and moves audio.
 *
 * A manager per XMPP session routes the stanzas that belong to calls
 * (Jingle iqs, answers to our Jingle iqs, JMI messages and their carbons)
 * and keeps the presence it sees, so that a bare JID can be rung.  It also
 * asks the user's server for STUN and TURN servers (XEP-0215, extsvc.h),
 * which its calls then use instead of the engine's.  All of it runs on
 * the control thread.
 *
 * Outgoing: jcall_dial() to a full JID sends session-initiate once local
 * candidates are gathered; to a bare JID it sends a JMI propose, and the
 * first proceed gets the session-initiate.  Incoming: a session-initiate
 * or a propose reaches the owner's incoming handler; jcall_answer() or
 * jcall_reject() follow.  The owner sees the call's progress as
 * JCALL_PROPOSED, JCALL_RINGING, JCALL_ACTIVE and JCALL_ENDED (with a
 * Jingle reason); after ENDED the call is freed by the manager, and
 * nothing more is said about it. */
#ifndef RX_JCALL_H
#define RX_JCALL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <strophe.h>
#include "jingle.h"

struct loop;
struct xsess;
struct mengine;
struct jcall_mgr;
struct jcall;

enum jcall_state { JCALL_PROPOSED, JCALL_RINGING, JCALL_ACTIVE, JCALL_ENDED };

const char *jcall_state_name(enum jcall_state s);   /* "proposed", ... */

struct jcall_handlers {
	/* Someone calls us: jcall_answer() or jcall_reject() it (now or
	 * later), or let it time out.  info: "audio". */
	void (*incoming)(struct jcall *c, const char *from, void *arg);
	/* Progress.  With JCALL_ENDED the call is freed after this returns. */
	void (*state)(struct jcall *c, enum jcall_state st, enum jingle_reason reason, void *arg);
	/* One RTMP audio message from the peer (FLV byte + Speex frames). */
	void (*audio)(struct jcall *c, uint32_t rtmp_ts, const uint8_t *body, size_t len,
		      void *arg);
};

struct jcall_config {
	unsigned answer_timeout_s;   /* no answer -> ended(timeout); 0: 60 */
	unsigned max_calls;          /* per session, all directions; 0: 8 */
	unsigned max_pending_per_peer; /* unanswered incoming calls per contact; 0: 2 */
	bool allow_plain;            /* accept and offer plain RTP */
	uint8_t flv_tag;             /* FLV byte for audio to RTMP; 0: 0xB2 */
};

/* Everything the manager needs; eng may be NULL (voice disabled: Jingle
 * requests are refused with feature-not-implemented). */
int jcall_mgr_alloc(struct jcall_mgr **mp, struct loop *loop, struct xsess *xs,
		    struct mengine *eng, const struct jcall_config *cfg,
		    const struct jcall_handlers *h, void *arg);
/* An incoming stanza: true when it belonged to the call layer (then the
 * client must not see it).  Presence is looked at and never consumed. */
bool jcall_mgr_handle(struct jcall_mgr *m, xmpp_stanza_t *st);
/* End every call (reason sent to the peers), e.g. before the session goes.
 * The state handler is called for each. */
void jcall_mgr_hangup_all(struct jcall_mgr *m, enum jingle_reason reason);
unsigned jcall_mgr_count(const struct jcall_mgr *m);

/* Call jid (full: session-initiate; bare: JMI propose).  -EINVAL for a bad
 * JID, -EBUSY past max_calls, -ENOTCONN without a session, -ENOTSUP
 * without a media engine. */
int jcall_dial(struct jcall **cp, struct jcall_mgr *m, const char *jid);
int jcall_answer(struct jcall *c);
/* Refuse an incoming call (JR_BUSY, JR_DECLINE). */
int jcall_reject(struct jcall *c, enum jingle_reason reason);
/* End a call in any state: retract before answer, terminate after.  The
 * state handler is called with JCALL_ENDED before this returns. */
void jcall_hangup(struct jcall *c, enum jingle_reason reason);
int jcall_send_audio(struct jcall *c, uint32_t rtmp_ts, const uint8_t *body, size_t len);

const char *jcall_sid(const struct jcall *c);
const char *jcall_peer(const struct jcall *c);   /* as dialled, or the caller's full JID */
bool jcall_outgoing(const struct jcall *c);
enum jcall_state jcall_state(const struct jcall *c);
struct jcall *jcall_find(struct jcall_mgr *m, const char *sid);
/* The owner's per-call pointer (e.g. its streams). */
void jcall_set_owner(struct jcall *c, void *owner);
void *jcall_owner(const struct jcall *c);

#endif
