/* Overlay content H11.3 and H11.4: suggested targets inside intraluminal
 * or perivascular deposits, and the optional needling grid. Both are
 * planning aids (clinical-spec R5); nothing here computes a quantity of
 * product. */
#include <math.h>
#include <stdio.h>

#include "hy.h"

/* Hyaluronidase acts on hyaluronic acid only. The class estimate is not
 * always sure, so the pattern of §1 also counts: fresh HA is anechoic with
 * posterior enhancement, integrated HA hypoechoic with weaker enhancement,
 * and HA inside a lumen looks like blood without flow. Bright or shadowing
 * material (CaHA, PMMA, silicone...) gets no target. */
static int ha_pattern(const sono_an_deposit_t *d)
{
   if (d->cls == SONO_AN_HA_FRESH || d->cls == SONO_AN_HA_INTEGRATED)
      return 1;
   if (d->features.echo_db > -6.0f)
      return 0;
   return d->features.posterior_db >= 1.5f || (d->placement == SONO_AN_INTRALUMINAL && d->from_flow_gap);
}

/* A deposit cut by the edge of the image is not fully in view; an anechoic
 * band running off the image is also how an untraced vessel looks. */
static int fully_in_view(const hy_t *s, const sono_an_deposit_t *d)
{
   const sono_grid_t *g = &s->grid;
   double edge = 0.2e-3, x1 = g->x0_m + (g->nx - 1) * g->dx_m, z1 = g->z0_m + (g->nz - 1) * g->dz_m;
   return d->x_left_m > g->x0_m + edge && d->x_right_m < x1 - edge && d->z_bottom_m < z1 - edge;
}

/* Colour flow inside the outline within the cine window means blood: an
 * anechoic lumen the vessel tracer did not follow, never a target. */
#define HY_MAX_FLOW_FRACTION 0.15

static int targets_wanted(const hy_t *s, const sono_an_deposit_t *d)
{
   if (d->placement == SONO_AN_TISSUE || d->outline_count < 3 || !fully_in_view(s, d))
      return 0;
   if (sono_an_flow_fraction(s->an, d->outline, d->outline_count) >= HY_MAX_FLOW_FRACTION)
      return 0;
   return s->values[P_HA_PATTERN] < 0.5 || ha_pattern(d);
}

/* Traced lumen edges can sit inside the true wall by a few pixels; the
 * margin is kept from the traced lumen widened by this much. */
#define HY_LUMEN_UNCERTAINTY_M 0.3e-3

/* The margin is kept from blood itself (cine colour flow outside the
 * involved lumens) as well as from every traced lumen not involved: a
 * trace can miss part of a lumen, colour cannot appear where there is no
 * blood. The same uncertainty applies, since colour need not reach the
 * wall (slow flow near it falls below the wall filter). */
static int clear_of_protected(const hy_t *s, const sono_an_result_t *r, const sono_an_deposit_t *d, double x, double z,
                              double margin)
{
   margin += HY_LUMEN_UNCERTAINTY_M;
   if (hy_blood_distance(s, x, z) < margin)
      return 0;
   /* A perivascular deposit lies outside the lumen it presses on, even when
    * that vessel is involved (its silence is the compression, V1): its
    * targets stay in the deposit's own body, clear of that lumen by the
    * tracing uncertainty. */
   if (d->placement == SONO_AN_PERIVASCULAR && d->vessel >= 0 && (uint32_t)d->vessel < r->vessel_count &&
       sono_an_distance_to_lumen(&r->vessels[d->vessel], x, z) < HY_LUMEN_UNCERTAINTY_M)
      return 0;
   for (uint32_t v = 0; v < r->vessel_count; ++v)
      if (!s->involved[v] && sono_an_distance_to_lumen(&r->vessels[v], x, z) < margin)
         return 0;
   return 1;
}

