/* B-mode artefacts of clinical-spec §4 A6: acoustic shadow (clean/dirty),
 * posterior enhancement, reverberation and comet tail, mirror image,
 * anisotropy, side lobe and near-field clutter.
 *
 * Levels are compared with the row reference (median of the smoothed image
 * at the same depth), which stands for "the lateral reference columns at
 * the same depth" of the rule table as long as an artefact covers less than
 * half of the width. */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "art.h"

static float dsm(const art_t *a, int iz, int ix) { return a->sm[art_px(a, iz, ix)] - a->rowref[iz]; }
static float dlat(const art_t *a, int iz, int ix) { return a->lat[art_px(a, iz, ix)] - a->rowref[iz]; }
static int in_kind_box(const art_t *a, art_kind_t k, int iz, int ix);

/* Mean of `img` - rowref over the pixels of component c (label image). */
static double comp_mean_delta(const art_t *a, const art_comp_t *c, const float *img)
{
   double s = 0;
   int n = 0;
   for (int ix = c->ix0; ix <= c->ix1; ++ix)
      for (int iz = c->iz0; iz <= c->iz1; ++iz)
         if (a->labels[art_px(a, iz, ix)] == c->label) {
            s += img[art_px(a, iz, ix)] - a->rowref[iz];
            ++n;
         }
   return n ? s / n : 0;
}

/* Width (pixels) of the widest row of the component. */
static int comp_width(const art_t *a, const art_comp_t *c)
{
   int best = 0;
   for (int iz = c->iz0; iz <= c->iz1; ++iz) {
      int n = 0;
      for (int ix = c->ix0; ix <= c->ix1; ++ix)
         n += a->labels[art_px(a, iz, ix)] == c->label;
      if (n > best)
         best = n;
   }
   return best;
}

/* Band of reverberant echoes under a reflector: the reflector's edge row per
 * column (edge[ix] < 0: none), every col_step-th column of [ix0, ix1]
 * thinned to fit ART_MAX_POLY, closed by the two corners at row `bottom`
 * (clamped to the frame). Returns the point count. */
static uint32_t edge_band_polygon(const art_t *a, const int32_t *edge, int ix0, int ix1, int col_step, int bottom,
                                  sono_point_t *poly)
{
   uint32_t n = 0;
   int step = col_step * ((ix1 - ix0) / (col_step * (ART_MAX_POLY - 4)) + 1);
   for (int ix = ix0; ix <= ix1 && n < ART_MAX_POLY - 3; ix += step)
      if (edge[ix] >= 0)
         poly[n++] = (sono_point_t){a->x0 + ix * a->dx, a->z0 + edge[ix] * a->dz};
   bottom = bottom < a->nz ? bottom : a->nz - 1;
   poly[n++] = (sono_point_t){a->x0 + ix1 * a->dx, a->z0 + bottom * a->dz};
   poly[n++] = (sono_point_t){a->x0 + ix0 * a->dx, a->z0 + bottom * a->dz};
   return n;
}

/* Slot for a candidate of level v in a list of at most cap items (n of them
 * used) that keeps the brightest: the next free one, else the weakest when
 * v is brighter, else -1. The level is the float at byte offset `off` of
 * each item of `size` bytes. */
static int brightest_slot(const void *items, size_t size, size_t off, int *n, int cap, float v)
{
   if (*n < cap)
      return (*n)++;
   const char *b = items;
   int lo = 0;
   for (int i = 1; i < cap; ++i)
      if (*(const float *)(b + i * size + off) < *(const float *)(b + lo * size + off))
         lo = i;
   return *(const float *)(b + lo * size + off) < v ? lo : -1;
}

/* ---- reverberation and comet tail ---------------------------------------- */

#define MAX_PEAKS 128

typedef struct chain {
   int z0, z1, lag, copies;
   float level;
} chain_t;

/* Echo peaks of column ix of `img`: local maxima at least `min_db` above
 * the row reference. */
static int column_peaks(const art_t *a, const float *img, int ix, float min_db, int *pz, float *pv)
{
   int n = 0;
   const float *restrict c = img + art_px(a, 0, ix);
   const float *restrict ref = a->rowref;
   uint8_t *restrict flag = (uint8_t *)a->col; /* per-column scratch, free here */
   /* branch-free candidate test first (vectorises); peaks are sparse */
   for (int iz = 2; iz < a->nz - 2; ++iz)
      flag[iz] = (uint8_t)((c[iz] - ref[iz] >= min_db) & (c[iz] >= c[iz - 1]) & (c[iz] >= c[iz - 2]) &
                           (c[iz] > c[iz + 1]) & (c[iz] > c[iz + 2]));
   /* branch-free compaction (a noisy column has peaks everywhere); slot
    * MAX_PEAKS takes the writes once the list is full */
   for (int iz = 2; iz < a->nz - 2; ++iz) {
      pz[n] = iz;
      pv[n] = c[iz] - ref[iz];
      n += flag[iz] & (n < MAX_PEAKS);
   }
   return n;
}

typedef struct chain_rule {
   const float *img; /* profile image */
   int min_lag, max_lag;
   float min_step;   /* each copy at least this much weaker than the one before */
   float reflector;  /* reflector level above the row reference */
   int point_off;    /* > 0: the reflector must be a point (comet tail), lateral offset in pixels */
   int loose;        /* 1: levels modulated by the speckle under them (see best_chain) */
   float copy_db;    /* loose rule: every copy at least this far above the row reference */
} chain_rule_t;

/* Longest run of equally spaced peaks (+-1 sample) after the reflector peak
 * i. Strict rule (comet tails): each copy weaker than the one before by at
 * least rule->min_step with a constant step (exponential decay). Loose rule
 * (laterally extended reverberation): a specular copy adds coherently to
 * the speckle beneath it, so single copies scatter by several dB about the
 * exponential; every copy stays under the reflector, none rises more than
 * 3 dB over the one before, and the chain as a whole falls by at least
 * min_step per copy on average (absolute level, so a darker layer under the
 * copies does not lift them). */
static chain_t best_chain(const art_t *a, int ix, const int *pz, const float *pv, int n, int i, const chain_rule_t *r)
{
   chain_t best = {0, 0, 0, 0, 0};
   const float *col = r->img + art_px(a, 0, ix);
   int tol = r->loose ? 2 : 1;
   for (int j = i + 1; j < n && pz[j] - pz[i] <= r->max_lag; ++j) {
      int lag = pz[j] - pz[i];
      float step = pv[i] - pv[j];
      if (lag < r->min_lag || step < r->min_step || (r->loose && pv[j] < r->copy_db))
         continue;
      int prev = pz[j], copies = 1;
      float last = pv[j], last_abs = col[pz[j]];
      /* exponential decay: every copy a similar number of dB below the last */
      for (int k = j + 1; k < n && pz[k] <= prev + lag + tol; ++k) {
         if (pz[k] < prev + lag - tol)
            continue;
         float sk = last - pv[k];
         int ok = r->loose ? col[pz[k]] <= last_abs + 3.0f && pv[k] < pv[i] - r->min_step && pv[k] >= r->copy_db
                           : sk >= r->min_step && fabsf(sk - step) <= 3.0f;
         if (ok) {
            prev = pz[k];
            last = pv[k];
            last_abs = col[pz[k]];
            ++copies;
         }
      }
      if (r->loose && copies > 1 && col[pz[i]] - last_abs < r->min_step * (float)copies)
         continue;
      /* the copies fade among themselves too: the parallel echoes of a
       * fibrillar layer under a bright wall keep one level */
      if (r->loose && copies > 1 && col[pz[j]] - last_abs < r->min_step * (float)(copies - 1))
         continue;
      if (copies > best.copies)
         best = (chain_t){pz[i], prev + lag / 2, lag, copies, pv[i]};
   }
   return best;
}

/* A point reflector stands out from the columns 0.25 mm to either side. */
static int point_like(const art_t *a, int iz, int ix, int off)
{
   float v = a->lat[art_px(a, iz, ix)];
   float l = ix - off >= 0 ? a->lat[art_px(a, iz, ix - off)] : v;
   float r = ix + off < a->nx ? a->lat[art_px(a, iz, ix + off)] : v;
   return v - l >= 8.0f && v - r >= 8.0f;
}

/* Marks in a->mask every column run from a reflector to its last copy;
 * a->tmp receives the lag of each marked pixel. */
static void mark_chains(art_t *a, const chain_rule_t *r, int col_step)
{
   int pz[MAX_PEAKS + 1];
   float pv[MAX_PEAKS + 1];
   int min_copies = (int)a->p[P_REVERB_MIN_COPIES];
   memset(a->mask, 0, a->npix);
   for (int ix = 0; ix < a->nx; ix += col_step) {
      int n = column_peaks(a, r->img, ix, (float)a->p[P_REVERB_PEAK_DB], pz, pv);
      for (int i = 0; i < n; ++i) {
         if (pv[i] < r->reflector || (r->point_off > 0 && !point_like(a, pz[i], ix, r->point_off)))
            continue;
         chain_t c = best_chain(a, ix, pz, pv, n, i, r);
         if (c.copies < min_copies)
            continue;
         for (int jx = ix; jx < ix + col_step && jx < a->nx; ++jx)
            for (int iz = c.z0; iz <= c.z1 && iz < a->nz; ++iz) {
               a->mask[art_px(a, iz, jx)] = 1;
               a->tmp[art_px(a, iz, jx)] = (float)c.lag;
            }
         while (i + 1 < n && pz[i + 1] <= c.z1)
            ++i;
      }
   }
}

/* Joins components whose bounds lie within `gap_x`/`gap_z` pixels of each
 * other (the tails of one deposit's foci form one instance): members take
 * the label of the first; merged entries get count 0. */
static void merge_near(art_t *a, int gap_x, int gap_z)
{
   for (int i = 0; i < a->ncomps; ++i) {
      art_comp_t *c = &a->comps[i];
      if (!c->count)
         continue;
      for (int again = 1; again;) {
         again = 0;
         for (int j = i + 1; j < a->ncomps; ++j) {
            art_comp_t *d = &a->comps[j];
            if (!d->count || d->ix0 > c->ix1 + gap_x || d->ix1 < c->ix0 - gap_x || d->iz0 > c->iz1 + gap_z ||
                d->iz1 < c->iz0 - gap_z)
               continue;
            for (int ix = d->ix0; ix <= d->ix1; ++ix)
               for (int iz = d->iz0; iz <= d->iz1; ++iz)
                  if (a->labels[art_px(a, iz, ix)] == d->label)
                     a->labels[art_px(a, iz, ix)] = c->label;
            c->ix0 = d->ix0 < c->ix0 ? d->ix0 : c->ix0;
            c->ix1 = d->ix1 > c->ix1 ? d->ix1 : c->ix1;
            c->iz0 = d->iz0 < c->iz0 ? d->iz0 : c->iz0;
            c->iz1 = d->iz1 > c->iz1 ? d->iz1 : c->iz1;
            c->count += d->count;
            d->count = 0;
            again = 1;
         }
      }
   }
}

/* Column ix carries the reflector line of a plate at row iz (+-2 rows):
 * on the 3-column mean at least reflector_db above the row reference. */
static int plate_line(const art_t *a, int iz, int ix)
{
   for (int jz = iz - 2; jz <= iz + 2; ++jz)
      if (jz >= 0 && jz < a->nz && dlat(a, jz, ix) >= (float)a->p[P_REFLECTOR_DB])
         return 1;
   return 0;
}

static int striated_layer(art_t *a, int *z0, int *z1);

static void report_chains(art_t *a, art_kind_t kind, int min_width)
{
   /* the parallel echoes of a fibrillar layer (tendon, muscle) are anatomy,
    * equally spaced but not repeats of one reflector */
   int fz0 = 0, fz1 = 0, margin = art_npx_z(a, 0.3e-3);
   int fibres = striated_layer(a, &fz0, &fz1) > 0;
   for (int k = 0; k < a->ncomps; ++k) {
      const art_comp_t *c = &a->comps[k];
      if (!c->count || c->ix1 - c->ix0 + 1 < min_width ||
          (fibres && c->iz0 >= fz0 - margin && c->iz0 <= fz1 + margin))
         continue;
      /* already reported as a plate or under a deposit */
      if (kind == K_REVERB && in_kind_box(a, K_REVERB, c->iz0, (c->ix0 + c->ix1) / 2))
         continue;
      double lag = 0;
      int n = 0;
      for (int ix = c->ix0; ix <= c->ix1; ++ix)
         for (int iz = c->iz0; iz <= c->iz1; ++iz)
            if (a->labels[art_px(a, iz, ix)] == c->label) {
               lag += a->tmp[art_px(a, iz, ix)];
               ++n;
            }
      lag = lag / n * a->dz;
      double len = (c->iz1 - c->iz0 + 1) * a->dz, width = (c->ix1 - c->ix0 + 1) * a->dx;
      int ix0 = c->ix0, ix1 = c->ix1;
      if (kind == K_REVERB) {
         /* the chain clears the speckle only where the copies add up on the
          * lateral mean; the plate reaches as far as its reflector line */
         while (ix0 > 0 && plate_line(a, c->iz0, ix0 - 1))
            --ix0;
         while (ix1 + 1 < a->nx && plate_line(a, c->iz0, ix1 + 1))
            ++ix1;
         width = (ix1 - ix0 + 1) * a->dx;
      }
      art_finding_t *f = art_add(a, kind, (float)(0.6 + 0.08 * fmin(4.0, len / lag - 2.0)));
      if (!f)
         return;
      f->npoly = kind == K_REVERB ? art_rect_polygon(a, c->iz0, c->iz1, ix0, ix1, f->poly) : art_comp_polygon(a, c, f->poly);
      snprintf(f->label, sizeof f->label, "Possible %s artefact", kind == K_COMET ? "comet-tail" : "reverberation");
      snprintf(f->basis, sizeof f->basis,
               "equally spaced echoes every %.2f mm below reflectors from %.1f mm, each weaker than the one before, "
               "over %.1f mm depth and %.1f mm width",
               lag * 1e3, art_mm_z(a, c->iz0), len * 1e3, width * 1e3);
      snprintf(f->advice, sizeof f->advice, "%s",
               kind == K_COMET ? "Comet tails mark small strong reflectors (e.g. PMMA/PCL particles, calcifications); "
                                 "do not read the tail as structure"
                               : "Change the probe angle or pressure; echoes below the reflector are repeats, not "
                                 "anatomy");
   }
}

#define COMET_MAX 256     /* tails remembered per frame */
#define COMET_BELOW_M 0.7e-3 /* the tails run up to this far below the deposit */
#define COMET_MATRIX_DB 0.0f /* foci lie in a matrix no brighter than the tissue of their rows */
#define COMET_NARROW_COPIES 3 /* a narrow tail: >= 3 copies ... */
#define COMET_COPY_DB 6.0f    /* ... the first >= 6 dB over the columns beside it */

/* Copies of the focus at row iz of column c at lag L: each copy a local
 * maximum (+-1 row) >= 3 dB over the background `bg`, no brighter than the
 * one before + 1 dB, with a dip of >= 3 dB before it. */
static int comet_copies(const float *c, int nz, int iz, int lag, float bg)
{
   int n = 0;
   float last = c[iz];
   for (int k = 1; k <= 4; ++k) {
      int z = iz + k * lag;
      if (z + 1 >= nz)
         break;
      int zp = z;
      for (int j = z - 1; j <= z + 1; ++j)
         zp = c[j] > c[zp] ? j : zp;
      float v = c[zp], dip = v;
      for (int j = iz + (k - 1) * lag + 2; j <= zp - 2; ++j)
         dip = fminf(dip, c[j]);
      if (v < bg + 3.0f || v > last + 1.0f || v - dip < 3.0f)
         break;
      last = v;
      ++n;
   }
   return n;
}

/* Most copies of the focus at row iz of column c over the lags
 * min_lag..max_lag (comet_copies), and the lag that gives them. */
static int comet_best_lag(const float *c, int nz, int iz, int min_lag, int max_lag, float bg, int *blag)
{
   int best = 0;
   *blag = 0;
   for (int lag = min_lag; lag <= max_lag; ++lag) {
      int n = comet_copies(c, nz, iz, lag, bg);
      if (n > best) {
         best = n;
         *blag = lag;
      }
   }
   return best;
}

/* Shortest comet lag in pixels: 0.08 mm, at least 2 rows (a copy must be
 * resolved from the focus before it). */
static int comet_min_lag(const art_t *a)
{
   int min_lag = art_npx_z(a, 0.08e-3);
   return min_lag < 2 ? 2 : min_lag;
}

/* The first copy of a tail, the brightest row within +-1 of row z, over
 * the columns 0.25 mm to either side at its own depth (dB): the tail of a
 * particle is a narrow column under it, where a speckle run or a fibre's
 * parallel echo is as wide as the tissue beside it. */
static float comet_copy_contrast(const float *c, const float *l, const float *r, int nz, int z)
{
   int zp = z;
   for (int j = z - 1; j <= z + 1; ++j)
      zp = j >= 0 && j < nz && c[j] > c[zp] ? j : zp;
   return c[zp] - 0.5f * (l[zp] + r[zp]);
}

/* A focus already listed: one focus lights neighbouring sampled columns. */
static int comet_seen(const art_t *a, const int32_t *tz, const int32_t *tx, int n, int iz, int ix)
{
   int rz = art_npx_z(a, 0.1e-3), rx = art_npx_x(a, 0.2e-3);
   for (int t = n - 1; t >= 0; --t)
      if (abs(tz[t] - iz) < rz && abs(tx[t] - ix) <= rx)
         return 1;
   return 0;
}

static int comet_root(int32_t *grp, int i)
{
   while (grp[i] != i)
      i = grp[i] = grp[grp[i]];
   return i;
}

static int comet_field(const art_t *a, int count, int nnarrow)
{
   return count >= (int)a->p[P_COMET_MIN_TAILS] || nnarrow >= (int)a->p[P_COMET_MIN_NARROW];
}

/* A field (comet_field) takes in a smaller group of >= comet_satellite_tails
 * within twice the link distance (lz, lx): the particles of one deposit
 * thin out where the deposit narrows (a slender cast along an oblique
 * vessel), which breaks its field into pieces; speckle makes isolated
 * tails, not groups of three beside a deposit. grp holds roots. */
