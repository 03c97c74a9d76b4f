/* Image helpers: separable box smoothing, row background, percentiles. */
#include <stdlib.h>
#include <string.h>

#include "an_internal.h"

/* Axial running sums of columns ix0..ix0+AN_BOX_LANES-1 into tmp. Each
 * column keeps its own double sum, updated in the same order as a
 * one-column walk (add the entering sample, then drop the leaving one), so
 * the result is identical; walking several columns together gives the CPU
 * independent add chains instead of one serial chain per column. */
#define AN_BOX_LANES 4 /* the interior below is written for 4 */
/* always inline (as the column form below): it then takes the AVX2 form
 * of an_box_filter's clone */
static inline __attribute__((always_inline)) void box_axial_block(const float *in, float *tmp, uint32_t nz, uint32_t ix0, int rz)
{
   const float *col[AN_BOX_LANES];
   float *t[AN_BOX_LANES];
   double s[AN_BOX_LANES];
   for (int j = 0; j < AN_BOX_LANES; ++j) {
      col[j] = in + (size_t)nz * (ix0 + j);
      t[j] = tmp + (size_t)nz * (ix0 + j);
      s[j] = 0;
   }
   int n = 0, inz = (int)nz;
   for (int iz = 0; iz <= rz && iz < inz; ++iz, ++n)
      for (int j = 0; j < AN_BOX_LANES; ++j)
         s[j] += col[j][iz];
   /* Three stretches with the same per-pixel arithmetic: the head, where
    * the window only grows; the interior, where a sample enters and one
    * leaves at every step and the count is constant (no tests, no count
    * updates, so the lanes run branch-free); and the tail. */
   int iz = 0;
   for (; iz < rz && iz < inz; ++iz) { /* nothing leaves yet */
      for (int j = 0; j < AN_BOX_LANES; ++j)
         t[j][iz] = (float)(s[j] / n);
      if (iz + rz + 1 < inz) {
         for (int j = 0; j < AN_BOX_LANES; ++j)
            s[j] += col[j][iz + rz + 1];
         ++n;
      }
   }
   /* The four columns in one vector of doubles (one AVX register in the
    * AVX2 clone, two SSE2 registers otherwise): the conversions, divpd,
    * addpd and subpd round each lane exactly as the scalar operations do. */
   typedef double v4d __attribute__((vector_size(32)));
   typedef float v4f __attribute__((vector_size(16)));
   const v4d dn = {(double)n, (double)n, (double)n, (double)n};
   v4d s4 = {s[0], s[1], s[2], s[3]};
   const int end = inz - rz - 1; /* the last row whose window lies inside the column, plus one */
   for (; iz >= rz && iz < end; ++iz) {
      v4f q = __builtin_convertvector(s4 / dn, v4f);
      t[0][iz] = q[0];
      t[1][iz] = q[1];
      t[2][iz] = q[2];
      t[3][iz] = q[3];
      int a = iz + rz + 1, d = iz - rz;
      v4f af = {col[0][a], col[1][a], col[2][a], col[3][a]}, df = {col[0][d], col[1][d], col[2][d], col[3][d]};
      s4 = s4 + __builtin_convertvector(af, v4d) - __builtin_convertvector(df, v4d);
   }
   s[0] = s4[0]; s[1] = s4[1]; s[2] = s4[2]; s[3] = s4[3];
   for (; iz < inz; ++iz) {
      for (int j = 0; j < AN_BOX_LANES; ++j)
         t[j][iz] = (float)(s[j] / n);
      int add = iz + rz + 1, drop = iz - rz;
      if (add < inz) {
         for (int j = 0; j < AN_BOX_LANES; ++j)
            s[j] += col[j][add];
         ++n;
      }
      if (drop >= 0) {
         for (int j = 0; j < AN_BOX_LANES; ++j)
            s[j] -= col[j][drop];
         --n;
      }
   }
}

static inline __attribute__((always_inline)) void box_axial_column(const float *col, float *t, uint32_t nz, int rz)
{
   double s = 0;
   int n = 0;
   for (int iz = 0; iz <= rz && iz < (int)nz; ++iz, ++n)
      s += col[iz];
   for (int iz = 0; iz < (int)nz; ++iz) {
      t[iz] = (float)(s / n);
      int add = iz + rz + 1, drop = iz - rz;
      if (add < (int)nz) { s += col[add]; ++n; }
      if (drop >= 0) { s -= col[drop]; --n; }
   }
}

