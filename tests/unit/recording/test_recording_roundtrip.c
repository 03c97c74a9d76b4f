/* Writing then reading a recording is bit-exact for every dtype and plane
 * kind over several frames; the writer is atomic and refuses what the
 * reader would refuse. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sono/sdk/recording.h>
#include <sono/sdk/names.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "rec_test_util.h"

enum { NZ = 5, NX = 4, NE = 3, NS = 7, NCH = 6, NFQ = 8, NT = 9, FRAMES = 3, MAXP = SONO_PLANE_KIND_COUNT };

static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static uint32_t next_u32(void)
{
   rng_state ^= rng_state << 13;
   rng_state ^= rng_state >> 7;
   rng_state ^= rng_state << 17;
   return (uint32_t)(rng_state >> 16);
}

/* Random bits; float words get a finite exponent so that the reader raises
 * no NaN warning, but keep their sign, denormals and -0. */
static void fill_random(void *buf, size_t bytes, int floats)
{
   unsigned char *b = buf;
   for (size_t i = 0; i < bytes; i += 4) {
      uint32_t w = next_u32();
      if (floats && (w & 0x7f800000u) == 0x7f800000u)
         w &= ~0x00800000u;
      memcpy(b + i, &w, bytes - i < 4 ? bytes - i : 4);
   }
}

typedef struct source {
   sono_plane_t plane;
   void *buf;
   size_t bytes;
} source_t;

/* A plane of `kind` and `dtype`, stored contiguously in F order unless
 * `row_major`, in which case axes 0 and 1 are swapped in memory. */
static void make_source(source_t *s, sono_plane_kind_t kind, sono_dtype_t dtype, uint32_t n0, uint32_t n1, uint32_t n2,
                        int row_major)
{
   memset(s, 0, sizeof *s);
   size_t esize = sono_dtype_size(dtype);
   s->bytes = (size_t)n0 * n1 * n2 * esize;
   s->buf = malloc(s->bytes);
   assert_non_null(s->buf);
   s->plane.struct_size = sizeof s->plane;
   s->plane.kind = kind;
   s->plane.dtype = dtype;
   s->plane.shape[0] = n0;
   s->plane.shape[1] = n1;
   s->plane.shape[2] = n2;
   s->plane.stride[0] = row_major ? n1 : 1;
   s->plane.stride[1] = row_major ? 1 : n0;
   s->plane.stride[2] = (int64_t)n0 * n1;
   s->plane.data = s->buf;
}

static void refill(source_t *s)
{
   fill_random(s->buf, s->bytes, s->plane.dtype == SONO_DTYPE_COMPLEX64 || s->plane.dtype == SONO_DTYPE_FLOAT32);
}

static sono_recording_info_t test_info(void)
{
   sono_recording_info_t info;
   memset(&info, 0, sizeof info);
   info.grid = (sono_grid_t){NX, NZ, 1.0e-4 / 3.0, 2.5e-5, -6.4e-3, 1.0e-3 / 7.0};
   sono_acquisition_t *a = &info.acquisition;
   a->center_frequency_hz = 15.625e6;
   a->demodulation_frequency_hz = 14.9e6;
   a->sound_speed_m_s = 1540.25;
   a->prf_hz = 4000.0 / 3.0;
   a->steering_angle_rad = -0.1;
   a->sampling_frequency_hz = 62.5e6;
   a->frame_rate_hz = 19.5;
   a->probe_geometry = SONO_PROBE_CONVEX;
   a->probe_elements = 192;
   a->probe_pitch_m = 1.0e-4 / 3.0;
   a->probe_radius_m = 0.06;
   snprintf(a->probe_name, sizeof a->probe_name, "C5-2 \xc2\xb5");
   snprintf(info.description, sizeof info.description, "round trip \"quoted\"");
   snprintf(info.wall_filter, sizeof info.wall_filter, "svd:2");
   return info;
}

