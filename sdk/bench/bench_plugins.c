/* sono-bench plugins: per-frame time of every plugin in the plugin folder on
 * a 384x256 phantom frame (nasolabial-ha-occlusion, ensemble 16) with its
 * planes given, single thread. Each figure is printed against the plugin's
 * declared cost (the manifest's cost_per_frame_ms, which is its target) and
 * against a streaming read of the planes it receives (the memory floor).
 *
 * Usage: sono-bench plugins [DIR] [--reps N]. More repetitions than the
 * default 40 let a sampling profiler see the plugins rather than the
 * phantom that makes the frame. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sono/dsp/pipeline.h>
#include <sono/host/host.h>
#include <sono/sim/phantom.h>

#include "timing.h"

typedef struct bench_frame {
   sono_sim_t *sim;
   float *iq;
   sono_dsp_pipeline_t *dsp;
   sono_plane_t planes[5];
   sono_frame_t frame;
   sono_frame_format_t format;
   size_t plane_bytes;
} bench_frame;

static int make_frame(bench_frame *b, sono_error_t *err)
{
   sono_sim_case_t c;
   if (sono_sim_case_preset(&c, "nasolabial-ha-occlusion", 7, err) < 0 || !(b->sim = sono_sim_create(&c, err)))
      return -1;
   const sono_sim_case_t *cc = sono_sim_get_case(b->sim);
   size_t n = (size_t)cc->nz * cc->nx * cc->ensemble;
   b->iq = malloc(n * 2 * sizeof(float));
   if (!b->iq || sono_sim_generate_frame(b->sim, 0, b->iq, err) < 0)
      return -1;
   memset(&b->frame, 0, sizeof b->frame);
   b->frame.struct_size = sizeof b->frame;
   sono_sim_grid(b->sim, &b->frame.grid);
   sono_sim_acquisition(b->sim, &b->frame.acquisition);
   b->planes[0] = (sono_plane_t){sizeof(sono_plane_t), SONO_PLANE_IQ, SONO_DTYPE_COMPLEX64,
                                 {cc->nz, cc->nx, cc->ensemble}, {1, cc->nz, (int64_t)cc->nz * cc->nx}, b->iq};
   sono_dsp_config_t cfg;
   char msg[256];
   sono_dsp_config_default(&cfg);
   sono_dsp_parse_wall("poly:2", &cfg, msg, sizeof msg);
   b->dsp = sono_dsp_pipeline_create(&cfg, cc->nz, cc->nx, cc->ensemble, msg, sizeof msg);
   uint32_t want = SONO_PLANE_BIT(SONO_PLANE_BMODE) | SONO_PLANE_BIT(SONO_PLANE_VELOCITY) |
                   SONO_PLANE_BIT(SONO_PLANE_POWER) | SONO_PLANE_BIT(SONO_PLANE_VARIANCE);
   int k = b->dsp ? sono_dsp_pipeline_run(b->dsp, &b->planes[0], &b->frame.acquisition, want, b->planes + 1,
                                          &b->frame.acquisition, msg, sizeof msg)
                  : -1;
   if (k < 0)
      return sono_error_set(err, "Doppler core: %s", msg);
   b->frame.planes = b->planes;
   b->frame.plane_count = 1 + (uint32_t)k;
   b->plane_bytes = (size_t)cc->nz * cc->nx * (1 + 3 * sizeof(float));
   memset(&b->format, 0, sizeof b->format);
   b->format.struct_size = sizeof b->format;
   b->format.planes_available = SONO_PLANE_BIT(SONO_PLANE_IQ) | want;
   b->format.max_nx = cc->nx;
   b->format.max_nz = cc->nz;
   b->format.max_ensemble = cc->ensemble;
   b->format.grid = b->frame.grid;
   b->format.acquisition = b->frame.acquisition;
   return 0;
}

static double thread_cpu_s(void)
{
   struct timespec t;
   clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
   return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
   double x = *(const double *)a, y = *(const double *)b;
   return (x > y) - (x < y);
}

/* Median thread CPU time per call: on the shared machine the wall-clock
 * median counts the time the thread waited for a core (3-4x at a load
 * average of 8 on 2 cores); CPU time does not, so it tracks the plugin's
 * own cost when the machine is busy (cache sharing still shows). */
