/* The text-stanza gateway (client-api.md, after seed 000): the xmpp_connect,
 * xmpp_disconnect and xmpp RPCs, and the xmpp_message/presence/iq and
 * xmpp_disconnected callbacks, over one XMPP session per RTMP connection.
 * What the gateway answers by itself (pings, disco#info, ignored iqs) is in
 * xauto.c. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "log.h"
#include "mem.h"
#include "stanza.h"
#include "xlink.h"
#include "xsess.h"

struct iq_wait {
	struct le le;
	struct xlink *xl;
	char *id;
	char *to;                /* "" for the user's own server/account */
	double txid;
	struct tmr tmr;
};

static void iq_wait_destructor(void *arg)
{
	struct iq_wait *w = arg;
	mem_deref(w->id);
	mem_deref(w->to);
}

static void iq_wait_free(struct iq_wait *w)
{
	list_unlink(&w->le);
	tmr_cancel(w->xl->loop, &w->tmr);
	mem_deref(w);
}

static void forget_waits(struct xlink *xl)
{
	while (xl->iq_out.head)
		iq_wait_free(xl->iq_out.head->data);
	xauto_reset(xl);
}

static void xlink_destructor(void *arg)
{
	struct xlink *xl = arg;

	forget_waits(xl);
	mem_deref(xl->s);
}

/* attrib object of a stanza: from, to, id, type, xml:lang where present. */
static int attrib_of(xmpp_stanza_t *st, AMFObjectProperty *props)
{
	static const char *const keys[] = {"from", "to", "id", "type", "xml:lang"};
	int n = 0;

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		const char *v = xmpp_stanza_get_attribute(st, keys[i]);
		if (!v && i == 4)   /* libstrophe's parser drops the xml: prefix */
			v = xmpp_stanza_get_attribute(st, "lang");
		if (v)
			props[n++] = amfv_str(keys[i], v);
	}
	return n;
}

/* Deliver a stanza to the client: callback(attrib, rawbody), or as the
 * answer [attrib, rawbody] to a responder when txid is not 0. */
int xlink_deliver(struct xlink *xl, xmpp_stanza_t *st, const char *callback, double txid)
{
	struct rtmp_conn *c = xl->c;
	AMFObjectProperty attrib[5], pair[2], vals[3];
	size_t len = 0;
	char *raw = stanza_inner(xsess_ctx(xl->s), st, &len);
	int n = attrib_of(st, attrib), err;

	if (!raw)
		return ENOMEM;
	pair[0] = amfv_obj(NULL, attrib, n);
	pair[1] = amfv_str(NULL, raw);
	if (txid) {
		vals[0] = amfv_null();
		vals[1] = amfv_array(NULL, pair, 2);
		/* AMF0: an object with members "0" and "1".  AS3 reads result[0] and
		 * result[1] just the same, and librtmp-based clients (python3-librtmp),
		 * which drop strict and ECMA arrays alike, can read it too. */
		if (!c->amf3) {
			static char k0[] = "0", k1[] = "1";
			pair[0].p_name.av_val = k0;
			pair[0].p_name.av_len = 1;
			pair[1].p_name.av_val = k1;
			pair[1].p_name.av_len = 1;
			vals[1].p_type = AMF_OBJECT;
		}
		err = cmd_invoke(c, 0, "_result", txid, vals, 2);
	} else {
		vals[0] = amfv_null();
		vals[1] = pair[0];
		vals[2] = pair[1];
		err = cmd_invoke(c, 0, callback, 0, vals, 3);
	}
	mem_deref(raw);
	conn_flush(c);
	return err;
}

static void on_iq_timeout(void *arg)
{
	struct iq_wait *w = arg;
	struct xlink *xl = w->xl;
	const char *me = xsess_jid(xl->s);
	xmpp_stanza_t *st = xauto_error_iq(xl->s, me ? me : "", w->id, "wait", "remote-server-timeout");

	LOGI("conn %llu: iq %s to %s: no answer in %u s", (unsigned long long)xl->c->id, w->id,
	     w->to, xl->iq_timeout);
	if (st) {
		if (w->to[0])   /* as if the addressee answered */
			xmpp_stanza_set_attribute(st, "from", w->to);
		xlink_deliver(xl, st, NULL, w->txid);
		xmpp_stanza_release(st);
	}
	iq_wait_free(w);
}

