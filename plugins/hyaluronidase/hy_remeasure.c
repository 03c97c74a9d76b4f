/* Re-measuring a baseline deposit that no deposit outlined now matches
 * (docs/clinical.md, "Hyaluronidase guidance", Baseline and follow-up).
 *
 * A deposit shrunk by hyaluronidase can fall below what the analysis
 * outlines and still be there. What is left of it lies inside its baseline
 * outline, so the echo there is compared with the tissue beside it at the
 * same depths, in this frame: a pixel belongs to the deposit when its
 * speckle-averaged echo lies beyond hy_remeasure_threshold() from the median
 * of that tissue. Tissue speckle crosses the threshold too, at the rate
 * measured in the tissue beside it; that share is taken out of the count, so
 * what is left is the area that stands out of the tissue. The echo is
 * averaged over the frames of one cine window (thermal noise), in buffers
 * from activate(). */
#include <math.h>

#include <sono/sdk/select.h>

#include "hy.h"

#define HY_RM_SMOOTH_M 0.05e-3 /* half-width of the speckle average, as the analysis's fine smoothing */
/* The tissue reference starts this far beside the baseline box, clear of
 * the deposit's blurred edge (PSF and speckle average), and ends
 * remeasure_tissue_m beside it. */
#define HY_RM_RING_GAP_M 0.5e-3

typedef struct region {
   int iz0, iz1, ix0, ix1; /* inclusive frame pixels */
} region_t;

static int pix_z(const sono_grid_t *g, double z) { return (int)lround((z - g->z0_m) / g->dz_m); }
static int pix_x(const sono_grid_t *g, double x) { return (int)lround((x - g->x0_m) / g->dx_m); }
static size_t at(const sono_grid_t *g, int iz, int ix) { return (size_t)iz + (size_t)g->nz * (size_t)ix; }

/* Echo (dB, any fixed reference) of pixel (iz, ix): the first ensemble
 * sample of the IQ plane, as the analysis forms it, else the display B-mode. */
static float echo_db(const sono_plane_t *iq, const sono_plane_t *bmode, double dr_db, int iz, int ix)
{
   if (iq) {
      const float *q = (const float *)iq->data + 2 * ((int64_t)iz * iq->stride[0] + (int64_t)ix * iq->stride[1]);
      float p = q[0] * q[0] + q[1] * q[1];
      return 10.0f * log10f(p > 1e-30f ? p : 1e-30f);
   }
   if (bmode->dtype == SONO_DTYPE_UINT8)
      return (float)(dr_db / 255.0) * SONO_KIT_AT(uint8_t, bmode, iz, ix, 0);
   return SONO_KIT_AT(float, bmode, iz, ix, 0);
}

/* Adds this frame to the running mean over the last cine window of frames. */
static void accumulate(hy_t *s, const sono_frame_t *frame, uint32_t b, region_t g)
{
   const sono_plane_t *iq = sono_frame_plane(frame, SONO_PLANE_IQ), *bm = sono_frame_plane(frame, SONO_PLANE_BMODE);
   if (iq && (iq->dtype != SONO_DTYPE_COMPLEX64 || !iq->data))
      iq = NULL;
   if (!iq && (!bm || !bm->data))
      return;
   double window = s->values[P_CINE_WINDOW] * frame->acquisition.frame_rate_hz;
   uint32_t n = s->rm_frames[b] + 1;
   if (window >= 1 && n > window)
      n = (uint32_t)window;
   float alpha = 1.0f / (float)n;
   for (int ix = g.ix0; ix <= g.ix1; ++ix)
      for (int iz = g.iz0; iz <= g.iz1; ++iz) {
         float *a = &s->rm_echo[at(&s->grid, iz, ix)];
         float v = echo_db(iq, bm, s->cfg.bmode_dynamic_range_db, iz, ix);
         *a = s->rm_frames[b] ? *a + alpha * (v - *a) : v;
      }
   s->rm_frames[b]++;
}

