/* The echo account: an XMPP account the gateway logs in to itself, which
 * answers every voice call and sends the caller's audio back.
 *
 * The RTMP echo stream (echo.c) checks a user's microphone and the media
 * engine; this checks a whole call, from any Jingle client (Dino, Gajim,
 * Conversations, StanzaJS) or from an RTMP user who publishes and plays
 * the echo account's JID: XMPP, Jingle or XEP-0353 ringing, ICE,
 * DTLS-SRTP, and Speex both ways.  It is what the quick start's demo
 * prosody gives newcomers to call.
 *
 * Audio comes back unchanged: each RTMP message the call delivers (the
 * caller's Speex frames, after the jitter buffer) is sent straight back on
 * the same call, so the caller hears itself after one round trip.
 *
 * Besides calls it answers ping and disco#info (with our caps), accepts
 * presence subscriptions (so that it can be put on a roster and rung by
 * bare JID), and answers chat messages with a line saying what it is.
 * When the session drops it logs in again after 2, 4, ... 60 s.
 *
 * One process runs it: the single process, or worker 1. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "jcall.h"
#include "log.h"
#include "mem.h"
#include "rtmp.h"
#include "stanza.h"
#include "xlink.h"
#include "xsess.h"

#define RETRY_MIN_S 2
#define RETRY_MAX_S 60
#define HELP "This is the rtmp2xmpp echo test. Call me (voice): you will hear yourself."

struct echobot {
	struct server *srv;
	struct xsess *s;
	struct jcall_mgr *calls;
	struct tmr retry;
	unsigned retry_s;
	char user[256], domain[256], resource[64];
	char host[256];
	uint16_t port;
};

static void start(struct echobot *b);

static void on_incoming(struct jcall *c, const char *from, void *arg)
{
	(void)arg;
	LOGI("echo account: call %s from %s: answering", jcall_sid(c), from);
	jcall_answer(c);
}

static void on_state(struct jcall *c, enum jcall_state st, enum jingle_reason reason, void *arg)
{
	(void)arg;
	if (st == JCALL_ENDED)
		LOGI("echo account: call %s ended (%s)", jcall_sid(c), jingle_reason_name(reason));
}

static void on_audio(struct jcall *c, uint32_t ts, const uint8_t *body, size_t len, void *arg)
{
	(void)arg;
	jcall_send_audio(c, ts, body, len);
}

static const struct jcall_handlers handlers = {
	.incoming = on_incoming,
	.state = on_state,
	.audio = on_audio,
};

static void send_presence(struct echobot *b, const char *to, const char *type)
{
	xmpp_stanza_t *p = xmpp_presence_new(xsess_ctx(b->s));

	if (!p)
		return;
	if (to)
		xmpp_stanza_set_to(p, to);
	if (type)
		xmpp_stanza_set_type(p, type);
	else
		xauto_add_caps(b->s, p);
	xsess_send(b->s, p);
	xmpp_stanza_release(p);
}

static void on_up(struct xsess *s, const char *jid, void *arg)
{
	struct echobot *b = arg;
	const struct rx_config *cfg = b->srv->cfg;
	struct jcall_config jc = {
		.answer_timeout_s = cfg->answer_timeout,
		.max_calls = cfg->max_calls,
		.allow_plain = cfg->allow_plain_rtp,
		.flv_tag = 0xB6,
	};

	(void)s;
	b->retry_s = 0;
	if (!b->calls && jcall_mgr_alloc(&b->calls, b->srv->loop, b->s, b->srv->eng, &jc,
					 &handlers, b)) {
		LOGW("echo account: no memory for calls");
		return;
	}
	send_presence(b, NULL, NULL);
	LOGI("echo account %s: answering calls", jid);
}

/* Chat messages get one line back; never an answer to an error, a
 * headline, a groupchat message or a message without a body, so that two
 * bots cannot talk forever. */
static void answer_message(struct echobot *b, xmpp_stanza_t *st)
{
	const char *type = xmpp_stanza_get_type(st), *from = xmpp_stanza_get_from(st);
	xmpp_stanza_t *m;

	if (!from || !xmpp_stanza_get_child_by_name(st, "body") ||
	    (type && strcmp(type, "chat") && strcmp(type, "normal")))
		return;
	m = xmpp_message_new(xsess_ctx(b->s), type ? type : "chat", from, NULL);
	if (!m)
		return;
	xmpp_message_set_body(m, HELP);
	xsess_send(b->s, m);
	xmpp_stanza_release(m);
}

