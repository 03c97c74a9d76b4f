/* libsono_analysis: the shared vessel / perfusion / filler-deposit analysis
 * of the clinical plugins (docs/clinical.md, "Shared analysis module").
 *
 * One implementation serves every plugin that needs to know where the
 * vessels and the filler deposits are: the intravascular-filler plugin
 * (org.sonoplug.intravascular) and the hyaluronidase-guidance plugin call the
 * same functions on the same frames and therefore see the same vessels,
 * segments and deposits.
 *
 * What one call of sono_an_analyse() produces, from one frame's planes:
 *   - vessels: traced in long axis (the in-plane view used to map facial
 *     arteries; the vessel must run within about 60 degrees of the lateral
 *     axis), one centreline sample per image column with the upper and lower
 *     lumen edges, diameter, depth, flow fraction and cine peak speed;
 *     found from colour flow AND from the tubular anechoic lumen on B-mode,
 *     so a vessel is followed through segments without flow (an anechoic HA
 *     occlusion looks like blood) and across a short echogenic plug;
 *   - per-vessel segments with a perfusion state (perfused / reduced /
 *     absent) and their peak speed relative to the upstream segment; the
 *     longest absent segment bounded by flow is the candidate occlusion;
 *   - upstream PSV, EDV and RI over the cine window, angle-corrected with the
 *     traced centreline slope, when the angle allows it;
 *   - deposits: regions whose echogenicity, texture or posterior signature
 *     differ from the tissue at the same depth, with an outline polygon, area,
 *     depth range, features, class probabilities over the eleven classes of
 *     formats.md §2, placement (intraluminal / perivascular / tissue) and the
 *     distance to the nearest lumen.
 *
 * Cine accumulation lives HERE, not in the plugins: the context keeps, per
 * pixel, the number of frames since flow was last seen and a decaying peak
 * speed, over a window of `cine_window_s` (one cardiac cycle by default).
 * Perfusion states are computed on that window, so a flow gap "counts" only
 * when it has persisted over every frame of the window, and diastolic
 * silence in a patent vessel is not mistaken for absent flow. Results say
 * how many frames the window holds (`cine_frames`); callers should not
 * report an occlusion before `cine_ready` is set. Call sono_an_reset() when
 * the probe moves to a new view.
 *
 * Units: SI everywhere (metres, m/s, m^2); echo levels in dB relative to the
 * tissue at the same depth (the row background); positions in the frame's
 * image plane (x lateral, z depth, frame.h). Velocity sign as in frame.h.
 *
 * Ownership and lifetime: sono_an_create() allocates every buffer for frames
 * up to max_nz x max_nx (call it in activate()); sono_an_analyse() allocates
 * nothing and writes into the sono_an_result_t owned by the context, which
 * stays valid until the next analyse/reset/destroy call on that context.
 * Input planes are read only and need to live only during the call.
 *
 * Threading: a context is used by one thread at a time (one per plugin
 * instance). Different contexts are independent. No global state. */
#ifndef SONO_ANALYSIS_H
#define SONO_ANALYSIS_H

#include <stdint.h>
#include <sono/events.h>
#include <sono/frame.h>
#include <sono/sdk/error.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SONO_AN_MAX_VESSELS 6
#define SONO_AN_MAX_SEGMENTS 16
#define SONO_AN_MAX_DEPOSITS 12
#define SONO_AN_MAX_OUTLINE 64

/* Deposit classes (names as in formats.md §2, through sono_an_class_name). */
typedef int32_t sono_an_class_t;
enum {
   SONO_AN_HA_FRESH = 0,
   SONO_AN_HA_INTEGRATED,
   SONO_AN_CAHA,
   SONO_AN_CAHA_DILUTED,
   SONO_AN_PMMA,
   SONO_AN_SILICONE,
   SONO_AN_PLLA,
   SONO_AN_PCL,
   SONO_AN_COLLAGEN,
   SONO_AN_PAAG,
   SONO_AN_UNKNOWN,
   SONO_AN_CLASS_COUNT
};

