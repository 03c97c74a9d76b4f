/* Vessels: centrelines, pulsatile Poiseuille flow, moving blood particles. */
#include <stdlib.h>
#include <string.h>

#include "sim_internal.h"

#define CENTRELINE_DS 10e-6    /* arclength step of the centreline table */
#define CENTRELINE_MARGIN 2e-3 /* centreline extends past the image edges */
#define PARTICLES_PER_PIXEL 1.5
#define BLOOM_SCALE 1.5
#define BLOOM_SPEED 0.3        /* bloom band moves at this fraction of the centreline speed */
#define BLOOM_FLOOR_VN 0.25    /* blooming vessel: no blood within the band moves axially slower than this x VN */
#define BLOOM_MIN_AXIAL 0.05   /* cos(beam-to-flow angle) below which the floor is not raised further */
#define SYSTOLIC_RISE 0.1      /* fraction of the cardiac period to peak systole */
#define TARDUS_RISE 0.22       /* > 100 ms at 72 bpm */

double sim_vessel_centreline_z(const sono_sim_case_t *c, const sono_sim_vessel_t *v, double x)
{
   double w = c->nx * c->dx_m;
   double q = 2.0 * (x - v->x_center_m) / w;
   return v->depth_m + tan(v->tilt_rad) * (x - v->x_center_m) + v->sag_m * (1.0 - q * q);
}

double sim_frame_time(const sono_sim_case_t *c, uint32_t frame) { return (double)frame / c->frame_rate_hz; }

/* Systolic shape g in [0, 1]: sin^2 rise to the peak, then an exponential
 * run-off that reaches exactly 0 at end-diastole (phase 1). */
static double systolic_shape(double phase, double rise)
{
   phase -= floor(phase);
   if (phase < rise) {
      double s = sin(0.5 * SIM_PI * phase / rise);
      return s * s;
   }
   const double tau = 0.15;
   double e1 = exp(-(1.0 - rise) / tau);
   return (exp(-(phase - rise) / tau) - e1) / (1.0 - e1);
}

double sim_waveform(double phase, double psv, double ri, double rise)
{
   double edv = psv * (1.0 - ri); /* RI = (PSV - EDV)/PSV; RI > 1 means reversed diastole */
   return edv + (psv - edv) * systolic_shape(phase, rise);
}

/* Signed speed along +s (before the Poiseuille profile) at arclength `sarc`. */
double sim_segment_speed(const sono_sim_case_t *c, const sim_vessel_rt_t *rt, uint32_t vi, double sarc, double t)
{
   const sono_sim_vessel_t *v = &c->vessels[vi];
   double phase = t * c->heart_rate_hz;
   double dir = v->direction < 0 ? -1.0 : 1.0;
   if (!rt->occluded)
      return dir * sim_waveform(phase, v->psv_m_s, v->ri, SYSTOLIC_RISE);
   if (sarc >= rt->occ_s0 && sarc <= rt->occ_s1)
      return 0.0;
   int upstream = dir > 0 ? sarc < rt->occ_s0 : sarc > rt->occ_s1;
   if (upstream)
      return dir * sim_waveform(phase, v->psv_m_s, v->upstream_ri, SYSTOLIC_RISE);
   double psv_down = v->psv_m_s * v->downstream_factor;
   if (v->downstream_mode == SONO_SIM_DOWNSTREAM_REVERSED)
      return -dir * sim_waveform(phase, psv_down, 0.7, SYSTOLIC_RISE);
   return dir * sim_waveform(phase, psv_down, 0.45, TARDUS_RISE);
}

