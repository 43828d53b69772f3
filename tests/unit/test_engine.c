/* Tests for media/engine*.c: two engines (two media threads) in one
 * process, driven from one control loop.  Call A (controlling) and call B
 * get each other's credentials, candidates (trickled as they come) and
 * fingerprints or keys straight through the API, then send libspeex's
 * reference frames (test-vectors/speex/wb-q8.spxv, FFmpeg's FLV byte 0xB6)
 * both ways at real time, one 20 ms frame per RTMP message.  Every frame
 * must come out byte for byte and in order, RTMP timestamps 20 ms apart
 * from 0, and the stats must show every packet sent and none lost or bad;
 * while audio flows nothing is allocated, on either thread.  Also: a wrong
 * fingerprint on either side, calls and engines released mid-stream (from
 * handlers too), rings of two slots (every overflow path), and garbage
 * from the peer's address (a raw socket; skipped without CAP_NET_RAW).
 *
 * Each streaming test runs RX_ENGINE_SECONDS (default 3) of audio; RTCP
 * (its first report comes 2.5 s after media is up) is checked from 3 s,
 * the round-trip time (which needs a second report) from 8 s. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <sys/socket.h>
#include "engine.h"
#include "loop.h"
#include "mem.h"
#include "srtp.h"
#include "test.h"

#define CHECK(c) TEST_ERR((c) ? 0 : EBADMSG)
#define CHECK_EQ(a, b) do { long long a_ = (long long)(a), b_ = (long long)(b); \
	if (a_ != b_) { char m_[200]; \
		snprintf(m_, sizeof(m_), "%s == %s (%lld != %lld)", #a, #b, a_, b_); \
		test_fail(__FILE__, __LINE__, m_); err = EBADMSG; goto out; } } while (0)

#define TAG 0xB6
#define PT 97
#define TE_PT 101
#define MAX_REF 128
#define SETUP_MS 10000
#define DRAIN_MS 3000

enum mode { M_DTLS, M_SDES, M_PLAIN };

struct et;

struct side {
	struct et *t;
	struct side *other;
	struct mengine *e;
	struct mcall *c;
	int ncand, gathered, connected, media, failed, sec_err, consent, stats;
	int bad;                 /* handler calls or events that must not be */
	int bad_frames, bad_ts;
	bool gone;               /* the call was released: no handler after */
	bool engine_gone;
	unsigned rx;             /* frames received */
	uint32_t last_ts;
	struct mcall_stats st;   /* from the last MCALL_EV_STATS */
	struct ice_cand cand;    /* its host candidate of component 1 */
	/* actions from inside the handlers */
	unsigned free_call_at;   /* frames received when the audio handler releases the call */
	unsigned free_engine_at; /* ... the engine */
	bool free_on_stats;      /* the event handler releases the call on STATS */
	uint64_t blocks_at_free;
};

struct et {
	struct loop *loop;
	struct side s[2];
	struct tmr deadline, tick;
	bool expired;
	bool (*done)(struct et *t);
	bool sending;
	unsigned nsend, total;
	uint64_t t0;
	uint8_t *vec;
	/* called on every tick from frame inject_at on, until it says done */
	bool (*inject)(struct et *t);
	unsigned inject_at, injected;
	int inject_err;
	const uint8_t *fr[MAX_REF];
	uint8_t flen[MAX_REF];
	unsigned nfr;
};

static const struct mengine_config loopback = {
	.ice = {.local_addrs = "127.0.0.1"},
	.allow_plain = true,
};

static unsigned seconds(void)
{
	const char *s = getenv("RX_ENGINE_SECONDS");
	int n = s ? atoi(s) : 3;

	return n > 0 && n < 3600 ? (unsigned)n : 3;
}

/* The reference frames of an .spxv file (test-vectors/speex/README.md). */
static int load_frames(struct et *t)
{
	size_t n, pos = 8;
	int err = test_load_vector("speex/wb-q8.spxv", &t->vec, &n);

	if (err)
		return err;
	if (n < 8 || memcmp(t->vec, "SPXV", 4) || t->vec[7] > MAX_REF)
		return EBADMSG;
	for (unsigned i = 0; i < t->vec[7]; i++) {
		if (pos >= n || pos + 1 + t->vec[pos] > n || !t->vec[pos])
			return EBADMSG;
		t->flen[i] = t->vec[pos];
		t->fr[i] = t->vec + pos + 1;
		pos += 1 + t->vec[pos];
	}
	t->nfr = t->vec[7];
	return t->nfr ? 0 : EBADMSG;
}

