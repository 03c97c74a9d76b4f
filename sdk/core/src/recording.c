/* Recording reader: parses and validates the JSON header, maps the data
 * files and hands out zero-copy plane views per frame. */
#include <sono/sdk/recording.h>
#include <sono/sdk/names.h>

#include "recording_layout.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "recordings are little-endian and are mapped without conversion"
#endif

/* Headers are small; a bound keeps a wrong path (a data file given as
 * header) from being read whole into memory. */
#define HEADER_MAX_BYTES (64u << 20)
#define FIELD_SIZE 160

typedef struct rec_file {
   char *path;            /* header folder joined with the "file" field */
   const char *plane;     /* name of the first plane reading it, for messages */
   dev_t dev;
   ino_t ino;
   unsigned char *base;   /* read-only mapping, NULL for an empty file */
   size_t size;
   uint64_t end;          /* furthest byte read by any plane */
} rec_file_t;

typedef struct rec_plane {
   int present;
   sono_dtype_t dtype;
   char *file;                            /* "file" as written in the header */
   int file_index;
   uint64_t offset;
   int naxes;
   int slot[SONO_REC_MAX_AXES];           /* file axis -> layout slot */
   uint32_t file_shape[SONO_REC_MAX_AXES];
   int64_t file_stride[SONO_REC_MAX_AXES];
   uint32_t shape[3];                     /* ABI view */
   int64_t stride[3];
   uint32_t frames;
   int64_t frame_stride;
   uint64_t elements;
   uint64_t bytes;
   uint64_t nonfinite;
   const unsigned char *data;             /* element 0 of frame 0 */
} rec_plane_t;

struct sono_recording {
   char *path;
   char *dir;                             /* header folder, "" for the cwd */
   sono_recording_info_t info;
   cJSON *ground_truth;
   rec_plane_t planes[SONO_PLANE_KIND_COUNT];
   rec_file_t files[SONO_PLANE_KIND_COUNT];
   int file_count;
   int has_prf;
   char *warnings;
};

/* ---- messages ------------------------------------------------------- */

typedef struct parse {
   const char *path;
   sono_error_t *err;
} parse_t;

__attribute__((format(printf, 2, 3))) static int fail(const parse_t *p, const char *fmt, ...)
{
   char text[SONO_ERROR_MESSAGE_SIZE];
   va_list ap;
   va_start(ap, fmt);
   vsnprintf(text, sizeof text, fmt, ap);
   va_end(ap);
   return sono_error_set(p->err, "%s: %s", p->path, text);
}

static const char *type_text(const cJSON *j)
{
   if (cJSON_IsString(j))
      return "a string";
   if (cJSON_IsNumber(j))
      return "a number";
   if (cJSON_IsObject(j))
      return "an object";
   if (cJSON_IsArray(j))
      return "an array";
   if (cJSON_IsBool(j))
      return "a boolean";
   if (cJSON_IsNull(j))
      return "null";
   return "an invalid value";
}

static void field_name(char *buf, const char *parent, const char *name)
{
   /* Field names are short; a truncated one still names the place. */
   if (snprintf(buf, FIELD_SIZE, "%s%s%s", parent, *parent ? "." : "", name) >= FIELD_SIZE)
      buf[FIELD_SIZE - 1] = '\0';
}

static void plane_names_text(char *buf, size_t size)
{
   size_t used = 0;
   buf[0] = '\0';
   for (int k = 0; k < SONO_PLANE_KIND_COUNT; ++k) {
      int w = snprintf(buf + used, size - used, "%s%s", k ? ", " : "", sono_plane_kind_name(k));
      if (w < 0 || (size_t)w >= size - used)
         return;
      used += (size_t)w;
   }
}

/* ---- typed field readers ---------------------------------------------- */

enum { ANY_NUMBER, NON_NEGATIVE, POSITIVE };

static const char *number_text(int sign)
{
   return sign == POSITIVE ? "a positive number" : sign == NON_NEGATIVE ? "a non-negative number" : "a finite number";
}

/* Returns 1 when read, 0 when absent and optional, -1 on error. */
static int read_number(const parse_t *p, const cJSON *obj, const char *parent, const char *name, int required,
                       int sign, double *out)
{
   char field[FIELD_SIZE];
   field_name(field, parent, name);
   const cJSON *j = cJSON_GetObjectItemCaseSensitive(obj, name);
   if (!j)
      return required ? fail(p, "%s: missing (expected %s)", field, number_text(sign)) : 0;
   if (!cJSON_IsNumber(j))
      return fail(p, "%s: expected %s, got %s", field, number_text(sign), type_text(j));
   double v = j->valuedouble;
   if (!isfinite(v) || (sign == POSITIVE && !(v > 0)) || (sign == NON_NEGATIVE && v < 0))
      return fail(p, "%s: expected %s, got %g", field, number_text(sign), v);
   *out = v;
   return 1;
}

/* Integers are JSON numbers without a fraction, within [min, max]. */
static int check_integer(const parse_t *p, const cJSON *j, const char *field, uint64_t min, uint64_t max,
                         uint64_t *out)
{
   char want[96];
   snprintf(want, sizeof want, "%s integer (at most %" PRIu64 ")", min ? "a positive" : "a non-negative", max);
   if (!cJSON_IsNumber(j))
      return fail(p, "%s: expected %s, got %s", field, want, type_text(j));
   double v = j->valuedouble;
   if (!isfinite(v) || v != floor(v) || v < (double)min || v > (double)max)
      return fail(p, "%s: expected %s, got %g", field, want, v);
   *out = (uint64_t)v;
   return 1;
}

