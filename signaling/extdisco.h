/* XEP-0215 External Service Discovery: the request for a server's STUN
 * and TURN services, and its answer -> struct.  Pure functions over
 * libstrophe stanzas, as jingle.c: no I/O, no session state (extsvc.c
 * keeps that).
 *
 * We ask in urn:xmpp:extdisco:2 and take answers in :2 or :1 (XEP-0215
 * before 0.7: no expires or restricted).  Parsing is lenient with the list
 * and strict with each entry: a <service/> we cannot use safely is
 * skipped and counted, never half taken (another type such as ftp, no or
 * a bad host, a bad port, transport or timestamp, credentials of 256
 * characters or more, a push's action='delete'), and past EXTDISCO_MAX
 * kept entries the rest are only counted.  Only an answer without a
 * <services/> in either namespace gives -EBADMSG. */
#ifndef RX_EXTDISCO_H
#define RX_EXTDISCO_H

#include <stdbool.h>
#include <stdint.h>
#include <strophe.h>
#include "ice.h"

#define EXTDISCO_NS "urn:xmpp:extdisco:2"
#define EXTDISCO_NS_1 "urn:xmpp:extdisco:1"
#define EXTDISCO_MAX 8
#define EXTDISCO_STR_SIZE ICE_SERVER_STR_SIZE   /* hosts and credentials */
#define EXTDISCO_PORT 3478          /* stun, turn without a port */
#define EXTDISCO_TLS_PORT 5349      /* turns without a port */

enum extdisco_type { EXTDISCO_STUN, EXTDISCO_TURN, EXTDISCO_TURNS };
enum extdisco_transport { EXTDISCO_UDP, EXTDISCO_TCP };

struct extdisco_service {
	enum extdisco_type type;
	enum extdisco_transport transport;   /* none given: tcp for turns, else udp */
	char host[EXTDISCO_STR_SIZE];        /* a name or an address, as given */
	uint16_t port;                       /* none given: the type's default */
	char username[EXTDISCO_STR_SIZE];    /* "" when none */
	char password[EXTDISCO_STR_SIZE];    /* "" when none; a secret */
	int64_t expires;                     /* Unix time of the credentials' end; 0: none */
	bool restricted;                     /* credentials needed (given or to ask for) */
};

struct extdisco {
	struct extdisco_service svc[EXTDISCO_MAX];   /* in the server's order */
	unsigned n;
	unsigned skipped;                    /* <service/> elements not kept */
};

const char *extdisco_type_name(enum extdisco_type t);             /* "stun", ... */
const char *extdisco_transport_name(enum extdisco_transport t);   /* "udp", "tcp" */

/* <iq type='get' to='to' id='id'><services xmlns='urn:xmpp:extdisco:2'/>
 * </iq>, or NULL without memory. */
xmpp_stanza_t *extdisco_request(xmpp_ctx_t *ctx, const char *to, const char *id);

/* st: a <services/> or a stanza holding one (the iq result).  0 with
 * d->n services kept (maybe none); -EBADMSG with a reason in *why. */
int extdisco_parse(xmpp_stanza_t *st, struct extdisco *d, const char **why);

/* XEP-0082 DateTime ("2009-09-14T14:31:09Z", fractions and a +hh:mm or
 * -hh:mm offset allowed) -> seconds since 1970.  -EINVAL. */
int extdisco_time(const char *s, int64_t *t);

/* What a call made at time now should use: the first STUN server over
 * UDP, and the first TURN server with credentials that are valid for
 * another margin seconds, over UDP if there is one, else over TCP (turns
 * is not used).  out's pointers are into d; kinds not found are NULL.
 * Returns how many of the two were found. */
int extdisco_pick(const struct extdisco *d, int64_t now, int64_t margin,
		  struct ice_servers *out);

/* The earliest expiry among d's entries (0: none expires). */
int64_t extdisco_expiry(const struct extdisco *d);

#endif
