/* sono_render: the PNG images a person looks at (docs/rendering.md).
 *
 * A frame image shows, in millimetres at the true aspect ratio:
 *   - the B-mode in grey (BMODE plane, uint8 0..255 or float32 dB; without
 *     one, the log envelope of the first IQ ensemble sample);
 *   - colour Doppler on top: the VELOCITY plane, shown where the POWER plane
 *     is within `power_threshold_db` of its maximum, with a red/blue map
 *     (positive = toward the probe = red, brighter toward +-VN) and a colour
 *     bar in cm/s labelled +-VN (frame->acquisition.nyquist_velocity_m_s);
 *   - a depth scale in mm on the left and a lateral scale in mm on top;
 *   - every overlay event of every plugin in one clinical palette by role,
 *     danger zones and artefact regions hatched, labels in a built-in 5x7
 *     bitmap font, and a legend of the roles drawn.
 * Clinical roles always use the palette; an event's own `rgba` is honoured
 * only for vendor ("x-...") roles and annotations, so no plugin can paint a
 * danger zone in a reassuring colour.
 *
 * Rendering is deterministic: the same input gives the same PNG bytes
 * (fixed zlib level and filters, no time chunk, integer-pixel drawing).
 *
 * Ownership: the renderer owns its image buffers; frames and events are
 * read-only and only read during the call. Output files are written to
 * "<path>.tmp" and renamed into place, so a failed call never leaves a
 * half-written PNG under the final name.
 * Allocation: all buffers are allocated in sono_renderer_create(); a render
 * call allocates only libpng's write state.
 * Threading: a renderer is used by one thread at a time; use one renderer
 * per thread to render in parallel. */
#ifndef SONO_HOST_RENDER_H
#define SONO_HOST_RENDER_H

#include <stdint.h>
#include <sono/sono.h>
#include <sono/sdk/error.h>
#include <sono/sdk/events.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The largest image area (the B-mode part, without margins) in pixels per
 * side. A frame whose scaled size exceeds it is drawn at a smaller scale. */
#define SONO_RENDER_MAX_AREA_PX 1536

typedef struct sono_render_options {
   double pixels_per_mm;        /* <= 0: chosen so the image area is 768 px wide (default 0) */
   float power_threshold_db;    /* colour shown where power >= max + threshold (default -25 dB) */
   float bmode_dynamic_range_db;/* float32 dB B-mode: grey spans [max - range, max] (default 60 dB) */
   float velocity_reject;       /* colour hidden where |v| < this fraction of VN (default 0.04), as a
                                   scanner's low-velocity reject */
   int colour_priority;         /* colour hidden where the uint8 B-mode is brighter than this
                                   (0..255, default 200; 255 = colour always wins), as a scanner's
                                   colour write priority */
   int show_colour;             /* draw colour Doppler and its colour bar (default 1) */
   int show_overlays;           /* draw overlay events (default 1) */
   int show_legend;             /* draw the legend of roles used (default 1) */
} sono_render_options_t;

void sono_render_options_default(sono_render_options_t *o);

typedef struct sono_renderer sono_renderer_t;

/* Creates a renderer for frames of up to max_nx x max_nz pixels (the grid
 * size only bounds the resampling tables; the image size comes from the
 * frame's extent in mm). `o` may be NULL for the defaults. */
sono_renderer_t *sono_renderer_create(const sono_render_options_t *o, uint32_t max_nx, uint32_t max_nz,
                                      sono_error_t *err);
void sono_renderer_destroy(sono_renderer_t *r);

/* Renders one frame with the overlay events of `set_count` event stores
 * (one per plugin, as sono_host_instance_events() returns them; NULL
 * entries are skipped) and writes it to `png_path`. Non-overlay events are
 * ignored here (they belong in the report). Returns 0, or -1 with `err`
 * naming the file, plane or event at fault. */
int sono_render_frame_png(sono_renderer_t *r, const sono_frame_t *frame, const sono_event_store_t *const *event_sets,
                          uint32_t set_count, const char *png_path, sono_error_t *err);

/* The same from a plain array of events (e.g. overlays read back from
 * results.json with sono_render_overlays_from_json()). */
int sono_render_frame_png_events(sono_renderer_t *r, const sono_frame_t *frame,
                                 const sono_event_header_t *const *events, uint32_t event_count, const char *png_path,
                                 sono_error_t *err);

/* Values printed on a spectral strip; NaN = not known (not drawn). */
typedef struct sono_spectral_values {
   double psv_m_s;   /* peak systolic velocity, m/s */
   double edv_m_s;   /* end-diastolic velocity, m/s */
   double ri;        /* resistive index (PSV - EDV) / PSV, dimensionless */
} sono_spectral_values_t;

/* Renders the SPECTROGRAM plane of `frame` (axes from frame->gate:
 * velocity0_m_s + row*dvelocity_m_s, time0_s + column*dtime_s) as a strip:
 * time left to right, velocity upward (positive = toward the probe), grey
 * by dB, with the baseline and the PSV / EDV lines and an RI box.
 * `values` may be NULL. */
int sono_render_spectrogram_png(sono_renderer_t *r, const sono_frame_t *frame, const sono_spectral_values_t *values,
                                const char *png_path, sono_error_t *err);

/* ---- overlays read back from results.json --------------------------------
 * An owned list of overlay events parsed from a frame's "overlays" array
 * (formats.md section 3, docs/results-format.md): {"shape", "role",
 * "points_m", optional "label", "rgba" ("#rrggbbaa"), "radii_m",
 * "angle_rad", and for masks "mask": {"ix0", "iz0", "nx", "nz", "runs"}
 * with run lengths alternating outside/inside, starting outside}.
 * `what` names the source in errors, e.g. "out/results.json: frames[3].overlays".
 * The list owns every string, point and mask byte of its events. */
struct cJSON;
typedef struct sono_render_overlays sono_render_overlays_t;
sono_render_overlays_t *sono_render_overlays_from_json(const struct cJSON *overlays, const char *what,
                                                       sono_error_t *err);
uint32_t sono_render_overlays_count(const sono_render_overlays_t *list);
const sono_event_header_t *const *sono_render_overlays_events(const sono_render_overlays_t *list);
void sono_render_overlays_free(sono_render_overlays_t *list);

#ifdef __cplusplus
}
#endif

#endif
