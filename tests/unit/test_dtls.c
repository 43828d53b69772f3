/* Tests for media/dtls.c: two endpoints in one process, wired back to back
 * through their send handlers (datagrams are queued and delivered in a
 * loop).  Handshakes in both profiles, lost flights and retransmission, who
 * speaks first, fingerprint checks, garbage, close_notify, and SRTP with the
 * exported keys.
 *
 * With RX_DTLS_SEED_OUT=DIR, test_dtls_handshake writes the active side's
 * flights there as fuzz seeds (see test-vectors/dtls/README.md). */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include "buf.h"
#include "dtls.h"
#include "mem.h"
#include "srtp.h"
#include "test.h"

/* Like TEST_ASSERT and TEST_EQ, but through "out" so that nothing leaks
 * when --oom makes a step fail. */
#define CHECK(c) TEST_ERR((c) ? 0 : EBADMSG)
#define CHECK_EQ(a, b) do { long long a_ = (long long)(a), b_ = (long long)(b); \
	if (a_ != b_) { char m_[200]; \
		snprintf(m_, sizeof(m_), "%s == %s (%lld != %lld)", #a, #b, a_, b_); \
		test_fail(__FILE__, __LINE__, m_); err = EBADMSG; goto out; } } while (0)

#define QMAX 64
#define DMAX 1500

struct dgram {
	size_t len;
	uint8_t data[DMAX];
};

struct end {
	struct mdtls *d;
	struct end *peer;
	struct dgram q[QMAX];     /* sent, not yet delivered */
	size_t nq;
	size_t sent;              /* datagrams sent in all */
	size_t biggest;
	size_t drop;              /* drop this many of the next datagrams */
	int done;                 /* done handler calls */
	int err;
	bool free_in_done;
	struct mdtls_keys keys;
	struct dgram *log;        /* optional record of everything sent */
	size_t nlog;
};

static struct end ends[2];   /* too big for the stack under ASan */

static void on_send(const uint8_t *pkt, size_t len, void *arg)
{
	struct end *e = arg;

	e->sent++;
	if (len > e->biggest)
		e->biggest = len;
	if (e->log && e->nlog < QMAX && len <= DMAX) {
		e->log[e->nlog].len = len;
		memcpy(e->log[e->nlog++].data, pkt, len);
	}
	if (e->drop) {
		e->drop--;
		return;
	}
	if (e->nq < QMAX && len <= DMAX) {
		e->q[e->nq].len = len;
		memcpy(e->q[e->nq++].data, pkt, len);
	}
}

static void on_done(int err, const struct mdtls_keys *keys, void *arg)
{
	struct end *e = arg;

	e->done++;
	e->err = err;
	if (keys)
		e->keys = *keys;
	if (e->free_in_done)
		e->d = mem_deref(e->d);
}

/* Deliver everything queued, both ways, until nothing moves. */
static void pump(struct end *a, struct end *b)
{
	static struct dgram batch[QMAX];

	for (int round = 0; round < 50 && (a->nq || b->nq); round++) {
		for (int side = 0; side < 2; side++) {
			struct end *from = side ? b : a, *to = from->peer;
			size_t n = from->nq;

			memcpy(batch, from->q, n * sizeof(batch[0]));
			from->nq = 0;
			for (size_t i = 0; i < n && to->d; i++)
				mdtls_recv(to->d, batch[i].data, batch[i].len);
		}
	}
}

static struct end *setup(void)
{
	memset(ends, 0, sizeof(ends));
	ends[0].peer = &ends[1];
	ends[1].peer = &ends[0];
	return ends;
}

/* Alice active, Bob passive, each knowing the other's fingerprint. */
static int make_pair(struct end *e, struct mdtls_cert *ca, struct mdtls_cert *cb)
{
	char fa[MDTLS_FP_SIZE], fb[MDTLS_FP_SIZE];
	int err;

	mdtls_cert_fingerprint(ca, fa);
	mdtls_cert_fingerprint(cb, fb);
	err = mdtls_alloc(&e[0].d, ca, MDTLS_ACTIVE, fb, on_send, on_done, &e[0]);
	if (!err)
		err = mdtls_alloc(&e[1].d, cb, MDTLS_PASSIVE, fa, on_send, on_done, &e[1]);
	return err;
}

