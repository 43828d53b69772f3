/* Tests for media/ice*.c that end without a connection: only unreachable
 * candidates (FAILED, held until end-of-candidates), and 200 agents made,
 * gathered and freed without an fd left open. */
#include <dirent.h>
#include <string.h>
#include "ice_int.h"
#include "ice_util.h"
#include "mem.h"
#include "test.h"

static bool reported(struct tctx *t)
{
	return t->p[0].failed || t->p[0].bad;
}

/* libnice has given up on A's only component (white box: ice_int.h). */
static bool nice_failed(struct tctx *t)
{
	return reported(t) || t->p[0].a->comp[0].failed;
}

/* Only unreachable candidates: libnice fails the component after its
 * retransmissions (2 here, about 1.5 s) and idle-timeout; we hold that back
 * until the peer's end-of-candidates, and then report FAILED at once. */
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

	TEST_ERR(it_setup(&t, &cfg));
	A->ncomp = 1;
	A->free_on_failed = true;
	TEST_ERR(-ice_agent_alloc(&A->a, t.ctx, NULL, true, 1, it_event, it_recv, A));
	TEST_ERR(-ice_agent_add_remote_candidate(A->a, &c));
	c.port = 1;
	strcpy(c.foundation, "2");
	TEST_ERR(-ice_agent_add_remote_candidate(A->a, &c));
	TEST_ERR(-ice_agent_set_remote_credentials(A->a, "abcd", "0123456789abcdefghijkl"));
	TEST_ERR(-ice_agent_gather(A->a));
	t0 = loop_now();
	t.done = nice_failed;
	TEST_ERR(it_run(&t, 10000));
	CHECK(!t.expired && !A->failed && !A->bad && A->a);
	CHECK(loop_now() - t0 < 5000);
	t.done = reported;
	TEST_ERR(it_run(&t, 300));   /* nothing comes on its own */
	CHECK(t.expired && !A->failed && A->a);
	TEST_ERR(-ice_agent_end_of_candidates(A->a));
	CHECK(A->failed == 1 && !A->bad);   /* from inside that call */
	CHECK(!A->a);    /* freed inside its own FAILED event */
out:
	it_teardown(&t);
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
	int err, before = -1, after;

	TEST_ERR(it_setup(&t, &it_loopback));
	A->ncomp = 2;
	for (int i = 0; i <= 200; i++) {
		if (i == 1)
			before = count_fds();   /* after one warm-up, for GLib's own */
		TEST_ERR(-ice_agent_alloc(&A->a, t.ctx, NULL, i & 1, 2, it_event, it_recv, A));
		TEST_ERR(-ice_agent_gather(A->a));
		A->a = mem_deref(A->a);
		if (i % 50 == 0) {
			t.done = never;
			TEST_ERR(it_run(&t, 5));   /* let the context run its timers */
		}
	}
	after = count_fds();
	if (before <= 0 || after != before) {
		char m[80];
		snprintf(m, sizeof(m), "fds: %d before, %d after", before, after);
		test_fail(__FILE__, __LINE__, m);
		err = EBADMSG;
		goto out;
	}
	CHECK(A->ncand == 2 * 201 && !A->bad);
out:
	it_teardown(&t);
	return err;
}

