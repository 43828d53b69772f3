/* Jingle stanzas <-> structs (XEP-0166, 0167, 0176, 0320, 0353).
 *
 * Parsing copies every string it keeps into the struct's own arrays, with
 * bounds: nothing points into the stanza and nothing is allocated.
 * Attribute values we keep must hold no ASCII control character: no field
 * has a use for one, and libstrophe writes values as they are, so a raw tab
 * or newline (from &#9; or &#10;) would come back as a space once the
 * stanza we build from the struct is parsed again.
 *
 * Building makes every element with its namespace set, even where it is
 * the parent's (libstrophe leaves it out when rendering), so that a built
 * element can be parsed again without being serialized first. */
#include "jingle_int.h"

/* --- names --- */

static const char *const action_names[] = {
	[JA_SESSION_INITIATE] = "session-initiate",
	[JA_SESSION_ACCEPT] = "session-accept",
	[JA_SESSION_TERMINATE] = "session-terminate",
	[JA_SESSION_INFO] = "session-info",
	[JA_TRANSPORT_INFO] = "transport-info",
	[JA_CONTENT_ADD] = "content-add",
	[JA_CONTENT_ACCEPT] = "content-accept",
	[JA_CONTENT_MODIFY] = "content-modify",
	[JA_CONTENT_REJECT] = "content-reject",
	[JA_CONTENT_REMOVE] = "content-remove",
	[JA_DESCRIPTION_INFO] = "description-info",
	[JA_SECURITY_INFO] = "security-info",
	[JA_TRANSPORT_ACCEPT] = "transport-accept",
	[JA_TRANSPORT_REJECT] = "transport-reject",
	[JA_TRANSPORT_REPLACE] = "transport-replace",
};

static const char *const reason_names[] = {
	[JR_ALTERNATIVE_SESSION] = "alternative-session",
	[JR_BUSY] = "busy",
	[JR_CANCEL] = "cancel",
	[JR_CONNECTIVITY_ERROR] = "connectivity-error",
	[JR_DECLINE] = "decline",
	[JR_EXPIRED] = "expired",
	[JR_FAILED_APPLICATION] = "failed-application",
	[JR_FAILED_TRANSPORT] = "failed-transport",
	[JR_GENERAL_ERROR] = "general-error",
	[JR_GONE] = "gone",
	[JR_INCOMPATIBLE_PARAMETERS] = "incompatible-parameters",
	[JR_MEDIA_ERROR] = "media-error",
	[JR_SECURITY_ERROR] = "security-error",
	[JR_SUCCESS] = "success",
	[JR_TIMEOUT] = "timeout",
	[JR_UNSUPPORTED_APPLICATIONS] = "unsupported-applications",
	[JR_UNSUPPORTED_TRANSPORTS] = "unsupported-transports",
};

static const char *const setup_names[] = {
	[JS_ACTPASS] = "actpass",
	[JS_ACTIVE] = "active",
	[JS_PASSIVE] = "passive",
	[JS_HOLDCONN] = "holdconn",
};

static const char *const info_names[] = {
	[JI_RINGING] = "ringing",
	[JI_ACTIVE] = "active",
	[JI_HOLD] = "hold",
	[JI_UNHOLD] = "unhold",
	[JI_MUTE] = "mute",
	[JI_UNMUTE] = "unmute",
};

static const char *const senders_names[] = {
	[JSEND_BOTH] = "both",
	[JSEND_INITIATOR] = "initiator",
	[JSEND_RESPONDER] = "responder",
	[JSEND_NONE] = "none",
};

static const char *const creator_names[] = {
	[JC_INITIATOR] = "initiator",
	[JC_RESPONDER] = "responder",
};

const char *jg_name_of(const char *const *names, size_t n, unsigned i)
{
	return i < n && names[i] ? names[i] : "";
}

/* The index of s in names, or -1.  Index 0 is a real name only in the
 * tables that have one (senders, creator). */
int jg_index_of(const char *const *names, size_t n, const char *s)
{
	for (size_t i = 0; s && i < n; i++)
		if (names[i] && !strcmp(s, names[i]))
			return (int)i;
	return -1;
}

const char *jingle_action_name(enum jingle_action a)
{
	return NAME(action_names, a);
}

enum jingle_action jingle_action_parse(const char *s)
{
	int i = INDEX(action_names, s);

	return i < 0 ? JA_UNKNOWN : (enum jingle_action)i;
}

