/* Internal API of the Jingle stanza code (jingle.h), shared by
 * jingle.c (names, Jingle parse and build, iq errors) and jingle_jmi.c
 * (XEP-0353 messages and their XEP-0280 carbons). */
#ifndef RX_JINGLE_INT_H
#define RX_JINGLE_INT_H

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include "jingle.h"
#include "stanza.h"

#define CLIENT_NS "jabber:client"
#define STANZAS_NS "urn:ietf:params:xml:ns:xmpp-stanzas"
#define CARBONS_NS "urn:xmpp:carbons:2"
#define FORWARD_NS "urn:xmpp:forward:0"
#define HINTS_NS "urn:xmpp:hints"
#define RECEIPTS_NS "urn:xmpp:receipts"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define FOR_CHILD(c, el) \
	for (xmpp_stanza_t *c = xmpp_stanza_get_children(el); c; c = xmpp_stanza_get_next(c))

/* jingle.c */
/* names[i], or "" past the end; the index of s in names, or -1 */
const char *jg_name_of(const char *const *names, size_t n, unsigned i);
int jg_index_of(const char *const *names, size_t n, const char *s);
#define NAME(tbl, i) jg_name_of(tbl, ARRAY_SIZE(tbl), (unsigned)(i))
#define INDEX(tbl, s) jg_index_of(tbl, ARRAY_SIZE(tbl), s)
int jg_bad(const char **why, const char *what);
bool jg_is_el(xmpp_stanza_t *el, const char *name, const char *ns);
bool jg_ns_is(xmpp_stanza_t *el, const char *ns);
const char *jg_attr(xmpp_stanza_t *el, const char *name);
/* Attribute name of el into dst[size] if present (dst is left as it was
 * when absent); an error names too_long or ctrl as the reason. */
int jg_get_attr(xmpp_stanza_t *el, const char *name, char *dst, size_t size,
		const char **why, const char *too_long, const char *ctrl);
/* what is a string literal: the reasons are made at compile time. */
#define GET_ATTR(el, name, dst, what) \
	jg_get_attr(el, name, dst, sizeof(dst), why, what " too long", "control character in " what)
void jg_parse_reason(xmpp_stanza_t *el, enum jingle_reason *r, char *text, size_t size);
xmpp_stanza_t *jg_add_el(xmpp_stanza_t *parent, const char *name, const char *ns);
int jg_set(xmpp_stanza_t *el, const char *k, const char *v);
int jg_build_reason(xmpp_stanza_t *parent, enum jingle_reason r, const char *text);
xmpp_stanza_t *jg_stanza_new(xmpp_ctx_t *ctx, const char *name, const char *type,
			     const char *from, const char *to, const char *id);

#endif
