/* Static tissue: layers (clinical-spec §7.1), filler deposits (§7.3) and the
 * B-mode artefact injections of §7.4, as a scatterer field before the PSF
 * convolution, plus the per-pixel maps the frame loop applies. */
#include <stdlib.h>
#include <string.h>

#include "sim_internal.h"

#define DEG (SIM_PI / 180.0)
#define SHADOW_RAMP_M 0.2e-3
#define WALL_M 0.1e-3

/* ---- layers ---------------------------------------------------------------- */

static double undulation(const sono_sim_case_t *c, double x, int k)
{
   return c->layers.undulation_m * sim_value_noise(c->seed, RNG_LAYERS, x, k * 0.1, 2.0e-3);
}

void sim_layer_bounds(const sono_sim_case_t *c, double x, sim_layer_bounds_t *b)
{
   const sono_sim_layers_t *l = &c->layers;
   b->skin = l->standoff_m + 0.3 * undulation(c, x, 1);
   b->dermis_end = b->skin + 0.1e-3 + l->dermis_m + undulation(c, x, 2);
   b->fat_end = b->dermis_end + l->fat_m + undulation(c, x, 3);
   b->muscle_end = b->fat_end + l->muscle_m + undulation(c, x, 4);
   b->deep_end = b->muscle_end + l->deep_fat_m + undulation(c, x, 5);
   b->bone = l->bone_depth_m > 0 ? l->bone_depth_m + undulation(c, x, 6) : 1e9;
}

/* Fibre angle of the SMAS/muscle re horizontal: 0 at the left edge, rising
 * to muscle_tilt_rad at the right edge (where anisotropy darkens it). */
double sim_muscle_angle(const sono_sim_case_t *c, double x)
{
   return c->layers.muscle_tilt_rad * (x - c->x0_m) / (c->nx * c->dx_m);
}

/* One-way attenuation (dB/m) of the layer at (x, z): alpha [dB/cm/MHz] * f. */
double sim_attenuation_db_per_m(const sono_sim_case_t *c, double x, double z)
{
   sim_layer_bounds_t b;
   sim_layer_bounds(c, x, &b);
   double alpha;
   if (z < b.skin)
      alpha = 0.0;
   else if (z < b.dermis_end)
      alpha = 0.35;
   else if (z < b.fat_end)
      alpha = 0.63;
   else if (z < b.muscle_end)
      alpha = 1.2;
   else
      alpha = 0.63;
   return alpha * 100.0 * c->center_frequency_hz * 1e-6;
}

static double septa_db(const sono_sim_case_t *c, double x, double z, const sim_layer_bounds_t *b)
{
   for (int k = 0; k < c->layers.septa; ++k) {
      sim_rng_t r;
      sim_rng_init(&r, c->seed, RNG_SEPTA, (uint64_t)k);
      double xc = c->x0_m + sim_rng_u01(&r) * c->nx * c->dx_m;
      double zc = b->dermis_end + sim_rng_range(&r, 0.2, 0.8) * (b->fat_end - b->dermis_end);
      double ang = sim_rng_range(&r, 10, 50) * DEG * (sim_rng_u01(&r) < 0.5 ? -1 : 1);
      double half = sim_rng_range(&r, 1.0e-3, 3.0e-3);
      double u = (x - xc) * cos(ang) + (z - zc) * sin(ang);
      double w = -(x - xc) * sin(ang) + (z - zc) * cos(ang);
      if (fabs(u) < half && fabs(w) < 0.035e-3)
         return 10.0;
   }
   return 0.0;
}

