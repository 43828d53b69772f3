/* Client stanzas <-> libstrophe stanzas. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <openssl/rand.h>
#include "mem.h"
#include "stanza.h"

#define WRAP_NAME 24   /* "rxw" + 16 hex digits + NUL, rounded up */
#define MAX_DEPTH 256  /* element nesting in inner XML */
#define NS_XML "http://www.w3.org/XML/1998/namespace"
#define NS_XMLNS "http://www.w3.org/2000/xmlns/"

static const char *const kinds[] = {"message", "presence", "iq"};

static const char *const types_message[] = {"chat", "error", "groupchat", "headline", "normal", NULL};
static const char *const types_presence[] = {"unavailable", "subscribe", "subscribed",
					    "unsubscribe", "unsubscribed", "probe", "error", NULL};
static const char *const types_iq[] = {"get", "set", "result", "error", NULL};

bool stanza_kind_ok(const char *kind)
{
	for (size_t i = 0; kind && i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (!strcmp(kind, kinds[i]))
			return true;
	return false;
}

static bool in_list(const char *v, const char *const *list)
{
	for (; *list; list++)
		if (!strcmp(v, *list))
			return true;
	return false;
}

/* The type attribute must be one RFC 6121 allows for this kind; an iq
 * must have one. */
static bool type_ok(const char *kind, const char *type)
{
	if (kind[0] == 'i')
		return type && in_list(type, types_iq);
	if (!type || !*type)
		return true;
	return in_list(type, kind[0] == 'm' ? types_message : types_presence);
}

static void wrap_name(char *name)
{
	uint8_t r[8];
	uint64_t v = 0;

	if (RAND_bytes(r, sizeof(r)) != 1)
		memset(r, 0x5a, sizeof(r));
	memcpy(&v, r, sizeof(v));
	snprintf(name, WRAP_NAME, "rxw%016llx", (unsigned long long)v);
}

/* How deep the elements of well-formed content nest (for anything else, some
 * number: expat refuses it anyway).  Comments, CDATA sections, processing
 * instructions and quoted attribute values may hold '<' and '>'. */
static size_t depth_of(const char *p, const char *end)
{
	size_t depth = 0, max = 0;

	while ((p = memchr(p, '<', (size_t)(end - p)))) {
		size_t left = (size_t)(end - p), skip = 2;
		const char *stop = NULL;
		char q = 0;

		if (left >= 4 && !memcmp(p, "<!--", 4)) {
			stop = "-->";
			skip = 4;
		} else if (left >= 9 && !memcmp(p, "<![CDATA[", 9)) {
			stop = "]]>";
			skip = 9;
		} else if (left >= 2 && (p[1] == '?' || p[1] == '!')) {
			stop = p[1] == '?' ? "?>" : ">";
		} else if (left >= 2 && p[1] == '/') {
			stop = ">";
			depth -= depth > 0;
		}
		if (stop) {
			p = memmem(p + skip, left - skip, stop, strlen(stop));
			if (!p)
				break;
			continue;
		}
		/* a start tag, up to the first '>' outside a quoted value */
		for (p++; p < end && (q || *p != '>'); p++)
			if (q ? *p == q : (*p == '"' || *p == '\''))
				q = q ? 0 : *p;
		if (p == end)
			break;
		if (p[-1] != '/' && ++depth > max)
			max = depth;
	}
	return max;
}

/* libstrophe writes an element's namespace as xmlns="...", which is not
 * well-formed for the two reserved ones: <xml:x/>, or an attribute
 * p:xmlns='...' (it drops attribute prefixes, and then takes that for the
 * namespace).  An empty one comes only from such an attribute. */
static bool ns_ok(xmpp_stanza_t *st)
{
	for (xmpp_stanza_t *c = xmpp_stanza_get_children(st); c; c = xmpp_stanza_get_next(c)) {
		const char *ns = xmpp_stanza_is_tag(c) ? xmpp_stanza_get_ns(c) : NULL;

		if (ns && (!*ns || !strcmp(ns, NS_XML) || !strcmp(ns, NS_XMLNS)))
			return false;
		if (!ns_ok(c))
			return false;
	}
	return true;
}

/* Parse inner as the children of one element (*w). */
static enum stanza_err parse_inner(xmpp_ctx_t *ctx, const char *inner, size_t len,
				   xmpp_stanza_t **wp)
{
	char name[WRAP_NAME];
	char *doc;
	size_t n;
	xmpp_stanza_t *w;

	/* libstrophe renders and frees stanzas recursively: bound the depth
	 * before a tree is built, or a deep one overflows the stack. */
	if (depth_of(inner, inner + len) > MAX_DEPTH)
		return STANZA_INVALID;
	wrap_name(name);
	n = 2 * strlen(name) + 6 + len;
	doc = mem_alloc(n, NULL);
	if (!doc)
		return STANZA_NOMEM;
	snprintf(doc, n, "<%s>%.*s</%s>", name, (int)len, inner, name);
	w = xmpp_stanza_new_from_string(ctx, doc);
	mem_deref(doc);
	if (w && (!xmpp_stanza_get_name(w) || strcmp(xmpp_stanza_get_name(w), name) ||
		  !ns_ok(w))) {
		xmpp_stanza_release(w);
		w = NULL;
	}
	*wp = w;
	return w ? STANZA_OK : STANZA_INVALID;
}

/* Is s UTF-8 made of XML 1.0 Chars only?  libstrophe writes attribute
 * values as they are (escaping only <>&"), and anything else would make the
 * stream not well-formed: the server would close it. */
static bool xml_chars_ok(const char *s)
{
	const uint8_t *p = (const uint8_t *)s;

	while (s && *p) {
		uint32_t c;
		int n;

		if (*p < 0x80) {
			if (*p < 0x20 && *p != '\t' && *p != '\n' && *p != '\r')
				return false;
			p++;
			continue;
		}
		if (*p < 0xc2 || *p > 0xf4)
			return false;
		n = *p < 0xe0 ? 1 : *p < 0xf0 ? 2 : 3;
		c = *p & (0x3f >> n);
		for (int i = 1; i <= n; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return false;
			c = c << 6 | (p[i] & 0x3f);
		}
		if ((n == 2 && c < 0x800) || (n == 3 && (c < 0x10000 || c > 0x10ffff)) ||
		    (c >= 0xd800 && c <= 0xdfff) || c == 0xfffe || c == 0xffff)
			return false;
		p += n + 1;
	}
	return true;
}

static int set_attr(xmpp_stanza_t *st, const char *k, const char *v)
{
	return v && *v ? xmpp_stanza_set_attribute(st, k, v) : XMPP_EOK;
}

enum stanza_err stanza_build(xmpp_ctx_t *ctx, const char *kind, const struct stanza_attrs *a,
			     const char *inner, size_t inner_len, size_t max, const char *from,
			     xmpp_stanza_t **out)
{
	xmpp_stanza_t *w = NULL, *st;

	if (!stanza_kind_ok(kind) || !type_ok(kind, a->type))
		return STANZA_BAD_KIND;
	if (inner_len > max)
		return STANZA_TOO_LARGE;
	if (!xml_chars_ok(a->to) || !xml_chars_ok(a->id) || !xml_chars_ok(a->lang) ||
	    !xml_chars_ok(from))
		return STANZA_BAD_ATTR;
	if (inner_len && memchr(inner, '\0', inner_len))
		return STANZA_INVALID;
	if (inner_len) {
		enum stanza_err err = parse_inner(ctx, inner, inner_len, &w);

		if (err)
			return err;
	}
	/* The wrapper becomes the stanza: moving its children to a new stanza
	 * with xmpp_stanza_add_child() would share them between two lists
	 * (libstrophe keeps each child's next pointer), which loops forever
	 * from the second child on. */
	st = w ? w : xmpp_stanza_new(ctx);
	if (!st)
		return STANZA_NOMEM;
	if (xmpp_stanza_set_name(st, kind) || xmpp_stanza_set_ns(st, "jabber:client") ||
	    set_attr(st, "to", a->to) || set_attr(st, "id", a->id) ||
	    set_attr(st, "type", a->type) || set_attr(st, "xml:lang", a->lang) ||
	    set_attr(st, "from", from)) {
		xmpp_stanza_release(st);
		return STANZA_NOMEM;
	}
	*out = st;
	return STANZA_OK;
}

char *stanza_inner(xmpp_ctx_t *ctx, xmpp_stanza_t *st, size_t *lenp)
{
	size_t len = 0, cap = 256;
	char *out = mem_alloc(cap, NULL);

	if (!out)
		return NULL;
	out[0] = '\0';
	for (xmpp_stanza_t *c = xmpp_stanza_get_children(st); c; c = xmpp_stanza_get_next(c)) {
		char *buf = NULL;
		size_t n = 0;

		if (xmpp_stanza_to_text(c, &buf, &n) != XMPP_EOK)
			return mem_deref(out);
		if (len + n + 1 > cap) {
			char *grown;
			while (len + n + 1 > cap)
				cap *= 2;
			grown = mem_realloc(out, cap);
			if (!grown) {
				xmpp_free(ctx, buf);
				return mem_deref(out);
			}
			out = grown;
		}
		memcpy(out + len, buf, n);
		len += n;
		out[len] = '\0';
		xmpp_free(ctx, buf);
	}
	if (lenp)
		*lenp = len;
	return out;
}

xmpp_stanza_t *stanza_child(xmpp_stanza_t *st, const char *name, const char *ns)
{
	return xmpp_stanza_get_child_by_name_and_ns(st, name, ns);
}
