/* The user's server's STUN and TURN services for calls (see extsvc.h). */
#include <errno.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include "extdisco.h"
#include "extsvc.h"
#include "log.h"
#include "mem.h"
#include "xsess.h"

#define DOMAIN_SIZE 1024      /* RFC 7622: a domainpart is at most 1023 bytes */

struct extsvc {
	struct xsess *xs;
	struct extdisco *d;      /* the last answer's services, or NULL */
	char id[32];             /* our request awaiting its answer; "" when none */
	int64_t asked;           /* when it went out; 0: never */
	char domain[DOMAIN_SIZE];
};

static void svc_destructor(void *arg)
{
	struct extsvc *s = arg;

	mem_deref(s->d);
}

/* The services hold TURN passwords: wipe them with the block. */
static void list_destructor(void *arg)
{
	explicit_bzero(arg, sizeof(struct extdisco));
}

/* The domain of the session's JID, into s->domain; false if none. */
static bool own_domain(struct extsvc *s)
{
	const char *jid = xsess_jid(s->xs), *at;
	size_t n;

	if (!jid)
		return false;
	at = strchr(jid, '@');
	if (at && at < jid + strcspn(jid, "/"))
		jid = at + 1;
	n = strcspn(jid, "/");
	if (!n || n >= sizeof(s->domain))
		return false;
	memcpy(s->domain, jid, n);
	s->domain[n] = '\0';
	return true;
}

static void ask(struct extsvc *s, int64_t now)
{
	char id[sizeof(s->id)];
	xmpp_stanza_t *iq;
	int err;

	if (!xsess_is_up(s->xs) || !own_domain(s))
		return;
	xsess_next_id(s->xs, id, sizeof(id));
	iq = extdisco_request(xsess_ctx(s->xs), s->domain, id);
	if (!iq) {
		LOGW("extdisco: no memory to ask %s for its services", s->domain);
		return;
	}
	err = xsess_send(s->xs, iq);
	xmpp_stanza_release(iq);
	if (err)
		return;
	memcpy(s->id, id, sizeof(s->id));
	s->asked = now;
	LOGD("extdisco: asked %s for its STUN and TURN services (XEP-0215)", s->domain);
}

int extsvc_alloc(struct extsvc **sp, struct xsess *xs)
{
	struct extsvc *s = mem_zalloc(sizeof(*s), svc_destructor);

	if (!s)
		return -ENOMEM;
	s->xs = xs;
	ask(s, (int64_t)time(NULL));
	*sp = s;
	return 0;
}

/* The condition of an iq error, for the log. */
static const char *condition(xmpp_stanza_t *iq)
{
	xmpp_stanza_t *e = xmpp_stanza_get_child_by_name(iq, "error");

	for (xmpp_stanza_t *c = e ? xmpp_stanza_get_children(e) : NULL; c;
	     c = xmpp_stanza_get_next(c))
		if (xmpp_stanza_is_tag(c) && xmpp_stanza_get_name(c) &&
		    strcmp(xmpp_stanza_get_name(c), "text"))
			return xmpp_stanza_get_name(c);
	return "no condition";
}

static void show(const struct extsvc *s, const struct extdisco *d)
{
	if (!d->n) {
		LOGI("extdisco: %s offers no external services%s", s->domain,
		     d->skipped ? " we can use" : "");
		return;
	}
	for (unsigned i = 0; i < d->n; i++) {
		const struct extdisco_service *v = &d->svc[i];
		/* host, port and kind only: the credentials are secrets */
		LOGI("extdisco: %s offers %s %s:%u over %s%s", s->domain,
		     extdisco_type_name(v->type), v->host, v->port,
		     extdisco_transport_name(v->transport),
		     v->username[0] ? " with credentials" : "");
	}
	if (d->skipped)
		LOGI("extdisco: %s: %u other entries skipped", s->domain, d->skipped);
}

static void take(struct extsvc *s, xmpp_stanza_t *iq)
{
	struct extdisco *d = mem_zalloc(sizeof(*d), list_destructor);
	const char *why;

	if (!d) {
		LOGW("extdisco: no memory for the services of %s", s->domain);
		return;
	}
	if (extdisco_parse(iq, d, &why)) {
		LOGW("extdisco: %s: bad answer: %s", s->domain, why);
		mem_deref(d);
		return;
	}
	show(s, d);
	mem_deref(s->d);
	s->d = d;
}

bool extsvc_handle(struct extsvc *s, xmpp_stanza_t *iq)
{
	const char *id = xmpp_stanza_get_id(iq), *from = xmpp_stanza_get_from(iq);
	const char *type = xmpp_stanza_get_type(iq);

	if (!s->id[0] || !id || strcmp(id, s->id))
		return false;
	/* Only the server may answer: anyone else who guessed the id could
	 * otherwise route our media through their relay. */
	if (from && strcasecmp(from, s->domain)) {
		LOGW("extdisco: answer to our request from %s, not %s: ignored", from,
		     s->domain);
		return true;
	}
	s->id[0] = '\0';
	if (type && !strcmp(type, "error")) {
		LOGI("extdisco: %s offers no external services (XEP-0215): %s", s->domain,
		     condition(iq));
		s->d = mem_deref(s->d);
		return true;
	}
	take(s, iq);
	return true;
}

/* Ask again?  Not while an answer may still come; otherwise when we never
 * could, when no answer came, or when the credentials have run out; and
 * never sooner than EXTSVC_RETRY_S after the last request. */
static bool stale(const struct extsvc *s, int64_t now)
{
	int64_t exp;

	if (!s->asked)
		return true;
	if (now - s->asked < EXTSVC_RETRY_S)
		return false;
	if (s->id[0])
		return true;
	exp = s->d ? extdisco_expiry(s->d) : 0;
	return exp && exp <= now + EXTSVC_MARGIN_S;
}

bool extsvc_servers(struct extsvc *s, int64_t now, struct ice_servers *out)
{
	if (stale(s, now))
		ask(s, now);
	return s->d && extdisco_pick(s->d, now, EXTSVC_MARGIN_S, out) > 0;
}
