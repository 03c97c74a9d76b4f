/* sono-phantom: synthetic facial-ultrasound recordings with ground truth.
 *   sono-phantom list
 *   sono-phantom case  --scenario NAME --seed S --out DIR [--frames N] [--threads T]
 *   sono-phantom batch --n N --seed S --out DIR [--frames N] [--threads T]
 *   sono-phantom truth --scenario NAME --seed S      (ground truth to stdout) */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sono/sim/phantom.h>

typedef struct options {
   const char *scenario;
   const char *out;
   uint64_t seed;
   long n;
   long frames;   /* 0: the scenario's own */
   long threads;
} options_t;

static int usage(void)
{
   fprintf(stderr,
           "usage: sono-phantom list\n"
           "       sono-phantom case  --scenario NAME --seed S --out DIR [--frames N] [--threads T]\n"
           "       sono-phantom batch --n N --seed S --out DIR [--frames N] [--threads T]\n"
           "       sono-phantom truth --scenario NAME --seed S\n");
   return 2;
}

static int parse_number(const char *opt, const char *text, unsigned long long *out)
{
   char *end;
   errno = 0;
   *out = strtoull(text, &end, 10);
   if (errno || *end || !*text || text[0] == '-') {
      fprintf(stderr, "sono-phantom: option %s: expected a non-negative integer, got \"%s\"\n", opt, text);
      return -1;
   }
   return 0;
}

static int parse(int argc, char **argv, options_t *o)
{
   *o = (options_t){"nasolabial-ha-occlusion", ".", 1, 10, 0, 1};
   for (int i = 2; i < argc; ++i) {
      const char *a = argv[i];
      if (i + 1 >= argc) {
         fprintf(stderr, "sono-phantom: option %s: missing value\n", a);
         return -1;
      }
      const char *v = argv[++i];
      unsigned long long num = 0;
      if (strcmp(a, "--scenario") == 0)
         o->scenario = v;
      else if (strcmp(a, "--out") == 0)
         o->out = v;
      else if (strcmp(a, "--seed") == 0 || strcmp(a, "--n") == 0 || strcmp(a, "--frames") == 0 ||
               strcmp(a, "--threads") == 0) {
         if (parse_number(a, v, &num))
            return -1;
         if (a[2] == 's')
            o->seed = num;
         else if (a[2] == 'n')
            o->n = (long)num;
         else if (a[2] == 'f')
            o->frames = (long)num;
         else
            o->threads = (long)num;
      } else {
         fprintf(stderr, "sono-phantom: unknown option \"%s\"\n", a);
         return -1;
      }
   }
   return 0;
}

static int cmd_list(void)
{
   for (size_t i = 0; sono_sim_preset_name(i); ++i)
      printf("%-28s %s\n", sono_sim_preset_name(i), sono_sim_preset_summary(i));
   return 0;
}

static void apply_overrides(sono_sim_case_t *c, const options_t *o)
{
   if (o->frames > 0)
      c->frames = (uint32_t)o->frames;
   c->threads = o->threads > 0 ? (uint32_t)o->threads : 1;
}

static int cmd_case(const options_t *o)
{
   sono_sim_case_t c;
   sono_error_t err = {{0}};
   if (sono_sim_case_preset(&c, o->scenario, o->seed, &err)) {
      fprintf(stderr, "sono-phantom: %s\n", err.message);
      return 1;
   }
   apply_overrides(&c, o);
   if (sono_sim_write_recording(&c, o->out, c.scenario, &err)) {
      fprintf(stderr, "sono-phantom: %s\n", err.message);
      return 1;
   }
   printf("%s/%s.json: %u frames of %u x %u x %u, expect.intravascular %s\n", o->out, c.scenario, c.frames, c.nz,
          c.nx, c.ensemble, sono_sim_expected_intravascular(&c));
   return 0;
}

static int cmd_truth(const options_t *o)
{
   sono_sim_case_t c;
   sono_error_t err = {{0}};
   if (sono_sim_case_preset(&c, o->scenario, o->seed, &err)) {
      fprintf(stderr, "sono-phantom: %s\n", err.message);
      return 1;
   }
   apply_overrides(&c, o);
   sono_sim_t *sim = sono_sim_create(&c, &err);
   if (!sim) {
      fprintf(stderr, "sono-phantom: %s\n", err.message);
      return 1;
   }
   char *text = sono_sim_ground_truth_json(sim);
   puts(text ? text : "{}");
   free(text);
   sono_sim_destroy(sim);
   return 0;
}

