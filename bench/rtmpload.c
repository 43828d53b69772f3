/* rtmpload: replay a recorded Speex FLV through real RTMP connections at
 * real time and measure what each frame went through.
 *
 * It runs N publisher/player pairs from one thread with epoll.  Pair i
 * plays PREFIX<i>, then publishes PREFIX<i> on a second connection, and
 * sends the FLV's audio tags at their timestamps (looping the file, the
 * pairs spread evenly over one packet time).  Each frame the player gets
 * back is matched to its send time by the RTMP timestamp, which both our
 * echo and nginx-rtmp's relay preserve, and its payload is compared with
 * what was sent.  Pair i starts i frames into the file, so a frame routed
 * to the wrong player shows up as corrupt.
 *
 * Output: a JSON report on stdout (see loadstats.c), optionally the
 * per-frame records (--raw) and pair 0's received audio as FLV (--record).
 * Modes: pair (default), play (players only: count and record what
 * arrives from another publisher, e.g. FFmpeg), publish (publishers only).
 *
 * With --call, each pair is a voice call instead of an echo stream: the
 * player logs in at connect as one XMPP user and answers on "incoming",
 * the publisher logs in as another and publishes to the player's JID.
 * Frames go out once both sides report the call active, plus a settle
 * time; loadcall.c maps the callee's timestamps back to the sent frames. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/timerfd.h>
#include <unistd.h>
#include "load.h"
#include "mem.h"

#define NS 1000000000LL
#define MS 1000000LL
#define START_DELAY (100 * MS)   /* from the last pair ready to the first frame */
#define SEND_SLACK (20 * 1000)   /* send frames due within 20 us together */

static void start_more(struct load *ld);

/* ---- the send schedule: a min-heap of pairs on their next due time ---- */

static int64_t due(const struct pair *p)
{
	return p->t0 + (int64_t)p->recs[p->k].rel * MS;
}

static void heap_set(struct load *ld, size_t i, struct pair *p)
{
	ld->heap[i] = p;
	p->hidx = i + 1;
}

