/* The frame pipeline: gather each image column into a slow-time block,
 * wall-filter it, accumulate the autocorrelation, then smooth and estimate.
 * Work is split by image column; each column's arithmetic is independent of
 * the split, so results do not depend on the thread count. */
#include <sono/dsp/pipeline.h>

#include <stdlib.h>

#include <sono/dsp/bmode.h>
#include <sono/sdk/names.h>
#include <sono/dsp/wall.h>

#include "dsp_internal.h"

#define GRAM_GROUP 8     /* columns per partial Gram matrix (fixed: keeps sums thread-independent) */
#ifndef BLOCK_PIXELS
#define BLOCK_PIXELS 2048 /* target pixels per column block: long contiguous reads, block in L2 */
#endif
#define MAX_SMOOTH SONO_DSP_MAX_SMOOTHING

enum { IMG_ACR, IMG_ACI, IMG_PW, IMG_R10R, IMG_R10I, IMG_COUNT };

typedef struct worker {
   float *re, *im; /* block: max_n x ld */
   float *work;    /* projection coefficients or IIR state */
} worker_t;

struct sono_dsp_pipeline {
   sono_dsp_config_t cfg;
   uint32_t max_nz, max_nx, max_n;
   size_t ld;
   uint32_t block_cols; /* columns per block: a power of two dividing GRAM_GROUP */
   dsp_pool_t *pool;
   worker_t *workers;
   /* poly/dct bases for every ensemble length n (NULL where invalid) */
   float **basis;
   float *basis_store;
   uint32_t rank_max;
   sono_dsp_svd_t *svd;
   double *gram_parts, *gram;
   float *svd_v;
   float *img[IMG_COUNT], *smooth[IMG_COUNT], *tmp[IMG_COUNT];
   float *vel, *pdb, *var;
   float *col_max; /* largest power of each column, found by the direct M = 1 pass */
   uint8_t *bmode;
   float *tgc_gain, *tgc_work;
   float hamming[MAX_SMOOTH + 1];
   /* state of the current run, read by the tasks */
   const sono_plane_t *iq;
   uint32_t nz, nx, n, first, rank;
   const float *q;
   sono_dsp_iir_t iir;
   int nimg;
   int estimated;  /* velocity and variance already computed by the column pass (M = 1, Kasai) */
   int wide;       /* the CPU runs the 512-bit lag-1 column loop (AVX-512F) */
   float vn, max_power;
   const sono_acquisition_t *acq;
};

/* 512-bit forms of the Kasai M = 1 loops, used where the CPU has AVX-512F
 * (GCC on x86-64 Linux, as the clones in dsp_internal.h). */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__gnu_linux__) && \
   !defined(SONO_DSP_NO_CLONES)
#define DIRECT_WIDE 1
#else
#define DIRECT_WIDE 0
#endif

static int direct_wide_supported(void);

void sono_dsp_config_default(sono_dsp_config_t *cfg)
{
   memset(cfg, 0, sizeof *cfg);
   cfg->wall = SONO_WALL_NONE;
   cfg->wall_order = 2;
   cfg->lag = 1;
   cfg->smoothing = 1;
   cfg->border = SONO_DSP_BORDER_MIRROR;
   cfg->bmode_dynamic_range_db = 40.0;
   cfg->power_threshold_db = -40.0;
   cfg->threads = 1;
}

int sono_dsp_parse_wall(const char *text, sono_dsp_config_t *cfg, char *err, size_t err_size)
{
   sono_wall_spec_t w = {cfg->wall, cfg->wall_order, cfg->wall_cutoff_hz};
   if (sono_wall_spec_parse(text, &w, err, err_size) < 0)
      return -1;
   cfg->wall = w.kind;
   cfg->wall_order = w.order;
   cfg->wall_cutoff_hz = w.cutoff_hz;
   return 0;
}

static int check_config(const sono_dsp_config_t *c, char *err, size_t err_size)
{
   if (c->wall < SONO_WALL_NONE || c->wall > SONO_WALL_IIR)
      return dsp_fail(err, err_size, "dsp config: field wall = %d, expected 0..4 (none, poly, dct, svd, iir)", (int)c->wall);
   if (c->lag < 1)
      return dsp_fail(err, err_size, "dsp config: field lag = 0, expected >= 1");
   if (c->smoothing < 1 || c->smoothing > MAX_SMOOTH)
      return dsp_fail(err, err_size, "dsp config: field smoothing = %u, expected 1..%d", c->smoothing, MAX_SMOOTH);
   if (c->border != SONO_DSP_BORDER_MIRROR && c->border != SONO_DSP_BORDER_REPLICATE)
      return dsp_fail(err, err_size, "dsp config: field border = %d, expected 0 (mirror) or 1 (replicate)", (int)c->border);
   if (!(c->bmode_dynamic_range_db > 0))
      return dsp_fail(err, err_size, "dsp config: field bmode_dynamic_range_db = %g, expected > 0",
                      c->bmode_dynamic_range_db);
   if (c->threads < 1 || c->threads > 256)
      return dsp_fail(err, err_size, "dsp config: field threads = %u, expected 1..256", c->threads);
   if (c->wall == SONO_WALL_IIR && (c->wall_order < 1 || c->wall_order > 2 * SONO_DSP_IIR_MAX_SECTIONS))
      return dsp_fail(err, err_size, "dsp config: field wall_order = %u for iir, expected 1..%d", c->wall_order,
                      2 * SONO_DSP_IIR_MAX_SECTIONS);
   if (c->wall == SONO_WALL_IIR && !(c->wall_cutoff_hz > 0))
      return dsp_fail(err, err_size, "dsp config: field wall_cutoff_hz = %g for iir, expected > 0", c->wall_cutoff_hz);
   if ((c->wall == SONO_WALL_DCT || c->wall == SONO_WALL_SVD) && c->wall_order < 1)
      return dsp_fail(err, err_size, "dsp config: field wall_order = 0 for %s, expected >= 1",
                      c->wall == SONO_WALL_DCT ? "dct" : "svd");
   if (c->loupas && !(c->axial_sampling_hz > 0))
      return dsp_fail(err, err_size, "dsp config: loupas needs field axial_sampling_hz > 0 (c/(2 dz)), got %g",
                      c->axial_sampling_hz);
   return 0;
}

static void *zalloc(size_t n, size_t size)
{
   /* 64-byte aligned, zeroed: blocks are read with vector loads */
   size_t bytes = n * size;
   bytes = (bytes + 63) & ~(size_t)63;
   void *p = aligned_alloc(64, bytes ? bytes : 64);
   if (p)
      memset(p, 0, bytes ? bytes : 64);
   return p;
}

static int build_bases(sono_dsp_pipeline_t *p)
{
   const sono_dsp_config_t *c = &p->cfg;
   p->basis = calloc((size_t)p->max_n + 1, sizeof *p->basis);
   if (!p->basis)
      return -1;
   if (c->wall != SONO_WALL_POLY && c->wall != SONO_WALL_DCT)
      return 0;
   size_t total = 0;
   for (uint32_t n = 2; n <= p->max_n; ++n) {
      int r = sono_dsp_wall_rank(c->wall, c->wall_order, n, NULL, 0);
      if (r > 0)
         total += (size_t)n * (size_t)r;
   }
   p->basis_store = zalloc(total ? total : 1, sizeof(float));
   if (!p->basis_store)
      return -1;
   size_t off = 0;
   for (uint32_t n = 2; n <= p->max_n; ++n) {
      int r = sono_dsp_wall_rank(c->wall, c->wall_order, n, NULL, 0);
      if (r <= 0)
         continue;
      if (sono_dsp_wall_basis(c->wall, c->wall_order, n, p->basis_store + off, NULL, 0) != r)
         return -1;
      p->basis[n] = p->basis_store + off;
      off += (size_t)n * (size_t)r;
   }
   return 0;
}

