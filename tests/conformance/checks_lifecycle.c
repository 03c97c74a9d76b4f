/* Lifecycle checks: repetition, reinitialisation, reactivation, the host's
 * refusal of out-of-order calls, and the thread census. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sono/host/host.h>
#include "checks.h"

void cf_status_check(const cf_inst_t *inst, int status, const char *what)
{
   if (status != SONO_OK && status != SONO_ERROR)
      cf_fail("plugin %s process(%s) returned status %d; SONO_OK or SONO_ERROR expected", inst->plugin->desc->id,
              what, status);
}

int cf_process_frame(cf_inst_t *inst, cf_out_t *out, const sono_frame_t *frame, const char *what, uint64_t *dur_ns)
{
   cf_ctx("plugin %s process(frame %llu: %s)", inst->plugin->desc->id, (unsigned long long)frame->sequence, what);
   cf_out_begin(out, frame);
   uint64_t t0 = cf_now_ns();
   int st = inst->plugin->process(inst->plugin, frame, &out->out);
   if (dur_ns)
      *dur_ns = cf_now_ns() - t0;
   return st;
}

int cf_process_spec(cf_inst_t *inst, cf_out_t *out, const cf_frame_spec_t *spec, cf_rng_t *rng, uint64_t *dur_ns)
{
   cf_frame_t f;
   char what[200];
   cf_spec_text(spec, what, sizeof what);
   if (cf_frame_build(&f, spec, rng) != 0)
      return -100;
   int st = cf_process_frame(inst, out, f.frame, what, dur_ns);
   cf_status_check(inst, st, what);
   cf_frame_free(&f);
   return st;
}

void check_lifecycle_cycle(void)
{
   cf_lib_t lib;
   if (cf_lib_open(&lib) != 0)
      return;
   cf_rng_t rng;
   cf_rng_seed(&rng, cf_opt.seed, 11);
   cf_frame_spec_t spec = cf_spec(32, 32, 4, cf_planes_for(lib.desc));
   sono_frame_format_t fmt;
   cf_format_for(&fmt, &spec);
   cf_frame_t f;
   cf_out_t out;
   cf_out_init(&out, 0);
   if (cf_frame_build(&f, &spec, &rng) != 0)
      return;
   for (int round = 0; round < 100 && !cf_failed(); ++round) {
      cf_inst_t inst;
      cf_ctx("cycle %d of 100", round + 1);
      if (cf_inst_create(&lib, &inst) != 0) {
         cf_fail("cycle %d of 100: the instance could not be created", round + 1);
         break;
      }
      if (cf_inst_activate(&inst, &fmt) == 0) {
         int st = cf_process_frame(&inst, &out, f.frame, "32x32 cycle frame", NULL);
         cf_status_check(&inst, st, "32x32 cycle frame");
      }
      cf_inst_destroy(&inst);
   }
   cf_frame_free(&f);
   cf_out_free(&out);
   if (!cf_failed())
      cf_note("100 full cycles");
   cf_lib_close(&lib);
}

void check_lifecycle_reinit(void)
{
   for (int load = 0; load < 3 && !cf_failed(); ++load) {
      cf_lib_t lib;
      if (cf_lib_open(&lib) != 0)
         return;
      for (int k = 0; k < 5 && !cf_failed(); ++k) {
         cf_ctx("sono_entry deinit()/init() repetition %d (load %d)", k + 1, load + 1);
         lib.entry->deinit();
         if (!lib.entry->init(cf_opt.plugin)) {
            cf_fail("sono_entry.init() returned false after deinit() (repetition %d); it must tolerate being called again",
                    k + 1);
            lib.initialised = 0;
            break;
         }
         if (lib.entry->get_factory(SONO_PLUGIN_FACTORY_ID) == NULL)
            cf_fail("get_factory() returned NULL after init()/deinit() repetition %d", k + 1);
      }
      lib.factory = lib.entry->get_factory(SONO_PLUGIN_FACTORY_ID);
      if (lib.factory) {
         lib.desc = lib.factory->get_plugin_descriptor(lib.factory, 0);
         cf_inst_t inst;
         if (lib.desc && cf_inst_create(&lib, &inst) == 0)
            cf_inst_destroy(&inst);
      }
      cf_lib_close(&lib);
   }
   if (!cf_failed())
      cf_note("3 loads, each with 5 deinit/init repetitions and an instance");
}

void check_lifecycle_reactivate(void)
{
   cf_lib_t lib;
   cf_inst_t inst;
   if (cf_lib_open(&lib) != 0 || cf_inst_create(&lib, &inst) != 0)
      return;
   cf_rng_t rng;
   cf_rng_seed(&rng, cf_opt.seed, 12);
   cf_out_t out;
   cf_out_init(&out, 0);
   const uint32_t geo[][3] = {{64, 48, 8}, {256, 192, 16}, {16, 16, 1}, {200, 300, 12}};
   uint64_t seq = 0;
   for (int g = 0; g < 4 && !cf_failed(); ++g) {
      cf_frame_spec_t spec = cf_spec(geo[g][0], geo[g][1], geo[g][2], cf_planes_for(lib.desc));
      sono_frame_format_t fmt;
      cf_format_for(&fmt, &spec);
      if (cf_inst_activate(&inst, &fmt) != 0)
         break;
      for (int k = 0; k < 3; ++k) {
         spec.sequence = seq++;
         cf_process_spec(&inst, &out, &spec, &rng, NULL);
      }
      /* A smaller frame than activated for is allowed. */
      cf_frame_spec_t small = cf_spec(geo[g][0] / 2 + 1, geo[g][1] / 2 + 1, geo[g][2], spec.planes);
      small.sequence = seq++;
      cf_process_spec(&inst, &out, &small, &rng, NULL);
      cf_inst_deactivate(&inst);
   }
   cf_out_free(&out);
   if (!cf_failed())
      cf_note("4 geometries, each activated, processed (also a smaller frame) and deactivated");
   cf_inst_destroy(&inst);
   cf_lib_close(&lib);
}