const char *jingle_reason_name(enum jingle_reason r)
{
	return NAME(reason_names, r);
}

enum jingle_reason jingle_reason_parse(const char *s)
{
	int i = INDEX(reason_names, s);

	return i < 0 ? JR_NONE : (enum jingle_reason)i;
}

const char *jingle_setup_name(enum jingle_setup s)
{
	return NAME(setup_names, s);
}

enum jingle_setup jingle_setup_parse(const char *s)
{
	int i = INDEX(setup_names, s);

	return i < 0 ? JS_NONE : (enum jingle_setup)i;
}

/* --- parsing helpers --- */

int jg_bad(const char **why, const char *what)
{
	*why = what;
	return -EBADMSG;
}

/* Is el an element named name in namespace ns (NULL: any)? */
bool jg_is_el(xmpp_stanza_t *el, const char *name, const char *ns)
{
	const char *n, *x;

	if (!el || !xmpp_stanza_is_tag(el))
		return false;
	n = xmpp_stanza_get_name(el);
	if (!n || strcmp(n, name))
		return false;
	x = ns ? xmpp_stanza_get_ns(el) : NULL;
	return !ns || (x && !strcmp(x, ns));
}

bool jg_ns_is(xmpp_stanza_t *el, const char *ns)
{
	const char *x = xmpp_stanza_is_tag(el) ? xmpp_stanza_get_ns(el) : NULL;

	return x && !strcmp(x, ns);
}

const char *jg_attr(xmpp_stanza_t *el, const char *name)
{
	return xmpp_stanza_get_attribute(el, name);
}

/* Copy s into dst[size]: 0, -EMSGSIZE when it does not fit, -EILSEQ for a
 * control character (see the top of the file). */
static int copy_str(char *dst, size_t size, const char *s)
{
	size_t n;

	for (n = 0; s[n]; n++) {
		if (n + 1 >= size)
			return -EMSGSIZE;
		if ((unsigned char)s[n] < 0x20)
			return -EILSEQ;
	}
	memcpy(dst, s, n + 1);
	return 0;
}

/* Attribute name of el into dst[size] if present (dst is left as it was,
 * zeroed, when absent).  The two reasons are static strings. */
int jg_get_attr(xmpp_stanza_t *el, const char *name, char *dst, size_t size,
		const char **why, const char *too_long, const char *ctrl)
{
	const char *v = jg_attr(el, name);
	int err = v ? copy_str(dst, size, v) : 0;

	if (err)
		return jg_bad(why, err == -EMSGSIZE ? too_long : ctrl);
	return 0;
}

/* A decimal number 0..max: digits only, no sign, space or trailing junk. */
static int parse_num(const char *s, uint32_t max, uint32_t *v)
{
	uint64_t n = 0;

	if (!*s)
		return -EBADMSG;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -EBADMSG;
		n = n * 10 + (uint64_t)(*s - '0');
		if (n > max)
			return -EBADMSG;
	}
	*v = (uint32_t)n;
	return 0;
}

/* Attribute name as a number min..max: 1 present (*v set), 0 absent (*v
 * untouched), -EBADMSG. */
static int num_attr(xmpp_stanza_t *el, const char *name, uint32_t min, uint32_t max,
		    uint32_t *v)
{
	const char *s = jg_attr(el, name);
	uint32_t n;

	if (!s)
		return 0;
	if (parse_num(s, max, &n) || n < min)
		return -EBADMSG;
	*v = n;
	return 1;
}

/* The text children of el joined into buf[size]: the length, or -EMSGSIZE
 * when they do not fit (buf then holds what did). */
static long text_of(xmpp_stanza_t *el, char *buf, size_t size)
{
	size_t len = 0;
	bool over = false;

	FOR_CHILD(c, el) {
		const char *t = xmpp_stanza_is_text(c) ? xmpp_stanza_get_text_ptr(c) : NULL;
		size_t n = t ? strlen(t) : 0;

		if (n > size - 1 - len) {
			n = size - 1 - len;
			over = true;
		}
		memcpy(buf + len, t ? t : "", n);
		len += n;
	}
	buf[len] = '\0';
	return over ? -EMSGSIZE : (long)len;
}

/* Cut s (len bytes, cut from something longer) back to the last whole
 * UTF-8 character. */
