/* Baseline comparison (H7, H11.6) and migration, and the sono.state/1
 * payload that carries a baseline from one visit to the next.
 *
 * The payload is written field by field in little-endian order, so the same
 * baseline always gives the same bytes (no padding, no pointers) and a
 * state saved on one machine loads on another. */
#include <math.h>
#include <stdio.h>

#include "hy.h"

#define HY_MIN_BASE_AREA 0.5e-6 /* smaller baseline blobs are not followed (speckle) */

/* ---- capture ----------------------------------------------------------------------- */

static void capture_vessel(hy_base_vessel_t *b, const sono_an_vessel_t *v)
{
   memset(b, 0, sizeof *b);
   b->depth = v->depth_m;
   b->flow_length = v->flow_length_m;
   for (uint32_t g = 0; g < v->segment_count && b->silent_count < HY_MAX_SILENT; ++g) {
      const sono_an_segment_t *seg = &v->segments[g];
      if (seg->perfusion != SONO_AN_ABSENT)
         continue;
      b->silent_x0[b->silent_count] = v->points[seg->first].x_m;
      b->silent_x1[b->silent_count] = v->points[seg->last].x_m;
      b->silent_count++;
   }
}

/* The outline is kept at HY_BASE_OUTLINE evenly spaced vertices: enough to
 * tell the deposit from the tissue in its box when it is re-measured. */
static void capture_deposit(hy_base_deposit_t *b, const sono_an_deposit_t *d)
{
   *b = (hy_base_deposit_t){d->centroid.x_m, d->centroid.z_m, d->area_m2, d->z_top_m, d->z_bottom_m,
                            d->x_left_m,     d->x_right_m,    d->features.echo_db, d->cls, d->placement,
                            0,               {{0, 0}}};
   uint32_t n = d->outline_count < 3 ? 0 : d->outline_count;
   b->outline_count = n < HY_BASE_OUTLINE ? n : HY_BASE_OUTLINE;
   for (uint32_t j = 0; j < b->outline_count; ++j)
      b->outline[j] = d->outline[(size_t)j * n / b->outline_count];
}

void hy_baseline_capture(hy_t *s, const sono_an_result_t *r, uint64_t timestamp_ns)
{
   hy_baseline_t *b = &s->base;
   memset(b, 0, sizeof *b);
   b->present = 1;
   b->this_session = 1;
   b->timestamp_ns = timestamp_ns;
   for (uint32_t i = 0; i < r->deposit_count; ++i)
      capture_deposit(&b->deposits[b->deposit_count++], &r->deposits[i]);
   memset(s->rm_frames, 0, sizeof s->rm_frames);
   for (uint32_t i = 0; i < r->vessel_count; ++i)
      capture_vessel(&b->vessels[b->vessel_count++], &r->vessels[i]);
}

/* ---- matching ---------------------------------------------------------------------- */

typedef struct box {
   double x0, x1, z0, z1;
} box_t;

static box_t base_box(const hy_base_deposit_t *d) { return (box_t){d->x_left, d->x_right, d->z_top, d->z_bottom}; }
static box_t now_box(const sono_an_deposit_t *d) { return (box_t){d->x_left_m, d->x_right_m, d->z_top_m, d->z_bottom_m}; }

static int nearest_deposit(const sono_an_result_t *r, double x, double z, double radius, double *dist)
{
   int best = -1;
   double bd = radius;
   for (uint32_t i = 0; i < r->deposit_count; ++i) {
      double d = hypot(r->deposits[i].centroid.x_m - x, r->deposits[i].centroid.z_m - z);
      if (d <= bd) {
         bd = d;
         best = (int)i;
      }
   }
   *dist = bd;
   return best;
}

/* How unlike a baseline deposit a deposit now is, in metres of centroid
 * distance. A deposit keeps its material between visits and, when it
 * migrates, its size; hyaluronidase or resorption shrink it, nothing makes
 * it grow. So a deposit of the same class and similar area a little further
 * away is a better match than a nearer one of another material or size:
 * each e-fold of shrinkage counts as HY_MATCH_SHRINK_M of distance, each
 * e-fold of growth as HY_MATCH_GROWTH_M (growth is only outline noise), a
 * class change as HY_MATCH_CLASS_M (none when a class is unknown). A 50 %
 * shrink costs 0.7 mm, well under the 1-3 mm shifts migration means. */
#define HY_MATCH_SHRINK_M 1.0e-3
#define HY_MATCH_GROWTH_M 2.0e-3
#define HY_MATCH_CLASS_M 1.0e-3

static double match_cost(const hy_base_deposit_t *b, const sono_an_deposit_t *d)
{
   double cost = hypot(d->centroid.x_m - b->cx, d->centroid.z_m - b->cz);
   double change = log(fmax(d->area_m2, 1e-12) / b->area);
   cost += change > 0 ? HY_MATCH_GROWTH_M * change : -HY_MATCH_SHRINK_M * change;
   if (b->cls != SONO_AN_UNKNOWN && d->cls != SONO_AN_UNKNOWN && b->cls != d->cls)
      cost += HY_MATCH_CLASS_M;
   return cost;
}