static void comet_absorb_satellites(const art_t *a, const int32_t *tz, const int32_t *tx, const uint8_t *narrow,
                                    int32_t *grp, int n, int lz, int lx)
{
   int16_t count[COMET_MAX] = {0}, nnarrow[COMET_MAX] = {0};
   for (int i = 0; i < n; ++i) {
      ++count[grp[i]];
      nnarrow[grp[i]] += narrow[i];
   }
   for (int i = 0; i < n; ++i) {
      int gi = grp[i];
      if (!comet_field(a, count[gi], nnarrow[gi]))
         continue;
      for (int j = 0; j < n; ++j) {
         int gj = grp[j];
         if (gj == gi || abs(tz[i] - tz[j]) > lz || abs(tx[i] - tx[j]) > lx || count[gj] < (int)a->p[P_COMET_SATELLITE])
            continue;
         for (int k = 0; k < n; ++k)
            grp[k] = grp[k] == gj ? gi : grp[k];
         count[gi] += count[gj];
         nnarrow[gi] += nnarrow[gj];
         count[gj] = nnarrow[gj] = 0;
      }
   }
}

/* Groups the tails by single linkage (comet_link_m in depth and across);
 * then smaller groups join a field nearby (comet_absorb_satellites);
 * a group of >= comet_min_tails is one deposit of comet-forming particles
 * (speckle makes an isolated tail now and then, never a dense field of
 * them), and so is a group holding >= comet_min_narrow narrow tails (a
 * small deposit has few particles, but their tails are clear). Region: the group's foci +-0.2 mm across, from 0.15 mm above the
 * shallowest to COMET_BELOW_M below the deepest. */
static void comet_groups(art_t *a, const int32_t *tz, const int32_t *tx, const int32_t *tlag, const uint8_t *narrow,
                         int n)
{
   int32_t *grp = a->stack; /* scratch: no flood fill runs here */
   int lz = art_npx_z(a, a->p[P_COMET_LINK_M]), lx = art_npx_x(a, a->p[P_COMET_LINK_M]);
   for (int i = 0; i < n; ++i)
      grp[i] = i;
   for (int i = 0; i < n; ++i)
      for (int j = i + 1; j < n; ++j)
         if (abs(tz[i] - tz[j]) <= lz && abs(tx[i] - tx[j]) <= lx) {
            int ri = comet_root(grp, i), rj = comet_root(grp, j);
            grp[ri > rj ? ri : rj] = ri < rj ? ri : rj;
         }
   for (int i = 0; i < n; ++i)
      grp[i] = comet_root(grp, i);
   comet_absorb_satellites(a, tz, tx, narrow, grp, n, 2 * lz, 2 * lx);
   for (int g = 0; g < n; ++g) {
      int count = 0, nnarrow = 0, z0 = a->nz, z1 = 0, x0 = a->nx, x1 = 0;
      double lag = 0;
      for (int i = 0; i < n; ++i)
         if (grp[i] == g) {
            ++count;
            nnarrow += narrow[i];
            lag += tlag[i];
            z0 = tz[i] < z0 ? tz[i] : z0, z1 = tz[i] > z1 ? tz[i] : z1;
            x0 = tx[i] < x0 ? tx[i] : x0, x1 = tx[i] > x1 ? tx[i] : x1;
         }
      if (!comet_field(a, count, nnarrow))
         continue;
      lag = lag / count * a->dz;
      int mx = art_npx_x(a, 0.2e-3);
      int rz0 = z0 - art_npx_z(a, 0.15e-3), rz1 = z1 + art_npx_z(a, COMET_BELOW_M);
      int rx0 = x0 - mx, rx1 = x1 + mx;
      rz0 = rz0 < 0 ? 0 : rz0, rz1 = rz1 >= a->nz ? a->nz - 1 : rz1;
      rx0 = rx0 < 0 ? 0 : rx0, rx1 = rx1 >= a->nx ? a->nx - 1 : rx1;
      double extra = count - a->p[P_COMET_MIN_TAILS];
      art_finding_t *f = art_add(a, K_COMET, (float)(0.55 + 0.03 * fmin(10.0, extra)));
      if (!f)
         return;
      f->npoly = art_rect_polygon(a, rz0, rz1, rx0, rx1, f->poly);
      snprintf(f->label, sizeof f->label, "Possible comet-tail artefact");
      snprintf(f->basis, sizeof f->basis,
               "%d bright point foci at %.1f-%.1f mm over %.1f mm width, each followed by fading echoes (mean "
               "spacing %.2f mm), in a matrix no brighter than the tissue beside it",
               count, art_mm_z(a, z0), art_mm_z(a, z1), (x1 - x0 + 1) * a->dx * 1e3, lag * 1e3);
      snprintf(f->advice, sizeof f->advice,
               "Comet tails mark small strong reflectors (e.g. PMMA/PCL particles, calcifications); do not read the "
               "tail as structure");
   }
}

/* A focus right under an anechoic band (comet_lumen_m above it, on the
 * 3-column mean comet_lumen_db under the row reference: blood) is the far
 * wall of a lumen, whose specular echo rings in the wall, not a particle in
 * a deposit, where the matrix and the tails of the foci above fill the
 * rows over a focus. Along an oblique vessel such wall foci chain into a
 * field that joined a deposit's and stretched its region (training: wall
 * foci 11-12.5 dB under the row, with or without colour in the lumen; a
 * PCL deposit's foci -7 to +7 dB). */
static int comet_under_lumen(const art_t *a, int iz, int ix)
{
   int h = art_npx_z(a, a->p[P_COMET_LUMEN_M]);
   if (iz - h < 0)
      return 0;
   double level = 0;
   for (int z = iz - h; z < iz - 2; ++z) /* the focus's own pulse reaches 2 rows up */
      level += a->lat[art_px(a, z, ix)] - a->rowref[z];
   return level <= -a->p[P_COMET_LUMEN_DB] * (h - 2);
}

/* Tissue level of row iz for the comet matrix: the row reference, or the
 * frame's median where the row lies shadow_drop_db or more under it: such a
 * row is shadowed (under a bone line, beyond the depth of penetration) or
 * filled by a lumen, and its median is no tissue level; a deep deposit's
 * hypoechoic matrix stood up to 10 dB over it (training seed 503 cases 0
 * and 5), and its field was lost. */
static float comet_tissue(const art_t *a, int iz)
{
   float drop = (float)a->p[P_SHADOW_DROP_DB];
   return a->rowref[iz] < a->p50 - drop ? a->p50 : a->rowref[iz];
}

/* Comet tails (A1, §7.3): bright point foci (>= reflector_db + 6 dB over the
 * columns 0.25 mm aside) in a matrix no brighter than the tissue of their
 * rows (those columns at most COMET_MATRIX_DB over comet_tissue: PMMA/PCL
 * matrix; foci in an echogenic silicone or calcific matrix do not qualify), each followed by >= 2 equally spaced fading copies at a lag <=
 * comet_max_lag_m, and not the far wall of a lumen (comet_under_lumen).
 * The particles of one deposit make a dense field of such tails, reported
 * by comet_groups (the matrix between them is not traced:
 * the foci and their tails break it into pieces). */
static void detect_comets(art_t *a, int max_lag)
{
   int off = art_npx_x(a, 0.25e-3), min_lag = comet_min_lag(a), ntail = 0;
   int32_t tz[COMET_MAX], tx[COMET_MAX], tlag[COMET_MAX];
   uint8_t narrow[COMET_MAX];
   float strong = (float)a->p[P_REFLECTOR_DB] + 6.0f;
   for (int ix = off; ix < a->nx - off && ntail < COMET_MAX; ix += 2) {
      const float *c = a->lat + art_px(a, 0, ix), *l = a->lat + art_px(a, 0, ix - off),
                  *r = a->lat + art_px(a, 0, ix + off);
      for (int iz = 2; iz < a->nz - 2 && ntail < COMET_MAX; ++iz) {
         float bg = 0.5f * (l[iz] + r[iz]);
         if (c[iz] - bg < strong || bg > comet_tissue(a, iz) + COMET_MATRIX_DB || c[iz] < c[iz - 1] || c[iz] < c[iz + 1])
            continue;
         int blag, best = comet_best_lag(c, a->nz, iz, min_lag, max_lag, bg, &blag);
         if (best >= 2 && !comet_seen(a, tz, tx, ntail, iz, ix) && !comet_under_lumen(a, iz, ix)) {
            tz[ntail] = iz;
            tx[ntail] = ix;
            narrow[ntail] = best >= COMET_NARROW_COPIES && comet_copy_contrast(c, l, r, a->nz, iz + blag) >= COMET_COPY_DB;
            tlag[ntail++] = blag;
            iz += best * blag;
         }
      }
   }
   comet_groups(a, tz, tx, tlag, narrow, ntail);
}

/* ---- reverberation under an echogenic deposit (dirty shadow) ---- */

#define SIL_BRIGHT_DB 8.0f  /* deposit: smoothed level above the lateral reference */
#define SIL_DEPOSIT_DB 13.0 /* deposit mean: silicone is the most echogenic filler (+18 diffuse, CaHA +12) */
#define SIL_FADE_DB 5.0    /* echoes just below over the band deeper down */
#define SIL_SHADOW_DB 4.0  /* deep band under the lateral reference, at least (see sil_full_shadow) */
#define SIL_TAIL_M 3.0e-3   /* reverberant echoes reported this far below the deepest point */
#define SIL_NEAR0_M 0.15e-3 /* band just below the deposit, where the reverberant echoes are */
#define SIL_NEAR1_M 0.65e-3
#define SIL_DEEP0_M 1.5e-3  /* band deeper down, where only the shadow remains */
#define SIL_DEEP1_M 2.5e-3
#define SIL_SIDE0_M 0.5e-3  /* lateral reference columns: this far beside the deposit ... */
#define SIL_SIDE1_M 2.0e-3  /* ... to this far */

typedef struct sil_run {
   int ix0, ix1;  /* columns */
   int top, deep; /* shallowest deposit row, deepest lower edge */
   double bright; /* deposit mean above the lateral reference (dB) */
   double fade;   /* near band over deep band (dB): the reverberant echoes fading */
   double shadow; /* deep band against the lateral reference (dB) */
   int at_floor;  /* deep band and the tissue beside it at the display floor (sil_floor_band) */
} sil_run_t;

/* Mean smoothed level over rows [z0, z1) of columns [ix0, ix1] (step 2). */
static double sil_mean(const art_t *a, int z0, int z1, int ix0, int ix1)
{
   z0 = z0 < 0 ? 0 : z0, z1 = z1 > a->nz ? a->nz : z1;
   ix0 = ix0 < 0 ? 0 : ix0, ix1 = ix1 >= a->nx ? a->nx - 1 : ix1;
   double s = 0;
   int n = 0;
   for (int ix = ix0; ix <= ix1; ix += 2)
      for (int iz = z0; iz < z1; ++iz, ++n)
         s += a->sm[art_px(a, iz, ix)];
   return n ? s / n : NAN;
}

/* Level of rows [z0, z1) in the columns 0.5-2 mm beside columns [ix0, ix1]
 * (the lateral reference columns of A6; the row median fails under a
 * deposit wider than half the frame). */
static double sil_lateral(const art_t *a, int ix0, int ix1, int z0, int z1)
{
   int g = art_npx_x(a, SIL_SIDE0_M), w = art_npx_x(a, SIL_SIDE1_M);
   double l = ix0 - g >= 0 ? sil_mean(a, z0, z1, ix0 - w, ix0 - g) : NAN;
   double r = ix1 + g < a->nx ? sil_mean(a, z0, z1, ix1 + g, ix1 + w) : NAN;
   return isnan(l) ? r : isnan(r) ? l : 0.5 * (l + r);
}

static void sil_report(art_t *a, const sil_run_t *r, const int32_t *edge, uint8_t *in_dark)
{
   for (int ix = r->ix0; ix <= r->ix1; ++ix) /* taken: no second pass there */
      in_dark[ix] = 2;
   art_finding_t *f = art_add(a, K_REVERB, (float)(0.55 + 0.03 * fmin(10.0, r->fade - SIL_FADE_DB)));
   if (!f)
      return;
   /* sil_columns reads every second column */
   f->npoly = edge_band_polygon(a, edge, r->ix0, r->ix1, 2, r->deep + art_npx_z(a, SIL_TAIL_M), f->poly);
   snprintf(f->label, sizeof f->label, "Possible reverberation (dirty shadow)");
   f->dirty_shadow = 1;
   char into[64];
   if (r->at_floor)
      snprintf(into, sizeof into, "the display floor, as is the tissue beside it");
   else
      snprintf(into, sizeof into, "a shadow %.0f dB under the tissue beside it", -r->shadow);
   snprintf(f->basis, sizeof f->basis,
            "echogenic deposit %.0f dB above the tissue beside it at %.1f-%.1f mm, %.1f mm wide; echoes below it fade "
            "by %.0f dB over 2 mm into %s",
            r->bright, art_mm_z(a, r->top), art_mm_z(a, r->deep), (r->ix1 - r->ix0 + 1) * a->dx * 1e3, r->fade, into);
   snprintf(f->advice, sizeof f->advice,
            "Echoes deep to the deposit are reverberation, not anatomy; consistent with gas or oil (e.g. silicone); "
            "scan from another angle");
}

/* Per column (every second), the deepest run of pixels at or above thr[]
 * (the deposit): its lower edge into edge[], its top into top[], how the echoes under it
 * fade (near band over deep band) into fade[], the deep band's level into
 * shade[] and its rows' reference into rowlv[] (NAN when no deep band fits
 * above the dark bottom band). */
static void sil_columns(art_t *a, int dark, const float *thr, int32_t *edge, int32_t *top, float *fade, float *shade,
                        float *rowlv, uint8_t *in_dark)
{
   int n0 = art_npx_z(a, SIL_NEAR0_M), n1 = art_npx_z(a, SIL_NEAR1_M), thick = art_npx_z(a, 0.4e-3);
   int d0 = art_npx_z(a, SIL_DEEP0_M), d1 = art_npx_z(a, SIL_DEEP1_M), dmin = art_npx_z(a, 1.0e-3);
   int dlen = art_npx_z(a, 0.3e-3);
   for (int ix = 0; ix < a->nx; ix += 2) {
      edge[ix] = top[ix] = -1;
      fade[ix] = shade[ix] = rowlv[ix] = NAN;
      in_dark[ix] = 0;
      const float *c = a->sm + art_px(a, 0, ix);
      int e = -1, t = -1;
      /* the deepest bright run at least 0.4 mm thick */
      for (int iz = a->nz - 1; iz >= 0 && t < 0; --iz) {
         if (c[iz] < thr[iz])
            continue;
         int j = iz;
         while (j > 0 && c[j - 1] >= thr[j - 1])
            --j;
         if (iz - j >= thick)
            e = iz, t = j;
         iz = j;
      }
      if (e < 0)
         continue;
      /* the deep band stays above the dark bottom band (deep to bone),
       * moving up to 1 mm below the deposit when it must */
      int z0 = e + d0, z1 = e + d1 < dark ? e + d1 : dark;
      if (z1 - z0 < dlen)
         z0 = z1 - dlen > e + dmin ? z1 - dlen : e + dmin;
      if (z1 - z0 < dlen && dark < a->nz) {
         /* no room above the dark band: the reverberant echoes fade into
          * it, and the band from 1 mm below the deposit reads that fade
          * (no shadow can be measured there: see detect_dirty_reverb) */
         z0 = e + dmin;
         z1 = e + d1 < a->nz ? e + d1 : a->nz;
         in_dark[ix] = 1;
      }
      if (z1 - z0 < dlen)
         continue;
      double rows = 0;
      for (int iz = z0; iz < z1; ++iz)
         rows += a->rowref[iz];
      double deep = sil_mean(a, z0, z1, ix, ix);
      edge[ix] = e, top[ix] = t;
      fade[ix] = (float)(sil_mean(a, e + n0, e + n1, ix, ix) - deep);
      shade[ix] = (float)deep;
      rowlv[ix] = (float)(rows / (z1 - z0));
   }
}

/* First row of the dark bottom band (deep to bone, or past the depth of
 * penetration): rows whose median lies within the shadow drop of the display
 * floor down to the last row. That band is dark across the frame; a deposit
 * wider than half the frame darkens the rows' median with its own shadow
 * while the tissue beside it stays lit, and then there is no band (nz). A
 * band thinner than the gap to the deep band read under a deposit is kept:
 * it leaves that band room above it anyway. */
static int sil_dark_band(const art_t *a)
{
   float drop = (float)a->p[P_SHADOW_DROP_DB];
   int dark = a->nz;
   while (dark > 0 && a->rowref[dark - 1] - a->floor_db < drop)
      --dark;
   if (a->nz - dark < art_npx_z(a, SIL_DEEP0_M))
      return dark;
   int n = 0, lit = 0;
   for (int ix = 0; ix < a->nx; ix += 2, ++n)
      lit += sil_mean(a, dark, a->nz, ix, ix) - a->floor_db >= drop;
   return lit > (1.0 - a->p[P_SIL_DARK_SHARE]) * n ? a->nz : dark;
}

/* The deep band under the deposit of run r and the tissue beside it lie
 * within the shadow drop of the display floor (the dark bottom band, seen
 * locally: a deep deposit above the depth of penetration, or beside
 * another shadow): no shadow can be measured against tissue that is itself
 * at the floor, and the echoes fading into that band are what remains of
 * the dirty shadow. The tissue must be seen on both sides (sil_lateral's
 * columns in the frame): at the frame edge one side alone may be another
 * shadow. `beside` is the reference level, `shadow` the band against it
 * (dB). */
static int sil_floor_band(const art_t *a, const sil_run_t *r, double beside, double shadow)
{
   double drop = a->p[P_SHADOW_DROP_DB];
   int g = art_npx_x(a, SIL_SIDE0_M);
   return r->ix0 - g >= 0 && r->ix1 + g < a->nx && beside - a->floor_db < drop && beside + shadow - a->floor_db < drop;
}

