/* Unit test runner: runs every test in tests.h (or those named on the command
 * line), checks each for leaked mem blocks, and with --oom fails each
 * allocation in turn to prove error paths release what they took. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include "mem.h"
#include "log.h"
#include "test.h"

struct test {
	const char *name;
	int (*fn)(void);
};

static const struct test tests[] = {
#define X(name) {#name, name},
#include "tests.h"
#undef X
};

static bool quiet_fail;

void test_fail(const char *file, int line, const char *what)
{
	if (!quiet_fail)
		fprintf(stderr, "  FAIL %s:%d: %s\n", file, line, what);
}

int test_memeq(const char *file, int line, const void *a, size_t alen, const void *b, size_t blen)
{
	const uint8_t *pa = a, *pb = b;
	size_t i;

	if (alen == blen && (!alen || !memcmp(a, b, alen)))
		return 0;
	for (i = 0; i < alen && i < blen && pa[i] == pb[i]; i++)
		;
	if (!quiet_fail)
		fprintf(stderr, "  FAIL %s:%d: buffers differ (len %zu vs %zu, first at %zu)\n", file,
			line, alen, blen, i);
	return EBADMSG;
}

const char *test_vector_path(const char *rel)
{
	static char path[1024];
	const char *dir = getenv("RX_TEST_VECTORS");
	snprintf(path, sizeof(path), "%s/%s", dir ? dir : RX_TEST_VECTORS_DIR, rel);
	return path;
}

int test_load_vector(const char *rel, uint8_t **data, size_t *len)
{
	FILE *f = fopen(test_vector_path(rel), "rb");
	long n;
	uint8_t *d;

	if (!f) {
		fprintf(stderr, "  cannot open %s\n", test_vector_path(rel));
		return ENOENT;
	}
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	d = mem_alloc((size_t)n + 1, NULL);
	if (!d || fread(d, 1, (size_t)n, f) != (size_t)n) {
		fclose(f);
		mem_deref(d);
		return EIO;
	}
	fclose(f);
	*data = d;
	*len = (size_t)n;
	return 0;
}

static int run_one(const struct test *t)
{
	struct mem_stat a, b;
	int err;

	mem_get_stat(&a);
	err = t->fn();
	mem_get_stat(&b);
	if (!err && b.blocks != a.blocks) {
		fprintf(stderr, "  LEAK %s: %lld blocks\n", t->name,
			(long long)b.blocks - (long long)a.blocks);
		err = ENOMEM;
	}
	return err;
}

/* Fail allocation 1, 2, ... until the test runs through without hitting
 * the injected failure.  Any outcome is fine except a crash or a leak. */
static int run_oom(const struct test *t)
{
	for (uint64_t i = 1; i < 100000; i++) {
		struct mem_stat a, b;
		mem_get_stat(&a);
		mem_fail_after(i);
		quiet_fail = true;
		int err = t->fn();
		quiet_fail = false;
		mem_fail_after(0);
		mem_get_stat(&b);
		if (b.blocks != a.blocks) {
			fprintf(stderr, "  LEAK %s with allocation %llu failing: %lld blocks\n", t->name,
				(unsigned long long)i, (long long)b.blocks - (long long)a.blocks);
			return ENOMEM;
		}
		if (b.allocs - a.allocs < i)
			return 0;  /* the failure point was never reached */
		(void)err;
	}
	return 0;
}

int main(int argc, char **argv)
{
	size_t n = sizeof(tests) / sizeof(tests[0]);
	bool oom = false;
	int failed = 0, ran = 0;

	log_set_level(getenv("RX_TEST_VERBOSE") ? LOG_DEBUG : LOG_ERROR);
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--oom"))
			oom = true;
	for (size_t i = 0; i < n; i++) {
		bool pick = true;
		for (int j = 1; j < argc; j++) {
			if (argv[j][0] == '-')
				continue;
			pick = false;
			if (strstr(tests[i].name, argv[j])) {
				pick = true;
				break;
			}
		}
		if (!pick)
			continue;
		int err = oom ? run_oom(&tests[i]) : run_one(&tests[i]);
		ran++;
		printf("%-40s %s\n", tests[i].name, err ? "FAIL" : "ok");
		if (err)
			failed++;
	}
	printf("%d of %d tests failed\n", failed, ran);
	return failed || !ran ? 1 : 0;
}
