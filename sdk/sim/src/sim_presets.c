/* Named scenarios (docs/phantom.md). Each starts from the defaults and adds
 * anatomy of clinical-spec §7.2, deposits of §7.3 and artefacts of §7.4. */
#include <stdio.h>
#include <string.h>

#include "sim_internal.h"

#define MM 1e-3
#define DEG (SIM_PI / 180.0)

static sono_sim_vessel_t vessel(const char *name, double depth_mm, double diam_mm, double psv, double tilt_deg)
{
   sono_sim_vessel_t v;
   memset(&v, 0, sizeof v);
   snprintf(v.name, sizeof v.name, "%s", name);
   v.depth_m = depth_mm * MM;
   v.diameter_m = diam_mm * MM;
   v.psv_m_s = psv;
   v.ri = 0.7;
   v.tilt_rad = tilt_deg * DEG;
   v.sag_m = 0.2 * MM;
   v.direction = 1;
   v.upstream_ri = 1.05;
   v.downstream_mode = SONO_SIM_DOWNSTREAM_DAMPED;
   v.downstream_factor = 0.3;
   return v;
}

static sono_sim_deposit_t deposit(sono_sim_filler_t f, sono_sim_placement_t p, int vessel_index, double x_mm,
                                  double z_mm, double hw_mm, double hd_mm)
{
   sono_sim_deposit_t d;
   memset(&d, 0, sizeof d);
   d.filler = f;
   d.placement = p;
   d.vessel = vessel_index;
   d.x_m = x_mm * MM;
   d.z_m = z_mm * MM;
   d.half_width_m = hw_mm * MM;
   d.half_depth_m = hd_mm * MM;
   d.gap_m = 0.2 * MM;
   d.side = -1;
   return d;
}

static sono_sim_artefact_t artefact(sono_sim_artefact_kind_t k)
{
   sono_sim_artefact_t a;
   memset(&a, 0, sizeof a);
   a.kind = k;
   a.vessel = -1;
   a.deposit = -1;
   return a;
}

static void forehead_layers(sono_sim_case_t *c)
{
   c->layers.dermis_m = 1.5 * MM;
   c->layers.fat_m = 2.0 * MM;
   c->layers.muscle_m = 1.5 * MM;
   c->layers.deep_fat_m = 2.4 * MM;
   c->layers.bone_depth_m = 8.0 * MM;
   c->layers.septa = 3;
}

static int facial_nasolabial(sono_sim_case_t *c)
{
   sono_sim_vessel_t v = vessel("facial artery (nasolabial)", 5.0, 1.4, 0.30, 18);
   return sono_sim_add_vessel(c, &v);
}

/* ---- scenarios -------------------------------------------------------------- */

static void sc_nasolabial_ha_occlusion(sono_sim_case_t *c)
{
   int v = facial_nasolabial(c);
   sono_sim_deposit_t ha = deposit(SONO_SIM_HA_FRESH, SONO_SIM_INTRALUMINAL, v, 0.8, 0, 2.5, 0.7);
   sono_sim_add_deposit(c, &ha);
   sono_sim_deposit_t caha = deposit(SONO_SIM_CAHA, SONO_SIM_PERIVASCULAR, v, -4.6, 0, 0.9, 0.55);
   sono_sim_add_deposit(c, &caha);
   sono_sim_set_prf_for_nyquist(c, (uint32_t)v, 0.5); /* colour aliasing upstream */
}

static void sc_clean_cheek(sono_sim_case_t *c)
{
   int v = facial_nasolabial(c);
   sono_sim_set_prf_for_nyquist(c, (uint32_t)v, 1.3);
}

static void sc_clean_forehead(sono_sim_case_t *c)
{
   forehead_layers(c);
   c->ophthalmic_preset = 1;
   sono_sim_vessel_t v = vessel("supratrochlear artery", 3.3, 0.9, 0.20, 12);
   sono_sim_set_prf_for_nyquist(c, (uint32_t)sono_sim_add_vessel(c, &v), 1.3);
}

static void sc_small_vessel(sono_sim_case_t *c)
{
   forehead_layers(c);
   c->ophthalmic_preset = 1;
   sono_sim_vessel_t v = vessel("supraorbital artery", 3.5, 0.7, 0.12, 12);
   sono_sim_set_prf_for_nyquist(c, (uint32_t)sono_sim_add_vessel(c, &v), 1.3);
}

static void sc_high_scale(sono_sim_case_t *c)
{
   facial_nasolabial(c);
   c->prf_hz = 30000.0; /* axial Nyquist 0.64 m/s > 2 x PSV */
}

