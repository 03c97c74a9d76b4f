/* The spectral-Doppler strip: time left to right, velocity upward, grey by
 * dB, with baseline, PSV and EDV lines and the RI. */
#include "render_internal.h"

#include <math.h>
#include <stdio.h>
#include <sono/sdk/names.h>

enum {
   STRIP_W = 768, STRIP_H = 256, STRIP_LEFT = 76, STRIP_TOP = 36, STRIP_RIGHT = 180, STRIP_BOTTOM = 44,
   STRIP_SCALE = 2
};

static const float strip_range_db = 50.0f;
static const rgb_t fg = {210, 210, 210};
static const rgb_t psv_colour = {255, 196, 0};
static const rgb_t edv_colour = {0, 230, 118};

static double nice_step(double span, int pixels, int min_px)
{
   static const double steps[] = {0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100};
   for (size_t i = 0; i < sizeof steps / sizeof steps[0]; ++i)
      if (steps[i] / span * pixels >= min_px)
         return steps[i];
   return 100;
}

static int check_spectrogram(const sono_frame_t *frame, const sono_plane_t *p, sono_error_t *err)
{
   unsigned long long seq = (unsigned long long)frame->sequence;
   const sono_gate_t *gate = &frame->gate;
   if (!p)
      return sono_error_set(err, "frame %llu: no \"spectrogram\" plane: expected one for a spectral strip", seq);
   if (p->dtype != SONO_DTYPE_FLOAT32 || !p->data || p->shape[0] < 2 || p->shape[1] < 1)
      return sono_error_set(err, "frame %llu: plane \"spectrogram\": dtype %s, shape %u x %u: expected float32 dB, "
                                 "at least 2 rows and 1 column",
                            seq, sono_dtype_name(p->dtype) ? sono_dtype_name(p->dtype) : "?", p->shape[0], p->shape[1]);
   if (frame->struct_size < sizeof(sono_frame_t) || !isfinite(gate->velocity0_m_s) || !isfinite(gate->dvelocity_m_s) ||
       gate->dvelocity_m_s == 0.0 || !isfinite(gate->time0_s) || !isfinite(gate->dtime_s) || gate->dtime_s <= 0.0)
      return sono_error_set(err, "frame %llu: gate: velocity0_m_s %g, dvelocity_m_s %g, time0_s %g, dtime_s %g: "
                                 "expected finite axes with dvelocity != 0 and dtime > 0",
                            seq, gate->velocity0_m_s, gate->dvelocity_m_s, gate->time0_s, gate->dtime_s);
   return 0;
}

static float spec_at(const sono_plane_t *p, uint32_t row, uint32_t col)
{
   return *((const float *)p->data + (int64_t)row * p->stride[0] + (int64_t)col * p->stride[1]);
}

static float spec_max(const sono_plane_t *p)
{
   float m = -INFINITY;
   for (uint32_t c = 0; c < p->shape[1]; ++c)
      for (uint32_t r = 0; r < p->shape[0]; ++r) {
         float v = spec_at(p, r, c);
         if (isfinite(v) && v > m)
            m = v;
      }
   return m;
}

typedef struct strip_axes {
   double v_lo, v_hi;   /* velocity at the bottom and top edges, m/s */
   double t_lo, t_hi;   /* time at the left and right edges, s */
} strip_axes_t;

static int y_of_velocity(const strip_axes_t *a, double v)
{
   return STRIP_TOP + (int)floor((a->v_hi - v) / (a->v_hi - a->v_lo) * STRIP_H);
}

static void draw_strip(canvas_t *c, const sono_plane_t *p, const sono_gate_t *g, const strip_axes_t *a)
{
   float hi = spec_max(p);
   uint32_t rows = p->shape[0], cols = p->shape[1];
   for (int py = 0; py < STRIP_H; ++py) {
      double v = a->v_hi - (py + 0.5) * (a->v_hi - a->v_lo) / STRIP_H;
      long row = lround((v - g->velocity0_m_s) / g->dvelocity_m_s);
      if (row < 0 || row >= (long)rows)
         continue;
      for (int px = 0; px < STRIP_W; ++px) {
         uint32_t col = (uint32_t)((uint64_t)px * cols / STRIP_W);
         float db = spec_at(p, (uint32_t)row, col);
         float grey = isfinite(db) ? 255.0f * (db - (hi - strip_range_db)) / strip_range_db : 0.0f;
         uint8_t q = grey <= 0.0f ? 0 : grey >= 255.0f ? 255 : (uint8_t)(grey + 0.5f);
         canvas_put(c, STRIP_LEFT + px, STRIP_TOP + py, (rgb_t){q, q, q});
      }
   }
}

