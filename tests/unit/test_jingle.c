/* Tests for signaling/jingle.c: Jingle (XEP-0166/0167/0176/0320) and Jingle
 * Message Initiation (XEP-0353, with XEP-0280 carbons) stanzas to structs
 * and back.  The vectors are test-vectors/jingle/ (its README says where
 * each comes from).
 *
 * What our builders allocate is leak-checked and --oom tested (see
 * x_alloc).  As in test_stanza.c, the helpers keep
 * nothing across an assertion: every stanza is released before they
 * return, so a failing check leaks nothing. */
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strophe.h>
#include "jingle.h"
#include "mem.h"
#include "test.h"

#define OUT 8192
#define CHECK(x) do { if (x) return EBADMSG; } while (0)

/* TEST_STREQ and TEST_EQ through functions: their messages are formatted
 * into buffers whose size gcc cannot see, so long arguments (3 kB JID
 * arrays, long expressions) do not trip -Wformat-truncation. */
#define STREQ(a, b) do { if (str_is(__FILE__, __LINE__, a, b)) return EBADMSG; } while (0)
#define EQ(a, b) do { if (num_is(__FILE__, __LINE__, #a " == " #b, (long long)(a), \
				 (long long)(b))) return EBADMSG; } while (0)

static int num_is(const char *file, int line, const char *what, long long a, long long b)
{
	char m[1024];

	if (a == b)
		return 0;
	snprintf(m, sizeof(m), "%s (%lld != %lld)", what, a, b);
	test_fail(file, line, m);
	return EBADMSG;
}

static int str_is(const char *file, int line, const char *got, const char *want)
{
	char m[3 * OUT];

	if (got && want && !strcmp(got, want))
		return 0;
	snprintf(m, sizeof(m), "got \"%s\", want \"%s\"", got ? got : "(null)",
		 want ? want : "(null)");
	test_fail(file, line, m);
	return EBADMSG;
}

/* libstrophe allocates through base/mem while one of our builders runs,
 * so that the runner's leak check and --oom cover what they build and how
 * they clean up; otherwise through malloc, because libstrophe 0.12's own
 * parser does not survive a failed allocation (its expat start handler
 * passes the NULL name on to xmpp_stanza_set_name).  A header on each
 * block says which allocator it came from. */
union xhdr {
	max_align_t align;
	bool counted;
};

static bool counted;
static bool uncounted_builds;   /* test_jingle_roundtrip: see there */

static void *x_alloc(size_t size, void *ud)
{
	union xhdr *h = counted ? mem_alloc(sizeof(*h) + size, NULL) : malloc(sizeof(*h) + size);

	(void)ud;
	if (!h)
		return NULL;
	h->counted = counted;
	return h + 1;
}

static void x_free(void *p, void *ud)
{
	union xhdr *h = p ? (union xhdr *)p - 1 : NULL;

	(void)ud;
	if (h && h->counted)
		mem_deref(h);
	else
		free(h);
}

static void *x_realloc(void *p, size_t size, void *ud)
{
	union xhdr *h = p ? (union xhdr *)p - 1 : NULL;

	if (!h)
		return x_alloc(size, ud);
	h = h->counted ? mem_realloc(h, sizeof(*h) + size) : realloc(h, sizeof(*h) + size);
	return h ? h + 1 : NULL;
}

static const xmpp_mem_t xmem = {x_alloc, x_free, x_realloc, NULL};

/* COUNTED(jingle_build(...)): the call with its allocations counted. */
#define COUNTED(call) (counted = !uncounted_builds, counted_end(call))

static xmpp_stanza_t *counted_end(xmpp_stanza_t *st)
{
	counted = false;
	return st;
}

static xmpp_ctx_t *ctx_new(void)
{
	static bool init;

	if (!init) {
		xmpp_initialize();
		init = true;
	}
	return xmpp_ctx_new(&xmem, NULL);
}

/* Run body(ctx) with a fresh context, freed whatever happens. */
static int with_ctx(int (*body)(xmpp_ctx_t *ctx))
{
	xmpp_ctx_t *ctx = ctx_new();
	int err;

	if (!ctx)
		return ENOMEM;
	err = body(ctx);
	xmpp_ctx_free(ctx);
	return err;
}

/* The stanza in test-vectors/jingle/<name>, or NULL. */
static xmpp_stanza_t *load(xmpp_ctx_t *ctx, const char *name)
{
	char rel[128];
	uint8_t *d;
	size_t n;
	xmpp_stanza_t *st;

	snprintf(rel, sizeof(rel), "jingle/%s", name);
	if (test_load_vector(rel, &d, &n))
		return NULL;
	d[n] = '\0';   /* test_load_vector allocates one more byte */
	st = xmpp_stanza_new_from_string(ctx, (char *)d);
	mem_deref(d);
	return st;
}

/* st itself if it is the <jingle/>, else its <jingle/> child. */
static xmpp_stanza_t *jingle_el(xmpp_stanza_t *st)
{
	const char *name = xmpp_stanza_get_name(st);

	if (name && !strcmp(name, "jingle"))
		return st;
	return xmpp_stanza_get_child_by_name_and_ns(st, "jingle", JINGLE_NS);
}

/* jingle_parse of a vector or of a string: its result, or -ENOMEM when the
 * XML could not be read. */
static int parse_vec(xmpp_ctx_t *ctx, const char *name, struct jingle *j, const char **why)
{
	xmpp_stanza_t *st = load(ctx, name);
	int r;

	*why = NULL;
	if (!st)
		return -ENOMEM;
	r = jingle_parse(jingle_el(st), j, why);
	xmpp_stanza_release(st);
	return r;
}

static int parse_str(xmpp_ctx_t *ctx, const char *xml, struct jingle *j, const char **why)
{
	xmpp_stanza_t *st = xmpp_stanza_new_from_string(ctx, xml);
	int r;

	*why = NULL;
	if (!st)
		return -ENOMEM;
	r = jingle_parse(jingle_el(st), j, why);
	xmpp_stanza_release(st);
	return r;
}

static int jmi_vec(xmpp_ctx_t *ctx, const char *name, struct jmi *m, const char **why)
{
	xmpp_stanza_t *st = load(ctx, name);
	int r;

	*why = NULL;
	if (!st)
		return -ENOMEM;
	r = jmi_parse(st, m, why);
	xmpp_stanza_release(st);
	return r;
}

static int jmi_str(xmpp_ctx_t *ctx, const char *xml, struct jmi *m, const char **why)
{
	xmpp_stanza_t *st = xmpp_stanza_new_from_string(ctx, xml);
	int r;

	*why = NULL;
	if (!st)
		return -ENOMEM;
	r = jmi_parse(st, m, why);
	xmpp_stanza_release(st);
	return r;
}

/* libstrophe's rendering of st into out (st is released); 0 or errno. */
static int render(xmpp_ctx_t *ctx, xmpp_stanza_t *st, char *out)
{
	char *buf = NULL;
	size_t len = 0;
	int err = 0;

	if (!st)
		return ENOMEM;
	if (xmpp_stanza_to_text(st, &buf, &len) != XMPP_EOK)
		err = ENOMEM;
	else if (len >= OUT)
		err = EOVERFLOW;
	else
		memcpy(out, buf, len + 1);
	xmpp_free(ctx, buf);
	xmpp_stanza_release(st);
	return err;
}

/* --- comparing structs --- */

/* A copy of in, field by field into a zeroed struct, so that two copies
 * compare with memcmp: padding and the bytes after each string's NUL are
 * zero.  With built, the copy is what parsing jingle_build(in) must give
 * (jingle.h): descriptions and transports become RTP and ICE-UDP ones
 * (transport-info loses its descriptions), only UDP candidates stay, an
 * empty candidate id becomes "c<n>", nothing is skipped any more, a reason
 * text goes with its condition, and an info only with session-info. */
static void canon_content(const struct jingle *j, const struct jingle_content *in,
			  struct jingle_content *o, bool built, unsigned *k)
{
	bool desc = built ? (in->has_description || in->rtp) && j->action != JA_TRANSPORT_INFO
			  : in->has_description;
	bool tp = in->has_transport || (built && in->ice);

	strcpy(o->name, in->name);
	o->creator = in->creator;
	o->senders = in->senders;
	if (desc) {
		o->has_description = true;
		o->rtp = built || in->rtp;
		strcpy(o->media, in->media);
		o->ssrc = in->ssrc;
		for (unsigned i = 0; i < in->npayloads; i++) {
			const struct jingle_payload *p = &in->payloads[i];
			struct jingle_payload *q = &o->payloads[i];

			q->id = p->id;
			strcpy(q->name, p->name);
			q->clockrate = p->clockrate;
			q->channels = built && p->channels < 1 ? 1 : p->channels;
		}
		o->npayloads = in->npayloads;
		o->rtcp_mux = in->rtcp_mux;
		for (unsigned i = 0; i < in->ncrypto; i++) {
			o->crypto[i].tag = in->crypto[i].tag;
			strcpy(o->crypto[i].suite, in->crypto[i].suite);
			strcpy(o->crypto[i].key_params, in->crypto[i].key_params);
		}
		o->ncrypto = in->ncrypto;
		o->crypto_required = in->crypto_required;
	}
	if (!tp)
		return;
	o->has_transport = true;
	o->ice = built || in->ice;
	strcpy(o->ufrag, in->ufrag);
	strcpy(o->pwd, in->pwd);
	for (unsigned i = 0; i < in->ncands; i++) {
		const struct jingle_cand *a = &in->cands[i];
		struct jingle_cand *b = &o->cands[o->ncands];

		if (built && a->c.transport != ICE_TP_UDP)
			continue;
		strcpy(b->c.foundation, a->c.foundation);
		b->c.comp = a->c.comp;
		b->c.transport = a->c.transport;
		b->c.priority = a->c.priority;
		strcpy(b->c.ip, a->c.ip);
		b->c.port = a->c.port;
		b->c.type = a->c.type;
		strcpy(b->c.rel_ip, a->c.rel_ip);
		b->c.rel_port = built && !a->c.rel_ip[0] ? 0 : a->c.rel_port;
		++*k;
		if (built && !a->id[0])
			snprintf(b->id, sizeof(b->id), "c%u", *k);
		else
			strcpy(b->id, a->id);
		b->generation = a->generation;
		b->network = a->network;
		o->ncands++;
	}
	o->skipped_cands = built ? 0 : in->skipped_cands;
	o->has_fingerprint = in->has_fingerprint;
	if (in->has_fingerprint) {
		strcpy(o->fp.hash, in->fp.hash);
		strcpy(o->fp.value, in->fp.value);
		o->fp.setup = in->fp.setup;
	}
}

