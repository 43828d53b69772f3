/* Jingle (XEP-0166) with RTP audio (XEP-0167), ICE-UDP (XEP-0176), DTLS
 * fingerprints (XEP-0320) and Jingle Message Initiation (XEP-0353):
 * stanzas <-> structs.  Pure functions over libstrophe stanzas: no I/O, no
 * session state (that is jsess.c).
 *
 * Parsing is strict where a wrong value would hurt (sid, action, ports,
 * addresses, components, fingerprints) and lenient where the XEPs allow
 * variation: unknown elements and attributes are ignored, candidates we
 * cannot use (ICE-TCP, mDNS names, a third component) are skipped and
 * counted.  What cannot be parsed gives -EBADMSG and, in *why, a short
 * English reason for the log and the iq error's <text/>. */
#ifndef RX_JINGLE_H
#define RX_JINGLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <strophe.h>
#include "ice.h"

#define JINGLE_NS "urn:xmpp:jingle:1"
#define JINGLE_ERRORS_NS "urn:xmpp:jingle:errors:1"
#define JINGLE_RTP_NS "urn:xmpp:jingle:apps:rtp:1"
#define JINGLE_RTP_INFO_NS "urn:xmpp:jingle:apps:rtp:info:1"
#define JINGLE_ICE_NS "urn:xmpp:jingle:transports:ice-udp:1"
#define JINGLE_DTLS_NS "urn:xmpp:jingle:apps:dtls:0"
#define JINGLE_MSG_NS "urn:xmpp:jingle-message:0"
#define JINGLE_RTCP_FB_NS "urn:xmpp:jingle:apps:rtp:rtcp-fb:0"

#define JINGLE_SID_SIZE 129      /* we refuse longer sids */
#define JINGLE_JID_SIZE 3072     /* RFC 7622: 3 x 1023 + separators */
#define JINGLE_NAME_SIZE 65      /* content names, codec names, hash names */
#define JINGLE_TEXT_SIZE 257     /* <reason><text/> */
#define JINGLE_MAX_CONTENTS 4
#define JINGLE_MAX_PAYLOADS 16
#define JINGLE_MAX_CANDS 32
#define JINGLE_MAX_CRYPTO 4
#define JINGLE_FP_SIZE 200       /* "AB:CD:..." for up to sha-512 */
#define JINGLE_CRYPTO_KEY_SIZE 256

enum jingle_action {
	JA_UNKNOWN = 0,   /* an action we do not implement: see j->action_str */
	JA_SESSION_INITIATE,
	JA_SESSION_ACCEPT,
	JA_SESSION_TERMINATE,
	JA_SESSION_INFO,
	JA_TRANSPORT_INFO,
	JA_CONTENT_ADD,
	JA_CONTENT_ACCEPT,
	JA_CONTENT_MODIFY,
	JA_CONTENT_REJECT,
	JA_CONTENT_REMOVE,
	JA_DESCRIPTION_INFO,
	JA_SECURITY_INFO,
	JA_TRANSPORT_ACCEPT,
	JA_TRANSPORT_REJECT,
	JA_TRANSPORT_REPLACE,
};

/* XEP-0166 reason conditions. */
enum jingle_reason {
	JR_NONE = 0,
	JR_ALTERNATIVE_SESSION,
	JR_BUSY,
	JR_CANCEL,
	JR_CONNECTIVITY_ERROR,
	JR_DECLINE,
	JR_EXPIRED,
	JR_FAILED_APPLICATION,
	JR_FAILED_TRANSPORT,
	JR_GENERAL_ERROR,
	JR_GONE,
	JR_INCOMPATIBLE_PARAMETERS,
	JR_MEDIA_ERROR,
	JR_SECURITY_ERROR,
	JR_SUCCESS,
	JR_TIMEOUT,
	JR_UNSUPPORTED_APPLICATIONS,
	JR_UNSUPPORTED_TRANSPORTS,
};

/* XEP-0167 session-info payloads. */
enum jingle_info {
	JI_NONE = 0,       /* an empty session-info (a ping) */
	JI_RINGING,
	JI_ACTIVE,
	JI_HOLD,
	JI_UNHOLD,
	JI_MUTE,
	JI_UNMUTE,
	JI_OTHER,          /* something else: answer unsupported-info */
};

