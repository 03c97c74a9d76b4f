/* libsono_dsp against the MUST/PyMUST outputs of the real pwi_disk
 * acquisition (../shared/data/pwi_disk): velocity, variance and B-mode. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sono/dsp/bmode.h>
#include <sono/dsp/pipeline.h>

#include "dsp_test_util.h"

enum { NZ = 251, NX = 251, NE = 32 };
static const double VN = 1480.0 * 10000.0 / (4.0 * 5e6);

static float *g_iq;
static const char *g_dir;

static sono_acquisition_t disk_acq(void)
{
   sono_acquisition_t a;
   memset(&a, 0, sizeof a);
   a.center_frequency_hz = 5e6;
   a.demodulation_frequency_hz = 5e6;
   a.sound_speed_m_s = 1480.0;
   a.prf_hz = 10000.0;
   return a;
}

/* Runs the pipeline on the disk IQ; out[0..2] = velocity, power, variance. */
static void run_disk(const sono_plane_t *iq, uint32_t m, sono_dsp_border_t border, uint32_t threads,
                     sono_wall_filter_t wall, uint32_t order, sono_plane_t *out)
{
   sono_dsp_config_t cfg;
   sono_dsp_config_default(&cfg);
   cfg.smoothing = m;
   cfg.border = border;
   cfg.threads = threads;
   cfg.wall = wall;
   cfg.wall_order = order;
   cfg.power_threshold_db = -INFINITY;
   char err[256];
   sono_dsp_pipeline_t *p = sono_dsp_pipeline_create(&cfg, NZ, NX, NE, err, sizeof err);
   assert_non_null(p);
   sono_acquisition_t acq = disk_acq(), acq_out;
   uint32_t want = SONO_PLANE_BIT(SONO_PLANE_VELOCITY) | SONO_PLANE_BIT(SONO_PLANE_POWER) |
                   SONO_PLANE_BIT(SONO_PLANE_VARIANCE);
   sono_plane_t planes[4];
   assert_int_equal(sono_dsp_pipeline_run(p, iq, &acq, want, planes, &acq_out, err, sizeof err), 3);
   assert_true(fabs(acq_out.nyquist_velocity_m_s - VN) < 1e-12);
   assert_int_equal(acq_out.doppler_lag, 1);
   /* copy out: the pipeline's buffers die with it */
   for (int k = 0; k < 3; ++k) {
      float *copy = malloc(sizeof(float) * NZ * NX);
      for (uint32_t x = 0; x < NX; ++x)
         for (uint32_t z = 0; z < NZ; ++z)
            copy[z + NZ * x] = ((const float *)planes[k].data)[z + planes[k].stride[1] * x];
      out[k] = planes[k];
      out[k].data = copy;
      out[k].stride[1] = NZ;
   }
   sono_dsp_pipeline_destroy(p);
}

static void free_planes(sono_plane_t *out)
{
   for (int k = 0; k < 3; ++k)
      free((void *)out[k].data);
}

static void check_against(const char *vel_file, const char *var_file, uint32_t m)
{
   float *vref = dsp_test_load(g_dir, vel_file, sizeof(float) * NZ * NX);
   float *sref = dsp_test_load(g_dir, var_file, sizeof(float) * NZ * NX);
   assert_non_null(vref);
   assert_non_null(sref);
   sono_plane_t iq = dsp_test_iq_plane(g_iq, NZ, NX, NE), out[3];
   run_disk(&iq, m, SONO_DSP_BORDER_MIRROR, 1, SONO_WALL_NONE, 0, out);
   const float *v = out[0].data, *pdb = out[1].data, *s2 = out[2].data;
   double worst_v = 0, worst_s = 0;
   size_t compared = 0;
   for (size_t i = 0; i < (size_t)NZ * NX; ++i) {
      double d = dsp_test_wrapped_diff(v[i], vref[i], VN);
      worst_v = d > worst_v ? d : worst_v;
      if (pdb[i] > -40.0f) {
         double r = fabs(s2[i] - sref[i]) / fabs(sref[i]);
         worst_s = r > worst_s ? r : worst_s;
         ++compared;
      }
   }
   printf("M=%u: max |dv| = %.3g VN over %d pixels; variance max rel err %.3g over %zu pixels above -40 dB\n", m,
          worst_v / VN, NZ * NX, worst_s, compared);
   assert_true(worst_v <= 1e-5 * VN);
   assert_true(worst_s <= 1e-4);
   assert_true(compared > 1000);
   free_planes(out);
   free(vref);
   free(sref);
}

static void test_velocity_variance_m1(void **state)
{
   (void)state;
   check_against("vel_raw_M1.bin", "var_raw_M1.bin", 1);
}

static void test_velocity_variance_m5_mirror(void **state)
{
   (void)state;
   check_against("vel_raw_M5.bin", "var_raw_M5.bin", 5);
}

/* A row-major copy ([ensemble][x][z] reversed in x through a negative
 * stride) must give bit-identical planes: only the strides changed. Without
 * a wall filter the F-order input takes the single-pass path and the copy
 * the block path, so this also checks that the two agree bit for bit. */
