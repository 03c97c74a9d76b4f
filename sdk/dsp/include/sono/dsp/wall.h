/* libsono_dsp: wall (clutter) filters along slow time, MUST `wfilt` semantics.
 *
 * Data convention of every function here: a BLOCK of `count` slow-time
 * signals of `n` samples, split real/imaginary, sample t of signal i at
 * re[t*ld + i] and im[t*ld + i] (ld >= count). Filtering is in place.
 * Float32 data; designs are computed in double.
 *
 * poly (degree d) removes the least-squares polynomial fit of degree <= d on
 * x = linspace(-1, 1, n) (d + 1 components; d = 0 removes the mean). dct (n_dct)
 * drops the n_dct lowest orthonormal DCT-II coefficients (1 = mean). Both are a
 * projection I - Q Q^T on an orthonormal real basis Q (n x rank), applied as two
 * thin products, which equals MUST's formulas. svd (rank r) removes the r
 * largest singular components of the Casorati matrix S (pixels x n) as
 * S (I - V V^H), V the r leading eigenvectors of the n x n Gram matrix S^H S
 * (LAPACKE zheevd); the Gram matrix is accumulated by the caller over all
 * pixels. iir is a Butterworth high-pass in second-order sections whose state
 * starts at the steady state of the first sample (so a constant clutter
 * produces no start-up transient); the pipeline also drops the first `order`
 * outputs as settling samples.
 *
 * Ownership: caller-owned arrays; nothing is allocated except by the
 * *_create functions. Threading: functions are reentrant; a sono_dsp_svd_t is
 * used by one thread at a time. */
#ifndef SONO_DSP_WALL_H
#define SONO_DSP_WALL_H

#include <stddef.h>
#include <stdint.h>
#include <sono/frame.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SONO_DSP_IIR_MAX_SECTIONS 8 /* Butterworth orders up to 16 */

/* Rank of the basis removed by poly/dct of `order` on n samples, or -1
 * (with a message) when the combination is invalid. */
int sono_dsp_wall_rank(sono_wall_filter_t kind, uint32_t order, uint32_t n, char *err, size_t err_size);

/* Fills q[t*rank + k] (n x rank, orthonormal columns) for poly/dct and
 * returns rank, or -1. q holds at least n*rank floats. */
int sono_dsp_wall_basis(sono_wall_filter_t kind, uint32_t order, uint32_t n, float *q, char *err, size_t err_size);

/* Block -= Q (Q^T block) for a real basis. coef: 2*rank*ld floats of work. */
void sono_dsp_wall_project_out(float *re, float *im, size_t ld, uint32_t n, size_t count, const float *q,
                               uint32_t rank, float *coef);

/* Block -= (block V) V^H for a complex basis v[(t*rank + k)*2 + {0,1}]. */
void sono_dsp_wall_project_out_complex(float *re, float *im, size_t ld, uint32_t n, size_t count, const float *v,
                                       uint32_t rank, float *coef);

/* ---- IIR high-pass ---- */
typedef struct sono_dsp_iir {
   uint32_t sections;
   double b[SONO_DSP_IIR_MAX_SECTIONS][3]; /* numerator of each section, b0 b1 b2 */
   double a[SONO_DSP_IIR_MAX_SECTIONS][3]; /* denominator, a0 = 1 */
} sono_dsp_iir_t;

/* Butterworth high-pass of `order` (1..16) with -3 dB at cutoff_hz, for a
 * slow-time sampling rate prf_hz (bilinear transform with pre-warping). */
int sono_dsp_iir_highpass(uint32_t order, double cutoff_hz, double prf_hz, sono_dsp_iir_t *out, char *err,
                          size_t err_size);

/* Filters the block in place. state: 2*sections*ld floats of work. */
void sono_dsp_iir_apply(const sono_dsp_iir_t *f, float *re, float *im, size_t ld, uint32_t n, size_t count,
                        float *state);

/* ---- SVD through the Gram matrix ---- */
typedef struct sono_dsp_svd sono_dsp_svd_t;

/* Work arrays for ensembles up to max_n. NULL + message on error. */
sono_dsp_svd_t *sono_dsp_svd_create(uint32_t max_n, char *err, size_t err_size);
void sono_dsp_svd_destroy(sono_dsp_svd_t *s);

/* Adds block^H block to gram (n x n complex double, row-major, interleaved
 * re/im; only j <= k entries gram[j][k] are written). */
void sono_dsp_gram_accumulate(const float *re, const float *im, size_t ld, uint32_t n, size_t count, double *gram);

/* From a Gram matrix (upper triangle filled), writes the `rank` leading
 * eigenvectors into v (layout of sono_dsp_wall_project_out_complex). */
int sono_dsp_svd_basis(sono_dsp_svd_t *s, const double *gram, uint32_t n, uint32_t rank, float *v, char *err,
                       size_t err_size);

#ifdef __cplusplus
}
#endif

#endif
