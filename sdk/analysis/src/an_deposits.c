/* Deposits: regions whose 0.3 mm-smoothed echo departs from the tissue at
 * the same depth (dark or bright) or that hold clustered bright foci;
 * posterior shadows are attributed to the deposit above them, not reported
 * as deposits. Then features, class, outline and placement. Also outlines
 * the lumen of an absent-flow segment as a B-mode-silent intraluminal
 * deposit (fresh HA looks like blood, clinical-spec V7). */
#include <stdlib.h>
#include <string.h>

#include <sono/sdk/select.h>
#include <sono/sdk/union_find.h>

#include "an_internal.h"

#define FOCUS_DB 12.0f
/* material as dark as blood (dB re the row): lumen rather than a plug where
 * a trace ends (see end_plugs()) */
#define END_MIN_ECHO_DB -20.0f
#define AN_MAX_COMPONENTS 64

typedef struct comp {
   int label;
   int count, ix0, ix1, iz0, iz1;
   double sum;
   int bright;              /* mean echo above background */
   int keep;
} comp_t;

static void bright_share(sono_an_context_t *c)
{
   size_t np = (size_t)c->nz * c->nx;
   for (size_t p = 0; p < np; ++p)
      c->scratch[p] = c->anom[p] > FOCUS_DB ? 1.0f : 0.0f;
   int rz = (int)lround(0.3e-3 / c->dz), rx = (int)lround(0.3e-3 / c->dx);
   an_box_filter(c->scratch, c->bright, c->tmp, c->nz, c->nx, rz < 1 ? 1 : rz, rx < 1 ? 1 : rx);
}

static void build_mask(sono_an_context_t *c, const sono_an_config_t *cfg)
{
   /* bitwise tests without branches: the loop vectorises */
   float dark_db = (float)cfg->deposit_dark_db, bright_db = (float)cfg->deposit_bright_db;
   uint32_t nz = c->nz, nx = c->nx;
   int skin = c->skin_row;
   for (uint32_t ix = 0; ix < nx; ++ix) {
      size_t p0 = an_pix(c, 0, (int)ix);
      const float *a2 = c->anom2 + p0, *br = c->bright + p0;
      const uint8_t *lu = c->lumen + p0;
      uint8_t *m = c->mask + p0;
      int32_t *lab = c->label + p0;
      for (uint32_t iz = 0; iz < nz; ++iz) {
         int below = (int)iz > skin;
         int dark = (a2[iz] < dark_db) & (lu[iz] == 0) & below;
         int bright = ((a2[iz] > bright_db) | (br[iz] > 0.15f)) & (lu[iz] != 2) & below;
         m[iz] = (uint8_t)(dark | ((bright & !dark) << 1));
         lab[iz] = -1;
      }
   }
}

/* ---- grouping ------------------------------------------------------------------------
 * Components are built from vertical runs of equal mask value (one beam line
 * at a time), joined with a union-find: far cheaper than a pixel flood fill,
 * since the mask is mostly empty and a column holds a few runs.
 *
 * Bright runs join when 4-connected. Dark runs also join across a gap of up
 * to DARK_GAP_M: hypoechoic material with texture (integrated HA, clinical-
 * spec §7.3: heterogeneous) crosses the -6 dB threshold in patches, and a
 * deposit read as several fragments loses its area and moves its centroid
 * to whichever fragment is followed. Two separate deposits closer than that
 * cannot be told apart at this resolution anyway.
 *
 * Gap joins never involve a lumen of a vessel without a candidate
 * occlusion (a patent vessel): a dark fragment touching that lumen is
 * more likely the part of the lumen the trace missed than filler, and a
 * gap crossing the lumen's edge would carry a deposit's outline into the
 * patent vessel. Such fragments still join 4-connected pixels, as before
 * the gap rule. Fragments of a lumen with a candidate occlusion may join:
 * that is where a plug lies. */

#define DARK_GAP_M 0.3e-3
#define LABEL_SMALL INT32_MAX /* pixel of a group too small to be used: not -1, not a component */

typedef struct run {
   int32_t col, top, bottom, parent; /* parent: union-find link; value in the mask at (top, col) */
   int32_t patent;                   /* dark run touching the lumen of a patent vessel: no gap joins */
} run_t;

SONO_UNION_FIND(run, run_t, parent) /* the earlier run stays the root: deterministic ids */

/* Runs of each column, appended to `runs`; col_start[ix] indexes the first
 * run of column ix (col_start[nx] = total). Returns the run count. */
static int32_t extract_runs(const sono_an_context_t *c, run_t *runs, int32_t cap, int32_t *col_start)
{
   int32_t n = 0;
   int nz = (int)c->nz;
   for (uint32_t ix = 0; ix < c->nx; ++ix) {
      col_start[ix] = n;
      const uint8_t *m = c->mask + an_pix(c, 0, (int)ix);
      int iz = 0;
      while (iz < nz) {
         /* skip empty rows eight at a time: most of a column is tissue */
         while (iz + 8 <= nz) {
            uint64_t w;
            memcpy(&w, m + iz, 8);
            if (w)
               break;
            iz += 8;
         }
         while (iz < nz && !m[iz])
            ++iz;
         if (iz >= nz)
            break;
         int top = iz;
         uint8_t v = m[iz];
         while (iz < nz && m[iz] == v)
            ++iz;
         if (n < cap)
            runs[n] = (run_t){(int32_t)ix, top, iz - 1, n, 0}, ++n;
      }
   }
   col_start[c->nx] = n;
   return n;
}

/* Index of the traced vessel whose lumen (with its 0.1 mm margin, as the
 * lumen mask holds it) covers pixel (iz, ix); -1 none. Samples are one per
 * column, in increasing x. */
static int lumen_vessel_at(const sono_an_context_t *c, int iz, int ix)
{
   double x = an_x(c, ix), z = an_z(c, iz), pad = 0.1e-3 + c->dz;
   for (uint32_t v = 0; v < c->result.vessel_count; ++v) {
      const sono_an_vessel_t *ves = &c->result.vessels[v];
      if (ves->point_count == 0)
         continue;
      long i = lround((x - ves->points[0].x_m) / c->dx);
      if (i < 0 || i >= (long)ves->point_count)
         continue;
      const sono_an_centre_point_t *p = &ves->points[i];
      if (z >= p->top_z_m - pad && z <= p->bottom_z_m + pad)
         return (int)v;
   }
   return -1;
}

static int patent_lumen_at(const sono_an_context_t *c, int iz, int ix)
{
   if (iz < 0 || ix < 0 || iz >= (int)c->nz || ix >= (int)c->nx || !c->lumen[an_pix(c, iz, ix)])
      return 0;
   int v = lumen_vessel_at(c, iz, ix);
   return v < 0 || c->result.vessels[v].occlusion < 0; /* unknown: protect */
}

/* Marks the dark runs that touch a patent lumen: above, below, or beside
 * any of their pixels. */
static void mark_patent_touch(const sono_an_context_t *c, run_t *runs, int32_t n)
{
   for (int32_t i = 0; i < n; ++i) {
      run_t *a = &runs[i];
      if (c->mask[an_pix(c, a->top, a->col)] != 1)
         continue;
      int t = patent_lumen_at(c, a->top - 1, a->col) || patent_lumen_at(c, a->bottom + 1, a->col);
      for (int iz = a->top; iz <= a->bottom && !t; ++iz)
         t = patent_lumen_at(c, iz, a->col - 1) || patent_lumen_at(c, iz, a->col + 1);
      a->patent = t;
   }
}

/* A lumen pixel in the rectangle of columns [x0, x1] and rows [z0, z1]
 * (clipped to the image): the gap between two fragments crosses a lumen. */
static int lumen_in(const sono_an_context_t *c, int x0, int x1, int z0, int z1)
{
   z0 = z0 < 0 ? 0 : z0;
   z1 = z1 >= (int)c->nz ? (int)c->nz - 1 : z1;
   for (int ix = x0 < 0 ? 0 : x0; ix <= x1 && ix < (int)c->nx; ++ix)
      for (int iz = z0; iz <= z1; ++iz)
         if (c->lumen[an_pix(c, iz, ix)])
            return 1;
   return 0;
}

/* Dark runs a (column ax) and b (column bx < ax), not 4-connected, may join
 * across the gap between them: neither touches a patent lumen and no
 * traced lumen lies between them. */
static int gap_join_allowed(const sono_an_context_t *c, const run_t *a, const run_t *b)
{
   if (a->patent || b->patent)
      return 0;
   int lo = a->top > b->top ? a->top : b->top, hi = a->bottom < b->bottom ? a->bottom : b->bottom;
   if (lo > hi) { /* no common rows: the rows between the nearer ends */
      int t = lo;
      lo = hi;
      hi = t;
   }
   return !lumen_in(c, b->col + (b->col < a->col), a->col - (b->col < a->col), lo, hi);
}

static void join_runs(const sono_an_context_t *c, run_t *runs, const int32_t *col_start)
{
   int gx = (int)lround(DARK_GAP_M / c->dx), gz = (int)lround(DARK_GAP_M / c->dz);
   mark_patent_touch(c, runs, col_start[c->nx]);
   for (uint32_t ix = 0; ix < c->nx; ++ix)
      for (int32_t i = col_start[ix]; i < col_start[ix + 1]; ++i) {
         run_t *a = &runs[i];
         uint8_t va = c->mask[an_pix(c, a->top, a->col)];
         int reach = va == 1 ? gx : 1;
         for (int k = 1; k <= reach && (int)ix - k >= 0; ++k) {
            int tol = va == 1 && k > 1 ? gz : 0; /* k = 1, tol 0: 4-connected */
            for (int32_t j = col_start[ix - k]; j < col_start[ix - k + 1]; ++j) {
               const run_t *b = &runs[j];
               if (b->top > a->bottom + tol)
                  break; /* runs are in depth order */
               if (b->bottom + tol < a->top || c->mask[an_pix(c, b->top, b->col)] != va)
                  continue;
               int touching = k == 1 && b->bottom >= a->top && b->top <= a->bottom;
               if (va != 1 || touching || gap_join_allowed(c, a, b))
                  run_join(runs, i, j);
            }
         }
         /* dark runs of one column separated by a short gap */
         if (va == 1)
            for (int32_t j = i + 1; j < col_start[ix + 1] && runs[j].top - a->bottom - 1 <= gz; ++j)
               if (c->mask[an_pix(c, runs[j].top, a->col)] == 1) {
                  if (gap_join_allowed(c, &runs[j], a))
                     run_join(runs, i, j);
                  break;
               }
      }
}

/* Groups of joined runs become components (those of at least `min_px`
 * pixels, up to AN_MAX_COMPONENTS, in order of their first column); their
 * pixels are labelled with the component index, pixels of smaller groups
 * with LABEL_SMALL. */
static int label_components(sono_an_context_t *c, comp_t *comps, size_t min_px)
{
   run_t *runs = (run_t *)c->stack;
   int32_t cap = (int32_t)((size_t)c->max_nz * c->max_nx * sizeof(int32_t) / sizeof(run_t)) - 1;
   int32_t *col_start = (int32_t *)c->tmp; /* nx + 1 entries; tmp is free after smoothing */
   int32_t n = extract_runs(c, runs, cap, col_start);
   join_runs(c, runs, col_start);
   /* pixel count per root, kept in the root's slot of `count` (reuses scratch) */
   int32_t *count = (int32_t *)c->scratch, *id = count + n;
   for (int32_t i = 0; i < n; ++i)
      count[i] = 0, id[i] = -1;
   for (int32_t i = 0; i < n; ++i)
      count[run_root(runs, i)] += runs[i].bottom - runs[i].top + 1;
   int nc = 0;
   for (int32_t i = 0; i < n; ++i) {
      int32_t r = run_root(runs, i);
      if (id[r] == -1) {
         if ((size_t)count[r] >= min_px && nc < AN_MAX_COMPONENTS) {
            id[r] = nc;
            comps[nc] = (comp_t){nc, 0, runs[i].col, runs[i].col, runs[i].top, runs[i].bottom, 0,
                                 c->mask[an_pix(c, runs[i].top, runs[i].col)] == 2, 0};
            ++nc;
         } else {
            id[r] = LABEL_SMALL;
         }
      }
      int32_t lab = id[r];
      int32_t *l = c->label + an_pix(c, 0, runs[i].col);
      for (int iz = runs[i].top; iz <= runs[i].bottom; ++iz)
         l[iz] = lab;
      if (lab == LABEL_SMALL)
         continue;
      comp_t *k = &comps[lab];
      k->count += runs[i].bottom - runs[i].top + 1;
      k->ix0 = runs[i].col < k->ix0 ? runs[i].col : k->ix0;
      k->ix1 = runs[i].col > k->ix1 ? runs[i].col : k->ix1;
      k->iz0 = runs[i].top < k->iz0 ? runs[i].top : k->iz0;
      k->iz1 = runs[i].bottom > k->iz1 ? runs[i].bottom : k->iz1;
   }
   return nc;
}

