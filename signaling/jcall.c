/* Jingle voice calls of one XMPP session (see jcall.h).
 *
 * Phases of a call (what we wait for):
 *   out, full JID:  GATHER (candidates) -> INITIATED (session-accept) -> ACTIVE
 *   out, bare JID:  PROPOSED (proceed) -> GATHER -> INITIATED -> ACTIVE
 *                   (no ringing in 5 s and an available resource: retract,
 *                   then GATHER to that resource; see on_jmi_silence)
 *   in, Jingle:     INCOMING (the owner) -> ACCEPTING (candidates) -> ACTIVE
 *   in, JMI:        JMI_IN (the owner) -> PROCEEDED (session-initiate)
 *                   -> ACCEPTING -> ACTIVE
 * The media engine call is made as soon as the call exists for outgoing
 * calls (so gathering overlaps ringing) and when the offer is known for
 * incoming ones (its payload type and component count come from it). */
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

static void end_call(struct jcall *c, enum jingle_reason reason, bool tell_peer);

const char *jcall_state_name(enum jcall_state s)
{
	static const char *const n[] = {"proposed", "ringing", "active", "ended"};
	return (unsigned)s < 4 ? n[s] : "";
}

/* ---- small helpers ---- */

static bool jid_full(const char *jid)
{
	const char *at = strchr(jid, '@'), *slash = strchr(jid, '/');
	return slash && slash[1] && (!at || at < slash);
}

/* Bare part of jid into out ("" when it does not fit). */
static void jid_bare(const char *jid, char *out, size_t size)
{
	size_t n = strcspn(jid, "/");

	if (n >= size)
		n = 0;
	memcpy(out, jid, n);
	out[n] = '\0';
}

static bool jid_ok(const char *jid)
{
	size_t n = strlen(jid);

	if (!n || n >= JINGLE_JID_SIZE || jid[0] == '@' || jid[0] == '/')
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)jid[i] <= ' ' || jid[i] == '<' || jid[i] == '>' ||
		    jid[i] == '"' || jid[i] == '\'' || jid[i] == '&')
			return false;
	return true;
}

static bool same_bare(const char *a, const char *b)
{
	size_t na = strcspn(a, "/"), nb = strcspn(b, "/");
	return na == nb && !strncasecmp(a, b, na);
}

static const char *own_jid(struct jcall_mgr *m)
{
	const char *j = xsess_jid(m->xs);
	return j ? j : "";
}

static xmpp_ctx_t *ctx_of(struct jcall_mgr *m)
{
	return xsess_ctx(m->xs);
}

static void send_st(struct jcall_mgr *m, xmpp_stanza_t *st)
{
	if (!st)
		return;
	if (xsess_send(m->xs, st))
		LOGD("jingle: stanza not sent (session down)");
	xmpp_stanza_release(st);
}

static void make_sid(char *sid, size_t size)
{
	uint8_t r[12];
	static const char hex[] = "0123456789abcdef";
	size_t i;

	if (RAND_bytes(r, sizeof(r)) != 1)
		for (i = 0; i < sizeof(r); i++)
			r[i] = (uint8_t)random();
	for (i = 0; i < sizeof(r) && 2 * i + 2 < size; i++) {
		sid[2 * i] = hex[r[i] >> 4];
		sid[2 * i + 1] = hex[r[i] & 15];
	}
	sid[2 * i] = '\0';
}

static void set_state(struct jcall *c, enum jcall_state st, enum jingle_reason r)
{
	if (c->st == st && st != JCALL_ENDED)
		return;
	c->st = st;
	LOGI("call %s %s %s: %s%s%s", c->sid, c->out ? "to" : "from", c->peer,
	     jcall_state_name(st), r ? " " : "", r ? jingle_reason_name(r) : "");
	if (c->m->h.state)
		c->m->h.state(c, st, r, c->m->arg);
}

/* ---- stanzas we send ---- */

static void jingle_base(struct jcall *c, struct jingle *j, enum jingle_action a)
{
	memset(j, 0, sizeof(*j));
	j->action = a;
	snprintf(j->sid, sizeof(j->sid), "%s", c->sid);
	if (a == JA_SESSION_INITIATE)
		snprintf(j->initiator, sizeof(j->initiator), "%s", own_jid(c->m));
	if (a == JA_SESSION_ACCEPT)
		snprintf(j->responder, sizeof(j->responder), "%s", own_jid(c->m));
}

static void send_jingle_to(struct jcall_mgr *m, const struct jingle *j, const char *to,
			   char *id_out, size_t id_size)
{
	char id[32];
	xmpp_stanza_t *iq;

	xsess_next_id(m->xs, id, sizeof(id));
	if (id_out)
		snprintf(id_out, id_size, "%s", id);
	iq = jingle_iq_build(ctx_of(m), j, own_jid(m), to, id);
	if (!iq) {
		LOGW("jingle %s: out of memory building %s", j->sid, jingle_action_name(j->action));
		return;
	}
	send_st(m, iq);
}

static void send_jingle(struct jcall *c, const struct jingle *j, char *id_out, size_t id_size)
{
	/* What we offer, for the operator (and the tests): one line each */
	for (unsigned i = 0; log_enabled(LOG_DEBUG) && i < j->ncontents; i++)
		for (unsigned k = 0; k < j->contents[i].ncands; k++) {
			const struct ice_cand *ic = &j->contents[i].cands[k].c;
			LOGD("call %s: %s with candidate %s %s:%u", c->sid,
			     jingle_action_name(j->action), ice_cand_type_name(ic->type), ic->ip,
			     ic->port);
		}
	send_jingle_to(c->m, j, c->peer, id_out, id_size);
}

/* session-terminate for sid to "to" (also for sessions we never kept). */
static void terminate_to(struct jcall_mgr *m, const char *sid, const char *to,
			 enum jingle_reason r)
{
	struct jingle *j = mem_zalloc(sizeof(*j), NULL);

