/* libsono_analysis: context lifecycle, plane loading, cine flow window and
 * the per-frame driver. */
#include <stdlib.h>
#include <string.h>

#include <sono/sdk/plugin_kit.h>

#include "an_internal.h"

void sono_an_config_default(sono_an_config_t *cfg)
{
   cfg->bmode_dynamic_range_db = 40.0;
   cfg->iq_dynamic_range_db = 70.0;
   cfg->cine_window_s = 1.0;
   cfg->cine_min_frames = 4;
   cfg->flow_power_margin_db = 8.0;
   cfg->flow_sidelobe_db = 24.0;
   cfg->flow_min_speed_frac = 0.06;
   cfg->flow_max_variance_frac = 0.12;
   cfg->lumen_dark_db = -14.0;
   cfg->vessel_min_diameter_m = 0.3e-3;
   cfg->vessel_max_diameter_m = 3.5e-3;
   cfg->vessel_min_length_m = 3e-3;
   cfg->vessel_max_bridge_m = 10.5e-3;
   cfg->absent_flow_fraction = 0.15;
   cfg->reduced_speed_ratio = 0.5;
   cfg->min_segment_m = 0.4e-3;
   cfg->deposit_dark_db = -6.0;
   cfg->deposit_bright_db = 6.0;
   cfg->deposit_min_area_m2 = 0.3e-6;
   cfg->perivascular_m = 1e-3;
   cfg->flow_max_echo_db = 0.0;
   cfg->flow_strong_power_db = 15.0;
   cfg->course_contrast_db = 3.0;
   cfg->flash_share = 0.03;
   cfg->compress_reach_m = 2e-3;
   cfg->compress_share = 0.0; /* off: see docs/clinical.md, compression seen on the lumen */
   cfg->shadow_db = -6.0;
   cfg->plug_touch_m = 0.15e-3;
   cfg->plug_cover = 0.6;
   cfg->cloud_link_m = 0.5e-3;
   cfg->course_line_max_m = 10.5e-3;
}

sono_an_context_t *sono_an_create(uint32_t max_nz, uint32_t max_nx, sono_error_t *err)
{
   if (max_nz < 16 || max_nx < 16 || max_nz > 8192 || max_nx > 8192) {
      sono_error_set(err, "sono_an_create: frame size %u x %u (max_nz x max_nx) out of range; expected 16..8192 each",
                     max_nz, max_nx);
      return NULL;
   }
   sono_an_context_t *c = calloc(1, sizeof *c);
   if (!c) {
      sono_error_set(err, "sono_an_create: out of memory for the context");
      return NULL;
   }
   size_t np = (size_t)max_nz * max_nx;
   c->max_nz = max_nz;
   c->max_nx = max_nx;
   c->db = malloc(np * sizeof(float));
   c->sm = malloc(np * sizeof(float));
   c->sm2 = malloc(np * sizeof(float));
   c->anom = malloc(np * sizeof(float));
   c->anom2 = malloc(np * sizeof(float));
   c->tmp = malloc(np * sizeof(float));
   c->bright = malloc(np * sizeof(float));
   c->peak = calloc(np, sizeof(float));
   c->scratch = malloc(np * sizeof(float));
   c->bg = malloc(max_nz * sizeof(float));
   c->row_median = malloc(max_nz * sizeof(float));
   c->flow_pmin = malloc(max_nz * sizeof(float));
   c->flow_age = malloc(np * sizeof(uint16_t));
   c->flow_now = malloc(np);
   c->lumen = malloc(np);
   c->mask = malloc(np);
   c->label = malloc(np * sizeof(int32_t));
   c->stack = malloc(np * sizeof(int32_t));
   c->runs = malloc((size_t)max_nx * AN_MAX_RUNS_PER_COL * sizeof(an_run_t));
   c->run_count = malloc(max_nx);
   c->chain_top = malloc((size_t)AN_MAX_CHAINS * max_nx * sizeof(int16_t));
   c->chain_bottom = malloc((size_t)AN_MAX_CHAINS * max_nx * sizeof(int16_t));
   c->points = malloc((size_t)SONO_AN_MAX_VESSELS * max_nx * sizeof(sono_an_centre_point_t));
   if (!c->db || !c->sm || !c->sm2 || !c->anom || !c->anom2 || !c->tmp || !c->bright || !c->peak || !c->scratch ||
       !c->bg || !c->row_median || !c->flow_pmin || !c->flow_age || !c->flow_now || !c->lumen || !c->mask || !c->label || !c->stack || !c->runs ||
       !c->run_count || !c->chain_top || !c->chain_bottom || !c->points) {
      sono_an_destroy(c);
      sono_error_set(err, "sono_an_create: out of memory for %u x %u frame buffers", max_nz, max_nx);
      return NULL;
   }
   sono_an_reset(c);
   return c;
}

void sono_an_destroy(sono_an_context_t *c)
{
   if (!c)
      return;
   free(c->db); free(c->sm); free(c->sm2); free(c->anom); free(c->anom2); free(c->tmp); free(c->bright);
   free(c->peak); free(c->scratch); free(c->bg); free(c->row_median); free(c->flow_pmin); free(c->flow_age); free(c->flow_now); free(c->lumen);
   free(c->mask); free(c->label); free(c->stack); free(c->runs); free(c->run_count); free(c->chain_top);
   free(c->chain_bottom); free(c->points);
   free(c);
}

