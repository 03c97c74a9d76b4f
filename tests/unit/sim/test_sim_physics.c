/* libsono_sim: the ground truth agrees with the physics of the rendered IQ.
 * Echo levels, shadows and comet tails are measured on the generated frame;
 * Doppler velocities are estimated with libsono_dsp (the host's core). */
#include <complex.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <cmocka.h>
#include <sono/dsp/pipeline.h>
#include <sono/sim/phantom.h>

#define MM 1e-3

typedef struct frame_buf {
   sono_sim_t *sim;
   sono_sim_case_t c;
   float complex *iq;
   size_t npix;
} frame_buf_t;

static void render(frame_buf_t *f, const sono_sim_case_t *c, uint32_t frame)
{
   sono_error_t err = {{0}};
   f->c = *c;
   f->sim = sono_sim_create(c, &err);
   if (!f->sim)
      fail_msg("sono_sim_create: %s", err.message);
   f->npix = (size_t)c->nz * c->nx;
   f->iq = malloc(sizeof(float complex) * f->npix * c->ensemble);
   assert_non_null(f->iq);
   assert_int_equal(sono_sim_generate_frame(f->sim, frame, (float *)f->iq, &err), 0);
}

static void release(frame_buf_t *f)
{
   sono_sim_destroy(f->sim);
   free(f->iq);
}

static long col(const sono_sim_case_t *c, double x) { return lround((x - c->x0_m) / c->dx_m); }
static long row(const sono_sim_case_t *c, double z) { return lround((z - c->z0_m) / c->dz_m); }

/* Mean |IQ|^2 of ensemble sample 0 over a rectangle (metres). */
static double mean_power(const frame_buf_t *f, double xa, double xb, double za, double zb)
{
   double sum = 0;
   size_t n = 0;
   for (long ix = col(&f->c, xa); ix <= col(&f->c, xb); ++ix)
      for (long iz = row(&f->c, za); iz <= row(&f->c, zb); ++iz) {
         float complex v = f->iq[iz + (size_t)f->c.nz * ix];
         sum += crealf(v * conjf(v));
         ++n;
      }
   return sum / (double)n;
}

static double db(double power_ratio) { return 10.0 * log10(power_ratio); }

/* A small grid around x = 0 for B-mode properties. */
static void small_case(sono_sim_case_t *c, uint32_t nx)
{
   sono_sim_case_default(c);
   c->nx = nx;
   c->x0_m = -0.5 * nx * c->dx_m;
   c->nz = 320;
   c->ensemble = 2;
   c->frames = 1;
   c->seed = 7;
}

static sono_sim_deposit_t tissue_deposit(sono_sim_filler_t f, double x_mm, double z_mm, double hw_mm, double hd_mm)
{
   sono_sim_deposit_t d;
   memset(&d, 0, sizeof d);
   d.filler = f;
   d.placement = SONO_SIM_TISSUE;
   d.vessel = -1;
   d.x_m = x_mm * MM;
   d.z_m = z_mm * MM;
   d.half_width_m = hw_mm * MM;
   d.half_depth_m = hd_mm * MM;
   return d;
}

static void test_fresh_ha_is_20db_below_fat(void **state)
{
   (void)state;
   sono_sim_case_t c;
   small_case(&c, 160);
   sono_sim_deposit_t d = tissue_deposit(SONO_SIM_HA_FRESH, 0, 4.0, 1.6, 0.9);
   sono_sim_add_deposit(&c, &d);
   frame_buf_t f;
   render(&f, &c, 0);
   /* inner part of the deposit (away from the PSF-blurred edge) vs fat at
    * the same depth beside it */
   double ha = mean_power(&f, -0.8 * MM, 0.8 * MM, 3.7 * MM, 4.3 * MM);
   double fat = 0.5 * (mean_power(&f, -3.6 * MM, -2.6 * MM, 3.7 * MM, 4.3 * MM) +
                       mean_power(&f, 2.6 * MM, 3.6 * MM, 3.7 * MM, 4.3 * MM));
   double contrast = db(fat / ha);
   print_message("fresh HA: %.1f dB below fat\n", contrast);
   assert_true(contrast >= 20.0);
   release(&f);
}

