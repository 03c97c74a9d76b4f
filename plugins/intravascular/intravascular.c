/* org.sonoplug.intravascular: intravascular-filler recognition with filler
 * mapping (docs/clinical.md, "Intravascular-filler recognition").
 *
 * Per frame the shared analysis module (sdk/analysis) traces the vessels,
 * their perfusion over the cine window and the deposits; this file turns
 * that into findings, measurements and overlays, and applies the output
 * rules of clinical-spec §2 and §6:
 *   - V9: a vessel under 0.8 mm, or a velocity scale above 2x the expected
 *     PSV, gives "indeterminate", never "not_detected";
 *   - R5: "consistent with" wording, the basis numbers, the fixed caveat,
 *     the plugin version; no dose.
 * The decision is made per vessel: an absent-flow segment of at least
 * min_occlusion_m, bounded by flow, that has persisted over the whole cine
 * window, in a vessel where V9 does not apply, is "detected".
 *
 * Real-time rule: process() allocates nothing; text and point buffers live
 * in the instance, the analysis context is created in activate(). */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sono/analysis/analysis.h>
#include <sono/sdk/plugin_kit.h>

#define IV_VERSION "1.0.0"
#define IV_CAVEAT "Absence of Doppler signal does not exclude intravascular filler (slow flow/small vessels)."

/* ---- parameters ---------------------------------------------------------------- */

enum {
   P_MIN_DIAMETER, P_SCALE_FACTOR, P_EXPECTED_PSV, P_V9_MARGIN, P_MIN_OCCLUSION, P_CINE_WINDOW,
   P_ABSENT_FRACTION, P_REDUCED_RATIO, P_PERIVASCULAR, P_UNTRACED_FLOW, P_LARGE_CALIBRE,
   P_EXPECTED_PSV_LARGE, P_COURSE_CONTRAST, P_FLASH_SHARE, P_SHADOW_DB, P_COMPRESS_REACH, P_COMPRESS_SHARE, P_REVERB_ECHO_DB, P_COURSE_SHARE, P_STUMP_RI,
   P_PLUG_TOUCH, P_PLUG_COVER, P_CLOUD_LINK, P_COURSE_LINE, P_COUNT
};

static const sono_kit_param_t params[P_COUNT] = {
   {"min_diameter_m", "Smallest vessel assessable (V9)", "m", SONO_PARAM_FLOAT, 0.3e-3, 3e-3, 0.8e-3, NULL},
   {"scale_factor", "Velocity scale / expected PSV above which flow absence is uninformative (V9)", "1",
    SONO_PARAM_FLOAT, 1.0, 5.0, 2.0, NULL},
   {"expected_psv_m_s", "Lowest expected PSV, used when it cannot be measured", "m/s", SONO_PARAM_FLOAT, 0.05, 1.0, 0.092,
    NULL},
   {"v9_margin", "Safety margin on the V9 limits (measurement uncertainty)", "1", SONO_PARAM_FLOAT, 0.0, 0.5, 0.15,
    NULL},
   {"min_occlusion_m", "Shortest absent-flow segment reported", "m", SONO_PARAM_FLOAT, 0.3e-3, 10e-3, 1.5e-3, NULL},
   {"cine_window_s", "Flow memory (one cardiac cycle)", "s", SONO_PARAM_FLOAT, 0.2, 5.0, 1.0, NULL},
   {"absent_flow_fraction", "Lumen flow share below which a segment is absent", "1", SONO_PARAM_FLOAT, 0.02, 0.6,
    0.15, NULL},
   {"reduced_speed_ratio", "Speed ratio below which a segment is reduced", "1", SONO_PARAM_FLOAT, 0.1, 0.9, 0.5, NULL},
   {"perivascular_m", "Distance to a lumen counted as perivascular", "m", SONO_PARAM_FLOAT, 0.1e-3, 3e-3, 1e-3,
    NULL},
   {"untraced_flow_m2", "Flow area outside the traced vessels above which no vessel is reported not_detected", "m2",
    SONO_PARAM_FLOAT, 0.05e-6, 20e-6, 2e-6, NULL},
   {"large_calibre_m", "Calibre above which (raised by the margin) only the facial artery is expected (V9)", "m",
    SONO_PARAM_FLOAT, 0.8e-3, 3e-3, 1.2e-3, NULL},
   {"expected_psv_large_m_s", "Lowest expected PSV above large_calibre_m, used when it cannot be measured", "m/s",
    SONO_PARAM_FLOAT, 0.05, 1.0, 0.20, NULL},
   {"course_contrast_db",
    "Contrast against the tissue above and below that a vessel's silent, filled course must keep to be traced (0: off)",
    "dB", SONO_PARAM_FLOAT, 0.0, 20.0, 3.0, NULL},
   {"flash_share", "Share of the view with colour over tissue-level echo above which a frame is a flash, left out (0: off)",
    "1", SONO_PARAM_FLOAT, 0.0, 1.0, 0.03, NULL},
   {"shadow_db",
    "Posterior level of a deposit above a silent segment at or below which the silence may be its acoustic shadow "
    "(indeterminate)",
    "dB", SONO_PARAM_FLOAT, -40.0, 0.0, -6.0, NULL},
   {"compress_reach_m", "Distance to a lumen within which a deposit narrowing that lumen is perivascular", "m",
    SONO_PARAM_FLOAT, 0.1e-3, 5e-3, 2e-3, NULL},
   {"compress_share", "Lumen calibre beside a deposit, as a share of the vessel's median, at or below which it is "
    "compressed (0: off)", "1", SONO_PARAM_FLOAT, 0.0, 1.0, 0.0, NULL},
   {"reverb_echo_db",
    "Echo of a deposit above a silent segment at or above which the silence may be its attenuation, whatever its "
    "posterior level (reverberation fills that band; indeterminate; 0: off)",
    "dB", SONO_PARAM_FLOAT, 0.0, 60.0, 12.0, NULL},
   {"min_course_share",
    "Share of the vessel's course across the view (its line from field edge to field edge) that must show flow "
    "before no segment without flow is reported as not detected (0: off)",
    "1", SONO_PARAM_FLOAT, 0.0, 1.0, 0.8, NULL},
   {"stump_ri",
    "Upstream resistive index at or above which flow that ends inside the view, at the end its flow runs toward, "
    "is reported consistent with an occlusion there (absent or reversed diastolic flow, clinical-spec V5; 0: off)",
    "1", SONO_PARAM_FLOAT, 0.0, 2.0, 0.9, NULL},
   {"plug_touch_m",
    "Distance to the lumen of a candidate occluded segment within which a deposit beside it is the plug", "m",
    SONO_PARAM_FLOAT, 0.0, 1e-3, 0.15e-3, NULL},
   {"plug_cover",
    "Share of the shorter of a deposit's width and the silent segment it must lie beside to be the plug (0: off)",
    "1", SONO_PARAM_FLOAT, 0.0, 1.0, 0.6, NULL},
   {"cloud_link_m",
    "Distance within which a tailed focus beyond a deposit's outline, from it or from another such focus, is part "
    "of that deposit for its distance to a lumen (0: off)",
    "m", SONO_PARAM_FLOAT, 0.0, 2e-3, 0.5e-3, NULL},
   {"course_line_max_m",
    "Longest silent stretch of a vessel's line, from where its flow ends inside the view to where colour resumes or "
    "the line leaves the image, traced as its course when no lumen or filled course is seen there (0: off)",
    "m", SONO_PARAM_FLOAT, 0.0, 20e-3, 10.5e-3, NULL},
};