	if (!j)
		return;
	j->action = JA_SESSION_TERMINATE;
	snprintf(j->sid, sizeof(j->sid), "%s", sid);
	j->reason = r;
	send_jingle_to(m, j, to, NULL, 0);
	mem_deref(j);
}

static void send_terminate(struct jcall *c, enum jingle_reason r)
{
	terminate_to(c->m, c->sid, c->peer, r);
}

static void send_jmi(struct jcall_mgr *m, enum jmi_kind k, const char *sid, const char *to,
		     enum jingle_reason r)
{
	struct jmi *msg = mem_zalloc(sizeof(*msg), NULL);
	char id[32];

	if (!msg)
		return;
	msg->kind = k;
	snprintf(msg->id, sizeof(msg->id), "%s", sid);
	msg->audio = (k == JMI_PROPOSE);
	msg->reason = r;
	xsess_next_id(m->xs, id, sizeof(id));
	send_st(m, jmi_build(ctx_of(m), msg, own_jid(m), to, id));
	mem_deref(msg);
}

static void send_result(struct jcall_mgr *m, xmpp_stanza_t *req)
{
	xmpp_stanza_t *iq = xmpp_iq_new(ctx_of(m), "result", xmpp_stanza_get_id(req));
	const char *from = xmpp_stanza_get_from(req);

	if (!iq)
		return;
	if (from)
		xmpp_stanza_set_to(iq, from);
	xmpp_stanza_set_from(iq, own_jid(m));
	send_st(m, iq);
}

static void send_error(struct jcall_mgr *m, xmpp_stanza_t *req, const char *type,
		       const char *cond, const char *jcond, const char *text)
{
	LOGI("jingle: answering %s from %s with %s%s%s%s%s",
	     xmpp_stanza_get_id(req) ? xmpp_stanza_get_id(req) : "(no id)",
	     xmpp_stanza_get_from(req) ? xmpp_stanza_get_from(req) : "?", cond,
	     jcond ? "/" : "", jcond ? jcond : "", text ? ": " : "", text ? text : "");
	send_st(m, jingle_iq_error(ctx_of(m), req, own_jid(m), type, cond, jcond, text));
}

/* Our content for initiate (offer) or accept (answer). */
static void fill_content(struct jcall *c, struct jingle_content *ct, bool offer)
{
	const char *ufrag, *pwd;

	snprintf(ct->name, sizeof(ct->name), "%s", c->content);
	ct->creator = c->creator;
	ct->has_description = ct->rtp = true;
	snprintf(ct->media, sizeof(ct->media), "audio");
	ct->npayloads = 1;
	ct->payloads[0].id = c->pt;
	snprintf(ct->payloads[0].name, sizeof(ct->payloads[0].name), "speex");
	ct->payloads[0].clockrate = 16000;
	ct->payloads[0].channels = 1;
	ct->rtcp_mux = true;
	if (c->sec == MCALL_SEC_SDES && !offer) {
		ct->ncrypto = 1;
		ct->crypto[0].tag = c->sdes_tag;
		snprintf(ct->crypto[0].suite, sizeof(ct->crypto[0].suite), "%s", c->sdes_suite);
		snprintf(ct->crypto[0].key_params, sizeof(ct->crypto[0].key_params), "inline:%s",
			 c->sdes_params);
	}
	ct->has_transport = ct->ice = true;
	mcall_local_credentials(c->mc, &ufrag, &pwd);
	snprintf(ct->ufrag, sizeof(ct->ufrag), "%s", ufrag);
	snprintf(ct->pwd, sizeof(ct->pwd), "%s", pwd);
	for (unsigned i = 0; i < c->nlocal && i < JINGLE_MAX_CANDS; i++) {
		ct->cands[i].c = c->local[i];
		ct->cands[i].generation = 0;
	}
	ct->ncands = c->nlocal < JINGLE_MAX_CANDS ? c->nlocal : JINGLE_MAX_CANDS;
	if (offer || c->sec == MCALL_SEC_DTLS) {
		ct->has_fingerprint = true;
		snprintf(ct->fp.hash, sizeof(ct->fp.hash), "sha-256");
		snprintf(ct->fp.value, sizeof(ct->fp.value), "%s", mengine_fingerprint(c->m->eng));
		ct->fp.setup = offer ? JS_ACTPASS :
			       c->dtls_role == MDTLS_ACTIVE ? JS_ACTIVE : JS_PASSIVE;
	}
}

static void send_initiate(struct jcall *c)
{
	struct jingle *j = mem_zalloc(sizeof(*j), NULL);

	if (!j) {
		end_call(c, JR_GENERAL_ERROR, false);
		return;
	}
	jingle_base(c, j, JA_SESSION_INITIATE);
	j->ncontents = 1;
	fill_content(c, &j->contents[0], true);
	send_jingle(c, j, c->initiate_id, sizeof(c->initiate_id));
	mem_deref(j);
	c->session_sent = true;
	c->ph = PH_INITIATED;
}

static void send_accept(struct jcall *c)
{
	struct jingle *j = mem_zalloc(sizeof(*j), NULL);

	if (!j) {
		end_call(c, JR_GENERAL_ERROR, true);
		return;
	}
	jingle_base(c, j, JA_SESSION_ACCEPT);
	j->ncontents = 1;
	fill_content(c, &j->contents[0], false);
	send_jingle(c, j, NULL, 0);
	mem_deref(j);
	c->session_sent = true;
	c->ph = PH_ACTIVE;
	c->offer = mem_deref(c->offer);
	tmr_cancel(c->m->loop, &c->tmr);
	set_state(c, JCALL_ACTIVE, JR_NONE);
}

static void send_trickle(struct jcall *c, const struct ice_cand *cand)
{
	struct jingle *j = mem_zalloc(sizeof(*j), NULL);
	struct jingle_content *ct;
	const char *ufrag, *pwd;

	if (!j)
		return;
	jingle_base(c, j, JA_TRANSPORT_INFO);
	j->ncontents = 1;
	ct = &j->contents[0];
	snprintf(ct->name, sizeof(ct->name), "%s", c->content);
	ct->creator = c->creator;
	ct->has_transport = ct->ice = true;
	mcall_local_credentials(c->mc, &ufrag, &pwd);
	snprintf(ct->ufrag, sizeof(ct->ufrag), "%s", ufrag);
	snprintf(ct->pwd, sizeof(ct->pwd), "%s", pwd);
	ct->ncands = 1;
	ct->cands[0].c = *cand;
	send_jingle(c, j, NULL, 0);
	mem_deref(j);
}

