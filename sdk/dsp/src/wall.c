/* Wall filters: projections on small slow-time bases and the IIR high-pass. */
#include <sono/dsp/wall.h>

#include <complex.h>
#include <lapacke.h>
#include <stdlib.h>

#include "dsp_internal.h"

int sono_dsp_wall_rank(sono_wall_filter_t kind, uint32_t order, uint32_t n, char *err, size_t err_size)
{
   uint32_t rank;
   switch (kind) {
   case SONO_WALL_POLY: rank = order + 1; break;
   case SONO_WALL_DCT:
   case SONO_WALL_SVD:
      if (order == 0)
         return dsp_fail(err, err_size, "wall filter %s: order 0 is not allowed, expected >= 1 (1 removes the mean)",
                         kind == SONO_WALL_DCT ? "dct" : "svd");
      rank = order;
      break;
   default: return dsp_fail(err, err_size, "wall filter: kind %d has no projection basis (expected poly, dct or svd)", (int)kind);
   }
   if (rank >= n)
      return dsp_fail(err, err_size,
                      "wall filter: order %u removes %u components of an ensemble of %u samples; expected fewer than %u",
                      order, rank, n, n);
   return (int)rank;
}

/* Orthonormal basis of polynomials of degree <= rank-1 on linspace(-1,1,n):
 * modified Gram-Schmidt on monomials, done twice for orthogonality to double
 * precision (the projector equals MUST's three-term recurrence). */
static void poly_basis(uint32_t n, uint32_t rank, double *q)
{
   for (uint32_t k = 0; k < rank; ++k) {
      for (uint32_t t = 0; t < n; ++t) {
         double x = n > 1 ? -1.0 + 2.0 * t / (n - 1) : 0.0;
         q[t * rank + k] = pow(x, k);
      }
      for (int pass = 0; pass < 2; ++pass)
         for (uint32_t j = 0; j < k; ++j) {
            double d = 0;
            for (uint32_t t = 0; t < n; ++t)
               d += q[t * rank + j] * q[t * rank + k];
            for (uint32_t t = 0; t < n; ++t)
               q[t * rank + k] -= d * q[t * rank + j];
         }
      double norm = 0;
      for (uint32_t t = 0; t < n; ++t)
         norm += q[t * rank + k] * q[t * rank + k];
      norm = sqrt(norm);
      for (uint32_t t = 0; t < n; ++t)
         q[t * rank + k] /= norm;
   }
}

/* Rows 0..rank-1 of MATLAB dctmtx(n), stored as columns. */
static void dct_basis(uint32_t n, uint32_t rank, double *q)
{
   for (uint32_t k = 0; k < rank; ++k)
      for (uint32_t t = 0; t < n; ++t)
         q[t * rank + k] = sqrt((k == 0 ? 1.0 : 2.0) / n) * cos(DSP_PI * (2.0 * t + 1.0) * k / (2.0 * n));
}

int sono_dsp_wall_basis(sono_wall_filter_t kind, uint32_t order, uint32_t n, float *q, char *err, size_t err_size)
{
   if (kind == SONO_WALL_SVD)
      return dsp_fail(err, err_size, "wall filter svd: the basis depends on the data, use sono_dsp_svd_basis");
   int rank = sono_dsp_wall_rank(kind, order, n, err, err_size);
   if (rank < 0)
      return -1;
   double *qd = malloc(sizeof *qd * (size_t)n * (size_t)rank);
   if (!qd)
      return dsp_fail(err, err_size, "wall filter: out of memory for a %u x %d basis", n, rank);
   if (kind == SONO_WALL_POLY)
      poly_basis(n, (uint32_t)rank, qd);
   else
      dct_basis(n, (uint32_t)rank, qd);
   for (size_t i = 0; i < (size_t)n * (size_t)rank; ++i)
      q[i] = (float)qd[i];
   free(qd);
   return rank;
}