/* A deposit keeps its material, so its echo stays on the same side of the
 * tissue: one clearly darker than the tissue (beyond half the analysis's
 * dark threshold) never becomes one clearly brighter (beyond half its
 * bright threshold), or the reverse. Such a pair is two different deposits
 * (held-out-like training pairs: a shrunk integrated-HA deposit, no longer
 * outlined, was matched with a bright PLLA-like blob 3.4 mm away and read
 * as -81 % and a 3.4 mm migration). */
static int opposite_echo(const hy_base_deposit_t *b, const sono_an_deposit_t *d, const sono_an_config_t *cfg)
{
   double dark = 0.5 * cfg->deposit_dark_db, bright = 0.5 * cfg->deposit_bright_db;
   return (b->echo_db <= dark && d->features.echo_db >= bright) || (b->echo_db >= bright && d->features.echo_db <= dark);
}

/* The deposit now (other than `self`) whose acoustic shadow holds a body
 * darker than the tissue (echo_db < 0) centred at lateral x with its top at
 * depth z_top: it lies outside the lumens above that top, its posterior
 * level is at or below shadow_db (sono_an_shadows_lumen) and x lies within
 * its lateral extent. -1 none. A body brighter than the tissue there is
 * seen: echoes reach it through the shadow (training seed 1, pair 39: a
 * PLLA deposit, +4 dB, 2 mm under a deposit read as CaHA, -15 dB). */
static int shadow_over(const hy_t *s, const sono_an_result_t *r, int self, double x, double z_top, double echo_db)
{
   if (echo_db >= 0)
      return -1; /* brighter than the tissue beside it: its echo reaches the probe */
   for (uint32_t i = 0; i < r->deposit_count; ++i) {
      const sono_an_deposit_t *k = &r->deposits[i];
      if ((int)i != self && x >= k->x_left_m && x <= k->x_right_m && sono_an_shadows_lumen(k, z_top, s->cfg.shadow_db))
         return (int)i;
   }
   return -1;
}

/* Material inside another deposit's acoustic shadow cannot be measured:
 * neither its echo nor its colour reaches the probe, and the dark column
 * under a shadowing deposit is outlined like a dark deposit (training seed
 * 30, pair 24: after a plug shrank to 1.3 mm and was no longer outlined,
 * the column under the preset's perivascular CaHA, posterior -13 dB, was
 * outlined as an intraluminal HA deposit 1.1 mm wide at -38 dB, 3.8 mm from
 * the plug; it was matched with the plug's baseline, read as -64 % there
 * and as a 4.0 mm migration). A deposit now, or a baseline deposit, whose
 * centroid lies in the shadow column of a deposit now above its top is
 * never matched; a baseline deposit left without a match by it is not
 * measurable (base_shadowed), never a number. */
static void find_shadowed(hy_t *s, const sono_an_result_t *r)
{
   for (uint32_t k = 0; k < r->deposit_count; ++k)
      s->shadowed[k] = shadow_over(s, r, (int)k, r->deposits[k].centroid.x_m, r->deposits[k].z_top_m,
                                 r->deposits[k].features.echo_db);
   for (uint32_t b = 0; b < s->base.deposit_count; ++b)
      s->base_shadowed[b] = shadow_over(s, r, -1, s->base.deposits[b].cx, s->base.deposits[b].z_top,
                                      s->base.deposits[b].echo_db);
}

/* One-to-one matching of followed baseline deposits with deposits now, the
 * cheapest pair first (match_cost), so two baseline deposits never claim
 * the same deposit. Only centroids within match_radius_m whose echo lies
 * on the same side of the tissue (opposite_echo), neither in an acoustic
 * shadow (find_shadowed), are candidates. A baseline deposit left without
 * a match that had a shadowed candidate is not measurable (base_shadowed
 * names the shadow). */
static void match_deposits(hy_t *s, const sono_an_result_t *r, int *match)
{
   int taken[SONO_AN_MAX_DEPOSITS] = {0}, hidden[SONO_AN_MAX_DEPOSITS];
   double radius = s->values[P_MATCH_RADIUS];
   for (uint32_t b = 0; b < SONO_AN_MAX_DEPOSITS; ++b)
      match[b] = hidden[b] = -1;
   for (;;) {
      double best = INFINITY;
      int bb = -1, bk = -1;
      for (uint32_t b = 0; b < s->base.deposit_count; ++b) {
         const hy_base_deposit_t *d = &s->base.deposits[b];
         if (match[b] >= 0 || d->area < HY_MIN_BASE_AREA || s->base_shadowed[b] >= 0)
            continue;
         for (uint32_t k = 0; k < r->deposit_count; ++k) {
            const sono_an_deposit_t *now = &r->deposits[k];
            if (taken[k] || hypot(now->centroid.x_m - d->cx, now->centroid.z_m - d->cz) > radius ||
                opposite_echo(d, now, &s->cfg))
               continue;
            if (s->shadowed[k] >= 0) {
               hidden[b] = s->shadowed[k];
               continue;
            }
            double cost = match_cost(d, now);
            if (cost < best) {
               best = cost;
               bb = (int)b;
               bk = (int)k;
            }
         }
      }
      if (bb < 0)
         break;
      match[bb] = bk;
      taken[bk] = 1;
   }
   for (uint32_t b = 0; b < s->base.deposit_count; ++b)
      if (match[b] < 0 && s->base_shadowed[b] < 0)
         s->base_shadowed[b] = hidden[b];
}

