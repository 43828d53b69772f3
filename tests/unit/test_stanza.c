/* Tests for signaling/stanza.c: client stanzas (kind, attrib, innerxml) to
 * libstrophe stanzas and back.  Expected XML is what libstrophe 0.12
 * writes: attributes in its hash order, values escaped for <>&" only, the
 * stanza's own jabber:client namespace left out, and a child's namespace
 * written only where it differs from its parent's.
 *
 * The helpers keep nothing across an assertion: every libstrophe object is
 * released before they return, and results land in caller buffers, so that
 * a failing check (or --oom) leaks neither mem blocks nor stanzas. */
#include <stdbool.h>
#include <string.h>
#include <strophe.h>
#include "mem.h"
#include "stanza.h"
#include "test.h"

#define FROM "juliet@example.com/rtmp"
#define MAX 4096
#define OUT 8192

/* TEST_STREQ, for strings up to OUT bytes */
#define STREQ(a, b) do { if (str_is(__FILE__, __LINE__, a, b)) return EBADMSG; } while (0)

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

static xmpp_ctx_t *ctx_new(void)
{
	static bool init;

	if (!init) {
		xmpp_initialize();
		init = true;
	}
	return xmpp_ctx_new(NULL, NULL);
}

/* Copy libstrophe's rendering of st to out; 0 or an errno value. */
static int render(xmpp_ctx_t *ctx, xmpp_stanza_t *st, char *out)
{
	char *buf = NULL;
	size_t len = 0;

	if (xmpp_stanza_to_text(st, &buf, &len) != XMPP_EOK)
		return ENOMEM;
	if (len >= OUT) {
		xmpp_free(ctx, buf);
		return EOVERFLOW;
	}
	memcpy(out, buf, len + 1);
	xmpp_free(ctx, buf);
	return 0;
}

/* stanza_inner(st) into out; 0 or an errno value. */
static int inner_of(xmpp_ctx_t *ctx, xmpp_stanza_t *st, char *out)
{
	size_t len = 12345;
	char *s = stanza_inner(ctx, st, &len);

	if (!s)
		return ENOMEM;
	if (len >= OUT || strlen(s) != len) {
		mem_deref(s);
		return EOVERFLOW;
	}
	memcpy(out, s, len + 1);
	mem_deref(s);
	return 0;
}

/* Build; on success render the whole stanza to text and its inner XML to
 * inner (either may be NULL).  Returns the stanza_err, -1 when rendering
 * failed, or -2 when an error left a stanza in *out. */
static int build_n(xmpp_ctx_t *ctx, const char *kind, const struct stanza_attrs *a,
		   const char *in, size_t n, char *text, char *inner)
{
	xmpp_stanza_t *st = NULL;
	enum stanza_err e = stanza_build(ctx, kind, a, in, n, MAX, FROM, &st);

	if (e != STANZA_OK)
		return st ? -2 : (int)e;   /* *out untouched on error */
	if ((text && render(ctx, st, text)) || (inner && inner_of(ctx, st, inner))) {
		xmpp_stanza_release(st);
		return -1;
	}
	xmpp_stanza_release(st);
	return STANZA_OK;
}

