/* sonoplug ABI: output events (findings, measurements, overlay primitives).
 *
 * A plugin reports results only by pushing events through the
 * sono_output_t it receives in process(). Every event starts with a
 * sono_event_header_t whose struct_size is the size of the whole event
 * struct as the plugin built it, so a host skips an unknown type by its
 * size and reads only fields that size covers.
 *
 * Ownership: every pointer inside an event (strings, point arrays, mask
 * bytes) is owned by the plugin and needs to stay valid only during the
 * push() call. The host deep-copies the event before push() returns; the
 * plugin never hands the host memory to free, and may reuse its buffers for
 * the next event. Strings are UTF-8 and NUL-terminated; NULL means absent.
 *
 * Validation: the host validates every event and drops, counts and reports
 * (with a diagnostic naming the plugin, frame and field) any event with a
 * non-finite or out-of-frame coordinate, a confidence outside [0, 1], an
 * unknown status, shape or role, a missing required string, or a size too
 * small for its type. A dropped event never stops the frame.
 *
 * Coordinates are metres in the image plane (see frame.h). "In frame" means
 * within the grid extent widened by half a pixel. */
#ifndef SONO_EVENTS_H
#define SONO_EVENTS_H

#include <stdbool.h>
#include <stdint.h>
#include "private/macros.h"

SONO_EXTERN_C_BEGIN

typedef int32_t sono_event_type_t;
enum {
   SONO_EVENT_FINDING = 1,
   SONO_EVENT_MEASUREMENT = 2,
   SONO_EVENT_OVERLAY = 3
};

/* Event flags (bit mask). */
enum {
   /* The event repeats the state of an earlier frame (cine accumulation). */
   SONO_EVENT_FLAG_PERSISTENT = 1 << 0
};

typedef struct sono_event_header {
   uint32_t struct_size;    /* sizeof the complete event struct */
   sono_event_type_t type;  /* SONO_EVENT_* */
   uint32_t flags;          /* SONO_EVENT_FLAG_* */
   uint32_t reserved;       /* 0 */
} sono_event_header_t;

typedef struct sono_point {
   double x_m;
   double z_m;
} sono_point_t;

/* A named extra field of a finding, such as {"class", "ha_fresh"} or
 * {"placement", "intraluminal"}. Both strings are required. */
typedef struct sono_attribute {
   const char *key;
   const char *value;
} sono_attribute_t;

typedef int32_t sono_finding_status_t;
enum {
   SONO_STATUS_NOT_DETECTED = 0,
   SONO_STATUS_DETECTED = 1,
   SONO_STATUS_INDETERMINATE = 2
};

/* A finding. Wording rules (docs/clinical.md): labels say "consistent
 * with", "possible", "review recommended", never "diagnosis"; `basis` gives
 * the measured numbers behind the finding. Required: kind, label, basis. */
typedef struct sono_event_finding {
   sono_event_header_t header;      /* type SONO_EVENT_FINDING */
   const char *kind;                /* e.g. "intravascular_filler", "acoustic_shadow" */
   sono_finding_status_t status;    /* SONO_STATUS_* */
   float confidence;                /* [0, 1] */
   const sono_point_t *region;      /* polygon, may be NULL when frame-wide */
   uint32_t region_count;
   uint32_t attribute_count;
   const sono_attribute_t *attributes;
   const char *label;               /* one line for display */
   const char *basis;               /* measured numbers behind the finding */
   const char *caveat;              /* limitation to show beside it, or NULL */
   const char *advice;              /* actionable advice to the operator, or NULL */
} sono_event_finding_t;

/* A measurement in SI units. Required: name, unit; value must be finite. */
typedef struct sono_event_measurement {
   sono_event_header_t header;      /* type SONO_EVENT_MEASUREMENT */
   const char *name;                /* e.g. "occluded_length" */
   double value;
   const char *unit;                /* SI: "m", "m2", "m/s", "s", "1" ... */
   const char *label;               /* display text, or NULL */
   sono_point_t at;                 /* where it applies (must be in frame) */
} sono_event_measurement_t;

typedef int32_t sono_shape_t;
enum {
   SONO_SHAPE_POLYLINE = 1,  /* points[0..n-1], n >= 2 */
   SONO_SHAPE_POLYGON = 2,   /* closed, n >= 3 */
   SONO_SHAPE_ELLIPSE = 3,   /* points[0] centre; radii_m, angle_rad */
   SONO_SHAPE_MARKER = 4,    /* points[0] */
   SONO_SHAPE_LABEL = 5,     /* points[0] anchor; label text required */
   SONO_SHAPE_MASK = 6       /* raster on the frame grid; see mask fields */
};

/* Semantic roles, rendered with one clinical palette by the host. Vendor
 * roles start with "x-" and are drawn in a neutral colour. */
#define SONO_ROLE_VESSEL_PERFUSED "vessel-perfused"
#define SONO_ROLE_VESSEL_REDUCED "vessel-reduced-flow"
#define SONO_ROLE_VESSEL_ABSENT "vessel-absent-flow"
#define SONO_ROLE_OCCLUSION "occluded-segment"
#define SONO_ROLE_DEPOSIT "deposit"
#define SONO_ROLE_TARGET "target"
#define SONO_ROLE_DANGER_ZONE "danger-zone"
#define SONO_ROLE_ARTEFACT "artefact"
#define SONO_ROLE_NEEDLING_GRID "needling-grid"
#define SONO_ROLE_MEASUREMENT "measurement"
#define SONO_ROLE_ANNOTATION "annotation"

typedef struct sono_event_overlay {
   sono_event_header_t header;      /* type SONO_EVENT_OVERLAY */
   sono_shape_t shape;              /* SONO_SHAPE_* */
   uint32_t point_count;
   const sono_point_t *points;
   const char *role;                /* SONO_ROLE_* or "x-..." ; required */
   const char *label;               /* text drawn beside the shape, or NULL */
   uint32_t rgba;                   /* 0 = palette colour of the role */
   uint32_t mask_nx;                /* MASK: columns, on the frame grid */
   uint32_t mask_nz;                /* MASK: rows */
   uint32_t mask_ix0;               /* MASK: grid column of mask column 0 */
   uint32_t mask_iz0;               /* MASK: grid row of mask row 0 */
   uint32_t reserved;
   const uint8_t *mask;             /* MASK: mask_nz*mask_nx bytes, row-major
                                       (z slowest), 0 = outside */
   double radii_m[2];               /* ELLIPSE: semi-axes along x and z */
   double angle_rad;                /* ELLIPSE: rotation from +x toward +z */
} sono_event_overlay_t;

/* The output a plugin pushes to during process().
 * Ownership: host-owned, valid only during that process() call. */
typedef struct sono_output {
   void *ctx; /* reserved for the host */

   /* Copies `event` into host-owned storage. Returns false when the event
    * was refused (invalid, or the per-frame event budget is exhausted); the
    * plugin may continue with other events.
    * [processing-thread & processing] */
   bool(SONO_ABI *push)(const struct sono_output *out, const sono_event_header_t *event);
} sono_output_t;

SONO_EXTERN_C_END

#endif
