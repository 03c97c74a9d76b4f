/* RF to IQ: mixing, then MATLAB butter(5, Wn) + filtfilt in double. */
#include <sono/dsp/bmode.h>

#include <complex.h>
#include <stdlib.h>

#include "dsp_internal.h"

#define BW_ORDER 5
#define NB (BW_ORDER + 1)
#define NFACT (3 * (NB - 1)) /* MATLAB filtfilt edge length */

struct sono_dsp_rf2iq {
   uint32_t max_samples;
   double fs, fc, t0;
   double b[NB], a[NB], zi[NB - 1];
   double complex *y; /* max_samples + 2*NFACT */
};

/* Coefficients of prod (x - r_k), highest power first. */
static void poly_from_roots(const double complex *r, int n, double complex *c)
{
   c[0] = 1;
   for (int i = 1; i <= n; ++i)
      c[i] = 0;
   for (int k = 0; k < n; ++k)
      for (int i = k + 1; i >= 1; --i)
         c[i] -= r[k] * c[i - 1];
}

/* butter(5, wn) low-pass as MATLAB: pre-warped analog prototype, bilinear
 * transform at fs = 2, unit gain at DC. */
static void butter_lowpass(double wn, double *b, double *a)
{
   const double u = 4.0 * tan(DSP_PI * wn / 2.0);
   double complex zp[BW_ORDER], zz[BW_ORDER], ca[NB], cb[NB];
   for (int k = 0; k < BW_ORDER; ++k) {
      double complex p = u * cexp(I * DSP_PI * (2.0 * k + BW_ORDER + 1) / (2.0 * BW_ORDER));
      zp[k] = (4.0 + p) / (4.0 - p);
      zz[k] = -1.0;
   }
   poly_from_roots(zp, BW_ORDER, ca);
   poly_from_roots(zz, BW_ORDER, cb);
   double sa = 0, sb = 0;
   for (int i = 0; i < NB; ++i)
      sa += creal(ca[i]), sb += creal(cb[i]);
   for (int i = 0; i < NB; ++i) {
      a[i] = creal(ca[i]);
      b[i] = creal(cb[i]) * sa / sb;
   }
}

/* MATLAB filtfilt's initial state: solves (I - A) zi = b(2:) - b(1) a(2:)
 * with A the companion-like matrix of the transposed direct form II. */
static void filtfilt_zi(const double *b, const double *a, double *zi)
{
   const int n = NB - 1;
   double m[NB - 1][NB], *rhs;
   for (int i = 0; i < n; ++i) {
      for (int j = 0; j < n; ++j)
         m[i][j] = (i == j) - ((j == 0 ? -a[i + 1] : 0) + (j == i + 1 ? 1 : 0));
      m[i][n] = b[i + 1] - b[0] * a[i + 1];
   }
   for (int c = 0; c < n; ++c) { /* Gaussian elimination with partial pivoting */
      int piv = c;
      for (int r = c + 1; r < n; ++r)
         if (fabs(m[r][c]) > fabs(m[piv][c]))
            piv = r;
      for (int j = 0; j <= n; ++j) {
         double t = m[c][j];
         m[c][j] = m[piv][j];
         m[piv][j] = t;
      }
      for (int r = 0; r < n; ++r)
         if (r != c) {
            double f = m[r][c] / m[c][c];
            for (int j = c; j <= n; ++j)
               m[r][j] -= f * m[c][j];
         }
   }
   rhs = zi;
   for (int i = 0; i < n; ++i)
      rhs[i] = m[i][n] / m[i][i];
}

sono_dsp_rf2iq_t *sono_dsp_rf2iq_create(uint32_t max_samples, double fs_hz, double fc_hz, double bandwidth_pct,
                                        double t0_s, char *err, size_t err_size)
{
   if (!(fs_hz > 0) || !(fc_hz > 0)) {
      dsp_fail(err, err_size, "rf2iq: sampling frequency %g Hz and centre frequency %g Hz, expected both > 0", fs_hz,
               fc_hz);
      return NULL;
   }
   if (max_samples <= 3 * NFACT) {
      dsp_fail(err, err_size, "rf2iq: %u samples per line, expected more than %d (filtfilt edge length x 3)",
               max_samples, 3 * NFACT);
      return NULL;
   }
   double wn = bandwidth_pct > 0 ? bandwidth_pct * fc_hz / 100.0 / fs_hz : fmin(2.0 * fc_hz / fs_hz, 0.5);
   if (!(wn > 0 && wn < 1)) {
      dsp_fail(err, err_size, "rf2iq: normalised cut-off %g (bandwidth %g %%, fc %g Hz, fs %g Hz), expected in (0, 1)",
               wn, bandwidth_pct, fc_hz, fs_hz);
      return NULL;
   }
   sono_dsp_rf2iq_t *r = calloc(1, sizeof *r);
   if (!r || !(r->y = malloc(sizeof *r->y * ((size_t)max_samples + 2 * NFACT)))) {
      free(r);
      dsp_fail(err, err_size, "rf2iq: out of memory for %u samples", max_samples);
      return NULL;
   }
   r->max_samples = max_samples;
   r->fs = fs_hz, r->fc = fc_hz, r->t0 = t0_s;
   butter_lowpass(wn, r->b, r->a);
   filtfilt_zi(r->b, r->a, r->zi);
   return r;
}

