/* Schema check of results.json before a report is built from it. */
#include <sono/host/report.h>

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sono/sdk/names.h>

static const cJSON *field(const cJSON *o, const char *key)
{
   return cJSON_GetObjectItemCaseSensitive(o, key);
}

static int need_string(const cJSON *o, const char *key, const char *what, const char *where, sono_error_t *err)
{
   if (!cJSON_IsString(field(o, key)))
      return sono_error_set(err, "%s: %s.%s: expected a string", what, where, key);
   return 0;
}

static int need_number(const cJSON *o, const char *key, const char *what, const char *where, sono_error_t *err)
{
   const cJSON *v = field(o, key);
   if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
      return sono_error_set(err, "%s: %s.%s: expected a finite number", what, where, key);
   return 0;
}

/* An optional array; absent counts as empty. */
static int optional_array(const cJSON *o, const char *key, const cJSON **out, const char *what, const char *where,
                          sono_error_t *err)
{
   const cJSON *a = field(o, key);
   if (a && !cJSON_IsArray(a))
      return sono_error_set(err, "%s: %s.%s: expected an array", what, where, key);
   *out = a;
   return 0;
}

static int check_optional_strings(const cJSON *o, const char *const *keys, const char *what, const char *where,
                                  sono_error_t *err)
{
   for (; *keys; ++keys) {
      const cJSON *v = field(o, *keys);
      if (v && !cJSON_IsString(v) && !cJSON_IsNull(v))
         return sono_error_set(err, "%s: %s.%s: expected a string", what, where, *keys);
   }
   return 0;
}

static int check_plugin(const cJSON *p, const char *what, int i, sono_error_t *err)
{
   char where[48];
   snprintf(where, sizeof where, "plugins[%d]", i);
   if (!cJSON_IsObject(p))
      return sono_error_set(err, "%s: %s: expected an object", what, where);
   static const char *const required[] = {"id", "version", "sha256", "status"};
   for (size_t k = 0; k < 4; ++k)
      if (need_string(p, required[k], what, where, err))
         return -1;
   static const char *const optional[] = {"name", "vendor", "manifest", "safety_class", "intended_use", "error", NULL};
   return check_optional_strings(p, optional, what, where, err);
}

static int check_finding(const cJSON *f, const char *what, const char *where, sono_error_t *err)
{
   if (!cJSON_IsObject(f))
      return sono_error_set(err, "%s: %s: expected an object", what, where);
   if (need_string(f, "plugin", what, where, err) || need_string(f, "kind", what, where, err) ||
       need_string(f, "status", what, where, err) || need_number(f, "confidence", what, where, err))
      return -1;
   const char *status = field(f, "status")->valuestring;
   if (sono_status_from_name(status) < 0)
      return sono_error_set(err, "%s: %s.status: expected detected, not_detected or indeterminate, got \"%.64s\"", what,
                            where, status);
   double c = field(f, "confidence")->valuedouble;
   if (c < 0.0 || c > 1.0)
      return sono_error_set(err, "%s: %s.confidence: %g is outside [0, 1]", what, where, c);
   static const char *const optional[] = {"label", "basis", "caveat", "advice", NULL};
   return check_optional_strings(f, optional, what, where, err);
}

static int check_measurement(const cJSON *m, const char *what, const char *where, sono_error_t *err)
{
   if (!cJSON_IsObject(m))
      return sono_error_set(err, "%s: %s: expected an object", what, where);
   if (need_string(m, "plugin", what, where, err) || need_string(m, "name", what, where, err) ||
       need_number(m, "value", what, where, err) || need_string(m, "unit", what, where, err))
      return -1;
   return 0;
}