/* ---- the call object ---- */

static void call_destructor(void *arg)
{
	struct jcall *c = arg;

	tmr_cancel(c->m->loop, &c->tmr);
	tmr_cancel(c->m->loop, &c->jmi_tmr);
	list_unlink(&c->le);
	c->mc = mem_deref(c->mc);
	c->offer = mem_deref(c->offer);
	c->peer = mem_deref(c->peer);
}

/* End the call: tell the peer (if asked), the owner, and free it. */
static void end_call(struct jcall *c, enum jingle_reason reason, bool tell_peer)
{
	if (c->ph == PH_ENDED)
		return;
	if (tell_peer) {
		switch (c->ph) {
		case PH_PROPOSED:
			send_jmi(c->m, JMI_RETRACT, c->sid, c->peer, reason);
			break;
		case PH_GATHER:
			if (c->jmi)   /* proceeded, initiate not sent yet */
				send_terminate(c, reason);
			break;
		case PH_JMI_IN:
			send_jmi(c->m, JMI_REJECT, c->sid, c->peer, reason);
			break;
		case PH_PROCEEDED:
			send_jmi(c->m, JMI_REJECT, c->sid, c->peer, reason);
			break;
		default:
			send_terminate(c, reason);
			break;
		}
	}
	c->ph = PH_ENDED;
	c->mc = mem_deref(c->mc);   /* no more media events */
	tmr_cancel(c->m->loop, &c->tmr);
	tmr_cancel(c->m->loop, &c->jmi_tmr);
	list_unlink(&c->le);
	set_state(c, JCALL_ENDED, reason);
	mem_deref(c);
}

static void on_timeout(void *arg)
{
	struct jcall *c = arg;

	LOGI("call %s: no answer", c->sid);
	end_call(c, JR_TIMEOUT, true);
}

static void on_media_event(struct mcall *mc, const struct mcall_event *ev, void *arg)
{
	struct jcall *c = arg;

	(void)mc;
	switch (ev->type) {
	case MCALL_EV_CANDIDATE:
		if (c->nlocal < MAX_LOCAL_CANDS)
			c->local[c->nlocal++] = *ev->cand;
		if (c->session_sent)
			send_trickle(c, ev->cand);
		break;
	case MCALL_EV_GATHERING_DONE:
		c->gathered = true;
		if (c->ph == PH_GATHER)
			send_initiate(c);
		else if (c->ph == PH_ACCEPTING)
			send_accept(c);
		break;
	case MCALL_EV_CONNECTED:
		LOGI("call %s: ICE connected", c->sid);
		break;
	case MCALL_EV_MEDIA:
		LOGI("call %s: media flows", c->sid);
		break;
	case MCALL_EV_FAILED:
	case MCALL_EV_CONSENT_LOST:
		LOGI("call %s: %s%s%s", c->sid,
		     ev->type == MCALL_EV_FAILED ? "ICE failed" : "consent lost",
		     ev->why ? ": " : "", ev->why ? ev->why : "");
		end_call(c, JR_CONNECTIVITY_ERROR, true);
		break;
	case MCALL_EV_SECURITY_ERROR:
		LOGW("call %s: security error: %s", c->sid, ev->why ? ev->why : "?");
		end_call(c, JR_SECURITY_ERROR, true);
		break;
	case MCALL_EV_STATS:
		break;
	}
}

static void on_media_audio(struct mcall *mc, uint32_t ts, const uint8_t *body, size_t len,
			   void *arg)
{
	struct jcall *c = arg;

	(void)mc;
	if (c->m->h.audio && c->ph == PH_ACTIVE)
		c->m->h.audio(c, ts, body, len, c->m->arg);
}

static void log_servers(const struct jcall *c, const struct ice_servers *s)
{
	char stun[ICE_SERVER_STR_SIZE + 16] = "", turn[ICE_SERVER_STR_SIZE + 32] = "";

	if (s->stun_host)
		snprintf(stun, sizeof(stun), " stun %s:%u", s->stun_host, s->stun_port);
	if (s->turn_host)
		snprintf(turn, sizeof(turn), " turn %s:%u over %s", s->turn_host, s->turn_port,
			 s->turn_tcp ? "tcp" : "udp");
	LOGD("call %s: ICE servers from the XMPP server:%s%s", c->sid, stun, turn);
}

static int media_alloc(struct jcall *c, bool controlling, unsigned ncomp)
{
	struct mcall_params p = {
		.controlling = controlling,
		.ncomp = ncomp,
		.pt = c->pt,
		.tag = c->m->cfg.flv_tag,
		.fpp = 1,
		.name = c->sid,
	};
	struct ice_servers srv;
	int err;

	/* The user's server's STUN and TURN if it gave any yet (never waited
	 * for); the gateway's own otherwise.  Host and port only: the TURN
	 * credentials are secrets. */
	if (c->m->svc && extsvc_servers(c->m->svc, (int64_t)time(NULL), &srv)) {
		p.servers = &srv;
		log_servers(c, &srv);
	}
	err = mcall_alloc(&c->mc, c->m->eng, &p, on_media_event, on_media_audio, c);
	if (err)
		return err;
	return mcall_gather(c->mc);
}