static void on_stanza(struct xsess *s, xmpp_stanza_t *st, void *arg)
{
	struct echobot *b = arg;
	const char *name = xmpp_stanza_get_name(st), *type = xmpp_stanza_get_type(st);
	const char *from = xmpp_stanza_get_from(st);

	if (b->calls && jcall_mgr_handle(b->calls, st))
		return;
	if (!strcmp(name, "iq")) {
		xmpp_stanza_t *e;
		if (!type || (strcmp(type, "get") && strcmp(type, "set")) || xauto_handle_iq(s, st))
			return;
		e = xauto_error_iq(s, from, xmpp_stanza_get_id(st), "cancel", "service-unavailable");
		if (e) {
			xsess_send(s, e);
			xmpp_stanza_release(e);
		}
	} else if (!strcmp(name, "presence")) {
		/* Anyone may put the echo test on their roster. */
		if (from && type && !strcmp(type, "subscribe")) {
			send_presence(b, from, "subscribed");
			send_presence(b, from, "subscribe");
		}
	} else if (!strcmp(name, "message")) {
		answer_message(b, st);
	}
}

static void on_retry(void *arg)
{
	start(arg);
}

static void on_down(struct xsess *s, const char *reason, void *arg)
{
	struct echobot *b = arg;

	(void)s;
	if (b->calls) {
		jcall_mgr_hangup_all(b->calls, JR_CONNECTIVITY_ERROR);
		b->calls = mem_deref(b->calls);
	}
	b->s = mem_deref(b->s);
	b->retry_s = b->retry_s ? b->retry_s * 2 : RETRY_MIN_S;
	if (b->retry_s > RETRY_MAX_S)
		b->retry_s = RETRY_MAX_S;
	LOGW("echo account %s@%s: session down (%s); logging in again in %u s", b->user,
	     b->domain, reason, b->retry_s);
	tmr_start(b->srv->loop, &b->retry, b->retry_s * 1000ULL, on_retry, b);
}

static void start(struct echobot *b)
{
	const struct rx_config *cfg = b->srv->cfg;
	struct xsess_params p = {
		.username = b->user, .domain = b->domain, .password = cfg->echo_password,
		.resource = b->resource, .host = b->host[0] ? b->host : NULL, .port = b->port,
		.cafile = cfg->xmpp_cafile[0] ? cfg->xmpp_cafile : NULL,
		.insecure = cfg->xmpp_insecure,
		.ping_interval = cfg->xmpp_ping_interval, .ping_timeout = cfg->xmpp_ping_timeout,
	};
	int err = xsess_alloc(&b->s, b->srv->loop, &p, on_up, on_stanza, on_down, b);

	if (err) {
		LOGW("echo account: cannot start a session: %s", strerror(err));
		b->retry_s = RETRY_MAX_S;
		tmr_start(b->srv->loop, &b->retry, b->retry_s * 1000ULL, on_retry, b);
	}
}

static void bot_destructor(void *arg)
{
	struct echobot *b = arg;

	tmr_cancel(b->srv->loop, &b->retry);
	if (b->calls) {
		jcall_mgr_hangup_all(b->calls, JR_SUCCESS);
		mem_deref(b->calls);
	}
	mem_deref(b->s);
}

/* "user@domain[/resource]" and "host[:port]" (IPv6 in brackets). */
static int parse(struct echobot *b, const char *jid, const char *server)
{
	const char *at = strchr(jid, '@'), *slash = strchr(jid, '/');
	size_t ulen, dlen;

	if (!at || at == jid || (slash && slash < at))
		return EINVAL;
	ulen = (size_t)(at - jid);
	dlen = slash ? (size_t)(slash - at - 1) : strlen(at + 1);
	if (!dlen || ulen >= sizeof(b->user) || dlen >= sizeof(b->domain))
		return EINVAL;
	snprintf(b->user, sizeof(b->user), "%.*s", (int)ulen, jid);
	snprintf(b->domain, sizeof(b->domain), "%.*s", (int)dlen, at + 1);
	snprintf(b->resource, sizeof(b->resource), "%s", slash && slash[1] ? slash + 1 : "echo");
	if (server && *server) {
		const char *colon = strrchr(server, ':');
		bool v6 = server[0] == '[';
		size_t hlen = colon && (!v6 || colon[-1] == ']') ? (size_t)(colon - server) :
			      strlen(server);
		if (v6 && hlen >= 2 && server[hlen - 1] == ']')
			snprintf(b->host, sizeof(b->host), "%.*s", (int)(hlen - 2), server + 1);
		else
			snprintf(b->host, sizeof(b->host), "%.*s", (int)hlen, server);
		b->port = hlen < strlen(server) ? (uint16_t)atoi(server + hlen + 1) : 0;
	}
	return 0;
}

int echobot_alloc(struct echobot **bp, struct server *srv)
{
	const struct rx_config *cfg = srv->cfg;
	struct echobot *b;

	if (!srv->eng)
		return ENOTSUP;
	b = mem_zalloc(sizeof(*b), bot_destructor);
	if (!b)
		return ENOMEM;
	b->srv = srv;
	tmr_init(&b->retry);
	if (parse(b, cfg->echo_account, cfg->echo_server)) {
		LOGE("echo account: '%s' is not a JID (user@domain[/resource])", cfg->echo_account);
		mem_deref(b);
		return EINVAL;
	}
	/* the account's name is not secret; its password never reaches a log */
	LOGI("echo account: logging in as %s@%s", b->user, b->domain);
	start(b);
	*bp = b;
	return 0;
}
