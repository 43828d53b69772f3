/* Tests for media/ice*.c: two agents in one process on one loop, gathering
 * on 127.0.0.1 only, with candidates and credentials handed over by the
 * test as they come (trickle; the controlled side gets some candidates
 * before its credentials).  Every loop run has a deadline.
 *
 * test_ice_consent_lost waits out RFC 7675's 10 s consent timeout, which
 * libnice 0.1.21 does not let us shorten, so it only runs with RX_SLOW=1
 * (ctest label "slow"). */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include "ice.h"
#include "loop.h"
#include "mem.h"
#include "test.h"

#define CHECK(c) TEST_ERR((c) ? 0 : EBADMSG)
#define NPKT 500
#define BURST 10

struct peer {
	struct ice_agent *a;
	struct peer *other;
	unsigned ncomp;
	int ncand;
	int gathered;
	int connected[3];
	int failed, consent_lost;
	int bad;                 /* events or packets that should not be */
	uint32_t rx[3];          /* next sequence number expected, per component */
	uint32_t tx[3];
	bool free_on_failed;
	bool eoc_on_gathered;
	uint64_t failed_at;
};

struct tctx {
	struct loop *loop;
	struct ice_ctx *ctx;
	struct peer p[2];
	struct tmr deadline, tick;
	bool expired;
	bool (*done)(struct tctx *t);
	bool sending;
};

static const struct ice_config loopback_cfg = {.local_addrs = "127.0.0.1"};

static void fill(uint8_t *b, size_t len, uint32_t seq, unsigned comp)
{
	b[0] = (uint8_t)(seq >> 24);
	b[1] = (uint8_t)(seq >> 16);
	b[2] = (uint8_t)(seq >> 8);
	b[3] = (uint8_t)seq;
	b[4] = (uint8_t)comp;
	for (size_t i = 5; i < len; i++)
		b[i] = (uint8_t)(seq * 31 + i);
}

static size_t pkt_len(uint32_t seq)
{
	return 20 + (seq * 37) % 1180;
}

static void on_recv(struct ice_agent *a, unsigned comp, uint8_t *buf, size_t len, void *arg)
{
	struct peer *p = arg;
	uint8_t want[1200];
	uint32_t seq;

	(void)a;
	if (len < 5 || comp < 1 || comp > p->ncomp) {
		p->bad++;
		return;
	}
	seq = (uint32_t)buf[0] << 24 | (uint32_t)buf[1] << 16 | (uint32_t)buf[2] << 8 | buf[3];
	fill(want, pkt_len(seq), seq, comp);
	if (seq != p->rx[comp] || len != pkt_len(seq) || memcmp(buf, want, len))
		p->bad++;
	p->rx[comp] = seq + 1;
}

static void on_event(struct ice_agent *a, const struct ice_event *ev, void *arg)
{
	struct peer *p = arg;

	switch (ev->type) {
	case ICE_EV_CANDIDATE:
		p->ncand++;
		if (ev->cand->comp != ev->comp || ev->cand->type != ICE_CAND_HOST ||
		    strcmp(ev->cand->ip, "127.0.0.1") || !ev->cand->port)
			p->bad++;
		if (p->other->a && ice_agent_add_remote_candidate(p->other->a, ev->cand))
			p->bad++;
		break;
	case ICE_EV_GATHERING_DONE:
		p->gathered++;
		if (p->eoc_on_gathered && p->other->a)
			ice_agent_end_of_candidates(p->other->a);
		break;
	case ICE_EV_CONNECTED:
		if (ev->comp < 1 || ev->comp > p->ncomp || !ev->local || !ev->remote ||
		    strcmp(ev->remote->ip, "127.0.0.1"))
			p->bad++;
		else
			p->connected[ev->comp]++;
		break;
	case ICE_EV_FAILED:
		p->failed++;
		p->failed_at = loop_now();
		if (p->free_on_failed)
			p->a = mem_deref(a);
		break;
	case ICE_EV_CONSENT_LOST:
		p->consent_lost++;
		p->failed_at = loop_now();
		break;
	}
}

static void on_deadline(void *arg)
{
	struct tctx *t = arg;

	t->expired = true;
	loop_stop(t->loop);
}

static void send_burst(struct tctx *t)
{
	uint8_t b[1200];

	for (int i = 0; i < 2; i++) {
		struct peer *p = &t->p[i];
		for (unsigned c = 1; p->a && c <= p->ncomp; c++) {
			for (int k = 0; k < BURST && p->tx[c] < NPKT; k++) {
				uint32_t seq = p->tx[c];
				fill(b, pkt_len(seq), seq, c);
				if (ice_agent_send(p->a, c, b, pkt_len(seq)))
					p->bad++;
				p->tx[c]++;
			}
		}
	}
}

