/* The ICE context of a media thread: libnice's GMainContext driven from our
 * loop, and the table of fds that the loop watches for ICE.
 *
 * The context is made with G_MAIN_CONTEXT_FLAGS_OWNERLESS_POLLING, so every
 * g_source_attach() (libnice arming a timer, from any thread) signals its
 * wakeup fd, which the loop watches.  One "cycle" is the external-loop
 * sequence GLib documents: poll the context's fds with timeout 0, check,
 * dispatch, then prepare and query again for the next timeout and fd set.
 * A cycle runs when the loop timer armed at that timeout fires or when one
 * of the context's fds is ready; never per packet. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "ice_int.h"
#include "log.h"
#include "mem.h"

#define NSLOT0 256
#define NPFD0 8
#define DRAIN_MS 3000

static int cycle(struct ice_ctx *c);

/* The inode of an open fd, to tell whether it is still the one we watched. */
static uint64_t fd_ino(int fd)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return 0;
	return (uint64_t)st.st_ino ^ ((uint64_t)st.st_dev << 40);
}

static void on_fd(int fd, int flags, void *arg)
{
	struct ice_ctx *c = arg;
	struct ice_comp *comp;
	bool glib;

	if (fd >= c->nslot)
		return;
	comp = c->slot[fd].comp;
	glib = c->slot[fd].gev != 0;
	mem_ref(c);
	if (comp && (flags & LOOP_READ))
		ice_comp_readable(comp, flags);
	if (glib && !c->cycling)
		cycle(c);
	mem_deref(c);
}

static void on_tmr(void *arg)
{
	struct ice_ctx *c = arg;

	if (!c->cycling)
		cycle(c);
}

static int grow_slots(struct ice_ctx *c, int fd)
{
	struct ice_slot *s;
	int n = c->nslot;

	if (fd < n)
		return 0;
	while (n <= fd)
		n *= 2;
	s = mem_realloc(c->slot, (size_t)n * sizeof(*s));
	if (!s)
		return -ENOMEM;
	memset(s + c->nslot, 0, (size_t)(n - c->nslot) * sizeof(*s));
	c->slot = s;
	c->nslot = n;
	return 0;
}

/* Make the loop's watch on fd match what the slot wants. */
static int update(struct ice_ctx *c, int fd)
{
	struct ice_slot *s = &c->slot[fd];
	int flags = 0, err;

	if (s->comp || (s->gev & (G_IO_IN | G_IO_PRI | G_IO_HUP | G_IO_ERR)))
		flags |= LOOP_READ;
	if (s->gev & G_IO_OUT)
		flags |= LOOP_WRITE;
	if (flags == s->flags)
		return 0;
	if (!flags) {
		/* Only if fd is still the socket we watched: libnice may have
		 * closed it, and someone else may own the number now. */
		if (fd_ino(fd) == s->ino)
			loop_fd_close(c->loop, fd);
		s->flags = 0;
		return 0;
	}
	err = loop_fd_listen(c->loop, fd, flags, on_fd, c);
	if (err == ENOENT) {
		/* Closed and reused behind the loop's back: watch it anew. */
		loop_fd_close(c->loop, fd);
		err = loop_fd_listen(c->loop, fd, flags, on_fd, c);
	}
	if (err) {
		LOGW("ice: cannot watch fd %d: %s", fd, strerror(err));
		s->flags = 0;
		return -err;
	}
	if (!s->flags)
		s->ino = fd_ino(fd);
	s->flags = (uint8_t)flags;
	return 0;
}

int ice_ctx_claim(struct ice_ctx *c, int fd, struct ice_comp *comp)
{
	int err = grow_slots(c, fd);

	if (err)
		return err;
	if (c->slot[fd].comp && c->slot[fd].comp != comp)
		c->slot[fd].flags = 0;   /* a closed socket's number, reused */
	c->slot[fd].comp = comp;
	return update(c, fd);
}

void ice_ctx_release(struct ice_ctx *c, int fd, const struct ice_comp *comp)
{
	if (fd >= c->nslot || c->slot[fd].comp != comp)
		return;
	c->slot[fd].comp = NULL;
	update(c, fd);
}

