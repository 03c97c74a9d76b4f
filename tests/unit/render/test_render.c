/* Rendered frames: golden checksums, overlay pixels, determinism, errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sono/host/render.h>
#include <sono/sdk/events.h>

#include "fixtures.h"

/* Golden SHA-256 of the DECODED RGB pixels of the fixture frame with all
 * fixture overlays (independent of the zlib version; the PNG bytes
 * themselves are checked for run-to-run identity). Regenerate after an
 * intended visual change with SONO_PRINT_GOLDEN=1 and review the image. */
static const char golden_frame_pixels[] = "ce9fd10c081f4e8a67ef38d44e5a48b9cdaa5a76c4bb9b2b02bd53ba0a126353";
static const char golden_spectrogram_pixels[] = "f58804d18976801a115a9635b0d173043843df5239d433826dde8ba1356c6782";

static char tmpdir[256];

static int setup(void **state)
{
   (void)state;
   return fixture_temp_dir(tmpdir, sizeof tmpdir) ? 0 : -1;
}

static void path_in(char *buf, size_t size, const char *name)
{
   snprintf(buf, size, "%s/%s", tmpdir, name);
}

static void check_golden(const char *what, const char *png, const char *expected)
{
   uint32_t w = 0, h = 0;
   uint8_t *rgb = fixture_png_decode(png, &w, &h);
   assert_non_null(rgb);
   char hex[65];
   fixture_sha256_hex(rgb, (size_t)w * h * 3u, hex);
   free(rgb);
   if (getenv("SONO_PRINT_GOLDEN"))
      printf("golden %s: %s (%ux%u)\n", what, hex, w, h);
   assert_string_equal(hex, expected);
}

static int render_fixture(const char *path, sono_error_t *err)
{
   static fixture_frame_t f;
   fixture_frame_init(&f);
   uint32_t n;
   const sono_event_header_t *const *ev = fixture_overlays(&n);
   sono_renderer_t *r = sono_renderer_create(NULL, FIX_NX, FIX_NZ, err);
   assert_non_null(r);
   int rc = sono_render_frame_png_events(r, &f.frame, ev, n, path, err);
   sono_renderer_destroy(r);
   return rc;
}

static void test_frame_golden_and_deterministic(void **state)
{
   (void)state;
   char a[512], b[512];
   sono_error_t err = {{0}};
   path_in(a, sizeof a, "a.png");
   path_in(b, sizeof b, "b.png");
   assert_int_equal(render_fixture(a, &err), 0);
   assert_int_equal(render_fixture(b, &err), 0);
   size_t na = 0, nb = 0;
   char *da = fixture_read_file(a, &na), *db = fixture_read_file(b, &nb);
   assert_non_null(da);
   assert_non_null(db);
   assert_int_equal(na, nb);
   assert_memory_equal(da, db, na);
   /* No time chunk: the image carries no timestamp. */
   assert_null(memmem(da, na, "tIME", 4));
   free(da);
   free(db);
   check_golden("frame", a, golden_frame_pixels);
}

/* Pixel containing (x, z) metres, as documented: area origin (76, 36),
 * 768 px over the 12.8 mm width, grid outer edge at x0 - dx/2, -dz/2. */
static int px_x(double x)
{
   return (int)floor(76 + (x - (FIX_X0 - 0.5 * FIX_DX)) * (768.0 / (FIX_NX * FIX_DX)));
}

static int px_y(double z)
{
   return (int)floor(36 + (z - (0.0 - 0.5 * FIX_DX)) * (768.0 / (FIX_NX * FIX_DX)));
}

static const uint8_t *pixel(const uint8_t *rgb, uint32_t w, int x, int y)
{
   return rgb + ((size_t)y * w + (size_t)x) * 3u;
}

static uint8_t mix(uint8_t under, uint8_t over, int alpha)
{
   return (uint8_t)((under * (255 - alpha) + over * alpha + 127) / 255);
}

