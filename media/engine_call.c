/* A call's media side, on the media thread (engine.h, engine_int.h): its
 * ICE agent, DTLS-SRTP or SDES or plain RTP, the repacketizer both ways,
 * RTCP and the counters.
 *
 * Received datagrams are told apart by their first byte (RFC 7983): DTLS
 * (20..63) goes to the component's DTLS session, 128..191 is RTCP when the
 * second byte says so (RFC 5761) and RTP otherwise; libnice keeps STUN for
 * itself, and anything else is counted and dropped.
 *
 * DTLS-SRTP runs one session per component in use (RFC 5764 4.1: with two
 * components, RTCP has its own keys).  The sessions are made as soon as
 * the security mode is known, so that a ClientHello that libnice hands
 * over before it reports the pair (the peer's checks may finish first) is
 * fed rather than lost; the active side sends its ClientHello once ICE is
 * connected.  A DTLS datagram that comes before the mode is known is kept
 * (the last one) and fed once it is.
 *
 * The audio path allocates nothing and takes no lock of ours: a ring record
 * in, repack_tx_push, one copy into our packet buffer, SRTP in place,
 * ice_agent_send; and back: SRTP in place, rtp_parse, repack_rx_put (a
 * frame in order goes on at once) and every 20 ms repack_rx_tick (what
 * waited behind a missing frame) into a ring record.  libnice takes its agent's
 * own (uncontended) mutex inside nice_agent_send() and
 * nice_agent_recv_messages_nonblocking(). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <sys/random.h>
#include "engine_int.h"
#include "log.h"
#include "mem.h"
#include "rtcp.h"
#include "rtp.h"

#define EARLY_MAX 1500            /* a DTLS datagram kept before the mode is known */
#define RTCP_MAX 512              /* SR or RR with one block, SDES, BYE */
#define CNAME_LEN 16
#define NTP_UNIX_OFFSET 2208988800u
#define RTP_RATE_KHZ 16
#define SRC_PROBATION 2           /* packets in sequence for another SSRC to take over */

struct mside;

/* DTLS-SRTP of one component. */
struct msec {
	struct mside *m;
	unsigned comp;
	struct mdtls *d;
	struct tmr tmr;
	bool started;
};

struct mside {
	struct le le;             /* e->mcalls */
	struct mengine *e;
	struct mshared *sh;
	const char *name;
	struct ice_agent *a;
	struct rtmp2rtp *tx;
	struct rtp2rtmp *rx;
	unsigned ncomp;
	bool mux;                 /* component 2 was dropped */
	bool connected;           /* ICE: every component in use has a pair */
	bool media;               /* connected and secure: MCALL_EV_MEDIA sent */
	bool ticking;             /* the jitter buffer is ticked */
	bool final;               /* FAILED, CONSENT_LOST or SECURITY_ERROR sent */
	bool sent;                /* some RTP went out */
	enum mcall_security sec;
	enum mdtls_role role;
	struct msec dtls[2];
	struct msrtp *srtp[2];    /* per component with DTLS; SDES uses [0] for both */
	struct rtp_rx_stats rxs;
	/* the SSRC we play, and another one that may take over (from_source) */
	bool have_src;
	uint32_t src_ssrc, cand_ssrc;
	uint16_t cand_seq;
	unsigned cand_n;
	struct mcall_stats st;
	struct tmr stats_tmr;     /* RTCP and MCALL_EV_STATS */
	uint32_t last_ts;         /* RTP timestamp of the last packet sent */
	uint64_t last_ts_at;      /* and when, loop_now() */
	char cname[CNAME_LEN + 1];
	unsigned early_comp;
	size_t early_len;
	uint8_t early[EARLY_MAX];
	uint8_t pkt[RTP_HDR_LEN + REPACK_FRAME_MAX + MSRTP_MAX_TRAILER];
	uint8_t rtcp[RTCP_MAX + MSRTP_MAX_TRAILER];
};

static unsigned in_use(const struct mside *m)
{
	return m->mux ? 1 : m->ncomp;
}

static unsigned rtcp_comp(const struct mside *m)
{
	return in_use(m) == 2 ? 2 : 1;
}

/* The SRTP session for a component: its own with DTLS, else the one. */
static struct msrtp *srtp_for(const struct mside *m, unsigned comp)
{
	if (comp == 2 && m->srtp[1])
		return m->srtp[1];
	return m->srtp[0];
}

