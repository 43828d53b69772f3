/* ice_bench: the receive cost of a packet through media/ice.c, by number of
 * agents, for our path (nice_agent_get_sockets -> our epoll ->
 * nice_agent_recv_messages_nonblocking) against libnice's own
 * (nice_agent_attach_recv on the shared GMainContext), in the same run.
 *
 * N pairs over 127.0.0.1: the controlling agents on one thread, the
 * controlled ones on another, each thread with its own loop and ice_ctx
 * (as media threads would be).  Every agent sends RATE packets/s of LEN
 * bytes; sends are spread evenly over the packet time, 1 ms apart.  Over
 * the measured seconds each thread's CPU time (CLOCK_THREAD_CPUTIME_ID) is
 * split into the time inside the send tick and the rest; the rest divided
 * by the packets received is the receive cost (it also carries libnice's
 * timers: consent checks every 4-6 s per agent).
 *
 * Not a test: see README.md.  Usage:
 *   ice_bench [-n 1,100,300,1000] [-s SECONDS] [-r RATE] [-l LEN] [-m ours|attach|both]
 *             [-i IDLE_MS]   (libnice's idle-timeout, 0 for its 5000; default 100) */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "ice_int.h"
#include "log.h"
#include "loop.h"
#include "mem.h"
/* Count malloc calls per thread.  GLib 2.74's slices come from magazines
 * unless G_SLICE=always-malloc is in the environment. */
#include "../malloc_count.h"
#define COUNTING MALLOC_COUNTING

#define MAXCAND 4

struct bagent {
	struct ice_agent *a;
	struct side *s;
	char ufrag[ICE_UFRAG_SIZE], pwd[ICE_PWD_SIZE];
	struct ice_cand cand[MAXCAND];
	unsigned ncand;
	bool connected, failed;
};

struct side {
	int idx;
	pthread_t th;
	struct loop *loop;
	struct ice_ctx *ctx;
	struct bagent *ag;
	struct side *peer;
	struct tmr tick;
	unsigned nconn, nfail;
	atomic_int phase;          /* the last phase this side finished */
	bool sending, measuring;
	uint64_t t0, next_slot, tx, rx, send_ns, send_allocs, allocs0, allocs1;
	struct timespec cpu0, cpu1;
	struct ice_stats st0, st1;
	uint64_t wall0, wall1;
	int err;
};

static unsigned npairs, rate = 50, seconds = 5, len = 172, idle_ms = 100;
static bool attach;
static pthread_barrier_t barrier;

static uint64_t ns(const struct timespec *t)
{
	return (uint64_t)t->tv_sec * 1000000000u + (uint64_t)t->tv_nsec;
}

static uint64_t cpu_now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return ns(&t);
}

static void on_event(struct ice_agent *a, const struct ice_event *ev, void *arg)
{
	struct bagent *b = arg;

	(void)a;
	switch (ev->type) {
	case ICE_EV_CANDIDATE:
		if (b->ncand < MAXCAND)
			b->cand[b->ncand++] = *ev->cand;
		break;
	case ICE_EV_CONNECTED:
		if (!b->connected)
			b->s->nconn++;
		b->connected = true;
		break;
	case ICE_EV_FAILED:
	case ICE_EV_CONSENT_LOST:
		b->failed = true;
		b->s->nfail++;
		break;
	default:
		break;
	}
}

static void on_recv(struct ice_agent *a, unsigned comp, uint8_t *buf, size_t n, void *arg)
{
	struct bagent *b = arg;

	(void)a;
	(void)comp;
	(void)buf;
	(void)n;
	if (b->s->measuring)
		b->s->rx++;
}

/* Agent i sends at i * period / npairs ms into each packet time: these are
 * the agents of millisecond slot o. */
static void slot_range(unsigned o, unsigned *lo, unsigned *hi)
{
	unsigned period = 1000 / rate;

	*lo = (o * npairs + period - 1) / period;
	*hi = ((o + 1) * npairs + period - 1) / period;
}

/* Sends what is due up to now (catching up if the loop was late), then
 * sleeps until the next slot that has agents. */
static void on_tick(void *arg)
{
	struct side *s = arg;
	unsigned period = 1000 / rate, lo, hi, wait;
	uint64_t now = loop_now() - s->t0;
	uint8_t pkt[1500];

	if (!s->sending)
		return;
	{
		uint64_t t0 = cpu_now(), a0 = tl_allocs;
		memset(pkt, 0x80, len);
		for (; s->next_slot <= now; s->next_slot++) {
			slot_range((unsigned)(s->next_slot % period), &lo, &hi);
			for (unsigned i = lo; i < hi; i++) {
				if (s->ag[i].connected && !ice_agent_send(s->ag[i].a, 1, pkt, len) &&
				    s->measuring)
					s->tx++;
			}
		}
		s->send_ns += cpu_now() - t0;
		s->send_allocs += tl_allocs - a0;
	}
	for (wait = 0; wait < period; wait++) {
		slot_range((unsigned)((s->next_slot + wait) % period), &lo, &hi);
		if (lo < hi)
			break;
	}
	tmr_start(s->loop, &s->tick, s->next_slot + wait - now, on_tick, s);
}

