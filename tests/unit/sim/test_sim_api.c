/* libsono_sim: determinism, ground-truth contract (formats.md §2), presets,
 * batch draws, errors, and the recording written through the SDK writer. */
#include <cjson/cJSON.h>
#include <complex.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sono/sdk/recording.h>
#include <sono/sim/phantom.h>

/* A small case with a vessel, an occlusion and every colour artefact, so
 * every random stream of the frame pass is exercised. */
static void busy_case(sono_sim_case_t *c, uint32_t threads)
{
   sono_error_t err = {{0}};
   assert_int_equal(sono_sim_case_preset(c, "nasolabial-ha-occlusion", 11, &err), 0);
   c->nx = 64;
   c->nz = 300;
   c->x0_m = -1.6e-3;
   c->ensemble = 8;
   c->frames = 4;
   c->threads = threads;
   c->deposits[0].x_m = 0.0;
   c->deposits[0].half_width_m = 0.6e-3;
   c->deposits[1].x_m = -1.0e-3;
   sono_sim_artefact_t a;
   memset(&a, 0, sizeof a);
   a.vessel = 0;
   a.deposit = 1;
   a.kind = SONO_SIM_ART_FLASH;
   a.fraction = 0.5;
   a.frame0 = 1;
   a.frame1 = 2;
   sono_sim_add_artefact(c, &a);
   a.kind = SONO_SIM_ART_TWINKLING;
   sono_sim_add_artefact(c, &a);
   a.kind = SONO_SIM_ART_COLOUR_NOISE;
   sono_sim_add_artefact(c, &a);
   a.kind = SONO_SIM_ART_BLOOMING;
   sono_sim_add_artefact(c, &a);
}

static float *frames_of(const sono_sim_case_t *c)
{
   sono_error_t err = {{0}};
   sono_sim_t *s = sono_sim_create(c, &err);
   if (!s)
      fail_msg("%s", err.message);
   size_t per = 2 * (size_t)c->nz * c->nx * c->ensemble;
   float *buf = malloc(sizeof(float) * per * c->frames);
   assert_non_null(buf);
   for (uint32_t f = 0; f < c->frames; ++f)
      assert_int_equal(sono_sim_generate_frame(s, f, buf + per * f, &err), 0);
   sono_sim_destroy(s);
   return buf;
}

static void test_deterministic_across_threads(void **state)
{
   (void)state;
   sono_sim_case_t c1, c3, other;
   busy_case(&c1, 1);
   busy_case(&c3, 3);
   busy_case(&other, 1);
   other.seed = 12;
   size_t bytes = sizeof(float) * 2 * (size_t)c1.nz * c1.nx * c1.ensemble * c1.frames;
   float *a = frames_of(&c1), *b = frames_of(&c3), *again = frames_of(&c1), *d = frames_of(&other);
   assert_memory_equal(a, b, bytes);
   assert_memory_equal(a, again, bytes);
   assert_memory_not_equal(a, d, bytes);
   free(a);
   free(b);
   free(again);
   free(d);
}

static const char *const deposit_classes[] = {"ha_fresh", "ha_integrated", "caha", "caha_diluted", "pmma", "silicone",
                                              "plla", "pcl", "collagen", "paag", "unknown", NULL};
static const char *const placements[] = {"intraluminal", "perivascular", "tissue", NULL};
static const char *const artefact_kinds[] = {
   "acoustic_shadow", "posterior_enhancement", "reverberation", "comet_tail", "mirror_image", "anisotropy", "side_lobe",
   "gain_high", "gain_low", "near_field_clutter", "colour_aliasing", "colour_blooming", "colour_flash", "twinkling",
   "colour_noise", NULL};
static const char *const expectations[] = {"detected", "not_detected", "indeterminate", NULL};

static int in_set(const char *s, const char *const *set)
{
   for (; s && *set; ++set)
      if (strcmp(s, *set) == 0)
         return 1;
   return 0;
}

