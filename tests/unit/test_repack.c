/* Tests for media/repack.c (RTMP -> RTP): the timestamp rule of repack.h
 * case by case, bad input, and that nothing is allocated per packet in
 * either direction, counted at two levels: mem blocks (base/mem.h) and,
 * outside sanitizer builds, every malloc, calloc and realloc of the
 * process, which is what speexdsp would use.  The round trips over the
 * vectors are in test_repack_vec.c. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <speex/speex_jitter.h>
#include "flv.h"
#include "jitter_util.h"
#include "mem.h"
#include "repack.h"
#include "rtp.h"
#include "speex.h"
#include "test.h"

#if defined(__SANITIZE_ADDRESS__)
#define NO_LIBC_COUNT 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define NO_LIBC_COUNT 1
#endif
#endif

#ifndef NO_LIBC_COUNT
/* Count the C library's allocations (glibc exports its allocator as
 * __libc_*; the sanitizers bring their own malloc, so not there). */
extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t n);
static atomic_ulong libc_allocs;

void *malloc(size_t n)
{
	atomic_fetch_add_explicit(&libc_allocs, 1, memory_order_relaxed);
	return __libc_malloc(n);
}

void *calloc(size_t n, size_t size)
{
	atomic_fetch_add_explicit(&libc_allocs, 1, memory_order_relaxed);
	return __libc_calloc(n, size);
}

void *realloc(void *p, size_t n)
{
	atomic_fetch_add_explicit(&libc_allocs, 1, memory_order_relaxed);
	return __libc_realloc(p, n);
}

static unsigned long libc_count(void)
{
	return atomic_load(&libc_allocs);
}
#else
static unsigned long libc_count(void)
{
	return 0;
}
#endif

#define MAX_PKT 64

/* What repack_tx_push sent. */
static struct txout {
	unsigned n;
	uint32_t ts[MAX_PKT];
	uint16_t seq[MAX_PKT];
	bool marker[MAX_PKT];
	bool bad;
} tx;

static void on_pkt(const struct rtp_hdr *h, const uint8_t *p, size_t len, void *arg)
{
	struct speex_frame f[2];
	struct rtp_hdr g;

	(void)arg;
	if (rtp_parse(&g, p, len) || g.pt != h->pt || g.ts != h->ts || g.seq != h->seq ||
	    g.marker != h->marker || speex_walk(g.payload, g.plen, f, 2, NULL) != 1)
		tx.bad = true;
	if (tx.n < MAX_PKT) {
		tx.ts[tx.n] = g.ts;
		tx.seq[tx.n] = g.seq;
		tx.marker[tx.n++] = g.marker;
	}
}

/* A message of n frames, numbered from id, bit-packed; returns its length. */
static size_t mkmsg(uint8_t *b, size_t cap, uint32_t id, unsigned n)
{
	uint8_t fr[REPACK_MAX_FPP][6];
	const uint8_t *in[REPACK_MAX_FPP];
	size_t lens[REPACK_MAX_FPP];

	for (unsigned i = 0; i < n; i++) {
		lens[i] = jb_mkframe(fr[i], id + i);
		in[i] = fr[i];
	}
	b[0] = FLV_SPEEX_FFMPEG;
	return 1 + (size_t)speex_pack(in, lens, (int)n, b + 1, cap - 1);
}

struct tx_case {
	uint32_t ms[8];            /* RTMP time of each message */
	uint8_t frames[8];         /* its frames (0: the list ends) */
	uint32_t want[16];         /* RTP time of each frame, in frames from the first */
	const char *marker;        /* of each frame */
	uint32_t gaps, resyncs;
};

