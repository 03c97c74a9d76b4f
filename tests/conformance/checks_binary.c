/* Checks on the binary itself and on its static description. */
#include <cjson/cJSON.h>
#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <elf.h>
#include <sono/host/host.h>
#include <sono/sdk/names.h>
#include "checks.h"
#include "elfscan.h"

static cf_elf_t elf;

void check_binary_load(void)
{
   cf_lib_t lib;
   if (cf_lib_open(&lib) != 0)
      return;
   if (lib.entry->get_factory("sono.no-such-factory/1"))
      cf_fail("sono_entry.get_factory(\"sono.no-such-factory/1\") returned a factory; NULL expected for an unknown id");
   if (lib.entry->get_factory(SONO_PLUGIN_FACTORY_ID "x"))
      cf_fail("sono_entry.get_factory(\"%sx\") returned a factory; NULL expected for an id with trailing text",
              SONO_PLUGIN_FACTORY_ID);
   cf_note("loaded %s, plugin %s", cf_opt.plugin, lib.desc->id);
   cf_lib_close(&lib);
}

static void version_text(sono_version_t v, char *buf) { sono_version_format(v, buf, 32); }

void check_binary_abi(void)
{
   void *dl = dlopen(cf_opt.plugin, RTLD_NOW | RTLD_LOCAL);
   if (!dl) {
      cf_fail("dlopen(RTLD_NOW|RTLD_LOCAL) failed: %s", dlerror());
      return;
   }
   const sono_plugin_entry_t *entry = dlsym(dl, "sono_entry");
   if (!entry) {
      cf_fail("symbol sono_entry not found");
      dlclose(dl);
      return;
   }
   sono_version_t ours = SONO_ABI_VERSION;
   char v_plugin[32], v_ours[32], v_manifest[32];
   version_text(entry->abi_version, v_plugin);
   version_text(ours, v_ours);
   if (!sono_version_is_compatible(ours, entry->abi_version))
      cf_fail("sono_entry.abi_version is %s, not compatible with ABI %s: a host refuses it "
              "(major %u and minor <= %u required)",
              v_plugin, v_ours, ours.major, ours.minor);
   if (cf_opt.have_manifest) {
      version_text(cf_opt.manifest.abi, v_manifest);
      if (memcmp(&cf_opt.manifest.abi, &entry->abi_version, sizeof ours) != 0)
         cf_fail("%s: field \"abi\" is %s but sono_entry.abi_version is %s", cf_opt.manifest_path, v_manifest,
                 v_plugin);
   }
   dlclose(dl);
   if (cf_failed())
      return;
   cf_note("sono_entry ABI %s, compatible with %s", v_plugin, v_ours);
   cf_lib_t lib;
   if (cf_lib_open(&lib) != 0)
      return;
   char v_desc[32];
   version_text(lib.desc->abi_version, v_desc);
   if (memcmp(&lib.desc->abi_version, &entry->abi_version, sizeof ours) != 0)
      cf_fail("descriptor %s abi_version is %s but sono_entry.abi_version is %s", lib.desc->id, v_desc, v_plugin);
   cf_lib_close(&lib);
}

void check_binary_manifest(void)
{
   if (!cf_opt.have_manifest) {
      cf_fail("no valid manifest: %s", cf_opt.manifest_error);
      return;
   }
   char sha[65];
   sono_error_t err;
   if (sono_sha256_file(cf_opt.plugin, sha, &err) != 0) {
      cf_fail("cannot hash %s: %s", cf_opt.plugin, err.message);
      return;
   }
   if (strcmp(sha, cf_opt.manifest.sha256) != 0) {
      cf_fail("%s: field \"sha256\" is %s but the binary %s hashes to %s", cf_opt.manifest_path,
              cf_opt.manifest.sha256, cf_opt.plugin, sha);
      return;
   }
   /* The host's own load path: manifest, hash, version and descriptor checks. */
   cf_ctx("sono_host_library_load(\"%s\")", cf_opt.manifest_path);
   sono_host_library_t *lib = sono_host_library_load(cf_opt.manifest_path, &err);
   if (!lib) {
      cf_fail("the host refuses to load it: %s", err.message);
      return;
   }
   if (sono_host_library_unload(lib, &err) != 0)
      cf_fail("the host cannot unload it: %s", err.message);
   else
      cf_note("sha256 matches %s; the host loads and unloads it", cf_opt.manifest_path);
}

static int read_elf(void)
{
   if (cf_elf_read(&elf, cf_opt.plugin) != 0) {
      cf_fail("%s", elf.error);
      return -1;
   }
   return 0;
}