/* The deep band of run r (`shadow` dB against the tissue level `beside`)
 * is the full shadow of a strongly attenuating deposit, as deep as the
 * display lets it go: sil_shadow_db under the tissue beside it, or within
 * sil_floor_db of the display floor (where that tissue is dimmer, no shadow
 * shows deeper than the floor). Silicone oil (-15 dB) reads -14 to -18 dB
 * against tissue 15-24 dB over the floor on training seeds 501-506, else its
 * band lies within 2.3 dB of the floor; diluted CaHA's partial shadow (-6
 * dB) under its bright band of foci reads -4.5 to -9 dB, its band 4-8 dB
 * over the floor (training 504 cases 17 and 20, 506 case 26). */
static int sil_full_shadow(const art_t *a, double beside, double shadow)
{
   if (!(shadow <= -SIL_SHADOW_DB))
      return 0;
   return shadow <= -a->p[P_SIL_SHADOW_DB] || beside + shadow - a->floor_db <= a->p[P_SIL_FLOOR_DB];
}

/* Run r joins run `into` (further left, within sil_join_m, their deposits
 * overlapping in depth): one deposit whose middle a shadow cast from above
 * hides, or whose dirty shadow fades less there; reported as one (its
 * halves, each an echo band of part of the deposit, matched the deposit's
 * reverberation no better than half of it: training 501 case 12). Runs at
 * depths apart are separate reflectors (training 502 case 4: bright runs
 * deep to a bone beside a deposit). The columns between them have no echo
 * band of their own. Levels are the width-weighted means. */
static void sil_join(sil_run_t *into, const sil_run_t *r, int32_t *edge)
{
   double wa = into->ix1 - into->ix0 + 1, wb = r->ix1 - r->ix0 + 1, w = wa + wb;
   for (int jx = into->ix1 + 1; jx < r->ix0; ++jx)
      edge[jx] = -1;
   into->bright = (into->bright * wa + r->bright * wb) / w;
   into->fade = (into->fade * wa + r->fade * wb) / w;
   into->shadow = (into->shadow * wa + r->shadow * wb) / w;
   into->at_floor = into->at_floor && r->at_floor;
   into->top = r->top < into->top ? r->top : into->top;
   into->deep = r->deep > into->deep ? r->deep : into->deep;
   into->ix1 = r->ix1;
}

/* A column of sil_columns that takes part in pass `pass` of sil_scan: its
 * echoes fade (>= SIL_FADE_DB - 2 dB) and its deep band was read above the
 * dark band (pass 0) or inside it (pass 1, columns beside pass 0's runs). */
static int sil_faded(const float *fade, const uint8_t *in_dark, int ix, int pass)
{
   return fade[ix] >= SIL_FADE_DB - 2.0f && in_dark[ix] == pass;
}

/* Runs of faded columns (sil_faded) under one deposit, joined across
 * (sil_join) and reported (sil_report), for one pass. */
static void sil_scan(art_t *a, int skin, int dark, int pass, int32_t *edge, const int32_t *top, const float *fade,
                     const float *shade, const float *rowlv, uint8_t *in_dark)
{
   int gap = art_npx_x(a, 0.4e-3), minw = art_npx_x(a, 0.8e-3), join = art_npx_x(a, a->p[P_SIL_JOIN_M]);
   sil_run_t held = {0, -1, 0, 0, 0, 0, 0, 0}; /* the last run found, reported once no run joins it */
   for (int ix = 0; ix < a->nx; ix += 2) {
      if (!sil_faded(fade, in_dark, ix, pass))
         continue;
      sil_run_t r = {ix, ix, a->nz, 0, 0, 0, 0, 0};
      int last = ix, n = 0;
      double dep = 0, rows = 0;
      for (int jx = ix; jx < a->nx && jx - last <= gap; jx += 2) {
         if (!sil_faded(fade, in_dark, jx, pass))
            continue;
         last = r.ix1 = jx;
         r.top = top[jx] < r.top ? top[jx] : r.top;
         r.deep = edge[jx] > r.deep ? edge[jx] : r.deep;
         r.fade += fade[jx];
         r.shadow += shade[jx];
         rows += rowlv[jx];
         dep += sil_mean(a, top[jx], edge[jx] + 1, jx, jx);
         ++n;
      }
      ix = r.ix1;
      if (r.ix1 - r.ix0 + 1 < minw || r.fade / n < SIL_FADE_DB)
         continue;
      for (int jx = r.ix0; jx <= r.ix1; jx += 2) /* gap columns take their neighbour's edge */
         if (!sil_faded(fade, in_dark, jx, pass))
            edge[jx] = -1;
      r.fade /= n;
      /* against the brighter of the columns beside it and the rows' median:
       * a lumen or another shadow may lie beside it, and a deposit wider
       * than half the frame makes its own rows' median */
      int b0 = r.deep + art_npx_z(a, SIL_DEEP0_M), b1 = r.deep + art_npx_z(a, SIL_DEEP1_M);
      b1 = b1 < dark ? b1 : dark;
      double lat = b1 - b0 >= art_npx_z(a, 0.3e-3) ? sil_lateral(a, r.ix0, r.ix1, b0, b1) : NAN;
      double beside = isnan(lat) ? rows / n : fmax(lat, rows / n);
      r.shadow = r.shadow / n - beside;
      /* in the skin's bright rows the dermis beside it is no tissue level:
       * there the deposit is read against the frame's tissue level when that
       * is lower (silicone is +18 dB over fat, the dermis itself brighter) */
      double side = sil_lateral(a, r.ix0, r.ix1, r.top, r.deep + 1);
      r.bright = dep / n - (r.deep < skin ? fmin(side, a->p50) : side);
      /* a deep band read inside the dark band shows no shadow of the
       * deposit's own: only the fade into the floor, with the tissue beside
       * at the floor too and seen on both sides, counts there */
      int full = !pass && sil_full_shadow(a, beside, r.shadow);
      r.at_floor = (pass || !(r.shadow <= -SIL_SHADOW_DB)) && sil_floor_band(a, &r, beside, r.shadow);
      if (!(r.bright >= SIL_DEPOSIT_DB) || !(full || r.at_floor))
         continue;
      if (held.ix1 >= 0 && r.ix0 - held.ix1 <= join && r.top <= held.deep && held.top <= r.deep) {
         sil_join(&held, &r, edge);
         continue;
      }
      if (held.ix1 >= 0)
         sil_report(a, &held, edge, in_dark);
      held = r;
   }
   if (held.ix1 >= 0)
      sil_report(a, &held, edge, in_dark);
}

/* Silicone oil (§7.3: +18 dB diffuse, dirty shadow plus reverberation):
 * under an echogenic deposit (>= SIL_BRIGHT_DB over the frame's tissue
 * level, >= 0.4 mm thick) echoes fill the first half millimetre and fade
 * (>= SIL_FADE_DB down to 1.5-2.5 mm below it) into a full shadow
 * (sil_full_shadow against the columns beside it, or into the display floor where
 * the tissue beside it lies at the floor too: sil_floor_band), over >= 0.8
 * mm of width. A calcific deposit (CaHA) has a clean shadow from its lower
 * edge and no fade; the dermis has fat, not a shadow, below it. Region: from the
 * deposit's lower edge to SIL_TAIL_M below its deepest point. A deposit
 * whose deep band does not fit above the dark bottom band (just above a
 * bone line) has it read 1 mm below it, inside that band, where only the
 * fade into the display floor counts (sil_scan's second pass). */
static void detect_dirty_reverb(art_t *a)
{
   int dark = sil_dark_band(a);
   /* the skin's bright layers (entry echo, dermis) span the frame: there a
    * deposit stands out from its own rows; deeper down from the tissue level
    * (the lesser of the row and frame medians, so that a deposit wider than
    * half the frame still stands out) */
   int skin = 0;
   while (skin < a->nz && a->rowref[skin] < a->p50 + 6.0f)
      ++skin;
   while (skin < a->nz && a->rowref[skin] >= a->p50 + 6.0f)
      ++skin;
   float *thr = a->col;
   for (int iz = 0; iz < a->nz; ++iz)
      thr[iz] = iz < skin ? a->rowref[iz] + 4.0f : (a->rowref[iz] < a->p50 ? a->rowref[iz] : a->p50) + SIL_BRIGHT_DB;
   int32_t *edge = a->stack, *top = a->stack + a->nx; /* scratch: no flood fill runs here */
   float *fade = a->tmp, *shade = a->tmp + a->nx, *rowlv = a->tmp + 2 * a->nx; /* tmp is free until the chains */
   uint8_t *in_dark = (uint8_t *)(a->tmp + 3 * a->nx);
   sil_columns(a, dark, thr, edge, top, fade, shade, rowlv, in_dark);
   /* first the columns whose deep band lies above the dark band; then,
    * beside what they found, the columns whose band had to be read inside
    * it (the deposit just above a bone line or the depth of penetration) */
   sil_scan(a, skin, dark, 0, edge, top, fade, shade, rowlv, in_dark);
   sil_scan(a, skin, dark, 1, edge, top, fade, shade, rowlv, in_dark);
}

/* ---- reverberation under a plate: the reflector's own columns ---- */

#define REVERB_MAX_LAG_M 1.1e-3 /* copies of a plate are 0.4-1 mm apart */
#define PLATE_MAX 8          /* plate candidates examined per frame (the brightest) */
#define PLATE_MAX_COPIES 6
#define PLATE_THICK_M 0.5e-3 /* a plate line is thin; a thicker bright band is a layer */
#define PLATE_GAP_M 0.3e-3   /* lateral reference columns: this far beside the plate ... */
#define PLATE_SIDE_M 1.0e-3  /* ... and this wide */
#define PLATE_SIDE_MIN_M 0.5e-3 /* (at least this wide at the frame edge) */
#define PLATE_MIN_WIDTH_M 0.8e-3 /* specular: five beam widths and more */
#define PLATE_STEP_DB 2.0f   /* mean fade per copy, as for the chains */
#define PLATE_DIP 0.5f       /* between copies the level falls half way to the tissue beside */

typedef struct plate {
   int ix0, ix1, iz;  /* columns, reflector row */
   int lag, copies;   /* rows between copies, copies found */
   float bright;      /* reflector on the 0.5 mm lateral mean over the row reference (dB) */
   float refl, last;  /* reflector and last copy: contrast over the columns beside (dB) */
   float fade;        /* reflector level over the last copy's (dB) */
} plate_t;

/* Mean level of row iz over columns [ix0, ix1], from samples of the
 * 3-column mean one kernel apart (the kernels tile the span; the last one
 * is set against its end): a third of the reads of a per-column mean. */
static float span_mean(const art_t *a, int iz, int ix0, int ix1)
{
   const float *l = a->lat + art_px(a, iz, 0);
   float s = 0;
   int n = 0, c = ix0 + 1;
   for (; c + 1 <= ix1; c += 3, ++n)
      s += l[c * (ptrdiff_t)a->nz];
   if (c - 1 <= ix1) /* the columns left over: one more kernel ending at ix1 */
      s += l[(ix1 - 1 > ix0 ? ix1 - 1 : ix1) * (ptrdiff_t)a->nz], ++n;
   return s / (float)n;
}

/* Level of row iz in the plate's columns over the columns beside them (the
 * lateral reference of A6, on both sides: a copy of the plate is as wide as
 * the plate, an anatomical layer runs on beside it, and one side alone at
 * the frame edge is darkened by the beam's roll-off). NAN when a side has
 * less than PLATE_SIDE_MIN_M of columns in the frame. */
static float plate_contrast(const art_t *a, int iz, int ix0, int ix1, float *in_level)
{
   int g = art_npx_x(a, PLATE_GAP_M), w = art_npx_x(a, PLATE_SIDE_M), wmin = art_npx_x(a, PLATE_SIDE_MIN_M);
   int l0 = ix0 - g - w < 0 ? 0 : ix0 - g - w, r1 = ix1 + g + w >= a->nx ? a->nx - 1 : ix1 + g + w;
   *in_level = span_mean(a, iz, ix0, ix1);
   if (ix0 - g - l0 < wmin || r1 - (ix1 + g) < wmin)
      return NAN;
   /* against the brighter side: a shadow or a lumen may lie on the other */
   return *in_level - fmaxf(span_mean(a, iz, l0, ix0 - g), span_mean(a, iz, ix1 + g, r1));
}

/* Row of the strongest contrast within +-tol of row z (-1 outside the frame). */
static int plate_peak(const art_t *a, const float *prof, int z, int tol)
{
   int best = -1;
   for (int j = z - tol; j <= z + tol; ++j)
      if (j >= 0 && j < a->nz && !isnan(prof[j]) && (best < 0 || prof[j] > prof[best]))
         best = j;
   return best;
}

/* Copies of a plate at lag L: each a peak of the contrast profile at k*L
 * (+-1 row) at least copy_db over the columns beside, with a dip of >= 3
 * dB before it (separate lines, not one bright band), and in level no
 * brighter than the echo before + 1 dB (the reflector itself may clip at
 * the top of the display range; the columns beside may be brighter at its
 * depth than deeper down, so the fade is read on the level itself). */
static int plate_copies(const art_t *a, const float *prof, const float *level, int iz, int lag, float copy_db, float *last,
                        float *last_level)
{
   int n = 0, prev = iz;
   float before = level[iz];
   *last = prof[iz];
   for (int k = 1; k <= PLATE_MAX_COPIES; ++k) {
      int z = plate_peak(a, prof, prev + lag, 1);
      if (z < 0 || prof[z] < copy_db || level[z] > before + 1.0f)
         break;
      float dip = prof[z];
      for (int j = prev + 2; j <= z - 2; ++j)
         dip = fminf(dip, prof[j]);
      if (prof[z] - dip < fmaxf(3.0f, PLATE_DIP * prof[z]))
         break;
      *last = prof[z];
      *last_level = before = level[z];
      prev = z;
      ++n;
   }
   return n;
}

/* Thin bright segments on the 0.5 mm lateral mean (a plate, laterally
 * extended), as wide as reverb chains must be and narrower than half the
 * frame (the row reference holds); the brightest PLATE_MAX. */
static int plate_candidates(art_t *a, plate_t *out)
{
   float thr = (float)a->p[P_REFLECTOR_DB];
   const float *restrict ref = a->rowref;
   const int nz = a->nz; /* locals and restrict: the loop vectorises */
   for (int ix = 0; ix < a->nx; ++ix) {
      const float *restrict w = a->wide + art_px(a, 0, ix);
      uint8_t *restrict m = a->mask + art_px(a, 0, ix);
      for (int iz = 0; iz < nz; ++iz)
         m[iz] = w[iz] - ref[iz] >= thr;
   }
   art_components(a, a->mask, 6);
   int n = 0, minw = art_npx_x(a, PLATE_MIN_WIDTH_M), thick = art_npx_z(a, PLATE_THICK_M);
   for (int k = 0; k < a->ncomps; ++k) {
      const art_comp_t *c = &a->comps[k];
      int w = c->ix1 - c->ix0 + 1;
      if (w < minw || 2 * w > a->nx || c->iz1 - c->iz0 + 1 > thick)
         continue;
      /* the reflector row: the brightest row of the segment's columns */
      int iz = c->iz0;
      for (int jz = c->iz0; jz <= c->iz1; ++jz)
         iz = span_mean(a, jz, c->ix0, c->ix1) > span_mean(a, iz, c->ix0, c->ix1) ? jz : iz;
      plate_t p = {c->ix0, c->ix1, iz, 0, 0, span_mean(a, iz, c->ix0, c->ix1) - a->rowref[iz], 0, 0, 0};
      int at = brightest_slot(out, sizeof *out, offsetof(plate_t, bright), &n, PLATE_MAX, p.bright);
      if (at >= 0)
         out[at] = p;
   }
   return n;
}

/* Region: the plate's columns from the reflector to one lag below the last
 * copy seen (the next, fainter copy still adds to the speckle there). */
static void plate_report(art_t *a, const plate_t *p)
{
   int z0 = p->iz - p->lag / 4, z1 = p->iz + (p->copies + 1) * p->lag;
   z0 = z0 < 0 ? 0 : z0, z1 = z1 < a->nz ? z1 : a->nz - 1;
   art_finding_t *f = art_add(a, K_REVERB, (float)(0.6 + 0.08 * fmin(4.0, p->copies - 1.0)));
   if (!f)
      return;
   f->npoly = art_rect_polygon(a, z0, z1, p->ix0, p->ix1, f->poly);
   snprintf(f->label, sizeof f->label, "Possible reverberation artefact");
   snprintf(f->basis, sizeof f->basis,
            "reflector %.1f mm wide at %.1f mm, %.0f dB above the tissue beside it, repeated %d times every %.2f mm in "
            "its own columns, fading to %.0f dB above the tissue beside them",
            (p->ix1 - p->ix0 + 1) * a->dx * 1e3, art_mm_z(a, p->iz), p->refl, p->copies, p->lag * a->dz * 1e3, p->last);
   snprintf(f->advice, sizeof f->advice,
            "Change the probe angle or pressure; echoes below the reflector are repeats, not anatomy");
}

/* A plate (A6): a strong laterally extended reflector followed, in its own
 * columns, by >= 2 equally spaced copies that fade and stand above the
 * columns beside it. Fast-fading plates show only two copies above the
 * speckle; averaging the plate's columns lifts them out of it. */