static uint64_t ntp_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ((uint64_t)ts.tv_sec + NTP_UNIX_OFFSET) << 32 |
	       (((uint64_t)ts.tv_nsec << 32) / 1000000000u);
}

/* --- events to the control thread --- */

static void report(struct mside *m, enum mcall_ev_type t, const char *why)
{
	struct mev ev;

	memset(&ev, 0, MEV_LEN0);
	ev.type = MEV_EVENT;
	ev.ev = t;
	ev.sh = m->sh;
	if (why)
		snprintf(ev.why, sizeof(ev.why), "%s", why);
	eng_ev_push(m->e, &ev, MEV_LEN0);
}

static void report_failed(struct mengine *e, struct mshared *sh, const char *why)
{
	struct mev ev;

	memset(&ev, 0, MEV_LEN0);
	ev.type = MEV_EVENT;
	ev.ev = MCALL_EV_FAILED;
	ev.sh = sh;
	snprintf(ev.why, sizeof(ev.why), "%s", why);
	eng_ev_push(e, &ev, MEV_LEN0);
}

static void report_cand(struct mside *m, const struct ice_cand *c)
{
	struct mev ev;

	memset(&ev, 0, MEV_LEN(cand));
	ev.type = MEV_EVENT;
	ev.ev = MCALL_EV_CANDIDATE;
	ev.sh = m->sh;
	ev.u.cand = *c;
	eng_ev_push(m->e, &ev, MEV_LEN(cand));
}

static void snapshot(const struct mside *m, struct mcall_stats *st)
{
	*st = m->st;
	repack_tx_stats(m->tx, &st->tx);
	repack_rx_stats(m->rx, &st->rx);
	if (m->rxs.started && !m->rxs.probation) {
		/* RFC 3550 A.3, as rtp_rx_report() gives it to the RR */
		uint32_t expected = rtp_rx_ext_max(&m->rxs) - m->rxs.base_seq + 1;
		st->lost = (int64_t)expected - m->rxs.received;
		st->jitter = (uint32_t)((m->rxs.jitter + 8ull) >> 4);
	}
}

static void report_stats(struct mside *m)
{
	struct mev ev;

	memset(&ev, 0, MEV_LEN0);
	ev.type = MEV_EVENT;
	ev.ev = MCALL_EV_STATS;
	ev.sh = m->sh;
	snapshot(m, &ev.u.stats);
	eng_ev_push(m->e, &ev, MEV_LEN(stats));
}

/* A final event: no media after it. */
static void final(struct mside *m, enum mcall_ev_type t, const char *why)
{
	if (m->final)
		return;
	m->final = true;
	m->media = false;
	LOGW("%s: %s", m->name, why);
	report(m, t, why);
}

/* --- RTCP --- */

static void send_rtcp(struct mside *m, bool bye)
{
	uint32_t ssrc = repack_tx_rtp(m->tx)->ssrc;
	size_t cap = RTCP_MAX, len;
	uint64_t ntp = ntp_now();
	struct rtcp_rb rb;
	unsigned nrb = 0;
	struct msrtp *s;
	int n, k;

	if (m->rxs.started && !m->rxs.probation) {
		rtp_rx_report(&m->rxs, &rb, rtcp_ntp_short(ntp));
		nrb = 1;
	}
	if (m->sent) {
		/* the RTP clock now: from the last packet, 16 units per ms */
		struct rtcp_sender_info si = {
			.ntp = ntp,
			.rtp_ts = m->last_ts +
				  RTP_RATE_KHZ * (uint32_t)(loop_now() - m->last_ts_at),
			.packets = (uint32_t)m->st.rtp_sent,
			.octets = (uint32_t)m->st.rtp_bytes_sent,
		};
		n = rtcp_build_sr(m->rtcp, cap, ssrc, &si, &rb, nrb);
	} else {
		n = rtcp_build_rr(m->rtcp, cap, ssrc, &rb, nrb);
	}
	if (n < 0)
		return;
	k = rtcp_build_sdes(m->rtcp + n, cap - (size_t)n, ssrc, m->cname, CNAME_LEN);
	if (k < 0)
		return;
	n += k;
	if (bye) {
		k = rtcp_build_bye(m->rtcp + n, cap - (size_t)n, &ssrc, 1, NULL, 0);
		if (k < 0)
			return;
		n += k;
	}
	len = (size_t)n;
	s = srtp_for(m, rtcp_comp(m));
	if ((s && msrtp_protect_rtcp(s, m->rtcp, &len, sizeof(m->rtcp))) ||
	    ice_agent_send(m->a, rtcp_comp(m), m->rtcp, len)) {
		m->st.send_errors++;
		return;
	}
	m->st.rtcp_sent++;
}

