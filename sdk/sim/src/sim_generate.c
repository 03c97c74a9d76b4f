/* Generator lifecycle and the per-frame pass: blood convolution per ensemble
 * sample, static tissue with clutter motion, colour artefacts, noise, gain. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_internal.h"

#define BLOOD_DB -35.0          /* clinical-spec §7.1 */
#define FULL_SCALE_DB 30.0      /* IQ magnitude that saturates, re fat */
#define COLOUR_NOISE_DB -30.0
#define COLOUR_NOISE_FRACTION 0.02
#define CLUTTER_HZ 0.3          /* slow hand/breathing motion */

static pthread_mutex_t plan_lock = PTHREAD_MUTEX_INITIALIZER; /* FFTW planning is not thread-safe */

/* Smallest n' >= n whose factors are 2, 3, 5, 7 (fast FFTW sizes). */
static int fft_size(int n)
{
   for (;; ++n) {
      int m = n;
      for (int p = 2; p <= 7; ++p)
         while (m % p == 0)
            m /= p;
      if (m == 1)
         return n;
   }
}

static void setup_psf(sono_sim_t *s)
{
   const sono_sim_case_t *c = &s->c;
   double fh = 0.5 * c->bandwidth * c->center_frequency_hz;   /* -6 dB half width */
   double sigma_f = fh / sqrt(2.0 * log(2.0));
   s->sigma_z = c->sound_speed_m_s / (2.0 * 2.0 * SIM_PI * sigma_f);
   s->sigma_x = c->lateral_fwhm_m / 2.3548;
   int kz = (int)ceil(4.0 * s->sigma_z / c->dz_m), kx = (int)ceil(4.0 * s->sigma_x / c->dx_m);
   s->fz = fft_size((int)s->nz + kz);
   s->fx = fft_size((int)s->nx + kx);
   (void)kz;
}

static void fill_psf(sono_sim_t *s, fftwf_complex *w)
{
   const sono_sim_case_t *c = &s->c;
   memset(w, 0, sizeof(fftwf_complex) * (size_t)s->fz * s->fx);
   double energy = 0, lateral_sum = 0;
   for (int ix = 0; ix < s->fx; ++ix) {
      int dx = ix <= s->fx / 2 ? ix : ix - s->fx; /* centred, wrapped */
      double gx = exp(-0.5 * pow(dx * c->dx_m / s->sigma_x, 2));
      lateral_sum += gx;
      for (int iz = 0; iz < s->fz; ++iz) {
         int dz = iz <= s->fz / 2 ? iz : iz - s->fz;
         double g = gx * exp(-0.5 * pow(dz * c->dz_m / s->sigma_z, 2));
         w[iz + (size_t)s->fz * ix] = (float)g;
         energy += g * g;
      }
   }
   /* unit energy: incoherent scatterers of variance a^2 give speckle power a^2 */
   double norm = 1.0 / sqrt(energy);
   s->psf_peak = norm;
   s->line_peak = norm * lateral_sum;
   double scale = norm / ((double)s->fz * s->fx); /* folds in the inverse-FFT 1/N */
   for (size_t i = 0; i < (size_t)s->fz * s->fx; ++i)
      w[i] *= (float)scale;
}

void sim_convolve(sono_sim_t *s, fftwf_complex *w)
{
   fftwf_execute_dft(s->fwd, w, w);
   size_t n = (size_t)s->fz * s->fx;
   for (size_t i = 0; i < n; ++i)
      w[i] *= s->psf_hat[i];
   fftwf_execute_dft(s->inv, w, w);
}

static double round_trip_db(const sono_sim_case_t *c, double z)
{
   double db = 0, step = c->dz_m * 0.5, x = c->x0_m + 0.5 * c->nx * c->dx_m;
   for (double zz = 0.5 * step; zz < z; zz += step)
      db += 2.0 * sim_attenuation_db_per_m(c, x, zz) * step;
   return db;
}

/* Thermal noise is white before the TGC; the TGC that undoes the layer
 * attenuation raises it with depth. snr_db holds at the reference depth. */
