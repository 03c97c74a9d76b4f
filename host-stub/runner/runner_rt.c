/* Allocation counting inside process(): the runner replaces the allocator
 * (forwarding to glibc's __libc_* entry points) and counts calls made while
 * armed, on the armed thread. The plugin's result is unaffected; the host
 * reports the count as a real-time violation. Not built under
 * AddressSanitizer, which owns the allocator: there the count stays 0. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "runner.h"

#if defined(SONO_RUNNER_COUNT_ALLOC)
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);
extern void *__libc_memalign(size_t, size_t);

static __thread int armed;
static uint64_t count;
static char first[160];

static void note(const char *call, size_t n)
{
   armed = 0;
   if (count++ == 0)
      snprintf(first, sizeof first, "%s(%zu) called inside process()", call, n);
   armed = 1;
}

void *malloc(size_t n)
{
   if (armed)
      note("malloc", n);
   return __libc_malloc(n);
}

void *calloc(size_t a, size_t b)
{
   if (armed)
      note("calloc", a * b);
   return __libc_calloc(a, b);
}

void *realloc(void *p, size_t n)
{
   if (armed)
      note("realloc", n);
   return __libc_realloc(p, n);
}

void free(void *p)
{
   __libc_free(p);
}

void *memalign(size_t a, size_t n)
{
   if (armed)
      note("memalign", n);
   return __libc_memalign(a, n);
}

void *aligned_alloc(size_t a, size_t n) { return memalign(a, n); }

int posix_memalign(void **out, size_t a, size_t n)
{
   void *p = memalign(a, n);
   if (!p)
      return 12; /* ENOMEM */
   *out = p;
   return 0;
}

void runner_rt_arm(int on) { armed = on; }

uint64_t runner_rt_count(char *out, size_t size)
{
   snprintf(out, size, "%s", first);
   return count;
}
#else
void runner_rt_arm(int on) { (void)on; }

uint64_t runner_rt_count(char *out, size_t size)
{
   if (size)
      out[0] = '\0';
   return 0;
}
#endif
