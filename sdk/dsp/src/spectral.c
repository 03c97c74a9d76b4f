/* Spectral Doppler: STFT with a plan made once, envelope and cycle indices. */
#include <sono/dsp/spectral.h>

#include <fftw3.h>
#include <pthread.h>
#include <stdlib.h>

#include "dsp_internal.h"

/* FFTW's planner is not thread-safe. */
static pthread_mutex_t planner_lock = PTHREAD_MUTEX_INITIALIZER;

struct sono_dsp_stft {
   uint32_t window, hop, nfft, max_samples, max_seg;
   float *win;          /* window / sum(window): the scaling is folded in */
   float *win2;         /* the same, each value twice: multiplies interleaved (re, im) in one loop */
   fftwf_complex *buf;  /* nfft: zero-padded windowed segment, transformed in place */
   fftwf_plan plan;
   fftwf_complex *all;  /* max_seg x nfft: every segment of a full-length input */
   fftwf_plan plan_all; /* the max_seg transforms in one call (FFTW vectorises across them) */
};

sono_dsp_stft_t *sono_dsp_stft_create(uint32_t window, uint32_t hop, uint32_t nfft, uint32_t max_samples,
                                      char *err, size_t err_size)
{
   if (window < 2 || hop < 1 || nfft < window || max_samples < window || nfft > (1u << 20)) {
      dsp_fail(err, err_size,
               "STFT: window %u, hop %u, nfft %u, max samples %u; expected window >= 2, hop >= 1, "
               "window <= nfft <= 2^20, max samples >= window",
               window, hop, nfft, max_samples);
      return NULL;
   }
   sono_dsp_stft_t *s = calloc(1, sizeof *s);
   if (!s)
      goto oom;
   s->window = window, s->hop = hop, s->nfft = nfft, s->max_samples = max_samples;
   s->max_seg = 1 + (max_samples - window) / hop;
   s->win = fftwf_malloc(sizeof *s->win * window);
   s->win2 = fftwf_malloc(2 * sizeof *s->win2 * window);
   s->buf = fftwf_malloc(sizeof *s->buf * (size_t)nfft);
   if (!s->win || !s->win2 || !s->buf)
      goto oom;
   double sum = 0;
   for (uint32_t k = 0; k < window; ++k)
      sum += 0.5 - 0.5 * cos(2.0 * DSP_PI * k / window);
   for (uint32_t k = 0; k < window; ++k) {
      s->win[k] = (float)((0.5 - 0.5 * cos(2.0 * DSP_PI * k / window)) / sum);
      s->win2[2 * k] = s->win2[2 * k + 1] = s->win[k];
   }
   memset(s->buf, 0, sizeof *s->buf * (size_t)nfft);
   pthread_mutex_lock(&planner_lock);
   s->plan = fftwf_plan_dft_1d((int)nfft, s->buf, s->buf, FFTW_FORWARD, FFTW_MEASURE);
   pthread_mutex_unlock(&planner_lock);
   if (!s->plan) {
      sono_dsp_stft_destroy(s);
      dsp_fail(err, err_size, "STFT: FFTW could not plan a transform of %u points", nfft);
      return NULL;
   }
   memset(s->buf, 0, sizeof *s->buf * (size_t)nfft); /* MEASURE overwrote it; the padding must be 0 */
   s->all = fftwf_malloc(sizeof *s->all * (size_t)nfft * s->max_seg);
   if (!s->all)
      goto oom;
   const int len = (int)nfft;
   pthread_mutex_lock(&planner_lock);
   s->plan_all = fftwf_plan_many_dft(1, &len, (int)s->max_seg, s->all, NULL, 1, len, s->all, NULL, 1, len,
                                     FFTW_FORWARD, FFTW_MEASURE);
   pthread_mutex_unlock(&planner_lock);
   if (!s->plan_all) {
      dsp_fail(err, err_size, "STFT: FFTW could not plan %u transforms of %u points", s->max_seg, nfft);
      sono_dsp_stft_destroy(s);
      return NULL;
   }
   memset(s->all, 0, sizeof *s->all * (size_t)nfft * s->max_seg);
   return s;
oom:
   sono_dsp_stft_destroy(s);
   dsp_fail(err, err_size, "STFT: out of memory for %u samples, nfft %u", max_samples, nfft);
   return NULL;
}

void sono_dsp_stft_destroy(sono_dsp_stft_t *s)
{
   if (!s)
      return;
   pthread_mutex_lock(&planner_lock);
   if (s->plan)
      fftwf_destroy_plan(s->plan);
   if (s->plan_all)
      fftwf_destroy_plan(s->plan_all);
   pthread_mutex_unlock(&planner_lock);
   fftwf_free(s->all);
   fftwf_free(s->win);
   fftwf_free(s->win2);
   fftwf_free(s->buf);
   free(s);
}