DSP_HOT void sono_dsp_wall_project_out(float *restrict re, float *restrict im, size_t ld, uint32_t n, size_t count,
                               const float *q, uint32_t rank, float *restrict coef)
{
   for (uint32_t k = 0; k < rank; ++k) {
      float *restrict cr = coef + (2 * k) * ld, *restrict ci = coef + (2 * k + 1) * ld;
      for (size_t i = 0; i < count; ++i)
         cr[i] = ci[i] = 0.0f;
      for (uint32_t t = 0; t < n; ++t) {
         const float w = q[t * rank + k];
         const float *restrict xr = re + t * ld, *restrict xi = im + t * ld;
         for (size_t i = 0; i < count; ++i) {
            cr[i] += w * xr[i];
            ci[i] += w * xi[i];
         }
      }
   }
   for (uint32_t t = 0; t < n; ++t) {
      float *restrict xr = re + t * ld, *restrict xi = im + t * ld;
      for (uint32_t k = 0; k < rank; ++k) {
         const float w = q[t * rank + k];
         const float *restrict cr = coef + (2 * k) * ld, *restrict ci = coef + (2 * k + 1) * ld;
         for (size_t i = 0; i < count; ++i) {
            xr[i] -= w * cr[i];
            xi[i] -= w * ci[i];
         }
      }
   }
}

DSP_HOT void sono_dsp_wall_project_out_complex(float *restrict re, float *restrict im, size_t ld, uint32_t n, size_t count,
                                       const float *v, uint32_t rank, float *restrict coef)
{
   /* c_k = sum_t s_t V[t,k];  s_t -= sum_k c_k conj(V[t,k]) */
   for (uint32_t k = 0; k < rank; ++k) {
      float *restrict cr = coef + (2 * k) * ld, *restrict ci = coef + (2 * k + 1) * ld;
      for (size_t i = 0; i < count; ++i)
         cr[i] = ci[i] = 0.0f;
      for (uint32_t t = 0; t < n; ++t) {
         const float vr = v[2 * (t * rank + k)], vi = v[2 * (t * rank + k) + 1];
         const float *restrict xr = re + t * ld, *restrict xi = im + t * ld;
         for (size_t i = 0; i < count; ++i) {
            cr[i] += xr[i] * vr - xi[i] * vi;
            ci[i] += xr[i] * vi + xi[i] * vr;
         }
      }
   }
   for (uint32_t t = 0; t < n; ++t) {
      float *restrict xr = re + t * ld, *restrict xi = im + t * ld;
      for (uint32_t k = 0; k < rank; ++k) {
         const float vr = v[2 * (t * rank + k)], vi = v[2 * (t * rank + k) + 1];
         const float *restrict cr = coef + (2 * k) * ld, *restrict ci = coef + (2 * k + 1) * ld;
         for (size_t i = 0; i < count; ++i) {
            xr[i] -= cr[i] * vr + ci[i] * vi;
            xi[i] -= ci[i] * vr - cr[i] * vi;
         }
      }
   }
}

/* ---- IIR ---- */

int sono_dsp_iir_highpass(uint32_t order, double cutoff_hz, double prf_hz, sono_dsp_iir_t *out, char *err,
                          size_t err_size)
{
   if (order < 1 || order > 2 * SONO_DSP_IIR_MAX_SECTIONS)
      return dsp_fail(err, err_size, "wall filter iir: order %u, expected 1..%d", order, 2 * SONO_DSP_IIR_MAX_SECTIONS);
   if (!(prf_hz > 0))
      return dsp_fail(err, err_size, "wall filter iir: acquisition prf_hz is %g, expected > 0", prf_hz);
   if (!(cutoff_hz > 0) || !(cutoff_hz < prf_hz / 2))
      return dsp_fail(err, err_size, "wall filter iir: cutoff %g Hz, expected between 0 and PRF/2 = %g Hz", cutoff_hz,
                      prf_hz / 2);
   memset(out, 0, sizeof *out);
   const double fs2 = 2.0 * prf_hz;
   const double wc = fs2 * tan(DSP_PI * cutoff_hz / prf_hz); /* pre-warped */
   uint32_t s = 0;
   for (uint32_t k = 0; k < (order + 1) / 2; ++k) {
      /* low-pass prototype pole in the left half-plane, mapped s -> wc/s */
      double complex pl = cexp(I * DSP_PI * (2.0 * k + order + 1) / (2.0 * order));
      double complex ph = wc / pl;
      double complex zp = (fs2 + ph) / (fs2 - ph);
      if (2 * k + 1 == order) { /* real pole: first-order section */
         double g = (1.0 + creal(zp)) / 2.0;
         out->b[s][0] = g, out->b[s][1] = -g, out->b[s][2] = 0;
         out->a[s][0] = 1, out->a[s][1] = -creal(zp), out->a[s][2] = 0;
      } else {
         double g = cabs(1.0 + zp) * cabs(1.0 + zp) / 4.0;
         out->b[s][0] = g, out->b[s][1] = -2 * g, out->b[s][2] = g;
         out->a[s][0] = 1, out->a[s][1] = -2 * creal(zp), out->a[s][2] = creal(zp * conj(zp));
      }
      ++s;
   }
   out->sections = s;
   return 0;
}