/* Did the answer come from where the request went?  A request without
 * 'to' went to our own account: the answer has no 'from', or our bare JID,
 * or our domain. */
static bool from_addressee(struct xlink *xl, const struct iq_wait *w, const char *from)
{
	const char *me = xsess_jid(xl->s);
	size_t bare = me ? strcspn(me, "/") : 0;
	const char *at = me ? memchr(me, '@', bare) : NULL;

	if (w->to[0])
		return from && !strcasecmp(from, w->to);
	if (!from || !me)
		return true;
	if (strlen(from) == bare && !strncasecmp(from, me, bare))
		return true;
	return at && strlen(from) == bare - (size_t)(at + 1 - me) &&
	       !strncasecmp(from, at + 1, strlen(from));
}

/* An iq result/error from the server: is it the answer a responder waits for? */
static bool answer_iq(struct xlink *xl, xmpp_stanza_t *st)
{
	const char *id = xmpp_stanza_get_id(st);

	if (!id)
		return false;
	LIST_FOREACH(&xl->iq_out, e) {
		struct iq_wait *w = e->data;
		if (strcmp(w->id, id) || !from_addressee(xl, w, xmpp_stanza_get_from(st)))
			continue;
		xlink_deliver(xl, st, NULL, w->txid);
		iq_wait_free(w);
		return true;
	}
	return false;
}

static void on_stanza(struct xsess *s, xmpp_stanza_t *st, void *arg)
{
	struct xlink *xl = arg;
	const char *name = xmpp_stanza_get_name(st);
	const char *type = xmpp_stanza_get_type(st);

	(void)s;
	if (xl->client_left)
		return;
	if (call_handle_stanza(xl, st))
		return;
	if (!strcmp(name, "iq")) {
		bool request = type && (!strcmp(type, "get") || !strcmp(type, "set"));
		if (!request && answer_iq(xl, st))
			return;
		if (request && xauto_handle_iq(xl->s, st))
			return;
		if (request)
			xauto_track_iq(xl, st);
		xlink_deliver(xl, st, "xmpp_iq", 0);
		return;
	}
	xlink_deliver(xl, st, !strcmp(name, "message") ? "xmpp_message" : "xmpp_presence", 0);
}

static void reply_num(struct rtmp_conn *c, double txid, double v)
{
	AMFObjectProperty vals[2] = {amfv_null(), amfv_num(NULL, v)};
	if (txid)
		cmd_invoke(c, 0, "_result", txid, vals, 2);
}

/* 1.0 as seed 000 says; the bound full JID (with the resource the server
 * assigned) follows as a second value, which Responder-based clients ignore. */
static void reply_login(struct rtmp_conn *c, double txid, const char *jid)
{
	AMFObjectProperty vals[3] = {amfv_null(), amfv_num(NULL, 1.0), amfv_str(NULL, jid)};
	if (txid)
		cmd_invoke(c, 0, "_result", txid, vals, 3);
}

static void invoke_disconnected(struct rtmp_conn *c, const char *reason)
{
	AMFObjectProperty vals[2] = {amfv_null(), amfv_str(NULL, reason)};
	cmd_invoke(c, 0, "xmpp_disconnected", 0, vals, 2);
	conn_flush(c);
}

/* A client logged in at connect (FFmpeg, rtmpdump) cannot send presence:
 * we do, so that it can be called. */
static void send_available(struct xlink *xl)
{
	xmpp_stanza_t *p = xmpp_presence_new(xsess_ctx(xl->s));

	if (!p)
		return;
	xauto_add_caps(xl->s, p);
	xsess_send(xl->s, p);
	xmpp_stanza_release(p);
}

static void on_up(struct xsess *s, const char *jid, void *arg)
{
	struct xlink *xl = arg;

	(void)s;
	LOGI("conn %llu %s: logged in as %s", (unsigned long long)xl->c->id, xl->c->peer, jid);
	call_session_up(xl);
	if (xl->at_connect) {
		cmd_connect_done(xl->c, xl->connect_txid, NULL);
		send_available(xl);
	} else
		reply_login(xl->c, xl->connect_txid, jid);
	xl->at_connect = false;
	xl->connect_txid = 0;
	xl->logging_in = false;
	conn_flush(xl->c);
}