static int read_integer(const parse_t *p, const cJSON *obj, const char *parent, const char *name, int required,
                        uint64_t min, uint64_t max, uint64_t *out)
{
   char field[FIELD_SIZE];
   field_name(field, parent, name);
   const cJSON *j = cJSON_GetObjectItemCaseSensitive(obj, name);
   if (!j)
      return required ? fail(p, "%s: missing (expected %s integer)", field, min ? "a positive" : "a non-negative") : 0;
   return check_integer(p, j, field, min, max, out);
}

static int read_string(const parse_t *p, const cJSON *obj, const char *parent, const char *name, int required,
                       const char **out)
{
   char field[FIELD_SIZE];
   field_name(field, parent, name);
   const cJSON *j = cJSON_GetObjectItemCaseSensitive(obj, name);
   if (!j)
      return required ? fail(p, "%s: missing (expected a string)", field) : 0;
   if (!cJSON_IsString(j) || !j->valuestring)
      return fail(p, "%s: expected a string, got %s", field, type_text(j));
   *out = j->valuestring;
   return 1;
}

/* An optional object member: 1 when present, 0 absent, -1 wrong type. */
static int read_object(const parse_t *p, const cJSON *obj, const char *name, const char *what, int required,
                       const cJSON **out)
{
   const cJSON *j = cJSON_GetObjectItemCaseSensitive(obj, name);
   if (!j)
      return required ? fail(p, "%s: missing (expected an object with %s)", name, what) : 0;
   if (!cJSON_IsObject(j))
      return fail(p, "%s: expected an object with %s, got %s", name, what, type_text(j));
   *out = j;
   return 1;
}

/* ---- header text and JSON ---------------------------------------------- */

static char *read_header_text(const parse_t *p)
{
   FILE *f = fopen(p->path, "rb");
   if (!f) {
      fail(p, "cannot open the header: %s", strerror(errno));
      return NULL;
   }
   struct stat st;
   if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
      fail(p, "cannot read the header: not a regular file");
      fclose(f);
      return NULL;
   }
   if ((uint64_t)st.st_size > HEADER_MAX_BYTES) {
      fail(p, "header is %lld bytes, expected at most %u (is this the data file?)", (long long)st.st_size,
           HEADER_MAX_BYTES);
      fclose(f);
      return NULL;
   }
   size_t size = (size_t)st.st_size;
   char *text = malloc(size + 1);
   size_t got = text ? fread(text, 1, size, f) : 0;
   int read_error = ferror(f);
   fclose(f);
   if (!text || got != size || read_error) {
      fail(p, "cannot read the header: %s", text ? "short read" : "out of memory");
      free(text);
      return NULL;
   }
   text[size] = '\0';
   return text;
}

static cJSON *parse_json(const parse_t *p, const char *text)
{
   const char *end = NULL;
   cJSON *root = cJSON_ParseWithOpts(text, &end, 1);
   if (root)
      return root;
   if (!end)
      end = text;
   unsigned line = 1, column = 1;
   for (const char *c = text; c < end && *c; ++c) {
      if (*c == '\n') {
         ++line;
         column = 1;
      } else {
         ++column;
      }
   }
   fail(p, "not valid JSON: parse error at line %u, column %u (byte %td); expected a JSON object", line, column,
        end - text);
   return NULL;
}

/* ---- header sections ---------------------------------------------------- */

/* Copies at most size-1 bytes, cutting before a UTF-8 sequence rather than
 * inside it, so a long description stays valid text. */
static void copy_utf8(char *dst, size_t size, const char *src)
{
   size_t n = strlen(src);
   if (n >= size) {
      n = size - 1;
      while (n > 0 && ((unsigned char)src[n] & 0xC0) == 0x80)
         --n;
   }
   memcpy(dst, src, n);
   dst[n] = '\0';
}

static int parse_identity(sono_recording_t *rec, const parse_t *p, const cJSON *root)
{
   const char *format = NULL, *description = NULL;
   if (read_string(p, root, "", "format", 1, &format) < 0)
      return -1;
   if (strcmp(format, "sono.recording") != 0)
      return fail(p, "format: expected \"sono.recording\", got \"%s\"", format);
   uint64_t version = 0;
   if (read_integer(p, root, "", "version", 1, 1, UINT32_MAX, &version) < 0)
      return -1;
   if (version != 1)
      return fail(p, "version: unsupported version %" PRIu64 ", expected 1", version);
   if (read_string(p, root, "", "description", 0, &description) < 0)
      return -1;
   if (description)
      copy_utf8(rec->info.description, sizeof rec->info.description, description);
   return 0;
}

/* Checked here, where the file and field can be named, so a host never
 * meets a malformed filter after the recording has opened. */