/* Mean of the accumulated echo over a speckle cell around (iz, ix), within g. */
static float speckle_mean(const hy_t *s, region_t g, int iz, int ix, int rz, int rx)
{
   float sum = 0;
   int n = 0;
   for (int x = ix - rx; x <= ix + rx; ++x)
      for (int z = iz - rz; z <= iz + rz; ++z)
         if (x >= g.ix0 && x <= g.ix1 && z >= g.iz0 && z <= g.iz1)
            sum += s->rm_echo[at(&s->grid, z, x)], ++n;
   return n ? sum / (float)n : 0.0f;
}

/* Inside a traced lumen: blood, never the deposit nor the tissue around it. */
static int in_traced_lumen(const sono_an_result_t *r, double x, double z)
{
   for (uint32_t v = 0; v < r->vessel_count; ++v) {
      const sono_an_vessel_t *ve = &r->vessels[v];
      if (ve->point_count < 2)
         continue;
      double dx = (ve->points[ve->point_count - 1].x_m - ve->points[0].x_m) / (ve->point_count - 1);
      long k = dx > 0 ? lround((x - ve->points[0].x_m) / dx) : -1;
      if (k < 0 || k >= (long)ve->point_count)
         continue;
      if (z >= ve->points[k].top_z_m && z <= ve->points[k].bottom_z_m)
         return 1;
   }
   return 0;
}

/* Inside a deposit outlined now: it is measured as itself. */
static int in_deposit_now(const sono_an_result_t *r, double x, double z)
{
   for (uint32_t k = 0; k < r->deposit_count; ++k) {
      const sono_an_deposit_t *d = &r->deposits[k];
      if (x >= d->x_left_m && x <= d->x_right_m && z >= d->z_top_m && z <= d->z_bottom_m &&
          hy_point_in_polygon(d->outline, d->outline_count, x, z))
         return 1;
   }
   return 0;
}

static int in_baseline(const hy_base_deposit_t *b, double x, double z)
{
   if (x < b->x_left || x > b->x_right || z < b->z_top || z > b->z_bottom)
      return 0;
   return b->outline_count < 3 || hy_point_in_polygon(b->outline, b->outline_count, x, z);
}

/* The threshold (dB re the tissue) a pixel of what is left must cross:
 * half the deposit's baseline contrast, where its blurred edge lies, and at
 * least the analysis's own deposit threshold. What dissolves is removed,
 * what is left is the same material with the same echo, while speckle and
 * tissue structure barely reach the analysis's threshold. */
float hy_remeasure_threshold(const hy_base_deposit_t *b, const sono_an_config_t *cfg)
{
   double half = 0.5 * b->echo_db;
   return (float)(b->echo_db < 0 ? fmin(cfg->deposit_dark_db, half) : fmax(cfg->deposit_bright_db, half));
}

static int passes(float v, float ref, float threshold)
{
   return threshold < 0 ? v < ref + threshold : v > ref + threshold;
}

/* Median echo of the tissue beside the baseline box at its depths, and the
 * share of it that crosses the threshold. Returns the pixel count. */
static size_t tissue_beside(hy_t *s, const sono_an_result_t *r, const hy_base_deposit_t *b, region_t g, int rz,
                            int rx, float threshold, float *ref, double *pass_share)
{
   const sono_grid_t *gr = &s->grid;
   double reach = s->values[P_REMEASURE_TISSUE];
   size_t n = 0;
   for (int ix = g.ix0; ix <= g.ix1; ++ix) {
      double x = gr->x0_m + ix * gr->dx_m;
      double beside = x < b->x_left ? b->x_left - x : x - b->x_right;
      if (beside < HY_RM_RING_GAP_M || beside > reach)
         continue;
      for (int iz = pix_z(gr, b->z_top); iz <= pix_z(gr, b->z_bottom); ++iz) {
         double z = gr->z0_m + iz * gr->dz_m;
         if (iz < g.iz0 || iz > g.iz1 || in_traced_lumen(r, x, z) || in_deposit_now(r, x, z))
            continue;
         s->rm_scratch[n++] = speckle_mean(s, g, iz, ix, rz, rx);
      }
   }
   if (!n)
      return 0;
   size_t crossing = 0;
   /* the median reorders the scratch; the crossing share does not care */
   *ref = sono_quantile(s->rm_scratch, n, 0.5);
   for (size_t i = 0; i < n; ++i)
      crossing += (size_t)passes(s->rm_scratch[i], *ref, threshold);
   *pass_share = (double)crossing / (double)n;
   return n;
}

