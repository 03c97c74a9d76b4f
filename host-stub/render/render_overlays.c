/* Overlay primitives in the clinical palette: fills first, then strokes and
 * markers, then labels, so text is never hidden under another shape. */
#include "render_internal.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

enum { ELLIPSE_POINTS = 72, HATCH_SPACING = 8 };

static const sono_event_header_t *cursor_next(event_cursor_t *cur)
{
   const event_source_t *s = cur->src;
   if (s->events) {
      while (cur->index < s->event_count) {
         const sono_event_header_t *e = s->events[cur->index++];
         if (e)
            return e;
      }
      return NULL;
   }
   while (cur->set < s->set_count) {
      const sono_event_store_t *store = s->sets[cur->set];
      if (store && cur->index < sono_event_store_count(store))
         return sono_event_store_get(store, cur->index++);
      ++cur->set;
      cur->index = 0;
   }
   return NULL;
}

static int points_finite(const sono_event_overlay_t *ov)
{
   for (uint32_t i = 0; i < ov->point_count; ++i)
      if (!isfinite(ov->points[i].x_m) || !isfinite(ov->points[i].z_m))
         return 0;
   return 1;
}

static int overlay_drawable(const sono_event_overlay_t *ov)
{
   if (ov->header.struct_size < offsetof(sono_event_overlay_t, angle_rad) + sizeof ov->angle_rad || !ov->role)
      return 0;
   if (ov->point_count > SONO_EVENT_MAX_POINTS || (ov->point_count > 0 && !ov->points) || !points_finite(ov))
      return 0;
   switch (ov->shape) {
   case SONO_SHAPE_POLYLINE: return ov->point_count >= 2;
   case SONO_SHAPE_POLYGON: return ov->point_count >= 3;
   case SONO_SHAPE_ELLIPSE:
      return ov->point_count >= 1 && isfinite(ov->radii_m[0]) && isfinite(ov->radii_m[1]) &&
             isfinite(ov->angle_rad) && ov->radii_m[0] >= 0.0 && ov->radii_m[1] >= 0.0;
   case SONO_SHAPE_MARKER: return ov->point_count >= 1;
   case SONO_SHAPE_LABEL: return ov->point_count >= 1 && ov->label;
   case SONO_SHAPE_MASK: return ov->mask != NULL && ov->mask_nx > 0 && ov->mask_nz > 0;
   default: return 0;
   }
}

const sono_event_overlay_t *event_cursor_next_overlay(event_cursor_t *cur)
{
   const sono_event_header_t *e;
   while ((e = cursor_next(cur)) != NULL)
      if (e->type == SONO_EVENT_OVERLAY && overlay_drawable((const sono_event_overlay_t *)e))
         return (const sono_event_overlay_t *)e;
   return NULL;
}

void render_mark_roles(sono_renderer_t *r, const event_source_t *src)
{
   event_cursor_t cur = {src, 0, 0};
   const sono_event_overlay_t *ov;
   while ((ov = event_cursor_next_overlay(&cur)) != NULL)
      r->roles_used[role_style_index(ov->role)] = 1;
}

/* Palette colour, or the event's own for vendor roles and annotations. */
static rgb_t overlay_colour(const sono_event_overlay_t *ov, int style)
{
   if (ov->rgba != 0 && (style == ROLE_VENDOR_INDEX || strcmp(role_styles[style].role, SONO_ROLE_ANNOTATION) == 0))
      return (rgb_t){(uint8_t)(ov->rgba >> 24), (uint8_t)(ov->rgba >> 16), (uint8_t)(ov->rgba >> 8)};
   return role_styles[style].colour;
}

/* Converts the shape's outline to pixels in r->points; returns the count. */
static size_t outline_points(sono_renderer_t *r, const sono_event_overlay_t *ov)
{
   if (ov->shape == SONO_SHAPE_ELLIPSE) {
      double cx = ov->points[0].x_m, cz = ov->points[0].z_m;
      double ca = cos(ov->angle_rad), sa = sin(ov->angle_rad);
      for (int k = 0; k < ELLIPSE_POINTS; ++k) {
         double t = 2.0 * M_PI * k / ELLIPSE_POINTS;
         double ex = ov->radii_m[0] * cos(t), ez = ov->radii_m[1] * sin(t);
         r->points[k].x = render_px_x(r, cx + ex * ca - ez * sa);
         r->points[k].y = render_px_y(r, cz + ex * sa + ez * ca);
      }
      return ELLIPSE_POINTS;
   }
   for (uint32_t i = 0; i < ov->point_count; ++i) {
      r->points[i].x = render_px_x(r, ov->points[i].x_m);
      r->points[i].y = render_px_y(r, ov->points[i].z_m);
   }
   return ov->point_count;
}

