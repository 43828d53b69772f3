/* engine_bench: the media engine (media/engine.h) at scale, end to end.
 *
 * One process, one control loop (this thread) and two engines, A and B,
 * so two media threads.  N calls: call i is mcall A_i (ICE controlling,
 * DTLS active) and B_i (controlled, passive) over 127.0.0.1, rtcp-mux on
 * one component, DTLS-SRTP, wired as tests/unit/test_engine.c does it:
 * credentials, trickled candidates and fingerprints passed straight
 * through the API.  Calls are set up in batches (-b), each batch waiting
 * until both ends of its calls report MEDIA, so that hundreds of DTLS
 * handshakes do not run into their timeouts at once.
 *
 * Then every call sends libspeex's reference frames (wb-q8.spxv, FLV byte
 * 0xB6, one frame per RTMP message) both ways at real time for -s
 * seconds.  Leg l (2i: A_i -> B_i, 2i+1: B_i -> A_i) sends frame k at
 * RTMP time 20 k, l * 20 / 2N ms into each 20 ms period, starting at
 * reference frame l, so that a frame delivered to the wrong call does
 * not compare equal.  Sending starts only after both ends of every call
 * reported MEDIA (and 1.5 s more, for the connectivity checks to wind
 * down): the receiving jitter buffer's RTMP timestamps then start at 0
 * with frame 0, and name the frame (20 k).
 *
 * Per frame: CLOCK_MONOTONIC just before mcall_send_audio() and at the
 * audio handler on the other side, both on this thread; the bytes are
 * compared.  Per thread: /proc/self/task/TID/schedstat at the first and
 * the last send tick (the window).  RSS: VmRSS of the process with the
 * engines up, with the calls up, and after the drain.  ebreport.c turns
 * these into the table and the JSON.  See README.md. */
#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>
#include "ebench.h"
#include "engine.h"
#include "log.h"
#include "loop.h"
#include "mem.h"

#define TAG 0xB6
#define PT 97
#define MAX_FRAMES 128
#define VEC_MAX 65536
#define BATCH_MS 30000     /* a batch must be up by then */
#define SETTLE_MS 1500
#define DRAIN_MS 2000
#define STATS_MS 3000
#define POLL_MS 5
#define MAX_RUNS 64

struct bench {
	struct loop *loop;
	unsigned seconds, batch;
	bool plain;              /* --plain: plain RTP instead of DTLS-SRTP */
	const char *vector;
	FILE *raw;               /* --raw: per-frame records */
	uint8_t body[MAX_FRAMES][1 + 256];   /* FLV byte + reference frame */
	size_t blen[MAX_FRAMES];
	unsigned nfr;
};

struct run;
struct bcall;

struct end {
	struct bcall *bc;
	struct mcall *c;
	unsigned side;           /* 0: A, 1: B */
	bool media, failed, stats_pending;
};

struct bcall {
	struct run *r;
	unsigned idx;
	bool up;                 /* both ends reached MEDIA during set-up */
	struct end end[2];
};

struct run {
	struct bench *b;
	unsigned n, nframes;
	struct mengine *e[2];
	pid_t tid[EB_NTHREADS];
	struct bcall *calls;
	struct eb_leg *legs;     /* 2 n: leg 2i + s is sent by calls[i].end[s] */
	struct eb_rec *recs;
	unsigned lo, hi;         /* the batch being set up */
	unsigned failed_ends, stats_left;
	char why[64];
	uint64_t sent, arrived;  /* frames sent, and distinct ones received */
	/* the loop */
	struct tmr poll, deadline, tick;
	bool (*cond)(struct run *r);
	bool met;
	/* sending */
	uint64_t t0;             /* loop_now() of slot 0 */
	uint32_t next_slot;      /* ms since t0 */
	struct eb_snap w0, w1;
};

static int64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/* --- the loop: run until a condition or a deadline --- */

static void on_poll(void *arg)
{
	struct run *r = arg;

	if (r->cond(r)) {
		r->met = true;
		loop_stop(r->b->loop);
		return;
	}
	tmr_start(r->b->loop, &r->poll, POLL_MS, on_poll, r);
}