static void on_down(struct xsess *s, const char *reason, void *arg)
{
	struct xlink *xl = arg;
	struct rtmp_conn *c = xl->c;
	bool was_login = xl->logging_in;

	(void)s;
	call_session_down(xl, JR_GONE);
	if (xl->detached) {
		mem_deref(xl);   /* its RTMP connection is gone */
		return;
	}
	c->xl = NULL;
	if (xl->at_connect && was_login) {
		cmd_connect_done(c, xl->connect_txid, reason);
	} else if (!xl->client_left) {
		if (was_login)
			reply_num(c, xl->connect_txid, 0.0);
		invoke_disconnected(c, reason);
	}
	mem_deref(xl);
}

/* The login fields of an xmpp_connect object (or connect's extra argument). */
struct login {
	char username[1024], domain[1024], password[1024], resource[1024], host[1024];
	double port;
};

static bool read_login(const AMFObjectProperty *o, struct login *l)
{
	memset(l, 0, sizeof(*l));
	if (!o || (o->p_type != AMF_OBJECT && o->p_type != AMF_ECMA_ARRAY))
		return false;
	amf_str(o, "resource", l->resource, sizeof(l->resource));
	amf_str(o, "host", l->host, sizeof(l->host));
	if (!amf_num(o, "port", &l->port)) {
		char p[16];
		if (amf_str(o, "port", p, sizeof(p)))
			l->port = atof(p);
	}
	return amf_str(o, "username", l->username, sizeof(l->username)) && l->username[0] &&
	       amf_str(o, "domain", l->domain, sizeof(l->domain)) && l->domain[0] &&
	       amf_str(o, "password", l->password, sizeof(l->password)) &&
	       l->port >= 0 && l->port <= 65535;
}

static int start_login(struct rtmp_conn *c, const struct login *l, double txid, bool at_connect)
{
	const struct rx_config *cfg = c->srv->cfg;
	struct xsess_params p = {
		.username = l->username, .domain = l->domain, .password = l->password,
		.resource = l->resource[0] ? l->resource : "rtmp2xmpp",
		.host = l->host[0] ? l->host : NULL, .port = (uint16_t)l->port,
		.cafile = cfg->xmpp_cafile[0] ? cfg->xmpp_cafile : NULL,
		.insecure = cfg->xmpp_insecure,
		.ping_interval = cfg->xmpp_ping_interval, .ping_timeout = cfg->xmpp_ping_timeout,
	};
	struct xlink *xl = mem_zalloc(sizeof(*xl), xlink_destructor);
	int err;

	if (!xl)
		return ENOMEM;
	xl->c = c;
	xl->loop = c->srv->loop;
	xl->iq_timeout = cfg->iq_timeout;
	xl->iq_unanswered = cfg->iq_unanswered;
	xl->connect_txid = txid;
	xl->at_connect = at_connect;
	xl->logging_in = true;
	err = xsess_alloc(&xl->s, c->srv->loop, &p, on_up, on_stanza, on_down, xl);
	if (err) {
		mem_deref(xl);
		return err;
	}
	c->xl = xl;
	/* the user name is not secret; the password never reaches a log */
	LOGI("conn %llu %s: logging in as %s@%s", (unsigned long long)c->id, c->peer,
	     l->username, l->domain);
	return 0;
}

static void fail_login(struct rtmp_conn *c, double txid, const char *reason)
{
	reply_num(c, txid, 0.0);
	invoke_disconnected(c, reason);
}

int xrpc_connect(struct rtmp_conn *c, const struct rtmp_msg *m, struct rtmp_cmd *cmd)
{
	struct login l;

	(void)m;
	if (c->xl) {
		fail_login(c, cmd->txid, "already-connected");
		return 0;
	}
	if (cmd->nvals < 2 || !read_login(&cmd->val[1], &l)) {
		fail_login(c, cmd->txid, "invalid-arguments");
		return 0;
	}
	if (start_login(c, &l, cmd->txid, false))
		fail_login(c, cmd->txid, "socket-not-connected");
	explicit_bzero(l.password, sizeof(l.password));
	return 0;
}

