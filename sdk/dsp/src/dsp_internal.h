/* libsono_dsp internals: error formatting, branch-free math kernels that the
 * compiler vectorises, and the worker pool. Not installed. */
#ifndef SONO_DSP_INTERNAL_H
#define SONO_DSP_INTERNAL_H

#include <sono/sdk/select.h>
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

/* The vector kernels are written once for any lane count: DSP_VECTOR_MATH
 * defines dsp_sel<W>, dsp_atan2_v<W> and dsp_db10_v<W> for vector types of
 * W floats (VF), int32 (VI) and uint32 (VU) lanes. */
#define DSP_VECTOR_MATH(W, VF, VI, VU)                                                                        \
   static inline __attribute__((always_inline)) VF dsp_sel##W(VI m, VF a, VF b)                               \
   {                                                                                                          \
      return (VF)((m & (VI)a) | (~m & (VI)b));                                                               \
   }                                                                                                          \
                                                                                                              \
   static inline __attribute__((always_inline)) VF dsp_atan2_v##W(VF y, VF x)                                 \
   {                                                                                                          \
      const VI absm = (VI){0} + 0x7fffffff;                                                                   \
      const VF zero = {0};                                                                                    \
      const VF ax = (VF)((VI)x & absm), ay = (VF)((VI)y & absm);                                              \
      const VI xbig = ax > ay;                                                                                \
      const VF mx = dsp_sel##W(xbig, ax, ay), mn = dsp_sel##W(xbig, ay, ax);                                  \
      const VI big = mn > 0.414213562373095f * mx;                                                            \
      const VF num = dsp_sel##W(big, mn - mx, mn);                                                            \
      VF den = dsp_sel##W(big, mn + mx, mx);                                                                  \
      den = dsp_sel##W(den > zero, den, zero + 1.0f);                                                         \
      const VF u = num / den;                                                                                 \
      const VF z = u * u;                                                                                     \
      const VF p =                                                                                            \
         ((((8.05374449538e-2f * z - 1.38776856032e-1f) * z + 1.99777106478e-1f) * z - 3.33329491539e-1f) * z) * \
            u +                                                                                               \
         u;                                                                                                   \
      VF r = dsp_sel##W(big, p + 0.785398163397448f, p);                                                      \
      r = dsp_sel##W(ay > ax, 1.57079632679490f - r, r);                                                      \
      r = dsp_sel##W(x < zero, DSP_PI_F - r, r);                                                              \
      return (VF)(((VI)r & absm) | ((VI)y & ~absm));                                                          \
   }                                                                                                          \
                                                                                                              \
   static inline __attribute__((always_inline)) VF dsp_db10_v##W(VF x)                                        \
   {                                                                                                          \
      const VU b = (VU)x;                                                                                     \
      VI e = (VI)((b >> 23) & 0xffu) - 127;                                                                   \
      VF m = (VF)((b & 0x007fffffu) | 0x3f800000u);                                                           \
      const VI adj = m > 1.41421356237310f;                                                                   \
      m = dsp_sel##W(adj, 0.5f * m, m);                                                                       \
      e -= adj; /* adj is -1 where true */                                                                    \
      const VF s = (m - 1.0f) / (m + 1.0f);                                                                   \
      const VF s2 = s * s;                                                                                    \
      const VF t = 1.0f + s2 * (0.333333333333f + s2 * (0.2f + s2 * (0.142857142857f + s2 * 0.111111111111f))); \
      return 3.01029995663981f * (__builtin_convertvector(e, VF) + 2.88539008177793f * s * t);                \
   }

DSP_VECTOR_MATH(8, dsp_v8f, dsp_v8i, dsp_v8u)

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
