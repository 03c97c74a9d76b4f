/* sono-bench sim: libsono_sim per-frame generation of the README's default
 * scenario (384 z x 256 x x 16 ensemble), single thread, against two
 * baselines measured in the same run: a streaming read of the output frame
 * (memory roofline) and the FFT convolution work alone (16 forward+inverse
 * 2-D FFTs of the padded grid, the floor of a PSF pass per ensemble sample).
 *   sono-bench sim [--reps N] [--threads T] */
#include <complex.h>
#include <fftw3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sono/sim/phantom.h>

#include "timing.h"

#define TARGET_S 0.200

typedef struct sim_ctx {
   sono_sim_t *sim;
   float *iq;
   uint32_t frame;
   uint32_t frames;
} sim_ctx_t;

static void one_frame(void *p)
{
   sim_ctx_t *c = p;
   sono_sim_generate_frame(c->sim, c->frame, c->iq, NULL);
   c->frame = (c->frame + 1) % c->frames;
   bench_sink(c->iq[0]);
}

typedef struct fft_ctx {
   fftwf_plan fwd, inv;
   fftwf_complex *w;
   uint32_t ensemble;
} fft_ctx_t;

static void fft_pass(void *p)
{
   fft_ctx_t *c = p;
   for (uint32_t n = 0; n < c->ensemble; ++n) {
      fftwf_execute(c->fwd);
      fftwf_execute(c->inv);
   }
   bench_sink(crealf(c->w[0]));
}

int sono_bench_sim(int argc, char **argv)
{
   int reps = 9;
   uint32_t threads = 1;
   for (int i = 1; i + 1 < argc; i += 2) {
      if (strcmp(argv[i], "--reps") == 0)
         reps = atoi(argv[i + 1]);
      else if (strcmp(argv[i], "--threads") == 0)
         threads = (uint32_t)atoi(argv[i + 1]);
   }
   sono_sim_case_t c;
   sono_error_t err = {{0}};
   if (sono_sim_case_preset(&c, "nasolabial-ha-occlusion", 1, &err)) {
      fprintf(stderr, "sono-bench sim: %s\n", err.message);
      return 1;
   }
   c.threads = threads;
   double t0 = bench_now_s();
   sono_sim_t *sim = sono_sim_create(&c, &err);
   double setup = bench_now_s() - t0;
   if (!sim) {
      fprintf(stderr, "sono-bench sim: %s\n", err.message);
      return 1;
   }
   size_t values = (size_t)c.nz * c.nx * c.ensemble;
   sim_ctx_t sc = {sim, malloc(sizeof(float) * 2 * values), 0, c.frames};
   /* the same padded FFT size the generator picks: a few PSF widths beyond the grid */
   int fz = (int)c.nz + 16, fx = (int)c.nx + 16;
   fft_ctx_t fc = {0};
   fc.ensemble = c.ensemble;
   fc.w = fftwf_malloc(sizeof(fftwf_complex) * (size_t)fz * fx);
   fc.fwd = fftwf_plan_dft_2d(fx, fz, fc.w, fc.w, FFTW_FORWARD, FFTW_ESTIMATE);
   fc.inv = fftwf_plan_dft_2d(fx, fz, fc.w, fc.w, FFTW_BACKWARD, FFTW_ESTIMATE);
   memset(fc.w, 0, sizeof(fftwf_complex) * (size_t)fz * fx);
   if (!sc.iq || !fc.w) {
      fprintf(stderr, "sono-bench sim: out of memory\n");
      return 1;
   }
   memset(sc.iq, 0, sizeof(float) * 2 * values);

   bench_stats_t stream = bench_stream_read(sc.iq, sizeof(float) * 2 * values, reps);
   bench_stats_t ffts = bench_run(fft_pass, &fc, 1, reps);
   bench_stats_t frame = bench_run(one_frame, &sc, 1, reps);
   printf("case nasolabial-ha-occlusion %u x %u x %u, %u thread(s), setup (tissue, plans) %.1f ms once per case\n",
          c.nz, c.nx, c.ensemble, threads, setup * 1e3);
   bench_report("stream read of one frame (baseline)", stream, 0, NULL, 0);
   bench_report("16 FFT pairs of the padded grid", ffts, stream.median_s, "stream", 0);
   bench_report("sim frame (blood PSF, tissue, noise)", frame, ffts.median_s, "fft", TARGET_S);

   fftwf_destroy_plan(fc.fwd);
   fftwf_destroy_plan(fc.inv);
   fftwf_free(fc.w);
   free(sc.iq);
   sono_sim_destroy(sim);
   return frame.median_s <= TARGET_S ? 0 : 1;
}
