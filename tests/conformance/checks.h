/* sono-conform: the check functions (child side) and helpers they share. */
#ifndef SONO_CONFORM_CHECKS_H
#define SONO_CONFORM_CHECKS_H

#include "conform.h"

/* Builds `spec` as frame `spec->sequence`, runs process() on it, frees it.
 * Returns the plugin's status, or -100 when the frame could not be built.
 * `dur_ns` (may be NULL) receives the duration of the process() call. */
int cf_process_spec(cf_inst_t *inst, cf_out_t *out, const cf_frame_spec_t *spec, cf_rng_t *rng, uint64_t *dur_ns);
/* Runs process() on a built frame with context and timing. */
int cf_process_frame(cf_inst_t *inst, cf_out_t *out, const sono_frame_t *frame, const char *what, uint64_t *dur_ns);
/* Reports an unknown process() status (anything but SONO_OK / SONO_ERROR). */
void cf_status_check(const cf_inst_t *inst, int status, const char *what);

void check_binary_load(void);
void check_binary_abi(void);
void check_binary_manifest(void);
void check_binary_exports(void);
void check_binary_libraries(void);
void check_binary_execstack(void);
void check_binary_scan_time(void);
void check_metadata_descriptor(void);
void check_metadata_ids(void);
void check_metadata_params(void);
void check_metadata_extensions(void);
void check_lifecycle_cycle(void);
void check_lifecycle_reinit(void);
void check_lifecycle_reactivate(void);
void check_lifecycle_refused(void);
void check_lifecycle_threads(void);
void check_frames_random(void);
void check_frames_degenerate(void);
void check_frames_readonly(void);
void check_frames_outputs(void);
void check_frames_flood(void);
void check_realtime_calls(void);
void check_realtime_cost(void);
void check_determinism_replay(void);
void check_threads_instances(void);
void check_params_values(void);
void check_state_roundtrip(void);
void check_state_garbage(void);
void check_trace_calls(void);
void check_fuzz_sequence(void);

#endif
