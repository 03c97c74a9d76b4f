/* Batch cases: parameters drawn across the clinical ranges of §7 from
 * (seed, index) alone, so any program can rebuild case `index` of a batch. */
#include <stdio.h>
#include <string.h>

#include "sim_internal.h"

#define MM 1e-3
#define DEG (SIM_PI / 180.0)

typedef struct vessel_kind {
   const char *name;
   double depth_mean_mm, depth_sd_mm;
   double diam_lo_mm, diam_hi_mm;
   double psv_lo, psv_hi;
   int site; /* 0 cheek, 1 forehead, 2 nose */
} vessel_kind_t;

/* clinical-spec §7.2 */
static const vessel_kind_t kinds[] = {
   {"facial artery (mandible)", 9.3, 2.2, 1.5, 2.0, 0.40, 0.70, 0},
   {"facial artery (nasolabial)", 5.0, 1.6, 1.2, 1.5, 0.20, 0.40, 0},
   {"angular artery", 5.3, 0.5, 0.6, 0.8, 0.09, 0.25, 0},
   {"supratrochlear artery", 3.3, 0.6, 0.8, 1.0, 0.15, 0.25, 1},
   {"supraorbital artery", 3.5, 0.8, 0.6, 0.8, 0.09, 0.15, 1},
   {"dorsal nasal artery", 1.75, 0.25, 0.4, 0.7, 0.09, 0.20, 2},
   {"lateral nasal artery", 4.0, 0.6, 0.7, 0.7, 0.10, 0.20, 2},
   {"superficial temporal artery, frontal branch", 2.1, 0.5, 0.8, 1.0, 0.15, 0.30, 1},
};
#define KIND_COUNT (sizeof kinds / sizeof kinds[0])

static double clamp(double v, double lo, double hi) { return v < lo ? lo : v > hi ? hi : v; }

static void site_layers(sono_sim_case_t *c, int site, sim_rng_t *r)
{
   if (site == 1) { /* forehead over frontal bone */
      c->layers.dermis_m = sim_rng_range(r, 1.2, 1.8) * MM;
      c->layers.fat_m = sim_rng_range(r, 1.8, 2.5) * MM;
      c->layers.muscle_m = 1.5 * MM;
      c->layers.deep_fat_m = 1.5 * MM;
      c->layers.bone_depth_m = sim_rng_range(r, 8.0, 9.0) * MM;
      c->ophthalmic_preset = sim_rng_u01(r) < 0.5;
   } else if (site == 2) { /* nose: thin soft tissue over nasal bone */
      c->layers.dermis_m = 1.0 * MM;
      c->layers.fat_m = sim_rng_range(r, 2.5, 4.0) * MM;
      c->layers.muscle_m = 1.0 * MM;
      c->layers.deep_fat_m = 1.0 * MM;
      c->layers.bone_depth_m = sim_rng_range(r, 8.0, 9.0) * MM;
   } else {
      c->layers.dermis_m = sim_rng_range(r, 0.8, 2.0) * MM;
      c->layers.fat_m = sim_rng_range(r, 4.0, 6.0) * MM;
      c->layers.muscle_m = sim_rng_range(r, 1.5, 3.0) * MM;
   }
   c->layers.standoff_m = sim_rng_range(r, 0.3, 1.0) * MM;
   c->layers.muscle_tilt_rad = sim_rng_range(r, 0, 10) * DEG;
}

static int draw_vessel(sono_sim_case_t *c, sim_rng_t *r)
{
   const vessel_kind_t *k = &kinds[(size_t)(sim_rng_u01(r) * KIND_COUNT)];
   site_layers(c, k->site, r);
   sono_sim_vessel_t v;
   memset(&v, 0, sizeof v);
   snprintf(v.name, sizeof v.name, "%s", k->name);
   double image_depth = c->nz * c->dz_m;
   v.depth_m = clamp(k->depth_mean_mm * MM + k->depth_sd_mm * MM * sim_rng_normal(r), 1.5 * MM, image_depth - 1.5 * MM);
   v.diameter_m = sim_rng_range(r, k->diam_lo_mm, k->diam_hi_mm) * MM;
   v.psv_m_s = sim_rng_range(r, k->psv_lo, k->psv_hi);
   v.ri = sim_rng_range(r, 0.6, 0.85);
   /* keep the whole vessel below the skin and inside the image */
   double room = fmin(v.depth_m - c->layers.standoff_m - 0.8 * MM, image_depth - v.depth_m - 0.5 * MM);
   double max_tilt = atan(fmax(room, 0.1 * MM) / (0.5 * c->nx * c->dx_m));
   v.tilt_rad = sim_rng_range(r, 0.3, 1.0) * fmin(max_tilt, 25 * DEG) * (sim_rng_u01(r) < 0.5 ? -1 : 1);
   v.sag_m = sim_rng_range(r, -0.3, 0.3) * MM * (room > 0.6 * MM);
   v.direction = sim_rng_u01(r) < 0.5 ? -1 : 1;
   v.upstream_ri = sim_rng_range(r, 0.95, 1.15);
   v.downstream_mode = sim_rng_u01(r) < 0.5 ? SONO_SIM_DOWNSTREAM_DAMPED : SONO_SIM_DOWNSTREAM_REVERSED;
   v.downstream_factor = sim_rng_range(r, 0.2, 0.4);
   return sono_sim_add_vessel(c, &v);
}