static void setup_noise(sono_sim_t *s)
{
   const sono_sim_case_t *c = &s->c;
   double zref = c->vessel_count ? c->vessels[0].depth_m : 5e-3;
   double att_ref = round_trip_db(c, zref);
   double sigma_ref = s->blood_amp * SIM_DB(-c->snr_db);
   double att = 0, x = c->x0_m + 0.5 * c->nx * c->dx_m;
   for (uint32_t iz = 0; iz < s->nz; ++iz) {
      double z = c->z0_m + iz * c->dz_m;
      if (iz == 0)
         att = round_trip_db(c, z);
      else
         att += 2.0 * sim_attenuation_db_per_m(c, x, z - 0.5 * c->dz_m) * c->dz_m;
      s->noise_sigma[iz] = (float)(sigma_ref * SIM_DB(att - att_ref));
   }
}

static void setup_levels(sono_sim_t *s)
{
   const sono_sim_case_t *c = &s->c;
   s->k2 = 4.0 * SIM_PI * c->center_frequency_hz / c->sound_speed_m_s;
   s->blood_amp = SIM_DB(BLOOD_DB);
   s->full_scale = SIM_DB(FULL_SCALE_DB);
   s->out_gain = 1.0;
   s->colour_noise_amp = 0.0;
   s->flash_shift_px = (int)lround(0.2e-3 / c->dz_m);
   s->bone_z = c->layers.bone_depth_m;
   for (uint32_t i = 0; i < c->artefact_count; ++i) {
      switch (c->artefacts[i].kind) {
      case SONO_SIM_ART_GAIN_HIGH: s->out_gain = SIM_DB(15.0); s->saturate = 1; break;
      case SONO_SIM_ART_GAIN_LOW: s->out_gain = SIM_DB(-20.0); break;
      case SONO_SIM_ART_COLOUR_NOISE: s->colour_noise_amp = SIM_DB(COLOUR_NOISE_DB); break;
      default: break;
      }
   }
}

static int alloc_buffers(sono_sim_t *s)
{
   size_t nf = (size_t)s->fz * s->fx;
   s->psf_hat = fftwf_malloc(sizeof(fftwf_complex) * nf);
   s->work = calloc(s->threads, sizeof *s->work);
   s->tissue = fftwf_malloc(sizeof(float complex) * s->npix);
   s->gain = malloc(sizeof(float) * s->npix);
   s->noise_sigma = malloc(sizeof(float) * s->nz);
   s->flash_dphi = malloc(sizeof(float) * s->npix);
   s->twinkle = malloc(sizeof(float) * s->npix);
   if (!s->psf_hat || !s->work || !s->tissue || !s->gain || !s->noise_sigma || !s->flash_dphi || !s->twinkle)
      return -1;
   for (uint32_t t = 0; t < s->threads; ++t)
      if (!(s->work[t] = fftwf_malloc(sizeof(fftwf_complex) * nf)))
         return -1;
   return 0;
}

static int build_tissue(sono_sim_t *s)
{
   uint8_t *lumen = malloc(s->npix);
   float *scratch = malloc(sizeof(float) * 2 * s->npix);
   int lobes = 0; /* side-lobe levels are calibrated on a second padded grid */
   for (uint32_t i = 0; i < s->c.artefact_count; ++i)
      lobes |= s->c.artefacts[i].kind == SONO_SIM_ART_SIDE_LOBE;
   fftwf_complex *tmp = lobes ? fftwf_malloc(sizeof(fftwf_complex) * (size_t)s->fz * s->fx) : NULL;
   if (!lumen || !scratch || (lobes && !tmp)) {
      free(lumen);
      free(scratch);
      fftwf_free(tmp);
      return -1;
   }
   fftwf_complex *w = s->work[0];
   memset(w, 0, sizeof(fftwf_complex) * (size_t)s->fz * s->fx);
   sim_tissue_build(s, w, lumen, scratch, tmp);
   fftwf_free(tmp);
   sim_convolve(s, w);
   for (uint32_t ix = 0; ix < s->nx; ++ix)
      for (uint32_t iz = 0; iz < s->nz; ++iz) {
         s->tissue[iz + (size_t)s->nz * ix] = w[iz + (size_t)s->fz * ix];
      }
   free(lumen);
   free(scratch);
   return 0;
}

