/* One XMPP client session on libstrophe, driven by our event loop.
 *
 * Each session has its own xmpp_ctx_t, so that xmpp_run_once() only ever
 * looks at this session's socket.  We learn the socket through the sockopt
 * callback, watch it with epoll, and call xmpp_run_once(ctx, 0) when it is
 * readable (or writable while connecting or while the send queue is not
 * empty), after we queue a stanza, and once a second for timed handlers.
 * libstrophe uses select(), so the process must keep this socket's number
 * below FD_SETSIZE (see docs/architecture.md: worker processes).
 *
 * DNS (SRV, then the host's address) runs on a helper thread, never on the
 * loop.  TLS is mandatory and verified unless insecure is set. */
#ifndef RX_XSESS_H
#define RX_XSESS_H

#include <stdbool.h>
#include <stdint.h>
#include <strophe.h>
#include "loop.h"

struct xsess;

struct xsess_params {
	const char *username;
	const char *domain;
	const char *password;
	const char *resource;
	const char *host;        /* NULL: SRV lookup of the domain */
	uint16_t port;           /* 0: 5222 or what SRV says */
	const char *cafile;      /* NULL: the system's CAs */
	bool insecure;           /* skip certificate verification (logged loudly) */
	uint32_t ping_interval;  /* seconds between XEP-0199 pings to the server */
	uint32_t ping_timeout;   /* seconds to wait for the answer */
};

/* The session is up: resource bound (bound_jid is the full JID). */
typedef void (xsess_up_h)(struct xsess *s, const char *bound_jid, void *arg);
/* A stanza arrived (message, presence or iq). */
typedef void (xsess_stanza_h)(struct xsess *s, xmpp_stanza_t *st, void *arg);
/* The session ended; reason is one of the client-api.md reason codes.
 * Called once; the session may be freed from inside it. */
typedef void (xsess_down_h)(struct xsess *s, const char *reason, void *arg);

/* Process-wide set-up (libstrophe and its TLS). */
void xsess_global_init(void);

int xsess_alloc(struct xsess **sp, struct loop *loop, const struct xsess_params *p,
		xsess_up_h *uph, xsess_stanza_h *sth, xsess_down_h *downh, void *arg);
/* Queue a stanza; it is written from the loop shortly after.  ENOTCONN. */
int xsess_send(struct xsess *s, xmpp_stanza_t *st);
/* Close the stream politely; down_h follows with reason. */
void xsess_close(struct xsess *s, const char *reason);
xmpp_ctx_t *xsess_ctx(struct xsess *s);
const char *xsess_jid(const struct xsess *s);   /* full JID once up, else NULL */
bool xsess_is_up(const struct xsess *s);
/* A fresh id for stanzas we originate ("rx" + counter). */
const char *xsess_next_id(struct xsess *s, char *buf, size_t size);

/* Map a libstrophe stream error to "stream-error:<condition>". */
const char *xsess_stream_error_reason(xmpp_error_type_t t);

#endif
