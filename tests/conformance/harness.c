/* The harness: loads a plugin binary directly, offers it a minimal host,
 * and drives instances. Every failure is reported with the step that failed
 * and the plugin id, so a check's message is precise without extra code. */
#include <dlfcn.h>
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "conform.h"

cf_options_t cf_opt;

uint64_t cf_now_ns(void)
{
   struct timespec ts;
   clock_gettime(CLOCK_MONOTONIC, &ts);
   return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- rng: xoshiro256** seeded through splitmix64 -------------------------- */

static uint64_t splitmix(uint64_t *x)
{
   uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
   z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
   z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
   return z ^ (z >> 31);
}

void cf_rng_seed(cf_rng_t *r, uint64_t seed, uint64_t stream)
{
   uint64_t x = seed ^ (stream * 0xD1342543DE82EF95ull);
   for (int i = 0; i < 4; ++i)
      r->s[i] = splitmix(&x);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t cf_rng_u64(cf_rng_t *r)
{
   uint64_t *s = r->s;
   uint64_t out = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
   s[2] ^= s[0];
   s[3] ^= s[1];
   s[1] ^= s[2];
   s[0] ^= s[3];
   s[2] ^= t;
   s[3] = rotl(s[3], 45);
   return out;
}

double cf_rng_unit(cf_rng_t *r) { return (double)(cf_rng_u64(r) >> 11) * 0x1.0p-53; }
uint32_t cf_rng_below(cf_rng_t *r, uint32_t n) { return n ? (uint32_t)(cf_rng_unit(r) * n) : 0; }

/* ---- loading --------------------------------------------------------------- */

int cf_lib_open(cf_lib_t *lib)
{
   memset(lib, 0, sizeof *lib);
   cf_ctx("dlopen(\"%s\", RTLD_NOW|RTLD_LOCAL)", cf_opt.plugin);
   lib->dl = dlopen(cf_opt.plugin, RTLD_NOW | RTLD_LOCAL);
   if (!lib->dl) {
      cf_fail("dlopen(RTLD_NOW|RTLD_LOCAL) failed: %s", dlerror());
      return -1;
   }
   lib->entry = dlsym(lib->dl, "sono_entry");
   if (!lib->entry) {
      cf_fail("%s: symbol sono_entry not found", cf_opt.plugin);
      return -1;
   }
   sono_version_t host = SONO_ABI_VERSION;
   if (!sono_version_is_compatible(host, lib->entry->abi_version)) {
      cf_fail("sono_entry.abi_version %u.%u.%u is not compatible with this suite's ABI %u.%u.%u "
              "(same major and minor <= %u expected)",
              lib->entry->abi_version.major, lib->entry->abi_version.minor, lib->entry->abi_version.patch,
              host.major, host.minor, host.patch, host.minor);
      return -1;
   }
   if (!lib->entry->init || !lib->entry->deinit || !lib->entry->get_factory) {
      cf_fail("sono_entry has a NULL init, deinit or get_factory");
      return -1;
   }
   cf_ctx("sono_entry.init(\"%s\")", cf_opt.plugin);
   if (!lib->entry->init(cf_opt.plugin)) {
      cf_fail("sono_entry.init(\"%s\") returned false", cf_opt.plugin);
      return -1;
   }
   lib->initialised = 1;
   cf_ctx("sono_entry.get_factory(\"%s\")", SONO_PLUGIN_FACTORY_ID);
   lib->factory = lib->entry->get_factory(SONO_PLUGIN_FACTORY_ID);
   if (!lib->factory) {
      cf_fail("sono_entry.get_factory(\"%s\") returned NULL", SONO_PLUGIN_FACTORY_ID);
      return -1;
   }
   if (lib->factory->get_plugin_count(lib->factory) < 1) {
      cf_fail("factory get_plugin_count() returned 0");
      return -1;
   }
   lib->desc = lib->factory->get_plugin_descriptor(lib->factory, 0);
   if (!lib->desc || !lib->desc->id) {
      cf_fail("factory get_plugin_descriptor(0) returned %s", lib->desc ? "a descriptor with a NULL id" : "NULL");
      return -1;
   }
   cf_fault_handler_install(lib->desc->id);
   return 0;
}

void cf_lib_close(cf_lib_t *lib)
{
   if (lib->initialised) {
      cf_ctx("sono_entry.deinit()");
      lib->entry->deinit();
   }
   if (lib->dl)
      dlclose(lib->dl);
   memset(lib, 0, sizeof *lib);
}

/* ---- host ------------------------------------------------------------------ */

static void host_log(const sono_host_t *host, sono_log_severity_t severity, const char *message)
{
   cf_host_t *h = host->host_data;
   ++h->logs;
   (void)severity;
   (void)message;
}

static const sono_host_log_t host_log_ext = {host_log};

static const void *host_get_extension(const sono_host_t *host, const char *id)
{
   cf_host_t *h = host->host_data;
   if (h->in_create)
      ++h->calls_in_create;
   if (id && strcmp(id, SONO_EXT_LOG) == 0)
      return &host_log_ext;
   return NULL;
}

static void host_request_restart(const sono_host_t *host)
{
   cf_host_t *h = host->host_data;
   if (h->in_create)
      ++h->calls_in_create;
   ++h->restarts;
}

void cf_host_init(cf_host_t *h)
{
   memset(h, 0, sizeof *h);
   h->host.abi_version = (sono_version_t)SONO_ABI_VERSION;
   h->host.host_data = h;
   h->host.name = "sono-conform";
   h->host.vendor = "sonoplug";
   h->host.version = SONO_VERSION_STRING;
   h->host.get_extension = host_get_extension;
   h->host.request_restart = host_request_restart;
}

/* ---- instances --------------------------------------------------------------- */

int cf_inst_create(cf_lib_t *lib, cf_inst_t *inst)
{
   memset(inst, 0, sizeof *inst);
   cf_host_init(&inst->host);
   inst->host.in_create = 1;
   cf_ctx("factory create_plugin(\"%s\")", lib->desc->id);
   inst->plugin = lib->factory->create_plugin(lib->factory, &inst->host.host, lib->desc->id);
   inst->host.in_create = 0;
   if (!inst->plugin) {
      cf_fail("create_plugin(\"%s\") returned NULL", lib->desc->id);
      return -1;
   }
   if (inst->host.calls_in_create)
      cf_fail("plugin %s called the host %u time(s) inside create_plugin() (not allowed before init)",
              lib->desc->id, inst->host.calls_in_create);
   cf_ctx("plugin %s init()", lib->desc->id);
   if (!inst->plugin->init(inst->plugin)) {
      cf_fail("plugin %s init() returned false", lib->desc->id);
      inst->plugin->destroy(inst->plugin);
      inst->plugin = NULL;
      return -1;
   }
   inst->params = inst->plugin->get_extension(inst->plugin, SONO_EXT_PARAMS);
   inst->state = inst->plugin->get_extension(inst->plugin, SONO_EXT_STATE);
   return 0;
}

int cf_inst_activate(cf_inst_t *inst, const sono_frame_format_t *fmt)
{
   cf_ctx("plugin %s activate(max %ux%u, ensemble %u)", inst->plugin->desc->id, fmt->max_nx, fmt->max_nz,
          fmt->max_ensemble);
   sono_status_t st = inst->plugin->activate(inst->plugin, fmt);
   if (st == SONO_ERROR_UNSUPPORTED) {
      cf_note("activate(%ux%u, ensemble %u) answered UNSUPPORTED", fmt->max_nx, fmt->max_nz, fmt->max_ensemble);
      return 1;
   }
   if (st != SONO_OK) {
      cf_fail("plugin %s activate(max %ux%u, ensemble %u) returned status %d", inst->plugin->desc->id,
              fmt->max_nx, fmt->max_nz, fmt->max_ensemble, (int)st);
      return -1;
   }
   inst->active = 1;
   return 0;
}

void cf_inst_deactivate(cf_inst_t *inst)
{
   if (!inst->active)
      return;
   cf_ctx("plugin %s deactivate()", inst->plugin->desc->id);
   inst->plugin->deactivate(inst->plugin);
   inst->active = 0;
}

void cf_inst_destroy(cf_inst_t *inst)
{
   if (!inst->plugin)
      return;
   cf_inst_deactivate(inst);
   cf_ctx("plugin %s destroy()", inst->plugin->desc->id);
   inst->plugin->destroy(inst->plugin);
   inst->plugin = NULL;
}

/* ---- threads --------------------------------------------------------------------- */

int cf_thread_census(char *names, size_t size)
{
   DIR *d = opendir("/proc/self/task");
   if (!d)
      return -1;
   int count = 0;
   size_t used = 0;
   if (names && size)
      names[0] = '\0';
   struct dirent *e;
   while ((e = readdir(d))) {
      if (e->d_name[0] == '.')
         continue;
      ++count;
      if (!names)
         continue;
      char path[64], comm[64] = "?";
      snprintf(path, sizeof path, "/proc/self/task/%s/comm", e->d_name);
      FILE *f = fopen(path, "r");
      if (f) {
         if (fgets(comm, sizeof comm, f))
            comm[strcspn(comm, "\n")] = '\0';
         fclose(f);
      }
      int n = snprintf(names + used, size - used, "%s'%s' (tid %s)", used ? ", " : "", comm, e->d_name);
      if (n > 0 && (size_t)n < size - used)
         used += (size_t)n;
   }
   closedir(d);
   return count;
}

/* ---- real time -------------------------------------------------------------------- */

int cf_rt_lookup(cf_rt_t *rt)
{
   rt->arm = (void (*)(int))dlsym(RTLD_DEFAULT, "sono_rt_arm");
   rt->report = (int (*)(char *, size_t))dlsym(RTLD_DEFAULT, "sono_rt_report");
   return rt->arm && rt->report ? 0 : -1;
}

int cf_under_sanitizer(void)
{
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
   return 1;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
   return 1;
#else
   return 0;
#endif
#else
   return 0;
#endif
}

const char *cf_signal_name(int sig)
{
   switch (sig) {
   case SIGSEGV: return "SIGSEGV";
   case SIGBUS: return "SIGBUS";
   case SIGABRT: return "SIGABRT";
   case SIGFPE: return "SIGFPE";
   case SIGILL: return "SIGILL";
   case SIGKILL: return "SIGKILL";
   case SIGTERM: return "SIGTERM";
   case SIGTRAP: return "SIGTRAP";
   case SIGSYS: return "SIGSYS";
   case SIGPIPE: return "SIGPIPE";
   default: return "signal";
   }
}
