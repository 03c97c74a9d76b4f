/* Per-frame preparation: B-mode to display dB, smoothed copies, the row
 * reference level and frame percentiles; colour planes into flat buffers.
 * Everything writes into buffers allocated in activate(). */
#include <math.h>
#include <string.h>

#include "art.h"

#define HIST_BINS ART_HIST_BINS /* 0.125 dB bins over a display range of 40 dB */
#define ROW_BAND ART_ROW_BAND

/* The per-pixel passes are also built for AVX2, picked when the plugin is
 * loaded: twice the lanes per instruction, the same operations in the same
 * order (AVX2 does not bring FMA, and contraction is off), so the results
 * are identical on either path. */
#define ART_PREP_HOT __attribute__((target_clones("avx2", "default")))

/* Running-sum box filter along z (half width hz) of one column. Edge rows
 * average what lies in the frame. */
static void box_z_column(const float *s, float *d, int nz, int hz, float inv_full)
{
   float sum = 0;
   int n = 0;
   for (int iz = 0; iz < hz && iz < nz; ++iz, ++n)
      sum += s[iz];
   for (int iz = 0; iz < nz; ++iz) {
      int add = iz + hz, drop = iz - hz - 1;
      if (add < nz) {
         sum += s[add];
         ++n;
      }
      if (drop >= 0) {
         sum -= s[drop];
         --n;
      }
      d[iz] = n == 2 * hz + 1 ? sum * inv_full : sum / (float)n;
   }
}

#define BOX_LANES 8 /* columns filtered side by side */

/* box_z_column over BOX_LANES columns at once, rows hz+1 .. nz-hz-1 (every
 * window whole) in one branch-free pass: each column's running sum is a
 * serial chain of dependent adds, and eight independent chains keep the
 * adder busy. Every column sees the same operations in the same order as
 * box_z_column, so the result is bit-identical. */
ART_PREP_HOT static void box_z_lanes(const float *s, float *d, int nz, int hz, float inv_full)
{
   float sum[BOX_LANES];
   for (int j = 0; j < BOX_LANES; ++j) {
      const float *c = s + (size_t)nz * (size_t)j;
      float t = 0;
      for (int iz = 0; iz < hz; ++iz)
         t += c[iz];
      for (int iz = 0; iz <= hz; ++iz) { /* rows 0..hz: growing windows, nothing dropped */
         t += c[iz + hz];
         int n = iz + hz + 1;
         d[(size_t)nz * (size_t)j + (size_t)iz] = n == 2 * hz + 1 ? t * inv_full : t / (float)n;
      }
      sum[j] = t;
   }
   for (int iz = hz + 1; iz + hz < nz; ++iz)
      for (int j = 0; j < BOX_LANES; ++j) {
         const float *c = s + (size_t)nz * (size_t)j;
         sum[j] += c[iz + hz];
         sum[j] -= c[iz - hz - 1];
         d[(size_t)nz * (size_t)j + (size_t)iz] = sum[j] * inv_full;
      }
   for (int j = 0; j < BOX_LANES; ++j) { /* the bottom rows: shrinking windows */
      const float *c = s + (size_t)nz * (size_t)j;
      float t = sum[j];
      int n = 2 * hz + 1;
      for (int iz = nz - hz > hz + 1 ? nz - hz : hz + 1; iz < nz; ++iz) {
         t -= c[iz - hz - 1];
         --n;
         d[(size_t)nz * (size_t)j + (size_t)iz] = n == 2 * hz + 1 ? t * inv_full : t / (float)n;
      }
   }
}

ART_PREP_HOT static void box_z(const art_t *a, const float *src, float *dst, int hz)
{
   const int nz = a->nz;
   const float inv_full = 1.0f / (float)(2 * hz + 1);
   int ix = 0;
   if (nz > 2 * hz + 2)
      for (; ix + BOX_LANES <= a->nx; ix += BOX_LANES)
         box_z_lanes(src + art_px(a, 0, ix), dst + art_px(a, 0, ix), nz, hz, inv_full);
   for (; ix < a->nx; ++ix)
      box_z_column(src + art_px(a, 0, ix), dst + art_px(a, 0, ix), nz, hz, inv_full);
}

