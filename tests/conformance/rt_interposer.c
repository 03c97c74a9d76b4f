/* libsono_conform_rt: an LD_PRELOAD interposer for the real-time check.
 *
 * While armed on the calling thread (sono_rt_arm(1), done by sono-conform
 * only around process()), every call to an allocator, a lock, a sleep or a
 * blocking system call is counted, and the first is described with the
 * object and symbol that made it (dladdr of the return address). The call
 * itself still goes through, so the plugin behaves as it would in a host.
 *
 * Allocation functions forward to glibc's __libc_* entry points, so the
 * interposer never needs dlsym to allocate; the other functions are
 * resolved with dlsym(RTLD_NEXT) in a constructor, before any check arms.
 * Threading: the armed flag is per thread; counters are atomic. */
#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define RT_EXPORT __attribute__((visibility("default")))

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);
extern void *__libc_memalign(size_t, size_t);

static __thread int armed;
static atomic_int violations;
static char first[512];

RT_EXPORT void sono_rt_arm(int on)
{
   armed = on;
}

/* Returns the number of violations since the last call and describes the
 * first; resets both. */
RT_EXPORT int sono_rt_report(char *buf, size_t size)
{
   int n = atomic_exchange(&violations, 0);
   if (buf && size)
      snprintf(buf, size, "%s", n ? first : "");
   first[0] = '\0';
   return n;
}

static void record(const char *call, void *caller)
{
   if (atomic_fetch_add(&violations, 1) != 0)
      return;
   int was = armed;
   armed = 0;
   Dl_info info;
   memset(&info, 0, sizeof info);
   if (caller && dladdr(caller, &info) && info.dli_fname) {
      const char *obj = strrchr(info.dli_fname, '/');
      obj = obj ? obj + 1 : info.dli_fname;
      snprintf(first, sizeof first, "%s called from %s%s%s+0x%lx", call, obj, info.dli_sname ? " " : "",
               info.dli_sname ? info.dli_sname : "",
               (unsigned long)((uintptr_t)caller - (uintptr_t)(info.dli_sname ? info.dli_saddr : info.dli_fbase)));
   } else {
      snprintf(first, sizeof first, "%s", call);
   }
   armed = was;
}

/* ---- allocation --------------------------------------------------------------- */

static void flag(const char *fmt_name, size_t a, size_t b, void *caller)
{
   char d[96];
   int was = armed;
   armed = 0;
   if (b)
      snprintf(d, sizeof d, "%s(%zu, %zu)", fmt_name, a, b);
   else
      snprintf(d, sizeof d, "%s(%zu)", fmt_name, a);
   armed = was;
   record(d, caller);
}

RT_EXPORT void *malloc(size_t n)
{
   if (armed)
      flag("malloc", n, 0, __builtin_return_address(0));
   return __libc_malloc(n);
}

RT_EXPORT void *calloc(size_t n, size_t size)
{
   if (armed)
      flag("calloc", n, size, __builtin_return_address(0));
   return __libc_calloc(n, size);
}

RT_EXPORT void *realloc(void *p, size_t n)
{
   if (armed)
      flag("realloc", n, 0, __builtin_return_address(0));
   return __libc_realloc(p, n);
}

RT_EXPORT void free(void *p)
{
   if (armed && p)
      record("free()", __builtin_return_address(0));
   __libc_free(p);
}

RT_EXPORT int posix_memalign(void **out, size_t align, size_t n)
{
   if (armed)
      flag("posix_memalign", align, n, __builtin_return_address(0));
   void *p = __libc_memalign(align, n);
   if (!p)
      return 12; /* ENOMEM */
   *out = p;
   return 0;
}

RT_EXPORT void *aligned_alloc(size_t align, size_t n)
{
   if (armed)
      flag("aligned_alloc", align, n, __builtin_return_address(0));
   return __libc_memalign(align, n);
}

RT_EXPORT void *memalign(size_t align, size_t n)
{
   if (armed)
      flag("memalign", align, n, __builtin_return_address(0));
   return __libc_memalign(align, n);
}

/* ---- locks, sleeps and blocking system calls ------------------------------------- */

static int (*real_mutex_lock)(pthread_mutex_t *);
static int (*real_mutex_timedlock)(pthread_mutex_t *, const struct timespec *);
static int (*real_cond_wait)(pthread_cond_t *, pthread_mutex_t *);
static int (*real_sem_wait)(sem_t *);
static int (*real_sem_timedwait)(sem_t *, const struct timespec *);
static unsigned (*real_sleep)(unsigned);
static int (*real_usleep)(useconds_t);
static int (*real_nanosleep)(const struct timespec *, struct timespec *);
static int (*real_clock_nanosleep)(clockid_t, int, const struct timespec *, struct timespec *);
static ssize_t (*real_read)(int, void *, size_t);
static ssize_t (*real_write)(int, const void *, size_t);
static int (*real_open)(const char *, int, ...);
static int (*real_openat)(int, const char *, int, ...);
static FILE *(*real_fopen)(const char *, const char *);

