/* Unit tests of libsono_host: loading checks, version negotiation, the
 * enforced lifecycle, event validation and results.json. Every error case
 * asserts that its message names the file and the field. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test_files.h"
#include <sono/host/host.h>
#include <sono/host/results.h>
#include <sono/sdk/events.h>
#include <sono/sdk/plugin_kit.h>

#include <math.h>

static const char *fx_dir;
static char tmp_dir[256];

static void path_of(char *out, size_t n, const char *name) { snprintf(out, n, "%s/%s", fx_dir, name); }

#define assert_contains(haystack, needle)                                                            \
   do {                                                                                              \
      if (!strstr((haystack), (needle)))                                                            \
         fail_msg("message \"%s\"\n  does not contain \"%s\"", (haystack), (needle));              \
   } while (0)

static sono_frame_t make_frame(sono_plane_t *bmode, uint8_t *pixels)
{
   static const sono_grid_t grid = {8, 8, 1e-4, 1e-4, 0.0, 0.0};
   sono_frame_t f;
   memset(f.acquisition.probe_name, 0, sizeof f.acquisition.probe_name);
   memset(&f, 0, sizeof f);
   *bmode = (sono_plane_t){sizeof *bmode, SONO_PLANE_BMODE, SONO_DTYPE_UINT8, {8, 8, 1}, {1, 8, 0}, pixels};
   f.struct_size = sizeof f;
   f.plane_count = 1;
   f.planes = bmode;
   f.grid = grid;
   return f;
}

static sono_frame_format_t make_format(void)
{
   sono_frame_format_t fmt;
   memset(&fmt, 0, sizeof fmt);
   fmt.struct_size = sizeof fmt;
   fmt.planes_available = SONO_PLANE_BIT(SONO_PLANE_BMODE);
   fmt.max_nx = fmt.max_nz = 8;
   fmt.max_ensemble = 1;
   return fmt;
}

/* ---- version negotiation -------------------------------------------------- */

static void test_version_rule(void **state)
{
   (void)state;
   sono_error_t err;
   assert_int_equal(sono_host_check_abi((sono_version_t){1, 2, 0}, (sono_version_t){1, 1, 3}, "p.so", &err), 0);
   assert_int_equal(sono_host_check_abi((sono_version_t){1, 2, 0}, (sono_version_t){1, 3, 0}, "p.so", &err), -1);
   assert_contains(err.message, "p.so: sono_entry.abi_version: plugin ABI 1.3.0 is newer than host ABI 1.2.0");
   assert_int_equal(sono_host_check_abi((sono_version_t){1, 2, 0}, (sono_version_t){2, 0, 0}, "p.so", &err), -1);
   assert_contains(err.message, "plugin ABI 2.0.0, host ABI 1.2.0: majors differ");
}

static void test_load_other_patch(void **state)
{
   (void)state;
   char p[512];
   sono_error_t err;
   path_of(p, sizeof p, "fx_patch.so");
   sono_host_library_t *lib = sono_host_library_load(p, &err);
   assert_non_null(lib);
   assert_int_equal(sono_host_library_unload(lib, &err), 0);
}

static void expect_load_error(const char *path, const char *needle1, const char *needle2)
{
   sono_error_t err;
   sono_host_library_t *lib = sono_host_library_load(path, &err);
   assert_null(lib);
   assert_contains(err.message, needle1);
   assert_contains(err.message, needle2);
}

static void test_newer_minor_refused(void **state)
{
   (void)state;
   char p[512];
   path_of(p, sizeof p, "fx_minor_newer.so");
   expect_load_error(p, "fx_minor_newer.so: sono_entry.abi_version", "plugin ABI 1.1.0 is newer than host ABI 1.0.0");
}

static void test_other_major_refused(void **state)
{
   (void)state;
   char p[512];
   path_of(p, sizeof p, "fx_major_other.so");
   expect_load_error(p, "fx_major_other.so: sono_entry.abi_version", "plugin ABI 2.0.0, host ABI 1.0.0: majors differ");
}

