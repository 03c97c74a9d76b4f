/* Run-time contract checks: real-time calls and cost, determinism,
 * concurrent instances. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "checks.h"

void check_realtime_calls(void)
{
   cf_rt_t rt;
   if (cf_rt_lookup(&rt) != 0) {
      if (cf_under_sanitizer())
         cf_warn("not run: the LD_PRELOAD interposer cannot be combined with a sanitizer build of sono-conform; "
                 "run a non-sanitizer build for this check");
      else
         cf_fail("the real-time interposer %s is not loaded (LD_PRELOAD); the check cannot run",
                 cf_opt.rt_lib ? cf_opt.rt_lib : "(unknown)");
      return;
   }
   cf_lib_t lib;
   cf_inst_t inst;
   if (cf_lib_open(&lib) != 0 || cf_inst_create(&lib, &inst) != 0)
      return;
   cf_rng_t rng;
   cf_rng_seed(&rng, cf_opt.seed, 31);
   cf_frame_spec_t spec = cf_spec(128, 96, 8, cf_planes_for(lib.desc));
   sono_frame_format_t fmt;
   cf_format_for(&fmt, &spec);
   cf_out_t out;
   cf_out_init(&out, 0);
   cf_frame_t frames[4];
   int built = 0;
   for (; built < 4; ++built) {
      spec.sequence = (uint64_t)built;
      if (cf_frame_build(&frames[built], &spec, &rng) != 0)
         break;
   }
   if (built == 4 && cf_inst_activate(&inst, &fmt) == 0) {
      for (int k = 0; k < 12; ++k) {
         char what[64];
         snprintf(what, sizeof what, "128x96 frame %d", k);
         cf_ctx("plugin %s process(%s) under the real-time interposer", lib.desc->id, what);
         cf_out_begin(&out, frames[k % 4].frame);
         rt.arm(1);
         int st = inst.plugin->process(inst.plugin, frames[k % 4].frame, &out.out);
         rt.arm(0);
         cf_status_check(&inst, st, what);
         char first[512];
         int n = rt.report(first, sizeof first);
         if (n > 0) {
            cf_fail("plugin %s made %d forbidden call(s) during process() of frame %d; first: %s", lib.desc->id, n, k,
                    first);
            break;
         }
      }
      if (!cf_failed())
         cf_note("12 frames under the interposer: no allocation, lock, sleep or blocking call in process()");
   }
   for (int i = 0; i < built; ++i)
      cf_frame_free(&frames[i]);
   cf_out_free(&out);
   cf_inst_destroy(&inst);
   cf_lib_close(&lib);
}

static int cmp_u64(const void *a, const void *b)
{
   uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
   return x < y ? -1 : x > y;
}

void check_realtime_cost(void)
{
   cf_lib_t lib;
   cf_inst_t inst;
   if (cf_lib_open(&lib) != 0 || cf_inst_create(&lib, &inst) != 0)
      return;
   cf_rng_t rng;
   cf_rng_seed(&rng, cf_opt.seed, 32);
   /* The manifest's cost is declared for a 384x256 frame. */
   cf_frame_spec_t spec = cf_spec(384, 256, 8, cf_planes_for(lib.desc));
   sono_frame_format_t fmt;
   cf_format_for(&fmt, &spec);
   cf_out_t out;
   cf_out_init(&out, 0);
   enum { WARMUP = 3, MEASURED = 30, DISTINCT = 3 };
   uint64_t times[MEASURED];
   cf_frame_t frames[DISTINCT];
   int built = 0;
   for (; built < DISTINCT; ++built) {
      spec.sequence = (uint64_t)built;
      if (cf_frame_build(&frames[built], &spec, &rng) != 0)
         break;
   }
   int measured = 0;
   if (built == DISTINCT && cf_inst_activate(&inst, &fmt) == 0)
      for (int k = 0; k < WARMUP + MEASURED; ++k) {
         uint64_t dt;
         int st = cf_process_frame(&inst, &out, frames[k % DISTINCT].frame, "384x256 timing frame", &dt);
         cf_status_check(&inst, st, "384x256 timing frame");
         if (k >= WARMUP)
            times[measured++] = dt;
      }
   if (measured == MEASURED) {
      qsort(times, MEASURED, sizeof times[0], cmp_u64);
      double median = (double)(times[MEASURED / 2 - 1] + times[MEASURED / 2]) / 2e6;
      double p99 = (double)times[(MEASURED * 99 + 99) / 100 - 1] / 1e6;
      double declared = cf_opt.have_manifest ? cf_opt.manifest.cost_per_frame_s * 1e3 : 0.0;
      /* A shared CI machine cannot give a timing verdict: there the suite sets
       * SONO_CONFORM_TIMING=warn and an overrun is reported, not failed. */
      const char *mode = getenv("SONO_CONFORM_TIMING");
      int indicative = cf_under_sanitizer() || (mode && strcmp(mode, "warn") == 0);
      const char *where = cf_under_sanitizer() ? " (sanitizer build: timing is indicative only)"
                          : indicative         ? " (SONO_CONFORM_TIMING=warn: timing is indicative only)"
                                               : "";
      if (declared <= 0.0)
         cf_warn("median %.3f ms, p99 %.3f ms per 384x256 frame; the manifest declares no cost_per_frame_ms", median,
                 p99);
      else if (median > declared && !indicative)
         cf_fail("median %.3f ms per 384x256 frame exceeds the declared cost_per_frame_ms %.3f (p99 %.3f ms)", median,
                 declared, p99);
      else if (median > declared || p99 > declared)
         cf_warn("median %.3f ms, p99 %.3f ms per 384x256 frame; declared cost_per_frame_ms %.3f%s", median, p99,
                 declared, where);
      else
         cf_note("median %.3f ms, p99 %.3f ms per 384x256 frame; declared %.3f ms%s", median, p99, declared, where);
   }
   for (int i = 0; i < built; ++i)
      cf_frame_free(&frames[i]);
   cf_out_free(&out);
   cf_inst_destroy(&inst);
   cf_lib_close(&lib);
}

