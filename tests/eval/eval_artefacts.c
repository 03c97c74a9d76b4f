/* sono-eval artefacts: org.sonoplug.artefacts on a phantom batch.
 *
 * Every frame of every case is scored on its own. The ground-truth
 * artefacts of a frame are those whose "frames" range holds it (all frames
 * when absent). Per kind, findings (status detected) are matched greedily to
 * truth instances: a hit needs polygon IoU >= 0.3, or is by kind alone when
 * either side is frame-wide (no polygon, e.g. gain). Unmatched findings are
 * false positives, unmatched truths false negatives. A "clean" frame has no
 * truth artefact; it passes when the plugin reports no artefact finding.
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

static const char *const kind_names[KINDS] = {
   "acoustic_shadow", "posterior_enhancement", "reverberation",   "comet_tail",      "mirror_image",
   "anisotropy",      "side_lobe",             "gain_high",       "gain_low",        "near_field_clutter",
   "colour_aliasing", "colour_blooming",       "colour_flash",    "twinkling",       "colour_noise"};
static const int strong[KINDS] = {1, 0, 1, 1, 0, 0, 0, 1, 1, 0, 1, 1, 1, 0, 0};

typedef struct counts {
   uint32_t tp[KINDS], fp[KINDS], fn[KINDS];
   evalkit_rate_t clean;
} counts_t;

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

/* Collects the items of kind k: truth (gt artefacts) or findings. */
static int collect(const cJSON *list, int k, int frame, int truth, item_t *it, evalkit_pt_t *pool)
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
                               MAX_PTS);
      it[n].used = 0;
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
                        int verbose, uint32_t case_index)
{
   static item_t truth[MAX_ITEMS], found[MAX_ITEMS];
   const cJSON *findings = cJSON_GetObjectItemCaseSensitive(frame, "findings");
   int any_truth = 0, any_found = 0, any_miss = 0, kinds[KINDS];
   for (int k = 0; k < KINDS; ++k) {
      int nt = collect(gt_art, k, index, 1, truth, pool);
      int nf = collect(findings, k, index, 0, found, pool + (size_t)MAX_ITEMS * MAX_PTS);
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

static int report(const counts_t *c, const evalkit_threshold_t *th, int nth, double min_strong, double min_other,
                  double min_clean)
{
   int fail = 0;
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
   return fail || clean_miss;
}

int sono_eval_artefacts(int argc, char **argv)
{
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
   counts_t c;
   memset(&c, 0, sizeof c);
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
      int index = 0;
      cJSON_ArrayForEach(fr, cJSON_GetObjectItemCaseSensitive(res, "frames")) {
         const cJSON *ix = cJSON_GetObjectItemCaseSensitive(fr, "index");
         score_frame(arts, fr, cJSON_IsNumber(ix) ? ix->valueint : index, &c, pool, o.verbose, i);
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
   return report(&c, th, nth, min_strong, min_other, min_clean);
}
