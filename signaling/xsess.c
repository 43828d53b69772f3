/* One XMPP client session on libstrophe, driven by our event loop. */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include "log.h"
#include "mem.h"
#include "resolve.h"
#include "xsess.h"

#define PUMP_ROUNDS 5   /* run_once reads 4 KiB at most; a TLS record holds 16 */
#define RESUME_TRIES 5  /* XEP-0198: reconnect attempts after 0.2, 1, 2, 4, 8 s */
#define HELD_MAX 256    /* stanzas the client sends while we resume */

struct xsess {
	struct loop *loop;
	xmpp_ctx_t *ctx;
	xmpp_conn_t *conn;
	xmpp_log_t log;
	struct resolve *res;
	int fd;
	int watching;            /* loop flags we asked for, -1: not watched */
	struct tmr tick;         /* 1 s: libstrophe's timed handlers */
	struct tmr kick;         /* 0 ms: flush after a send */
	struct tmr ping;
	struct tmr down;         /* 0 ms: report an end that happened outside libstrophe */
	char *jid;
	char *domain;
	uint32_t ping_interval, ping_timeout;
	bool ping_pending;
	xmpp_stanza_t *pong;     /* the answer to our ping, while it is handled */
	bool up, tcp_up, secured, sasl_failed, auth_exhausted, cert_failed, ended, closing;
	bool resuming, resumed;  /* XEP-0198: reconnecting after a drop; it worked */
	bool sm_resumable;       /* the server enabled stream management with resume */
	int tries;
	struct tmr retry;
	char ip[64];
	uint16_t port;
	struct held {              /* stanzas not yet given to libstrophe */
		char *text;
		size_t len;
	} held[HELD_MAX];
	int nheld;
	const char *reason;      /* set when we decide why before libstrophe reports */
	uint64_t next_id;
	xsess_up_h *uph;
	xsess_stanza_h *sth;
	xsess_down_h *downh;
	void *arg;
};

static void pump(struct xsess *s);

void xsess_global_init(void)
{
	xmpp_initialize();
}

static void xsess_destructor(void *arg)
{
	struct xsess *s = arg;

	resolve_cancel(s->res);
	tmr_cancel(s->loop, &s->tick);
	tmr_cancel(s->loop, &s->kick);
	tmr_cancel(s->loop, &s->ping);
	tmr_cancel(s->loop, &s->down);
	tmr_cancel(s->loop, &s->retry);
	for (int i = 0; i < s->nheld; i++)
		xmpp_free(s->ctx, s->held[i].text);
	if (s->watching >= 0)
		loop_fd_close(s->loop, s->fd);
	if (s->conn)
		xmpp_conn_release(s->conn);   /* closes the socket if still open */
	if (s->ctx)
		xmpp_ctx_free(s->ctx);
	mem_deref(s->jid);
	mem_deref(s->domain);
}

/* libstrophe's log: nothing is printed below warn (debug lines carry the
 * SASL exchange), but two lines tell us why authentication ended. */
static void on_log(void *arg, xmpp_log_level_t level, const char *area, const char *msg)
{
	struct xsess *s = arg;

	if (!strncmp(msg, "SASL ", 5) && strstr(msg, "auth failed"))
		s->sasl_failed = true;
	else if (!strcmp(msg, "Session resumed successfully."))
		s->resumed = true;
	else if (!strncmp(msg, "RECV: <enabled", 14) && strstr(msg, "resume="))
		s->sm_resumable = true;   /* XEP-0198 on, with resumption */
	else if (!strcmp(area, "auth") && strstr(msg, "Cannot authenticate"))
		s->auth_exhausted = true;
	if (level >= XMPP_LEVEL_WARN)
		LOGD("xmpp %s: %s: %s", s->domain, area, msg);
}

/* The session whose libstrophe call is running: the sockopt and certfail
 * callbacks carry no user data, and they only run inside calls we make. */
static struct xsess *inside;

static int on_sockopt(xmpp_conn_t *conn, void *sock)
{
	struct xsess *s = inside;

	(void)conn;
	if (!s)
		return 0;
	if (s->watching >= 0)
		loop_fd_close(s->loop, s->fd);
	s->fd = *(int *)sock;
	s->watching = -1;
	return 0;
}