void sono_an_reset(sono_an_context_t *c)
{
   size_t np = (size_t)c->max_nz * c->max_nx;
   for (size_t i = 0; i < np; ++i)
      c->flow_age[i] = AN_NEVER;
   memset(c->peak, 0, np * sizeof(float));
   memset(c->tracks, 0, sizeof c->tracks);
   memset(&c->result, 0, sizeof c->result);
   c->frames_seen = 0;
   c->nz = c->nx = 0;
}

/* ---- input checks and loading -------------------------------------------------- */

static int check_plane(const sono_plane_t *p, const char *name, const sono_grid_t *g, sono_error_t *err)
{
   if (!p)
      return 0;
   if (p->shape[0] < g->nz || p->shape[1] < g->nx || !p->data)
      return sono_error_set(err, "sono_an_analyse: plane %s has shape %u x %u (z x x) or no data; expected %u x %u",
                            name, p->shape[0], p->shape[1], g->nz, g->nx);
   if (strcmp(name, "bmode") != 0 && p->dtype != SONO_DTYPE_FLOAT32)
      return sono_error_set(err, "sono_an_analyse: plane %s has dtype %d; expected float32", name, (int)p->dtype);
   return 0;
}

static int check_input(const sono_an_context_t *c, const sono_an_input_t *in, sono_error_t *err)
{
   if (!in || !in->grid || !in->acquisition)
      return sono_error_set(err, "sono_an_analyse: input grid or acquisition missing; expected both");
   const sono_grid_t *g = in->grid;
   if (g->nz > c->max_nz || g->nx > c->max_nx || g->nz < 16 || g->nx < 16)
      return sono_error_set(err, "sono_an_analyse: frame grid %u x %u (nz x nx) outside the context's 16..%u x 16..%u",
                            g->nz, g->nx, c->max_nz, c->max_nx);
   if (!(g->dx_m > 0) || !(g->dz_m > 0))
      return sono_error_set(err, "sono_an_analyse: grid spacing dx %g m, dz %g m; expected both > 0", g->dx_m, g->dz_m);
   if (in->iq && (in->iq->dtype != SONO_DTYPE_COMPLEX64 || in->iq->shape[0] < g->nz || in->iq->shape[1] < g->nx ||
                  !in->iq->data))
      return sono_error_set(err, "sono_an_analyse: plane iq has dtype %d, shape %u x %u or no data; expected complex64 "
                            "covering %u x %u", (int)in->iq->dtype, in->iq->shape[0], in->iq->shape[1], g->nz, g->nx);
   if (in->iq)
      return check_plane(in->velocity, "velocity", g, err) || check_plane(in->power, "power", g, err) ||
             check_plane(in->variance, "variance", g, err);
   if (!in->bmode)
      return sono_error_set(err, "sono_an_analyse: planes bmode and iq missing; expected a uint8 or float32 B-mode "
                            "plane or the IQ plane");
   if (in->bmode->dtype != SONO_DTYPE_UINT8 && in->bmode->dtype != SONO_DTYPE_FLOAT32)
      return sono_error_set(err, "sono_an_analyse: plane bmode has dtype %d; expected uint8 or float32",
                            (int)in->bmode->dtype);
   if (check_plane(in->bmode, "bmode", g, err) || check_plane(in->velocity, "velocity", g, err) ||
       check_plane(in->power, "power", g, err) || check_plane(in->variance, "variance", g, err))
      return -1;
   return 0;
}

/* B-mode as dB above the display floor: uint8 spans the dynamic range,
 * float32 B-mode is already dB (re its maximum) and is shifted to >= 0. */
static void load_bmode(sono_an_context_t *c, const sono_plane_t *b, double dr)
{
   float scale = (float)(dr / 255.0), inv = 1.0f / (float)c->dec;
   for (uint32_t ix = 0; ix < c->nx; ++ix)
      for (uint32_t iz = 0; iz < c->nz; ++iz) {
         float v = 0;
         for (uint32_t k = 0; k < c->dec; ++k) {
            uint32_t fz = an_frame_row(c, (int)iz) + k;
            v += b->dtype == SONO_DTYPE_UINT8 ? scale * SONO_KIT_AT(uint8_t, b, fz, ix, 0)
                                              : (float)dr + SONO_KIT_AT(float, b, fz, ix, 0);
         }
         v *= inv;
         c->db[an_pix(c, (int)iz, (int)ix)] = v < 0 ? 0 : v;
      }
}

/* 20 log10 |x| to within 0.01 dB, without libm's log on the frame path:
 * exponent from the float bits, mantissa by a short polynomial. */