static void free_pair(struct end *e)
{
	e[0].d = mem_deref(e[0].d);
	e[1].d = mem_deref(e[1].d);
}

static int check_keys(struct end *e, enum msrtp_profile prof)
{
	TEST_EQ(e[0].done, 1);
	TEST_EQ(e[1].done, 1);
	TEST_EQ(e[0].err, 0);
	TEST_EQ(e[1].err, 0);
	TEST_EQ(e[0].keys.profile, prof);
	TEST_EQ(e[1].keys.profile, prof);
	TEST_MEMEQ(e[0].keys.tx, sizeof(e[0].keys.tx), e[1].keys.rx, sizeof(e[1].keys.rx));
	TEST_MEMEQ(e[0].keys.rx, sizeof(e[0].keys.rx), e[1].keys.tx, sizeof(e[1].keys.tx));
	TEST_ASSERT(memcmp(e[0].keys.tx, e[0].keys.rx, MSRTP_KEY_SALT_LEN));
	TEST_ASSERT(mdtls_established(e[0].d) && mdtls_established(e[1].d));
	TEST_ASSERT(e[0].biggest <= MDTLS_MTU && e[1].biggest <= MDTLS_MTU);
	return 0;
}

/* One RTP packet each way through msrtp sessions keyed by the handshake. */
static int srtp_both_ways(struct end *e)
{
	struct msrtp *s[2] = {NULL, NULL};
	int err;

	TEST_ERR(msrtp_init());
	for (int i = 0; i < 2; i++)
		TEST_ERR(msrtp_alloc(&s[i], e[i].keys.profile, e[i].keys.tx, e[i].keys.rx));
	for (int i = 0; i < 2; i++) {
		uint8_t pkt[12 + 20 + MSRTP_MAX_TRAILER] = {0x80, 0x60, 0x00, (uint8_t)i};
		size_t len = 32;

		memset(pkt + 12, 0xa0 + i, 20);
		TEST_ERR(msrtp_protect(s[i], pkt, &len, sizeof(pkt)));
		TEST_ERR(msrtp_unprotect(s[!i], pkt, &len));
		CHECK_EQ(len, 32);
		CHECK_EQ(pkt[12], 0xa0 + i);
	}
out:
	mem_deref(s[0]);
	mem_deref(s[1]);
	return err;
}

static void save_seed(const char *dir, const char *name, const struct dgram *g, size_t n)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f)
		return;
	fputc(0, f);   /* fuzz_dtls: 0 selects the DTLS part */
	for (size_t i = 0; i < n; i++) {
		fputc((int)(g[i].len >> 8), f);
		fputc((int)(g[i].len & 0xff), f);
		fwrite(g[i].data, 1, g[i].len, f);
	}
	fclose(f);
}

int test_dtls_handshake(void)
{
	static struct dgram log[QMAX];
	const char *seeds = getenv("RX_DTLS_SEED_OUT");
	struct mdtls_cert *ca = NULL, *cb = NULL;
	struct end *e = setup();
	size_t first;
	int err;

	e[0].log = log;
	TEST_ERR(mdtls_cert_generate(&ca));
	TEST_ERR(mdtls_cert_generate(&cb));
	TEST_ERR(make_pair(e, ca, cb));
	TEST_ERR(mdtls_start(e[1].d));
	CHECK_EQ(e[1].sent, 0);          /* passive: nothing until spoken to */
	TEST_ERR(mdtls_start(e[0].d));
	CHECK(e[0].sent >= 1);    /* active: the ClientHello, right away */
	CHECK_EQ(e[0].q[0].data[0], 22); /* a handshake record ... */
	CHECK_EQ(e[0].q[0].data[13], 1); /* ... holding a ClientHello */
	CHECK_EQ(e[1].sent, 0);
	first = e[0].nlog;
	pump(&e[0], &e[1]);
	TEST_ERR(check_keys(e, MSRTP_AES_CM_128_HMAC_SHA1_80));
	TEST_ERR(srtp_both_ways(e));
	CHECK_EQ(mdtls_stats(e[0].d)->timeouts + mdtls_stats(e[1].d)->timeouts, 0);
	if (seeds) {
		save_seed(seeds, "clienthello.bin", log, first);
		save_seed(seeds, "client-flights.bin", log, e[0].nlog);
	}
out:
	free_pair(e);
	mem_deref(ca);
	mem_deref(cb);
	return err;
}

