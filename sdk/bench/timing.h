/* Timing helpers shared by every sono-bench subcommand.
 * Why medians of repeated runs: single timings on a shared 2-core machine
 * are noisy; every figure is printed next to a baseline measured in the
 * same run, so ratios stay meaningful when absolute times drift. */
#ifndef SONO_BENCH_TIMING_H
#define SONO_BENCH_TIMING_H

#include <stddef.h>
#include <stdint.h>

typedef void (*bench_fn)(void *ctx);

typedef struct bench_stats {
   double median_s;
   double p99_s;
   double min_s;
} bench_stats_t;

double bench_now_s(void);
/* Runs fn(ctx) `warmup` times untimed, then `reps` times timed. */
bench_stats_t bench_run(bench_fn fn, void *ctx, int warmup, int reps);
/* Time of one streaming read pass over `bytes` (the memory roofline). */
bench_stats_t bench_stream_read(const void *buf, size_t bytes, int reps);
/* Prints one aligned line: name, median, p99, ratio to baseline, target and verdict. */
void bench_report(const char *name, bench_stats_t s, double baseline_s, const char *baseline_name,
                  double target_s);
/* Keeps the optimiser from discarding a computed value. */
void bench_sink(double v);

#endif
