/* sono-eval intravascular: org.sonoplug.intravascular on a phantom batch.
 *
 * Case status = the plugin's intravascular_filler findings on the LAST
 * frame (after cine accumulation): detected if any vessel is detected, else
 * indeterminate if any is, else not_detected. Metrics (issue targets):
 *   sensitivity   truth "detected" (intraluminal deposit, V9 not applying) -> detected
 *   specificity   truth "not_detected" -> anything but detected
 *   violations    truth "indeterminate" -> not_detected (must be 0)
 *   localisation  |x| error of the occluded segment's two ends, mean of both, mm
 *   class / placement accuracy over truth deposits matched to a reported
 *   filler_deposit (centroid of one inside the other's polygon).
 * --dump-features FILE appends one line per matched deposit (seed, case,
 * true class and placement, reported class and placement, true and
 * reported area in mm^2, their IoU, the reported outline's centroid x and
 * z in mm, the p_<class> probabilities as reported, the plugin's
 * class_features attribute (from a lumen gap, the seven features the
 * classifier read, then the pair evidence), then the basis) for fitting the
 * classifier across
 * seeds; the file is emptied at the start. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "evalkit.h"

enum { SIZE_BINS = 3, SNR_BINS = 3, CLASSES = 11 };
static const char *const class_names[CLASSES] = {"ha_fresh", "ha_integrated", "caha", "caha_diluted", "pmma",
                                                 "silicone", "plla", "pcl", "collagen", "paag", "unknown"};
static const char *const status_names[3] = {"detected", "not_detected", "indeterminate"};
static const char *const size_names[SIZE_BINS] = {"< 0.8 mm", "0.8-1.2 mm", "> 1.2 mm"};
static const char *const snr_names[SNR_BINS] = {"SNR < 22 dB", "SNR 22-28 dB", "SNR > 28 dB"};

typedef struct tally {
   evalkit_rate_t sens, spec, violation_free, cls, placement, found;
} tally_t;

typedef struct stats {
   tally_t all, by_size[SIZE_BINS], by_snr[SNR_BINS], by_class[CLASSES];
   evalkit_rate_t overcaution;
   uint32_t violations;
   double *loc;
   size_t nloc;
   evalkit_confusion_t status, classes, placement;
} stats_t;

static const char *str(const cJSON *o, const char *k)
{
   const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
   return cJSON_IsString(v) ? v->valuestring : NULL;
}

static const char *case_status(const cJSON *frame, evalkit_pt_t *occ, int *nocc)
{
   int det = 0, ind = 0;
   const cJSON *f;
   *nocc = 0;
   cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(frame, "findings")) {
      const char *kind = str(f, "kind"), *st = str(f, "status");
      if (!kind || strcmp(kind, "intravascular_filler") != 0 || !st)
         continue;
      if (strcmp(st, "detected") == 0) {
         if (!det)
            *nocc = evalkit_points(cJSON_GetObjectItemCaseSensitive(f, "region_m"), occ, 128);
         det = 1;
      }
      ind |= strcmp(st, "indeterminate") == 0;
   }
   return det ? "detected" : ind ? "indeterminate" : "not_detected";
}

/* Mean distance (mm, along x) between the ends of the true and reported
 * occluded segments. */
static double localisation_mm(const cJSON *gt_vessels, const evalkit_pt_t *occ, int nocc)
{
   const cJSON *v, *best = NULL;
   cJSON_ArrayForEach(v, gt_vessels) {
      const cJSON *segs = cJSON_GetObjectItemCaseSensitive(v, "occluded_segments_m");
      if (cJSON_GetArraySize(segs) > 0)
         best = cJSON_GetArrayItem(segs, 0);
   }
   if (!best || nocc < 2)
      return NAN;
   evalkit_pt_t t[2];
   if (evalkit_points(best, t, 2) < 2)
      return NAN;
   double tx0 = fmin(t[0].x, t[1].x), tx1 = fmax(t[0].x, t[1].x), px0 = 1e9, px1 = -1e9;
   for (int i = 0; i < nocc; ++i) {
      px0 = fmin(px0, occ[i].x);
      px1 = fmax(px1, occ[i].x);
   }
   return 0.5e3 * (fabs(px0 - tx0) + fabs(px1 - tx1));
}

