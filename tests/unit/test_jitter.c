/* Tests for media/repack_rx.c and repack_play.c (RTP -> RTMP through the
 * speexdsp jitter buffer): scripted arrivals (jitter_util.h), with the
 * RTMP output asserted exactly: which frames, in which order, at which
 * RTMP time (frame i at 20 i ms unless written otherwise), and for frames
 * in order, that they went out from repack_rx_put without waiting for a
 * tick. */
#include <stdio.h>
#include <string.h>
#include "jitter_util.h"
#include "repack.h"
#include "test.h"

int test_jitter_clean(void)
{
	static const uint32_t phase[] = {0, 10, 19};
	struct repack_stats st;

	for (unsigned i = 0; i < 3; i++) {
		jb_nev = 0;
		jb_stream(0, 499);
		TEST_EQ(jb_script(1, phase[i], "0-499", &st), 0);
		/* added delay: none, whatever the phase of the ticks */
		TEST_EQ(jb_expect_at_once(), 0);
		TEST_EQ(st.delay_max_ms, 0);
		TEST_EQ(st.msgs, 500);
		TEST_EQ(st.frames_in, 500);
		TEST_EQ(st.lost + st.late + st.dups + st.reordered + st.dropped + st.gaps, 0);
	}
	return 0;
}

/* A clean stream, frames joined by 1, 2, 3, 4 or 8 (96 is a multiple of
 * each), one or two frames per packet, ticks at any phase: every message
 * leaves from the repack_rx_put of its last frame, the ticks send nothing. */
int test_jitter_at_once(void)
{
	static const uint8_t fpp[] = {1, 2, 3, 4, 8};
	static const uint32_t phase[] = {0, 7, 19};
	struct repack_stats st;

	for (unsigned f = 0; f < sizeof(fpp); f++) {
		for (unsigned p = 0; p < sizeof(phase) / sizeof(phase[0]); p++) {
			for (uint8_t per = 1; per <= 2; per++) {
				jb_nev = 0;
				for (uint32_t i = 0; i < 96; i += per) {
					jb_add(20 * i, i, SSRC1, (uint16_t)(SEQ0 + i / per),
					       TS0 + 320 * i);
					jb_ev[jb_nev - 1].frames = per;
				}
				TEST_EQ(jb_script(fpp[f], phase[p], "0-95", &st), 0);
				TEST_EQ(jb_expect_at_once(), 0);
				TEST_EQ(jb_out.msgs, 96u / fpp[f]);
				TEST_EQ(st.delay_max_ms, 0);
				TEST_EQ(st.lost + st.late + st.dropped + st.gaps, 0);
			}
		}
	}
	return 0;
}

/* A pair swapped: the later frame waits, and both leave from the put of
 * the missing one, whether it comes before the tick of its slot or after
 * (late, but nothing after it has left).  Joined by two, they make one
 * message, sent then. */
int test_jitter_reorder_at_once(void)
{
	static const uint32_t at50[] = {1002, 1013, 1029};
	struct repack_stats st;

	for (uint8_t fpp = 1; fpp <= 2; fpp++) {
		for (unsigned k = 0; k < 3; k++) {
			jb_nev = 0;
			jb_stream(0, 99);
			jb_find(51)->at = 1001;
			jb_find(50)->at = at50[k];
			TEST_EQ(jb_script(fpp, 10, "0-99", &st), 0);
			TEST_EQ(jb_expect_at_once(), 0);
			TEST_EQ(st.reordered, 1);
			TEST_EQ(st.lost + st.late + st.gaps, 0);
			TEST_EQ(st.delay_max_ms, at50[k] - 1001);
		}
	}
	return 0;
}

/* Reordering.  Within the buffer it is undone; a frame that comes after
 * its successor left is either still sent (in order: nothing later left
 * yet) or given up. */
