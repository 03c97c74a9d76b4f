/* Regions: connected components of a pixel mask and the polygon (metres)
 * that outlines each one; the per-frame finding list. */
#include <string.h>

#include <sono/sdk/union_find.h>

#include "art.h"

static const char *const kind_names[K_COUNT] = {
   "acoustic_shadow", "posterior_enhancement", "reverberation", "comet_tail",  "mirror_image",
   "anisotropy",      "side_lobe",             "gain_high",     "gain_low",    "near_field_clutter",
   "colour_aliasing", "colour_blooming",       "colour_flash",  "twinkling",   "colour_noise"};

static const char *const kind_short[K_COUNT] = {
   "Shadow",     "Enhancement", "Reverberation", "Comet tail", "Mirror image",
   "Anisotropy", "Side lobe",   "Gain high",     "Gain low",   "Near-field clutter",
   "Aliasing",   "Blooming",    "Flash",         "Twinkling",  "Colour noise"};

const char *art_kind_name(art_kind_t k) { return k < K_COUNT ? kind_names[k] : "unknown"; }
const char *art_kind_short(art_kind_t k) { return k < K_COUNT ? kind_short[k] : "?"; }

art_finding_t *art_add(art_t *a, art_kind_t k, float confidence)
{
   if (a->nfound >= ART_MAX_FINDINGS)
      return NULL;
   art_finding_t *f = &a->found[a->nfound++];
   memset(f, 0, sizeof *f);
   f->kind = k;
   f->confidence = art_clampf(confidence, 0.0f, 1.0f);
   return f;
}

/* Connected components by runs: each column's mask is cut into runs of
 * set pixels, runs that touch a run of the previous column (8-connected:
 * overlapping rows or diagonal neighbours) are joined in a union-find whose
 * root is always the earliest run, and components are numbered in the order
 * of their earliest pixel (column-major), which is the order a pixel-by-
 * pixel scan with a flood fill finds them. A mask costs one pass over its
 * bytes plus work per run instead of eight neighbour tests per set pixel. */

SONO_UNION_FIND(run, art_run_t, parent)

#define ONES8 0x0101010101010101ull
#define HIGH8 0x8080808080808080ull

/* First row >= iz of column m whose byte is zero (want_set 0) or nonzero
 * (want_set 1), or nz; whole 8-byte words that cannot hold it are skipped. */
static int next_row(const uint8_t *m, int iz, int nz, int want_set)
{
   if (want_set) /* most of a mask is clear: 32 clear bytes at a time first */
      for (; iz + 32 <= nz; iz += 32) {
         uint64_t w[4];
         memcpy(w, m + iz, sizeof w);
         if (w[0] | w[1] | w[2] | w[3])
            break;
      }
   for (;;) {
      if (iz + 8 <= nz) {
         uint64_t w;
         memcpy(&w, m + iz, 8);
         int none = want_set ? w == 0 : ((w - ONES8) & ~w & HIGH8) == 0; /* no set / no zero byte */
         if (none) {
            iz += 8;
            continue;
         }
      }
      for (int end = iz + 8 < nz ? iz + 8 : nz; iz < end; ++iz)
         if ((m[iz] != 0) == want_set)
            return iz;
      if (iz >= nz)
         return nz;
   }
}

/* Runs of the mask's columns into a->runs, joined with the previous
 * column's; returns the run count. */
static int32_t mask_runs(art_t *a, const uint8_t *mask)
{
   const int nz = a->nz;
   art_run_t *run = a->runs;
   int32_t nrun = 0, prev0 = 0, prev1 = 0;
   for (int ix = 0; ix < a->nx; ++ix) {
      const uint8_t *m = mask + art_px(a, 0, ix);
      int32_t first = nrun;
      for (int iz = next_row(m, 0, nz, 1); iz < nz; iz = next_row(m, iz, nz, 1)) {
         int z1 = next_row(m, iz, nz, 0);
         run[nrun] = (art_run_t){iz, z1 - 1, ix, nrun, 0};
         ++nrun;
         iz = z1;
      }
      int32_t p = prev0;
      for (int32_t r = first; r < nrun; ++r) {
         while (p < prev1 && run[p].z1 < run[r].z0 - 1)
            ++p;
         for (int32_t q = p; q < prev1 && run[q].z0 <= run[r].z1 + 1; ++q)
            run_join(run, r, q);
      }
      prev0 = first;
      prev1 = nrun;
   }
   return nrun;
}

