/* Voice calls on NetStreams (client-api.md "Voice calls"): publish/play of
 * a JID places a call, publish/play of a call id (or of "incoming",
 * armed in advance) answers one, and the jingle_* RPCs and callbacks.
 * The Jingle and media work is signaling/jcall.c's; this file only binds
 * calls to streams and speaks RTMP. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "engine.h"
#include "flv.h"
#include "jcall.h"
#include "log.h"
#include "mem.h"
#include "rtmp.h"
#include "xlink.h"
#include "xsess.h"

#define ANSWER_NAME "incoming"

/* One call of one connection: the jcall and the streams carrying it. */
struct gcall {
	struct rtmp_conn *c;
	struct jcall *jc;
	struct rtmp_stream *pub;
	struct rtmp_stream *play;
};

static void gcall_destructor(void *arg)
{
	struct gcall *g = arg;

	if (g->pub)
		g->pub->call = NULL;
	if (g->play)
		g->play->call = NULL;
}

static void invoke_state(struct rtmp_conn *c, const char *sid, const char *state,
			 const char *reason)
{
	AMFObjectProperty v[4] = {amfv_null(), amfv_str(NULL, sid), amfv_str(NULL, state),
				  amfv_str(NULL, reason)};
	cmd_invoke(c, 0, "jingle_state", 0, v, 4);
	conn_flush(c);
}

/* The call ended: its streams stop, with the usual codes. */
static void unbind_streams(struct gcall *g, const char *why)
{
	struct rtmp_conn *c = g->c;
	char desc[RTMP_NAME_MAX + 64];

	if (g->play) {
		struct rtmp_stream *s = g->play;
		snprintf(desc, sizeof(desc), "Call %s ended (%s).", s->name, why);
		cmd_status(c, s->id, "status", "NetStream.Play.Stop", desc);
		control_send_uc(c, UC_STREAM_EOF, s->id);
		s->call = NULL;
		s->role = ROLE_NONE;
		s->name[0] = '\0';
		g->play = NULL;
	}
	if (g->pub) {
		struct rtmp_stream *s = g->pub;
		snprintf(desc, sizeof(desc), "Call %s ended (%s).", s->name, why);
		cmd_status(c, s->id, "status", "NetStream.Unpublish.Success", desc);
		s->call = NULL;
		s->role = ROLE_NONE;
		s->name[0] = '\0';
		g->pub = NULL;
	}
	conn_flush(c);
}

static void bind_stream(struct gcall *g, struct rtmp_stream *s, bool publish)
{
	s->call = g;
	if (publish)
		g->pub = s;
	else
		g->play = s;
}

/* ---- jcall handlers ---- */

static struct rtmp_stream *armed_stream(struct rtmp_conn *c, enum stream_role role)
{
	for (int i = 0; i < RTMP_MAX_STREAMS; i++) {
		struct rtmp_stream *s = &c->streams[i];
		if (s->id && s->role == role && !s->call && !strcmp(s->name, ANSWER_NAME))
			return s;
	}
	return NULL;
}

static void on_incoming(struct jcall *jc, const char *from, void *arg)
{
	struct xlink *xl = arg;
	struct rtmp_conn *c = xl->c;
	struct rtmp_stream *pub, *play;
	struct gcall *g;

	if (!c)
		return;
	g = mem_zalloc(sizeof(*g), gcall_destructor);
	if (!g) {
		jcall_reject(jc, JR_GENERAL_ERROR);
		return;
	}
	g->c = c;
	g->jc = jc;
	jcall_set_owner(jc, g);
	pub = armed_stream(c, ROLE_PUBLISH);
	play = armed_stream(c, ROLE_PLAY);
	if (pub || play) {
		/* Answering streams: take the call at once. */
		LOGI("conn %llu: answering call %s from %s on the '%s' streams",
		     (unsigned long long)c->id, jcall_sid(jc), from, ANSWER_NAME);
		if (pub)
			bind_stream(g, pub, true);
		if (play)
			bind_stream(g, play, false);
		jcall_answer(jc);
		return;
	}
	{
		AMFObjectProperty info[] = {amfv_str("media", "audio")};
		AMFObjectProperty v[4] = {amfv_null(), amfv_str(NULL, jcall_sid(jc)),
					  amfv_str(NULL, from), amfv_obj(NULL, info, 1)};
		cmd_invoke(c, 0, "jingle_incoming", 0, v, 4);
		conn_flush(c);
	}
}

