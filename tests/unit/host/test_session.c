/* Sessions: a recording through several plugins, one of which is broken and
 * one of which fails on every frame; and the spectral gate of the reference
 * pulsed-wave recording.
 *   test_session plugins FIXTURE_DIR
 *   test_session gate TESTS_DATA_DIR SHARED_DATA_DIR   (exit 77 without the data) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test_files.h"
#include <sono/host/session.h>
#include <sono/sdk/recording.h>

static const char *fx_dir, *tests_data, *shared_data;
static char tmp[256];


static void stage_plugin(const char *dir, const char *name)
{
   char from[512], to[512];
   const char *ext[] = {".so", ".sono.json"};
   for (int i = 0; i < 2; ++i) {
      snprintf(from, sizeof from, "%s/%s%s", fx_dir, name, ext[i]);
      snprintf(to, sizeof to, "%s/%s%s", dir, name, ext[i]);
      test_copy_file(from, to);
   }
}

/* A 4-frame 8x8 recording with a B-mode plane only. */
static void write_recording(const char *path)
{
   sono_recording_info_t info;
   sono_error_t err;
   memset(&info, 0, sizeof info);
   info.grid = (sono_grid_t){8, 8, 1e-4, 1e-4, 0.0, 0.0};
   info.acquisition.center_frequency_hz = 15e6;
   info.acquisition.sound_speed_m_s = 1540;
   info.acquisition.frame_rate_hz = 10;
   sono_recording_writer_t *w = sono_recording_writer_open(path, &info, &err);
   assert_non_null(w);
   uint8_t px[64];
   for (int f = 0; f < 4; ++f) {
      memset(px, 40 * f, sizeof px);
      sono_plane_t p = {sizeof p, SONO_PLANE_BMODE, SONO_DTYPE_UINT8, {8, 8, 1}, {1, 8, 0}, px};
      assert_int_equal(sono_recording_writer_add_frame(w, &p, 1, &err), 0);
   }
   assert_int_equal(sono_recording_writer_commit(w, &err), 0);
}

static cJSON *read_results(const char *dir)
{
   char path[512];
   snprintf(path, sizeof path, "%s/results.json", dir);
   FILE *f = fopen(path, "rb");
   assert_non_null(f);
   static char text[1 << 20];
   size_t n = fread(text, 1, sizeof text - 1, f);
   fclose(f);
   text[n] = '\0';
   cJSON *root = cJSON_Parse(text);
   assert_non_null(root);
   return root;
}

static cJSON *plugin_entry(cJSON *root, const char *manifest_suffix)
{
   cJSON *p;
   cJSON_ArrayForEach(p, cJSON_GetObjectItem(root, "plugins"))
   {
      const char *m = cJSON_GetObjectItem(p, "manifest")->valuestring;
      if (strlen(m) >= strlen(manifest_suffix) && !strcmp(m + strlen(m) - strlen(manifest_suffix), manifest_suffix))
         return p;
   }
   fail_msg("no plugin entry for %s", manifest_suffix);
   return NULL;
}

/* Runs `rec` through the plugins of `plugins` (results.json into `out`,
 * no images) and returns the parsed results; *any_failure, when given, is
 * whether some plugin failed or was quarantined. */
static cJSON *run_session(const char *rec, const char *plugins, const char *out, const char *wall, int *any_failure)
{
   sono_session_options_t o;
   sono_error_t err;
   sono_session_options_default(&o);
   o.recording = rec;
   o.plugin_dir = plugins;
   o.out_dir = out;
   o.wall = wall;
   o.quiet = 1;
   o.images = 0;
   sono_session_t *s = sono_session_open(&o, &err);
   if (!s)
      fail_msg("%s", err.message);
   assert_int_equal(sono_session_run(s, &err), 0);
   if (any_failure)
      *any_failure = sono_session_any_failure(s);
   sono_session_close(s);
   return read_results(out);
}

