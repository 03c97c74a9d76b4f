/* Recording writer: appends frames to temporary data files, then commits by
 * renaming the data files and, last, the header into place. */
#include <sono/sdk/recording.h>
#include <sono/sdk/names.h>

#include "recording_layout.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "recordings are little-endian and are written without conversion"
#endif

typedef struct writer_plane {
   int used;
   sono_dtype_t dtype;
   uint32_t shape[3];
   char *final_path;
   char *tmp_path;
   FILE *file;
} writer_plane_t;

struct sono_recording_writer {
   char *header_path;
   char *header_tmp;
   char *dir;                    /* header folder, "." for the cwd */
   char *stem;                   /* header file name without ".json" */
   sono_recording_info_t info;
   cJSON *ground_truth;
   uint32_t frames;
   int failed;                   /* a write failed: only abort remains */
   writer_plane_t planes[SONO_PLANE_KIND_COUNT];
   unsigned char *row;           /* gather buffer for strided rows */
   size_t row_size;
};

__attribute__((format(printf, 3, 4))) static int wfail(const char *path, sono_error_t *err, const char *fmt, ...)
{
   char text[SONO_ERROR_MESSAGE_SIZE];
   va_list ap;
   va_start(ap, fmt);
   vsnprintf(text, sizeof text, fmt, ap);
   va_end(ap);
   return sono_error_set(err, "%s: %s", path, text);
}

/* ---- paths and temporary files ------------------------------------------- */

static char *str_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *str_printf(const char *fmt, ...)
{
   va_list ap;
   va_start(ap, fmt);
   int n = vsnprintf(NULL, 0, fmt, ap);
   va_end(ap);
   char *out = n >= 0 ? malloc((size_t)n + 1) : NULL;
   if (!out)
      return NULL;
   va_start(ap, fmt);
   vsnprintf(out, (size_t)n + 1, fmt, ap);
   va_end(ap);
   return out;
}

static int split_header_path(sono_recording_writer_t *w, const char *path)
{
   const char *slash = strrchr(path, '/');
   const char *base = slash ? slash + 1 : path;
   size_t len = strlen(base);
   w->dir = slash ? (slash == path ? strdup("/") : strndup(path, (size_t)(slash - path))) : strdup(".");
   w->stem = strndup(base, len - 5);
   return w->dir && w->stem ? 0 : -1;
}

/* A temporary beside the final file (same filesystem, so rename is atomic);
 * hidden so a folder listing does not show it as a recording. */
static char *make_temp(const char *dir, const char *name, FILE **out)
{
   char *tmp = str_printf("%s/.%s.tmp-XXXXXX", dir, name);
   if (!tmp)
      return NULL;
   int fd = mkostemp(tmp, O_CLOEXEC);
   /* mkostemp creates 0600; a recording is data others read. */
   FILE *f = fd >= 0 && fchmod(fd, 0644) == 0 ? fdopen(fd, "wb") : NULL;
   if (!f) {
      int e = errno;
      if (fd >= 0) {
         close(fd);
         unlink(tmp);
      }
      free(tmp);
      errno = e;
      return NULL;
   }
   *out = f;
   return tmp;
}

/* ---- metadata checks: never write what the reader would refuse ----------- */

static int check_number(const char *path, sono_error_t *err, const char *field, double v, int positive)
{
   if (isfinite(v) && (positive ? v > 0 : v >= 0))
      return 0;
   return wfail(path, err, "%s: expected a %s number, got %g (the reader would refuse it)", field,
                positive ? "positive" : "non-negative", v);
}

