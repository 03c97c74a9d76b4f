/* Every way a recording header or its data can be wrong is refused with a
 * message naming the header file and the field, and what was expected. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sono/sdk/recording.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rec_test_util.h"

typedef enum { SET, DELETE, RAW, DATA_ONLY, NO_HEADER } edit_t;

typedef struct error_case {
   const char *name;
   edit_t mode;
   const char *path;      /* field to change (SET, DELETE) */
   const char *value;     /* JSON (SET) or whole header text (RAW) */
   long iq_delta;         /* bytes added to / removed from scan.iq.bin */
   const char *expect[3]; /* substrings the message must contain */
} error_case_t;

static const error_case_t cases[] = {
   /* identity */
   {"format missing", DELETE, "format", NULL, 0, {"format: missing", "expected a string"}},
   {"format wrong value", SET, "format", "\"sono.results\"", 0, {"format: expected \"sono.recording\"", "sono.results"}},
   {"format wrong type", SET, "format", "1", 0, {"format: expected a string, got a number"}},
   {"version missing", DELETE, "version", NULL, 0, {"version: missing"}},
   {"version unsupported", SET, "version", "2", 0, {"version: unsupported version 2, expected 1"}},
   {"version wrong type", SET, "version", "\"1\"", 0, {"version: expected a positive integer", "got a string"}},
   {"description wrong type", SET, "description", "[]", 0, {"description: expected a string, got an array"}},
   /* acquisition */
   {"acquisition missing", DELETE, "acquisition", NULL, 0, {"acquisition: missing", "center_frequency_hz"}},
   {"acquisition wrong type", SET, "acquisition", "5", 0, {"acquisition: expected an object", "got a number"}},
   {"centre frequency missing", DELETE, "acquisition.center_frequency_hz", NULL, 0,
    {"acquisition.center_frequency_hz: missing (expected a positive number)"}},
   {"centre frequency wrong type", SET, "acquisition.center_frequency_hz", "\"15e6\"", 0,
    {"acquisition.center_frequency_hz: expected a positive number, got a string"}},
   {"centre frequency negative", SET, "acquisition.center_frequency_hz", "-1", 0,
    {"acquisition.center_frequency_hz: expected a positive number, got -1"}},
   {"sound speed missing", DELETE, "acquisition.sound_speed_m_s", NULL, 0,
    {"acquisition.sound_speed_m_s: missing (expected a positive number)"}},
   {"sound speed zero", SET, "acquisition.sound_speed_m_s", "0", 0,
    {"acquisition.sound_speed_m_s: expected a positive number, got 0"}},
   {"prf missing with an ensemble", DELETE, "acquisition.prf_hz", NULL, 0,
    {"acquisition.prf_hz: missing, required because planes.iq has an ensemble of 2", "positive number"}},
   {"prf wrong type", SET, "acquisition.prf_hz", "true", 0, {"acquisition.prf_hz: expected a positive number, got a boolean"}},
   {"demodulation wrong type", SET, "acquisition.demodulation_frequency_hz", "null", 0,
    {"acquisition.demodulation_frequency_hz: expected a non-negative number, got null"}},
   {"frame rate negative", SET, "acquisition.frame_rate_hz", "-20", 0,
    {"acquisition.frame_rate_hz: expected a non-negative number, got -20"}},
   {"wall filter wrong type", SET, "acquisition.wall_filter", "2", 0,
    {"acquisition.wall_filter: expected a string, got a number"}},
   {"wall filter unknown", SET, "acquisition.wall_filter", "\"median:3\"", 0,
    {"acquisition.wall_filter: wall filter \"median:3\": unknown", "expected poly:N, dct:N, svd:N"}},
   {"wall filter without order", SET, "acquisition.wall_filter", "\"svd:\"", 0,
    {"acquisition.wall_filter: wall filter \"svd:\": expected svd:N with N a non-negative integer"}},
   {"wall filter iir without cut-off", SET, "acquisition.wall_filter", "\"iir:-3\"", 0,
    {"acquisition.wall_filter", "expected iir:F or iir:F:order"}},
   {"wall filter too long", SET, "acquisition.wall_filter", "\"poly:00000000000000000000000000000000002\"", 0,
    {"acquisition.wall_filter", "is too long, expected at most 31 bytes"}},
   /* probe */
   {"probe wrong type", SET, "probe", "\"L18-6\"", 0, {"probe: expected an object", "got a string"}},
   {"probe name wrong type", SET, "probe.name", "7", 0, {"probe.name: expected a string, got a number"}},
   {"probe elements negative", SET, "probe.elements", "-3", 0, {"probe.elements: expected a non-negative integer", "got -3"}},
   {"probe name too long", SET, "probe.name",
    "\"0123456789012345678901234567890123456789012345678901234567890123456789\"", 0,
    {"probe.name: 70 bytes long, expected at most 63"}},
   {"probe geometry unknown", SET, "probe.geometry", "\"curved\"", 0,
    {"probe.geometry: unknown geometry \"curved\"", "linear, convex or phased"}},
   /* grid */
   {"grid missing", DELETE, "grid", NULL, 0, {"grid: missing", "nx, nz, dx_m, dz_m, x0_m and z0_m"}},
   {"grid.nx missing", DELETE, "grid.nx", NULL, 0, {"grid.nx: missing (expected a positive integer)"}},
   {"grid.nz missing", DELETE, "grid.nz", NULL, 0, {"grid.nz: missing (expected a positive integer)"}},
   {"grid.dx_m missing", DELETE, "grid.dx_m", NULL, 0, {"grid.dx_m: missing (expected a positive number)"}},
   {"grid.dz_m missing", DELETE, "grid.dz_m", NULL, 0, {"grid.dz_m: missing (expected a positive number)"}},
   {"grid.x0_m missing", DELETE, "grid.x0_m", NULL, 0, {"grid.x0_m: missing (expected a finite number)"}},
   {"grid.z0_m missing", DELETE, "grid.z0_m", NULL, 0, {"grid.z0_m: missing (expected a finite number)"}},
   {"grid.nx fractional", SET, "grid.nx", "2.5", 0, {"grid.nx: expected a positive integer", "got 2.5"}},
   {"grid.dz_m wrong type", SET, "grid.dz_m", "\"0.1 mm\"", 0, {"grid.dz_m: expected a positive number, got a string"}},
   {"grid.nx disagrees", SET, "grid.nx", "5", 0, {"planes.iq.shape: axis x has 3 samples but grid.nx is 5"}},
   {"grid.nz disagrees", SET, "grid.nz", "7", 0, {"planes.iq.shape: axis z has 4 samples but grid.nz is 7"}},
   /* planes */
   {"planes missing", DELETE, "planes", NULL, 0, {"planes: missing", "iq, rf, bmode, velocity, power, variance, spectrogram"}},
   {"planes wrong type", SET, "planes", "[]", 0, {"planes: expected an object", "got an array"}},
   {"planes empty", SET, "planes", "{}", 0, {"planes: no plane, expected at least one of iq"}},
   {"planes vendor only", SET, "planes", "{\"x-acme\": {\"file\": \"a.bin\"}}", 0,
    {"planes: no plane", "vendor \"x-\" planes are ignored"}},
   {"plane name unknown", SET, "planes.doppler", "{\"file\": \"scan.iq.bin\"}", 0,
    {"planes.doppler: unknown plane name", "iq, rf, bmode", "\"x-...\""}},
   {"plane wrong type", SET, "planes.iq", "\"scan.iq.bin\"", 0, {"planes.iq: expected an object", "got a string"}},
   {"plane file missing", DELETE, "planes.iq.file", NULL, 0, {"planes.iq.file: missing (expected a string)"}},
   {"plane file wrong type", SET, "planes.iq.file", "{}", 0, {"planes.iq.file: expected a string, got an object"}},
   {"plane file absent", SET, "planes.iq.file", "\"nothere.iq.bin\"", 0,
    {"planes.iq.file: cannot open \"nothere.iq.bin\"", "No such file or directory"}},
   {"plane file is a folder", SET, "planes.iq.file", "\".\"", 0, {"planes.iq.file: \".\"", "is not a regular file"}},
   {"plane file absolute", SET, "planes.iq.file", "\"/etc/hostname\"", 0,
    {"planes.iq.file: \"/etc/hostname\" is absolute", "relative to the header's folder"}},
   {"plane file empty", SET, "planes.iq.file", "\"\"", 0, {"planes.iq.file: empty"}},
   {"dtype missing", DELETE, "planes.iq.dtype", NULL, 0, {"planes.iq.dtype: missing (expected a string)"}},
   {"dtype unknown", SET, "planes.iq.dtype", "\"complex128\"", 0,
    {"planes.iq.dtype: unknown dtype \"complex128\"", "expected complex64"}},
   {"dtype not allowed", SET, "planes.iq.dtype", "\"float32\"", 0,
    {"planes.iq.dtype: an iq plane cannot be float32, expected complex64"}},
   {"dtype not allowed for bmode", SET, "planes.bmode.dtype", "\"int16\"", 0,
    {"planes.bmode.dtype: a bmode plane cannot be int16, expected float32, uint8"}},
   {"axes missing", DELETE, "planes.iq.axes", NULL, 0, {"planes.iq.axes: missing", "z, x, ensemble, frame"}},
   {"axes wrong type", SET, "planes.iq.axes", "\"zx\"", 0, {"planes.iq.axes: expected an array", "got a string"}},
   {"axis unknown", SET, "planes.iq.axes", "[\"z\", \"y\", \"ensemble\", \"frame\"]", 0,
    {"planes.iq.axes[1]: unknown axis \"y\"", "expected one of z, x, ensemble, frame"}},
   {"axis of another kind", SET, "planes.bmode.axes", "[\"z\", \"x\", \"ensemble\"]", 0,
    {"planes.bmode.axes[2]: unknown axis \"ensemble\" for a bmode plane", "expected one of z, x, frame"}},
   {"axis duplicate", SET, "planes.iq.axes", "[\"z\", \"x\", \"x\", \"frame\"]", 0,
    {"planes.iq.axes[2]: duplicate axis \"x\"", "each axis once"}},
   {"axis x absent", SET, "planes.iq.axes", "[\"z\", \"ensemble\", \"frame\"]", 0,
    {"planes.iq.axes: missing axis \"x\"", "expected z and x"}},
   {"axis name wrong type", SET, "planes.iq.axes", "[\"z\", 1, \"ensemble\", \"frame\"]", 0,
    {"planes.iq.axes[1]: expected an axis name", "got a number"}},
   {"shape missing", DELETE, "planes.iq.shape", NULL, 0, {"planes.iq.shape: missing (expected 4 positive integers"}},
   {"shape length", SET, "planes.iq.shape", "[4, 3, 2]", 0,
    {"planes.iq.shape: expected 4 positive integers (one per axis), got 3"}},
   {"shape wrong type", SET, "planes.iq.shape", "{}", 0, {"planes.iq.shape: expected an array of 4", "got an object"}},
   {"shape zero", SET, "planes.iq.shape", "[4, 3, 0, 2]", 0, {"planes.iq.shape[2]: expected a positive integer", "got 0"}},
   {"shape negative", SET, "planes.iq.shape", "[4, -3, 2, 2]", 0, {"planes.iq.shape[1]: expected a positive integer", "got -3"}},
   {"shape entry wrong type", SET, "planes.iq.shape", "[\"4\", 3, 2, 2]", 0,
    {"planes.iq.shape[0]: expected a positive integer", "got a string"}},
   {"order unknown", SET, "planes.iq.order", "\"R\"", 0, {"planes.iq.order: expected \"F\"", "or \"C\"", "got \"R\""}},
   {"order wrong type", SET, "planes.iq.order", "0", 0, {"planes.iq.order: expected a string, got a number"}},
   {"offset beyond file", SET, "planes.iq.offset_bytes", "100000", 0,
    {"planes.iq.offset_bytes: 100000 is beyond the end of \"scan.iq.bin\" (384 bytes)"}},
   {"offset misaligned", SET, "planes.iq.offset_bytes", "4", 0,
    {"planes.iq.offset_bytes: 4 is not a multiple of 8", "complex64 element size"}},
   {"offset negative", SET, "planes.iq.offset_bytes", "-8", 0, {"planes.iq.offset_bytes: expected a non-negative integer"}},
   {"frame counts disagree", SET, "planes.bmode.shape", "[4, 3, 3]", 0,
    {"planes.bmode.shape: axis frame has 3 frames but planes.iq has 2", "expected equal counts"}},
   {"ground truth wrong type", SET, "ground_truth", "[]", 0, {"ground_truth: expected an object, got an array"}},
   /* data against shape */
   {"data truncated", DATA_ONLY, NULL, NULL, -8,
    {"planes.iq: file \"scan.iq.bin\" holds 376 bytes", "shape [4, 3, 2, 2] of complex64 needs 384", "truncated"}},
   {"data too long", DATA_ONLY, NULL, NULL, 16,
    {"planes.iq.file: \"scan.iq.bin\" holds 400 bytes but the header describes only 384", "check shape, dtype"}},
   {"dtype too small for the data", SET, "planes.bmode.dtype", "\"float32\"", 0,
    {"planes.bmode: file \"scan.bmode.bin\" holds 24 bytes", "of float32 needs 96", "truncated"}},
   /* the header file itself */
   {"not JSON", RAW, NULL, "{\n  \"format\": \"sono.recording\",\n  \"version\": ,\n}\n", 0,
    {"not valid JSON: parse error at line 3, column 14"}},
   {"trailing garbage", RAW, NULL, "{\"format\": \"sono.recording\"} x", 0, {"not valid JSON: parse error at line 1"}},
   {"empty header", RAW, NULL, "", 0, {"not valid JSON: parse error at line 1, column 1"}},
   {"top level array", RAW, NULL, "[1, 2]", 0, {"expected a JSON object at the top level, got an array"}},
   {"duplicate plane", RAW, NULL,
    "{\"format\": \"sono.recording\", \"version\": 1,"
    " \"acquisition\": {\"center_frequency_hz\": 5e6, \"sound_speed_m_s\": 1540},"
    " \"grid\": {\"nx\": 3, \"nz\": 4, \"dx_m\": 1e-4, \"dz_m\": 1e-4, \"x0_m\": 0, \"z0_m\": 0},"
    " \"planes\": {\"bmode\": {\"file\": \"scan.bmode.bin\", \"dtype\": \"uint8\", \"axes\": [\"z\", \"x\", \"frame\"],"
    " \"shape\": [4, 3, 2]}, \"bmode\": {\"file\": \"scan.bmode.bin\"}}}",
    0, {"planes.bmode: appears twice, expected each plane once"}},
   {"header absent", NO_HEADER, NULL, NULL, 0, {"cannot open the header: No such file or directory"}},
};

