/* org.sonoplug.artefacts on phantom recordings (libsono_sim), run through
 * the host's session API exactly as sono-host runs it.
 * argv[1]: folder of built plugins; argv[2]: scratch folder; optional
 * argv[3]: a cmocka test-name pattern (runs the matching tests only). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <cjson/cJSON.h>
#include <sono/host/session.h>
#include <sono/sim/phantom.h>

static const char *plugin_dir, *work_dir;

/* Writes the case (at most `max_frames` frames) as a recording named
 * `scenario` and returns the plugin's results. */
static cJSON *run_case_frames(sono_sim_case_t *c, const char *scenario, uint32_t max_frames)
{
   sono_error_t err;
   char manifest[1024], rec[1024];
   c->frames = c->frames > max_frames ? max_frames : c->frames;
   mkdir(work_dir, 0755);
   assert_int_equal(sono_sim_write_recording(c, work_dir, scenario, &err), 0);
   snprintf(rec, sizeof rec, "%s/%s.json", work_dir, scenario);
   snprintf(manifest, sizeof manifest, "%s/artefacts.sono.json", plugin_dir);
   sono_session_options_t o;
   sono_session_options_default(&o);
   o.recording = rec;
   o.plugin_dir = plugin_dir;
   o.only_plugin = manifest;
   o.quiet = 1;
   o.images = 0;
   sono_session_t *s = sono_session_open(&o, &err);
   if (!s)
      fail_msg("%s", err.message);
   assert_int_equal(sono_session_run(s, &err), 0);
   assert_false(sono_session_any_failure(s));
   cJSON *copy = cJSON_Duplicate(sono_results_json(sono_session_results(s)), 1);
   sono_session_close(s);
   return copy;
}

/* run_case_frames with the first 5 frames: enough for most rules, and short. */
static cJSON *run_case(sono_sim_case_t *c, const char *scenario)
{
   return run_case_frames(c, scenario, 5);
}

/* Writes the preset as a recording and returns the plugin's results. */
static cJSON *run_preset(const char *scenario)
{
   sono_sim_case_t c;
   sono_error_t err;
   assert_int_equal(sono_sim_case_preset(&c, scenario, 3, &err), 0);
   return run_case(&c, scenario);
}

/* Runs case `index` of the phantom batch of `seed` (as sono-eval draws it)
 * and checks its results are well formed. */
static void check_well_formed(const cJSON *res);
static cJSON *run_batch_case_frames(uint64_t seed, uint32_t index, uint32_t max_frames)
{
   sono_sim_case_t c;
   char name[64];
   sono_sim_batch_case(&c, seed, index);
   snprintf(name, sizeof name, "batch-%llu-%u", (unsigned long long)seed, index);
   cJSON *res = run_case_frames(&c, name, max_frames);
   check_well_formed(res);
   return res;
}

static cJSON *run_batch_case(uint64_t seed, uint32_t index)
{
   return run_batch_case_frames(seed, index, 5);
}

static int count_kind(const cJSON *frame, const char *kind)
{
   int n = 0;
   const cJSON *f;
   cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(frame, "findings")) {
      const cJSON *k = cJSON_GetObjectItemCaseSensitive(f, "kind");
      n += cJSON_IsString(k) && strcmp(k->valuestring, kind) == 0;
   }
   return n;
}

static const cJSON *frame_at(const cJSON *res, int i)
{
   return cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(res, "frames"), i);
}

/* Every finding carries a basis, advice, a confidence in [0,1] and a region;
 * every frame carries the quality score within 0..100. */
static void check_well_formed(const cJSON *res)
{
   const cJSON *fr;
   cJSON_ArrayForEach(fr, cJSON_GetObjectItemCaseSensitive(res, "frames")) {
      const cJSON *f, *m;
      cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(fr, "findings")) {
         const cJSON *basis = cJSON_GetObjectItemCaseSensitive(f, "basis");
         const cJSON *conf = cJSON_GetObjectItemCaseSensitive(f, "confidence");
         assert_true(cJSON_IsString(basis) && strlen(basis->valuestring) > 20);
         assert_true(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(f, "advice")));
         assert_true(conf->valuedouble >= 0 && conf->valuedouble <= 1);
      }
      int quality = 0;
      cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(fr, "measurements")) {
         const cJSON *name = cJSON_GetObjectItemCaseSensitive(m, "name");
         if (strcmp(name->valuestring, "frame_quality") == 0) {
            double v = cJSON_GetObjectItemCaseSensitive(m, "value")->valuedouble;
            assert_true(v >= 0 && v <= 100);
            quality = 1;
         }
      }
      assert_true(quality);
   }
}

static void test_gain_low(void **state)
{
   (void)state;
   cJSON *res = run_preset("artefact-gain-low");
   check_well_formed(res);
   assert_int_equal(count_kind(frame_at(res, 0), "gain_low"), 1);
   assert_int_equal(count_kind(frame_at(res, 0), "gain_high"), 0);
   cJSON_Delete(res);
}

static void test_gain_normal(void **state)
{
   (void)state;
   cJSON *res = run_preset("clean-cheek");
   check_well_formed(res);
   assert_int_equal(count_kind(frame_at(res, 0), "gain_low"), 0);
   assert_int_equal(count_kind(frame_at(res, 0), "gain_high"), 0);
   cJSON_Delete(res);
}

/* Flash on frames 3-4 only: confirmed there, absent before. */
static void test_flash_frames(void **state)
{
   (void)state;
   cJSON *res = run_preset("artefact-flash");
   check_well_formed(res);
   assert_int_equal(count_kind(frame_at(res, 0), "colour_flash"), 0);
   assert_int_equal(count_kind(frame_at(res, 3), "colour_flash"), 1);
   assert_int_equal(count_kind(frame_at(res, 4), "colour_flash"), 1);
   cJSON_Delete(res);
}

static void test_reverberation(void **state)
{
   (void)state;
   cJSON *res = run_preset("artefact-reverberation");
   check_well_formed(res);
   assert_true(count_kind(frame_at(res, 0), "reverberation") >= 1);
   cJSON_Delete(res);
}

/* x range (m) of the first finding of `kind` in the frame; 0 when none. */
/* Lateral extent and top of finding f's region (m). */
static void region_box(const cJSON *f, double *x0, double *x1, double *z0)
{
   const cJSON *p;
   *x0 = 1, *x1 = -1, *z0 = 1;
   cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(f, "region_m")) {
      double x = cJSON_GetArrayItem(p, 0)->valuedouble, z = cJSON_GetArrayItem(p, 1)->valuedouble;
      *x0 = x < *x0 ? x : *x0;
      *x1 = x > *x1 ? x : *x1;
      *z0 = z < *z0 ? z : *z0;
   }
}

static int is_kind(const cJSON *f, const char *kind)
{
   const cJSON *k = cJSON_GetObjectItemCaseSensitive(f, "kind");
   return cJSON_IsString(k) && strcmp(k->valuestring, kind) == 0;
}

static int finding_x_range(const cJSON *frame, const char *kind, double *x0, double *x1, double *z0)
{
   const cJSON *f;
   cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(frame, "findings")) {
      if (!is_kind(f, kind))
         continue;
      region_box(f, x0, x1, z0);
      return 1;
   }
   return 0;
}

/* A small PCL deposit (case 17 of training batch seed 501: about 1 x 1.3 mm)
 * holds too few particles for a dense field of tails, but their tails are
 * narrow columns under the foci: three such tails linked make the finding,
 * over the deposit. */
