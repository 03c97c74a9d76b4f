/* Frame buffers another process can map later (isolated plugins): memfd,
 * sealed against resizing so a mapping can never be truncated under a
 * reader. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <sono/host/host.h>

int sono_host_buffer_create(sono_host_buffer_t *buf, size_t size, const char *name, sono_error_t *err)
{
   long page = sysconf(_SC_PAGESIZE);
   size_t rounded = (size + (size_t)page - 1) / (size_t)page * (size_t)page;
   memset(buf, 0, sizeof *buf);
   buf->fd = -1;
   int fd = memfd_create(name ? name : "sono-frame", MFD_CLOEXEC | MFD_ALLOW_SEALING);
   if (fd < 0)
      return sono_error_set(err, "memfd_create(%s) failed: %s", name ? name : "sono-frame", strerror(errno));
   if (ftruncate(fd, (off_t)rounded) < 0 || fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW) < 0) {
      int e = errno;
      close(fd);
      return sono_error_set(err, "frame buffer of %zu bytes: %s", rounded, strerror(e));
   }
   void *p = mmap(NULL, rounded ? rounded : (size_t)page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
   if (p == MAP_FAILED) {
      int e = errno;
      close(fd);
      return sono_error_set(err, "mmap of a %zu-byte frame buffer failed: %s", rounded, strerror(e));
   }
   buf->fd = fd;
   buf->data = p;
   buf->size = rounded;
   return 0;
}

void sono_host_buffer_destroy(sono_host_buffer_t *buf)
{
   if (buf->data)
      munmap(buf->data, buf->size);
   if (buf->fd >= 0)
      close(buf->fd);
   memset(buf, 0, sizeof *buf);
   buf->fd = -1;
}