static void draw_deposit(sono_sim_case_t *c, sim_rng_t *r, int v)
{
   sono_sim_deposit_t d;
   memset(&d, 0, sizeof d);
   d.filler = (sono_sim_filler_t)(sim_rng_u01(r) * SONO_SIM_FILLER_COUNT);
   d.age_months = sim_rng_range(r, 0, 9);
   double p = sim_rng_u01(r);
   const sono_sim_vessel_t *ves = &c->vessels[v];
   d.vessel = v;
   if (p < 0.35) {
      d.placement = SONO_SIM_INTRALUMINAL;
      d.x_m = sim_rng_range(r, -3, 3) * MM;
      d.half_width_m = sim_rng_range(r, 1.0, 5.0) * MM; /* occluded segment 2-10 mm */
      d.half_depth_m = 0.5 * ves->diameter_m;
   } else if (p < 0.65) {
      d.placement = SONO_SIM_PERIVASCULAR;
      d.x_m = sim_rng_range(r, -3, 3) * MM;
      d.half_width_m = sim_rng_range(r, 0.5, 2.0) * MM;
      d.half_depth_m = sim_rng_range(r, 0.4, 1.0) * MM;
      d.side = sim_rng_u01(r) < 0.5 ? -1 : 1;
      d.gap_m = sim_rng_range(r, 0.0, 0.8) * MM;
   } else {
      d.placement = SONO_SIM_TISSUE;
      d.vessel = -1;
      d.half_width_m = sim_rng_range(r, 0.5, 3.0) * MM;
      d.half_depth_m = sim_rng_range(r, 0.4, 1.2) * MM;
      if (d.filler <= SONO_SIM_HA_INTEGRATED && sim_rng_u01(r) < 0.4) {
         d.pearls = 2 + (int32_t)(sim_rng_u01(r) * 4);
         d.half_depth_m = sim_rng_range(r, 0.25, 0.75) * MM;
      }
      /* away from the vessel: on the side of the image with more room */
      double skin = c->layers.standoff_m + c->layers.dermis_m + 0.3 * MM;
      d.x_m = sim_rng_range(r, -4, 4) * MM;
      double zc = sim_vessel_centreline_z(c, ves, d.x_m);
      double clear = 0.5 * ves->diameter_m + 1.2 * MM + d.half_depth_m;
      d.z_m = (zc - clear > skin + d.half_depth_m) ? zc - clear - sim_rng_range(r, 0, 1) * MM : zc + clear;
      d.z_m = fmax(d.z_m, skin + d.half_depth_m);
   }
   sono_sim_add_deposit(c, &d);
}

/* Kinds drawn from the main stream: those that existed before side lobes, so
 * a seed keeps its cases; side lobes are drawn from their own stream. */
#define MAIN_STREAM_KINDS SONO_SIM_ART_SIDE_LOBE
#define SIDE_LOBE_RATE 0.12 /* of the cases with a finding */