static void detect_plates(art_t *a, int min_lag, int max_lag)
{
   plate_t cand[PLATE_MAX];
   int n = plate_candidates(a, cand);
   for (int i = 1; i < n; ++i) /* shallowest first: a plate before its copies */
      for (int j = i; j > 0 && cand[j].iz < cand[j - 1].iz; --j) {
         plate_t t = cand[j];
         cand[j] = cand[j - 1], cand[j - 1] = t;
      }
   float *prof = a->col, *level = a->col + a->nz; /* col holds 4 * max(nz, nx) floats */
   float copy_db = 2.0f * (float)a->p[P_REVERB_PEAK_DB];
   for (int k = 0; k < n; ++k) {
      plate_t *p = &cand[k];
      int z1 = p->iz + (PLATE_MAX_COPIES + 1) * max_lag;
      z1 = z1 < a->nz ? z1 : a->nz - 1;
      /* a copy of a reported plate is no plate of its own; a weak one none */
      prof[p->iz] = plate_contrast(a, p->iz, p->ix0, p->ix1, &level[p->iz]);
      if (!(prof[p->iz] >= (float)a->p[P_REVERB_PLATE_DB]) || in_kind_box(a, K_REVERB, p->iz, (p->ix0 + p->ix1) / 2))
         continue;
      for (int iz = p->iz + 1; iz <= z1; ++iz)
         prof[iz] = plate_contrast(a, iz, p->ix0, p->ix1, &level[iz]);
      for (int lag = min_lag; lag <= max_lag; ++lag) {
         float last, last_level = 0;
         int c = plate_copies(a, prof, level, p->iz, lag, copy_db, &last, &last_level);
         if (c > p->copies || (c == p->copies && c > 0 && last > p->last))
            p->copies = c, p->lag = lag, p->last = last, p->fade = level[p->iz] - last_level;
      }
      p->refl = prof[p->iz];
      /* decaying copies: >= PLATE_STEP_DB per copy in level on the whole (an
       * enhanced band under a capsule or a fibrillar layer keeps its level) */
      if (p->copies >= (int)a->p[P_REVERB_PLATE_COPIES] && p->fade >= PLATE_STEP_DB * (float)p->copies)
         plate_report(a, p);
   }
}

void art_detect_reverberation(art_t *a)
{
   detect_dirty_reverb(a);
   int comet_lag = art_npx_z(a, a->p[P_COMET_MAX_LAG_M]);
   detect_plates(a, comet_lag + 1, art_npx_z(a, REVERB_MAX_LAG_M));
   /* reverberation: laterally extended lines, seen on the 0.5 mm lateral mean */
   /* speckle on the 0.5 mm mean rarely stands 2 x reverb_peak_db above its
    * row; copies of a specular plate do, and are 0.4-1 mm apart */
   chain_rule_t rev = {a->wide, comet_lag + 1, art_npx_z(a, REVERB_MAX_LAG_M), 2.0f, (float)a->p[P_REFLECTOR_DB], 0, 1,
                       2.0f * (float)a->p[P_REVERB_PEAK_DB]};
   mark_chains(a, &rev, 2); /* the 0.5 mm lateral mean: neighbouring columns agree */
   art_components(a, a->mask, 6);
   merge_near(a, art_npx_x(a, 0.3e-3), art_npx_z(a, 0.3e-3));
   report_chains(a, K_REVERB, art_npx_x(a, 0.5e-3));
   detect_comets(a, comet_lag);
}

/* ---- shadow and posterior enhancement --------------------------------------- */

#define DIRTY_MAX_GAP_M 2.0e-3 /* echo-filled gap between a reflector and its shadow */
#define DIRTY_MIN_GAP_M 0.5e-3 /* gap from which the echoes are reported as reverberation */
#define DIRTY_TAIL_M 3.0e-3    /* depth over which the reverberant echoes are reported */

/* A reflector pixel: reflector_db over its row reference in the 3-column
 * mean and in the frame's top 5 %. Both tests are taken and combined with
 * `&`: a single well-predicted branch per pixel instead of a second one
 * on the speckle's level. */
static int reflector_px(const art_t *a, int iz, int ix)
{
   float v = a->lat[art_px(a, iz, ix)];
   return (v - a->rowref[iz] >= (float)a->p[P_REFLECTOR_DB]) & (v >= a->p95);
}

/* A dark run of column ix ending at row `end` reaches the frame bottom:
 * it ends within `gap` rows of it and no echo at the row reference level or
 * above returns beneath it (an oblique lumen under its near wall ends at
 * its far wall, tissue-bright, just above the bottom: a shadow stays dark). */
static int to_bottom(const art_t *a, int ix, int end, int gap)
{
   if (end < a->nz - 1 - gap)
      return 0;
   for (int iz = end + 1; iz < a->nz; ++iz)
      if (dsm(a, iz, ix) >= 0.0f)
         return 0;
   return 1;
}

/* Marks the shadow run of column ix below each reflector. Returns the number
 * of marked pixels. */
static int shadow_column(art_t *a, int ix, float drop, int min_run, int gap, float *refl_z, float *dirt,
                         float *deep)
{
   /* reverberant echoes under a gas-like or oily reflector (silicone) fill
    * up to about a millimetre before the shadow sets in: a dirty shadow */
   int far_gap = art_npx_z(a, DIRTY_MAX_GAP_M);
   int marked = 0, refl = -1, from = -1;
   for (int iz = 1; iz < a->nz; ++iz) {
      if (reflector_px(a, iz, ix)) {
         refl = from = iz;
         continue;
      }
      if (refl < 0 || iz - from > far_gap || dsm(a, iz, ix) > -drop)
         continue;
      /* down to the bone line or the dark bottom band: the bone's own
       * shadow is anechoic across the frame too, and a mirror image may lie
       * under it */
      int end = iz, miss = 0, lumen_end = a->colz[ix] >= 0 ? a->colz[ix] : a->dark_row;
      for (int jz = iz; jz < a->nz; ++jz) {
         if (dsm(a, jz, ix) <= -drop) {
            end = jz;
            miss = 0;
         } else if (jz < lumen_end && a->rowref[jz] - a->floor_db < (float)a->p[P_SHADOW_LUMEN_DB]) {
            /* a band anechoic across the frame (a lumen crossing it):
             * nothing falls below its row reference, so it neither ends the
             * shadow nor extends it; the shadow goes on if it resumes below.
             * (A hypoechoic band keeps echoes a few dB over the floor and is
             * read as tissue.) */
            miss = 0;
         } else if (++miss > gap / 2) {
            break;
         }
      }
      /* a shadow that runs into the bone shadow continues to the bottom;
       * under a deposit the bone line itself may be shadowed, so the dark
       * rows deep to it (nothing can fall below their row reference) count
       * as the bottom too */
      int bottom = a->colz[ix] >= 0 ? a->colz[ix] : a->dark_row - 1;
      int into_bone = (a->colz[ix] >= 0 || a->dark_row < a->nz) && end >= bottom - 2 * gap;
      int deep_enough = end - iz + 1 >= min_run &&
                        (to_bottom(a, ix, end, gap) || into_bone || end - iz + 1 >= 3 * min_run);
      if (deep_enough) {
         /* a shadow from above the bone line (or the dark band) is its own
          * instance: its mask stops short of the bone shadow so the two stay
          * apart, and its region is extended to the frame bottom later */
         if (into_bone && iz < bottom - 2 * gap) {
            end = bottom - gap;
            deep[ix] = 1;
         } else if (into_bone) {
            end = a->nz - 1;
         }
         for (int jz = refl + 1; jz <= end; ++jz)
            a->mask[art_px(a, jz, ix)] = 1;
         refl_z[ix] = (float)refl;
         /* echoes fill the gap only when no dark run broke it */
         dirt[ix] = (float)(from == refl && iz - refl > gap ? iz - refl : 0);
         marked += end - refl;
         refl = -1;
      }
      /* a dark run too short to be the shadow (its onset broken by
       * speckle, or a lumen under the reflector whose wall interrupts the
       * dark path) leaves the reflector in charge of a dark run starting
       * within far_gap of its end */
      iz = from = end;
   }
   return marked;
}

/* Mean level (dB re the row reference) of rows [z0, z1) of column ix,
 * leaving out anechoic pixels (10 dB and more under the reference: a lumen
 * crossing the column) and rows dark across the frame (reference within
 * `drop` of the display floor); NAN when fewer than a quarter of the rows
 * count. */
static double column_level(const art_t *a, int ix, int z0, int z1, float drop)
{
   double s = 0;
   int n = 0;
   for (int iz = z0; iz < z1; ++iz) { /* branch-free: the test falls on speckle */
      float d = dsm(a, iz, ix);
      int in = (d > -10.0f) & (a->rowref[iz] - a->floor_db >= drop);
      s += in ? (double)d : 0.0; /* s is never -0, so adding +0 leaves it as it was */
      n += in;
   }
   return 4 * n >= z1 - z0 && n > 0 ? s / n : NAN;
}

/* Partial shadow (a weakly attenuating deposit, e.g. diluted CaHA, -6 dB):
 * its column sits a few dB under the row reference all the way down, so
 * speckle keeps crossing the shadow drop and no dark run is sustained.
 * Under the deepest reflector of column ix with at least 2 * min_run rows
 * beneath it (to the bone line or the dark bottom band, else the frame
 * bottom), the mean level of the upper and of the lower half of that band,
 * from `gap` under the reflector: the loss must run along the beam to
 * depth, which a hypoechoic structure under the reflector (a deposit, a fat
 * lobule, a lumen) does not. Returns the lesser loss of the two halves (dB
 * re the row reference, NAN when not measured) and the reflector row. */
static float partial_shadow_level(const art_t *a, int ix, float drop, int min_run, int gap, int *refl)
{
   int bottom = a->colz[ix] >= 0 ? a->colz[ix] : a->dark_row;
   *refl = -1;
   for (int iz = bottom - 2 * min_run - 1; iz > 0 && *refl < 0; --iz)
      if (reflector_px(a, iz, ix))
         *refl = iz;
   if (*refl < 0)
      return NAN;
   int z0 = *refl + gap, mid = (z0 + bottom) / 2;
   double up = column_level(a, ix, z0, mid, drop);
   if (isnan(up) || up > -a->p[P_SHADOW_PARTIAL_DB]) /* most columns: the lower half need not be read */
      return NAN;
   double down = column_level(a, ix, mid, bottom, drop);
   return isnan(down) ? NAN : (float)fmax(up, down); /* both halves measured */
}

/* Marks column ix (and the next, which carries the same profile) as shadow
 * from under reflector row `refl` to the bone line or dark band, else the
 * frame bottom. */
static void mark_partial_shadow(art_t *a, int ix, int refl, int gap, float *refl_z, float *deep)
{
   int bottom = a->colz[ix] >= 0 ? a->colz[ix] : a->dark_row;
   int end = bottom < a->nz ? bottom - gap : a->nz - 1;
   for (int jx = ix; jx <= ix + 1 && jx < a->nx; ++jx) {
      deep[jx] = bottom < a->nz;
      for (int jz = refl + 1; jz <= end; ++jz)
         a->mask[art_px(a, jz, jx)] = 1;
      refl_z[jx] = (float)refl;
   }
}

/* Partial shadows over the analysed columns without a shadow: a column
 * whose loss (partial_shadow_level, in lvl[]) reaches shadow_partial_db is
 * marked (and flagged in part[]). */
static void partial_shadows(art_t *a, const float *lvl, const int32_t *prefl, int gap, float *refl_z, float *deep,
                            float *part)
{
   float lim = -(float)a->p[P_SHADOW_PARTIAL_DB];
   for (int ix = 0; ix < a->nx; ix += 2)
      if (refl_z[ix] < 0 && lvl[ix] <= lim) {
         mark_partial_shadow(a, ix, prefl[ix], gap, refl_z, deep);
         part[ix] = part[ix + (ix + 1 < a->nx)] = 1;
      }
}

/* A shadow found mostly (over half its columns) by the partial-shadow rule
 * that reaches a side of the frame: a loss of a few dB is told from the
 * tissue's own lateral variation (a fibrillar layer darker where its fibres
 * turn from the beam, anisotropy) only against lit tissue on both sides. */
static int partial_at_side(const art_t *a, const art_comp_t *c, const float *part)
{
   int n = 0;
   for (int ix = c->ix0; ix <= c->ix1; ++ix)
      n += part[ix] > 0;
   return 2 * n > c->ix1 - c->ix0 + 1 && (c->ix0 <= 1 || c->ix1 >= a->nx - 2);
}

static int reflector_row(const art_comp_t *c, const float *refl_z)
{
   double s = 0;
   int n = 0;
   for (int ix = c->ix0; ix <= c->ix1; ++ix)
      if (refl_z[ix] >= 0) {
         s += refl_z[ix];
         ++n;
      }
   return n ? (int)(s / n + 0.5) : c->iz0;
}

/* Mean echo-filled gap (pixels) between the reflector and the shadow over
 * the component's columns. */
static double comp_dirt(const art_comp_t *c, const float *refl_z, const float *dirt)
{
   double s = 0;
   int n = 0;
   for (int ix = c->ix0; ix <= c->ix1; ++ix)
      if (refl_z[ix] >= 0) {
         s += dirt[ix];
         ++n;
      }
   return n ? s / n : 0;
}

/* Reverberation of a dirty shadow: the band from the reflector surface to
 * DIRTY_TAIL_M below its deepest point, over which the reverberant echoes
 * fade. */
static void report_dirt(art_t *a, const art_comp_t *c, const float *refl_z, double dirt_m)
{
   art_finding_t *f = art_add(a, K_REVERB, (float)(0.55 + 0.2 * fmin(1.0, dirt_m / 1.0e-3)));
   if (!f)
      return;
   int32_t *edge = a->stack; /* free until art_comp_polygon */
   int deep = 0;
   for (int ix = c->ix0; ix <= c->ix1; ++ix) {
      edge[ix] = refl_z[ix] >= 0 ? (int32_t)lroundf(refl_z[ix]) : -1;
      deep = edge[ix] > deep ? edge[ix] : deep;
   }
   f->npoly = edge_band_polygon(a, edge, c->ix0, c->ix1, 1, deep + art_npx_z(a, DIRTY_TAIL_M), f->poly);
   snprintf(f->label, sizeof f->label, "Possible reverberation (dirty shadow)");
   f->dirty_shadow = 1;
   snprintf(f->basis, sizeof f->basis,
            "echo-filled band %.1f mm deep between a bright reflector at %.1f mm and the shadow below it, over "
            "%.1f mm width",
            dirt_m * 1e3, art_mm_z(a, deep), (c->ix1 - c->ix0 + 1) * a->dx * 1e3);
   snprintf(f->advice, sizeof f->advice,
            "Echoes deep to the reflector are reverberation, not anatomy; consistent with gas or oil (e.g. silicone); "
            "scan from another angle");
}

/* Bright foci inside an echogenic deposit (silicone snowstorm) break its
 * dirty shadow in a few columns: a column without a shadow between two
 * dirty-shadow columns at most `span` apart takes the rows both share. */
static void close_shadow_gaps(art_t *a, int span, float *refl_z, float *dirt, float *deep)
{
   int left = -1;
   for (int ix = 0; ix < a->nx; ++ix) {
      if (refl_z[ix] < 0)
         continue;
      if (left >= 0 && ix - left > 1 && ix - left <= span && dirt[left] > 0 && dirt[ix] > 0)
         for (int jx = left + 1; jx < ix; ++jx) {
            const uint8_t *l = a->mask + art_px(a, 0, left), *r = a->mask + art_px(a, 0, ix);
            uint8_t *m = a->mask + art_px(a, 0, jx);
            for (int iz = 0; iz < a->nz; ++iz)
               m[iz] = l[iz] & r[iz];
            refl_z[jx] = 0.5f * (refl_z[left] + refl_z[ix]);
            dirt[jx] = fminf(dirt[left], dirt[ix]);
            deep[jx] = fminf(deep[left], deep[ix]);
         }
      left = ix;
   }
}

/* A shadow whose columns run into the bone shadow or the dark bottom band
 * reaches the frame bottom: its lower edge moves there. The mask of each
 * column stops 0.4 mm above its own bone row, so the lower edge follows
 * the bone line's undulation: all of it moves (the second half of the
 * points of art_comp_polygon's region), not only its deepest points. */
static void extend_to_bottom(const art_t *a, const art_comp_t *c, const float *deep, art_finding_t *f)
{
   int n = 0;
   for (int ix = c->ix0; ix <= c->ix1; ++ix)
      n += deep[ix] > 0;
   if (2 * n < c->ix1 - c->ix0 + 1)
      return;
   double zend = a->z0 + (a->nz - 1) * a->dz;
   for (uint32_t j = f->npoly / 2; j < f->npoly; ++j)
      f->poly[j].z_m = zend;
}

/* Lateral extent (x_m) of finding f. */
static void finding_span(const art_finding_t *f, double *xl, double *xr)
{
   *xl = 1e9, *xr = -1e9;
   for (uint32_t j = 0; j < f->npoly; ++j) {
      *xl = fmin(*xl, f->poly[j].x_m);
      *xr = fmax(*xr, f->poly[j].x_m);
   }
}

/* The reverberation of an echogenic deposit (silicone: detect_dirty_reverb)
 * is only reported where its echoes fade into a shadow under it, or into
 * the display floor: that shadow is as wide as the deposit and runs from its
 * lower edge to the bottom of the image. Its shadow columns, measured one by
 * one, break up at the bright foci and reverberant echoes of the deposit
 * (or under-reach its width), so the deposit's own region gives the shadow:
 * its lower edge (the reverberation band's top edge) down to the frame
 * bottom. Returns the number of such shadows; their spans go to span[]. */
static int deposit_shadows(art_t *a, int nrev, double (*span)[2], int cap)
{
   int n = 0;
   double zend = a->z0 + (a->nz - 1) * a->dz;
   for (int i = 0; i < nrev && n < cap; ++i) {
      const art_finding_t *r = &a->found[i];
      if (r->kind != K_REVERB || r->npoly < 4 || !r->dirty_shadow)
         continue;
      art_finding_t *f = art_add(a, K_SHADOW, (float)fmin(0.9, r->confidence + 0.1));
      if (!f)
         return n;
      f->npoly = r->npoly;
      memcpy(f->poly, r->poly, r->npoly * sizeof f->poly[0]);
      f->poly[f->npoly - 1].z_m = f->poly[f->npoly - 2].z_m = zend;
      finding_span(f, &span[n][0], &span[n][1]);
      snprintf(f->attr_key, sizeof f->attr_key, "type");
      snprintf(f->attr_value, sizeof f->attr_value, "dirty");
      snprintf(f->label, sizeof f->label, "Acoustic shadow (dirty)");
      snprintf(f->advice, sizeof f->advice,
               "Structures deep to the deposit are not imaged; scan from another angle to see beneath it");
      ++n;
   }
   return n;
}

/* Component c lies mostly (>= half its width) in the columns of one of the
 * deposit shadows: it is a piece of that shadow, which takes in its width
 * (the deposit's thin rim is left out of the deposit's region, not out of
 * its shadow). */
