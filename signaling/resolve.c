/* DNS for XMPP connections on a helper thread (res_query and getaddrinfo
 * block, so they must not run on the loop). */
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <pthread.h>
#include <resolv.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "log.h"
#include "mem.h"
#include "resolve.h"

struct resolve {
	struct loop *loop;
	int pipe[2];
	pthread_t thread;
	bool started;
	char name[256];          /* SRV domain, or the host */
	bool srv;
	uint16_t port;
	/* results, written by the thread before it writes to the pipe */
	int err;
	char ip[INET6_ADDRSTRLEN];
	resolve_h *h;
	void *arg;
};

static void resolve_destructor(void *arg)
{
	struct resolve *r = arg;

	if (r->started)
		pthread_join(r->thread, NULL);
	if (r->pipe[0] >= 0) {
		loop_fd_close(r->loop, r->pipe[0]);
		close(r->pipe[0]);
	}
	if (r->pipe[1] >= 0)
		close(r->pipe[1]);
}

/* The best SRV target (lowest priority, then highest weight), or none. */
static int lookup_srv(const char *domain, char *target, size_t tsize, uint16_t *port)
{
	unsigned char ans[4096];
	char q[300];
	ns_msg msg;
	int n, best_prio = 65536, best_weight = -1;

	snprintf(q, sizeof(q), "_xmpp-client._tcp.%s", domain);
	n = res_query(q, ns_c_in, ns_t_srv, ans, sizeof(ans));
	if (n <= 0 || ns_initparse(ans, n, &msg) < 0)
		return ENOENT;
	for (int i = 0; i < ns_msg_count(msg, ns_s_an); i++) {
		ns_rr rr;
		const unsigned char *rd;
		char t[NS_MAXDNAME];
		int prio, weight;

		if (ns_parserr(&msg, ns_s_an, i, &rr) || ns_rr_type(rr) != ns_t_srv ||
		    ns_rr_rdlen(rr) < 7)
			continue;
		rd = ns_rr_rdata(rr);
		prio = rd[0] << 8 | rd[1];
		weight = rd[2] << 8 | rd[3];
		if (dn_expand(ns_msg_base(msg), ns_msg_end(msg), rd + 6, t, sizeof(t)) < 0)
			continue;
		if (!strcmp(t, ".") || !t[0])
			continue;   /* "service not available" */
		if (prio < best_prio || (prio == best_prio && weight > best_weight)) {
			best_prio = prio;
			best_weight = weight;
			snprintf(target, tsize, "%s", t);
			*port = (uint16_t)(rd[4] << 8 | rd[5]);
		}
	}
	return best_weight >= 0 ? 0 : ENOENT;
}

static void *run(void *arg)
{
	struct resolve *r = arg;
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
	char target[NS_MAXDNAME];
	uint16_t port = r->port ? r->port : 5222;
	char one = 1;

	snprintf(target, sizeof(target), "%s", r->name);
	if (r->srv && lookup_srv(r->name, target, sizeof(target), &port))
		snprintf(target, sizeof(target), "%s", r->name);
	if (getaddrinfo(target, NULL, &hints, &res) || !res) {
		r->err = EHOSTUNREACH;
	} else {
		const void *a = res->ai_family == AF_INET6
			? (const void *)&((struct sockaddr_in6 *)res->ai_addr)->sin6_addr
			: (const void *)&((struct sockaddr_in *)res->ai_addr)->sin_addr;
		inet_ntop(res->ai_family, a, r->ip, sizeof(r->ip));
		r->port = port;
	}
	if (res)
		freeaddrinfo(res);
	if (write(r->pipe[1], &one, 1) != 1)
		r->err = EIO;
	return NULL;
}

static void on_done(int fd, int flags, void *arg)
{
	struct resolve *r = arg;
	char c;

	(void)flags;
	if (read(fd, &c, 1) != 1)
		return;
	loop_fd_close(r->loop, fd);
	pthread_join(r->thread, NULL);
	r->started = false;
	if (r->h)
		r->h(r->err, r->ip, r->port, r->arg);
	mem_deref(r);   /* the reference the thread held */
}

int resolve_start(struct resolve **rp, struct loop *loop, const char *domain, const char *host,
		  uint16_t port, resolve_h *h, void *arg)
{
	struct resolve *r = mem_zalloc(sizeof(*r), resolve_destructor);
	int err;

	if (!r)
		return ENOMEM;
	r->pipe[0] = r->pipe[1] = -1;
	r->loop = loop;
	r->srv = !host;
	r->port = port;
	r->h = h;
	r->arg = arg;
	snprintf(r->name, sizeof(r->name), "%s", host ? host : domain);
	if (pipe2(r->pipe, O_CLOEXEC | O_NONBLOCK)) {
		err = errno;
		goto fail;
	}
	err = loop_fd_listen(loop, r->pipe[0], LOOP_READ, on_done, r);
	if (err)
		goto fail;
	err = pthread_create(&r->thread, NULL, run, r);
	if (err)
		goto fail;
	r->started = true;
	*rp = mem_ref(r);   /* one for the caller, one until the thread reports */
	return 0;
fail:
	mem_deref(r);
	return err;
}

void resolve_cancel(struct resolve *r)
{
	if (!r)
		return;
	r->h = NULL;
	mem_deref(r);
}
