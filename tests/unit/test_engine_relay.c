/* The media engine through a UDP impairment relay (relay_util.h): the
 * calls of engine_kit.h, rtcp-mux on one component, with each engine
 * knowing only the relay's address as the other's candidate, so that ICE,
 * DTLS, SRTP and RTCP all pass through it.
 *   - lossy: the relay drops, swaps and duplicates RTP packets both ways
 *     by a fixed script.  Each side must play every frame that was not
 *     dropped, byte for byte at its own timestamp (frame number * 20 ms),
 *     in order, once; the frames it misses must be exactly the dropped
 *     ones plus those its jitter buffer counts as late; the RFC 3550
 *     cumulative loss must be what the relay dropped (minus duplicates in
 *     plain RTP, which A.3 counts as received), and the sender must hear
 *     the same from the receiver's last RTCP report.
 *   - bad input: the relay sends datagrams of its own to B mid-stream,
 *     from the address B expects: each must be counted under its own
 *     cause, and the stream must stay frame-exact.
 *   - foreign SSRC (plain RTP): stray packets from another SSRC between
 *     the real ones must not disturb the stream.
 * Each runs RX_ENGINE_SECONDS (default 3) of audio. */
#include <stdlib.h>
#include <string.h>
#include "engine_kit.h"
#include "mem.h"
#include "relay_util.h"

/* k % 10 == 3 dropped, k % 17 == 5 swapped with the next, k % 13 == 7 twice:
 * never the first three packets (RFC 3550 probation) nor the last. */
static const struct relay_impair script = {
	.drop_m = 10, .drop_r = 3, .swap_m = 17, .swap_r = 5, .dup_m = 13, .dup_r = 7,
};

/* What the relay's own datagrams to B must add to B's counters. */
struct want {
	unsigned bad_rtp, replay, auth, dtls_bad, bad_packets, wrong_pt, te, dups, foreign;
};

struct rt {
	struct et t;
	struct relay *rl;
	enum mode mode;
	int inject_err;
	struct want want;
	uint8_t saved[1500];     /* a packet kept to be replayed */
	size_t saved_len;
	unsigned switch_at;      /* B's source changes SSRC at this frame */
	bool shift_known;
	int32_t shift;           /* ms B's RTMP times moved by at the change */
};

static bool on_cand(struct et *t, struct side *from, struct ice_cand *c)
{
	struct rt *r = t->arg;

	return relay_cand(r->rl, from == &t->s[0] ? 0 : 1, c);
}

/* Side i receives direction 1 - i. */
static unsigned dir_to(const struct et *t, const struct side *s)
{
	return s == &t->s[0] ? RELAY_BA : RELAY_AB;
}

static bool last_played(struct et *t)
{
	unsigned n = t->total - 1;

	return (t->s[0].got[n] && t->s[1].got[n]) || ek_ended(&t->s[0]) || ek_ended(&t->s[1]);
}

static void log_relay(const struct rt *r, unsigned dir)
{
	const struct relay_stats *rs = relay_stats(r->rl, dir);

	if (!getenv("RX_TEST_VERBOSE"))
		return;
	fprintf(stderr, "  relay %s: rtp %llu rtcp %llu dtls %llu stun %llu other %llu; dropped %llu "
		"swapped %llu (held out %llu) duplicated %llu injected %llu bad %llu\n",
		dir == RELAY_AB ? "A->B" : "B->A", (unsigned long long)rs->rtp,
		(unsigned long long)rs->rtcp, (unsigned long long)rs->dtls,
		(unsigned long long)rs->stun, (unsigned long long)rs->other,
		(unsigned long long)rs->dropped, (unsigned long long)rs->swapped,
		(unsigned long long)rs->held_out, (unsigned long long)rs->duplicated,
		(unsigned long long)rs->injected, (unsigned long long)rs->bad);
}

/* The engines, the relay, the calls through it up to media, and a frame
 * map per side.  rtph: the relay's hook. */
