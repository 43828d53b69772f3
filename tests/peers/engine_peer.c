/* engine_peer: one media engine (media/engine.h) running one call, driven
 * by a test over stdin/stdout.  It is the C counterpart of werift_peer.mjs:
 * the test driver does the signalling between the two (peers.py
 * EnginePeer, test_engine_werift.py), so a foreign ICE + DTLS-SRTP stack
 * meets our engine with nothing of ours in between.
 *
 *   engine_peer [--controlling|--controlled] [--send FRAMES] [--recv OUT]
 *               [--pt 97] [--timeout S] [--log LEVEL]
 *
 * Host candidates on 127.0.0.1 only, rtcp-mux (one component), DTLS-SRTP.
 * FRAMES and OUT are peers.py frame files: repeated {u16 BE length, bytes}.
 * Once media is up, each frame of FRAMES goes out as one RTMP audio message
 * (FFmpeg's FLV byte 0xB6 in front) at RTMP time 20 ms x its index, paced
 * at real time.  Each RTMP audio message the engine delivers (fpp 1) is
 * appended to OUT without its FLV byte, with one write(), so the file is
 * complete whenever the driver reads it.
 *
 * Protocol: one line per message, words separated by spaces; the trailing
 * WHY of an event is free text.
 *   out  local UFRAG PWD
 *        fp sha-256 AB:CD:...           our certificate
 *        cand FOUNDATION COMP udp PRIORITY IP PORT TYPE [raddr IP rport PORT]
 *        gathered
 *   in   remote-cred UFRAG PWD
 *        remote-fp HASH VALUE           the peer's certificate
 *        remote-cand FOUNDATION COMP udp PRIORITY IP PORT TYPE [raddr IP rport PORT]
 *        remote-eoc
 *        setup active|passive           OUR DTLS role; DTLS is set once this
 *                                       and remote-fp have both come
 *        stats                          -> one "stats" line, fresh
 *        stop, or stdin EOF             -> "stats", "done", exit 0
 *   out  connected                      ICE has a pair
 *        media                          DTLS-SRTP up: the frames start
 *        sent N                         every frame of FRAMES went out
 *        failed WHY | consent-lost | security-error WHY
 *                                       final for the call; we wait for stop
 *        stats KEY=VALUE ...            mcall_stats() (table below)
 *        done sent=N received=M
 *        error WHAT                     a bad command, --timeout (default 60 s)
 *                                       or a local failure: "stats", "done",
 *                                       exit 1
 * stdin must be pollable (a pipe or socket, not a file).  Logs go to stderr. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "buf.h"
#include "engine.h"
#include "log.h"
#include "loop.h"
#include "mem.h"

#define TAG 0xB6             /* FFmpeg's FLV byte for Speex */
#define FRAME_MS 20
#define LINE_MAX_LEN 4096
#define MAX_WORDS 16
#define STATS_WAIT_MS 2000   /* for the final snapshot */

struct peer {
	struct loop *loop;
	struct mengine *e;
	struct mcall *c;
	struct tmr send_tmr, life_tmr, stats_tmr;
	struct buf in;             /* stdin, up to a whole line */
	bool stdin_on;
	/* --send: the file, walked in order */
	uint8_t *frames;
	size_t frames_len, send_pos;
	unsigned nframes, nsent;
	uint64_t t0;               /* when media came up */
	int recv_fd;               /* --recv, or -1 */
	unsigned nrecv;
	/* DTLS, once both are known */
	char remote_fp[200];
	int role;                  /* -1 until "setup" */
	unsigned stats_wanted;     /* "stats" lines owed */
	bool final, stopping;
	int status;
};