static void test_failures_are_isolated(void **state)
{
   (void)state;
   char plugins[300], rec[300], out[300];
   snprintf(plugins, sizeof plugins, "%s/plugins", tmp);
   snprintf(rec, sizeof rec, "%s/rec.json", tmp);
   snprintf(out, sizeof out, "%s/out", tmp);
   assert_int_equal(system(NULL) != 0, 1);
   mkdir(plugins, 0755);
   stage_plugin(plugins, "fx_good");
   stage_plugin(plugins, "fx_failing");
   FILE *f = fopen(strcat(strcpy((char[400]){0}, plugins), "/broken.sono.json"), "wb");
   fputs("{ not json", f);
   fclose(f);
   write_recording(rec);

   int any_failure = 0;
   cJSON *root = run_session(rec, plugins, out, NULL, &any_failure);
   assert_int_equal(any_failure, 1);
   cJSON *broken = plugin_entry(root, "broken.sono.json");
   assert_string_equal(cJSON_GetObjectItem(broken, "status")->valuestring, "refused");
   assert_non_null(strstr(cJSON_GetObjectItem(broken, "error")->valuestring, "broken.sono.json: not valid JSON"));
   cJSON *failing = plugin_entry(root, "fx_failing.sono.json");
   assert_string_equal(cJSON_GetObjectItem(failing, "status")->valuestring, "quarantined");
   assert_int_equal(cJSON_GetObjectItem(failing, "frames_processed")->valueint, SONO_SESSION_QUARANTINE_AFTER);
   assert_non_null(strstr(cJSON_GetObjectItem(failing, "error")->valuestring, "quarantined after 3 consecutive"));
   cJSON *good = plugin_entry(root, "fx_good.sono.json");
   assert_string_equal(cJSON_GetObjectItem(good, "status")->valuestring, "ok");
   assert_int_equal(cJSON_GetObjectItem(good, "frames_processed")->valueint, 4);

   cJSON *frame;
   int index = 0;
   cJSON_ArrayForEach(frame, cJSON_GetObjectItem(root, "frames"))
   {
      /* The good plugin's results survive the failing one in every frame. */
      assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(frame, "findings")), 1);
      cJSON *failures = cJSON_GetObjectItem(frame, "failures");
      if (index < SONO_SESSION_QUARANTINE_AFTER) {
         cJSON *first = cJSON_GetArrayItem(failures, 0);
         assert_string_equal(cJSON_GetObjectItem(first, "plugin")->valuestring, "org.sonoplug.test.failing");
         assert_string_equal(cJSON_GetObjectItem(first, "status")->valuestring, "failed");
      } else {
         assert_null(failures);
      }
      ++index;
   }
   assert_int_equal(index, 4);
   cJSON_Delete(root);
}

/* A plugin of another vendor runs isolated by default, the bundled vendor's
 * in-process; its failures still never touch the other plugin. */
static void test_third_party_runs_isolated(void **state)
{
   (void)state;
   char plugins[300], rec[300], out[300], from[512], to[512];
   snprintf(plugins, sizeof plugins, "%s/plugins3", tmp);
   snprintf(rec, sizeof rec, "%s/rec3.json", tmp);
   snprintf(out, sizeof out, "%s/out3", tmp);
   mkdir(plugins, 0755);
   stage_plugin(plugins, "fx_good");
   snprintf(from, sizeof from, "%s/fx_failing.so", fx_dir);
   snprintf(to, sizeof to, "%s/fx_failing.so", plugins);
   test_copy_file(from, to);
   snprintf(from, sizeof from, "%s/fx_failing.sono.json", fx_dir);
   FILE *f = fopen(from, "rb");
   static char text[8192];
   size_t n = fread(text, 1, sizeof text - 1, f);
   fclose(f);
   text[n] = '\0';
   cJSON *m = cJSON_Parse(text);
   cJSON_ReplaceItemInObject(m, "vendor", cJSON_CreateString("Example Vendor"));
   char *printed = cJSON_Print(m);
   snprintf(to, sizeof to, "%s/fx_failing.sono.json", plugins);
   f = fopen(to, "wb");
   fputs(printed, f);
   fclose(f);
   free(printed);
   cJSON_Delete(m);
   write_recording(rec);

   cJSON *root = run_session(rec, plugins, out, NULL, NULL);
   cJSON *failing = plugin_entry(root, "fx_failing.sono.json");
   assert_string_equal(cJSON_GetObjectItem(failing, "run_mode")->valuestring, "isolated");
   cJSON *good = plugin_entry(root, "fx_good.sono.json");
   assert_string_equal(cJSON_GetObjectItem(good, "run_mode")->valuestring, "in-process");
   assert_int_equal(cJSON_GetObjectItem(good, "frames_processed")->valueint, 4);
   cJSON *frame;
   cJSON_ArrayForEach(frame, cJSON_GetObjectItem(root, "frames"))
      assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(frame, "findings")), 1);
   cJSON_Delete(root);
}

static void test_missing_recording_names_file(void **state)
{
   (void)state;
   sono_session_options_t o;
   sono_error_t err;
   sono_session_options_default(&o);
   o.recording = "/nonexistent/rec.json";
   o.plugin_dir = fx_dir;
   o.quiet = 1;
   assert_null(sono_session_open(&o, &err));
   assert_non_null(strstr(err.message, "/nonexistent/rec.json"));
}

/* A 2-frame 8x8 IQ recording (ensemble 8) that names the scanner's clutter
 * filter. */
static void write_iq_recording(const char *path, const char *wall)
{
   sono_recording_info_t info;
   sono_error_t err;
   memset(&info, 0, sizeof info);
   info.grid = (sono_grid_t){8, 8, 1e-4, 1e-4, 0.0, 0.0};
   info.acquisition.center_frequency_hz = 15e6;
   info.acquisition.sound_speed_m_s = 1540;
   info.acquisition.prf_hz = 2000;
   snprintf(info.wall_filter, sizeof info.wall_filter, "%s", wall);
   sono_recording_writer_t *w = sono_recording_writer_open(path, &info, &err);
   assert_non_null(w);
   static float iq[8 * 8 * 8 * 2];
   for (size_t i = 0; i < sizeof iq / sizeof iq[0]; ++i)
      iq[i] = (float)((i * 7919u) % 101u) - 50.0f;
   sono_plane_t p = {sizeof p, SONO_PLANE_IQ, SONO_DTYPE_COMPLEX64, {8, 8, 8}, {1, 8, 64}, iq};
   for (int f = 0; f < 2; ++f)
      assert_int_equal(sono_recording_writer_add_frame(w, &p, 1, &err), 0);
   assert_int_equal(sono_recording_writer_commit(w, &err), 0);
}

