/* Internal API of engine_bench: the calls and their per-frame records
 * (engine_bench.c runs them), and what is measured about the process and
 * how it is reported (ebreport.c). */
#ifndef RXB_EBENCH_H
#define RXB_EBENCH_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#define EB_FRAME_MS 20

/* One frame of one leg. */
struct eb_rec {
	int64_t sent;        /* CLOCK_MONOTONIC ns just before mcall_send_audio(); 0: not sent */
	int64_t recv;        /* ns at the audio handler, first arrival; 0: none */
	uint32_t nrecv;
};

/* One direction of one call (A_i -> B_i or B_i -> A_i). */
struct eb_leg {
	struct eb_rec *recs;     /* nframes, a slice of the run's block */
	uint32_t nsent;          /* frames 0..nsent-1 were sent */
	uint32_t dup;            /* arrivals of a frame already received */
	uint32_t corrupt;        /* arrivals whose bytes differ from what was sent */
	uint32_t unmatched;      /* arrivals whose RTMP timestamp names no sent frame */
	uint32_t send_err;       /* mcall_send_audio() refused */
};

/* CPU and run-queue time of one thread, /proc/self/task/TID/schedstat. */
struct eb_thread {
	uint64_t run_ns, wait_ns;
};

enum { EB_MEDIA_A, EB_MEDIA_B, EB_CONTROL, EB_NTHREADS };

/* A moment of the measurement window. */
struct eb_snap {
	int64_t wall_ns;
	int64_t proc_ns;         /* CLOCK_PROCESS_CPUTIME_ID: every thread */
	struct eb_thread th[EB_NTHREADS];
};

/* The media side's counters, summed over every call end (mcall_stats). */
struct eb_engine {
	uint64_t tx_before_ready, tx_ring_full, rx_ring_full, send_errors;
	uint64_t jb_lost, jb_late, jb_dups, jb_dropped, srtp_fail, rtp_recv;
	uint32_t jb_delay_max_ms;
	unsigned stats_missing;  /* ends whose fresh snapshot did not come */
};

/* One run: one size, one receive path. */
struct eb_result {
	unsigned calls, up;      /* asked for, and set up (both ends MEDIA) */
	bool attach;
	unsigned failed_ends;    /* FAILED, CONSENT_LOST or SECURITY_ERROR, any time */
	char why[64];            /* the first of them */
	double setup_ms, batch_max_ms;
	double window_s;
	uint64_t sent, received, lost, dup, corrupt, unmatched, send_err;
	double lat_ms[6];        /* p50, p90, p99, p99.9, max, mean */
	struct eb_snap w0, w1;   /* the window: first and last send tick */
	uint64_t rss_kb[3];      /* engines up, calls up, after the drain */
	double load[2];          /* 1-minute load average before and after */
	struct eb_engine eng;
};

/* ebreport.c */
pid_t eb_media_tid(pid_t except);   /* a thread named rx-media, not except; 0: none */
void eb_snap(struct eb_snap *s, const pid_t tid[EB_NTHREADS]);
uint64_t eb_rss_kb(void);
double eb_loadavg(void);
/* Counts and latency percentiles of the legs into res.  0 or ENOMEM. */
int eb_tally(struct eb_result *res, const struct eb_leg *legs, size_t nlegs);
/* One line per frame sent: calls,mode,leg,frame,sent (ns from the
 * window's start),latency (ns; -1: lost). */
void eb_raw(FILE *out, const struct eb_result *res, const struct eb_leg *legs, size_t nlegs);
void eb_print_header(FILE *out);
void eb_print_row(FILE *out, const struct eb_result *res);
void eb_print_ratio(FILE *out, const struct eb_result *ours, const struct eb_result *att);
void eb_json(FILE *out, const struct eb_result *res, size_t n, unsigned seconds,
	     unsigned batch, bool plain);

#endif