static int setup(struct rt **rp, enum mode mode, unsigned total, relay_rtp_h *rtph)
{
	struct rt *r = mem_zalloc(sizeof(*r), NULL);
	struct et *t;
	int err;

	if (!r)
		return ENOMEM;
	*rp = r;
	t = &r->t;
	r->mode = mode;
	TEST_ERR(ek_setup(t));
	t->cand = on_cand;
	t->arg = r;
	TEST_ERR(relay_alloc(&r->rl, t->loop, total, rtph, r));
	for (int i = 0; i < 2; i++)
		TEST_ERR((t->s[i].got = mem_zalloc(total, NULL)) ? 0 : ENOMEM);
	TEST_ERR(ek_start_calls(t, mode, 1, false, 0));
	TEST_ERR(ek_connect(t, mode));
	/* ICE and DTLS went through the relay, both ways */
	for (unsigned d = 0; d < 2; d++) {
		const struct relay_stats *rs = relay_stats(r->rl, d);
		CHECK(rs->stun > 0 && !rs->bad);
		CHECK(mode != M_DTLS || rs->dtls > 0);
	}
out:
	return err;
}

static void teardown(struct rt *r)
{
	if (!r)
		return;
	r->rl = mem_deref(r->rl);   /* before the loop it watches from */
	ek_teardown(&r->t);
	mem_deref(r);
}

/* Stream total frames both ways until both sides played the last one,
 * then a while longer (nothing may come after it), then fresh stats (also
 * when the last frame never came, to show what did). */
static int stream(struct rt *r, unsigned total)
{
	struct et *t = &r->t;
	struct mem_stat m0, m1;
	bool expired;
	int err;

	mem_get_stat(&m0);
	ek_send(t, total);
	TEST_ERR(ek_run(t, last_played, total * 20ull + DRAIN_MS));
	mem_get_stat(&m1);
	expired = t->expired;
	t->sending = false;
	TEST_ERR(ek_run(t, ek_never, 200));
	TEST_ERR(ek_fresh_stats(t));
	for (unsigned d = 0; d < 2; d++)
		log_relay(r, d);
	for (int i = 0; i < 2; i++)
		ek_log_side(&t->s[i]);
	CHECK(!expired);
	/* nothing allocated per packet, on either thread or in the relay */
	CHECK_EQ(m1.allocs - m0.allocs, 0);
out:
	return err;
}

/* --- loss, reordering, duplicates --- */

/* What side s played of the script's direction towards it. */
static int check_lossy(struct rt *r, const struct side *s, unsigned secs)
{
	const struct mcall_stats *st = &s->st;
	unsigned dir = dir_to(&r->t, s), total = r->t.total;
	const struct relay_stats *rs = relay_stats(r->rl, dir);
	uint64_t dropped = 0, unplayed = 0, dups = rs->duplicated;
	int err = 0;

	CHECK(!s->bad && !ek_ended(s) && s->media == 1);
	CHECK_EQ(rs->bad, 0);
	CHECK_EQ(rs->rtp, total);
	CHECK(rs->dropped && rs->swapped && rs->duplicated);
	CHECK_EQ(s->bad_frames + s->bad_ts, 0);
	for (unsigned i = 0; i < total; i++) {
		unsigned f = relay_fate(r->rl, dir, i);
		CHECK(f & RELAY_SEEN);
		if (f & RELAY_DROPPED) {
			CHECK(!s->got[i]);
			dropped++;
		} else if (!s->got[i]) {
			unplayed++;
		}
	}
	CHECK_EQ(dropped, rs->dropped);
	/* a frame that came but was not played was counted late */
	CHECK_EQ(unplayed, st->rx.late);
	CHECK_EQ(s->rx, total - dropped - unplayed);
	CHECK_EQ(s->skipped, dropped + unplayed);   /* the first and last were played */
	CHECK_EQ(st->rx.frames_out, s->rx);
	CHECK_EQ(st->rx.lost, dropped + unplayed);
	CHECK_EQ(st->rx.reordered, rs->swapped);
	CHECK_EQ(st->rx.dropped + st->rx.bad + st->rx.resyncs, 0);
	if (r->mode == M_PLAIN) {
		/* duplicates reach RFC 3550's count, which takes them as received */
		CHECK_EQ(st->rx.dups, dups);
		CHECK_EQ(st->srtp_replay, 0);
		CHECK_EQ(st->rtp_recv, total - dropped + dups);
		CHECK_EQ(st->lost, (int64_t)dropped - (int64_t)dups);
	} else {
		/* SRTP's replay check stops them first */
		CHECK_EQ(st->srtp_replay, dups);
		CHECK_EQ(st->rx.dups, 0);
		CHECK_EQ(st->rtp_recv, total - dropped);
		CHECK_EQ(st->lost, dropped);
	}
	CHECK_EQ(st->rtp_sent, total);
	CHECK_EQ(st->ssrc_remote, rs->ssrc);
	CHECK_EQ(st->bad_packets + st->bad_rtp + st->wrong_pt + st->telephone_events, 0);
	CHECK_EQ(st->srtp_auth_fail + st->dtls_bad + st->before_secure, 0);
	CHECK_EQ(st->tx_before_ready + st->tx_ring_full + st->rx_ring_full + st->send_errors, 0);
	if (secs >= 3)
		CHECK(st->rtcp_sent >= 1 && st->rtcp_recv >= 1 && st->have_remote_report);
out:
	return err;
}

