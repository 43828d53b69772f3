/* Internal API of the Jingle call layer (jcall.h), shared by its files:
 *   jcall.c      helpers, the stanzas we send, the call object and its
 *                media, applying the remote description, the public API;
 *   jcall_in.c   incoming Jingle: initiate, accept, the other actions,
 *                transport-info that comes before its session, iq answers;
 *   jcall_jmi.c  XEP-0353 both ways, with its fallback, and the presence
 *                that lets a bare JID be rung.
 * Everything runs on the control thread. */
#ifndef RX_JCALL_INT_H
#define RX_JCALL_INT_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/rand.h>
#include "engine.h"
#include "extsvc.h"
#include "jcall.h"
#include "list.h"
#include "log.h"
#include "loop.h"
#include "mem.h"
#include "stanza.h"
#include "xsess.h"

#define SPEEX_PT 97            /* what we offer for speex/16000 */
#define MAX_LOCAL_CANDS JINGLE_MAX_CANDS
#define MAX_EARLY 16           /* transport-infos held for sessions not yet known */
#define EARLY_MS 10000
#define MAX_PRESENCE 512       /* available full JIDs remembered */
/* A propose nobody rings for in this time goes to a resource directly */
#define JMI_FALLBACK_MS 5000
#define CONTENT_NAME "audio"

enum phase { PH_GATHER, PH_PROPOSED, PH_INITIATED, PH_INCOMING, PH_JMI_IN, PH_PROCEEDED,
	     PH_ACCEPTING, PH_ACTIVE, PH_ENDED };

struct jcall_mgr {
	struct loop *loop;
	struct xsess *xs;
	struct mengine *eng;
	struct extsvc *svc;       /* the server's STUN/TURN (XEP-0215); NULL without eng */
	struct jcall_config cfg;
	struct jcall_handlers h;
	void *arg;
	struct list calls;
	struct list early;        /* struct early */
	struct list presence;     /* struct pres: available full JIDs */
	unsigned npresence;
};

struct jcall {
	struct le le;
	struct jcall_mgr *m;
	char sid[JINGLE_SID_SIZE];
	char *peer;               /* full JID once known; bare while proposing */
	bool out;
	bool jmi;                 /* rung with XEP-0353 */
	bool ringing_sent;        /* owner told RINGING */
	enum phase ph;
	enum jcall_state st;
	struct mcall *mc;
	bool gathered;
	bool session_sent;        /* initiate/accept sent: trickle further candidates */
	struct ice_cand local[MAX_LOCAL_CANDS];
	unsigned nlocal;
	struct jingle *offer;     /* incoming: the session-initiate until answered */
	uint8_t pt;
	enum mcall_security sec;
	enum mdtls_role dtls_role;
	uint8_t sdes_tx[MSRTP_KEY_SALT_LEN];
	char sdes_params[MSRTP_SDES_SIZE];
	char sdes_suite[JINGLE_NAME_SIZE];
	unsigned sdes_tag;
	char content[JINGLE_NAME_SIZE];
	enum jingle_creator creator;
	char initiate_id[32];     /* our session-initiate's iq id */
	struct tmr tmr;           /* answer timeout */
	struct tmr jmi_tmr;       /* outgoing propose: the fallback (on_jmi_silence) */
	void *owner;
};

struct early {
	struct le le;
	struct jcall_mgr *m;
	char *from;
	struct jingle *j;
	struct tmr tmr;
};

struct pres {
	struct le le;
	char *jid;
};

/* jcall.c */
bool jc_jid_full(const char *jid);
void jc_jid_bare(const char *jid, char *out, size_t size);
bool jc_jid_ok(const char *jid);
bool jc_same_bare(const char *a, const char *b);
const char *jc_own_jid(struct jcall_mgr *m);
void jc_set_state(struct jcall *c, enum jcall_state st, enum jingle_reason r);
void jc_jingle_base(struct jcall *c, struct jingle *j, enum jingle_action a);
void jc_send_jingle(struct jcall *c, const struct jingle *j, char *id_out, size_t id_size);
void jc_terminate_to(struct jcall_mgr *m, const char *sid, const char *to,
		     enum jingle_reason r);
void jc_send_terminate(struct jcall *c, enum jingle_reason r);
void jc_send_jmi(struct jcall_mgr *m, enum jmi_kind k, const char *sid, const char *to,
		 enum jingle_reason r);
void jc_send_result(struct jcall_mgr *m, xmpp_stanza_t *req);
void jc_send_error(struct jcall_mgr *m, xmpp_stanza_t *req, const char *type,
		   const char *cond, const char *jcond, const char *text);
void jc_send_initiate(struct jcall *c);
void jc_send_accept(struct jcall *c);
void jc_end_call(struct jcall *c, enum jingle_reason reason, bool tell_peer);
int jc_media_alloc(struct jcall *c, bool controlling, unsigned ncomp);
int jc_call_alloc(struct jcall **cp, struct jcall_mgr *m, const char *sid, const char *peer,
		  bool out);
const struct jingle_content *jc_audio_content(const struct jingle *j);
const struct jingle_payload *jc_find_speex(const struct jingle_content *ct);
void jc_add_transport(struct jcall *c, const struct jingle_content *ct);
void jc_apply_early(struct jcall *c);
enum jingle_reason jc_pick_security(struct jcall *c, const struct jingle_content *ct);
int jc_apply_security_answerer(struct jcall *c, const struct jingle_content *ct);

/* jcall_in.c */
unsigned jc_pending_from(struct jcall_mgr *m, const char *from);
void jc_handle_jingle(struct jcall_mgr *m, xmpp_stanza_t *iq, xmpp_stanza_t *el);
bool jc_handle_iq_answer(struct jcall_mgr *m, xmpp_stanza_t *iq, const char *type);

/* jcall_jmi.c */
void jc_on_jmi_silence(void *arg);
void jc_handle_jmi(struct jcall_mgr *m, xmpp_stanza_t *msg, const struct jmi *j);
void jc_track_presence(struct jcall_mgr *m, xmpp_stanza_t *st);

#endif