sono_sim_t *sono_sim_create(const sono_sim_case_t *c, sono_error_t *err)
{
   if (sono_sim_case_validate(c, err))
      return NULL;
   sono_sim_t *s = calloc(1, sizeof *s);
   if (!s) {
      sono_error_set(err, "case \"%s\": out of memory creating the generator", c->scenario);
      return NULL;
   }
   s->c = *c;
   s->nz = c->nz;
   s->nx = c->nx;
   s->ne = c->ensemble;
   s->npix = (size_t)c->nz * c->nx;
   s->threads = c->threads > 1 ? c->threads : 1;
   if (s->threads > c->ensemble)
      s->threads = c->ensemble;
   setup_levels(s);
   setup_psf(s);
   if (alloc_buffers(s))
      goto oom;
   pthread_mutex_lock(&plan_lock);
   s->fwd = fftwf_plan_dft_2d(s->fx, s->fz, s->work[0], s->work[0], FFTW_FORWARD, FFTW_ESTIMATE);
   s->inv = fftwf_plan_dft_2d(s->fx, s->fz, s->work[0], s->work[0], FFTW_BACKWARD, FFTW_ESTIMATE);
   pthread_mutex_unlock(&plan_lock);
   if (!s->fwd || !s->inv)
      goto oom;
   fill_psf(s, s->work[0]);
   fftwf_execute_dft(s->fwd, s->work[0], s->psf_hat);
   if (sim_vessels_build(s) || build_tissue(s))
      goto oom;
   setup_noise(s);
   return s;
oom:
   sono_error_set(err, "case \"%s\": out of memory allocating %u x %u x %u buffers", c->scenario, c->nz, c->nx,
                  c->ensemble);
   sono_sim_destroy(s);
   return NULL;
}

void sono_sim_destroy(sono_sim_t *s)
{
   if (!s)
      return;
   pthread_mutex_lock(&plan_lock);
   if (s->fwd)
      fftwf_destroy_plan(s->fwd);
   if (s->inv)
      fftwf_destroy_plan(s->inv);
   pthread_mutex_unlock(&plan_lock);
   if (s->work)
      for (uint32_t t = 0; t < s->threads; ++t)
         fftwf_free(s->work[t]);
   free(s->work);
   fftwf_free(s->psf_hat);
   fftwf_free(s->tissue);
   free(s->gain);
   free(s->noise_sigma);
   free(s->flash_dphi);
   free(s->twinkle);
   sim_vessels_free(s);
   free(s);
}

const sono_sim_case_t *sono_sim_get_case(const sono_sim_t *s) { return &s->c; }

/* ---- per frame -------------------------------------------------------------- */

typedef struct frame_job {
   sono_sim_t *s;
   uint32_t frame;
   float *iq;
   double clutter_dphi;  /* tissue phase step per ensemble sample */
   int flash;
   uint32_t tid;
} frame_job_t;

static int frame_has_flash(const sono_sim_case_t *c, uint32_t f)
{
   for (uint32_t i = 0; i < c->artefact_count; ++i)
      if (c->artefacts[i].kind == SONO_SIM_ART_FLASH && f >= c->artefacts[i].frame0 && f <= c->artefacts[i].frame1)
         return 1;
   return 0;
}

static void sample_pass(const frame_job_t *j, uint32_t n, fftwf_complex *w)
{
   const sono_sim_t *s = j->s;
   const uint64_t seed = s->c.seed, key = (uint64_t)j->frame * s->ne + n;
   int blood = s->nparticles > 0;
   if (blood) {
      memset(w, 0, sizeof(fftwf_complex) * (size_t)s->fz * s->fx);
      sim_particles_splat(s, n, w);
      sim_convolve((sono_sim_t *)s, w);
   }
   const float complex rot = cexpf(I * (float)(j->clutter_dphi * n));
   const uint64_t noise_base = sim_hash(seed, RNG_NOISE, key, 0);
   const uint64_t twinkle_base = sim_hash(seed, RNG_TWINKLE, key, 0);
   const uint64_t cn_pick = sim_hash(seed, RNG_COLOUR_NOISE, j->frame, 0);
   const uint64_t cn_phase = sim_hash(seed, RNG_COLOUR_NOISE, key, 1);
   const int shift = j->flash ? s->flash_shift_px : 0;
   const float g = (float)s->out_gain, fs = (float)s->full_scale;
   float complex *out = (float complex *)j->iq + (size_t)n * s->npix;
   for (uint32_t ix = 0; ix < s->nx; ++ix) {
      for (uint32_t iz = 0; iz < s->nz; ++iz) {
         size_t p = iz + (size_t)s->nz * ix;
         float complex v = 0;
         long src = (long)iz - shift;
         if (src >= 0) {
            v = s->tissue[(size_t)src + (size_t)s->nz * ix] * rot;
            if (j->flash && s->flash_dphi[p] != 0.0f)
               v *= cexpf(I * (s->flash_dphi[p] * (float)n));
         }
         if (blood)
            v += w[iz + (size_t)s->fz * ix];
         if (s->twinkle[p] > 0.0f) { /* clock jitter: one random phase per A-line and pulse */
            float th = (float)(2.0 * SIM_PI * sim_u01(sim_mix(twinkle_base + ix)));
            v += s->twinkle[p] * cexpf(I * th);
         }
         if (s->colour_noise_amp > 0 && sim_u01(sim_mix(cn_pick + p)) < COLOUR_NOISE_FRACTION) {
            float th = (float)(2.0 * SIM_PI * sim_u01(sim_mix(cn_phase + p)));
            v += (float)s->colour_noise_amp * cexpf(I * th);
         }
         uint64_t h = sim_mix(noise_base + p);
         float sg = s->noise_sigma[iz] * 0.70710678f;
         v += sg * sim_gauss16(h) + I * (sg * sim_gauss16(sim_mix(h)));
         v *= g;
         if (s->saturate) {
            float m = cabsf(v);
            if (m > fs)
               v *= fs / m;
         }
         out[p] = v;
      }
   }
}