/* Box filter along x (half width hx) of src into dst: a running sum of
 * whole columns (one add and one subtract per pixel whatever the width),
 * kept in `acc` (nz floats). Edge columns average what lies in the frame.
 * box_x_first sums the columns before column 0's window end; box_x_step
 * then moves the window to column ix and writes that column. */
static inline __attribute__((always_inline)) void box_x_first(const art_t *a, const float *src, int hx, float *acc)
{
   memset(acc, 0, sizeof(float) * (size_t)a->nz);
   for (int k = 0; k < hx && k < a->nx; ++k) {
      const float *s = src + art_px(a, 0, k);
      for (int iz = 0; iz < a->nz; ++iz)
         acc[iz] += s[iz];
   }
}

static inline __attribute__((always_inline)) void box_x_step(const art_t *a, const float *src, float *dst, int hx,
                                                             float *acc, int ix)
{
   const int nz = a->nz, nx = a->nx;
   int add = ix + hx, drop = ix - hx - 1;
   if (add < nx) {
      const float *s = src + art_px(a, 0, add);
      for (int iz = 0; iz < nz; ++iz)
         acc[iz] += s[iz];
   }
   if (drop >= 0) {
      const float *s = src + art_px(a, 0, drop);
      for (int iz = 0; iz < nz; ++iz)
         acc[iz] -= s[iz];
   }
   int x0 = ix - hx < 0 ? 0 : ix - hx, x1 = ix + hx >= nx ? nx - 1 : ix + hx;
   float inv = 1.0f / (float)(x1 - x0 + 1);
   float *d = dst + art_px(a, 0, ix);
   for (int iz = 0; iz < nz; ++iz)
      d[iz] = acc[iz] * inv;
}

ART_PREP_HOT static void box_x(const art_t *a, const float *src, float *dst, int hx, float *acc)
{
   box_x_first(a, src, hx, acc);
   for (int ix = 0; ix < a->nx; ++ix)
      box_x_step(a, src, dst, hx, acc, ix);
}

/* Two box filters along x of the same src (half widths h1 and h2, sums in
 * acc1 and acc2, nz floats each) in one walk over the columns: each output
 * gets box_x's operations in box_x's order, but src is read from memory
 * once instead of twice (a frame plane does not stay in L2). */
ART_PREP_HOT static void box_x_pair(const art_t *a, const float *src, float *dst1, int h1, float *acc1, float *dst2,
                                    int h2, float *acc2)
{
   box_x_first(a, src, h1, acc1);
   box_x_first(a, src, h2, acc2);
   for (int ix = 0; ix < a->nx; ++ix) {
      box_x_step(a, src, dst1, h1, acc1, ix);
      box_x_step(a, src, dst2, h2, acc2, ix);
   }
}

static int hist_bin(float scale, float v)
{
   int b = (int)(v * scale + 0.5f);
   return b < 0 ? 0 : b >= HIST_BINS ? HIST_BINS - 1 : b;
}

/* Histogram bins of the 16 rows of a whole band (ROW_BAND) of one column,
 * offset by the row's histogram: eight lanes at a time, each lane doing
 * hist_bin()'s operations (multiply, add, truncate, clamp), so the bins
 * are the same; only the increments stay scalar. The bin is
 * (v + add) * mul when `add_first`, else v * mul + add. */
typedef float art_v8f __attribute__((vector_size(32)));
typedef int32_t art_v8i __attribute__((vector_size(32)));
static inline __attribute__((always_inline)) void band_bins8(const float *c, float mul, float add, int add_first,
                                                             int top, int first_row, int bins, int32_t *idx)
{
   art_v8f v;
   memcpy(&v, c, sizeof v);
   art_v8i b = __builtin_convertvector(add_first ? (v + add) * mul : v * mul + add, art_v8i);
   const art_v8i zero = {0}, hi = zero + top;
   b &= ~(b < zero);
   art_v8i over = b > hi;
   b = (b & ~over) | (hi & over);
   const art_v8i row = {0, 1, 2, 3, 4, 5, 6, 7};
   b += (row + first_row) * bins;
   memcpy(idx, &b, sizeof b);
}

