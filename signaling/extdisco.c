/* XEP-0215 services <-> struct (see extdisco.h).  Each <service/> is read
 * into a scratch entry and kept only when every attribute we use is
 * sound, so a bad one never leaves half an entry behind. */
#include <errno.h>
#include <string.h>
#include <strings.h>
#include "extdisco.h"

#define CLIENT_NS "jabber:client"
#define TIME_MAX_LEN 64     /* longer DateTimes are refused, whatever they say */

#define FOR_CHILD(c, el) \
	for (xmpp_stanza_t *c = xmpp_stanza_get_children(el); c; c = xmpp_stanza_get_next(c))

const char *extdisco_type_name(enum extdisco_type t)
{
	static const char *const n[] = {"stun", "turn", "turns"};
	return (unsigned)t < 3 ? n[t] : "?";
}

const char *extdisco_transport_name(enum extdisco_transport t)
{
	return t == EXTDISCO_TCP ? "tcp" : "udp";
}

/* --- the request --- */

xmpp_stanza_t *extdisco_request(xmpp_ctx_t *ctx, const char *to, const char *id)
{
	xmpp_stanza_t *iq = xmpp_stanza_new(ctx), *q;

	if (!iq)
		return NULL;
	if (xmpp_stanza_set_name(iq, "iq") || xmpp_stanza_set_ns(iq, CLIENT_NS) ||
	    xmpp_stanza_set_type(iq, "get") || (to && xmpp_stanza_set_to(iq, to)) ||
	    (id && xmpp_stanza_set_id(iq, id)))
		goto fail;
	q = xmpp_stanza_new(ctx);
	if (!q)
		goto fail;
	if (xmpp_stanza_set_name(q, "services") || xmpp_stanza_set_ns(q, EXTDISCO_NS)) {
		xmpp_stanza_release(q);
		goto fail;
	}
	xmpp_stanza_add_child_ex(iq, q, 0);   /* iq owns it now */
	return iq;
fail:
	xmpp_stanza_release(iq);
	return NULL;
}

/* --- XEP-0082 DateTime --- */

/* n decimal digits at *s (advanced): -1 if they are not all digits. */
static int digits(const char **s, int n)
{
	int v = 0;

	for (int i = 0; i < n; i++, (*s)++) {
		if (**s < '0' || **s > '9')
			return -1;
		v = v * 10 + (**s - '0');
	}
	return v;
}

