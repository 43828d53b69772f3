/* Reference-counted memory with destructors (after libre's mem.c).
 *
 * Every object the project allocates goes through here, so that the unit
 * test runner can check each test for leaks and inject allocation failures,
 * and so that the audio path can prove it allocates nothing per packet. */
#ifndef RX_MEM_H
#define RX_MEM_H

#include <stddef.h>
#include <stdint.h>

typedef void (mem_destroy_h)(void *data);

void *mem_alloc(size_t size, mem_destroy_h *dh);
void *mem_zalloc(size_t size, mem_destroy_h *dh);
/* Resize a block with refcount 1.  On failure the old block is kept. */
void *mem_realloc(void *data, size_t size);
void *mem_ref(void *data);
/* Drop one reference; the destructor runs and the block is freed at zero.
 * Always returns NULL, so that "p = mem_deref(p);" clears the pointer. */
void *mem_deref(void *data);
uint32_t mem_nrefs(const void *data);
char *mem_strdup(const char *s);
char *mem_strndup(const char *s, size_t n);

struct mem_stat {
	uint64_t blocks;   /* blocks alive now */
	uint64_t allocs;   /* allocations (alloc + realloc) since start */
};
void mem_get_stat(struct mem_stat *st);
/* Test hook: make the n-th allocation from now fail (0 disables). */
void mem_fail_after(uint64_t n);

#endif