static int parse_wall_filter(sono_recording_t *rec, const parse_t *p, const cJSON *a)
{
   const char *text = NULL;
   int got = read_string(p, a, "acquisition", "wall_filter", 0, &text);
   if (got <= 0)
      return got;
   char why[160];
   sono_wall_spec_t spec = {SONO_WALL_NONE, 0, 0.0};
   if (strlen(text) >= sizeof rec->info.wall_filter)
      return fail(p, "acquisition.wall_filter: \"%.40s...\" is too long, expected at most %zu bytes such as \"svd:2\"",
                  text, sizeof rec->info.wall_filter - 1);
   if (sono_wall_spec_parse(text, &spec, why, sizeof why) < 0)
      return fail(p, "acquisition.wall_filter: %s", why);
   snprintf(rec->info.wall_filter, sizeof rec->info.wall_filter, "%s", text);
   return 0;
}

static int parse_acquisition(sono_recording_t *rec, const parse_t *p, const cJSON *root)
{
   const cJSON *a = NULL;
   if (read_object(p, root, "acquisition", "center_frequency_hz and sound_speed_m_s", 1, &a) < 0)
      return -1;
   sono_acquisition_t *acq = &rec->info.acquisition;
   const char *s = "acquisition";
   if (read_number(p, a, s, "center_frequency_hz", 1, POSITIVE, &acq->center_frequency_hz) < 0 ||
       read_number(p, a, s, "sound_speed_m_s", 1, POSITIVE, &acq->sound_speed_m_s) < 0)
      return -1;
   int demod = read_number(p, a, s, "demodulation_frequency_hz", 0, NON_NEGATIVE, &acq->demodulation_frequency_hz);
   int prf = read_number(p, a, s, "prf_hz", 0, POSITIVE, &acq->prf_hz);
   if (demod < 0 || prf < 0 ||
       read_number(p, a, s, "steering_angle_rad", 0, ANY_NUMBER, &acq->steering_angle_rad) < 0 ||
       read_number(p, a, s, "sampling_frequency_hz", 0, NON_NEGATIVE, &acq->sampling_frequency_hz) < 0 ||
       read_number(p, a, s, "frame_rate_hz", 0, NON_NEGATIVE, &acq->frame_rate_hz) < 0)
      return -1;
   if (parse_wall_filter(rec, p, a) < 0)
      return -1;
   if (demod == 0)
      acq->demodulation_frequency_hz = acq->center_frequency_hz;
   rec->has_prf = prf == 1;
   acq->doppler_lag = 1;
   acq->wall_filter = SONO_WALL_NONE;
   if (rec->has_prf)
      acq->nyquist_velocity_m_s = acq->sound_speed_m_s * acq->prf_hz / (4.0 * acq->center_frequency_hz);
   return 0;
}

static int parse_probe(sono_recording_t *rec, const parse_t *p, const cJSON *root)
{
   const cJSON *pr = NULL;
   int got = read_object(p, root, "probe", "name, elements and pitch_m", 0, &pr);
   if (got <= 0)
      return got;
   sono_acquisition_t *acq = &rec->info.acquisition;
   const char *name = NULL, *geometry = NULL;
   uint64_t elements = 0;
   if (read_string(p, pr, "probe", "name", 0, &name) < 0 ||
       read_integer(p, pr, "probe", "elements", 0, 0, UINT32_MAX, &elements) < 0 ||
       read_number(p, pr, "probe", "pitch_m", 0, NON_NEGATIVE, &acq->probe_pitch_m) < 0 ||
       read_number(p, pr, "probe", "radius_m", 0, NON_NEGATIVE, &acq->probe_radius_m) < 0 ||
       read_string(p, pr, "probe", "geometry", 0, &geometry) < 0)
      return -1;
   if (name && strlen(name) >= sizeof acq->probe_name)
      return fail(p, "probe.name: %zu bytes long, expected at most %zu", strlen(name), sizeof acq->probe_name - 1);
   if (name)
      snprintf(acq->probe_name, sizeof acq->probe_name, "%s", name);
   acq->probe_elements = (uint32_t)elements;
   if (geometry) {
      int g = sono_rec_probe_geometry_from_name(geometry);
      if (g < 0)
         return fail(p, "probe.geometry: unknown geometry \"%s\", expected linear, convex or phased", geometry);
      acq->probe_geometry = g;
   }
   return 0;
}

/* Optional spectral-Doppler gate: where a pulsed-wave sample volume sits. */
static int parse_gate(sono_recording_t *rec, const parse_t *p, const cJSON *root)
{
   const cJSON *g = NULL;
   int got = read_object(p, root, "gate", "x_m and z_m", 0, &g);
   if (got <= 0)
      return got;
   sono_gate_t *gate = &rec->info.gate;
   if (read_number(p, g, "gate", "x_m", 1, ANY_NUMBER, &gate->x_m) < 0 ||
       read_number(p, g, "gate", "z_m", 1, NON_NEGATIVE, &gate->z_m) < 0 ||
       read_number(p, g, "gate", "length_m", 0, NON_NEGATIVE, &gate->length_m) < 0 ||
       read_number(p, g, "gate", "angle_correction_rad", 0, ANY_NUMBER, &gate->angle_correction_rad) < 0)
      return -1;
   if (!(fabs(gate->angle_correction_rad) < 1.4))
      return fail(p, "gate.angle_correction_rad: %g, expected |angle| < 1.4 rad (80 degrees)",
                  gate->angle_correction_rad);
   gate->present = 1;
   return 0;
}

