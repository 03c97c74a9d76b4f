#include <sono/sdk/manifest.h>
#include <sono/sdk/names.h>

#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_util.h"

static int copy_required_string(const cJSON *root, const char *path, const char *field, char *dst, size_t size,
                                sono_error_t *err)
{
   const char *s;
   if (sono_json_get_string(root, path, field, &s, err) < 0)
      return -1;
   if (!*s)
      return sono_error_set(err, "%s: field \"%s\": expected a non-empty string", path, field);
   if (strlen(s) >= size)
      return sono_error_set(err, "%s: field \"%s\": longer than %zu bytes", path, field, size - 1);
   memcpy(dst, s, strlen(s) + 1);
   return 0;
}

static int parse_planes(const cJSON *root, const char *path, uint32_t *mask, sono_error_t *err)
{
   const cJSON *planes = cJSON_GetObjectItemCaseSensitive(root, "planes");
   if (!planes)
      return sono_error_set(err, "%s: field \"planes\" is missing: expected an array of plane names", path);
   if (!cJSON_IsArray(planes))
      return sono_error_set(err, "%s: field \"planes\": expected an array of plane names", path);
   *mask = 0;
   int i = 0;
   const cJSON *item;
   cJSON_ArrayForEach(item, planes)
   {
      int kind = cJSON_IsString(item) ? sono_plane_kind_from_name(item->valuestring) : -1;
      if (kind < 0)
         return sono_error_set(err,
                               "%s: field \"planes[%d]\": expected one of iq, rf, bmode, velocity, power, "
                               "variance, spectrogram",
                               path, i);
      *mask |= SONO_PLANE_BIT(kind);
      ++i;
   }
   return 0;
}

static int parse_enum(const cJSON *root, const char *path, const char *field, int (*from_name)(const char *),
                      const char *expected, int32_t *out, sono_error_t *err)
{
   const char *s;
   if (sono_json_get_string(root, path, field, &s, err) < 0)
      return -1;
   int v = from_name(s);
   if (v < 0)
      return sono_error_set(err, "%s: field \"%s\": \"%s\" is not one of %s", path, field, s, expected);
   *out = v;
   return 0;
}

static int parse_abi(const cJSON *root, const char *path, sono_version_t *abi, sono_error_t *err)
{
   const char *s;
   if (sono_json_get_string(root, path, "abi", &s, err) < 0)
      return -1;
   if (sono_version_parse(s, abi) < 0)
      return sono_error_set(err, "%s: field \"abi\": \"%s\" is not a version major.minor.patch", path, s);
   if (abi->major != SONO_VERSION_MAJOR)
      return sono_error_set(err, "%s: field \"abi\": unknown ABI %s; this SDK implements ABI %s (major %d)", path,
                            s, SONO_VERSION_STRING, SONO_VERSION_MAJOR);
   return 0;
}

static int resolve_binary(const cJSON *root, const char *path, char *out, size_t size, sono_error_t *err)
{
   const char *bin;
   if (sono_json_get_string(root, path, "binary", &bin, err) < 0)
      return -1;
   if (!*bin || strchr(bin, '/'))
      return sono_error_set(err, "%s: field \"binary\": expected a file name beside the manifest, got \"%s\"",
                            path, bin);
   const char *slash = strrchr(path, '/');
   int dir_len = slash ? (int)(slash - path + 1) : 0;
   if ((size_t)snprintf(out, size, "%.*s%s", dir_len, path, bin) >= size)
      return sono_error_set(err, "%s: field \"binary\": path too long", path);
   return 0;
}

static int parse_sha(const cJSON *root, const char *path, char *out, sono_error_t *err)
{
   const char *s;
   if (sono_json_get_string(root, path, "sha256", &s, err) < 0)
      return -1;
   size_t n = strlen(s);
   int hex = n == 64;
   for (size_t i = 0; hex && i < n; ++i)
      hex = isxdigit((unsigned char)s[i]);
   if (!hex)
      return sono_error_set(err, "%s: field \"sha256\": expected 64 hex digits, got %zu characters", path, n);
   for (size_t i = 0; i < 64; ++i)
      out[i] = (char)tolower((unsigned char)s[i]);
   out[64] = '\0';
   return 0;
}

static int parse_cost(const cJSON *root, const char *path, double *cost_s, sono_error_t *err)
{
   double ms;
   if (sono_json_get_number(root, path, "cost_per_frame_ms", &ms, err) < 0)
      return -1;
   if (!(ms > 0) || !isfinite(ms))
      return sono_error_set(err, "%s: field \"cost_per_frame_ms\": expected a positive number, got %g", path, ms);
   *cost_s = ms * 1e-3;
   return 0;
}