static inline float fast_db_power(float p)
{
   uint32_t u;
   memcpy(&u, &p, sizeof u);
   float e = (float)((int)((u >> 23) & 0xFF) - 127);
   u = (u & 0x007FFFFFu) | 0x3F800000u; /* mantissa in [1, 2) */
   float m;
   memcpy(&m, &u, sizeof m);
   float t = (m - 1.0f) / (m + 1.0f), t2 = t * t;
   float log2m = 2.8853900817779268f * t * (1.0f + t2 * (0.33333333f + t2 * (0.2f + t2 * 0.14285714f)));
   return 3.0102999566f * (e + log2m); /* 10 log10(p) */
}

/* Echo in dB above a floor iq_dynamic_range_db below the brightest pixel,
 * from ensemble sample 0 of the IQ plane. */
typedef float an_v8f __attribute__((vector_size(32)));
typedef int32_t an_v8i __attribute__((vector_size(32)));

/* fast_db_power on eight lanes: each lane does the scalar form's IEEE
 * operations in the same order (the library builds without contraction),
 * so the dB values are the same bits; GCC would not vectorise the scalar
 * form itself (interleaved complex loads, bit casts). */
static inline __attribute__((always_inline)) void fast_db_power8(an_v8f *io)
{
   const an_v8f p = *io, one = {1, 1, 1, 1, 1, 1, 1, 1};
   an_v8i u = (an_v8i)p;
   an_v8f e = __builtin_convertvector(((u >> 23) & 0xFF) - 127, an_v8f);
   an_v8f m = (an_v8f)((u & 0x007FFFFF) | 0x3F800000);
   an_v8f t = (m - one) / (m + one), t2 = t * t;
   an_v8f log2m = 2.8853900817779268f * t * (one + t2 * (0.33333333f + t2 * (0.2f + t2 * 0.14285714f)));
   *io = 3.0102999566f * (e + log2m);
}

/* One contiguous IQ column (the host's layout) to dB, eight pixels per
 * step; returns the column maximum folded into *top (max is exact in any
 * order: no NaN arises, p >= 1e-30). */
static inline __attribute__((always_inline)) void iq_column_db8(const float *z, float *out, uint32_t nz, an_v8f *top)
{
   const an_v8f lim = {1e-30f, 1e-30f, 1e-30f, 1e-30f, 1e-30f, 1e-30f, 1e-30f, 1e-30f};
   uint32_t iz = 0;
   for (; iz + 8 <= nz; iz += 8) {
      an_v8f a, b;
      memcpy(&a, z + 2 * iz, sizeof a);
      memcpy(&b, z + 2 * iz + 8, sizeof b);
      an_v8f re = __builtin_shuffle(a, b, (an_v8i){0, 2, 4, 6, 8, 10, 12, 14});
      an_v8f im = __builtin_shuffle(a, b, (an_v8i){1, 3, 5, 7, 9, 11, 13, 15});
      an_v8f p = re * re + im * im;
      an_v8i keep = p > lim;
      p = (an_v8f)((keep & (an_v8i)p) | (~keep & (an_v8i)lim));
      an_v8f d = p;
      fast_db_power8(&d);
      memcpy(out + iz, &d, sizeof d);
      an_v8i up = d > *top;
      *top = (an_v8f)((up & (an_v8i)d) | (~up & (an_v8i)*top));
   }
   for (; iz < nz; ++iz) {
      float p = z[2 * iz] * z[2 * iz] + z[2 * iz + 1] * z[2 * iz + 1];
      out[iz] = fast_db_power(p > 1e-30f ? p : 1e-30f);
      (*top)[0] = out[iz] > (*top)[0] ? out[iz] : (*top)[0];
   }
}

/* load_iq without decimation: one frame row per analysis row. */
AN_HOT static float load_iq_columns(sono_an_context_t *c, const sono_plane_t *iq)
{
   an_v8f top = {-1e30f, -1e30f, -1e30f, -1e30f, -1e30f, -1e30f, -1e30f, -1e30f};
   int64_t sz = 2 * iq->stride[0];
   for (uint32_t ix = 0; ix < c->nx; ++ix) {
      const float *z = (const float *)iq->data + 2 * (int64_t)ix * iq->stride[1];
      float *out = c->db + an_pix(c, 0, (int)ix);
      if (sz == 2) { /* contiguous column: the host's layout */
         iq_column_db8(z, out, c->nz, &top);
         continue;
      }
      for (uint32_t iz = 0; iz < c->nz; ++iz) {
         const float *q = z + (int64_t)iz * sz;
         float p = q[0] * q[0] + q[1] * q[1];
         out[iz] = fast_db_power(p > 1e-30f ? p : 1e-30f);
         top[0] = out[iz] > top[0] ? out[iz] : top[0];
      }
   }
   float t = top[0];
   for (int j = 1; j < 8; ++j)
      t = top[j] > t ? top[j] : t;
   return t;
}

/* dB above the floor, 0 below it. The subtraction is written outside the
 * select: GCC may not hoist a float operation out of a conditional (it
 * could trap), and as a branch it mispredicted on speckle. Even so GCC
 * would not vectorise the select (with trapping math a compare counts as
 * control flow), so eight pixels at a time it is written as the compare's
 * mask ANDed with the difference: the bits of d, or those of +0.0f. */