static bool a_stats(struct et *t)
{
	return t->s[0].stats || ek_ended(&t->s[0]);
}

static int lossy(enum mode mode)
{
	unsigned secs = ek_seconds(), total = secs * 50;
	struct rt *r = NULL;
	struct et *t;
	int64_t b_lost;
	int err;

	TEST_ERR(setup(&r, mode, total, NULL));
	t = &r->t;
	relay_set_impair(r->rl, RELAY_AB, &script);
	relay_set_impair(r->rl, RELAY_BA, &script);
	TEST_ERR(stream(r, total));
	for (int i = 0; i < 2; i++)
		TEST_ERR(check_lossy(r, &t->s[i], secs));
	/* B's last report (with its BYE) tells A what B lost of A's stream */
	b_lost = t->s[1].st.lost;
	ek_release_call(&t->s[1]);
	TEST_ERR(ek_run(t, ek_never, 300));
	t->s[0].stats = 0;
	TEST_ERR(-mcall_request_stats(t->s[0].c));
	TEST_ERR(ek_run(t, a_stats, 2000));
	CHECK(!t->expired && !ek_ended(&t->s[0]));
	CHECK(t->s[0].st.have_remote_report);
	CHECK_EQ(t->s[0].st.remote_lost, b_lost);
out:
	teardown(r);
	return err;
}

int test_engine_relay_lossy_dtls(void)
{
	return lossy(M_DTLS);
}

int test_engine_relay_lossy_sdes(void)
{
	return lossy(M_SDES);
}

int test_engine_relay_lossy_plain(void)
{
	return lossy(M_PLAIN);
}

/* --- bad input --- */

static void inject(struct rt *r, const uint8_t *p, size_t len)
{
	if (!r->inject_err)
		r->inject_err = relay_send(r->rl, RELAY_AB, p, len);
}

/* A copy of packet p with byte i xored with x, sent ahead of it. */
static void inject_altered(struct rt *r, const uint8_t *p, size_t len, size_t i, uint8_t x)
{
	uint8_t b[1500];

	if (len > sizeof(b) || i >= len) {
		r->inject_err = EINVAL;
		return;
	}
	memcpy(b, p, len);
	b[i] ^= x;
	inject(r, b, len);
}

/* Datagrams that carry no media: each is counted and dropped, in any mode. */
static void inject_junk(struct rt *r, unsigned k, const uint8_t *p)
{
	uint8_t b[2100];

	memset(b, 0, sizeof(b));
	switch (k) {
	case 10:   /* RTP cut to 8 bytes */
		memcpy(b, p, 8);
		inject(r, b, 8);
		r->want.bad_rtp++;
		break;
	case 12:   /* an RR whose length says 32 bytes, in 8 */
		memcpy(b, "\x81\xc9\x00\x07\x01\x02\x03\x04", 8);
		inject(r, b, 8);
		r->want.bad_rtp++;
		break;
	case 22:   /* a DTLS datagram over the MTU: one 2087-byte record */
		memcpy(b, "\x17\xfe\xfd\x00\x01\x00\x00\x00\x00\x00\x09\x08\x27", 13);
		inject(r, b, 2100);
		r->want.dtls_bad++;
		break;
	case 24:   /* a DTLS record header that says 2000 bytes, in 40 */
		memcpy(b, "\x16\xfe\xfd\x00\x00\x00\x00\x00\x00\x00\x00\x07\xd0", 13);
		inject(r, b, 40);
		r->want.dtls_bad++;
		break;
	case 26:   /* first bytes no protocol of RFC 7983 has, and ZRTP and TURN */
		memset(b, 0xff, 40);
		inject(r, b, 40);
		b[0] = 100;
		inject(r, b, 40);
		memcpy(b, "\x10\x00\x00\x00ZRTP", 8);
		inject(r, b, 40);
		memcpy(b, "\x40\x00\x00\x04\x01\x02\x03\x04", 8);
		inject(r, b, 8);
		r->want.bad_packets += 4;
		break;
	}
}