static void fill_mask(sono_renderer_t *r, const sono_event_overlay_t *ov, const role_style_t *s, rgb_t colour)
{
   /* Each set cell is filled as its own rectangle on the grid's pixel
    * borders; the pixel-centre rule keeps neighbouring cells from
    * blending twice. */
   int alpha = s->fill_alpha > 0 ? s->fill_alpha : 110;
   for (uint32_t mz = 0; mz < ov->mask_nz; ++mz)
      for (uint32_t mx = 0; mx < ov->mask_nx; ++mx) {
         if (!ov->mask[(size_t)mz * ov->mask_nx + mx])
            continue;
         double gx = (double)ov->mask_ix0 + mx, gz = (double)ov->mask_iz0 + mz;
         ipoint_t cell[4];
         cell[0].x = render_px_x(r, r->x_left_m + gx * r->cell_dx_m);
         cell[0].y = render_px_y(r, r->z_top_m + gz * r->cell_dz_m);
         cell[2].x = render_px_x(r, r->x_left_m + (gx + 1.0) * r->cell_dx_m);
         cell[2].y = render_px_y(r, r->z_top_m + (gz + 1.0) * r->cell_dz_m);
         cell[1] = (ipoint_t){cell[2].x, cell[0].y};
         cell[3] = (ipoint_t){cell[0].x, cell[2].y};
         canvas_fill_polygon(&r->canvas, cell, 4, s->fill, HATCH_SPACING, colour, alpha);
      }
}

static void draw_fill(sono_renderer_t *r, const sono_event_overlay_t *ov, int style)
{
   const role_style_t *s = &role_styles[style];
   rgb_t colour = overlay_colour(ov, style);
   if (ov->shape == SONO_SHAPE_MASK) {
      fill_mask(r, ov, s, colour);
      return;
   }
   if (s->fill_alpha == 0 || (ov->shape != SONO_SHAPE_POLYGON && ov->shape != SONO_SHAPE_ELLIPSE))
      return;
   size_t n = outline_points(r, ov);
   canvas_fill_polygon(&r->canvas, r->points, n, s->fill, HATCH_SPACING, colour, s->fill_alpha);
}

/* A target: ring and crosshair, plus a tick on the depth scale (H11.3). */
static void draw_target(sono_renderer_t *r, ipoint_t p, rgb_t colour)
{
   canvas_circle(&r->canvas, p, 8, 2, colour);
   canvas_line(&r->canvas, (ipoint_t){p.x - 12, p.y}, (ipoint_t){p.x - 4, p.y}, 2, 0, colour);
   canvas_line(&r->canvas, (ipoint_t){p.x + 4, p.y}, (ipoint_t){p.x + 12, p.y}, 2, 0, colour);
   canvas_line(&r->canvas, (ipoint_t){p.x, p.y - 12}, (ipoint_t){p.x, p.y - 4}, 2, 0, colour);
   canvas_line(&r->canvas, (ipoint_t){p.x, p.y + 4}, (ipoint_t){p.x, p.y + 12}, 2, 0, colour);
   ipoint_t tick[3] = {{r->left - 7, p.y - 5}, {r->left, p.y}, {r->left - 7, p.y + 5}};
   canvas_fill_polygon(&r->canvas, tick, 3, FILL_SOLID, 0, colour, 255);
}

static void draw_marker(sono_renderer_t *r, const sono_event_overlay_t *ov, int style, rgb_t colour)
{
   ipoint_t p = {render_px_x(r, ov->points[0].x_m), render_px_y(r, ov->points[0].z_m)};
   const char *role = role_styles[style].role;
   if (role && strcmp(role, SONO_ROLE_TARGET) == 0) {
      draw_target(r, p, colour);
   } else if (role && strcmp(role, SONO_ROLE_NEEDLING_GRID) == 0) {
      canvas_circle(&r->canvas, p, 3, 2, colour);
   } else {
      canvas_line(&r->canvas, (ipoint_t){p.x - 5, p.y - 5}, (ipoint_t){p.x + 5, p.y + 5}, 2, 0, colour);
      canvas_line(&r->canvas, (ipoint_t){p.x - 5, p.y + 5}, (ipoint_t){p.x + 5, p.y - 5}, 2, 0, colour);
   }
}

