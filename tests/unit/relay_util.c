/* A UDP impairment relay for the engine tests (relay_util.h). */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include "buf.h"
#include "ice.h"
#include "loop.h"
#include "mem.h"
#include "relay_util.h"
#include "rtp.h"

#define RELAY_MTU 1500        /* what an engine sends at most */
#define RELAY_BUF 4096        /* bigger, to see a datagram that is longer */
#define READS_PER_WAKE 32     /* the loop is level-triggered: it calls again */

struct relay;

/* One direction: datagrams read from the socket facing engine dir, sent on
 * the socket facing the other one. */
struct rdir {
	struct relay *rl;
	unsigned dir;
	struct relay_impair imp;
	struct relay_stats st;
	bool started;
	uint16_t seq0;
	unsigned k;               /* RTP packets seen */
	bool held, held_dup;
	uint8_t *held_fate;
	size_t hlen;
	struct tmr hold_tmr;
	uint8_t hbuf[RELAY_MTU];
};

struct relay {
	struct loop *loop;
	int fd[2];                /* fd[i] faces engine i */
	struct sockaddr_in local[2], peer[2];
	bool have_peer[2];
	struct rdir d[2];
	uint8_t *fate;            /* nframes per direction */
	unsigned nframes;
	relay_rtp_h *rtph;
	void *arg;
	uint8_t buf[RELAY_BUF];
};

static void relay_destructor(void *arg)
{
	struct relay *rl = arg;

	for (int i = 0; i < 2; i++) {
		tmr_cancel(rl->loop, &rl->d[i].hold_tmr);
		if (rl->fd[i] >= 0) {
			loop_fd_close(rl->loop, rl->fd[i]);
			close(rl->fd[i]);
		}
	}
	mem_deref(rl->fate);
}

static bool hit(unsigned k, unsigned m, unsigned r)
{
	return m && k % m == r;
}

/* To the engine on the far side of direction dir, from the relay's socket
 * facing it. */
static int send_dir(struct relay *rl, unsigned dir, const uint8_t *p, size_t len)
{
	unsigned to = 1 - dir;

	if (sendto(rl->fd[to], p, len, 0, (const struct sockaddr *)&rl->peer[to],
		   sizeof(rl->peer[to])) != (ssize_t)len)
		return errno ? errno : EIO;
	return 0;
}

static void out(struct rdir *d, const uint8_t *p, size_t len)
{
	if (send_dir(d->rl, d->dir, p, len))
		d->st.bad++;
}

/* The held packet goes out: after the next one (swapped), or alone when
 * none came in time (not reordered then). */
static void release_held(struct rdir *d, bool swapped)
{
	uint8_t *f = d->held_fate;

	if (!d->held)
		return;
	d->held = false;
	tmr_cancel(d->rl->loop, &d->hold_tmr);
	if (swapped) {
		d->st.swapped++;
		*f |= RELAY_SWAPPED;
	} else {
		d->st.held_out++;
	}
	out(d, d->hbuf, d->hlen);
	if (d->held_dup)
		out(d, d->hbuf, d->hlen);
}

static void on_hold_tmr(void *arg)
{
	release_held(arg, false);
}

static uint8_t *fate_of(struct rdir *d, unsigned i)
{
	return i < d->rl->nframes ? &d->rl->fate[d->dir * d->rl->nframes + i] : NULL;
}

static void on_rtp(struct rdir *d, uint8_t *p, size_t len)
{
	const struct relay_impair *im = &d->imp;
	struct relay *rl = d->rl;
	uint16_t seq = (uint16_t)be16(p + 2);
	unsigned k = d->k++;
	bool dup = hit(k, im->dup_m, im->dup_r);
	uint8_t *f;

	if (!d->started) {
		d->started = true;
		d->seq0 = seq;
		d->st.ssrc = be32(p + 8);
	}
	if (im->ssrc_xor && k >= im->ssrc_from)
		put_be32(p + 8, be32(p + 8) ^ im->ssrc_xor);
	f = fate_of(d, k);
	d->st.rtp++;
	if ((uint16_t)(seq - d->seq0) != (uint16_t)k || !f) {
		d->st.bad++;
		out(d, p, len);
		return;
	}
	*f |= RELAY_SEEN;
	if (rl->rtph)
		rl->rtph(rl, d->dir, k, p, len, rl->arg);
	if (hit(k, im->drop_m, im->drop_r)) {
		d->st.dropped++;
		*f |= RELAY_DROPPED;
		return;
	}
	if (dup) {
		d->st.duplicated++;
		*f |= RELAY_DUPLICATED;
	}
	if (hit(k, im->swap_m, im->swap_r) && !d->held && len <= sizeof(d->hbuf)) {
		memcpy(d->hbuf, p, len);
		d->hlen = len;
		d->held = true;
		d->held_dup = dup;
		d->held_fate = f;
		if (tmr_start(rl->loop, &d->hold_tmr, RELAY_HOLD_MS, on_hold_tmr, d))
			d->st.bad++;
		return;
	}
	out(d, p, len);
	if (dup)
		out(d, p, len);
	release_held(d, true);
}

