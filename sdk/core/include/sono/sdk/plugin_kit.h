/* libsono_sdk: helpers for plugin authors (docs/plugin-guide.md).
 *
 *  - event initialisers that set struct_size and type correctly;
 *  - typed plane accessors that honour the frame's strides;
 *  - a table-driven implementation of sono.params/1 (range and type checks);
 *  - a framed, checksummed state blob for sono.state/1 that tolerates streams
 *    delivering a few bytes at a time and refuses foreign or truncated bytes;
 *  - SONO_KIT_FREE(): free a buffer and clear its pointer (deactivate may run twice);
 *  - sono_kit_extension(): get_extension over the params and state extensions;
 *  - SONO_KIT_DEFINE_ENTRY(): sono_entry and the factory of a one-plugin binary.
 *
 * Everything here is linked statically into the plugin; nothing allocates
 * except where stated. Threading: functions are reentrant; the plugin owns
 * the storage it passes in. */
#ifndef SONO_SDK_PLUGIN_KIT_H
#define SONO_SDK_PLUGIN_KIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sono/sono.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- events ------------------------------------------------------------ */

static inline void sono_kit_finding_init(sono_event_finding_t *f, const char *kind, sono_finding_status_t status)
{
   memset(f, 0, sizeof *f);
   f->header.struct_size = sizeof *f;
   f->header.type = SONO_EVENT_FINDING;
   f->kind = kind;
   f->status = status;
}

static inline void sono_kit_measurement_init(sono_event_measurement_t *m, const char *name, double value,
                                             const char *unit, sono_point_t at)
{
   memset(m, 0, sizeof *m);
   m->header.struct_size = sizeof *m;
   m->header.type = SONO_EVENT_MEASUREMENT;
   m->name = name;
   m->value = value;
   m->unit = unit;
   m->at = at;
}

static inline void sono_kit_overlay_init(sono_event_overlay_t *o, sono_shape_t shape, const char *role,
                                         const sono_point_t *points, uint32_t count)
{
   memset(o, 0, sizeof *o);
   o->header.struct_size = sizeof *o;
   o->header.type = SONO_EVENT_OVERLAY;
   o->shape = shape;
   o->role = role;
   o->points = points;
   o->point_count = count;
}

static inline bool sono_kit_push(const sono_output_t *out, const void *event)
{
   return out->push(out, (const sono_event_header_t *)event);
}

/* ---- planes ------------------------------------------------------------ */

/* Element (i0, i1, i2) of a plane of the given C type. */
#define SONO_KIT_AT(type, plane, i0, i1, i2)                                                          \
   (((const type *)(plane)->data)[(int64_t)(i0) * (plane)->stride[0] + (int64_t)(i1) * (plane)->stride[1] + \
                                  (int64_t)(i2) * (plane)->stride[2]])

/* Grid position of pixel (iz, ix), metres. */
static inline sono_point_t sono_kit_pixel_point(const sono_grid_t *g, double iz, double ix)
{
   sono_point_t p = {g->x0_m + ix * g->dx_m, g->z0_m + iz * g->dz_m};
   return p;
}

/* ---- parameters (sono.params/1) ----------------------------------------- */

typedef struct sono_kit_param {
   const char *key;
   const char *name;
   const char *unit;
   sono_param_type_t type;
   double min_value, max_value, default_value;
   const char *const *choices; /* ENUM: choice labels, count = max_value + 1 */
} sono_kit_param_t;

/* Writes each default into values[0..count-1]. */
void sono_kit_params_defaults(const sono_kit_param_t *defs, uint32_t count, double *values);
bool sono_kit_params_info(const sono_kit_param_t *defs, uint32_t count, uint32_t index, sono_param_info_t *info);
/* Index of `key`, or -1. */
int sono_kit_params_find(const sono_kit_param_t *defs, uint32_t count, const char *key);
/* Validates and stores; SONO_ERROR_INVALID when out of range, non-finite,
 * or not whole for INT/BOOL/ENUM. */
