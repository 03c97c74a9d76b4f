/* The single definition of a valid event (docs/abi.md, "Events"). */
#include <sono/sdk/events.h>
#include <sono/sdk/names.h>

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

typedef struct check_ctx {
   const sono_grid_t *grid;
   const char *what; /* e.g. "finding \"acoustic_shadow\"" for messages */
   sono_error_t *err;
} check_ctx;

static int utf8_is_valid(const unsigned char *s)
{
   while (*s) {
      int extra = *s < 0x80 ? 0 : (*s >> 5) == 6 ? 1 : (*s >> 4) == 14 ? 2 : (*s >> 3) == 30 ? 3 : -1;
      if (extra < 0)
         return 0;
      ++s;
      for (int i = 0; i < extra; ++i, ++s)
         if ((*s & 0xC0) != 0x80)
            return 0;
   }
   return 1;
}

static int check_text(const check_ctx *c, const char *field, const char *s, int required)
{
   if (!s)
      return required ? sono_error_set(c->err, "%s: field %s is missing: expected a UTF-8 string", c->what, field)
                      : 0;
   size_t n = strnlen(s, SONO_EVENT_MAX_TEXT + 1);
   if (required && n == 0)
      return sono_error_set(c->err, "%s: field %s is empty", c->what, field);
   if (n > SONO_EVENT_MAX_TEXT)
      return sono_error_set(c->err, "%s: field %s: longer than %u bytes", c->what, field, SONO_EVENT_MAX_TEXT);
   if (!utf8_is_valid((const unsigned char *)s))
      return sono_error_set(c->err, "%s: field %s: not valid UTF-8", c->what, field);
   return 0;
}

static int check_point(const check_ctx *c, const char *field, uint32_t i, sono_point_t p)
{
   if (!isfinite(p.x_m) || !isfinite(p.z_m))
      return sono_error_set(c->err, "%s: field %s[%u]: coordinate is not finite (x %g, z %g)", c->what, field, i,
                            p.x_m, p.z_m);
   const sono_grid_t *g = c->grid;
   if (!g)
      return 0;
   /* Points are float32: a point a plugin put exactly on the image edge
    * may round a few ulps past it, which is not "outside". */
   double x_lo = g->x0_m - 0.5 * g->dx_m, x_hi = g->x0_m + ((double)g->nx - 0.5) * g->dx_m;
   double z_lo = g->z0_m - 0.5 * g->dz_m, z_hi = g->z0_m + ((double)g->nz - 0.5) * g->dz_m;
   double tx = 4.0 * FLT_EPSILON * fmax(fabs(x_lo), fabs(x_hi)), tz = 4.0 * FLT_EPSILON * fmax(fabs(z_lo), fabs(z_hi));
   x_lo -= tx;
   x_hi += tx;
   z_lo -= tz;
   z_hi += tz;
   if (p.x_m < x_lo || p.x_m > x_hi || p.z_m < z_lo || p.z_m > z_hi)
      return sono_error_set(c->err,
                            "%s: field %s[%u]: (x %.4g m, z %.4g m) is outside the frame "
                            "(x %.4g..%.4g m, z %.4g..%.4g m)",
                            c->what, field, i, p.x_m, p.z_m, x_lo, x_hi, z_lo, z_hi);
   return 0;
}

static int check_points(const check_ctx *c, const char *field, const sono_point_t *pts, uint32_t n,
                        uint32_t min_count)
{
   if (n < min_count)
      return sono_error_set(c->err, "%s: field %s: %u points, expected at least %u", c->what, field, n, min_count);
   if (n > SONO_EVENT_MAX_POINTS)
      return sono_error_set(c->err, "%s: field %s: %u points, more than the limit %u", c->what, field, n,
                            SONO_EVENT_MAX_POINTS);
   if (n && !pts)
      return sono_error_set(c->err, "%s: field %s: NULL with %u points", c->what, field, n);
   for (uint32_t i = 0; i < n; ++i)
      if (check_point(c, field, i, pts[i]) < 0)
         return -1;
   return 0;
}

static int check_attributes(const check_ctx *c, const sono_event_finding_t *f)
{
   if (f->attribute_count > SONO_EVENT_MAX_ATTRIBUTES)
      return sono_error_set(c->err, "%s: field attribute_count: %u, more than the limit %u", c->what,
                            f->attribute_count, SONO_EVENT_MAX_ATTRIBUTES);
   if (f->attribute_count && !f->attributes)
      return sono_error_set(c->err, "%s: field attributes: NULL with %u attributes", c->what, f->attribute_count);
   for (uint32_t i = 0; i < f->attribute_count; ++i)
      if (check_text(c, "attributes.key", f->attributes[i].key, 1) < 0 ||
          check_text(c, "attributes.value", f->attributes[i].value, 1) < 0)
         return -1;
   return 0;
}

static int check_finding(const sono_event_finding_t *f, const sono_grid_t *grid, sono_error_t *err)
{
   char what[160];
   check_ctx c = {grid, "finding", err};
   if (check_text(&c, "kind", f->kind, 1) < 0)
      return -1;
   snprintf(what, sizeof what, "finding \"%.120s\"", f->kind);
   c.what = what;
   if (f->status != SONO_STATUS_DETECTED && f->status != SONO_STATUS_NOT_DETECTED &&
       f->status != SONO_STATUS_INDETERMINATE)
      return sono_error_set(err, "%s: field status: %d is not detected (1), not_detected (0) or indeterminate (2)",
                            what, f->status);
   if (!(f->confidence >= 0.0f && f->confidence <= 1.0f))
      return sono_error_set(err, "%s: field confidence: %g is outside [0, 1]", what, (double)f->confidence);
   if (check_points(&c, "region", f->region, f->region_count, 0) < 0 || check_attributes(&c, f) < 0 ||
       check_text(&c, "label", f->label, 1) < 0 || check_text(&c, "basis", f->basis, 1) < 0 ||
       check_text(&c, "caveat", f->caveat, 0) < 0 || check_text(&c, "advice", f->advice, 0) < 0)
      return -1;
   return 0;
}