/* Mean echo (dB re fat) of the layered anatomy at (x, z), before deposits. */
static double layer_echo_db(const sono_sim_case_t *c, double x, double z, int near_field)
{
   sim_layer_bounds_t b;
   sim_layer_bounds(c, x, &b);
   if (z < b.skin) {
      if (near_field && z < 1.0e-3)
         return -8.0 + 4.0 * sim_value_noise(c->seed, RNG_TEXTURE, 0, z, 0.15e-3); /* static bands */
      return -40.0;
   }
   if (z < b.dermis_end)
      return 12.0 + 3.0 * sim_value_noise(c->seed, RNG_TEXTURE, x, z, 0.25e-3);
   if (z < b.fat_end) {
      double sep = septa_db(c, x, z, &b);
      return sep > 0 ? sep : 2.0 * sim_value_noise(c->seed, RNG_TEXTURE + 1, x, z, 0.6e-3);
   }
   if (z < b.muscle_end) {
      double th = sim_muscle_angle(c, x);
      double zeta = -(x - c->x0_m) * sin(th) + (z - b.fat_end) * cos(th);
      double stripe = 1.0 + 0.8 * cos(2.0 * SIM_PI * zeta / 0.3e-3);
      double aniso = -6.0 * fmin(1.0, fmax(0.0, (fabs(th) / DEG - 2.0) / 3.0));
      return -3.0 + 20.0 * log10(stripe) + aniso;
   }
   if (z < b.bone)
      return -2.0 + 2.0 * sim_value_noise(c->seed, RNG_TEXTURE + 2, x, z, 0.6e-3);
   return z < b.bone + 0.1e-3 ? 15.0 : -40.0;
}

/* ---- deposits ------------------------------------------------------------ */

typedef struct filler_look {
   double matrix_db;      /* incoherent matrix echo re fat */
   double focus_db;       /* peak of each focus re fat (0 = no foci) */
   double density;        /* foci per mm^2 */
   double posterior_db;   /* + enhancement, - shadow */
   int tail_echoes;       /* comet tail / reverberation copies per focus */
   double tail_lag_m;
   double tail_decay;
   double texture_db;     /* heterogeneity */
} filler_look_t;

static filler_look_t filler_look(const sono_sim_deposit_t *d)
{
   filler_look_t f = {0};
   switch (d->filler) {
   case SONO_SIM_HA_FRESH: f = (filler_look_t){-30, 0, 0, 4, 0, 0, 0, 0}; break;
   case SONO_SIM_HA_INTEGRATED: f = (filler_look_t){-10, 0, 0, 2, 0, 0, 0, 6}; break;
   case SONO_SIM_CAHA: f = (filler_look_t){12, 22, 25, -15, 0, 0, 0, 2}; break;
   case SONO_SIM_CAHA_DILUTED: f = (filler_look_t){5, 14, 40, -6, 0, 0, 0, 2}; break;
   case SONO_SIM_PMMA: f = (filler_look_t){-6, 18, 4, 0, 4, 0.15e-3, 0.5, 0}; break;
   case SONO_SIM_SILICONE: f = (filler_look_t){15, 22, 60, -15, 3, 0.10e-3, 0.6, 3}; break;
   case SONO_SIM_PLLA: {
      double age = fmin(fmax(d->age_months, 0.0), 6.0);
      double mean = 8.0 - age;  /* +8 early, +2 by 6 months */
      f = (filler_look_t){mean - 4, mean + 8, 15, -2, 0, 0, 0, 3};
      break;
   }
   case SONO_SIM_PCL: f = (filler_look_t){-8, 16, 6, 0, 3, 0.15e-3, 0.5, 0}; break;
   case SONO_SIM_COLLAGEN: f = (filler_look_t){-10, 0, 0, 0, 0, 0, 0, 1}; break;
   case SONO_SIM_PAAG: f = (filler_look_t){-30, 0, 0, 4, 0, 0, 0, 0}; break;
   default: break;
   }
   if (d->focus_density_per_mm2 > 0)
      f.density = d->focus_density_per_mm2;
   return f;
}

double sim_filler_echo_db(const sono_sim_deposit_t *d) { return filler_look(d).matrix_db; }

double sim_filler_posterior_db(sono_sim_filler_t cls)
{
   sono_sim_deposit_t d = {0};
   d.filler = cls;
   return filler_look(&d).posterior_db;
}

