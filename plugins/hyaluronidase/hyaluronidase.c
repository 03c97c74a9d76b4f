/* org.sonoplug.hyaluronidase: hyaluronidase-guidance overlay (clinical-spec
 * §3, H11; docs/clinical.md, "Hyaluronidase guidance").
 *
 * Per frame the shared analysis module (sdk/analysis, the same vessels and
 * deposits the intravascular plugin sees) gives vessels, perfusion segments
 * and deposits; this plugin draws the overlay of H11:
 *   1. deposit outlines with class, area, depth range, distance to vessel;
 *   2. vessel paths: centreline and lumen edges per perfusion segment, the
 *      occluded segment with its length;
 *   3. suggested targets inside intraluminal/perivascular deposits;
 *   4. an optional needling grid;
 *   5. danger zones around vessels not involved, and the periorbital flag;
 *   6. the baseline comparison (sono.state/1) and migration.
 * Targets and grid are planning aids (R5). No quantity of product is ever
 * computed or shown.
 *
 * Real-time rule: process() allocates nothing; buffers come from activate(). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "hy.h"

#define HY_MIN_SIDE 16 /* smallest frame side sono_an_create() accepts */

static const char *const grid_modes[] = {"off", "region", "hypoperfused territory"};

const sono_kit_param_t hy_params[P_COUNT] = {
   {"target_count", "Suggested targets per deposit", "1", SONO_PARAM_INT, 0, 12, 3, NULL},
   {"target_spacing_m", "Minimum spacing between targets", "m", SONO_PARAM_FLOAT, 0.2e-3, 10e-3, 1.0e-3, NULL},
   {"target_margin_m", "Minimum distance of a target from any vessel not involved", "m", SONO_PARAM_FLOAT, 0.5e-3,
    5e-3, 1.0e-3, NULL},
   {"target_inset_m", "Minimum depth of a target inside the deposit outline", "m", SONO_PARAM_FLOAT, 0.0, 1e-3, 0.15e-3,
    NULL},
   {"targets_ha_pattern", "Targets only in deposits with the hyaluronic-acid pattern (class HA, or hypoechoic with "
    "posterior enhancement, or anechoic material in a lumen without flow)", "1", SONO_PARAM_BOOL, 0, 1, 1, NULL},
   {"danger_margin_m", "Danger zone half-width around vessels not involved", "m", SONO_PARAM_FLOAT, 0.5e-3, 5e-3,
    2.0e-3, NULL},
   {"periorbital", "Periorbital territory: the whole field is a danger zone", "1", SONO_PARAM_BOOL, 0, 1, 0, NULL},
   {"grid_mode", "Needling grid", "1", SONO_PARAM_ENUM, 0, 2, 0, grid_modes},
   {"grid_x0_m", "Needling region, lateral start", "m", SONO_PARAM_FLOAT, -0.05, 0.05, 0.0, NULL},
   {"grid_x1_m", "Needling region, lateral end", "m", SONO_PARAM_FLOAT, -0.05, 0.05, 0.0, NULL},
   {"grid_spacing_m", "Needling grid spacing (unverified default)", "m", SONO_PARAM_FLOAT, 1e-3, 20e-3, 5e-3, NULL},
   {"grid_depth_min_m", "Needling depth band, shallow end (unverified default)", "m", SONO_PARAM_FLOAT, 0.0, 0.03,
    5e-3, NULL},
   {"grid_depth_max_m", "Needling depth band, deep end (unverified default)", "m", SONO_PARAM_FLOAT, 0.0, 0.03, 7e-3,
    NULL},
   {"capture_baseline", "Capture a baseline (switch on before treatment)", "1", SONO_PARAM_BOOL, 0, 1, 0, NULL},
   {"auto_baseline", "Capture a baseline at the first assessable frame when none exists", "1", SONO_PARAM_BOOL, 0, 1,
    1, NULL},
   {"baseline_window_s", "Baseline capture window: the baseline follows each frame for this long", "s",
    SONO_PARAM_FLOAT, 0.0, 10.0, 1.0, NULL},
   {"intended_site", "Compare deposits with an intended injection site", "1", SONO_PARAM_BOOL, 0, 1, 0, NULL},
   {"intended_x_m", "Intended injection site, lateral", "m", SONO_PARAM_FLOAT, -0.05, 0.05, 0.0, NULL},
   {"intended_z_m", "Intended injection site, depth", "m", SONO_PARAM_FLOAT, 0.0, 0.05, 0.005, NULL},
   {"migration_threshold_m", "Shift reported as possible migration", "m", SONO_PARAM_FLOAT, 0.1e-3, 10e-3, 1.0e-3,
    NULL},
   {"match_radius_m", "Largest distance at which a deposit is matched with its baseline", "m", SONO_PARAM_FLOAT, 1e-3,
    20e-3, 6e-3, NULL},
   {"reduced_speed_ratio", "Peak speed re upstream below which a segment is reduced", "1", SONO_PARAM_FLOAT, 0.1, 0.9,
    0.5, NULL},
   {"cine_window_s", "Flow memory (one cardiac cycle)", "s", SONO_PARAM_FLOAT, 0.2, 5.0, 1.0, NULL},
   {"min_diameter_m", "Smallest vessel whose absent flow is informative (V9)", "m", SONO_PARAM_FLOAT, 0.3e-3, 3e-3,
    0.8e-3, NULL},
   {"scale_factor", "Velocity scale / expected PSV above which absent flow is uninformative (V9)", "1",
    SONO_PARAM_FLOAT, 1.0, 5.0, 2.0, NULL},
   {"expected_psv_m_s", "Lowest expected PSV, used when it cannot be measured (V9)", "m/s", SONO_PARAM_FLOAT, 0.05,
    1.0, 0.092, NULL},
   {"remeasure_tissue_m", "Deposit no longer outlined: tissue reference up to this far beside its baseline box", "m",
    SONO_PARAM_FLOAT, 1.0e-3, 5e-3, 1.5e-3, NULL},
   {"remeasure_significance", "Deposit no longer outlined: seen when its area exceeds this many spreads of the "
    "tissue's own threshold crossings (up to twice that: indeterminate)", "1", SONO_PARAM_FLOAT, 1.0, 5.0, 2.0, NULL},
   {"migrated_area_share", "A deposit matched beyond its baseline box with at least this share of its baseline area "
    "is taken as moved; a smaller one only when nothing is left in place", "1", SONO_PARAM_FLOAT, 0.0, 1.0, 0.5, NULL},
   {"shadow_db", "Posterior level of a deposit above a lumen at or below which the lumen under it is in its acoustic "
    "shadow: its silence does not evidence a plug, and targets keep clear of it", "dB", SONO_PARAM_FLOAT, -40.0, 0.0,
    -6.0, NULL},
   {"target_echo_share", "Share of its deposit's echo contrast (re the tissue) a target and the ring at target_inset_m "
    "around it must show, and at most 1/share of its median contrast (0: not tested)", "1", SONO_PARAM_FLOAT, 0.0, 1.0, 0.5, NULL},
};

