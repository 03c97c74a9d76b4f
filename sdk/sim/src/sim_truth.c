/* Ground truth of formats.md §2, computed from the case geometry (not from
 * the rendered image), plus generator-specific extra fields. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <sono/sdk/names.h>

#include "sim_internal.h"

#define STEP_M 0.25e-3

static void point(cJSON *arr, double x, double z)
{
   cJSON *p = cJSON_CreateArray();
   cJSON_AddItemToArray(p, cJSON_CreateNumber(x));
   cJSON_AddItemToArray(p, cJSON_CreateNumber(z));
   cJSON_AddItemToArray(arr, p);
}

static double x_end(const sono_sim_case_t *c) { return c->x0_m + (c->nx - 1) * c->dx_m; }
static double z_end(const sono_sim_case_t *c) { return c->z0_m + (c->nz - 1) * c->dz_m; }

static cJSON *rect(double xa, double za, double xb, double zb)
{
   cJSON *p = cJSON_CreateArray();
   point(p, xa, za);
   point(p, xb, za);
   point(p, xb, zb);
   point(p, xa, zb);
   return p;
}

/* Arclength range of a vessel that lies inside the image. */
static void image_s_range(const sono_sim_t *s, const sim_vessel_rt_t *rt, double *s0, double *s1)
{
   double r;
   sim_vessel_locate(rt, s->c.x0_m, rt->cz[0], s0, &r);
   sim_vessel_locate(rt, x_end(&s->c), rt->cz[rt->n - 1], s1, &r);
   for (int k = 0; k < rt->n; ++k) { /* exact ends: first/last samples within [x0, x_end] */
      if (rt->cx[k] >= s->c.x0_m) {
         *s0 = k * rt->ds;
         break;
      }
   }
   for (int k = rt->n - 1; k >= 0; --k) {
      if (rt->cx[k] <= x_end(&s->c)) {
         *s1 = k * rt->ds;
         break;
      }
   }
}

static cJSON *tube(const sim_vessel_rt_t *rt, double s0, double s1, double radius)
{
   cJSON *p = cJSON_CreateArray();
   int n = (int)ceil((s1 - s0) / STEP_M) + 1;
   double x, z;
   for (int i = 0; i < n; ++i) {
      sim_vessel_point(rt, s0 + (s1 - s0) * i / (n - 1), -radius, &x, &z, NULL);
      point(p, x, z);
   }
   for (int i = n - 1; i >= 0; --i) {
      sim_vessel_point(rt, s0 + (s1 - s0) * i / (n - 1), radius, &x, &z, NULL);
      point(p, x, z);
   }
   return p;
}

static void add_artefact(cJSON *list, const char *kind, cJSON *polygon, int f0, int f1)
{
   cJSON *a = cJSON_CreateObject();
   cJSON_AddStringToObject(a, "kind", kind);
   if (polygon)
      cJSON_AddItemToObject(a, "polygon_m", polygon);
   if (f0 >= 0) {
      cJSON *fr = cJSON_CreateArray();
      cJSON_AddItemToArray(fr, cJSON_CreateNumber(f0));
      cJSON_AddItemToArray(fr, cJSON_CreateNumber(f1));
      cJSON_AddItemToObject(a, "frames", fr);
   }
   cJSON_AddItemToArray(list, a);
}

/* ---- vessels --------------------------------------------------------------- */

static double axial_fraction_at_centre(const sono_sim_t *s, uint32_t vi)
{
   const sim_vessel_rt_t *rt = &s->vessels[vi];
   double sc, r, x, z, tz;
   const sono_sim_vessel_t *v = &s->c.vessels[vi];
   sim_vessel_locate(rt, v->x_center_m, sim_vessel_centreline_z(&s->c, v, v->x_center_m), &sc, &r);
   sim_vessel_point(rt, sc, 0, &x, &z, &tz);
   return fabs(tz);
}

