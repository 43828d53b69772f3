/* floor: the physical floor for path (a), TCP -> UDP -> TCP on loopback.
 *
 * The least a relay on this machine can do: read RTMP audio from a
 * publisher over TCP, pass each message through a UDP socket to itself,
 * and write it to the players of the same stream name over TCP.  It speaks
 * just enough RTMP for rtmpload and FFmpeg: the gateway's handshake.c and
 * chunk.c, and canned answers to connect, createStream, publish and play.
 * No acknowledgements, pings, limits or queues: one thread, one epoll loop
 * (base/loop.c), like the servers it is compared with.
 *
 *   floor --listen 127.0.0.1:PORT [--direct]
 *
 * --direct skips the UDP hop (TCP -> TCP): the floor for path (a) itself,
 * which has no UDP leg.
 *
 * Datagram: u32 stream index, u32 timestamp, the audio message body. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "floor.h"
#include "log.h"
#include "mem.h"

#define READ_ROOM 16384
#define DGRAM_MAX 65536

static void conn_destroy(void *arg)
{
	struct fconn *c = arg;

	dechunk_reset(&c->dc);
	buf_reset(&c->in);
	buf_reset(&c->out);
}

static void conn_close(struct fconn *c)
{
	floor_leave(c);
	loop_fd_close(c->fl->loop, c->fd);
	close(c->fd);
	mem_deref(c);
}

static void watch(struct fconn *c, bool want_write)
{
	if (want_write == c->want_write || c->dead)
		return;
	c->want_write = want_write;
	loop_fd_listen(c->fl->loop, c->fd, LOOP_READ | (want_write ? LOOP_WRITE : 0), floor_on_io, c);
}

void floor_flush(struct fconn *c)
{
	while (!c->dead && buf_unread(&c->out)) {
		ssize_t n = send(c->fd, buf_head(&c->out), buf_unread(&c->out), MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				c->dead = true;   /* closed when its read fails */
			break;
		}
		buf_consume(&c->out, (size_t)n);
	}
	buf_compact(&c->out);
	watch(c, buf_unread(&c->out) > 0);
}

int floor_send(struct fconn *c, uint32_t csid, uint8_t type, uint32_t sid, uint32_t ts,
	       const uint8_t *body, uint32_t len)
{
	struct rtmp_msg m = {
		.csid = csid, .ts = ts, .type = type, .stream_id = sid, .len = len, .body = body,
	};

	if (c->dead)
		return EPIPE;
	return chunker_write(&c->ch, &c->out, &m);
}

/* An audio message -> every player of stream idx. */
static void deliver(struct floor *fl, uint32_t idx, uint32_t ts, const uint8_t *body,
		    uint32_t len)
{
	if (idx >= fl->nstreams)
		return;
	for (uint32_t i = 0; i < fl->streams[idx].nplayers; i++) {
		struct fconn *p = fl->streams[idx].players[i];
		if (!floor_send(p, FLOOR_CS_AUDIO, RTMP_AUDIO, 1, ts, body, len))
			floor_flush(p);
	}
}

/* Publisher audio -> one datagram to ourselves (or, with --direct, straight
 * to the players). */
static void relay_out(struct fconn *c, const struct rtmp_msg *m)
{
	uint8_t d[DGRAM_MAX];
	struct floor *fl = c->fl;

	if (!c->stream || m->len > sizeof(d) - 8)
		return;
	if (fl->direct) {
		deliver(fl, c->stream - 1, m->ts, m->body, m->len);
		return;
	}
	put_be32(d, c->stream - 1);
	put_be32(d + 4, m->ts);
	memcpy(d + 8, m->body, m->len);
	if (sendto(fl->ufd, d, 8 + m->len, 0, (struct sockaddr *)&fl->uaddr, sizeof(fl->uaddr)) < 0)
		fl->udp_drops++;
}

/* Datagrams -> the players of their stream. */
static void on_udp(int fd, int flags, void *arg)
{
	struct floor *fl = arg;
	uint8_t d[DGRAM_MAX];

	(void)flags;
	for (;;) {
		ssize_t n = recv(fd, d, sizeof(d), 0);

		if (n < 8)
			return;   /* EAGAIN, or a runt */
		deliver(fl, be32(d), be32(d + 4), d + 8, (uint32_t)n - 8);
	}
}

static int on_msg(struct fconn *c, const struct rtmp_msg *m)
{
	switch (m->type) {
	case RTMP_SET_CHUNK_SIZE:
		return m->len < 4 ? EPROTO : dechunk_set_chunk_size(&c->dc, be32(m->body));
	case RTMP_AUDIO:
		if (c->role == FLOOR_PUB)
			relay_out(c, m);
		return 0;
	case RTMP_CMD_AMF0: case RTMP_CMD_AMF3:
		return floor_command(c, m);
	default:
		return 0;
	}
}