static hy_t *self_of(const sono_plugin_t *p) { return (hy_t *)p->plugin_data; }

static const sono_plugin_descriptor_t descriptor = {
   SONO_ABI_VERSION,
   "org.sonoplug.hyaluronidase",
   "Hyaluronidase guidance overlay",
   "sonoplug",
   HY_VERSION,
   "Overlay for ultrasound-guided hyaluronidase: deposit outlines, vessel perfusion path, suggested targets and "
   "needling grid (planning aids), danger zones, baseline comparison and migration.",
   SONO_PLANE_BIT(SONO_PLANE_BMODE) | SONO_PLANE_BIT(SONO_PLANE_IQ) | SONO_PLANE_BIT(SONO_PLANE_VELOCITY) |
      SONO_PLANE_BIT(SONO_PLANE_POWER) | SONO_PLANE_BIT(SONO_PLANE_VARIANCE),
   SONO_CONCURRENCY_INSTANCE_SAFE,
   SONO_DETERMINISM_BIT_EXACT,
   0,
};

/* ---- lifecycle ----------------------------------------------------------------------- */

static bool hy_init(const sono_plugin_t *p)
{
   sono_kit_params_defaults(hy_params, P_COUNT, self_of(p)->values);
   return true;
}

static void hy_deactivate(const sono_plugin_t *p)
{
   hy_t *s = self_of(p);
   sono_an_destroy(s->an);
   s->an = NULL;
   SONO_KIT_FREE(s->pts), SONO_KIT_FREE(s->cand), SONO_KIT_FREE(s->flow);
   SONO_KIT_FREE(s->blood_dist), SONO_KIT_FREE(s->blood_src);
   SONO_KIT_FREE(s->rm_echo), SONO_KIT_FREE(s->rm_scratch);
}

