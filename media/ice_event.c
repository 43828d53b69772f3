/* An agent's traffic and events: its sockets are listed with
 * nice_agent_get_sockets() and watched by our loop; reading goes through
 * nice_agent_recv_messages_nonblocking() into a buffer of the agent's own;
 * libnice's signals become our events (ice.h).
 *
 * libnice 0.1.21 keeps "ice-trickle" and peer-gathering-done as flags only:
 * a component is failed once its checks are over and idle-timeout has
 * passed, whether or not the peer is done.  So the trickle rule lives here:
 * FAILED waits for ice_agent_end_of_candidates(), and new candidates in the
 * meantime bring the component back to checking. */
#include <errno.h>
#include <string.h>
#include "ice_int.h"
#include "log.h"
#include "mem.h"


static struct ice_comp *comp_of(struct ice_agent *a, guint sid, guint cid)
{
	if (sid != a->sid || cid < 1 || cid > a->ncomp || a->comp[cid - 1].unused)
		return NULL;
	return &a->comp[cid - 1];
}

static void report(struct ice_agent *a, const struct ice_event *ev)
{
	if (!ice_alive(a) || !a->evh)
		return;
	ice_hold(a);
	a->evh(a, ev, a->arg);
	ice_release(a);
}

void ice_comp_release_all(struct ice_comp *comp)
{
	for (unsigned i = 0; i < comp->nfds; i++)
		ice_ctx_release(comp->a->ctx, comp->fds[i], comp);
	comp->nfds = 0;
}

static bool listed(GPtrArray *socks, int fd)
{
	for (guint i = 0; i < socks->len; i++)
		if (g_socket_get_fd(g_ptr_array_index(socks, i)) == fd)
			return true;
	return false;
}

static bool claimed(const struct ice_comp *comp, int fd)
{
	for (unsigned i = 0; i < comp->nfds; i++)
		if (comp->fds[i] == fd)
			return true;
	return false;
}

static int claim(struct ice_comp *comp, int fd)
{
	int err;

	if (comp->nfds == comp->capfds) {
		unsigned n = comp->capfds * 2;
		int *p = comp->fds == comp->fd0 ? mem_alloc(n * sizeof(*p), NULL)
						 : mem_realloc(comp->fds, n * sizeof(*p));
		if (!p)
			return -ENOMEM;
		if (comp->fds == comp->fd0)
			memcpy(p, comp->fd0, sizeof(comp->fd0));
		comp->fds = p;
		comp->capfds = n;
	}
	err = ice_ctx_claim(comp->a->ctx, fd, comp);
	if (!err)
		comp->fds[comp->nfds++] = fd;
	return err;
}

/* Watch exactly the sockets libnice has for comp now. */
static int sync_comp(struct ice_comp *comp)
{
	struct ice_agent *a = comp->a;
	GPtrArray *socks;
	int err = 0;

	if (ice_attached(a))
		return 0;
	if (comp->unused) {
		ice_comp_release_all(comp);
		return 0;
	}
	socks = nice_agent_get_sockets(a->nice, a->sid, comp->id);
	if (!socks)
		return -ENOENT;
	a->ctx->stats.resyncs++;
	for (unsigned i = 0; i < comp->nfds;) {
		if (listed(socks, comp->fds[i])) {
			i++;
			continue;
		}
		ice_ctx_release(a->ctx, comp->fds[i], comp);
		comp->fds[i] = comp->fds[--comp->nfds];
	}
	for (guint i = 0; i < socks->len && !err; i++) {
		int fd = g_socket_get_fd(g_ptr_array_index(socks, i));
		if (!claimed(comp, fd))
			err = claim(comp, fd);
	}
	g_ptr_array_unref(socks);
	return err;
}

static void fail_comp(struct ice_comp *comp)
{
	struct ice_event ev = {.type = ICE_EV_FAILED, .comp = comp->id};

	if (comp->final || comp->unused)
		return;
	comp->final = true;
	report(comp->a, &ev);
}

/* Sockets we cannot watch are fatal for the component. */
void ice_comp_sync(struct ice_comp *comp)
{
	int err = sync_comp(comp);

	if (err) {
		LOGE("ice: component %u: cannot watch its sockets: %s", comp->id, strerror(-err));
		fail_comp(comp);
	}
}

void ice_comp_maybe_fail(struct ice_comp *comp)
{
	if (comp->failed && comp->a->eoc)
		fail_comp(comp);
}

static void report_pair(struct ice_comp *comp)
{
	struct ice_event ev = {.type = ICE_EV_CONNECTED, .comp = comp->id,
			       .local = &comp->local, .remote = &comp->remote};

	if (comp->reported || comp->final)
		return;
	comp->reported = comp->connected = true;
	report(comp->a, &ev);
}