static int call_alloc(struct jcall **cp, struct jcall_mgr *m, const char *sid, const char *peer,
		      bool out)
{
	struct jcall *c;

	if (jcall_mgr_count(m) >= m->cfg.max_calls)
		return -EBUSY;
	c = mem_zalloc(sizeof(*c), call_destructor);
	if (!c)
		return -ENOMEM;
	c->m = m;
	c->out = out;
	c->pt = SPEEX_PT;
	tmr_init(&c->tmr);
	tmr_init(&c->jmi_tmr);
	snprintf(c->sid, sizeof(c->sid), "%s", sid);
	snprintf(c->content, sizeof(c->content), CONTENT_NAME);
	c->creator = JC_INITIATOR;
	c->peer = mem_strdup(peer);
	list_append(&m->calls, &c->le, c);
	if (!c->peer) {
		mem_deref(c);
		return -ENOMEM;
	}
	tmr_start(m->loop, &c->tmr, (uint64_t)m->cfg.answer_timeout_s * 1000, on_timeout, c);
	*cp = c;
	return 0;
}

/* ---- applying the remote description ---- */

static const struct jingle_content *audio_content(const struct jingle *j)
{
	for (unsigned i = 0; i < j->ncontents; i++)
		if (j->contents[i].rtp && !strcmp(j->contents[i].media, "audio"))
			return &j->contents[i];
	return NULL;
}

static const struct jingle_payload *find_speex(const struct jingle_content *ct)
{
	for (unsigned i = 0; i < ct->npayloads; i++)
		if (!strcasecmp(ct->payloads[i].name, "speex") &&
		    ct->payloads[i].clockrate == 16000 && ct->payloads[i].channels <= 1)
			return &ct->payloads[i];
	return NULL;
}

static void add_transport(struct jcall *c, const struct jingle_content *ct)
{
	if (!c->mc || !ct->ice)
		return;
	if (ct->ufrag[0] && ct->pwd[0])
		mcall_set_remote_credentials(c->mc, ct->ufrag, ct->pwd);
	for (unsigned i = 0; i < ct->ncands; i++) {
		int err = mcall_add_remote_candidate(c->mc, &ct->cands[i].c);
		if (err)
			LOGD("call %s: candidate %s:%u refused (%d)", c->sid, ct->cands[i].c.ip,
			     ct->cands[i].c.port, err);
	}
}

/* Apply transport-infos that came before we knew the session. */
static void apply_early(struct jcall *c)
{
	struct jcall_mgr *m = c->m;

	for (struct le *e = m->early.head, *next; e; e = next) {
		struct early *ea = e->data;
		next = e->next;
		if (strcmp(ea->j->sid, c->sid) || strcmp(ea->from, c->peer))
			continue;
		for (unsigned i = 0; i < ea->j->ncontents; i++)
			add_transport(c, &ea->j->contents[i]);
		mem_deref(ea);
	}
}

/* Security for an offer we answer: DTLS if fingerprinted, else SDES if a
 * suite we know is offered, else plain if allowed.  NULL or a reason. */
static enum jingle_reason pick_security(struct jcall *c, const struct jingle_content *ct)
{
	if (ct->has_fingerprint && !strcasecmp(ct->fp.hash, "sha-256")) {
		c->sec = MCALL_SEC_DTLS;
		c->dtls_role = ct->fp.setup == JS_ACTIVE ? MDTLS_PASSIVE : MDTLS_ACTIVE;
		return JR_NONE;
	}
	for (unsigned i = 0; i < ct->ncrypto; i++) {
		enum msrtp_profile prof;
		if (msrtp_profile_parse(ct->crypto[i].suite, &prof))
			continue;
		c->sec = MCALL_SEC_SDES;
		c->sdes_tag = ct->crypto[i].tag;
		snprintf(c->sdes_suite, sizeof(c->sdes_suite), "%s", ct->crypto[i].suite);
		return JR_NONE;
	}
	if (!ct->crypto_required && !ct->has_fingerprint && c->m->cfg.allow_plain &&
	    mengine_allow_plain(c->m->eng)) {
		c->sec = MCALL_SEC_PLAIN;
		return JR_NONE;
	}
	return JR_SECURITY_ERROR;
}

static int apply_security_answerer(struct jcall *c, const struct jingle_content *ct)
{
	switch (c->sec) {
	case MCALL_SEC_DTLS:
		return mcall_set_dtls(c->mc, c->dtls_role, ct->fp.value);
	case MCALL_SEC_SDES: {
		uint8_t rx[MSRTP_KEY_SALT_LEN];
		enum msrtp_profile prof;
		const struct jingle_crypto *cr = NULL;
		for (unsigned i = 0; i < ct->ncrypto; i++)
			if (ct->crypto[i].tag == c->sdes_tag)
				cr = &ct->crypto[i];
		if (!cr || strncmp(cr->key_params, "inline:", 7) ||
		    msrtp_profile_parse(cr->suite, &prof) ||
		    msrtp_sdes_parse(cr->key_params + 7, strcspn(cr->key_params + 7, "|"), rx))
			return -EINVAL;
		if (msrtp_sdes_generate(c->sdes_tx, c->sdes_params))
			return -EIO;
		return mcall_set_sdes(c->mc, prof, c->sdes_tx, rx);
	}
	case MCALL_SEC_PLAIN:
		return mcall_set_plain(c->mc);
	default:
		return -EINVAL;
	}
}

/* ---- incoming Jingle ---- */

static unsigned pending_from(struct jcall_mgr *m, const char *from)
{
	unsigned n = 0;

	LIST_FOREACH(&m->calls, e) {
		struct jcall *c = e->data;
		if (!c->out && c->st != JCALL_ACTIVE && same_bare(c->peer, from))
			n++;
	}
	return n;
}