static void test_comet_small_deposit(void **state)
{
   (void)state;
   sono_sim_case_t c;
   sono_sim_batch_case(&c, 501, 17);
   assert_int_equal((int)c.deposit_count, 1);
   assert_int_equal((int)c.deposits[0].filler, (int)SONO_SIM_PCL);
   c.frames = 1;
   cJSON *res = run_case(&c, "comet-small-deposit");
   check_well_formed(res);
   double x0 = 0, x1 = 0, z0 = 0, xd = c.deposits[0].x_m, hw = c.deposits[0].half_width_m;
   assert_true(finding_x_range(frame_at(res, 0), "comet_tail", &x0, &x1, &z0));
   assert_true(x0 < xd + hw && x1 > xd - hw);
   cJSON_Delete(res);
}

/* Batch seed 502 case 3: a PMMA cast along an oblique angular artery
 * (x -2.2..3.5 mm, sloping from 4 to 7 mm deep). The far wall of the
 * perfused artery upstream (x < -2.2 mm, under the anechoic lumen) rings
 * like a focus; those wall foci are not particles and do not stretch the
 * field along the artery. The cast's deep end (x 2.2..4 mm), a few tails
 * linked among themselves, belongs to the field. */
static void test_comet_oblique_cast(void **state)
{
   (void)state;
   sono_sim_case_t c;
   sono_sim_batch_case(&c, 502, 3);
   assert_int_equal((int)c.deposits[0].filler, (int)SONO_SIM_PMMA);
   c.frames = 1;
   cJSON *res = run_case(&c, "comet-oblique-cast");
   check_well_formed(res);
   assert_int_equal(count_kind(frame_at(res, 0), "comet_tail"), 1);
   double x0 = 0, x1 = 0, z0 = 0;
   assert_true(finding_x_range(frame_at(res, 0), "comet_tail", &x0, &x1, &z0));
   assert_true(x0 > -2.7e-3);
   assert_true(x1 > 3.0e-3);
   cJSON_Delete(res);
}

/* Batch seed 503 case 5: a PMMA cast in the facial artery by the mandible
 * (x -2.2..0.5 mm, 7.2-8.9 mm deep, in an image 9.6 mm deep): many of its
 * rows lie 8-12 dB under the frame's median (the lumen and the dark rows
 * deep down), so against the row median its hypoechoic matrix read up to
 * 10 dB brighter than the tissue and the field was lost. Against the
 * frame's median there the field is found over the cast. */
static void test_comet_deep_cast(void **state)
{
   (void)state;
   cJSON *res = run_batch_case(503, 5);
   double x0 = 0, x1 = 0, z0 = 0;
   assert_true(finding_x_range(frame_at(res, 0), "comet_tail", &x0, &x1, &z0));
   assert_true(x0 < 0.0 && x1 > -2.0e-3 && z0 > 6.5e-3);
   cJSON_Delete(res);
}

/* A plate whose copies fade by 6 dB each (amplitude x0.5): only two copies
 * stand above the speckle on single columns; the plate's columns averaged
 * show them, and the region covers the plate's columns. */
static void test_reverberation_fast_fading(void **state)
{
   (void)state;
   sono_sim_case_t c;
   sono_error_t err;
   assert_int_equal(sono_sim_case_preset(&c, "artefact-reverberation", 3, &err), 0);
   assert_int_equal((int)c.artefact_count, 1);
   c.artefacts[0].decay = 0.5;
   c.artefacts[0].lag_m = 0.45e-3;
   cJSON *res = run_case(&c, "reverberation-fast-fading");
   check_well_formed(res);
   double x0 = 0, x1 = 0, z0 = 0, xa = c.artefacts[0].x_m - 0.5 * c.artefacts[0].width_m;
   double xb = c.artefacts[0].x_m + 0.5 * c.artefacts[0].width_m;
   for (int i = 0; i < (int)c.frames; ++i) {
      assert_true(finding_x_range(frame_at(res, i), "reverberation", &x0, &x1, &z0));
      assert_true(x0 < xa + 0.3e-3 && x1 > xb - 0.3e-3);
      assert_true(fabs(z0 - c.artefacts[0].z_m) < 0.2e-3);
   }
   cJSON_Delete(res);
}


/* The preset's reflector spans x -0.25..1.25 mm at 3 mm depth. */
static void test_shadow(void **state)
{
   (void)state;
   cJSON *res = run_preset("artefact-shadow");
   check_well_formed(res);
   double x0, x1, z0;
   assert_true(finding_x_range(frame_at(res, 0), "acoustic_shadow", &x0, &x1, &z0));
   assert_true(x0 > -0.6e-3 && x1 < 1.6e-3 && x1 - x0 > 0.8e-3);
   assert_true(z0 > 2.7e-3 && z0 < 3.5e-3);
   cJSON_Delete(res);
}

/* Frontal bone at about 8 mm: a full-width shadow deep to it. */
static void test_bone_shadow(void **state)
{
   (void)state;
   cJSON *res = run_preset("clean-forehead");
   double x0, x1, z0;
   assert_true(finding_x_range(frame_at(res, 0), "acoustic_shadow", &x0, &x1, &z0));
   assert_true(x1 - x0 > 10e-3);
   assert_true(z0 > 7.5e-3 && z0 < 8.6e-3);
   cJSON_Delete(res);
}

/* Undiluted CaHA 5 mm wide (x -2.5..2.4 mm): its shadow sets in under a
 * speckle-broken onset in some columns; one shadow spans the deposit. */
static void test_caha_shadow_whole(void **state)
{
   (void)state;
   cJSON *res = run_preset("filler-caha");
   double x0, x1, z0;
   assert_int_equal(count_kind(frame_at(res, 0), "acoustic_shadow"), 1);
   assert_true(finding_x_range(frame_at(res, 0), "acoustic_shadow", &x0, &x1, &z0));
   assert_true(x1 - x0 > 4.0e-3);
   cJSON_Delete(res);
}

/* CaHA inside the facial artery (x -1.6..1.6 mm): the lumen under the
 * deposit breaks the dark path to the shadow; the shadow still spans the
 * deposit, and the dark lumen is no echo-filled (reverberant) gap. */
static void test_shadow_through_lumen(void **state)
{
   (void)state;
   cJSON *res = run_preset("intraluminal-caha");
   double x0, x1, z0;
   assert_true(finding_x_range(frame_at(res, 0), "acoustic_shadow", &x0, &x1, &z0));
   assert_true(x1 - x0 > 2.5e-3);
   assert_int_equal(count_kind(frame_at(res, 0), "reverberation"), 0);
   cJSON_Delete(res);
}

/* Batch seed 521 case 11: a deposit (x -4.3..1.8 mm, 5-6.5 mm deep) over a
 * bone line at 8.3-8.4 mm; the deposit's shadow hides the line over half
 * the width (there the column is dark from the bottom up to the deposit,
 * and in some columns the deposit's lower edge passed for the line). The
 * line seen on both sides runs on under that shadow: the bone's shadow is
 * reported across the frame from the line to the bottom (it was missed,
 * the line being seen over less than 60% of the width). */
static void test_bone_shadow_under_deposit_shadow(void **state)
{
   (void)state;
   cJSON *res = run_batch_case_frames(521, 11, 1);
   const cJSON *f, *p, *frame = frame_at(res, 0);
   int bone = 0;
   cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(frame, "findings")) {
      if (!is_kind(f, "acoustic_shadow"))
         continue;
      double x0 = 1, x1 = -1, z0 = 1;
      cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(f, "region_m")) {
         double x = cJSON_GetArrayItem(p, 0)->valuedouble, z = cJSON_GetArrayItem(p, 1)->valuedouble;
         x0 = x < x0 ? x : x0, x1 = x > x1 ? x : x1, z0 = z < z0 ? z : z0;
      }
      if (x1 - x0 > 12e-3 && z0 > 8.0e-3 && z0 < 8.8e-3)
         ++bone;
   }
   assert_int_equal(bone, 1);
   cJSON_Delete(res);
}

