/* Overlay content H11.1, H11.2 and H11.5: deposit outlines, vessel paths
 * with their perfusion state, and danger zones. */
#include <math.h>
#include <stdio.h>

#include "hy.h"

void hy_push_measurement(const sono_output_t *out, const char *name, double value, const char *unit,
                         const char *label, sono_point_t at)
{
   sono_event_measurement_t m;
   sono_kit_measurement_init(&m, name, value, unit, at);
   m.label = label;
   sono_kit_push(out, &m);
}

/* Rule V9 (clinical-spec §2), the shared implementation with this plugin's
 * limits: absent colour where it is uninformative never makes a vessel
 * "involved". */
static int flow_absence_informative(const hy_t *s, const sono_an_vessel_t *v, double vn)
{
   sono_an_v9_limits_t lim;
   sono_an_v9_limits_default(&lim);
   lim.min_diameter_m = s->values[P_MIN_DIAMETER];
   lim.scale_factor = s->values[P_SCALE_FACTOR];
   lim.expected_psv_m_s = s->values[P_EXPECTED_PSV];
   return !sono_an_rule_v9(v, vn, 1, &lim).applies;
}

/* A vessel is involved when it carries a candidate occlusion: absent flow
 * bounded by flow, over a full cine window, where absence of flow is
 * informative (V9). Intraluminal filler is found that way, so the same
 * rule covers it. Every other vessel, including one beside a perivascular
 * deposit or one whose silence is uninformative, is protected (danger zone,
 * target margin): in doubt a vessel is protected, so early frames and
 * uncertain perfusion protect more vessels, never fewer. */
void hy_mark_involved(hy_t *s, const sono_an_result_t *r, double nyquist_m_s)
{
   for (uint32_t v = 0; v < SONO_AN_MAX_VESSELS; ++v)
      s->involved[v] = v < r->vessel_count && r->cine_ready && r->vessels[v].occlusion >= 0 &&
                       flow_absence_informative(s, &r->vessels[v], nyquist_m_s);
}


/* which: 0 centreline, 1 upper lumen edge, 2 lower lumen edge. */
static uint32_t segment_line(hy_t *s, const sono_an_vessel_t *v, const sono_an_segment_t *seg, int which)
{
   uint32_t n = 0, span = seg->last - seg->first + 1, step = span / (HY_MAX_POINTS / 2) + 1;
   for (uint32_t i = seg->first;; i += step) {
      if (i > seg->last)
         i = seg->last;
      const sono_an_centre_point_t *p = &v->points[i];
      double z = which == 0 ? p->z_m : which == 1 ? p->top_z_m : p->bottom_z_m;
      s->pts[n++] = hy_clamp(&s->grid, p->x_m, z);
      if (i == seg->last)
         break;
   }
   return n;
}

static void segment_label(hy_t *s, const sono_an_segment_t *seg)
{
   if (seg->perfusion == SONO_AN_PERFUSED)
      snprintf(s->label, sizeof s->label, "perfused %.1f mm", seg->length_m * 1e3);
   else if (seg->perfusion == SONO_AN_REDUCED && seg->reversed)
      snprintf(s->label, sizeof s->label, "reduced flow %.1f mm (direction reversed re the reference segment)",
               seg->length_m * 1e3);
   else if (seg->perfusion == SONO_AN_REDUCED)
      snprintf(s->label, sizeof s->label, "reduced flow %.1f mm (peak speed %.0f%% of upstream)", seg->length_m * 1e3,
               seg->speed_ratio * 100.0);
   else
      snprintf(s->label, sizeof s->label, "absent flow %.1f mm", seg->length_m * 1e3);
}

static void push_segments(hy_t *s, const sono_an_vessel_t *v, const sono_output_t *out)
{
   for (uint32_t g = 0; g < v->segment_count; ++g) {
      const sono_an_segment_t *seg = &v->segments[g];
      for (int which = 0; which < 3; ++which) {
         uint32_t n = segment_line(s, v, seg, which);
         if (n < 2)
            continue;
         sono_event_overlay_t o;
         sono_kit_overlay_init(&o, SONO_SHAPE_POLYLINE, sono_an_perfusion_role(seg->perfusion), s->pts, n);
         if (which == 0) {
            segment_label(s, seg);
            o.label = s->label;
         }
         sono_kit_push(out, &o);
      }
   }
}

