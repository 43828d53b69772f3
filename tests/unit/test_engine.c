/* Tests for media/engine*.c on the harness of engine_kit.h: two engines
 * (two media threads) in one process, connected straight over loopback
 * ICE, sending reference frames both ways at real time.  Every frame must
 * come out byte for byte and in order, RTMP timestamps 20 ms apart from 0,
 * and the stats must show every packet sent and none lost or bad; while
 * audio flows nothing is allocated, on either thread.  Also: a wrong
 * fingerprint on either side, calls and engines released mid-stream (from
 * handlers too), rings of two slots (every overflow path), and garbage
 * from the peer's address (a raw socket; skipped without CAP_NET_RAW).
 * test_engine_relay.c runs the same calls through a lossy relay.
 *
 * Each streaming test runs RX_ENGINE_SECONDS (default 3) of audio; RTCP
 * (its first report comes 2.5 s after media is up) is checked from 3 s,
 * the round-trip time (which needs a second report) from 8 s. */
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <sys/socket.h>
#include "engine_kit.h"
#include "mem.h"

static int check_side(const struct side *s, unsigned total, unsigned secs)
{
	const struct mcall_stats *st = &s->st;
	int err = 0;

	ek_log_side(s);
	CHECK(!s->bad && !s->failed && !s->sec_err && !s->consent);
	CHECK_EQ(s->media, 1);
	CHECK(s->connected == 1 && s->gathered == 1 && s->ncand >= 1);
	CHECK_EQ(s->rx, total);
	CHECK_EQ(s->bad_frames + s->bad_ts + s->skipped, 0);
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

/* Connect, stream both ways, check both sides. */
static int stream(enum mode mode, unsigned ncomp, bool mux, unsigned secs)
{
	struct et *t = mem_zalloc(sizeof(*t), NULL);
	struct mem_stat m0, m1;
	int err;

	if (!t)
		return ENOMEM;
	TEST_ERR(ek_setup(t));
	TEST_ERR(ek_start_calls(t, mode, ncomp, mux, 0));
	TEST_ERR(ek_connect(t, mode));
	ek_send(t, secs * 50);
	mem_get_stat(&m0);
	TEST_ERR(ek_run(t, ek_all_received, secs * 1000ull + DRAIN_MS));
	mem_get_stat(&m1);
	CHECK(!t->expired);
	t->sending = false;
	/* nothing allocated per packet, on either thread, RTCP included */
	CHECK_EQ(m1.allocs - m0.allocs, 0);
	TEST_ERR(ek_fresh_stats(t));
	for (int i = 0; i < 2; i++)
		TEST_ERR(check_side(&t->s[i], t->total, secs));
out:
	ek_teardown(t);
	mem_deref(t);
	return err;
}

int test_engine_dtls(void)
{
	return stream(M_DTLS, 1, false, ek_seconds());
}

/* Two components, RTCP on the second with its own DTLS session. */
int test_engine_dtls_2comp(void)
{
	return stream(M_DTLS, 2, false, ek_seconds());
}

int test_engine_sdes(void)
{
	return stream(M_SDES, 2, false, ek_seconds());
}

/* rtcp-mux agreed after the call was made with two components. */
int test_engine_plain(void)
{
	return stream(M_PLAIN, 2, true, ek_seconds());
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
	TEST_ERR(ek_setup(t));
	TEST_ERR(ek_start_calls(t, M_DTLS, 1, false, bad_fp));
	TEST_ERR(ek_run(t, sec_done, SETUP_MS));
	CHECK(!t->expired);
	TEST_ERR(ek_run(t, ek_never, 300));
	CHECK_EQ(checker->sec_err, 1);
	CHECK_EQ(checker->media, 0);
	CHECK(checker->connected == 1 && !checker->failed && !checker->bad);
	CHECK(!checker->other->sec_err && !checker->other->bad);
	/* after the end, audio is dropped and counted */
	TEST_ERR(-mcall_send_audio(checker->c, 0, (const uint8_t *)"\xb6\x01", 2));
	CHECK_EQ(mcall_stats(checker->c)->tx_before_ready, 1);
out:
	ek_teardown(t);
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
	return t->s[0].gone || ek_ended(&t->s[0]) || ek_ended(&t->s[1]);
}

static bool b_gone(struct et *t)
{
	return t->s[1].gone || ek_ended(&t->s[1]);
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
	TEST_ERR(ek_setup(t));
	TEST_ERR(ek_start_calls(t, M_PLAIN, 1, false, 0));
	TEST_ERR(ek_connect(t, M_PLAIN));
	CHECK(mengine_calls(t->s[0].e) == 1 && mengine_calls(t->s[1].e) == 1);
	t->s[0].free_call_at = 25;
	ek_send(t, 1000);
	TEST_ERR(ek_run(t, a_gone, 5000));
	CHECK(!t->expired && t->s[0].gone);
	/* B goes on sending to A's released call meanwhile */
	TEST_ERR(ek_run(t, ek_never, 300));
	CHECK(!t->s[0].bad && !t->s[1].bad);
	CHECK_EQ(t->s[0].rx, 25);
	CHECK_EQ(mengine_calls(t->s[0].e), 0);
	/* B has stopped hearing A; now B goes, from its STATS handler */
	t->s[1].free_on_stats = true;
	TEST_ERR(-mcall_request_stats(t->s[1].c));
	TEST_ERR(ek_run(t, b_gone, 2000));
	CHECK(!t->expired && t->s[1].gone);
	t->sending = false;
	TEST_ERR(ek_run(t, ek_never, 300));
	CHECK(!t->s[0].bad && !t->s[1].bad);
	CHECK_EQ(mengine_calls(t->s[1].e), 0);
	/* each call's own block, its shared block, its two rings, and its
	 * media side are gone already: the engines are still up */
	mem_get_stat(&ms);
	CHECK(ms.blocks + 8 <= t->s[1].blocks_at_free);
out:
	ek_teardown(t);
	mem_deref(t);
	return err;
}

static bool b_engine_gone(struct et *t)
{
	return t->s[1].engine_gone || ek_ended(&t->s[0]) || ek_ended(&t->s[1]);
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
	TEST_ERR(ek_setup(t));
	TEST_ERR(ek_start_calls(t, M_SDES, 1, false, 0));
	TEST_ERR(ek_connect(t, M_SDES));
	t->s[1].free_engine_at = 30;
	ek_send(t, 1000);
	TEST_ERR(ek_run(t, b_engine_gone, 5000));
	CHECK(!t->expired && t->s[1].engine_gone);
	TEST_ERR(ek_run(t, ek_never, 300));
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
	TEST_ERR(ek_run(t, ek_never, 100));
	CHECK(!t->s[0].bad);
	CHECK_EQ(mcall_gather(t->s[0].c), -ESHUTDOWN);
out:
	ek_teardown(t);
	mem_deref(t);
	return err;
}

static bool flooded(struct et *t)
{
	return (t->s[0].rx >= t->total && t->s[1].rx >= t->total && t->s[0].stats >= 40 &&
		t->s[1].stats >= 40) || ek_ended(&t->s[0]) || ek_ended(&t->s[1]);
}

/* Command and event rings of two slots: candidates, events, stats and the
 * audio notices keep finding them full, so messages wait in nodes, audio
 * is found by rescanning, and CLOSE waits in its own node.  Audio rings of
 * the smallest size (8 KiB, which still takes the longest message): they
 * wrap every hundred messages.  Nothing may be lost or reordered. */
int test_engine_tiny_rings(void)
{
	struct mengine_config cfg = ek_loopback;
	struct et *t = mem_zalloc(sizeof(*t), NULL);
	struct mengine *e = NULL;
	struct mem_stat ms;
	int err;

	if (!t)
		return ENOMEM;
	cfg.ctl_slots = 2;
	cfg.audio_ring = 8192;
	TEST_ERR(ek_setup_cfg(t, &cfg));
	/* smaller, or not a power of two: refused */
	for (unsigned i = 0; i < 2; i++) {
		struct mengine_config bad = cfg;
		bad.audio_ring = i ? 12288 : 4096;
		CHECK_EQ(mengine_alloc(&e, t->loop, &bad), -EINVAL);
	}
	TEST_ERR(ek_start_calls(t, M_SDES, 1, false, 0));
	TEST_ERR(ek_connect(t, M_SDES));
	for (int n = 0; n < 40; n++)
		for (int i = 0; i < 2; i++)
			TEST_ERR(-mcall_request_stats(t->s[i].c));
	ek_send(t, 50);
	TEST_ERR(ek_run(t, flooded, 1000 + DRAIN_MS));
	CHECK(!t->expired);
	t->sending = false;
	for (int i = 0; i < 2; i++) {
		struct side *s = &t->s[i];
		CHECK(!ek_ended(s) && s->media == 1);
		CHECK_EQ(s->rx, t->total);
		CHECK_EQ(s->bad_frames + s->bad_ts + s->skipped, 0);
	}
	/* release A behind a queue of commands */
	for (int n = 0; n < 20; n++)
		TEST_ERR(-mcall_request_stats(t->s[0].c));
	ek_release_call(&t->s[0]);
	TEST_ERR(ek_run(t, ek_never, 300));
	CHECK(!t->s[0].bad && !t->s[1].bad);
	CHECK_EQ(mengine_calls(t->s[0].e), 0);
	mem_get_stat(&ms);
	CHECK(ms.blocks + 8 <= t->s[0].blocks_at_free);
out:
	ek_teardown(t);
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
	TEST_ERR(ek_setup(t));
	TEST_ERR(ek_start_calls(t, M_PLAIN, 1, false, 0));
	TEST_ERR(ek_connect(t, M_PLAIN));
	CHECK(t->s[0].cand.port && t->s[1].cand.port);
	t->inject = inject_garbage;
	t->inject_at = 20;
	ek_send(t, 75);
	TEST_ERR(ek_run(t, ek_all_received, 1500 + DRAIN_MS));
	CHECK(!t->expired);
	t->sending = false;
	TEST_ERR(t->inject_err);
	CHECK(!t->inject);
	TEST_ERR(ek_fresh_stats(t));
	for (int i = 0; i < 2; i++) {
		struct side *s = &t->s[i];
		CHECK(!ek_ended(s));
		CHECK_EQ(s->rx, t->total);
		CHECK_EQ(s->bad_frames + s->bad_ts + s->skipped, 0);
		CHECK_EQ(s->st.rtp_sent, t->total);
		CHECK_EQ(s->st.rtp_recv, t->total);
		CHECK_EQ(s->st.lost, 0);
	}
	st = &t->s[1].st;
	ek_log_side(&t->s[1]);
	CHECK_EQ(st->telephone_events, 1);
	CHECK(st->wrong_pt >= 1 && st->bad_rtp >= 3 && st->bad_packets >= 3 && st->dtls_bad >= 1);
	CHECK(st->rtcp_recv >= 1);
	/* every datagram went somewhere: each one of the first byte's RTP and
	 * RTCP range (64 of the random ones) was counted */
	CHECK(st->wrong_pt + st->bad_rtp + st->rtcp_recv + st->telephone_events >= 64 + 6);
	CHECK_EQ(t->s[0].st.bad_packets + t->s[0].st.bad_rtp + t->s[0].st.wrong_pt, 0);
out:
	ek_teardown(t);
	mem_deref(t);
	close(raw_fd);
	raw_fd = -1;
	return err;
}