static int boxes_overlap(box_t a, box_t b)
{
   return fmax(a.x0, b.x0) <= fmin(a.x1, b.x1) && fmax(a.z0, b.z0) <= fmin(a.z1, b.z1);
}

/* A tissue or perivascular deposit matched with one whose box does not
 * overlap its baseline box and that is under migrated_area_share of its
 * baseline area is first re-measured in place (hy_remeasure.c). A deposit
 * that migrates keeps its material and size (outline noise between visits
 * stays well within a factor of 2), so a far deposit of similar size is
 * taken as moved: the in-place re-measure is not asked then, since beside a
 * vessel the old outline can hold anechoic blood outside the traced lumen
 * (a perivascular deposit moved whole by 2.5 mm read 0.41 mm2 "left" at
 * -12 dB). A far deposit much smaller than the baseline is either the
 * deposit shrunk and moved or another deposit: material still in place
 * means the deposit shrank below what is outlined and stayed (a training
 * pair: integrated HA with 0.42 mm2 left in place was matched with a -9 dB
 * speck 4.8 mm away and read as -74 % and a 4.8 mm migration). The far
 * match is then dropped; the comparison uses the in-place area and no
 * migration starts from it. */
static void keep_deposits_left_in_place(hy_t *s, const sono_an_result_t *r, const sono_frame_t *frame)
{
   for (uint32_t b = 0; b < s->base.deposit_count; ++b) {
      const hy_base_deposit_t *d = &s->base.deposits[b];
      int k = s->match[b];
      if (k < 0 || d->placement == SONO_AN_INTRALUMINAL || boxes_overlap(base_box(d), now_box(&r->deposits[k])) ||
          r->deposits[k].area_m2 >= s->values[P_MIGRATED_AREA_SHARE] * d->area)
         continue;
      hy_remeasure(s, r, frame, b, &s->rm[b]);
      s->rm_done[b] = 1;
      if (s->rm[b].status == HY_RM_SEEN)
         s->match[b] = -1;
   }
}

void hy_match_baseline(hy_t *s, const sono_an_result_t *r, const sono_frame_t *frame)
{
   memset(s->rm_done, 0, sizeof s->rm_done);
   for (uint32_t b = 0; b < SONO_AN_MAX_DEPOSITS; ++b)
      s->match[b] = -1;
   for (uint32_t k = 0; k < SONO_AN_MAX_DEPOSITS; ++k)
      s->shadowed[k] = s->base_shadowed[k] = -1;
   if (!s->base.present || s->capturing)
      return;
   find_shadowed(s, r);
   match_deposits(s, r, s->match);
   keep_deposits_left_in_place(s, r, frame);
}

static int nearest_vessel(const sono_an_result_t *r, double depth)
{
   int best = -1;
   double bd = 1.5e-3;
   for (uint32_t i = 0; i < r->vessel_count; ++i) {
      double d = fabs(r->vessels[i].depth_m - depth);
      if (d <= bd) {
         bd = d;
         best = (int)i;
      }
   }
   return best;
}

/* Length of the centreline inside [x0, x1] whose samples now carry flow. */
static double reperfused_length(const sono_an_vessel_t *v, double x0, double x1)
{
   double len = 0;
   for (uint32_t i = 1; i < v->point_count; ++i) {
      const sono_an_centre_point_t *a = &v->points[i - 1], *b = &v->points[i];
      double xm = 0.5 * (a->x_m + b->x_m);
      if (xm < x0 || xm > x1 || a->perfusion == SONO_AN_ABSENT || b->perfusion == SONO_AN_ABSENT)
         continue;
      len += hypot(b->x_m - a->x_m, b->z_m - a->z_m);
   }
   return len;
}

/* An intraluminal deposit no longer outlined: a plug shorter than the
 * analysis's shortest segment is not reported as a deposit, yet its
 * centreline samples stay without flow. The share of the deposit's
 * baseline extent along its vessel whose samples still show no flow
 * (flow fraction under the analysis's absent threshold) scales its
 * baseline area. Returns the share and the lengths (m), or -1 when no
 * vessel at its depth is traced over most of that extent. */
static double silent_share(const hy_t *s, const sono_an_result_t *r, const hy_base_deposit_t *b, double *silent,
                           double *span)
{
   int k = nearest_vessel(r, b->cz);
   if (k < 0)
      return -1;
   const sono_an_vessel_t *v = &r->vessels[k];
   double absent = s->cfg.absent_flow_fraction, covered = 0;
   *silent = *span = 0;
   for (uint32_t i = 1; i < v->point_count; ++i) {
      const sono_an_centre_point_t *p = &v->points[i - 1], *q = &v->points[i];
      double xm = 0.5 * (p->x_m + q->x_m);
      if (xm < b->x_left || xm > b->x_right)
         continue;
      double d = hypot(q->x_m - p->x_m, q->z_m - p->z_m);
      covered += q->x_m - p->x_m;
      *span += d;
      if (p->flow_fraction < absent && q->flow_fraction < absent)
         *silent += d;
   }
   if (covered < 0.8 * (b->x_right - b->x_left) || *span <= 0)
      return -1;
   return *silent / *span;
}

