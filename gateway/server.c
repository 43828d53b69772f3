/* The RTMP listener: accepts connections under the connection limit and
 * shuts every client down cleanly. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "engine.h"
#include "log.h"
#include "mem.h"
#include "rtmp.h"
#include "srtp.h"
#include "worker.h"

#define SHUTDOWN_GRACE_MS 2000

static void server_destructor(void *arg)
{
	struct server *srv = arg;

	while (srv->conns.head)
		conn_destroy_now(srv->conns.head->data);
	srv->echobot = mem_deref(srv->echobot);
	srv->eng = mem_deref(srv->eng);   /* after the calls: stops the media thread */
	if (srv->lfd >= 0) {
		loop_fd_close(srv->loop, srv->lfd);
		close(srv->lfd);
	}
	if (srv->spare_fd >= 0)
		close(srv->spare_fd);
	tmr_cancel(srv->loop, &srv->shutdown_tmr);
}

static void peer_name(const struct sockaddr_storage *ss, char *peer, size_t psize, char *ip,
		      size_t isize)
{
	char port[16];

	if (getnameinfo((const struct sockaddr *)ss, sizeof(*ss), ip, (socklen_t)isize, port,
			sizeof(port), NI_NUMERICHOST | NI_NUMERICSERV)) {
		snprintf(ip, isize, "?");
		snprintf(port, sizeof(port), "?");
	}
	snprintf(peer, psize, ss->ss_family == AF_INET6 ? "[%s]:%s" : "%s:%s", ip, port);
}

/* Out of descriptors: free the spare, accept and close one client so it
 * is not left hanging in the backlog, then take the spare back. */
static void refuse_one(struct server *srv)
{
	int fd;

	close(srv->spare_fd);
	fd = accept(srv->lfd, NULL, NULL);
	if (fd >= 0)
		close(fd);
	srv->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
}

static void on_accept(int lfd, int flags, void *arg)
{
	struct server *srv = arg;

	(void)flags;
	for (int i = 0; i < 64; i++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		char peer[64], ip[48];
		int fd = accept4(lfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE) {
				LOGW("out of file descriptors: refusing a client");
				refuse_one(srv);
			} else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
				   errno != ECONNABORTED) {
				LOGE("accept: %s", strerror(errno));
			}
			return;
		}
		peer_name(&ss, peer, sizeof(peer), ip, sizeof(ip));
		if (srv->stopping || srv->conns.n >= srv->cfg->max_connections) {
			LOGW("refusing %s: %s", peer,
			     srv->stopping ? "shutting down" : "connection limit reached");
			close(fd);
			continue;
		}
		if (conn_accept(srv, fd, peer, ip)) {
			LOGE("cannot take connection from %s", peer);
			close(fd);
		}
	}
}

int server_listen(const struct rx_config *cfg, int *fdp)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
	struct addrinfo *res, *ai;
	char port[8];
	int fd = -1, one = 1, err;

	snprintf(port, sizeof(port), "%u", cfg->listen_port);
	err = getaddrinfo(cfg->listen_host, port, &hints, &res);
	if (err) {
		LOGE("listen address %s: %s", cfg->listen_host, gai_strerror(err));
		return EINVAL;
	}
	err = EADDRNOTAVAIL;
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (!bind(fd, ai->ai_addr, ai->ai_addrlen) && !listen(fd, 511))
			break;
		err = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		LOGE("cannot listen on %s:%u: %s", cfg->listen_host, cfg->listen_port, strerror(err));
		return err;
	}
	*fdp = fd;
	return 0;
}

/* A worker: the master hands us accepted sockets over the channel. */
static void on_channel(int ch, int flags, void *arg)
{
	struct server *srv = arg;
	char peer[64], ip[48];
	int fd, n;

	(void)flags;
	for (int i = 0; i < 64; i++) {
		n = worker_recv_fd(ch, &fd, peer, sizeof(peer), ip, sizeof(ip));
		if (n == EAGAIN)
			return;
		if (n) {
			LOGI("master went away: shutting down");
			loop_fd_close(srv->loop, ch);
			server_shutdown(srv, srv->orphan_h, srv->orphan_arg);
			return;
		}
		srv->received++;
		if (fd < 0) {
			server_load_changed(srv);
			continue;   /* the descriptor did not arrive (limit reached) */
		}
		if (srv->stopping || srv->conns.n >= srv->cfg->users_per_worker ||
		    conn_accept(srv, fd, peer, ip)) {
			LOGW("cannot take connection from %s", peer);
			close(fd);
			server_load_changed(srv);
		}
	}
}