sono_dsp_pipeline_t *sono_dsp_pipeline_create(const sono_dsp_config_t *cfg, uint32_t max_nz, uint32_t max_nx,
                                              uint32_t max_ensemble, char *err, size_t err_size)
{
   if (!cfg) {
      dsp_fail(err, err_size, "dsp pipeline: no configuration given");
      return NULL;
   }
   if (check_config(cfg, err, err_size))
      return NULL;
   /* an ensemble of 1 is allowed: B-mode only (Doppler runs then report the short ensemble) */
   if (max_nz < 1 || max_nx < 1 || max_ensemble < 1 || max_nz > 65536 || max_nx > 65536 || max_ensemble > 4096) {
      dsp_fail(err, err_size,
               "dsp pipeline: maximum frame %u x %u x %u (z, x, ensemble), expected 1..65536 x 1..65536 x 1..4096",
               max_nz, max_nx, max_ensemble);
      return NULL;
   }
   sono_dsp_pipeline_t *p = calloc(1, sizeof *p);
   if (!p)
      goto oom;
   p->cfg = *cfg;
   p->max_nz = max_nz, p->max_nx = max_nx, p->max_n = max_ensemble;
   p->ld = dsp_pad8(max_nz);
   const size_t plane = p->ld * max_nx;
   p->block_cols = 1;
   while (p->block_cols < GRAM_GROUP && 2 * p->block_cols * p->ld <= BLOCK_PIXELS)
      p->block_cols *= 2;
   const size_t block_ld = p->ld * p->block_cols;
   p->pool = dsp_pool_create(cfg->threads);
   if (!p->pool)
      goto oom;
   if (build_bases(p))
      goto oom;
   p->rank_max = cfg->wall == SONO_WALL_POLY ? cfg->wall_order + 1 : cfg->wall_order;
   if (p->rank_max > max_ensemble)
      p->rank_max = max_ensemble;
   const size_t work_rows = 2 * (p->rank_max > SONO_DSP_IIR_MAX_SECTIONS ? p->rank_max : SONO_DSP_IIR_MAX_SECTIONS);
   p->workers = calloc(cfg->threads, sizeof *p->workers);
   if (!p->workers)
      goto oom;
   for (uint32_t w = 0; w < cfg->threads; ++w) {
      p->workers[w].re = zalloc(block_ld * max_ensemble, sizeof(float));
      p->workers[w].im = zalloc(block_ld * max_ensemble, sizeof(float));
      p->workers[w].work = zalloc(block_ld * work_rows, sizeof(float));
      if (!p->workers[w].re || !p->workers[w].im || !p->workers[w].work)
         goto oom;
   }
   if (cfg->wall == SONO_WALL_SVD) {
      p->svd = sono_dsp_svd_create(max_ensemble, err, err_size);
      if (!p->svd)
         goto fail;
      const size_t groups = (max_nx + GRAM_GROUP - 1) / GRAM_GROUP;
      p->gram_parts = zalloc(groups * 2 * (size_t)max_ensemble * max_ensemble, sizeof(double));
      p->gram = zalloc(2 * (size_t)max_ensemble * max_ensemble, sizeof(double));
      p->svd_v = zalloc(2 * (size_t)max_ensemble * p->rank_max, sizeof(float));
      if (!p->gram_parts || !p->gram || !p->svd_v)
         goto oom;
   }
   for (int i = 0; i < IMG_COUNT; ++i) {
      if ((i == IMG_R10R || i == IMG_R10I) && !cfg->loupas)
         continue;
      p->img[i] = zalloc(plane, sizeof(float));
      if (!p->img[i])
         goto oom;
      if (cfg->smoothing > 1) {
         p->smooth[i] = zalloc(plane, sizeof(float));
         p->tmp[i] = zalloc(plane, sizeof(float));
         if (!p->smooth[i] || !p->tmp[i])
            goto oom;
      }
   }
   p->vel = zalloc(plane, sizeof(float));
   p->pdb = zalloc(plane, sizeof(float));
   p->var = zalloc(plane, sizeof(float));
   p->col_max = zalloc(max_nx, sizeof(float));
   p->wide = direct_wide_supported();
   p->bmode = zalloc(plane, 1);
   p->tgc_gain = zalloc(max_nz, sizeof(float));
   p->tgc_work = zalloc(SONO_DSP_TGC_WORK(max_nz), sizeof(float));
   if (!p->vel || !p->pdb || !p->var || !p->col_max || !p->bmode || !p->tgc_gain || !p->tgc_work)
      goto oom;
   sono_dsp_hamming(cfg->smoothing, p->hamming);
   return p;
oom:
   dsp_fail(err, err_size, "dsp pipeline: out of memory for frames of %u x %u x %u", max_nz, max_nx, max_ensemble);
fail:
   sono_dsp_pipeline_destroy(p);
   return NULL;
}