typedef int32_t sono_an_placement_t;
enum { SONO_AN_TISSUE = 0, SONO_AN_INTRALUMINAL = 1, SONO_AN_PERIVASCULAR = 2 };

typedef int32_t sono_an_perfusion_t;
enum { SONO_AN_PERFUSED = 0, SONO_AN_REDUCED = 1, SONO_AN_ABSENT = 2 };

/* "ha_fresh" ... "unknown"; "intraluminal"/"perivascular"/"tissue";
 * "perfused"/"reduced"/"absent". NULL when out of range. [thread-safe] */
const char *sono_an_class_name(sono_an_class_t c);
/* Display label such as "HA (fresh)". */
const char *sono_an_class_label(sono_an_class_t c);
int sono_an_class_from_name(const char *name);
const char *sono_an_placement_name(sono_an_placement_t p);
const char *sono_an_perfusion_name(sono_an_perfusion_t p);

/* ---- configuration ------------------------------------------------------------ */

/* Thresholds. Defaults and their sources: docs/clinical.md. Plugins expose
 * the ones a clinician may change through sono.params/1 and copy them here
 * before each call (changing them between calls is allowed). */
typedef struct sono_an_config {
   double bmode_dynamic_range_db;  /* dB spanned by uint8 0..255 (host default 40) */
   double iq_dynamic_range_db;     /* echo range kept when B-mode is formed from IQ (70) */
   double cine_window_s;           /* flow memory: one cardiac cycle (1.0 s) */
   uint32_t cine_min_frames;       /* frames before cine_ready (4) */
   double flow_power_margin_db;    /* flow: power this far above the noise floor (8) */
   double flow_sidelobe_db;        /* flow: power within this of the frame's strong flow, its 99.5th
                                      percentile (24; beam side lobes carry flow colour into anechoic
                                      regions about 30 dB down); <= 0 disables */
   double flow_min_speed_frac;     /* flow: |v| above this fraction of VN (0.04) */
   double flow_max_variance_frac;  /* flow: variance below this fraction of VN^2 (0.25) */
   double lumen_dark_db;           /* lumen: this far below the row background (-14) */
   double vessel_min_diameter_m;   /* thinnest lumen traced (0.3 mm) */
   double vessel_max_diameter_m;   /* thickest lumen traced (3.5 mm) */
   double vessel_min_length_m;     /* shortest traced vessel (5 mm) */
   double vessel_max_bridge_m;     /* longest echogenic plug bridged (10.5 mm: occlusions run 2-10 mm) */
   double absent_flow_fraction;    /* segment absent below this lumen flow fraction (0.15) */
   double reduced_speed_ratio;     /* reduced below this x the vessel's reference speed (0.5) */
   double min_segment_m;           /* shorter state runs merge into neighbours (0.4 mm) */
   double deposit_dark_db;         /* deposit: smoothed echo below background by (-6) */
   double deposit_bright_db;       /* deposit: smoothed echo above background by (+5) */
   double deposit_min_area_m2;     /* smallest reported deposit (0.25 mm^2) */
   double perivascular_m;          /* perivascular when within this of a lumen (1 mm, formats.md §2) */
   /* flow: the 0.1 mm-smoothed echo must lie this far below the row
    * background (0 dB), or 10 dB below the median tissue level: blood is
    * anechoic, so colour over echogenic tissue is clutter (tissue motion
    * passing the wall filter at a low velocity scale) */
   double flow_max_echo_db;
   /* flow: a pixel this far above its row's power floor passes whatever
    * its variance (15 dB). Slow flow in a nearly horizontal vessel at a low
    * PRF spreads its spectrum (0.16 VN^2 against the 0.12 limit) while its
    * colour stands some 23 dB above the floor; clutter that strong would
    * also be fast or echogenic, which the other tests reject. */
   double flow_strong_power_db;
   /* tracing through a filled course: where a flowing lumen's trace ends
    * inside the field, the vessel's course carried on from its last 2 mm
    * is followed while the band it occupies differs from the tissue just
    * above AND just below it by at least this much, in the same sense
    * (3 dB): material filling the lumen (an echogenic or hypoechoic plug)
    * between walls of tissue, with no colour in it. <= 0 disables. */
   double course_contrast_db;
   /* a frame whose colour over tissue-level echo covers more than this
    * share of the view below the skin is a flash (tissue or probe motion):
    * its colour is left out of the cine window (0.03; <= 0 disables) */
   double flash_share;
   /* compression seen on the lumen (formats.md §2 "compressing or within
    * 1 mm", V1): within compress_reach_m of a lumen, a deposit beside which
    * the lumen narrows to compress_share of the vessel's own median calibre
    * or less is perivascular (2 mm; 0 = off, the default: 0.7 placed two
    * more deposits right on training, none on validation, and three tissue
    * deposits beside lumens that read narrow wrong on a held-out seed) */
   double compress_reach_m;
   double compress_share;
   /* a deposit outside the lumens whose posterior level is at or below
    * this (dB re the tissue beside it) shadows the lumen under its body,
    * across its lateral extent: neither echo nor colour reaches that lumen,
    * so its silence evidences no plug (-6 dB: half the echo amplitude,
    * the acoustic-shadow row of clinical-spec §4) */
   double shadow_db;
   /* material on a silent segment (V6): a deposit outside the lumen that
    * lies within plug_touch_m of the lumen of a vessel's candidate occluded
    * segment, beside it over at least plug_cover of the shorter of its
    * width and the segment, is the plug seen on B-mode (intraluminal); the
    * segment's own outline is kept (0.15 mm, 0.6; plug_cover 0 = off) */
   double plug_touch_m;
   double plug_cover;
   /* a tailed focus (comet tail) outside a deposit's outline within
    * cloud_link_m of it, or of another focus so joined, is part of that
    * deposit: its distance to a lumen is read from such foci too
    * (microsphere fillers outlined on their dense part only; 0 = off) */
   double cloud_link_m;
   /* tracing along the vessel's line: where a flowing lumen's trace ends
    * inside the field and neither its lumen nor a filled course with
    * contrast is seen beyond, the line carried on from its last 2 mm is
    * traced, with no colour on it, to where colour resumes or the line
    * leaves the image, when that stretch is at most this long (m; 10.5 mm,
    * as vessel_max_bridge_m: occlusions run 2-10 mm; <= 0 disables) */
   double course_line_max_m;
} sono_an_config_t;

