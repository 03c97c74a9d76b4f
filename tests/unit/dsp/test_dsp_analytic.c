/* libsono_dsp on analytic signals: tones at known Doppler shifts, aliasing,
 * clutter rejection by every wall filter, Loupas, rf2iq, B-mode, TGC. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <complex.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sono/dsp/alias.h>
#include <sono/dsp/bmode.h>
#include <sono/dsp/kasai.h>
#include <sono/dsp/pipeline.h>
#include <sono/dsp/wall.h>

#include "dsp_test_util.h"

static const double FC = 5e6, C = 1540.0, PRF = 4000.0;

static sono_acquisition_t acq(void)
{
   sono_acquisition_t a;
   memset(&a, 0, sizeof a);
   a.center_frequency_hz = FC;
   a.demodulation_frequency_hz = FC;
   a.sound_speed_m_s = C;
   a.prf_hz = PRF;
   return a;
}

static double vn_of(uint32_t lag) { return C * PRF / (4.0 * FC * lag); }

/* Deterministic pseudo-random phases in [0, 2 pi), two unrelated patterns
 * (flow and clutter must not be one rank-1 image for the SVD filter). */
static double phase_of(uint32_t i) { return 2.0 * M_PI * fmod(i * 0.6180339887498949, 1.0); }
static double clutter_phase_of(uint32_t i) { return 2.0 * M_PI * fmod(i * 0.7548776662466927 + 1e-3 * i * i, 1.0); }

/* Runs the pipeline; returns the velocity plane (pipeline-owned, *pp keeps it alive). */
static const float *velocity_of(sono_dsp_config_t *cfg, const float *iq, uint32_t nz, uint32_t nx, uint32_t n,
                                sono_dsp_pipeline_t **pp, size_t *ld)
{
   char err[256];
   cfg->power_threshold_db = -INFINITY;
   *pp = sono_dsp_pipeline_create(cfg, nz, nx, n, err, sizeof err);
   if (!*pp)
      printf("create: %s\n", err);
   assert_non_null(*pp);
   sono_plane_t plane = dsp_test_iq_plane(iq, nz, nx, n), out[4];
   sono_acquisition_t a = acq();
   int rc = sono_dsp_pipeline_run(*pp, &plane, &a, SONO_PLANE_BIT(SONO_PLANE_VELOCITY), out, NULL, err, sizeof err);
   if (rc != 1)
      printf("run: %s\n", err);
   assert_int_equal(rc, 1);
   *ld = (size_t)out[0].stride[1];
   return out[0].data;
}

/* Pixel i (z fastest) carries a tone of Doppler frequency f_of(i). */
static float *tone_cube(uint32_t nz, uint32_t nx, uint32_t n, double (*f_of)(uint32_t), double clutter)
{
   float *iq = malloc(sizeof(float) * 2 * nz * nx * n);
   for (uint32_t t = 0; t < n; ++t)
      for (uint32_t i = 0; i < nz * nx; ++i) {
         double complex v = cexp(I * (2.0 * M_PI * f_of(i) * t / PRF + phase_of(i))) +
                            clutter * cexp(I * clutter_phase_of(i));
         iq[2 * (i + (size_t)nz * nx * t)] = (float)creal(v);
         iq[2 * (i + (size_t)nz * nx * t) + 1] = (float)cimag(v);
      }
   return iq;
}

static double f_spread(uint32_t i) { return -0.95 * PRF / 2 + 0.95 * PRF * (i % 97) / 96.0; }
static double f_above(uint32_t i) { (void)i; return 1.2 * PRF / 2; }
static double f_half(uint32_t i) { (void)i; return 0.25 * PRF; }

/* v = c f / (2 fc) = VN * 2 f / PRF for lag 1 and (wrapped) lag 2. */
static void test_pure_tone_velocity(void **state)
{
   (void)state;
   enum { NZ = 40, NX = 10, N = 16 };
   float *iq = tone_cube(NZ, NX, N, f_spread, 0.0);
   for (uint32_t lag = 1; lag <= 2; ++lag) {
      sono_dsp_config_t cfg;
      sono_dsp_config_default(&cfg);
      cfg.lag = lag;
      sono_dsp_pipeline_t *p;
      size_t ld;
      const float *v = velocity_of(&cfg, iq, NZ, NX, N, &p, &ld);
      const double vn = vn_of(lag);
      double worst = 0;
      for (uint32_t x = 0; x < NX; ++x)
         for (uint32_t z = 0; z < NZ; ++z) {
            double expect = C * f_spread(z + NZ * x) / (2.0 * FC);
            worst = fmax(worst, dsp_test_wrapped_diff(v[x * ld + z], expect, vn));
         }
      printf("tone, lag %u: max error %.2g VN\n", lag, worst / vn);
      assert_true(worst <= 1e-6 * vn);
      sono_dsp_pipeline_destroy(p);
   }
   free(iq);
}