static inline __attribute__((always_inline)) void band_count16(uint16_t *h, const float *c, float mul, float add,
                                                               int add_first, int bins)
{
   _Static_assert(ROW_BAND == 16, "band_count16 fills a band of 16 rows");
   int32_t idx[16];
   band_bins8(c, mul, add, add_first, bins - 1, 0, bins, idx);
   band_bins8(c + 8, mul, add, add_first, bins - 1, 8, bins, idx + 8);
   for (int k = 0; k < 16; ++k)
      h[idx[k]]++;
}

static float hist_value(const art_t *a, int b) { return b * a->range / (HIST_BINS - 1); }

/* Value at quantile q of the histogram holding n samples. */
static float hist_quantile(const art_t *a, const uint32_t *h, size_t n, double q)
{
   size_t target = (size_t)(q * (double)n), acc = 0;
   for (int b = 0; b < HIST_BINS; ++b) {
      acc += h[b];
      if (acc > target)
         return hist_value(a, b);
   }
   return a->range;
}

/* Row reference: the median of the smoothed image along each row, i.e. the
 * level of the tissue at that depth when an artefact covers less than half
 * of the width. Rows are taken in bands of ROW_BAND so that the walk over
 * the column-major image reads whole cache lines and the band's histograms
 * stay in L1. */
ART_PREP_HOT static void row_reference(art_t *a)
{
   uint16_t *h = a->rowhist;
   const float scale = (HIST_BINS - 1) / a->range;
   memset(a->hist, 0, sizeof(uint32_t) * HIST_BINS);
   for (int z0 = 0; z0 < a->nz; z0 += ROW_BAND) {
      int nb = a->nz - z0 < ROW_BAND ? a->nz - z0 : ROW_BAND;
      memset(h, 0, sizeof(uint16_t) * HIST_BINS * ROW_BAND);
      for (int ix = 0; ix < a->nx; ++ix) {
         const float *c = a->sm + art_px(a, z0, ix);
         if (nb == ROW_BAND)
            band_count16(h, c, scale, 0.5f, 0, HIST_BINS);
         else
            for (int k = 0; k < nb; ++k)
               h[k * HIST_BINS + hist_bin(scale, c[k])]++;
      }
      for (int k = 0; k < nb; ++k) {
         for (int b = 0; b < HIST_BINS; ++b) /* the frame histogram is the sum of the rows' */
            a->hist[b] += h[k * HIST_BINS + b];
         size_t target = (size_t)a->nx / 2, acc = 0;
         int b = 0;
         for (; b < HIST_BINS - 1; ++b)
            if ((acc += h[k * HIST_BINS + b]) > target)
               break;
         a->rowref[z0 + k] = hist_value(a, b);
      }
   }
}

/* Frame percentiles from the frame histogram that row_reference() summed. */
static void frame_percentiles(art_t *a)
{
   a->p50 = hist_quantile(a, a->hist, a->npix, 0.5);
   a->p95 = hist_quantile(a, a->hist, a->npix, 0.95);
   a->floor_db = hist_quantile(a, a->hist, a->npix, 0.01);
}