/* ---- replaying the same frames -------------------------------------------------- */

enum { REPLAY_FRAMES = 8, TEXT_CAP = 1 << 20 };

typedef struct run {
   cf_inst_t inst;
   cf_out_t out;
   char *texts[REPLAY_FRAMES];
   uint32_t counts[REPLAY_FRAMES];
   int status[REPLAY_FRAMES];
} run_t;

typedef struct replay {
   cf_lib_t lib;
   cf_frame_t frames[REPLAY_FRAMES];
   sono_frame_format_t fmt;
   int built;
} replay_t;

static int replay_setup(replay_t *r, uint64_t stream)
{
   if (cf_lib_open(&r->lib) != 0)
      return -1;
   cf_rng_t rng;
   cf_rng_seed(&rng, cf_opt.seed, stream);
   cf_frame_spec_t max = cf_spec(96, 80, 8, cf_planes_for(r->lib.desc));
   cf_format_for(&r->fmt, &max);
   for (r->built = 0; r->built < REPLAY_FRAMES; ++r->built) {
      cf_frame_spec_t s = max;
      s.sequence = (uint64_t)r->built;
      if (r->built % 3 == 2) {
         s.nx = 48 + cf_rng_below(&rng, 48);
         s.nz = 40 + cf_rng_below(&rng, 40);
      }
      if (cf_frame_build(&r->frames[r->built], &s, &rng) != 0)
         return -1;
   }
   return 0;
}

static void replay_teardown(replay_t *r)
{
   for (int i = 0; i < r->built; ++i)
      cf_frame_free(&r->frames[i]);
   cf_lib_close(&r->lib);
}

static int run_prepare(replay_t *r, run_t *run)
{
   memset(run, 0, sizeof *run);
   cf_out_init(&run->out, TEXT_CAP);
   if (cf_inst_create(&r->lib, &run->inst) != 0)
      return -1;
   return cf_inst_activate(&run->inst, &r->fmt);
}

static void run_frames(replay_t *r, run_t *run)
{
   for (int i = 0; i < REPLAY_FRAMES; ++i) {
      run->status[i] = cf_process_frame(&run->inst, &run->out, r->frames[i].frame, "replay frame", NULL);
      run->counts[i] = run->out.accepted;
      run->texts[i] = strdup(run->out.text ? run->out.text : "");
   }
}

static void run_free(run_t *run)
{
   for (int i = 0; i < REPLAY_FRAMES; ++i)
      free(run->texts[i]);
   cf_out_free(&run->out);
   cf_inst_destroy(&run->inst);
}