/* A tone at 1.2 x Nyquist appears at -0.8 VN (toward becomes away). */
static void test_tone_above_nyquist_wraps(void **state)
{
   (void)state;
   enum { NZ = 8, NX = 4, N = 16 };
   float *iq = tone_cube(NZ, NX, N, f_above, 0.0);
   sono_dsp_config_t cfg;
   sono_dsp_config_default(&cfg);
   sono_dsp_pipeline_t *p;
   size_t ld;
   const float *v = velocity_of(&cfg, iq, NZ, NX, N, &p, &ld);
   for (uint32_t x = 0; x < NX; ++x)
      for (uint32_t z = 0; z < NZ; ++z)
         assert_true(fabs(v[x * ld + z] - (-0.8 * vn_of(1))) < 1e-6 * vn_of(1));
   sono_dsp_pipeline_destroy(p);
   free(iq);
}

/* Clutter at 0 Hz, 40 dB above a flow at +VN/2: each wall filter removes
 * at least 40 dB of the clutter and keeps the velocity within 1% of VN. */
static void test_wall_filters_reject_clutter(void **state)
{
   (void)state;
   enum { NZ = 32, NX = 16, N = 32 };
   static const char *walls[] = {"poly:2", "dct:2", "svd:1", "iir:400:4"};
   float *mixed = tone_cube(NZ, NX, N, f_half, 100.0);
   float *clutter = malloc(sizeof(float) * 2 * NZ * NX * N);
   for (size_t i = 0; i < (size_t)NZ * NX * N; ++i) {
      double complex c = 100.0 * cexp(I * clutter_phase_of((uint32_t)(i % (NZ * NX))));
      clutter[2 * i] = (float)creal(c), clutter[2 * i + 1] = (float)cimag(c);
   }
   for (size_t w = 0; w < sizeof walls / sizeof walls[0]; ++w) {
      sono_dsp_config_t cfg;
      sono_dsp_config_default(&cfg);
      char err[256];
      assert_int_equal(sono_dsp_parse_wall(walls[w], &cfg, err, sizeof err), 0);
      /* clutter rejection: filtered clutter power relative to the raw clutter
       * power (the power plane is relative, so compare two runs' raw P) */
      sono_dsp_pipeline_t *p;
      size_t ld;
      const float *v = velocity_of(&cfg, mixed, NZ, NX, N, &p, &ld);
      double worst = 0;
      for (uint32_t x = 0; x < NX; ++x)
         for (uint32_t z = 0; z < NZ; ++z)
            worst = fmax(worst, fabs(v[x * ld + z] - vn_of(1) / 2));
      sono_dsp_pipeline_destroy(p);

      /* the same filter on a block of clutter alone, through the low-level API */
      float re[N * NZ], im[N * NZ], work[2 * 16 * NZ], q[N * 8];
      for (uint32_t t = 0; t < N; ++t)
         for (uint32_t z = 0; z < NZ; ++z) {
            re[t * NZ + z] = clutter[2 * (z + (size_t)NZ * NX * t)];
            im[t * NZ + z] = clutter[2 * (z + (size_t)NZ * NX * t) + 1];
         }
      double before = 0, after = 0;
      for (int i = 0; i < N * NZ; ++i)
         before += re[i] * re[i] + im[i] * im[i];
      uint32_t first = 0;
      if (cfg.wall == SONO_WALL_POLY || cfg.wall == SONO_WALL_DCT) {
         int rank = sono_dsp_wall_basis(cfg.wall, cfg.wall_order, N, q, err, sizeof err);
         assert_true(rank > 0);
         sono_dsp_wall_project_out(re, im, NZ, N, NZ, q, (uint32_t)rank, work);
      } else if (cfg.wall == SONO_WALL_SVD) {
         double gram[2 * N * N];
         float v1[2 * N];
         memset(gram, 0, sizeof gram);
         sono_dsp_gram_accumulate(re, im, NZ, N, NZ, gram);
         sono_dsp_svd_t *s = sono_dsp_svd_create(N, err, sizeof err);
         assert_int_equal(sono_dsp_svd_basis(s, gram, N, 1, v1, err, sizeof err), 0);
         sono_dsp_wall_project_out_complex(re, im, NZ, N, NZ, v1, 1, work);
         sono_dsp_svd_destroy(s);
      } else {
         sono_dsp_iir_t f;
         assert_int_equal(sono_dsp_iir_highpass(cfg.wall_order, cfg.wall_cutoff_hz, PRF, &f, err, sizeof err), 0);
         sono_dsp_iir_apply(&f, re, im, NZ, N, NZ, work);
         first = cfg.wall_order;
      }
      for (uint32_t i = first * NZ; i < N * NZ; ++i)
         after += re[i] * re[i] + im[i] * im[i];
      double rejection_db = 10.0 * log10(before / (after > 0 ? after : 1e-300) * (N - first) / N);
      printf("%-10s clutter rejection %.1f dB, flow velocity max error %.2g VN\n", walls[w], rejection_db,
             worst / vn_of(1));
      assert_true(rejection_db >= 40.0);
      assert_true(worst <= 0.01 * vn_of(1));
   }
   free(mixed);
   free(clutter);
}

