/* libFuzzer target for signaling/jingle.c.  The input is XML text (NULs
 * end it early), read with xmpp_stanza_new_from_string() as a stanza would
 * arrive.  A <jingle/> (the element itself, or an iq's child) goes to
 * jingle_parse(), a <message/> to jmi_parse().
 *
 * Parsing must not crash, must give 0 or -EBADMSG (-ENOENT for JMI) with a
 * reason, and what it accepts must build back: the built stanza, rendered
 * and parsed again, gives the same struct, up to what jingle.h says the
 * builder changes (canon() below). */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strophe.h>
#include "jingle.h"

#define CHECK(c) do { if (!(c)) abort(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static xmpp_ctx_t *ctx;
/* 50 kB each: static rather than on the stack */
static struct jingle j1, j2, c1, c2;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc; (void)argv;
	xmpp_initialize();
	ctx = xmpp_ctx_new(NULL, NULL);   /* no logger: quiet */
	CHECK(ctx != NULL);
	return 0;
}

/* Every string in the struct ends inside its array. */
#define TERMINATED(s) CHECK(memchr(s, 0, sizeof(s)) != NULL)

static void check_strings(const struct jingle *j)
{
	TERMINATED(j->action_str);
	TERMINATED(j->sid);
	TERMINATED(j->initiator);
	TERMINATED(j->responder);
	TERMINATED(j->reason_text);
	CHECK(j->ncontents <= JINGLE_MAX_CONTENTS);
	for (unsigned i = 0; i < j->ncontents; i++) {
		const struct jingle_content *c = &j->contents[i];

		TERMINATED(c->name);
		CHECK(c->name[0]);
		TERMINATED(c->media);
		TERMINATED(c->ufrag);
		TERMINATED(c->pwd);
		TERMINATED(c->fp.hash);
		TERMINATED(c->fp.value);
		CHECK(c->npayloads <= JINGLE_MAX_PAYLOADS && c->ncands <= JINGLE_MAX_CANDS &&
		      c->ncrypto <= JINGLE_MAX_CRYPTO);
		CHECK(!c->rtp || c->has_description);
		CHECK(!c->ice || c->has_transport);
		for (unsigned k = 0; k < c->npayloads; k++) {
			TERMINATED(c->payloads[k].name);
			CHECK(c->payloads[k].id <= 127 && c->payloads[k].channels >= 1);
		}
		for (unsigned k = 0; k < c->ncands; k++) {
			const struct jingle_cand *jc = &c->cands[k];

			TERMINATED(jc->id);
			TERMINATED(jc->c.foundation);
			TERMINATED(jc->c.ip);
			TERMINATED(jc->c.rel_ip);
			CHECK(jc->c.foundation[0] && jc->c.ip[0] && jc->c.port);
			CHECK(jc->c.comp == 1 || jc->c.comp == 2);
			CHECK(jc->c.transport == ICE_TP_UDP);
		}
		for (unsigned k = 0; k < c->ncrypto; k++) {
			TERMINATED(c->crypto[k].suite);
			TERMINATED(c->crypto[k].key_params);
		}
		if (c->has_fingerprint) {
			size_t n = strlen(c->fp.value);

			CHECK(n >= 2 && n % 3 == 2);
			for (size_t k = 0; k < n; k++)
				CHECK(k % 3 == 2 ? c->fp.value[k] == ':'
					: strchr("0123456789ABCDEF", c->fp.value[k]) != NULL);
		}
	}
}

/* A field-by-field copy into a zeroed struct (so two compare with memcmp);
 * with built, what parsing jingle_build(in) must give: see jingle.h.  The
 * same as canon() in tests/unit/test_jingle.c, which explains it. */
static void canon_content(const struct jingle *j, const struct jingle_content *in,
			  struct jingle_content *o, bool built, unsigned *k)
{
	bool desc = built ? (in->has_description || in->rtp) && j->action != JA_TRANSPORT_INFO
			  : in->has_description;