static int build(xmpp_ctx_t *ctx, const char *kind, const struct stanza_attrs *a,
		 const char *in, char *text, char *inner)
{
	return build_n(ctx, kind, a, in, in ? strlen(in) : 0, text, inner);
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

static const struct stanza_attrs none;

/* --- building --- */

static int t_kinds(xmpp_ctx_t *ctx)
{
	const struct stanza_attrs am = {"romeo@example.net", "m1", "chat", "en"};
	const struct stanza_attrs ap = {"room@muc.example.org/Juliet", "p1", NULL, "en"};
	const struct stanza_attrs ai = {"example.com", "i1", "get", NULL};
	char text[OUT], inner[OUT];

	TEST_EQ(build(ctx, "message", &am, "<body>Art thou not Romeo?</body>", text, inner),
		STANZA_OK);
	STREQ(text, "<message id=\"m1\" xml:lang=\"en\" type=\"chat\" to=\"romeo@example.net\" "
			 "from=\"" FROM "\"><body>Art thou not Romeo?</body></message>");
	STREQ(inner, "<body>Art thou not Romeo?</body>");

	TEST_EQ(build(ctx, "presence", &ap, "<x xmlns='http://jabber.org/protocol/muc'/>", text,
		      inner), STANZA_OK);
	STREQ(text, "<presence id=\"p1\" xml:lang=\"en\" to=\"room@muc.example.org/Juliet\" "
			 "from=\"" FROM "\"><x xmlns=\"http://jabber.org/protocol/muc\"/></presence>");
	STREQ(inner, "<x xmlns=\"http://jabber.org/protocol/muc\"/>");

	TEST_EQ(build(ctx, "iq", &ai, "<query xmlns=\"jabber:iq:roster\"/>", text, inner),
		STANZA_OK);
	STREQ(text, "<iq id=\"i1\" type=\"get\" to=\"example.com\" from=\"" FROM "\">"
			 "<query xmlns=\"jabber:iq:roster\"/></iq>");
	STREQ(inner, "<query xmlns=\"jabber:iq:roster\"/>");

	/* several children, text between them: each stays once, in order */
	TEST_EQ(build(ctx, "message", &am, "<body>one</body>\n<thread>t1</thread> <x/>tail",
		      text, inner), STANZA_OK);
	STREQ(inner, "<body>one</body>\n<thread>t1</thread> <x/>tail");
	return 0;
}

int test_stanza_kinds(void)
{
	return with_ctx(t_kinds);
}

/* A built stanza can take more children (xauto adds caps to presence), and
 * its children are its own: none is shared with the parse.  (stanza_build
 * used to move the children with xmpp_stanza_add_child, which left them
 * linked in both lists: from the second child on it looped forever.) */
static int t_children(xmpp_ctx_t *ctx)
{
	const struct stanza_attrs a = {NULL, NULL, NULL, NULL};
	const char *in = "<show>away</show><status>out</status><priority>5</priority>";
	xmpp_stanza_t *st = NULL, *c = NULL;
	char text[OUT];
	int n = 0, err = EBADMSG;

	if (stanza_build(ctx, "presence", &a, in, strlen(in), MAX, FROM, &st) != STANZA_OK)
		return EBADMSG;
	for (xmpp_stanza_t *k = xmpp_stanza_get_children(st); k && n < 10; k = xmpp_stanza_get_next(k))
		n++;
	if (n != 3)
		goto out;
	c = xmpp_stanza_new(ctx);
	if (!c || xmpp_stanza_set_name(c, "c") || xmpp_stanza_set_ns(c, "urn:caps") ||
	    xmpp_stanza_add_child(st, c))
		goto out;
	if (render(ctx, st, text))
		goto out;
	if (strcmp(text, "<presence from=\"" FROM "\"><show>away</show><status>out</status>"
			 "<priority>5</priority><c xmlns=\"urn:caps\"/></presence>")) {
		test_fail(__FILE__, __LINE__, text);
		goto out;
	}
	err = 0;
out:
	if (c)
		xmpp_stanza_release(c);
	xmpp_stanza_release(st);
	return err;
}

int test_stanza_children(void)
{
	return with_ctx(t_children);
}

/* from is ours whatever the client sends; empty attributes are left out. */
static int t_from(xmpp_ctx_t *ctx)
{
	const struct stanza_attrs a = {"", "", "", ""};
	const struct stanza_attrs b = {FROM, NULL, NULL, NULL};
	char text[OUT], inner[OUT];

	TEST_EQ(build(ctx, "message", &none, NULL, text, NULL), STANZA_OK);
	STREQ(text, "<message from=\"" FROM "\"/>");
	TEST_EQ(build(ctx, "message", &a, "", text, NULL), STANZA_OK);
	STREQ(text, "<message from=\"" FROM "\"/>");
	TEST_EQ(build(ctx, "presence", &b, NULL, text, NULL), STANZA_OK);
	STREQ(text, "<presence to=\"" FROM "\" from=\"" FROM "\"/>");
	/* a from inside is only a child's attribute */
	TEST_EQ(build(ctx, "message", &none, "<x from='evil@example.org'/>", text, inner),
		STANZA_OK);
	STREQ(text, "<message from=\"" FROM "\"><x from=\"evil@example.org\"/></message>");
	STREQ(inner, "<x from=\"evil@example.org\"/>");
	return 0;
}

int test_stanza_from(void)
{
	return with_ctx(t_from);
}

/* Attribute values come from AMF strings: anything.  They are escaped, and
 * what XML cannot carry at all is refused rather than sent. */
static int t_attr_escape(xmpp_ctx_t *ctx)
{
	const struct stanza_attrs a = {"a\"b'c<d>e&f@example.com", "x\"&<>'",
				       NULL, "fr-\xc3\xa7\xe2\x82\xac\xf0\x9f\x98\x80"};
	const struct stanza_attrs ws = {"a\tb\nc\rd", NULL, NULL, NULL};
	static const char *const bad[] = {
		"a\x01", "\x1f", "\x7f\xff", "\xc3", "\xc3\x28", "\xc0\xaf", "\xe0\x80\xaf",
		"\xed\xa0\x80", "\xef\xbf\xbe", "\xef\xbf\xbf", "\xf4\x90\x80\x80", "\xf8\x88\x80\x80\x80",
		"\x80", "\xe2\x82", "\xf0\x9f\x98",
	};
	char text[OUT];

	TEST_EQ(build(ctx, "message", &a, NULL, text, NULL), STANZA_OK);
	STREQ(text, "<message id=\"x&quot;&amp;&lt;&gt;'\" "
			 "xml:lang=\"fr-\xc3\xa7\xe2\x82\xac\xf0\x9f\x98\x80\" "
			 "to=\"a&quot;b'c&lt;d&gt;e&amp;f@example.com\" from=\"" FROM "\"/>");
	TEST_EQ(build(ctx, "message", &ws, NULL, text, NULL), STANZA_OK);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct stanza_attrs to = {bad[i], NULL, NULL, NULL};
		struct stanza_attrs id = {NULL, bad[i], NULL, NULL};
		struct stanza_attrs lang = {NULL, NULL, NULL, bad[i]};

		TEST_EQ(build(ctx, "message", &to, NULL, text, NULL), STANZA_BAD_ATTR);
		TEST_EQ(build(ctx, "presence", &id, NULL, text, NULL), STANZA_BAD_ATTR);
		TEST_EQ(build(ctx, "iq", &lang, NULL, text, NULL), STANZA_BAD_KIND);  /* no type */
		lang.type = "set";
		TEST_EQ(build(ctx, "iq", &lang, NULL, text, NULL), STANZA_BAD_ATTR);
	}
	return 0;
}

