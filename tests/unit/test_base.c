/* Tests for base/: mem, buf, loop timers. */
#include <string.h>
#include "buf.h"
#include "loop.h"
#include "mem.h"
#include "test.h"

static int destroyed;

static void count_destroy(void *arg)
{
	(void)arg;
	destroyed++;
}

int test_mem(void)
{
	char *s;
	int *p = mem_zalloc(sizeof(int), count_destroy);

	if (!p)
		return ENOMEM;
	destroyed = 0;
	TEST_EQ(mem_nrefs(p), 1);
	mem_ref(p);
	TEST_EQ(mem_nrefs(p), 2);
	TEST_ASSERT(mem_deref(p) == NULL);
	TEST_EQ(destroyed, 0);
	mem_deref(p);
	TEST_EQ(destroyed, 1);
	s = mem_strndup("hello world", 5);
	if (!s)
		return ENOMEM;
	TEST_STREQ(s, "hello");
	mem_deref(s);
	return 0;
}

int test_buf(void)
{
	struct buf b;
	uint8_t big[1000];
	int err = 0;

	buf_init(&b);
	memset(big, 7, sizeof(big));
	TEST_ERR(buf_append(&b, "abc", 3));
	TEST_ERR(buf_append(&b, big, sizeof(big)));
	TEST_EQ(buf_unread(&b), 1003);
	buf_consume(&b, 3);
	TEST_EQ(buf_head(&b)[0], 7);
	buf_consume(&b, 999);
	buf_compact(&b);
	TEST_EQ(buf_unread(&b), 1);
	{
		uint8_t x[4];
		put_be24(x, 0x123456);
		TEST_EQ(be24(x), 0x123456);
		put_le32(x, 0x01020304);
		TEST_EQ(x[0], 4);
		TEST_EQ(le32(x), 0x01020304);
	}
out:
	buf_reset(&b);
	return err;
}

struct tctx {
	struct loop *l;
	int order[8];
	int n;
	struct tmr t[4];
};

static void record(struct tctx *c, int id)
{
	if (c->n < 8)
		c->order[c->n++] = id;
}

static struct tctx *g;

static void fire0(void *arg) { (void)arg; record(g, 0); tmr_cancel(g->l, &g->t[3]); }
static void fire1(void *arg) { (void)arg; record(g, 1); loop_stop(g->l); }
static void fire2(void *arg) { (void)arg; record(g, 2); }
static void fire3(void *arg) { (void)arg; record(g, 3); }

int test_loop_timers(void)
{
	struct tctx c;
	int err = 0;

	memset(&c, 0, sizeof(c));
	g = &c;
	TEST_ERR(loop_alloc(&c.l));
	for (int i = 0; i < 4; i++)
		tmr_init(&c.t[i]);
	/* 2 fires first, then 0, which cancels 3, then 1 stops the loop. */
	TEST_ERR(tmr_start(c.l, &c.t[1], 30, fire1, NULL));
	TEST_ERR(tmr_start(c.l, &c.t[0], 10, fire0, NULL));
	TEST_ERR(tmr_start(c.l, &c.t[3], 20, fire3, NULL));
	TEST_ERR(tmr_start(c.l, &c.t[2], 1, fire2, NULL));
	TEST_ERR(loop_run(c.l));
	TEST_EQ(c.n, 3);
	TEST_EQ(c.order[0], 2);
	TEST_EQ(c.order[1], 0);
	TEST_EQ(c.order[2], 1);
	TEST_ASSERT(!tmr_isrunning(&c.t[3]));
out:
	mem_deref(c.l);
	return err;
}