static void release_call(struct side *s)
{
	struct mem_stat ms;

	mem_get_stat(&ms);
	s->blocks_at_free = ms.blocks;
	s->c = mem_deref(s->c);
	s->gone = true;
}

static void on_event(struct mcall *c, const struct mcall_event *ev, void *arg)
{
	struct side *s = arg;
	struct side *o = s->other;

	if (s->gone || s->engine_gone || c != s->c) {
		s->bad++;
		return;
	}
	switch (ev->type) {
	case MCALL_EV_CANDIDATE:
		s->ncand++;
		if (ev->cand && ev->cand->comp == 1 && ev->cand->type == ICE_CAND_HOST)
			s->cand = *ev->cand;
		if (!ev->cand || strcmp(ev->cand->ip, "127.0.0.1"))
			s->bad++;
		else if (o->c && !o->gone && !o->engine_gone &&
			 mcall_add_remote_candidate(o->c, ev->cand))
			s->bad++;
		break;
	case MCALL_EV_GATHERING_DONE:
		s->gathered++;
		if (o->c && !o->gone && !o->engine_gone)
			mcall_end_of_candidates(o->c);
		break;
	case MCALL_EV_CONNECTED:
		s->connected++;
		break;
	case MCALL_EV_MEDIA:
		s->media++;
		break;
	case MCALL_EV_FAILED:
		s->failed++;
		break;
	case MCALL_EV_CONSENT_LOST:
		s->consent++;
		break;
	case MCALL_EV_SECURITY_ERROR:
		s->sec_err++;
		if (!ev->why)
			s->bad++;
		break;
	case MCALL_EV_STATS:
		s->stats++;
		if (!ev->stats || ev->stats != mcall_stats(c))
			s->bad++;
		else
			s->st = *ev->stats;
		if (s->free_on_stats)
			release_call(s);
		break;
	}
}

static void on_audio(struct mcall *c, uint32_t ts, const uint8_t *b, size_t len, void *arg)
{
	struct side *s = arg;
	struct et *t = s->t;
	unsigned k = s->rx % t->nfr;

	if (s->gone || s->engine_gone || c != s->c) {
		s->bad++;
		return;
	}
	if (len < 1 || b[0] != TAG || len - 1 != t->flen[k] || memcmp(b + 1, t->fr[k], len - 1))
		s->bad_frames++;
	if (ts != 20 * s->rx || (s->rx && ts <= s->last_ts))
		s->bad_ts++;
	s->last_ts = ts;
	s->rx++;
	if (s->free_call_at && s->rx == s->free_call_at)
		release_call(s);
	if (s->free_engine_at && s->rx == s->free_engine_at) {
		s->e = mem_deref(s->e);
		s->engine_gone = true;
	}
}

static void on_deadline(void *arg)
{
	struct et *t = arg;

	t->expired = true;
	loop_stop(t->loop);
}

/* Frame i at RTMP time 20 i, when its time has come: real time. */
static void send_due(struct et *t)
{
	uint64_t now = loop_now();
	uint8_t body[1 + 256];

	while (t->nsend < t->total && now >= t->t0 + 20ull * t->nsend) {
		unsigned k = t->nsend % t->nfr;
		body[0] = TAG;
		memcpy(body + 1, t->fr[k], t->flen[k]);
		for (int i = 0; i < 2; i++) {
			struct side *s = &t->s[i];
			if (s->c && !s->gone && !s->engine_gone &&
			    mcall_send_audio(s->c, 20 * t->nsend, body, 1u + t->flen[k]))
				s->bad++;
		}
		t->nsend++;
	}
}

static void on_tick(void *arg)
{
	struct et *t = arg;

	if (t->sending)
		send_due(t);
	if (t->sending && t->inject && t->nsend > t->inject_at && t->inject(t))
		t->inject = NULL;
	if (t->done(t)) {
		loop_stop(t->loop);
		return;
	}
	tmr_start(t->loop, &t->tick, 2, on_tick, t);
}

static int run(struct et *t, bool (*done)(struct et *t), uint64_t ms)
{
	int err;

	t->done = done;
	t->expired = false;
	if ((err = tmr_start(t->loop, &t->deadline, ms, on_deadline, t)) ||
	    (err = tmr_start(t->loop, &t->tick, 0, on_tick, t)))
		return err;
	err = loop_run(t->loop);
	tmr_cancel(t->loop, &t->deadline);
	tmr_cancel(t->loop, &t->tick);
	return err;
}