static bool expect(const char **s, char c)
{
	if (**s != c)
		return false;
	(*s)++;
	return true;
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian; H. Hinnant's
 * days_from_civil). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static int days_in_month(int y, int m)
{
	static const int n[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : n[m - 1];
}

int extdisco_time(const char *s, int64_t *t)
{
	int y, mo, d, h, mi, sec, oh = 0, om = 0, sign = 0;

	if (!s || !t || strnlen(s, TIME_MAX_LEN + 1) > TIME_MAX_LEN)
		return -EINVAL;
	y = digits(&s, 4);
	if (y < 0 || !expect(&s, '-') || (mo = digits(&s, 2)) < 1 || mo > 12 ||
	    !expect(&s, '-') || (d = digits(&s, 2)) < 1 || d > days_in_month(y, mo) ||
	    !expect(&s, 'T') || (h = digits(&s, 2)) < 0 || h > 23 || !expect(&s, ':') ||
	    (mi = digits(&s, 2)) < 0 || mi > 59 || !expect(&s, ':') ||
	    (sec = digits(&s, 2)) < 0 || sec > 60)    /* 60: a leap second */
		return -EINVAL;
	if (expect(&s, '.')) {
		const char *f = s;
		s += strspn(s, "0123456789");
		if (s == f)
			return -EINVAL;
	}
	if (*s == '+' || *s == '-') {
		sign = *s++ == '+' ? 1 : -1;
		if ((oh = digits(&s, 2)) < 0 || oh > 23 || !expect(&s, ':') ||
		    (om = digits(&s, 2)) < 0 || om > 59)
			return -EINVAL;
	} else if (!expect(&s, 'Z')) {
		return -EINVAL;
	}
	if (*s)
		return -EINVAL;
	*t = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec -
	     sign * (oh * 3600 + om * 60);
	return 0;
}

/* --- the answer --- */

static bool is_services(xmpp_stanza_t *el)
{
	const char *name, *ns;

	if (!el || !xmpp_stanza_is_tag(el))
		return false;
	name = xmpp_stanza_get_name(el);
	ns = xmpp_stanza_get_ns(el);
	return name && ns && !strcmp(name, "services") &&
	       (!strcmp(ns, EXTDISCO_NS) || !strcmp(ns, EXTDISCO_NS_1));
}

/* Letters, digits and what names and address literals hold (IPv6 too). */
static bool host_ok(const char *h)
{
	size_t n = strnlen(h, EXTDISCO_STR_SIZE);

	return n && n < EXTDISCO_STR_SIZE &&
	       strspn(h, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_:") == n;
}

/* "1".."65535", digits only; absent: def. */
static int port_of(const char *s, uint16_t def, uint16_t *port)
{
	unsigned v = 0;
	size_t n;

	if (!s) {
		*port = def;
		return 0;
	}
	n = strlen(s);
	if (!n || n > 5 || strspn(s, "0123456789") != n)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		v = v * 10 + (unsigned)(s[i] - '0');
	if (!v || v > 65535)
		return -EINVAL;
	*port = (uint16_t)v;
	return 0;
}

/* Optional string attribute into dst: "" when absent; -EMSGSIZE when too long. */
static int str_of(xmpp_stanza_t *el, const char *name, char *dst)
{
	const char *v = xmpp_stanza_get_attribute(el, name);
	size_t n = v ? strnlen(v, EXTDISCO_STR_SIZE) : 0;

	if (n >= EXTDISCO_STR_SIZE)
		return -EMSGSIZE;
	memcpy(dst, v ? v : "", n);
	dst[n] = '\0';
	return 0;
}

static int type_of(const char *s, enum extdisco_type *t)
{
	if (!s)
		return -EINVAL;
	if (!strcasecmp(s, "stun"))
		*t = EXTDISCO_STUN;
	else if (!strcasecmp(s, "turn"))
		*t = EXTDISCO_TURN;
	else if (!strcasecmp(s, "turns"))
		*t = EXTDISCO_TURNS;
	else
		return -ENOTSUP;    /* ftp and the like: not ours */
	return 0;
}

static int transport_of(const char *s, enum extdisco_type t, enum extdisco_transport *tp)
{
	if (!s)
		*tp = t == EXTDISCO_TURNS ? EXTDISCO_TCP : EXTDISCO_UDP;
	else if (!strcasecmp(s, "udp"))
		*tp = EXTDISCO_UDP;
	else if (!strcasecmp(s, "tcp"))
		*tp = EXTDISCO_TCP;
	else
		return -EINVAL;
	return 0;
}

/* XML Schema boolean; absent: false. */
static int bool_of(const char *s, bool *b)
{
	if (!s || !strcmp(s, "0") || !strcmp(s, "false"))
		*b = false;
	else if (!strcmp(s, "1") || !strcmp(s, "true"))
		*b = true;
	else
		return -EINVAL;
	return 0;
}

/* A push's entry that withdraws a service is not one to use. */
static bool action_ok(const char *a)
{
	return !a || !strcmp(a, "add") || !strcmp(a, "modify");
}

static int parse_service(xmpp_stanza_t *el, struct extdisco_service *s)
{
	const char *host = xmpp_stanza_get_attribute(el, "host");
	const char *exp = xmpp_stanza_get_attribute(el, "expires");
	int err;

	memset(s, 0, sizeof(*s));
	if ((err = type_of(xmpp_stanza_get_attribute(el, "type"), &s->type)))
		return err;
	if (!action_ok(xmpp_stanza_get_attribute(el, "action")) || !host || !host_ok(host))
		return -EINVAL;
	strcpy(s->host, host);
	if ((err = transport_of(xmpp_stanza_get_attribute(el, "transport"), s->type,
				&s->transport)) ||
	    (err = port_of(xmpp_stanza_get_attribute(el, "port"),
			   s->type == EXTDISCO_TURNS ? EXTDISCO_TLS_PORT : EXTDISCO_PORT,
			   &s->port)) ||
	    (err = str_of(el, "username", s->username)) ||
	    (err = str_of(el, "password", s->password)) ||
	    (err = bool_of(xmpp_stanza_get_attribute(el, "restricted"), &s->restricted)) ||
	    (exp && (err = extdisco_time(exp, &s->expires))))
		return err;
	return 0;
}

int extdisco_parse(xmpp_stanza_t *st, struct extdisco *d, const char **why)
{
	xmpp_stanza_t *sv = NULL;
	struct extdisco_service tmp;
	const char *ns;

	*why = NULL;
	d->n = 0;
	d->skipped = 0;
	if (is_services(st)) {
		sv = st;
	} else if (st) {
		FOR_CHILD(c, st)
			if (is_services(c)) {
				sv = c;
				break;
			}
	}
	if (!sv) {
		*why = "no <services/> in urn:xmpp:extdisco:2 or :1";
		return -EBADMSG;
	}
	ns = xmpp_stanza_get_ns(sv);
	FOR_CHILD(c, sv) {
		const char *name = xmpp_stanza_is_tag(c) ? xmpp_stanza_get_name(c) : NULL;
		const char *cns = name ? xmpp_stanza_get_ns(c) : NULL;

		if (!name || strcmp(name, "service") || (cns && strcmp(cns, ns)))
			continue;
		if (d->n == EXTDISCO_MAX || parse_service(c, &tmp)) {
			d->skipped++;
			continue;
		}
		d->svc[d->n++] = tmp;
	}
	explicit_bzero(tmp.password, sizeof(tmp.password));
	return 0;
}

/* --- choosing --- */

static bool turn_usable(const struct extdisco_service *s, int64_t now, int64_t margin)
{
	/* Credentials that must be asked for apart (restricted, none given)
	 * are not: we take what the list gives. */
	return s->type == EXTDISCO_TURN && s->username[0] && s->password[0] &&
	       (!s->expires || s->expires > now + margin);
}

int extdisco_pick(const struct extdisco *d, int64_t now, int64_t margin,
		  struct ice_servers *out)
{
	const struct extdisco_service *stun = NULL, *udp = NULL, *tcp = NULL, *turn;

	memset(out, 0, sizeof(*out));
	for (unsigned i = 0; i < d->n; i++) {
		const struct extdisco_service *s = &d->svc[i];

		if (s->type == EXTDISCO_STUN && s->transport == EXTDISCO_UDP && !stun)
			stun = s;
		else if (turn_usable(s, now, margin) && s->transport == EXTDISCO_UDP && !udp)
			udp = s;
		else if (turn_usable(s, now, margin) && s->transport == EXTDISCO_TCP && !tcp)
			tcp = s;
	}
	if (stun) {
		out->stun_host = stun->host;
		out->stun_port = stun->port;
	}
	turn = udp ? udp : tcp;
	if (turn) {
		out->turn_host = turn->host;
		out->turn_port = turn->port;
		out->turn_user = turn->username;
		out->turn_pass = turn->password;
		out->turn_tcp = turn->transport == EXTDISCO_TCP;
	}
	return !!stun + !!turn;
}

int64_t extdisco_expiry(const struct extdisco *d)
{
	int64_t t = 0;

	for (unsigned i = 0; i < d->n; i++)
		if (d->svc[i].expires && (!t || d->svc[i].expires < t))
			t = d->svc[i].expires;
	return t;
}