static int build_centreline(const sono_sim_case_t *c, const sono_sim_vessel_t *v, sim_vessel_rt_t *rt)
{
   double xa = c->x0_m - CENTRELINE_MARGIN, xb = c->x0_m + c->nx * c->dx_m + CENTRELINE_MARGIN;
   /* arclength by fine integration, then sampling uniformly in arclength */
   const double hx = 2e-6;
   int nfine = (int)((xb - xa) / hx) + 1;
   double len = 0, zprev = sim_vessel_centreline_z(c, v, xa);
   for (int i = 1; i < nfine; ++i) {
      double z = sim_vessel_centreline_z(c, v, xa + i * hx);
      len += hypot(hx, z - zprev);
      zprev = z;
   }
   rt->n = (int)(len / CENTRELINE_DS) + 2;
   rt->ds = CENTRELINE_DS;
   rt->length = (rt->n - 1) * CENTRELINE_DS;
   rt->cx = malloc(sizeof(double) * 4 * (size_t)rt->n);
   if (!rt->cx)
      return -1;
   rt->cz = rt->cx + rt->n;
   rt->tx = rt->cz + rt->n;
   rt->tz = rt->tx + rt->n;
   double s = 0, x = xa, z = sim_vessel_centreline_z(c, v, xa);
   int k = 0;
   rt->cx[0] = x;
   rt->cz[0] = z;
   for (int i = 1; i < nfine && k + 1 < rt->n; ++i) {
      double xn = xa + i * hx, zn = sim_vessel_centreline_z(c, v, xn);
      double step = hypot(hx, zn - z);
      while (k + 1 < rt->n && s + step >= (k + 1) * CENTRELINE_DS) {
         double f = ((k + 1) * CENTRELINE_DS - s) / step;
         ++k;
         rt->cx[k] = x + f * (xn - x);
         rt->cz[k] = z + f * (zn - z);
      }
      s += step;
      x = xn;
      z = zn;
   }
   for (++k; k < rt->n; ++k) { /* rounding at the far end */
      rt->cx[k] = rt->cx[k - 1] + (rt->cx[k - 1] - rt->cx[k - 2]);
      rt->cz[k] = rt->cz[k - 1] + (rt->cz[k - 1] - rt->cz[k - 2]);
   }
   for (k = 0; k < rt->n; ++k) {
      int a = k < rt->n - 1 ? k : k - 1;
      double dx = rt->cx[a + 1] - rt->cx[a], dz = rt->cz[a + 1] - rt->cz[a], h = hypot(dx, dz);
      rt->tx[k] = dx / h;
      rt->tz[k] = dz / h;
   }
   return 0;
}

void sim_vessel_point(const sim_vessel_rt_t *v, double sarc, double r, double *x, double *z, double *tz)
{
   double q = sarc / v->ds;
   int k = (int)floor(q);
   if (k < 0)
      k = 0;
   if (k > v->n - 2)
      k = v->n - 2;
   double f = q - k;
   double cx = v->cx[k] + f * (v->cx[k + 1] - v->cx[k]);
   double cz = v->cz[k] + f * (v->cz[k + 1] - v->cz[k]);
   *x = cx - r * v->tz[k];
   *z = cz + r * v->tx[k];
   if (tz)
      *tz = v->tz[k];
}

int sim_vessel_locate(const sim_vessel_rt_t *v, double x, double z, double *sarc, double *r)
{
   /* x is monotonic along the centreline, so bisect on cx then refine */
   int lo = 0, hi = v->n - 1;
   while (hi - lo > 1) {
      int mid = (lo + hi) / 2;
      if (v->cx[mid] <= x)
         lo = mid;
      else
         hi = mid;
   }
   int best = lo;
   double bd = 1e30;
   int span = 250; /* 2.5 mm of arclength either side covers the tilts we allow */
   for (int k = lo - span; k <= lo + span; ++k) {
      if (k < 0 || k >= v->n)
         continue;
      double d = (x - v->cx[k]) * (x - v->cx[k]) + (z - v->cz[k]) * (z - v->cz[k]);
      if (d < bd) {
         bd = d;
         best = k;
      }
   }
   double dx = x - v->cx[best], dz = z - v->cz[best];
   *sarc = best * v->ds + dx * v->tx[best] + dz * v->tz[best];
   *r = -dx * v->tz[best] + dz * v->tx[best];
   return 1;
}

double sim_deposit_s_range(const sono_sim_case_t *c, const sim_vessel_rt_t *v, const sono_sim_deposit_t *d, double *s1)
{
   double sc, r;
   (void)c;
   sim_vessel_locate(v, d->x_m, sim_vessel_centreline_z(c, &c->vessels[d->vessel], d->x_m), &sc, &r);
   *s1 = sc + d->half_width_m;
   return sc - d->half_width_m;
}