static int check_info(const char *path, const sono_recording_info_t *info, sono_error_t *err)
{
   const sono_acquisition_t *a = &info->acquisition;
   const sono_grid_t *g = &info->grid;
   if (check_number(path, err, "acquisition.center_frequency_hz", a->center_frequency_hz, 1) ||
       check_number(path, err, "acquisition.sound_speed_m_s", a->sound_speed_m_s, 1) ||
       check_number(path, err, "acquisition.demodulation_frequency_hz", a->demodulation_frequency_hz, 0) ||
       check_number(path, err, "acquisition.prf_hz", a->prf_hz, 0) ||
       check_number(path, err, "acquisition.sampling_frequency_hz", a->sampling_frequency_hz, 0) ||
       check_number(path, err, "acquisition.frame_rate_hz", a->frame_rate_hz, 0) ||
       check_number(path, err, "probe.pitch_m", a->probe_pitch_m, 0) ||
       check_number(path, err, "probe.radius_m", a->probe_radius_m, 0) ||
       check_number(path, err, "grid.dx_m", g->dx_m, 1) || check_number(path, err, "grid.dz_m", g->dz_m, 1))
      return -1;
   if (!isfinite(a->steering_angle_rad))
      return wfail(path, err, "acquisition.steering_angle_rad: expected a finite number, got %g", a->steering_angle_rad);
   if (!isfinite(g->x0_m) || !isfinite(g->z0_m))
      return wfail(path, err, "grid.%s: expected a finite number, got %g", isfinite(g->x0_m) ? "z0_m" : "x0_m",
                   isfinite(g->x0_m) ? g->z0_m : g->x0_m);
   if (g->nx == 0 || g->nz == 0)
      return wfail(path, err, "grid.%s: expected a positive integer, got 0", g->nx ? "nz" : "nx");
   if (strnlen(a->probe_name, sizeof a->probe_name) == sizeof a->probe_name)
      return wfail(path, err, "probe.name: not NUL-terminated within %zu bytes", sizeof a->probe_name);
   if (strnlen(info->description, sizeof info->description) == sizeof info->description)
      return wfail(path, err, "description: not NUL-terminated within %zu bytes", sizeof info->description);
   char why[160];
   sono_wall_spec_t spec = {SONO_WALL_NONE, 0, 0.0};
   if (strnlen(info->wall_filter, sizeof info->wall_filter) == sizeof info->wall_filter)
      return wfail(path, err, "acquisition.wall_filter: not NUL-terminated within %zu bytes", sizeof info->wall_filter);
   if (info->wall_filter[0] && sono_wall_spec_parse(info->wall_filter, &spec, why, sizeof why) < 0)
      return wfail(path, err, "acquisition.wall_filter: %s", why);
   if (strcmp(sono_rec_probe_geometry_name(a->probe_geometry), "unknown") == 0)
      return wfail(path, err, "probe.geometry: unknown value %d, expected SONO_PROBE_LINEAR, _CONVEX or _PHASED",
                   (int)a->probe_geometry);
   return 0;
}

/* ---- open / abort --------------------------------------------------------- */

static void writer_free(sono_recording_writer_t *w, int remove_temps)
{
   if (!w)
      return;
   for (int k = 0; k < SONO_PLANE_KIND_COUNT; ++k) {
      writer_plane_t *pl = &w->planes[k];
      if (pl->file)
         fclose(pl->file);
      if (remove_temps && pl->tmp_path)
         unlink(pl->tmp_path);
      free(pl->tmp_path);
      free(pl->final_path);
   }
   if (remove_temps && w->header_tmp)
      unlink(w->header_tmp);
   cJSON_Delete(w->ground_truth);
   free(w->header_tmp);
   free(w->header_path);
   free(w->dir);
   free(w->stem);
   free(w->row);
   free(w);
}

sono_recording_writer_t *sono_recording_writer_open(const char *header_path, const sono_recording_info_t *info,
                                                    sono_error_t *err)
{
   if (!header_path || !info) {
      sono_error_set(err, "sono_recording_writer_open: %s is NULL", header_path ? "info" : "header_path");
      return NULL;
   }
   size_t len = strlen(header_path);
   const char *base = strrchr(header_path, '/');
   base = base ? base + 1 : header_path;
   if (len < 5 || strcmp(header_path + len - 5, ".json") != 0 || strlen(base) <= 5) {
      wfail(header_path, err, "header path: expected a file name ending in \".json\"");
      return NULL;
   }
   if (check_info(header_path, info, err) < 0)
      return NULL;
   sono_recording_writer_t *w = calloc(1, sizeof *w);
   if (!w || !(w->header_path = strdup(header_path)) || split_header_path(w, header_path) < 0) {
      wfail(header_path, err, "out of memory");
      writer_free(w, 1);
      return NULL;
   }
   w->info = *info;
   /* The header's temporary is created now so that an unwritable folder is
    * reported before any frame is produced. */
   FILE *f = NULL;
   w->header_tmp = make_temp(w->dir, base, &f);
   if (!w->header_tmp) {
      wfail(header_path, err, "cannot create a temporary file in %s: %s", w->dir, strerror(errno));
      writer_free(w, 1);
      return NULL;
   }
   fclose(f);
   return w;
}

void sono_recording_writer_abort(sono_recording_writer_t *w) { writer_free(w, 1); }

/* ---- frames ---------------------------------------------------------------- */