static void utf8_trim(char *s, size_t len)
{
	size_t i = len;

	while (i > 0 && len - i < 4 && ((unsigned char)s[i - 1] & 0xc0) == 0x80)
		i--;
	if (i > 0 && (unsigned char)s[i - 1] >= 0xc0) {
		unsigned char b = (unsigned char)s[i - 1];
		size_t need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : 2;

		if (i - 1 + need > len)
			len = i - 1;
	}
	s[len] = '\0';
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* A fingerprint "ab:CD:..." (whitespace around it allowed, as pretty-printed
 * XML has) into dst as upper-case hex pairs with colons. */
static int fp_norm(const char *s, char *dst, size_t size)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n;

	while (is_space(*s))
		s++;
	n = strlen(s);
	while (n && is_space(s[n - 1]))
		n--;
	if (!n || n >= size || n % 3 != 2)
		return -EBADMSG;
	for (size_t i = 0; i < n; i++) {
		int v = hexval(s[i]);

		if (i % 3 == 2) {
			if (s[i] != ':')
				return -EBADMSG;
			dst[i] = ':';
		} else if (v < 0) {
			return -EBADMSG;
		} else {
			dst[i] = hex[v];
		}
	}
	dst[n] = '\0';
	return 0;
}

enum addr_kind { ADDR_BAD, ADDR_IP, ADDR_NAME };

/* A literal IPv4 or IPv6 address, a host name (an mDNS "*.local" from a
 * browser: usable elsewhere, not here), or neither.  A name has a letter:
 * "999.1.1.1" is a bad address, not a name. */
static enum addr_kind addr_kind(const char *s)
{
	unsigned char a[16];
	size_t n = strlen(s);
	bool letter = false;

	if (n && n < ICE_IP_SIZE &&
	    (inet_pton(AF_INET, s, a) == 1 || inet_pton(AF_INET6, s, a) == 1))
		return ADDR_IP;
	if (!n || n > 253)
		return ADDR_BAD;
	for (; *s; s++) {
		char c = *s;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
			letter = true;
		else if (!(c >= '0' && c <= '9') && c != '-' && c != '.')
			return ADDR_BAD;
	}
	return letter ? ADDR_NAME : ADDR_BAD;
}

/* --- parsing --- */

/* The condition of a <reason/> (the first child that is a known one) and
 * its <text/> into text[size] (text may be NULL).  A text that does not
 * fit is cut, at a character: it is only for the log, and refusing a
 * session-terminate for it would leave the session half-ended.  CR becomes
 * LF, as a parser would read it back from what we write. */
void jg_parse_reason(xmpp_stanza_t *el, enum jingle_reason *r, char *text, size_t size)
{
	FOR_CHILD(c, el) {
		if (!jg_ns_is(c, JINGLE_NS))
			continue;
		if (jg_is_el(c, "text", NULL)) {
			if (text && !text[0]) {
				if (text_of(c, text, size) < 0)
					utf8_trim(text, size - 1);
				for (char *p = text; *p; p++)
					*p = *p == '\r' ? '\n' : *p;
			}
		} else if (*r == JR_NONE) {
			*r = jingle_reason_parse(xmpp_stanza_get_name(c));
		}
	}
}

/* The first child element other than Jingle's content and reason decides. */
static enum jingle_info parse_info(xmpp_stanza_t *el)
{
	FOR_CHILD(c, el) {
		int i;

		if (!xmpp_stanza_is_tag(c) || jg_is_el(c, "content", JINGLE_NS) ||
		    jg_is_el(c, "reason", JINGLE_NS))
			continue;
		i = jg_ns_is(c, JINGLE_RTP_INFO_NS) ? INDEX(info_names, xmpp_stanza_get_name(c)) : -1;
		return i > 0 ? (enum jingle_info)i : JI_OTHER;
	}
	return JI_NONE;
}

static int parse_payload(xmpp_stanza_t *el, struct jingle_payload *p, const char **why)
{
	uint32_t v = 0;

	if (num_attr(el, "id", 0, 127, &v) <= 0)
		return jg_bad(why, "bad payload-type id");
	p->id = (uint8_t)v;
	if (GET_ATTR(el, "name", p->name, "payload-type name"))
		return -EBADMSG;
	if (num_attr(el, "clockrate", 0, UINT32_MAX, &p->clockrate) < 0)
		return jg_bad(why, "bad payload-type clockrate");
	v = 1;
	if (num_attr(el, "channels", 1, 255, &v) < 0)
		return jg_bad(why, "bad payload-type channels");
	p->channels = (uint8_t)v;
	return 0;
}