static void facial_mandible(sono_sim_case_t *c, double ratio)
{
   sono_sim_vessel_t v = vessel("facial artery (mandible)", 7.0, 1.8, 0.55, 15);
   sono_sim_set_prf_for_nyquist(c, (uint32_t)sono_sim_add_vessel(c, &v), ratio);
}

static void sc_aliasing(sono_sim_case_t *c) { facial_mandible(c, 0.5); }
static void sc_no_aliasing(sono_sim_case_t *c) { facial_mandible(c, 1.5); }

static void sc_angular_occlusion(sono_sim_case_t *c)
{
   sono_sim_vessel_t vv = vessel("angular artery", 4.8, 0.7, 0.15, 15);
   int v = sono_sim_add_vessel(c, &vv);
   sono_sim_deposit_t ha = deposit(SONO_SIM_HA_FRESH, SONO_SIM_INTRALUMINAL, v, 0.5, 0, 2.0, 0.4);
   sono_sim_add_deposit(c, &ha);
   sono_sim_set_prf_for_nyquist(c, (uint32_t)v, 1.2);
}

static void sc_intraluminal_caha(sono_sim_case_t *c)
{
   int v = facial_nasolabial(c);
   c->vessels[v].downstream_mode = SONO_SIM_DOWNSTREAM_REVERSED;
   sono_sim_deposit_t d = deposit(SONO_SIM_CAHA, SONO_SIM_INTRALUMINAL, v, 0.0, 0, 1.5, 0.7);
   sono_sim_add_deposit(c, &d);
   sono_sim_set_prf_for_nyquist(c, (uint32_t)v, 1.3);
}

static void sc_perivascular_caha(sono_sim_case_t *c)
{
   int v = facial_nasolabial(c);
   sono_sim_deposit_t d = deposit(SONO_SIM_CAHA, SONO_SIM_PERIVASCULAR, v, 0.0, 0, 1.2, 0.6);
   d.side = 1;
   sono_sim_add_deposit(c, &d);
   sono_sim_set_prf_for_nyquist(c, (uint32_t)v, 1.3);
}

static void filler_case(sono_sim_case_t *c, sono_sim_filler_t f)
{
   c->frames = 4;
   sono_sim_deposit_t d = deposit(f, SONO_SIM_TISSUE, -1, 0.0, 4.0, 2.5, 1.2);
   if (f == SONO_SIM_HA_FRESH) { /* subdermal HA forms anechoic "pearls" (F4) */
      d.pearls = 4;
      d.half_depth_m = 0.6 * MM;
      d.z_m = 3.0 * MM;
   }
   if (f == SONO_SIM_PLLA)
      d.age_months = 1.0;
   sono_sim_add_deposit(c, &d);
}

static void sc_ha_fresh(sono_sim_case_t *c) { filler_case(c, SONO_SIM_HA_FRESH); }
static void sc_ha_integrated(sono_sim_case_t *c) { filler_case(c, SONO_SIM_HA_INTEGRATED); }
static void sc_caha(sono_sim_case_t *c) { filler_case(c, SONO_SIM_CAHA); }
static void sc_caha_diluted(sono_sim_case_t *c) { filler_case(c, SONO_SIM_CAHA_DILUTED); }
static void sc_pmma(sono_sim_case_t *c) { filler_case(c, SONO_SIM_PMMA); }
static void sc_silicone(sono_sim_case_t *c) { filler_case(c, SONO_SIM_SILICONE); }
static void sc_plla(sono_sim_case_t *c) { filler_case(c, SONO_SIM_PLLA); }
static void sc_pcl(sono_sim_case_t *c) { filler_case(c, SONO_SIM_PCL); }
static void sc_collagen(sono_sim_case_t *c) { filler_case(c, SONO_SIM_COLLAGEN); }
static void sc_paag(sono_sim_case_t *c) { filler_case(c, SONO_SIM_PAAG); }

static void sc_shadow(sono_sim_case_t *c)
{
   c->frames = 4;
   sono_sim_artefact_t a = artefact(SONO_SIM_ART_SHADOW);
   a.x_m = 0.5 * MM;
   a.z_m = 3.0 * MM;
   a.width_m = 1.5 * MM;
   sono_sim_add_artefact(c, &a);
}

static void sc_reverberation(sono_sim_case_t *c)
{
   c->frames = 4;
   sono_sim_artefact_t a = artefact(SONO_SIM_ART_REVERBERATION);
   a.x_m = -1.0 * MM;
   a.z_m = 2.5 * MM;
   a.width_m = 3.0 * MM;
   a.lag_m = 0.6 * MM;
   a.decay = 0.6;
   sono_sim_add_artefact(c, &a);
}

