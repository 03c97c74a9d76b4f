/* Internal structures of libsono_host shared by its source files. */
#ifndef SONO_HOST_INTERNAL_H
#define SONO_HOST_INTERNAL_H

#include <sono/host/host.h>
#include <sono/host/trace.h>

struct sono_host_library {
   sono_manifest_t manifest;
   void *dl;
   const sono_plugin_entry_t *entry;
   const sono_plugin_factory_t *factory;
   uint32_t live_instances;
   int initialised; /* init() returned true: deinit() is owed */
   struct sono_iso_library *iso; /* loaded with sono_host_library_load_isolated(): never dlopen'ed */
};

/* One plugin instance and the host side of its lifecycle. */
struct sono_host_instance {
   sono_trace_t *trace;          /* debug mode ($SONO_TRACE), or NULL */
   sono_host_library_t *lib;
   const sono_plugin_t *plugin;
   sono_host_t host;
   sono_output_t output;
   sono_host_state_t state;
   sono_event_store_t *store;
   const sono_grid_t *grid;      /* grid of the frame being processed */
   uint64_t sequence;            /* of the frame being processed */
   uint32_t rejected_last;
   uint64_t rejected_total;
   uint64_t last_ns;
   char diagnostic[SONO_ERROR_MESSAGE_SIZE];
   const char *last_failure;     /* sono_host_instance_last_failure() */
   struct sono_iso *iso;         /* isolated mode: the child process; NULL in-process */
};

/* Resolves a manifest path: "x.so" -> "x.sono.json" beside it. */
void sono_host_manifest_path_for(const char *path, char *out, size_t size);

/* Checks that the binary's sha256 equals the manifest's. */
int sono_host_verify_hash(const sono_manifest_t *m, sono_error_t *err);

#endif
