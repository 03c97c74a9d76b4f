/* Overlay events read back from results.json (for `sono-host render`).
 * The list owns everything its events point to. */
#include "render_internal.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sono/sdk/names.h>

typedef struct owned_overlay {
   sono_event_overlay_t ev;
   sono_point_t *points;
   char *role;
   char *label;
   uint8_t *mask;
} owned_overlay_t;

struct sono_render_overlays {
   uint32_t count;
   owned_overlay_t *items;
   const sono_event_header_t **headers;
};

static char *copy_string(const char *s)
{
   size_t n = strlen(s) + 1;
   char *d = malloc(n);
   if (d)
      memcpy(d, s, n);
   return d;
}

static int shape_from_name(const char *name)
{
   for (sono_shape_t s = SONO_SHAPE_POLYLINE; s <= SONO_SHAPE_MASK; ++s)
      if (sono_shape_name(s) && strcmp(sono_shape_name(s), name) == 0)
         return s;
   return -1;
}

static int read_points(owned_overlay_t *o, const cJSON *item, const char *what, int i, sono_error_t *err)
{
   const cJSON *pts = cJSON_GetObjectItemCaseSensitive(item, "points_m");
   int n = cJSON_IsArray(pts) ? cJSON_GetArraySize(pts) : -1;
   if (n < 0 || n > (int)SONO_EVENT_MAX_POINTS)
      return sono_error_set(err, "%s[%d].points_m: expected an array of at most %u [x, z] pairs", what, i,
                            SONO_EVENT_MAX_POINTS);
   o->points = calloc(n > 0 ? (size_t)n : 1u, sizeof *o->points);
   if (!o->points)
      return sono_error_set(err, "%s[%d].points_m: out of memory", what, i);
   for (int k = 0; k < n; ++k) {
      const cJSON *p = cJSON_GetArrayItem(pts, k);
      const cJSON *x = cJSON_GetArrayItem(p, 0), *z = cJSON_GetArrayItem(p, 1);
      if (!cJSON_IsArray(p) || cJSON_GetArraySize(p) != 2 || !cJSON_IsNumber(x) || !cJSON_IsNumber(z) ||
          !isfinite(x->valuedouble) || !isfinite(z->valuedouble))
         return sono_error_set(err, "%s[%d].points_m[%d]: expected [x, z], two finite numbers in metres", what, i, k);
      o->points[k] = (sono_point_t){x->valuedouble, z->valuedouble};
   }
   o->ev.points = o->points;
   o->ev.point_count = (uint32_t)n;
   return 0;
}

static int read_uint(const cJSON *obj, const char *key, uint32_t max, uint32_t *out)
{
   const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
   if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0.0) || v->valuedouble > max || v->valuedouble != floor(v->valuedouble))
      return -1;
   *out = (uint32_t)v->valuedouble;
   return 0;
}

/* Mask run lengths alternate outside/inside, starting outside. */
static int read_mask(owned_overlay_t *o, const cJSON *item, const char *what, int i, sono_error_t *err)
{
   const cJSON *m = cJSON_GetObjectItemCaseSensitive(item, "mask");
   sono_event_overlay_t *ev = &o->ev;
   if (!cJSON_IsObject(m) || read_uint(m, "ix0", 65535, &ev->mask_ix0) || read_uint(m, "iz0", 65535, &ev->mask_iz0) ||
       read_uint(m, "nx", 4096, &ev->mask_nx) || read_uint(m, "nz", 4096, &ev->mask_nz) || ev->mask_nx == 0 ||
       ev->mask_nz == 0)
      return sono_error_set(err, "%s[%d].mask: expected {\"ix0\", \"iz0\", \"nx\", \"nz\" (1..4096), \"runs\"}", what, i);
   size_t total = (size_t)ev->mask_nx * ev->mask_nz, at = 0;
   o->mask = calloc(total, 1);
   if (!o->mask)
      return sono_error_set(err, "%s[%d].mask: out of memory for %zu cells", what, i, total);
   const cJSON *runs = cJSON_GetObjectItemCaseSensitive(m, "runs");
   if (!cJSON_IsArray(runs))
      return sono_error_set(err, "%s[%d].mask.runs: expected an array of run lengths", what, i);
   int inside = 0, k = 0;
   const cJSON *run;
   cJSON_ArrayForEach(run, runs)
   {
      if (!cJSON_IsNumber(run) || !(run->valuedouble >= 0.0) || run->valuedouble > (double)(total - at))
         return sono_error_set(err, "%s[%d].mask.runs[%d]: expected a run length within the %zu cells", what, i, k,
                               total);
      size_t len = (size_t)run->valuedouble;
      if (inside)
         memset(o->mask + at, 1, len);
      at += len;
      inside = !inside;
      ++k;
   }
   ev->mask = o->mask;
   return 0;
}