static int check_gate_in_grid(const sono_recording_t *rec, const parse_t *p)
{
   const sono_gate_t *gt = &rec->info.gate;
   const sono_grid_t *g = &rec->info.grid;
   if (!gt->present)
      return 0;
   double ix = (gt->x_m - g->x0_m) / g->dx_m, iz = (gt->z_m - g->z0_m) / g->dz_m;
   if (ix < -0.5 || ix > g->nx - 0.5 || iz < -0.5 || iz > g->nz - 0.5)
      return fail(p, "gate: (x %g m, z %g m) lies outside the grid", gt->x_m, gt->z_m);
   return 0;
}

static int parse_grid(sono_recording_t *rec, const parse_t *p, const cJSON *root)
{
   const cJSON *g = NULL;
   if (read_object(p, root, "grid", "nx, nz, dx_m, dz_m, x0_m and z0_m", 1, &g) < 0)
      return -1;
   sono_grid_t *grid = &rec->info.grid;
   uint64_t nx = 0, nz = 0;
   if (read_integer(p, g, "grid", "nx", 1, 1, UINT32_MAX, &nx) < 0 ||
       read_integer(p, g, "grid", "nz", 1, 1, UINT32_MAX, &nz) < 0 ||
       read_number(p, g, "grid", "dx_m", 1, POSITIVE, &grid->dx_m) < 0 ||
       read_number(p, g, "grid", "dz_m", 1, POSITIVE, &grid->dz_m) < 0 ||
       read_number(p, g, "grid", "x0_m", 1, ANY_NUMBER, &grid->x0_m) < 0 ||
       read_number(p, g, "grid", "z0_m", 1, ANY_NUMBER, &grid->z0_m) < 0)
      return -1;
   grid->nx = (uint32_t)nx;
   grid->nz = (uint32_t)nz;
   return 0;
}

/* ---- one plane ---------------------------------------------------------- */

static int parse_plane_file(rec_plane_t *pl, const parse_t *p, const cJSON *obj, const char *field)
{
   const char *file = NULL;
   if (read_string(p, obj, field, "file", 1, &file) < 0)
      return -1;
   if (!*file)
      return fail(p, "%s.file: empty, expected a path relative to the header's folder", field);
   if (file[0] == '/')
      return fail(p, "%s.file: \"%s\" is absolute, expected a path relative to the header's folder", field, file);
   pl->file = strdup(file);
   return pl->file ? 0 : fail(p, "%s.file: out of memory", field);
}

static int parse_plane_dtype(rec_plane_t *pl, const parse_t *p, const cJSON *obj, const char *field, int kind)
{
   const char *dtype = NULL;
   if (read_string(p, obj, field, "dtype", 1, &dtype) < 0)
      return -1;
   char allowed[96];
   sono_rec_dtypes_text(kind, allowed, sizeof allowed);
   int d = sono_dtype_from_name(dtype);
   if (d < 0)
      return fail(p, "%s.dtype: unknown dtype \"%s\", expected %s for a%s %s plane", field, dtype, allowed,
                  kind == SONO_PLANE_IQ ? "n" : "", sono_plane_kind_name(kind));
   if (!sono_rec_dtype_allowed(kind, d))
      return fail(p, "%s.dtype: a%s %s plane cannot be %s, expected %s", field, kind == SONO_PLANE_IQ ? "n" : "",
                  sono_plane_kind_name(kind), dtype, allowed);
   pl->dtype = d;
   return 0;
}

static int parse_plane_axes(rec_plane_t *pl, const parse_t *p, const cJSON *obj, const char *field, int kind)
{
   const cJSON *axes = cJSON_GetObjectItemCaseSensitive(obj, "axes");
   char allowed[96];
   sono_rec_axes_text(kind, allowed, sizeof allowed);
   if (!axes)
      return fail(p, "%s.axes: missing (expected an array of axis names from %s)", field, allowed);
   if (!cJSON_IsArray(axes))
      return fail(p, "%s.axes: expected an array of axis names from %s, got %s", field, allowed, type_text(axes));
   int seen[SONO_REC_MAX_AXES] = {0};
   int n = 0;
   for (const cJSON *a = axes->child; a; a = a->next, ++n) {
      if (!cJSON_IsString(a))
         return fail(p, "%s.axes[%d]: expected an axis name (%s), got %s", field, n, allowed, type_text(a));
      int s = sono_rec_axis_slot(kind, a->valuestring);
      if (s < 0)
         return fail(p, "%s.axes[%d]: unknown axis \"%s\" for a%s %s plane, expected one of %s", field, n,
                     a->valuestring, kind == SONO_PLANE_IQ ? "n" : "", sono_plane_kind_name(kind), allowed);
      if (seen[s])
         return fail(p, "%s.axes[%d]: duplicate axis \"%s\", expected each axis once", field, n, a->valuestring);
      seen[s] = 1;
      pl->slot[n] = s;
   }
   for (int s = 0; s < 2; ++s)
      if (!seen[s])
         return fail(p, "%s.axes: missing axis \"%s\", expected %s and %s among %s", field,
                     sono_rec_axis_name(kind, s), sono_rec_axis_name(kind, 0), sono_rec_axis_name(kind, 1), allowed);
   pl->naxes = n;
   return 0;
}

