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
#include "jcall_int.h"

const char *jcall_state_name(enum jcall_state s)
{
	static const char *const n[] = {"proposed", "ringing", "active", "ended"};
	return (unsigned)s < 4 ? n[s] : "";
}

/* ---- small helpers ---- */

bool jc_jid_full(const char *jid)
{
	const char *at = strchr(jid, '@'), *slash = strchr(jid, '/');
	return slash && slash[1] && (!at || at < slash);
}

/* Bare part of jid into out ("" when it does not fit). */
void jc_jid_bare(const char *jid, char *out, size_t size)
{
	size_t n = strcspn(jid, "/");

	if (n >= size)
		n = 0;
	memcpy(out, jid, n);
	out[n] = '\0';
}

bool jc_jid_ok(const char *jid)
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

bool jc_same_bare(const char *a, const char *b)
{
	size_t na = strcspn(a, "/"), nb = strcspn(b, "/");
	return na == nb && !strncasecmp(a, b, na);
}

const char *jc_own_jid(struct jcall_mgr *m)
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

void jc_set_state(struct jcall *c, enum jcall_state st, enum jingle_reason r)
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

void jc_jingle_base(struct jcall *c, struct jingle *j, enum jingle_action a)
{
	memset(j, 0, sizeof(*j));
	j->action = a;
	snprintf(j->sid, sizeof(j->sid), "%s", c->sid);
	if (a == JA_SESSION_INITIATE)
		snprintf(j->initiator, sizeof(j->initiator), "%s", jc_own_jid(c->m));
	if (a == JA_SESSION_ACCEPT)
		snprintf(j->responder, sizeof(j->responder), "%s", jc_own_jid(c->m));
}

static void send_jingle_to(struct jcall_mgr *m, const struct jingle *j, const char *to,
			   char *id_out, size_t id_size)
{
	char id[32];
	xmpp_stanza_t *iq;

	xsess_next_id(m->xs, id, sizeof(id));
	if (id_out)
		snprintf(id_out, id_size, "%s", id);
	iq = jingle_iq_build(ctx_of(m), j, jc_own_jid(m), to, id);
	if (!iq) {
		LOGW("jingle %s: out of memory building %s", j->sid, jingle_action_name(j->action));
		return;
	}
	send_st(m, iq);
}