static int process(struct fconn *c)
{
	while (buf_unread(&c->in)) {
		struct rtmp_msg m;
		size_t used;
		int err;

		if (c->hs.state != HS_DONE) {
			int n = handshake_input(&c->hs, buf_head(&c->in), buf_unread(&c->in), &c->out);
			if (n < 0)
				return -n;
			buf_consume(&c->in, (size_t)n);
			if (c->hs.state != HS_DONE)
				break;
			continue;
		}
		err = dechunk_next(&c->dc, buf_head(&c->in), buf_unread(&c->in), &used, &m);
		buf_consume(&c->in, used);
		if (err == ENODATA)
			break;
		if (err == EAGAIN)
			continue;
		if (err || (err = on_msg(c, &m)))
			return err;
	}
	buf_compact(&c->in);
	return 0;
}

void floor_on_io(int fd, int flags, void *arg)
{
	struct fconn *c = arg;

	if (flags & LOOP_READ) {
		ssize_t n;

		if (buf_reserve(&c->in, READ_ROOM)) {
			conn_close(c);
			return;
		}
		n = recv(fd, c->in.data + c->in.len, READ_ROOM, 0);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
			conn_close(c);
			return;
		}
		if (n > 0) {
			c->in.len += (size_t)n;
			if (process(c)) {
				conn_close(c);
				return;
			}
		}
	}
	floor_flush(c);
}

static void on_accept(int fd, int flags, void *arg)
{
	struct floor *fl = arg;
	static const struct dechunk_limits lim = {
		.max_msg = 1 << 20, .max_chunk = 1 << 24, .max_streams = 32, .max_buffered = 2 << 20,
	};

	(void)flags;
	for (;;) {
		int one = 1, s = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct fconn *c;

		if (s < 0)
			return;
		setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		c = mem_zalloc(sizeof(*c), conn_destroy);
		if (!c) {
			close(s);
			continue;
		}
		c->fl = fl;
		c->fd = s;
		handshake_init(&c->hs, 0);
		dechunk_init(&c->dc, &lim);
		chunker_init(&c->ch);
		if (loop_fd_listen(fl->loop, s, LOOP_READ, floor_on_io, c)) {
			close(s);
			mem_deref(c);
		}
	}
}

static int open_sockets(struct floor *fl, const char *host, uint16_t port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
	socklen_t len = sizeof(fl->uaddr);
	int one = 1, buf = 4 << 20;

	if (inet_pton(AF_INET, host, &a.sin_addr) != 1)
		return EINVAL;
	fl->lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	fl->ufd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fl->lfd < 0 || fl->ufd < 0)
		return errno;
	setsockopt(fl->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fl->lfd, (struct sockaddr *)&a, sizeof(a)) || listen(fl->lfd, 511))
		return errno;
	/* The UDP socket sends to itself on an ephemeral loopback port. */
	a.sin_port = 0;
	setsockopt(fl->ufd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
	if (bind(fl->ufd, (struct sockaddr *)&a, sizeof(a)) ||
	    getsockname(fl->ufd, (struct sockaddr *)&fl->uaddr, &len))
		return errno;
	return 0;
}

int main(int argc, char **argv)
{
	struct floor fl = {.lfd = -1, .ufd = -1};
	char host[64] = "127.0.0.1";
	const char *colon;
	uint16_t port;
	int err;

	fl.direct = argc == 4 && !strcmp(argv[3], "--direct");
	if (argc < 3 || argc > 4 || (argc == 4 && !fl.direct) || strcmp(argv[1], "--listen") ||
	    !(colon = strrchr(argv[2], ':')) || (size_t)(colon - argv[2]) >= sizeof(host)) {
		fprintf(stderr, "usage: floor --listen HOST:PORT [--direct]\n");
		return 2;
	}
	memcpy(host, argv[2], (size_t)(colon - argv[2]));
	host[colon - argv[2]] = '\0';
	port = (uint16_t)atoi(colon + 1);
	err = open_sockets(&fl, host, port);
	if (!err)
		err = loop_alloc(&fl.loop);
	if (!err)
		err = loop_fd_listen(fl.loop, fl.lfd, LOOP_READ, on_accept, &fl);
	if (!err)
		err = loop_fd_listen(fl.loop, fl.ufd, LOOP_READ, on_udp, &fl);
	if (err) {
		fprintf(stderr, "floor: %s\n", strerror(err));
		return 1;
	}
	if (fl.direct)
		printf("floor ready: rtmp://%s:%u/xmpp (TCP -> TCP)\n", host, port);
	else
		printf("floor ready: rtmp://%s:%u/xmpp (TCP -> UDP 127.0.0.1:%u -> TCP)\n", host,
		       port, ntohs(fl.uaddr.sin_port));
	fflush(stdout);
	err = loop_run(fl.loop);
	floor_streams_free(&fl);
	mem_deref(fl.loop);
	return err ? 1 : 0;
}
