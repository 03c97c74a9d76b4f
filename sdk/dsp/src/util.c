#include "dsp_internal.h"

#include <stdarg.h>
#include <stdio.h>

int dsp_fail(char *err, size_t err_size, const char *fmt, ...)
{
   if (err && err_size > 0) {
      va_list ap;
      va_start(ap, fmt);
      vsnprintf(err, err_size, fmt, ap);
      va_end(ap);
   }
   return -1;
}

float dsp_select_kth(float *v, size_t n, size_t k)
{
   size_t lo = 0, hi = n - 1;
   while (lo < hi) {
      const float pivot = v[lo + (hi - lo) / 2];
      size_t i = lo, j = hi;
      while (i <= j) {
         while (v[i] < pivot)
            ++i;
         while (v[j] > pivot)
            --j;
         if (i <= j) {
            float t = v[i];
            v[i++] = v[j];
            v[j] = t;
            if (j == 0)
               break;
            --j;
         }
      }
      if (k <= j)
         hi = j;
      else if (k >= i)
         lo = i;
      else
         return v[k];
   }
   return v[k];
}
