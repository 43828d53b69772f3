/* RTMP commands, dispatched through a table. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "log.h"
#include "mem.h"
#include "rtmp.h"

#define CMD_BUF 4096
#define CMD_MAX (16u << 20)   /* the chunk header's 24-bit length */

typedef int (cmd_h)(struct rtmp_conn *c, const struct rtmp_msg *m, struct rtmp_cmd *cmd);

/* Encode into a stack buffer; stanzas may need a bigger one from the heap. */
static int send_cmd(struct rtmp_conn *c, uint32_t csid, uint32_t sid, const char *name,
		    double txid, const AMFObjectProperty *vals, int nvals)
{
	uint8_t stack[CMD_BUF], *b = stack;
	size_t size = sizeof(stack);
	int n, err;

	for (;;) {
		n = amf_cmd_encode(b, b + size, c->amf3, name, txid, vals, nvals);
		if (n != -ENOSPC || size >= CMD_MAX)
			break;
		if (b != stack)
			mem_deref(b);
		size *= 4;
		b = mem_alloc(size, NULL);
		if (!b)
			return ENOMEM;
	}
	if (n < 0) {
		LOGE("conn %llu: cannot encode %s", (unsigned long long)c->id, name);
		err = -n;
	} else {
		err = conn_send(c, csid, c->amf3 ? RTMP_CMD_AMF3 : RTMP_CMD_AMF0, sid, 0, b,
				(uint32_t)n);
	}
	if (b != stack)
		mem_deref(b);
	return err;
}

int cmd_invoke(struct rtmp_conn *c, uint32_t stream_id, const char *name, double txid,
	       const AMFObjectProperty *vals, int nvals)
{
	return send_cmd(c, stream_id ? CSID_STREAM_CMD : CSID_CMD, stream_id, name, txid, vals,
			nvals);
}

int cmd_data(struct rtmp_conn *c, uint32_t stream_id, const AMFObjectProperty *vals, int n)
{
	uint8_t b[CMD_BUF];
	int len = amf_data_encode(b, b + sizeof(b), vals, n);

	if (len < 0)
		return -len;
	return conn_send(c, CSID_STREAM_CMD, RTMP_DATA_AMF0, stream_id, 0, b, (uint32_t)len);
}

int cmd_info(struct rtmp_conn *c, uint32_t stream_id, const char *name, double txid,
	     const char *level, const char *code, const char *desc)
{
	AMFObjectProperty info[] = {
		amfv_str("level", level),
		amfv_str("code", code),
		amfv_str("description", desc),
	};
	AMFObjectProperty vals[] = {amfv_null(), amfv_obj(NULL, info, 3)};

	return cmd_invoke(c, stream_id, name, txid, vals, 2);
}

int cmd_status(struct rtmp_conn *c, uint32_t stream_id, const char *level, const char *code,
	       const char *desc)
{
	return cmd_info(c, stream_id, "onStatus", 0, level, code, desc);
}

static int reply(struct rtmp_conn *c, const struct rtmp_msg *m, const char *name, double txid,
		 const AMFObjectProperty *vals, int nvals)
{
	return cmd_invoke(c, m->stream_id, name, txid, vals, nvals);
}

static int reply_result(struct rtmp_conn *c, const struct rtmp_msg *m, double txid,
			AMFObjectProperty *v)
{
	AMFObjectProperty vals[2] = {amfv_null()};
	if (v)
		vals[1] = *v;
	return reply(c, m, "_result", txid, vals, v ? 2 : 1);
}

static int reply_error(struct rtmp_conn *c, const struct rtmp_msg *m, double txid,
		       const char *code, const char *desc)
{
	return cmd_info(c, m->stream_id, "_error", txid, "error", code, desc);
}

/* "xmpp?x=1/" -> "xmpp" */
static void app_name(char *app)
{
	size_t n = strcspn(app, "?");
	app[n] = '\0';
	while (n && app[n - 1] == '/')
		app[--n] = '\0';
}

static void accept_connect(struct rtmp_conn *c, double txid)
{
	AMFObjectProperty props[] = {
		amfv_str("fmsVer", "FMS/3,5,7,7009"),
		amfv_num("capabilities", 31),
		amfv_num("mode", 1),
	};
	AMFObjectProperty info[] = {
		amfv_str("level", "status"),
		amfv_str("code", "NetConnection.Connect.Success"),
		amfv_str("description", "Connection succeeded."),
		amfv_num("objectEncoding", c->amf3 ? 3 : 0),
	};
	AMFObjectProperty vals[] = {amfv_obj(NULL, props, 3), amfv_obj(NULL, info, 4)};

	control_send_u32(c, RTMP_WINDOW_ACK_SIZE, 2500000);
	control_send_peer_bw(c, 2500000, 2);
	control_send_u32(c, RTMP_SET_CHUNK_SIZE, c->srv->cfg->out_chunk_size);
	c->ch.chunk_size = c->srv->cfg->out_chunk_size;
	cmd_invoke(c, 0, "_result", txid, vals, 2);
	conn_connected(c);
}