static void push_occlusion(hy_t *s, const sono_an_result_t *r, const sono_an_vessel_t *v, const sono_output_t *out)
{
   if (!r->cine_ready || v->occlusion < 0)
      return;
   const sono_an_segment_t *occ = &v->segments[v->occlusion];
   uint32_t n = sono_an_lumen_polygon(v, occ->first, occ->last, s->pts, 128);
   for (uint32_t i = 0; i < n; ++i)
      s->pts[i] = hy_clamp(&s->grid, s->pts[i].x_m, s->pts[i].z_m);
   snprintf(s->text, sizeof s->text, "possible occluded segment %.1f mm (no colour signal over %u frames)",
            occ->length_m * 1e3, r->cine_frames);
   if (n >= 3) {
      sono_event_overlay_t o;
      sono_kit_overlay_init(&o, SONO_SHAPE_POLYGON, SONO_ROLE_OCCLUSION, s->pts, n);
      o.label = s->text;
      sono_kit_push(out, &o);
   }
   const sono_an_centre_point_t *mid = &v->points[(occ->first + occ->last) / 2];
   hy_push_measurement(out, "occluded_length", occ->length_m, "m", "occluded segment length",
                       hy_clamp(&s->grid, mid->x_m, mid->z_m));
}

void hy_push_vessels(hy_t *s, const sono_an_result_t *r, const sono_output_t *out)
{
   for (uint32_t i = 0; i < r->vessel_count; ++i) {
      const sono_an_vessel_t *v = &r->vessels[i];
      if (v->point_count < 2)
         continue;
      push_segments(s, v, out);
      push_occlusion(s, r, v, out);
   }
}

/* ---- deposits -------------------------------------------------------------------- */

static void deposit_attributes(hy_t *s, const sono_an_deposit_t *d, uint32_t *na)
{
   uint32_t n = 0;
   s->attrs[n++] = (sono_attribute_t){"class", sono_an_class_name(d->cls)};
   s->attrs[n++] = (sono_attribute_t){"placement", sono_an_placement_name(d->placement)};
   s->attrs[n++] = (sono_attribute_t){"plugin_version", HY_VERSION};
   snprintf(s->attr_text[0], sizeof s->attr_text[0], "%.3f", d->area_m2 * 1e6);
   s->attrs[n++] = (sono_attribute_t){"area_mm2", s->attr_text[0]};
   if (d->vessel >= 0) {
      snprintf(s->attr_text[1], sizeof s->attr_text[1], "%.2f", d->distance_to_lumen_m * 1e3);
      s->attrs[n++] = (sono_attribute_t){"distance_to_vessel_mm", s->attr_text[1]};
   }
   for (int k = 0; k < SONO_AN_CLASS_COUNT; ++k) {
      snprintf(s->attr_key[k], sizeof s->attr_key[k], "p_%s", sono_an_class_name(k));
      snprintf(s->attr_text[2 + k], sizeof s->attr_text[2 + k], "%.3f", d->probability[k]);
      s->attrs[n++] = (sono_attribute_t){s->attr_key[k], s->attr_text[2 + k]};
   }
   *na = n;
}

static void push_deposit(hy_t *s, const sono_an_deposit_t *d, const sono_output_t *out)
{
   const char *cls = sono_an_class_label(d->cls);
   size_t len = 0;
   s->basis[0] = 0;
   hy_append(s->basis, sizeof s->basis, &len, "Area %.2f mm2, depth %.1f-%.1f mm, %.1f mm wide", d->area_m2 * 1e6,
             d->z_top_m * 1e3, d->z_bottom_m * 1e3, (d->x_right_m - d->x_left_m) * 1e3);
   if (d->vessel >= 0)
      hy_append(s->basis, sizeof s->basis, &len, "; %.1f mm from the nearest vessel lumen (%s)",
                d->distance_to_lumen_m * 1e3, sono_an_placement_name(d->placement));
   else
      hy_append(s->basis, sizeof s->basis, &len, "; no vessel traced in this view");
   if (d->compresses)
      hy_append(s->basis, sizeof s->basis, &len, "; against a lumen without colour flow (possible compression)");
   hy_append(s->basis, sizeof s->basis, &len, "; echo %+.0f dB, posterior %+.0f dB re surrounding tissue",
             d->features.echo_db, d->features.posterior_db);
   snprintf(s->label, sizeof s->label, "%s deposit%s%s", d->cls == SONO_AN_UNKNOWN ? "Unclassified" : "Possible",
            d->cls == SONO_AN_UNKNOWN ? "" : ", ", d->cls == SONO_AN_UNKNOWN ? "" : cls);
   uint32_t na;
   deposit_attributes(s, d, &na);
   sono_event_finding_t fi;
   sono_kit_finding_init(&fi, "filler_deposit", SONO_STATUS_DETECTED);
   fi.confidence = d->probability[d->cls];
   fi.region = d->outline_count >= 3 ? d->outline : NULL;
   fi.region_count = d->outline_count >= 3 ? d->outline_count : 0;
   fi.attributes = s->attrs;
   fi.attribute_count = na;
   fi.label = s->label;
   fi.basis = s->basis;
   fi.caveat = "Material class is a pattern estimate; hyaluronidase acts on hyaluronic-acid fillers only.";
   sono_kit_push(out, &fi);
   if (d->outline_count >= 3) {
      snprintf(s->text, sizeof s->text, "%s, %.1f mm2, depth %.1f-%.1f mm%s", cls, d->area_m2 * 1e6, d->z_top_m * 1e3,
               d->z_bottom_m * 1e3, "");
      if (d->vessel >= 0) {
         size_t tl = strlen(s->text);
         hy_append(s->text, sizeof s->text, &tl, ", %.1f mm to vessel", d->distance_to_lumen_m * 1e3);
      }
      sono_event_overlay_t o;
      sono_kit_overlay_init(&o, SONO_SHAPE_POLYGON, SONO_ROLE_DEPOSIT, d->outline, d->outline_count);
      o.label = s->text;
      sono_kit_push(out, &o);
   }
   hy_push_measurement(out, "deposit_area", d->area_m2, "m2", NULL, d->centroid);
   hy_push_measurement(out, "deposit_depth_top", d->z_top_m, "m", NULL, d->centroid);
   hy_push_measurement(out, "deposit_depth_bottom", d->z_bottom_m, "m", NULL, d->centroid);
   if (d->vessel >= 0)
      hy_push_measurement(out, "distance_to_vessel", d->distance_to_lumen_m, "m", NULL, d->centroid);
}