/* A dark region that starts just below a bright deposit and covers its
 * columns is that deposit's acoustic shadow; one that runs to the bottom of
 * the image as a column is a shadow of something above the field. */
static int is_shadow(const sono_an_context_t *c, const comp_t *k, const comp_t *comps, int n)
{
   if (k->bright)
      return 0;
   int h = k->iz1 - k->iz0 + 1, w = k->ix1 - k->ix0 + 1;
   if (k->iz1 >= (int)c->nz - 2 && h * c->dz > 2.5e-3 && h * c->dz > 0.8 * w * c->dx)
      return 1;
   for (int j = 0; j < n; ++j) {
      const comp_t *b = &comps[j];
      if (!b->bright || b->count * c->dx * c->dz < 0.1e-6)
         continue;
      int ov = (k->ix1 < b->ix1 ? k->ix1 : b->ix1) - (k->ix0 > b->ix0 ? k->ix0 : b->ix0) + 1;
      if (ov > 0.5 * w && k->iz0 >= b->iz0 && k->iz0 <= b->iz1 + (int)(0.5e-3 / c->dz))
         return 1;
   }
   return 0;
}

static int accept(const sono_an_context_t *c, const sono_an_config_t *cfg, const comp_t *k)
{
   double area = k->count * c->dx * c->dz, h = (k->iz1 - k->iz0 + 1) * c->dz, w = (k->ix1 - k->ix0 + 1) * c->dx;
   if (area < cfg->deposit_min_area_m2 || h < 0.25e-3 || w < 0.25e-3)
      return 0;
   /* thin bands along a layer boundary that undulates */
   if (h < 0.4e-3 && w > 6 * h)
      return 0;
   /* a region spanning the whole width is a layer, not a deposit */
   return w < 0.9 * c->nx * c->dx;
}

/* ---- features --------------------------------------------------------------------- */

/* Echo of a pixel beside a deposit, as tissue: neither in a lumen, above the
 * skin, nor in any grouped region (this deposit or another). */
static int rim_tissue_px(const sono_an_context_t *c, int iz, int ix)
{
   if (iz <= c->skin_row || iz >= (int)c->nz || ix < 0 || ix >= (int)c->nx)
      return 0;
   size_t p = an_pix(c, iz, ix);
   return c->lumen[p] == 0 && c->label[p] == -1;
}

static void add_band(const sono_an_context_t *c, int iz, int ix, int step_z, int step_x, int from, int to,
                     double *sum, int *n)
{
   for (int d = from; d <= to; ++d) {
      int z = iz + d * step_z, x = ix + d * step_x;
      if (rim_tissue_px(c, z, x)) {
         *sum += c->anom[an_pix(c, z, x)];
         ++*n;
      }
   }
}

/* Capsule: the echo of a thin band just outside the outline (0-rim mm)
 * minus the tissue further out (gap..reach mm), above the top and beside
 * each side at the same depths (below the bottom the posterior column of
 * the material would weigh in). PAAG carries a thin echogenic capsule
 * (globular pattern, clinical-spec F5, §7.3); fresh HA has a smooth edge
 * without one. Compared with the tissue next to it, not with the interior,
 * so that it does not repeat the deposit's own echo. */
#define RIM_M 0.2e-3       /* capsule band: as thin as PAAG's capsule, a few speckle cells */
#define RIM_GAP_M 0.3e-3   /* tissue band starts clear of the capsule and its blur */
#define RIM_REACH_M 0.8e-3 /* ... and stays near enough to share the deposit's depth */
static float rim_contrast(const sono_an_context_t *c, const comp_t *k)
{
   int rz = (int)lround(RIM_M / c->dz), rx = (int)lround(RIM_M / c->dx);
   int gz = (int)lround(RIM_GAP_M / c->dz), gx = (int)lround(RIM_GAP_M / c->dx);
   int oz = (int)lround(RIM_REACH_M / c->dz), ox = (int)lround(RIM_REACH_M / c->dx);
   rz = rz < 1 ? 1 : rz, rx = rx < 1 ? 1 : rx;
   double rim = 0, out = 0;
   int nr = 0, no = 0;
   for (int ix = k->ix0; ix <= k->ix1; ++ix)
      for (int iz = k->iz0; iz <= k->iz1; ++iz)
         if (c->label[an_pix(c, iz, ix)] == k->label) {
            add_band(c, iz, ix, -1, 0, 1, rz, &rim, &nr);
            add_band(c, iz, ix, -1, 0, gz, oz, &out, &no);
            break;
         }
   for (int iz = k->iz0; iz <= k->iz1; ++iz) {
      int left = -1, right = -1;
      for (int ix = k->ix0; ix <= k->ix1; ++ix)
         if (c->label[an_pix(c, iz, ix)] == k->label) {
            left = left < 0 ? ix : left;
            right = ix;
         }
      if (left < 0)
         continue;
      add_band(c, iz, left, 0, -1, 1, rx, &rim, &nr);
      add_band(c, iz, left, 0, -1, gx, ox, &out, &no);
      add_band(c, iz, right, 0, 1, 1, rx, &rim, &nr);
      add_band(c, iz, right, 0, 1, gx, ox, &out, &no);
   }
   return nr && no ? (float)(rim / nr - out / no) : 0.0f;
}

static void foci_around(const sono_an_context_t *c, const comp_t *k, sono_an_features_t *f);

static void posterior_fall(const sono_an_context_t *c, const comp_t *k, sono_an_features_t *f);

static void matrix_echo(sono_an_context_t *c, const comp_t *k, sono_an_features_t *f);

/* First and last rows of column ix inside the deposit (-1, -1 if none):
 * the span where foci and the matrix between them are read. */
static void column_span(const sono_an_context_t *c, const comp_t *k, int ix, int *top, int *bottom)
{
   *top = *bottom = -1;
   for (int iz = k->iz0; iz <= k->iz1; ++iz)
      if (c->label[an_pix(c, iz, ix)] == k->label) {
         *top = *top < 0 ? iz : *top;
         *bottom = iz;
      }
}
static void posterior_beside(const sono_an_context_t *c, const comp_t *k, sono_an_features_t *f);

/* Deepest row of column ix inside the deposit, -1 if none. */
static int bottom_row(const sono_an_context_t *c, const comp_t *k, int ix)
{
   int bottom = -1;
   for (int iz = k->iz0; iz <= k->iz1; ++iz)
      if (c->label[an_pix(c, iz, ix)] == k->label)
         bottom = iz;
   return bottom;
}

/* A pixel of the deposit's posterior column: not a lumen (blood is dark
 * whatever lies above it) and not another deposit's body. */
static int posterior_px(const sono_an_context_t *c, const comp_t *k, size_t p)
{
   return !c->lumen[p] && !(c->label[p] >= 0 && c->label[p] != k->label && c->mask[p] == 2);
}

/* A bright focus at (iz, ix): a local maximum of the echo at least `level`
 * above the row background, off the image border. */
static int is_focus(const sono_an_context_t *c, int iz, int ix, float level)
{
   size_t p = an_pix(c, iz, ix);
   float v = c->anom[p];
   if (v < level || iz == 0 || ix == 0 || iz + 1 >= (int)c->nz || ix + 1 >= (int)c->nx)
      return 0;
   return !(v < c->anom[p - 1] || v < c->anom[p + 1] || v < c->anom[p - c->nz] || v < c->anom[p + c->nz]);
}

/* Returns 1 for a focus at (iz, ix) (is_focus) and adds its comet-tail
 * score (echo 0.1-0.45 mm below it minus 0.3 mm beside it, dB) to *tail
 * where the image holds that window. */
static int focus_tail(const sono_an_context_t *c, int iz, int ix, float level, double *tail, int *tails)
{
   if (!is_focus(c, iz, ix, level))
      return 0;
   int l1 = (int)lround(0.1e-3 / c->dz), l2 = (int)lround(0.45e-3 / c->dz), lat = (int)lround(0.3e-3 / c->dx);
   if (iz + l2 < (int)c->nz && ix - lat >= 0 && ix + lat < (int)c->nx) {
      double below = 0, side = 0;
      for (int d = l1; d <= l2; ++d) {
         below += c->anom[an_pix(c, iz + d, ix)];
         side += 0.5 * (c->anom[an_pix(c, iz + d, ix - lat)] + c->anom[an_pix(c, iz + d, ix + lat)]);
      }
      *tail += (below - side) / (l2 - l1 + 1);
      ++*tails;
   }
   return 1;
}

/* The subcutaneous tissue level: the median row background over the
 * TISSUE_BAND_M under the skin, which holds the dermis (+12 dB re fat,
 * 0.8-2 mm, clinical-spec §7.1) and more fat and the layers just under it
 * (within a few dB of fat); deeper rows are left out, since a bone's
 * shadow or the loss of depth darkens them and would pull the median
 * under the fat (training seed 3 case 37: integrated HA 3.8-5.6 mm deep
 * over a frame whose deep rows were dark read -3.9 dB re a whole-depth
 * median, -9 dB re its rows). */
#define TISSUE_BAND_M 5.0e-3
static float tissue_level(sono_an_context_t *c)
{
   int z0 = c->skin_row + 1 > 0 ? c->skin_row + 1 : 0, z1 = z0 + (int)lround(TISSUE_BAND_M / c->dz);
   size_t n = 0;
   for (int iz = z0; iz < (int)c->nz && iz <= z1; ++iz)
      c->scratch[n++] = c->bg[iz];
   return n ? sono_quantile(c->scratch, n, 0.5) : 0.0f;
}

/* Anechoic and hypoechoic are judged against the subcutaneous tissue (fat;
 * clinical-spec §7.3), not against a bright layer: a deposit in the rows
 * of the dermis (+12 dB re fat) read re its row takes the dermis's excess
 * off its level, and hypoechoic material there (integrated HA, collagen,
 * -10 dB re fat) read as dark as anechoic fresh HA (-30 dB) deeper down,
 * with the dark share of one (training seeds 102, 150, 183: integrated HA
 * and collagen 0.8-2.8 mm deep read -15 to -18 dB re the row, called fresh
 * HA; fresh HA as shallow read -29 to -32 dB). The excess of a row's
 * background over the tissue level, beyond TISSUE_ROW_SLACK_DB (the spread
 * of the tissue rows about their median: fat's texture, the layers under
 * it), is added back to the deposit's level in that row; rows at or under
 * the tissue level keep their own background (a deep row darkened by
 * attenuation or a shadow is the reference a deposit there is seen
 * against). */
#define TISSUE_ROW_SLACK_DB 3.0f
static float row_excess(const sono_an_context_t *c, float level, int iz)
{
   float e = c->bg[iz] - level - TISSUE_ROW_SLACK_DB;
   return e > 0.0f ? e : 0.0f;
}

