/* Tests for signaling/extdisco.c: XEP-0215 requests and answers, on the
 * vectors of test-vectors/extdisco/ (its README says where each comes
 * from): what is kept, what is skipped, and what a call picks from it.
 *
 * Parsing allocates nothing of ours; libstrophe allocates through malloc
 * here (as in test_stanza.c), and every stanza is released before a
 * helper returns, so a failing check leaks nothing. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strophe.h>
#include "extdisco.h"
#include "mem.h"
#include "test.h"

#define CHECK(c) TEST_ERR((c) ? 0 : EBADMSG)
#define NOW_2026 1795354871   /* 2026-11-22T13:41:11Z: the prosody vectors' expiry */

static struct extdisco d;   /* 6 kB: not on the stack */

static xmpp_ctx_t *ctx_new(void)
{
	static bool init;

	if (!init) {
		xmpp_initialize();
		init = true;
	}
	return xmpp_ctx_new(NULL, NULL);
}

/* The stanza in test-vectors/extdisco/<name>, or NULL. */
static xmpp_stanza_t *load(xmpp_ctx_t *ctx, const char *name)
{
	char rel[128];
	uint8_t *b;
	size_t n;
	xmpp_stanza_t *st;

	snprintf(rel, sizeof(rel), "extdisco/%s", name);
	if (test_load_vector(rel, &b, &n))
		return NULL;
	b[n] = '\0';   /* test_load_vector allocates one more byte */
	st = xmpp_stanza_new_from_string(ctx, (char *)b);
	mem_deref(b);
	return st;
}

/* extdisco_parse of a vector into d: its result, or -ENOMEM when the
 * vector could not be read.  A reason must come with -EBADMSG only. */
static int parse_vec(const char *name)
{
	xmpp_ctx_t *ctx = ctx_new();
	xmpp_stanza_t *st = ctx ? load(ctx, name) : NULL;
	const char *why = "unset";
	int r = -ENOMEM;

	if (st) {
		r = extdisco_parse(st, &d, &why);
		if ((r == 0) != (why == NULL))
			r = -EPROTO;
		xmpp_stanza_release(st);
	}
	if (ctx)
		xmpp_ctx_free(ctx);
	return r;
}

static bool svc_is(unsigned i, enum extdisco_type type, const char *host, uint16_t port,
		   enum extdisco_transport tp, const char *user, const char *pass)
{
	const struct extdisco_service *s = &d.svc[i];

	return i < d.n && s->type == type && !strcmp(s->host, host) && s->port == port &&
	       s->transport == tp && !strcmp(s->username, user) && !strcmp(s->password, pass);
}

int test_extdisco_names(void)
{
	TEST_STREQ(extdisco_type_name(EXTDISCO_STUN), "stun");
	TEST_STREQ(extdisco_type_name(EXTDISCO_TURN), "turn");
	TEST_STREQ(extdisco_type_name(EXTDISCO_TURNS), "turns");
	TEST_STREQ(extdisco_type_name((enum extdisco_type)7), "?");
	TEST_STREQ(extdisco_transport_name(EXTDISCO_UDP), "udp");
	TEST_STREQ(extdisco_transport_name(EXTDISCO_TCP), "tcp");
	return 0;
}

static bool is(const char *a, const char *b)
{
	return a && !strcmp(a, b);
}

static bool same_attr(xmpp_stanza_t *a, xmpp_stanza_t *b, const char *name)
{
	const char *x = xmpp_stanza_get_attribute(a, name), *y = xmpp_stanza_get_attribute(b, name);

	return x && y && !strcmp(x, y);
}

/* What we build, rendered and read back, against XEP-0215's example 1:
 * the same iq and the same empty <services/> (the example's from is the
 * server's to add). */
int test_extdisco_request(void)
{
	xmpp_ctx_t *ctx = ctx_new();
	xmpp_stanza_t *built = NULL, *back = NULL, *xep = NULL, *q, *xq;
	char *text = NULL;
	size_t len;
	int err = 0;

	if (!ctx)
		return ENOMEM;
	built = extdisco_request(ctx, "shakespeare.lit", "ul2bc7y6");
	xep = load(ctx, "xep0215-request.xml");
	CHECK(built && xep);
	CHECK(xmpp_stanza_to_text(built, &text, &len) == XMPP_EOK);
	back = xmpp_stanza_new_from_string(ctx, text);
	CHECK(back);
	CHECK(is(xmpp_stanza_get_name(back), "iq"));
	CHECK(same_attr(back, xep, "type") && same_attr(back, xep, "to") &&
	      same_attr(back, xep, "id"));
	CHECK(!xmpp_stanza_get_from(back));
	q = xmpp_stanza_get_children(back);
	xq = xmpp_stanza_get_child_by_name(xep, "services");
	CHECK(q && xq && !xmpp_stanza_get_next(q));
	CHECK(is(xmpp_stanza_get_name(q), "services"));
	CHECK(is(xmpp_stanza_get_ns(q), EXTDISCO_NS) && is(xmpp_stanza_get_ns(xq), EXTDISCO_NS));
	CHECK(!xmpp_stanza_get_children(q) && !xmpp_stanza_get_attribute(q, "type"));
	/* A request to nowhere in particular is still a request. */
	xmpp_stanza_release(built);
	built = extdisco_request(ctx, NULL, NULL);
	CHECK(built && !xmpp_stanza_get_to(built));
out:
	if (text)
		xmpp_free(ctx, text);
	if (built)
		xmpp_stanza_release(built);
	if (back)
		xmpp_stanza_release(back);
	if (xep)
		xmpp_stanza_release(xep);
	xmpp_ctx_free(ctx);
	return err;
}

