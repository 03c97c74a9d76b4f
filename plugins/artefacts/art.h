/* org.sonoplug.artefacts: internal interfaces of the artefact-detection
 * plugin (docs/clinical.md "Artefact detection").
 *
 * Images inside the plugin are float32, column-major on the frame grid:
 * pixel (iz, ix) at [iz + nz*ix]. B-mode is held in display dB (0 at the
 * display floor, `bmode_dynamic_range_db` at the frame maximum). Every
 * buffer is allocated in activate() for the format's maximum grid; process()
 * only reuses them.
 *
 * Threading: one instance is used by one thread at a time (instance-safe). */
#ifndef SONO_ARTEFACTS_ART_H
#define SONO_ARTEFACTS_ART_H

#include <stdint.h>
#include <stddef.h>

#include <sono/sdk/plugin_kit.h>

/* ---- parameters (one table drives sono.params/1; see artefacts.c) ------ */

enum {
   P_DR_DB,              /* display dynamic range of the B-mode plane */
   P_SHADOW_DROP_DB,     /* shadow: level below the row reference */
   P_SHADOW_MIN_DEPTH_M, /* shadow: sustained depth */
   P_SHADOW_MIN_WIDTH_M, /* shadow: width */
   P_REFLECTOR_DB,       /* reflector above a shadow / reverberation: level above the row reference */
   P_ENH_RISE_DB,        /* posterior enhancement: level above the row reference */
   P_ENH_MIN_DEPTH_M,
   P_REVERB_MIN_COPIES,  /* reverberation: copies after the reflector */
   P_REVERB_PEAK_DB,     /* reverberation: a copy's level above the row reference */
   P_COMET_MAX_LAG_M,    /* comet tail: largest lag */
   P_MIRROR_NCC,         /* mirror: normalised cross-correlation */
   P_ANISO_DROP_DB,      /* anisotropy: fall along a layer */
   P_ANISO_STRIATION_DB, /* anisotropy: fibre striation of the bright end */
   P_ANISO_PLATEAU_M,    /* anisotropy: shortest dark plateau seen inside the field (saturation seen) */
   P_SATURATED_FRACTION, /* gain too high: saturated pixels */
   P_GAIN_LOW_DBFS,      /* gain too low: median |IQ| under this, dB re full scale */
   P_GAIN_HIGH_DBFS,     /* gain too high: median |IQ| over this */
   P_IQ_FULL_SCALE,      /* |IQ| that the scanner's receive chain saturates at */
   P_NEAR_FIELD_DB,      /* near-field clutter: standoff level above the display floor */
   P_ALIAS_FRACTION,     /* aliasing: both neighbours above this fraction of VN */
   P_ALIAS_MIN_PAIRS,    /* aliasing: wrapped neighbour pairs in one colour region */
   P_BLOOM_RATIO,        /* blooming: colour width over B-mode lumen width */
   P_FLASH_FILL,         /* flash: colour fill of the echo-bearing tissue */
   P_FLASH_MAX_FRAMES,   /* flash: longest run of filled frames still called flash */
   P_TWINKLE_VARIANCE,   /* twinkling: variance as a fraction of VN^2 */
   P_NOISE_FRACTION,     /* colour noise: isolated colour pixels as a fraction of the frame */
   P_COLOUR_SNR_DB,      /* colour shown where power clears the frame's noise floor by this */
   P_WORK_RANGE_DB,      /* range of the working log image built from the IQ plane */
   P_TISSUE_LEVEL_DB,    /* working image: the tissue median is lifted to at least this level */
   P_ALIAS_AREA,         /* aliasing: opposite-colour core as a fraction of its colour region */
   P_BLOOM_OVER,         /* blooming: fraction of the colour lying over tissue beside the lumen */
   P_BLOOM_OVER_ALONE,   /* blooming: over-tissue fraction that suffices while the colour spans the lumen */
   P_SL_REFLECTOR_DB,    /* side lobe: lone specular reflector, peak above the row reference */
   P_SL_MIN_DEG,         /* side lobe: smallest lobe angle of the probe */
   P_SL_MAX_DEG,         /* side lobe: largest lobe angle of the probe */
   P_COMET_MIN_TAILS,    /* comet tail: linked tails that make one deposit's field */
   P_COMET_LINK_M,       /* comet tail: tails of one field lie within this of a neighbour */
   P_ALIAS_MIN_SLOPE,    /* aliasing: axial rise per lateral distance of the vessel axis */
   P_BLOOM_EXCESS_M,     /* blooming: colour thicker than its lumen by at least this */
   P_COLOUR_GROW_DB,     /* colour grows from its seeds into neighbours this much weaker */
   P_BLOOM_OVER_SMALL,   /* blooming: over-tissue fraction that suffices without bloom_excess_m */
   P_REVERB_PLATE_COPIES, /* reverberation: copies of a plate seen in its own columns */
   P_REVERB_PLATE_DB,     /* reverberation: plate level above the columns beside it */
   P_ALIAS_FAST_SHARE,   /* aliasing: share of a wrapping segment's colour at or above VN / 2 */
   P_COMET_MIN_NARROW,    /* comet tail: linked narrow tails that make one deposit's field */
   P_ALIAS_CINE_S,       /* aliasing: the wrap regions of this much of the cine make one region */
   P_BLOOM_SMALL_SYMMETRY, /* blooming: smaller over larger spill above / below the lumen for bloom_over_small */
   P_SIL_DARK_SHARE,     /* reverberation: share of the columns dark for a frame-wide dark band under silicone */
   P_SL_CLIP_DB,         /* side lobe: a source reflector within this of the display top is clipped */
   P_SL_HEADROOM_DB,     /* side lobe: headroom of a row under the display top for a clipped source */
   P_SL_TISSUE_DB,       /* side lobe: a clipped source's row at most this over the frame median */
   P_SL_CLIP_MIN_W_M,    /* side lobe: narrowest clipped source segment */
   P_ALIAS_GAP_M,        /* aliasing: wrapping stretches further apart than this are separate findings */
   P_ANISO_FIBRE_DEG,    /* anisotropy: fibre tilt from the beam's normal at the layer's dark end */
   P_COMET_SATELLITE,    /* comet tail: tails of a group that a field within twice comet_link_m takes in */
   P_COMET_LUMEN_M,      /* comet tail: height of the anechoic band over a lumen's far-wall focus */
   P_COMET_LUMEN_DB,     /* comet tail: that band's depth under the row reference */
   P_ANISO_BRIGHT_DEG,   /* anisotropy: largest fibre tilt from the beam's normal at the layer's bright end */
   P_ALIAS_FOLLOW_SHARE, /* aliasing: share of a weaker core on the previous frame's aliasing region */
   P_GAIN_ROW_QUANTILE,  /* gain too low: quantile of the row medians read as the tissue level */
   P_TWINKLE_FLASH_VAR,  /* twinkling held under a flash: share of twinkle_variance that suffices */
   P_TWINKLE_FLASH_FLIPS, /* twinkling held under a flash: sign changes over the flash's own share */
   P_SHADOW_PARTIAL_DB,  /* partial shadow: mean level of the column to depth under the row reference */
   P_SHADOW_LUMEN_DB,    /* shadow: rows whose reference lies this close to the display floor are a lumen band */
   P_SIL_JOIN_M,         /* reverberation: dirty-shadow runs this close across are one deposit */
   P_SIL_SHADOW_DB,      /* reverberation: deep band under an echogenic deposit this far under the tissue beside */
   P_SIL_FLOOR_DB,       /* reverberation: ... or within this of the display floor (a full shadow at the floor) */
   P_ENH_FLANK_M,        /* enhancement: gap between the anechoic region's side and its reference flanks */
   P_ENH_MIN_BAND_M,     /* enhancement: shortest band under the anechoic region that is measured */
   P_BONE_MIN_SEEN,      /* bone line: share of the width where it must be seen when another shadow hides the rest */
   P_ANISO_REGION_SHARE, /* anisotropy: share of the fitted dark plateau, next to its knee, left out of the region */
   P_ANISO_GAP_M,        /* anisotropy: shortest stretch hiding the layer next to the knee that the dark plateau skips */
   P_ALIAS_PEAK_SHARE,   /* aliasing: share of the colour at the top of the scale that wrapped, for a weaker core */
   P_COUNT
};