/* The relay's hook, towards B: media that is wrong in one way each. */
static void on_rtp_bad(struct relay *rl, unsigned dir, unsigned k, const uint8_t *p, size_t len,
		       void *arg)
{
	struct rt *r = arg;
	bool srtp = r->mode != M_PLAIN;

	(void)rl;
	if (dir != RELAY_AB)
		return;
	inject_junk(r, k, p);
	switch (k) {
	case 8:
		if (len > sizeof(r->saved)) {
			r->inject_err = EINVAL;
			break;
		}
		memcpy(r->saved, p, len);
		r->saved_len = len;
		break;
	case 14:   /* packet 8 again, verbatim */
		inject(r, r->saved, r->saved_len);
		if (srtp)
			r->want.replay++;
		else
			r->want.dups++;
		break;
	case 16:   /* a payload byte flipped: only SRTP can tell */
		if (!srtp)
			break;
		inject_altered(r, p, len, 12, 0x01);
		r->want.auth++;
		break;
	case 18:   /* payload type 0, then telephone-event (SRTP: the header is signed) */
		inject_altered(r, p, len, 1, (uint8_t)((p[1] & 0x7f) ^ 0));
		inject_altered(r, p, len, 1, (uint8_t)((p[1] & 0x7f) ^ TE_PT));
		if (srtp) {
			r->want.auth += 2;
		} else {
			r->want.wrong_pt++;
			r->want.te++;
		}
		break;
	}
}

static int bad_input(enum mode mode)
{
	unsigned secs = ek_seconds(), total = secs * 50;
	const struct mcall_stats *st;
	const struct want *w;
	struct rt *r = NULL;
	struct et *t;
	int err;

	TEST_ERR(setup(&r, mode, total, on_rtp_bad));
	t = &r->t;
	w = &r->want;
	TEST_ERR(stream(r, total));
	TEST_ERR(r->inject_err);
	CHECK(w->bad_rtp && w->dtls_bad && w->bad_packets);
	for (int i = 0; i < 2; i++) {
		struct side *s = &t->s[i];
		CHECK(!s->bad && !ek_ended(s) && s->media == 1);
		CHECK_EQ(s->rx, total);
		CHECK_EQ(s->bad_frames + s->bad_ts + s->skipped, 0);
		CHECK_EQ(s->st.rx.frames_out, total);
		CHECK_EQ(s->st.rx.lost + s->st.rx.late + s->st.rx.dropped + s->st.rx.bad, 0);
		CHECK_EQ(relay_stats(r->rl, dir_to(t, s))->bad, 0);
	}
	st = &t->s[1].st;
	CHECK_EQ(st->bad_rtp, w->bad_rtp);
	CHECK_EQ(st->srtp_replay, w->replay);
	CHECK_EQ(st->srtp_auth_fail, w->auth);
	CHECK_EQ(st->dtls_bad, w->dtls_bad);
	CHECK_EQ(st->bad_packets, w->bad_packets);
	CHECK_EQ(st->wrong_pt, w->wrong_pt);
	CHECK_EQ(st->telephone_events, w->te);
	CHECK_EQ(st->rx.dups, w->dups);
	CHECK_EQ(st->before_secure, 0);
	/* a replay in plain RTP is a duplicate, which RFC 3550 counts */
	CHECK_EQ(st->rtp_recv, total + w->dups);
	CHECK_EQ(st->lost, -(int64_t)w->dups);
	st = &t->s[0].st;
	CHECK_EQ(st->bad_rtp + st->srtp_replay + st->srtp_auth_fail + st->dtls_bad, 0);
	CHECK_EQ(st->bad_packets + st->wrong_pt + st->telephone_events + st->rx.dups, 0);
	CHECK_EQ(st->rtp_recv, total);
	CHECK_EQ(st->lost, 0);
out:
	teardown(r);
	return err;
}

int test_engine_relay_bad_dtls(void)
{
	return bad_input(M_DTLS);
}

int test_engine_relay_bad_plain(void)
{
	return bad_input(M_PLAIN);
}

/* --- another SSRC --- */

/* Copies of real packets under another SSRC, each ahead of the real one:
 * one alone, then two in sequence with the real ones between. */
static void on_rtp_foreign(struct relay *rl, unsigned dir, unsigned k, const uint8_t *p,
			   size_t len, void *arg)
{
	struct rt *r = arg;

	(void)rl;
	if (dir != RELAY_AB || (k != 15 && k != 40 && k != 41))
		return;
	inject_altered(r, p, len, 8, 0x5a);
	r->want.foreign++;
}