/* Display B-mode (uint8 or float dB re maximum) to display dB. */
ART_PREP_HOT static int display_db(art_t *a, const sono_plane_t *b)
{
   const float dr = (float)a->p[P_DR_DB];
   if (b->dtype == SONO_DTYPE_UINT8) {
      float lut[256];
      for (int i = 0; i < 256; ++i)
         lut[i] = (float)i * (dr / 255.0f);
      for (int ix = 0; ix < a->nx; ++ix) {
         const uint8_t *s = &SONO_KIT_AT(uint8_t, b, 0, ix, 0);
         float *d = a->bm + art_px(a, 0, ix);
         if (b->stride[0] == 1)
            for (int iz = 0; iz < a->nz; ++iz)
               d[iz] = lut[s[iz]];
         else
            for (int iz = 0; iz < a->nz; ++iz)
               d[iz] = lut[s[(int64_t)iz * b->stride[0]]];
      }
   } else if (b->dtype == SONO_DTYPE_FLOAT32) {
      for (int ix = 0; ix < a->nx; ++ix)
         for (int iz = 0; iz < a->nz; ++iz) {
            float v = SONO_KIT_AT(float, b, iz, ix, 0) + dr; /* float B-mode: dB re maximum, 0 at the top */
            a->bm[art_px(a, iz, ix)] = art_clampf(isfinite(v) ? v : 0.0f, 0.0f, dr);
         }
   } else {
      return -1;
   }
   size_t sat = 0;
   for (size_t i = 0; i < a->npix; ++i)
      sat += a->bm[i] >= dr - 0.3f;
   a->sat_frac = (double)sat / (double)a->npix;
   a->range = dr;
   return 0;
}

/* log2(x) for x > 0 to about 1e-4 (0.0003 dB in 10 log10): exponent from
 * the float's bits, a quartic on the mantissa in [1, 2). */
static inline float fast_log2(float x)
{
   union {
      float f;
      uint32_t u;
   } v = {x};
   float e = (float)(int32_t)((v.u >> 23) & 255u) - 127.0f;
   v.u = (v.u & 0x007fffffu) | 0x3f800000u;
   float m = v.f;
   return e + (-1.7417939f + (2.8212026f + (-1.4699568f + (0.44717955f - 0.056570851f * m) * m) * m) * m);
}

#define IQ_BINS 512 /* 0.25 dB bins of |IQ|^2 over 128 dB under the maximum */

/* Working image from |IQ| of ensemble sample 0 (the sample the host's
 * B-mode shows), in a range of work_range_db instead of the display's 40 dB.
 * The display is scaled to the frame maximum, so a very bright reflector
 * (silicone, CaHA, bone) pushes ordinary tissue to the display floor and a
 * shadow under it cannot be seen. Here the frame keeps the display's
 * scaling (0 at 40 dB under the maximum) unless its tissue median would sit
 * less than tissue_level_db above that floor; then the whole image is raised
 * until it does, and the maximum lands above 40 dB. Normal frames keep their
 * display levels; compressed frames get their tissue levels back.
 * |IQ|^2 is taken on every second depth and column (the smoothing of every
 * detector is wider than that) and the rest is interpolated. */