/* ---- comparison -------------------------------------------------------------------- */

typedef struct comparison {
   int deposits_followed;
   double area_base, area_now;     /* matched baseline deposits, summed */
   double silent, reperfused;      /* lengths over the previously silent segments */
   int vessels_followed;
   int indeterminate;              /* deposits neither outlined nor re-measurable in this frame */
   const char *why;                /* the last one's reason */
   char shadow_why[96];            /* its text when it is an acoustic shadow */
   sono_point_t at;
} comparison_t;

/* A deposit outlined in pieces at one visit and whole at the other (a
 * plug split where its echo thins, microsphere clusters): an unmatched
 * piece belongs to the matched deposit of the same visit, class and
 * placement whose bounding box comes within HY_PIECE_GAP_M of its own (in
 * depth and laterally), so the deposit's area is compared as a whole
 * rather than one piece reported gone. */
#define HY_PIECE_GAP_M 1.0e-3

static int pieces_touch(box_t a, box_t b)
{
   return fmax(a.x0, b.x0) - fmin(a.x1, b.x1) <= HY_PIECE_GAP_M && fmax(a.z0, b.z0) - fmin(a.z1, b.z1) <= HY_PIECE_GAP_M;
}

/* group[b]: the matched baseline deposit that b is part of (b itself when
 * matched), -1 for none. */
static void group_base_pieces(const hy_baseline_t *base, const int *match, int *group)
{
   for (uint32_t b = 0; b < base->deposit_count; ++b)
      group[b] = match[b] >= 0 ? (int)b : -1;
   for (uint32_t b = 0; b < base->deposit_count; ++b) {
      const hy_base_deposit_t *p = &base->deposits[b];
      double best = INFINITY;
      for (uint32_t a = 0; a < base->deposit_count && match[b] < 0 && p->area >= HY_MIN_BASE_AREA; ++a) {
         const hy_base_deposit_t *q = &base->deposits[a];
         double d = hypot(p->cx - q->cx, p->cz - q->cz);
         if (match[a] >= 0 && q->cls == p->cls && q->placement == p->placement && d < best &&
             pieces_touch(base_box(p), base_box(q))) {
            best = d;
            group[b] = (int)a;
         }
      }
   }
}

/* owner[k]: the baseline deposit that deposit k now is part of, -1 for none.
 * A deposit in an acoustic shadow (shadowed[k]) is part of none. */
static void group_now_pieces(const sono_an_result_t *r, const int *match, const int *shadowed, uint32_t base_count,
                             int *owner)
{
   for (uint32_t k = 0; k < r->deposit_count; ++k)
      owner[k] = -1;
   for (uint32_t b = 0; b < base_count; ++b)
      if (match[b] >= 0)
         owner[match[b]] = (int)b;
   for (uint32_t k = 0; k < r->deposit_count; ++k) {
      const sono_an_deposit_t *p = &r->deposits[k];
      double best = INFINITY;
      int to = -1;
      for (uint32_t j = 0; j < r->deposit_count && owner[k] < 0 && shadowed[k] < 0; ++j) {
         const sono_an_deposit_t *q = &r->deposits[j];
         double d = hypot(p->centroid.x_m - q->centroid.x_m, p->centroid.z_m - q->centroid.z_m);
         if (owner[j] >= 0 && q->cls == p->cls && q->placement == p->placement && d < best &&
             pieces_touch(now_box(p), now_box(q))) {
            best = d;
            to = owner[j];
         }
      }
      if (to >= 0)
         owner[k] = to;
   }
}

/* A tissue or perivascular deposit no longer outlined, re-measured inside
 * its baseline outline (hy_remeasure.c). Returns 0 when its area now is
 * indeterminate (out of the field, or an ambiguous contrast): it is then
 * not counted, and c says why. */
static int remeasured_area(hy_t *s, const sono_an_result_t *r, const sono_frame_t *frame, uint32_t i, comparison_t *c,
                           double *now, sono_point_t *at, char *seen, size_t size)
{
   hy_remeasure_t m;
   if (s->rm_done[i])
      m = s->rm[i]; /* re-measured already on this frame (keep_deposits_left_in_place) */
   else
      hy_remeasure(s, r, frame, i, &m);
   const char *side = s->base.deposits[i].echo_db < 0 ? "below" : "above";
   double threshold = hy_remeasure_threshold(&s->base.deposits[i], &s->cfg);
   if (m.status == HY_RM_OUT_OF_FIELD || m.status == HY_RM_AMBIGUOUS) {
      c->indeterminate++;
      c->why = m.status == HY_RM_OUT_OF_FIELD ? "its baseline region is not wholly in the field"
                                              : "its contrast against the tissue beside it is ambiguous";
      return 0;
   }
   *now = m.status == HY_RM_SEEN ? m.area_m2 : 0.0;
   if (m.status == HY_RM_SEEN) {
      *at = m.at;
      snprintf(seen, size, ", not outlined now: re-measured inside the baseline outline: %.2f mm2, contrast %+.0f dB",
               m.area_m2 * 1e6, m.contrast_db);
   } else
      snprintf(seen, size, ", not seen now: nothing inside the baseline outline stands %.0f dB %s the tissue beside "
               "it beyond the %.0f%% of that tissue's own speckle", fabs(threshold), side, m.tissue_share * 100.0);
   return 1;
}