AN_HOT static void rebase_db(float *restrict db, size_t np, float floor_db)
{
   size_t p = 0;
   for (; p + 8 <= np; p += 8) {
      an_v8f v, f = {floor_db, floor_db, floor_db, floor_db, floor_db, floor_db, floor_db, floor_db};
      memcpy(&v, db + p, sizeof v);
      an_v8i keep = v > f, bits;
      an_v8f d = v - f;
      memcpy(&bits, &d, sizeof bits);
      bits &= keep;
      memcpy(db + p, &bits, sizeof bits);
   }
   for (; p < np; ++p) {
      float v = db[p], d = v - floor_db;
      db[p] = v > floor_db ? d : 0.0f;
   }
}

static void load_iq(sono_an_context_t *c, const sono_plane_t *iq, double dr)
{
   float top = -1e30f;
   if (c->dec == 1)
      top = load_iq_columns(c, iq);
   else
   for (uint32_t ix = 0; ix < c->nx; ++ix)
      for (uint32_t iz = 0; iz < c->nz; ++iz) {
         float p = 0;
         for (uint32_t k = 0; k < c->dec; ++k) {
            int64_t fz = an_frame_row(c, (int)iz) + k;
            const float *z = (const float *)iq->data + 2 * (fz * iq->stride[0] + (int64_t)ix * iq->stride[1]);
            p += z[0] * z[0] + z[1] * z[1];
         }
         p /= (float)c->dec;
         float d = fast_db_power(p > 1e-30f ? p : 1e-30f);
         c->db[an_pix(c, (int)iz, (int)ix)] = d;
         top = d > top ? d : top;
      }
   rebase_db(c->db, (size_t)c->nz * c->nx, top - (float)dr);
}

/* Power noise floor: the 5th percentile of the power plane, i.e. the level of
 * pixels holding neither tissue nor blood (gel standoff, deep field). */
/* The noise floor (5th percentile of power) and the strong-flow level
 * (99.5th), from one sample of the power plane. */
static float noise_floor(sono_an_context_t *c, const sono_plane_t *power, float *strong)
{
   size_t n = 0;
   for (uint32_t ix = 0; ix < c->nx; ix += 4)
      for (uint32_t iz = 0; iz < c->nz * c->dec; iz += 2)
         c->scratch[n++] = SONO_KIT_AT(float, power, iz, ix, 0);
   float floor_db = sono_quantile(c->scratch, n, 0.05);
   *strong = sono_quantile(c->scratch, n, 0.995);
   return floor_db;
}

/* The power a flow pixel must exceed, per row. Noise is white before the
 * TGC, so after it the floor rises with depth (18 dB over 8 mm on the
 * phantom's facial layers): one frame-wide floor lets deep noise through as
 * flow. Each row's floor is its 5th percentile; the lower quartile of those
 * over +-2 mm keeps a lumen that fills rows (a horizontal vessel, at most
 * half the window) from raising it, and a thin band of quiet rows (a
 * saturated entry echo) from lowering it. */
#define FLOOR_BAND 8 /* sampled rows per walk over the columns: 16 frame rows, one cache line of a column */

/* Every second column of frame rows fz[0..nb-1] of the power plane into
 * band[b * cap ..]; returns the samples per row. */
static inline __attribute__((always_inline)) uint32_t gather_floor_band(const sono_an_context_t *c,
                                                                        const sono_plane_t *power, const int64_t *fz,
                                                                        uint32_t nb, float *band, size_t cap)
{
   uint32_t n = 0;
   for (uint32_t ix = 0; ix < c->nx; ix += 2, ++n)
#pragma GCC unroll 8
      for (uint32_t b = 0; b < nb; ++b)
         band[b * cap + n] = SONO_KIT_AT(float, power, fz[b], ix, 0);
   return n;
}
static void flow_power_floor(sono_an_context_t *c, const sono_an_config_t *cfg, const sono_plane_t *power,
                             float strong_db)
{
   /* the floor changes over millimetres: rows are sampled every 2nd and
    * the window quartile every 8th, then interpolated */
   float *row = c->scratch + c->nx, *window = row + c->nz, *band = window + c->nz; /* scratch: nz * nx floats */
   uint32_t nz = c->nz;
   const size_t cap = (c->nx + 1) / 2;
   /* the sampled rows are gathered FLOOR_BAND at a time: the plane is
    * column-major, and one row alone reads a cache line per column for one
    * sample; at a column stride of a multiple of 1 kB those lines share a
    * few L1 sets and were evicted before the next sampled row could use
    * them */
   for (uint32_t z0 = 0; z0 < nz; z0 += 2 * FLOOR_BAND) {
      int64_t fz[FLOOR_BAND] = {0};
      uint32_t nb = 0, n;
      for (uint32_t iz = z0; iz < nz && nb < FLOOR_BAND; iz += 2)
         fz[nb++] = an_frame_row(c, (int)iz);
      if (nb == FLOOR_BAND) /* a constant count: the row loop unrolls */
         n = gather_floor_band(c, power, fz, FLOOR_BAND, band, cap);
      else
         n = gather_floor_band(c, power, fz, nb, band, cap);
      for (uint32_t b = 0; b < nb; ++b) {
         uint32_t iz = z0 + 2 * b;
         row[iz] = sono_quantile(band + b * cap, n, 0.05);
         if (iz + 1 < nz)
            row[iz + 1] = row[iz];
      }
   }
   int k = (int)lround(2e-3 / c->dz), step = 8;
   float side = cfg->flow_sidelobe_db > 0 ? strong_db - (float)cfg->flow_sidelobe_db : -1e30f;
   float prev = 0.0f;
   int prev_at = -1;
   for (int iz = 0; prev_at < (int)nz - 1; iz += step) {
      int at = iz < (int)nz ? iz : (int)nz - 1;
      uint32_t n = 0;
      for (int j = at - k < 0 ? 0 : at - k; j <= at + k && j < (int)nz; j += 2)
         window[n++] = row[j];
      float p = sono_quantile(window, n, 0.25) + (float)cfg->flow_power_margin_db;
      p = p > side ? p : side;
      for (int j = prev_at + 1; j <= at; ++j)
         c->flow_pmin[j] = prev_at < 0 ? p : prev + (p - prev) * (float)(j - prev_at) / (float)(at - prev_at);
      prev = p;
      prev_at = at;
   }
}

