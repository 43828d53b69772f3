/* The media engine (engine.h): the control thread's side of every call, the
 * media thread, and the rings between them.  A call's media side is in
 * engine_call.c.
 *
 * Messages.  Commands go to the media thread through one SPSC ring, events
 * come back through another; each ring's eventfd is signalled only when a
 * push finds the ring empty.  A message that finds its ring full waits in a
 * list (allocated then, which is rare) and a 5 ms timer moves it on; while
 * anything waits, later messages queue behind it, so the order holds.
 * CLOSE and CLOSED wait in nodes of the call's shared block, so that they
 * are never lost for want of memory.
 *
 * Audio.  Each call has a byte ring (bring.h) per direction, allocated
 * with the call: a message takes its own length, not the longest's.  A
 * push that finds the ring empty sends a small notice (CMD_AUDIO,
 * MEV_AUDIO) naming the call; the other side then drains that ring.  A
 * notice is never allocated: when it finds the command or event ring full
 * (or messages waiting), an atomic "rescan" flag is set and the eventfd
 * signalled, and the other side drains every call's ring (so audio may
 * then come ahead of events still waiting for room).
 *
 * Lifetime.  A call's shared block names it in notices, so it must outlive
 * every message about it.  Both rings are FIFO: CLOSE is the last command
 * the control side sends for a call (from the mcall destructor), CLOSED the
 * last event the media side sends (after tearing its side down), and the
 * control side frees the shared block when CLOSED arrives.  The media
 * thread never touches a shared block's reference count (mem refcounts are
 * not atomic).  mem_deref of the engine sets the stop flag, joins the
 * thread (which tears down every media side) and frees what is left. */
#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>
#include "engine_int.h"
#include "log.h"
#include "mem.h"

#define CMD_BATCH 256   /* commands per wake-up before the loop looks around */

/* A call on the control side: what the owner holds. */
struct mcall {
	struct le le;              /* e->calls */
	struct mengine *e;         /* NULL once the engine is gone */
	struct mshared *sh;        /* NULL once the engine is gone */
	mcall_event_h *evh;
	mcall_audio_h *audioh;
	void *arg;
	enum mcall_security sec;
	bool gathering, creds;
	bool media;                /* MCALL_EV_MEDIA came, nothing final since */
	bool final;                /* a final event was delivered */
	uint64_t tx_before_ready, tx_ring_full;   /* counted here, added to snapshots */
	uint64_t media_before_ready;              /* the media side's, from the last snapshot */
	struct mcall_stats stats;
	char ufrag[ENG_UFRAG_LEN + 1], pwd[ENG_PWD_LEN + 1];
};

/* --- queues: a ring, and a list for when it is full --- */

/* Push msg, or queue it behind the messages already waiting.  node: a
 * preallocated node, or NULL to allocate one if it must wait. */
static int q_push(struct ring *r, int fd, struct list *over, const void *msg, uint32_t len,
		  struct qnode *node, bool *queued)
{
	bool was_empty;

	*queued = false;
	if (!over->n && !ring_push(r, msg, len, &was_empty)) {
		if (was_empty)
			ring_wake_signal(fd);
		return 0;
	}
	if (!node) {
		node = mem_alloc(sizeof(*node) + len, NULL);
		if (!node)
			return -ENOMEM;
		memcpy(node + 1, msg, len);
		node->msg = node + 1;
		node->own = true;
	} else {
		node->msg = msg;
		node->own = false;
	}
	node->len = len;
	list_append(over, &node->le, node);
	*queued = true;
	return 0;
}

/* Move waiting messages into the ring.  True when some are still waiting.
 * A node is unlinked before its message is published: a CLOSED node lives
 * in the shared block, which the other thread frees once it has it. */
static bool q_flush(struct ring *r, int fd, struct list *over)
{
	bool wake = false, was_empty;
	struct le *le;
	void *slot;

	while ((le = over->head) && (slot = ring_push_slot(r))) {
		struct qnode *n = le->data;
		uint32_t len = n->len;
		bool own = n->own;

		list_unlink(le);
		memcpy(slot, n->msg, len);
		ring_push_commit(r, len, &was_empty);   /* n may be gone after this */
		wake |= was_empty;
		if (own)
			mem_deref(n);
	}
	if (wake)
		ring_wake_signal(fd);
	return over->n != 0;
}

