/* Libraries for isolated instances: the manifest and the binary's hash are
 * checked in the host, but the binary is opened only in child processes, so
 * nothing the plugin runs at load time (sono_entry.init()) can touch the
 * host. */
#include <stdlib.h>

#include "isolated.h"

sono_host_library_t *sono_host_library_load_isolated(const char *path, sono_error_t *err)
{
   sono_host_library_t *lib = calloc(1, sizeof *lib);
   struct sono_iso_library *iso = calloc(1, sizeof *iso);
   if (!lib || !iso) {
      free(lib);
      free(iso);
      sono_error_set(err, "%s: out of memory", path);
      return NULL;
   }
   char manifest_path[SONO_PATH_SIZE];
   sono_host_manifest_path_for(path, manifest_path, sizeof manifest_path);
   if (sono_manifest_load(manifest_path, &lib->manifest, err) < 0 || sono_host_verify_hash(&lib->manifest, err) < 0) {
      free(lib);
      free(iso);
      return NULL;
   }
   lib->iso = iso;
   return lib;
}