ART_PREP_HOT static int iq_db(art_t *a, const sono_plane_t *iq)
{
   const int nz = a->nz, nx = a->nx;
   const float to_db = 3.01029996f; /* 10 log10(2) */
   float mx = -1e30f;
   for (int ix = 0; ix < nx; ix += 2) {
      const float *c = (const float *)iq->data + 2 * (int64_t)ix * iq->stride[1];
      const int64_t sz = 2 * iq->stride[0];
      float *d = a->bm + art_px(a, 0, ix);
      for (int iz = 0; iz < nz; iz += 2) {
         float p = c[iz * sz] * c[iz * sz] + c[iz * sz + 1] * c[iz * sz + 1];
         float l = to_db * fast_log2(p > 1e-30f ? p : 1e-30f);
         d[iz] = l;
         mx = l > mx ? l : mx;
      }
   }
   uint32_t *h = a->hist;
   memset(h, 0, sizeof(uint32_t) * IQ_BINS);
   size_t n = 0;
   for (int ix = 0; ix < nx; ix += 2) {
      const float *d = a->bm + art_px(a, 0, ix);
      for (int iz = 0; iz < nz; iz += 2, ++n) {
         int b = (int)((mx - d[iz]) * 4.0f);
         h[b < 0 ? 0 : b >= IQ_BINS ? IQ_BINS - 1 : b]++;
      }
   }
   size_t acc = 0;
   int b = 0;
   for (; b < IQ_BINS - 1; ++b)
      if ((acc += h[b]) > n / 2)
         break;
   float median = mx - b * 0.25f; /* of the raw speckle; gain uses the smoothed one */
   const float dr = (float)a->p[P_DR_DB], range = (float)a->p[P_WORK_RANGE_DB];
   float lift = (float)a->p[P_TISSUE_LEVEL_DB] - (median - mx + dr);
   float off = dr - mx + (lift > 0 ? lift : 0);
   /* the gain rules were set on the median of the smoothed display image,
    * which cannot fall under its floor (dr under the maximum): taken after
    * smoothing (art_prepare_bmode) as p50 - off */
   a->iq_off = off;
   a->iq_floor = mx - dr;
   a->range = range;
   for (int ix = 0; ix < nx; ix += 2) {
      float *d = a->bm + art_px(a, 0, ix);
      for (int iz = 0; iz < nz; iz += 2)
         d[iz] = art_clampf(d[iz] + off, 0.0f, range);
      for (int iz = 1; iz + 1 < nz; iz += 2)
         d[iz] = 0.5f * (d[iz - 1] + d[iz + 1]);
      if (!(nz & 1))
         d[nz - 1] = d[nz - 2];
   }
   for (int ix = 1; ix < nx; ix += 2) {
      float *d = a->bm + art_px(a, 0, ix);
      const float *l = d - nz, *r = ix + 1 < nx ? d + nz : l;
      for (int iz = 0; iz < nz; ++iz)
         d[iz] = 0.5f * (l[iz] + r[iz]);
   }
   return 0;
}

/* Fraction of display pixels at the top of the 8-bit display range. */
ART_PREP_HOT static double saturated_u8(const art_t *a, const sono_plane_t *b)
{
   size_t sat = 0;
   for (int ix = 0; ix < a->nx; ++ix) {
      const uint8_t *s = &SONO_KIT_AT(uint8_t, b, 0, ix, 0);
      uint32_t n = 0;
      if (b->stride[0] == 1)
         for (int iz = 0; iz < a->nz; ++iz)
            n += s[iz] >= 254; /* within 0.3 dB of the top */
      else
         for (int iz = 0; iz < a->nz; ++iz)
            n += s[(int64_t)iz * b->stride[0]] >= 254;
      sat += n;
   }
   return (double)sat / (double)a->npix;
}

ART_PREP_HOT int art_prepare_bmode(art_t *a, const sono_frame_t *f, const sono_plane_t *b)
{
   const sono_plane_t *iq = sono_frame_plane(f, SONO_PLANE_IQ);
   a->median_dbfs = NAN;
   int iq_image = 0;
   if (iq && iq->dtype == SONO_DTYPE_COMPLEX64 && (int)iq->shape[0] == a->nz && (int)iq->shape[1] == a->nx &&
       b->dtype == SONO_DTYPE_UINT8) {
      a->sat_frac = saturated_u8(a, b);
      iq_db(a, iq);
      iq_image = 1;
   } else if (display_db(a, b)) {
      return -1;
   }
   /* 0.22 mm axial x 0.25 mm lateral: averages speckle, keeps mm-scale structure */
   int hz = art_npx_z(a, 0.11e-3), hx = art_npx_x(a, 0.1e-3);
   box_z(a, a->bm, a->tmp, hz < 1 ? 1 : hz);
   box_x(a, a->tmp, a->sm, hx < 1 ? 1 : hx, a->col);
   int hw = art_npx_x(a, 0.25e-3); /* a->col holds 4 * max(nz, nx) floats */
   box_x_pair(a, a->bm, a->lat, 1, a->col, a->wide, hw < 2 ? 2 : hw, a->col + a->nz);
   row_reference(a);
   frame_percentiles(a);
   if (iq_image) {
      double m = a->p50 - a->iq_off;
      a->median_dbfs = (m > a->iq_floor ? m : a->iq_floor) - 20.0 * log10(a->p[P_IQ_FULL_SCALE]);
   }
   return 0;
}

