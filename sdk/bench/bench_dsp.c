/* sono-bench dsp: libsono_dsp figures of the Doppler core, each printed with
 * its ratio to a streaming read of the same input buffer (the memory
 * roofline, measured in the same run) and to the target.
 *   sono-bench dsp [--reps N] */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sono/dsp/pipeline.h>
#include <sono/dsp/spectral.h>

#include "timing.h"

typedef struct dop_case {
   sono_dsp_pipeline_t *p;
   sono_plane_t iq;
   sono_acquisition_t acq;
   uint32_t wanted;
} dop_case_t;

typedef struct stft_case {
   sono_dsp_stft_t *s;
   const float *x;
   float *out;
   int db;
} stft_case_t;

static float *make_iq(uint32_t nz, uint32_t nx, uint32_t n)
{
   size_t count = 2 * (size_t)nz * nx * n;
   float *b = aligned_alloc(64, (count * sizeof(float) + 63) & ~(size_t)63);
   uint32_t s = 12345u;
   for (size_t i = 0; i < count; ++i) {
      s = s * 1664525u + 1013904223u;
      b[i] = (float)(s >> 8) / 16777216.0f - 0.5f;
   }
   return b;
}

static void run_dop(void *ctx)
{
   dop_case_t *c = ctx;
   sono_plane_t out[4];
   char err[256];
   if (sono_dsp_pipeline_run(c->p, &c->iq, &c->acq, c->wanted, out, NULL, err, sizeof err) < 0) {
      fprintf(stderr, "sono-bench dsp: %s\n", err);
      exit(1);
   }
   bench_sink(((const float *)out[0].data)[0]);
}

static void run_stft(void *ctx)
{
   stft_case_t *c = ctx;
   char err[256];
   int n = c->db ? sono_dsp_stft_db(c->s, c->x, 1, 8192, c->out, err, sizeof err)
                 : sono_dsp_stft_power(c->s, c->x, 1, 8192, c->out, err, sizeof err);
   bench_sink(c->out[n > 0 ? 1 : 0]);
}

static const uint32_t DOPPLER = SONO_PLANE_BIT(SONO_PLANE_VELOCITY) | SONO_PLANE_BIT(SONO_PLANE_POWER) |
                                SONO_PLANE_BIT(SONO_PLANE_VARIANCE);

/* Times one pipeline configuration on an nz x nx x n cube. */
static bench_stats_t time_case(const char *wall, uint32_t m, uint32_t threads, uint32_t nz, uint32_t nx, uint32_t n,
                               uint32_t wanted, const float *data, int reps)
{
   sono_dsp_config_t cfg;
   sono_dsp_config_default(&cfg);
   char err[256];
   if (sono_dsp_parse_wall(wall, &cfg, err, sizeof err)) {
      fprintf(stderr, "sono-bench dsp: %s\n", err);
      exit(1);
   }
   cfg.smoothing = m;
   cfg.threads = threads;
   dop_case_t c;
   memset(&c, 0, sizeof c);
   c.p = sono_dsp_pipeline_create(&cfg, nz, nx, n, err, sizeof err);
   if (!c.p) {
      fprintf(stderr, "sono-bench dsp: %s\n", err);
      exit(1);
   }
   c.iq.struct_size = sizeof c.iq;
   c.iq.kind = SONO_PLANE_IQ;
   c.iq.dtype = SONO_DTYPE_COMPLEX64;
   c.iq.shape[0] = nz, c.iq.shape[1] = nx, c.iq.shape[2] = n;
   c.iq.stride[0] = 1, c.iq.stride[1] = nz, c.iq.stride[2] = (int64_t)nz * nx;
   c.iq.data = data;
   c.acq.center_frequency_hz = 5e6;
   c.acq.demodulation_frequency_hz = 5e6;
   c.acq.sound_speed_m_s = 1540;
   c.acq.prf_hz = 4000;
   c.wanted = wanted;
   bench_stats_t s = bench_run(run_dop, &c, 3, reps);
   sono_dsp_pipeline_destroy(c.p);
   return s;
}