static int check_failure(const cJSON *f, const char *what, const char *where, sono_error_t *err)
{
   if (!cJSON_IsObject(f))
      return sono_error_set(err, "%s: %s: expected an object", what, where);
   if (need_string(f, "plugin", what, where, err) || need_string(f, "status", what, where, err) ||
       need_string(f, "reason", what, where, err))
      return -1;
   if (strcmp(field(f, "status")->valuestring, "failed") != 0)
      return sono_error_set(err, "%s: %s.status: expected \"failed\", got \"%.64s\"", what, where,
                            field(f, "status")->valuestring);
   return 0;
}

static int check_timing(const cJSON *t, const char *what, const char *where, sono_error_t *err)
{
   if (!cJSON_IsObject(t))
      return sono_error_set(err, "%s: %s: expected an object", what, where);
   if (need_string(t, "plugin", what, where, err) || need_number(t, "ns", what, where, err))
      return -1;
   if (field(t, "ns")->valuedouble < 0.0)
      return sono_error_set(err, "%s: %s.ns: %g is negative; expected a duration in nanoseconds", what, where,
                            field(t, "ns")->valuedouble);
   return 0;
}

typedef int (*item_check_fn)(const cJSON *, const char *, const char *, sono_error_t *);

static int check_items(const cJSON *frame, const char *key, item_check_fn check, const char *what, int fi,
                       sono_error_t *err)
{
   char where[80];
   const cJSON *a;
   snprintf(where, sizeof where, "frames[%d]", fi);
   if (optional_array(frame, key, &a, what, where, err))
      return -1;
   int k = 0;
   const cJSON *item;
   cJSON_ArrayForEach(item, a)
   {
      snprintf(where, sizeof where, "frames[%d].%s[%d]", fi, key, k++);
      if (check(item, what, where, err))
         return -1;
   }
   return 0;
}

static int check_frame(const cJSON *f, const char *what, int i, sono_error_t *err)
{
   char where[48];
   snprintf(where, sizeof where, "frames[%d]", i);
   if (!cJSON_IsObject(f))
      return sono_error_set(err, "%s: %s: expected an object", what, where);
   if (need_number(f, "index", what, where, err))
      return -1;
   static const char *const optional[] = {"image", NULL};
   if (check_optional_strings(f, optional, what, where, err))
      return -1;
   const cJSON *spectral = field(f, "spectral");
   if (spectral && (!cJSON_IsObject(spectral) || need_string(spectral, "image", what, where, err)))
      return sono_error_set(err, "%s: %s.spectral: expected {\"image\", \"psv_m_s\", \"edv_m_s\", \"ri\"}", what, where);
   return check_items(f, "findings", check_finding, what, i, err) ||
                check_items(f, "measurements", check_measurement, what, i, err) ||
                check_items(f, "failures", check_failure, what, i, err) ||
                check_items(f, "timings", check_timing, what, i, err)
             ? -1
             : 0;
}

int sono_report_check_results(const cJSON *root, const char *what, sono_error_t *err)
{
   if (!cJSON_IsObject(root))
      return sono_error_set(err, "%s: expected a JSON object", what);
   const cJSON *format = field(root, "format"), *version = field(root, "version");
   if (!cJSON_IsString(format) || strcmp(format->valuestring, "sono.results") != 0)
      return sono_error_set(err, "%s: format: expected \"sono.results\"", what);
   if (!cJSON_IsNumber(version) || version->valuedouble != 1.0)
      return sono_error_set(err, "%s: version: expected 1", what);
   const cJSON *plugins = field(root, "plugins"), *frames = field(root, "frames");
   if (!cJSON_IsArray(plugins))
      return sono_error_set(err, "%s: plugins: expected an array", what);
   if (!cJSON_IsArray(frames))
      return sono_error_set(err, "%s: frames: expected an array", what);
   int i = 0;
   const cJSON *item;
   cJSON_ArrayForEach(item, plugins)
   {
      if (check_plugin(item, what, i++, err))
         return -1;
   }
   i = 0;
   cJSON_ArrayForEach(item, frames)
   {
      if (check_frame(item, what, i++, err))
         return -1;
   }
   return 0;
}