void sim_deposit_frame(const struct sono_sim *s, const sono_sim_deposit_t *d, double *cx, double *cz, double *ang)
{
   const sono_sim_case_t *c = &s->c;
   if (d->placement == SONO_SIM_TISSUE || d->vessel < 0) {
      *cx = d->x_m;
      *cz = d->z_m;
      *ang = d->angle_rad;
      return;
   }
   const sono_sim_vessel_t *v = &c->vessels[d->vessel];
   double h = 1e-5;
   double zc = sim_vessel_centreline_z(c, v, d->x_m);
   double a = atan2(sim_vessel_centreline_z(c, v, d->x_m + h) - sim_vessel_centreline_z(c, v, d->x_m - h), 2 * h);
   *ang = a + d->angle_rad;
   if (d->placement == SONO_SIM_INTRALUMINAL) {
      *cx = d->x_m;
      *cz = zc;
      return;
   }
   double off = (d->side < 0 ? -1.0 : 1.0) * (0.5 * v->diameter_m + WALL_M + d->gap_m + d->half_depth_m);
   *cx = d->x_m - off * sin(a);
   *cz = zc + off * cos(a);
}

int sim_deposit_contains(const struct sono_sim *s, const sono_sim_deposit_t *d, double x, double z)
{
   if (d->placement == SONO_SIM_INTRALUMINAL) {
      const sim_vessel_rt_t *rt = &s->vessels[d->vessel];
      double sarc, r;
      sim_vessel_locate(rt, x, z, &sarc, &r);
      return fabs(r) < rt->radius && sarc >= rt->occ_s0 && sarc <= rt->occ_s1;
   }
   double cx, cz, ang;
   sim_deposit_frame(s, d, &cx, &cz, &ang);
   double u = (x - cx) * cos(ang) + (z - cz) * sin(ang);
   double w = -(x - cx) * sin(ang) + (z - cz) * cos(ang);
   if (d->pearls > 0) {
      double rp = d->half_depth_m, pitch = 2.2 * rp;
      for (int k = 0; k < d->pearls; ++k) {
         double uk = (k - 0.5 * (d->pearls - 1)) * pitch;
         if ((u - uk) * (u - uk) + w * w < rp * rp)
            return 1;
      }
      return 0;
   }
   return (u * u) / (d->half_width_m * d->half_width_m) + (w * w) / (d->half_depth_m * d->half_depth_m) < 1.0;
}

/* Bounding radius of the deposit around its centre. */
static double deposit_extent(const struct sono_sim *s, const sono_sim_deposit_t *d)
{
   if (d->placement == SONO_SIM_INTRALUMINAL)
      return d->half_width_m + s->vessels[d->vessel].radius + 0.2e-3;
   if (d->pearls > 0)
      return (d->pearls - 1) * 1.1 * d->half_depth_m + d->half_depth_m;
   return fmax(d->half_width_m, d->half_depth_m);
}

/* Deepest z of the deposit in column x, or -1 when the column misses it. */
double sim_deposit_bottom(const struct sono_sim *s, const sono_sim_deposit_t *d, double x)
{
   double cx, cz, ang;
   sim_deposit_frame(s, d, &cx, &cz, &ang);
   double ext = deposit_extent(s, d);
   double bottom = -1;
   for (double z = cz - ext; z <= cz + ext; z += 0.25 * s->c.dz_m)
      if (sim_deposit_contains(s, d, x, z))
         bottom = z;
   return bottom;
}

static double deposit_top(const struct sono_sim *s, const sono_sim_deposit_t *d, double x)
{
   double cx, cz, ang;
   sim_deposit_frame(s, d, &cx, &cz, &ang);
   double ext = deposit_extent(s, d);
   for (double z = cz - ext; z <= cz + ext; z += 0.25 * s->c.dz_m)
      if (sim_deposit_contains(s, d, x, z))
         return z;
   return -1;
}

/* ---- helpers on the pre-convolution field ------------------------------ */

static inline size_t pix(const struct sono_sim *s, long iz, long ix) { return (size_t)iz + (size_t)s->nz * (size_t)ix; }
static inline double px_x(const struct sono_sim *s, long ix) { return s->c.x0_m + ix * s->c.dx_m; }
static inline double px_z(const struct sono_sim *s, long iz) { return s->c.z0_m + iz * s->c.dz_m; }

/* Adds a point scatterer of complex amplitude amp*exp(j*phase0) at its exact
 * depth (the round-trip phase), attenuated by the gain map at its pixel. */
