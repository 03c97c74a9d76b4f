/* Loading a plugin binary: manifest first, then hash, dlopen, the one
 * symbol, version negotiation (DESIGN.md rule 2) and descriptor checks. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sono/sdk/names.h>

#include "isolated.h"

void sono_host_manifest_path_for(const char *path, char *out, size_t size)
{
   size_t n = strlen(path);
   if (n > 3 && strcmp(path + n - 3, ".so") == 0)
      snprintf(out, size, "%.*s.sono.json", (int)(n - 3), path);
   else
      snprintf(out, size, "%s", path);
}

int sono_host_verify_hash(const sono_manifest_t *m, sono_error_t *err)
{
   char actual[65];
   if (sono_sha256_file(m->binary_path, actual, err) < 0)
      return sono_error_prefix(err, "%s: field \"binary\"", m->path);
   if (strcmp(actual, m->sha256) != 0)
      return sono_error_set(err,
                            "%s: field \"sha256\": manifest says %.12s..., but %s hashes to %.12s... "
                            "(binary changed after the manifest was written)",
                            m->path, m->sha256, m->binary_path, actual);
   return 0;
}

int sono_host_check_abi(sono_version_t host, sono_version_t plugin, const char *what, sono_error_t *err)
{
   char hv[32], pv[32];
   sono_version_format(host, hv, sizeof hv);
   sono_version_format(plugin, pv, sizeof pv);
   if (plugin.major != host.major)
      return sono_error_set(err, "%s: sono_entry.abi_version: plugin ABI %s, host ABI %s: majors differ, refused",
                            what, pv, hv);
   if (plugin.minor > host.minor)
      return sono_error_set(err,
                            "%s: sono_entry.abi_version: plugin ABI %s is newer than host ABI %s "
                            "(plugin minor %u > host minor %u), refused",
                            what, pv, hv, plugin.minor, host.minor);
   return 0;
}

static int negotiate_version(const sono_host_library_t *lib, sono_error_t *err)
{
   sono_version_t plugin = lib->entry->abi_version, m = lib->manifest.abi;
   if (sono_host_check_abi((sono_version_t)SONO_ABI_VERSION, plugin, lib->manifest.binary_path, err) < 0)
      return -1;
   char mv[32], pv[32];
   if (m.major != plugin.major || m.minor != plugin.minor || m.patch != plugin.patch)
      return sono_error_set(err, "%s: field \"abi\": manifest says %s but the binary declares ABI %s",
                            lib->manifest.path, sono_version_format(m, mv, sizeof mv),
                            sono_version_format(plugin, pv, sizeof pv));
   return 0;
}

static const sono_plugin_descriptor_t *find_descriptor(const sono_host_library_t *lib, const char *id)
{
   uint32_t n = lib->factory->get_plugin_count(lib->factory);
   for (uint32_t i = 0; i < n; ++i) {
      const sono_plugin_descriptor_t *d = lib->factory->get_plugin_descriptor(lib->factory, i);
      if (d && d->id && (!id || strcmp(d->id, id) == 0))
         return d;
   }
   return NULL;
}

static int check_descriptor(const sono_host_library_t *lib, sono_error_t *err)
{
   const sono_manifest_t *m = &lib->manifest;
   const sono_plugin_descriptor_t *d = find_descriptor(lib, m->id);
   if (!d)
      return sono_error_set(err, "%s: field \"id\": \"%s\" is not a plugin of %s", m->path, m->id, m->binary_path);
   if (!d->version || strcmp(d->version, m->version) != 0)
      return sono_error_set(err, "%s: field \"version\": manifest says %s, the binary's descriptor says %s", m->path,
                            m->version, d->version ? d->version : "(none)");
   if (d->planes_needed != m->planes_needed)
      return sono_error_set(err, "%s: field \"planes\": manifest mask 0x%x differs from the descriptor's 0x%x",
                            m->path, m->planes_needed, d->planes_needed);
   return 0;
}

static int open_binary(sono_host_library_t *lib, sono_error_t *err)
{
   const char *bin = lib->manifest.binary_path;
   dlerror();
   lib->dl = dlopen(bin, RTLD_NOW | RTLD_LOCAL);
   if (!lib->dl)
      return sono_error_set(err, "%s: dlopen(RTLD_NOW|RTLD_LOCAL) failed: %s", bin, dlerror());
   lib->entry = dlsym(lib->dl, "sono_entry");
   if (!lib->entry)
      return sono_error_set(err, "%s: symbol sono_entry not found: not a sonoplug plugin", bin);
   if (negotiate_version(lib, err) < 0)
      return -1;
   if (!lib->entry->init || !lib->entry->deinit || !lib->entry->get_factory)
      return sono_error_set(err, "%s: sono_entry: init, deinit and get_factory must all be set", bin);
   if (!lib->entry->init(bin))
      return sono_error_set(err, "%s: sono_entry.init() returned false", bin);
   lib->initialised = 1;
   lib->factory = lib->entry->get_factory(SONO_PLUGIN_FACTORY_ID);
   if (!lib->factory || !lib->factory->get_plugin_count || !lib->factory->get_plugin_descriptor ||
       !lib->factory->create_plugin)
      return sono_error_set(err, "%s: get_factory(\"%s\") returned no complete factory", bin, SONO_PLUGIN_FACTORY_ID);
   return check_descriptor(lib, err);
}

static void close_binary(sono_host_library_t *lib)
{
   if (lib->initialised)
      lib->entry->deinit();
   if (lib->dl)
      dlclose(lib->dl);
}

sono_host_library_t *sono_host_library_load(const char *path, sono_error_t *err)
{
   sono_host_library_t *lib = calloc(1, sizeof *lib);
   if (!lib) {
      sono_error_set(err, "%s: out of memory", path);
      return NULL;
   }
   char manifest_path[SONO_PATH_SIZE];
   sono_host_manifest_path_for(path, manifest_path, sizeof manifest_path);
   if (sono_manifest_load(manifest_path, &lib->manifest, err) < 0 || sono_host_verify_hash(&lib->manifest, err) < 0 ||
       open_binary(lib, err) < 0) {
      close_binary(lib);
      free(lib);
      return NULL;
   }
   return lib;
}

int sono_host_library_unload(sono_host_library_t *lib, sono_error_t *err)
{
   if (!lib)
      return 0;
   if (lib->live_instances)
      return sono_error_set(err, "%s: unload refused: %u instance(s) still alive; destroy them first",
                            lib->manifest.binary_path, lib->live_instances);
   close_binary(lib);
   free(lib->iso);
   free(lib);
   return 0;
}

const sono_manifest_t *sono_host_library_manifest(const sono_host_library_t *lib) { return &lib->manifest; }

uint32_t sono_host_library_plugin_count(const sono_host_library_t *lib)
{
   if (lib->iso) /* never dlopen'ed here: what the first child reported */
      return lib->iso->described ? lib->iso->plugin_count : 0;
   return lib->factory->get_plugin_count(lib->factory);
}

const sono_plugin_descriptor_t *sono_host_library_descriptor(const sono_host_library_t *lib, uint32_t index)
{
   if (lib->iso)
      return lib->iso->described && index == 0 ? &lib->iso->desc : NULL;
   return lib->factory->get_plugin_descriptor(lib->factory, index);
}
