/* Distance from every pixel to blood: the cine flow pixels (colour seen at
 * least once in the flow window) outside the lumen of the involved
 * vessels. Targets keep their margin from this map as well as from the
 * traced lumens, because a trace can miss part of a lumen (it may sit
 * tenths of a millimetre inside the true wall, or follow only part of a
 * vessel), whereas colour flow is blood itself.
 *
 * Colour noise is not blood: over anechoic material (fresh HA is as dark
 * as blood) scattered colour pixels appear within a cardiac cycle, and
 * counted as blood they would leave no target in the deposit at all. A
 * flowing vessel fills its lumen with colour, noise does not: a flow pixel
 * counts when a dense patch (half of a HY_BLOOD_WINDOW_M square flowing)
 * lies within that square of it. This is a morphological opening: sparse
 * colour goes, the full extent of every dense patch stays (its edge is not
 * eroded).
 *
 * The map is a vector-propagation distance transform (two raster passes
 * over the 3x3 neighbourhood; each pixel inherits its neighbour's nearest
 * blood pixel and measures the Euclidean distance to it in metres, exact
 * on the anisotropic pixel where a weighted chamfer would overestimate by
 * up to about 17 % on 2:1 pixels). Only distances up to the margin
 * matter, so the map covers the deposits that may hold targets, widened by
 * that reach (every blood pixel within the margin of a candidate lies in
 * it): about a third of a 384 x 256 frame for a typical deposit. Built at
 * most once per frame, into buffers from activate(); nothing is allocated. */
#include <math.h>
#include <string.h>

#include "hy.h"

#define HY_BLOOD_WINDOW_M 0.25e-3
#define HY_BLOOD_DENSITY 0.5
#define HY_NONE (-1)
/* The byte passes of the noise opening are also built for AVX2 (picked
 * when the plugin is loaded): integer sums, the same on either path. */
#define HY_BLOOD_HOT __attribute__((target_clones("avx2", "default")))

static inline size_t map_pix(uint32_t nz, uint32_t iz, uint32_t ix) { return (size_t)iz + (size_t)nz * ix; }
static inline int32_t pack(uint32_t iz, uint32_t ix) { return (int32_t)((iz << 16) | ix); }

/* q[j] = p[j] + p[j + w], j < n. */
static void pair_sums(const uint8_t *restrict p, uint8_t *restrict q, int n, int w)
{
   for (int j = 0; j < n; ++j)
      q[j] = (uint8_t)(p[j] + p[j + w]);
}

/* acc[j] (+)= p[j], j < n: assigned when `first`. */
static void add_sums(uint8_t *restrict acc, const uint8_t *restrict p, int n, int first)
{
   if (first)
      memcpy(acc, p, (size_t)n);
   else
      for (int j = 0; j < n; ++j)
         acc[j] = (uint8_t)(acc[j] + p[j]);
}

/* Counts of the 0/1 bytes b over 2 rz + 1 rows of each column into c,
 * clipped at the column's ends; w1 and w2 are nz bytes of scratch. Counts
 * reach at most 2 rz + 1, so they fit a byte when rz < 127 (the caller
 * checks). The interior is built from sums over 1, 2, 4, ... rows (each
 * from two of the previous width), added up along the binary digits of
 * the window: whole-vector byte adds, a few passes per column whatever
 * rz, where a running count is a serial chain of dependent steps per
 * pixel. The clipped rows at both ends keep running counts. Integer sums
 * are exact in any order. */
HY_BLOOD_HOT static void count_column(const uint8_t *restrict b, int nz, int rz, uint8_t *restrict c, uint8_t *restrict w1,
                         uint8_t *restrict w2)
{
   const int width = 2 * rz + 1, lo = rz < nz ? rz : nz, hi = nz - rz > lo ? nz - rz : lo;
   if (hi > lo) { /* interior rows lo..hi-1: windows starting at rows 0..hi-lo-1 */
      const uint8_t *p = b;
      int off = 0, first = 1;
      for (int w = 1; w <= width; w *= 2) {
         if (width & w) {
            add_sums(c + lo, p + off, hi - lo, first);
            first = 0;
            off += w;
         }
         if (2 * w <= width) { /* sums over 2w rows, valid up to row nz - 2w */
            uint8_t *q = p == w1 ? w2 : w1;
            pair_sums(p, q, nz - 2 * w + 1, w);
            p = q;
         }
      }
   }
   int run = 0;
   for (int k = 0; k < lo; ++k) /* head: the window grows, its top clipped at row 0 */
      run += b[k];
   for (int iz = 0; iz < lo; ++iz) {
      run += iz + rz < nz ? b[iz + rz] : 0;
      c[iz] = (uint8_t)run;
   }
   run = 0;
   for (int k = hi - rz; k < nz && hi < nz; ++k) /* tail: the window shrinks, its bottom clipped */
      run += b[k];
   for (int iz = hi; iz < nz; ++iz) {
      c[iz] = (uint8_t)run;
      run -= b[iz - rz];
   }
}

