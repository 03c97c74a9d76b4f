/* Spectral Doppler at the recording's range gate, with the STFT settings of
 * the reference (periodic Hann 256, hop 64, nfft 256, scaled by 1/sum(w)). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <sono/dsp/spectral.h>

#include "session_gate.h"

#define GATE_WINDOW 256u
#define GATE_HOP 64u
#define GATE_NFFT 256u
#define GATE_MAX_CYCLES 64u

struct session_gate {
   sono_dsp_stft_t *stft;
   sono_gate_t gate;           /* position from the recording, axes filled here */
   uint32_t iz, ix;            /* gate pixel */
   uint32_t samples, segments;
   float *db, *velocity, *envelope, *work;
   sono_dsp_cycle_t cycles[GATE_MAX_CYCLES];
};

static uint32_t nearest_index(double pos, double origin, double step, uint32_t n)
{
   long i = lround((pos - origin) / step);
   return (uint32_t)(i < 0 ? 0 : i >= (long)n ? (long)n - 1 : i);
}

static void fill_axes(session_gate_t *g, const sono_recording_info_t *info)
{
   const sono_acquisition_t *a = &info->acquisition;
   sono_dsp_stft_velocity_axis(g->stft, a->prf_hz, a->center_frequency_hz, a->sound_speed_m_s,
                               g->gate.angle_correction_rad, g->velocity);
   g->gate.velocity0_m_s = g->velocity[0];
   g->gate.dvelocity_m_s = g->velocity[1] - g->velocity[0];
   g->gate.time0_s = 0.5 * GATE_WINDOW / a->prf_hz;
   g->gate.dtime_s = GATE_HOP / a->prf_hz;
}

session_gate_t *session_gate_create(const sono_recording_info_t *info, sono_error_t *err)
{
   uint32_t n = info->acquisition.ensemble_size;
   if (!info->gate.present || n < GATE_WINDOW || !(info->acquisition.prf_hz > 0))
      return NULL;
   session_gate_t *g = calloc(1, sizeof *g);
   char msg[256];
   if (!g || !(g->stft = sono_dsp_stft_create(GATE_WINDOW, GATE_HOP, GATE_NFFT, n, msg, sizeof msg))) {
      free(g);
      sono_error_set(err, "spectral gate: %s", g ? msg : "out of memory");
      return NULL;
   }
   g->gate = info->gate;
   g->samples = n;
   g->segments = sono_dsp_stft_segments(g->stft, n);
   g->iz = nearest_index(g->gate.z_m, info->grid.z0_m, info->grid.dz_m, info->grid.nz);
   g->ix = nearest_index(g->gate.x_m, info->grid.x0_m, info->grid.dx_m, info->grid.nx);
   g->db = malloc(sizeof *g->db * GATE_NFFT * g->segments);
   g->velocity = malloc(sizeof *g->velocity * GATE_NFFT);
   g->envelope = malloc(sizeof *g->envelope * g->segments);
   g->work = malloc(sizeof *g->work * g->segments);
   if (!g->db || !g->velocity || !g->envelope || !g->work) {
      session_gate_destroy(g);
      sono_error_set(err, "spectral gate: out of memory");
      return NULL;
   }
   fill_axes(g, info);
   return g;
}

void session_gate_destroy(session_gate_t *g)
{
   if (!g)
      return;
   sono_dsp_stft_destroy(g->stft);
   free(g->db);
   free(g->velocity);
   free(g->envelope);
   free(g->work);
   free(g);
}

static int cmp_float(const void *a, const void *b)
{
   float x = *(const float *)a, y = *(const float *)b;
   return (x > y) - (x < y);
}

/* Median of one field over the cycles, using `work` as scratch. */
static double median_of(const sono_dsp_cycle_t *c, int n, size_t offset, float *work)
{
   if (n <= 0)
      return NAN;
   for (int i = 0; i < n; ++i)
      memcpy(&work[i], (const char *)&c[i] + offset, sizeof(float));
   qsort(work, (size_t)n, sizeof *work, cmp_float);
   return n % 2 ? work[n / 2] : 0.5 * (work[n / 2 - 1] + work[n / 2]);
}

int session_gate_run(session_gate_t *g, const sono_plane_t *iq, sono_frame_t *frame, sono_plane_t *plane,
                     session_gate_values_t *v, sono_error_t *err)
{
   char msg[256];
   const float *at = (const float *)iq->data + 2 * ((int64_t)g->iz * iq->stride[0] + (int64_t)g->ix * iq->stride[1]);
   uint32_t n = iq->shape[2] < g->samples ? iq->shape[2] : g->samples;
   if (sono_dsp_stft_db(g->stft, at, iq->stride[2], n, g->db, msg, sizeof msg) < 0)
      return sono_error_set(err, "spectral gate: %s", msg);
   uint32_t nseg = sono_dsp_stft_segments(g->stft, n);
   sono_dsp_spectral_envelope(g->db, GATE_NFFT, nseg, g->velocity, SONO_DSP_ENVELOPE_THRESHOLD_DB, g->envelope);
   int nc = sono_dsp_cardiac_cycles(g->envelope, nseg, g->cycles, GATE_MAX_CYCLES, g->work);
   v->psv_m_s = median_of(g->cycles, nc, offsetof(sono_dsp_cycle_t, psv_m_s), g->work);
   v->edv_m_s = median_of(g->cycles, nc, offsetof(sono_dsp_cycle_t, edv_m_s), g->work);
   v->ri = median_of(g->cycles, nc, offsetof(sono_dsp_cycle_t, ri), g->work);
   *plane = (sono_plane_t){sizeof *plane, SONO_PLANE_SPECTROGRAM, SONO_DTYPE_FLOAT32, {GATE_NFFT, nseg, 1},
                           {1, GATE_NFFT, 0}, g->db};
   frame->gate = g->gate;
   frame->gate.present = 1;
   return 0;
}