__attribute__((constructor)) static void resolve(void)
{
   real_mutex_lock = (int (*)(pthread_mutex_t *))dlsym(RTLD_NEXT, "pthread_mutex_lock");
   real_mutex_timedlock = (int (*)(pthread_mutex_t *, const struct timespec *))dlsym(RTLD_NEXT, "pthread_mutex_timedlock");
   real_cond_wait = (int (*)(pthread_cond_t *, pthread_mutex_t *))dlvsym(RTLD_NEXT, "pthread_cond_wait", "GLIBC_2.3.2");
   if (!real_cond_wait)
      real_cond_wait = (int (*)(pthread_cond_t *, pthread_mutex_t *))dlsym(RTLD_NEXT, "pthread_cond_wait");
   real_sem_wait = (int (*)(sem_t *))dlsym(RTLD_NEXT, "sem_wait");
   real_sem_timedwait = (int (*)(sem_t *, const struct timespec *))dlsym(RTLD_NEXT, "sem_timedwait");
   real_sleep = (unsigned (*)(unsigned))dlsym(RTLD_NEXT, "sleep");
   real_usleep = (int (*)(useconds_t))dlsym(RTLD_NEXT, "usleep");
   real_nanosleep = (int (*)(const struct timespec *, struct timespec *))dlsym(RTLD_NEXT, "nanosleep");
   real_clock_nanosleep =
      (int (*)(clockid_t, int, const struct timespec *, struct timespec *))dlsym(RTLD_NEXT, "clock_nanosleep");
   real_read = (ssize_t(*)(int, void *, size_t))dlsym(RTLD_NEXT, "read");
   real_write = (ssize_t(*)(int, const void *, size_t))dlsym(RTLD_NEXT, "write");
   real_open = (int (*)(const char *, int, ...))dlsym(RTLD_NEXT, "open");
   real_openat = (int (*)(int, const char *, int, ...))dlsym(RTLD_NEXT, "openat");
   real_fopen = (FILE * (*)(const char *, const char *)) dlsym(RTLD_NEXT, "fopen");
}

/* Other constructors may call in before ours has run. */
#define RESOLVE(var, name)                                   \
   do {                                                      \
      if (!(var))                                            \
         *(void **)&(var) = dlsym(RTLD_NEXT, name);          \
   } while (0)

#define FLAG(text)                                          \
   do {                                                     \
      if (armed)                                            \
         record(text, __builtin_return_address(0));         \
   } while (0)

RT_EXPORT int pthread_mutex_lock(pthread_mutex_t *m) { FLAG("pthread_mutex_lock()"); RESOLVE(real_mutex_lock, "pthread_mutex_lock"); return real_mutex_lock(m); }
RT_EXPORT int pthread_mutex_timedlock(pthread_mutex_t *m, const struct timespec *t) { FLAG("pthread_mutex_timedlock()"); RESOLVE(real_mutex_timedlock, "pthread_mutex_timedlock"); return real_mutex_timedlock(m, t); }
RT_EXPORT int pthread_cond_wait(pthread_cond_t *c, pthread_mutex_t *m) { FLAG("pthread_cond_wait()"); if (!real_cond_wait) resolve(); return real_cond_wait(c, m); }
RT_EXPORT int sem_wait(sem_t *s) { FLAG("sem_wait()"); RESOLVE(real_sem_wait, "sem_wait"); return real_sem_wait(s); }
RT_EXPORT int sem_timedwait(sem_t *s, const struct timespec *t) { FLAG("sem_timedwait()"); RESOLVE(real_sem_timedwait, "sem_timedwait"); return real_sem_timedwait(s, t); }
RT_EXPORT unsigned sleep(unsigned s) { FLAG("sleep()"); RESOLVE(real_sleep, "sleep"); return real_sleep(s); }
RT_EXPORT int usleep(useconds_t u) { FLAG("usleep()"); RESOLVE(real_usleep, "usleep"); return real_usleep(u); }
RT_EXPORT int nanosleep(const struct timespec *a, struct timespec *b) { FLAG("nanosleep()"); RESOLVE(real_nanosleep, "nanosleep"); return real_nanosleep(a, b); }
RT_EXPORT int clock_nanosleep(clockid_t c, int f, const struct timespec *a, struct timespec *b) { FLAG("clock_nanosleep()"); RESOLVE(real_clock_nanosleep, "clock_nanosleep"); return real_clock_nanosleep(c, f, a, b); }
RT_EXPORT ssize_t read(int fd, void *buf, size_t n) { FLAG("read()"); RESOLVE(real_read, "read"); return real_read(fd, buf, n); }
RT_EXPORT ssize_t write(int fd, const void *buf, size_t n) { FLAG("write()"); RESOLVE(real_write, "write"); return real_write(fd, buf, n); }
RT_EXPORT FILE *fopen(const char *path, const char *mode) { FLAG("fopen()"); RESOLVE(real_fopen, "fopen"); return real_fopen(path, mode); }

static mode_t mode_arg(int flags, va_list ap)
{
   return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE ? (mode_t)va_arg(ap, int) : 0;
}

RT_EXPORT int open(const char *path, int flags, ...)
{
   FLAG("open()");
   va_list ap;
   va_start(ap, flags);
   mode_t mode = mode_arg(flags, ap);
   va_end(ap);
   RESOLVE(real_open, "open"); return real_open(path, flags, mode);
}

RT_EXPORT int openat(int dir, const char *path, int flags, ...)
{
   FLAG("openat()");
   va_list ap;
   va_start(ap, flags);
   mode_t mode = mode_arg(flags, ap);
   va_end(ap);
   RESOLVE(real_openat, "openat"); return real_openat(dir, path, flags, mode);
}
