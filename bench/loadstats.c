/* rtmpload's report: counts, latency percentiles, jitter, send slip, CPU
 * and memory, as one JSON object; and the per-frame records. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "load.h"
#include "mem.h"

#define MS 1e6

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

/* Nearest-rank percentile of sorted v[0..n). */
static double pct(const int64_t *v, size_t n, double q)
{
	size_t i;

	if (!n)
		return 0;
	i = (size_t)(q * (double)n + 0.999999);
	return (double)v[i ? i - 1 : 0];
}

struct totals {
	uint64_t dup, late, reordered, unknown, corrupt, send_err, lossy_pairs;
	double jit_sum, jit_max;
	uint32_t jit_n;
};

static void add_pair(struct totals *t, const struct pair *p)
{
	t->dup += p->dup;
	t->reordered += p->reordered;
	t->unknown += p->unknown;
	t->corrupt += p->corrupt;
	t->send_err += p->send_err;
	t->lossy_pairs += p->got < p->k;
	if (p->any_rx) {
		t->jit_sum += p->jitter_ns;
		t->jit_max = p->jitter_ns > t->jit_max ? p->jitter_ns : t->jit_max;
		t->jit_n++;
	}
}

/* Latencies and send slips of every received (sent) frame, sorted. */
static int collect(struct load *ld, int64_t **lat, size_t *nlat, int64_t **slip, size_t *nslip,
		   struct totals *t)
{
	size_t cap = (size_t)ld->total_sent + 1;

	*lat = mem_alloc(cap * sizeof(**lat), NULL);
	*slip = mem_alloc(cap * sizeof(**slip), NULL);
	if (!*lat || !*slip)
		return ENOMEM;
	*nlat = *nslip = 0;
	for (uint32_t i = 0; ld->o.mode != MODE_PLAY && i < ld->o.pairs; i++) {
		const struct pair *p = &ld->pairs[i];
		add_pair(t, p);
		for (uint32_t k = 0; k < p->k && *nslip < cap; k++) {
			const struct rec *r = &p->recs[k];
			if (!r->sent)
				continue;
			(*slip)[(*nslip)++] = r->sent - (p->t0 + (int64_t)r->rel * 1000000);
			if (r->recv) {
				int64_t l = r->recv - r->sent;
				(*lat)[(*nlat)++] = l;
				t->late += l > (int64_t)ld->o.late_ms * 1000000;
			}
		}
	}
	qsort(*lat, *nlat, sizeof(**lat), cmp_i64);
	qsort(*slip, *nslip, sizeof(**slip), cmp_i64);
	return 0;
}

static int write_raw(const struct load *ld)
{
	FILE *fp = fopen(ld->o.raw, "wb");
	int err = 0;

	if (!fp)
		return errno;
	for (uint32_t i = 0; ld->o.mode != MODE_PLAY && i < ld->o.pairs && !err; i++) {
		const struct pair *p = &ld->pairs[i];
		for (uint32_t k = 0; k < p->k && !err; k++) {
			const struct rec *r = &p->recs[k];
			struct {
				uint32_t pair, rel;
				int64_t sent, lat;
			} x = {i, r->rel, r->sent - ld->t_stream, r->recv ? r->recv - r->sent : -1};
			if (r->sent && fwrite(&x, sizeof(x), 1, fp) != 1)
				err = EIO;
		}
	}
	if (fclose(fp))
		err = EIO;
	return err;
}

static void print_snap(FILE *out, const struct load *ld)
{
	const struct proc_snap *a = &ld->srv0, *b = &ld->srv1;

	if (!a->ok || !b->ok) {
		fprintf(out, "  \"server\": null,\n");
		return;
	}
	fprintf(out, "  \"server\": {\"pid\": %d, \"procs\": %u, \"threads\": %u, "
		"\"cpu_s\": %.3f, \"run_s\": %.6f, \"rss_kb_start\": %llu, \"rss_kb_end\": %llu, "
		"\"hwm_kb\": %llu},\n",
		ld->o.server_pid, b->procs, b->threads, b->cpu_s - a->cpu_s,
		(double)(b->run_ns - a->run_ns) / 1e9, (unsigned long long)a->rss_kb,
		(unsigned long long)b->rss_kb, (unsigned long long)b->hwm_kb);
}

/* Call mode: how the calls went and how the callee's timestamps were
 * mapped (loadcall.c). */