/* Element (i0, i1, i2) of a plane, compared byte for byte. */
static const unsigned char *element(const sono_plane_t *p, uint32_t i0, uint32_t i1, uint32_t i2)
{
   int64_t at = (int64_t)i0 * p->stride[0] + (int64_t)i1 * p->stride[1] + (int64_t)i2 * p->stride[2];
   return (const unsigned char *)p->data + at * (int64_t)sono_dtype_size(p->dtype);
}

static void assert_planes_equal(const sono_plane_t *got, const sono_plane_t *want, uint32_t frame)
{
   assert_int_equal(got->kind, want->kind);
   assert_int_equal(got->dtype, want->dtype);
   for (int a = 0; a < 3; ++a)
      assert_int_equal(got->shape[a], want->shape[a]);
   size_t esize = sono_dtype_size(want->dtype);
   for (uint32_t i2 = 0; i2 < want->shape[2]; ++i2)
      for (uint32_t i1 = 0; i1 < want->shape[1]; ++i1)
         for (uint32_t i0 = 0; i0 < want->shape[0]; ++i0)
            if (memcmp(element(got, i0, i1, i2), element(want, i0, i1, i2), esize) != 0)
               fail_msg("frame %u, %s plane: element (%u, %u, %u) differs", frame, sono_plane_kind_name(want->kind), i0,
                        i1, i2);
}

static void assert_info_equal(const sono_recording_info_t *got, const sono_recording_info_t *want)
{
   assert_memory_equal(&got->grid, &want->grid, sizeof got->grid);
   const sono_acquisition_t *g = &got->acquisition, *w = &want->acquisition;
   assert_true(g->center_frequency_hz == w->center_frequency_hz);
   assert_true(g->demodulation_frequency_hz == w->demodulation_frequency_hz);
   assert_true(g->sound_speed_m_s == w->sound_speed_m_s);
   assert_true(g->prf_hz == w->prf_hz);
   assert_true(g->steering_angle_rad == w->steering_angle_rad);
   assert_true(g->sampling_frequency_hz == w->sampling_frequency_hz);
   assert_true(g->frame_rate_hz == w->frame_rate_hz);
   assert_int_equal(g->probe_geometry, w->probe_geometry);
   assert_int_equal(g->probe_elements, w->probe_elements);
   assert_true(g->probe_pitch_m == w->probe_pitch_m);
   assert_true(g->probe_radius_m == w->probe_radius_m);
   assert_string_equal(g->probe_name, w->probe_name);
   assert_string_equal(got->description, want->description);
   assert_string_equal(got->wall_filter, want->wall_filter);
}

/* Writes FRAMES frames of `sources`, keeping a copy of every frame's bytes,
 * then reads the recording back and compares everything. */
static void round_trip(source_t *sources, uint32_t count, int with_truth)
{
   char *dir = rt_tmpdir();
   char *header = rt_path(dir, "trip.json");
   sono_recording_info_t info = test_info();
   sono_error_t err = {{0}};
   sono_recording_writer_t *w = sono_recording_writer_open(header, &info, &err);
   if (!w)
      fail_msg("writer_open: %s", err.message);
   void *copies[FRAMES][MAXP];
   sono_plane_t planes[MAXP];
   for (uint32_t f = 0; f < FRAMES; ++f) {
      for (uint32_t i = 0; i < count; ++i) {
         refill(&sources[i]);
         copies[f][i] = malloc(sources[i].bytes);
         memcpy(copies[f][i], sources[i].buf, sources[i].bytes);
         planes[i] = sources[i].plane;
      }
      if (sono_recording_writer_add_frame(w, planes, count, &err) != 0)
         fail_msg("add_frame %u: %s", f, err.message);
   }
   cJSON *truth = cJSON_Parse("{\"generator\": \"test 1.0\", \"vessels\": [{\"id\": \"v1\", \"psv_m_s\": 0.2,"
                              " \"centerline_m\": [[0.001, 0.002], [0.003, 0.0041]]}],"
                              " \"expect\": {\"intravascular\": \"detected\"}}");
   if (with_truth)
      assert_int_equal(sono_recording_writer_set_ground_truth(w, truth, &err), 0);
   if (sono_recording_writer_commit(w, &err) != 0)
      fail_msg("commit: %s", err.message);
   assert_int_equal(rt_count_entries(dir), 1 + (int)count); /* no temporary left */

   sono_recording_t *rec = sono_recording_open(header, &err);
   if (!rec)
      fail_msg("reading back: %s", err.message);
   const sono_recording_info_t *got = sono_recording_get_info(rec);
   assert_info_equal(got, &info);
   assert_int_equal(got->frame_count, FRAMES);
   assert_int_equal(got->nonfinite_count, 0);
   if (with_truth)
      assert_true(cJSON_Compare(sono_recording_ground_truth(rec), truth, 1));
   else
      assert_null(sono_recording_ground_truth(rec));
   cJSON_Delete(truth);
   for (uint32_t f = 0; f < FRAMES; ++f) {
      sono_plane_t read[MAXP];
      assert_int_equal(sono_recording_frame(rec, f, read, &err), (int)count);
      for (uint32_t i = 0; i < count; ++i) {
         sono_plane_t want = sources[i].plane;
         want.data = copies[f][i];
         const sono_plane_t *match = NULL;
         for (uint32_t j = 0; j < count; ++j)
            if (read[j].kind == want.kind)
               match = &read[j];
         assert_non_null(match);
         assert_planes_equal(match, &want, f);
         free(copies[f][i]);
      }
   }
   sono_recording_close(rec);
   rt_rmtree(dir);
   free(header);
   free(dir);
}

