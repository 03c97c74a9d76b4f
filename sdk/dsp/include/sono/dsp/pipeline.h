/* libsono_dsp: the Doppler / B-mode pipeline the host uses to compute the
 * planes plugins declare they need (plugins may call it directly too).
 *
 * One run takes the IQ plane of a frame (complex64, axes z, x, ensemble, any
 * strides, including negative) and computes, in float32:
 *   VELOCITY  m/s, POSITIVE = TOWARD THE PROBE, MUST iq2doppler (see kasai.h)
 *   POWER     dB relative to the frame maximum, 10 log10(P / max P), P the
 *             (smoothed) sum of |IQ|^2 after the wall filter
 *   VARIANCE  (m/s)^2, MUST normalisation including its lag/N floor
 *   BMODE     uint8, MUST bmode(): 20 log10(|IQ|/max) + DR scaled to 0..255
 *             and ROUNDED as MATLAB uint8() does, from ensemble sample 0 of
 *             the unfiltered IQ, normalised by that image's own maximum
 * Order of the processing: wall filter along slow time -> lag-L
 * autocorrelation AC and power P -> M x M Hamming smoothing of AC and P ->
 * angle / variance -> mask. Masked pixels (power below power_threshold_db
 * relative to the maximum, or variance above variance_threshold when set)
 * get velocity 0 and variance 0; their power is kept.
 *
 * Output planes are column-major: pixel (iz, ix) at [iz + ix*stride[1]],
 * stride[1] = nz rounded up to a multiple of 8.
 *
 * Ownership: the pipeline owns every buffer it returns; planes written to
 * out[] stay valid until the next run or destroy. Inputs are read only.
 * Allocation: create allocates every buffer, plan, thread and LAPACK work
 * array for frames up to the given maxima; run allocates nothing.
 * Threading: a pipeline is used by one thread at a time; with
 * cfg.threads > 1 it splits image columns over its own worker threads, and
 * the results are bit-identical whatever the thread count. Different
 * pipelines are independent. */
#ifndef SONO_DSP_PIPELINE_H
#define SONO_DSP_PIPELINE_H

#include <stddef.h>
#include <stdint.h>
#include <sono/frame.h>
#include <sono/dsp/kasai.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sono_dsp_config {
   sono_wall_filter_t wall;       /* SONO_WALL_*, default NONE */
   uint32_t wall_order;           /* poly degree, dct/svd count, iir order (default 2) */
   double wall_cutoff_hz;         /* IIR only: -3 dB cut-off */
   uint32_t lag;                  /* Kasai lag L, default 1 */
   uint32_t smoothing;            /* M of the M x M Hamming smoothing, default 1 (none) */
   sono_dsp_border_t border;      /* default SONO_DSP_BORDER_MIRROR */
   double bmode_dynamic_range_db; /* default 40; 0 < DR < 1 selects gamma compression */
   double power_threshold_db;     /* mask below this, dB relative to max, default -40; -INFINITY disables */
   uint32_t threads;              /* worker threads including the caller, default 1 */
   /* --- beyond the host's required fields --- */
   double variance_threshold;     /* mask where variance > this fraction of VN^2; 0 (default) disables */
   uint32_t loupas;               /* 1: Loupas 2-D velocity (needs axial_sampling_hz) */
   double axial_sampling_hz;      /* sampling rate along z of the IQ grid, c/(2 dz) for beamformed IQ */
   uint32_t bmode_tgc;            /* 1: apply the deterministic TGC of bmode.h before log compression */
} sono_dsp_config_t;

/* Fills the defaults listed above. [thread-safe] */
void sono_dsp_config_default(sono_dsp_config_t *cfg);

/* Parses "poly:2", "dct:2", "svd:2", "iir:120" (cut-off Hz, order 2) or
 * "iir:120:4" (order 4), and "none" into cfg->wall/wall_order/wall_cutoff_hz.
 * Returns 0, or -1 with a message naming the text and what was expected. */
int sono_dsp_parse_wall(const char *text, sono_dsp_config_t *cfg, char *err, size_t err_size);

typedef struct sono_dsp_pipeline sono_dsp_pipeline_t;

/* Allocates everything for frames up to max_nz x max_nx x max_ensemble
 * (max_ensemble 1 serves B-mode only). NULL + message on error (invalid
 * configuration, out of memory). */
sono_dsp_pipeline_t *sono_dsp_pipeline_create(const sono_dsp_config_t *cfg, uint32_t max_nz, uint32_t max_nx,
                                              uint32_t max_ensemble, char *err, size_t err_size);

/* Computes the planes in `wanted` (mask of SONO_PLANE_BIT of BMODE,
 * VELOCITY, POWER, VARIANCE) from `iq` and the acquisition (fc, demodulation
 * frequency, c (0 means 1540 m/s, the MUST default), PRF). Writes them to
 * out[] (capacity 4) in the order BMODE, VELOCITY, POWER, VARIANCE and
 * returns their count, or -1 with a message. acq_out (may be NULL) receives
 * a copy of *acq with nyquist_velocity_m_s, doppler_lag, ensemble_size and
 * the wall-filter fields set. Allocates nothing. */
int sono_dsp_pipeline_run(sono_dsp_pipeline_t *p, const sono_plane_t *iq, const sono_acquisition_t *acq,
                          uint32_t wanted, sono_plane_t *out, sono_acquisition_t *acq_out, char *err,
                          size_t err_size);

void sono_dsp_pipeline_destroy(sono_dsp_pipeline_t *p);

#ifdef __cplusplus
}
#endif

#endif