void sono_dsp_pipeline_destroy(sono_dsp_pipeline_t *p)
{
   if (!p)
      return;
   if (p->pool)
      dsp_pool_destroy(p->pool);
   if (p->workers)
      for (uint32_t w = 0; w < p->cfg.threads; ++w) {
         free(p->workers[w].re);
         free(p->workers[w].im);
         free(p->workers[w].work);
      }
   free(p->workers);
   free(p->basis);
   free(p->basis_store);
   sono_dsp_svd_destroy(p->svd);
   free(p->gram_parts);
   free(p->gram);
   free(p->svd_v);
   for (int i = 0; i < IMG_COUNT; ++i) {
      free(p->img[i]);
      free(p->smooth[i]);
      free(p->tmp[i]);
   }
   free(p->vel);
   free(p->pdb);
   free(p->var);
   free(p->col_max);
   free(p->bmode);
   free(p->tgc_gain);
   free(p->tgc_work);
   free(p);
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

/* Splits n interleaved complex values into re[] and im[]: two loads and two
 * shuffles per 4 values (the auto-vectoriser emulates this with scalar loads). */
DSP_HOT static void deinterleave(const float *restrict src, float *restrict re, float *restrict im, uint32_t n)
{
   uint32_t z = 0;
   for (; z + 4 <= n; z += 4) {
      v4f a, b;
      __builtin_memcpy(&a, src + 2 * z, sizeof a);
      __builtin_memcpy(&b, src + 2 * z + 4, sizeof b);
      const v4f r = SHUFFLE_EVEN(a, b), i = SHUFFLE_ODD(a, b);
      __builtin_memcpy(re + z, &r, sizeof r);
      __builtin_memcpy(im + z, &i, sizeof i);
   }
   for (; z < n; ++z) {
      re[z] = src[2 * z];
      im[z] = src[2 * z + 1];
   }
}

/* Copies columns x0 .. x0+cols-1 of the IQ plane (all z, all t) into the
 * split block: column c of sample t at re[t*bld + c*ld + z], bld =
 * ld*block_cols. Depths nz..ld-1 are zeroed so that they add nothing to the
 * Gram matrix and carry no stale data. */
static void gather_block(const sono_dsp_pipeline_t *p, uint32_t x0, uint32_t cols, float *restrict re,
                         float *restrict im)
{
   const sono_plane_t *iq = p->iq;
   const int64_t s0 = iq->stride[0];
   const uint32_t nz = p->nz;
   const size_t bld = p->ld * p->block_cols;
   for (uint32_t t = 0; t < p->n; ++t)
      for (uint32_t c = 0; c < cols; ++c) {
         const float *restrict src =
            (const float *)iq->data + 2 * ((int64_t)(x0 + c) * iq->stride[1] + (int64_t)t * iq->stride[2]);
         float *restrict r = re + t * bld + c * p->ld, *restrict i = im + t * bld + c * p->ld;
         if (s0 == 1) {
            deinterleave(src, r, i, nz);
         } else {
            for (uint32_t z = 0; z < nz; ++z) {
               r[z] = src[2 * s0 * z];
               i[z] = src[2 * s0 * z + 1];
            }
         }
         for (size_t z = nz; z < p->ld; ++z)
            r[z] = i[z] = 0.0f;
      }
}

static void wall_filter_block(const sono_dsp_pipeline_t *p, worker_t *w, size_t count)
{
   const size_t bld = p->ld * p->block_cols;
   switch (p->cfg.wall) {
   case SONO_WALL_POLY:
   case SONO_WALL_DCT: sono_dsp_wall_project_out(w->re, w->im, bld, p->n, count, p->q, p->rank, w->work); break;
   case SONO_WALL_SVD:
      sono_dsp_wall_project_out_complex(w->re, w->im, bld, p->n, count, p->svd_v, p->rank, w->work);
      break;
   case SONO_WALL_IIR: sono_dsp_iir_apply(&p->iir, w->re, w->im, bld, p->n, count, w->work); break;
   default: break;
   }
}

static void task_gram(void *ctx, unsigned wi, size_t g0, size_t g1)
{
   sono_dsp_pipeline_t *p = ctx;
   worker_t *w = &p->workers[wi];
   const size_t nn2 = 2 * (size_t)p->n * p->n, bld = p->ld * p->block_cols;
   for (size_t g = g0; g < g1; ++g) {
      double *part = p->gram_parts + g * nn2;
      memset(part, 0, nn2 * sizeof *part);
      for (size_t x = g * GRAM_GROUP; x < (g + 1) * GRAM_GROUP && x < p->nx; x += p->block_cols) {
         const uint32_t cols = (uint32_t)(p->nx - x < p->block_cols ? p->nx - x : p->block_cols);
         gather_block(p, (uint32_t)x, cols, w->re, w->im);
         sono_dsp_gram_accumulate(w->re, w->im, bld, p->n, cols * p->ld, part);
      }
   }
}

typedef float v8f __attribute__((vector_size(32)));
typedef int32_t v8i __attribute__((vector_size(32)));
#define DIRECT_MAX_LAG 8
#define DIRECT_PF 4 /* prefetch distance in 8-depth steps */
#define DIRECT_HW_STREAMS 32 /* slow-time planes the hardware prefetchers follow without help */
#define DSP_PF_LOCALITY 3 /* into L1: each line is used by the very next steps */

/* Loads 8 interleaved complex values as (re, im) vectors. */
#if defined(__clang__)
#define SPLIT8(src, r, i)                                                                   \
   do {                                                                                     \
      v8f a_, b_;                                                                           \
      __builtin_memcpy(&a_, (src), sizeof a_);                                              \
      __builtin_memcpy(&b_, (src) + 8, sizeof b_);                                          \
      (r) = __builtin_shufflevector(a_, b_, 0, 2, 4, 6, 8, 10, 12, 14);                     \
      (i) = __builtin_shufflevector(a_, b_, 1, 3, 5, 7, 9, 11, 13, 15);                     \
   } while (0)
#else
#define SPLIT8(src, r, i)                                                                   \
   do {                                                                                     \
      v8f a_, b_;                                                                           \
      __builtin_memcpy(&a_, (src), sizeof a_);                                              \
      __builtin_memcpy(&b_, (src) + 8, sizeof b_);                                          \
      (r) = __builtin_shuffle(a_, b_, (v8i){0, 2, 4, 6, 8, 10, 12, 14});                    \
      (i) = __builtin_shuffle(a_, b_, (v8i){1, 3, 5, 7, 9, 11, 13, 15});                    \
   } while (0)
#endif

/* Loads 8 interleaved complex values as (re, im) vectors with in-lane
 * shuffles only (one vshufps each): the lanes hold depths 0 1 4 5 2 3 6 7.
 * Every lane keeps one depth for the whole slow-time loop, so the sums are
 * those of SPLIT8; UNPERMUTE puts the depths back in order before a store. */
#if defined(__clang__)
#define SPLIT8_LANES(src, r, i)                                                             \
   do {                                                                                     \
      v8f a_, b_;                                                                           \
      __builtin_memcpy(&a_, (src), sizeof a_);                                              \
      __builtin_memcpy(&b_, (src) + 8, sizeof b_);                                          \
      (r) = __builtin_shufflevector(a_, b_, 0, 2, 8, 10, 4, 6, 12, 14);                     \
      (i) = __builtin_shufflevector(a_, b_, 1, 3, 9, 11, 5, 7, 13, 15);                     \
   } while (0)
#define UNPERMUTE(v) __builtin_shufflevector((v), (v), 0, 1, 4, 5, 2, 3, 6, 7)
#else
#define SPLIT8_LANES(src, r, i)                                                             \
   do {                                                                                     \
      v8f a_, b_;                                                                           \
      __builtin_memcpy(&a_, (src), sizeof a_);                                              \
      __builtin_memcpy(&b_, (src) + 8, sizeof b_);                                          \
      (r) = __builtin_shuffle(a_, b_, (v8i){0, 2, 8, 10, 4, 6, 12, 14});                    \
      (i) = __builtin_shuffle(a_, b_, (v8i){1, 3, 9, 11, 5, 7, 13, 15});                    \
   } while (0)
#define UNPERMUTE(v) __builtin_shuffle((v), (v8i){0, 1, 4, 5, 2, 3, 6, 7})
#endif

/* Stores lane-permuted sums (see SPLIT8_LANES) in depth order. */
static inline __attribute__((always_inline)) void store_unpermuted(float *dst, v8f v)
{
   const v8f o = UNPERMUTE(v);
   __builtin_memcpy(dst, &o, sizeof o);
}

/* The lag-1 loop of kasai_direct_column on 512-bit vectors, 32 depths per
 * step, for CPUs with AVX-512F (chosen at create, see direct_wide_supported).
 * With the input in L2 the 256-bit loop is limited by the vector ports (28
 * uops per 16 pixel-samples); here 14 do the same work. Each lane runs the
 * 8-depth loop's operations in the same order, so the sums are the same bit
 * for bit. In-lane shuffles as SPLIT8_LANES: within each 128-bit lane l the
 * depths are 2l, 2l+1, 8+2l, 9+2l; the store puts them back in order.
 * Returns the first depth it did not do (a multiple of 32). */
#if DIRECT_WIDE
typedef float v16f __attribute__((vector_size(64)));
typedef int32_t v16i __attribute__((vector_size(64)));
typedef uint32_t v16u __attribute__((vector_size(64)));
DSP_VECTOR_MATH(16, v16f, v16i, v16u)

#define SPLIT16_LANES(src, r, i)                                                                          \
   do {                                                                                                   \
      v16f a_, b_;                                                                                        \
      __builtin_memcpy(&a_, (src), sizeof a_);                                                            \
      __builtin_memcpy(&b_, (src) + 16, sizeof b_);                                                       \
      (r) = __builtin_shuffle(a_, b_, (v16i){0, 2, 16, 18, 4, 6, 20, 22, 8, 10, 24, 26, 12, 14, 28, 30}); \
      (i) = __builtin_shuffle(a_, b_, (v16i){1, 3, 17, 19, 5, 7, 21, 23, 9, 11, 25, 27, 13, 15, 29, 31}); \
   } while (0)

__attribute__((target("avx512f"))) static inline void store16_unpermuted(float *dst, v16f v)
{
   const v16f o = __builtin_shuffle(v, (v16i){0, 1, 4, 5, 8, 9, 12, 13, 2, 3, 6, 7, 10, 11, 14, 15});
   __builtin_memcpy(dst, &o, sizeof o);
}

__attribute__((target("avx512f"))) static uint32_t kasai_lag1_wide(const sono_dsp_pipeline_t *p, uint32_t x,
                                                                 float *restrict acr, float *restrict aci,
                                                                 float *restrict pw)
{
   const sono_plane_t *iq = p->iq;
   const uint32_t nz = p->nz, n = p->n;
   const float *col = (const float *)iq->data + 2 * (int64_t)x * iq->stride[1];
   const int64_t st = 2 * iq->stride[2];
   uint32_t z = 0;
   for (; z + 32 <= nz; z += 32) {
      v16f pr0, pi0, pr1, pi1, sr0 = {0}, si0 = {0}, sp0 = {0}, sr1 = {0}, si1 = {0}, sp1 = {0};
      SPLIT16_LANES(col + 2 * z, pr0, pi0);
      SPLIT16_LANES(col + 2 * z + 32, pr1, pi1);
      for (uint32_t t = 1; t < n; ++t) {
         v16f br0, bi0, br1, bi1;
         const float *src = col + st * t + 2 * z;
         SPLIT16_LANES(src, br0, bi0);
         SPLIT16_LANES(src + 32, br1, bi1);
         sr0 += pr0 * br0 + pi0 * bi0;
         si0 += pi0 * br0 - pr0 * bi0;
         sp0 += pr0 * pr0 + pi0 * pi0;
         sr1 += pr1 * br1 + pi1 * bi1;
         si1 += pi1 * br1 - pr1 * bi1;
         sp1 += pr1 * pr1 + pi1 * pi1;
         pr0 = br0, pi0 = bi0, pr1 = br1, pi1 = bi1;
      }
      sp0 += pr0 * pr0 + pi0 * pi0;
      sp1 += pr1 * pr1 + pi1 * pi1;
      store16_unpermuted(acr + z, sr0);
      store16_unpermuted(aci + z, si0);
      store16_unpermuted(pw + z, sp0);
      store16_unpermuted(acr + z + 16, sr1);
      store16_unpermuted(aci + z + 16, si1);
      store16_unpermuted(pw + z + 16, sp1);
   }
   return z;
}

static int direct_wide_supported(void)
{
   __builtin_cpu_init();
   return __builtin_cpu_supports("avx512f");
}
#else
static uint32_t kasai_lag1_wide(const sono_dsp_pipeline_t *p, uint32_t x, float *acr, float *aci, float *pw)
{
   (void)p, (void)x, (void)acr, (void)aci, (void)pw;
   return 0;
}

static int direct_wide_supported(void) { return 0; }
#endif

/* AC and P of one column straight from the IQ plane, without a wall filter,
 * from depth z on (the depths before z are done), 8 depths at a time with
 * every sum in registers: each input value is read once and nothing else
 * touches memory. Same operations in the same order
 * as sono_dsp_kasai_accumulate, so the result is bit-identical to the block
 * path. Needs stride[0] = 1 and lag <= DIRECT_MAX_LAG; depths beyond the last
 * multiple of 8 are done one by one. */
DSP_HOT static void kasai_direct_column(const sono_dsp_pipeline_t *p, uint32_t x, float *restrict acr,
                                        float *restrict aci, float *restrict pw, uint32_t z)
{
   const sono_plane_t *iq = p->iq;
   const uint32_t nz = p->nz, lag = p->cfg.lag, n = p->n;
   const float *col = (const float *)iq->data + 2 * (int64_t)x * iq->stride[1];
   const int64_t st = 2 * iq->stride[2];
   /* lag 1, 16 depths (two cache lines per slow-time plane) per step: two
    * independent sets of sums keep the FP ports busy and give the
    * prefetcher longer runs; each lane's arithmetic is the 8-depth loop's.
    * In-lane shuffles need no constant registers, so the six sums, the
    * previous sample and the products fit the 16 AVX2 registers (cross-lane
    * SPLIT8 spilled three sums to the stack: a store-forward in every
    * loop-carried add). The hardware prefetchers follow up to 32
    * slow-time planes by themselves (software prefetches there only took
    * fill buffers and issue slots: 16 planes ran about 6% slower with
    * them); beyond that the lines are asked for DIRECT_PF steps ahead. */
   const int many_planes = n > DIRECT_HW_STREAMS;
   for (; z + 16 <= nz && lag == 1; z += 16) {
      v8f pr0, pi0, pr1, pi1, sr0 = {0}, si0 = {0}, sp0 = {0}, sr1 = {0}, si1 = {0}, sp1 = {0};
      if (many_planes) {
         __builtin_prefetch(col + 2 * z + 16 * DIRECT_PF, 0, DSP_PF_LOCALITY);
         __builtin_prefetch(col + 2 * z + 16 * DIRECT_PF + 16, 0, DSP_PF_LOCALITY);
      }
      SPLIT8_LANES(col + 2 * z, pr0, pi0);
      SPLIT8_LANES(col + 2 * z + 16, pr1, pi1);
      for (uint32_t t = 1; t < n; ++t) {
         v8f br0, bi0, br1, bi1;
         const float *src = col + st * t + 2 * z;
         if (many_planes) {
            __builtin_prefetch(src + 16 * DIRECT_PF, 0, DSP_PF_LOCALITY);
            __builtin_prefetch(src + 16 * DIRECT_PF + 16, 0, DSP_PF_LOCALITY);
         }
         SPLIT8_LANES(src, br0, bi0);
         SPLIT8_LANES(src + 16, br1, bi1);
         sr0 += pr0 * br0 + pi0 * bi0;
         si0 += pi0 * br0 - pr0 * bi0;
         sp0 += pr0 * pr0 + pi0 * pi0;
         sr1 += pr1 * br1 + pi1 * bi1;
         si1 += pi1 * br1 - pr1 * bi1;
         sp1 += pr1 * pr1 + pi1 * pi1;
         pr0 = br0, pi0 = bi0, pr1 = br1, pi1 = bi1;
      }
      sp0 += pr0 * pr0 + pi0 * pi0;
      sp1 += pr1 * pr1 + pi1 * pi1;
      store_unpermuted(acr + z, sr0);
      store_unpermuted(aci + z, si0);
      store_unpermuted(pw + z, sp0);
      store_unpermuted(acr + z + 8, sr1);
      store_unpermuted(aci + z + 8, si1);
      store_unpermuted(pw + z + 8, sp1);
   }
   for (; z + 8 <= nz && lag == 1; z += 8) { /* lag 1: the previous sample stays in registers */
      v8f pr, pi, sr = {0}, si = {0}, sp = {0};
      __builtin_prefetch(col + 2 * z + 16 * DIRECT_PF, 0, DSP_PF_LOCALITY);
      SPLIT8(col + 2 * z, pr, pi);
      for (uint32_t t = 1; t < n; ++t) {
         v8f br, bi;
         __builtin_prefetch(col + st * t + 2 * z + 16 * DIRECT_PF, 0, DSP_PF_LOCALITY);
         SPLIT8(col + st * t + 2 * z, br, bi);
         sr += pr * br + pi * bi;
         si += pi * br - pr * bi;
         sp += pr * pr + pi * pi;
         pr = br, pi = bi;
      }
      sp += pr * pr + pi * pi;
      __builtin_memcpy(acr + z, &sr, sizeof sr);
      __builtin_memcpy(aci + z, &si, sizeof si);
      __builtin_memcpy(pw + z, &sp, sizeof sp);
   }
   for (; z + 8 <= nz; z += 8) {
      v8f rr[DIRECT_MAX_LAG + 1], ri[DIRECT_MAX_LAG + 1];
      v8f sr = {0}, si = {0}, sp = {0};
      for (uint32_t t = 0; t < n; ++t) {
         const uint32_t slot = t % (lag + 1);
         /* each step reads one cache line per slow-time plane: with more planes
          * than the hardware prefetcher follows (64 took twice as long per
          * sample as 32), ask for the line DIRECT_PF steps ahead */
         __builtin_prefetch(col + st * t + 2 * z + 16 * DIRECT_PF, 0, DSP_PF_LOCALITY);
         SPLIT8(col + st * t + 2 * z, rr[slot], ri[slot]);
         if (t < lag)
            continue;
         const uint32_t old = (t - lag) % (lag + 1);
         const v8f ar = rr[old], ai = ri[old], br = rr[slot], bi = ri[slot];
         sr += ar * br + ai * bi;
         si += ai * br - ar * bi;
         sp += ar * ar + ai * ai;
      }
      for (uint32_t t = n - lag; t < n; ++t) {
         const v8f ar = rr[t % (lag + 1)], ai = ri[t % (lag + 1)];
         sp += ar * ar + ai * ai;
      }
      __builtin_memcpy(acr + z, &sr, sizeof sr);
      __builtin_memcpy(aci + z, &si, sizeof si);
      __builtin_memcpy(pw + z, &sp, sizeof sp);
   }
   for (; z < nz; ++z) {
      float sr = 0.0f, si = 0.0f, sp = 0.0f;
      for (uint32_t t = 0; t + lag < n; ++t) {
         const float *a = col + st * t + 2 * z, *b = col + st * (t + lag) + 2 * z;
         sr += a[0] * b[0] + a[1] * b[1];
         si += a[1] * b[0] - a[0] * b[1];
         sp += a[0] * a[0] + a[1] * a[1];
      }
      for (uint32_t t = n - lag; t < n; ++t) {
         const float *a = col + st * t + 2 * z;
         sp += a[0] * a[0] + a[1] * a[1];
      }
      acr[z] = sr, aci[z] = si, pw[z] = sp;
   }
}

#define DIRECT_MAX_N 64 /* ensemble held on the stack by the projected single-pass path */

/* Projection wall filter (poly/dct) and Kasai for one column straight from
 * the IQ plane, 8 depths at a time held in L1: the slow-time samples are
 * loaded once, the basis coefficients computed and removed, and AC and P
 * accumulated, with exactly the operations and order of
 * sono_dsp_wall_project_out + sono_dsp_kasai_accumulate (bit-identical to the
 * block path). Needs stride[0] = 1, n <= DIRECT_MAX_N, rank <= n. */
DSP_HOT static void kasai_projected_column(const sono_dsp_pipeline_t *p, uint32_t x, float *restrict acr,
                                           float *restrict aci, float *restrict pw)
{
   const sono_plane_t *iq = p->iq;
   const uint32_t nz = p->nz, lag = p->cfg.lag, n = p->n, rank = p->rank;
   const float *q = p->q;
   const float *col = (const float *)iq->data + 2 * (int64_t)x * iq->stride[1];
   const int64_t st = 2 * iq->stride[2];
   v8f xr[DIRECT_MAX_N], xi[DIRECT_MAX_N], cr[DIRECT_MAX_N], ci[DIRECT_MAX_N];
   for (uint32_t z = 0; z < nz; z += 8) {
      const uint32_t len = nz - z < 8 ? nz - z : 8;
      if (len == 8) {
         for (uint32_t t = 0; t < n; ++t) {
            __builtin_prefetch(col + st * t + 2 * z + 16 * DIRECT_PF, 0, DSP_PF_LOCALITY);
            SPLIT8(col + st * t + 2 * z, xr[t], xi[t]);
         }
      } else { /* last partial group: unused lanes are 0 and not stored */
         for (uint32_t t = 0; t < n; ++t) {
            const v8f zero = {0};
            xr[t] = zero, xi[t] = zero;
            for (uint32_t l = 0; l < len; ++l) {
               xr[t][l] = col[st * t + 2 * (z + l)];
               xi[t][l] = col[st * t + 2 * (z + l) + 1];
            }
         }
      }
      for (uint32_t k = 0; k < rank; ++k) {
         v8f sr = {0}, si = {0};
         for (uint32_t t = 0; t < n; ++t) {
            const float w = q[t * rank + k];
            sr += w * xr[t];
            si += w * xi[t];
         }
         cr[k] = sr, ci[k] = si;
      }
      for (uint32_t t = 0; t < n; ++t)
         for (uint32_t k = 0; k < rank; ++k) {
            const float w = q[t * rank + k];
            xr[t] -= w * cr[k];
            xi[t] -= w * ci[k];
         }
      v8f sr = {0}, si = {0}, sp = {0};
      for (uint32_t t = p->first; t + lag < n; ++t) {
         const v8f ar = xr[t], ai = xi[t], br = xr[t + lag], bi = xi[t + lag];
         sr += ar * br + ai * bi;
         si += ai * br - ar * bi;
         sp += ar * ar + ai * ai;
      }
      for (uint32_t t = n - lag > p->first ? n - lag : p->first; t < n; ++t)
         sp += xr[t] * xr[t] + xi[t] * xi[t];
      for (uint32_t l = 0; l < len; ++l)
         acr[z + l] = sr[l], aci[z + l] = si[l], pw[z + l] = sp[l];
   }
}

static void task_projected(void *ctx, unsigned wi, size_t x0, size_t x1)
{
   sono_dsp_pipeline_t *p = ctx;
   (void)wi;
   for (size_t x = x0; x < x1; ++x) {
      const size_t o = x * p->ld;
      kasai_projected_column(p, (uint32_t)x, p->img[IMG_ACR] + o, p->img[IMG_ACI] + o, p->img[IMG_PW] + o);
   }
}

/* Largest of n floats: order-free, so running maxima in four independent
 * 8-lane accumulators (compare and select) give exactly the scalar result;
 * one accumulator made every step wait for the previous compare and blend. */
DSP_HOT_SELECT static float max_of(const float *restrict v, size_t n, float mx)
{
   dsp_v8f acc[4];
   for (int k = 0; k < 4; ++k)
      acc[k] = (dsp_v8f){0} + mx;
   size_t i = 0;
   for (; i + 32 <= n; i += 32)
      for (int k = 0; k < 4; ++k) {
         dsp_v8f a;
         __builtin_memcpy(&a, v + i + 8 * k, sizeof a);
         acc[k] = dsp_sel8(a > acc[k], a, acc[k]);
      }
   for (; i + 8 <= n; i += 8) {
      dsp_v8f a;
      __builtin_memcpy(&a, v + i, sizeof a);
      acc[0] = dsp_sel8(a > acc[0], a, acc[0]);
   }
   for (; i < n; ++i)
      mx = v[i] > mx ? v[i] : mx;
   for (int k = 0; k < 4; ++k)
      for (int l = 0; l < 8; ++l)
         mx = acc[k][l] > mx ? acc[k][l] : mx;
   return mx;
}

/* Velocity and variance on W lanes for the first multiple of W depths,
 * with exactly the operations of sono_dsp_kasai_velocity and
 * sono_dsp_kasai_variance per lane: one definition for the 8-lane form and
 * the 512-bit 16-lane form, so the two cannot drift apart. Returns the
 * first depth it did not do; *mx is the largest power it saw (at least 0;
 * the maximum is order-free). */
#define DSP_ESTIMATE_LANES(W, VF, VI, ATTR)                                                                    \
   ATTR static uint32_t estimate_lanes##W(const float *restrict acr, const float *restrict aci,                \
                                          const float *restrict pw, uint32_t nz, float vn, float *restrict vel, \
                                          float *restrict var, float *mx)                                       \
   {                                                                                                           \
      const float kv = -vn / DSP_PI_F;                                                                         \
      const float ks = 2.0f * (vn / DSP_PI_F) * (vn / DSP_PI_F);                                               \
      const VF zero = {0}, one = zero + 1.0f;                                                                  \
      VF vmx = zero;                                                                                           \
      uint32_t z = 0;                                                                                          \
      for (; z + (W) <= nz; z += (W)) {                                                                        \
         VF re, im, p, mag;                                                                                    \
         __builtin_memcpy(&re, acr + z, sizeof re);                                                            \
         __builtin_memcpy(&im, aci + z, sizeof im);                                                            \
         __builtin_memcpy(&p, pw + z, sizeof p);                                                               \
         const VF v = kv * dsp_atan2_v##W(im, re);                                                             \
         const VF m2 = re * re + im * im;                                                                      \
         for (int l = 0; l < (W); ++l)                                                                         \
            mag[l] = sqrtf(m2[l]);                                                                             \
         const VI pos = p > zero;                                                                              \
         const VF s = dsp_sel##W(pos, ks * (1.0f - mag / dsp_sel##W(pos, p, one)), zero);                      \
         vmx = dsp_sel##W(p > vmx, p, vmx);                                                                    \
         __builtin_memcpy(vel + z, &v, sizeof v);                                                              \
         __builtin_memcpy(var + z, &s, sizeof s);                                                              \
      }                                                                                                        \
      float m = 0.0f;                                                                                          \
      for (int l = 0; l < (W); ++l)                                                                            \
         m = vmx[l] > m ? vmx[l] : m;                                                                          \
      *mx = m;                                                                                                 \
      return z;                                                                                                \
   }