static void test_no_entry_symbol(void **state)
{
   (void)state;
   char p[512];
   path_of(p, sizeof p, "no_entry.so");
   expect_load_error(p, "no_entry.so", "symbol sono_entry not found");
}

/* ---- manifest errors: a copy of fx_good with one field changed ------------ */


/* Writes tmp/fx_good.sono.json with `field` set to `value` (JSON text) or
 * removed when value is NULL; returns the manifest path. */
static const char *mutated_manifest(const char *field, const char *value)
{
   static char manifest[512];
   char src[512], so[512], text[8192];
   path_of(src, sizeof src, "fx_good.so");
   snprintf(so, sizeof so, "%s/fx_good.so", tmp_dir);
   test_copy_file(src, so);
   path_of(src, sizeof src, "fx_good.sono.json");
   FILE *f = fopen(src, "rb");
   size_t n = fread(text, 1, sizeof text - 1, f);
   fclose(f);
   text[n] = '\0';
   cJSON *root = cJSON_Parse(text);
   cJSON_DeleteItemFromObject(root, field);
   if (value)
      cJSON_AddItemToObject(root, field, cJSON_Parse(value));
   char *out = cJSON_Print(root);
   snprintf(manifest, sizeof manifest, "%s/fx_good.sono.json", tmp_dir);
   f = fopen(manifest, "wb");
   fputs(out, f);
   fclose(f);
   free(out);
   cJSON_Delete(root);
   return manifest;
}

static void test_manifest_missing_field(void **state)
{
   (void)state;
   expect_load_error(mutated_manifest("vendor", NULL), "fx_good.sono.json: field \"vendor\" is missing",
                     "expected a string");
}

static void test_manifest_wrong_type(void **state)
{
   (void)state;
   expect_load_error(mutated_manifest("cost_per_frame_ms", "\"fast\""),
                     "fx_good.sono.json: field \"cost_per_frame_ms\"", "expected a number");
}

static void test_manifest_sha_mismatch(void **state)
{
   (void)state;
   expect_load_error(mutated_manifest("sha256", "\"" "0000000000000000000000000000000000000000000000000000000000000000" "\""),
                     "fx_good.sono.json: field \"sha256\": manifest says 000000000000...",
                     "binary changed after the manifest was written");
}

static void test_manifest_unknown_abi(void **state)
{
   (void)state;
   expect_load_error(mutated_manifest("abi", "\"7.0.0\""), "fx_good.sono.json: field \"abi\": unknown ABI 7.0.0",
                     "implements ABI 1.0.0");
}

static void test_manifest_not_json(void **state)
{
   (void)state;
   const char *m = mutated_manifest("name", "\"x\"");
   FILE *f = fopen(m, "ab");
   fputs("{ trailing", f);
   fclose(f);
   expect_load_error(m, "fx_good.sono.json: not valid JSON", "line");
}

/* ---- lifecycle -------------------------------------------------------------- */

static sono_host_instance_t *good_instance(sono_host_library_t **lib)
{
   char p[512];
   sono_error_t err;
   path_of(p, sizeof p, "fx_good.sono.json");
   *lib = sono_host_library_load(p, &err);
   if (!*lib)
      fail_msg("%s", err.message);
   sono_host_instance_t *in = sono_host_instance_create(*lib, NULL, NULL, &err);
   assert_non_null(in);
   return in;
}

static void release(sono_host_library_t *lib, sono_host_instance_t *in)
{
   sono_error_t err;
   assert_int_equal(sono_host_library_unload(lib, &err), -1); /* instance alive */
   assert_contains(err.message, "instance(s) still alive");
   sono_host_instance_destroy(in);
   assert_int_equal(sono_host_library_unload(lib, &err), 0);
}