static void draw_stroke(sono_renderer_t *r, const sono_event_overlay_t *ov, int style)
{
   const role_style_t *s = &role_styles[style];
   rgb_t colour = overlay_colour(ov, style);
   size_t n;
   switch (ov->shape) {
   case SONO_SHAPE_POLYLINE:
   case SONO_SHAPE_POLYGON:
   case SONO_SHAPE_ELLIPSE:
      n = outline_points(r, ov);
      canvas_polyline(&r->canvas, r->points, n, ov->shape != SONO_SHAPE_POLYLINE, s->line_width, s->dash, colour);
      break;
   case SONO_SHAPE_MARKER:
      draw_marker(r, ov, style, colour);
      break;
   default:
      break;
   }
}

static double polyline_length_m(const sono_event_overlay_t *ov)
{
   double len = 0.0;
   for (uint32_t i = 1; i < ov->point_count; ++i)
      len += hypot(ov->points[i].x_m - ov->points[i - 1].x_m, ov->points[i].z_m - ov->points[i - 1].z_m);
   return len;
}

/* Where a shape's label goes: right of markers and anchors, above the
 * top-most point of outlines. */
static ipoint_t label_anchor(sono_renderer_t *r, const sono_event_overlay_t *ov)
{
   if (ov->shape == SONO_SHAPE_MARKER || ov->shape == SONO_SHAPE_LABEL) {
      int dx = ov->shape == SONO_SHAPE_MARKER ? 16 : 0;
      return (ipoint_t){render_px_x(r, ov->points[0].x_m) + dx, render_px_y(r, ov->points[0].z_m) - FONT_H};
   }
   if (ov->shape == SONO_SHAPE_MASK)
      return (ipoint_t){render_px_x(r, r->x_left_m + ov->mask_ix0 * r->cell_dx_m),
                        render_px_y(r, r->z_top_m + ov->mask_iz0 * r->cell_dz_m) - 2 * FONT_H - 6};
   size_t n = outline_points(r, ov);
   ipoint_t top = r->points[0];
   for (size_t i = 1; i < n; ++i)
      if (r->points[i].y < top.y)
         top = r->points[i];
   return (ipoint_t){top.x + 4, top.y - 2 * FONT_H - 6};
}

static void draw_text(sono_renderer_t *r, const sono_event_overlay_t *ov, int style)
{
   char text[160];
   const char *role = role_styles[style].role;
   const char *label = ov->label;
   int is_target = role && strcmp(role, SONO_ROLE_TARGET) == 0 && ov->shape == SONO_SHAPE_MARKER;
   int is_occlusion = role && strcmp(role, SONO_ROLE_OCCLUSION) == 0 && ov->shape == SONO_SHAPE_POLYLINE;
   char depth[32];
   snprintf(depth, sizeof depth, "%.1f mm", ov->points[0].z_m * 1000.0);
   if (is_target && !(label && strstr(label, depth))) {
      /* Every target shows its depth (H11.3), unless its label already does. */
      snprintf(text, sizeof text, "%.60s%sz %s", label ? label : "", label ? " " : "", depth);
      label = text;
   } else if (is_occlusion && !label) {
      snprintf(text, sizeof text, "occluded %.1f mm", polyline_length_m(ov) * 1000.0);
      label = text;
   }
   if (!label || !*label)
      return;
   ipoint_t at = label_anchor(r, ov);
   render_label(r, at.x, at.y, label, overlay_colour(ov, style));
}

void render_overlays(sono_renderer_t *r, const event_source_t *src)
{
   for (int pass = 0; pass < 3; ++pass) {
      event_cursor_t cur = {src, 0, 0};
      const sono_event_overlay_t *ov;
      while ((ov = event_cursor_next_overlay(&cur)) != NULL) {
         int style = role_style_index(ov->role);
         if (pass == 0)
            draw_fill(r, ov, style);
         else if (pass == 1)
            draw_stroke(r, ov, style);
         else
            draw_text(r, ov, style);
      }
   }
}