uint32_t sono_dsp_stft_nfft(const sono_dsp_stft_t *s) { return s->nfft; }

uint32_t sono_dsp_stft_segments(const sono_dsp_stft_t *s, uint32_t n)
{
   return n < s->window ? 0 : 1 + (n - s->window) / s->hop;
}

/* Windows segment g of the input into b (nfft values, padding already 0). */
DSP_HOT static void window_segment(const sono_dsp_stft_t *s, const float *iq, int64_t stride, uint32_t g, float *restrict b)
{
   const float *restrict win = s->win;
   const uint32_t w = s->window;
   const int64_t start = (int64_t)g * s->hop;
   if (stride == 1) {
      const float *restrict x = iq + 2 * start, *restrict w2 = s->win2;
      for (uint32_t j = 0; j < 2 * w; ++j)
         b[j] = w2[j] * x[j];
   } else {
      for (uint32_t k = 0; k < w; ++k) {
         const float *x = iq + 2 * (start + k) * stride;
         b[2 * k] = win[k] * x[0];
         b[2 * k + 1] = win[k] * x[1];
      }
   }
}

typedef float v4f __attribute__((vector_size(16)));
typedef int32_t v4i __attribute__((vector_size(16)));

/* o[r] = re^2 + im^2 of n interleaved values, four per step (the same
 * expression as the scalar tail). */
DSP_HOT static void mag2(const float *restrict b, uint32_t n, float *restrict o)
{
   uint32_t r = 0;
   for (; r + 4 <= n; r += 4) {
      v4f a, c;
      __builtin_memcpy(&a, b + 2 * r, sizeof a);
      __builtin_memcpy(&c, b + 2 * r + 4, sizeof c);
      a *= a;
      c *= c;
#if defined(__clang__)
      const v4f m = __builtin_shufflevector(a, c, 0, 2, 4, 6) + __builtin_shufflevector(a, c, 1, 3, 5, 7);
#else
      const v4f m = __builtin_shuffle(a, c, (v4i){0, 2, 4, 6}) + __builtin_shuffle(a, c, (v4i){1, 3, 5, 7});
#endif
      __builtin_memcpy(o + r, &m, sizeof m);
   }
   for (; r < n; ++r)
      o[r] = b[2 * r] * b[2 * r] + b[2 * r + 1] * b[2 * r + 1];
}

/* fftshifted |X|^2 of one transformed segment: row r holds FFT bin
 * (r + nf - nf/2) mod nf. */
static void shifted_power(const float *restrict b, uint32_t nf, float *restrict o)
{
   const uint32_t half = nf / 2;
   mag2(b, nf - half, o + half);
   mag2(b + 2 * (nf - half), half, o);
}

int sono_dsp_stft_power(sono_dsp_stft_t *s, const float *iq, int64_t stride, uint32_t n, float *power, char *err,
                        size_t err_size)
{
   if (!iq || !power)
      return dsp_fail(err, err_size, "STFT: no input samples or output array");
   if (n > s->max_samples)
      return dsp_fail(err, err_size, "STFT: %u samples, expected at most the %u set up at create", n, s->max_samples);
   const uint32_t nseg = sono_dsp_stft_segments(s, n);
   const uint32_t nf = s->nfft;
   if (nseg == s->max_seg) { /* the common case: one batched transform */
      for (uint32_t g = 0; g < nseg; ++g)
         window_segment(s, iq, stride, g, (float *)(s->all + (size_t)g * nf));
      fftwf_execute(s->plan_all);
      for (uint32_t g = 0; g < nseg; ++g)
         shifted_power((const float *)(s->all + (size_t)g * nf), nf, power + (size_t)g * nf);
      return (int)nseg;
   }
   for (uint32_t g = 0; g < nseg; ++g) {
      window_segment(s, iq, stride, g, (float *)s->buf);
      fftwf_execute(s->plan);
      shifted_power((const float *)s->buf, nf, power + (size_t)g * nf);
   }
   return (int)nseg;
}

/* x <- 10 log10(max(x, 1e-30)) in place (|X|^2 to 20 log10 |X|). */
DSP_HOT static void db_in_place(float *restrict x, size_t n)
{
   for (size_t i = 0; i < n; ++i) {
      const float p = x[i] > 1e-30f ? x[i] : 1e-30f;
      x[i] = dsp_db10f(p);
   }
}

