/* sonoplug ABI: version numbers and the compatibility rule.
 *
 * SONO_ABI_VERSION is major.minor.patch. A host loads a plugin whose major
 * equals the host's and whose minor is <= the host's; anything else is
 * refused with an error naming both versions (docs/abi.md, "Versioning").
 * Core structs never change inside a major version: growth happens through
 * extensions looked up by versioned string id, or at the end of plain data
 * structs that start with `uint32_t struct_size`.
 *
 * Ownership: plain values. Threading: everything here is pure and
 * thread-safe. */
#ifndef SONO_VERSION_H
#define SONO_VERSION_H

#include <stdint.h>
#include "private/macros.h"

SONO_EXTERN_C_BEGIN

#define SONO_VERSION_MAJOR 1
#define SONO_VERSION_MINOR 0
#define SONO_VERSION_PATCH 0
#define SONO_VERSION_STRING "1.0.0"

typedef struct sono_version {
   uint32_t major;
   uint32_t minor;
   uint32_t patch;
} sono_version_t;

/* Initialiser for a sono_version_t holding the version these headers define. */
#define SONO_ABI_VERSION {SONO_VERSION_MAJOR, SONO_VERSION_MINOR, SONO_VERSION_PATCH}

/* Returns non-zero when a plugin built against `plugin` can be loaded by a
 * host built against `host`: same major, plugin minor <= host minor.
 * [thread-safe] */
static inline int sono_version_is_compatible(sono_version_t host, sono_version_t plugin)
{
   return plugin.major == host.major && plugin.minor <= host.minor;
}

SONO_EXTERN_C_END

#endif
