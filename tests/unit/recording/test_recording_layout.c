/* Reading any axis order in either "order" gives the same planes; strides,
 * missing axes, shared files, relative paths, derived metadata and NaN/Inf
 * counting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sono/sdk/recording.h>

#include <complex.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "rec_test_util.h"

enum { NZ = 4, NX = 3, NE = 2, NF = 2, N = NZ * NX * NE * NF };

static const char acquisition[] =
   "\"acquisition\": {\"center_frequency_hz\": 5e6, \"sound_speed_m_s\": 1480, \"prf_hz\": 10000},"
   "\"grid\": {\"nx\": 3, \"nz\": 4, \"dx_m\": 1e-4, \"dz_m\": 1e-4, \"x0_m\": -1e-4, \"z0_m\": 0.01}";

static float complex expected(int z, int x, int e, int f)
{
   float v = (float)(z + 10 * x + 100 * e + 1000 * f);
   return CMPLXF(v, -v - 0.5f);
}

/* Linear index in a file whose axes are `axes` (names) in `order`. */
static size_t file_index(const char *const axes[4], int column_major, const int idx[4])
{
   static const char *const names[4] = {"z", "x", "ensemble", "frame"};
   static const int len[4] = {NZ, NX, NE, NF};
   size_t at = 0, step = 1;
   for (int k = 0; k < 4; ++k) {
      int a = column_major ? k : 3 - k;
      int slot = 0;
      while (strcmp(names[slot], axes[a]) != 0)
         ++slot;
      at += (size_t)idx[slot] * step;
      step *= (size_t)len[slot];
   }
   return at;
}

static int shape_of(const char *axis)
{
   return strcmp(axis, "z") == 0 ? NZ : strcmp(axis, "x") == 0 ? NX : strcmp(axis, "ensemble") == 0 ? NE : NF;
}

/* Writes dir/<name>.json and dir/<name>.bin holding the test cube. */
static char *write_cube(const char *dir, const char *name, const char *const axes[4], const char *order)
{
   float complex data[N];
   for (int f = 0; f < NF; ++f)
      for (int e = 0; e < NE; ++e)
         for (int x = 0; x < NX; ++x)
            for (int z = 0; z < NZ; ++z)
               data[file_index(axes, order[0] == 'F', (int[4]){z, x, e, f})] = expected(z, x, e, f);
   char file[64], text[2048];
   snprintf(file, sizeof file, "%s.bin", name);
   char *bin = rt_path(dir, file);
   rt_write_file(bin, data, sizeof data);
   free(bin);
   snprintf(text, sizeof text,
            "{\"format\": \"sono.recording\", \"version\": 1, %s, \"planes\": {\"iq\": {\"file\": \"%s\","
            " \"dtype\": \"complex64\", \"axes\": [\"%s\", \"%s\", \"%s\", \"%s\"], \"shape\": [%d, %d, %d, %d],"
            " \"order\": \"%s\"}}}",
            acquisition, file, axes[0], axes[1], axes[2], axes[3], shape_of(axes[0]), shape_of(axes[1]),
            shape_of(axes[2]), shape_of(axes[3]), order);
   snprintf(file, sizeof file, "%s.json", name);
   char *header = rt_path(dir, file);
   rt_write_text(header, text);
   return header;
}

static sono_recording_t *open_ok(const char *header)
{
   sono_error_t err = {{0}};
   sono_recording_t *rec = sono_recording_open(header, &err);
   if (!rec)
      fail_msg("%s refused: %s", header, err.message);
   return rec;
}