/* Keeps component c in a->comps (the ART_MAX_COMPS largest). */
static void keep_component(art_t *a, const art_comp_t *c)
{
   if (a->ncomps < ART_MAX_COMPS) {
      a->comps[a->ncomps++] = *c;
      return;
   }
   int smallest = 0; /* full: replace the smallest kept component */
   for (int k = 1; k < a->ncomps; ++k)
      if (a->comps[k].count < a->comps[smallest].count)
         smallest = k;
   if (a->comps[smallest].count < c->count)
      a->comps[smallest] = *c;
}

/* Labels run r of root `root`: a new component when it is the root (a
 * root is its set's earliest run, so components are numbered in scan
 * order), else its root's component; that component's pixel count and
 * bounds grow by the run. Returns the label. */
static int32_t label_run(art_t *a, int32_t r, int32_t root, int32_t *lab)
{
   art_run_t *run = a->runs;
   art_comp_t *all = a->run_comps;
   if (root == r) {
      run[r].label = ++*lab;
      all[*lab - 1] = (art_comp_t){a->nz, -1, a->nx, -1, 0, *lab};
   } else {
      run[r].label = run[root].label;
   }
   art_comp_t *c = &all[run[r].label - 1];
   c->count += run[r].z1 - run[r].z0 + 1;
   if (run[r].z0 < c->iz0) c->iz0 = run[r].z0;
   if (run[r].z1 > c->iz1) c->iz1 = run[r].z1;
   if (run[r].x < c->ix0) c->ix0 = run[r].x;
   if (run[r].x > c->ix1) c->ix1 = run[r].x;
   return run[r].label;
}

/* The first `lab` components of at least min_count pixels into a->comps. */
static int keep_components(art_t *a, int32_t lab, int min_count)
{
   a->ncomps = 0;
   for (int32_t k = 0; k < lab; ++k)
      if (a->run_comps[k].count >= min_count)
         keep_component(a, &a->run_comps[k]);
   return a->ncomps;
}

/* The label image: each column written once, its runs' labels and 0
 * between them (runs come column by column, top to bottom), instead of
 * clearing the whole image and writing the runs over it. */
static void write_labels(art_t *a, int32_t nrun)
{
   const art_run_t *run = a->runs;
   int32_t r = 0;
   for (int ix = 0; ix < a->nx; ++ix) {
      int32_t *l = a->labels + art_px(a, 0, ix);
      int iz = 0;
      for (; r < nrun && run[r].x == ix; ++r) {
         memset(l + iz, 0, sizeof(int32_t) * (size_t)(run[r].z0 - iz));
         for (iz = run[r].z0; iz <= run[r].z1; ++iz)
            l[iz] = run[r].label;
      }
      memset(l + iz, 0, sizeof(int32_t) * (size_t)(a->nz - iz));
   }
}

int art_components(art_t *a, const uint8_t *mask, int min_count)
{
   art_run_t *run = a->runs;
   int32_t nrun = mask_runs(a, mask), lab = 0;
   for (int32_t r = 0; r < nrun; ++r)
      label_run(a, r, run_root(run, r), &lab);
   write_labels(a, nrun);
   return keep_components(a, lab, min_count);
}

static sono_point_t pt(const art_t *a, double iz, double ix)
{
   sono_point_t p = {a->x0 + ix * a->dx, a->z0 + iz * a->dz};
   return p;
}

uint32_t art_rect_polygon(const art_t *a, int iz0, int iz1, int ix0, int ix1, sono_point_t *poly)
{
   poly[0] = pt(a, iz0 - 0.5, ix0 - 0.5);
   poly[1] = pt(a, iz0 - 0.5, ix1 + 0.5);
   poly[2] = pt(a, iz1 + 0.5, ix1 + 0.5);
   poly[3] = pt(a, iz1 + 0.5, ix0 - 0.5);
   for (int i = 0; i < 4; ++i) { /* stay inside the frame (the host checks half a pixel) */
      double xl = a->x0 - 0.5 * a->dx, xr = a->x0 + (a->nx - 0.5) * a->dx;
      double zt = a->z0 - 0.5 * a->dz, zb = a->z0 + (a->nz - 0.5) * a->dz;
      poly[i].x_m = poly[i].x_m < xl ? xl : poly[i].x_m > xr ? xr : poly[i].x_m;
      poly[i].z_m = poly[i].z_m < zt ? zt : poly[i].z_m > zb ? zb : poly[i].z_m;
   }
   return 4;
}

/* Upper/lower envelope per column of the component, sampled at most
 * ART_MAX_POLY/2 columns, so the polygon follows the shape of columnar
 * regions (shadows, tails) and of blobs alike. */