static int on_certfail(const xmpp_tlscert_t *cert, const char *const errormsg)
{
	(void)cert;
	if (inside) {
		inside->cert_failed = true;
		LOGW("xmpp %s: server certificate refused: %s", inside->domain, errormsg);
	}
	return 0;
}

static void on_io(int fd, int flags, void *arg)
{
	(void)fd;
	(void)flags;
	pump(arg);
}

static void update_watch(struct xsess *s)
{
	int want;

	if (s->fd < 0 || !s->conn || xmpp_conn_is_disconnected(s->conn)) {
		if (s->watching >= 0)
			loop_fd_close(s->loop, s->fd);
		s->watching = -1;
		return;
	}
	want = LOOP_READ;
	if (xmpp_conn_is_connecting(s->conn) || xmpp_conn_send_queue_len(s->conn) > 0)
		want |= LOOP_WRITE;
	if (want == s->watching)
		return;
	if (loop_fd_listen(s->loop, s->fd, want, on_io, s) == 0)
		s->watching = want;
}

/* Give the client's stanzas to libstrophe only after a read pass: if the
 * link died, libstrophe notices on reading and we keep them for the
 * resumed stream, while a stanza it has already tried to write on a dead
 * socket would be lost (it frees its send queue on reconnecting). */
static void flush_held(struct xsess *s)
{
	for (int i = 0; i < s->nheld; i++) {
		xmpp_send_raw(s->conn, s->held[i].text, s->held[i].len);
		xmpp_free(s->ctx, s->held[i].text);
	}
	s->nheld = 0;
	xmpp_run_once(s->ctx, 0);
}

static void pump(struct xsess *s)
{
	struct xsess *outer = inside;

	if (!s->conn || s->ended)
		return;
	mem_ref(s);
	inside = s;
	for (int i = 0; i < PUMP_ROUNDS && !s->ended; i++) {
		bool was_connecting = xmpp_conn_is_connecting(s->conn);
		xmpp_run_once(s->ctx, 0);
		if (s->ended)
			break;
		if (was_connecting && !xmpp_conn_is_connecting(s->conn) &&
		    !xmpp_conn_is_disconnected(s->conn))
			s->tcp_up = true;
		if (xmpp_conn_is_secured(s->conn))
			s->secured = true;
	}
	if (s->up && !s->ended && s->nheld)
		flush_held(s);
	inside = outer;
	if (!s->ended)
		update_watch(s);
	mem_deref(s);
}

static void on_tick(void *arg)
{
	struct xsess *s = arg;

	tmr_start(s->loop, &s->tick, 1000, on_tick, s);
	pump(s);
}

static void on_kick(void *arg)
{
	pump(arg);
}

static void kick(struct xsess *s)
{
	if (!tmr_isrunning(&s->kick))
		tmr_start(s->loop, &s->kick, 0, on_kick, s);
}

static void end(struct xsess *s, const char *reason)
{
	if (s->ended)
		return;
	s->ended = true;
	s->up = false;
	tmr_cancel(s->loop, &s->tick);
	tmr_cancel(s->loop, &s->ping);
	tmr_cancel(s->loop, &s->kick);
	tmr_cancel(s->loop, &s->retry);
	s->resuming = false;
	if (s->watching >= 0)
		loop_fd_close(s->loop, s->fd);
	s->watching = -1;
	s->fd = -1;
	LOGI("xmpp %s: session ended: %s", s->jid ? s->jid : s->domain, reason);
	if (s->downh)
		s->downh(s, reason, s->arg);
}

static void on_down_tmr(void *arg)
{
	struct xsess *s = arg;
	end(s, s->reason ? s->reason : "connection-lost");
}

static const char *why_down(struct xsess *s, int error, xmpp_stream_error_t *se)
{
	if (s->reason)
		return s->reason;
	if (se)
		return xsess_stream_error_reason(se->type);
	if (s->up)
		return "connection-lost";
	if (s->cert_failed)
		return "tls-failed";
	if (s->auth_exhausted)
		return s->sasl_failed ? "auth-failed" : "auth-unimplemented";
	if (!s->tcp_up || error == ECONNREFUSED || error == ETIMEDOUT ||
	    error == EHOSTUNREACH || error == ENETUNREACH)
		return "socket-not-connected";
	if (!s->secured)
		return "tls-failed";
	return "auth-failed";
}