/* Batch seed 593 case 12: a CaHA deposit (x -1.6..3.3 mm, lower edge at
 * 5.5-6.2 mm) over a bone line at about 8.6 mm that undulates, the image
 * 15.9 mm deep. The deposit's shadow runs into the bone shadow, so its
 * region reaches the frame bottom along its whole width, not only where
 * the bone line lies deepest (its lower edge had stayed at 8.1 mm, and
 * the region matched neither the deposit's shadow nor the bone's). */
static void test_deposit_shadow_to_bottom(void **state)
{
   (void)state;
   sono_sim_case_t c;
   sono_sim_batch_case(&c, 593, 12);
   cJSON *res = run_case(&c, "batch-593-12");
   const cJSON *f, *p, *frame = frame_at(res, 0);
   int deposit_shadows = 0;
   cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(frame, "findings")) {
      const cJSON *k = cJSON_GetObjectItemCaseSensitive(f, "kind");
      if (!cJSON_IsString(k) || strcmp(k->valuestring, "acoustic_shadow") != 0)
         continue;
      double x0 = 1, x1 = -1, zmax = 0;
      cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(f, "region_m")) {
         double x = cJSON_GetArrayItem(p, 0)->valuedouble, z = cJSON_GetArrayItem(p, 1)->valuedouble;
         x0 = x < x0 ? x : x0, x1 = x > x1 ? x : x1, zmax = z > zmax ? z : zmax;
      }
      if (x1 - x0 > 8e-3 || x1 < 0 || x0 > 1e-3) /* the bone's own shadow, or another deposit's */
         continue;
      ++deposit_shadows;
      assert_true(zmax > 15e-3);
      /* no point of its lower edge stops between the deposit and the bottom */
      cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(f, "region_m")) {
         double z = cJSON_GetArrayItem(p, 1)->valuedouble;
         assert_false(z > 7.0e-3 && z < zmax - 0.1e-3);
      }
   }
   assert_int_equal(deposit_shadows, 1);
   cJSON_Delete(res);
}

/* Batch seed 501 case 12: a silicone deposit 8.5 mm wide (x -4.2..4.3 mm,
 * lower edge at 6-7.5 mm) in a frame 12.8 mm wide: its own shadow darkens
 * the rows' median below it while the tissue beside it stays lit. That is
 * no dark band deep to bone, so the fading echoes under the deposit are
 * read against the shadow below them and reported as a dirty shadow. */
static void test_dirty_shadow_wide_deposit(void **state)
{
   (void)state;
   sono_sim_case_t c;
   sono_sim_batch_case(&c, 501, 12);
   assert_int_equal((int)c.deposit_count, 1);
   assert_int_equal((int)c.deposits[0].filler, (int)SONO_SIM_SILICONE);
   c.frames = 1;
   cJSON *res = run_case(&c, "batch-501-12");
   check_well_formed(res);
   const cJSON *f;
   int wide = 0;
   cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(frame_at(res, 0), "findings")) {
      double x0, x1, z0;
      region_box(f, &x0, &x1, &z0);
      wide += is_kind(f, "reverberation") && x1 - x0 >= 3e-3 && x0 > -4.5e-3 && x1 < 4.6e-3 && z0 > 5e-3;
   }
   assert_int_equal(wide, 1);
   cJSON_Delete(res);
}

/* Batch seed 501 case 12 again: a shadow cast from above (x -2.4..-0.3 mm)
 * hides the middle of the deposit, which leaves two dirty-shadow stretches
 * 1.9 mm apart. They are one deposit's reverberation, reported once over
 * both (the left stretch alone was a false finding beside the deposit's). */
/* The first frame of batch case `index` of `seed` has one finding of
 * `kind`, reaching left of xl and right of xr (m). */
static void assert_one_spanning(uint64_t seed, uint32_t index, const char *kind, double xl, double xr)
{
   cJSON *res = run_batch_case_frames(seed, index, 1);
   assert_int_equal(count_kind(frame_at(res, 0), kind), 1);
   double x0 = 0, x1 = 0, z0 = 0;
   assert_true(finding_x_range(frame_at(res, 0), kind, &x0, &x1, &z0));
   assert_true(x0 < xl && x1 > xr);
   cJSON_Delete(res);
}

static void test_dirty_shadow_joined_across_shadow(void **state)
{
   (void)state;
   assert_one_spanning(501, 12, "reverberation", -3.5e-3, 3.5e-3);
}

/* Batch seed 501 case 9: a silicone deposit (x -1.4..4.2 mm) whose lower
 * edge lies 7.3 mm deep, 1.2 mm above a bone line whose shadow darkens the
 * rows from 8.5 mm down: no deep band fits between the deposit and that
 * dark band, so its dirty shadow was missed. Read 1 mm below the deposit,
 * inside the dark band, its echoes fade into the display floor beside
 * tissue that is itself at the floor: the deposit's reverberation. */
/* The first frame of batch case `index` of `seed` has a reverberation
 * finding over 2 mm wide within xl..xr, starting deeper than zmin (m). */
static void assert_reverb_within(uint64_t seed, uint32_t index, double xl, double xr, double zmin)
{
   cJSON *res = run_batch_case_frames(seed, index, 1);
   double x0 = 0, x1 = 0, z0 = 0;
   assert_true(finding_x_range(frame_at(res, 0), "reverberation", &x0, &x1, &z0));
   assert_true(x0 > xl && x1 < xr && x1 - x0 > 2e-3 && z0 > zmin);
   cJSON_Delete(res);
}

static void test_dirty_shadow_above_bone(void **state)
{
   (void)state;
   assert_reverb_within(501, 9, -1.5e-3, 4.4e-3, 4.5e-3);
}

/* Batch seed 531, case 11: a PMMA deposit 7.8 mm wide whose foci make two
 * fields of eight tails 1.2 mm apart across (the particles thin out in its
 * middle): one deposit, one comet-tail finding over both (two before, the
 * right one a false finding). */
static void test_comet_fields_joined(void **state)
{
   (void)state;
   assert_one_spanning(531, 11, "comet_tail", -2.5e-3, 3.5e-3);
}

/* Batch seed 597, case 6 (no artefact drawn): the muscle's fibres turn
 * towards 5 deg at the right edge, so its echo falls by 4.4 dB along a
 * 7 mm ramp that runs on into the field's edge; the best plateau-ramp-
 * plateau fit puts the knee 0.5 mm from the edge (outer band aside), so no
 * saturated loss is seen: no anisotropy finding. Case 22 of the same seed
 * keeps its finding: there the dark plateau runs over 1.7 mm. */
static void test_anisotropy_needs_seen_plateau(void **state)
{
   (void)state;
   sono_sim_case_t c;
   sono_sim_batch_case(&c, 597, 6);
   c.frames = 1;
   cJSON *res = run_case(&c, "batch-597-6");
   check_well_formed(res);
   assert_int_equal(count_kind(frame_at(res, 0), "anisotropy"), 0);
   cJSON_Delete(res);
   sono_sim_batch_case(&c, 597, 22);
   c.frames = 1;
   res = run_case(&c, "batch-597-22");
   check_well_formed(res);
   assert_int_equal(count_kind(frame_at(res, 0), "anisotropy"), 1);
   cJSON_Delete(res);
}