extern const sono_kit_param_t art_params[P_COUNT];

/* ---- artefact kinds (formats.md §2) -------------------------------------- */

typedef enum art_kind {
   K_SHADOW,
   K_ENHANCEMENT,
   K_REVERB,
   K_COMET,
   K_MIRROR,
   K_ANISOTROPY,
   K_SIDE_LOBE,
   K_GAIN_HIGH,
   K_GAIN_LOW,
   K_NEAR_FIELD,
   K_ALIASING,
   K_BLOOMING,
   K_FLASH,
   K_TWINKLING,
   K_COLOUR_NOISE,
   K_COUNT
} art_kind_t;

/* Result-file name of a kind ("acoustic_shadow"...). */
const char *art_kind_name(art_kind_t k);
/* Overlay label of a kind ("Shadow"...). */
const char *art_kind_short(art_kind_t k);

/* ---- regions --------------------------------------------------------------- */

#define ART_MAX_POLY 96       /* points of one region polygon */
#define ART_MAX_FINDINGS 48   /* findings per frame (excess are merged away) */
#define ART_TEXT 256

/* Pixel bounds and statistics of one connected component. */
typedef struct art_comp {
   int32_t iz0, iz1, ix0, ix1; /* inclusive bounds */
   int32_t count;              /* pixels */
   int32_t label;              /* label value in the label image */
} art_comp_t;