static void assert_points(const cJSON *arr, int min_points)
{
   assert_true(cJSON_IsArray(arr));
   assert_true(cJSON_GetArraySize(arr) >= min_points);
   const cJSON *p;
   cJSON_ArrayForEach(p, arr) {
      assert_int_equal(cJSON_GetArraySize(p), 2);
      assert_true(cJSON_IsNumber(cJSON_GetArrayItem(p, 0)) && cJSON_IsNumber(cJSON_GetArrayItem(p, 1)));
   }
}

static const cJSON *field(const cJSON *o, const char *name)
{
   const cJSON *f = cJSON_GetObjectItemCaseSensitive(o, name);
   if (!f)
      fail_msg("ground truth: missing field \"%s\"", name);
   return f;
}

/* Checks the formats.md §2 contract; returns expect.intravascular. */
static const char *check_ground_truth(const cJSON *gt)
{
   assert_true(cJSON_IsString(field(gt, "generator")));
   const cJSON *v, *d, *a;
   cJSON_ArrayForEach(v, field(gt, "vessels")) {
      assert_true(cJSON_IsString(field(v, "id")) && cJSON_IsString(field(v, "name")));
      assert_points(field(v, "centerline_m"), 2);
      assert_true(field(v, "diameter_m")->valuedouble > 0);
      assert_true(cJSON_IsNumber(field(v, "psv_m_s")) && cJSON_IsNumber(field(v, "ri")));
      const cJSON *seg;
      cJSON_ArrayForEach(seg, field(v, "occluded_segments_m")) assert_points(seg, 2);
   }
   cJSON_ArrayForEach(d, field(gt, "deposits")) {
      assert_true(cJSON_IsString(field(d, "id")));
      assert_true(in_set(field(d, "class")->valuestring, deposit_classes));
      assert_true(in_set(field(d, "placement")->valuestring, placements));
      assert_points(field(d, "polygon_m"), 3);
      if (strcmp(field(d, "placement")->valuestring, "tissue") != 0)
         assert_true(cJSON_IsString(field(d, "vessel_id")));
   }
   cJSON_ArrayForEach(a, field(gt, "artefacts")) {
      const char *kind = field(a, "kind")->valuestring;
      assert_true(in_set(kind, artefact_kinds));
      int frame_wide = strncmp(kind, "gain_", 5) == 0;
      const cJSON *poly = cJSON_GetObjectItemCaseSensitive(a, "polygon_m");
      if (frame_wide)
         assert_null(poly);
      else
         assert_points(poly, 3);
      const cJSON *fr = cJSON_GetObjectItemCaseSensitive(a, "frames");
      if (fr)
         assert_true(cJSON_GetArraySize(fr) == 2 && cJSON_GetArrayItem(fr, 0)->valueint <= cJSON_GetArrayItem(fr, 1)->valueint);
   }
   const char *expect = field(field(gt, "expect"), "intravascular")->valuestring;
   assert_true(in_set(expect, expectations));
   return expect;
}

static int has_kind(const cJSON *gt, const char *kind)
{
   const cJSON *a;
   cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(gt, "artefacts"))
      if (strcmp(cJSON_GetObjectItemCaseSensitive(a, "kind")->valuestring, kind) == 0)
         return 1;
   return 0;
}

static cJSON *truth_of(const sono_sim_case_t *c)
{
   sono_error_t err = {{0}};
   sono_sim_t *s = sono_sim_create(c, &err);
   if (!s)
      fail_msg("%s: %s", c->scenario, err.message);
   char *text = sono_sim_ground_truth_json(s);
   sono_sim_destroy(s);
   cJSON *gt = cJSON_Parse(text);
   free(text);
   assert_non_null(gt);
   return gt;
}