/* 10th percentile of the Doppler power of each row of the band z0..z0+nb-1
 * (dB re frame maximum, 0.5 dB bins over -100..0 dB) into a->rowthr: the
 * noise floor at that depth while flow or flash leaves a tenth of the row
 * free (noise power over an ensemble is narrowly spread, so its 10th
 * percentile sits about 1 dB under its median). */
ART_PREP_HOT static void band_power_floor(art_t *a, int z0, int nb)
{
   enum { BINS = 200 };
   uint16_t *h = a->rowhist;
   memset(h, 0, sizeof(uint16_t) * BINS * ROW_BAND);
   for (int ix = 0; ix < a->nx; ++ix) {
      const float *c = a->pow_db + art_px(a, z0, ix);
      if (nb == ROW_BAND) {
         band_count16(h, c, 2.0f, 100.0f, 1, BINS);
         continue;
      }
      for (int k = 0; k < nb; ++k) {
         int b = (int)((c[k] + 100.0f) * 2.0f);
         h[k * BINS + (b < 0 ? 0 : b >= BINS ? BINS - 1 : b)]++;
      }
   }
   for (int k = 0; k < nb; ++k) {
      int target = a->nx / 10, acc = 0, b = 0;
      for (; b < BINS; ++b)
         if ((acc += (int)h[k * BINS + b]) > target)
            break;
      a->rowthr[k] = b < BINS ? b / 2.0f - 100.0f : 0.0f;
   }
}

/* The noise floor of a row rises with depth no faster than the TGC that
 * undoes the tissue's attenuation: at most FLOOR_RISE_DB_CM_MHZ (two-way,
 * above skeletal muscle's 1.2 dB/cm/MHz one-way, the most attenuating soft
 * tissue of the face) per cm and MHz. A row whose 10th percentile stands
 * higher than that above its neighbours is not noise: a vessel running
 * across the frame fills more than nine tenths of its rows, and taking its
 * own flow power as their floor hid the middle of its lumen (phantom: the
 * colour of a horizontal 1.8 mm artery kept only its upper and lower
 * thirds). Lower envelope of the floors under that slope: two passes. */
#define FLOOR_RISE_DB_CM_MHZ 3.0
static void limit_floor_rise(const art_t *a, float *floor_db, double f0_hz)
{
   double mhz = f0_hz > 0 ? f0_hz * 1e-6 : 20.0;
   const float step = (float)(FLOOR_RISE_DB_CM_MHZ * mhz * 100.0 * a->dz);
   for (int iz = 1; iz < a->nz; ++iz)
      if (floor_db[iz] > floor_db[iz - 1] + step)
         floor_db[iz] = floor_db[iz - 1] + step;
   for (int iz = a->nz - 2; iz >= 0; --iz)
      if (floor_db[iz] > floor_db[iz + 1] + step)
         floor_db[iz] = floor_db[iz + 1] + step;
}

/* Colour grows from the pixels that clear the noise floor by
 * colour_snr_db into their neighbours that clear it by colour_grow_db less
 * (hysteresis, as flow is continuous): a vessel whose flow stands only
 * about 20 dB over the floor (a deep or weak vessel under a noisy TGC)
 * kept a few scattered pixels and lost its shape, while noise, spread a
 * few dB about its floor, has no seeds to grow from. The colour is the
 * 8-connected components of the lower mask that hold a seed
 * (art_components_seeded, in art_detect_colour; flash reads the seeds). */

/* Tissue motion (pulsation, breathing) moves the tissue as one body: after
 * the wall filter its residue colours bright tissue everywhere with one and
 * the same slow velocity, which a scanner's low-velocity reject hides. When
 * a fifth or more of the coloured pixels share one velocity within
 * +-TISSUE_TOL of VN, below TISSUE_MAX of VN, those pixels are not colour
 * (blood has a spread of speeds; noise and flash have random phase). */
#define TISSUE_BINS 400 /* 0.005 VN over -VN..VN */
#define TISSUE_TOL 0.01
#define TISSUE_MAX 0.3
static float tissue_scale(const art_t *a) { return (float)(TISSUE_BINS / (2.0 * a->vn)); }

