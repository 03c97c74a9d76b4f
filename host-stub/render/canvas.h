/* Internal to sono_render: an RGB canvas with the few drawing operations the
 * renderer needs (blend, rectangles, thick lines, filled and hatched
 * polygons, text). All coordinates are integer pixels, so the same input
 * always gives the same pixels.
 *
 * Ownership: the renderer allocates the pixel and scratch buffers once, at
 * creation, for the largest canvas it can draw; drawing never allocates.
 * Threading: a canvas is used by one thread at a time. */
#ifndef SONO_RENDER_CANVAS_H
#define SONO_RENDER_CANVAS_H

#include <stddef.h>
#include <stdint.h>

typedef struct rgb {
   uint8_t r, g, b;
} rgb_t;

typedef struct ipoint {
   int x, y;
} ipoint_t;

typedef struct canvas {
   uint8_t *pixels;       /* w*h*3 bytes, row-major, top row first */
   int w, h;              /* current size (<= capacity) */
   size_t capacity;       /* bytes available in pixels */
   double *scratch_x;     /* polygon edge crossings, scratch_cap entries */
   size_t scratch_cap;
} canvas_t;

/* Fill patterns for polygons. */
typedef enum fill_pattern {
   FILL_SOLID = 0,
   FILL_HATCH = 1,       /* diagonal stripes "/" */
   FILL_HATCH_BACK = 2,  /* diagonal stripes "\" */
   FILL_HATCH_CROSS = 3  /* both */
} fill_pattern_t;

/* Sets the canvas size; returns -1 when it exceeds the capacity. */
int canvas_resize(canvas_t *c, int w, int h);
void canvas_clear(canvas_t *c, rgb_t colour);

/* Blends `colour` over pixel (x, y) with opacity alpha/255; ignores pixels
 * outside the canvas. */
void canvas_blend(canvas_t *c, int x, int y, rgb_t colour, int alpha);
static inline void canvas_put(canvas_t *c, int x, int y, rgb_t colour)
{
   if (x >= 0 && y >= 0 && x < c->w && y < c->h) {
      uint8_t *p = c->pixels + ((size_t)y * (size_t)c->w + (size_t)x) * 3u;
      p[0] = colour.r;
      p[1] = colour.g;
      p[2] = colour.b;
   }
}

/* Fills [x0, x1) x [y0, y1). */
void canvas_fill_rect(canvas_t *c, int x0, int y0, int x1, int y1, rgb_t colour, int alpha);
void canvas_rect_outline(canvas_t *c, int x0, int y0, int x1, int y1, rgb_t colour);

/* A line `width` pixels thick. `dash` > 0 draws dash-pixel dashes with
 * equal gaps; 0 draws it solid. */
void canvas_line(canvas_t *c, ipoint_t a, ipoint_t b, int width, int dash, rgb_t colour);
void canvas_polyline(canvas_t *c, const ipoint_t *p, size_t n, int closed, int width, int dash, rgb_t colour);

/* Fills a polygon (even-odd rule, pixel centres) with a pattern. `spacing`
 * is the stripe period of hatching in pixels. Returns -1 when n exceeds the
 * scratch capacity. */
int canvas_fill_polygon(canvas_t *c, const ipoint_t *p, size_t n, fill_pattern_t pattern, int spacing, rgb_t colour,
                        int alpha);

void canvas_circle(canvas_t *c, ipoint_t centre, int radius, int width, rgb_t colour);

/* ---- built-in 5x7 font (font.c) ----------------------------------------
 * Text is UTF-8; each glyph is FONT_W x FONT_H dots, scaled by `scale`,
 * advancing FONT_ADVANCE*scale pixels. (x, y) is the top-left corner. */
#define FONT_W 5
#define FONT_H 7
#define FONT_ADVANCE 6

int font_text_width(const char *text, int scale);
int font_text_width_n(const char *text, size_t bytes, int scale);
void font_draw(canvas_t *c, int x, int y, const char *text, int scale, rgb_t colour);
void font_draw_n(canvas_t *c, int x, int y, const char *text, size_t bytes, int scale, rgb_t colour);
/* How many bytes of `text` (whole code points) fit in `max_width` pixels. */
size_t font_fit_bytes(const char *text, int max_width, int scale);

#endif
