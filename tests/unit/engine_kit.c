/* The harness of the media engine tests (engine_kit.h). */
#include <stdlib.h>
#include <string.h>
#include "engine_kit.h"
#include "mem.h"
#include "srtp.h"

const struct mengine_config ek_loopback = {
	.ice = {.local_addrs = "127.0.0.1"},
	.allow_plain = true,
};

unsigned ek_seconds(void)
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

void ek_release_call(struct side *s)
{
	struct mem_stat ms;

	mem_get_stat(&ms);
	s->blocks_at_free = ms.blocks;
	s->c = mem_deref(s->c);
	s->gone = true;
}

void ek_log_side(const struct side *s)
{
	const struct mcall_stats *st = &s->st;
	const struct repack_stats *rx = &st->rx;

	if (!getenv("RX_TEST_VERBOSE"))
		return;
	fprintf(stderr, "  %s: frames %u (skipped %u, bad %d, bad ts %d); rtp %llu/%llu, "
		"rtcp %llu/%llu, lost %lld, jitter %u, remote lost %lld jitter %u, rtt %u ms\n"
		"     bad_packets %llu bad_rtp %llu wrong_pt %llu te %llu auth %llu replay %llu "
		"dtls_bad %llu before_secure %llu\n"
		"     jitter buffer: out %llu lost %llu late %llu dups %llu reordered %llu "
		"dropped %llu resyncs %llu delay %u ms (max %u)\n",
		s == &s->t->s[0] ? "A" : "B", s->rx, s->skipped, s->bad_frames, s->bad_ts,
		(unsigned long long)st->rtp_sent, (unsigned long long)st->rtp_recv,
		(unsigned long long)st->rtcp_sent, (unsigned long long)st->rtcp_recv,
		(long long)st->lost, st->jitter, (long long)st->remote_lost, st->remote_jitter,
		st->rtt_ms, (unsigned long long)st->bad_packets, (unsigned long long)st->bad_rtp,
		(unsigned long long)st->wrong_pt, (unsigned long long)st->telephone_events,
		(unsigned long long)st->srtp_auth_fail, (unsigned long long)st->srtp_replay,
		(unsigned long long)st->dtls_bad, (unsigned long long)st->before_secure,
		(unsigned long long)rx->frames_out, (unsigned long long)rx->lost,
		(unsigned long long)rx->late, (unsigned long long)rx->dups,
		(unsigned long long)rx->reordered, (unsigned long long)rx->dropped,
		(unsigned long long)rx->resyncs, rx->delay_ms, rx->delay_max_ms);
}

static bool usable(const struct side *s)
{
	return s->c && !s->gone && !s->engine_gone;
}

static void on_candidate(struct side *s, const struct ice_cand *cand)
{
	struct et *t = s->t;
	struct ice_cand c;

	s->ncand++;
	if (!cand || strcmp(cand->ip, "127.0.0.1")) {
		s->bad++;
		return;
	}
	if (cand->comp == 1 && cand->type == ICE_CAND_HOST)
		s->cand = *cand;
	c = *cand;
	if (t->cand && !t->cand(t, s, &c))
		return;
	if (usable(s->other) && mcall_add_remote_candidate(s->other->c, &c))
		s->bad++;
}

static void on_event(struct mcall *c, const struct mcall_event *ev, void *arg)
{
	struct side *s = arg;

	if (s->gone || s->engine_gone || c != s->c) {
		s->bad++;
		return;
	}
	switch (ev->type) {
	case MCALL_EV_CANDIDATE:
		on_candidate(s, ev->cand);
		break;
	case MCALL_EV_GATHERING_DONE:
		s->gathered++;
		if (usable(s->other))
			mcall_end_of_candidates(s->other->c);
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
			ek_release_call(s);
		break;
	}
}

bool ek_frame_is(const struct et *t, unsigned i, const uint8_t *b, size_t len)
{
	unsigned k = i % t->nfr;

	return len >= 1 && b[0] == TAG && len - 1 == t->flen[k] &&
	       !memcmp(b + 1, t->fr[k], len - 1);
}

/* Frame ts / 20 must be the one sent at ts, after the last one out. */
void ek_check_frame(struct side *s, uint32_t ts, const uint8_t *b, size_t len)
{
	const struct et *t = s->t;
	unsigned i = ts / 20;

	if (ts % 20 || i >= t->nsend || (s->rx && ts <= s->last_ts)) {
		s->bad_ts++;
	} else {
		if (!ek_frame_is(t, i, b, len))
			s->bad_frames++;
		s->skipped += s->rx ? i - s->last_ts / 20 - 1 : i;
		if (s->got)
			s->got[i] = 1;
	}
	s->last_ts = ts;
}