/* always_inline: it runs with the ISA of each clone of estimate_column. */
DSP_ESTIMATE_LANES(8, dsp_v8f, dsp_v8i, inline __attribute__((always_inline)))

/* Velocity, variance and the largest power of one column, in one loop over
 * its AC and power while they are in L1 (one call and one pass instead of
 * three): 8 lanes, then the scalar forms for the last nz % 8 depths, so the
 * planes are the same bit for bit. Returns the column's largest power (at
 * least 0). */
DSP_HOT_SELECT static float estimate_column(const float *restrict acr, const float *restrict aci,
                                            const float *restrict pw, uint32_t nz, float vn, float *restrict vel,
                                            float *restrict var)
{
   const float kv = -vn / DSP_PI_F;
   const float ks = 2.0f * (vn / DSP_PI_F) * (vn / DSP_PI_F);
   float m;
   uint32_t z = estimate_lanes8(acr, aci, pw, nz, vn, vel, var, &m);
   for (; z < nz; ++z) {
      vel[z] = kv * dsp_atan2f(aci[z], acr[z]);
      const float mag = sqrtf(acr[z] * acr[z] + aci[z] * aci[z]);
      const float p = pw[z] > 0.0f ? pw[z] : 1.0f;
      var[z] = pw[z] > 0.0f ? ks * (1.0f - mag / p) : 0.0f;
      m = pw[z] > m ? pw[z] : m;
   }
   return m;
}

