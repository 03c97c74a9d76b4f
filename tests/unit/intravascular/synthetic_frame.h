/* Analysis input over synthetic planes for the intravascular unit tests:
 * nz x nx pixels, column-major (row stride 1, column stride nz), B-mode
 * uint8 and velocity / power / variance float32, one frame at 5 Hz with
 * velocity scale `vn` (m/s), the grid centred laterally on x = 0.
 * The planes are the caller's and must outlive the input; `in` points into
 * the struct itself, so the struct must not be copied or moved after
 * syn_frame_init(). Header-only; include <cmocka.h> first (syn_context and
 * syn_analyse fail the calling test on an error). */
#ifndef SYNTHETIC_FRAME_H
#define SYNTHETIC_FRAME_H

#include <stdint.h>

#include <sono/analysis/analysis.h>

typedef struct syn_frame {
   sono_grid_t grid;
   sono_acquisition_t acq;
   sono_plane_t bmode, velocity, power, variance;
   sono_an_input_t in;
} syn_frame_t;

static inline sono_plane_t syn_plane(sono_plane_kind_t kind, sono_dtype_t dtype, uint32_t nz, uint32_t nx, const void *data)
{
   return (sono_plane_t){sizeof(sono_plane_t), kind, dtype, {nz, nx, 1}, {1, nz, (int64_t)nz * nx}, data};
}

static inline void syn_frame_init(syn_frame_t *f, uint32_t nz, uint32_t nx, double dz_m, double dx_m, double vn,
                                  uint8_t *bmode, float *velocity, float *power, float *variance)
{
   f->grid = (sono_grid_t){.nz = nz, .nx = nx, .dz_m = dz_m, .dx_m = dx_m, .x0_m = -0.5 * nx * dx_m};
   f->acq = (sono_acquisition_t){.frame_rate_hz = 5.0, .nyquist_velocity_m_s = vn};
   f->bmode = syn_plane(SONO_PLANE_BMODE, SONO_DTYPE_UINT8, nz, nx, bmode);
   f->velocity = syn_plane(SONO_PLANE_VELOCITY, SONO_DTYPE_FLOAT32, nz, nx, velocity);
   f->power = syn_plane(SONO_PLANE_POWER, SONO_DTYPE_FLOAT32, nz, nx, power);
   f->variance = syn_plane(SONO_PLANE_VARIANCE, SONO_DTYPE_FLOAT32, nz, nx, variance);
   f->in = (sono_an_input_t){&f->grid, &f->acq, &f->bmode, NULL, &f->velocity, &f->power, &f->variance};
}

/* A new analysis context for nz x nx frames (the caller destroys it). */
static inline sono_an_context_t *syn_context(uint32_t nz, uint32_t nx)
{
   sono_error_t err;
   sono_an_context_t *ctx = sono_an_create(nz, nx, &err);
   if (!ctx)
      fail_msg("%s", err.message);
   return ctx;
}

/* The frame through the analysis with the default thresholds. */
static inline const sono_an_result_t *syn_analyse(sono_an_context_t *ctx, const syn_frame_t *f)
{
   sono_an_config_t cfg;
   sono_an_config_default(&cfg);
   sono_error_t err;
   const sono_an_result_t *r = sono_an_analyse(ctx, &cfg, &f->in, &err);
   if (!r)
      fail_msg("%s", err.message);
   return r;
}

#endif
