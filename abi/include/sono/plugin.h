/* sonoplug ABI: a plugin instance, its descriptor and its lifecycle.
 *
 * Lifecycle (the host enforces it; a call out of order is refused by the
 * host and never reaches the plugin):
 *
 *   create_plugin -> init -> activate(format) -> process* -> deactivate
 *                                ^                                |
 *                                +-------- (reactivate) ----------+
 *                    -> destroy (from "initialised" or "created")
 *
 * Allocation is allowed in init() and activate(); process() must not
 * allocate, lock, sleep or make blocking system calls (real-time contract,
 * checked by sono-conform).
 *
 * Threads: "main-thread" is the thread that created the instance.
 * "processing-thread" is a role, not a fixed OS thread: the host guarantees
 * that process() calls on one instance never overlap. Whether two instances
 * may process concurrently is the plugin's declared concurrency class. */
#ifndef SONO_PLUGIN_H
#define SONO_PLUGIN_H

#include <stdbool.h>
#include <stdint.h>
#include "events.h"
#include "frame.h"
#include "host.h"
#include "version.h"

SONO_EXTERN_C_BEGIN

typedef int32_t sono_concurrency_t;
enum {
   /* Distinct instances may process concurrently; one instance never
    * receives overlapping calls. */
   SONO_CONCURRENCY_INSTANCE_SAFE = 0,
   /* Only one instance of the plugin may process at a time. */
   SONO_CONCURRENCY_UNSAFE = 1,
   /* Any number of instances, concurrently, with no shared mutable state. */
   SONO_CONCURRENCY_FULLY_SAFE = 2
};

typedef int32_t sono_determinism_t;
enum {
   SONO_DETERMINISM_BIT_EXACT = 0,     /* same frames -> byte-identical events */
   SONO_DETERMINISM_TOLERANCE = 1,     /* same frames -> events within tolerance */
   SONO_DETERMINISM_NONE = 2
};

typedef int32_t sono_status_t;
enum {
   SONO_OK = 0,
   SONO_ERROR = 1,            /* the call failed; the instance state is unchanged */
   SONO_ERROR_UNSUPPORTED = 2, /* the request (format, value) is not supported */
   SONO_ERROR_INVALID = 3     /* an argument is out of range or malformed */
};

/* Static description of a plugin. Owned by the plugin, valid until the
 * binary's deinit(). Strings are UTF-8. */
typedef struct sono_plugin_descriptor {
   sono_version_t abi_version;        /* SONO_ABI_VERSION */
   const char *id;                    /* reverse DNS: "org.sonoplug.example" */
   const char *name;
   const char *vendor;
   const char *version;               /* "major.minor.patch" */
   const char *description;
   uint32_t planes_needed;            /* mask of SONO_PLANE_BIT(kind) */
   sono_concurrency_t concurrency;
   sono_determinism_t determinism;
   uint32_t reserved;
} sono_plugin_descriptor_t;

typedef struct sono_plugin {
   const sono_plugin_descriptor_t *desc; /* owned by the plugin */
   void *plugin_data;                     /* reserved for the plugin */

   /* Second construction step; host callbacks may be used from here on.
    * [main-thread & created] */
   bool(SONO_ABI *init)(const struct sono_plugin *plugin);

   /* Frees the instance. The pointer is invalid afterwards.
    * [main-thread & (created | initialised)] */
   void(SONO_ABI *destroy)(const struct sono_plugin *plugin);

   /* Prepares for frames no larger than `format` describes: allocate every
    * buffer here. `format` is host-owned, valid during the call only.
    * Returns SONO_OK, or SONO_ERROR_UNSUPPORTED when the format cannot be
    * processed.
    * [main-thread & initialised] */
   sono_status_t(SONO_ABI *activate)(const struct sono_plugin *plugin, const sono_frame_format_t *format);

   /* Releases what activate() allocated.
    * [main-thread & active] */
   void(SONO_ABI *deactivate)(const struct sono_plugin *plugin);

   /* Analyses one frame and pushes events to `out`. `frame` and `out` are
    * host-owned, read-only and valid during the call only. Returns SONO_OK,
    * or SONO_ERROR if the frame could not be analysed (the host records a
    * failure for this plugin and frame).
    * [processing-thread & active] */
   sono_status_t(SONO_ABI *process)(const struct sono_plugin *plugin, const sono_frame_t *frame,
                                    const sono_output_t *out);

   /* Returns the plugin extension `id` (e.g. SONO_EXT_PARAMS), or NULL.
    * The pointer is owned by the plugin and valid until destroy().
    * [thread-safe & (initialised | active)] */
   const void *(SONO_ABI *get_extension)(const struct sono_plugin *plugin, const char *id);
} sono_plugin_t;

SONO_EXTERN_C_END

#endif
