/* Kasai / Loupas autocorrelation estimators and M x M Hamming smoothing. */
#include <sono/dsp/kasai.h>

#include "dsp_internal.h"

DSP_HOT void sono_dsp_kasai_accumulate(const float *restrict re, const float *restrict im, size_t ld, uint32_t n,
                               uint32_t first, uint32_t lag, size_t count, float *restrict ac_re,
                               float *restrict ac_im, float *restrict power)
{
   for (size_t i = 0; i < count; ++i)
      ac_re[i] = ac_im[i] = power[i] = 0.0f;
   /* One pass for AC and the power of the same samples, then the power of
    * the last `lag` samples: the power sum keeps slow-time order. */
   for (uint32_t t = first; t + lag < n; ++t) {
      const float *restrict ar = re + t * ld, *restrict ai = im + t * ld;
      const float *restrict br = re + (t + lag) * ld, *restrict bi = im + (t + lag) * ld;
      for (size_t i = 0; i < count; ++i) {
         ac_re[i] += ar[i] * br[i] + ai[i] * bi[i];
         ac_im[i] += ai[i] * br[i] - ar[i] * bi[i];
         power[i] += ar[i] * ar[i] + ai[i] * ai[i];
      }
   }
   for (uint32_t t = n - lag > first ? n - lag : first; t < n; ++t) {
      const float *restrict ar = re + t * ld, *restrict ai = im + t * ld;
      for (size_t i = 0; i < count; ++i)
         power[i] += ar[i] * ar[i] + ai[i] * ai[i];
   }
}

void sono_dsp_loupas_accumulate(const float *restrict re, const float *restrict im, size_t ld, uint32_t n,
                                uint32_t first, size_t count, float *restrict r10_re, float *restrict r10_im)
{
   if (count < 2) {
      for (size_t i = 0; i < count; ++i)
         r10_re[i] = r10_im[i] = 0.0f;
      return;
   }
   for (size_t i = 0; i + 1 < count; ++i)
      r10_re[i] = r10_im[i] = 0.0f;
   for (uint32_t t = first; t < n; ++t) {
      const float *restrict ar = re + t * ld, *restrict ai = im + t * ld;
      for (size_t i = 0; i + 1 < count; ++i) {
         r10_re[i] += ar[i] * ar[i + 1] + ai[i] * ai[i + 1];
         r10_im[i] += ai[i] * ar[i + 1] - ar[i] * ai[i + 1];
      }
   }
   r10_re[count - 1] = r10_re[count - 2];
   r10_im[count - 1] = r10_im[count - 2];
}

void sono_dsp_hamming(uint32_t m, float *w)
{
   if (m == 1) {
      w[0] = 1.0f;
      return;
   }
   for (uint32_t k = 0; k < m; ++k)
      w[k] = (float)(0.54 - 0.46 * cos(2.0 * DSP_PI * k / (m - 1)));
}

DSP_HOT static void smooth_along_z(const float *restrict col, float *restrict out, size_t nz, const float *w,
                                   uint32_t m, int replicate)
{
   const long c = (long)(m - 1) / 2;
   /* interior [c, nz - m + c]: k outer, z inner, so the loop runs across z
    * in vectors; each out[z] still sums k = 0..m-1 in order from 0 */
   const long lo = c < (long)nz ? c : (long)nz, hi = (long)nz - (long)m + c + 1 > lo ? (long)nz - (long)m + c + 1 : lo;
   for (long z = lo; z < hi; ++z)
      out[z] = 0.0f;
   for (uint32_t k = 0; k < m; ++k) {
      const float wk = w[k];
      const float *restrict src = col + k - c;
      for (long z = lo; z < hi; ++z)
         out[z] += wk * src[z];
   }
   for (long z = 0; z < (long)nz; ++z) {
      if (z == lo)
         z = hi;
      if (z >= (long)nz)
         break;
      float s = 0.0f;
      for (uint32_t k = 0; k < m; ++k)
         s += w[k] * col[dsp_border_index(z + (long)k - c, (long)nz, replicate)];
      out[z] = s;
   }
}

