/* Example sonoplug plugin: the template to copy (docs/plugin-guide.md).
 *
 * It measures the mean echo (B-mode grey level, 0..255) inside a
 * rectangular region of interest and draws the region's outline. It shows
 * every part a real plugin needs: the descriptor, the lifecycle, reading a
 * plane through its strides, pushing a measurement, a finding and an
 * overlay, typed parameters (sono.params/1) and state (sono.state/1).
 *
 * Real-time rule: process() allocates nothing, takes no lock and makes no
 * system call. Everything it needs lives in the instance struct. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include <sono/sdk/plugin_kit.h>

/* ---- parameters: one table drives sono.params/1 ---------------------- */

enum { P_ROI_X, P_ROI_Z, P_ROI_W, P_ROI_H, P_COUNT };

static const sono_kit_param_t params[P_COUNT] = {
   {"roi_x_m", "ROI centre, lateral", "m", SONO_PARAM_FLOAT, -0.05, 0.05, 0.0, NULL},
   {"roi_z_m", "ROI centre, depth", "m", SONO_PARAM_FLOAT, 0.0, 0.1, 0.005, NULL},
   {"roi_width_m", "ROI width", "m", SONO_PARAM_FLOAT, 1e-4, 0.05, 0.004, NULL},
   {"roi_height_m", "ROI height", "m", SONO_PARAM_FLOAT, 1e-4, 0.05, 0.002, NULL},
};

typedef struct example {
   sono_plugin_t plugin;        /* first member: the host holds &plugin */
   const sono_host_t *host;     /* valid until destroy() */
   double values[P_COUNT];
   char label[96];              /* text buffers reused every frame */
   char basis[160];
} example_t;

static example_t *self_of(const sono_plugin_t *p) { return (example_t *)p->plugin_data; }

static const sono_plugin_descriptor_t descriptor = {
   SONO_ABI_VERSION,
   "org.sonoplug.example",
   "Example: mean echo in a region",
   "sonoplug",
   "1.0.0",
   "Measures the mean B-mode echo inside a region of interest and outlines it.",
   SONO_PLANE_BIT(SONO_PLANE_BMODE),
   SONO_CONCURRENCY_INSTANCE_SAFE,
   SONO_DETERMINISM_BIT_EXACT,
   0,
};

/* ---- lifecycle ----------------------------------------------------------- */

static bool example_init(const sono_plugin_t *p)
{
   sono_kit_params_defaults(params, P_COUNT, self_of(p)->values);
   return true;
}

static void example_destroy(const sono_plugin_t *p) { free(self_of(p)); }

static sono_status_t example_activate(const sono_plugin_t *p, const sono_frame_format_t *format)
{
   (void)p;
   /* Refuse what we cannot analyse, here rather than in process(). */
   return (format->planes_available & SONO_PLANE_BIT(SONO_PLANE_BMODE)) ? SONO_OK : SONO_ERROR_UNSUPPORTED;
}

static void example_deactivate(const sono_plugin_t *p) { (void)p; }

/* ---- analysis ------------------------------------------------------------ */

typedef struct roi {
   long iz0, iz1, ix0, ix1; /* inclusive pixel bounds, clipped to the grid */
} roi_t;

static int roi_pixels(const sono_grid_t *g, const double *v, roi_t *r)
{
   double x0 = v[P_ROI_X] - 0.5 * v[P_ROI_W], x1 = v[P_ROI_X] + 0.5 * v[P_ROI_W];
   double z0 = v[P_ROI_Z] - 0.5 * v[P_ROI_H], z1 = v[P_ROI_Z] + 0.5 * v[P_ROI_H];
   r->ix0 = lround(fmax(0, ceil((x0 - g->x0_m) / g->dx_m)));
   r->ix1 = lround(fmin(g->nx - 1.0, floor((x1 - g->x0_m) / g->dx_m)));
   r->iz0 = lround(fmax(0, ceil((z0 - g->z0_m) / g->dz_m)));
   r->iz1 = lround(fmin(g->nz - 1.0, floor((z1 - g->z0_m) / g->dz_m)));
   return r->ix0 <= r->ix1 && r->iz0 <= r->iz1;
}