static void test_default_scenario_ground_truth(void **state)
{
   (void)state;
   sono_sim_case_t c;
   sono_error_t err = {{0}};
   assert_int_equal(sono_sim_case_preset(&c, "nasolabial-ha-occlusion", 1, &err), 0);
   assert_true(c.frames >= 8 && c.frames <= 10);
   cJSON *gt = truth_of(&c);
   assert_string_equal(check_ground_truth(gt), "detected");
   const cJSON *dep = cJSON_GetObjectItemCaseSensitive(gt, "deposits");
   assert_int_equal(cJSON_GetArraySize(dep), 2);
   assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(dep, 0), "class")->valuestring, "ha_fresh");
   assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(dep, 0), "placement")->valuestring, "intraluminal");
   assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(dep, 1), "class")->valuestring, "caha");
   assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(dep, 1), "placement")->valuestring, "perivascular");
   const cJSON *v = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(gt, "vessels"), 0);
   assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(v, "occluded_segments_m")), 1);
   assert_true(cJSON_GetObjectItem(v, "ri")->valuedouble >= 0.95);
   assert_true(has_kind(gt, "acoustic_shadow"));
   assert_true(has_kind(gt, "colour_aliasing"));
   cJSON_Delete(gt);
}

static const char *placement_of(const sono_sim_case_t *c, uint32_t deposit)
{
   cJSON *gt = truth_of(c);
   const cJSON *d = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(gt, "deposits"), (int)deposit);
   static char name[32];
   snprintf(name, sizeof name, "%s", cJSON_GetObjectItem(d, "placement")->valuestring);
   cJSON_Delete(gt);
   return name;
}

/* formats.md §2: a deposit within 1 mm of a lumen is perivascular, whatever
 * placement the case drew it with. */
static void test_tissue_deposit_beside_a_lumen_is_labelled_perivascular(void **state)
{
   (void)state;
   sono_sim_case_t c;
   sono_error_t err = {{0}};
   assert_int_equal(sono_sim_case_preset(&c, "nasolabial-ha-occlusion", 1, &err), 0);
   c.frames = 2;
   const sono_sim_vessel_t *v = &c.vessels[0];
   sono_sim_deposit_t *d = &c.deposits[1];
   d->placement = SONO_SIM_TISSUE;
   d->vessel = -1;
   d->pearls = 0;
   d->angle_rad = 0;
   d->half_width_m = 0.5e-3;
   d->half_depth_m = 0.4e-3;
   d->x_m = v->x_center_m;
   double wall = v->depth_m + v->sag_m + 0.5 * v->diameter_m;
   d->z_m = wall + 0.6e-3 + d->half_depth_m; /* 0.6 mm below the wall: nearer still across a tilted lumen */
   assert_string_equal(placement_of(&c, 1), "perivascular");
   d->z_m = wall + 3.0e-3 + d->half_depth_m; /* >= 2.7 mm across a lumen tilted up to 25 degrees */
   assert_string_equal(placement_of(&c, 1), "tissue");
}

/* Every preset builds, and its labels follow the contract and rule V9. */
static void test_every_preset_ground_truth(void **state)
{
   (void)state;
   struct { const char *name, *expect, *kind; } want[] = {
      {"clean-cheek", "not_detected", NULL},
      {"small-vessel-indeterminate", "indeterminate", NULL},
      {"high-scale-indeterminate", "indeterminate", NULL},
      {"angular-ha-occlusion", "indeterminate", NULL},
      {"intraluminal-caha", "detected", NULL},
      {"facial-aliasing", NULL, "colour_aliasing"},
      {"filler-pmma", NULL, "comet_tail"},
      {"filler-silicone", NULL, "reverberation"},
      {"filler-ha-fresh", NULL, "posterior_enhancement"},
      {"artefact-mirror", NULL, "mirror_image"},
      {"artefact-gain-high", NULL, "gain_high"},
      {"artefact-gain-low", NULL, "gain_low"},
      {"artefact-near-field", NULL, "near_field_clutter"},
      {"artefact-blooming", NULL, "colour_blooming"},
      {"artefact-flash", NULL, "colour_flash"},
      {"artefact-twinkling", NULL, "twinkling"},
      {"artefact-colour-noise", NULL, "colour_noise"},
      {"artefact-reverberation", NULL, "reverberation"},
      {"artefact-shadow", NULL, "acoustic_shadow"},
      {"artefact-side-lobe", NULL, "side_lobe"},
   };
   size_t count = 0;
   for (size_t i = 0; sono_sim_preset_name(i); ++i, ++count) {
      sono_sim_case_t c;
      sono_error_t err = {{0}};
      assert_int_equal(sono_sim_case_preset(&c, sono_sim_preset_name(i), 5, &err), 0);
      c.frames = c.frames < 4 ? c.frames : 4;
      cJSON *gt = truth_of(&c);
      const char *expect = check_ground_truth(gt);
      for (size_t k = 0; k < sizeof want / sizeof want[0]; ++k) {
         if (strcmp(want[k].name, c.scenario) != 0)
            continue;
         if (want[k].expect)
            assert_string_equal(expect, want[k].expect);
         if (want[k].kind && !has_kind(gt, want[k].kind))
            fail_msg("%s: ground truth lacks artefact kind %s", c.scenario, want[k].kind);
      }
      cJSON_Delete(gt);
   }
   assert_true(count >= 20);
}

