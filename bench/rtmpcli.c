/* A non-blocking RTMP client connection (see rtmpcli.h). */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "amf0.h"
#include "mem.h"
#include "rtmpcli.h"

#define HS_LEN 1536
#define OUR_CHUNK 4096
#define READ_ROOM 16384
#define BUFLEN_MS 3000      /* FFmpeg's default Set Buffer Length */

enum { CS_CONTROL = 2, CS_CMD = 3, CS_AUDIO = 4, CS_STREAM = 8 };
enum { TX_CONNECT = 1, TX_CREATE = 2, TX_START = 3 };

int64_t cli_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int resolve(struct cli_target *t)
{
	struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM}, *ai;

	if (getaddrinfo(t->host, NULL, &hints, &ai))
		return EHOSTUNREACH;
	memcpy(&t->addr, ai->ai_addr, sizeof(t->addr));
	t->addr.sin_port = htons(t->port);
	freeaddrinfo(ai);
	return 0;
}

int cli_target_parse(struct cli_target *t, const char *url)
{
	const char *p = url, *slash, *colon;
	size_t n;

	memset(t, 0, sizeof(*t));
	if (strncmp(p, "rtmp://", 7))
		return EINVAL;
	p += 7;
	slash = strchr(p, '/');
	if (!slash || !slash[1] || strchr(slash + 1, '/'))
		return EINVAL;
	colon = memchr(p, ':', (size_t)(slash - p));
	n = (size_t)((colon ? colon : slash) - p);
	if (!n || n >= sizeof(t->host))
		return EINVAL;
	memcpy(t->host, p, n);
	t->port = colon ? (uint16_t)atoi(colon + 1) : 1935;
	if (!t->port || strlen(slash + 1) >= sizeof(t->app))
		return EINVAL;
	snprintf(t->app, sizeof(t->app), "%s", slash + 1);
	snprintf(t->tcurl, sizeof(t->tcurl), "%s", url);
	return resolve(t);
}

void cli_init(struct cli *c, int epfd, const struct cli_target *t, enum cli_role role,
	      const char *name, cli_audio_h *ah, cli_state_h *sh, void *arg)
{
	static const struct dechunk_limits lim = {
		.max_msg = 1 << 20, .max_chunk = 1 << 24, .max_streams = 32,
		.max_buffered = 2 << 20,
	};

	memset(c, 0, sizeof(*c));
	c->fd = -1;
	c->epfd = epfd;
	c->tgt = t;
	c->role = role;
	snprintf(c->name, sizeof(c->name), "%s", name);
	c->audioh = ah;
	c->stateh = sh;
	c->arg = arg;
	dechunk_init(&c->dc, &lim);
	chunker_init(&c->ch);
}

