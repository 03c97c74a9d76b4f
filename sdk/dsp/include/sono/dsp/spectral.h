/* libsono_dsp: spectral (pulsed-wave) Doppler of one range gate.
 *
 * STFT of the slow-time IQ of a gate (scipy.signal.stft conventions with
 * boundary=None, padded=False): segment s covers samples s*hop ..
 * s*hop + window - 1 (nseg = 1 + (n - window) / hop), multiplied by a
 * PERIODIC Hann window w[k] = 0.5 - 0.5 cos(2 pi k / window), zero-padded to
 * nfft, transformed by a single-precision FFTW plan made once at create,
 * scaled by 1/sum(w) and fft-shifted: row r is frequency
 * (r - nfft/2) * PRF / nfft (from -PRF/2 upward). Positive frequency =
 * toward the probe. Velocity of row r: v = f c / (2 fc cos(angle)).
 *
 * Output spectrogram layout: frequency fastest, out[s*nfft + r] (the
 * SPECTROGRAM plane's axes: frequency, time).
 *
 * Envelope: for each column the maximum-velocity envelope is the velocity of
 * the row farthest from 0, on the side of the column's strongest bin, whose
 * level is within `threshold_db` (negative) of that column's maximum, levels
 * being averaged over 3 neighbouring rows (in dB) against spectral speckle.
 * SONO_DSP_ENVELOPE_THRESHOLD_DB (-12 dB) tracks the true maximum velocity
 * within 5% at systole on the reference gate; lower thresholds follow the
 * window's leakage and overestimate.
 *
 * Cardiac cycles: a cycle starts where the envelope (3-column moving
 * average) rises through the midpoint between its 10th and 90th percentiles;
 * per complete cycle PSV = max, EDV = value just before the next start,
 * mean = time average, RI = (PSV - EDV)/PSV, PI = (PSV - EDV)/mean. Values
 * keep the envelope's sign; RI and PI use magnitudes.
 *
 * Ownership: the STFT object owns its plan and buffers; output arrays are
 * the caller's. Allocation: only create. Threading: an STFT object is used by
 * one thread at a time (FFTW planning in create is serialised by a lock). */
#ifndef SONO_DSP_SPECTRAL_H
#define SONO_DSP_SPECTRAL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SONO_DSP_ENVELOPE_THRESHOLD_DB (-12.0f)

typedef struct sono_dsp_stft sono_dsp_stft_t;

/* window >= 2, 1 <= hop, nfft >= window, max_samples >= window. */
sono_dsp_stft_t *sono_dsp_stft_create(uint32_t window, uint32_t hop, uint32_t nfft, uint32_t max_samples,
                                      char *err, size_t err_size);
void sono_dsp_stft_destroy(sono_dsp_stft_t *s);

uint32_t sono_dsp_stft_nfft(const sono_dsp_stft_t *s);
/* Segments for n samples (0 when n < window). */
uint32_t sono_dsp_stft_segments(const sono_dsp_stft_t *s, uint32_t n);

/* |X|^2 (scaled) of n samples of interleaved complex64 iq, `stride`
 * complex elements apart. Returns the segment count or -1. */
int sono_dsp_stft_power(sono_dsp_stft_t *s, const float *iq, int64_t stride, uint32_t n, float *power, char *err,
                        size_t err_size);

/* Same, in dB: 20 log10 |X| (floored at -300 dB). */
int sono_dsp_stft_db(sono_dsp_stft_t *s, const float *iq, int64_t stride, uint32_t n, float *db, char *err,
                     size_t err_size);

/* Velocity of each row (m/s): f c / (2 fc cos(angle_rad)). */
void sono_dsp_stft_velocity_axis(const sono_dsp_stft_t *s, double prf_hz, double fc_hz, double c_m_s,
                                 double angle_rad, float *velocity);

/* Maximum-velocity envelope of a dB spectrogram (nbins x nseg). */
void sono_dsp_spectral_envelope(const float *db, uint32_t nbins, uint32_t nseg, const float *velocity,
                                float threshold_db, float *envelope);

typedef struct sono_dsp_cycle {
   uint32_t start, end; /* columns [start, end) */
   float psv_m_s, edv_m_s, mean_m_s;
   float ri, pi;
} sono_dsp_cycle_t;

/* Finds complete cardiac cycles in an envelope of nseg columns; writes up
 * to max_cycles and returns how many were found. work: nseg floats. */
int sono_dsp_cardiac_cycles(const float *envelope, uint32_t nseg, sono_dsp_cycle_t *cycles, uint32_t max_cycles,
                            float *work);

#ifdef __cplusplus
}
#endif

#endif
