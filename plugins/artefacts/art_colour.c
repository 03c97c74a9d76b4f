/* Colour-Doppler artefacts of clinical-spec §4 A3-A6: aliasing (a wrap
 * between neighbours near +-VN, not a reversal through 0), blooming, flash
 * (confirmed as a 1-3 frame event), twinkling (persisting across a PRF
 * change when the sequence has one) and colour noise. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sono/dsp/alias.h>

#include "art.h"

/* ---- frame-wide: flash ------------------------------------------------------- */

/* Axial B-mode displacement (pixels) against the previous frame: the shift
 * of smallest mean absolute difference over a central window. */
static int bmode_shift(const art_t *a, double *best_sad, double *zero_sad)
{
   int range = art_npx_z(a, 0.4e-3), best = 0;
   *best_sad = 1e30;
   *zero_sad = 0;
   if (range < 1)
      range = 1;
   for (int s = -range; s <= range; ++s) {
      double sad = 0;
      int n = 0;
      for (int ix = a->nx / 8; ix < a->nx * 7 / 8; ix += 4)
         for (int iz = a->nz / 8; iz < a->nz * 7 / 8; iz += 2) {
            sad += fabsf(a->bm[art_px(a, iz, ix)] - a->prev_bm[art_px(a, iz - s, ix)]);
            ++n;
         }
      sad /= n;
      if (s == 0)
         *zero_sad = sad;
      if (sad < *best_sad) {
         *best_sad = sad;
         best = s;
      }
   }
   return best;
}

/* Fraction of horizontally adjacent coloured pairs with the same sign.
 * Branch-free: a flash map has random signs, which defeat prediction. */
static double sign_coherence(const art_t *a)
{
   size_t same = 0, pairs = 0;
   for (int ix = 0; ix + 1 < a->nx; ++ix) {
      const float *u = a->vel + art_px(a, 0, ix), *v = a->vel + art_px(a, 0, ix + 1);
      uint32_t s = 0, n = 0;
      for (int iz = 0; iz < a->nz; ++iz) {
         uint32_t both = (uint32_t)((u[iz] != 0.0f) & (v[iz] != 0.0f));
         n += both;
         s += both & (uint32_t)((u[iz] > 0) == (v[iz] > 0));
      }
      same += s;
      pairs += n;
   }
   return pairs ? (double)same / (double)pairs : 1.0;
}

static void colour_bounds(const art_t *a, int *iz0, int *iz1, int *ix0, int *ix1)
{
   *iz0 = a->nz, *iz1 = -1, *ix0 = a->nx, *ix1 = -1;
   for (int ix = 0; ix < a->nx; ++ix) {
      const uint8_t *m = a->cmask + art_px(a, 0, ix);
      int first = -1, last = -1;
      for (int iz = 0; iz < a->nz && first < 0; ++iz)
         if (m[iz])
            first = iz;
      if (first < 0)
         continue;
      for (int iz = a->nz - 1; iz >= first && last < 0; --iz)
         if (m[iz])
            last = iz;
      if (first < *iz0) *iz0 = first;
      if (last > *iz1) *iz1 = last;
      if (ix < *ix0) *ix0 = ix;
      *ix1 = ix;
   }
}

/* Share of the echo-bearing tissue (working B-mode >= FLASH_ECHO_DB above
 * the display floor) that carries colour. Flash is tissue motion, so it can
 * only colour tissue that returns echoes: a shadow under bone or a deposit
 * never fills, and counting it would dilute a flash below the threshold
 * (phantom training seeds: 13.8% of a frame half in shadow, 23% of its
 * tissue). Flow in an anechoic lumen is not counted: a large vessel is not
 * a flash. */
#define FLASH_ECHO_DB 3.0f
static double tissue_fill(const art_t *a)
{
   size_t echo = 0, coloured = 0;
   for (size_t i = 0; i < a->npix; ++i) {
      uint32_t e = a->sm[i] >= FLASH_ECHO_DB;
      echo += e;
      coloured += e & (a->cmask[i] != 0);
   }
   return echo ? (double)coloured / (double)echo : 0.0;
}

/* Returns 1 when the frame's colour map is a flash (the other colour rules
 * are then not applied: the map is dominated by tissue motion). */
static int detect_flash(art_t *a, double fill)
{
   if (fill < a->p[P_FLASH_FILL]) {
      a->fill_run = 0;
      return 0;
   }
   a->fill_run++;
   double best_sad = 0, zero_sad = 0;
   int shift = a->have_prev ? bmode_shift(a, &best_sad, &zero_sad) : 0;
   double coh = sign_coherence(a);
   int iz0, iz1, ix0, ix1;
   colour_bounds(a, &iz0, &iz1, &ix0, &ix1);
   if (a->fill_run > (int)a->p[P_FLASH_MAX_FRAMES]) {
      /* a fill that persists is not a flash: colour gain or a wrong scale */
      art_finding_t *f = art_add(a, K_COLOUR_NOISE, 0.6f);
      if (!f)
         return 1;
      f->npoly = art_rect_polygon(a, iz0, iz1, ix0, ix1, f->poly);
      snprintf(f->label, sizeof f->label, "Colour fill persisting over %d frames: possible colour noise", a->fill_run);
      snprintf(f->basis, sizeof f->basis,
               "colour covers %.0f%% of the echo-bearing tissue for %d consecutive frames; neighbour sign agreement %.2f",
               100 * fill, a->fill_run, coh);
      snprintf(f->advice, sizeof f->advice, "Reduce colour gain or raise the wall filter");
      return 1;
   }
   int moved = a->have_prev && (shift != 0 || zero_sad > 1.5 * best_sad);
   float conf = (float)(0.6 + 0.2 * moved + 0.15 * fmin(1.0, (fill - a->p[P_FLASH_FILL]) / 0.25));
   art_finding_t *f = art_add(a, K_FLASH, conf);
   if (!f)
      return 1;
   f->npoly = art_rect_polygon(a, iz0, iz1, ix0, ix1, f->poly);
   snprintf(f->label, sizeof f->label, "Colour flash (tissue or probe motion)");
   if (a->have_prev)
      snprintf(f->basis, sizeof f->basis,
               "colour fills %.0f%% of the echo-bearing tissue (frame %d of the event, limit %d); B-mode moved %.2f mm since the "
               "previous frame; neighbour sign agreement %.2f",
               100 * fill, a->fill_run, (int)a->p[P_FLASH_MAX_FRAMES], fabs(shift * a->dz) * 1e3, coh);
   else
      snprintf(f->basis, sizeof f->basis,
               "colour fills %.0f%% of the echo-bearing tissue (first frame: no motion reference); neighbour sign agreement %.2f",
               100 * fill, coh);
   snprintf(f->advice, sizeof f->advice,
            "Hold the probe still, ask the patient to hold still, and wait for the next frame before reading flow");
   return 1;
}

/* ---- per region ----------------------------------------------------------------- */

/* Boundary-pixel sign of a colour component: the walls carry slow, unaliased
 * flow, so their sign is the true direction. */
static int boundary_sign(const art_t *a, const art_comp_t *c)
{
   double s = 0;
   for (int ix = c->ix0; ix <= c->ix1; ++ix)
      for (int iz = c->iz0; iz <= c->iz1; ++iz) {
         size_t p = art_px(a, iz, ix);
         if (a->labels[p] != c->label)
            continue;
         int edge = iz == 0 || ix == 0 || iz == a->nz - 1 || ix == a->nx - 1 || !a->cmask[p - 1] ||
                    !a->cmask[p + 1] || !a->cmask[p - a->nz] || !a->cmask[p + a->nz];
         if (edge)
            s += a->vel[p] > 0 ? 1 : -1;
      }
   return s >= 0 ? 1 : -1;
}

