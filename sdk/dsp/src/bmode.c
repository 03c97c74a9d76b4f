/* Envelope, log compression and TGC of IQ planes. */
#include <sono/dsp/bmode.h>

#include "dsp_internal.h"

static int check_iq(const sono_plane_t *iq, char *err, size_t err_size)
{
   if (!iq || !iq->data)
      return dsp_fail(err, err_size, "B-mode: IQ plane: no data, expected a complex64 plane");
   if (iq->dtype != SONO_DTYPE_COMPLEX64)
      return dsp_fail(err, err_size, "B-mode: IQ plane: dtype %d, expected complex64", (int)iq->dtype);
   if (iq->shape[0] == 0 || iq->shape[1] == 0 || iq->shape[2] == 0)
      return dsp_fail(err, err_size, "B-mode: IQ plane: shape %u x %u x %u, expected positive lengths",
                      iq->shape[0], iq->shape[1], iq->shape[2]);
   return 0;
}

typedef float v4f __attribute__((vector_size(16)));
typedef int32_t v4i __attribute__((vector_size(16)));
#if defined(__clang__)
#define SHUFFLE_EVEN(a, b) __builtin_shufflevector((a), (b), 0, 2, 4, 6)
#define SHUFFLE_ODD(a, b) __builtin_shufflevector((a), (b), 1, 3, 5, 7)
#else
#define SHUFFLE_EVEN(a, b) __builtin_shuffle((a), (b), (v4i){0, 2, 4, 6})
#define SHUFFLE_ODD(a, b) __builtin_shuffle((a), (b), (v4i){1, 3, 5, 7})
#endif

/* |IQ|^2 of column (ix, k) into m2 (length nz): re^2 + im^2 in that order,
 * as the scalar expression, four values per step for contiguous columns. */
static void column_mag2(const sono_plane_t *iq, uint32_t ix, uint32_t k, float *restrict m2)
{
   const float *base = (const float *)iq->data + 2 * ((int64_t)ix * iq->stride[1] + (int64_t)k * iq->stride[2]);
   const uint32_t nz = iq->shape[0];
   uint32_t z = 0;
   if (iq->stride[0] == 1) {
      for (; z + 4 <= nz; z += 4) {
         v4f a, b;
         __builtin_memcpy(&a, base + 2 * z, sizeof a);
         __builtin_memcpy(&b, base + 2 * z + 4, sizeof b);
         a *= a;
         b *= b;
         const v4f m = SHUFFLE_EVEN(a, b) + SHUFFLE_ODD(a, b);
         __builtin_memcpy(m2 + z, &m, sizeof m);
      }
   }
   const int64_t s = 2 * iq->stride[0];
   for (; z < nz; ++z)
      m2[z] = base[s * z] * base[s * z] + base[s * z + 1] * base[s * z + 1];
}

int sono_dsp_envelope(const sono_plane_t *iq, float *env, size_t ld, char *err, size_t err_size)
{
   if (check_iq(iq, err, err_size))
      return -1;
   const uint32_t nz = iq->shape[0], nx = iq->shape[1], nk = iq->shape[2];
   for (uint32_t k = 0; k < nk; ++k)
      for (uint32_t x = 0; x < nx; ++x) {
         float *o = env + ld * ((size_t)x + (size_t)nx * k);
         column_mag2(iq, x, k, o);
         for (uint32_t z = 0; z < nz; ++z)
            o[z] = sqrtf(o[z]);
      }
   return 0;
}

/* max(mx, max_z m2[z] g2[z]). A maximum does not depend on the order of
 * evaluation, so four running maxima (vector compare and select) give
 * exactly the scalar result. */
DSP_HOT static float column_max(const float *restrict m2, const float *restrict g2, uint32_t nz, float mx)
{
   v4f acc = {mx, mx, mx, mx};
   uint32_t z = 0;
   for (; z + 4 <= nz; z += 4) {
      v4f a, g;
      __builtin_memcpy(&a, m2 + z, sizeof a);
      __builtin_memcpy(&g, g2 + z, sizeof g);
      a *= g;
      const v4i gt = a > acc;
      acc = (v4f)((gt & (v4i)a) | (~gt & (v4i)acc));
   }
   for (; z < nz; ++z) {
      const float v = m2[z] * g2[z];
      mx = v > mx ? v : mx;
   }
   for (int l = 0; l < 4; ++l)
      mx = acc[l] > mx ? acc[l] : mx;
   return mx;
}

