/* ICE (RFC 8445, RFC 7675 consent freshness) on libnice, driven by our own
 * epoll loop (base/loop.h).
 *
 * One struct ice_ctx per media thread.  It owns a private GMainContext that
 * libnice uses for its timers only: the context is acquired by the thread
 * that made ice_ctx and iterated from a loop timer armed at the context's
 * next timeout, and from the loop whenever one of the context's own fds
 * (its wakeup eventfd, a resolver answer, a TCP write) becomes ready.  The
 * agents' sockets are not on that context: each agent lists them with
 * nice_agent_get_sockets(), watches them in the same loop, and reads with
 * nice_agent_recv_messages_nonblocking(), which also lets libnice consume
 * STUN.  So the thread runs one epoll loop, and the cost of a packet does
 * not grow with the number of agents.
 *
 * One struct ice_agent per call: one stream with one component (rtcp-mux,
 * preferred) or two (RTP and RTCP).  Everything runs on the ctx's thread;
 * handlers are called from ice_agent_* calls (gathering reports host
 * candidates before it returns) and from the loop.  A handler may free the
 * agent (mem_deref) but not the ctx.
 *
 * Errors are negative errno values. */
#ifndef RX_ICE_H
#define RX_ICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct loop;
struct ice_ctx;
struct ice_agent;

struct ice_config {
	/* IP or name; NULL: no server-reflexive candidates but TURN's.  Not
	 * used by an agent with TURN over UDP: the allocation gives the
	 * server-reflexive candidate too, and libnice 0.1.21 with both rejects
	 * the binding answers ("incorrectly multiplexed"), so gathering would
	 * wait 2 s. */
	const char *stun_host;
	uint16_t stun_port;        /* 0: 3478 */
	const char *turn_host;     /* IP or name; NULL: no relay candidates */
	uint16_t turn_port;        /* 0: 3478 */
	const char *turn_user;
	const char *turn_pass;
	bool turn_tcp;             /* reach the TURN server over TCP (see ice_tcp) */
	const char *local_addrs;   /* "127.0.0.1,::1"; NULL: every interface */
	uint16_t port_min, port_max;    /* host port range; 0, 0: any */
	/* ICE-TCP candidates too (XEP-0176 is UDP only).  libnice does not list
	 * its TCP connections in nice_agent_get_sockets(), so with ice_tcp or
	 * turn_tcp the ctx's agents use libnice's own receive path on the
	 * context instead of ours (the cost of a packet grows with agents). */
	bool ice_tcp;
	unsigned stun_retrans;     /* STUN and check retransmissions; 0: libnice's 3 */
	unsigned idle_timeout_ms;  /* grace before a component fails; 0: libnice's 5000 */
	/* Comparison only (bench/ice): libnice's own receive path,
	 * nice_agent_attach_recv() on the shared context, instead of ours. */
	bool attach_recv;
};

/* Hosts, TURN usernames and passwords: at most 255 characters. */
#define ICE_SERVER_STR_SIZE 256

/* STUN and TURN servers for one agent instead of the ctx's, kind by kind
 * (e.g. those of the user's XMPP server, XEP-0215): a stun_host replaces
 * the ctx's STUN server, a turn_host its TURN server; NULL keeps the
 * ctx's.  Ports 0: 3478.  Whatever the source, an agent whose TURN server
 * is reached over UDP gets no STUN server (see stun_host above). */
struct ice_servers {
	const char *stun_host;
	uint16_t stun_port;
	const char *turn_host;
	uint16_t turn_port;
	const char *turn_user;     /* NULL: "" */
	const char *turn_pass;     /* NULL: ""; a secret, never logged */
	bool turn_tcp;
};

/* An ice_servers with its strings copied in, for one that must outlive
 * the caller's strings (the engine keeps a call's until the media thread
 * makes its agent).  pass is a secret: wipe it with the holder. */
struct ice_servers_copy {
	struct ice_servers s;
	char stun[ICE_SERVER_STR_SIZE], turn[ICE_SERVER_STR_SIZE];
	char user[ICE_SERVER_STR_SIZE], pass[ICE_SERVER_STR_SIZE];
};

/* NULL, or every string shorter than ICE_SERVER_STR_SIZE and no host "". */
bool ice_servers_ok(const struct ice_servers *s);
/* src (checked with ice_servers_ok) into dst; the copy, or NULL when src
 * names no server. */
const struct ice_servers *ice_servers_copy(struct ice_servers_copy *dst,
					   const struct ice_servers *src);

/* Makes the GMainContext and acquires it for the calling thread.  cfg is
 * copied; it may be NULL (host candidates only, libnice defaults). */
int ice_ctx_alloc(struct ice_ctx **ctxp, struct loop *loop, const struct ice_config *cfg);

