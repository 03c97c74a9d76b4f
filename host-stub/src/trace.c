/* The libffi call tracer (include/sono/host/trace.h).
 *
 * One signature table (sigs[] below) mirrors the ABI headers: for every
 * vtable entry it gives the interface, the offset of the function pointer,
 * the libffi types of the return value and arguments, and the thread and
 * lifecycle rule from the header's [tag]. A wrapped object is a copy of a
 * vtable whose function pointers are libffi closures; all closures share
 * one handler that checks the rule, swaps wrapped pointers for real ones,
 * forwards with ffi_call, times the call and writes the trace line. */
#include <ffi.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sono/host/trace.h>
#include <sono/sdk/names.h>

/* ---- the signature table ------------------------------------------------ */

enum iface { IF_PLUGIN, IF_OUTPUT, IF_HOST, IF_LOG, IF_PARAMS, IF_STATE, IF_COUNT };
static const char *const iface_names[IF_COUNT] = {"plugin", "output", "host", "log", "params", "state"};

/* Instance states, as in plugin.h. */
enum { ST_CREATED = 1, ST_INITIALISED = 2, ST_ACTIVE = 4, ST_DESTROYED = 8 };
/* Thread rules. */
enum { TH_MAIN, TH_PROCESSING, TH_ANY };

typedef struct sig {
   enum iface iface;
   const char *name;
   size_t offset;           /* of the function pointer in the vtable struct */
   ffi_type *ret;
   unsigned nargs;
   ffi_type *args[5];
   int thread;              /* TH_* */
   unsigned states;         /* ST_* mask in which the call is allowed; 0: no rule */
   ffi_cif cif;
} sig_t;

#define P &ffi_type_pointer
#define U32 &ffi_type_uint32
#define I32 &ffi_type_sint32
#define B &ffi_type_uint8
#define D &ffi_type_double
#define V &ffi_type_void

static sig_t sigs[] = {
   /* plugin.h: sono_plugin_t */
   {IF_PLUGIN, "init", offsetof(sono_plugin_t, init), B, 1, {P}, TH_MAIN, ST_CREATED, {0}},
   {IF_PLUGIN, "destroy", offsetof(sono_plugin_t, destroy), V, 1, {P}, TH_MAIN, ST_CREATED | ST_INITIALISED, {0}},
   {IF_PLUGIN, "activate", offsetof(sono_plugin_t, activate), I32, 2, {P, P}, TH_MAIN, ST_INITIALISED, {0}},
   {IF_PLUGIN, "deactivate", offsetof(sono_plugin_t, deactivate), V, 1, {P}, TH_MAIN, ST_ACTIVE, {0}},
   {IF_PLUGIN, "process", offsetof(sono_plugin_t, process), I32, 3, {P, P, P}, TH_PROCESSING, ST_ACTIVE, {0}},
   {IF_PLUGIN, "get_extension", offsetof(sono_plugin_t, get_extension), P, 2, {P, P}, TH_ANY,
    ST_INITIALISED | ST_ACTIVE, {0}},
   /* events.h: sono_output_t */
   {IF_OUTPUT, "push", offsetof(sono_output_t, push), B, 2, {P, P}, TH_PROCESSING, ST_ACTIVE, {0}},
   /* host.h: sono_host_t */
   {IF_HOST, "get_extension", offsetof(sono_host_t, get_extension), P, 2, {P, P}, TH_ANY, 0, {0}},
   {IF_HOST, "request_restart", offsetof(sono_host_t, request_restart), V, 1, {P}, TH_ANY, 0, {0}},
   /* ext/log.h */
   {IF_LOG, "log", offsetof(sono_host_log_t, log), V, 3, {P, I32, P}, TH_ANY, 0, {0}},
   /* ext/params.h */
   {IF_PARAMS, "count", offsetof(sono_plugin_params_t, count), U32, 1, {P}, TH_MAIN, ST_INITIALISED | ST_ACTIVE, {0}},
   {IF_PARAMS, "get_info", offsetof(sono_plugin_params_t, get_info), B, 3, {P, U32, P}, TH_MAIN,
    ST_INITIALISED | ST_ACTIVE, {0}},
   {IF_PARAMS, "get_value", offsetof(sono_plugin_params_t, get_value), B, 3, {P, P, P}, TH_MAIN,
    ST_INITIALISED | ST_ACTIVE, {0}},
   {IF_PARAMS, "set_value", offsetof(sono_plugin_params_t, set_value), I32, 3, {P, P, D}, TH_MAIN,
    ST_INITIALISED | ST_ACTIVE, {0}},
   {IF_PARAMS, "get_choice_label", offsetof(sono_plugin_params_t, get_choice_label), B, 5, {P, U32, U32, P, U32},
    TH_MAIN, ST_INITIALISED | ST_ACTIVE, {0}},
   /* ext/state.h */
   {IF_STATE, "save", offsetof(sono_plugin_state_t, save), B, 2, {P, P}, TH_MAIN, ST_INITIALISED | ST_ACTIVE, {0}},
   {IF_STATE, "load", offsetof(sono_plugin_state_t, load), B, 2, {P, P}, TH_MAIN, ST_INITIALISED | ST_ACTIVE, {0}},
};
#define SIG_COUNT (sizeof sigs / sizeof sigs[0])
#define MAX_ENTRIES 6