int test_dtls_profiles(void)
{
	static const struct { unsigned a, b; enum msrtp_profile want; } cases[] = {
		{MDTLS_PROFILES_ALL, MDTLS_PROFILE_BIT(MSRTP_AES_CM_128_HMAC_SHA1_32),
		 MSRTP_AES_CM_128_HMAC_SHA1_32},
		{MDTLS_PROFILE_BIT(MSRTP_AES_CM_128_HMAC_SHA1_32), MDTLS_PROFILES_ALL,
		 MSRTP_AES_CM_128_HMAC_SHA1_32},
		{MDTLS_PROFILE_BIT(MSRTP_AES_CM_128_HMAC_SHA1_80), MDTLS_PROFILES_ALL,
		 MSRTP_AES_CM_128_HMAC_SHA1_80},
	};
	struct mdtls_cert *c = NULL;
	struct end *e = setup();
	int err;

	TEST_ERR(mdtls_cert_generate(&c));
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		e = setup();
		TEST_ERR(make_pair(e, c, c));
		TEST_ERR(mdtls_set_profiles(e[0].d, cases[i].a));
		TEST_ERR(mdtls_set_profiles(e[1].d, cases[i].b));
		TEST_ERR(mdtls_start(e[0].d));
		pump(&e[0], &e[1]);
		TEST_ERR(check_keys(e, cases[i].want));
		TEST_ERR(srtp_both_ways(e));
		free_pair(e);
	}
	/* No profile in common: the handshake fails on both sides. */
	e = setup();
	TEST_ERR(make_pair(e, c, c));
	TEST_ERR(mdtls_set_profiles(e[0].d, MDTLS_PROFILE_BIT(MSRTP_AES_CM_128_HMAC_SHA1_32)));
	TEST_ERR(mdtls_set_profiles(e[1].d, MDTLS_PROFILE_BIT(MSRTP_AES_CM_128_HMAC_SHA1_80)));
	TEST_ERR(mdtls_start(e[0].d));
	pump(&e[0], &e[1]);
	CHECK_EQ(e[0].err, -EPROTO);
	CHECK_EQ(e[0].done, 1);
	CHECK(!mdtls_established(e[1].d));
out:
	free_pair(e);
	mem_deref(c);
	return err;
}

static void wait_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	if (ms > 0)
		nanosleep(&ts, NULL);
}

/* Drop the first flight of one side; the timers bring it back. */
static int lossy(struct mdtls_cert *c, int loser)
{
	struct end *e = setup();
	int err, spins = 0;

	TEST_ERR(make_pair(e, c, c));
	mdtls_set_retransmit_ms(e[0].d, 30);
	mdtls_set_retransmit_ms(e[1].d, 30);
	e[loser].drop = loser ? QMAX : 1;   /* the whole server flight, or the ClientHello */
	TEST_ERR(mdtls_start(e[0].d));
	while ((e[0].done < 1 || e[1].done < 1) && spins++ < 20) {
		pump(&e[0], &e[1]);
		e[loser].drop = 0;
		for (int i = 0; i < 2; i++) {
			int t = mdtls_timeout_ms(e[i].d);
			if (t < 0)
				continue;
			wait_ms(t);
			mdtls_on_timeout(e[i].d);
		}
	}
	TEST_ERR(check_keys(e, MSRTP_AES_CM_128_HMAC_SHA1_80));
	CHECK(mdtls_stats(e[0].d)->timeouts >= 1);
	TEST_ERR(srtp_both_ways(e));
out:
	free_pair(e);
	return err;
}

int test_dtls_retransmit(void)
{
	struct mdtls_cert *c = NULL;
	int err;

	TEST_ERR(mdtls_cert_generate(&c));
	TEST_ERR(lossy(c, 0));
	TEST_ERR(lossy(c, 1));
out:
	mem_deref(c);
	return err;
}