#if DIRECT_WIDE
/* estimate_column's lanes, 16 at a time where the CPU has AVX-512F. */
DSP_ESTIMATE_LANES(16, v16f, v16i, __attribute__((target("avx512f"))))

static uint32_t estimate_wide(const float *acr, const float *aci, const float *pw, uint32_t nz, float vn, float *vel,
                              float *var, float *mx)
{
   return estimate_lanes16(acr, aci, pw, nz, vn, vel, var, mx);
}

/* power_db on 16 lanes for the first multiple of 16 depths; returns the
 * first depth it did not do and sets *below when a pixel is below thr. */
__attribute__((target("avx512f"))) static uint32_t power_db_wide(const float *restrict pw, float inv, float thr,
                                                               uint32_t nz, float *restrict db, int *below)
{
   const v16f vinv = (v16f){0} + inv, floor_ = (v16f){0} + 1e-30f;
   v16i low = {0};
   uint32_t z = 0;
   for (; z + 16 <= nz; z += 16) {
      v16f r;
      __builtin_memcpy(&r, pw + z, sizeof r);
      r = r * vinv;
      r = dsp_sel16(r > floor_, r, floor_);
      const v16f d = dsp_db10_v16(r);
      low |= d < thr;
      __builtin_memcpy(db + z, &d, sizeof d);
   }
   int any = 0;
   for (int l = 0; l < 16; ++l)
      any |= low[l] != 0;
   *below = any;
   return z;
}
#else
static uint32_t estimate_wide(const float *acr, const float *aci, const float *pw, uint32_t nz, float vn, float *vel,
                              float *var, float *mx)
{
   (void)acr, (void)aci, (void)pw, (void)nz, (void)vn, (void)vel, (void)var;
   *mx = 0.0f;
   return 0;
}

