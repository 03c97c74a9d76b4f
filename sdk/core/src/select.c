#include <sono/sdk/select.h>

float sono_select_kth(float *v, size_t n, size_t k)
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

float sono_quantile(float *v, size_t n, double q)
{
   if (n == 0)
      return 0.0f;
   return sono_select_kth(v, n, (size_t)(q * (double)(n - 1) + 0.5));
}