static void q_clear(struct list *over)
{
	struct le *le;

	while ((le = over->head)) {
		struct qnode *n = le->data;
		list_unlink(le);
		if (n->own)
			mem_deref(n);
	}
}

/* --- control thread: commands --- */

static void on_cmd_retry(void *arg)
{
	struct mengine *e = arg;

	if (q_flush(e->cmd, e->cmd_fd, &e->cmd_over) &&
	    tmr_start(e->loop, &e->cmd_retry, ENG_RETRY_MS, on_cmd_retry, e))
		LOGE("engine: cannot arm the command retry timer");
}

static int cmd_push(struct mengine *e, const struct cmd *cmd, uint32_t len, struct qnode *node)
{
	bool queued;
	int err;

	if (e->cmd_over.n)
		q_flush(e->cmd, e->cmd_fd, &e->cmd_over);
	err = q_push(e->cmd, e->cmd_fd, &e->cmd_over, cmd, len, node, &queued);
	if (queued && !tmr_isrunning(&e->cmd_retry) &&
	    tmr_start(e->loop, &e->cmd_retry, ENG_RETRY_MS, on_cmd_retry, e))
		LOGE("engine: cannot arm the command retry timer");
	return err;
}

/* The call's tx ring was empty: tell the media thread, without allocating. */
static void cmd_audio(struct mengine *e, struct mshared *sh)
{
	struct cmd cmd = {.type = CMD_AUDIO, .sh = sh};
	bool was_empty;

	if (!e->cmd_over.n && !ring_push(e->cmd, &cmd, CMD_LEN0, &was_empty)) {
		if (was_empty)
			ring_wake_signal(e->cmd_fd);
		return;
	}
	atomic_store(&e->cmd_rescan, true);
	ring_wake_signal(e->cmd_fd);
}

/* --- media thread: events --- */

static void on_ev_retry(void *arg)
{
	struct mengine *e = arg;

	if (q_flush(e->evq, e->ev_fd, &e->ev_over) &&
	    tmr_start(e->mloop, &e->ev_retry, ENG_RETRY_MS, on_ev_retry, e))
		LOGE("engine: cannot arm the event retry timer");
}

static void ev_push(struct mengine *e, const struct mev *ev, uint32_t len, struct qnode *node)
{
	bool queued;

	if (e->ev_over.n)
		q_flush(e->evq, e->ev_fd, &e->ev_over);
	if (q_push(e->evq, e->ev_fd, &e->ev_over, ev, len, node, &queued)) {
		LOGE("%s: event %u lost: out of memory with the event ring full", ev->sh->name,
		     ev->ev);
		atomic_store(&ev->sh->lost, true);
		atomic_store(&e->ev_rescan, true);
		ring_wake_signal(e->ev_fd);
	}
	if (queued && !tmr_isrunning(&e->ev_retry) &&
	    tmr_start(e->mloop, &e->ev_retry, ENG_RETRY_MS, on_ev_retry, e))
		LOGE("engine: cannot arm the event retry timer");
}

void eng_ev_push(struct mengine *e, const struct mev *ev, uint32_t len)
{
	ev_push(e, ev, len, NULL);
}

void eng_ev_closed(struct mengine *e, struct mshared *sh)
{
	sh->closed_ev.type = MEV_CLOSED;
	sh->closed_ev.sh = sh;
	ev_push(e, &sh->closed_ev, MEV_LEN0, &sh->closed_node);
}

void eng_ev_audio(struct mengine *e, struct mshared *sh)
{
	struct mev ev;
	bool was_empty;

	if (!e->ev_over.n) {
		ev.type = MEV_AUDIO;
		ev.ev = 0;
		ev.sh = sh;
		ev.why[0] = 0;
		if (!ring_push(e->evq, &ev, MEV_LEN0, &was_empty)) {
			if (was_empty)
				ring_wake_signal(e->ev_fd);
			return;
		}
	}
	atomic_store(&e->ev_rescan, true);
	ring_wake_signal(e->ev_fd);
}

/* --- media thread: its loop --- */

