/* The floor's RTMP commands: canned answers, and the stream names that
 * join publishers to players.  Table-driven, like the gateway's cmd.c. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "amf0.h"
#include "floor.h"
#include "mem.h"

static int send_amf(struct fconn *c, uint32_t csid, uint32_t sid, struct buf *b, bool bad)
{
	int err = bad ? ENOMEM
		      : floor_send(c, csid, RTMP_CMD_AMF0, sid, 0, buf_head(b), (uint32_t)buf_unread(b));
	buf_reset(b);
	return err;
}

static int result(struct fconn *c, double tx, bool with_sid)
{
	struct buf b;
	bool bad;

	buf_init(&b);
	bad = amf0_w_str(&b, "_result") || amf0_w_num(&b, tx) || amf0_w_null(&b) ||
	      (with_sid && amf0_w_num(&b, 1));
	return send_amf(c, FLOOR_CS_CMD, 0, &b, bad);
}

static int status(struct fconn *c, const char *code)
{
	struct buf b;
	bool bad;

	buf_init(&b);
	bad = amf0_w_str(&b, "onStatus") || amf0_w_num(&b, 0) || amf0_w_null(&b) ||
	      amf0_w_obj_start(&b) || amf0_w_key(&b, "level") || amf0_w_str(&b, "status") ||
	      amf0_w_key(&b, "code") || amf0_w_str(&b, code) || amf0_w_key(&b, "description") ||
	      amf0_w_str(&b, "floor") || amf0_w_obj_end(&b);
	return send_amf(c, FLOOR_CS_STREAM, 1, &b, bad);
}

static int control(struct fconn *c, uint8_t type, uint32_t v, int extra)
{
	uint8_t b[6];

	put_be32(b, v);
	b[4] = (uint8_t)extra;
	return floor_send(c, FLOOR_CS_CONTROL, type, 0, 0, b, extra >= 0 ? 5 : 4);
}

static int stream_begin(struct fconn *c)
{
	uint8_t b[6] = {0, UC_STREAM_BEGIN, 0, 0, 0, 1};
	return floor_send(c, FLOOR_CS_CONTROL, RTMP_USER_CONTROL, 0, 0, b, 6);
}

static int on_connect(struct fconn *c, double tx, struct amf0_r *r)
{
	struct buf b;
	bool bad;
	int err;

	(void)r;
	err = control(c, RTMP_WINDOW_ACK_SIZE, 2500000, -1);
	err = err ? err : control(c, RTMP_SET_PEER_BW, 2500000, 2);
	err = err ? err : control(c, RTMP_SET_CHUNK_SIZE, 4096, -1);
	if (err)
		return err;
	c->ch.chunk_size = 4096;
	buf_init(&b);
	bad = amf0_w_str(&b, "_result") || amf0_w_num(&b, tx) || amf0_w_obj_start(&b) ||
	      amf0_w_key(&b, "fmsVer") || amf0_w_str(&b, "FMS/3,5,7,7009") ||
	      amf0_w_key(&b, "capabilities") || amf0_w_num(&b, 31) || amf0_w_obj_end(&b) ||
	      amf0_w_obj_start(&b) || amf0_w_key(&b, "level") || amf0_w_str(&b, "status") ||
	      amf0_w_key(&b, "code") || amf0_w_str(&b, "NetConnection.Connect.Success") ||
	      amf0_w_key(&b, "description") || amf0_w_str(&b, "floor") ||
	      amf0_w_key(&b, "objectEncoding") || amf0_w_num(&b, 0) || amf0_w_obj_end(&b);
	return send_amf(c, FLOOR_CS_CMD, 0, &b, bad);
}

static int on_create(struct fconn *c, double tx, struct amf0_r *r)
{
	(void)r;
	return result(c, tx, true);
}

static int find_stream(struct floor *fl, const char *name, uint32_t *idx)
{
	struct fstream *s;

	for (uint32_t i = 0; i < fl->nstreams; i++) {
		if (!strcmp(fl->streams[i].name, name)) {
			*idx = i;
			return 0;
		}
	}
	s = mem_realloc(fl->streams, (fl->nstreams + 1) * sizeof(*s));
	if (!s)
		return ENOMEM;
	fl->streams = s;
	s = &fl->streams[fl->nstreams];
	memset(s, 0, sizeof(*s));
	snprintf(s->name, sizeof(s->name), "%s", name);
	*idx = fl->nstreams++;
	return 0;
}

static int add_player(struct fstream *s, struct fconn *c)
{
	if (s->nplayers == s->cap) {
		uint32_t cap = s->cap ? 2 * s->cap : 2;
		struct fconn **p = mem_realloc(s->players, cap * sizeof(*p));
		if (!p)
			return ENOMEM;
		s->players = p;
		s->cap = cap;
	}
	s->players[s->nplayers++] = c;
	return 0;
}

static int join(struct fconn *c, struct amf0_r *r, enum floor_role role)
{
	char name[64];
	uint32_t idx;
	int err;

	if (c->role != FLOOR_NONE || amf0_skip(r) || amf0_r_str(r, name, sizeof(name)))
		return 0;   /* ignored, as a minimal server would */
	if ((err = find_stream(c->fl, name, &idx)))
		return err;
	if (role == FLOOR_PUB)
		c->fl->streams[idx].pub = c;
	else if ((err = add_player(&c->fl->streams[idx], c)))
		return err;
	c->role = role;
	c->stream = idx + 1;
	if ((err = stream_begin(c)))
		return err;
	if (role == FLOOR_PUB)
		return status(c, "NetStream.Publish.Start");
	err = status(c, "NetStream.Play.Reset");
	return err ? err : status(c, "NetStream.Play.Start");
}

