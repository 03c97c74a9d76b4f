/* sono_render: renderer lifetime, page layout, scales, colour bar, legend. */
#include "render_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Margins around the image area, in pixels. */
enum {
   MARGIN_LEFT = 76,    /* depth labels "100.0" at text scale 2 */
   MARGIN_TOP = 36,     /* lateral labels */
   MARGIN_RIGHT = 124,  /* colour bar and its labels */
   MIN_CANVAS_W = 480,  /* room for the legend under a narrow image */
   LEGEND_MAX_H = 420,  /* 12 entries in one column plus the note */
   TEXT_SCALE = 2,
   LEGEND_ROW_H = 22,
   NOTE_LINE_H = 20,
   AUTO_AREA_W = 768
};

static const rgb_t margin_bg = {24, 24, 24};
static const rgb_t area_bg = {0, 0, 0};
static const rgb_t axis_fg = {210, 210, 210};

static const char planning_note[] =
   "Targets and needling grid are planning aids - the clinician determines all injection sites and doses.";

void sono_render_options_default(sono_render_options_t *o)
{
   memset(o, 0, sizeof *o);
   o->pixels_per_mm = 0.0;
   o->power_threshold_db = -25.0f;
   o->bmode_dynamic_range_db = 60.0f;
   o->velocity_reject = 0.04f;
   o->colour_priority = 200;
   o->show_colour = 1;
   o->show_overlays = 1;
   o->show_legend = 1;
}

static int check_options(const sono_render_options_t *o, sono_error_t *err)
{
   if (!isfinite(o->pixels_per_mm) || o->pixels_per_mm > 1000.0)
      return sono_error_set(err, "render options: pixels_per_mm %g: expected <= 0 (automatic) or up to 1000",
                            o->pixels_per_mm);
   if (!isfinite(o->power_threshold_db) || o->power_threshold_db > 0.0f)
      return sono_error_set(err, "render options: power_threshold_db %g: expected a finite value <= 0 dB",
                            (double)o->power_threshold_db);
   if (!(o->velocity_reject >= 0.0f && o->velocity_reject < 1.0f))
      return sono_error_set(err, "render options: velocity_reject %g: expected a fraction of VN in [0, 1)",
                            (double)o->velocity_reject);
   if (o->colour_priority < 0 || o->colour_priority > 255)
      return sono_error_set(err, "render options: colour_priority %d: expected a grey level 0..255",
                            o->colour_priority);
   if (!isfinite(o->bmode_dynamic_range_db) || o->bmode_dynamic_range_db <= 0.0f)
      return sono_error_set(err, "render options: bmode_dynamic_range_db %g: expected a positive value in dB",
                            (double)o->bmode_dynamic_range_db);
   return 0;
}

sono_renderer_t *sono_renderer_create(const sono_render_options_t *o, uint32_t max_nx, uint32_t max_nz,
                                      sono_error_t *err)
{
   sono_render_options_t defaults;
   if (!o) {
      sono_render_options_default(&defaults);
      o = &defaults;
   }
   if (check_options(o, err) != 0)
      return NULL;
   if (max_nx == 0 || max_nz == 0) {
      sono_error_set(err, "sono_renderer_create: max grid %u x %u: expected both sizes > 0", max_nx, max_nz);
      return NULL;
   }
   sono_renderer_t *r = calloc(1, sizeof *r);
   if (!r) {
      sono_error_set(err, "sono_renderer_create: out of memory");
      return NULL;
   }
   r->opt = *o;
   r->max_nx = max_nx;
   r->max_nz = max_nz;
   int cap_w = MARGIN_LEFT + SONO_RENDER_MAX_AREA_PX + MARGIN_RIGHT;
   int cap_h = MARGIN_TOP + SONO_RENDER_MAX_AREA_PX + LEGEND_MAX_H;
   r->canvas.capacity = (size_t)cap_w * (size_t)cap_h * 3u;
   r->canvas.pixels = malloc(r->canvas.capacity);
   r->rows_cap = cap_h;
   r->rows = calloc((size_t)cap_h, sizeof *r->rows);
   r->col_index = calloc(SONO_RENDER_MAX_AREA_PX, sizeof *r->col_index);
   r->row_index = calloc(SONO_RENDER_MAX_AREA_PX, sizeof *r->row_index);
   r->col_weight = calloc(SONO_RENDER_MAX_AREA_PX, sizeof *r->col_weight);
   r->row_weight = calloc(SONO_RENDER_MAX_AREA_PX, sizeof *r->row_weight);
   /* Ellipses become 72-point polygons; mask cells 4-point ones. */
   r->points_cap = SONO_EVENT_MAX_POINTS + 72;
   r->points = calloc(r->points_cap, sizeof *r->points);
   r->canvas.scratch_cap = r->points_cap;
   r->canvas.scratch_x = calloc(r->points_cap, sizeof *r->canvas.scratch_x);
   if (!r->canvas.pixels || !r->rows || !r->col_index || !r->row_index || !r->col_weight || !r->row_weight ||
       !r->points || !r->canvas.scratch_x) {
      sono_renderer_destroy(r);
      sono_error_set(err, "sono_renderer_create: out of memory for a %d x %d canvas", cap_w, cap_h);
      return NULL;
   }
   return r;
}