static int parse_crypto(xmpp_stanza_t *el, struct jingle_crypto *c, const char **why)
{
	uint32_t tag;

	if (num_attr(el, "tag", 0, UINT32_MAX, &tag) <= 0)
		return jg_bad(why, "bad crypto tag");
	c->tag = tag;
	if (GET_ATTR(el, "crypto-suite", c->suite, "crypto-suite") ||
	    GET_ATTR(el, "key-params", c->key_params, "crypto key-params"))
		return -EBADMSG;
	if (!c->suite[0] || !c->key_params[0])
		return jg_bad(why, "crypto without crypto-suite or key-params");
	return 0;
}

static int parse_encryption(xmpp_stanza_t *el, struct jingle_content *ct, const char **why)
{
	const char *req = jg_attr(el, "required");
	int err;

	ct->crypto_required |= req && (!strcmp(req, "1") || !strcmp(req, "true"));
	FOR_CHILD(c, el) {
		if (!jg_is_el(c, "crypto", JINGLE_RTP_NS) || ct->ncrypto == JINGLE_MAX_CRYPTO)
			continue;
		err = parse_crypto(c, &ct->crypto[ct->ncrypto], why);
		if (err)
			return err;
		ct->ncrypto++;
	}
	return 0;
}

/* An RTP <description/>: payload types beyond JINGLE_MAX_PAYLOADS (and
 * crypto beyond JINGLE_MAX_CRYPTO) are dropped unread. */
static int parse_rtp(xmpp_stanza_t *el, struct jingle_content *ct, const char **why)
{
	int err;

	if (GET_ATTR(el, "media", ct->media, "media"))
		return -EBADMSG;
	if (num_attr(el, "ssrc", 0, UINT32_MAX, &ct->ssrc) < 0)
		return jg_bad(why, "bad ssrc");
	FOR_CHILD(c, el) {
		err = 0;
		if (jg_is_el(c, "payload-type", JINGLE_RTP_NS) && ct->npayloads < JINGLE_MAX_PAYLOADS) {
			err = parse_payload(c, &ct->payloads[ct->npayloads], why);
			ct->npayloads += !err;
		} else if (jg_is_el(c, "rtcp-mux", JINGLE_RTP_NS)) {
			ct->rtcp_mux = true;
		} else if (jg_is_el(c, "encryption", JINGLE_RTP_NS)) {
			err = parse_encryption(c, ct, why);
		}
		if (err)
			return err;
	}
	return 0;
}

/* A candidate: 0 (*jc filled), 1 (one we skip), or -EBADMSG.  What makes
 * us skip one is checked first: an ICE-TCP active candidate comes with
 * port 9 or 0, and a name has no address to check. */
static int parse_cand(xmpp_stanza_t *el, struct jingle_cand *jc, const char **why)
{
	struct ice_cand *c = &jc->c;
	const char *proto = jg_attr(el, "protocol"), *ip = jg_attr(el, "ip");
	const char *rel = jg_attr(el, "rel-addr"), *s;
	uint32_t v;

	memset(jc, 0, sizeof(*jc));
	if (!proto)
		return jg_bad(why, "candidate without protocol");
	if (strcasecmp(proto, "udp"))
		return 1;
	if (num_attr(el, "component", 0, UINT32_MAX, &v) <= 0)
		return jg_bad(why, "bad candidate component");
	if (v < 1 || v > 2)
		return 1;
	c->comp = v;
	if (!ip)
		return jg_bad(why, "candidate without ip");
	switch (addr_kind(ip)) {
	case ADDR_NAME:
		return 1;
	case ADDR_BAD:
		return jg_bad(why, "bad candidate ip");
	case ADDR_IP:
		break;
	}
	memcpy(c->ip, ip, strlen(ip) + 1);   /* addr_kind checked the length */
	if (num_attr(el, "port", 1, 65535, &v) <= 0)
		return jg_bad(why, "bad candidate port");
	c->port = (uint16_t)v;
	if (ice_cand_type_parse(jg_attr(el, "type"), &c->type))
		return jg_bad(why, "bad candidate type");
	if (num_attr(el, "priority", 0, UINT32_MAX, &c->priority) <= 0)
		return jg_bad(why, "bad candidate priority");
	s = jg_attr(el, "foundation");
	if (!s || !*s || copy_str(c->foundation, sizeof(c->foundation), s))
		return jg_bad(why, "bad candidate foundation");
	v = 0;
	if (num_attr(el, "generation", 0, UINT32_MAX, &v) < 0)
		return jg_bad(why, "bad candidate generation");
	jc->generation = v;
	v = 0;
	if (num_attr(el, "network", 0, UINT32_MAX, &v) < 0)
		return jg_bad(why, "bad candidate network");
	jc->network = v;
	if (GET_ATTR(el, "id", jc->id, "candidate id"))
		return -EBADMSG;
	/* rel-addr is informative: a browser's mDNS name there is dropped */
	if (rel && addr_kind(rel) == ADDR_BAD)
		return jg_bad(why, "bad candidate rel-addr");
	v = 0;
	if (num_attr(el, "rel-port", 0, 65535, &v) < 0)
		return jg_bad(why, "bad candidate rel-port");
	if (rel && addr_kind(rel) == ADDR_IP) {
		memcpy(c->rel_ip, rel, strlen(rel) + 1);
		c->rel_port = (uint16_t)v;
	}
	c->transport = ICE_TP_UDP;
	return 0;
}