void sono_an_config_default(sono_an_config_t *cfg);

/* ---- input ---------------------------------------------------------------------- */

/* The planes of one frame, as the host gives them (frame.h). bmode or iq
 * is required. When the IQ plane is given, echo levels are formed from the
 * magnitude of its first ensemble sample over iq_dynamic_range_db: the
 * display B-mode (40 dB below the brightest echo) clips everything more
 * than about 10 dB below fat to black, which hides the differences between
 * anechoic and hypoechoic deposits (HA fresh -30 dB vs integrated -10 dB re
 * fat, clinical-spec §7.3). velocity, power and variance are optional, but
 * without them no flow is seen (flow_available = 0) and callers must treat
 * perfusion as unassessable. */
typedef struct sono_an_input {
   const sono_grid_t *grid;
   const sono_acquisition_t *acquisition; /* nyquist_velocity_m_s, frame_rate_hz */
   const sono_plane_t *bmode;
   const sono_plane_t *iq;        /* complex64 z, x, ensemble; or NULL */
   const sono_plane_t *velocity;
   const sono_plane_t *power;
   const sono_plane_t *variance;
} sono_an_input_t;

/* ---- results -------------------------------------------------------------------- */

/* One centreline sample (one image column). */
typedef struct sono_an_centre_point {
   float x_m, z_m;          /* lumen centre */
   float top_z_m, bottom_z_m; /* lumen edges along the beam at this column */
   float diameter_m;        /* perpendicular to the centreline */
   float flow_fraction;     /* share of lumen pixels with flow in the cine window */
   float speed_m_s;         /* cine peak |axial velocity| in the lumen, angle corrected when possible */
   uint8_t interpolated;    /* 1: lumen not visible here (bridged plug) */
   uint8_t perfusion;       /* sono_an_perfusion_t */
   uint8_t reserved[2];
} sono_an_centre_point_t;