static void on_state(struct jcall *jc, enum jcall_state st, enum jingle_reason reason,
		     void *arg)
{
	struct xlink *xl = arg;
	struct gcall *g = jcall_owner(jc);
	struct rtmp_conn *c = xl->c;

	if (c && (xl->detached || c->state == CONN_CLOSED))
		c = NULL;
	if (c)
		invoke_state(c, jcall_sid(jc), jcall_state_name(st),
			     st == JCALL_ENDED ? jingle_reason_name(reason) : "");
	if (st != JCALL_ENDED || !g)
		return;
	jcall_set_owner(jc, NULL);
	if (c)
		unbind_streams(g, jingle_reason_name(reason));
	mem_deref(g);
}

static void on_audio(struct jcall *jc, uint32_t ts, const uint8_t *body, size_t len, void *arg)
{
	struct xlink *xl = arg;
	struct gcall *g = jcall_owner(jc);

	if (!g || !g->play || !xl->c || xl->detached || !g->play->recv_audio)
		return;
	conn_send_audio(g->c, g->play->id, ts, body, (uint32_t)len);
}

static const struct jcall_handlers handlers = {
	.incoming = on_incoming,
	.state = on_state,
	.audio = on_audio,
};

/* ---- the XMPP session's life ---- */

void call_session_up(struct xlink *xl)
{
	struct server *srv = xl->c->srv;
	struct jcall_config cfg = {
		.answer_timeout_s = srv->cfg->answer_timeout,
		.max_calls = srv->cfg->max_calls,
		.allow_plain = srv->cfg->allow_plain_rtp,
	};

	if (xl->calls || !srv->eng)
		return;
	if (jcall_mgr_alloc(&xl->calls, xl->loop, xl->s, srv->eng, &cfg, &handlers, xl))
		LOGW("conn %llu: no memory for calls", (unsigned long long)xl->c->id);
}

bool call_handle_stanza(struct xlink *xl, xmpp_stanza_t *st)
{
	return xl->calls && jcall_mgr_handle(xl->calls, st);
}

void call_session_down(struct xlink *xl, enum jingle_reason reason)
{
	if (!xl->calls)
		return;
	jcall_mgr_hangup_all(xl->calls, reason);
	xl->calls = mem_deref(xl->calls);
}

/* ---- streams ---- */

/* "jingle:alice@example.com" -> "alice@example.com" */
static const char *call_target(const char *name)
{
	return !strncmp(name, "jingle:", 7) ? name + 7 : name;
}

static struct gcall *find_gcall(struct rtmp_conn *c, const char *target, bool publish)
{
	if (!c->xl || !c->xl->calls)
		return NULL;
	for (int i = 0; i < RTMP_MAX_STREAMS; i++) {
		struct rtmp_stream *s = &c->streams[i];
		struct gcall *g = s->call;
		if (!s->id || !g)
			continue;
		if (publish ? g->pub : g->play)
			continue;   /* that side is taken */
		if (!strcmp(jcall_sid(g->jc), target) ||
		    (jcall_outgoing(g->jc) && !strcmp(jcall_peer(g->jc), target)))
			return g;
	}
	/* An incoming call not answered yet has no stream: look it up. */
	{
		struct jcall *jc = jcall_find(c->xl->calls, target);
		struct gcall *g = jc ? jcall_owner(jc) : NULL;
		if (g && !(publish ? g->pub : g->play))
			return g;
	}
	return NULL;
}

static int refuse(struct rtmp_stream *s, bool publish, const char *code_pub,
		  const char *code_play, const char *desc)
{
	return cmd_status(s->conn, s->id, "error", publish ? code_pub : code_play, desc);
}

static void send_started(struct rtmp_stream *s, bool publish)
{
	char desc[RTMP_NAME_MAX + 32];

	if (!publish) {
		stream_send_play_start(s);
		return;
	}
	snprintf(desc, sizeof(desc), "Publishing %s.", s->name);
	control_send_uc(s->conn, UC_STREAM_BEGIN, s->id);
	cmd_status(s->conn, s->id, "status", "NetStream.Publish.Start", desc);
	conn_flush(s->conn);
}