/* Marks in mask2 the opposite-sign pixels of component c reachable from a
 * wrapped pair; returns their count and their bounds. */
static int aliased_area(art_t *a, const art_comp_t *c, int sign, int *b)
{
   int n = 0, top = 0;
   b[0] = a->nz, b[1] = -1, b[2] = a->nx, b[3] = -1;
   for (int ix = c->ix0; ix <= c->ix1; ++ix)
      for (int iz = c->iz0; iz <= c->iz1; ++iz) {
         size_t p = art_px(a, iz, ix);
         if (a->labels[p] == c->label && a->aflags[p] && !a->mask2[p]) {
            /* the wrapped pair: this pixel and the one below/right; seed the opposite-sign one */
            size_t q = (a->aflags[p] & SONO_DSP_ALIAS_DOWN) ? p + 1 : p + (size_t)a->nz;
            size_t seed = (a->vel[p] > 0) != (sign > 0) ? p : q;
            if (seed < a->npix && !a->mask2[seed] && a->cmask[seed]) {
               a->mask2[seed] = 1;
               a->stack[top++] = (int32_t)(seed % (size_t)a->nz);
               a->stack[top++] = (int32_t)(seed / (size_t)a->nz);
            }
         }
      }
   while (top > 0) {
      int ix = a->stack[--top], iz = a->stack[--top];
      ++n;
      if (iz < b[0]) b[0] = iz;
      if (iz > b[1]) b[1] = iz;
      if (ix < b[2]) b[2] = ix;
      if (ix > b[3]) b[3] = ix;
      for (int dx = -1; dx <= 1; ++dx)
         for (int dz = -1; dz <= 1; ++dz) {
            int jz = iz + dz, jx = ix + dx;
            if (jz < 0 || jx < 0 || jz >= a->nz || jx >= a->nx)
               continue;
            size_t q = art_px(a, jz, jx);
            if (!a->mask2[q] && a->labels[q] == c->label && (a->vel[q] > 0) != (sign > 0)) {
               a->mask2[q] = 1;
               a->stack[top++] = jz;
               a->stack[top++] = jx;
            }
         }
   }
   return n;
}

/* Aliasing of a frame, summed over the colour regions that wrap: the
 * finding outlines the whole wrapping colour segment (the vessel where its
 * flow exceeds the velocity scale), not only the opposite-colour core. */
#define ALIAS_MAX_BESIDE 8

/* Columns of one wrapping segment found in this frame (check_aliasing). */
typedef struct alias_span {
   int x0, x1;
   int strong; /* its core clears alias_area_fraction */
   int toward; /* its opposite-colour pixels, signed by the true flow direction */
} alias_span_t;

typedef struct alias_sum {
   int regions;
   int strong;             /* regions whose core clears alias_area_fraction */
   int b[4];               /* iz0, iz1, ix0, ix1 of the wrapping regions */
   int nbeside;            /* regions with wrapped pairs but no core of their own */
   art_comp_t beside[ALIAS_MAX_BESIDE];
   int nlabels;            /* colour components holding a wrapping segment */
   int32_t labels[ALIAS_MAX_BESIDE * 2];
   int nspans;
   alias_span_t spans[ALIAS_MAX_BESIDE * 2];
} alias_sum_t;

static void note_label(alias_sum_t *sum, int32_t label)
{
   if (sum->nlabels < (int)(sizeof sum->labels / sizeof sum->labels[0]))
      sum->labels[sum->nlabels++] = label;
}

#define ALIAS_REGION 0x80u /* aflags bit: pixel of a wrapping colour segment */
#define ALIAS_MIN_CORE_M2 0.2e-6 /* smallest opposite-colour core of a wrapping segment */

/* Column span of the wrapping segment of component c: the columns where
 * the opposite colour (mask2) fills >= a quarter of the colour, with 0.5 mm
 * either side; scattered wrapped pixels elsewhere in the vessel do not
 * stretch it. Returns 0 when no column qualifies. */
static int wrapping_columns(const art_t *a, const art_comp_t *c, int *x0, int *x1, float fast)
{
   int first = -1, last = -1;
   for (int ix = c->ix0; ix <= c->ix1; ++ix) {
      const int32_t *lab = a->labels + art_px(a, 0, ix);
      const uint8_t *w = a->mask2 + art_px(a, 0, ix);
      const float *v = a->vel + art_px(a, 0, ix);
      int nc = 0, nw = 0;
      for (int iz = c->iz0; iz <= c->iz1; ++iz) {
         int in = lab[iz] == c->label;
         nc += in;
         nw += in & ((w[iz] != 0) | (fabsf(v[iz]) >= fast));
      }
      if (nc >= 3 && 4 * nw >= nc) {
         first = first < 0 ? ix : first;
         last = ix;
      }
   }
   if (first < 0)
      return 0;
   int margin = art_npx_x(a, 0.5e-3);
   *x0 = first - margin < c->ix0 ? c->ix0 : first - margin;
   *x1 = last + margin > c->ix1 ? c->ix1 : last + margin;
   return 1;
}

/* Least-squares line through the pixels of colour components: sums of
 * lateral (x) and axial (z) pixel positions, relative to the frame. */
typedef struct axis_fit {
   double n, sx, sz, sxx, sxz;
} axis_fit_t;

/* Pixels of component c in column ix; *zs gets the sum of their rows. */
static int column_pixels(const art_t *a, const art_comp_t *c, int ix, int *zs)
{
   const int32_t *lab = a->labels + art_px(a, 0, ix);
   int m = 0, z = 0;
   for (int iz = c->iz0; iz <= c->iz1; ++iz) {
      int in = lab[iz] == c->label;
      m += in;
      z += in * iz;
   }
   *zs = z;
   return m;
}

static void axis_add(const art_t *a, const art_comp_t *c, axis_fit_t *f)
{
   for (int ix = c->ix0; ix <= c->ix1; ++ix) {
      int zs, m = column_pixels(a, c, ix, &zs);
      f->n += m;
      f->sx += (double)m * ix;
      f->sxx += (double)m * ix * ix;
      f->sz += zs;
      f->sxz += (double)ix * zs;
   }
}

/* Axial rise per lateral distance of the fitted line; NAN without spread. */
static double axis_slope(const art_t *a, const axis_fit_t *f)
{
   if (f->n < 2)
      return NAN;
   double mx = f->sx / f->n, vx = f->sxx / f->n - mx * mx;
   return vx > 1.0 ? (f->sxz / f->n - mx * (f->sz / f->n)) / vx * a->dz / a->dx : NAN;
}

/* A component at least ALIAS_AXIS_MIN_M wide and twice as wide as deep
 * runs along its own axis; a shorter piece (a vessel cut by shadows or by
 * the colour threshold) takes the axis of all the frame's colour regions. */
#define ALIAS_AXIS_MIN_M 2.0e-3
static double comp_slope(const art_t *a, const art_comp_t *c, double frame_slope)
{
   double w = (c->ix1 - c->ix0 + 1) * a->dx, h = (c->iz1 - c->iz0 + 1) * a->dz;
   if (w < ALIAS_AXIS_MIN_M || w < 2 * h)
      return frame_slope;
   axis_fit_t f = {0, 0, 0, 0, 0};
   axis_add(a, c, &f);
   return axis_slope(a, &f);
}

/* A colour mosaic needs an axial flow component above VN to be aliasing:
 * in a vessel running within alias_min_axis_slope (0.035: 2 degrees) of perpendicular
 * to the beam the axial component is under 3.5% of the flow speed, and a
 * mosaic there is the spectral broadening of flow crossing the beam (its
 * Doppler spectrum spreads over both signs at a low PRF), not a wrap. */