static uint32_t power_db_wide(const float *pw, float inv, float thr, uint32_t nz, float *db, int *below)
{
   (void)pw, (void)inv, (void)thr, (void)nz, (void)db;
   *below = 0;
   return 0;
}
#endif

static void task_direct(void *ctx, unsigned wi, size_t x0, size_t x1)
{
   sono_dsp_pipeline_t *p = ctx;
   for (size_t x = x0; x < x1; ++x) {
      const size_t o = x * p->ld;
      if (p->estimated) {
         /* AC goes to the worker's scratch column, which stays in L1 for
          * the velocity and variance right after; nothing reads the AC
          * planes at M = 1, and writing them only pushed 512 kB per frame
          * through the caches. */
         float *acr = p->workers[wi].re, *aci = p->workers[wi].im;
         /* 512-bit steps first where the CPU has them and the hardware
          * prefetchers follow every plane (see kasai_direct_column) */
         const uint32_t z = p->wide && p->cfg.lag == 1 && p->n <= DIRECT_HW_STREAMS
                               ? kasai_lag1_wide(p, (uint32_t)x, acr, aci, p->img[IMG_PW] + o)
                               : 0;
         kasai_direct_column(p, (uint32_t)x, acr, aci, p->img[IMG_PW] + o, z);
         /* the power maximum too, saving a pass over the plane; 16 lanes
          * first where the CPU has them (the maximum is order-free) */
         float *pw = p->img[IMG_PW] + o, mw = 0.0f;
         const uint32_t ze = p->wide ? estimate_wide(acr, aci, pw, p->nz, p->vn, p->vel + o, p->var + o, &mw) : 0;
         const float mr = estimate_column(acr + ze, aci + ze, pw + ze, p->nz - ze, p->vn, p->vel + o + ze,
                                          p->var + o + ze);
         p->col_max[x] = mw > mr ? mw : mr;
      } else {
         kasai_direct_column(p, (uint32_t)x, p->img[IMG_ACR] + o, p->img[IMG_ACI] + o, p->img[IMG_PW] + o, 0);
      }
   }
}

#define TILE 256 /* pixels filtered and accumulated together while in L1/L2 */

static void task_blocks(void *ctx, unsigned wi, size_t b0, size_t b1)
{
   sono_dsp_pipeline_t *p = ctx;
   worker_t *w = &p->workers[wi];
   const size_t bld = p->ld * p->block_cols;
   for (size_t b = b0; b < b1; ++b) {
      const size_t x = b * p->block_cols;
      const uint32_t cols = (uint32_t)(p->nx - x < p->block_cols ? p->nx - x : p->block_cols);
      const size_t count = (size_t)cols * p->ld, o = x * p->ld;
      gather_block(p, (uint32_t)x, cols, w->re, w->im);
      /* Tiles of the block go through the wall filter and the
       * autocorrelation while in L1; each pixel's arithmetic is the same as
       * for the whole block at once. */
      for (size_t i0 = 0; i0 < count; i0 += TILE) {
         const size_t len = count - i0 < TILE ? count - i0 : TILE;
         worker_t tile = {w->re + i0, w->im + i0, w->work};
         wall_filter_block(p, &tile, len);
         sono_dsp_kasai_accumulate(tile.re, tile.im, bld, p->n, p->first, p->cfg.lag, len, p->img[IMG_ACR] + o + i0,
                                   p->img[IMG_ACI] + o + i0, p->img[IMG_PW] + o + i0);
      }
      if (p->cfg.loupas)
         for (uint32_t c = 0; c < cols; ++c) /* along depth: per column */
            sono_dsp_loupas_accumulate(w->re + c * p->ld, w->im + c * p->ld, bld, p->n, p->first, p->nz,
                                       p->img[IMG_R10R] + o + c * p->ld, p->img[IMG_R10I] + o + c * p->ld);
   }
}

static void task_smooth(void *ctx, unsigned wi, size_t x0, size_t x1, int pass)
{
   sono_dsp_pipeline_t *p = ctx;
   (void)wi;
   for (int i = 0; i < p->nimg; ++i)
      sono_dsp_smooth_pass(pass, p->img[i], p->smooth[i], p->tmp[i], p->nz, p->nx, p->ld, p->hamming,
                           p->cfg.smoothing, p->cfg.border, x0, x1);
}
static void task_smooth1(void *ctx, unsigned wi, size_t x0, size_t x1) { task_smooth(ctx, wi, x0, x1, 1); }
static void task_smooth2(void *ctx, unsigned wi, size_t x0, size_t x1) { task_smooth(ctx, wi, x0, x1, 2); }