/* One artefact instance found in a frame, before it is pushed. */
typedef struct art_finding {
   art_kind_t kind;
   float confidence;
   uint32_t npoly;                  /* 0 = frame-wide */
   sono_point_t poly[ART_MAX_POLY];
   char label[ART_TEXT];
   char basis[ART_TEXT];
   char advice[ART_TEXT];
   char attr_key[32];               /* optional attribute, "" when none */
   char attr_value[32];
   uint8_t dirty_shadow;            /* reverberation filling a deposit's dirty shadow, which runs on beneath it */
} art_finding_t;

/* A run of set mask pixels in one column (art_components). */
typedef struct art_run {
   int32_t z0, z1, x;
   int32_t parent; /* union-find link: the earliest run of the component is its root */
   int32_t label;
} art_run_t;

#define ART_MAX_COMPS 512
#define ART_ROW_BAND 16    /* rows whose histograms are built in one pass */
#define ART_HIST_BINS 320  /* bins of a display-dB histogram */
#define ART_MIN_GRID 8 /* smaller frames are passed without assessment */
#define ART_CINE_FRAMES 32 /* frames of the aliasing cine memory (alias_cine_s is also capped by it) */

typedef struct art {
   sono_plugin_t plugin; /* first member: the host holds &plugin */
   const sono_host_t *host;
   double p[P_COUNT];

   /* grid of the current frame */
   int nz, nx;
   size_t npix, cap;
   double dz, dx, x0, z0;

   /* B-mode work images (dB) */
   float *bm;      /* display dB */
   float *sm;      /* box-smoothed display dB */
   float *lat;     /* lateral 3-column mean of bm (points and lines stay, speckle averages) */
   float *wide;    /* lateral 0.5 mm mean of bm (only laterally extended lines stay) */
   float *prev_bm; /* previous frame's display dB (flash displacement) */
   float *prev_nf; /* previous standoff band profile (near-field stability) */
   float *rowref;  /* per row: median of sm over the row */
   float *tmp;     /* nz*nx scratch */
   uint8_t *mask;  /* nz*nx */
   uint8_t *mask2; /* nz*nx */
   int32_t *labels; /* nz*nx */
   int32_t *stack;  /* 2*nz*nx: (iz, ix) pairs of a flood fill */
   float *col;      /* per column scratch (nz) */
   int32_t *colz;   /* per column: bone-line row or -1 (art_find_bone) */
   int bone_cols;   /* columns with a bone line (0: none across the frame) */
   int dark_row;    /* first row of the dark band at the frame bottom (nz: none) */
   float *colv;     /* per column value (nx) */
   uint32_t hist[512];
   uint16_t rowhist[ART_ROW_BAND * ART_HIST_BINS]; /* per-row histograms of a band of rows */
   float rowthr[ART_ROW_BAND];
   art_run_t *runs;       /* runs of a mask: at most nx * (nz / 2 + 1) */
   art_comp_t *run_comps; /* every component of a mask, by label (as many as runs) */
   art_comp_t comps[ART_MAX_COMPS];
   int ncomps;
   float p95, p50, floor_db; /* frame percentiles of sm */
   float range;     /* top of the working dB images (bm, sm, ...): display range or work_range_db */
   double sat_frac;    /* fraction of display pixels at the top of the display range */
   double median_dbfs; /* median |IQ| in dB re iq_full_scale; NAN without an IQ plane */
   float iq_off, iq_floor; /* working image = 10 log10 |IQ|^2 + iq_off; display floor in 10 log10 |IQ|^2 */

   /* colour work images */
   float *vel;     /* m/s, 0 = no colour */
   float *pow_db;  /* dB re frame maximum */
   float *var;     /* (m/s)^2 */
   uint8_t *cmask; /* colour present */
   uint8_t *aflags;
   int has_colour;
   double vn;
   float noise_db; /* Doppler power noise floor, dB re frame maximum */
   float tissue_motion; /* velocity of the rejected tissue-motion colour (m/s), 0 when none */

   /* cross-frame state */
   int have_prev;
   int nf_valid;           /* prev_nf holds the previous frame's standoff profile */
   int fill_run;           /* consecutive frames with a flash-level colour fill */
   double last_prf;        /* PRF of the last frame with twinkling */
   int twinkle_seen;       /* twinkling seen at last_prf */
   int twinkle_held;       /* twinkling reported on this frame (after art_detect_colour; read by the next) */
   int twinkle_box[4];     /* iz0, iz1, ix0, ix1 of the column it was last reported in */
   double twinkle_flip;    /* its share of lateral sign changes then */
   uint64_t last_sequence;
   /* aliasing cine memory: the wrapping segments of the last frames of one
    * cardiac cycle (art_colour.c); reset on a gap, a new grid, PRF or scale */
   uint32_t *alias_seen;  /* per pixel: cine frame that last reported it as wrapping (0: never) */
   uint32_t cine_frame;   /* counter of the current frame; a reset jumps it past the window */
   uint32_t cine_start;   /* first frame of the current cine */
   uint64_t cine_ts[ART_CINE_FRAMES];   /* timestamp of frame k at [k % ART_CINE_FRAMES] */
   uint8_t cine_wrap[ART_CINE_FRAMES];  /* aliasing reported on that frame */
   int cine_box[4];       /* iz0, iz1, ix0, ix1 of every pixel stamped in this cine */
   int cine_nz, cine_nx;  /* the grid this cine was stamped on */
   int cine_valid;        /* 0: the next frame starts a new cine */
   double cine_vn, cine_prf;
   uint64_t cine_seq;

   /* findings of this frame */
   art_finding_t found[ART_MAX_FINDINGS];
   int nfound;
   /* quality components (0..100) */
   double q_bmode, q_colour, q_gain;
   char qtext[ART_TEXT];
} art_t;