int test_stanza_attr_escape(void)
{
	return with_ctx(t_attr_escape);
}

/* Text, escaping, and what expat turns into text. */
static int t_text_inner(xmpp_ctx_t *ctx)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{"hello &amp; bye", "hello &amp; bye"},
		{"say \"hi\" &lt;3 'o' > x", "say &quot;hi&quot; &lt;3 'o' &gt; x"},
		{"&lt;&gt;&amp;&quot;&apos;", "&lt;&gt;&amp;&quot;'"},
		{"&#65;&#x42;&#xe9;&#x1F600;", "AB\xc3\xa9\xf0\x9f\x98\x80"},
		{"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"},
		{"  ", "  "},
		{"a\r\nb\rc", "a\nb\nc"},                      /* expat's line ends */
		{"<![CDATA[<iq type='set'/> & ]]>", "&lt;iq type='set'/&gt; &amp; "},
		{"]]&gt;", "]]&gt;"},
		/* comments and processing instructions are content, but dropped */
		{"a<!-- <iq/> -->b", "ab"},
		{"<?php echo 1 ?><b>x</b>", "<b>x</b>"},
		{"<?xml-stylesheet href='x'?>y", "y"},
		{"<body>x</body><!--c-->", "<body>x</body>"},
	};
	char text[OUT], inner[OUT];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		TEST_EQ(build(ctx, "message", &none, cases[i].in, text, inner), STANZA_OK);
		STREQ(inner, cases[i].out);
	}
	TEST_EQ(build(ctx, "message", &none, "hello &amp; bye", text, NULL), STANZA_OK);
	STREQ(text, "<message from=\"" FROM "\">hello &amp; bye</message>");
	/* a comment alone leaves no children at all */
	TEST_EQ(build(ctx, "message", &none, "<!-- nothing -->", text, inner), STANZA_OK);
	STREQ(text, "<message from=\"" FROM "\"/>");
	STREQ(inner, "");
	return 0;
}

