/* srtp_bench: what protect + unprotect of one Speex RTP packet costs on
 * each msrtp backend (media/srtp.h), on one thread and on two at once.
 *
 * Each thread has CALLS pairs of sessions (a sender and the receiver of
 * its key) and sends them packets in turn: 12-byte header, 75-byte payload
 * (Speex wideband q8, 20 ms).  Packets go in batches of 256: all protected
 * (timed), then all unprotected (timed), so that each timer brackets
 * nothing but SRTP calls.  Each thread prints ns per packet for each half
 * and their sum in wall time (CLOCK_MONOTONIC: shows waiting on a lock,
 * and also time taken by other processes), the sum in its CPU time
 * (CLOCK_THREAD_CPUTIME_ID: not disturbed by other load, but a thread
 * asleep on a lock costs nothing), and malloc calls per packet (counted by
 * interposing malloc; not under ASan).  Threads start together on a
 * barrier, so that with two any contention inside the backend shows.
 *
 * Not a test: see README.md.  Usage:
 *   srtp_bench [-n PACKETS per thread] [-c CALLS per thread] [-t 1,2] [-b openssl|libsrtp|both] */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "buf.h"
#include "mem.h"
#include "srtp_int.h"
#include "../malloc_count.h"   /* OpenSSL's, NSS's and libsrtp's too */

#define BATCH 256
#define PAYLOAD 75
#define PKT (12 + PAYLOAD)
#define MAXTH 8

struct th {
	enum msrtp_backend b;
	pthread_t t;
	struct msrtp **tx, **rx;
	uint16_t *seq;
	uint64_t prot_ns, unprot_ns, cpu_ns, allocs, n;
	int err;
};

static unsigned npackets = 1000000, ncalls = 100;
static pthread_barrier_t barrier;
static uint8_t payload[PAYLOAD];