static bool ended(const struct side *s)
{
	return s->failed || s->sec_err || s->consent || s->bad;
}

static bool both_media(struct et *t)
{
	return (t->s[0].media && t->s[1].media) || ended(&t->s[0]) || ended(&t->s[1]);
}

static bool all_received(struct et *t)
{
	return (t->s[0].rx >= t->total && t->s[1].rx >= t->total) || ended(&t->s[0]) ||
	       ended(&t->s[1]);
}

static bool never(struct et *t)
{
	(void)t;
	return false;
}

static int setup_cfg(struct et *t, const struct mengine_config *cfg)
{
	int err;

	memset(t, 0, sizeof(*t));
	tmr_init(&t->deadline);
	tmr_init(&t->tick);
	for (int i = 0; i < 2; i++) {
		t->s[i].t = t;
		t->s[i].other = &t->s[1 - i];
	}
	if ((err = load_frames(t)) || (err = loop_alloc(&t->loop)))
		return err;
	if ((err = -mengine_alloc(&t->s[0].e, t->loop, cfg)) ||
	    (err = -mengine_alloc(&t->s[1].e, t->loop, cfg)))
		return err;
	return 0;
}

static int setup(struct et *t)
{
	return setup_cfg(t, &loopback);
}

static void teardown(struct et *t)
{
	for (int i = 0; i < 2; i++) {
		t->s[i].c = mem_deref(t->s[i].c);
		t->s[i].e = mem_deref(t->s[i].e);
	}
	t->loop = mem_deref(t->loop);
	t->vec = mem_deref(t->vec);
}

/* The calls, each knowing the other's credentials and security, then
 * gathering (candidates are handed over by on_event).  bad_fp: 1 gives A
 * a wrong fingerprint for B, 2 gives B a wrong one for A. */
static int start_calls(struct et *t, enum mode mode, unsigned ncomp, bool mux, int bad_fp)
{
	struct side *A = &t->s[0], *B = &t->s[1];
	struct mcall_params pa = {.controlling = true, .ncomp = ncomp, .pt = PT, .tag = TAG,
				  .fpp = 1, .name = "A", .te_pt = TE_PT};
	struct mcall_params pb = pa;
	uint8_t k1[MSRTP_KEY_SALT_LEN], k2[MSRTP_KEY_SALT_LEN];
	char params[MSRTP_SDES_SIZE];
	const char *u, *p;
	int err;

	pb.controlling = false;
	pb.name = "B";
	if ((err = -mcall_alloc(&A->c, A->e, &pa, on_event, on_audio, A)) ||
	    (err = -mcall_alloc(&B->c, B->e, &pb, on_event, on_audio, B)))
		return err;
	mcall_local_credentials(B->c, &u, &p);
	if (strlen(u) != 8 || strlen(p) != 24)
		return EBADMSG;
	if ((err = -mcall_set_remote_credentials(A->c, u, p)))
		return err;
	mcall_local_credentials(A->c, &u, &p);
	if ((err = -mcall_set_remote_credentials(B->c, u, p)))
		return err;
	if (mux && ((err = -mcall_rtcp_mux(A->c)) || (err = -mcall_rtcp_mux(B->c))))
		return err;
	switch (mode) {
	case M_DTLS:
		if ((err = -mcall_set_dtls(A->c, MDTLS_ACTIVE,
					   mengine_fingerprint(bad_fp == 1 ? A->e : B->e))) ||
		    (err = -mcall_set_dtls(B->c, MDTLS_PASSIVE,
					   mengine_fingerprint(bad_fp == 2 ? B->e : A->e))))
			return err;
		if (mcall_security(A->c) != MCALL_SEC_DTLS ||
		    mcall_set_plain(A->c) != -EALREADY)
			return EBADMSG;
		break;
	case M_SDES:
		if ((err = -msrtp_sdes_generate(k1, params)) ||
		    (err = -msrtp_sdes_generate(k2, params)) ||
		    (err = -mcall_set_sdes(A->c, MSRTP_AES_CM_128_HMAC_SHA1_80, k1, k2)) ||
		    (err = -mcall_set_sdes(B->c, MSRTP_AES_CM_128_HMAC_SHA1_80, k2, k1)))
			return err;
		break;
	case M_PLAIN:
		if ((err = -mcall_set_plain(A->c)) || (err = -mcall_set_plain(B->c)))
			return err;
		break;
	}
	if ((err = -mcall_gather(A->c)) || (err = -mcall_gather(B->c)))
		return err;
	if (mcall_gather(A->c) != -EALREADY)
		return EBADMSG;
	return 0;
}

