/* sono-eval helpers shared by every eval_<plugin>.c: the case batch
 * (generated with the phantom or read from `sono-phantom batch` output),
 * running one plugin over a recording in memory, ground-truth access,
 * polygon geometry, confusion matrices and rate tables.
 *
 * Ownership: functions returning cJSON give a new tree the caller frees with
 * cJSON_Delete. Threading: single thread. */
#ifndef SONO_EVALKIT_H
#define SONO_EVALKIT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cjson/cJSON.h>

typedef struct evalkit_options {
   uint32_t n;            /* cases (--n) */
   uint64_t seed;         /* batch seed (--seed) */
   const char *work;      /* folder for generated recordings (--work; default /tmp/sono-eval-<pid>) */
   int keep;              /* --keep: generated cases stay in the work folder (for --batch re-runs) */
   char work_default[64]; /* storage of the default: one folder per process, so that runs in
                             parallel never delete each other's cases */
   const char *batch;     /* existing sono-phantom batch folder (--batch) or NULL */
   const char *plugins;   /* folder of built plugins (--plugins) */
   int verbose;           /* --verbose: one line per case */
   /* --frames N: generated cases get N frames spread over one cardiac cycle
    * (frame rate N x heart rate) instead of the batch's own 10; 0 keeps the
    * batch's. Fewer frames make a batch faster; the cine window of a plugin
    * still sees a whole cycle. Ignored with --batch. */
   uint32_t frames;
   uint32_t threads;      /* --threads N: phantom worker threads per case (default 2) */
} evalkit_options_t;

/* Parses the common options; unknown "--min-*"/"--max-*" options are left
 * for the caller through `thresholds` (name, value pairs, up to cap).
 * Returns 0, or -1 after printing what was wrong. */
typedef struct evalkit_threshold {
   const char *name;      /* without the leading "--" */
   double value;
} evalkit_threshold_t;
int evalkit_parse(int argc, char **argv, evalkit_options_t *o, evalkit_threshold_t *thresholds, int cap, int *count);
/* Value of threshold `name`, or `fallback` when not given. */
double evalkit_threshold(const evalkit_threshold_t *t, int count, const char *name, double fallback);

/* Path of the recording header of case i (generating it when needed).
 * Generating case i also (re)writes <work>/index.json listing cases 0..i,
 * so a later run with `--batch <work>` re-scores them without generating.
 * Returns 0, or -1 with a message in err. */
int evalkit_case_recording(const evalkit_options_t *o, uint32_t i, char *path, size_t size, char *err, size_t err_size);

/* Removes the files of generated case i from --work (nothing with --batch):
 * a case is ~13 MB of IQ per frame, so a batch keeps only the one in use. */
void evalkit_case_remove(const evalkit_options_t *o, uint32_t i);

/* The ground_truth object of a recording header (new tree), or NULL. */
cJSON *evalkit_ground_truth(const char *recording, char *err, size_t err_size);

/* Runs the plugin whose manifest is `manifest` over the recording and
 * returns a copy of the results tree (formats.md §3), or NULL + err. */
cJSON *evalkit_run_plugin(const char *recording, const char *manifest, char *err, size_t err_size);

/* The last element of results "frames", or NULL. */
const cJSON *evalkit_last_frame(const cJSON *results);

/* ---- geometry ------------------------------------------------------------------ */
typedef struct evalkit_pt { double x, z; } evalkit_pt_t;
/* Reads a [[x, z], ...] array into pts (capacity cap); returns the count. */
int evalkit_points(const cJSON *array, evalkit_pt_t *pts, int cap);
int evalkit_point_in_polygon(const evalkit_pt_t *poly, int n, evalkit_pt_t p);
evalkit_pt_t evalkit_centroid(const evalkit_pt_t *pts, int n);
/* Intersection over union of two polygons, rasterised on a 20 um grid. */
double evalkit_polygon_iou(const evalkit_pt_t *a, int na, const evalkit_pt_t *b, int nb);

/* ---- tallies ------------------------------------------------------------------- */
typedef struct evalkit_rate { uint32_t hit, total; } evalkit_rate_t;
static inline void evalkit_rate_add(evalkit_rate_t *r, int hit) { r->total++; r->hit += hit != 0; }
static inline double evalkit_rate_value(const evalkit_rate_t *r) { return r->total ? (double)r->hit / r->total : 0.0; }
/* "0.950 (19/20)" or "-" when empty. */
const char *evalkit_rate_text(const evalkit_rate_t *r, char *buf, size_t size);

#define EVALKIT_MAX_LABELS 16
typedef struct evalkit_confusion {
   int n;
   const char *labels[EVALKIT_MAX_LABELS];
   uint32_t cell[EVALKIT_MAX_LABELS][EVALKIT_MAX_LABELS]; /* [truth][predicted] */
} evalkit_confusion_t;
void evalkit_confusion_init(evalkit_confusion_t *c, const char *const *labels, int n);
/* Index of `label`, or -1. */
int evalkit_confusion_index(const evalkit_confusion_t *c, const char *label);
void evalkit_confusion_add(evalkit_confusion_t *c, const char *truth, const char *predicted);
void evalkit_confusion_print(const evalkit_confusion_t *c, FILE *f);

double evalkit_median(double *v, size_t n);

#endif