void hy_push_deposits(hy_t *s, const sono_an_result_t *r, const sono_output_t *out)
{
   for (uint32_t i = 0; i < r->deposit_count; ++i)
      push_deposit(s, &r->deposits[i], out);
}

/* ---- danger zones ------------------------------------------------------------------ */

/* The lumen widened by the margin measured perpendicular to the vessel: a
 * vertical offset of margin / cos(slope) keeps at least `margin` everywhere. */
static uint32_t danger_polygon(hy_t *s, const sono_an_vessel_t *v, double margin)
{
   uint32_t half = 96, n = 0, step = v->point_count / half + 1;
   double off = margin / fmax(cos(v->angle_rad), 0.3);
   double xpad = margin;
   for (uint32_t i = 0; i < v->point_count; i += step) {
      const sono_an_centre_point_t *p = &v->points[i];
      double x = p->x_m + (i == 0 ? -xpad : 0);
      s->pts[n++] = hy_clamp(&s->grid, x, p->top_z_m - off);
   }
   const sono_an_centre_point_t *last = &v->points[v->point_count - 1];
   s->pts[n++] = hy_clamp(&s->grid, last->x_m + xpad, last->top_z_m - off);
   s->pts[n++] = hy_clamp(&s->grid, last->x_m + xpad, last->bottom_z_m + off);
   uint32_t top = n - 1;
   for (int64_t k = (int64_t)top - 2; k >= 0; --k) {
      uint32_t i = (uint32_t)k * step;
      const sono_an_centre_point_t *p = &v->points[i];
      double x = p->x_m + (i == 0 ? -xpad : 0);
      s->pts[n++] = hy_clamp(&s->grid, x, p->bottom_z_m + off);
   }
   return n;
}

static void push_field_zone(hy_t *s, const sono_output_t *out)
{
   const sono_grid_t *g = &s->grid;
   double x1 = g->x0_m + (g->nx - 1) * g->dx_m, z1 = g->z0_m + (g->nz - 1) * g->dz_m;
   s->pts[0] = (sono_point_t){g->x0_m, g->z0_m};
   s->pts[1] = (sono_point_t){x1, g->z0_m};
   s->pts[2] = (sono_point_t){x1, z1};
   s->pts[3] = (sono_point_t){g->x0_m, z1};
   sono_event_overlay_t o;
   sono_kit_overlay_init(&o, SONO_SHAPE_POLYGON, SONO_ROLE_DANGER_ZONE, s->pts, 4);
   o.label = "Periorbital territory: whole field is a danger zone (risk to vision)";
   sono_kit_push(out, &o);
}

void hy_push_danger(hy_t *s, const sono_an_result_t *r, const sono_output_t *out)
{
   double margin = s->values[P_DANGER_MARGIN];
   for (uint32_t i = 0; i < r->vessel_count; ++i) {
      const sono_an_vessel_t *v = &r->vessels[i];
      if (s->involved[i] || v->point_count < 2)
         continue;
      uint32_t n = danger_polygon(s, v, margin);
      snprintf(s->text, sizeof s->text, "Danger zone: vessel not involved, +/-%.1f mm (no-go)", margin * 1e3);
      sono_event_overlay_t o;
      sono_kit_overlay_init(&o, SONO_SHAPE_POLYGON, SONO_ROLE_DANGER_ZONE, s->pts, n);
      o.label = s->text;
      sono_kit_push(out, &o);
   }
   if (s->values[P_PERIORBITAL] >= 0.5)
      push_field_zone(s, out);
}
