/* The harness of the ICE tests (test_ice.c, test_ice_fail.c): two agents
 * on one loop, candidates and credentials handed over as they come, sent
 * packets numbered and checked.  Every loop run has a deadline. */
#ifndef RX_ICE_UTIL_H
#define RX_ICE_UTIL_H

#include <stdbool.h>
#include <stdint.h>
#include "ice.h"
#include "loop.h"

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
	bool relay_only;         /* hand over relay candidates only */
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
	int burst;               /* packets per component per 2 ms */
};

extern const struct ice_config it_loopback;   /* host candidates on 127.0.0.1 */

void it_recv(struct ice_agent *a, unsigned comp, uint8_t *buf, size_t len, void *arg);
/* Counts events; hands each local candidate to the other side at once, and
 * end-of-candidates when gathering is done (eoc_on_gathered). */
void it_event(struct ice_agent *a, const struct ice_event *ev, void *arg);
int it_setup(struct tctx *t, const struct ice_config *cfg);
void it_teardown(struct tctx *t);
/* Runs the loop until t->done() or ms have passed (then t->expired). */
int it_run(struct tctx *t, uint64_t ms);
/* A (controlling) and B: A knows B's credentials first; B gets A's
 * candidates before A's credentials. */
int it_start_pair(struct tctx *t, unsigned ncomp);
bool it_pair_connected(struct tctx *t);
bool it_all_received(struct tctx *t);   /* NPKT per component, both ways */

#endif