static void on_tick(void *arg)
{
	struct tctx *t = arg;

	if (t->sending)
		send_burst(t);
	if (t->done(t)) {
		loop_stop(t->loop);
		return;
	}
	tmr_start(t->loop, &t->tick, 2, on_tick, t);
}

/* Runs the loop until t->done() or ms have passed. */
static int run(struct tctx *t, uint64_t ms)
{
	int err;

	t->expired = false;
	if ((err = tmr_start(t->loop, &t->deadline, ms, on_deadline, t)) ||
	    (err = tmr_start(t->loop, &t->tick, 0, on_tick, t)))
		return err;
	err = loop_run(t->loop);
	tmr_cancel(t->loop, &t->deadline);
	tmr_cancel(t->loop, &t->tick);
	return err;
}

static int setup(struct tctx *t, const struct ice_config *cfg)
{
	int err;

	memset(t, 0, sizeof(*t));
	tmr_init(&t->deadline);
	tmr_init(&t->tick);
	t->p[0].other = &t->p[1];
	t->p[1].other = &t->p[0];
	if ((err = loop_alloc(&t->loop)))
		return err;
	return -ice_ctx_alloc(&t->ctx, t->loop, cfg);
}

static void teardown(struct tctx *t)
{
	t->p[0].a = mem_deref(t->p[0].a);
	t->p[1].a = mem_deref(t->p[1].a);
	t->ctx = mem_deref(t->ctx);
	t->loop = mem_deref(t->loop);
}

/* Credentials and candidates, in the order the test wants: A knows B's
 * credentials first; B gets A's candidates before A's credentials. */
static int start_pair(struct tctx *t, unsigned ncomp)
{
	struct peer *A = &t->p[0], *B = &t->p[1];
	const char *u, *pw;
	int err;

	A->ncomp = B->ncomp = ncomp;
	A->eoc_on_gathered = B->eoc_on_gathered = true;
	if ((err = -ice_agent_alloc(&A->a, t->ctx, true, ncomp, on_event, on_recv, A)) ||
	    (err = -ice_agent_alloc(&B->a, t->ctx, false, ncomp, on_event, on_recv, B)))
		return err;
	ice_agent_local_credentials(B->a, &u, &pw);
	if ((err = -ice_agent_set_remote_credentials(A->a, u, pw)) ||
	    (err = -ice_agent_gather(A->a)))
		return err;
	if (A->ncand < (int)ncomp)
		return EBADMSG;    /* host candidates come before gather returns */
	ice_agent_local_credentials(A->a, &u, &pw);
	if ((err = -ice_agent_set_remote_credentials(B->a, u, pw)) ||
	    (err = -ice_agent_gather(B->a)))
		return err;
	return 0;
}

static bool pair_connected(struct tctx *t)
{
	return (t->p[0].a && ice_agent_connected(t->p[0].a) && t->p[1].a &&
		ice_agent_connected(t->p[1].a)) || t->p[0].failed || t->p[1].failed;
}

static bool all_received(struct tctx *t)
{
	for (int i = 0; i < 2; i++)
		for (unsigned c = 1; c <= t->p[i].ncomp; c++)
			if (t->p[i].rx[c] < NPKT)
				return t->p[0].failed || t->p[1].failed;
	return true;
}

static int connect_and_send(unsigned ncomp)
{
	struct tctx t;
	struct ice_cand l, r;
	int err;

	TEST_ERR(setup(&t, &loopback_cfg));
	TEST_ERR(start_pair(&t, ncomp));
	t.done = pair_connected;
	TEST_ERR(run(&t, 10000));
	CHECK(!t.expired);
	for (int i = 0; i < 2; i++) {
		struct peer *p = &t.p[i];
		CHECK(!p->failed && !p->consent_lost && !p->bad);
		CHECK(p->gathered == 1 && p->ncand == (int)ncomp);
		for (unsigned c = 1; c <= ncomp; c++) {
			CHECK(p->connected[c] >= 1);
			TEST_ERR(-ice_agent_selected_pair(p->a, c, &l, &r));
			CHECK(l.comp == c && r.comp == c && l.port && r.port);
		}
	}
	t.sending = true;
	t.done = all_received;
	TEST_ERR(run(&t, 10000));
	CHECK(!t.expired);
	for (int i = 0; i < 2; i++) {
		CHECK(!t.p[i].bad && !t.p[i].failed);
		for (unsigned c = 1; c <= ncomp; c++)
			CHECK(t.p[i].rx[c] == NPKT);
	}
out:
	teardown(&t);
	return err;
}

