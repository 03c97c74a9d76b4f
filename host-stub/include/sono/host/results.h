/* libsono_host: results.json writer (docs/results-format.md; the public
 * contract of formats.md §3 plus documented extra fields).
 *
 * Usage: create, register plugins, then per frame begin_frame + add_events /
 * add_failure / add_timing, and finally write (atomic: temp file + rename).
 * Ownership: the writer copies everything it is given. Memory grows with the
 * number of events recorded (this is the output, not the per-frame analysis
 * path). Threading: one thread. */
#ifndef SONO_HOST_RESULTS_H
#define SONO_HOST_RESULTS_H

#include <stdint.h>
#include <sono/sdk/events.h>
#include <sono/sdk/manifest.h>
#include <sono/sdk/recording.h>

#ifdef __cplusplus
extern "C" {
#endif

struct cJSON;
typedef struct sono_results sono_results_t;

/* `recording` is the path written into "recording"; `info` may be NULL. */
sono_results_t *sono_results_create(const char *recording, const sono_recording_info_t *info);
void sono_results_destroy(sono_results_t *r);

/* How the host's Doppler core processed the recording ("processing"):
 * wall filter as given ("poly:2", "none"), Kasai lag and M x M smoothing. */
void sono_results_set_processing(sono_results_t *r, const char *wall_filter, uint32_t lag, uint32_t smoothing);

/* Registers a plugin; returns its index for sono_results_plugin_status(). */
int sono_results_add_plugin(sono_results_t *r, const sono_manifest_t *m);
/* status: "ok", "failed", "refused", "quarantined"; error may be NULL. */
void sono_results_plugin_status(sono_results_t *r, int index, const char *status, uint64_t frames_processed,
                                uint64_t events_rejected, const char *error);

/* Sets a string field of plugin `index`, e.g. "run_mode": "isolated". */
void sono_results_plugin_field(sono_results_t *r, int index, const char *key, const char *value);

void sono_results_begin_frame(sono_results_t *r, uint64_t index, uint64_t timestamp_ns);
void sono_results_add_events(sono_results_t *r, const char *plugin_id, const sono_event_store_t *events);
void sono_results_add_failure(sono_results_t *r, const char *plugin_id, const char *reason);
void sono_results_add_timing(sono_results_t *r, const char *plugin_id, uint64_t ns);
/* Image of the current frame, relative to results.json. */
void sono_results_set_image(sono_results_t *r, const char *relative_path);

/* The tree itself (formats.md §3), owned by the writer. */
const struct cJSON *sono_results_json(const sono_results_t *r);

/* Spectral-Doppler values of the current frame ("spectral" object); NaN
 * values are written as null. `image` may be NULL. */
void sono_results_set_spectral(sono_results_t *r, const char *image, double psv_m_s, double edv_m_s, double ri);

int sono_results_write(const sono_results_t *r, const char *path, sono_error_t *err);

#ifdef __cplusplus
}
#endif

#endif
