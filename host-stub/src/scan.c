/* Listing a plugin folder: every manifest, valid or not, with its error. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static int is_manifest_name(const char *name)
{
   size_t n = strlen(name), k = strlen(".sono.json");
   return n > k && strcmp(name + n - k, ".sono.json") == 0;
}

static int compare_names(const void *a, const void *b)
{
   return strcmp(*(char *const *)a, *(char *const *)b);
}

static int collect_names(const char *dir, char ***names, sono_error_t *err)
{
   DIR *d = opendir(dir);
   if (!d)
      return sono_error_set(err, "%s: cannot list plugin folder: %s", dir, strerror(errno));
   int n = 0, cap = 0;
   char **v = NULL;
   struct dirent *e;
   while ((e = readdir(d))) {
      if (!is_manifest_name(e->d_name))
         continue;
      if (n == cap) {
         cap = cap ? cap * 2 : 16;
         char **nv = realloc(v, sizeof *v * (size_t)cap);
         if (!nv)
            break;
         v = nv;
      }
      v[n++] = strdup(e->d_name);
   }
   closedir(d);
   qsort(v, (size_t)n, sizeof *v, compare_names);
   *names = v;
   return n;
}

static void list_one(const char *dir, const char *name, sono_host_listing_t *out)
{
   char path[SONO_PATH_SIZE];
   sono_error_t err;
   snprintf(path, sizeof path, "%s/%s", dir, name);
   memset(out, 0, sizeof *out);
   out->ok = sono_manifest_load(path, &out->manifest, &err) == 0 && sono_host_verify_hash(&out->manifest, &err) == 0;
   if (!out->ok) {
      snprintf(out->manifest.path, sizeof out->manifest.path, "%s", path);
      snprintf(out->error, sizeof out->error, "%s", err.message);
   }
}

int sono_host_scan(const char *dir, sono_host_listing_t **out, sono_error_t *err)
{
   char **names = NULL;
   int n = collect_names(dir, &names, err);
   if (n < 0)
      return -1;
   *out = calloc(n ? (size_t)n : 1, sizeof **out);
   for (int i = 0; i < n; ++i) {
      if (*out)
         list_one(dir, names[i], &(*out)[i]);
      free(names[i]);
   }
   free(names);
   if (!*out)
      return sono_error_set(err, "%s: out of memory listing plugins", dir);
   return n;
}