/* Share of the colour of component c in columns x0..x1 at or above half
 * the Nyquist velocity. A wrap means the core's flow passes VN, and the
 * lumen's velocity profile rises continuously from the walls to it: in a
 * parabolic profile peaking at VN or more, at least sqrt(1/2) = 71% of the
 * diameter flows at VN / 2 or faster (more when the peak passes VN, and the
 * wrapped core itself reads near +-VN). A mosaic of mostly slow colour with
 * scattered opposite pixels is noise or the spectral broadening of flow
 * crossing the beam, not a wrap (phantom seeds 501, 502: wrapping frames
 * 0.43-0.84, mosaics of frames without a wrap down to 0.26);
 * alias_fast_share (0.40) leaves room for the colour's blur past the
 * walls, which is slow: a fixed distance, so it weighs most in a small
 * lumen or a short piece of vessel (training seeds 566 and 570: wrapping
 * frames of such pieces at 0.41-0.43 with cores of 32-39% of their colour;
 * frames without a wrap whose core clears alias_area_fraction <= 0.32). */
static double fast_share(const art_t *a, const art_comp_t *c, int x0, int x1)
{
   const float half = 0.5f * (float)a->vn;
   int n = 0, fast = 0;
   for (int ix = x0; ix <= x1; ++ix) {
      const int32_t *lab = a->labels + art_px(a, 0, ix);
      const float *v = a->vel + art_px(a, 0, ix);
      for (int iz = c->iz0; iz <= c->iz1; ++iz) {
         int in = lab[iz] == c->label;
         n += in;
         fast += in & (fabsf(v[iz]) >= half);
      }
   }
   return n ? (double)fast / n : 0.0;
}

/* Per column of component c: mean row of its colour into centre[ix]
 * (NAN where it has none). */
static void column_centres(const art_t *a, const art_comp_t *c, float *centre)
{
   for (int ix = c->ix0; ix <= c->ix1; ++ix) {
      int zs, m = column_pixels(a, c, ix, &zs);
      centre[ix] = m ? (float)zs / (float)m : NAN;
   }
}

/* A curved vessel runs steeper to the beam in some columns than in
 * others, and its flow can pass the scale only where the beam sees enough
 * of it: a column whose local axis (the colour centres ALIAS_LOCAL_M
 * either side) lies within alias_min_axis_slope of perpendicular shows
 * the mosaic of flow crossing the beam, not a wrap, even when the vessel
 * as a whole runs steeper. A stretch too short to fit is kept. */
#define ALIAS_LOCAL_M 1.0e-3
static int steep_column(const art_t *a, const art_comp_t *c, const float *centre, int ix)
{
   int w = art_npx_x(a, ALIAS_LOCAL_M);
   int l = ix - w < c->ix0 ? c->ix0 : ix - w, r = ix + w > c->ix1 ? c->ix1 : ix + w;
   while (l < ix && isnan(centre[l]))
      ++l;
   while (r > ix && isnan(centre[r]))
      --r;
   if (r - l < w)
      return 1;
   double slope = (centre[r] - centre[l]) / (r - l) * a->dz / a->dx;
   return fabs(slope) >= a->p[P_ALIAS_MIN_SLOPE];
}

/* The wrap of systole fades over its last frames: the flow's peak falls
 * back towards the scale and the opposite-colour core shrinks under
 * alias_area_fraction while it stays where the previous frame's wrap was
 * (phantom training seeds 501, 502, 613: the last wrapping frame of a
 * cycle keeps a core of 6-9% of its region where the frame before held
 * 14-40%). A core that clears half of alias_area_fraction therefore counts
 * as strong when alias_follow_share of it lies on the aliasing region
 * reported on the previous frame of the cine: the same wrap continuing,
 * not the few noisy pixels near +-VN of a flow that never passed the
 * scale, which have no wrap before them. */
static int continues_wrap(const art_t *a, const art_comp_t *c, int n)
{
   uint32_t prev = a->cine_frame - 1;
   if (a->cine_frame == a->cine_start || !a->cine_wrap[prev % ART_CINE_FRAMES])
      return 0;
   int held = 0;
   for (int ix = c->ix0; ix <= c->ix1; ++ix) {
      const uint8_t *w = a->mask2 + art_px(a, 0, ix);
      const int32_t *lab = a->labels + art_px(a, 0, ix);
      const uint32_t *seen = a->alias_seen + art_px(a, 0, ix);
      for (int iz = c->iz0; iz <= c->iz1; ++iz)
         held += lab[iz] == c->label && w[iz] && seen[iz] == prev;
   }
   return held >= a->p[P_ALIAS_FOLLOW_SHARE] * n;
}

/* The first frame of a cine has no frame before it to tell a wrap that
 * continues from the noise of a flow that never passed the scale: a clip
 * can open at any instant of the cycle, within a wrap as its peak falls
 * back (phantom training seed 501 case 37: a vessel wrapping over the
 * whole clip opens with a core of 8.5% of its colour at its left end, 72%
 * of it at VN / 2 or faster, then 12-30% in every later frame). A core of
 * half of alias_area_fraction, in columns that pass alias_fast_share, is
 * read as a wrap there as continues_wrap() reads it after a wrapping
 * frame; the same core after a frame without a wrap stays the noise of a
 * flow near the scale (seed 502 case 21 frames 6-9: 6-8%). */
static int opens_cine(const art_t *a)
{
   return a->cine_frame == a->cine_start;
}

/* Where the centreline passes VN, the top of the velocity profile wraps:
 * of the pixels at the top of the scale (the opposite-colour core, and the
 * true-direction colour at or above alias_fraction x VN around it), the
 * core is a large part. A flow peaking just under the scale leaves most of
 * its top unwrapped, with a few noisy pixels past +-VN. A core diluted in
 * a long vessel that passes the scale only at its steep end falls under
 * alias_area_fraction of the whole region, yet holds as large a share of
 * the top of the scale as any wrap (phantom training seed 503 case 15,
 * frame 1: a core of 9% of a 12.8 mm vessel, 46% of its top of the scale
 * over the 2.7 mm that wrap; frames without a wrap whose core clears half
 * of alias_area_fraction, training seeds 501-503: 18-43%). */
static double peak_wrap_share(const art_t *a, const art_comp_t *c, int x0, int x1)
{
   const float hi = (float)(a->p[P_ALIAS_FRACTION] * a->vn);
   int core = 0, top = 0;
   for (int ix = x0; ix <= x1; ++ix) {
      const int32_t *lab = a->labels + art_px(a, 0, ix);
      const uint8_t *w = a->mask2 + art_px(a, 0, ix);
      const float *v = a->vel + art_px(a, 0, ix);
      for (int iz = c->iz0; iz <= c->iz1; ++iz) {
         int in = lab[iz] == c->label;
         core += in & (w[iz] != 0);
         top += in & (w[iz] == 0) & (fabsf(v[iz]) >= hi);
      }
   }
   return core ? (double)core / (core + top) : 0.0;
}

