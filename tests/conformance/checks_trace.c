/* trace.calls: a full session through the libffi call tracer of
 * libsono_host, then a replay of the trace it wrote. cf_replay() is also
 * what `sono-conform PLUGIN.so --replay TRACE` runs. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sono/host/trace.h>
#include "checks.h"

/* Frames of a traced session are built from (seed, 1000 + sequence) so a
 * replay can build the same bytes again. */
static int build_traced_frame(cf_frame_t *f, cf_frame_spec_t *spec, uint64_t seed)
{
   cf_rng_t rng;
   cf_rng_seed(&rng, seed, 1000 + spec->sequence);
   return cf_frame_build(f, spec, &rng);
}

static int64_t sink_write(const sono_ostream_t *s, const void *buf, uint64_t size)
{
   (void)s;
   (void)buf;
   return (int64_t)size;
}

static void traced_session(cf_lib_t *lib, sono_trace_t *t)
{
   cf_host_t host;
   cf_host_init(&host);
   const sono_host_t *h = sono_trace_wrap_host(&host.host, t);
   cf_ctx("create_plugin(\"%s\") with a traced host", lib->desc->id);
   const sono_plugin_t *real = lib->factory->create_plugin(lib->factory, h, lib->desc->id);
   if (!real) {
      cf_fail("create_plugin(\"%s\") returned NULL", lib->desc->id);
      return;
   }
   const sono_plugin_t *p = sono_trace_wrap_plugin(real, t);
   cf_ctx("traced init()");
   if (!p->init(p)) {
      cf_fail("plugin %s init() returned false", lib->desc->id);
      p->destroy(p);
      return;
   }
   const sono_plugin_params_t *pp = p->get_extension(p, SONO_EXT_PARAMS);
   const sono_plugin_state_t *ps = p->get_extension(p, SONO_EXT_STATE);
   if (pp) {
      uint32_t n = pp->count(p);
      for (uint32_t i = 0; i < n; ++i) {
         sono_param_info_t info;
         double v;
         if (pp->get_info(p, i, &info) && pp->get_value(p, info.key, &v))
            pp->set_value(p, info.key, info.default_value);
      }
   }
   cf_out_t out;
   cf_out_init(&out, 0);
   uint32_t planes = cf_planes_for(lib->desc);
   uint64_t seq = 0;
   static const uint32_t geo[][3] = {{64, 48, 8}, {128, 96, 4}};
   for (int g = 0; g < 2; ++g) {
      cf_frame_spec_t spec = cf_spec(geo[g][0], geo[g][1], geo[g][2], planes);
      sono_frame_format_t fmt;
      cf_format_for(&fmt, &spec);
      cf_ctx("traced activate(%ux%u)", spec.nx, spec.nz);
      if (p->activate(p, &fmt) != SONO_OK) {
         cf_fail("plugin %s activate(%ux%u, ensemble %u) failed under the tracer", lib->desc->id, spec.nx, spec.nz,
                 spec.ensemble);
         break;
      }
      for (int k = 0; k < 4; ++k) {
         cf_frame_t f;
         spec.sequence = seq++;
         if (build_traced_frame(&f, &spec, cf_opt.seed) != 0)
            break;
         cf_ctx("traced process(frame %" PRIu64 ")", spec.sequence);
         cf_out_begin(&out, f.frame);
         p->process(p, f.frame, &out.out);
         cf_frame_free(&f);
      }
      if (ps) {
         sono_ostream_t os = {NULL, sink_write};
         ps->save(p, &os);
      }
      p->deactivate(p);
   }
   cf_out_free(&out);
   cf_ctx("traced destroy()");
   p->destroy(p);
}

