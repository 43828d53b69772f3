/* XEP-0353 Jingle Message Initiation, both ways, and the presence that
 * lets a bare JID be rung (see jcall_int.h). */
#include "jcall_int.h"

/* ---- XEP-0353 ---- */

/* The session goes to one resource now: after its proceed, or the
 * fallback's pick. */
static void initiate_to(struct jcall *c, const char *full)
{
	tmr_cancel(c->m->loop, &c->jmi_tmr);
	mem_deref(c->peer);
	c->peer = mem_strdup(full);
	if (!c->peer) {
		jc_end_call(c, JR_GENERAL_ERROR, false);
		return;
	}
	c->ph = PH_GATHER;
	if (c->gathered)
		jc_send_initiate(c);
}

/* Nobody rang for our propose: the contact's clients may not speak
 * XEP-0353 (StanzaJS, older Gajim and Psi), which ignore it.  If the
 * contact has an available resource, retract the propose and send the
 * session-initiate to that resource, the newest one that came online;
 * otherwise keep waiting (a client may come online and get the propose
 * from the archive). */
void jc_on_jmi_silence(void *arg)
{
	struct jcall *c = arg;
	struct jcall_mgr *m = c->m;
	const char *pick = NULL;

	if (c->ph != PH_PROPOSED || c->st != JCALL_PROPOSED)
		return;
	LIST_FOREACH(&m->presence, e) {
		struct pres *p = e->data;
		if (jc_same_bare(p->jid, c->peer))
			pick = p->jid;   /* the last in the list came online last */
	}
	if (!pick) {
		LOGD("call %s: no ringing for the propose, and %s has no available resource",
		     c->sid, c->peer);
		return;
	}
	LOGI("call %s: no XEP-0353 client rang in %u s; calling %s directly", c->sid,
	     JMI_FALLBACK_MS / 1000, pick);
	jc_send_jmi(m, JMI_RETRACT, c->sid, c->peer, JR_CANCEL);
	initiate_to(c, pick);
}

void jc_handle_jmi(struct jcall_mgr *m, xmpp_stanza_t *msg, const struct jmi *j)
{
	const char *from = j->from[0] ? j->from : xmpp_stanza_get_from(msg);
	struct jcall *c = jcall_find(m, j->id);
	char own_bare[JINGLE_JID_SIZE];
	bool from_self;
	int err;

	if (!from)
		return;
	jc_jid_bare(jc_own_jid(m), own_bare, sizeof(own_bare));
	if ((j->carbon_sent || j->carbon_received) && xmpp_stanza_get_from(msg) &&
	    strcasecmp(xmpp_stanza_get_from(msg), own_bare)) {
		/* XEP-0280 section 11: only our own server may send carbons. */
		LOGI("jingle-message: forged carbon from %s ignored", xmpp_stanza_get_from(msg));
		return;
	}
	from_self = jc_same_bare(from, own_bare);
	if (j->carbon_sent || (from_self && !j->carbon_received)) {
		/* One of our other devices answered a call ringing here. */
		if (c && !c->out && (c->ph == PH_JMI_IN || c->ph == PH_INCOMING) &&
		    (j->kind == JMI_ACCEPT || j->kind == JMI_PROCEED || j->kind == JMI_REJECT) &&
		    strcmp(from, jc_own_jid(m))) {
			LOGI("call %s: answered on another device", c->sid);
			jc_end_call(c, JR_CANCEL, false);
		}
		return;
	}
	switch (j->kind) {
	case JMI_PROPOSE:
		if (c)
			return;   /* a repeat */
		if (!j->audio || !m->eng || !jc_jid_full(from) || !jc_jid_ok(from)) {
			jc_send_jmi(m, JMI_REJECT, j->id, from, JR_UNSUPPORTED_APPLICATIONS);
			return;
		}
		if (jc_pending_from(m, from) >= m->cfg.max_pending_per_peer) {
			jc_send_jmi(m, JMI_REJECT, j->id, from, JR_BUSY);
			return;
		}
		err = jc_call_alloc(&c, m, j->id, from, false);
		if (err) {
			jc_send_jmi(m, JMI_REJECT, j->id, from, JR_BUSY);
			return;
		}
		c->jmi = true;
		c->ph = PH_JMI_IN;
		jc_send_jmi(m, JMI_RINGING, j->id, from, JR_NONE);
		LOGI("call %s from %s: incoming (XEP-0353)", c->sid, from);
		if (m->h.incoming)
			m->h.incoming(c, from, m->arg);
		return;
	case JMI_RETRACT:
		if (c && !c->out && jc_same_bare(c->peer, from) &&
		    (c->ph == PH_JMI_IN || c->ph == PH_PROCEEDED))
			jc_end_call(c, j->reason ? j->reason : JR_CANCEL, false);
		return;
	case JMI_RINGING:
		if (c && c->out && c->ph == PH_PROPOSED && jc_same_bare(c->peer, from) &&
		    c->st == JCALL_PROPOSED) {
			tmr_cancel(m->loop, &c->jmi_tmr);   /* a XEP-0353 client has it */
			jc_set_state(c, JCALL_RINGING, JR_NONE);
		}
		return;
	case JMI_PROCEED:
		if (!c || !c->out || c->ph != PH_PROPOSED || !jc_same_bare(c->peer, from) ||
		    !jc_jid_full(from))
			return;
		initiate_to(c, from);
		return;
	case JMI_REJECT:
		if (c && c->out && c->ph == PH_PROPOSED && jc_same_bare(c->peer, from))
			jc_end_call(c, j->reason ? j->reason : JR_DECLINE, false);
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

void jc_track_presence(struct jcall_mgr *m, xmpp_stanza_t *st)
{
	const char *from = xmpp_stanza_get_from(st), *type = xmpp_stanza_get_type(st);
	struct pres *p = NULL;

	if (!from || !jc_jid_full(from))
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
