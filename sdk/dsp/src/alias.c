/* Aliasing flags and path unwrapping. */
#include <sono/dsp/alias.h>

#include "dsp_internal.h"

static int wraps(float a, float b, float vn, float lo)
{
   return fabsf(a) > lo && fabsf(b) > lo && (a > 0) != (b > 0) && fabsf(a - b) > vn;
}

size_t sono_dsp_alias_flags(const float *v, size_t nz, size_t nx, size_t ld, float vn, float min_fraction,
                            uint8_t *flags)
{
   const float lo = min_fraction * vn;
   size_t count = 0;
   for (size_t x = 0; x < nx; ++x)
      for (size_t z = 0; z < nz; ++z) {
         const float a = v[x * ld + z];
         if (!(fabsf(a) > lo)) { /* no wrap either way (most of a colour map shows no velocity) */
            flags[x * ld + z] = 0;
            continue;
         }
         uint8_t f = 0;
         if (z + 1 < nz && wraps(a, v[x * ld + z + 1], vn, lo))
            f |= SONO_DSP_ALIAS_DOWN;
         if (x + 1 < nx && wraps(a, v[(x + 1) * ld + z], vn, lo))
            f |= SONO_DSP_ALIAS_RIGHT;
         count += (f & 1u) + (f >> 1);
         flags[x * ld + z] = f;
      }
   return count;
}

size_t sono_dsp_unwrap_path(float *v, size_t n, float vn)
{
   size_t wraps_found = 0;
   double offset = 0.0;
   float prev_raw = n ? v[0] : 0.0f;
   for (size_t i = 1; i < n; ++i) {
      const float raw = v[i];
      const double d = (double)raw - prev_raw;
      if (fabs(d) > vn) {
         offset -= 2.0 * vn * floor((d + vn) / (2.0 * vn));
         ++wraps_found;
      }
      prev_raw = raw;
      v[i] = (float)(raw + offset);
   }
   return wraps_found;
}