static void heap_up(struct load *ld, size_t i)
{
	struct pair *p = ld->heap[i];

	while (i > 0 && due(ld->heap[(i - 1) / 2]) > due(p)) {
		heap_set(ld, i, ld->heap[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
	heap_set(ld, i, p);
}

static void heap_down(struct load *ld, size_t i)
{
	struct pair *p = ld->heap[i];

	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= ld->nheap)
			break;
		if (c + 1 < ld->nheap && due(ld->heap[c + 1]) < due(ld->heap[c]))
			c++;
		if (due(p) <= due(ld->heap[c]))
			break;
		heap_set(ld, i, ld->heap[c]);
		i = c;
	}
	heap_set(ld, i, p);
}

static void heap_push(struct load *ld, struct pair *p)
{
	heap_set(ld, ld->nheap++, p);
	heap_up(ld, ld->nheap - 1);
}

static void heap_remove(struct load *ld, struct pair *p)
{
	size_t i;
	struct pair *last;

	if (!p->hidx)
		return;
	i = p->hidx - 1;
	p->hidx = 0;
	last = ld->heap[--ld->nheap];
	if (i == ld->nheap)
		return;
	heap_set(ld, i, last);
	heap_up(ld, i);
	heap_down(ld, last->hidx - 1);
}

static void arm(struct load *ld)
{
	struct itimerspec it = {0};
	int64_t t = ld->nheap ? due(ld->heap[0]) : 0;

	it.it_value.tv_sec = t / NS;
	it.it_value.tv_nsec = t % NS;
	if (ld->nheap && !t)
		it.it_value.tv_nsec = 1;
	timerfd_settime(ld->tfd, TFD_TIMER_ABSTIME, &it, NULL);
}

/* ---- pairs ------------------------------------------------------------ */

const struct flv_frame *load_frame_of(const struct load *ld, const struct pair *p, uint32_t k)
{
	return &ld->flv.frames[(ld->seek_idx + p->idx + k) % ld->flv.n];
}

/* Timestamps of pair p: its slice of the (looped) file, starting at the
 * seek position's timestamp. */
static void plan(struct load *ld, struct pair *p)
{
	const struct flv_file *f = &ld->flv;
	uint32_t start = (ld->seek_idx + p->idx) % f->n;
	uint64_t first = f->frames[start].ts;

	for (uint32_t k = 0; k < ld->nframes; k++) {
		uint64_t j = start + (uint64_t)k;
		uint64_t ts = f->frames[j % f->n].ts + j / f->n * f->period_ms;
		p->recs[k].rel = (uint32_t)(ts - first);
	}
}

static void end_stream(struct load *ld);

bool load_call_mode(const struct load *ld)
{
	return ld->o.call_jid != NULL;
}

void load_pair_fail(struct pair *p, const char *why)
{
	struct load *ld = p->ld;

	if (p->failed)
		return;
	p->failed = true;
	if (!ld->first_why)
		ld->first_why = why;
	cli_close(&p->pub);
	cli_close(&p->play);
	if (!p->ready) {
		ld->in_setup -= p->started;
		ld->nfailed++;
		start_more(ld);
	}
	if (p->hidx) {
		heap_remove(ld, p);
		if (!ld->nheap)
			end_stream(ld);
	}
}

void load_pair_ready(struct pair *p)
{
	struct load *ld = p->ld;

	if (p->ready || p->failed)
		return;
	p->ready = true;
	ld->in_setup--;
	ld->nready++;
	start_more(ld);
}

static void on_state(struct cli *c, int err)
{
	struct pair *p = c->arg;

	if (err) {
		load_pair_fail(p, c->why);
		return;
	}
	if (c == &p->play && p->ld->o.mode == MODE_PAIR) {
		if (cli_start(&p->pub))
			load_pair_fail(p, "socket for the publisher");
		return;
	}
	if (!load_call_mode(p->ld) || call_up(p))
		load_pair_ready(p);
}

/* Binary search for the frame with media time rel among those sent. */
static int find(const struct pair *p, uint32_t rel)
{
	uint32_t lo = 0, hi = p->k;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (p->recs[mid].rel < rel)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < p->k && p->recs[lo].rel == rel ? (int)lo : -1;
}

static void on_audio(struct cli *c, const struct rtmp_msg *m, int64_t now)
{
	struct pair *p = c->arg;
	struct load *ld = p->ld;

	if (p->record)
		flvf_write_audio(p->record, m->ts, m->body, m->len);
	if (ld->o.mode == MODE_PLAY) {
		ld->play_frames++;
		return;
	}
	if (load_call_mode(ld))
		call_audio(p, m, now);
	else
		load_frame(p, m->ts - ld->flv.frames[ld->seek_idx].ts, m->body, m->len, now);
}

void load_frame(struct pair *p, uint32_t rel, const uint8_t *body, uint32_t len, int64_t now)
{
	struct load *ld = p->ld;
	const struct flv_frame *fr;
	int64_t transit;
	struct rec *r;
	int k;

	if ((k = find(p, rel)) < 0) {
		p->unknown++;
		return;
	}
	r = &p->recs[k];
	if (r->nrecv++) {
		p->dup++;
		return;
	}
	r->recv = now;
	p->got++;
	ld->total_got++;
	fr = load_frame_of(ld, p, (uint32_t)k);
	if (!call_same(ld, fr, body, len))
		p->corrupt++;
	if (p->any_rx && rel < p->max_rel)
		p->reordered++;
	transit = now - (p->t0 + (int64_t)rel * MS);
	if (p->any_rx) {
		int64_t d = transit - p->last_transit;
		p->jitter_ns += ((double)(d < 0 ? -d : d) - p->jitter_ns) / 16;
	}
	p->last_transit = transit;
	if (!p->any_rx || rel > p->max_rel)
		p->max_rel = rel;
	p->any_rx = true;
	if (ld->phase == PH_DRAIN && ld->total_got == ld->total_sent)
		ld->phase = PH_DONE;
}

static void start_pair(struct load *ld, struct pair *p)
{
	struct cli *first = ld->o.mode == MODE_PUBLISH ? &p->pub : &p->play;

	ld->in_setup++;
	p->started = true;
	if (cli_start(first))
		load_pair_fail(p, "socket");
}

static void start_more(struct load *ld)
{
	while (ld->phase == PH_SETUP && ld->in_setup < ld->o.setup_par && ld->next_setup < ld->o.pairs)
		start_pair(ld, &ld->pairs[ld->next_setup++]);
}

/* ---- phases ----------------------------------------------------------- */

/* CPU and memory from here to end_stream(): the stream window, without
 * the start delay (in call mode the ICE and DTLS handshakes may still be
 * finishing during it). */
static void snap_start(struct load *ld)
{
	ld->snapped = true;
	proc_snap(ld->o.server_pid, &ld->srv0);
	getrusage(RUSAGE_SELF, &ld->ru0);
}

static void begin_stream(struct load *ld)
{
	int64_t now = cli_now_ns(), t0 = now + ld->start_delay;
	uint64_t step = (uint64_t)ld->flv.step_ms * MS;
	uint32_t j = 0;

	ld->phase = PH_STREAM;
	ld->t_stream = t0;
	if (ld->o.mode == MODE_PLAY) {
		snap_start(ld);
		ld->deadline = now + (int64_t)(ld->o.duration * NS);
		return;
	}
	for (uint32_t i = 0; i < ld->o.pairs; i++) {
		struct pair *p = &ld->pairs[i];
		if (!p->ready || p->failed)
			continue;
		p->t0 = t0 + (int64_t)(step * j++ / ld->nready);
		heap_push(ld, p);
	}
	arm(ld);
}

static void end_stream(struct load *ld)
{
	if (ld->phase != PH_STREAM)
		return;
	if (!ld->snapped)
		snap_start(ld);
	ld->t_end = cli_now_ns();
	proc_snap(ld->o.server_pid, &ld->srv1);
	getrusage(RUSAGE_SELF, &ld->ru1);
	ld->phase = ld->o.mode == MODE_PAIR && ld->total_got < ld->total_sent ? PH_DRAIN : PH_DONE;
	/* A caller without a player (path (c)) stays connected for the drain:
	 * hanging up at once could cut the last frames off on their way. */
	if (ld->o.mode == MODE_PUBLISH && load_call_mode(ld))
		ld->phase = PH_DRAIN;
	ld->deadline = ld->t_end + (int64_t)ld->o.drain_ms * MS;
}

static void send_due(struct load *ld)
{
	uint64_t x;
	int64_t now = cli_now_ns();

	if (read(ld->tfd, &x, sizeof(x)) < 0 && errno != EAGAIN)
		return;
	if (!ld->snapped)
		snap_start(ld);
	while (ld->nheap && due(ld->heap[0]) <= now + SEND_SLACK) {
		struct pair *p = ld->heap[0];
		const struct flv_frame *fr = load_frame_of(ld, p, p->k);
		struct rec *r = &p->recs[p->k];
		uint32_t ts = ld->flv.frames[ld->seek_idx].ts + r->rel;

		r->sent = cli_now_ns();
		if (cli_send_audio(&p->pub, ts, fr->body, fr->len)) {
			r->sent = 0;
			p->send_err++;
			load_pair_fail(p, "publisher connection lost");
			continue;
		}
		ld->total_sent++;
		if (++p->k < ld->nframes) {
			heap_down(ld, 0);
		} else {
			heap_remove(ld, p);
		}
		now = cli_now_ns();
	}
	if (ld->nheap)
		arm(ld);
	else
		end_stream(ld);
}

static int poll_timeout(const struct load *ld)
{
	int64_t left;

	if (ld->phase == PH_STREAM && !ld->deadline)
		return -1;   /* the timerfd drives the stream */
	left = ld->deadline - cli_now_ns();
	return left <= 0 ? 0 : (int)(left / MS + 1);
}

static void check_deadline(struct load *ld)
{
	if (!ld->deadline || cli_now_ns() < ld->deadline)
		return;
	if (ld->phase == PH_SETUP) {
		ld->next_setup = ld->o.pairs;   /* start no more */
		for (uint32_t i = 0; i < ld->o.pairs; i++)
			if (!ld->pairs[i].ready)
				load_pair_fail(&ld->pairs[i], "setup timeout");
	} else if (ld->phase == PH_STREAM) {
		end_stream(ld);   /* play mode: the duration is over */
		ld->phase = PH_DONE;
	} else {
		ld->phase = PH_DONE;
	}
}

static int run(struct load *ld)
{
	struct epoll_event evs[256];

	ld->deadline = cli_now_ns() + (int64_t)(ld->o.setup_timeout * NS);
	ld->t_setup = cli_now_ns();
	start_more(ld);
	while (ld->phase != PH_DONE) {
		int n = epoll_wait(ld->epfd, evs, 256, poll_timeout(ld));

		if (n < 0 && errno != EINTR)
			return errno;
		for (int i = 0; i < n; i++) {
			if (evs[i].data.ptr == &ld->tfd)
				send_due(ld);
			else
				cli_io(evs[i].data.ptr, evs[i].events);
		}
		if (ld->phase == PH_SETUP && ld->nready + ld->nfailed == ld->o.pairs) {
			if (!ld->nready)
				return ECONNREFUSED;
			ld->deadline = 0;
			begin_stream(ld);
		}
		check_deadline(ld);
	}
	return 0;
}

/* ---- setup and options ------------------------------------------------ */

static int count_frames(struct load *ld)
{
	const struct flv_file *f = &ld->flv;
	uint64_t dur = (uint64_t)(ld->o.duration * 1000);

	ld->seek_idx = 0;
	while (ld->seek_idx < f->n && f->frames[ld->seek_idx].ts < ld->o.seek_ms)
		ld->seek_idx++;
	if (ld->seek_idx == f->n)
		return ERANGE;
	/* Every pair sends the same number of frames: the duration at the
	 * file's packet time (exact for uniformly spaced files). */
	ld->nframes = (uint32_t)((dur + f->step_ms - 1) / f->step_ms);
	return ld->nframes ? 0 : ERANGE;
}

static int init(struct load *ld)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &ld->tfd};
	struct rlimit rl;
	int err;

	if ((err = cli_target_parse(&ld->tgt, ld->o.url)))
		return fprintf(stderr, "rtmpload: bad --url %s\n", ld->o.url), err;
	if ((err = flvf_load(&ld->flv, ld->o.flv)))
		return fprintf(stderr, "rtmpload: %s: %s\n", ld->o.flv, strerror(err)), err;
	if ((err = count_frames(ld)))
		return fprintf(stderr, "rtmpload: --seek/--duration outside the file\n"), err;
	if (ld->o.pairs > 1000000)
		return fprintf(stderr, "rtmpload: too many pairs\n"), EINVAL;
	if (!getrlimit(RLIMIT_NOFILE, &rl)) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	ld->epfd = epoll_create1(EPOLL_CLOEXEC);
	ld->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (ld->epfd < 0 || ld->tfd < 0 || epoll_ctl(ld->epfd, EPOLL_CTL_ADD, ld->tfd, &ev))
		return fprintf(stderr, "rtmpload: epoll: %s\n", strerror(errno)), errno;
	ld->pairs = mem_zalloc(ld->o.pairs * sizeof(*ld->pairs), NULL);
	ld->heap = mem_zalloc(ld->o.pairs * sizeof(*ld->heap), NULL);
	if (!ld->pairs || !ld->heap)
		return fprintf(stderr, "rtmpload: out of memory\n"), ENOMEM;
	for (uint32_t i = 0; i < ld->o.pairs; i++) {
		struct pair *p = &ld->pairs[i];

		p->ld = ld;
		p->idx = i;
		snprintf(p->name, sizeof(p->name), "%s%u", ld->o.prefix, i);
		cli_init(&p->pub, ld->epfd, &ld->tgt, CLI_PUBLISH, p->name, NULL, on_state, p);
		cli_init(&p->play, ld->epfd, &ld->tgt, CLI_PLAY, p->name, on_audio, on_state, p);
		if (ld->o.mode != MODE_PLAY) {
			p->recs = mem_zalloc(ld->nframes * sizeof(*p->recs), NULL);
			if (!p->recs)
				return fprintf(stderr, "rtmpload: out of memory\n"), ENOMEM;
			plan(ld, p);
		}
	}
	if (load_call_mode(ld) && (err = call_init(ld)))
		return fprintf(stderr, "rtmpload: --call: %s\n", strerror(err)), err;
	ld->start_delay = load_call_mode(ld) ? (int64_t)ld->o.settle_ms * MS : START_DELAY;
	if (ld->o.record && ld->o.mode != MODE_PUBLISH) {
		ld->pairs[0].record = fopen(ld->o.record, "wb");
		if (!ld->pairs[0].record || flvf_write_header(ld->pairs[0].record))
			return fprintf(stderr, "rtmpload: cannot write %s\n", ld->o.record), EIO;
	}
	return 0;
}

