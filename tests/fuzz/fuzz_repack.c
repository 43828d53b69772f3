/* libFuzzer target for media/repack*.c, both directions.  The input reads
 * as an FLV file (the 13-byte header is optional), so FFmpeg's recordings
 * are seeds as they are:
 *   - FLV flags byte (or the first byte without a header): bits 4..6 + 1
 *     are the frames per RTMP message out (1..8), bit 7 picks the tag byte
 *     0xB2 (else 0xB6);
 *   - each tag: type, 24-bit size, 24-bit time + 8 high bits, 24-bit
 *     stream id, body, 32-bit previous size (a cut tag takes what is left);
 *   - type 8 (audio): an RTMP message into repack_tx_push at that time;
 *     every RTP packet out goes on into repack_rx_put, arriving stream
 *     id byte 0 ms later (in-order frames come out of it at once);
 *   - type 9: the body is an RTP packet for repack_rx_put, any header;
 *   - type 18: nothing but the clock;
 *   - after each tag repack_rx_tick runs at the tag's time, then at 20 ms
 *     steps for (stream id byte 1) % 4 more; at the end 6 s more.
 * Checked: no crash or leak; RTP out parses, numbered and timed in order
 * (sequence + 1, timestamp + a multiple of 320), one frame each; RTMP out
 * is the tag byte and 1..fpp frames, each 20 ms or more after the last;
 * nothing held at the end.  Seeds: test-vectors/repack/ (README.md). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "mem.h"
#include "repack.h"
#include "rtp.h"
#include "speex.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct run {
	struct rtp2rtmp *r;
	uint32_t now;
	uint8_t tag;
	unsigned fpp;
	bool have_rtp, have_msg;
	uint16_t seq;
	uint32_t ts, next_ms;
	uint32_t late;   /* arrival delay for tx output */
} run;

static uint32_t get24(const uint8_t *p)
{
	return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
}

static repack_msg_h on_msg;

static void on_rtp(const struct rtp_hdr *h, const uint8_t *p, size_t len, void *arg)
{
	struct speex_frame f[2];
	struct rtp_hdr g;

	(void)h;
	(void)arg;
	if (rtp_parse(&g, p, len) || g.pt != 97 || g.ssrc != 0x5eed || g.plen > REPACK_FRAME_MAX ||
	    speex_walk(g.payload, g.plen, f, 2, NULL) != 1)
		abort();
	if (run.have_rtp && (g.seq != (uint16_t)(run.seq + 1) || (int32_t)(g.ts - run.ts) <= 0 ||
			     (g.ts - run.ts) % SPEEX_WB_SAMPLES))
		abort();
	run.have_rtp = true;
	run.seq = g.seq;
	run.ts = g.ts;
	repack_rx_put(run.r, &g, run.now + run.late, on_msg, NULL);
}

static void on_msg(uint32_t ms, const uint8_t *b, size_t len, void *arg)
{
	struct speex_frame f[REPACK_MAX_FPP + 1];
	int n;

	(void)arg;
	if (len < 2 || b[0] != run.tag)
		abort();
	n = speex_walk(b + 1, len - 1, f, REPACK_MAX_FPP + 1, NULL);
	if (n < 1 || (unsigned)n > run.fpp)
		abort();
	if (run.have_msg && (int32_t)(ms - run.next_ms) < 0)
		abort();
	run.have_msg = true;
	run.next_ms = ms + 20 * (uint32_t)n;
}

static void tick(uint32_t now)
{
	run.now = now;
	if (repack_rx_tick(run.r, now, on_msg, NULL) < 0)
		abort();
}

static void one_tag(struct rtmp2rtp *t, const uint8_t *p, size_t left)
{
	size_t size = get24(p + 1);
	uint32_t ms = get24(p + 4) | (uint32_t)p[7] << 24;
	const uint8_t *body = p + 11;
	struct rtp_hdr h;
	int err;

	if (size > left - 11)
		size = left - 11;
	run.now = ms;
	run.late = p[8];
	if (p[0] == 8) {
		err = repack_tx_push(t, ms, body, size, on_rtp, NULL);
		if (err < 0 && err != -ENODATA && err != -EPROTONOSUPPORT && err != -EBADMSG &&
		    err != -E2BIG && err != -EMSGSIZE)
			abort();
	} else if (p[0] == 9 && !rtp_parse(&h, body, size)) {
		err = repack_rx_put(run.r, &h, ms, on_msg, NULL);
		if (err < 0 && err != -EBADMSG)
			abort();
	}
	tick(ms);
	for (unsigned k = 0; k < p[9] % 4u; k++)
		tick(run.now + 20);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct repack_stats st;
	struct rtmp2rtp *t;
	size_t pos = 1;
	uint8_t cfg;

	if (!size)
		return 0;
	cfg = data[0];
	if (size >= 13 && !memcmp(data, "FLV", 3)) {
		cfg = data[4];
		pos = 13;
	}
	memset(&run, 0, sizeof(run));
	run.fpp = 1 + ((cfg >> 4) & 7u);
	run.tag = cfg & 0x80 ? 0xb2 : 0xb6;
	if (repack_tx_alloc(&t, 97, 0x5eed) || repack_rx_alloc(&run.r, run.tag, run.fpp))
		abort();
	while (size - pos >= 11) {
		size_t n = 11 + get24(data + pos + 1) + 4;

		one_tag(t, data + pos, size - pos);
		pos = n < size - pos ? pos + n : size;
	}
	for (unsigned k = 0; k < 300; k++)
		tick(run.now + 20);
	repack_rx_stats(run.r, &st);
	if (st.held || st.frames_out > st.frames_in)
		abort();
	mem_deref(run.r);
	mem_deref(t);
	return 0;
}
