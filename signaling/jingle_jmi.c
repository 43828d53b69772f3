/* XEP-0353 Jingle Message Initiation messages <-> struct jmi, and the
 * XEP-0280 carbons that carry them (see jingle_int.h). */
#include "jingle_int.h"

static const char *const jmi_names[] = {
	[JMI_PROPOSE] = "propose",
	[JMI_RETRACT] = "retract",
	[JMI_ACCEPT] = "accept",
	[JMI_PROCEED] = "proceed",
	[JMI_REJECT] = "reject",
	[JMI_RINGING] = "ringing",
	[JMI_FINISH] = "finish",
};

/* --- XEP-0353 --- */

/* The message a XEP-0280 carbon in msg forwards (*sent: a <sent/> one), or
 * NULL; *found tells a carbon that forwards nothing from no carbon. */
static xmpp_stanza_t *carbon_inner(xmpp_stanza_t *msg, bool *sent, bool *found)
{
	*found = false;
	FOR_CHILD(c, msg) {
		xmpp_stanza_t *fwd;

		if (!jg_is_el(c, "sent", CARBONS_NS) && !jg_is_el(c, "received", CARBONS_NS))
			continue;
		*found = true;
		*sent = jg_is_el(c, "sent", NULL);
		fwd = stanza_child(c, "forwarded", FORWARD_NS);
		if (!fwd)
			return NULL;
		/* any namespace: jabber:client, or forward's when a sender
		 * leaves xmlns out */
		FOR_CHILD(m, fwd) {
			if (jg_is_el(m, "message", NULL))
				return m;
		}
		return NULL;
	}
	return NULL;
}

int jmi_parse(xmpp_stanza_t *msg, struct jmi *m, const char **why)
{
	xmpp_stanza_t *inner, *x = NULL;
	const char *dummy, *s;
	bool sent = false, carbon;
	int kind;

	if (!why)
		why = &dummy;
	*why = NULL;
	memset(m, 0, sizeof(*m));
	if (!jg_is_el(msg, "message", NULL)) {
		*why = "not a message";
		return -ENOENT;
	}
	inner = carbon_inner(msg, &sent, &carbon);
	if (carbon && !inner) {
		*why = "carbon without a message";
		return -ENOENT;
	}
	if (carbon)
		msg = inner;
	FOR_CHILD(c, msg) {
		if (jg_ns_is(c, JINGLE_MSG_NS)) {
			x = c;
			break;
		}
	}
	if (!x) {
		*why = "no JMI element";
		return -ENOENT;
	}
	kind = INDEX(jmi_names, xmpp_stanza_get_name(x));
	if (kind <= 0)
		return jg_bad(why, "unknown JMI element");
	m->kind = (enum jmi_kind)kind;
	m->carbon_sent = carbon && sent;
	m->carbon_received = carbon && !sent;
	s = jg_attr(x, "id");
	if (!s || !*s)
		return jg_bad(why, "JMI element without id");
	if (GET_ATTR(x, "id", m->id, "JMI id") || GET_ATTR(msg, "from", m->from, "from") ||
	    GET_ATTR(msg, "to", m->to, "to"))
		return -EBADMSG;
	FOR_CHILD(c, x) {
		const char *media = jg_attr(c, "media");

		if (m->kind == JMI_PROPOSE && jg_is_el(c, "description", JINGLE_RTP_NS) && media) {
			m->audio |= !strcmp(media, "audio");
			m->video |= !strcmp(media, "video");
		} else if (jg_is_el(c, "reason", JINGLE_NS) && m->reason == JR_NONE) {
			jg_parse_reason(c, &m->reason, NULL, 0);
		}
	}
	return 0;
}

static bool jmi_receipt(enum jmi_kind k)
{
	return k == JMI_PROPOSE || k == JMI_PROCEED || k == JMI_ACCEPT || k == JMI_REJECT ||
	       k == JMI_RETRACT;
}

static int build_jmi(xmpp_stanza_t *msg, const struct jmi *m)
{
	xmpp_stanza_t *x = jg_add_el(msg, NAME(jmi_names, m->kind), JINGLE_MSG_NS), *d;

	if (!x || jg_set(x, "id", m->id))
		return -ENOMEM;
	for (int v = 0; m->kind == JMI_PROPOSE && v < 2; v++) {
		if (!(v ? m->video : m->audio))
			continue;
		d = jg_add_el(x, "description", JINGLE_RTP_NS);
		if (!d || jg_set(d, "media", v ? "video" : "audio"))
			return -ENOMEM;
	}
	if (jg_build_reason(x, m->reason, NULL))
		return -ENOMEM;
	if (jmi_receipt(m->kind) && !jg_add_el(msg, "request", RECEIPTS_NS))
		return -ENOMEM;
	if (!jg_add_el(msg, "store", HINTS_NS))
		return -ENOMEM;
	return 0;
}

xmpp_stanza_t *jmi_build(xmpp_ctx_t *ctx, const struct jmi *m, const char *from,
			 const char *to, const char *id)
{
	xmpp_stanza_t *msg;

	if (!*NAME(jmi_names, m->kind))
		return NULL;
	msg = jg_stanza_new(ctx, "message", "chat", from, to, id);
	if (msg && build_jmi(msg, m)) {
		xmpp_stanza_release(msg);
		msg = NULL;
	}
	return msg;
}
