/* sono-conform internals: the check table, the child-side reporting calls
 * and the harness that drives a plugin without the host library (so that a
 * check sees exactly what the plugin does, including events the host would
 * drop).
 *
 * Process model: the parent (runner.c) never loads the plugin. Each check
 * runs in a fresh child (fork + exec of sono-conform in "--check ID" mode)
 * that reports lines on a pipe; a signal, a timeout or a non-zero exit of
 * the child is that check's FAIL.
 * Threading: the harness is single-threaded except in the checks that
 * start processing threads themselves (threads.instances). */
#ifndef SONO_CONFORM_H
#define SONO_CONFORM_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sono/sono.h>
#include <sono/sdk/error.h>
#include <sono/sdk/manifest.h>

/* ---- options shared by parent and child --------------------------------- */

typedef struct cf_options {
   const char *plugin;               /* path of the .so under test */
   char manifest_path[SONO_PATH_SIZE];
   int have_manifest;                /* manifest parsed into `manifest` */
   char manifest_error[SONO_ERROR_MESSAGE_SIZE];
   sono_manifest_t manifest;
   uint64_t seed;
   double timeout_s;                 /* per check */
   const char *self;                 /* path of this executable */
   const char *rt_lib;               /* the LD_PRELOAD interposer */
} cf_options_t;

extern cf_options_t cf_opt;

/* ---- the check table ----------------------------------------------------- */

typedef struct cf_check {
   const char *id;                   /* "group.name" */
   const char *rationale;            /* one line: why the check exists */
   void (*run)(void);                /* child side; reports through cf_fail/cf_warn */
   int needs_rt_preload;             /* exec the child with LD_PRELOAD=rt_lib */
} cf_check_t;

extern const cf_check_t cf_checks[];
const cf_check_t *cf_check_find(const char *id);

/* ---- child-side reporting (lines on the result pipe) --------------------- */

void cf_report_init(int fd);
void cf_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void cf_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void cf_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* What the check is doing now; the parent quotes the last context when the
 * child dies, so a crash message says where it happened. */
void cf_ctx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int cf_failed(void);                 /* number of cf_fail calls so far */
/* Async-signal-safe variant used by the fault handler. */
void cf_fail_raw(const char *text);

/* ---- random numbers (xoshiro256**), everything derives from --seed ------ */

typedef struct cf_rng { uint64_t s[4]; } cf_rng_t;
void cf_rng_seed(cf_rng_t *r, uint64_t seed, uint64_t stream);
uint64_t cf_rng_u64(cf_rng_t *r);
double cf_rng_unit(cf_rng_t *r);                    /* [0, 1) */
uint32_t cf_rng_below(cf_rng_t *r, uint32_t n);     /* [0, n) */

/* ---- loading ------------------------------------------------------------- */

typedef struct cf_lib {
   void *dl;
   const sono_plugin_entry_t *entry;
   const sono_plugin_factory_t *factory;
   const sono_plugin_descriptor_t *desc;           /* plugin 0 */
   int initialised;
} cf_lib_t;

/* dlopen(RTLD_NOW|RTLD_LOCAL), sono_entry, init, factory, descriptor 0.
 * On failure reports cf_fail naming the step and returns -1. */
int cf_lib_open(cf_lib_t *lib);
void cf_lib_close(cf_lib_t *lib);                   /* deinit + dlclose */

/* ---- the harness host ---------------------------------------------------- */

typedef struct cf_host {
   sono_host_t host;
   int in_create;                    /* host calls now violate the ABI */
   uint32_t calls_in_create;
   uint32_t restarts;
   uint32_t logs;
} cf_host_t;

void cf_host_init(cf_host_t *h);

/* ---- instances ----------------------------------------------------------- */

typedef struct cf_inst {
   cf_host_t host;
   const sono_plugin_t *plugin;
   const sono_plugin_params_t *params;
   const sono_plugin_state_t *state;
   int active;
} cf_inst_t;

/* create_plugin + init; reports and returns -1 on failure. `inst` must stay
 * at a fixed address while the plugin lives (the plugin keeps `host`). */
int cf_inst_create(cf_lib_t *lib, cf_inst_t *inst);
/* activate(): 0 when active; 1 when the plugin answered SONO_ERROR_UNSUPPORTED
 * (allowed by the ABI for formats it cannot analyse: noted, instance left
 * initialised); -1, reported as a FAIL, for any other status. */