static void test_lifecycle_enforced(void **state)
{
   (void)state;
   sono_host_library_t *lib;
   sono_host_instance_t *in = good_instance(&lib);
   sono_error_t err;
   uint8_t px[64] = {0};
   sono_plane_t plane;
   sono_frame_t frame = make_frame(&plane, px);
   sono_frame_format_t fmt = make_format();
   double reached = -1;

   assert_int_equal(sono_host_instance_process(in, &frame, &err), -1);
   assert_contains(err.message, "org.sonoplug.test.fixture: process() refused in state initialised (needs active)");
   assert_int_equal(sono_host_instance_get_param(in, "processed", &reached, &err), 0);
   assert_true(reached == 0); /* the plugin never saw the call */
   assert_int_equal(sono_host_instance_deactivate(in, &err), -1);
   assert_contains(err.message, "deactivate() refused in state initialised (needs active)");
   assert_int_equal(sono_host_instance_activate(in, &fmt, &err), 0);
   assert_int_equal(sono_host_instance_activate(in, &fmt, &err), -1);
   assert_contains(err.message, "activate() refused in state active (needs initialised)");
   assert_int_equal(sono_host_instance_process(in, &frame, &err), 0);
   assert_int_equal(sono_host_instance_get_param(in, "processed", &reached, &err), 0);
   assert_true(reached == 1);
   assert_int_equal(sono_host_instance_deactivate(in, &err), 0);
   release(lib, in);
}

/* ---- event validation -------------------------------------------------------- */

static void run_mode(int mode, uint32_t expect_kept, uint32_t expect_rejected, const char *needle)
{
   sono_host_library_t *lib;
   sono_host_instance_t *in = good_instance(&lib);
   sono_error_t err;
   uint8_t px[64] = {0};
   sono_plane_t plane;
   sono_frame_t frame = make_frame(&plane, px);
   sono_frame_format_t fmt = make_format();
   assert_int_equal(sono_host_instance_set_param(in, "mode", mode, &err), 0);
   assert_int_equal(sono_host_instance_activate(in, &fmt, &err), 0);
   frame.sequence = 42;
   assert_int_equal(sono_host_instance_process(in, &frame, &err), 0); /* the frame completes */
   assert_int_equal(sono_event_store_count(sono_host_instance_events(in)), expect_kept);
   assert_int_equal(sono_host_instance_rejected_last(in), expect_rejected);
   if (needle) {
      assert_non_null(sono_host_instance_last_diagnostic(in));
      assert_contains(sono_host_instance_last_diagnostic(in), "org.sonoplug.test.fixture, frame 42: event dropped");
      assert_contains(sono_host_instance_last_diagnostic(in), needle);
   }
   release(lib, in);
}

static void test_valid_events_kept(void **state) { (void)state; run_mode(0, 3, 0, NULL); }
static void test_nan_coordinates_dropped(void **state)
{
   (void)state;
   run_mode(1, 3, 1, "overlay polyline \"annotation\": field points[0]: coordinate is not finite");
}
static void test_confidence_out_of_range_dropped(void **state)
{
   (void)state;
   run_mode(2, 3, 1, "finding \"test_finding\": field confidence: 1.5 is outside [0, 1]");
}
static void test_unknown_type_skipped(void **state)
{
   (void)state;
   run_mode(3, 3, 1, "unknown event type 99 (struct_size 48) skipped by its size");
}
static void test_out_of_frame_dropped(void **state)
{
   (void)state;
   run_mode(4, 3, 1, "field points[1]: (x 0 m, z 0.0024 m) is outside the frame");
}
/* A point on the image edge survives its float32 rounding; a micrometre
 * beyond it does not. */
static void test_edge_point_rounding_tolerated(void **state)
{
   (void)state;
   sono_grid_t g = {256, 384, 50e-6, 25e-6, -6.4e-3 + 25e-6 - 50e-6, -1.25e-5};
   double z_edge = g.z0_m + (g.nz - 0.5) * g.dz_m;
   sono_point_t pts[3] = {{0.0f, 1e-3f}, {1e-3f, nextafterf((float)z_edge, 1.0f)}, {0.0f, 2e-3f}};
   sono_event_overlay_t o;
   sono_kit_overlay_init(&o, SONO_SHAPE_POLYGON, SONO_ROLE_DEPOSIT, pts, 3);
   sono_error_t err = {{0}};
   assert_int_equal(sono_event_check(&o.header, &g, &err), 0);
   pts[1].z_m = (float)(z_edge + 1e-6);
   assert_int_equal(sono_event_check(&o.header, &g, &err), -1);
   assert_contains(err.message, "field points[1]");
   assert_contains(err.message, "is outside the frame");
}