static void on_deadline(void *arg)
{
	struct run *r = arg;

	loop_stop(r->b->loop);
}

/* True when cond (polled every POLL_MS) held before ms passed.  With
 * cond NULL the loop runs until ms pass or a handler stops it. */
static bool run_until(struct run *r, bool (*cond)(struct run *r), uint64_t ms)
{
	struct loop *l = r->b->loop;
	int err;

	r->cond = cond;
	r->met = false;
	tmr_start(l, &r->deadline, ms, on_deadline, r);
	if (cond)
		tmr_start(l, &r->poll, 0, on_poll, r);
	if ((err = loop_run(l)))
		fprintf(stderr, "engine_bench: loop: %s\n", strerror(err));
	tmr_cancel(l, &r->poll);
	tmr_cancel(l, &r->deadline);
	return r->met;
}

/* --- the calls' handlers --- */

static void on_event(struct mcall *c, const struct mcall_event *ev, void *arg)
{
	struct end *e = arg;
	struct end *o = &e->bc->end[1 - e->side];
	struct run *r = e->bc->r;

	(void)c;
	switch (ev->type) {
	case MCALL_EV_CANDIDATE:
		if (mcall_add_remote_candidate(o->c, ev->cand) && !r->why[0])
			snprintf(r->why, sizeof(r->why), "a candidate was refused");
		break;
	case MCALL_EV_GATHERING_DONE:
		mcall_end_of_candidates(o->c);
		break;
	case MCALL_EV_MEDIA:
		e->media = true;
		break;
	case MCALL_EV_FAILED:
	case MCALL_EV_CONSENT_LOST:
	case MCALL_EV_SECURITY_ERROR:
		if (!e->failed)
			r->failed_ends++;
		e->failed = true;
		if (!r->why[0])
			snprintf(r->why, sizeof(r->why), "%s", ev->why ? ev->why : "failed");
		break;
	case MCALL_EV_STATS:
		if (e->stats_pending) {
			e->stats_pending = false;
			r->stats_left--;
		}
		break;
	default:
		break;
	}
}

/* A frame from the other end: its RTMP timestamp names it. */
static void on_audio(struct mcall *c, uint32_t ts, const uint8_t *body, size_t len, void *arg)
{
	int64_t t = now_ns();
	struct end *e = arg;
	struct run *r = e->bc->r;
	unsigned l = 2 * e->bc->idx + 1 - e->side;
	struct eb_leg *lg = &r->legs[l];
	uint32_t k = ts / EB_FRAME_MS, f;
	struct eb_rec *rec;

	(void)c;
	if (ts % EB_FRAME_MS || k >= lg->nsent) {
		lg->unmatched++;
		return;
	}
	rec = &lg->recs[k];
	if (rec->nrecv++) {
		lg->dup++;
		return;
	}
	rec->recv = t;
	r->arrived++;
	f = (k + l) % r->b->nfr;
	if (len != r->b->blen[f] || memcmp(body, r->b->body[f], len))
		lg->corrupt++;
}

/* --- set-up --- */

/* Both calls of a pair, each with the other's credentials and
 * fingerprint; candidates go across in on_event. */
static int start_call(struct run *r, struct bcall *bc)
{
	int err;

	for (unsigned s = 0; s < 2; s++) {
		char name[16];
		struct mcall_params p = {.controlling = s == 0, .ncomp = 1, .pt = PT, .tag = TAG,
					 .fpp = 1, .name = name};
		snprintf(name, sizeof(name), "%c%u", s ? 'B' : 'A', bc->idx);
		bc->end[s].bc = bc;
		bc->end[s].side = s;
		if ((err = mcall_alloc(&bc->end[s].c, r->e[s], &p, on_event, on_audio, &bc->end[s])))
			return err;
	}
	for (unsigned s = 0; s < 2; s++) {
		struct mcall *c = bc->end[s].c;
		const char *ufrag, *pwd;

		mcall_local_credentials(bc->end[1 - s].c, &ufrag, &pwd);
		if ((err = mcall_set_remote_credentials(c, ufrag, pwd)))
			return err;
		if (r->b->plain)
			err = mcall_set_plain(c);
		else
			err = mcall_set_dtls(c, s ? MDTLS_PASSIVE : MDTLS_ACTIVE,
					     mengine_fingerprint(r->e[1 - s]));
		if (err)
			return err;
	}
	if ((err = mcall_gather(bc->end[0].c)) || (err = mcall_gather(bc->end[1].c)))
		return err;
	return 0;
}