void hy_remeasure(hy_t *s, const sono_an_result_t *r, const sono_frame_t *frame, uint32_t bi, hy_remeasure_t *out)
{
   const hy_base_deposit_t *b = &s->base.deposits[bi];
   const sono_grid_t *gr = &s->grid;
   memset(out, 0, sizeof *out);
   int rz = (int)fmax(1, lround(HY_RM_SMOOTH_M / gr->dz_m)), rx = (int)fmax(1, lround(HY_RM_SMOOTH_M / gr->dx_m));
   /* the deposit's box must lie in the field; the tissue beside it may be cut */
   double reach = s->values[P_REMEASURE_TISSUE], k = s->values[P_REMEASURE_SIGNIFICANCE];
   region_t g = {pix_z(gr, b->z_top) - rz, pix_z(gr, b->z_bottom) + rz, pix_x(gr, b->x_left - reach),
                 pix_x(gr, b->x_right + reach)};
   if (pix_z(gr, b->z_top) < 0 || pix_z(gr, b->z_bottom) >= (int)gr->nz || pix_x(gr, b->x_left) < 0 ||
       pix_x(gr, b->x_right) >= (int)gr->nx) {
      out->status = HY_RM_OUT_OF_FIELD;
      return;
   }
   g.iz0 = g.iz0 < 0 ? 0 : g.iz0, g.ix0 = g.ix0 < 0 ? 0 : g.ix0;
   g.iz1 = g.iz1 >= (int)gr->nz ? (int)gr->nz - 1 : g.iz1, g.ix1 = g.ix1 >= (int)gr->nx ? (int)gr->nx - 1 : g.ix1;
   accumulate(s, frame, bi, g);
   float threshold = hy_remeasure_threshold(b, &s->cfg);
   float ref = 0;
   double share = 0;
   size_t n_ring = tissue_beside(s, r, b, g, rz, rx, threshold, &ref, &share);
   /* tissue on one side at least, as tall as the deposit */
   double ring_min = (b->z_bottom - b->z_top) / gr->dz_m * (reach - HY_RM_RING_GAP_M) / gr->dx_m;
   if ((double)n_ring < ring_min) {
      out->status = HY_RM_OUT_OF_FIELD;
      return;
   }
   size_t n_in = 0, n_pass = 0;
   double sum_db = 0, sx = 0, sz = 0;
   for (int ix = pix_x(gr, b->x_left); ix <= pix_x(gr, b->x_right); ++ix)
      for (int iz = pix_z(gr, b->z_top); iz <= pix_z(gr, b->z_bottom); ++iz) {
         double x = gr->x0_m + ix * gr->dx_m, z = gr->z0_m + iz * gr->dz_m;
         if (!in_baseline(b, x, z) || in_traced_lumen(r, x, z) || in_deposit_now(r, x, z))
            continue;
         n_in++;
         float v = speckle_mean(s, g, iz, ix, rz, rx);
         if (passes(v, ref, threshold))
            n_pass++, sum_db += v, sx += x, sz += z;
      }
   double pixel = gr->dx_m * gr->dz_m;
   /* Pixels of one speckle average move together: the count's spread under
    * pure tissue is that of n_in / cell independent draws, and less than one
    * speckle average is no structure at all. */
   double cell = (2.0 * rz + 1) * (2.0 * rx + 1);
   double excess = share < 1 ? ((double)n_pass - share * (double)n_in) / (1.0 - share) : 0;
   double noise = fmax(cell, k * sqrt((double)n_in * share * (1.0 - share) * cell) / (1.0 - fmin(share, 0.99)));
   out->tissue_db = ref;
   out->tissue_share = share;
   out->contrast_db = n_pass ? sum_db / (double)n_pass - ref : 0;
   out->area_m2 = fmax(0, excess) * pixel;
   out->at = n_pass ? hy_clamp(gr, sx / (double)n_pass, sz / (double)n_pass) : hy_clamp(gr, b->cx, b->cz);
   out->status = excess <= noise ? HY_RM_GONE : excess <= 2.0 * noise ? HY_RM_AMBIGUOUS : HY_RM_SEEN;
}