static int on_pong(xmpp_conn_t *conn, xmpp_stanza_t *st, void *arg)
{
	struct xsess *s = arg;

	(void)conn;
	s->ping_pending = false;
	s->pong = st;   /* ours: on_stanza does not pass it on */
	return 0;
}

static void on_ping(void *arg)
{
	struct xsess *s = arg;
	xmpp_stanza_t *iq, *ping;
	char id[32];

	if (!s->up)
		return;
	if (s->ping_pending) {
		LOGI("xmpp %s: no answer to our ping in %u s", s->jid, s->ping_timeout);
		s->reason = "connection-lost";
		xmpp_disconnect(s->conn);
		kick(s);
		return;
	}
	xsess_next_id(s, id, sizeof(id));
	iq = xmpp_iq_new(s->ctx, "get", id);
	ping = xmpp_stanza_new(s->ctx);
	if (iq && ping) {
		xmpp_stanza_set_name(ping, "ping");
		xmpp_stanza_set_ns(ping, "urn:xmpp:ping");
		xmpp_stanza_add_child(iq, ping);
		xmpp_stanza_set_to(iq, s->domain);
		xmpp_id_handler_add(s->conn, on_pong, id, s);
		xmpp_send(s->conn, iq);
		s->ping_pending = true;
		kick(s);
	}
	if (ping)
		xmpp_stanza_release(ping);
	if (iq)
		xmpp_stanza_release(iq);
	tmr_start(s->loop, &s->ping,
		  (uint64_t)(s->ping_pending ? s->ping_timeout : s->ping_interval) * 1000, on_ping, s);
}

/* Reschedule the next ping after the answer (or set up the first one). */
static void arm_ping(struct xsess *s)
{
	if (s->ping_interval)
		tmr_start(s->loop, &s->ping, (uint64_t)s->ping_interval * 1000, on_ping, s);
}

static int on_stanza(xmpp_conn_t *conn, xmpp_stanza_t *st, void *arg)
{
	struct xsess *s = arg;
	const char *name = xmpp_stanza_get_name(st);
	const char *ns = xmpp_stanza_get_ns(st);

	(void)conn;
	if (!s->up || !name || (ns && strcmp(ns, "jabber:client")))
		return 1;
	/* libstrophe's own requests (bind, session) use ids "_xmpp_..." */
	if (!strncmp(name, "iq", 2) && xmpp_stanza_get_id(st) &&
	    !strncmp(xmpp_stanza_get_id(st), "_xmpp_", 6))
		return 1;
	if (strcmp(name, "message") && strcmp(name, "presence") && strcmp(name, "iq"))
		return 1;
	if (st == s->pong) {
		s->pong = NULL;
		return 1;
	}
	if (!s->ping_pending && tmr_isrunning(&s->ping))
		arm_ping(s);   /* traffic proves the link: push the next ping back */
	if (s->sth && !s->ended)
		s->sth(s, st, s->arg);
	return 1;
}

static void connect_to(struct xsess *s);

static void on_retry(void *arg)
{
	connect_to(arg);
}

/* The link dropped: try to resume the stream (XEP-0198) before telling
 * anybody.  Only a server that offered resumption gets this chance. */
static bool try_resume(struct xsess *s)
{
	static const unsigned delay_ms[RESUME_TRIES] = {200, 1000, 2000, 4000, 8000};

	if (s->closing || s->tries >= RESUME_TRIES || (!s->up && !s->resuming))
		return false;
	if (!s->resuming) {
		if (!s->sm_resumable)
			return false;
		LOGI("xmpp %s: link lost; resuming the stream", s->jid);
		s->resuming = true;
		s->up = false;
		tmr_cancel(s->loop, &s->ping);
	}
	s->resumed = false;
	s->tcp_up = false;
	if (s->watching >= 0)
		loop_fd_close(s->loop, s->fd);
	s->watching = -1;
	s->fd = -1;
	tmr_start(s->loop, &s->retry, delay_ms[s->tries++], on_retry, s);
	return true;
}