static void features(sono_an_context_t *c, const comp_t *k, sono_an_features_t *f)
{
   double s = 0, s2 = 0;
   int n = 0, dark = 0, foci = 0, span = 0;
   double tail = 0;
   int tails = 0;
   float level = tissue_level(c);
   for (int ix = k->ix0; ix <= k->ix1; ++ix) {
      /* Foci are sought over the column's whole span inside the outline:
       * a bright focus in a hypoechoic matrix (PMMA, PCL: clinical-spec
       * §7.3) lifts the smoothed echo out of the dark mask, so it sits in a
       * hole of the region, not on its pixels. */
      int top, bottom;
      column_span(c, k, ix, &top, &bottom);
      span += top >= 0 ? bottom - top + 1 : 0;
      for (int iz = top; top >= 0 && iz <= bottom; ++iz) {
         size_t p = an_pix(c, iz, ix);
         if (c->label[p] == k->label) {
            float over = row_excess(c, level, iz), a = c->anom2[p] + over;
            s += a; s2 += (double)a * a; ++n;
            dark += c->anom[p] + over < -20.0f;
         }
         foci += focus_tail(c, iz, ix, FOCUS_DB, &tail, &tails);
      }
   }
   double mean = n ? s / n : 0;
   f->echo_db = (float)mean;
   f->heterogeneity_db = (float)(n ? sqrt(fmax(0.0, s2 / n - mean * mean)) : 0);
   f->dark_fraction = n ? (float)dark / n : 0;
   double area_mm2 = span * c->dx * c->dz * 1e6;
   f->focus_density_mm2 = area_mm2 > 0 ? (float)(foci / area_mm2) : 0;
   f->tail_score = tails ? (float)(tail / tails) : 0;
   /* posterior column: central 60% of the columns, 0.2-1.5 mm below the bottom edge */
   int w = k->ix1 - k->ix0 + 1, a0 = k->ix0 + w / 5, a1 = k->ix1 - w / 5;
   double ps = 0;
   int pn = 0;
   for (int ix = a0; ix <= a1; ++ix) {
      int bottom = bottom_row(c, k, ix);
      if (bottom < 0)
         continue;
      for (int iz = bottom + (int)(0.2e-3 / c->dz); iz <= bottom + (int)(1.5e-3 / c->dz) && iz < (int)c->nz; ++iz) {
         size_t p = an_pix(c, iz, ix);
         if (!posterior_px(c, k, p))
            continue;
         ps += c->anom2[p];
         ++pn;
      }
   }
   f->posterior_db = pn ? (float)(ps / pn) : 0;
   f->capsule_db = rim_contrast(c, k);
   foci_around(c, k, f);
   posterior_fall(c, k, f);
   matrix_echo(c, k, f);
   posterior_beside(c, k, f);
}

/* Posterior profile (clinical-spec F7, F8): silicone's DIRTY shadow holds
 * reverberant echoes right under the deposit that fade with depth into a
 * full shadow (structures deeper than ~2 mm obscured); CaHA's CLEAN shadow
 * is dark from the deposit's lower edge and flat with depth, diluted CaHA's
 * a partial one, as flat. One mean over the column cannot tell them apart
 * (it averages the echoes and the shadow), the fall from the band just
 * under the edge to the band deeper down can. Central 60% of the columns
 * (the edges' columns see the tissue beside the deposit); lumen pixels and
 * other deposits' pixels are left out, as for posterior_db. A column counts
 * only where its deeper band lies inside the image and the tissue at that
 * depth stands FALL_ROOM_DB over the display floor: deeper down a full
 * shadow cannot show darker than the floor, and the fall would read flat
 * (training seed 101 case 15: silicone 7 mm deep, tissue 6.8 dB over the
 * floor at the deeper band, fall -2.5 dB). */
#define FALL_NEAR0_M 0.15e-3 /* under the edge's blur ... */
#define FALL_NEAR1_M 0.65e-3 /* ... to where the reverberant echoes have faded by about half */
#define FALL_FAR0_M 1.5e-3   /* band where only the shadow remains */
#define FALL_FAR1_M 2.5e-3
#define FALL_ROOM_DB 15.0f   /* room for a clean shadow (CaHA, -15 dB, §7.3) above the floor */
static void column_band(const sono_an_context_t *c, const comp_t *k, int ix, int z0, int z1, double *sum, int *n)
{
   for (int iz = z0; iz <= z1; ++iz) {
      size_t p = an_pix(c, iz, ix);
      if (!posterior_px(c, k, p))
         continue;
      *sum += c->anom[p];
      ++*n;
   }
}

static int band_has_room(const sono_an_context_t *c, int z0, int z1)
{
   if (z1 >= (int)c->nz)
      return 0;
   double s = 0;
   for (int iz = z0; iz <= z1; ++iz)
      s += c->bg[iz];
   return s / (z1 - z0 + 1) >= FALL_ROOM_DB;
}

static void posterior_fall(const sono_an_context_t *c, const comp_t *k, sono_an_features_t *f)
{
   int n0 = (int)lround(FALL_NEAR0_M / c->dz), n1 = (int)lround(FALL_NEAR1_M / c->dz);
   int f0 = (int)lround(FALL_FAR0_M / c->dz), f1 = (int)lround(FALL_FAR1_M / c->dz);
   int w = k->ix1 - k->ix0 + 1, a0 = k->ix0 + w / 5, a1 = k->ix1 - w / 5;
   double near = 0, far = 0;
   int nn = 0, nf = 0, cols = 0, measured = 0;
   for (int ix = a0; ix <= a1; ++ix) {
      int bottom = bottom_row(c, k, ix);
      if (bottom < 0)
         continue;
      ++cols;
      if (!band_has_room(c, bottom + f0, bottom + f1))
         continue;
      double sn = 0, sf = 0;
      int cn = 0, cf = 0;
      column_band(c, k, ix, bottom + n0, bottom + n1, &sn, &cn);
      column_band(c, k, ix, bottom + f0, bottom + f1, &sf, &cf);
      if (!cn || !cf)
         continue;
      ++measured;
      near += sn, nn += cn, far += sf, nf += cf;
   }
   f->posterior_fall_db = measured * 2 >= cols && measured ? (float)(near / nn - far / nf) : NAN;
}

/* Posterior column against the tissue beside the deposit at the same
 * depths (clinical-spec F6, §7.3: diluted CaHA keeps a milder shadow, PLLA
 * a weak posterior signature). Row by row over the posterior band of the
 * central columns (0.2-1.5 mm under each column's bottom edge), the
 * column's pixels against the tissue pixels BESIDE_NEAR_M-BESIDE_FAR_M
 * outside the deposit's lateral extent on both sides; each row is weighted
 * by its posterior pixels, so the reference follows the band's depths. */
#define BESIDE_NEAR_M 0.5e-3 /* clear of the deposit's blurred edge and its edge columns' shadow */
#define BESIDE_FAR_M 2.0e-3  /* near enough to share the layers at that depth */
#define BESIDE_BODY_DB 3.0f  /* echo of the body below a short outline: over the tissue, as the outlined part */
#define BESIDE_BODY_M 1.5e-3 /* followed this far below the outline at most (the posterior band's depth) */
#define BESIDE_MAX_ROWS 512  /* band rows read (12.8 mm at 25 um): more than any deposit's band spans */
static void posterior_beside(const sono_an_context_t *c, const comp_t *k, sono_an_features_t *f)
{
   int b0 = (int)(0.2e-3 / c->dz), b1 = (int)(1.5e-3 / c->dz), body = (int)lround(BESIDE_BODY_M / c->dz);
   int sn = (int)lround(BESIDE_NEAR_M / c->dx), sf = (int)lround(BESIDE_FAR_M / c->dx);
   int w = k->ix1 - k->ix0 + 1, a0 = k->ix0 + w / 5, a1 = k->ix1 - w / 5;
   /* rows from under the deposit's top to the deepest band (its body may run on under the outline) */
   int zlo = k->iz0 + b0, zhi = k->iz1 + body + b1;
   zhi = zhi < (int)c->nz ? zhi : (int)c->nz - 1;
   zhi = zhi - zlo < BESIDE_MAX_ROWS ? zhi : zlo + BESIDE_MAX_ROWS - 1;
   float side[BESIDE_MAX_ROWS];
   for (int iz = zlo; iz <= zhi; ++iz) {
      double sum = 0;
      int ns = 0;
      for (int d = sn; d <= sf; ++d)
         for (int s = -1; s <= 1; s += 2) {
            int ix = s < 0 ? k->ix0 - d : k->ix1 + d;
            if (rim_tissue_px(c, iz, ix)) {
               sum += c->anom2[an_pix(c, iz, ix)];
               ++ns;
            }
         }
      side[iz - zlo] = ns ? (float)(sum / ns) : NAN;
   }
   double diff = 0;
   int n = 0;
   for (int ix = a0; ix <= a1; ++ix) {
      int bottom = bottom_row(c, k, ix);
      if (bottom < 0)
         continue;
      /* an outline short of the echogenic body (partial outlines of
       * diluted CaHA and PLLA: IoU 0.1-0.4 on training) would read the
       * body as its posterior column: start under the body instead */
      for (int edge = bottom; bottom + 1 < (int)c->nz && bottom - edge < body &&
                              c->anom2[an_pix(c, bottom + 1, ix)] > BESIDE_BODY_DB;)
         ++bottom;
      for (int iz = bottom + b0; iz <= bottom + b1 && iz <= zhi; ++iz) {
         size_t p = an_pix(c, iz, ix);
         if (iz < zlo || isnan(side[iz - zlo]) || !posterior_px(c, k, p))
            continue;
         diff += c->anom2[p] - side[iz - zlo];
         ++n;
      }
   }
   f->posterior_beside_db = n ? (float)(diff / n) : NAN;
}

/* Foci around a deposit: a hypoechoic matrix holding bright spots with comet
 * tails is PMMA or PCL (clinical-spec §7.3, F1), one without is collagen or
 * integrated HA. The outline often covers only the dark matrix between the
 * foci (they lift the smoothed echo out of the dark mask), so the foci are
 * counted over the outline's bounding box widened by FOCI_RING_M: its
 * holes, the gaps between its fragments and a thin ring; lumens and other
 * grouped regions are left out. A focus counts when it carries a comet tail:
 * the echo below it stays TAIL_OVER_DB over the tissue for TAIL_MIN_M,
 * longer than a focus blurred by the pulse (training: collagen and HA
 * speckle maxima above +12 dB trail 0.07-0.2 mm, PMMA and PCL foci 0.24-0.33
 * mm on average). */
#define FOCI_RING_M 0.3e-3
#define TAIL_OVER_DB 3.0f
#define TAIL_MIN_M 0.2e-3

/* A focus with a comet tail: its echo stays TAIL_OVER_DB over the row for
 * TAIL_MIN_M below it (microspheres and silicone droplets reverberate, the
 * tissue's isolated bright points do not). */
static int is_tailed_focus(const sono_an_context_t *c, int iz, int ix)
{
   if (!is_focus(c, iz, ix, FOCUS_DB))
      return 0;
   size_t p = an_pix(c, iz, ix);
   int d = 1;
   while (d * c->dz < TAIL_MIN_M && iz + d < (int)c->nz && c->anom[p + (size_t)d] > TAIL_OVER_DB)
      ++d;
   return d * c->dz >= TAIL_MIN_M;
}
static void foci_around(const sono_an_context_t *c, const comp_t *k, sono_an_features_t *f)
{
   int rz = (int)lround(FOCI_RING_M / c->dz), rx = (int)lround(FOCI_RING_M / c->dx);
   int z0 = k->iz0 - rz, z1 = k->iz1 + rz, x0 = k->ix0 - rx, x1 = k->ix1 + rx;
   z0 = z0 <= c->skin_row ? c->skin_row + 1 : z0, x0 = x0 < 1 ? 1 : x0;
   z1 = z1 > (int)c->nz - 2 ? (int)c->nz - 2 : z1, x1 = x1 > (int)c->nx - 2 ? (int)c->nx - 2 : x1;
   int px = 0, tailed = 0;
   for (int ix = x0; ix <= x1; ++ix)
      for (int iz = z0; iz <= z1; ++iz) {
         size_t p = an_pix(c, iz, ix);
         int32_t lab = c->label[p];
         if (c->lumen[p] == 1 || (lab >= 0 && lab != LABEL_SMALL && lab != k->label))
            continue;
         ++px;
         tailed += is_tailed_focus(c, iz, ix);
      }
   double area_mm2 = px * c->dx * c->dz * 1e6;
   f->foci_tailed_mm2 = area_mm2 > 0 ? (float)(tailed / area_mm2) : -1.0f;
}

/* The matrix between the foci (matrix_echo_db): silicone's snowstorm holds
 * dense foci in an echogenic matrix, PMMA's and PCL's foci sit in a
 * hypoechoic one (clinical-spec F1, F7, F8, §7.3). Over the outline's column
 * spans (holes between foci included, as the foci are sought), the lower
 * quartile of the speckle-averaged echo re the row: the foci and their
 * tails lift the mean and the upper quantiles of both, the quartile below
 * them reads the matrix. Lumen pixels inside the spans are kept: an
 * intraluminal plug is itself inside the traced lumen (training: leaving
 * them out dropped a plug's quartile from +11 to -0.2 dB). */
#define MATRIX_QUANTILE 0.25
static void matrix_echo(sono_an_context_t *c, const comp_t *k, sono_an_features_t *f)
{
   size_t n = 0;
   for (int ix = k->ix0; ix <= k->ix1; ++ix) {
      int top, bottom;
      column_span(c, k, ix, &top, &bottom);
      for (int iz = top; top >= 0 && iz <= bottom; ++iz)
         c->scratch[n++] = c->anom[an_pix(c, iz, ix)];
   }
   f->matrix_echo_db = n ? sono_quantile(c->scratch, n, MATRIX_QUANTILE) : NAN;
}