static void canon(const struct jingle *in, struct jingle *o, bool built)
{
	unsigned k = 0;

	memset(o, 0, sizeof(*o));
	o->action = in->action;
	strcpy(o->action_str, built && in->action != JA_UNKNOWN ? jingle_action_name(in->action)
								 : in->action_str);
	strcpy(o->sid, in->sid);
	strcpy(o->initiator, in->initiator);
	strcpy(o->responder, in->responder);
	for (unsigned i = 0; i < in->ncontents; i++)
		canon_content(in, &in->contents[i], &o->contents[i], built, &k);
	o->ncontents = in->ncontents;
	if (!built || *jingle_reason_name(in->reason)) {
		o->reason = in->reason;
		strcpy(o->reason_text, in->reason_text);
	}
	if (!built || (in->action == JA_SESSION_INFO && in->info != JI_OTHER))
		o->info = in->info;
}

/* parse(render(jingle_iq_build(j))) and parse(jingle_build(j)) without
 * rendering both give what canon(j, built) says. */
static int roundtrip(xmpp_ctx_t *ctx, const struct jingle *j)
{
	static struct jingle back, want, got;   /* 50 kB each: not on the stack */
	char *text = NULL;
	size_t n;
	const char *why = NULL;
	xmpp_stanza_t *st = COUNTED(jingle_iq_build(ctx, j, "romeo@montague.lit/orchard",
					    "juliet@capulet.lit/balcony", "rt1"));
	int r;

	if (!st)
		return ENOMEM;
	r = xmpp_stanza_to_text(st, &text, &n);
	xmpp_stanza_release(st);
	if (r != XMPP_EOK)
		return ENOMEM;
	r = parse_str(ctx, text, &back, &why);
	xmpp_free(ctx, text);
	if (r == -ENOMEM)
		return ENOMEM;
	if (r) {
		test_fail(__FILE__, __LINE__, why ? why : "(no why)");
		return EBADMSG;
	}
	canon(j, &want, true);
	canon(&back, &got, false);
	TEST_MEMEQ(&got, sizeof(got), &want, sizeof(want));

	/* the element as built, namespaces and all, without text between */
	st = COUNTED(jingle_build(ctx, j));
	if (!st)
		return ENOMEM;
	r = jingle_parse(st, &back, &why);
	xmpp_stanza_release(st);
	EQ(r, 0);
	canon(&back, &got, false);
	TEST_MEMEQ(&got, sizeof(got), &want, sizeof(want));
	return 0;
}

/* --- field checks --- */

static int pt_is(const struct jingle_payload *p, unsigned id, const char *name, uint32_t clock,
		 unsigned ch)
{
	EQ(p->id, id);
	STREQ(p->name, name);
	EQ(p->clockrate, clock);
	EQ(p->channels, ch);
	return 0;
}

struct want_cand {
	unsigned comp;
	const char *foundation, *ip;
	unsigned port;
	uint32_t prio;
	enum ice_cand_type type;
	const char *rel;
	unsigned rel_port;
	const char *id;
	unsigned gen, net;
};

static int cand_is(const struct jingle_cand *jc, const struct want_cand *w)
{
	EQ(jc->c.comp, w->comp);
	STREQ(jc->c.foundation, w->foundation);
	STREQ(jc->c.ip, w->ip);
	EQ(jc->c.port, w->port);
	EQ(jc->c.priority, w->prio);
	EQ(jc->c.type, w->type);
	EQ(jc->c.transport, ICE_TP_UDP);
	STREQ(jc->c.rel_ip, w->rel ? w->rel : "");
	EQ(jc->c.rel_port, w->rel_port);
	STREQ(jc->id, w->id);
	EQ(jc->generation, w->gen);
	EQ(jc->network, w->net);
	return 0;
}

/* --- names --- */

int test_jingle_names(void)
{
	for (int a = JA_SESSION_INITIATE; a <= JA_TRANSPORT_REPLACE; a++) {
		const char *s = jingle_action_name((enum jingle_action)a);

		TEST_ASSERT(*s);
		EQ(jingle_action_parse(s), a);
	}
	for (int r = JR_ALTERNATIVE_SESSION; r <= JR_UNSUPPORTED_TRANSPORTS; r++) {
		const char *s = jingle_reason_name((enum jingle_reason)r);

		TEST_ASSERT(*s);
		EQ(jingle_reason_parse(s), r);
	}
	for (int s = JS_ACTPASS; s <= JS_HOLDCONN; s++)
		EQ(jingle_setup_parse(jingle_setup_name((enum jingle_setup)s)), s);
	STREQ(jingle_action_name(JA_UNKNOWN), "");
	STREQ(jingle_action_name((enum jingle_action)999), "");
	STREQ(jingle_reason_name(JR_NONE), "");
	STREQ(jingle_reason_name((enum jingle_reason)-1), "");
	STREQ(jingle_setup_name(JS_NONE), "");
	STREQ(jingle_action_name(JA_TRANSPORT_INFO), "transport-info");
	STREQ(jingle_reason_name(JR_FAILED_TRANSPORT), "failed-transport");
	STREQ(jingle_setup_name(JS_ACTPASS), "actpass");
	EQ(jingle_action_parse("session-foo"), JA_UNKNOWN);
	EQ(jingle_action_parse("Session-Initiate"), JA_UNKNOWN);
	EQ(jingle_action_parse(""), JA_UNKNOWN);
	EQ(jingle_action_parse(NULL), JA_UNKNOWN);
	EQ(jingle_reason_parse("text"), JR_NONE);
	EQ(jingle_reason_parse(NULL), JR_NONE);
	EQ(jingle_setup_parse("passive "), JS_NONE);
	EQ(jingle_setup_parse(NULL), JS_NONE);
	return 0;
}

/* --- the XEPs' examples --- */

static int t_xep_initiate(xmpp_ctx_t *ctx)
{
	static struct jingle j;
	const struct jingle_content *c = &j.contents[0];
	const char *why;
	const struct want_cand host = {1, "1", "10.0.1.1", 8998, 2130706431, ICE_CAND_HOST, NULL, 0,
				       "el0747fg11", 0, 1};
	const struct want_cand srflx = {1, "2", "192.0.2.3", 45664, 1694498815, ICE_CAND_SRFLX,
					"10.0.1.1", 8998, "y3s2b30v3r", 0, 1};

	EQ(parse_vec(ctx, "xep0167-initiate.xml", &j, &why), 0);
	TEST_ASSERT(why == NULL);
	EQ(j.action, JA_SESSION_INITIATE);
	STREQ(j.action_str, "session-initiate");
	STREQ(j.sid, "a73sjjvkla37jfea");
	STREQ(j.initiator, "romeo@montague.lit/orchard");
	STREQ(j.responder, "");
	EQ(j.ncontents, 1);
	STREQ(c->name, "voice");
	EQ(c->creator, JC_INITIATOR);
	EQ(c->senders, JSEND_BOTH);
	TEST_ASSERT(c->has_description && c->rtp);
	STREQ(c->media, "audio");
	EQ(c->ssrc, 0);
	EQ(c->npayloads, 6);
	CHECK(pt_is(&c->payloads[0], 96, "speex", 16000, 1));
	CHECK(pt_is(&c->payloads[1], 97, "speex", 8000, 1));
	CHECK(pt_is(&c->payloads[2], 18, "G729", 0, 1));
	CHECK(pt_is(&c->payloads[3], 0, "PCMU", 0, 1));
	CHECK(pt_is(&c->payloads[4], 103, "L16", 16000, 2));
	CHECK(pt_is(&c->payloads[5], 98, "x-ISAC", 8000, 1));
	TEST_ASSERT(!c->rtcp_mux && !c->ncrypto && !c->crypto_required);
	TEST_ASSERT(c->has_transport && c->ice);
	STREQ(c->ufrag, "8hhy");
	STREQ(c->pwd, "asd88fgpdd777uzjYhagZg");
	EQ(c->ncands, 2);
	EQ(c->skipped_cands, 0);
	CHECK(cand_is(&c->cands[0], &host));
	CHECK(cand_is(&c->cands[1], &srflx));
	TEST_ASSERT(!c->has_fingerprint);
	EQ(j.reason, JR_NONE);
	EQ(j.info, JI_NONE);
	return 0;
}

int test_jingle_xep_initiate(void)
{
	return with_ctx(t_xep_initiate);
}

static int t_xep_accept(xmpp_ctx_t *ctx)
{
	static struct jingle j;
	const struct jingle_content *c = &j.contents[0];
	const char *why;
	const struct want_cand host = {1, "1", "192.0.2.1", 3478, 2130706431, ICE_CAND_HOST, NULL, 0,
				       "or2ii2syr1", 0, 0};

	EQ(parse_vec(ctx, "xep0167-accept.xml", &j, &why), 0);
	EQ(j.action, JA_SESSION_ACCEPT);
	STREQ(j.responder, "juliet@capulet.lit/balcony");
	EQ(j.ncontents, 1);
	EQ(c->npayloads, 2);
	CHECK(pt_is(&c->payloads[0], 97, "speex", 8000, 1));
	CHECK(pt_is(&c->payloads[1], 18, "G729", 0, 1));
	STREQ(c->ufrag, "9uB6");
	STREQ(c->pwd, "YH75Fviy6338Vbrhrlp8Yh");
	EQ(c->ncands, 1);
	CHECK(cand_is(&c->cands[0], &host));

	/* XEP-0167's SRTP example: crypto inside <encryption required='1'> */
	EQ(parse_vec(ctx, "xep0167-crypto.xml", &j, &why), 0);
	EQ(c->npayloads, 2);
	EQ(c->ncrypto, 1);
	TEST_ASSERT(c->crypto_required);
	EQ(c->crypto[0].tag, 1);
	STREQ(c->crypto[0].suite, "AES_CM_128_HMAC_SHA1_80");
	STREQ(c->crypto[0].key_params,
		   "inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz|2^20|1:32");
	TEST_ASSERT(c->has_transport && c->ice);
	EQ(c->ncands, 0);
	return 0;
}

int test_jingle_xep_accept(void)
{
	return with_ctx(t_xep_accept);
}

/* XEP-0176's examples: a stub application, and a transport-info whose
 * content has a transport only. */
static int t_xep_ice(xmpp_ctx_t *ctx)
{
	static struct jingle j;
	const struct jingle_content *c = &j.contents[0];
	const char *why;

	EQ(parse_vec(ctx, "xep0176-initiate-stub.xml", &j, &why), 0);
	STREQ(c->name, "this-is-a-stub");
	TEST_ASSERT(c->has_description && !c->rtp);
	EQ(c->npayloads, 0);
	STREQ(c->media, "");
	TEST_ASSERT(c->ice);
	EQ(c->ncands, 2);
	EQ(c->cands[1].c.type, ICE_CAND_SRFLX);

	EQ(parse_vec(ctx, "xep0176-transport-info.xml", &j, &why), 0);
	EQ(j.action, JA_TRANSPORT_INFO);
	EQ(j.ncontents, 1);
	TEST_ASSERT(!c->has_description && !c->rtp);
	TEST_ASSERT(c->has_transport && c->ice);
	STREQ(c->ufrag, "9uB6");
	EQ(c->ncands, 1);
	STREQ(c->cands[0].id, "or2ii2syr1");
	STREQ(c->cands[0].c.ip, "192.0.2.1");
	return 0;
}