int sim_vessels_build(struct sono_sim *s)
{
   const sono_sim_case_t *c = &s->c;
   size_t total = 0;
   for (uint32_t i = 0; i < c->vessel_count; ++i) {
      sim_vessel_rt_t *rt = &s->vessels[i];
      memset(rt, 0, sizeof *rt);
      if (build_centreline(c, &c->vessels[i], rt))
         return -1;
      rt->radius = 0.5 * c->vessels[i].diameter_m;
      rt->bloom_radius = rt->radius;
      for (uint32_t a = 0; a < c->artefact_count; ++a) {
         if (c->artefacts[a].vessel != (int32_t)i)
            continue;
         if (c->artefacts[a].kind == SONO_SIM_ART_BLOOMING)
            rt->bloom_radius = BLOOM_SCALE * rt->radius;
         if (c->artefacts[a].kind == SONO_SIM_ART_MIRROR)
            rt->mirror = 1;
      }
      for (uint32_t d = 0; d < c->deposit_count; ++d) {
         const sono_sim_deposit_t *dep = &c->deposits[d];
         if (dep->placement == SONO_SIM_INTRALUMINAL && dep->vessel == (int32_t)i) {
            rt->occluded = 1;
            rt->occ_s0 = sim_deposit_s_range(c, rt, dep, &rt->occ_s1);
         }
      }
      double area = 2.0 * rt->bloom_radius * rt->length;
      rt->particles = (size_t)(area / (c->dx_m * c->dz_m) * PARTICLES_PER_PIXEL) + 1;
      rt->particle_amp = s->blood_amp / sqrt(PARTICLES_PER_PIXEL);
      total += rt->particles;
   }
   s->max_particles = total;
   s->particles = total ? malloc(sizeof(sim_particle_t) * total) : NULL;
   return (total && !s->particles) ? -1 : 0;
}

void sim_vessels_free(struct sono_sim *s)
{
   for (uint32_t i = 0; i < SONO_SIM_MAX_VESSELS; ++i) {
      free(s->vessels[i].cx);
      s->vessels[i].cx = NULL;
   }
   free(s->particles);
   s->particles = NULL;
}

/* Blooming shows the colour of a vessel spread past its walls, as excessive
 * colour gain or a low wall filter does, in every phase of the cycle. Its
 * band moves at BLOOM_SPEED of the segment speed, but in diastole that and
 * the slow flow by the wall fall under the host's clutter filter (svd:2:
 * the colour of a diastolic small artery covers a third of its lumen), so
 * the dilated colour map would vanish from the frames the truth labels.
 * Every particle of a blooming vessel (lumen and band) therefore moves
 * axially at no less than BLOOM_FLOOR_VN of the Nyquist velocity, in the
 * direction of the segment's flow (the vessel's direction while it is 0). */
static double bloom_speed(const sono_sim_case_t *c, const sim_vessel_rt_t *rt, uint32_t vi, double sarc, double u,
                          double seg)
{
   double x, z, tz;
   sim_vessel_point(rt, sarc, 0.0, &x, &z, &tz);
   double axial = fabs(tz) > BLOOM_MIN_AXIAL ? fabs(tz) : BLOOM_MIN_AXIAL;
   double floor_u = BLOOM_FLOOR_VN * sono_sim_nyquist(c) / axial;
   if (fabs(u) >= floor_u)
      return u;
   double sign = seg != 0.0 ? (seg > 0 ? 1.0 : -1.0) : (c->vessels[vi].direction < 0 ? -1.0 : 1.0);
   return sign * floor_u;
}

/* Fresh particle positions for each frame: frames are tens of ms apart, far
 * longer than blood takes to cross a resolution cell, so the speckle of
 * successive frames is independent; within the ensemble they move coherently. */
void sim_particles_draw(struct sono_sim *s, uint32_t frame)
{
   const sono_sim_case_t *c = &s->c;
   double t = sim_frame_time(c, frame);
   size_t np = 0;
   for (uint32_t vi = 0; vi < c->vessel_count; ++vi) {
      const sim_vessel_rt_t *rt = &s->vessels[vi];
      for (size_t i = 0; i < rt->particles; ++i) {
         uint64_t h0 = sim_hash(c->seed, RNG_PARTICLES, frame, ((uint64_t)vi << 40) | i);
         uint64_t h1 = sim_mix(h0), h2 = sim_mix(h1);
         double sarc = sim_u01(h0) * rt->length;
         double r = (2.0 * sim_u01(h1) - 1.0) * rt->bloom_radius;
         if (rt->occluded && sarc >= rt->occ_s0 && sarc <= rt->occ_s1)
            continue;
         double seg = sim_segment_speed(c, rt, vi, sarc, t);
         double q = r / rt->radius;
         double u = fabs(q) <= 1.0 ? seg * (1.0 - q * q) : BLOOM_SPEED * seg;
         if (rt->bloom_radius > rt->radius)
            u = bloom_speed(c, rt, vi, sarc, u, seg);
         sim_particle_t *p = &s->particles[np++];
         p->s = (float)sarc;
         p->r = (float)r;
         p->u = (float)u;
         p->re = (float)(rt->particle_amp * sim_gauss16(h2) * 0.70710678);
         p->im = (float)(rt->particle_amp * sim_gauss16(sim_mix(h2)) * 0.70710678);
         p->vessel = (int16_t)vi;
         p->flags = (int16_t)rt->mirror;
      }
   }
   s->nparticles = np;
}

