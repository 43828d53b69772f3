/* One NiceAgent per call: RFC 5245/8445 full mode, one stream with one or
 * two components, consent freshness (RFC 7675) on, UPnP off (idle agents
 * with UPnP leak fds), trickle on.  Traffic and events are in ice_event.c. */
#include <errno.h>
#include <string.h>
#include "ice_int.h"
#include "log.h"
#include "mem.h"

#define STUN_PORT 3478

static void agent_destroy(void *arg)
{
	struct ice_agent *a = arg;

	if (a->nice) {
		g_signal_handlers_disconnect_by_data(a->nice, a);
		if (ice_attached(a) && a->sid)
			ice_agent_attach(a, false);
		for (unsigned i = 0; i < a->ncomp; i++)
			ice_comp_release_all(&a->comp[i]);
		ice_ctx_close_nice(a->ctx, a->nice, a->sid, a->ncomp, a->turn);
	}
	for (unsigned i = 0; i < a->ncomp; i++)
		if (a->comp[i].fds != a->comp[i].fd0)
			mem_deref(a->comp[i].fds);
	mem_deref(a->pend);
	mem_deref(a->ctx);
}

/* "127.0.0.1,::1": gather on these addresses only. */
static int add_local_addrs(NiceAgent *nice, const char *list)
{
	char tok[ICE_IP_SIZE];

	while (list && *list) {
		size_t n = strcspn(list, ", ");
		if (n >= sizeof(tok))
			return -EINVAL;
		if (n) {
			NiceAddress addr;
			memcpy(tok, list, n);
			tok[n] = 0;
			nice_address_init(&addr);
			if (!nice_address_set_from_string(&addr, tok) ||
			    !nice_agent_add_local_address(nice, &addr))
				return -EINVAL;
		}
		list += n;
		list += strspn(list, ", ");
	}
	return 0;
}

static bool server_str_ok(const char *s)
{
	return !s || strnlen(s, ICE_SERVER_STR_SIZE) < ICE_SERVER_STR_SIZE;
}

bool ice_servers_ok(const struct ice_servers *s)
{
	return !s || (server_str_ok(s->stun_host) && server_str_ok(s->turn_host) &&
		      server_str_ok(s->turn_user) && server_str_ok(s->turn_pass) &&
		      (!s->stun_host || *s->stun_host) && (!s->turn_host || *s->turn_host));
}

static const char *copy_str(char *dst, const char *src)
{
	if (!src)
		return NULL;
	strcpy(dst, src);    /* ice_servers_ok() checked the length */
	return dst;
}

const struct ice_servers *ice_servers_copy(struct ice_servers_copy *dst,
					   const struct ice_servers *src)
{
	if (!src || (!src->stun_host && !src->turn_host))
		return NULL;
	dst->s = (struct ice_servers){
		.stun_host = copy_str(dst->stun, src->stun_host),
		.stun_port = src->stun_port,
		.turn_host = copy_str(dst->turn, src->turn_host),
		.turn_port = src->turn_port,
		.turn_user = copy_str(dst->user, src->turn_user),
		.turn_pass = copy_str(dst->pass, src->turn_pass),
		.turn_tcp = src->turn_tcp,
	};
	return &dst->s;
}

/* The agent's servers: the ctx's, kind by kind replaced by srv's. */
static void servers_of(struct ice_servers *out, const struct ice_config *cfg,
		       const struct ice_servers *srv)
{
	*out = (struct ice_servers){
		.stun_host = cfg->stun_host,
		.stun_port = cfg->stun_port,
		.turn_host = cfg->turn_host,
		.turn_port = cfg->turn_port,
		.turn_user = cfg->turn_user,
		.turn_pass = cfg->turn_pass,
		.turn_tcp = cfg->turn_tcp,
	};
	if (srv && srv->stun_host) {
		out->stun_host = srv->stun_host;
		out->stun_port = srv->stun_port;
	}
	if (srv && srv->turn_host) {
		out->turn_host = srv->turn_host;
		out->turn_port = srv->turn_port;
		out->turn_user = srv->turn_user;
		out->turn_pass = srv->turn_pass;
		out->turn_tcp = srv->turn_tcp;
	}
	/* A UDP allocation's answer gives the server-reflexive candidate, and
	 * libnice 0.1.21 with a STUN server as well refuses the binding
	 * answers as "incorrectly multiplexed" (gathering then waits 2 s).
	 * Over TCP the mapped address is the TCP connection's: keep STUN. */
	if (out->turn_host && !out->turn_tcp)
		out->stun_host = NULL;
}