static int within_deposit_shadow(const art_t *a, const art_comp_t *c, double (*span)[2], double (*wide)[2], int n)
{
   double xl = a->x0 + c->ix0 * a->dx, xr = a->x0 + c->ix1 * a->dx;
   for (int i = 0; i < n; ++i)
      if (fmin(xr, span[i][1]) - fmax(xl, span[i][0]) >= 0.5 * (xr - xl)) {
         wide[i][0] = fmin(wide[i][0], xl);
         wide[i][1] = fmax(wide[i][1], xr);
         return 1;
      }
   return 0;
}

/* Widens deposit shadow f to [xl, xr] (its outermost edge points and
 * bottom corners move out) and writes its basis. */
static void widen_shadow(art_finding_t *f, double xl, double xr)
{
   uint32_t n = f->npoly;
   if (xl < f->poly[0].x_m)
      f->poly[0].x_m = f->poly[n - 1].x_m = xl;
   if (xr > f->poly[n - 3].x_m)
      f->poly[n - 3].x_m = f->poly[n - 2].x_m = xr;
   double top = f->poly[n - 1].z_m;
   for (uint32_t j = 0; j + 2 < n; ++j)
      top = fmin(top, f->poly[j].z_m);
   snprintf(f->basis, sizeof f->basis,
            "shadow with reverberant echoes deep to an echogenic deposit, %.1f mm wide, from %.1f mm to the bottom "
            "of the image",
            (f->poly[n - 2].x_m - f->poly[n - 1].x_m) * 1e3, top * 1e3);
}

static int overlaps_kind(const art_t *a, art_kind_t k, const art_comp_t *c)
{
   double xl = a->x0 + c->ix0 * a->dx, xr = a->x0 + c->ix1 * a->dx;
   for (int i = 0; i < a->nfound; ++i) {
      if (a->found[i].kind != k || !a->found[i].npoly)
         continue;
      double fl, fr;
      finding_span(&a->found[i], &fl, &fr);
      if (fl < xr && fr > xl)
         return 1;
   }
   return 0;
}

/* Mean level (display dB) of rows [z0, z1] of columns [ix0, ix1], leaving
 * out anechoic pixels and bright foci (a lumen or deposit in the band):
 * pixels more than 10 dB from their row reference, pixels of the anechoic
 * mask (mask2), and whole rows whose reference lies within 6 dB of the
 * display floor (a lumen spanning most of the row sets that reference, so
 * its pixels pass the first test on both sides and dilute the rise);
 * *n receives the pixel count. */
static double band_level(const art_t *a, int z0, int z1, int ix0, int ix1, int *n)
{
   double s = 0;
   *n = 0;
   ix0 = ix0 < 0 ? 0 : ix0;
   ix1 = ix1 >= a->nx ? a->nx - 1 : ix1;
   z1 = z1 >= a->nz ? a->nz - 1 : z1;
   for (int ix = ix0; ix <= ix1; ++ix)
      for (int iz = z0; iz <= z1; ++iz) {
         float v = a->sm[art_px(a, iz, ix)], d = v - a->rowref[iz];
         if (d > -10.0f && d < 10.0f && a->rowref[iz] - a->floor_db >= 6.0f && !a->mask2[art_px(a, iz, ix)]) {
            s += v;
            ++*n;
         }
      }
   return *n ? s / *n : 0;
}

/* Posterior enhancement (A6): deep to an anechoic region (>= 0.3 mm wide,
 * >= 0.1 mm2, <= -12 dB re its rows), the band from 0.25 mm to
 * enhancement_min_depth_m + 2 mm below it (or to the frame bottom, when at
 * least enhancement_min_band_m is left) stands >= enhancement_rise_db above
 * the same rows over 1.25 mm to either side, from enhancement_flank_m beside
 * the region: the structure's blurred edge lies outside the anechoic
 * region, and its enhanced column is as wide as the structure, so tissue
 * read closer takes in part of the column. A lumen (no low-attenuation
 * path) shows no such rise. The region runs from the anechoic region's
 * lower edge to the frame bottom. */
static void detect_enhancement(art_t *a)
{
   /* per row: the level at or under which a pixel is anechoic (rows near the
    * display floor have none) */
   float *thr = a->col;
   for (int iz = 0; iz < a->nz; ++iz) {
      float ref = a->rowref[iz], anechoic = fminf(12.0f, ref - a->floor_db - 1.5f);
      thr[iz] = anechoic > 3.0f ? ref - anechoic : -1e30f;
   }
   const int nz = a->nz; /* a local: the byte stores could alias a->nz, which kept the loop scalar */
   for (int ix = 0; ix < a->nx; ++ix) {
      const float *restrict c = a->sm + art_px(a, 0, ix), *restrict t = thr;
      uint8_t *restrict m = a->mask2 + art_px(a, 0, ix);
      for (int iz = 0; iz < nz; ++iz)
         m[iz] = c[iz] <= t[iz];
   }
   int n = art_components(a, a->mask2, (int)(0.1e-6 / (a->dx * a->dz)));
   int off = art_npx_x(a, 0.25e-3), below = art_npx_z(a, 0.25e-3);
   int gap = art_npx_x(a, a->p[P_ENH_FLANK_M]), flank = gap + art_npx_x(a, 1.25e-3);
   int min_band = art_npx_z(a, a->p[P_ENH_MIN_BAND_M]);
   int depth = art_npx_z(a, a->p[P_ENH_MIN_DEPTH_M] + 2.0e-3);
   /* a lumen or shadow crossing the frame has no flanks; a string of pearls
    * is one deposit, its columns share one enhancement */
   for (int k = 0; k < n; ++k)
      if (a->comps[k].ix0 - off <= 0 || a->comps[k].ix1 + off >= a->nx - 1)
         a->comps[k].count = 0;
   merge_near(a, art_npx_x(a, 0.6e-3), art_npx_z(a, 0.3e-3));
   for (int k = 0; k < n; ++k) {
      const art_comp_t *c = &a->comps[k];
      if (!c->count)
         continue;
      if (c->ix1 - c->ix0 + 1 < art_npx_x(a, 0.3e-3) || c->iz1 + below >= a->nz - min_band)
         continue;
      int z0 = c->iz1 + below, z1 = z0 + depth < a->nz ? z0 + depth : a->nz - 1, nin, nl, nr;
      double in = band_level(a, z0, z1, c->ix0 + off, c->ix1 - off, &nin);
      double l = band_level(a, z0, z1, c->ix0 - flank, c->ix0 - gap, &nl);
      double r = band_level(a, z0, z1, c->ix1 + gap, c->ix1 + flank, &nr);
      if (nin < 16 || nl < 16 || nr < 16)
         continue;
      /* a flank under another structure's shadow (darker by the shadow
       * drop) is no reference: the brighter flank alone is */
      double side = fabs(l - r) >= a->p[P_SHADOW_DROP_DB] ? fmax(l, r) : (l * nl + r * nr) / (nl + nr);
      double rise = in - side;
      if (rise < a->p[P_ENH_RISE_DB])
         continue;
      art_finding_t *f = art_add(a, K_ENHANCEMENT, (float)(0.5 + 0.08 * fmin(5.0, rise - a->p[P_ENH_RISE_DB])));
      if (!f)
         return;
      /* lower edge of the anechoic region per column, then the frame bottom */
      int np = 0, step = (c->ix1 - c->ix0) / (ART_MAX_POLY - 4) + 1;
      for (int ix = c->ix0; ix <= c->ix1 && np < ART_MAX_POLY - 3; ix += step) {
         int zb = -1;
         for (int iz = c->iz1; iz >= c->iz0 && zb < 0; --iz)
            if (a->labels[art_px(a, iz, ix)] == c->label)
               zb = iz;
         if (zb >= 0)
            f->poly[np++] = (sono_point_t){a->x0 + ix * a->dx, a->z0 + zb * a->dz};
      }
      f->poly[np++] = (sono_point_t){a->x0 + c->ix1 * a->dx, a->z0 + (a->nz - 1) * a->dz};
      f->poly[np++] = (sono_point_t){a->x0 + c->ix0 * a->dx, a->z0 + (a->nz - 1) * a->dz};
      f->npoly = (uint32_t)np;
      snprintf(f->label, sizeof f->label, "Posterior enhancement");
      snprintf(f->basis, sizeof f->basis,
               "%.1f mm band deep to an anechoic region ending at %.1f mm is %.1f dB brighter than the same depths "
               "beside it, over %.1f mm width",
               (z1 - z0 + 1) * a->dz * 1e3, art_mm_z(a, c->iz1), rise, (c->ix1 - c->ix0 + 1) * a->dx * 1e3);
      snprintf(f->advice, sizeof f->advice,
               "Consistent with a fluid-like (low-attenuation) structure above; do not read the bright column as "
               "denser tissue");
   }
}

void art_detect_shadow_enhancement(art_t *a)
{
   float drop = (float)a->p[P_SHADOW_DROP_DB];
   int min_run = art_npx_z(a, a->p[P_SHADOW_MIN_DEPTH_M]), gap = art_npx_z(a, 0.4e-3);
   float *refl_z = a->colv;
   float *dirt = a->colv + a->nx; /* colv holds 2 * (nx + nz + 4) floats */
   float *deep = a->col;          /* 4 * max(nz, nx) floats */
   float *lvl = a->col + a->nx;   /* partial-shadow loss per analysed column */
   int32_t *prefl = (int32_t *)(a->col + 2 * a->nx); /* and its reflector row */
   float *part = a->col + 3 * a->nx; /* column marked by the partial-shadow rule */
   double dep_span[8][2], dep_wide[8][2];
   int first_dep = a->nfound, ndep = deposit_shadows(a, a->nfound, dep_span, 8);
   memcpy(dep_wide, dep_span, sizeof dep_wide);
   memset(a->mask, 0, a->npix);
   /* first row of the frame's dark bottom band (row reference within `drop`
    * of the display floor down to the last row, e.g. deep to bone) */
   a->dark_row = a->nz;
   while (a->dark_row > 0 && a->rowref[a->dark_row - 1] - a->floor_db < drop)
      --a->dark_row;
   /* sm is a 0.25 mm lateral mean, so neighbouring columns carry the same
    * profile: every other column is analysed and its marks copied to the
    * next (both rules need >= 0.3 mm of width anyway) */
   for (int ix = 0; ix < a->nx; ix += 2) {
      refl_z[ix] = -1;
      dirt[ix] = 0;
      deep[ix] = 0;
      lvl[ix] = NAN;
      if (!shadow_column(a, ix, drop, min_run, gap, refl_z, dirt, deep))
         lvl[ix] = partial_shadow_level(a, ix, drop, min_run, gap, &prefl[ix]);
      if (ix + 1 < a->nx) {
         refl_z[ix + 1] = refl_z[ix];
         dirt[ix + 1] = dirt[ix];
         deep[ix + 1] = deep[ix];
         memcpy(a->mask + art_px(a, 0, ix + 1), a->mask + art_px(a, 0, ix), (size_t)a->nz);
      }
   }
   memset(part, 0, (size_t)a->nx * sizeof *part);
   partial_shadows(a, lvl, prefl, gap, refl_z, deep, part);
   close_shadow_gaps(a, art_npx_x(a, 0.5e-3), refl_z, dirt, deep);
   int min_w = art_npx_x(a, a->p[P_SHADOW_MIN_WIDTH_M]);
   art_components(a, a->mask, min_run);
   /* one deposit's shadow broken by bright foci or a twinkling column is one instance */
   merge_near(a, art_npx_x(a, 0.4e-3), art_npx_z(a, 1.0e-3));
   for (int k = 0; k < a->ncomps; ++k) {
      const art_comp_t *c = &a->comps[k];
      if (!c->count || comp_width(a, c) < min_w || within_deposit_shadow(a, c, dep_span, dep_wide, ndep) ||
          partial_at_side(a, c, part))
         continue;
      double delta = comp_mean_delta(a, c, a->sm);
      int rz = reflector_row(c, refl_z);
      double dirt_m = comp_dirt(c, refl_z, dirt) * a->dz;
      int reverb = overlaps_kind(a, K_REVERB, c);
      int dirty = reverb || overlaps_kind(a, K_COMET, c) || dirt_m >= DIRTY_MIN_GAP_M;
      if (dirt_m >= DIRTY_MIN_GAP_M && !reverb)
         report_dirt(a, c, refl_z, dirt_m);
      art_finding_t *f = art_add(a, K_SHADOW, (float)(0.5 + 0.04 * fmin(10.0, -delta - drop)));
      if (!f)
         return;
      f->npoly = art_comp_polygon(a, c, f->poly);
      extend_to_bottom(a, c, deep, f);
      snprintf(f->attr_key, sizeof f->attr_key, "type");
      snprintf(f->attr_value, sizeof f->attr_value, "%s", dirty ? "dirty" : "clean");
      snprintf(f->label, sizeof f->label, "Acoustic shadow (%s)", dirty ? "dirty" : "clean");
      snprintf(f->basis, sizeof f->basis,
               "column intensity %.0f dB below neighbours over %.1f mm depth and %.1f mm width under a "
               "reflector at %.1f mm",
               -delta, (c->iz1 - rz) * a->dz * 1e3, comp_width(a, c) * a->dx * 1e3, art_mm_z(a, rz));
      snprintf(f->advice, sizeof f->advice,
               "Structures deep to the reflector are not imaged; scan from another angle to see beneath it");
   }
   for (int i = 0; i < ndep; ++i)
      widen_shadow(&a->found[first_dep + i], dep_wide[i][0], dep_wide[i][1]);
   detect_enhancement(a);
}

/* ---- mirror image ------------------------------------------------------------ */

/* Depth of a specular interface with a shadow below it in column ix (bone
 * line), or -1: walking up from the bottom of the column, the deepest run in
 * which at least 80% of the rows are dark (smoothed level within 6 dB of the
 * frame's floor), at least 0.25 mm long, capped by a bright line (>=
 * reflector_db above the row reference) within 0.3 mm above it. A bright
 * layer over darker tissue (dermis over fat) keeps speckle below and does
 * not qualify. */
/* Top row of the dark run walking up column ix from `bottom` (at least 80%
 * of its rows within 6 dB of the frame's floor), or -1. */
static int dark_run_top(const art_t *a, int ix, int from, int bottom)
{
   const float *s = a->sm + art_px(a, 0, ix);
   const float dark = a->floor_db + 6.0f;
   int n = 0, nd = 0, top = -1;
   for (int iz = bottom; iz >= from; --iz) {
      ++n;
      nd += s[iz] <= dark;
      if (nd * 5 < n * 4)
         break;
      if (s[iz] <= dark)
         top = iz;
   }
   return top;
}

static int interface_row(const art_t *a, int ix, int from, int bottom)
{
   const float *l = a->lat + art_px(a, 0, ix);
   int top = dark_run_top(a, ix, from, bottom);
   if (top < 0 || bottom + 1 - top < art_npx_z(a, 0.25e-3))
      return -1;
   int reach = art_npx_z(a, 0.3e-3), best = -1;
   float bv = -1e9f;
   for (int iz = top - 1; iz >= top - reach && iz >= from; --iz)
      if (l[iz] - a->rowref[iz] > bv) {
         bv = l[iz] - a->rowref[iz];
         best = iz;
      }
   return best >= 0 && l[best] >= a->floor_db + 6.0f + (float)a->p[P_REFLECTOR_DB] ? best : -1;
}

/* A specular interface across the frame with a full shadow deep to it
 * (bone): one shadow finding from the interface to the bottom. */
static void interface_shadow(art_t *a, const int32_t *zb, int have)
{
   double mean = 0;
   int zmin = a->nz;
   for (int ix = 0; ix < a->nx; ++ix)
      if (zb[ix] >= 0) {
         mean += zb[ix];
         zmin = zb[ix] < zmin ? zb[ix] : zmin;
      }
   mean /= have;
   art_finding_t *f = art_add(a, K_SHADOW, 0.8f);
   if (!f)
      return;
   int top = (int)(mean + art_npx_z(a, 0.1e-3));
   f->npoly = art_rect_polygon(a, top, a->nz - 1, 0, a->nx - 1, f->poly);
   snprintf(f->attr_key, sizeof f->attr_key, "type");
   snprintf(f->attr_value, sizeof f->attr_value, "clean");
   snprintf(f->label, sizeof f->label, "Acoustic shadow (clean) deep to a specular interface");
   snprintf(f->basis, sizeof f->basis,
            "level falls at least 10 dB below a bright interface at %.1f mm across %.0f%% of the width",
            art_mm_z(a, mean), 100.0 * have / a->nx);
   snprintf(f->advice, sizeof f->advice, "Nothing deep to the interface (e.g. bone) is imaged; this is expected anatomy");
}

/* Deepest row from which each column is searched upwards for the bone
 * line: 0.5 mm into the first 1 mm run of rows whose reference lies within
 * 3 dB of the floor (the shadow deep to the bone), so that a mirror image
 * further down does not hide the line; the frame bottom without such a run. */
static int shadow_search_row(const art_t *a, int from)
{
   int need = art_npx_z(a, 1.0e-3), run = 0;
   for (int iz = from; iz < a->nz; ++iz) {
      run = a->rowref[iz] - a->floor_db <= 3.0f ? run + 1 : 0;
      if (run >= need) {
         int z = iz - need + 1 + art_npx_z(a, 0.5e-3);
         return z < a->nz - 1 ? z : a->nz - 1;
      }
   }
   return a->nz - 1;
}

static int mirror_match(art_t *a, double *best_ncc, double *axis);

/* Columns where the bone line is hidden by the shadow of a structure above
 * it (a deposit): the line is seen (within 0.5 mm of its median row) over
 * at least bone_min_seen of the width but not across it, and a column
 * between seen columns on both sides shows no line there but is dark from
 * the frame bottom up to at least 0.5 mm above the median row (the line runs
 * on under that shadow; nothing can show it there; a "line" such a column
 * shows higher up is the structure's lower edge, and is dropped). Returns
 * the number of columns the line is taken across: seen plus hidden; the
 * hidden ones keep colz -1. 0 when too little of the line is seen. */