void server_load_changed(struct server *srv)
{
	if (srv->cfg->worker_channel >= 0)
		worker_report(srv->cfg->worker_channel, srv->received, (uint32_t)srv->conns.n);
}

/* The media engine of this process: its own thread, for every call here. */
static int start_engine(struct server *srv)
{
	const struct rx_config *cfg = srv->cfg;
	struct mengine_config mc;
	char host[256];
	int err;

	memset(&mc, 0, sizeof(mc));
	if (cfg->stun_server[0]) {
		const char *colon = strrchr(cfg->stun_server, ':');
		size_t n = colon && !strchr(colon, ']') ? (size_t)(colon - cfg->stun_server) :
			   strlen(cfg->stun_server);
		snprintf(host, sizeof(host), "%.*s", (int)n, cfg->stun_server);
		mc.ice.stun_host = host;
		mc.ice.stun_port = colon && n < strlen(cfg->stun_server) ?
				   (uint16_t)atoi(colon + 1) : 0;
	}
	mc.ice.local_addrs = cfg->media_addrs[0] ? cfg->media_addrs : NULL;
	mc.ice.port_min = (uint16_t)cfg->rtp_port_min;
	mc.ice.port_max = (uint16_t)cfg->rtp_port_max;
	mc.max_calls = cfg->max_media_calls;
	mc.allow_plain = cfg->allow_plain_rtp;
	/* before mengine_alloc() starts the media thread */
	msrtp_set_backend((enum msrtp_backend)cfg->srtp_backend);
	LOGD("srtp: on %s", msrtp_backend_name((enum msrtp_backend)cfg->srtp_backend));
	err = mengine_alloc(&srv->eng, srv->loop, &mc);
	if (err)
		LOGE("media engine: %s", strerror(-err));
	return err;
}

int server_alloc(struct server **srvp, struct loop *loop, const struct rx_config *cfg,
		 void (*orphan_h)(void *arg), void *orphan_arg)
{
	struct server *srv = mem_zalloc(sizeof(*srv), server_destructor);
	int err;

	if (!srv)
		return ENOMEM;
	srv->loop = loop;
	srv->cfg = cfg;
	srv->lfd = -1;
	srv->orphan_h = orphan_h;
	srv->orphan_arg = orphan_arg;
	srv->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (cfg->voice && start_engine(srv))
		LOGE("voice calls are off: the media engine did not start");
	/* one echo account session: in the single process, or in worker 1 */
	if (cfg->echo_account[0] && cfg->worker_index <= 1) {
		if (!srv->eng)
			LOGE("the echo account is off: it needs voice calls");
		else
			echobot_alloc(&srv->echobot, srv);   /* it logs why if not */
	}
	if (cfg->worker_channel >= 0) {
		err = loop_fd_listen(loop, cfg->worker_channel, LOOP_READ, on_channel, srv);
	} else {
		err = server_listen(cfg, &srv->lfd);
		if (!err)
			err = loop_fd_listen(loop, srv->lfd, LOOP_READ, on_accept, srv);
	}
	if (err) {
		mem_deref(srv);
		return err;
	}
	if (srv->lfd >= 0)
		LOGI("listening on rtmp://%s:%u/%s", cfg->listen_host, cfg->listen_port, cfg->app);
	*srvp = srv;
	return 0;
}

static void check_done(void *arg)
{
	struct server *srv = arg;

	if (srv->conns.n && loop_now() < srv->shutdown_deadline) {
		tmr_start(srv->loop, &srv->shutdown_tmr, 50, check_done, srv);
		return;
	}
	while (srv->conns.head)
		conn_destroy_now(srv->conns.head->data);
	if (srv->done)
		srv->done(srv->done_arg);
}

void server_shutdown(struct server *srv, void (*done)(void *arg), void *arg)
{
	if (srv->stopping)
		return;
	srv->stopping = true;
	srv->done = done;
	srv->done_arg = arg;
	if (srv->lfd >= 0)
		loop_fd_close(srv->loop, srv->lfd);
	LOGI("shutting down: closing %zu connections", srv->conns.n);
	LIST_FOREACH(&srv->conns, e) {
		struct rtmp_conn *c = e->data;
		xrpc_shutdown(c);
		if (c->connected)
			cmd_status(c, 0, "status", "NetConnection.Connect.Closed",
				   "The gateway is shutting down.");
		c->close_why = NULL;
		conn_drain(c);
	}
	srv->shutdown_deadline = loop_now() + SHUTDOWN_GRACE_MS;
	check_done(srv);
}
