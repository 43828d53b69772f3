/* The two-thread run of spsc_util.h. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include "ring.h"
#include "spsc_util.h"

struct run {
	void *ring;
	const struct spsc_ops *ops;
	uint32_t n;
	int fd;
	int err;             /* the producer's */
	atomic_bool stop;    /* the consumer gave up */
	struct spsc_stats st;
};

static void signal_consumer(struct run *r, bool *wake)
{
	if (*wake) {
		r->st.signals++;
		ring_wake_signal(r->fd);
		*wake = false;
	}
}

static int push_one(struct run *r, uint32_t i, bool *wake)
{
	bool we = false;
	int e;

	while ((e = r->ops->push(r->ring, i, &we)) == -ENOSPC) {
		if (atomic_load(&r->stop))
			return ECANCELED;
		signal_consumer(r, wake);
		r->st.full++;
		sched_yield();
	}
	*wake |= we;
	return e < 0 ? -e : e;
}

static void *produce(void *arg)
{
	struct run *r = arg;
	uint32_t i = 0;

	while (i < r->n && !r->err) {
		uint32_t n = 1 + (i * 2654435761u >> 20) % 64;
		bool wake = false;

		for (uint32_t j = 0; j < n && i < r->n && !r->err; j++)
			r->err = push_one(r, i++, &wake);
		signal_consumer(r, &wake);
		r->st.batches++;
	}
	return NULL;
}

static int consume(struct run *r)
{
	uint32_t next = 0;
	int e;

	while (next < r->n) {
		struct pollfd p = {.fd = r->fd, .events = POLLIN};
		if (poll(&p, 1, 5000) != 1) {
			fprintf(stderr, "  no wake-up after item %u\n", next);
			return ETIMEDOUT;
		}
		ring_wake_drain(r->fd);
		r->st.wakeups++;
		while (!(e = r->ops->pop(r->ring, next, r->st.wakeups)))
			next++;
		if (e != -EAGAIN) {
			fprintf(stderr, "  item %u: bad\n", next);
			return EBADMSG;
		}
	}
	return 0;
}

int spsc_run(void *ring, const struct spsc_ops *ops, uint32_t n, struct spsc_stats *st)
{
	struct run r = {.ring = ring, .ops = ops, .n = n};
	pthread_t t;
	int err;

	atomic_init(&r.stop, false);
	r.fd = ring_wake_fd();
	if (r.fd < 0)
		return -r.fd;
	err = pthread_create(&t, NULL, produce, &r);
	if (!err) {
		err = consume(&r);
		atomic_store(&r.stop, true);
		pthread_join(t, NULL);
	}
	close(r.fd);
	if (getenv("RX_TEST_VERBOSE"))
		fprintf(stderr, "  %u items in %u batches, %u signals, %u wake-ups, %u pushes "
			"found it full\n", n, r.st.batches, r.st.signals, r.st.wakeups, r.st.full);
	*st = r.st;
	if (err || r.err)
		return err ? err : r.err;
	if (!r.st.signals || r.st.signals > r.st.batches + r.st.full ||
	    r.st.wakeups > r.st.signals) {
		fprintf(stderr, "  signals or wake-ups out of bounds\n");
		return EPROTO;
	}
	return 0;
}