void sono_renderer_destroy(sono_renderer_t *r)
{
   if (!r)
      return;
   free(r->canvas.pixels);
   free(r->canvas.scratch_x);
   free(r->rows);
   free(r->col_index);
   free(r->row_index);
   free(r->col_weight);
   free(r->row_weight);
   free(r->points);
   free(r);
}

int render_px_x(const sono_renderer_t *r, double x_m)
{
   double u = r->left + (x_m - r->x_left_m) * r->px_per_m;
   if (!(u > -4096.0))
      u = -4096.0;
   if (u > r->canvas.w + 4096.0)
      u = r->canvas.w + 4096.0;
   return (int)floor(u);
}

int render_px_y(const sono_renderer_t *r, double z_m)
{
   double v = r->top + (z_m - r->z_top_m) * r->px_per_m;
   if (!(v > -4096.0))
      v = -4096.0;
   if (v > r->canvas.h + 4096.0)
      v = r->canvas.h + 4096.0;
   return (int)floor(v);
}

static int label_box_free(const sono_renderer_t *r, int x0, int y0, int x1, int y1)
{
   for (int i = 0; i < r->label_box_count; ++i)
      if (x0 <= r->label_boxes[i].x1 && r->label_boxes[i].x0 <= x1 && y0 <= r->label_boxes[i].y1 &&
          r->label_boxes[i].y0 <= y1)
         return 0;
   return 1;
}