static void run_case(void **state)
{
   const error_case_t *c = *state;
   char *dir = rt_tmpdir();
   char *header = rt_path(dir, "scan.json");
   rt_write_base_data(dir, c->iq_delta);
   if (c->mode == RAW) {
      rt_write_text(header, c->value);
   } else if (c->mode != NO_HEADER) {
      cJSON *root = rt_base_header();
      assert_non_null(root);
      if (c->mode == SET || c->mode == DELETE)
         assert_int_equal(rt_set(root, c->path, c->mode == SET ? c->value : NULL), 0);
      rt_write_json(header, root);
      cJSON_Delete(root);
   }
   sono_error_t err = {{0}};
   sono_recording_t *rec = sono_recording_open(header, &err);
   if (rec)
      fail_msg("case \"%s\": opened, expected a refusal", c->name);
   if (!strstr(err.message, header))
      fail_msg("case \"%s\": message does not name the file %s: %s", c->name, header, err.message);
   print_message("%s\n", err.message);
   for (int i = 0; i < 3 && c->expect[i]; ++i)
      if (!strstr(err.message, c->expect[i]))
         fail_msg("case \"%s\": message lacks \"%s\": %s", c->name, c->expect[i], err.message);
   rt_rmtree(dir);
   free(header);
   free(dir);
}