static const char *processing_wall(const char *rec, const char *out, const char *override)
{
   char plugins[300];
   snprintf(plugins, sizeof plugins, "%s/wall-plugins", tmp);
   mkdir(plugins, 0755);
   stage_plugin(plugins, "fx_good");
   static char wall[32];
   cJSON *root = run_session(rec, plugins, out, override, NULL);
   cJSON *proc = cJSON_GetObjectItem(root, "processing");
   assert_non_null(proc);
   snprintf(wall, sizeof wall, "%s", cJSON_GetObjectItem(proc, "wall_filter")->valuestring);
   cJSON_Delete(root);
   return wall;
}

/* The host computes planes with the recording's clutter filter unless the
 * operator names another one. */
static void test_recording_wall_filter_is_default(void **state)
{
   (void)state;
   char rec[300], out[300];
   snprintf(rec, sizeof rec, "%s/iq.json", tmp);
   snprintf(out, sizeof out, "%s/out-wall", tmp);
   write_iq_recording(rec, "dct:3");
   assert_string_equal(processing_wall(rec, out, NULL), "dct:3");
   assert_string_equal(processing_wall(rec, out, "poly:1"), "poly:1");
   write_iq_recording(rec, "");
   assert_string_equal(processing_wall(rec, out, NULL), "poly:2");
}

static double true_ri(void)
{
   char path[512];
   snprintf(path, sizeof path, "%s/spectral_gate/v_centre_true.bin", shared_data);
   FILE *f = fopen(path, "rb");
   assert_non_null(f);
   static float v[8192];
   assert_int_equal(fread(v, sizeof *v, 8192, f), 8192);
   fclose(f);
   float lo = v[0], hi = v[0];
   for (int i = 1; i < 8192; ++i)
      lo = v[i] < lo ? v[i] : lo, hi = v[i] > hi ? v[i] : hi;
   return (hi - lo) / hi;
}

static void test_spectral_gate(void **state)
{
   (void)state;
   char rec[512], out[300];
   snprintf(rec, sizeof rec, "%s/spectral_gate.json", tests_data);
   snprintf(out, sizeof out, "%s/gate", tmp);
   cJSON *root = run_session(rec, fx_dir, out, NULL, NULL);
   cJSON *spectral = cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(root, "frames"), 0), "spectral");
   assert_non_null(spectral);
   double psv = cJSON_GetObjectItem(spectral, "psv_m_s")->valuedouble;
   double ri = cJSON_GetObjectItem(spectral, "ri")->valuedouble;
   printf("gate: PSV %.3f m/s, RI %.3f (truth %.3f)\n", psv, ri, true_ri());
   assert_true(fabs(psv - 0.6) <= 0.05 * 0.6);
   assert_true(fabs(ri - true_ri()) <= 0.05);
   cJSON_Delete(root);
}

int main(int argc, char **argv)
{
   if (argc < 3)
      return fprintf(stderr, "usage: test_session plugins FX_DIR | gate TESTS_DATA SHARED_DATA\n"), 2;
   snprintf(tmp, sizeof tmp, "/tmp/sono-test-session-XXXXXX");
   if (!mkdtemp(tmp))
      return 1;
   int rc;
   if (strcmp(argv[1], "gate") == 0) {
      tests_data = argv[2];
      shared_data = argc > 3 ? argv[3] : "";
      fx_dir = tmp; /* no plugins needed */
      char probe[512];
      snprintf(probe, sizeof probe, "%s/spectral_gate/iq_gate.bin", shared_data);
      if (access(probe, R_OK) != 0) {
         printf("SKIP: reference data %s is absent (set SONO_DATA_DIR)\n", probe);
         rc = 77;
      } else {
         FILE *m = fopen(strcat(strcpy((char[400]){0}, tmp), "/none.sono.json"), "wb");
         fputs("{}", m); /* a folder with one (refused) manifest: the gate needs no plugin */
         fclose(m);
         const struct CMUnitTest tests[] = {cmocka_unit_test(test_spectral_gate)};
         rc = cmocka_run_group_tests(tests, NULL, NULL);
      }
   } else {
      fx_dir = argv[2];
      const struct CMUnitTest tests[] = {cmocka_unit_test(test_failures_are_isolated),
                                         cmocka_unit_test(test_third_party_runs_isolated),
                                         cmocka_unit_test(test_missing_recording_names_file),
                                         cmocka_unit_test(test_recording_wall_filter_is_default)};
      rc = cmocka_run_group_tests(tests, NULL, NULL);
   }
   char cmd[300];
   snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
   if (system(cmd) != 0)
      fprintf(stderr, "could not remove %s\n", tmp);
   return rc;
}