static inline void splat(const struct sono_sim *s, fftwf_complex *work, double x, double z, float re, float im,
                         double amp)
{
   const sono_sim_case_t *c = &s->c;
   long ix = lround((x - c->x0_m) / c->dx_m), iz = lround((z - c->z0_m) / c->dz_m);
   if (ix < 0 || iz < 0 || ix >= (long)s->nx || iz >= (long)s->nz)
      return;
   double ph = -s->k2 * z; /* round-trip phase of a scatterer at depth z */
   work[iz + (long)s->fz * ix] += (re + I * im) * ((float)(amp * cos(ph)) + I * (float)(amp * sin(ph)));
}

static inline float gain_at(const struct sono_sim *s, double x, double z)
{
   const sono_sim_case_t *c = &s->c;
   long ix = lround((x - c->x0_m) / c->dx_m), iz = lround((z - c->z0_m) / c->dz_m);
   if (ix < 0 || iz < 0 || ix >= (long)s->nx || iz >= (long)s->nz)
      return 0.0f;
   return s->gain[iz + (long)s->nz * ix];
}

/* Blood stops at an intraluminal plug: a particle moving toward it halts at
 * its end instead of entering it during the ensemble (at 0.5 m/s a 6 ms
 * ensemble carries blood 3 mm into the occluded segment, which would show
 * as colour inside the plug). Stationary blood there is clutter to the wall
 * filter, as in a real occlusion. */
static inline double arrested_position(const sim_vessel_rt_t *rt, double s0, double ds)
{
   double s1 = s0 + ds;
   if (!rt->occluded)
      return s1;
   if (s0 < rt->occ_s0 && s1 > rt->occ_s0)
      return rt->occ_s0;
   if (s0 > rt->occ_s1 && s1 < rt->occ_s1)
      return rt->occ_s1;
   return s1;
}

/* Blood of ensemble sample n, in particle order (deterministic sums). */
void sim_particles_splat(const struct sono_sim *s, uint32_t n, fftwf_complex *work)
{
   double t = (double)n / s->c.prf_hz;
   for (size_t i = 0; i < s->nparticles; ++i) {
      const sim_particle_t *p = &s->particles[i];
      const sim_vessel_rt_t *rt = &s->vessels[p->vessel];
      double sarc = arrested_position(rt, p->s, p->u * t);
      sarc -= rt->length * floor(sarc / rt->length);
      double x, z;
      sim_vessel_point(rt, sarc, p->r, &x, &z, NULL);
      float g = gain_at(s, x, z);
      if (g == 0.0f)
         continue;
      splat(s, work, x, z, p->re, p->im, g);
      if (p->flags && s->bone_z > 0)
         splat(s, work, x, 2.0 * s->bone_z - z, p->re, p->im, 0.5 * g); /* mirror, -6 dB */
   }
}

double sono_sim_vessel_speed(const sono_sim_t *sim, uint32_t v, uint32_t frame)
{
   const sono_sim_vessel_t *ves = &sim->c.vessels[v];
   return sim_waveform(sim_frame_time(&sim->c, frame) * sim->c.heart_rate_hz, ves->psv_m_s,
                       sim->vessels[v].occluded ? ves->upstream_ri : ves->ri, SYSTOLIC_RISE);
}

int sono_sim_true_velocity(const sono_sim_t *sim, uint32_t frame, double x, double z, double *vel)
{
   *vel = 0.0;
   for (uint32_t vi = 0; vi < sim->c.vessel_count; ++vi) {
      const sim_vessel_rt_t *rt = &sim->vessels[vi];
      double sarc, r;
      sim_vessel_locate(rt, x, z, &sarc, &r);
      if (fabs(r) >= rt->radius || (rt->occluded && sarc >= rt->occ_s0 && sarc <= rt->occ_s1))
         continue;
      double q = r / rt->radius, tz;
      double u = sim_segment_speed(&sim->c, rt, vi, sarc, sim_frame_time(&sim->c, frame)) * (1.0 - q * q);
      double px, pz;
      sim_vessel_point(rt, sarc, r, &px, &pz, &tz);
      *vel = -u * tz; /* dz/dt = u*tz; positive velocity = decreasing z */
      return 1;
   }
   return 0;
}