int test_dtls_fingerprint_mismatch(void)
{
	struct mdtls_cert *ca = NULL, *cb = NULL, *cx = NULL;
	char fx[MDTLS_FP_SIZE], fa[MDTLS_FP_SIZE], fb[MDTLS_FP_SIZE];
	struct end *e = setup();
	int err;

	TEST_ERR(mdtls_cert_generate(&ca));
	TEST_ERR(mdtls_cert_generate(&cb));
	TEST_ERR(mdtls_cert_generate(&cx));
	mdtls_cert_fingerprint(ca, fa);
	mdtls_cert_fingerprint(cb, fb);
	mdtls_cert_fingerprint(cx, fx);
	/* Bob (passive) expects another certificate than Alice's. */
	TEST_ERR(mdtls_alloc(&e[0].d, ca, MDTLS_ACTIVE, fb, on_send, on_done, &e[0]));
	TEST_ERR(mdtls_alloc(&e[1].d, cb, MDTLS_PASSIVE, fx, on_send, on_done, &e[1]));
	TEST_ERR(mdtls_start(e[0].d));
	pump(&e[0], &e[1]);
	CHECK_EQ(e[1].done, 1);
	CHECK_EQ(e[1].err, -EACCES);
	CHECK(!mdtls_established(e[1].d));
	CHECK_EQ(e[0].err, 0);   /* Alice's check of Bob passed */
	free_pair(e);

	/* Alice (active) expects another certificate than Bob's. */
	e = setup();
	TEST_ERR(mdtls_alloc(&e[0].d, ca, MDTLS_ACTIVE, fx, on_send, on_done, &e[0]));
	TEST_ERR(mdtls_alloc(&e[1].d, cb, MDTLS_PASSIVE, fa, on_send, on_done, &e[1]));
	TEST_ERR(mdtls_start(e[0].d));
	pump(&e[0], &e[1]);
	CHECK_EQ(e[0].done, 1);
	CHECK_EQ(e[0].err, -EACCES);
	CHECK(!mdtls_established(e[0].d));
	free_pair(e);

	/* The fingerprint arrives after the handshake: the result waits for it. */
	e = setup();
	TEST_ERR(mdtls_alloc(&e[0].d, ca, MDTLS_ACTIVE, fb, on_send, on_done, &e[0]));
	TEST_ERR(mdtls_alloc(&e[1].d, cb, MDTLS_PASSIVE, NULL, on_send, on_done, &e[1]));
	TEST_ERR(mdtls_start(e[0].d));
	pump(&e[0], &e[1]);
	CHECK_EQ(e[0].done, 1);
	CHECK_EQ(e[1].done, 0);
	TEST_ERR(mdtls_set_remote_fingerprint(e[1].d, fa));
	TEST_ERR(check_keys(e, MSRTP_AES_CM_128_HMAC_SHA1_80));
	CHECK_EQ(mdtls_set_remote_fingerprint(e[1].d, fa), -EALREADY);
	free_pair(e);

	/* ... and a wrong one given late fails just the same; lowercase is fine. */
	e = setup();
	for (char *p = fx; *p; p++)
		*p = (char)(*p >= 'A' && *p <= 'F' ? *p + 32 : *p);
	TEST_ERR(mdtls_alloc(&e[0].d, ca, MDTLS_ACTIVE, fb, on_send, on_done, &e[0]));
	TEST_ERR(mdtls_alloc(&e[1].d, cb, MDTLS_PASSIVE, NULL, on_send, on_done, &e[1]));
	TEST_ERR(mdtls_start(e[0].d));
	pump(&e[0], &e[1]);
	TEST_ERR(mdtls_set_remote_fingerprint(e[1].d, fx));
	CHECK_EQ(e[1].done, 1);
	CHECK_EQ(e[1].err, -EACCES);
out:
	free_pair(e);
	mem_deref(ca);
	mem_deref(cb);
	mem_deref(cx);
	return err;
}

