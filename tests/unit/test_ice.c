/* Tests for media/ice*.c that connect: two agents in one process on one
 * loop, gathering on 127.0.0.1 only, with candidates and credentials
 * handed over as they come (trickle; the controlled side gets some
 * candidates before its credentials), 500 packets each way per component.
 *
 * test_ice_consent_lost waits out RFC 7675's 10 s consent timeout, which
 * libnice 0.1.21 does not let us shorten, so it only runs with RX_SLOW=1
 * (ctest label "slow").  test_ice_turn needs a TURN server:
 * RX_TEST_TURN=HOST:PORT:USER:PASS[:tcp] (e.g. coturn on 127.0.0.1 with
 * --allow-loopback-peers). */
#include <stdlib.h>
#include <string.h>
#include "ice_util.h"
#include "mem.h"
#include "test.h"

static int connect_and_send(unsigned ncomp, const struct ice_config *cfg, bool relay_only)
{
	struct tctx t;
	struct ice_cand l, r;
	int err;

	TEST_ERR(it_setup(&t, cfg));
	t.p[0].relay_only = t.p[1].relay_only = relay_only;
	TEST_ERR(it_start_pair(&t, ncomp));
	t.done = it_pair_connected;
	TEST_ERR(it_run(&t, 10000));
	CHECK(!t.expired);
	for (int i = 0; i < 2; i++) {
		struct peer *p = &t.p[i];
		CHECK(!p->failed && !p->consent_lost && !p->bad);
		CHECK(p->gathered == 1 && p->ncand == (int)ncomp);
		for (unsigned c = 1; c <= ncomp; c++) {
			CHECK(p->connected[c] >= 1);
			TEST_ERR(-ice_agent_selected_pair(p->a, c, &l, &r));
			CHECK(l.comp == c && r.comp == c && l.port && r.port);
			CHECK(!relay_only || r.type == ICE_CAND_RELAY || l.type == ICE_CAND_RELAY);
		}
	}
	/* A relay (coturn) drops what comes faster than that. */
	t.burst = relay_only ? 1 : BURST;
	t.sending = true;
	t.done = it_all_received;
	TEST_ERR(it_run(&t, 10000));
	CHECK(!t.expired);
	for (int i = 0; i < 2; i++) {
		CHECK(!t.p[i].bad && !t.p[i].failed);
		for (unsigned c = 1; c <= ncomp; c++)
			CHECK(t.p[i].rx[c] == NPKT);
	}
out:
	it_teardown(&t);
	return err;
}

int test_ice_connect_1(void)
{
	return connect_and_send(1, &it_loopback, false);
}

int test_ice_connect_2(void)
{
	return connect_and_send(2, &it_loopback, false);
}

/* Through a TURN server: each side gets only the other's relay candidates. */
int test_ice_turn(void)
{
	struct ice_config cfg = {.local_addrs = "127.0.0.1"};
	char spec[200], *f[5] = {NULL};
	const char *env = getenv("RX_TEST_TURN");
	int n = 0;

	if (!env) {
		fprintf(stderr, "  skipped: set RX_TEST_TURN=HOST:PORT:USER:PASS[:tcp]\n");
		return 0;
	}
	snprintf(spec, sizeof(spec), "%s", env);
	for (char *s = spec, *tok; n < 5 && (tok = strsep(&s, ":")); )
		f[n++] = tok;
	if (n < 4)
		return EINVAL;
	cfg.turn_host = f[0];
	cfg.turn_port = (uint16_t)atoi(f[1]);
	cfg.turn_user = f[2];
	cfg.turn_pass = f[3];
	cfg.turn_tcp = n == 5 && !strcmp(f[4], "tcp");
	return connect_and_send(2, &cfg, true);
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
	TEST_ERR(it_setup(&t, &it_loopback));
	TEST_ERR(it_start_pair(&t, 1));
	t.done = it_pair_connected;
	TEST_ERR(it_run(&t, 10000));
	CHECK(!t.expired && !t.p[0].failed && !t.p[1].failed);
	t.p[1].a = mem_deref(t.p[1].a);
	t0 = loop_now();
	t.done = consent_done;
	TEST_ERR(it_run(&t, 25000));
	CHECK(!t.expired && t.p[0].consent_lost == 1 && !t.p[0].failed && !t.p[0].bad);
	CHECK(t.p[0].failed_at - t0 >= 9000 && t.p[0].failed_at - t0 < 17000);
	CHECK(ice_agent_send(t.p[0].a, 1, "x", 1) < 0);
out:
	it_teardown(&t);
	return err;
}