static int check_plane(const sono_recording_writer_t *w, const sono_plane_t *pl, uint32_t i, uint32_t seen,
                       sono_error_t *err)
{
   const char *path = w->header_path;
   if (pl->kind < 0 || pl->kind >= SONO_PLANE_KIND_COUNT)
      return wfail(path, err, "frame %u: planes[%u]: unknown plane kind %d", w->frames, i, (int)pl->kind);
   const char *name = sono_plane_kind_name(pl->kind);
   if (seen & SONO_PLANE_BIT(pl->kind))
      return wfail(path, err, "frame %u: planes[%u] (%s): kind given twice, expected each kind once", w->frames, i,
                   name);
   char allowed[96];
   sono_rec_dtypes_text(pl->kind, allowed, sizeof allowed);
   if (!sono_rec_dtype_allowed(pl->kind, pl->dtype))
      return wfail(path, err, "frame %u: planes[%u] (%s): dtype %s, expected %s", w->frames, i, name,
                   sono_dtype_name(pl->dtype), allowed);
   if (!pl->data)
      return wfail(path, err, "frame %u: planes[%u] (%s): data is NULL", w->frames, i, name);
   for (int a = 0; a < 3; ++a)
      if (pl->shape[a] == 0)
         return wfail(path, err, "frame %u: planes[%u] (%s): shape[%d] is 0, expected a positive length", w->frames,
                      i, name, a);
   if (!sono_rec_axis_name(pl->kind, 2) && pl->shape[2] != 1)
      return wfail(path, err, "frame %u: planes[%u] (%s): shape[2] is %u, expected 1 (a %s plane has axes %s, %s)",
                   w->frames, i, name, pl->shape[2], name, sono_rec_axis_name(pl->kind, 0),
                   sono_rec_axis_name(pl->kind, 1));
   if (strcmp(sono_rec_axis_name(pl->kind, 0), "z") == 0 &&
       (pl->shape[0] != w->info.grid.nz || pl->shape[1] != w->info.grid.nx))
      return wfail(path, err, "frame %u: planes[%u] (%s): shape %u x %u (z x x), expected grid.nz x grid.nx = %u x %u",
                   w->frames, i, name, pl->shape[0], pl->shape[1], w->info.grid.nz, w->info.grid.nx);
   if (pl->kind == SONO_PLANE_IQ && pl->shape[2] > 1 && !(w->info.acquisition.prf_hz > 0))
      return wfail(path, err, "acquisition.prf_hz: 0, but the iq plane has an ensemble of %u (expected a positive PRF)",
                   pl->shape[2]);
   return 0;
}

static int check_like_first(const sono_recording_writer_t *w, const sono_plane_t *pl, uint32_t i, sono_error_t *err)
{
   const writer_plane_t *first = &w->planes[pl->kind];
   const char *name = sono_plane_kind_name(pl->kind);
   if (!first->used)
      return wfail(w->header_path, err, "frame %u: planes[%u] (%s): not in frame 0, expected the same planes in every "
                                        "frame",
                   w->frames, i, name);
   if (first->dtype != pl->dtype || memcmp(first->shape, pl->shape, sizeof first->shape) != 0)
      return wfail(w->header_path, err,
                   "frame %u: planes[%u] (%s): %s [%u, %u, %u], expected %s [%u, %u, %u] as in frame 0", w->frames, i,
                   name, sono_dtype_name(pl->dtype), pl->shape[0], pl->shape[1], pl->shape[2],
                   sono_dtype_name(first->dtype), first->shape[0], first->shape[1], first->shape[2]);
   return 0;
}

static int check_frame(const sono_recording_writer_t *w, const sono_plane_t *planes, uint32_t count, sono_error_t *err)
{
   uint32_t seen = 0;
   for (uint32_t i = 0; i < count; ++i) {
      if (check_plane(w, &planes[i], i, seen, err) < 0 || (w->frames > 0 && check_like_first(w, &planes[i], i, err) < 0))
         return -1;
      seen |= SONO_PLANE_BIT(planes[i].kind);
   }
   for (int k = 0; w->frames > 0 && k < SONO_PLANE_KIND_COUNT; ++k)
      if (w->planes[k].used && !(seen & SONO_PLANE_BIT(k)))
         return wfail(w->header_path, err, "frame %u: plane %s missing, expected the same planes as frame 0", w->frames,
                      sono_plane_kind_name(k));
   return 0;
}

/* First frame: fixes the plane set, creates the temporaries and the gather
 * buffer, so later frames allocate nothing. */