static bool settled(const struct bcall *bc)
{
	return (bc->end[0].media && bc->end[1].media) || bc->end[0].failed || bc->end[1].failed;
}

static bool batch_settled(struct run *r)
{
	for (unsigned i = r->lo; i < r->hi; i++)
		if (!settled(&r->calls[i]))
			return false;
	return true;
}

static int set_up(struct run *r, struct eb_result *res)
{
	int64_t t0 = now_ns();
	int err;

	for (r->lo = 0; r->lo < r->n; r->lo = r->hi) {
		int64_t tb = now_ns();
		double ms;

		r->hi = r->lo + r->b->batch < r->n ? r->lo + r->b->batch : r->n;
		for (unsigned i = r->lo; i < r->hi; i++) {
			if ((err = start_call(r, &r->calls[i]))) {
				fprintf(stderr, "engine_bench: call %u: %s\n", i, strerror(-err));
				return -err;
			}
		}
		run_until(r, batch_settled, BATCH_MS);
		ms = (double)(now_ns() - tb) / 1e6;
		res->batch_max_ms = ms > res->batch_max_ms ? ms : res->batch_max_ms;
	}
	res->setup_ms = (double)(now_ns() - t0) / 1e6;
	for (unsigned i = 0; i < r->n; i++) {
		struct bcall *bc = &r->calls[i];
		bc->up = bc->end[0].media && bc->end[1].media && !bc->end[0].failed &&
			 !bc->end[1].failed;
		res->up += bc->up;
	}
	return 0;
}

/* --- streaming --- */

static void send_frame(struct run *r, unsigned l, uint32_t k)
{
	struct bcall *bc = &r->calls[l / 2];
	struct eb_leg *lg = &r->legs[l];
	unsigned f = (k + l) % r->b->nfr;

	if (!bc->up)
		return;
	lg->recs[k].sent = now_ns();
	lg->nsent = k + 1;
	r->sent++;
	if (mcall_send_audio(bc->end[l % 2].c, k * EB_FRAME_MS, r->b->body[f], r->b->blen[f]))
		lg->send_err++;
}

/* The legs of millisecond o of the period: leg l sends l * 20 / nlegs ms in. */
static void slot_legs(unsigned nlegs, unsigned o, unsigned *lo, unsigned *hi)
{
	*lo = (o * nlegs + EB_FRAME_MS - 1) / EB_FRAME_MS;
	*hi = ((o + 1) * nlegs + EB_FRAME_MS - 1) / EB_FRAME_MS;
}

/* Sends what is due (catching up if the loop was late), then sleeps until
 * the next millisecond that has legs.  The window is the first tick to
 * the last. */
static void on_send(void *arg)
{
	struct run *r = arg;
	uint64_t now = loop_now() - r->t0;
	uint32_t end = r->nframes * EB_FRAME_MS;
	unsigned lo, hi, wait;

	if (!r->next_slot)
		eb_snap(&r->w0, r->tid);
	for (; r->next_slot <= now && r->next_slot < end; r->next_slot++) {
		slot_legs(2 * r->n, r->next_slot % EB_FRAME_MS, &lo, &hi);
		for (unsigned l = lo; l < hi; l++)
			send_frame(r, l, r->next_slot / EB_FRAME_MS);
	}
	if (r->next_slot >= end) {
		eb_snap(&r->w1, r->tid);
		loop_stop(r->b->loop);
		return;
	}
	for (wait = 0; wait < EB_FRAME_MS; wait++) {
		slot_legs(2 * r->n, (r->next_slot + wait) % EB_FRAME_MS, &lo, &hi);
		if (lo < hi)
			break;
	}
	tmr_start(r->b->loop, &r->tick, r->next_slot + wait - now, on_send, r);
}