static int check_side(const struct side *s, unsigned total, unsigned secs)
{
	const struct mcall_stats *st = &s->st;
	int err = 0;

	if (getenv("RX_TEST_VERBOSE"))
		fprintf(stderr, "  %s: rtp %llu/%llu, rtcp %llu/%llu, lost %lld, jitter %u, "
			"remote lost %lld jitter %u, rtt %u ms, jitter buffer delay %u ms (max %u)\n",
			s == &s->t->s[0] ? "A" : "B", (unsigned long long)st->rtp_sent,
			(unsigned long long)st->rtp_recv, (unsigned long long)st->rtcp_sent,
			(unsigned long long)st->rtcp_recv, (long long)st->lost, st->jitter,
			(long long)st->remote_lost, st->remote_jitter, st->rtt_ms, st->rx.delay_ms,
			st->rx.delay_max_ms);

	CHECK(!s->bad && !s->failed && !s->sec_err && !s->consent);
	CHECK_EQ(s->media, 1);
	CHECK(s->connected == 1 && s->gathered == 1 && s->ncand >= 1);
	CHECK_EQ(s->rx, total);
	CHECK_EQ(s->bad_frames, 0);
	CHECK_EQ(s->bad_ts, 0);
	CHECK_EQ(st->rtp_sent, total);
	CHECK_EQ(st->rtp_recv, total);
	CHECK(st->rtp_bytes_sent > 0 && st->rtp_bytes_recv == st->rtp_bytes_sent);
	CHECK_EQ(st->lost, 0);
	CHECK(st->ssrc_remote != 0);
	CHECK_EQ(st->tx_before_ready + st->tx_ring_full + st->rx_ring_full + st->send_errors, 0);
	CHECK_EQ(st->bad_packets, 0);
	CHECK_EQ(st->bad_rtp, 0);
	CHECK_EQ(st->wrong_pt + st->telephone_events, 0);
	CHECK_EQ(st->srtp_auth_fail + st->srtp_replay, 0);
	CHECK_EQ(st->dtls_bad, 0);
	CHECK_EQ(st->before_secure, 0);
	CHECK_EQ(st->tx.msgs, total);
	CHECK_EQ(st->tx.frames_out, total);
	CHECK_EQ(st->tx.bad, 0);
	CHECK_EQ(st->rx.frames_out, total);
	CHECK_EQ(st->rx.lost + st->rx.late + st->rx.dups + st->rx.dropped + st->rx.bad, 0);
	if (secs >= 3) {
		/* the first RTCP went out 2.5 s after media was up */
		CHECK(st->rtcp_sent >= 1 && st->rtcp_recv >= 1);
		CHECK(st->have_remote_report);
		CHECK_EQ(st->remote_lost, 0);
	}
	if (secs >= 8)
		CHECK(st->rtt_ms > 0 && st->rtt_ms < 1000);
out:
	return err;
}

static bool stats_after(struct et *t)
{
	return (t->s[0].stats && t->s[1].stats) || ended(&t->s[0]) || ended(&t->s[1]);
}

/* Connect, stream both ways, check both sides. */
static int stream(enum mode mode, unsigned ncomp, bool mux, unsigned secs)
{
	struct et *t = mem_zalloc(sizeof(*t), NULL);
	struct mem_stat m0, m1;
	int err;

	if (!t)
		return ENOMEM;
	TEST_ERR(setup(t));
	TEST_ERR(start_calls(t, mode, ncomp, mux, 0));
	TEST_ERR(run(t, both_media, SETUP_MS));
	CHECK(!t->expired);
	for (int i = 0; i < 2; i++) {
		struct side *s = &t->s[i];
		CHECK(s->media == 1 && s->connected == 1 && !ended(s));
		CHECK_EQ(mcall_security(s->c), mode == M_DTLS ? MCALL_SEC_DTLS :
			 mode == M_SDES ? MCALL_SEC_SDES : MCALL_SEC_PLAIN);
	}
	t->total = secs * 50;
	t->t0 = loop_now();
	t->sending = true;
	mem_get_stat(&m0);
	TEST_ERR(run(t, all_received, secs * 1000ull + DRAIN_MS));
	mem_get_stat(&m1);
	CHECK(!t->expired);
	t->sending = false;
	/* nothing allocated per packet, on either thread, RTCP included */
	CHECK_EQ(m1.allocs - m0.allocs, 0);
	for (int i = 0; i < 2; i++) {
		t->s[i].stats = 0;
		TEST_ERR(-mcall_request_stats(t->s[i].c));
	}
	TEST_ERR(run(t, stats_after, 2000));
	CHECK(!t->expired);
	for (int i = 0; i < 2; i++)
		TEST_ERR(check_side(&t->s[i], t->total, secs));
out:
	teardown(t);
	mem_deref(t);
	return err;
}