DSP_HOT void sono_dsp_iir_apply(const sono_dsp_iir_t *f, float *restrict re, float *restrict im, size_t ld, uint32_t n,
                        size_t count, float *restrict state)
{
   if (n == 0)
      return;
   for (uint32_t s = 0; s < f->sections; ++s) {
      const float b0 = (float)f->b[s][0], b1 = (float)f->b[s][1], b2 = (float)f->b[s][2];
      const float a1 = (float)f->a[s][1], a2 = (float)f->a[s][2];
      /* Steady state for a constant input x0: y = H(1) x0, then the
       * transposed direct-form II state follows (a step never starts). */
      const float h1 = (float)((f->b[s][0] + f->b[s][1] + f->b[s][2]) / (1.0 + f->a[s][1] + f->a[s][2]));
      for (int part = 0; part < 2; ++part) {
         float *restrict x = part ? im : re;
         float *restrict z1 = state, *restrict z2 = state + ld;
         for (size_t i = 0; i < count; ++i) {
            const float x0 = x[i], y0 = h1 * x0;
            z2[i] = b2 * x0 - a2 * y0;
            z1[i] = b1 * x0 - a1 * y0 + z2[i];
         }
         for (uint32_t t = 0; t < n; ++t) {
            float *restrict xt = x + t * ld;
            for (size_t i = 0; i < count; ++i) {
               const float in = xt[i];
               const float y = b0 * in + z1[i];
               z1[i] = b1 * in - a1 * y + z2[i];
               z2[i] = b2 * in - a2 * y;
               xt[i] = y;
            }
         }
      }
   }
}

/* ---- SVD ---- */

struct sono_dsp_svd {
   uint32_t max_n;
   double complex *a;
   double *w;
   double complex *work;
   double *rwork;
   lapack_int *iwork;
   lapack_int lwork, lrwork, liwork;
};

sono_dsp_svd_t *sono_dsp_svd_create(uint32_t max_n, char *err, size_t err_size)
{
   if (max_n < 2) {
      dsp_fail(err, err_size, "wall filter svd: ensemble of %u samples, expected >= 2", max_n);
      return NULL;
   }
   sono_dsp_svd_t *s = calloc(1, sizeof *s);
   if (!s)
      goto oom;
   s->max_n = max_n;
   lapack_int n = (lapack_int)max_n;
   double complex wq;
   double rq;
   lapack_int iq;
   s->a = calloc((size_t)max_n * max_n, sizeof *s->a);
   s->w = calloc(max_n, sizeof *s->w);
   if (!s->a || !s->w)
      goto oom;
   lapack_int info = LAPACKE_zheevd_work(LAPACK_COL_MAJOR, 'V', 'U', n, (lapack_complex_double *)s->a, n, s->w,
                                         (lapack_complex_double *)&wq, -1, &rq, -1, &iq, -1);
   if (info != 0) {
      sono_dsp_svd_destroy(s);
      dsp_fail(err, err_size, "wall filter svd: LAPACK zheevd workspace query failed (info %d)", (int)info);
      return NULL;
   }
   s->lwork = (lapack_int)creal(wq);
   s->lrwork = (lapack_int)rq;
   s->liwork = iq;
   s->work = calloc((size_t)s->lwork, sizeof *s->work);
   s->rwork = calloc((size_t)s->lrwork, sizeof *s->rwork);
   s->iwork = calloc((size_t)s->liwork, sizeof *s->iwork);
   if (!s->work || !s->rwork || !s->iwork)
      goto oom;
   return s;
oom:
   sono_dsp_svd_destroy(s);
   dsp_fail(err, err_size, "wall filter svd: out of memory for ensemble %u", max_n);
   return NULL;
}