/* Batch seed 502 case 12: the muscle's fibres reach the 5 deg at which
 * its loss saturates only 1.5 mm from the right edge (x = 4.9 mm), but the
 * fitted knee of its level profile lies at x = 0.8 mm, where the loss is
 * still within the speckle's swings of the plateau: the region leaves out
 * the third of the fitted plateau next to the knee, so it starts past
 * x = 2.5 mm (it started at 0.8 mm and missed the truth's IoU). */
static void assert_anisotropy_region_from(uint64_t seed, uint32_t index, double min_x0)
{
   cJSON *res = run_batch_case_frames(seed, index, 1);
   double x0 = 0, x1 = 0, z0 = 0;
   assert_int_equal(finding_x_range(frame_at(res, 0), "anisotropy", &x0, &x1, &z0), 1);
   print_message("anisotropy region x %.2f..%.2f mm\n", x0 * 1e3, x1 * 1e3);
   assert_true(x0 > min_x0 && x1 > 6.0e-3);
   cJSON_Delete(res);
}

static void test_anisotropy_region_past_knee(void **state)
{
   (void)state;
   assert_anisotropy_region_from(502, 12, 2.5e-3);
}

/* Batch seed 531 case 1: the muscle's loss saturates at x = 5.1 mm, but a
 * shadow hides the layer over x -1.2..2.8 mm, and the fitted knee lies at
 * the shadow's near side (x = -1.4 mm), where the fit cannot see the ramp:
 * the region starts past the shadow (x > 2.5 mm; it started at 1.1 mm and
 * missed the truth's IoU). */
static void test_anisotropy_region_past_hidden_knee(void **state)
{
   (void)state;
   assert_anisotropy_region_from(531, 1, 2.5e-3);
}

/* Runs frame 0 of a batch case that shows one mirror image and gives that
 * finding's lateral range and top depth; the caller frees the results. */
static cJSON *run_one_mirror(uint64_t seed, uint32_t case_index, double *x0, double *x1, double *z0)
{
   cJSON *res = run_batch_case_frames(seed, case_index, 1);
   assert_int_equal(count_kind(frame_at(res, 0), "mirror_image"), 1);
   assert_int_equal(finding_x_range(frame_at(res, 0), "mirror_image", x0, x1, z0), 1);
   return res;
}

/* Batch seed 503 case 8: an oblique artery mirrored under the bone (x -6.4
 * to 6.4 mm, 11.8-14.7 mm deep), with a deposit's shadow over x 0.5-5.7 mm
 * hiding the bone line and the mirror beneath it: the pieces seen on both
 * sides of the hidden stretch are one mirror image (the right one was a
 * second, false finding). */
static void test_mirror_joined_across_hidden_line(void **state)
{
   (void)state;
   double x0 = 0, x1 = 0, z0 = 0;
   cJSON *res = run_one_mirror(503, 8, &x0, &x1, &z0);
   print_message("mirror region x %.2f..%.2f mm\n", x0 * 1e3, x1 * 1e3);
   assert_true(x0 < -5.0e-3 && x1 > 5.0e-3);
   cJSON_Delete(res);
}

/* Batch seed 583 case 8: an artery 2 mm deep mirrored under a bone line at
 * 8.1 mm; its lumen's phantom lies 13.4-14.5 mm deep between the mirrored
 * walls. Alone, the shallower wall's copy matches its source (NCC 0.76) but
 * the deeper one falls just short (0.60), and the matched wall itself was
 * reported, 0.6 mm too shallow (12.7-13.7 mm); both walls with the lumen
 * between them match at 0.92, so the region is the lumen's phantom. */
static void test_mirror_both_walls_with_lumen(void **state)
{
   (void)state;
   double x0 = 0, x1 = 0, z0 = 0;
   cJSON *res = run_one_mirror(583, 8, &x0, &x1, &z0);
   print_message("mirror region x %.2f..%.2f mm from %.2f mm deep\n", x0 * 1e3, x1 * 1e3, z0 * 1e3);
   assert_true(z0 > 13.2e-3 && z0 < 13.7e-3);
   cJSON_Delete(res);
}

/* Batch seed 550 case 22 (under-gained): an artery mirrored under a bone
 * line at 8.5 mm, the frame deepened to 17.2 mm. The copy's deepest band
 * (16.5 mm) capped the dark run up from the bottom in every column and was
 * taken for the bone line; the true line, found from within the shadow, was
 * 2 columns short of it and was not taken, so the shadow began at 16.4 mm
 * and the mirror was missed. The shallower line across the frame is the
 * bone when the content under it is a mirror image. */
static void test_mirror_band_not_bone_line(void **state)
{
   (void)state;
   double x0 = 0, x1 = 0, z0 = 0;
   cJSON *res = run_one_mirror(550, 22, &x0, &x1, &z0);
   print_message("mirror region from %.2f mm deep\n", z0 * 1e3);
   assert_true(z0 > 14.3e-3 && z0 < 14.9e-3);
   cJSON_Delete(res);
}

/* Batch seed 613 case 39 (no artefact drawn): a striated layer at the
 * bottom of the field falls 3.9 dB towards the right edge, but its stripes
 * at the bright (left) end stand ~29 deg from horizontal: the layer is not
 * bright where its fibres face the beam, so the fall is not anisotropy
 * (true anisotropic layers of the training seeds read within 4 deg there). */
static void test_anisotropy_bright_end_faces_beam(void **state)
{
   (void)state;
   cJSON *res = run_batch_case(613, 39);
   assert_int_equal(count_kind(frame_at(res, 0), "anisotropy"), 0);
   cJSON_Delete(res);
}

/* Batch seed 502 case 33: the muscle's fibres turn to 9 deg at the right
 * edge, but a lumen crosses the layer's last millimetre there, so no stripe
 * is seen at the edge (striation 0.1 dB); a millimetre further in, within
 * the dark plateau, the stripes are seen tilted and the loss is reported. */
static void test_anisotropy_fibre_angle_inside_dark_plateau(void **state)
{
   (void)state;
   cJSON *res = run_batch_case(502, 33);
   assert_int_equal(count_kind(frame_at(res, 0), "anisotropy"), 1);
   cJSON_Delete(res);
}

/* Batch seed 501 case 16: the muscle's fibres turn to 5.8 deg at the right
 * edge, past the 5 deg at which muscle turns anisotropic; its level falls
 * 5.6 dB and stays down over the last 1.7 mm, where its stripes read 7 deg
 * from horizontal (the beam blurs steep stripes towards the horizontal).
 * The fibres count as tilted once past the 6 deg within which they still
 * face the beam at the bright end: the loss is reported. */
static void test_anisotropy_fibres_tilted_past_facing(void **state)
{
   (void)state;
   cJSON *res = run_batch_case_frames(501, 16, 1);
   assert_int_equal(count_kind(frame_at(res, 0), "anisotropy"), 1);
   cJSON_Delete(res);
}

/* Batch seed 505 case 10, normally gained: the frame is deepened to 16.7 mm
 * to show a mirror image under the bone at 8.4 mm, whose shadow fills half
 * of it; the median echo falls to -42 dB re full scale, but the brighter
 * rows' tissue sits at -33 dB (under-gained frames: -52 dB and less): no
 * gain finding. */
static void test_gain_not_low_with_dark_structure(void **state)
{
   (void)state;
   cJSON *res = run_batch_case(505, 10);
   assert_int_equal(count_kind(frame_at(res, 0), "gain_low"), 0);
   cJSON_Delete(res);
}