int test_jingle_xep_ice(void)
{
	return with_ctx(t_xep_ice);
}

static int t_xep_terminate(xmpp_ctx_t *ctx)
{
	static struct jingle j;
	const char *why;

	EQ(parse_vec(ctx, "xep0166-terminate.xml", &j, &why), 0);
	EQ(j.action, JA_SESSION_TERMINATE);
	EQ(j.ncontents, 0);
	STREQ(j.initiator, "");
	EQ(j.reason, JR_SUCCESS);
	STREQ(j.reason_text, "Sorry, gotta go!");

	EQ(parse_vec(ctx, "xep0166-terminate-alternative.xml", &j, &why), 0);
	EQ(j.reason, JR_ALTERNATIVE_SESSION);
	STREQ(j.reason_text, "Already in a session with you");

	/* the first known condition; an unknown one before it is passed over */
	EQ(parse_str(ctx, "<jingle xmlns='urn:xmpp:jingle:1' action='session-terminate' "
			       "sid='s'><reason><text>t1</text><x-new/><decline/><busy/>"
			       "<text>t2</text></reason><reason><gone/></reason></jingle>",
			  &j, &why), 0);
	EQ(j.reason, JR_DECLINE);
	STREQ(j.reason_text, "t1");
	/* conditions must be Jingle's */
	EQ(parse_str(ctx, "<jingle xmlns='urn:xmpp:jingle:1' action='session-terminate' "
			       "sid='s'><reason><busy xmlns='urn:x'/><text xmlns='urn:x'>x</text>"
			       "</reason></jingle>", &j, &why), 0);
	EQ(j.reason, JR_NONE);
	STREQ(j.reason_text, "");
	/* no reason at all; CR in the text (from &#13;) reads as LF */
	EQ(parse_str(ctx, "<jingle xmlns='urn:xmpp:jingle:1' action='session-terminate' "
			       "sid='s'/>", &j, &why), 0);
	EQ(j.reason, JR_NONE);
	EQ(parse_str(ctx, "<jingle xmlns='urn:xmpp:jingle:1' action='session-terminate' "
			       "sid='s'><reason><gone/><text>a&#13;b</text></reason></jingle>",
			  &j, &why), 0);
	STREQ(j.reason_text, "a\nb");
	return 0;
}

int test_jingle_xep_terminate(void)
{
	return with_ctx(t_xep_terminate);
}

/* A reason text that does not fit is cut at a character, not refused. */
static int t_reason_long(xmpp_ctx_t *ctx)
{
	static struct jingle j;
	static char xml[2048];
	const char *why;
	size_t n;

	/* 255 ASCII bytes, then a 2-byte character that would end at 257 */
	n = (size_t)snprintf(xml, sizeof(xml), "<jingle xmlns='urn:xmpp:jingle:1' "
			     "action='session-terminate' sid='s'><reason><busy/><text>");
	memset(xml + n, 'a', 255);
	n += 255;
	snprintf(xml + n, sizeof(xml) - n, "\xc3\xa9\xc3\xa9</text></reason></jingle>");
	EQ(parse_str(ctx, xml, &j, &why), 0);
	EQ(strlen(j.reason_text), 255);
	EQ(j.reason, JR_BUSY);
	/* 254 bytes and the character fit exactly */
	memset(xml + n - 255, 'a', 254);
	snprintf(xml + n - 1, sizeof(xml) - n + 1, "\xc3\xa9\xc3\xa9</text></reason></jingle>");
	EQ(parse_str(ctx, xml, &j, &why), 0);
	EQ(strlen(j.reason_text), 256);
	STREQ(j.reason_text + 254, "\xc3\xa9");
	/* a 4-byte character cut after 1, 2 and 3 of its bytes */
	for (int cut = 1; cut <= 3; cut++) {
		n = (size_t)snprintf(xml, sizeof(xml), "<jingle xmlns='urn:xmpp:jingle:1' "
				     "action='session-terminate' sid='s'><reason><busy/><text>");
		memset(xml + n, 'b', (size_t)(256 - cut));
		n += (size_t)(256 - cut);
		snprintf(xml + n, sizeof(xml) - n, "\xf0\x9f\x98\x80</text></reason></jingle>");
		EQ(parse_str(ctx, xml, &j, &why), 0);
		EQ(strlen(j.reason_text), 256 - cut);
	}
	return 0;
}

int test_jingle_reason_long(void)
{
	return with_ctx(t_reason_long);
}

static int t_session_info(xmpp_ctx_t *ctx)
{
	static const struct {
		const char *body;
		enum jingle_info info;
	} cases[] = {
		{"", JI_NONE},
		{"<active xmlns='urn:xmpp:jingle:apps:rtp:info:1'/>", JI_ACTIVE},
		{"<hold xmlns='urn:xmpp:jingle:apps:rtp:info:1'/>", JI_HOLD},
		{"<unhold xmlns='urn:xmpp:jingle:apps:rtp:info:1'/>", JI_UNHOLD},
		{"<unmute xmlns='urn:xmpp:jingle:apps:rtp:info:1' creator='initiator' name='v'/>",
		 JI_UNMUTE},
		{"<ringing xmlns='urn:xmpp:jingle:apps:rtp:info:1'/><hold/>", JI_RINGING},
		{"<ringing/>", JI_OTHER},       /* Jingle's namespace: not RTP's */
		{"<reason><busy/></reason><content name='a'/><hold "
		 "xmlns='urn:xmpp:jingle:apps:rtp:info:1'/>", JI_HOLD},
		{"<ringing xmlns='urn:x'/>", JI_OTHER},
		{"<checksum xmlns='urn:xmpp:jingle:apps:file-transfer:5'/>", JI_OTHER},
		{"<busy xmlns='urn:xmpp:jingle:apps:rtp:info:1'/>", JI_OTHER},
		{"text only", JI_NONE},
	};
	static struct jingle j;
	char xml[512];
	const char *why;

	EQ(parse_vec(ctx, "xep0167-ringing.xml", &j, &why), 0);
	EQ(j.action, JA_SESSION_INFO);
	EQ(j.info, JI_RINGING);
	EQ(parse_vec(ctx, "xep0167-mute.xml", &j, &why), 0);
	EQ(j.info, JI_MUTE);
	EQ(j.ncontents, 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(xml, sizeof(xml), "<jingle xmlns='urn:xmpp:jingle:1' action='session-info' "
			 "sid='s'>%s</jingle>", cases[i].body);
		EQ(parse_str(ctx, xml, &j, &why), 0);
		EQ(j.info, cases[i].info);
	}
	/* only session-info has one */
	EQ(parse_str(ctx, "<jingle xmlns='urn:xmpp:jingle:1' action='session-accept' sid='s'>"
			       "<ringing xmlns='urn:xmpp:jingle:apps:rtp:info:1'/></jingle>",
			  &j, &why), 0);
	EQ(j.info, JI_NONE);
	return 0;
}

int test_jingle_session_info(void)
{
	return with_ctx(t_session_info);
}

/* XEP-0320: the fingerprint inside the transport, upper-cased and trimmed */
static int t_fingerprint(xmpp_ctx_t *ctx)
{
	static struct jingle j;
	const struct jingle_content *c = &j.contents[0];
	const char *why;

	EQ(parse_vec(ctx, "xep0320-fingerprint.xml", &j, &why), 0);
	TEST_ASSERT(c->has_fingerprint);
	STREQ(c->fp.hash, "sha-256");
	EQ(c->fp.setup, JS_ACTPASS);
	STREQ(c->fp.value, "02:1A:CC:54:27:AB:EB:9C:53:3F:3E:4B:65:2E:7D:46:3F:54:42:CD:54:F1:"
				"7A:03:A2:7D:F9:B0:7F:46:19:B2");
	EQ(c->ncands, 1);
	EQ(c->npayloads, 3);

	/* an unknown setup is no setup; the first fingerprint counts */
	EQ(parse_str(ctx, "<jingle xmlns='urn:xmpp:jingle:1' action='session-accept' sid='s'>"
			       "<content creator='initiator' name='a'><transport "
			       "xmlns='urn:xmpp:jingle:transports:ice-udp:1'><fingerprint "
			       "xmlns='urn:xmpp:jingle:apps:dtls:0' hash='sha-1' setup='maybe'>"
			       "ab:cd:ef</fingerprint><fingerprint xmlns='urn:xmpp:jingle:apps:dtls:0' "
			       "hash='sha-256' setup='active'>00:11</fingerprint></transport>"
			       "</content></jingle>", &j, &why), 0);
	STREQ(c->fp.hash, "sha-1");
	EQ(c->fp.setup, JS_NONE);
	STREQ(c->fp.value, "AB:CD:EF");
	/* a fingerprint in another namespace is not ours */
	EQ(parse_str(ctx, "<jingle xmlns='urn:xmpp:jingle:1' action='session-accept' sid='s'>"
			       "<content creator='initiator' name='a'><transport "
			       "xmlns='urn:xmpp:jingle:transports:ice-udp:1'><fingerprint "
			       "hash='sha-1'>zz</fingerprint></transport></content></jingle>",
			  &j, &why), 0);
	TEST_ASSERT(!c->has_fingerprint);
	return 0;
}

int test_jingle_fingerprint(void)
{
	return with_ctx(t_fingerprint);
}

/* --- clients --- */

static int t_conversations(xmpp_ctx_t *ctx)
{
	static struct jingle j;
	const struct jingle_content *c = &j.contents[0];
	const char *why;
	const struct want_cand v4 = {1, "2530088836", "192.168.1.23", 43289, 2122260223,
				     ICE_CAND_HOST, NULL, 0, "7t4gaqe9jy", 0, 1};
	const struct want_cand v6 = {1, "3297154788", "2001:db8:5:1::23", 51732, 2122194687,
				     ICE_CAND_HOST, NULL, 0, "lbc1npmpd5", 0, 2};
	const struct want_cand srflx = {1, "842163049", "203.0.113.7", 43289, 1686052607,
					ICE_CAND_SRFLX, "192.168.1.23", 43289, "m0kq6ch2rd", 0, 1};

	EQ(parse_vec(ctx, "conversations-initiate.xml", &j, &why), 0);
	EQ(j.action, JA_SESSION_INITIATE);
	STREQ(j.sid, "Wb4KqEDdVQZb3UjbAaKPEw");
	EQ(j.ncontents, 1);   /* the <group/>'s <content/> is not Jingle's */
	STREQ(c->name, "0");
	EQ(c->senders, JSEND_BOTH);
	STREQ(c->media, "audio");
	EQ(c->npayloads, 1);
	CHECK(pt_is(&c->payloads[0], 111, "opus", 48000, 2));
	TEST_ASSERT(c->rtcp_mux);
	EQ(c->ssrc, 0);   /* the XEP-0339 <source/> is not the description's ssrc */
	TEST_ASSERT(c->ice);
	STREQ(c->ufrag, "Hq3V");
	STREQ(c->pwd, "rNlDHzBUYGTI4mT6UmsTMZ3N");
	EQ(c->ncands, 0);
	TEST_ASSERT(c->has_fingerprint);
	EQ(c->fp.setup, JS_ACTPASS);
	STREQ(c->fp.value, "82:94:00:F9:D6:9E:0E:92:BA:70:38:79:54:88:3D:BC:DC:E6:D2:23:49:"
				"2B:2A:08:90:18:1C:D1:0A:93:AA:5C");

	/* ICE-TCP and an mDNS name are skipped, the rest kept in order */
	EQ(parse_vec(ctx, "conversations-transport-info.xml", &j, &why), 0);
	EQ(j.action, JA_TRANSPORT_INFO);
	STREQ(j.initiator, "");
	TEST_ASSERT(!c->has_description);
	EQ(c->ncands, 3);
	EQ(c->skipped_cands, 2);
	CHECK(cand_is(&c->cands[0], &v4));
	CHECK(cand_is(&c->cands[1], &v6));
	CHECK(cand_is(&c->cands[2], &srflx));
	return 0;
}