static int parse_plane_shape(rec_plane_t *pl, const parse_t *p, const cJSON *obj, const char *field)
{
   const cJSON *shape = cJSON_GetObjectItemCaseSensitive(obj, "shape");
   if (!shape)
      return fail(p, "%s.shape: missing (expected %d positive integers, one per axis)", field, pl->naxes);
   if (!cJSON_IsArray(shape))
      return fail(p, "%s.shape: expected an array of %d positive integers (one per axis), got %s", field, pl->naxes,
                  type_text(shape));
   if (cJSON_GetArraySize(shape) != pl->naxes)
      return fail(p, "%s.shape: expected %d positive integers (one per axis), got %d", field, pl->naxes,
                  cJSON_GetArraySize(shape));
   int i = 0;
   for (const cJSON *e = shape->child; e; e = e->next, ++i) {
      char item[FIELD_SIZE];
      if (snprintf(item, sizeof item, "%s.shape[%d]", field, i) >= (int)sizeof item)
         item[sizeof item - 1] = '\0';
      uint64_t v = 0;
      if (check_integer(p, e, item, 1, UINT32_MAX, &v) < 0)
         return -1;
      pl->file_shape[i] = (uint32_t)v;
   }
   return 0;
}

/* Element strides of the file axes, then the ABI view and the frame step. */
static int layout_plane(rec_plane_t *pl, const parse_t *p, const char *field, int column_major)
{
   uint64_t count = 1;
   for (int k = 0; k < pl->naxes; ++k) {
      int i = column_major ? k : pl->naxes - 1 - k;
      pl->file_stride[i] = (int64_t)count;
      if (__builtin_mul_overflow(count, (uint64_t)pl->file_shape[i], &count) || count > (uint64_t)INT64_MAX / 8)
         return fail(p, "%s.shape: %" PRIu64 "... elements is too large to map", field, count);
   }
   pl->elements = count;
   pl->bytes = count * sono_dtype_size(pl->dtype);
   for (int s = 0; s < 3; ++s) {
      pl->shape[s] = 1;
      pl->stride[s] = 0;
   }
   pl->frames = 1;
   pl->frame_stride = 0;
   for (int i = 0; i < pl->naxes; ++i) {
      if (pl->slot[i] == SONO_REC_FRAME_SLOT) {
         pl->frames = pl->file_shape[i];
         pl->frame_stride = pl->file_stride[i];
      } else {
         pl->shape[pl->slot[i]] = pl->file_shape[i];
         pl->stride[pl->slot[i]] = pl->file_stride[i];
      }
   }
   return 0;
}

static int parse_plane_layout(rec_plane_t *pl, const parse_t *p, const cJSON *obj, const char *field)
{
   const char *order = "F";
   if (read_string(p, obj, field, "order", 0, &order) < 0)
      return -1;
   if (strcmp(order, "F") != 0 && strcmp(order, "C") != 0)
      return fail(p, "%s.order: expected \"F\" (first axis fastest) or \"C\" (last axis fastest), got \"%s\"", field,
                  order);
   uint64_t offset = 0;
   if (read_integer(p, obj, field, "offset_bytes", 0, 0, (uint64_t)1 << 53, &offset) < 0)
      return -1;
   size_t esize = sono_dtype_size(pl->dtype);
   if (offset % esize != 0)
      return fail(p, "%s.offset_bytes: %" PRIu64 " is not a multiple of %zu (the %s element size)", field, offset, esize,
                  sono_dtype_name(pl->dtype));
   pl->offset = offset;
   return layout_plane(pl, p, field, order[0] == 'F');
}

static int parse_plane(sono_recording_t *rec, const parse_t *p, int kind, const cJSON *obj)
{
   char field[FIELD_SIZE];
   snprintf(field, sizeof field, "planes.%s", sono_plane_kind_name(kind));
   rec_plane_t *pl = &rec->planes[kind];
   if (pl->present)
      return fail(p, "%s: appears twice, expected each plane once", field);
   if (!cJSON_IsObject(obj))
      return fail(p, "%s: expected an object with file, dtype, axes, shape and order, got %s", field, type_text(obj));
   pl->present = 1;
   if (parse_plane_file(pl, p, obj, field) < 0 || parse_plane_dtype(pl, p, obj, field, kind) < 0 ||
       parse_plane_axes(pl, p, obj, field, kind) < 0 || parse_plane_shape(pl, p, obj, field) < 0 ||
       parse_plane_layout(pl, p, obj, field) < 0)
      return -1;
   rec->info.planes_present |= SONO_PLANE_BIT(kind);
   return 0;
}

static int parse_planes(sono_recording_t *rec, const parse_t *p, const cJSON *root)
{
   char names[160];
   plane_names_text(names, sizeof names);
   const cJSON *planes = cJSON_GetObjectItemCaseSensitive(root, "planes");
   if (!planes)
      return fail(p, "planes: missing (expected an object with at least one of %s)", names);
   if (!cJSON_IsObject(planes))
      return fail(p, "planes: expected an object with at least one of %s, got %s", names, type_text(planes));
   for (const cJSON *c = planes->child; c; c = c->next) {
      const char *name = c->string ? c->string : "";
      if (strncmp(name, "x-", 2) == 0)
         continue; /* vendor plane: carried, not read */
      int kind = sono_plane_kind_from_name(name);
      if (kind < 0)
         return fail(p, "planes.%s: unknown plane name, expected one of %s, or a vendor plane named \"x-...\"", name,
                     names);
      if (parse_plane(rec, p, kind, c) < 0)
         return -1;
   }
   if (!rec->info.planes_present)
      return fail(p, "planes: no plane, expected at least one of %s (vendor \"x-\" planes are ignored)", names);
   return 0;
}