/* Inside a lumen, material is evidenced by its echo or by the flow it
 * stops, never by silence alone: stagnant or slow blood beside a plug is as
 * silent as the plug, and anechoic HA looks like that blood on B-mode. A
 * deposit outlined from an absent-flow segment ends where colour resumes,
 * not where the material ends (validation seed 23, pair 0: the silent
 * segment ran 1.26 mm past the plug's end, where colour beside the gap is
 * sparse), and an intraluminal deposit darker than the tissue ends where its
 * darkness meets lumen that is just as dark. For both, the span along the
 * vessel that may be material is the deposit's extent within the silent
 * segment, and its ends are uncertain: targets keep this distance from both
 * ends, and are ranked by their distance from the nearer end added to
 * their distance from the outline, so they gather on the centreline at the
 * middle of the span, where the material surely is. An intraluminal deposit brighter than the tissue (an
 * echogenic plug) is evidenced by its echo and keeps its outline. */
#define HY_GAP_END_INSET_M 1.0e-3

static int silent_span(const sono_an_result_t *r, const sono_an_deposit_t *d, double *a, double *b)
{
   if (d->placement != SONO_AN_INTRALUMINAL || (!d->from_flow_gap && d->features.echo_db >= 0.0f))
      return 0;
   *a = d->x_left_m;
   *b = d->x_right_m;
   if (d->from_flow_gap || d->vessel < 0 || (uint32_t)d->vessel >= r->vessel_count)
      return 1;
   const sono_an_vessel_t *v = &r->vessels[d->vessel];
   if (v->occlusion < 0)
      return 1;
   const sono_an_segment_t *g = &v->segments[v->occlusion];
   double ga = v->points[g->first].x_m, gb = v->points[g->last].x_m;
   if (ga < *b && gb > *a) {
      *a = fmax(*a, ga);
      *b = fmin(*b, gb);
   }
   return 1;
}

/* A deposit outside the lumen whose body lies above it and whose posterior
 * level is at or below shadow_db casts an acoustic shadow over the lumen
 * under its lateral extent: neither echo nor colour reaches the lumen
 * there, so its silence is no evidence of a plug, and a plug's end under it
 * is unseen (seed 26, pair 14: the shadow of a perivascular CaHA
 * deposit, -14 dB, kept the vessel silent 1.45 mm past the end of a plug
 * shrunk by the treatment, and a target lay 0.1 mm past that end on every
 * frame). Shadowed columns leave the silent span, and their edges are
 * uncertain ends like the span's own. Returns how many shadows, each as its
 * lateral extent [x0[k], x1[k]]. */
static uint32_t shadows_over(const hy_t *s, const sono_an_result_t *r, const sono_an_deposit_t *d, double *x0,
                             double *x1)
{
   uint32_t n = 0;
   for (uint32_t i = 0; i < r->deposit_count && n < SONO_AN_MAX_DEPOSITS; ++i) {
      const sono_an_deposit_t *k = &r->deposits[i];
      if (k == d || !sono_an_shadows_lumen(k, d->z_top_m, s->cfg.shadow_db))
         continue;
      x0[n] = k->x_left_m;
      x1[n++] = k->x_right_m;
   }
   return n;
}

/* Distance from the nearer uncertain end of the span (or edge of a shadow
 * over it) beyond the inset, negative in a shadow; INFINITY for a deposit
 * whose outline is evidenced all round (then unused in the score). */
static double end_clearance(int has_span, double a, double b, const double *x0, const double *x1, uint32_t shadows,
                            double x)
{
   if (!has_span)
      return INFINITY;
   double e = fmin(x - a, b - x);
   for (uint32_t k = 0; k < shadows; ++k)
      e = fmin(e, x < x0[k] ? x0[k] - x : x > x1[k] ? x - x1[k] : -INFINITY);
   return e - HY_GAP_END_INSET_M;
}

/* An outline spans each of its columns from top to bottom, so where the
 * analysis joined fragments it can enclose tissue between them (seed 2045,
 * pair 25: an HA deposit joined to a dark band 0.4 mm under it enclosed the
 * bright layer between them, and the deepest point of the outline lay in
 * that layer, outside the deposit, on every frame). A target must show the
 * deposit's own material: its echo re the tissue, and that at the inset
 * around it, at least `share` of the deposit's contrast (the more extreme of
 * its mean and its median; half the contrast is the deposit's edge on the
 * smoothed image) and at most 1/`share` of its median contrast, on the same
 * side of the tissue level. Material twice as far from the tissue level as
 * the deposit's typical (median) echo is other material: an acoustic shadow,
 * fluid, blood (seed 32, pair 13: an integrated HA deposit, median -7.5 dB,
 * was outlined 0.3 mm into the shadow under the bone surface beneath it,
 * -19 to -25 dB, which passed half the mean (-11.5 dB); two targets lay
 * there, outside the deposit, on every frame). The median is read over the
 * points inside the outline by the inset. A deposit within
 * HY_MIN_CONTRAST_DB of the tissue has no contrast to test. */