static int start_planes(sono_recording_writer_t *w, const sono_plane_t *planes, uint32_t count, sono_error_t *err)
{
   size_t row = 0;
   for (uint32_t i = 0; i < count; ++i) {
      writer_plane_t *pl = &w->planes[planes[i].kind];
      const char *name = sono_plane_kind_name(planes[i].kind);
      pl->used = 1;
      pl->dtype = planes[i].dtype;
      memcpy(pl->shape, planes[i].shape, sizeof pl->shape);
      char *file = str_printf("%s.%s.bin", w->stem, name);
      pl->final_path = file ? str_printf("%s/%s", w->dir, file) : NULL;
      pl->tmp_path = file ? make_temp(w->dir, file, &pl->file) : NULL;
      free(file);
      if (!pl->tmp_path || !pl->final_path)
         return wfail(w->header_path, err, "planes.%s: cannot create a temporary file in %s: %s", name, w->dir,
                      strerror(errno));
      size_t need = (size_t)pl->shape[0] * sono_dtype_size(pl->dtype);
      if (need > row)
         row = need;
   }
   w->row = malloc(row);
   w->row_size = row;
   return w->row ? 0 : wfail(w->header_path, err, "out of memory for a %zu-byte row buffer", row);
}

/* Writes one plane in order "F" (axis 0 fastest), reading through its
 * strides; contiguous rows are written directly. */
static int write_plane(sono_recording_writer_t *w, const sono_plane_t *pl)
{
   writer_plane_t *wp = &w->planes[pl->kind];
   size_t esize = sono_dtype_size(pl->dtype);
   const unsigned char *base = pl->data;
   size_t n = (size_t)pl->shape[0] * pl->shape[1] * pl->shape[2];
   /* The stride of a length-1 axis is never used (the ABI sets it to 0). */
   if ((pl->shape[0] == 1 || pl->stride[0] == 1) && (pl->shape[1] == 1 || pl->stride[1] == (int64_t)pl->shape[0]) &&
       (pl->shape[2] == 1 || pl->stride[2] == (int64_t)pl->shape[0] * pl->shape[1]))
      return fwrite(base, esize, n, wp->file) == n ? 0 : -1; /* already in file layout */
   for (uint32_t i2 = 0; i2 < pl->shape[2]; ++i2) {
      for (uint32_t i1 = 0; i1 < pl->shape[1]; ++i1) {
         const unsigned char *src = base + ((int64_t)i1 * pl->stride[1] + (int64_t)i2 * pl->stride[2]) * (int64_t)esize;
         if (pl->stride[0] != 1 || pl->shape[0] == 1) {
            for (uint32_t i0 = 0; i0 < pl->shape[0]; ++i0)
               memcpy(w->row + (size_t)i0 * esize, src + (int64_t)i0 * pl->stride[0] * (int64_t)esize, esize);
            src = w->row;
         }
         if (fwrite(src, esize, pl->shape[0], wp->file) != pl->shape[0])
            return -1;
      }
   }
   return 0;
}

int sono_recording_writer_add_frame(sono_recording_writer_t *w, const sono_plane_t *planes, uint32_t plane_count,
                                    sono_error_t *err)
{
   if (!w || (!planes && plane_count))
      return sono_error_set(err, "sono_recording_writer_add_frame: %s is NULL", w ? "planes" : "w");
   if (w->failed)
      return wfail(w->header_path, err, "frame %u: an earlier write failed; abort the writer", w->frames);
   if (plane_count == 0)
      return wfail(w->header_path, err, "frame %u: no plane, expected at least one", w->frames);
   if (check_frame(w, planes, plane_count, err) < 0)
      return -1;
   if (w->frames == 0 && start_planes(w, planes, plane_count, err) < 0) {
      w->failed = 1;
      return -1;
   }
   for (uint32_t i = 0; i < plane_count; ++i) {
      if (write_plane(w, &planes[i]) < 0) {
         w->failed = 1;
         return wfail(w->header_path, err, "frame %u: planes.%s: write to %s failed: %s", w->frames,
                      sono_plane_kind_name(planes[i].kind), w->planes[planes[i].kind].tmp_path, strerror(errno));
      }
   }
   w->frames++;
   return 0;
}