static float *estimate_src(const sono_dsp_pipeline_t *p, int i)
{
   return p->cfg.smoothing > 1 ? p->smooth[i] : p->img[i];
}

/* Power in dB relative to the maximum; returns whether any pixel of the
 * column is below thr (dB), i.e. whether the power mask touches it. */
DSP_HOT_SELECT static int power_db(const float *restrict pw, float inv, float thr, uint32_t nz, float *restrict db)
{
   const dsp_v8f vinv = (dsp_v8f){0} + inv, floor_ = (dsp_v8f){0} + 1e-30f;
   dsp_v8i below = {0};
   uint32_t z = 0;
   for (; z + 8 <= nz; z += 8) {
      dsp_v8f r;
      __builtin_memcpy(&r, pw + z, sizeof r);
      r = r * vinv;
      r = dsp_sel8(r > floor_, r, floor_);
      const dsp_v8f d = dsp_db10_v8(r);
      below |= d < thr;
      __builtin_memcpy(db + z, &d, sizeof d);
   }
   int any = 0;
   for (; z < nz; ++z) {
      float r = pw[z] * inv;
      r = r > 1e-30f ? r : 1e-30f;
      db[z] = dsp_db10f(r);
      any |= db[z] < thr;
   }
   uint64_t w[4];
   __builtin_memcpy(w, &below, sizeof w);
   return any | ((w[0] | w[1] | w[2] | w[3]) != 0);
}

/* The mask: velocity and variance set to 0 where the power (dB, from
 * power_db) is below thr or the variance above vthr. */
DSP_HOT_SELECT static void apply_mask(const float *restrict db, float thr, float vthr, uint32_t nz, float *restrict v,
                                      float *restrict s2)
{
   const dsp_v8f vzero = {0};
   uint32_t z = 0;
   for (; z + 8 <= nz; z += 8) {
      dsp_v8f d, vz, sz;
      __builtin_memcpy(&d, db + z, sizeof d);
      __builtin_memcpy(&vz, v + z, sizeof vz);
      __builtin_memcpy(&sz, s2 + z, sizeof sz);
      const dsp_v8i masked = (d < thr) | (sz > vthr);
      vz = dsp_sel8(masked, vzero, vz);
      sz = dsp_sel8(masked, vzero, sz);
      __builtin_memcpy(v + z, &vz, sizeof vz);
      __builtin_memcpy(s2 + z, &sz, sizeof sz);
   }
   for (; z < nz; ++z) {
      const float vz = v[z], sz = s2[z];
      const int masked = (db[z] < thr) | (sz > vthr);
      v[z] = masked ? 0.0f : vz;
      s2[z] = masked ? 0.0f : sz;
   }
}

static void task_estimate(void *ctx, unsigned wi, size_t x0, size_t x1)
{
   sono_dsp_pipeline_t *p = ctx;
   (void)wi;
   const float *acr = estimate_src(p, IMG_ACR), *aci = estimate_src(p, IMG_ACI), *pw = estimate_src(p, IMG_PW);
   const float inv = p->max_power > 0 ? 1.0f / p->max_power : 0.0f;
   const float thr = (float)p->cfg.power_threshold_db;
   /* variance mask off = an infinite threshold, so the loop stays branch-free */
   const float vthr =
      p->cfg.variance_threshold > 0 ? (float)(p->cfg.variance_threshold * p->vn * p->vn) : INFINITY;
   for (size_t x = x0; x < x1; ++x) {
      const size_t o = x * p->ld;
      if (!p->estimated) { /* else the column pass computed velocity and variance */
         if (p->cfg.loupas)
            sono_dsp_loupas_velocity(acr + o, aci + o, estimate_src(p, IMG_R10R) + o, estimate_src(p, IMG_R10I) + o,
                                     p->nz, p->acq->sound_speed_m_s > 0 ? p->acq->sound_speed_m_s : 1540.0,
                                     p->acq->prf_hz,
                                     p->acq->demodulation_frequency_hz > 0 ? p->acq->demodulation_frequency_hz
                                                                           : p->acq->center_frequency_hz,
                                     p->cfg.axial_sampling_hz, p->cfg.lag, p->vel + o);
         else
            sono_dsp_kasai_velocity(acr + o, aci + o, p->nz, p->vn, p->vel + o);
         sono_dsp_kasai_variance(acr + o, aci + o, pw + o, p->nz, p->vn, p->var + o);
      }
      /* velocity and variance are read and rewritten only in columns the
       * mask can change: with the variance mask off, those with a pixel
       * below the power threshold */
      int below = 0;
      const uint32_t zd = p->wide ? power_db_wide(pw + o, inv, thr, p->nz, p->pdb + o, &below) : 0;
      below |= power_db(pw + o + zd, inv, thr, p->nz - zd, p->pdb + o + zd);
      if (below || vthr < INFINITY)
         apply_mask(p->pdb + o, thr, vthr, p->nz, p->vel + o, p->var + o);
   }
}

static int check_frame(const sono_dsp_pipeline_t *p, const sono_plane_t *iq, const sono_acquisition_t *acq,
                       uint32_t wanted, char *err, size_t err_size)
{
   const uint32_t known = SONO_PLANE_BIT(SONO_PLANE_BMODE) | SONO_PLANE_BIT(SONO_PLANE_VELOCITY) |
                          SONO_PLANE_BIT(SONO_PLANE_POWER) | SONO_PLANE_BIT(SONO_PLANE_VARIANCE);
   if (wanted & ~known)
      return dsp_fail(err, err_size, "dsp pipeline: wanted planes mask 0x%x, expected bits of bmode, velocity, power, variance only",
                      wanted);
   if (!iq || !iq->data)
      return dsp_fail(err, err_size, "dsp pipeline: IQ plane missing, expected a complex64 plane (z, x, ensemble)");
   if (iq->dtype != SONO_DTYPE_COMPLEX64)
      return dsp_fail(err, err_size, "dsp pipeline: IQ plane: dtype %d, expected complex64", (int)iq->dtype);
   if (iq->shape[0] < 1 || iq->shape[1] < 1 || iq->shape[2] < 1 || iq->shape[0] > p->max_nz || iq->shape[1] > p->max_nx ||
       iq->shape[2] > p->max_n)
      return dsp_fail(err, err_size, "dsp pipeline: IQ plane: shape %u x %u x %u, expected within the %u x %u x %u set up at create",
                      iq->shape[0], iq->shape[1], iq->shape[2], p->max_nz, p->max_nx, p->max_n);
   if (!acq)
      return dsp_fail(err, err_size, "dsp pipeline: no acquisition given");
   if (!(wanted & ~SONO_PLANE_BIT(SONO_PLANE_BMODE)))
      return 0;
   if (!(acq->center_frequency_hz > 0))
      return dsp_fail(err, err_size, "dsp pipeline: acquisition.center_frequency_hz = %g, expected > 0",
                      acq->center_frequency_hz);
   if (!(acq->prf_hz > 0))
      return dsp_fail(err, err_size, "dsp pipeline: acquisition.prf_hz = %g, expected > 0 for Doppler planes", acq->prf_hz);
   if (acq->sound_speed_m_s < 0)
      return dsp_fail(err, err_size, "dsp pipeline: acquisition.sound_speed_m_s = %g, expected > 0 (0 means 1540)",
                      acq->sound_speed_m_s);
   return 0;
}