#undef P
#undef U32
#undef I32
#undef B
#undef D
#undef V

static pthread_once_t sigs_once = PTHREAD_ONCE_INIT;
static int sigs_ok;

static void sigs_prepare(void)
{
   sigs_ok = 1;
   for (size_t i = 0; i < SIG_COUNT; ++i)
      if (ffi_prep_cif(&sigs[i].cif, FFI_DEFAULT_ABI, sigs[i].nargs, sigs[i].ret, sigs[i].args) != FFI_OK)
         sigs_ok = 0;
}

/* ---- wrapped objects ---------------------------------------------------------- */

typedef struct wplugin wplugin_t;

typedef struct wobj {
   enum iface iface;
   union {
      sono_plugin_t plugin;
      sono_output_t out;
      sono_host_t host;
      sono_host_log_t log;
      sono_plugin_params_t params;
      sono_plugin_state_t state;
   } v;                              /* what the other side calls */
   const void *real;                 /* the real vtable */
   const void *real_self;            /* what replaces the first argument */
   wplugin_t *owner;                 /* plugin-side objects: their instance */
   sono_trace_t *trace;
   unsigned n;
   ffi_closure *closures[MAX_ENTRIES];
   struct binding { const sig_t *sig; struct wobj *obj; } bindings[MAX_ENTRIES];
   struct wobj *next;
} wobj_t;

struct wplugin {
   wobj_t *plugin, *out, *params, *state;
   int state_now;                    /* ST_* */
   pthread_t main;
   atomic_int in_process;
   pthread_t process_thread;
   uint32_t pushes;
   wplugin_t *next;
};

struct sono_trace {
   FILE *f;
   pthread_mutex_t mu;
   uint64_t calls;
   uint32_t violations;
   char first[512];
   wobj_t *objs;
   wplugin_t *plugins;
   int plugins_wrapped;
};

