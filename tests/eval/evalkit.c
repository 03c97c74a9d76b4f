/* sono-eval helpers (see evalkit.h). */
#include "evalkit.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>

#include <unistd.h>

#include <sono/host/session.h>
#include <sono/sim/phantom.h>

/* The default work folder is this process's own: its case files are
 * deleted after use, so at exit only the index remains to remove. */
static char default_work[64];
static int keep_default_work;
static void remove_default_work(void)
{
   if (keep_default_work)
      return;
   char path[128];
   snprintf(path, sizeof path, "%s/index.json", default_work);
   remove(path);
   snprintf(path, sizeof path, "%s/index.json.tmp", default_work);
   remove(path);
   rmdir(default_work);
}

int evalkit_parse(int argc, char **argv, evalkit_options_t *o, evalkit_threshold_t *t, int cap, int *count)
{
   memset(o, 0, sizeof *o);
   o->n = 40;
   o->seed = 1;
   /* Generated cases are large (tens of MB each): by default they go to the
    * system's temporary folder, never into the current (source) folder. */
   snprintf(o->work_default, sizeof o->work_default, "/tmp/sono-eval-%ld", (long)getpid());
   o->work = o->work_default;
   if (!default_work[0]) {
      snprintf(default_work, sizeof default_work, "%s", o->work_default);
      atexit(remove_default_work);
   }
   o->plugins = SONO_EVAL_PLUGIN_DIR;
   o->threads = 2;
   *count = 0;
   for (int i = 1; i < argc; ++i) {
      const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
      if (strcmp(a, "--verbose") == 0 || strcmp(a, "--keep") == 0) {
         *(a[2] == 'v' ? &o->verbose : &o->keep) = 1;
         continue;
      }
      if (!v || strncmp(a, "--", 2) != 0) {
         fprintf(stderr, "sono-eval: argument %d \"%s\": expected an option --name followed by a value\n", i, a);
         return -1;
      }
      ++i;
      char *end = NULL;
      if (strcmp(a, "--n") == 0)
         o->n = (uint32_t)strtoul(v, &end, 10);
      else if (strcmp(a, "--seed") == 0)
         o->seed = strtoull(v, &end, 10);
      else if (strcmp(a, "--work") == 0)
         o->work = v;
      else if (strcmp(a, "--batch") == 0)
         o->batch = v;
      else if (strcmp(a, "--plugins") == 0)
         o->plugins = v;
      else if (strcmp(a, "--frames") == 0)
         o->frames = (uint32_t)strtoul(v, &end, 10);
      else if (strcmp(a, "--threads") == 0)
         o->threads = (uint32_t)strtoul(v, &end, 10);
      else if ((strncmp(a, "--min-", 6) == 0 || strncmp(a, "--max-", 6) == 0) && *count < cap) {
         t[*count].name = a + 2;
         t[(*count)++].value = strtod(v, &end);
      } else {
         fprintf(stderr, "sono-eval: option %s: unknown; expected --n, --seed, --work, --batch, --plugins, "
                         "--frames, --threads, --verbose, --keep or a --min-*/--max-* threshold\n", a);
         return -1;
      }
      if (end && *end) {
         fprintf(stderr, "sono-eval: option %s value \"%s\": expected a number\n", a, v);
         return -1;
      }
   }
   keep_default_work = o->keep;
   return 0;
}

double evalkit_threshold(const evalkit_threshold_t *t, int count, const char *name, double fallback)
{
   for (int i = 0; i < count; ++i)
      if (strcmp(t[i].name, name) == 0)
         return t[i].value;
   return fallback;
}

static char *read_text(const char *path)
{
   FILE *f = fopen(path, "rb");
   if (!f)
      return NULL;
   fseek(f, 0, SEEK_END);
   long n = ftell(f);
   fseek(f, 0, SEEK_SET);
   char *s = n >= 0 ? malloc((size_t)n + 1) : NULL;
   if (s && fread(s, 1, (size_t)n, f) != (size_t)n) {
      free(s);
      s = NULL;
   }
   if (s)
      s[n] = 0;
   fclose(f);
   return s;
}

/* N frames over one cardiac cycle; frame-ranged artefacts (flash) are
 * moved into the shorter sequence. */
static void set_frames(sono_sim_case_t *c, uint32_t frames)
{
   if (frames == 0 || frames == c->frames)
      return;
   uint32_t old = c->frames;
   c->frames = frames;
   c->frame_rate_hz = frames * c->heart_rate_hz;
   for (uint32_t k = 0; k < c->artefact_count; ++k) {
      sono_sim_artefact_t *a = &c->artefacts[k];
      if (a->frame1 == 0 && a->frame0 == 0)
         continue;
      uint32_t span = a->frame1 - a->frame0;
      a->frame0 = old > 1 ? a->frame0 * (frames - 1) / (old - 1) : 0;
      a->frame1 = a->frame0 + span < frames ? a->frame0 + span : frames - 1;
   }
}