static void on_stats_tmr(void *arg)
{
	struct mside *m = arg;

	if (m->media)
		send_rtcp(m, false);
	report_stats(m);
	if (tmr_start(m->e->mloop, &m->stats_tmr, ENG_RTCP_MS, on_stats_tmr, m))
		LOGE("%s: cannot arm the RTCP timer", m->name);
}

/* A report block about our stream. */
static void remote_report(struct mside *m, const struct rtcp_rb *rb, uint32_t now)
{
	uint32_t rtt;

	m->st.have_remote_report = true;
	m->st.remote_lost = rb->lost;
	m->st.remote_jitter = rb->jitter;
	m->st.remote_fraction_lost = rb->fraction;
	if (!rtcp_rtt(rb, now, &rtt)) {
		/* 1/65536 s to ms, rounded up: 0 means unknown */
		uint64_t ms = ((uint64_t)rtt * 1000 + 65535) >> 16;
		m->st.rtt_ms = ms ? (uint32_t)ms : 1;
	}
}

/* An SRTP/SRTCP unprotect's outcome, counted by cause; err passed on. */
static int count_unprotect(struct mside *m, int err)
{
	if (err == -EACCES)
		m->st.srtp_auth_fail++;
	else if (err == -EALREADY)
		m->st.srtp_replay++;
	else if (err)
		m->st.bad_rtp++;
	return err;
}

static void recv_rtcp(struct mside *m, unsigned comp, uint8_t *buf, size_t len)
{
	uint32_t ours = repack_tx_rtp(m->tx)->ssrc, now;
	struct msrtp *s = srtp_for(m, comp);
	struct rtcp_iter it;
	struct rtcp_pkt pkt;
	int err;

	if (s && count_unprotect(m, msrtp_unprotect_rtcp(s, buf, &len)))
		return;
	if (rtcp_iter_init(&it, buf, len)) {
		m->st.bad_rtp++;
		return;
	}
	m->st.rtcp_recv++;
	now = rtcp_ntp_short(ntp_now());
	while (!(err = rtcp_next(&it, &pkt))) {
		if (pkt.type != RTCP_SR && pkt.type != RTCP_RR)
			continue;
		if (pkt.type == RTCP_SR && m->rxs.started && pkt.ssrc == m->rxs.ssrc)
			rtp_rx_sr(&m->rxs, pkt.u.r.si.ntp, now);
		for (unsigned i = 0; i < pkt.count; i++)
			if (pkt.u.r.rb[i].ssrc == ours)
				remote_report(m, &pkt.u.r.rb[i], now);
	}
	if (err != -ENOENT)
		m->st.bad_rtp++;
}

/* --- RTP --- */

/* Whether h comes from the SSRC we play.  The first one heard is it;
 * another takes over once it has sent SRC_PROBATION packets in sequence
 * with nothing from ours in between (RFC 3550 A.1's probation, and ours
 * gone quiet), as when the peer restarts its stream.  The jitter buffer
 * and the RFC 3550 statistics start over on any SSRC change, so without
 * this a single stray packet from another SSRC would silence the call:
 * the jitter buffer would then drop our source as a straggler. */
static bool from_source(struct mside *m, const struct rtp_hdr *h)
{
	if (!m->have_src || h->ssrc == m->src_ssrc) {
		m->have_src = true;
		m->src_ssrc = h->ssrc;
		m->cand_n = 0;
		return true;
	}
	if (m->cand_n && h->ssrc == m->cand_ssrc && h->seq == (uint16_t)(m->cand_seq + 1))
		m->cand_n++;
	else
		m->cand_n = 1;
	m->cand_ssrc = h->ssrc;
	m->cand_seq = h->seq;
	if (m->cand_n < SRC_PROBATION)
		return false;
	LOGD("%s: the peer's RTP source changes from %08x to %08x", m->name, m->src_ssrc,
	     h->ssrc);
	m->src_ssrc = h->ssrc;
	m->cand_n = 0;
	return true;
}

static repack_msg_h on_rx_msg;

