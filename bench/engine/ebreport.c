/* engine_bench's measurements and report: per-thread schedstat, VmRSS,
 * the frame records turned into counts and latency percentiles, the text
 * table and the JSON object (README.md has the columns). */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "ebench.h"
#include "mem.h"

static bool task_file(pid_t tid, const char *what, char *buf, size_t size)
{
	char path[64];
	FILE *fp;
	bool ok;

	snprintf(path, sizeof(path), "/proc/self/task/%d/%s", (int)tid, what);
	if (!(fp = fopen(path, "r")))
		return false;
	ok = fgets(buf, (int)size, fp) != NULL;
	fclose(fp);
	return ok;
}

pid_t eb_media_tid(pid_t except)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *de;
	pid_t found = 0;
	char comm[32];

	while (d && !found && (de = readdir(d))) {
		pid_t tid = (pid_t)atoi(de->d_name);
		if (tid > 0 && tid != except && task_file(tid, "comm", comm, sizeof(comm)) &&
		    !strcmp(comm, "rx-media\n"))
			found = tid;
	}
	if (d)
		closedir(d);
	return found;
}

/* schedstat: time on a CPU, time waiting on a run queue (ns), timeslices. */
static void thread_read(pid_t tid, struct eb_thread *t)
{
	char line[128];
	unsigned long long run = 0, wait = 0;

	if (task_file(tid, "schedstat", line, sizeof(line)))
		sscanf(line, "%llu %llu", &run, &wait);
	t->run_ns = run;
	t->wait_ns = wait;
}