static void on_conn(xmpp_conn_t *conn, xmpp_conn_event_t ev, int error,
		    xmpp_stream_error_t *se, void *arg)
{
	struct xsess *s = arg;

	if (ev == XMPP_CONN_CONNECT && s->resuming) {
		s->resuming = false;
		s->tries = 0;
		if (!s->resumed) {
			/* a new session: the server forgot our presence and queue */
			s->reason = "connection-lost";
			xmpp_disconnect(conn);
			kick(s);
			return;
		}
		LOGI("xmpp %s: stream resumed", s->jid);
		s->up = true;
		arm_ping(s);
		kick(s);   /* pump() hands over what the client sent meanwhile */
		return;
	}
	if (ev == XMPP_CONN_CONNECT) {
		const char *jid = xmpp_conn_get_bound_jid(conn);
		mem_deref(s->jid);
		s->jid = mem_strdup(jid ? jid : "");
		s->up = true;
		arm_ping(s);
		LOGI("xmpp %s: session up (%s)", s->jid, s->secured ? "TLS" : "no TLS");
		if (s->uph)
			s->uph(s, s->jid, s->arg);
		return;
	}
	if (ev != XMPP_CONN_DISCONNECT && ev != XMPP_CONN_FAIL)
		return;
	/* a refused reconnect means the server is gone, not the link */
	if (!se && !s->reason && (!s->resuming || s->tcp_up) && try_resume(s))
		return;
	end(s, s->resuming ? "connection-lost" : why_down(s, error, se));
}

static void connect_to(struct xsess *s)
{
	struct xsess *outer = inside;
	int ret;

	LOGD("xmpp %s: connecting to %s port %u", s->domain, s->ip, s->port);
	inside = s;
	ret = xmpp_connect_client(s->conn, s->ip, s->port, on_conn, s);
	inside = outer;
	if (ret != XMPP_EOK) {
		if (!try_resume(s))
			end(s, "socket-not-connected");
		return;
	}
	if (!tmr_isrunning(&s->tick))
		tmr_start(s->loop, &s->tick, 1000, on_tick, s);
	pump(s);
}

static void on_resolved(int err, const char *ip, uint16_t port, void *arg)
{
	struct xsess *s = arg;

	s->res = mem_deref(s->res);
	if (err) {
		LOGI("xmpp %s: cannot resolve the server", s->domain);
		end(s, "socket-not-connected");
		return;
	}
	snprintf(s->ip, sizeof(s->ip), "%s", ip);
	s->port = port;
	connect_to(s);
}

int xsess_alloc(struct xsess **sp, struct loop *loop, const struct xsess_params *p,
		xsess_up_h *uph, xsess_stanza_h *sth, xsess_down_h *downh, void *arg)
{
	struct xsess *s;
	char jid[3 * 1024 + 3];
	long flags = XMPP_CONN_FLAG_MANDATORY_TLS;
	int err;

	if (!p->username || !p->domain || !p->password || !*p->username || !*p->domain)
		return EINVAL;
	s = mem_zalloc(sizeof(*s), xsess_destructor);
	if (!s)
		return ENOMEM;
	s->loop = loop;
	s->fd = -1;
	s->watching = -1;
	s->uph = uph;
	s->sth = sth;
	s->downh = downh;
	s->arg = arg;
	s->ping_interval = p->ping_interval;
	s->ping_timeout = p->ping_timeout ? p->ping_timeout : 10;
	s->log.handler = on_log;
	s->log.userdata = s;
	s->domain = mem_strdup(p->domain);
	s->ctx = xmpp_ctx_new(NULL, &s->log);
	s->conn = s->ctx ? xmpp_conn_new(s->ctx) : NULL;
	if (!s->domain || !s->conn) {
		mem_deref(s);
		return ENOMEM;
	}
	snprintf(jid, sizeof(jid), "%.1023s@%.1023s%s%.1023s", p->username, p->domain,
		 p->resource && *p->resource ? "/" : "", p->resource ? p->resource : "");
	xmpp_conn_set_jid(s->conn, jid);
	xmpp_conn_set_pass(s->conn, p->password);
	if (p->insecure) {
		flags |= XMPP_CONN_FLAG_TRUST_TLS;
		LOGW("xmpp %s: NOT verifying the server's certificate (insecure mode)", p->domain);
	}
	xmpp_conn_set_flags(s->conn, flags);
	if (p->cafile)
		xmpp_conn_set_cafile(s->conn, p->cafile);
	xmpp_conn_set_certfail_handler(s->conn, on_certfail);
	xmpp_conn_set_sockopt_callback(s->conn, on_sockopt);
	xmpp_handler_add(s->conn, on_stanza, NULL, NULL, NULL, s);
	err = resolve_start(&s->res, loop, p->domain, p->host, p->port, on_resolved, s);
	if (err) {
		mem_deref(s);
		return err;
	}
	*sp = s;
	return 0;
}