static void check_cube(const sono_recording_t *rec)
{
   assert_int_equal(sono_recording_get_info(rec)->frame_count, NF);
   for (uint32_t f = 0; f < NF; ++f) {
      sono_plane_t planes[SONO_PLANE_KIND_COUNT];
      sono_error_t err = {{0}};
      assert_int_equal(sono_recording_frame(rec, f, planes, &err), 1);
      const sono_plane_t *p = &planes[0];
      assert_int_equal(p->kind, SONO_PLANE_IQ);
      assert_int_equal(p->dtype, SONO_DTYPE_COMPLEX64);
      assert_int_equal(p->struct_size, sizeof *p);
      assert_int_equal(p->shape[0], NZ);
      assert_int_equal(p->shape[1], NX);
      assert_int_equal(p->shape[2], NE);
      const float complex *d = p->data;
      for (int e = 0; e < NE; ++e)
         for (int x = 0; x < NX; ++x)
            for (int z = 0; z < NZ; ++z) {
               float complex got = d[z * p->stride[0] + x * p->stride[1] + e * p->stride[2]];
               float complex want = expected(z, x, e, (int)f);
               assert_memory_equal(&got, &want, sizeof got);
            }
   }
}

static void orders_read_identically(void **state)
{
   (void)state;
   char *dir = rt_tmpdir();
   static const char *const zxef[4] = {"z", "x", "ensemble", "frame"};
   static const char *const fezx[4] = {"frame", "ensemble", "x", "z"};
   static const char *const xfze[4] = {"x", "frame", "z", "ensemble"};
   struct { const char *name; const char *const *axes; const char *order; int64_t stride[3]; } layouts[] = {
      {"f", zxef, "F", {1, NZ, NZ * NX}},
      {"c", zxef, "C", {NX * NE * NF, NE * NF, NF}},
      {"perm_f", fezx, "F", {NF * NE * NX, NF * NE, NF}},
      {"perm_c", xfze, "C", {NE, NZ * NE * NF, 1}},
   };
   for (size_t i = 0; i < sizeof layouts / sizeof layouts[0]; ++i) {
      char *header = write_cube(dir, layouts[i].name, layouts[i].axes, layouts[i].order);
      sono_recording_t *rec = open_ok(header);
      check_cube(rec);
      sono_plane_t planes[SONO_PLANE_KIND_COUNT];
      assert_int_equal(sono_recording_frame(rec, 0, planes, NULL), 1);
      for (int a = 0; a < 3; ++a)
         if (planes[0].stride[a] != layouts[i].stride[a])
            fail_msg("%s: stride[%d] = %lld, expected %lld", layouts[i].name, a, (long long)planes[0].stride[a],
                     (long long)layouts[i].stride[a]);
      sono_recording_close(rec);
      free(header);
   }
   rt_rmtree(dir);
   free(dir);
}

static char *write_header(const char *dir, const char *name, const char *planes_json)
{
   char text[4096];
   snprintf(text, sizeof text,
            "{\"format\": \"sono.recording\", \"version\": 1, \"description\": \"layout\", %s, \"planes\": {%s}}",
            acquisition, planes_json);
   char *header = rt_path(dir, name);
   rt_write_text(header, text);
   return header;
}

/* Missing ensemble and frame axes read as length 1 with stride 0, and a
 * plane without a frame axis is the same view in every frame. */
