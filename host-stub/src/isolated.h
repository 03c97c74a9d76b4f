/* Internal interface of isolated mode (libsono_host side): instance.c and
 * instance_ext.c forward here when an instance runs in a child process. */
#ifndef SONO_HOST_ISOLATED_H
#define SONO_HOST_ISOLATED_H

#include "internal.h"
#include "isolated_proto.h"

/* Descriptor of a library loaded without dlopen, filled by its first child. */
struct sono_iso_library {
   int described;
   uint32_t plugin_count;
   sono_plugin_descriptor_t desc;
   char id[SONO_ISO_TEXT], name[SONO_ISO_TEXT], vendor[SONO_ISO_TEXT], version[SONO_ISO_TEXT],
      description[SONO_ISO_TEXT];
};

/* True when an instance of `lib` created with `opt` runs isolated. */
int sono_iso_wanted(const sono_host_library_t *lib, const sono_host_instance_options_t *opt);

/* Starts the child (load, create, init) and waits for it. 0 or -1. */
int sono_iso_create(sono_host_instance_t *in, const char *plugin_id, const sono_host_instance_options_t *opt,
                    sono_error_t *err);
void sono_iso_destroy(sono_host_instance_t *in);
int sono_iso_activate(sono_host_instance_t *in, const sono_frame_format_t *format, sono_error_t *err);
int sono_iso_deactivate(sono_host_instance_t *in, sono_error_t *err);
int sono_iso_process(sono_host_instance_t *in, const sono_frame_t *frame, sono_error_t *err);
const sono_plugin_descriptor_t *sono_iso_descriptor(const sono_host_instance_t *in);

int sono_iso_set_param(sono_host_instance_t *in, const char *key, double value, sono_error_t *err);
int sono_iso_get_param(const sono_host_instance_t *in, const char *key, double *value, sono_error_t *err);
int sono_iso_param_info(const sono_host_instance_t *in, uint32_t index, sono_param_info_t *info);
int sono_iso_save_state(sono_host_instance_t *in, uint8_t **bytes, size_t *size, sono_error_t *err);
int sono_iso_load_state(sono_host_instance_t *in, const uint8_t *bytes, size_t size, sono_error_t *err);

/* Receives each decoded event (valid, `event` set) or a rejection (`why`). */
typedef void (*sono_iso_event_sink)(void *ctx, const sono_event_header_t *event, const char *why);

/* Decodes `count` events from a private copy of the area. -1 when the
 * record chain itself is malformed (the rest of the area is ignored). */
int sono_iso_decode_events(uint8_t *copy, uint64_t used, uint32_t count, const sono_grid_t *grid,
                           sono_iso_event_sink sink, void *ctx);

/* Shared frame buffers (isolated_buffers.c): finds the shared buffer holding
 * [data + low, data + low + extent). Returns 1 with its fd, base, size and
 * inode, or 0. */
typedef struct sono_iso_shared {
   int fd;
   const uint8_t *base;
   size_t size;
   uint64_t inode;
} sono_iso_shared_t;
int sono_iso_find_shared(const void *data, int64_t low, uint64_t extent, sono_iso_shared_t *out);

#endif
