/* The registry of shared frame buffers: planes that live in one of them
 * reach isolated plugins by (memfd, offset), without a copy. The registry
 * holds the memfd's inode too, so a buffer destroyed and re-created at the
 * same address and fd number is never mistaken for the old one. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "isolated.h"

#define MAX_SHARED 64

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static sono_iso_shared_t shared[MAX_SHARED];
static uint32_t shared_count;

int sono_host_buffer_share(const sono_host_buffer_t *buf, sono_error_t *err)
{
   struct stat st;
   if (!buf || buf->fd < 0 || !buf->data || fstat(buf->fd, &st) < 0)
      return sono_error_set(err, "sono_host_buffer_share: not a buffer from sono_host_buffer_create()");
   pthread_mutex_lock(&lock);
   int rc = 0;
   if (shared_count == MAX_SHARED)
      rc = sono_error_set(err, "sono_host_buffer_share: %d buffers already shared (the limit)", MAX_SHARED);
   else
      shared[shared_count++] = (sono_iso_shared_t){buf->fd, buf->data, buf->size, (uint64_t)st.st_ino};
   pthread_mutex_unlock(&lock);
   return rc;
}

void sono_host_buffer_unshare(const sono_host_buffer_t *buf)
{
   pthread_mutex_lock(&lock);
   for (uint32_t i = 0; i < shared_count; ++i)
      if (shared[i].base == buf->data && shared[i].fd == buf->fd) {
         shared[i] = shared[--shared_count];
         break;
      }
   pthread_mutex_unlock(&lock);
}

int sono_iso_find_shared(const void *data, int64_t low, uint64_t extent, sono_iso_shared_t *out)
{
   const uint8_t *lo = (const uint8_t *)data + low;
   int found = 0;
   pthread_mutex_lock(&lock);
   for (uint32_t i = 0; i < shared_count && !found; ++i) {
      const sono_iso_shared_t *s = &shared[i];
      if (lo >= s->base && extent <= s->size && (size_t)(lo - s->base) <= s->size - extent) {
         *out = *s;
         found = 1;
      }
   }
   pthread_mutex_unlock(&lock);
   return found;
}