static void add_point(struct sono_sim *s, fftwf_complex *field, double x, double z, double amp, double phase0)
{
   long ix = lround((x - s->c.x0_m) / s->c.dx_m), iz = lround((z - s->c.z0_m) / s->c.dz_m);
   if (ix < 0 || iz < 0 || ix >= (long)s->nx || iz >= (long)s->nz)
      return;
   double a = amp * s->gain[pix(s, iz, ix)], ph = phase0 - s->k2 * z;
   field[iz + (long)s->fz * ix] += (float)(a * cos(ph)) + I * (float)(a * sin(ph));
}

/* A specular line from xa to xb at depth z(x) = z + slope*(x - xa), peak
 * level `db` re fat; coherent across columns. */
static void add_line(struct sono_sim *s, fftwf_complex *field, double xa, double xb, double z, double slope, double db)
{
   double amp = SIM_DB(db) / s->line_peak;
   for (long ix = 0; ix < (long)s->nx; ++ix) {
      double x = px_x(s, ix);
      if (x >= xa && x <= xb)
         add_point(s, field, x, z + slope * (x - xa), amp, 0.0);
   }
}

/* Multiplies the gain map below depth zb(x) in columns [xa, xb] by `db`,
 * ramped over SHADOW_RAMP_M. */
static void column_gain(struct sono_sim *s, long ix, double zb, double db)
{
   for (long iz = 0; iz < (long)s->nz; ++iz) {
      double dz = px_z(s, iz) - zb;
      if (dz <= 0)
         continue;
      double t = fmin(1.0, dz / SHADOW_RAMP_M);
      t = t * t * (3 - 2 * t);
      s->gain[pix(s, iz, ix)] *= (float)SIM_DB(db * t);
   }
}

/* ---- build ---------------------------------------------------------------- */

static int has_artefact(const sono_sim_case_t *c, sono_sim_artefact_kind_t k)
{
   for (uint32_t i = 0; i < c->artefact_count; ++i)
      if (c->artefacts[i].kind == k)
         return 1;
   return 0;
}

static void build_gain(struct sono_sim *s)
{
   const sono_sim_case_t *c = &s->c;
   for (size_t i = 0; i < s->npix; ++i)
      s->gain[i] = 1.0f;
   for (long ix = 0; ix < (long)s->nx; ++ix) {
      double x = px_x(s, ix);
      for (uint32_t k = 0; k < c->deposit_count; ++k) {
         const sono_sim_deposit_t *d = &c->deposits[k];
         double post = filler_look(d).posterior_db;
         double zb = sim_deposit_bottom(s, d, x);
         if (zb < 0)
            continue;
         if (post != 0.0 && !(d->placement == SONO_SIM_INTRALUMINAL && post > 0))
            column_gain(s, ix, zb, post);
         if (d->filler == SONO_SIM_SILICONE) /* structures deeper than 2 mm are obscured */
            column_gain(s, ix, deposit_top(s, d, x) + 2.0e-3, -12.0);
      }
      for (uint32_t k = 0; k < c->artefact_count; ++k) {
         const sono_sim_artefact_t *a = &c->artefacts[k];
         if (a->kind == SONO_SIM_ART_SHADOW && fabs(x - a->x_m) <= 0.5 * a->width_m)
            column_gain(s, ix, a->z_m, -15.0);
      }
      if (s->bone_z > 0) {
         sim_layer_bounds_t b;
         sim_layer_bounds(c, x, &b);
         column_gain(s, ix, b.bone + 0.1e-3, -40.0); /* full clean shadow */
      }
   }
}

static double deposit_echo_db(const struct sono_sim *s, const sono_sim_deposit_t *d, double x, double z)
{
   filler_look_t f = filler_look(d);
   double db = f.matrix_db;
   if (f.texture_db > 0)
      db += f.texture_db * sim_value_noise(s->c.seed, RNG_TEXTURE + 10 + (uint32_t)(d - s->c.deposits), x, z, 0.3e-3);
   if (d->filler == SONO_SIM_PAAG) { /* capsule: echogenic rim */
      int inner = sim_deposit_contains(s, d, x + 0.1e-3, z) && sim_deposit_contains(s, d, x - 0.1e-3, z) &&
                  sim_deposit_contains(s, d, x, z + 0.1e-3) && sim_deposit_contains(s, d, x, z - 0.1e-3);
      if (!inner)
         db = 10.0;
   }
   return db;
}