void evalkit_case_remove(const evalkit_options_t *o, uint32_t i)
{
   if (o->batch || o->keep)
      return;
   char stem[32], path[1200];
   snprintf(stem, sizeof stem, "case-%04u.", i);
   DIR *d = opendir(o->work);
   if (!d)
      return;
   struct dirent *e;
   while ((e = readdir(d)) != NULL)
      if (strncmp(e->d_name, stem, strlen(stem)) == 0) {
         snprintf(path, sizeof path, "%s/%s", o->work, e->d_name);
         remove(path);
      }
   closedir(d);
}

/* index.json of a --work folder (sono-phantom batch layout) listing cases
 * 0..last, so that `--batch <work>` re-scores the generated cases without
 * generating them again. Cases are generated in order, so the list is
 * rewritten whole after each one. */
static int write_work_index(const evalkit_options_t *o, uint32_t last, char *err, size_t err_size)
{
   cJSON *index = cJSON_CreateObject();
   cJSON_AddStringToObject(index, "format", "sono.phantom-batch");
   cJSON_AddNumberToObject(index, "version", 1);
   cJSON_AddStringToObject(index, "generator", "sono-eval (libsono_sim)");
   char seed[24]; /* a string: 64-bit seeds do not survive a JSON double */
   snprintf(seed, sizeof seed, "%llu", (unsigned long long)o->seed);
   cJSON_AddStringToObject(index, "seed", seed);
   cJSON_AddNumberToObject(index, "frames", o->frames);
   cJSON *cases = cJSON_AddArrayToObject(index, "cases");
   for (uint32_t k = 0; k <= last; ++k) {
      char file[32];
      snprintf(file, sizeof file, "case-%04u.json", k);
      cJSON *e = cJSON_CreateObject();
      cJSON_AddNumberToObject(e, "index", k);
      cJSON_AddStringToObject(e, "recording", file);
      cJSON_AddItemToArray(cases, e);
   }
   char path[1200], tmp[1210];
   snprintf(path, sizeof path, "%s/index.json", o->work);
   snprintf(tmp, sizeof tmp, "%s.tmp", path);
   char *text = cJSON_Print(index);
   cJSON_Delete(index);
   FILE *f = text ? fopen(tmp, "w") : NULL;
   int ok = f && fputs(text, f) >= 0;
   if (f)
      ok = (fclose(f) == 0) && ok;
   free(text);
   if (!ok || rename(tmp, path) != 0) {
      snprintf(err, err_size, "--work %s: cannot write index.json (%s)", o->work, strerror(errno));
      return -1;
   }
   return 0;
}

int evalkit_case_recording(const evalkit_options_t *o, uint32_t i, char *path, size_t size, char *err, size_t err_size)
{
   if (o->batch) {
      char index[1024];
      snprintf(index, sizeof index, "%s/index.json", o->batch);
      char *text = read_text(index);
      cJSON *root = text ? cJSON_Parse(text) : NULL;
      free(text);
      const cJSON *cases = cJSON_GetObjectItemCaseSensitive(root, "cases");
      const cJSON *e = cJSON_GetArrayItem(cases, (int)i);
      const cJSON *rec = cJSON_GetObjectItemCaseSensitive(e, "recording");
      if (!cJSON_IsString(rec)) {
         snprintf(err, err_size, "%s: case %u has no \"recording\" string (cases[%u].recording)", index, i, i);
         cJSON_Delete(root);
         return -1;
      }
      snprintf(path, size, "%s/%s", o->batch, rec->valuestring);
      cJSON_Delete(root);
      return 0;
   }
   char stem[32];
   snprintf(stem, sizeof stem, "case-%04u", i);
   if (mkdir(o->work, 0777) != 0 && errno != EEXIST) {
      snprintf(err, err_size, "--work %s: cannot create the folder (%s)", o->work, strerror(errno));
      return -1;
   }
   snprintf(path, size, "%s/%s.json", o->work, stem);
   sono_sim_case_t c;
   sono_sim_batch_case(&c, o->seed, i);
   set_frames(&c, o->frames);
   c.threads = o->threads;
   sono_error_t e;
   if (sono_sim_write_recording(&c, o->work, stem, &e) != 0) {
      snprintf(err, err_size, "batch seed %llu case %u: %s", (unsigned long long)o->seed, i, e.message);
      return -1;
   }
   return write_work_index(o, i, err, err_size);
}

cJSON *evalkit_ground_truth(const char *recording, char *err, size_t err_size)
{
   char *text = read_text(recording);
   if (!text) {
      snprintf(err, err_size, "%s: cannot read the recording header", recording);
      return NULL;
   }
   cJSON *root = cJSON_Parse(text);
   free(text);
   cJSON *gt = cJSON_DetachItemFromObjectCaseSensitive(root, "ground_truth");
   cJSON_Delete(root);
   if (!gt)
      snprintf(err, err_size, "%s: no \"ground_truth\" object (formats.md §2)", recording);
   return gt;
}

