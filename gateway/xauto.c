/* Stanzas the gateway answers by itself, so that clients need not:
 * XEP-0199 pings and XEP-0030 disco#info to our full JID, XEP-0115 caps
 * on the client's available presence, and service-unavailable for iq
 * requests the client leaves unanswered. */
#include <stdio.h>
#include <string.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include "log.h"
#include "mem.h"
#include "stanza.h"
#include "xlink.h"
#include "xsess.h"

#define NS_DISCO_INFO "http://jabber.org/protocol/disco#info"
#define NS_CAPS "http://jabber.org/protocol/caps"
#define NS_PING "urn:xmpp:ping"
#define NS_STANZAS "urn:ietf:params:xml:ns:xmpp-stanzas"
#define CAPS_NODE "https://rtmp2xmpp.invalid/caps"

/* Sorted, as XEP-0115 hashes them.  Only what works today: the Jingle ones
 * are what gateway/call.c and signaling/jcall.c serve (RTP audio over
 * ICE-UDP, DTLS-SRTP, XEP-0353 ringing). */
static const char *const features[] = {
	NS_CAPS, NS_DISCO_INFO,
	"urn:xmpp:jingle-message:0",
	"urn:xmpp:jingle:1",
	"urn:xmpp:jingle:apps:dtls:0",
	"urn:xmpp:jingle:apps:rtp:1",
	"urn:xmpp:jingle:apps:rtp:audio",
	"urn:xmpp:jingle:transports:ice-udp:1",
	NS_PING,
};
static char caps_ver[64];

struct iq_pending {
	struct le le;
	struct xlink *xl;
	char *from;
	char *id;
	struct tmr tmr;
};

void xauto_global_init(void)
{
	char s[512];
	unsigned char md[SHA_DIGEST_LENGTH];
	int n = snprintf(s, sizeof(s), "client/phone//rtmp2xmpp<");

	for (size_t i = 0; i < sizeof(features) / sizeof(features[0]); i++)
		n += snprintf(s + n, sizeof(s) - (size_t)n, "%s<", features[i]);
	SHA1((const unsigned char *)s, (size_t)n, md);
	EVP_EncodeBlock((unsigned char *)caps_ver, md, sizeof(md));
}

static xmpp_stanza_t *child(xmpp_ctx_t *ctx, xmpp_stanza_t *parent, const char *name,
			    const char *ns)
{
	xmpp_stanza_t *c = xmpp_stanza_new(ctx);

	if (!c)
		return NULL;
	xmpp_stanza_set_name(c, name);
	if (ns)
		xmpp_stanza_set_ns(c, ns);
	xmpp_stanza_add_child(parent, c);
	xmpp_stanza_release(c);   /* the parent holds it */
	return c;
}

xmpp_stanza_t *xauto_error_iq(struct xsess *xs, const char *to, const char *id,
			      const char *etype, const char *condition)
{
	xmpp_ctx_t *ctx = xsess_ctx(xs);
	xmpp_stanza_t *iq = xmpp_iq_new(ctx, "error", id), *err;

	if (!iq)
		return NULL;
	if (to && *to)
		xmpp_stanza_set_to(iq, to);
	err = child(ctx, iq, "error", NULL);
	if (err) {
		xmpp_stanza_set_attribute(err, "type", etype);
		child(ctx, err, condition, NS_STANZAS);
	}
	return iq;
}

static void send_result(struct xsess *xs, xmpp_stanza_t *req, xmpp_stanza_t *payload)
{
	xmpp_stanza_t *iq = xmpp_iq_new(xsess_ctx(xs), "result", xmpp_stanza_get_id(req));

	if (!iq)
		return;
	if (xmpp_stanza_get_from(req))
		xmpp_stanza_set_to(iq, xmpp_stanza_get_from(req));
	if (payload)
		xmpp_stanza_add_child(iq, payload);
	xsess_send(xs, iq);
	xmpp_stanza_release(iq);
}