static uint64_t now_ns(clockid_t clk)
{
	struct timespec t;

	clock_gettime(clk, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static int setup(struct th *t)
{
	uint8_t k1[MSRTP_KEY_SALT_LEN], k2[MSRTP_KEY_SALT_LEN];
	char params[MSRTP_SDES_SIZE];
	int err = 0;

	t->tx = mem_zalloc(ncalls * sizeof(*t->tx), NULL);
	t->rx = mem_zalloc(ncalls * sizeof(*t->rx), NULL);
	t->seq = mem_zalloc(ncalls * sizeof(*t->seq), NULL);
	if (!t->tx || !t->rx || !t->seq)
		return -ENOMEM;
	for (unsigned c = 0; c < ncalls && !err; c++) {
		err = msrtp_sdes_generate(k1, params);
		if (!err)
			err = msrtp_sdes_generate(k2, params);
		if (!err)
			err = msrtp_alloc_on(&t->tx[c], t->b, MSRTP_AES_CM_128_HMAC_SHA1_80, k1, k2);
		if (!err)
			err = msrtp_alloc_on(&t->rx[c], t->b, MSRTP_AES_CM_128_HMAC_SHA1_80, k2, k1);
		t->seq[c] = (uint16_t)(c * 977);
	}
	return err;
}

static void teardown(struct th *t)
{
	for (unsigned c = 0; t->tx && c < ncalls; c++) {
		mem_deref(t->tx[c]);
		mem_deref(t->rx[c]);
	}
	t->tx = mem_deref(t->tx);
	t->rx = mem_deref(t->rx);
	t->seq = mem_deref(t->seq);
}

/* One batch: make the packets, protect them all, unprotect them all. */
static int batch(struct th *t, unsigned first, uint8_t (*pkt)[PKT + MSRTP_MAX_TRAILER],
		 size_t *len)
{
	uint64_t t0, t1, t2, c0, a0;
	int err = 0;

	for (unsigned i = 0; i < BATCH; i++) {
		unsigned c = (first + i) % ncalls;

		pkt[i][0] = 0x80;
		pkt[i][1] = 97;
		put_be16(pkt[i] + 2, t->seq[c]++);
		put_be32(pkt[i] + 4, 320u * t->seq[c]);
		put_be32(pkt[i] + 8, 0x10000u + c);
		memcpy(pkt[i] + 12, payload, PAYLOAD);
		len[i] = PKT;
	}
	a0 = tl_allocs;
	c0 = now_ns(CLOCK_THREAD_CPUTIME_ID);
	t0 = now_ns(CLOCK_MONOTONIC);
	for (unsigned i = 0; i < BATCH && !err; i++)
		err = msrtp_protect(t->tx[(first + i) % ncalls], pkt[i], &len[i],
				    PKT + MSRTP_MAX_TRAILER);
	t1 = now_ns(CLOCK_MONOTONIC);
	for (unsigned i = 0; i < BATCH && !err; i++)
		err = msrtp_unprotect(t->rx[(first + i) % ncalls], pkt[i], &len[i]);
	t2 = now_ns(CLOCK_MONOTONIC);
	t->cpu_ns += now_ns(CLOCK_THREAD_CPUTIME_ID) - c0;
	t->allocs += tl_allocs - a0;
	t->prot_ns += t1 - t0;
	t->unprot_ns += t2 - t1;
	t->n += BATCH;
	if (!err && (len[BATCH - 1] != PKT || memcmp(pkt[BATCH - 1] + 12, payload, PAYLOAD)))
		err = -EBADMSG;
	return err;
}

static void *run(void *arg)
{
	static __thread uint8_t pkt[BATCH][PKT + MSRTP_MAX_TRAILER];
	static __thread size_t len[BATCH];
	struct th *t = arg;

	t->err = setup(t);
	pthread_barrier_wait(&barrier);
	for (unsigned first = 0; !t->err && t->n < npackets; first += BATCH)
		t->err = batch(t, first, pkt, len);
	teardown(t);
	return NULL;
}

static int measure(enum msrtp_backend b, unsigned nth)
{
	struct th th[MAXTH];
	double sum = 0;

	memset(th, 0, sizeof(th));
	pthread_barrier_init(&barrier, NULL, nth);
	for (unsigned i = 0; i < nth; i++) {
		th[i].b = b;
		pthread_create(&th[i].t, NULL, run, &th[i]);
	}
	for (unsigned i = 0; i < nth; i++)
		pthread_join(th[i].t, NULL);
	pthread_barrier_destroy(&barrier);
	for (unsigned i = 0; i < nth; i++) {
		double p = (double)th[i].prot_ns / (double)th[i].n;
		double u = (double)th[i].unprot_ns / (double)th[i].n;

		if (th[i].err) {
			fprintf(stderr, "srtp_bench: %s: %s\n", msrtp_backend_name(b),
				strerror(abs(th[i].err)));
			return th[i].err;
		}
		printf("%-8s  %7u  %6u  %6u  %7.0f  %9.0f  %7.0f  %7.0f  %11.2f\n",
		       msrtp_backend_name(b), nth, i + 1, ncalls, p, u, p + u,
		       (double)th[i].cpu_ns / (double)th[i].n, (double)th[i].allocs / (double)th[i].n);
		sum += 1e9 / (p + u);
	}
	printf("%-8s  %7u  %6s  %6u  total %.0f packets/s (protect + unprotect)\n",
	       msrtp_backend_name(b), nth, "all", ncalls, sum);
	return 0;
}

int main(int argc, char **argv)
{
	char threads[64] = "1,2", which[16] = "both";
	int opt, err = 0;

	while ((opt = getopt(argc, argv, "n:c:t:b:")) != -1) {
		switch (opt) {
		case 'n': npackets = (unsigned)atoi(optarg); break;
		case 'c': ncalls = (unsigned)atoi(optarg); break;
		case 't': snprintf(threads, sizeof(threads), "%s", optarg); break;
		case 'b': snprintf(which, sizeof(which), "%s", optarg); break;
		default:
			fprintf(stderr, "usage: %s [-n PACKETS] [-c CALLS] [-t 1,2] "
				"[-b openssl|libsrtp|both]\n", argv[0]);
			return 2;
		}
	}
	if (!npackets || !ncalls || msrtp_init()) {
		fprintf(stderr, "srtp_bench: bad -n or -c, or msrtp_init failed\n");
		return 1;
	}
	for (unsigned i = 0; i < PAYLOAD; i++)
		payload[i] = (uint8_t)(i * 37 + 11);
	printf("# %u packets per thread, %u calls per thread, %d-byte payload, "
	       "AES_CM_128_HMAC_SHA1_80; ns per packet\n", npackets, ncalls, PAYLOAD);
	printf("#                                   wall time (ns)           cpu (ns)\n");
	printf("# backend  threads  thread   calls  protect  unprotect      sum      sum  mallocs/pkt\n");
	for (int b = MSRTP_OPENSSL; b <= MSRTP_LIBSRTP && !err; b++) {
		if (strcmp(which, "both") && strcmp(which, msrtp_backend_name(b)))
			continue;
		for (char *s = threads; *s && !err; s += strcspn(s, ","), s += *s == ',') {
			unsigned n = (unsigned)atoi(s);

			if (n < 1 || n > MAXTH) {
				fprintf(stderr, "srtp_bench: threads are 1 to %d\n", MAXTH);
				return 2;
			}
			err = measure((enum msrtp_backend)b, n);
		}
	}
	return err ? 1 : 0;
}