static const cJSON *match_deposit(const cJSON *frame, const evalkit_pt_t *truth, int nt)
{
   const cJSON *f, *best = NULL;
   double best_iou = -1;
   evalkit_pt_t tc = evalkit_centroid(truth, nt), pts[128];
   cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(frame, "findings")) {
      const char *kind = str(f, "kind");
      if (!kind || strcmp(kind, "filler_deposit") != 0)
         continue;
      int n = evalkit_points(cJSON_GetObjectItemCaseSensitive(f, "region_m"), pts, 128);
      if (n < 3)
         continue;
      evalkit_pt_t pc = evalkit_centroid(pts, n);
      if (!evalkit_point_in_polygon(truth, nt, pc) && !evalkit_point_in_polygon(pts, n, tc))
         continue;
      double iou = evalkit_polygon_iou(truth, nt, pts, n);
      if (iou > best_iou) {
         best_iou = iou;
         best = f;
      }
   }
   return best;
}

static void tally_status(tally_t *t, const char *truth, const char *pred)
{
   if (strcmp(truth, "detected") == 0)
      evalkit_rate_add(&t->sens, strcmp(pred, "detected") == 0);
   else if (strcmp(truth, "not_detected") == 0)
      evalkit_rate_add(&t->spec, strcmp(pred, "detected") != 0);
   else
      evalkit_rate_add(&t->violation_free, strcmp(pred, "not_detected") != 0);
}

/* Why the plugin said what it said, for a case it got wrong or detected. */
static void print_reasons(const cJSON *frame)
{
   const cJSON *f;
   cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(frame, "findings")) {
      const char *kind = str(f, "kind");
      if (kind && strcmp(kind, "intravascular_filler") == 0)
         printf("    %s: %s | %s\n", str(f, "status") ? str(f, "status") : "?", str(f, "label") ? str(f, "label") : "",
                str(f, "basis") ? str(f, "basis") : "");
   }
}

/* The truth's occluded segment (lateral extent), so that a miss can be read
 * against where the trace stopped ("traced only from x .. to ..") and where
 * the silent segment was reported. */
static void print_truth_segment(const cJSON *gt_vessels)
{
   const cJSON *v;
   cJSON_ArrayForEach(v, gt_vessels) {
      const cJSON *seg;
      cJSON_ArrayForEach(seg, cJSON_GetObjectItemCaseSensitive(v, "occluded_segments_m")) {
         evalkit_pt_t t[2];
         if (evalkit_points(seg, t, 2) == 2)
            printf("    truth occluded segment: x %.1f to %.1f mm, depth %.1f to %.1f mm\n", fmin(t[0].x, t[1].x) * 1e3,
                   fmax(t[0].x, t[1].x) * 1e3, t[0].z * 1e3, t[1].z * 1e3);
      }
   }
}

/* The upstream RI the plugin read (its upstream_ri measurements on the
 * last frame) beside each true vessel's RI (upstream of the occlusion for an
 * occluded vessel), so that a bias of the read RI shows over a batch. */
static void print_resistance(const cJSON *gt_vessels, const cJSON *frame)
{
   const cJSON *v, *m;
   printf("    RI truth");
   cJSON_ArrayForEach(v, gt_vessels)
      printf(" %.2f", cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(v, "ri")));
   printf(", read");
   int n = 0;
   cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(frame, "measurements")) {
      const char *name = str(m, "name");
      if (name && strcmp(name, "upstream_ri") == 0) {
         printf(" %.2f", cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(m, "value")));
         ++n;
      }
   }
   printf("%s\n", n ? "" : " none");
}

static int size_bin(double d) { return d < 0.8e-3 ? 0 : d <= 1.2e-3 ? 1 : 2; }
static int snr_bin(double s) { return s < 22 ? 0 : s <= 28 ? 1 : 2; }

/* Area of a simple polygon (shoelace), m^2. */
static double polygon_area(const evalkit_pt_t *p, int n)
{
   double a = 0;
   for (int i = 0, j = n - 1; i < n; j = i++)
      a += (p[j].x + p[i].x) * (p[j].z - p[i].z);
   return fabs(0.5 * a);
}