/* Echo level (dB) of every pixel; -inf (returned as < -200) means no tissue
 * scatterers (flowing lumen: blood comes from particles). */
static double pixel_echo_db(const struct sono_sim *s, long iz, long ix, int near_field, const uint8_t *lumen)
{
   const sono_sim_case_t *c = &s->c;
   double x = px_x(s, ix), z = px_z(s, iz);
   for (uint32_t k = 0; k < c->deposit_count; ++k)
      if (sim_deposit_contains(s, &c->deposits[k], x, z))
         return deposit_echo_db(s, &c->deposits[k], x, z);
   uint8_t l = lumen[pix(s, iz, ix)];
   if (l == 1)
      return -300.0;
   if (l == 2)
      return 8.0; /* arterial wall */
   return layer_echo_db(c, x, z, near_field);
}

/* lumen map: 1 inside a lumen, 2 in its wall; computed in a band around each
 * centreline. */
static void build_lumen(struct sono_sim *s, uint8_t *lumen)
{
   const sono_sim_case_t *c = &s->c;
   memset(lumen, 0, s->npix);
   for (uint32_t vi = 0; vi < c->vessel_count; ++vi) {
      const sim_vessel_rt_t *rt = &s->vessels[vi];
      double band = rt->radius + WALL_M + 0.5e-3;
      for (long ix = 0; ix < (long)s->nx; ++ix) {
         double x = px_x(s, ix), zc = sim_vessel_centreline_z(c, &c->vessels[vi], x);
         double slope = fabs(tan(c->vessels[vi].tilt_rad)) + 4.0 * fabs(c->vessels[vi].sag_m) / (c->nx * c->dx_m);
         double reach = band * sqrt(1 + slope * slope);
         for (long iz = (long)floor((zc - reach - c->z0_m) / c->dz_m); iz <= (long)ceil((zc + reach - c->z0_m) / c->dz_m); ++iz) {
            if (iz < 0 || iz >= (long)s->nz)
               continue;
            double sarc, r;
            sim_vessel_locate(rt, x, px_z(s, iz), &sarc, &r);
            uint8_t *p = &lumen[pix(s, iz, ix)];
            if (fabs(r) < rt->radius)
               *p = 1;
            else if (fabs(r) < rt->radius + WALL_M && *p != 1)
               *p = 2;
         }
      }
   }
}

static void add_foci(struct sono_sim *s, fftwf_complex *field, uint32_t k)
{
   const sono_sim_deposit_t *d = &s->c.deposits[k];
   filler_look_t f = filler_look(d);
   if (f.focus_db == 0 || f.density <= 0)
      return;
   double cx, cz, ang;
   sim_deposit_frame(s, d, &cx, &cz, &ang);
   double ext = deposit_extent(s, d);
   double box_mm2 = 4.0 * ext * ext * 1e6;
   int tries = (int)(f.density * box_mm2) + 1;
   sim_rng_t r;
   sim_rng_init(&r, s->c.seed, RNG_FOCI, k);
   for (int i = 0; i < tries; ++i) {
      double x = cx + sim_rng_range(&r, -ext, ext), z = cz + sim_rng_range(&r, -ext, ext);
      double size = sim_rng_range(&r, 0.1e-3, 0.3e-3); /* brightness grows with focus size */
      double ph = 2 * SIM_PI * sim_rng_u01(&r);
      if (!sim_deposit_contains(s, d, x, z))
         continue;
      double amp = SIM_DB(f.focus_db) * (size / 0.2e-3) / s->psf_peak;
      add_point(s, field, x, z, amp, ph);
      for (int e = 1; e <= f.tail_echoes; ++e) /* comet tail: path 2*e*lag longer, same phase origin */
         add_point(s, field, x, z + e * f.tail_lag_m, amp * pow(f.tail_decay, e), ph);
   }
}