static void recv_rtp(struct mside *m, unsigned comp, uint8_t *buf, size_t len)
{
	const struct mcall_params *p = &m->sh->p;
	struct msrtp *s = srtp_for(m, comp);
	uint64_t now = loop_now();
	struct rtp_hdr h;

	if (s && count_unprotect(m, msrtp_unprotect(s, buf, &len)))
		return;
	if (rtp_parse(&h, buf, len)) {
		m->st.bad_rtp++;
		return;
	}
	if (h.pt != p->pt) {
		if (p->te_pt && h.pt == p->te_pt)
			m->st.telephone_events++;
		else
			m->st.wrong_pt++;
		return;
	}
	if (!from_source(m, &h)) {
		m->st.foreign_ssrc++;
		return;
	}
	m->st.rtp_recv++;
	m->st.rtp_bytes_recv += h.plen;
	m->st.ssrc_remote = h.ssrc;
	/* statistics only: the jitter buffer keeps its own account of the
	 * source, and plays the packets of a source still on probation */
	rtp_rx_update(&m->rxs, h.ssrc, h.seq, h.ts, (uint32_t)now * RTP_RATE_KHZ);
	/* in-order frames go on now, once media is up (before, the first
	 * tick sends them: no audio before MCALL_EV_MEDIA) */
	repack_rx_put(m->rx, &h, (uint32_t)now, m->ticking ? on_rx_msg : NULL, m);
}

static void on_rtp_out(const struct rtp_hdr *h, const uint8_t *pkt, size_t len, void *arg)
{
	struct mside *m = arg;
	struct msrtp *s = m->srtp[0];
	size_t n = len;

	if (len > sizeof(m->pkt) - MSRTP_MAX_TRAILER) {
		m->st.send_errors++;
		return;
	}
	memcpy(m->pkt, pkt, len);
	if ((s && msrtp_protect(s, m->pkt, &n, sizeof(m->pkt))) ||
	    ice_agent_send(m->a, 1, m->pkt, n)) {
		m->st.send_errors++;
		return;
	}
	m->st.rtp_sent++;
	m->st.rtp_bytes_sent += len - rtp_hdr_len(h);
	m->last_ts = h->ts;
	m->last_ts_at = loop_now();
	m->sent = true;
}

void mside_drain_tx(struct mside *m)
{
	struct bring *r = m->sh->tx;
	const uint8_t *p;
	uint32_t len, ts;

	while ((p = bring_peek(r, &len))) {
		if (!m->media || len < 4) {
			m->st.tx_before_ready++;
		} else {
			memcpy(&ts, p, sizeof(ts));
			/* refused messages are counted by the repacketizer */
			repack_tx_push(m->tx, ts, p + 4, len - 4, on_rtp_out, m);
		}
		bring_release(r);
	}
}

/* One RTMP message out of the jitter buffer, into the ring to the control
 * thread. */
static void on_rx_msg(uint32_t rtmp_ts, const uint8_t *body, size_t len, void *arg)
{
	struct mside *m = arg;
	struct bring *r = m->sh->rx;
	bool was_empty;
	uint8_t *rec;

	if (len > MCALL_AUDIO_MAX || !(rec = bring_reserve(r, (uint32_t)len + 4))) {
		m->st.rx_ring_full++;
		return;
	}
	memcpy(rec, &rtmp_ts, sizeof(rtmp_ts));
	memcpy(rec + 4, body, len);
	bring_commit(r, (uint32_t)len + 4, &was_empty);
	if (was_empty)
		eng_ev_audio(m->e, m->sh);
}

bool mside_tick_all(struct mengine *e, uint32_t now_ms)
{
	bool any = false;

	LIST_FOREACH(&e->mcalls, le) {
		struct mside *m = le->data;
		if (!m->ticking)
			continue;
		any = true;
		repack_rx_tick(m->rx, now_ms, on_rx_msg, m);
	}
	return any;
}

/* --- security --- */

static bool secure(const struct mside *m)
{
	switch (m->sec) {
	case MCALL_SEC_PLAIN:
		return true;
	case MCALL_SEC_SDES:
		return m->srtp[0];
	case MCALL_SEC_DTLS:
		return m->srtp[0] && (in_use(m) < 2 || m->srtp[1]);
	default:
		return false;
	}
}