void cli_close(struct cli *c)
{
	if (c->fd >= 0) {
		epoll_ctl(c->epfd, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
		c->fd = -1;
	}
	dechunk_reset(&c->dc);
	buf_reset(&c->in);
	buf_reset(&c->out);
	c->state = CLI_CLOSED;
}

static void fail(struct cli *c, int err, const char *why)
{
	if (c->state == CLI_CLOSED)
		return;
	c->why = why;
	cli_close(c);
	if (c->stateh)
		c->stateh(c, err ? err : EPROTO);
}

static void watch(struct cli *c, bool want_write)
{
	struct epoll_event ev = {.events = EPOLLIN | (want_write ? EPOLLOUT : 0u), .data.ptr = c};

	if (want_write == c->want_write || c->fd < 0)
		return;
	c->want_write = want_write;
	epoll_ctl(c->epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

static void flush(struct cli *c)
{
	while (buf_unread(&c->out)) {
		ssize_t n = send(c->fd, buf_head(&c->out), buf_unread(&c->out), MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINPROGRESS)
				break;
			fail(c, errno, "send failed");
			return;
		}
		buf_consume(&c->out, (size_t)n);
	}
	buf_compact(&c->out);
	watch(c, buf_unread(&c->out) > 0);
}

static int send_msg(struct cli *c, uint32_t csid, uint8_t type, uint32_t sid, uint32_t ts,
		    const uint8_t *body, uint32_t len)
{
	struct rtmp_msg m = {
		.csid = csid, .ts = ts, .type = type, .stream_id = sid, .len = len, .body = body,
	};
	return chunker_write(&c->ch, &c->out, &m);
}

static int send_u32(struct cli *c, uint8_t type, uint32_t v)
{
	uint8_t b[4];

	put_be32(b, v);
	return send_msg(c, CS_CONTROL, type, 0, 0, b, 4);
}

static int send_uc(struct cli *c, uint16_t event, uint32_t v, const uint32_t *extra)
{
	uint8_t b[10];

	put_be16(b, event);
	put_be32(b + 2, v);
	if (extra)
		put_be32(b + 6, *extra);
	return send_msg(c, CS_CONTROL, RTMP_USER_CONTROL, 0, 0, b, extra ? 10 : 6);
}

/* Send the AMF0 command held in b on csid/sid. */
static int send_cmd(struct cli *c, struct buf *b, int err, uint32_t csid, uint32_t sid)
{
	if (!err)
		err = send_msg(c, csid, RTMP_CMD_AMF0, sid, 0, buf_head(b), (uint32_t)buf_unread(b));
	buf_reset(b);
	return err;
}

static int write_login(struct buf *b, const struct cli_login *l)
{
	int bad = amf0_w_obj_start(b) || amf0_w_key(b, "username") || amf0_w_str(b, l->username) ||
		  amf0_w_key(b, "domain") || amf0_w_str(b, l->domain) ||
		  amf0_w_key(b, "password") || amf0_w_str(b, l->password) ||
		  amf0_w_key(b, "resource") || amf0_w_str(b, l->resource);

	if (l->host[0])
		bad = bad || amf0_w_key(b, "host") || amf0_w_str(b, l->host);
	if (l->port)
		bad = bad || amf0_w_key(b, "port") || amf0_w_num(b, l->port);
	return bad || amf0_w_obj_end(b);
}

static int send_connect(struct cli *c)
{
	struct buf b;
	bool pub = c->role == CLI_PUBLISH;
	int bad;

	buf_init(&b);
	bad = amf0_w_str(&b, "connect") || amf0_w_num(&b, TX_CONNECT) || amf0_w_obj_start(&b) ||
	      amf0_w_key(&b, "app") || amf0_w_str(&b, c->tgt->app);
	if (pub)
		bad = bad || amf0_w_key(&b, "type") || amf0_w_str(&b, "nonprivate");
	bad = bad || amf0_w_key(&b, "flashVer") ||
	      amf0_w_str(&b, pub ? "FMLE/3.0 (compatible; rtmpload)" : "LNX 9,0,124,2") ||
	      amf0_w_key(&b, "tcUrl") || amf0_w_str(&b, c->tgt->tcurl);
	if (!pub)
		bad = bad || amf0_w_key(&b, "fpad") || amf0_w_bool(&b, false) ||
		      amf0_w_key(&b, "capabilities") || amf0_w_num(&b, 15) ||
		      amf0_w_key(&b, "audioCodecs") || amf0_w_num(&b, 4071) ||
		      amf0_w_key(&b, "videoCodecs") || amf0_w_num(&b, 252) ||
		      amf0_w_key(&b, "videoFunction") || amf0_w_num(&b, 1);
	bad = bad || amf0_w_obj_end(&b) || (c->login && write_login(&b, c->login));
	return send_cmd(c, &b, bad ? ENOMEM : 0, CS_CMD, 0);
}

static int send_create(struct cli *c)
{
	struct buf b;
	int bad;

	buf_init(&b);
	bad = amf0_w_str(&b, "createStream") || amf0_w_num(&b, TX_CREATE) || amf0_w_null(&b);
	return send_cmd(c, &b, bad ? ENOMEM : 0, CS_CMD, 0);
}

static int send_start(struct cli *c)
{
	struct buf b;
	uint32_t buflen = BUFLEN_MS;
	int bad, err;

	buf_init(&b);
	bad = amf0_w_str(&b, c->role == CLI_PUBLISH ? "publish" : "play") ||
	      amf0_w_num(&b, TX_START) || amf0_w_null(&b) || amf0_w_str(&b, c->name) ||
	      (c->role == CLI_PUBLISH ? amf0_w_str(&b, "live") : amf0_w_num(&b, -2000));
	err = send_cmd(c, &b, bad ? ENOMEM : 0, CS_STREAM, c->sid);
	if (!err && c->role == CLI_PLAY)
		err = send_uc(c, UC_SET_BUFFER_LEN, c->sid, &buflen);
	return err;
}

int cli_start(struct cli *c)
{
	struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.ptr = c};
	const struct sockaddr *sa = (const struct sockaddr *)&c->tgt->addr;
	uint8_t c0c1[1 + HS_LEN];
	int one = 1, err;

	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return errno;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	err = connect(c->fd, sa, sizeof(c->tgt->addr)) && errno != EINPROGRESS ? errno : 0;
	if (!err && epoll_ctl(c->epfd, EPOLL_CTL_ADD, c->fd, &ev))
		err = errno;
	if (err) {
		close(c->fd);
		c->fd = -1;
		return err;
	}
	c->want_write = true;
	/* C0, then C1: time 0, version 0 (the simple handshake), filler. */
	c0c1[0] = 3;
	memset(c0c1 + 1, 0, 8);
	for (int i = 9; i < (int)sizeof(c0c1); i++)
		c0c1[i] = (uint8_t)(i * 131 + 7);
	c->state = CLI_HANDSHAKE;
	return buf_append(&c->out, c0c1, sizeof(c0c1));
}

static void on_status(struct cli *c, struct amf0_r *r)
{
	double tx;
	char level[16];
	struct amf0_r r2;

	if (amf0_r_num(r, &tx) || amf0_skip(r))
		return;
	r2 = *r;
	if (amf0_r_prop_str(r, "code", c->code, sizeof(c->code)) ||
	    amf0_r_prop_str(&r2, "level", level, sizeof(level)))
		return;
	if (c->state != CLI_START)
		return;
	if (!strcmp(level, "error")) {
		fail(c, EPROTO, c->role == CLI_PUBLISH ? "publish refused" : "play refused");
		return;
	}
	if (!strcmp(c->code, c->role == CLI_PUBLISH ? "NetStream.Publish.Start"
						    : "NetStream.Play.Start")) {
		c->state = CLI_READY;
		if (c->stateh)
			c->stateh(c, 0);
	}
}

static int on_result(struct cli *c, struct amf0_r *r, bool ok)
{
	double tx, sid;

	if (amf0_r_num(r, &tx))
		return EBADMSG;
	if (c->state == CLI_CONNECT && tx == TX_CONNECT) {
		if (!ok) {
			fail(c, ECONNREFUSED, "connect refused");
			return 0;
		}
		c->state = CLI_CREATE;
		return send_create(c);
	}
	if (c->state == CLI_CREATE && tx == TX_CREATE) {
		if (!ok || amf0_skip(r) || amf0_r_num(r, &sid) || sid < 1 || sid > 1e6) {
			fail(c, EPROTO, "createStream failed");
			return 0;
		}
		c->sid = (uint32_t)sid;
		c->state = CLI_START;
		return send_start(c);
	}
	return 0;
}

static int on_command(struct cli *c, const struct rtmp_msg *m)
{
	struct amf0_r r = {m->body, m->body + m->len};
	char name[32];

	if (m->type == RTMP_CMD_AMF3 && m->len)
		r.p++;   /* the 0 format byte; the values are AMF0 unless switched */
	if (amf0_r_str(&r, name, sizeof(name)))
		return 0;
	if (!strcmp(name, "_result") || !strcmp(name, "_error"))
		return on_result(c, &r, name[1] == 'r');
	if (!strcmp(name, "onStatus"))
		on_status(c, &r);
	else if (c->invokeh && !amf0_skip(&r))
		c->invokeh(c, name, &r);
	return 0;
}

static int on_control(struct cli *c, const struct rtmp_msg *m)
{
	switch (m->type) {
	case RTMP_SET_CHUNK_SIZE:
		if (m->len < 4 || dechunk_set_chunk_size(&c->dc, be32(m->body)))
			return EPROTO;
		return 0;
	case RTMP_WINDOW_ACK_SIZE:
		if (m->len >= 4)
			c->ack_window = be32(m->body);
		return 0;
	case RTMP_USER_CONTROL:
		if (m->len >= 6 && be16(m->body) == UC_PING_REQUEST)
			return send_uc(c, UC_PING_RESPONSE, be32(m->body + 2), NULL);
		return 0;
	default:
		return 0;
	}
}

static int on_message(struct cli *c, const struct rtmp_msg *m, int64_t now)
{
	switch (m->type) {
	case RTMP_AUDIO:
		if (c->audioh && c->state == CLI_READY)
			c->audioh(c, m, now);
		return 0;
	case RTMP_CMD_AMF0: case RTMP_CMD_AMF3:
		return on_command(c, m);
	case RTMP_SET_CHUNK_SIZE: case RTMP_WINDOW_ACK_SIZE: case RTMP_USER_CONTROL:
		return on_control(c, m);
	default:
		return 0;   /* acks, peer bandwidth, data messages, video */
	}
}

static int handshake(struct cli *c)
{
	if (buf_unread(&c->in) < 1 + 2 * HS_LEN)
		return ENODATA;
	if (buf_head(&c->in)[0] != 3)
		return EPROTO;
	/* C2 echoes S1. */
	if (buf_append(&c->out, buf_head(&c->in) + 1, HS_LEN))
		return ENOMEM;
	buf_consume(&c->in, 1 + 2 * HS_LEN);
	c->state = CLI_CONNECT;
	if (send_u32(c, RTMP_SET_CHUNK_SIZE, OUR_CHUNK))
		return ENOMEM;
	c->ch.chunk_size = OUR_CHUNK;
	return send_connect(c);
}

static void process(struct cli *c, int64_t now)
{
	while (c->state != CLI_CLOSED && buf_unread(&c->in)) {
		struct rtmp_msg m;
		size_t used;
		int err;

		if (c->state == CLI_HANDSHAKE) {
			err = handshake(c);
			if (err == ENODATA)
				break;
			if (err) {
				fail(c, err, "bad handshake");
				return;
			}
			continue;
		}
		err = dechunk_next(&c->dc, buf_head(&c->in), buf_unread(&c->in), &used, &m);
		buf_consume(&c->in, used);
		if (err == ENODATA)
			break;
		if (err == EAGAIN)
			continue;
		if (err || (err = on_message(c, &m, now))) {
			fail(c, err, c->dc.why ? c->dc.why : "bad message");
			return;
		}
	}
	if (c->state != CLI_CLOSED)
		buf_compact(&c->in);
}

static void readable(struct cli *c)
{
	for (int rounds = 0; rounds < 8 && c->state != CLI_CLOSED; rounds++) {
		ssize_t n;

		if (buf_reserve(&c->in, READ_ROOM)) {
			fail(c, ENOMEM, "out of memory");
			return;
		}
		n = recv(c->fd, c->in.data + c->in.len, READ_ROOM, 0);
		if (n == 0) {
			fail(c, ECONNRESET, "server closed the connection");
			return;
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				fail(c, errno, errno == ECONNREFUSED ? "connection refused"
					       : errno == ECONNRESET ? "connection reset" : "recv failed");
			return;
		}
		c->in.len += (size_t)n;
		c->rx_bytes += (uint64_t)n;
		process(c, cli_now_ns());
		if (c->state != CLI_CLOSED && c->ack_window &&
		    c->rx_bytes - c->rx_acked >= c->ack_window) {
			c->rx_acked = c->rx_bytes;
			send_u32(c, RTMP_ACK, (uint32_t)c->rx_bytes);
		}
		if (n < READ_ROOM)
			return;
	}
}

void cli_io(struct cli *c, uint32_t events)
{
	if (c->state == CLI_CLOSED)
		return;
	if (events & (EPOLLERR | EPOLLHUP) && !(events & EPOLLIN)) {
		int err = 0;
		socklen_t len = sizeof(err);
		getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
		fail(c, err ? err : ECONNRESET, "connection failed");
		return;
	}
	if (events & EPOLLIN)
		readable(c);
	if (c->state != CLI_CLOSED)
		flush(c);
}

int cli_send_audio(struct cli *c, uint32_t ts, const uint8_t *body, uint32_t len)
{
	int err;

	if (c->state != CLI_READY)
		return EPIPE;
	err = send_msg(c, CS_AUDIO, RTMP_AUDIO, c->sid, ts, body, len);
	if (err)
		return err;
	if (!c->want_write)
		flush(c);
	return 0;
}