static bool all_arrived(struct run *r)
{
	return r->arrived >= r->sent;
}

static void stream(struct run *r)
{
	r->t0 = loop_now();
	r->next_slot = 0;
	tmr_start(r->b->loop, &r->tick, 0, on_send, r);
	run_until(r, NULL, (uint64_t)r->nframes * EB_FRAME_MS + 10000);
	tmr_cancel(r->b->loop, &r->tick);
	run_until(r, all_arrived, DRAIN_MS);
}

static bool stats_in(struct run *r)
{
	return !r->stats_left;
}

/* A fresh snapshot of every call end that was up, summed: where frames
 * went when some are lost. */
static void engine_counters(struct run *r, struct eb_engine *g)
{
	for (unsigned i = 0; i < r->n; i++) {
		for (unsigned s = 0; r->calls[i].up && s < 2; s++) {
			struct end *e = &r->calls[i].end[s];
			if (!mcall_request_stats(e->c)) {
				e->stats_pending = true;
				r->stats_left++;
			}
		}
	}
	run_until(r, stats_in, STATS_MS);
	g->stats_missing = r->stats_left;
	for (unsigned i = 0; i < r->n; i++) {
		for (unsigned s = 0; r->calls[i].up && s < 2; s++) {
			const struct mcall_stats *st = mcall_stats(r->calls[i].end[s].c);
			g->tx_before_ready += st->tx_before_ready;
			g->tx_ring_full += st->tx_ring_full;
			g->rx_ring_full += st->rx_ring_full;
			g->send_errors += st->send_errors;
			g->jb_lost += st->rx.lost;
			g->jb_late += st->rx.late;
			g->jb_dups += st->rx.dups;
			g->jb_dropped += st->rx.dropped;
			g->srtp_fail += st->srtp_auth_fail + st->srtp_replay;
			g->rtp_recv += st->rtp_recv;
			if (st->rx.delay_max_ms > g->jb_delay_max_ms)
				g->jb_delay_max_ms = st->rx.delay_max_ms;
		}
	}
}

/* --- one run --- */

static int start_engines(struct run *r, bool attach)
{
	struct mengine_config cfg = {.ice = {.local_addrs = "127.0.0.1", .attach_recv = attach},
				     .max_calls = r->n, .allow_plain = r->b->plain};
	int err;

	r->tid[EB_CONTROL] = gettid();
	for (unsigned s = 0; s < 2; s++) {
		if ((err = mengine_alloc(&r->e[s], r->b->loop, &cfg)))
			return -err;
		/* its thread is the one rx-media thread that was not there */
		r->tid[s] = eb_media_tid(s ? r->tid[0] : 0);
		if (!r->tid[s])
			return ESRCH;
	}
	return 0;
}

/* The records, touched (zeroed) now so that they are in the RSS before it
 * is first read. */
static int alloc_records(struct run *r)
{
	r->calls = mem_zalloc(r->n * sizeof(*r->calls), NULL);
	r->legs = mem_zalloc(2 * r->n * sizeof(*r->legs), NULL);
	r->recs = mem_zalloc((size_t)2 * r->n * r->nframes * sizeof(*r->recs), NULL);
	if (!r->calls || !r->legs || !r->recs)
		return ENOMEM;
	for (unsigned i = 0; i < r->n; i++) {
		r->calls[i].r = r;
		r->calls[i].idx = i;
	}
	for (unsigned l = 0; l < 2 * r->n; l++)
		r->legs[l].recs = r->recs + (size_t)l * r->nframes;
	return 0;
}