static void add_silicone_dirt(struct sono_sim *s, fftwf_complex *field, const sono_sim_deposit_t *d, uint32_t k)
{
   /* dirty shadow: reverberant echogenic noise below the deposit, decaying with depth */
   for (long ix = 0; ix < (long)s->nx; ++ix) {
      double zb = sim_deposit_bottom(s, d, px_x(s, ix));
      if (zb < 0)
         continue;
      for (long iz = 0; iz < (long)s->nz; ++iz) {
         double dz = px_z(s, iz) - zb;
         if (dz <= 0 || dz > 3e-3)
            continue;
         double a = SIM_DB(-3.0) * exp(-dz / 1.0e-3);
         uint64_t h = sim_hash(s->c.seed, RNG_TISSUE, pix(s, iz, ix), 1000 + k);
         field[iz + (long)s->fz * ix] += (float)(a * sim_gauss16(h) * 0.7071) + I * (float)(a * sim_gauss16(sim_mix(h)) * 0.7071);
      }
   }
}

static void add_artefact_reflectors(struct sono_sim *s, fftwf_complex *field)
{
   const sono_sim_case_t *c = &s->c;
   for (uint32_t k = 0; k < c->artefact_count; ++k) {
      const sono_sim_artefact_t *a = &c->artefacts[k];
      double xa = a->x_m - 0.5 * a->width_m, xb = a->x_m + 0.5 * a->width_m;
      if (a->kind == SONO_SIM_ART_SHADOW) {
         add_line(s, field, xa, xb, a->z_m, 0.0, 25.0);
      } else if (a->kind == SONO_SIM_ART_REVERBERATION) {
         add_line(s, field, xa, xb, a->z_m, 0.0, 20.0);
         for (int e = 1; e <= 6; ++e)
            add_line(s, field, xa, xb, a->z_m + e * a->lag_m, 0.0, 20.0 + 20.0 * e * log10(a->decay));
      }
   }
}

/* ---- side lobes ------------------------------------------------------------ */

double sim_side_lobe_sigma(void) { return SIM_SIDE_LOBE_FWHM_RAD / 2.3548; }

/* The reflector of a SIDE_LOBE injection, a short coherent (specular) segment
 * scaled by `main`, and its off-axis echoes scaled by `lobe`. Scan line x_g
 * sees a reflector point (x, z) at angle atan(|x_g - x| / z) and range
 * sqrt(z^2 + (x_g - x)^2); where that angle falls inside a lobe, the line
 * receives a scatterer at that range, with the phase of the longer path and
 * the attenuation of the reflector's own path. The PSF convolution then
 * gives it the pulse length and main-lobe width, so the echo is an arc that
 * deepens away from the reflector and moves with it. */
static void side_lobe_render(struct sono_sim *s, fftwf_complex *field, const sono_sim_artefact_t *a, double main,
                             double lobe)
{
   const double sigma = sim_side_lobe_sigma(), z = a->z_m;
   const double amp = SIM_DB(SIM_SIDE_LOBE_REFLECTOR_DB) / s->line_peak;
   const double xa = a->x_m - 0.5 * a->width_m, xb = a->x_m + 0.5 * a->width_m;
   long iz = lround((z - s->c.z0_m) / s->c.dz_m);
   if (iz < 0 || iz >= (long)s->nz)
      return;
   for (long ix = 0; ix < (long)s->nx; ++ix) {
      double x = px_x(s, ix);
      if (x < xa || x > xb)
         continue;
      if (main != 0.0)
         add_point(s, field, x, z, amp * main, 0.0);
      if (lobe == 0.0)
         continue;
      double g = amp * lobe * s->gain[pix(s, iz, ix)];
      for (long jx = 0; jx < (long)s->nx; ++jx) {
         double d = px_x(s, jx) - x;
         double u = (atan(fabs(d) / z) - a->lobe_angle_rad) / sigma;
         if (fabs(u) > SIM_SIDE_LOBE_REACH)
            continue;
         double r = hypot(z, d);
         long jz = lround((r - s->c.z0_m) / s->c.dz_m);
         if (jz >= (long)s->nz)
            continue;
         double ga = g * exp(-0.5 * u * u), ph = -s->k2 * r;
         field[jz + (long)s->fz * jx] += (float)(ga * cos(ph)) + I * (float)(ga * sin(ph));
      }
   }
}

