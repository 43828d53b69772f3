/* Reference-counted memory with destructors. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include "mem.h"

struct mem_hdr {
	mem_destroy_h *dh;
	uint32_t nrefs;
	uint32_t magic;
	max_align_t align[];
};

#define MEM_MAGIC 0x6d656d21u

static atomic_uint_fast64_t blocks;
static atomic_uint_fast64_t allocs;
static atomic_uint_fast64_t fail_at;  /* allocs value at which to fail */

static struct mem_hdr *hdr_of(const void *data)
{
	struct mem_hdr *h = (struct mem_hdr *)((uintptr_t)data - sizeof(struct mem_hdr));
	if (h->magic != MEM_MAGIC)
		abort();  /* not ours, or freed: fail loudly rather than corrupt */
	return h;
}

static int count_alloc(void)
{
	uint64_t n = atomic_fetch_add_explicit(&allocs, 1, memory_order_relaxed) + 1;
	uint64_t f = atomic_load_explicit(&fail_at, memory_order_relaxed);
	return f && n == f ? -1 : 0;
}

void *mem_alloc(size_t size, mem_destroy_h *dh)
{
	struct mem_hdr *h;

	if (size > SIZE_MAX - sizeof(*h) || count_alloc())
		return NULL;
	h = malloc(sizeof(*h) + size);
	if (!h)
		return NULL;
	h->dh = dh;
	h->nrefs = 1;
	h->magic = MEM_MAGIC;
	atomic_fetch_add_explicit(&blocks, 1, memory_order_relaxed);
	return h + 1;
}

void *mem_zalloc(size_t size, mem_destroy_h *dh)
{
	void *p = mem_alloc(size, dh);
	if (p)
		memset(p, 0, size);
	return p;
}

void *mem_realloc(void *data, size_t size)
{
	struct mem_hdr *h, *nh;

	if (!data)
		return mem_alloc(size, NULL);
	h = hdr_of(data);
	if (h->nrefs != 1 || size > SIZE_MAX - sizeof(*h) || count_alloc())
		return NULL;
	nh = realloc(h, sizeof(*h) + size);
	if (!nh)
		return NULL;
	return nh + 1;
}

void *mem_ref(void *data)
{
	if (data)
		hdr_of(data)->nrefs++;
	return data;
}

void *mem_deref(void *data)
{
	struct mem_hdr *h;

	if (!data)
		return NULL;
	h = hdr_of(data);
	if (--h->nrefs > 0)
		return NULL;
	if (h->dh)
		h->dh(data);
	h->magic = 0;
	free(h);
	atomic_fetch_sub_explicit(&blocks, 1, memory_order_relaxed);
	return NULL;
}

uint32_t mem_nrefs(const void *data)
{
	return data ? hdr_of(data)->nrefs : 0;
}

char *mem_strndup(const char *s, size_t n)
{
	char *d;

	if (!s)
		return NULL;
	n = strnlen(s, n);
	d = mem_alloc(n + 1, NULL);
	if (!d)
		return NULL;
	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

char *mem_strdup(const char *s)
{
	return s ? mem_strndup(s, strlen(s)) : NULL;
}

void mem_get_stat(struct mem_stat *st)
{
	st->blocks = atomic_load_explicit(&blocks, memory_order_relaxed);
	st->allocs = atomic_load_explicit(&allocs, memory_order_relaxed);
}

void mem_fail_after(uint64_t n)
{
	uint64_t now = atomic_load_explicit(&allocs, memory_order_relaxed);
	atomic_store_explicit(&fail_at, n ? now + n : 0, memory_order_relaxed);
}