static void *frame_worker(void *arg)
{
   frame_job_t *j = arg;
   for (uint32_t n = j->tid; n < j->s->ne; n += j->s->threads)
      sample_pass(j, n, j->s->work[j->tid]);
   return NULL;
}

int sono_sim_generate_frame(sono_sim_t *s, uint32_t frame, float *iq, sono_error_t *err)
{
   if (frame >= s->c.frames)
      return sono_error_set(err, "case \"%s\": frame %u: out of range, the case has %u frames", s->c.scenario, frame,
                            s->c.frames);
   sim_particles_draw(s, frame);
   double t = sim_frame_time(&s->c, frame);
   double vc = s->c.clutter_speed_m_s * sin(2.0 * SIM_PI * CLUTTER_HZ * t + 0.7);
   frame_job_t jobs[256];
   pthread_t tids[256];
   uint32_t started = 0;
   for (uint32_t k = 0; k < s->threads; ++k)
      jobs[k] = (frame_job_t){s, frame, iq, s->k2 * vc / s->c.prf_hz, frame_has_flash(&s->c, frame), k};
   for (uint32_t k = 1; k < s->threads; ++k)
      if (pthread_create(&tids[k], NULL, frame_worker, &jobs[k]) == 0)
         started = k;
      else
         break;
   /* any worker that could not start is run here, so output never depends on it */
   frame_worker(&jobs[0]);
   for (uint32_t k = started + 1; k < s->threads; ++k)
      frame_worker(&jobs[k]);
   for (uint32_t k = 1; k <= started; ++k)
      pthread_join(tids[k], NULL);
   return 0;
}

void sono_sim_grid(const sono_sim_t *s, sono_grid_t *g)
{
   g->nx = s->nx;
   g->nz = s->nz;
   g->dx_m = s->c.dx_m;
   g->dz_m = s->c.dz_m;
   g->x0_m = s->c.x0_m;
   g->z0_m = s->c.z0_m;
}

void sono_sim_acquisition(const sono_sim_t *s, sono_acquisition_t *a)
{
   const sono_sim_case_t *c = &s->c;
   memset(a, 0, sizeof *a);
   a->center_frequency_hz = c->center_frequency_hz;
   a->demodulation_frequency_hz = c->center_frequency_hz;
   a->sampling_frequency_hz = c->sound_speed_m_s / (2.0 * c->dz_m); /* fast-time rate of the depth grid */
   a->sound_speed_m_s = c->sound_speed_m_s;
   a->prf_hz = c->prf_hz;
   a->frame_rate_hz = c->frame_rate_hz;
   a->steering_angle_rad = 0.0;
   a->ensemble_size = c->ensemble;
   a->wall_filter = c->wall_filter;
   a->wall_filter_order = c->wall_filter_order;
   a->doppler_lag = 1;
   a->nyquist_velocity_m_s = sono_sim_nyquist(c);
   a->probe_geometry = SONO_PROBE_LINEAR;
   a->probe_elements = c->nx;
   a->probe_pitch_m = c->dx_m;
   snprintf(a->probe_name, sizeof a->probe_name, "L18-sim");
}
