/* Spectral Doppler against the analytic gate of ../shared/data/spectral_gate
 * (scipy.signal.stft reference) and an analytic tone. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sono/dsp/spectral.h>

#include "dsp_test_util.h"

enum { NS = 8192, WIN = 256, HOP = 64, NFFT = 256, NSEG = 125 };
static const double PRF = 8000.0, FC = 5e6, C = 1540.0;
static const char *g_dir;

static void test_stft_matches_scipy(void **state)
{
   (void)state;
   float *iq = dsp_test_load(g_dir, "iq_gate.bin", sizeof(float) * 2 * NS);
   float *ref = dsp_test_load(g_dir, "stft_db.bin", sizeof(float) * NFFT * NSEG);
   float *vref = dsp_test_load(g_dir, "stft_vel_ms.bin", sizeof(float) * NFFT);
   assert_non_null(iq);
   assert_non_null(ref);
   assert_non_null(vref);
   char err[256];
   sono_dsp_stft_t *s = sono_dsp_stft_create(WIN, HOP, NFFT, NS, err, sizeof err);
   assert_non_null(s);
   assert_int_equal(sono_dsp_stft_segments(s, NS), NSEG);
   float *db = malloc(sizeof(float) * NFFT * NSEG);
   assert_int_equal(sono_dsp_stft_db(s, iq, 1, NS, db, err, sizeof err), NSEG);
   double worst = 0;
   size_t compared = 0;
   for (size_t i = 0; i < (size_t)NFFT * NSEG; ++i)
      if (ref[i] > -60.0f) {
         double d = fabs(db[i] - ref[i]);
         worst = d > worst ? d : worst;
         ++compared;
      }
   float vel[NFFT];
   sono_dsp_stft_velocity_axis(s, PRF, FC, C, 0.0, vel);
   double worst_v = 0;
   for (int r = 0; r < NFFT; ++r)
      worst_v = fmax(worst_v, fabs(vel[r] - vref[r]));
   printf("STFT: max |dB - scipy| = %.2g dB over %zu bins above -60 dB; velocity axis max error %.2g m/s\n", worst,
          compared, worst_v);
   assert_true(compared > 1000);
   assert_true(worst <= 0.01);
   assert_true(worst_v <= 1e-6);
   sono_dsp_stft_destroy(s);
   free(db);
   free(iq);
   free(ref);
   free(vref);
}

/* The maximum-velocity envelope follows the true centreline velocity at
 * systole, and the per-cycle indices agree with the truth. */
static void test_envelope_and_cycles(void **state)
{
   (void)state;
   float *iq = dsp_test_load(g_dir, "iq_gate.bin", sizeof(float) * 2 * NS);
   float *truth = dsp_test_load(g_dir, "v_centre_true.bin", sizeof(float) * NS);
   assert_non_null(iq);
   assert_non_null(truth);
   char err[256];
   sono_dsp_stft_t *s = sono_dsp_stft_create(WIN, HOP, NFFT, NS, err, sizeof err);
   float *db = malloc(sizeof(float) * NFFT * NSEG);
   float vel[NFFT], env[NSEG], work[NSEG], vt[NSEG];
   assert_int_equal(sono_dsp_stft_db(s, iq, 1, NS, db, err, sizeof err), NSEG);
   sono_dsp_stft_velocity_axis(s, PRF, FC, C, 0.0, vel);
   sono_dsp_spectral_envelope(db, NFFT, NSEG, vel, SONO_DSP_ENVELOPE_THRESHOLD_DB, env);
   float vmax = 0;
   for (int g = 0; g < NSEG; ++g) {
      vt[g] = truth[g * HOP + WIN / 2];
      vmax = fmaxf(vmax, vt[g]);
   }
   double worst = 0;
   int systole = 0;
   for (int g = 0; g < NSEG; ++g)
      if (vt[g] >= 0.9f * vmax) {
         worst = fmax(worst, fabs(env[g] - vt[g]) / vt[g]);
         ++systole;
      }
   printf("envelope: max relative error %.3f over %d systolic columns\n", worst, systole);
   assert_true(systole >= 3);
   assert_true(worst <= 0.05);

   sono_dsp_cycle_t cycles[16];
   int nc = sono_dsp_cardiac_cycles(env, NSEG, cycles, 16, work);
   printf("cycles: %d\n", nc);
   assert_true(nc >= 1);
   for (int c = 0; c < nc; ++c) {
      float psv = 0, edv = vt[cycles[c].end - 1];
      for (uint32_t g = cycles[c].start; g < cycles[c].end; ++g)
         psv = fmaxf(psv, vt[g]);
      printf("  cycle %d [%u, %u): PSV %.3f (true %.3f) EDV %.3f (true %.3f) mean %.3f RI %.3f PI %.3f\n", c,
             cycles[c].start, cycles[c].end, cycles[c].psv_m_s, psv, cycles[c].edv_m_s, edv, cycles[c].mean_m_s,
             cycles[c].ri, cycles[c].pi);
      assert_true(fabsf(cycles[c].psv_m_s - psv) <= 0.05f * psv);
      assert_true(fabsf(cycles[c].ri - (psv - edv) / psv) <= 0.1f);
      assert_true(cycles[c].pi > cycles[c].ri);
   }
   sono_dsp_stft_destroy(s);
   free(db);
   free(iq);
   free(truth);
}