/* Batch seed 505 case 10: the mirror image of a vessel lies 6 mm under the
 * bone line at 8.4 mm, in a frame deepened to 16.7 mm; its echoes break the
 * dark run up from the frame bottom in every column, so the line is found
 * from within the shadow, confirmed by the mirrored structure under it: the
 * bone's shadow and the mirror image are reported, and the mirror's bright
 * bands are no side-lobe sources. */
static void test_mirror_under_bone_in_deep_frame(void **state)
{
   (void)state;
   cJSON *res = run_batch_case(505, 10);
   assert_true(count_kind(frame_at(res, 0), "mirror_image") >= 1);
   assert_true(count_kind(frame_at(res, 0), "acoustic_shadow") >= 1);
   assert_int_equal(count_kind(frame_at(res, 0), "side_lobe"), 0);
   cJSON_Delete(res);
}

/* Batch seed 613 case 38 (no artefact drawn): an oblique artery runs down
 * to the right edge; under its near wall the lumen stays dark for 2 mm and
 * ends at its far wall 0.2 mm above the frame bottom, tissue-bright there.
 * The dark run does not reach the bottom (echoes return beneath it) and is
 * shorter than three times the shadow depth: no shadow, clean frame. */
static void test_shadow_lumen_ends_above_bottom(void **state)
{
   (void)state;
   cJSON *res = run_batch_case(613, 38);
   assert_int_equal(count_kind(frame_at(res, 0), "acoustic_shadow"), 0);
   assert_int_equal(count_kind(frame_at(res, 0), "reverberation"), 0);
   cJSON_Delete(res);
}

/* Batch seed 501 case 18: a silicone deposit in the skin's bright rows
 * (x -2.3..0.2 mm, 1.3-2.0 mm deep) stands 11 dB over the dermis beside it
 * but well over the frame's tissue level: it is read against the latter,
 * and its fading echoes are a dirty shadow under it. */
static void test_dirty_shadow_in_skin_rows(void **state)
{
   (void)state;
   sono_sim_case_t c;
   sono_sim_batch_case(&c, 501, 18);
   assert_int_equal((int)c.deposits[0].filler, (int)SONO_SIM_SILICONE);
   c.frames = 1;
   cJSON *res = run_case(&c, "batch-501-18");
   check_well_formed(res);
   double x0 = 0, x1 = 0, z0 = 0;
   assert_true(finding_x_range(frame_at(res, 0), "reverberation", &x0, &x1, &z0));
   assert_true(x0 < -1.5e-3 && x1 > -0.5e-3 && z0 > 1.0e-3 && z0 < 2.5e-3);
   cJSON_Delete(res);
}

/* Batch seed 502 case 6: a silicone deposit 3.6 mm wide around the facial
 * artery by the mandible, its lower edge at about 8 mm in an image 10.9 mm
 * deep. The rows 1.5-2.5 mm under it lie at the display floor, and so does
 * the tissue beside them (another shadow beside it, the depth of
 * penetration): no shadow stands under the tissue there, yet the echoes
 * under the deposit fade into that floor. That fade is reported as the
 * deposit's reverberation, under its own columns. */
static void test_dirty_shadow_into_floor(void **state)
{
   (void)state;
   sono_sim_case_t c;
   sono_sim_batch_case(&c, 502, 6);
   assert_int_equal((int)c.deposits[0].filler, (int)SONO_SIM_SILICONE);
   c.frames = 1;
   cJSON *res = run_case(&c, "batch-502-6");
   check_well_formed(res);
   double x0 = 0, x1 = 0, z0 = 0;
   assert_true(finding_x_range(frame_at(res, 0), "reverberation", &x0, &x1, &z0));
   assert_true(x0 < -1.0e-3 && x1 > 1.0e-3 && z0 > 6.5e-3 && z0 < 8.5e-3);
   cJSON_Delete(res);
}

/* Diluted CaHA deposits (+5 dB matrix, dense foci, -6 dB partial shadow)
 * whose bright band of foci is followed by echoes fading into their partial
 * shadow: batch seed 504 case 17 (5.5 dB under the tissue beside it, 4 dB
 * over the display floor) and 506 case 26 (9 dB under it, 6.7 dB over the
 * floor). Neither is the full shadow of silicone oil, so no dirty-shadow
 * reverberation. */
static void test_partial_shadow_no_dirty_reverb(void **state)
{
   (void)state;
   const struct {
      uint64_t seed;
      uint32_t index;
   } cases[] = {{504, 17}, {506, 26}};
   for (size_t i = 0; i < sizeof cases / sizeof cases[0]; ++i) {
      sono_sim_case_t c;
      char name[64];
      sono_sim_batch_case(&c, cases[i].seed, cases[i].index);
      assert_int_equal((int)c.deposits[0].filler, (int)SONO_SIM_CAHA_DILUTED);
      c.frames = 1;
      snprintf(name, sizeof name, "batch-%llu-%u", (unsigned long long)cases[i].seed, cases[i].index);
      cJSON *res = run_case(&c, name);
      check_well_formed(res);
      assert_int_equal(count_kind(frame_at(res, 0), "reverberation"), 0);
      cJSON_Delete(res);
   }
}

/* The acoustic_shadow finding of frame 0 whose region's lateral middle lies
 * within [xa, xb]: 1 and its box (lateral range, top, deepest point) when
 * there is exactly one, else 0. */
static int one_shadow_within(const cJSON *res, double xa, double xb, double *x0, double *x1, double *z0,
                             double *zmax)
{
   const cJSON *f, *p;
   int n = 0;
   cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(frame_at(res, 0), "findings")) {
      double l, r, t, d = 0;
      if (!is_kind(f, "acoustic_shadow"))
         continue;
      region_box(f, &l, &r, &t);
      if (0.5 * (l + r) < xa || 0.5 * (l + r) > xb)
         continue;
      cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(f, "region_m")) {
         double z = cJSON_GetArrayItem(p, 1)->valuedouble;
         d = z > d ? z : d;
      }
      *x0 = l, *x1 = r, *z0 = t, *zmax = d;
      ++n;
   }
   return n == 1;
}

/* Batch seed 502 case 24: a silicone deposit (x -5.6..-0.8 mm, lower edge
 * at 4.1-4.8 mm) over a frame 9.6 mm deep. Its reverberant echoes fade into
 * a shadow that the column rule breaks up at the deposit's foci; the
 * deposit's reverberation gives the shadow: one dirty shadow as wide as the
 * deposit, from its lower edge to the bottom of the image. */
static void test_silicone_dirty_shadow(void **state)
{
   (void)state;
   sono_sim_case_t c;
   sono_sim_batch_case(&c, 502, 24);
   assert_int_equal((int)c.deposits[0].filler, (int)SONO_SIM_SILICONE);
   c.frames = 1;
   cJSON *res = run_case(&c, "batch-502-24");
   check_well_formed(res);
   double x0, x1, z0, zmax;
   assert_true(one_shadow_within(res, -6.4e-3, 0.0, &x0, &x1, &z0, &zmax));
   assert_true(x0 < -5.0e-3 && x1 > -1.3e-3 && z0 > 3.8e-3 && z0 < 5.0e-3 && zmax > 9.5e-3);
   cJSON_Delete(res);
}

/* Batch seed 501 case 37: a CaHA deposit (x -2.5..0.9 mm, lower edge at
 * 4.7-5.5 mm) over a lumen crossing the whole frame at 7-9 mm, whose rows
 * sit at the display floor: the shadow runs on through that band to the
 * bottom of the image (it had stopped at the lumen, 1.6 mm under the
 * deposit, short of the 3 mm asked of a shadow that does not reach it). */