static void test_undiluted_caha_shadow_10db(void **state)
{
   (void)state;
   sono_sim_case_t c;
   small_case(&c, 160);
   sono_sim_deposit_t d = tissue_deposit(SONO_SIM_CAHA, 0, 2.8, 1.4, 0.5);
   sono_sim_add_deposit(&c, &d);
   frame_buf_t f;
   render(&f, &c, 0);
   double za = 3.8 * MM, zb = 5.8 * MM; /* well below the deposit bottom (3.3 mm) */
   double under = mean_power(&f, -0.6 * MM, 0.6 * MM, za, zb);
   double beside = 0.5 * (mean_power(&f, -3.6 * MM, -2.4 * MM, za, zb) + mean_power(&f, 2.4 * MM, 3.6 * MM, za, zb));
   double depth = db(beside / under);
   print_message("CaHA shadow depth: %.1f dB\n", depth);
   assert_true(depth >= 10.0);
   release(&f);
}

/* Brightest pixel of the deposit; the comet tail must show >= 3 echoes at
 * multiples of the specified lag (0.15 mm), each a local maximum. */
static void test_pmma_comet_tail_spacing(void **state)
{
   (void)state;
   sono_sim_case_t c;
   small_case(&c, 128);
   c.snr_db = 40;
   sono_sim_deposit_t d = tissue_deposit(SONO_SIM_PMMA, 0, 3.5, 1.5, 0.8);
   d.focus_density_per_mm2 = 1.0; /* sparse: tails of neighbouring foci do not overlap */
   sono_sim_add_deposit(&c, &d);
   frame_buf_t f;
   render(&f, &c, 0);
   long best = -1;
   float bestv = 0;
   for (long ix = col(&c, -1.2 * MM); ix <= col(&c, 1.2 * MM); ++ix)
      for (long iz = row(&c, 2.9 * MM); iz <= row(&c, 3.9 * MM); ++iz) {
         float a = cabsf(f.iq[iz + (size_t)c.nz * ix]);
         if (a > bestv) {
            bestv = a;
            best = iz + (long)c.nz * ix;
         }
      }
   assert_true(best >= 0);
   const long lag = lround(0.15e-3 / c.dz_m);
   int echoes = 0;
   for (int k = 1; k <= 4; ++k) {
      long centre = best + k * lag;
      long peak = centre;
      for (long j = centre - 1; j <= centre + 1; ++j)
         if (cabsf(f.iq[j]) > cabsf(f.iq[peak]))
            peak = j;
      /* a local maximum standing above the troughs half a lag either side */
      float a = cabsf(f.iq[peak]);
      int is_peak = a > cabsf(f.iq[peak - 1]) && a > cabsf(f.iq[peak + 1]) &&
                    a > 1.5f * cabsf(f.iq[centre - lag / 2]) && a > 1.5f * cabsf(f.iq[centre + lag / 2]);
      print_message("tail echo %d at +%ld samples: %.2f of the focus%s\n", k, peak - best, a / bestv,
                    is_peak ? "" : " (not resolved)");
      echoes += is_peak && labs(peak - centre) <= 1;
   }
   assert_true(echoes >= 3);
   release(&f);
}

/* ---- Doppler ---------------------------------------------------------------- */

typedef struct doppler {
   sono_dsp_pipeline_t *p;
   sono_plane_t out[4];
   const float *vel;
   size_t ld;
} doppler_t;