static void maybe_media(struct mside *m)
{
	static const char *const names[] = {"none", "plain RTP", "SDES-SRTP", "DTLS-SRTP"};

	if (m->media || m->final || !m->connected || !secure(m))
		return;
	m->media = true;
	LOGI("%s: media up (%s)", m->name, names[m->sec]);
	report(m, MCALL_EV_MEDIA, NULL);
	if (!m->ticking) {
		m->ticking = true;
		eng_tick_want(m->e);
	}
	/* the first report after half the interval (RFC 3550 6.2) */
	if (tmr_start(m->e->mloop, &m->stats_tmr, ENG_RTCP_FIRST_MS, on_stats_tmr, m))
		LOGE("%s: cannot arm the RTCP timer", m->name);
}

static const char *sec_why(int err)
{
	switch (err) {
	case -EACCES:
		return "DTLS: the peer's certificate does not match its fingerprint";
	case -EPROTO:
		return "DTLS handshake failed";
	case -ETIMEDOUT:
		return "DTLS: no answer";
	case -ECONNRESET:
		return "DTLS: the peer closed";
	case -EINVAL:
		return "bad fingerprint or key";
	case -ENOMEM:
		return "out of memory for DTLS or SRTP";
	default:
		return "DTLS or SRTP setup failed";
	}
}

static void on_dtls_tmr(void *arg);

static void dtls_arm(struct msec *s)
{
	int ms = mdtls_timeout_ms(s->d);
	struct loop *l = s->m->e->mloop;

	if (ms < 0)
		tmr_cancel(l, &s->tmr);
	else if (tmr_start(l, &s->tmr, (uint64_t)ms, on_dtls_tmr, s))
		LOGE("%s: cannot arm the DTLS timer", s->m->name);
}

static void on_dtls_tmr(void *arg)
{
	struct msec *s = arg;

	mdtls_on_timeout(s->d);
	dtls_arm(s);
}

static void dtls_start(struct msec *s)
{
	if (s->started || !s->d)
		return;
	s->started = true;
	mdtls_start(s->d);
	dtls_arm(s);
}

static void dtls_feed(struct msec *s, const uint8_t *buf, size_t len)
{
	if (mdtls_recv(s->d, buf, len))
		s->m->st.dtls_bad++;
	dtls_arm(s);
}

static void dtls_send(const uint8_t *pkt, size_t len, void *arg)
{
	struct msec *s = arg;

	/* -ENOTCONN before the pair: DTLS retransmits */
	ice_agent_send(s->m->a, s->comp, pkt, len);
}

static void dtls_done(int err, const struct mdtls_keys *keys, void *arg)
{
	struct msec *s = arg;
	struct mside *m = s->m;
	struct msrtp **sp = &m->srtp[s->comp - 1];

	if (err && *sp) {
		LOGI("%s: DTLS closed by the peer on component %u", m->name, s->comp);
		return;
	}
	if (!err)
		err = msrtp_alloc(sp, keys->profile, keys->tx, keys->rx);
	if (err) {
		final(m, MCALL_EV_SECURITY_ERROR, sec_why(err));
		return;
	}
	LOGD("%s: DTLS-SRTP keys for component %u", m->name, s->comp);
	maybe_media(m);
}

/* The active side starts once ICE is up; the passive one is always ready. */
static void dtls_go(struct mside *m)
{
	if (m->sec != MCALL_SEC_DTLS || m->final)
		return;
	for (unsigned i = 0; i < in_use(m); i++)
		if (m->role == MDTLS_PASSIVE || m->connected)
			dtls_start(&m->dtls[i]);
}

static void set_dtls(struct mside *m, enum mdtls_role role, const char *fp)
{
	int err;

	m->sec = MCALL_SEC_DTLS;
	m->role = role;
	for (unsigned i = 0; i < in_use(m); i++) {
		struct msec *s = &m->dtls[i];
		err = mdtls_alloc(&s->d, m->e->cert, role, fp, dtls_send, dtls_done, s);
		if (err) {
			final(m, MCALL_EV_SECURITY_ERROR, sec_why(err));
			return;
		}
	}
	dtls_go(m);
	if (m->early_len && role == MDTLS_PASSIVE && m->early_comp <= in_use(m) && !m->final)
		dtls_feed(&m->dtls[m->early_comp - 1], m->early, m->early_len);
	m->early_len = 0;
}

