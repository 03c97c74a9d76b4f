/* sono-bench host: the cost the host adds to one in-process process() call
 * (lifecycle check, event-store reset, timing, the indirect call), measured
 * against calling the same no-op plugin's process() directly.
 * Target (issue: ABI v1): overhead < 100 ns per call. */
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include <sono/host/host.h>

#include "timing.h"

#define CALLS 200000

typedef struct direct_ctx {
   const sono_plugin_t *plugin;
   const sono_frame_t *frame;
   const sono_output_t *out;
} direct_ctx;

static void direct_calls(void *c)
{
   direct_ctx *d = c;
   for (int i = 0; i < CALLS; ++i)
      d->plugin->process(d->plugin, d->frame, d->out);
}

typedef struct host_ctx {
   sono_host_instance_t *inst;
   const sono_frame_t *frame;
} host_ctx;

static void host_calls(void *c)
{
   host_ctx *h = c;
   sono_error_t err;
   for (int i = 0; i < CALLS; ++i)
      sono_host_instance_process(h->inst, h->frame, &err);
}

static bool no_push(const sono_output_t *o, const sono_event_header_t *e)
{
   (void)o;
   (void)e;
   return true;
}

static const sono_plugin_t *direct_plugin(const char *so, void **dl)
{
   static const sono_host_t host = {SONO_ABI_VERSION, NULL, "bench", "sonoplug", "1", NULL, NULL};
   *dl = dlopen(so, RTLD_NOW | RTLD_LOCAL);
   const sono_plugin_entry_t *e = *dl ? dlsym(*dl, "sono_entry") : NULL;
   if (!e || !e->init(so))
      return NULL;
   const sono_plugin_factory_t *f = e->get_factory(SONO_PLUGIN_FACTORY_ID);
   const sono_plugin_t *p = f->create_plugin(f, &host, "org.sonoplug.bench.noop");
   return p && p->init(p) ? p : NULL;
}

int sono_bench_host(int argc, char **argv)
{
   (void)argc;
   (void)argv;
   char so[4096];
   snprintf(so, sizeof so, "%s/noop_plugin.so", SONO_BENCH_PLUGIN_DIR);
   sono_error_t err;
   sono_host_library_t *lib = sono_host_library_load(so, &err);
   sono_host_instance_t *inst = lib ? sono_host_instance_create(lib, NULL, NULL, &err) : NULL;
   static uint8_t px[64 * 64];
   sono_plane_t plane = {sizeof plane, SONO_PLANE_BMODE, SONO_DTYPE_UINT8, {64, 64, 1}, {1, 64, 0}, px};
   sono_frame_t frame;
   memset(&frame, 0, sizeof frame);
   frame.struct_size = sizeof frame;
   frame.plane_count = 1;
   frame.planes = &plane;
   frame.grid = (sono_grid_t){64, 64, 1e-4, 1e-4, 0, 0};
   sono_frame_format_t fmt;
   memset(&fmt, 0, sizeof fmt);
   fmt.struct_size = sizeof fmt;
   fmt.planes_available = SONO_PLANE_BIT(SONO_PLANE_BMODE);
   fmt.max_nx = fmt.max_nz = 64;
   if (!inst || sono_host_instance_activate(inst, &fmt, &err) < 0) {
      fprintf(stderr, "sono-bench host: %s\n", err.message);
      return 1;
   }
   void *dl = NULL;
   sono_output_t out = {NULL, no_push};
   direct_ctx d = {direct_plugin(so, &dl), &frame, &out};
   host_ctx h = {inst, &frame};
   if (!d.plugin) {
      fprintf(stderr, "sono-bench host: cannot open %s directly\n", so);
      return 1;
   }
   bench_stats_t sd = bench_run(direct_calls, &d, 2, 15);
   bench_stats_t sh = bench_run(host_calls, &h, 2, 15);
   double direct_ns = sd.median_s / CALLS * 1e9, host_ns = sh.median_s / CALLS * 1e9;
   double overhead_ns = host_ns - direct_ns;
   printf("in-process dispatch, no-op plugin, %d calls per run, median of 15 runs\n", CALLS);
   printf("  direct plugin->process() call      %8.1f ns\n", direct_ns);
   printf("  sono_host_instance_process()       %8.1f ns  (%.1fx the direct call)\n", host_ns, host_ns / direct_ns);
   printf("  host overhead per call             %8.1f ns  target < 100 ns: %s\n", overhead_ns,
          overhead_ns < 100 ? "MET" : "MISSED");
   sono_host_instance_destroy(inst);
   sono_host_library_unload(lib, &err);
   return 0;
}
