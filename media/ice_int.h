/* Internal API of the ICE layer (ice.c, ice_agent.c, ice_cand.c). */
#ifndef RX_ICE_INT_H
#define RX_ICE_INT_H

#include <nice/agent.h>
#include "ice.h"
#include "loop.h"
#include "mem.h"

/* Datagrams read per nice_agent_recv_messages_nonblocking() call, and their
 * size.  libnice wants at least 1280 bytes per buffer, or it allocates a
 * bounce buffer for every call.  One is cheapest (bench/ice/README.md):
 * with more, or with a second call to see EAGAIN, libnice polls the
 * component once more and allocates a GError for the would-block. */
#define ICE_RECV_BATCH 1
#define ICE_RECV_MTU 1500

struct ice_comp;

/* What the loop watches on one fd, indexed by fd. */
struct ice_slot {
	struct ice_comp *comp;   /* the component reading it, or NULL */
	uint16_t gev;            /* GIOCondition the GMainContext wants */
	uint8_t flags;           /* LOOP_READ/LOOP_WRITE registered now */
	uint64_t ino;            /* identity of the fd when registered */
};

struct ice_stats {
	uint64_t cycles;         /* check/dispatch/prepare/query rounds */
	uint64_t dispatches;
	uint64_t recv_calls;     /* nice_agent_recv_messages_nonblocking() */
	uint64_t packets;        /* application datagrams delivered */
	uint64_t resyncs;        /* nice_agent_get_sockets() calls */
};

struct ice_ctx {
	struct loop *loop;
	struct ice_config cfg;   /* its strings point into str[] */
	char *str[5];
	GMainContext *gctx;
	struct tmr tmr;          /* the context's next timeout */
	GPollFD *pfd;            /* from the last query */
	int npfd, cappfd;
	GPollFD *gfd;            /* the previous query's fds, registered */
	int ngfd;
	gint prio;
	bool prepared;
	bool cycling;
	struct ice_slot *slot;
	int nslot;
	unsigned nclosing;       /* agents in nice_agent_close_async() */
	struct ice_stats stats;
};

struct ice_comp {
	struct ice_agent *a;
	unsigned id;
	int *fds;                /* sockets we claimed, from nice_agent_get_sockets() */
	unsigned nfds, capfds;   /* fds is fd0 until more are needed */
	int fd0[4];
	bool unused;             /* component 2 after rtcp-mux */
	bool has_pair;
	bool reported;           /* CONNECTED reported for the current pair */
	bool connected;          /* was connected once: FAILED is consent loss */
	bool failed;             /* libnice says FAILED, not reported yet */
	bool final;              /* FAILED or CONSENT_LOST reported */
	NiceComponentState state;
	struct ice_cand local, remote;
};

struct ice_agent {
	struct ice_ctx *ctx;
	NiceAgent *nice;
	guint sid;
	unsigned ncomp;
	struct ice_comp comp[2];
	ice_event_h *evh;
	ice_recv_h *recvh;
	void *arg;
	unsigned busy;           /* references we hold during a call */
	bool creds;              /* remote credentials set */
	bool eoc;                /* the peer's end-of-candidates */
	bool gathering;
	bool turn;               /* has a TURN server: deallocate on close */
	bool attached;           /* on libnice's receive path (ice_attached) */
	struct ice_cand *pend;   /* remote candidates before the credentials */
	unsigned npend, cappend;
	char ufrag[ICE_UFRAG_SIZE];
	char pwd[ICE_PWD_SIZE];
	GInputVector vec[ICE_RECV_BATCH];
	NiceInputMessage msg[ICE_RECV_BATCH];
	uint8_t buf[ICE_RECV_BATCH][ICE_RECV_MTU];
};

/* ice.c: the loop watches fd for comp (reads) until released. */
int ice_ctx_claim(struct ice_ctx *c, int fd, struct ice_comp *comp);
void ice_ctx_release(struct ice_ctx *c, int fd, const struct ice_comp *comp);
/* ice.c: after a NiceAgent is given up (closes it asynchronously; with
 * turn, after its TURN deallocations). */
void ice_ctx_close_nice(struct ice_ctx *c, NiceAgent *nice, guint sid, unsigned ncomp,
			bool turn);

const struct ice_stats *ice_ctx_stats(const struct ice_ctx *c);

/* A handler may drop the owner's reference; ours keep the agent alive
 * until the call returns, and ice_alive() tells whether the owner is
 * still there. */
static inline void ice_hold(struct ice_agent *a)
{
	mem_ref(a);
	a->busy++;
}

static inline void ice_release(struct ice_agent *a)
{
	a->busy--;
	mem_deref(a);
}

static inline bool ice_alive(const struct ice_agent *a)
{
	return mem_nrefs(a) > a->busy;
}

/* ice_event.c */
void ice_agent_signals(struct ice_agent *a);
void ice_agent_attach(struct ice_agent *a, bool on);   /* attach_recv mode */
/* The loop found one of comp's sockets ready. */
void ice_comp_readable(struct ice_comp *comp, int flags);
/* Agents on libnice's own receive path (nice_agent_attach_recv() on our
 * context): the bench's baseline, and TCP.  nice_agent_get_sockets() lists
 * the sockets of local candidates only: never ICE-TCP's accepted or active
 * connections, nor a TURN server connection (a relay candidate's socket
 * has no fd of its own; over UDP it shares the host candidate's).  Set at
 * ice_agent_alloc() from the ctx's config and the agent's TURN server. */
static inline bool ice_attached(const struct ice_agent *a)
{
	return a->attached;
}

/* Watch exactly the sockets libnice has for comp now (FAILED if we cannot). */
void ice_comp_sync(struct ice_comp *comp);
void ice_comp_release_all(struct ice_comp *comp);
/* FAILED once libnice has failed it and the peer is done trickling. */
void ice_comp_maybe_fail(struct ice_comp *comp);

/* ice_cand.c */
void ice_cand_from_nice(struct ice_cand *out, const NiceCandidate *nc);
int ice_cand_to_nice(NiceCandidate *nc, const struct ice_cand *c, guint sid);

#endif