static int trace_mentions(const char *path, const char *needle)
{
   FILE *f = fopen(path, "r");
   if (!f)
      return -1;
   char line[1024];
   int found = 0;
   while (!found && fgets(line, sizeof line, f))
      found = strstr(line, needle) != NULL;
   fclose(f);
   return found;
}

void check_lifecycle_refused(void)
{
   if (!cf_opt.have_manifest) {
      cf_fail("the host shim needs a valid manifest: %s", cf_opt.manifest_error);
      return;
   }
   char trace[64];
   snprintf(trace, sizeof trace, "/tmp/sono-conform-refused-%d.trace", (int)getpid());
   unlink(trace);
   setenv("SONO_TRACE", trace, 1);
   sono_error_t err;
   cf_ctx("sono_host_library_load(\"%s\")", cf_opt.manifest_path);
   sono_host_library_t *lib = sono_host_library_load(cf_opt.manifest_path, &err);
   if (!lib) {
      cf_fail("the host refuses to load the plugin: %s", err.message);
      return;
   }
   sono_host_instance_t *in = sono_host_instance_create(lib, NULL, NULL, &err);
   if (!in) {
      cf_fail("the host cannot create an instance: %s", err.message);
      sono_host_library_unload(lib, &err);
      return;
   }
   cf_fault_handler_install(sono_host_instance_descriptor(in)->id);
   cf_rng_t rng;
   cf_rng_seed(&rng, cf_opt.seed, 13);
   cf_frame_spec_t spec = cf_spec(32, 32, 4, cf_planes_for(sono_host_instance_descriptor(in)));
   cf_frame_t f;
   if (cf_frame_build(&f, &spec, &rng) == 0) {
      cf_ctx("sono_host_instance_process() before activate()");
      err.message[0] = '\0';
      if (sono_host_instance_process(in, f.frame, &err) == 0)
         cf_fail("sono_host_instance_process() before activate() returned 0; the host must refuse it");
      else if (!err.message[0])
         cf_fail("sono_host_instance_process() before activate() was refused without an error message");
      if (sono_host_instance_state(in) != SONO_HOST_STATE_INITIALISED)
         cf_fail("after a refused process() the instance state is %d, not INITIALISED",
                 (int)sono_host_instance_state(in));
      cf_ctx("sono_host_instance_deactivate() before activate()");
      if (sono_host_instance_deactivate(in, &err) == 0)
         cf_fail("sono_host_instance_deactivate() before activate() returned 0; the host must refuse it");
      sono_frame_format_t fmt;
      cf_format_for(&fmt, &spec);
      if (sono_host_instance_activate(in, &fmt, &err) != 0)
         cf_fail("sono_host_instance_activate() failed: %s", err.message);
      else if (sono_host_instance_activate(in, &fmt, &err) == 0)
         cf_fail("a second sono_host_instance_activate() without deactivate() returned 0; the host must refuse it");
      cf_frame_free(&f);
   }
   sono_host_instance_destroy(in);
   sono_host_library_unload(lib, &err);
   unsetenv("SONO_TRACE");
   int seen = trace_mentions(trace, " plugin.process ");
   if (seen < 0)
      cf_note("host tracing (SONO_TRACE) wrote no trace: refusal verified at the host API only");
   else if (seen > 0)
      cf_fail("the plugin received process() although the host refused the call (trace %s)", trace);
   else if (trace_mentions(trace, " plugin.activate ") <= 0)
      cf_warn("the host trace %s shows no activate(): the trace does not cover this instance", trace);
   else {
      cf_note("refused by the host; the host trace shows the plugin never received process()");
      unlink(trace);
   }
}