static uint64_t now_ns(void)
{
   struct timespec ts;
   clock_gettime(CLOCK_MONOTONIC, &ts);
   return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void violation(sono_trace_t *t, uint64_t call, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void violation(sono_trace_t *t, uint64_t call, const char *fmt, ...)
{
   char text[512];
   va_list ap;
   va_start(ap, fmt);
   vsnprintf(text, sizeof text, fmt, ap);
   va_end(ap);
   pthread_mutex_lock(&t->mu);
   if (!t->violations++)
      snprintf(t->first, sizeof t->first, "call %" PRIu64 ": %s", call, text);
   fprintf(t->f, "violation %" PRIu64 " %s\n", call, text);
   pthread_mutex_unlock(&t->mu);
}

static void handler(ffi_cif *cif, void *ret, void **args, void *user);

static wobj_t *wobj_make(sono_trace_t *t, enum iface iface, const void *real, size_t vsize)
{
   wobj_t *w = calloc(1, sizeof *w);
   if (!w)
      return NULL;
   w->iface = iface;
   w->real = real;
   w->real_self = real;
   w->trace = t;
   memcpy(&w->v, real, vsize);
   for (size_t i = 0; i < SIG_COUNT && w->n < MAX_ENTRIES; ++i) {
      if (sigs[i].iface != iface)
         continue;
      void *real_fn = NULL;
      memcpy(&real_fn, (const char *)real + sigs[i].offset, sizeof real_fn);
      if (!real_fn)
         continue; /* a NULL entry stays NULL, so the host still sees it missing */
      void *code = NULL;
      ffi_closure *c = ffi_closure_alloc(sizeof(ffi_closure), &code);
      w->bindings[w->n] = (struct binding){&sigs[i], w};
      if (!c || ffi_prep_closure_loc(c, &sigs[i].cif, handler, &w->bindings[w->n], code) != FFI_OK) {
         if (c)
            ffi_closure_free(c);
         continue; /* this entry stays the real function */
      }
      w->closures[w->n++] = c;
      memcpy((char *)&w->v + sigs[i].offset, &code, sizeof code);
   }
   pthread_mutex_lock(&t->mu);
   w->next = t->objs;
   t->objs = w;
   pthread_mutex_unlock(&t->mu);
   return w;
}

/* ---- describing arguments --------------------------------------------------------- */

uint64_t sono_trace_frame_fingerprint(const sono_frame_t *frame)
{
   uint64_t h = 1469598103934665603ull;
   for (uint32_t i = 0; frame && frame->planes && i < frame->plane_count; ++i) {
      const sono_plane_t *p = &frame->planes[i];
      size_t es = sono_dtype_size(p->dtype);
      if (!p->data || !es)
         continue;
      for (uint32_t c = 0; c < p->shape[2]; ++c)
         for (uint32_t b = 0; b < p->shape[1]; ++b)
            for (uint32_t a = 0; a < p->shape[0]; ++a) {
               const uint8_t *e = (const uint8_t *)p->data +
                                  (a * p->stride[0] + (int64_t)b * p->stride[1] + (int64_t)c * p->stride[2]) * (int64_t)es;
               for (size_t k = 0; k < es; ++k)
                  h = (h ^ e[k]) * 1099511628211ull;
            }
   }
   return h;
}

static uint32_t frame_planes(const sono_frame_t *f)
{
   uint32_t m = 0;
   for (uint32_t i = 0; f->planes && i < f->plane_count; ++i)
      m |= SONO_PLANE_BIT(f->planes[i].kind);
   return m;
}

static uint32_t frame_ensemble(const sono_frame_t *f)
{
   for (uint32_t i = 0; f->planes && i < f->plane_count; ++i)
      if (f->planes[i].kind == SONO_PLANE_IQ || f->planes[i].kind == SONO_PLANE_RF)
         return f->planes[i].shape[2];
   return f->acquisition.ensemble_size;
}

static void describe_args(const sig_t *s, void **args, char *buf, size_t size)
{
   buf[0] = '\0';
   const char *name = s->name;
   if (s->iface == IF_PLUGIN && !strcmp(name, "activate")) {
      const sono_frame_format_t *f = *(const sono_frame_format_t **)args[1];
      if (f)
         snprintf(buf, size, "nx=%u nz=%u ens=%u planes=0x%x", f->max_nx, f->max_nz, f->max_ensemble,
                  f->planes_available);
   } else if (s->iface == IF_PLUGIN && !strcmp(name, "process")) {
      const sono_frame_t *f = *(const sono_frame_t **)args[1];
      if (f)
         snprintf(buf, size, "seq=%" PRIu64 " nx=%u nz=%u ens=%u planes=0x%x fnv=%016" PRIx64, f->sequence, f->grid.nx,
                  f->grid.nz, frame_ensemble(f), frame_planes(f), sono_trace_frame_fingerprint(f));
   } else if ((s->iface == IF_PLUGIN || s->iface == IF_HOST) && !strcmp(name, "get_extension")) {
      const char *id = *(const char **)args[1];
      snprintf(buf, size, "id=%s", id ? id : "(null)");
   } else if (s->iface == IF_OUTPUT) {
      const sono_event_header_t *e = *(const sono_event_header_t **)args[1];
      snprintf(buf, size, "type=%d size=%u", e ? (int)e->type : -1, e ? e->struct_size : 0);
   } else if (s->iface == IF_LOG) {
      snprintf(buf, size, "severity=%d", (int)*(const int32_t *)args[1]);
   } else if (s->iface == IF_PARAMS && (!strcmp(name, "get_info") || !strcmp(name, "get_choice_label"))) {
      snprintf(buf, size, "index=%u", *(const uint32_t *)args[1]);
   } else if (s->iface == IF_PARAMS && !strcmp(name, "get_value")) {
      const char *key = *(const char **)args[1];
      snprintf(buf, size, "key=%s", key ? key : "(null)");
   } else if (s->iface == IF_PARAMS && !strcmp(name, "set_value")) {
      const char *key = *(const char **)args[1];
      snprintf(buf, size, "key=%s value=%a", key ? key : "(null)", *(const double *)args[2]);
   }
}

static void describe_ret(const sig_t *s, const void *ret, char *buf, size_t size)
{
   if (s->ret == &ffi_type_void)
      snprintf(buf, size, "-");
   else if (s->ret == &ffi_type_pointer)
      snprintf(buf, size, "%s", *(void *const *)ret ? "ptr" : "null");
   else if (s->ret == &ffi_type_uint8)
      snprintf(buf, size, "%d", (int)(*(const ffi_arg *)ret & 0xff));
   else
      snprintf(buf, size, "%" PRId64, (int64_t)(int32_t) * (const ffi_arg *)ret);
}

/* ---- rules --------------------------------------------------------------------------- */

static const char *state_name(int st)
{
   return st == ST_CREATED ? "created" : st == ST_INITIALISED ? "initialised" : st == ST_ACTIVE ? "active" : "destroyed";
}

static void check_rules(sono_trace_t *t, const sig_t *s, wobj_t *w, uint64_t call)
{
   wplugin_t *wp = w->owner;
   if (s->iface == IF_HOST || s->iface == IF_LOG) {
      if (!t->plugins_wrapped)
         violation(t, call, "host.%s called before the plugin was created: host callbacks are not allowed inside "
                   "create_plugin()", s->name);
      return;
   }
   if (!wp)
      return;
   int main_thread = pthread_equal(pthread_self(), wp->main);
   if (s->thread == TH_MAIN && !main_thread)
      violation(t, call, "%s.%s called from a thread other than the instance's main thread", iface_names[s->iface],
                s->name);
   if (s->states && !(s->states & wp->state_now))
      violation(t, call, "%s.%s called while the instance is %s", iface_names[s->iface], s->name,
                state_name(wp->state_now));
   if (s->iface == IF_OUTPUT) {
      if (!atomic_load(&wp->in_process))
         violation(t, call, "output.push called outside process(): the output is valid only during the call");
      else if (!pthread_equal(pthread_self(), wp->process_thread))
         violation(t, call, "output.push called from a thread other than the one running process()");
   } else if (s->iface == IF_PARAMS || s->iface == IF_STATE || (s->iface == IF_PLUGIN && strcmp(s->name, "get_extension"))) {
      if (atomic_load(&wp->in_process) && strcmp(s->name, "process"))
         violation(t, call, "%s.%s called while process() is running on the same instance", iface_names[s->iface],
                   s->name);
   }
}

static void after_call(wplugin_t *wp, const sig_t *s, const void *ret)
{
   if (!wp || s->iface != IF_PLUGIN)
      return;
   if (!strcmp(s->name, "init") && (*(const ffi_arg *)ret & 0xff))
      wp->state_now = ST_INITIALISED;
   else if (!strcmp(s->name, "activate") && (int32_t) * (const ffi_arg *)ret == SONO_OK)
      wp->state_now = ST_ACTIVE;
   else if (!strcmp(s->name, "deactivate"))
      wp->state_now = ST_INITIALISED;
   else if (!strcmp(s->name, "destroy"))
      wp->state_now = ST_DESTROYED;
}

/* Wraps an extension the plugin returned, once per instance. */
static const void *wrap_extension(sono_trace_t *t, wplugin_t *wp, const char *id, const void *real)
{
   if (!real || !id)
      return real;
   wobj_t **slot = NULL;
   enum iface iface;
   size_t size;
   if (!strcmp(id, SONO_EXT_PARAMS)) {
      slot = &wp->params, iface = IF_PARAMS, size = sizeof(sono_plugin_params_t);
   } else if (!strcmp(id, SONO_EXT_STATE)) {
      slot = &wp->state, iface = IF_STATE, size = sizeof(sono_plugin_state_t);
   } else {
      return real;
   }
   if (!*slot || (*slot)->real != real) {
      wobj_t *w = wobj_make(t, iface, real, size);
      if (!w)
         return real;
      w->owner = wp;
      w->real_self = wp->plugin->real;
      *slot = w;
   }
   return &(*slot)->v;
}

static const void *wrap_host_extension(sono_trace_t *t, wobj_t *host, const char *id, const void *real)
{
   if (!real || !id || strcmp(id, SONO_EXT_LOG))
      return real;
   for (wobj_t *w = t->objs; w; w = w->next)
      if (w->iface == IF_LOG && w->real == real && w->real_self == host->real)
         return &w->v;
   wobj_t *w = wobj_make(t, IF_LOG, real, sizeof(sono_host_log_t));
   if (!w)
      return real;
   w->real_self = host->real;
   return &w->v;
}

/* ---- the one handler ---------------------------------------------------------------- */

static void handler(ffi_cif *cif, void *ret, void **args, void *user)
{
   struct binding *bd = user;
   const sig_t *s = bd->sig;
   wobj_t *w = bd->obj;
   sono_trace_t *t = w->trace;
   wplugin_t *wp = w->owner;
   uint64_t call;
   pthread_mutex_lock(&t->mu);
   call = ++t->calls;
   pthread_mutex_unlock(&t->mu);
   check_rules(t, s, w, call);

   /* Swap the wrapped first argument for the real object. */
   void *argv[5];
   const void *self = w->real_self;
   const void *out_arg = NULL;
   for (unsigned i = 0; i < s->nargs; ++i)
      argv[i] = args[i];
   argv[0] = &self;
   int is_process = s->iface == IF_PLUGIN && !strcmp(s->name, "process");
   if (is_process) {
      const sono_output_t *real_out = *(const sono_output_t **)args[2];
      if (!wp->out || wp->out->real != real_out) {
         wobj_t *o = wobj_make(t, IF_OUTPUT, real_out, sizeof(sono_output_t));
         if (o)
            o->owner = wp;
         wp->out = o ? o : wp->out;
      }
      if (wp->out && wp->out->real == real_out) {
         out_arg = &wp->out->v.out;
         argv[2] = &out_arg;
      }
      if (atomic_fetch_add(&wp->in_process, 1) != 0)
         violation(t, call, "plugin.process called while another process() runs on the same instance");
      wp->process_thread = pthread_self();
      wp->pushes = 0;
   }
   if (s->iface == IF_OUTPUT)
      wp->pushes++;

   char desc[256];
   describe_args(s, args, desc, sizeof desc);
   void (*fn)(void);
   memcpy(&fn, (const char *)w->real + s->offset, sizeof fn);
   uint64_t t0 = now_ns();
   ffi_call(cif, fn, ret, argv);
   uint64_t dt = now_ns() - t0;

   if (is_process)
      atomic_fetch_sub(&wp->in_process, 1);
   if (s->iface == IF_PLUGIN && !strcmp(s->name, "get_extension"))
      *(const void **)ret = wrap_extension(t, wp, *(const char **)args[1], *(const void **)ret);
   if (s->iface == IF_HOST && !strcmp(s->name, "get_extension"))
      *(const void **)ret = wrap_host_extension(t, w, *(const char **)args[1], *(const void **)ret);
   after_call(wp, s, ret);

   char rtext[32];
   describe_ret(s, ret, rtext, sizeof rtext);
   int main_thread = wp ? pthread_equal(pthread_self(), wp->main) : 1;
   pthread_mutex_lock(&t->mu);
   if (s->iface != IF_OUTPUT || wp->pushes <= 64)
      fprintf(t->f, "call %" PRIu64 " %s %s.%s %s%s-> %s %" PRIu64 "ns", call, main_thread ? "main" : "other",
              iface_names[s->iface], s->name, desc, desc[0] ? " " : "", rtext, dt);
   if (is_process)
      fprintf(t->f, " pushes=%u", wp->pushes);
   if (s->iface != IF_OUTPUT || wp->pushes <= 64)
      fputc('\n', t->f);
   pthread_mutex_unlock(&t->mu);
}

/* ---- public API -------------------------------------------------------------------- */

sono_trace_t *sono_trace_open(const char *path, sono_error_t *err)
{
   pthread_once(&sigs_once, sigs_prepare);
   if (!sigs_ok) {
      sono_error_set(err, "%s: libffi cannot prepare the call interfaces of the signature table", path);
      return NULL;
   }
   sono_trace_t *t = calloc(1, sizeof *t);
   if (!t) {
      sono_error_set(err, "%s: out of memory", path);
      return NULL;
   }
   t->f = fopen(path, "w");
   if (!t->f) {
      sono_error_set(err, "%s: cannot create the trace file", path);
      free(t);
      return NULL;
   }
   pthread_mutex_init(&t->mu, NULL);
   fprintf(t->f, "# %s\n# abi %s\n", SONO_TRACE_SCHEMA, SONO_VERSION_STRING);
   return t;
}

sono_trace_t *sono_trace_from_env(void)
{
   const char *pattern = getenv(SONO_TRACE_ENV);
   if (!pattern || !pattern[0])
      return NULL;
   /* "%d" in the name numbers the traces of one process (one per instance). */
   static atomic_int serial;
   char path[4096];
   const char *pct = strstr(pattern, "%d");
   if (pct && !strchr(pct + 2, '%'))
      snprintf(path, sizeof path, "%.*s%d%s", (int)(pct - pattern), pattern, atomic_fetch_add(&serial, 1), pct + 2);
   else
      snprintf(path, sizeof path, "%s", pattern);
   sono_error_t err;
   sono_trace_t *t = sono_trace_open(path, &err);
   if (!t)
      fprintf(stderr, "sono-host: %s=%s: %s\n", SONO_TRACE_ENV, pattern, err.message);
   return t;
}

void sono_trace_note(sono_trace_t *t, const char *text)
{
   pthread_mutex_lock(&t->mu);
   fprintf(t->f, "# note %s\n", text);
   pthread_mutex_unlock(&t->mu);
}

const sono_host_t *sono_trace_wrap_host(const sono_host_t *real, sono_trace_t *t)
{
   wobj_t *w = wobj_make(t, IF_HOST, real, sizeof(sono_host_t));
   return w ? &w->v.host : real;
}

const sono_plugin_t *sono_trace_wrap_plugin(const sono_plugin_t *real, sono_trace_t *t)
{
   wplugin_t *wp = calloc(1, sizeof *wp);
   wobj_t *w = wp ? wobj_make(t, IF_PLUGIN, real, sizeof(sono_plugin_t)) : NULL;
   if (!w) {
      free(wp);
      violation(t, 0, "out of memory wrapping plugin %s: not traced", real->desc ? real->desc->id : "?");
      return real;
   }
   w->owner = wp;
   wp->plugin = w;
   wp->state_now = ST_CREATED;
   wp->main = pthread_self();
   pthread_mutex_lock(&t->mu);
   wp->next = t->plugins;
   t->plugins = wp;
   t->plugins_wrapped++;
   fprintf(t->f, "# note plugin %s\n", real->desc && real->desc->id ? real->desc->id : "?");
   pthread_mutex_unlock(&t->mu);
   return &w->v.plugin;
}

uint64_t sono_trace_call_count(const sono_trace_t *t) { return t->calls; }
uint32_t sono_trace_violation_count(const sono_trace_t *t) { return t->violations; }
const char *sono_trace_first_violation(const sono_trace_t *t) { return t->first; }

void sono_trace_close(sono_trace_t *t)
{
   if (!t)
      return;
   fprintf(t->f, "# end calls=%" PRIu64 " violations=%u\n", t->calls, t->violations);
   fclose(t->f);
   for (wobj_t *w = t->objs, *next; w; w = next) {
      next = w->next;
      for (unsigned i = 0; i < w->n; ++i)
         ffi_closure_free(w->closures[i]);
      free(w);
   }
   for (wplugin_t *p = t->plugins, *next; p; p = next) {
      next = p->next;
      free(p);
   }
   pthread_mutex_destroy(&t->mu);
   free(t);
}