static void draw_artefacts(sono_sim_case_t *c, sim_rng_t *r, int v)
{
   int n = (int)(sim_rng_u01(r) * 3); /* 0..2 injections */
   for (int i = 0; i < n; ++i) {
      sono_sim_artefact_t a;
      memset(&a, 0, sizeof a);
      a.kind = (sono_sim_artefact_kind_t)(sim_rng_u01(r) * MAIN_STREAM_KINDS);
      a.vessel = v;
      a.deposit = -1;
      a.x_m = sim_rng_range(r, -4, 4) * MM;
      a.z_m = c->layers.standoff_m + c->layers.dermis_m + sim_rng_range(r, 0.5, 2.0) * MM;
      a.width_m = sim_rng_range(r, 0.8, 3.0) * MM;
      a.lag_m = sim_rng_range(r, 0.4, 1.0) * MM;
      a.decay = sim_rng_range(r, 0.5, 0.7);
      a.fraction = sim_rng_range(r, 0.3, 0.8);
      a.frame0 = (uint32_t)(sim_rng_u01(r) * (c->frames - 1));
      a.frame1 = a.frame0 + 1;
      if (a.kind == SONO_SIM_ART_MIRROR && (c->layers.bone_depth_m <= 0 || c->vessels[v].depth_m > c->layers.bone_depth_m - 2 * MM))
         continue;
      if (a.kind == SONO_SIM_ART_MIRROR) { /* deepen the grid to show the mirrored vessel below the bone */
         double deepest = 2.0 * c->layers.bone_depth_m - c->vessels[v].depth_m + c->vessels[v].diameter_m + 1.0 * MM;
         c->nz = (uint32_t)ceil(deepest / c->dz_m);
      }
      if (a.kind == SONO_SIM_ART_TWINKLING) {
         if (c->deposit_count == 0)
            continue;
         sono_sim_filler_t f = c->deposits[0].filler;
         if (f != SONO_SIM_CAHA && f != SONO_SIM_CAHA_DILUTED && f != SONO_SIM_PMMA && f != SONO_SIM_PCL)
            continue;
         a.deposit = 0;
      }
      if (a.kind == SONO_SIM_ART_NEAR_FIELD) {
         double extra = 1.5 * MM - c->layers.standoff_m;
         if (extra > 0)
            continue; /* needs a standoff of at least 1.5 mm; do not move the anatomy */
      }
      int dup = 0;
      for (uint32_t k = 0; k < c->artefact_count; ++k)
         dup |= c->artefacts[k].kind == a.kind;
      if (!dup)
         sono_sim_add_artefact(c, &a);
   }
}

/* A bright reflector placed where a lobe of the scan lines over the lumen
 * reaches it: at lobe angle theta, a reflector at depth z echoes on lines
 * z*tan(theta) to its side at range z/cos(theta), so for a lumen point at
 * depth zt it sits zt*sin(theta) aside at depth zt*cos(theta). When neither
 * side leaves it clear of the vessel inside the image, it goes in the fat
 * and its lobe echoes fall on speckle. */
static void draw_side_lobe(sono_sim_case_t *c, uint64_t seed, uint32_t index, int v)
{
   sim_rng_t r;
   sim_rng_init(&r, seed, RNG_BATCH_SIDE_LOBE, index);
   if (sim_rng_u01(&r) >= SIDE_LOBE_RATE)
      return;
   sono_sim_artefact_t a;
   memset(&a, 0, sizeof a);
   a.kind = SONO_SIM_ART_SIDE_LOBE;
   a.vessel = -1;
   a.deposit = -1;
   a.lobe_db = sim_rng_range(&r, -35.0, -25.0);
   a.lobe_angle_rad = sim_rng_range(&r, 20.0, 35.0) * DEG;
   a.width_m = sim_rng_range(&r, 0.2, 0.8) * MM;
   const sono_sim_vessel_t *ves = &c->vessels[v];
   double xlo = c->x0_m + 1.0 * MM, xhi = c->x0_m + c->nx * c->dx_m - 1.0 * MM;
   double skin = c->layers.standoff_m + 0.1 * MM + c->layers.dermis_m;
   double xg = sim_rng_range(&r, xlo, xhi);
   int side = sim_rng_u01(&r) < 0.5 ? -1 : 1, placed = 0;
   /* aim at the deep half of the lumen and, failing that, at the steepest
    * lobe: both raise the reflector clear of the vessel */
   double zt = sim_vessel_centreline_z(c, ves, xg) + 0.3 * ves->diameter_m, th = a.lobe_angle_rad;
   for (int t = 0; t < 4 && !placed; ++t, side = -side) {
      if (t == 2)
         th = 35.0 * DEG;
      double xr = xg - side * zt * sin(th), zr = zt * cos(th);
      double clear = fabs(zr - sim_vessel_centreline_z(c, ves, xr)) - 0.5 * ves->diameter_m - 0.1 * MM;
      if (xr - 0.5 * a.width_m >= xlo && xr + 0.5 * a.width_m <= xhi && clear > 0.15 * MM && zr > skin + 0.3 * MM) {
         a.x_m = xr;
         a.z_m = zr;
         a.lobe_angle_rad = th;
         placed = 1;
      }
   }
   if (!placed) {
      a.x_m = sim_rng_range(&r, xlo, xhi);
      a.z_m = skin + sim_rng_range(&r, 0.5, 2.0) * MM;
   }
   sono_sim_add_artefact(c, &a);
}