static void missing_axes_are_length_one(void **state)
{
   (void)state;
   char *dir = rt_tmpdir();
   float complex iq[NZ * NX * NF];
   unsigned char bmode[NZ * NX];
   for (int i = 0; i < NZ * NX * NF; ++i)
      iq[i] = CMPLXF((float)i, 0.0f);
   memset(bmode, 7, sizeof bmode);
   char *p = rt_path(dir, "iq.bin");
   rt_write_file(p, iq, sizeof iq);
   free(p);
   p = rt_path(dir, "b.bin");
   rt_write_file(p, bmode, sizeof bmode);
   free(p);
   char *header = write_header(dir, "m.json",
                               "\"iq\": {\"file\": \"iq.bin\", \"dtype\": \"complex64\", \"axes\": [\"x\", \"z\", \"frame\"],"
                               " \"shape\": [3, 4, 2]},"
                               "\"bmode\": {\"file\": \"b.bin\", \"dtype\": \"uint8\", \"axes\": [\"z\", \"x\"],"
                               " \"shape\": [4, 3], \"order\": \"C\"}");
   sono_recording_t *rec = open_ok(header);
   const sono_recording_info_t *info = sono_recording_get_info(rec);
   assert_int_equal(info->frame_count, 2);
   assert_int_equal(info->acquisition.ensemble_size, 1);
   sono_plane_t f0[SONO_PLANE_KIND_COUNT], f1[SONO_PLANE_KIND_COUNT];
   assert_int_equal(sono_recording_frame(rec, 0, f0, NULL), 2);
   assert_int_equal(sono_recording_frame(rec, 1, f1, NULL), 2);
   assert_int_equal(f0[0].shape[2], 1);
   assert_int_equal(f0[0].stride[2], 0);
   assert_int_equal(f0[0].stride[0], NX); /* x fastest in the file */
   assert_int_equal(f0[0].stride[1], 1);
   assert_ptr_equal((const float complex *)f1[0].data, (const float complex *)f0[0].data + NZ * NX);
   assert_int_equal(f0[1].kind, SONO_PLANE_BMODE);
   assert_int_equal(f0[1].stride[0], NX);
   assert_int_equal(f0[1].stride[1], 1);
   assert_ptr_equal(f0[1].data, f1[1].data);
   sono_error_t err = {{0}};
   assert_int_equal(sono_recording_frame(rec, 2, f0, &err), -1);
   assert_non_null(strstr(err.message, header));
   assert_non_null(strstr(err.message, "frame 2: out of range, expected 0..1"));
   sono_recording_close(rec);
   free(header);
   rt_rmtree(dir);
   free(dir);
}

/* RF reads as sample, channel, ensemble and the spectrogram as frequency,
 * time, whatever the file order. */
static void rf_and_spectrogram_axes(void **state)
{
   (void)state;
   char *dir = rt_tmpdir();
   int16_t rf[5 * 6]; /* file: channel fastest */
   float spec[7 * 8];  /* file: time fastest */
   for (int s = 0; s < 5; ++s)
      for (int c = 0; c < 6; ++c)
         rf[s * 6 + c] = (int16_t)(100 * s + c);
   for (int fq = 0; fq < 7; ++fq)
      for (int t = 0; t < 8; ++t)
         spec[fq * 8 + t] = (float)fq - 0.25f * (float)t;
   char *p = rt_path(dir, "rf.bin");
   rt_write_file(p, rf, sizeof rf);
   free(p);
   p = rt_path(dir, "s.bin");
   rt_write_file(p, spec, sizeof spec);
   free(p);
   char *header = write_header(dir, "rf.json",
                               "\"rf\": {\"file\": \"rf.bin\", \"dtype\": \"int16\", \"axes\": [\"channel\", \"sample\"],"
                               " \"shape\": [6, 5]},"
                               "\"spectrogram\": {\"file\": \"s.bin\", \"dtype\": \"float32\","
                               " \"axes\": [\"frequency\", \"time\"], \"shape\": [7, 8], \"order\": \"C\"}");
   sono_recording_t *rec = open_ok(header);
   sono_plane_t planes[SONO_PLANE_KIND_COUNT];
   assert_int_equal(sono_recording_frame(rec, 0, planes, NULL), 2);
   const sono_plane_t *r = &planes[0], *sp = &planes[1];
   assert_int_equal(r->kind, SONO_PLANE_RF);
   assert_int_equal(r->shape[0], 5);
   assert_int_equal(r->shape[1], 6);
   assert_int_equal(sp->kind, SONO_PLANE_SPECTROGRAM);
   assert_int_equal(sp->shape[0], 7);
   assert_int_equal(sp->shape[1], 8);
   for (int s = 0; s < 5; ++s)
      for (int c = 0; c < 6; ++c)
         assert_int_equal(((const int16_t *)r->data)[s * r->stride[0] + c * r->stride[1]], 100 * s + c);
   for (int fq = 0; fq < 7; ++fq)
      for (int t = 0; t < 8; ++t)
         assert_true(((const float *)sp->data)[fq * sp->stride[0] + t * sp->stride[1]] == (float)fq - 0.25f * (float)t);
   sono_recording_close(rec);
   free(header);
   rt_rmtree(dir);
   free(dir);
}