int xsess_send(struct xsess *s, xmpp_stanza_t *st)
{
	struct held *h;

	if (s->ended || (!s->up && !s->resuming))
		return ENOTCONN;
	if (s->nheld == HELD_MAX)
		return ENOBUFS;
	h = &s->held[s->nheld];
	if (xmpp_stanza_to_text(st, &h->text, &h->len) != XMPP_EOK)
		return ENOMEM;
	s->nheld++;
	kick(s);
	return 0;
}

void xsess_close(struct xsess *s, const char *reason)
{
	if (s->ended || s->closing)
		return;
	s->closing = true;
	s->reason = reason;
	if (s->res || (!xmpp_conn_is_connecting(s->conn) && !xmpp_conn_is_connected(s->conn))) {
		/* still resolving, or never got a socket */
		resolve_cancel(s->res);
		s->res = NULL;
		tmr_start(s->loop, &s->down, 0, on_down_tmr, s);
		return;
	}
	/* What the client (or the call layer: a session-terminate when the
	 * RTMP side hangs up and leaves at once) sent last goes out before
	 * the stream's end, not with the session. */
	if (s->up && s->nheld)
		flush_held(s);
	xmpp_disconnect(s->conn);
	kick(s);
}

xmpp_ctx_t *xsess_ctx(struct xsess *s)
{
	return s->ctx;
}

const char *xsess_jid(const struct xsess *s)
{
	return s->up || s->resuming ? s->jid : NULL;
}

bool xsess_is_up(const struct xsess *s)
{
	return (s->up || s->resuming) && !s->ended;
}

const char *xsess_next_id(struct xsess *s, char *buf, size_t size)
{
	snprintf(buf, size, "rx%llx", (unsigned long long)++s->next_id);
	return buf;
}

const char *xsess_stream_error_reason(xmpp_error_type_t t)
{
	static const char *const names[] = {
		[XMPP_SE_BAD_FORMAT] = "bad-format",
		[XMPP_SE_BAD_NS_PREFIX] = "bad-namespace-prefix",
		[XMPP_SE_CONFLICT] = "conflict",
		[XMPP_SE_CONN_TIMEOUT] = "connection-timeout",
		[XMPP_SE_HOST_GONE] = "host-gone",
		[XMPP_SE_HOST_UNKNOWN] = "host-unknown",
		[XMPP_SE_IMPROPER_ADDR] = "improper-addressing",
		[XMPP_SE_INTERNAL_SERVER_ERROR] = "internal-server-error",
		[XMPP_SE_INVALID_FROM] = "invalid-from",
		[XMPP_SE_INVALID_ID] = "invalid-id",
		[XMPP_SE_INVALID_NS] = "invalid-namespace",
		[XMPP_SE_INVALID_XML] = "invalid-xml",
		[XMPP_SE_NOT_AUTHORIZED] = "not-authorized",
		[XMPP_SE_POLICY_VIOLATION] = "policy-violation",
		[XMPP_SE_REMOTE_CONN_FAILED] = "remote-connection-failed",
		[XMPP_SE_RESOURCE_CONSTRAINT] = "resource-constraint",
		[XMPP_SE_RESTRICTED_XML] = "restricted-xml",
		[XMPP_SE_SEE_OTHER_HOST] = "see-other-host",
		[XMPP_SE_SYSTEM_SHUTDOWN] = "system-shutdown",
		[XMPP_SE_UNDEFINED_CONDITION] = "undefined-condition",
		[XMPP_SE_UNSUPPORTED_ENCODING] = "unsupported-encoding",
		[XMPP_SE_UNSUPPORTED_STANZA_TYPE] = "unsupported-stanza-type",
		[XMPP_SE_UNSUPPORTED_VERSION] = "unsupported-version",
		[XMPP_SE_XML_NOT_WELL_FORMED] = "xml-not-well-formed",
	};
	static char buf[64];
	const char *n = (unsigned)t < sizeof(names) / sizeof(names[0]) && names[t] ? names[t]
										: "undefined-condition";
	snprintf(buf, sizeof(buf), "stream-error:%s", n);
	return buf;
}
