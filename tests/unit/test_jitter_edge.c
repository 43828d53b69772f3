/* More tests for RTP -> RTMP (media/repack_rx.c, repack_play.c): frames
 * joined per message, clock drift, several frames per packet, timestamp
 * jumps, late or stalled ticks, a full pool, the object freed from its
 * handler, bad input.  Scripts as in test_jitter.c (jitter_util.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "flv.h"
#include "jitter_util.h"
#include "mem.h"
#include "repack.h"
#include "rtp.h"
#include "test.h"

/* Messages as "0-1,2-3,4,6-7": each range one message. */
static int expect_msgs(const char *groups)
{
	unsigned m = 0;

	while (*groups) {
		char *end;
		unsigned long a = strtoul(groups, &end, 10), b = a;

		if (*end == '-')
			b = strtoul(end + 1, &end, 10);
		TEST_ASSERT(m < jb_out.msgs);
		TEST_EQ(jb_out.id[jb_out.first[m]], a);
		TEST_EQ((m + 1 < jb_out.msgs ? jb_out.first[m + 1] : jb_out.n) - jb_out.first[m],
			b - a + 1);
		m++;
		groups = *end == ',' ? end + 1 : end;
	}
	TEST_EQ(jb_out.msgs, m);
	return 0;
}

/* fpp > 1: frames that follow each other share a message; a gap (loss or
 * silence) or the end of the stream sends a short one. */
int test_jitter_fpp(void)
{
	struct repack_stats st;

	jb_nev = 0;
	jb_stream(0, 19);
	jb_drop(7);
	TEST_EQ(jb_script(2, 10, "0-6,8-19", &st), 0);
	TEST_EQ(expect_msgs("0-1,2-3,4-5,6,8-9,10-11,12-13,14-15,16-17,18-19"), 0);
	TEST_EQ(st.frames_out, 19);
	TEST_EQ(st.msgs, 10);
	jb_nev = 0;
	jb_stream(0, 19);
	TEST_EQ(jb_script(3, 10, "0-19", &st), 0);
	TEST_EQ(expect_msgs("0-2,3-5,6-8,9-11,12-14,15-17,18-19"), 0);
	jb_nev = 0;
	for (uint32_t i = 0; i < 40; i++)   /* silence after frame 20 */
		jb_add(20 * (i < 21 ? i : i + 30), i < 21 ? i : i + 30, SSRC1,
		       (uint16_t)(SEQ0 + i), TS0 + 320 * (i < 21 ? i : i + 30));
	TEST_EQ(jb_script(8, 10, "0-20,51-69", &st), 0);
	TEST_EQ(expect_msgs("0-7,8-15,16-20,51-58,59-66,67-69"), 0);
	TEST_EQ(jb_out.max_frames, 8);
	return 0;
}

/* The sender's clock 1 % slow or fast against our ticks: late frames
 * still go out in order, early ones wait; nothing is lost. */
int test_jitter_drift(void)
{
	static const double rate[] = {1.01, 0.99, 1.001, 0.999};
	struct repack_stats st;

	for (unsigned k = 0; k < 4; k++) {
		jb_nev = 0;
		for (uint32_t i = 0; i < 3000; i++)
			jb_add((uint32_t)(20 * i * rate[k]), i, SSRC1, (uint16_t)(SEQ0 + i),
			       TS0 + 320 * i);
		TEST_EQ(jb_script(1, 10, "0-2999", &st), 0);
		TEST_EQ(st.lost + st.late + st.dropped, 0);
		TEST_ASSERT(st.delay_max_ms < (rate[k] > 1 ? 20u : 250u));
	}
	return 0;
}