static void teardown(struct run *r)
{
	for (unsigned i = 0; r->calls && i < r->n; i++)
		for (unsigned s = 0; s < 2; s++)
			mem_deref(r->calls[i].end[s].c);
	for (unsigned s = 0; s < 2; s++)
		mem_deref(r->e[s]);
	mem_deref(r->calls);
	mem_deref(r->legs);
	mem_deref(r->recs);
	/* give freed memory back, so that the next run's RSS starts clean */
	malloc_trim(0);
}

static int one_run(struct bench *b, unsigned n, bool attach, struct eb_result *res)
{
	struct run r;
	int err;

	memset(&r, 0, sizeof(r));
	memset(res, 0, sizeof(*res));
	r.b = b;
	r.n = n;
	r.nframes = b->seconds * 1000 / EB_FRAME_MS;
	tmr_init(&r.poll);
	tmr_init(&r.deadline);
	tmr_init(&r.tick);
	res->calls = n;
	res->attach = attach;
	res->load[0] = eb_loadavg();
	if ((err = start_engines(&r, attach)) || (err = alloc_records(&r)))
		goto out;
	res->rss_kb[0] = eb_rss_kb();
	if ((err = set_up(&r, res)))
		goto out;
	res->rss_kb[1] = eb_rss_kb();
	fprintf(stderr, "  %u calls (%s): %u up in %.1f s (slowest batch %.1f s)\n", n,
		attach ? "attach" : "ours", res->up, res->setup_ms / 1000, res->batch_max_ms / 1000);
	if (!res->up) {
		err = ETIMEDOUT;
		goto out;
	}
	run_until(&r, NULL, SETTLE_MS);
	stream(&r);
	res->rss_kb[2] = eb_rss_kb();
	res->w0 = r.w0;
	res->w1 = r.w1;
	res->window_s = (double)(r.w1.wall_ns - r.w0.wall_ns) / 1e9;
	engine_counters(&r, &res->eng);
	err = eb_tally(res, r.legs, 2 * (size_t)n);
	if (b->raw)
		eb_raw(b->raw, res, r.legs, 2 * (size_t)n);
out:
	res->failed_ends = r.failed_ends;
	snprintf(res->why, sizeof(res->why), "%s", r.why);
	if (r.failed_ends)
		fprintf(stderr, "  %u calls (%s): %u call ends failed, the first: %s\n", n,
			attach ? "attach" : "ours", r.failed_ends, r.why);
	teardown(&r);
	res->load[1] = eb_loadavg();
	if (err)
		fprintf(stderr, "engine_bench: %u calls (%s): %s\n", n, attach ? "attach" : "ours",
			strerror(err));
	return err;
}

/* --- main --- */

/* The reference frames of an .spxv file (test-vectors/speex/README.md):
 * "SPXV", 3 bytes, the frame count, then a length byte and the bytes of
 * each frame. */
static int load_frames(struct bench *b)
{
	static uint8_t v[VEC_MAX];
	FILE *fp = fopen(b->vector, "rb");
	size_t n, pos = 8;

	if (!fp)
		return errno;
	n = fread(v, 1, sizeof(v), fp);
	fclose(fp);
	if (n < 8 || n == sizeof(v) || memcmp(v, "SPXV", 4) || !v[7] || v[7] > MAX_FRAMES)
		return EBADMSG;
	for (unsigned i = 0; i < v[7]; i++) {
		size_t len = v[pos];
		if (!len || pos + 1 + len > n)
			return EBADMSG;
		b->body[i][0] = TAG;
		memcpy(b->body[i] + 1, v + pos + 1, len);
		b->blen[i] = 1 + len;
		pos += 1 + len;
	}
	b->nfr = v[7];
	return 0;
}

/* Two sockets per call (one agent per end, one component) and a few per
 * engine: the soft limit goes up to the hard one. */
static void raise_nofile(unsigned max_calls)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return;
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < 4ull * max_calls + 256)
		fprintf(stderr, "engine_bench: RLIMIT_NOFILE is %llu: %u calls may not fit\n",
			(unsigned long long)rl.rlim_cur, max_calls);
}