/* Loupas on baseband IQ whose RF centre frequency is 4.5 MHz (demodulated
 * at 5 MHz): v = c f_D / (2 f_local), where Kasai would assume 5 MHz. */
static void test_loupas_local_frequency(void **state)
{
   (void)state;
   enum { NZ = 64, NX = 4, N = 16 };
   const double dz = 5e-5, fs_ax = C / (2 * dz), f_rf = 4.5e6, fd = 1000.0;
   float *iq = malloc(sizeof(float) * 2 * NZ * NX * N);
   for (uint32_t t = 0; t < N; ++t)
      for (uint32_t x = 0; x < NX; ++x)
         for (uint32_t z = 0; z < NZ; ++z) {
            double ph = 2 * M_PI * (f_rf - FC) * z / fs_ax + 2 * M_PI * fd * t / PRF;
            size_t i = z + (size_t)NZ * (x + (size_t)NX * t);
            iq[2 * i] = (float)cos(ph), iq[2 * i + 1] = (float)sin(ph);
         }
   sono_dsp_config_t cfg;
   sono_dsp_config_default(&cfg);
   cfg.loupas = 1;
   cfg.axial_sampling_hz = fs_ax;
   sono_dsp_pipeline_t *p;
   size_t ld;
   const float *v = velocity_of(&cfg, iq, NZ, NX, N, &p, &ld);
   const double expect = C * fd / (2 * f_rf);
   for (uint32_t x = 0; x < NX; ++x)
      for (uint32_t z = 0; z < NZ; ++z)
         assert_true(fabs(v[x * ld + z] - expect) < 1e-5 * expect);
   sono_dsp_pipeline_destroy(p);
   free(iq);
}

/* rf2iq of A cos(2 pi fc t + phi) is A exp(j phi) away from the ends. */
static void test_rf2iq_tone(void **state)
{
   (void)state;
   enum { NS = 400, NCH = 3 };
   const double fs = 4 * FC, t0 = 2e-6, amp = 1000.0;
   float rf[NS * NCH];
   for (uint32_t ch = 0; ch < NCH; ++ch)
      for (uint32_t i = 0; i < NS; ++i)
         rf[i + NS * ch] = (float)(amp * cos(2 * M_PI * FC * (i / fs + t0) + 0.3 * ch));
   sono_plane_t plane;
   memset(&plane, 0, sizeof plane);
   plane.struct_size = sizeof plane;
   plane.kind = SONO_PLANE_RF;
   plane.dtype = SONO_DTYPE_FLOAT32;
   plane.shape[0] = NS, plane.shape[1] = NCH, plane.shape[2] = 1;
   plane.stride[0] = 1, plane.stride[1] = NS;
   plane.data = rf;
   char err[256];
   sono_dsp_rf2iq_t *r = sono_dsp_rf2iq_create(NS, fs, FC, 0.0, t0, err, sizeof err);
   assert_non_null(r);
   float iq[2 * NS * NCH];
   assert_int_equal(sono_dsp_rf2iq_run(r, &plane, iq, NS, err, sizeof err), 0);
   double worst = 0;
   for (uint32_t ch = 0; ch < NCH; ++ch)
      for (uint32_t i = 40; i < NS - 40; ++i) {
         double complex got = iq[2 * (i + NS * ch)] + I * iq[2 * (i + NS * ch) + 1];
         worst = fmax(worst, cabs(got - amp * cexp(I * 0.3 * ch)) / amp);
      }
   printf("rf2iq tone: max relative error %.2g\n", worst);
   assert_true(worst < 1e-3);
   sono_dsp_rf2iq_destroy(r);
}