static void fini(struct load *ld)
{
	for (uint32_t i = 0; ld->pairs && i < ld->o.pairs; i++) {
		cli_close(&ld->pairs[i].pub);
		cli_close(&ld->pairs[i].play);
		mem_deref(ld->pairs[i].recs);
		if (ld->pairs[i].record)
			fclose(ld->pairs[i].record);
	}
	call_fini(ld);
	mem_deref(ld->pairs);
	mem_deref(ld->heap);
	flvf_free(&ld->flv);
	if (ld->tfd >= 0)
		close(ld->tfd);
	if (ld->epfd >= 0)
		close(ld->epfd);
}

static void usage(void)
{
	fprintf(stderr,
		"usage: rtmpload --url rtmp://HOST:PORT/APP --flv FILE [options]\n"
		"  --pairs N          publisher/player pairs (default 1)\n"
		"  --duration S       seconds of audio each publisher sends (default 10)\n"
		"  --prefix NAME      stream names are NAME<i> (default echo/p)\n"
		"  --mode M           pair (default), play or publish\n"
		"  --seek MS          start at the first frame with timestamp >= MS\n"
		"  --setup-par N      pairs setting up at once (default 32)\n"
		"  --setup-timeout S  (default 10 + pairs/20)\n"
		"  --drain-ms MS      wait for late frames after the last send (default 2000)\n"
		"  --late-ms MS       frames later than this count as late (default 50)\n"
		"  --server-pid PID   report this process's CPU and memory over the stream\n"
		"  --raw FILE         per-frame records: u32 pair, u32 media ms, i64 sent ns\n"
		"                     (from the stream start), i64 latency ns (-1: lost)\n"
		"  --record FILE      pair 0's received audio as FLV\n"
		"voice calls (paths (b) and (c)):\n"
		"  --call JIDFMT      pair i logs in at connect: the publisher as JIDFMT with 2i,\n"
		"                     the player as 2i+1 (user@domain/resource, one %%d); the\n"
		"                     player plays \"" ANSWER_NAME "\", the publisher publishes its JID\n"
		"  --call-to JIDFMT   --mode publish: call this JID instead (%%d: the pair)\n"
		"  --call-password PW the accounts' password\n"
		"  --call-server H:P  the XMPP server the gateway logs in to\n"
		"  --settle-ms MS     wait after the last call is up (default 500)\n");
}

