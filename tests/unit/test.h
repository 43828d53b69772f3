/* The unit test runner's helpers.  Each test is "int test_x(void)" returning
 * 0 or an errno value, listed once in tests.h.  The runner checks every test
 * for leaked mem blocks and can fail the n-th allocation (--oom). */
#ifndef RX_TEST_H
#define RX_TEST_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

void test_fail(const char *file, int line, const char *what);
int test_memeq(const char *file, int line, const void *a, size_t alen, const void *b, size_t blen);
/* Read test-vectors/<rel> into a mem block; *len receives the size. */
int test_load_vector(const char *rel, uint8_t **data, size_t *len);
const char *test_vector_path(const char *rel);   /* static buffer */

#define TEST_ASSERT(c) do { if (!(c)) { test_fail(__FILE__, __LINE__, #c); return EBADMSG; } } while (0)
#define TEST_EQ(a, b) do { long long a_ = (long long)(a), b_ = (long long)(b); \
	if (a_ != b_) { char m_[200]; snprintf(m_, sizeof(m_), "%s == %s (%lld != %lld)", #a, #b, a_, b_); \
		test_fail(__FILE__, __LINE__, m_); return EBADMSG; } } while (0)
#define TEST_MEMEQ(a, alen, b, blen) do { if (test_memeq(__FILE__, __LINE__, a, alen, b, blen)) return EBADMSG; } while (0)
#define TEST_STREQ(a, b) do { const char *a_ = (a), *b_ = (b); \
	if (!a_ || !b_ || strcmp(a_, b_)) { char m_[300]; snprintf(m_, sizeof(m_), "%s == %s (\"%s\" != \"%s\")", #a, #b, a_ ? a_ : "(null)", b_ ? b_ : "(null)"); \
		test_fail(__FILE__, __LINE__, m_); return EBADMSG; } } while (0)
/* Run an expression returning 0 or errno; on error, jump to "out" with err set. */
#define TEST_ERR(expr) do { err = (expr); if (err) { test_fail(__FILE__, __LINE__, #expr); goto out; } } while (0)

#define X(name) int name(void);
#include "tests.h"
#undef X

#endif