static void answer_disco(struct xsess *xs, xmpp_stanza_t *req, const char *node)
{
	xmpp_ctx_t *ctx = xsess_ctx(xs);
	xmpp_stanza_t *q = xmpp_stanza_new(ctx), *id;

	if (!q)
		return;
	xmpp_stanza_set_name(q, "query");
	xmpp_stanza_set_ns(q, NS_DISCO_INFO);
	if (node)
		xmpp_stanza_set_attribute(q, "node", node);
	id = child(ctx, q, "identity", NULL);
	if (id) {
		xmpp_stanza_set_attribute(id, "category", "client");
		xmpp_stanza_set_attribute(id, "type", "phone");
		xmpp_stanza_set_attribute(id, "name", "rtmp2xmpp");
	}
	for (size_t i = 0; i < sizeof(features) / sizeof(features[0]); i++) {
		xmpp_stanza_t *f = child(ctx, q, "feature", NULL);
		if (f)
			xmpp_stanza_set_attribute(f, "var", features[i]);
	}
	send_result(xs, req, q);
	xmpp_stanza_release(q);
}

bool xauto_handle_iq(struct xsess *xs, xmpp_stanza_t *st)
{
	const char *type = xmpp_stanza_get_type(st);
	xmpp_stanza_t *q;

	if (!type || strcmp(type, "get"))
		return false;
	if (stanza_child(st, "ping", NS_PING)) {
		send_result(xs, st, NULL);
		return true;
	}
	q = stanza_child(st, "query", NS_DISCO_INFO);
	if (q) {
		const char *node = xmpp_stanza_get_attribute(q, "node");
		char ours[128];
		snprintf(ours, sizeof(ours), "%s#%s", CAPS_NODE, caps_ver);
		if (node && strcmp(node, ours))
			return false;   /* a node the client may know about */
		answer_disco(xs, st, node);
		return true;
	}
	return false;
}

static void pending_destructor(void *arg)
{
	struct iq_pending *p = arg;
	mem_deref(p->from);
	mem_deref(p->id);
}

static void pending_free(struct iq_pending *p)
{
	list_unlink(&p->le);
	tmr_cancel(p->xl->loop, &p->tmr);
	mem_deref(p);
}

static void on_unanswered(void *arg)
{
	struct iq_pending *p = arg;
	struct xlink *xl = p->xl;
	xmpp_stanza_t *e = xauto_error_iq(xl->s, p->from, p->id, "cancel", "service-unavailable");

	LOGI("conn %llu: iq %s from %s unanswered: replied service-unavailable",
	     (unsigned long long)xl->c->id, p->id, p->from);
	if (e) {
		xsess_send(xl->s, e);
		xmpp_stanza_release(e);
	}
	pending_free(p);
}

void xauto_track_iq(struct xlink *xl, xmpp_stanza_t *st)
{
	const char *from = xmpp_stanza_get_from(st), *id = xmpp_stanza_get_id(st);
	struct iq_pending *p;

	if (!id)
		return;
	p = mem_zalloc(sizeof(*p), pending_destructor);
	if (!p)
		return;
	p->xl = xl;
	p->from = mem_strdup(from ? from : "");
	p->id = mem_strdup(id);
	if (!p->from || !p->id) {
		mem_deref(p);
		return;
	}
	list_append(&xl->iq_in, &p->le, p);
	tmr_start(xl->loop, &p->tmr, (uint64_t)xl->iq_unanswered * 1000,
		  on_unanswered, p);
}

void xauto_answered(struct xlink *xl, const char *to, const char *id)
{
	LIST_FOREACH(&xl->iq_in, e) {
		struct iq_pending *p = e->data;
		if (!strcmp(p->id, id) && !strcmp(p->from, to ? to : "")) {
			pending_free(p);
			return;
		}
	}
}

void xauto_reset(struct xlink *xl)
{
	while (xl->iq_in.head)
		pending_free(xl->iq_in.head->data);
}

void xauto_add_caps(struct xsess *xs, xmpp_stanza_t *presence)
{
	xmpp_stanza_t *c;

	if (stanza_child(presence, "c", NS_CAPS))
		return;
	c = child(xsess_ctx(xs), presence, "c", NS_CAPS);
	if (c) {
		xmpp_stanza_set_attribute(c, "hash", "sha-1");
		xmpp_stanza_set_attribute(c, "node", CAPS_NODE);
		xmpp_stanza_set_attribute(c, "ver", caps_ver);
	}
}