int test_jitter_reorder(void)
{
	struct repack_stats st;

	/* 51 before 50, both before the tick of 50's slot */
	jb_nev = 0;
	jb_stream(0, 99);
	jb_find(50)->at = 1002;
	jb_find(51)->at = 1001;
	TEST_EQ(jb_script(1, 10, "0-99", &st), 0);
	TEST_EQ(st.reordered, 1);
	TEST_EQ(st.lost + st.late, 0);

	/* every tenth packet 21 ms late, just after the next one: it missed
	 * its slot, but nothing after it has left, so it goes first */
	jb_nev = 0;
	jb_stream(0, 299);
	for (uint32_t i = 5; i < 300; i += 10)
		jb_find(i)->at += 21;
	TEST_EQ(jb_script(1, 10, "0-299", &st), 0);
	TEST_EQ(st.reordered, 30);
	TEST_EQ(st.lost + st.late, 0);

	/* by three: 50 comes after 53, when 51 has left: given up */
	jb_nev = 0;
	jb_stream(0, 199);
	jb_find(50)->at = 20 * 53 + 1;
	TEST_EQ(jb_script(1, 10, "0-49,51-199", &st), 0);
	TEST_EQ(st.reordered, 1);
	TEST_EQ(st.late, 1);
	TEST_EQ(st.lost, 1);
	TEST_EQ(st.gaps, 1);

	/* by three again, after the buffer has learnt from packets up to
	 * 70 ms late: now it is put back in place */
	jb_nev = 0;
	jb_stream(0, 299);
	for (uint32_t i = 2; i < 100; i += 4)
		jb_find(i)->at += 70;
	jb_find(200)->at = 20 * 203 + 1;
	TEST_EQ(jb_script(1, 10, "0-1,3-299", &st), 0);
	TEST_EQ(st.late, 1);   /* packet 2: before the buffer learnt */
	/* the frame after a late one waits for it: 70 - 20 ms */
	TEST_EQ(st.delay_max_ms, 50);
	return 0;
}

int test_jitter_dup(void)
{
	struct repack_stats st;

	jb_nev = 0;
	jb_stream(0, 99);
	jb_add(605, 30, SSRC1, (uint16_t)(SEQ0 + 30), TS0 + 320 * 30);   /* still in the buffer */
	jb_add(905, 40, SSRC1, (uint16_t)(SEQ0 + 40), TS0 + 320 * 40);   /* already sent */
	jb_add(1900, 50, SSRC1, (uint16_t)(SEQ0 + 50), TS0 + 320 * 50);  /* long gone */
	jb_add(1961, 98, SSRC1, (uint16_t)(SEQ0 + 98), TS0 + 320 * 98);  /* right behind it */
	TEST_EQ(jb_script(1, 10, "0-99", &st), 0);
	TEST_EQ(st.dups, 4);
	TEST_EQ(st.frames_in, 104);
	TEST_EQ(st.lost + st.late + st.reordered, 0);
	/* past the 64-packet window a copy is only an old packet: late */
	jb_add(1950, 10, SSRC1, (uint16_t)(SEQ0 + 10), TS0 + 320 * 10);
	TEST_EQ(jb_script(1, 10, "0-99", &st), 0);
	TEST_EQ(st.dups, 4);
	TEST_EQ(st.late, 1);
	return 0;
}

/* Lost frames are skipped; the next frame's RTMP time counts them. */
int test_jitter_loss(void)
{
	struct repack_stats st;

	jb_nev = 0;
	jb_stream(0, 99);
	jb_drop(50);
	for (uint32_t i = 60; i <= 64; i++)
		jb_drop(i);
	jb_drop(99);
	TEST_EQ(jb_script(1, 10, "0-49,51-59,65-98", &st), 0);
	TEST_EQ(st.lost, 6);
	TEST_EQ(st.gaps, 6);
	TEST_EQ(st.late, 0);
	return 0;
}

/* A new SSRC (new sequence and timestamp bases) restarts the buffer; RTMP
 * time goes on from the tick clock.  A straggler of the old one is
 * dropped. */