void check_binary_exports(void)
{
   if (read_elf() != 0)
      return;
   char extra[2048] = "";
   size_t used = 0;
   unsigned n_extra = 0, have_entry = 0;
   for (unsigned i = 0; i < elf.export_count; ++i) {
      if (strcmp(elf.exports[i], "sono_entry") == 0) {
         have_entry = 1;
         continue;
      }
      if (n_extra++ < 8) {
         int w = snprintf(extra + used, sizeof extra - used, "%s%s", used ? ", " : "", elf.exports[i]);
         if (w > 0 && (size_t)w < sizeof extra - used)
            used += (size_t)w;
      }
   }
   if (!have_entry)
      cf_fail("%s: sono_entry is not in the dynamic symbol table (.dynsym)", cf_opt.plugin);
   if (have_entry && !n_extra)
      cf_note("sono_entry is the only exported symbol");
   if (n_extra)
      cf_fail("%s exports %u symbol(s) besides sono_entry: %s%s (build with -fvisibility=hidden and the "
              "version script of sono_add_plugin)",
              cf_opt.plugin, n_extra, extra, n_extra > 8 ? ", ..." : "");
}

void check_binary_libraries(void)
{
   if (read_elf() != 0)
      return;
   char list[1024] = "";
   for (unsigned i = 0; i < elf.needed_count; ++i)
      snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "", elf.needed[i]);
   cf_note("links %s", elf.needed_count ? list : "nothing");
   /* A sanitizer build of a plugin is a test artefact, never a release: its
    * extra libraries are reported, as WARN, and the release build must pass. */
   int instrumented = strstr(list, "libasan") || strstr(list, "libubsan") || strstr(list, "libtsan");
   for (unsigned i = 0; i < elf.needed_count; ++i) {
      int v = cf_elf_library_verdict(elf.needed[i]);
      if (v == 2 && instrumented)
         cf_warn("%s links %s, which is not on the allow-list; this is a sanitizer build of the plugin, so it is a "
                 "WARN here and the release build must pass", cf_opt.plugin, elf.needed[i]);
      else if (v == 2)
         cf_fail("%s links %s, which is not on the allow-list (libc, libm, libpthread, libdl, librt, libgcc_s, "
                 "libfftw3f, liblapacke/liblapack/libblas/libopenblas)",
                 cf_opt.plugin, elf.needed[i]);
      else if (v == 1)
         cf_warn("%s links %s (a C++ or sanitizer runtime: possible clashes with the host's own copy)",
                 cf_opt.plugin, elf.needed[i]);
   }
}

void check_binary_execstack(void)
{
   if (read_elf() != 0)
      return;
   if (!elf.has_gnu_stack)
      cf_fail("%s has no PT_GNU_STACK header: the loader gives it an executable stack (link with -z noexecstack)",
              cf_opt.plugin);
   else if (elf.stack_flags & PF_X)
      cf_fail("%s asks for an executable stack (PT_GNU_STACK flags include PF_X; link with -z noexecstack)",
              cf_opt.plugin);
   else
      cf_note("PT_GNU_STACK without PF_X");
}

void check_binary_scan_time(void)
{
   uint64_t best = UINT64_MAX;
   for (int round = 0; round < 3; ++round) {
      uint64_t t0 = cf_now_ns();
      cf_lib_t lib;
      if (cf_lib_open(&lib) != 0)
         return;
      cf_lib_close(&lib);
      uint64_t dt = cf_now_ns() - t0;
      if (dt < best)
         best = dt;
   }
   double ms = (double)best / 1e6;
   if (ms > 100.0)
      cf_warn("scan (dlopen, init, read descriptor, deinit, dlclose) took %.1f ms, over the 100 ms budget", ms);
   else
      cf_note("scan took %.2f ms (budget 100 ms)", ms);
}

/* ---- metadata ---------------------------------------------------------------------- */

static void same_text(const char *field, const char *desc_value, const char *manifest_value)
{
   if (!desc_value || strcmp(desc_value, manifest_value) != 0)
      cf_fail("descriptor field %s is \"%s\" but %s: field \"%s\" is \"%s\"", field, desc_value ? desc_value : "(null)",
              cf_opt.manifest_path, field, manifest_value);
}