#define IV_MAX_POINTS 1024
#define IV_MIN_PIXELS 16 /* the analysis module's smallest frame (sono_an_create) */

typedef struct iv {
   sono_plugin_t plugin;
   const sono_host_t *host;
   double values[P_COUNT];
   sono_an_context_t *an;
   sono_an_config_t cfg;
   sono_point_t *pts;             /* overlay points, IV_MAX_POINTS, from activate() */
   char label[160], basis[512], text[160];
   char prob_text[SONO_AN_CLASS_COUNT][16];
   char prob_key[SONO_AN_CLASS_COUNT][24];
   char features_text[128];
   sono_attribute_t attrs[SONO_AN_CLASS_COUNT + 5];
} iv_t;

static iv_t *self_of(const sono_plugin_t *p) { return (iv_t *)p->plugin_data; }

static const sono_plugin_descriptor_t descriptor = {
   SONO_ABI_VERSION,
   "org.sonoplug.intravascular",
   "Intravascular filler recognition",
   "sonoplug",
   IV_VERSION,
   "Traces vessels and their perfusion over the cine, marks absent-flow segments consistent with intravascular "
   "filler, and maps filler deposits with a possible class and their placement relative to vessels.",
   SONO_PLANE_BIT(SONO_PLANE_BMODE) | SONO_PLANE_BIT(SONO_PLANE_IQ) | SONO_PLANE_BIT(SONO_PLANE_VELOCITY) |
      SONO_PLANE_BIT(SONO_PLANE_POWER) | SONO_PLANE_BIT(SONO_PLANE_VARIANCE),
   SONO_CONCURRENCY_INSTANCE_SAFE,
   SONO_DETERMINISM_BIT_EXACT,
   0,
};

/* ---- lifecycle ------------------------------------------------------------------- */

static bool iv_init(const sono_plugin_t *p)
{
   sono_kit_params_defaults(params, P_COUNT, self_of(p)->values);
   return true;
}

static void iv_deactivate(const sono_plugin_t *p)
{
   iv_t *s = self_of(p);
   sono_an_destroy(s->an);
   s->an = NULL;
   SONO_KIT_FREE(s->pts);
}

static void iv_destroy(const sono_plugin_t *p)
{
   iv_deactivate(p);
   free(self_of(p));
}

static sono_status_t iv_activate(const sono_plugin_t *p, const sono_frame_format_t *format)
{
   iv_t *s = self_of(p);
   if (!sono_an_planes_suffice(format->planes_available))
      return SONO_ERROR_UNSUPPORTED;
   /* Vessels are traced over millimetres of lumen: a format under
    * IV_MIN_PIXELS in either axis cannot hold one. It is still accepted (a
    * host may shrink the field of view and grow it again), and every frame
    * then reports that intravascular filler cannot be assessed. */
   int analysable = format->max_nz >= IV_MIN_PIXELS && format->max_nx >= IV_MIN_PIXELS;
   sono_error_t err;
   s->an = analysable ? sono_an_create(format->max_nz, format->max_nx, &err) : NULL;
   s->pts = malloc(IV_MAX_POINTS * sizeof *s->pts);
   if ((analysable && !s->an) || !s->pts) {
      iv_deactivate(p);
      return SONO_ERROR;
   }
   sono_an_config_default(&s->cfg);
   return SONO_OK;
}

/* ---- rule V9 ----------------------------------------------------------------------- */

/* The shared rule of libsono_analysis, with this plugin's parameters. */
static sono_an_v9_t rule_v9(const iv_t *s, const sono_an_vessel_t *v, double vn, int flow_available)
{
   sono_an_v9_limits_t lim = {s->values[P_MIN_DIAMETER], s->values[P_SCALE_FACTOR], s->values[P_EXPECTED_PSV],
                              s->values[P_V9_MARGIN],   s->values[P_LARGE_CALIBRE], s->values[P_EXPECTED_PSV_LARGE]};
   return sono_an_rule_v9(v, vn, flow_available, &lim);
}

/* ---- events ------------------------------------------------------------------------- */

static void push_measurement(const sono_output_t *out, const char *name, double value, const char *unit,
                             sono_point_t at)
{
   sono_event_measurement_t m;
   sono_kit_measurement_init(&m, name, value, unit, at);
   sono_kit_push(out, &m);
}