#define HY_MIN_CONTRAST_DB 3.0
#define HY_ECHO_BIN_DB 0.5
#define HY_ECHO_BINS 160 /* 0 to 80 dB from the tissue level, on the deposit's side */

static int shows_deposit(const hy_t *s, double mean, double median, double x, double z, double inset)
{
   double share = s->values[P_TARGET_ECHO_SHARE];
   if (share <= 0 || fabs(mean) < HY_MIN_CONTRAST_DB)
      return 1;
   double lo = share * (fabs(median) > fabs(mean) ? median : mean), hi = median / share;
   static const double ring[9][2] = {{0, 0}, {1, 0}, {-1, 0}, {0, 1}, {0, -1},
                                     {0.7071, 0.7071}, {0.7071, -0.7071}, {-0.7071, 0.7071}, {-0.7071, -0.7071}};
   for (int k = 0; k < 9; ++k) {
      float e = sono_an_echo_at(s->an, x + inset * ring[k][0], z + inset * ring[k][1]);
      if (isnan(e) || (mean < 0 ? e > lo || e < hi : e < lo || e > hi))
         return 0;
   }
   return 1;
}

/* Median contrast (dB, signed like the mean) of the counted points:
 * hist[b] counts points HY_ECHO_BIN_DB * b dB or more beyond the tissue
 * level on the deposit's side (the other side in bin 0). */
static double median_contrast(const uint32_t *hist, uint32_t total, double mean)
{
   uint32_t want = (total + 1) / 2, seen = 0;
   int b = HY_ECHO_BINS - 1;
   for (; b > 0; --b)
      if ((seen += hist[b]) >= want)
         break;
   return total == 0 ? mean : mean < 0 ? -b * HY_ECHO_BIN_DB : b * HY_ECHO_BIN_DB;
}

/* Candidate points on a lattice over the deposit's bounding box, kept when
 * they are inside the outline by at least the inset (the outline is an
 * estimate), showing the deposit's own material, and clear of every
 * protected lumen by the margin. The score is the distance to the outline:
 * deep interior points are the surest. */
static uint32_t collect_candidates(hy_t *s, const sono_an_result_t *r, const sono_an_deposit_t *d)
{
   double w = d->x_right_m - d->x_left_m, h = d->z_bottom_m - d->z_top_m;
   double step = fmax(25e-6, sqrt(w * h / (HY_MAX_CANDIDATES * 0.9)));
   double inset = s->values[P_TARGET_INSET], margin = s->values[P_TARGET_MARGIN];
   double a = 0, b = 0, x0[SONO_AN_MAX_DEPOSITS], x1[SONO_AN_MAX_DEPOSITS];
   double mean = d->features.echo_db, side = mean < 0 ? -1.0 : 1.0;
   int span = silent_span(r, d, &a, &b);
   uint32_t shadows = span ? shadows_over(s, r, d, x0, x1) : 0;
   uint32_t hist[HY_ECHO_BINS] = {0}, inside = 0, n = 0;
   for (double z = d->z_top_m + step / 2; z < d->z_bottom_m && n < HY_MAX_CANDIDATES; z += step)
      for (double x = d->x_left_m + step / 2; x < d->x_right_m && n < HY_MAX_CANDIDATES; x += step) {
         if (!hy_point_in_polygon(d->outline, d->outline_count, x, z))
            continue;
         double edge = hy_distance_to_edges(d->outline, d->outline_count, x, z);
         if (edge < inset)
            continue;
         float e = sono_an_echo_at(s->an, x, z);
         if (!isnan(e)) {
            double k = floor(side * e / HY_ECHO_BIN_DB);
            hist[k < 0 ? 0 : k >= HY_ECHO_BINS ? HY_ECHO_BINS - 1 : (int)k]++;
            ++inside;
         }
         double ends = end_clearance(span, a, b, x0, x1, shadows, x);
         if (ends < 0 || !clear_of_protected(s, r, d, x, z, margin))
            continue;
         s->cand[n++] = (hy_candidate_t){(float)x, (float)z, (float)(span ? edge + ends : edge)};
      }
   double median = median_contrast(hist, inside, mean);
   uint32_t kept = 0;
   for (uint32_t i = 0; i < n; ++i)
      if (shows_deposit(s, mean, median, s->cand[i].x, s->cand[i].z, inset))
         s->cand[kept++] = s->cand[i];
   return kept;
}

