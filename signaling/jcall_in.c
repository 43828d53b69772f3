/* Incoming Jingle (see jcall_int.h). */
#include "jcall_int.h"

/* ---- incoming Jingle ---- */

unsigned jc_pending_from(struct jcall_mgr *m, const char *from)
{
	unsigned n = 0;

	LIST_FOREACH(&m->calls, e) {
		struct jcall *c = e->data;
		if (!c->out && c->st != JCALL_ACTIVE && jc_same_bare(c->peer, from))
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
		if (c->ph == PH_PROCEEDED && jc_same_bare(c->peer, from) && !c->out) {
			proceeded = true;
		} else if (c->out && !strcmp(c->peer, from)) {
			jc_send_error(m, iq, "cancel", "conflict", "tie-break", NULL);
			mem_deref(j);
			return;
		} else {
			jc_send_error(m, iq, "cancel", "conflict", NULL, "session id in use");
			mem_deref(j);
			return;
		}
	}
	if (!proceeded && jc_pending_from(m, from) >= m->cfg.max_pending_per_peer) {
		jc_send_error(m, iq, "wait", "resource-constraint", NULL,
			   "too many unanswered calls from you");
		mem_deref(j);
		return;
	}
	jc_send_result(m, iq);
	if (!proceeded) {
		err = jc_call_alloc(&c, m, j->sid, from, false);
		if (err) {
			LOGI("call %s from %s: refused, busy (%d)", j->sid, from, err);
			jc_terminate_to(m, j->sid, from, JR_BUSY);
			mem_deref(j);
			return;
		}
	} else {
		mem_deref(c->peer);
		c->peer = mem_strdup(from);
		if (!c->peer) {
			mem_deref(j);
			jc_end_call(c, JR_GENERAL_ERROR, false);
			return;
		}
	}
	c->offer = j;
	ct = jc_audio_content(j);
	why = JR_NONE;
	if (!ct)
		why = JR_UNSUPPORTED_APPLICATIONS;
	else if (!ct->ice)
		why = JR_UNSUPPORTED_TRANSPORTS;
	else if (!(sp = jc_find_speex(ct)))
		why = JR_INCOMPATIBLE_PARAMETERS;
	else
		why = jc_pick_security(c, ct);
	if (why) {
		LOGI("call %s from %s: cannot serve the offer: %s", c->sid, from,
		     jingle_reason_name(why));
		if (!proceeded) {
			/* The owner never heard of it. */
			jc_send_terminate(c, why);
			c->ph = PH_ENDED;
			mem_deref(c);
		} else {
			jc_end_call(c, why, true);
		}
		return;
	}
	c->pt = sp->id;
	snprintf(c->content, sizeof(c->content), "%s", ct->name);
	c->creator = ct->creator;
	err = jc_media_alloc(c, false, ct->rtcp_mux ? 1 : 2);
	if (!err)
		err = jc_apply_security_answerer(c, ct);
	if (err) {
		LOGW("call %s: media set-up failed (%d)", c->sid, err);
		if (proceeded) {
			jc_end_call(c, err == -EINVAL ? JR_SECURITY_ERROR : JR_GENERAL_ERROR, true);
		} else {
			jc_send_terminate(c, err == -EINVAL ? JR_SECURITY_ERROR : JR_GENERAL_ERROR);
			c->ph = PH_ENDED;
			mem_deref(c);
		}
		return;
	}
	jc_add_transport(c, ct);
	jc_apply_early(c);
	if (proceeded) {
		c->ph = PH_ACCEPTING;
		if (c->gathered)
			jc_send_accept(c);
		return;
	}
	c->ph = PH_INCOMING;
	{
		struct jingle *r = mem_zalloc(sizeof(*r), NULL);
		if (r) {
			jc_jingle_base(c, r, JA_SESSION_INFO);
			r->info = JI_RINGING;
			jc_send_jingle(c, r, NULL, 0);
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
	const struct jingle_content *ct = jc_audio_content(j);
	const struct jingle_payload *sp = ct ? jc_find_speex(ct) : NULL;
	enum jingle_reason why = JR_NONE;
	int err = 0;

	if (c->ph != PH_INITIATED) {
		jc_send_error(m, iq, "cancel", "unexpected-request", "out-of-order", NULL);
		mem_deref(j);
		return;
	}
	jc_send_result(m, iq);
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
		jc_end_call(c, why, true);
		return;
	}
	if (ct->rtcp_mux)
		mcall_rtcp_mux(c->mc);
	jc_add_transport(c, ct);
	mem_deref(j);
	c->ph = PH_ACTIVE;
	tmr_cancel(m->loop, &c->tmr);
	jc_set_state(c, JCALL_ACTIVE, JR_NONE);
}

static void hold_early(struct jcall_mgr *m, xmpp_stanza_t *iq, struct jingle *j, const char *from);

void jc_handle_jingle(struct jcall_mgr *m, xmpp_stanza_t *iq, xmpp_stanza_t *el)
{
	const char *from = xmpp_stanza_get_from(iq), *why = NULL;
	struct jingle *j;
	struct jcall *c;
	int err;

	if (!from || !jc_jid_full(from) || !jc_jid_ok(from)) {
		jc_send_error(m, iq, "modify", "bad-request", NULL, "from must be a full JID");
		return;
	}
	if (!m->eng) {
		jc_send_error(m, iq, "cancel", "feature-not-implemented", NULL, "voice is disabled");
		return;
	}
	j = mem_alloc(sizeof(*j), NULL);
	if (!j) {
		jc_send_error(m, iq, "wait", "resource-constraint", NULL, NULL);
		return;
	}
	err = jingle_parse(el, j, &why);
	if (err) {
		LOGI("jingle from %s: malformed: %s", from, why ? why : "?");
		jc_send_error(m, iq, "modify", "bad-request", NULL, why);
		mem_deref(j);
		return;
	}
	if (j->action == JA_SESSION_INITIATE) {
		incoming_initiate(m, iq, j, from);
		return;
	}
	if (j->action == JA_UNKNOWN) {
		jc_send_error(m, iq, "cancel", "feature-not-implemented", NULL, j->action_str);
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
		jc_send_error(m, iq, "cancel", "item-not-found", "unknown-session", NULL);
		mem_deref(j);
		return;
	}
	switch (j->action) {
	case JA_SESSION_ACCEPT:
		incoming_accept(m, iq, c, j);
		return;
	case JA_SESSION_TERMINATE:
		jc_send_result(m, iq);
		LOGI("call %s: terminated by %s (%s%s%s)", c->sid, from,
		     jingle_reason_name(j->reason), j->reason_text[0] ? ": " : "", j->reason_text);
		jc_end_call(c, j->reason ? j->reason : JR_SUCCESS, false);
		break;
	case JA_SESSION_INFO:
		if (j->info == JI_OTHER) {
			jc_send_error(m, iq, "modify", "feature-not-implemented", "unsupported-info", NULL);
			break;
		}
		jc_send_result(m, iq);
		if (j->info == JI_RINGING && c->out && c->st == JCALL_PROPOSED)
			jc_set_state(c, JCALL_RINGING, JR_NONE);
		break;
	case JA_TRANSPORT_INFO:
		jc_send_result(m, iq);
		for (unsigned i = 0; i < j->ncontents; i++)
			jc_add_transport(c, &j->contents[i]);
		break;
	default:
		jc_send_error(m, iq, "cancel", "feature-not-implemented", NULL, j->action_str);
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
		jc_send_error(m, iq, "cancel", "item-not-found", "unknown-session", NULL);
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
		jc_send_error(m, iq, "wait", "resource-constraint", NULL, NULL);
		return;
	}
	tmr_start(m->loop, &ea->tmr, EARLY_MS, early_expire, ea);
	jc_send_result(m, iq);
}

/* An answer to one of our iqs.  Only a failed session-initiate matters. */
bool jc_handle_iq_answer(struct jcall_mgr *m, xmpp_stanza_t *iq, const char *type)
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
			jc_end_call(c, name && (!strcmp(name, "service-unavailable") ||
					     !strcmp(name, "item-not-found") ||
					     !strcmp(name, "recipient-unavailable")) ?
				    JR_GONE : JR_GENERAL_ERROR, false);
		}
		return true;
	}
	return false;
}
