/* Client stanzas <-> libstrophe stanzas (pure, no I/O).
 *
 * The RTMP API carries a stanza as (kind, attrib, innerxml): kind is
 * message, presence or iq; attrib holds the RFC 6120 common attributes;
 * innerxml is the children as a string.  Building parses the inner XML
 * inside a wrapper element with a random name, so that the client cannot
 * close the wrapper early and smuggle a second stanza: anything that is
 * not well-formed content is refused, and nothing is sent. */
#ifndef RX_STANZA_H
#define RX_STANZA_H

#include <stdbool.h>
#include <stddef.h>
#include <strophe.h>

struct stanza_attrs {
	const char *to;
	const char *id;
	const char *type;
	const char *lang;   /* xml:lang */
};

enum stanza_err {
	STANZA_OK = 0,
	STANZA_BAD_KIND,     /* kind is not message/presence/iq, or a bad type attribute */
	STANZA_INVALID,      /* inner XML not well-formed, or not allowed */
	STANZA_TOO_LARGE,
	STANZA_NOMEM,
	STANZA_BAD_ATTR,     /* an attribute value is not valid XML text (UTF-8, XML chars) */
};

/* Build a stanza.  from (our full JID) is always set, whatever the client
 * sent.  *out gets a new stanza (release with xmpp_stanza_release). */
enum stanza_err stanza_build(xmpp_ctx_t *ctx, const char *kind, const struct stanza_attrs *a,
			     const char *inner, size_t inner_len, size_t max, const char *from,
			     xmpp_stanza_t **out);

/* The inner XML of st as one string (children serialized and joined), or
 * NULL on allocation failure; a mem block (mem_deref it). */
char *stanza_inner(xmpp_ctx_t *ctx, xmpp_stanza_t *st, size_t *len);

/* The first child element named name with namespace ns, or NULL. */
xmpp_stanza_t *stanza_child(xmpp_stanza_t *st, const char *name, const char *ns);

/* Is kind a stanza kind we carry? */
bool stanza_kind_ok(const char *kind);

#endif
