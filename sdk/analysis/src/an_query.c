/* Queries on the cine state of a context after sono_an_analyse(): what a
 * caller needs about a region it chose itself (for example whether a
 * deposit outline carries colour flow, which blood does and filler does not). */
#include <string.h>

#include "an_internal.h"

/* Pixel columns [*c0, *c1] of row z inside the polygon, by crossings. */
static int row_span(const struct sono_an_context *c, const sono_point_t *poly, uint32_t n, double z, double *xs, int cap)
{
   int k = 0;
   for (uint32_t i = 0, j = n - 1; i < n && k < cap; j = i++) {
      const sono_point_t *a = &poly[i], *b = &poly[j];
      if ((a->z_m > z) != (b->z_m > z))
         xs[k++] = a->x_m + (z - a->z_m) * (b->x_m - a->x_m) / (b->z_m - a->z_m);
   }
   for (int i = 1; i < k; ++i)
      for (int m = i; m > 0 && xs[m - 1] > xs[m]; --m) {
         double t = xs[m];
         xs[m] = xs[m - 1];
         xs[m - 1] = t;
      }
   (void)c;
   return k;
}

double sono_an_flow_fraction(const sono_an_context_t *c, const sono_point_t *poly, uint32_t n)
{
   if (!c || !poly || n < 3 || c->nz == 0 || c->frames_seen == 0)
      return 0.0;
   double zmin = poly[0].z_m, zmax = poly[0].z_m;
   for (uint32_t i = 1; i < n; ++i) {
      zmin = poly[i].z_m < zmin ? poly[i].z_m : zmin;
      zmax = poly[i].z_m > zmax ? poly[i].z_m : zmax;
   }
   int iz0 = (int)ceil((zmin - c->z0) / c->dz), iz1 = (int)floor((zmax - c->z0) / c->dz);
   iz0 = iz0 < 0 ? 0 : iz0;
   iz1 = iz1 >= (int)c->nz ? (int)c->nz - 1 : iz1;
   uint64_t inside = 0, flow = 0;
   double xs[SONO_AN_MAX_OUTLINE * 2 + 8];
   for (int iz = iz0; iz <= iz1; ++iz) {
      int k = row_span(c, poly, n, an_z(c, iz), xs, (int)(sizeof xs / sizeof xs[0]));
      for (int s = 0; s + 1 < k; s += 2) {
         int ix0 = (int)ceil((xs[s] - c->x0) / c->dx), ix1 = (int)floor((xs[s + 1] - c->x0) / c->dx);
         ix0 = ix0 < 0 ? 0 : ix0;
         ix1 = ix1 >= (int)c->nx ? (int)c->nx - 1 : ix1;
         for (int ix = ix0; ix <= ix1; ++ix) {
            inside++;
            flow += c->flow_age[an_pix(c, iz, ix)] < c->window_frames;
         }
      }
   }
   return inside ? (double)flow / (double)inside : 0.0;
}

float sono_an_echo_at(const sono_an_context_t *c, double x_m, double z_m)
{
   if (!c || c->frames_seen == 0 || c->nz == 0)
      return NAN;
   double fx = (x_m - c->x0) / c->dx, fz = (z_m - c->z0) / c->dz;
   if (!(fx > -0.5 && fz > -0.5 && fx < c->nx - 0.5 && fz < c->nz - 0.5))
      return NAN;
   return c->anom2[an_pix(c, (int)lround(fz), (int)lround(fx))];
}

void sono_an_flow_seen(const sono_an_context_t *c, uint32_t iz0, uint32_t ix0, uint32_t nz, uint32_t nx, uint8_t *out)
{
   if (!out)
      return;
   int ready = c && c->frames_seen > 0 && c->dec > 0;
   for (uint32_t ix = 0; ix < nx; ++ix) {
      uint8_t *o = out + (size_t)nz * ix;
      uint32_t fx = ix0 + ix;
      if (!ready || fx >= c->nx) {
         memset(o, 0, nz);
         continue;
      }
      const uint16_t *age = c->flow_age + an_pix(c, 0, (int)fx);
      if (c->dec == 1) { /* frame rows are analysis rows: no division per pixel */
         uint32_t in = iz0 < c->nz ? c->nz - iz0 : 0, m = nz < in ? nz : in;
         const uint16_t *a = age + iz0;
         uint16_t w = (uint16_t)(c->window_frames < 0xFFFFu ? c->window_frames : 0xFFFFu);
         for (uint32_t iz = 0; iz < m; ++iz)
            o[iz] = a[iz] < w;
         memset(o + m, 0, nz - m);
         continue;
      }
      for (uint32_t iz = 0; iz < nz; ++iz) {
         uint32_t r = (iz0 + iz) / c->dec; /* analysis row of the frame row */
         o[iz] = r < c->nz && age[r] < c->window_frames;
      }
   }
}

int sono_an_planes_suffice(uint32_t planes_available)
{
   uint32_t need = SONO_PLANE_BIT(SONO_PLANE_VELOCITY) | SONO_PLANE_BIT(SONO_PLANE_POWER);
   uint32_t echo = SONO_PLANE_BIT(SONO_PLANE_BMODE) | SONO_PLANE_BIT(SONO_PLANE_IQ);
   return (planes_available & need) == need && (planes_available & echo) != 0;
}

const sono_an_result_t *sono_an_analyse_frame(sono_an_context_t *ctx, const sono_an_config_t *cfg,
                                              const sono_frame_t *frame, sono_error_t *err)
{
   sono_an_input_t in = {&frame->grid,
                         &frame->acquisition,
                         sono_frame_plane(frame, SONO_PLANE_BMODE),
                         sono_frame_plane(frame, SONO_PLANE_IQ),
                         sono_frame_plane(frame, SONO_PLANE_VELOCITY),
                         sono_frame_plane(frame, SONO_PLANE_POWER),
                         sono_frame_plane(frame, SONO_PLANE_VARIANCE)};
   return sono_an_analyse(ctx, cfg, &in, err);
}