	strcpy(o->name, in->name);
	o->creator = in->creator;
	o->senders = in->senders;
	if (desc) {
		o->has_description = true;
		o->rtp = built || in->rtp;
		strcpy(o->media, in->media);
		o->ssrc = in->ssrc;
		for (unsigned i = 0; i < in->npayloads; i++) {
			o->payloads[i].id = in->payloads[i].id;
			strcpy(o->payloads[i].name, in->payloads[i].name);
			o->payloads[i].clockrate = in->payloads[i].clockrate;
			o->payloads[i].channels = in->payloads[i].channels;
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
	if (!in->has_transport)
		return;
	o->has_transport = true;
	o->ice = built || in->ice;
	strcpy(o->ufrag, in->ufrag);
	strcpy(o->pwd, in->pwd);
	for (unsigned i = 0; i < in->ncands; i++) {
		const struct jingle_cand *a = &in->cands[i];
		struct jingle_cand *b = &o->cands[i];

		strcpy(b->c.foundation, a->c.foundation);
		b->c.comp = a->c.comp;
		b->c.transport = a->c.transport;
		b->c.priority = a->c.priority;
		strcpy(b->c.ip, a->c.ip);
		b->c.port = a->c.port;
		b->c.type = a->c.type;
		strcpy(b->c.rel_ip, a->c.rel_ip);
		b->c.rel_port = a->c.rel_port;
		++*k;
		if (built && !a->id[0])
			snprintf(b->id, sizeof(b->id), "c%u", *k);
		else
			strcpy(b->id, a->id);
		b->generation = a->generation;
		b->network = a->network;
	}
	o->ncands = in->ncands;
	o->skipped_cands = built ? 0 : in->skipped_cands;
	o->has_fingerprint = in->has_fingerprint;
	strcpy(o->fp.hash, in->fp.hash);
	strcpy(o->fp.value, in->fp.value);
	o->fp.setup = in->fp.setup;
}

static void canon(const struct jingle *in, struct jingle *o, bool built)
{
	unsigned k = 0;

	memset(o, 0, sizeof(*o));
	o->action = in->action;
	strcpy(o->action_str, in->action_str);
	strcpy(o->sid, in->sid);
	strcpy(o->initiator, in->initiator);
	strcpy(o->responder, in->responder);
	for (unsigned i = 0; i < in->ncontents; i++)
		canon_content(in, &in->contents[i], &o->contents[i], built, &k);
	o->ncontents = in->ncontents;
	if (!built || in->reason != JR_NONE) {
		o->reason = in->reason;
		strcpy(o->reason_text, in->reason_text);
	}
	o->info = built && in->info == JI_OTHER ? JI_NONE : in->info;
}

/* st rendered and read back (NULL only if libstrophe cannot read what it
 * wrote: a failure). */
static xmpp_stanza_t *reread(xmpp_stanza_t *st)
{
	char *text = NULL;
	size_t n = 0;
	xmpp_stanza_t *back;

	CHECK(st != NULL);
	CHECK(xmpp_stanza_to_text(st, &text, &n) == XMPP_EOK);
	xmpp_stanza_release(st);
	back = xmpp_stanza_new_from_string(ctx, text);
	CHECK(back != NULL);
	xmpp_free(ctx, text);
	return back;
}

/* el: the <jingle/> (or NULL) in top, the stanza read */
static void fuzz_jingle(xmpp_stanza_t *top, xmpp_stanza_t *el)
{
	const char *why = NULL;
	xmpp_stanza_t *back;
	int r = jingle_parse(el, &j1, &why);

	CHECK(r == 0 || r == -EBADMSG);
	CHECK(r ? why != NULL : why == NULL);
	if (r) {
		/* what the session answers: to the iq's from, with its id */
		xmpp_stanza_release(reread(jingle_iq_error(ctx, top, "me@x/y", "modify",
							  "bad-request", NULL, why)));
		return;
	}
	check_strings(&j1);
	back = reread(jingle_iq_build(ctx, &j1, "a@b/c", "d@e/f", "x"));
	r = jingle_parse(xmpp_stanza_get_child_by_name_and_ns(back, "jingle", JINGLE_NS), &j2,
			 &why);
	if (r)
		fprintf(stderr, "re-parse failed: %s\n", why);
	CHECK(r == 0);
	xmpp_stanza_release(back);
	canon(&j1, &c1, true);
	canon(&j2, &c2, false);
	CHECK(!memcmp(&c1, &c2, sizeof(c1)));
}

static void fuzz_jmi(xmpp_stanza_t *msg)
{
	struct jmi m, m2;
	const char *why = NULL;
	xmpp_stanza_t *back;
	int r = jmi_parse(msg, &m, &why);

	CHECK(r == 0 || r == -EBADMSG || r == -ENOENT);
	CHECK(r ? why != NULL : why == NULL);
	if (r)
		return;
	CHECK(m.kind > JMI_NONE && m.kind <= JMI_FINISH && m.id[0]);
	CHECK(memchr(m.from, 0, sizeof(m.from)) && memchr(m.to, 0, sizeof(m.to)));
	back = reread(jmi_build(ctx, &m, m.from, m.to, "x"));
	CHECK(jmi_parse(back, &m2, &why) == 0);
	xmpp_stanza_release(back);
	CHECK(m2.kind == m.kind && !strcmp(m2.id, m.id) && m2.audio == m.audio &&
	      m2.video == m.video && m2.reason == m.reason && !strcmp(m2.from, m.from) &&
	      !strcmp(m2.to, m.to) && !m2.carbon_sent && !m2.carbon_received);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	xmpp_stanza_t *st;
	const char *name;

	CHECK(s);
	memcpy(s, data, size);
	s[size] = '\0';
	st = xmpp_stanza_new_from_string(ctx, s);
	free(s);
	if (!st)
		return 0;
	name = xmpp_stanza_get_name(st);
	if (name && !strcmp(name, "message")) {
		fuzz_jmi(st);
	} else {
		/* anything else: as a <jingle/>, or its first jingle child */
		xmpp_stanza_t *jg = xmpp_stanza_get_child_by_name_and_ns(st, "jingle", JINGLE_NS);

		fuzz_jingle(st, name && !strcmp(name, "jingle") ? st : jg);
	}
	xmpp_stanza_release(st);
	return 0;
}