int sono_recording_writer_set_ground_truth(sono_recording_writer_t *w, const struct cJSON *ground_truth,
                                           sono_error_t *err)
{
   if (!w || !ground_truth)
      return sono_error_set(err, "sono_recording_writer_set_ground_truth: %s is NULL", w ? "ground_truth" : "w");
   if (!cJSON_IsObject(ground_truth))
      return wfail(w->header_path, err, "ground_truth: expected an object");
   cJSON *copy = cJSON_Duplicate(ground_truth, 1);
   if (!copy)
      return wfail(w->header_path, err, "ground_truth: out of memory");
   cJSON_Delete(w->ground_truth);
   w->ground_truth = copy;
   return 0;
}

/* ---- header ---------------------------------------------------------------- */

static void add_positive(cJSON *obj, const char *name, double v)
{
   if (v > 0)
      cJSON_AddNumberToObject(obj, name, v);
}

cJSON *sono_recording_acquisition_json(const sono_acquisition_t *a)
{
   cJSON *o = cJSON_CreateObject();
   cJSON_AddNumberToObject(o, "center_frequency_hz", a->center_frequency_hz);
   cJSON_AddNumberToObject(o, "demodulation_frequency_hz",
                           a->demodulation_frequency_hz > 0 ? a->demodulation_frequency_hz : a->center_frequency_hz);
   cJSON_AddNumberToObject(o, "sound_speed_m_s", a->sound_speed_m_s);
   add_positive(o, "prf_hz", a->prf_hz);
   cJSON_AddNumberToObject(o, "steering_angle_rad", a->steering_angle_rad);
   add_positive(o, "sampling_frequency_hz", a->sampling_frequency_hz);
   add_positive(o, "frame_rate_hz", a->frame_rate_hz);
   return o;
}

static cJSON *probe_json(const sono_acquisition_t *a)
{
   cJSON *o = cJSON_CreateObject();
   cJSON_AddStringToObject(o, "name", a->probe_name);
   cJSON_AddNumberToObject(o, "elements", a->probe_elements);
   cJSON_AddNumberToObject(o, "pitch_m", a->probe_pitch_m);
   cJSON_AddStringToObject(o, "geometry", sono_rec_probe_geometry_name(a->probe_geometry));
   add_positive(o, "radius_m", a->probe_radius_m);
   return o;
}

static cJSON *gate_json(const sono_gate_t *g)
{
   cJSON *o = cJSON_CreateObject();
   cJSON_AddNumberToObject(o, "x_m", g->x_m);
   cJSON_AddNumberToObject(o, "z_m", g->z_m);
   cJSON_AddNumberToObject(o, "length_m", g->length_m);
   cJSON_AddNumberToObject(o, "angle_correction_rad", g->angle_correction_rad);
   return o;
}

cJSON *sono_recording_grid_json(const sono_grid_t *g)
{
   cJSON *o = cJSON_CreateObject();
   cJSON_AddNumberToObject(o, "nx", g->nx);
   cJSON_AddNumberToObject(o, "nz", g->nz);
   cJSON_AddNumberToObject(o, "dx_m", g->dx_m);
   cJSON_AddNumberToObject(o, "dz_m", g->dz_m);
   cJSON_AddNumberToObject(o, "x0_m", g->x0_m);
   cJSON_AddNumberToObject(o, "z0_m", g->z0_m);
   return o;
}

static cJSON *plane_json(const sono_recording_writer_t *w, int kind)
{
   const writer_plane_t *pl = &w->planes[kind];
   cJSON *o = cJSON_CreateObject();
   const char *slash = strrchr(pl->final_path, '/');
   cJSON_AddStringToObject(o, "file", slash ? slash + 1 : pl->final_path);
   cJSON_AddStringToObject(o, "dtype", sono_dtype_name(pl->dtype));
   cJSON *axes = cJSON_AddArrayToObject(o, "axes");
   cJSON *shape = cJSON_AddArrayToObject(o, "shape");
   for (int s = 0; s < SONO_REC_MAX_AXES; ++s) {
      const char *axis = sono_rec_axis_name(kind, s);
      if (!axis)
         continue;
      cJSON_AddItemToArray(axes, cJSON_CreateString(axis));
      cJSON_AddItemToArray(shape, cJSON_CreateNumber(s == SONO_REC_FRAME_SLOT ? w->frames : pl->shape[s]));
   }
   cJSON_AddStringToObject(o, "order", "F");
   cJSON_AddNumberToObject(o, "offset_bytes", 0);
   return o;
}