void check_metadata_descriptor(void)
{
   cf_lib_t lib;
   if (cf_lib_open(&lib) != 0)
      return;
   const sono_plugin_descriptor_t *d = lib.desc;
   if (!cf_opt.have_manifest) {
      cf_fail("no valid manifest to compare with: %s", cf_opt.manifest_error);
   } else {
      const sono_manifest_t *m = &cf_opt.manifest;
      same_text("id", d->id, m->id);
      same_text("name", d->name, m->name);
      same_text("vendor", d->vendor, m->vendor);
      same_text("version", d->version, m->version);
      if (memcmp(&d->abi_version, &m->abi, sizeof m->abi) != 0) {
         char a[32], b[32];
         cf_fail("descriptor abi_version is %s but %s: field \"abi\" is %s", sono_version_format(d->abi_version, a, 32),
                 cf_opt.manifest_path, sono_version_format(m->abi, b, 32));
      }
      if (d->planes_needed != m->planes_needed)
         cf_fail("descriptor planes_needed is 0x%x but %s: field \"planes\" gives 0x%x", d->planes_needed,
                 cf_opt.manifest_path, m->planes_needed);
      if (d->concurrency != m->concurrency)
         cf_fail("descriptor concurrency is \"%s\" but %s: field \"concurrency\" is \"%s\"",
                 sono_concurrency_name(d->concurrency), cf_opt.manifest_path, sono_concurrency_name(m->concurrency));
      if (d->determinism != m->determinism)
         cf_fail("descriptor determinism is \"%s\" but %s: field \"determinism\" is \"%s\"",
                 sono_determinism_name(d->determinism), cf_opt.manifest_path, sono_determinism_name(m->determinism));
   }
   uint32_t count = lib.factory->get_plugin_count(lib.factory);
   if (lib.factory->get_plugin_descriptor(lib.factory, count))
      cf_fail("factory get_plugin_descriptor(%u) (one past the count) returned a descriptor; NULL expected", count);
   char garbage[300];
   snprintf(garbage, sizeof garbage, "%s.trailing", d->id);
   cf_host_t host;
   cf_host_init(&host);
   const sono_plugin_t *p = lib.factory->create_plugin(lib.factory, &host.host, garbage);
   if (p) {
      cf_fail("create_plugin(\"%s\") (an id with trailing text) returned an instance; NULL expected", garbage);
      p->destroy(p);
   }
   if (!cf_failed())
      cf_note("id, name, vendor, version, abi, planes, concurrency and determinism agree with the manifest");
   cf_inst_t inst;
   if (cf_inst_create(&lib, &inst) == 0) {
      if (inst.plugin->desc != d && (!inst.plugin->desc || !inst.plugin->desc->id || strcmp(inst.plugin->desc->id, d->id)))
         cf_fail("the instance's desc does not match the factory's descriptor for %s", d->id);
      cf_inst_destroy(&inst);
   }
   cf_lib_close(&lib);
}

void check_metadata_ids(void)
{
   cf_lib_t lib;
   if (cf_lib_open(&lib) != 0)
      return;
   const sono_plugin_descriptor_t *d = lib.desc;
   sono_version_t v;
   if (!sono_id_is_valid(d->id))
      cf_fail("descriptor id \"%s\" is not a reverse-DNS id (two or more dot-separated labels of [a-z0-9-], "
              "at most 127 characters)", d->id);
   if (!d->version || sono_version_parse(d->version, &v) != 0)
      cf_fail("descriptor version \"%s\" is not \"major.minor.patch\"", d->version ? d->version : "(null)");
   if (!d->name || !d->name[0])
      cf_fail("descriptor name is empty");
   if (!d->vendor || !d->vendor[0])
      cf_fail("descriptor vendor is empty");
   if (!d->description)
      cf_warn("descriptor description is NULL");
   if (d->planes_needed >> SONO_PLANE_KIND_COUNT)
      cf_fail("descriptor planes_needed 0x%x has bits beyond the %d known plane kinds", d->planes_needed,
              SONO_PLANE_KIND_COUNT);
   if (!sono_concurrency_name(d->concurrency))
      cf_fail("descriptor concurrency %d is not a known class", (int)d->concurrency);
   if (!sono_determinism_name(d->determinism))
      cf_fail("descriptor determinism %d is not a known class", (int)d->determinism);
   if (!cf_failed())
      cf_note("id %s, version %s", d->id, d->version);
   cf_lib_close(&lib);
}

static int key_is_valid(const char *key)
{
   if (!key[0])
      return 0;
   for (const char *c = key; *c; ++c)
      if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_' || *c == '.'))
         return 0;
   return 1;
}