static void compare_deposits(hy_t *s, const sono_an_result_t *r, const sono_frame_t *frame, comparison_t *c,
                             const sono_output_t *out)
{
   int group[SONO_AN_MAX_DEPOSITS], owner[SONO_AN_MAX_DEPOSITS];
   const int *match = s->match;
   group_base_pieces(&s->base, match, group);
   group_now_pieces(r, match, s->shadowed, s->base.deposit_count, owner);
   for (uint32_t i = 0; i < s->base.deposit_count; ++i) {
      const hy_base_deposit_t *b = &s->base.deposits[i];
      if (b->area < HY_MIN_BASE_AREA || (group[i] >= 0 && group[i] != (int)i))
         continue;
      double then = 0, now = 0;
      int pieces_then = 0, pieces_now = 0, k = match[i];
      for (uint32_t j = 0; j < s->base.deposit_count; ++j)
         if (j == i || group[j] == (int)i)
            then += s->base.deposits[j].area, pieces_then++;
      for (uint32_t j = 0; j < r->deposit_count; ++j)
         if (owner[j] == (int)i)
            now += r->deposits[j].area_m2, pieces_now++;
      sono_point_t at = k >= 0 ? r->deposits[k].centroid : hy_clamp(&s->grid, b->cx, b->cz);
      char seen[192] = ", not seen now";
      double silent, span, share = -1;
      int shadow = s->base_shadowed[i];
      if (k < 0 && pieces_now == 0 && shadow >= 0) {
         const sono_an_deposit_t *sh = &r->deposits[shadow];
         snprintf(c->shadow_why, sizeof c->shadow_why,
                  "under the acoustic shadow of %s deposit at x %.1f mm; review recommended",
                  sono_an_class_label(sh->cls), sh->centroid.x_m * 1e3);
         c->indeterminate++;
         c->why = c->shadow_why;
         continue;
      }
      if (k < 0 && pieces_now == 0 && b->placement == SONO_AN_INTRALUMINAL)
         share = silent_share(s, r, b, &silent, &span);
      if (k >= 0)
         seen[0] = 0;
      else if (share >= 0) {
         now = share * then;
         snprintf(seen, sizeof seen, ", not outlined now: from the %.1f of %.1f mm of its lumen still without flow",
                  silent * 1e3, span * 1e3);
      } else if (pieces_now == 0 && b->placement != SONO_AN_INTRALUMINAL &&
                 !remeasured_area(s, r, frame, i, c, &now, &at, seen, sizeof seen))
         continue;
      c->area_base += then;
      c->area_now += now;
      c->deposits_followed++;
      c->at = at;
      char pieces[64] = "";
      if (pieces_then > 1 || pieces_now > 1)
         snprintf(pieces, sizeof pieces, ", outlined in %d piece(s) then and %d now", pieces_then, pieces_now);
      snprintf(s->text, sizeof s->text, "deposit area %+.0f%% vs baseline (%.2f -> %.2f mm2)%s%s",
               (now - then) / then * 100.0, then * 1e6, now * 1e6, seen, pieces);
      hy_push_measurement(out, "deposit_area_change", (now - then) / then, "1", s->text, at);
   }
}

static void compare_vessels(hy_t *s, const sono_an_result_t *r, comparison_t *c, const sono_output_t *out)
{
   for (uint32_t i = 0; i < s->base.vessel_count; ++i) {
      const hy_base_vessel_t *b = &s->base.vessels[i];
      if (b->silent_count == 0)
         continue;
      int k = nearest_vessel(r, b->depth);
      if (k < 0)
         continue;
      const sono_an_vessel_t *v = &r->vessels[k];
      double silent = 0, back = 0;
      for (uint32_t g = 0; g < b->silent_count; ++g) {
         silent += b->silent_x1[g] - b->silent_x0[g];
         back += reperfused_length(v, b->silent_x0[g], b->silent_x1[g]);
      }
      c->silent += silent;
      c->reperfused += back;
      c->vessels_followed++;
      const sono_an_centre_point_t *mid = &v->points[v->point_count / 2];
      snprintf(s->text, sizeof s->text, "colour signal back over %.1f of %.1f mm previously silent", back * 1e3,
               silent * 1e3);
      hy_push_measurement(out, "reperfused_length", back, "m", s->text, hy_clamp(&s->grid, mid->x_m, mid->z_m));
   }
}

static const char *colour_returned(const comparison_t *c)
{
   if (c->vessels_followed == 0)
      return "not_assessed";
   if (c->reperfused >= 0.5 * c->silent)
      return "yes";
   return c->reperfused >= 0.5e-3 ? "partial" : "no";
}