static bool same_fds(const struct ice_ctx *c, int n)
{
	if (n != c->ngfd)
		return false;
	for (int i = 0; i < n; i++)
		if (c->gfd[i].fd != c->pfd[i].fd || c->gfd[i].events != c->pfd[i].events)
			return false;
	return true;
}

/* The context's fds (its wakeup eventfd, TCP writes, ...) into the loop. */
static int sync_gfds(struct ice_ctx *c)
{
	int i, err = 0;

	if (same_fds(c, c->npfd))
		return 0;
	for (i = 0; i < c->ngfd; i++)
		c->slot[c->gfd[i].fd].gev = 0;
	for (i = 0; i < c->npfd; i++) {
		int fd = c->pfd[i].fd;
		if (fd < 0 || grow_slots(c, fd)) {
			LOGW("ice: cannot watch the GMainContext's fd %d", fd);
			err = -ENOMEM;
			continue;
		}
		c->slot[fd].gev |= c->pfd[i].events;
	}
	for (i = 0; i < c->ngfd; i++)
		update(c, c->gfd[i].fd);
	for (i = 0; i < c->npfd; i++) {
		if (c->pfd[i].fd >= 0 && c->pfd[i].fd < c->nslot) {
			int e = update(c, c->pfd[i].fd);
			err = err ? err : e;
		}
		c->gfd[i] = c->pfd[i];
	}
	c->ngfd = c->npfd;
	return err;
}

static int grow_pfd(struct ice_ctx *c, int n)
{
	GPollFD *p = mem_realloc(c->pfd, (size_t)n * sizeof(*p));
	GPollFD *g;

	if (!p)
		return -ENOMEM;
	c->pfd = p;
	g = mem_realloc(c->gfd, (size_t)n * sizeof(*g));
	if (!g)
		return -ENOMEM;
	c->gfd = g;
	c->cappfd = n;
	return 0;
}

/* Returns an error only when the next timeout or an fd could not be
 * watched; it is logged here as well. */
static int cycle(struct ice_ctx *c)
{
	gint timeout = -1;
	int n, err;

	mem_ref(c);
	c->cycling = true;
	c->stats.cycles++;
	if (c->prepared) {
		if (c->npfd)
			g_poll(c->pfd, (guint)c->npfd, 0);
		if (g_main_context_check(c->gctx, c->prio, c->pfd, c->npfd)) {
			c->stats.dispatches++;
			g_main_context_dispatch(c->gctx);
		}
	}
	g_main_context_prepare(c->gctx, &c->prio);
	for (;;) {
		n = g_main_context_query(c->gctx, c->prio, &timeout, c->pfd, c->cappfd);
		if (n <= c->cappfd)
			break;
		if ((err = grow_pfd(c, n))) {
			LOGW("ice: out of memory for %d GMainContext fds", n);
			n = c->cappfd;
			break;
		}
	}
	c->npfd = n;
	c->prepared = true;
	err = sync_gfds(c);
	if (timeout < 0) {
		tmr_cancel(c->loop, &c->tmr);
	} else if (tmr_start(c->loop, &c->tmr, (uint64_t)timeout, on_tmr, c)) {
		LOGW("ice: cannot arm the GMainContext timer");
		err = -ENOMEM;
	}
	c->cycling = false;
	mem_deref(c);
	return err;
}

static gboolean on_drain_timeout(gpointer arg)
{
	*(bool *)arg = true;
	return G_SOURCE_REMOVE;
}

static void on_closed(GObject *src, GAsyncResult *res, gpointer arg)
{
	struct ice_ctx *c = arg;

	(void)src;
	(void)res;
	c->nclosing--;
}

static void on_closing_recv(NiceAgent *nice, guint sid, guint cid, guint len, gchar *buf,
			    gpointer arg)
{
	/* TURN deallocation answers are consumed by libnice; data is dropped. */
	(void)nice;
	(void)sid;
	(void)cid;
	(void)len;
	(void)buf;
	(void)arg;
}

