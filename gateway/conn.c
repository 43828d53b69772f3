/* One RTMP client connection: socket I/O, handshake, message dispatch,
 * and the output path (one writer, bounded audio queue). */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "log.h"
#include "mem.h"
#include "rtmp.h"

#define READ_CHUNK 16384
#define AUDIO_LOW_WATER 4096   /* serialize queued audio below this many bytes */
#define NOTSENT_LOWAT 16384    /* bytes the kernel may hold unsent for us */
#define LOGIN_TIMEOUT_MS 30000 /* login at connect: DNS, TLS, SASL, bind */

static void on_io(int fd, int flags, void *arg);
static void on_tick(void *arg);

static void conn_destructor(void *arg)
{
	struct rtmp_conn *c = arg;

	dechunk_reset(&c->dc);
	buf_reset(&c->in);
	buf_reset(&c->out);
	mem_deref(c->aq.slot);
}

int conn_accept(struct server *srv, int fd, const char *peer, const char *ip)
{
	struct dechunk_limits lim = {
		.max_msg = srv->cfg->max_message_size,
		.max_chunk = srv->cfg->max_chunk_size,
		.max_streams = 32,
		.max_buffered = srv->cfg->max_message_size * 2,
	};
	struct rtmp_conn *c;
	int one = 1, lowat = NOTSENT_LOWAT, err;

	c = mem_zalloc(sizeof(*c), conn_destructor);
	if (!c)
		return ENOMEM;
	c->srv = srv;
	c->id = ++srv->next_id;
	c->fd = fd;
	snprintf(c->peer, sizeof(c->peer), "%s", peer);
	snprintf(c->ip, sizeof(c->ip), "%s", ip);
	handshake_init(&c->hs, 0);
	dechunk_init(&c->dc, &lim);
	chunker_init(&c->ch);
	c->ack_window = 2500000;
	c->aq.cap = srv->cfg->audio_queue;
	c->last_rx = loop_now();
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(fd, IPPROTO_TCP, TCP_NOTSENT_LOWAT, &lowat, sizeof(lowat));
	err = loop_fd_listen(srv->loop, fd, LOOP_READ, on_io, c);
	if (err) {
		mem_deref(c);
		return err;
	}
	list_append(&srv->conns, &c->le, c);
	server_load_changed(srv);
	tmr_start(srv->loop, &c->tmr, (uint64_t)srv->cfg->handshake_timeout * 1000, on_tick, c);
	LOGD("conn %llu: accepted from %s", (unsigned long long)c->id, c->peer);
	return 0;
}

void conn_destroy_now(struct rtmp_conn *c)
{
	if (c->state == CONN_CLOSED)
		return;
	c->state = CONN_CLOSED;
	for (int i = 0; i < RTMP_MAX_STREAMS; i++)
		if (c->streams[i].id)
			stream_delete(&c->streams[i]);
	xrpc_detach(c, c->srv->stopping ? "server-shutdown" : "client-requested");
	tmr_cancel(c->srv->loop, &c->tmr);
	tmr_cancel(c->srv->loop, &c->close_tmr);
	loop_fd_close(c->srv->loop, c->fd);
	close(c->fd);
	c->fd = -1;
	list_unlink(&c->le);
	server_load_changed(c->srv);
	if (c->close_why)
		LOGI("conn %llu %s: closed: %s", (unsigned long long)c->id, c->peer, c->close_why);
	mem_deref(c);
}

static void on_close_tmr(void *arg)
{
	conn_destroy_now(arg);
}

void conn_fail(struct rtmp_conn *c, const char *why)
{
	if (c->state == CONN_CLOSED || tmr_isrunning(&c->close_tmr))
		return;
	c->close_why = why;
	/* Stop reading now; tear down outside whatever handler noticed it. */
	loop_fd_listen(c->srv->loop, c->fd, 0, on_io, c);
	tmr_start(c->srv->loop, &c->close_tmr, 0, on_close_tmr, c);
}

static bool dead(const struct rtmp_conn *c)
{
	return c->state == CONN_CLOSED || tmr_isrunning(&c->close_tmr);
}

static void update_watch(struct rtmp_conn *c, bool want_write)
{
	if (want_write == c->want_write || dead(c))
		return;
	c->want_write = want_write;
	loop_fd_listen(c->srv->loop, c->fd, LOOP_READ | (want_write ? LOOP_WRITE : 0), on_io, c);
}