static void hy_destroy(const sono_plugin_t *p)
{
   hy_deactivate(p);
   free(self_of(p));
}

static sono_status_t hy_activate(const sono_plugin_t *p, const sono_frame_format_t *format)
{
   hy_t *s = self_of(p);
   if (!sono_an_planes_suffice(format->planes_available))
      return SONO_ERROR_UNSUPPORTED;
   /* The analysis works on frames of HY_MIN_SIDE..8192 pixels per side;
    * smaller frames are accepted and give no overlay (process()). */
   if (format->max_nz > 8192 || format->max_nx > 8192)
      return SONO_ERROR_UNSUPPORTED;
   sono_error_t err;
   s->an = sono_an_create(format->max_nz < HY_MIN_SIDE ? HY_MIN_SIDE : format->max_nz,
                          format->max_nx < HY_MIN_SIDE ? HY_MIN_SIDE : format->max_nx, &err);
   s->pts = malloc(HY_MAX_POINTS * sizeof *s->pts);
   s->cand = malloc(HY_MAX_CANDIDATES * sizeof *s->cand);
   size_t np = (size_t)(format->max_nz < HY_MIN_SIDE ? HY_MIN_SIDE : format->max_nz) *
               (format->max_nx < HY_MIN_SIDE ? HY_MIN_SIDE : format->max_nx);
   s->blood_dist = malloc(np * sizeof *s->blood_dist);
   s->blood_src = malloc(np * sizeof *s->blood_src);
   s->flow = malloc(np);
   s->rm_echo = malloc(np * sizeof *s->rm_echo);
   s->rm_scratch = malloc(np * sizeof *s->rm_scratch);
   memset(s->rm_frames, 0, sizeof s->rm_frames);
   if (!s->an || !s->pts || !s->cand || !s->blood_dist || !s->blood_src || !s->flow || !s->rm_echo || !s->rm_scratch) {
      hy_deactivate(p);
      return SONO_ERROR;
   }
   sono_an_config_default(&s->cfg);
   return SONO_OK;
}

/* ---- process --------------------------------------------------------------------------- */

static const sono_an_result_t *analyse(hy_t *s, const sono_frame_t *frame)
{
   s->cfg.cine_window_s = s->values[P_CINE_WINDOW];
   s->cfg.reduced_speed_ratio = s->values[P_REDUCED_RATIO];
   s->cfg.shadow_db = s->values[P_SHADOW_DB];
   sono_error_t err;
   return sono_an_analyse_frame(s->an, &s->cfg, frame, &err);
}

/* A baseline needs the perfusion of a full cine window: the operator's
 * request waits for it, and so does the automatic first capture. Deposit
 * outlines settle as the cine fills (a lumen is known once flow has been
 * seen in it), so the baseline follows every frame of a capture window
 * (one cardiac cycle by default) and is fixed when the window closes. */
static void maybe_capture(hy_t *s, const sono_an_result_t *r, const sono_frame_t *frame)
{
   if (!r->cine_ready)
      return;
   int automatic = s->values[P_AUTO_BASELINE] >= 0.5 && !s->base.present;
   if (s->capture_pending || automatic) {
      s->capture_pending = 0;
      s->capturing = 1;
      s->capture_start_ns = frame->timestamp_ns;
      s->capture_end_ns = frame->timestamp_ns + (uint64_t)(s->values[P_BASELINE_WINDOW] * 1e9);
   }
   if (!s->capturing)
      return;
   hy_baseline_capture(s, r, s->capture_start_ns);
   if (frame->timestamp_ns >= s->capture_end_ns)
      s->capturing = 0;
}