static int spaced(const hy_t *s, double x, double z, double spacing)
{
   for (uint32_t t = 0; t < s->target_count; ++t) {
      double dx = s->targets[t].x - x, dz = s->targets[t].z - z;
      if (dx * dx + dz * dz < spacing * spacing)
         return 0;
   }
   return 1;
}

/* Greedy: the deepest-interior candidate first, then the next deepest that
 * keeps the minimum spacing from every target already placed. */
static void place_in_deposit(hy_t *s, uint32_t n, int deposit, uint32_t count)
{
   double spacing = s->values[P_TARGET_SPACING];
   for (uint32_t placed = 0; placed < count && s->target_count < HY_MAX_TARGETS; ++placed) {
      int best = -1;
      for (uint32_t i = 0; i < n; ++i)
         if (s->cand[i].score >= 0 && (best < 0 || s->cand[i].score > s->cand[best].score)) {
            if (spaced(s, s->cand[i].x, s->cand[i].z, spacing))
               best = (int)i;
            else
               s->cand[i].score = -1.0f; /* never eligible again: targets only accumulate */
         }
      if (best < 0)
         return;
      s->targets[s->target_count++] = (hy_target_t){s->cand[best].x, s->cand[best].z, deposit};
      s->cand[best].score = -1.0f;
   }
}

void hy_plan_targets(hy_t *s, const sono_an_result_t *r)
{
   s->target_count = 0;
   s->blood_ready = 0;
   uint32_t count = (uint32_t)s->values[P_TARGET_COUNT];
   for (uint32_t i = 0; i < r->deposit_count; ++i)
      s->eligible[i] = targets_wanted(s, &r->deposits[i]);
   for (uint32_t i = 0; i < r->deposit_count && count > 0; ++i) {
      const sono_an_deposit_t *d = &r->deposits[i];
      if (!s->eligible[i])
         continue;
      if (!s->blood_ready)
         hy_blood_map(s, r, HY_LUMEN_UNCERTAINTY_M, s->values[P_TARGET_MARGIN] + HY_LUMEN_UNCERTAINTY_M);
      uint32_t n = collect_candidates(s, r, d);
      place_in_deposit(s, n, (int)i, count);
   }
}

static void push_planning_label(hy_t *s, sono_point_t at, const sono_output_t *out)
{
   sono_event_overlay_t o;
   s->pts[0] = at;
   sono_kit_overlay_init(&o, SONO_SHAPE_LABEL, SONO_ROLE_ANNOTATION, s->pts, 1);
   o.label = HY_PLANNING_AID;
   sono_kit_push(out, &o);
}

static void targets_finding(hy_t *s, const sono_an_result_t *r, const sono_output_t *out)
{
   size_t len = 0;
   s->basis[0] = 0;
   uint32_t eligible = 0;
   for (uint32_t i = 0; i < r->deposit_count; ++i)
      eligible += (uint32_t)s->eligible[i];
   hy_append(s->basis, sizeof s->basis, &len, "%u point(s) in %u intraluminal/perivascular deposit(s)",
             s->target_count, eligible);
   for (uint32_t t = 0; t < s->target_count && t < 8; ++t)
      hy_append(s->basis, sizeof s->basis, &len, "; T%u %.1f mm deep", t + 1, s->targets[t].z * 1e3);
   hy_append(s->basis, sizeof s->basis, &len,
             "; each inside the deposit outline by >= %.2f mm, >= %.1f mm from vessels not involved, >= %.1f mm apart",
             s->values[P_TARGET_INSET] * 1e3, s->values[P_TARGET_MARGIN] * 1e3, s->values[P_TARGET_SPACING] * 1e3);
   snprintf(s->label, sizeof s->label, "Suggested targets (%s)", HY_PLANNING_AID);
   s->attrs[0] = (sono_attribute_t){"plugin_version", HY_VERSION};
   snprintf(s->attr_text[0], sizeof s->attr_text[0], "%u", s->target_count);
   s->attrs[1] = (sono_attribute_t){"target_count", s->attr_text[0]};
   sono_event_finding_t fi;
   sono_kit_finding_init(&fi, "injection_targets", s->target_count ? SONO_STATUS_DETECTED : SONO_STATUS_NOT_DETECTED);
   fi.confidence = 1.0f;
   fi.attributes = s->attrs;
   fi.attribute_count = 2;
   fi.label = s->label;
   fi.basis = s->basis;
   fi.caveat = "Targets follow the outline estimated on this frame; confirm the needle tip in the deposit on the live image.";
   fi.advice = s->target_count ? NULL : "No point met the inset and vessel margin; review the deposit on the live image.";
   sono_kit_push(out, &fi);
}

