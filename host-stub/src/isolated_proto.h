/* The protocol between libsono_host and sono-plugin-runner (isolated mode).
 *
 * One memfd per instance holds a control block followed by the event area.
 * The host writes a request into the control block, bumps req_seq and
 * writes the request eventfd; the child answers in the same block, stores
 * resp_seq = req_seq and writes the response eventfd. Sequence numbers, not
 * eventfd counts, say which request an answer belongs to, so an answer that
 * arrives after its deadline is recognised and discarded.
 *
 * The child is untrusted: every count, offset and string the host reads back
 * is bounds-checked and copied before use (isolated_codec.c).
 *
 * File descriptors of the child (fixed numbers, set up by posix_spawn):
 *   3 control memfd   4 request eventfd   5 response eventfd
 *   6 unix socket: frame-buffer memfds arrive here (SCM_RIGHTS); its
 *     hang-up tells the child that the host is gone. */
#ifndef SONO_HOST_ISOLATED_PROTO_H
#define SONO_HOST_ISOLATED_PROTO_H

#include <stdint.h>
#include <sono/sono.h>
#include <sono/sdk/error.h>

#define SONO_ISO_MAGIC UINT64_C(0x314f53494f4e4f53) /* "SONOISO1" */
#define SONO_ISO_FD_CONTROL 3
#define SONO_ISO_FD_REQUEST 4
#define SONO_ISO_FD_RESPONSE 5
#define SONO_ISO_FD_SOCKET 6
#define SONO_ISO_MAX_PLANES (2 * SONO_PLANE_KIND_COUNT)
#define SONO_ISO_MAX_BUFFERS 32
#define SONO_ISO_MAX_PARAMS 64
#define SONO_ISO_TEXT 512
#define SONO_ISO_STAGING_SLOT 0 /* the instance's own buffer for planes copied in */

typedef int32_t sono_iso_cmd_t;
enum {
   SONO_ISO_CMD_START = 1,      /* load, create, restore state/params, activate (startup block) */
   SONO_ISO_CMD_ACTIVATE = 2,
   SONO_ISO_CMD_DEACTIVATE = 3,
   SONO_ISO_CMD_PROCESS = 4,
   SONO_ISO_CMD_SET_PARAM = 5,
   SONO_ISO_CMD_GET_PARAM = 6,
   SONO_ISO_CMD_PARAM_INFO = 7,
   SONO_ISO_CMD_SAVE_STATE = 8, /* state bytes are returned in the event area */
   SONO_ISO_CMD_LOAD_STATE = 9, /* state bytes are passed in the event area */
   SONO_ISO_CMD_SHUTDOWN = 10
};

/* What the child is executing: the "last call in progress" of a crash. */
typedef int32_t sono_iso_call_t;
enum {
   SONO_ISO_CALL_IDLE = 0,
   SONO_ISO_CALL_LOAD = 1,   /* dlopen + sono_entry.init() */
   SONO_ISO_CALL_CREATE = 2, /* create_plugin() + init() */
   SONO_ISO_CALL_ACTIVATE = 3,
   SONO_ISO_CALL_DEACTIVATE = 4,
   SONO_ISO_CALL_PROCESS = 5,
   SONO_ISO_CALL_PARAMS = 6,
   SONO_ISO_CALL_STATE = 7,
   SONO_ISO_CALL_DESTROY = 8
};

typedef int32_t sono_iso_fault_t;
enum {
   SONO_ISO_FAULT_NONE = 0,
   SONO_ISO_FAULT_SECCOMP = 1,     /* fault_syscall / fault_name set */
   SONO_ISO_FAULT_WRITE_INPUT = 2, /* fault_addr set */
   SONO_ISO_FAULT_CPU_LIMIT = 3
};

/* Where a plane's element (0,0,0) lives: a buffer slot and a byte offset. */
typedef struct sono_iso_plane_ref {
   uint32_t slot;
   uint32_t reserved;
   uint64_t offset;
   uint64_t extent; /* bytes from the lowest to the highest element address */
   int64_t low;     /* byte offset of the lowest element relative to element (0,0,0) */
} sono_iso_plane_ref_t;