static double cpu_median_s(void (*fn)(void *), void *ctx, int reps)
{
   double *t = malloc((size_t)reps * sizeof *t);
   if (!t)
      return 0.0;
   for (int i = 0; i < reps; ++i) {
      double t0 = thread_cpu_s();
      fn(ctx);
      t[i] = thread_cpu_s() - t0;
   }
   qsort(t, (size_t)reps, sizeof *t, cmp_double);
   double m = t[reps / 2];
   free(t);
   return m;
}

typedef struct run_ctx {
   sono_host_instance_t *inst;
   const sono_frame_t *frame;
} run_ctx;

static void run_once(void *c)
{
   run_ctx *r = c;
   sono_error_t err;
   sono_host_instance_process(r->inst, r->frame, &err);
}

static void bench_one(const sono_host_listing_t *item, bench_frame *b, double floor_s, int reps)
{
   sono_error_t err;
   sono_host_library_t *lib = sono_host_library_load(item->manifest.path, &err);
   sono_host_instance_t *inst = lib ? sono_host_instance_create(lib, NULL, NULL, &err) : NULL;
   if (!inst || sono_host_instance_activate(inst, &b->format, &err) < 0) {
      printf("%-34s not measured: %s\n", item->manifest.id, err.message);
   } else {
      run_ctx r = {inst, &b->frame};
      char name[128];
      snprintf(name, sizeof name, "%s", item->manifest.id);
      bench_stats_t s = bench_run(run_once, &r, 3, reps);
      bench_report(name, s, floor_s, "planes read", item->manifest.cost_per_frame_s);
      double cpu = cpu_median_s(run_once, &r, reps);
      printf("%-44s median %9.4f ms thread CPU time   target %.4f ms (%.2fx)\n", "", cpu * 1e3,
             item->manifest.cost_per_frame_s * 1e3,
             item->manifest.cost_per_frame_s > 0 ? cpu / item->manifest.cost_per_frame_s : 0.0);
   }
   sono_host_instance_destroy(inst);
   if (lib)
      sono_host_library_unload(lib, &err);
}

int sono_bench_plugins(int argc, char **argv)
{
   const char *dir = SONO_PLUGIN_DIR;
   int reps = 40;
   for (int i = 1; i < argc; ++i) {
      if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc) {
         reps = atoi(argv[++i]);
         if (reps < 1 || reps > 1000000) {
            fprintf(stderr, "sono-bench plugins: --reps %s; expected 1..1000000\n", argv[i]);
            return 2;
         }
      } else if (argv[i][0] == '-') {
         fprintf(stderr, "sono-bench plugins: unknown option %s; expected [DIR] [--reps N]\n", argv[i]);
         return 2;
      } else {
         dir = argv[i];
      }
   }
   bench_frame b = {0};
   sono_error_t err;
   if (make_frame(&b, &err) < 0) {
      fprintf(stderr, "sono-bench plugins: %s\n", err.message);
      return 1;
   }
   sono_host_listing_t *items = NULL;
   int n = sono_host_scan(dir, &items, &err);
   if (n < 0) {
      fprintf(stderr, "sono-bench plugins: %s\n", err.message);
      return 1;
   }
   uint8_t *copy = malloc(b.plane_bytes);
   memset(copy, 1, b.plane_bytes);
   bench_stats_t floor = bench_stream_read(copy, b.plane_bytes, 40);
   printf("per-frame plugin time, %ux%u frame, ensemble %u, single thread, median of %d (target: manifest cost)\n",
          b.frame.grid.nz, b.frame.grid.nx, b.frame.acquisition.ensemble_size, reps);
   bench_report("streaming read of the planes (floor)", floor, 0, NULL, 0);
   for (int i = 0; i < n; ++i)
      if (items[i].ok)
         bench_one(&items[i], &b, floor.median_s, reps);
      else
         printf("%-34s invalid manifest: %s\n", items[i].manifest.path, items[i].error);
   free(copy);
   free(items);
   sono_dsp_pipeline_destroy(b.dsp);
   free(b.iq);
   sono_sim_destroy(b.sim);
   return 0;
}