/* Log compression levels and MATLAB rounding (PyMUST would truncate). */
static void test_bmode_levels_and_rounding(void **state)
{
   (void)state;
   const double dr = 40.0;
   const double levels[] = {255.0, 191.25, 100.7, 100.3, 0.6, -20.0};
   const int expect[] = {255, 191, 101, 100, 1, 0};
   enum { K = 6 };
   float iq[2 * K];
   for (int i = 0; i < K; ++i) {
      double db = levels[i] * dr / 255.0 - dr;
      iq[2 * i] = (float)pow(10.0, db / 20.0), iq[2 * i + 1] = 0.0f;
   }
   sono_plane_t plane = dsp_test_iq_plane(iq, K, 1, 1);
   uint8_t out[K];
   char err[256];
   assert_int_equal(sono_dsp_bmode_u8(&plane, dr, NULL, out, K, err, sizeof err), 0);
   for (int i = 0; i < K; ++i)
      assert_int_equal(out[i], expect[i]);
   /* gamma compression for 0 < DR < 1 */
   assert_int_equal(sono_dsp_bmode_u8(&plane, 0.5, NULL, out, K, err, sizeof err), 0);
   assert_int_equal(out[0], 255);
   assert_int_equal(out[K - 1], (int)floor(255.0 * pow(iq[2 * (K - 1)], 0.5) + 0.5));
   float env[K];
   assert_int_equal(sono_dsp_envelope(&plane, env, K, err, sizeof err), 0);
   assert_true(fabsf(env[1] - iq[2]) < 1e-7f);
}

/* TGC flattens an exponential depth decay. */
static void test_tgc_flattens_decay(void **state)
{
   (void)state;
   enum { NZ = 200, NX = 8 };
   float *iq = malloc(sizeof(float) * 2 * NZ * NX);
   for (uint32_t x = 0; x < NX; ++x)
      for (uint32_t z = 0; z < NZ; ++z) {
         double a = exp(-0.02 * z) * (1.0 + 0.1 * ((x + z) % 3));
         iq[2 * (z + NZ * x)] = (float)a, iq[2 * (z + NZ * x) + 1] = 0.0f;
      }
   sono_plane_t plane = dsp_test_iq_plane(iq, NZ, NX, 1);
   float gain[NZ], *work = malloc(sizeof(float) * SONO_DSP_TGC_WORK(NZ));
   char err[256];
   assert_int_equal(sono_dsp_tgc_gain(&plane, gain, work, err, sizeof err), 0);
   for (uint32_t z = 0; z < NZ; ++z)
      assert_true(fabs(gain[z] * exp(-0.02 * z) - 1.0) < 0.02);
   free(work);
   free(iq);
}

/* A ramp through +VN wraps to -VN: flagged, and unwrapped back. A change
 * of direction through 0 is not flagged. */
static void test_alias_flags_and_unwrap(void **state)
{
   (void)state;
   enum { NZ = 20, NX = 2 };
   const float vn = 1.0f;
   float v[NZ * NX], ramp[NZ];
   uint8_t flags[NZ * NX];
   for (int z = 0; z < NZ; ++z) {
      ramp[z] = 0.6f + 0.1f * z;                          /* up to 2.5 VN: one wrap */
      float w = fmodf(ramp[z] + vn, 2 * vn) - vn;         /* wrapped into [-VN, VN) */
      v[z] = w;
      v[NZ + z] = -0.9f + 0.09f * z;                      /* through 0: no alias */
   }
   size_t n = sono_dsp_alias_flags(v, NZ, NX, NZ, vn, 0.5f, flags);
   assert_true(flags[3] & SONO_DSP_ALIAS_DOWN); /* 0.9 -> -1.0 */
   for (int z = 0; z + 1 < NZ; ++z)
      if (z != 3)
         assert_false(flags[z] & SONO_DSP_ALIAS_DOWN);
   for (int z = 0; z + 1 < NZ; ++z)
      assert_false(flags[NZ + z] & SONO_DSP_ALIAS_DOWN);
   assert_true(n >= 1);
   float path[NZ];
   memcpy(path, v, sizeof path);
   assert_int_equal(sono_dsp_unwrap_path(path, NZ, vn), 1);
   for (int z = 0; z < NZ; ++z)
      assert_true(fabsf(path[z] - ramp[z]) < 1e-5f);
}

