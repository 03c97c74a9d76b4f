/* Case parameters: defaults, builders, validation, names, rule V9. */
#include <stdio.h>
#include <string.h>

#include "sim_internal.h"

static const char *const filler_names[SONO_SIM_FILLER_COUNT] = {
   "ha_fresh", "ha_integrated", "caha", "caha_diluted", "pmma", "silicone", "plla", "pcl", "collagen", "paag"};

const char *sono_sim_filler_name(sono_sim_filler_t f)
{
   return (f >= 0 && f < SONO_SIM_FILLER_COUNT) ? filler_names[f] : "unknown";
}

int sono_sim_filler_from_name(const char *name)
{
   for (int i = 0; i < SONO_SIM_FILLER_COUNT; ++i)
      if (strcmp(name, filler_names[i]) == 0)
         return i;
   return -1;
}

const char *sono_sim_placement_name(sono_sim_placement_t p)
{
   switch (p) {
   case SONO_SIM_INTRALUMINAL: return "intraluminal";
   case SONO_SIM_PERIVASCULAR: return "perivascular";
   default: return "tissue";
   }
}

double sim_rng_normal(sim_rng_t *r)
{
   double u1 = sim_rng_u01(r), u2 = sim_rng_u01(r);
   if (u1 < 1e-300)
      u1 = 1e-300;
   return sqrt(-2.0 * log(u1)) * cos(2.0 * SIM_PI * u2);
}

static double lattice(uint64_t seed, uint32_t stream, int64_t i, int64_t j)
{
   return 2.0 * sim_u01(sim_hash(seed, stream, (uint64_t)i, (uint64_t)j)) - 1.0;
}

double sim_value_noise(uint64_t seed, uint32_t stream, double x, double z, double cell_m)
{
   double gx = x / cell_m + 1e4, gz = z / cell_m + 1e4;
   int64_t i = (int64_t)floor(gx), j = (int64_t)floor(gz);
   double fx = gx - (double)i, fz = gz - (double)j;
   fx = fx * fx * (3 - 2 * fx); /* smoothstep: no creases at lattice lines */
   fz = fz * fz * (3 - 2 * fz);
   double a = lattice(seed, stream, i, j), b = lattice(seed, stream, i + 1, j);
   double c = lattice(seed, stream, i, j + 1), d = lattice(seed, stream, i + 1, j + 1);
   return (a * (1 - fx) + b * fx) * (1 - fz) + (c * (1 - fx) + d * fx) * fz;
}

void sono_sim_case_default(sono_sim_case_t *c)
{
   memset(c, 0, sizeof *c);
   snprintf(c->scenario, sizeof c->scenario, "custom");
   c->seed = 1;
   c->nz = 384;
   c->nx = 256;
   c->ensemble = 16;
   c->frames = 10;
   c->dz_m = 25e-6;
   c->dx_m = 50e-6;
   c->x0_m = -6.4e-3;
   c->z0_m = 0.0;
   c->center_frequency_hz = 18e6;
   c->bandwidth = 0.6;
   c->lateral_fwhm_m = 160e-6;
   c->sound_speed_m_s = 1540.0;
   c->prf_hz = 4000.0;
   c->heart_rate_hz = 1.2;
   c->frame_rate_hz = 12.0; /* ten frames span one cardiac cycle */
   c->snr_db = 25.0;
   c->clutter_speed_m_s = 1.5e-3;
   c->wall_filter = SONO_WALL_POLY;
   c->wall_filter_order = 2;
   c->layers.standoff_m = 0.5e-3;
   c->layers.dermis_m = 1.0e-3;
   c->layers.fat_m = 5.0e-3;
   c->layers.septa = 5;
   c->layers.muscle_m = 2.0e-3;
   c->layers.deep_fat_m = 2.0e-3;
   c->layers.undulation_m = 0.12e-3;
   c->threads = 1;
}

double sono_sim_nyquist(const sono_sim_case_t *c)
{
   return c->sound_speed_m_s * c->prf_hz / (4.0 * c->center_frequency_hz);
}

/* cos of the beam-to-flow angle at the vessel centre: |sin(local slope)|. */
static double vessel_axial_fraction(const sono_sim_case_t *c, const sono_sim_vessel_t *v)
{
   double h = 1e-5;
   double slope = (sim_vessel_centreline_z(c, v, v->x_center_m + h) - sim_vessel_centreline_z(c, v, v->x_center_m - h)) /
                  (2 * h);
   return fabs(slope) / sqrt(1 + slope * slope);
}

void sono_sim_set_prf_for_nyquist(sono_sim_case_t *c, uint32_t vi, double ratio)
{
   const sono_sim_vessel_t *v = &c->vessels[vi];
   double cos_theta = vessel_axial_fraction(c, v);
   /* VN_corrected = c*PRF/(4 fc cos(theta)) = ratio*PSV */
   c->prf_hz = ratio * v->psv_m_s * 4.0 * c->center_frequency_hz * cos_theta / c->sound_speed_m_s;
}