/* XEP-0320 setup attribute (RFC 4145). */
enum jingle_setup { JS_NONE = 0, JS_ACTPASS, JS_ACTIVE, JS_PASSIVE, JS_HOLDCONN };

enum jingle_senders { JSEND_BOTH = 0, JSEND_INITIATOR, JSEND_RESPONDER, JSEND_NONE };
enum jingle_creator { JC_INITIATOR = 0, JC_RESPONDER };

struct jingle_payload {
	uint8_t id;                     /* 0..127 */
	char name[JINGLE_NAME_SIZE];    /* "speex"; "" for a static type without name */
	uint32_t clockrate;             /* 0 when absent */
	uint8_t channels;               /* 1 when absent */
};

/* XEP-0167 <crypto/> (SDES, RFC 4568 syntax in the attributes). */
struct jingle_crypto {
	unsigned tag;
	char suite[JINGLE_NAME_SIZE];            /* "AES_CM_128_HMAC_SHA1_80" */
	char key_params[JINGLE_CRYPTO_KEY_SIZE]; /* "inline:base64[|lifetime][|MKI:len]" */
};

struct jingle_fingerprint {
	char hash[JINGLE_NAME_SIZE];    /* "sha-256", lower case as sent */
	char value[JINGLE_FP_SIZE];     /* upper-case hex pairs with colons (normalised) */
	enum jingle_setup setup;
};

/* A XEP-0176 candidate: what ICE needs plus the signalling-only fields. */
struct jingle_cand {
	struct ice_cand c;
	char id[JINGLE_NAME_SIZE];
	unsigned generation;
	unsigned network;
};

struct jingle_content {
	char name[JINGLE_NAME_SIZE];
	enum jingle_creator creator;
	enum jingle_senders senders;

	/* <description/> */
	bool has_description;           /* any description element */
	bool rtp;                       /* it is JINGLE_RTP_NS */
	char media[JINGLE_NAME_SIZE];   /* "audio", "video", ... */
	uint32_t ssrc;                  /* 0 when absent */
	struct jingle_payload payloads[JINGLE_MAX_PAYLOADS];
	unsigned npayloads;             /* extra payload-types beyond the max are dropped */
	bool rtcp_mux;                  /* <rtcp-mux/> in the description */
	struct jingle_crypto crypto[JINGLE_MAX_CRYPTO];
	unsigned ncrypto;
	bool crypto_required;           /* <encryption required='1'> */

	/* <transport/> */
	bool has_transport;             /* any transport element */
	bool ice;                       /* it is JINGLE_ICE_NS */
	char ufrag[ICE_UFRAG_SIZE];     /* "" when absent */
	char pwd[ICE_PWD_SIZE];
	struct jingle_cand cands[JINGLE_MAX_CANDS];
	unsigned ncands;
	unsigned skipped_cands;         /* usable-elsewhere candidates we skipped */
	bool has_fingerprint;
	struct jingle_fingerprint fp;
};

struct jingle {
	enum jingle_action action;
	char action_str[JINGLE_NAME_SIZE];   /* as received */
	char sid[JINGLE_SID_SIZE];
	char initiator[JINGLE_JID_SIZE];     /* "" when absent */
	char responder[JINGLE_JID_SIZE];
	struct jingle_content contents[JINGLE_MAX_CONTENTS];
	unsigned ncontents;
	enum jingle_reason reason;           /* session-terminate (JR_NONE if absent) */
	char reason_text[JINGLE_TEXT_SIZE];  /* cut (at a character) if longer */
	enum jingle_info info;               /* session-info */
};

/* Names <-> enums.  *_name never returns NULL (unknown -> ""); *_parse
 * returns the JA_UNKNOWN / JR_NONE / JS_NONE value for unknown strings. */
const char *jingle_action_name(enum jingle_action a);
enum jingle_action jingle_action_parse(const char *s);
const char *jingle_reason_name(enum jingle_reason r);
enum jingle_reason jingle_reason_parse(const char *s);
const char *jingle_setup_name(enum jingle_setup s);
enum jingle_setup jingle_setup_parse(const char *s);

