/* Per-frame preparation: B-mode to display dB, smoothed copies, the row
 * reference level and frame percentiles; colour planes into flat buffers.
 * Everything writes into buffers allocated in activate(). */
#include <math.h>
#include <string.h>

#include "art.h"

#define HIST_BINS 320 /* 0.125 dB bins over a display range of up to 40 dB */

/* Running-sum box filter along z (half width hz) of src into dst. */
static void box_z(const art_t *a, const float *src, float *dst, int hz)
{
   for (int ix = 0; ix < a->nx; ++ix) {
      const float *s = src + art_px(a, 0, ix);
      float *d = dst + art_px(a, 0, ix);
      double sum = 0;
      int n = 0;
      for (int iz = 0; iz < hz && iz < a->nz; ++iz, ++n)
         sum += s[iz];
      for (int iz = 0; iz < a->nz; ++iz) {
         int add = iz + hz, drop = iz - hz - 1;
         if (add < a->nz) {
            sum += s[add];
            ++n;
         }
         if (drop >= 0) {
            sum -= s[drop];
            --n;
         }
         d[iz] = (float)(sum / n);
      }
   }
}

/* Box filter along x (half width hx) of src into dst. */
static void box_x(const art_t *a, const float *src, float *dst, int hx)
{
   for (int ix = 0; ix < a->nx; ++ix) {
      int x0 = ix - hx < 0 ? 0 : ix - hx, x1 = ix + hx >= a->nx ? a->nx - 1 : ix + hx;
      float inv = 1.0f / (float)(x1 - x0 + 1);
      float *d = dst + art_px(a, 0, ix);
      memcpy(d, src + art_px(a, 0, x0), sizeof(float) * (size_t)a->nz);
      for (int k = x0 + 1; k <= x1; ++k) {
         const float *s = src + art_px(a, 0, k);
         for (int iz = 0; iz < a->nz; ++iz)
            d[iz] += s[iz];
      }
      for (int iz = 0; iz < a->nz; ++iz)
         d[iz] *= inv;
   }
}

static int hist_bin(const art_t *a, float v)
{
   int b = (int)(v / (float)a->p[P_DR_DB] * (HIST_BINS - 1) + 0.5f);
   return b < 0 ? 0 : b >= HIST_BINS ? HIST_BINS - 1 : b;
}

static float hist_value(const art_t *a, int b) { return (float)(b * a->p[P_DR_DB] / (HIST_BINS - 1)); }

/* Value at quantile q of the histogram holding n samples. */
static float hist_quantile(const art_t *a, const uint32_t *h, size_t n, double q)
{
   size_t target = (size_t)(q * (double)n), acc = 0;
   for (int b = 0; b < HIST_BINS; ++b) {
      acc += h[b];
      if (acc > target)
         return hist_value(a, b);
   }
   return (float)a->p[P_DR_DB];
}

/* Row reference: the median of the smoothed image along each row, i.e. the
 * level of the tissue at that depth when an artefact covers less than half
 * of the width. */
static void row_reference(art_t *a)
{
   for (int iz = 0; iz < a->nz; ++iz) {
      memset(a->hist, 0, sizeof(uint32_t) * HIST_BINS);
      for (int ix = 0; ix < a->nx; ++ix)
         a->hist[hist_bin(a, a->sm[art_px(a, iz, ix)])]++;
      a->rowref[iz] = hist_quantile(a, a->hist, (size_t)a->nx, 0.5);
   }
}

static void frame_percentiles(art_t *a)
{
   memset(a->hist, 0, sizeof(uint32_t) * HIST_BINS);
   for (size_t i = 0; i < a->npix; ++i)
      a->hist[hist_bin(a, a->sm[i])]++;
   a->p50 = hist_quantile(a, a->hist, a->npix, 0.5);
   a->p95 = hist_quantile(a, a->hist, a->npix, 0.95);
   a->floor_db = hist_quantile(a, a->hist, a->npix, 0.01);
}