int test_jingle_conversations(void)
{
	return with_ctx(t_conversations);
}

static int t_dino(xmpp_ctx_t *ctx)
{
	static struct jingle j;
	const struct jingle_content *c = &j.contents[0];
	const char *why;
	const struct want_cand rtcp = {2, "1", "192.168.178.20", 42107, 2013266430, ICE_CAND_HOST,
				       NULL, 0, "7e6d5c4b3a", 0, 0};
	const struct want_cand srflx2 = {2, "2", "203.0.113.20", 42107, 1677721854, ICE_CAND_SRFLX,
					 "192.168.178.20", 42107, "9f8e7d6c5b", 0, 0};

	EQ(parse_vec(ctx, "dino-initiate.xml", &j, &why), 0);
	STREQ(j.sid, "a2b7c1e0-9d3f-4f6e-8b2a-5c4d3e2f1a0b");
	STREQ(c->name, "audio");
	EQ(c->ssrc, 2744153093u);
	EQ(c->npayloads, 7);
	CHECK(pt_is(&c->payloads[0], 96, "opus", 48000, 2));
	CHECK(pt_is(&c->payloads[1], 97, "speex", 32000, 1));
	CHECK(pt_is(&c->payloads[2], 98, "speex", 16000, 1));
	CHECK(pt_is(&c->payloads[3], 99, "speex", 8000, 1));
	CHECK(pt_is(&c->payloads[4], 8, "PCMA", 8000, 1));
	CHECK(pt_is(&c->payloads[5], 0, "PCMU", 8000, 1));
	CHECK(pt_is(&c->payloads[6], 101, "telephone-event", 48000, 1));
	TEST_ASSERT(c->rtcp_mux);
	EQ(c->ncrypto, 1);
	TEST_ASSERT(!c->crypto_required);
	STREQ(c->crypto[0].key_params, "inline:m/SLikstKwQZ0HUxrAnMvZ3MV3oT8ysMmW/V2S8W");
	TEST_ASSERT(c->has_fingerprint);
	EQ(c->ncands, 4);
	EQ(c->skipped_cands, 0);
	EQ(c->cands[0].c.comp, 1);
	CHECK(cand_is(&c->cands[1], &rtcp));
	CHECK(cand_is(&c->cands[3], &srflx2));
	return 0;
}

int test_jingle_dino(void)
{
	return with_ctx(t_dino);
}

/* A transport-info that arrives before its session-initiate parses alone;
 * matching the two by sid is the session's work. */
static int t_stanzajs(xmpp_ctx_t *ctx)
{
	static struct jingle j;
	const struct jingle_content *c = &j.contents[0];
	const char *why;
	const struct want_cand relay = {1, "3119532519", "192.0.2.200", 3478, 16777215,
					ICE_CAND_RELAY, "198.51.100.17", 60011, "sj-cand-2", 0, 1};

	EQ(parse_vec(ctx, "stanzajs-transport-info.xml", &j, &why), 0);
	EQ(j.action, JA_TRANSPORT_INFO);
	STREQ(j.sid, "sj2p9x7q4m1k");
	STREQ(c->name, "audio");
	STREQ(c->ufrag, "Tq8e");
	EQ(c->ncands, 3);
	EQ(c->cands[0].generation, 0);
	EQ(c->cands[0].network, 1);
	EQ(c->cands[1].c.type, ICE_CAND_SRFLX);
	CHECK(cand_is(&c->cands[2], &relay));

	EQ(parse_vec(ctx, "stanzajs-initiate.xml", &j, &why), 0);
	EQ(j.action, JA_SESSION_INITIATE);
	STREQ(j.sid, "sj2p9x7q4m1k");
	EQ(c->ssrc, 1203050077);
	EQ(c->npayloads, 3);
	CHECK(pt_is(&c->payloads[0], 111, "opus", 48000, 2));
	CHECK(pt_is(&c->payloads[1], 0, "PCMU", 8000, 1));
	CHECK(pt_is(&c->payloads[2], 126, "telephone-event", 8000, 1));
	TEST_ASSERT(c->rtcp_mux && c->has_fingerprint);
	EQ(c->ncands, 0);
	return 0;
}

int test_jingle_stanzajs(void)
{
	return with_ctx(t_stanzajs);
}

static int t_gajim(xmpp_ctx_t *ctx)
{
	static struct jingle j;
	const struct jingle_content *c = &j.contents[0];
	const char *why;
	const struct want_cand v6rtcp = {2, "2", "fd00::1:42", 54419, 2013266430, ICE_CAND_HOST,
					 NULL, 0, "y1e4w2t7z9", 0, 0};

	EQ(parse_vec(ctx, "gajim-initiate.xml", &j, &why), 0);
	STREQ(c->name, "voice");
	EQ(c->npayloads, 5);
	CHECK(pt_is(&c->payloads[0], 96, "SPEEX", 16000, 1));   /* case as sent */
	CHECK(pt_is(&c->payloads[1], 97, "SPEEX", 8000, 1));
	CHECK(pt_is(&c->payloads[4], 101, "telephone-event", 8000, 1));
	TEST_ASSERT(!c->rtcp_mux && !c->ncrypto && !c->has_fingerprint);
	STREQ(c->ufrag, "wT/1");
	STREQ(c->pwd, "9Hu0cRNLXkq3DqzQO6/dJd");
	EQ(c->ncands, 4);
	CHECK(cand_is(&c->cands[3], &v6rtcp));
	return 0;
}

int test_jingle_gajim(void)
{
	return with_ctx(t_gajim);
}

/* --- round trips --- */

static const char *const jingle_vectors[] = {
	"xep0166-terminate.xml", "xep0166-terminate-alternative.xml", "xep0167-initiate.xml",
	"xep0167-accept.xml", "xep0167-crypto.xml", "xep0167-ringing.xml", "xep0167-mute.xml",
	"xep0176-initiate-stub.xml", "xep0176-transport-info.xml", "xep0320-fingerprint.xml",
	"conversations-initiate.xml", "conversations-transport-info.xml", "dino-initiate.xml",
	"stanzajs-transport-info.xml", "stanzajs-initiate.xml", "gajim-initiate.xml",
};

static int t_roundtrip(xmpp_ctx_t *ctx)
{
	static struct jingle j;
	const char *why;
	int err;

	for (size_t i = 0; i < sizeof(jingle_vectors) / sizeof(jingle_vectors[0]); i++) {
		EQ(parse_vec(ctx, jingle_vectors[i], &j, &why), 0);
		/* The builders' failure paths are --oom tested by the build
		 * tests; counted here, every vector would run again for each
		 * of the thousands of allocations before it (12 s). */
		uncounted_builds = true;
		err = roundtrip(ctx, &j);
		uncounted_builds = false;
		if (err) {
			test_fail(__FILE__, __LINE__, jingle_vectors[i]);
			return err;
		}
	}
	return 0;
}

int test_jingle_roundtrip(void)
{
	return with_ctx(t_roundtrip);
}

/* The first child element of el named name, or NULL. */
static xmpp_stanza_t *kid(xmpp_stanza_t *el, const char *name)
{
	return el ? xmpp_stanza_get_child_by_name(el, name) : NULL;
}

static const char *at(xmpp_stanza_t *el, const char *name)
{
	return el ? xmpp_stanza_get_attribute(el, name) : NULL;
}

/* a is not b (or is NULL) */
static bool ne(const char *a, const char *b)
{
	return !a || strcmp(a, b);
}

/* Our own offer, as jsess would fill it. */
static void offer(struct jingle *j)
{
	struct jingle_content *c = &j->contents[0];

	memset(j, 0, sizeof(*j));
	j->action = JA_SESSION_INITIATE;
	strcpy(j->sid, "rx-7a1c");
	strcpy(j->initiator, "juliet@capulet.example/gw");
	j->ncontents = 1;
	strcpy(c->name, "audio");
	c->has_description = c->rtp = true;
	strcpy(c->media, "audio");
	c->payloads[0] = (struct jingle_payload){98, "speex", 16000, 1};
	c->payloads[1] = (struct jingle_payload){97, "speex", 8000, 0};   /* 0: as 1 */
	c->payloads[2] = (struct jingle_payload){111, "opus", 48000, 2};
	c->payloads[3] = (struct jingle_payload){0, "", 0, 1};
	c->npayloads = 4;
	c->rtcp_mux = true;
	c->ncrypto = 1;
	c->crypto[0].tag = 1;
	strcpy(c->crypto[0].suite, "AES_CM_128_HMAC_SHA1_80");
	strcpy(c->crypto[0].key_params, "inline:m/SLikstKwQZ0HUxrAnMvZ3MV3oT8ysMmW/V2S8W");
	c->has_transport = c->ice = true;
	strcpy(c->ufrag, "Ab+/");
	strcpy(c->pwd, "0123456789abcdefghijkl");
	c->has_fingerprint = true;
	strcpy(c->fp.hash, "sha-256");
	strcpy(c->fp.value, "AB:CD:EF:01");
	c->fp.setup = JS_ACTPASS;
	c->ncands = 3;
	c->cands[0].c = (struct ice_cand){"1", 1, ICE_TP_UDP, 2130706431, "192.0.2.1", 40000,
					  ICE_CAND_HOST, "", 0};
	c->cands[1].c = (struct ice_cand){"2", 1, ICE_TP_UDP, 1694498815, "2001:db8::1", 40002,
					  ICE_CAND_SRFLX, "192.0.2.1", 40000};
	strcpy(c->cands[1].id, "mine");
	c->cands[1].generation = 1;
	c->cands[1].network = 3;
	c->cands[2].c = (struct ice_cand){"3", 1, ICE_TP_UDP, 16777215, "198.51.100.9", 3478,
					  ICE_CAND_RELAY, "192.0.2.1", 40000};
}