static void check_aliasing(art_t *a, const art_comp_t *c, alias_sum_t *sum, double frame_slope)
{
   int pairs = 0;
   for (int ix = c->ix0; ix <= c->ix1; ++ix)
      for (int iz = c->iz0; iz <= c->iz1; ++iz) {
         size_t p = art_px(a, iz, ix);
         if (a->labels[p] == c->label)
            pairs += ((a->aflags[p] & SONO_DSP_ALIAS_DOWN) != 0) + ((a->aflags[p] & SONO_DSP_ALIAS_RIGHT) != 0);
      }
   if (pairs < (int)a->p[P_ALIAS_MIN_PAIRS])
      return;
   if (fabs(comp_slope(a, c, frame_slope)) < a->p[P_ALIAS_MIN_SLOPE])
      return;
   /* a few wrapped pairs in a large region are the speed spread of a flow
    * near the scale, not a wrapping segment; such a region is kept aside:
    * beside a wrapping segment it is the rest of the same fast vessel, cut
    * off by a shadow or the colour threshold (phantom training seeds: the
    * truth runs along the vessel wherever its centreline exceeds VN, and
    * the colour of that stretch wraps in one frame and not the next) */
   int sign = boundary_sign(a, c), b[4];
   int n = pairs * 50 < c->count ? 0 : aliased_area(a, c, sign, b);
   if ((n < 0.5 * a->p[P_ALIAS_AREA] * c->count || n * a->dx * a->dz < ALIAS_MIN_CORE_M2) &&
       sum->nbeside < ALIAS_MAX_BESIDE) {
      sum->beside[sum->nbeside++] = *c;
      return;
   }
   /* a flow that peaks under the scale still wraps a few noisy pixels near
    * +-VN; a wrapping segment turns a core of its lumen to the opposite
    * colour (phantom training seeds: >= 14% of the region while the
    * centreline exceeds VN, <= 9% in the frames where it does not). A
    * region with half that share counts only beside a wrapping one (the
    * slower part of the same vessel, cut off by a shadow). */
   if (n < 0.5 * a->p[P_ALIAS_AREA] * c->count || n * a->dx * a->dz < ALIAS_MIN_CORE_M2)
      return;
   int x0, x1, weak = n < a->p[P_ALIAS_AREA] * c->count, opening = weak && opens_cine(a);
   /* an opening frame has no earlier wrap to outline the stretch over the
    * cycle (cine_union): its columns running at the scale stand in for it,
    * as beside a wrapping segment (add_beside) */
   float reach = opening ? (float)(a->p[P_ALIAS_FRACTION] * a->vn) : INFINITY;
   if (!wrapping_columns(a, c, &x0, &x1, reach) || fast_share(a, c, x0, x1) < a->p[P_ALIAS_FAST_SHARE])
      return;
   int strong =
      !weak || continues_wrap(a, c, n) || opening || peak_wrap_share(a, c, x0, x1) >= a->p[P_ALIAS_PEAK_SHARE];
   sum->regions++;
   sum->strong += strong;
   int z0 = a->nz, z1 = -1;
   double w = (c->ix1 - c->ix0 + 1) * a->dx, h = (c->iz1 - c->iz0 + 1) * a->dz;
   int own_axis = w >= ALIAS_AXIS_MIN_M && w >= 2 * h;
   if (own_axis)
      column_centres(a, c, a->colv);
   for (int ix = x0; ix <= x1; ++ix) /* mark the segment for report_aliasing() */
      for (int iz = own_axis && !steep_column(a, c, a->colv, ix) ? c->iz1 + 1 : c->iz0; iz <= c->iz1; ++iz)
         if (a->labels[art_px(a, iz, ix)] == c->label) {
            a->aflags[art_px(a, iz, ix)] |= ALIAS_REGION;
            z0 = iz < z0 ? iz : z0;
            z1 = iz > z1 ? iz : z1;
         }
   note_label(sum, c->label);
   if (sum->nspans < (int)(sizeof sum->spans / sizeof sum->spans[0]))
      sum->spans[sum->nspans++] = (alias_span_t){x0, x1, strong, sign > 0 ? n : -n};
   if (z0 < sum->b[0]) sum->b[0] = z0;
   if (z1 > sum->b[1]) sum->b[1] = z1;
   if (x0 < sum->b[2]) sum->b[2] = x0;
   if (x1 > sum->b[3]) sum->b[3] = x1;
}

/* Outline of the pixels flagged `bit` inside bounds b (iz0, iz1, ix0, ix1):
 * they take the negative label `tag` (one per report; the component labels
 * are not read after the reports) for the per-column envelope. */
static uint32_t flagged_polygon(art_t *a, const int *b, uint8_t bit, int32_t tag, sono_point_t *poly, int *count)
{
   art_comp_t w = {b[0], b[1], b[2], b[3], 0, tag};
   for (int ix = w.ix0; ix <= w.ix1; ++ix)
      for (int iz = w.iz0; iz <= w.iz1; ++iz) {
         size_t p = art_px(a, iz, ix);
         if (a->aflags[p] & bit) {
            a->labels[p] = tag;
            w.count++;
         }
      }
   *count = w.count;
   return art_comp_polygon(a, &w, poly);
}

/* Adds the regions kept aside (check_aliasing) to the wrapping segment. */
static void add_beside(art_t *a, alias_sum_t *sum)
{
   const float fast = (float)(a->p[P_ALIAS_FRACTION] * a->vn);
   for (int k = 0; k < sum->nbeside; ++k) {
      const art_comp_t *c = &sum->beside[k];
      int x0, x1, z0 = a->nz, z1 = -1;
      if (!wrapping_columns(a, c, &x0, &x1, fast))
         continue;
      note_label(sum, c->label);
      for (int ix = x0; ix <= x1; ++ix)
         for (int iz = c->iz0; iz <= c->iz1; ++iz)
            if (a->labels[art_px(a, iz, ix)] == c->label) {
               a->aflags[art_px(a, iz, ix)] |= ALIAS_REGION;
               z0 = iz < z0 ? iz : z0;
               z1 = iz > z1 ? iz : z1;
            }
      if (z0 < sum->b[0]) sum->b[0] = z0;
      if (z1 > sum->b[1]) sum->b[1] = z1;
      if (x0 < sum->b[2]) sum->b[2] = x0;
      if (x1 > sum->b[3]) sum->b[3] = x1;
   }
}

/* ---- aliasing over the cine --------------------------------------------------- */

/* A stretch of vessel that wraps at systole is aliasing in the whole cycle
 * for the clinician reading the cine, while one frame shows the wrap over
 * the part of the stretch that passes the scale at that instant (phantom
 * training seeds: the single-frame segment often covers under a third of
 * the stretch that wraps over the cycle). The plugin therefore keeps, per
 * pixel, the last frame whose aliasing region held it, and a frame that
 * reports aliasing outlines the pixels of its wrapping vessels that wrapped
 * within the last alias_cine_s (1 s: one cardiac cycle at 60 bpm). A gap
 * in the sequence, a new grid, or a change of PRF or velocity scale starts
 * a new cine: the old wrap says nothing about the new scale. */

static int cine_same(const art_t *a, const sono_frame_t *fr)
{
   return a->cine_valid && fr->sequence == a->cine_seq + 1 && fabs(a->vn - a->cine_vn) <= 1e-3 * a->cine_vn &&
          fabs(fr->acquisition.prf_hz - a->cine_prf) <= 1e-3 * a->cine_prf && a->cine_nz == a->nz &&
          a->cine_nx == a->nx;
}

/* Advances the cine by this frame (every assessed frame, with or without
 * colour), starting a new one when the acquisition changed. */
static void cine_advance(art_t *a, const sono_frame_t *fr)
{
   if (!cine_same(a, fr)) {
      a->cine_frame += ART_CINE_FRAMES + 1; /* every older stamp falls outside the window */
      a->cine_start = a->cine_frame;
      a->cine_box[0] = a->nz, a->cine_box[1] = -1, a->cine_box[2] = a->nx, a->cine_box[3] = -1;
      a->cine_nz = a->nz, a->cine_nx = a->nx;
      a->cine_vn = a->vn;
      a->cine_prf = fr->acquisition.prf_hz;
      a->cine_valid = 1;
   } else {
      a->cine_frame++;
   }
   a->cine_seq = fr->sequence;
   a->cine_ts[a->cine_frame % ART_CINE_FRAMES] = fr->timestamp_ns;
   a->cine_wrap[a->cine_frame % ART_CINE_FRAMES] = 0;
}

/* Frames of the current cine within alias_cine_s of this one (this one
 * included). */