static void on_candidate(NiceAgent *nice, NiceCandidate *nc, gpointer arg)
{
	struct ice_agent *a = arg;
	struct ice_comp *comp = comp_of(a, nc->stream_id, nc->component_id);
	struct ice_cand c;
	struct ice_event ev = {.type = ICE_EV_CANDIDATE, .cand = &c};

	(void)nice;
	if (!comp)
		return;
	ice_cand_from_nice(&c, nc);
	ev.comp = comp->id;
	ice_hold(a);
	ice_comp_sync(comp);
	/* Peer-reflexive ones (learnt during checks) are not signalled. */
	if (!comp->final && c.type != ICE_CAND_PRFLX)
		report(a, &ev);
	ice_release(a);
}

static void on_gathering_done(NiceAgent *nice, guint sid, gpointer arg)
{
	struct ice_agent *a = arg;
	struct ice_event ev = {.type = ICE_EV_GATHERING_DONE};

	(void)nice;
	if (sid == a->sid)
		report(a, &ev);
}

static void on_pair(NiceAgent *nice, guint sid, guint cid, NiceCandidate *l, NiceCandidate *r,
		    gpointer arg)
{
	struct ice_comp *comp = comp_of(arg, sid, cid);

	(void)nice;
	if (!comp)
		return;
	ice_cand_from_nice(&comp->local, l);
	ice_cand_from_nice(&comp->remote, r);
	comp->has_pair = true;
	comp->reported = false;
	if (comp->state == NICE_COMPONENT_STATE_CONNECTED ||
	    comp->state == NICE_COMPONENT_STATE_READY)
		report_pair(comp);
}

static void on_state(NiceAgent *nice, guint sid, guint cid, guint state, gpointer arg)
{
	struct ice_agent *a = arg;
	struct ice_comp *comp = comp_of(a, sid, cid);

	(void)nice;
	if (!comp)
		return;
	comp->state = (NiceComponentState)state;
	ice_hold(a);
	switch (state) {
	case NICE_COMPONENT_STATE_CONNECTED:
	case NICE_COMPONENT_STATE_READY:
		comp->failed = false;
		if (comp->has_pair)
			report_pair(comp);
		break;
	case NICE_COMPONENT_STATE_FAILED:
		if (comp->connected) {
			/* After a pair was selected, libnice fails a component
			 * only on consent: RFC 7675 timeout or revocation. */
			struct ice_event ev = {.type = ICE_EV_CONSENT_LOST, .comp = comp->id};
			if (!comp->final) {
				comp->final = true;
				report(a, &ev);
			}
		} else {
			comp->failed = true;
			ice_comp_maybe_fail(comp);
		}
		break;
	default:
		comp->failed = false;
		break;
	}
	ice_release(a);
}

static void on_attach_recv(NiceAgent *nice, guint sid, guint cid, guint len, gchar *buf,
			   gpointer arg)
{
	struct ice_agent *a = arg;

	(void)nice;
	if (!comp_of(a, sid, cid) || !ice_alive(a) || !a->recvh)
		return;
	a->ctx->stats.packets++;
	ice_hold(a);
	a->recvh(a, cid, (uint8_t *)buf, len, a->arg);
	ice_release(a);
}

/* One read per wakeup: the loop is level-triggered and calls again while
 * the socket has more.  A second call just to see EAGAIN would cost an
 * extra poll of the component and a GError inside libnice (measured in
 * bench/ice).  Reads that only fed libnice STUN return -1. */
void ice_comp_readable(struct ice_comp *comp, int flags)
{
	struct ice_agent *a = comp->a;
	int n;

	ice_hold(a);
	n = nice_agent_recv_messages_nonblocking(a->nice, a->sid, comp->id, a->msg,
						 ICE_RECV_BATCH, NULL, NULL);
	a->ctx->stats.recv_calls++;
	for (int i = 0; i < n && ice_alive(a) && !comp->unused; i++) {
		if (!a->msg[i].length || !a->recvh)
			continue;
		a->ctx->stats.packets++;
		a->recvh(a, comp->id, a->buf[i], a->msg[i].length, a->arg);
	}
	/* An error or hangup: libnice may have dropped the socket. */
	if (ice_alive(a) && flags == (LOOP_READ | LOOP_WRITE))
		ice_comp_sync(comp);
	ice_release(a);
}

void ice_agent_signals(struct ice_agent *a)
{
	g_signal_connect(a->nice, "new-candidate-full", G_CALLBACK(on_candidate), a);
	g_signal_connect(a->nice, "candidate-gathering-done", G_CALLBACK(on_gathering_done), a);
	g_signal_connect(a->nice, "new-selected-pair-full", G_CALLBACK(on_pair), a);
	g_signal_connect(a->nice, "component-state-changed", G_CALLBACK(on_state), a);
}

void ice_agent_attach(struct ice_agent *a, bool on)
{
	for (unsigned i = 0; i < a->ncomp; i++)
		nice_agent_attach_recv(a->nice, a->sid, i + 1, a->ctx->gctx,
				       on ? on_attach_recv : NULL, on ? a : NULL);
}