static void comparison_text(hy_t *s, const sono_an_result_t *r, const comparison_t *c, uint64_t timestamp_ns)
{
   size_t len = 0;
   s->basis[0] = 0;
   if (c->deposits_followed)
      hy_append(s->basis, sizeof s->basis, &len, "Deposit area %.2f -> %.2f mm2 (%+.0f%%) over %d deposit(s)",
                c->area_base * 1e6, c->area_now * 1e6, (c->area_now - c->area_base) / c->area_base * 100.0,
                c->deposits_followed);
   else
      hy_append(s->basis, sizeof s->basis, &len, "No baseline deposit to follow");
   if (c->indeterminate)
      hy_append(s->basis, sizeof s->basis, &len, "; %d deposit(s) not outlined now and indeterminate: %s",
                c->indeterminate, c->why);
   if (!r->cine_ready)
      hy_append(s->basis, sizeof s->basis, &len, "; flow not yet assessable (cine %u frames)", r->cine_frames);
   else if (c->vessels_followed)
      hy_append(s->basis, sizeof s->basis, &len, "; colour signal back over %.1f of %.1f mm previously silent",
                c->reperfused * 1e3, c->silent * 1e3);
   else
      hy_append(s->basis, sizeof s->basis, &len, "; no previously silent segment followed in this view");
   if (s->base.this_session && timestamp_ns >= s->base.timestamp_ns)
      hy_append(s->basis, sizeof s->basis, &len, "; %.0f s since baseline",
                (double)(timestamp_ns - s->base.timestamp_ns) * 1e-9);
   else if (!s->base.this_session)
      hy_append(s->basis, sizeof s->basis, &len, "; baseline from a saved earlier visit");
}

void hy_push_comparison(hy_t *s, const sono_an_result_t *r, const sono_frame_t *frame, const sono_output_t *out)
{
   if (!s->base.present)
      return;
   uint64_t timestamp_ns = frame->timestamp_ns;
   comparison_t c = {0};
   c.at = hy_clamp(&s->grid, 0, 0);
   compare_deposits(s, r, frame, &c, out);
   if (r->cine_ready)
      compare_vessels(s, r, &c, out);
   comparison_text(s, r, &c, timestamp_ns);
   const char *colour = r->cine_ready ? colour_returned(&c) : "not_assessed";
   double change = c.deposits_followed ? (c.area_now - c.area_base) / c.area_base : 0.0;
   int response = (c.deposits_followed && change <= -0.2) || strcmp(colour, "yes") == 0 || strcmp(colour, "partial") == 0;
   sono_finding_status_t st = !c.deposits_followed && strcmp(colour, "not_assessed") == 0 ? SONO_STATUS_INDETERMINATE
                              : response                                                  ? SONO_STATUS_DETECTED
                                                                                          : SONO_STATUS_NOT_DETECTED;
   snprintf(s->label, sizeof s->label, "%s",
            st == SONO_STATUS_DETECTED        ? "Change since baseline consistent with response; review recommended"
            : st == SONO_STATUS_NOT_DETECTED ? "No clear change since baseline; re-scan recommended"
                                              : "Baseline comparison not assessable in this view");
   snprintf(s->attr_text[0], sizeof s->attr_text[0], "%.1f", change * 100.0);
   snprintf(s->attr_text[1], sizeof s->attr_text[1], "%.2f", c.reperfused * 1e3);
   uint32_t na = 0;
   s->attrs[na++] = (sono_attribute_t){"plugin_version", HY_VERSION};
   if (c.deposits_followed)
      s->attrs[na++] = (sono_attribute_t){"area_change_percent", s->attr_text[0]};
   s->attrs[na++] = (sono_attribute_t){"reperfused_length_mm", s->attr_text[1]};
   s->attrs[na++] = (sono_attribute_t){"colour_returned", colour};
   sono_event_finding_t fi;
   sono_kit_finding_init(&fi, "baseline_comparison", st);
   fi.confidence = st == SONO_STATUS_INDETERMINATE ? 0.5f : 0.8f;
   fi.attributes = s->attrs;
   fi.attribute_count = na;
   fi.label = s->label;
   fi.basis = s->basis;
   fi.caveat = "Compare like with like: same probe position, plane and colour settings as the baseline.";
   fi.advice = "Re-scan the treated segment to confirm flow (H7).";
   sono_kit_push(out, &fi);
   if (c.deposits_followed)
      hy_push_measurement(out, "deposit_area_change_total", change, "1", NULL, c.at);
}

/* ---- migration --------------------------------------------------------------------- */

static void direction_text(char *buf, size_t size, double dx, double dz)
{
   double d = hypot(dx, dz);
   size_t len = 0;
   buf[0] = 0;
   if (fabs(dx) >= 0.3 * d)
      hy_append(buf, size, &len, "%s", dx > 0 ? "toward +x (image right)" : "toward -x (image left)");
   if (fabs(dz) >= 0.3 * d)
      hy_append(buf, size, &len, "%s%s", len ? " and " : "", dz > 0 ? "deeper" : "more superficial");
}

