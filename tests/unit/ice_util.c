/* The harness of the ICE tests (ice_util.h). */
#include <errno.h>
#include <string.h>
#include "ice_util.h"
#include "mem.h"

const struct ice_config it_loopback = {.local_addrs = "127.0.0.1"};

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

void it_recv(struct ice_agent *a, unsigned comp, uint8_t *buf, size_t len, void *arg)
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

void it_event(struct ice_agent *a, const struct ice_event *ev, void *arg)
{
	struct peer *p = arg;

	switch (ev->type) {
	case ICE_EV_CANDIDATE:
		if (ev->cand->comp != ev->comp || strcmp(ev->cand->ip, "127.0.0.1") ||
		    !ev->cand->port ||
		    (ev->cand->type != ICE_CAND_HOST && ev->cand->type != ICE_CAND_RELAY))
			p->bad++;
		if (ev->cand->type == ICE_CAND_HOST)
			p->ncand++;
		if (p->relay_only && ev->cand->type != ICE_CAND_RELAY)
			break;
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
			for (int k = 0; k < t->burst && p->tx[c] < NPKT; k++) {
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
int it_run(struct tctx *t, uint64_t ms)
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

int it_setup(struct tctx *t, const struct ice_config *cfg)
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

void it_teardown(struct tctx *t)
{
	t->p[0].a = mem_deref(t->p[0].a);
	t->p[1].a = mem_deref(t->p[1].a);
	t->ctx = mem_deref(t->ctx);
	t->loop = mem_deref(t->loop);
}

/* Credentials and candidates, in the order the test wants: A knows B's
 * credentials first; B gets A's candidates before A's credentials. */
int it_start_pair(struct tctx *t, unsigned ncomp)
{
	struct peer *A = &t->p[0], *B = &t->p[1];
	const char *u, *pw;
	int err;

	A->ncomp = B->ncomp = ncomp;
	A->eoc_on_gathered = B->eoc_on_gathered = true;
	if ((err = -ice_agent_alloc(&A->a, t->ctx, NULL, true, ncomp, it_event, it_recv, A)) ||
	    (err = -ice_agent_alloc(&B->a, t->ctx, NULL, false, ncomp, it_event, it_recv, B)))
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

bool it_pair_connected(struct tctx *t)
{
	return (t->p[0].a && ice_agent_connected(t->p[0].a) && t->p[1].a &&
		ice_agent_connected(t->p[1].a)) || t->p[0].failed || t->p[1].failed;
}

bool it_all_received(struct tctx *t)
{
	for (int i = 0; i < 2; i++)
		for (unsigned c = 1; c <= t->p[i].ncomp; c++)
			if (t->p[i].rx[c] < NPKT)
				return t->p[0].failed || t->p[1].failed;
	return true;
}