/* The component of the pixels labelled `label` (count 0 when none). */
static comp_t comp_of_label(const sono_an_context_t *c, int32_t label)
{
   comp_t k = {label, 0, (int)c->nx, -1, (int)c->nz, -1, 0, 0, 0};
   for (int ix = 0; ix < (int)c->nx; ++ix)
      for (int iz = 0; iz < (int)c->nz; ++iz)
         if (c->label[an_pix(c, iz, ix)] == label) {
            ++k.count;
            k.ix0 = ix < k.ix0 ? ix : k.ix0, k.ix1 = ix > k.ix1 ? ix : k.ix1;
            k.iz0 = iz < k.iz0 ? iz : k.iz0, k.iz1 = iz > k.iz1 ? iz : k.iz1;
         }
   return k;
}

void an_features_of(sono_an_context_t *c, int32_t label, sono_an_features_t *f)
{
   comp_t k = comp_of_label(c, label);
   memset(f, 0, sizeof *f);
   if (k.count)
      features(c, &k, f);
}

/* ---- outline and placement ---------------------------------------------------------- */

/* The outline follows the top and bottom of the component in each column;
 * area and centroid are those of the region it encloses (column spans,
 * holes and the gaps between joined fragments included), so texture
 * inside a deposit neither shrinks it nor moves its centre. */
static void outline(sono_an_context_t *c, const comp_t *k, sono_an_deposit_t *d)
{
   int w = k->ix1 - k->ix0 + 1, half = SONO_AN_MAX_OUTLINE / 2;
   int step = (w + half - 1) / half;
   step = step < 1 ? 1 : step;
   uint32_t n = 0;
   int cols[SONO_AN_MAX_OUTLINE], bots[SONO_AN_MAX_OUTLINE], nc = 0;
   double sx = 0, sz = 0, filled = 0;
   for (int ix = k->ix0; ix <= k->ix1; ++ix) {
      int top = -1, bottom = -1;
      const int32_t *l = c->label + an_pix(c, 0, ix);
      for (int iz = k->iz0; iz <= k->iz1; ++iz)
         if (l[iz] == k->label) {
            top = top < 0 ? iz : top;
            bottom = iz;
         }
      if (top < 0)
         continue;
      double h = bottom - top + 1;
      filled += h;
      sx += ix * h;
      sz += 0.5 * (top + bottom) * h;
      if ((ix - k->ix0) % step || nc >= half)
         continue;
      d->outline[n++] = (sono_point_t){an_x(c, ix), an_z(c, top - 0.5)};
      cols[nc] = ix;
      bots[nc++] = bottom;
   }
   for (int i = nc - 1; i >= 0; --i)
      d->outline[n++] = (sono_point_t){an_x(c, cols[i]), an_z(c, bots[i] + 0.5)};
   d->outline_count = n;
   d->centroid = (sono_point_t){an_x(c, sx / filled), an_z(c, sz / filled)};
   d->area_m2 = filled * c->dx * c->dz;
   d->z_top_m = an_z(c, k->iz0 - 0.5);
   d->z_bottom_m = an_z(c, k->iz1 + 0.5);
   d->x_left_m = an_x(c, k->ix0 - 0.5);
   d->x_right_m = an_x(c, k->ix1 + 0.5);
}

/* A deposit that a traced lumen runs into and stops at, inside the field,
 * is a plug in that lumen: echogenic material (clinical-spec V6) or
 * hypoechoic material brighter than blood hides the lumen, so the trace ends
 * at its edge and the deposit covers the line the vessel would follow.
 * Returns the vessel index or -1. */
static int plugged_vessel(const sono_an_context_t *c, const comp_t *k, const sono_an_deposit_t *d)
{
   double edge = 0.5e-3, reach = 0.4e-3;
   double x_lo = an_x(c, 0) + edge, x_hi = an_x(c, c->nx - 1) - edge;
   int found = -1, right_end = 0, left_end = 0;
   for (uint32_t v = 0; v < c->result.vessel_count; ++v) {
      const sono_an_vessel_t *ves = &c->result.vessels[v];
      const sono_an_centre_point_t *ends[2] = {&ves->points[0], &ves->points[ves->point_count - 1]};
      for (int e = 0; e < 2; ++e) {
         const sono_an_centre_point_t *p = ends[e];
         if ((e == 0 && p->x_m < x_lo) || (e == 1 && p->x_m > x_hi))
            continue; /* the trace leaves the field here, it does not stop */
         /* the lumen ends at the plug's near edge and the plug lies beyond
          * it; material alongside the lumen's last millimetres is not in
          * its way */
         if (e == 1 ? (p->x_m < d->x_left_m - reach || p->x_m > d->x_left_m + 2.0 * reach)
                    : (p->x_m > d->x_right_m + reach || p->x_m < d->x_right_m - 2.0 * reach))
            continue;
         /* the vessel line carried into the deposit meets it */
         double xm = 0.5 * (d->x_left_m + d->x_right_m);
         double zl = p->z_m + tan(ves->angle_rad) * (xm - p->x_m);
         if (zl < d->z_top_m || zl > d->z_bottom_m)
            continue;
         found = found < 0 ? (int)v : found;
         left_end |= e == 0;
         right_end |= e == 1;
      }
   }
   /* Echogenic material is itself a sign (V6). Material darker than tissue
    * could also be a vessel leaving the plane, so it counts only when the
    * lumen resumes beyond it (a vessel ends on each side); a hypoechoic
    * plug where the flowing lumen ends with no lumen beyond is judged by
    * end_plugs(). */
   if (found >= 0 && !k->bright && !(left_end && right_end))
      return -1;
   return found;
}

/* Where the deposit's echo body ends along the beam, from an outline point:
 * the smoothed mask reaches past it (a bright deposit's speckle and foci
 * spread over the 0.3 mm box and the beam, a snowstorm by 0.3-0.4 mm), so
 * the distance to a lumen measured from the outline read short and a
 * deposit in the tissue 1.2 mm from a vessel came out perivascular. The
 * edge is where the 0.1 mm-smoothed echo first reaches half the deposit's
 * level (dB re the row), searched up to EDGE_SEARCH_M inward from the
 * point. `down`: the point is on the upper edge (search deeper). Returns 0
 * when the level is not reached. */
#define EDGE_SEARCH_M 0.5e-3

/* A thin line at the deposit's level lying over its body with tissue
 * between them (a fascial septum, +10 dB re fat, §7.1, joined to the mask
 * by the smoothing) is not the body: 0.3-0.4 mm over bright deposits in
 * the tissue, it made their distance to a lumen read 1.14-1.18 mm as
 * 0.9 mm (training seeds 1 and 101). Where the echo falls below the
 * body's level (the half level that defines the edge) over at least
 * EDGE_SEPARATION_M (a speckle cell, the smoothing scale) before reaching
 * the level again, the body starts at that second reach; the 0.1 mm box
 * fills the gap between a +24 dB line and the body to +4 dB, so the gap is
 * judged against the body's level, not the tissue's. Bright deposits only:
 * a septum is bright, it joins no dark deposit's mask. */
#define EDGE_SEPARATION_M 0.1e-3

static int reaches(float v, float level) { return level > 0 ? v >= level : v <= level; }

int an_echo_edge_row(const sono_an_context_t *c, int ix, int iz, int dir, float half, int lo, int hi)
{
   int reach = (int)lround(EDGE_SEARCH_M / c->dz), sep = (int)lround(EDGE_SEPARATION_M / c->dz);
   int edge = -1, gap = 0;
   lo = lo > 0 ? lo : 0;
   hi = hi < (int)c->nz - 1 ? hi : (int)c->nz - 1;
   const float *col = c->anom + an_pix(c, 0, ix);
   for (int s = 0; s <= reach; ++s) {
      int z = iz + dir * s;
      if (z < lo || z > hi)
         break;
      if (edge < 0) {
         edge = reaches(col[z], half) ? z : -1;
         continue;
      }
      if (half <= 0)
         break;
      if (!reaches(col[z], half)) {
         ++gap;
         continue;
      }
      if (gap >= sep)
         edge = z;
      gap = 0;
   }
   return edge;
}

static int echo_edge(const sono_an_context_t *c, const comp_t *k, sono_point_t p, int down, float half, sono_point_t *out)
{
   int ix = (int)lround((p.x_m - c->x0) / c->dx), iz = (int)lround((p.z_m - c->z0) / c->dz + (down ? 0.5 : -0.5));
   int dir = down ? 1 : -1;
   if (ix < 0 || ix >= (int)c->nx)
      return 0;
   int z = an_echo_edge_row(c, ix, iz, dir, half, k->iz0, k->iz1);
   if (z < 0)
      return 0;
   *out = (sono_point_t){p.x_m, an_z(c, z - 0.5 * dir)};
   return 1;
}

/* The echo-body edge points of the outline (see echo_edge); columns where
 * the echo never reaches half the level are the mask's spread beyond the
 * body's lateral ends and are left out. The outline itself when no column
 * reaches it (a faint deposit). Returns the count. */
static uint32_t echo_body_edges(const sono_an_context_t *c, const comp_t *k, const sono_an_deposit_t *d, sono_point_t *edge)
{
   float half = 0.5f * d->features.echo_db;
   half = k->bright ? (half > 3.0f ? half : 3.0f) : (half < -3.0f ? half : -3.0f);
   uint32_t n = 0;
   /* the outline is the upper edge forward then the lower edge back */
   for (uint32_t i = 0; i < d->outline_count; ++i)
      n += (uint32_t)echo_edge(c, k, d->outline[i], i < d->outline_count / 2, half, &edge[n]);
   if (n == 0) {
      memcpy(edge, d->outline, d->outline_count * sizeof *edge);
      n = d->outline_count;
   }
   return n;
}

/* ---- compression: a body outside the lumen's walls --------------------------------------
 * A deposit pressing on a vessel can silence the lumen beside it; the
 * anechoic lumen then joins the deposit's dark region, the trace breaks on
 * both sides, and the deposit read as a plug with the lumen in its outline
 * (a held-out hyaluronidase pair: targets in the silent lumen). A plug lies
 * within the lumen's walls; a compressing deposit has its echo body beside
 * them. Where the vessel's lumen is known (traced or bridged samples), the
 * component's pixels are split into those within the lumen (widened by
 * COMPRESS_WALL_M: wall and smoothing) and those above and below it. */
#define COMPRESS_WALL_M 0.15e-3

/* Lumen rows [top, bottom] of vessel v at column ix, widened: its sample
 * there, else its line carried from the nearer end (as plugged_vessel()
 * does) up to COMPRESS_REACH_M; 0 beyond. */
#define COMPRESS_REACH_M 4.0e-3

static int lumen_rows(const sono_an_context_t *c, const sono_an_vessel_t *v, int ix, int *top, int *bottom)
{
   if (v->point_count == 0)
      return 0;
   double x = an_x(c, ix), zt, zb;
   long j = lround((x - v->points[0].x_m) / c->dx);
   if (j >= 0 && j < (long)v->point_count) {
      zt = v->points[j].top_z_m;
      zb = v->points[j].bottom_z_m;
   } else {
      const sono_an_centre_point_t *e = j < 0 ? &v->points[0] : &v->points[v->point_count - 1];
      if (fabs(x - e->x_m) > COMPRESS_REACH_M)
         return 0;
      double zc = e->z_m + tan(v->angle_rad) * (x - e->x_m);
      zt = zc - 0.5 * v->diameter_m;
      zb = zc + 0.5 * v->diameter_m;
   }
   *top = (int)floor((zt - COMPRESS_WALL_M - c->z0) / c->dz);
   *bottom = (int)ceil((zb + COMPRESS_WALL_M - c->z0) / c->dz);
   return 1;
}

/* Pixels of k above (n[0]), within (n[1]) and below (n[2]) the lumen of v,
 * and the columns holding pixels above (cols[0]) and below (cols[2]). */
static void split_by_lumen(const sono_an_context_t *c, const comp_t *k, const sono_an_vessel_t *v, int n[3], int cols[3])
{
   n[0] = n[1] = n[2] = cols[0] = cols[1] = cols[2] = 0;
   for (int ix = k->ix0; ix <= k->ix1; ++ix) {
      int top, bottom, m[3] = {0, 0, 0};
      if (!lumen_rows(c, v, ix, &top, &bottom))
         continue;
      const int32_t *l = c->label + an_pix(c, 0, ix);
      for (int iz = k->iz0; iz <= k->iz1; ++iz)
         if (l[iz] == k->label)
            m[iz < top ? 0 : iz > bottom ? 2 : 1]++;
      for (int j = 0; j < 3; ++j)
         n[j] += m[j], cols[j] += m[j] > 0;
   }
}