static void free_sources(source_t *s, uint32_t n)
{
   for (uint32_t i = 0; i < n; ++i)
      free(s[i].buf);
}

/* complex64 IQ, int16 RF, uint8 B-mode and the float32 maps. */
static void round_trip_every_kind(void **state)
{
   (void)state;
   source_t s[7];
   make_source(&s[0], SONO_PLANE_IQ, SONO_DTYPE_COMPLEX64, NZ, NX, NE, 0);
   make_source(&s[1], SONO_PLANE_RF, SONO_DTYPE_INT16, NS, NCH, NE, 0);
   make_source(&s[2], SONO_PLANE_BMODE, SONO_DTYPE_UINT8, NZ, NX, 1, 1);
   make_source(&s[3], SONO_PLANE_VELOCITY, SONO_DTYPE_FLOAT32, NZ, NX, 1, 0);
   make_source(&s[4], SONO_PLANE_POWER, SONO_DTYPE_FLOAT32, NZ, NX, 1, 1);
   make_source(&s[5], SONO_PLANE_VARIANCE, SONO_DTYPE_FLOAT32, NZ, NX, 1, 0);
   make_source(&s[6], SONO_PLANE_SPECTROGRAM, SONO_DTYPE_FLOAT32, NFQ, NT, 1, 0);
   round_trip(s, 7, 1);
   free_sources(s, 7);
}

/* The other dtypes of RF and B-mode, and an IQ read through row-major
 * strides. */
static void round_trip_float_rf_and_bmode(void **state)
{
   (void)state;
   source_t s[3];
   make_source(&s[0], SONO_PLANE_RF, SONO_DTYPE_FLOAT32, NS, NCH, 1, 1);
   make_source(&s[1], SONO_PLANE_BMODE, SONO_DTYPE_FLOAT32, NZ, NX, 1, 0);
   make_source(&s[2], SONO_PLANE_IQ, SONO_DTYPE_COMPLEX64, NZ, NX, NE, 1);
   round_trip(s, 3, 0);
   free_sources(s, 3);
}

static int has_entry_containing(const char *dir, const char *part)
{
   DIR *d = opendir(dir);
   int found = 0;
   for (struct dirent *e; d && (e = readdir(d));)
      found |= strstr(e->d_name, part) != NULL;
   if (d)
      closedir(d);
   return found;
}

