/* A plugin that does nothing: what is left when timing it is the host's
 * dispatch overhead (sono-bench host). */
#include <stdlib.h>

#include <sono/sdk/plugin_kit.h>

static const sono_plugin_descriptor_t descriptor = {
   SONO_ABI_VERSION, "org.sonoplug.bench.noop", "Bench: no-op", "sonoplug", "1.0.0",
   "Returns immediately; measures host dispatch overhead.", SONO_PLANE_BIT(SONO_PLANE_BMODE),
   SONO_CONCURRENCY_FULLY_SAFE, SONO_DETERMINISM_BIT_EXACT, 0};

static bool noop_init(const sono_plugin_t *p) { (void)p; return true; }
static void noop_destroy(const sono_plugin_t *p) { free((void *)p); }
static sono_status_t noop_activate(const sono_plugin_t *p, const sono_frame_format_t *f)
{
   (void)p;
   (void)f;
   return SONO_OK;
}
static void noop_deactivate(const sono_plugin_t *p) { (void)p; }
static sono_status_t noop_process(const sono_plugin_t *p, const sono_frame_t *f, const sono_output_t *o)
{
   (void)p;
   (void)f;
   (void)o;
   return SONO_OK;
}
static const void *noop_ext(const sono_plugin_t *p, const char *id)
{
   (void)p;
   (void)id;
   return NULL;
}

static const sono_plugin_t *noop_create(const sono_host_t *host)
{
   (void)host;
   sono_plugin_t *p = malloc(sizeof *p);
   if (p)
      *p = (sono_plugin_t){&descriptor,  NULL,          noop_init, noop_destroy, noop_activate,
                           noop_deactivate, noop_process, noop_ext};
   return p;
}

SONO_KIT_DEFINE_ENTRY(descriptor, noop_create);