/* Parse a <jingle xmlns='urn:xmpp:jingle:1'/> element (the child of an iq
 * set) into *j (zeroed first).  0, or -EBADMSG with *why set (a static
 * string).  Checked: sid present, non-empty, under JINGLE_SID_SIZE; action
 * present (unknown values give JA_UNKNOWN, not an error); at most
 * JINGLE_MAX_CONTENTS contents, each with a name; in an ICE transport,
 * every candidate has component 1..2 (others skipped), a literal IP
 * address (names skipped: mDNS), a port 1..65535, a known type, a
 * priority, a foundation of 1..32 characters, and protocol udp (others
 * skipped); ufrag/pwd within ICE's limits; a fingerprint's value is hex
 * pairs.  Payload ids must be 0..127. */
int jingle_parse(xmpp_stanza_t *el, struct jingle *j, const char **why);

/* Build the <jingle/> element for j (fields left empty are left out).
 * Returns a new stanza (xmpp_stanza_release) or NULL on allocation
 * failure.  A content with has_description or rtp gets an RTP description
 * with its payloads (in order), crypto and rtcp-mux, except in
 * transport-info, which gets only the transport; one with has_transport
 * or ice gets an ICE-UDP transport with ufrag/pwd, the fingerprint and its
 * UDP candidates (an empty id becomes "c<n>", n counting the element's
 * candidates from 1).  A reason other than JR_NONE gets <reason/> (and
 * text); session-info gets the info element (none for JI_NONE and
 * JI_OTHER). */
xmpp_stanza_t *jingle_build(xmpp_ctx_t *ctx, const struct jingle *j);

/* A whole iq set carrying j, from/to/id as given (id NULL: none). */
xmpp_stanza_t *jingle_iq_build(xmpp_ctx_t *ctx, const struct jingle *j, const char *from,
			       const char *to, const char *id);

/* An iq error answering the iq req (to = its from, id = its id, from as
 * given): type (cancel, modify, wait), a stanza error condition
 * ("bad-request", "item-not-found", "feature-not-implemented",
 * "unexpected-request", "conflict", "resource-constraint", ...) and
 * optionally a Jingle error condition (JINGLE_ERRORS_NS: "out-of-order",
 * "tie-break", "unknown-session", "unsupported-info", or NULL) and a text
 * (or NULL). */
xmpp_stanza_t *jingle_iq_error(xmpp_ctx_t *ctx, xmpp_stanza_t *req, const char *from,
			       const char *type, const char *cond, const char *jingle_cond,
			       const char *text);

/* XEP-0353 Jingle Message Initiation. */
enum jmi_kind { JMI_NONE = 0, JMI_PROPOSE, JMI_RETRACT, JMI_ACCEPT, JMI_PROCEED,
		JMI_REJECT, JMI_RINGING, JMI_FINISH };

struct jmi {
	enum jmi_kind kind;
	char id[JINGLE_SID_SIZE];        /* the session id */
	bool audio;                      /* propose: an RTP description with media audio */
	bool video;                      /* propose: one with media video */
	enum jingle_reason reason;       /* retract/reject/finish: optional reason */
	/* A carbon (XEP-0280) of our own device's message: set by jmi_parse
	 * when the message is a <sent/> or <received/> carbon; the fields
	 * above then describe the forwarded message, and to/from are its. */
	bool carbon_sent;
	bool carbon_received;
	char from[JINGLE_JID_SIZE];      /* the (forwarded) message's from and to */
	char to[JINGLE_JID_SIZE];
};

/* Parse a <message/> that carries a JINGLE_MSG_NS child, directly or in a
 * XEP-0280 carbon.  0; -ENOENT when there is none (not a JMI message);
 * -EBADMSG with *why for one without an id, or with an unknown element.
 * A carbon is only genuine when the outer message is from our own bare
 * JID (XEP-0280 section 11): the caller checks that. */
int jmi_parse(xmpp_stanza_t *msg, struct jmi *m, const char **why);

/* A <message type='chat'/> from/to with the JMI element for m (m's carbon
 * fields and from/to are not used).  Propose carries
 * <description xmlns=JINGLE_RTP_NS media='audio'/> when m->audio (and one
 * with media='video' when m->video); every kind
 * carries <store xmlns='urn:xmpp:hints'/>, and propose/proceed/accept/
 * reject/retract also <request xmlns='urn:xmpp:receipts'/> as
 * Conversations expects.  The message id is id (NULL: none).
 * reason JR_NONE: no <reason/>.  NULL for JMI_NONE too. */
xmpp_stanza_t *jmi_build(xmpp_ctx_t *ctx, const struct jmi *m, const char *from,
			 const char *to, const char *id);

#endif