/* Flow in this frame, and the cine window: frames since flow was last seen
 * per pixel and a peak |v| that decays by half over the window. */
/* An echo level that only anechoic content reaches: 10 dB below the median
 * tissue row below the skin. Blood (-35 dB re fat) lies under it even where
 * the row background is itself dark (deep rows, bone shadows). */
static float dark_level(sono_an_context_t *c)
{
   size_t n = 0;
   for (uint32_t iz = (uint32_t)(c->skin_row > 0 ? c->skin_row : 0); iz < c->nz; ++iz)
      c->scratch[n++] = c->bg[iz];
   return sono_quantile(c->scratch, n, 0.5) - 10.0f;
}

/* One column of update_flow without decimation (one frame row per
 * analysis row): the same arithmetic as the general loop, in a form that
 * vectorises. */
static inline __attribute__((always_inline)) void
flow_column_body(sono_an_context_t *c, const float *vc, const float *pc, const float *qc, int64_t sv, int64_t sp,
                 int64_t sq, uint32_t ix, uint32_t iz0, float vmin, float varmax, float strong, float echo_max,
                 float dark, float decay)
{
   size_t p0 = an_pix(c, 0, (int)ix);
   const float *anom = c->anom + p0, *sm = c->sm + p0, *pmin = c->flow_pmin;
   uint16_t *age = c->flow_age + p0;
   uint8_t *now = c->flow_now + p0;
   float *peak = c->peak + p0;
   const float zero = 0.0f, *qv = qc ? qc : &zero;
   int64_t sqv = qc ? sq : 0;
   uint32_t nz = c->nz;
   for (uint32_t iz = iz0; iz < nz; ++iz) {
      float v = fabsf(vc[iz * sv]), pw = pc[iz * sp], var = qv[iz * sqv];
      float ok = (float)((v > vmin) & (pw > pmin[iz]) & ((var < varmax) | (pw > pmin[iz] + strong)));
      float w = ok * v;
      float a = w > 0.0f ? w : 0.0f;
      a = (anom[iz] < echo_max) | (sm[iz] < dark) ? a : 0.0f;
      int flow = a > 0.0f;
      uint16_t ag = age[iz];
      now[iz] = (uint8_t)flow;
      age[iz] = (uint16_t)(flow ? 0 : ag + (ag != AN_NEVER));
      float dk = peak[iz] * decay;
      peak[iz] = a > dk ? a : dk;
   }
}

typedef uint16_t an_v8u16 __attribute__((vector_size(16)));
typedef uint8_t an_v8u8 __attribute__((vector_size(8)));

/* m ? a : b per lane, m a comparison mask (a macro: vector arguments of
 * 32 bytes would change the ABI of the baseline clone) */
#define AN_SELECT8(m, a, b) ((an_v8f)(((m) & (an_v8i)(a)) | (~(m) & (an_v8i)(b))))

/* flow_column_body for unit strides with variance, eight rows per step:
 * lane for lane the scalar loop's IEEE operations and selects (GCC does
 * not vectorise the scalar loop: the uint16/uint8 stores between float
 * loads defeat its if-conversion). Returns the first row left over. */