static double peak_in_image(const struct sono_sim *s, const fftwf_complex *w)
{
   double m = 0;
   for (long ix = 0; ix < (long)s->nx; ++ix)
      for (long iz = 0; iz < (long)s->nz; ++iz)
         m = fmax(m, cabsf(w[iz + (long)s->fz * ix]));
   return m;
}

/* lobe_db is defined on the image: the lobe echo peaks lobe_db below the
 * reflector's main echo. The arc's own interference (neighbouring lines and
 * reflector points at slightly different ranges) sets its peak, so the scale
 * is calibrated by imaging the main echo and the lobe echo alone on `tmp`. */
static void add_side_lobes(struct sono_sim *s, fftwf_complex *field, fftwf_complex *tmp)
{
   const size_t nf = (size_t)s->fz * s->fx;
   for (uint32_t k = 0; k < s->c.artefact_count; ++k) {
      const sono_sim_artefact_t *a = &s->c.artefacts[k];
      if (a->kind != SONO_SIM_ART_SIDE_LOBE)
         continue;
      memset(tmp, 0, sizeof(fftwf_complex) * nf);
      side_lobe_render(s, tmp, a, 1.0, 0.0);
      sim_convolve(s, tmp);
      double main_peak = peak_in_image(s, tmp);
      memset(tmp, 0, sizeof(fftwf_complex) * nf);
      side_lobe_render(s, tmp, a, 0.0, 1.0);
      sim_convolve(s, tmp);
      double lobe_peak = peak_in_image(s, tmp);
      double scale = lobe_peak > 0 ? SIM_DB(a->lobe_db) * main_peak / lobe_peak : 0.0;
      side_lobe_render(s, field, a, 1.0, scale);
   }
}

static void add_anatomy_lines(struct sono_sim *s, fftwf_complex *field)
{
   for (long ix = 0; ix < (long)s->nx; ++ix) {
      double x = px_x(s, ix);
      sim_layer_bounds_t b;
      sim_layer_bounds(&s->c, x, &b);
      add_point(s, field, x, b.skin, SIM_DB(20.0) / s->line_peak, 0.0); /* entry echo */
      if (s->bone_z > 0)
         add_point(s, field, x, b.bone, SIM_DB(25.0) / s->line_peak, 0.0);
   }
}

/* Mirror: the tissue band around a vessel reappears at -6 dB at the same
 * distance below the bone line (blood is mirrored by the particles). */
static void add_mirror_tissue(struct sono_sim *s, fftwf_complex *field, const uint8_t *lumen)
{
   for (uint32_t vi = 0; vi < s->c.vessel_count; ++vi) {
      if (!s->vessels[vi].mirror || s->bone_z <= 0)
         continue;
      const sim_vessel_rt_t *rt = &s->vessels[vi];
      for (long ix = 0; ix < (long)s->nx; ++ix)
         for (long iz = 0; iz < (long)s->nz; ++iz) {
            double z = px_z(s, iz);
            double zc = sim_vessel_centreline_z(&s->c, &s->c.vessels[vi], px_x(s, ix));
            if (fabs(z - zc) > rt->radius + 0.6e-3 || lumen[pix(s, iz, ix)] == 1)
               continue;
            long im = lround((2.0 * s->bone_z - z - s->c.z0_m) / s->c.dz_m);
            if (im < 0 || im >= (long)s->nz)
               continue;
            field[im + (long)s->fz * ix] += 0.5f * field[iz + (long)s->fz * ix];
         }
   }
}