/* Near-field clutter needs a standoff of at least 1.5 mm (the clutter band
 * fills its first 1 mm and must stay clear of the skin), while batch
 * standoffs are 0.3-1.0 mm. Drawn from its own stream, like side lobes, so
 * the other cases of a seed keep their content: a case that gets it has
 * its standoff thickened to 1.5-2.5 mm, every depth below moved down by the
 * same amount (vessels, bone, deposits placed in tissue, injected
 * reflectors) and the grid deepened to keep the anatomy in view. */
#define NEAR_FIELD_RATE 0.11 /* of the cases with a finding: about 8 % of a batch */

static void shift_anatomy(sono_sim_case_t *c, double dz)
{
   c->layers.standoff_m += dz;
   if (c->layers.bone_depth_m > 0)
      c->layers.bone_depth_m += dz;
   for (uint32_t i = 0; i < c->vessel_count; ++i)
      c->vessels[i].depth_m += dz;
   for (uint32_t i = 0; i < c->deposit_count; ++i)
      if (c->deposits[i].placement == SONO_SIM_TISSUE) /* the others are placed against their vessel */
         c->deposits[i].z_m += dz;
   for (uint32_t i = 0; i < c->artefact_count; ++i)
      c->artefacts[i].z_m += dz;
   c->nz += (uint32_t)ceil(dz / c->dz_m);
}

static void draw_near_field(sono_sim_case_t *c, uint64_t seed, uint32_t index)
{
   sim_rng_t r;
   sim_rng_init(&r, seed, RNG_BATCH_NEAR_FIELD, index);
   if (sim_rng_u01(&r) >= NEAR_FIELD_RATE)
      return;
   for (uint32_t k = 0; k < c->artefact_count; ++k)
      if (c->artefacts[k].kind == SONO_SIM_ART_NEAR_FIELD)
         return;
   double standoff = sim_rng_range(&r, 1.5, 2.5) * MM;
   if (standoff > c->layers.standoff_m)
      shift_anatomy(c, standoff - c->layers.standoff_m);
   sono_sim_artefact_t a;
   memset(&a, 0, sizeof a);
   a.kind = SONO_SIM_ART_NEAR_FIELD;
   a.vessel = -1;
   a.deposit = -1;
   a.x_m = 0;
   a.z_m = 0.5 * MM;
   a.width_m = c->nx * c->dx_m;
   sono_sim_add_artefact(c, &a);
}

static void draw_prf(sono_sim_case_t *c, sim_rng_t *r, int v)
{
   double p = sim_rng_u01(r);
   if (p < 0.25)
      sono_sim_set_prf_for_nyquist(c, (uint32_t)v, 0.5); /* aliasing (§7.4) */
   else if (p < 0.8)
      sono_sim_set_prf_for_nyquist(c, (uint32_t)v, sim_rng_range(r, 1.1, 1.8));
   else /* velocity scale above 2x PSV: indeterminate by V9 */
      c->prf_hz = sim_rng_range(r, 2.2, 3.0) * c->vessels[v].psv_m_s * 4.0 * c->center_frequency_hz /
                  c->sound_speed_m_s;
   if (c->prf_hz < 200.0)
      c->prf_hz = 200.0;
}

void sono_sim_batch_case(sono_sim_case_t *c, uint64_t seed, uint32_t index)
{
   sono_sim_case_default(c);
   sim_rng_t r;
   sim_rng_init(&r, seed, RNG_BATCH, index);
   c->seed = sim_hash(seed, RNG_BATCH, index, 1);
   snprintf(c->scenario, sizeof c->scenario, "batch-%04u", index);
   c->snr_db = sim_rng_range(&r, 15, 35);
   c->heart_rate_hz = sim_rng_range(&r, 1.0, 1.4);
   c->frame_rate_hz = 10.0 * c->heart_rate_hz;
   /* Batch vessels run within 25 degrees of the skin, so the scale set for
    * their angle-corrected PSV leaves an axial Nyquist velocity of a few
    * mm/s, where hand and breathing motion of tissue falls inside a
    * regression filter's pass band and floods the colour box. An
    * eigen-based (SVD) clutter filter separates tissue by its spatial
    * coherence instead of its Doppler shift: the choice of current
    * high-frequency scanners for slow flow. */
   c->wall_filter = SONO_WALL_SVD;
   c->wall_filter_order = 2;
   int v = draw_vessel(c, &r);
   int clean = sim_rng_u01(&r) < 0.25;
   if (!clean)
      draw_deposit(c, &r, v);
   draw_prf(c, &r, v);
   if (!clean) {
      draw_artefacts(c, &r, v);
      draw_side_lobe(c, seed, index, v);
      draw_near_field(c, seed, index);
   }
   snprintf(c->description, sizeof c->description, "batch case %u of seed %llu: %s%s", index,
            (unsigned long long)seed, c->vessels[v].name, clean ? ", no finding" : "");
}