/* Smoothing against a direct M x M evaluation with each border rule:
 * mirror is half-sample symmetric (-1 -> 0), replicate clamps. */
static void test_smoothing_borders(void **state)
{
   (void)state;
   enum { NZ = 11, NX = 7, LD = 16, M = 5 };
   float in[LD * NX], out[LD * NX], tmp[LD * NX], w[M];
   for (int i = 0; i < LD * NX; ++i)
      in[i] = (float)sin(0.37 * i) + 0.1f * (float)(i % 5);
   sono_dsp_hamming(M, w);
   assert_true(fabsf(w[0] - 0.08f) < 1e-7f && fabsf(w[2] - 1.0f) < 1e-7f);
   assert_int_equal(sono_dsp_smooth(in, out, tmp, NZ, NX, LD, SONO_DSP_MAX_SMOOTHING + 1, 0), -1);
   for (int border = 0; border < 2; ++border) {
      assert_int_equal(sono_dsp_smooth(in, out, tmp, NZ, NX, LD, M, border), 0);
      for (int x = 0; x < NX; ++x)
         for (int z = 0; z < NZ; ++z) {
            double ref = 0;
            for (int a = 0; a < M; ++a)
               for (int b = 0; b < M; ++b) {
                  int zz = z + a - M / 2, xx = x + b - M / 2;
                  if (border == SONO_DSP_BORDER_REPLICATE) {
                     zz = zz < 0 ? 0 : (zz >= NZ ? NZ - 1 : zz);
                     xx = xx < 0 ? 0 : (xx >= NX ? NX - 1 : xx);
                  } else {
                     zz = zz < 0 ? -zz - 1 : (zz >= NZ ? 2 * NZ - zz - 1 : zz);
                     xx = xx < 0 ? -xx - 1 : (xx >= NX ? 2 * NX - xx - 1 : xx);
                  }
                  ref += (double)w[a] * w[b] * in[xx * LD + zz];
               }
            assert_true(fabs(out[x * LD + z] - ref) < 1e-5 * (1.0 + fabs(ref)));
         }
   }
}

/* The power mask zeroes velocity and variance below the threshold only. */
static void test_power_mask(void **state)
{
   (void)state;
   enum { NZ = 16, NX = 2, N = 8 };
   float *iq = tone_cube(NZ, NX, N, f_half, 0.0);
   for (uint32_t t = 0; t < N; ++t) /* pixel 3 at -60 dB (amplitude 1e-3) */
      for (int k = 0; k < 2; ++k)
         iq[2 * (3 + (size_t)NZ * NX * t) + k] *= 1e-3f;
   sono_dsp_config_t cfg;
   sono_dsp_config_default(&cfg);
   char err[256];
   sono_dsp_pipeline_t *p = sono_dsp_pipeline_create(&cfg, NZ, NX, N, err, sizeof err);
   sono_plane_t plane = dsp_test_iq_plane(iq, NZ, NX, N), out[4];
   sono_acquisition_t a = acq();
   assert_int_equal(sono_dsp_pipeline_run(p, &plane, &a,
                                          SONO_PLANE_BIT(SONO_PLANE_VELOCITY) | SONO_PLANE_BIT(SONO_PLANE_POWER) |
                                             SONO_PLANE_BIT(SONO_PLANE_VARIANCE),
                                          out, NULL, err, sizeof err),
                    3);
   const float *v = out[0].data, *db = out[1].data, *s2 = out[2].data;
   assert_true(fabsf(db[3] + 60.0f) < 1e-3f);
   assert_true(v[3] == 0.0f && s2[3] == 0.0f);
   assert_true(fabs(v[4] - vn_of(1) / 2) < 1e-6 * vn_of(1));
   assert_true(fabsf(db[4]) < 1e-4f);
   sono_dsp_pipeline_destroy(p);
   free(iq);
}

int main(void)
{
   const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_pure_tone_velocity),
      cmocka_unit_test(test_tone_above_nyquist_wraps),
      cmocka_unit_test(test_wall_filters_reject_clutter),
      cmocka_unit_test(test_loupas_local_frequency),
      cmocka_unit_test(test_rf2iq_tone),
      cmocka_unit_test(test_bmode_levels_and_rounding),
      cmocka_unit_test(test_tgc_flattens_decay),
      cmocka_unit_test(test_alias_flags_and_unwrap),
      cmocka_unit_test(test_smoothing_borders),
      cmocka_unit_test(test_power_mask),
   };
   return cmocka_run_group_tests(tests, NULL, NULL);
}
