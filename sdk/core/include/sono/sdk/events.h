/* libsono_sdk: checking and storing plugin events.
 *
 * sono_event_check() is the single definition of a valid event (docs/abi.md,
 * "Events"); the host, the conformance suite and the isolated runner all
 * call it. sono_event_store_t is a fixed-capacity, host-owned arena that
 * deep-copies events (strings, points, mask bytes) so the plugin's memory is
 * never referenced after push() returns.
 *
 * Ownership: the store owns every copied event; pointers returned by
 * sono_event_store_get() stay valid until sono_event_store_clear() or
 * destroy. Capacity is fixed at creation: pushing allocates nothing, and an
 * event that does not fit is refused (counted as an overflow).
 * Threading: a store is used by one thread at a time. */
#ifndef SONO_SDK_EVENTS_H
#define SONO_SDK_EVENTS_H

#include <stddef.h>
#include <stdint.h>
#include <sono/sono.h>
#include "error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Limits a valid event respects (also the host's per-event budget). */
#define SONO_EVENT_MAX_POINTS 4096u
#define SONO_EVENT_MAX_TEXT 4096u
#define SONO_EVENT_MAX_ATTRIBUTES 32u
#define SONO_EVENT_MAX_MASK_BYTES (4096u * 4096u)

/* Checks `event` against the ABI rules and the frame `grid` (coordinates
 * must be finite and inside the grid widened by half a pixel, plus a few
 * float32 ulps so that a point on the image edge passes; NULL grid
 * skips the extent check). Returns 0 when valid, 1 when the type is unknown
 * but the size is plausible (skip it by size), or -1 with `err` naming the
 * field, e.g. "finding \"acoustic_shadow\": field confidence: 1.3 is outside [0, 1]". */
int sono_event_check(const sono_event_header_t *event, const sono_grid_t *grid, sono_error_t *err);

typedef struct sono_event_store sono_event_store_t;

/* A store holding up to `max_events` events and `max_bytes` of copied data. */
sono_event_store_t *sono_event_store_create(uint32_t max_events, size_t max_bytes);
void sono_event_store_destroy(sono_event_store_t *store);
void sono_event_store_clear(sono_event_store_t *store);

/* Deep-copies a VALID event (check it first). Returns 0, or -1 when the
 * store is full (`err` says which limit). No allocation. */
int sono_event_store_push(sono_event_store_t *store, const sono_event_header_t *event, sono_error_t *err);

uint32_t sono_event_store_count(const sono_event_store_t *store);
const sono_event_header_t *sono_event_store_get(const sono_event_store_t *store, uint32_t index);

/* The arena as one contiguous block and the bytes in use (for statistics
 * and for copying events to another process). */
const void *sono_event_store_base(const sono_event_store_t *store, size_t *used_bytes);

#ifdef __cplusplus
}
#endif

#endif