static void test_deposit_colour_at_known_pixels(void **state)
{
   (void)state;
   char png[512];
   sono_error_t err = {{0}};
   path_in(png, sizeof png, "deposit.png");
   assert_int_equal(render_fixture(png, &err), 0);
   uint32_t w = 0, h = 0;
   uint8_t *rgb = fixture_png_decode(png, &w, &h);
   assert_non_null(rgb);
   /* 76 + 768 + 124 wide; 36 + 576 + legend high. */
   assert_int_equal(w, 968);
   assert_true(h > 36 + 576);
   const sono_point_t *d = fixture_deposit_points;
   /* Outline: the deposit yellow (255, 235, 59) exactly on each corner. */
   for (int k = 0; k < 4; ++k) {
      const uint8_t *p = pixel(rgb, w, px_x(d[k].x_m), px_y(d[k].z_m));
      assert_int_equal(p[0], 255);
      assert_int_equal(p[1], 235);
      assert_int_equal(p[2], 59);
   }
   /* Midpoint of the bottom edge. */
   const uint8_t *edge = pixel(rgb, w, px_x(2.5e-3), px_y(5e-3));
   assert_int_equal(edge[0], 255);
   assert_int_equal(edge[1], 235);
   assert_int_equal(edge[2], 59);
   /* Inside: B-mode grey 80 under a 64/255 yellow fill. */
   const uint8_t *in = pixel(rgb, w, px_x(2.0e-3), px_y(4.5e-3));
   assert_int_equal(in[0], mix(80, 255, 64));
   assert_int_equal(in[1], mix(80, 235, 64));
   assert_int_equal(in[2], mix(80, 59, 64));
   /* Outside, right of it: plain B-mode grey. */
   const uint8_t *out = pixel(rgb, w, px_x(5.0e-3), px_y(4.5e-3));
   assert_int_equal(out[0], 80);
   assert_int_equal(out[1], 80);
   assert_int_equal(out[2], 80);
   /* Colour Doppler: flow toward the probe is red. At 0.4 mm from the
    * vessel axis (diagonally) v = 0.34 VN: red 202, no green, no blue. */
   const uint8_t *c = pixel(rgb, w, px_x(FIX_VESSEL_X + 0.4e-3), px_y(FIX_VESSEL_Z - 0.4e-3));
   assert_true(c[0] >= 180 && c[1] == 0 && c[2] == 0);
   free(rgb);
}

static void test_store_and_array_paths_agree(void **state)
{
   (void)state;
   static fixture_frame_t f;
   fixture_frame_init(&f);
   uint32_t n;
   const sono_event_header_t *const *ev = fixture_overlays(&n);
   sono_event_store_t *store = sono_event_store_create(64, 1u << 16);
   assert_non_null(store);
   sono_error_t err = {{0}};
   for (uint32_t i = 0; i < n; ++i) {
      assert_int_equal(sono_event_check(ev[i], &f.frame.grid, &err), 0);
      assert_int_equal(sono_event_store_push(store, ev[i], &err), 0);
   }
   char a[512], b[512];
   path_in(a, sizeof a, "store.png");
   path_in(b, sizeof b, "array.png");
   sono_renderer_t *r = sono_renderer_create(NULL, FIX_NX, FIX_NZ, &err);
   const sono_event_store_t *sets[2] = {store, NULL};
   assert_int_equal(sono_render_frame_png(r, &f.frame, sets, 2, a, &err), 0);
   assert_int_equal(sono_render_frame_png_events(r, &f.frame, ev, n, b, &err), 0);
   sono_renderer_destroy(r);
   sono_event_store_destroy(store);
   size_t na, nb;
   char *da = fixture_read_file(a, &na), *db = fixture_read_file(b, &nb);
   assert_int_equal(na, nb);
   assert_memory_equal(da, db, na);
   free(da);
   free(db);
}

static void test_options_change_the_image(void **state)
{
   (void)state;
   static fixture_frame_t f;
   fixture_frame_init(&f);
   sono_render_options_t o;
   sono_render_options_default(&o);
   o.pixels_per_mm = 20.0;
   o.show_legend = 0;
   o.show_colour = 0;
   sono_error_t err = {{0}};
   sono_renderer_t *r = sono_renderer_create(&o, FIX_NX, FIX_NZ, &err);
   assert_non_null(r);
   char png[512];
   path_in(png, sizeof png, "small.png");
   assert_int_equal(sono_render_frame_png_events(r, &f.frame, NULL, 0, png, &err), 0);
   sono_renderer_destroy(r);
   uint32_t w, h;
   uint8_t *rgb = fixture_png_decode(png, &w, &h);
   assert_non_null(rgb);
   /* 12.8 x 9.6 mm at 20 px/mm = 256 x 192; canvas at least 480 wide. */
   assert_int_equal(w, 480);
   assert_int_equal(h, 36 + 192 + 8);
   /* No colour: the vessel centre stays B-mode grey. */
   const uint8_t *c = rgb + ((size_t)(36 + 120) * w + (76 + 68)) * 3u;
   assert_int_equal(c[0], c[2]);
   free(rgb);
}