static void test_batch_draws_are_reproducible_and_span_classes(void **state)
{
   (void)state;
   int clean = 0, aliasing = 0, indeterminate = 0, classes[SONO_SIM_FILLER_COUNT] = {0}, placements_seen[3] = {0};
   int side_lobes = 0;
   for (uint32_t i = 0; i < 120; ++i) {
      sono_sim_case_t a, b;
      sono_error_t err = {{0}};
      sono_sim_batch_case(&a, 42, i);
      sono_sim_batch_case(&b, 42, i);
      assert_memory_equal(&a, &b, sizeof a);
      if (sono_sim_case_validate(&a, &err))
         fail_msg("batch case %u: %s", i, err.message);
      clean += a.deposit_count == 0;
      for (uint32_t k = 0; k < a.artefact_count; ++k)
         side_lobes += a.artefacts[k].kind == SONO_SIM_ART_SIDE_LOBE;
      if (a.deposit_count) {
         classes[a.deposits[0].filler]++;
         placements_seen[a.deposits[0].placement]++;
      }
      /* axial peak speed above the axial Nyquist velocity (tilt only: sag has no slope at the centre) */
      aliasing += sono_sim_nyquist(&a) < a.vessels[0].psv_m_s * fabs(sin(a.vessels[0].tilt_rad));
      indeterminate += strcmp(sono_sim_expected_intravascular(&a), "indeterminate") == 0;
   }
   assert_true(clean > 10 && aliasing > 10 && indeterminate > 10);
   assert_true(side_lobes > 3 && side_lobes < 25); /* 12 % of the cases with a finding */
   for (int k = 0; k < SONO_SIM_FILLER_COUNT; ++k)
      assert_true(classes[k] > 0);
   for (int k = 0; k < 3; ++k)
      assert_true(placements_seen[k] > 0);
   sono_sim_case_t x, y;
   sono_sim_batch_case(&x, 42, 0);
   sono_sim_batch_case(&y, 43, 0);
   assert_true(x.seed != y.seed);
}

static void test_errors_name_what_and_where(void **state)
{
   (void)state;
   sono_sim_case_t c;
   sono_error_t err = {{0}};
   assert_int_equal(sono_sim_case_preset(&c, "no-such-scene", 1, &err), -1);
   assert_non_null(strstr(err.message, "scenario \"no-such-scene\""));
   assert_non_null(strstr(err.message, "nasolabial-ha-occlusion"));

   assert_int_equal(sono_sim_case_preset(&c, "clean-cheek", 1, &err), 0);
   c.vessels[0].diameter_m = -1;
   assert_null(sono_sim_create(&c, &err));
   assert_non_null(strstr(err.message, "case \"clean-cheek\": vessels[0].diameter_m"));

   assert_int_equal(sono_sim_case_preset(&c, "clean-cheek", 1, &err), 0);
   c.nz = 4;
   assert_int_equal(sono_sim_case_validate(&c, &err), -1);
   assert_non_null(strstr(err.message, "grid: expected nz and nx in 16..4096"));

   assert_int_equal(sono_sim_case_preset(&c, "filler-pmma", 1, &err), 0);
   sono_sim_artefact_t a;
   memset(&a, 0, sizeof a);
   a.kind = SONO_SIM_ART_MIRROR;
   a.vessel = 0;
   sono_sim_add_artefact(&c, &a);
   assert_int_equal(sono_sim_case_validate(&c, &err), -1);
   assert_non_null(strstr(err.message, "artefacts[0].vessel"));

   assert_int_equal(sono_sim_case_preset(&c, "artefact-side-lobe", 1, &err), 0);
   c.artefacts[0].lobe_db = -5.0;
   assert_int_equal(sono_sim_case_validate(&c, &err), -1);
   assert_non_null(strstr(err.message, "case \"artefact-side-lobe\": artefacts[0].lobe_db: expected -60..-10 dB"));

   assert_int_equal(sono_sim_case_preset(&c, "filler-pmma", 1, &err), 0);
   c.nx = 32;
   c.nz = 32;
   c.ensemble = 2;
   sono_sim_t *s = sono_sim_create(&c, &err);
   assert_non_null(s);
   float buf[2 * 32 * 32 * 2];
   assert_int_equal(sono_sim_generate_frame(s, c.frames, buf, &err), -1);
   assert_non_null(strstr(err.message, "frame 4: out of range, the case has 4 frames"));
   sono_sim_destroy(s);
}

