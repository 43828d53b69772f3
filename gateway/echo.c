/* The echo test through the media engine.
 *
 * A user's microphone check should exercise the path their calls take, so
 * an echo publisher's audio does not go straight to its players: it goes
 * through two calls of this worker's media engine, wired to each other
 * over loopback ICE with DTLS-SRTP.  Call A (controlling, DTLS passive)
 * takes the RTMP messages and sends RTP (repacketizer, SRTP, ICE); call B
 * (controlled, DTLS active) receives it (ICE, SRTP, jitter buffer) and
 * gives back RTMP messages, which go to the publisher's players.
 *
 * The pair is made on the publisher's first audio message, once its FLV
 * byte and frames per message are known, so the players get back the
 * same framing.  Until both calls carry media (typically 50-200 ms on
 * loopback) audio is relayed directly, as it is for good if the engine is
 * off, full, or the pair fails: the echo then still works, and the log
 * says why it is not the real path.  Each message is relayed exactly once
 * and in order: direct before the switch, through the engine after.
 *
 * B's RTMP timestamps start at 0 at its first message; adding the RTMP
 * timestamp of the first message given to A puts them back on the
 * publisher's clock, gaps (VAD silence) and 32-bit wrap included.
 *
 * When the publisher stops, the messages still inside the engine (given
 * to A, not yet back from B: usually the last one, under a millisecond
 * of travel) would be lost with the pair, so the last TAIL messages given
 * to A are kept, and those that did not come back go to the players
 * directly before they hear the end. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "engine.h"
#include "flv.h"
#include "log.h"
#include "mem.h"
#include "rtmp.h"
#include "speex.h"

#define TAIL 8   /* messages kept for the end (a power of 2) */

struct echo_msg {
	uint32_t ts, len;
	uint8_t body[AUDIO_SLOT];
};

struct echo_pair {
	struct rtmp_stream *pub;
	struct echo_msg tail[TAIL];   /* the last messages given to A, by in % TAIL */
	struct mcall *a, *b;
	bool a_media, b_media;
	bool started;         /* a message went to A: ts0 is set */
	uint32_t ts0;
	uint64_t in, out;     /* RTMP messages given to A, got from B */
};

static void pair_destructor(void *arg)
{
	struct echo_pair *p = arg;

	mem_deref(p->a);
	mem_deref(p->b);
}

static void log_done(const struct echo_pair *p, const char *why)
{
	const struct mcall_stats *sa = mcall_stats(p->a), *sb = mcall_stats(p->b);

	LOGI("conn %llu: echo '%s' through the media engine %s: %llu messages in, %llu out"
	     " (last report: %llu RTP sent, %llu received, %lld lost)",
	     (unsigned long long)p->pub->conn->id, p->pub->name, why,
	     (unsigned long long)p->in, (unsigned long long)p->out,
	     (unsigned long long)sa->rtp_sent, (unsigned long long)sb->rtp_recv,
	     (long long)sb->lost);
}

/* Drop the pair and relay directly from now on. */
static void fall_back(struct echo_pair *p, const char *why)
{
	struct rtmp_stream *s = p->pub;

	LOGW("conn %llu: echo '%s': the media engine path failed (%s); relaying directly",
	     (unsigned long long)s->conn->id, s->name, why);
	s->echo_direct = true;
	s->echo = mem_deref(s->echo);
}

static void to_players(struct rtmp_stream *s, uint32_t ts, const uint8_t *body, uint32_t len)
{
	LIST_FOREACH(&s->subs, e) {
		struct rtmp_stream *p = e->data;
		if (p->recv_audio)
			conn_send_audio(p->conn, p->id, ts, body, len);
	}
}

static void on_event(struct mcall *c, const struct mcall_event *ev, void *arg)
{
	struct echo_pair *p = arg;
	struct mcall *other = c == p->a ? p->b : p->a;

	switch (ev->type) {
	case MCALL_EV_CANDIDATE:
		/* Host candidates only: the pair talks over this machine. */
		if (ev->cand->type == ICE_CAND_HOST)
			mcall_add_remote_candidate(other, ev->cand);
		break;
	case MCALL_EV_GATHERING_DONE:
		mcall_end_of_candidates(other);
		break;
	case MCALL_EV_MEDIA:
		if (c == p->a)
			p->a_media = true;
		else
			p->b_media = true;
		break;
	case MCALL_EV_FAILED:
		fall_back(p, ev->why ? ev->why : "ICE failed");
		break;
	case MCALL_EV_CONSENT_LOST:
		fall_back(p, "consent lost");
		break;
	case MCALL_EV_SECURITY_ERROR:
		fall_back(p, ev->why ? ev->why : "DTLS failed");
		break;
	default:
		break;
	}
}