static uint32_t cine_window(const art_t *a)
{
   uint64_t now = a->cine_ts[a->cine_frame % ART_CINE_FRAMES], span = (uint64_t)(a->p[P_ALIAS_CINE_S] * 1e9);
   uint32_t n = 1;
   while (n < ART_CINE_FRAMES && a->cine_frame - n >= a->cine_start) {
      uint64_t t = a->cine_ts[(a->cine_frame - n) % ART_CINE_FRAMES];
      if (t > now || now - t > span)
         break;
      ++n;
   }
   return n;
}

static int wrapping_label(const alias_sum_t *sum, int32_t label)
{
   for (int k = 0; k < sum->nlabels; ++k)
      if (sum->labels[k] == label)
         return 1;
   return 0;
}

/* Stamps this frame's wrapping segment, then adds to it the pixels of the
 * same vessels (colour components holding a wrapping segment now) that
 * wrapped earlier in the window. Returns the frames of the window with
 * aliasing reported (this one included); *nwin is the window's length. */
static int cine_union(art_t *a, alias_sum_t *sum, int *nwin)
{
   uint32_t now = a->cine_frame, n = a->p[P_ALIAS_CINE_S] > 0 ? cine_window(a) : 1;
   int *cb = a->cine_box, *b = sum->b;
   for (int ix = b[2]; ix <= b[3]; ++ix)
      for (int iz = b[0]; iz <= b[1]; ++iz) {
         size_t p = art_px(a, iz, ix);
         if (a->aflags[p] & ALIAS_REGION)
            a->alias_seen[p] = now;
      }
   if (b[0] < cb[0]) cb[0] = b[0];
   if (b[1] > cb[1]) cb[1] = b[1];
   if (b[2] < cb[2]) cb[2] = b[2];
   if (b[3] > cb[3]) cb[3] = b[3];
   a->cine_wrap[now % ART_CINE_FRAMES] = 1;
   int frames = 0;
   for (uint32_t k = 0; k < n; ++k)
      frames += a->cine_wrap[(now - k) % ART_CINE_FRAMES];
   *nwin = (int)n;
   if (frames < 2)
      return frames;
   for (int ix = cb[2]; ix <= cb[3]; ++ix)
      for (int iz = cb[0]; iz <= cb[1]; ++iz) {
         size_t p = art_px(a, iz, ix);
         uint32_t seen = a->alias_seen[p];
         if (seen == 0 || now - seen >= n || (a->aflags[p] & ALIAS_REGION) || !wrapping_label(sum, a->labels[p]))
            continue;
         a->aflags[p] |= ALIAS_REGION;
         if (iz < b[0]) b[0] = iz;
         if (iz > b[1]) b[1] = iz;
         if (ix < b[2]) b[2] = ix;
         if (ix > b[3]) b[3] = ix;
      }
   return frames;
}

/* Wrapped pairs, opposite-colour pixels and axial bounds of the wrapping
 * pixels in columns x0..x1 (a stretch): b gets iz0, iz1, ix0, ix1. */
typedef struct alias_stretch {
   int b[4];
   int pairs, opposite;
} alias_stretch_t;

static void measure_stretch(const art_t *a, const alias_sum_t *sum, int x0, int x1, alias_stretch_t *st)
{
   st->b[0] = a->nz, st->b[1] = -1, st->b[2] = x0, st->b[3] = x1;
   st->pairs = st->opposite = 0;
   for (int ix = x0; ix <= x1; ++ix)
      for (int iz = sum->b[0]; iz <= sum->b[1]; ++iz) {
         size_t p = art_px(a, iz, ix);
         uint8_t f = a->aflags[p];
         if (!(f & ALIAS_REGION))
            continue;
         st->pairs += ((f & SONO_DSP_ALIAS_DOWN) != 0) + ((f & SONO_DSP_ALIAS_RIGHT) != 0);
         st->opposite += a->mask2[p] != 0;
         st->b[0] = iz < st->b[0] ? iz : st->b[0];
         st->b[1] = iz > st->b[1] ? iz : st->b[1];
      }
}

static void report_stretch(art_t *a, const alias_sum_t *sum, int x0, int x1, int frames, int nwin)
{
   int strong = 0, toward = 0;
   for (int k = 0; k < sum->nspans; ++k)
      if (sum->spans[k].x1 >= x0 && sum->spans[k].x0 <= x1) {
         strong |= sum->spans[k].strong;
         toward += sum->spans[k].toward;
      }
   if (!strong)
      return;
   alias_stretch_t st;
   measure_stretch(a, sum, x0, x1, &st);
   art_finding_t *f = art_add(a, K_ALIASING, (float)(0.6 + 0.35 * fmin(1.0, st.pairs / 60.0)));
   if (!f)
      return;
   int count;
   f->npoly = flagged_polygon(a, st.b, ALIAS_REGION, -1, f->poly, &count);
   snprintf(f->label, sizeof f->label, "Colour aliasing");
   snprintf(f->basis, sizeof f->basis,
            "%d neighbour pairs wrap between +%.1f and -%.1f mm/s (both above %.0f%% of the Nyquist velocity %.1f mm/s) "
            "over %.1f mm2 of opposite colour in %.1f mm2 of flow; flow direction from the vessel edges is %s the probe",
            st.pairs, 1e3 * a->p[P_ALIAS_FRACTION] * a->vn, 1e3 * a->p[P_ALIAS_FRACTION] * a->vn,
            100 * a->p[P_ALIAS_FRACTION], 1e3 * a->vn, st.opposite * a->dx * a->dz * 1e6, count * a->dx * a->dz * 1e6,
            toward >= 0 ? "toward" : "away from");
   size_t len = strlen(f->basis);
   if (frames >= 2 && len < sizeof f->basis)
      snprintf(f->basis + len, sizeof f->basis - len, "; wrap seen in %d of the last %d frames, region over %.1f mm",
               frames, nwin, (x1 - x0 + 1) * a->dx * 1e3);
   snprintf(f->advice, sizeof f->advice, "Raise the velocity scale (PRF) or lower the baseline");
}

/* One finding per stretch of vessel that wraps. The truth of a wrap is the
 * stretch whose flow passes the scale, and a curved vessel passes it only
 * where it runs steepest to the beam: often at both ends of the frame,
 * with a slower middle between (phantom training seed 502 case 31: two
 * stretches 7.8 mm apart, one finding over both matched neither). Columns
 * holding wrapping pixels make one stretch while the gaps between them are
 * at most alias_gap_m (3 mm: a deposit's shadow cutting one wrapping
 * stretch is narrower); each stretch needs a strong core of its own. */
static void report_aliasing(art_t *a, alias_sum_t *sum)
{
   if (sum->strong == 0)
      return;
   add_beside(a, sum);
   int nwin = 1, frames = cine_union(a, sum, &nwin);
   const int *b = sum->b;
   float *held = a->colv; /* per column: a wrapping pixel lies in it */
   for (int ix = b[2]; ix <= b[3]; ++ix) {
      held[ix] = 0;
      for (int iz = b[0]; iz <= b[1]; ++iz)
         if (a->aflags[art_px(a, iz, ix)] & ALIAS_REGION) {
            held[ix] = 1;
            break;
         }
   }
   int gap = art_npx_x(a, a->p[P_ALIAS_GAP_M]);
   for (int ix = b[2]; ix <= b[3]; ++ix) {
      if (held[ix] == 0)
         continue;
      int x0 = ix, x1 = ix;
      for (int jx = ix + 1; jx <= b[3] && jx - x1 <= gap; ++jx)
         if (held[jx] != 0)
            x1 = jx;
      report_stretch(a, sum, x0, x1, frames, nwin);
      ix = x1;
   }
}