/* One row of index.json: the case's key parameters and labels. */
static cJSON *index_entry(uint32_t i, const char *file, const sono_sim_case_t *c, const cJSON *gt)
{
   cJSON *e = cJSON_CreateObject();
   cJSON_AddNumberToObject(e, "index", i);
   cJSON_AddStringToObject(e, "recording", file);
   cJSON_AddStringToObject(e, "scenario", c->scenario);
   char seed[24]; /* a string: 64-bit seeds do not survive a JSON double */
   snprintf(seed, sizeof seed, "%llu", (unsigned long long)c->seed);
   cJSON_AddStringToObject(e, "case_seed", seed);
   const sono_sim_vessel_t *v = &c->vessels[0];
   cJSON_AddStringToObject(e, "vessel", v->name);
   cJSON_AddNumberToObject(e, "diameter_m", v->diameter_m);
   cJSON_AddNumberToObject(e, "depth_m", v->depth_m);
   cJSON_AddNumberToObject(e, "psv_m_s", v->psv_m_s);
   cJSON_AddNumberToObject(e, "prf_hz", c->prf_hz);
   cJSON_AddNumberToObject(e, "nyquist_velocity_m_s", sono_sim_nyquist(c));
   cJSON_AddNumberToObject(e, "snr_db", c->snr_db);
   if (c->deposit_count) {
      cJSON *d = cJSON_AddObjectToObject(e, "deposit");
      cJSON_AddStringToObject(d, "class", sono_sim_filler_name(c->deposits[0].filler));
      cJSON_AddStringToObject(d, "placement", sono_sim_placement_name(c->deposits[0].placement));
   } else {
      cJSON_AddNullToObject(e, "deposit");
   }
   cJSON *kinds = cJSON_AddArrayToObject(e, "artefacts");
   const cJSON *a;
   cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(gt, "artefacts"))
      cJSON_AddItemToArray(kinds, cJSON_CreateString(cJSON_GetObjectItemCaseSensitive(a, "kind")->valuestring));
   cJSON_AddStringToObject(e, "expect_intravascular", sono_sim_expected_intravascular(c));
   return e;
}

static int write_index(const options_t *o, cJSON *index)
{
   char path[4096];
   snprintf(path, sizeof path, "%s/index.json", o->out);
   char tmp[4200];
   snprintf(tmp, sizeof tmp, "%s.tmp", path);
   char *text = cJSON_Print(index);
   FILE *f = text ? fopen(tmp, "w") : NULL;
   int ok = f && fputs(text, f) >= 0;
   if (f)
      ok = (fclose(f) == 0) && ok;
   free(text);
   if (!ok || rename(tmp, path) != 0) { /* atomic like the recordings */
      fprintf(stderr, "sono-phantom: %s: cannot write: %s\n", path, strerror(errno));
      return 1;
   }
   return 0;
}

static int cmd_batch(const options_t *o)
{
   cJSON *index = cJSON_CreateObject();
   cJSON_AddStringToObject(index, "format", "sono.phantom-batch");
   cJSON_AddNumberToObject(index, "version", 1);
   cJSON_AddStringToObject(index, "generator", "sono-phantom (libsono_sim) 1.0.0");
   cJSON_AddNumberToObject(index, "seed", (double)o->seed);
   cJSON *cases = cJSON_AddArrayToObject(index, "cases");
   int rc = 0;
   for (uint32_t i = 0; i < (uint32_t)o->n && rc == 0; ++i) {
      sono_sim_case_t c;
      sono_error_t err = {{0}};
      sono_sim_batch_case(&c, o->seed, i);
      apply_overrides(&c, o);
      char stem[32];
      snprintf(stem, sizeof stem, "case_%04u", i);
      sono_sim_t *sim = sono_sim_create(&c, &err);
      if (!sim || sono_sim_write(sim, o->out, stem, &err)) {
         fprintf(stderr, "sono-phantom: batch case %u: %s\n", i, err.message);
         rc = 1;
      } else {
         cJSON *gt = sono_sim_ground_truth(sim);
         char file[48];
         snprintf(file, sizeof file, "%s.json", stem);
         cJSON_AddItemToArray(cases, index_entry(i, file, &c, gt));
         cJSON_Delete(gt);
         printf("%s/%s  %s\n", o->out, file, c.description);
      }
      sono_sim_destroy(sim);
   }
   if (rc == 0)
      rc = write_index(o, index);
   cJSON_Delete(index);
   return rc;
}

int main(int argc, char **argv)
{
   if (argc < 2)
      return usage();
   options_t o;
   if (strcmp(argv[1], "list") == 0)
      return cmd_list();
   if (parse(argc, argv, &o))
      return 2;
   if (strcmp(argv[1], "case") == 0)
      return cmd_case(&o);
   if (strcmp(argv[1], "batch") == 0)
      return cmd_batch(&o);
   if (strcmp(argv[1], "truth") == 0)
      return cmd_truth(&o);
   fprintf(stderr, "sono-phantom: unknown command \"%s\"\n", argv[1]);
   return usage();
}