/* XEP-0215 examples 2, 4 and 5. */
int test_extdisco_xep(void)
{
	struct ice_servers s;
	int err = 0;

	TEST_EQ(parse_vec("xep0215-services.xml"), 0);
	TEST_EQ(d.n, 4);
	TEST_EQ(d.skipped, 1);   /* ftp */
	CHECK(svc_is(0, EXTDISCO_STUN, "stun.shakespeare.lit", 9998, EXTDISCO_UDP, "", ""));
	CHECK(svc_is(1, EXTDISCO_TURN, "relay.shakespeare.lit", 9999, EXTDISCO_UDP,
		     "nb78932lkjlskjfdb7g8", "jj929jkj5sadjfj93v3n"));
	CHECK(svc_is(2, EXTDISCO_STUN, "192.0.2.1", 8888, EXTDISCO_UDP, "", ""));
	CHECK(svc_is(3, EXTDISCO_TURN, "192.0.2.1", 8889, EXTDISCO_UDP, "auu98sjl2wk3e9fjdsl7",
		     "93jn3bakj9s832lrjbbz"));
	for (unsigned i = 0; i < d.n; i++)
		CHECK(!d.svc[i].expires && !d.svc[i].restricted);
	TEST_EQ(extdisco_expiry(&d), 0);
	/* the first of each kind */
	TEST_EQ(extdisco_pick(&d, NOW_2026, 60, &s), 2);
	TEST_STREQ(s.stun_host, "stun.shakespeare.lit");
	TEST_EQ(s.stun_port, 9998);
	TEST_STREQ(s.turn_host, "relay.shakespeare.lit");
	TEST_EQ(s.turn_port, 9999);
	TEST_STREQ(s.turn_user, "nb78932lkjlskjfdb7g8");
	TEST_STREQ(s.turn_pass, "jj929jkj5sadjfj93v3n");
	CHECK(!s.turn_tcp);

	TEST_EQ(parse_vec("xep0215-selected-turn.xml"), 0);
	TEST_EQ(d.n, 2);
	TEST_EQ(d.skipped, 0);
	CHECK(svc_is(0, EXTDISCO_TURN, "turn.shakespeare.lit", 9999, EXTDISCO_UDP,
		     "nb78932lkjlskjfdb7g8", "jj929jkj5sadjfj93v3n"));
	TEST_EQ(extdisco_pick(&d, NOW_2026, 60, &s), 1);
	CHECK(!s.stun_host && s.turn_host);

	/* a push: what it adds is kept, what it deletes is not */
	TEST_EQ(parse_vec("xep0215-push.xml"), 0);
	TEST_EQ(d.n, 2);
	TEST_EQ(d.skipped, 1);
	CHECK(svc_is(1, EXTDISCO_TURN, "192.0.2.2", 7778, EXTDISCO_UDP, "bnsv120afg48snsdozp",
		     "zxp023na98dsfahn1kk"));
out:
	return err;
}