int sono_sim_add_vessel(sono_sim_case_t *c, const sono_sim_vessel_t *v)
{
   if (c->vessel_count >= SONO_SIM_MAX_VESSELS)
      return -1;
   c->vessels[c->vessel_count] = *v;
   if (!c->vessels[c->vessel_count].id[0])
      snprintf(c->vessels[c->vessel_count].id, sizeof v->id, "v%u", c->vessel_count + 1);
   return (int)c->vessel_count++;
}

int sono_sim_add_deposit(sono_sim_case_t *c, const sono_sim_deposit_t *d)
{
   if (c->deposit_count >= SONO_SIM_MAX_DEPOSITS)
      return -1;
   c->deposits[c->deposit_count] = *d;
   if (!c->deposits[c->deposit_count].id[0])
      snprintf(c->deposits[c->deposit_count].id, sizeof d->id, "d%u", c->deposit_count + 1);
   return (int)c->deposit_count++;
}

int sono_sim_add_artefact(sono_sim_case_t *c, const sono_sim_artefact_t *a)
{
   if (c->artefact_count >= SONO_SIM_MAX_ARTEFACTS)
      return -1;
   c->artefacts[c->artefact_count] = *a;
   return (int)c->artefact_count++;
}

#define CHECK(cond, ...)                                                                                     \
   do {                                                                                                      \
      if (!(cond))                                                                                           \
         return sono_error_set(err, __VA_ARGS__);                                                            \
   } while (0)

static int validate_vessel(const sono_sim_case_t *c, uint32_t i, sono_error_t *err)
{
   const sono_sim_vessel_t *v = &c->vessels[i];
   CHECK(v->diameter_m > 0 && v->diameter_m < 5e-3,
         "case \"%s\": vessels[%u].diameter_m: expected 0 < d < 5 mm, got %g m", c->scenario, i, v->diameter_m);
   CHECK(v->psv_m_s >= 0 && v->psv_m_s < 3.0, "case \"%s\": vessels[%u].psv_m_s: expected 0..3 m/s, got %g",
         c->scenario, i, v->psv_m_s);
   CHECK(v->ri >= 0 && v->ri <= 2.0, "case \"%s\": vessels[%u].ri: expected 0..2, got %g", c->scenario, i, v->ri);
   CHECK(fabs(v->tilt_rad) < 1.2, "case \"%s\": vessels[%u].tilt_rad: expected |tilt| < 1.2 rad, got %g",
         c->scenario, i, v->tilt_rad);
   return 0;
}

static int validate_deposit(const sono_sim_case_t *c, uint32_t i, sono_error_t *err)
{
   const sono_sim_deposit_t *d = &c->deposits[i];
   CHECK(d->filler >= 0 && d->filler < SONO_SIM_FILLER_COUNT,
         "case \"%s\": deposits[%u].filler: expected 0..%d, got %d", c->scenario, i, SONO_SIM_FILLER_COUNT - 1,
         (int)d->filler);
   CHECK(d->half_width_m > 0 && d->half_depth_m > 0,
         "case \"%s\": deposits[%u]: expected positive half_width_m and half_depth_m", c->scenario, i);
   if (d->placement != SONO_SIM_TISSUE)
      CHECK(d->vessel >= 0 && (uint32_t)d->vessel < c->vessel_count,
            "case \"%s\": deposits[%u].vessel: %s deposit needs a vessel index < %u, got %d", c->scenario, i,
            sono_sim_placement_name(d->placement), c->vessel_count, (int)d->vessel);
   return 0;
}

static int validate_artefact(const sono_sim_case_t *c, uint32_t i, sono_error_t *err)
{
   const sono_sim_artefact_t *a = &c->artefacts[i];
   CHECK(a->kind >= 0 && a->kind < SONO_SIM_ART_KIND_COUNT, "case \"%s\": artefacts[%u].kind: unknown kind %d",
         c->scenario, i, (int)a->kind);
   if (a->kind == SONO_SIM_ART_MIRROR || a->kind == SONO_SIM_ART_BLOOMING)
      CHECK(a->vessel >= 0 && (uint32_t)a->vessel < c->vessel_count,
            "case \"%s\": artefacts[%u].vessel: expected a vessel index < %u, got %d", c->scenario, i,
            c->vessel_count, (int)a->vessel);
   if (a->kind == SONO_SIM_ART_MIRROR)
      CHECK(c->layers.bone_depth_m > 0, "case \"%s\": artefacts[%u]: a mirror needs layers.bone_depth_m > 0",
            c->scenario, i);
   if (a->kind == SONO_SIM_ART_TWINKLING)
      CHECK(a->deposit >= 0 && (uint32_t)a->deposit < c->deposit_count,
            "case \"%s\": artefacts[%u].deposit: expected a deposit index < %u, got %d", c->scenario, i,
            c->deposit_count, (int)a->deposit);
   if (a->kind == SONO_SIM_ART_REVERBERATION)
      CHECK(a->lag_m > 0 && a->decay > 0 && a->decay < 1,
            "case \"%s\": artefacts[%u]: reverberation needs lag_m > 0 and 0 < decay < 1", c->scenario, i);
   if (a->kind == SONO_SIM_ART_SIDE_LOBE) {
      CHECK(a->lobe_db >= -60.0 && a->lobe_db <= -10.0,
            "case \"%s\": artefacts[%u].lobe_db: expected -60..-10 dB re the main echo, got %g", c->scenario, i,
            a->lobe_db);
      CHECK(a->lobe_angle_rad >= 5.0 * SIM_PI / 180.0 && a->lobe_angle_rad <= 60.0 * SIM_PI / 180.0,
            "case \"%s\": artefacts[%u].lobe_angle_rad: expected 5..60 deg (0.087..1.047 rad), got %g rad",
            c->scenario, i, a->lobe_angle_rad);
      CHECK(a->width_m > 0 && a->z_m > c->z0_m && a->z_m < c->z0_m + c->nz * c->dz_m,
            "case \"%s\": artefacts[%u]: a side-lobe reflector needs width_m > 0 and z_m inside the image, got "
            "width %g m at z %g m",
            c->scenario, i, a->width_m, a->z_m);
   }
   return 0;
}