cJSON *evalkit_run_plugin(const char *recording, const char *manifest, char *err, size_t err_size)
{
   sono_session_options_t opt;
   sono_session_options_default(&opt);
   opt.recording = recording;
   opt.plugin_dir = ".";
   opt.only_plugin = manifest;
   opt.images = 0;
   opt.quiet = 1;
   sono_error_t e;
   sono_session_t *s = sono_session_open(&opt, &e);
   if (!s) {
      snprintf(err, err_size, "%s", e.message);
      return NULL;
   }
   cJSON *copy = NULL;
   if (sono_session_run(s, &e) != 0)
      snprintf(err, err_size, "%s", e.message);
   else
      copy = cJSON_Duplicate(sono_results_json(sono_session_results(s)), 1);
   sono_session_close(s);
   return copy;
}

const cJSON *evalkit_last_frame(const cJSON *results)
{
   const cJSON *frames = cJSON_GetObjectItemCaseSensitive(results, "frames");
   int n = cJSON_GetArraySize(frames);
   return n > 0 ? cJSON_GetArrayItem(frames, n - 1) : NULL;
}

int evalkit_points(const cJSON *array, evalkit_pt_t *pts, int cap)
{
   int n = 0;
   const cJSON *p;
   cJSON_ArrayForEach(p, array) {
      if (n >= cap || cJSON_GetArraySize(p) < 2)
         break;
      pts[n].x = cJSON_GetArrayItem(p, 0)->valuedouble;
      pts[n++].z = cJSON_GetArrayItem(p, 1)->valuedouble;
   }
   return n;
}

int evalkit_point_in_polygon(const evalkit_pt_t *poly, int n, evalkit_pt_t p)
{
   int in = 0;
   for (int i = 0, j = n - 1; i < n; j = i++)
      if ((poly[i].z > p.z) != (poly[j].z > p.z) &&
          p.x < (poly[j].x - poly[i].x) * (p.z - poly[i].z) / (poly[j].z - poly[i].z) + poly[i].x)
         in = !in;
   return in;
}

evalkit_pt_t evalkit_centroid(const evalkit_pt_t *pts, int n)
{
   evalkit_pt_t c = {0, 0};
   for (int i = 0; i < n; ++i) {
      c.x += pts[i].x / n;
      c.z += pts[i].z / n;
   }
   return c;
}

double evalkit_polygon_iou(const evalkit_pt_t *a, int na, const evalkit_pt_t *b, int nb)
{
   double x0 = 1e9, x1 = -1e9, z0 = 1e9, z1 = -1e9;
   for (int i = 0; i < na; ++i) {
      x0 = fmin(x0, a[i].x); x1 = fmax(x1, a[i].x); z0 = fmin(z0, a[i].z); z1 = fmax(z1, a[i].z);
   }
   for (int i = 0; i < nb; ++i) {
      x0 = fmin(x0, b[i].x); x1 = fmax(x1, b[i].x); z0 = fmin(z0, b[i].z); z1 = fmax(z1, b[i].z);
   }
   const double step = 20e-6;
   long inter = 0, uni = 0;
   for (double x = x0; x <= x1; x += step)
      for (double z = z0; z <= z1; z += step) {
         evalkit_pt_t p = {x, z};
         int ia = evalkit_point_in_polygon(a, na, p), ib = evalkit_point_in_polygon(b, nb, p);
         inter += ia && ib;
         uni += ia || ib;
      }
   return uni ? (double)inter / uni : 0.0;
}

const char *evalkit_rate_text(const evalkit_rate_t *r, char *buf, size_t size)
{
   if (!r->total)
      snprintf(buf, size, "-");
   else
      snprintf(buf, size, "%.3f (%u/%u)", evalkit_rate_value(r), r->hit, r->total);
   return buf;
}

void evalkit_confusion_init(evalkit_confusion_t *c, const char *const *labels, int n)
{
   memset(c, 0, sizeof *c);
   c->n = n < EVALKIT_MAX_LABELS ? n : EVALKIT_MAX_LABELS;
   for (int i = 0; i < c->n; ++i)
      c->labels[i] = labels[i];
}

int evalkit_confusion_index(const evalkit_confusion_t *c, const char *label)
{
   for (int i = 0; label && i < c->n; ++i)
      if (strcmp(c->labels[i], label) == 0)
         return i;
   return -1;
}

void evalkit_confusion_add(evalkit_confusion_t *c, const char *truth, const char *predicted)
{
   int t = evalkit_confusion_index(c, truth), p = evalkit_confusion_index(c, predicted);
   if (t >= 0 && p >= 0)
      c->cell[t][p]++;
}

void evalkit_confusion_print(const evalkit_confusion_t *c, FILE *f)
{
   fprintf(f, "%-16s", "truth \\ pred");
   for (int j = 0; j < c->n; ++j)
      fprintf(f, " %6.6s", c->labels[j]);
   fprintf(f, "\n");
   for (int i = 0; i < c->n; ++i) {
      fprintf(f, "%-16s", c->labels[i]);
      for (int j = 0; j < c->n; ++j)
         fprintf(f, " %6u", c->cell[i][j]);
      fprintf(f, "\n");
   }
}

static int cmp_double(const void *a, const void *b)
{
   double x = *(const double *)a, y = *(const double *)b;
   return x < y ? -1 : x > y;
}

double evalkit_median(double *v, size_t n)
{
   if (!n)
      return NAN;
   qsort(v, n, sizeof *v, cmp_double);
   return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}
