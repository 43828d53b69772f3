/* The jitter buffer tests' script runner (jitter_util.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "flv.h"
#include "jitter_util.h"
#include "mem.h"
#include "repack.h"
#include "rtp.h"
#include "speex.h"
#include "test.h"

struct jb_pkt jb_ev[MAX_EV];
unsigned jb_nev;

struct jout jb_out;

static struct {
	uint32_t now;
	bool tick;
} cur;   /* the call on_msg runs under */

/* A frame that walks as one wideband frame and carries id: narrowband
 * mode 1 (43 bits, id in bits 5..36), wideband submode 0, padding. */
size_t jb_mkframe(uint8_t *p, uint32_t id)
{
	memset(p, 0, 6);
	p[0] = 0x08 | (uint8_t)(id >> 29);
	p[1] = (uint8_t)(id >> 21);
	p[2] = (uint8_t)(id >> 13);
	p[3] = (uint8_t)(id >> 5);
	p[4] = (uint8_t)(id << 3);
	p[5] = 0x10;   /* 3 zero bits, wideband header 1000, padding 0 */
	return 6;
}

static uint32_t frame_id(const uint8_t *p, uint32_t bit)
{
	uint32_t v = 0;

	for (unsigned i = 0; i < 32; i++, bit++)
		v = v << 1 | ((p[bit / 8] >> (7 - bit % 8)) & 1u);
	return v;
}

void jb_add(uint32_t at, uint32_t id, uint32_t ssrc, uint16_t seq, uint32_t ts)
{
	if (jb_nev < MAX_EV)
		jb_ev[jb_nev++] = (struct jb_pkt){at, id, ssrc, ts, seq, 1};
}

/* Packets first..last of stream 1, on time. */
void jb_stream(uint32_t first, uint32_t last)
{
	for (uint32_t i = first; i <= last; i++)
		jb_add(20 * i, i, SSRC1, (uint16_t)(SEQ0 + i), TS0 + 320 * i);
}

struct jb_pkt *jb_find(uint32_t id)
{
	for (unsigned i = 0; i < jb_nev; i++)
		if (jb_ev[i].id == id)
			return &jb_ev[i];
	return NULL;
}

void jb_drop(uint32_t id)
{
	struct jb_pkt *e = jb_find(id);
	if (e)
		*e = jb_ev[--jb_nev];
}

static void on_msg(uint32_t ms, const uint8_t *b, size_t len, void *arg)
{
	struct speex_frame f[REPACK_MAX_FPP];
	int n = len ? speex_walk(b + 1, len - 1, f, REPACK_MAX_FPP, NULL) : -1;

	(void)arg;
	if (n < 1 || b[0] != FLV_SPEEX_FLASH || (jb_out.n && ms < jb_out.ms[jb_out.n - 1] + 20))
		jb_out.bad = true;
	if (jb_out.msgs < MAX_OUT) {
		jb_out.first[jb_out.msgs] = jb_out.n;
		jb_out.when[jb_out.msgs] = cur.now;
		jb_out.by_tick[jb_out.msgs] = cur.tick;
	}
	for (int i = 0; i < n && jb_out.n < MAX_OUT; i++) {
		jb_out.ms[jb_out.n] = ms + 20 * (uint32_t)i;
		jb_out.id[jb_out.n++] = frame_id(b + 1, f[i].bit_off + 5);
	}
	jb_out.msgs++;
	if (n > 0 && (unsigned)n > jb_out.max_frames)
		jb_out.max_frames = (unsigned)n;
}

static uint32_t held(const struct rtp2rtmp *r)
{
	struct repack_stats st;

	repack_rx_stats(r, &st);
	return st.held;
}

static int by_arrival(const void *a, const void *b)
{
	const struct jb_pkt *x = a, *y = b;
	return x->at != y->at ? (x->at < y->at ? -1 : 1) : (x < y ? -1 : 1);
}

int jb_run(struct rtp2rtmp *r, uint32_t phase, uint32_t tick_ms)
{
	uint32_t last = 0;
	unsigned e = 0;

	qsort(jb_ev, jb_nev, sizeof(jb_ev[0]), by_arrival);
	memset(&jb_out, 0, sizeof(jb_out));
	for (unsigned i = 0; i < jb_nev; i++)
		last = jb_ev[i].at > last ? jb_ev[i].at : last;
	for (uint32_t t = phase; t <= last + 400 || (held(r) && t <= last + 10000); t += tick_ms) {
		for (; e < jb_nev && jb_ev[e].at <= t; e++) {
			uint8_t pl[6 * 8];
			struct rtp_hdr h;
			size_t len = 0;

			memset(&h, 0, sizeof(h));
			h.pt = 97;
			h.seq = jb_ev[e].seq;
			h.ts = jb_ev[e].ts;
			h.ssrc = jb_ev[e].ssrc;
			for (unsigned k = 0; k < jb_ev[e].frames; k++)
				len += jb_mkframe(pl + len, jb_ev[e].id + k);
			h.payload = pl;
			h.plen = len;
			cur.now = jb_ev[e].at;
			cur.tick = false;
			if (repack_rx_put(r, &h, jb_ev[e].at, on_msg, NULL) < 0)
				return EBADMSG;
		}
		cur.now = t;
		cur.tick = true;
		if (repack_rx_tick(r, t, on_msg, NULL) < 0)
			return EBADMSG;
	}
	return jb_out.bad ? EBADMSG : 0;
}

/* RX_JB_DUMP=1 prints the output as id:ms pairs. */
int jb_expect(const char *ranges)
{
	unsigned k = 0;

	if (getenv("RX_JB_DUMP"))
		for (unsigned j = 0; j < jb_out.n; j++)
			fprintf(stderr, "%u:%u%s", jb_out.id[j], jb_out.ms[j], j + 1 < jb_out.n ? " " : "\n");
	while (*ranges) {
		char *end;
		unsigned long a = strtoul(ranges, &end, 10), b = a;
		long d = 0;

		if (*end == '-')
			b = strtoul(end + 1, &end, 10);
		if (*end == '@')
			d = strtol(end + 1, &end, 10);
		for (unsigned long i = a; i <= b; i++, k++) {
			TEST_ASSERT(k < jb_out.n);
			TEST_EQ(jb_out.id[k], i);
			TEST_EQ(jb_out.ms[k], (long)(20 * i) + d);
		}
		ranges = *end == ',' ? end + 1 : end;
	}
	TEST_EQ(jb_out.n, k);
	return 0;
}

int jb_expect_at_once(void)
{
	for (unsigned m = 0; m < jb_out.msgs && m < MAX_OUT; m++) {
		unsigned end = m + 1 < jb_out.msgs ? jb_out.first[m + 1] : jb_out.n;
		uint32_t last = jb_out.id[end - 1], due = 0;

		/* the arrival of the last packet of frames up to "last" */
		for (unsigned i = 0; i < jb_nev; i++)
			if (jb_ev[i].id <= last && jb_ev[i].at > due)
				due = jb_ev[i].at;
		TEST_ASSERT(!jb_out.by_tick[m]);
		TEST_EQ(jb_out.when[m], due);
	}
	return 0;
}

int jb_script(uint8_t fpp, uint32_t phase, const char *want, struct repack_stats *st)
{
	struct rtp2rtmp *r;
	int err = repack_rx_alloc(&r, FLV_SPEEX_FLASH, fpp);

	if (err)
		return -err;
	err = jb_run(r, phase, 20);
	repack_rx_stats(r, st);
	mem_deref(r);
	if (!err && want)
		err = jb_expect(want);
	TEST_EQ(st->held, 0);
	return err;
}