/* Until commit nothing exists under the final names; abort leaves nothing. */
static void writing_is_atomic(void **state)
{
   (void)state;
   char *dir = rt_tmpdir();
   char *header = rt_path(dir, "atomic.json");
   sono_recording_info_t info = test_info();
   source_t s;
   make_source(&s, SONO_PLANE_IQ, SONO_DTYPE_COMPLEX64, NZ, NX, NE, 0);
   refill(&s);
   for (int attempt = 0; attempt < 2; ++attempt) {
      sono_error_t err = {{0}};
      sono_recording_writer_t *w = sono_recording_writer_open(header, &info, &err);
      assert_non_null(w);
      assert_int_equal(sono_recording_writer_add_frame(w, &s.plane, 1, &err), 0);
      struct stat st;
      assert_int_equal(stat(header, &st), -1);
      char *iq = rt_path(dir, "atomic.iq.bin");
      assert_int_equal(stat(iq, &st), -1);
      assert_true(has_entry_containing(dir, ".tmp-"));
      if (attempt == 0) {
         sono_recording_writer_abort(w);
         assert_int_equal(rt_count_entries(dir), 0);
      } else {
         assert_int_equal(sono_recording_writer_commit(w, &err), 0);
         assert_int_equal(stat(header, &st), 0);
         assert_int_equal(stat(iq, &st), 0);
         assert_int_equal(st.st_size, NZ * NX * NE * 8);
         assert_false(has_entry_containing(dir, ".tmp-"));
      }
      free(iq);
   }
   free(s.buf);
   rt_rmtree(dir);
   free(header);
   free(dir);
}

static void expect_message(const sono_error_t *err, const char *a, const char *b)
{
   if (!strstr(err->message, a) || (b && !strstr(err->message, b)))
      fail_msg("message lacks \"%s\"%s%s: %s", a, b ? " or " : "", b ? b : "", err->message);
}

/* The writer refuses, with the header and the field named, anything the
 * reader would refuse. */
static void writer_refuses_bad_input(void **state)
{
   (void)state;
   char *dir = rt_tmpdir();
   char *header = rt_path(dir, "bad.json");
   sono_recording_info_t info = test_info();
   sono_error_t err = {{0}};

   char *no_json = rt_path(dir, "bad.bin");
   assert_null(sono_recording_writer_open(no_json, &info, &err));
   expect_message(&err, no_json, "expected a file name ending in \".json\"");
   free(no_json);

   sono_recording_info_t zero_fc = info;
   zero_fc.acquisition.center_frequency_hz = 0;
   assert_null(sono_recording_writer_open(header, &zero_fc, &err));
   expect_message(&err, header, "acquisition.center_frequency_hz: expected a positive number, got 0");

   sono_recording_info_t bad_wall = info;
   snprintf(bad_wall.wall_filter, sizeof bad_wall.wall_filter, "poly:two");
   assert_null(sono_recording_writer_open(header, &bad_wall, &err));
   expect_message(&err, header, "acquisition.wall_filter: wall filter \"poly:two\": expected poly:N");

   sono_recording_info_t no_prf = info;
   no_prf.acquisition.prf_hz = 0;
   source_t iq, bm, wrong;
   make_source(&iq, SONO_PLANE_IQ, SONO_DTYPE_COMPLEX64, NZ, NX, NE, 0);
   make_source(&bm, SONO_PLANE_BMODE, SONO_DTYPE_UINT8, NZ, NX, 1, 0);
   refill(&iq);
   refill(&bm);
   sono_recording_writer_t *w = sono_recording_writer_open(header, &no_prf, &err);
   assert_non_null(w);
   assert_int_equal(sono_recording_writer_add_frame(w, &iq.plane, 1, &err), -1);
   expect_message(&err, header, "acquisition.prf_hz: 0, but the iq plane has an ensemble of 3");
   sono_recording_writer_abort(w);

   w = sono_recording_writer_open(header, &info, &err);
   assert_non_null(w);
   make_source(&wrong, SONO_PLANE_BMODE, SONO_DTYPE_UINT8, NZ + 1, NX, 1, 0);
   refill(&wrong);
   assert_int_equal(sono_recording_writer_add_frame(w, &wrong.plane, 1, &err), -1);
   expect_message(&err, header, "planes[0] (bmode): shape 6 x 4 (z x x), expected grid.nz x grid.nx = 5 x 4");
   wrong.plane.shape[0] = NZ;
   wrong.plane.shape[2] = 2;
   assert_int_equal(sono_recording_writer_add_frame(w, &wrong.plane, 1, &err), -1);
   expect_message(&err, "planes[0] (bmode): shape[2] is 2, expected 1", NULL);
   wrong.plane.shape[2] = 1;
   wrong.plane.dtype = SONO_DTYPE_INT16;
   assert_int_equal(sono_recording_writer_add_frame(w, &wrong.plane, 1, &err), -1);
   expect_message(&err, "planes[0] (bmode): dtype int16, expected float32, uint8", NULL);
   sono_plane_t two[2] = {bm.plane, bm.plane};
   assert_int_equal(sono_recording_writer_add_frame(w, two, 2, &err), -1);
   expect_message(&err, "planes[1] (bmode): kind given twice", NULL);

   sono_plane_t first[2] = {iq.plane, bm.plane};
   assert_int_equal(sono_recording_writer_add_frame(w, first, 2, &err), 0);
   assert_int_equal(sono_recording_writer_add_frame(w, &iq.plane, 1, &err), -1);
   expect_message(&err, "frame 1: plane bmode missing, expected the same planes as frame 0", NULL);
   sono_plane_t smaller[2] = {iq.plane, bm.plane};
   smaller[0].shape[2] = NE - 1;
   assert_int_equal(sono_recording_writer_add_frame(w, smaller, 2, &err), -1);
   expect_message(&err, "frame 1: planes[0] (iq): complex64 [5, 4, 2], expected complex64 [5, 4, 3] as in frame 0",
                  NULL);
   sono_recording_writer_abort(w);
   assert_int_equal(rt_count_entries(dir), 0);

   w = sono_recording_writer_open(header, &info, &err);
   assert_int_equal(sono_recording_writer_commit(w, &err), -1);
   expect_message(&err, header, "not committed: no frame was added");
   assert_int_equal(rt_count_entries(dir), 0);

   free(iq.buf);
   free(bm.buf);
   free(wrong.buf);
   rt_rmtree(dir);
   free(header);
   free(dir);
}