static cJSON *vessel_json(const sono_sim_t *s, uint32_t vi)
{
   const sono_sim_case_t *c = &s->c;
   const sono_sim_vessel_t *v = &c->vessels[vi];
   const sim_vessel_rt_t *rt = &s->vessels[vi];
   cJSON *o = cJSON_CreateObject();
   cJSON_AddStringToObject(o, "id", v->id);
   cJSON_AddStringToObject(o, "name", v->name);
   cJSON *cl = cJSON_AddArrayToObject(o, "centerline_m");
   double s0, s1, x, z;
   image_s_range(s, rt, &s0, &s1);
   for (double sa = s0; sa <= s1 + 1e-9; sa += STEP_M) {
      sim_vessel_point(rt, sa, 0, &x, &z, NULL);
      point(cl, x, z);
   }
   cJSON_AddNumberToObject(o, "diameter_m", v->diameter_m);
   cJSON_AddNumberToObject(o, "psv_m_s", v->psv_m_s);
   double ri = rt->occluded ? v->upstream_ri : v->ri;
   cJSON_AddNumberToObject(o, "ri", ri);
   cJSON_AddNumberToObject(o, "edv_m_s", v->psv_m_s * (1.0 - ri));
   cJSON *occ = cJSON_AddArrayToObject(o, "occluded_segments_m");
   if (rt->occluded) {
      cJSON *seg = cJSON_CreateArray();
      sim_vessel_point(rt, rt->occ_s0, 0, &x, &z, NULL);
      point(seg, x, z);
      sim_vessel_point(rt, rt->occ_s1, 0, &x, &z, NULL);
      point(seg, x, z);
      cJSON_AddItemToArray(occ, seg);
      cJSON_AddNumberToObject(o, "occluded_length_m", rt->occ_s1 - rt->occ_s0);
      cJSON_AddStringToObject(o, "downstream_flow",
                              v->downstream_mode == SONO_SIM_DOWNSTREAM_REVERSED ? "reversed" : "damped");
      cJSON_AddNumberToObject(o, "downstream_psv_m_s",
                              (v->downstream_mode == SONO_SIM_DOWNSTREAM_REVERSED ? -1 : 1) * v->psv_m_s *
                                 v->downstream_factor);
   }
   double cos_theta = axial_fraction_at_centre(s, vi);
   cJSON_AddNumberToObject(o, "beam_to_flow_angle_rad", acos(cos_theta));
   cJSON_AddStringToObject(o, "flow_direction", v->direction < 0 ? "-x" : "+x");
   cJSON_AddNumberToObject(o, "axial_psv_m_s", v->psv_m_s * cos_theta);
   cJSON *sp = cJSON_AddArrayToObject(o, "centerline_speed_m_s");
   for (uint32_t f = 0; f < c->frames; ++f)
      cJSON_AddItemToArray(sp, cJSON_CreateNumber(sono_sim_vessel_speed(s, vi, f)));
   cJSON_AddBoolToObject(o, "v9_indeterminate", sim_case_v9_indeterminate(c, vi));
   return o;
}

/* ---- deposits ------------------------------------------------------------- */

#define OUTLINE_POINTS 36
#define PERIVASCULAR_M 1.0e-3 /* formats.md §2 */

/* Point i of the ellipse (or the stadium around a string of pearls) that
 * outlines a deposit outside a lumen. */
static void outline_point(const sono_sim_t *s, const sono_sim_deposit_t *d, int i, double *x, double *z)
{
   double cx, cz, ang, t = 2.0 * SIM_PI * i / OUTLINE_POINTS, u, w;
   sim_deposit_frame(s, d, &cx, &cz, &ang);
   if (d->pearls > 0) {
      double rp = d->half_depth_m, half = 0.5 * (d->pearls - 1) * 2.2 * rp;
      u = rp * cos(t) + (cos(t) >= 0 ? half : -half);
      w = rp * sin(t);
   } else {
      u = d->half_width_m * cos(t);
      w = d->half_depth_m * sin(t);
   }
   *x = cx + u * cos(ang) - w * sin(ang);
   *z = cz + u * sin(ang) + w * cos(ang);
}