int sono_dsp_stft_db(sono_dsp_stft_t *s, const float *iq, int64_t stride, uint32_t n, float *db, char *err,
                     size_t err_size)
{
   int nseg = sono_dsp_stft_power(s, iq, stride, n, db, err, err_size);
   if (nseg < 0)
      return -1;
   db_in_place(db, (size_t)nseg * s->nfft);
   return nseg;
}

void sono_dsp_stft_velocity_axis(const sono_dsp_stft_t *s, double prf_hz, double fc_hz, double c_m_s,
                                 double angle_rad, float *velocity)
{
   const uint32_t nf = s->nfft;
   const double k = c_m_s / (2.0 * fc_hz * cos(angle_rad));
   for (uint32_t r = 0; r < nf; ++r)
      velocity[r] = (float)(((double)r - (double)(nf / 2)) * prf_hz / nf * k);
}

/* Level of row r averaged in dB over rows r-1..r+1: damps the speckle of
 * the Doppler spectrum, which would otherwise move the threshold crossing. */
static float smoothed_level(const float *col, uint32_t nbins, uint32_t r)
{
   const uint32_t a = r ? r - 1 : r, b = r + 1 < nbins ? r + 1 : r;
   return (col[a] + col[r] + col[b]) / 3.0f;
}

void sono_dsp_spectral_envelope(const float *db, uint32_t nbins, uint32_t nseg, const float *velocity,
                                float threshold_db, float *envelope)
{
   for (uint32_t g = 0; g < nseg; ++g) {
      const float *col = db + (size_t)g * nbins;
      uint32_t peak = 0;
      float best = smoothed_level(col, nbins, 0);
      for (uint32_t r = 1; r < nbins; ++r) {
         const float l = smoothed_level(col, nbins, r);
         if (l > best)
            best = l, peak = r;
      }
      const float level = best + threshold_db;
      uint32_t edge = peak;
      if (velocity[peak] >= 0) {
         for (uint32_t r = nbins; r-- > peak;)
            if (velocity[r] >= 0 && smoothed_level(col, nbins, r) >= level) {
               edge = r;
               break;
            }
      } else {
         for (uint32_t r = 0; r <= peak; ++r)
            if (velocity[r] <= 0 && smoothed_level(col, nbins, r) >= level) {
               edge = r;
               break;
            }
      }
      envelope[g] = velocity[edge];
   }
}


int sono_dsp_cardiac_cycles(const float *env, uint32_t nseg, sono_dsp_cycle_t *cycles, uint32_t max_cycles,
                            float *work)
{
   if (nseg < 4)
      return 0;
   for (uint32_t i = 0; i < nseg; ++i)
      work[i] = fabsf(env[i]);
   const float p10 = sono_select_kth(work, nseg, nseg / 10), p90 = sono_select_kth(work, nseg, 9 * nseg / 10);
   const float mid = 0.5f * (p10 + p90);
   /* 3-column moving average of |envelope| against spectral noise */
   for (uint32_t i = 0; i < nseg; ++i) {
      const uint32_t a = i ? i - 1 : 0, b = i + 1 < nseg ? i + 1 : i;
      work[i] = (fabsf(env[a]) + fabsf(env[i]) + fabsf(env[b])) / 3.0f;
   }
   uint32_t starts[1024], ns = 0;
   int below = work[0] < mid;
   for (uint32_t i = 1; i < nseg && ns < 1024; ++i) {
      if (below && work[i] >= mid) {
         /* step back to the foot of the upstroke */
         uint32_t f = i;
         while (f > 0 && work[f - 1] < work[f] && (ns == 0 || f - 1 > starts[ns - 1]))
            --f;
         starts[ns++] = f;
      }
      below = work[i] < mid;
   }
   int count = 0;
   for (uint32_t c = 0; c + 1 < ns && (uint32_t)count < max_cycles; ++c) {
      const uint32_t s0 = starts[c], s1 = starts[c + 1];
      if (s1 <= s0 + 1)
         continue;
      float peak = env[s0], sum = 0.0f;
      for (uint32_t i = s0; i < s1; ++i) {
         peak = fabsf(env[i]) > fabsf(peak) ? env[i] : peak;
         sum += env[i];
      }
      sono_dsp_cycle_t *cy = &cycles[count++];
      cy->start = s0, cy->end = s1;
      cy->psv_m_s = peak;
      cy->edv_m_s = env[s1 - 1];
      cy->mean_m_s = sum / (float)(s1 - s0);
      const float ps = fabsf(peak), ed = fabsf(cy->edv_m_s), mn = fabsf(cy->mean_m_s);
      cy->ri = ps > 0 ? (ps - ed) / ps : 0.0f;
      cy->pi = mn > 0 ? (ps - ed) / mn : 0.0f;
   }
   return count;
}