static void bench_scaling(int reps)
{
   printf("-- scaling (Kasai M=1, velocity+power+variance; ns per pixel x ensemble sample) --\n");
   static const uint32_t ens[] = {8, 16, 32, 64};
   float *big = make_iq(256, 256, 64);
   for (size_t i = 0; i < 4; ++i) {
      bench_stats_t s = time_case("none", 1, 1, 256, 256, ens[i], DOPPLER, big, reps);
      bench_stats_t st = bench_stream_read(big, sizeof(float) * 2 * 256 * 256 * ens[i], reps);
      printf("256x256x%-3u  median %8.4f ms  %6.3f ns/(px*n)  %5.2fx stream\n", ens[i], s.median_s * 1e3,
             s.median_s * 1e9 / (256.0 * 256.0 * ens[i]), s.median_s / st.median_s);
   }
   free(big);
   static const uint32_t side[] = {128, 256, 384, 512};
   float *img = make_iq(512, 512, 16);
   for (size_t i = 0; i < 4; ++i) {
      bench_stats_t s = time_case("none", 1, 1, side[i], side[i], 16, DOPPLER, img, reps);
      bench_stats_t st = bench_stream_read(img, sizeof(float) * 2 * side[i] * side[i] * 16, reps);
      printf("%3ux%-3ux16   median %8.4f ms  %6.3f ns/(px*n)  %5.2fx stream\n", side[i], side[i], s.median_s * 1e3,
             s.median_s * 1e9 / ((double)side[i] * side[i] * 16), s.median_s / st.median_s);
   }
   free(img);
}

/* ---- where the Kasai M=1 time goes -------------------------------------
 * Each piece of the direct column pass timed alone on the same cube: what
 * the memory system gives (a vector read, and a read in the kernel's own
 * order), what the output planes cost, and what the arithmetic costs when
 * the input sits in L2 (a small cube, scaled to 256x256x16). */
/* 16-byte vectors: the bench is built for the x86-64 baseline, where
 * wider generic vectors would be kept on the stack. */
typedef float bv4f __attribute__((vector_size(16)));

typedef struct read_case {
   const float *data;
   uint32_t nz, nx, n;
   float *out;
} read_case_t;

/* Eight independent vector sums: a read that no add latency limits. */
static void read_vector(void *ctx)
{
   const read_case_t *c = ctx;
   const size_t count = 2 * (size_t)c->nz * c->nx * c->n;
   bv4f a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0}, a4 = {0}, a5 = {0}, a6 = {0}, a7 = {0};
   for (size_t i = 0; i + 32 <= count; i += 32) {
      bv4f v[8];
      memcpy(v, c->data + i, sizeof v);
      a0 += v[0], a1 += v[1], a2 += v[2], a3 += v[3], a4 += v[4], a5 += v[5], a6 += v[6], a7 += v[7];
   }
   a0 += a1 + a2 + a3 + a4 + a5 + a6 + a7;
   bench_sink(a0[0] + a0[3]);
}

/* The loads of the Kasai M=1 column pass and nothing else: per column,
 * 16 depths (two cache lines) of every slow-time plane per step. */
static void read_kernel_order(void *ctx)
{
   const read_case_t *c = ctx;
   const size_t plane = 2 * (size_t)c->nz * c->nx;
   bv4f a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0}, a4 = {0}, a5 = {0}, a6 = {0}, a7 = {0};
   for (uint32_t x = 0; x < c->nx; ++x) {
      const float *col = c->data + 2 * (size_t)x * c->nz;
      for (uint32_t z = 0; z + 16 <= c->nz; z += 16)
         for (uint32_t t = 0; t < c->n; ++t) {
            bv4f v[8];
            memcpy(v, col + plane * t + 2 * z, sizeof v);
            a0 += v[0], a1 += v[1], a2 += v[2], a3 += v[3], a4 += v[4], a5 += v[5], a6 += v[6], a7 += v[7];
         }
   }
   a0 += a1 + a2 + a3 + a4 + a5 + a6 + a7;
   bench_sink(a0[0] + a0[3]);
}

