/* libsono_host: a session runs one recording through the Doppler core and
 * every plugin of a folder (what `sono-host run` and `sono-eval` do).
 *
 * When the recording declares a spectral-Doppler "gate" and its IQ ensemble
 * holds at least one STFT window (256 slow-time samples), the session also
 * computes the gate's spectrogram (periodic Hann 256, hop 64, nfft 256), its
 * maximum-velocity envelope and PSV / EDV / RI per cardiac cycle; plugins
 * that declare the SPECTROGRAM plane receive it.
 *
 * The Doppler core computes only the planes that the loaded plugins declare
 * they need and the recording does not already hold. Buffers, plans and
 * event stores are created in sono_session_open(); the per-frame path
 * allocates nothing except the growing results tree.
 *
 * Failures are isolated per plugin: a plugin refused at load or activation,
 * or failing on a frame, is recorded (results.json "plugins[].status",
 * frame "failures") and the others carry on. After
 * SONO_SESSION_QUARANTINE_AFTER consecutive failures a plugin is quarantined
 * for the rest of the session.
 *
 * Ownership: the session owns the recording, libraries and instances.
 * Threading: one thread. */
#ifndef SONO_HOST_SESSION_H
#define SONO_HOST_SESSION_H

#include <stdint.h>
#include <stdio.h>
#include <sono/host/host.h>
#include <sono/host/results.h>
#include <sono/sdk/recording.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SONO_SESSION_QUARANTINE_AFTER 3

typedef struct sono_session sono_session_t;

/* Called after every frame with the frame and each running plugin's events;
 * returns the image file name written for the frame (relative to out_dir),
 * or NULL. `ids[i]` is the plugin id of `sets[i]`. */
typedef const char *(*sono_session_frame_hook)(void *ctx, const sono_frame_t *frame,
                                               const sono_event_store_t *const *sets, const char *const *ids,
                                               uint32_t count);

/* Called after a frame whose recording has a spectral gate: the frame
 * carries the SPECTROGRAM plane and frame->gate axes; psv/edv/ri are the
 * medians over the complete cardiac cycles found (NaN when none). Returns
 * the strip image name (relative to out_dir) or NULL. */
typedef const char *(*sono_session_spectral_hook)(void *ctx, const sono_frame_t *frame, double psv_m_s,
                                                  double edv_m_s, double ri);

typedef struct sono_session_options {
   const char *recording;     /* header path (required) */
   const char *plugin_dir;    /* folder of *.sono.json (required) */
   const char *only_plugin;   /* a single manifest or .so instead of a folder, or NULL */
   const char *out_dir;       /* results.json is written here; NULL: nothing written */
   const char *wall;          /* wall filter "poly:2", "none"...; NULL: the recording's acquisition.wall_filter,
                                 else poly:2 when the ensemble is >= 8, else none */
   uint32_t smoothing;        /* Kasai M x M, default 1 */
   uint32_t max_frames;       /* 0: all */
   int images;                /* call the frame hook (default 1) */
   uint32_t display_planes;   /* planes computed for the frame hook even when no plugin needs them
                                 (SONO_PLANE_BIT mask; default B-mode, velocity and power) */
   int progress;              /* progress line on stderr */
   int quiet;                 /* no diagnostics on stderr */
   sono_host_run_mode_t run_mode; /* default SONO_HOST_RUN_AUTO: a plugin whose manifest allows it runs
                                 isolated (sandboxed child process) unless its vendor is
                                 trusted_vendor; isolated plugins follow the policy for restarts
                                 and quarantine */
   const char *trusted_vendor;/* default "sonoplug" (the bundled plugins, verified with the project);
                                 NULL: no vendor is trusted, every plugin that may be isolated is */
   const sono_host_policy_t *policy; /* isolated mode; NULL: sono_host_policy_default() */
   sono_session_frame_hook frame_hook;
   sono_session_spectral_hook spectral_hook;
   void *hook_ctx;
} sono_session_options_t;

void sono_session_options_default(sono_session_options_t *o);

sono_session_t *sono_session_open(const sono_session_options_t *o, sono_error_t *err);
/* Processes every frame and writes results.json when out_dir is set.
 * Returns 0, or -1 when the session itself failed (not a plugin). */
int sono_session_run(sono_session_t *s, sono_error_t *err);
void sono_session_close(sono_session_t *s);

/* After run: one screen of text (plugins, findings, timings). */
void sono_session_print_summary(const sono_session_t *s, FILE *f);
/* True when any plugin was refused, failed or quarantined. */
int sono_session_any_failure(const sono_session_t *s);

const sono_recording_t *sono_session_recording(const sono_session_t *s);
/* The results tree built so far (for programs that evaluate it in memory). */
const sono_results_t *sono_session_results(const sono_session_t *s);

#ifdef __cplusplus
}
#endif

#endif