int test_stanza_text(void)
{
	return with_ctx(t_text_inner);
}

/* Namespaces: prefixes are resolved (libstrophe keeps no prefixes), and a
 * namespace is written where it changes. */
static int t_namespaces(xmpp_ctx_t *ctx)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{"<query xmlns='http://jabber.org/protocol/disco#info' node='n'><identity "
		 "category='client' type='pc'/><feature var='urn:xmpp:ping'/></query>",
		 "<query xmlns=\"http://jabber.org/protocol/disco#info\" node=\"n\"><identity "
		 "type=\"pc\" category=\"client\"/><feature var=\"urn:xmpp:ping\"/></query>"},
		{"<a xmlns='urn:a'><b><c xmlns='urn:c'><d/></c></b><e xmlns='urn:a'/></a>",
		 "<a xmlns=\"urn:a\"><b><c xmlns=\"urn:c\"><d/></c></b><e/></a>"},
		{"<p:a xmlns:p='urn:p'><p:b/></p:a>", "<a xmlns=\"urn:p\"><b/></a>"},
		{"<p:a xmlns:p='urn:p' xmlns='urn:d'><b/><p:c/></p:a>",
		 "<a xmlns=\"urn:p\"><b xmlns=\"urn:d\"/><c/></a>"},
		/* a prefixed attribute loses its prefix (libstrophe) */
		{"<a xmlns:q='urn:q' q:x='1'/>", "<a x=\"1\"/>"},
		{"<body xml:lang='de'>Hallo</body>", "<body lang=\"de\">Hallo</body>"},
		/* jabber:client is the stanza's: not repeated */
		{"<body xmlns='jabber:client'>x</body>", "<body>x</body>"},
		/* an element with no namespace under one with a namespace ends up
		 * in its parent's (libstrophe does not write xmlns='') */
		{"<a xmlns='urn:a'><b xmlns=''/></a>", "<a xmlns=\"urn:a\"><b/></a>"},
	};
	char inner[OUT];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		TEST_EQ(build(ctx, "iq", &(struct stanza_attrs){NULL, "n", "result", NULL}, cases[i].in,
			      NULL, inner), STANZA_OK);
		STREQ(inner, cases[i].out);
	}
	return 0;
}

int test_stanza_namespaces(void)
{
	return with_ctx(t_namespaces);
}

/* Not well-formed content, or content libstrophe would write out as not
 * well-formed, is refused. */