struct until {
	struct side *s;
	struct tmr t;
	bool (*cond)(struct side *s);
	uint64_t end;
};

static void on_until(void *arg)
{
	struct until *u = arg;

	uint64_t now = loop_now();

	if ((u->cond && u->cond(u->s)) || now >= u->end) {
		loop_stop(u->s->loop);
		return;
	}
	tmr_start(u->s->loop, &u->t, u->cond ? 5 : u->end - now, on_until, u);
}

/* Run this side's loop until cond() or ms have passed. */
static void run(struct side *s, bool (*cond)(struct side *s), uint64_t ms)
{
	struct until u = {.s = s, .cond = cond, .end = loop_now() + ms};

	tmr_init(&u.t);
	tmr_start(s->loop, &u.t, 0, on_until, &u);
	loop_run(s->loop);
	tmr_cancel(s->loop, &u.t);
}

static bool both_done(struct side *s, int phase)
{
	return atomic_load(&s->phase) >= phase && atomic_load(&s->peer->phase) >= phase;
}

static bool connected(struct side *s)
{
	if (s->nconn + s->nfail == npairs && atomic_load(&s->phase) < 2)
		atomic_store(&s->phase, 2);
	return both_done(s, 2);
}

static int make_agents(struct side *s)
{
	struct ice_config cfg = {.local_addrs = "127.0.0.1"};
	int err;

	cfg.idle_timeout_ms = idle_ms;
	cfg.attach_recv = attach;
	if ((err = loop_alloc(&s->loop)) || (err = -ice_ctx_alloc(&s->ctx, s->loop, &cfg)))
		return err;
	s->ag = mem_zalloc(npairs * sizeof(*s->ag), NULL);
	if (!s->ag)
		return ENOMEM;
	for (unsigned i = 0; i < npairs; i++) {
		struct bagent *b = &s->ag[i];
		const char *u, *p;
		b->s = s;
		if ((err = -ice_agent_alloc(&b->a, s->ctx, NULL, s->idx == 0, 1, on_event, on_recv,
					    b)) ||
		    (err = -ice_agent_gather(b->a)))
			return err;
		ice_agent_local_credentials(b->a, &u, &p);
		snprintf(b->ufrag, sizeof(b->ufrag), "%s", u);
		snprintf(b->pwd, sizeof(b->pwd), "%s", p);
	}
	return 0;
}

static int introduce(struct side *s)
{
	int err;

	for (unsigned i = 0; i < npairs; i++) {
		struct bagent *b = &s->ag[i], *o = &s->peer->ag[i];
		if ((err = -ice_agent_set_remote_credentials(b->a, o->ufrag, o->pwd)))
			return err;
		for (unsigned k = 0; k < o->ncand; k++)
			if ((err = -ice_agent_add_remote_candidate(b->a, &o->cand[k])))
				return err;
		ice_agent_end_of_candidates(b->a);
	}
	return 0;
}

static void *side_main(void *arg)
{
	struct side *s = arg;

	tmr_init(&s->tick);
	s->err = make_agents(s);
	pthread_barrier_wait(&barrier);    /* the peer's candidates are there */
	if (!s->err && !s->peer->err)
		s->err = introduce(s);
	atomic_store(&s->phase, 1);
	if (!s->err) {
		uint64_t t0 = loop_now();
		run(s, connected, 120000);
		if (s->nconn < npairs && !s->err)
			s->err = -ETIMEDOUT;
		if (s->idx == 0)
			fprintf(stderr, "  %u pairs connected in %llu ms (%u failed)\n", s->nconn,
				(unsigned long long)(loop_now() - t0), s->nfail);
		run(s, NULL, 1500);       /* conncheck timers wind down */
		s->t0 = loop_now();
		s->sending = true;
		tmr_start(s->loop, &s->tick, 0, on_tick, s);
		run(s, NULL, 500);
		s->measuring = true;
		s->allocs0 = tl_allocs;
		s->st0 = *ice_ctx_stats(s->ctx);
		s->send_ns = 0;
		s->send_allocs = 0;
		s->wall0 = loop_now();
		clock_gettime(CLOCK_THREAD_CPUTIME_ID, &s->cpu0);
		run(s, NULL, seconds * 1000u);
		clock_gettime(CLOCK_THREAD_CPUTIME_ID, &s->cpu1);
		s->wall1 = loop_now();
		s->st1 = *ice_ctx_stats(s->ctx);
		s->allocs1 = tl_allocs;
		s->measuring = false;
		s->sending = false;
		atomic_store(&s->phase, 3);
		while (atomic_load(&s->peer->phase) < 3)    /* keep answering the peer */
			run(s, NULL, 10);
	}
	atomic_store(&s->phase, 3);
	pthread_barrier_wait(&barrier);
	tmr_cancel(s->loop, &s->tick);
	for (unsigned i = 0; s->ag && i < npairs; i++)
		mem_deref(s->ag[i].a);
	mem_deref(s->ag);
	mem_deref(s->ctx);
	mem_deref(s->loop);
	return NULL;
}