/* ---- checks across sections ---------------------------------------------- */

static int check_grid_agreement(const sono_recording_t *rec, const parse_t *p)
{
   const sono_grid_t *g = &rec->info.grid;
   for (int k = 0; k < SONO_PLANE_KIND_COUNT; ++k) {
      const rec_plane_t *pl = &rec->planes[k];
      if (!pl->present || strcmp(sono_rec_axis_name(k, 0), "z") != 0)
         continue;
      if (pl->shape[0] != g->nz)
         return fail(p, "planes.%s.shape: axis z has %u samples but grid.nz is %u, expected them equal",
                     sono_plane_kind_name(k), pl->shape[0], g->nz);
      if (pl->shape[1] != g->nx)
         return fail(p, "planes.%s.shape: axis x has %u samples but grid.nx is %u, expected them equal",
                     sono_plane_kind_name(k), pl->shape[1], g->nx);
   }
   return 0;
}

/* Planes with a frame axis longer than 1 must agree; the others are shared
 * by every frame. */
static int check_frame_counts(sono_recording_t *rec, const parse_t *p)
{
   int first = -1;
   rec->info.frame_count = 1;
   for (int k = 0; k < SONO_PLANE_KIND_COUNT; ++k) {
      const rec_plane_t *pl = &rec->planes[k];
      if (!pl->present || pl->frames <= 1)
         continue;
      if (first >= 0 && pl->frames != rec->planes[first].frames)
         return fail(p, "planes.%s.shape: axis frame has %u frames but planes.%s has %u, expected equal counts (or 1 "
                        "for a plane shared by every frame)",
                     sono_plane_kind_name(k), pl->frames, sono_plane_kind_name(first), rec->planes[first].frames);
      first = k;
      rec->info.frame_count = pl->frames;
   }
   return 0;
}

static int check_ensemble(sono_recording_t *rec, const parse_t *p)
{
   sono_acquisition_t *acq = &rec->info.acquisition;
   const rec_plane_t *iq = &rec->planes[SONO_PLANE_IQ];
   const rec_plane_t *rf = &rec->planes[SONO_PLANE_RF];
   acq->ensemble_size = iq->present ? iq->shape[2] : rf->present ? rf->shape[2] : 0;
   if (iq->present && iq->shape[2] > 1 && !rec->has_prf)
      return fail(p, "acquisition.prf_hz: missing, required because planes.iq has an ensemble of %u (expected a "
                     "positive number)",
                  iq->shape[2]);
   return 0;
}

static int parse_header(sono_recording_t *rec, const parse_t *p, cJSON *root)
{
   if (!cJSON_IsObject(root))
      return fail(p, "expected a JSON object at the top level, got %s", type_text(root));
   if (parse_identity(rec, p, root) < 0 || parse_acquisition(rec, p, root) < 0 || parse_probe(rec, p, root) < 0 ||
       parse_grid(rec, p, root) < 0 || parse_gate(rec, p, root) < 0 || parse_planes(rec, p, root) < 0 ||
       check_gate_in_grid(rec, p) < 0)
      return -1;
   cJSON *gt = cJSON_GetObjectItemCaseSensitive(root, "ground_truth");
   if (gt && !cJSON_IsObject(gt))
      return fail(p, "ground_truth: expected an object, got %s", type_text(gt));
   if (gt)
      rec->ground_truth = cJSON_DetachItemViaPointer(root, gt);
   return check_grid_agreement(rec, p) < 0 || check_frame_counts(rec, p) < 0 || check_ensemble(rec, p) < 0 ? -1 : 0;
}

/* ---- data files ----------------------------------------------------------- */

static char *join_path(const char *dir, const char *file)
{
   size_t n = strlen(dir) + strlen(file) + 2;
   char *out = malloc(n);
   if (out)
      snprintf(out, n, "%s%s%s", dir, *dir ? "/" : "", file);
   return out;
}

static char *dir_of(const char *path)
{
   const char *slash = strrchr(path, '/');
   if (!slash)
      return strdup("");
   if (slash == path)
      return strdup("/");
   return strndup(path, (size_t)(slash - path));
}

static int find_file(const sono_recording_t *rec, const struct stat *st)
{
   for (int i = 0; i < rec->file_count; ++i)
      if (rec->files[i].dev == st->st_dev && rec->files[i].ino == st->st_ino)
         return i;
   return -1;
}

/* Maps the file of plane `kind`, sharing the mapping when two planes read
 * the same file. */
static int map_plane_file(sono_recording_t *rec, const parse_t *p, int kind)
{
   rec_plane_t *pl = &rec->planes[kind];
   const char *name = sono_plane_kind_name(kind);
   char *path = join_path(rec->dir, pl->file);
   if (!path)
      return fail(p, "planes.%s.file: out of memory", name);
   int fd = open(path, O_RDONLY | O_CLOEXEC);
   if (fd < 0) {
      int e = errno;
      fail(p, "planes.%s.file: cannot open \"%s\" (at %s): %s", name, pl->file, path, strerror(e));
      free(path);
      return -1;
   }
   struct stat st;
   if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
      fail(p, "planes.%s.file: \"%s\" (at %s) is not a regular file", name, pl->file, path);
      close(fd);
      free(path);
      return -1;
   }
   int idx = find_file(rec, &st);
   if (idx >= 0) {
      close(fd);
      free(path);
      pl->file_index = idx;
      return 0;
   }
   rec_file_t *f = &rec->files[rec->file_count];
   f->path = path;
   f->plane = name;
   f->dev = st.st_dev;
   f->ino = st.st_ino;
   f->size = (size_t)st.st_size;
   if (f->size > 0) {
      void *m = mmap(NULL, f->size, PROT_READ, MAP_SHARED, fd, 0);
      if (m == MAP_FAILED) {
         int e = errno;
         close(fd);
         rec->file_count++;
         return fail(p, "planes.%s.file: cannot map \"%s\": %s", name, pl->file, strerror(e));
      }
      f->base = m;
   }
   close(fd);
   pl->file_index = rec->file_count++;
   return 0;
}