static int parse_fingerprint(xmpp_stanza_t *el, struct jingle_fingerprint *fp, const char **why)
{
	char text[2 * JINGLE_FP_SIZE];
	const char *hash = jg_attr(el, "hash");

	if (!hash || !*hash)
		return jg_bad(why, "fingerprint without hash");
	if (GET_ATTR(el, "hash", fp->hash, "fingerprint hash"))
		return -EBADMSG;
	fp->setup = jingle_setup_parse(jg_attr(el, "setup"));
	if (text_of(el, text, sizeof(text)) < 0)
		return jg_bad(why, "fingerprint too long");
	if (fp_norm(text, fp->value, sizeof(fp->value)))
		return jg_bad(why, "fingerprint is not hex pairs");
	return 0;
}

/* An ICE-UDP <transport/>: candidates we cannot use, and any beyond
 * JINGLE_MAX_CANDS, are counted in skipped_cands. */
static int parse_ice(xmpp_stanza_t *el, struct jingle_content *ct, const char **why)
{
	struct jingle_cand jc;
	int r;

	if (GET_ATTR(el, "ufrag", ct->ufrag, "ufrag") || GET_ATTR(el, "pwd", ct->pwd, "pwd"))
		return -EBADMSG;
	FOR_CHILD(c, el) {
		if (jg_is_el(c, "candidate", JINGLE_ICE_NS)) {
			r = parse_cand(c, &jc, why);
			if (r < 0)
				return r;
			if (r || ct->ncands == JINGLE_MAX_CANDS)
				ct->skipped_cands++;
			else
				ct->cands[ct->ncands++] = jc;
		} else if (jg_is_el(c, "fingerprint", JINGLE_DTLS_NS) && !ct->has_fingerprint) {
			r = parse_fingerprint(c, &ct->fp, why);
			if (r)
				return r;
			ct->has_fingerprint = true;
		}
	}
	return 0;
}

static int parse_content(xmpp_stanza_t *el, struct jingle_content *ct, const char **why)
{
	const char *s;
	int i, err = 0;

	s = jg_attr(el, "name");
	if (!s || !*s)
		return jg_bad(why, "content without name");
	if (GET_ATTR(el, "name", ct->name, "content name"))
		return -EBADMSG;
	/* creator is required, but a missing one can only mean the initiator */
	s = jg_attr(el, "creator");
	i = s ? INDEX(creator_names, s) : JC_INITIATOR;
	if (i < 0)
		return jg_bad(why, "bad content creator");
	ct->creator = (enum jingle_creator)i;
	s = jg_attr(el, "senders");
	i = s ? INDEX(senders_names, s) : JSEND_BOTH;
	if (i < 0)
		return jg_bad(why, "bad content senders");
	ct->senders = (enum jingle_senders)i;
	FOR_CHILD(c, el) {
		if (jg_is_el(c, "description", NULL)) {
			ct->has_description = true;
			if (!ct->rtp && jg_ns_is(c, JINGLE_RTP_NS)) {
				ct->rtp = true;
				err = parse_rtp(c, ct, why);
			}
		} else if (jg_is_el(c, "transport", NULL)) {
			ct->has_transport = true;
			if (!ct->ice && jg_ns_is(c, JINGLE_ICE_NS)) {
				ct->ice = true;
				err = parse_ice(c, ct, why);
			}
		}
		if (err)
			return err;
	}
	return 0;
}