static void run_doppler(doppler_t *d, const frame_buf_t *f)
{
   sono_dsp_config_t cfg;
   sono_dsp_config_default(&cfg);
   cfg.wall = SONO_WALL_POLY;
   cfg.wall_order = 1;
   cfg.power_threshold_db = -INFINITY;
   char err[512] = "";
   d->p = sono_dsp_pipeline_create(&cfg, f->c.nz, f->c.nx, f->c.ensemble, err, sizeof err);
   if (!d->p)
      fail_msg("pipeline: %s", err);
   sono_plane_t iq = {sizeof(sono_plane_t), SONO_PLANE_IQ, SONO_DTYPE_COMPLEX64,
                      {f->c.nz, f->c.nx, f->c.ensemble}, {1, f->c.nz, (int64_t)f->npix}, f->iq};
   sono_acquisition_t acq;
   sono_sim_acquisition(f->sim, &acq);
   int n = sono_dsp_pipeline_run(d->p, &iq, &acq, SONO_PLANE_BIT(SONO_PLANE_VELOCITY), d->out, NULL, err, sizeof err);
   if (n < 1)
      fail_msg("pipeline run: %s", err);
   d->vel = d->out[0].data;
   d->ld = (size_t)d->out[0].stride[1];
}

typedef struct vstats {
   size_t n, wrapped, agree;
   double mean_err, sum_true, sum_est;
} vstats_t;

/* Compares estimated and true axial velocity on lumen pixels whose true
 * |v| lies in [lo, hi] x VN. */
static vstats_t compare(const frame_buf_t *f, const doppler_t *d, uint32_t frame, double lo, double hi, double tol)
{
   double vn = sono_sim_nyquist(&f->c);
   vstats_t s = {0};
   for (uint32_t ix = 4; ix + 4 < f->c.nx; ++ix)
      for (uint32_t iz = 0; iz < f->c.nz; ++iz) {
         double x = f->c.x0_m + ix * f->c.dx_m, z = f->c.z0_m + iz * f->c.dz_m, vt;
         if (!sono_sim_true_velocity(f->sim, frame, x, z, &vt) || fabs(vt) < lo * vn || fabs(vt) > hi * vn)
            continue;
         double ve = d->vel[iz + d->ld * ix];
         ++s.n;
         s.wrapped += (ve * vt < 0);
         s.agree += fabs(ve - vt) < tol * vn;
         s.mean_err += fabs(ve - vt);
         s.sum_true += vt;
         s.sum_est += ve;
      }
   if (s.n)
      s.mean_err /= (double)s.n;
   return s;
}

static void aliasing_case(sono_sim_case_t *c, const char *name)
{
   sono_error_t err = {{0}};
   assert_int_equal(sono_sim_case_preset(c, name, 3, &err), 0);
   c->nx = 96;
   c->x0_m = -0.5 * c->nx * c->dx_m;
}

static void test_aliasing_preset_wraps_and_twin_does_not(void **state)
{
   (void)state;
   sono_sim_case_t ca, cb;
   aliasing_case(&ca, "facial-aliasing");
   aliasing_case(&cb, "facial-no-aliasing");
   const uint32_t frame = 2; /* late systole: centreline between VN and 2 VN of the aliasing case */
   frame_buf_t fa, fb;
   doppler_t da, db_;
   render(&fa, &ca, frame);
   render(&fb, &cb, frame);
   run_doppler(&da, &fa);
   run_doppler(&db_, &fb);
   vstats_t a = compare(&fa, &da, frame, 1.15, 1.85, 0.3);
   /* same pixels in the twin: VN is 3x larger there, so |v| in [0.38, 0.62] VN */
   vstats_t b = compare(&fb, &db_, frame, 1.15 / 3.0, 1.85 / 3.0, 0.1);
   print_message("aliasing: %zu px, %zu wrapped; twin: %zu px, %zu wrapped, %zu within 0.1 VN\n", a.n, a.wrapped,
                 b.n, b.wrapped, b.agree);
   assert_true(a.n > 50 && b.n > 50);
   assert_true(a.wrapped >= 0.8 * (double)a.n);
   assert_true(b.wrapped <= 0.02 * (double)b.n);
   assert_true(b.agree >= 0.9 * (double)b.n);
   sono_dsp_pipeline_destroy(da.p);
   sono_dsp_pipeline_destroy(db_.p);
   release(&fa);
   release(&fb);
}