static void on_tick(void *arg)
{
	struct mengine *e = arg;
	uint64_t now = loop_now();

	if (!mside_tick_all(e, (uint32_t)now))
		return;
	/* Keep the 20 ms grid; after a stall start a new one (the jitter
	 * buffer runs the slots it missed by itself). */
	e->tick_due += ENG_TICK_MS;
	if (e->tick_due <= now)
		e->tick_due = now + ENG_TICK_MS;
	if (tmr_start(e->mloop, &e->tick, e->tick_due - now, on_tick, e))
		LOGE("engine: cannot arm the 20 ms tick");
}

void eng_tick_want(struct mengine *e)
{
	if (tmr_isrunning(&e->tick))
		return;
	e->tick_due = loop_now() + ENG_TICK_MS;
	if (tmr_start(e->mloop, &e->tick, ENG_TICK_MS, on_tick, e))
		LOGE("engine: cannot arm the 20 ms tick");
}

static void on_cmd_fd(int fd, int flags, void *arg)
{
	struct mengine *e = arg;
	const struct cmd *cmd;
	uint32_t len;
	int n = 0;

	(void)flags;
	ring_wake_drain(fd);
	if (atomic_load(&e->stop)) {
		loop_stop(e->mloop);
		return;
	}
	while (n++ < CMD_BATCH && (cmd = ring_peek(e->cmd, &len))) {
		if (len >= CMD_LEN0)
			mside_command(e, cmd);
		ring_pop_commit(e->cmd);
	}
	if (n > CMD_BATCH)
		ring_wake_signal(fd);   /* more: after a look at the sockets */
	if (atomic_exchange(&e->cmd_rescan, false))
		LIST_FOREACH(&e->mcalls, le)
			mside_drain_tx(le->data);
}

static int media_start(struct mengine *e)
{
	int err;

	if ((err = loop_alloc(&e->mloop)))
		return -err;
	if ((err = ice_ctx_alloc(&e->ictx, e->mloop, &e->ice)))
		return err;
	if ((err = loop_fd_listen(e->mloop, e->cmd_fd, LOOP_READ, on_cmd_fd, e)))
		return -err;
	return 0;
}

static void media_stop(struct mengine *e)
{
	mside_close_all(e);
	q_clear(&e->ev_over);
	if (e->mloop) {
		tmr_cancel(e->mloop, &e->tick);
		tmr_cancel(e->mloop, &e->ev_retry);
		loop_fd_close(e->mloop, e->cmd_fd);
	}
	/* the GMainContext is released by the thread that acquired it */
	e->ictx = mem_deref(e->ictx);
	e->mloop = mem_deref(e->mloop);
}

static void *media_main(void *arg)
{
	struct mengine *e = arg;
	int err = media_start(e);

	e->start_err = err;
	sem_post(&e->ready);
	if (!err) {
		err = loop_run(e->mloop);
		if (err)
			LOGE("engine: media loop: %s", strerror(err));
	}
	media_stop(e);
	return NULL;
}

/* --- control thread: events --- */

/* The owner may release the engine from a handler: our reference keeps it
 * until the dispatch returns, and this says whether to go on. */
static bool alive(const struct mengine *e)
{
	return mem_nrefs(e) > e->busy;
}

static void overlay(struct mcall *c)
{
	c->stats.tx_before_ready = c->media_before_ready + c->tx_before_ready;
	c->stats.tx_ring_full = c->tx_ring_full;
}

static void call_event(struct mcall *c, const struct mev *m)
{
	struct mcall_event ev = {.type = (enum mcall_ev_type)m->ev,
				 .why = m->why[0] ? m->why : NULL};

	/* after a final event only stats (a lost event fails a call early) */
	if (c->final && ev.type != MCALL_EV_STATS)
		return;
	switch (ev.type) {
	case MCALL_EV_CANDIDATE:
		ev.cand = &m->u.cand;
		break;
	case MCALL_EV_MEDIA:
		c->media = true;
		break;
	case MCALL_EV_FAILED:
	case MCALL_EV_CONSENT_LOST:
	case MCALL_EV_SECURITY_ERROR:
		c->media = false;
		c->final = true;
		break;
	case MCALL_EV_STATS:
		c->stats = m->u.stats;
		c->media_before_ready = m->u.stats.tx_before_ready;
		overlay(c);
		ev.stats = &c->stats;
		break;
	default:
		break;
	}
	if (c->evh)
		c->evh(c, &ev, c->arg);
}

