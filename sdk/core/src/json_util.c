#include "json_util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Manifests and headers are small; a cap keeps a wrong path (a multi-GB
 * binary) from being read into memory. */
#define SONO_JSON_MAX_BYTES (64u << 20)

static char *read_file(const char *path, size_t *len, sono_error_t *err)
{
   FILE *f = fopen(path, "rb");
   if (!f) {
      sono_error_set(err, "%s: cannot open: %s", path, strerror(errno));
      return NULL;
   }
   char *buf = NULL;
   size_t cap = 0, n = 0;
   for (;;) {
      if (n + 4096 + 1 > cap) {
         cap = cap ? cap * 2 : 8192;
         char *nb = cap <= SONO_JSON_MAX_BYTES ? realloc(buf, cap) : NULL;
         if (!nb) {
            sono_error_set(err, "%s: larger than %u bytes, not a JSON header", path, SONO_JSON_MAX_BYTES);
            free(buf);
            fclose(f);
            return NULL;
         }
         buf = nb;
      }
      size_t got = fread(buf + n, 1, cap - n - 1, f);
      n += got;
      if (got == 0)
         break;
   }
   int bad = ferror(f);
   fclose(f);
   if (bad) {
      sono_error_set(err, "%s: read error", path);
      free(buf);
      return NULL;
   }
   buf[n] = '\0';
   *len = n;
   return buf;
}

cJSON *sono_json_parse_file(const char *path, sono_error_t *err)
{
   size_t len = 0;
   char *text = read_file(path, &len, err);
   if (!text)
      return NULL;
   const char *end = NULL;
   cJSON *root = cJSON_ParseWithLengthOpts(text, len + 1, &end, 1);
   if (!root) {
      size_t at = end && end >= text ? (size_t)(end - text) : 0;
      int line = 1;
      for (size_t i = 0; i < at && i < len; ++i)
         line += text[i] == '\n';
      sono_error_set(err, "%s: not valid JSON: syntax error near line %d (byte %zu)", path, line, at);
   }
   free(text);
   return root;
}

int sono_json_get_string(const cJSON *obj, const char *path, const char *field, const char **out, sono_error_t *err)
{
   const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, field);
   if (!item)
      return sono_error_set(err, "%s: field \"%s\" is missing: expected a string", path, field);
   if (!cJSON_IsString(item))
      return sono_error_set(err, "%s: field \"%s\": expected a string", path, field);
   *out = item->valuestring;
   return 0;
}

int sono_json_get_number(const cJSON *obj, const char *path, const char *field, double *out, sono_error_t *err)
{
   const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, field);
   if (!item)
      return sono_error_set(err, "%s: field \"%s\" is missing: expected a number", path, field);
   if (!cJSON_IsNumber(item))
      return sono_error_set(err, "%s: field \"%s\": expected a number", path, field);
   *out = item->valuedouble;
   return 0;
}
