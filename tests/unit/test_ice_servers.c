/* Per-agent STUN and TURN servers (ice.h struct ice_servers) and per-call
 * ones (engine.h mcall_params.servers), seen from the servers' side: fake
 * servers are plain sockets on 127.0.0.1 that count the STUN requests
 * they get (Binding, Allocate) by source port, which is the agent's host
 * candidate; the TCP one counts connections.  Nothing answers, so no
 * candidate comes of it: what matters is who asked whom. */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include "engine.h"
#include "ice.h"
#include "loop.h"
#include "mem.h"
#include "test.h"

#define CHECK(c) TEST_ERR((c) ? 0 : EBADMSG)
#define BINDING 0x0001
#define ALLOCATE 0x0003
#define MAXREQ 64
#define WAIT_MS 5000
#define QUIET_MS 300     /* after the last expected request: nothing else may come */

struct fake {
	int fd;
	bool tcp;
	uint16_t port;
	unsigned nreq, accepted;
	struct {
		uint16_t from, type;
	} req[MAXREQ];
};

struct ag {
	struct ice_agent *a;
	uint16_t port;           /* its host candidate */
};

struct st {
	struct loop *loop;
	struct fake f[4];
	struct ag ag[4];
	struct tmr deadline, tick;
	bool expired;
	bool (*done)(struct st *s);
};

static void on_fake(int fd, int flags, void *arg)
{
	struct fake *f = arg;
	struct sockaddr_in from;
	socklen_t flen = sizeof(from);
	uint8_t b[1500];
	ssize_t n;

	(void)flags;
	if (f->tcp) {
		int c = accept(fd, NULL, NULL);
		if (c >= 0) {
			f->accepted++;
			close(c);
		}
		return;
	}
	n = recvfrom(fd, b, sizeof(b), 0, (struct sockaddr *)&from, &flen);
	/* a STUN message: its length field says what follows the 20-byte
	 * header (libnice's Binding for discovery is RFC 3489's, without the
	 * RFC 5389 magic cookie, so that is not checked) */
	if (n < 20 || (b[0] & 0xC0) || ((size_t)(b[2] << 8 | b[3]) != (size_t)n - 20) ||
	    f->nreq == MAXREQ)
		return;
	f->req[f->nreq].from = ntohs(from.sin_port);
	f->req[f->nreq].type = (uint16_t)(b[0] << 8 | b[1]);
	f->nreq++;
}

static unsigned got(const struct fake *f, uint16_t from, uint16_t type)
{
	unsigned n = 0;

	for (unsigned i = 0; i < f->nreq; i++)
		n += f->req[i].from == from && f->req[i].type == type;
	return n;
}

/* Anything from that port. */
static unsigned got_any(const struct fake *f, uint16_t from)
{
	return got(f, from, BINDING) + got(f, from, ALLOCATE);
}