int test_engine_dtls(void)
{
	return stream(M_DTLS, 1, false, seconds());
}

/* Two components, RTCP on the second with its own DTLS session. */
int test_engine_dtls_2comp(void)
{
	return stream(M_DTLS, 2, false, seconds());
}

int test_engine_sdes(void)
{
	return stream(M_SDES, 2, false, seconds());
}

/* rtcp-mux agreed after the call was made with two components. */
int test_engine_plain(void)
{
	return stream(M_PLAIN, 2, true, seconds());
}

static bool sec_done(struct et *t)
{
	return t->s[0].sec_err || t->s[1].sec_err || t->s[0].failed || t->s[1].failed;
}

/* One side has a wrong fingerprint for the other: that side says
 * security-error and never has media; then it stays so for a while. */
static int mismatch(int bad_fp)
{
	struct et *t = mem_zalloc(sizeof(*t), NULL);
	struct side *checker;
	int err;

	if (!t)
		return ENOMEM;
	checker = &t->s[bad_fp - 1];
	TEST_ERR(setup(t));
	TEST_ERR(start_calls(t, M_DTLS, 1, false, bad_fp));
	TEST_ERR(run(t, sec_done, SETUP_MS));
	CHECK(!t->expired);
	TEST_ERR(run(t, never, 300));
	CHECK_EQ(checker->sec_err, 1);
	CHECK_EQ(checker->media, 0);
	CHECK(checker->connected == 1 && !checker->failed && !checker->bad);
	CHECK(!checker->other->sec_err && !checker->other->bad);
	/* after the end, audio is dropped and counted */
	TEST_ERR(-mcall_send_audio(checker->c, 0, (const uint8_t *)"\xb6\x01", 2));
	CHECK_EQ(mcall_stats(checker->c)->tx_before_ready, 1);
out:
	teardown(t);
	mem_deref(t);
	return err;
}

/* The active side (A) checks the passive side's certificate. */
int test_engine_fingerprint_mismatch(void)
{
	return mismatch(1);
}

/* The passive side (B) checks the active side's certificate. */
int test_engine_fingerprint_mismatch_passive(void)
{
	return mismatch(2);
}

static bool a_gone(struct et *t)
{
	return t->s[0].gone || ended(&t->s[0]) || ended(&t->s[1]);
}

static bool b_gone(struct et *t)
{
	return t->s[1].gone || ended(&t->s[1]);
}

/* A releases its call from its audio handler mid-stream, B from its event
 * handler: no handler after, the calls' memory goes back while the engines
 * live on, and the engines then count no calls. */
int test_engine_release_call(void)
{
	struct et *t = mem_zalloc(sizeof(*t), NULL);
	struct mem_stat ms;
	int err;

	if (!t)
		return ENOMEM;
	TEST_ERR(setup(t));
	TEST_ERR(start_calls(t, M_PLAIN, 1, false, 0));
	TEST_ERR(run(t, both_media, SETUP_MS));
	CHECK(!t->expired && t->s[0].media && t->s[1].media);
	CHECK(mengine_calls(t->s[0].e) == 1 && mengine_calls(t->s[1].e) == 1);
	t->s[0].free_call_at = 25;
	t->total = 1000;
	t->t0 = loop_now();
	t->sending = true;
	TEST_ERR(run(t, a_gone, 5000));
	CHECK(!t->expired && t->s[0].gone);
	/* B goes on sending to A's released call meanwhile */
	TEST_ERR(run(t, never, 300));
	CHECK(!t->s[0].bad && !t->s[1].bad);
	CHECK_EQ(t->s[0].rx, 25);
	CHECK_EQ(mengine_calls(t->s[0].e), 0);
	/* B has stopped hearing A; now B goes, from its STATS handler */
	t->s[1].free_on_stats = true;
	TEST_ERR(-mcall_request_stats(t->s[1].c));
	TEST_ERR(run(t, b_gone, 2000));
	CHECK(!t->expired && t->s[1].gone);
	t->sending = false;
	TEST_ERR(run(t, never, 300));
	CHECK(!t->s[0].bad && !t->s[1].bad);
	CHECK_EQ(mengine_calls(t->s[1].e), 0);
	/* each call's own block, its shared block, its two rings, and its
	 * media side are gone already: the engines are still up */
	mem_get_stat(&ms);
	CHECK(ms.blocks + 8 <= t->s[1].blocks_at_free);
out:
	teardown(t);
	mem_deref(t);
	return err;
}