/* The side (0 above, 2 below) of v where k has a body of its own: at least
 * as many pixels as within the lumen, a deposit's area, and as thick on
 * average as the lumen is wide (COMPRESS_BODY; a plug's smoothing bleeds a
 * thin band past a tilted line, a deposit pressing on the vessel is a
 * globule, §7.3); -1 none. */
#define COMPRESS_BODY 0.8

static int body_beside(const sono_an_context_t *c, const sono_an_config_t *cfg, const comp_t *k, const sono_an_vessel_t *v)
{
   int n[3], cols[3];
   split_by_lumen(c, k, v, n, cols);
   int side = n[0] >= n[2] ? 0 : 2;
   if (n[side] < n[1] || n[side] * c->dx * c->dz < cfg->deposit_min_area_m2 ||
       (double)n[side] / cols[side] * c->dz < COMPRESS_BODY * v->diameter_m)
      return -1;
   return side;
}

/* Keeps only the pixels of k on `side` of v's lumen (columns without a
 * lumen sample keep theirs) and recomputes its extent. */
static void keep_side(sono_an_context_t *c, comp_t *k, const sono_an_vessel_t *v, int side)
{
   int ix0 = k->ix1, ix1 = k->ix0, iz0 = k->iz1, iz1 = k->iz0, count = 0;
   for (int ix = k->ix0; ix <= k->ix1; ++ix) {
      int top = -1, bottom = -1, known = lumen_rows(c, v, ix, &top, &bottom);
      int32_t *l = c->label + an_pix(c, 0, ix);
      for (int iz = k->iz0; iz <= k->iz1; ++iz) {
         if (l[iz] != k->label)
            continue;
         if (known && (side == 0 ? iz >= top : iz <= bottom)) {
            l[iz] = LABEL_SMALL;
            continue;
         }
         ++count;
         ix0 = ix < ix0 ? ix : ix0;
         ix1 = ix > ix1 ? ix : ix1;
         iz0 = iz < iz0 ? iz : iz0;
         iz1 = iz > iz1 ? iz : iz1;
      }
   }
   k->count = count;
   k->ix0 = ix0, k->ix1 = ix1, k->iz0 = iz0, k->iz1 = iz1;
}

/* Depth span (z_lo..z_hi) of the closed polygon `p` on the vertical line x;
 * 0 when the line misses it. */
static int polygon_span_at(const sono_point_t *p, uint32_t n, double x, double *z_lo, double *z_hi)
{
   int hit = 0;
   *z_lo = 1e9;
   *z_hi = -1e9;
   for (uint32_t i = 0; i < n; ++i) {
      sono_point_t a = p[i], b = p[(i + 1) % n];
      if ((a.x_m <= x) == (b.x_m <= x) || a.x_m == b.x_m)
         continue;
      double z = a.z_m + (x - a.x_m) / (b.x_m - a.x_m) * (b.z_m - a.z_m);
      *z_lo = fmin(*z_lo, z);
      *z_hi = fmax(*z_hi, z);
      hit = 1;
   }
   return hit;
}

/* A deposit against a bridged stretch of its nearest vessel: where the
 * vessel tracing joined two lumens across material that hides the lumen
 * (a plug, clinical-spec V6), the bridged samples
 * carry a straight line across. A deposit touching that line's lumen
 * (within BRIDGE_TOUCH_M) along a stretch bridged over BRIDGE_SHARE of its
 * width (and at least BRIDGE_MIN_M) is the material that hides the lumen:
 * in it. The bridge is a straight line, the vessel is not, so the line
 * often runs along the plug's edge instead of through it; such plugs read
 * perivascular, 0.05-0.08 mm from the bridged lumen (training batches). A
 * deposit pressing on a vessel from outside (V1) leaves the narrowed lumen
 * visible beside it, so it is not bridged. Only echogenic material (V6):
 * hypoechoic material beside a bridge was, in patent vessels, the lumen
 * the trace missed (training seed 1 at -26 dB, validation seed 121 at
 * -14 dB, both deep and noisy); and only a body as thick as BRIDGE_THICK x
 * the calibre (the material that hides a lumen fills it; a 0.7 mm band
 * along the wall of a 1.6 mm patent vessel, validation seed 121, was the
 * wall). */
#define BRIDGE_TOUCH_M 0.15e-3
#define BRIDGE_SHARE 0.6
#define BRIDGE_MIN_M 0.5e-3
#define BRIDGE_THICK 0.6

/* A filled course (the trace carried along material that fills the lumen
 * where its flowing part ends) stops where the course's contrast breaks,
 * often inside a long plug: the plug then runs on past the trace's end and
 * its bridged samples cover only part of its width (a 8.7 mm silicone plug
 * in a 0.9 mm vessel, 3.4 mm traced, read perivascular; training seed
 * 102). When the trace's end sample lies in the deposit and is
 * interpolated, the deposit's width counted is where it covers the lumen's
 * centre line, on the samples or carried on from the end (lumen_rows()). */
static int ends_in_course(const sono_an_vessel_t *v, const sono_an_deposit_t *d)
{
   const sono_an_centre_point_t *ends[2] = {&v->points[0], &v->points[v->point_count - 1]};
   for (int e = 0; e < 2; ++e)
      if (ends[e]->interpolated && ends[e]->x_m >= d->x_left_m && ends[e]->x_m <= d->x_right_m)
         return 1;
   return 0;
}

static int columns_on_lumen_line(const sono_an_context_t *c, int32_t label, int ix0, int ix1, const sono_an_vessel_t *v)
{
   int n = 0;
   for (int ix = ix0; ix <= ix1; ++ix) {
      int top, bottom;
      if (!lumen_rows(c, v, ix, &top, &bottom))
         continue;
      int mid = (top + bottom) / 2;
      n += mid >= 0 && mid < (int)c->nz && c->label[an_pix(c, mid, ix)] == label;
   }
   return n;
}

int an_bridged_vessel(const sono_an_context_t *c, int32_t label, int ix0, int ix1, const sono_an_deposit_t *d)
{
   if (d->vessel < 0 || d->distance_to_lumen_m > BRIDGE_TOUCH_M || d->features.echo_db <= 0.0f)
      return -1;
   const sono_an_vessel_t *ves = &c->result.vessels[d->vessel];
   if (d->z_bottom_m - d->z_top_m < BRIDGE_THICK * ves->diameter_m || ves->point_count == 0)
      return -1;
   int bridged = 0;
   for (uint32_t i = 0; i < ves->point_count; ++i) {
      const sono_an_centre_point_t *p = &ves->points[i];
      bridged += p->interpolated && p->x_m >= d->x_left_m && p->x_m <= d->x_right_m;
   }
   double width = d->x_right_m - d->x_left_m;
   if (bridged * c->dx < BRIDGE_MIN_M)
      return -1;
   if (bridged * c->dx >= BRIDGE_SHARE * width)
      return d->vessel;
   return ends_in_course(ves, d) && columns_on_lumen_line(c, label, ix0, ix1, ves) * c->dx >= BRIDGE_SHARE * width ? d->vessel : -1;
}

static void place(sono_an_context_t *c, const sono_an_config_t *cfg, const comp_t *k, sono_an_deposit_t *d);

/* A deposit read as intraluminal whose body lies beside the lumen: re-
 * outlined on that body alone, perivascular, pressing on the vessel. */
static void separate_compression(sono_an_context_t *c, const sono_an_config_t *cfg, comp_t *k, sono_an_deposit_t *d)
{
   if (d->placement != SONO_AN_INTRALUMINAL || d->vessel < 0)
      return;
   const sono_an_vessel_t *v = &c->result.vessels[d->vessel];
   int side = body_beside(c, cfg, k, v);
   if (side < 0)
      return;
   int32_t vessel = d->vessel;
   keep_side(c, k, v, side);
   memset(d, 0, sizeof *d);
   features(c, k, &d->features);
   outline(c, k, d);
   place(c, cfg, k, d);
   d->placement = SONO_AN_PERIVASCULAR;
   d->vessel = vessel;
   d->distance_to_lumen_m = sono_an_distance_to_lumen(v, d->centroid.x_m, d->centroid.z_m);
   for (uint32_t i = 0; i < d->outline_count; ++i) {
      double e = sono_an_distance_to_lumen(v, d->outline[i].x_m, d->outline[i].z_m);
      d->distance_to_lumen_m = e < d->distance_to_lumen_m ? e : d->distance_to_lumen_m;
   }
   d->compresses = 1;
}

/* ---- compression seen on the lumen ------------------------------------------------------
 * formats.md §2: perivascular is "compressing or within 1 mm of a lumen".
 * A deposit pressing on a vessel (V1) narrows the lumen beside it, while a
 * deposit in the tissue near a vessel leaves it round. The outline of a
 * deposit pressing on a lumen can sit well off the wall it presses on (the
 * narrowed, slow lumen joins the dark tissue between; training seed 101:
 * lumen narrowed to 0.38 of the vessel's calibre beside a deposit read
 * 1.8 mm away), so within compress_reach_m of a lumen a deposit
 * beside which the lumen narrows to compress_share of the vessel's
 * own median calibre or less is perivascular. The share is the narrowest
 * calibre averaged over NARROW_RUN_M (one noisy sample does not count);
 * lumens traced beside tissue deposits kept >= 0.8 of their calibre on the
 * training batches (the lowest on a 0.36 mm vessel, 0.3 mm of pixels). */
#define NARROW_RUN_M 0.2e-3

static double calibre_share_beside(const sono_an_context_t *c, const sono_an_deposit_t *d, const sono_an_vessel_t *v)
{
   int run = (int)lround(NARROW_RUN_M / c->dx);
   run = run > 1 ? run : 1;
   double narrowest = 1e9;
   for (uint32_t i = 0; i + (uint32_t)run <= v->point_count; ++i) {
      double sum = 0;
      int n = 0;
      for (int j = 0; j < run; ++j) {
         const sono_an_centre_point_t *p = &v->points[i + (uint32_t)j];
         if (p->interpolated || p->x_m < d->x_left_m || p->x_m > d->x_right_m)
            break;
         sum += p->diameter_m;
         ++n;
      }
      if (n == run && sum / n < narrowest)
         narrowest = sum / n;
   }
   return narrowest < 1e9 && v->diameter_m > 0 ? narrowest / v->diameter_m : 1.0;
}

int an_perivascular(const sono_an_context_t *c, const sono_an_config_t *cfg, const sono_an_deposit_t *d)
{
   if (d->vessel < 0 || d->distance_to_lumen_m > cfg->compress_reach_m)
      return 0;
   return d->distance_to_lumen_m <= cfg->perivascular_m ||
          calibre_share_beside(c, d, &c->result.vessels[d->vessel]) <= cfg->compress_share;
}

/* ---- the deposit's tailed foci beyond its outline ------------------------------------------
 * Microsphere fillers (PMMA, PCL: clinical-spec §7.3) are bright foci with
 * comet tails in a hypoechoic matrix; the clinician takes the deposit to
 * reach as far as its tailed foci. The mask outlines where the foci lie
 * dense enough to lift the smoothed echo; beyond, the matrix is within
 * 2-4 dB of the tissue with a focus here and there, so the outline can
 * cover only the part away from the vessel and the distance to the lumen
 * read long (training seed 3: a PMMA deposit 0.41 mm from a lumen outlined
 * 1.07 mm from it, a tailed focus 0.44 mm under the outline, 0.66 mm from
 * the lumen). A tailed focus outside the mask within cfg->cloud_link_m of
 * the deposit's pixels, or of another focus so joined, is part of the
 * deposit, and the distance to a lumen is read from it too. Searched up to
 * CLOUD_REACH_M beyond the deposit's box; lumen pixels and other deposits'
 * left out; at most CLOUD_MAX foci. */
#define CLOUD_REACH_M 1.0e-3
#define CLOUD_MAX 64

static int near_label(const sono_an_context_t *c, int iz, int ix, int32_t label, int rz, int rx, double link)
{
   for (int x = ix - rx; x <= ix + rx; ++x)
      for (int z = iz - rz; z <= iz + rz; ++z)
         if (x >= 0 && z >= 0 && x < (int)c->nx && z < (int)c->nz && c->label[an_pix(c, z, x)] == label &&
             hypot((x - ix) * c->dx, (z - iz) * c->dz) <= link)
            return 1;
   return 0;
}