static int t_invalid(xmpp_ctx_t *ctx)
{
	static const char *const bad[] = {
		"<body>", "<body>hi", "<a><b></a></b>", "<a></b>", "</", "x</", "</a>", "<", "<a",
		"<a b='1>", "<a b=1/>", "<a b='1' b='2'/>", "<a xmlns:p='u' xmlns:q='u' p:b='1' q:b='2'/>",
		"hello & bye", "&foo;", "&amp", "&#0;", "&#1;", "&#xd800;", "&#xfffe;", "&#x110000;",
		"<!DOCTYPE x>", "<!DOCTYPE x [<!ENTITY e 'iq'>]><a>&e;</a>", "<!ENTITY e 'x'>",
		"<?xml version='1.0'?><a/>", "<?XmL x?>", "<!-- unclosed",
		"<!-- a -- b -->", "<![CDATA[ unclosed", "<?pi unclosed", "]]>", "<a>]]></a>",
		"<a b='<'/>", "<u:a/>", "<a u:b='1'/>", "<xmlns:a/>", "<a xmlns:xml='urn:x'/>",
		"<a xmlns:xmlns='urn:x'/>", "<a xmlns:p=''/>", "<1a/>", "<a\x01/>", "\x01", "\x1b[0m",
		"\xff\xfe<a/>", "\xc3\x28", "\xed\xa0\x80", "\xef\xbf\xbe", "\xc0\xbc", "\xe2\x82",
		/* reserved namespaces that libstrophe would write as xmlns="..." */
		"<xml:a/>", "<a xmlns='http://www.w3.org/XML/1998/namespace'/>",
		"<a xmlns:p='urn:p' p:xmlns='http://www.w3.org/XML/1998/namespace'/>",
		"<a xmlns:p='urn:p' p:xmlns='http://www.w3.org/2000/xmlns/'/>",
		"<a xmlns:p='urn:p' p:xmlns=''/>",
		/* the wrapper libstrophe puts around the string */
		"</stream><iq type='set'/>", "</stream>",
	};
	static const char nul[] = "<body>a\0b</body>";
	char text[OUT];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (build(ctx, "message", &none, bad[i], text, NULL) != STANZA_INVALID) {
			test_fail(__FILE__, __LINE__, bad[i]);
			return EBADMSG;
		}
	}
	TEST_EQ(build_n(ctx, "message", &none, nul, sizeof(nul) - 1, text, NULL), STANZA_INVALID);
	TEST_EQ(build_n(ctx, "message", &none, "\0", 1, text, NULL), STANZA_INVALID);
	/* the prefix trick with a harmless namespace only renames */
	TEST_EQ(build(ctx, "message", &none, "<a xmlns:p='urn:p' p:xmlns='urn:q'/>", NULL, text),
		STANZA_OK);
	STREQ(text, "<a xmlns=\"urn:q\"/>");
	return 0;
}

int test_stanza_invalid(void)
{
	return with_ctx(t_invalid);
}

/* Closing the wrapper early to send a second stanza: whatever its name,
 * the wrapper cannot be closed from inside. */
static int t_smuggle(xmpp_ctx_t *ctx)
{
	static const char *const bad[] = {
		"</message><iq type='set' to='x'><query/></iq><message>",
		"</message><iq type='set' to='x'><query xmlns='jabber:iq:roster'/></iq><message>",
		"<body>x</body></message><iq type='set'/>",
		"</rxw0000000000000000><iq type='set'/><rxw0000000000000000>",
		"</rxw5a5a5a5a5a5a5a5a><iq type='set'/><rxw5a5a5a5a5a5a5a5a>",
		"</stream><iq type='set'/><stream>",
		"</><iq type='set'/><x>",
		"<!--</message>--></message><iq/>",
		"<![CDATA[</message>]]></message><iq/>",
	};
	char text[OUT];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (build(ctx, "message", &none, bad[i], text, NULL) != STANZA_INVALID ||
		    build(ctx, "iq", &(struct stanza_attrs){"x", "1", "get", NULL}, bad[i], text,
			  NULL) != STANZA_INVALID) {
			test_fail(__FILE__, __LINE__, bad[i]);
			return EBADMSG;
		}
	}
	/* markup inside a CDATA section or a comment is only text */
	TEST_EQ(build(ctx, "message", &none, "<body><![CDATA[</body></message><iq/>]]></body>", text,
		      NULL), STANZA_OK);
	STREQ(text, "<message from=\"" FROM "\"><body>&lt;/body&gt;&lt;/message&gt;&lt;iq/&gt;"
			 "</body></message>");
	return 0;
}

int test_stanza_smuggle(void)
{
	return with_ctx(t_smuggle);
}