static void incoming_initiate(struct jcall_mgr *m, xmpp_stanza_t *iq, struct jingle *j,
			      const char *from)
{
	struct jcall *c = jcall_find(m, j->sid);
	const struct jingle_content *ct;
	const struct jingle_payload *sp;
	enum jingle_reason why;
	bool proceeded = false;
	int err;

	if (c) {
		if (c->ph == PH_PROCEEDED && same_bare(c->peer, from) && !c->out) {
			proceeded = true;
		} else if (c->out && !strcmp(c->peer, from)) {
			send_error(m, iq, "cancel", "conflict", "tie-break", NULL);
			mem_deref(j);
			return;
		} else {
			send_error(m, iq, "cancel", "conflict", NULL, "session id in use");
			mem_deref(j);
			return;
		}
	}
	if (!proceeded && pending_from(m, from) >= m->cfg.max_pending_per_peer) {
		send_error(m, iq, "wait", "resource-constraint", NULL,
			   "too many unanswered calls from you");
		mem_deref(j);
		return;
	}
	send_result(m, iq);
	if (!proceeded) {
		err = call_alloc(&c, m, j->sid, from, false);
		if (err) {
			LOGI("call %s from %s: refused, busy (%d)", j->sid, from, err);
			terminate_to(m, j->sid, from, JR_BUSY);
			mem_deref(j);
			return;
		}
	} else {
		mem_deref(c->peer);
		c->peer = mem_strdup(from);
		if (!c->peer) {
			mem_deref(j);
			end_call(c, JR_GENERAL_ERROR, false);
			return;
		}
	}
	c->offer = j;
	ct = audio_content(j);
	why = JR_NONE;
	if (!ct)
		why = JR_UNSUPPORTED_APPLICATIONS;
	else if (!ct->ice)
		why = JR_UNSUPPORTED_TRANSPORTS;
	else if (!(sp = find_speex(ct)))
		why = JR_INCOMPATIBLE_PARAMETERS;
	else
		why = pick_security(c, ct);
	if (why) {
		LOGI("call %s from %s: cannot serve the offer: %s", c->sid, from,
		     jingle_reason_name(why));
		if (!proceeded) {
			/* The owner never heard of it. */
			send_terminate(c, why);
			c->ph = PH_ENDED;
			mem_deref(c);
		} else {
			end_call(c, why, true);
		}
		return;
	}
	c->pt = sp->id;
	snprintf(c->content, sizeof(c->content), "%s", ct->name);
	c->creator = ct->creator;
	err = media_alloc(c, false, ct->rtcp_mux ? 1 : 2);
	if (!err)
		err = apply_security_answerer(c, ct);
	if (err) {
		LOGW("call %s: media set-up failed (%d)", c->sid, err);
		if (proceeded) {
			end_call(c, err == -EINVAL ? JR_SECURITY_ERROR : JR_GENERAL_ERROR, true);
		} else {
			send_terminate(c, err == -EINVAL ? JR_SECURITY_ERROR : JR_GENERAL_ERROR);
			c->ph = PH_ENDED;
			mem_deref(c);
		}
		return;
	}
	add_transport(c, ct);
	apply_early(c);
	if (proceeded) {
		c->ph = PH_ACCEPTING;
		if (c->gathered)
			send_accept(c);
		return;
	}
	c->ph = PH_INCOMING;
	{
		struct jingle *r = mem_zalloc(sizeof(*r), NULL);
		if (r) {
			jingle_base(c, r, JA_SESSION_INFO);
			r->info = JI_RINGING;
			send_jingle(c, r, NULL, 0);
			mem_deref(r);
		}
	}
	LOGI("call %s from %s: incoming", c->sid, from);
	if (m->h.incoming)
		m->h.incoming(c, from, m->arg);
}

static void incoming_accept(struct jcall_mgr *m, xmpp_stanza_t *iq, struct jcall *c,
			    struct jingle *j)
{
	const struct jingle_content *ct = audio_content(j);
	const struct jingle_payload *sp = ct ? find_speex(ct) : NULL;
	enum jingle_reason why = JR_NONE;
	int err = 0;

	if (c->ph != PH_INITIATED) {
		send_error(m, iq, "cancel", "unexpected-request", "out-of-order", NULL);
		mem_deref(j);
		return;
	}
	send_result(m, iq);
	if (!ct || !sp || sp->id != c->pt) {
		why = JR_INCOMPATIBLE_PARAMETERS;
	} else if (ct->has_fingerprint) {
		/* The answerer's role decides ours; actpass is not an answer:
		 * take the client side. */
		c->sec = MCALL_SEC_DTLS;
		c->dtls_role = ct->fp.setup == JS_PASSIVE || ct->fp.setup == JS_ACTPASS ?
			       MDTLS_ACTIVE : MDTLS_PASSIVE;
		err = mcall_set_dtls(c->mc, c->dtls_role, ct->fp.value);
	} else if (m->cfg.allow_plain && mengine_allow_plain(m->eng)) {
		c->sec = MCALL_SEC_PLAIN;
		err = mcall_set_plain(c->mc);
	} else {
		why = JR_SECURITY_ERROR;
	}
	if (!why && err)
		why = JR_SECURITY_ERROR;
	if (why) {
		mem_deref(j);
		end_call(c, why, true);
		return;
	}
	if (ct->rtcp_mux)
		mcall_rtcp_mux(c->mc);
	add_transport(c, ct);
	mem_deref(j);
	c->ph = PH_ACTIVE;
	tmr_cancel(m->loop, &c->tmr);
	set_state(c, JCALL_ACTIVE, JR_NONE);
}

static void hold_early(struct jcall_mgr *m, xmpp_stanza_t *iq, struct jingle *j, const char *from);