void jc_send_jingle(struct jcall *c, const struct jingle *j, char *id_out, size_t id_size)
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
void jc_terminate_to(struct jcall_mgr *m, const char *sid, const char *to,
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

void jc_send_terminate(struct jcall *c, enum jingle_reason r)
{
	jc_terminate_to(c->m, c->sid, c->peer, r);
}

void jc_send_jmi(struct jcall_mgr *m, enum jmi_kind k, const char *sid, const char *to,
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
	send_st(m, jmi_build(ctx_of(m), msg, jc_own_jid(m), to, id));
	mem_deref(msg);
}

void jc_send_result(struct jcall_mgr *m, xmpp_stanza_t *req)
{
	xmpp_stanza_t *iq = xmpp_iq_new(ctx_of(m), "result", xmpp_stanza_get_id(req));
	const char *from = xmpp_stanza_get_from(req);

	if (!iq)
		return;
	if (from)
		xmpp_stanza_set_to(iq, from);
	xmpp_stanza_set_from(iq, jc_own_jid(m));
	send_st(m, iq);
}

void jc_send_error(struct jcall_mgr *m, xmpp_stanza_t *req, const char *type,
		   const char *cond, const char *jcond, const char *text)
{
	LOGI("jingle: answering %s from %s with %s%s%s%s%s",
	     xmpp_stanza_get_id(req) ? xmpp_stanza_get_id(req) : "(no id)",
	     xmpp_stanza_get_from(req) ? xmpp_stanza_get_from(req) : "?", cond,
	     jcond ? "/" : "", jcond ? jcond : "", text ? ": " : "", text ? text : "");
	send_st(m, jingle_iq_error(ctx_of(m), req, jc_own_jid(m), type, cond, jcond, text));
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

void jc_send_initiate(struct jcall *c)
{
	struct jingle *j = mem_zalloc(sizeof(*j), NULL);

	if (!j) {
		jc_end_call(c, JR_GENERAL_ERROR, false);
		return;
	}
	jc_jingle_base(c, j, JA_SESSION_INITIATE);
	j->ncontents = 1;
	fill_content(c, &j->contents[0], true);
	jc_send_jingle(c, j, c->initiate_id, sizeof(c->initiate_id));
	mem_deref(j);
	c->session_sent = true;
	c->ph = PH_INITIATED;
}

void jc_send_accept(struct jcall *c)
{
	struct jingle *j = mem_zalloc(sizeof(*j), NULL);

	if (!j) {
		jc_end_call(c, JR_GENERAL_ERROR, true);
		return;
	}
	jc_jingle_base(c, j, JA_SESSION_ACCEPT);
	j->ncontents = 1;
	fill_content(c, &j->contents[0], false);
	jc_send_jingle(c, j, NULL, 0);
	mem_deref(j);
	c->session_sent = true;
	c->ph = PH_ACTIVE;
	c->offer = mem_deref(c->offer);
	tmr_cancel(c->m->loop, &c->tmr);
	jc_set_state(c, JCALL_ACTIVE, JR_NONE);
}

static void send_trickle(struct jcall *c, const struct ice_cand *cand)
{
	struct jingle *j = mem_zalloc(sizeof(*j), NULL);
	struct jingle_content *ct;
	const char *ufrag, *pwd;

	if (!j)
		return;
	jc_jingle_base(c, j, JA_TRANSPORT_INFO);
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
	jc_send_jingle(c, j, NULL, 0);
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
void jc_end_call(struct jcall *c, enum jingle_reason reason, bool tell_peer)
{
	if (c->ph == PH_ENDED)
		return;
	if (tell_peer) {
		switch (c->ph) {
		case PH_PROPOSED:
			jc_send_jmi(c->m, JMI_RETRACT, c->sid, c->peer, reason);
			break;
		case PH_GATHER:
			if (c->jmi)   /* proceeded, initiate not sent yet */
				jc_send_terminate(c, reason);
			break;
		case PH_JMI_IN:
			jc_send_jmi(c->m, JMI_REJECT, c->sid, c->peer, reason);
			break;
		case PH_PROCEEDED:
			jc_send_jmi(c->m, JMI_REJECT, c->sid, c->peer, reason);
			break;
		default:
			jc_send_terminate(c, reason);
			break;
		}
	}
	c->ph = PH_ENDED;
	c->mc = mem_deref(c->mc);   /* no more media events */
	tmr_cancel(c->m->loop, &c->tmr);
	tmr_cancel(c->m->loop, &c->jmi_tmr);
	list_unlink(&c->le);
	jc_set_state(c, JCALL_ENDED, reason);
	mem_deref(c);
}

static void on_timeout(void *arg)
{
	struct jcall *c = arg;

	LOGI("call %s: no answer", c->sid);
	jc_end_call(c, JR_TIMEOUT, true);
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
			jc_send_initiate(c);
		else if (c->ph == PH_ACCEPTING)
			jc_send_accept(c);
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
		jc_end_call(c, JR_CONNECTIVITY_ERROR, true);
		break;
	case MCALL_EV_SECURITY_ERROR:
		LOGW("call %s: security error: %s", c->sid, ev->why ? ev->why : "?");
		jc_end_call(c, JR_SECURITY_ERROR, true);
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

int jc_media_alloc(struct jcall *c, bool controlling, unsigned ncomp)
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

int jc_call_alloc(struct jcall **cp, struct jcall_mgr *m, const char *sid, const char *peer,
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

const struct jingle_content *jc_audio_content(const struct jingle *j)
{
	for (unsigned i = 0; i < j->ncontents; i++)
		if (j->contents[i].rtp && !strcmp(j->contents[i].media, "audio"))
			return &j->contents[i];
	return NULL;
}

const struct jingle_payload *jc_find_speex(const struct jingle_content *ct)
{
	for (unsigned i = 0; i < ct->npayloads; i++)
		if (!strcasecmp(ct->payloads[i].name, "speex") &&
		    ct->payloads[i].clockrate == 16000 && ct->payloads[i].channels <= 1)
			return &ct->payloads[i];
	return NULL;
}

void jc_add_transport(struct jcall *c, const struct jingle_content *ct)
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
void jc_apply_early(struct jcall *c)
{
	struct jcall_mgr *m = c->m;

	for (struct le *e = m->early.head, *next; e; e = next) {
		struct early *ea = e->data;
		next = e->next;
		if (strcmp(ea->j->sid, c->sid) || strcmp(ea->from, c->peer))
			continue;
		for (unsigned i = 0; i < ea->j->ncontents; i++)
			jc_add_transport(c, &ea->j->contents[i]);
		mem_deref(ea);
	}
}

/* Security for an offer we answer: DTLS if fingerprinted, else SDES if a
 * suite we know is offered, else plain if allowed.  NULL or a reason. */
enum jingle_reason jc_pick_security(struct jcall *c, const struct jingle_content *ct)
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

int jc_apply_security_answerer(struct jcall *c, const struct jingle_content *ct)
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
		jc_track_presence(m, st);
		return false;
	}
	if (!strcmp(name, "iq")) {
		xmpp_stanza_t *el;
		if (type && (!strcmp(type, "result") || !strcmp(type, "error")))
			return (m->svc && extsvc_handle(m->svc, st)) ||
			       jc_handle_iq_answer(m, st, type);
		if (!type || strcmp(type, "set"))
			return false;
		el = xmpp_stanza_get_child_by_name_and_ns(st, "jingle", JINGLE_NS);
		if (!el)
			return false;
		jc_handle_jingle(m, st, el);
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
			jc_handle_jmi(m, st, j);
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
	if (!jc_jid_ok(jid) || !strchr(jid, '@'))
		return -EINVAL;
	full = jc_jid_full(jid);
	make_sid(sid, sizeof(sid));
	err = jc_call_alloc(&c, m, sid, jid, true);
	if (err)
		return err;
	c->jmi = !full;
	c->ph = full ? PH_GATHER : PH_PROPOSED;
	c->st = JCALL_PROPOSED;
	err = jc_media_alloc(c, true, 2);
	if (err) {
		c->ph = PH_ENDED;
		mem_deref(c);
		return err;
	}
	LOGI("call %s to %s: dialling%s", sid, jid, full ? "" : " (XEP-0353)");
	if (!full) {
		jc_send_jmi(m, JMI_PROPOSE, sid, jid, JR_NONE);
		tmr_start(m->loop, &c->jmi_tmr, JMI_FALLBACK_MS, jc_on_jmi_silence, c);
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
			jc_send_accept(c);
		return 0;
	case PH_JMI_IN:
		/* Tell our other devices (accept to our bare JID), then the caller. */
		jc_jid_bare(jc_own_jid(c->m), own_bare, sizeof(own_bare));
		if (own_bare[0])
			jc_send_jmi(c->m, JMI_ACCEPT, c->sid, own_bare, JR_NONE);
		jc_send_jmi(c->m, JMI_PROCEED, c->sid, c->peer, JR_NONE);
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
	jc_end_call(c, reason ? reason : JR_DECLINE, true);
	return 0;
}

void jcall_hangup(struct jcall *c, enum jingle_reason reason)
{
	if (!reason)
		reason = JR_SUCCESS;
	if (c->st != JCALL_ACTIVE && reason == JR_SUCCESS)
		reason = c->out ? JR_CANCEL : JR_DECLINE;
	jc_end_call(c, reason, true);
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