/* One line per matched deposit for --dump-features (see the header): the
 * areas and overlap tell an outline that covers only part of the deposit
 * (or a neighbour) from features that overlap between classes. */
static void dump_deposit(FILE *o, uint64_t seed, uint32_t i, const char *tc, const char *tp, const evalkit_pt_t *truth,
                         int nt, const cJSON *m)
{
   const char *pc = str(m, "class"), *pp = str(m, "placement"), *basis = str(m, "basis");
   evalkit_pt_t pts[128];
   int n = evalkit_points(cJSON_GetObjectItemCaseSensitive(m, "region_m"), pts, 128);
   evalkit_pt_t c = evalkit_centroid(pts, n);
   fprintf(o, "D %llu %u %s %s %s %s %.3f %.3f %.3f %.3f %.3f", (unsigned long long)seed, i, tc, tp, pc ? pc : "?",
           pp ? pp : "?", polygon_area(truth, nt) * 1e6, polygon_area(pts, n) * 1e6,
           evalkit_polygon_iou(truth, nt, pts, n), c.x * 1e3, c.z * 1e3);
   const cJSON *attrs = cJSON_GetObjectItemCaseSensitive(m, "attributes");
   for (int k = 0; k < CLASSES; ++k) {
      char key[32];
      snprintf(key, sizeof key, "p_%s", class_names[k]);
      const char *p = str(attrs, key) ? str(attrs, key) : str(m, key);
      fprintf(o, " %s", p ? p : "?");
   }
   const char *features = str(attrs, "class_features");
   fprintf(o, " %s | %s\n", features ? features : "? ? ? ? ? ? ? ?", basis ? basis : "");
}

static void evaluate_case(stats_t *st, const cJSON *gt, const cJSON *results, int verbose, uint32_t i, FILE *dump,
                          uint64_t seed)
{
   const cJSON *frame = evalkit_last_frame(results);
   const cJSON *vessels = cJSON_GetObjectItemCaseSensitive(gt, "vessels");
   const char *truth = str(cJSON_GetObjectItemCaseSensitive(gt, "expect"), "intravascular");
   if (!frame || !truth)
      return;
   evalkit_pt_t occ[128];
   int nocc;
   const char *pred = case_status(frame, occ, &nocc);
   const cJSON *v0 = cJSON_GetArrayItem(vessels, 0);
   double diam = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(v0, "diameter_m"));
   double snr = cJSON_GetNumberValue(
      cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(gt, "acquisition"), "snr_db"));
   int sb = size_bin(diam), nb = snr_bin(snr);
   tally_status(&st->all, truth, pred);
   tally_status(&st->by_size[sb], truth, pred);
   tally_status(&st->by_snr[nb], truth, pred);
   evalkit_confusion_add(&st->status, truth, pred);
   if (strcmp(truth, "indeterminate") == 0 && strcmp(pred, "not_detected") == 0)
      st->violations++;
   if (strcmp(truth, "not_detected") == 0)
      evalkit_rate_add(&st->overcaution, strcmp(pred, "indeterminate") == 0);
   double loc = NAN;
   if (strcmp(truth, "detected") == 0 && strcmp(pred, "detected") == 0) {
      loc = localisation_mm(vessels, occ, nocc);
      if (!isnan(loc))
         st->loc[st->nloc++] = loc;
   }
   const cJSON *d;
   cJSON_ArrayForEach(d, cJSON_GetObjectItemCaseSensitive(gt, "deposits")) {
      evalkit_pt_t poly[256];
      int n = evalkit_points(cJSON_GetObjectItemCaseSensitive(d, "polygon_m"), poly, 256);
      const char *tc = str(d, "class"), *tp = str(d, "placement");
      int k = evalkit_confusion_index(&st->classes, tc);
      if (n < 3 || k < 0 || !tp)
         continue;
      const cJSON *m = match_deposit(frame, poly, n);
      evalkit_rate_add(&st->all.found, m != NULL);
      evalkit_rate_add(&st->by_class[k].found, m != NULL);
      evalkit_rate_add(&st->by_size[sb].found, m != NULL);
      evalkit_rate_add(&st->by_snr[nb].found, m != NULL);
      if (!m)
         continue;
      const char *pc = str(m, "class"), *pp = str(m, "placement");
      int ok_c = pc && strcmp(pc, tc) == 0, ok_p = pp && strcmp(pp, tp) == 0;
      evalkit_confusion_add(&st->classes, tc, pc);
      evalkit_confusion_add(&st->placement, tp, pp);
      tally_t *ts[4] = {&st->all, &st->by_class[k], &st->by_size[sb], &st->by_snr[nb]};
      for (int j = 0; j < 4; ++j) {
         evalkit_rate_add(&ts[j]->cls, ok_c);
         evalkit_rate_add(&ts[j]->placement, ok_p);
      }
      if (dump)
         dump_deposit(dump, seed, i, tc, tp, poly, n, m);
      if (verbose)
         printf("  case %u deposit %s/%s -> %s/%s | %s\n", i, tc, tp, pc ? pc : "?", pp ? pp : "?",
                str(m, "basis") ? str(m, "basis") : "");
   }
   const cJSON *acq = cJSON_GetObjectItemCaseSensitive(gt, "acquisition");
   double vn = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(acq, "nyquist_velocity_m_s"));
   double psv = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(v0, "psv_m_s"));
   if (verbose)
      printf("case %u: truth %s, reported %s, diameter %.2f mm, PSV %.3f m/s, scale %.3f m/s, SNR %.0f dB, "
             "localisation error %.2f mm\n",
             i, truth, pred, diam * 1e3, psv, vn, snr, loc);
   if (verbose) {
      print_truth_segment(vessels);
      print_resistance(vessels, frame);
      print_reasons(frame);
   }
}