static void handle_jingle(struct jcall_mgr *m, xmpp_stanza_t *iq, xmpp_stanza_t *el)
{
	const char *from = xmpp_stanza_get_from(iq), *why = NULL;
	struct jingle *j;
	struct jcall *c;
	int err;

	if (!from || !jid_full(from) || !jid_ok(from)) {
		send_error(m, iq, "modify", "bad-request", NULL, "from must be a full JID");
		return;
	}
	if (!m->eng) {
		send_error(m, iq, "cancel", "feature-not-implemented", NULL, "voice is disabled");
		return;
	}
	j = mem_alloc(sizeof(*j), NULL);
	if (!j) {
		send_error(m, iq, "wait", "resource-constraint", NULL, NULL);
		return;
	}
	err = jingle_parse(el, j, &why);
	if (err) {
		LOGI("jingle from %s: malformed: %s", from, why ? why : "?");
		send_error(m, iq, "modify", "bad-request", NULL, why);
		mem_deref(j);
		return;
	}
	if (j->action == JA_SESSION_INITIATE) {
		incoming_initiate(m, iq, j, from);
		return;
	}
	if (j->action == JA_UNKNOWN) {
		send_error(m, iq, "cancel", "feature-not-implemented", NULL, j->action_str);
		mem_deref(j);
		return;
	}
	c = jcall_find(m, j->sid);
	if (c && strcmp(c->peer, from))
		c = NULL;   /* someone else's session is not theirs to touch */
	if (!c) {
		if (j->action == JA_TRANSPORT_INFO) {
			hold_early(m, iq, j, from);
			return;
		}
		send_error(m, iq, "cancel", "item-not-found", "unknown-session", NULL);
		mem_deref(j);
		return;
	}
	switch (j->action) {
	case JA_SESSION_ACCEPT:
		incoming_accept(m, iq, c, j);
		return;
	case JA_SESSION_TERMINATE:
		send_result(m, iq);
		LOGI("call %s: terminated by %s (%s%s%s)", c->sid, from,
		     jingle_reason_name(j->reason), j->reason_text[0] ? ": " : "", j->reason_text);
		end_call(c, j->reason ? j->reason : JR_SUCCESS, false);
		break;
	case JA_SESSION_INFO:
		if (j->info == JI_OTHER) {
			send_error(m, iq, "modify", "feature-not-implemented", "unsupported-info", NULL);
			break;
		}
		send_result(m, iq);
		if (j->info == JI_RINGING && c->out && c->st == JCALL_PROPOSED)
			set_state(c, JCALL_RINGING, JR_NONE);
		break;
	case JA_TRANSPORT_INFO:
		send_result(m, iq);
		for (unsigned i = 0; i < j->ncontents; i++)
			add_transport(c, &j->contents[i]);
		break;
	default:
		send_error(m, iq, "cancel", "feature-not-implemented", NULL, j->action_str);
		break;
	}
	mem_deref(j);
}

static void early_destructor(void *arg)
{
	struct early *ea = arg;

	tmr_cancel(ea->m->loop, &ea->tmr);
	list_unlink(&ea->le);
	mem_deref(ea->from);
	mem_deref(ea->j);
}

static void early_expire(void *arg)
{
	struct early *ea = arg;

	LOGD("jingle: dropping early transport-info for %s", ea->j->sid);
	mem_deref(ea);
}

/* A transport-info for a session we do not know yet (StanzaJS sends them
 * before session-initiate): keep it a while. */
static void hold_early(struct jcall_mgr *m, xmpp_stanza_t *iq, struct jingle *j, const char *from)
{
	struct early *ea;

	if (m->early.n >= MAX_EARLY ||
	    !(ea = mem_zalloc(sizeof(*ea), early_destructor))) {
		send_error(m, iq, "cancel", "item-not-found", "unknown-session", NULL);
		mem_deref(j);
		return;
	}
	ea->m = m;
	ea->j = j;
	tmr_init(&ea->tmr);
	list_append(&m->early, &ea->le, ea);
	ea->from = mem_strdup(from);
	if (!ea->from) {
		mem_deref(ea);
		send_error(m, iq, "wait", "resource-constraint", NULL, NULL);
		return;
	}
	tmr_start(m->loop, &ea->tmr, EARLY_MS, early_expire, ea);
	send_result(m, iq);
}

/* An answer to one of our iqs.  Only a failed session-initiate matters. */
static bool handle_iq_answer(struct jcall_mgr *m, xmpp_stanza_t *iq, const char *type)
{
	const char *id = xmpp_stanza_get_id(iq);

	if (!id)
		return false;
	LIST_FOREACH(&m->calls, e) {
		struct jcall *c = e->data;
		if (strcmp(c->initiate_id, id))
			continue;
		c->initiate_id[0] = '\0';
		if (!strcmp(type, "error")) {
			xmpp_stanza_t *err = xmpp_stanza_get_child_by_name(iq, "error");
			xmpp_stanza_t *cond = err ? xmpp_stanza_get_children(err) : NULL;
			const char *name = cond ? xmpp_stanza_get_name(cond) : NULL;
			LOGI("call %s: session-initiate refused: %s", c->sid, name ? name : "?");
			end_call(c, name && (!strcmp(name, "service-unavailable") ||
					     !strcmp(name, "item-not-found") ||
					     !strcmp(name, "recipient-unavailable")) ?
				    JR_GONE : JR_GENERAL_ERROR, false);
		}
		return true;
	}
	return false;
}

/* ---- XEP-0353 ---- */

/* The session goes to one resource now: after its proceed, or the
 * fallback's pick. */
static void initiate_to(struct jcall *c, const char *full)
{
	tmr_cancel(c->m->loop, &c->jmi_tmr);
	mem_deref(c->peer);
	c->peer = mem_strdup(full);
	if (!c->peer) {
		end_call(c, JR_GENERAL_ERROR, false);
		return;
	}
	c->ph = PH_GATHER;
	if (c->gathered)
		send_initiate(c);
}

/* Nobody rang for our propose: the contact's clients may not speak
 * XEP-0353 (StanzaJS, older Gajim and Psi), which ignore it.  If the
 * contact has an available resource, retract the propose and send the
 * session-initiate to that resource, the newest one that came online;
 * otherwise keep waiting (a client may come online and get the propose
 * from the archive). */
static void on_jmi_silence(void *arg)
{
	struct jcall *c = arg;
	struct jcall_mgr *m = c->m;
	const char *pick = NULL;

	if (c->ph != PH_PROPOSED || c->st != JCALL_PROPOSED)
		return;
	LIST_FOREACH(&m->presence, e) {
		struct pres *p = e->data;
		if (same_bare(p->jid, c->peer))
			pick = p->jid;   /* the last in the list came online last */
	}
	if (!pick) {
		LOGD("call %s: no ringing for the propose, and %s has no available resource",
		     c->sid, c->peer);
		return;
	}
	LOGI("call %s: no XEP-0353 client rang in %u s; calling %s directly", c->sid,
	     JMI_FALLBACK_MS / 1000, pick);
	send_jmi(m, JMI_RETRACT, c->sid, c->peer, JR_CANCEL);
	initiate_to(c, pick);
}

