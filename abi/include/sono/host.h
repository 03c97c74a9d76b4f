/* sonoplug ABI: what the host offers a plugin.
 *
 * The host passes a sono_host_t to create_plugin(). Host services are looked
 * up by versioned string id through get_extension() (for example
 * SONO_EXT_LOG, "sono.log/1"); NULL means the host does not provide it. The
 * same id always returns the same pointer while the plugin is loaded.
 *
 * Ownership: the sono_host_t is owned by the host and valid from
 * create_plugin() until the plugin's destroy() returns. The plugin must not
 * call host functions from inside create_plugin(). */
#ifndef SONO_HOST_H
#define SONO_HOST_H

#include "version.h"

SONO_EXTERN_C_BEGIN

typedef struct sono_host {
   sono_version_t abi_version; /* the host's SONO_ABI_VERSION */
   void *host_data;            /* reserved for the host; plugins never touch it */
   const char *name;           /* UTF-8, e.g. "sono-host" */
   const char *vendor;
   const char *version;

   /* Returns the host extension `id`, or NULL when unsupported. The returned
    * pointer is owned by the host and valid while the plugin is alive.
    * [thread-safe] */
   const void *(SONO_ABI *get_extension)(const struct sono_host *host, const char *id);

   /* Asks the host to deactivate and reactivate the plugin (for example
    * after a parameter change that alters buffer sizes). The host does it
    * later, on the main thread, never inside the call.
    * [thread-safe] */
   void(SONO_ABI *request_restart)(const struct sono_host *host);
} sono_host_t;

SONO_EXTERN_C_END

#endif