static void sc_mirror(sono_sim_case_t *c)
{
   forehead_layers(c);
   c->nz = 560; /* 14 mm: the mirror of a 3.3 mm vessel below bone at 8 mm */
   c->ophthalmic_preset = 1;
   sono_sim_vessel_t v = vessel("supratrochlear artery", 3.3, 1.0, 0.22, 12);
   v.sag_m = 0;
   int vi = sono_sim_add_vessel(c, &v);
   sono_sim_set_prf_for_nyquist(c, (uint32_t)vi, 1.3);
   sono_sim_artefact_t a = artefact(SONO_SIM_ART_MIRROR);
   a.vessel = vi;
   sono_sim_add_artefact(c, &a);
}

static void sc_gain(sono_sim_case_t *c, sono_sim_artefact_kind_t k)
{
   c->frames = 4;
   facial_nasolabial(c);
   sono_sim_set_prf_for_nyquist(c, 0, 1.3);
   sono_sim_artefact_t a = artefact(k);
   sono_sim_add_artefact(c, &a);
}

static void sc_gain_high(sono_sim_case_t *c) { sc_gain(c, SONO_SIM_ART_GAIN_HIGH); }
static void sc_gain_low(sono_sim_case_t *c) { sc_gain(c, SONO_SIM_ART_GAIN_LOW); }

static void sc_near_field(sono_sim_case_t *c)
{
   c->frames = 4;
   c->layers.standoff_m = 1.5 * MM;
   sono_sim_artefact_t a = artefact(SONO_SIM_ART_NEAR_FIELD);
   sono_sim_add_artefact(c, &a);
}

static void sc_blooming(sono_sim_case_t *c)
{
   int v = facial_nasolabial(c);
   sono_sim_set_prf_for_nyquist(c, (uint32_t)v, 1.3);
   sono_sim_artefact_t a = artefact(SONO_SIM_ART_BLOOMING);
   a.vessel = v;
   sono_sim_add_artefact(c, &a);
}

static void sc_flash(sono_sim_case_t *c)
{
   int v = facial_nasolabial(c);
   sono_sim_set_prf_for_nyquist(c, (uint32_t)v, 1.3);
   sono_sim_artefact_t a = artefact(SONO_SIM_ART_FLASH);
   a.fraction = 0.5;
   a.frame0 = 3;
   a.frame1 = 4;
   sono_sim_add_artefact(c, &a);
}

static void sc_twinkling(sono_sim_case_t *c)
{
   c->frames = 4;
   sono_sim_deposit_t d = deposit(SONO_SIM_CAHA, SONO_SIM_TISSUE, -1, 0.0, 3.5, 1.5, 0.6);
   int k = sono_sim_add_deposit(c, &d);
   sono_sim_artefact_t a = artefact(SONO_SIM_ART_TWINKLING);
   a.deposit = k;
   sono_sim_add_artefact(c, &a);
}

static void sc_colour_noise(sono_sim_case_t *c)
{
   c->frames = 4;
   sono_sim_artefact_t a = artefact(SONO_SIM_ART_COLOUR_NOISE);
   sono_sim_add_artefact(c, &a);
}

/* A bright reflector beside a fresh-HA bolus at the same depth: the +x lobe
 * of the scan lines over the bolus reaches the reflector at 32 deg, so its
 * echo appears inside the anechoic bolus as a faint arc, 0.6 mm deeper and
 * 2.2 mm to the side of the reflector. */
static void sc_side_lobe(sono_sim_case_t *c)
{
   c->frames = 4;
   sono_sim_deposit_t d = deposit(SONO_SIM_HA_FRESH, SONO_SIM_TISSUE, -1, -0.3, 4.1, 1.6, 0.9);
   sono_sim_add_deposit(c, &d);
   sono_sim_artefact_t a = artefact(SONO_SIM_ART_SIDE_LOBE);
   a.x_m = -2.5 * MM;
   a.z_m = 3.5 * MM;
   a.width_m = 0.4 * MM;
   a.lobe_db = -30.0;
   a.lobe_angle_rad = 32.0 * DEG;
   sono_sim_add_artefact(c, &a);
}

typedef struct preset {
   const char *name;
   const char *summary;
   void (*build)(sono_sim_case_t *c);
} preset_t;