void check_trace_calls(void)
{
   cf_lib_t lib;
   if (cf_lib_open(&lib) != 0)
      return;
   /* SONO_CONFORM_KEEP_TRACE=<file> keeps the trace for --replay. */
   const char *keep = getenv("SONO_CONFORM_KEEP_TRACE");
   char path[4096];
   if (keep && keep[0])
      snprintf(path, sizeof path, "%s", keep);
   else
      snprintf(path, sizeof path, "/tmp/sono-conform-%d.trace", (int)getpid());
   sono_error_t err;
   sono_trace_t *t = sono_trace_open(path, &err);
   if (!t) {
      cf_fail("cannot open the trace: %s", err.message);
      cf_lib_close(&lib);
      return;
   }
   char note[64];
   snprintf(note, sizeof note, "seed %" PRIu64, cf_opt.seed);
   sono_trace_note(t, note);
   traced_session(&lib, t);
   uint64_t calls = sono_trace_call_count(t);
   uint32_t bad = sono_trace_violation_count(t);
   if (bad)
      cf_fail("plugin %s broke %u thread or lifecycle rule(s) under the call tracer; first: %s", lib.desc->id, bad,
              sono_trace_first_violation(t));
   sono_trace_close(t);
   cf_lib_close(&lib);
   if (!cf_failed()) {
      int replayed = cf_replay(path);
      if (replayed >= 0 && !cf_failed())
         cf_note("%" PRIu64 " calls traced, no rule broken; the trace replays (%d calls re-run)", calls, replayed);
   }
   if (!cf_failed() && !(keep && keep[0]))
      unlink(path);
}

/* ---- replay -------------------------------------------------------------------------- */

typedef struct rcall {
   uint64_t n;
   char what[48];        /* "plugin.process" */
   char args[256];
   char ret[32];
   long pushes;
} rcall_t;

static int parse_call(const char *line, rcall_t *c)
{
   char thread[16];
   int used = 0;
   memset(c, 0, sizeof *c);
   c->pushes = -1;
   if (sscanf(line, "call %" SCNu64 " %15s %47s %n", &c->n, thread, c->what, &used) != 3)
      return -1;
   const char *rest = line + used;
   const char *arrow = strstr(rest, "-> ");
   if (!arrow)
      return -1;
   size_t alen = (size_t)(arrow - rest);
   if (alen >= sizeof c->args)
      alen = sizeof c->args - 1;
   memcpy(c->args, rest, alen);
   c->args[alen] = '\0';
   sscanf(arrow + 3, "%31s", c->ret);
   const char *pu = strstr(arrow, "pushes=");
   if (pu)
      c->pushes = atol(pu + 7);
   return 0;
}

static uint32_t arg_u32(const char *args, const char *key)
{
   const char *p = strstr(args, key);
   return p ? (uint32_t)strtoul(p + strlen(key), NULL, 0) : 0;
}

typedef struct replayer {
   cf_lib_t lib;
   cf_inst_t inst;
   int have_inst;
   cf_out_t out;
   uint64_t seed;
   int seeded;
   int count;
} replayer_t;

static void replay_process(replayer_t *r, const rcall_t *c)
{
   cf_frame_spec_t spec = cf_spec(arg_u32(c->args, "nx="), arg_u32(c->args, "nz="), arg_u32(c->args, "ens="),
                                  arg_u32(c->args, "planes="));
   const char *s = strstr(c->args, "seq=");
   spec.sequence = s ? strtoull(s + 4, NULL, 10) : 0;
   if (!spec.nx || !spec.nz || !spec.ensemble) {
      cf_fail("trace call %" PRIu64 ": process arguments \"%s\" lack a geometry", c->n, c->args);
      return;
   }
   cf_frame_t f;
   if (build_traced_frame(&f, &spec, r->seeded ? r->seed : 0) != 0)
      return;
   const char *fp = strstr(c->args, "fnv=");
   char mine[24];
   snprintf(mine, sizeof mine, "%016" PRIx64, sono_trace_frame_fingerprint(f.frame));
   int same_input = fp && strncmp(fp + 4, mine, 16) == 0;
   int st = cf_process_frame(&r->inst, &r->out, f.frame, "replayed frame", NULL);
   cf_frame_free(&f);
   if (same_input && st != atoi(c->ret))
      cf_fail("trace call %" PRIu64 ": plugin.process returned %s in the recording and %d in the replay", c->n, c->ret,
              st);
   else if (same_input && c->pushes >= 0 && (long)r->out.pushes != c->pushes)
      cf_fail("trace call %" PRIu64 ": the same frame gave %ld pushed event(s) in the recording and %u in the replay",
              c->n, c->pushes, r->out.pushes);
}