static cJSON *header_json(sono_recording_writer_t *w)
{
   const sono_acquisition_t *a = &w->info.acquisition;
   cJSON *root = cJSON_CreateObject();
   cJSON_AddStringToObject(root, "format", "sono.recording");
   cJSON_AddNumberToObject(root, "version", 1);
   if (w->info.description[0])
      cJSON_AddStringToObject(root, "description", w->info.description);
   cJSON *acq = sono_recording_acquisition_json(a);
   if (w->info.wall_filter[0])
      cJSON_AddStringToObject(acq, "wall_filter", w->info.wall_filter);
   cJSON_AddItemToObject(root, "acquisition", acq);
   if (a->probe_name[0] || a->probe_elements || a->probe_pitch_m > 0)
      cJSON_AddItemToObject(root, "probe", probe_json(a));
   if (w->info.gate.present)
      cJSON_AddItemToObject(root, "gate", gate_json(&w->info.gate));
   cJSON_AddItemToObject(root, "grid", sono_recording_grid_json(&w->info.grid));
   cJSON *planes = cJSON_AddObjectToObject(root, "planes");
   for (int k = 0; k < SONO_PLANE_KIND_COUNT; ++k)
      if (w->planes[k].used)
         cJSON_AddItemToObject(planes, sono_plane_kind_name(k), plane_json(w, k));
   if (w->ground_truth) {
      cJSON_AddItemToObject(root, "ground_truth", w->ground_truth);
      w->ground_truth = NULL; /* now owned by root */
   }
   return root;
}

/* ---- commit ---------------------------------------------------------------- */

static int flush_and_close(FILE **f)
{
   int ok = fflush(*f) == 0 && fsync(fileno(*f)) == 0;
   ok = fclose(*f) == 0 && ok;
   *f = NULL;
   return ok ? 0 : -1;
}

static int write_header_file(sono_recording_writer_t *w, sono_error_t *err)
{
   cJSON *root = header_json(w);
   char *text = root ? cJSON_Print(root) : NULL;
   cJSON_Delete(root);
   if (!text)
      return wfail(w->header_path, err, "out of memory while formatting the header");
   FILE *f = fopen(w->header_tmp, "wb");
   int ok = f && fputs(text, f) >= 0 && fputc('\n', f) != EOF;
   int e = errno;
   ok = f && flush_and_close(&f) == 0 && ok;
   free(text);
   return ok ? 0 : wfail(w->header_path, err, "cannot write %s: %s", w->header_tmp, strerror(e ? e : errno));
}

static void sync_dir(const char *dir)
{
   int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
   if (fd >= 0) {
      fsync(fd); /* best effort: some filesystems refuse fsync on folders */
      close(fd);
   }
}

static int rename_into_place(sono_recording_writer_t *w, sono_error_t *err)
{
   for (int k = 0; k < SONO_PLANE_KIND_COUNT; ++k) {
      writer_plane_t *pl = &w->planes[k];
      if (!pl->used)
         continue;
      if (rename(pl->tmp_path, pl->final_path) != 0)
         return wfail(w->header_path, err, "planes.%s: cannot rename %s to %s: %s", sono_plane_kind_name(k),
                      pl->tmp_path, pl->final_path, strerror(errno));
      free(pl->tmp_path);
      pl->tmp_path = NULL;
   }
   sync_dir(w->dir);
   /* The header goes last: until it exists under its name, no reader sees
    * the recording. */
   if (rename(w->header_tmp, w->header_path) != 0)
      return wfail(w->header_path, err, "cannot rename %s into place: %s", w->header_tmp, strerror(errno));
   free(w->header_tmp);
   w->header_tmp = NULL;
   sync_dir(w->dir);
   return 0;
}

int sono_recording_writer_commit(sono_recording_writer_t *w, sono_error_t *err)
{
   if (!w)
      return sono_error_set(err, "sono_recording_writer_commit: w is NULL");
   int rc = 0;
   if (w->failed)
      rc = wfail(w->header_path, err, "not committed: an earlier write failed");
   else if (w->frames == 0)
      rc = wfail(w->header_path, err, "not committed: no frame was added, expected at least one");
   for (int k = 0; rc == 0 && k < SONO_PLANE_KIND_COUNT; ++k)
      if (w->planes[k].file && flush_and_close(&w->planes[k].file) < 0)
         rc = wfail(w->header_path, err, "planes.%s: cannot write %s: %s", sono_plane_kind_name(k),
                    w->planes[k].tmp_path, strerror(errno));
   if (rc == 0)
      rc = write_header_file(w, err);
   if (rc == 0)
      rc = rename_into_place(w, err);
   writer_free(w, 1);
   return rc;
}
