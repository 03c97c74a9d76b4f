/* libsono_dsp: colour Doppler estimators (MUST `iq2doppler` semantics).
 *
 * Conventions (those of MUST/PyMUST and of the ABI):
 *   AC = sum_{t=first}^{n-1-lag} x[t] * conj(x[t+lag])   (= conj of R(lag))
 *   P  = sum_{t=first}^{n-1} |x[t]|^2                      (n - first terms)
 *   VN = c * PRF / (4 * fc * lag)
 *   v  = -VN * angle(AC) / pi, in (-VN, VN], POSITIVE = TOWARD THE PROBE
 *   variance = 2 (VN/pi)^2 (1 - |AC| / P)
 * The variance keeps MUST's normalisation quirk: AC has n - lag terms and P
 * has n, so a perfectly coherent signal still shows 2 (VN/pi)^2 lag/n.
 * Smoothing (M x M symmetric Hamming, unnormalised, applied to AC and P
 * before the angle) uses a border rule: mirror = half-sample symmetric
 * (PyMUST convolve2d 'symm'), replicate = edge value (MATLAB imfilter).
 * An even M centres the window at (M-1)/2 as MATLAB does.
 *
 * Loupas 2-D: R10 = sum_t sum x[z,t] conj(x[z+1,t]) along depth gives the
 * local centre frequency f = f_demod - angle(R10) fs_axial / (2 pi) (the
 * demodulation frequency is added back for baseband IQ), and
 * v = -c PRF angle(AC) / (4 pi f lag).
 *
 * Data layouts: a block is `count` signals of n samples, re[t*ld + i],
 * im[t*ld + i] (see wall.h). Images are column-major: pixel (iz, ix) at
 * [ix*ldz + iz]. Float32 in and out, accumulation in float32 in slow-time
 * order (matches MUST to < 1e-5 VN on real data).
 * Ownership: caller-owned arrays. Threading: all functions are reentrant. */
#ifndef SONO_DSP_KASAI_H
#define SONO_DSP_KASAI_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef int32_t sono_dsp_border_t;
enum { SONO_DSP_BORDER_MIRROR = 0, SONO_DSP_BORDER_REPLICATE = 1 };

/* AC and P of each of `count` signals (written, not added). */
void sono_dsp_kasai_accumulate(const float *re, const float *im, size_t ld, uint32_t n, uint32_t first, uint32_t lag,
                               size_t count, float *ac_re, float *ac_im, float *power);

/* R10 along the signal index (depth) of a block, summed over t = first..n-1;
 * the last entry repeats the one before (count >= 2). */
void sono_dsp_loupas_accumulate(const float *re, const float *im, size_t ld, uint32_t n, uint32_t first,
                                size_t count, float *r10_re, float *r10_im);

/* Symmetric Hamming window 0.54 - 0.46 cos(2 pi k / (m-1)); w[0] = 1 for m = 1. */
void sono_dsp_hamming(uint32_t m, float *w);

/* Largest M of the smoothing functions. */
#define SONO_DSP_MAX_SMOOTHING 63

/* Separable m x m Hamming smoothing of an nz x nx column-major image (column
 * stride ldz) from `in` to `out`, through tmp (same size). The three arrays
 * must not overlap. Returns 0, or -1 when m is 0 or above
 * SONO_DSP_MAX_SMOOTHING. */
int sono_dsp_smooth(const float *in, float *out, float *tmp, size_t nz, size_t nx, size_t ldz, uint32_t m,
                     sono_dsp_border_t border);

/* Smoothing of columns [x0, x1) only, pass 1 (along z into tmp) or pass 2
 * (along x from tmp into out); pass 2 needs pass 1 done on every column.
 * This is what sono_dsp_smooth runs, exposed to split columns over threads. */
void sono_dsp_smooth_pass(int pass, const float *in, float *out, float *tmp, size_t nz, size_t nx, size_t ldz,
                          const float *w, uint32_t m, sono_dsp_border_t border, size_t x0, size_t x1);

/* Velocity (m/s) from AC for `count` pixels: -vn * angle(AC) / pi. */
void sono_dsp_kasai_velocity(const float *ac_re, const float *ac_im, size_t count, float vn, float *velocity);

/* Variance (m/s)^2: 2 (vn/pi)^2 (1 - |AC|/P); 0 where P = 0. */
void sono_dsp_kasai_variance(const float *ac_re, const float *ac_im, const float *power, size_t count, float vn,
                             float *variance);

/* Loupas velocity: per-pixel centre frequency from R10 (see above). */
void sono_dsp_loupas_velocity(const float *ac_re, const float *ac_im, const float *r10_re, const float *r10_im,
                              size_t count, double c, double prf, double f_demod, double fs_axial, uint32_t lag,
                              float *velocity);

#ifdef __cplusplus
}
#endif

#endif