/* A flash colours the tissue with its motion, and that motion's phase
 * ramp dominates the lumen's echo too: the flash frames of phantom
 * training seeds 501 and 502 hold 0-21 wrapped neighbour pairs, where the
 * wrapping frames of the same vessels hold 500-2600. The flow does not change in the 1-3 frames
 * of a flash, so the wrap reported on the frame before it is held through
 * it, over the same pixels (and stamped again, so that the cine continues
 * after the flash as it would without it). */
static void hold_wrap_through_flash(art_t *a)
{
   uint32_t now = a->cine_frame, prev = now - 1;
   if (now == a->cine_start || !a->cine_wrap[prev % ART_CINE_FRAMES])
      return;
   const int *cb = a->cine_box;
   int b[4] = {a->nz, -1, a->nx, -1}, count = 0;
   for (int ix = cb[2]; ix <= cb[3]; ++ix)
      for (int iz = cb[0]; iz <= cb[1]; ++iz) {
         size_t p = art_px(a, iz, ix);
         a->aflags[p] = 0;
         if (a->alias_seen[p] != prev)
            continue;
         a->aflags[p] = ALIAS_REGION;
         a->alias_seen[p] = now;
         b[0] = iz < b[0] ? iz : b[0];
         b[1] = iz > b[1] ? iz : b[1];
         b[2] = ix < b[2] ? ix : b[2];
         b[3] = ix > b[3] ? ix : b[3];
      }
   if (b[1] < 0)
      return;
   a->cine_wrap[now % ART_CINE_FRAMES] = 1;
   art_finding_t *f = art_add(a, K_ALIASING, 0.6f);
   if (!f)
      return;
   f->npoly = flagged_polygon(a, b, ALIAS_REGION, -1, f->poly, &count);
   snprintf(f->label, sizeof f->label, "Colour aliasing (held through a colour flash)");
   snprintf(f->basis, sizeof f->basis,
            "colour wrapped at the Nyquist velocity %.1f mm/s over %.1f mm2 on the previous frame; this frame's flash "
            "hides the flow, which does not change within the 1-3 frames of a flash",
            1e3 * a->vn, count * a->dx * a->dz * 1e6);
   snprintf(f->advice, sizeof f->advice, "Raise the velocity scale (PRF) or lower the baseline");
}

/* Colour thickness over B-mode lumen thickness, column by column, for a
 * colour component. The lumen of a column is traced on the smoothed B-mode
 * from its darkest point inside the colour span, out to half way (in dB)
 * between that floor and the tissue 0.25-0.6 mm above and below the
 * colour: the row median cannot serve here, because a vessel running
 * across the frame is itself the median of its rows. Columns whose lumen
 * stands less than 6 dB under the tissue show no lumen and are skipped.
 * Returns the columns measured; *ratio is their median ratio, *over the
 * fraction of the colour pixels lying over tissue (above the half-way
 * level), *lumen_mm and *colour_mm the median thicknesses. */
typedef struct bloom_measure {
   int cols, lumen_cols;
   int top, bot; /* colour pixels over tissue above and below the lumen */
   double ratio, over, lumen_mm, colour_mm;
} bloom_measure_t;

static int cmp_float(const void *x, const void *y)
{
   float u = *(const float *)x, v = *(const float *)y;
   return (u > v) - (u < v);
}

static float band_mean(const art_t *a, const float *col, int z0, int z1)
{
   z0 = z0 < 0 ? 0 : z0;
   z1 = z1 >= a->nz ? a->nz - 1 : z1;
   if (z1 < z0)
      return NAN;
   float s = 0;
   for (int iz = z0; iz <= z1; ++iz)
      s += col[iz];
   return s / (float)(z1 - z0 + 1);
}

static void measure_bloom(art_t *a, const art_comp_t *c, bloom_measure_t *m)
{
   float *ratio = a->colv, *lum = a->col; /* nx and nz scratch: a component has at most nx columns */
   int near = art_npx_z(a, 0.25e-3), far = art_npx_z(a, 0.6e-3), over = 0, total = 0;
   m->cols = m->lumen_cols = m->top = m->bot = 0;
   for (int ix = c->ix0; ix <= c->ix1; ++ix) {
      const int32_t *lab = a->labels + art_px(a, 0, ix);
      const float *sm = a->sm + art_px(a, 0, ix);
      int zt = -1, zb = -1, nc = 0, zmin = -1;
      for (int iz = c->iz0; iz <= c->iz1; ++iz)
         if (lab[iz] == c->label) {
            zt = zt < 0 ? iz : zt;
            zb = iz;
            ++nc;
            if (zmin < 0 || sm[iz] < sm[zmin])
               zmin = iz;
         }
      if (nc < 3)
         continue;
      ++m->cols;
      float up = band_mean(a, sm, zt - far, zt - near), down = band_mean(a, sm, zb + near, zb + far);
      float tissue = isnan(up) ? down : isnan(down) ? up : 0.5f * (up + down);
      if (isnan(tissue) || tissue - sm[zmin] < 6.0f)
         continue;
      float thr = 0.5f * (tissue + sm[zmin]);
      int z0 = zmin, z1 = zmin;
      while (z0 > 0 && sm[z0 - 1] < thr)
         --z0;
      while (z1 + 1 < a->nz && sm[z1 + 1] < thr)
         ++z1;
      for (int iz = zt; iz <= zb; ++iz)
         if (lab[iz] == c->label) {
            ++total;
            over += sm[iz] >= thr;
            m->top += sm[iz] >= thr && iz < z0;
            m->bot += sm[iz] >= thr && iz > z1;
         }
      lum[m->lumen_cols] = (float)(z1 - z0 + 1);
      ratio[m->lumen_cols++] = (float)nc / (float)(z1 - z0 + 1);
   }
   m->ratio = m->over = m->lumen_mm = 0;
   if (m->lumen_cols == 0)
      return;
   qsort(ratio, (size_t)m->lumen_cols, sizeof(float), cmp_float);
   m->ratio = ratio[m->lumen_cols / 2];
   qsort(lum, (size_t)m->lumen_cols, sizeof(float), cmp_float);
   m->lumen_mm = lum[m->lumen_cols / 2] * a->dz * 1e3;
   m->colour_mm = m->lumen_mm * m->ratio;
   m->over = total ? (double)over / total : 0;
}

/* Blooming of a frame: the colour regions wider than their B-mode lumen
 * by bloom_ratio, with bloom_over_fraction of their colour over tissue,
 * make one finding whose region also takes the vessel's other colour
 * segments that spread past their lumen (ratio >= 1, bloom_over_fraction / 2
 * over tissue): blooming widens the whole vessel's colour, and a vessel is
 * often cut into segments by an occlusion or a shadow. */
typedef struct bloom_sum {
   int regions;            /* regions over both thresholds */
   bloom_measure_t best;   /* the widest of them */
   int b[4];               /* iz0, iz1, ix0, ix1 of every marked region */
} bloom_sum_t;

#define BLOOM_SPAN 1.1 /* colour/lumen thickness for the over-tissue share alone to count */
#define BLOOM_REGION 0x40u /* aflags bit: pixel of a blooming colour segment */

/* Smaller over larger of the colour over tissue above and below the
 * lumen. Blooming spreads the colour past both walls by the same blur, so
 * it spills on both sides; colour over tissue on one side only is a lumen
 * edge traced off the colour's centre (a wall echo or a branch beside a
 * small vessel), not colour wider than the flow (phantom seeds 596 and
 * 604: small blooming vessels 0.85-0.99; seed 597 case 36, a clean 0.68 mm
 * vessel read as blooming in 7 frames: 0.54-0.75). */
static double spill_symmetry(const bloom_measure_t *m)
{
   int lo = m->top < m->bot ? m->top : m->bot, hi = m->top < m->bot ? m->bot : m->top;
   return hi > 0 ? (double)lo / hi : 0.0;
}