static void on_datagram(struct rdir *d, uint8_t *p, size_t len)
{
	switch (rtp_classify(p, len)) {
	case RTP_KIND_RTP:
		if (len < RTP_HDR_LEN) {
			d->st.other++;
			break;
		}
		on_rtp(d, p, len);
		return;
	case RTP_KIND_RTCP:
		d->st.rtcp++;
		break;
	case RTP_KIND_DTLS:
		d->st.dtls++;
		break;
	case RTP_KIND_STUN:
		d->st.stun++;
		break;
	default:
		d->st.other++;
		break;
	}
	out(d, p, len);
}

static void on_readable(int fd, int flags, void *arg)
{
	struct rdir *d = arg;
	struct relay *rl = d->rl;
	const struct sockaddr_in *want = &rl->peer[d->dir];

	(void)flags;
	for (int i = 0; i < READS_PER_WAKE; i++) {
		struct sockaddr_in from;
		socklen_t flen = sizeof(from);
		ssize_t n = recvfrom(fd, rl->buf, sizeof(rl->buf), MSG_TRUNC,
				     (struct sockaddr *)&from, &flen);

		if (n < 0)
			return;   /* EAGAIN: read them all */
		if (n > RELAY_MTU || !rl->have_peer[d->dir] ||
		    from.sin_addr.s_addr != want->sin_addr.s_addr ||
		    from.sin_port != want->sin_port) {
			d->st.bad++;
			continue;
		}
		on_datagram(d, rl->buf, (size_t)n);
	}
}

static int open_socket(struct relay *rl, int i)
{
	struct sockaddr_in *a = &rl->local[i];
	socklen_t alen = sizeof(*a);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return errno;
	rl->fd[i] = fd;
	a->sin_family = AF_INET;
	a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a->sin_port = 0;
	if (bind(fd, (struct sockaddr *)a, sizeof(*a)) ||
	    getsockname(fd, (struct sockaddr *)a, &alen))
		return errno;
	return loop_fd_listen(rl->loop, fd, LOOP_READ, on_readable, &rl->d[i]);
}

int relay_alloc(struct relay **rlp, struct loop *loop, unsigned nframes, relay_rtp_h *rtph,
		void *arg)
{
	struct relay *rl;
	int err;

	if (!rlp || !loop || !nframes)
		return EINVAL;
	rl = mem_zalloc(sizeof(*rl), relay_destructor);
	if (!rl)
		return ENOMEM;
	rl->loop = loop;
	rl->nframes = nframes;
	rl->rtph = rtph;
	rl->arg = arg;
	for (int i = 0; i < 2; i++) {
		rl->fd[i] = -1;
		rl->d[i].rl = rl;
		rl->d[i].dir = (unsigned)i;
		tmr_init(&rl->d[i].hold_tmr);
	}
	rl->fate = mem_zalloc(2 * (size_t)nframes, NULL);
	if (!rl->fate) {
		mem_deref(rl);
		return ENOMEM;
	}
	for (int i = 0; i < 2; i++) {
		if ((err = open_socket(rl, i))) {
			mem_deref(rl);
			return err;
		}
	}
	*rlp = rl;
	return 0;
}

void relay_set_impair(struct relay *rl, unsigned dir, const struct relay_impair *imp)
{
	if (rl && dir < 2 && imp)
		rl->d[dir].imp = *imp;
}

bool relay_cand(struct relay *rl, unsigned from, struct ice_cand *c)
{
	struct sockaddr_in *p;

	if (!rl || from > 1 || !c || c->comp != 1 || c->transport != ICE_TP_UDP ||
	    c->type != ICE_CAND_HOST || rl->have_peer[from])
		return false;
	p = &rl->peer[from];
	p->sin_family = AF_INET;
	p->sin_port = htons(c->port);
	if (inet_pton(AF_INET, c->ip, &p->sin_addr) != 1)
		return false;
	rl->have_peer[from] = true;
	/* the other engine sends to the relay's socket facing it */
	c->port = ntohs(rl->local[1 - from].sin_port);
	return true;
}

int relay_send(struct relay *rl, unsigned dir, const uint8_t *p, size_t len)
{
	int err;

	if (!rl || dir > 1 || !p || !rl->have_peer[1 - dir])
		return EINVAL;
	err = send_dir(rl, dir, p, len);
	if (!err)
		rl->d[dir].st.injected++;
	return err;
}

const struct relay_stats *relay_stats(const struct relay *rl, unsigned dir)
{
	return &rl->d[dir & 1].st;
}

unsigned relay_fate(const struct relay *rl, unsigned dir, unsigned i)
{
	return dir < 2 && i < rl->nframes ? rl->fate[dir * rl->nframes + i] : 0;
}