/* publish or play of a name that is not an echo stream. */
int call_stream(struct rtmp_stream *s, const char *name, bool publish)
{
	struct rtmp_conn *c = s->conn;
	const char *target = call_target(name);
	struct gcall *g;
	struct jcall *jc;
	int err;

	if (!c->xl || !c->xl->calls || !xsess_is_up(c->xl->s))
		return refuse(s, publish, "NetStream.Publish.BadName",
			      "NetStream.Play.StreamNotFound",
			      "Log in first (xmpp_connect, or connect with a login object), "
			      "or use the \"echo\" stream.");
	snprintf(s->name, sizeof(s->name), "%s", name);
	s->role = publish ? ROLE_PUBLISH : ROLE_PLAY;
	if (!strcmp(target, ANSWER_NAME)) {
		/* Armed: the next incoming call is answered with this stream. */
		LOGI("conn %llu: %s '%s': answering the next call", (unsigned long long)c->id,
		     publish ? "publish" : "play", ANSWER_NAME);
		send_started(s, publish);
		return 0;
	}
	g = find_gcall(c, target, publish);
	if (g) {
		bind_stream(g, s, publish);
		send_started(s, publish);
		if (!jcall_outgoing(g->jc))
			jcall_answer(g->jc);
		return 0;
	}
	g = mem_zalloc(sizeof(*g), gcall_destructor);
	if (!g) {
		s->role = ROLE_NONE;
		return refuse(s, publish, "NetStream.Publish.Failed", "NetStream.Play.Failed",
			      "Out of memory.");
	}
	g->c = c;
	err = jcall_dial(&jc, c->xl->calls, target);
	if (err) {
		mem_deref(g);
		s->role = ROLE_NONE;
		s->name[0] = '\0';
		LOGI("conn %llu: call to '%s' refused (%d)", (unsigned long long)c->id, target, err);
		return refuse(s, publish, "NetStream.Publish.BadName",
			      "NetStream.Play.StreamNotFound",
			      err == -EINVAL ? "Not a JID or a call id." :
			      err == -EBUSY ? "Too many calls on this connection." :
			      "Calls are not available.");
	}
	g->jc = jc;
	jcall_set_owner(jc, g);
	bind_stream(g, s, publish);
	send_started(s, publish);
	invoke_state(c, jcall_sid(jc), "proposed", "");
	return 0;
}

/* The stream stops publishing or playing (close, delete, or the
 * connection goes): its call ends. */
void call_stream_closed(struct rtmp_stream *s)
{
	struct gcall *g = s->call;

	if (!g)
		return;
	if (g->pub == s)
		g->pub = NULL;
	if (g->play == s)
		g->play = NULL;
	s->call = NULL;
	jcall_hangup(g->jc, JR_SUCCESS);
}

void call_audio(struct rtmp_stream *s, const struct rtmp_msg *m)
{
	struct gcall *g = s->call;

	if (g && g->pub == s)
		jcall_send_audio(g->jc, m->ts, m->body, m->len);
}

/* ---- RPCs ---- */

static struct jcall *rpc_call(struct rtmp_conn *c, const struct rtmp_cmd *cmd, char *sid,
			      size_t size, enum jingle_reason *reason)
{
	char r[64] = "";

	if (cmd->nvals < 2 || !amf_str(&cmd->val[1], NULL, sid, size))
		return NULL;
	if (cmd->nvals >= 3)
		amf_str(&cmd->val[2], NULL, r, sizeof(r));
	*reason = jingle_reason_parse(r);
	if (!c->xl || !c->xl->calls)
		return NULL;
	return jcall_find(c->xl->calls, sid);
}

static int rpc_answer(struct rtmp_conn *c, const struct rtmp_msg *m, double txid, int err,
		      const char *what)
{
	(void)m;
	if (err)
		return cmd_info(c, 0, "_error", txid, "error", "NetConnection.Call.Failed", what);
	if (txid > 0) {
		AMFObjectProperty v[2] = {amfv_null(), amfv_bool(NULL, true)};
		return cmd_invoke(c, 0, "_result", txid, v, 2);
	}
	return 0;
}

int call_rpc_reject(struct rtmp_conn *c, const struct rtmp_msg *m, struct rtmp_cmd *cmd)
{
	char sid[JINGLE_SID_SIZE];
	enum jingle_reason r;
	struct jcall *jc = rpc_call(c, cmd, sid, sizeof(sid), &r);

	if (!jc)
		return rpc_answer(c, m, cmd->txid, ENOENT, "No such call.");
	if (r != JR_BUSY)
		r = JR_DECLINE;
	return rpc_answer(c, m, cmd->txid, jcall_reject(jc, r) ? EINVAL : 0,
			  "The call is not ringing here.");
}

int call_rpc_hangup(struct rtmp_conn *c, const struct rtmp_msg *m, struct rtmp_cmd *cmd)
{
	char sid[JINGLE_SID_SIZE];
	enum jingle_reason r;
	struct jcall *jc = rpc_call(c, cmd, sid, sizeof(sid), &r);

	if (!jc)
		return rpc_answer(c, m, cmd->txid, ENOENT, "No such call.");
	jcall_hangup(jc, r);
	return rpc_answer(c, m, cmd->txid, 0, NULL);
}
