/* Internal declarations of org.sonoplug.hyaluronidase, shared by the hy_*.c
 * files (docs/clinical.md, "Hyaluronidase guidance").
 *
 * Ownership: one hy_t per plugin instance; every buffer it points to is
 * allocated in activate() and freed in deactivate(), so process() allocates
 * nothing. Threading: an instance is used by one thread at a time
 * (instance-safe). Units: SI (metres, m^2, seconds) everywhere inside; text
 * shown to the clinician uses mm. */
#ifndef HY_H
#define HY_H

#include <stddef.h>
#include <stdint.h>

#include <sono/analysis/analysis.h>
#include <sono/sdk/plugin_kit.h>

#define HY_VERSION "1.0.0"
/* clinical-spec R5: the fixed label of targets and needling grids. */
#define HY_PLANNING_AID "planning aid \xe2\x80\x94 clinician determines all injection sites and doses"

enum {
   P_TARGET_COUNT,
   P_TARGET_SPACING,
   P_TARGET_MARGIN,
   P_TARGET_INSET,
   P_HA_PATTERN,
   P_DANGER_MARGIN,
   P_PERIORBITAL,
   P_GRID_MODE,
   P_GRID_X0,
   P_GRID_X1,
   P_GRID_SPACING,
   P_GRID_DEPTH_MIN,
   P_GRID_DEPTH_MAX,
   P_CAPTURE_BASELINE,
   P_AUTO_BASELINE,
   P_BASELINE_WINDOW,
   P_INTENDED_SITE,
   P_INTENDED_X,
   P_INTENDED_Z,
   P_MIGRATION_THRESHOLD,
   P_MATCH_RADIUS,
   P_REDUCED_RATIO,
   P_CINE_WINDOW,
   P_MIN_DIAMETER,
   P_SCALE_FACTOR,
   P_EXPECTED_PSV,
   P_REMEASURE_TISSUE,
   P_REMEASURE_SIGNIFICANCE,
   P_MIGRATED_AREA_SHARE,
   P_SHADOW_DB,
   P_TARGET_ECHO_SHARE,
   P_COUNT
};

enum { HY_GRID_OFF = 0, HY_GRID_REGION = 1, HY_GRID_HYPOPERFUSED = 2 };

extern const sono_kit_param_t hy_params[P_COUNT];

/* ---- baseline (the sono.state/1 payload) ---------------------------------------- */

#define HY_MAX_SILENT 4
#define HY_BASE_OUTLINE 24 /* outline points kept per baseline deposit */

typedef struct hy_base_deposit {
   double cx, cz, area, z_top, z_bottom, x_left, x_right;
   double echo_db;               /* mean echo re the tissue at its depth: the side it stands out on */
   int32_t cls, placement;
   uint32_t outline_count;       /* 0, or >= 3 points of the outline, in order */
   sono_point_t outline[HY_BASE_OUTLINE];
} hy_base_deposit_t;

typedef struct hy_base_vessel {
   double depth;                 /* median centre depth: how vessels are matched */
   double flow_length;           /* length with flow at capture */
   uint32_t silent_count;        /* absent-flow intervals at capture */
   double silent_x0[HY_MAX_SILENT], silent_x1[HY_MAX_SILENT];
} hy_base_vessel_t;

typedef struct hy_baseline {
   int32_t present;
   uint64_t timestamp_ns;        /* frame time at capture */
   int32_t this_session;         /* captured by this instance (not loaded): the timer applies */
   uint32_t deposit_count;
   hy_base_deposit_t deposits[SONO_AN_MAX_DEPOSITS];
   uint32_t vessel_count;
   hy_base_vessel_t vessels[SONO_AN_MAX_VESSELS];
} hy_baseline_t;

/* Serialised size bound of hy_baseline_t plus the intended site. */
#define HY_STATE_BYTES 8192
#define HY_STATE_MAGIC 0x48594c31u /* "HYL1" */
/* 2: deposits carry their lateral extent (pieces of one deposit are
 * recognised by their boxes). 3: and their echo and outline (a deposit no
 * longer outlined is re-measured inside it). An older blob is refused whole. */
#define HY_STATE_VERSION 3u