int test_engine_relay_foreign_ssrc(void)
{
	unsigned secs = ek_seconds(), total = secs * 50;
	const struct mcall_stats *st;
	struct rt *r = NULL;
	struct et *t;
	int err;

	TEST_ERR(setup(&r, M_PLAIN, total, on_rtp_foreign));
	t = &r->t;
	TEST_ERR(stream(r, total));
	TEST_ERR(r->inject_err);
	st = &t->s[1].st;
	CHECK(!t->s[1].bad && !ek_ended(&t->s[1]));
	CHECK_EQ(t->s[1].bad_frames + t->s[1].bad_ts, 0);
	CHECK_EQ(t->s[1].rx, total);
	CHECK_EQ(t->s[1].skipped, 0);
	CHECK_EQ(st->ssrc_remote, relay_stats(r->rl, RELAY_AB)->ssrc);
	CHECK_EQ(st->foreign_ssrc, r->want.foreign);
	CHECK_EQ(relay_stats(r->rl, RELAY_AB)->injected, r->want.foreign);
	CHECK_EQ(st->rx.resyncs + st->rx.late + st->rx.lost, 0);
	CHECK_EQ(st->lost, 0);
	CHECK_EQ(st->rtp_recv, total);
	CHECK_EQ(t->s[0].st.foreign_ssrc, 0);
out:
	teardown(r);
	return err;
}

/* --- the peer restarts its stream --- */

/* After an SSRC change the jitter buffer times the first frame by its
 * ticks (repack.h), so B's RTMP times may move by whole frames there
 * (either way: 20 ms per tick since the last frame, which may be less
 * than the frame lost at the change).  The shift is learnt from the first
 * frame after the change (B played switch_at before it): the nearest
 * whose bytes match a later frame.  Then every frame must keep it. */
static void on_audio_switch(struct side *s, uint32_t ts, const uint8_t *b, size_t len)
{
	struct rt *r = s->t->arg;

	if (s != &s->t->s[1]) {
		ek_check_frame(s, ts, b, len);
		return;
	}
	for (int32_t d = 0; !r->shift_known && s->rx == r->switch_at && d <= 100; d += 20) {
		for (int sign = 1; sign >= -1 && !r->shift_known; sign -= 2) {
			uint32_t i = (ts - (uint32_t)(sign * d)) / 20;
			if (i > r->switch_at && ek_frame_is(s->t, i, b, len)) {
				r->shift = sign * d;
				r->shift_known = true;
			}
		}
	}
	ek_check_frame(s, ts - (uint32_t)r->shift, b, len);
}

/* A's stream goes on under another SSRC from the middle on: B takes the
 * new source after SRC_PROBATION (2) packets, so it loses the first
 * frame of it and nothing else. */
int test_engine_relay_ssrc_change(void)
{
	unsigned secs = ek_seconds(), total = secs * 50;
	struct relay_impair imp = {.ssrc_xor = 0x01020304};
	const struct mcall_stats *st;
	struct side *B;
	struct rt *r = NULL;
	int err;

	TEST_ERR(setup(&r, M_PLAIN, total, NULL));
	B = &r->t.s[1];
	r->switch_at = imp.ssrc_from = total / 2;
	relay_set_impair(r->rl, RELAY_AB, &imp);
	r->t.audio = on_audio_switch;
	TEST_ERR(stream(r, total));
	st = &B->st;
	if (getenv("RX_TEST_VERBOSE"))
		fprintf(stderr, "  B: RTMP times moved by %d ms at the change\n", r->shift);
	CHECK(!B->bad && !ek_ended(B) && r->shift_known);
	CHECK_EQ(B->bad_frames + B->bad_ts, 0);
	CHECK_EQ(B->rx, total - 1);
	CHECK_EQ(B->skipped, 1);
	CHECK(!B->got[r->switch_at]);
	CHECK_EQ(st->foreign_ssrc, 1);
	CHECK_EQ(st->ssrc_remote, relay_stats(r->rl, RELAY_AB)->ssrc ^ imp.ssrc_xor);
	CHECK_EQ(st->rtp_recv, total - 1);
	CHECK_EQ(st->rx.resyncs, 1);
	CHECK_EQ(st->rx.late + st->rx.dropped, 0);
	/* RFC 3550 statistics start over with the new source */
	CHECK_EQ(st->lost, 0);
	CHECK_EQ(r->t.s[0].rx, total);
	CHECK_EQ(r->t.s[0].bad_frames + r->t.s[0].bad_ts + r->t.s[0].skipped, 0);
out:
	teardown(r);
	return err;
}