static void build_twinkle(struct sono_sim *s)
{
   memset(s->twinkle, 0, sizeof(float) * s->npix);
   const sono_sim_case_t *c = &s->c;
   for (uint32_t k = 0; k < c->artefact_count; ++k) {
      const sono_sim_artefact_t *a = &c->artefacts[k];
      if (a->kind != SONO_SIM_ART_TWINKLING)
         continue;
      double cx, cz, ang;
      sim_deposit_frame(s, &c->deposits[a->deposit], &cx, &cz, &ang);
      double zb = sim_deposit_bottom(s, &c->deposits[a->deposit], cx);
      for (long ix = 0; ix < (long)s->nx; ++ix) {
         if (fabs(px_x(s, ix) - cx) > 0.25e-3)
            continue;
         for (long iz = 0; iz < (long)s->nz; ++iz) {
            double dz = px_z(s, iz) - zb;
            if (dz >= 0 && dz <= 1.5e-3)
               s->twinkle[pix(s, iz, ix)] = (float)(SIM_DB(3.0) * (1.0 - 0.5 * dz / 1.5e-3));
         }
      }
   }
}

static int cmp_float(const void *a, const void *b)
{
   float x = *(const float *)a, y = *(const float *)b;
   return (x > y) - (x < y);
}

/* Flash: a smooth random motion field; the fraction of pixels above the
 * quantile threshold moves, with a random-sign phase step of up to pi. */
static void build_flash(struct sono_sim *s, float *scratch)
{
   memset(s->flash_dphi, 0, sizeof(float) * s->npix);
   for (uint32_t k = 0; k < s->c.artefact_count; ++k) {
      const sono_sim_artefact_t *a = &s->c.artefacts[k];
      if (a->kind != SONO_SIM_ART_FLASH)
         continue;
      for (long ix = 0; ix < (long)s->nx; ++ix)
         for (long iz = 0; iz < (long)s->nz; ++iz)
            scratch[pix(s, iz, ix)] = (float)sim_value_noise(s->c.seed, RNG_FLASH, px_x(s, ix), px_z(s, iz), 1.5e-3);
      float *sorted = scratch + s->npix;
      memcpy(sorted, scratch, sizeof(float) * s->npix);
      qsort(sorted, s->npix, sizeof(float), cmp_float);
      float thr = sorted[(size_t)((1.0 - a->fraction) * (double)(s->npix - 1))];
      for (long ix = 0; ix < (long)s->nx; ++ix)
         for (long iz = 0; iz < (long)s->nz; ++iz) {
            size_t p = pix(s, iz, ix);
            if (scratch[p] >= thr)
               s->flash_dphi[p] =
                  (float)(SIM_PI * 0.95 * sim_value_noise(s->c.seed, RNG_FLASH + 1, px_x(s, ix), px_z(s, iz), 0.8e-3));
         }
   }
}

/* Builds the gain map, flash and twinkle maps, and the tissue scatterer
 * field (padded grid, zeroed by the caller). `lumen` holds npix bytes and
 * `scratch` 2*npix floats (setup-time only); `tmp` is a second padded grid,
 * needed (non-NULL) when the case has a side-lobe injection. */
void sim_tissue_build(struct sono_sim *s, fftwf_complex *field, uint8_t *lumen, float *scratch, fftwf_complex *tmp)
{
   const sono_sim_case_t *c = &s->c;
   build_gain(s);
   build_lumen(s, lumen);
   int near_field = has_artefact(c, SONO_SIM_ART_NEAR_FIELD);
   for (long ix = 0; ix < (long)s->nx; ++ix)
      for (long iz = 0; iz < (long)s->nz; ++iz) {
         double db = pixel_echo_db(s, iz, ix, near_field, lumen);
         if (db < -200)
            continue;
         double a = SIM_DB(db) * s->gain[pix(s, iz, ix)] * 0.70710678;
         uint64_t h = sim_hash(c->seed, RNG_TISSUE, pix(s, iz, ix), 0);
         field[iz + (long)s->fz * ix] = (float)(a * sim_gauss16(h)) + I * (float)(a * sim_gauss16(sim_mix(h)));
      }
   add_anatomy_lines(s, field);
   for (uint32_t k = 0; k < c->deposit_count; ++k) {
      add_foci(s, field, k);
      if (c->deposits[k].filler == SONO_SIM_SILICONE)
         add_silicone_dirt(s, field, &c->deposits[k], k);
   }
   add_artefact_reflectors(s, field);
   if (tmp)
      add_side_lobes(s, field, tmp);
   add_mirror_tissue(s, field, lumen);
   build_twinkle(s);
   build_flash(s, scratch);
}
