#include "timing.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static volatile double sink_value;

void bench_sink(double v) { sink_value += v; }

double bench_now_s(void)
{
   struct timespec ts;
   clock_gettime(CLOCK_MONOTONIC, &ts);
   return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
   double x = *(const double *)a, y = *(const double *)b;
   return (x > y) - (x < y);
}

static bench_stats_t stats_of(double *t, int n)
{
   qsort(t, (size_t)n, sizeof *t, cmp_double);
   bench_stats_t s = {t[n / 2], t[(int)((n - 1) * 0.99)], t[0]};
   return s;
}

bench_stats_t bench_run(bench_fn fn, void *ctx, int warmup, int reps)
{
   if (reps < 1)
      reps = 1;
   for (int i = 0; i < warmup; ++i)
      fn(ctx);
   double *t = malloc(sizeof *t * (size_t)reps);
   for (int i = 0; i < reps; ++i) {
      double t0 = bench_now_s();
      fn(ctx);
      t[i] = bench_now_s() - t0;
   }
   bench_stats_t s = stats_of(t, reps);
   free(t);
   return s;
}

typedef struct {
   const float *p;
   size_t n;
} stream_ctx;

static void stream_pass(void *c)
{
   const stream_ctx *s = c;
   float acc0 = 0, acc1 = 0, acc2 = 0, acc3 = 0;
   for (size_t i = 0; i + 3 < s->n; i += 4) {
      acc0 += s->p[i];
      acc1 += s->p[i + 1];
      acc2 += s->p[i + 2];
      acc3 += s->p[i + 3];
   }
   bench_sink(acc0 + acc1 + acc2 + acc3);
}

bench_stats_t bench_stream_read(const void *buf, size_t bytes, int reps)
{
   stream_ctx c = {buf, bytes / sizeof(float)};
   return bench_run(stream_pass, &c, 3, reps);
}

void bench_report(const char *name, bench_stats_t s, double baseline_s, const char *baseline_name,
                  double target_s)
{
   printf("%-44s median %9.4f ms  p99 %9.4f ms", name, s.median_s * 1e3, s.p99_s * 1e3);
   if (baseline_s > 0)
      printf("  %6.2fx %s", s.median_s / baseline_s, baseline_name);
   if (target_s > 0)
      printf("  target %.4f ms (%.2fx) %s", target_s * 1e3, s.median_s / target_s,
             s.median_s <= target_s ? "MET" : "MISSED");
   printf("\n");
}