static void shape_text(const rec_plane_t *pl, char *buf, size_t size)
{
   size_t used = 0;
   buf[0] = '\0';
   for (int i = 0; i < pl->naxes; ++i) {
      int w = snprintf(buf + used, size - used, "%s%u", i ? ", " : "[", pl->file_shape[i]);
      if (w < 0 || (size_t)w >= size - used)
         return;
      used += (size_t)w;
   }
   snprintf(buf + used, size - used, "]");
}

static int check_plane_extent(sono_recording_t *rec, const parse_t *p, int kind)
{
   rec_plane_t *pl = &rec->planes[kind];
   rec_file_t *f = &rec->files[pl->file_index];
   const char *name = sono_plane_kind_name(kind);
   if (pl->offset >= f->size && f->size > 0)
      return fail(p, "planes.%s.offset_bytes: %" PRIu64 " is beyond the end of \"%s\" (%zu bytes)", name, pl->offset,
                  pl->file, f->size);
   uint64_t end = pl->offset + pl->bytes;
   if (end > f->size) {
      char shape[96];
      shape_text(pl, shape, sizeof shape);
      return fail(p, "planes.%s: file \"%s\" holds %zu bytes, but offset_bytes %" PRIu64 " + shape %s of %s needs %" PRIu64
                     " (truncated?)",
                  name, pl->file, f->size, pl->offset, shape, sono_dtype_name(pl->dtype), end);
   }
   if (end > f->end)
      f->end = end;
   pl->data = f->base + pl->offset;
   return 0;
}

/* Bytes that no plane reads mean the header and the data disagree (a wrong
 * shape or dtype would otherwise read plausible garbage). */
static int check_file_tails(const sono_recording_t *rec, const parse_t *p)
{
   for (int i = 0; i < rec->file_count; ++i) {
      const rec_file_t *f = &rec->files[i];
      if (f->end < f->size)
         return fail(p, "planes.%s.file: \"%s\" holds %zu bytes but the header describes only %" PRIu64
                        " (expected the file to end there; check shape, dtype and offset_bytes)",
                     f->plane, rec->planes[sono_plane_kind_from_name(f->plane)].file, f->size, f->end);
   }
   return 0;
}

static int map_files(sono_recording_t *rec, const parse_t *p)
{
   for (int k = 0; k < SONO_PLANE_KIND_COUNT; ++k)
      if (rec->planes[k].present && (map_plane_file(rec, p, k) < 0 || check_plane_extent(rec, p, k) < 0))
         return -1;
   return check_file_tails(rec, p);
}

/* ---- NaN / Inf scan ------------------------------------------------------- */

static int float_is_finite(const unsigned char *at)
{
   uint32_t bits;
   memcpy(&bits, at, sizeof bits);
   return (bits & 0x7f800000u) != 0x7f800000u;
}

/* Fast pass over all float words; branch-free so it vectorises. Data is
 * almost always clean, and only then is the exact per-element pass skipped. */
static uint64_t count_nonfinite_words(const unsigned char *data, uint64_t words)
{
   /* The mapping has no declared type and offsets are multiples of the
    * element size, so the words are aligned uint32 reads. Counting in 32-bit
    * lanes per block keeps the loop vectorisable. */
   const uint32_t *w = (const uint32_t *)(const void *)data;
   enum { LANES = 16 };
   uint32_t lane[LANES] = {0};
   uint64_t count = 0, i = 0;
   /* A fixed trip count lets -O2 vectorise it; lanes cannot overflow before
    * 2^32 * 16 words, so they are folded once at the end. */
   for (; i + LANES <= words; i += LANES)
      for (int k = 0; k < LANES; ++k)
         lane[k] += (w[i + (uint64_t)k] & 0x7f800000u) == 0x7f800000u;
   for (; i < words; ++i)
      count += (w[i] & 0x7f800000u) == 0x7f800000u;
   for (int k = 0; k < LANES; ++k)
      count += lane[k];
   return count;
}

static uint64_t count_nonfinite(const rec_plane_t *pl, uint64_t *first)
{
   if (count_nonfinite_words(pl->data, pl->bytes / 4) == 0)
      return 0;
   size_t esize = sono_dtype_size(pl->dtype);
   int floats = pl->dtype == SONO_DTYPE_COMPLEX64 ? 2 : 1;
   uint64_t count = 0;
   for (uint64_t e = 0; e < pl->elements; ++e) {
      const unsigned char *at = pl->data + e * esize;
      int finite = float_is_finite(at) && (floats == 1 || float_is_finite(at + 4));
      if (!finite && count++ == 0)
         *first = e;
   }
   return count;
}

