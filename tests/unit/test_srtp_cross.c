/* The two SRTP backends against each other (media/srtp_ossl.c and
 * srtp_libsrtp.c).  With random keys, both protect the same packets into
 * the same bytes, and each unprotects what the other protected with the
 * same verdict, over a script that wraps the sequence number, reorders,
 * replays, flips bits, arrives far too late and changes SSRC, for SRTP and
 * SRTCP in both profiles; then over random traffic.  Also the OpenSSL
 * backend's index estimate, replay window and SSRC table on their own. */
#include <string.h>
#include "buf.h"
#include "mem.h"
#include "srtp_int.h"
#include "test.h"

#define NB 2                                  /* MSRTP_OPENSSL, MSRTP_LIBSRTP */
#define CAP (12 + 200 + MSRTP_MAX_TRAILER)

/* One way: a sender and a receiver per backend, all on one key. */
struct leg {
	struct msrtp *tx[NB], *rx[NB];
};

struct pkt {
	uint8_t plain[CAP], prot[CAP];
	size_t plen, len;
	bool rtcp;
	int verdict;      /* of protect */
};

#define ANY 1         /* seal(): any verdict, as long as both give it */

static uint64_t rnd_state;

static uint32_t rnd(void)
{
	rnd_state ^= rnd_state << 13;   /* xorshift64: the same run every time */
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return (uint32_t)(rnd_state >> 16);
}

static int fail(int line, const char *what, int b, long long got, long long want)
{
	char m[200];

	snprintf(m, sizeof(m), "%s on %s: %lld, want %lld", what, msrtp_backend_name(b), got, want);
	test_fail(__FILE__, line, m);
	return EBADMSG;
}

static void leg_free(struct leg *l)
{
	for (int b = 0; b < NB; b++) {
		l->tx[b] = mem_deref(l->tx[b]);
		l->rx[b] = mem_deref(l->rx[b]);
	}
}

static int leg_alloc(struct leg *l, enum msrtp_profile prof)
{
	uint8_t key[MSRTP_KEY_SALT_LEN], other[MSRTP_KEY_SALT_LEN];
	char params[MSRTP_SDES_SIZE];
	int err = -msrtp_init();

	memset(l, 0, sizeof(*l));
	if (!err)
		err = -msrtp_sdes_generate(key, params);
	if (!err)
		err = -msrtp_sdes_generate(other, params);
	for (int b = 0; b < NB && !err; b++) {
		err = -msrtp_alloc_on(&l->tx[b], b, prof, key, other);
		if (!err)
			err = -msrtp_alloc_on(&l->rx[b], b, prof, other, key);
	}
	if (err)
		leg_free(l);
	return err;
}

static void make(struct pkt *p, bool rtcp, uint32_t ssrc, uint16_t seq, size_t payload)
{
	uint8_t *d = p->plain;

	p->rtcp = rtcp;
	if (rtcp) {   /* a receiver report, the payload as its report blocks */
		payload -= payload % 4;
		d[0] = 0x80 | (uint8_t)(payload / 24);
		d[1] = 201;
		put_be16(d + 2, (uint16_t)(1 + payload / 4));
		put_be32(d + 4, ssrc);
		p->plen = 8 + payload;
	} else {
		d[0] = 0x80;
		d[1] = 97;
		put_be16(d + 2, seq);
		put_be32(d + 4, 320u * seq);
		put_be32(d + 8, ssrc);
		p->plen = 12 + payload;
	}
	for (size_t i = p->plen - payload; i < p->plen; i++)
		d[i] = (uint8_t)rnd();
}

static int protect(struct msrtp *s, struct pkt *p, uint8_t *out, size_t *len)
{
	memcpy(out, p->plain, p->plen);
	*len = p->plen;
	return p->rtcp ? msrtp_protect_rtcp(s, out, len, CAP) : msrtp_protect(s, out, len, CAP);
}

/* Both senders protect p: the same verdict (want, unless ANY) and, if 0,
 * the same bytes. */
static int seal(struct leg *l, struct pkt *p, int want)
{
	uint8_t other[CAP];
	size_t olen;
	int e1;

	p->verdict = protect(l->tx[0], p, p->prot, &p->len);
	e1 = protect(l->tx[1], p, other, &olen);
	if (e1 != p->verdict)
		return fail(__LINE__, "protect", 1, e1, p->verdict);
	if (want != ANY && p->verdict != want)
		return fail(__LINE__, "protect", 0, p->verdict, want);
	if (!p->verdict && test_memeq(__FILE__, __LINE__, p->prot, p->len, other, olen))
		return EBADMSG;
	return 0;
}