int jingle_parse(xmpp_stanza_t *el, struct jingle *j, const char **why)
{
	const char *dummy, *s;
	bool reason = false;
	int err;

	if (!why)
		why = &dummy;
	*why = NULL;
	memset(j, 0, sizeof(*j));
	if (!jg_is_el(el, "jingle", JINGLE_NS))
		return jg_bad(why, "not a jingle element");
	s = jg_attr(el, "action");
	if (!s || !*s)
		return jg_bad(why, "jingle without action");
	if (GET_ATTR(el, "action", j->action_str, "action"))
		return -EBADMSG;
	j->action = jingle_action_parse(s);
	s = jg_attr(el, "sid");
	if (!s || !*s)
		return jg_bad(why, "jingle without sid");
	if (GET_ATTR(el, "sid", j->sid, "sid") ||
	    GET_ATTR(el, "initiator", j->initiator, "initiator") ||
	    GET_ATTR(el, "responder", j->responder, "responder"))
		return -EBADMSG;
	FOR_CHILD(c, el) {
		if (jg_is_el(c, "content", JINGLE_NS)) {
			if (j->ncontents == JINGLE_MAX_CONTENTS)
				return jg_bad(why, "too many contents");
			err = parse_content(c, &j->contents[j->ncontents++], why);
			if (err)
				return err;
		} else if (jg_is_el(c, "reason", JINGLE_NS) && !reason) {
			reason = true;
			jg_parse_reason(c, &j->reason, j->reason_text, sizeof(j->reason_text));
		}
	}
	if (j->action == JA_SESSION_INFO)
		j->info = parse_info(el);
	return 0;
}

/* --- building --- */

static xmpp_stanza_t *el_new(xmpp_ctx_t *ctx, const char *name, const char *ns)
{
	xmpp_stanza_t *el = xmpp_stanza_new(ctx);

	if (el && (xmpp_stanza_set_name(el, name) || (ns && xmpp_stanza_set_ns(el, ns)))) {
		xmpp_stanza_release(el);
		el = NULL;
	}
	return el;
}

/* A new child of parent, which owns it (freed with parent whatever happens
 * next); NULL on allocation failure. */
xmpp_stanza_t *jg_add_el(xmpp_stanza_t *parent, const char *name, const char *ns)
{
	xmpp_stanza_t *el = el_new(xmpp_stanza_get_context(parent), name, ns);

	if (el)
		xmpp_stanza_add_child_ex(parent, el, 0);
	return el;
}

static int add_text(xmpp_stanza_t *parent, const char *text)
{
	xmpp_stanza_t *t = xmpp_stanza_new(xmpp_stanza_get_context(parent));

	if (!t)
		return -ENOMEM;
	if (xmpp_stanza_set_text(t, text)) {
		xmpp_stanza_release(t);
		return -ENOMEM;
	}
	xmpp_stanza_add_child_ex(parent, t, 0);
	return 0;
}

/* Set k='v' unless v is NULL or empty. */
int jg_set(xmpp_stanza_t *el, const char *k, const char *v)
{
	return v && *v && xmpp_stanza_set_attribute(el, k, v) ? -ENOMEM : 0;
}

static int set_num(xmpp_stanza_t *el, const char *k, unsigned long v)
{
	char b[24];

	snprintf(b, sizeof(b), "%lu", v);
	return jg_set(el, k, b);
}

/* The candidate's own id, or "c<k>": k counts the candidates of the
 * element from 1, so the same struct always builds the same stanza. */
static int build_cand(xmpp_stanza_t *tp, const struct jingle_cand *jc, unsigned k)
{
	const struct ice_cand *c = &jc->c;
	xmpp_stanza_t *el = jg_add_el(tp, "candidate", JINGLE_ICE_NS);
	char id[16];

	snprintf(id, sizeof(id), "c%u", k);
	if (!el || set_num(el, "component", c->comp) || jg_set(el, "foundation", c->foundation) ||
	    set_num(el, "generation", jc->generation) || jg_set(el, "id", jc->id[0] ? jc->id : id) ||
	    jg_set(el, "ip", c->ip) || set_num(el, "network", jc->network) ||
	    set_num(el, "port", c->port) || set_num(el, "priority", c->priority) ||
	    jg_set(el, "protocol", "udp") || jg_set(el, "type", ice_cand_type_name(c->type)))
		return -ENOMEM;
	if (c->rel_ip[0] && (jg_set(el, "rel-addr", c->rel_ip) || set_num(el, "rel-port", c->rel_port)))
		return -ENOMEM;
	return 0;
}