/* Velocity histogram of the shown pixels (every 4th pixel of the frame:
 * the mode of a shared velocity stays) of column ix, added into a->hist;
 * called right after the column's colour masks are written, while they are
 * still in L1, instead of reading the velocity plane again. Returns the
 * number of shown pixels counted. */
static size_t tissue_hist_column(art_t *a, int ix)
{
   uint32_t *h = a->hist; /* free after the B-mode percentiles */
   const float scale = tissue_scale(a), vn = (float)a->vn;
   size_t i0 = art_px(a, 0, ix), shown = 0;
   const float *vel = a->vel + i0;
   const uint8_t *cm = a->cmask + i0;
   for (int iz = (int)((4 - i0 % 4) % 4); iz < a->nz; iz += 4) {
      int b = (int)((vel[iz] + vn) * scale);
      b = b < 0 ? 0 : b >= TISSUE_BINS ? TISSUE_BINS - 1 : b;
      h[b] += cm[iz];
      shown += cm[iz];
   }
   return shown;
}

/* `shown`: the shown pixels counted into a->hist by tissue_hist_column. */
ART_PREP_HOT static void reject_tissue_motion(art_t *a, size_t shown)
{
   const uint32_t *h = a->hist;
   const float scale = tissue_scale(a);
   int mode = 0;
   for (int b = 1; b < TISSUE_BINS; ++b)
      if (h[b] > h[mode])
         mode = b;
   uint32_t near = h[mode] + (mode > 0 ? h[mode - 1] : 0) + (mode + 1 < TISSUE_BINS ? h[mode + 1] : 0);
   float vmode = (float)((mode + 0.5) / scale - a->vn);
   if (shown == 0 || near < shown / 5 || fabsf(vmode) > (float)(TISSUE_MAX * a->vn))
      return;
   const float tol = (float)(TISSUE_TOL * a->vn) + 1.0f / scale;
   /* Unshown pixels hold velocity 0 and mask 0 (art_prepare_colour), so
    * they need no test: whether or not 0 lies within tol of vmode, they stay
    * 0. Two flat loops the compiler vectorises, column by column so that
    * the second finds the column in L1. */
   const int nz = a->nz; /* a local: a byte store could alias a->nz */
   for (int ix = 0; ix < a->nx; ++ix) {
      size_t i0 = art_px(a, 0, ix);
      uint8_t *restrict cm = a->cmask + i0;
      float *restrict vel = a->vel + i0;
      uint8_t *restrict lo = a->aflags + i0; /* the lower colour mask (art_prepare_colour) */
      for (int i = 0; i < nz; ++i) {
         uint8_t keep = (uint8_t)(fabsf(vel[i] - vmode) > tol);
         cm[i] = (uint8_t)(cm[i] & keep);
         lo[i] = (uint8_t)(lo[i] & keep);
      }
      for (int i = 0; i < nz; ++i)
         vel[i] = lo[i] ? vel[i] : 0.0f;
   }
   a->tissue_motion = vmode;
}

/* dst = src where finite, else `bad`. */
static void copy_finite(float *restrict dst, const float *restrict src, int n, float bad)
{
   for (int i = 0; i < n; ++i) {
      float x = src[i];
      dst[i] = fabsf(x) <= 3.402823466e38f ? x : bad; /* isfinite without a library call */
   }
}