static void push_migration(hy_t *s, const sono_an_deposit_t *d, double rx, double rz, const char *ref,
                           const sono_output_t *out)
{
   double dx = d->centroid.x_m - rx, dz = d->centroid.z_m - rz, dist = hypot(dx, dz);
   double threshold = s->values[P_MIGRATION_THRESHOLD];
   int moved = dist > threshold;
   char dir[96];
   direction_text(dir, sizeof dir, dx, dz);
   snprintf(s->basis, sizeof s->basis,
            "Deposit centroid at x %.1f, depth %.1f mm vs %s at x %.1f, depth %.1f mm: shift %.1f mm "
            "(lateral %+.1f, depth %+.1f mm); threshold %.1f mm",
            d->centroid.x_m * 1e3, d->centroid.z_m * 1e3, ref, rx * 1e3, rz * 1e3, dist * 1e3, dx * 1e3, dz * 1e3,
            threshold * 1e3);
   if (moved)
      snprintf(s->label, sizeof s->label, "Possible migration of the deposit, %.1f mm %s; review recommended",
               dist * 1e3, dir);
   else
      snprintf(s->label, sizeof s->label, "Deposit within %.1f mm of %s", threshold * 1e3, ref);
   snprintf(s->attr_text[0], sizeof s->attr_text[0], "%.3f", dist * 1e3);
   snprintf(s->attr_text[1], sizeof s->attr_text[1], "%.3f", dx * 1e3);
   snprintf(s->attr_text[2], sizeof s->attr_text[2], "%.3f", dz * 1e3);
   snprintf(s->attr_text[3], sizeof s->attr_text[3], "%.1f", atan2(dz, dx) * 180.0 / M_PI);
   s->attrs[0] = (sono_attribute_t){"plugin_version", HY_VERSION};
   s->attrs[1] = (sono_attribute_t){"distance_mm", s->attr_text[0]};
   s->attrs[2] = (sono_attribute_t){"dx_mm", s->attr_text[1]};
   s->attrs[3] = (sono_attribute_t){"dz_mm", s->attr_text[2]};
   s->attrs[4] = (sono_attribute_t){"direction_deg", s->attr_text[3]};
   s->attrs[5] = (sono_attribute_t){"reference", ref};
   s->attrs[6] = (sono_attribute_t){"direction", moved ? dir : "none"};
   sono_event_finding_t fi;
   sono_kit_finding_init(&fi, "migration", moved ? SONO_STATUS_DETECTED : SONO_STATUS_NOT_DETECTED);
   fi.confidence = moved ? (float)fmin(0.9, 0.5 + 0.1 * (dist - threshold) * 1e3) : 0.7f;
   fi.region = d->outline_count >= 3 ? d->outline : NULL;
   fi.region_count = d->outline_count >= 3 ? d->outline_count : 0;
   fi.attributes = s->attrs;
   fi.attribute_count = 7;
   fi.label = s->label;
   fi.basis = s->basis;
   fi.caveat = "Positions are relative to the probe: compare scans taken at the same landmark and plane.";
   fi.advice = moved ? "Migration is most frequent around the lips and under the eyes; review the adjacent region." : NULL;
   sono_kit_push(out, &fi);
   if (moved) {
      s->pts[0] = hy_clamp(&s->grid, rx, rz);
      s->pts[1] = d->centroid;
      sono_event_overlay_t o;
      sono_kit_overlay_init(&o, SONO_SHAPE_POLYLINE, SONO_ROLE_MEASUREMENT, s->pts, 2);
      snprintf(s->text, sizeof s->text, "shift %.1f mm", dist * 1e3);
      o.label = s->text;
      sono_kit_push(out, &o);
      hy_push_measurement(out, "migration_distance", dist, "m", NULL, d->centroid);
   }
}

/* The intended site (parameter first, then a loaded state) is compared
 * with the deposit nearest to it; without one, each baseline deposit is
 * compared with its nearest deposit now. */
void hy_push_migration(hy_t *s, const sono_an_result_t *r, const sono_output_t *out)
{
   double radius = s->values[P_MATCH_RADIUS], dist;
   if (s->values[P_INTENDED_SITE] >= 0.5 || s->has_intended_saved) {
      int param = s->values[P_INTENDED_SITE] >= 0.5;
      double x = param ? s->values[P_INTENDED_X] : s->intended_x, z = param ? s->values[P_INTENDED_Z] : s->intended_z;
      int k = nearest_deposit(r, x, z, 2.0 * radius, &dist);
      if (k >= 0)
         push_migration(s, &r->deposits[k], x, z, "the intended injection site", out);
      return;
   }
   if (!s->base.present || s->base.this_session)
      return;
   for (uint32_t i = 0; i < s->base.deposit_count; ++i)
      if (s->match[i] >= 0)
         push_migration(s, &r->deposits[s->match[i]], s->base.deposits[i].cx, s->base.deposits[i].cz,
                        "its position at baseline", out);
}

/* ---- state payload ------------------------------------------------------------------- */

typedef struct writer {
   uint8_t *buf;
   size_t len;
} writer_t;

static void put_u32(writer_t *w, uint32_t v)
{
   for (int i = 0; i < 4; ++i)
      w->buf[w->len++] = (uint8_t)(v >> (8 * i));
}

static void put_u64(writer_t *w, uint64_t v)
{
   for (int i = 0; i < 8; ++i)
      w->buf[w->len++] = (uint8_t)(v >> (8 * i));
}

static void put_f64(writer_t *w, double d)
{
   uint64_t v;
   memcpy(&v, &d, sizeof v);
   put_u64(w, v);
}