/* The output traffic of Kasai M=1: power, velocity and variance planes
 * written by the column pass, then power read and dB written by the final
 * pass (1 MB written, 256 kB read). */
static void write_outputs(void *ctx)
{
   const read_case_t *c = ctx;
   const size_t px = (size_t)c->nz * c->nx;
   const bv4f one = {1, 2, 3, 4};
   for (int plane = 0; plane < 3; ++plane)
      for (size_t i = 0; i + 4 <= px; i += 4)
         memcpy(c->out + plane * px + i, &one, sizeof one);
   for (size_t i = 0; i + 4 <= px; i += 4) {
      bv4f v;
      memcpy(&v, c->out + i, sizeof v);
      v = v * one;
      memcpy(c->out + 3 * px + i, &v, sizeof v);
   }
   bench_sink(c->out[px]);
}

static void bench_kasai_breakdown(const float *iq, double stream_s, double kasai_s, int reps)
{
   printf("-- where Kasai M=1 (256x256x16) spends its time --\n");
   read_case_t c = {iq, 256, 256, 16, malloc(sizeof(float) * 4 * 256 * 256)};
   bench_stats_t rv = bench_run(read_vector, &c, 3, reps);
   bench_report("read of the cube, 8 vector sums", rv, stream_s, "stream", 0);
   bench_stats_t rk = bench_run(read_kernel_order, &c, 3, reps);
   bench_report("read in the kernel's order (16 planes/step)", rk, stream_s, "stream", 0);
   bench_stats_t wo = bench_run(write_outputs, &c, 3, reps);
   bench_report("output planes alone (1 MB written)", wo, stream_s, "stream", 0);
   /* 256x16x16 complex64 is 512 kB: after the first run it stays in L2, so
    * this is the arithmetic of the pass, with columns as long as the big
    * cube's (the same per-column work), scaled to 256 columns */
   float *small = make_iq(256, 16, 16);
   bench_stats_t ks = time_case("none", 1, 1, 256, 16, 16, DOPPLER, small, reps * 20);
   const double scale = 256.0 / 16.0;
   printf("%-44s median %9.4f ms  %.3f ns/(px*n); x%.0f = %.4f ms for 256x256x16\n",
          "Kasai M=1 on 256x16x16 (input in L2)", ks.median_s * 1e3, ks.median_s * 1e9 / (256.0 * 16.0 * 16.0),
          scale, ks.median_s * scale * 1e3);
   printf("%-44s %.4f ms above the vector read, %.4f ms above the L2-resident arithmetic\n",
          "Kasai M=1 (from the run above)", (kasai_s - rv.median_s) * 1e3, (kasai_s - ks.median_s * scale) * 1e3);
   free(small);
   free(c.out);
}

static void bench_threads(const float *iq, int reps)
{
   printf("-- 2-thread speed-up (256x256x16; results are bit-identical) --\n");
   static const struct {
      const char *name, *wall;
      uint32_t m;
   } cases[] = {{"Kasai M=1", "none", 1}, {"poly2 + Kasai + M=5", "poly:2", 5}, {"SVD rank 2 + Kasai", "svd:2", 1}};
   for (size_t i = 0; i < 3; ++i) {
      bench_stats_t one = time_case(cases[i].wall, cases[i].m, 1, 256, 256, 16, DOPPLER, iq, reps);
      bench_stats_t two = time_case(cases[i].wall, cases[i].m, 2, 256, 256, 16, DOPPLER, iq, reps);
      printf("%-24s 1 thread %8.4f ms   2 threads %8.4f ms   speed-up %.2fx\n", cases[i].name, one.median_s * 1e3,
             two.median_s * 1e3, one.median_s / two.median_s);
   }
}