static void scale_column(float *o, uint32_t nz, int ix, int rx, uint32_t nx)
{
   int lo = ix - rx < 0 ? 0 : ix - rx, hi = ix + rx >= (int)nx ? (int)nx - 1 : ix + rx;
   float inv = 1.0f / (float)(hi - lo + 1);
   for (uint32_t iz = 0; iz < nz; ++iz)
      o[iz] *= inv;
}

/* Mean over a (2rz+1) x (2rx+1) box, edges clamped to the image. Running
 * sums keep it O(pixels) whatever the radius. */
AN_HOT void an_box_filter(const float *in, float *out, float *tmp, uint32_t nz, uint32_t nx, int rz, int rx)
{
   uint32_t ix = 0;
   for (; ix + AN_BOX_LANES <= nx; ix += AN_BOX_LANES)
      box_axial_block(in, tmp, nz, ix, rz);
   for (; ix < nx; ++ix)
      box_axial_column(in + (size_t)nz * ix, tmp + (size_t)nz * ix, nz, rz);
   /* Lateral pass column by column (columns are contiguous): running sums
    * of whole columns vectorise, where a per-row walk would stride by nz.
    * Each column is scaled once the next one has used its unscaled sum,
    * while both are still in cache. */
   for (int jx = 0; jx < (int)nx; ++jx) {
      float *o = out + (size_t)nz * jx;
      if (jx == 0) {
         memset(o, 0, nz * sizeof *o);
         for (int k = 0; k <= rx && k < (int)nx; ++k) {
            const float *t = tmp + (size_t)nz * k;
            for (uint32_t iz = 0; iz < nz; ++iz)
               o[iz] += t[iz];
         }
         continue;
      }
      const float *prev = o - nz;
      int add = jx + rx, drop = jx - rx - 1;
      const float *ta = add < (int)nx ? tmp + (size_t)nz * add : NULL;
      const float *td = drop >= 0 ? tmp + (size_t)nz * drop : NULL;
      /* the same expression as prev + (ta or 0) - (td or 0) in every case */
      if (ta && td)
         for (uint32_t iz = 0; iz < nz; ++iz)
            o[iz] = prev[iz] + ta[iz] - td[iz];
      else if (ta)
         for (uint32_t iz = 0; iz < nz; ++iz)
            o[iz] = prev[iz] + ta[iz] - 0.0f;
      else if (td)
         for (uint32_t iz = 0; iz < nz; ++iz)
            o[iz] = prev[iz] + 0.0f - td[iz];
      else
         for (uint32_t iz = 0; iz < nz; ++iz)
            o[iz] = prev[iz] + 0.0f - 0.0f;
      scale_column(out + (size_t)nz * (jx - 1), nz, jx - 1, rx, nx);
   }
   scale_column(out + (size_t)nz * (nx - 1), nz, (int)nx - 1, rx, nx);
}

/* The median of v[0..n-1] (the rank sono_quantile(v, n, 0.5) takes), by
 * one branch-free split around a guess and an exact selection on the side
 * that holds the rank. Every sample on the lower side is below every
 * sample on the upper side, so the rank's value is the same whatever the
 * guess; with a guess close to the median (the previous row's: layers run
 * nearly horizontally) the rank lies near an end of its side, where the
 * one-pass end-rank selection takes it instead of a quickselect over the
 * whole row. */
static float median_near(float *v, size_t n, float guess)
{
   size_t k = (size_t)(0.5 * (double)(n - 1) + 0.5), s = 0;
   for (size_t i = 0; i < n; ++i) {
      const float x = v[i];
      v[i] = v[s];
      v[s] = x;
      s += x < guess;
   }
   return k < s ? sono_select_kth(v, s, k) : sono_select_kth(v + s, n - s, k - s);
}

#define BG_BAND 16 /* rows gathered per walk over the columns (one cache line of a column) */

/* Copies the samples of rows z0..z0+nb-1 that an_row_background takes
 * (every second column, off the traced lumen) into band[k * cap ..] for
 * row z0 + k and their counts into n[k]. The image is column-major:
 * reading one row alone touches a cache line per column for one sample,
 * and at a column stride of a multiple of 1 kB those lines fall into a few
 * L1 sets and are evicted before the next row can use them; a band reads
 * each line once. */