static cJSON *deposit_polygon(const sono_sim_t *s, const sono_sim_deposit_t *d)
{
   if (d->placement == SONO_SIM_INTRALUMINAL) {
      const sim_vessel_rt_t *rt = &s->vessels[d->vessel];
      return tube(rt, rt->occ_s0, rt->occ_s1, rt->radius);
   }
   cJSON *p = cJSON_CreateArray();
   for (int i = 0; i < OUTLINE_POINTS; ++i) {
      double x, z;
      outline_point(s, d, i, &x, &z);
      point(p, x, z);
   }
   return p;
}

/* formats.md §2: a deposit within 1 mm of a lumen is perivascular. The batch
 * draws a tissue deposit 1.2 mm from its vessel along the beam, so beside an
 * oblique vessel (or a second one) its gap across the vessel can fall under
 * 1 mm (0.64-0.98 mm on training seeds 101-106): the label follows the
 * definition, not the draw. Returns the index of the nearest vessel whose
 * lumen lies within PERIVASCULAR_M of the outline, else -1. */
static int vessel_within_reach(const sono_sim_t *s, const sono_sim_deposit_t *d)
{
   int nearest = -1;
   double best = PERIVASCULAR_M;
   for (uint32_t v = 0; v < s->c.vessel_count; ++v)
      for (int i = 0; i < OUTLINE_POINTS; ++i) {
         double x, z, sarc, r;
         outline_point(s, d, i, &x, &z);
         sim_vessel_locate(&s->vessels[v], x, z, &sarc, &r);
         if (fabs(r) - s->vessels[v].radius < best) {
            best = fabs(r) - s->vessels[v].radius;
            nearest = (int)v;
         }
      }
   return nearest;
}

/* Columns the deposit covers, for posterior-signature polygons. */
static cJSON *posterior_polygon(const sono_sim_t *s, const sono_sim_deposit_t *d, double depth_below)
{
   cJSON *p = cJSON_CreateArray();
   double xa = 1e9, xb = -1e9, step = 2.0 * s->c.dx_m;
   for (double x = s->c.x0_m; x <= x_end(&s->c); x += step) {
      double zb = sim_deposit_bottom(s, d, x);
      if (zb < 0)
         continue;
      point(p, x, zb);
      xa = fmin(xa, x);
      xb = fmax(xb, x);
   }
   if (xa > xb) {
      cJSON_Delete(p);
      return NULL;
   }
   double zb = depth_below > 0 ? 0 : z_end(&s->c);
   if (depth_below > 0) { /* bounded below the deepest point */
      for (double x = s->c.x0_m; x <= x_end(&s->c); x += step)
         zb = fmax(zb, sim_deposit_bottom(s, d, x));
      zb = fmin(zb + depth_below, z_end(&s->c));
   }
   point(p, xb, zb);
   point(p, xa, zb);
   return p;
}

/* The deposit and the 0.7 mm below it: comet tails start at foci anywhere
 * inside the deposit and run up to tail_echoes x lag below them. Top edge per
 * column, flat bottom below the deepest point. */
static cJSON *deposit_and_below_polygon(const sono_sim_t *s, const sono_sim_deposit_t *d, double depth_below)
{
   cJSON *p = cJSON_CreateArray();
   double xa = 1e9, xb = -1e9, zb = 0, step = 2.0 * s->c.dx_m;
   for (double x = s->c.x0_m; x <= x_end(&s->c); x += step) {
      double bottom = sim_deposit_bottom(s, d, x);
      if (bottom < 0)
         continue;
      double top = bottom;
      for (double z = s->c.z0_m; z < bottom; z += 0.5 * s->c.dz_m)
         if (sim_deposit_contains(s, d, x, z)) {
            top = z;
            break;
         }
      point(p, x, top);
      xa = fmin(xa, x);
      xb = fmax(xb, x);
      zb = fmax(zb, bottom);
   }
   if (xa > xb) {
      cJSON_Delete(p);
      return NULL;
   }
   zb = fmin(zb + depth_below, z_end(&s->c));
   point(p, xb, zb);
   point(p, xa, zb);
   return p;
}