static const struct tx_case cases[] = {
	/* contiguous */
	{{0, 20, 40, 60}, {1, 1, 1, 1}, {0, 1, 2, 3}, "1000", 0, 0},
	/* VAD/DTX: 140 ms of silence keeps its length, marker after it */
	{{0, 20, 40, 200}, {1, 1, 1, 1}, {0, 1, 2, 10}, "1001", 7, 0},
	/* RTMP clock jitter under half a frame: no gap */
	{{0, 29, 31, 69, 71}, {1, 1, 1, 1, 1}, {0, 1, 2, 3, 4}, "10000", 0, 0},
	/* half a frame late is a gap of one */
	{{0, 30}, {1, 1}, {0, 2}, "11", 1, 0},
	/* fpp 2 stamped 20 ms apart: the clock runs behind the frames; a
	 * later gap is measured from the last message */
	{{0, 20, 40, 60, 200}, {2, 2, 2, 2, 2}, {0, 1, 2, 3, 4, 5, 6, 7, 13, 14},
	 "1000000010", 5, 0},
	/* from 0xffffff00 ms across 2^32, two frames a message */
	{{0xffffff00u, 0xffffff28u, 0xffffff50u, 0xffffff78u, 0xffffffa0u, 0xffffffc8u,
	  0xfffffff0u, 0x18}, {2, 2, 2, 2, 2, 2, 2, 2},
	 {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}, "1000000000000000", 0, 0},
	/* 2^32 ms wrap, then a 96 ms gap across it */
	{{0xffffffc4u, 0xffffffd8u, 0xffffffecu, 0, 0x14, 0x78}, {1, 1, 1, 1, 1, 1},
	 {0, 1, 2, 3, 4, 9}, "100001", 4, 0},
	/* extended timestamps (above 0xffffff) are plain 32-bit times */
	{{0xffffec, 0x1000000, 0x1000014, 0x1000028}, {1, 1, 2, 1}, {0, 1, 2, 3, 4},
	 "10000", 0, 0},
	/* backwards: re-anchor, contiguous, marker; later times from there */
	{{1000, 1020, 500, 520, 600}, {1, 1, 1, 1, 1}, {0, 1, 2, 3, 7}, "10101", 3, 1},
	/* more than 10 s forward: the same */
	{{0, 20, 20040, 20060}, {1, 1, 1, 1}, {0, 1, 2, 3}, "1010", 0, 1},
	/* exactly 10 s: a silence of 499 frames */
	{{0, 20, 10020}, {1, 1, 1}, {0, 1, 501}, "101", 499, 0},
	/* 3 frames stamped as 1: the third message re-anchors nothing */
	{{0, 20, 40}, {3, 3, 1}, {0, 1, 2, 3, 4, 5, 6}, "1000000", 0, 0},
};

static int run_case(const struct tx_case *c)
{
	struct repack_stats st;
	struct rtmp2rtp *t;
	uint8_t b[64];
	unsigned k = 0;
	int err = repack_tx_alloc(&t, 97, 0x5eed);

	if (err)
		return -err;
	memset(&tx, 0, sizeof(tx));
	for (unsigned i = 0; i < 8 && c->frames[i] && !err; i++) {
		size_t len = mkmsg(b, sizeof(b), k, c->frames[i]);
		if (repack_tx_push(t, c->ms[i], b, len, on_pkt, NULL) != c->frames[i])
			err = EBADMSG;
		k += c->frames[i];
	}
	repack_tx_stats(t, &st);
	TEST_EQ(repack_tx_rtp(t)->ssrc, 0x5eed);
	mem_deref(t);
	TEST_EQ(err, 0);
	TEST_ASSERT(!tx.bad);
	TEST_EQ(tx.n, k);
	for (unsigned i = 0; i < k; i++) {
		TEST_EQ(tx.ts[i] - tx.ts[0], 320 * c->want[i]);
		TEST_EQ((uint16_t)(tx.seq[i] - tx.seq[0]), i);
		TEST_EQ(tx.marker[i], c->marker[i] == '1');
	}
	TEST_EQ(st.gaps, c->gaps);
	TEST_EQ(st.resyncs, c->resyncs);
	TEST_EQ(st.frames_in, k);
	TEST_EQ(st.frames_out, k);
	return 0;
}