/* The untouched base header opens: the cases above fail for their own
 * reason only. */
static void base_header_opens(void **state)
{
   (void)state;
   char *dir = rt_tmpdir();
   char *header = rt_path(dir, "scan.json");
   rt_write_base_data(dir, 0);
   cJSON *root = rt_base_header();
   rt_set(root, "planes.x-acme", "{\"file\": \"vendor.bin\", \"dtype\": \"whatever\"}");
   rt_write_json(header, root);
   cJSON_Delete(root);
   sono_error_t err = {{0}};
   sono_recording_t *rec = sono_recording_open(header, &err);
   if (!rec)
      fail_msg("base header refused: %s", err.message);
   assert_int_equal(sono_recording_get_info(rec)->frame_count, 2);
   sono_recording_close(rec);
   rt_rmtree(dir);
   free(header);
   free(dir);
}

/* Opens `text` as dir/scan.json: either it opens, or the message names the
 * file. Returns 1 when it opened. */
static int open_text(const char *dir, const char *header, const char *text, size_t len)
{
   rt_write_file(header, text, len);
   sono_error_t err = {{0}};
   sono_recording_t *rec = sono_recording_open(header, &err);
   if (!rec && !strstr(err.message, header))
      fail_msg("message does not name %s: %s", header, err.message);
   (void)dir;
   sono_recording_close(rec);
   return rec != NULL;
}