static void print_row(const char *name, const tally_t *t)
{
   char a[32], b[32], c[32], d[32], e[32], f[32];
   printf("%-16s %-16s %-16s %-16s %-16s %-16s %-16s\n", name, evalkit_rate_text(&t->sens, a, sizeof a),
          evalkit_rate_text(&t->spec, b, sizeof b), evalkit_rate_text(&t->violation_free, c, sizeof c),
          evalkit_rate_text(&t->found, d, sizeof d), evalkit_rate_text(&t->cls, e, sizeof e),
          evalkit_rate_text(&t->placement, f, sizeof f));
}

static void print_report(stats_t *st, const evalkit_options_t *o)
{
   printf("sono-eval intravascular: %u cases, seed %llu, %u frames per case\n\n", o->n, (unsigned long long)o->seed,
          o->frames);
   printf("%-16s %-16s %-16s %-16s %-16s %-16s %-16s\n", "split", "sensitivity", "specificity", "indet. kept",
          "deposit found", "class acc.", "placement acc.");
   print_row("all", &st->all);
   for (int i = 0; i < SIZE_BINS; ++i)
      print_row(size_names[i], &st->by_size[i]);
   for (int i = 0; i < SNR_BINS; ++i)
      print_row(snr_names[i], &st->by_snr[i]);
   for (int i = 0; i < CLASSES; ++i)
      if (st->by_class[i].found.total)
         print_row(class_names[i], &st->by_class[i]);
   char buf[32];
   double med = evalkit_median(st->loc, st->nloc);
   printf("\nnot_detected where truth is indeterminate: %u\n", st->violations);
   printf("indeterminate where truth is not_detected: %s\n", evalkit_rate_text(&st->overcaution, buf, sizeof buf));
   printf("median occlusion localisation error: %.3f mm over %zu cases\n", st->nloc ? med : NAN, st->nloc);
   printf("\ncase status (rows truth, columns reported):\n");
   evalkit_confusion_print(&st->status, stdout);
   printf("\ndeposit class (matched deposits):\n");
   evalkit_confusion_print(&st->classes, stdout);
   printf("\nplacement (matched deposits):\n");
   evalkit_confusion_print(&st->placement, stdout);
}

static int check(const char *name, double value, double limit, int is_min)
{
   if (isnan(limit))
      return 0;
   int bad = isnan(value) || (is_min ? value < limit : value > limit);
   printf("%s %s: %.3f (%s %.3f)\n", bad ? "FAIL" : "ok  ", name, value, is_min ? ">=" : "<=", limit);
   return bad;
}