/* RFC 5574 allows several frames per packet: each goes its own way. */
int test_jitter_multi(void)
{
	struct repack_stats st;

	jb_nev = 0;
	for (uint32_t i = 0; i < 100; i += 2) {
		jb_add(20 * i, i, SSRC1, (uint16_t)(SEQ0 + i / 2), TS0 + 320 * i);
		jb_ev[jb_nev - 1].frames = 2;
	}
	jb_drop(40);
	TEST_EQ(jb_script(1, 10, "0-39,42-99", &st), 0);
	TEST_EQ(st.frames_in, 98);
	TEST_EQ(st.lost, 1);   /* one packet */
	TEST_EQ(st.gaps, 2);   /* two frames */
	return 0;
}

/* A timestamp 10 s away from the playout point, same SSRC: a new timeline
 * once a second packet in sequence agrees (the first one is dropped); a
 * lone stray one is only dropped.  RTMP time goes on from the ticks. */
int test_jitter_jump(void)
{
	struct repack_stats st;

	for (int dir = -1; dir <= 1; dir += 2) {
		jb_nev = 0;
		jb_stream(0, 199);
		for (uint32_t i = 100; i < 200; i++)
			jb_find(i)->ts += (uint32_t)(dir * 160000);
		TEST_EQ(jb_script(1, 10, "0-99,101-199", &st), 0);
		TEST_EQ(st.dropped, 1);
		TEST_EQ(st.resyncs, 1);
		TEST_EQ(st.late + st.lost, 0);   /* 100 counts as dropped */
	}
	jb_nev = 0;
	jb_stream(0, 199);
	jb_find(100)->ts += 160000;
	TEST_EQ(jb_script(1, 10, "0-99,101-199", &st), 0);
	TEST_EQ(st.dropped, 1);
	TEST_EQ(st.resyncs, 0);
	return 0;
}

/* Ticks every 60 ms run three slots each; a 2 s stall starts over.  In
 * order, frames need no tick at all; those behind a missing frame (every
 * tenth is) wait for the tick that gives up on it. */
static int run_ticks(uint32_t tick_ms, struct repack_stats *st)
{
	struct rtp2rtmp *r;
	int err;

	jb_nev = 0;
	jb_stream(0, 299);
	for (uint32_t i = 5; i < 300; i += 10)
		jb_drop(i);
	err = repack_rx_alloc(&r, FLV_SPEEX_FLASH, 1);
	if (err)
		return -err;
	err = jb_run(r, 50, tick_ms);
	repack_rx_stats(r, st);
	mem_deref(r);
	return err;
}

int test_jitter_ticks(void)
{
	struct repack_stats st;
	char want[400];
	size_t len = 0;

	for (uint32_t i = 0; i <= 300; i += 10)   /* "0-4,6-14,...,296-299" */
		len += (size_t)snprintf(want + len, sizeof(want) - len, "%s%u-%u", i ? "," : "",
					i ? i - 4 : 0, i + 4 < 300 ? i + 4 : 299);
	TEST_EQ(run_ticks(60, &st), 0);
	TEST_EQ(jb_expect(want), 0);
	TEST_EQ(st.lost, 30);
	TEST_EQ(st.late + st.dropped, 0);
	/* a few frames per stall: the tick starts over, dropping what waited */
	TEST_EQ(run_ticks(2050, &st), 0);
	TEST_ASSERT(jb_out.n > 0 && jb_out.n < 20);
	TEST_ASSERT(st.resyncs > 0);
	return 0;
}

/* Nobody ticks.  Frames in order go out all the same; speexdsp keeps them
 * until its next get, so after REPACK_POOL frames it starts over, which
 * loses nothing.  With frame 1 missing the others wait: after REPACK_POOL
 * frames the buffer starts over, and keeps the newest. */