static int parse_optional(const cJSON *root, const char *path, sono_manifest_t *m, sono_error_t *err)
{
   const cJSON *iso = cJSON_GetObjectItemCaseSensitive(root, "may_isolate");
   if (iso && !cJSON_IsBool(iso))
      return sono_error_set(err, "%s: field \"may_isolate\": expected true or false", path);
   m->may_isolate = !iso || cJSON_IsTrue(iso);
   const cJSON *use = cJSON_GetObjectItemCaseSensitive(root, "intended_use");
   if (use && !cJSON_IsString(use))
      return sono_error_set(err, "%s: field \"intended_use\": expected a string", path);
   if (use)
      snprintf(m->intended_use, sizeof m->intended_use, "%s", use->valuestring);
   const char *cls;
   if (sono_json_get_string(root, path, "safety_class", &cls, err) < 0)
      return -1;
   if (strcmp(cls, "A") && strcmp(cls, "B") && strcmp(cls, "C"))
      return sono_error_set(err, "%s: field \"safety_class\": expected \"A\", \"B\" or \"C\" (IEC 62304), got \"%s\"",
                            path, cls);
   snprintf(m->safety_class, sizeof m->safety_class, "%s", cls);
   return 0;
}

static int parse_manifest(const cJSON *root, const char *path, sono_manifest_t *m, sono_error_t *err)
{
   const char *schema;
   if (sono_json_get_string(root, path, "schema", &schema, err) < 0)
      return -1;
   if (strcmp(schema, SONO_MANIFEST_SCHEMA) != 0)
      return sono_error_set(err, "%s: field \"schema\": expected \"%s\", got \"%s\"", path, SONO_MANIFEST_SCHEMA,
                            schema);
   if (copy_required_string(root, path, "id", m->id, sizeof m->id, err) < 0)
      return -1;
   if (!sono_id_is_valid(m->id))
      return sono_error_set(err, "%s: field \"id\": \"%s\" is not a reverse-DNS id like org.vendor.name", path,
                            m->id);
   sono_version_t v;
   if (copy_required_string(root, path, "name", m->name, sizeof m->name, err) < 0 ||
       copy_required_string(root, path, "vendor", m->vendor, sizeof m->vendor, err) < 0 ||
       copy_required_string(root, path, "version", m->version, sizeof m->version, err) < 0)
      return -1;
   if (sono_version_parse(m->version, &v) < 0)
      return sono_error_set(err, "%s: field \"version\": \"%s\" is not major.minor.patch", path, m->version);
   int32_t det = 0, conc = 0; /* set by parse_enum on success; initialised for the optimiser */
   if (parse_abi(root, path, &m->abi, err) < 0 || resolve_binary(root, path, m->binary_path, sizeof m->binary_path, err) < 0 ||
       parse_sha(root, path, m->sha256, err) < 0 || parse_planes(root, path, &m->planes_needed, err) < 0 ||
       parse_cost(root, path, &m->cost_per_frame_s, err) < 0 ||
       parse_enum(root, path, "determinism", sono_determinism_from_name, "bit-exact, tolerance, none", &det, err) < 0 ||
       parse_enum(root, path, "concurrency", sono_concurrency_from_name, "instance-safe, unsafe, fully-safe", &conc,
                  err) < 0 ||
       parse_optional(root, path, m, err) < 0)
      return -1;
   m->determinism = det;
   m->concurrency = conc;
   return 0;
}

int sono_manifest_load(const char *path, sono_manifest_t *out, sono_error_t *err)
{
   memset(out, 0, sizeof *out);
   if (strlen(path) >= sizeof out->path)
      return sono_error_set(err, "%s: path too long", path);
   memcpy(out->path, path, strlen(path) + 1);
   cJSON *root = sono_json_parse_file(path, err);
   if (!root)
      return -1;
   int rc = 0;
   if (!cJSON_IsObject(root))
      rc = sono_error_set(err, "%s: expected a JSON object at the top level", path);
   else
      rc = parse_manifest(root, path, out, err);
   cJSON_Delete(root);
   return rc;
}

bool sono_id_is_valid(const char *id)
{
   size_t n = id ? strlen(id) : 0;
   if (n == 0 || n > 127)
      return false;
   int labels = 1;
   size_t label_len = 0;
   for (size_t i = 0; i < n; ++i) {
      char c = id[i];
      if (c == '.') {
         if (label_len == 0)
            return false;
         ++labels;
         label_len = 0;
      } else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-') {
         ++label_len;
      } else {
         return false;
      }
   }
   return label_len > 0 && labels >= 2;
}

int sono_sha256_file(const char *path, char hex[65], sono_error_t *err)
{
   FILE *f = fopen(path, "rb");
   if (!f)
      return sono_error_set(err, "%s: cannot open for hashing: %s", path, strerror(errno));
   EVP_MD_CTX *ctx = EVP_MD_CTX_new();
   int ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
   unsigned char buf[65536];
   size_t n;
   while (ok && (n = fread(buf, 1, sizeof buf, f)) > 0)
      ok = EVP_DigestUpdate(ctx, buf, n);
   int read_error = ferror(f);
   fclose(f);
   unsigned char md[32];
   unsigned int md_len = 0;
   ok = ok && !read_error && EVP_DigestFinal_ex(ctx, md, &md_len) && md_len == 32;
   EVP_MD_CTX_free(ctx);
   if (!ok)
      return sono_error_set(err, "%s: reading for hashing failed", path);
   for (int i = 0; i < 32; ++i)
      snprintf(hex + 2 * i, 3, "%02x", md[i]);
   return 0;
}