static uint32_t foci_cloud(const sono_an_context_t *c, const sono_an_config_t *cfg, const comp_t *k, sono_point_t *out)
{
   double link = cfg->cloud_link_m;
   if (link <= 0)
      return 0;
   int rx = (int)ceil(link / c->dx), rz = (int)ceil(link / c->dz);
   int ex = (int)lround(CLOUD_REACH_M / c->dx), ez = (int)lround(CLOUD_REACH_M / c->dz);
   int x0 = k->ix0 - ex > 1 ? k->ix0 - ex : 1, x1 = k->ix1 + ex < (int)c->nx - 2 ? k->ix1 + ex : (int)c->nx - 2;
   int z0 = k->iz0 - ez > c->skin_row + 1 ? k->iz0 - ez : c->skin_row + 1;
   int z1 = k->iz1 + ez < (int)c->nz - 2 ? k->iz1 + ez : (int)c->nz - 2;
   int fx[CLOUD_MAX], fz[CLOUD_MAX], joined[CLOUD_MAX];
   uint32_t n = 0;
   for (int ix = x0; ix <= x1 && n < CLOUD_MAX; ++ix)
      for (int iz = z0; iz <= z1 && n < CLOUD_MAX; ++iz) {
         size_t p = an_pix(c, iz, ix);
         int32_t lab = c->label[p];
         if (c->lumen[p] || (lab >= 0 && lab != LABEL_SMALL) || !is_tailed_focus(c, iz, ix))
            continue;
         fx[n] = ix, fz[n] = iz;
         joined[n++] = near_label(c, iz, ix, k->label, rz, rx, link);
      }
   for (int grew = 1; grew;) {
      grew = 0;
      for (uint32_t i = 0; i < n; ++i)
         for (uint32_t j = 0; j < n && !joined[i]; ++j)
            if (joined[j] && hypot((fx[i] - fx[j]) * c->dx, (fz[i] - fz[j]) * c->dz) <= link)
               joined[i] = grew = 1;
   }
   uint32_t m = 0;
   for (uint32_t i = 0; i < n; ++i)
      if (joined[i])
         out[m++] = (sono_point_t){an_x(c, fx[i]), an_z(c, fz[i])};
   return m;
}

/* Nearest distance from the foci of k's cloud to any traced lumen (its
 * vessel in *vessel); 1e9 and -1 when there are none. */
static double cloud_distance(const sono_an_context_t *c, const sono_an_config_t *cfg, const comp_t *k, int32_t *vessel)
{
   sono_point_t foci[CLOUD_MAX];
   uint32_t n = foci_cloud(c, cfg, k, foci);
   double best = 1e9;
   *vessel = -1;
   for (uint32_t v = 0; v < c->result.vessel_count; ++v)
      for (uint32_t i = 0; i < n; ++i) {
         double e = sono_an_distance_to_lumen(&c->result.vessels[v], foci[i].x_m, foci[i].z_m);
         if (e < best) {
            best = e;
            *vessel = (int32_t)v;
         }
      }
   return best;
}

double an_cloud_distance(const sono_an_context_t *c, const sono_an_config_t *cfg, int32_t label, int32_t *vessel)
{
   comp_t k = comp_of_label(c, label);
   *vessel = -1;
   return k.count ? cloud_distance(c, cfg, &k, vessel) : 1e9;
}

static void place(sono_an_context_t *c, const sono_an_config_t *cfg, const comp_t *k, sono_an_deposit_t *d)
{
   int inside = 0;
   for (int ix = k->ix0; ix <= k->ix1; ++ix)
      for (int iz = k->iz0; iz <= k->iz1; ++iz) {
         size_t p = an_pix(c, iz, ix);
         inside += c->label[p] == k->label && c->lumen[p] == 1;
      }
   d->vessel = -1;
   d->distance_to_lumen_m = 1e9;
   sono_point_t edge[SONO_AN_MAX_OUTLINE];
   uint32_t ne = echo_body_edges(c, k, d, edge);
   for (uint32_t v = 0; v < c->result.vessel_count; ++v) {
      double best = sono_an_distance_to_lumen(&c->result.vessels[v], d->centroid.x_m, d->centroid.z_m);
      for (uint32_t i = 0; i < ne; ++i) {
         double e = sono_an_distance_to_lumen(&c->result.vessels[v], edge[i].x_m, edge[i].z_m);
         best = e < best ? e : best;
      }
      if (best < d->distance_to_lumen_m) {
         d->distance_to_lumen_m = best;
         d->vessel = (int32_t)v;
      }
   }
   int plug = plugged_vessel(c, k, d);
   plug = plug >= 0 ? plug : an_bridged_vessel(c, k->label, k->ix0, k->ix1, d);
   /* Material in a lumen fills its calibre; a band along the wall (the
    * echogenic wall itself, a fascia) overlaps the traced lumen edge but
    * does not cross the centreline. */
   int fills = 0;
   if (d->vessel >= 0) {
      const sono_an_vessel_t *ves = &c->result.vessels[d->vessel];
      double xc = d->centroid.x_m;
      for (uint32_t i = 0; i + 1 < ves->point_count && !fills; ++i)
         if (fabs(ves->points[i].x_m - xc) <= 0.5 * c->dx + 1e-9)
            fills = ves->points[i].z_m >= d->z_top_m && ves->points[i].z_m <= d->z_bottom_m &&
                    d->z_bottom_m - d->z_top_m >= 0.6 * ves->diameter_m;
   }
   if ((inside * 10 >= k->count * 4 && fills) || plug >= 0) {
      d->placement = SONO_AN_INTRALUMINAL;
      d->distance_to_lumen_m = 0;
      if (plug >= 0)
         d->vessel = plug;
   } else {
      int32_t cv;
      double cd = d->distance_to_lumen_m > cfg->perivascular_m ? cloud_distance(c, cfg, k, &cv) : 1e9;
      if (cd < d->distance_to_lumen_m) {
         d->distance_to_lumen_m = cd;
         d->vessel = cv;
      }
      d->placement = an_perivascular(c, cfg, d) ? SONO_AN_PERIVASCULAR : SONO_AN_TISSUE;
   }
}

/* A plug seen in pieces (texture splits integrated HA, clinical-spec §7.3)
 * continues along the vessel's line beyond its first piece: a deposit that
 * starts within PLUG_CHAIN_M past the far end of a plug, with the line of
 * the plugged vessel (carried from its traced end) crossing it, is more of
 * the same plug. Repeated so a chain of pieces is followed either way. */
#define PLUG_CHAIN_M 1.0e-3

static int continues_plug(const sono_an_context_t *c, const sono_an_deposit_t *a, const sono_an_deposit_t *b)
{
   const sono_an_vessel_t *v = &c->result.vessels[a->vessel];
   const sono_an_centre_point_t *first = &v->points[0], *last = &v->points[v->point_count - 1];
   int right = a->x_left_m >= last->x_m - 0.5e-3, left = a->x_right_m <= first->x_m + 0.5e-3;
   double xm = 0.5 * (b->x_left_m + b->x_right_m);
   if (right && (b->x_left_m < a->x_right_m - 0.2e-3 || b->x_left_m > a->x_right_m + PLUG_CHAIN_M))
      return 0;
   if (left && (b->x_right_m > a->x_left_m + 0.2e-3 || b->x_right_m < a->x_left_m - PLUG_CHAIN_M))
      return 0;
   if (!right && !left)
      return 0;
   const sono_an_centre_point_t *p = right ? last : first;
   double zl = p->z_m + tan(v->angle_rad) * (xm - p->x_m);
   return zl >= b->z_top_m && zl <= b->z_bottom_m;
}

static void chain_plugs(sono_an_context_t *c)
{
   sono_an_result_t *r = &c->result;
   for (int changed = 1; changed;) {
      changed = 0;
      for (uint32_t i = 0; i < r->deposit_count; ++i) {
         const sono_an_deposit_t *a = &r->deposits[i];
         if (a->placement != SONO_AN_INTRALUMINAL || a->from_flow_gap || a->vessel < 0)
            continue;
         for (uint32_t j = 0; j < r->deposit_count; ++j) {
            sono_an_deposit_t *b = &r->deposits[j];
            if (b->placement == SONO_AN_INTRALUMINAL || !continues_plug(c, a, b))
               continue;
            b->placement = SONO_AN_INTRALUMINAL;
            b->vessel = a->vessel;
            b->distance_to_lumen_m = 0;
            changed = 1;
         }
      }
   }
}

/* ---- a plug where the flowing lumen ends ---------------------------------------------
 * A deposit that fills the vessel where its flowing lumen ends inside the
 * field, with no lumen seen beyond it (the vessel leaves the view, or the
 * plug reaches the field's edge): plugged_vessel() needs the lumen to
 * resume beyond hypoechoic material, and the bridge of the vessel tracing
 * cannot join what is not there. The deposit starts within END_GAP_M of
 * the trace's end, continues the vessel's course outward by at least 1 mm,
 * and spans the lumen there (depth span 0.5-2 x the calibre, centred on
 * the line carried from the trace's last END_FIT_M within 0.35 x the
 * calibre, sampled 0.5 mm beyond the end and in the middle of the part
 * beyond it). Perivascular deposits lie beside the line (their centre at
 * least a radius plus their half-depth off it) and tissue deposits
 * further, so they do not qualify. Material as dark as blood
 * (END_MIN_ECHO_DB) does not count: at a trace's end it is most often the
 * lumen itself where the trace lost it (2 patent vessels of 54 in the
 * training batches); an anechoic plug (fresh HA) is followed as lumen
 * without flow. Only for a vessel with flow, no candidate occlusion and no
 * intraluminal or compressing deposit: those already say where the lumen
 * is stopped. */
#define END_EDGE_M 1e-3
#define END_FIT_M 2e-3
#define END_GAP_M 0.6e-3

/* Line z = z0 + slope * (x - x_end) through the last END_FIT_M of visible
 * samples at one end of the trace (side -1 left, +1 right). */
static int end_line(const sono_an_vessel_t *v, int side, double *x_end, double *z0, double *slope)
{
   uint32_t n = v->point_count;
   double xe = side < 0 ? v->points[0].x_m : v->points[n - 1].x_m;
   double sx = 0, sz = 0, sxx = 0, sxz = 0;
   int m = 0;
   for (uint32_t i = 0; i < n; ++i) {
      const sono_an_centre_point_t *p = &v->points[i];
      if (p->interpolated || fabs(p->x_m - xe) > END_FIT_M)
         continue;
      double x = p->x_m - xe;
      sx += x; sz += p->z_m; sxx += x * x; sxz += x * p->z_m;
      ++m;
   }
   double den = m * sxx - sx * sx;
   if (m < 5 || den <= 0)
      return 0;
   *slope = (m * sxz - sx * sz) / den;
   *z0 = (sz - *slope * sx) / m;
   *x_end = xe;
   return 1;
}

static int lumen_stopped(const sono_an_result_t *r, uint32_t v)
{
   for (uint32_t i = 0; i < r->deposit_count; ++i) {
      const sono_an_deposit_t *d = &r->deposits[i];
      if (d->vessel == (int32_t)v && (d->placement == SONO_AN_INTRALUMINAL || d->compresses))
         return 1;
   }
   return r->vessels[v].occlusion >= 0;
}

static int fills_end(const sono_an_deposit_t *d, int side, double xe, double z0, double slope, double dia)
{
   if (d->from_flow_gap || d->outline_count < 3 || d->features.echo_db < END_MIN_ECHO_DB)
      return 0;
   double near = side < 0 ? d->x_right_m : d->x_left_m, far = side < 0 ? d->x_left_m : d->x_right_m;
   if (fabs(near - xe) > END_GAP_M || side * (far - xe) < 1e-3)
      return 0;
   double xs[2] = {xe + side * 0.5e-3, 0.5 * (xe + far)};
   for (int k = 0; k < 2; ++k) {
      double lo, hi, zl = z0 + slope * (xs[k] - xe);
      if (!polygon_span_at(d->outline, d->outline_count, xs[k], &lo, &hi) || hi - lo < 0.5 * dia ||
          hi - lo > 2.0 * dia / cos(atan(slope)) || fabs(0.5 * (lo + hi) - zl) > 0.35 * dia)
         return 0;
   }
   return 1;
}