/* Two planes in one file at different offsets, reached through "..". */
static void shared_file_and_parent_path(void **state)
{
   (void)state;
   char *dir = rt_tmpdir();
   char *hdr_dir = rt_path(dir, "headers");
   char *data_dir = rt_path(dir, "data");
   assert_int_equal(mkdir(hdr_dir, 0755), 0);
   assert_int_equal(mkdir(data_dir, 0755), 0);
   unsigned char blob[NZ * NX * 8 + NZ * NX];
   float complex iq[NZ * NX];
   for (int i = 0; i < NZ * NX; ++i)
      iq[i] = CMPLXF((float)i, 1.0f);
   memcpy(blob, iq, sizeof iq);
   for (int i = 0; i < NZ * NX; ++i)
      blob[sizeof iq + (size_t)i] = (unsigned char)(200 + i);
   char *bin = rt_path(data_dir, "all.bin");
   rt_write_file(bin, blob, sizeof blob);
   char *header = write_header(hdr_dir, "shared.json",
                               "\"iq\": {\"file\": \"../data/all.bin\", \"dtype\": \"complex64\", \"axes\": [\"z\", \"x\"],"
                               " \"shape\": [4, 3], \"offset_bytes\": 0},"
                               "\"bmode\": {\"file\": \"../data/all.bin\", \"dtype\": \"uint8\", \"axes\": [\"z\", \"x\"],"
                               " \"shape\": [4, 3], \"offset_bytes\": 96}");
   sono_recording_t *rec = open_ok(header);
   sono_plane_t planes[SONO_PLANE_KIND_COUNT];
   assert_int_equal(sono_recording_frame(rec, 0, planes, NULL), 2);
   assert_true(crealf(((const float complex *)planes[0].data)[5]) == 5.0f);
   assert_int_equal(((const unsigned char *)planes[1].data)[5], 205);
   assert_ptr_equal((const unsigned char *)planes[1].data, (const unsigned char *)planes[0].data + 96);
   sono_recording_close(rec);
   free(header);
   free(bin);
   free(hdr_dir);
   free(data_dir);
   rt_rmtree(dir);
   free(dir);
}

static void derived_metadata(void **state)
{
   (void)state;
   char *dir = rt_tmpdir();
   rt_write_base_data(dir, 0);
   char *header = rt_path(dir, "scan.json");
   cJSON *root = rt_base_header();
   rt_write_json(header, root);
   cJSON_Delete(root);
   sono_recording_t *rec = open_ok(header);
   const sono_recording_info_t *info = sono_recording_get_info(rec);
   const sono_acquisition_t *a = &info->acquisition;
   assert_true(a->center_frequency_hz == 15e6);
   assert_true(a->demodulation_frequency_hz == 15e6); /* defaults to the centre frequency */
   assert_true(a->sound_speed_m_s == 1540.0);
   assert_true(a->prf_hz == 4000.0);
   assert_true(a->steering_angle_rad == 0.1);
   assert_true(a->sampling_frequency_hz == 60e6);
   assert_true(a->frame_rate_hz == 20.0);
   assert_int_equal(a->doppler_lag, 1);
   assert_int_equal(a->ensemble_size, RT_NE);
   assert_true(fabs(a->nyquist_velocity_m_s - 1540.0 * 4000.0 / (4.0 * 15e6)) < 1e-15);
   assert_string_equal(a->probe_name, "L18-6");
   assert_int_equal(a->probe_elements, 192);
   assert_true(a->probe_pitch_m == 1e-4);
   assert_int_equal(a->probe_geometry, SONO_PROBE_LINEAR);
   assert_int_equal(info->grid.nx, RT_NX);
   assert_int_equal(info->grid.nz, RT_NZ);
   assert_true(info->grid.dx_m == 5e-5 && info->grid.dz_m == 2.5e-5);
   assert_true(info->grid.x0_m == -6.4e-3 && info->grid.z0_m == 0.0);
   assert_int_equal(info->planes_present, SONO_PLANE_BIT(SONO_PLANE_IQ) | SONO_PLANE_BIT(SONO_PLANE_BMODE));
   assert_string_equal(info->description, "unit test");
   assert_int_equal(info->nonfinite_count, 0);
   assert_string_equal(sono_recording_warnings(rec), "");
   assert_string_equal(sono_recording_path(rec), header);
   const cJSON *gt = sono_recording_ground_truth(rec);
   assert_non_null(gt);
   assert_string_equal(cJSON_GetObjectItemCaseSensitive(gt, "generator")->valuestring, "unit test");
   sono_recording_close(rec);
   free(header);
   rt_rmtree(dir);
   free(dir);
}

