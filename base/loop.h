/* A small epoll event loop with timers (after redis ae.c).  One loop per
 * thread; nothing here is shared between threads. */
#ifndef RX_LOOP_H
#define RX_LOOP_H

#include <stdbool.h>
#include <stdint.h>

struct loop;

enum { LOOP_READ = 1, LOOP_WRITE = 2 };

/* flags: LOOP_READ/LOOP_WRITE that fired, or LOOP_READ|LOOP_WRITE on error/hangup */
typedef void (loop_fd_h)(int fd, int flags, void *arg);
typedef void (loop_tmr_h)(void *arg);

struct tmr {
	uint64_t due;     /* loop_now() milliseconds */
	size_t idx;       /* heap index + 1; 0 when not armed */
	loop_tmr_h *h;
	void *arg;
};

int loop_alloc(struct loop **lp);
/* Watch fd for the given flags (0 to pause); replaces an existing watch. */
int loop_fd_listen(struct loop *l, int fd, int flags, loop_fd_h *h, void *arg);
void loop_fd_close(struct loop *l, int fd);   /* forget fd (does not close it) */

void tmr_init(struct tmr *t);
/* (Re)arm t to fire once after ms milliseconds. */
int tmr_start(struct loop *l, struct tmr *t, uint64_t ms, loop_tmr_h *h, void *arg);
void tmr_cancel(struct loop *l, struct tmr *t);
static inline bool tmr_isrunning(const struct tmr *t) { return t->idx != 0; }

uint64_t loop_now(void);   /* monotonic milliseconds */
/* Run until loop_stop(); returns 0 or an errno value. */
int loop_run(struct loop *l);
void loop_stop(struct loop *l);

#endif
