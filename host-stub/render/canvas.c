/* Integer-pixel drawing primitives of the renderer (see canvas.h). */
#include "canvas.h"

#include <math.h>
#include <stdlib.h>

int canvas_resize(canvas_t *c, int w, int h)
{
   if (w <= 0 || h <= 0 || (size_t)w * (size_t)h * 3u > c->capacity)
      return -1;
   c->w = w;
   c->h = h;
   return 0;
}

void canvas_clear(canvas_t *c, rgb_t colour)
{
   size_t n = (size_t)c->w * (size_t)c->h;
   uint8_t *p = c->pixels;
   for (size_t i = 0; i < n; ++i, p += 3) {
      p[0] = colour.r;
      p[1] = colour.g;
      p[2] = colour.b;
   }
}

static uint8_t mix(uint8_t under, uint8_t over, int alpha)
{
   return (uint8_t)((under * (255 - alpha) + over * alpha + 127) / 255);
}

void canvas_blend(canvas_t *c, int x, int y, rgb_t colour, int alpha)
{
   if (x < 0 || y < 0 || x >= c->w || y >= c->h)
      return;
   if (alpha >= 255) {
      canvas_put(c, x, y, colour);
      return;
   }
   uint8_t *p = c->pixels + ((size_t)y * (size_t)c->w + (size_t)x) * 3u;
   p[0] = mix(p[0], colour.r, alpha);
   p[1] = mix(p[1], colour.g, alpha);
   p[2] = mix(p[2], colour.b, alpha);
}

void canvas_fill_rect(canvas_t *c, int x0, int y0, int x1, int y1, rgb_t colour, int alpha)
{
   if (x0 < 0) x0 = 0;
   if (y0 < 0) y0 = 0;
   if (x1 > c->w) x1 = c->w;
   if (y1 > c->h) y1 = c->h;
   for (int y = y0; y < y1; ++y)
      for (int x = x0; x < x1; ++x)
         canvas_blend(c, x, y, colour, alpha);
}

void canvas_rect_outline(canvas_t *c, int x0, int y0, int x1, int y1, rgb_t colour)
{
   canvas_fill_rect(c, x0, y0, x1, y0 + 1, colour, 255);
   canvas_fill_rect(c, x0, y1 - 1, x1, y1, colour, 255);
   canvas_fill_rect(c, x0, y0, x0 + 1, y1, colour, 255);
   canvas_fill_rect(c, x1 - 1, y0, x1, y1, colour, 255);
}

/* A square brush centred on (x, y): cheap, and thick lines stay gap-free. */
static void stamp(canvas_t *c, int x, int y, int width, rgb_t colour)
{
   int lo = -(width - 1) / 2;
   int hi = lo + width;
   for (int dy = lo; dy < hi; ++dy)
      for (int dx = lo; dx < hi; ++dx)
         canvas_put(c, x + dx, y + dy, colour);
}

void canvas_line(canvas_t *c, ipoint_t a, ipoint_t b, int width, int dash, rgb_t colour)
{
   /* Bresenham: exact integer steps, identical on every machine. */
   int dx = abs(b.x - a.x), sx = a.x < b.x ? 1 : -1;
   int dy = -abs(b.y - a.y), sy = a.y < b.y ? 1 : -1;
   int e = dx + dy;
   int x = a.x, y = a.y;
   long step = 0;
   if (width < 1)
      width = 1;
   for (;;) {
      if (dash <= 0 || (step / dash) % 2 == 0)
         stamp(c, x, y, width, colour);
      if (x == b.x && y == b.y)
         break;
      /* Far off-canvas lines (a coordinate beyond the frame by 1e6 px)
       * cannot occur: callers clamp points to the canvas neighbourhood. */
      int e2 = 2 * e;
      if (e2 >= dy) {
         e += dy;
         x += sx;
      }
      if (e2 <= dx) {
         e += dx;
         y += sy;
      }
      ++step;
   }
}

void canvas_polyline(canvas_t *c, const ipoint_t *p, size_t n, int closed, int width, int dash, rgb_t colour)
{
   if (n == 1)
      stamp(c, p[0].x, p[0].y, width, colour);
   for (size_t i = 0; i + 1 < n; ++i)
      canvas_line(c, p[i], p[i + 1], width, dash, colour);
   if (closed && n > 2)
      canvas_line(c, p[n - 1], p[0], width, dash, colour);
}

static int compare_double(const void *a, const void *b)
{
   double x = *(const double *)a, y = *(const double *)b;
   return (x > y) - (x < y);
}

static int pattern_hit(fill_pattern_t pattern, int x, int y, int spacing)
{
   int s = spacing > 1 ? spacing : 2;
   int fwd = ((x + y) % s + s) % s < 2;
   int back = ((x - y) % s + s) % s < 2;
   switch (pattern) {
   case FILL_HATCH: return fwd;
   case FILL_HATCH_BACK: return back;
   case FILL_HATCH_CROSS: return fwd || back;
   case FILL_SOLID:
   default: return 1;
   }
}

int canvas_fill_polygon(canvas_t *c, const ipoint_t *p, size_t n, fill_pattern_t pattern, int spacing, rgb_t colour,
                        int alpha)
{
   if (n < 3)
      return 0;
   if (n > c->scratch_cap)
      return -1;
   int ymin = p[0].y, ymax = p[0].y;
   for (size_t i = 1; i < n; ++i) {
      if (p[i].y < ymin) ymin = p[i].y;
      if (p[i].y > ymax) ymax = p[i].y;
   }
   if (ymin < 0) ymin = 0;
   if (ymax > c->h - 1) ymax = c->h - 1;
   for (int y = ymin; y <= ymax; ++y) {
      double yc = y + 0.5;
      size_t k = 0;
      for (size_t i = 0; i < n; ++i) {
         ipoint_t a = p[i], b = p[(i + 1) % n];
         if ((a.y <= yc && b.y > yc) || (b.y <= yc && a.y > yc))
            c->scratch_x[k++] = a.x + (yc - a.y) * (double)(b.x - a.x) / (double)(b.y - a.y);
      }
      qsort(c->scratch_x, k, sizeof(double), compare_double);
      for (size_t j = 0; j + 1 < k; j += 2) {
         /* Pixel x is inside when its centre x+0.5 lies between crossings. */
         int x0 = (int)ceil(c->scratch_x[j] - 0.5);
         int x1 = (int)ceil(c->scratch_x[j + 1] - 0.5);
         if (x0 < 0) x0 = 0;
         if (x1 > c->w) x1 = c->w;
         for (int x = x0; x < x1; ++x)
            if (pattern_hit(pattern, x, y, spacing))
               canvas_blend(c, x, y, colour, alpha);
      }
   }
   return 0;
}

void canvas_circle(canvas_t *c, ipoint_t centre, int radius, int width, rgb_t colour)
{
   /* Ring of pixels whose centre lies within width/2 of the radius. */
   double inner = radius - width / 2.0, outer = radius + width / 2.0;
   int r = radius + width;
   for (int dy = -r; dy <= r; ++dy)
      for (int dx = -r; dx <= r; ++dx) {
         double d = sqrt((double)(dx * dx + dy * dy));
         if (d >= inner && d <= outer)
            canvas_put(c, centre.x + dx, centre.y + dy, colour);
      }
}