void hy_push_targets(hy_t *s, const sono_an_result_t *r, const sono_output_t *out)
{
   int eligible = 0;
   for (uint32_t i = 0; i < r->deposit_count; ++i)
      eligible |= s->eligible[i];
   if (!eligible || s->values[P_TARGET_COUNT] < 1)
      return;
   for (uint32_t t = 0; t < s->target_count; ++t) {
      const hy_target_t *tg = &s->targets[t];
      s->pts[0] = (sono_point_t){tg->x, tg->z};
      snprintf(s->text, sizeof s->text, "T%u %.1f mm deep", t + 1, tg->z * 1e3);
      sono_event_overlay_t o;
      sono_kit_overlay_init(&o, SONO_SHAPE_MARKER, SONO_ROLE_TARGET, s->pts, 1);
      o.label = s->text;
      sono_kit_push(out, &o);
      hy_push_measurement(out, "target_depth", tg->z, "m", s->text, s->pts[0]);
   }
   if (s->target_count)
      push_planning_label(s, hy_clamp(&s->grid, s->targets[0].x, s->targets[0].z - 0.5e-3), out);
   targets_finding(s, r, out);
}

/* ---- needling grid ------------------------------------------------------------------- */

/* Which way the occlusion's downstream lies: away from the segment the
 * analysis names upstream of it; else the traced flow direction; 0 unknown. */
static int downstream_side(const sono_an_vessel_t *v)
{
   /* Distal to an occlusion the flow is damped (PSV x 0.2-0.4, clinical-spec
    * §7.2): the clearly slower neighbour is downstream. */
   int o = v->occlusion;
   if (o > 0 && o + 1 < (int)v->segment_count) {
      float left = v->segments[o - 1].speed_m_s, right = v->segments[o + 1].speed_m_s;
      if (left > 1.25f * right)
         return 1;
      if (right > 1.25f * left)
         return -1;
   }
   if (v->upstream >= 0 && v->upstream != v->occlusion)
      return v->upstream < v->occlusion ? 1 : -1;
   return v->flow_direction;
}

/* From the start of the occluded segment to the end of the vessel in view,
 * downstream; without a known direction, the extent of the segments without
 * normal flow. */
int hy_hypoperfused_extent(const hy_t *s, const sono_an_result_t *r, double *x0, double *x1)
{
   int found = 0;
   for (uint32_t i = 0; i < r->vessel_count; ++i) {
      const sono_an_vessel_t *v = &r->vessels[i];
      if (!s->involved[i] || v->occlusion < 0 || v->point_count < 2)
         continue;
      const sono_an_segment_t *occ = &v->segments[v->occlusion];
      int side = downstream_side(v);
      double a, b;
      if (side > 0) {
         a = v->points[occ->first].x_m;
         b = v->points[v->point_count - 1].x_m;
      } else if (side < 0) {
         a = v->points[0].x_m;
         b = v->points[occ->last].x_m;
      } else {
         a = INFINITY;
         b = -INFINITY;
         for (uint32_t g = 0; g < v->segment_count; ++g)
            if (v->segments[g].perfusion != SONO_AN_PERFUSED) {
               a = fmin(a, v->points[v->segments[g].first].x_m);
               b = fmax(b, v->points[v->segments[g].last].x_m);
            }
      }
      *x0 = found ? fmin(*x0, a) : a;
      *x1 = found ? fmax(*x1, b) : b;
      found = 1;
   }
   return found && *x1 > *x0;
}