typedef struct sono_iso_param {
   char key[SONO_PARAM_KEY_SIZE];
   double value;
} sono_iso_param_t;

typedef struct sono_iso_control {
   uint64_t magic;
   uint64_t area_offset;   /* event area: offset in the memfd */
   uint64_t area_size;

   /* request (host -> child) */
   uint64_t req_seq;
   sono_iso_cmd_t cmd;
   uint32_t buffers_sent;  /* SCM_RIGHTS messages queued on fd 6 before this request */
   sono_frame_format_t format;
   sono_frame_t frame;     /* `planes` is meaningless here: see planes/refs */
   sono_plane_t planes[SONO_ISO_MAX_PLANES];
   sono_iso_plane_ref_t refs[SONO_ISO_MAX_PLANES];
   sono_iso_param_t param; /* SET_PARAM / GET_PARAM */
   uint32_t param_index;   /* PARAM_INFO */
   uint64_t state_size;    /* LOAD_STATE, and START when has_state */

   /* startup block, read by START (a restart restores what the last child had) */
   int32_t has_format;
   int32_t has_state;
   uint32_t param_count;
   uint32_t max_events;
   uint64_t max_event_bytes;
   sono_iso_param_t params[SONO_ISO_MAX_PARAMS];

   /* response (child -> host) */
   uint64_t resp_seq;
   int32_t status;         /* 0 ok, -1 failed: `error` says why */
   int32_t plugin_status;  /* PROCESS: what process() returned */
   char error[SONO_ERROR_MESSAGE_SIZE];
   uint32_t event_count;   /* PROCESS: events encoded in the area */
   uint32_t rejected;      /* PROCESS: events the child dropped */
   uint64_t event_bytes;   /* PROCESS: bytes used in the area; SAVE_STATE: state bytes */
   uint64_t duration_ns;
   char diagnostic[SONO_ERROR_MESSAGE_SIZE];
   uint64_t rt_violations; /* allocations inside process() so far */
   char rt_first[256];
   uint32_t child_threads; /* threads besides the runner's own */
   int32_t found;          /* GET_PARAM / PARAM_INFO */
   double value;
   sono_param_info_t info;

   /* descriptor (after START) */
   sono_version_t abi_version;
   uint32_t planes_needed;
   sono_concurrency_t concurrency;
   sono_determinism_t determinism;
   uint32_t plugin_count;
   char desc_id[SONO_ISO_TEXT];
   char desc_name[SONO_ISO_TEXT];
   char desc_vendor[SONO_ISO_TEXT];
   char desc_version[SONO_ISO_TEXT];
   char desc_description[SONO_ISO_TEXT];

   /* crash report, written by the child's signal handlers before it dies */
   sono_iso_call_t current_call;
   uint64_t current_frame;
   sono_iso_fault_t fault;
   int32_t fault_syscall;
   uint64_t fault_addr;
   char fault_name[64];

   /* file-system changes refused with EACCES (the child goes on) */
   uint64_t denied_count;
   int32_t denied_syscall;
   sono_iso_call_t denied_call;
   uint64_t denied_frame;
   char denied_name[64];
} sono_iso_control_t;

/* One buffer announcement on fd 6, with the memfd as SCM_RIGHTS. */
typedef struct sono_iso_buffer_msg {
   uint32_t slot;
   uint32_t reserved;
   uint64_t size;
} sono_iso_buffer_msg_t;

/* ---- event codec (isolated_codec.c) --------------------------------------
 * Encoded event: a uint32 record size, a uint32 pad, then the event struct
 * with each pointer replaced by (offset from the area start + 1), 0 = NULL,
 * then the pointed-to data, 8-byte aligned. */

/* Encodes a valid event at area+*used. Returns 0, or -1 when it does not fit. */
int sono_iso_encode_event(uint8_t *area, uint64_t size, uint64_t *used, const sono_event_header_t *event);

/* Names a call for messages: "process()", "sono_entry.init()". */
const char *sono_iso_call_name(sono_iso_call_t call);

#endif