static int fake_open(struct st *s, struct fake *f, bool tcp)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t alen = sizeof(a);

	f->tcp = tcp;
	f->fd = socket(AF_INET, (tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (f->fd < 0)
		return errno;
	if (bind(f->fd, (struct sockaddr *)&a, sizeof(a)) ||
	    getsockname(f->fd, (struct sockaddr *)&a, &alen) || (tcp && listen(f->fd, 8)))
		return errno;
	f->port = ntohs(a.sin_port);
	return loop_fd_listen(s->loop, f->fd, LOOP_READ, on_fake, f);
}

static void on_deadline(void *arg)
{
	struct st *s = arg;

	s->expired = true;
	loop_stop(s->loop);
}

static void on_tick(void *arg)
{
	struct st *s = arg;

	if (s->done && s->done(s)) {
		loop_stop(s->loop);
		return;
	}
	tmr_start(s->loop, &s->tick, 5, on_tick, s);
}

/* Until done(s) (NULL: never) or ms have passed. */
static int run(struct st *s, bool (*done)(struct st *s), uint64_t ms)
{
	int err;

	s->expired = false;
	s->done = done;
	if ((err = tmr_start(s->loop, &s->deadline, ms, on_deadline, s)) ||
	    (err = tmr_start(s->loop, &s->tick, 0, on_tick, s)))
		return err;
	err = loop_run(s->loop);
	tmr_cancel(s->loop, &s->deadline);
	tmr_cancel(s->loop, &s->tick);
	return err;
}

static int setup(struct st *s, unsigned nfake)
{
	int err;

	memset(s, 0, sizeof(*s));
	for (unsigned i = 0; i < 4; i++)
		s->f[i].fd = -1;
	tmr_init(&s->deadline);
	tmr_init(&s->tick);
	if ((err = loop_alloc(&s->loop)))
		return err;
	for (unsigned i = 0; i < nfake; i++)
		if ((err = fake_open(s, &s->f[i], i == 3)))
			return err;
	return 0;
}

static void teardown(struct st *s)
{
	for (unsigned i = 0; i < 4; i++) {
		s->ag[i].a = mem_deref(s->ag[i].a);
		if (s->f[i].fd >= 0) {
			if (s->loop)
				loop_fd_close(s->loop, s->f[i].fd);
			close(s->f[i].fd);
		}
	}
	s->loop = mem_deref(s->loop);
}

/* --- the ICE layer --- */

static void on_event(struct ice_agent *a, const struct ice_event *ev, void *arg)
{
	struct ag *g = arg;

	(void)a;
	if (ev->type == ICE_EV_CANDIDATE && ev->cand->type == ICE_CAND_HOST && ev->comp == 1)
		g->port = ev->cand->port;
}

static void on_recv(struct ice_agent *a, unsigned comp, uint8_t *buf, size_t len, void *arg)
{
	(void)a; (void)comp; (void)buf; (void)len; (void)arg;
}

/* f[0] the ctx's STUN, f[1] a STUN, f[2] a TURN over UDP, f[3] over TCP;
 * ag[0] the ctx's servers, ag[1] its own STUN, ag[2] its own STUN and
 * TURN over UDP, ag[3] its own TURN over TCP. */
static bool agents_asked(struct st *s)
{
	return got(&s->f[0], s->ag[0].port, BINDING) && got(&s->f[1], s->ag[1].port, BINDING) &&
	       got(&s->f[2], s->ag[2].port, ALLOCATE) && s->f[3].accepted &&
	       got(&s->f[0], s->ag[3].port, BINDING);
}

int test_ice_servers_agent(void)
{
	struct st s;
	struct ice_ctx *ctx = NULL;
	struct ice_config cfg = {.local_addrs = "127.0.0.1", .stun_host = "127.0.0.1"};
	struct ice_servers srv[4];
	int err;

	TEST_ERR(setup(&s, 4));
	cfg.stun_port = s.f[0].port;
	srv[1] = (struct ice_servers){.stun_host = "127.0.0.1", .stun_port = s.f[1].port};
	/* with TURN over UDP, its STUN is dropped (ice.h) */
	srv[2] = (struct ice_servers){.stun_host = "127.0.0.1", .stun_port = s.f[1].port,
				      .turn_host = "127.0.0.1", .turn_port = s.f[2].port,
				      .turn_user = "u", .turn_pass = "p"};
	/* over TCP the ctx's STUN stays */
	srv[3] = (struct ice_servers){.turn_host = "127.0.0.1", .turn_port = s.f[3].port,
				      .turn_user = "u", .turn_pass = "p", .turn_tcp = true};
	TEST_ERR(-ice_ctx_alloc(&ctx, s.loop, &cfg));
	for (unsigned i = 0; i < 4; i++) {
		TEST_ERR(-ice_agent_alloc(&s.ag[i].a, ctx, i ? &srv[i] : NULL, true, 1, on_event,
					  on_recv, &s.ag[i]));
		TEST_ERR(-ice_agent_gather(s.ag[i].a));
		CHECK(s.ag[i].port);
	}
	TEST_ERR(run(&s, agents_asked, WAIT_MS));
	CHECK(!s.expired);
	TEST_ERR(run(&s, NULL, QUIET_MS));
	/* and nobody asked a server that is not theirs */
	CHECK(!got_any(&s.f[1], s.ag[0].port) && !got_any(&s.f[2], s.ag[0].port));
	CHECK(!got_any(&s.f[0], s.ag[1].port) && !got_any(&s.f[2], s.ag[1].port));
	CHECK(!got_any(&s.f[0], s.ag[2].port) && !got_any(&s.f[1], s.ag[2].port));
	CHECK(!got(&s.f[2], s.ag[2].port, BINDING));
	CHECK(!got_any(&s.f[1], s.ag[3].port) && !got_any(&s.f[2], s.ag[3].port));
out:
	for (unsigned i = 0; i < 4; i++)
		s.ag[i].a = mem_deref(s.ag[i].a);
	mem_deref(ctx);
	teardown(&s);
	return err;
}

/* --- through the engine --- */

static void on_mev(struct mcall *c, const struct mcall_event *ev, void *arg)
{
	(void)c; (void)ev; (void)arg;
}

static bool engine_asked(struct st *s)
{
	return s->f[0].nreq > 0;
}

static int alloc_with(struct mcall **c, struct mengine *e, const struct ice_servers *srv)
{
	struct mcall_params p = {.pt = 97, .tag = 0xB6, .servers = srv};

	return -mcall_alloc(c, e, &p, on_mev, NULL, NULL);
}

/* The call's servers are copied when it is made: the media thread still
 * finds them after the caller's strings are gone.  Strings of 256
 * characters or more, and empty hosts, are refused. */
int test_ice_servers_engine(void)
{
	static const struct mengine_config cfg = {.ice = {.local_addrs = "127.0.0.1"}};
	char host[64], long_str[ICE_SERVER_STR_SIZE + 1];
	struct ice_servers srv;
	struct mengine *e = NULL;
	struct mcall *c = NULL, *c2 = NULL;
	struct st s;
	int err;

	TEST_ERR(setup(&s, 1));
	TEST_ERR(-mengine_alloc(&e, s.loop, &cfg));
	memset(long_str, 'a', sizeof(long_str));
	long_str[ICE_SERVER_STR_SIZE] = '\0';
	srv = (struct ice_servers){.stun_host = long_str};
	CHECK(alloc_with(&c, e, &srv) == EINVAL && !c);
	srv = (struct ice_servers){.turn_host = "h", .turn_pass = long_str};
	CHECK(alloc_with(&c, e, &srv) == EINVAL && !c);
	srv = (struct ice_servers){.stun_host = ""};
	CHECK(alloc_with(&c, e, &srv) == EINVAL && !c);
	long_str[ICE_SERVER_STR_SIZE - 1] = '\0';    /* 255: the longest taken */
	srv = (struct ice_servers){.turn_host = "h", .turn_user = long_str, .turn_pass = long_str};
	TEST_ERR(alloc_with(&c2, e, &srv));
	c2 = mem_deref(c2);

	snprintf(host, sizeof(host), "127.0.0.1");
	srv = (struct ice_servers){.stun_host = host, .stun_port = s.f[0].port};
	TEST_ERR(alloc_with(&c, e, &srv));
	memset(host, 'x', sizeof(host) - 1);     /* the caller's copy is gone */
	host[sizeof(host) - 1] = '\0';
	srv.stun_port = 1;
	TEST_ERR(-mcall_gather(c));
	TEST_ERR(run(&s, engine_asked, WAIT_MS));
	CHECK(!s.expired && got(&s.f[0], s.f[0].req[0].from, BINDING));
out:
	mem_deref(c);
	mem_deref(c2);
	mem_deref(e);
	teardown(&s);
	return err;
}
