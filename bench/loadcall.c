/* rtmpload's call mode (paths (b) and (c), docs/benchmarks.md): logins at
 * connect, the gateway's jingle_state callbacks, and the callee's
 * timestamps mapped back to the frames the caller sent.
 *
 * Pair i's publisher (A) logs in as JIDFMT(2i), its player (B) as
 * JIDFMT(2i+1).  B plays "incoming", so the gateway answers the next call
 * on it; A publishes to B's full JID, so the gateway sends B's account a
 * session-initiate.  The pair is ready when both connections got
 * jingle_state(call, "active"): the call is accepted, though ICE and DTLS
 * may still be under way, which is what the settle time before the first
 * frame is for (audio sent before the media path is up is dropped).
 *
 * The timestamps B gets start at 0 at the first frame the gateway delivers
 * and follow the RTP clock from there, so media time = B's timestamp +
 * an offset per pair.  The offset is learnt from the payloads: the file's
 * frames are indexed by payload, and a received frame whose payload occurs
 * exactly once in the file (silence and other repeated frames do not) is
 * the latest frame A sent from that file position (A sends each position
 * at most once per loop of the file, seconds apart, and latency is
 * milliseconds).  Two such frames must agree before the offset is taken;
 * frames that arrive before that wait in a small queue and are then
 * matched like all later ones, by timestamp, and compared byte for byte
 * (except the low nibble of the FLV byte, which the gateway writes
 * itself). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "load.h"
#include "mem.h"

#define CONFIRM 2   /* unique frames that must agree on the offset */

struct fhash {
	uint64_t h;
	uint32_t idx;
};

/* FNV-1a over the payload, without the FLV byte. */
static uint64_t payload_hash(const uint8_t *body, uint32_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (uint32_t i = 1; i < len; i++)
		h = (h ^ body[i]) * 0x100000001b3ULL;
	return h;
}

static int cmp_fhash(const void *a, const void *b)
{
	const struct fhash *x = a, *y = b;

	if (x->h != y->h)
		return x->h < y->h ? -1 : 1;
	return (x->idx > y->idx) - (x->idx < y->idx);
}

bool call_same(const struct load *ld, const struct flv_frame *fr, const uint8_t *body,
	       uint32_t len)
{
	if (len != fr->len)
		return false;
	if (!load_call_mode(ld))
		return !memcmp(body, fr->body, len);
	return !len || ((body[0] >> 4 == fr->body[0] >> 4) && !memcmp(body + 1, fr->body + 1, len - 1));
}