sono_status_t sono_kit_params_set(const sono_kit_param_t *defs, uint32_t count, double *values, const char *key,
                                  double value);
bool sono_kit_params_choice_label(const sono_kit_param_t *defs, uint32_t count, uint32_t index, uint32_t choice,
                                  char *buf, uint32_t size);

/* A set hook that does nothing (for SONO_KIT_DEFINE_PARAMS). */
static inline void sono_kit_params_no_hook(const sono_plugin_t *p, int index, double before)
{
   (void)p;
   (void)index;
   (void)before;
}

/* Defines `static const sono_plugin_params_t name`, the whole sono.params/1
 * extension over the table `defs` of `count` entries. `values_of` is a
 * function `double *values_of(const sono_plugin_t *p)` giving the instance's
 * value array. SONO_KIT_DEFINE_PARAMS_HOOK also calls
 * `void on_set(const sono_plugin_t *p, int index, double before)` after each
 * accepted change (e.g. to start an action when a switch turns on). */
#define SONO_KIT_DEFINE_PARAMS_HOOK(name, defs, count, values_of, on_set)                                  \
   static uint32_t name##_count(const sono_plugin_t *p)                                                  \
   {                                                                                                      \
      (void)p;                                                                                            \
      return (count);                                                                                     \
   }                                                                                                      \
   static bool name##_info(const sono_plugin_t *p, uint32_t i, sono_param_info_t *info)                  \
   {                                                                                                      \
      (void)p;                                                                                            \
      return sono_kit_params_info((defs), (count), i, info);                                              \
   }                                                                                                      \
   static bool name##_get(const sono_plugin_t *p, const char *key, double *v)                             \
   {                                                                                                      \
      int i = sono_kit_params_find((defs), (count), key);                                                 \
      if (i < 0)                                                                                          \
         return false;                                                                                    \
      *v = values_of(p)[i];                                                                               \
      return true;                                                                                        \
   }                                                                                                      \
   static sono_status_t name##_set(const sono_plugin_t *p, const char *key, double v)                    \
   {                                                                                                      \
      double *values = values_of(p);                                                                      \
      int i = sono_kit_params_find((defs), (count), key);                                                 \
      double before = i >= 0 ? values[i] : 0.0;                                                           \
      sono_status_t st = sono_kit_params_set((defs), (count), values, key, v);                            \
      if (st == SONO_OK)                                                                                  \
         on_set(p, i, before);                                                                            \
      return st;                                                                                          \
   }                                                                                                      \
   static bool name##_choice(const sono_plugin_t *p, uint32_t i, uint32_t c, char *buf, uint32_t n)       \
   {                                                                                                      \
      (void)p;                                                                                            \
      return sono_kit_params_choice_label((defs), (count), i, c, buf, n);                                 \
   }                                                                                                      \
   static const sono_plugin_params_t name = {name##_count, name##_info, name##_get, name##_set,           \
                                             name##_choice}

#define SONO_KIT_DEFINE_PARAMS(name, defs, count, values_of)                                               \
   SONO_KIT_DEFINE_PARAMS_HOOK(name, defs, count, values_of, sono_kit_params_no_hook)

/* ---- state (sono.state/1) ----------------------------------------------- */

/* Loops until `size` bytes are read; false on error or early end. */
bool sono_kit_read_exact(const sono_istream_t *s, void *buf, uint64_t size);
/* Loops until `size` bytes are written; false on error. */
bool sono_kit_write_all(const sono_ostream_t *s, const void *buf, uint64_t size);

/* A state blob: "SONOSTAT", 4-byte plugin magic, uint32 version,
 * uint64 payload length, payload, uint64 FNV-1a checksum (little-endian). */
bool sono_kit_state_save(const sono_ostream_t *s, uint32_t magic, uint32_t version, const void *payload,
                         uint64_t size);
/* Reads a blob into `payload` (capacity `cap`). Refuses a wrong magic or
 * version, a length above `cap`, a truncated stream or a bad checksum.
 * On success *size is the payload length. */
bool sono_kit_state_load(const sono_istream_t *s, uint32_t magic, uint32_t version, void *payload, uint64_t cap,
                         uint64_t *size);

/* State that is exactly the parameter values (count <= SONO_KIT_MAX_PARAMS).
 * Loading reads into a scratch copy, checks every value against `defs`
 * (range, and whole numbers for int/bool/enum) and only then overwrites
 * `values`: refused bytes change nothing. */
#define SONO_KIT_MAX_PARAMS 256u
bool sono_kit_params_state_save(const sono_ostream_t *s, uint32_t magic, uint32_t version, const double *values,
                                uint32_t count);
bool sono_kit_params_state_load(const sono_istream_t *s, uint32_t magic, uint32_t version, const sono_kit_param_t *defs,
                                uint32_t count, double *values);

/* ---- buffers ------------------------------------------------------------ */

/* free(p), then p = NULL: a deactivate() that frees its buffers this way
 * may run again (destroy() after deactivate()) without a double free. */
#define SONO_KIT_FREE(p) (free(p), (p) = NULL)

/* ---- extensions --------------------------------------------------------- */

/* The body of get_extension for a plugin whose extensions are among
 * sono.params/1 and sono.state/1: the one named `id`, or NULL (also for
 * one the plugin passes as NULL, i.e. does not implement). The structs are
 * the plugin's static objects; nothing is copied. */
static inline const void *sono_kit_extension(const char *id, const sono_plugin_params_t *params,
                                             const sono_plugin_state_t *state)
{
   if (params && strcmp(id, SONO_EXT_PARAMS) == 0)
      return params;
   if (state && strcmp(id, SONO_EXT_STATE) == 0)
      return state;
   return NULL;
}

/* ---- entry point -------------------------------------------------------- */

/* Defines `sono_entry` and a factory for a binary holding one plugin.
 * `descriptor` is a sono_plugin_descriptor_t object; `create` is
 * `const sono_plugin_t *create(const sono_host_t *host)`. */
#define SONO_KIT_DEFINE_ENTRY(descriptor, create)                                                          \
   static uint32_t sono_kit_count(const sono_plugin_factory_t *f)                                        \
   {                                                                                                      \
      (void)f;                                                                                            \
      return 1;                                                                                           \
   }                                                                                                      \
   static const sono_plugin_descriptor_t *sono_kit_descriptor(const sono_plugin_factory_t *f, uint32_t i) \
   {                                                                                                      \
      (void)f;                                                                                            \
      return i == 0 ? &(descriptor) : NULL;                                                               \
   }                                                                                                      \
   static const sono_plugin_t *sono_kit_create(const sono_plugin_factory_t *f, const sono_host_t *host,   \
                                               const char *id)                                           \
   {                                                                                                      \
      (void)f;                                                                                            \
      return id && strcmp(id, (descriptor).id) == 0 ? create(host) : NULL;                                \
   }                                                                                                      \
   static const sono_plugin_factory_t sono_kit_factory = {sono_kit_count, sono_kit_descriptor,           \
                                                          sono_kit_create};                              \
   static bool sono_kit_init(const char *path)                                                            \
   {                                                                                                      \
      (void)path;                                                                                         \
      return true;                                                                                        \
   }                                                                                                      \
   static void sono_kit_deinit(void) {}                                                                   \
   static const void *sono_kit_get_factory(const char *id)                                                \
   {                                                                                                      \
      return id && strcmp(id, SONO_PLUGIN_FACTORY_ID) == 0 ? &sono_kit_factory : NULL;                    \
   }                                                                                                      \
   SONO_EXPORT const sono_plugin_entry_t sono_entry = {SONO_ABI_VERSION, sono_kit_init, sono_kit_deinit,  \
                                                       sono_kit_get_factory}

#ifdef __cplusplus
}
#endif

#endif