static int parse(struct load_opts *o, int argc, char **argv)
{
	static const struct option opts[] = {
		{"url", 1, NULL, 'u'}, {"flv", 1, NULL, 'f'}, {"pairs", 1, NULL, 'n'},
		{"duration", 1, NULL, 'd'}, {"prefix", 1, NULL, 'p'}, {"mode", 1, NULL, 'm'},
		{"seek", 1, NULL, 's'}, {"setup-par", 1, NULL, 'P'}, {"setup-timeout", 1, NULL, 'T'},
		{"drain-ms", 1, NULL, 'D'}, {"late-ms", 1, NULL, 'L'}, {"server-pid", 1, NULL, 'S'},
		{"raw", 1, NULL, 'r'}, {"record", 1, NULL, 'R'}, {"help", 0, NULL, 'h'},
		{"call", 1, NULL, 'c'}, {"call-to", 1, NULL, 't'}, {"call-password", 1, NULL, 'w'},
		{"call-server", 1, NULL, 'x'}, {"settle-ms", 1, NULL, 'W'},
		{NULL, 0, NULL, 0},
	};
	int c;

	*o = (struct load_opts){.prefix = "echo/p", .pairs = 1, .duration = 10, .setup_par = 32,
				.drain_ms = 2000, .late_ms = 50, .setup_timeout = -1, .call_pw = "",
				.settle_ms = 500};
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'u': o->url = optarg; break;
		case 'f': o->flv = optarg; break;
		case 'n': o->pairs = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'd': o->duration = strtod(optarg, NULL); break;
		case 'p': o->prefix = optarg; break;
		case 'm':
			o->mode = !strcmp(optarg, "play") ? MODE_PLAY
				: !strcmp(optarg, "publish") ? MODE_PUBLISH : MODE_PAIR;
			break;
		case 's': o->seek_ms = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 'P': o->setup_par = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'T': o->setup_timeout = strtod(optarg, NULL); break;
		case 'D': o->drain_ms = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'L': o->late_ms = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'S': o->server_pid = atoi(optarg); break;
		case 'r': o->raw = optarg; break;
		case 'R': o->record = optarg; break;
		case 'c': o->call_jid = optarg; break;
		case 't': o->call_to = optarg; break;
		case 'w': o->call_pw = optarg; break;
		case 'x': o->call_server = optarg; break;
		case 'W': o->settle_ms = (uint32_t)strtoul(optarg, NULL, 10); break;
		default: usage(); return EINVAL;
		}
	}
	if (!o->url || !o->flv || !o->pairs || o->duration <= 0 || !o->setup_par ||
	    (o->call_jid && o->mode == MODE_PLAY) || (o->call_to && !o->call_jid)) {
		usage();
		return EINVAL;
	}
	if (o->setup_timeout < 0)
		o->setup_timeout = 10 + o->pairs / 20.0;
	return 0;
}

int main(int argc, char **argv)
{
	struct load ld = {.epfd = -1, .tfd = -1};
	int err;

	if (parse(&ld.o, argc, argv))
		return 2;
	err = init(&ld);   /* says what is wrong itself */
	if (!err) {
		err = run(&ld);
		if (err && err != ECONNREFUSED)
			fprintf(stderr, "rtmpload: %s\n", strerror(err));
		else if (load_report(&ld, stdout))
			err = EIO;
	}
	fini(&ld);
	if (err)
		return 1;
	return ld.nfailed ? 3 : 0;
}
