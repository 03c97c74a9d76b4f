/* sonoplug ABI: the plugin factory, obtained from
 * sono_entry.get_factory(SONO_PLUGIN_FACTORY_ID).
 *
 * Ownership: the factory and the descriptors it returns are owned by the
 * plugin binary and valid until sono_entry.deinit(). */
#ifndef SONO_FACTORY_H
#define SONO_FACTORY_H

#include "plugin.h"

SONO_EXTERN_C_BEGIN

#define SONO_PLUGIN_FACTORY_ID "sono.plugin-factory/1"

typedef struct sono_plugin_factory {
   /* Number of plugins in this binary. [thread-safe] */
   uint32_t(SONO_ABI *get_plugin_count)(const struct sono_plugin_factory *factory);

   /* Descriptor of plugin `index`, or NULL when out of range. [thread-safe] */
   const sono_plugin_descriptor_t *(SONO_ABI *get_plugin_descriptor)(
      const struct sono_plugin_factory *factory, uint32_t index);

   /* Creates an instance of `plugin_id` (exact match, no trailing text), or
    * returns NULL. `host` is host-owned and must stay valid until the
    * instance's destroy() returns. The plugin must not call into `host`
    * from here; it does so from init() on. The instance is owned by the
    * caller and released with plugin->destroy().
    * [main-thread] */
   const sono_plugin_t *(SONO_ABI *create_plugin)(const struct sono_plugin_factory *factory,
                                                  const sono_host_t *host, const char *plugin_id);
} sono_plugin_factory_t;

SONO_EXTERN_C_END

#endif