static void print_call(FILE *out, const struct load *ld)
{
	uint64_t with_off = 0, unmatched = 0, conflicts = 0, ended = 0;

	if (!load_call_mode(ld)) {
		fprintf(out, "  \"call\": null,\n");
		return;
	}
	for (uint32_t i = 0; i < ld->o.pairs; i++) {
		const struct pair *p = &ld->pairs[i];
		with_off += p->have_off;
		unmatched += p->unmatched + p->npend;
		conflicts += p->off_conflicts;
		ended += p->ended;
	}
	fprintf(out, "  \"call\": {\"settle_ms\": %u, \"pairs_with_offset\": %llu, "
		"\"unmatched\": %llu, \"offset_conflicts\": %llu, \"ended_early\": %llu, "
		"\"first_end\": \"%s\"},\n", ld->o.settle_ms, (unsigned long long)with_off,
		(unsigned long long)unmatched, (unsigned long long)conflicts,
		(unsigned long long)ended, ld->call_end);
}

static double tv_s(const struct timeval *tv)
{
	return (double)tv->tv_sec + (double)tv->tv_usec / 1e6;
}

int load_report(struct load *ld, FILE *out)
{
	static const char *const modes[] = {"pair", "play", "publish"};
	struct totals t = {0};
	int64_t *lat = NULL, *slip = NULL;
	size_t nlat = 0, nslip = 0;
	double stream_s = ld->t_end > ld->t_stream ? (double)(ld->t_end - ld->t_stream) / 1e9 : 0;
	double gen = tv_s(&ld->ru1.ru_utime) + tv_s(&ld->ru1.ru_stime) -
		     tv_s(&ld->ru0.ru_utime) - tv_s(&ld->ru0.ru_stime);
	int err = collect(ld, &lat, &nlat, &slip, &nslip, &t);

	if (!err && ld->o.raw)
		err = write_raw(ld);
	if (err) {
		mem_deref(lat);
		mem_deref(slip);
		return err;
	}
	fprintf(out, "{\n  \"mode\": \"%s\", \"url\": \"%s\", \"flv\": \"%s\",\n", modes[ld->o.mode],
		ld->o.url, ld->o.flv);
	fprintf(out, "  \"pairs\": %u, \"ready\": %u, \"failed\": %u, \"first_error\": \"%s\",\n",
		ld->o.pairs, ld->nready, ld->nfailed, ld->first_why ? ld->first_why : "");
	fprintf(out, "  \"packet_ms\": %u, \"frames_per_pair\": %u, \"seek_ts\": %u,\n",
		ld->flv.step_ms, ld->nframes, ld->flv.n ? ld->flv.frames[ld->seek_idx].ts : 0);
	fprintf(out, "  \"setup_s\": %.3f, \"stream_s\": %.3f, \"t_stream_ns\": %lld,\n",
		ld->t_stream ? (double)(ld->t_stream - ld->t_setup - ld->start_delay) / 1e9 : 0,
		stream_s, (long long)ld->t_stream);
	fprintf(out, "  \"sent\": %llu, \"received\": %llu, \"lost\": %llu, \"duplicated\": %llu, "
		"\"late\": %llu, \"reordered\": %llu, \"unknown\": %llu, \"corrupt\": %llu, "
		"\"send_errors\": %llu, \"pairs_with_loss\": %llu, \"play_frames\": %llu,\n",
		(unsigned long long)ld->total_sent, (unsigned long long)ld->total_got,
		(unsigned long long)(ld->total_sent - ld->total_got), (unsigned long long)t.dup,
		(unsigned long long)t.late, (unsigned long long)t.reordered,
		(unsigned long long)t.unknown, (unsigned long long)t.corrupt,
		(unsigned long long)t.send_err, (unsigned long long)t.lossy_pairs,
		(unsigned long long)ld->play_frames);
	fprintf(out, "  \"late_ms\": %u,\n  \"latency_ms\": {\"n\": %zu, \"min\": %.4f, \"p50\": %.4f, "
		"\"p90\": %.4f, \"p99\": %.4f, \"p99_9\": %.4f, \"max\": %.4f},\n", ld->o.late_ms, nlat,
		nlat ? (double)lat[0] / MS : 0, pct(lat, nlat, 0.5) / MS, pct(lat, nlat, 0.9) / MS,
		pct(lat, nlat, 0.99) / MS, pct(lat, nlat, 0.999) / MS,
		nlat ? (double)lat[nlat - 1] / MS : 0);
	fprintf(out, "  \"jitter_ms\": {\"mean\": %.4f, \"max\": %.4f},\n",
		t.jit_n ? t.jit_sum / t.jit_n / MS : 0, t.jit_max / MS);
	fprintf(out, "  \"send_slip_ms\": {\"p50\": %.4f, \"p99\": %.4f, \"max\": %.4f},\n",
		pct(slip, nslip, 0.5) / MS, pct(slip, nslip, 0.99) / MS,
		nslip ? (double)slip[nslip - 1] / MS : 0);
	print_snap(out, ld);
	print_call(out, ld);
	fprintf(out, "  \"generator\": {\"cpu_s\": %.3f, \"util\": %.3f}\n}\n", gen,
		stream_s > 0 ? gen / stream_s : 0);
	mem_deref(lat);
	mem_deref(slip);
	return fflush(out) ? EIO : 0;
}