static cJSON *deposit_json(const sono_sim_t *s, const sono_sim_deposit_t *d, cJSON *artefacts)
{
   cJSON *o = cJSON_CreateObject();
   cJSON_AddStringToObject(o, "id", d->id);
   cJSON_AddStringToObject(o, "class", sono_sim_filler_name(d->filler));
   cJSON_AddItemToObject(o, "polygon_m", deposit_polygon(s, d));
   sono_sim_placement_t placement = d->placement;
   int vessel = d->vessel, near = placement == SONO_SIM_TISSUE ? vessel_within_reach(s, d) : -1;
   if (near >= 0) {
      placement = SONO_SIM_PERIVASCULAR;
      vessel = near;
   }
   cJSON_AddStringToObject(o, "placement", sono_sim_placement_name(placement));
   if (vessel >= 0)
      cJSON_AddStringToObject(o, "vessel_id", s->c.vessels[vessel].id);
   cJSON_AddNumberToObject(o, "echo_db_re_fat", sim_filler_echo_db(d));
   double post = sim_filler_posterior_db(d->filler);
   cJSON_AddNumberToObject(o, "posterior_db", post);
   if (d->pearls > 0)
      cJSON_AddNumberToObject(o, "pearls", d->pearls);
   if (d->filler == SONO_SIM_PLLA)
      cJSON_AddNumberToObject(o, "age_months", d->age_months);

   /* posterior signatures strong enough to be artefacts (>= 3 dB, A6) */
   if (post <= -3.0)
      add_artefact(artefacts, "acoustic_shadow", posterior_polygon(s, d, 0), -1, -1);
   else if (post >= 3.0 && d->placement != SONO_SIM_INTRALUMINAL)
      add_artefact(artefacts, "posterior_enhancement", posterior_polygon(s, d, 0), -1, -1);
   if (d->filler == SONO_SIM_PMMA || d->filler == SONO_SIM_PCL)
      add_artefact(artefacts, "comet_tail", deposit_and_below_polygon(s, d, 0.7e-3), -1, -1);
   if (d->filler == SONO_SIM_SILICONE)
      add_artefact(artefacts, "reverberation", posterior_polygon(s, d, 3.0e-3), -1, -1);
   return o;
}

/* ---- artefacts --------------------------------------------------------------- */

static void aliasing_json(const sono_sim_t *s, uint32_t vi, cJSON *artefacts)
{
   const sono_sim_case_t *c = &s->c;
   const sim_vessel_rt_t *rt = &s->vessels[vi];
   double vn = sono_sim_nyquist(c), s0, s1, x, z, tz;
   image_s_range(s, rt, &s0, &s1);
   double run0 = -1;
   int f0 = (int)c->frames, f1 = -1;
   for (double sa = s0;; sa += STEP_M) {
      int wraps = 0;
      if (sa <= s1) {
         sim_vessel_point(rt, sa, 0, &x, &z, &tz);
         for (uint32_t f = 0; f < c->frames; ++f)
            if (fabs(sim_segment_speed(c, rt, vi, sa, sim_frame_time(c, f)) * tz) > vn) {
               wraps = 1;
               f0 = (int)f < f0 ? (int)f : f0;
               f1 = (int)f > f1 ? (int)f : f1;
            }
      }
      if (wraps && run0 < 0)
         run0 = sa;
      if (!wraps && run0 >= 0) {
         add_artefact(artefacts, "colour_aliasing", tube(rt, run0, sa - STEP_M, rt->radius), f0, f1);
         run0 = -1;
      }
      if (sa > s1)
         break;
   }
}