/* What jingle_build makes of our offer, element by element. */
static int t_build_offer(xmpp_ctx_t *ctx)
{
	static struct jingle j;
	xmpp_stanza_t *jg, *c, *d, *t, *e, *x;
	const char *ids[] = {"98", "97", "111", "0"};
	int i = 0, err = EBADMSG;
	char *text;

	offer(&j);
	jg = COUNTED(jingle_build(ctx, &j));
	if (!jg)
		return ENOMEM;
	c = kid(jg, "content");
	d = kid(c, "description");
	t = kid(c, "transport");
	e = kid(d, "encryption");
	if (ne(xmpp_stanza_get_ns(jg), JINGLE_NS) || ne(at(jg, "action"), "session-initiate") ||
	    ne(at(jg, "sid"), "rx-7a1c") || ne(at(jg, "initiator"), j.initiator) ||
	    at(jg, "responder") || ne(at(c, "creator"), "initiator") ||
	    ne(at(c, "name"), "audio") || at(c, "senders"))
		goto out;
	if (!d || ne(xmpp_stanza_get_ns(d), JINGLE_RTP_NS) || ne(at(d, "media"), "audio") ||
	    at(d, "ssrc") || !kid(d, "rtcp-mux") || !e || at(e, "required"))
		goto out;
	/* payload types in our order; channels only when 2; no name, no clockrate when none */
	for (x = xmpp_stanza_get_children(d); x; x = xmpp_stanza_get_next(x)) {
		if (ne(xmpp_stanza_get_name(x), "payload-type"))
			continue;
		if (i >= 4 || ne(at(x, "id"), ids[i]) ||
		    (i == 2) != (at(x, "channels") != NULL) || (i == 3) != !at(x, "name") ||
		    (i == 3) != !at(x, "clockrate"))
			goto out;
		i++;
	}
	if (i != 4 || ne(at(kid(d, "payload-type"), "clockrate"), "16000"))
		goto out;
	x = kid(e, "crypto");
	if (ne(at(x, "crypto-suite"), "AES_CM_128_HMAC_SHA1_80") || ne(at(x, "tag"), "1") ||
	    ne(at(x, "key-params"), "inline:m/SLikstKwQZ0HUxrAnMvZ3MV3oT8ysMmW/V2S8W"))
		goto out;
	/* the fingerprint and candidates inside the ICE transport */
	x = kid(t, "fingerprint");
	if (!t || ne(xmpp_stanza_get_ns(t), JINGLE_ICE_NS) || ne(at(t, "ufrag"), "Ab+/") ||
	    ne(at(t, "pwd"), j.contents[0].pwd) || !x ||
	    ne(xmpp_stanza_get_ns(x), JINGLE_DTLS_NS) || ne(at(x, "hash"), "sha-256") ||
	    ne(at(x, "setup"), "actpass"))
		goto out;
	text = xmpp_stanza_get_text(x);
	i = text && !strcmp(text, "AB:CD:EF:01");
	xmpp_free(ctx, text);
	if (!i)
		goto out;
	x = kid(t, "candidate");
	if (ne(at(x, "id"), "c1") || ne(at(x, "component"), "1") ||
	    ne(at(x, "foundation"), "1") || ne(at(x, "generation"), "0") ||
	    ne(at(x, "network"), "0") || ne(at(x, "ip"), "192.0.2.1") ||
	    ne(at(x, "port"), "40000") || ne(at(x, "priority"), "2130706431") ||
	    ne(at(x, "protocol"), "udp") || ne(at(x, "type"), "host") ||
	    at(x, "rel-addr") || at(x, "rel-port"))
		goto out;
	x = xmpp_stanza_get_next(x);
	if (ne(at(x, "id"), "mine") || ne(at(x, "ip"), "2001:db8::1") ||
	    ne(at(x, "generation"), "1") || ne(at(x, "network"), "3") ||
	    ne(at(x, "type"), "srflx") || ne(at(x, "rel-addr"), "192.0.2.1") ||
	    ne(at(x, "rel-port"), "40000"))
		goto out;
	x = xmpp_stanza_get_next(x);
	if (ne(at(x, "id"), "c3") || ne(at(x, "type"), "relay") || xmpp_stanza_get_next(x))
		goto out;
	/* no reason, no info */
	if (kid(jg, "reason") || xmpp_stanza_get_next(c))
		goto out;
	err = 0;
out:
	if (err)
		test_fail(__FILE__, __LINE__, "built offer differs");
	xmpp_stanza_release(jg);
	if (err)
		return err;
	return roundtrip(ctx, &j);
}

int test_jingle_build_offer(void)
{
	return with_ctx(t_build_offer);
}

/* transport-info, session-terminate, session-info, an unknown action and
 * what is left out. */
static int t_build_actions(xmpp_ctx_t *ctx)
{
	static struct jingle j;
	char text[OUT];
	struct jingle_content *c = &j.contents[0];

	/* transport-info: the transport only, even from a full content */
	offer(&j);
	j.action = JA_TRANSPORT_INFO;
	j.initiator[0] = '\0';
	c->has_fingerprint = false;
	c->ncands = 1;
	EQ(render(ctx, COUNTED(jingle_build(ctx, &j)), text), 0);
	STREQ(text, "<jingle sid=\"rx-7a1c\" xmlns=\"urn:xmpp:jingle:1\" action=\"transport-info\">"
		    "<content name=\"audio\" creator=\"initiator\"><transport "
		    "pwd=\"0123456789abcdefghijkl\" ufrag=\"Ab+/\" "
		    "xmlns=\"urn:xmpp:jingle:transports:ice-udp:1\"><candidate port=\"40000\" "
		    "component=\"1\" network=\"0\" ip=\"192.0.2.1\" id=\"c1\" "
		    "priority=\"2130706431\" generation=\"0\" type=\"host\" foundation=\"1\" "
		    "protocol=\"udp\"/></transport></content></jingle>");
	CHECK(roundtrip(ctx, &j));
	/* TCP candidates are not XEP-0176's: left out */
	c->ncands = 2;
	c->cands[1].c.transport = ICE_TP_TCP_PASSIVE;
	CHECK(roundtrip(ctx, &j));

	memset(&j, 0, sizeof(j));
	j.action = JA_SESSION_TERMINATE;
	strcpy(j.sid, "s1");
	j.reason = JR_BUSY;
	strcpy(j.reason_text, "I'm <busy> & \"away\"");
	EQ(render(ctx, COUNTED(jingle_build(ctx, &j)), text), 0);
	STREQ(text, "<jingle sid=\"s1\" xmlns=\"urn:xmpp:jingle:1\" action=\"session-terminate\">"
		    "<reason><busy/><text>I'm &lt;busy&gt; &amp; &quot;away&quot;</text></reason>"
		    "</jingle>");
	CHECK(roundtrip(ctx, &j));
	j.reason = JR_NONE;   /* no condition: no reason, and the text goes too */
	EQ(render(ctx, COUNTED(jingle_build(ctx, &j)), text), 0);
	STREQ(text, "<jingle sid=\"s1\" xmlns=\"urn:xmpp:jingle:1\" action=\"session-terminate\"/>");
	CHECK(roundtrip(ctx, &j));

	memset(&j, 0, sizeof(j));
	j.action = JA_SESSION_INFO;
	strcpy(j.sid, "s1");
	j.info = JI_RINGING;
	EQ(render(ctx, COUNTED(jingle_iq_build(ctx, &j, "a@b/c", "d@e/f", "r1")), text), 0);
	STREQ(text, "<iq id=\"r1\" to=\"d@e/f\" type=\"set\" from=\"a@b/c\"><jingle sid=\"s1\" "
		    "xmlns=\"urn:xmpp:jingle:1\" action=\"session-info\"><ringing "
		    "xmlns=\"urn:xmpp:jingle:apps:rtp:info:1\"/></jingle></iq>");
	for (int i = JI_NONE; i <= JI_OTHER; i++) {
		j.info = (enum jingle_info)i;
		CHECK(roundtrip(ctx, &j));
	}
	j.info = JI_OTHER;   /* nothing to send for it: an empty session-info */
	EQ(render(ctx, COUNTED(jingle_iq_build(ctx, &j, NULL, NULL, NULL)), text), 0);
	STREQ(text, "<iq type=\"set\"><jingle sid=\"s1\" xmlns=\"urn:xmpp:jingle:1\" "
		    "action=\"session-info\"/></iq>");

	/* an action we do not know goes out as it came */
	memset(&j, 0, sizeof(j));
	strcpy(j.action_str, "session-foo");
	strcpy(j.sid, "s1");
	EQ(render(ctx, COUNTED(jingle_build(ctx, &j)), text), 0);
	STREQ(text, "<jingle sid=\"s1\" xmlns=\"urn:xmpp:jingle:1\" action=\"session-foo\"/>");
	CHECK(roundtrip(ctx, &j));
	return 0;
}

int test_jingle_build_actions(void)
{
	return with_ctx(t_build_actions);
}

/* --- malformed and odd input --- */

#define J(attrs, body) "<jingle xmlns='urn:xmpp:jingle:1' " attrs ">" body "</jingle>"
#define INIT "action='session-initiate' sid='s1'"
#define CONTENT(body) "<content creator='initiator' name='a'>" body "</content>"
#define RTP(body) "<description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'>" body \
		  "</description>"
#define ICE(body) "<transport xmlns='urn:xmpp:jingle:transports:ice-udp:1' ufrag='uf' " \
		  "pwd='pwpwpwpwpwpwpwpwpwpwpw'>" body "</transport>"
#define CAND(comp, ip, port, proto, type) "<candidate component='" comp "' foundation='1' " \
	"generation='0' id='x' ip='" ip "' network='0' port='" port "' priority='1' protocol='" \
	proto "' type='" type "'/>"
#define GOOD_CAND CAND("1", "10.0.0.1", "1000", "udp", "host")
#define IN_ICE(body) J(INIT, CONTENT(ICE(body)))
#define IN_RTP(body) J(INIT, CONTENT(RTP(body)))
#define FP(v) "<fingerprint xmlns='urn:xmpp:jingle:apps:dtls:0' hash='sha-256' setup='active'>" \
	v "</fingerprint>"