int test_jitter_pool(void)
{
	struct repack_stats st;

	jb_nev = 0;
	for (uint32_t i = 0; i < REPACK_POOL + 50; i++)
		jb_add(0, i, SSRC1, (uint16_t)(SEQ0 + i), TS0 + 320 * i);
	TEST_EQ(jb_script(1, 10, "0-149", &st), 0);
	TEST_EQ(st.dropped, 0);
	TEST_EQ(st.resyncs, 1);
	jb_nev = 0;
	for (uint32_t i = 0; i < REPACK_POOL + 50; i++)
		if (i != 1)
			jb_add(0, i, SSRC1, (uint16_t)(SEQ0 + i), TS0 + 320 * i);
	TEST_EQ(jb_script(1, 10, "0,101-149@-2000", &st), 0);
	TEST_EQ(st.dropped, REPACK_POOL - 1);
	TEST_EQ(st.resyncs, 1);
	return 0;
}

static void free_on_third(uint32_t ms, const uint8_t *b, size_t len, void *arg)
{
	struct rtp2rtmp **rp = arg;

	(void)b;
	(void)len;
	if (ms == 40)
		*rp = mem_deref(*rp);
}

/* The handler may free the object; the tick, or the put, stops there. */
int test_jitter_free_in_handler(void)
{
	struct rtp2rtmp *r;
	uint8_t pl[6];
	struct rtp_hdr h;
	uint16_t i;
	int err = repack_rx_alloc(&r, FLV_SPEEX_FFMPEG, 1);

	if (err)
		return -err;
	memset(&h, 0, sizeof(h));
	h.payload = pl;
	for (i = 0; i < 10; i++) {
		h.seq = i;
		h.ts = 320u * i;
		h.plen = jb_mkframe(pl, i);
		/* no handler: they wait for the tick */
		TEST_EQ(repack_rx_put(r, &h, 0, NULL, NULL), 0);
	}
	/* the first tick sends frame 0, and 1 and 2 in order behind it: the
	 * third message (frame 2, at 40 ms) frees the object */
	TEST_EQ(repack_rx_tick(r, 0, free_on_third, &r), 3);
	TEST_ASSERT(!r);
	err = repack_rx_alloc(&r, FLV_SPEEX_FFMPEG, 1);
	if (err)
		return -err;
	for (i = 0; r && i < 10; i++) {
		h.seq = i;
		h.ts = 320u * i;
		h.plen = jb_mkframe(pl, i);
		TEST_EQ(repack_rx_put(r, &h, 20u * i, free_on_third, &r), 1);
	}
	TEST_ASSERT(!r);
	TEST_EQ(i, 3);
	return 0;
}

int test_jitter_bad_input(void)
{
	static const uint8_t junk[] = {0xff, 0x00, 0x12};
	struct repack_stats st;
	struct rtp2rtmp *r;
	struct rtp_hdr h;
	int err;

	TEST_EQ(repack_rx_alloc(&r, 0x2f, 1), -EINVAL);    /* MP3 tag */
	TEST_EQ(repack_rx_alloc(&r, FLV_SPEEX_FLASH, REPACK_MAX_FPP + 1), -EINVAL);
	TEST_EQ(repack_rx_alloc(NULL, FLV_SPEEX_FLASH, 1), -EINVAL);
	err = repack_rx_alloc(&r, FLV_SPEEX_FLASH, 0);
	if (err)
		return -err;
	memset(&h, 0, sizeof(h));
	h.payload = junk;
	h.plen = sizeof(junk);
	TEST_EQ(repack_rx_put(r, &h, 0, NULL, NULL), -EBADMSG);
	h.plen = 0;
	TEST_EQ(repack_rx_put(r, &h, 0, NULL, NULL), 0);   /* no frame: nothing */
	TEST_EQ(repack_rx_put(r, NULL, 0, NULL, NULL), -EINVAL);
	TEST_EQ(repack_rx_put(NULL, &h, 0, NULL, NULL), -EINVAL);
	TEST_EQ(repack_rx_tick(NULL, 0, NULL, NULL), -EINVAL);
	TEST_EQ(repack_rx_tick(r, 0, NULL, NULL), 0);
	repack_rx_stats(r, &st);
	mem_deref(r);
	TEST_EQ(st.bad, 1);
	TEST_EQ(st.frames_in, 0);
	return 0;
}