int test_ice_connect_1(void)
{
	return connect_and_send(1);
}

int test_ice_connect_2(void)
{
	return connect_and_send(2);
}

static bool a_failed(struct tctx *t)
{
	return t->p[0].failed || t->p[0].bad;
}

/* Only unreachable candidates: FAILED, but not before end-of-candidates. */
int test_ice_bogus(void)
{
	static const struct ice_config cfg = {
		.local_addrs = "127.0.0.1", .stun_retrans = 2, .idle_timeout_ms = 500};
	struct ice_cand c = {.foundation = "1", .comp = 1, .priority = 2130706431,
			     .ip = "127.0.0.1", .port = 9, .type = ICE_CAND_HOST};
	struct tctx t;
	struct peer *A = &t.p[0];
	uint64_t t0;
	int err;

	TEST_ERR(setup(&t, &cfg));
	A->ncomp = 1;
	A->free_on_failed = true;
	TEST_ERR(-ice_agent_alloc(&A->a, t.ctx, true, 1, on_event, on_recv, A));
	TEST_ERR(-ice_agent_add_remote_candidate(A->a, &c));
	c.port = 1;
	strcpy(c.foundation, "2");
	TEST_ERR(-ice_agent_add_remote_candidate(A->a, &c));
	TEST_ERR(-ice_agent_set_remote_credentials(A->a, "abcd", "0123456789abcdefghijkl"));
	TEST_ERR(-ice_agent_gather(A->a));
	/* The checks give up after about 1.5 s plus the idle timeout; the
	 * peer has not said it is done, so nothing is reported yet. */
	t.done = a_failed;
	TEST_ERR(run(&t, 4000));
	CHECK(t.expired && !A->failed && !A->bad && A->a);
	t0 = loop_now();
	TEST_ERR(-ice_agent_end_of_candidates(A->a));
	TEST_ERR(run(&t, 10000));
	CHECK(!t.expired && A->failed == 1 && !A->bad);
	CHECK(A->failed_at - t0 < 2000);
	CHECK(!A->a);    /* freed inside its own FAILED event */
out:
	teardown(&t);
	return err;
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1;   /* the DIR's own */
}

static bool never(struct tctx *t)
{
	(void)t;
	return false;
}

/* 200 agents made, gathered and freed: no fd stays open. */
int test_ice_fd_leak(void)
{
	struct tctx t;
	struct peer *A = &t.p[0];
	int err, before = -1, after = -1;

	TEST_ERR(setup(&t, &loopback_cfg));
	A->ncomp = 2;
	for (int i = 0; i <= 200; i++) {
		if (i == 1)
			before = count_fds();   /* after one warm-up, for GLib's own */
		TEST_ERR(-ice_agent_alloc(&A->a, t.ctx, i & 1, 2, on_event, on_recv, A));
		TEST_ERR(-ice_agent_gather(A->a));
		A->a = mem_deref(A->a);
		if (i % 50 == 0) {
			t.done = never;
			TEST_ERR(run(&t, 5));   /* let the context run its timers */
		}
	}
	after = count_fds();
	CHECK(before > 0 && after == before);
	CHECK(A->ncand == 2 * 201 && !A->bad);
out:
	if (err && before >= 0)
		fprintf(stderr, "  fds: %d before, %d after\n", before, after);
	teardown(&t);
	return err;
}

static bool consent_done(struct tctx *t)
{
	return t->p[0].consent_lost || t->p[0].failed || t->p[0].bad;
}

/* The peer disappears after connecting: consent is lost within RFC 7675's
 * 10 s (plus one check interval, 4 to 6 s). */
int test_ice_consent_lost(void)
{
	struct tctx t;
	uint64_t t0;
	int err;

	if (!getenv("RX_SLOW")) {
		fprintf(stderr, "  skipped: set RX_SLOW=1 (about 15 s)\n");
		return 0;
	}
	TEST_ERR(setup(&t, &loopback_cfg));
	TEST_ERR(start_pair(&t, 1));
	t.done = pair_connected;
	TEST_ERR(run(&t, 10000));
	CHECK(!t.expired && !t.p[0].failed && !t.p[1].failed);
	t.p[1].a = mem_deref(t.p[1].a);
	t0 = loop_now();
	t.done = consent_done;
	TEST_ERR(run(&t, 25000));
	CHECK(!t.expired && t.p[0].consent_lost == 1 && !t.p[0].failed && !t.p[0].bad);
	CHECK(t.p[0].failed_at - t0 >= 9000 && t.p[0].failed_at - t0 < 17000);
	CHECK(ice_agent_send(t.p[0].a, 1, "x", 1) < 0);
out:
	teardown(&t);
	return err;
}