static void test_errors_name_the_problem(void **state)
{
   (void)state;
   static fixture_frame_t f;
   fixture_frame_init(&f);
   sono_error_t err = {{0}};
   char png[512];
   path_in(png, sizeof png, "bad.png");
   sono_renderer_t *small = sono_renderer_create(NULL, 64, 64, &err);
   assert_int_equal(sono_render_frame_png_events(small, &f.frame, NULL, 0, png, &err), -1);
   assert_non_null(strstr(err.message, "grid 128 x 96"));
   assert_non_null(strstr(err.message, "sono_renderer_create"));
   sono_renderer_destroy(small);

   sono_renderer_t *r = sono_renderer_create(NULL, FIX_NX, FIX_NZ, &err);
   f.planes[1].shape[0] = 50;
   assert_int_equal(sono_render_frame_png_events(r, &f.frame, NULL, 0, png, &err), -1);
   assert_non_null(strstr(err.message, "plane \"velocity\""));
   assert_non_null(strstr(err.message, "shape 50 x 128"));
   assert_non_null(strstr(err.message, "frame 7"));
   f.planes[1].shape[0] = FIX_NZ;
   f.planes[1].dtype = SONO_DTYPE_INT16;
   assert_int_equal(sono_render_frame_png_events(r, &f.frame, NULL, 0, png, &err), -1);
   assert_non_null(strstr(err.message, "dtype int16: expected float32"));
   f.planes[1].dtype = SONO_DTYPE_FLOAT32;
   assert_int_equal(sono_render_frame_png_events(r, &f.frame, NULL, 0, "/nonexistent-dir/x.png", &err), -1);
   assert_non_null(strstr(err.message, "/nonexistent-dir/x.png.tmp"));
   assert_int_equal(access("/nonexistent-dir/x.png", F_OK), -1);
   sono_renderer_destroy(r);

   sono_render_options_t o;
   sono_render_options_default(&o);
   o.power_threshold_db = 3.0f;
   assert_null(sono_renderer_create(&o, 8, 8, &err));
   assert_non_null(strstr(err.message, "power_threshold_db"));
}

static void test_spectrogram_strip(void **state)
{
   (void)state;
   enum { ROWS = 64, COLS = 100 };
   static float spec[ROWS * COLS];
   for (int c = 0; c < COLS; ++c)
      for (int r = 0; r < ROWS; ++r) {
         double v = -0.8 + r * 0.025, peak = 0.1 + 0.3 * (c % 25 < 5);
         spec[r + ROWS * c] = (v > 0.0 && v < peak) ? -5.0f : -60.0f;
      }
   sono_plane_t plane = {sizeof plane, SONO_PLANE_SPECTROGRAM, SONO_DTYPE_FLOAT32, {ROWS, COLS, 1}, {1, ROWS, 0}, spec};
   sono_frame_t frame;
   memset(&frame, 0, sizeof frame);
   frame.struct_size = sizeof frame;
   frame.plane_count = 1;
   frame.planes = &plane;
   frame.gate = (sono_gate_t){1, 0, 1e-3, 6e-3, 1e-3, 0.0, -0.8, 0.025, 0.0, 0.008};
   sono_spectral_values_t values = {0.40, 0.10, 0.75};
   sono_error_t err = {{0}};
   sono_renderer_t *r = sono_renderer_create(NULL, 8, 8, &err);
   char png[512];
   path_in(png, sizeof png, "spectral.png");
   assert_int_equal(sono_render_spectrogram_png(r, &frame, &values, png, &err), 0);
   uint32_t w, h;
   uint8_t *rgb = fixture_png_decode(png, &w, &h);
   assert_non_null(rgb);
   assert_int_equal(w, 76 + 768 + 180);
   assert_int_equal(h, 36 + 256 + 44);
   /* The PSV line (amber 255,196,0) crosses the strip near v = 0.40. */
   int found = 0;
   for (int y = 90; y < 106 && !found; ++y) {
      const uint8_t *p = rgb + ((size_t)y * w + 77) * 3u;
      found = p[0] == 255 && p[1] == 196 && p[2] == 0;
   }
   assert_true(found);
   free(rgb);
   check_golden("spectrogram", png, golden_spectrogram_pixels);

   frame.gate.dvelocity_m_s = 0.0;
   assert_int_equal(sono_render_spectrogram_png(r, &frame, &values, png, &err), -1);
   assert_non_null(strstr(err.message, "dvelocity_m_s 0"));
   frame.plane_count = 0;
   assert_int_equal(sono_render_spectrogram_png(r, &frame, NULL, png, &err), -1);
   assert_non_null(strstr(err.message, "no \"spectrogram\" plane"));
   sono_renderer_destroy(r);
}