static void test_doppler_matches_truth_at_20db(void **state)
{
   (void)state;
   sono_sim_case_t c;
   aliasing_case(&c, "facial-no-aliasing");
   c.snr_db = 20.0;
   double vn = sono_sim_nyquist(&c);
   /* Frames of late systole and diastole. At peak systole (frame 1) blood
    * crosses the 0.16 mm beam in about one pulse interval: the transit-time
    * broadening then spreads the Doppler spectrum over most of the PRF and
    * the lag-1 estimator itself is biased toward zero, as on a scanner. */
   for (uint32_t frame = 2; frame <= 4; ++frame) {
      frame_buf_t f;
      doppler_t d;
      render(&f, &c, frame);
      run_doppler(&d, &f);
      /* lumen core, where the Poiseuille profile is flat on the PSF scale */
      vstats_t s = compare(&f, &d, frame, 0.15, 1.0, 0.05);
      double region_err = fabs(s.sum_est - s.sum_true) / (double)s.n;
      print_message("frame %u: %zu px, region mean error %.4f VN, per-pixel mean |error| %.4f VN\n", frame, s.n,
                    region_err / vn, s.mean_err / vn);
      assert_true(s.n > 50);
      assert_true(region_err <= 0.05 * vn);
      assert_true(s.mean_err <= 0.05 * vn);
      sono_dsp_pipeline_destroy(d.p);
      release(&f);
   }
}

/* ---- side lobes ------------------------------------------------------------ */

typedef struct peak {
   double mag, x, z;
} peak_t;

/* Largest |IQ| of ensemble sample 0 in a rectangle (metres), and where. */
static peak_t peak_in(const frame_buf_t *f, double xa, double xb, double za, double zb)
{
   peak_t p = {0, 0, 0};
   for (long ix = col(&f->c, xa); ix <= col(&f->c, xb); ++ix)
      for (long iz = row(&f->c, za); iz <= row(&f->c, zb); ++iz) {
         double m = cabsf(f->iq[iz + (size_t)f->c.nz * ix]);
         if (m > p.mag)
            p = (peak_t){m, f->c.x0_m + ix * f->c.dx_m, f->c.z0_m + iz * f->c.dz_m};
      }
   return p;
}

static int inside_polygon(const cJSON *poly, double x, double z)
{
   int n = cJSON_GetArraySize(poly), in = 0;
   for (int i = 0, j = n - 1; i < n; j = i++) {
      double xi = cJSON_GetArrayItem(cJSON_GetArrayItem(poly, i), 0)->valuedouble;
      double zi = cJSON_GetArrayItem(cJSON_GetArrayItem(poly, i), 1)->valuedouble;
      double xj = cJSON_GetArrayItem(cJSON_GetArrayItem(poly, j), 0)->valuedouble;
      double zj = cJSON_GetArrayItem(cJSON_GetArrayItem(poly, j), 1)->valuedouble;
      if ((zi > z) != (zj > z) && x < (xj - xi) * (z - zi) / (zj - zi) + xi)
         in = !in;
   }
   return in;
}

/* The side_lobe label on the +x side of the reflector contains (x, z) and
 * says it lies in an anechoic structure. */
static void assert_labelled(const frame_buf_t *f, double x, double z)
{
   cJSON *gt = sono_sim_ground_truth(f->sim);
   const cJSON *a;
   int found = 0;
   cJSON_ArrayForEach(a, cJSON_GetObjectItem(gt, "artefacts")) {
      if (strcmp(cJSON_GetObjectItem(a, "kind")->valuestring, "side_lobe") != 0 ||
          cJSON_GetObjectItem(a, "lateral_offset_m")->valuedouble <= 0)
         continue;
      found = 1;
      assert_true(cJSON_IsTrue(cJSON_GetObjectItem(a, "in_anechoic")));
      if (!inside_polygon(cJSON_GetObjectItem(a, "polygon_m"), x, z))
         fail_msg("side-lobe echo peak at (%.2f, %.2f) mm is outside its ground-truth polygon", x / MM, z / MM);
   }
   assert_true(found);
   cJSON_Delete(gt);
}