static void test_event_flood_capped(void **state)
{
   (void)state;
   run_mode(5, 1024, 3 * 2001 - 1024, "event budget exhausted: more than 1024 events in one frame");
}

static void test_plugin_error_reported(void **state)
{
   (void)state;
   sono_host_library_t *lib;
   sono_host_instance_t *in = good_instance(&lib);
   sono_error_t err;
   uint8_t px[64] = {0};
   sono_plane_t plane;
   sono_frame_t frame = make_frame(&plane, px);
   sono_frame_format_t fmt = make_format();
   assert_int_equal(sono_host_instance_set_param(in, "mode", 6, &err), 0);
   assert_int_equal(sono_host_instance_set_param(in, "mode", 7, &err), -1);
   assert_contains(err.message, "parameter \"mode\": value 7 refused");
   assert_int_equal(sono_host_instance_activate(in, &fmt, &err), 0);
   assert_int_equal(sono_host_instance_process(in, &frame, &err), -1);
   assert_contains(err.message, "org.sonoplug.test.fixture: process() of frame 0 returned status 1");
   release(lib, in);
}

/* ---- results.json --------------------------------------------------------------- */

static cJSON *read_json(const char *path)
{
   FILE *f = fopen(path, "rb");
   assert_non_null(f);
   static char text[1 << 16];
   size_t n = fread(text, 1, sizeof text - 1, f);
   fclose(f);
   text[n] = '\0';
   cJSON *root = cJSON_Parse(text);
   assert_non_null(root);
   return root;
}

static void test_results_format(void **state)
{
   (void)state;
   sono_host_library_t *lib;
   sono_host_instance_t *in = good_instance(&lib);
   sono_error_t err;
   uint8_t px[64] = {0};
   sono_plane_t plane;
   sono_frame_t frame = make_frame(&plane, px);
   sono_frame_format_t fmt = make_format();
   assert_int_equal(sono_host_instance_activate(in, &fmt, &err), 0);
   assert_int_equal(sono_host_instance_process(in, &frame, &err), 0);

   sono_results_t *r = sono_results_create("scan.json", NULL);
   int idx = sono_results_add_plugin(r, sono_host_library_manifest(lib));
   sono_results_begin_frame(r, 0, 0);
   sono_results_add_events(r, "org.sonoplug.test.fixture", sono_host_instance_events(in));
   sono_results_add_failure(r, "org.vendor.crashy", "deadline");
   sono_results_plugin_status(r, idx, "ok", 1, 0, NULL);
   char path[512];
   snprintf(path, sizeof path, "%s/results.json", tmp_dir);
   assert_int_equal(sono_results_write(r, path, &err), 0);
   sono_results_destroy(r);
   release(lib, in);

   cJSON *root = read_json(path);
   assert_string_equal(cJSON_GetObjectItem(root, "format")->valuestring, "sono.results");
   assert_int_equal(cJSON_GetObjectItem(root, "version")->valueint, 1);
   cJSON *plugin = cJSON_GetArrayItem(cJSON_GetObjectItem(root, "plugins"), 0);
   assert_string_equal(cJSON_GetObjectItem(plugin, "id")->valuestring, "org.sonoplug.test.fixture");
   assert_int_equal(strlen(cJSON_GetObjectItem(plugin, "sha256")->valuestring), 64);
   cJSON *frame0 = cJSON_GetArrayItem(cJSON_GetObjectItem(root, "frames"), 0);
   cJSON *finding = cJSON_GetArrayItem(cJSON_GetObjectItem(frame0, "findings"), 0);
   assert_string_equal(cJSON_GetObjectItem(finding, "status")->valuestring, "indeterminate");
   assert_string_equal(cJSON_GetObjectItem(finding, "label")->valuestring, "Possible test finding");
   cJSON *failure = cJSON_GetArrayItem(cJSON_GetObjectItem(frame0, "failures"), 0);
   assert_string_equal(cJSON_GetObjectItem(failure, "status")->valuestring, "failed");
   assert_string_equal(cJSON_GetObjectItem(failure, "reason")->valuestring, "deadline");
   cJSON *m = cJSON_GetArrayItem(cJSON_GetObjectItem(frame0, "measurements"), 0);
   assert_string_equal(cJSON_GetObjectItem(m, "unit")->valuestring, "m");
   cJSON *o = cJSON_GetArrayItem(cJSON_GetObjectItem(frame0, "overlays"), 0);
   assert_string_equal(cJSON_GetObjectItem(o, "shape")->valuestring, "polyline");
   cJSON_Delete(root);
}

