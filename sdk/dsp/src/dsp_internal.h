/* libsono_dsp internals: error formatting, branch-free math kernels that the
 * compiler vectorises, and the worker pool. Not installed. */
#ifndef SONO_DSP_INTERNAL_H
#define SONO_DSP_INTERNAL_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define DSP_PI_F 3.14159265358979323846f
#define DSP_PI 3.14159265358979323846

/* Hot loops are compiled twice, for AVX2 and for the x86-64 baseline, and
 * the loader picks one per CPU (GCC function multi-versioning). Both run the
 * same IEEE operations in the same order (no FMA contraction: the library is
 * built with -ffp-contract=off), so results are identical on every CPU. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__gnu_linux__) && \
   !defined(SONO_DSP_NO_CLONES)
#define DSP_HOT __attribute__((target_clones("avx2", "default")))
#else
#define DSP_HOT
#endif

/* Loops built from compare-and-select (the estimates, the maxima) get a
 * third clone for x86-64-v4: there a select is one masked move or one
 * vpternlogd instead of a three-uop vpblendvb. The arithmetic is the same
 * IEEE operations in the same order as in the other clones, on 256-bit
 * vectors as everywhere else, so the results do not change. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__gnu_linux__) && \
   !defined(SONO_DSP_NO_CLONES)
#define DSP_HOT_SELECT __attribute__((target_clones("arch=x86-64-v4", "avx2", "default")))
#else
#define DSP_HOT_SELECT
#endif

/* Writes a printf-style message into err (when err_size > 0); returns -1. */
int dsp_fail(char *err, size_t err_size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Column stride of the planes the library produces: nz rounded up to a
 * multiple of 8 floats, so each column starts 32-byte aligned. */
static inline size_t dsp_pad8(size_t n) { return (n + 7u) & ~(size_t)7u; }

/* atan2 with branch-free selects so that loops calling it vectorise.
 * Octant reduction to |u| <= tan(pi/8) and the Cephes atanf polynomial:
 * max error about 2.5e-7 rad over the whole circle (measured in the unit
 * tests against atan2 in double), i.e. 8e-8 of the Nyquist velocity.
 * atan2(0, 0) returns 0. */
static inline float dsp_atan2f(float y, float x)
{
   const float ax = fabsf(x), ay = fabsf(y);
   const float mx = ax > ay ? ax : ay;
   const float mn = ax > ay ? ay : ax;
   const int big = mn > 0.414213562373095f * mx;
   const float num = big ? mn - mx : mn;
   float den = big ? mn + mx : mx;
   den = den > 0.0f ? den : 1.0f;
   const float u = num / den;
   const float z = u * u;
   const float p =
      ((((8.05374449538e-2f * z - 1.38776856032e-1f) * z + 1.99777106478e-1f) * z - 3.33329491539e-1f) * z) * u + u;
   float r = big ? p + 0.785398163397448f : p;
   r = ay > ax ? 1.57079632679490f - r : r;
   r = x < 0.0f ? DSP_PI_F - r : r;
   return copysignf(r, y);
}

/* Eight-lane forms of dsp_atan2f and dsp_db10f written with explicit
 * selects: the compiler if-converts the scalar forms by evaluating every
 * branch (two divisions, three polynomials). Each lane runs exactly the
 * scalar operations in the same order, so results are bit-identical to the
 * scalar functions on every lane. */
typedef float dsp_v8f __attribute__((vector_size(32)));
/* Always inlined: the 32-byte vectors never cross a call boundary, so GCC's
 * note about their ABI in the baseline clones does not apply (kept off for
 * every libsono_dsp source, the only includers of this header). */
#pragma GCC diagnostic ignored "-Wpsabi"
typedef int32_t dsp_v8i __attribute__((vector_size(32)));
typedef uint32_t dsp_v8u __attribute__((vector_size(32)));

static inline __attribute__((always_inline)) dsp_v8f dsp_sel8(dsp_v8i m, dsp_v8f a, dsp_v8f b)
{
   return (dsp_v8f)((m & (dsp_v8i)a) | (~m & (dsp_v8i)b));
}

static inline __attribute__((always_inline)) dsp_v8f dsp_atan2_v8(dsp_v8f y, dsp_v8f x)
{
   const dsp_v8i absm = (dsp_v8i){0, 0, 0, 0, 0, 0, 0, 0} + 0x7fffffff;
   const dsp_v8f zero = {0};
   const dsp_v8f ax = (dsp_v8f)((dsp_v8i)x & absm), ay = (dsp_v8f)((dsp_v8i)y & absm);
   const dsp_v8i xbig = ax > ay;
   const dsp_v8f mx = dsp_sel8(xbig, ax, ay), mn = dsp_sel8(xbig, ay, ax);
   const dsp_v8i big = mn > 0.414213562373095f * mx;
   const dsp_v8f num = dsp_sel8(big, mn - mx, mn);
   dsp_v8f den = dsp_sel8(big, mn + mx, mx);
   den = dsp_sel8(den > zero, den, zero + 1.0f);
   const dsp_v8f u = num / den;
   const dsp_v8f z = u * u;
   const dsp_v8f p =
      ((((8.05374449538e-2f * z - 1.38776856032e-1f) * z + 1.99777106478e-1f) * z - 3.33329491539e-1f) * z) * u + u;
   dsp_v8f r = dsp_sel8(big, p + 0.785398163397448f, p);
   r = dsp_sel8(ay > ax, 1.57079632679490f - r, r);
   r = dsp_sel8(x < zero, DSP_PI_F - r, r);
   return (dsp_v8f)(((dsp_v8i)r & absm) | ((dsp_v8i)y & ~absm));
}

static inline __attribute__((always_inline)) dsp_v8f dsp_db10_v8(dsp_v8f x)
{
   const dsp_v8u b = (dsp_v8u)x;
   dsp_v8i e = (dsp_v8i)((b >> 23) & 0xffu) - 127;
   dsp_v8f m = (dsp_v8f)((b & 0x007fffffu) | 0x3f800000u);
   const dsp_v8i adj = m > 1.41421356237310f;
   m = dsp_sel8(adj, 0.5f * m, m);
   e -= adj; /* adj is -1 where true */
   const dsp_v8f s = (m - 1.0f) / (m + 1.0f);
   const dsp_v8f s2 = s * s;
   const dsp_v8f t = 1.0f + s2 * (0.333333333333f + s2 * (0.2f + s2 * (0.142857142857f + s2 * 0.111111111111f)));
   return 3.01029995663981f * (__builtin_convertvector(e, dsp_v8f) + 2.88539008177793f * s * t);
}

/* log2 of a positive normal float, branch-free: exponent from the bits, the
 * mantissa in [sqrt(1/2), sqrt(2)) through 2*atanh((m-1)/(m+1)) to order 9.
 * Relative error below 1e-7; zero and subnormals give about -127..-149. */
static inline float dsp_log2f(float x)
{
   uint32_t b;
   memcpy(&b, &x, sizeof b);
   int32_t e = (int32_t)((b >> 23) & 0xffu) - 127;
   const uint32_t mb = (b & 0x007fffffu) | 0x3f800000u;
   float m;
   memcpy(&m, &mb, sizeof m);
   const int adj = m > 1.41421356237310f;
   m = adj ? 0.5f * m : m;
   e += adj;
   const float s = (m - 1.0f) / (m + 1.0f);
   const float s2 = s * s;
   const float t = 1.0f + s2 * (0.333333333333f + s2 * (0.2f + s2 * (0.142857142857f + s2 * 0.111111111111f)));
   return (float)e + 2.88539008177793f * s * t; /* 2/ln 2 */
}

/* 10*log10(x) through dsp_log2f. */
static inline float dsp_db10f(float x) { return 3.01029995663981f * dsp_log2f(x); }

/* Index of sample i of a length-n axis under a border rule: mirror is the
 * half-sample symmetric extension (scipy 'symm': -1 -> 0), replicate clamps. */
static inline long dsp_border_index(long i, long n, int replicate)
{
   if (replicate)
      return i < 0 ? 0 : (i >= n ? n - 1 : i);
   while (i < 0 || i >= n) {
      if (i < 0)
         i = -i - 1;
      if (i >= n)
         i = 2 * n - i - 1;
   }
   return i;
}

/* k-th smallest of v[0..n), n >= 1 (Hoare selection in place: reorders v,
 * allocates nothing). */
float dsp_select_kth(float *v, size_t n, size_t k);

/* ---- worker pool --------------------------------------------------------
 * `threads` workers (the caller counts as worker 0). dsp_pool_run calls
 * fn(ctx, worker, begin, end) for a static split of [0, count) into equal
 * contiguous parts, so which item a worker handles never changes any
 * item's arithmetic: results are identical for every thread count.
 * Created once (threads started at create); run allocates nothing. */
typedef void (*dsp_task_fn)(void *ctx, unsigned worker, size_t begin, size_t end);
typedef struct dsp_pool dsp_pool_t;
dsp_pool_t *dsp_pool_create(unsigned threads);
void dsp_pool_run(dsp_pool_t *pool, dsp_task_fn fn, void *ctx, size_t count);
unsigned dsp_pool_threads(const dsp_pool_t *pool);
void dsp_pool_destroy(dsp_pool_t *pool);

#endif