static void test_recording_round_trip(void **state)
{
   (void)state;
   sono_sim_case_t c;
   busy_case(&c, 2);
   c.frames = 3;
   char dir[] = "/tmp/sono_sim_testXXXXXX";
   assert_non_null(mkdtemp(dir));
   sono_error_t err = {{0}};
   if (sono_sim_write_recording(&c, dir, "scan", &err))
      fail_msg("write: %s", err.message);
   char header[256];
   snprintf(header, sizeof header, "%s/scan.json", dir);
   sono_recording_t *rec = sono_recording_open(header, &err);
   if (!rec)
      fail_msg("open: %s", err.message);
   const sono_recording_info_t *info = sono_recording_get_info(rec);
   assert_int_equal(info->frame_count, 3);
   assert_int_equal(info->grid.nz, c.nz);
   assert_int_equal(info->grid.nx, c.nx);
   assert_true(fabs(info->acquisition.prf_hz - c.prf_hz) < 1e-6 * c.prf_hz);
   float *want = frames_of(&c);
   size_t per = (size_t)c.nz * c.nx * c.ensemble;
   for (uint32_t f = 0; f < c.frames; ++f) {
      sono_plane_t planes[SONO_PLANE_KIND_COUNT];
      int n = sono_recording_frame(rec, f, planes, &err);
      assert_true(n >= 1);
      const sono_plane_t *iq = &planes[0];
      assert_int_equal(iq->kind, SONO_PLANE_IQ);
      assert_int_equal(iq->shape[2], c.ensemble);
      const float complex *w = (const float complex *)(want + 2 * per * f);
      for (uint32_t e = 0; e < c.ensemble; ++e)
         for (uint32_t ix = 0; ix < c.nx; ++ix)
            for (uint32_t iz = 0; iz < c.nz; ++iz) {
               const float complex *p =
                  (const float complex *)iq->data + iz * iq->stride[0] + ix * iq->stride[1] + e * iq->stride[2];
               assert_memory_equal(p, &w[iz + (size_t)c.nz * (ix + (size_t)c.nx * e)], sizeof *p);
            }
   }
   const cJSON *gt = sono_recording_ground_truth(rec);
   assert_non_null(gt);
   assert_string_equal(check_ground_truth(gt), "detected");
   free(want);
   sono_recording_close(rec);
   char cmd[300];
   snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
   assert_int_equal(system(cmd), 0);
}

int main(void)
{
   const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_deterministic_across_threads),
      cmocka_unit_test(test_default_scenario_ground_truth),
      cmocka_unit_test(test_tissue_deposit_beside_a_lumen_is_labelled_perivascular),
      cmocka_unit_test(test_every_preset_ground_truth),
      cmocka_unit_test(test_batch_draws_are_reproducible_and_span_classes),
      cmocka_unit_test(test_errors_name_what_and_where),
      cmocka_unit_test(test_recording_round_trip),
   };
   return cmocka_run_group_tests(tests, NULL, NULL);
}