/* Hand the call's received audio to its owner until the ring is empty. */
static void drain_rx(struct mengine *e, struct mshared *sh)
{
	const uint8_t *p;
	uint32_t len, ts;

	while (alive(e) && (p = bring_peek(sh->rx, &len))) {
		struct mcall *c = sh->c;
		if (c && c->audioh && len >= 4) {
			memcpy(&ts, p, sizeof(ts));
			c->audioh(c, ts, p + 4, len - 4, c->arg);
		}
		bring_release(sh->rx);
	}
}

static void shared_free(struct mshared *sh)
{
	list_unlink(&sh->le);
	mem_deref(sh);
}

static void handle_ev(struct mengine *e, const struct mev *m)
{
	struct mshared *sh = m->sh;

	switch (m->type) {
	case MEV_CLOSED:
		/* For operators and tests: after a call, nothing may stay behind
		 * on the media thread (its ICE agent, DTLS, SRTP). */
		LOGD("engine: call %s torn down; %u left on the media thread", sh->name,
		     (unsigned)e->shared.n - 1);
		shared_free(sh);
		break;
	case MEV_AUDIO:
		drain_rx(e, sh);
		break;
	case MEV_EVENT:
		if (sh->c)
			call_event(sh->c, m);
		break;
	}
}

/* The media thread lost an event for this call: fail it. */
static void lost_event(struct mshared *sh)
{
	struct mev m = {.type = MEV_EVENT, .ev = MCALL_EV_FAILED, .sh = sh};

	if (!atomic_exchange(&sh->lost, false) || !sh->c)
		return;
	snprintf(m.why, sizeof(m.why), "media engine out of memory: events lost");
	call_event(sh->c, &m);
}

static void on_ev_fd(int fd, int flags, void *arg)
{
	struct mengine *e = arg;
	const struct mev *m;
	uint32_t len;

	(void)flags;
	ring_wake_drain(fd);
	mem_ref(e);
	e->busy++;
	while (alive(e) && (m = ring_peek(e->evq, &len))) {
		if (len >= MEV_LEN0)
			handle_ev(e, m);
		ring_pop_commit(e->evq);
	}
	/* shared blocks leave the list only on CLOSED, never from a handler */
	if (alive(e) && atomic_exchange(&e->ev_rescan, false)) {
		for (struct le *le = e->shared.head; le && alive(e); le = le->next) {
			lost_event(le->data);
			if (alive(e))
				drain_rx(e, le->data);
		}
	}
	e->busy--;
	mem_deref(e);
}

/* --- the engine --- */

static void engine_destroy(void *arg)
{
	struct mengine *e = arg;
	struct le *le;

	/* calls still held: no handler any more, no commands */
	while ((le = e->calls.head)) {
		struct mcall *c = le->data;
		list_unlink(le);
		c->sh->c = NULL;
		c->sh = NULL;
		c->e = NULL;
		c->media = false;
	}
	if (e->thread_started) {
		atomic_store(&e->stop, true);
		ring_wake_signal(e->cmd_fd);
		pthread_join(e->thread, NULL);
	}
	if (e->ev_fd >= 0)
		loop_fd_close(e->loop, e->ev_fd);
	tmr_cancel(e->loop, &e->cmd_retry);
	q_clear(&e->cmd_over);   /* nodes may live in shared blocks: first */
	while ((le = e->shared.head))
		shared_free(le->data);
	if (e->sem_inited)
		sem_destroy(&e->ready);
	if (e->cmd_fd >= 0)
		close(e->cmd_fd);
	if (e->ev_fd >= 0)
		close(e->ev_fd);
	mem_deref(e->cmd);
	mem_deref(e->evq);
	mem_deref(e->cert);
	for (size_t i = 0; i < sizeof(e->str) / sizeof(e->str[0]); i++)
		mem_deref(e->str[i]);
}