/* Each receiver unprotects what the senders made (the same bytes, so each
 * gets the other backend's packet), with bit "flip" (from the first
 * byte's top bit) inverted if >= 0.  want[b]: the verdict of backend b. */
static int deliver2(struct leg *l, const struct pkt *p, const int want[NB], int flip)
{
	for (int b = 0; b < NB; b++) {
		uint8_t buf[CAP];
		size_t len = p->len;
		int e;

		memcpy(buf, p->prot, len);
		if (flip >= 0)
			buf[flip / 8] ^= (uint8_t)(0x80 >> (flip % 8));
		e = p->rtcp ? msrtp_unprotect_rtcp(l->rx[b], buf, &len) :
			      msrtp_unprotect(l->rx[b], buf, &len);
		if (e != want[b])
			return fail(__LINE__, p->rtcp ? "unprotect_rtcp" : "unprotect", b, e, want[b]);
		if (!e && test_memeq(__FILE__, __LINE__, buf, len, p->plain, p->plen))
			return EBADMSG;
	}
	return 0;
}

static int deliver(struct leg *l, const struct pkt *p, int want, int flip)
{
	return deliver2(l, p, (const int[NB]){want, want}, flip);
}

#define NRTP 300
#define NRTCP 150
static struct pkt ps[NRTP], rs[NRTCP], extra;

/* The scripted sequence on one leg.  Packet i of ps has sequence number
 * 65500 + i (so i = 36 is the wrap to 0) and SSRC a, but for the SSRC b
 * ones at 240..249. */
static int script(struct leg *l)
{
	uint32_t a = rnd(), b = a ^ 0x5a5a5a5a;
	int err = 0;

	for (int i = 0; i < NRTP; i++) {
		bool alt = i >= 240 && i < 250;
		make(&ps[i], false, alt ? b : a, (uint16_t)(alt ? 30000 + i : 65500 + i),
		     (size_t)(i * 13) % 160);
		TEST_ERR(seal(l, &ps[i], 0));
	}
	/* A sender never uses an index twice. */
	extra = ps[5];
	TEST_ERR(seal(l, &extra, -EALREADY));
	for (int i = 0; i < 230; i++) {
		int j = i % 5 == 3 ? i + 1 : i % 5 == 4 ? i - 1 : i;   /* pairs swapped */

		if (j == 40 || j == 41)
			continue;   /* held back */
		TEST_ERR(deliver(l, &ps[j], 0, -1));
		if (i == 141)
			TEST_ERR(deliver(l, &ps[41], 0, -1));   /* 100 late: in the window */
	}
	TEST_ERR(deliver(l, &ps[40], -EALREADY, -1));   /* 188 late: too old */
	TEST_ERR(deliver(l, &ps[36], -EALREADY, -1));   /* replays, across the wrap */
	TEST_ERR(deliver(l, &ps[229], -EALREADY, -1));
	/* A flipped bit in the header, the payload or the tag; then the real one. */
	for (int bit = 9; bit < (int)ps[230].len * 8; bit += 61)
		TEST_ERR(deliver(l, &ps[230], -EACCES, bit));
	TEST_ERR(deliver(l, &ps[230], 0, -1));
	for (int i = 231; i < NRTP; i++)   /* SSRC b, then a again */
		TEST_ERR(deliver(l, &ps[i], 0, -1));
	TEST_ERR(deliver(l, &ps[245], -EALREADY, -1));
	/* A jump ahead by 30000 is taken.  32769 further is nearer behind, in
	 * the previous ROC, and far too old: both senders refuse it. */
	make(&extra, false, a, (uint16_t)(65500 + NRTP + 30000), 20);
	TEST_ERR(seal(l, &extra, 0));
	TEST_ERR(deliver(l, &extra, 0, -1));
	make(&extra, false, a, (uint16_t)(65500 + NRTP + 30000 + 32769), 20);
	TEST_ERR(seal(l, &extra, -EALREADY));

	/* SRTCP: indices from 1 per SSRC, the same window rules. */
	for (int i = 0; i < NRTCP; i++) {
		make(&rs[i], true, i == NRTCP - 1 ? b : a, 0, (size_t)(i * 7) % 100);
		TEST_ERR(seal(l, &rs[i], 0));
		if (be32(rs[i].prot + rs[i].plen) != (0x80000000u | (i == NRTCP - 1 ? 1u : i + 1u)))
			return fail(__LINE__, "SRTCP index", 0, be32(rs[i].prot + rs[i].plen), i + 1);
	}
	for (int i = 0; i < NRTCP; i++) {
		int j = i % 7 == 5 ? i + 1 : i % 7 == 6 ? i - 1 : i;

		if (j != 3 && j != 100)
			TEST_ERR(deliver(l, &rs[j], 0, -1));
	}
	TEST_ERR(deliver(l, &rs[3], -EALREADY, -1));   /* 145 late */
	TEST_ERR(deliver(l, &rs[100], 0, -1));         /* 48 late */
	TEST_ERR(deliver(l, &rs[20], -EALREADY, -1));
	TEST_ERR(deliver(l, &rs[NRTCP - 1], -EALREADY, -1));
	make(&extra, true, a, 0, 48);
	TEST_ERR(seal(l, &extra, 0));
	TEST_ERR(deliver(l, &extra, -EACCES, 77));
	TEST_ERR(deliver(l, &extra, -EACCES, (int)extra.len * 8 - 3));
	/* The E bit cleared: OpenSSL says -EBADMSG, libsrtp cant_check (-EIO). */
	TEST_ERR(deliver2(l, &extra, (const int[NB]){-EBADMSG, -EIO}, (int)(extra.len - 14) * 8));
	TEST_ERR(deliver(l, &extra, 0, -1));
out:
	return err;
}

