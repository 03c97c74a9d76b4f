/* libsono_sdk: the one mapping between ABI enum values and their names in
 * files (recordings, manifests, results). Use these; do not spell names
 * again elsewhere.
 *
 * Returned strings are static. Lookups return -1 for an unknown name.
 * Threading: [thread-safe]. */
#ifndef SONO_SDK_NAMES_H
#define SONO_SDK_NAMES_H

#include <stddef.h>
#include <stdint.h>
#include <sono/sono.h>

#ifdef __cplusplus
extern "C" {
#endif

const char *sono_plane_kind_name(sono_plane_kind_t kind);   /* "iq", "rf", "bmode", ... */
int sono_plane_kind_from_name(const char *name);
const char *sono_dtype_name(sono_dtype_t dtype);            /* "complex64", "float32", "int16", "uint8" */
int sono_dtype_from_name(const char *name);
size_t sono_dtype_size(sono_dtype_t dtype);                 /* bytes per element, 0 if unknown */
const char *sono_status_name(sono_finding_status_t status); /* "detected", "not_detected", "indeterminate" */
int sono_status_from_name(const char *name);
const char *sono_shape_name(sono_shape_t shape);            /* "polyline", "polygon", ... */
const char *sono_concurrency_name(sono_concurrency_t c);    /* "instance-safe", "unsafe", "fully-safe" */
int sono_concurrency_from_name(const char *name);
const char *sono_determinism_name(sono_determinism_t d);    /* "bit-exact", "tolerance", "none" */
int sono_determinism_from_name(const char *name);
const char *sono_wall_filter_name(sono_wall_filter_t w);    /* "none", "poly", "dct", "svd", "iir" */
int sono_wall_filter_from_name(const char *name);

/* A wall-filter specification as written on command lines and in
 * recordings: "none", "poly:N", "dct:N", "svd:N" (N = order or rank) or
 * "iir:F[:order]" (F = cut-off in Hz, order default 2). */
typedef struct sono_wall_spec {
   sono_wall_filter_t kind;
   uint32_t order;   /* unchanged by "none" */
   double cutoff_hz; /* iir only */
} sono_wall_spec_t;

/* Parses `text` into `out` (fields not named by the text keep their
 * value). Returns 0, or -1 with a message in err (what was given, what is
 * expected; the caller adds where it came from). */
int sono_wall_spec_parse(const char *text, sono_wall_spec_t *out, char *err, size_t err_size);

/* Known overlay roles (SONO_ROLE_*), NULL-terminated. */
extern const char *const sono_known_roles[];
/* True when `role` is a known role or a vendor role ("x-..."). */
int sono_role_is_valid(const char *role);

/* Formats a version as "M.m.p" into buf (size >= 32); returns buf. */
char *sono_version_format(sono_version_t v, char *buf, size_t size);
/* Parses "M.m.p"; returns 0, or -1 when malformed. */
int sono_version_parse(const char *text, sono_version_t *out);

#ifdef __cplusplus
}
#endif

#endif