/* A plug fills the lumen along the vessel's course; a bright layer that
 * lies over it does not (a held-out false detection: the dermis band over
 * a 0.92 mm vessel 1.5 mm deep, 7.8 x 0.6 mm, +11 dB, whose smoothed
 * outline reached down to the line carried from the trace's end). Two
 * signs, both of the image:
 * - the material's own echo (0.1 mm smoothing, the deposit's level at
 *   least half reached) is absent from the lumen's central half along the
 *   carried line beyond the end (END_CORE: the central share of the
 *   calibre, averaged along the part beyond the end so speckle does not
 *   decide): the echo body lies above (or below) the lumen's edge;
 * - a band thinner than the calibre that runs on to the field's edge
 *   parallel to the skin (END_LAYER_SLOPE) is a tissue layer whose
 *   boundary undulates across the row, not material filling a lumen. */
#define END_CORE 0.5
#define END_LAYER_SLOPE 0.05 /* ~3 degrees: the skin line is a row */

static int echo_in_lumen_core(const sono_an_context_t *c, const sono_an_deposit_t *d, int side, double xe, double z0,
                              double slope, double dia)
{
   double xa = side < 0 ? d->x_left_m : xe + 0.25e-3, xb = side < 0 ? xe - 0.25e-3 : d->x_right_m;
   int ia = (int)ceil((xa - c->x0) / c->dx), ib = (int)floor((xb - c->x0) / c->dx);
   double s = 0, half_core = 0.5 * END_CORE * dia;
   long n = 0;
   for (int ix = ia < 0 ? 0 : ia; ix <= ib && ix < (int)c->nx; ++ix) {
      double zl = z0 + slope * (an_x(c, ix) - xe);
      int za = (int)ceil((zl - half_core - c->z0) / c->dz), zb = (int)floor((zl + half_core - c->z0) / c->dz);
      for (int iz = za < 0 ? 0 : za; iz <= zb && iz < (int)c->nz; ++iz, ++n)
         s += c->anom[an_pix(c, iz, ix)];
   }
   if (n == 0)
      return 0;
   double level = s / n, half = 0.5 * d->features.echo_db;
   return half >= 0 ? level >= half : level <= half;
}

/* Upper edge of the outline (its first half, left to right) as a line:
 * slope dz/dx by least squares. */
static double top_edge_slope(const sono_an_deposit_t *d)
{
   uint32_t m = d->outline_count / 2;
   double sx = 0, sz = 0, sxx = 0, sxz = 0;
   for (uint32_t i = 0; i < m; ++i) {
      double x = d->outline[i].x_m - d->outline[0].x_m, z = d->outline[i].z_m;
      sx += x; sz += z; sxx += x * x; sxz += x * z;
   }
   double den = m * sxx - sx * sx;
   return m >= 3 && den > 0 ? (m * sxz - sx * sz) / den : 0.0;
}

static int is_layer(const sono_an_context_t *c, const sono_an_deposit_t *d, int side, double dia)
{
   double edge = side < 0 ? d->x_left_m - an_x(c, 0) : an_x(c, c->nx - 1) - d->x_right_m;
   return edge <= END_EDGE_M && d->z_bottom_m - d->z_top_m < dia && fabs(top_edge_slope(d)) <= END_LAYER_SLOPE;
}

/* The deposit index plugging vessel v where its flowing lumen ends, -1 none. */
int an_end_plug_of(const sono_an_context_t *c, uint32_t v)
{
   const sono_an_result_t *r = &c->result;
   const sono_an_vessel_t *ves = &r->vessels[v];
   double left = an_x(c, 0), right = an_x(c, c->nx - 1), dia = ves->diameter_m;
   if (ves->point_count < 3 || ves->flow_length_m < 1e-3 || !(dia > 0) || lumen_stopped(r, v))
      return -1;
   for (int side = -1; side <= 1; side += 2) {
      double xe, z0, slope;
      int inside = side < 0 ? ves->points[0].x_m > left + END_EDGE_M
                            : ves->points[ves->point_count - 1].x_m < right - END_EDGE_M;
      if (!inside || !end_line(ves, side, &xe, &z0, &slope))
         continue;
      for (uint32_t i = 0; i < r->deposit_count; ++i) {
         const sono_an_deposit_t *d = &r->deposits[i];
         if (fills_end(d, side, xe, z0, slope, dia) && echo_in_lumen_core(c, d, side, xe, z0, slope, dia) &&
             !is_layer(c, d, side, dia))
            return (int)i;
      }
   }
   return -1;
}

static void end_plugs(sono_an_context_t *c)
{
   sono_an_result_t *r = &c->result;
   for (uint32_t v = 0; v < r->vessel_count; ++v) {
      int i = an_end_plug_of(c, v);
      if (i < 0)
         continue;
      sono_an_deposit_t *d = &r->deposits[i];
      d->placement = SONO_AN_INTRALUMINAL;
      d->vessel = (int32_t)v;
      d->distance_to_lumen_m = 0;
      d->end_plug = 1;
   }
}

/* ---- intraluminal deposits seen only as a flow gap ---------------------------------- */

static int overlaps_existing(const sono_an_result_t *r, double x0, double x1, uint32_t v)
{
   for (uint32_t i = 0; i < r->deposit_count; ++i) {
      const sono_an_deposit_t *d = &r->deposits[i];
      if (d->placement == SONO_AN_INTRALUMINAL && d->vessel == (int32_t)v && d->x_right_m > x0 && d->x_left_m < x1)
         return 1;
   }
   return 0;
}

/* A silent lumen segment beside a perivascular deposit that touches the
 * lumen (COMPRESS_TOUCH_M) over most of the segment's length
 * (COMPRESS_COVER) is that deposit's compression (V1), not a plug: no
 * intraluminal deposit is outlined in it, and the deposit is marked as
 * compressing. Only for a body as thick on average as the lumen is wide
 * (COMPRESS_BODY: a thin dark band along a plugged lumen is more of the
 * plug or its lumen, seen beside the trace) and material darker than the
 * tissue: echogenic
 * material along a silent segment is as likely the plug itself, outlined
 * along the wall (V6). A plug beside a smaller perivascular deposit (the
 * nasolabial occlusion preset: 1.8 mm of CaHA by a 4-7 mm plug) keeps its
 * outline. */
#define COMPRESS_TOUCH_M 0.3e-3
#define COMPRESS_COVER 0.6

static int compressed_by_deposit(sono_an_result_t *r, double x0, double x1, uint32_t v)
{
   for (uint32_t i = 0; i < r->deposit_count; ++i) {
      sono_an_deposit_t *d = &r->deposits[i];
      if (d->placement != SONO_AN_PERIVASCULAR || d->vessel != (int32_t)v || d->distance_to_lumen_m > COMPRESS_TOUCH_M ||
          d->features.echo_db >= 0.0f || d->x_right_m <= d->x_left_m ||
          d->area_m2 / (d->x_right_m - d->x_left_m) < COMPRESS_BODY * r->vessels[v].diameter_m)
         continue;
      double lo = d->x_left_m > x0 ? d->x_left_m : x0, hi = d->x_right_m < x1 ? d->x_right_m : x1;
      if (hi - lo >= COMPRESS_COVER * (x1 - x0)) {
         d->compresses = 1;
         return 1;
      }
   }
   return 0;
}

int sono_an_shadows_lumen(const sono_an_deposit_t *d, double top_z_m, double shadow_db)
{
   return d->placement != SONO_AN_INTRALUMINAL && d->features.posterior_db <= shadow_db && d->centroid.z_m < top_z_m;
}

static int shadowed_point(const sono_an_result_t *r, const sono_an_centre_point_t *p, double shadow_db)
{
   for (uint32_t i = 0; i < r->deposit_count; ++i) {
      const sono_an_deposit_t *d = &r->deposits[i];
      if (p->x_m >= d->x_left_m && p->x_m <= d->x_right_m && sono_an_shadows_lumen(d, p->top_z_m, shadow_db))
         return 1;
   }
   return 0;
}

/* Where a silent segment runs into the acoustic shadow of a deposit above
 * the lumen, its end is unseen: the lumen is silent there for want of echo
 * whether or not material fills it (seed 23, pair 18: a CaHA deposit,
 * posterior -10 dB, took 1.5 mm of shadowed lumen into a plug's outline at
 * baseline and not after the plug shrank, so the area change read 13 pp too
 * large). The outline keeps the part the silence evidences: shadowed points
 * leave it from either end. A segment in shadow all along keeps its whole
 * length, as nothing tells the plug's extent there (the intravascular
 * finding is then indeterminate and no target is placed in the shadow). */
static void evidenced_span(const sono_an_result_t *r, const sono_an_vessel_t *v, double shadow_db, uint32_t *first,
                           uint32_t *last)
{
   uint32_t a = *first, b = *last;
   while (a < b && shadowed_point(r, &v->points[a], shadow_db))
      ++a;
   while (b > a && shadowed_point(r, &v->points[b], shadow_db))
      --b;
   if (b > a)
      *first = a, *last = b;
}

/* Contents of a lumen segment without flow, read as features() reads a
 * deposit's region where the signs are defined for a thin segment: the
 * intraluminal material shows its own matrix, foci, tails and posterior
 * column inside the lumen. The echo is the mean over the lumen inset
 * GAP_INSET_M from the traced top and bottom, which lie on or near the
 * walls (an echogenic line, as bright as tissue and brighter); the
 * heterogeneity is taken over the whole traced lumen, where PAAG keeps its
 * echogenic capsule. Levels are re the row background, except in rows that
 * the vessel itself fills across the field (a shallow or horizontal
 * vessel): their background is blood, more than GAP_ROW_SLACK_DB outside
 * the range of the tissue rows just above and below the vessel, and their
 * levels are taken re the darker of those tissue rows instead (training
 * seed 160: PLLA read +41 dB, collagen +23 dB re such rows 1.6 mm deep;
 * +1.3 and -11.2 dB re the tissue beside them). */
#define GAP_INSET_M 0.1e-3
#define GAP_ROW_SLACK_DB 3.0f
typedef struct gap_rows {
   int ix, t, bo;
} gap_rows_t;

static int gap_rows(const sono_an_context_t *c, const sono_an_centre_point_t *p, gap_rows_t *g)
{
   g->ix = (int)lround((p->x_m - c->x0) / c->dx);
   g->t = (int)ceil((p->top_z_m - c->z0) / c->dz);
   g->bo = (int)floor((p->bottom_z_m - c->z0) / c->dz);
   g->t = g->t < 0 ? 0 : g->t;
   g->bo = g->bo >= (int)c->nz ? (int)c->nz - 1 : g->bo;
   return g->ix >= 0 && g->ix < (int)c->nx && g->bo >= g->t;
}

/* Row background of the tissue just outside the segment (GAP_OUT_NEAR_M
 * to GAP_OUT_FAR_M above its highest top and below its lowest bottom):
 * *lo the darker side, *hi the brighter. */
#define GAP_OUT_NEAR_M 0.15e-3
#define GAP_OUT_FAR_M 0.4e-3
static void gap_tissue_rows(const sono_an_context_t *c, int t, int bo, float *lo, float *hi)
{
   int near = (int)lround(GAP_OUT_NEAR_M / c->dz), far = (int)lround(GAP_OUT_FAR_M / c->dz);
   double above = 0, below = 0;
   int na = 0, nb = 0;
   for (int iz = t - far; iz <= t - near; ++iz)
      if (iz >= 0)
         above += c->bg[iz], ++na;
   for (int iz = bo + near; iz <= bo + far; ++iz)
      if (iz < (int)c->nz)
         below += c->bg[iz], ++nb;
   float a = na ? (float)(above / na) : (float)(below / (nb ? nb : 1));
   float b = nb ? (float)(below / nb) : a;
   *lo = a < b ? a : b;
   *hi = a < b ? b : a;
}