static int check_measurement(const sono_event_measurement_t *m, const sono_grid_t *grid, sono_error_t *err)
{
   char what[160];
   check_ctx c = {grid, "measurement", err};
   if (check_text(&c, "name", m->name, 1) < 0)
      return -1;
   snprintf(what, sizeof what, "measurement \"%.120s\"", m->name);
   c.what = what;
   if (!isfinite(m->value))
      return sono_error_set(err, "%s: field value: %g is not finite", what, m->value);
   if (check_text(&c, "unit", m->unit, 1) < 0 || check_text(&c, "label", m->label, 0) < 0 ||
       check_point(&c, "at", 0, m->at) < 0)
      return -1;
   return 0;
}

static int check_mask(const check_ctx *c, const sono_event_overlay_t *o)
{
   if (!o->mask || o->mask_nx == 0 || o->mask_nz == 0)
      return sono_error_set(c->err, "%s: field mask: expected mask bytes with mask_nx, mask_nz > 0", c->what);
   if ((uint64_t)o->mask_nx * o->mask_nz > SONO_EVENT_MAX_MASK_BYTES)
      return sono_error_set(c->err, "%s: field mask: %ux%u is larger than the limit", c->what, o->mask_nx,
                            o->mask_nz);
   if (c->grid && ((uint64_t)o->mask_ix0 + o->mask_nx > c->grid->nx || (uint64_t)o->mask_iz0 + o->mask_nz > c->grid->nz))
      return sono_error_set(c->err, "%s: field mask: columns %u..%u, rows %u..%u exceed the %ux%u frame grid",
                            c->what, o->mask_ix0, o->mask_ix0 + o->mask_nx, o->mask_iz0, o->mask_iz0 + o->mask_nz,
                            c->grid->nx, c->grid->nz);
   return 0;
}

static uint32_t min_points_of(sono_shape_t shape)
{
   switch (shape) {
   case SONO_SHAPE_POLYLINE: return 2;
   case SONO_SHAPE_POLYGON: return 3;
   case SONO_SHAPE_MASK: return 0;
   default: return 1;
   }
}

static int check_overlay(const sono_event_overlay_t *o, const sono_grid_t *grid, sono_error_t *err)
{
   char what[160];
   check_ctx c = {grid, "overlay", err};
   if (o->shape < SONO_SHAPE_POLYLINE || o->shape > SONO_SHAPE_MASK)
      return sono_error_set(err, "overlay: field shape: %d is not a known shape (1..6)", o->shape);
   if (check_text(&c, "role", o->role, 1) < 0)
      return -1;
   snprintf(what, sizeof what, "overlay %s \"%.100s\"", sono_shape_name(o->shape), o->role);
   c.what = what;
   if (!sono_role_is_valid(o->role))
      return sono_error_set(err, "%s: field role: not a known role (see SONO_ROLE_*) nor a vendor role \"x-...\"",
                            what);
   if (check_points(&c, "points", o->points, o->point_count, min_points_of(o->shape)) < 0 ||
       check_text(&c, "label", o->label, o->shape == SONO_SHAPE_LABEL) < 0)
      return -1;
   if (o->shape == SONO_SHAPE_ELLIPSE &&
       !(o->radii_m[0] > 0 && o->radii_m[1] > 0 && isfinite(o->radii_m[0]) && isfinite(o->radii_m[1]) &&
         isfinite(o->angle_rad)))
      return sono_error_set(err, "%s: field radii_m: expected two finite positive semi-axes and a finite angle",
                            what);
   if (o->shape == SONO_SHAPE_MASK)
      return check_mask(&c, o);
   return 0;
}

static size_t size_of_type(sono_event_type_t type)
{
   switch (type) {
   case SONO_EVENT_FINDING: return sizeof(sono_event_finding_t);
   case SONO_EVENT_MEASUREMENT: return sizeof(sono_event_measurement_t);
   case SONO_EVENT_OVERLAY: return sizeof(sono_event_overlay_t);
   default: return 0;
   }
}

int sono_event_check(const sono_event_header_t *ev, const sono_grid_t *grid, sono_error_t *err)
{
   if (!ev)
      return sono_error_set(err, "event: NULL pointer pushed");
   if (ev->struct_size < sizeof(sono_event_header_t))
      return sono_error_set(err, "event: field struct_size: %u is smaller than the header (%zu)", ev->struct_size,
                            sizeof(sono_event_header_t));
   size_t need = size_of_type(ev->type);
   if (need == 0)
      return 1;
   if (ev->struct_size < need)
      return sono_error_set(err, "event type %d: field struct_size: %u, expected at least %zu", ev->type,
                            ev->struct_size, need);
   switch (ev->type) {
   case SONO_EVENT_FINDING: return check_finding((const sono_event_finding_t *)ev, grid, err);
   case SONO_EVENT_MEASUREMENT: return check_measurement((const sono_event_measurement_t *)ev, grid, err);
   default: return check_overlay((const sono_event_overlay_t *)ev, grid, err);
   }
}