/* Box sums of (mask & bit) over (2 rz + 1) x (2 rx + 1) pixels into `sum`
 * (clipped at the frame edges), through `tmp` (2 nz nx + 2 nz bytes):
 * the 0/1 bytes of the mask, then their axial counts (and two columns of
 * scratch), then a lateral
 * running sum over whole columns (one add and one subtract per pixel
 * whatever rx). rz must be below 127 (byte counts). */
HY_BLOOD_HOT static void box_count(const uint8_t *restrict mask, uint8_t bit, uint32_t nz, uint32_t nx, int rz, int rx,
                      uint8_t *restrict tmp, int32_t *restrict sum)
{
   size_t np = (size_t)nz * nx;
   uint8_t *restrict ones = tmp, *restrict cnt = tmp + np, *w1 = tmp + 2 * np, *w2 = w1 + nz;
   for (size_t p = 0; p < np; ++p)
      ones[p] = (mask[p] & bit) != 0;
   for (uint32_t ix = 0; ix < nx; ++ix)
      count_column(ones + map_pix(nz, 0, ix), (int)nz, rz, cnt + map_pix(nz, 0, ix), w1, w2);
   int32_t *restrict s0 = sum;
   memset(s0, 0, nz * sizeof *s0);
   for (int k = 0; k <= rx && k < (int)nx; ++k) {
      const uint8_t *restrict t = cnt + map_pix(nz, 0, (uint32_t)k);
      for (uint32_t iz = 0; iz < nz; ++iz)
         s0[iz] += t[iz];
   }
   for (int ix = 1; ix < (int)nx; ++ix) {
      const int32_t *restrict prev = sum + map_pix(nz, 0, (uint32_t)ix - 1);
      int32_t *restrict s = sum + map_pix(nz, 0, (uint32_t)ix);
      int add = ix + rx, drop = ix - rx - 1;
      const uint8_t *restrict ta = add < (int)nx ? cnt + map_pix(nz, 0, (uint32_t)add) : NULL;
      const uint8_t *restrict td = drop >= 0 ? cnt + map_pix(nz, 0, (uint32_t)drop) : NULL;
      if (ta && td)
         for (uint32_t iz = 0; iz < nz; ++iz)
            s[iz] = prev[iz] + ta[iz] - td[iz];
      else if (ta)
         for (uint32_t iz = 0; iz < nz; ++iz)
            s[iz] = prev[iz] + ta[iz];
      else if (td)
         for (uint32_t iz = 0; iz < nz; ++iz)
            s[iz] = prev[iz] - td[iz];
      else
         memcpy(s, prev, nz * sizeof *s);
   }
}

/* bit 0 of s->flow: colour seen in the cine window; bit 1: dense patch.
 * The per-pixel steps go through local pointers: a uint8_t store may
 * alias anything, so through s->flow every step reloaded the pointer. */
static void find_blood(hy_t *s, int32_t *count, uint8_t *tmp)
{
   uint32_t nz = s->bnz, nx = s->bnx;
   uint8_t *restrict flow = s->flow;
   sono_an_flow_seen(s->an, s->bz0, s->bx0, nz, nx, flow);
   int rz = (int)lround(0.5 * HY_BLOOD_WINDOW_M / s->grid.dz_m), rx = (int)lround(0.5 * HY_BLOOD_WINDOW_M / s->grid.dx_m);
   rz = rz < 1 ? 1 : rz > 126 ? 126 : rz; /* byte counts (box_count); 126 rows is centimetres on any probe */
   rx = rx < 1 ? 1 : rx;
   int32_t need = (int32_t)ceil(HY_BLOOD_DENSITY * (2 * rz + 1) * (2 * rx + 1));
   box_count(flow, 1, nz, nx, rz, rx, tmp, count);
   size_t np = (size_t)nz * nx;
   const int32_t *restrict cnt = count;
   for (size_t p = 0; p < np; ++p)
      flow[p] |= (uint8_t)((flow[p] & 1 & (cnt[p] >= need)) << 1);
   box_count(flow, 2, nz, nx, rz, rx, tmp, count);
   for (size_t p = 0; p < np; ++p)
      flow[p] = (uint8_t)(flow[p] & 1 & (cnt[p] > 0));
}