static int hidden_bone_cols(art_t *a, int from)
{
   int32_t *hist = a->stack; /* free outside flood fills */
   memset(hist, 0, sizeof(int32_t) * (size_t)a->nz);
   for (int ix = 0; ix < a->nx; ++ix)
      if (a->colz[ix] >= 0)
         ++hist[a->colz[ix]];
   int med = 0, acc = 0;
   while (med < a->nz - 1 && 2 * (acc += hist[med]) < a->bone_cols)
      ++med;
   int margin = art_npx_z(a, 0.5e-3), seen = 0, first = -1, last = -1;
   for (int ix = 0; ix < a->nx; ++ix)
      if (a->colz[ix] >= 0 && abs(a->colz[ix] - med) <= margin) {
         ++seen;
         first = first < 0 ? ix : first;
         last = ix;
      }
   if (seen < a->p[P_BONE_MIN_SEEN] * a->nx)
      return 0;
   int hidden = 0;
   for (int ix = first + 1; ix < last; ++ix) {
      if (a->colz[ix] >= 0 && abs(a->colz[ix] - med) <= margin)
         continue;
      int top = dark_run_top(a, ix, from, a->nz - 1);
      if (top >= 0 && top <= med - margin) {
         a->colz[ix] = -1;
         ++hidden;
      }
   }
   return seen + hidden;
}

void art_find_bone(art_t *a)
{
   int from = art_npx_z(a, 2.0e-3), bottom = shadow_search_row(a, from), alt = 0, alt_used = 0;
   a->bone_cols = 0;
   for (int ix = 0; ix < a->nx; ++ix)
      a->bone_cols += (a->colz[ix] = interface_row(a, ix, from, a->nz - 1)) >= 0;
   if (bottom < a->nz - 1) {
      /* a mirror image deep to the shadow can pass for the line, or break
       * the dark run up from the frame bottom in most columns: searched
       * again from within the shadow, the shallower line across at least as
       * many columns is the bone */
      int32_t *z2 = a->stack; /* free outside flood fills */
      double m1 = 0, m2 = 0;
      for (int ix = 0; ix < a->nx; ++ix) {
         alt += (z2[ix] = interface_row(a, ix, from, bottom)) >= 0;
         m1 += a->colz[ix] >= 0 ? a->colz[ix] : 0;
         m2 += z2[ix] >= 0 ? z2[ix] : 0;
      }
      int across = a->bone_cols >= a->nx * 6 / 10;
      int shallower = alt > 0 && across && m2 / alt < m1 / a->bone_cols - art_npx_z(a, 0.5e-3);
      if (shallower && alt >= a->bone_cols) {
         memcpy(a->colz, z2, sizeof(int32_t) * (size_t)a->nx);
         a->bone_cols = alt;
         alt_used = 1;
      } else if (shallower && alt >= a->nx * 6 / 10) {
         /* across the frame too, but short of the deeper line by a few
          * columns (the shadow band at a frame side): it is the bone when
          * the content under it is the structures above it turned over (a
          * mirror image, whose deepest band then capped the dark run up
          * from the bottom); otherwise the deeper line stands */
         memcpy(a->colz, z2, sizeof(int32_t) * (size_t)a->nx);
         int deep = a->bone_cols;
         a->bone_cols = alt;
         double ncc, axis;
         if (mirror_match(a, &ncc, &axis)) {
            alt_used = 1;
         } else {
            a->bone_cols = deep;
            for (int ix = 0; ix < a->nx; ++ix)
               a->colz[ix] = interface_row(a, ix, from, a->nz - 1);
         }
      } else if (!across && alt >= a->nx * 6 / 10) {
         /* the run up from the bottom broke on echoes under a dark band in
          * most columns: the band is the bone's shadow only when those
          * echoes are the structures above the line turned over about it
          * (a mirror image); a dark layer over tissue is not */
         memcpy(a->colz, z2, sizeof(int32_t) * (size_t)a->nx);
         a->bone_cols = alt;
         alt_used = 1;
         double ncc, axis;
         if (!mirror_match(a, &ncc, &axis))
            a->bone_cols = 0;
      }
   }
   /* the line taken across the columns where another shadow hides it */
   int span = a->bone_cols;
   if (!alt_used && span < a->nx * 6 / 10 && span > 0 && (span = hidden_bone_cols(a, from)) >= a->nx * 6 / 10) {
      a->bone_cols = 0; /* the columns whose line lay off its median row were dropped */
      for (int ix = 0; ix < a->nx; ++ix)
         a->bone_cols += a->colz[ix] >= 0;
   }
   if (span < a->nx * 6 / 10) { /* not a bone line across the frame */
      for (int ix = 0; ix < a->nx; ++ix)
         a->colz[ix] = -1;
      a->bone_cols = 0;
   }
}

/* Pixels a mirror test reads: those of component c, and with a second
 * component d those of d and, in each column where both lie, every row
 * between them (span: per column the first and last row of c and d, or -1
 * where only one of them lies). */
static int mirror_member(const art_t *a, const art_comp_t *c, const art_comp_t *d, const int32_t *span, int iz, int ix)
{
   int32_t l = a->labels[art_px(a, iz, ix)];
   if (l == c->label || (d && l == d->label))
      return 1;
   return d && span[2 * ix] >= 0 && iz >= span[2 * ix] && iz <= span[2 * ix + 1];
}

/* Normalised cross-correlation of the B-mode of component c (with d and the
 * rows between them when d is given) with its reflection about row axis2/2,
 * the best over axes within `reach` rows (every second column). */
static double mirror_ncc(const art_t *a, const art_comp_t *c, const art_comp_t *d, const int32_t *span, int axis2,
                         int reach)
{
   int ix0 = c->ix0, ix1 = c->ix1, iz0 = c->iz0, iz1 = c->iz1;
   if (d) {
      ix0 = d->ix0 < ix0 ? d->ix0 : ix0, ix1 = d->ix1 > ix1 ? d->ix1 : ix1;
      iz0 = d->iz0 < iz0 ? d->iz0 : iz0, iz1 = d->iz1 > iz1 ? d->iz1 : iz1;
   }
   double best = -1;
   for (int s2 = axis2 - 2 * reach; s2 <= axis2 + 2 * reach; ++s2) {
      double sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0;
      int n = 0;
      for (int ix = ix0; ix <= ix1; ix += 2)
         for (int iz = iz0; iz <= iz1; ++iz) {
            int im = s2 - iz;
            if (im < 0 || im >= a->nz || !mirror_member(a, c, d, span, iz, ix))
               continue;
            double u = a->bm[art_px(a, iz, ix)], v = a->bm[art_px(a, im, ix)];
            sx += u, sy += v, sxx += u * u, syy += v * v, sxy += u * v;
            ++n;
         }
      if (n < 16)
         continue;
      double cov = sxy - sx * sy / n, vx = sxx - sx * sx / n, vy = syy - sy * sy / n;
      double ncc = vx > 0 && vy > 0 ? cov / sqrt(vx * vy) : 0;
      best = ncc > best ? ncc : best;
   }
   return best;
}

/* Pieces of a mirror image on both sides of a stretch where the bone line is
 * not seen (a deposit's shadow above hides the line, and the mirror beneath
 * it): one structure turned over, so one instance. Pieces whose depth ranges
 * lie within gap_z rows are joined when most of the columns between them
 * (more than half) show no line (a->colz < 0). */
static void mirror_join_hidden(art_t *a, int gap_z)
{
   for (int i = 0; i < a->ncomps; ++i)
      for (int j = 0; j < a->ncomps; ++j) {
         art_comp_t *c = &a->comps[i], *d = &a->comps[j];
         if (i == j || !c->count || !d->count || d->ix0 <= c->ix1 || d->iz0 > c->iz1 + gap_z ||
             d->iz1 < c->iz0 - gap_z)
            continue;
         int gap = 0, hidden = 0;
         for (int ix = c->ix1 + 1; ix < d->ix0; ++ix, ++gap)
            hidden += a->colz[ix] < 0;
         if (2 * hidden <= gap)
            continue;
         for (int ix = d->ix0; ix <= d->ix1; ++ix)
            for (int iz = d->iz0; iz <= d->iz1; ++iz)
               if (a->labels[art_px(a, iz, ix)] == d->label)
                  a->labels[art_px(a, iz, ix)] = c->label;
         c->ix1 = d->ix1;
         c->iz0 = d->iz0 < c->iz0 ? d->iz0 : c->iz0;
         c->iz1 = d->iz1 > c->iz1 ? d->iz1 : c->iz1;
         c->count += d->count;
         d->count = 0;
      }
}

/* The mirrored structure (mask == 2) shows the echogenic tissue around a
 * lumen; the lumen's own phantom is the dark gap between its walls. Each
 * gap of at least min_px pixels is one finding; without a gap (one wall in
 * view) the echogenic phantom itself is. */
static void report_mirror(art_t *a, double ncc, double axis, int min_px)
{
   memset(a->mask2, 0, a->npix);
   for (int ix = 0; ix < a->nx; ++ix) {
      const uint8_t *m = a->mask + art_px(a, 0, ix);
      int top = -1, bot = -1;
      for (int iz = 0; iz < a->nz; ++iz)
         if (m[iz] == 2) {
            top = top < 0 ? iz : top;
            bot = iz;
         }
      for (int iz = top + 1; top >= 0 && iz < bot; ++iz)
         a->mask2[art_px(a, iz, ix)] = m[iz] != 2;
   }
   int n = art_components(a, a->mask2, min_px);
   if (!n) {
      for (size_t i = 0; i < a->npix; ++i)
         a->mask2[i] = a->mask[i] == 2;
      n = art_components(a, a->mask2, min_px);
   }
   /* where the phantom walls touch, one lumen's phantom is cut in pieces */
   merge_near(a, art_npx_x(a, 3.0e-3), art_npx_z(a, 0.3e-3));
   mirror_join_hidden(a, art_npx_z(a, 0.3e-3));
   for (int k = 0; k < n; ++k) {
      const art_comp_t *c = &a->comps[k];
      if (!c->count)
         continue;
      art_finding_t *f = art_add(a, K_MIRROR, (float)(0.5 + 0.5 * ncc));
      if (!f)
         return;
      f->npoly = art_comp_polygon(a, c, f->poly);
      snprintf(f->label, sizeof f->label, "Possible mirror image");
      snprintf(f->basis, sizeof f->basis,
               "structure %.1f mm below a specular interface at %.1f mm matches its reflection above the interface "
               "(normalised cross-correlation %.2f)",
               (0.5 * (c->iz0 + c->iz1) - axis) * a->dz * 1e3, art_mm_z(a, axis), ncc);
      snprintf(f->advice, sizeof f->advice,
               "Duplicate of the structure above the interface; change the probe angle to confirm it disappears");
   }
}

/* Per column of the columns both c and d cover, the rows strictly between
 * c's deepest and d's shallowest pixel (span, 2 per column, set over the
 * columns of either; -1 where there is no gap). Returns the number of
 * columns where d lies wholly under c. */
static int mirror_gap_span(const art_t *a, const art_comp_t *c, const art_comp_t *d, int32_t *span)
{
   int lo = c->ix0 > d->ix0 ? c->ix0 : d->ix0, hi = c->ix1 < d->ix1 ? c->ix1 : d->ix1, n = 0;
   for (int ix = c->ix0 < d->ix0 ? c->ix0 : d->ix0; ix <= (c->ix1 > d->ix1 ? c->ix1 : d->ix1); ++ix)
      span[2 * ix] = span[2 * ix + 1] = -1;
   for (int ix = lo; ix <= hi; ++ix) {
      int cb = -1, dt = -1;
      for (int iz = c->iz0; iz <= c->iz1; ++iz)
         cb = a->labels[art_px(a, iz, ix)] == c->label ? iz : cb;
      for (int iz = d->iz1; iz >= d->iz0; --iz)
         dt = a->labels[art_px(a, iz, ix)] == d->label ? iz : dt;
      if (cb < 0 || dt < 0 || dt <= cb)
         continue;
      ++n;
      if (dt > cb + 1)
         span[2 * ix] = cb + 1, span[2 * ix + 1] = dt - 1;
   }
   return n;
}

/* The two walls of a mirrored vessel: each band's own speckle may match its
 * source only loosely (the pulse is not symmetric in depth, and the copy is
 * 6 dB down, closer to the noise), but the structure turned over, both walls
 * with the dark lumen between them, matches the wall-lumen-wall above the
 * line. Two components under the line, one wholly above the other over at
 * least half the columns of the narrower, not both matched on their own,
 * are both taken (ncc raised to the pair's) when the pair with the rows
 * between them reaches mirror_ncc about the upper one's axis. */
static void mirror_match_walls(art_t *a, const double *zm, double *ncc, int reach)
{
   int32_t *span = a->stack; /* free outside flood fills */
   for (int k = 0; k < a->ncomps; ++k)
      for (int j = 0; j < a->ncomps; ++j) {
         const art_comp_t *c = &a->comps[k], *d = &a->comps[j];
         if (j == k || zm[k] < 0 || (ncc[k] >= a->p[P_MIRROR_NCC] && ncc[j] >= a->p[P_MIRROR_NCC]))
            continue;
         int wc = c->ix1 - c->ix0 + 1, wd = d->ix1 - d->ix0 + 1, w = wc < wd ? wc : wd;
         int ov = (c->ix1 < d->ix1 ? c->ix1 : d->ix1) - (c->ix0 > d->ix0 ? c->ix0 : d->ix0) + 1;
         if (2 * ov < w || d->iz1 <= c->iz1 || 2 * mirror_gap_span(a, c, d, span) < w)
            continue;
         double pair = mirror_ncc(a, c, d, span, (int)lround(2 * zm[k]), reach);
         if (pair < a->p[P_MIRROR_NCC])
            continue;
         ncc[k] = pair > ncc[k] ? pair : ncc[k];
         ncc[j] = pair > ncc[j] ? pair : ncc[j];
      }
}

/* Components under the bone line (a->colz) brighter than its shadow whose
 * B-mode matches its reflection above the line (NCC >= mirror_ncc), alone or
 * as the two walls of a vessel with its lumen (mirror_match_walls), marked
 * 2 in a->mask; returns their count, the best NCC and the line's depth (rows)
 * at the last of them. */
static int mirror_match(art_t *a, double *best_ncc, double *axis)
{
   const int32_t *zb = a->colz;
   /* content below the interface: brighter than the shadow floor there */
   double floor_below = 0;
   int nb = 0;
   for (int ix = 0; ix < a->nx; ++ix)
      if (zb[ix] >= 0)
         for (int iz = zb[ix] + art_npx_z(a, 0.3e-3); iz < a->nz; ++iz, ++nb)
            floor_below += a->sm[art_px(a, iz, ix)];
   if (!nb)
      return 0;
   floor_below /= nb;
   memset(a->mask, 0, a->npix);
   for (int ix = 0; ix < a->nx; ++ix) {
      int z = zb[ix] >= 0 ? zb[ix] : -1;
      if (z < 0)
         continue;
      for (int iz = z + art_npx_z(a, 0.3e-3); iz < a->nz; ++iz)
         a->mask[art_px(a, iz, ix)] = a->sm[art_px(a, iz, ix)] >= floor_below + 8.0;
   }
   int min_px = (int)(0.3e-6 / (a->dx * a->dz));
   art_components(a, a->mask, min_px);
   /* the phantom of a structure is its speckle turned over about the
    * interface: the best axis within 0.4 mm of the traced line */
   int reach = art_npx_z(a, 0.4e-3), accepted = 0;
   double zm[ART_MAX_COMPS], ncc[ART_MAX_COMPS];
   for (int k = 0; k < a->ncomps; ++k) {
      const art_comp_t *c = &a->comps[k];
      int nz = 0;
      zm[k] = 0, ncc[k] = -1;
      for (int ix = c->ix0; ix <= c->ix1; ++ix)
         if (zb[ix] >= 0) {
            zm[k] += zb[ix];
            ++nz;
         }
      if (!nz) {
         zm[k] = -1;
         continue;
      }
      zm[k] /= nz;
      ncc[k] = mirror_ncc(a, c, NULL, NULL, (int)lround(2 * zm[k]), reach);
   }
   mirror_match_walls(a, zm, ncc, reach);
   *best_ncc = -1, *axis = 0;
   for (int k = 0; k < a->ncomps; ++k) {
      const art_comp_t *c = &a->comps[k];
      if (zm[k] < 0 || ncc[k] < a->p[P_MIRROR_NCC])
         continue;
      ++accepted;
      *axis = zm[k];
      *best_ncc = ncc[k] > *best_ncc ? ncc[k] : *best_ncc;
      for (int ix = c->ix0; ix <= c->ix1; ++ix)
         for (int iz = c->iz0; iz <= c->iz1; ++iz)
            if (a->labels[art_px(a, iz, ix)] == c->label)
               a->mask[art_px(a, iz, ix)] = 2;
   }
   return accepted;
}

void art_detect_mirror(art_t *a)
{
   if (!a->bone_cols)
      return;
   interface_shadow(a, a->colz, a->bone_cols);
   double best_ncc, axis;
   if (mirror_match(a, &best_ncc, &axis))
      report_mirror(a, best_ncc, axis, (int)(0.3e-6 / (a->dx * a->dz)));
}

/* ---- anisotropy ----------------------------------------------------------------- */


/* Per-row striation of the 0.5 mm lateral mean over columns [ix0, ix1), dB:
 * mean |w(z) - w(z+h)| - |w(z) - w(z+2h)| at h = 0.15 mm, half the 0.3 mm
 * fibre period. Stripes within a few degrees of horizontal survive the
 * lateral mean and differ most over half a period and least over a whole
 * one; speckle (and a layer boundary) differs alike over both. */
static void row_striation(const art_t *a, int ix0, int ix1, int h, float *out)
{
   for (int iz = 0; iz < a->nz; ++iz)
      out[iz] = 0;
   int n = 0;
   for (int ix = ix0; ix < ix1; ix += 2, ++n) {
      const float *w = a->wide + art_px(a, 0, ix);
      for (int iz = 0; iz < a->nz - 2 * h; ++iz)
         out[iz] += fabsf(w[iz] - w[iz + h]) - fabsf(w[iz] - w[iz + 2 * h]);
   }
   for (int iz = 0; iz < a->nz; ++iz)
      out[iz] /= (float)(n ? n : 1);
}