static int grid_extent(const hy_t *s, const sono_an_result_t *r, double *a, double *b, const char **what)
{
   int mode = (int)s->values[P_GRID_MODE];
   const sono_grid_t *g = &s->grid;
   double lo = g->x0_m, hi = g->x0_m + (g->nx - 1) * g->dx_m;
   if (mode == HY_GRID_REGION) {
      *a = fmax(fmin(s->values[P_GRID_X0], s->values[P_GRID_X1]), lo);
      *b = fmin(fmax(s->values[P_GRID_X0], s->values[P_GRID_X1]), hi);
      *what = "the region given";
   } else {
      if (!r->cine_ready || !hy_hypoperfused_extent(s, r, a, b))
         return 0;
      *a = fmax(*a, lo);
      *b = fmin(*b, hi);
      *what = "the hypoperfused territory";
   }
   return *b > *a;
}

/* Punctures centred on the territory, n = ceil(width / spacing) of them, so
 * every point of the territory lies within half a spacing of one (the cell
 * of each puncture), and no puncture falls outside it. Rows of the lattice
 * away from this plane are reached by moving the probe one spacing. */
void hy_push_grid(hy_t *s, const sono_an_result_t *r, const sono_output_t *out)
{
   double a, b;
   const char *what;
   if ((int)s->values[P_GRID_MODE] == HY_GRID_OFF || !grid_extent(s, r, &a, &b, &what))
      return;
   double sp = s->values[P_GRID_SPACING];
   double d0 = fmin(s->values[P_GRID_DEPTH_MIN], s->values[P_GRID_DEPTH_MAX]);
   double d1 = fmax(s->values[P_GRID_DEPTH_MIN], s->values[P_GRID_DEPTH_MAX]);
   uint32_t n = (uint32_t)ceil((b - a) / sp - 1e-9);
   n = n < 1 ? 1 : n > 64 ? 64 : n;
   double c = 0.5 * (a + b);
   for (uint32_t k = 0; k < n; ++k) {
      double x = c + ((double)k - 0.5 * (n - 1)) * sp;
      s->pts[0] = hy_clamp(&s->grid, x, d0);
      s->pts[1] = hy_clamp(&s->grid, x, d1);
      snprintf(s->text, sizeof s->text, "N%u %.1f-%.1f mm", k + 1, d0 * 1e3, d1 * 1e3);
      sono_event_overlay_t o;
      sono_kit_overlay_init(&o, SONO_SHAPE_POLYLINE, SONO_ROLE_NEEDLING_GRID, s->pts, 2);
      o.label = s->text;
      sono_kit_push(out, &o);
   }
   snprintf(s->text, sizeof s->text, "Needling grid %.1f mm, depth %.1f-%.1f mm (%s)", sp * 1e3, d0 * 1e3, d1 * 1e3,
            HY_PLANNING_AID);
   s->pts[0] = hy_clamp(&s->grid, a, d0 - 0.6e-3);
   sono_event_overlay_t o;
   sono_kit_overlay_init(&o, SONO_SHAPE_LABEL, SONO_ROLE_NEEDLING_GRID, s->pts, 1);
   o.label = s->text;
   sono_kit_push(out, &o);
   snprintf(s->basis, sizeof s->basis,
            "%u puncture(s) over %s, %.1f mm wide (x %.1f to %.1f mm); spacing %.1f mm, depth band %.1f-%.1f mm "
            "(defaults from a secondary source, unverified)",
            n, what, (b - a) * 1e3, a * 1e3, b * 1e3, sp * 1e3, d0 * 1e3, d1 * 1e3);
   snprintf(s->label, sizeof s->label, "Needling grid (%s)", HY_PLANNING_AID);
   s->attrs[0] = (sono_attribute_t){"plugin_version", HY_VERSION};
   sono_event_finding_t fi;
   sono_kit_finding_init(&fi, "needling_grid", SONO_STATUS_DETECTED);
   fi.confidence = 1.0f;
   fi.attributes = s->attrs;
   fi.attribute_count = 1;
   fi.label = s->label;
   fi.basis = s->basis;
   fi.caveat = "Spacing and depth band are configurable site-protocol parameters, not verified against primary sources.";
   sono_kit_push(out, &fi);
}