static void anisotropy_json(const sono_sim_t *s, cJSON *artefacts)
{
   const sono_sim_case_t *c = &s->c;
   const double five = 5.0 * SIM_PI / 180.0;
   double xa = 1e9;
   for (double x = c->x0_m; x <= x_end(c); x += c->dx_m)
      if (fabs(sim_muscle_angle(c, x)) >= five) {
         xa = x;
         break;
      }
   if (xa > x_end(c))
      return;
   cJSON *p = cJSON_CreateArray();
   sim_layer_bounds_t b;
   for (double x = xa; x <= x_end(c) + 1e-9; x += STEP_M) {
      sim_layer_bounds(c, x, &b);
      point(p, x, b.fat_end);
   }
   for (double x = x_end(c); x >= xa - 1e-9; x -= STEP_M) {
      sim_layer_bounds(c, x, &b);
      point(p, x, b.muscle_end);
   }
   add_artefact(artefacts, "anisotropy", p, -1, -1);
}

/* Whether (x, z) lies in an anechoic structure: a lumen, or a deposit whose
 * matrix is at least 25 dB below fat (fresh HA, PAAG). */
static int anechoic_at(const sono_sim_t *s, double x, double z)
{
   for (uint32_t k = 0; k < s->c.deposit_count; ++k)
      if (sim_deposit_contains(s, &s->c.deposits[k], x, z))
         return sim_filler_echo_db(&s->c.deposits[k]) <= -25.0;
   for (uint32_t v = 0; v < s->c.vessel_count; ++v) {
      double sarc, r;
      sim_vessel_locate(&s->vessels[v], x, z, &sarc, &r);
      if (fabs(r) < s->vessels[v].radius)
         return 1;
   }
   return 0;
}

static double clampd(double v, double lo, double hi) { return v < lo ? lo : v > hi ? hi : v; }

/* One lobe (side -1 or +1) of a side-lobe injection: the band swept by the
 * arc x = x_r + side*z*tan(theta), depth z/cos(theta), over the reflector's
 * width and the rendered lobe angles, widened by the PSF (main-lobe FWHM
 * laterally, 2.5 sigma plus a pixel axially). Vertices are clipped to the
 * image; a lobe wholly outside it is not labelled. */
static void side_lobe_json(const sono_sim_t *s, const sono_sim_artefact_t *a, int side, cJSON *artefacts)
{
   const sono_sim_case_t *c = &s->c;
   const double z = a->z_m, h = 0.5 * a->width_m, sg = sim_side_lobe_sigma();
   const double px = c->lateral_fwhm_m, pz = 2.5 * s->sigma_z + c->dz_m;
   const double t0 = fmax(0.0, a->lobe_angle_rad - SIM_SIDE_LOBE_REACH * sg);
   const double t1 = a->lobe_angle_rad + SIM_SIDE_LOBE_REACH * sg;
   const int n = 12;
   double u[2 * 12 + 4], w[2 * 12 + 4]; /* lobe +x in coordinates relative to the reflector centre */
   int m = 0;
   u[m] = -h + z * tan(t0) - px, w[m++] = z / cos(t0) - pz;
   u[m] = h + z * tan(t0) + px, w[m++] = z / cos(t0) - pz;
   for (int i = 0; i < n; ++i) {
      double t = t0 + (t1 - t0) * i / (n - 1);
      u[m] = h + z * tan(t) + px, w[m++] = z / cos(t) - pz;
   }
   u[m] = h + z * tan(t1) + px, w[m++] = z / cos(t1) + pz;
   u[m] = -h + z * tan(t1) - px, w[m++] = z / cos(t1) + pz;
   for (int i = n - 1; i >= 0; --i) {
      double t = t0 + (t1 - t0) * i / (n - 1);
      u[m] = -h + z * tan(t) - px, w[m++] = z / cos(t) + pz;
   }
   double X0 = c->x0_m, X1 = x_end(c), Z0 = c->z0_m, Z1 = z_end(c);
   double xmin = 1e9, xmax = -1e9, zmin = 1e9;
   for (int i = 0; i < m; ++i) {
      double x = a->x_m + side * u[i];
      xmin = fmin(xmin, x), xmax = fmax(xmax, x), zmin = fmin(zmin, w[i]);
   }
   if (xmax < X0 || xmin > X1 || zmin > Z1)
      return;
   cJSON *poly = cJSON_CreateArray();
   for (int i = 0; i < m; ++i)
      point(poly, clampd(a->x_m + side * u[i], X0, X1), clampd(w[i], Z0, Z1));
   add_artefact(artefacts, "side_lobe", poly, -1, -1);
   cJSON *o = cJSON_GetArrayItem(artefacts, cJSON_GetArraySize(artefacts) - 1);
   double off = z * tan(a->lobe_angle_rad), deeper = z / cos(a->lobe_angle_rad);
   cJSON_AddNumberToObject(o, "level_db", a->lobe_db);
   cJSON_AddNumberToObject(o, "lobe_angle_rad", side * a->lobe_angle_rad);
   cJSON_AddNumberToObject(o, "lateral_offset_m", side * off);
   cJSON_AddNumberToObject(o, "depth_shift_m", deeper - z);
   cJSON *r = cJSON_AddArrayToObject(o, "reflector_m");
   cJSON_AddItemToArray(r, cJSON_CreateNumber(a->x_m));
   cJSON_AddItemToArray(r, cJSON_CreateNumber(z));
   cJSON_AddNumberToObject(o, "reflector_width_m", a->width_m);
   cJSON_AddNumberToObject(o, "reflector_db_re_fat", SIM_SIDE_LOBE_REFLECTOR_DB);
   cJSON_AddBoolToObject(o, "in_anechoic", anechoic_at(s, a->x_m + side * off, deeper));
}