static const struct {
	const char *xml, *why;
} bad_cases[] = {
	{"<jingle action='session-initiate' sid='s1'/>", "not a jingle element"},
	{"<jingle xmlns='urn:xmpp:jingle:0' action='session-initiate' sid='s1'/>",
	 "not a jingle element"},
	{"<iq type='set'/>", "not a jingle element"},
	{J("action='session-initiate'", ""), "jingle without sid"},
	{J("action='session-initiate' sid=''", ""), "jingle without sid"},
	{J("sid='s1'", ""), "jingle without action"},
	{J("action='' sid='s1'", ""), "jingle without action"},
	{J("action='session-initiate' sid='a&#9;b'", ""), "control character in sid"},
	{J("action='session-initiate' sid='a&#10;b'", ""), "control character in sid"},
	{J("action='session-initiate' sid='s1' initiator='a&#13;b'", ""),
	 "control character in initiator"},
	{J("action='session-&#1;'", ""), NULL},   /* not XML at all */
	{J(INIT, "<content creator='initiator'/>"), "content without name"},
	{J(INIT, "<content creator='initiator' name=''/>"), "content without name"},
	{J(INIT, "<content creator='nobody' name='a'/>"), "bad content creator"},
	{J(INIT, "<content name='a' senders='all'/>"), "bad content senders"},
	{J(INIT, CONTENT("") CONTENT("") CONTENT("") CONTENT("") CONTENT("")), "too many contents"},
	/* candidates */
	{IN_ICE(CAND("1", "10.0.0.1", "0", "udp", "host")), "bad candidate port"},
	{IN_ICE(CAND("1", "10.0.0.1", "70000", "udp", "host")), "bad candidate port"},
	{IN_ICE(CAND("1", "10.0.0.1", "65536", "udp", "host")), "bad candidate port"},
	{IN_ICE(CAND("1", "10.0.0.1", "12a", "udp", "host")), "bad candidate port"},
	{IN_ICE(CAND("1", "10.0.0.1", "", "udp", "host")), "bad candidate port"},
	{IN_ICE(CAND("1", "10.0.0.1", "-1", "udp", "host")), "bad candidate port"},
	{IN_ICE(CAND("1", "10.0.0.1", " 80", "udp", "host")), "bad candidate port"},
	{IN_ICE(CAND("1", "10.0.0.1", "+80", "udp", "host")), "bad candidate port"},
	{IN_ICE(CAND("1", "10.0.0.1", "99999999999999999999", "udp", "host")),
	 "bad candidate port"},
	{IN_ICE(CAND("1", "10.0.0.1:80", "1000", "udp", "host")), "bad candidate ip"},
	{IN_ICE(CAND("1", "999.1.1.1", "1000", "udp", "host")), "bad candidate ip"},
	{IN_ICE(CAND("1", "10.0.0", "1000", "udp", "host")), "bad candidate ip"},
	{IN_ICE(CAND("1", "fe80::1%eth0", "1000", "udp", "host")), "bad candidate ip"},
	{IN_ICE(CAND("1", "", "1000", "udp", "host")), "bad candidate ip"},
	{IN_ICE(CAND("1", "a b", "1000", "udp", "host")), "bad candidate ip"},
	{IN_ICE(CAND("x", "10.0.0.1", "1000", "udp", "host")), "bad candidate component"},
	{IN_ICE(CAND("", "10.0.0.1", "1000", "udp", "host")), "bad candidate component"},
	{IN_ICE(CAND("1", "10.0.0.1", "1000", "udp", "bogus")), "bad candidate type"},
	{IN_ICE(CAND("1", "10.0.0.1", "1000", "udp", "HOST")), "bad candidate type"},
	{IN_ICE("<candidate component='1' foundation='1' ip='10.0.0.1' port='1' protocol='udp' "
		"type='host'/>"), "bad candidate priority"},
	{IN_ICE("<candidate component='1' foundation='1' ip='10.0.0.1' port='1' priority='4294967296' "
		"protocol='udp' type='host'/>"), "bad candidate priority"},
	{IN_ICE("<candidate component='1' ip='10.0.0.1' port='1' priority='1' protocol='udp' "
		"type='host'/>"), "bad candidate foundation"},
	{IN_ICE("<candidate component='1' foundation='' ip='10.0.0.1' port='1' priority='1' "
		"protocol='udp' type='host'/>"), "bad candidate foundation"},
	{IN_ICE("<candidate component='1' foundation='123456789012345678901234567890123' "
		"ip='10.0.0.1' port='1' priority='1' protocol='udp' type='host'/>"),
	 "bad candidate foundation"},
	{IN_ICE("<candidate component='1' foundation='1' ip='10.0.0.1' port='1' priority='1' "
		"protocol='udp' type='host' generation='x'/>"), "bad candidate generation"},
	{IN_ICE("<candidate component='1' foundation='1' ip='10.0.0.1' port='1' priority='1' "
		"protocol='udp' type='host' network='-0'/>"), "bad candidate network"},
	{IN_ICE("<candidate component='1' foundation='1' ip='10.0.0.1' port='1' priority='1' "
		"protocol='udp' type='srflx' rel-addr='1.2.3.4.5' rel-port='1'/>"),
	 "bad candidate rel-addr"},
	{IN_ICE("<candidate component='1' foundation='1' ip='10.0.0.1' port='1' priority='1' "
		"protocol='udp' type='srflx' rel-addr='1.2.3.4' rel-port='65536'/>"),
	 "bad candidate rel-port"},
	{IN_ICE("<candidate component='1' foundation='1' ip='10.0.0.1' port='1' priority='1' "
		"type='host'/>"), "candidate without protocol"},
	{IN_ICE("<candidate component='1' foundation='1' port='1' priority='1' protocol='udp' "
		"type='host'/>"), "candidate without ip"},
	{IN_ICE("<candidate component='1' foundation='1' ip='10.0.0.1' port='1' priority='1' "
		"protocol='udp' type='host' id='aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		"aaaaaaaaaaa'/>"), "candidate id too long"},
	/* fingerprints */
	{IN_ICE(FP("GG:00")), "fingerprint is not hex pairs"},
	{IN_ICE(FP("0:00")), "fingerprint is not hex pairs"},
	{IN_ICE(FP("00:11:")), "fingerprint is not hex pairs"},
	{IN_ICE(FP("0011")), "fingerprint is not hex pairs"},
	{IN_ICE(FP("00-11")), "fingerprint is not hex pairs"},
	{IN_ICE(FP("00: 11")), "fingerprint is not hex pairs"},
	{IN_ICE(FP("")), "fingerprint is not hex pairs"},
	{IN_ICE(FP("  ")), "fingerprint is not hex pairs"},
	{IN_ICE("<fingerprint xmlns='urn:xmpp:jingle:apps:dtls:0'>00:11</fingerprint>"),
	 "fingerprint without hash"},
	/* payload types, ssrc, crypto */
	{IN_RTP("<payload-type id='200' name='x'/>"), "bad payload-type id"},
	{IN_RTP("<payload-type id='128'/>"), "bad payload-type id"},
	{IN_RTP("<payload-type id='x'/>"), "bad payload-type id"},
	{IN_RTP("<payload-type name='speex'/>"), "bad payload-type id"},
	{IN_RTP("<payload-type id='96' channels='0'/>"), "bad payload-type channels"},
	{IN_RTP("<payload-type id='96' channels='256'/>"), "bad payload-type channels"},
	{IN_RTP("<payload-type id='96' clockrate='8k'/>"), "bad payload-type clockrate"},
	{IN_RTP("<payload-type id='96' name='aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		"aaaaaaaa'/>"), "payload-type name too long"},
	{J(INIT, CONTENT("<description xmlns='urn:xmpp:jingle:apps:rtp:1' ssrc='-1'/>")),
	 "bad ssrc"},
	{IN_RTP("<encryption><crypto crypto-suite='x' key-params='inline:y'/></encryption>"),
	 "bad crypto tag"},
	{IN_RTP("<encryption><crypto tag='1' key-params='inline:y'/></encryption>"),
	 "crypto without crypto-suite or key-params"},
	{IN_RTP("<encryption><crypto tag='1' crypto-suite='x'/></encryption>"),
	 "crypto without crypto-suite or key-params"},
};

static int t_malformed(xmpp_ctx_t *ctx)
{
	static struct jingle j;
	static char xml[4096];
	const char *why;
	int r;
	size_t n;

	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		r = parse_str(ctx, bad_cases[i].xml, &j, &why);
		if (!bad_cases[i].why) {   /* libstrophe refuses it */
			if (r != -ENOMEM)
				goto fail;
			continue;
		}
		if (r == -ENOMEM)
			return ENOMEM;
		if (r != -EBADMSG || !why || strcmp(why, bad_cases[i].why))
			goto fail;
		continue;
fail:
		snprintf(xml, sizeof(xml), "%s: got %d \"%s\", want \"%s\"", bad_cases[i].xml, r,
			 why ? why : "(null)", bad_cases[i].why ? bad_cases[i].why : "no XML");
		test_fail(__FILE__, __LINE__, xml);
		return EBADMSG;
	}
	EQ(jingle_parse(NULL, &j, &why), -EBADMSG);
	STREQ(why, "not a jingle element");
	EQ(jingle_parse(NULL, &j, NULL), -EBADMSG);   /* why may be NULL */

	/* a sid of 128 characters is the longest */
	n = (size_t)snprintf(xml, sizeof(xml), "<jingle xmlns='urn:xmpp:jingle:1' "
			     "action='session-initiate' sid='");
	memset(xml + n, 's', 128);
	snprintf(xml + n + 128, sizeof(xml) - n - 128, "'/>");
	EQ(parse_str(ctx, xml, &j, &why), 0);
	EQ(strlen(j.sid), 128);
	memset(xml + n, 's', 129);
	snprintf(xml + n + 129, sizeof(xml) - n - 129, "'/>");
	EQ(parse_str(ctx, xml, &j, &why), -EBADMSG);
	STREQ(why, "sid too long");
	STREQ(j.sid, "");

	/* ufrag and pwd: 256 characters at most */
	n = (size_t)snprintf(xml, sizeof(xml), "<jingle xmlns='urn:xmpp:jingle:1' " INIT ">"
			     "<content name='a'><transport "
			     "xmlns='urn:xmpp:jingle:transports:ice-udp:1' ufrag='");
	memset(xml + n, 'u', 256);
	snprintf(xml + n + 256, sizeof(xml) - n - 256, "'/></content></jingle>");
	EQ(parse_str(ctx, xml, &j, &why), 0);
	EQ(strlen(j.contents[0].ufrag), 256);
	memset(xml + n, 'u', 257);
	snprintf(xml + n + 257, sizeof(xml) - n - 257, "'/></content></jingle>");
	EQ(parse_str(ctx, xml, &j, &why), -EBADMSG);
	STREQ(why, "ufrag too long");

	/* an action we do not know is no error */
	EQ(parse_str(ctx, J("action='session-foo' sid='s1'", CONTENT("")), &j, &why), 0);
	EQ(j.action, JA_UNKNOWN);
	STREQ(j.action_str, "session-foo");
	EQ(j.ncontents, 1);
	return 0;
}

int test_jingle_malformed(void)
{
	return with_ctx(t_malformed);
}

/* Candidates we skip (counted), limits, and what is accepted though odd. */
static int t_skipped(xmpp_ctx_t *ctx)
{
	static struct jingle j;
	static char xml[16384];
	const struct jingle_content *c = &j.contents[0];
	const char *why;
	size_t n;

	EQ(parse_str(ctx, IN_ICE(CAND("3", "10.0.0.1", "1000", "udp", "host")
				      CAND("0", "10.0.0.1", "1000", "udp", "host")
				      CAND("1", "10.0.0.1", "9", "tcp", "host")
				      CAND("1", "10.0.0.1", "0", "TCP", "host")
				      CAND("1", "10.0.0.1", "0", "ssltcp", "host")
				      CAND("1", "abc.local", "1000", "udp", "host")
				      CAND("1", "2a3b-x.local", "0", "udp", "host")
				      CAND("1", "10.0.0.1", "1000", "UDP", "host")
				      CAND("2", "::1", "65535", "Udp", "prflx")), &j, &why), 0);
	EQ(c->ncands, 2);
	EQ(c->skipped_cands, 7);
	EQ(c->cands[0].c.comp, 1);
	EQ(c->cands[1].c.comp, 2);
	STREQ(c->cands[1].c.ip, "::1");
	EQ(c->cands[1].c.port, 65535);
	EQ(c->cands[1].c.type, ICE_CAND_PRFLX);

	/* a rel-addr name is dropped with its port; a browser's 0.0.0.0 0 stays */
	EQ(parse_str(ctx, IN_ICE("<candidate component='1' foundation='1' ip='192.0.2.1' "
				      "port='1' priority='1' protocol='udp' type='srflx' "
				      "rel-addr='x.local' rel-port='5'/><candidate component='1' "
				      "foundation='1' ip='192.0.2.1' port='1' priority='1' "
				      "protocol='udp' type='srflx' rel-addr='0.0.0.0' rel-port='0'/>"
				      "<candidate component='1' foundation='2' ip='192.0.2.1' "
				      "port='2' priority='4294967295' protocol='udp' type='relay' "
				      "generation='4294967295' network='007'/>"), &j, &why), 0);
	EQ(c->ncands, 3);
	STREQ(c->cands[0].c.rel_ip, "");
	EQ(c->cands[0].c.rel_port, 0);
	STREQ(c->cands[0].id, "");
	STREQ(c->cands[1].c.rel_ip, "0.0.0.0");
	EQ(c->cands[2].c.priority, 4294967295u);
	EQ(c->cands[2].generation, 4294967295u);
	EQ(c->cands[2].network, 7);

	/* 40 candidates: 32 kept, 8 counted; 20 payload types: 16 kept */
	n = (size_t)snprintf(xml, sizeof(xml), "<jingle xmlns='urn:xmpp:jingle:1' " INIT "><content "
			     "name='a'><description xmlns='urn:xmpp:jingle:apps:rtp:1'>");
	for (int i = 0; i < 20; i++)
		n += (size_t)snprintf(xml + n, sizeof(xml) - n, "<payload-type id='%d'/>", 96 + i);
	n += (size_t)snprintf(xml + n, sizeof(xml) - n, "<payload-type id='200'/></description>"
			      "<transport xmlns='urn:xmpp:jingle:transports:ice-udp:1'>");
	for (int i = 0; i < 40; i++)
		n += (size_t)snprintf(xml + n, sizeof(xml) - n, "<candidate component='1' "
				      "foundation='%d' ip='10.0.0.%d' port='%d' priority='1' "
				      "protocol='udp' type='host'/>", i, i, 1000 + i);
	snprintf(xml + n, sizeof(xml) - n, "</transport></content></jingle>");
	EQ(parse_str(ctx, xml, &j, &why), 0);
	EQ(c->npayloads, JINGLE_MAX_PAYLOADS);
	EQ(c->payloads[15].id, 111);
	EQ(c->ncands, JINGLE_MAX_CANDS);
	EQ(c->skipped_cands, 8);
	STREQ(c->cands[31].c.ip, "10.0.0.31");
	EQ(c->ufrag[0], '\0');

	/* elements in other namespaces are not ours: ignored */
	EQ(parse_str(ctx, J(INIT, "<content xmlns='urn:x' name=''/>"
				 CONTENT("<description xmlns='urn:xmpp:jingle:apps:rtp:1'>"
					 "<payload-type xmlns='urn:x' id='999'/><rtcp-mux "
					 "xmlns='urn:x'/></description><transport "
					 "xmlns='urn:xmpp:jingle:transports:raw-udp:1'><candidate "
					 "port='0'/></transport><transport xmlns='urn:xmpp:jingle:"
					 "transports:ice-udp:1'><candidate xmlns='urn:x' port='0'/>"
					 "</transport>")), &j, &why), 0);
	EQ(j.ncontents, 1);
	TEST_ASSERT(c->rtp && !c->npayloads && !c->rtcp_mux);
	TEST_ASSERT(c->has_transport && c->ice && !c->ncands && !c->skipped_cands);
	return 0;
}

int test_jingle_skipped(void)
{
	return with_ctx(t_skipped);
}

/* --- iq errors --- */

static int t_iq_error(xmpp_ctx_t *ctx)
{
	char text[OUT];
	xmpp_stanza_t *req = xmpp_stanza_new_from_string(ctx,
		"<iq from='romeo@montague.lit/orchard' to='juliet@capulet.lit/balcony' "
		"id='ih28sx61' type='set'><jingle xmlns='urn:xmpp:jingle:1' "
		"action='session-info' sid='x'/></iq>");
	int err = EBADMSG;

	if (!req)
		return ENOMEM;
	if (render(ctx, COUNTED(jingle_iq_error(ctx, req, "juliet@capulet.lit/balcony", "cancel",
					"feature-not-implemented", "unsupported-info", NULL)), text))
		goto nomem;
	if (str_is(__FILE__, __LINE__, text,
		   "<iq id=\"ih28sx61\" to=\"romeo@montague.lit/orchard\" type=\"error\" "
		   "from=\"juliet@capulet.lit/balcony\"><error type=\"cancel\">"
		   "<feature-not-implemented xmlns=\"urn:ietf:params:xml:ns:xmpp-stanzas\"/>"
		   "<unsupported-info xmlns=\"urn:xmpp:jingle:errors:1\"/></error></iq>"))
		goto out;
	if (render(ctx, COUNTED(jingle_iq_error(ctx, req, "juliet@capulet.lit/balcony", "modify",
					"bad-request", NULL, "bad candidate port & <more>")), text))
		goto nomem;
	if (str_is(__FILE__, __LINE__, text,
		   "<iq id=\"ih28sx61\" to=\"romeo@montague.lit/orchard\" type=\"error\" "
		   "from=\"juliet@capulet.lit/balcony\"><error type=\"modify\"><bad-request "
		   "xmlns=\"urn:ietf:params:xml:ns:xmpp-stanzas\"/><text "
		   "xmlns=\"urn:ietf:params:xml:ns:xmpp-stanzas\">bad candidate port &amp; "
		   "&lt;more&gt;</text></error></iq>"))
		goto out;
	if (render(ctx, COUNTED(jingle_iq_error(ctx, req, NULL, "cancel", "item-not-found",
					"unknown-session", "")), text))
		goto nomem;
	if (str_is(__FILE__, __LINE__, text,
		   "<iq id=\"ih28sx61\" to=\"romeo@montague.lit/orchard\" type=\"error\"><error "
		   "type=\"cancel\"><item-not-found xmlns=\"urn:ietf:params:xml:ns:xmpp-stanzas\"/>"
		   "<unknown-session xmlns=\"urn:xmpp:jingle:errors:1\"/></error></iq>"))
		goto out;
	err = 0;
	goto out;
nomem:
	err = ENOMEM;
out:
	xmpp_stanza_release(req);
	return err;
}

int test_jingle_iq_error(void)
{
	return with_ctx(t_iq_error);
}

/* --- XEP-0353 --- */

static int t_jmi_parse(xmpp_ctx_t *ctx)
{
	static const struct {
		const char *file;
		enum jmi_kind kind;
		bool audio, video;
		enum jingle_reason reason;
		const char *from, *to;
	} cases[] = {
		{"xep0353-propose.xml", JMI_PROPOSE, true, false, JR_NONE,
		 "romeo@montague.example/orchard", "juliet@capulet.example"},
		{"xep0353-ringing.xml", JMI_RINGING, false, false, JR_NONE,
		 "juliet@capulet.example/phone", "romeo@montague.example/orchard"},
		{"xep0353-proceed.xml", JMI_PROCEED, false, false, JR_NONE,
		 "juliet@capulet.example/phone", "romeo@montague.example/orchard"},
		{"xep0353-accept.xml", JMI_ACCEPT, false, false, JR_NONE,
		 "juliet@capulet.example/phone", "juliet@capulet.example"},
		{"xep0353-reject.xml", JMI_REJECT, false, false, JR_BUSY,
		 "juliet@capulet.example/phone", "romeo@montague.example/orchard"},
		{"xep0353-retract.xml", JMI_RETRACT, false, false, JR_CANCEL,
		 "romeo@montague.example/orchard", "juliet@capulet.example"},
		{"xep0353-finish.xml", JMI_FINISH, false, false, JR_SUCCESS,
		 "romeo@montague.example/orchard", "juliet@capulet.example/phone"},
	};
	struct jmi m;
	const char *why;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		EQ(jmi_vec(ctx, cases[i].file, &m, &why), 0);
		EQ(m.kind, cases[i].kind);
		STREQ(m.id, "ca3cf894-5325-482f-a412-a6e9f832298d");
		EQ(m.audio, cases[i].audio);
		EQ(m.video, cases[i].video);
		EQ(m.reason, cases[i].reason);
		STREQ(m.from, cases[i].from);
		STREQ(m.to, cases[i].to);
		TEST_ASSERT(!m.carbon_sent && !m.carbon_received);
	}
	EQ(jmi_vec(ctx, "conversations-propose.xml", &m, &why), 0);
	EQ(m.kind, JMI_PROPOSE);
	STREQ(m.id, "Wb4KqEDdVQZb3UjbAaKPEw");
	TEST_ASSERT(m.audio && m.video);
	STREQ(m.from, "romeo@montague.example/Conversations.Xp2a");
	return 0;
}

int test_jmi_parse(void)
{
	return with_ctx(t_jmi_parse);
}

static int t_jmi_carbons(xmpp_ctx_t *ctx)
{
	struct jmi m;
	const char *why;

	EQ(jmi_vec(ctx, "carbon-sent-proceed.xml", &m, &why), 0);
	EQ(m.kind, JMI_PROCEED);
	TEST_ASSERT(m.carbon_sent && !m.carbon_received);
	STREQ(m.id, "ca3cf894-5325-482f-a412-a6e9f832298d");
	STREQ(m.from, "juliet@capulet.example/phone");
	STREQ(m.to, "romeo@montague.example/orchard");

	EQ(jmi_vec(ctx, "carbon-received-retract.xml", &m, &why), 0);
	EQ(m.kind, JMI_RETRACT);
	TEST_ASSERT(!m.carbon_sent && m.carbon_received);
	EQ(m.reason, JR_CANCEL);
	STREQ(m.from, "romeo@montague.example/orchard");
	STREQ(m.to, "juliet@capulet.example/phone");

	/* a forwarded message without xmlns takes forward's: still found */
	EQ(jmi_str(ctx, "<message from='a@b'><received xmlns='urn:xmpp:carbons:2'><forwarded "
			     "xmlns='urn:xmpp:forward:0'><message from='c@d/e'><ringing "
			     "xmlns='urn:xmpp:jingle-message:0' id='r'/></message></forwarded>"
			     "</received></message>", &m, &why), 0);
	EQ(m.kind, JMI_RINGING);
	STREQ(m.from, "c@d/e");
	STREQ(m.to, "");
	/* a carbon forwarding something else, or nothing, is no JMI message,
	 * even with a JMI element outside it */
	EQ(jmi_str(ctx, "<message from='a@b'><sent xmlns='urn:xmpp:carbons:2'><forwarded "
			     "xmlns='urn:xmpp:forward:0'><message><body>hi</body></message>"
			     "</forwarded></sent></message>", &m, &why), -ENOENT);
	EQ(jmi_str(ctx, "<message from='a@b'><sent xmlns='urn:xmpp:carbons:2'/><propose "
			     "xmlns='urn:xmpp:jingle-message:0' id='p'/></message>", &m, &why),
		-ENOENT);
	EQ(jmi_str(ctx, "<message><sent xmlns='urn:xmpp:carbons:2'><forwarded "
			     "xmlns='urn:xmpp:forward:0'/></sent></message>", &m, &why), -ENOENT);
	/* one level only: a carbon in a carbon is not unwrapped */
	EQ(jmi_str(ctx, "<message><sent xmlns='urn:xmpp:carbons:2'><forwarded "
			     "xmlns='urn:xmpp:forward:0'><message><sent xmlns='urn:xmpp:carbons:2'>"
			     "<forwarded xmlns='urn:xmpp:forward:0'><message><propose "
			     "xmlns='urn:xmpp:jingle-message:0' id='p'/></message></forwarded>"
			     "</sent></message></forwarded></sent></message>", &m, &why), -ENOENT);
	return 0;
}

int test_jmi_carbons(void)
{
	return with_ctx(t_jmi_carbons);
}

static int t_jmi_malformed(xmpp_ctx_t *ctx)
{
	static const struct {
		const char *xml;
		int r;
		const char *why;
	} cases[] = {
		{"<message><propose xmlns='urn:xmpp:jingle-message:0'/></message>", -EBADMSG,
		 "JMI element without id"},
		{"<message><proceed xmlns='urn:xmpp:jingle-message:0' id=''/></message>", -EBADMSG,
		 "JMI element without id"},
		{"<message><invite xmlns='urn:xmpp:jingle-message:0' id='x'/></message>", -EBADMSG,
		 "unknown JMI element"},
		{"<message><propose xmlns='urn:xmpp:jingle-message:0' id='x&#10;y'/></message>",
		 -EBADMSG, "control character in JMI id"},
		{"<message from='a&#9;b'><propose xmlns='urn:xmpp:jingle-message:0' id='x'/></message>",
		 -EBADMSG, "control character in from"},
		{"<message><body>hi</body></message>", -ENOENT, "no JMI element"},
		{"<message><propose id='x'/></message>", -ENOENT, "no JMI element"},
		{"<message/>", -ENOENT, "no JMI element"},
		{"<iq type='set'><propose xmlns='urn:xmpp:jingle-message:0' id='x'/></iq>", -ENOENT,
		 "not a message"},
		/* odd but fine: descriptions only count in a propose, and must be RTP */
		{"<message><proceed xmlns='urn:xmpp:jingle-message:0' id='x'><description "
		 "xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'/></proceed></message>", 0, NULL},
		{"<message><propose xmlns='urn:xmpp:jingle-message:0' id='x'><description "
		 "xmlns='urn:xmpp:jingle:apps:stub:0' media='audio'/><description media='video'/>"
		 "</propose></message>", 0, NULL},
	};
	struct jmi m;
	const char *why;
	int r;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		r = jmi_str(ctx, cases[i].xml, &m, &why);
		if (r == -ENOMEM)
			return ENOMEM;
		if (r != cases[i].r || (cases[i].why && (!why || strcmp(why, cases[i].why)))) {
			test_fail(__FILE__, __LINE__, cases[i].xml);
			return EBADMSG;
		}
		if (!r)
			TEST_ASSERT(!m.audio && !m.video);
	}
	EQ(jmi_parse(NULL, &m, NULL), -ENOENT);
	return 0;
}

int test_jmi_malformed(void)
{
	return with_ctx(t_jmi_malformed);
}

/* Build, check the XML, parse back. */
static int jmi_check(xmpp_ctx_t *ctx, const struct jmi *m, const char *from, const char *to,
		     const char *id, const char *want)
{
	char text[OUT];
	struct jmi back;
	const char *why;

	EQ(render(ctx, COUNTED(jmi_build(ctx, m, from, to, id)), text), 0);
	STREQ(text, want);
	EQ(jmi_str(ctx, text, &back, &why), 0);
	EQ(back.kind, m->kind);
	STREQ(back.id, m->id);
	EQ(back.audio, m->kind == JMI_PROPOSE && m->audio);
	EQ(back.video, m->kind == JMI_PROPOSE && m->video);
	EQ(back.reason, m->reason);
	STREQ(back.from, from ? from : "");
	STREQ(back.to, to ? to : "");
	TEST_ASSERT(!back.carbon_sent && !back.carbon_received);
	return 0;
}

static int t_jmi_build(xmpp_ctx_t *ctx)
{
	struct jmi m;

	memset(&m, 0, sizeof(m));
	m.kind = JMI_PROPOSE;
	strcpy(m.id, "ca3cf894");
	m.audio = true;
	CHECK(jmi_check(ctx, &m, "romeo@montague.example/gw", "juliet@capulet.example", "p1",
			"<message id=\"p1\" to=\"juliet@capulet.example\" type=\"chat\" "
			"from=\"romeo@montague.example/gw\"><propose id=\"ca3cf894\" "
			"xmlns=\"urn:xmpp:jingle-message:0\"><description "
			"xmlns=\"urn:xmpp:jingle:apps:rtp:1\" media=\"audio\"/></propose><request "
			"xmlns=\"urn:xmpp:receipts\"/><store xmlns=\"urn:xmpp:hints\"/></message>"));
	m.video = true;
	CHECK(jmi_check(ctx, &m, NULL, NULL, NULL,
			"<message type=\"chat\"><propose id=\"ca3cf894\" "
			"xmlns=\"urn:xmpp:jingle-message:0\"><description "
			"xmlns=\"urn:xmpp:jingle:apps:rtp:1\" media=\"audio\"/><description "
			"xmlns=\"urn:xmpp:jingle:apps:rtp:1\" media=\"video\"/></propose><request "
			"xmlns=\"urn:xmpp:receipts\"/><store xmlns=\"urn:xmpp:hints\"/></message>"));
	m.kind = JMI_REJECT;
	m.reason = JR_BUSY;
	CHECK(jmi_check(ctx, &m, "romeo@montague.example/gw", "juliet@capulet.example/phone", NULL,
			"<message to=\"juliet@capulet.example/phone\" type=\"chat\" "
			"from=\"romeo@montague.example/gw\"><reject id=\"ca3cf894\" "
			"xmlns=\"urn:xmpp:jingle-message:0\"><reason xmlns=\"urn:xmpp:jingle:1\">"
			"<busy/></reason></reject><request xmlns=\"urn:xmpp:receipts\"/><store "
			"xmlns=\"urn:xmpp:hints\"/></message>"));
	m.kind = JMI_RINGING;
	m.reason = JR_NONE;
	CHECK(jmi_check(ctx, &m, "romeo@montague.example/gw", "juliet@capulet.example/phone", "r1",
			"<message id=\"r1\" to=\"juliet@capulet.example/phone\" type=\"chat\" "
			"from=\"romeo@montague.example/gw\"><ringing id=\"ca3cf894\" "
			"xmlns=\"urn:xmpp:jingle-message:0\"/><store xmlns=\"urn:xmpp:hints\"/>"
			"</message>"));
	m.kind = JMI_FINISH;
	m.reason = JR_SUCCESS;
	CHECK(jmi_check(ctx, &m, "romeo@montague.example/gw", "juliet@capulet.example/phone", "f1",
			"<message id=\"f1\" to=\"juliet@capulet.example/phone\" type=\"chat\" "
			"from=\"romeo@montague.example/gw\"><finish id=\"ca3cf894\" "
			"xmlns=\"urn:xmpp:jingle-message:0\"><reason xmlns=\"urn:xmpp:jingle:1\">"
			"<success/></reason></finish><store xmlns=\"urn:xmpp:hints\"/></message>"));
	/* receipts for propose/proceed/accept/reject/retract only */
	m.reason = JR_NONE;
	for (int k = JMI_PROPOSE; k <= JMI_FINISH; k++) {
		char text[OUT];
		bool receipt = k != JMI_RINGING && k != JMI_FINISH;

		m.kind = (enum jmi_kind)k;
		EQ(render(ctx, COUNTED(jmi_build(ctx, &m, "a@b/c", "d@e", "x")), text), 0);
		EQ(strstr(text, "<request xmlns=\"urn:xmpp:receipts\"/>") != NULL, receipt);
		TEST_ASSERT(strstr(text, "<store xmlns=\"urn:xmpp:hints\"/>") != NULL);
		CHECK(jmi_check(ctx, &m, "a@b/c", "d@e", "x", text));
	}
	m.kind = JMI_NONE;
	TEST_ASSERT(COUNTED(jmi_build(ctx, &m, NULL, NULL, NULL)) == NULL);
	return 0;
}

int test_jmi_build(void)
{
	return with_ctx(t_jmi_build);
}

/* Every JMI vector builds back to itself. */
static int t_jmi_roundtrip(xmpp_ctx_t *ctx)
{
	static const char *const files[] = {
		"xep0353-propose.xml", "xep0353-ringing.xml", "xep0353-proceed.xml",
		"xep0353-accept.xml", "xep0353-reject.xml", "xep0353-retract.xml",
		"xep0353-finish.xml", "conversations-propose.xml", "carbon-sent-proceed.xml",
		"carbon-received-retract.xml",
	};
	struct jmi m, back;
	const char *why;
	char text[OUT];

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		EQ(jmi_vec(ctx, files[i], &m, &why), 0);
		EQ(render(ctx, COUNTED(jmi_build(ctx, &m, m.from, m.to, "x")), text), 0);
		EQ(jmi_str(ctx, text, &back, &why), 0);
		EQ(back.kind, m.kind);
		STREQ(back.id, m.id);
		EQ(back.audio, m.audio);
		EQ(back.video, m.video);
		EQ(back.reason, m.reason);
		STREQ(back.from, m.from);
		STREQ(back.to, m.to);
	}
	return 0;
}

int test_jmi_roundtrip(void)
{
	return with_ctx(t_jmi_roundtrip);
}
