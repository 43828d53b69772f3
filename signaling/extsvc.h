/* The STUN and TURN servers that the user's XMPP server offers (XEP-0215,
 * extdisco.h), for that user's calls: asked for once when the session's
 * call manager starts, and again when a call starts and the credentials
 * we hold have expired (at most every EXTSVC_RETRY_S).  Nothing waits for
 * the answer: a call made before it, or on a server without XEP-0215,
 * uses the gateway's own servers.
 *
 * The TURN credentials are secrets: they are never logged (host, port,
 * type and transport are) and are wiped when replaced or freed.  Control
 * thread only. */
#ifndef RX_EXTSVC_H
#define RX_EXTSVC_H

#include <stdbool.h>
#include <stdint.h>
#include <strophe.h>
#include "ice.h"

#define EXTSVC_RETRY_S 600    /* between two requests, at least */
#define EXTSVC_MARGIN_S 60    /* credentials closer to their end are not used */

struct xsess;
struct extsvc;

/* Asks at once if the session is up. */
int extsvc_alloc(struct extsvc **sp, struct xsess *xs);
/* An iq result or error: true when it answers our request (then nobody
 * else should see it). */
bool extsvc_handle(struct extsvc *s, xmpp_stanza_t *iq);
/* The servers for a call starting now (Unix time); out's strings belong
 * to s and last until the next extsvc_handle.  false when the server gave
 * none we can use.  Asks again if what we hold has expired. */
bool extsvc_servers(struct extsvc *s, int64_t now, struct ice_servers *out);

#endif
