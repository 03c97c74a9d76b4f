/* Private to libsono_sdk: which axes and dtypes each plane kind may carry in
 * a recording (docs/recording-format.md). The reader validates against this
 * table and the writer lays files out by it, so the two cannot disagree. */
#ifndef SONO_RECORDING_LAYOUT_H
#define SONO_RECORDING_LAYOUT_H

#include <stddef.h>
#include <sono/sono.h>

/* Axis slots of a plane in a file: the three ABI axes of the kind, then
 * "frame". A recording file has at most these four axes. */
#define SONO_REC_MAX_AXES 4
#define SONO_REC_FRAME_SLOT 3

/* Name of `slot` (0..3) for `kind`, or NULL when the kind has no such axis
 * (maps have no axis 2). */
const char *sono_rec_axis_name(sono_plane_kind_t kind, int slot);

/* Slot of the axis called `name` for `kind`, or -1 when not allowed. */
int sono_rec_axis_slot(sono_plane_kind_t kind, const char *name);

/* True when `kind` may be stored with `dtype`. */
int sono_rec_dtype_allowed(sono_plane_kind_t kind, sono_dtype_t dtype);

/* Human lists for error messages: "z, x, ensemble, frame" and
 * "complex64". Write into buf (NUL-terminated, truncated if needed). */
void sono_rec_axes_text(sono_plane_kind_t kind, char *buf, size_t size);
void sono_rec_dtypes_text(sono_plane_kind_t kind, char *buf, size_t size);

/* Probe geometry names of the "probe.geometry" field ("linear", "convex",
 * "phased"); lookup returns -1 for an unknown name. */
const char *sono_rec_probe_geometry_name(sono_probe_geometry_t g);
int sono_rec_probe_geometry_from_name(const char *name);

#endif