static bool b_engine_gone(struct et *t)
{
	return t->s[1].engine_gone || ended(&t->s[0]) || ended(&t->s[1]);
}

/* B's engine goes from B's audio handler with B's call still held, then
 * A's engine from the loop with A's call held: no handler after, the
 * calls refuse work, and nothing leaks once they are released. */
int test_engine_release_engine(void)
{
	struct et *t = mem_zalloc(sizeof(*t), NULL);
	const char *u, *p;
	int err;

	if (!t)
		return ENOMEM;
	TEST_ERR(setup(t));
	TEST_ERR(start_calls(t, M_SDES, 1, false, 0));
	TEST_ERR(run(t, both_media, SETUP_MS));
	CHECK(!t->expired && t->s[0].media && t->s[1].media);
	t->s[1].free_engine_at = 30;
	t->total = 1000;
	t->t0 = loop_now();
	t->sending = true;
	TEST_ERR(run(t, b_engine_gone, 5000));
	CHECK(!t->expired && t->s[1].engine_gone);
	TEST_ERR(run(t, never, 300));
	t->sending = false;
	CHECK(!t->s[0].bad && !t->s[1].bad);
	CHECK_EQ(t->s[1].rx, 30);
	CHECK_EQ(mcall_send_audio(t->s[1].c, 0, (const uint8_t *)"\xb6\x01", 2), -ESHUTDOWN);
	CHECK_EQ(mcall_request_stats(t->s[1].c), -ESHUTDOWN);
	mcall_local_credentials(t->s[1].c, &u, &p);
	CHECK(strlen(u) == 8 && strlen(p) == 24);
	/* A's engine, from outside any handler */
	t->s[0].e = mem_deref(t->s[0].e);
	t->s[0].engine_gone = true;
	TEST_ERR(run(t, never, 100));
	CHECK(!t->s[0].bad);
	CHECK_EQ(mcall_gather(t->s[0].c), -ESHUTDOWN);
out:
	teardown(t);
	mem_deref(t);
	return err;
}

static bool flooded(struct et *t)
{
	return (t->s[0].rx >= t->total && t->s[1].rx >= t->total && t->s[0].stats >= 40 &&
		t->s[1].stats >= 40) || ended(&t->s[0]) || ended(&t->s[1]);
}

/* Command and event rings of two slots: candidates, events, stats and the
 * audio notices keep finding them full, so messages wait in nodes, audio
 * is found by rescanning, and CLOSE waits in its own node.  Nothing may be
 * lost or reordered. */
int test_engine_tiny_rings(void)
{
	struct mengine_config cfg = loopback;
	struct et *t = mem_zalloc(sizeof(*t), NULL);
	struct mem_stat ms;
	int err;

	if (!t)
		return ENOMEM;
	cfg.ctl_slots = 2;
	TEST_ERR(setup_cfg(t, &cfg));
	TEST_ERR(start_calls(t, M_SDES, 1, false, 0));
	TEST_ERR(run(t, both_media, SETUP_MS));
	CHECK(!t->expired && t->s[0].media && t->s[1].media);
	for (int n = 0; n < 40; n++)
		for (int i = 0; i < 2; i++)
			TEST_ERR(-mcall_request_stats(t->s[i].c));
	t->total = 50;
	t->t0 = loop_now();
	t->sending = true;
	TEST_ERR(run(t, flooded, 1000 + DRAIN_MS));
	CHECK(!t->expired);
	t->sending = false;
	for (int i = 0; i < 2; i++) {
		struct side *s = &t->s[i];
		CHECK(!ended(s) && s->media == 1);
		CHECK_EQ(s->rx, t->total);
		CHECK_EQ(s->bad_frames + s->bad_ts, 0);
	}
	/* release A behind a queue of commands */
	for (int n = 0; n < 20; n++)
		TEST_ERR(-mcall_request_stats(t->s[0].c));
	release_call(&t->s[0]);
	TEST_ERR(run(t, never, 300));
	CHECK(!t->s[0].bad && !t->s[1].bad);
	CHECK_EQ(mengine_calls(t->s[0].e), 0);
	mem_get_stat(&ms);
	CHECK(ms.blocks + 8 <= t->s[0].blocks_at_free);
out:
	teardown(t);
	mem_deref(t);
	return err;
}