static inline __attribute__((always_inline)) void gather_band(const struct sono_an_context *c, uint32_t z0,
                                                              uint32_t nb, float *band, size_t cap, size_t *n)
{
   for (uint32_t k = 0; k < nb; ++k)
      n[k] = 0;
   for (uint32_t ix = 0; ix < c->nx; ix += 2) {
      size_t p = an_pix(c, (int)z0, (int)ix);
      const float *sm2 = c->sm2 + p;
      const uint8_t *lm = c->lumen + p;
#pragma GCC unroll 16
      for (uint32_t k = 0; k < nb; ++k) { /* branch-free: the slot past the row's end is overwritten or unused */
         band[k * cap + n[k]] = sm2[k];
         n[k] += !lm[k];
      }
   }
}

/* Whether each row z0 + k of the band crosses traced lumen (on the
 * columns an_row_background reads) into any[k]; returns whether one does. */
static inline __attribute__((always_inline)) int band_lumen(const struct sono_an_context *c, uint32_t z0,
                                                             uint32_t nb, uint8_t *any)
{
   uint8_t acc[BG_BAND] = {0};
   for (uint32_t ix = 0; ix < c->nx; ix += 2) {
      const uint8_t *lm = c->lumen + an_pix(c, (int)z0, (int)ix);
#pragma GCC unroll 16
      for (uint32_t k = 0; k < nb; ++k)
         acc[k] |= lm[k];
   }
   int some = 0;
   for (uint32_t k = 0; k < nb; ++k)
      some |= any[k] = acc[k] != 0;
   return some;
}

/* The rows of one band: gather, then each row's median (rows without
 * lumen skipped when lumen_rows_only), the guess carried from row to row. */
static inline __attribute__((always_inline)) void band_medians(struct sono_an_context *c, uint32_t z0, uint32_t nb,
                                                               int lumen_rows_only, float *guess, int *have_guess)
{
   const size_t cap = (c->nx + 1) / 2; /* scratch holds nz * nx floats */
   size_t n[BG_BAND];
   uint8_t any[BG_BAND];
   if (lumen_rows_only && !band_lumen(c, z0, nb, any))
      return;
   gather_band(c, z0, nb, c->scratch, cap, n);
   for (uint32_t k = 0; k < nb; ++k) {
      uint32_t iz = z0 + k;
      float *v = c->scratch + k * cap;
      if (lumen_rows_only && !any[k])
         continue;
      if (!n[k]) {
         c->row_median[iz] = 0.0f;
         continue;
      }
      c->row_median[iz] = *have_guess ? median_near(v, n[k], *guess) : sono_quantile(v, n[k], 0.5);
      *guess = c->row_median[iz];
      *have_guess = 1;
   }
}

/* The tissue level of each depth row: the median of the smoothed echo across
 * the row, skipping traced lumen. Layers are near-horizontal in facial
 * scans, and a deposit covering less than half the row leaves it unbiased.
 * A 3-row running mean of the medians then removes jitter. */
void an_row_background(struct sono_an_context *c, int lumen_rows_only)
{
   float guess = 0.0f;
   int have_guess = 0;
   /* every second column: the median of ~130 smoothed samples is as
    * stable as of 256, at half the selection cost; rows in bands of
    * BG_BAND (a constant count where the band is whole, so the row loops
    * unroll) */
   for (uint32_t z0 = 0; z0 < c->nz; z0 += BG_BAND) {
      uint32_t nb = c->nz - z0 < BG_BAND ? c->nz - z0 : BG_BAND;
      if (nb == BG_BAND)
         band_medians(c, z0, BG_BAND, lumen_rows_only, &guess, &have_guess);
      else
         band_medians(c, z0, nb, lumen_rows_only, &guess, &have_guess);
   }
   for (uint32_t iz = 0; iz < c->nz; ++iz) {
      int a = iz > 0 ? (int)iz - 1 : 0, b = iz + 1 < c->nz ? (int)iz + 1 : (int)iz;
      c->bg[iz] = (c->row_median[a] + c->row_median[iz] + c->row_median[b]) / 3.0f;
   }
}