static void check_blooming(art_t *a, const art_comp_t *c, bloom_sum_t *sum)
{
   bloom_measure_t m;
   measure_bloom(a, c, &m);
   /* a lumen must be traced over 1 mm of the vessel before its width counts */
   if (m.lumen_cols < art_npx_x(a, 1.0e-3) || m.ratio < 1.0 || m.over < 0.5 * a->p[P_BLOOM_OVER])
      return;
   /* clinical-spec A6: colour wider than the lumen, or colour over the
    * tissue beside it, once the colour passes the walls by more than the
    * resolution cell blurs a clean vessel's colour: a small vessel's colour
    * spreads a fixed distance past its walls, so its width ratio is high
    * (phantom seeds 501-502, 580-582: clean vessels 0.35-0.6 mm wide, ratio
    * up to 1.55 and a third of their colour over tissue, yet at most 0.28 mm
    * thicker than their lumen; blooming 0.39-1.2 mm thicker). */
   double excess_m = (m.colour_mm - m.lumen_mm) * 1e-3;
   int past = excess_m >= a->p[P_BLOOM_EXCESS_M]; /* past the resolution cell's blur */
   int wide = past && m.ratio >= a->p[P_BLOOM_RATIO] && m.over >= a->p[P_BLOOM_OVER];
   int spread = past && m.ratio >= BLOOM_SPAN && m.over >= a->p[P_BLOOM_OVER_ALONE];
   /* a small vessel (lumen under 1 mm) blooming to 1.5x its lumen is only
    * about 0.2-0.3 mm thicker than the blur of a clean one, but its colour
    * lies over the tissue beside the lumen in a larger share: over 0.33
    * on every frame of the blooming vessels of phantom seeds 501 and 596,
    * at most 0.32 for their clean vessels; bloom_over_small (0.36) keeps
    * a margin to the clean side */
   int small = m.ratio >= BLOOM_SPAN && m.over >= a->p[P_BLOOM_OVER_SMALL] &&
               spill_symmetry(&m) >= a->p[P_BLOOM_SMALL_SYMMETRY];
   if (wide || spread || small) {
      if (sum->regions == 0 || m.ratio > sum->best.ratio)
         sum->best = m;
      sum->regions++;
   }
   for (int ix = c->ix0; ix <= c->ix1; ++ix)
      for (int iz = c->iz0; iz <= c->iz1; ++iz)
         if (a->labels[art_px(a, iz, ix)] == c->label)
            a->aflags[art_px(a, iz, ix)] |= BLOOM_REGION;
   if (c->iz0 < sum->b[0]) sum->b[0] = c->iz0;
   if (c->iz1 > sum->b[1]) sum->b[1] = c->iz1;
   if (c->ix0 < sum->b[2]) sum->b[2] = c->ix0;
   if (c->ix1 > sum->b[3]) sum->b[3] = c->ix1;
}

static void report_blooming(art_t *a, const bloom_sum_t *sum)
{
   if (sum->regions == 0)
      return;
   const bloom_measure_t *m = &sum->best;
   double excess = fmax((m->ratio - a->p[P_BLOOM_RATIO]) / 0.4, (m->over - a->p[P_BLOOM_OVER_ALONE]) / 0.2);
   art_finding_t *f = art_add(a, K_BLOOMING, (float)(0.55 + 0.4 * art_clampf((float)excess, 0.0f, 1.0f)));
   if (!f)
      return;
   int count;
   f->npoly = flagged_polygon(a, sum->b, BLOOM_REGION, -2, f->poly, &count);
   snprintf(f->label, sizeof f->label, "Colour blooming");
   snprintf(f->basis, sizeof f->basis,
            "colour %.2f mm thick over a B-mode lumen of %.2f mm (median of %d columns: %.2fx, limit %.2fx); %.0f%% of "
            "the colour lies over tissue beside the lumen; %.1f mm2 of colour",
            m->colour_mm, m->lumen_mm, m->lumen_cols, m->ratio, a->p[P_BLOOM_RATIO], 100 * m->over,
            count * a->dx * a->dz * 1e6);
   snprintf(f->advice, sizeof f->advice, "Reduce colour gain (and raise the wall filter if it is low)");
}

/* Random-sign, high-variance colour directly deep to a bright focus. */
#define TWINKLE_MIN_FLIPS 0.15
#define TWINKLE_MAX_WIDTH_M 1.5e-3

/* Colour variance (fraction of VN^2) and share of lateral neighbour pairs
 * changing sign over the pixels of box b (iz0, iz1, ix0, ix1) that carry
 * `label` (label 0: every coloured pixel). Returns the pixels counted. */
static int twinkle_measure(const art_t *a, const int *b, int32_t label, double *vfrac, double *flip)
{
   double var = 0;
   int flips = 0, pairs = 0, n = 0;
   for (int ix = b[2]; ix <= b[3]; ++ix)
      for (int iz = b[0]; iz <= b[1]; ++iz) {
         size_t p = art_px(a, iz, ix);
         if (label ? a->labels[p] != label : !a->cmask[p])
            continue;
         ++n;
         var += a->var[p];
         size_t q = p + (size_t)a->nz;
         if (ix + 1 <= b[3] && (label ? a->labels[q] == label : a->cmask[q] != 0)) {
            ++pairs;
            flips += (a->vel[p] > 0) != (a->vel[q] > 0);
         }
      }
   *vfrac = n ? var / n / (a->vn * a->vn) : 0;
   *flip = pairs ? (double)flips / pairs : 0;
   return n;
}

/* Brightest point of the lateral-mean B-mode over its row reference within
 * 0.6 mm above the top of box b, in its columns (*fz: its row). */
static float twinkle_focus(const art_t *a, const int *b, int *fz)
{
   float focus = -100;
   int reach = art_npx_z(a, 0.6e-3);
   *fz = b[0];
   for (int ix = b[2]; ix <= b[3]; ++ix)
      for (int iz = b[0] - reach; iz <= b[0] + 2; ++iz)
         if (iz >= 0 && iz < a->nz) {
            float d = a->lat[art_px(a, iz, ix)] - a->rowref[iz];
            if (d > focus) {
               focus = d;
               *fz = iz;
            }
         }
   return focus;
}

static void report_twinkling(art_t *a, const int *b, const art_comp_t *c, double vfrac, double flip, float focus,
                             int fz, double prf, int held)
{
   int prf_change = a->twinkle_seen && a->last_prf > 0 && fabs(prf - a->last_prf) > 0.05 * a->last_prf;
   art_finding_t *f = art_add(a, K_TWINKLING, prf_change ? 0.9f : held ? 0.65f : 0.7f);
   if (!f)
      return;
   f->npoly = c ? art_comp_polygon(a, c, f->poly) : art_rect_polygon(a, b[0], b[1], b[2], b[3], f->poly);
   snprintf(f->label, sizeof f->label, "Twinkling artefact deep to a hyperechoic focus");
   int len = snprintf(f->basis, sizeof f->basis,
                      "colour variance %.2f VN^2 with %.0f%% sign changes between neighbours over %.1f x %.1f mm, "
                      "directly under a focus %.0f dB above the row reference at %.1f mm%s",
                      vfrac, 100 * flip, (b[3] - b[2] + 1) * a->dx * 1e3, (b[1] - b[0] + 1) * a->dz * 1e3, focus,
                      art_mm_z(a, fz), held ? "; the same column twinkled on the previous frame" : "");
   if (prf_change && len > 0 && (size_t)len < sizeof f->basis)
      snprintf(f->basis + len, sizeof f->basis - (size_t)len, "; persists after the PRF changed from %.1f to %.1f kHz",
               a->last_prf * 1e-3, prf * 1e-3);
   snprintf(f->advice, sizeof f->advice,
            "Not flow: consistent with a rough strong reflector (e.g. calcification, CaHA/PMMA); confirm by changing "
            "the PRF");
   for (int k = 0; k < 4; ++k)
      a->twinkle_box[k] = b[k];
   a->twinkle_flip = flip;
   a->twinkle_held = 1;
}