static void injected_json(const sono_sim_t *s, const sono_sim_artefact_t *a, cJSON *artefacts)
{
   const sono_sim_case_t *c = &s->c;
   double xa = a->x_m - 0.5 * a->width_m, xb = a->x_m + 0.5 * a->width_m;
   double W0 = c->x0_m, W1 = x_end(c), Z0 = c->z0_m, Z1 = z_end(c);
   switch (a->kind) {
   case SONO_SIM_ART_SHADOW: add_artefact(artefacts, "acoustic_shadow", rect(xa, a->z_m, xb, Z1), -1, -1); break;
   case SONO_SIM_ART_REVERBERATION:
      add_artefact(artefacts, "reverberation", rect(xa, a->z_m, xb, a->z_m + 6 * a->lag_m), -1, -1);
      break;
   case SONO_SIM_ART_MIRROR: {
      const sim_vessel_rt_t *rt = &s->vessels[a->vessel];
      double s0, s1;
      image_s_range(s, rt, &s0, &s1);
      cJSON *p = tube(rt, s0, s1, rt->radius);
      cJSON *pt;
      cJSON_ArrayForEach(pt, p) {
         cJSON *zz = cJSON_GetArrayItem(pt, 1);
         cJSON_SetNumberValue(zz, 2.0 * s->bone_z - zz->valuedouble);
      }
      add_artefact(artefacts, "mirror_image", p, -1, -1);
      break;
   }
   case SONO_SIM_ART_GAIN_HIGH: add_artefact(artefacts, "gain_high", NULL, -1, -1); break;
   case SONO_SIM_ART_GAIN_LOW: add_artefact(artefacts, "gain_low", NULL, -1, -1); break;
   case SONO_SIM_ART_NEAR_FIELD:
      add_artefact(artefacts, "near_field_clutter", rect(W0, Z0, W1, fmin(1.0e-3, c->layers.standoff_m)), -1, -1);
      break;
   case SONO_SIM_ART_BLOOMING: {
      const sim_vessel_rt_t *rt = &s->vessels[a->vessel];
      double s0, s1;
      image_s_range(s, rt, &s0, &s1);
      add_artefact(artefacts, "colour_blooming", tube(rt, s0, s1, rt->bloom_radius), -1, -1);
      break;
   }
   case SONO_SIM_ART_FLASH:
      add_artefact(artefacts, "colour_flash", rect(W0, Z0, W1, Z1), (int)a->frame0, (int)a->frame1);
      break;
   case SONO_SIM_ART_TWINKLING: {
      double cx, cz, ang;
      sim_deposit_frame(s, &c->deposits[a->deposit], &cx, &cz, &ang);
      double zb = sim_deposit_bottom(s, &c->deposits[a->deposit], cx);
      add_artefact(artefacts, "twinkling", rect(cx - 0.25e-3, zb, cx + 0.25e-3, zb + 1.5e-3), -1, -1);
      break;
   }
   case SONO_SIM_ART_COLOUR_NOISE: add_artefact(artefacts, "colour_noise", rect(W0, Z0, W1, Z1), -1, -1); break;
   case SONO_SIM_ART_SIDE_LOBE:
      side_lobe_json(s, a, -1, artefacts);
      side_lobe_json(s, a, +1, artefacts);
      break;
   default: break;
   }
}