static int one_run(unsigned n, bool att, double *recv_us)
{
	struct side s[2];
	double cpu = 0, snd = 0, pk = 0, allocs = 0, sallocs = 0, cycles = 0, calls = 0;
	double wall = 0;
	uint64_t tx = 0;

	memset(s, 0, sizeof(s));
	npairs = n;
	attach = att;
	s[0].peer = &s[1];
	s[1].peer = &s[0];
	pthread_barrier_init(&barrier, NULL, 2);
	for (int i = 0; i < 2; i++) {
		s[i].idx = i;
		pthread_create(&s[i].th, NULL, side_main, &s[i]);
	}
	for (int i = 0; i < 2; i++)
		pthread_join(s[i].th, NULL);
	pthread_barrier_destroy(&barrier);
	for (int i = 0; i < 2; i++) {
		if (s[i].err) {
			fprintf(stderr, "ice_bench: side %d: %s\n", i, strerror(abs(s[i].err)));
			return 1;
		}
		cpu += (double)(ns(&s[i].cpu1) - ns(&s[i].cpu0));
		snd += (double)s[i].send_ns;
		pk += (double)s[i].rx;
		tx += s[i].tx;
		allocs += (double)(s[i].allocs1 - s[i].allocs0 - s[i].send_allocs);
		sallocs += (double)s[i].send_allocs;
		cycles += (double)(s[i].st1.cycles - s[i].st0.cycles);
		calls += (double)(s[i].st1.recv_calls - s[i].st0.recv_calls);
		wall += (double)(s[i].wall1 - s[i].wall0) / 2000.0;
	}
	if (pk < 1)
		return 1;
	*recv_us = (cpu - snd) / pk / 1000.0;
	printf("%6u  %-6s  %8.0f  %5.1f%%  %4.0f%%  %8.2f  %8.2f  %8.2f  %6.1f  %6.1f  %8.0f  %5.2f\n",
	       n, att ? "attach" : "ours", pk / wall / 2, (1.0 - pk / (double)tx) * 100.0,
	       cpu / 1e7 / wall / 2,
	       cpu / pk / 1000.0, snd / (double)tx / 1000.0, *recv_us,
	       COUNTING ? allocs / pk : -1.0, COUNTING ? sallocs / (double)tx : -1.0,
	       cycles / wall / 2, att ? 0.0 : calls / pk);
	fflush(stdout);
	return 0;
}

int main(int argc, char **argv)
{
	char list[256] = "1,100,300,1000";
	const char *mode = "both";
	int opt;

	while ((opt = getopt(argc, argv, "n:s:r:l:m:i:")) != -1) {
		switch (opt) {
		case 'n': snprintf(list, sizeof(list), "%s", optarg); break;
		case 's': seconds = (unsigned)atoi(optarg); break;
		case 'r': rate = (unsigned)atoi(optarg); break;
		case 'l': len = (unsigned)atoi(optarg); break;
		case 'm': mode = optarg; break;
		case 'i': idle_ms = (unsigned)atoi(optarg); break;
		default:
			fprintf(stderr, "usage: %s [-n 1,100,300,1000] [-s SECONDS] [-r RATE] "
					"[-l LEN] [-m ours|attach|both] [-i IDLE_MS]\n", argv[0]);
			return 2;
		}
	}
	if (!rate || rate > 1000 || !seconds || len < 12 || len > 1400) {
		fprintf(stderr, "ice_bench: bad -r, -s or -l\n");
		return 2;
	}
	log_set_level(LOG_ERROR);
	printf("# %u packets/s of %u bytes per agent each way, %u s measured; rates, cpu and\n"
	       "# cycles are per thread (one side of the pairs each)\n", rate, len, seconds);
	printf("# pairs  mode    rx pkt/s  loss    cpu   cpu/pkt  send/pkt  recv/pkt  allocs  allocs  "
	       "cycles/s  calls\n#                                       (us)      (us)      (us)  "
	       "rx/pkt  tx/pkt            /pkt\n");
	for (char *tok = strtok(list, ","); tok; tok = strtok(NULL, ",")) {
		unsigned n = (unsigned)atoi(tok);
		double ours = 0, base = 0;
		if (!n)
			continue;
		if (strcmp(mode, "attach") && one_run(n, false, &ours))
			return 1;
		if (strcmp(mode, "ours") && one_run(n, true, &base))
			return 1;
		if (ours > 0 && base > 0)
			printf("%6u  ratio attach/ours (recv): %.1f\n", n, base / ours);
	}
	return 0;
}