static int dup_str(struct mengine *e, int i, const char **dst, const char *src)
{
	*dst = NULL;
	if (!src)
		return 0;
	e->str[i] = mem_strdup(src);
	*dst = e->str[i];
	return *dst ? 0 : -ENOMEM;
}

static int copy_config(struct mengine *e, const struct mengine_config *cfg)
{
	const struct ice_config *ic = &cfg->ice;
	int err;

	e->ice = *ic;
	if ((err = dup_str(e, 0, &e->ice.stun_host, ic->stun_host)) ||
	    (err = dup_str(e, 1, &e->ice.turn_host, ic->turn_host)) ||
	    (err = dup_str(e, 2, &e->ice.turn_user, ic->turn_user)) ||
	    (err = dup_str(e, 3, &e->ice.turn_pass, ic->turn_pass)) ||
	    (err = dup_str(e, 4, &e->ice.local_addrs, ic->local_addrs)))
		return err;
	e->max_calls = cfg->max_calls ? cfg->max_calls : ENG_MAX_CALLS;
	e->audio_ring = cfg->audio_ring ? cfg->audio_ring : ENG_AUDIO_RING;
	e->ctl_slots = cfg->ctl_slots ? cfg->ctl_slots : ENG_CTL_SLOTS;
	e->allow_plain = cfg->allow_plain;
	if (e->audio_ring < ENG_AUDIO_RING_MIN || e->audio_ring > ENG_AUDIO_RING_MAX ||
	    (e->audio_ring & (e->audio_ring - 1)) || e->ctl_slots < 2 ||
	    e->ctl_slots > 65536 || (e->ctl_slots & (e->ctl_slots - 1)))
		return -EINVAL;
	return 0;
}

static int load_cert(struct mengine *e, const struct mengine_config *cfg)
{
	int err;

	if (cfg->cert_pem || cfg->key_pem) {
		if (!cfg->cert_pem || !cfg->key_pem)
			return -EINVAL;
		err = mdtls_cert_load(&e->cert, cfg->cert_pem, cfg->key_pem);
	} else {
		err = mdtls_cert_generate(&e->cert);
	}
	if (err)
		return err;
	mdtls_cert_fingerprint(e->cert, e->fp);
	return 0;
}

/* The media thread blocks every signal: they are the control thread's. */
static int start_thread(struct mengine *e)
{
	sigset_t all, old;
	int err;

	if (sem_init(&e->ready, 0, 0))
		return -errno;
	e->sem_inited = true;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = pthread_create(&e->thread, NULL, media_main, e);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err)
		return -err;
	e->thread_started = true;
	pthread_setname_np(e->thread, "rx-media");
	while (sem_wait(&e->ready) && errno == EINTR)
		;
	return e->start_err;
}

int mengine_alloc(struct mengine **ep, struct loop *loop, const struct mengine_config *cfg)
{
	static const struct mengine_config none;
	struct mengine *e;
	int err;

	if (!ep || !loop)
		return -EINVAL;
	if (!cfg)
		cfg = &none;
	e = mem_zalloc(sizeof(*e), engine_destroy);
	if (!e)
		return -ENOMEM;
	e->loop = loop;
	e->cmd_fd = e->ev_fd = -1;
	list_init(&e->calls);
	list_init(&e->shared);
	list_init(&e->cmd_over);
	list_init(&e->mcalls);
	list_init(&e->ev_over);
	tmr_init(&e->cmd_retry);
	tmr_init(&e->ev_retry);
	tmr_init(&e->tick);
	atomic_init(&e->cmd_rescan, false);
	atomic_init(&e->ev_rescan, false);
	atomic_init(&e->stop, false);
	if ((err = copy_config(e, cfg)) || (err = msrtp_init()) || (err = load_cert(e, cfg)) ||
	    (err = ring_alloc(&e->cmd, e->ctl_slots, sizeof(struct cmd))) ||
	    (err = ring_alloc(&e->evq, e->ctl_slots, sizeof(struct mev))))
		goto fail;
	if ((e->cmd_fd = ring_wake_fd()) < 0 || (e->ev_fd = ring_wake_fd()) < 0) {
		err = e->cmd_fd < 0 ? e->cmd_fd : e->ev_fd;
		goto fail;
	}
	if ((err = -loop_fd_listen(loop, e->ev_fd, LOOP_READ, on_ev_fd, e)) ||
	    (err = start_thread(e)))
		goto fail;
	*ep = e;
	return 0;
fail:
	LOGE("engine: cannot start: %s", strerror(-err));
	mem_deref(e);
	return err;
}