/* Move queued audio into the output buffer, oldest first. */
static void fill_audio(struct rtmp_conn *c)
{
	struct audio_q *q = &c->aq;

	while (q->n && buf_unread(&c->out) < AUDIO_LOW_WATER) {
		struct audio_slot *s = &q->slot[q->head];
		struct rtmp_msg m = {
			.csid = CSID_AUDIO, .ts = s->ts, .type = RTMP_AUDIO,
			.stream_id = s->stream_id, .len = s->len, .body = s->data,
		};
		if (chunker_write(&c->ch, &c->out, &m)) {
			conn_fail(c, "out of memory");
			return;
		}
		q->head = (q->head + 1) % q->cap;
		q->n--;
	}
}

void conn_flush(struct rtmp_conn *c)
{
	if (dead(c))
		return;
	for (;;) {
		ssize_t n;

		if (!buf_unread(&c->out))
			fill_audio(c);
		if (!buf_unread(&c->out))
			break;
		n = send(c->fd, buf_head(&c->out), buf_unread(&c->out), MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			conn_fail(c, strerror(errno));
			return;
		}
		buf_consume(&c->out, (size_t)n);
	}
	buf_compact(&c->out);
	if (buf_unread(&c->out) > c->srv->cfg->out_limit) {
		conn_fail(c, "client stopped reading: output over the limit");
		return;
	}
	update_watch(c, buf_unread(&c->out) || c->aq.n);
}

int conn_send(struct rtmp_conn *c, uint32_t csid, uint8_t type, uint32_t stream_id,
	      uint32_t ts, const uint8_t *body, uint32_t len)
{
	struct rtmp_msg m = {
		.csid = csid, .ts = ts, .type = type, .stream_id = stream_id, .len = len,
		.body = body,
	};
	int err;

	if (dead(c))
		return EPIPE;
	err = chunker_write(&c->ch, &c->out, &m);
	if (err)
		conn_fail(c, "out of memory");
	return err;
}

void conn_send_audio(struct rtmp_conn *c, uint32_t stream_id, uint32_t ts,
		     const uint8_t *body, uint32_t len)
{
	struct audio_q *q = &c->aq;
	struct audio_slot *s;

	if (dead(c) || len > AUDIO_SLOT)
		return;
	if (!q->slot) {
		q->slot = mem_alloc(q->cap * sizeof(*q->slot), NULL);
		if (!q->slot) {
			conn_fail(c, "out of memory");
			return;
		}
	}
	if (q->n == q->cap) {
		q->head = (q->head + 1) % q->cap;   /* drop the oldest */
		q->n--;
		if (q->dropped++ % 500 == 0)
			LOGW("conn %llu %s: slow reader, dropped %llu audio messages",
			     (unsigned long long)c->id, c->peer, (unsigned long long)q->dropped);
	}
	s = &q->slot[(q->head + q->n) % q->cap];
	s->ts = ts;
	s->stream_id = stream_id;
	s->len = len;
	memcpy(s->data, body, len);
	q->n++;
	if (!c->want_write)
		conn_flush(c);
}

static int handle_msg(struct rtmp_conn *c, const struct rtmp_msg *m)
{
	struct rtmp_stream *s;

	switch (m->type) {
	case RTMP_SET_CHUNK_SIZE: case RTMP_ABORT: case RTMP_ACK:
	case RTMP_USER_CONTROL: case RTMP_WINDOW_ACK_SIZE: case RTMP_SET_PEER_BW:
		return control_handle(c, m);
	case RTMP_CMD_AMF0: case RTMP_CMD_AMF3:
		return cmd_handle(c, m);
	case RTMP_AUDIO: case RTMP_VIDEO:
		s = stream_get(c, m->stream_id);
		if (!s || s->role != ROLE_PUBLISH)
			return 0;   /* media on a stream that is not publishing */
		if (m->type == RTMP_AUDIO)
			stream_audio(s, m);
		else
			stream_video(s, m);
		return 0;
	default:
		/* data messages (@setDataFrame, onMetaData), shared objects,
		 * aggregates: accepted and ignored */
		LOGD("conn %llu: ignoring message type %u", (unsigned long long)c->id, m->type);
		return 0;
	}
}