int xrpc_login_at_connect(struct rtmp_conn *c, const AMFObjectProperty *o, double txid)
{
	struct login l;
	int err;

	if (!read_login(o, &l))
		return EINVAL;
	err = start_login(c, &l, txid, true);
	explicit_bzero(l.password, sizeof(l.password));
	return err;
}

/* Forget the XMPP session's link to c; the session closes in the background. */
void xrpc_detach(struct rtmp_conn *c, const char *reason)
{
	struct xlink *xl = c->xl;

	if (!xl)
		return;
	call_session_down(xl, JR_SUCCESS);   /* the peers hear it before the stream closes */
	c->xl = NULL;
	xl->detached = true;
	xl->client_left = true;
	forget_waits(xl);
	xsess_close(xl->s, reason);   /* on_down drops the link's last reference */
}

int xrpc_disconnect(struct rtmp_conn *c, const struct rtmp_msg *m, struct rtmp_cmd *cmd)
{
	AMFObjectProperty vals[2] = {amfv_null(), amfv_str(NULL, "client-requested")};

	(void)m;
	xrpc_detach(c, "client-requested");
	if (cmd->txid)
		cmd_invoke(c, 0, "_result", cmd->txid, vals, 2);
	return 0;
}

static const char *const err_codes[] = {
	[STANZA_BAD_KIND] = "XMPP.Stanza.BadType",
	[STANZA_INVALID] = "XMPP.Stanza.Invalid",
	[STANZA_TOO_LARGE] = "XMPP.Stanza.TooLarge",
	[STANZA_NOMEM] = "XMPP.Stanza.Invalid",
	[STANZA_BAD_ATTR] = "XMPP.Stanza.Invalid",
};

static const char *const err_desc[] = {
	[STANZA_BAD_KIND] = "Bad type attribute for this stanza.",
	[STANZA_INVALID] = "innerxml is not well-formed XML.",
	[STANZA_TOO_LARGE] = "innerxml is over the size limit.",
	[STANZA_NOMEM] = "Out of memory.",
	[STANZA_BAD_ATTR] = "An attribute is not valid XML text (UTF-8 without control characters).",
};

/* Tell the client its stanza was refused: _error to its responder, or the
 * xmpp_error(code, description) callback. */
static void refuse(struct rtmp_conn *c, double txid, const char *code, const char *desc)
{
	LOGI("conn %llu %s: stanza refused: %s (%s)", (unsigned long long)c->id, c->peer, code,
	     desc);
	if (txid) {
		cmd_info(c, 0, "_error", txid, "error", code, desc);
	} else {
		AMFObjectProperty vals[] = {amfv_null(), amfv_str(NULL, code), amfv_str(NULL, desc)};
		cmd_invoke(c, 0, "xmpp_error", 0, vals, 3);
	}
}

static int wait_answer(struct xlink *xl, xmpp_stanza_t *st, double txid)
{
	struct iq_wait *w = mem_zalloc(sizeof(*w), iq_wait_destructor);
	const char *to = xmpp_stanza_get_to(st);

	if (!w)
		return ENOMEM;
	w->xl = xl;
	w->txid = txid;
	w->id = mem_strdup(xmpp_stanza_get_id(st));
	w->to = mem_strdup(to ? to : "");
	if (!w->id || !w->to) {
		mem_deref(w);
		return ENOMEM;
	}
	list_append(&xl->iq_out, &w->le, w);
	tmr_start(xl->loop, &w->tmr, (uint64_t)xl->iq_timeout * 1000,
		  on_iq_timeout, w);
	return 0;
}

/* The client's attrib values, copied whole (no silent truncation). */
struct attrs {
	char *v[4];   /* to, id, type, xml:lang */
};

static void attrs_reset(struct attrs *at)
{
	for (int i = 0; i < 4; i++)
		at->v[i] = mem_deref(at->v[i]);
}

/* STANZA_OK, or why the attrib object cannot be used. */
static enum stanza_err attrs_read(struct attrs *at, const AMFObjectProperty *o, size_t max)
{
	static const char *const keys[] = {"to", "id", "type", "xml:lang"};