const char *mengine_fingerprint(const struct mengine *e)
{
	return e ? e->fp : NULL;
}

bool mengine_allow_plain(const struct mengine *e)
{
	return e && e->allow_plain;
}

unsigned mengine_calls(const struct mengine *e)
{
	return e ? (unsigned)e->calls.n : 0;
}

/* --- calls, control side --- */

static void call_destroy(void *arg)
{
	struct mcall *c = arg;
	struct mshared *sh = c->sh;

	if (!sh)
		return;   /* never started, or the engine went first */
	list_unlink(&c->le);
	sh->c = NULL;
	sh->close_cmd.type = CMD_CLOSE;
	sh->close_cmd.sh = sh;
	cmd_push(c->e, &sh->close_cmd, CMD_LEN0, &sh->close_node);
}

static void shared_destroy(void *arg)
{
	struct mshared *sh = arg;

	explicit_bzero(sh->sdes_tx, sizeof(sh->sdes_tx));
	explicit_bzero(sh->sdes_rx, sizeof(sh->sdes_rx));
	explicit_bzero(sh->srv.pass, sizeof(sh->srv.pass));
	mem_deref(sh->tx);
	mem_deref(sh->rx);
}

/* RFC 8445 ice-chars: ALPHA / DIGIT / "+" / "/", 6 random bits each. */
static int random_ice(char *out, size_t n)
{
	static const char set[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	uint8_t r[ENG_PWD_LEN];
	ssize_t got;

	if (n > sizeof(r))
		return -EINVAL;
	do
		got = getrandom(r, n, 0);
	while (got < 0 && errno == EINTR);
	if (got != (ssize_t)n)
		return got < 0 ? -errno : -EIO;
	for (size_t i = 0; i < n; i++)
		out[i] = set[r[i] & 63];
	out[n] = '\0';
	return 0;
}

static bool params_ok(const struct mcall_params *p)
{
	return p->pt <= 127 && p->ncomp <= 2 && p->fpp <= REPACK_MAX_FPP && p->tag >> 4 == 0xB &&
	       (!p->te_pt || (p->te_pt <= 127 && p->te_pt != p->pt)) &&
	       ice_servers_ok(p->servers);
}

static int shared_alloc(struct mshared **shp, struct mengine *e, const struct mcall_params *p)
{
	struct mshared *sh = mem_zalloc(sizeof(*sh), shared_destroy);
	int err;

	if (!sh)
		return -ENOMEM;
	sh->e = e;
	atomic_init(&sh->lost, false);
	sh->p = *p;
	sh->p.ncomp = p->ncomp ? p->ncomp : 1;
	sh->p.fpp = p->fpp ? p->fpp : 1;
	if (p->name)
		snprintf(sh->name, sizeof(sh->name), "%s", p->name);
	else
		snprintf(sh->name, sizeof(sh->name), "call%u", ++e->seq);
	sh->p.name = sh->name;
	if ((err = bring_alloc(&sh->tx, e->audio_ring)) ||
	    (err = bring_alloc(&sh->rx, e->audio_ring)) ||
	    (err = random_ice(sh->ufrag, ENG_UFRAG_LEN)) ||
	    (err = random_ice(sh->pwd, ENG_PWD_LEN))) {
		mem_deref(sh);
		return err;
	}
	*shp = sh;
	return 0;
}

int mcall_alloc(struct mcall **cp, struct mengine *e, const struct mcall_params *p,
		mcall_event_h *evh, mcall_audio_h *audioh, void *arg)
{
	struct cmd cmd = {.type = CMD_CREATE};
	struct mshared *sh;
	struct mcall *c;
	bool was_empty;
	int err;

	if (!cp || !e || !p || !params_ok(p))
		return -EINVAL;
	if (e->shared.n >= e->max_calls)
		return -EBUSY;
	if (e->cmd_over.n && q_flush(e->cmd, e->cmd_fd, &e->cmd_over))
		return -EAGAIN;
	if ((err = shared_alloc(&sh, e, p)))
		return err;
	/* the media thread reads them when it makes the agent: the caller's
	 * strings may be gone by then */
	sh->p.servers = ice_servers_copy(&sh->srv, p->servers);
	c = mem_zalloc(sizeof(*c), call_destroy);
	if (!c) {
		mem_deref(sh);
		return -ENOMEM;
	}
	c->evh = evh;
	c->audioh = audioh;
	c->arg = arg;
	memcpy(c->ufrag, sh->ufrag, sizeof(c->ufrag));
	memcpy(c->pwd, sh->pwd, sizeof(c->pwd));
	cmd.sh = sh;
	if (ring_push(e->cmd, &cmd, CMD_LEN0, &was_empty)) {
		mem_deref(c);
		mem_deref(sh);
		return -EAGAIN;
	}
	if (was_empty)
		ring_wake_signal(e->cmd_fd);
	c->e = e;
	c->sh = sh;
	sh->c = c;
	list_append(&e->shared, &sh->le, sh);
	list_append(&e->calls, &c->le, c);
	*cp = c;
	return 0;
}

/* The call's own copy: valid even after the engine went. */
void mcall_local_credentials(const struct mcall *c, const char **ufrag, const char **pwd)
{
	if (ufrag)
		*ufrag = c->ufrag;
	if (pwd)
		*pwd = c->pwd;
}

static int usable(const struct mcall *c)
{
	if (!c)
		return -EINVAL;
	return c->sh ? 0 : -ESHUTDOWN;
}

static int send_cmd(struct mcall *c, struct cmd *cmd, uint32_t len)
{
	cmd->sh = c->sh;
	return cmd_push(c->e, cmd, len, NULL);
}

static int simple_cmd(struct mcall *c, enum cmd_type type)
{
	struct cmd cmd = {.type = type};
	int err = usable(c);

	return err ? err : send_cmd(c, &cmd, CMD_LEN0);
}

int mcall_gather(struct mcall *c)
{
	int err = usable(c);

	if (err)
		return err;
	if (c->gathering)
		return -EALREADY;
	if (!(err = simple_cmd(c, CMD_GATHER)))
		c->gathering = true;
	return err;
}

int mcall_set_remote_credentials(struct mcall *c, const char *ufrag, const char *pwd)
{
	struct cmd cmd = {.type = CMD_CREDS};
	int err = usable(c);

	if (err)
		return err;
	if (!ufrag || !pwd || !*ufrag || !*pwd || strlen(ufrag) >= ICE_UFRAG_SIZE ||
	    strlen(pwd) >= ICE_PWD_SIZE)
		return -EINVAL;
	if (c->creds)
		return -EALREADY;
	strcpy(cmd.u.creds.ufrag, ufrag);
	strcpy(cmd.u.creds.pwd, pwd);
	if (!(err = send_cmd(c, &cmd, CMD_LEN(creds))))
		c->creds = true;
	return err;
}

int mcall_add_remote_candidate(struct mcall *c, const struct ice_cand *cand)
{
	struct cmd cmd = {.type = CMD_CAND};
	int err = usable(c);

	if (err)
		return err;
	if (!cand || cand->comp < 1 || cand->comp > c->sh->p.ncomp ||
	    !memchr(cand->ip, 0, sizeof(cand->ip)) ||
	    !memchr(cand->foundation, 0, sizeof(cand->foundation)) ||
	    !memchr(cand->rel_ip, 0, sizeof(cand->rel_ip)))
		return -EINVAL;
	cmd.u.cand = *cand;
	return send_cmd(c, &cmd, CMD_LEN(cand));
}

int mcall_end_of_candidates(struct mcall *c)
{
	return simple_cmd(c, CMD_EOC);
}

int mcall_rtcp_mux(struct mcall *c)
{
	return simple_cmd(c, CMD_RTCP_MUX);
}

/* "AB:CD:..." of 20, 28, 32, 48 or 64 bytes (sha-1 .. sha-512). */
static bool fp_ok(const char *fp)
{
	size_t n = 0;
	const char *s = fp;

	for (;;) {
		if (!isxdigit((unsigned char)s[0]) || !isxdigit((unsigned char)s[1]))
			return false;
		n++;
		if (!s[2])
			break;
		if (s[2] != ':')
			return false;
		s += 3;
	}
	return n == 20 || n == 28 || n == 32 || n == 48 || n == 64;
}

int mcall_set_dtls(struct mcall *c, enum mdtls_role role, const char *remote_fp)
{
	struct cmd cmd = {.type = CMD_DTLS};
	int err = usable(c);

	if (err)
		return err;
	if ((role != MDTLS_ACTIVE && role != MDTLS_PASSIVE) || !remote_fp ||
	    strlen(remote_fp) >= ENG_FP_MAX || !fp_ok(remote_fp))
		return -EINVAL;
	if (c->sec != MCALL_SEC_NONE)
		return -EALREADY;
	cmd.u.dtls.role = role;
	strcpy(cmd.u.dtls.fp, remote_fp);
	if (!(err = send_cmd(c, &cmd, CMD_LEN(dtls))))
		c->sec = MCALL_SEC_DTLS;
	return err;
}

int mcall_set_sdes(struct mcall *c, enum msrtp_profile prof,
		   const uint8_t tx_key[MSRTP_KEY_SALT_LEN], const uint8_t rx_key[MSRTP_KEY_SALT_LEN])
{
	struct cmd cmd = {.type = CMD_SDES};
	int err = usable(c);

	if (err)
		return err;
	if ((prof != MSRTP_AES_CM_128_HMAC_SHA1_80 && prof != MSRTP_AES_CM_128_HMAC_SHA1_32) ||
	    !tx_key || !rx_key)
		return -EINVAL;
	if (c->sec != MCALL_SEC_NONE)
		return -EALREADY;
	/* the keys go through the shared block, which the media thread wipes,
	 * rather than through a ring slot that keeps them */
	memcpy(c->sh->sdes_tx, tx_key, MSRTP_KEY_SALT_LEN);
	memcpy(c->sh->sdes_rx, rx_key, MSRTP_KEY_SALT_LEN);
	cmd.u.sdes = prof;
	if ((err = send_cmd(c, &cmd, CMD_LEN(sdes)))) {
		explicit_bzero(c->sh->sdes_tx, sizeof(c->sh->sdes_tx));
		explicit_bzero(c->sh->sdes_rx, sizeof(c->sh->sdes_rx));
		return err;
	}
	c->sec = MCALL_SEC_SDES;
	return 0;
}

int mcall_set_plain(struct mcall *c)
{
	int err = usable(c);

	if (err)
		return err;
	if (!c->e->allow_plain)
		return -EPERM;
	if (c->sec != MCALL_SEC_NONE)
		return -EALREADY;
	if (!(err = simple_cmd(c, CMD_PLAIN)))
		c->sec = MCALL_SEC_PLAIN;
	return err;
}

enum mcall_security mcall_security(const struct mcall *c)
{
	return c ? c->sec : MCALL_SEC_NONE;
}

int mcall_send_audio(struct mcall *c, uint32_t rtmp_ts, const uint8_t *body, size_t len)
{
	struct mshared *sh;
	uint8_t *rec;
	bool was_empty;
	int err = usable(c);

	if (err)
		return err;
	if (!body || !len)
		return -EINVAL;
	if (len > MCALL_AUDIO_MAX)
		return -EMSGSIZE;
	if (!c->media) {
		c->tx_before_ready++;
		overlay(c);
		return 0;
	}
	sh = c->sh;
	rec = bring_reserve(sh->tx, (uint32_t)len + 4);
	if (!rec) {
		c->tx_ring_full++;
		overlay(c);
		return 0;
	}
	memcpy(rec, &rtmp_ts, sizeof(rtmp_ts));
	memcpy(rec + 4, body, len);
	bring_commit(sh->tx, (uint32_t)len + 4, &was_empty);
	if (was_empty)
		cmd_audio(c->e, sh);
	return 0;
}

const struct mcall_stats *mcall_stats(const struct mcall *c)
{
	return &c->stats;
}

int mcall_request_stats(struct mcall *c)
{
	return simple_cmd(c, CMD_STATS);
}