static int t_bad_kind(xmpp_ctx_t *ctx)
{
	static const char *const kinds_bad[] = {"foo", "", "Message", "iq ", "stream:stream",
						"rxw0000000000000000"};
	static const struct {
		const char *kind, *type;
		int want;
	} types[] = {
		{"message", "foo", STANZA_BAD_KIND},
		{"message", "get", STANZA_BAD_KIND},
		{"message", "Chat", STANZA_BAD_KIND},
		{"presence", "chat", STANZA_BAD_KIND},
		{"presence", "available", STANZA_BAD_KIND},
		{"iq", NULL, STANZA_BAD_KIND},
		{"iq", "", STANZA_BAD_KIND},
		{"iq", "bogus", STANZA_BAD_KIND},
		{"iq", "chat", STANZA_BAD_KIND},
		{"message", NULL, STANZA_OK},
		{"message", "", STANZA_OK},
		{"message", "chat", STANZA_OK},
		{"message", "error", STANZA_OK},
		{"message", "groupchat", STANZA_OK},
		{"message", "headline", STANZA_OK},
		{"message", "normal", STANZA_OK},
		{"presence", NULL, STANZA_OK},
		{"presence", "unavailable", STANZA_OK},
		{"presence", "subscribe", STANZA_OK},
		{"presence", "subscribed", STANZA_OK},
		{"presence", "unsubscribe", STANZA_OK},
		{"presence", "unsubscribed", STANZA_OK},
		{"presence", "probe", STANZA_OK},
		{"presence", "error", STANZA_OK},
		{"iq", "get", STANZA_OK},
		{"iq", "set", STANZA_OK},
		{"iq", "result", STANZA_OK},
		{"iq", "error", STANZA_OK},
	};
	char text[OUT];

	TEST_ASSERT(!stanza_kind_ok(NULL));
	TEST_ASSERT(stanza_kind_ok("message") && stanza_kind_ok("presence") && stanza_kind_ok("iq"));
	for (size_t i = 0; i < sizeof(kinds_bad) / sizeof(kinds_bad[0]); i++) {
		TEST_ASSERT(!stanza_kind_ok(kinds_bad[i]));
		TEST_EQ(build(ctx, kinds_bad[i], &none, "<a/>", text, NULL), STANZA_BAD_KIND);
	}
	TEST_EQ(build(ctx, NULL, &none, NULL, text, NULL), STANZA_BAD_KIND);
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		struct stanza_attrs a = {NULL, NULL, types[i].type, NULL};

		TEST_EQ(build(ctx, types[i].kind, &a, "<a/>", text, NULL), types[i].want);
	}
	/* the kind is checked before the size and the content */
	TEST_EQ(build(ctx, "foo", &none, "<unclosed>", text, NULL), STANZA_BAD_KIND);
	return 0;
}

int test_stanza_bad_kind(void)
{
	return with_ctx(t_bad_kind);
}

static int t_too_large(xmpp_ctx_t *ctx)
{
	char *in = mem_alloc(2 * MAX + 1, NULL);
	char text[OUT];
	int e1, e2, e3;

	if (!in)
		return ENOMEM;
	memset(in, 'x', 2 * MAX);
	in[2 * MAX] = '\0';
	e1 = build_n(ctx, "message", &none, in, MAX, NULL, NULL);
	e2 = build_n(ctx, "message", &none, in, MAX + 1, text, NULL);
	memcpy(in, "<a>", 3);   /* not well-formed either: the size is checked first */
	e3 = build_n(ctx, "message", &none, in, 2 * MAX, text, NULL);
	mem_deref(in);
	TEST_EQ(e1, STANZA_OK);
	TEST_EQ(e2, STANZA_TOO_LARGE);
	TEST_EQ(e3, STANZA_TOO_LARGE);
	TEST_EQ(stanza_build(ctx, "message", &none, "ab", 2, 1, FROM, &(xmpp_stanza_t *){NULL}),
		STANZA_TOO_LARGE);
	return 0;
}

int test_stanza_too_large(void)
{
	return with_ctx(t_too_large);
}

/* libstrophe renders and frees recursively: nesting is bounded (256) before
 * a tree is built.  Comments, CDATA and quoted '>' do not count. */
static int nest(char *p, size_t levels, const char *open, const char *close)
{
	size_t lo = strlen(open), lc = strlen(close), n = 0;

	for (size_t i = 0; i < levels; i++, n += lo)
		memcpy(p + n, open, lo);
	for (size_t i = 0; i < levels; i++, n += lc)
		memcpy(p + n, close, lc);
	return (int)n;
}

