/* Internal API of rtmpload: the pairs, their sent-frame records, and the
 * report.  rtmpload.c runs the connections and the schedule; loadstats.c
 * turns the records into the report. */
#ifndef RXB_LOAD_H
#define RXB_LOAD_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/resource.h>
#include "flvfile.h"
#include "rtmpcli.h"

enum load_mode { MODE_PAIR = 0, MODE_PLAY, MODE_PUBLISH };
enum load_phase { PH_SETUP = 0, PH_STREAM, PH_DRAIN, PH_DONE };

struct load_opts {
	const char *url;          /* rtmp://HOST:PORT/APP */
	const char *flv;
	const char *prefix;       /* stream names are PREFIX + pair index */
	const char *raw;          /* per-frame records out */
	const char *record;       /* pair 0's received audio as FLV */
	enum load_mode mode;
	uint32_t pairs;
	double duration;          /* seconds of audio per pair */
	uint32_t seek_ms;         /* start at the first frame at or after this */
	uint32_t setup_par;       /* pairs setting up at once */
	double setup_timeout;     /* seconds */
	uint32_t drain_ms;        /* wait for stragglers after the last send */
	uint32_t late_ms;         /* a frame later than this counts as late */
	int server_pid;           /* read its CPU and memory over the run */
	/* call mode (loadcall.c): pair i logs in as JID(2i) and JID(2i+1) */
	const char *call_jid;     /* user@domain/resource with one %d; NULL: echo */
	const char *call_to;      /* publish only: call this JID (with %d: the pair) */
	const char *call_pw;
	const char *call_server;  /* HOST:PORT the gateway logs in to; NULL: its default */
	uint32_t settle_ms;       /* from the last call up to the first frame */
};

/* A frame the callee got before its pair's timestamp offset was known. */
struct pend {
	uint32_t ts;
	uint32_t len;
	int64_t now;
	uint8_t *body;            /* mem */
};

#define CALL_PEND_MAX 64      /* about 1.3 s of 20 ms frames */
#define ANSWER_NAME "incoming"   /* the stream a callee plays to take calls */

/* One frame a publisher sent. */
struct rec {
	uint32_t rel;             /* media time from the pair's first frame, ms */
	uint32_t nrecv;
	int64_t sent;             /* ns, 0 until sent */
	int64_t recv;             /* first arrival, ns, 0 until then */
};

struct pair {
	struct load *ld;
	uint32_t idx;
	char name[CLI_NAME_MAX];
	struct cli pub;
	struct cli play;
	bool started;
	bool ready;
	bool failed;
	int64_t t0;               /* when its first frame is due, ns */
	uint32_t k;               /* frames sent so far */
	struct rec *recs;         /* load.nframes records */
	size_t hidx;              /* heap position + 1; 0 when not queued */
	/* what the player saw */
	uint32_t got;             /* distinct frames */
	uint32_t max_rel;
	bool any_rx;
	double jitter_ns;         /* RFC 3550 estimator, on arrival vs media time */
	int64_t last_transit;
	uint32_t dup, reordered, unknown, corrupt, send_err;
	FILE *record;
	/* call mode: A (pub) calls B (play "incoming"); see loadcall.c */
	struct cli_login login_a, login_b;
	bool up_a, up_b;          /* jingle_state "active" seen */
	bool have_off;
	int64_t off_ms;           /* media time = B's timestamp + off_ms */
	int64_t cand_off;         /* an offset seen once, not yet confirmed */
	uint32_t cand_n;
	struct pend pend[CALL_PEND_MAX];
	uint32_t npend;
	uint32_t unmatched;       /* dropped from pend: never given a media time */
	uint32_t off_conflicts;   /* unique frames that disagreed on the offset */
	uint32_t ended;           /* the call ended while frames were due */
};

/* A process and its descendants (the gateway's workers), summed. */
struct proc_snap {
	bool ok;
	uint32_t procs;
	uint32_t threads;
	double cpu_s;             /* utime + stime from /proc/PID/stat */
	uint64_t run_ns;          /* /proc/PID/task/TID/schedstat: time on CPU */
	uint64_t rss_kb;          /* VmRSS */
	uint64_t hwm_kb;          /* VmHWM */
};

struct load {
	struct load_opts o;
	struct flv_file flv;
	struct cli_target tgt;
	int epfd;
	int tfd;
	struct pair *pairs;
	uint32_t nframes;         /* frames each publisher sends */
	uint32_t seek_idx;        /* file index of frame 0 */
	struct pair **heap;       /* pairs by the due time of their next frame */
	size_t nheap;
	enum load_phase phase;
	int64_t deadline;         /* of the setup, drain or play phase; 0: none */
	uint64_t total_sent, total_got;
	uint32_t next_setup, in_setup, nready, nfailed;
	const char *first_why;
	int64_t t_setup, t_stream, t_end;
	bool snapped;             /* srv0 and ru0 taken: at the first send */
	struct proc_snap srv0, srv1;
	struct rusage ru0, ru1;
	uint64_t play_frames;     /* play mode: frames received */
	int64_t start_delay;      /* ns from the last pair ready to the first frame */
	/* call mode: the file's frames sorted by payload hash (loadcall.c) */
	struct fhash *fh;
	char call_end[64];        /* the first call that ended early, and why */
};

/* rtmpload.c, for loadcall.c */
bool load_call_mode(const struct load *ld);
void load_pair_ready(struct pair *p);
void load_pair_fail(struct pair *p, const char *why);
/* The player got the frame with media time rel (ms from the pair's first). */
void load_frame(struct pair *p, uint32_t rel, const uint8_t *body, uint32_t len, int64_t now);
/* The frame pair p sends k-th. */
const struct flv_frame *load_frame_of(const struct load *ld, const struct pair *p, uint32_t k);

/* loadcall.c */
/* Index the file's payloads and fill each pair's logins.  0 or ENOMEM/EINVAL. */
int call_init(struct load *ld);
void call_fini(struct load *ld);
/* Streams started or a jingle_state came: is pair p's call up on both sides? */
bool call_up(const struct pair *p);
/* cli_invoke_h of both connections: jingle_state(call, state, reason). */
void call_invoke(struct cli *c, const char *name, struct amf0_r *args);
/* The callee's audio: learn the offset, then hand frames to load_frame(). */
void call_audio(struct pair *p, const struct rtmp_msg *m, int64_t now);
/* The payloads match (call mode compares only the codec of the FLV byte). */
bool call_same(const struct load *ld, const struct flv_frame *fr, const uint8_t *body,
	       uint32_t len);

/* procsnap.c: s->ok is false when pid is 0 or gone. */
void proc_snap(int pid, struct proc_snap *s);

/* loadstats.c */
/* Print the JSON report to out; write --raw records.  0 or EIO. */
int load_report(struct load *ld, FILE *out);

#endif