int test_srtp_cross(void)
{
	struct leg l = {0};
	int err = 0;

	rnd_state = 0x9e3779b97f4a7c15ull;
	for (int prof = 0; prof < 2; prof++) {
		TEST_ERR(leg_alloc(&l, (enum msrtp_profile)prof));
		TEST_ERR(script(&l));
		leg_free(&l);
	}
out:
	leg_free(&l);
	return err;
}

/* Random traffic from 3 SSRCs: steps forward, back and far ahead,
 * packets sent again, altered, RTCP now and then.  Both senders and both
 * receivers must agree on every packet. */
int test_srtp_cross_random(void)
{
	static struct pkt sent[64];
	uint16_t seq[3] = {65000, 0, 40000};
	struct leg l = {0};
	int err = 0;

	rnd_state = 0x243f6a8885a308d3ull;
	memset(sent, 0, sizeof(sent));
	TEST_ERR(leg_alloc(&l, MSRTP_AES_CM_128_HMAC_SHA1_32));
	for (int i = 0; i < 4000; i++) {
		struct pkt *p = &sent[i % 64];
		uint32_t r = rnd(), k = r >> 22 & 15, s = r % 3;
		int flip = r >> 8 & 1 ? (int)(r >> 9 & 0x3ff) : -1, e[NB];

		if (i < 64 || r >> 20 & 3) {   /* a new packet, else an old one again */
			int step = k < 12 ? 1 + (int)(r >> 26 & 3) : k < 14 ? -(int)(r >> 26 & 63) :
				   k == 14 ? 200 : 20000;

			seq[s] = (uint16_t)(seq[s] + step);
			make(p, r >> 30 == 3, 0x1000u + s, seq[s], r >> 2 & 127);
			TEST_ERR(seal(&l, p, ANY));
		} else {
			p = &sent[r >> 4 & 63];
		}
		if (p->verdict)
			continue;   /* an index used already: never sent */
		if (flip >= (int)p->len * 8)
			flip = -1;
		for (int b = 0; b < NB; b++) {
			uint8_t buf[CAP];
			size_t len = p->len;

			memcpy(buf, p->prot, len);
			if (flip >= 0)
				buf[flip / 8] ^= (uint8_t)(0x80 >> (flip % 8));
			e[b] = p->rtcp ? msrtp_unprotect_rtcp(l.rx[b], buf, &len) :
					 msrtp_unprotect(l.rx[b], buf, &len);
		}
		/* The one known difference: SRTCP with the E bit cleared. */
		if (p->rtcp && e[0] == -EBADMSG && e[1] == -EIO && flip == (int)(p->len - 14) * 8)
			continue;
		if (e[0] != e[1]) {
			err = fail(__LINE__, "random step", 0, e[0], e[1]);
			goto out;
		}
	}
	for (int b = 0; b < NB; b++) {
		const struct msrtp_stats *st = msrtp_stats(l.rx[b]);

		if (!st->rtp_rx || !st->rtcp_rx || !st->replay || !st->auth_fail ||
		    !msrtp_stats(l.tx[b])->replay) {
			err = fail(__LINE__, "every outcome met", b, 0, 1);
			goto out;
		}
	}
out:
	leg_free(&l);
	return err;
}