/* The fibrillar layer: the longest run of rows (>= 0.6 mm) whose striation,
 * at either end of the frame, reaches half of aniso_striation_db (the
 * striation score is a difference of two differences). Returns its
 * length in rows (0: none), rows in *z0, *z1. */
static int striated_layer(art_t *a, int *z0, int *z1)
{
   int h = art_npx_z(a, 0.15e-3), q = a->nx / 4;
   h = h < 1 ? 1 : h;
   float *sl = a->col, *sr = a->col + a->nz, *ss = a->col + 2 * a->nz;
   row_striation(a, 0, q, h, sl);
   row_striation(a, a->nx - q, a->nx, h, sr);
   /* mean over one fibre period, so the stripe phase does not matter */
   int r = 2 * h;
   for (int iz = 0; iz < a->nz; ++iz) {
      double s0 = 0, s1 = 0;
      int n = 0;
      for (int jz = iz - r; jz <= iz + r; ++jz)
         if (jz >= 0 && jz < a->nz) {
            s0 += sl[jz], s1 += sr[jz];
            ++n;
         }
      ss[iz] = (float)(fmax(s0, s1) / n);
   }
   float thr = 0.5f * (float)a->p[P_ANISO_STRIATION_DB];
   int best = 0, start = -1;
   for (int iz = 0; iz <= a->nz; ++iz) {
      int on = iz < a->nz && ss[iz] >= thr && a->rowref[iz] > a->floor_db + 3.0f;
      if (on && start < 0)
         start = iz;
      if (!on && start >= 0) {
         if (iz - start > best) {
            best = iz - start;
            *z0 = start;
            *z1 = iz - 1;
         }
         start = -1;
      }
   }
   return best >= art_npx_z(a, 0.6e-3) ? best : 0;
}

/* Level profile of rows [z0, z1] along x into prof (dB of the mean echo
 * intensity, 0.5 mm lateral mean), skipping anechoic pixels (lumen,
 * deposit) and bright foci; columns under a shadow or without tissue get
 * NAN. Intensity, not mean dB: the lateral beam blurs tilted stripes, which
 * raises their mean dB but keeps their mean intensity. */
static void layer_profile(const art_t *a, int z0, int z1, float *prof, float *tmp)
{
   const float k = 0.1f * 3.3219281f; /* dB -> log2 of intensity */
   for (int ix = 0; ix < a->nx; ++ix) {
      if (ix & 1) { /* the 0.25 mm box leaves neighbouring columns alike */
         tmp[ix] = tmp[ix - 1];
         continue;
      }
      const float *s = a->sm + art_px(a, 0, ix), *b = a->bm + art_px(a, 0, ix);
      double sum = 0;
      int n = 0;
      for (int iz = z0; iz <= z1; iz += 2) {
         float d = s[iz] - a->rowref[iz];
         if (d > -10.0f && d < 8.0f) {
            sum += exp2f(k * (b[iz] - a->rowref[iz]));
            ++n;
         }
      }
      tmp[ix] = 4 * n >= z1 - z0 + 1 && !in_kind_box(a, K_SHADOW, (z0 + z1) / 2, ix) ? (float)(10.0 * log10(sum / n))
                                                                                        : NAN;
   }
   int r = art_npx_x(a, 0.25e-3);
   for (int ix = 0; ix < a->nx; ++ix) {
      double sum = 0;
      int n = 0;
      for (int jx = ix - r; jx <= ix + r; ++jx)
         if (jx >= 0 && jx < a->nx && !isnan(tmp[jx])) {
            sum += tmp[jx];
            ++n;
         }
      prof[ix] = n > r ? (float)(sum / n) : NAN;
   }
}

/* Mean of prof over [ix0, ix1), NAN when no column there has a level. */
static double prof_mean(const float *prof, int ix0, int ix1)
{
   double s = 0;
   int n = 0;
   for (int ix = ix0; ix < ix1; ++ix)
      if (!isnan(prof[ix])) {
         s += prof[ix];
         ++n;
      }
   return n ? s / n : NAN;
}

/* Fibre angle (degrees from horizontal) of the stripes of rows [z0, z1] in
 * columns [ix0, ix1]: the slope along which the stripes survive a lateral
 * mean best (striation score as in row_striation on the sheared mean).
 * Searched over +-30 deg: a muscle turning away from the beam draws its
 * stripes well past 12 deg (a search stopping there read every steep layer
 * at its limit, so the basis could not say how far the fibres had turned). */
static double fibre_angle(const art_t *a, int z0, int z1, int ix0, int ix1, double *score)
{
   int h = art_npx_z(a, 0.15e-3), xc = (ix0 + ix1) / 2;
   h = h < 1 ? 1 : h;
   double best = -1e9, best_deg = 0;
   float *p = a->colv + a->nx; /* nz floats */
   for (int deg = -30; deg <= 30; ++deg) {
      double t = tan(deg * M_PI / 180.0) * a->dx / a->dz;
      int n = 0;
      for (int iz = z0; iz <= z1; ++iz)
         p[iz] = 0;
      for (int ix = ix0; ix <= ix1; ix += 2, ++n) {
         int sh = (int)lround((ix - xc) * t);
         for (int iz = z0; iz <= z1; ++iz) {
            int jz = iz + sh;
            jz = jz < 0 ? 0 : jz >= a->nz ? a->nz - 1 : jz;
            p[iz] += a->bm[art_px(a, jz, ix)];
         }
      }
      double sc = 0;
      for (int iz = z0; iz + 2 * h <= z1; ++iz)
         sc += fabsf(p[iz] - p[iz + h]) - fabsf(p[iz] - p[iz + 2 * h]);
      sc /= (double)n * (z1 - z0 + 1);
      if (sc > best) {
         best = sc;
         best_deg = deg;
      }
   }
   *score = best;
   return best_deg;
}

/* Fibre angle at the dark end of the layer (columns [ix0, ix1], the dark
 * plateau): over the last w columns at the frame edge or, where the stripes
 * there are not seen (a lumen or a shadow crosses the layer's end), over
 * the first window of w columns, stepping inward by w / 2 within the
 * plateau, in which they are (striation >= 0.5 dB). */
static double dark_end_angle(const art_t *a, int z0, int z1, int ix0, int ix1, int dark_right, int w, double *score)
{
   double ang = 0;
   *score = -1e9;
   for (int k = 0;; k += w / 2) {
      int lo = dark_right ? ix1 - w + 1 - k : ix0 + k;
      if (lo < ix0 || lo + w - 1 > ix1)
         break;
      ang = fibre_angle(a, z0, z1, lo, lo + w - 1, score);
      if (*score >= 0.5)
         break;
   }
   return ang;
}

/* The knee of a fit over a profile with a gap (a shadow or lumen crossing
 * the layer leaves columns without a level) may lie anywhere in the gap,
 * where the fit cannot see it: where at least minw columns without a level
 * start within reach columns of the knee (stepping dir from it, not past
 * end), the first column with a level beyond them; else (or minw 0) the
 * knee. A
 * shorter gap (a vessel wall, a small focus's shadow) leaves the level
 * seen on both sides of it. */
static int knee_past_gap(const float *prof, int knee, int dir, int reach, int minw, int end)
{
   int ix = knee;
   if (minw <= 0)
      return knee;
   while (ix != end && (ix - knee) * dir < reach && !isnan(prof[ix]))
      ix += dir;
   if (!isnan(prof[ix]))
      return knee;
   int start = ix;
   while (ix != end && isnan(prof[ix]))
      ix += dir;
   return isnan(prof[ix]) || (ix - start) * dir < minw ? knee : ix;
}

/* Plateau-ramp-plateau fit of a level profile: the anisotropy loss grows
 * with the insonation angle, then saturates, so along a layer whose fibres
 * turn away from the beam the level runs flat, falls along a ramp and runs
 * flat again at the full loss. */
typedef struct hinge {
   double left, right; /* plateau levels, dB */
   int a, b;           /* the ramp runs from column a to column b */
} hinge_t;

/* Least-squares fit over the columns [lo, hi] of prof that have a level,
 * for every pair of knees on a grid of `step` columns with plateaus of at
 * least min_left and min_right columns (half of them with a level) and a
 * ramp of at least min_ramp; prefix sums over
 * the columns make each pair O(1). s: 6 * (nx + 1) doubles of scratch.
 * Returns 0 when no pair qualifies. */
static int fit_hinge(const float *prof, int lo, int hi, int step, int min_left, int min_right, int min_ramp, double *s,
                     hinge_t *out, double *sse_out)
{
   int n = hi - lo + 2;
   double *c = s, *sx = s + n, *sy = s + 2 * n, *sxy = s + 3 * n, *syy = s + 4 * n, *sxx = s + 5 * n;
   c[0] = sx[0] = sy[0] = sxy[0] = syy[0] = sxx[0] = 0;
   for (int i = 1; i < n; ++i) {
      double y = prof[lo + i - 1], x = i - 1, v = !isnan(y);
      y = v ? y : 0;
      c[i] = c[i - 1] + v, sx[i] = sx[i - 1] + v * x, sy[i] = sy[i - 1] + y;
      sxy[i] = sxy[i - 1] + x * y, syy[i] = syy[i - 1] + y * y, sxx[i] = sxx[i - 1] + v * x * x;
   }
   double best = 1e300;
   int found = 0;
   for (int a = min_left; a < n - 1; a += step)
      for (int b = a + min_ramp; b <= n - 1 - min_right; b += step) {
         /* r: 0 left of a, (x - a) / L over the ramp, 1 from b on; model
          * left * (1 - r) + right * r */
         double L = b - a, nr = c[b] - c[a], xr = sx[b] - sx[a];
         double sr = (xr - a * nr) / L + (c[n - 1] - c[b]);
         double x2 = (sxx[b] - sxx[a] - 2.0 * a * xr + (double)a * a * nr) / (L * L);
         double srr = x2 + (c[n - 1] - c[b]);
         double sry = (sxy[b] - sxy[a] - a * (sy[b] - sy[a])) / L + (sy[n - 1] - sy[b]);
         double s11 = c[n - 1] - 2 * sr + srr, s12 = sr - srr, s22 = srr;
         double r1 = sy[n - 1] - sry, r2 = sry, det = s11 * s22 - s12 * s12;
         if (c[a] < min_left / 2 || c[n - 1] - c[b] < min_right / 2 || det <= 1e-9)
            continue;
         double l = (r1 * s22 - r2 * s12) / det, r = (s11 * r2 - s12 * r1) / det;
         double sse = syy[n - 1] - l * r1 - r * r2;
         if (sse < best) {
            best = sse;
            *out = (hinge_t){l, r, lo + a, lo + b};
            *sse_out = sse;
            found = 1;
         }
      }
   return found;
}

#define ANISO_BRIGHT_M 2.0e-3 /* bright reference stretch of the layer, where the fibres face the beam */

/* Anisotropy (A2, [S35]): a fibrillar layer (striated) whose level runs
 * flat, falls along its length by the full anisotropy loss and stays down
 * to the frame edge (plateau-ramp-plateau fit), with the fibres tilted at
 * the dark end and facing the beam at the bright end, while the layer above
 * keeps its level (a lateral gain trend darkens both). Reported over the dark plateau, where the loss has
 * saturated. */
void art_detect_anisotropy(art_t *a)
{
   int z0 = 0, z1 = 0;
   if (a->nx < 32 || !striated_layer(a, &z0, &z1))
      return;
   float drop = (float)a->p[P_ANISO_DROP_DB];
   float *prof = a->col + 3 * a->nz, *tmp = a->colv;
   layer_profile(a, z0, z1, prof, tmp);
   int ref = art_npx_x(a, 1.0e-3), edge = art_npx_x(a, 0.5e-3);
   /* the outer 0.5 mm at either edge is darker (the beam's lateral
    * roll-off): the fit leaves it out and the dark plateau takes it */
   /* the bright side, where the fibres face the beam, is the reference:
    * it runs at least ANISO_BRIGHT_M; the dark plateau at least 0.5 mm */
   hinge_t h = {0, 0, 0, 0}, hl = h, hr = h;
   double el = 1e300, er = 1e300;
   int flat = art_npx_x(a, ANISO_BRIGHT_M), half = art_npx_x(a, 0.5e-3), lo = edge, hi = a->nx - 1 - edge;
   int okr = fit_hinge(prof, lo, hi, 4, flat, half, half, (double *)a->tmp, &hr, &er) && hr.left > hr.right;
   int okl = fit_hinge(prof, lo, hi, 4, half, flat, half, (double *)a->tmp, &hl, &el) && hl.right > hl.left;
   if (!okr && !okl)
      return;
   h = okr && (!okl || er <= el) ? hr : hl;
   int dark_right = h.left > h.right;
   double bright = fmax(h.left, h.right), dark = fmin(h.left, h.right), fall = bright - dark;
   int ix0 = dark_right ? h.b : 0, ix1 = dark_right ? a->nx - 1 : h.a;
   /* where a shadow or lumen hides the layer next to the knee, the loss is
    * seen saturated only past it (prof is reused for the layer beside) */
   int gapw = art_npx_x(a, a->p[P_ANISO_GAP_M]);
   int seen = dark_right ? knee_past_gap(prof, ix0, 1, edge, gapw, ix1) : knee_past_gap(prof, ix1, -1, edge, gapw, ix0);
   if (fall < 0.5 * drop || ix1 - ix0 + 1 < art_npx_x(a, 0.5e-3))
      return;
   /* the loss must be seen to saturate: a knee within anisotropy_plateau_m
    * of the field's edge (outer roll-off band aside) is a fall still running
    * out of the field, which a plateau that short cannot tell from the
    * speckle's own 0.5-1 mm swings of the layer's level */
   if ((dark_right ? hi - h.b : h.a - lo) + 1 < art_npx_x(a, a->p[P_ANISO_PLATEAU_M]))
      return;
   /* the far end of the bright side is bright too: a layer dark at both
    * ends around a brighter stretch is not a one-sided loss */
   double far = dark_right ? prof_mean(prof, edge, edge + ref) : prof_mean(prof, a->nx - edge - ref, a->nx - edge);
   if (isnan(far) || bright - far >= 0.5 * fall)
      return;
   /* the fibres tilt away from the beam's normal at the dark end */
   double score;
   double ang_d = dark_end_angle(a, z0, z1, ix0, ix1, dark_right, ref, &score);
   if (fabs(ang_d) < a->p[P_ANISO_FIBRE_DEG] || score < 0.5)
      return;
   /* a lateral trend (probe contact, TGC) darkens the layer above too */
   int gap = art_npx_z(a, 0.3e-3), th = z1 - z0 + 1;
   int u0 = z0 - gap - th, u1 = z0 - gap;
   if (u0 < 0) {
      u0 = z1 + gap;
      u1 = z1 + gap + th;
   }
   if (u1 < a->nz) {
      layer_profile(a, u0, u1, prof, tmp);
      /* the same columns as the layer's bright and dark plateaus */
      double b = dark_right ? prof_mean(prof, 0, h.a) : prof_mean(prof, h.b + 1, a->nx);
      double d = prof_mean(prof, ix0, ix1 + 1);
      if (!isnan(b) && !isnan(d) && b - d >= 0.5 * fall)
         return;
   }
   /* the fibres face the beam at the bright end: a layer bright where its
    * stripes run steep is not darkened by the beam angle */
   double ang_b = fibre_angle(a, z0, z1, dark_right ? 0 : a->nx - ref, dark_right ? ref - 1 : a->nx - 1, &score);
   if (fabs(ang_b) > a->p[P_ANISO_BRIGHT_DEG])
      return;
   art_finding_t *f = art_add(a, K_ANISOTROPY, (float)(0.55 + 0.1 * fmin(3.0, fall - drop + 1.0)));
   if (!f)
      return;
   /* the least-squares knee falls before the loss has saturated (the last
    * of the ramp lies within the speckle's swings of the level): the
    * region leaves out the share of the plateau next to the knee, from
    * where the plateau is seen */
   int r0 = dark_right ? seen : ix0, r1 = dark_right ? ix1 : seen;
   int cut = (int)lround(a->p[P_ANISO_REGION_SHARE] * (r1 - r0));
   f->npoly = art_rect_polygon(a, z0, z1, dark_right ? r0 + cut : r0, dark_right ? r1 : r1 - cut, f->poly);
   snprintf(f->label, sizeof f->label, "Possible anisotropy of a fibrillar layer");
   snprintf(f->basis, sizeof f->basis,
            "striated layer at %.1f-%.1f mm falls %.1f dB along %.1f mm of its length and stays down over the last "
            "%.1f mm while the layer %s keeps its level; striation %.0f deg vs %.0f deg from horizontal",
            art_mm_z(a, z0), art_mm_z(a, z1), fall, (h.b - h.a) * a->dx * 1e3, (ix1 - ix0 + 1) * a->dx * 1e3,
            u0 < z0 ? "above" : "below", ang_d, ang_b);
   snprintf(f->advice, sizeof f->advice,
            "Angle the probe perpendicular to the structure (heel-toe) before calling it hypoechoic");
}

/* Pixel (iz, ix) lies in the bounding box of a finding of kind k. */
static int in_kind_box(const art_t *a, art_kind_t k, int iz, int ix)
{
   double x = a->x0 + ix * a->dx, z = a->z0 + iz * a->dz;
   for (int i = 0; i < a->nfound; ++i) {
      const art_finding_t *f = &a->found[i];
      if (f->kind != k || !f->npoly)
         continue;
      double l = 1e9, r = -1e9, t = 1e9, b = -1e9;
      for (uint32_t j = 0; j < f->npoly; ++j) {
         l = fmin(l, f->poly[j].x_m), r = fmax(r, f->poly[j].x_m);
         t = fmin(t, f->poly[j].z_m), b = fmax(b, f->poly[j].z_m);
      }
      if (x >= l && x <= r && z >= t && z <= b)
         return 1;
   }
   return 0;
}

/* ---- side lobe --------------------------------------------------------------------- */

