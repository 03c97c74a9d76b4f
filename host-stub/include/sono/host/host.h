/* libsono_host: the embeddable reference host (docs/host-guide.md).
 *
 * A scanner application uses it to find plugins, load them safely, drive
 * their lifecycle and collect validated results:
 *
 *   sono_host_library_t *lib = sono_host_library_load("x.sono.json", &err);
 *   sono_host_instance_t *in = sono_host_instance_create(lib, "org.vendor.x", &err);
 *   sono_host_instance_activate(in, &format, &err);
 *   for each frame:  sono_host_instance_process(in, &frame, &err);
 *                    events = sono_host_instance_events(in);   (valid until next process)
 *   sono_host_instance_destroy(in);  sono_host_library_unload(lib);
 *
 * Loading: the manifest is parsed and checked first; the binary's sha256 must
 * equal the manifest's; the binary is opened with dlopen(RTLD_NOW|RTLD_LOCAL)
 * and only `sono_entry` is resolved; its ABI version must be compatible with
 * the host's (same major, minor <= ours); the descriptor must match the
 * manifest's id, version and ABI. Each refusal is an error naming the file and
 * field, and both versions where versions disagree.
 *
 * Lifecycle: create -> init -> activate -> process* -> deactivate -> destroy.
 * A call out of order is refused with an error and never reaches the plugin.
 *
 * Events: every pushed event is checked (sono_event_check); invalid ones are
 * dropped, counted and described in a diagnostic, and the frame completes.
 *
 * Memory: frame buffers that may later be shared with an isolated plugin
 * process come from sono_host_buffer_create() (memfd-backed).
 *
 * Threading: a library and its instances are driven from one "main" thread;
 * sono_host_instance_process() may run on another thread, never concurrently
 * for the same instance. Different instances are independent, subject to the
 * plugin's declared concurrency class. */
#ifndef SONO_HOST_HOST_H
#define SONO_HOST_HOST_H

#include <stddef.h>
#include <stdint.h>
#include <sono/sono.h>
#include <sono/sdk/error.h>
#include <sono/sdk/events.h>
#include <sono/sdk/manifest.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SONO_HOST_NAME "sono-host"

/* ---- discovery ---------------------------------------------------------- */

typedef struct sono_host_listing {
   sono_manifest_t manifest;               /* valid when ok */
   int ok;                                 /* 1: manifest parsed and binary hash matches */
   char error[SONO_ERROR_MESSAGE_SIZE];    /* why not ok */
} sono_host_listing_t;

/* Lists every "*.sono.json" in `dir` (sorted by file name). Broken manifests
 * are listed with ok = 0 and their error; they do not stop the scan.
 * Returns the count (>= 0) and a heap array in *out (free with free()), or -1
 * when the folder cannot be read. */
int sono_host_scan(const char *dir, sono_host_listing_t **out, sono_error_t *err);

/* ---- libraries ---------------------------------------------------------- */

/* Version negotiation (DESIGN.md rule 2): 0 when a plugin built for
 * `plugin` may be loaded by a host implementing `host` (same major, plugin
 * minor <= host minor), else -1 with a message naming `what` and both
 * versions. */
int sono_host_check_abi(sono_version_t host, sono_version_t plugin, const char *what, sono_error_t *err);

typedef struct sono_host_library sono_host_library_t;

/* Loads the plugin binary described by the manifest at `manifest_path`.
 * `manifest_path` may also name the .so itself; the manifest is then the
 * file <stem>.sono.json beside it. */
sono_host_library_t *sono_host_library_load(const char *manifest_path, sono_error_t *err);

/* Unloads: calls deinit() and dlclose(). Refused (returns -1) while an
 * instance is alive. */
int sono_host_library_unload(sono_host_library_t *lib, sono_error_t *err);

const sono_manifest_t *sono_host_library_manifest(const sono_host_library_t *lib);
uint32_t sono_host_library_plugin_count(const sono_host_library_t *lib);
const sono_plugin_descriptor_t *sono_host_library_descriptor(const sono_host_library_t *lib, uint32_t index);

/* ---- instances ---------------------------------------------------------- */

typedef int32_t sono_host_state_t;
enum {
   SONO_HOST_STATE_CREATED = 0,     /* never visible: create also inits */
   SONO_HOST_STATE_INITIALISED = 1,
   SONO_HOST_STATE_ACTIVE = 2,
   SONO_HOST_STATE_FAILED = 3       /* init or a call failed fatally; only destroy is allowed */
};

typedef struct sono_host_instance sono_host_instance_t;