int test_dtls_garbage(void)
{
	static uint8_t big[MDTLS_MAX_DGRAM + 1];
	const uint8_t rtp[20] = {0x80, 0x00, 0x00, 0x01};
	const uint8_t tls13[20] = {22, 0x03, 0x03, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7};
	const uint8_t alien[16] = {99, 0xfe, 0xfd};
	struct mdtls_cert *c = NULL;
	struct end *e = setup();
	struct dgram ch;
	const struct mdtls_stats *st;
	int err;

	TEST_ERR(mdtls_cert_generate(&c));
	TEST_ERR(make_pair(e, c, c));
	TEST_ERR(mdtls_start(e[0].d));
	CHECK(e[0].nq >= 1);
	ch = e[0].q[0];
	/* Before the real ClientHello reaches Bob. */
	big[0] = 22;
	big[1] = 0xfe;
	CHECK_EQ(mdtls_recv(e[1].d, big, sizeof(big)), -EBADMSG);
	CHECK_EQ(mdtls_recv(e[1].d, rtp, sizeof(rtp)), -EBADMSG);
	CHECK_EQ(mdtls_recv(e[1].d, tls13, sizeof(tls13)), -EBADMSG);
	CHECK_EQ(mdtls_recv(e[1].d, alien, sizeof(alien)), -EBADMSG);
	CHECK_EQ(mdtls_recv(e[1].d, ch.data, ch.len / 2), -EBADMSG);
	CHECK_EQ(mdtls_recv(e[1].d, ch.data, 5), -EBADMSG);
	CHECK_EQ(mdtls_recv(e[1].d, ch.data, 0), -EBADMSG);
	st = mdtls_stats(e[1].d);
	CHECK_EQ(st->oversized, 1);
	CHECK_EQ(st->not_dtls, 4);
	CHECK_EQ(st->truncated, 2);
	CHECK_EQ(st->rx, 0);
	CHECK_EQ(e[1].sent, 0);
	pump(&e[0], &e[1]);
	TEST_ERR(check_keys(e, MSRTP_AES_CM_128_HMAC_SHA1_80));
	/* After: a replayed ClientHello and the same junk change nothing. */
	CHECK_EQ(mdtls_recv(e[1].d, ch.data, ch.len), 0);
	CHECK_EQ(mdtls_recv(e[0].d, ch.data, ch.len / 2), -EBADMSG);
	pump(&e[0], &e[1]);
	CHECK(mdtls_established(e[0].d) && mdtls_established(e[1].d));
	CHECK_EQ(e[0].done + e[1].done, 2);
	TEST_ERR(srtp_both_ways(e));
out:
	free_pair(e);
	mem_deref(c);
	return err;
}

int test_dtls_close(void)
{
	struct mdtls_cert *c = NULL;
	struct end *e = setup();
	int err;

	TEST_ERR(mdtls_cert_generate(&c));
	TEST_ERR(make_pair(e, c, c));
	TEST_ERR(mdtls_start(e[0].d));
	pump(&e[0], &e[1]);
	TEST_ERR(check_keys(e, MSRTP_AES_CM_128_HMAC_SHA1_80));
	mdtls_close(e[0].d);
	CHECK_EQ(e[0].nq, 1);   /* close_notify */
	pump(&e[0], &e[1]);
	CHECK_EQ(e[1].done, 2);
	CHECK_EQ(e[1].err, -ECONNRESET);
	CHECK_EQ(e[0].done, 1);   /* no report for our own close */
	CHECK(!mdtls_established(e[1].d));
	CHECK_EQ(mdtls_timeout_ms(e[1].d), -1);
	/* Anything later is counted and dropped. */
	e[0].q[0].data[0] = 23;
	CHECK_EQ(mdtls_recv(e[1].d, e[0].q[0].data, e[0].q[0].len), -EBADMSG);
	CHECK_EQ(mdtls_stats(e[1].d)->late, 1);
	free_pair(e);

	/* The passive side frees itself in its done handler. */
	e = setup();
	TEST_ERR(make_pair(e, c, c));
	e[1].free_in_done = true;
	TEST_ERR(mdtls_start(e[0].d));
	pump(&e[0], &e[1]);
	CHECK_EQ(e[1].done, 1);
	CHECK_EQ(e[1].err, 0);
	CHECK(!e[1].d);
	/* The peer gives up through its timers only; the first try does nothing. */
	mdtls_close(e[0].d);
	CHECK_EQ(e[0].done, 1);
out:
	free_pair(e);
	mem_deref(c);
	return err;
}