/* The file index of the one frame with this payload; -1 if none or several. */
static long lookup(const struct load *ld, const uint8_t *body, uint32_t len)
{
	struct fhash key = {payload_hash(body, len), 0};
	size_t lo = 0, hi = ld->flv.n;
	long found = -1;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (cmp_fhash(&ld->fh[mid], &key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < ld->flv.n && ld->fh[lo].h == key.h; lo++) {
		const struct flv_frame *fr = &ld->flv.frames[ld->fh[lo].idx];
		if (!call_same(ld, fr, body, len))
			continue;
		if (found >= 0)
			return -1;   /* ambiguous: silence, a repeated frame */
		found = ld->fh[lo].idx;
	}
	return found;
}

/* "user@domain/resource" with the first "%d" replaced by n -> l; EINVAL if
 * the format has no %d or a part is missing or too long. */
static int fill_login(struct cli_login *l, const char *fmt, uint32_t n)
{
	char jid[3 * CLI_FIELD_MAX], *at, *slash;
	const char *d = strstr(fmt, "%d");
	int len;

	if (!d)
		return EINVAL;
	len = snprintf(jid, sizeof(jid), "%.*s%u%s", (int)(d - fmt), fmt, n, d + 2);
	if (len < 0 || (size_t)len >= sizeof(jid) || !(at = strchr(jid, '@')) ||
	    !(slash = strchr(at, '/')) || at == jid || slash == at + 1 || !slash[1])
		return EINVAL;
	*at = *slash = '\0';
	if (strlen(jid) >= CLI_FIELD_MAX || strlen(at + 1) >= CLI_FIELD_MAX ||
	    strlen(slash + 1) >= CLI_FIELD_MAX)
		return EINVAL;
	strcpy(l->username, jid);
	strcpy(l->domain, at + 1);
	strcpy(l->resource, slash + 1);
	return 0;
}

static int fill_server(struct cli_login *l, const struct load_opts *o)
{
	const char *colon;

	if (snprintf(l->password, sizeof(l->password), "%s", o->call_pw) >= CLI_FIELD_MAX)
		return EINVAL;
	if (!o->call_server)
		return 0;
	colon = strrchr(o->call_server, ':');
	if (!colon || colon == o->call_server || (size_t)(colon - o->call_server) >= CLI_FIELD_MAX)
		return EINVAL;
	memcpy(l->host, o->call_server, (size_t)(colon - o->call_server));
	l->port = (uint16_t)atoi(colon + 1);
	return l->port ? 0 : EINVAL;
}

/* The callee's full JID as a stream name: JIDFMT(n), or --call-to's. */
static int target_name(const struct load *ld, const struct pair *p, char *dst, size_t size)
{
	const char *fmt = ld->o.call_to ? ld->o.call_to : ld->o.call_jid;
	const char *d = strstr(fmt, "%d");
	uint32_t n = ld->o.call_to ? p->idx : 2 * p->idx + 1;
	int len = d ? snprintf(dst, size, "%.*s%u%s", (int)(d - fmt), fmt, n, d + 2)
		    : snprintf(dst, size, "%s", fmt);

	return len < 0 || (size_t)len >= size ? EINVAL : 0;
}

int call_init(struct load *ld)
{
	const struct flv_file *f = &ld->flv;
	int err;

	ld->fh = mem_alloc(f->n * sizeof(*ld->fh), NULL);
	if (!ld->fh)
		return ENOMEM;
	for (uint32_t i = 0; i < f->n; i++)
		ld->fh[i] = (struct fhash){payload_hash(f->frames[i].body, f->frames[i].len), i};
	qsort(ld->fh, f->n, sizeof(*ld->fh), cmp_fhash);
	for (uint32_t i = 0; i < ld->o.pairs; i++) {
		struct pair *p = &ld->pairs[i];

		if ((err = fill_login(&p->login_a, ld->o.call_jid, 2 * i)) ||
		    (err = fill_login(&p->login_b, ld->o.call_jid, 2 * i + 1)) ||
		    (err = fill_server(&p->login_a, &ld->o)) ||
		    (err = fill_server(&p->login_b, &ld->o)) ||
		    (err = target_name(ld, p, p->pub.name, sizeof(p->pub.name))))
			return err;
		snprintf(p->play.name, sizeof(p->play.name), ANSWER_NAME);
		p->pub.login = &p->login_a;
		p->play.login = &p->login_b;
		p->pub.invokeh = p->play.invokeh = call_invoke;
	}
	return 0;
}

void call_fini(struct load *ld)
{
	for (uint32_t i = 0; ld->pairs && i < ld->o.pairs; i++)
		for (uint32_t j = 0; j < ld->pairs[i].npend; j++)
			mem_deref(ld->pairs[i].pend[j].body);
	ld->fh = mem_deref(ld->fh);
}

bool call_up(const struct pair *p)
{
	bool callee = p->ld->o.mode == MODE_PAIR;

	return p->pub.state == CLI_READY && p->up_a &&
	       (!callee || (p->play.state == CLI_READY && p->up_b));
}

void call_invoke(struct cli *c, const char *name, struct amf0_r *args)
{
	struct pair *p = c->arg;
	struct load *ld = p->ld;
	char sid[64], state[16], reason[32] = "";

	if (strcmp(name, "jingle_state") || amf0_skip(args) ||
	    amf0_r_str(args, sid, sizeof(sid)) || amf0_r_str(args, state, sizeof(state)))
		return;
	amf0_r_str(args, reason, sizeof(reason));
	if (!strcmp(state, "active")) {
		*(c == &p->pub ? &p->up_a : &p->up_b) = true;
		if (call_up(p))
			load_pair_ready(p);
		return;
	}
	if (strcmp(state, "ended"))
		return;
	if (!ld->call_end[0])
		snprintf(ld->call_end, sizeof(ld->call_end), "pair %u: %s", p->idx, reason);
	if (!p->ready)
		load_pair_fail(p, "the call ended before it was up");
	else if (ld->phase == PH_STREAM || ld->phase == PH_DRAIN)
		p->ended++;
}

static void deliver(struct pair *p, uint32_t ts, const uint8_t *body, uint32_t len, int64_t now)
{
	int64_t rel = (int64_t)ts + p->off_ms;

	if (rel < 0 || rel > UINT32_MAX)
		p->unknown++;
	else
		load_frame(p, (uint32_t)rel, body, len, now);
}

/* The offset if this payload is unique in the file and pair p sent it. */
static bool identify(const struct pair *p, const uint8_t *body, uint32_t len, uint32_t ts,
		     int64_t *off)
{
	const struct load *ld = p->ld;
	uint32_t n = ld->flv.n, k0, k;
	long f = lookup(ld, body, len);

	if (f < 0)
		return false;
	/* pair p's k-th frame is file frame (seek_idx + idx + k) mod n */
	k0 = (uint32_t)(((uint64_t)f + n - (ld->seek_idx + p->idx) % n) % n);
	if (k0 >= p->k)
		return false;   /* not sent (yet): not ours */
	k = k0 + (p->k - 1 - k0) / n * n;   /* the latest time it was sent */
	*off = (int64_t)p->recs[k].rel - ts;
	return true;
}

static void keep(struct pair *p, const struct rtmp_msg *m, int64_t now)
{
	struct pend *q;

	if (p->npend == CALL_PEND_MAX) {
		mem_deref(p->pend[0].body);
		memmove(p->pend, p->pend + 1, (CALL_PEND_MAX - 1) * sizeof(*p->pend));
		p->npend--;
		p->unmatched++;
	}
	q = &p->pend[p->npend];
	q->body = mem_alloc(m->len ? m->len : 1, NULL);
	if (!q->body) {
		p->unmatched++;
		return;
	}
	memcpy(q->body, m->body, m->len);
	q->ts = m->ts;
	q->len = m->len;
	q->now = now;
	p->npend++;
}

void call_audio(struct pair *p, const struct rtmp_msg *m, int64_t now)
{
	int64_t off;

	if (p->have_off) {
		deliver(p, m->ts, m->body, m->len, now);
		return;
	}
	keep(p, m, now);
	if (!identify(p, m->body, m->len, m->ts, &off))
		return;
	if (p->cand_n && off == p->cand_off) {
		p->cand_n++;
	} else {
		p->off_conflicts += p->cand_n > 0;
		p->cand_off = off;
		p->cand_n = 1;
	}
	if (p->cand_n < CONFIRM)
		return;
	p->have_off = true;
	p->off_ms = off;
	for (uint32_t j = 0; j < p->npend; j++) {
		deliver(p, p->pend[j].ts, p->pend[j].body, p->pend[j].len, p->pend[j].now);
		p->pend[j].body = mem_deref(p->pend[j].body);
	}
	p->npend = 0;
}
