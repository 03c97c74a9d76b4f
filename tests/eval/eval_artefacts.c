/* sono-eval artefacts: org.sonoplug.artefacts on a phantom batch.
 *
 * Every frame of every case is scored on its own. The ground-truth
 * artefacts of a frame are those whose "frames" range holds it (all frames
 * when absent). Per kind, findings (status detected) are matched greedily to
 * truth instances: a hit needs polygon IoU >= 0.3, or is by kind alone when
 * either side is frame-wide (no polygon, e.g. gain). Unmatched findings are
 * false positives, unmatched truths false negatives. A plugin sees only the
 * image: truth and finding polygons are clipped to the image rectangle (the
 * x and z range of the recording grid) before the IoU, and a truth region
 * cut to less than OUTSIDE_SHARE of its area or to less than OUTSIDE_MM2 is
 * not a truth instance (counted apart: "truth regions outside the image").
 * A "clean" frame has no truth artefact in the image; it passes when the
 * plugin reports no artefact finding. The summary also gives the figures of
 * the kinds the clip changed as measured without it (the earlier method).
 *
 * Thresholds (exit status 1 when missed):
 *   --min-f1-strong X   shadow, reverberation, comet tail, gain, aliasing,
 *                       blooming, flash (issue target 0.9)
 *   --min-f1-other X    every other kind with truth in the batch (target 0.8)
 *   --min-clean X       clean frames without finding (target 0.95)
 *   --min-f1-<kind> X   one kind (e.g. --min-f1-acoustic_shadow 0.7),
 *                       overriding the class threshold above */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "evalkit.h"

#define KINDS 15
#define MAX_ITEMS 64
#define MAX_PTS 512
#define OUTSIDE_SHARE 0.10 /* a truth cut to less than this share of its area is outside the image */
#define OUTSIDE_MM2 0.05   /* ... or to less than this area (mm^2) */

static const char *const kind_names[KINDS] = {
   "acoustic_shadow", "posterior_enhancement", "reverberation",   "comet_tail",      "mirror_image",
   "anisotropy",      "side_lobe",             "gain_high",       "gain_low",        "near_field_clutter",
   "colour_aliasing", "colour_blooming",       "colour_flash",    "twinkling",       "colour_noise"};
static const int strong[KINDS] = {1, 0, 1, 1, 0, 0, 0, 1, 1, 0, 1, 1, 1, 0, 0};

typedef struct counts {
   uint32_t tp[KINDS], fp[KINDS], fn[KINDS];
   uint32_t outside[KINDS]; /* truth regions (per frame) outside the image, not counted */
   evalkit_rate_t clean;
} counts_t;

/* The image rectangle (m): x and z range of the recording grid's samples. */
typedef struct frame_rect { double x0, x1, z0, z1; } frame_rect_t;

typedef struct item {
   evalkit_pt_t *pts;
   int n; /* 0 = frame-wide */
   int used;
} item_t;

static int kind_index(const char *k)
{
   for (int i = 0; k && i < KINDS; ++i)
      if (strcmp(k, kind_names[i]) == 0)
         return i;
   return -1;
}