/* One protocol line on stdout, whole. */
__attribute__((format(printf, 1, 2)))
static void out(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

/* --- stats --- */

enum kind { K_U64, K_I64, K_U32 };

static const struct {
	const char *name;
	size_t off;
	enum kind kind;
} stat_fields[] = {
#define F(key, field, k) {key, offsetof(struct mcall_stats, field), k}
	F("rtp_sent", rtp_sent, K_U64), F("rtp_bytes_sent", rtp_bytes_sent, K_U64),
	F("rtcp_sent", rtcp_sent, K_U64), F("tx_before_ready", tx_before_ready, K_U64),
	F("tx_ring_full", tx_ring_full, K_U64), F("send_errors", send_errors, K_U64),
	F("rtp_recv", rtp_recv, K_U64), F("rtp_bytes_recv", rtp_bytes_recv, K_U64),
	F("rtcp_recv", rtcp_recv, K_U64), F("rx_ring_full", rx_ring_full, K_U64),
	F("ssrc_remote", ssrc_remote, K_U32), F("lost", lost, K_I64),
	F("jitter", jitter, K_U32), F("remote_lost", remote_lost, K_I64),
	F("rtt_ms", rtt_ms, K_U32), F("bad_packets", bad_packets, K_U64),
	F("bad_rtp", bad_rtp, K_U64), F("wrong_pt", wrong_pt, K_U64),
	F("srtp_auth_fail", srtp_auth_fail, K_U64), F("srtp_replay", srtp_replay, K_U64),
	F("dtls_bad", dtls_bad, K_U64), F("before_secure", before_secure, K_U64),
	F("tx_frames_out", tx.frames_out, K_U64), F("tx_bad", tx.bad, K_U64),
	F("rx_frames_out", rx.frames_out, K_U64), F("rx_lost", rx.lost, K_U64),
	F("rx_late", rx.late, K_U64), F("rx_dups", rx.dups, K_U64),
	F("rx_dropped", rx.dropped, K_U64), F("rx_bad", rx.bad, K_U64),
#undef F
};

static void print_stats(const struct mcall_stats *st)
{
	char line[2048];
	size_t n = 0;

	n += (size_t)snprintf(line, sizeof(line), "stats");
	for (size_t i = 0; i < sizeof(stat_fields) / sizeof(stat_fields[0]) && n < sizeof(line); i++) {
		const uint8_t *f = (const uint8_t *)st + stat_fields[i].off;
		long long v;
		switch (stat_fields[i].kind) {
		case K_U64: { uint64_t x; memcpy(&x, f, sizeof(x)); v = (long long)x; break; }
		case K_I64: { int64_t x; memcpy(&x, f, sizeof(x)); v = x; break; }
		default: { uint32_t x; memcpy(&x, f, sizeof(x)); v = x; break; }
		}
		n += (size_t)snprintf(line + n, sizeof(line) - n, " %s=%lld", stat_fields[i].name, v);
	}
	out("%s", line);
}

/* --- the end --- */

static void end(struct peer *p)
{
	static const struct mcall_stats none;

	tmr_cancel(p->loop, &p->stats_tmr);
	print_stats(p->c ? mcall_stats(p->c) : &none);
	out("done sent=%u received=%u", p->nsent, p->nrecv);
	loop_stop(p->loop);
}

static void on_stats_late(void *arg)
{
	struct peer *p = arg;

	LOGW("no fresh stats within %d ms: the last snapshot is printed", STATS_WAIT_MS);
	end(p);
}

/* Stop everything, ask for a last snapshot, then end(). */
static void finish(struct peer *p, int status)
{
	if (p->stopping)
		return;
	p->stopping = true;
	p->status = status;
	tmr_cancel(p->loop, &p->send_tmr);
	tmr_cancel(p->loop, &p->life_tmr);
	if (p->stdin_on) {
		loop_fd_close(p->loop, STDIN_FILENO);
		p->stdin_on = false;
	}
	if (p->c && !mcall_request_stats(p->c) &&
	    !tmr_start(p->loop, &p->stats_tmr, STATS_WAIT_MS, on_stats_late, p)) {
		p->stats_wanted++;
		return;
	}
	end(p);
}

static void fail(struct peer *p, const char *what)
{
	out("error %s", what);
	finish(p, 1);
}

static void on_life(void *arg)
{
	fail(arg, "timeout");
}

/* --- frames out --- */

/* Frame nsent is due at t0 + 20 ms x nsent, at RTMP time 20 ms x nsent. */
static void on_send(void *arg)
{
	struct peer *p = arg;
	uint64_t now = loop_now(), due = now;
	uint8_t body[MCALL_AUDIO_MAX];

	while (p->nsent < p->nframes && now >= (due = p->t0 + FRAME_MS * (uint64_t)p->nsent)) {
		size_t n = be16(p->frames + p->send_pos);
		int err;
		body[0] = TAG;
		memcpy(body + 1, p->frames + p->send_pos + 2, n);
		p->send_pos += 2 + n;
		err = mcall_send_audio(p->c, FRAME_MS * p->nsent, body, 1 + n);
		if (err) {
			LOGE("mcall_send_audio: %s", strerror(-err));
			fail(p, "send");
			return;
		}
		p->nsent++;
	}
	if (p->nsent == p->nframes) {
		out("sent %u", p->nsent);
		return;
	}
	if (tmr_start(p->loop, &p->send_tmr, due - now, on_send, p))
		fail(p, "timer");
}

/* The frames file, checked whole: every frame fits an RTMP message. */
static int load_frames(struct peer *p, const char *path)
{
	FILE *f = fopen(path, "rb");
	size_t pos = 0;
	long sz;

	if (!f)
		return -errno;
	if (fseek(f, 0, SEEK_END) || (sz = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) ||
	    !(p->frames = mem_alloc((size_t)sz + 1, NULL)) ||
	    fread(p->frames, 1, (size_t)sz, f) != (size_t)sz) {
		fclose(f);
		return -EIO;
	}
	fclose(f);
	p->frames_len = (size_t)sz;
	while (pos + 2 <= p->frames_len) {
		size_t n = be16(p->frames + pos);
		if (!n || n + 1 > MCALL_AUDIO_MAX || pos + 2 + n > p->frames_len)
			return -EBADMSG;
		pos += 2 + n;
		p->nframes++;
	}
	return pos == p->frames_len ? 0 : -EBADMSG;
}

/* --- the call's events and audio --- */

static void on_event(struct mcall *c, const struct mcall_event *ev, void *arg)
{
	struct peer *p = arg;
	const struct ice_cand *k = ev->cand;

	(void)c;
	switch (ev->type) {
	case MCALL_EV_CANDIDATE:
		if (k->rel_ip[0])
			out("cand %s %u udp %u %s %u %s raddr %s rport %u", k->foundation, k->comp,
			    k->priority, k->ip, k->port, ice_cand_type_name(k->type), k->rel_ip,
			    k->rel_port);
		else
			out("cand %s %u udp %u %s %u %s", k->foundation, k->comp, k->priority, k->ip,
			    k->port, ice_cand_type_name(k->type));
		break;
	case MCALL_EV_GATHERING_DONE:
		out("gathered");
		break;
	case MCALL_EV_CONNECTED:
		out("connected");
		break;
	case MCALL_EV_MEDIA:
		out("media");
		p->t0 = loop_now();
		if (!p->stopping && tmr_start(p->loop, &p->send_tmr, 0, on_send, p))
			fail(p, "timer");
		break;
	case MCALL_EV_FAILED:
	case MCALL_EV_CONSENT_LOST:
	case MCALL_EV_SECURITY_ERROR:
		p->final = true;
		tmr_cancel(p->loop, &p->send_tmr);
		if (ev->type == MCALL_EV_CONSENT_LOST)
			out("consent-lost");
		else
			out("%s %s", ev->type == MCALL_EV_FAILED ? "failed" : "security-error",
			    ev->why ? ev->why : "?");
		break;
	case MCALL_EV_STATS:
		if (!p->stats_wanted)
			break;   /* a periodic one */
		p->stats_wanted--;
		if (p->stopping)
			end(p);
		else
			print_stats(ev->stats);
		break;
	}
}

static void on_audio(struct mcall *c, uint32_t ts, const uint8_t *body, size_t len, void *arg)
{
	struct peer *p = arg;
	uint8_t rec[2 + MCALL_AUDIO_MAX];

	(void)c;
	(void)ts;
	if (len < 2 || len > MCALL_AUDIO_MAX || body[0] != TAG) {
		LOGE("audio message of %zu bytes, FLV byte 0x%02x", len, len ? body[0] : 0);
		fail(p, "bad audio message");
		return;
	}
	p->nrecv++;
	if (p->recv_fd < 0)
		return;
	put_be16(rec, (uint32_t)(len - 1));
	memcpy(rec + 2, body + 1, len - 1);
	if (write(p->recv_fd, rec, len + 1) != (ssize_t)(len + 1))
		fail(p, "cannot write the --recv file");
}

/* --- commands --- */

static int parse_uint(const char *s, unsigned long max, unsigned long *v)
{
	char *end;

	errno = 0;
	*v = strtoul(s, &end, 10);
	return errno || end == s || *end || *v > max || s[0] == '-' ? -EINVAL : 0;
}

static int cmd_cred(struct peer *p, int argc, char **argv)
{
	return mcall_set_remote_credentials(p->c, argv[1], argv[2]);
}

static int maybe_dtls(struct peer *p)
{
	if (p->role < 0 || !p->remote_fp[0])
		return 0;
	return mcall_set_dtls(p->c, (enum mdtls_role)p->role, p->remote_fp);
}

static int cmd_fp(struct peer *p, int argc, char **argv)
{
	if (strncasecmp(argv[1], "sha-", 4) || p->remote_fp[0] ||
	    strlen(argv[2]) >= sizeof(p->remote_fp))
		return -EINVAL;
	snprintf(p->remote_fp, sizeof(p->remote_fp), "%s", argv[2]);
	return maybe_dtls(p);
}

static int cmd_setup(struct peer *p, int argc, char **argv)
{
	if (p->role >= 0)
		return -EALREADY;
	if (!strcmp(argv[1], "active"))
		p->role = MDTLS_ACTIVE;
	else if (!strcmp(argv[1], "passive"))
		p->role = MDTLS_PASSIVE;
	else
		return -EINVAL;
	return maybe_dtls(p);
}

static int cmd_cand(struct peer *p, int argc, char **argv)
{
	struct ice_cand k;
	unsigned long comp, prio, port, rport = 0;

	memset(&k, 0, sizeof(k));
	if (strlen(argv[1]) >= sizeof(k.foundation) || strlen(argv[5]) >= sizeof(k.ip) ||
	    parse_uint(argv[2], 2, &comp) || parse_uint(argv[4], UINT32_MAX, &prio) ||
	    parse_uint(argv[6], 65535, &port) || strcasecmp(argv[3], "udp") ||
	    ice_cand_type_parse(argv[7], &k.type))
		return -EINVAL;
	if (argc == 12) {
		if (strcmp(argv[8], "raddr") || strcmp(argv[10], "rport") ||
		    strlen(argv[9]) >= sizeof(k.rel_ip) || parse_uint(argv[11], 65535, &rport))
			return -EINVAL;
		snprintf(k.rel_ip, sizeof(k.rel_ip), "%s", argv[9]);
	} else if (argc != 8) {
		return -EINVAL;
	}
	snprintf(k.foundation, sizeof(k.foundation), "%s", argv[1]);
	snprintf(k.ip, sizeof(k.ip), "%s", argv[5]);
	k.comp = (unsigned)comp;
	k.transport = ICE_TP_UDP;
	k.priority = (uint32_t)prio;
	k.port = (uint16_t)port;
	k.rel_port = (uint16_t)rport;
	return mcall_add_remote_candidate(p->c, &k);
}

static int cmd_eoc(struct peer *p, int argc, char **argv)
{
	return mcall_end_of_candidates(p->c);
}

static int cmd_stats(struct peer *p, int argc, char **argv)
{
	int err = mcall_request_stats(p->c);

	if (!err)
		p->stats_wanted++;
	return err;
}

static int cmd_stop(struct peer *p, int argc, char **argv)
{
	finish(p, 0);
	return 0;
}

static const struct {
	const char *name;
	int argc_min, argc_max;   /* words, the command's included */
	int (*h)(struct peer *p, int argc, char **argv);
} cmds[] = {
	{"remote-cred", 3, 3, cmd_cred},
	{"remote-fp", 3, 3, cmd_fp},
	{"remote-cand", 8, 12, cmd_cand},
	{"remote-eoc", 1, 1, cmd_eoc},
	{"setup", 2, 2, cmd_setup},
	{"stats", 1, 1, cmd_stats},
	{"stop", 1, 1, cmd_stop},
};

static void command(struct peer *p, char *line)
{
	char *argv[MAX_WORDS], *save = NULL, *w;
	char what[160];
	int argc = 0, err;

	for (w = strtok_r(line, " \t\r", &save); w && argc < MAX_WORDS;
	     w = strtok_r(NULL, " \t\r", &save))
		argv[argc++] = w;
	if (!argc)
		return;
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (strcmp(argv[0], cmds[i].name))
			continue;
		err = argc < cmds[i].argc_min || argc > cmds[i].argc_max || w ?
		      -EINVAL : cmds[i].h(p, argc, argv);
		if (err) {
			snprintf(what, sizeof(what), "%s: %s", argv[0], strerror(-err));
			fail(p, what);
		}
		return;
	}
	snprintf(what, sizeof(what), "unknown command %.100s", argv[0]);
	fail(p, what);
}