void eb_snap(struct eb_snap *s, const pid_t tid[EB_NTHREADS])
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	s->wall_ns = (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
	s->proc_ns = (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
	for (int i = 0; i < EB_NTHREADS; i++)
		thread_read(tid[i], &s->th[i]);
}

/* statm: size, resident, ... in pages. */
uint64_t eb_rss_kb(void)
{
	unsigned long long size, pages = 0;
	FILE *fp = fopen("/proc/self/statm", "r");

	if (fp) {
		if (fscanf(fp, "%llu %llu", &size, &pages) != 2)
			pages = 0;
		fclose(fp);
	}
	return pages * (uint64_t)sysconf(_SC_PAGESIZE) / 1024;
}

double eb_loadavg(void)
{
	double l1 = -1;
	FILE *fp = fopen("/proc/loadavg", "r");

	if (fp) {
		if (fscanf(fp, "%lf", &l1) != 1)
			l1 = -1;
		fclose(fp);
	}
	return l1;
}

/* --- counts and percentiles --- */

static int by_value(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

int eb_tally(struct eb_result *res, const struct eb_leg *legs, size_t nlegs)
{
	static const double q[4] = {0.50, 0.90, 0.99, 0.999};
	size_t n = 0, cap = 1;
	int64_t *lat;
	double sum = 0;

	for (size_t l = 0; l < nlegs; l++)
		cap += legs[l].nsent;
	if (!(lat = mem_alloc(cap * sizeof(*lat), NULL)))
		return ENOMEM;
	for (size_t l = 0; l < nlegs; l++) {
		const struct eb_leg *lg = &legs[l];
		res->sent += lg->nsent;
		res->dup += lg->dup;
		res->corrupt += lg->corrupt + lg->unmatched;
		res->unmatched += lg->unmatched;
		res->send_err += lg->send_err;
		for (uint32_t k = 0; k < lg->nsent; k++) {
			if (!lg->recs[k].nrecv)
				continue;
			lat[n] = lg->recs[k].recv - lg->recs[k].sent;
			sum += (double)lat[n++];
		}
	}
	res->received = n;
	res->lost = res->sent - n;
	qsort(lat, n, sizeof(*lat), by_value);
	for (int i = 0; n && i < 4; i++) {
		/* nearest rank: the smallest value with a share q at or below it */
		size_t rank = (size_t)(q[i] * (double)n + 0.999999);
		res->lat_ms[i] = (double)lat[(rank ? rank : 1) - 1] / 1e6;
	}
	res->lat_ms[4] = n ? (double)lat[n - 1] / 1e6 : 0;
	res->lat_ms[5] = n ? sum / (double)n / 1e6 : 0;
	mem_deref(lat);
	return 0;
}

void eb_raw(FILE *out, const struct eb_result *res, const struct eb_leg *legs, size_t nlegs)
{
	for (size_t l = 0; l < nlegs; l++) {
		for (uint32_t k = 0; k < legs[l].nsent; k++) {
			const struct eb_rec *x = &legs[l].recs[k];
			fprintf(out, "%u,%s,%zu,%u,%lld,%lld\n", res->calls,
				res->attach ? "attach" : "ours", l, k,
				(long long)(x->sent - res->w0.wall_ns),
				x->nrecv ? (long long)(x->recv - x->sent) : -1LL);
		}
	}
}

/* --- derived numbers --- */

static double cpu_ms(const struct eb_result *r, int th)
{
	return (double)(r->w1.th[th].run_ns - r->w0.th[th].run_ns) / 1e6;
}

static double wait_ms(const struct eb_result *r, int th)
{
	return (double)(r->w1.th[th].wait_ns - r->w0.th[th].wait_ns) / 1e6;
}

static double cpu_total(const struct eb_result *r)
{
	return cpu_ms(r, EB_MEDIA_A) + cpu_ms(r, EB_MEDIA_B) + cpu_ms(r, EB_CONTROL);
}

static double pct_of_window(const struct eb_result *r, double ms)
{
	return r->window_s > 0 ? ms / (r->window_s * 10) : 0;
}

/* A thread's CPU share of the window, in percent. */
static double busy(const struct eb_result *r, int th)
{
	return pct_of_window(r, cpu_ms(r, th));
}

static double per_call_s(const struct eb_result *r)
{
	return r->up && r->window_s > 0 ? cpu_total(r) / (r->up * r->window_s) : 0;
}

static double kb_per_call(const struct eb_result *r, int at)
{
	return r->up ? ((double)r->rss_kb[at] - (double)r->rss_kb[0]) / r->up : 0;
}

static double ratio(double a, double b)
{
	return b > 0 ? a / b : 0;
}

/* --- text --- */

void eb_print_header(FILE *out)
{
	fprintf(out, "# calls mode     up  setup     sent  lost  dup corr    p50    p90    p99  p99.9"
		     "    max   cpu%% A  cpu%% B  ctl%%  wait%%  ms/call-s  ms/leg-s  KB/call\n"
		     "#                     (s)                           latency (ms)"
		     "                 media threads   control  (run queue)    CPU ms\n");
}

void eb_print_row(FILE *out, const struct eb_result *r)
{
	double pc = per_call_s(r);
	double wait = wait_ms(r, EB_MEDIA_A) + wait_ms(r, EB_MEDIA_B) + wait_ms(r, EB_CONTROL);

	fprintf(out, "%7u %-7s %4u %6.1f %8llu %5llu %4llu %4llu %6.1f %6.1f %6.1f %6.1f %6.1f"
		     " %7.1f %7.1f %5.1f %6.1f %10.3f %9.3f %8.0f\n",
		r->calls, r->attach ? "attach" : "ours", r->up, r->setup_ms / 1000,
		(unsigned long long)r->sent, (unsigned long long)r->lost,
		(unsigned long long)r->dup, (unsigned long long)r->corrupt, r->lat_ms[0],
		r->lat_ms[1], r->lat_ms[2], r->lat_ms[3], r->lat_ms[4],
		busy(r, EB_MEDIA_A), busy(r, EB_MEDIA_B), busy(r, EB_CONTROL),
		pct_of_window(r, wait), pc, pc / 2,
		kb_per_call(r, 2));
}

void eb_print_ratio(FILE *out, const struct eb_result *o, const struct eb_result *a)
{
	fprintf(out, "%7u ours/attach                                %6.2f %6.2f %6.2f %6.2f %6.2f"
		     " %7.2f %7.2f %5.2f        %10.2f %9.2f %8.2f\n",
		o->calls, ratio(o->lat_ms[0], a->lat_ms[0]), ratio(o->lat_ms[1], a->lat_ms[1]),
		ratio(o->lat_ms[2], a->lat_ms[2]), ratio(o->lat_ms[3], a->lat_ms[3]),
		ratio(o->lat_ms[4], a->lat_ms[4]),
		ratio(busy(o, EB_MEDIA_A), busy(a, EB_MEDIA_A)),
		ratio(busy(o, EB_MEDIA_B), busy(a, EB_MEDIA_B)),
		ratio(busy(o, EB_CONTROL), busy(a, EB_CONTROL)),
		ratio(per_call_s(o), per_call_s(a)), ratio(per_call_s(o), per_call_s(a)),
		ratio(kb_per_call(o, 2), kb_per_call(a, 2)));
}

/* --- JSON --- */

static void json_str(FILE *out, const char *s)
{
	fputc('"', out);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fputc('\\', out);
		if ((unsigned char)*s >= 0x20)
			fputc(*s, out);
	}
	fputc('"', out);
}

static void json_threads(FILE *out, const char *key, const struct eb_result *r,
			 double (*f)(const struct eb_result *r, int th))
{
	fprintf(out, ",\n    \"%s\": {\"media_a\": %.3f, \"media_b\": %.3f, \"control\": %.3f}", key,
		f(r, EB_MEDIA_A), f(r, EB_MEDIA_B), f(r, EB_CONTROL));
}

static void json_run(FILE *out, const struct eb_result *r)
{
	const struct eb_engine *g = &r->eng;

	fprintf(out, "  {\"calls\": %u, \"mode\": \"%s\", \"calls_up\": %u, \"failed_ends\": %u, "
		     "\"first_failure\": ", r->calls, r->attach ? "attach" : "ours", r->up,
		r->failed_ends);
	json_str(out, r->why);
	fprintf(out, ",\n    \"setup_ms\": %.1f, \"setup_batch_max_ms\": %.1f, \"window_s\": %.3f,"
		     "\n    \"frames_sent\": %llu, \"frames_received\": %llu, \"lost\": %llu, "
		     "\"duplicated\": %llu, \"corrupt\": %llu, \"unmatched\": %llu, "
		     "\"send_errors\": %llu,\n    \"latency_ms\": {\"p50\": %.3f, \"p90\": %.3f, "
		     "\"p99\": %.3f, \"p99_9\": %.3f, \"max\": %.3f, \"mean\": %.3f}",
		r->setup_ms, r->batch_max_ms, r->window_s, (unsigned long long)r->sent,
		(unsigned long long)r->received, (unsigned long long)r->lost,
		(unsigned long long)r->dup, (unsigned long long)r->corrupt,
		(unsigned long long)r->unmatched, (unsigned long long)r->send_err, r->lat_ms[0],
		r->lat_ms[1], r->lat_ms[2], r->lat_ms[3], r->lat_ms[4], r->lat_ms[5]);
	json_threads(out, "cpu_ms", r, cpu_ms);
	json_threads(out, "run_queue_wait_ms", r, wait_ms);
	fprintf(out, ",\n    \"cpu_ms_total\": %.3f, \"cpu_ms_process\": %.3f, "
		     "\"cpu_ms_per_call_s\": %.4f, \"cpu_ms_per_leg_s\": %.4f,"
		     "\n    \"rss_kb\": {\"engines_up\": %llu, \"calls_up\": %llu, \"after\": %llu}, "
		     "\"rss_kb_per_call\": %.1f, \"rss_kb_per_call_idle\": %.1f, "
		     "\"loadavg_1m\": [%.2f, %.2f],",
		cpu_total(r), (double)(r->w1.proc_ns - r->w0.proc_ns) / 1e6, per_call_s(r),
		per_call_s(r) / 2, (unsigned long long)r->rss_kb[0],
		(unsigned long long)r->rss_kb[1], (unsigned long long)r->rss_kb[2],
		kb_per_call(r, 2), kb_per_call(r, 1), r->load[0], r->load[1]);
	fprintf(out, "\n    \"engine\": {\"rtp_recv\": %llu, \"tx_before_ready\": %llu, "
		     "\"tx_ring_full\": %llu, \"rx_ring_full\": %llu, \"send_errors\": %llu, "
		     "\"jb_lost\": %llu, \"jb_late\": %llu, \"jb_dups\": %llu, \"jb_dropped\": %llu, "
		     "\"srtp_failures\": %llu, \"jb_delay_max_ms\": %u, \"stats_missing\": %u}}",
		(unsigned long long)g->rtp_recv, (unsigned long long)g->tx_before_ready,
		(unsigned long long)g->tx_ring_full, (unsigned long long)g->rx_ring_full,
		(unsigned long long)g->send_errors, (unsigned long long)g->jb_lost,
		(unsigned long long)g->jb_late, (unsigned long long)g->jb_dups,
		(unsigned long long)g->jb_dropped, (unsigned long long)g->srtp_fail,
		g->jb_delay_max_ms, g->stats_missing);
}

void eb_json(FILE *out, const struct eb_result *res, size_t n, unsigned seconds,
	     unsigned batch, bool plain)
{
	bool first = true;

	fprintf(out, "{\"security\": \"%s\", \"seconds\": %u, \"batch\": %u, \"frame_ms\": %d, "
		     "\"cpus\": %ld,\n\"runs\": [\n", plain ? "plain" : "dtls-srtp", seconds, batch,
		EB_FRAME_MS, sysconf(_SC_NPROCESSORS_ONLN));
	for (size_t i = 0; i < n; i++) {
		fputs(i ? ",\n" : "", out);
		json_run(out, &res[i]);
	}
	fputs("],\n\"ratios_ours_over_attach\": [", out);
	for (size_t i = 0; i + 1 < n; i++) {
		const struct eb_result *o = &res[i], *a = &res[i + 1];
		if (o->attach || !a->attach || o->calls != a->calls)
			continue;
		fprintf(out, "%s\n  {\"calls\": %u, \"cpu_ms_per_call_s\": %.3f, \"media_a_cpu\": %.3f, "
			     "\"media_b_cpu\": %.3f, \"control_cpu\": %.3f, \"p50\": %.3f, \"p99\": %.3f, "
			     "\"p99_9\": %.3f, \"rss_kb_per_call\": %.3f}", first ? "" : ",", o->calls,
			ratio(per_call_s(o), per_call_s(a)),
			ratio(busy(o, EB_MEDIA_A), busy(a, EB_MEDIA_A)),
			ratio(busy(o, EB_MEDIA_B), busy(a, EB_MEDIA_B)),
			ratio(busy(o, EB_CONTROL), busy(a, EB_CONTROL)),
			ratio(o->lat_ms[0], a->lat_ms[0]), ratio(o->lat_ms[2], a->lat_ms[2]),
			ratio(o->lat_ms[3], a->lat_ms[3]), ratio(kb_per_call(o, 2), kb_per_call(a, 2)));
		first = false;
	}
	fputs("]}\n", out);
}