static void replay_call(replayer_t *r, const rcall_t *c)
{
   cf_ctx("replaying trace call %" PRIu64 " %s %s", c->n, c->what, c->args);
   if (!strcmp(c->what, "plugin.init")) {
      if (r->have_inst)
         cf_inst_destroy(&r->inst);
      r->have_inst = cf_inst_create(&r->lib, &r->inst) == 0;
   } else if (!r->have_inst) {
      return;
   } else if (!strcmp(c->what, "plugin.activate")) {
      cf_frame_spec_t spec = cf_spec(arg_u32(c->args, "nx="), arg_u32(c->args, "nz="), arg_u32(c->args, "ens="),
                                     arg_u32(c->args, "planes="));
      sono_frame_format_t fmt;
      cf_format_for(&fmt, &spec);
      int st = r->inst.plugin->activate(r->inst.plugin, &fmt);
      r->inst.active = st == SONO_OK;
      if (st != atoi(c->ret))
         cf_fail("trace call %" PRIu64 ": plugin.activate returned %s in the recording and %d in the replay", c->n,
                 c->ret, st);
   } else if (!strcmp(c->what, "plugin.process") && r->inst.active) {
      replay_process(r, c);
   } else if (!strcmp(c->what, "plugin.deactivate")) {
      cf_inst_deactivate(&r->inst);
   } else if (!strcmp(c->what, "plugin.destroy")) {
      cf_inst_destroy(&r->inst);
      r->have_inst = 0;
   } else if (!strcmp(c->what, "params.set_value") && r->inst.params) {
      char key[SONO_PARAM_KEY_SIZE] = "";
      double v = NAN;
      const char *k = strstr(c->args, "key="), *val = strstr(c->args, "value=");
      if (k)
         sscanf(k + 4, "%63s", key);
      if (val)
         v = strtod(val + 6, NULL);
      int st = r->inst.params->set_value(r->inst.plugin, key, v);
      if (st != atoi(c->ret))
         cf_fail("trace call %" PRIu64 ": params.set_value(%s, %g) returned %s in the recording and %d in the replay",
                 c->n, key, v, c->ret, st);
   } else {
      return;
   }
   r->count++;
}

int cf_replay(const char *path)
{
   FILE *f = fopen(path, "r");
   if (!f) {
      cf_fail("%s: cannot open the trace", path);
      return -1;
   }
   replayer_t r;
   memset(&r, 0, sizeof r);
   char line[2048];
   if (!fgets(line, sizeof line, f) || strncmp(line, "# " SONO_TRACE_SCHEMA, strlen("# " SONO_TRACE_SCHEMA)) != 0) {
      cf_fail("%s: line 1: \"# %s\" expected", path, SONO_TRACE_SCHEMA);
      fclose(f);
      return -1;
   }
   if (cf_lib_open(&r.lib) != 0) {
      fclose(f);
      return -1;
   }
   cf_out_init(&r.out, 0);
   int lineno = 1;
   while (fgets(line, sizeof line, f)) {
      ++lineno;
      line[strcspn(line, "\n")] = '\0';
      rcall_t c;
      if (!strncmp(line, "# note seed ", 12)) {
         r.seed = strtoull(line + 12, NULL, 10);
         r.seeded = 1;
      } else if (!strncmp(line, "# note plugin ", 14) && strcmp(line + 14, r.lib.desc->id) != 0) {
         cf_fail("%s: line %d: the trace is of plugin %s, not %s", path, lineno, line + 14, r.lib.desc->id);
         break;
      } else if (!strncmp(line, "violation ", 10)) {
         cf_warn("%s: line %d: the recording itself shows a rule violation: %s", path, lineno, line + 10);
      } else if (!strncmp(line, "call ", 5)) {
         if (parse_call(line, &c) != 0) {
            cf_fail("%s: line %d: malformed call line", path, lineno);
            break;
         }
         replay_call(&r, &c);
         if (cf_failed())
            break;
      }
   }
   fclose(f);
   if (r.have_inst)
      cf_inst_destroy(&r.inst);
   cf_out_free(&r.out);
   cf_lib_close(&r.lib);
   if (!cf_failed())
      cf_note("%s: %d plugin call(s) re-run; statuses%s match the recording", path, r.count,
              r.seeded ? " and event counts" : "");
   return r.count;
}