static void process_input(struct rtmp_conn *c)
{
	while (!dead(c) && buf_unread(&c->in)) {
		struct rtmp_msg m;
		size_t used;
		int err;

		if (c->state == CONN_HANDSHAKE) {
			int n = handshake_input(&c->hs, buf_head(&c->in), buf_unread(&c->in), &c->out);
			if (n < 0) {
				conn_fail(c, n == -EPROTO ? "bad handshake (not RTMP, or RTMPE)"
					  : n == -ENOMEM ? "out of memory" : "handshake failed");
				return;
			}
			buf_consume(&c->in, (size_t)n);
			if (c->hs.state != HS_DONE)
				break;
			c->state = CONN_OPEN;
			LOGD("conn %llu: handshake done (%s)", (unsigned long long)c->id,
			     c->hs.digest ? "digest" : "simple");
			continue;
		}
		err = dechunk_next(&c->dc, buf_head(&c->in), buf_unread(&c->in), &used, &m);
		buf_consume(&c->in, used);
		if (err == ENODATA)
			break;
		if (err == EAGAIN)
			continue;
		if (err) {
			conn_fail(c, c->dc.why);
			return;
		}
		if (handle_msg(c, &m))
			return;
	}
	buf_compact(&c->in);
}

static void on_readable(struct rtmp_conn *c)
{
	for (int rounds = 0; rounds < 4 && !dead(c); rounds++) {
		ssize_t n;

		if (buf_reserve(&c->in, READ_CHUNK)) {
			conn_fail(c, "out of memory");
			return;
		}
		n = recv(c->fd, c->in.data + c->in.len, READ_CHUNK, 0);
		if (n == 0) {
			conn_fail(c, c->draining ? NULL : "client closed the connection");
			return;
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				conn_fail(c, strerror(errno));
			return;
		}
		if (c->draining)
			continue;   /* shutting down: discard until the client closes */
		c->in.len += (size_t)n;
		c->rx_bytes += (uint64_t)n;
		c->last_rx = loop_now();
		c->ping_sent = false;
		process_input(c);
		if (!dead(c) && c->state == CONN_OPEN)
			control_ack_check(c);
		if ((size_t)n < READ_CHUNK)
			return;
	}
}

static void on_io(int fd, int flags, void *arg)
{
	struct rtmp_conn *c = arg;

	(void)fd;
	mem_ref(c);
	if (flags & LOOP_READ)
		on_readable(c);
	conn_flush(c);
	mem_deref(c);
}

/* Handshake deadline, then the idle check: ping a silent client, drop it
 * once it has been silent for idle_timeout. */
static void on_tick(void *arg)
{
	struct rtmp_conn *c = arg;
	const struct rx_config *cfg = c->srv->cfg;
	uint64_t now = loop_now(), quiet = now - c->last_rx;

	if (!c->connected) {
		conn_fail(c, c->state == CONN_HANDSHAKE ? "handshake timeout"
			  : c->xl ? "XMPP login at connect took too long"
				  : "no connect command in time");
		return;
	}
	if (quiet >= (uint64_t)cfg->idle_timeout * 1000) {
		conn_fail(c, "idle timeout");
		return;
	}
	if (quiet >= (uint64_t)cfg->ping_interval * 1000 && !c->ping_sent) {
		control_send_uc(c, UC_PING_REQUEST, (uint32_t)now);
		c->ping_sent = true;
		conn_flush(c);
	}
	tmr_start(c->srv->loop, &c->tmr, 1000, on_tick, c);
}

void conn_connected(struct rtmp_conn *c)
{
	c->connected = true;
	c->last_rx = loop_now();
	tmr_start(c->srv->loop, &c->tmr, 1000, on_tick, c);
}

void conn_drain(struct rtmp_conn *c)
{
	if (dead(c) || c->draining)
		return;
	conn_flush(c);
	c->draining = true;
	shutdown(c->fd, SHUT_WR);
	tmr_cancel(c->srv->loop, &c->tmr);
}

void conn_defer_connect(struct rtmp_conn *c)
{
	tmr_start(c->srv->loop, &c->tmr, LOGIN_TIMEOUT_MS, on_tick, c);
}