int cf_inst_activate(cf_inst_t *inst, const sono_frame_format_t *fmt);
void cf_inst_deactivate(cf_inst_t *inst);
void cf_inst_destroy(cf_inst_t *inst);

/* ---- frames in read-only, guarded memory --------------------------------- */

enum { CF_FILL_RANDOM, CF_FILL_ZEROS, CF_FILL_CONSTANT, CF_FILL_NAN, CF_FILL_INF, CF_FILL_EXTREME };

typedef struct cf_frame_spec {
   uint32_t nx, nz, ensemble;
   uint32_t planes;                  /* SONO_PLANE_BIT mask */
   int fill;
   double prf_hz;
   double center_frequency_hz;
   uint64_t sequence;
} cf_frame_spec_t;

typedef struct cf_frame {
   sono_frame_t *frame;              /* inside a read-only page */
   void *maps[SONO_PLANE_KIND_COUNT + 1];
   size_t map_sizes[SONO_PLANE_KIND_COUNT + 1];
   int region_ids[SONO_PLANE_KIND_COUNT + 1];
   uint32_t map_count;
} cf_frame_t;

/* The planes to give a plugin: what it needs, and B-mode at least. */
uint32_t cf_planes_for(const sono_plugin_descriptor_t *desc);
/* A spec with the reference acquisition and the given geometry. */
cf_frame_spec_t cf_spec(uint32_t nx, uint32_t nz, uint32_t ensemble, uint32_t planes);
/* Builds the frame (data from `rng`), then makes every page read-only with
 * a guard page after each plane. Returns -1 (and cf_fail) when out of memory. */
int cf_frame_build(cf_frame_t *f, const cf_frame_spec_t *spec, cf_rng_t *rng);
void cf_frame_free(cf_frame_t *f);
void cf_format_for(sono_frame_format_t *fmt, const cf_frame_spec_t *spec);
/* "64x48, ensemble 8, planes iq+bmode" */
const char *cf_spec_text(const cf_frame_spec_t *spec, char *buf, size_t size);

/* Installs the SIGSEGV/SIGBUS handler that turns a write into a frame or a
 * read past a plane into a precise FAIL naming the plugin and the plane. */
void cf_fault_handler_install(const char *plugin_id);

/* ---- outputs -------------------------------------------------------------- */

typedef struct cf_out {
   sono_output_t out;                /* first: the push callback gets &out */
   const sono_grid_t *grid;
   uint32_t cap;                     /* events accepted per frame */
   uint32_t pushes, accepted, invalid, refused_over_cap;
   uint32_t max_pushes_in_frame;
   char first_invalid[SONO_ERROR_MESSAGE_SIZE];
   uint64_t first_invalid_frame;
   uint64_t frame_sequence;
   char *text;                       /* semantic encoding of accepted events */
   size_t text_len, text_cap;
   int text_truncated;
} cf_out_t;

#define CF_EVENT_CAP 1024u

void cf_out_init(cf_out_t *o, size_t text_cap);
void cf_out_free(cf_out_t *o);
/* Before a frame: resets the per-frame counters and the text. */
void cf_out_begin(cf_out_t *o, const sono_frame_t *frame);

/* Appends a canonical, pointer-free text encoding of `event` (floats as
 * exact hexadecimal) so runs can be compared byte for byte. */
void cf_event_encode(const sono_event_header_t *event, char *buf, size_t size, size_t *len);

/* ---- threads and real time ------------------------------------------------ */

/* Number of threads of this process, and a list of "name (tid N)". */
int cf_thread_census(char *names, size_t size);

/* The interposer's arm/report calls, when preloaded (NULL otherwise). */
typedef struct cf_rt {
   void (*arm)(int on);
   int (*report)(char *buf, size_t size);  /* number of violations, first described */
} cf_rt_t;
int cf_rt_lookup(cf_rt_t *rt);
int cf_under_sanitizer(void);

uint64_t cf_now_ns(void);
const char *cf_signal_name(int sig);

/* ---- the call tracer's replay (trace.c in libsono_host) ------------------- */
int cf_replay(const char *trace_path);

#endif