static void test_any_layout_same_result(void **state)
{
   (void)state;
   float *c = malloc(sizeof(float) * 2 * NZ * NX * NE);
   /* layout: index (z, x, t) -> t + NE*(z + NZ*(NX-1-x)) */
   for (uint32_t t = 0; t < NE; ++t)
      for (uint32_t x = 0; x < NX; ++x)
         for (uint32_t z = 0; z < NZ; ++z) {
            size_t src = z + (size_t)NZ * (x + (size_t)NX * t);
            size_t dst = t + (size_t)NE * (z + (size_t)NZ * (NX - 1 - x));
            c[2 * dst] = g_iq[2 * src];
            c[2 * dst + 1] = g_iq[2 * src + 1];
         }
   sono_plane_t f = dsp_test_iq_plane(g_iq, NZ, NX, NE), r = f;
   r.stride[0] = NE;
   r.stride[1] = -(int64_t)NE * NZ;
   r.stride[2] = 1;
   r.data = c + 2 * (size_t)NE * NZ * (NX - 1);
   for (int m = 1; m <= 5; m += 4)
      for (int w = 0; w < 2; ++w) {
         sono_plane_t a[3], b[3];
         run_disk(&f, (uint32_t)m, SONO_DSP_BORDER_REPLICATE, 1, w ? SONO_WALL_POLY : SONO_WALL_NONE, 1, a);
         run_disk(&r, (uint32_t)m, SONO_DSP_BORDER_REPLICATE, 1, w ? SONO_WALL_POLY : SONO_WALL_NONE, 1, b);
         for (int k = 0; k < 3; ++k)
            assert_memory_equal(a[k].data, b[k].data, sizeof(float) * NZ * NX);
         free_planes(a);
         free_planes(b);
      }
   free(c);
}

/* Splitting columns over threads must not change a single bit. */
static void test_threads_bit_identical(void **state)
{
   (void)state;
   static const sono_wall_filter_t walls[] = {SONO_WALL_NONE, SONO_WALL_SVD, SONO_WALL_DCT};
   sono_plane_t iq = dsp_test_iq_plane(g_iq, NZ, NX, NE);
   for (size_t w = 0; w < sizeof walls / sizeof walls[0]; ++w) {
      sono_plane_t a[3], b[3];
      run_disk(&iq, 5, SONO_DSP_BORDER_MIRROR, 1, walls[w], 2, a);
      run_disk(&iq, 5, SONO_DSP_BORDER_MIRROR, 3, walls[w], 2, b);
      for (int k = 0; k < 3; ++k)
         assert_memory_equal(a[k].data, b[k].data, sizeof(float) * NZ * NX);
      free_planes(a);
      free_planes(b);
   }
}

/* MUST bmode(IQ, 30) over the whole [nz, nx, 32] array (one maximum),
 * MATLAB rounding; the reference was produced by PyMUST (truncation), so
 * values differ by at most one grey level. */
static void test_bmode_30db(void **state)
{
   (void)state;
   uint8_t *ref = dsp_test_load(g_dir, "bmode_u8.bin", (size_t)NZ * NX * NE);
   assert_non_null(ref);
   uint8_t *out = malloc((size_t)NZ * NX * NE);
   sono_plane_t iq = dsp_test_iq_plane(g_iq, NZ, NX, NE);
   char err[256];
   assert_int_equal(sono_dsp_bmode_u8(&iq, 30.0, NULL, out, NZ, err, sizeof err), 0);
   size_t within = 0, exact = 0, total = (size_t)NZ * NX * NE;
   for (size_t i = 0; i < total; ++i) {
      int d = abs((int)out[i] - (int)ref[i]);
      within += d <= 1;
      exact += d == 0;
   }
   /* per-slice normalisation, for the record of which one matches */
   size_t within_slice = 0;
   for (uint32_t t = 0; t < NE; ++t) {
      sono_plane_t one = iq;
      one.shape[2] = 1;
      one.data = g_iq + 2 * (size_t)NZ * NX * t;
      assert_int_equal(sono_dsp_bmode_u8(&one, 30.0, NULL, out + (size_t)NZ * NX * t, NZ, err, sizeof err), 0);
   }
   for (size_t i = 0; i < total; ++i)
      within_slice += abs((int)out[i] - (int)ref[i]) <= 1;
   printf("bmode 30 dB: whole-array max: %.4f%% within +-1 (%.2f%% exact); per-slice max: %.4f%% within +-1\n",
          100.0 * within / total, 100.0 * exact / total, 100.0 * within_slice / total);
   assert_true(within >= 0.999 * total);
   free(out);
   free(ref);
}

int main(int argc, char **argv)
{
   if (argc < 2) {
      printf("SKIP: no reference data folder given (usage: %s DATA_DIR)\n", argv[0]);
      return SKIP_CODE;
   }
   static char dir[4096];
   snprintf(dir, sizeof dir, "%s/pwi_disk", argv[1]);
   g_dir = dir;
   g_iq = dsp_test_load(g_dir, "iq_beamformed.bin", sizeof(float) * 2 * NZ * NX * NE);
   if (!g_iq)
      return SKIP_CODE;
   const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_velocity_variance_m1), cmocka_unit_test(test_velocity_variance_m5_mirror),
      cmocka_unit_test(test_any_layout_same_result), cmocka_unit_test(test_threads_bit_identical),
      cmocka_unit_test(test_bmode_30db),
   };
   int rc = cmocka_run_group_tests(tests, NULL, NULL);
   free(g_iq);
   return rc;
}