/* Flow inside an involved vessel's traced lumen, widened by `widen` along
 * the beam, is the treated vessel's own blood: the margin is kept from the
 * vessels not involved only (H6). */
static void clear_involved(hy_t *s, const sono_an_result_t *r, double widen)
{
   const sono_grid_t *g = &s->grid;
   long z0 = (long)s->bz0, x0 = (long)s->bx0, z1 = z0 + (long)s->bnz, x1 = x0 + (long)s->bnx;
   for (uint32_t v = 0; v < r->vessel_count; ++v) {
      if (!s->involved[v])
         continue;
      const sono_an_vessel_t *ves = &r->vessels[v];
      for (uint32_t i = 0; i < ves->point_count; ++i) {
         const sono_an_centre_point_t *p = &ves->points[i];
         long ix = lround((p->x_m - g->x0_m) / g->dx_m);
         long t = (long)ceil((p->top_z_m - widen - g->z0_m) / g->dz_m);
         long b = (long)floor((p->bottom_z_m + widen - g->z0_m) / g->dz_m);
         if (ix < x0 || ix >= x1)
            continue;
         for (long iz = t < z0 ? z0 : t; iz <= b && iz < z1; ++iz)
            s->flow[map_pix(s->bnz, (uint32_t)(iz - z0), (uint32_t)(ix - x0))] = 0;
      }
   }
}

/* Squared distances (m^2) in blood_dist, nearest source in blood_src.
 * blood_dist[p] is always the distance from p to blood_src[p] (they are
 * set together), so a neighbour holding p's own source offers exactly
 * p's distance, which the strict test rejects: skipping it before the
 * arithmetic changes nothing, and inside a region that shares a source it
 * is the common case. */
static inline void relax(float *d2, int32_t *src, size_t p, size_t q, int iz, int ix, float dz2, float dx2)
{
   int32_t sq = src[q];
   if (sq == HY_NONE || sq == src[p])
      return;
   float a = (float)(iz - (sq >> 16)), b = (float)(ix - (sq & 0xffff));
   float e = a * a * dz2 + b * b * dx2;
   if (e < d2[p]) {
      d2[p] = e;
      src[p] = sq;
   }
}

static void propagate(hy_t *s)
{
   int nz = (int)s->bnz, nx = (int)s->bnx;
   float dz2 = (float)(s->grid.dz_m * s->grid.dz_m), dx2 = (float)(s->grid.dx_m * s->grid.dx_m);
   float *d2 = s->blood_dist;
   int32_t *src = s->blood_src;
   size_t snz = (size_t)nz;
   for (int ix = 0; ix < nx; ++ix)
      for (int iz = 0; iz < nz; ++iz) {
         size_t p = map_pix((uint32_t)nz, (uint32_t)iz, (uint32_t)ix);
         if (ix > 0) {
            if (iz > 0)
               relax(d2, src, p, p - snz - 1, iz, ix, dz2, dx2);
            relax(d2, src, p, p - snz, iz, ix, dz2, dx2);
            if (iz + 1 < nz)
               relax(d2, src, p, p - snz + 1, iz, ix, dz2, dx2);
         }
         if (iz > 0)
            relax(d2, src, p, p - 1, iz, ix, dz2, dx2);
      }
   for (int ix = nx - 1; ix >= 0; --ix)
      for (int iz = nz - 1; iz >= 0; --iz) {
         size_t p = map_pix((uint32_t)nz, (uint32_t)iz, (uint32_t)ix);
         if (ix + 1 < nx) {
            if (iz + 1 < nz)
               relax(d2, src, p, p + snz + 1, iz, ix, dz2, dx2);
            relax(d2, src, p, p + snz, iz, ix, dz2, dx2);
            if (iz > 0)
               relax(d2, src, p, p + snz - 1, iz, ix, dz2, dx2);
         }
         if (iz + 1 < nz)
            relax(d2, src, p, p + 1, iz, ix, dz2, dx2);
      }
}

/* The deposits that may hold targets, widened by `reach` and clipped to the
 * frame. */