static void test_overlays_from_results_json(void **state)
{
   (void)state;
   const char *good =
      "[{\"plugin\":\"p\",\"shape\":\"polygon\",\"role\":\"deposit\",\"label\":\"HA\","
      "\"points_m\":[[0.001,0.002],[0.004,0.002],[0.004,0.005]]},"
      "{\"plugin\":\"p\",\"shape\":\"ellipse\",\"role\":\"artefact\",\"points_m\":[[0,0.005]],"
      "\"radii_m\":[0.001,0.0005],\"angle_rad\":0.2},"
      "{\"plugin\":\"p\",\"shape\":\"mask\",\"role\":\"danger-zone\",\"points_m\":[],"
      "\"mask\":{\"ix0\":2,\"iz0\":3,\"nx\":4,\"nz\":2,\"runs\":[1,2,3,2]}},"
      "{\"plugin\":\"p\",\"shape\":\"marker\",\"role\":\"x-acme\",\"points_m\":[[0,0]],\"rgba\":\"#11223344\"}]";
   cJSON *arr = cJSON_Parse(good);
   sono_error_t err = {{0}};
   sono_render_overlays_t *list = sono_render_overlays_from_json(arr, "r.json: frames[0].overlays", &err);
   assert_non_null(list);
   assert_int_equal(sono_render_overlays_count(list), 4);
   const sono_event_header_t *const *ev = sono_render_overlays_events(list);
   const sono_event_overlay_t *poly = (const sono_event_overlay_t *)ev[0];
   assert_int_equal(poly->shape, SONO_SHAPE_POLYGON);
   assert_int_equal(poly->point_count, 3);
   assert_string_equal(poly->label, "HA");
   const sono_event_overlay_t *mask = (const sono_event_overlay_t *)ev[2];
   const uint8_t expect[8] = {0, 1, 1, 0, 0, 0, 1, 1};
   assert_memory_equal(mask->mask, expect, 8);
   assert_int_equal(((const sono_event_overlay_t *)ev[3])->rgba, 0x11223344u);
   /* They render. */
   static fixture_frame_t f;
   fixture_frame_init(&f);
   sono_renderer_t *r = sono_renderer_create(NULL, FIX_NX, FIX_NZ, &err);
   char png[512];
   path_in(png, sizeof png, "json.png");
   assert_int_equal(sono_render_frame_png_events(r, &f.frame, ev, 4, png, &err), 0);
   sono_renderer_destroy(r);
   sono_render_overlays_free(list);
   cJSON_Delete(arr);

   arr = cJSON_Parse("[{\"shape\":\"polygon\",\"role\":\"deposit\",\"points_m\":[[0,0]]},"
                     "{\"shape\":\"polyline\",\"role\":\"deposit\",\"points_m\":[[0,\"a\"]]}]");
   assert_null(sono_render_overlays_from_json(arr, "r.json: frames[0].overlays", &err));
   assert_string_equal(err.message,
                       "r.json: frames[0].overlays[1].points_m[0]: expected [x, z], two finite numbers in metres");
   cJSON_Delete(arr);
   arr = cJSON_Parse("[{\"shape\":\"star\",\"role\":\"deposit\",\"points_m\":[]}]");
   assert_null(sono_render_overlays_from_json(arr, "r.json: frames[2].overlays", &err));
   assert_non_null(strstr(err.message, "frames[2].overlays[0].shape"));
   cJSON_Delete(arr);
   arr = cJSON_Parse("[{\"shape\":\"marker\",\"role\":\"safe-zone\",\"points_m\":[[0,0]]}]");
   assert_null(sono_render_overlays_from_json(arr, "r.json", &err));
   assert_non_null(strstr(err.message, "r.json[0].role"));
   cJSON_Delete(arr);
}

int main(void)
{
   const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_frame_golden_and_deterministic),
      cmocka_unit_test(test_deposit_colour_at_known_pixels),
      cmocka_unit_test(test_store_and_array_paths_agree),
      cmocka_unit_test(test_options_change_the_image),
      cmocka_unit_test(test_errors_name_the_problem),
      cmocka_unit_test(test_spectrogram_strip),
      cmocka_unit_test(test_overlays_from_results_json),
   };
   return cmocka_run_group_tests(tests, setup, NULL);
}
