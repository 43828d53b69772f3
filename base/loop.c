/* epoll event loop with a binary-heap timer queue. */
#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>
#include "log.h"
#include "loop.h"
#include "mem.h"

struct fdh {
	loop_fd_h *h;
	void *arg;
	int flags;
	bool active;
};

struct loop {
	int epfd;
	struct fdh *fds;     /* indexed by fd */
	int nfds;
	struct tmr **heap;   /* min-heap on due */
	size_t ntmr;
	size_t captmr;
	bool running;
};

static void loop_destroy(void *arg)
{
	struct loop *l = arg;
	if (l->epfd >= 0)
		close(l->epfd);
	mem_deref(l->fds);
	mem_deref(l->heap);
}

int loop_alloc(struct loop **lp)
{
	struct loop *l = mem_zalloc(sizeof(*l), loop_destroy);
	if (!l)
		return ENOMEM;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0) {
		int err = errno;
		mem_deref(l);
		return err;
	}
	*lp = l;
	return 0;
}

uint64_t loop_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int grow_fds(struct loop *l, int fd)
{
	int n = l->nfds ? l->nfds : 64;
	struct fdh *f;

	while (n <= fd)
		n *= 2;
	f = mem_realloc(l->fds, (size_t)n * sizeof(*f));
	if (!f)
		return ENOMEM;
	memset(f + l->nfds, 0, (size_t)(n - l->nfds) * sizeof(*f));
	l->fds = f;
	l->nfds = n;
	return 0;
}

int loop_fd_listen(struct loop *l, int fd, int flags, loop_fd_h *h, void *arg)
{
	struct epoll_event ev = {0};
	struct fdh *f;
	int err;

	if (fd < 0)
		return EBADF;
	if (fd >= l->nfds && (err = grow_fds(l, fd)))
		return err;
	f = &l->fds[fd];
	ev.events = (flags & LOOP_READ ? EPOLLIN : 0) | (flags & LOOP_WRITE ? EPOLLOUT : 0);
	ev.data.fd = fd;
	if (epoll_ctl(l->epfd, f->active ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &ev) < 0) {
		/* The number was closed without loop_fd_close (epoll forgot it)
		 * and reused: watch the new descriptor. */
		if (!(f->active && errno == ENOENT) ||
		    epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
			return errno;
	}
	f->h = h;
	f->arg = arg;
	f->flags = flags;
	f->active = true;
	return 0;
}

void loop_fd_close(struct loop *l, int fd)
{
	if (fd < 0 || fd >= l->nfds || !l->fds[fd].active)
		return;
	epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
	memset(&l->fds[fd], 0, sizeof(l->fds[fd]));
}

void tmr_init(struct tmr *t)
{
	memset(t, 0, sizeof(*t));
}

static void heap_set(struct loop *l, size_t i, struct tmr *t)
{
	l->heap[i] = t;
	t->idx = i + 1;
}

static void heap_up(struct loop *l, size_t i)
{
	struct tmr *t = l->heap[i];
	while (i > 0) {
		size_t p = (i - 1) / 2;
		if (l->heap[p]->due <= t->due)
			break;
		heap_set(l, i, l->heap[p]);
		i = p;
	}
	heap_set(l, i, t);
}

static void heap_down(struct loop *l, size_t i)
{
	struct tmr *t = l->heap[i];
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= l->ntmr)
			break;
		if (c + 1 < l->ntmr && l->heap[c + 1]->due < l->heap[c]->due)
			c++;
		if (t->due <= l->heap[c]->due)
			break;
		heap_set(l, i, l->heap[c]);
		i = c;
	}
	heap_set(l, i, t);
}

void tmr_cancel(struct loop *l, struct tmr *t)
{
	size_t i;

	if (!t->idx)
		return;
	i = t->idx - 1;
	t->idx = 0;
	if (--l->ntmr == i)
		return;
	struct tmr *m = l->heap[l->ntmr];
	heap_set(l, i, m);
	heap_up(l, i);
	heap_down(l, m->idx - 1);
}

int tmr_start(struct loop *l, struct tmr *t, uint64_t ms, loop_tmr_h *h, void *arg)
{
	tmr_cancel(l, t);
	if (l->ntmr == l->captmr) {
		size_t n = l->captmr ? l->captmr * 2 : 64;
		struct tmr **hp = mem_realloc(l->heap, n * sizeof(*hp));
		if (!hp)
			return ENOMEM;
		l->heap = hp;
		l->captmr = n;
	}
	t->due = loop_now() + ms;
	t->h = h;
	t->arg = arg;
	heap_set(l, l->ntmr++, t);
	heap_up(l, l->ntmr - 1);
	return 0;
}

static int next_timeout(struct loop *l)
{
	uint64_t now;

	if (!l->ntmr)
		return 1000;
	now = loop_now();
	if (l->heap[0]->due <= now)
		return 0;
	return (int)(l->heap[0]->due - now > 1000 ? 1000 : l->heap[0]->due - now);
}

static void run_timers(struct loop *l)
{
	uint64_t now = loop_now();

	/* A handler may re-arm or cancel any timer, its own included. */
	while (l->ntmr && l->heap[0]->due <= now) {
		struct tmr *t = l->heap[0];
		tmr_cancel(l, t);
		t->h(t->arg);
	}
}

int loop_run(struct loop *l)
{
	struct epoll_event evs[128];

	l->running = true;
	while (l->running) {
		int n = epoll_wait(l->epfd, evs, 128, next_timeout(l));
		if (n < 0) {
			if (errno == EINTR) {
				run_timers(l);
				continue;
			}
			LOGE("loop: epoll_wait: %s", strerror(errno));
			return errno;
		}
		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;
			struct fdh *f;
			int flags = 0;

			/* An earlier handler in this batch may have closed fd. */
			if (fd >= l->nfds || !l->fds[fd].active)
				continue;
			f = &l->fds[fd];
			if (evs[i].events & (EPOLLERR | EPOLLHUP))
				flags = LOOP_READ | LOOP_WRITE;
			if (evs[i].events & EPOLLIN)
				flags |= LOOP_READ;
			if (evs[i].events & EPOLLOUT)
				flags |= LOOP_WRITE;
			f->h(fd, flags, f->arg);
		}
		run_timers(l);
	}
	return 0;
}

void loop_stop(struct loop *l)
{
	l->running = false;
}