static void handle_jmi(struct jcall_mgr *m, xmpp_stanza_t *msg, const struct jmi *j)
{
	const char *from = j->from[0] ? j->from : xmpp_stanza_get_from(msg);
	struct jcall *c = jcall_find(m, j->id);
	char own_bare[JINGLE_JID_SIZE];
	bool from_self;
	int err;

	if (!from)
		return;
	jid_bare(own_jid(m), own_bare, sizeof(own_bare));
	if ((j->carbon_sent || j->carbon_received) && xmpp_stanza_get_from(msg) &&
	    strcasecmp(xmpp_stanza_get_from(msg), own_bare)) {
		/* XEP-0280 section 11: only our own server may send carbons. */
		LOGI("jingle-message: forged carbon from %s ignored", xmpp_stanza_get_from(msg));
		return;
	}
	from_self = same_bare(from, own_bare);
	if (j->carbon_sent || (from_self && !j->carbon_received)) {
		/* One of our other devices answered a call ringing here. */
		if (c && !c->out && (c->ph == PH_JMI_IN || c->ph == PH_INCOMING) &&
		    (j->kind == JMI_ACCEPT || j->kind == JMI_PROCEED || j->kind == JMI_REJECT) &&
		    strcmp(from, own_jid(m))) {
			LOGI("call %s: answered on another device", c->sid);
			end_call(c, JR_CANCEL, false);
		}
		return;
	}
	switch (j->kind) {
	case JMI_PROPOSE:
		if (c)
			return;   /* a repeat */
		if (!j->audio || !m->eng || !jid_full(from) || !jid_ok(from)) {
			send_jmi(m, JMI_REJECT, j->id, from, JR_UNSUPPORTED_APPLICATIONS);
			return;
		}
		if (pending_from(m, from) >= m->cfg.max_pending_per_peer) {
			send_jmi(m, JMI_REJECT, j->id, from, JR_BUSY);
			return;
		}
		err = call_alloc(&c, m, j->id, from, false);
		if (err) {
			send_jmi(m, JMI_REJECT, j->id, from, JR_BUSY);
			return;
		}
		c->jmi = true;
		c->ph = PH_JMI_IN;
		send_jmi(m, JMI_RINGING, j->id, from, JR_NONE);
		LOGI("call %s from %s: incoming (XEP-0353)", c->sid, from);
		if (m->h.incoming)
			m->h.incoming(c, from, m->arg);
		return;
	case JMI_RETRACT:
		if (c && !c->out && same_bare(c->peer, from) &&
		    (c->ph == PH_JMI_IN || c->ph == PH_PROCEEDED))
			end_call(c, j->reason ? j->reason : JR_CANCEL, false);
		return;
	case JMI_RINGING:
		if (c && c->out && c->ph == PH_PROPOSED && same_bare(c->peer, from) &&
		    c->st == JCALL_PROPOSED) {
			tmr_cancel(m->loop, &c->jmi_tmr);   /* a XEP-0353 client has it */
			set_state(c, JCALL_RINGING, JR_NONE);
		}
		return;
	case JMI_PROCEED:
		if (!c || !c->out || c->ph != PH_PROPOSED || !same_bare(c->peer, from) ||
		    !jid_full(from))
			return;
		initiate_to(c, from);
		return;
	case JMI_REJECT:
		if (c && c->out && c->ph == PH_PROPOSED && same_bare(c->peer, from))
			end_call(c, j->reason ? j->reason : JR_DECLINE, false);
		return;
	default:
		return;
	}
}

/* ---- presence ---- */

static void pres_destructor(void *arg)
{
	struct pres *p = arg;

	list_unlink(&p->le);
	mem_deref(p->jid);
}

static void track_presence(struct jcall_mgr *m, xmpp_stanza_t *st)
{
	const char *from = xmpp_stanza_get_from(st), *type = xmpp_stanza_get_type(st);
	struct pres *p = NULL;

	if (!from || !jid_full(from))
		return;
	LIST_FOREACH(&m->presence, e) {
		struct pres *q = e->data;
		if (!strcmp(q->jid, from)) {
			p = q;
			break;
		}
	}
	if (type && !strcmp(type, "unavailable")) {
		if (p) {
			mem_deref(p);
			m->npresence--;
		}
		return;
	}
	if (type || p || m->npresence >= MAX_PRESENCE)
		return;
	p = mem_zalloc(sizeof(*p), pres_destructor);
	if (!p)
		return;
	p->jid = mem_strdup(from);
	if (!p->jid) {
		mem_deref(p);
		return;
	}
	list_append(&m->presence, &p->le, p);
	m->npresence++;
}

/* ---- public ---- */

static void mgr_destructor(void *arg)
{
	struct jcall_mgr *m = arg;

	while (m->calls.head) {
		struct jcall *c = m->calls.head->data;
		c->ph = PH_ENDED;
		list_unlink(&c->le);
		mem_deref(c);
	}
	while (m->early.head)
		mem_deref(m->early.head->data);
	while (m->presence.head)
		mem_deref(m->presence.head->data);
	mem_deref(m->svc);
}

int jcall_mgr_alloc(struct jcall_mgr **mp, struct loop *loop, struct xsess *xs,
		    struct mengine *eng, const struct jcall_config *cfg,
		    const struct jcall_handlers *h, void *arg)
{
	struct jcall_mgr *m = mem_zalloc(sizeof(*m), mgr_destructor);

	if (!m)
		return -ENOMEM;
	m->loop = loop;
	m->xs = xs;
	m->eng = eng;
	if (cfg)
		m->cfg = *cfg;
	if (!m->cfg.answer_timeout_s)
		m->cfg.answer_timeout_s = 60;
	if (!m->cfg.max_calls)
		m->cfg.max_calls = 8;
	if (!m->cfg.max_pending_per_peer)
		m->cfg.max_pending_per_peer = 2;
	if (!m->cfg.flv_tag)
		m->cfg.flv_tag = 0xB2;
	if (h)
		m->h = *h;
	m->arg = arg;
	list_init(&m->calls);
	list_init(&m->early);
	list_init(&m->presence);
	if (eng && extsvc_alloc(&m->svc, xs)) {
		mem_deref(m);
		return -ENOMEM;
	}
	*mp = m;
	return 0;
}