static inline __attribute__((always_inline)) uint32_t
flow_column_v8(sono_an_context_t *c, const float *vc, const float *pc, const float *qc, uint32_t ix, float vmin,
               float varmax, float strong, float echo_max, float dark, float decay)
{
   size_t p0 = an_pix(c, 0, (int)ix);
   const float *anom = c->anom + p0, *sm = c->sm + p0, *pmin = c->flow_pmin;
   uint16_t *age = c->flow_age + p0;
   uint8_t *now = c->flow_now + p0;
   float *peak = c->peak + p0;
   const an_v8f zero = {0}, one = zero + 1.0f;
   const an_v8i sign = (an_v8i){0} | INT32_MIN; /* the float sign bit */
   uint32_t iz = 0;
   for (; iz + 8 <= c->nz; iz += 8) {
      an_v8f v, pw, var, pm, an, smv, pk;
      an_v8u16 ag16;
      memcpy(&v, vc + iz, sizeof v);
      memcpy(&pw, pc + iz, sizeof pw);
      memcpy(&var, qc + iz, sizeof var);
      memcpy(&pm, pmin + iz, sizeof pm);
      memcpy(&an, anom + iz, sizeof an);
      memcpy(&smv, sm + iz, sizeof smv);
      memcpy(&pk, peak + iz, sizeof pk);
      memcpy(&ag16, age + iz, sizeof ag16);
      v = (an_v8f)((an_v8i)v & ~sign); /* fabsf */
      an_v8i okm = (v > vmin) & (pw > pm) & ((var < varmax) | (pw > pm + strong));
      an_v8f w = AN_SELECT8(okm, one, zero) * v;
      an_v8f a = AN_SELECT8(w > 0.0f, w, zero);
      a = AN_SELECT8((an < echo_max) | (smv < dark), a, zero);
      an_v8i flow = a > 0.0f;
      an_v8i ag = __builtin_convertvector(ag16, an_v8i);
      ag = ~flow & (ag - (ag != (int32_t)AN_NEVER)); /* a true lane is -1 */
      an_v8u8 nw = __builtin_convertvector(flow & 1, an_v8u8);
      ag16 = __builtin_convertvector(ag, an_v8u16);
      memcpy(now + iz, &nw, sizeof nw);
      memcpy(age + iz, &ag16, sizeof ag16);
      an_v8f dk = pk * decay;
      pk = AN_SELECT8(a > dk, a, dk);
      memcpy(peak + iz, &pk, sizeof pk);
   }
   return iz;
}

/* always inline: it then takes the AVX2 form of its caller's clone */
static inline __attribute__((always_inline)) void flow_column(sono_an_context_t *c, const float *vc, const float *pc, const float *qc, int64_t sv,
                        int64_t sp, int64_t sq, uint32_t ix, float vmin, float varmax, float strong, float echo_max,
                        float dark, float decay)
{
   /* contiguous columns with variance (the host's layout) get a loop of
    * their own, with unit strides known to the compiler */
   if (qc && sv == 1 && sp == 1 && sq == 1) {
      uint32_t iz = flow_column_v8(c, vc, pc, qc, ix, vmin, varmax, strong, echo_max, dark, decay);
      flow_column_body(c, vc, pc, qc, 1, 1, 1, ix, iz, vmin, varmax, strong, echo_max, dark, decay);
   } else {
      flow_column_body(c, vc, pc, qc, sv, sp, sq, ix, 0, vmin, varmax, strong, echo_max, dark, decay);
   }
}

/* Share of the view below the skin where this frame shows colour over an
 * echo of tissue level (at or above `dark`), from every 4th column and 2nd
 * row. Blood is anechoic, so a vessel's colour lies under `dark`; colour
 * over tissue passes the echo test only in its darker speckle (below the
 * row median). Tissue or probe motion (flash) fills much of the box with
 * such colour for a frame or two (measured 0.10 of the view on the
 * artefact-flash preset, 0.000-0.008 on every other frame). */
static double flash_share(const sono_an_context_t *c, const sono_an_input_t *in, float vmin, float varmax,
                          float strong, float echo_max, float dark)
{
   size_t n = 0, over = 0;
   for (uint32_t ix = 0; ix < c->nx; ix += 4)
      for (int iz = c->skin_row + 1 > 0 ? c->skin_row + 1 : 0; iz < (int)c->nz; iz += 2) {
         size_t p = an_pix(c, iz, (int)ix);
         int64_t fz = an_frame_row(c, iz);
         float v = fabsf(SONO_KIT_AT(float, in->velocity, fz, ix, 0)), pw = SONO_KIT_AT(float, in->power, fz, ix, 0);
         float var = in->variance ? SONO_KIT_AT(float, in->variance, fz, ix, 0) : 0.0f;
         int ok = v > vmin && pw > c->flow_pmin[iz] && (var < varmax || pw > c->flow_pmin[iz] + strong);
         over += ok && c->anom[p] < echo_max && c->sm[p] >= dark;
         ++n;
      }
   return n ? (double)over / n : 0;
}

