/* The harness of the media engine tests (test_engine.c,
 * test_engine_relay.c): two engines (two media threads) in one process,
 * driven from one control loop.  Call A (controlling) and call B get each
 * other's credentials, candidates (trickled as they come, through an
 * optional hook that may rewrite or withhold them) and fingerprints or
 * keys straight through the API, then send libspeex's reference frames
 * (test-vectors/speex/wb-q8.spxv, FFmpeg's FLV byte 0xB6) both ways at
 * real time, frame i at RTMP time 20 i, one frame per RTMP message.
 *
 * The audio handler checks each frame it gets against the frame sent at
 * its timestamp (ts / 20 is the frame number): timestamps must be on the
 * 20 ms grid, increase, and name a frame already sent; frames skipped
 * between two outputs are counted.  So rx == total with no bad_ts and no
 * skipped frame means every frame came, byte for byte, in order, at
 * 0, 20, 40 ... ms.  Every loop run has a deadline. */
#ifndef RX_ENGINE_KIT_H
#define RX_ENGINE_KIT_H

#include <stdbool.h>
#include <stdint.h>
#include "engine.h"
#include "loop.h"
#include "test.h"

#define CHECK(c) TEST_ERR((c) ? 0 : EBADMSG)
#define CHECK_EQ(a, b) do { long long a_ = (long long)(a), b_ = (long long)(b); \
	if (a_ != b_) { char m_[200]; \
		snprintf(m_, sizeof(m_), "%s == %s (%lld != %lld)", #a, #b, a_, b_); \
		test_fail(__FILE__, __LINE__, m_); err = EBADMSG; goto out; } } while (0)

#define TAG 0xB6
#define PT 97
#define TE_PT 101
#define MAX_REF 128
#define SETUP_MS 10000
#define DRAIN_MS 3000

enum mode { M_DTLS, M_SDES, M_PLAIN };

struct et;

struct side {
	struct et *t;
	struct side *other;
	struct mengine *e;
	struct mcall *c;
	int ncand, gathered, connected, media, failed, sec_err, consent, stats;
	int bad;                 /* handler calls or events that must not be */
	int bad_frames, bad_ts;
	bool gone;               /* the call was released: no handler after */
	bool engine_gone;
	unsigned rx;             /* frames received */
	unsigned skipped;        /* frames never received between two received ones */
	uint32_t last_ts;
	uint8_t *got;            /* optional, a mem block of total bytes: frame i came */
	struct mcall_stats st;   /* from the last MCALL_EV_STATS */
	struct ice_cand cand;    /* its host candidate of component 1, as gathered */
	/* actions from inside the handlers */
	unsigned free_call_at;   /* frames received when the audio handler releases the call */
	unsigned free_engine_at; /* ... the engine */
	bool free_on_stats;      /* the event handler releases the call on STATS */
	uint64_t blocks_at_free;
};

struct et {
	struct loop *loop;
	struct side s[2];
	struct tmr deadline, tick;
	bool expired;
	bool (*done)(struct et *t);
	bool sending;
	unsigned nsend, total;
	uint64_t t0;
	uint8_t *vec;
	/* called on every tick from frame inject_at on, until it says done */
	bool (*inject)(struct et *t);
	unsigned inject_at, injected;
	int inject_err;
	/* a local candidate of "from" on its way to the other side: may
	 * rewrite it; false withholds it */
	bool (*cand)(struct et *t, struct side *from, struct ice_cand *c);
	/* checks each frame the audio handler gets; NULL: ek_check_frame */
	void (*audio)(struct side *s, uint32_t ts, const uint8_t *b, size_t len);
	void *arg;               /* the test's */
	const uint8_t *fr[MAX_REF];
	uint8_t flen[MAX_REF];
	unsigned nfr;
};

extern const struct mengine_config ek_loopback;   /* 127.0.0.1, plain allowed */

/* RX_ENGINE_SECONDS, 3 by default. */
unsigned ek_seconds(void);
int ek_setup_cfg(struct et *t, const struct mengine_config *cfg);
int ek_setup(struct et *t);
void ek_teardown(struct et *t);
/* Runs the loop until done(t) or ms have passed (then t->expired). */
int ek_run(struct et *t, bool (*done)(struct et *t), uint64_t ms);
/* The calls, each knowing the other's credentials and security, then
 * gathering.  bad_fp: 1 gives A a wrong fingerprint for B, 2 gives B a
 * wrong one for A. */
int ek_start_calls(struct et *t, enum mode mode, unsigned ncomp, bool mux, int bad_fp);
/* Both calls have media (then the security mode is checked), or an error. */
int ek_connect(struct et *t, enum mode mode);
/* Sending from now on: frame i goes out at t0 + 20 i ms, both ways. */
void ek_send(struct et *t, unsigned total);
/* A fresh stats snapshot of both calls in s->st. */
int ek_fresh_stats(struct et *t);
void ek_release_call(struct side *s);
/* The audio handler's check of one frame (the rules above); it counts
 * bad_ts, bad_frames and skipped, and sets got[ts / 20]. */
void ek_check_frame(struct side *s, uint32_t ts, const uint8_t *b, size_t len);
/* Whether b (FLV byte and Speex frame) is the frame sent at 20 i ms. */
bool ek_frame_is(const struct et *t, unsigned i, const uint8_t *b, size_t len);
/* With RX_TEST_VERBOSE: the side's frames and its last stats, on stderr. */
void ek_log_side(const struct side *s);

bool ek_ended(const struct side *s);
bool ek_both_media(struct et *t);
bool ek_all_received(struct et *t);
bool ek_never(struct et *t);

#endif
