/* tests/data/pwi_disk.json, a header written by hand that references the
 * shared pwi_disk IQ in place, opens and reads the same values as the raw
 * file. Skips (77) when the reference data is absent.
 * Usage: test_recording_fixture <fixture.json> <SONO_DATA_DIR> */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sono/sdk/recording.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { NZ = 251, NX = 251, NE = 32 };

static const char *fixture_path;
static char raw_path[4096];

/* Element (iz, ix, it) read with stdio from the raw file, the layout of
 * ../shared/data/README.md: iq[iz + nz*(ix + nx*it)]. */
static void raw_element(size_t iz, size_t ix, size_t it, float out[2])
{
   FILE *f = fopen(raw_path, "rb");
   assert_non_null(f);
   long at = (long)((iz + NZ * (ix + NX * it)) * 8);
   assert_int_equal(fseek(f, at, SEEK_SET), 0);
   assert_int_equal(fread(out, sizeof(float), 2, f), 2);
   fclose(f);
}

static void fixture_metadata(void **state)
{
   (void)state;
   sono_error_t err = {{0}};
   sono_recording_t *rec = sono_recording_open(fixture_path, &err);
   if (!rec)
      fail_msg("%s", err.message);
   const sono_recording_info_t *info = sono_recording_get_info(rec);
   const sono_acquisition_t *a = &info->acquisition;
   assert_int_equal(info->grid.nx, NX);
   assert_int_equal(info->grid.nz, NZ);
   assert_true(info->grid.dx_m == 1e-4 && info->grid.dz_m == 1e-4);
   assert_true(info->grid.x0_m == -12.5e-3 && info->grid.z0_m == 10e-3);
   assert_true(a->center_frequency_hz == 5e6 && a->demodulation_frequency_hz == 5e6);
   assert_true(a->sound_speed_m_s == 1480.0 && a->prf_hz == 10000.0);
   assert_int_equal(a->ensemble_size, NE);
   assert_true(fabs(a->nyquist_velocity_m_s - 0.74) < 1e-12); /* VN of the data README */
   assert_string_equal(a->probe_name, "L11-5v");
   assert_int_equal(a->probe_elements, 128);
   assert_true(a->probe_pitch_m == 2.98e-4);
   assert_int_equal(info->frame_count, 1);
   assert_int_equal(info->planes_present, SONO_PLANE_BIT(SONO_PLANE_IQ));
   assert_int_equal(info->nonfinite_count, 0);
   assert_null(sono_recording_ground_truth(rec));
   sono_recording_close(rec);
}

static void fixture_values_match_the_raw_file(void **state)
{
   (void)state;
   sono_error_t err = {{0}};
   sono_recording_t *rec = sono_recording_open(fixture_path, &err);
   assert_non_null(rec);
   sono_plane_t planes[SONO_PLANE_KIND_COUNT];
   assert_int_equal(sono_recording_frame(rec, 0, planes, &err), 1);
   const sono_plane_t *iq = &planes[0];
   assert_int_equal(iq->shape[0], NZ);
   assert_int_equal(iq->shape[1], NX);
   assert_int_equal(iq->shape[2], NE);
   assert_int_equal(iq->stride[0], 1);
   assert_int_equal(iq->stride[1], NZ);
   assert_int_equal(iq->stride[2], NZ * NX);
   static const size_t probes[][3] = {{0, 0, 0}, {1, 0, 0}, {0, 1, 0}, {0, 0, 1}, {125, 125, 16}, {250, 250, 31}};
   for (size_t i = 0; i < sizeof probes / sizeof probes[0]; ++i) {
      const size_t *p = probes[i];
      float want[2];
      raw_element(p[0], p[1], p[2], want);
      const float *got = (const float *)iq->data + 2 * (p[0] * (size_t)iq->stride[0] + p[1] * (size_t)iq->stride[1] +
                                                        p[2] * (size_t)iq->stride[2]);
      if (memcmp(got, want, sizeof want) != 0)
         fail_msg("iq(%zu, %zu, %zu) = %g%+gi, raw file has %g%+gi", p[0], p[1], p[2], got[0], got[1], want[0], want[1]);
   }
   sono_recording_close(rec);
}

int main(int argc, char **argv)
{
   if (argc != 3) {
      fprintf(stderr, "usage: %s <pwi_disk.json> <SONO_DATA_DIR>\n", argv[0]);
      return 2;
   }
   fixture_path = argv[1];
   snprintf(raw_path, sizeof raw_path, "%s/pwi_disk/iq_beamformed.bin", argv[2]);
   char target[4096];
   const char *slash = strrchr(fixture_path, '/');
   snprintf(target, sizeof target, "%.*s../../../shared/data/pwi_disk/iq_beamformed.bin",
            slash ? (int)(slash - fixture_path + 1) : 0, fixture_path);
   if (access(raw_path, R_OK) != 0 || access(target, R_OK) != 0) {
      printf("SKIP: pwi_disk reference data absent (%s, or %s referenced by the fixture)\n", raw_path, target);
      return 77;
   }
   const struct CMUnitTest tests[] = {
      cmocka_unit_test(fixture_metadata),
      cmocka_unit_test(fixture_values_match_the_raw_file),
   };
   return cmocka_run_group_tests(tests, NULL, NULL);
}