typedef enum {
   HY_RM_SEEN,         /* material stands out of the tissue inside the baseline outline */
   HY_RM_GONE,         /* nothing beyond remeasure_significance spreads of the tissue's own crossings */
   HY_RM_AMBIGUOUS,    /* the excess is within twice the significance limit */
   HY_RM_OUT_OF_FIELD  /* the baseline box, or the tissue beside it, is not in this frame */
} hy_rm_status_t;

typedef struct hy_remeasure {
   hy_rm_status_t status;
   double area_m2;       /* area standing out of the tissue, speckle crossings removed */
   double contrast_db;   /* mean echo of the crossing pixels re the tissue median */
   double tissue_db;     /* the tissue median (dB, frame reference) */
   double tissue_share;  /* share of the tissue beside it that crosses the threshold */
   sono_point_t at;      /* centroid of the crossing pixels */
} hy_remeasure_t;

/* ---- instance ------------------------------------------------------------------- */

#define HY_MAX_POINTS 1024        /* overlay point buffer */
#define HY_MAX_CANDIDATES 640     /* target candidates per deposit */
#define HY_MAX_TARGETS 24         /* per frame, all deposits */
#define HY_TEXT 512

typedef struct hy_candidate {
   float x, z, score;
} hy_candidate_t;

typedef struct hy_target {
   double x, z;
   int deposit;
} hy_target_t;

typedef struct hy {
   sono_plugin_t plugin;
   const sono_host_t *host;
   double values[P_COUNT];
   int capture_pending;          /* capture_baseline toggled on: capture from the next ready frame */
   int capturing;                /* the baseline is refreshed every frame until capture_end_ns */
   uint64_t capture_start_ns, capture_end_ns;
   hy_baseline_t base;
   int32_t has_intended_saved;   /* intended site taken from a loaded state */
   double intended_x, intended_z;
   /* per-activation buffers */
   sono_an_context_t *an;
   sono_an_config_t cfg;
   sono_point_t *pts;            /* HY_MAX_POINTS */
   hy_candidate_t *cand;         /* HY_MAX_CANDIDATES */
   float *blood_dist;            /* max_nz * max_nx: distance (m) to blood of vessels not involved */
   int32_t *blood_src;           /* max_nz * max_nx: nearest blood pixel (iz << 16 | ix), -1 none */
   uint8_t *flow;                /* max_nz * max_nx: blood pixels of this frame (hy_blood.c) */
   int blood_ready;              /* blood_dist holds this frame's map */
   int blood_none;               /* no blood in the map's window: blood_dist and blood_src unset */
   uint32_t bz0, bx0, bnz, bnx;  /* the map's window: first row and column, size (frame pixels) */
   hy_target_t targets[HY_MAX_TARGETS];
   uint32_t target_count;
   int involved[SONO_AN_MAX_VESSELS];
   int eligible[SONO_AN_MAX_DEPOSITS]; /* deposit may hold targets (this frame) */
   float *rm_echo;               /* max_nz * max_nx: echo (dB) averaged over the cine window (hy_remeasure.c) */
   float *rm_scratch;            /* max_nz * max_nx: tissue echo samples for their median */
   uint32_t rm_frames[SONO_AN_MAX_DEPOSITS]; /* frames averaged per baseline deposit */
   /* this frame's deposit matching against the baseline (hy_match_baseline) */
   int match[SONO_AN_MAX_DEPOSITS];          /* deposit now of each baseline deposit, -1 none */
   int rm_done[SONO_AN_MAX_DEPOSITS];        /* re-measured in place on this frame: rm[] holds it */
   int shadowed[SONO_AN_MAX_DEPOSITS];       /* deposit now in the acoustic shadow of this deposit now, -1 none */
   int base_shadowed[SONO_AN_MAX_DEPOSITS];  /* baseline deposit not measurable: that shadow (deposit now), -1 none */
   hy_remeasure_t rm[SONO_AN_MAX_DEPOSITS];
   sono_grid_t grid;
   /* per-frame text, reused */
   char label[HY_TEXT], basis[HY_TEXT], text[HY_TEXT];
   char attr_text[SONO_AN_CLASS_COUNT + 8][32];
   char attr_key[SONO_AN_CLASS_COUNT][24];
   sono_attribute_t attrs[SONO_AN_CLASS_COUNT + 8];
} hy_t;

