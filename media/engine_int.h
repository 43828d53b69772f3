/* Internal API of the media engine: engine.c (the control side, the media
 * thread, the rings between them) and engine_call.c (a call's media side,
 * on the media thread).  Not for other modules.
 *
 * Who touches what:
 *   - struct mengine: the fields under "control" belong to the control
 *     thread, those under "media" to the media thread, those under "both"
 *     are rings, eventfds, atomics, or written before the thread starts;
 *   - struct mshared (one per call, a mem block): allocated and freed by
 *     the control thread, never referenced or dereferenced by the media
 *     thread (mem refcounts are not atomic).  Its fields are written
 *     before the CREATE command is pushed and read-only after, except
 *     those marked "control" or "media";
 *   - struct mside (a call's media side) and everything in it: the media
 *     thread only. */
#ifndef RX_ENGINE_INT_H
#define RX_ENGINE_INT_H

#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include "bring.h"
#include "engine.h"
#include "list.h"
#include "loop.h"
#include "ring.h"

#define ENG_CTL_SLOTS 1024
/* Audio rings are byte rings (bring.h) rather than rings of slots sized
 * for the longest message: a message is typically an FLV byte and one
 * 70-byte Speex frame, and a slot ring touches every slot in turn, so 64
 * slots of 2.1 KB each made 135 KB per ring resident. */
#define ENG_AUDIO_RING 16384
#define ENG_AUDIO_RING_MIN 8192
#define ENG_AUDIO_RING_MAX (1u << 20)
/* An audio record: the RTMP timestamp, then the body. */
#define ENG_AUDIO_REC (4 + MCALL_AUDIO_MAX)
_Static_assert(MCALL_AUDIO_MAX >= 1 + REPACK_MAX_FPP * REPACK_FRAME_MAX,
	       "an RTMP message from the jitter buffer fits an audio record");
_Static_assert(BRING_MAX_LEN(ENG_AUDIO_RING_MIN) >= ENG_AUDIO_REC,
	       "the smallest audio ring takes the longest message");
#define ENG_MAX_CALLS 1024
#define ENG_TICK_MS 20
#define ENG_RTCP_MS 5000
#define ENG_RTCP_FIRST_MS 2500   /* RFC 3550 6.2: half the interval at first */
#define ENG_RETRY_MS 5           /* a message waits for room in a full ring */
#define ENG_NAME_SIZE 48
#define ENG_UFRAG_LEN 8
#define ENG_PWD_LEN 24
#define ENG_FP_MAX 192           /* sha-512: 64 pairs, 63 colons, NUL */
#define ENG_WHY_SIZE 64

struct mside;
struct mshared;

/* Commands, control -> media. */
enum cmd_type {
	CMD_CREATE,
	CMD_GATHER,
	CMD_CREDS,
	CMD_CAND,
	CMD_EOC,
	CMD_RTCP_MUX,
	CMD_DTLS,
	CMD_SDES,      /* the keys are in the shared block */
	CMD_PLAIN,
	CMD_AUDIO,     /* the call's tx ring has audio */
	CMD_STATS,
	CMD_CLOSE,     /* the last command for a call */
};

struct cmd {
	uint32_t type;
	struct mshared *sh;
	union {
		struct {
			char ufrag[ICE_UFRAG_SIZE];
			char pwd[ICE_PWD_SIZE];
		} creds;
		struct ice_cand cand;
		struct {
			enum mdtls_role role;
			char fp[ENG_FP_MAX];
		} dtls;
		enum msrtp_profile sdes;
	} u;
};

/* Events, media -> control. */
enum mev_type {
	MEV_EVENT,     /* ev: an mcall_ev_type */
	MEV_AUDIO,     /* the call's rx ring has audio */
	MEV_CLOSED,    /* the last event for a call: its shared block may go */
};

struct mev {
	uint32_t type;
	uint32_t ev;
	struct mshared *sh;
	char why[ENG_WHY_SIZE];
	union {
		struct ice_cand cand;
		struct mcall_stats stats;
	} u;
};

/* Bytes of a command or event that carry something: the rest of the
 * union is not copied through the ring. */
