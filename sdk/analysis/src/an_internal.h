/* Internal state of libsono_analysis, shared by the an_*.c files.
 * Images are stored column-major: pixel (iz, ix) at iz + nz*ix, so a column
 * (one beam line) is contiguous, which is how vessels are traced. */
#ifndef SONO_AN_INTERNAL_H
#define SONO_AN_INTERNAL_H

#include <sono/sdk/select.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "sono/analysis/analysis.h"

#define AN_TRACKS SONO_AN_MAX_VESSELS
#define AN_RING 64          /* per-track history of upstream speeds (frames) */
#define AN_MAX_RUNS_PER_COL 8
#define AN_MAX_CHAINS 64
#define AN_NEVER 0xFFFFu

/* A dark (lumen-like) run of pixels along one column. */
typedef struct an_run {
   int16_t top, bottom;     /* inclusive rows */
   int16_t chain;           /* chain index, -1 none */
   int16_t flow;            /* pixels with flow in the window */
} an_run_t;

typedef struct an_chain {
   int ix0, ix1;            /* first/last column */
   int count;               /* columns with a run */
   int merged_into;         /* -1, or the chain that absorbed it */
   double sum_thick, sum_thick2;
   int flow_cols;           /* columns whose run carries flow */
   int last_top, last_bottom;
   double slope;            /* rows per column, running estimate */
   int course_left, course_right; /* columns carried on along a filled course at each end (no lumen seen) */
   int16_t *top, *bottom;   /* per column (-1 = none), views into ctx storage */
} an_chain_t;

/* Cine track of one vessel, matched across frames by depth. */
typedef struct an_track {
   int used;
   double z_mid;            /* centre depth at the middle column */
   uint32_t last_frame;
   uint32_t n;              /* samples in ring */
   float speed[AN_RING];    /* upstream along-flow axial peak per frame, signed (+ = along flow) */
   int8_t dir[AN_RING];     /* that frame's flow direction (+1 toward +x, -1, 0 unknown) */
   float toward[2][AN_RING]; /* the frame's speed read as flow toward +x [0] and toward -x [1], for RI */
} an_track_t;

struct sono_an_context {
   uint32_t max_nz, max_nx, nz, nx;
   /* Axial decimation: rows of the frame per analysis row. Frames sampled
    * finer than AN_DECIMATE_BELOW_M in depth (far finer than the axial
    * resolution) are analysed on pairs of rows at half the cost. Not used
    * at the 25 um default: on 50 um rows the lumen edges and thin lumens
    * measured worse on the phantom (diameter +0.25 mm, ends of the clean
    * vessel lost). Everything below works on the analysis grid (nz, dz,
    * z0); frame planes are read through an_frame_row. */
   uint32_t dec;
   double dx, dz, x0, z0;
   float *db;               /* B-mode, dB above the display floor (0..DR) */
   float *sm;               /* small-kernel smoothing (speckle average) */
   float *sm2;              /* 0.3 mm smoothing (texture scale) */
   float *anom;             /* sm - row background */
   float *anom2;            /* sm2 - row background */
   float *tmp;
   float *bg;               /* row background (nz) */
   float *row_median;       /* per-row median before smoothing (nz) */
   float *flow_pmin;        /* per-row power a flow pixel must exceed, dB re frame max (nz) */
   float *bright;           /* local share of bright pixels */
   uint16_t *flow_age;      /* frames since flow was last seen */
   float *peak;             /* decaying peak |axial velocity| */
   uint8_t *flow_now;
   uint8_t *lumen;          /* 1 inside a traced lumen, 2 in a 0.1 mm margin around it */
   int skin_row;            /* deposits are searched below this row */
   uint8_t *mask;
   int32_t *label;
   int32_t *stack;
   float *scratch;          /* percentiles */
   an_run_t *runs;          /* AN_MAX_RUNS_PER_COL per column */
   uint8_t *run_count;
   an_chain_t chains[AN_MAX_CHAINS];
   int chain_count;
   int16_t *chain_top, *chain_bottom; /* AN_MAX_CHAINS * max_nx */
   sono_an_centre_point_t *points;    /* SONO_AN_MAX_VESSELS * max_nx */
   an_track_t tracks[AN_TRACKS];
   uint32_t frames_seen;
   uint32_t window_frames;
   sono_an_result_t result;
};

#define AN_DECIMATE_BELOW_M 20e-6

/* Frame row of analysis row iz (the first of its `dec` rows). */
static inline uint32_t an_frame_row(const struct sono_an_context *c, int iz) { return (uint32_t)iz * c->dec; }

static inline size_t an_pix(const struct sono_an_context *c, int iz, int ix) { return (size_t)iz + (size_t)c->nz * (size_t)ix; }
static inline double an_x(const struct sono_an_context *c, double ix) { return c->x0 + ix * c->dx; }
static inline double an_z(const struct sono_an_context *c, double iz) { return c->z0 + iz * c->dz; }