static int on_publish(struct fconn *c, double tx, struct amf0_r *r)
{
	(void)tx;
	return join(c, r, FLOOR_PUB);
}

static int on_play(struct fconn *c, double tx, struct amf0_r *r)
{
	(void)tx;
	return join(c, r, FLOOR_PLAY);
}

static int on_leave(struct fconn *c, double tx, struct amf0_r *r)
{
	(void)tx;
	(void)r;
	floor_leave(c);
	return 0;
}

static const struct {
	const char *name;
	int (*h)(struct fconn *c, double tx, struct amf0_r *r);
} cmds[] = {
	{"connect", on_connect}, {"createStream", on_create}, {"publish", on_publish},
	{"play", on_play}, {"deleteStream", on_leave}, {"closeStream", on_leave},
};

int floor_command(struct fconn *c, const struct rtmp_msg *m)
{
	struct amf0_r r = {m->body, m->body + m->len};
	char name[32];
	double tx = 0;

	if (m->type == RTMP_CMD_AMF3 && m->len)
		r.p++;
	if (amf0_r_str(&r, name, sizeof(name)) || amf0_r_num(&r, &tx))
		return 0;
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(name, cmds[i].name))
			return cmds[i].h(c, tx, &r);
	/* releaseStream, FCPublish, getStreamLength, ...: a bare _result */
	return tx > 0 ? result(c, tx, false) : 0;
}

void floor_leave(struct fconn *c)
{
	struct fstream *s;

	if (!c->stream)
		return;
	s = &c->fl->streams[c->stream - 1];
	if (c->role == FLOOR_PUB && s->pub == c)
		s->pub = NULL;
	for (uint32_t i = 0; c->role == FLOOR_PLAY && i < s->nplayers; i++) {
		if (s->players[i] == c) {
			s->players[i] = s->players[--s->nplayers];
			break;
		}
	}
	c->stream = 0;
	c->role = FLOOR_NONE;
}

void floor_streams_free(struct floor *fl)
{
	for (uint32_t i = 0; i < fl->nstreams; i++)
		mem_deref(fl->streams[i].players);
	mem_deref(fl->streams);
	fl->streams = NULL;
	fl->nstreams = 0;
}