/* Always ICE-UDP: the only transport we speak.  Only UDP candidates. */
static int build_ice(xmpp_stanza_t *content, const struct jingle_content *ct, unsigned *k)
{
	xmpp_stanza_t *tp = jg_add_el(content, "transport", JINGLE_ICE_NS), *fp;

	if (!tp || jg_set(tp, "ufrag", ct->ufrag) || jg_set(tp, "pwd", ct->pwd))
		return -ENOMEM;
	if (ct->has_fingerprint) {
		fp = jg_add_el(tp, "fingerprint", JINGLE_DTLS_NS);
		if (!fp || jg_set(fp, "hash", ct->fp.hash) ||
		    jg_set(fp, "setup", jingle_setup_name(ct->fp.setup)) ||
		    (ct->fp.value[0] && add_text(fp, ct->fp.value)))
			return -ENOMEM;
	}
	for (unsigned i = 0; i < ct->ncands && i < JINGLE_MAX_CANDS; i++) {
		if (ct->cands[i].c.transport != ICE_TP_UDP)
			continue;
		if (build_cand(tp, &ct->cands[i], ++*k))
			return -ENOMEM;
	}
	return 0;
}

static int build_payload(xmpp_stanza_t *d, const struct jingle_payload *p)
{
	xmpp_stanza_t *el = jg_add_el(d, "payload-type", JINGLE_RTP_NS);

	if (!el || set_num(el, "id", p->id) || jg_set(el, "name", p->name) ||
	    (p->clockrate && set_num(el, "clockrate", p->clockrate)) ||
	    (p->channels > 1 && set_num(el, "channels", p->channels)))
		return -ENOMEM;
	return 0;
}

static int build_encryption(xmpp_stanza_t *d, const struct jingle_content *ct)
{
	xmpp_stanza_t *enc = jg_add_el(d, "encryption", JINGLE_RTP_NS), *el;

	if (!enc || (ct->crypto_required && jg_set(enc, "required", "1")))
		return -ENOMEM;
	for (unsigned i = 0; i < ct->ncrypto && i < JINGLE_MAX_CRYPTO; i++) {
		const struct jingle_crypto *c = &ct->crypto[i];

		el = jg_add_el(enc, "crypto", JINGLE_RTP_NS);
		if (!el || jg_set(el, "crypto-suite", c->suite) || jg_set(el, "key-params", c->key_params) ||
		    set_num(el, "tag", c->tag))
			return -ENOMEM;
	}
	return 0;
}

/* Always RTP; payload types in the order given. */
static int build_rtp(xmpp_stanza_t *content, const struct jingle_content *ct)
{
	xmpp_stanza_t *d = jg_add_el(content, "description", JINGLE_RTP_NS);

	if (!d || jg_set(d, "media", ct->media) || (ct->ssrc && set_num(d, "ssrc", ct->ssrc)))
		return -ENOMEM;
	for (unsigned i = 0; i < ct->npayloads && i < JINGLE_MAX_PAYLOADS; i++)
		if (build_payload(d, &ct->payloads[i]))
			return -ENOMEM;
	if ((ct->ncrypto || ct->crypto_required) && build_encryption(d, ct))
		return -ENOMEM;
	if (ct->rtcp_mux && !jg_add_el(d, "rtcp-mux", JINGLE_RTP_NS))
		return -ENOMEM;
	return 0;
}

static int build_content(xmpp_stanza_t *jg, const struct jingle *j,
			 const struct jingle_content *ct, unsigned *k)
{
	xmpp_stanza_t *el = jg_add_el(jg, "content", JINGLE_NS);

	if (!el || jg_set(el, "creator", NAME(creator_names, ct->creator)) ||
	    jg_set(el, "name", ct->name) ||
	    (ct->senders != JSEND_BOTH && jg_set(el, "senders", NAME(senders_names, ct->senders))))
		return -ENOMEM;
	if ((ct->has_description || ct->rtp) && j->action != JA_TRANSPORT_INFO &&
	    build_rtp(el, ct))
		return -ENOMEM;
	if ((ct->has_transport || ct->ice) && build_ice(el, ct, k))
		return -ENOMEM;
	return 0;
}