void sono_dsp_rf2iq_destroy(sono_dsp_rf2iq_t *r)
{
   if (!r)
      return;
   free(r->y);
   free(r);
}

/* MATLAB filter() with initial state zi*y[0], in place, forward. */
static void filter_inplace(const sono_dsp_rf2iq_t *r, double complex *y, size_t n)
{
   double complex z[NB];
   for (int i = 0; i < NB - 1; ++i)
      z[i] = r->zi[i] * y[0];
   z[NB - 1] = 0;
   for (size_t t = 0; t < n; ++t) {
      const double complex x = y[t];
      const double complex out = r->b[0] * x + z[0];
      for (int i = 0; i < NB - 2; ++i)
         z[i] = r->b[i + 1] * x + z[i + 1] - r->a[i + 1] * out;
      z[NB - 2] = r->b[NB - 1] * x - r->a[NB - 1] * out;
      y[t] = out;
   }
}

static void reverse(double complex *y, size_t n)
{
   for (size_t i = 0, j = n - 1; i < j; ++i, --j) {
      double complex t = y[i];
      y[i] = y[j];
      y[j] = t;
   }
}

static double rf_sample(const sono_plane_t *rf, uint32_t i, uint32_t ch, uint32_t k)
{
   const int64_t off = (int64_t)i * rf->stride[0] + (int64_t)ch * rf->stride[1] + (int64_t)k * rf->stride[2];
   return rf->dtype == SONO_DTYPE_INT16 ? (double)((const int16_t *)rf->data)[off]
                                        : (double)((const float *)rf->data)[off];
}

int sono_dsp_rf2iq_run(sono_dsp_rf2iq_t *r, const sono_plane_t *rf, float *iq, size_t ld, char *err,
                       size_t err_size)
{
   if (!rf || !rf->data || (rf->dtype != SONO_DTYPE_INT16 && rf->dtype != SONO_DTYPE_FLOAT32))
      return dsp_fail(err, err_size, "rf2iq: RF plane: missing or dtype %d, expected int16 or float32",
                      rf ? (int)rf->dtype : -1);
   const uint32_t ns = rf->shape[0], nc = rf->shape[1], nk = rf->shape[2];
   if (ns > r->max_samples || ns <= 3 * NFACT)
      return dsp_fail(err, err_size, "rf2iq: RF plane: %u samples per line, expected %d..%u", ns, 3 * NFACT + 1,
                      r->max_samples);
   double complex *y = r->y;
   for (uint32_t k = 0; k < nk; ++k)
      for (uint32_t ch = 0; ch < nc; ++ch) {
         double complex *x = y + NFACT;
         for (uint32_t i = 0; i < ns; ++i)
            x[i] = rf_sample(rf, i, ch, k) * cexp(-I * 2.0 * DSP_PI * r->fc * ((double)i / r->fs + r->t0));
         for (int i = 1; i <= NFACT; ++i) { /* odd reflection about the end samples */
            y[NFACT - i] = 2.0 * x[0] - x[i];
            x[ns - 1 + i] = 2.0 * x[ns - 1] - x[ns - 1 - i];
         }
         const size_t len = (size_t)ns + 2 * NFACT;
         filter_inplace(r, y, len);
         reverse(y, len);
         filter_inplace(r, y, len);
         reverse(y, len);
         float *o = iq + 2 * ld * ((size_t)ch + (size_t)nc * k);
         for (uint32_t i = 0; i < ns; ++i) {
            o[2 * i] = (float)(2.0 * creal(x[i]));
            o[2 * i + 1] = (float)(2.0 * cimag(x[i]));
         }
      }
   return 0;
}