void check_metadata_params(void)
{
   cf_lib_t lib;
   cf_inst_t inst;
   if (cf_lib_open(&lib) != 0 || cf_inst_create(&lib, &inst) != 0)
      return;
   const sono_plugin_params_t *pp = inst.params;
   if (!pp) {
      cf_note("no %s extension: nothing to check", SONO_EXT_PARAMS);
   } else {
      uint32_t n = pp->count(inst.plugin);
      sono_param_info_t *info = calloc(n + 1, sizeof *info);
      for (uint32_t i = 0; info && i < n; ++i) {
         sono_param_info_t *p = &info[i];
         if (!pp->get_info(inst.plugin, i, p)) {
            cf_fail("params get_info(%u) returned false for an index below count() = %u", i, n);
            continue;
         }
         p->key[SONO_PARAM_KEY_SIZE - 1] = '\0';
         if (!key_is_valid(p->key))
            cf_fail("parameter %u key \"%s\" is not made of [a-z0-9_.]", i, p->key);
         for (uint32_t j = 0; j < i; ++j)
            if (strcmp(info[j].key, p->key) == 0)
               cf_fail("parameter key \"%s\" is used by parameters %u and %u; keys must be unique", p->key, j, i);
         if (!isfinite(p->min_value) || !isfinite(p->max_value) || !isfinite(p->default_value) ||
             !(p->min_value <= p->default_value && p->default_value <= p->max_value))
            cf_fail("parameter \"%s\": min %g <= default %g <= max %g does not hold", p->key, p->min_value,
                    p->default_value, p->max_value);
         if (p->type == SONO_PARAM_ENUM) {
            char label[64];
            if (p->choice_count == 0)
               cf_fail("enum parameter \"%s\" has choice_count 0", p->key);
            for (uint32_t c = 0; c < p->choice_count; ++c)
               if (!pp->get_choice_label(inst.plugin, i, c, label, sizeof label))
                  cf_fail("enum parameter \"%s\": get_choice_label(%u) returned false", p->key, c);
         }
         if (p->type < SONO_PARAM_FLOAT || p->type > SONO_PARAM_ENUM)
            cf_fail("parameter \"%s\" has unknown type %d", p->key, (int)p->type);
         double v;
         if (!pp->get_value(inst.plugin, p->key, &v))
            cf_fail("parameter \"%s\": get_value returned false", p->key);
         else if (v != p->default_value)
            cf_fail("parameter \"%s\" is %g after init, but its default is %g", p->key, v, p->default_value);
      }
      sono_param_info_t extra;
      if (pp->get_info(inst.plugin, n, &extra))
         cf_fail("params get_info(%u) (= count) returned true; false expected", n);
      free(info);
      cf_note("%u parameter(s) checked", n);
   }
   cf_inst_destroy(&inst);
   cf_lib_close(&lib);
}

/* Extensions the manifest declares in an optional "extensions" array. */
static int declared_extensions(char ids[][64], int max)
{
   FILE *f = fopen(cf_opt.manifest_path, "rb");
   if (!f)
      return 0;
   char *text = malloc(1 << 20);
   size_t n = text ? fread(text, 1, (1 << 20) - 1, f) : 0;
   fclose(f);
   if (!text)
      return 0;
   text[n] = '\0';
   cJSON *root = cJSON_Parse(text);
   free(text);
   int count = 0;
   const cJSON *arr = cJSON_GetObjectItemCaseSensitive(root, "extensions"), *it;
   cJSON_ArrayForEach(it, arr) if (cJSON_IsString(it) && count < max) snprintf(ids[count++], 64, "%s", it->valuestring);
   cJSON_Delete(root);
   return count;
}

void check_metadata_extensions(void)
{
   cf_lib_t lib;
   cf_inst_t inst;
   if (cf_lib_open(&lib) != 0 || cf_inst_create(&lib, &inst) != 0)
      return;
   const sono_plugin_t *p = inst.plugin;
   char ids[16][64];
   int n = cf_opt.have_manifest ? declared_extensions(ids, 16) : 0;
   for (int i = 0; i < n; ++i)
      if (!p->get_extension(p, ids[i]))
         cf_fail("%s: \"extensions\" declares \"%s\" but get_extension(\"%s\") returned NULL", cf_opt.manifest_path,
                 ids[i], ids[i]);
   static const char *const known[] = {SONO_EXT_PARAMS, SONO_EXT_STATE};
   for (int k = 0; k < 2; ++k) {
      const void *a = p->get_extension(p, known[k]);
      if (a && a != p->get_extension(p, known[k]))
         cf_fail("get_extension(\"%s\") returned two different pointers; the same pointer is expected", known[k]);
      char garbage[80];
      snprintf(garbage, sizeof garbage, "%sx", known[k]);
      if (p->get_extension(p, garbage))
         cf_fail("get_extension(\"%s\") (trailing text) returned non-NULL; NULL expected", garbage);
   }
   if (p->get_extension(p, "sono.no-such-extension/1"))
      cf_fail("get_extension(\"sono.no-such-extension/1\") returned non-NULL; NULL expected");
   cf_note("%d declared extension(s) checked", n);
   cf_inst_destroy(&inst);
   cf_lib_close(&lib);
}