DSP_HOT void sono_dsp_smooth_pass(int pass, const float *in, float *out, float *tmp, size_t nz, size_t nx, size_t ldz,
                          const float *w, uint32_t m, sono_dsp_border_t border, size_t x0, size_t x1)
{
   const int replicate = border == SONO_DSP_BORDER_REPLICATE;
   const long c = (long)(m - 1) / 2;
   for (size_t x = x0; x < x1; ++x) {
      if (pass == 1) {
         smooth_along_z(in + x * ldz, tmp + x * ldz, nz, w, m, replicate);
         continue;
      }
      float *restrict o = out + x * ldz;
      for (size_t z = 0; z < nz; ++z)
         o[z] = 0.0f;
      for (uint32_t k = 0; k < m; ++k) {
         const float wk = w[k];
         const float *restrict src = tmp + (size_t)dsp_border_index((long)x + (long)k - c, (long)nx, replicate) * ldz;
         for (size_t z = 0; z < nz; ++z)
            o[z] += wk * src[z];
      }
   }
}

int sono_dsp_smooth(const float *in, float *out, float *tmp, size_t nz, size_t nx, size_t ldz, uint32_t m,
                    sono_dsp_border_t border)
{
   float w[SONO_DSP_MAX_SMOOTHING];
   if (m < 1 || m > SONO_DSP_MAX_SMOOTHING)
      return -1;
   sono_dsp_hamming(m, w);
   sono_dsp_smooth_pass(1, in, out, tmp, nz, nx, ldz, w, m, border, 0, nx);
   sono_dsp_smooth_pass(2, in, out, tmp, nz, nx, ldz, w, m, border, 0, nx);
   return 0;
}

DSP_HOT_SELECT void sono_dsp_kasai_velocity(const float *restrict ac_re, const float *restrict ac_im, size_t count, float vn,
                             float *restrict velocity)
{
   const float k = -vn / DSP_PI_F;
   size_t i = 0;
   for (; i + 8 <= count; i += 8) {
      dsp_v8f re, im;
      __builtin_memcpy(&re, ac_re + i, sizeof re);
      __builtin_memcpy(&im, ac_im + i, sizeof im);
      const dsp_v8f v = k * dsp_atan2_v8(im, re);
      __builtin_memcpy(velocity + i, &v, sizeof v);
   }
   for (; i < count; ++i)
      velocity[i] = k * dsp_atan2f(ac_im[i], ac_re[i]);
}

DSP_HOT_SELECT void sono_dsp_kasai_variance(const float *restrict ac_re, const float *restrict ac_im, const float *restrict power,
                             size_t count, float vn, float *restrict variance)
{
   const float k = 2.0f * (vn / DSP_PI_F) * (vn / DSP_PI_F);
   for (size_t i = 0; i < count; ++i) {
      const float mag = sqrtf(ac_re[i] * ac_re[i] + ac_im[i] * ac_im[i]);
      const float p = power[i] > 0.0f ? power[i] : 1.0f;
      variance[i] = power[i] > 0.0f ? k * (1.0f - mag / p) : 0.0f;
   }
}

void sono_dsp_loupas_velocity(const float *ac_re, const float *ac_im, const float *r10_re, const float *r10_im,
                              size_t count, double c, double prf, double f_demod, double fs_axial, uint32_t lag,
                              float *velocity)
{
   const float kf = (float)(fs_axial / (2.0 * DSP_PI));
   const float kv = (float)(-c * prf / (4.0 * DSP_PI * (lag ? lag : 1)));
   const float fd = (float)f_demod;
   for (size_t i = 0; i < count; ++i) {
      const float f = fd - kf * dsp_atan2f(r10_im[i], r10_re[i]);
      const float fsafe = fabsf(f) > 1.0f ? f : 1.0f;
      velocity[i] = kv * dsp_atan2f(ac_im[i], ac_re[i]) / fsafe;
   }
}