static int append_warning(sono_recording_t *rec, const char *text)
{
   size_t old = rec->warnings ? strlen(rec->warnings) : 0;
   char *w = realloc(rec->warnings, old + strlen(text) + 2);
   if (!w)
      return -1;
   snprintf(w + old, strlen(text) + 2, "%s%s", old ? "\n" : "", text);
   rec->warnings = w;
   return 0;
}

static void position_text(const rec_plane_t *pl, int kind, uint64_t element, char *buf, size_t size)
{
   size_t used = 0;
   buf[0] = '\0';
   for (int i = 0; i < pl->naxes; ++i) {
      uint64_t at = (element / (uint64_t)pl->file_stride[i]) % pl->file_shape[i];
      int w = snprintf(buf + used, size - used, "%s%s %" PRIu64, i ? ", " : "", sono_rec_axis_name(kind, pl->slot[i]),
                       at);
      if (w < 0 || (size_t)w >= size - used)
         return;
      used += (size_t)w;
   }
}

static int scan_nonfinite(sono_recording_t *rec, const parse_t *p)
{
   for (int k = 0; k < SONO_PLANE_KIND_COUNT; ++k) {
      rec_plane_t *pl = &rec->planes[k];
      if (!pl->present || (pl->dtype != SONO_DTYPE_FLOAT32 && pl->dtype != SONO_DTYPE_COMPLEX64))
         continue;
      uint64_t first = 0;
      pl->nonfinite = count_nonfinite(pl, &first);
      rec->info.nonfinite_count += pl->nonfinite;
      if (!pl->nonfinite)
         continue;
      char where[160], text[512];
      position_text(pl, k, first, where, sizeof where);
      snprintf(text, sizeof text, "%s: planes.%s: %" PRIu64 " non-finite values (NaN or Inf) in \"%s\", first at %s",
               p->path, sono_plane_kind_name(k), pl->nonfinite, pl->file, where);
      if (append_warning(rec, text) < 0)
         return fail(p, "planes.%s: out of memory", sono_plane_kind_name(k));
   }
   return 0;
}

/* ---- public API ----------------------------------------------------------- */

sono_recording_t *sono_recording_open(const char *header_path, sono_error_t *err)
{
   if (!header_path) {
      sono_error_set(err, "sono_recording_open: header_path is NULL, expected a path to a recording header");
      return NULL;
   }
   parse_t p = {header_path, err};
   sono_recording_t *rec = calloc(1, sizeof *rec);
   if (rec) {
      rec->path = strdup(header_path);
      rec->dir = dir_of(header_path);
   }
   if (!rec || !rec->path || !rec->dir) {
      fail(&p, "out of memory");
      sono_recording_close(rec);
      return NULL;
   }
   char *text = read_header_text(&p);
   cJSON *root = text ? parse_json(&p, text) : NULL;
   free(text);
   int ok = root && parse_header(rec, &p, root) == 0 && map_files(rec, &p) == 0 && scan_nonfinite(rec, &p) == 0;
   cJSON_Delete(root);
   if (!ok) {
      sono_recording_close(rec);
      return NULL;
   }
   return rec;
}

void sono_recording_close(sono_recording_t *rec)
{
   if (!rec)
      return;
   for (int i = 0; i < rec->file_count; ++i) {
      if (rec->files[i].base)
         munmap(rec->files[i].base, rec->files[i].size);
      free(rec->files[i].path);
   }
   for (int k = 0; k < SONO_PLANE_KIND_COUNT; ++k)
      free(rec->planes[k].file);
   cJSON_Delete(rec->ground_truth);
   free(rec->warnings);
   free(rec->dir);
   free(rec->path);
   free(rec);
}

const sono_recording_info_t *sono_recording_get_info(const sono_recording_t *rec) { return rec ? &rec->info : NULL; }

const char *sono_recording_path(const sono_recording_t *rec) { return rec ? rec->path : NULL; }

const struct cJSON *sono_recording_ground_truth(const sono_recording_t *rec)
{
   return rec ? rec->ground_truth : NULL;
}

const char *sono_recording_warnings(const sono_recording_t *rec)
{
   return rec && rec->warnings ? rec->warnings : "";
}

int sono_recording_frame(const sono_recording_t *rec, uint32_t index, sono_plane_t *planes, sono_error_t *err)
{
   if (!rec || !planes)
      return sono_error_set(err, "sono_recording_frame: %s is NULL", rec ? "planes" : "rec");
   if (index >= rec->info.frame_count)
      return sono_error_set(err, "%s: frame %u: out of range, expected 0..%u", rec->path, index,
                            rec->info.frame_count - 1);
   int n = 0;
   for (int k = 0; k < SONO_PLANE_KIND_COUNT; ++k) {
      const rec_plane_t *pl = &rec->planes[k];
      if (!pl->present)
         continue;
      uint64_t step = pl->frames > 1 ? (uint64_t)index * (uint64_t)pl->frame_stride : 0;
      sono_plane_t *out = &planes[n++];
      memset(out, 0, sizeof *out);
      out->struct_size = sizeof *out;
      out->kind = k;
      out->dtype = pl->dtype;
      for (int s = 0; s < 3; ++s) {
         out->shape[s] = pl->shape[s];
         out->stride[s] = pl->stride[s];
      }
      out->data = pl->data + step * sono_dtype_size(pl->dtype);
   }
   return n;
}