static void push_centrelines(iv_t *s, const sono_an_vessel_t *v, const sono_output_t *out)
{
   for (uint32_t g = 0; g < v->segment_count; ++g) {
      const sono_an_segment_t *seg = &v->segments[g];
      uint32_t n = 0, span = seg->last - seg->first + 1, step = span / IV_MAX_POINTS + 1;
      for (uint32_t i = seg->first; i <= seg->last && n < IV_MAX_POINTS - 1; i += step)
         s->pts[n++] = (sono_point_t){v->points[i].x_m, v->points[i].z_m};
      s->pts[n++] = (sono_point_t){v->points[seg->last].x_m, v->points[seg->last].z_m};
      if (n < 2)
         continue;
      sono_event_overlay_t o;
      sono_kit_overlay_init(&o, SONO_SHAPE_POLYLINE, sono_an_perfusion_role(seg->perfusion), s->pts, n);
      sono_kit_push(out, &o);
   }
}

static const sono_an_deposit_t *deposit_in_segment(const sono_an_result_t *r, uint32_t vi, const sono_an_vessel_t *v,
                                                   const sono_an_segment_t *g)
{
   double x0 = v->points[g->first].x_m, x1 = v->points[g->last].x_m;
   for (uint32_t i = 0; i < r->deposit_count; ++i) {
      const sono_an_deposit_t *d = &r->deposits[i];
      if (d->vessel == (int32_t)vi && d->placement != SONO_AN_TISSUE && d->x_right_m >= x0 - 1e-3 &&
          d->x_left_m <= x1 + 1e-3)
         return d;
   }
   return NULL;
}

/* A deposit outside the lumen, above it, that reflects or absorbs
 * much of the beam: its posterior level is at or below shadow_db (an
 * acoustic shadow), or its echo is at least reverb_echo_db above the tissue
 * (a snowstorm whose reverberation fills the band behind it, so that the
 * posterior level no longer shows the loss: silicone obscures what lies
 * deeper, clinical-spec §1 F7, F8, §7). */
static int attenuates_lumen(const iv_t *s, const sono_an_deposit_t *d, double top, int *reverb)
{
   double echo_limit = s->values[P_REVERB_ECHO_DB];
   *reverb = 0;
   if (sono_an_shadows_lumen(d, top, s->cfg.shadow_db))
      return 1;
   *reverb = echo_limit > 0 && d->placement != SONO_AN_INTRALUMINAL && d->centroid.z_m < top &&
             d->features.echo_db >= echo_limit;
   return *reverb;
}

/* A deposit outside the lumen, above it (attenuates_lumen), which spans at
 * least half of segment g: the beam reaches the lumen there through its
 * shadow or its reverberation, and colour fades for want of echo as much as
 * for want of flow. NULL when none; *reverb says which. */
static const sono_an_deposit_t *shadowing_deposit(const iv_t *s, const sono_an_result_t *r, const sono_an_vessel_t *v,
                                                  const sono_an_segment_t *g, int *reverb)
{
   double x0 = v->points[g->first].x_m, x1 = v->points[g->last].x_m, top = 1e9;
   for (uint32_t i = g->first; i <= g->last; ++i)
      top = fmin(top, v->points[i].top_z_m);
   for (uint32_t i = 0; i < r->deposit_count; ++i) {
      const sono_an_deposit_t *d = &r->deposits[i];
      double over = fmin(x1, d->x_right_m) - fmax(x0, d->x_left_m);
      if (d->z_bottom_m <= top && over >= 0.5 * (x1 - x0) && attenuates_lumen(s, d, top, reverb))
         return d;
   }
   *reverb = 0;
   return NULL;
}

/* Whether some segment of vessel v beside deposit d (over its lateral
 * extent) is not perfused: material filling a lumen stops or slows the flow
 * there. Where colour flows at full speed all along it, the material lies
 * beside the lumen (a wall echo, a septum, a bright layer over a superficial
 * vessel), not in it. */
static int flow_held_at(const sono_an_vessel_t *v, const sono_an_deposit_t *d)
{
   for (uint32_t k = 0; k < v->segment_count; ++k) {
      const sono_an_segment_t *g = &v->segments[k];
      if (g->perfusion != SONO_AN_PERFUSED && v->points[g->first].x_m <= d->x_right_m &&
          v->points[g->last].x_m >= d->x_left_m)
         return 1;
   }
   return 0;
}

/* An echogenic deposit seen inside (or plugging) the lumen of vessel vi. */
static const sono_an_deposit_t *visible_plug(const sono_an_result_t *r, uint32_t vi)
{
   for (uint32_t i = 0; i < r->deposit_count; ++i) {
      const sono_an_deposit_t *d = &r->deposits[i];
      if (d->vessel == (int32_t)vi && d->placement == SONO_AN_INTRALUMINAL && !d->from_flow_gap &&
          d->outline_count >= 3 && flow_held_at(&r->vessels[vi], d))
         return d;
   }
   return NULL;
}