static void set_sdes(struct mside *m, enum msrtp_profile prof)
{
	struct mshared *sh = m->sh;
	int err;

	m->sec = MCALL_SEC_SDES;
	err = msrtp_alloc(&m->srtp[0], prof, sh->sdes_tx, sh->sdes_rx);
	explicit_bzero(sh->sdes_tx, sizeof(sh->sdes_tx));
	explicit_bzero(sh->sdes_rx, sizeof(sh->sdes_rx));
	if (err) {
		final(m, MCALL_EV_SECURITY_ERROR, sec_why(err));
		return;
	}
	maybe_media(m);
}

static void recv_dtls(struct mside *m, unsigned comp, const uint8_t *buf, size_t len)
{
	if (m->sec == MCALL_SEC_DTLS) {
		if (comp > in_use(m) || !m->dtls[comp - 1].d)
			m->st.dtls_bad++;
		else
			dtls_feed(&m->dtls[comp - 1], buf, len);
		return;
	}
	if (m->sec == MCALL_SEC_NONE && len <= sizeof(m->early)) {
		/* a retransmission replaces it */
		memcpy(m->early, buf, len);
		m->early_len = len;
		m->early_comp = comp;
		return;
	}
	m->st.dtls_bad++;
}

/* --- ICE --- */

static void on_ice_recv(struct ice_agent *a, unsigned comp, uint8_t *buf, size_t len,
			void *arg)
{
	struct mside *m = arg;

	(void)a;
	if (!len) {
		m->st.bad_packets++;
		return;
	}
	if (buf[0] >= 20 && buf[0] <= 63) {
		recv_dtls(m, comp, buf, len);
		return;
	}
	if (buf[0] < 128 || buf[0] > 191) {
		m->st.bad_packets++;
		return;
	}
	/* RTP and RTCP: only with keys (or plain) */
	if (!secure(m)) {
		m->st.before_secure++;
		return;
	}
	if (rtp_is_rtcp(buf, len))
		recv_rtcp(m, comp, buf, len);
	else
		recv_rtp(m, comp, buf, len);
}

static void check_connected(struct mside *m)
{
	if (m->connected || m->final || !ice_agent_connected(m->a))
		return;
	m->connected = true;
	LOGI("%s: ICE connected", m->name);
	report(m, MCALL_EV_CONNECTED, NULL);
	dtls_go(m);
	maybe_media(m);
}

static void on_ice_event(struct ice_agent *a, const struct ice_event *ev, void *arg)
{
	struct mside *m = arg;

	(void)a;
	switch (ev->type) {
	case ICE_EV_CANDIDATE:
		report_cand(m, ev->cand);
		break;
	case ICE_EV_GATHERING_DONE:
		report(m, MCALL_EV_GATHERING_DONE, NULL);
		break;
	case ICE_EV_CONNECTED:
		LOGD("%s: component %u: %s:%u -> %s:%u", m->name, ev->comp, ev->local->ip,
		     ev->local->port, ev->remote->ip, ev->remote->port);
		check_connected(m);
		break;
	case ICE_EV_FAILED:
		final(m, MCALL_EV_FAILED, "ICE failed: no candidate pair works");
		break;
	case ICE_EV_CONSENT_LOST:
		final(m, MCALL_EV_CONSENT_LOST, "ICE consent lost");
		break;
	}
}

/* --- the call --- */

static void mside_destroy(void *arg)
{
	struct mside *m = arg;
	struct loop *l = m->e->mloop;

	list_unlink(&m->le);
	tmr_cancel(l, &m->stats_tmr);
	for (unsigned i = 0; i < 2; i++) {
		tmr_cancel(l, &m->dtls[i].tmr);
		mem_deref(m->dtls[i].d);
		mem_deref(m->srtp[i]);
	}
	mem_deref(m->a);
	mem_deref(m->tx);
	mem_deref(m->rx);
	if (m->sh->m == m)
		m->sh->m = NULL;
}

static int random_cname(char *out)
{
	static const char hex[] = "0123456789abcdef";
	uint8_t r[CNAME_LEN / 2];

	if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
		return -EIO;
	for (size_t i = 0; i < sizeof(r); i++) {
		out[2 * i] = hex[r[i] >> 4];
		out[2 * i + 1] = hex[r[i] & 15];
	}
	out[CNAME_LEN] = '\0';
	return 0;
}