/* A PEM pair written with OpenSSL here, loaded, and its fingerprint. */
static int write_pem(const char *cpath, const char *kpath, char want[MDTLS_FP_SIZE])
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	uint8_t md[32];
	unsigned n = 0;
	FILE *fc = fopen(cpath, "w"), *fk = fopen(kpath, "w");
	int ok = key && x && fc && fk && X509_set_version(x, 2) &&
		X509_gmtime_adj(X509_getm_notBefore(x), 0) &&
		X509_gmtime_adj(X509_getm_notAfter(x), 3600) && X509_set_pubkey(x, key) &&
		X509_sign(x, key, EVP_sha256()) && PEM_write_X509(fc, x) &&
		PEM_write_PrivateKey(fk, key, NULL, NULL, 0, NULL, NULL) &&
		X509_digest(x, EVP_sha256(), md, &n) && n == 32;

	for (unsigned i = 0; ok && i < n; i++)
		snprintf(want + 3 * i, 4, i + 1 < n ? "%02X:" : "%02X", md[i]);
	if (fc)
		fclose(fc);
	if (fk)
		fclose(fk);
	X509_free(x);
	EVP_PKEY_free(key);
	return ok ? 0 : EIO;
}

int test_dtls_cert(void)
{
	char dir[] = "/tmp/rxtest-dtls-XXXXXX", cp[64], kp[64], kp2[64], want[MDTLS_FP_SIZE];
	char fp[MDTLS_FP_SIZE], fp2[MDTLS_FP_SIZE], other[MDTLS_FP_SIZE];
	struct mdtls_cert *c = NULL, *c2 = NULL;
	struct mdtls *d = NULL;
	int err;

	CHECK(mkdtemp(dir));
	snprintf(cp, sizeof(cp), "%s/cert.pem", dir);
	snprintf(kp, sizeof(kp), "%s/key.pem", dir);
	snprintf(kp2, sizeof(kp2), "%s/key2.pem", dir);
	TEST_ERR(write_pem(kp2, kp2, other));   /* any other key */
	TEST_ERR(write_pem(cp, kp, want));
	TEST_ERR(mdtls_cert_load(&c, cp, kp));
	mdtls_cert_fingerprint(c, fp);
	CHECK(!strcmp(fp, want));
	CHECK_EQ(mdtls_cert_load(&c2, cp, kp2), -EINVAL);
	CHECK_EQ(mdtls_cert_load(&c2, "/nonexistent/cert.pem", kp), -EINVAL);
	CHECK(!c2);

	TEST_ERR(mdtls_cert_generate(&c2));
	mdtls_cert_fingerprint(c2, fp2);
	CHECK_EQ(strlen(fp2), 95);
	for (int i = 0; i < 95; i++)
		CHECK(i % 3 == 2 ? fp2[i] == ':' : !!strchr("0123456789ABCDEF", fp2[i]));
	CHECK(strcmp(fp, fp2));

	/* Fingerprint strings: by length sha-1 .. sha-512; anything else refused. */
	TEST_ERR(mdtls_alloc(&d, c, MDTLS_PASSIVE, NULL, on_send, on_done, &ends[0]));
	CHECK_EQ(mdtls_set_remote_fingerprint(d, fp2), 0);
	CHECK_EQ(mdtls_set_remote_fingerprint(d, "AB:CD"), -EINVAL);
	CHECK_EQ(mdtls_set_remote_fingerprint(d, ""), -EINVAL);
	fp2[0] = 'G';
	CHECK_EQ(mdtls_set_remote_fingerprint(d, fp2), -EINVAL);
	fp2[0] = 'A';
	fp2[2] = '-';
	CHECK_EQ(mdtls_set_remote_fingerprint(d, fp2), -EINVAL);
	fp2[2] = ':';
	fp2[59] = '\0';   /* 20 bytes: sha-1 */
	CHECK_EQ(mdtls_set_remote_fingerprint(d, fp2), 0);
	CHECK_EQ(mdtls_set_profiles(d, 0), -EINVAL);
	CHECK_EQ(mdtls_set_profiles(d, 4), -EINVAL);
	TEST_ERR(mdtls_start(d));
	CHECK_EQ(mdtls_set_profiles(d, MDTLS_PROFILES_ALL), -EALREADY);
	CHECK_EQ(mdtls_timeout_ms(d), -1);   /* passive: no timer before a hello */
	CHECK_EQ(mdtls_alloc(&d, c, (enum mdtls_role)5, NULL, NULL, NULL, NULL), -EINVAL);
	CHECK_EQ(mdtls_alloc(&d, c, MDTLS_ACTIVE, "zz", NULL, NULL, NULL), -EINVAL);
out:
	mem_deref(d);
	mem_deref(c);
	mem_deref(c2);
	remove(cp);
	remove(kp);
	remove(kp2);
	rmdir(dir);
	return err;
}