static enum stanza_err try_build(xmpp_ctx_t *ctx, const char *in, int n, size_t max)
{
	xmpp_stanza_t *st = NULL;
	enum stanza_err e = stanza_build(ctx, "message", &none, in, (size_t)n, max, FROM, &st);

	if (st)
		xmpp_stanza_release(st);
	return e;
}

static int t_depth(xmpp_ctx_t *ctx)
{
	const size_t big = 100000, max = big * 64;
	const char *open = "<a b='>' c=\"/>\"><!-- <x> --><![CDATA[<y>]]><?p <z>?><e/>";
	char *in = mem_alloc(max, NULL);
	enum stanza_err e[6];

	if (!in)
		return ENOMEM;
	e[0] = try_build(ctx, in, nest(in, 256, "<a>", "</a>"), max);
	e[1] = try_build(ctx, in, nest(in, 257, "<a>", "</a>"), max);
	e[2] = try_build(ctx, in, nest(in, big, "<a>", "</a>"), max);
	e[3] = try_build(ctx, in, nest(in, 256, open, "</a>"), max);
	e[4] = try_build(ctx, in, nest(in, 257, open, "</a>"), max);
	e[5] = try_build(ctx, in, nest(in, big, "<a>", ""), max);   /* unclosed, deep */
	mem_deref(in);
	TEST_EQ(e[0], STANZA_OK);
	TEST_EQ(e[1], STANZA_INVALID);
	TEST_EQ(e[2], STANZA_INVALID);
	TEST_EQ(e[3], STANZA_OK);
	TEST_EQ(e[4], STANZA_INVALID);
	TEST_EQ(e[5], STANZA_INVALID);
	return 0;
}

int test_stanza_depth(void)
{
	return with_ctx(t_depth);
}

/* --- stanzas from the server: stanza_inner and stanza_child --- */

/* Parse xml as libstrophe does for the stream, take its inner XML, build a
 * stanza of the same kind from it and take that one's inner XML again. */
static int inner_round(xmpp_ctx_t *ctx, const char *xml, char *inner, char *again)
{
	xmpp_stanza_t *st = xmpp_stanza_new_from_string(ctx, xml);
	struct stanza_attrs a = {NULL, NULL, NULL, NULL};
	char kind[16];
	int err;

	if (!st)
		return EINVAL;
	snprintf(kind, sizeof(kind), "%s", xmpp_stanza_get_name(st));
	a.type = kind[0] == 'i' ? "result" : NULL;
	err = inner_of(ctx, st, inner);
	xmpp_stanza_release(st);
	if (err)
		return err;
	err = build(ctx, kind, &a, inner, NULL, again);
	return err == STANZA_OK ? 0 : err < 0 ? ENOMEM : EBADMSG;
}

static int t_inner(xmpp_ctx_t *ctx)
{
	static const struct {
		const char *xml, *inner;
	} cases[] = {
		{"<message xmlns='jabber:client' from='romeo@example.net/orchard' type='chat' "
		 "id='m2'><body>Neither, fair saint, if either thee dislike.</body>"
		 "<thread>e0ffe42b28561960c6b12b944a092794b9683a38</thread></message>",
		 "<body>Neither, fair saint, if either thee dislike.</body>"
		 "<thread>e0ffe42b28561960c6b12b944a092794b9683a38</thread>"},
		{"<message xmlns='jabber:client'><body>a &amp; b &lt;c&gt; &quot;d&quot; 'e'</body>"
		 "</message>",
		 "<body>a &amp; b &lt;c&gt; &quot;d&quot; 'e'</body>"},
		{"<message xmlns='jabber:client'>text &amp; <b>bold</b> tail</message>",
		 "text &amp; <b>bold</b> tail"},
		{"<iq xmlns='jabber:client' type='result' id='r1'><query xmlns='jabber:iq:roster' "
		 "ver='v1'><item jid='nurse@example.com' subscription='both'><group>Friends</group>"
		 "</item></query></iq>",
		 "<query xmlns=\"jabber:iq:roster\" ver=\"v1\"><item jid=\"nurse@example.com\" "
		 "subscription=\"both\"><group>Friends</group></item></query>"},
		{"<presence xmlns='jabber:client' from='room@muc.example.org/Romeo'>"
		 "<x xmlns='http://jabber.org/protocol/muc#user'><item affiliation='member' "
		 "role='participant'/><status code='110'/></x></presence>",
		 "<x xmlns=\"http://jabber.org/protocol/muc#user\"><item role=\"participant\" "
		 "affiliation=\"member\"/><status code=\"110\"/></x>"},
		{"<message xmlns='jabber:client'><x:e xmlns:x='urn:x' a='&lt;&amp;&quot;'>"
		 "caf\xc3\xa9</x:e></message>",
		 "<e a=\"&lt;&amp;&quot;\" xmlns=\"urn:x\">caf\xc3\xa9</e>"},
		{"<message xmlns='jabber:client'/>", ""},
	};
	char in[OUT], again[OUT];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		TEST_EQ(inner_round(ctx, cases[i].xml, in, again), 0);
		STREQ(in, cases[i].inner);
		STREQ(again, cases[i].inner);
	}
	return 0;
}