static void side_lobe_case(sono_sim_case_t *c, double lobe_db)
{
   sono_error_t err = {{0}};
   assert_int_equal(sono_sim_case_preset(c, "artefact-side-lobe", 5, &err), 0);
   c->frames = 1;
   c->ensemble = 2;
   c->artefacts[0].lobe_db = lobe_db;
}

/* The reflector's echo on the scan lines over the fresh-HA bolus stands at the
 * set lobe level below its main echo (+-2 dB), inside the labelled arc, at
 * the lateral offset z*tan(angle) and range z/cos(angle); the twin without
 * the injection shows only the bolus's own low echo there. */
static void test_side_lobe_level_and_twin(void **state)
{
   (void)state;
   const double levels[] = {-30.0, -25.0};
   double twin_db = 0;
   for (int k = 0; k < 3; ++k) {
      sono_sim_case_t c;
      side_lobe_case(&c, k < 2 ? levels[k] : -30.0);
      const sono_sim_artefact_t a = c.artefacts[0];
      const double z = a.z_m, sg = 6.0 * M_PI / 180.0 / 2.3548;
      /* where the lobe (+-2 sigma) lands on the +x side, inside the bolus */
      double xa = a.x_m + z * tan(a.lobe_angle_rad - 2 * sg) - 0.25 * MM;
      double xb = a.x_m + z * tan(a.lobe_angle_rad + 2 * sg) + 0.25 * MM;
      double za = z / cos(a.lobe_angle_rad - 2 * sg) - 0.15 * MM, zb = z / cos(a.lobe_angle_rad + 2 * sg) + 0.15 * MM;
      if (k == 2)
         c.artefact_count = 0; /* twin: no reflector, no lobe */
      frame_buf_t f;
      render(&f, &c, 0);
      peak_t main = peak_in(&f, a.x_m - 0.5 * a.width_m, a.x_m + 0.5 * a.width_m, z - 0.1 * MM, z + 0.1 * MM);
      peak_t lobe = peak_in(&f, xa, xb, za, zb);
      double fat = sqrt(mean_power(&f, 2.5 * MM, 4.5 * MM, 2.5 * MM, 5.0 * MM));
      if (k < 2) {
         double got = 20.0 * log10(lobe.mag / main.mag);
         print_message("side lobe set %.0f dB: measured %.1f dB re the reflector (%.1f dB re fat) at x %+.2f mm, "
                       "z %.2f mm: %.2f mm beside and %.2f mm below the reflector\n",
                       levels[k], got, 20.0 * log10(lobe.mag / fat), lobe.x / MM, lobe.z / MM, (lobe.x - a.x_m) / MM,
                       (lobe.z - z) / MM);
         assert_true(fabs(got - levels[k]) <= 2.0);
         assert_true(fabs(lobe.x - a.x_m - z * tan(a.lobe_angle_rad)) <= a.width_m);
         assert_true(fabs(lobe.z - z / cos(a.lobe_angle_rad)) <= 0.2 * MM);
         assert_labelled(&f, lobe.x, lobe.z);
      } else {
         twin_db = 20.0 * log10(lobe.mag / fat);
         print_message("twin without side lobe: peak in the same window %.1f dB re fat\n", twin_db);
         assert_true(twin_db <= -15.0); /* the bolus itself is -30 dB re fat */
      }
      release(&f);
   }
}

int main(void)
{
   const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_fresh_ha_is_20db_below_fat),
      cmocka_unit_test(test_undiluted_caha_shadow_10db),
      cmocka_unit_test(test_pmma_comet_tail_spacing),
      cmocka_unit_test(test_aliasing_preset_wraps_and_twin_does_not),
      cmocka_unit_test(test_doppler_matches_truth_at_20db),
      cmocka_unit_test(test_side_lobe_level_and_twin),
   };
   return cmocka_run_group_tests(tests, NULL, NULL);
}
