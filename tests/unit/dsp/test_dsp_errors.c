/* libsono_dsp error paths: every message names the field or input, the
 * value found and what was expected. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include <sono/dsp/bmode.h>
#include <sono/dsp/pipeline.h>
#include <sono/dsp/wall.h>

#include "dsp_test_util.h"

#define assert_has(text, part) assert_non_null(strstr((text), (part)))

static void test_parse_wall(void **state)
{
   (void)state;
   sono_dsp_config_t cfg;
   sono_dsp_config_default(&cfg);
   char err[256];
   assert_int_equal(sono_dsp_parse_wall("poly:3", &cfg, err, sizeof err), 0);
   assert_int_equal(cfg.wall, SONO_WALL_POLY);
   assert_int_equal(cfg.wall_order, 3);
   assert_int_equal(sono_dsp_parse_wall("iir:120", &cfg, err, sizeof err), 0);
   assert_int_equal(cfg.wall, SONO_WALL_IIR);
   assert_true(cfg.wall_cutoff_hz == 120.0);
   assert_int_equal(cfg.wall_order, 2);
   assert_int_equal(sono_dsp_parse_wall("iir:80.5:4", &cfg, err, sizeof err), 0);
   assert_int_equal(cfg.wall_order, 4);
   assert_int_equal(sono_dsp_parse_wall("none", &cfg, err, sizeof err), 0);
   assert_int_equal(cfg.wall, SONO_WALL_NONE);

   assert_int_equal(sono_dsp_parse_wall("median:3", &cfg, err, sizeof err), -1);
   assert_has(err, "\"median:3\": unknown, expected poly:N, dct:N, svd:N, iir:F[:order] or none");
   assert_int_equal(sono_dsp_parse_wall("poly:x", &cfg, err, sizeof err), -1);
   assert_has(err, "\"poly:x\": expected poly:N with N a non-negative integer");
   assert_int_equal(sono_dsp_parse_wall("iir:-5", &cfg, err, sizeof err), -1);
   assert_has(err, "\"iir:-5\": expected iir:F or iir:F:order");
   assert_int_equal(sono_dsp_parse_wall("iir:100:4x", &cfg, err, sizeof err), -1);
   assert_has(err, "\"iir:100:4x\"");
}

static void test_create_rejects_config(void **state)
{
   (void)state;
   sono_dsp_config_t cfg;
   char err[256];
   sono_dsp_config_default(&cfg);
   cfg.lag = 0;
   assert_null(sono_dsp_pipeline_create(&cfg, 64, 64, 16, err, sizeof err));
   assert_has(err, "field lag = 0, expected >= 1");
   sono_dsp_config_default(&cfg);
   cfg.smoothing = 0;
   assert_null(sono_dsp_pipeline_create(&cfg, 64, 64, 16, err, sizeof err));
   assert_has(err, "field smoothing = 0, expected 1..");
   sono_dsp_config_default(&cfg);
   cfg.border = 7;
   assert_null(sono_dsp_pipeline_create(&cfg, 64, 64, 16, err, sizeof err));
   assert_has(err, "field border = 7, expected 0 (mirror) or 1 (replicate)");
   sono_dsp_config_default(&cfg);
   cfg.loupas = 1;
   assert_null(sono_dsp_pipeline_create(&cfg, 64, 64, 16, err, sizeof err));
   assert_has(err, "axial_sampling_hz");
   sono_dsp_config_default(&cfg);
   assert_null(sono_dsp_pipeline_create(&cfg, 64, 64, 0, err, sizeof err));
   assert_has(err, "maximum frame 64 x 64 x 0 (z, x, ensemble), expected 1..65536 x 1..65536 x 1..4096");
   /* an ensemble of one: B-mode works, Doppler says why not */
   sono_dsp_pipeline_t *p = sono_dsp_pipeline_create(&cfg, 8, 4, 1, err, sizeof err);
   assert_non_null(p);
   static float iq[2 * 8 * 4];
   sono_plane_t plane = dsp_test_iq_plane(iq, 8, 4, 1), out[4];
   sono_acquisition_t acq;
   memset(&acq, 0, sizeof acq);
   acq.center_frequency_hz = 5e6;
   acq.prf_hz = 1000;
   assert_int_equal(sono_dsp_pipeline_run(p, &plane, &acq, SONO_PLANE_BIT(SONO_PLANE_BMODE), out, NULL, err, sizeof err),
                    1);
   assert_int_equal(sono_dsp_pipeline_run(p, &plane, &acq, SONO_PLANE_BIT(SONO_PLANE_VELOCITY), out, NULL, err,
                                          sizeof err),
                    -1);
   assert_has(err, "ensemble of 1 samples, expected more than lag 1");
   sono_dsp_pipeline_destroy(p);
}