#define CMD_LEN(m) (offsetof(struct cmd, u) + sizeof(((struct cmd *)0)->u.m))
#define CMD_LEN0 offsetof(struct cmd, u)
#define MEV_LEN(m) (offsetof(struct mev, u) + sizeof(((struct mev *)0)->u.m))
#define MEV_LEN0 offsetof(struct mev, u)

/* A message waiting for room in its ring (the ring was full).  Rare: it
 * is allocated then, except CLOSE and CLOSED, which live in the shared
 * block so that they never wait for memory. */
struct qnode {
	struct le le;
	uint32_t len;
	bool own;                /* a mem block of its own (msg follows it) */
	const void *msg;
};

struct mshared {
	struct le le;            /* control: e->shared */
	struct mengine *e;
	struct mcall *c;         /* control: NULL once the owner let go */
	struct mside *m;         /* media: NULL before CREATE, after a failed one, after CLOSE */
	struct bring *tx, *rx;   /* audio to the media thread, and back */
	struct mcall_params p;   /* p.name points to name, p.servers to srv or NULL */
	char name[ENG_NAME_SIZE];
	/* the call's own ICE servers, if any (srv.pass is wiped with the block) */
	struct ice_servers_copy srv;
	char ufrag[ENG_UFRAG_LEN + 1];
	char pwd[ENG_PWD_LEN + 1];
	/* SDES keys: written by control before CMD_SDES, wiped by media */
	uint8_t sdes_tx[MSRTP_KEY_SALT_LEN], sdes_rx[MSRTP_KEY_SALT_LEN];
	struct qnode close_node; /* control */
	struct cmd close_cmd;
	struct qnode closed_node;   /* media */
	struct mev closed_ev;
	/* media: an event for the call was lost (no memory while the event
	 * ring was full); the control side fails the call */
	atomic_bool lost;
};

struct mengine {
	/* both (set before the thread starts) */
	struct mdtls_cert *cert;
	char fp[MDTLS_FP_SIZE];
	struct ice_config ice;   /* its strings point into str[] */
	char *str[5];
	unsigned max_calls, audio_ring, ctl_slots;
	bool allow_plain;
	struct ring *cmd, *evq;
	int cmd_fd, ev_fd;       /* their eventfds */
	atomic_bool cmd_rescan;  /* a CMD_AUDIO was lost: look at every tx ring */
	atomic_bool ev_rescan;   /* a MEV_AUDIO was lost: look at every rx ring */
	atomic_bool stop;
	sem_t ready;
	int start_err;
	/* control */
	struct loop *loop;
	struct list calls;       /* struct mcall, not yet released */
	struct list shared;      /* struct mshared, until CLOSED */
	struct list cmd_over;    /* struct qnode */
	struct tmr cmd_retry;
	unsigned busy;           /* our references during a dispatch */
	unsigned seq;            /* for call names */
	bool thread_started;
	bool sem_inited;
	pthread_t thread;
	/* media */
	struct loop *mloop;
	struct ice_ctx *ictx;
	struct list mcalls;      /* struct mside */
	struct list ev_over;     /* struct qnode */
	struct tmr ev_retry, tick;
	uint64_t tick_due;
};

/* engine.c, media thread: events to the control thread.  Never fails for
 * CLOSED; another is lost only when memory runs out while the ring is
 * full, and then its call is failed (MCALL_EV_FAILED) rather than left
 * waiting for it. */
void eng_ev_push(struct mengine *e, const struct mev *ev, uint32_t len);
void eng_ev_closed(struct mengine *e, struct mshared *sh);
/* The call's rx ring went from empty to not: tell the control thread. */
void eng_ev_audio(struct mengine *e, struct mshared *sh);
/* A call's media is up: make sure the 20 ms tick runs. */
void eng_tick_want(struct mengine *e);

/* engine_call.c, media thread */
void mside_command(struct mengine *e, const struct cmd *cmd);
void mside_drain_tx(struct mside *m);
/* Ticks every call's jitter buffer; false when none needs it any more. */
bool mside_tick_all(struct mengine *e, uint32_t now_ms);
void mside_close_all(struct mengine *e);

#endif