static void reject_connect(struct rtmp_conn *c, double txid, const char *why)
{
	cmd_info(c, 0, "_error", txid, "error", "NetConnection.Connect.Rejected", why);
	conn_flush(c);
	conn_fail(c, "connect rejected");
}

void cmd_connect_done(struct rtmp_conn *c, double txid, const char *reason)
{
	if (reason) {
		LOGI("conn %llu %s: login at connect failed: %s", (unsigned long long)c->id,
		     c->peer, reason);
		reject_connect(c, txid, reason);
		return;
	}
	accept_connect(c, txid);
	conn_flush(c);
}

static int h_connect(struct rtmp_conn *c, const struct rtmp_msg *m, struct rtmp_cmd *cmd)
{
	const AMFObjectProperty *o = cmd->nvals ? &cmd->val[0] : NULL;
	char app[RTMP_NAME_MAX];
	double enc = 0;

	if (c->connected || c->xl)
		return reply_error(c, m, cmd->txid, "NetConnection.Call.Failed",
				   "Already connected.");
	if (!amf_str(o, "app", app, sizeof(app)))
		app[0] = '\0';
	app_name(app);
	if (strcmp(app, c->srv->cfg->app)) {
		LOGI("conn %llu %s: rejected connect to unknown app '%s'",
		     (unsigned long long)c->id, c->peer, app);
		reject_connect(c, cmd->txid,
			       "Unknown application; connect to the configured app name.");
		return EPERM;
	}
	amf_num(o, "objectEncoding", &enc);
	c->amf3 = enc == 3;
	LOGI("conn %llu %s: connect to app '%s' (AMF%d)", (unsigned long long)c->id, c->peer,
	     app, c->amf3 ? 3 : 0);
	/* Login at connect: {username, domain, password, resource} as the first
	 * extra argument (FFmpeg -rtmp_conn, rtmpdump --conn). */
	if (cmd->nvals >= 2 && cmd->val[1].p_type == AMF_OBJECT) {
		if (xrpc_login_at_connect(c, &cmd->val[1], cmd->txid)) {
			reject_connect(c, cmd->txid, "invalid-arguments");
			return EINVAL;
		}
		conn_defer_connect(c);
		return 0;
	}
	accept_connect(c, cmd->txid);
	return 0;
}

static int h_create_stream(struct rtmp_conn *c, const struct rtmp_msg *m, struct rtmp_cmd *cmd)
{
	uint32_t id;
	AMFObjectProperty v;

	if (stream_create(c, &id))
		return reply_error(c, m, cmd->txid, "NetConnection.Call.Failed",
				   "Too many streams on this connection.");
	v = amfv_num(NULL, id);
	return reply_result(c, m, cmd->txid, &v);
}

/* The stream a NetStream command names: the message's, or for
 * deleteStream the id in its first argument. */
static struct rtmp_stream *arg_stream(struct rtmp_conn *c, const struct rtmp_cmd *cmd)
{
	double id;
	if (cmd->nvals >= 2 && amf_num(&cmd->val[1], NULL, &id) && id >= 1 && id <= 0xffffffffu)
		return stream_get(c, (uint32_t)id);
	return NULL;
}

static int h_delete_stream(struct rtmp_conn *c, const struct rtmp_msg *m, struct rtmp_cmd *cmd)
{
	struct rtmp_stream *s = arg_stream(c, cmd);
	if (!s)
		s = stream_get(c, m->stream_id);
	if (s)
		stream_delete(s);
	return 0;
}

static int h_close_stream(struct rtmp_conn *c, const struct rtmp_msg *m, struct rtmp_cmd *cmd)
{
	struct rtmp_stream *s = stream_get(c, m->stream_id);
	if (s)
		stream_close(s, true);
	return 0;
}

static int stream_name(const struct rtmp_cmd *cmd, char *name, size_t size)
{
	if (cmd->nvals < 2 || !amf_str(&cmd->val[1], NULL, name, size))
		return EINVAL;
	name[strcspn(name, "?")] = '\0';
	return 0;
}

static int h_publish(struct rtmp_conn *c, const struct rtmp_msg *m, struct rtmp_cmd *cmd)
{
	struct rtmp_stream *s = stream_get(c, m->stream_id);
	char name[RTMP_NAME_MAX];

	if (!s)
		return reply_error(c, m, cmd->txid, "NetConnection.Call.Failed",
				   "publish on a stream that was not created.");
	if (stream_name(cmd, name, sizeof(name)) || !name[0])
		return cmd_status(c, s->id, "error", "NetStream.Publish.BadName",
				  "publish needs a stream name.");
	return stream_publish(s, name);
}