void ice_ctx_close_nice(struct ice_ctx *c, NiceAgent *nice, guint sid, unsigned ncomp,
			bool turn)
{
	/* Without TURN there is nothing to deallocate: disposing closes the
	 * sockets now.  With TURN, close_async sends the deallocations first
	 * and waits for their answers (or STUN's retransmissions, 2 s): so
	 * that they are read, the sockets go over to GLib's own receive path
	 * on our context for that time (what arrives otherwise is dropped).
	 * The GTask completes on the thread-default context: make it ours. */
	if (turn) {
		for (guint id = 1; sid && id <= ncomp; id++)
			nice_agent_attach_recv(nice, sid, id, c->gctx, on_closing_recv, NULL);
		c->nclosing++;
		g_main_context_push_thread_default(c->gctx);
		nice_agent_close_async(nice, on_closed, c);
		g_main_context_pop_thread_default(c->gctx);
	}
	g_object_unref(nice);
}

/* Let agents still closing finish (TURN deallocations), for a while. */
static void drain(struct ice_ctx *c)
{
	bool expired = false;
	GSource *t;

	if (!c->nclosing)
		return;
	t = g_timeout_source_new(DRAIN_MS);
	g_source_set_callback(t, on_drain_timeout, &expired, NULL);
	g_source_attach(t, c->gctx);
	while (c->nclosing && !expired)
		g_main_context_iteration(c->gctx, TRUE);
	g_source_destroy(t);
	g_source_unref(t);
	if (c->nclosing)
		LOGW("ice: %u agents still closing after %d ms", c->nclosing, DRAIN_MS);
}

static void ctx_destroy(void *arg)
{
	struct ice_ctx *c = arg;

	if (c->gctx) {
		drain(c);
		tmr_cancel(c->loop, &c->tmr);
		for (int fd = 0; fd < c->nslot; fd++) {
			c->slot[fd].comp = NULL;
			c->slot[fd].gev = 0;
			if (c->slot[fd].flags)
				update(c, fd);
		}
		g_main_context_release(c->gctx);
		g_main_context_unref(c->gctx);
	}
	mem_deref(c->slot);
	mem_deref(c->pfd);
	mem_deref(c->gfd);
	for (size_t i = 0; i < sizeof(c->str) / sizeof(c->str[0]); i++)
		mem_deref(c->str[i]);
}

static int dup_str(struct ice_ctx *c, int i, const char **dst, const char *src)
{
	*dst = NULL;
	if (!src)
		return 0;
	c->str[i] = mem_strdup(src);
	*dst = c->str[i];
	return *dst ? 0 : -ENOMEM;
}

int ice_ctx_alloc(struct ice_ctx **ctxp, struct loop *loop, const struct ice_config *cfg)
{
	struct ice_ctx *c;
	int err;

	if (!ctxp || !loop)
		return -EINVAL;
	c = mem_zalloc(sizeof(*c), ctx_destroy);
	if (!c)
		return -ENOMEM;
	c->loop = loop;
	tmr_init(&c->tmr);
	if (cfg) {
		c->cfg = *cfg;
		if ((err = dup_str(c, 0, &c->cfg.stun_host, cfg->stun_host)) ||
		    (err = dup_str(c, 1, &c->cfg.turn_host, cfg->turn_host)) ||
		    (err = dup_str(c, 2, &c->cfg.turn_user, cfg->turn_user ? cfg->turn_user : "")) ||
		    (err = dup_str(c, 3, &c->cfg.turn_pass, cfg->turn_pass ? cfg->turn_pass : "")) ||
		    (err = dup_str(c, 4, &c->cfg.local_addrs, cfg->local_addrs)))
			goto fail;
	}
	c->slot = mem_zalloc(NSLOT0 * sizeof(*c->slot), NULL);
	if (!c->slot || grow_pfd(c, NPFD0)) {
		err = -ENOMEM;
		goto fail;
	}
	c->nslot = NSLOT0;
	c->gctx = g_main_context_new_with_flags(G_MAIN_CONTEXT_FLAGS_OWNERLESS_POLLING);
	if (!g_main_context_acquire(c->gctx)) {
		g_main_context_unref(c->gctx);
		c->gctx = NULL;
		err = -EBUSY;
		goto fail;
	}
	if ((err = cycle(c)))
		goto fail;
	*ctxp = c;
	return 0;
fail:
	mem_deref(c);
	return err;
}

const struct ice_stats *ice_ctx_stats(const struct ice_ctx *c)
{
	return &c->stats;
}