static sono_status_t hy_process(const sono_plugin_t *p, const sono_frame_t *frame, const sono_output_t *out)
{
   hy_t *s = self_of(p);
   if (frame->grid.nz < HY_MIN_SIDE || frame->grid.nx < HY_MIN_SIDE)
      return SONO_OK; /* too small to hold a vessel or a deposit: nothing to draw */
   const sono_an_result_t *r = analyse(s, frame);
   if (!r)
      return SONO_ERROR;
   s->grid = frame->grid;
   hy_mark_involved(s, r, frame->acquisition.nyquist_velocity_m_s);
   hy_push_vessels(s, r, out);
   hy_push_deposits(s, r, out);
   hy_push_danger(s, r, out);
   hy_plan_targets(s, r);
   hy_push_targets(s, r, out);
   hy_push_grid(s, r, out);
   maybe_capture(s, r, frame);
   hy_match_baseline(s, r, frame);
   if (s->base.present && !s->capturing)
      hy_push_comparison(s, r, frame, out);
   hy_push_migration(s, r, out);
   return SONO_OK;
}

/* ---- sono.params/1 ----------------------------------------------------------------------- */

static double *values_of(const sono_plugin_t *p) { return self_of(p)->values; }

/* Switching capture_baseline on asks for a capture; the switch itself is
 * the operator's record, so switching it on again later re-captures. */
static void on_param_set(const sono_plugin_t *p, int index, double before)
{
   hy_t *s = self_of(p);
   if (index == P_CAPTURE_BASELINE && before < 0.5 && s->values[P_CAPTURE_BASELINE] >= 0.5)
      s->capture_pending = 1;
}

SONO_KIT_DEFINE_PARAMS_HOOK(params_ext, hy_params, P_COUNT, values_of, on_param_set);

/* ---- sono.state/1 ------------------------------------------------------------------------- */

static bool state_save(const sono_plugin_t *p, const sono_ostream_t *stream)
{
   uint8_t buf[HY_STATE_BYTES];
   size_t n = hy_state_encode(self_of(p), buf);
   return sono_kit_state_save(stream, HY_STATE_MAGIC, HY_STATE_VERSION, buf, n);
}

static bool state_load(const sono_plugin_t *p, const sono_istream_t *stream)
{
   hy_t *s = self_of(p);
   uint8_t buf[HY_STATE_BYTES];
   uint64_t size = 0;
   hy_baseline_t base;
   int32_t has;
   double x, z;
   if (!sono_kit_state_load(stream, HY_STATE_MAGIC, HY_STATE_VERSION, buf, sizeof buf, &size) ||
       hy_state_decode(buf, (size_t)size, &base, &has, &x, &z) < 0)
      return false;
   s->base = base;
   s->has_intended_saved = has;
   s->intended_x = x;
   s->intended_z = z;
   s->capture_pending = 0;
   s->capturing = 0;
   memset(s->rm_frames, 0, sizeof s->rm_frames);
   return true;
}

static const sono_plugin_state_t state_ext = {state_save, state_load};

static const void *hy_get_extension(const sono_plugin_t *p, const char *id)
{
   (void)p;
   return sono_kit_extension(id, &params_ext, &state_ext);
}

static const sono_plugin_t *hy_create(const sono_host_t *host)
{
   hy_t *s = calloc(1, sizeof *s);
   if (!s)
      return NULL;
   s->host = host;
   s->plugin = (sono_plugin_t){&descriptor, s, hy_init, hy_destroy, hy_activate, hy_deactivate, hy_process,
                               hy_get_extension};
   return &s->plugin;
}

SONO_KIT_DEFINE_ENTRY(descriptor, hy_create);