/* ---- scanning and shareable buffers --------------------------------------------- */

static void test_scan_lists_all(void **state)
{
   (void)state;
   sono_host_listing_t *items = NULL;
   sono_error_t err;
   int n = sono_host_scan(fx_dir, &items, &err);
   assert_true(n >= 5);
   for (int i = 1; i < n; ++i)
      assert_true(strcmp(items[i - 1].manifest.path, items[i].manifest.path) < 0);
   free(items);
   assert_int_equal(sono_host_scan("/nonexistent-sono-dir", &items, &err), -1);
   assert_contains(err.message, "/nonexistent-sono-dir: cannot list plugin folder");
}

static void test_memfd_buffer(void **state)
{
   (void)state;
   sono_host_buffer_t b;
   sono_error_t err;
   assert_int_equal(sono_host_buffer_create(&b, 10000, "test", &err), 0);
   assert_true(b.fd >= 0);
   assert_true(b.size >= 10000 && b.size % 4096 == 0);
   memset(b.data, 7, 10000);
   assert_int_equal(lseek(b.fd, 0, SEEK_END), (off_t)b.size);
   sono_host_buffer_destroy(&b);
}

int main(int argc, char **argv)
{
   if (argc < 2) {
      fprintf(stderr, "usage: test_host FIXTURE_DIR\n");
      return 2;
   }
   fx_dir = argv[1];
   snprintf(tmp_dir, sizeof tmp_dir, "/tmp/sono-test-host-XXXXXX");
   if (!mkdtemp(tmp_dir))
      return 1;
   const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_version_rule),
      cmocka_unit_test(test_load_other_patch),
      cmocka_unit_test(test_newer_minor_refused),
      cmocka_unit_test(test_other_major_refused),
      cmocka_unit_test(test_no_entry_symbol),
      cmocka_unit_test(test_manifest_missing_field),
      cmocka_unit_test(test_manifest_wrong_type),
      cmocka_unit_test(test_manifest_sha_mismatch),
      cmocka_unit_test(test_manifest_unknown_abi),
      cmocka_unit_test(test_manifest_not_json),
      cmocka_unit_test(test_lifecycle_enforced),
      cmocka_unit_test(test_valid_events_kept),
      cmocka_unit_test(test_nan_coordinates_dropped),
      cmocka_unit_test(test_edge_point_rounding_tolerated),
      cmocka_unit_test(test_confidence_out_of_range_dropped),
      cmocka_unit_test(test_unknown_type_skipped),
      cmocka_unit_test(test_out_of_frame_dropped),
      cmocka_unit_test(test_event_flood_capped),
      cmocka_unit_test(test_plugin_error_reported),
      cmocka_unit_test(test_results_format),
      cmocka_unit_test(test_scan_lists_all),
      cmocka_unit_test(test_memfd_buffer),
   };
   int rc = cmocka_run_group_tests(tests, NULL, NULL);
   char cmd[300];
   snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp_dir);
   if (system(cmd) != 0)
      fprintf(stderr, "could not remove %s\n", tmp_dir);
   return rc;
}
