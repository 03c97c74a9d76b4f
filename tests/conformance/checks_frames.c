/* Frame checks: geometries, degenerate data, read-only inputs, event
 * validity and the per-frame event cap. */
#include <stdio.h>
#include <string.h>
#include "checks.h"

typedef struct session {
   cf_lib_t lib;
   cf_inst_t inst;
   cf_out_t out;
   cf_rng_t rng;
} session_t;

static int session_open(session_t *s, uint64_t stream)
{
   cf_rng_seed(&s->rng, cf_opt.seed, stream);
   cf_out_init(&s->out, 0);
   if (cf_lib_open(&s->lib) != 0)
      return -1;
   return cf_inst_create(&s->lib, &s->inst);
}

static void session_close(session_t *s)
{
   cf_inst_destroy(&s->inst);
   cf_lib_close(&s->lib);
   cf_out_free(&s->out);
}

/* Activates for `spec`; an UNSUPPORTED geometry is noted, not failed. */
static int activate_for(session_t *s, const cf_frame_spec_t *spec)
{
   sono_frame_format_t fmt;
   cf_format_for(&fmt, spec);
   cf_ctx("plugin %s activate(max %ux%u, ensemble %u)", s->lib.desc->id, spec->nx, spec->nz, spec->ensemble);
   sono_status_t st = s->inst.plugin->activate(s->inst.plugin, &fmt);
   if (st == SONO_ERROR_UNSUPPORTED) {
      cf_note("activate(%ux%u, ensemble %u) answered UNSUPPORTED", spec->nx, spec->nz, spec->ensemble);
      return -1;
   }
   if (st != SONO_OK) {
      cf_fail("plugin %s activate(max %ux%u, ensemble %u) returned status %d", s->lib.desc->id, spec->nx, spec->nz,
              spec->ensemble, (int)st);
      return -1;
   }
   s->inst.active = 1;
   return 0;
}

/* Reports the first invalid event seen by `out`, once. */
static void report_invalid(const session_t *s, const char *where)
{
   if (s->out.invalid)
      cf_fail("plugin %s pushed %u invalid event(s) (%s); first, in frame %llu: %s", s->lib.desc->id, s->out.invalid,
              where, (unsigned long long)s->out.first_invalid_frame, s->out.first_invalid);
}

void check_frames_random(void)
{
   session_t s;
   if (session_open(&s, 21) != 0)
      return;
   static const uint32_t geo[][3] = {{1, 1, 1},   {1, 7, 2},     {7, 1, 3},      {3, 5, 64},     {16, 16, 64},
                                     {64, 48, 8}, {128, 128, 32}, {384, 256, 16}, {1024, 1024, 4}};
   uint32_t planes = cf_planes_for(s.lib.desc);
   int errors = 0, frames = 0;
   for (size_t g = 0; g < sizeof geo / sizeof geo[0] && !cf_failed(); ++g) {
      cf_frame_spec_t spec = cf_spec(geo[g][0], geo[g][1], geo[g][2], planes);
      if (activate_for(&s, &spec) != 0)
         continue;
      for (int k = 0; k < 2 && !cf_failed(); ++k) {
         cf_frame_spec_t f = spec;
         /* Second frame: random size within the activated maximum. */
         if (k == 1) {
            f.nx = 1 + cf_rng_below(&s.rng, spec.nx);
            f.nz = 1 + cf_rng_below(&s.rng, spec.nz);
            f.ensemble = 1 + cf_rng_below(&s.rng, spec.ensemble);
         }
         f.sequence = (uint64_t)frames++;
         int st = cf_process_spec(&s.inst, &s.out, &f, &s.rng, NULL);
         errors += st == SONO_ERROR;
      }
      cf_inst_deactivate(&s.inst);
   }
   if (errors)
      cf_warn("process() returned SONO_ERROR on %d of %d valid random frames", errors, frames);
   else if (!cf_failed())
      cf_note("%d frames at %zu geometries processed", frames, sizeof geo / sizeof geo[0]);
   session_close(&s);
}

