/* libFuzzer target for signaling/extdisco.c.  The input is XML text (NULs
 * end it early), read with xmpp_stanza_new_from_string() as an answer
 * would arrive, and parsed with extdisco_parse(); the same bytes also go
 * to extdisco_time() as a string.
 *
 * Parsing must not crash, must give 0 or -EBADMSG with a reason, and what
 * it keeps must obey extdisco.h: at most EXTDISCO_MAX entries, strings
 * ending inside their arrays, a host of ours, a port, a known type.  What
 * extdisco_pick() returns must point into the list, and a request built
 * to a kept host must render. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strophe.h>
#include "extdisco.h"

#define CHECK(c) do { if (!(c)) abort(); } while (0)
#define TERMINATED(s) CHECK(memchr(s, 0, sizeof(s)) != NULL)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static xmpp_ctx_t *ctx;
static struct extdisco d;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc; (void)argv;
	xmpp_initialize();
	ctx = xmpp_ctx_new(NULL, NULL);   /* no logger: quiet */
	CHECK(ctx != NULL);
	return 0;
}

static bool inside(const void *p, const void *base, size_t size)
{
	return (const char *)p >= (const char *)base && (const char *)p < (const char *)base + size;
}

static void check_list(void)
{
	struct ice_servers s;
	int n;

	CHECK(d.n <= EXTDISCO_MAX);
	for (unsigned i = 0; i < d.n; i++) {
		const struct extdisco_service *v = &d.svc[i];

		TERMINATED(v->host);
		TERMINATED(v->username);
		TERMINATED(v->password);
		CHECK(v->host[0] &&
		      strspn(v->host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
				      "0123456789.-_:") == strlen(v->host));
		CHECK(v->port != 0);
		CHECK(v->type <= EXTDISCO_TURNS && v->transport <= EXTDISCO_TCP);
	}
	n = extdisco_pick(&d, 0, 60, &s);
	CHECK(n == !!s.stun_host + !!s.turn_host);
	CHECK(!s.stun_host || inside(s.stun_host, &d, sizeof(d)));
	CHECK(!s.turn_host || (inside(s.turn_host, &d, sizeof(d)) &&
			       inside(s.turn_user, &d, sizeof(d)) &&
			       inside(s.turn_pass, &d, sizeof(d))));
	if (d.n) {
		xmpp_stanza_t *req = extdisco_request(ctx, d.svc[0].host, "x");
		char *text = NULL;
		size_t len;

		CHECK(req != NULL);
		CHECK(xmpp_stanza_to_text(req, &text, &len) == XMPP_EOK);
		xmpp_free(ctx, text);
		xmpp_stanza_release(req);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	xmpp_stanza_t *st;
	const char *why = NULL;
	int64_t t;
	int r;

	CHECK(s);
	memcpy(s, data, size);
	s[size] = '\0';
	r = extdisco_time(s, &t);
	CHECK(r == 0 || r == -EINVAL);
	st = xmpp_stanza_new_from_string(ctx, s);
	free(s);
	if (!st)
		return 0;
	r = extdisco_parse(st, &d, &why);
	CHECK(r == 0 || r == -EBADMSG);
	CHECK(r ? why != NULL : why == NULL);
	if (!r)
		check_list();
	else
		CHECK(d.n == 0);
	xmpp_stanza_release(st);
	return 0;
}