int sono_sim_case_validate(const sono_sim_case_t *c, sono_error_t *err)
{
   CHECK(c->nz >= 16 && c->nz <= 4096 && c->nx >= 16 && c->nx <= 4096,
         "case \"%s\": grid: expected nz and nx in 16..4096, got %u x %u", c->scenario, c->nz, c->nx);
   CHECK(c->ensemble >= 2 && c->ensemble <= 256, "case \"%s\": ensemble: expected 2..256, got %u", c->scenario,
         c->ensemble);
   CHECK(c->frames >= 1 && c->frames <= 10000, "case \"%s\": frames: expected 1..10000, got %u", c->scenario,
         c->frames);
   CHECK(c->dz_m > 0 && c->dx_m > 0, "case \"%s\": grid: expected positive dz_m and dx_m", c->scenario);
   CHECK(c->center_frequency_hz > 1e6 && c->center_frequency_hz < 100e6,
         "case \"%s\": center_frequency_hz: expected 1..100 MHz, got %g", c->scenario, c->center_frequency_hz);
   CHECK(c->bandwidth > 0.05 && c->bandwidth <= 1.5, "case \"%s\": bandwidth: expected 0.05..1.5, got %g",
         c->scenario, c->bandwidth);
   CHECK(c->sound_speed_m_s > 1000 && c->sound_speed_m_s < 2000,
         "case \"%s\": sound_speed_m_s: expected 1000..2000, got %g", c->scenario, c->sound_speed_m_s);
   CHECK(c->prf_hz > 10 && c->prf_hz < 100e3, "case \"%s\": prf_hz: expected 10 Hz..100 kHz, got %g", c->scenario,
         c->prf_hz);
   CHECK(c->frame_rate_hz > 0 && c->heart_rate_hz > 0,
         "case \"%s\": frame_rate_hz and heart_rate_hz: expected positive values", c->scenario);
   CHECK(c->lateral_fwhm_m > 0, "case \"%s\": lateral_fwhm_m: expected > 0", c->scenario);
   CHECK(c->vessel_count <= SONO_SIM_MAX_VESSELS && c->deposit_count <= SONO_SIM_MAX_DEPOSITS &&
            c->artefact_count <= SONO_SIM_MAX_ARTEFACTS,
         "case \"%s\": too many vessels, deposits or artefacts", c->scenario);
   for (uint32_t i = 0; i < c->vessel_count; ++i)
      if (validate_vessel(c, i, err))
         return -1;
   for (uint32_t i = 0; i < c->deposit_count; ++i)
      if (validate_deposit(c, i, err))
         return -1;
   for (uint32_t i = 0; i < c->artefact_count; ++i)
      if (validate_artefact(c, i, err))
         return -1;
   return 0;
}

/* Rule V9: a vessel under 0.8 mm, or a velocity scale (axial Nyquist) above
 * twice the expected PSV, makes absence of flow signal uninformative. */
int sim_case_v9_indeterminate(const sono_sim_case_t *c, uint32_t v)
{
   return c->vessels[v].diameter_m < 0.8e-3 || sono_sim_nyquist(c) > 2.0 * c->vessels[v].psv_m_s;
}

const char *sono_sim_expected_intravascular(const sono_sim_case_t *c)
{
   int any_intraluminal = 0, intraluminal_unsure = 0, any_unsure = 0;
   for (uint32_t v = 0; v < c->vessel_count; ++v)
      any_unsure |= sim_case_v9_indeterminate(c, v);
   for (uint32_t i = 0; i < c->deposit_count; ++i) {
      const sono_sim_deposit_t *d = &c->deposits[i];
      if (d->placement != SONO_SIM_INTRALUMINAL)
         continue;
      any_intraluminal = 1;
      intraluminal_unsure |= sim_case_v9_indeterminate(c, (uint32_t)d->vessel);
   }
   if (any_intraluminal)
      return intraluminal_unsure ? "indeterminate" : "detected";
   return any_unsure ? "indeterminate" : "not_detected";
}