/* Where an instance's plugin code runs (docs/host-guide.md, "Run modes"). */
typedef int32_t sono_host_run_mode_t;
enum {
   SONO_HOST_RUN_IN_PROCESS = 0, /* dlopen'ed into this process (the default of zeroed options) */
   SONO_HOST_RUN_ISOLATED = 1,   /* a sandboxed sono-plugin-runner child process per instance */
   SONO_HOST_RUN_AUTO = 2        /* isolated when the manifest allows it ("may_isolate") and the
                                    vendor is not policy.trusted_vendor; else in-process */
};

/* What the host does when an isolated plugin misbehaves. Zero fields take
 * the defaults written beside them (sono_host_policy_default() fills them). */
typedef struct sono_host_policy {
   double deadline_factor;          /* deadline = manifest cost_per_frame_ms x factor; default 4 */
   double min_deadline_ms;          /* floor of the deadline (IPC and jitter); default 2 ms */
   uint32_t quarantine_after_misses; /* K consecutive deadline misses -> quarantine; default 3 */
   int32_t restart_after_quarantine; /* 1: a deadline-quarantined plugin is restarted with its
                                        last saved state; 0 (default): it stays quarantined */
   double restart_backoff_ms;       /* first restart delay after a crash; doubles per
                                       consecutive crash, capped at 5 s; default 100 ms;
                                       a negative value means restart at the next frame */
   uint32_t crash_loop_limit;       /* consecutive crashes (no successful frame between)
                                       before quarantine; default 3 */
   uint64_t memory_limit_bytes;     /* RLIMIT_AS of the child; default 1 GiB */
   uint32_t cpu_limit_s;            /* RLIMIT_CPU of the child (total CPU seconds); default 3600 */
   double start_timeout_ms;         /* load + init + activate of a child; default 5000 ms */
   double warmup_deadline_ms;       /* deadline of the first frame of each child (page faults on
                                       first touch of the shared frames); default 250 ms */
   const char *trusted_vendor;      /* SONO_HOST_RUN_AUTO runs this vendor in-process; NULL: none */
   const char *runner_path;         /* sono-plugin-runner; NULL: $SONO_PLUGIN_RUNNER, then the
                                       build tree, then the installed libexec path */
   const char *scratch_dir;         /* the child's working folder; NULL: /tmp */
} sono_host_policy_t;

void sono_host_policy_default(sono_host_policy_t *policy);

typedef struct sono_host_instance_options {
   uint32_t max_events_per_frame;   /* default 1024; more are refused (event flood) */
   size_t max_event_bytes;          /* default 4 MiB per frame */
   sono_host_run_mode_t run_mode;   /* SONO_HOST_RUN_*; default in-process */
   const sono_host_policy_t *policy; /* isolated mode; NULL: defaults. Copied at create. */
} sono_host_instance_options_t;

/* Creates and initialises plugin `plugin_id` (NULL: the binary's first
 * plugin). `options` may be NULL. */
sono_host_instance_t *sono_host_instance_create(sono_host_library_t *lib, const char *plugin_id,
                                                const sono_host_instance_options_t *options, sono_error_t *err);
void sono_host_instance_destroy(sono_host_instance_t *inst);

int sono_host_instance_activate(sono_host_instance_t *inst, const sono_frame_format_t *format, sono_error_t *err);
int sono_host_instance_deactivate(sono_host_instance_t *inst, sono_error_t *err);

/* Runs the plugin on `frame`. Returns 0 when the plugin returned SONO_OK,
 * -1 (with `err`) when the call was refused or the plugin reported an error.
 * Either way the frame's accepted events are available afterwards. */
int sono_host_instance_process(sono_host_instance_t *inst, const sono_frame_t *frame, sono_error_t *err);

sono_host_state_t sono_host_instance_state(const sono_host_instance_t *inst);
const sono_plugin_descriptor_t *sono_host_instance_descriptor(const sono_host_instance_t *inst);
const sono_host_library_t *sono_host_instance_library(const sono_host_instance_t *inst);

/* Events accepted during the last process() call; owned by the instance,
 * valid until the next process() or destroy. */
const sono_event_store_t *sono_host_instance_events(const sono_host_instance_t *inst);

/* Events dropped as invalid or over budget: in the last frame, and in total.
 * The diagnostic of the last dropped event (plugin, frame, field) is kept. */
uint32_t sono_host_instance_rejected_last(const sono_host_instance_t *inst);
uint64_t sono_host_instance_rejected_total(const sono_host_instance_t *inst);
const char *sono_host_instance_last_diagnostic(const sono_host_instance_t *inst);

/* Duration of the last process() call in nanoseconds (monotonic clock). */
uint64_t sono_host_instance_last_duration_ns(const sono_host_instance_t *inst);

