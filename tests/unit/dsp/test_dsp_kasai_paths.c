/* libsono_dsp: the single-pass Kasai kernels (unit depth stride, no wall
 * filter) against the block path (any other layout) on synthetic cubes that
 * reach every branch of the single pass: 512-bit steps where the CPU has
 * AVX-512F, 16- and 8-depth steps and single depths for the rest of a
 * column, software prefetch above 32 slow-time planes, lags above 1, the
 * mask (a band 60 dB down, zero-power patches, the variance threshold) and
 * two threads. The two paths must agree bit for bit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sono/dsp/pipeline.h>

#include "dsp_test_util.h"

enum { NZ = 250, NX = 9 }; /* 250 = 7 x 32 + 16 + 8 + 2 depths */

/* Deterministic cube in F order (z fastest, then x, then t): uniform values
 * in [-0.5, 0.5), the deepest quarter 60 dB down, and zero-power patches
 * every third column near the top. */
static float *make_cube(uint32_t n)
{
   float *c = malloc(sizeof(float) * 2 * NZ * NX * n);
   uint32_t s = 2024u;
   for (uint32_t t = 0; t < n; ++t)
      for (uint32_t x = 0; x < NX; ++x)
         for (uint32_t z = 0; z < NZ; ++z) {
            const float scale = z >= NZ * 3 / 4 ? 1e-3f : (x % 3 == 0 && z < 20 ? 0.0f : 1.0f);
            float *q = c + 2 * ((size_t)t * NZ * NX + (size_t)x * NZ + z);
            for (int k = 0; k < 2; ++k) {
               s = s * 1664525u + 1013904223u;
               q[k] = scale * ((float)(s >> 8) / 16777216.0f - 0.5f);
            }
         }
   return c;
}

/* The same values with the slow-time index fastest: (z, x, t) at
 * t + n * (z + NZ * x), which the single pass does not take. */
static float *slow_time_first(const float *f, uint32_t n)
{
   float *c = malloc(sizeof(float) * 2 * NZ * NX * n);
   for (uint32_t t = 0; t < n; ++t)
      for (uint32_t x = 0; x < NX; ++x)
         for (uint32_t z = 0; z < NZ; ++z) {
            const size_t src = z + (size_t)NZ * (x + (size_t)NX * t), dst = t + (size_t)n * (z + (size_t)NZ * x);
            c[2 * dst] = f[2 * src];
            c[2 * dst + 1] = f[2 * src + 1];
         }
   return c;
}

/* Runs Kasai M = 1 (no wall filter) and copies velocity, power and
 * variance, NZ x NX each, into out[3][NZ * NX]. */
static void run(const sono_plane_t *iq, uint32_t lag, uint32_t threads, double variance_threshold, float *out)
{
   sono_dsp_config_t cfg;
   sono_dsp_config_default(&cfg);
   cfg.lag = lag;
   cfg.threads = threads;
   cfg.variance_threshold = variance_threshold;
   char err[256] = "";
   sono_dsp_pipeline_t *p = sono_dsp_pipeline_create(&cfg, NZ, NX, iq->shape[2], err, sizeof err);
   if (!p)
      fail_msg("pipeline create: %s", err);
   sono_acquisition_t acq;
   memset(&acq, 0, sizeof acq);
   acq.center_frequency_hz = 5e6;
   acq.demodulation_frequency_hz = 5e6;
   acq.sound_speed_m_s = 1540.0;
   acq.prf_hz = 4000.0;
   const uint32_t wanted =
      SONO_PLANE_BIT(SONO_PLANE_VELOCITY) | SONO_PLANE_BIT(SONO_PLANE_POWER) | SONO_PLANE_BIT(SONO_PLANE_VARIANCE);
   sono_plane_t planes[4];
   const int count = sono_dsp_pipeline_run(p, iq, &acq, wanted, planes, NULL, err, sizeof err);
   if (count != 3)
      fail_msg("pipeline run gave %d planes: %s", count, err);
   for (int k = 0; k < 3; ++k)
      for (uint32_t x = 0; x < NX; ++x)
         memcpy(out + (size_t)k * NZ * NX + (size_t)x * NZ, (const float *)planes[k].data + x * planes[k].stride[1],
                sizeof(float) * NZ);
   sono_dsp_pipeline_destroy(p);
}

static void test_single_pass_equals_block_path(void **state)
{
   (void)state;
   static const uint32_t ensembles[] = {7, 16, 32, 33, 64};
   float *a = malloc(sizeof(float) * 3 * NZ * NX), *b = malloc(sizeof(float) * 3 * NZ * NX);
   for (size_t e = 0; e < sizeof ensembles / sizeof ensembles[0]; ++e) {
      const uint32_t n = ensembles[e];
      float *f = make_cube(n), *r = slow_time_first(f, n);
      sono_plane_t pf = dsp_test_iq_plane(f, NZ, NX, n), pr = pf;
      pr.stride[0] = n, pr.stride[1] = (int64_t)n * NZ, pr.stride[2] = 1;
      pr.data = r;
      for (uint32_t lag = 1; lag <= 2; ++lag)
         for (uint32_t threads = 1; threads <= 2; ++threads)
            for (int vmask = 0; vmask < 2; ++vmask) {
               const double vthr = vmask ? 0.2 : 0.0;
               run(&pf, lag, threads, vthr, a);
               run(&pr, lag, 1, vthr, b);
               size_t masked = 0, kept = 0;
               for (size_t i = 0; i < (size_t)NZ * NX; ++i)
                  a[i] == 0.0f ? ++masked : ++kept;
               if (!masked || !kept)
                  fail_msg("n %u lag %u: %zu masked and %zu unmasked velocity pixels, expected some of each", n, lag,
                           masked, kept);
               for (int k = 0; k < 3; ++k)
                  for (size_t i = 0; i < (size_t)NZ * NX; ++i)
                     if (memcmp(a + k * NZ * NX + i, b + k * NZ * NX + i, sizeof(float)))
                        fail_msg("n %u lag %u threads %u variance mask %d: plane %d (velocity, power, variance) "
                                 "depth %zu column %zu: single pass %a, block path %a",
                                 n, lag, threads, vmask, k, i % NZ, i / NZ, (double)a[k * NZ * NX + i],
                                 (double)b[k * NZ * NX + i]);
            }
      free(f);
      free(r);
   }
   free(a);
   free(b);
}

int main(void)
{
   const struct CMUnitTest tests[] = {cmocka_unit_test(test_single_pass_equals_block_path)};
   return cmocka_run_group_tests(tests, NULL, NULL);
}