size_t hy_state_encode(const hy_t *s, uint8_t *buf)
{
   writer_t w = {buf, 0};
   const hy_baseline_t *b = &s->base;
   int param = s->values[P_INTENDED_SITE] >= 0.5;
   put_u32(&w, (uint32_t)b->present);
   put_u64(&w, b->timestamp_ns);
   put_u32(&w, b->deposit_count);
   for (uint32_t i = 0; i < b->deposit_count; ++i) {
      const hy_base_deposit_t *d = &b->deposits[i];
      put_f64(&w, d->cx), put_f64(&w, d->cz), put_f64(&w, d->area), put_f64(&w, d->z_top), put_f64(&w, d->z_bottom);
      put_f64(&w, d->x_left), put_f64(&w, d->x_right), put_f64(&w, d->echo_db);
      put_u32(&w, (uint32_t)d->cls), put_u32(&w, (uint32_t)d->placement), put_u32(&w, d->outline_count);
      for (uint32_t j = 0; j < d->outline_count; ++j)
         put_f64(&w, d->outline[j].x_m), put_f64(&w, d->outline[j].z_m);
   }
   put_u32(&w, b->vessel_count);
   for (uint32_t i = 0; i < b->vessel_count; ++i) {
      const hy_base_vessel_t *v = &b->vessels[i];
      put_f64(&w, v->depth), put_f64(&w, v->flow_length), put_u32(&w, v->silent_count);
      for (uint32_t g = 0; g < v->silent_count; ++g)
         put_f64(&w, v->silent_x0[g]), put_f64(&w, v->silent_x1[g]);
   }
   /* The intended site in force is kept, so a follow-up visit can use it. */
   put_u32(&w, (uint32_t)(param || s->has_intended_saved));
   put_f64(&w, param ? s->values[P_INTENDED_X] : s->intended_x);
   put_f64(&w, param ? s->values[P_INTENDED_Z] : s->intended_z);
   return w.len;
}

typedef struct reader {
   const uint8_t *buf;
   size_t len, pos;
   int bad;
} reader_t;

static uint64_t get_bytes(reader_t *r, int n)
{
   if (r->bad || r->pos + (size_t)n > r->len) {
      r->bad = 1;
      return 0;
   }
   uint64_t v = 0;
   for (int i = 0; i < n; ++i)
      v |= (uint64_t)r->buf[r->pos++] << (8 * i);
   return v;
}

static uint32_t get_u32(reader_t *r) { return (uint32_t)get_bytes(r, 4); }

static double get_f64(reader_t *r)
{
   uint64_t v = get_bytes(r, 8);
   double d;
   memcpy(&d, &v, sizeof d);
   if (!isfinite(d))
      r->bad = 1;
   return d;
}

int hy_state_decode(const uint8_t *buf, size_t size, hy_baseline_t *base, int32_t *has_intended, double *ix,
                    double *iz)
{
   reader_t r = {buf, size, 0, 0};
   hy_baseline_t b;
   memset(&b, 0, sizeof b);
   b.present = get_u32(&r) != 0;
   b.timestamp_ns = get_bytes(&r, 8);
   b.deposit_count = get_u32(&r);
   if (b.deposit_count > SONO_AN_MAX_DEPOSITS)
      return -1;
   for (uint32_t i = 0; i < b.deposit_count; ++i) {
      hy_base_deposit_t *d = &b.deposits[i];
      d->cx = get_f64(&r), d->cz = get_f64(&r), d->area = get_f64(&r), d->z_top = get_f64(&r), d->z_bottom = get_f64(&r);
      d->x_left = get_f64(&r), d->x_right = get_f64(&r), d->echo_db = get_f64(&r);
      d->cls = (int32_t)get_u32(&r), d->placement = (int32_t)get_u32(&r), d->outline_count = get_u32(&r);
      if (d->outline_count > HY_BASE_OUTLINE || d->outline_count == 1 || d->outline_count == 2)
         return -1;
      for (uint32_t j = 0; j < d->outline_count; ++j)
         d->outline[j].x_m = get_f64(&r), d->outline[j].z_m = get_f64(&r);
      if (d->area <= 0 || d->x_left > d->x_right || d->z_top > d->z_bottom || d->cls < 0 || d->cls >= SONO_AN_CLASS_COUNT || d->placement < 0 || d->placement > 2)
         r.bad = 1;
   }
   b.vessel_count = get_u32(&r);
   if (b.vessel_count > SONO_AN_MAX_VESSELS)
      return -1;
   for (uint32_t i = 0; i < b.vessel_count && !r.bad; ++i) {
      hy_base_vessel_t *v = &b.vessels[i];
      v->depth = get_f64(&r), v->flow_length = get_f64(&r), v->silent_count = get_u32(&r);
      if (v->silent_count > HY_MAX_SILENT)
         return -1;
      for (uint32_t g = 0; g < v->silent_count; ++g)
         v->silent_x0[g] = get_f64(&r), v->silent_x1[g] = get_f64(&r);
   }
   int32_t has = get_u32(&r) != 0;
   double x = get_f64(&r), z = get_f64(&r);
   if (r.bad || r.pos != r.len)
      return -1;
   b.this_session = 0;
   *base = b;
   *has_intended = has;
   *ix = x;
   *iz = z;
   return 0;
}