/* Per-pixel passes get an AVX2 clone chosen at load time: wider vectors,
 * the same IEEE operations per lane (AVX2 does not enable FMA, and the
 * library builds without contraction), so results are identical. */
#define AN_HOT __attribute__((target_clones("avx2", "default")))

/* an_image.c */
void an_box_filter(const float *in, float *out, float *tmp, uint32_t nz, uint32_t nx, int rz, int rx);
/* lumen_rows_only: recompute only the rows crossing a traced lumen (the
 * others keep the median of the previous call on this frame). */
void an_row_background(struct sono_an_context *c, int lumen_rows_only);



/* an_vessels.c */
void an_vessels_find(struct sono_an_context *c, const sono_an_config_t *cfg, const sono_an_input_t *in);

/* an_deposits.c */
void an_deposits_find(struct sono_an_context *c, const sono_an_config_t *cfg);
/* skin_row from the row background: vessels and deposits lie below it. */
void an_find_skin(struct sono_an_context *c);
/* The deposit (index into c->result.deposits) that plugs vessel v where its
 * flowing lumen ends inside the field, -1 none (the end-plug rule, exposed
 * for its unit test). */
int an_end_plug_of(const struct sono_an_context *c, uint32_t v);
/* Row where a deposit's echo body starts in column ix, searched from row iz
 * in direction dir (+1 deeper) between rows lo..hi: the first row at `half`
 * (dB re the row; below it when half < 0), moved on past a thin bright line
 * that tissue separates from the body; -1 when not reached (exposed for its
 * unit test). */
int an_echo_edge_row(const struct sono_an_context *c, int ix, int iz, int dir, float half, int lo, int hi);
/* The vessel whose bridged or filled-course lumen the deposit d (pixels
 * labelled `label` in columns ix0..ix1) hides, -1 none (exposed for its unit
 * test). */
int an_bridged_vessel(const struct sono_an_context *c, int32_t label, int ix0, int ix1, const sono_an_deposit_t *d);

/* 1 when deposit d (not intraluminal, its nearest vessel and distance
 * set) is perivascular: within perivascular_m of the lumen, or pressing on
 * it (the lumen beside it narrowed against the vessel's own calibre, formats.md
 * §2 "compressing or within 1 mm"); exposed for its unit test. */
int an_perivascular(const struct sono_an_context *c, const sono_an_config_t *cfg, const sono_an_deposit_t *d);

/* Features of the region labelled `label` in c->label (exposed for its unit
 * tests; the detector reads them on its own components). */
void an_features_of(struct sono_an_context *c, int32_t label, sono_an_features_t *f);
/* Distance from the tailed foci joined to component `label` beyond its
 * outline (within cfg->cloud_link_m of it or of each other) to the nearest
 * traced lumen, its vessel in *vessel; 1e9 and -1 when none (placement). */
double an_cloud_distance(const struct sono_an_context *c, const sono_an_config_t *cfg, int32_t label, int32_t *vessel);

/* Features of the contents of vessel v's lumen over centre points
 * first..last (a segment without flow): echo on the lumen inset from its
 * wall, heterogeneity over the whole lumen, foci and tails in it, the
 * posterior column under it; levels re the tissue beside the vessel
 * (exposed for its unit tests; the detector reads its own gap segments). */
void an_gap_features_of(const struct sono_an_context *c, const sono_an_vessel_t *v, uint32_t first, uint32_t last,
                        sono_an_features_t *f);

/* 1 when deposit d, read perivascular, is material lying on its vessel's
 * candidate occluded segment (within plug_touch_m of that lumen, beside it
 * over plug_cover of the shorter of its width and the segment): the plug
 * seen on B-mode, intraluminal; exposed for its unit test. */
int an_material_on_silent_segment(const sono_an_result_t *r, const sono_an_config_t *cfg, const sono_an_deposit_t *d);

/* A deposit seen in pieces: a piece read in the tissue within DARK_GAP_M
 * (0.3 mm) of a piece of the same polarity read perivascular is
 * perivascular, at that piece's vessel and distance (followed along a
 * chain of pieces); exposed for its unit test. */
void an_place_pieces(sono_an_result_t *r);

/* an_classify.c */
void an_classify(const sono_an_features_t *f, int intraluminal_gap, float *prob, sono_an_class_t *best);
/* Updates the probabilities of classes a and b by evidence that only this
 * pair differs in: log_ratio = ln p(evidence | a) - ln p(evidence | b). Bayes
 * on the pair's share: their summed probability is kept, the odds between
 * them are multiplied by exp(log_ratio), and *best becomes the argmax again.
 * Acts only when *best is a or b, so a deposit read as a third class keeps
 * its reading. */
void an_settle_pair(float *prob, sono_an_class_t *best, sono_an_class_t a, sono_an_class_t b, float log_ratio);

#endif