static int read_rgba(owned_overlay_t *o, const cJSON *item, const char *what, int i, sono_error_t *err)
{
   const cJSON *c = cJSON_GetObjectItemCaseSensitive(item, "rgba");
   if (!c)
      return 0;
   char *end = NULL;
   unsigned long v = cJSON_IsString(c) && c->valuestring[0] == '#' ? strtoul(c->valuestring + 1, &end, 16) : 0;
   if (!end || *end != '\0' || strlen(c->valuestring) != 9)
      return sono_error_set(err, "%s[%d].rgba: expected \"#rrggbbaa\"", what, i);
   o->ev.rgba = (uint32_t)v;
   return 0;
}

static int read_ellipse(owned_overlay_t *o, const cJSON *item, const char *what, int i, sono_error_t *err)
{
   const cJSON *radii = cJSON_GetObjectItemCaseSensitive(item, "radii_m");
   const cJSON *angle = cJSON_GetObjectItemCaseSensitive(item, "angle_rad");
   const cJSON *a = cJSON_GetArrayItem(radii, 0), *b = cJSON_GetArrayItem(radii, 1);
   if (!cJSON_IsNumber(a) || !cJSON_IsNumber(b) || !(a->valuedouble >= 0.0) || !(b->valuedouble >= 0.0) ||
       !isfinite(a->valuedouble) || !isfinite(b->valuedouble))
      return sono_error_set(err, "%s[%d].radii_m: expected two finite semi-axes >= 0 in metres", what, i);
   o->ev.radii_m[0] = a->valuedouble;
   o->ev.radii_m[1] = b->valuedouble;
   o->ev.angle_rad = cJSON_IsNumber(angle) && isfinite(angle->valuedouble) ? angle->valuedouble : 0.0;
   return 0;
}

static int read_overlay(owned_overlay_t *o, const cJSON *item, const char *what, int i, sono_error_t *err)
{
   const cJSON *shape = cJSON_GetObjectItemCaseSensitive(item, "shape");
   const cJSON *role = cJSON_GetObjectItemCaseSensitive(item, "role");
   const cJSON *label = cJSON_GetObjectItemCaseSensitive(item, "label");
   int s = cJSON_IsString(shape) ? shape_from_name(shape->valuestring) : -1;
   if (s < 0)
      return sono_error_set(err, "%s[%d].shape: expected polyline, polygon, ellipse, marker, label or mask", what, i);
   if (!cJSON_IsString(role) || !sono_role_is_valid(role->valuestring))
      return sono_error_set(err, "%s[%d].role: expected a known role or an \"x-\" vendor role", what, i);
   if (label && !cJSON_IsNull(label) && !cJSON_IsString(label))
      return sono_error_set(err, "%s[%d].label: expected a string", what, i);
   o->ev.header.struct_size = sizeof o->ev;
   o->ev.header.type = SONO_EVENT_OVERLAY;
   o->ev.shape = s;
   o->role = copy_string(role->valuestring);
   o->label = cJSON_IsString(label) ? copy_string(label->valuestring) : NULL;
   if (!o->role || (cJSON_IsString(label) && !o->label))
      return sono_error_set(err, "%s[%d]: out of memory", what, i);
   o->ev.role = o->role;
   o->ev.label = o->label;
   if (read_points(o, item, what, i, err) || read_rgba(o, item, what, i, err))
      return -1;
   if (s == SONO_SHAPE_ELLIPSE && read_ellipse(o, item, what, i, err))
      return -1;
   if (s == SONO_SHAPE_MASK && read_mask(o, item, what, i, err))
      return -1;
   return 0;
}

sono_render_overlays_t *sono_render_overlays_from_json(const cJSON *overlays, const char *what, sono_error_t *err)
{
   if (!what)
      what = "overlays";
   if (overlays && !cJSON_IsArray(overlays)) {
      sono_error_set(err, "%s: expected an array of overlays", what);
      return NULL;
   }
   sono_render_overlays_t *list = calloc(1, sizeof *list);
   int n = overlays ? cJSON_GetArraySize(overlays) : 0;
   if (list) {
      list->items = calloc(n > 0 ? (size_t)n : 1u, sizeof *list->items);
      list->headers = calloc(n > 0 ? (size_t)n : 1u, sizeof *list->headers);
   }
   if (!list || !list->items || !list->headers) {
      sono_render_overlays_free(list);
      sono_error_set(err, "%s: out of memory for %d overlays", what, n);
      return NULL;
   }
   for (int i = 0; i < n; ++i) {
      list->count = (uint32_t)i + 1;
      if (read_overlay(&list->items[i], cJSON_GetArrayItem(overlays, i), what, i, err) != 0) {
         sono_render_overlays_free(list);
         return NULL;
      }
      list->headers[i] = &list->items[i].ev.header;
   }
   return list;
}

uint32_t sono_render_overlays_count(const sono_render_overlays_t *list)
{
   return list ? list->count : 0;
}

const sono_event_header_t *const *sono_render_overlays_events(const sono_render_overlays_t *list)
{
   return list ? list->headers : NULL;
}

void sono_render_overlays_free(sono_render_overlays_t *list)
{
   if (!list)
      return;
   for (uint32_t i = 0; list->items && i < list->count; ++i) {
      free(list->items[i].points);
      free(list->items[i].role);
      free(list->items[i].label);
      free(list->items[i].mask);
   }
   free(list->items);
   free(list->headers);
   free(list);
}
