/* B-mode and colour Doppler, resampled from the frame grid to the image. */
#include "render_internal.h"

#include <math.h>
#include <sono/sdk/names.h>

int render_check_plane(const sono_plane_t *p, const sono_grid_t *g, uint64_t sequence, sono_error_t *err)
{
   if (!p->data)
      return sono_error_set(err, "frame %llu: plane \"%s\": data is NULL", (unsigned long long)sequence,
                            sono_plane_kind_name(p->kind));
   if (p->shape[0] != g->nz || p->shape[1] != g->nx)
      return sono_error_set(err, "frame %llu: plane \"%s\": shape %u x %u (z x x) differs from the grid %u x %u",
                            (unsigned long long)sequence, sono_plane_kind_name(p->kind), p->shape[0], p->shape[1],
                            g->nz, g->nx);
   return 0;
}

static int check_dtype(const sono_plane_t *p, uint64_t sequence, int allow_u8, sono_error_t *err)
{
   if (p->dtype == SONO_DTYPE_FLOAT32 || (allow_u8 && p->dtype == SONO_DTYPE_UINT8))
      return 0;
   return sono_error_set(err, "frame %llu: plane \"%s\": dtype %s: expected %s", (unsigned long long)sequence,
                         sono_plane_kind_name(p->kind), sono_dtype_name(p->dtype) ? sono_dtype_name(p->dtype) : "?",
                         allow_u8 ? "uint8 or float32" : "float32");
}

static inline const char *element(const sono_plane_t *p, uint32_t iz, uint32_t ix, size_t size)
{
   return (const char *)p->data + ((int64_t)iz * p->stride[0] + (int64_t)ix * p->stride[1]) * (int64_t)size;
}

#define SONO_RENDER_U8_AT(p, iz, ix) \
   (((const uint8_t *)(p)->data)[(int64_t)(iz) * (p)->stride[0] + (int64_t)(ix) * (p)->stride[1]])

static inline float f32_at(const sono_plane_t *p, uint32_t iz, uint32_t ix)
{
   return *(const float *)element(p, iz, ix, sizeof(float));
}

/* Display value of a B-mode source sample: grey level, or dB for float
 * planes and the IQ envelope. */
static inline float bmode_at(const sono_plane_t *p, uint32_t iz, uint32_t ix)
{
   if (p->kind == SONO_PLANE_IQ) {
      const float *c = (const float *)element(p, iz, ix, 2 * sizeof(float));
      float power = c[0] * c[0] + c[1] * c[1];
      return power > 0.0f ? 10.0f * log10f(power) : -300.0f;
   }
   if (p->dtype == SONO_DTYPE_UINT8)
      return *(const uint8_t *)element(p, iz, ix, 1);
   return f32_at(p, iz, ix);
}

static float plane_max(const sono_plane_t *p, const sono_grid_t *g)
{
   float m = -INFINITY;
   for (uint32_t ix = 0; ix < g->nx; ++ix)
      for (uint32_t iz = 0; iz < g->nz; ++iz) {
         float v = p->kind == SONO_PLANE_BMODE || p->kind == SONO_PLANE_IQ ? bmode_at(p, iz, ix) : f32_at(p, iz, ix);
         if (isfinite(v) && v > m)
            m = v;
      }
   return m;
}

/* Per image row/column: the grid sample at or before its centre and the
 * weight of the next one (clamped at the borders). */
static void build_axis(int n_px, double start_m, double px_per_m, double origin_m, double step_m, uint32_t n,
                       int *index, float *weight)
{
   for (int i = 0; i < n_px; ++i) {
      double f = (start_m + (i + 0.5) / px_per_m - origin_m) / step_m;
      if (f < 0.0)
         f = 0.0;
      if (f > n - 1.0)
         f = n - 1.0;
      int i0 = (int)floor(f);
      if (i0 >= (int)n - 1)
         i0 = n > 1 ? (int)n - 2 : 0;
      index[i] = i0;
      weight[i] = n > 1 ? (float)(f - i0) : 0.0f;
   }
}

static void build_axes(sono_renderer_t *r, const sono_grid_t *g)
{
   build_axis(r->area_w, r->x_left_m, r->px_per_m, g->x0_m, g->dx_m, g->nx, r->col_index, r->col_weight);
   build_axis(r->area_h, r->z_top_m, r->px_per_m, g->z0_m, g->dz_m, g->nz, r->row_index, r->row_weight);
}

static float bilinear(const sono_plane_t *p, const sono_grid_t *g, int iz, float wz, int ix, float wx)
{
   uint32_t iz1 = g->nz > 1 ? (uint32_t)iz + 1 : (uint32_t)iz, ix1 = g->nx > 1 ? (uint32_t)ix + 1 : (uint32_t)ix;
   float a = bmode_at(p, (uint32_t)iz, (uint32_t)ix), b = bmode_at(p, (uint32_t)iz, ix1);
   float c = bmode_at(p, iz1, (uint32_t)ix), d = bmode_at(p, iz1, ix1);
   if (!isfinite(a) || !isfinite(b) || !isfinite(c) || !isfinite(d))
      return NAN;
   float top = a + (b - a) * wx, bottom = c + (d - c) * wx;
   return top + (bottom - top) * wz;
}