/* A second commit to the same name replaces the first recording whole. */
static void commit_replaces_an_existing_recording(void **state)
{
   (void)state;
   char *dir = rt_tmpdir();
   char *header = rt_path(dir, "again.json");
   sono_recording_info_t info = test_info();
   source_t s;
   make_source(&s, SONO_PLANE_VELOCITY, SONO_DTYPE_FLOAT32, NZ, NX, 1, 0);
   float last = 0;
   for (int round = 0; round < 2; ++round) {
      refill(&s);
      memcpy(&last, s.buf, sizeof last);
      sono_error_t err = {{0}};
      sono_recording_writer_t *w = sono_recording_writer_open(header, &info, &err);
      assert_int_equal(sono_recording_writer_add_frame(w, &s.plane, 1, &err), 0);
      assert_int_equal(sono_recording_writer_commit(w, &err), 0);
   }
   sono_error_t err = {{0}};
   sono_recording_t *rec = sono_recording_open(header, &err);
   assert_non_null(rec);
   sono_plane_t p[MAXP];
   assert_int_equal(sono_recording_frame(rec, 0, p, &err), 1);
   assert_memory_equal(p[0].data, &last, sizeof last);
   assert_int_equal(rt_count_entries(dir), 2);
   sono_recording_close(rec);
   free(s.buf);
   rt_rmtree(dir);
   free(header);
   free(dir);
}

int main(void)
{
   const struct CMUnitTest tests[] = {
      cmocka_unit_test(round_trip_every_kind),     cmocka_unit_test(round_trip_float_rf_and_bmode),
      cmocka_unit_test(writing_is_atomic),         cmocka_unit_test(writer_refuses_bad_input),
      cmocka_unit_test(commit_replaces_an_existing_recording),
   };
   return cmocka_run_group_tests(tests, NULL, NULL);
}