/* A scan line whose side lobe at angle t meets a specular reflector (x, z)
 * receives its echo at range hypot(z, d), d = |x_line - x| = z tan t: the
 * reflector is imaged a second time, off its own lines, at the same range
 * and weaker by the lobe's gain. Over the reflector's width and the lobe
 * angles of the probe this fills a band that deepens away from the
 * reflector on both sides (the lobes are symmetric). The lobe echo is near
 * tissue level, so over speckle its angle cannot be measured; the region is
 * the band of every lobe angle the probe may have (side_lobe_min_deg ..
 * side_lobe_max_deg), where an echo is to be read as possibly off-axis. */
#define SL_PSF_X_M 160e-6   /* lateral widening of the band: main-lobe FWHM */
#define SL_PSF_Z_M 92e-6    /* axial widening: 2.5 sigma of the pulse envelope plus a sample */
#define SL_MAX_CAND 6
#define SL_BONE_M 1.0e-3    /* a bright fleck this close above the bone line or dark band is part of it */

typedef struct sl_refl {
   double x, z, h; /* centre, depth, half width (m) */
   float peak;     /* dB above the row reference */
} sl_refl_t;

/* Depth interval (m) of the lobe band of reflector r at lateral position X
 * (side s = +-1) for lobe angles t0..t1; 0 when the column is outside it. */
static int sl_band_at(const sl_refl_t *r, int s, double X, double t0, double t1, double *zlo, double *zhi)
{
   double d0 = r->z * tan(t0), d1 = r->z * tan(t1);
   /* reflector points x with s*(X - x) in [d0, d1] */
   double xa = r->x - r->h, xb = r->x + r->h;
   double lo = s > 0 ? fmax(xa, X - d1) : fmax(xa, X + d0);
   double hi = s > 0 ? fmin(xb, X - d0) : fmin(xb, X + d1);
   if (lo > hi)
      return 0;
   double da = fabs(X - lo), db = fabs(X - hi);
   *zlo = hypot(r->z, fmin(da, db));
   *zhi = hypot(r->z, fmax(da, db));
   return 1;
}

/* Mean level (dB re the row reference) of the working image over the lobe
 * band of side s, and the share of its pixels that lie in an anechoic
 * background (>= 10 dB under the row: a lumen, where a lobe echo shows). */
static double sl_band_level(const art_t *a, const sl_refl_t *r, int s, double t0, double t1, double *lumen)
{
   double xl = s > 0 ? r->x - r->h + r->z * tan(t0) : r->x - r->h - r->z * tan(t1);
   double xr = s > 0 ? r->x + r->h + r->z * tan(t1) : r->x + r->h - r->z * tan(t0);
   int ix0 = (int)ceil((xl - a->x0) / a->dx), ix1 = (int)floor((xr - a->x0) / a->dx);
   double sum = 0;
   int n = 0, dark = 0;
   for (int ix = ix0 < 0 ? 0 : ix0; ix <= ix1 && ix < a->nx; ++ix) {
      double zlo, zhi;
      if (!sl_band_at(r, s, a->x0 + ix * a->dx, t0, t1, &zlo, &zhi))
         continue;
      int i0 = (int)floor((zlo - a->z0) / a->dz), i1 = (int)ceil((zhi - a->z0) / a->dz);
      for (int iz = i0 < 0 ? 0 : i0; iz <= i1 && iz < a->nz; ++iz) {
         sum += a->bm[art_px(a, iz, ix)] - a->rowref[iz];
         dark += dsm(a, iz, ix) <= -10.0f;
         ++n;
      }
   }
   *lumen = n ? (double)dark / n : 0;
   return n ? sum / n : -99;
}

/* No other bright component within 1 mm beside or 0.5 mm above or below,
 * unless it is SL_WEAKER_DB weaker: the foci of a deposit come in clusters
 * of like brightness, a lone specular segment does not (its own lobe echo in
 * a lumen beside it, or a speckle fleck, is far weaker). */
#define SL_WEAKER_DB 10.0f
static int sl_isolated(const art_t *a, const art_comp_t *c, const float *peak, int self)
{
   int mx = art_npx_x(a, 1.0e-3), mz = art_npx_z(a, 0.5e-3);
   for (int k = 0; k < a->ncomps; ++k) {
      const art_comp_t *o = &a->comps[k];
      if (o->label == c->label || peak[k] < peak[self] - SL_WEAKER_DB)
         continue;
      if (o->ix1 >= c->ix0 - mx && o->ix0 <= c->ix1 + mx && o->iz1 >= c->iz0 - mz && o->iz0 <= c->iz1 + mz)
         return 0;
   }
   return 1;
}

/* Peak of component c above the row reference (dB), and its row. */
static float sl_peak(const art_t *a, const art_comp_t *c, int *row)
{
   float best = -1e9f;
   *row = c->iz0;
   for (int ix = c->ix0; ix <= c->ix1; ++ix)
      for (int iz = c->iz0; iz <= c->iz1; ++iz) {
         float v = a->bm[art_px(a, iz, ix)] - a->rowref[iz];
         if (a->labels[art_px(a, iz, ix)] == c->label && v > best)
            best = v, *row = iz;
      }
   return best;
}

/* A bright segment that caps a shadow (an absorbing reflector) or lies on
 * the bone line or the dark band at the frame bottom is not a lone
 * specular reflector in tissue. */
static int sl_part_of_shadow(const art_t *a, const art_comp_t *c)
{
   int bone = art_npx_z(a, SL_BONE_M), below = c->iz1 + art_npx_z(a, 0.4e-3), mid = (c->ix0 + c->ix1) / 2;
   if (c->iz1 + bone >= a->dark_row)
      return 1;
   for (int ix = c->ix0; ix <= c->ix1; ++ix)
      if (a->colz[ix] >= 0 && c->iz1 + bone >= a->colz[ix])
         return 1;
   return below < a->nz && in_kind_box(a, K_SHADOW, below, mid);
}

/* A particle, not a specular segment: a focus of a PMMA/PCL deposit is a
 * strong point too, but the sound ringing inside it writes a comet tail
 * under it (>= 2 equally spaced fading copies, the comet rule's own test,
 * on the 3-column mean against the columns 0.25 mm aside), while a
 * specular reflector returns one echo. Training batches: the foci taken as
 * lobe sources had 2-3 copies, 0.15 mm wide; the lobe sources none. */
static int sl_comet_focus(const art_t *a, const art_comp_t *c, int row)
{
   int ix = (c->ix0 + c->ix1) / 2, off = art_npx_x(a, 0.25e-3), lag;
   if (ix - off < 0 || ix + off >= a->nx)
      return 0;
   float bg = 0.5f * (a->lat[art_px(a, row, ix - off)] + a->lat[art_px(a, row, ix + off)]);
   int max_lag = art_npx_z(a, a->p[P_COMET_MAX_LAG_M]);
   return comet_best_lag(a->lat + art_px(a, 0, ix), a->nz, row, comet_min_lag(a), max_lag, bg, &lag) >= 2;
}

/* A reflector 30 dB over the tissue clips at the top of the display range
 * when the row sits higher than the range minus its contrast: in such rows
 * a pixel within sl_clip_db of the top stands for it, as long as the row
 * leaves sl_headroom_db of headroom (speckle maxima reach ~12 dB over the
 * row median; over-gained rows clip everywhere). */
static int sl_clipped_row(const art_t *a, int iz)
{
   float room = (float)(a->p[P_DR_DB] - a->p[P_SL_CLIP_DB]) - a->rowref[iz];
   return room < 20.0f && room >= (float)a->p[P_SL_HEADROOM_DB] && a->rowref[iz] <= a->p50 + (float)a->p[P_SL_TISSUE_DB];
}

/* Bright, short specular segments (the lobes' source): components of the
 * working image >= 20 dB above the row reference, 0.15-1.2 mm wide and at
 * most 0.3 mm thick, peaking >= side_lobe_reflector_db above the row; the
 * brightest SL_MAX_CAND. */
static int sl_reflectors(art_t *a, sl_refl_t *out)
{
   float *thr = a->col, top = (float)(a->p[P_DR_DB] - a->p[P_SL_CLIP_DB]);
   for (int iz = 0; iz < a->nz; ++iz)
      thr[iz] = sl_clipped_row(a, iz) ? top : a->rowref[iz] + 20.0f;
   for (int ix = 0; ix < a->nx; ++ix) {
      const float *c = a->bm + art_px(a, 0, ix);
      uint8_t *m = a->mask + art_px(a, 0, ix);
      for (int iz = 0; iz < a->nz; ++iz)
         m[iz] = c[iz] >= thr[iz];
   }
   art_components(a, a->mask, 3);
   float peak[ART_MAX_COMPS];
   int prow[ART_MAX_COMPS];
   for (int k = 0; k < a->ncomps; ++k)
      peak[k] = sl_peak(a, &a->comps[k], &prow[k]);
   /* the skin: the first row of tissue under the standoff */
   int skin = 0;
   while (skin < a->nz && a->rowref[skin] < a->floor_db + 10.0f)
      ++skin;
   int n = 0;
   for (int k = 0; k < a->ncomps; ++k) {
      const art_comp_t *c = &a->comps[k];
      double w = (c->ix1 - c->ix0 + 1) * a->dx, t = (c->iz1 - c->iz0 + 1) * a->dz;
      if (w < 0.15e-3 || w > 1.2e-3 || t > 0.3e-3)
         continue;
      /* in tissue, under the skin: a lone bright fleck of the skin entry or
       * the standoff is no reflector with lobes in view (a lumen or a dark
       * layer may lie just above a reflector in tissue) */
      if (c->iz0 - art_npx_z(a, 0.3e-3) < skin || !sl_isolated(a, c, peak, k) || sl_part_of_shadow(a, c))
         continue;
      float best = peak[k];
      int bz = prow[k];
      /* clipped at the top of the display, its peak is at least that high */
      float need = (float)a->p[P_SL_REFLECTOR_DB];
      if (sl_clipped_row(a, bz) && a->bm[art_px(a, bz, (c->ix0 + c->ix1) / 2)] >= thr[bz] && w >= a->p[P_SL_CLIP_MIN_W_M])
         need = thr[bz] - a->rowref[bz];
      if (best < need || sl_comet_focus(a, c, bz))
         continue;
      sl_refl_t r = {art_mm_x(a, 0.5 * (c->ix0 + c->ix1)) * 1e-3, art_mm_z(a, bz) * 1e-3,
                     art_clampf((float)(0.5 * (w - SL_PSF_X_M)), 0.1e-3f, 0.4e-3f), best};
      int at = brightest_slot(out, sizeof *out, offsetof(sl_refl_t, peak), &n, SL_MAX_CAND, r.peak);
      if (at >= 0)
         out[at] = r;
   }
   return n;
}

/* Region of one lobe band: the arc swept over lobe angles t0..t1 by the
 * reflector's width, widened by the PSF; clipped to the image. Returns 0
 * when the band lies wholly outside the image. */
static uint32_t sl_polygon(const art_t *a, const sl_refl_t *r, int s, double t0, double t1, sono_point_t *poly)
{
   const double px = SL_PSF_X_M, pz = SL_PSF_Z_M, z = r->z, h = r->h;
   const int n = 16;
   double u[2 * 16 + 4], w[2 * 16 + 4];
   int m = 0;
   u[m] = -h + z * tan(t0) - px, w[m++] = z / cos(t0) - pz;
   u[m] = h + z * tan(t0) + px, w[m++] = z / cos(t0) - pz;
   for (int i = 0; i < n; ++i) {
      double t = t0 + (t1 - t0) * i / (n - 1);
      u[m] = h + z * tan(t) + px, w[m++] = z / cos(t) - pz;
   }
   u[m] = h + z * tan(t1) + px, w[m++] = z / cos(t1) + pz;
   u[m] = -h + z * tan(t1) - px, w[m++] = z / cos(t1) + pz;
   for (int i = n - 1; i >= 0; --i) {
      double t = t0 + (t1 - t0) * i / (n - 1);
      u[m] = -h + z * tan(t) - px, w[m++] = z / cos(t) + pz;
   }
   double X0 = a->x0, X1 = a->x0 + (a->nx - 1) * a->dx, Z0 = a->z0, Z1 = a->z0 + (a->nz - 1) * a->dz;
   double xmin = 1e9, xmax = -1e9, zmin = 1e9;
   for (int i = 0; i < m; ++i) {
      double x = r->x + s * u[i];
      xmin = fmin(xmin, x), xmax = fmax(xmax, x), zmin = fmin(zmin, w[i]);
   }
   if (xmax < X0 || xmin > X1 || zmin > Z1)
      return 0;
   for (int i = 0; i < m; ++i) {
      double x = r->x + s * u[i];
      poly[i].x_m = x < X0 ? X0 : x > X1 ? X1 : x;
      poly[i].z_m = w[i] < Z0 ? Z0 : w[i] > Z1 ? Z1 : w[i];
   }
   return (uint32_t)m;
}

static void sl_report(art_t *a, const sl_refl_t *r, int s, double t0, double t1)
{
   sono_point_t poly[ART_MAX_POLY];
   uint32_t np = sl_polygon(a, r, s, t0, t1, poly);
   if (!np)
      return;
   double lumen = 0, level = sl_band_level(a, r, s, t0, t1, &lumen);
   /* an echo in a lumen at the band's range is the lobe made visible */
   int seen = lumen >= 0.2 && level > -10.0;
   art_finding_t *f = art_add(a, K_SIDE_LOBE, seen ? 0.7f : 0.5f);
   if (!f)
      return;
   memcpy(f->poly, poly, sizeof(sono_point_t) * np);
   f->npoly = np;
   double d0 = t0 * 180.0 / M_PI, d1 = t1 * 180.0 / M_PI;
   snprintf(f->label, sizeof f->label, "Possible side-lobe echo zone");
   snprintf(f->basis, sizeof f->basis,
            "lone specular reflector %.0f dB above the row at %.1f mm depth, %.1f mm wide; its lobes at %.0f-%.0f deg "
            "reach %.1f-%.1f mm to its %s at %.1f-%.1f mm range; band mean %+.1f dB re row, %.0f%% over an anechoic "
            "background",
            r->peak, r->z * 1e3, 2e3 * r->h, d0, d1, r->z * tan(t0) * 1e3, r->z * tan(t1) * 1e3,
            s > 0 ? "right" : "left", r->z / cos(t0) * 1e3, r->z / cos(t1) * 1e3, level, 100.0 * lumen);
   snprintf(f->advice, sizeof f->advice,
            "Echoes here, at the range of the bright reflector beside them, may be off-axis (side lobe); re-scan with "
            "the reflector out of plane or from another angle before interpreting them");
}

void art_detect_side_lobe(art_t *a)
{
   sl_refl_t refl[SL_MAX_CAND];
   int n = sl_reflectors(a, refl);
   double t0 = a->p[P_SL_MIN_DEG] * M_PI / 180.0, t1 = a->p[P_SL_MAX_DEG] * M_PI / 180.0;
   for (int k = 0; k < n; ++k) {
      sl_report(a, &refl[k], -1, t0, t1);
      sl_report(a, &refl[k], 1, t0, t1);
   }
}

/* ---- near-field clutter ------------------------------------------------------------ */

void art_detect_near_field(art_t *a)
{
   /* skin entry: the first row whose level rises well above the display floor */
   int skin = -1;
   for (int iz = 0; iz < a->nz / 3; ++iz)
      if (a->rowref[iz] >= a->p50) {
         skin = iz;
         break;
      }
   int margin = art_npx_z(a, 0.1e-3);
   int top = skin - margin;
   a->nf_valid &= a->have_prev;
   if (skin < 0 || top < art_npx_z(a, 0.2e-3)) {
      a->nf_valid = 0;
      return; /* no standoff in view */
   }
   /* the clutter band: rows of the standoff above the floor */
   int z1 = -1;
   double sum = 0;
   int n = 0;
   for (int iz = 0; iz < top; ++iz)
      if (a->rowref[iz] >= a->floor_db + (float)a->p[P_NEAR_FIELD_DB]) {
         z1 = iz;
         sum += a->rowref[iz] - a->floor_db;
         ++n;
      }
   if (n < art_npx_z(a, 0.15e-3)) {
      a->nf_valid = 0;
      return;
   }
   /* stationary: the band's lateral profile matches the previous frame */
   double corr = -2;
   float *prof = a->col;
   for (int ix = 0; ix < a->nx; ++ix) {
      double s = 0;
      for (int iz = 0; iz <= z1; ++iz)
         s += a->sm[art_px(a, iz, ix)];
      prof[ix] = (float)(s / (z1 + 1));
   }
   if (a->nf_valid) {
      double sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0;
      for (int ix = 0; ix < a->nx; ++ix) {
         double u = prof[ix], v = a->prev_nf[ix];
         sx += u, sy += v, sxx += u * u, syy += v * v, sxy += u * v;
      }
      double cov = sxy - sx * sy / a->nx, vx = sxx - sx * sx / a->nx, vy = syy - sy * sy / a->nx;
      corr = vx > 0 && vy > 0 ? cov / sqrt(vx * vy) : 1.0;
   }
   memcpy(a->prev_nf, prof, sizeof(float) * (size_t)a->nx);
   a->nf_valid = 1;
   art_finding_t *f = art_add(a, K_NEAR_FIELD, corr > 0.5 ? 0.85f : 0.65f);
   if (!f)
      return;
   f->npoly = art_rect_polygon(a, 0, z1, 0, a->nx - 1, f->poly);
   snprintf(f->label, sizeof f->label, "Near-field clutter in the standoff");
   if (corr > -2)
      snprintf(f->basis, sizeof f->basis,
               "echoes %.0f dB above the display floor over the first %.2f mm of a %.2f mm anechoic standoff; "
               "frame-to-frame correlation %.2f (stationary)",
               sum / n, (z1 + 1) * a->dz * 1e3, skin * a->dz * 1e3, corr);
   else
      snprintf(f->basis, sizeof f->basis,
               "echoes %.0f dB above the display floor over the first %.2f mm of a %.2f mm anechoic standoff",
               sum / n, (z1 + 1) * a->dz * 1e3, skin * a->dz * 1e3);
   snprintf(f->advice, sizeof f->advice,
            "Use more gel standoff or a near-field preset; do not interpret echoes above the skin line");
}
