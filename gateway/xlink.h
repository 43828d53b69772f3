/* Internal API of the text-stanza gateway: the link between one RTMP
 * connection and its XMPP session (xrpc.c), and the stanzas the gateway
 * answers by itself (xauto.c). */
#ifndef RX_XLINK_H
#define RX_XLINK_H

#include <stdbool.h>
#include <strophe.h>
#include "list.h"
#include "jingle.h"
#include "rtmp.h"

struct xsess;
struct jcall_mgr;

struct xlink {
	struct rtmp_conn *c;      /* invalid once detached */
	struct loop *loop;
	uint32_t iq_timeout;      /* seconds, from the configuration */
	uint32_t iq_unanswered;
	struct xsess *s;
	bool logging_in;          /* xmpp_connect (or connect) waits for the outcome */
	bool at_connect;          /* the login came with the connect command */
	bool client_left;         /* xmpp_disconnect: no more callbacks */
	bool detached;            /* the RTMP connection is gone */
	double connect_txid;
	struct list iq_out;       /* client iqs waiting for an answer (struct iq_wait) */
	struct list iq_in;        /* server iqs waiting for the client's answer */
	struct jcall_mgr *calls;  /* voice calls (call.c), once logged in */
};

/* xrpc.c */
int xlink_deliver(struct xlink *xl, xmpp_stanza_t *st, const char *callback, double txid);

/* call.c */
void call_session_up(struct xlink *xl);
/* A stanza for the call layer (Jingle, JMI): true when it took it. */
bool call_handle_stanza(struct xlink *xl, xmpp_stanza_t *st);
void call_session_down(struct xlink *xl, enum jingle_reason reason);

/* xauto.c */
void xauto_global_init(void);
/* ping and disco#info to us: answered here; true when handled */
bool xauto_handle_iq(struct xsess *xs, xmpp_stanza_t *st);
/* A get/set passed to the client: answer service-unavailable if it does not. */
void xauto_track_iq(struct xlink *xl, xmpp_stanza_t *st);
/* The client answered (to, id): stop waiting. */
void xauto_answered(struct xlink *xl, const char *to, const char *id);
void xauto_reset(struct xlink *xl);
/* Add our XEP-0115 caps to an available presence. */
void xauto_add_caps(struct xsess *xs, xmpp_stanza_t *presence);
/* <iq type='error' to id><error type><condition/></error></iq> */
xmpp_stanza_t *xauto_error_iq(struct xsess *xs, const char *to, const char *id,
			      const char *etype, const char *condition);

#endif