static void test_shadow_through_anechoic_band(void **state)
{
   (void)state;
   cJSON *res = run_batch_case(501, 37);
   double x0, x1, z0, zmax;
   assert_true(one_shadow_within(res, -3.0e-3, 1.5e-3, &x0, &x1, &z0, &zmax));
   assert_true(x0 < -2.0e-3 && x1 > 0.5e-3 && zmax > 9.5e-3);
   cJSON_Delete(res);
}

/* Batch seed 501 case 21: diluted CaHA (x -1.9..-0.5 mm, lower edge at
 * 4.3-4.7 mm; -6 dB posterior) with an oblique lumen under it: the column
 * sits 3-7 dB under its rows down to the bone line, speckle crossing the
 * 6 dB shadow drop all the way, so no dark run is sustained; its mean in
 * both halves of the band lies 3 dB and more under the rows: a partial
 * shadow to the bottom of the image. */
static void test_partial_shadow(void **state)
{
   (void)state;
   cJSON *res = run_batch_case(501, 21);
   double x0, x1, z0, zmax;
   assert_true(one_shadow_within(res, -2.5e-3, -0.2e-3, &x0, &x1, &z0, &zmax));
   assert_true(x0 < -1.5e-3 && x1 > -0.8e-3 && z0 < 5.0e-3 && zmax > 9.5e-3);
   cJSON_Delete(res);
}

/* Batch seed 590 case 15: a side-lobe reflector 0.4 mm wide at 5.3 mm in
 * rows whose tissue sits 22 dB up a 40 dB display: the reflector clips at
 * the top of the range, 18 dB over its row, short of the 20 dB asked of an
 * unclipped one. Clipped along its width, it is the lobes' source, and the
 * band of its right lobe (at 35 deg, 3.7 mm aside) is reported. */
static void test_side_lobe_clipped_reflector(void **state)
{
   (void)state;
   sono_sim_case_t c;
   sono_sim_batch_case(&c, 590, 15);
   const sono_sim_artefact_t *lobe = NULL;
   for (uint32_t k = 0; k < c.artefact_count; ++k)
      lobe = c.artefacts[k].kind == SONO_SIM_ART_SIDE_LOBE ? &c.artefacts[k] : lobe;
   assert_non_null(lobe);
   double xc = lobe->x_m + lobe->z_m * tan(lobe->lobe_angle_rad);
   c.frames = 1;
   cJSON *res = run_case(&c, "batch-590-15");
   check_well_formed(res);
   const cJSON *f;
   int right = 0;
   cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(frame_at(res, 0), "findings")) {
      double x0, x1, z0;
      region_box(f, &x0, &x1, &z0);
      right += is_kind(f, "side_lobe") && x0 < xc && x1 > xc;
   }
   assert_int_equal(right, 1);
   cJSON_Delete(res);
}

/* Batch seed 503 case 4: a perivascular PCL deposit whose brightest focus
 * (x 1.5 mm, 4.75 mm deep, 0.15 mm wide, 26 dB over its row) stands alone
 * within 1 mm. It is a particle ringing (a comet tail of 2 copies under it),
 * not a specular segment: no side-lobe zone is drawn from it (the case has
 * no side-lobe reflector). */
static void test_side_lobe_not_from_comet_focus(void **state)
{
   (void)state;
   sono_sim_case_t c;
   sono_sim_batch_case(&c, 503, 4);
   assert_int_equal((int)c.deposits[0].filler, (int)SONO_SIM_PCL);
   for (uint32_t k = 0; k < c.artefact_count; ++k)
      assert_int_not_equal((int)c.artefacts[k].kind, (int)SONO_SIM_ART_SIDE_LOBE);
   c.frames = 1;
   cJSON *res = run_case(&c, "batch-503-4");
   check_well_formed(res);
   assert_int_equal(count_kind(frame_at(res, 0), "side_lobe"), 0);
   cJSON_Delete(res);
}

static void test_colour_noise(void **state)
{
   (void)state;
   cJSON *res = run_preset("artefact-colour-noise");
   check_well_formed(res);
   assert_int_equal(count_kind(frame_at(res, 1), "colour_noise"), 1);
   cJSON_Delete(res);
}

/* No artefact on the first frame of a clean scan (no B-mode or colour kind). */
/* Blooming of a small facial branch (lateral nasal artery, 0.7 mm lumen;
 * phantom batch seed 596, case 25): its colour passes the walls by no more
 * than a clean vessel's blur, but lies over the tissue beside the lumen. */
static void test_blooming_small_vessel(void **state)
{
   (void)state;
   cJSON *res = run_batch_case(596, 25);
   int frames = 0;
   for (int i = 0; i < 5; ++i)
      frames += count_kind(frame_at(res, i), "colour_blooming") == 1;
   assert_true(frames >= 3);
   cJSON_Delete(res);
}

/* A clean small vessel (0.68 mm lumen; phantom batch seed 597, case 36)
 * whose colour lies over tissue on one side of its traced lumen only: not
 * blooming, which spills past both walls. */
static void test_small_vessel_one_sided_spill(void **state)
{
   (void)state;
   cJSON *res = run_batch_case(597, 36);
   for (int i = 0; i < 5; ++i)
      assert_int_equal(count_kind(frame_at(res, i), "colour_blooming"), 0);
   cJSON_Delete(res);
}

/* A superficial vessel under a low velocity scale whose colour is a mosaic
 * of mostly slow flow with scattered opposite pixels (phantom batch seed
 * 502, case 17, frame 3: its flow stays under the scale there): not a
 * wrap, so no aliasing finding. */
static void test_slow_mosaic_not_aliasing(void **state)
{
   (void)state;
   cJSON *res = run_batch_case(502, 17);
   assert_int_equal(count_kind(frame_at(res, 3), "colour_aliasing"), 0);
   cJSON_Delete(res);
}

/* Lateral extent (mm) of the first finding of `kind` in a frame, and its
 * basis; 0 when the frame has none. */
static double finding_width_mm(const cJSON *frame, const char *kind, const char **basis)
{
   const cJSON *f;
   cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(frame, "findings")) {
      double lo, hi, top;
      if (!is_kind(f, kind))
         continue;
      region_box(f, &lo, &hi, &top);
      *basis = cJSON_GetObjectItemCaseSensitive(f, "basis")->valuestring;
      return hi > lo ? (hi - lo) * 1e3 : 0;
   }
   return 0;
}

/* Batch seed 501 case 15: the muscle's fibres turn to 9 deg at the right
 * edge, and the phantom's stripes there stand about 17 deg from horizontal
 * (each stripe follows x tan(angle(x)), twice the angle's slope). The
 * anisotropy finding's basis reports the fibre angle at the dark end as
 * measured, past the 12 deg where the slope search used to stop. */
static void test_anisotropy_fibre_angle_measured(void **state)
{
   (void)state;
   sono_sim_case_t c;
   sono_sim_batch_case(&c, 501, 15);
   c.frames = 1;
   cJSON *res = run_case(&c, "batch-501-15");
   check_well_formed(res);
   const char *basis = "";
   assert_true(finding_width_mm(frame_at(res, 0), "anisotropy", &basis) > 0);
   const char *at = strstr(basis, "striation ");
   assert_non_null(at);
   int dark = (int)strtol(at + strlen("striation "), NULL, 10);
   print_message("anisotropy basis: %s\n", basis);
   assert_true(dark >= 14 && dark <= 22);
   cJSON_Delete(res);
}

/* A vessel whose flow wraps over a stretch that moves along it during
 * systole (phantom batch seed 501, case 18: the truth is the 12.8 mm
 * stretch that wraps in any frame; frame 3 alone wraps over its left
 * 3.7 mm): the region of a frame is the union of the wrapping segments of
 * the cycle so far, and its basis says so. */
