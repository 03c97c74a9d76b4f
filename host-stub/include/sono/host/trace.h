/* libsono_host: the call tracer (debug mode of the host, and sono-conform's
 * trace.calls check).
 *
 * The tracer interposes on every entry of a plugin's vtable, the output
 * push, the host callbacks (get_extension, request_restart, the log
 * extension) and the sono.params/1 and sono.state/1 extension entries. Each
 * interposer is a libffi closure built from ONE signature table that mirrors
 * the ABI headers. Every call is checked against the thread and lifecycle
 * tags of the headers ([main-thread & initialised], ...), timed, forwarded
 * unchanged, and written as one line of a text trace ("sono-trace/1") that
 * `sono-conform PLUGIN.so --replay TRACE` re-runs. Rule violations are
 * written to the trace and counted; the tracer never refuses a call.
 *
 * Use in a host:
 *   sono_trace_t *t = sono_trace_from_env();           // $SONO_TRACE, or NULL
 *   host = t ? sono_trace_wrap_host(host, t) : host;   // before create_plugin
 *   p = factory->create_plugin(factory, host, id);
 *   p = t ? sono_trace_wrap_plugin(p, t) : p;          // right after create_plugin
 *   ... use p exactly as the real plugin ...
 *   sono_trace_close(t);                               // after destroy()
 *
 * Ownership: the wrappers are owned by the trace and stay valid until
 * sono_trace_close(), which must come after the wrapped plugin's destroy()
 * and after the last use of the wrapped host.
 * Threading: the wrappers may be called from any thread, as the real vtable;
 * trace writes are serialised by a mutex (the tracer is a debug tool: it
 * locks and allocates, so real-time checks are not made through it). */
#ifndef SONO_HOST_TRACE_H
#define SONO_HOST_TRACE_H

#include <stdint.h>
#include <sono/sono.h>
#include <sono/sdk/error.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SONO_TRACE_SCHEMA "sono-trace/1"
#define SONO_TRACE_ENV "SONO_TRACE"

typedef struct sono_trace sono_trace_t;

/* Creates (truncates) the trace file `path`. NULL with `err` on failure. */
sono_trace_t *sono_trace_open(const char *path, sono_error_t *err);

/* A trace on the file named by $SONO_TRACE, or NULL when it is unset or the
 * file cannot be created (then a message goes to stderr). A "%d" in the name
 * is replaced by 0, 1, 2... on successive calls in one process, so that each
 * instance gets its own trace; without it, each call truncates the file. */
sono_trace_t *sono_trace_from_env(void);

/* Writes "# note <text>" (e.g. "plugin org.x.y", "seed 42") into the trace. */
void sono_trace_note(sono_trace_t *t, const char *text);

/* A host whose callbacks are traced; pass it to create_plugin(). */
const sono_host_t *sono_trace_wrap_host(const sono_host_t *real, sono_trace_t *t);

/* A plugin whose vtable is traced; use it instead of `real` from init() on.
 * The calling thread is the instance's main thread. Returns `real` when
 * closures cannot be allocated (and counts a violation explaining why). */
const sono_plugin_t *sono_trace_wrap_plugin(const sono_plugin_t *real, sono_trace_t *t);

uint64_t sono_trace_call_count(const sono_trace_t *t);
uint32_t sono_trace_violation_count(const sono_trace_t *t);
/* The first violation, "" when none. Valid until sono_trace_close(). */
const char *sono_trace_first_violation(const sono_trace_t *t);

/* Flushes and closes the file, frees every wrapper. */
void sono_trace_close(sono_trace_t *t);

/* FNV-1a 64 over every element of every plane of `frame` (through its
 * strides): the trace records it so a replay knows whether it reproduced
 * the same input. [thread-safe] */
uint64_t sono_trace_frame_fingerprint(const sono_frame_t *frame);

#ifdef __cplusplus
}
#endif

#endif