static const preset_t presets[] = {
   {"nasolabial-ha-occlusion",
    "facial artery at the nasolabial fold: intraluminal fresh-HA occlusion, perivascular CaHA with shadow, colour aliasing",
    sc_nasolabial_ha_occlusion},
   {"clean-cheek", "facial artery (nasolabial), normal flow, no finding", sc_clean_cheek},
   {"clean-forehead", "supratrochlear artery over frontal bone, normal flow, ophthalmic preset", sc_clean_forehead},
   {"small-vessel-indeterminate", "supraorbital artery 0.7 mm, no deposit: indeterminate by rule V9", sc_small_vessel},
   {"high-scale-indeterminate", "facial artery imaged with a velocity scale above 2x PSV: indeterminate (V9)",
    sc_high_scale},
   {"facial-aliasing", "facial artery (mandible), PRF with angle-corrected VN = 0.5 PSV: aliasing", sc_aliasing},
   {"facial-no-aliasing", "twin of facial-aliasing with VN = 1.5 PSV: no aliasing", sc_no_aliasing},
   {"angular-ha-occlusion", "angular artery 0.7 mm with intraluminal HA: indeterminate (small vessel)",
    sc_angular_occlusion},
   {"intraluminal-caha", "hyperechoic CaHA inside the facial artery, reversed collateral flow downstream",
    sc_intraluminal_caha},
   {"perivascular-caha", "CaHA deposit just deep to a patent facial artery", sc_perivascular_caha},
   {"filler-ha-fresh", "fresh HA as subdermal anechoic pearls with posterior enhancement", sc_ha_fresh},
   {"filler-ha-integrated", "integrated HA: heterogeneous hypoechoic deposit", sc_ha_integrated},
   {"filler-caha", "undiluted CaHA: coarse hyperechoic foci, posterior shadow -15 dB", sc_caha},
   {"filler-caha-diluted", "diluted CaHA: finer foci, shadow -6 dB", sc_caha_diluted},
   {"filler-pmma", "PMMA: bright foci with comet tails (4 echoes, 0.15 mm)", sc_pmma},
   {"filler-silicone", "silicone oil: snowstorm, dirty shadow, reverberation", sc_silicone},
   {"filler-plla", "PLLA at 1 month: hyperechoic spots", sc_plla},
   {"filler-pcl", "PCL: hypoechoic matrix, bright spots with comet tails", sc_pcl},
   {"filler-collagen", "collagen: hypoechoic, no posterior signature (low confidence class)", sc_collagen},
   {"filler-paag", "PAAG: anechoic globule with an echogenic capsule and enhancement", sc_paag},
   {"artefact-shadow", "strong reflector with a clean -15 dB shadow", sc_shadow},
   {"artefact-reverberation", "specular plate with reverberation copies every 0.6 mm (a = 0.6)",
    sc_reverberation},
   {"artefact-mirror", "supratrochlear artery mirrored below the frontal bone (B-mode and colour)", sc_mirror},
   {"artefact-gain-high", "overall gain +15 dB, saturating", sc_gain_high},
   {"artefact-gain-low", "overall gain -20 dB", sc_gain_low},
   {"artefact-near-field", "static clutter band in the first 1 mm of the gel standoff", sc_near_field},
   {"artefact-blooming", "colour blooms to 1.5x the lumen of the facial artery", sc_blooming},
   {"artefact-flash", "tissue motion flash on frames 3-4 (50% fill, 0.2 mm shift)", sc_flash},
   {"artefact-twinkling", "twinkling column under a CaHA deposit", sc_twinkling},
   {"artefact-colour-noise", "2% random low-power colour pixels", sc_colour_noise},
   {"artefact-side-lobe",
    "+30 dB reflector beside a fresh-HA bolus: its -30 dB side-lobe echo appears as an arc inside the bolus",
    sc_side_lobe},
};

#define PRESET_COUNT (sizeof presets / sizeof presets[0])

const char *sono_sim_preset_name(size_t i) { return i < PRESET_COUNT ? presets[i].name : NULL; }
const char *sono_sim_preset_summary(size_t i) { return i < PRESET_COUNT ? presets[i].summary : NULL; }

int sono_sim_case_preset(sono_sim_case_t *c, const char *scenario, uint64_t seed, sono_error_t *err)
{
   for (size_t i = 0; i < PRESET_COUNT; ++i) {
      if (strcmp(presets[i].name, scenario) != 0)
         continue;
      sono_sim_case_default(c);
      snprintf(c->scenario, sizeof c->scenario, "%s", presets[i].name);
      snprintf(c->description, sizeof c->description, "%s", presets[i].summary);
      c->seed = seed;
      presets[i].build(c);
      return 0;
   }
   char known[2048] = "";
   for (size_t i = 0; i < PRESET_COUNT; ++i) {
      strncat(known, presets[i].name, sizeof known - strlen(known) - 1);
      if (i + 1 < PRESET_COUNT)
         strncat(known, ", ", sizeof known - strlen(known) - 1);
   }
   return sono_error_set(err, "scenario \"%s\": unknown; expected one of: %s", scenario, known);
}
