/* Finding the XMPP server's address off the event loop: an SRV lookup of
 * _xmpp-client._tcp.DOMAIN (or the host given), then getaddrinfo(), on a
 * short-lived thread that reports back through a pipe. */
#ifndef RX_RESOLVE_H
#define RX_RESOLVE_H

#include <stdint.h>
#include "loop.h"

struct resolve;

/* err is 0 or an errno value (EHOSTUNREACH when nothing resolved); ip is a
 * numeric address. */
typedef void (resolve_h)(int err, const char *ip, uint16_t port, void *arg);

/* host NULL: SRV lookup of domain, falling back to domain:5222.
 * port 0: 5222 (or the SRV port). */
int resolve_start(struct resolve **rp, struct loop *loop, const char *domain, const char *host,
		  uint16_t port, resolve_h *h, void *arg);
/* Forget the callback; the lookup finishes and is freed quietly. */
void resolve_cancel(struct resolve *r);

#endif