AN_HOT static void update_flow(sono_an_context_t *c, const sono_an_config_t *cfg, const sono_an_input_t *in)
{
   sono_an_result_t *r = &c->result;
   double vn = in->acquisition->nyquist_velocity_m_s;
   r->flow_available = in->velocity && in->power && vn > 0;
   r->nyquist_m_s = (float)vn;
   double fr = in->acquisition->frame_rate_hz > 0 ? in->acquisition->frame_rate_hz : 10.0;
   uint32_t w = (uint32_t)lround(cfg->cine_window_s * fr);
   c->window_frames = w < 1 ? 1 : w > 4000 ? 4000 : w;
   float decay = (float)pow(0.5, 1.0 / c->window_frames);
   if (!r->flow_available) {
      memset(c->flow_now, 0, (size_t)c->nz * c->nx);
      return;
   }
   float strong_db;
   float floor_db = noise_floor(c, in->power, &strong_db);
   r->noise_floor_db = floor_db;
   flow_power_floor(c, cfg, in->power, strong_db);
   float vmin = (float)(cfg->flow_min_speed_frac * vn), varmax = (float)(cfg->flow_max_variance_frac * vn * vn);
   const sono_plane_t *pv = in->velocity, *pp = in->power, *pq = in->variance;
   float echo_max = (float)cfg->flow_max_echo_db, dark = dark_level(c), strong = (float)cfg->flow_strong_power_db;
   /* A flash frame carries no flow information: its colour is motion, and
    * the side-lobe test against its strong colour hides the vessels' own
    * flow. The cine window neither refreshes nor ages on it. */
   if (cfg->flash_share > 0 && flash_share(c, in, vmin, varmax, strong, echo_max, dark) > cfg->flash_share) {
      memset(c->flow_now, 0, (size_t)c->nz * c->nx);
      c->result.flash_frames++;
      return;
   }
   for (uint32_t ix = 0; ix < c->nx; ++ix) {
      /* column pointers and branch-free tests: flow in speckle is random,
       * so a branch per pixel mispredicts about half the time */
      const float *vc = (const float *)pv->data + (int64_t)ix * pv->stride[1];
      const float *pc = (const float *)pp->data + (int64_t)ix * pp->stride[1];
      const float *qc = pq ? (const float *)pq->data + (int64_t)ix * pq->stride[1] : NULL;
      int64_t sv = pv->stride[0], sp = pp->stride[0], sq = pq ? pq->stride[0] : 0;
      if (c->dec == 1) {
         flow_column(c, vc, pc, qc, sv, sp, sq, ix, vmin, varmax, strong, echo_max, dark, decay);
         continue;
      }
      for (uint32_t iz = 0; iz < c->nz; ++iz) {
         size_t p = an_pix(c, (int)iz, (int)ix);
         /* an analysis pixel flows when any of its frame rows does; its
          * speed is the fastest of them */
         float a = 0.0f;
         for (uint32_t k = 0; k < c->dec; ++k) {
            int64_t fz = an_frame_row(c, (int)iz) + k;
            float v = fabsf(vc[fz * sv]), pw = pc[fz * sp], var = qc ? qc[fz * sq] : 0.0f;
            float ok = (float)((v > vmin) & (pw > c->flow_pmin[iz]) &
                               ((var < varmax) | (pw > c->flow_pmin[iz] + strong)));
            float w = ok * v;
            a = w > a ? w : a; /* not fmaxf: a libm call at -O2 */
         }
         uint16_t age = c->flow_age[p];
         a = c->anom[p] < echo_max || c->sm[p] < dark ? a : 0.0f;
         int flow = a > 0.0f;
         c->flow_now[p] = (uint8_t)flow;
         c->flow_age[p] = (uint16_t)(flow ? 0 : age + (age != AN_NEVER));
         float dk = c->peak[p] * decay;
         c->peak[p] = a > dk ? a : dk;
      }
   }
}

/* out = echo - row background, a column at a time through local pointers
 * so that the loop vectorises. */
AN_HOT static void row_anomaly(sono_an_context_t *c, const float *restrict echo, float *restrict out)
{
   const float *restrict bg = c->bg;
   uint32_t nz = c->nz, nx = c->nx;
   for (uint32_t ix = 0; ix < nx; ++ix) {
      const float *e = echo + (size_t)nz * ix;
      float *o = out + (size_t)nz * ix;
      for (uint32_t iz = 0; iz < nz; ++iz)
         o[iz] = e[iz] - bg[iz];
   }
}

static void smooth_and_background(sono_an_context_t *c)
{
   /* ~0.1 mm (speckle cell) and ~0.3 mm (texture scale) boxes */
   int rz1 = (int)lround(0.05e-3 / c->dz), rx1 = (int)lround(0.05e-3 / c->dx);
   int rz2 = (int)lround(0.15e-3 / c->dz), rx2 = (int)lround(0.15e-3 / c->dx);
   an_box_filter(c->db, c->sm, c->tmp, c->nz, c->nx, rz1 < 1 ? 1 : rz1, rx1 < 1 ? 1 : rx1);
   an_box_filter(c->db, c->sm2, c->tmp, c->nz, c->nx, rz2 < 1 ? 1 : rz2, rx2 < 1 ? 1 : rx2);
   an_row_background(c, 0);
   /* vessels need only the fine anomaly; both are redone once the lumen is known */
   row_anomaly(c, c->sm, c->anom);
}

/* Area of cine flow below the skin and outside every traced lumen, counting
 * only pixels whose four neighbours flow too, so scattered colour noise
 * does not add up: flow in a vessel that could not be traced. Each column's
 * candidates are marked first in one branch-free pass that vectorises
 * (ages compared as age <= w - 1 in 16 bits, the same test as age < w);
 * the lumen search then runs on the marked pixels only. */