static int check_twinkling(art_t *a, const art_comp_t *c, double prf)
{
   /* a column under the focus: no wider than 1.5 mm and deeper than wide
    * (a vessel's colour runs along the vessel, and a slow-flow mosaic in
    * it changes sign as often as twinkling does) */
   double width = (c->ix1 - c->ix0 + 1) * a->dx, depth = (c->iz1 - c->iz0 + 1) * a->dz;
   if (width > TWINKLE_MAX_WIDTH_M || depth < width)
      return 0;
   int b[4] = {c->iz0, c->iz1, c->ix0, c->ix1}, fz;
   double vfrac, flip;
   twinkle_measure(a, b, c->label, &vfrac, &flip);
   /* vessel colour keeps its sign between neighbours (<= 6% changes on the
    * training seeds, aliasing included); a twinkling column changes it on
    * 22-66% of the pairs */
   if (vfrac < a->p[P_TWINKLE_VARIANCE] || flip < TWINKLE_MIN_FLIPS)
      return 0;
   /* a bright focus within 0.6 mm above the colour, in its columns */
   float focus = twinkle_focus(a, b, &fz);
   if (focus < (float)a->p[P_REFLECTOR_DB])
      return 0;
   report_twinkling(a, b, c, vfrac, flip, focus, fz, prf, 0);
   return 1;
}

/* Twinkling is the colour of a fixed rough reflector: it stays in the same
 * column from frame to frame while flow pulses around it. When the
 * systolic colour of a vessel beside it or a flash joins that column to a
 * wider colour region, the column is no longer a region of its own and
 * check_twinkling cannot see it (phantom training seed 502 case 20: the
 * twinkle of frame 0 merged with the vessel's colour in frames 1-3 and
 * with a flash in frames 4-5). The column that twinkled on the previous
 * frame is therefore measured in place: at least half of it coloured,
 * with the variance, sign changes (over both frames) and focus that
 * check_twinkling asks.
 * Under a flash (`incoherence`: the share of the frame's neighbour pairs
 * changing sign, else -1) the tissue's coherent motion echo dilutes the
 * column's phase spread, so twinkle_flash_variance (0.5) of the variance
 * suffices while its sign still changes twinkle_flash_flips (2) times as
 * often as the flash's does (seed 502 case 20: 0.09 VN^2 and 27% sign
 * changes under a flash changing sign on 4% of its pairs). */
static void check_held_twinkle(art_t *a, double prf, double incoherence)
{
   const int *b = a->twinkle_box;
   double vfrac, flip, vmin = a->p[P_TWINKLE_VARIANCE];
   int n = twinkle_measure(a, b, 0, &vfrac, &flip), fz;
   if (incoherence >= 0) {
      vmin *= a->p[P_TWINKLE_FLASH_VAR];
      if (flip < a->p[P_TWINKLE_FLASH_FLIPS] * incoherence)
         return;
   }
   /* the jitter is one phase per A-line: a 0.5 mm column holds ~10 A-lines,
    * so one frame's share of sign changes is a coarse estimate (seed 503
    * case 35: 11% on frame 3 between frames at 22-66%); the column's two
    * frames are read together */
   if (2 * n < (b[1] - b[0] + 1) * (b[3] - b[2] + 1) || vfrac < vmin ||
       0.5 * (flip + a->twinkle_flip) < TWINKLE_MIN_FLIPS)
      return;
   float focus = twinkle_focus(a, b, &fz);
   if (focus >= (float)a->p[P_REFLECTOR_DB])
      report_twinkling(a, b, NULL, vfrac, flip, focus, fz, prf, 1);
}

/* The PRF at which twinkling was last seen (a change of it confirms the
 * next one). */
static void note_twinkle_prf(art_t *a, double prf)
{
   if (a->twinkle_held) {
      a->twinkle_seen = 1;
      a->last_prf = prf;
   }
}

void art_detect_colour(art_t *a, const sono_frame_t *fr)
{
   cine_advance(a, fr);
   /* the twinkle column of the previous frame, while frames follow on one grid */
   int held = a->twinkle_held && a->have_prev;
   a->twinkle_held = 0;
   if (!a->has_colour) {
      a->fill_run = 0;
      return;
   }
   double fill = tissue_fill(a);
   if (detect_flash(a, fill)) {
      if (a->fill_run <= (int)a->p[P_FLASH_MAX_FRAMES]) /* a flash, not a persisting fill */
         hold_wrap_through_flash(a);
      if (held)
         check_held_twinkle(a, fr->acquisition.prf_hz, 1.0 - sign_coherence(a));
      note_twinkle_prf(a, fr->acquisition.prf_hz);
      return;
   }
   /* the colour: the seeds and the lower mask around them (art_prep.c) */
   art_components_seeded(a, a->cmask, a->aflags, 1);
   for (size_t i = 0; i < a->npix; ++i)
      a->vel[i] = a->cmask[i] ? a->vel[i] : 0.0f;
   sono_dsp_alias_flags(a->vel, (size_t)a->nz, (size_t)a->nx, (size_t)a->nz, (float)a->vn,
                        (float)a->p[P_ALIAS_FRACTION], a->aflags);
   memset(a->mask2, 0, a->npix);
   int big = (int)(0.1e-6 / (a->dx * a->dz)), isolated = 0;
   int twinkled = 0;
   alias_sum_t sum_frame, *sum = &sum_frame;
   sum->regions = sum->strong = sum->nbeside = sum->nlabels = sum->nspans = 0;
   sum->b[0] = a->nz, sum->b[1] = -1, sum->b[2] = a->nx, sum->b[3] = -1;
   bloom_sum_t bloom = {0, {0, 0, 0, 0, 0, 0, 0, 0}, {a->nz, -1, a->nx, -1}};
   axis_fit_t fit = {0, 0, 0, 0, 0};
   for (int k = 0; k < a->ncomps; ++k)
      if (a->comps[k].count >= big && a->comps[k].count > 4)
         axis_add(a, &a->comps[k], &fit);
   double frame_slope = axis_slope(a, &fit);
   /* components are processed in a copy: the list is stable, labels stay */
   for (int k = 0; k < a->ncomps; ++k) {
      art_comp_t c = a->comps[k];
      if (c.count <= 4) {
         isolated += c.count;
         continue;
      }
      if (c.count < big)
         continue;
      if (check_twinkling(a, &c, fr->acquisition.prf_hz)) {
         twinkled = 1;
         continue;
      }
      check_aliasing(a, &c, sum, frame_slope);
      check_blooming(a, &c, &bloom);
   }
   report_aliasing(a, sum);
   report_blooming(a, &bloom);
   if (!twinkled && held)
      check_held_twinkle(a, fr->acquisition.prf_hz, -1.0);
   note_twinkle_prf(a, fr->acquisition.prf_hz);
   double noise = (double)isolated / (double)a->npix;
   if (noise >= a->p[P_NOISE_FRACTION]) {
      art_finding_t *f = art_add(a, K_COLOUR_NOISE, (float)(0.6 + 0.3 * fmin(1.0, noise / (5 * a->p[P_NOISE_FRACTION]))));
      if (!f)
         return;
      f->npoly = art_rect_polygon(a, 0, a->nz - 1, 0, a->nx - 1, f->poly);
      snprintf(f->label, sizeof f->label, "Colour noise");
      snprintf(f->basis, sizeof f->basis,
               "%.1f%% of the frame holds isolated colour pixels (clusters of <= 4 pixels) without vessel geometry",
               100 * noise);
      snprintf(f->advice, sizeof f->advice, "Reduce colour gain or raise the power threshold");
   }
}