void check_lifecycle_threads(void)
{
   char names[4096];
   int before = cf_thread_census(NULL, 0);
   cf_lib_t lib;
   if (cf_lib_open(&lib) != 0)
      return;
   int after_init = cf_thread_census(NULL, 0);
   cf_rng_t rng;
   cf_rng_seed(&rng, cf_opt.seed, 14);
   cf_out_t out;
   cf_out_init(&out, 0);
   for (int round = 0; round < 3 && !cf_failed(); ++round) {
      cf_inst_t inst;
      if (cf_inst_create(&lib, &inst) != 0)
         break;
      cf_frame_spec_t spec = cf_spec(48, 40, 4, cf_planes_for(lib.desc));
      sono_frame_format_t fmt;
      cf_format_for(&fmt, &spec);
      if (cf_inst_activate(&inst, &fmt) == 0)
         for (int k = 0; k < 2; ++k) {
            spec.sequence = (uint64_t)k;
            cf_process_spec(&inst, &out, &spec, &rng, NULL);
         }
      cf_inst_destroy(&inst);
      /* Give a thread that is exiting a moment to leave /proc. */
      int now = cf_thread_census(NULL, 0);
      for (int wait = 0; wait < 20 && now > after_init; ++wait) {
         usleep(5000);
         now = cf_thread_census(NULL, 0);
      }
      if (now > after_init) {
         cf_thread_census(names, sizeof names);
         cf_fail("plugin %s left %d thread(s) running after destroy() (round %d); threads now: %s", lib.desc->id,
                 now - after_init, round + 1, names);
      }
   }
   cf_out_free(&out);
   char id[160];
   snprintf(id, sizeof id, "%s", lib.desc->id);
   if (lib.initialised) {
      cf_ctx("sono_entry.deinit()");
      lib.entry->deinit();
      lib.initialised = 0;
   }
   int now = cf_thread_census(NULL, 0);
   for (int wait = 0; wait < 20 && now > before; ++wait) {
      usleep(5000);
      now = cf_thread_census(NULL, 0);
   }
   if (now > before) {
      cf_thread_census(names, sizeof names);
      cf_fail("plugin %s left %d thread(s) running after deinit(); dlclose would unmap their code; threads now: %s",
              id, now - before, names);
      return; /* never dlclose under a live thread */
   }
   cf_note("%d thread(s) before load, %d after destroy and deinit", before, now);
   cf_lib_close(&lib);
}
