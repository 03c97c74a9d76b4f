/* libsono_dsp: the B-mode path (MUST rf2iq, envelope, bmode, tgc).
 *
 * Planes are ABI planes read through their strides (any layout):
 *   IQ: complex64, axes z, x, k (k = ensemble/frame; length 1 for one image)
 *   RF: int16 or float32, axes sample, channel, k
 * Outputs are written column-major with a caller-chosen column stride:
 * element (i0, i1, k) at out[i0 + ld*(i1 + shape[1]*k)].
 *
 * Log compression (MUST bmode, DR > 1): I = 20 log10(|IQ| / max|IQ|) + DR,
 * then 255 I / DR rounded half away from zero and saturated to 0..255,
 * exactly as MATLAB uint8() (PyMUST truncates instead, which differs by at
 * most 1). The maximum is taken over the WHOLE plane passed, so a 3-D plane
 * is normalised by one maximum; pass a 1-slice plane (shape[2] = 1) to
 * normalise an image by itself. For 0 < DR < 1: gamma compression
 * (|IQ|/max)^DR * 255, rounded.
 *
 * TGC: MUST tgc() fits log(mean |IQ| over x) against depth on samples
 * n/10..9n/10 with a Theil-Sen slope and returns gain(z) = C(0)/C(z). MUST
 * draws up to 200 random points; here they are evenly spaced, so the gain is
 * reproducible.
 *
 * Ownership: caller-owned arrays. Allocation: only rf2iq_create allocates.
 * Threading: reentrant; an rf2iq object is used by one thread at a time. */
#ifndef SONO_DSP_BMODE_H
#define SONO_DSP_BMODE_H

#include <stddef.h>
#include <stdint.h>
#include <sono/frame.h>

#ifdef __cplusplus
extern "C" {
#endif

/* |IQ| of every element into env. Returns 0, or -1 with a message. */
int sono_dsp_envelope(const sono_plane_t *iq, float *env, size_t ld, char *err, size_t err_size);

/* Log (or gamma) compressed uint8 image of the plane; gain (length shape[0],
 * may be NULL) multiplies |IQ| per depth first (TGC). */
int sono_dsp_bmode_u8(const sono_plane_t *iq, double dynamic_range_db, const float *gain, uint8_t *out, size_t ld,
                      char *err, size_t err_size);

/* Work floats needed by sono_dsp_tgc_gain for nz depths. */
#define SONO_DSP_TGC_WORK(nz) ((size_t)(nz) + 19900u)

/* TGC gain per depth (length shape[0]) of an IQ plane. */
int sono_dsp_tgc_gain(const sono_plane_t *iq, float *gain, float *work, char *err, size_t err_size);

/* ---- RF to IQ (MUST rf2iq with Fc given) ----
 * IQ = 2 * filtfilt(butter(5, Wn), RF * exp(-j 2 pi fc t)), t = i/fs + t0,
 * Wn = min(2 fc/fs, 0.5), or bandwidth_pct * fc / 100 / fs when
 * bandwidth_pct > 0 (normalised to Nyquist, MATLAB convention). filtfilt
 * follows MATLAB: odd reflection of 3*(order) samples at each end and
 * steady-state initial conditions; the filter runs in double. */
typedef struct sono_dsp_rf2iq sono_dsp_rf2iq_t;

sono_dsp_rf2iq_t *sono_dsp_rf2iq_create(uint32_t max_samples, double fs_hz, double fc_hz, double bandwidth_pct,
                                        double t0_s, char *err, size_t err_size);

/* Demodulates every (channel, k) line of `rf` into iq (interleaved
 * complex64, element (sample, channel, k) at iq[2*(i0 + ld*(i1 + nc*k))]). */
int sono_dsp_rf2iq_run(sono_dsp_rf2iq_t *r, const sono_plane_t *rf, float *iq, size_t ld, char *err,
                       size_t err_size);

void sono_dsp_rf2iq_destroy(sono_dsp_rf2iq_t *r);

#ifdef __cplusplus
}
#endif

#endif