/* A run of centreline samples with one perfusion state. */
typedef struct sono_an_segment {
   uint32_t first, last;    /* inclusive indices into the vessel's points */
   sono_an_perfusion_t perfusion;
   float length_m;          /* along the centreline */
   float speed_m_s;         /* median sample speed */
   float speed_ratio;       /* speed / upstream reference speed (1 = as upstream) */
   int32_t reversed;        /* flow opposite to the upstream direction */
} sono_an_segment_t;

typedef struct sono_an_vessel {
   uint32_t point_count;
   const sono_an_centre_point_t *points; /* point_count samples, increasing x; owned by the context */
   uint32_t segment_count;
   sono_an_segment_t segments[SONO_AN_MAX_SEGMENTS];
   float diameter_m;        /* median over visible samples */
   float depth_m;           /* median centre depth */
   float angle_rad;         /* centreline slope re +x (positive = deeper with x) */
   float flow_length_m;     /* length of samples with flow */
   int32_t flow_direction;  /* +1 flow toward +x, -1 toward -x, 0 unknown */
   int32_t occlusion;       /* index of the candidate occluded segment, -1 none */
   int32_t upstream;        /* index of the segment upstream of it, -1 none */
   /* Upstream waveform over the cine window (measurable = 0 when the angle
    * is too steep to correct (> 80 degrees to the beam... i.e. the vessel is
    * almost parallel to the probe) or the window is not full). ri, a ratio
    * of axial speeds that needs no angle correction, is read over the
    * frames of the window (at least 3), each frame's speed read toward the
    * systolic direction (not the frame's own), so that reversed diastolic
    * flow counts as reversed and a noisy direction does not; 0 when not
    * measured. */
   int32_t psv_measurable;
   float psv_m_s, edv_m_s, ri;
   int32_t systolic_direction; /* flow direction at the cine's fastest upstream frame (+1 toward +x, -1, 0) */
   float axial_peak_m_s;    /* largest |axial velocity| seen, uncorrected */
} sono_an_vessel_t;

/* Features of a deposit (dB re the row background unless stated). */
typedef struct sono_an_features {
   float echo_db;           /* mean smoothed echo, re the row or the tissue level (an_deposits.c) */
   float posterior_db;      /* band 0.2-1.5 mm below, central columns */
   float focus_density_mm2; /* bright foci (> +12 dB) per mm^2 */
   float tail_score;        /* mean echo 0.1-0.5 mm below foci minus beside them, dB */
   float heterogeneity_db;  /* std of 0.3 mm-smoothed echo inside */
   float capsule_db;        /* rim (0.2 mm band outside) minus the tissue 0.3-0.8 mm out */
   float dark_fraction;     /* share of pixels 20 dB below background */
   /* Bright foci (> +12 dB re the row, local maxima) that carry a comet
    * tail (the echo below them stays 3 dB over the tissue for at least
    * 0.2 mm), per mm^2 of the outline's bounding box widened by 0.3 mm on
    * every side, lumens and other deposits left out. The foci of a
    * hypoechoic matrix (PMMA, PCL) lift the smoothed echo out of the dark
    * mask, so an outline of the matrix alone holds none inside but is
    * ringed and holed by them. -1 = not measured (no box); lumen-gap
    * deposits keep 0 and are classified from their echo alone. */
   float foci_tailed_mm2;
   /* posterior profile: the column 0.15-0.65 mm under the bottom edge minus
    * the column 1.5-2.5 mm under it (central columns, dB). A dirty shadow
    * (reverberant echoes right under the deposit, fading into a full shadow)
    * falls steeply; a clean shadow (dark from the edge, flat with depth) or
    * none stays near 0. NAN = not measured (under most of the columns the
    * deeper band lies outside the image, or where the tissue is too near
    * the display floor for a shadow to show). */
   float posterior_fall_db;
   /* Echo of the matrix between the foci: the MATRIX_QUANTILE (first
    * quartile) of the speckle-averaged echo over the outline's column spans
    * (holes between the foci included), dB re the row background. Silicone's
    * snowstorm is dense foci in an echogenic matrix, PMMA's sparse foci sit
    * in a hypoechoic one (clinical-spec F1, F7, F8, §7.3): the foci lift the
    * mean echo of both, the quartile below them reads the matrix. NAN = not
    * measured (no pixel). */
   float matrix_echo_db;
   /* posterior column against the tissue BESIDE the deposit: the band
    * 0.2-1.5 mm under the bottom edge (central 60% of the columns, as
    * posterior_db; a column whose echogenic body runs on under the outline,
    * over +3 dB for up to 1.5 mm, is read under the body) minus the same
    * rows 0.5-2 mm to either side of the
    * deposit's lateral extent (tissue only: no lumen, no grouped region), dB.
    * posterior_db reads the column against the row median, which the
    * deposit's own shadow and the layers it lies in shift; the tissue beside
    * it at the same depths is the reference a sonographer compares the
    * shadow with. NAN = not measured (no tissue beside it at those depths). */
   float posterior_beside_db;
} sono_an_features_t;