bool jcall_mgr_handle(struct jcall_mgr *m, xmpp_stanza_t *st)
{
	const char *name = xmpp_stanza_get_name(st), *type = xmpp_stanza_get_type(st);

	if (!name)
		return false;
	if (!strcmp(name, "presence")) {
		track_presence(m, st);
		return false;
	}
	if (!strcmp(name, "iq")) {
		xmpp_stanza_t *el;
		if (type && (!strcmp(type, "result") || !strcmp(type, "error")))
			return (m->svc && extsvc_handle(m->svc, st)) ||
			       handle_iq_answer(m, st, type);
		if (!type || strcmp(type, "set"))
			return false;
		el = xmpp_stanza_get_child_by_name_and_ns(st, "jingle", JINGLE_NS);
		if (!el)
			return false;
		handle_jingle(m, st, el);
		return true;
	}
	if (!strcmp(name, "message")) {
		struct jmi *j = mem_alloc(sizeof(*j), NULL);
		const char *why = NULL;
		int err;
		if (!j)
			return false;
		err = jmi_parse(st, j, &why);
		if (err == -ENOENT) {
			mem_deref(j);
			return false;
		}
		if (err)
			LOGI("jingle-message from %s: malformed: %s",
			     xmpp_stanza_get_from(st) ? xmpp_stanza_get_from(st) : "?",
			     why ? why : "?");
		else
			handle_jmi(m, st, j);
		mem_deref(j);
		return true;
	}
	return false;
}

void jcall_mgr_hangup_all(struct jcall_mgr *m, enum jingle_reason reason)
{
	while (m->calls.head)
		jcall_hangup(m->calls.head->data, reason);
}

unsigned jcall_mgr_count(const struct jcall_mgr *m)
{
	return (unsigned)m->calls.n;
}

int jcall_dial(struct jcall **cp, struct jcall_mgr *m, const char *jid)
{
	struct jcall *c;
	char sid[JINGLE_SID_SIZE];
	bool full;
	int err;

	if (!m->eng)
		return -ENOTSUP;
	if (!xsess_is_up(m->xs))
		return -ENOTCONN;
	if (!jid_ok(jid) || !strchr(jid, '@'))
		return -EINVAL;
	full = jid_full(jid);
	make_sid(sid, sizeof(sid));
	err = call_alloc(&c, m, sid, jid, true);
	if (err)
		return err;
	c->jmi = !full;
	c->ph = full ? PH_GATHER : PH_PROPOSED;
	c->st = JCALL_PROPOSED;
	err = media_alloc(c, true, 2);
	if (err) {
		c->ph = PH_ENDED;
		mem_deref(c);
		return err;
	}
	LOGI("call %s to %s: dialling%s", sid, jid, full ? "" : " (XEP-0353)");
	if (!full) {
		send_jmi(m, JMI_PROPOSE, sid, jid, JR_NONE);
		tmr_start(m->loop, &c->jmi_tmr, JMI_FALLBACK_MS, on_jmi_silence, c);
	}
	*cp = c;
	return 0;
}

int jcall_answer(struct jcall *c)
{
	char own_bare[JINGLE_JID_SIZE];

	if (c->out)
		return -EINVAL;
	switch (c->ph) {
	case PH_INCOMING:
		c->ph = PH_ACCEPTING;
		if (c->gathered)
			send_accept(c);
		return 0;
	case PH_JMI_IN:
		/* Tell our other devices (accept to our bare JID), then the caller. */
		jid_bare(own_jid(c->m), own_bare, sizeof(own_bare));
		if (own_bare[0])
			send_jmi(c->m, JMI_ACCEPT, c->sid, own_bare, JR_NONE);
		send_jmi(c->m, JMI_PROCEED, c->sid, c->peer, JR_NONE);
		c->ph = PH_PROCEEDED;
		return 0;
	case PH_PROCEEDED:
	case PH_ACCEPTING:
	case PH_ACTIVE:
		return 0;
	default:
		return -EINVAL;
	}
}

int jcall_reject(struct jcall *c, enum jingle_reason reason)
{
	if (c->out || (c->ph != PH_INCOMING && c->ph != PH_JMI_IN))
		return -EINVAL;
	end_call(c, reason ? reason : JR_DECLINE, true);
	return 0;
}

void jcall_hangup(struct jcall *c, enum jingle_reason reason)
{
	if (!reason)
		reason = JR_SUCCESS;
	if (c->st != JCALL_ACTIVE && reason == JR_SUCCESS)
		reason = c->out ? JR_CANCEL : JR_DECLINE;
	end_call(c, reason, true);
}

int jcall_send_audio(struct jcall *c, uint32_t rtmp_ts, const uint8_t *body, size_t len)
{
	if (!c->mc || c->ph != PH_ACTIVE)
		return 0;
	return mcall_send_audio(c->mc, rtmp_ts, body, len);
}

const char *jcall_sid(const struct jcall *c) { return c->sid; }
const char *jcall_peer(const struct jcall *c) { return c->peer; }
bool jcall_outgoing(const struct jcall *c) { return c->out; }
enum jcall_state jcall_state(const struct jcall *c) { return c->st; }
void jcall_set_owner(struct jcall *c, void *owner) { c->owner = owner; }
void *jcall_owner(const struct jcall *c) { return c->owner; }

struct jcall *jcall_find(struct jcall_mgr *m, const char *sid)
{
	LIST_FOREACH(&m->calls, e) {
		struct jcall *c = e->data;
		if (!strcmp(c->sid, sid))
			return c;
	}
	return NULL;
}