static void bench_stft(int reps)
{
   char err[256];
   stft_case_t c;
   c.s = sono_dsp_stft_create(256, 64, 256, 8192, err, sizeof err);
   if (!c.s) {
      fprintf(stderr, "sono-bench dsp: %s\n", err);
      exit(1);
   }
   float *x = make_iq(8192, 1, 1);
   c.x = x;
   c.out = malloc(sizeof(float) * 256 * 125);
   bench_stats_t st = bench_stream_read(x, sizeof(float) * 2 * 8192, reps * 10);
   c.db = 0;
   bench_stats_t sp = bench_run(run_stft, &c, 5, reps * 10);
   bench_report("STFT 8192, Hann 256, hop 64: power", sp, st.median_s, "stream", 0.05e-3);
   c.db = 1;
   bench_stats_t sd = bench_run(run_stft, &c, 5, reps * 10);
   bench_report("STFT 8192, Hann 256, hop 64: dB", sd, st.median_s, "stream", 0.1e-3);
   sono_dsp_stft_destroy(c.s);
   free(c.out);
   free(x);
}

int sono_bench_dsp(int argc, char **argv)
{
   int reps = 30;
   for (int i = 1; i + 1 < argc; ++i)
      if (!strcmp(argv[i], "--reps"))
         reps = atoi(argv[i + 1]);
   if (reps < 3)
      reps = 3;
   float *iq = make_iq(256, 256, 16);
   const size_t bytes = sizeof(float) * 2 * 256 * 256 * 16;
   bench_stats_t st = bench_stream_read(iq, bytes, reps);
   printf("-- 256x256x16 complex64 (%.1f MB), single thread, %d repetitions --\n", bytes / 1e6, reps);
   bench_report("streaming read of the IQ cube", st, 0, NULL, 0);
   bench_stats_t k1 = time_case("none", 1, 1, 256, 256, 16, DOPPLER, iq, reps);
   bench_report("Kasai M=1 (velocity+power+variance)", k1, st.median_s, "stream", 0.5e-3);
   printf("%-44s %.2fx stream: %s the 2x target\n", "", k1.median_s / st.median_s,
          k1.median_s <= 2.0 * st.median_s ? "within" : "OUTSIDE");
   bench_kasai_breakdown(iq, st.median_s, k1.median_s, reps);
   bench_stats_t kv = time_case("none", 1, 1, 256, 256, 16, SONO_PLANE_BIT(SONO_PLANE_VELOCITY), iq, reps);
   bench_report("Kasai M=1 (velocity only)", kv, st.median_s, "stream", 0.5e-3);
   bench_stats_t pk = time_case("poly:2", 5, 1, 256, 256, 16, DOPPLER, iq, reps);
   bench_report("poly2 wall + Kasai + M=5", pk, st.median_s, "stream", 2e-3);
   bench_stats_t dk = time_case("dct:2", 5, 1, 256, 256, 16, DOPPLER, iq, reps);
   bench_report("dct2 wall + Kasai + M=5", dk, st.median_s, "stream", 2e-3);
   bench_stats_t ik = time_case("iir:200:4", 5, 1, 256, 256, 16, DOPPLER, iq, reps);
   bench_report("iir4 wall + Kasai + M=5", ik, st.median_s, "stream", 0);
   bench_stats_t sv = time_case("svd:2", 1, 1, 256, 256, 16, DOPPLER, iq, reps);
   bench_report("SVD rank 2 + Kasai", sv, st.median_s, "stream", 10e-3);
   bench_stats_t bm = time_case("none", 1, 1, 256, 256, 16, SONO_PLANE_BIT(SONO_PLANE_BMODE), iq, reps);
   bench_stats_t st1 = bench_stream_read(iq, bytes / 16, reps);
   bench_report("B-mode from IQ 256x256 (40 dB, uint8)", bm, st1.median_s, "stream of one slice", 0.2e-3);
   bench_stft(reps);
   bench_scaling(reps);
   bench_threads(iq, reps);
   free(iq);
   return 0;
}