/* prosody 0.12's mod_turn_external, in both namespaces. */
int test_extdisco_prosody(void)
{
	static const char *const vec[] = {"prosody-turn-external.xml",
					  "prosody-turn-external-v1.xml"};
	static const char user[] = "1795354871:rtmp2xmpp", pass[] = "qwLB5pAzlgWb0pXxfn2P7KEObEU=";
	struct ice_servers s;
	int err = 0;

	for (unsigned v = 0; v < 2; v++) {
		TEST_EQ(parse_vec(vec[v]), 0);
		TEST_EQ(d.n, 5);
		TEST_EQ(d.skipped, 0);
		CHECK(svc_is(0, EXTDISCO_STUN, "turn.example.net", 3478, EXTDISCO_UDP, "", ""));
		CHECK(svc_is(1, EXTDISCO_STUN, "turn.example.net", 3478, EXTDISCO_TCP, "", ""));
		CHECK(svc_is(2, EXTDISCO_TURN, "turn.example.net", 3478, EXTDISCO_UDP, user, pass));
		CHECK(svc_is(3, EXTDISCO_TURN, "turn.example.net", 3478, EXTDISCO_TCP, user, pass));
		CHECK(svc_is(4, EXTDISCO_TURNS, "turn.example.net", 5349, EXTDISCO_TCP, "", ""));
		/* the TURN REST username starts with the expiry it names */
		TEST_EQ(d.svc[2].expires, NOW_2026);
		CHECK(d.svc[2].restricted && d.svc[3].restricted && !d.svc[0].restricted);
		TEST_EQ(extdisco_expiry(&d), NOW_2026);

		/* an hour before: STUN and TURN over UDP */
		TEST_EQ(extdisco_pick(&d, NOW_2026 - 3600, 60, &s), 2);
		TEST_STREQ(s.stun_host, "turn.example.net");
		TEST_EQ(s.stun_port, 3478);
		TEST_STREQ(s.turn_user, user);
		TEST_STREQ(s.turn_pass, pass);
		CHECK(!s.turn_tcp);
		/* within the margin of the end: STUN only */
		TEST_EQ(extdisco_pick(&d, NOW_2026 - 60, 60, &s), 1);
		CHECK(s.stun_host && !s.turn_host && !s.turn_user && !s.turn_pass);
		TEST_EQ(extdisco_pick(&d, NOW_2026 - 61, 60, &s), 2);
		/* UDP's credentials gone: TCP's */
		d.svc[2].expires = 1;
		TEST_EQ(extdisco_pick(&d, NOW_2026 - 3600, 60, &s), 2);
		CHECK(s.turn_tcp && !strcmp(s.turn_host, "turn.example.net"));
		TEST_EQ(extdisco_expiry(&d), 1);
	}

	TEST_EQ(parse_vec("prosody-empty.xml"), 0);
	CHECK(d.n == 0 && d.skipped == 0);
	TEST_EQ(extdisco_pick(&d, NOW_2026, 60, &s), 0);
	CHECK(!s.stun_host && !s.turn_host);
out:
	return err;
}

/* Answers that are not a list of services. */
int test_extdisco_not_services(void)
{
	static const char *const vec[] = {"xep0215-credentials.xml", "prosody-error.xml",
					  "wrong-ns.xml"};
	const char *why = NULL;
	int err = 0;

	for (unsigned i = 0; i < sizeof(vec) / sizeof(vec[0]); i++) {
		TEST_EQ(parse_vec(vec[i]), -EBADMSG);
		TEST_EQ(d.n, 0);
	}
	TEST_EQ(extdisco_parse(NULL, &d, &why), -EBADMSG);
	CHECK(why != NULL);
	/* a request is no answer, but its <services/> is a list of none */
	{
		xmpp_ctx_t *ctx = ctx_new();
		xmpp_stanza_t *st = ctx ? load(ctx, "xep0215-request.xml") : NULL;
		xmpp_stanza_t *q = st ? xmpp_stanza_get_child_by_name(st, "services") : NULL;
		int r = q ? extdisco_parse(q, &d, &why) : -ENOMEM;

		if (st)
			xmpp_stanza_release(st);
		if (ctx)
			xmpp_ctx_free(ctx);
		TEST_EQ(r, 0);
		TEST_EQ(d.n, 0);
	}
out:
	return err;
}

/* Entries an attacker or a broken server may send: each is skipped
 * alone, and the good ones after them are kept. */
int test_extdisco_hostile(void)
{
	struct ice_servers s;
	int err = 0;

	TEST_EQ(parse_vec("hostile-entries.xml"), 0);
	TEST_EQ(d.skipped, 17);
	TEST_EQ(d.n, 3);
	CHECK(svc_is(0, EXTDISCO_TURN, "h16", 3478, EXTDISCO_UDP, "u", "p"));
	TEST_EQ(d.svc[0].expires, 1252938669);   /* 2009-09-14T14:31:09Z */
	CHECK(svc_is(1, EXTDISCO_STUN, "2001:db8::1", 3478, EXTDISCO_UDP, "", ""));
	CHECK(svc_is(2, EXTDISCO_TURN, "good.example", 3479, EXTDISCO_UDP, "u", "p"));
	for (unsigned i = 0; i < d.n; i++) {
		CHECK(memchr(d.svc[i].host, 0, sizeof(d.svc[i].host)));
		CHECK(memchr(d.svc[i].username, 0, sizeof(d.svc[i].username)));
	}
	/* the expired one is passed over */
	TEST_EQ(extdisco_pick(&d, NOW_2026, 60, &s), 2);
	TEST_STREQ(s.stun_host, "2001:db8::1");
	TEST_STREQ(s.turn_host, "good.example");
	TEST_EQ(s.turn_port, 3479);

	TEST_EQ(parse_vec("many-services.xml"), 0);
	TEST_EQ(d.n, EXTDISCO_MAX);
	TEST_EQ(d.skipped, 40 - EXTDISCO_MAX);
	for (unsigned i = 0; i < d.n; i++) {
		char h[32];
		snprintf(h, sizeof(h), "s%u.example", i);
		CHECK(svc_is(i, EXTDISCO_STUN, h, (uint16_t)(10000 + i), EXTDISCO_UDP, "", ""));
	}
out:
	return err;
}