static int clamp_int(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

/* Moves a label's top edge down or up by whole lines, nearest first, until
 * it overlaps no earlier label; keeps `y` when every slot is taken. */
static int free_label_row(sono_renderer_t *r, int x, int y, int w, int h)
{
   static const int steps[] = {0, 1, -1, 2, -2, 3, -3, 4, -4, 5, -5, 6};
   int line = h + 7;
   for (size_t i = 0; i < sizeof steps / sizeof steps[0]; ++i) {
      int yy = clamp_int(y + steps[i] * line, 3, r->canvas.h - h - 3);
      if (label_box_free(r, x - 3, yy - 3, x + w + 2, yy + h + 3))
         return yy;
   }
   return y;
}

void render_label(sono_renderer_t *r, int x, int y, const char *text, rgb_t colour)
{
   canvas_t *c = &r->canvas;
   int max_w = c->w - 8;
   size_t bytes = font_fit_bytes(text, max_w, TEXT_SCALE);
   int w = font_text_width_n(text, bytes, TEXT_SCALE);
   int h = FONT_H * TEXT_SCALE;
   x = clamp_int(x, 3, c->w - w - 3);
   y = clamp_int(y, 3, c->h - h - 3);
   y = free_label_row(r, x, y, w, h);
   if (r->label_box_count < RENDER_MAX_LABEL_BOXES)
      r->label_boxes[r->label_box_count++] = (render_box_t){x - 3, y - 3, x + w + 2, y + h + 3};
   canvas_fill_rect(c, x - 3, y - 3, x + w + 2, y + h + 3, (rgb_t){0, 0, 0}, 170);
   font_draw_n(c, x, y, text, bytes, TEXT_SCALE, colour);
}

/* ---- layout -------------------------------------------------------------- */

static int check_frame(const sono_renderer_t *r, const sono_frame_t *frame, sono_error_t *err)
{
   const sono_grid_t *g = &frame->grid;
   if (frame->struct_size < offsetof(sono_frame_t, gate))
      return sono_error_set(err, "frame %llu: struct_size %u: expected at least %zu",
                            (unsigned long long)frame->sequence, frame->struct_size, offsetof(sono_frame_t, gate));
   if (g->nx == 0 || g->nz == 0 || g->nx > r->max_nx || g->nz > r->max_nz)
      return sono_error_set(err, "frame %llu: grid %u x %u (nx x nz): expected 1..%u x 1..%u as given to "
                                 "sono_renderer_create",
                            (unsigned long long)frame->sequence, g->nx, g->nz, r->max_nx, r->max_nz);
   if (!(g->dx_m > 0.0) || !(g->dz_m > 0.0) || !isfinite(g->dx_m) || !isfinite(g->dz_m) || !isfinite(g->x0_m) ||
       !isfinite(g->z0_m))
      return sono_error_set(err, "frame %llu: grid dx_m %g, dz_m %g, x0_m %g, z0_m %g: expected finite values, "
                                 "spacings > 0",
                            (unsigned long long)frame->sequence, g->dx_m, g->dz_m, g->x0_m, g->z0_m);
   return 0;
}

static void layout_area(sono_renderer_t *r, const sono_grid_t *g)
{
   double width_m = g->nx * g->dx_m, depth_m = g->nz * g->dz_m;
   double s = r->opt.pixels_per_mm > 0.0 ? r->opt.pixels_per_mm * 1000.0 : AUTO_AREA_W / width_m;
   double longest = fmax(width_m, depth_m) * s;
   if (longest > SONO_RENDER_MAX_AREA_PX)
      s *= SONO_RENDER_MAX_AREA_PX / longest;
   r->px_per_m = s;
   r->area_w = (int)lround(width_m * s);
   r->area_h = (int)lround(depth_m * s);
   if (r->area_w < 1) r->area_w = 1;
   if (r->area_h < 1) r->area_h = 1;
   if (r->area_w > SONO_RENDER_MAX_AREA_PX) r->area_w = SONO_RENDER_MAX_AREA_PX;
   if (r->area_h > SONO_RENDER_MAX_AREA_PX) r->area_h = SONO_RENDER_MAX_AREA_PX;
   r->left = MARGIN_LEFT;
   r->top = MARGIN_TOP;
   r->x_left_m = g->x0_m - 0.5 * g->dx_m;
   r->z_top_m = g->z0_m - 0.5 * g->dz_m;
   r->cell_dx_m = g->dx_m;
   r->cell_dz_m = g->dz_m;
}

/* Greedy word wrap; draws when `draw` and returns the number of lines. */
static int wrap_text(canvas_t *c, const char *text, int x, int y, int max_w, int draw, rgb_t colour)
{
   int lines = 0;
   const char *p = text;
   while (*p) {
      size_t fit = font_fit_bytes(p, max_w, TEXT_SCALE);
      if (p[fit] != '\0') {
         size_t cut = fit;
         while (cut > 0 && p[cut] != ' ')
            --cut;
         if (cut > 0)
            fit = cut;
      }
      if (fit == 0)
         fit = 1;
      if (draw)
         font_draw_n(c, x, y + lines * NOTE_LINE_H, p, fit, TEXT_SCALE, colour);
      ++lines;
      p += fit;
      while (*p == ' ')
         ++p;
   }
   return lines;
}

typedef struct legend_layout {
   int count, columns, rows, note_lines, column_w, height;
} legend_layout_t;

static legend_layout_t layout_legend(const sono_renderer_t *r, int canvas_w)
{
   legend_layout_t l = {0};
   int widest = 0, planning = 0;
   for (int i = 0; i < ROLE_STYLE_COUNT; ++i)
      if (r->roles_used[i]) {
         ++l.count;
         int w = font_text_width(role_styles[i].legend, TEXT_SCALE);
         if (w > widest)
            widest = w;
         planning |= role_styles[i].planning_aid;
      }
   if (!r->opt.show_legend || l.count == 0) {
      l.height = 8;
      return l;
   }
   l.column_w = 32 + widest + 20;
   l.columns = (canvas_w - 16) / l.column_w;
   if (l.columns < 1)
      l.columns = 1;
   l.rows = (l.count + l.columns - 1) / l.columns;
   if (planning)
      l.note_lines = wrap_text(NULL, planning_note, 0, 0, canvas_w - 16, 0, axis_fg);
   l.height = 12 + l.rows * LEGEND_ROW_H + l.note_lines * NOTE_LINE_H + 8;
   if (l.height > LEGEND_MAX_H)
      l.height = LEGEND_MAX_H;
   return l;
}

static void draw_swatch(canvas_t *c, int x, int y, const role_style_t *s)
{
   ipoint_t box[4] = {{x, y}, {x + 24, y}, {x + 24, y + 14}, {x, y + 14}};
   if (s->fill_alpha > 0)
      canvas_fill_polygon(c, box, 4, s->fill, 6, s->colour, s->fill_alpha);
   if (s->fill_alpha > 0 || s->fill != FILL_SOLID)
      canvas_polyline(c, box, 4, 1, 1, 0, s->colour);
   else
      canvas_line(c, (ipoint_t){x, y + 7}, (ipoint_t){x + 24, y + 7}, s->line_width, s->dash ? 4 : 0, s->colour);
}

static void draw_legend(sono_renderer_t *r, const legend_layout_t *l)
{
   canvas_t *c = &r->canvas;
   if (!r->opt.show_legend || l->count == 0)
      return;
   int y0 = r->top + r->area_h + 12;
   int k = 0;
   for (int i = 0; i < ROLE_STYLE_COUNT; ++i) {
      if (!r->roles_used[i])
         continue;
      int col = k % l->columns, row = k / l->columns;
      int x = 8 + col * l->column_w, y = y0 + row * LEGEND_ROW_H;
      if (y + LEGEND_ROW_H > c->h)
         break;
      draw_swatch(c, x, y, &role_styles[i]);
      font_draw(c, x + 32, y, role_styles[i].legend, TEXT_SCALE, axis_fg);
      ++k;
   }
   if (l->note_lines > 0)
      wrap_text(c, planning_note, 8, y0 + l->rows * LEGEND_ROW_H + 4, c->w - 16, 1, role_styles[5].colour);
}

/* ---- scales and colour bar ---------------------------------------------- */

/* Smallest "nice" tick step (mm) whose spacing is at least min_px. */
static double tick_step_mm(double px_per_mm, int min_px)
{
   static const double steps[] = {0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100};
   for (size_t i = 0; i < sizeof steps / sizeof steps[0]; ++i)
      if (steps[i] * px_per_mm >= min_px)
         return steps[i];
   return 100;
}

static void format_mm(char *buf, size_t size, double mm, double step)
{
   if (fabs(mm) < 1e-9)
      mm = 0.0;
   snprintf(buf, size, step >= 1.0 ? "%.0f" : "%.1f", mm);
}

static void draw_scales(sono_renderer_t *r)
{
   canvas_t *c = &r->canvas;
   double ppmm = r->px_per_m / 1000.0;
   char text[32];
   /* Lateral, along the top. */
   double x_lo = r->x_left_m * 1000.0, x_hi = x_lo + r->area_w / ppmm;
   double step = tick_step_mm(ppmm, 64);
   for (long k = (long)ceil(x_lo / step - 1e-9); k * step <= x_hi + 1e-9; ++k) {
      int px = r->left + (int)floor((k * step - x_lo) * ppmm);
      if (px >= r->left + r->area_w)
         px = r->left + r->area_w - 1;
      canvas_fill_rect(c, px, r->top - 8, px + 1, r->top, axis_fg, 255);
      format_mm(text, sizeof text, k * step, step);
      int w = font_text_width(text, TEXT_SCALE);
      font_draw(c, px - w / 2, r->top - 8 - 4 - FONT_H * TEXT_SCALE, text, TEXT_SCALE, axis_fg);
   }
   /* Depth, down the left. */
   double z_lo = r->z_top_m * 1000.0, z_hi = z_lo + r->area_h / ppmm;
   step = tick_step_mm(ppmm, 40);
   for (long k = (long)ceil(z_lo / step - 1e-9); k * step <= z_hi + 1e-9; ++k) {
      int py = r->top + (int)floor((k * step - z_lo) * ppmm);
      if (py >= r->top + r->area_h)
         py = r->top + r->area_h - 1;
      canvas_fill_rect(c, r->left - 8, py, r->left, py + 1, axis_fg, 255);
      format_mm(text, sizeof text, k * step, step);
      int w = font_text_width(text, TEXT_SCALE);
      font_draw(c, r->left - 12 - w, py - FONT_H * TEXT_SCALE / 2, text, TEXT_SCALE, axis_fg);
   }
   font_draw(c, 6, 6, "mm", TEXT_SCALE, axis_fg);
}

static void draw_colour_bar(sono_renderer_t *r, double vn_m_s)
{
   canvas_t *c = &r->canvas;
   int x = r->left + r->area_w + 16, y = r->top;
   int h = r->area_h < 256 ? r->area_h : 256;
   for (int k = 0; k < h; ++k) {
      double t = 1.0 - 2.0 * (k + 0.5) / h;
      canvas_fill_rect(c, x, y + k, x + 16, y + k + 1, colour_doppler_map(t), 255);
   }
   canvas_rect_outline(c, x - 1, y - 1, x + 17, y + h + 1, axis_fg);
   char text[32];
   snprintf(text, sizeof text, "+%.1f", vn_m_s * 100.0);
   font_draw(c, x + 22, y, text, TEXT_SCALE, axis_fg);
   font_draw(c, x + 22, y + h / 2 - FONT_H, "0", TEXT_SCALE, axis_fg);
   snprintf(text, sizeof text, "-%.1f", vn_m_s * 100.0);
   font_draw(c, x + 22, y + h - FONT_H * TEXT_SCALE, text, TEXT_SCALE, axis_fg);
   font_draw(c, x, y - 8 - FONT_H * TEXT_SCALE, "cm/s", TEXT_SCALE, axis_fg);
}

/* The spectral-Doppler gate as on a scanner: a dotted cursor down to two
 * bars that bracket the gate length. */
static void draw_gate(sono_renderer_t *r, const sono_gate_t *gate)
{
   if (!gate->present || !isfinite(gate->x_m) || !isfinite(gate->z_m) || !isfinite(gate->length_m))
      return;
   rgb_t white = {255, 255, 255};
   int x = render_px_x(r, gate->x_m);
   int y0 = render_px_y(r, gate->z_m - 0.5 * gate->length_m);
   int y1 = render_px_y(r, gate->z_m + 0.5 * gate->length_m);
   canvas_line(&r->canvas, (ipoint_t){x, r->top}, (ipoint_t){x, y0}, 1, 3, white);
   canvas_line(&r->canvas, (ipoint_t){x - 7, y0}, (ipoint_t){x + 7, y0}, 2, 0, white);
   canvas_line(&r->canvas, (ipoint_t){x - 7, y1}, (ipoint_t){x + 7, y1}, 2, 0, white);
}

/* ---- one frame ------------------------------------------------------------ */

static int render_frame(sono_renderer_t *r, const sono_frame_t *frame, const event_source_t *src,
                        const char *png_path, sono_error_t *err)
{
   if (!frame || !png_path)
      return sono_error_set(err, "sono_render_frame_png: frame and png_path are required");
   if (check_frame(r, frame, err) != 0)
      return sono_error_prefix(err, "%s", png_path);
   layout_area(r, &frame->grid);
   memset(r->roles_used, 0, sizeof r->roles_used);
   r->label_box_count = 0;
   if (r->opt.show_overlays)
      render_mark_roles(r, src);
   int canvas_w = r->left + r->area_w + MARGIN_RIGHT;
   if (canvas_w < MIN_CANVAS_W)
      canvas_w = MIN_CANVAS_W;
   legend_layout_t legend = layout_legend(r, canvas_w);
   if (canvas_resize(&r->canvas, canvas_w, r->top + r->area_h + legend.height) != 0)
      return sono_error_set(err, "%s: canvas %d x %d exceeds the renderer's capacity", png_path, canvas_w,
                            r->top + r->area_h + legend.height);
   canvas_clear(&r->canvas, margin_bg);
   canvas_fill_rect(&r->canvas, r->left, r->top, r->left + r->area_w, r->top + r->area_h, area_bg, 255);
   if (render_bmode(r, frame, err) != 0)
      return sono_error_prefix(err, "%s", png_path);
   double vn = 0.0;
   int colour = 0;
   if (r->opt.show_colour) {
      colour = render_colour(r, frame, &vn, err);
      if (colour < 0)
         return sono_error_prefix(err, "%s", png_path);
   }
   draw_scales(r);
   if (colour)
      draw_colour_bar(r, vn);
   draw_gate(r, &frame->gate);
   if (r->opt.show_overlays)
      render_overlays(r, src);
   draw_legend(r, &legend);
   return png_write_canvas(&r->canvas, r->rows, png_path, err);
}

int sono_render_frame_png(sono_renderer_t *r, const sono_frame_t *frame, const sono_event_store_t *const *event_sets,
                          uint32_t set_count, const char *png_path, sono_error_t *err)
{
   event_source_t src = {event_sets, event_sets ? set_count : 0, NULL, 0};
   return render_frame(r, frame, &src, png_path, err);
}

int sono_render_frame_png_events(sono_renderer_t *r, const sono_frame_t *frame,
                                 const sono_event_header_t *const *events, uint32_t event_count, const char *png_path,
                                 sono_error_t *err)
{
   event_source_t src = {NULL, 0, events, events ? event_count : 0};
   return render_frame(r, frame, &src, png_path, err);
}