static void draw_axes(canvas_t *c, const strip_axes_t *a)
{
   char text[32];
   double vstep = nice_step((a->v_hi - a->v_lo) * 100.0, STRIP_H, 32);
   for (long k = (long)ceil(a->v_lo * 100.0 / vstep - 1e-9); k * vstep <= a->v_hi * 100.0 + 1e-9; ++k) {
      int y = y_of_velocity(a, k * vstep / 100.0);
      if (y >= STRIP_TOP + STRIP_H)
         y = STRIP_TOP + STRIP_H - 1;
      canvas_fill_rect(c, STRIP_LEFT - 8, y, STRIP_LEFT, y + 1, fg, 255);
      snprintf(text, sizeof text, vstep >= 1.0 ? "%.0f" : "%.1f", fabs(k * vstep) < 1e-9 ? 0.0 : k * vstep);
      font_draw(c, STRIP_LEFT - 12 - font_text_width(text, STRIP_SCALE), y - FONT_H, text, STRIP_SCALE, fg);
   }
   double tstep = nice_step(a->t_hi - a->t_lo, STRIP_W, 90);
   for (long k = (long)ceil(a->t_lo / tstep - 1e-9); k * tstep <= a->t_hi + 1e-9; ++k) {
      int x = STRIP_LEFT + (int)floor((k * tstep - a->t_lo) / (a->t_hi - a->t_lo) * STRIP_W);
      if (x >= STRIP_LEFT + STRIP_W)
         x = STRIP_LEFT + STRIP_W - 1;
      canvas_fill_rect(c, x, STRIP_TOP + STRIP_H, x + 1, STRIP_TOP + STRIP_H + 8, fg, 255);
      snprintf(text, sizeof text, tstep >= 0.1 ? "%.1f" : tstep >= 0.01 ? "%.2f" : "%.3f", k * tstep);
      font_draw(c, x - font_text_width(text, STRIP_SCALE) / 2, STRIP_TOP + STRIP_H + 12, text, STRIP_SCALE, fg);
   }
   font_draw(c, 6, 6, "cm/s", STRIP_SCALE, fg);
   font_draw(c, STRIP_LEFT + STRIP_W + 8, STRIP_TOP + STRIP_H + 12, "s", STRIP_SCALE, fg);
}

/* A dashed velocity line with its value in the right margin. */
static void draw_value_line(canvas_t *c, const strip_axes_t *a, double v, const char *name, rgb_t colour)
{
   if (!isfinite(v) || v < a->v_lo || v > a->v_hi)
      return;
   int y = y_of_velocity(a, v);
   canvas_line(c, (ipoint_t){STRIP_LEFT, y}, (ipoint_t){STRIP_LEFT + STRIP_W - 1, y}, 1, 6, colour);
   char text[48];
   snprintf(text, sizeof text, "%s %.1f cm/s", name, v * 100.0);
   font_draw(c, STRIP_LEFT + STRIP_W + 8, y - FONT_H, text, STRIP_SCALE, colour);
}

int sono_render_spectrogram_png(sono_renderer_t *r, const sono_frame_t *frame, const sono_spectral_values_t *values,
                                const char *png_path, sono_error_t *err)
{
   if (!frame || !png_path)
      return sono_error_set(err, "sono_render_spectrogram_png: frame and png_path are required");
   const sono_plane_t *p = sono_frame_plane(frame, SONO_PLANE_SPECTROGRAM);
   if (check_spectrogram(frame, p, err) != 0)
      return sono_error_prefix(err, "%s", png_path);
   const sono_gate_t *g = &frame->gate;
   strip_axes_t a;
   double v_first = g->velocity0_m_s, v_last = g->velocity0_m_s + (p->shape[0] - 1) * g->dvelocity_m_s;
   double half = 0.5 * fabs(g->dvelocity_m_s);
   a.v_lo = fmin(v_first, v_last) - half;
   a.v_hi = fmax(v_first, v_last) + half;
   a.t_lo = g->time0_s - 0.5 * g->dtime_s;
   a.t_hi = a.t_lo + p->shape[1] * g->dtime_s;
   canvas_t *c = &r->canvas;
   if (canvas_resize(c, STRIP_LEFT + STRIP_W + STRIP_RIGHT, STRIP_TOP + STRIP_H + STRIP_BOTTOM) != 0)
      return sono_error_set(err, "%s: spectral strip exceeds the renderer's canvas", png_path);
   canvas_clear(c, (rgb_t){24, 24, 24});
   canvas_fill_rect(c, STRIP_LEFT, STRIP_TOP, STRIP_LEFT + STRIP_W, STRIP_TOP + STRIP_H, (rgb_t){0, 0, 0}, 255);
   draw_strip(c, p, g, &a);
   if (a.v_lo < 0.0 && a.v_hi > 0.0)
      canvas_fill_rect(c, STRIP_LEFT, y_of_velocity(&a, 0.0), STRIP_LEFT + STRIP_W, y_of_velocity(&a, 0.0) + 1,
                       (rgb_t){120, 120, 120}, 255);
   draw_axes(c, &a);
   char title[96];
   snprintf(title, sizeof title, "Spectral Doppler, gate x %.1f mm, z %.1f mm", g->x_m * 1000.0, g->z_m * 1000.0);
   font_draw(c, STRIP_LEFT, 10, title, STRIP_SCALE, fg);
   if (values) {
      draw_value_line(c, &a, values->psv_m_s, "PSV", psv_colour);
      draw_value_line(c, &a, values->edv_m_s, "EDV", edv_colour);
      if (isfinite(values->ri)) {
         char text[32];
         snprintf(text, sizeof text, "RI %.2f", values->ri);
         font_draw(c, STRIP_LEFT + STRIP_W + 8, STRIP_TOP, text, STRIP_SCALE, fg);
      }
   }
   return png_write_canvas(c, r->rows, png_path, err);
}
