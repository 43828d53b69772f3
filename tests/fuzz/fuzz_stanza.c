/* libFuzzer target for signaling/stanza.c.  The input is
 *
 *   kind byte ('m' message, 'p' presence, 'i' iq, anything else: not a kind)
 *   to NUL id NUL type NUL xml:lang NUL innerxml
 *
 * or, with fewer than four NULs after the kind byte, kind byte and innerxml
 * alone (no attributes).  innerxml may hold NULs.  What builds must keep
 * from, name and attributes as given, must render as one well-formed
 * element that parses back to the same, and its inner XML must build again
 * to the same inner XML.  "The same" is up to attribute order, which
 * libstrophe's hash does not keep, the whitespace a parser normalizes
 * (libstrophe writes CR, and tab or newline in attribute values, raw), and
 * the xml: prefix, which libstrophe's parser drops (xml:lang -> lang). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strophe.h>
#include "mem.h"
#include "stanza.h"

#define CHECK(c) do { if (!(c)) abort(); } while (0)
#define FROM "juliet@example.com/rtmp"
#define MAX (64 << 10)   /* the default xmpp.max_stanza */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static xmpp_ctx_t *ctx;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc; (void)argv;
	xmpp_initialize();
	ctx = xmpp_ctx_new(NULL, NULL);   /* no logger: quiet */
	CHECK(ctx != NULL);
	return 0;
}

struct attr {
	const char *k;
	size_t kn;
	const char *v;
	size_t vn;
};

static int attr_cmp(const void *a, const void *b)
{
	const struct attr *x = a, *y = b;
	size_t n = x->kn < y->kn ? x->kn : y->kn;
	int c = memcmp(x->k, y->k, n);

	if (!c && x->kn != y->kn)
		return x->kn < y->kn ? -1 : 1;
	n = x->vn < y->vn ? x->vn : y->vn;
	c = c ? c : memcmp(x->v, y->v, n);
	return c ? c : x->vn < y->vn ? -1 : x->vn > y->vn;
}

/* Append s[0..n) to out, as a parser would read it back: CR LF and CR
 * become LF in text, and CR LF, CR, LF and tab one space in attributes. */
static char *put(char *out, const char *s, size_t n, int attr)
{
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (c == '\r' && i + 1 < n && s[i + 1] == '\n')
			i++;
		if (c == '\r')
			c = '\n';
		if (attr && (c == '\n' || c == '\t'))
			c = ' ';
		*out++ = c;
	}
	return out;
}

/* libstrophe's rendering of content, with each start tag's attributes in
 * sorted order and whitespace as a parser would read it.  The input is what
 * libstrophe writes: attribute values in double quotes, no raw '<' or '>'
 * in them, no comments. */
static char *canon(const char *s, size_t n)
{
	char *out = malloc(n + 1), *o = out;
	struct attr *at = malloc((n / 4 + 1) * sizeof(*at));
	const char *p = s, *end = s + n;

	CHECK(out && at);
	while (p < end) {
		const char *q;
		size_t na = 0;

		if (*p != '<' || (p + 1 < end && p[1] == '/')) {
			q = p + 1;
			while (q < end && *q != '<')
				q++;
			o = put(o, p, (size_t)(q - p), 0);
			p = q;
			continue;
		}
		for (q = p; q < end && *q != ' ' && *q != '/' && *q != '>'; q++)
			;
		o = put(o, p, (size_t)(q - p), 0);
		p = q;
		while (p < end && *p == ' ') {   /* ' k="v"' */
			const char *eq = memchr(p, '=', (size_t)(end - p));
			const char *v, *ve;

			CHECK(eq && eq + 1 < end && eq[1] == '"');
			v = eq + 2;
			ve = memchr(v, '"', (size_t)(end - v));
			CHECK(ve);
			at[na].k = p + 1;
			at[na].kn = (size_t)(eq - p - 1);
			if (at[na].kn > 4 && !memcmp(at[na].k, "xml:", 4)) {
				at[na].k += 4;   /* libstrophe parses xml:lang as lang */
				at[na].kn -= 4;
			}
			at[na].v = v;
			at[na].vn = (size_t)(ve - v);
			na++;
			p = ve + 1;
		}
		qsort(at, na, sizeof(*at), attr_cmp);
		for (size_t i = 0; i < na; i++) {
			*o++ = ' ';
			memcpy(o, at[i].k, at[i].kn);
			o += at[i].kn;
			*o++ = '=';
			*o++ = '"';
			o = put(o, at[i].v, at[i].vn, 1);
			*o++ = '"';
		}
		CHECK(p < end && (*p == '>' || *p == '/'));
	}
	*o = '\0';
	free(at);
	return out;
}