/* Every prefix of a valid header is refused cleanly; only the whole opens. */
static void every_truncated_header_is_refused(void **state)
{
   (void)state;
   char *dir = rt_tmpdir();
   char *header = rt_path(dir, "scan.json");
   rt_write_base_data(dir, 0);
   cJSON *root = rt_base_header();
   char *text = cJSON_PrintUnformatted(root);
   cJSON_Delete(root);
   size_t len = strlen(text);
   for (size_t n = 0; n < len; ++n)
      if (open_text(dir, header, text, n))
         fail_msg("a header cut at byte %zu of %zu opened", n, len);
   assert_true(open_text(dir, header, text, len));
   free(text);
   rt_rmtree(dir);
   free(header);
   free(dir);
}

/* Random byte edits of a valid header never crash the reader (run under
 * the sanitizers in CI); each is opened or refused with the file named. */
static void mutated_headers_never_crash(void **state)
{
   (void)state;
   char *dir = rt_tmpdir();
   char *header = rt_path(dir, "scan.json");
   rt_write_base_data(dir, 0);
   cJSON *root = rt_base_header();
   char *text = cJSON_PrintUnformatted(root);
   cJSON_Delete(root);
   size_t len = strlen(text);
   char *copy = malloc(len + 1);
   static const char alphabet[] = "{}[]\",:0123456789-.eE\" xFCz\\";
   uint32_t seed = 12345;
   for (int trial = 0; trial < 2000; ++trial) {
      memcpy(copy, text, len + 1);
      for (int edit = 0; edit < 1 + trial % 3; ++edit) {
         seed = seed * 1664525u + 1013904223u;
         size_t at = (seed >> 8) % len;
         seed = seed * 1664525u + 1013904223u;
         copy[at] = alphabet[(seed >> 8) % (sizeof alphabet - 1)];
      }
      open_text(dir, header, copy, len);
   }
   free(copy);
   free(text);
   rt_rmtree(dir);
   free(header);
   free(dir);
}

int main(void)
{
   enum { N = sizeof cases / sizeof cases[0] };
   struct CMUnitTest tests[N + 3];
   tests[0] = (struct CMUnitTest)cmocka_unit_test(base_header_opens);
   tests[1] = (struct CMUnitTest)cmocka_unit_test(every_truncated_header_is_refused);
   tests[2] = (struct CMUnitTest)cmocka_unit_test(mutated_headers_never_crash);
   for (int i = 0; i < N; ++i)
      tests[i + 3] = (struct CMUnitTest){cases[i].name, run_case, NULL, NULL, (void *)&cases[i]};
   return _cmocka_run_group_tests("recording_errors", tests, N + 3, NULL, NULL);
}