/* A datagram to B from A's address (a raw socket: libnice takes data only
 * from the peer it checked). */
static int spoof(int fd, const struct ice_cand *from, const struct ice_cand *to,
		 const uint8_t *p, size_t len)
{
	uint8_t pkt[28 + 1500];
	struct iphdr *ip = (struct iphdr *)pkt;
	struct udphdr *udp = (struct udphdr *)(pkt + 20);
	struct sockaddr_in dst = {.sin_family = AF_INET};

	if (len > 1500)
		return EINVAL;
	memset(pkt, 0, 28);
	ip->version = 4;
	ip->ihl = 5;
	ip->ttl = 64;
	ip->protocol = IPPROTO_UDP;
	ip->tot_len = htons((uint16_t)(28 + len));
	if (inet_pton(AF_INET, from->ip, &ip->saddr) != 1 ||
	    inet_pton(AF_INET, to->ip, &ip->daddr) != 1)
		return EINVAL;
	udp->source = htons(from->port);
	udp->dest = htons(to->port);
	udp->len = htons((uint16_t)(8 + len));   /* checksum 0: none (IPv4) */
	memcpy(pkt + 28, p, len);
	dst.sin_addr.s_addr = ip->daddr;
	if (sendto(fd, pkt, 28 + len, 0, (struct sockaddr *)&dst, sizeof(dst)) != (ssize_t)(28 + len))
		return errno;
	return 0;
}

static int raw_fd = -1;
#define NFUZZ 500

/* Datagrams each of one kind of bad, then random ones (RTP-looking ones
 * with payload type 5, so that they cannot disturb the real stream), a
 * few per tick: a flood would overrun the socket and lose real packets. */