static int append(char *buf, size_t size, size_t *len, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int append(char *buf, size_t size, size_t *len, const char *fmt, ...)
{
   if (*len >= size)
      return 0;
   va_list ap;
   va_start(ap, fmt);
   int n = vsnprintf(buf + *len, size - *len, fmt, ap);
   va_end(ap);
   if (n > 0)
      *len = *len + (size_t)n < size ? *len + (size_t)n : size;
   return n;
}

/* Phantom and long-axis views show a vessel crossing the field; a trace
 * that ends more than IV_EDGE_M inside it on either side lost the vessel. */
#define IV_EDGE_M 1e-3
/* A vessel descending out of the view leaves through the bottom of the
 * field: its far wall reaches the last rows at the end of the trace. */
#define IV_BOTTOM_M 0.5e-3
static int end_at_edge(const sono_frame_t *f, const sono_an_vessel_t *v, int side)
{
   const sono_an_centre_point_t *p = side < 0 ? &v->points[0] : &v->points[v->point_count - 1];
   double left = f->grid.x0_m, right = f->grid.x0_m + (f->grid.nx - 1) * f->grid.dx_m;
   double bottom = f->grid.z0_m + (f->grid.nz - 1) * f->grid.dz_m;
   int lateral = side < 0 ? p->x_m <= left + IV_EDGE_M : p->x_m >= right - IV_EDGE_M;
   return lateral || (p->bottom_z_m >= bottom - IV_BOTTOM_M && p->z_m > v->depth_m);
}

static int lost_in_field(const sono_frame_t *f, const sono_an_vessel_t *v)
{
   return !end_at_edge(f, v, -1) || !end_at_edge(f, v, +1);
}

/* The side (-1 left, +1 right) where vessel v's flow ends inside the view
 * at a stump with the upstream signature of an occlusion (clinical-spec V5:
 * high RI, absent or reversed diastolic flow, upstream of the deposit; V3:
 * no flow beyond): the trace reaches the field's edge on the other side
 * only, the flow runs toward that end, and the upstream RI, measured over
 * the whole cine, is at least stump_ri. A plug as echogenic as the tissue
 * around it (PLLA, integrated HA) leaves no filled course to follow, and
 * the flowing lumen simply stops. 0 when not. */
static int stump_side(const iv_t *s, const sono_frame_t *f, const sono_an_vessel_t *v)
{
   double ri_min = s->values[P_STUMP_RI];
   if (!(ri_min > 0) || !(v->ri >= ri_min) || v->flow_length_m < 1e-3)
      return 0;
   int left = end_at_edge(f, v, -1), right = end_at_edge(f, v, +1);
   int side = left && !right ? +1 : right && !left ? -1 : 0;
   return side != 0 && v->systolic_direction == side ? side : 0;
}

/* The band of vessel v's calibre along its line from the stump (side) to
 * where the line leaves the view at x_edge: where the occlusion lies, not
 * seen. Four corners into pts. */
static uint32_t stump_region(const sono_an_vessel_t *v, int side, double x_edge, sono_point_t *pts)
{
   const sono_an_centre_point_t *p = side > 0 ? &v->points[v->point_count - 1] : &v->points[0];
   double slope = tan(v->angle_rad), half = 0.5 * v->diameter_m / cos(v->angle_rad);
   double z_edge = p->z_m + slope * (x_edge - p->x_m);
   pts[0] = (sono_point_t){p->x_m, p->z_m - half};
   pts[1] = (sono_point_t){x_edge, z_edge - half};
   pts[2] = (sono_point_t){x_edge, z_edge + half};
   pts[3] = (sono_point_t){p->x_m, p->z_m + half};
   return 4;
}

/* Length (m) of the vessel's straight line (its least-squares slope through
 * the trace's mean point) between the points where it enters and leaves the
 * field, through either side or the bottom or top; [*x_left, *x_right] its
 * lateral extent. That is the course the view shows of the vessel, whether
 * its lumen was traced there or not. */
static double course_in_view(const sono_frame_t *f, const sono_an_vessel_t *v, double *x_left, double *x_right)
{
   double xm = 0, zm = 0, slope = tan(v->angle_rad);
   *x_left = *x_right = 0;
   if (!v->point_count)
      return 0.0;
   for (uint32_t i = 0; i < v->point_count; ++i) {
      xm += v->points[i].x_m;
      zm += v->points[i].z_m;
   }
   xm /= v->point_count;
   zm /= v->point_count;
   double left = f->grid.x0_m, right = f->grid.x0_m + (f->grid.nx - 1) * f->grid.dx_m;
   double top = f->grid.z0_m, bottom = f->grid.z0_m + (f->grid.nz - 1) * f->grid.dz_m;
   *x_left = left;
   *x_right = right;
   if (fabs(slope) > 1e-6) {
      double xa = xm + (top - zm) / slope, xb = xm + (bottom - zm) / slope;
      *x_left = fmax(left, fmin(xa, xb));
      *x_right = fmin(right, fmax(xa, xb));
   }
   return fmax(0.0, *x_right - *x_left) / cos(v->angle_rad);
}

/* Whether colour showed flow along less than min_course_share of the
 * vessel's course across the view (course_m, from course_in_view): where
 * flow is slow or the scale low, colour may fill only a stub of the lumen
 * and the tracer follows only that stub, so the rest of the course, where a
 * plug may lie, was never assessed (clinical-spec V6 caveat, V9). */
static int course_partly_unseen(const iv_t *s, const sono_an_vessel_t *v, double course_m)
{
   double share = s->values[P_COURSE_SHARE];
   return share > 0 && course_m > 0 && v->flow_length_m < share * course_m;
}

/* The deposit that the analysis placed as the plug of vessel vi where its
 * flowing lumen ends, no lumen seen beyond (sono_an_deposit_t.end_plug);
 * -1 none. */
static int end_plug(const sono_an_result_t *r, uint32_t vi)
{
   for (uint32_t i = 0; i < r->deposit_count; ++i)
      if (r->deposits[i].end_plug && r->deposits[i].vessel == (int32_t)vi)
         return (int)i;
   return -1;
}

static void vessel_finding(iv_t *s, const sono_frame_t *f, const sono_an_result_t *r, uint32_t vi,
                           const sono_output_t *out)
{
   const sono_an_vessel_t *v = &r->vessels[vi];
   double vn = f->acquisition.nyquist_velocity_m_s;
   sono_an_v9_t rule = rule_v9(s, v, vn, r->flow_available);
   const sono_an_segment_t *occ = v->occlusion >= 0 ? &v->segments[v->occlusion] : NULL;
   int gap = occ && occ->length_m >= s->values[P_MIN_OCCLUSION];
   int reverb = 0;
   const sono_an_deposit_t *shadow = gap ? shadowing_deposit(s, r, v, occ, &reverb) : NULL;
   int end_i = gap ? -1 : end_plug(r, vi);
   const sono_an_deposit_t *plug = gap ? NULL : end_i >= 0 ? &r->deposits[end_i] : visible_plug(r, vi);
   int no_flow = v->flow_length_m < 1e-3;
   double course_left, course_right, course = course_in_view(f, v, &course_left, &course_right);
   int stump = gap || plug ? 0 : stump_side(s, f, v);
   double stump_x = stump > 0 ? v->points[v->point_count - 1].x_m : stump < 0 ? v->points[0].x_m : 0;
   sono_finding_status_t status;
   float conf;
   size_t len = 0;
   s->basis[0] = 0;
   append(s->basis, sizeof s->basis, &len, "Vessel %.2f mm diameter at %.1f mm depth; ", v->diameter_m * 1e3,
          v->depth_m * 1e3);
   if (gap) {
      const sono_an_deposit_t *d = deposit_in_segment(r, vi, v, occ);
      append(s->basis, sizeof s->basis, &len, "no colour signal over a %.1f mm segment over %u frames", occ->length_m * 1e3,
             r->cine_frames);
      if (v->psv_measurable)
         append(s->basis, sizeof s->basis, &len, "; upstream PSV %.2f m/s, RI %.2f", v->psv_m_s, v->ri);
      if (d)
         append(s->basis, sizeof s->basis, &len, "; %s %s deposit %.1f x %.1f mm", sono_an_placement_name(d->placement),
                sono_an_class_label(d->cls), (d->x_right_m - d->x_left_m) * 1e3, (d->z_bottom_m - d->z_top_m) * 1e3);
   } else if (plug) {
      append(s->basis, sizeof s->basis, &len,
             "%s %.1f x %.1f mm (echo %+.0f dB, posterior %+.0f dB) %s; flow along %.1f mm",
             end_i >= 0 ? "material" : "echogenic material", (plug->x_right_m - plug->x_left_m) * 1e3,
             (plug->z_bottom_m - plug->z_top_m) * 1e3, plug->features.echo_db, plug->features.posterior_db,
             end_i >= 0 ? "filling the vessel's course where its flowing lumen ends, no lumen seen beyond"
                        : "in the lumen, where the traced lumen ends",
             v->flow_length_m * 1e3);
   } else if (stump) {
      append(s->basis, sizeof s->basis, &len,
             "flow along %.1f mm ends at x %.1f mm, the vessel not seen beyond it (its line crosses %.1f mm of the "
             "view, to x %.1f mm); upstream RI %.2f over the cine",
             v->flow_length_m * 1e3, stump_x * 1e3, course * 1e3, (stump > 0 ? course_right : course_left) * 1e3,
             v->ri);
   } else {
      append(s->basis, sizeof s->basis, &len,
             "flow along %.1f mm (the vessel's line crosses %.1f mm of the view), no absent-flow segment >= %.1f mm",
             v->flow_length_m * 1e3, course * 1e3,
             s->values[P_MIN_OCCLUSION] * 1e3);
   }
   if (v->axial_peak_m_s > 0)
      append(s->basis, sizeof s->basis, &len, "; peak axial flow speed %.3f m/s", v->axial_peak_m_s);
   /* the V9 margin guards "not detected" only; a seen gap or plug is held
    * back by the plain limits (see sono_an_rule_v9), and the basis names
    * the PSV that decided */
   int seen = gap || plug || stump;
   int large = seen ? rule.large_calibre_positive : rule.large_calibre;
   append(s->basis, sizeof s->basis, &len, "; velocity scale %.3f m/s vs %s PSV %.2f m/s", vn,
          rule.psv_measured ? "measured (less the margin)"
          : large           ? "lowest expected (facial-artery calibre)"
                            : "lowest expected",
          seen ? rule.expected_psv_positive_m_s : rule.expected_psv_m_s);
   if (rule.small && v->diameter_m >= s->values[P_MIN_DIAMETER] * (1.0 + s->values[P_V9_MARGIN]))
      append(s->basis, sizeof s->basis, &len, "; %.0f%% of the visible lumen narrower than %.2f mm", rule.small_share * 100,
             s->values[P_MIN_DIAMETER] * (1.0 + s->values[P_V9_MARGIN]) * 1e3);
   int small = seen ? rule.small_plain : rule.small;
   int high_scale = seen ? rule.high_scale_positive : rule.high_scale;
   if ((seen ? rule.applies_positive : rule.applies) || no_flow) {
      status = SONO_STATUS_INDETERMINATE;
      conf = 0.5f;
      snprintf(s->label, sizeof s->label, "%s%s",
               seen ? "Possible intravascular filler; flow assessment limited, review recommended"
                   : "Intravascular filler cannot be assessed; review recommended",
               rule.unmeasurable ? " (vessel size or velocity scale not measurable)"
               : small && v->diameter_m < s->values[P_MIN_DIAMETER] ? " (vessel under 0.8 mm)"
               : small           ? " (vessel calibre within the measurement margin of 0.8 mm)"
               : high_scale      ? " (velocity scale too high)"
                                 : " (no flow seen)");
   } else if (shadow && r->cine_ready) {
      /* a silence the shadow explains as well as an occlusion: neither
       * reassure nor alert, ask for another window */
      status = SONO_STATUS_INDETERMINATE;
      conf = 0.5f;
      snprintf(s->label, sizeof s->label, "%s",
               reverb ? "Possible intravascular filler; the segment without flow lies under a strongly echogenic "
                        "deposit whose reverberation may hide the lumen, review recommended"
                      : "Possible intravascular filler; the segment without flow lies in the acoustic shadow of a "
                        "deposit, review recommended");
      append(s->basis, sizeof s->basis, &len,
             "; %s deposit above the segment, echo %+.0f dB, posterior %+.0f dB re surrounding tissue",
             sono_an_class_label(shadow->cls), shadow->features.echo_db, shadow->features.posterior_db);
   } else if (gap && r->cine_ready) {
      status = SONO_STATUS_DETECTED;
      conf = (float)fmin(0.95, 0.6 + 0.05 * fmin(occ->length_m * 1e3, 4.0) + (v->psv_measurable && v->ri >= 0.9 ? 0.1 : 0.0) +
                                   (deposit_in_segment(r, vi, v, occ) ? 0.05 : 0.0));
      snprintf(s->label, sizeof s->label, "Finding consistent with intravascular filler (occluded segment); review recommended");
   } else if (plug && r->cine_ready) {
      status = SONO_STATUS_DETECTED;
      conf = 0.75f;
      snprintf(s->label, sizeof s->label, "%s",
               end_i >= 0 ? "Finding consistent with intravascular filler (flow ends at material in the vessel's course); "
                            "review recommended"
                          : "Finding consistent with intravascular filler (echogenic material in the lumen); review "
                            "recommended");
   } else if (stump && r->cine_ready) {
      /* neither the material nor the lumen beyond is seen: the flow's end
       * and its upstream waveform are the evidence, weaker than a seen gap */
      status = SONO_STATUS_DETECTED;
      conf = 0.6f;
      snprintf(s->label, sizeof s->label,
               "Finding consistent with intravascular filler (flow ends within the view, high-resistance upstream "
               "waveform); review recommended");
   } else if (!r->cine_ready) {
      status = SONO_STATUS_INDETERMINATE;
      conf = 0.4f;
      snprintf(s->label, sizeof s->label, "Cine accumulating (%u frames); intravascular status not yet assessable",
               r->cine_frames);
   } else if (lost_in_field(f, v)) {
      /* the trace stops inside the field: the vessel's course beyond that
       * point (where an occlusion may hide it) was never assessed */
      status = SONO_STATUS_INDETERMINATE;
      conf = 0.5f;
      snprintf(s->label, sizeof s->label,
               "No segment without flow in the traced part; vessel lost within the view, review recommended");
      append(s->basis, sizeof s->basis, &len, "; traced only from x %.1f to %.1f mm", v->points[0].x_m * 1e3,
             v->points[v->point_count - 1].x_m * 1e3);
   } else if (course_partly_unseen(s, v, course)) {
      status = SONO_STATUS_INDETERMINATE;
      conf = 0.5f;
      snprintf(s->label, sizeof s->label,
               "No segment without flow in the traced part; flow seen over only part of the vessel's course in view, "
               "review recommended");
      append(s->basis, sizeof s->basis, &len, "; course in view from x %.1f to %.1f mm, traced from x %.1f to %.1f mm",
             course_left * 1e3, course_right * 1e3, v->points[0].x_m * 1e3, v->points[v->point_count - 1].x_m * 1e3);
   } else if (r->untraced_flow_m2 >= s->values[P_UNTRACED_FLOW]) {
      /* another vessel flows in view but could not be traced (often a small
       * one): "not detected" would speak for a vessel never assessed */
      status = SONO_STATUS_INDETERMINATE;
      conf = 0.5f;
      snprintf(s->label, sizeof s->label,
               "No segment without flow in the traced vessel; other flow in view not assessable, review recommended");
      append(s->basis, sizeof s->basis, &len, "; %.2f mm2 of flow outside the traced vessels",
             r->untraced_flow_m2 * 1e6);
   } else {
      status = SONO_STATUS_NOT_DETECTED;
      conf = 0.8f;
      snprintf(s->label, sizeof s->label, "No segment without flow seen in this vessel");
   }
   /* the stump is reported as the place of the occlusion only when it decided the finding */
   int stump_found = stump && status == SONO_STATUS_DETECTED;
   uint32_t n = 0;
   if (occ && gap)
      n = sono_an_lumen_polygon(v, occ->first, occ->last, s->pts, 64);
   else if (plug)
      for (n = 0; n < plug->outline_count && n < IV_MAX_POINTS; ++n)
         s->pts[n] = plug->outline[n];
   else if (stump_found)
      n = stump_region(v, stump, stump > 0 ? course_right : course_left, s->pts);
   else
      n = sono_an_lumen_polygon(v, 0, v->point_count - 1, s->pts, 64);
   sono_event_finding_t fi;
   sono_kit_finding_init(&fi, "intravascular_filler", status);
   fi.confidence = conf;
   fi.region = n >= 3 ? s->pts : NULL;
   fi.region_count = n >= 3 ? n : 0;
   s->attrs[0] = (sono_attribute_t){"plugin_version", IV_VERSION};
   s->attrs[1] = (sono_attribute_t){"perfusion", (occ && gap) || plug || stump_found ? "absent"
                                                 : v->segment_count > 1                    ? "mixed"
                                                                                           : "perfused"};
   fi.attributes = s->attrs;
   fi.attribute_count = 2;
   fi.label = s->label;
   fi.basis = s->basis;
   fi.caveat = IV_CAVEAT;
   fi.advice = status == SONO_STATUS_DETECTED ? "Review the segment in several planes; correlate clinically."
               : status == SONO_STATUS_INDETERMINATE && shadow && r->cine_ready && !(seen ? rule.applies_positive : rule.applies)
                   ? "Image the segment through a window beside the deposit, out of its shadow, and review its flow."
               : status == SONO_STATUS_INDETERMINATE ? "Lower the velocity scale and wall filter, or use a more sensitive flow mode."
                                                     : NULL;
   sono_kit_push(out, &fi);
   if (gap && status != SONO_STATUS_NOT_DETECTED) {
      sono_event_overlay_t o;
      sono_kit_overlay_init(&o, SONO_SHAPE_POLYGON, SONO_ROLE_OCCLUSION, s->pts, n);
      o.label = "absent flow";
      sono_kit_push(out, &o);
      sono_point_t mid = {v->points[(occ->first + occ->last) / 2].x_m, v->points[(occ->first + occ->last) / 2].z_m};
      push_measurement(out, "occluded_length", occ->length_m, "m", mid);
   } else if (plug && status != SONO_STATUS_NOT_DETECTED) {
      sono_event_overlay_t o;
      sono_kit_overlay_init(&o, SONO_SHAPE_POLYGON, SONO_ROLE_OCCLUSION, plug->outline, plug->outline_count);
      o.label = "material in the lumen";
      sono_kit_push(out, &o);
      push_measurement(out, "occluded_length", (plug->x_right_m - plug->x_left_m) / cos(v->angle_rad), "m",
                       plug->centroid);
   } else if (stump_found) {
      /* no occluded length: the segment's far end is not seen */
      sono_event_overlay_t o;
      sono_kit_overlay_init(&o, SONO_SHAPE_POLYGON, SONO_ROLE_OCCLUSION, s->pts, n);
      o.label = "flow ends; vessel not seen beyond";
      sono_kit_push(out, &o);
   }
   sono_point_t c = {v->points[v->point_count / 2].x_m, v->points[v->point_count / 2].z_m};
   push_measurement(out, "vessel_diameter", v->diameter_m, "m", c);
   if (v->upstream >= 0 && (v->psv_measurable || v->ri > 0)) {
      /* RI, a ratio of speeds along one beam, needs no angle correction:
       * it is given wherever the cine read it, PSV only where measurable */
      const sono_an_segment_t *u = &v->segments[v->upstream];
      sono_point_t at = {v->points[(u->first + u->last) / 2].x_m, v->points[(u->first + u->last) / 2].z_m};
      if (v->psv_measurable)
         push_measurement(out, "upstream_psv", v->psv_m_s, "m/s", at);
      if (v->ri > 0)
         push_measurement(out, "upstream_ri", v->ri, "1", at);
   }
   push_centrelines(s, v, out);
}

/* The classifier's inputs, so that a reader (or the class fit,
 * tests/eval/fit_deposit_classes.py through sono-eval --dump-features) sees
 * what the probabilities were computed from: outlined from a lumen gap (0/1),
 * echo dB, posterior dB, bright foci/mm^2, tail dB, heterogeneity dB,
 * capsule dB, share 20 dB under the background; then the pair evidence:
 * posterior fall dB, tailed foci around /mm^2, posterior against the tissue
 * beside dB (nan = not measured). */
static sono_attribute_t deposit_features_attribute(iv_t *s, const sono_an_deposit_t *d)
{
   const sono_an_features_t *f = &d->features;
   snprintf(s->features_text, sizeof s->features_text, "%d %.3f %.3f %.3f %.3f %.3f %.3f %.4f %.3f %.3f %.3f",
            d->from_flow_gap, f->echo_db, f->posterior_db, f->focus_density_mm2, f->tail_score, f->heterogeneity_db,
            f->capsule_db, f->dark_fraction, f->posterior_fall_db, f->foci_tailed_mm2, f->posterior_beside_db);
   return (sono_attribute_t){"class_features", s->features_text};
}

static void deposit_finding(iv_t *s, const sono_an_deposit_t *d, const sono_output_t *out)
{
   uint32_t na = 0;
   s->attrs[na++] = (sono_attribute_t){"class", sono_an_class_name(d->cls)};
   sono_an_placement_t placement = d->placement;
   s->attrs[na++] = (sono_attribute_t){"placement", sono_an_placement_name(placement)};
   s->attrs[na++] = (sono_attribute_t){"plugin_version", IV_VERSION};
   for (int k = 0; k < SONO_AN_CLASS_COUNT; ++k) {
      snprintf(s->prob_key[k], sizeof s->prob_key[k], "p_%s", sono_an_class_name(k));
      snprintf(s->prob_text[k], sizeof s->prob_text[k], "%.3f", d->probability[k]);
      s->attrs[na++] = (sono_attribute_t){s->prob_key[k], s->prob_text[k]};
   }
   s->attrs[na++] = deposit_features_attribute(s, d);
   const char *cls = sono_an_class_label(d->cls);
   snprintf(s->label, sizeof s->label, "%s deposit, %s%s", d->cls == SONO_AN_UNKNOWN ? "Unclassified" : "Possible",
            d->cls == SONO_AN_UNKNOWN ? "" : cls, placement == SONO_AN_INTRALUMINAL ? " (intraluminal)"
                                             : placement == SONO_AN_PERIVASCULAR ? " (perivascular)" : "");
   size_t len = 0;
   s->basis[0] = 0;
   append(s->basis, sizeof s->basis, &len,
          "%.1f x %.1f mm, area %.2f mm2, depth %.1f-%.1f mm; echo %+.0f dB, posterior %+.0f dB re surrounding tissue; "
          "%.1f bright foci/mm2",
          (d->x_right_m - d->x_left_m) * 1e3, (d->z_bottom_m - d->z_top_m) * 1e3, d->area_m2 * 1e6, d->z_top_m * 1e3,
          d->z_bottom_m * 1e3, d->features.echo_db, d->features.posterior_db, d->features.focus_density_mm2);
   if (d->end_plug)
      append(s->basis, sizeof s->basis, &len, "; fills the vessel's course where its flowing lumen ends");
   else if (d->vessel >= 0)
      append(s->basis, sizeof s->basis, &len, "; %.1f mm from the nearest lumen", d->distance_to_lumen_m * 1e3);
   if (d->from_flow_gap)
      append(s->basis, sizeof s->basis, &len, "; outlined from the lumen without flow (anechoic material looks like blood)");
   sono_event_finding_t fi;
   sono_kit_finding_init(&fi, "filler_deposit", SONO_STATUS_DETECTED);
   fi.confidence = d->probability[d->cls];
   fi.region = d->outline_count >= 3 ? d->outline : NULL;
   fi.region_count = d->outline_count >= 3 ? d->outline_count : 0;
   fi.attributes = s->attrs;
   fi.attribute_count = na;
   fi.label = s->label;
   fi.basis = s->basis;
   fi.caveat = "Material class is a pattern estimate; mixed or unusual products are possible.";
   sono_kit_push(out, &fi);
   if (d->outline_count >= 3) {
      sono_event_overlay_t o;
      sono_kit_overlay_init(&o, SONO_SHAPE_POLYGON, SONO_ROLE_DEPOSIT, d->outline, d->outline_count);
      o.label = cls;
      sono_kit_push(out, &o);
   }
   push_measurement(out, "deposit_area", d->area_m2, "m2", d->centroid);
   push_measurement(out, "deposit_depth", d->z_top_m, "m", d->centroid);
   if (d->vessel >= 0 && d->distance_to_lumen_m < 1.0)
      push_measurement(out, "distance_to_lumen", d->distance_to_lumen_m, "m", d->centroid);
}

static void no_vessel_finding(iv_t *s, const sono_an_result_t *r, const sono_output_t *out)
{
   sono_event_finding_t fi;
   sono_kit_finding_init(&fi, "intravascular_filler", SONO_STATUS_INDETERMINATE);
   fi.confidence = 0.5f;
   snprintf(s->basis, sizeof s->basis, "No vessel traced in this view (%u deposits mapped, cine %u frames)",
            r->deposit_count, r->cine_frames);
   s->attrs[0] = (sono_attribute_t){"plugin_version", IV_VERSION};
   fi.attributes = s->attrs;
   fi.attribute_count = 1;
   fi.label = "Intravascular filler cannot be assessed: no vessel identified; review recommended";
   fi.basis = s->basis;
   fi.caveat = IV_CAVEAT;
   fi.advice = "Image the vessel of interest in long axis with colour or power Doppler.";
   sono_kit_push(out, &fi);
}

static void too_small_finding(iv_t *s, const sono_frame_t *f, const sono_output_t *out)
{
   sono_event_finding_t fi;
   sono_kit_finding_init(&fi, "intravascular_filler", SONO_STATUS_INDETERMINATE);
   fi.confidence = 0.5f;
   snprintf(s->basis, sizeof s->basis, "Frame of %u x %u pixels (depth x width); at least %u x %u are needed to trace a vessel",
            f->grid.nz, f->grid.nx, IV_MIN_PIXELS, IV_MIN_PIXELS);
   s->attrs[0] = (sono_attribute_t){"plugin_version", IV_VERSION};
   fi.attributes = s->attrs;
   fi.attribute_count = 1;
   fi.label = "Intravascular filler cannot be assessed in this field of view; review recommended";
   fi.basis = s->basis;
   fi.caveat = IV_CAVEAT;
   fi.advice = "Enlarge the field of view to include the vessel of interest in long axis.";
   sono_kit_push(out, &fi);
}

static sono_status_t iv_process(const sono_plugin_t *p, const sono_frame_t *frame, const sono_output_t *out)
{
   iv_t *s = self_of(p);
   /* A frame too small to hold a vessel is reported as not assessable
    * rather than failed. */
   if (!s->an || frame->grid.nz < IV_MIN_PIXELS || frame->grid.nx < IV_MIN_PIXELS) {
      too_small_finding(s, frame, out);
      return SONO_OK;
   }
   s->cfg.cine_window_s = s->values[P_CINE_WINDOW];
   s->cfg.absent_flow_fraction = s->values[P_ABSENT_FRACTION];
   s->cfg.reduced_speed_ratio = s->values[P_REDUCED_RATIO];
   s->cfg.perivascular_m = s->values[P_PERIVASCULAR];
   s->cfg.course_contrast_db = s->values[P_COURSE_CONTRAST];
   s->cfg.flash_share = s->values[P_FLASH_SHARE];
   s->cfg.compress_reach_m = s->values[P_COMPRESS_REACH];
   s->cfg.compress_share = s->values[P_COMPRESS_SHARE];
   s->cfg.shadow_db = s->values[P_SHADOW_DB];
   s->cfg.plug_touch_m = s->values[P_PLUG_TOUCH];
   s->cfg.plug_cover = s->values[P_PLUG_COVER];
   s->cfg.cloud_link_m = s->values[P_CLOUD_LINK];
   s->cfg.course_line_max_m = s->values[P_COURSE_LINE];
   sono_error_t err;
   const sono_an_result_t *r = sono_an_analyse_frame(s->an, &s->cfg, frame, &err);
   if (!r)
      return SONO_ERROR;
   for (uint32_t v = 0; v < r->vessel_count; ++v)
      vessel_finding(s, frame, r, v, out);
   if (r->vessel_count == 0)
      no_vessel_finding(s, r, out);
   for (uint32_t d = 0; d < r->deposit_count; ++d)
      deposit_finding(s, &r->deposits[d], out);
   return SONO_OK;
}

/* ---- sono.params/1 ------------------------------------------------------------------- */

static double *values_of(const sono_plugin_t *p) { return self_of(p)->values; }

SONO_KIT_DEFINE_PARAMS(params_ext, params, P_COUNT, values_of);

static const void *iv_get_extension(const sono_plugin_t *p, const char *id)
{
   (void)p;
   return sono_kit_extension(id, &params_ext, NULL);
}

static const sono_plugin_t *iv_create(const sono_host_t *host)
{
   iv_t *s = calloc(1, sizeof *s);
   if (!s)
      return NULL;
   s->host = host;
   s->plugin = (sono_plugin_t){&descriptor, s, iv_init, iv_destroy, iv_activate, iv_deactivate, iv_process,
                               iv_get_extension};
   return &s->plugin;
}

SONO_KIT_DEFINE_ENTRY(descriptor, iv_create);