static int compare_runs(const run_t *a, const run_t *b, int exact, const char *what, const char *plugin)
{
   for (int i = 0; i < REPLAY_FRAMES; ++i) {
      if (a->status[i] != b->status[i] || a->counts[i] != b->counts[i]) {
         cf_fail("plugin %s, %s: frame %d gave %u event(s) (status %d) in one run and %u (status %d) in the other",
                 plugin, what, i, a->counts[i], a->status[i], b->counts[i], b->status[i]);
         return -1;
      }
      if (exact && strcmp(a->texts[i], b->texts[i]) != 0) {
         /* Quote the first differing event of each run. */
         const char *x = a->texts[i], *y = b->texts[i];
         int ev = 0;
         const char *lx = x, *ly = y;
         while (*x && *x == *y) {
            if (*x == '\n') {
               ++ev;
               lx = x + 1;
               ly = y + 1;
            }
            ++x, ++y;
         }
         int nx = (int)strcspn(lx, "\n"), ny = (int)strcspn(ly, "\n");
         /* The field is the "name=" token that holds the first difference. */
         const char *k = x;
         while (k > lx && k[-1] != ' ')
            --k;
         int klen = (int)strcspn(k, "=");
         cf_fail("plugin %s declares bit-exact but %s differ in frame %d, event %d, field %.*s: \"%.*s\" vs \"%.*s\"",
                 plugin, what, i, ev, klen, k, nx > 200 ? 200 : nx, lx, ny > 200 ? 200 : ny, ly);
         return -1;
      }
   }
   return 0;
}

void check_determinism_replay(void)
{
   replay_t r;
   if (replay_setup(&r, 41) != 0) {
      replay_teardown(&r);
      return;
   }
   sono_determinism_t d = r.lib.desc->determinism;
   if (d == SONO_DETERMINISM_NONE) {
      cf_note("declared non-deterministic: outputs are not compared");
      replay_teardown(&r);
      return;
   }
   run_t a, b;
   if (run_prepare(&r, &a) == 0 && run_prepare(&r, &b) == 0) {
      run_frames(&r, &a);
      run_frames(&r, &b);
      if (compare_runs(&a, &b, d == SONO_DETERMINISM_BIT_EXACT, "two replays of the same 8 frames", r.lib.desc->id) == 0)
         cf_note("8 frames replayed on two instances: %s", d == SONO_DETERMINISM_BIT_EXACT ? "byte-identical events"
                                                                                            : "same event counts");
   }
   run_free(&a);
   run_free(&b);
   replay_teardown(&r);
}

typedef struct worker {
   replay_t *r;
   run_t run;
} worker_t;

static void *worker_main(void *arg)
{
   worker_t *w = arg;
   run_frames(w->r, &w->run);
   return NULL;
}

void check_threads_instances(void)
{
   replay_t r;
   if (replay_setup(&r, 42) != 0) {
      replay_teardown(&r);
      return;
   }
   if (r.lib.desc->concurrency == SONO_CONCURRENCY_UNSAFE) {
      cf_note("declared unsafe: the host never runs two instances at once; not exercised");
      replay_teardown(&r);
      return;
   }
   enum { WORKERS = 4 };
   run_t ref;
   worker_t w[WORKERS];
   int ready = run_prepare(&r, &ref) == 0;
   int made = 0;
   for (; ready && made < WORKERS; ++made) {
      w[made].r = &r;
      if (run_prepare(&r, &w[made].run) != 0) {
         ready = 0;
         ++made;
         break;
      }
   }
   if (ready) {
      run_frames(&r, &ref);
      pthread_t th[WORKERS];
      for (int i = 0; i < WORKERS; ++i)
         pthread_create(&th[i], NULL, worker_main, &w[i]);
      for (int i = 0; i < WORKERS; ++i)
         pthread_join(th[i], NULL);
      int exact = r.lib.desc->determinism == SONO_DETERMINISM_BIT_EXACT;
      for (int i = 0; i < WORKERS && !cf_failed(); ++i) {
         char what[96];
         snprintf(what, sizeof what, "a lone instance and concurrent instance %d", i + 1);
         compare_runs(&ref, &w[i].run, exact, what, r.lib.desc->id);
      }
      if (!cf_failed())
         cf_note("%d instances processed 8 frames concurrently, consistent with a lone instance", WORKERS);
   }
   run_free(&ref);
   for (int i = 0; i < made; ++i)
      run_free(&w[i].run);
   replay_teardown(&r);
}