uint32_t art_comp_polygon(const art_t *a, const art_comp_t *c, sono_point_t *poly)
{
   int w = c->ix1 - c->ix0 + 1, half = ART_MAX_POLY / 2;
   int step = (w + half - 1) / half;
   if (step < 1)
      step = 1;
   if (w < 2 || c->iz1 == c->iz0)
      return art_rect_polygon(a, c->iz0, c->iz1, c->ix0, c->ix1, poly);
   uint32_t n = 0;
   int ncols = 0;
   /* the flood-fill stack is free outside art_components() */
   int32_t *top = a->stack, *bot = a->stack + a->nx, *xs = a->stack + 2 * a->nx;
   for (int ix = c->ix0; ix <= c->ix1 && ncols < half; ix += step) {
      int x1 = ix + step - 1 > c->ix1 ? c->ix1 : ix + step - 1;
      int t = a->nz, b = -1;
      for (int x = ix; x <= x1; ++x)
         for (int iz = c->iz0; iz <= c->iz1; ++iz)
            if (a->labels[art_px(a, iz, x)] == c->label) {
               if (iz < t) t = iz;
               if (iz > b) b = iz;
            }
      if (b < 0)
         continue;
      if (ncols >= a->nx / 2)
         break;
      top[ncols] = t;
      bot[ncols] = b;
      xs[2 * ncols] = ix;
      xs[2 * ncols + 1] = x1;
      ++ncols;
   }
   if (ncols == 0)
      return art_rect_polygon(a, c->iz0, c->iz1, c->ix0, c->ix1, poly);
   if (ncols == 1)
      return art_rect_polygon(a, top[0], bot[0], xs[0], xs[1], poly);
   for (int k = 0; k < ncols; ++k) {
      double x = k == 0 ? xs[0] - 0.5 : k == ncols - 1 ? xs[2 * k + 1] + 0.5 : 0.5 * (xs[2 * k] + xs[2 * k + 1]);
      poly[n++] = pt(a, top[k] - 0.5, x);
   }
   for (int k = ncols - 1; k >= 0; --k) {
      double x = k == 0 ? xs[0] - 0.5 : k == ncols - 1 ? xs[2 * k + 1] + 0.5 : 0.5 * (xs[2 * k] + xs[2 * k + 1]);
      poly[n++] = pt(a, bot[k] + 0.5, x);
   }
   double xl = a->x0 - 0.5 * a->dx, xr = a->x0 + (a->nx - 0.5) * a->dx;
   double zt = a->z0 - 0.5 * a->dz, zb = a->z0 + (a->nz - 0.5) * a->dz;
   for (uint32_t i = 0; i < n; ++i) {
      poly[i].x_m = poly[i].x_m < xl ? xl : poly[i].x_m > xr ? xr : poly[i].x_m;
      poly[i].z_m = poly[i].z_m < zt ? zt : poly[i].z_m > zb ? zb : poly[i].z_m;
   }
   return n;
}

void art_dilate(const art_t *a, const uint8_t *in, uint8_t *out)
{
   for (int ix = 0; ix < a->nx; ++ix)
      for (int iz = 0; iz < a->nz; ++iz) {
         uint8_t v = 0;
         for (int dx = -1; dx <= 1 && !v; ++dx)
            for (int dz = -1; dz <= 1 && !v; ++dz) {
               int jz = iz + dz, jx = ix + dx;
               if (jz >= 0 && jx >= 0 && jz < a->nz && jx < a->nx)
                  v = in[art_px(a, jz, jx)];
            }
         out[art_px(a, iz, ix)] = v ? 1 : 0;
      }
}

int art_components_seeded(art_t *a, uint8_t *seed, const uint8_t *grow, int min_count)
{
   art_run_t *run = a->runs;
   int32_t nrun = mask_runs(a, grow);
   for (int32_t r = 0; r < nrun; ++r)
      run[r].label = 0;
   for (int32_t r = 0; r < nrun; ++r) {
      const uint8_t *s = seed + art_px(a, run[r].z0, run[r].x);
      int n = run[r].z1 - run[r].z0 + 1, any = 0;
      for (int k = 0; k < n; ++k)
         any |= s[k];
      if (any)
         run[run_root(run, r)].label = -1;
   }
   /* the runs of seeded components, numbered as art_components does */
   int32_t lab = 0;
   for (int32_t r = 0; r < nrun; ++r) {
      int32_t root = run_root(run, r);
      if (run[root].label == 0)
         continue; /* unseeded: the run keeps label 0 */
      label_run(a, r, root, &lab);
      memset(seed + art_px(a, run[r].z0, run[r].x), 1, (size_t)(run[r].z1 - run[r].z0 + 1));
   }
   write_labels(a, nrun);
   return keep_components(a, lab, min_count);
}