/* Removes "--dump-features FILE" from argv (the common parser does not
 * know it); returns FILE or NULL. */
static const char *take_dump_option(int *argc, char **argv)
{
   const char *path = NULL;
   int w = 1;
   for (int r = 1; r < *argc; ++r) {
      if (strcmp(argv[r], "--dump-features") == 0 && r + 1 < *argc) {
         path = argv[++r];
         continue;
      }
      argv[w++] = argv[r];
   }
   *argc = w;
   return path;
}

/* Empties the dump file; each case then appends and closes it, so lines
 * stay in case order whoever else appends to the same file. */
static int empty_file(const char *path)
{
   FILE *f = fopen(path, "w");
   if (!f) {
      fprintf(stderr, "sono-eval intravascular: --dump-features \"%s\": cannot be created; expected a writable path\n",
              path);
      return 0;
   }
   fclose(f);
   return 1;
}

int sono_eval_intravascular(int argc, char **argv)
{
   evalkit_options_t o;
   evalkit_threshold_t th[16];
   int nth = 0;
   const char *dump_path = take_dump_option(&argc, argv);
   if (evalkit_parse(argc, argv, &o, th, 16, &nth) != 0)
      return 2;
   if (dump_path && !empty_file(dump_path))
      return 2;
   /* Five frames over one cardiac cycle: the plugin's cine window (one
    * cycle) and its minimum of four frames are covered at half the
    * generation cost of the batch's ten. */
   if (o.frames == 0)
      o.frames = 5;
   char manifest[1024], rec[1024], err[512];
   snprintf(manifest, sizeof manifest, "%s/intravascular.sono.json", o.plugins);
   stats_t st;
   memset(&st, 0, sizeof st);
   st.loc = calloc(o.n + 1, sizeof(double));
   evalkit_confusion_init(&st.status, status_names, 3);
   evalkit_confusion_init(&st.classes, class_names, CLASSES);
   static const char *const placements[3] = {"intraluminal", "perivascular", "tissue"};
   evalkit_confusion_init(&st.placement, placements, 3);
   for (uint32_t i = 0; i < o.n; ++i) {
      if (evalkit_case_recording(&o, i, rec, sizeof rec, err, sizeof err) != 0) {
         fprintf(stderr, "sono-eval intravascular: %s\n", err);
         free(st.loc);
         return 2;
      }
      cJSON *gt = evalkit_ground_truth(rec, err, sizeof err);
      cJSON *res = gt ? evalkit_run_plugin(rec, manifest, err, sizeof err) : NULL;
      if (!res) {
         fprintf(stderr, "sono-eval intravascular: case %u: %s\n", i, err);
         evalkit_case_remove(&o, i);
         cJSON_Delete(gt);
         free(st.loc);
         return 2;
      }
      FILE *dump = dump_path ? fopen(dump_path, "a") : NULL;
      evaluate_case(&st, gt, res, o.verbose, i, dump, o.seed);
      if (dump)
         fclose(dump);
      cJSON_Delete(gt);
      cJSON_Delete(res);
      evalkit_case_remove(&o, i);
   }
   print_report(&st, &o);
   printf("\n");
   int bad = 0;
   bad |= check("sensitivity", evalkit_rate_value(&st.all.sens), evalkit_threshold(th, nth, "min-sensitivity", NAN), 1);
   bad |= check("specificity", evalkit_rate_value(&st.all.spec), evalkit_threshold(th, nth, "min-specificity", NAN), 1);
   bad |= check("indeterminate-violations", st.violations,
                evalkit_threshold(th, nth, "max-indeterminate-violations", NAN), 0);
   bad |= check("localisation-mm", st.nloc ? evalkit_median(st.loc, st.nloc) : NAN,
                evalkit_threshold(th, nth, "max-localisation-mm", NAN), 0);
   bad |= check("class-accuracy", evalkit_rate_value(&st.all.cls), evalkit_threshold(th, nth, "min-class-accuracy", NAN), 1);
   bad |= check("placement-accuracy", evalkit_rate_value(&st.all.placement),
                evalkit_threshold(th, nth, "min-placement-accuracy", NAN), 1);
   free(st.loc);
   return bad ? 1 : 0;
}