typedef struct sono_an_deposit {
   uint32_t outline_count;
   sono_point_t outline[SONO_AN_MAX_OUTLINE]; /* closed polygon, metres */
   sono_point_t centroid;
   double area_m2;
   double z_top_m, z_bottom_m;   /* depth range */
   double x_left_m, x_right_m;
   sono_an_features_t features;
   sono_an_class_t cls;          /* most probable class */
   float probability[SONO_AN_CLASS_COUNT]; /* sums to 1 */
   sono_an_placement_t placement;
   int32_t vessel;               /* nearest vessel index, -1 none */
   double distance_to_lumen_m;   /* 0 when intraluminal */
   int32_t from_flow_gap;        /* 1: outlined from an absent-flow lumen segment (B-mode silent) */
   /* 1: a perivascular deposit pressing on the lumen of `vessel` (clinical-
    * spec V1, extravascular compression): its body lies against the lumen
    * outside the walls, and the lumen beside it is silent or was outlined
    * with it; the outline holds the deposit's own echo body only, never
    * the lumen. */
   int32_t compresses;
   /* 1: intraluminal as the plug of `vessel` where its flowing lumen ends
    * inside the field with no lumen seen beyond it (the vessel leaves the
    * view, or the plug reaches the field's edge): it fills the vessel's
    * course there (clinical-spec V6, V7). */
   int32_t end_plug;
} sono_an_deposit_t;

typedef struct sono_an_result {
   uint32_t vessel_count;
   sono_an_vessel_t vessels[SONO_AN_MAX_VESSELS];
   uint32_t deposit_count;
   sono_an_deposit_t deposits[SONO_AN_MAX_DEPOSITS];
   uint32_t cine_frames;         /* frames in the flow window so far */
   int32_t cine_ready;           /* window holds >= cine_min_frames */
   int32_t flow_available;       /* velocity and power planes were given */
   float noise_floor_db;         /* power noise floor, dB re frame max */
   float nyquist_m_s;            /* VN of the frame */
   /* Cine flow (m^2) below the skin outside every traced lumen, in compact
    * patches (isolated noise pixels excluded): a vessel in view that could
    * not be traced, so "nothing found" does not cover the whole view. */
   float untraced_flow_m2;
   /* frames since the last reset whose colour was left out as a flash
    * (config flash_share) */
   uint32_t flash_frames;
} sono_an_result_t;

/* ---- lifecycle ----------------------------------------------------------------- */

typedef struct sono_an_context sono_an_context_t;

/* Allocates everything for frames up to max_nz x max_nx. NULL with `err`
 * naming the bad argument. [any thread; call in activate()] */
sono_an_context_t *sono_an_create(uint32_t max_nz, uint32_t max_nx, sono_error_t *err);
void sono_an_destroy(sono_an_context_t *ctx);

/* Forgets the cine window (new view, new probe position). */
void sono_an_reset(sono_an_context_t *ctx);