/* ---- isolation ---------------------------------------------------------- */

/* Reason keyword of the last failed process() call, NULL after a success:
 *   "error"        the plugin returned a status other than SONO_OK
 *   "refused"      the call was out of lifecycle order
 *   "deadline"     no answer within the deadline (the frame was not waited for)
 *   "crash"        the child died of a signal (the message names it and the call)
 *   "exit"         the child called exit() or _exit()
 *   "seccomp"      the sandbox stopped a forbidden system call (named in the message)
 *   "write-input"  the plugin wrote to a read-only input plane
 *   "cpu-limit"    the child exceeded its CPU-time limit
 *   "restarting"   the child is being restarted; this frame was skipped
 *   "quarantined"  the plugin is quarantined; the instance is in state FAILED
 * The message with the details is the `err` of process(). */
const char *sono_host_instance_last_failure(const sono_host_instance_t *inst);

typedef struct sono_host_isolation_stats {
   int32_t isolated;             /* 1 when the instance runs in a child process */
   int32_t pid;                  /* current child, 0 when none */
   uint32_t restarts;            /* children started after the first */
   uint32_t crashes;             /* children lost to a signal, exit or sandbox violation */
   uint32_t consecutive_misses;  /* deadline misses in a row */
   uint64_t deadline_misses;
   double deadline_ms;           /* per-frame deadline in force */
   uint64_t plane_copies;        /* planes copied into shared memory (not in a shared buffer) */
   uint64_t plane_bytes_copied;
   uint64_t rt_violations;       /* allocations inside process(), when the runner can count them */
   uint32_t child_threads;       /* threads the plugin left running in the child */
   uint64_t sandbox_denials;     /* file-system changes the sandbox refused (EACCES) */
   int32_t quarantined;
} sono_host_isolation_stats_t;

/* Fills `stats`; zeros (isolated = 0) for an in-process instance. */
void sono_host_instance_isolation_stats(const sono_host_instance_t *inst, sono_host_isolation_stats_t *stats);

/* Loads a library for isolated instances only: the manifest and the binary's
 * sha256 are checked here, but the binary is never dlopen'ed in this process
 * (its init() cannot harm the host). Descriptor and plugin count come from
 * the first child. Instances of such a library are always isolated. */
sono_host_library_t *sono_host_library_load_isolated(const char *manifest_path, sono_error_t *err);

/* A plugin extension (e.g. SONO_EXT_PARAMS), or NULL. Only in states
 * INITIALISED and ACTIVE. Always NULL for an isolated instance (the plugin's
 * memory is in another process): use the parameter and state calls below. */
const void *sono_host_instance_extension(const sono_host_instance_t *inst, const char *id);

/* Parameters through sono.params/1: -1 with a message naming the plugin and
 * key when unknown or refused (out of range). */
int sono_host_instance_set_param(sono_host_instance_t *inst, const char *key, double value, sono_error_t *err);
int sono_host_instance_get_param(const sono_host_instance_t *inst, const char *key, double *value, sono_error_t *err);
/* Description of parameter `index`; 0 when out of range or no sono.params/1. */
int sono_host_instance_param_info(const sono_host_instance_t *inst, uint32_t index, sono_param_info_t *info);

/* State through sono.state/1, as a byte buffer (heap, free() it). */
int sono_host_instance_save_state(sono_host_instance_t *inst, uint8_t **bytes, size_t *size, sono_error_t *err);
int sono_host_instance_load_state(sono_host_instance_t *inst, const uint8_t *bytes, size_t size, sono_error_t *err);

/* ---- shareable frame buffers ------------------------------------------- */

typedef struct sono_host_buffer {
   int fd;          /* memfd; another process can mmap it read-only */
   void *data;      /* this process's read-write mapping */
   size_t size;     /* bytes, page-rounded */
} sono_host_buffer_t;

/* Allocates `size` bytes backed by a memfd (sealed against shrinking). */
int sono_host_buffer_create(sono_host_buffer_t *buf, size_t size, const char *name, sono_error_t *err);
void sono_host_buffer_destroy(sono_host_buffer_t *buf);

/* Declares `buf` as a home of frame planes: a plane whose data lies inside a
 * shared buffer reaches isolated plugins with no copy (the child maps the
 * memfd read-only). Planes elsewhere are copied once per frame into the
 * instance's own shared memory and counted (plane_copies). Call
 * sono_host_buffer_unshare() before sono_host_buffer_destroy().
 * [thread-safe] */
int sono_host_buffer_share(const sono_host_buffer_t *buf, sono_error_t *err);
void sono_host_buffer_unshare(const sono_host_buffer_t *buf);

#ifdef __cplusplus
}
#endif

#endif