static void on_stdin(int fd, int flags, void *arg)
{
	struct peer *p = arg;
	uint8_t *nl;
	ssize_t n;

	(void)flags;
	if (buf_reserve(&p->in, 1024)) {
		fail(p, "out of memory");
		return;
	}
	n = read(fd, p->in.data + p->in.len, p->in.cap - p->in.len);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		if (n < 0)
			LOGE("stdin: %s", strerror(errno));
		finish(p, n < 0);
		return;
	}
	p->in.len += (size_t)n;
	while (!p->stopping && (nl = memchr(buf_head(&p->in), '\n', buf_unread(&p->in)))) {
		char *line = (char *)p->in.data + p->in.pos;
		*nl = '\0';
		buf_consume(&p->in, (size_t)(nl - buf_head(&p->in)) + 1);
		command(p, line);
	}
	buf_compact(&p->in);
	if (!p->stopping && buf_unread(&p->in) > LINE_MAX_LEN)
		fail(p, "line too long");
}

/* --- main --- */

static const char usage[] =
	"usage: engine_peer [--controlling|--controlled] [--send FRAMES] [--recv OUT]\n"
	"                   [--pt 97] [--timeout SECONDS] [--log error|warn|info|debug]\n";

static int start(struct peer *p, bool controlling, unsigned pt)
{
	static const struct mengine_config cfg = {.ice = {.local_addrs = "127.0.0.1"}};
	struct mcall_params mp = {.controlling = controlling, .ncomp = 1, .pt = (uint8_t)pt,
				  .tag = TAG, .fpp = 1, .name = "engine_peer"};
	const char *u, *pw;
	int err;

	if ((err = mengine_alloc(&p->e, p->loop, &cfg)) ||
	    (err = mcall_alloc(&p->c, p->e, &mp, on_event, on_audio, p)))
		return err;
	mcall_local_credentials(p->c, &u, &pw);
	out("local %s %s", u, pw);
	out("fp sha-256 %s", mengine_fingerprint(p->e));
	if ((err = loop_fd_listen(p->loop, STDIN_FILENO, LOOP_READ, on_stdin, p))) {
		LOGE("stdin cannot be polled (a pipe is needed): %s", strerror(err));
		return -err;   /* base/ gives positive errno values */
	}
	p->stdin_on = true;
	return mcall_gather(p->c);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"controlling", no_argument, NULL, 'C'}, {"controlled", no_argument, NULL, 'c'},
		{"send", required_argument, NULL, 's'}, {"recv", required_argument, NULL, 'r'},
		{"pt", required_argument, NULL, 'p'}, {"timeout", required_argument, NULL, 't'},
		{"log", required_argument, NULL, 'l'}, {NULL, 0, NULL, 0},
	};
	const char *send = NULL, *recv = NULL;
	unsigned long pt = 97, timeout = 60;
	bool controlling = false;
	struct peer p;
	struct mem_stat ms;
	int o, lvl, err = 0;

	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'C': controlling = true; break;
		case 'c': controlling = false; break;
		case 's': send = optarg; break;
		case 'r': recv = optarg; break;
		case 'p': if (parse_uint(optarg, 127, &pt)) goto bad; break;
		case 't': if (parse_uint(optarg, 86400, &timeout) || !timeout) goto bad; break;
		case 'l': if ((lvl = log_level_parse(optarg)) < 0) goto bad;
			  log_set_level((enum log_level)lvl); break;
		default: goto bad;
		}
	}
	if (optind != argc)
		goto bad;
	log_set_prefix("engine_peer");
	memset(&p, 0, sizeof(p));
	p.role = -1;
	p.recv_fd = -1;
	buf_init(&p.in);
	tmr_init(&p.send_tmr);
	tmr_init(&p.life_tmr);
	tmr_init(&p.stats_tmr);
	if (send && (err = load_frames(&p, send)))
		LOGE("--send %s: %s", send, strerror(-err));
	else if (recv && (p.recv_fd = open(recv, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0)
		LOGE("--recv %s: %s", recv, strerror(err = errno));
	else if ((err = loop_alloc(&p.loop)))
		LOGE("loop: %s", strerror(err));
	else if ((err = tmr_start(p.loop, &p.life_tmr, timeout * 1000, on_life, &p)) ||
		 (err = -start(&p, controlling, (unsigned)pt))) {
		LOGE("start: %s", strerror(err));
		out("error start: %s", strerror(err));
	}
	if (!err && (err = loop_run(p.loop)))
		LOGE("loop: %s", strerror(err));
	if (p.loop) {
		tmr_cancel(p.loop, &p.send_tmr);
		tmr_cancel(p.loop, &p.life_tmr);
		tmr_cancel(p.loop, &p.stats_tmr);
	}
	p.c = mem_deref(p.c);
	p.e = mem_deref(p.e);
	p.loop = mem_deref(p.loop);
	p.frames = mem_deref(p.frames);
	buf_reset(&p.in);
	if (p.recv_fd >= 0)
		close(p.recv_fd);
	mem_get_stat(&ms);
	if (ms.blocks) {
		LOGE("%llu mem blocks leaked", (unsigned long long)ms.blocks);
		return 1;
	}
	return err || p.status ? 1 : 0;
bad:
	fputs(usage, stderr);
	return 2;
}