int test_jitter_ssrc(void)
{
	struct repack_stats st;

	jb_nev = 0;
	jb_stream(0, 99);
	for (uint32_t i = 100; i < 200; i++)
		jb_add(20 * i, i, SSRC2, (uint16_t)(1234 + i), 0x7fffff00u + 320 * i);
	jb_add(20 * 150 + 5, 99, SSRC1, (uint16_t)(SEQ0 + 99), TS0 + 320 * 99);
	TEST_EQ(jb_script(1, 10, "0-199", &st), 0);
	TEST_EQ(st.resyncs, 1);
	TEST_EQ(st.late, 1);
	TEST_EQ(st.lost + st.dups, 0);
	/* the new one starts 15 ms early, before the tick of 99's slot: 99
	 * left when it came, so nothing of the old stream is left to drop,
	 * and the new one goes on 20 ms after it */
	jb_nev = 0;
	jb_stream(0, 99);
	for (uint32_t i = 100; i < 200; i++)
		jb_add(20 * i - 15, i, SSRC2, (uint16_t)(1234 + i), 0x7fffff00u + 320 * i);
	TEST_EQ(jb_script(1, 10, "0-199", &st), 0);
	TEST_EQ(jb_expect_at_once(), 0);
	TEST_EQ(st.dropped, 0);
	TEST_EQ(st.resyncs, 1);
	/* the old stream's frames still buffered at the switch are dropped:
	 * 98 is missing, so 99 waits; the new one starts 15 ms early, before
	 * 99 left, and takes its slot */
	jb_nev = 0;
	jb_stream(0, 99);
	jb_drop(98);
	for (uint32_t i = 100; i < 200; i++)
		jb_add(20 * i - 15, i, SSRC2, (uint16_t)(1234 + i), 0x7fffff00u + 320 * i);
	TEST_EQ(jb_script(1, 10, "0-97,100-199@-20", &st), 0);
	TEST_EQ(st.dropped, 1);
	TEST_EQ(st.resyncs, 1);
	return 0;
}

/* Sequence numbers wrap at packet 36, timestamps at 205: nothing shows. */
int test_jitter_wrap(void)
{
	struct repack_stats st;

	jb_nev = 0;
	jb_stream(0, 299);
	TEST_EQ(jb_script(1, 10, "0-299", &st), 0);
	TEST_EQ(st.lost + st.late + st.dups + st.reordered + st.gaps, 0);
	jb_nev = 0;
	for (uint32_t i = 0; i < 100; i++)   /* seq wrap by itself */
		jb_add(20 * i, i, SSRC1, (uint16_t)(65530 + i), 1000 + 320 * i);
	TEST_EQ(jb_script(1, 10, "0-99", &st), 0);
	TEST_EQ(st.lost, 0);
	return 0;
}

/* Late: 70 comes when 72 has left (given up); a 100 ms stall delivers
 * 100..104 at once, late but in order (all sent). */
int test_jitter_late(void)
{
	struct repack_stats st;

	jb_nev = 0;
	jb_stream(0, 199);
	jb_find(70)->at = 20 * 72 + 15;
	for (uint32_t i = 100; i <= 104; i++)
		jb_find(i)->at = 2100;
	TEST_EQ(jb_script(1, 10, "0-69,71-199", &st), 0);
	TEST_EQ(st.late, 1);
	TEST_EQ(st.lost, 1);
	TEST_EQ(st.reordered, 1);
	return 0;
}

/* DTX: the sender stops in silence; sequence numbers go on, timestamps
 * jump.  Silence keeps its length in RTMP time and is not loss. */
int test_jitter_dtx(void)
{
	static const uint32_t gap[] = {1, 10, 50, 400};
	struct repack_stats st;
	char want[64];

	for (unsigned g = 0; g < 4; g++) {
		jb_nev = 0;
		for (uint32_t i = 0; i < 100; i++)
			jb_add(20 * i, i, SSRC1, (uint16_t)(SEQ0 + i), TS0 + 320 * i);
		for (uint32_t i = 100 + gap[g]; i < 200 + gap[g]; i++)
			jb_add(20 * i, i, SSRC1, (uint16_t)(SEQ0 + i - gap[g]), TS0 + 320 * i);
		snprintf(want, sizeof(want), "0-99,%u-%u", 100 + gap[g], 199 + gap[g]);
		TEST_EQ(jb_script(1, 10, want, &st), 0);
		TEST_EQ(st.gaps, gap[g]);
		TEST_EQ(st.lost + st.late + st.resyncs, 0);
	}
	return 0;
}