int test_repack_tx_timestamps(void)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int err = run_case(&cases[i]);
		if (err) {
			if (err == EBADMSG)   /* not an injected allocation failure */
				fprintf(stderr, "  case %zu\n", i);
			return err;
		}
	}
	return 0;
}

static void free_now(const struct rtp_hdr *h, const uint8_t *p, size_t len, void *arg)
{
	struct rtmp2rtp **tp = arg;

	(void)h;
	(void)p;
	(void)len;
	*tp = mem_deref(*tp);
}

static void put_bits(uint8_t *p, size_t *bit, uint32_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++, (*bit)++)
		if (v >> (n - 1 - i) & 1)
			p[*bit / 8] |= (uint8_t)(0x80 >> *bit % 8);
}

/* A frame longer than REPACK_FRAME_MAX: 20 user messages (mode 13, 15
 * bytes each) before a narrowband mode 1 frame. */
static size_t mkhuge(uint8_t *b)
{
	size_t bit = 0;
	uint8_t *p = b + 1;

	memset(b, 0, 400);
	b[0] = FLV_SPEEX_FLASH;
	for (int m = 0; m < 20; m++) {
		put_bits(p, &bit, 0x0d, 5);
		put_bits(p, &bit, 15, 4);
		bit += 5 + 8 * 15;
	}
	put_bits(p, &bit, 1, 5);
	bit += 38;
	put_bits(p, &bit, 8, 4);
	if (bit % 8)
		bit++;   /* padding: a 0, then 1s */
	while (bit % 8)
		put_bits(p, &bit, 1, 1);
	return 1 + bit / 8;
}

int test_repack_tx_bad(void)
{
	static const uint8_t mp3[] = {0x2f, 0xff, 0xfb}, junk[] = {0xb2, 0xff, 0x00, 0x12};
	static const uint8_t term[] = {0xb6, 0x7b};   /* a terminator alone */
	struct repack_stats st;
	struct rtmp2rtp *t;
	uint8_t b[400];
	size_t len;
	int err;

	TEST_EQ(repack_tx_alloc(&t, 128, 0), -EINVAL);
	TEST_EQ(repack_tx_alloc(NULL, 97, 0), -EINVAL);
	err = repack_tx_alloc(&t, 97, 0);
	if (err)
		return -err;
	memset(&tx, 0, sizeof(tx));
	TEST_EQ(repack_tx_push(t, 0, mp3, sizeof(mp3), on_pkt, NULL), -EPROTONOSUPPORT);
	TEST_EQ(repack_tx_push(t, 0, junk, sizeof(junk), on_pkt, NULL), -EBADMSG);
	TEST_EQ(repack_tx_push(t, 0, junk, 0, on_pkt, NULL), -ENODATA);
	TEST_EQ(repack_tx_push(t, 0, term, sizeof(term), on_pkt, NULL), 0);
	TEST_EQ(repack_tx_push(NULL, 0, term, sizeof(term), on_pkt, NULL), -EINVAL);
	len = mkmsg(b, sizeof(b), 0, 1);
	TEST_EQ(repack_tx_push(t, 40, b, len, on_pkt, NULL), 1);
	TEST_EQ(repack_tx_push(t, 60, b, len, NULL, NULL), 1);   /* no handler: counted only */
	len = mkhuge(b);
	TEST_ASSERT(len > REPACK_FRAME_MAX);
	TEST_EQ(repack_tx_push(t, 80, b, len, on_pkt, NULL), 0);   /* its slot stays empty */
	len = mkmsg(b, sizeof(b), 1, 1);
	TEST_EQ(repack_tx_push(t, 100, b, len, on_pkt, NULL), 1);
	repack_tx_stats(t, &st);
	TEST_EQ(st.bad, 3);
	TEST_EQ(st.dropped, 1);
	TEST_EQ(tx.n, 2);
	TEST_EQ(tx.ts[1] - tx.ts[0], 3 * 320);
	TEST_ASSERT(tx.marker[1]);
	/* 33 frames in one message (byte-padded) */
	for (unsigned i = 0; i < 33; i++)
		jb_mkframe(b + 1 + 6 * i, i);
	TEST_EQ(repack_tx_push(t, 120, b, 1 + 6 * 33, on_pkt, NULL), -E2BIG);
	len = mkmsg(b, sizeof(b), 0, 8);
	TEST_EQ(repack_tx_push(t, 140, b, len, on_pkt, NULL), 8);
	/* the handler frees the object: the rest of the message is not sent */
	TEST_EQ(repack_tx_push(t, 300, b, len, free_now, &t), 1);
	TEST_ASSERT(!t);
	return 0;
}