/* Analyses one frame. Returns the result (owned by ctx), or NULL with
 * `err` naming the plane or field that was wrong (missing B-mode, frame
 * larger than the maxima, planes off the grid). Allocates nothing. */
const sono_an_result_t *sono_an_analyse(sono_an_context_t *ctx, const sono_an_config_t *cfg,
                                        const sono_an_input_t *in, sono_error_t *err);

/* The planes a plugin's frame must offer for sono_an_analyse(): velocity
 * and power, and B-mode or IQ (SONO_PLANE_BIT mask). Plugins test this in
 * activate() and refuse the format otherwise. Pure; [thread-safe]. */
int sono_an_planes_suffice(uint32_t planes_available);

/* sono_an_analyse() on the planes a host frame carries. */
const sono_an_result_t *sono_an_analyse_frame(sono_an_context_t *ctx, const sono_an_config_t *cfg,
                                              const sono_frame_t *frame, sono_error_t *err);

/* Shortest distance (m) from (x, z) to the lumen of `v` (0 inside; 1e9 for a
 * vessel without samples). Visits only the columns that can be nearer than
 * the best found. Pure; [thread-safe]. */
double sono_an_distance_to_lumen(const sono_an_vessel_t *v, double x_m, double z_m);

/* Whether deposit `d` shadows a lumen whose top lies at depth top_z_m, over
 * d's lateral extent [x_left_m, x_right_m]: d lies outside the lumens, its
 * body (centroid) above that top, and its posterior level is at or below
 * shadow_db (sono_an_config_t). Pure; [thread-safe]. */
int sono_an_shadows_lumen(const sono_an_deposit_t *d, double top_z_m, double shadow_db);

/* Lumen outline of samples first..last of `v` as a closed polygon (upper
 * edge forward, lower edge back), at most `cap` points. Returns the count. */
uint32_t sono_an_lumen_polygon(const sono_an_vessel_t *v, uint32_t first, uint32_t last, sono_point_t *out,
                               uint32_t cap);

/* Share (0..1) of the pixels inside the closed polygon `poly` (n points,
 * metres) that carried flow at least once in the current cine window, as of
 * the last sono_an_analyse() call; 0 before the first call. Blood shows
 * colour within a cardiac cycle, filler does not: callers use it to tell an
 * untraced lumen from an anechoic deposit. Allocates nothing. */
double sono_an_flow_fraction(const sono_an_context_t *ctx, const sono_point_t *poly, uint32_t n);

/* Echo (dB) at (x, z) re the tissue background of its row, on the 0.3 mm
 * (texture-scale) smoothing the deposit features use (echo_db is its mean
 * over a deposit), as of the last sono_an_analyse() call; NAN before the
 * first call or outside the analysed frame. Lets a caller test that a point
 * chosen inside a deposit's outline shows the deposit's own contrast: an
 * outline spans each column from top to bottom, so it can enclose tissue
 * between joined fragments. Pure read; [thread-safe with other readers]. */
float sono_an_echo_at(const sono_an_context_t *ctx, double x_m, double z_m);

/* Whether colour flow was seen at least once in the current cine window, as
 * of the last sono_an_analyse() call, for the nz x nx frame pixels from row
 * iz0 and column ix0 (frame rows and columns, as in the planes given):
 * out[iz + nz * ix] = 1 (flow) or 0 (none, outside the frame, or before the
 * first call), column-major. Lets a caller keep a margin from blood itself,
 * not only from the traced lumens (a trace can miss part of a lumen). Read
 * only; allocates nothing; `out` holds nz * nx bytes. */
void sono_an_flow_seen(const sono_an_context_t *ctx, uint32_t iz0, uint32_t ix0, uint32_t nz, uint32_t nx, uint8_t *out);