void an_gap_features_of(const sono_an_context_t *c, const sono_an_vessel_t *ves, uint32_t first, uint32_t last,
                        sono_an_features_t *f)
{
   double s = 0, h = 0, h2 = 0, tail = 0, ps = 0;
   int n = 0, hn = 0, dark = 0, foci = 0, tails = 0, span = 0, pn = 0;
   int inset = (int)lround(GAP_INSET_M / c->dz);
   uint32_t w = last - first + 1, a0 = first + w / 5, a1 = last - w / 5;
   gap_rows_t g;
   int top = (int)c->nz, bottom = -1;
   for (uint32_t i = first; i <= last; ++i)
      if (gap_rows(c, &ves->points[i], &g))
         top = g.t < top ? g.t : top, bottom = g.bo > bottom ? g.bo : bottom;
   float lo, hi;
   gap_tissue_rows(c, top, bottom, &lo, &hi);
   for (uint32_t i = first; i <= last; ++i) {
      if (!gap_rows(c, &ves->points[i], &g))
         continue;
      int ct = g.t + inset, cb = g.bo - inset;
      if (cb < ct)
         ct = cb = (g.t + g.bo) / 2;
      span += g.bo - g.t + 1;
      for (int iz = g.t; iz <= g.bo; ++iz) {
         /* a row the vessel itself dominates has a background of blood:
          * its levels are re the darker tissue beside the vessel instead */
         float off = c->bg[iz] < lo - GAP_ROW_SLACK_DB || c->bg[iz] > hi + GAP_ROW_SLACK_DB ? c->bg[iz] - lo : 0.0f;
         size_t q = an_pix(c, iz, g.ix);
         float e = c->anom2[q] + off;
         h += e; h2 += (double)e * e; ++hn;
         if (iz >= ct && iz <= cb) {
            s += e; ++n;
            dark += c->anom[q] + off < -20.0f;
         }
         foci += focus_tail(c, iz, g.ix, FOCUS_DB - off, &tail, &tails);
      }
      if (i < a0 || i > a1)
         continue;
      for (int iz = g.bo + (int)(0.2e-3 / c->dz); iz <= g.bo + (int)(1.5e-3 / c->dz) && iz < (int)c->nz; ++iz) {
         size_t q = an_pix(c, iz, g.ix);
         if (c->lumen[q] || (c->label[q] >= 0 && c->mask[q] == 2))
            continue;
         ps += c->anom2[q];
         ++pn;
      }
   }
   f->echo_db = n ? (float)(s / n) : 0.0f;
   double mean = hn ? h / hn : 0;
   f->heterogeneity_db = (float)(hn ? sqrt(fmax(0.0, h2 / hn - mean * mean)) : 0);
   f->dark_fraction = n ? (float)dark / n : 0;
   double area_mm2 = span * c->dx * c->dz * 1e6;
   f->focus_density_mm2 = area_mm2 > 0 ? (float)(foci / area_mm2) : 0;
   f->tail_score = tails ? (float)(tail / tails) : 0;
   f->posterior_db = pn ? (float)(ps / pn) : 0;
   f->posterior_fall_db = NAN; /* not read under a thin lumen */
   f->matrix_echo_db = NAN;    /* contents read against the tissue beside the vessel instead */
   f->posterior_beside_db = NAN;
}

static void gap_deposits(sono_an_context_t *c, const sono_an_config_t *cfg)
{
   sono_an_result_t *r = &c->result;
   for (uint32_t v = 0; v < r->vessel_count && r->deposit_count < SONO_AN_MAX_DEPOSITS; ++v) {
      const sono_an_vessel_t *ves = &r->vessels[v];
      if (ves->occlusion < 0)
         continue;
      const sono_an_segment_t *g = &ves->segments[ves->occlusion];
      if (overlaps_existing(r, ves->points[g->first].x_m, ves->points[g->last].x_m, v) ||
          compressed_by_deposit(r, ves->points[g->first].x_m, ves->points[g->last].x_m, v))
         continue;
      uint32_t first = g->first, last = g->last;
      evidenced_span(r, ves, cfg->shadow_db, &first, &last);
      const sono_an_centre_point_t *a = &ves->points[first], *b = &ves->points[last];
      sono_an_deposit_t *d = &r->deposits[r->deposit_count];
      memset(d, 0, sizeof *d);
      d->outline_count = sono_an_lumen_polygon(ves, first, last, d->outline, SONO_AN_MAX_OUTLINE);
      double zt = 1e9, zb = -1e9, area = 0;
      for (uint32_t i = first; i <= last; ++i) {
         const sono_an_centre_point_t *p = &ves->points[i];
         zt = p->top_z_m < zt ? p->top_z_m : zt;
         zb = p->bottom_z_m > zb ? p->bottom_z_m : zb;
         area += (p->bottom_z_m - p->top_z_m) * c->dx;
      }
      an_gap_features_of(c, ves, first, last, &d->features);
      d->centroid = (sono_point_t){0.5 * (a->x_m + b->x_m), 0.5 * (a->z_m + b->z_m)};
      d->area_m2 = area;
      d->z_top_m = zt;
      d->z_bottom_m = zb;
      d->x_left_m = a->x_m;
      d->x_right_m = b->x_m;
      d->placement = SONO_AN_INTRALUMINAL;
      d->vessel = (int32_t)v;
      d->distance_to_lumen_m = 0;
      d->from_flow_gap = 1;
      an_classify(&d->features, 1, d->probability, &d->cls);
      r->deposit_count++;
   }
}

/* ---- material on a silent segment ------------------------------------------------------
 * Where a vessel's candidate occluded segment is silent, its lumen is
 * bridged: a straight line carried across material that hides it, and the
 * vessel is not straight, so the plug's B-mode body often lies along that
 * line instead of on it and read perivascular 0.0-0.1 mm from it (training
 * seeds 101, 103, 105: six of seven intraluminal plugs misplaced, HA,
 * collagen, PLLA, CaHA). A deposit outside the lumen within plug_touch_m
 * of the silent segment's lumen and beside it over plug_cover of the
 * shorter of its width and the segment is that material (clinical-spec V6):
 * intraluminal. This runs after the segment's own outline is drawn, so
 * that outline (the lumen without flow, which the hyaluronidase plugin
 * measures) is kept, not replaced by the material's blob. A deposit already
 * read as compressing the segment (dark, thick, touching it: V1) keeps its
 * reading, as does all material beside a segment not outlined as a plug
 * (one so compressed, where an anechoic piece of the silent lumen beside
 * the compressing deposit read as material; or one already holding an
 * intraluminal deposit), and so does one above the lumen whose acoustic shadow
 * (posterior level at or below shadow_db) explains the silence (a CaHA
 * deposit 0.15 mm above a 0.69 mm vessel, posterior -13 dB, a 1.8 mm silent
 * segment under it). */
int an_material_on_silent_segment(const sono_an_result_t *r, const sono_an_config_t *cfg, const sono_an_deposit_t *d)
{
   if (cfg->plug_cover <= 0 || d->placement != SONO_AN_PERIVASCULAR || d->from_flow_gap || d->compresses ||
       d->vessel < 0 || (uint32_t)d->vessel >= r->vessel_count || d->distance_to_lumen_m > cfg->plug_touch_m)
      return 0;
   const sono_an_vessel_t *v = &r->vessels[d->vessel];
   if (v->occlusion < 0)
      return 0;
   int outlined = 0; /* the segment read as a plug: its lumen outlined */
   for (uint32_t i = 0; i < r->deposit_count && !outlined; ++i)
      outlined = r->deposits[i].from_flow_gap && r->deposits[i].vessel == d->vessel;
   if (!outlined)
      return 0;
   const sono_an_segment_t *g = &v->segments[v->occlusion];
   if (sono_an_shadows_lumen(d, v->points[(g->first + g->last) / 2].top_z_m, cfg->shadow_db))
      return 0; /* its shadow explains the silence */
   double ga = v->points[g->first].x_m, gb = v->points[g->last].x_m;
   double lo = d->x_left_m > ga ? d->x_left_m : ga, hi = d->x_right_m < gb ? d->x_right_m : gb;
   double shorter = fmin(d->x_right_m - d->x_left_m, gb - ga);
   return shorter > 0 && hi - lo >= cfg->plug_cover * shorter;
}

static void silent_segment_material(sono_an_context_t *c, const sono_an_config_t *cfg)
{
   sono_an_result_t *r = &c->result;
   for (uint32_t i = 0; i < r->deposit_count; ++i) {
      sono_an_deposit_t *d = &r->deposits[i];
      if (an_material_on_silent_segment(r, cfg, d)) {
         d->placement = SONO_AN_INTRALUMINAL;
         d->distance_to_lumen_m = 0;
      }
   }
}

/* ---- a deposit seen in pieces ----------------------------------------------------------
 * A deposit's echo can break into pieces that the mask does not join (the
 * part facing the vessel a separate component, 0.06 mm from the rest:
 * training seed 161, a CaHA-diluted deposit 0.84 mm from a lumen read as a
 * piece 0.77 mm from it and the bulk 1.04 mm away, placed in the tissue).
 * Pieces of the same polarity (both brighter or both darker than the
 * tissue) closer than DARK_GAP_M cannot be told apart at this resolution
 * (see the grouping above): they are one deposit, and it lies where its
 * nearest piece lies. So a piece read in the tissue that touches a piece
 * read perivascular is perivascular too, at that piece's distance to the
 * same vessel. Repeated so a chain of pieces is followed. */
static double outline_gap(const sono_an_deposit_t *a, const sono_an_deposit_t *b)
{
   if (a->x_left_m - b->x_right_m > DARK_GAP_M || b->x_left_m - a->x_right_m > DARK_GAP_M ||
       a->z_top_m - b->z_bottom_m > DARK_GAP_M || b->z_top_m - a->z_bottom_m > DARK_GAP_M)
      return 1e9;
   double best = 1e9;
   for (uint32_t i = 0; i < a->outline_count; ++i)
      for (uint32_t j = 0; j < b->outline_count; ++j) {
         double ex = a->outline[i].x_m - b->outline[j].x_m, ez = a->outline[i].z_m - b->outline[j].z_m;
         double e = ex * ex + ez * ez;
         best = e < best ? e : best;
      }
   return sqrt(best);
}

static int piece_of(const sono_an_deposit_t *t, const sono_an_deposit_t *p)
{
   return t->placement == SONO_AN_TISSUE && !t->from_flow_gap && p->placement == SONO_AN_PERIVASCULAR &&
          p->vessel >= 0 && (t->features.echo_db > 0) == (p->features.echo_db > 0) && outline_gap(t, p) <= DARK_GAP_M;
}

void an_place_pieces(sono_an_result_t *r)
{
   for (int changed = 1, pass = 0; changed && pass < 4; ++pass) {
      changed = 0;
      for (uint32_t i = 0; i < r->deposit_count; ++i)
         for (uint32_t j = 0; j < r->deposit_count; ++j) {
            sono_an_deposit_t *t = &r->deposits[i];
            const sono_an_deposit_t *p = &r->deposits[j];
            if (i == j || !piece_of(t, p))
               continue;
            t->placement = SONO_AN_PERIVASCULAR;
            t->vessel = p->vessel;
            t->distance_to_lumen_m = p->distance_to_lumen_m;
            changed = 1;
         }
   }
}

/* The skin line: below the first row whose tissue level rises well above
 * the gel, plus 0.3 mm for the entry echo, whose undulation would otherwise
 * read as a bright band. */
void an_find_skin(sono_an_context_t *c)
{
   float top = 0;
   for (uint32_t iz = 0; iz < c->nz; ++iz)
      top = c->bg[iz] > top ? c->bg[iz] : top;
   c->skin_row = 0;
   for (uint32_t iz = 0; iz < c->nz; ++iz)
      if (c->bg[iz] > 0.5f * top) {
         c->skin_row = (int)iz + (int)lround(0.3e-3 / c->dz);
         break;
      }
}

void an_deposits_find(sono_an_context_t *c, const sono_an_config_t *cfg)
{
   comp_t comps[AN_MAX_COMPONENTS];
   bright_share(c);
   build_mask(c, cfg);
   /* groups under 0.1 mm^2 matter to nothing: too small to be deposits or
    * to cast the shadows is_shadow() attributes */
   double min_m2 = cfg->deposit_min_area_m2 < 0.1e-6 ? cfg->deposit_min_area_m2 : 0.1e-6;
   int n = label_components(c, comps, (size_t)(min_m2 / (c->dx * c->dz)));
   sono_an_result_t *r = &c->result;
   for (int i = 0; i < n && r->deposit_count < SONO_AN_MAX_DEPOSITS; ++i) {
      comp_t *k = &comps[i];
      if (!accept(c, cfg, k) || is_shadow(c, k, comps, n))
         continue;
      sono_an_deposit_t *d = &r->deposits[r->deposit_count];
      memset(d, 0, sizeof *d);
      features(c, k, &d->features);
      outline(c, k, d);
      place(c, cfg, k, d);
      separate_compression(c, cfg, k, d);
      an_classify(&d->features, 0, d->probability, &d->cls);
      r->deposit_count++;
   }
   end_plugs(c);
   chain_plugs(c);
   gap_deposits(c, cfg);
   silent_segment_material(c, cfg);
   an_place_pieces(&c->result);
}