int test_stanza_inner(void)
{
	return with_ctx(t_inner);
}

static int t_child(xmpp_ctx_t *ctx)
{
	const char *xml = "<iq xmlns='jabber:client' type='get' id='d1'>"
			  "<query xmlns='urn:other'/>"
			  "<query xmlns='http://jabber.org/protocol/disco#info' node='n1'/>"
			  "<ping xmlns='urn:xmpp:ping'/>text</iq>";
	xmpp_stanza_t *st = xmpp_stanza_new_from_string(ctx, xml), *c;
	const char *node = NULL, *ns = NULL;
	bool ping, no_name, no_ns, text_skipped;

	if (!st)
		return ENOMEM;
	c = stanza_child(st, "query", "http://jabber.org/protocol/disco#info");
	if (c) {
		node = xmpp_stanza_get_attribute(c, "node");
		ns = xmpp_stanza_get_ns(c);
	}
	ping = stanza_child(st, "ping", "urn:xmpp:ping") != NULL;
	no_name = stanza_child(st, "pong", "urn:xmpp:ping") == NULL;
	no_ns = stanza_child(st, "ping", "urn:xmpp:pong") == NULL &&
		stanza_child(st, "query", "jabber:client") == NULL;
	text_skipped = stanza_child(st, "text", "jabber:client") == NULL;
	c = stanza_child(st, "query", "urn:other");
	node = c && node && !strcmp(node, "n1") ? node : NULL;
	xmpp_stanza_release(st);
	TEST_ASSERT(c != NULL);
	TEST_ASSERT(node != NULL);
	TEST_ASSERT(ns != NULL);
	TEST_ASSERT(ping && no_name && no_ns && text_skipped);
	return 0;
}

int test_stanza_child(void)
{
	return with_ctx(t_child);
}

/* Built stanzas: stanza_inner gives back what stanza_build took, and that
 * builds again to the same. */
static int t_roundtrip(xmpp_ctx_t *ctx)
{
	static const char *const cases[] = {
		"<body>hi</body>",
		"<body>a &amp; b</body><active xmlns='http://jabber.org/protocol/chatstates'/>",
		"<jingle xmlns='urn:xmpp:jingle:1' action='session-initiate' sid='s1'><content "
		"creator='initiator' name='voice'><description xmlns='urn:xmpp:jingle:apps:rtp:1' "
		"media='audio'><payload-type id='97' name='speex' clockrate='16000'/></description>"
		"<transport xmlns='urn:xmpp:jingle:transports:ice-udp:1'/></content></jingle>",
		"just text &lt;&gt;",
		"",
	};
	char one[OUT], two[OUT];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		TEST_EQ(build(ctx, "iq", &(struct stanza_attrs){"x", "1", "set", NULL}, cases[i], NULL,
			      one), STANZA_OK);
		TEST_EQ(build(ctx, "iq", &(struct stanza_attrs){"x", "1", "set", NULL}, one, NULL, two),
			STANZA_OK);
		STREQ(one, two);
	}
	return 0;
}

int test_stanza_roundtrip(void)
{
	return with_ctx(t_roundtrip);
}