/* ---- rule V9: when absence of flow says nothing --------------------------------
 * clinical-spec §2 V9: absent colour in a vessel under 0.8 mm, or at a velocity
 * scale above twice the expected PSV, never counts as "no intravascular
 * filler". This is the one implementation every plugin applies. Its margins
 * err toward "uninformative", so that measurement error can never turn an
 * uninformative absence of flow into "not detected":
 *  - a vessel is small when its median diameter is under the limit raised by
 *    the margin, OR when more than a fifth of its visible lumen is (a lumen
 *    widened by blooming or a wall echo in part of its course must not hide a
 *    sub-millimetre vessel), each sample judged by the running median of the
 *    visible calibre over +-0.5 mm (speckle dips of the edges are shorter; a
 *    narrow vessel stays narrow along stretches of its course);
 *  - without a measured PSV the scale is compared with the LOWEST expected PSV
 *    of the vessels the calibre allows, never a typical one: 9.2 cm/s for any
 *    vessel up to 1.2 mm (periorbital and nasal arteries, N4, N8), 20 cm/s
 *    only when the median calibre exceeds 1.2 mm raised by the margin (only
 *    the facial artery is that wide: 20-40 cm/s at the nasolabial fold,
 *    clinical-spec §7.2, N6); a measured PSV is
 *    lowered by the margin, and is used only when the beam-to-flow angle is at
 *    most 60 degrees (angle correction beyond that is unreliable);
 *  - no usable velocity scale, or fewer than 3 visible lumen points, is
 *    uninformative as well.
 * The margin guards the negative answer only. A positive one (a flow gap or
 * a plug seen in the lumen) is held back by the plain limit on the median
 * calibre where blood flows (`small_plain`, `applies_positive`; no narrow
 * share, which speckle on a 0.82 mm lumen always exceeds): raising the limit
 * there would turn a visible occlusion of a 0.85 mm vessel into
 * "indeterminate" for no safety gain. Its scale test takes the calibre class
 * (facial-artery calibre or not) by the plain large_calibre_m as well
 * (`high_scale_positive`): a gap seen in a 1.24 mm vessel at a scale of
 * 0.17 m/s, under the slowest facial-artery PSV, is not held back. */
typedef struct sono_an_v9_limits {
   double min_diameter_m;    /* 0.8 mm */
   double scale_factor;      /* 2: scale above 2x the expected PSV */
   double expected_psv_m_s;  /* 0.092 m/s: used when the PSV is not measured */
   double margin;            /* 0.15: relative safety margin on both limits */
   double large_calibre_m;   /* 1.2 mm: wider than every small facial artery; 0 turns the next off */
   double large_expected_psv_m_s; /* 0.20 m/s: lowest expected PSV above large_calibre_m */
} sono_an_v9_limits_t;

typedef struct sono_an_v9 {
   int applies;              /* absence of flow is uninformative: indeterminate */
   int applies_positive;     /* a seen gap or plug is uninformative too (plain calibre limits) */
   int small;
   int small_plain;          /* median calibre (where blood flows) under min_diameter_m, no margin */
   int high_scale;
   int unmeasurable;
   int psv_measured;
   double expected_psv_m_s;  /* the PSV the scale was compared with */
   int large_calibre;        /* expected_psv_m_s is the large-calibre one */
   double small_share;       /* share of visible lumen samples under the limit */
   double diameter_limit_m;  /* min_diameter_m raised by the margin */
   /* the scale test of a positive answer (applies_positive): */
   int high_scale_positive;
   double expected_psv_positive_m_s; /* the PSV it compared the scale with */
   int large_calibre_positive;       /* median calibre over the plain large_calibre_m */
} sono_an_v9_t;

void sono_an_v9_limits_default(sono_an_v9_limits_t *limits);
/* `nyquist_m_s` is the velocity scale of the frame; `flow_available` is 0
 * when the frame carries no usable flow planes. Pure; [thread-safe]. */
sono_an_v9_t sono_an_rule_v9(const sono_an_vessel_t *v, double nyquist_m_s, int flow_available,
                             const sono_an_v9_limits_t *limits);

/* The overlay role (SONO_ROLE_VESSEL_*) of a perfusion state. */
const char *sono_an_perfusion_role(sono_an_perfusion_t p);

#ifdef __cplusplus
}
#endif

#endif
