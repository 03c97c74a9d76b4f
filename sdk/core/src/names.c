#include <sono/sdk/names.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Looks `name` up in a NULL-padded table indexed by enum value. */
static int index_of(const char *const *table, int n, const char *name)
{
   if (!name)
      return -1;
   for (int i = 0; i < n; ++i)
      if (table[i] && strcmp(table[i], name) == 0)
         return i;
   return -1;
}

static const char *name_at(const char *const *table, int n, int value)
{
   return value >= 0 && value < n && table[value] ? table[value] : "unknown";
}

#define COUNT(a) ((int)(sizeof(a) / sizeof((a)[0])))

static const char *const plane_names[] = {"iq", "rf", "bmode", "velocity", "power", "variance", "spectrogram"};
static const char *const dtype_names[] = {"complex64", "float32", "int16", "uint8"};
static const size_t dtype_sizes[] = {8, 4, 2, 1};
static const char *const status_names[] = {"not_detected", "detected", "indeterminate"};
static const char *const shape_names[] = {NULL, "polyline", "polygon", "ellipse", "marker", "label", "mask"};
static const char *const concurrency_names[] = {"instance-safe", "unsafe", "fully-safe"};
static const char *const determinism_names[] = {"bit-exact", "tolerance", "none"};
static const char *const wall_names[] = {"none", "poly", "dct", "svd", "iir"};

const char *sono_plane_kind_name(sono_plane_kind_t k) { return name_at(plane_names, COUNT(plane_names), k); }
int sono_plane_kind_from_name(const char *n) { return index_of(plane_names, COUNT(plane_names), n); }
const char *sono_dtype_name(sono_dtype_t d) { return name_at(dtype_names, COUNT(dtype_names), d); }
int sono_dtype_from_name(const char *n) { return index_of(dtype_names, COUNT(dtype_names), n); }
size_t sono_dtype_size(sono_dtype_t d) { return d >= 0 && d < COUNT(dtype_sizes) ? dtype_sizes[d] : 0; }
const char *sono_status_name(sono_finding_status_t s) { return name_at(status_names, COUNT(status_names), s); }
int sono_status_from_name(const char *n) { return index_of(status_names, COUNT(status_names), n); }
const char *sono_shape_name(sono_shape_t s) { return name_at(shape_names, COUNT(shape_names), s); }
const char *sono_concurrency_name(sono_concurrency_t c) { return name_at(concurrency_names, COUNT(concurrency_names), c); }
int sono_concurrency_from_name(const char *n) { return index_of(concurrency_names, COUNT(concurrency_names), n); }
const char *sono_determinism_name(sono_determinism_t d) { return name_at(determinism_names, COUNT(determinism_names), d); }
int sono_determinism_from_name(const char *n) { return index_of(determinism_names, COUNT(determinism_names), n); }
const char *sono_wall_filter_name(sono_wall_filter_t w) { return name_at(wall_names, COUNT(wall_names), w); }
int sono_wall_filter_from_name(const char *n) { return index_of(wall_names, COUNT(wall_names), n); }

const char *const sono_known_roles[] = {
   SONO_ROLE_VESSEL_PERFUSED, SONO_ROLE_VESSEL_REDUCED, SONO_ROLE_VESSEL_ABSENT, SONO_ROLE_OCCLUSION,
   SONO_ROLE_DEPOSIT,         SONO_ROLE_TARGET,         SONO_ROLE_DANGER_ZONE,   SONO_ROLE_ARTEFACT,
   SONO_ROLE_NEEDLING_GRID,   SONO_ROLE_MEASUREMENT,    SONO_ROLE_ANNOTATION,    NULL};

int sono_role_is_valid(const char *role)
{
   if (!role || !*role)
      return 0;
   if (strncmp(role, "x-", 2) == 0 && role[2])
      return 1;
   for (int i = 0; sono_known_roles[i]; ++i)
      if (strcmp(sono_known_roles[i], role) == 0)
         return 1;
   return 0;
}

char *sono_version_format(sono_version_t v, char *buf, size_t size)
{
   snprintf(buf, size, "%u.%u.%u", v.major, v.minor, v.patch);
   return buf;
}

int sono_version_parse(const char *text, sono_version_t *out)
{
   unsigned a, b, c;
   int used = 0;
   if (!text || sscanf(text, "%u.%u.%u%n", &a, &b, &c, &used) != 3 || text[used] != '\0')
      return -1;
   out->major = a;
   out->minor = b;
   out->patch = c;
   return 0;
}

/* Digits only, at most 10^6: an order or rank, never a sign or a blank. */
static int parse_count(const char *s, uint32_t *out)
{
   if (*s < '0' || *s > '9')
      return -1;
   char *end;
   errno = 0;
   unsigned long v = strtoul(s, &end, 10);
   if (errno || v > 1000000ul)
      return -1;
   *out = (uint32_t)v;
   return (int)(end - s);
}

static int parse_iir(const char *text, const char *arg, sono_wall_spec_t *out, char *err, size_t err_size)
{
   char *end;
   errno = 0;
   double f = strtod(arg, &end);
   uint32_t order = 2;
   int used = 0;
   if (!errno && end != arg && f > 0 && *end == ':')
      used = parse_count(end + 1, &order);
   if (errno || end == arg || !(f > 0) || (*end && (*end != ':' || used <= 0 || end[1 + used] != '\0'))) {
      snprintf(err, err_size, "wall filter \"%s\": expected iir:F or iir:F:order with F the cut-off in Hz > 0", text);
      return -1;
   }
   out->kind = SONO_WALL_IIR;
   out->cutoff_hz = f;
   out->order = order;
   return 0;
}

int sono_wall_spec_parse(const char *text, sono_wall_spec_t *out, char *err, size_t err_size)
{
   if (!text) {
      snprintf(err, err_size, "wall filter: no text, expected poly:N, dct:N, svd:N, iir:F[:order] or none");
      return -1;
   }
   if (strcmp(text, "none") == 0) {
      out->kind = SONO_WALL_NONE;
      return 0;
   }
   const char *colon = strchr(text, ':');
   char name[8] = "";
   if (colon && (size_t)(colon - text) < sizeof name) {
      memcpy(name, text, (size_t)(colon - text));
      name[colon - text] = '\0';
   }
   int kind = index_of(wall_names, COUNT(wall_names), name);
   if (kind <= SONO_WALL_NONE) {
      snprintf(err, err_size, "wall filter \"%s\": unknown, expected poly:N, dct:N, svd:N, iir:F[:order] or none", text);
      return -1;
   }
   if (kind == SONO_WALL_IIR)
      return parse_iir(text, colon + 1, out, err, err_size);
   uint32_t order;
   int used = parse_count(colon + 1, &order);
   if (used <= 0 || colon[1 + used] != '\0') {
      snprintf(err, err_size, "wall filter \"%s\": expected %s:N with N a non-negative integer", text, name);
      return -1;
   }
   out->kind = kind;
   out->order = order;
   return 0;
}