/* The rules of extdisco_pick() on hand-made lists. */
int test_extdisco_pick(void)
{
	struct ice_servers s;
	int err = 0;

	memset(&d, 0, sizeof(d));
	d.n = 6;
	/* STUN over TCP, turns and TURN without a password are no use */
	d.svc[0] = (struct extdisco_service){.type = EXTDISCO_STUN, .transport = EXTDISCO_TCP,
					     .host = "st", .port = 1};
	d.svc[1] = (struct extdisco_service){.type = EXTDISCO_TURNS, .transport = EXTDISCO_TCP,
					     .host = "ts", .port = 2, .username = "u",
					     .password = "p"};
	d.svc[2] = (struct extdisco_service){.type = EXTDISCO_TURN, .host = "np", .port = 3,
					     .username = "u", .restricted = true};
	/* TCP before UDP in the list: UDP still wins */
	d.svc[3] = (struct extdisco_service){.type = EXTDISCO_TURN, .transport = EXTDISCO_TCP,
					     .host = "tt", .port = 4, .username = "u",
					     .password = "p", .expires = 2000};
	d.svc[4] = (struct extdisco_service){.type = EXTDISCO_TURN, .host = "tu", .port = 5,
					     .username = "u", .password = "p", .expires = 1000};
	d.svc[5] = (struct extdisco_service){.type = EXTDISCO_STUN, .host = "su", .port = 6};
	TEST_EQ(extdisco_pick(&d, 0, 60, &s), 2);
	TEST_STREQ(s.stun_host, "su");
	TEST_STREQ(s.turn_host, "tu");
	CHECK(!s.turn_tcp);
	/* expires must lie beyond now + margin */
	TEST_EQ(extdisco_pick(&d, 940, 60, &s), 2);
	TEST_STREQ(s.turn_host, "tt");
	CHECK(s.turn_tcp);
	TEST_EQ(extdisco_pick(&d, 1940, 60, &s), 1);
	CHECK(!s.turn_host);
	TEST_EQ(extdisco_expiry(&d), 1000);
out:
	return err;
}

int test_extdisco_time(void)
{
	static const struct {
		const char *s;
		int64_t t;
	} good[] = {
		{"1970-01-01T00:00:00Z", 0},
		{"2009-09-14T14:31:09Z", 1252938669},
		{"2026-11-22T13:41:11Z", 1795354871},
		{"2000-02-29T12:00:00.123456Z", 951825600},
		{"2026-11-22T15:41:11+02:00", 1795354871},
		{"2026-11-22T08:11:11-05:30", 1795354871},
		{"2016-12-31T23:59:60Z", 1483228800},   /* a leap second */
		{"1969-12-31T23:59:59Z", -1},
	};
	static const char *const bad[] = {
		"", "2009-09-14", "2009-09-14T14:31:09", "2009-13-01T00:00:00Z",
		"2019-02-29T00:00:00Z", "1900-02-29T00:00:00Z", "2009-09-31T00:00:00Z",
		"2009-09-14T24:00:00Z", "2009-09-14T14:60:00Z", "2009-09-14T14:31:61Z",
		"2009-09-14T14:31:09.Z", "2009-09-14T14:31:09Zjunk", "+2009-09-14T14:31:09Z",
		"2009-09-14T14:31:09+2:00", "2009-09-14T14:31:09+24:00", "2009-9-14T14:31:09Z",
		"2009-09-14 14:31:09Z", "tomorrow",
		/* 79 characters: longer than any sane one */
		"2009-09-14T14:31:09.123456789012345678901234567890123456789012345678901234567890Z",
	};
	int64_t t;

	for (unsigned i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		TEST_EQ(extdisco_time(good[i].s, &t), 0);
		TEST_EQ(t, good[i].t);
	}
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (extdisco_time(bad[i], &t) != -EINVAL) {
			test_fail(__FILE__, __LINE__, bad[i]);
			return EBADMSG;
		}
	TEST_EQ(extdisco_time(NULL, &t), -EINVAL);
	return 0;
}