/* 255/DR (10 log10(r) + DR) = a log2(r) + 255, saturated, rounded half up. */
DSP_HOT static void log_compress(const float *restrict m2, const float *restrict g2, float inv, float a, uint32_t nz,
                                 uint8_t *restrict o)
{
   for (uint32_t z = 0; z < nz; ++z) {
      float r = m2[z] * g2[z] * inv;
      r = r > 1e-30f ? r : 1e-30f;
      float v = a * dsp_log2f(r) + 255.0f;
      v = v < 0.0f ? 0.0f : (v > 255.0f ? 255.0f : v);
      o[z] = (uint8_t)(int32_t)(v + 0.5f);
   }
}

int sono_dsp_bmode_u8(const sono_plane_t *iq, double dr, const float *gain, uint8_t *out, size_t ld, char *err,
                      size_t err_size)
{
   if (check_iq(iq, err, err_size))
      return -1;
   if (!(dr > 0))
      return dsp_fail(err, err_size, "B-mode: dynamic range %g dB, expected > 0", dr);
   const uint32_t nz = iq->shape[0], nx = iq->shape[1], nk = iq->shape[2];
   float m2[4096];
   if (nz > 4096)
      return dsp_fail(err, err_size, "B-mode: IQ plane: %u depth samples, expected at most 4096", nz);
   float g2[4096];
   for (uint32_t z = 0; z < nz; ++z)
      g2[z] = gain ? gain[z] * gain[z] : 1.0f;
   float mx = 0.0f;
   for (uint32_t k = 0; k < nk; ++k)
      for (uint32_t x = 0; x < nx; ++x) {
         column_mag2(iq, x, k, m2);
         mx = column_max(m2, g2, nz, mx);
      }
   const float inv = mx > 0.0f ? 1.0f / mx : 0.0f;
   const int gamma = dr < 1.0;
   const float a = (float)(255.0 / dr * 10.0 * 0.301029995663981);
   for (uint32_t k = 0; k < nk; ++k)
      for (uint32_t x = 0; x < nx; ++x) {
         uint8_t *restrict o = out + ld * ((size_t)x + (size_t)nx * k);
         column_mag2(iq, x, k, m2);
         if (gamma) {
            for (uint32_t z = 0; z < nz; ++z) {
               float v = 255.0f * powf(m2[z] * g2[z] * inv, (float)(dr * 0.5));
               o[z] = (uint8_t)(v >= 255.0f ? 255.0f : floorf(v + 0.5f));
            }
            continue;
         }
         log_compress(m2, g2, inv, a, nz, o);
      }
   return 0;
}


int sono_dsp_tgc_gain(const sono_plane_t *iq, float *gain, float *work, char *err, size_t err_size)
{
   if (check_iq(iq, err, err_size))
      return -1;
   const uint32_t nz = iq->shape[0], nx = iq->shape[1], nk = iq->shape[2];
   if (nz < 10)
      return dsp_fail(err, err_size, "TGC: IQ plane: %u depth samples, expected at least 10", nz);
   float *logc = work, *slopes = work + nz;
   float col[4096];
   if (nz > 4096)
      return dsp_fail(err, err_size, "TGC: IQ plane: %u depth samples, expected at most 4096", nz);
   for (uint32_t z = 0; z < nz; ++z)
      logc[z] = 0.0f;
   for (uint32_t k = 0; k < nk; ++k)
      for (uint32_t x = 0; x < nx; ++x) {
         column_mag2(iq, x, k, col);
         for (uint32_t z = 0; z < nz; ++z)
            logc[z] += sqrtf(col[z]);
      }
   for (uint32_t z = 0; z < nz; ++z)
      logc[z] = logf(logc[z] / (float)((size_t)nx * nk) + 1e-30f);
   const uint32_t z0 = nz / 10, z1 = 9 * nz / 10;
   const uint32_t span = z1 - z0, npts = span < 200 ? span : 200;
   size_t ns = 0;
   for (uint32_t i = 0; i < npts; ++i)
      for (uint32_t j = i + 1; j < npts; ++j) {
         const uint32_t zi = z0 + (uint32_t)((uint64_t)i * span / npts), zj = z0 + (uint32_t)((uint64_t)j * span / npts);
         if (zj > zi)
            slopes[ns++] = (logc[zj] - logc[zi]) / (float)(zj - zi);
      }
   const float b = ns ? sono_select_kth(slopes, ns, ns / 2) : 0.0f;
   /* gain C(0)/C(z) = exp(-b z): the intercept of the fit cancels */
   for (uint32_t z = 0; z < nz; ++z)
      gain[z] = expf(-b * (float)z);
   return 0;
}
