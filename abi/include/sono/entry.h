/* sonoplug ABI: the single exported symbol of a plugin binary.
 *
 * A plugin shared object exports exactly one symbol, `sono_entry`, a const
 * struct whose first field is the ABI version the plugin was built with. The
 * host resolves nothing else (dlopen(RTLD_NOW|RTLD_LOCAL) then
 * dlsym("sono_entry")). Build with -fvisibility=hidden and a version script
 * (`global: sono_entry; local: *;`); sono_add_plugin() in CMake does both.
 *
 * Lifetime: the struct lives as long as the binary is loaded.
 * Ownership: owned by the plugin binary; the host never writes it.
 * Threading: see the tag on each member. */
#ifndef SONO_ENTRY_H
#define SONO_ENTRY_H

#include <stdbool.h>
#include "version.h"

SONO_EXTERN_C_BEGIN

typedef struct sono_plugin_entry {
   /* The ABI version the binary was compiled against: SONO_ABI_VERSION.
    * The host reads it before calling anything else. */
   sono_version_t abi_version;

   /* Called once after dlopen, before anything else. `plugin_path` is the
    * absolute path of the shared object (UTF-8, owned by the host, valid
    * during the call only). Must be fast: no UI, no network, no threads
    * that outlive deinit(). Returns false if the binary cannot be used; the
    * host then unloads it without calling deinit().
    * It must tolerate being called again after deinit().
    * [main-thread & loaded] */
   bool(SONO_ABI *init)(const char *plugin_path);

   /* Called once before dlclose. Must join every thread the binary started:
    * the host unloads the code right after it returns.
    * [main-thread & initialised & no instance alive] */
   void(SONO_ABI *deinit)(void);

   /* Returns the factory named `factory_id` (for example
    * SONO_PLUGIN_FACTORY_ID), or NULL when the id is unknown, including ids
    * with trailing text. The returned pointer is owned by the plugin and
    * valid until deinit().
    * [thread-safe & initialised] */
   const void *(SONO_ABI *get_factory)(const char *factory_id);
} sono_plugin_entry_t;

/* The one exported symbol; defined by every plugin. */
SONO_EXPORT extern const sono_plugin_entry_t sono_entry;

SONO_EXTERN_C_END

#endif