enum ice_cand_type { ICE_CAND_HOST, ICE_CAND_SRFLX, ICE_CAND_PRFLX, ICE_CAND_RELAY };
enum ice_transport { ICE_TP_UDP, ICE_TP_TCP_ACTIVE, ICE_TP_TCP_PASSIVE, ICE_TP_TCP_SO };

#define ICE_FOUNDATION_SIZE 33   /* 32 characters, NUL */
#define ICE_IP_SIZE 46           /* INET6_ADDRSTRLEN */
#define ICE_UFRAG_SIZE 257       /* RFC 8445: at most 256 characters, NUL */
#define ICE_PWD_SIZE 257

/* What XEP-0176 <candidate/> carries (id, generation and network are the
 * signalling layer's). */
struct ice_cand {
	char foundation[ICE_FOUNDATION_SIZE];
	unsigned comp;                 /* 1 RTP, 2 RTCP */
	enum ice_transport transport;
	uint32_t priority;
	char ip[ICE_IP_SIZE];          /* a literal address, not a name */
	uint16_t port;
	enum ice_cand_type type;
	char rel_ip[ICE_IP_SIZE];      /* rel-addr; "" when none */
	uint16_t rel_port;
};

const char *ice_cand_type_name(enum ice_cand_type t);    /* "host", "srflx", ... */
int ice_cand_type_parse(const char *s, enum ice_cand_type *t);   /* -EINVAL */

enum ice_ev {
	ICE_EV_CANDIDATE,       /* a local candidate: ev->cand */
	ICE_EV_GATHERING_DONE,  /* every local candidate has been reported */
	/* A component has a selected pair (ev->local, ev->remote); again when
	 * the selected pair changes. */
	ICE_EV_CONNECTED,
	/* A component never connected and its checks are over.  While the
	 * peer has not signalled end-of-candidates, this waits for it. */
	ICE_EV_FAILED,
	/* A connected component lost consent (RFC 7675: no answer to its
	 * consent checks for 10 s, or the peer revoked it).  Final. */
	ICE_EV_CONSENT_LOST,
};

struct ice_event {
	enum ice_ev type;
	unsigned comp;                   /* 0 for GATHERING_DONE */
	const struct ice_cand *cand;     /* CANDIDATE */
	const struct ice_cand *local;    /* CONNECTED */
	const struct ice_cand *remote;   /* CONNECTED */
};

typedef void (ice_event_h)(struct ice_agent *a, const struct ice_event *ev, void *arg);
/* An application datagram (RTP, RTCP, DTLS); buf is ours and only valid
 * during the call (it may be changed in place, e.g. SRTP unprotect). */
typedef void (ice_recv_h)(struct ice_agent *a, unsigned comp, uint8_t *buf, size_t len,
			  void *arg);

/* ncomp: 1 (rtcp-mux) or 2.  The agent holds a reference to ctx.  srv:
 * this agent's servers instead of the ctx's, or NULL; libnice copies the
 * strings before this returns. */
int ice_agent_alloc(struct ice_agent **ap, struct ice_ctx *ctx, const struct ice_servers *srv,
		    bool controlling, unsigned ncomp, ice_event_h *evh, ice_recv_h *recvh,
		    void *arg);
/* Starts gathering; host candidates are reported before it returns,
 * server-reflexive and relay ones later, then ICE_EV_GATHERING_DONE. */
int ice_agent_gather(struct ice_agent *a);
/* Our own ufrag (4..256 ice-chars) and password (22..256) instead of
 * libnice's random ones, before gathering (-EALREADY after): so that they
 * can be signalled before the agent exists, e.g. from another thread. */
int ice_agent_set_local_credentials(struct ice_agent *a, const char *ufrag, const char *pwd);
/* Our ufrag and password (valid as long as the agent). */
void ice_agent_local_credentials(const struct ice_agent *a, const char **ufrag,
				 const char **pwd);
int ice_agent_set_remote_credentials(struct ice_agent *a, const char *ufrag, const char *pwd);
/* A trickled remote candidate: before or after gathering, before or after
 * the credentials (until then it is kept here).  -EINVAL for a name (mDNS)
 * or a component we do not have. */
int ice_agent_add_remote_candidate(struct ice_agent *a, const struct ice_cand *c);
/* The peer has sent its last candidate. */
int ice_agent_end_of_candidates(struct ice_agent *a);
/* The peer accepted rtcp-mux: component 2 is no longer used or reported. */
void ice_agent_rtcp_mux(struct ice_agent *a);
/* One datagram on a connected component: 0, -ENOTCONN before a pair is
 * selected, -EAGAIN when the socket is full, -EINVAL, -EIO. */
int ice_agent_send(struct ice_agent *a, unsigned comp, const void *buf, size_t len);
/* Every component in use has a selected pair. */
bool ice_agent_connected(const struct ice_agent *a);
int ice_agent_selected_pair(const struct ice_agent *a, unsigned comp, struct ice_cand *local,
			    struct ice_cand *remote);

#endif