AN_HOT static float untraced_flow(const sono_an_context_t *c)
{
   size_t n = 0;
   int z0 = c->skin_row + 1 > 1 ? c->skin_row + 1 : 1;
   int reach = (int)lround(0.3e-3 / c->dz); /* colour spilling past a traced wall is not another vessel */
   const uint8_t *lumen = c->lumen;
   const uint16_t *age = c->flow_age;
   if (c->window_frames == 0)
      return 0.0f; /* no age is below 0 */
   const uint16_t last = c->window_frames - 1 > 65535u ? 65535u : (uint16_t)(c->window_frames - 1);
   const int nz = (int)c->nz;
   uint8_t *restrict mark = (uint8_t *)c->scratch; /* nz bytes; the scratch is free at this point */
   for (int ix = 1; ix + 1 < (int)c->nx; ++ix) {
      const uint16_t *restrict a = age + an_pix(c, 0, ix), *restrict al = a - nz, *restrict ar = a + nz;
      const uint8_t *restrict lu = lumen + an_pix(c, 0, ix);
      uint8_t any = 0;
      for (int iz = z0; iz + 1 < nz; ++iz) {
         uint8_t f = (uint8_t)((lu[iz] == 0) & (a[iz] <= last) & (a[iz - 1] <= last) & (a[iz + 1] <= last) &
                               (al[iz] <= last) & (ar[iz] <= last));
         mark[iz] = f;
         any |= f;
      }
      if (!any)
         continue;
      for (int iz = z0; iz + 1 < nz; ++iz) {
         if (!mark[iz])
            continue;
         int near = 0;
         for (int k = -reach; k <= reach && !near; ++k)
            near = iz + k >= 0 && iz + k < nz && lu[iz + k];
         n += !near;
      }
   }
   return (float)(n * c->dx * c->dz);
}

const sono_an_result_t *sono_an_analyse(sono_an_context_t *c, const sono_an_config_t *cfg, const sono_an_input_t *in,
                                        sono_error_t *err)
{
   if (check_input(c, in, err))
      return NULL;
   const sono_grid_t *g = in->grid;
   uint32_t dec = g->dz_m < AN_DECIMATE_BELOW_M && g->nz >= 32 ? 2 : 1;
   if (c->nz != g->nz / dec || c->nx != g->nx || c->dx != g->dx_m || c->dz != g->dz_m * dec || c->dec != dec)
      sono_an_reset(c); /* a new geometry invalidates the cine window */
   c->dec = dec;
   c->nz = g->nz / dec;
   c->nx = g->nx;
   c->dx = g->dx_m;
   c->dz = g->dz_m * dec;
   c->x0 = g->x0_m;
   c->z0 = g->z0_m + 0.5 * (dec - 1) * g->dz_m; /* centre of the averaged rows */
   sono_an_result_t *r = &c->result;
   r->vessel_count = 0;
   r->deposit_count = 0;
   if (in->iq)
      load_iq(c, in->iq, cfg->iq_dynamic_range_db);
   else
      load_bmode(c, in->bmode, cfg->bmode_dynamic_range_db);
   memset(c->lumen, 0, (size_t)c->nz * c->nx);
   smooth_and_background(c); /* before the flow update, which needs the echo level */
   an_find_skin(c);
   update_flow(c, cfg, in);
   c->frames_seen++;
   r->cine_frames = c->frames_seen < c->window_frames ? c->frames_seen : c->window_frames;
   r->cine_ready = r->cine_frames >= cfg->cine_min_frames;
   an_vessels_find(c, cfg, in);
   /* second background pass without the lumen pixels just found */
   an_row_background(c, 1);
   row_anomaly(c, c->sm, c->anom);
   row_anomaly(c, c->sm2, c->anom2);
   an_deposits_find(c, cfg);
   r->untraced_flow_m2 = untraced_flow(c);
   return r;
}

/* ---- names ---------------------------------------------------------------------- */

static const char *const class_names[SONO_AN_CLASS_COUNT] = {
   "ha_fresh", "ha_integrated", "caha", "caha_diluted", "pmma", "silicone",
   "plla", "pcl", "collagen", "paag", "unknown"};
static const char *const class_labels[SONO_AN_CLASS_COUNT] = {
   "HA (fresh)", "HA (integrated)", "CaHA", "CaHA (diluted)", "PMMA", "Silicone oil",
   "PLLA", "PCL", "Collagen", "PAAG", "Unclassified material"};

const char *sono_an_class_name(sono_an_class_t k) { return k >= 0 && k < SONO_AN_CLASS_COUNT ? class_names[k] : NULL; }
const char *sono_an_class_label(sono_an_class_t k) { return k >= 0 && k < SONO_AN_CLASS_COUNT ? class_labels[k] : NULL; }

int sono_an_class_from_name(const char *name)
{
   for (int k = 0; name && k < SONO_AN_CLASS_COUNT; ++k)
      if (strcmp(name, class_names[k]) == 0)
         return k;
   return -1;
}

const char *sono_an_placement_name(sono_an_placement_t p)
{
   static const char *const n[] = {"tissue", "intraluminal", "perivascular"};
   return p >= 0 && p <= 2 ? n[p] : NULL;
}

const char *sono_an_perfusion_name(sono_an_perfusion_t p)
{
   static const char *const n[] = {"perfused", "reduced", "absent"};
   return p >= 0 && p <= 2 ? n[p] : NULL;
}