static void create(struct mengine *e, struct mshared *sh)
{
	const struct mcall_params *p = &sh->p;
	struct mside *m = mem_zalloc(sizeof(*m), mside_destroy);
	int err;

	if (!m) {
		LOGE("%s: out of memory", sh->name);
		report_failed(e, sh, "out of memory");
		return;
	}
	m->e = e;
	m->sh = sh;
	m->name = sh->name;
	m->ncomp = p->ncomp;
	tmr_init(&m->stats_tmr);
	for (unsigned i = 0; i < 2; i++) {
		m->dtls[i].m = m;
		m->dtls[i].comp = i + 1;
		tmr_init(&m->dtls[i].tmr);
	}
	rtp_rx_init(&m->rxs);
	list_append(&e->mcalls, &m->le, m);
	if ((err = ice_agent_alloc(&m->a, e->ictx, p->servers, p->controlling, p->ncomp,
				   on_ice_event, on_ice_recv, m)) ||
	    (err = ice_agent_set_local_credentials(m->a, sh->ufrag, sh->pwd)) ||
	    (err = repack_tx_alloc(&m->tx, p->pt, 0)) ||
	    (err = repack_rx_alloc(&m->rx, p->tag, p->fpp)) ||
	    (err = random_cname(m->cname)) ||
	    (err = -tmr_start(e->mloop, &m->stats_tmr, ENG_RTCP_MS, on_stats_tmr, m))) {
		LOGE("%s: cannot set up the media: %s", sh->name, strerror(-err));
		mem_deref(m);
		report_failed(e, sh, "cannot set up the media");
		return;
	}
	sh->m = m;
	LOGD("%s: media side up (%s, %u component%s)", m->name,
	     p->controlling ? "controlling" : "controlled", m->ncomp, m->ncomp > 1 ? "s" : "");
}

static void close_call(struct mengine *e, struct mshared *sh)
{
	struct mside *m = sh->m;

	if (m) {
		if (m->media)
			send_rtcp(m, true);
		for (unsigned i = 0; i < 2; i++)
			mdtls_close(m->dtls[i].d);
		mem_deref(m);
	}
	eng_ev_closed(e, sh);
}

static void rtcp_mux(struct mside *m)
{
	if (m->mux || m->ncomp < 2)
		return;
	m->mux = true;
	ice_agent_rtcp_mux(m->a);
	/* component 2's DTLS is not needed any more */
	tmr_cancel(m->e->mloop, &m->dtls[1].tmr);
	m->dtls[1].d = mem_deref(m->dtls[1].d);
	m->srtp[1] = mem_deref(m->srtp[1]);
	if (m->early_comp == 2)
		m->early_len = 0;
	check_connected(m);
	maybe_media(m);
}

void mside_command(struct mengine *e, const struct cmd *cmd)
{
	struct mshared *sh = cmd->sh;
	struct mside *m = sh->m;
	int err = 0;

	switch (cmd->type) {
	case CMD_CREATE:
		create(e, sh);
		return;
	case CMD_CLOSE:
		close_call(e, sh);
		return;
	}
	if (!m)
		return;   /* its creation failed, and said so */
	switch (cmd->type) {
	case CMD_GATHER:
		err = ice_agent_gather(m->a);
		if (err)
			final(m, MCALL_EV_FAILED, "ICE: cannot gather candidates");
		return;
	case CMD_CREDS:
		err = ice_agent_set_remote_credentials(m->a, cmd->u.creds.ufrag, cmd->u.creds.pwd);
		break;
	case CMD_CAND:
		err = ice_agent_add_remote_candidate(m->a, &cmd->u.cand);
		break;
	case CMD_EOC:
		err = ice_agent_end_of_candidates(m->a);
		break;
	case CMD_RTCP_MUX:
		rtcp_mux(m);
		break;
	case CMD_DTLS:
		set_dtls(m, cmd->u.dtls.role, cmd->u.dtls.fp);
		break;
	case CMD_SDES:
		set_sdes(m, cmd->u.sdes);
		break;
	case CMD_PLAIN:
		m->sec = MCALL_SEC_PLAIN;
		maybe_media(m);
		break;
	case CMD_AUDIO:
		mside_drain_tx(m);
		break;
	case CMD_STATS:
		report_stats(m);
		break;
	}
	if (err)
		LOGW("%s: ICE command %u refused: %s", m->name, cmd->type, strerror(-err));
}

void mside_close_all(struct mengine *e)
{
	struct le *le;

	while ((le = e->mcalls.head))
		mem_deref(le->data);
}