static void test_aliasing_over_the_cine(void **state)
{
   (void)state;
   cJSON *res = run_batch_case(501, 18);
   const char *basis = "";
   double width = finding_width_mm(frame_at(res, 3), "colour_aliasing", &basis);
   assert_true(width >= 8.0);
   assert_non_null(strstr(basis, "wrap seen in"));
   cJSON_Delete(res);
}

/* A curved vessel whose flow passes the scale only at both ends of the
 * frame, where it runs steepest to the beam (phantom batch seed 502, case
 * 31, frame 1: the truth is two stretches 7.8 mm apart, x -6.5..-5.3 mm
 * and 5.0..6.3 mm): each wrapping stretch is its own finding, one region
 * over both matched neither. */
static void test_aliasing_stretches_apart(void **state)
{
   (void)state;
   cJSON *res = run_batch_case(502, 31);
   const cJSON *f;
   int left = 0, right = 0;
   cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(frame_at(res, 1), "findings")) {
      double lo, hi, top;
      if (!is_kind(f, "colour_aliasing"))
         continue;
      region_box(f, &lo, &hi, &top);
      left += hi < 0.0;
      right += lo > 3e-3;
   }
   assert_int_equal(left, 1);
   assert_int_equal(right, 1);
   cJSON_Delete(res);
}

/* A superficial artery running 3 degrees from perpendicular to the beam
 * (phantom batch seed 502, case 30, axis slope 0.052): its colour is the
 * red-blue mosaic of flow crossing the beam in every frame, diastole
 * included, while its flow passes the scale only at systole (frames 1-2):
 * frames 3 and 4 carry no aliasing finding. */
static void test_mosaic_across_beam_not_aliasing(void **state)
{
   (void)state;
   cJSON *res = run_batch_case(502, 30);
   assert_int_equal(count_kind(frame_at(res, 3), "colour_aliasing"), 0);
   assert_int_equal(count_kind(frame_at(res, 4), "colour_aliasing"), 0);
   cJSON_Delete(res);
}

/* A curved artery whose flow passes the scale only at its steep right
 * end (phantom batch seed 616, case 16, frame 1: the truth is x 3.3..6.4
 * mm), while its flatter part, near perpendicular to the beam, shows the
 * mosaic of flow crossing the beam over the whole 12.8 mm: the region
 * keeps the columns whose local axis runs steep enough for a wrap. */
static void test_aliasing_at_the_steep_end(void **state)
{
   (void)state;
   cJSON *res = run_batch_case(616, 16);
   const char *basis = "";
   double width = finding_width_mm(frame_at(res, 1), "colour_aliasing", &basis);
   assert_true(width > 0 && width < 8.0);
   cJSON_Delete(res);
}

/* Two wrapping colour pieces of one vessel 4.6 mm apart across the frame
 * (phantom batch seed 502, case 24, frame 1; the truth is one stretch):
 * one finding. */
static void test_aliasing_across_a_shadow(void **state)
{
   (void)state;
   cJSON *res = run_batch_case(502, 24);
   assert_int_equal(count_kind(frame_at(res, 1), "colour_aliasing"), 1);
   cJSON_Delete(res);
}

/* The last wrapping frame of systole (phantom batch seed 501, case 0,
 * frame 3: the truth wraps in frames 1-3): the flow's peak falls back
 * towards the scale and the opposite-colour core shrinks to 6% of the
 * vessel's colour, under alias_area_fraction, where frame 2 held a core of
 * 39%; the core sits where frame 2's wrap was, so the wrap continues. */
static void test_aliasing_fading_wrap(void **state)
{
   (void)state;
   cJSON *res = run_batch_case(501, 0);
   assert_int_equal(count_kind(frame_at(res, 2), "colour_aliasing"), 1);
   assert_int_equal(count_kind(frame_at(res, 3), "colour_aliasing"), 1);
   cJSON_Delete(res);
}

/* Phantom batch seed 590 case 37: a colour flash in frames 2-3 hides the
 * flow of a vessel whose colour wrapped on frame 1; the wrap is held
 * through the flash. */
static void test_aliasing_held_through_flash(void **state)
{
   (void)state;
   cJSON *res = run_batch_case(590, 37);
   assert_int_equal(count_kind(frame_at(res, 1), "colour_aliasing"), 1);
   assert_int_equal(count_kind(frame_at(res, 2), "colour_flash"), 1);
   assert_int_equal(count_kind(frame_at(res, 2), "colour_aliasing"), 1);
   cJSON_Delete(res);
}

/* Phantom batch seed 501 case 37: a vessel wrapping over the whole clip
 * opens (frame 0) with an opposite-colour core of 8.5% of its colour,
 * under alias_area_fraction, at its left end; with no frame before it,
 * the core is read as a wrap over the columns whose flow runs at the
 * scale (the truth: x -6.5..4.1 mm), and the wrap is then held through
 * the flash of frames 1-2. */
static void test_aliasing_opening_the_cine(void **state)
{
   (void)state;
   cJSON *res = run_batch_case(501, 37);
   const char *basis;
   assert_int_equal(count_kind(frame_at(res, 0), "colour_aliasing"), 1);
   assert_true(finding_width_mm(frame_at(res, 0), "colour_aliasing", &basis) > 8.0);
   assert_int_equal(count_kind(frame_at(res, 1), "colour_flash"), 1);
   assert_int_equal(count_kind(frame_at(res, 1), "colour_aliasing"), 1);
   assert_int_equal(count_kind(frame_at(res, 2), "colour_aliasing"), 1);
   cJSON_Delete(res);
}

/* Phantom batch seed 570 case 12, frame 1 (the only wrapping frame: the
 * truth is x -6.5..-1.0 mm): a short arterial segment at the left of the
 * frame wraps a core of 39% of its colour, but its colour at VN / 2 or
 * faster fills 0.43 of the wrapping columns, the rest being the slow blur
 * past the walls of a small lumen; a wrap all the same. */
static void test_aliasing_small_vessel_wrap(void **state)
{
   (void)state;
   cJSON *res = run_batch_case_frames(570, 12, 2);
   const char *basis;
   assert_int_equal(count_kind(frame_at(res, 0), "colour_aliasing"), 0);
   assert_int_equal(count_kind(frame_at(res, 1), "colour_aliasing"), 1);
   assert_true(finding_width_mm(frame_at(res, 1), "colour_aliasing", &basis) > 2.0);
   cJSON_Delete(res);
}

/* Phantom batch seed 503 case 15, frame 1 (the truth is x 3.2..6.3 mm): a
 * curved artery running across the whole frame passes the scale only at
 * its steep right end; its opposite-colour core is 9% of the vessel's
 * colour (under alias_area_fraction, and no wrap on frame 0 for it to
 * continue), but 46% of the colour at the top of the scale over the
 * 2.7 mm that wrap: a wrap. */
static void test_aliasing_core_at_the_steep_end(void **state)
{
   (void)state;
   cJSON *res = run_batch_case_frames(503, 15, 2);
   const char *basis;
   assert_int_equal(count_kind(frame_at(res, 0), "colour_aliasing"), 0);
   assert_int_equal(count_kind(frame_at(res, 1), "colour_aliasing"), 1);
   double width = finding_width_mm(frame_at(res, 1), "colour_aliasing", &basis);
   assert_true(width > 2.0 && width < 6.0);
   cJSON_Delete(res);
}

/* Phantom batch seed 502 case 20: the twinkling column under a PMMA cast
 * (x 1.7-2.2 mm, 5.2-6.7 mm deep) is a colour region of its own on frame
 * 0; the vessel's systolic colour joins it on frames 1-3 and a flash
 * covers it from frame 4 (the test runs the case's first 5 frames).
 * Measured in place, it still twinkles. */