/* NaN and Inf are counted per plane and reported, not refused. */
static void nonfinite_values_are_counted(void **state)
{
   (void)state;
   char *dir = rt_tmpdir();
   float vel[NZ * NX] = {0};
   float complex iq[NZ * NX];
   for (int i = 0; i < NZ * NX; ++i)
      iq[i] = CMPLXF(1.0f, 2.0f);
   vel[1] = NAN;    /* z 1, x 0: the first */
   vel[5] = NAN;
   vel[6] = -INFINITY;
   vel[11] = INFINITY;
   iq[7] = CMPLXF(1.0f, NAN);
   char *p = rt_path(dir, "v.bin");
   rt_write_file(p, vel, sizeof vel);
   free(p);
   p = rt_path(dir, "iq.bin");
   rt_write_file(p, iq, sizeof iq);
   free(p);
   char *header = write_header(dir, "nan.json",
                               "\"iq\": {\"file\": \"iq.bin\", \"dtype\": \"complex64\", \"axes\": [\"z\", \"x\"],"
                               " \"shape\": [4, 3]},"
                               "\"velocity\": {\"file\": \"v.bin\", \"dtype\": \"float32\", \"axes\": [\"z\", \"x\"],"
                               " \"shape\": [4, 3]}");
   sono_recording_t *rec = open_ok(header);
   assert_int_equal(sono_recording_get_info(rec)->nonfinite_count, 5);
   const char *w = sono_recording_warnings(rec);
   assert_non_null(strstr(w, header));
   assert_non_null(strstr(w, "planes.velocity: 4 non-finite values (NaN or Inf) in \"v.bin\", first at z 1, x 0"));
   assert_non_null(strstr(w, "planes.iq: 1 non-finite values (NaN or Inf) in \"iq.bin\", first at z 3, x 1"));
   sono_recording_close(rec);
   free(header);
   rt_rmtree(dir);
   free(dir);
}

/* A long description is cut to 255 bytes before, never inside, a UTF-8
 * sequence. */
static void long_description_is_cut_cleanly(void **state)
{
   (void)state;
   char *dir = rt_tmpdir();
   rt_write_base_data(dir, 0);
   char *header = rt_path(dir, "scan.json");
   char text[400] = "\"";
   for (int i = 0; i < 254; ++i)
      strcat(text, "a");
   strcat(text, "\xc2\xb5 and more\""); /* U+00B5 at bytes 254..255 */
   cJSON *root = rt_base_header();
   assert_int_equal(rt_set(root, "description", text), 0);
   rt_write_json(header, root);
   cJSON_Delete(root);
   sono_recording_t *rec = open_ok(header);
   assert_int_equal(strlen(sono_recording_get_info(rec)->description), 254);
   sono_recording_close(rec);
   free(header);
   rt_rmtree(dir);
   free(dir);
}

int main(void)
{
   const struct CMUnitTest tests[] = {
      cmocka_unit_test(orders_read_identically),   cmocka_unit_test(missing_axes_are_length_one),
      cmocka_unit_test(rf_and_spectrogram_axes),   cmocka_unit_test(shared_file_and_parent_path),
      cmocka_unit_test(derived_metadata),          cmocka_unit_test(nonfinite_values_are_counted),
      cmocka_unit_test(long_description_is_cut_cleanly),
   };
   return cmocka_run_group_tests(tests, NULL, NULL);
}