static void same(const char *a, size_t an, const char *b, size_t bn)
{
	char *ca = canon(a, an), *cb = canon(b, bn);

	CHECK(!strcmp(ca, cb));
	free(ca);
	free(cb);
}

static const char *str_or_null(const char *s, const char *want)
{
	return s && *s ? s : want;
}

static void check_attrs(xmpp_stanza_t *st, const char *kind, const struct stanza_attrs *a)
{
	CHECK(!strcmp(xmpp_stanza_get_name(st), kind));
	CHECK(!strcmp(xmpp_stanza_get_ns(st), "jabber:client"));
	CHECK(!strcmp(xmpp_stanza_get_from(st), FROM));
	CHECK(!strcmp(str_or_null(xmpp_stanza_get_to(st), ""), str_or_null(a->to, "")));
	CHECK(!strcmp(str_or_null(xmpp_stanza_get_id(st), ""), str_or_null(a->id, "")));
	CHECK(!strcmp(str_or_null(xmpp_stanza_get_type(st), ""), str_or_null(a->type, "")));
	CHECK(!strcmp(str_or_null(xmpp_stanza_get_attribute(st, "xml:lang"), ""),
		      str_or_null(a->lang, "")));
}

/* The stanza as sent is one well-formed element: parsed back, it renders
 * the same. */
static void whole(xmpp_stanza_t *st)
{
	char *text = NULL, *again = NULL;
	size_t n = 0, n2 = 0;
	xmpp_stanza_t *back;

	CHECK(xmpp_stanza_to_text(st, &text, &n) == XMPP_EOK);
	back = xmpp_stanza_new_from_string(ctx, text);
	CHECK(back != NULL);
	CHECK(xmpp_stanza_to_text(back, &again, &n2) == XMPP_EOK);
	same(text, n, again, n2);
	xmpp_free(ctx, again);
	xmpp_free(ctx, text);
	xmpp_stanza_release(back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const kinds[] = {"message", "presence", "iq", "bogus"};
	struct stanza_attrs a = {NULL, NULL, NULL, NULL};
	char *fields = NULL, *f[4] = {NULL, NULL, NULL, NULL}, *in, *one, *two;
	const char *kind, *inner;
	size_t n, len1 = 0, len2 = 0;
	xmpp_stanza_t *st = NULL, *st2 = NULL;
	enum stanza_err e;
	int nul = 0;

	if (!size)
		return 0;
	kind = kinds[data[0] == 'm' ? 0 : data[0] == 'p' ? 1 : data[0] == 'i' ? 2 : 3];
	inner = (const char *)data + 1;
	n = size - 1;
	for (size_t i = 0; i < n && nul < 4; i++)
		nul += !inner[i];
	if (nul == 4) {   /* attributes: copy them, NUL-terminated */
		const char *p = inner;

		fields = malloc(n);
		CHECK(fields);
		memcpy(fields, inner, n);
		for (int i = 0; i < 4; i++) {
			size_t l = strlen(fields + (p - inner));

			f[i] = fields + (p - inner);
			p += l + 1;
		}
		n -= (size_t)(p - inner);
		inner = p;
		a.to = f[0];
		a.id = f[1];
		a.type = *f[2] ? f[2] : NULL;
		a.lang = f[3];
	}
	/* a copy of exactly n bytes, so that ASan sees any read past it */
	in = malloc(n ? n : 1);
	CHECK(in);
	memcpy(in, inner, n);

	e = stanza_build(ctx, kind, &a, in, n, MAX, FROM, &st);
	CHECK(e == STANZA_OK || e == STANZA_BAD_KIND || e == STANZA_INVALID || e == STANZA_BAD_ATTR ||
	      e == STANZA_TOO_LARGE);
	CHECK((e == STANZA_OK) == (st != NULL));
	if (kind[0] == 'b')
		CHECK(e == STANZA_BAD_KIND);
	if (e != STANZA_OK)
		goto out;
	check_attrs(st, kind, &a);
	whole(st);
	one = stanza_inner(ctx, st, &len1);
	CHECK(one && strlen(one) == len1);

	/* the inner XML builds again, to the same */
	e = stanza_build(ctx, kind, &a, one, len1, SIZE_MAX, FROM, &st2);
	CHECK(e == STANZA_OK);
	check_attrs(st2, kind, &a);
	two = stanza_inner(ctx, st2, &len2);
	CHECK(two && strlen(two) == len2);
	same(one, len1, two, len2);
	mem_deref(one);
	mem_deref(two);
	xmpp_stanza_release(st2);
	xmpp_stanza_release(st);
out:
	free(in);
	free(fields);
	return 0;
}
