/* Counts malloc, calloc and realloc calls per thread, from any library
 * (OpenSSL, NSS, GLib...), by putting our own in front of glibc's
 * __libc_* ones.  Not under ASan, which brings its own allocator: there
 * tl_allocs stays 0 and MALLOC_COUNTING is 0.  It defines malloc, so only
 * one file of a program may include it. */
#ifndef RX_BENCH_MALLOC_COUNT_H
#define RX_BENCH_MALLOC_COUNT_H

#include <stddef.h>
#include <stdint.h>

static __thread uint64_t tl_allocs;

#ifndef __SANITIZE_ADDRESS__
extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t n, size_t m);
extern void *__libc_realloc(void *p, size_t n);
void *malloc(size_t n) { tl_allocs++; return __libc_malloc(n); }
void *calloc(size_t n, size_t m) { tl_allocs++; return __libc_calloc(n, m); }
void *realloc(void *p, size_t n) { tl_allocs++; return __libc_realloc(p, n); }
#define MALLOC_COUNTING 1
#else
#define MALLOC_COUNTING 0
#endif

#endif