/* Mean grey level; float B-mode (dB) is read as dB, uint8 as 0..255. */
static double roi_mean(const sono_plane_t *b, const roi_t *r)
{
   double sum = 0;
   for (long ix = r->ix0; ix <= r->ix1; ++ix)
      for (long iz = r->iz0; iz <= r->iz1; ++iz)
         sum += b->dtype == SONO_DTYPE_UINT8 ? SONO_KIT_AT(uint8_t, b, iz, ix, 0) : SONO_KIT_AT(float, b, iz, ix, 0);
   return sum / (double)((r->ix1 - r->ix0 + 1) * (r->iz1 - r->iz0 + 1));
}

static void push_results(example_t *s, const sono_frame_t *f, const roi_t *r, double mean, const sono_output_t *out)
{
   const sono_grid_t *g = &f->grid;
   sono_point_t corners[4] = {
      sono_kit_pixel_point(g, r->iz0, r->ix0), sono_kit_pixel_point(g, r->iz0, r->ix1),
      sono_kit_pixel_point(g, r->iz1, r->ix1), sono_kit_pixel_point(g, r->iz1, r->ix0)};
   sono_point_t centre = sono_kit_pixel_point(g, 0.5 * (r->iz0 + r->iz1), 0.5 * (r->ix0 + r->ix1));
   snprintf(s->label, sizeof s->label, "ROI mean echo %.1f", mean);
   snprintf(s->basis, sizeof s->basis, "mean of %ld pixels over %.1f x %.1f mm at depth %.1f mm",
            (r->ix1 - r->ix0 + 1) * (r->iz1 - r->iz0 + 1), (r->ix1 - r->ix0) * g->dx_m * 1e3,
            (r->iz1 - r->iz0) * g->dz_m * 1e3, centre.z_m * 1e3);

   sono_event_measurement_t m;
   sono_kit_measurement_init(&m, "mean_echo", mean, "1", centre);
   m.label = s->label;
   sono_kit_push(out, &m);

   sono_event_overlay_t o;
   sono_kit_overlay_init(&o, SONO_SHAPE_POLYGON, SONO_ROLE_MEASUREMENT, corners, 4);
   o.label = s->label;
   sono_kit_push(out, &o);
}

static sono_status_t example_process(const sono_plugin_t *p, const sono_frame_t *frame, const sono_output_t *out)
{
   example_t *s = self_of(p);
   const sono_plane_t *b = sono_frame_plane(frame, SONO_PLANE_BMODE);
   roi_t r;
   if (!b)
      return SONO_ERROR; /* declared as needed: its absence is a host error */
   if (!roi_pixels(&frame->grid, s->values, &r))
      return SONO_OK; /* region outside this frame: nothing to report */
   push_results(s, frame, &r, roi_mean(b, &r), out);
   return SONO_OK;
}

/* ---- sono.params/1: the kit implements it over the table ------------------ */

static double *values_of(const sono_plugin_t *p) { return self_of(p)->values; }

SONO_KIT_DEFINE_PARAMS(params_ext, params, P_COUNT, values_of);

/* ---- sono.state/1: the parameter values, framed and checksummed ----------- */

#define EXAMPLE_STATE_MAGIC 0x45584D31u /* "EXM1" */

static bool state_save(const sono_plugin_t *p, const sono_ostream_t *s)
{
   return sono_kit_params_state_save(s, EXAMPLE_STATE_MAGIC, 1, self_of(p)->values, P_COUNT);
}

/* Refused bytes change nothing: the kit validates a scratch copy first. */
static bool state_load(const sono_plugin_t *p, const sono_istream_t *s)
{
   return sono_kit_params_state_load(s, EXAMPLE_STATE_MAGIC, 1, params, P_COUNT, self_of(p)->values);
}

static const sono_plugin_state_t state_ext = {state_save, state_load};

static const void *example_get_extension(const sono_plugin_t *p, const char *id)
{
   (void)p;
   return sono_kit_extension(id, &params_ext, &state_ext);
}

/* ---- creation and the exported entry ------------------------------------ */

static const sono_plugin_t *example_create(const sono_host_t *host)
{
   example_t *s = calloc(1, sizeof *s);
   if (!s)
      return NULL;
   s->host = host;
   s->plugin = (sono_plugin_t){&descriptor,      s,
                               example_init,     example_destroy,
                               example_activate, example_deactivate,
                               example_process,  example_get_extension};
   return &s->plugin;
}

SONO_KIT_DEFINE_ENTRY(descriptor, example_create);