struct chain {
	struct rtp2rtmp *r;
	uint32_t now;
	unsigned pkts, msgs;
	bool bad;
};

static void count_msg(uint32_t ms, const uint8_t *b, size_t len, void *arg)
{
	struct chain *c = arg;

	(void)ms;
	if (len < 2 || b[0] != FLV_SPEEX_FLASH)
		c->bad = true;
	c->msgs++;
}

static void to_rx(const struct rtp_hdr *h, const uint8_t *p, size_t len, void *arg)
{
	struct chain *c = arg;
	struct rtp_hdr g;

	(void)h;
	if (rtp_parse(&g, p, len) || repack_rx_put(c->r, &g, c->now, count_msg, c) < 0)
		c->bad = true;
	c->pkts++;
}

/* 10,000 frames through both directions (messages of 1 and 2 frames, RTP,
 * the jitter buffer, messages of 2) allocate nothing: no mem block, and
 * no malloc, calloc or realloc anywhere in the process. */
int test_repack_no_alloc(void)
{
	struct repack_stats st;
	struct mem_stat a, b;
	struct rtmp2rtp *t;
	struct chain c;
	unsigned long la, lb;
	uint8_t msg[64];
	int err = repack_tx_alloc(&t, 97, 0);

	if (err)
		return -err;
	memset(&c, 0, sizeof(c));
	err = repack_rx_alloc(&c.r, FLV_SPEEX_FLASH, 2);
	if (err) {
		mem_deref(t);
		return -err;
	}
	mem_get_stat(&a);
	la = libc_count();
	for (uint32_t f = 0; f < 10000;) {
		unsigned n = (f / 100) % 2 + 1;
		size_t len = mkmsg(msg, sizeof(msg), f, n);

		c.now = 20 * f;
		if (repack_tx_push(t, 20 * f, msg, len, to_rx, &c) != (int)n)
			c.bad = true;
		for (unsigned k = 0; k < n; k++)
			if (repack_rx_tick(c.r, 20 * (f + k) + 10, count_msg, &c) < 0)
				c.bad = true;
		f += n;
	}
	lb = libc_count();
	mem_get_stat(&b);
	repack_rx_stats(c.r, &st);
	mem_deref(c.r);
	mem_deref(t);
	TEST_ASSERT(!c.bad);
	TEST_EQ(b.allocs, a.allocs);
	TEST_EQ(b.blocks, a.blocks);
	TEST_EQ(lb, la);
	TEST_EQ(c.pkts, 10000);
	TEST_EQ(st.frames_out, 10000);
	TEST_EQ(c.msgs, 5000);
	TEST_EQ(st.lost + st.late + st.dropped, 0);
#ifndef NO_LIBC_COUNT
	{
		/* and the counter sees speexdsp: without a destroy callback it
		 * copies every packet it is given into a block of its own */
		JitterBuffer *jb = jitter_buffer_init(320);
		JitterBufferPacket p;
		char frame[6] = {0};

		TEST_ASSERT(jb);
		memset(&p, 0, sizeof(p));
		p.data = frame;
		p.len = sizeof(frame);
		p.span = 320;
		la = libc_count();
		for (uint32_t i = 0; i < 100; i++) {
			p.timestamp = 320 * i;
			jitter_buffer_put(jb, &p);
		}
		lb = libc_count();
		jitter_buffer_destroy(jb);
		TEST_EQ(lb - la, 100);
	}
#endif
	return 0;
}