static int h_play(struct rtmp_conn *c, const struct rtmp_msg *m, struct rtmp_cmd *cmd)
{
	struct rtmp_stream *s = stream_get(c, m->stream_id);
	char name[RTMP_NAME_MAX];

	if (!s)
		return reply_error(c, m, cmd->txid, "NetConnection.Call.Failed",
				   "play on a stream that was not created.");
	if (stream_name(cmd, name, sizeof(name)) || !name[0])
		return cmd_status(c, s->id, "error", "NetStream.Play.StreamNotFound",
				  "play needs a stream name.");
	return stream_play(s, name);
}

static int h_receive_audio(struct rtmp_conn *c, const struct rtmp_msg *m, struct rtmp_cmd *cmd)
{
	struct rtmp_stream *s = stream_get(c, m->stream_id);
	if (s && cmd->nvals >= 2 && cmd->val[1].p_type == AMF_BOOLEAN)
		s->recv_audio = cmd->val[1].p_vu.p_number != 0;
	return 0;
}

static int h_ignore(struct rtmp_conn *c, const struct rtmp_msg *m, struct rtmp_cmd *cmd)
{
	(void)c; (void)m; (void)cmd;
	return 0;
}

/* releaseStream, FCPublish, FCUnpublish, FCSubscribe: nothing to do, but a
 * caller with a responder deserves an answer. */
static int h_ack_only(struct rtmp_conn *c, const struct rtmp_msg *m, struct rtmp_cmd *cmd)
{
	return cmd->txid > 0 ? reply_result(c, m, cmd->txid, NULL) : 0;
}

static int h_get_stream_length(struct rtmp_conn *c, const struct rtmp_msg *m,
			       struct rtmp_cmd *cmd)
{
	AMFObjectProperty v = amfv_num(NULL, 0);   /* live */
	return reply_result(c, m, cmd->txid, &v);
}

static int h_close(struct rtmp_conn *c, const struct rtmp_msg *m, struct rtmp_cmd *cmd)
{
	(void)m; (void)cmd;
	conn_fail(c, "client sent close");
	return ECONNRESET;
}

static const struct {
	const char *name;
	cmd_h *h;
	bool before_connect;   /* allowed before a successful connect */
} cmds[] = {
	{"connect", h_connect, true},
	{"createStream", h_create_stream, false},
	{"deleteStream", h_delete_stream, false},
	{"closeStream", h_close_stream, false},
	{"publish", h_publish, false},
	{"play", h_play, false},
	{"releaseStream", h_ack_only, false},
	{"FCPublish", h_ack_only, false},
	{"FCUnpublish", h_ack_only, false},
	{"FCSubscribe", h_ack_only, false},
	{"receiveAudio", h_receive_audio, false},
	{"receiveVideo", h_ignore, false},
	{"getStreamLength", h_get_stream_length, false},
	{"_result", h_ignore, true},   /* answers to our calls */
	{"_error", h_ignore, true},
	{"_checkbw", h_ignore, false},
	{"close", h_close, true},
	{"xmpp_connect", xrpc_connect, false},
	{"xmpp_disconnect", xrpc_disconnect, false},
	{"xmpp", xrpc_send, false},
	{"jingle_reject", call_rpc_reject, false},
	{"jingle_hangup", call_rpc_hangup, false},
};

int cmd_handle(struct rtmp_conn *c, const struct rtmp_msg *m)
{
	struct rtmp_cmd cmd;
	const char *why = NULL;
	int err = amf_cmd_decode(&cmd, m->body, m->len, m->type == RTMP_CMD_AMF3, &why);

	if (err) {
		LOGW("conn %llu %s: bad command message: %s", (unsigned long long)c->id, c->peer,
		     why);
		conn_fail(c, why);
		return err;
	}
	LOGD("conn %llu: command %.*s txid %g on stream %u", (unsigned long long)c->id,
	     cmd.name.av_len, cmd.name.av_val, cmd.txid, m->stream_id);
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if ((size_t)cmd.name.av_len != strlen(cmds[i].name) ||
		    memcmp(cmd.name.av_val, cmds[i].name, (size_t)cmd.name.av_len))
			continue;
		if (!c->connected && !cmds[i].before_connect)
			reply_error(c, m, cmd.txid, "NetConnection.Call.Failed",
				    "Send connect first.");
		else
			cmds[i].h(c, m, &cmd);
		amf_cmd_reset(&cmd);
		return 0;
	}
	LOGI("conn %llu %s: unknown command '%.*s'", (unsigned long long)c->id, c->peer,
	     cmd.name.av_len, cmd.name.av_val);
	{
		char desc[RTMP_NAME_MAX];
		snprintf(desc, sizeof(desc), "Method not found (%.*s).", cmd.name.av_len,
			 cmd.name.av_val);
		reply_error(c, m, cmd.txid, "NetConnection.Call.Failed", desc);
	}
	amf_cmd_reset(&cmd);
	return 0;
}