static int configure(struct ice_agent *a, const struct ice_config *cfg,
		     const struct ice_servers *s)
{
	int err;

	if (s->stun_host)
		g_object_set(a->nice, "stun-server", s->stun_host, "stun-server-port",
			     (guint)(s->stun_port ? s->stun_port : STUN_PORT), NULL);
	if (cfg->stun_retrans)
		g_object_set(a->nice, "stun-max-retransmissions", (guint)cfg->stun_retrans, NULL);
	if (cfg->idle_timeout_ms)
		g_object_set(a->nice, "idle-timeout", (guint)cfg->idle_timeout_ms, NULL);
	if ((err = add_local_addrs(a->nice, cfg->local_addrs)))
		return err;
	a->sid = nice_agent_add_stream(a->nice, a->ncomp);
	if (!a->sid)
		return -ENOMEM;
	for (unsigned id = 1; id <= a->ncomp; id++) {
		if (cfg->port_min || cfg->port_max)
			nice_agent_set_port_range(a->nice, a->sid, id, cfg->port_min, cfg->port_max);
		if (s->turn_host &&
		    !nice_agent_set_relay_info(a->nice, a->sid, id, s->turn_host,
					       s->turn_port ? s->turn_port : STUN_PORT,
					       s->turn_user ? s->turn_user : "",
					       s->turn_pass ? s->turn_pass : "",
					       s->turn_tcp ? NICE_RELAY_TYPE_TURN_TCP
							   : NICE_RELAY_TYPE_TURN_UDP))
			return -EINVAL;
	}
	return 0;
}

static int copy_credentials(struct ice_agent *a)
{
	gchar *u = NULL, *p = NULL;
	int err = 0;

	if (!nice_agent_get_local_credentials(a->nice, a->sid, &u, &p))
		err = -EIO;
	else if (strlen(u) >= sizeof(a->ufrag) || strlen(p) >= sizeof(a->pwd))
		err = -EOVERFLOW;
	else {
		strcpy(a->ufrag, u);
		strcpy(a->pwd, p);
	}
	g_free(u);
	g_free(p);
	return err;
}

int ice_agent_alloc(struct ice_agent **ap, struct ice_ctx *ctx, const struct ice_servers *srv,
		    bool controlling, unsigned ncomp, ice_event_h *evh, ice_recv_h *recvh,
		    void *arg)
{
	struct ice_servers s;
	struct ice_agent *a;
	int err;

	if (!ap || !ctx || (ncomp != 1 && ncomp != 2))
		return -EINVAL;
	a = mem_zalloc(sizeof(*a), agent_destroy);
	if (!a)
		return -ENOMEM;
	a->ctx = mem_ref(ctx);
	a->ncomp = ncomp;
	a->evh = evh;
	a->recvh = recvh;
	a->arg = arg;
	servers_of(&s, &ctx->cfg, srv);
	a->turn = s.turn_host != NULL;
	a->attached = ctx->cfg.attach_recv || ctx->cfg.ice_tcp || (s.turn_host && s.turn_tcp);
	for (unsigned i = 0; i < ncomp; i++) {
		a->comp[i].a = a;
		a->comp[i].id = i + 1;
		a->comp[i].fds = a->comp[i].fd0;
		a->comp[i].capfds = sizeof(a->comp[i].fd0) / sizeof(a->comp[i].fd0[0]);
	}
	for (unsigned i = 0; i < ICE_RECV_BATCH; i++) {
		a->vec[i].buffer = a->buf[i];
		a->vec[i].size = sizeof(a->buf[i]);
		a->msg[i].buffers = &a->vec[i];
		a->msg[i].n_buffers = 1;
	}
	a->nice = g_object_new(NICE_TYPE_AGENT,
			       "compatibility", NICE_COMPATIBILITY_RFC5245,
			       "main-context", ctx->gctx,
			       "reliable", FALSE,
			       "full-mode", TRUE,
			       "controlling-mode", (gboolean)controlling,
			       "upnp", FALSE,
			       "ice-udp", TRUE,
			       "ice-tcp", (gboolean)ctx->cfg.ice_tcp,
			       "ice-trickle", TRUE,
			       "consent-freshness", TRUE,
			       "keepalive-conncheck", TRUE,
			       NULL);
	if (!a->nice) {
		err = -ENOMEM;
		goto fail;
	}
	if ((err = configure(a, &ctx->cfg, &s)) || (err = copy_credentials(a)))
		goto fail;
	ice_agent_signals(a);
	if (ice_attached(a))
		ice_agent_attach(a, true);
	*ap = a;
	return 0;
fail:
	mem_deref(a);
	return err;
}

int ice_agent_gather(struct ice_agent *a)
{
	int err = 0;

	if (!a)
		return -EINVAL;
	if (a->gathering)
		return -EALREADY;
	a->gathering = true;
	ice_hold(a);
	/* Host candidates are reported (and their sockets watched) from
	 * inside this call. */
	if (!nice_agent_gather_candidates(a->nice, a->sid))
		err = -EADDRNOTAVAIL;
	for (unsigned i = 0; !err && i < a->ncomp && ice_alive(a); i++)
		ice_comp_sync(&a->comp[i]);
	ice_release(a);
	return err;
}

/* RFC 8445 5.3: ice-char = ALPHA / DIGIT / "+" / "/" */
static bool ice_chars(const char *s, size_t min, size_t max)
{
	size_t n = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/");

	return !s[n] && n >= min && n <= max;
}