static void set_window(hy_t *s, const sono_an_result_t *r, double reach)
{
   const sono_grid_t *g = &s->grid;
   double xa = INFINITY, xb = -INFINITY, za = INFINITY, zb = -INFINITY;
   for (uint32_t i = 0; i < r->deposit_count; ++i)
      if (s->eligible[i]) {
         xa = fmin(xa, r->deposits[i].x_left_m);
         xb = fmax(xb, r->deposits[i].x_right_m);
         za = fmin(za, r->deposits[i].z_top_m);
         zb = fmax(zb, r->deposits[i].z_bottom_m);
      }
   long ix0 = (long)floor((xa - reach - g->x0_m) / g->dx_m), ix1 = (long)ceil((xb + reach - g->x0_m) / g->dx_m);
   long iz0 = (long)floor((za - reach - g->z0_m) / g->dz_m), iz1 = (long)ceil((zb + reach - g->z0_m) / g->dz_m);
   ix0 = ix0 < 0 ? 0 : ix0;
   iz0 = iz0 < 0 ? 0 : iz0;
   ix1 = ix1 >= (long)g->nx ? (long)g->nx - 1 : ix1;
   iz1 = iz1 >= (long)g->nz ? (long)g->nz - 1 : iz1;
   s->bx0 = (uint32_t)ix0;
   s->bz0 = (uint32_t)iz0;
   s->bnx = ix1 >= ix0 ? (uint32_t)(ix1 - ix0 + 1) : 0;
   s->bnz = iz1 >= iz0 ? (uint32_t)(iz1 - iz0 + 1) : 0;
}

void hy_blood_map(hy_t *s, const sono_an_result_t *r, double involved_widen_m, double reach_m)
{
   /* the noise opening looks up to a window beyond each pixel, and the
    * distance's lower bound gives away two pixel diagonals: the map reaches
    * two windows further, so blood at the edge of the reach is judged whole */
   set_window(s, r, reach_m + 2.0 * HY_BLOOD_WINDOW_M);
   uint32_t nz = s->bnz, nx = s->bnx;
   /* blood_src and blood_dist serve as the box filter's scratch first */
   find_blood(s, s->blood_src, (uint8_t *)s->blood_dist);
   clear_involved(s, r, involved_widen_m);
   /* Often only the treated vessel's own flow lies near its plug, and it
    * has just been cleared: with no blood left in the window every distance
    * is infinite, and the two raster passes over the window (the larger part
    * of this plugin's own per-frame time) would find nothing. */
   s->blood_ready = 1;
   s->blood_none = memchr(s->flow, 1, (size_t)nz * nx) == NULL;
   if (s->blood_none)
      return;
   const uint8_t *restrict flow = s->flow;
   float *restrict dist = s->blood_dist;
   int32_t *restrict src = s->blood_src;
   for (uint32_t ix = 0; ix < nx; ++ix)
      for (uint32_t iz = 0; iz < nz; ++iz) {
         size_t p = map_pix(nz, iz, ix);
         int b = flow[p] != 0;
         dist[p] = b ? 0.0f : INFINITY;
         src[p] = b ? pack(iz, ix) : HY_NONE;
      }
   propagate(s);
}

double hy_blood_distance(const hy_t *s, double x, double z)
{
   const sono_grid_t *g = &s->grid;
   long ix = lround((x - g->x0_m) / g->dx_m) - (long)s->bx0, iz = lround((z - g->z0_m) / g->dz_m) - (long)s->bz0;
   if (ix < 0 || iz < 0 || ix >= (long)s->bnx || iz >= (long)s->bnz)
      return 0.0; /* outside the map: unknown, so treated as next to blood */
   if (s->blood_none)
      return INFINITY;
   int32_t src = s->blood_src[map_pix(s->bnz, (uint32_t)iz, (uint32_t)ix)];
   if (src == HY_NONE)
      return INFINITY;
   /* the point's own distance to the source pixel, less one pixel diagonal
    * for the point's offset from the pixel centre and one for the
    * propagation's possible miss (a nearer blood pixel than the one
    * inherited): a lower bound, so the margin is never overstated */
   double ddz = z - (g->z0_m + (double)(s->bz0 + (uint32_t)(src >> 16)) * g->dz_m);
   double ddx = x - (g->x0_m + (double)(s->bx0 + (uint32_t)(src & 0xffff)) * g->dx_m);
   return fmax(0.0, sqrt(ddz * ddz + ddx * ddx) - 2.0 * hypot(g->dx_m, g->dz_m));
}
