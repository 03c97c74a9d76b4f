/* Exact order statistics. The value returned is the k-th smallest sample
 * whatever the method, so the method is chosen for speed alone:
 *   - ranks near either end (percentile floors, 99.5th percentiles): one
 *     pass keeping the few smallest (largest) samples in a sorted buffer;
 *     after the first samples the test almost never passes, so the branch
 *     predicts and the pass runs at the speed of the loads;
 *   - other ranks: quickselect with a branch-free partition. On speckle
 *     the comparison with the pivot is a coin toss, and the branchy Hoare
 *     partition mispredicted about every other sample.
 *   - a handful of samples: insertion sort. */
#include <sono/sdk/select.h>

#define SELECT_END_RANKS 32 /* buffer of the end-rank pass */
#define SELECT_SORT_BELOW 16

/* The k-th smallest (k < SELECT_END_RANKS, k < n) in one pass: best[0..k]
 * holds the k+1 smallest samples seen so far, ascending. */
static float end_rank_smallest(const float *v, size_t n, size_t k)
{
   float best[SELECT_END_RANKS];
   for (size_t i = 0; i <= k; ++i) {
      size_t j = i;
      for (; j > 0 && best[j - 1] > v[i]; --j)
         best[j] = best[j - 1];
      best[j] = v[i];
   }
   for (size_t i = k + 1; i < n; ++i) {
      const float x = v[i];
      if (!(x < best[k]))
         continue;
      size_t j = k;
      for (; j > 0 && best[j - 1] > x; --j)
         best[j] = best[j - 1];
      best[j] = x;
   }
   return best[k];
}

/* The r-th largest (r < SELECT_END_RANKS, r < n), mirror of the above. */
static float end_rank_largest(const float *v, size_t n, size_t r)
{
   float best[SELECT_END_RANKS];
   for (size_t i = 0; i <= r; ++i) {
      size_t j = i;
      for (; j > 0 && best[j - 1] < v[i]; --j)
         best[j] = best[j - 1];
      best[j] = v[i];
   }
   for (size_t i = r + 1; i < n; ++i) {
      const float x = v[i];
      if (!(x > best[r]))
         continue;
      size_t j = r;
      for (; j > 0 && best[j - 1] < x; --j)
         best[j] = best[j - 1];
      best[j] = x;
   }
   return best[r];
}

static void insertion_sort(float *v, size_t n)
{
   for (size_t i = 1; i < n; ++i) {
      const float x = v[i];
      size_t j = i;
      for (; j > 0 && v[j - 1] > x; --j)
         v[j] = v[j - 1];
      v[j] = x;
   }
}

static inline float median3(float a, float b, float c)
{
   float lo = a < b ? a : b, hi = a < b ? b : a;
   return c < lo ? lo : c > hi ? hi : c;
}

/* A pivot that is a sample of v[0..n-1]: median of three, or for large
 * ranges the median of three medians (sorted or organ-pipe data stays
 * O(n)). */
static float choose_pivot(const float *v, size_t n)
{
   size_t m = n / 2, l = n - 1;
   if (n < 256)
      return median3(v[0], v[m], v[l]);
   size_t e = n / 8;
   return median3(median3(v[0], v[e], v[2 * e]), median3(v[m - e], v[m], v[m + e]),
                  median3(v[l - 2 * e], v[l - e], v[l]));
}

/* Moves the samples for which `before` holds to the front of v[0..n-1]
 * and returns their count. Every step swaps and advances by the test's
 * value: no branch depends on the data. */
static size_t partition_less(float *v, size_t n, float pivot)
{
   size_t s = 0;
   for (size_t i = 0; i < n; ++i) {
      const float x = v[i];
      v[i] = v[s];
      v[s] = x;
      s += x < pivot;
   }
   return s;
}

static size_t partition_equal(float *v, size_t n, float pivot)
{
   size_t s = 0;
   for (size_t i = 0; i < n; ++i) {
      const float x = v[i];
      v[i] = v[s];
      v[s] = x;
      s += !(pivot < x); /* x >= pivot here, so this is x == pivot */
   }
   return s;
}

/* Quickselect on v[lo..hi), k inside. Samples below the pivot go first;
 * when none is below it (the pivot is the range's minimum, typically a
 * value repeated many times, e.g. a clipped level), the samples equal to
 * it are split off too, so every round shrinks the range. */
static float quickselect(float *v, size_t n, size_t k)
{
   size_t lo = 0, hi = n;
   while (hi - lo >= SELECT_SORT_BELOW) {
      const float pivot = choose_pivot(v + lo, hi - lo);
      const size_t s = lo + partition_less(v + lo, hi - lo, pivot);
      if (k < s) {
         hi = s;
         continue;
      }
      if (s > lo) {
         lo = s;
         continue;
      }
      const size_t e = s + partition_equal(v + s, hi - s, pivot);
      if (k < e)
         return pivot;
      lo = e;
   }
   insertion_sort(v + lo, hi - lo);
   return v[k];
}

float sono_select_kth(float *v, size_t n, size_t k)
{
   if (n < SELECT_SORT_BELOW) {
      insertion_sort(v, n);
      return v[k];
   }
   if (k < SELECT_END_RANKS)
      return end_rank_smallest(v, n, k);
   if (n - 1 - k < SELECT_END_RANKS)
      return end_rank_largest(v, n, n - 1 - k);
   return quickselect(v, n, k);
}

float sono_quantile(float *v, size_t n, double q)
{
   if (n == 0)
      return 0.0f;
   return sono_select_kth(v, n, (size_t)(q * (double)(n - 1) + 0.5));
}