void check_frames_degenerate(void)
{
   session_t s;
   if (session_open(&s, 22) != 0)
      return;
   uint32_t planes = cf_planes_for(s.lib.desc);
   cf_frame_spec_t base = cf_spec(64, 64, 8, planes);
   if (activate_for(&s, &base) != 0) {
      session_close(&s);
      return;
   }
   cf_frame_spec_t cases[12];
   int n = 0;
   for (int fill = CF_FILL_ZEROS; fill <= CF_FILL_EXTREME; ++fill) {
      cases[n] = base;
      cases[n++].fill = fill;
   }
   cases[n] = base, cases[n++].prf_hz = 1.0;
   cases[n] = base, cases[n++].prf_hz = 1.0e6;
   cases[n] = base, cases[n++].center_frequency_hz = 0.0;
   cases[n] = base, cases[n++].center_frequency_hz = 1.0e8;
   cases[n] = base, cases[n++].ensemble = 1;
   for (int i = 0; i < n && !cf_failed(); ++i) {
      cases[i].sequence = (uint64_t)i;
      cf_process_spec(&s.inst, &s.out, &cases[i], &s.rng, NULL);
      char what[200];
      report_invalid(&s, cf_spec_text(&cases[i], what, sizeof what));
   }
   if (!cf_failed())
      cf_note("%d degenerate frames processed, all events valid", n);
   session_close(&s);
}

void check_frames_readonly(void)
{
   session_t s;
   if (session_open(&s, 23) != 0)
      return;
   /* Every plane kind, so a plugin writing any plane it reads is caught. */
   cf_frame_spec_t spec = cf_spec(64, 48, 8, SONO_PLANE_BIT(SONO_PLANE_KIND_COUNT) - 1);
   if (activate_for(&s, &spec) == 0)
      for (int k = 0; k < 4 && !cf_failed(); ++k) {
         spec.sequence = (uint64_t)k;
         cf_process_spec(&s.inst, &s.out, &spec, &s.rng, NULL);
      }
   if (!cf_failed())
      cf_note("4 frames in read-only pages: no write, no read past a plane");
   session_close(&s);
}

void check_frames_outputs(void)
{
   session_t s;
   if (session_open(&s, 24) != 0)
      return;
   cf_frame_spec_t spec = cf_spec(128, 96, 8, cf_planes_for(s.lib.desc));
   uint32_t events = 0;
   if (activate_for(&s, &spec) == 0)
      for (int k = 0; k < 20 && !cf_failed(); ++k) {
         spec.sequence = (uint64_t)k;
         cf_process_spec(&s.inst, &s.out, &spec, &s.rng, NULL);
         events += s.out.accepted;
         report_invalid(&s, "random 128x96 frames");
      }
   if (!cf_failed())
      cf_note("20 frames, %u valid events", events);
   session_close(&s);
}

void check_frames_flood(void)
{
   session_t s;
   if (session_open(&s, 25) != 0)
      return;
   cf_frame_spec_t spec = cf_spec(128, 96, 8, cf_planes_for(s.lib.desc));
   uint32_t worst = 0;
   uint64_t worst_frame = 0;
   if (activate_for(&s, &spec) == 0)
      for (int k = 0; k < 10 && !cf_failed(); ++k) {
         spec.sequence = (uint64_t)k;
         cf_process_spec(&s.inst, &s.out, &spec, &s.rng, NULL);
         if (s.out.pushes > worst) {
            worst = s.out.pushes;
            worst_frame = spec.sequence;
         }
      }
   if (worst > CF_EVENT_CAP)
      cf_fail("plugin %s pushed %u events in frame %llu; the cap is %u per frame (the host refuses the rest)",
              s.lib.desc->id, worst, (unsigned long long)worst_frame, CF_EVENT_CAP);
   else if (!cf_failed())
      cf_note("at most %u events per frame (cap %u)", worst, CF_EVENT_CAP);
   session_close(&s);
}