static int setup_wall(sono_dsp_pipeline_t *p, const sono_acquisition_t *acq, char *err, size_t err_size)
{
   const sono_dsp_config_t *c = &p->cfg;
   p->first = 0;
   p->rank = 0;
   switch (c->wall) {
   case SONO_WALL_POLY:
   case SONO_WALL_DCT:
      if (!p->basis[p->n])
         return sono_dsp_wall_rank(c->wall, c->wall_order, p->n, err, err_size) < 0
                   ? -1
                   : dsp_fail(err, err_size, "dsp pipeline: no wall basis for ensemble %u", p->n);
      p->q = p->basis[p->n];
      p->rank = (uint32_t)sono_dsp_wall_rank(c->wall, c->wall_order, p->n, NULL, 0);
      return 0;
   case SONO_WALL_SVD: {
      int r = sono_dsp_wall_rank(c->wall, c->wall_order, p->n, err, err_size);
      if (r < 0)
         return -1;
      p->rank = (uint32_t)r;
      const size_t groups = (p->nx + GRAM_GROUP - 1) / GRAM_GROUP, nn2 = 2 * (size_t)p->n * p->n;
      dsp_pool_run(p->pool, task_gram, p, groups);
      memset(p->gram, 0, nn2 * sizeof *p->gram);
      for (size_t g = 0; g < groups; ++g)
         for (size_t i = 0; i < nn2; ++i)
            p->gram[i] += p->gram_parts[g * nn2 + i];
      return sono_dsp_svd_basis(p->svd, p->gram, p->n, p->rank, p->svd_v, err, err_size);
   }
   case SONO_WALL_IIR:
      p->first = c->wall_order; /* settling samples dropped from the estimates */
      return sono_dsp_iir_highpass(c->wall_order, c->wall_cutoff_hz, acq->prf_hz, &p->iir, err, err_size);
   default: return 0;
   }
}

static sono_plane_t make_plane(sono_plane_kind_t kind, sono_dtype_t dtype, const void *data, uint32_t nz, uint32_t nx,
                               size_t ld)
{
   sono_plane_t pl;
   memset(&pl, 0, sizeof pl);
   pl.struct_size = sizeof pl;
   pl.kind = kind;
   pl.dtype = dtype;
   pl.shape[0] = nz, pl.shape[1] = nx, pl.shape[2] = 1;
   pl.stride[0] = 1, pl.stride[1] = (int64_t)ld, pl.stride[2] = 0;
   pl.data = data;
   return pl;
}

static int run_bmode(sono_dsp_pipeline_t *p, const sono_plane_t *iq, char *err, size_t err_size)
{
   sono_plane_t first = *iq;
   first.shape[2] = 1;
   first.stride[2] = 0;
   const float *gain = NULL;
   if (p->cfg.bmode_tgc) {
      if (sono_dsp_tgc_gain(&first, p->tgc_gain, p->tgc_work, err, err_size))
         return -1;
      gain = p->tgc_gain;
   }
   return sono_dsp_bmode_u8(&first, p->cfg.bmode_dynamic_range_db, gain, p->bmode, p->ld, err, err_size);
}

static int run_doppler(sono_dsp_pipeline_t *p, const sono_acquisition_t *acq, char *err, size_t err_size)
{
   if (p->n < p->cfg.lag + 1)
      return dsp_fail(err, err_size, "dsp pipeline: IQ plane: ensemble of %u samples, expected more than lag %u",
                      p->n, p->cfg.lag);
   if (setup_wall(p, acq, err, err_size))
      return -1;
   if (p->n < p->first + p->cfg.lag + 1)
      return dsp_fail(err, err_size,
                      "dsp pipeline: IQ plane: ensemble of %u samples leaves none after %u IIR settling samples and lag %u",
                      p->n, p->first, p->cfg.lag);
   const double c = acq->sound_speed_m_s > 0 ? acq->sound_speed_m_s : 1540.0;
   p->vn = (float)(c * acq->prf_hz / (4.0 * acq->center_frequency_hz * p->cfg.lag));
   p->acq = acq;
   p->estimated = 0;
   const int unit_stride = p->iq->stride[0] == 1 && !p->cfg.loupas;
   if (unit_stride && p->cfg.wall == SONO_WALL_NONE && p->cfg.lag <= DIRECT_MAX_LAG) {
      p->estimated = p->cfg.smoothing == 1;
      dsp_pool_run(p->pool, task_direct, p, p->nx);
   } else if (unit_stride && (p->cfg.wall == SONO_WALL_POLY || p->cfg.wall == SONO_WALL_DCT) &&
              p->n <= DIRECT_MAX_N) {
      dsp_pool_run(p->pool, task_projected, p, p->nx);
   } else {
      dsp_pool_run(p->pool, task_blocks, p, (p->nx + p->block_cols - 1) / p->block_cols);
   }
   p->nimg = p->cfg.loupas ? IMG_COUNT : IMG_R10R;
   if (p->cfg.smoothing > 1) {
      dsp_pool_run(p->pool, task_smooth1, p, p->nx);
      dsp_pool_run(p->pool, task_smooth2, p, p->nx);
   }
   const float *pw = estimate_src(p, IMG_PW);
   float mx = 0.0f;
   if (p->estimated)
      mx = max_of(p->col_max, p->nx, mx);
   else
      for (uint32_t x = 0; x < p->nx; ++x)
         mx = max_of(pw + x * p->ld, p->nz, mx);
   p->max_power = mx;
   dsp_pool_run(p->pool, task_estimate, p, p->nx);
   return 0;
}

int sono_dsp_pipeline_run(sono_dsp_pipeline_t *p, const sono_plane_t *iq, const sono_acquisition_t *acq,
                          uint32_t wanted, sono_plane_t *out, sono_acquisition_t *acq_out, char *err, size_t err_size)
{
   if (!p || !out)
      return dsp_fail(err, err_size, "dsp pipeline: run without a pipeline or an output array");
   if (check_frame(p, iq, acq, wanted, err, err_size))
      return -1;
   p->iq = iq;
   p->nz = iq->shape[0], p->nx = iq->shape[1], p->n = iq->shape[2];
   int count = 0;
   if (wanted & SONO_PLANE_BIT(SONO_PLANE_BMODE)) {
      if (run_bmode(p, iq, err, err_size))
         return -1;
      out[count++] = make_plane(SONO_PLANE_BMODE, SONO_DTYPE_UINT8, p->bmode, p->nz, p->nx, p->ld);
   }
   const uint32_t doppler = SONO_PLANE_BIT(SONO_PLANE_VELOCITY) | SONO_PLANE_BIT(SONO_PLANE_POWER) |
                            SONO_PLANE_BIT(SONO_PLANE_VARIANCE);
   if (wanted & doppler) {
      if (run_doppler(p, acq, err, err_size))
         return -1;
      if (wanted & SONO_PLANE_BIT(SONO_PLANE_VELOCITY))
         out[count++] = make_plane(SONO_PLANE_VELOCITY, SONO_DTYPE_FLOAT32, p->vel, p->nz, p->nx, p->ld);
      if (wanted & SONO_PLANE_BIT(SONO_PLANE_POWER))
         out[count++] = make_plane(SONO_PLANE_POWER, SONO_DTYPE_FLOAT32, p->pdb, p->nz, p->nx, p->ld);
      if (wanted & SONO_PLANE_BIT(SONO_PLANE_VARIANCE))
         out[count++] = make_plane(SONO_PLANE_VARIANCE, SONO_DTYPE_FLOAT32, p->var, p->nz, p->nx, p->ld);
   }
   if (acq_out) {
      *acq_out = *acq;
      acq_out->ensemble_size = p->n;
      acq_out->doppler_lag = p->cfg.lag;
      acq_out->wall_filter = p->cfg.wall;
      acq_out->wall_filter_order = p->cfg.wall == SONO_WALL_NONE ? 0 : p->cfg.wall_order;
      acq_out->wall_filter_cutoff_hz = p->cfg.wall == SONO_WALL_IIR ? p->cfg.wall_cutoff_hz : 0.0;
      const double c = acq->sound_speed_m_s > 0 ? acq->sound_speed_m_s : 1540.0;
      acq_out->nyquist_velocity_m_s = acq->center_frequency_hz > 0 && acq->prf_hz > 0
                                         ? c * acq->prf_hz / (4.0 * acq->center_frequency_hz * p->cfg.lag)
                                         : 0.0;
   }
   return count;
}