static cJSON *acquisition_json(const sono_sim_case_t *c)
{
   cJSON *a = cJSON_CreateObject();
   cJSON_AddNumberToObject(a, "center_frequency_hz", c->center_frequency_hz);
   cJSON_AddNumberToObject(a, "prf_hz", c->prf_hz);
   cJSON_AddNumberToObject(a, "nyquist_velocity_m_s", sono_sim_nyquist(c));
   cJSON_AddStringToObject(a, "wall_filter", sono_wall_filter_name(c->wall_filter));
   cJSON_AddNumberToObject(a, "wall_filter_order", c->wall_filter_order);
   cJSON_AddNumberToObject(a, "steering_angle_rad", 0.0);
   cJSON_AddStringToObject(a, "preset", c->ophthalmic_preset ? "ophthalmic" : "facial");
   cJSON_AddBoolToObject(a, "ophthalmic", c->ophthalmic_preset);
   cJSON_AddNumberToObject(a, "snr_db", c->snr_db);
   cJSON_AddNumberToObject(a, "heart_rate_hz", c->heart_rate_hz);
   return a;
}

cJSON *sono_sim_ground_truth(const sono_sim_t *s)
{
   const sono_sim_case_t *c = &s->c;
   cJSON *gt = cJSON_CreateObject();
   cJSON_AddStringToObject(gt, "generator", "sono-phantom (libsono_sim) 1.0.0");
   cJSON_AddStringToObject(gt, "scenario", c->scenario);
   char seed[24]; /* a string: 64-bit seeds do not survive a JSON double */
   snprintf(seed, sizeof seed, "%llu", (unsigned long long)c->seed);
   cJSON_AddStringToObject(gt, "seed", seed);
   cJSON_AddItemToObject(gt, "acquisition", acquisition_json(c));
   cJSON_AddNumberToObject(gt, "iq_fat_rms", 1.0);
   cJSON_AddNumberToObject(gt, "iq_full_scale", s->full_scale);
   cJSON *vessels = cJSON_AddArrayToObject(gt, "vessels");
   cJSON *deposits = cJSON_AddArrayToObject(gt, "deposits");
   cJSON *artefacts = cJSON_AddArrayToObject(gt, "artefacts");
   for (uint32_t v = 0; v < c->vessel_count; ++v) {
      cJSON_AddItemToArray(vessels, vessel_json(s, v));
      aliasing_json(s, v, artefacts);
   }
   for (uint32_t d = 0; d < c->deposit_count; ++d)
      cJSON_AddItemToArray(deposits, deposit_json(s, &c->deposits[d], artefacts));
   for (uint32_t a = 0; a < c->artefact_count; ++a)
      injected_json(s, &c->artefacts[a], artefacts);
   if (s->bone_z > 0 && s->bone_z < z_end(c))
      add_artefact(artefacts, "acoustic_shadow", rect(c->x0_m, s->bone_z + 0.1e-3, x_end(c), z_end(c)), -1, -1);
   anisotropy_json(s, artefacts);
   cJSON *expect = cJSON_AddObjectToObject(gt, "expect");
   cJSON_AddStringToObject(expect, "intravascular", sono_sim_expected_intravascular(c));
   return gt;
}

char *sono_sim_ground_truth_json(const sono_sim_t *s)
{
   cJSON *gt = sono_sim_ground_truth(s);
   char *text = gt ? cJSON_Print(gt) : NULL;
   cJSON_Delete(gt);
   return text;
}