	memset(at, 0, sizeof(*at));
	for (int i = 0; i < 4; i++) {
		const AMFObjectProperty *p = amf_get(o, keys[i]);
		size_t n;

		if (!p || p->p_type == AMF_NULL || p->p_type == AMF_UNDEFINED)
			continue;
		if (p->p_type != AMF_STRING)
			return STANZA_BAD_ATTR;
		n = (size_t)p->p_vu.p_aval.av_len;
		if (n > max)
			return STANZA_TOO_LARGE;
		if (n && memchr(p->p_vu.p_aval.av_val, 0, n))
			return STANZA_BAD_ATTR;
		at->v[i] = mem_strndup(n ? p->p_vu.p_aval.av_val : "", n);
		if (!at->v[i])
			return STANZA_NOMEM;
	}
	return STANZA_OK;
}

static bool is_request(const char *kind, const char *type)
{
	return kind[0] == 'i' && type && (!strcmp(type, "get") || !strcmp(type, "set"));
}

/* Check, build and send one client stanza. */
static void send_stanza(struct rtmp_conn *c, struct xlink *xl, const char *kind,
			const struct attrs *av, const char *ibody, size_t ilen, double txid)
{
	struct stanza_attrs at = {av->v[0], av->v[1], av->v[2], av->v[3]};
	bool request = is_request(kind, at.type);
	xmpp_stanza_t *st = NULL;
	char idbuf[32];
	enum stanza_err e;

	if (request && txid && !at.id)
		at.id = xsess_next_id(xl->s, idbuf, sizeof(idbuf));
	e = stanza_build(xsess_ctx(xl->s), kind, &at, ibody, ilen, c->srv->cfg->max_stanza,
			 xsess_jid(xl->s), &st);
	if (e != STANZA_OK) {
		refuse(c, txid, err_codes[e], err_desc[e]);
		return;
	}
	if (kind[0] == 'p' && !at.type)
		xauto_add_caps(xl->s, st);
	if (kind[0] == 'i' && !request && at.id)
		xauto_answered(xl, at.to, at.id);
	if (xsess_send(xl->s, st) == 0 && txid) {
		if (request)
			wait_answer(xl, st, txid);
		else
			reply_num(c, txid, 1.0);
	}
	xmpp_stanza_release(st);
}

int xrpc_send(struct rtmp_conn *c, const struct rtmp_msg *m, struct rtmp_cmd *cmd)
{
	struct xlink *xl = c->xl;
	const AMFObjectProperty *inner = cmd->nvals >= 4 ? &cmd->val[3] : NULL;
	const char *ibody = "";
	size_t ilen = 0;
	struct attrs av;
	enum stanza_err e;
	char kind[16];

	(void)m;
	if (!xl || !xsess_is_up(xl->s)) {
		refuse(c, cmd->txid, "XMPP.NotConnected", "Call xmpp_connect first.");
		return 0;
	}
	if (cmd->nvals < 2 || !amf_str(&cmd->val[1], NULL, kind, sizeof(kind)) ||
	    !stanza_kind_ok(kind)) {
		refuse(c, cmd->txid, "XMPP.Stanza.BadType", "type must be message, presence or iq.");
		return 0;
	}
	if (inner && inner->p_type != AMF_STRING && inner->p_type != AMF_NULL &&
	    inner->p_type != AMF_LONG_STRING) {
		refuse(c, cmd->txid, "XMPP.Stanza.Invalid", "innerxml must be a string.");
		return 0;
	}
	if (inner && inner->p_type != AMF_NULL && inner->p_vu.p_aval.av_len > 0) {
		ibody = inner->p_vu.p_aval.av_val;
		ilen = (size_t)inner->p_vu.p_aval.av_len;
	}
	e = attrs_read(&av, cmd->nvals >= 3 ? &cmd->val[2] : NULL, c->srv->cfg->max_stanza);
	if (e == STANZA_OK)
		send_stanza(c, xl, kind, &av, ibody, ilen, cmd->txid);
	else
		refuse(c, cmd->txid, err_codes[e], err_desc[e]);
	attrs_reset(&av);
	return 0;
}

void xrpc_shutdown(struct rtmp_conn *c)
{
	if (!c->xl)
		return;
	if (!c->xl->client_left)
		invoke_disconnected(c, "server-shutdown");
	xrpc_detach(c, "server-shutdown");
}