static void usage(const char *argv0)
{
	fprintf(stderr, "usage: %s [-n 1,100,500] [-s SECONDS] [-b BATCH] [-m ours|attach|both]\n"
			"          [-f FRAMES.spxv] [--json FILE] [--raw FILE] [--plain]\n", argv0);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {{"json", required_argument, NULL, 'j'},
						 {"raw", required_argument, NULL, 'r'},
						 {"plain", no_argument, NULL, 'p'},
						 {NULL, 0, NULL, 0}};
	static struct bench b = {.seconds = 5, .batch = 50, .vector = RX_SPEEX_VECTOR};
	static struct eb_result res[MAX_RUNS];
	char list[256] = "1,100,500";
	const char *mode = "both", *json = NULL;
	unsigned sizes[MAX_RUNS / 2], nsizes = 0, nres = 0, max_n = 0;
	int opt, err, status = 0;

	while ((opt = getopt_long(argc, argv, "n:s:b:m:f:", longopts, NULL)) != -1) {
		switch (opt) {
		case 'n': snprintf(list, sizeof(list), "%s", optarg); break;
		case 's': b.seconds = (unsigned)atoi(optarg); break;
		case 'b': b.batch = (unsigned)atoi(optarg); break;
		case 'm': mode = optarg; break;
		case 'f': b.vector = optarg; break;
		case 'p': b.plain = true; break;
		case 'j': json = optarg; break;
		case 'r':
			if (!(b.raw = fopen(optarg, "w"))) {
				fprintf(stderr, "engine_bench: %s: %s\n", optarg, strerror(errno));
				return 1;
			}
			break;
		default: usage(argv[0]); return 2;
		}
	}
	for (char *tok = strtok(list, ","); tok && nsizes < MAX_RUNS / 2; tok = strtok(NULL, ",")) {
		int v = atoi(tok);
		if (v <= 0 || v > 65536) {
			usage(argv[0]);
			return 2;
		}
		sizes[nsizes++] = (unsigned)v;
		max_n = (unsigned)v > max_n ? (unsigned)v : max_n;
	}
	if (!nsizes || !b.seconds || b.seconds > 3600 || !b.batch ||
	    (strcmp(mode, "ours") && strcmp(mode, "attach") && strcmp(mode, "both"))) {
		usage(argv[0]);
		return 2;
	}
	if ((err = load_frames(&b))) {
		fprintf(stderr, "engine_bench: %s: %s\n", b.vector, strerror(err));
		return 1;
	}
	raise_nofile(max_n);
	/* failures are counted, and the first one shown, per run */
	log_set_level(LOG_ERROR);
	if ((err = loop_alloc(&b.loop))) {
		fprintf(stderr, "engine_bench: loop: %s\n", strerror(err));
		return 1;
	}
	printf("# %s, %u s of Speex both ways per call\n", b.plain ? "plain RTP" : "DTLS-SRTP",
	       b.seconds);
	eb_print_header(stdout);
	for (unsigned i = 0; i < nsizes; i++) {
		struct eb_result *ours = NULL, *att = NULL;
		if (strcmp(mode, "attach")) {
			ours = &res[nres++];
			status |= one_run(&b, sizes[i], false, ours) || ours->up < ours->calls;
			eb_print_row(stdout, ours);
		}
		if (strcmp(mode, "ours")) {
			att = &res[nres++];
			status |= one_run(&b, sizes[i], true, att) || att->up < att->calls;
			eb_print_row(stdout, att);
		}
		if (ours && att)
			eb_print_ratio(stdout, ours, att);
		fflush(stdout);
	}
	if (json) {
		FILE *fp = fopen(json, "w");
		if (!fp) {
			fprintf(stderr, "engine_bench: %s: %s\n", json, strerror(errno));
			status = 1;
		} else {
			eb_json(fp, res, nres, b.seconds, b.batch, b.plain);
			if (fclose(fp))
				status = 1;
		}
	}
	if (b.raw && fclose(b.raw))
		status = 1;
	mem_deref(b.loop);
	return status;
}
