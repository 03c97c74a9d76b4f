/* A fixed pool of worker threads with a generation counter: each run wakes
 * every worker once and waits for all of them, so nothing is created or
 * allocated per run. */
#include "dsp_internal.h"

#include <pthread.h>
#include <stdlib.h>

struct dsp_pool {
   unsigned threads;
   pthread_t *tids;
   pthread_mutex_t lock;
   pthread_cond_t wake;
   pthread_cond_t done;
   uint64_t generation;
   unsigned pending;
   int stop;
   dsp_task_fn fn;
   void *ctx;
   size_t count;
};

typedef struct {
   dsp_pool_t *pool;
   unsigned index;
} worker_arg_t;

static void run_share(dsp_pool_t *p, unsigned w)
{
   size_t begin = p->count * w / p->threads, end = p->count * (w + 1) / p->threads;
   if (end > begin)
      p->fn(p->ctx, w, begin, end);
}

static void *worker_main(void *arg)
{
   worker_arg_t a = *(worker_arg_t *)arg;
   free(arg);
   dsp_pool_t *p = a.pool;
   uint64_t seen = 0;
   pthread_mutex_lock(&p->lock);
   for (;;) {
      while (!p->stop && p->generation == seen)
         pthread_cond_wait(&p->wake, &p->lock);
      if (p->stop)
         break;
      seen = p->generation;
      pthread_mutex_unlock(&p->lock);
      run_share(p, a.index);
      pthread_mutex_lock(&p->lock);
      if (--p->pending == 0)
         pthread_cond_signal(&p->done);
   }
   pthread_mutex_unlock(&p->lock);
   return NULL;
}

dsp_pool_t *dsp_pool_create(unsigned threads)
{
   dsp_pool_t *p = calloc(1, sizeof *p);
   if (!p)
      return NULL;
   p->threads = threads ? threads : 1;
   pthread_mutex_init(&p->lock, NULL);
   pthread_cond_init(&p->wake, NULL);
   pthread_cond_init(&p->done, NULL);
   p->tids = calloc(p->threads, sizeof *p->tids);
   if (!p->tids) {
      free(p);
      return NULL;
   }
   for (unsigned i = 1; i < p->threads; ++i) {
      worker_arg_t *a = malloc(sizeof *a);
      if (!a || (a->pool = p, a->index = i, pthread_create(&p->tids[i], NULL, worker_main, a) != 0)) {
         free(a);
         p->threads = i; /* workers started so far are joined by destroy */
         dsp_pool_destroy(p);
         return NULL;
      }
   }
   return p;
}

void dsp_pool_run(dsp_pool_t *p, dsp_task_fn fn, void *ctx, size_t count)
{
   p->fn = fn;
   p->ctx = ctx;
   p->count = count;
   if (p->threads > 1) {
      pthread_mutex_lock(&p->lock);
      p->pending = p->threads - 1;
      p->generation++;
      pthread_cond_broadcast(&p->wake);
      pthread_mutex_unlock(&p->lock);
   }
   run_share(p, 0);
   if (p->threads > 1) {
      pthread_mutex_lock(&p->lock);
      while (p->pending)
         pthread_cond_wait(&p->done, &p->lock);
      pthread_mutex_unlock(&p->lock);
   }
}

unsigned dsp_pool_threads(const dsp_pool_t *p) { return p->threads; }

void dsp_pool_destroy(dsp_pool_t *p)
{
   if (!p)
      return;
   pthread_mutex_lock(&p->lock);
   p->stop = 1;
   pthread_cond_broadcast(&p->wake);
   pthread_mutex_unlock(&p->lock);
   for (unsigned i = 1; i < p->threads; ++i)
      pthread_join(p->tids[i], NULL);
   pthread_mutex_destroy(&p->lock);
   pthread_cond_destroy(&p->wake);
   pthread_cond_destroy(&p->done);
   free(p->tids);
   free(p);
}