int art_prepare_bmode(art_t *a, const sono_plane_t *b)
{
   const float dr = (float)a->p[P_DR_DB];
   for (int ix = 0; ix < a->nx; ++ix)
      for (int iz = 0; iz < a->nz; ++iz) {
         float v;
         if (b->dtype == SONO_DTYPE_UINT8)
            v = SONO_KIT_AT(uint8_t, b, iz, ix, 0) * (dr / 255.0f);
         else if (b->dtype == SONO_DTYPE_FLOAT32)
            v = SONO_KIT_AT(float, b, iz, ix, 0) + dr; /* float B-mode: dB re maximum, 0 at the top */
         else
            return -1;
         a->bm[art_px(a, iz, ix)] = art_clampf(isfinite(v) ? v : 0.0f, 0.0f, dr);
      }
   /* 0.22 mm axial x 0.25 mm lateral: averages speckle, keeps mm-scale structure */
   int hz = art_npx_z(a, 0.11e-3), hx = art_npx_x(a, 0.1e-3);
   box_z(a, a->bm, a->tmp, hz < 1 ? 1 : hz);
   box_x(a, a->tmp, a->sm, hx < 1 ? 1 : hx);
   box_x(a, a->bm, a->lat, 1);
   int hw = art_npx_x(a, 0.25e-3);
   box_x(a, a->bm, a->wide, hw < 2 ? 2 : hw);
   row_reference(a);
   frame_percentiles(a);
   return 0;
}

/* 10th percentile of the Doppler power of row iz (dB re frame maximum),
 * 0.5 dB bins over -100..0 dB: the noise floor at that depth while flow or
 * flash leaves a tenth of the row free (noise power over an ensemble is
 * narrowly spread, so its 10th percentile sits about 1 dB under its median). */
static float row_power_median(art_t *a, int iz)
{
   enum { BINS = 200 };
   uint32_t *h = a->hist;
   memset(h, 0, sizeof(uint32_t) * BINS);
   for (int ix = 0; ix < a->nx; ++ix) {
      int b = (int)((a->pow_db[art_px(a, iz, ix)] + 100.0f) * 2.0f);
      h[b < 0 ? 0 : b >= BINS ? BINS - 1 : b]++;
   }
   int target = a->nx / 10, acc = 0;
   for (int b = 0; b < BINS; ++b)
      if ((acc += (int)h[b]) > target)
         return b / 2.0f - 100.0f;
   return 0.0f;
}

void art_prepare_colour(art_t *a, const sono_frame_t *f)
{
   const sono_plane_t *v = sono_frame_plane(f, SONO_PLANE_VELOCITY);
   const sono_plane_t *p = sono_frame_plane(f, SONO_PLANE_POWER);
   const sono_plane_t *s = sono_frame_plane(f, SONO_PLANE_VARIANCE);
   a->vn = f->acquisition.nyquist_velocity_m_s;
   a->has_colour = v && p && s && v->dtype == SONO_DTYPE_FLOAT32 && p->dtype == SONO_DTYPE_FLOAT32 &&
                   s->dtype == SONO_DTYPE_FLOAT32 && a->vn > 0;
   if (!a->has_colour)
      return;
   for (int ix = 0; ix < a->nx; ++ix)
      for (int iz = 0; iz < a->nz; ++iz) {
         size_t i = art_px(a, iz, ix);
         float vv = SONO_KIT_AT(float, v, iz, ix, 0), pw = SONO_KIT_AT(float, p, iz, ix, 0);
         a->vel[i] = isfinite(vv) ? vv : 0.0f;
         a->pow_db[i] = isfinite(pw) ? pw : -200.0f;
         a->var[i] = SONO_KIT_AT(float, s, iz, ix, 0);
      }
   /* Colour is "shown" where the Doppler power clears the noise floor at
    * its depth (the row's 10th percentile) by colour_snr_db, as a scanner's colour
    * threshold does. The host's map is thresholded relative to the frame
    * maximum only, so it also colours noise, which rises with depth under
    * the TGC. */
   double nsum = 0;
   for (int iz = 0; iz < a->nz; ++iz) {
      float thr = row_power_median(a, iz) + (float)a->p[P_COLOUR_SNR_DB];
      nsum += thr;
      for (int ix = 0; ix < a->nx; ++ix) {
         size_t i = art_px(a, iz, ix);
         a->cmask[i] = a->vel[i] != 0.0f && a->pow_db[i] >= thr;
         if (!a->cmask[i])
            a->vel[i] = 0.0f;
      }
   }
   a->noise_db = (float)(nsum / a->nz - a->p[P_COLOUR_SNR_DB]);
}