int render_bmode(sono_renderer_t *r, const sono_frame_t *frame, sono_error_t *err)
{
   const sono_grid_t *g = &frame->grid;
   const sono_plane_t *p = sono_frame_plane(frame, SONO_PLANE_BMODE);
   if (p && check_dtype(p, frame->sequence, 1, err) != 0)
      return -1;
   if (!p) {
      p = sono_frame_plane(frame, SONO_PLANE_IQ);
      if (p && p->dtype != SONO_DTYPE_COMPLEX64)
         return sono_error_set(err, "frame %llu: plane \"iq\": dtype %s: expected complex64",
                               (unsigned long long)frame->sequence, sono_dtype_name(p->dtype));
   }
   build_axes(r, g);
   if (!p)
      return 0; /* colour and overlays on black */
   if (render_check_plane(p, g, frame->sequence, err) != 0)
      return -1;
   /* uint8 is display grey already; dB sources span [max - range, max]. */
   float hi = 255.0f, range = 255.0f;
   if (!(p->kind == SONO_PLANE_BMODE && p->dtype == SONO_DTYPE_UINT8)) {
      hi = plane_max(p, g);
      range = r->opt.bmode_dynamic_range_db;
   }
   canvas_t *c = &r->canvas;
   for (int py = 0; py < r->area_h; ++py)
      for (int px = 0; px < r->area_w; ++px) {
         float v = bilinear(p, g, r->row_index[py], r->row_weight[py], r->col_index[px], r->col_weight[px]);
         float grey = isfinite(v) ? 255.0f * (v - (hi - range)) / range : 0.0f;
         uint8_t q = grey <= 0.0f ? 0 : grey >= 255.0f ? 255 : (uint8_t)(grey + 0.5f);
         canvas_put(c, r->left + px, r->top + py, (rgb_t){q, q, q});
      }
   return 0;
}

static double nyquist_of(const sono_frame_t *frame, const sono_plane_t *vel, const sono_grid_t *g)
{
   double vn = frame->acquisition.nyquist_velocity_m_s;
   if (vn > 0.0 && isfinite(vn))
      return vn;
   /* Without a Nyquist velocity the map spans the largest speed present. */
   float m = 0.0f;
   for (uint32_t ix = 0; ix < g->nx; ++ix)
      for (uint32_t iz = 0; iz < g->nz; ++iz) {
         float v = fabsf(f32_at(vel, iz, ix));
         if (isfinite(v) && v > m)
            m = v;
      }
   return m > 0.0f ? m : 1.0;
}

static int nearest(int i0, float w)
{
   return w >= 0.5f ? i0 + 1 : i0;
}

int render_colour(sono_renderer_t *r, const sono_frame_t *frame, double *vn_m_s, sono_error_t *err)
{
   const sono_grid_t *g = &frame->grid;
   const sono_plane_t *vel = sono_frame_plane(frame, SONO_PLANE_VELOCITY);
   const sono_plane_t *pow = sono_frame_plane(frame, SONO_PLANE_POWER);
   if (!vel)
      return 0;
   if (check_dtype(vel, frame->sequence, 0, err) != 0 || render_check_plane(vel, g, frame->sequence, err) != 0)
      return -1;
   if (pow && (check_dtype(pow, frame->sequence, 0, err) != 0 || render_check_plane(pow, g, frame->sequence, err) != 0))
      return -1;
   double vn = nyquist_of(frame, vel, g);
   *vn_m_s = vn;
   const sono_plane_t *bm = sono_frame_plane(frame, SONO_PLANE_BMODE);
   if (bm && (bm->dtype != SONO_DTYPE_UINT8 || render_check_plane(bm, g, frame->sequence, err) != 0))
      bm = NULL; /* write priority applies to display grey levels only */
   float gate = pow ? plane_max(pow, g) + r->opt.power_threshold_db : 0.0f;
   float reject = r->opt.velocity_reject * (float)vn;
   canvas_t *c = &r->canvas;
   for (int py = 0; py < r->area_h; ++py) {
      uint32_t iz = (uint32_t)nearest(r->row_index[py], r->row_weight[py]);
      for (int px = 0; px < r->area_w; ++px) {
         uint32_t ix = (uint32_t)nearest(r->col_index[px], r->col_weight[px]);
         float v = f32_at(vel, iz, ix);
         if (!isfinite(v))
            continue;
         if (fabsf(v) < reject || (pow && !(f32_at(pow, iz, ix) >= gate)))
            continue;
         if (bm && SONO_RENDER_U8_AT(bm, iz, ix) > r->opt.colour_priority)
            continue;
         canvas_put(c, r->left + px, r->top + py, colour_doppler_map(v / vn));
      }
   }
   return 1;
}