static void test_run_rejects_frames(void **state)
{
   (void)state;
   sono_dsp_config_t cfg;
   char err[256];
   sono_dsp_config_default(&cfg);
   cfg.wall = SONO_WALL_POLY;
   cfg.wall_order = 4;
   sono_dsp_pipeline_t *p = sono_dsp_pipeline_create(&cfg, 16, 8, 16, err, sizeof err);
   assert_non_null(p);
   static float iq[2 * 16 * 8 * 32];
   sono_plane_t plane = dsp_test_iq_plane(iq, 16, 8, 16), out[4];
   sono_acquisition_t acq;
   memset(&acq, 0, sizeof acq);
   acq.center_frequency_hz = 5e6;
   acq.sound_speed_m_s = 1540;
   const uint32_t vel = SONO_PLANE_BIT(SONO_PLANE_VELOCITY);

   assert_int_equal(sono_dsp_pipeline_run(p, &plane, &acq, vel, out, NULL, err, sizeof err), -1);
   assert_has(err, "acquisition.prf_hz = 0, expected > 0");
   acq.prf_hz = 4000;

   sono_plane_t big = dsp_test_iq_plane(iq, 16, 8, 32);
   assert_int_equal(sono_dsp_pipeline_run(p, &big, &acq, vel, out, NULL, err, sizeof err), -1);
   assert_has(err, "IQ plane: shape 16 x 8 x 32, expected within the 16 x 8 x 16");

   sono_plane_t wrong = plane;
   wrong.dtype = SONO_DTYPE_FLOAT32;
   assert_int_equal(sono_dsp_pipeline_run(p, &wrong, &acq, vel, out, NULL, err, sizeof err), -1);
   assert_has(err, "IQ plane: dtype 1, expected complex64");

   assert_int_equal(sono_dsp_pipeline_run(p, &plane, &acq, SONO_PLANE_BIT(SONO_PLANE_SPECTROGRAM), out, NULL, err,
                                          sizeof err),
                    -1);
   assert_has(err, "wanted planes mask 0x40");

   sono_plane_t short_ens = dsp_test_iq_plane(iq, 16, 8, 5);
   assert_int_equal(sono_dsp_pipeline_run(p, &short_ens, &acq, vel, out, NULL, err, sizeof err), -1);
   assert_has(err, "order 4 removes 5 components of an ensemble of 5 samples");

   /* B-mode alone needs no Doppler acquisition fields */
   acq.prf_hz = 0;
   assert_int_equal(sono_dsp_pipeline_run(p, &plane, &acq, SONO_PLANE_BIT(SONO_PLANE_BMODE), out, NULL, err,
                                          sizeof err),
                    1);
   assert_int_equal(out[0].dtype, SONO_DTYPE_UINT8);
   sono_dsp_pipeline_destroy(p);
}

static void test_low_level_errors(void **state)
{
   (void)state;
   char err[256];
   float q[64];
   assert_int_equal(sono_dsp_wall_basis(SONO_WALL_DCT, 0, 8, q, err, sizeof err), -1);
   assert_has(err, "wall filter dct: order 0 is not allowed, expected >= 1");
   sono_dsp_iir_t f;
   assert_int_equal(sono_dsp_iir_highpass(2, 3000.0, 4000.0, &f, err, sizeof err), -1);
   assert_has(err, "cutoff 3000 Hz, expected between 0 and PRF/2 = 2000 Hz");
   assert_null(sono_dsp_rf2iq_create(10, 20e6, 5e6, 0, 0, err, sizeof err));
   assert_has(err, "10 samples per line, expected more than 45");
   sono_plane_t rf = dsp_test_iq_plane(q, 4, 4, 1);
   assert_int_equal(sono_dsp_bmode_u8(&rf, -3.0, NULL, (uint8_t *)q, 4, err, sizeof err), -1);
   assert_has(err, "dynamic range -3 dB, expected > 0");
}

int main(void)
{
   const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_parse_wall),
      cmocka_unit_test(test_create_rejects_config),
      cmocka_unit_test(test_run_rejects_frames),
      cmocka_unit_test(test_low_level_errors),
   };
   return cmocka_run_group_tests(tests, NULL, NULL);
}