ART_PREP_HOT void art_prepare_colour(art_t *a, const sono_frame_t *f)
{
   a->tissue_motion = 0;
   const sono_plane_t *v = sono_frame_plane(f, SONO_PLANE_VELOCITY);
   const sono_plane_t *p = sono_frame_plane(f, SONO_PLANE_POWER);
   const sono_plane_t *s = sono_frame_plane(f, SONO_PLANE_VARIANCE);
   a->vn = f->acquisition.nyquist_velocity_m_s;
   a->has_colour = v && p && s && v->dtype == SONO_DTYPE_FLOAT32 && p->dtype == SONO_DTYPE_FLOAT32 &&
                   s->dtype == SONO_DTYPE_FLOAT32 && a->vn > 0;
   if (!a->has_colour)
      return;
   const int contiguous = v->stride[0] == 1 && p->stride[0] == 1 && s->stride[0] == 1;
   for (int ix = 0; ix < a->nx; ++ix) {
      const float *vc = &SONO_KIT_AT(float, v, 0, ix, 0), *pc = &SONO_KIT_AT(float, p, 0, ix, 0);
      const float *sc = &SONO_KIT_AT(float, s, 0, ix, 0);
      float *vd = a->vel + art_px(a, 0, ix), *pd = a->pow_db + art_px(a, 0, ix), *sd = a->var + art_px(a, 0, ix);
      if (contiguous) { /* the host's planes: a loop the compiler vectorises */
         copy_finite(vd, vc, a->nz, 0.0f);
         copy_finite(pd, pc, a->nz, -200.0f);
         memcpy(sd, sc, sizeof(float) * (size_t)a->nz);
         continue;
      }
      for (int iz = 0; iz < a->nz; ++iz) {
         float vv = vc[(int64_t)iz * v->stride[0]], pw = pc[(int64_t)iz * p->stride[0]];
         vd[iz] = isfinite(vv) ? vv : 0.0f;
         pd[iz] = isfinite(pw) ? pw : -200.0f;
         sd[iz] = sc[(int64_t)iz * s->stride[0]];
      }
   }
   /* Colour is "shown" where the Doppler power clears the noise floor at
    * its depth (the row's 10th percentile) by colour_snr_db, as a scanner's colour
    * threshold does. The host's map is thresholded relative to the frame
    * maximum only, so it also colours noise, which rises with depth under
    * the TGC. */
   float *floor_db = a->col; /* per row; nz scratch, free until the detectors */
   for (int z0 = 0; z0 < a->nz; z0 += ROW_BAND) {
      int nb = a->nz - z0 < ROW_BAND ? a->nz - z0 : ROW_BAND;
      band_power_floor(a, z0, nb);
      memcpy(floor_db + z0, a->rowthr, sizeof(float) * (size_t)nb);
   }
   limit_floor_rise(a, floor_db, f->acquisition.center_frequency_hz);
   double nsum = 0;
   const float snr = (float)a->p[P_COLOUR_SNR_DB];
   for (int iz = 0; iz < a->nz; ++iz)
      nsum += floor_db[iz] += snr;
   /* seeds clear the floor by colour_snr_db; flow continues from them
    * down to colour_grow_db under that: the lower mask is kept in a.aflags
    * (free until art_detect_colour, which grows the colour from its seeds
    * while it labels the colour regions) */
   const float grow = (float)a->p[P_COLOUR_GROW_DB];
   const int nz = a->nz; /* a local: the byte stores below could alias a->nz, which kept the loop scalar */
   memset(a->hist, 0, sizeof(uint32_t) * TISSUE_BINS);
   size_t shown = 0;
   for (int ix = 0; ix < a->nx; ++ix) {
      size_t i0 = art_px(a, 0, ix);
      float *restrict vel = a->vel + i0;
      const float *restrict pw = a->pow_db + i0, *restrict thr = floor_db;
      uint8_t *restrict cm = a->cmask + i0, *restrict lo = a->aflags + i0;
      for (int iz = 0; iz < nz; ++iz) { /* branch-free: noise maps are random */
         float vv = vel[iz];
         int moving = vv != 0.0f, low = moving & (pw[iz] >= thr[iz] - grow);
         cm[iz] = (uint8_t)(moving & (pw[iz] >= thr[iz]));
         lo[iz] = (uint8_t)low;
         vel[iz] = low ? vv : 0.0f; /* velocity 0 wherever colour cannot be shown */
      }
      shown += tissue_hist_column(a, ix);
   }
   a->noise_db = (float)(nsum / a->nz - snr);
   reject_tissue_motion(a, shown);
}