int ice_agent_set_local_credentials(struct ice_agent *a, const char *ufrag, const char *pwd)
{
	if (!a || !ufrag || !pwd || !ice_chars(ufrag, 4, ICE_UFRAG_SIZE - 1) ||
	    !ice_chars(pwd, 22, ICE_PWD_SIZE - 1))
		return -EINVAL;
	if (a->gathering)
		return -EALREADY;
	if (!nice_agent_set_local_credentials(a->nice, a->sid, ufrag, pwd))
		return -EINVAL;
	strcpy(a->ufrag, ufrag);
	strcpy(a->pwd, pwd);
	return 0;
}

void ice_agent_local_credentials(const struct ice_agent *a, const char **ufrag,
				 const char **pwd)
{
	if (ufrag)
		*ufrag = a->ufrag;
	if (pwd)
		*pwd = a->pwd;
}

static int add_now(struct ice_agent *a, const struct ice_cand *c)
{
	NiceCandidate nc;
	GSList one = {&nc, NULL};
	int err = ice_cand_to_nice(&nc, c, a->sid);

	if (err)
		return err;
	if (nice_agent_set_remote_candidates(a->nice, a->sid, c->comp, &one) < 0)
		return -EINVAL;
	return 0;
}

int ice_agent_set_remote_credentials(struct ice_agent *a, const char *ufrag, const char *pwd)
{
	int err = 0;

	if (!a || !ufrag || !pwd || !*ufrag || !*pwd || strlen(ufrag) >= ICE_UFRAG_SIZE ||
	    strlen(pwd) >= ICE_PWD_SIZE)
		return -EINVAL;
	if (a->creds)
		return -EALREADY;    /* an ICE restart is a new agent */
	ice_hold(a);
	if (!nice_agent_set_remote_credentials(a->nice, a->sid, ufrag, pwd)) {
		err = -EINVAL;
		goto out;
	}
	a->creds = true;
	/* Checks sent with an empty remote ufrag would be refused, so the
	 * candidates that came first are handed over only now. */
	for (unsigned i = 0; i < a->npend && ice_alive(a); i++) {
		int e = add_now(a, &a->pend[i]);
		if (e)
			LOGW("ice: early remote candidate %s:%u refused", a->pend[i].ip,
			     a->pend[i].port);
	}
	a->npend = 0;
out:
	ice_release(a);
	return err;
}

int ice_agent_add_remote_candidate(struct ice_agent *a, const struct ice_cand *c)
{
	NiceCandidate nc;
	int err;

	if (!a || !c || c->comp < 1 || c->comp > a->ncomp)
		return -EINVAL;
	if (a->comp[c->comp - 1].unused)
		return 0;
	if ((err = ice_cand_to_nice(&nc, c, a->sid)))
		return err;
	if (!a->creds) {
		if (a->npend == a->cappend) {
			unsigned n = a->cappend ? a->cappend * 2 : 8;
			struct ice_cand *p = mem_realloc(a->pend, n * sizeof(*p));
			if (!p)
				return -ENOMEM;
			a->pend = p;
			a->cappend = n;
		}
		a->pend[a->npend++] = *c;
		return 0;
	}
	ice_hold(a);
	err = add_now(a, c);
	ice_release(a);
	return err;
}

int ice_agent_end_of_candidates(struct ice_agent *a)
{
	if (!a)
		return -EINVAL;
	a->eoc = true;
	nice_agent_peer_candidate_gathering_done(a->nice, a->sid);
	ice_hold(a);
	for (unsigned i = 0; i < a->ncomp && ice_alive(a); i++)
		ice_comp_maybe_fail(&a->comp[i]);
	ice_release(a);
	return 0;
}

void ice_agent_rtcp_mux(struct ice_agent *a)
{
	if (!a || a->ncomp < 2)
		return;
	a->comp[1].unused = true;
	ice_comp_release_all(&a->comp[1]);
}

int ice_agent_send(struct ice_agent *a, unsigned comp, const void *buf, size_t len)
{
	gint n;

	if (!a || comp < 1 || comp > a->ncomp || !buf || !len || len > G_MAXUINT)
		return -EINVAL;
	if (!a->comp[comp - 1].has_pair)
		return -ENOTCONN;
	n = nice_agent_send(a->nice, a->sid, comp, (guint)len, buf);
	if (n == (gint)len)
		return 0;
	return n < 0 ? -EIO : -EAGAIN;
}

bool ice_agent_connected(const struct ice_agent *a)
{
	for (unsigned i = 0; i < a->ncomp; i++) {
		const struct ice_comp *comp = &a->comp[i];
		if (!comp->unused && (!comp->reported || comp->final))
			return false;
	}
	return true;
}

int ice_agent_selected_pair(const struct ice_agent *a, unsigned comp, struct ice_cand *local,
			    struct ice_cand *remote)
{
	if (!a || comp < 1 || comp > a->ncomp)
		return -EINVAL;
	if (!a->comp[comp - 1].has_pair)
		return -ENOTCONN;
	if (local)
		*local = a->comp[comp - 1].local;
	if (remote)
		*remote = a->comp[comp - 1].remote;
	return 0;
}