static void on_audio(struct mcall *c, uint32_t ts, const uint8_t *b, size_t len, void *arg)
{
	struct side *s = arg;
	struct et *t = s->t;

	if (s->gone || s->engine_gone || c != s->c) {
		s->bad++;
		return;
	}
	if (t->audio)
		t->audio(s, ts, b, len);
	else
		ek_check_frame(s, ts, b, len);
	s->rx++;
	if (s->free_call_at && s->rx == s->free_call_at)
		ek_release_call(s);
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
			if (usable(s) &&
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

int ek_run(struct et *t, bool (*done)(struct et *t), uint64_t ms)
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

bool ek_ended(const struct side *s)
{
	return s->failed || s->sec_err || s->consent || s->bad;
}

bool ek_both_media(struct et *t)
{
	return (t->s[0].media && t->s[1].media) || ek_ended(&t->s[0]) || ek_ended(&t->s[1]);
}

bool ek_all_received(struct et *t)
{
	return (t->s[0].rx >= t->total && t->s[1].rx >= t->total) || ek_ended(&t->s[0]) ||
	       ek_ended(&t->s[1]);
}

bool ek_never(struct et *t)
{
	(void)t;
	return false;
}

static bool stats_after(struct et *t)
{
	return (t->s[0].stats && t->s[1].stats) || ek_ended(&t->s[0]) || ek_ended(&t->s[1]);
}

int ek_setup_cfg(struct et *t, const struct mengine_config *cfg)
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

int ek_setup(struct et *t)
{
	return ek_setup_cfg(t, &ek_loopback);
}

void ek_teardown(struct et *t)
{
	for (int i = 0; i < 2; i++) {
		t->s[i].c = mem_deref(t->s[i].c);
		t->s[i].e = mem_deref(t->s[i].e);
		t->s[i].got = mem_deref(t->s[i].got);
	}
	t->loop = mem_deref(t->loop);
	t->vec = mem_deref(t->vec);
}

static int set_security(struct et *t, enum mode mode, int bad_fp)
{
	struct side *A = &t->s[0], *B = &t->s[1];
	uint8_t k1[MSRTP_KEY_SALT_LEN], k2[MSRTP_KEY_SALT_LEN];
	char params[MSRTP_SDES_SIZE];
	int err;

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
		return 0;
	case M_SDES:
		if ((err = -msrtp_sdes_generate(k1, params)) ||
		    (err = -msrtp_sdes_generate(k2, params)) ||
		    (err = -mcall_set_sdes(A->c, MSRTP_AES_CM_128_HMAC_SHA1_80, k1, k2)))
			return err;
		return -mcall_set_sdes(B->c, MSRTP_AES_CM_128_HMAC_SHA1_80, k2, k1);
	case M_PLAIN:
		if ((err = -mcall_set_plain(A->c)))
			return err;
		return -mcall_set_plain(B->c);
	}
	return EINVAL;
}

int ek_start_calls(struct et *t, enum mode mode, unsigned ncomp, bool mux, int bad_fp)
{
	struct side *A = &t->s[0], *B = &t->s[1];
	struct mcall_params pa = {.controlling = true, .ncomp = ncomp, .pt = PT, .tag = TAG,
				  .fpp = 1, .name = "A", .te_pt = TE_PT};
	struct mcall_params pb = pa;
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
	if ((err = set_security(t, mode, bad_fp)))
		return err;
	if ((err = -mcall_gather(A->c)) || (err = -mcall_gather(B->c)))
		return err;
	if (mcall_gather(A->c) != -EALREADY)
		return EBADMSG;
	return 0;
}

int ek_connect(struct et *t, enum mode mode)
{
	static const enum mcall_security sec[] = {
		[M_DTLS] = MCALL_SEC_DTLS, [M_SDES] = MCALL_SEC_SDES, [M_PLAIN] = MCALL_SEC_PLAIN,
	};
	int err;

	TEST_ERR(ek_run(t, ek_both_media, SETUP_MS));
	CHECK(!t->expired);
	for (int i = 0; i < 2; i++) {
		struct side *s = &t->s[i];
		CHECK(s->media == 1 && s->connected == 1 && !ek_ended(s));
		CHECK_EQ(mcall_security(s->c), sec[mode]);
	}
out:
	return err;
}

void ek_send(struct et *t, unsigned total)
{
	t->total = total;
	t->t0 = loop_now();
	t->sending = true;
}

int ek_fresh_stats(struct et *t)
{
	int err;

	for (int i = 0; i < 2; i++) {
		t->s[i].stats = 0;
		TEST_ERR(-mcall_request_stats(t->s[i].c));
	}
	TEST_ERR(ek_run(t, stats_after, 2000));
	CHECK(!t->expired);
out:
	return err;
}