static void test_twinkling_held_in_place(void **state)
{
   (void)state;
   cJSON *res = run_batch_case(502, 20);
   assert_int_equal(count_kind(frame_at(res, 4), "colour_flash"), 1);
   for (int i = 0; i < 5; ++i)
      assert_int_equal(count_kind(frame_at(res, i), "twinkling"), 1);
   cJSON_Delete(res);
}

/* Phantom batch seed 503 case 35: the twinkling column under a PMMA cast
 * changes sign on 11% of its lateral pairs on frame 3 (22-66% on the
 * frames around it): its ~10 A-lines make a coarse estimate, and the
 * column that twinkled on frame 2 is read over both frames. */
static void test_twinkling_flips_over_two_frames(void **state)
{
   (void)state;
   cJSON *res = run_batch_case(503, 35);
   for (int i = 0; i < 5; ++i)
      assert_int_equal(count_kind(frame_at(res, i), "twinkling"), 1);
   cJSON_Delete(res);
}

static void test_clean_cheek(void **state)
{
   (void)state;
   cJSON *res = run_preset("clean-cheek");
   static const char *const kinds[] = {"acoustic_shadow", "reverberation", "comet_tail", "anisotropy",
                                       "colour_noise",    "colour_flash",  "colour_blooming", "gain_high", "gain_low"};
   for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; ++i)
      assert_int_equal(count_kind(frame_at(res, 0), kinds[i]), 0);
   cJSON_Delete(res);
}

/* Posterior enhancement under a fresh-HA deposit, on the first frame of
 * batch seed `seed` case `index`, spans the deposit's columns. */
static void check_enhancement_under_deposit(uint64_t seed, uint32_t index)
{
   sono_sim_case_t c;
   sono_sim_batch_case(&c, seed, index);
   assert_int_equal((int)c.deposits[0].filler, (int)SONO_SIM_HA_FRESH);
   double xd = c.deposits[0].x_m, hw = c.deposits[0].half_width_m;
   cJSON *res = run_batch_case_frames(seed, index, 1);
   double x0 = 0, x1 = 0, z0 = 0;
   assert_true(finding_x_range(frame_at(res, 0), "posterior_enhancement", &x0, &x1, &z0));
   assert_true(x0 < xd && x1 > xd && x1 - x0 > hw);
   cJSON_Delete(res);
}

/* Batch seed 507 case 12: a fresh-HA deposit 1.1 mm wide beside a vessel;
 * its blurred edge and enhanced column reach past the anechoic region, and
 * tissue read 0.25 mm beside that region took in part of the column (rise
 * 1.95 dB against 2 dB); read from enhancement_flank_m (0.5 mm) beside it,
 * 2.1 dB. */
static void test_enhancement_narrow_deposit(void **state)
{
   (void)state;
   check_enhancement_under_deposit(507, 12);
}

/* Batch seed 508 case 35: a fresh-HA deposit 4.8 mm wide whose lower edge
 * lies 1 mm above the bottom of the image: the 0.75 mm band left under it
 * (at least enhancement_min_band_m) stands 3.4 dB over the tissue beside. */
static void test_enhancement_near_image_bottom(void **state)
{
   (void)state;
   check_enhancement_under_deposit(508, 35);
}

int main(int argc, char **argv)
{
   if (argc < 3) {
      fprintf(stderr, "usage: test_artefacts PLUGIN_DIR WORK_DIR\n");
      return 2;
   }
   plugin_dir = argv[1];
   work_dir = argv[2];
   if (argc > 3)
      cmocka_set_test_filter(argv[3]);
   const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_gain_low),
      cmocka_unit_test(test_gain_normal),
      cmocka_unit_test(test_flash_frames),
      cmocka_unit_test(test_reverberation),
      cmocka_unit_test(test_reverberation_fast_fading),
      cmocka_unit_test(test_comet_small_deposit),
      cmocka_unit_test(test_comet_oblique_cast),
      cmocka_unit_test(test_comet_deep_cast),
      cmocka_unit_test(test_shadow),
      cmocka_unit_test(test_bone_shadow),
      cmocka_unit_test(test_caha_shadow_whole),
      cmocka_unit_test(test_shadow_through_lumen),
      cmocka_unit_test(test_deposit_shadow_to_bottom),
      cmocka_unit_test(test_bone_shadow_under_deposit_shadow),
      cmocka_unit_test(test_dirty_shadow_wide_deposit),
      cmocka_unit_test(test_anisotropy_needs_seen_plateau),
      cmocka_unit_test(test_anisotropy_bright_end_faces_beam),
      cmocka_unit_test(test_anisotropy_region_past_knee),
      cmocka_unit_test(test_anisotropy_region_past_hidden_knee),
      cmocka_unit_test(test_mirror_joined_across_hidden_line),
      cmocka_unit_test(test_mirror_both_walls_with_lumen),
      cmocka_unit_test(test_mirror_band_not_bone_line),
      cmocka_unit_test(test_anisotropy_fibre_angle_inside_dark_plateau),
      cmocka_unit_test(test_anisotropy_fibres_tilted_past_facing),
      cmocka_unit_test(test_shadow_lumen_ends_above_bottom),
      cmocka_unit_test(test_dirty_shadow_in_skin_rows),
      cmocka_unit_test(test_dirty_shadow_into_floor),
      cmocka_unit_test(test_silicone_dirty_shadow),
      cmocka_unit_test(test_shadow_through_anechoic_band),
      cmocka_unit_test(test_partial_shadow),
      cmocka_unit_test(test_dirty_shadow_joined_across_shadow),
      cmocka_unit_test(test_dirty_shadow_above_bone),
      cmocka_unit_test(test_comet_fields_joined),
      cmocka_unit_test(test_partial_shadow_no_dirty_reverb),
      cmocka_unit_test(test_side_lobe_clipped_reflector),
      cmocka_unit_test(test_side_lobe_not_from_comet_focus),
      cmocka_unit_test(test_colour_noise),
      cmocka_unit_test(test_blooming_small_vessel),
      cmocka_unit_test(test_small_vessel_one_sided_spill),
      cmocka_unit_test(test_slow_mosaic_not_aliasing),
      cmocka_unit_test(test_aliasing_over_the_cine),
      cmocka_unit_test(test_aliasing_stretches_apart),
      cmocka_unit_test(test_mosaic_across_beam_not_aliasing),
      cmocka_unit_test(test_aliasing_at_the_steep_end),
      cmocka_unit_test(test_aliasing_across_a_shadow),
      cmocka_unit_test(test_aliasing_fading_wrap),
      cmocka_unit_test(test_aliasing_held_through_flash),
      cmocka_unit_test(test_aliasing_opening_the_cine),
      cmocka_unit_test(test_aliasing_small_vessel_wrap),
      cmocka_unit_test(test_aliasing_core_at_the_steep_end),
      cmocka_unit_test(test_twinkling_held_in_place),
      cmocka_unit_test(test_twinkling_flips_over_two_frames),
      cmocka_unit_test(test_anisotropy_fibre_angle_measured),
      cmocka_unit_test(test_clean_cheek),
      cmocka_unit_test(test_gain_not_low_with_dark_structure),
      cmocka_unit_test(test_mirror_under_bone_in_deep_frame),
      cmocka_unit_test(test_enhancement_narrow_deposit),
      cmocka_unit_test(test_enhancement_near_image_bottom),
   };
   return cmocka_run_group_tests(tests, NULL, NULL);
}