static void on_audio(struct mcall *c, uint32_t ts, const uint8_t *body, size_t len, void *arg)
{
	struct echo_pair *p = arg;

	(void)c;
	p->out++;
	to_players(p->pub, p->ts0 + ts, body, (uint32_t)len);
}

static int pair_alloc(struct rtmp_stream *s, uint8_t tag, unsigned fpp)
{
	struct mengine *e = s->conn->srv->eng;
	struct mcall_params mp = {.ncomp = 1, .pt = 97, .tag = tag, .fpp = fpp, .name = "echo"};
	const char *fp = mengine_fingerprint(e);
	const char *ufrag, *pwd;
	struct echo_pair *p;
	int err;

	p = mem_zalloc(sizeof(*p), pair_destructor);
	if (!p)
		return -ENOMEM;
	p->pub = s;
	mp.controlling = true;
	err = mcall_alloc(&p->a, e, &mp, on_event, NULL, p);
	mp.controlling = false;
	if (!err)
		err = mcall_alloc(&p->b, e, &mp, on_event, on_audio, p);
	if (err)
		goto out;
	mcall_local_credentials(p->b, &ufrag, &pwd);
	err = mcall_set_remote_credentials(p->a, ufrag, pwd);
	mcall_local_credentials(p->a, &ufrag, &pwd);
	err = err ? err : mcall_set_remote_credentials(p->b, ufrag, pwd);
	/* Both ends are this engine: one certificate, so one fingerprint. */
	err = err ? err : mcall_set_dtls(p->a, MDTLS_PASSIVE, fp);
	err = err ? err : mcall_set_dtls(p->b, MDTLS_ACTIVE, fp);
	err = err ? err : mcall_gather(p->a);
	err = err ? err : mcall_gather(p->b);
 out:
	if (err) {
		mem_deref(p);
		return err;
	}
	s->echo = p;
	return 0;
}

/* The first audio message of an echo publisher: learn its framing and
 * make the pair.  body is a Speex FLV message (checked by the caller). */
static void start(struct rtmp_stream *s, const struct rtmp_msg *m)
{
	struct speex_frame f[REPACK_MAX_FPP];
	int n, err;

	n = speex_walk(m->body + 1, m->len - 1, f, REPACK_MAX_FPP, NULL);
	if (n <= 0) {
		/* Not a message the repacketizer would take: keep the plain
		 * relay rather than lose the user's mic check. */
		LOGW("conn %llu: echo '%s': first message is not Speex the engine can split (%d);"
		     " relaying directly", (unsigned long long)s->conn->id, s->name, n);
		s->echo_direct = true;
		return;
	}
	err = pair_alloc(s, m->body[0], (unsigned)n);
	if (err) {
		LOGW("conn %llu: echo '%s': no media engine pair (%s); relaying directly",
		     (unsigned long long)s->conn->id, s->name, strerror(-err));
		s->echo_direct = true;
	}
}

void echo_audio(struct rtmp_stream *s, const struct rtmp_msg *m)
{
	struct echo_pair *p;

	if (!s->echo && !s->echo_direct && s->conn->srv->eng)
		start(s, m);
	p = s->echo;
	if (!p || !p->a_media || !p->b_media) {
		to_players(s, m->ts, m->body, m->len);
		return;
	}
	if (!p->started) {
		p->started = true;
		p->ts0 = m->ts;
		LOGI("conn %llu: echo '%s' now goes through the media engine",
		     (unsigned long long)s->conn->id, s->name);
	}
	if (m->len > AUDIO_SLOT || mcall_send_audio(p->a, m->ts, m->body, m->len)) {
		LOGD("conn %llu: echo: message of %u bytes too long for the engine",
		     (unsigned long long)s->conn->id, m->len);
		return;
	}
	p->tail[p->in % TAIL].ts = m->ts;
	p->tail[p->in % TAIL].len = m->len;
	memcpy(p->tail[p->in % TAIL].body, m->body, m->len);
	p->in++;
}

/* What the engine still held: straight to the players, in order. */
static void flush_tail(struct echo_pair *p)
{
	uint64_t k = p->out + TAIL < p->in ? p->in - TAIL : p->out;

	for (; k < p->in; k++)
		to_players(p->pub, p->tail[k % TAIL].ts, p->tail[k % TAIL].body,
			   p->tail[k % TAIL].len);
}

void echo_close(struct rtmp_stream *s)
{
	if (s->echo && s->echo->started) {
		log_done(s->echo, "ended");
		flush_tail(s->echo);
	}
	s->echo = mem_deref(s->echo);
	s->echo_direct = false;
}