/* <reason><cond/><text/></reason> under parent, if r is a condition. */
int jg_build_reason(xmpp_stanza_t *parent, enum jingle_reason r, const char *text)
{
	const char *name = jingle_reason_name(r);
	xmpp_stanza_t *el, *t;

	if (!*name)
		return 0;
	el = jg_add_el(parent, "reason", JINGLE_NS);
	if (!el || !jg_add_el(el, name, JINGLE_NS))
		return -ENOMEM;
	if (text && *text) {
		t = jg_add_el(el, "text", JINGLE_NS);
		if (!t || add_text(t, text))
			return -ENOMEM;
	}
	return 0;
}

static int build_jingle(xmpp_stanza_t *jg, const struct jingle *j)
{
	const char *action = j->action != JA_UNKNOWN ? jingle_action_name(j->action) : j->action_str;
	const char *info = NAME(info_names, j->info);
	unsigned k = 0;

	if (jg_set(jg, "action", action) || jg_set(jg, "sid", j->sid) ||
	    jg_set(jg, "initiator", j->initiator) || jg_set(jg, "responder", j->responder))
		return -ENOMEM;
	for (unsigned i = 0; i < j->ncontents && i < JINGLE_MAX_CONTENTS; i++)
		if (build_content(jg, j, &j->contents[i], &k))
			return -ENOMEM;
	if (jg_build_reason(jg, j->reason, j->reason_text))
		return -ENOMEM;
	if (j->action == JA_SESSION_INFO && *info && !jg_add_el(jg, info, JINGLE_RTP_INFO_NS))
		return -ENOMEM;
	return 0;
}

xmpp_stanza_t *jingle_build(xmpp_ctx_t *ctx, const struct jingle *j)
{
	xmpp_stanza_t *jg = el_new(ctx, "jingle", JINGLE_NS);

	if (jg && build_jingle(jg, j)) {
		xmpp_stanza_release(jg);
		jg = NULL;
	}
	return jg;
}

/* <name type=.. from=.. to=.. id=..> in jabber:client (left out when
 * rendered), attributes NULL or "" left out. */
xmpp_stanza_t *jg_stanza_new(xmpp_ctx_t *ctx, const char *name, const char *type,
			     const char *from, const char *to, const char *id)
{
	xmpp_stanza_t *st = el_new(ctx, name, CLIENT_NS);

	if (st && (jg_set(st, "type", type) || jg_set(st, "from", from) || jg_set(st, "to", to) ||
		   jg_set(st, "id", id))) {
		xmpp_stanza_release(st);
		st = NULL;
	}
	return st;
}

xmpp_stanza_t *jingle_iq_build(xmpp_ctx_t *ctx, const struct jingle *j, const char *from,
			       const char *to, const char *id)
{
	xmpp_stanza_t *iq = jg_stanza_new(ctx, "iq", "set", from, to, id), *jg;

	if (!iq)
		return NULL;
	jg = jg_add_el(iq, "jingle", JINGLE_NS);
	if (!jg || build_jingle(jg, j)) {
		xmpp_stanza_release(iq);
		return NULL;
	}
	return iq;
}

static int build_error(xmpp_stanza_t *iq, const char *type, const char *cond,
		       const char *jingle_cond, const char *text)
{
	xmpp_stanza_t *e = jg_add_el(iq, "error", CLIENT_NS), *t;

	/* RFC 6120 requires both: never send an error without them */
	if (!e || jg_set(e, "type", type ? type : "cancel") ||
	    !jg_add_el(e, cond ? cond : "undefined-condition", STANZAS_NS))
		return -ENOMEM;
	if (jingle_cond && !jg_add_el(e, jingle_cond, JINGLE_ERRORS_NS))
		return -ENOMEM;
	if (text && *text) {
		t = jg_add_el(e, "text", STANZAS_NS);
		if (!t || add_text(t, text))
			return -ENOMEM;
	}
	return 0;
}

xmpp_stanza_t *jingle_iq_error(xmpp_ctx_t *ctx, xmpp_stanza_t *req, const char *from,
			       const char *type, const char *cond, const char *jingle_cond,
			       const char *text)
{
	xmpp_stanza_t *iq = jg_stanza_new(ctx, "iq", "error", from, xmpp_stanza_get_from(req),
				       xmpp_stanza_get_id(req));

	if (iq && build_error(iq, type, cond, jingle_cond, text)) {
		xmpp_stanza_release(iq);
		iq = NULL;
	}
	return iq;
}