/* ---- hy_geom.c ------------------------------------------------------------------ */

int hy_point_in_polygon(const sono_point_t *poly, uint32_t n, double x, double z);
double hy_distance_to_edges(const sono_point_t *poly, uint32_t n, double x, double z);
/* Clamps a point to the frame extent (the host drops out-of-frame points). */
sono_point_t hy_clamp(const sono_grid_t *g, double x, double z);

/* ---- hy_blood.c ---------------------------------------------------------------- */

/* Builds the distance map to the cine flow pixels outside the lumens of the
 * involved vessels (their traced lumen widened by involved_widen_m along
 * the beam) on this frame's grid (s->grid), over the deposits marked in
 * s->eligible widened by reach_m (the largest distance the caller needs).
 * Allocates nothing. */
void hy_blood_map(hy_t *s, const sono_an_result_t *r, double involved_widen_m, double reach_m);
/* Lower bound of the distance (m) from (x, z) to that blood; INFINITY when
 * no blood lies in the map, 0 outside the map. Valid after hy_blood_map()
 * on this frame. */
double hy_blood_distance(const hy_t *s, double x, double z);

/* ---- hy_overlay.c --------------------------------------------------------------- */

void hy_mark_involved(hy_t *s, const sono_an_result_t *r, double nyquist_m_s);
void hy_push_vessels(hy_t *s, const sono_an_result_t *r, const sono_output_t *out);
void hy_push_deposits(hy_t *s, const sono_an_result_t *r, const sono_output_t *out);
void hy_push_danger(hy_t *s, const sono_an_result_t *r, const sono_output_t *out);
void hy_push_measurement(const sono_output_t *out, const char *name, double value, const char *unit,
                         const char *label, sono_point_t at);

/* ---- hy_plan.c ------------------------------------------------------------------ */

void hy_plan_targets(hy_t *s, const sono_an_result_t *r);
void hy_push_targets(hy_t *s, const sono_an_result_t *r, const sono_output_t *out);
void hy_push_grid(hy_t *s, const sono_an_result_t *r, const sono_output_t *out);
/* Lateral extent of the hypoperfused territory; 0 when there is none. */
int hy_hypoperfused_extent(const hy_t *s, const sono_an_result_t *r, double *x0, double *x1);

/* ---- hy_baseline.c -------------------------------------------------------------- */

/* Replaces the baseline with this frame's; timestamp_ns starts the re-scan timer. */
void hy_baseline_capture(hy_t *s, const sono_an_result_t *r, uint64_t timestamp_ns);
/* Matches this frame's deposits with the baseline's into s->match, once per
 * frame before the comparison and the migration (it re-measures in place,
 * which averages the echo over frames). */
void hy_match_baseline(hy_t *s, const sono_an_result_t *r, const sono_frame_t *frame);
void hy_push_comparison(hy_t *s, const sono_an_result_t *r, const sono_frame_t *frame, const sono_output_t *out);
void hy_push_migration(hy_t *s, const sono_an_result_t *r, const sono_output_t *out);
/* Serialises baseline + intended site into buf (HY_STATE_BYTES); returns the size. */
size_t hy_state_encode(const hy_t *s, uint8_t *buf);
/* Decodes into base/intended; 0 on success, -1 when the payload is malformed. */
int hy_state_decode(const uint8_t *buf, size_t size, hy_baseline_t *base, int32_t *has_intended, double *ix,
                    double *iz);

/* ---- hy_remeasure.c -------------------------------------------------------------- */


/* Re-measures baseline deposit `b` inside its baseline outline on this
 * frame (s->grid), its echo averaged over the frames it was re-measured in
 * (one cine window). Allocates nothing. */
void hy_remeasure(hy_t *s, const sono_an_result_t *r, const sono_frame_t *frame, uint32_t b, hy_remeasure_t *out);
/* The echo (dB re the tissue beside it) a pixel must cross to count as
 * what is left of deposit b: negative for a dark deposit. */
float hy_remeasure_threshold(const hy_base_deposit_t *b, const sono_an_config_t *cfg);

/* snprintf-append that never overruns (returns chars that would be written). */
int hy_append(char *buf, size_t size, size_t *len, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#endif