/* A pure tone at +f lands in row nfft/2 + f*nfft/PRF at 0 dB (scaling
 * 1/sum(w)); a strided input gives the same spectrogram. */
static void test_tone_row_and_scaling(void **state)
{
   (void)state;
   enum { N = 1024 };
   float *x = malloc(sizeof(float) * 2 * N), *y = calloc(4 * N, sizeof(float));
   const int bin = 20;
   for (int i = 0; i < N; ++i) {
      double ph = 2.0 * M_PI * bin * i / NFFT;
      x[2 * i] = (float)cos(ph), x[2 * i + 1] = (float)sin(ph);
      y[4 * i] = x[2 * i], y[4 * i + 1] = x[2 * i + 1]; /* same samples, stride 2 */
   }
   char err[256];
   sono_dsp_stft_t *s = sono_dsp_stft_create(WIN, HOP, NFFT, N, err, sizeof err);
   int nseg = sono_dsp_stft_segments(s, N);
   float *db = malloc(sizeof(float) * NFFT * nseg), *db2 = malloc(sizeof(float) * NFFT * nseg);
   assert_int_equal(sono_dsp_stft_db(s, x, 1, N, db, err, sizeof err), nseg);
   for (int g = 0; g < nseg; ++g) {
      const float *col = db + g * NFFT;
      int peak = 0;
      for (int r = 1; r < NFFT; ++r)
         peak = col[r] > col[peak] ? r : peak;
      assert_int_equal(peak, NFFT / 2 + bin);
      assert_true(fabsf(col[peak]) < 1e-4f);
   }
   assert_int_equal(sono_dsp_stft_db(s, y, 2, N, db2, err, sizeof err), nseg);
   assert_memory_equal(db, db2, sizeof(float) * NFFT * nseg);
   /* a shorter input goes through the single-segment plan: same values
    * within float rounding */
   int n2 = sono_dsp_stft_segments(s, N / 2);
   assert_int_equal(sono_dsp_stft_db(s, x, 1, N / 2, db2, err, sizeof err), n2);
   for (int i = 0; i < NFFT * n2; ++i)
      if (db[i] > -100.0f)
         assert_true(fabsf(db[i] - db2[i]) < 1e-3f);
   sono_dsp_stft_destroy(s);
   free(db);
   free(db2);
   free(x);
   free(y);
}

static void test_stft_errors(void **state)
{
   (void)state;
   char err[256];
   assert_null(sono_dsp_stft_create(256, 64, 128, 8192, err, sizeof err));
   assert_non_null(strstr(err, "nfft 128"));
   assert_non_null(strstr(err, "window <= nfft"));
   sono_dsp_stft_t *s = sono_dsp_stft_create(256, 64, 256, 1024, err, sizeof err);
   float buf[2048], out[256 * 16];
   memset(buf, 0, sizeof buf);
   assert_int_equal(sono_dsp_stft_power(s, buf, 1, 2048, out, err, sizeof err), -1);
   assert_non_null(strstr(err, "2048 samples, expected at most the 1024"));
   sono_dsp_stft_destroy(s);
}

int main(int argc, char **argv)
{
   static char dir[4096];
   snprintf(dir, sizeof dir, "%s/spectral_gate", argc > 1 ? argv[1] : ".");
   g_dir = dir;
   const struct CMUnitTest analytic[] = {
      cmocka_unit_test(test_tone_row_and_scaling),
      cmocka_unit_test(test_stft_errors),
   };
   int rc = cmocka_run_group_tests(analytic, NULL, NULL);
   float *probe = dsp_test_load(g_dir, "stft_db.bin", sizeof(float) * NFFT * NSEG);
   if (!probe)
      return rc ? rc : SKIP_CODE;
   free(probe);
   const struct CMUnitTest data[] = {
      cmocka_unit_test(test_stft_matches_scipy),
      cmocka_unit_test(test_envelope_and_cycles),
   };
   return rc | cmocka_run_group_tests(data, NULL, NULL);
}