static const char *str(const cJSON *o, const char *k)
{
   const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
   return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int truth_in_frame(const cJSON *a, int frame)
{
   const cJSON *r = cJSON_GetObjectItemCaseSensitive(a, "frames");
   if (!cJSON_IsArray(r) || cJSON_GetArraySize(r) != 2)
      return 1;
   return frame >= cJSON_GetArrayItem(r, 0)->valueint && frame <= cJSON_GetArrayItem(r, 1)->valueint;
}

static double polygon_area(const evalkit_pt_t *p, int n)
{
   double a = 0;
   for (int i = 0, j = n - 1; i < n; j = i++)
      a += p[j].x * p[i].z - p[i].x * p[j].z;
   return fabs(a) / 2;
}

/* Sutherland-Hodgman clip of polygon p (n points) to rectangle r, in place;
 * p holds room for cap points (n + 4 suffice). Returns the new count. */
static int clip_to_rect(evalkit_pt_t *p, int n, int cap, const frame_rect_t *r)
{
   evalkit_pt_t tmp[MAX_PTS];
   for (int edge = 0; edge < 4 && n > 0; ++edge) {
      int m = 0;
      for (int i = 0; i < n; ++i) {
         evalkit_pt_t a = p[(i + n - 1) % n], b = p[i];
         /* signed distance inside the edge (>= 0: inside) */
         double da = edge == 0 ? a.x - r->x0 : edge == 1 ? r->x1 - a.x : edge == 2 ? a.z - r->z0 : r->z1 - a.z;
         double db = edge == 0 ? b.x - r->x0 : edge == 1 ? r->x1 - b.x : edge == 2 ? b.z - r->z0 : r->z1 - b.z;
         if ((da >= 0) != (db >= 0) && m < MAX_PTS && m < cap) {
            double t = da / (da - db);
            tmp[m++] = (evalkit_pt_t){a.x + t * (b.x - a.x), a.z + t * (b.z - a.z)};
         }
         if (db >= 0 && m < MAX_PTS && m < cap)
            tmp[m++] = b;
      }
      memcpy(p, tmp, sizeof(evalkit_pt_t) * (size_t)m);
      n = m;
   }
   return n;
}

/* Clips item it to the image. A truth region that the clip cuts to less
 * than OUTSIDE_SHARE of its area or OUTSIDE_MM2 returns 1 (outside: not a
 * truth instance); a region wholly inside is never outside, however small.
 * A finding is kept whatever it holds inside (its IoU is then 0). */
static int clip_item(item_t *it, int truth, const frame_rect_t *r)
{
   if (it->n < 3 || !r)
      return 0;
   evalkit_pt_t keep[MAX_PTS];
   int n0 = it->n;
   memcpy(keep, it->pts, sizeof(evalkit_pt_t) * (size_t)n0);
   double area = polygon_area(it->pts, n0);
   it->n = clip_to_rect(it->pts, n0, MAX_PTS, r);
   double inside = it->n >= 3 ? polygon_area(it->pts, it->n) : 0;
   int cut = inside < area * (1 - 1e-9);
   if (truth && cut && (inside < OUTSIDE_SHARE * area || inside < OUTSIDE_MM2 * 1e-6))
      return 1;
   if (it->n < 3) { /* a finding wholly outside: keep its own polygon */
      memcpy(it->pts, keep, sizeof(evalkit_pt_t) * (size_t)n0);
      it->n = n0;
   }
   return 0;
}

/* Collects the items of kind k: truth (gt artefacts) or findings, clipped to
 * the image r (NULL: not clipped); truths outside the image are left out and
 * counted in *outside. */
static int collect(const cJSON *list, int k, int frame, int truth, item_t *it, evalkit_pt_t *pool,
                   const frame_rect_t *r, uint32_t *outside)
{
   int n = 0;
   const cJSON *a;
   cJSON_ArrayForEach(a, list) {
      if (n >= MAX_ITEMS || kind_index(str(a, "kind")) != k)
         continue;
      if (truth ? !truth_in_frame(a, frame) : (!str(a, "status") || strcmp(str(a, "status"), "detected") != 0))
         continue;
      it[n].pts = pool + (size_t)n * MAX_PTS;
      it[n].n = evalkit_points(cJSON_GetObjectItemCaseSensitive(a, truth ? "polygon_m" : "region_m"), it[n].pts,
                               MAX_PTS - 8);
      it[n].used = 0;
      if (clip_item(&it[n], truth, r)) {
         ++*outside;
         continue;
      }
      ++n;
   }
   return n;
}

/* Best polygon IoU of item it against the items of other (the findings of
 * a missed truth, the truths of an unmatched finding): tells a region found
 * but misplaced (IoU just under 0.3) from a source not found at all. */
static double best_iou(const item_t *it, const item_t *other, int n)
{
   double best = 0;
   for (int i = 0; i < n; ++i)
      if (it->n >= 3 && other[i].n >= 3) {
         double iou = evalkit_polygon_iou(it->pts, it->n, other[i].pts, other[i].n);
         best = iou > best ? iou : best;
      }
   return best;
}

/* --verbose: one line per missed truth or unmatched finding, with its bounds
 * and its best IoU against the other side of the same kind (n = how many). */
static void print_item(const char *what, uint32_t case_index, int frame, int k, const item_t *it, const item_t *other,
                       int n)
{
   double x0 = 1, x1 = -1, z0 = 1, z1 = -1;
   for (int i = 0; i < it->n; ++i) {
      if (i == 0 || it->pts[i].x < x0) x0 = it->pts[i].x;
      if (i == 0 || it->pts[i].x > x1) x1 = it->pts[i].x;
      if (i == 0 || it->pts[i].z < z0) z0 = it->pts[i].z;
      if (i == 0 || it->pts[i].z > z1) z1 = it->pts[i].z;
   }
   if (it->n)
      printf("  %s case %u frame %d %s x %.2f..%.2f z %.2f..%.2f mm (%d other, best IoU %.2f)\n", what, case_index,
             frame, kind_names[k], x0 * 1e3, x1 * 1e3, z0 * 1e3, z1 * 1e3, n, best_iou(it, other, n));
   else
      printf("  %s case %u frame %d %s (frame-wide)\n", what, case_index, frame, kind_names[k]);
}

static void score_frame(const cJSON *gt_art, const cJSON *frame, int index, counts_t *c, evalkit_pt_t *pool,
                        int verbose, uint32_t case_index, const frame_rect_t *r)
{
   static item_t truth[MAX_ITEMS], found[MAX_ITEMS];
   const cJSON *findings = cJSON_GetObjectItemCaseSensitive(frame, "findings");
   int any_truth = 0, any_found = 0, any_miss = 0, kinds[KINDS];
   for (int k = 0; k < KINDS; ++k) {
      uint32_t out = 0;
      int nt = collect(gt_art, k, index, 1, truth, pool, r, &out);
      int nf = collect(findings, k, index, 0, found, pool + (size_t)MAX_ITEMS * MAX_PTS, r, &out);
      c->outside[k] += out;
      if (verbose && out)
         printf("  OUTSIDE case %u frame %d %s: %u truth region(s) outside the image, not counted\n", case_index,
                index, kind_names[k], out);
      for (int t = 0; t < nt; ++t)
         truth[t].used = 0;
      any_truth |= nt > 0;
      any_found |= nf > 0;
      kinds[k] = nt;
      uint32_t tp = 0;
      for (int t = 0; t < nt; ++t)
         for (int f = 0; f < nf; ++f) {
            if (found[f].used)
               continue;
            int hit = truth[t].n < 3 || found[f].n < 3 ||
                      evalkit_polygon_iou(truth[t].pts, truth[t].n, found[f].pts, found[f].n) >= 0.3;
            if (hit) {
               found[f].used = 1;
               truth[t].used = 1;
               ++tp;
               break;
            }
         }
      for (int t = 0; verbose && t < nt; ++t)
         if (!truth[t].used)
            print_item("FN", case_index, index, k, &truth[t], found, nf);
      for (int f = 0; verbose && f < nf; ++f)
         if (!found[f].used)
            print_item("FP", case_index, index, k, &found[f], truth, nt);
      any_miss |= tp < (uint32_t)nt || tp < (uint32_t)nf;
      c->tp[k] += tp;
      c->fp[k] += (uint32_t)nf - tp;
      c->fn[k] += (uint32_t)nt - tp;
   }
   if (verbose && any_miss && any_truth) { /* what else the frame holds: the company of a miss or false finding */
      printf("  TRUTH case %u frame %d:", case_index, index);
      for (int k = 0; k < KINDS; ++k)
         if (kinds[k])
            printf(" %s%s", kind_names[k], kinds[k] > 1 ? "(several)" : "");
      printf("\n");
   }
   if (!any_truth)
      evalkit_rate_add(&c->clean, !any_found);
   if (verbose && !any_truth && any_found) /* the FP lines above are this clean frame's findings */
      printf("  CLEAN-FP case %u frame %d\n", case_index, index);
}

static double f1_of(const counts_t *c, int k, double *p, double *r)
{
   *p = c->tp[k] + c->fp[k] ? (double)c->tp[k] / (c->tp[k] + c->fp[k]) : 1.0;
   *r = c->tp[k] + c->fn[k] ? (double)c->tp[k] / (c->tp[k] + c->fn[k]) : 1.0;
   return *p + *r > 0 ? 2 * *p * *r / (*p + *r) : 0.0;
}

/* Threshold of kind k: --min-f1-<kind> when given, else the class default. */
static double kind_min(const evalkit_threshold_t *th, int nth, int k, double min_strong, double min_other)
{
   char name[64];
   snprintf(name, sizeof name, "min-f1-%s", kind_names[k]);
   return evalkit_threshold(th, nth, name, strong[k] ? min_strong : min_other);
}

static int report(const counts_t *c, const counts_t *raw, const evalkit_threshold_t *th, int nth, double min_strong,
                  double min_other, double min_clean)
{
   int fail = 0;
   uint32_t outside = 0;
   for (int k = 0; k < KINDS; ++k)
      outside += c->outside[k];
   printf("%-22s %5s %5s %5s %6s %6s %6s %7s\n", "kind", "TP", "FP", "FN", "P", "R", "F1", "target");
   for (int k = 0; k < KINDS; ++k) {
      double p, r, f1 = f1_of(c, k, &p, &r);
      int has_truth = c->tp[k] + c->fn[k] > 0;
      if (!has_truth && !c->fp[k]) {
         printf("%-22s %5s %5s %5s %6s %6s %6s %7s\n", kind_names[k], "-", "-", "-", "-", "-", "n/a",
                "no data");
         continue;
      }
      double min = kind_min(th, nth, k, min_strong, min_other);
      int miss = has_truth && f1 < min;
      fail |= miss;
      printf("%-22s %5u %5u %5u %6.2f %6.2f %6.2f %7.2f%s\n", kind_names[k], c->tp[k], c->fp[k], c->fn[k], p, r, f1,
             strong[k] ? 0.9 : 0.8, miss ? "  BELOW THRESHOLD" : "");
   }
   char buf[64];
   double clean = evalkit_rate_value(&c->clean);
   int clean_miss = c->clean.total > 0 && clean < min_clean;
   printf("clean frames without an artefact finding: %s (target 95%%)%s\n", evalkit_rate_text(&c->clean, buf, sizeof buf),
          clean_miss ? "  BELOW THRESHOLD" : "");
   printf("%u truth regions outside the image not counted", outside);
   for (int k = 0, first = 1; k < KINDS; ++k)
      if (c->outside[k]) {
         printf("%s%s %u", first ? " (" : ", ", kind_names[k], c->outside[k]);
         first = 0;
      }
   printf("%s\n", outside ? ")" : "");
   for (int k = 0; raw && k < KINDS; ++k)
      if (raw->tp[k] != c->tp[k] || raw->fp[k] != c->fp[k] || raw->fn[k] != c->fn[k]) {
         double p, r;
         printf("  without the clip to the image: %s %u/%u/%u F1 %.2f\n", kind_names[k], raw->tp[k], raw->fp[k],
                raw->fn[k], f1_of(raw, k, &p, &r));
      }
   if (raw && raw->clean.hit != c->clean.hit) {
      char b2[64];
      printf("  without the clip to the image: clean frames %s\n", evalkit_rate_text(&raw->clean, b2, sizeof b2));
   }
   return fail || clean_miss;
}

/* The image rectangle of a recording header: the x and z range of its
 * grid's samples (formats.md §2 "grid"). Returns 0, or -1 without a grid. */
static int read_frame_rect(const char *recording, frame_rect_t *r)
{
   FILE *f = fopen(recording, "rb");
   if (!f)
      return -1;
   char *text = NULL;
   long size = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
   if (size > 0 && fseek(f, 0, SEEK_SET) == 0 && (text = malloc((size_t)size + 1)) != NULL) {
      size_t got = fread(text, 1, (size_t)size, f);
      text[got] = 0;
   }
   fclose(f);
   cJSON *root = text ? cJSON_Parse(text) : NULL;
   free(text);
   const cJSON *g = cJSON_GetObjectItemCaseSensitive(root, "grid");
   const char *keys[6] = {"nx", "nz", "dx_m", "dz_m", "x0_m", "z0_m"};
   double v[6];
   int ok = cJSON_IsObject(g);
   for (int i = 0; ok && i < 6; ++i) {
      const cJSON *e = cJSON_GetObjectItemCaseSensitive(g, keys[i]);
      ok = cJSON_IsNumber(e);
      v[i] = ok ? e->valuedouble : 0;
   }
   cJSON_Delete(root);
   if (!ok || v[0] < 1 || v[1] < 1)
      return -1;
   *r = (frame_rect_t){v[4], v[4] + (v[0] - 1) * v[2], v[5], v[5] + (v[1] - 1) * v[3]};
   return 0;
}

/* --self-test: the clip to the image on made-up frames (ctest
 * eval_artefacts_clip). An image 12.8 mm wide, 9.575 mm deep, as the
 * phantom's L18 grid. Returns 0 when every check holds. */
static cJSON *region(const char *kind, const char *key, double x0, double x1, double z0, double z1)
{
   cJSON *a = cJSON_CreateObject(), *poly = cJSON_AddArrayToObject(a, key);
   cJSON_AddStringToObject(a, "kind", kind);
   if (key[0] == 'r')
      cJSON_AddStringToObject(a, "status", "detected");
   const double xs[4] = {x0, x1, x1, x0}, zs[4] = {z0, z0, z1, z1};
   for (int i = 0; i < 4; ++i) {
      const double pt[2] = {xs[i] * 1e-3, zs[i] * 1e-3};
      cJSON_AddItemToArray(poly, cJSON_CreateDoubleArray(pt, 2));
   }
   return a;
}

static int self_test(void)
{
   const frame_rect_t rect = {-6.4e-3, 6.35e-3, 0, 9.575e-3};
   evalkit_pt_t *pool = malloc(sizeof(evalkit_pt_t) * 2 * MAX_ITEMS * MAX_PTS);
   cJSON *gt = cJSON_CreateArray(), *fr = cJSON_CreateObject(), *fs = cJSON_AddArrayToObject(fr, "findings");
   /* a layer running 2.4 mm below the image (40 % inside) and the region a
    * plugin can report of it: IoU 0.27 unclipped, 0.68 clipped */
   cJSON_AddItemToArray(gt, region("anisotropy", "polygon_m", 2.3, 6.35, 8.0, 12.0));
   cJSON_AddItemToArray(fs, region("anisotropy", "region_m", 2.3, 6.35, 8.5, 9.575));
   /* a shadow 3 % inside: outside the image, not counted */
   cJSON_AddItemToArray(gt, region("acoustic_shadow", "polygon_m", -2.0, 0.0, 9.5, 12.0));
   /* a small comet tail (0.01 mm^2) wholly inside: counted, missed */
   cJSON_AddItemToArray(gt, region("comet_tail", "polygon_m", 0.0, 0.1, 2.0, 2.1));
   counts_t c, raw;
   memset(&c, 0, sizeof c);
   memset(&raw, 0, sizeof raw);
   int fail = !pool;
   if (pool) {
      score_frame(gt, fr, 0, &c, pool, 0, 0, &rect);
      score_frame(gt, fr, 0, &raw, pool, 0, 0, NULL);
   }
   fail |= c.tp[5] != 1 || c.fn[5] != 0 || raw.tp[5] != 0 || raw.fn[5] != 1 || raw.fp[5] != 1;
   fail |= c.outside[0] != 1 || c.fn[0] != 0 || raw.fn[0] != 1;
   fail |= c.fn[3] != 1 || c.outside[3] != 0;
   /* a frame whose only truth is outside the image is clean when nothing is found */
   cJSON *gt2 = cJSON_CreateArray(), *fr2 = cJSON_CreateObject();
   cJSON_AddArrayToObject(fr2, "findings");
   cJSON_AddItemToArray(gt2, region("acoustic_shadow", "polygon_m", -2.0, 0.0, 9.5, 12.0));
   if (pool)
      score_frame(gt2, fr2, 0, &c, pool, 0, 0, &rect);
   fail |= c.clean.total != 1 || c.clean.hit != 1 || c.outside[0] != 2;
   /* the clip keeps a concave polygon's area inside the image: an L whose
    * foot (2 x 1 mm) lies below the image keeps its 1 x 3 mm stem */
   evalkit_pt_t l[MAX_PTS] = {{0, 7e-3}, {1e-3, 7e-3}, {1e-3, 9.5e-3}, {3e-3, 9.5e-3}, {3e-3, 10.5e-3}, {0, 10.5e-3}};
   int n = clip_to_rect(l, 6, MAX_PTS, &rect);
   fail |= fabs(polygon_area(l, n) - (1e-3 * 2.5e-3 + 3e-3 * 0.075e-3)) > 1e-12;
   printf("sono-eval artefacts --self-test: anisotropy clipped %u/%u/%u unclipped %u/%u/%u, outside %u, clean %u/%u: %s\n",
          c.tp[5], c.fp[5], c.fn[5], raw.tp[5], raw.fp[5], raw.fn[5], c.outside[0], c.clean.hit, c.clean.total,
          fail ? "FAILED" : "ok");
   cJSON_Delete(gt);
   cJSON_Delete(fr);
   cJSON_Delete(gt2);
   cJSON_Delete(fr2);
   free(pool);
   return fail;
}

int sono_eval_artefacts(int argc, char **argv)
{
   if (argc == 2 && strcmp(argv[1], "--self-test") == 0)
      return self_test();
   evalkit_options_t o;
   evalkit_threshold_t th[KINDS + 4];
   int nth = 0;
   if (evalkit_parse(argc, argv, &o, th, KINDS + 4, &nth))
      return 2;
   double min_strong = evalkit_threshold(th, nth, "min-f1-strong", 0.0);
   double min_other = evalkit_threshold(th, nth, "min-f1-other", 0.0);
   double min_clean = evalkit_threshold(th, nth, "min-clean", 0.0);
   char manifest[1024], rec[1024], err[1024];
   snprintf(manifest, sizeof manifest, "%s/artefacts.sono.json", o.plugins);
   evalkit_pt_t *pool = malloc(sizeof(evalkit_pt_t) * 2 * MAX_ITEMS * MAX_PTS);
   counts_t c, raw;
   memset(&c, 0, sizeof c);
   memset(&raw, 0, sizeof raw);
   if (!pool)
      return 2;
   for (uint32_t i = 0; i < o.n; ++i) {
      if (evalkit_case_recording(&o, i, rec, sizeof rec, err, sizeof err)) {
         fprintf(stderr, "sono-eval artefacts: case %u: %s\n", i, err);
         free(pool);
         return 2;
      }
      cJSON *gt = evalkit_ground_truth(rec, err, sizeof err);
      cJSON *res = gt ? evalkit_run_plugin(rec, manifest, err, sizeof err) : NULL;
      if (!gt || !res) {
         fprintf(stderr, "sono-eval artefacts: %s: %s\n", rec, err);
         cJSON_Delete(gt);
         evalkit_case_remove(&o, i);
         free(pool);
         return 2;
      }
      const cJSON *arts = cJSON_GetObjectItemCaseSensitive(gt, "artefacts"), *fr;
      frame_rect_t rect;
      int has_rect = read_frame_rect(rec, &rect) == 0, index = 0;
      if (!has_rect)
         fprintf(stderr, "sono-eval artefacts: %s: no \"grid\": truth not clipped to the image\n", rec);
      cJSON_ArrayForEach(fr, cJSON_GetObjectItemCaseSensitive(res, "frames")) {
         const cJSON *ix = cJSON_GetObjectItemCaseSensitive(fr, "index");
         int fi = cJSON_IsNumber(ix) ? ix->valueint : index;
         score_frame(arts, fr, fi, &c, pool, o.verbose, i, has_rect ? &rect : NULL);
         score_frame(arts, fr, fi, &raw, pool, 0, i, NULL);
         ++index;
      }
      if (o.verbose)
         printf("case %u: %d frames\n", i, index);
      cJSON_Delete(gt);
      cJSON_Delete(res);
      evalkit_case_remove(&o, i); /* cases are tens of MB: generated ones go once scored */
   }
   free(pool);
   printf("sono-eval artefacts: %u cases, seed %llu\n", o.n, (unsigned long long)o.seed);
   return report(&c, &raw, th, nth, min_strong, min_other, min_clean);
}