static bool inject_garbage(struct et *t)
{
	static const uint8_t one[] = {0x80};
	static const uint8_t pt0[] = {0x80, 0x00, 0, 1, 0, 0, 0, 0, 1, 2, 3, 4, 9, 9, 9, 9};
	static const uint8_t te[] = {0x80, TE_PT, 0, 1, 0, 0, 0, 0, 1, 2, 3, 4, 5, 0x8a, 0, 160};
	static const uint8_t csrc[] = {0x8f, PT, 0, 1, 0, 0, 0, 0, 1, 2, 3, 4};
	static const uint8_t turn[] = {0x40, 0x00, 0, 4, 1, 2, 3, 4};
	static const uint8_t zrtp[] = {0x10, 0x00, 0, 0, 'Z', 'R', 'T', 'P'};
	static const uint8_t ff[] = {0xff, 0xff, 0xff, 0xff};
	static const uint8_t dtls[] = {0x16, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0x10, 0x00, 1};
	static const uint8_t sr_long[] = {0x80, 0xc8, 0x00, 0x40, 1, 2, 3, 4};
	static const uint8_t rr[] = {0x81, 0xc9, 0x00, 0x07, 9, 9, 9, 9, 7, 7, 7, 7, 0, 0, 0, 0,
				     0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
	static const struct { const uint8_t *p; size_t len; } d[] = {
		{one, sizeof(one)}, {pt0, sizeof(pt0)}, {te, sizeof(te)}, {csrc, sizeof(csrc)},
		{turn, sizeof(turn)}, {zrtp, sizeof(zrtp)}, {ff, sizeof(ff)}, {dtls, sizeof(dtls)},
		{sr_long, sizeof(sr_long)}, {rr, sizeof(rr)},
	};
	const unsigned nd = sizeof(d) / sizeof(d[0]);
	const struct ice_cand *from = &t->s[0].cand, *to = &t->s[1].cand;
	static uint32_t x;
	uint8_t b[1500];

	if (!t->injected)
		x = 12345;
	for (int k = 0; k < 4 && t->injected < nd + NFUZZ && !t->inject_err; k++, t->injected++) {
		unsigned n = t->injected - nd;
		size_t len;

		if (t->injected < nd) {
			t->inject_err = spoof(raw_fd, from, to, d[t->injected].p,
					      d[t->injected].len);
			continue;
		}
		len = 1 + (x >> 8) % 300;
		for (size_t i = 0; i < len; i++) {
			x = x * 1103515245 + 12345;
			b[i] = (uint8_t)(x >> 16);
		}
		/* the first byte over every class of RFC 7983 */
		b[0] = (uint8_t)(n % 256);
		if (b[0] >= 128 && b[0] <= 191 && len > 1 && (b[1] < 192 || b[1] > 223))
			b[1] = (uint8_t)((b[1] & 0x80) | 5);
		t->inject_err = spoof(raw_fd, from, to, b, len);
	}
	return t->inject_err || t->injected == nd + NFUZZ;
}

/* Garbage at B from A's address mid-stream: each kind is counted where it
 * belongs, nothing crashes, and the real stream goes on untouched.  Needs
 * a raw socket (CAP_NET_RAW); skipped without. */
int test_engine_garbage(void)
{
	struct et *t;
	const struct mcall_stats *st;
	int err;

	raw_fd = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
	if (raw_fd < 0) {
		fprintf(stderr, "  skipped: no raw socket (%s)\n", strerror(errno));
		return 0;
	}
	t = mem_zalloc(sizeof(*t), NULL);
	if (!t) {
		close(raw_fd);
		return ENOMEM;
	}
	TEST_ERR(setup(t));
	TEST_ERR(start_calls(t, M_PLAIN, 1, false, 0));
	TEST_ERR(run(t, both_media, SETUP_MS));
	CHECK(!t->expired && t->s[0].media && t->s[1].media);
	CHECK(t->s[0].cand.port && t->s[1].cand.port);
	t->total = 75;
	t->inject = inject_garbage;
	t->inject_at = 20;
	t->t0 = loop_now();
	t->sending = true;
	TEST_ERR(run(t, all_received, 1500 + DRAIN_MS));
	CHECK(!t->expired);
	t->sending = false;
	TEST_ERR(t->inject_err);
	CHECK(!t->inject);
	for (int i = 0; i < 2; i++) {
		t->s[i].stats = 0;
		TEST_ERR(-mcall_request_stats(t->s[i].c));
	}
	TEST_ERR(run(t, stats_after, 2000));
	CHECK(!t->expired);
	for (int i = 0; i < 2; i++) {
		struct side *s = &t->s[i];
		CHECK(!ended(s));
		CHECK_EQ(s->rx, t->total);
		CHECK_EQ(s->bad_frames + s->bad_ts, 0);
		CHECK_EQ(s->st.rtp_sent, t->total);
		CHECK_EQ(s->st.rtp_recv, t->total);
		CHECK_EQ(s->st.lost, 0);
	}
	st = &t->s[1].st;
	if (getenv("RX_TEST_VERBOSE"))
		fprintf(stderr, "  B: bad_packets %llu bad_rtp %llu wrong_pt %llu te %llu dtls_bad %llu "
			"rtcp_recv %llu\n", (unsigned long long)st->bad_packets,
			(unsigned long long)st->bad_rtp, (unsigned long long)st->wrong_pt,
			(unsigned long long)st->telephone_events, (unsigned long long)st->dtls_bad,
			(unsigned long long)st->rtcp_recv);
	CHECK_EQ(st->telephone_events, 1);
	CHECK(st->wrong_pt >= 1 && st->bad_rtp >= 3 && st->bad_packets >= 3 && st->dtls_bad >= 1);
	CHECK(st->rtcp_recv >= 1);
	/* every datagram went somewhere: each one of the first byte's RTP and
	 * RTCP range (64 of the random ones) was counted */
	CHECK(st->wrong_pt + st->bad_rtp + st->rtcp_recv + st->telephone_events >= 64 + 6);
	CHECK_EQ(t->s[0].st.bad_packets + t->s[0].st.bad_rtp + t->s[0].st.wrong_pt, 0);
out:
	teardown(t);
	mem_deref(t);
	close(raw_fd);
	raw_fd = -1;
	return err;
}
