/* The spectral-Doppler gate of a session (internal to libsono_host). */
#ifndef SONO_HOST_SESSION_GATE_H
#define SONO_HOST_SESSION_GATE_H

#include <sono/sdk/recording.h>

typedef struct session_gate session_gate_t;

/* Returns NULL without error when the recording has no usable gate (no
 * "gate", or fewer slow-time samples than one window); NULL with `err` set
 * when buffers cannot be made. */
session_gate_t *session_gate_create(const sono_recording_info_t *info, sono_error_t *err);
void session_gate_destroy(session_gate_t *g);

typedef struct session_gate_values {
   double psv_m_s, edv_m_s, ri; /* medians over complete cycles; NaN when none */
} session_gate_values_t;

/* Computes the spectrogram at the gate from `iq` into `plane` (a view of the
 * gate's own buffer), fills frame->gate and `values`. No allocation. */
int session_gate_run(session_gate_t *g, const sono_plane_t *iq, sono_frame_t *frame, sono_plane_t *plane,
                     session_gate_values_t *values, sono_error_t *err);

#endif