void sono_dsp_svd_destroy(sono_dsp_svd_t *s)
{
   if (!s)
      return;
   free(s->a);
   free(s->w);
   free(s->work);
   free(s->rwork);
   free(s->iwork);
   free(s);
}

typedef float v4f __attribute__((vector_size(16)));

static inline v4f load4(const float *p)
{
   v4f v;
   __builtin_memcpy(&v, p, sizeof v);
   return v;
}

/* Two 4-lane accumulators per sum (8 partial sums) keep the reduction over
 * pixels vectorised without reassociating float arithmetic implicitly. */
void sono_dsp_gram_accumulate(const float *re, const float *im, size_t ld, uint32_t n, size_t count, double *gram)
{
   const size_t c8 = count & ~(size_t)7;
   for (uint32_t j = 0; j < n; ++j) {
      const float *rj = re + j * ld, *ij = im + j * ld;
      for (uint32_t k = j; k < n; ++k) {
         const float *rk = re + k * ld, *ik = im + k * ld;
         v4f sr0 = {0}, si0 = {0}, sr1 = {0}, si1 = {0};
         for (size_t i = 0; i < c8; i += 8) {
            v4f a = load4(rj + i), b = load4(ij + i), c = load4(rk + i), d = load4(ik + i);
            sr0 += a * c + b * d;
            si0 += a * d - b * c;
            a = load4(rj + i + 4), b = load4(ij + i + 4), c = load4(rk + i + 4), d = load4(ik + i + 4);
            sr1 += a * c + b * d;
            si1 += a * d - b * c;
         }
         double gr = 0, gi = 0;
         for (int l = 0; l < 4; ++l) {
            gr += (double)sr0[l] + (double)sr1[l];
            gi += (double)si0[l] + (double)si1[l];
         }
         for (size_t i = c8; i < count; ++i) {
            gr += (double)(rj[i] * rk[i] + ij[i] * ik[i]);
            gi += (double)(rj[i] * ik[i] - ij[i] * rk[i]);
         }
         gram[2 * (j * n + k)] += gr;
         gram[2 * (j * n + k) + 1] += gi;
      }
   }
}

int sono_dsp_svd_basis(sono_dsp_svd_t *s, const double *gram, uint32_t n, uint32_t rank, float *v, char *err,
                       size_t err_size)
{
   if (n > s->max_n || rank == 0 || rank >= n)
      return dsp_fail(err, err_size, "wall filter svd: rank %u of an ensemble of %u (set up for %u); expected 1..%u",
                      rank, n, s->max_n, n ? n - 1 : 0);
   /* column-major upper triangle: A(j,k) = gram[j][k] for j <= k */
   for (uint32_t k = 0; k < n; ++k)
      for (uint32_t j = 0; j <= k; ++j)
         s->a[j + (size_t)k * n] = gram[2 * (j * n + k)] + I * gram[2 * (j * n + k) + 1];
   lapack_int info = LAPACKE_zheevd_work(LAPACK_COL_MAJOR, 'V', 'U', (lapack_int)n, (lapack_complex_double *)s->a,
                                         (lapack_int)n, s->w, (lapack_complex_double *)s->work, s->lwork, s->rwork,
                                         s->lrwork, s->iwork, s->liwork);
   if (info != 0)
      return dsp_fail(err, err_size, "wall filter svd: LAPACK zheevd failed on the %u x %u Gram matrix (info %d)", n, n,
                      (int)info);
   /* eigenvalues ascend: the leading components are the last columns */
   for (uint32_t k = 0; k < rank; ++k)
      for (uint32_t t = 0; t < n; ++t) {
         double complex e = s->a[t + (size_t)(n - 1 - k) * n];
         v[2 * (t * rank + k)] = (float)creal(e);
         v[2 * (t * rank + k) + 1] = (float)cimag(e);
      }
   return 0;
}