/* ---- preparation (art_prep.c) ------------------------------------------- */

/* B-mode work images of the frame. With an IQ plane on the frame grid the
 * images come from |IQ| (working range work_range_db, see art_prep.c); else
 * from the display plane. Also sets sat_frac and median_dbfs. */
int art_prepare_bmode(art_t *a, const sono_frame_t *f, const sono_plane_t *b);
void art_prepare_colour(art_t *a, const sono_frame_t *f);

/* ---- regions (art_region.c) ------------------------------------------------ */

/* Labels the 8-connected components of `mask` (nonzero) into a->labels and
 * a->comps (at most ART_MAX_COMPS, the largest kept); returns the count.
 * `min_count` drops components smaller than that. */
int art_components(art_t *a, const uint8_t *mask, int min_count);
/* As art_components, for the 8-connected components of `grow` that hold a
 * pixel of `seed` (which must lie inside `grow`): their pixels are also set
 * in `seed` (hysteresis), the other components are dropped. */
int art_components_seeded(art_t *a, uint8_t *seed, const uint8_t *grow, int min_count);
/* Region polygon of component `c` (upper and lower envelope per column,
 * decimated), metres. Returns the point count. */
uint32_t art_comp_polygon(const art_t *a, const art_comp_t *c, sono_point_t *poly);
/* Rectangle polygon in pixel bounds. */
uint32_t art_rect_polygon(const art_t *a, int iz0, int iz1, int ix0, int ix1, sono_point_t *poly);
/* Morphological 3x3 dilation of `in` into `out` (`in` != `out`). */
void art_dilate(const art_t *a, const uint8_t *in, uint8_t *out);
/* Adds a finding; NULL when the frame's list is full. */
art_finding_t *art_add(art_t *a, art_kind_t k, float confidence);

static inline size_t art_px(const art_t *a, int iz, int ix) { return (size_t)iz + (size_t)a->nz * (size_t)ix; }
static inline double art_mm_z(const art_t *a, double iz) { return (a->z0 + iz * a->dz) * 1e3; }
static inline double art_mm_x(const art_t *a, double ix) { return (a->x0 + ix * a->dx) * 1e3; }
static inline int art_npx_z(const art_t *a, double m) { return (int)(m / a->dz + 0.5); }
static inline int art_npx_x(const art_t *a, double m) { return (int)(m / a->dx + 0.5); }
static inline float art_clampf(float v, float lo, float hi) { return v < lo ? lo : v > hi ? hi : v; }

/* ---- detectors --------------------------------------------------------- */

void art_detect_gain(art_t *a, const sono_frame_t *f);
/* Bone line (specular interface over a shadow) per column into a->colz. */
void art_find_bone(art_t *a);
void art_detect_shadow_enhancement(art_t *a);
void art_detect_reverberation(art_t *a);
void art_detect_mirror(art_t *a);
void art_detect_anisotropy(art_t *a);
void art_detect_side_lobe(art_t *a);
void art_detect_near_field(art_t *a);
void art_detect_colour(art_t *a, const sono_frame_t *f);

/* Frame-quality score and its components from the findings of this frame. */
void art_quality(art_t *a);

#endif
