/* Internal to sono_render: the clinical palette and shared helpers. */
#ifndef SONO_RENDER_INTERNAL_H
#define SONO_RENDER_INTERNAL_H

#include <sono/host/render.h>

#include "canvas.h"

/* How one overlay role is drawn. */
typedef struct role_style {
   const char *role;          /* SONO_ROLE_*, or NULL for the vendor ("x-") entry */
   const char *legend;        /* legend text */
   rgb_t colour;
   int line_width;            /* px */
   int dash;                  /* px, 0 = solid */
   fill_pattern_t fill;       /* area fill of polygons, ellipses and masks */
   int fill_alpha;            /* 0 = outline only */
   int planning_aid;          /* legend adds the planning-aid note */
} role_style_t;

enum { ROLE_VENDOR_INDEX = 11, ROLE_STYLE_COUNT = 12 };

extern const role_style_t role_styles[ROLE_STYLE_COUNT];

/* Index into role_styles of `role`; vendor and unknown roles map to the
 * neutral vendor style. */
int role_style_index(const char *role);

/* The red/blue colour-Doppler map of t = v / VN in [-1, 1]. */
rgb_t colour_doppler_map(double t);

/* Writes the canvas to `path` through "<path>.tmp" + rename. `rows` holds
 * at least c->h row pointers. */
int png_write_canvas(const canvas_t *c, unsigned char **rows, const char *path, sono_error_t *err);

#endif

/* ---- the renderer (render.c, render_image.c, render_overlays.c) -------- */

#define RENDER_MAX_LABEL_BOXES 256

typedef struct render_box {
   int x0, y0, x1, y1;
} render_box_t;

struct sono_renderer {
   sono_render_options_t opt;
   uint32_t max_nx, max_nz;
   canvas_t canvas;
   unsigned char **rows;        /* PNG row pointers, one per canvas row */
   int rows_cap;
   int *col_index;              /* per image column: grid column (floor) */
   float *col_weight;           /* and the weight of the next column */
   int *row_index;              /* per image row: grid row (floor) */
   float *row_weight;
   ipoint_t *points;            /* converted overlay points */
   size_t points_cap;
   /* Layout of the image being drawn. */
   int left, top, area_w, area_h;
   double px_per_m;
   double x_left_m, z_top_m;    /* outer edges of the grid (pixel borders) */
   double cell_dx_m, cell_dz_m; /* grid spacing */
   int roles_used[ROLE_STYLE_COUNT];
   /* Boxes of the overlay labels drawn so far in this frame, so a new label
    * moves clear of them instead of printing over them. */
   render_box_t label_boxes[RENDER_MAX_LABEL_BOXES];
   int label_box_count;
};

/* Where events come from: host event stores, or a plain array. */
typedef struct event_source {
   const sono_event_store_t *const *sets;
   uint32_t set_count;
   const sono_event_header_t *const *events;
   uint32_t event_count;
} event_source_t;

typedef struct event_cursor {
   const event_source_t *src;
   uint32_t set, index;
} event_cursor_t;

/* The next overlay event that is complete enough to draw, or NULL. */
const sono_event_overlay_t *event_cursor_next_overlay(event_cursor_t *cur);

/* Pixel column/row of a position in metres (the pixel containing it),
 * clamped to a band around the canvas so lines stay bounded. */
int render_px_x(const sono_renderer_t *r, double x_m);
int render_px_y(const sono_renderer_t *r, double z_m);

/* Draws `text` at (x, y) on a dark box, kept inside the canvas. */
void render_label(sono_renderer_t *r, int x, int y, const char *text, rgb_t colour);

/* B-mode and colour Doppler into the image area (render_image.c). */
int render_bmode(sono_renderer_t *r, const sono_frame_t *frame, sono_error_t *err);
/* Returns 1 when colour was drawn (and sets *vn_m_s), 0 when the frame has
 * no velocity plane, -1 on error. */
int render_colour(sono_renderer_t *r, const sono_frame_t *frame, double *vn_m_s, sono_error_t *err);
/* Checks a z/x plane against the grid; `what` names it in errors. */
int render_check_plane(const sono_plane_t *p, const sono_grid_t *g, uint64_t sequence, sono_error_t *err);

/* Overlays in three passes (fills, strokes, labels); marks roles_used. */
void render_overlays(sono_renderer_t *r, const event_source_t *src);
/* Marks the roles that render_overlays() would draw. */
void render_mark_roles(sono_renderer_t *r, const event_source_t *src);
