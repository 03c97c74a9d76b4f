/* A session: recording -> Doppler core -> plugins -> results. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <sono/dsp/pipeline.h>
#include <sono/host/session.h>
#include <sono/sdk/names.h>

#include "internal.h"
#include "session_gate.h"

#define DERIVABLE                                                                                       \
   (SONO_PLANE_BIT(SONO_PLANE_BMODE) | SONO_PLANE_BIT(SONO_PLANE_VELOCITY) | SONO_PLANE_BIT(SONO_PLANE_POWER) | \
    SONO_PLANE_BIT(SONO_PLANE_VARIANCE))

typedef struct session_plugin {
   sono_host_library_t *lib;
   sono_host_instance_t *inst;
   sono_manifest_t manifest;     /* copy: valid even when loading failed */
   int results_index;
   const char *status;           /* "ok", "refused", "failed", "quarantined" */
   char error[SONO_ERROR_MESSAGE_SIZE];
   int isolated;                 /* runs in a sandboxed child process */
   uint32_t consecutive_failures;
   uint64_t frames_processed;
   uint64_t *durations_ns;       /* one per frame, for median / p99 */
   uint64_t findings[3];         /* by status */
} session_plugin_t;

struct sono_session {
   sono_session_options_t opt;
   sono_recording_t *rec;
   sono_recording_info_t info;
   session_plugin_t *plugins;
   uint32_t plugin_count;
   uint32_t planes_needed;       /* union over running plugins */
   sono_dsp_pipeline_t *dsp;
   session_gate_t *gate;         /* NULL: no spectral gate */
   session_gate_values_t gate_values;
   int gate_ran;                 /* this frame carries a spectrogram */
   sono_results_t *results;
   uint32_t frames_done;
   double seconds;
   const sono_event_store_t **sets; /* per-frame scratch, plugin_count long */
   const char **ids;
};

void sono_session_options_default(sono_session_options_t *o)
{
   memset(o, 0, sizeof *o);
   o->smoothing = 1;
   o->images = 1;
   o->run_mode = SONO_HOST_RUN_AUTO;
   o->trusted_vendor = "sonoplug";
   o->display_planes = SONO_PLANE_BIT(SONO_PLANE_BMODE) | SONO_PLANE_BIT(SONO_PLANE_VELOCITY) |
                       SONO_PLANE_BIT(SONO_PLANE_POWER);
}

static int is_running(const session_plugin_t *p) { return p->inst && strcmp(p->status, "ok") == 0; }

static void refuse_plugin(session_plugin_t *p, const char *status, const char *why)
{
   p->status = status;
   snprintf(p->error, sizeof p->error, "%s", why);
}

static int list_manifests(const sono_session_options_t *o, sono_host_listing_t **items, sono_error_t *err)
{
   if (!o->only_plugin)
      return sono_host_scan(o->plugin_dir, items, err);
   *items = calloc(1, sizeof **items);
   if (!*items)
      return sono_error_set(err, "out of memory");
   char path[SONO_PATH_SIZE];
   sono_host_manifest_path_for(o->only_plugin, path, sizeof path);
   (*items)->ok = sono_manifest_load(path, &(*items)->manifest, err) == 0;
   if (!(*items)->ok)
      snprintf((*items)->error, sizeof (*items)->error, "%s", err->message);
   snprintf((*items)->manifest.path, sizeof (*items)->manifest.path, "%s", path);
   return 1;
}

/* Third-party plugins run isolated by default; a trusted vendor's, or one
 * whose manifest forbids isolation, in-process. */
static int runs_isolated(const sono_session_options_t *o, const sono_manifest_t *m)
{
   if (o->run_mode == SONO_HOST_RUN_ISOLATED || o->run_mode == SONO_HOST_RUN_IN_PROCESS)
      return o->run_mode == SONO_HOST_RUN_ISOLATED;
   return m->may_isolate && !(o->trusted_vendor && strcmp(m->vendor, o->trusted_vendor) == 0);
}

static void load_plugin(sono_session_t *s, session_plugin_t *p, const sono_host_listing_t *item)
{
   sono_error_t err;
   p->manifest = item->manifest;
   p->status = "ok";
   p->durations_ns = calloc(s->info.frame_count ? s->info.frame_count : 1, sizeof *p->durations_ns);
   if (!item->ok)
      return refuse_plugin(p, "refused", item->error);
   /* Isolated: the binary is opened only in the sandboxed child. */
   p->isolated = runs_isolated(&s->opt, &item->manifest);
   p->lib = p->isolated ? sono_host_library_load_isolated(item->manifest.path, &err)
                        : sono_host_library_load(item->manifest.path, &err);
   if (!p->lib)
      return refuse_plugin(p, "refused", err.message);
   sono_host_instance_options_t opt = {0, 0, p->isolated ? SONO_HOST_RUN_ISOLATED : SONO_HOST_RUN_IN_PROCESS,
                                       s->opt.policy};
   p->inst = sono_host_instance_create(p->lib, NULL, &opt, &err);
   if (!p->inst)
      return refuse_plugin(p, "refused", err.message);
}

static int load_plugins(sono_session_t *s, sono_error_t *err)
{
   sono_host_listing_t *items = NULL;
   int n = list_manifests(&s->opt, &items, err);
   if (n < 0)
      return -1;
   s->plugins = calloc(n ? (size_t)n : 1, sizeof *s->plugins);
   s->sets = calloc(n ? (size_t)n : 1, sizeof *s->sets);
   s->ids = calloc(n ? (size_t)n : 1, sizeof *s->ids);
   if (!s->plugins || !s->sets || !s->ids) {
      free(items);
      return sono_error_set(err, "out of memory loading plugins");
   }
   s->plugin_count = (uint32_t)n;
   for (int i = 0; i < n; ++i)
      load_plugin(s, &s->plugins[i], &items[i]);
   free(items);
   if (n == 0)
      return sono_error_set(err, "%s: no plugin manifests (*.sono.json) found",
                            s->opt.only_plugin ? s->opt.only_plugin : s->opt.plugin_dir);
   return 0;
}

/* The colour pipeline needs an ensemble (>= 2) and bounds it (<= 4096);
 * a long pulsed-wave gate recording gets its spectrogram only. */
static int doppler_possible(const sono_session_t *s)
{
   uint32_t n = s->info.acquisition.ensemble_size;
   return (s->info.planes_present & SONO_PLANE_BIT(SONO_PLANE_IQ)) && n >= 2 && n <= 4096;
}

static uint32_t planes_available(const sono_session_t *s)
{
   uint32_t have = s->info.planes_present;
   if (doppler_possible(s))
      have |= DERIVABLE;
   if (s->gate)
      have |= SONO_PLANE_BIT(SONO_PLANE_SPECTROGRAM);
   return have;
}

static void fill_format(const sono_session_t *s, sono_frame_format_t *f)
{
   memset(f, 0, sizeof *f);
   f->struct_size = sizeof *f;
   f->planes_available = planes_available(s);
   f->max_nx = s->info.grid.nx;
   f->max_nz = s->info.grid.nz;
   f->max_ensemble = s->info.acquisition.ensemble_size ? s->info.acquisition.ensemble_size : 1;
   f->max_frame_rate_hz = s->info.acquisition.frame_rate_hz;
   f->grid = s->info.grid;
   f->acquisition = s->info.acquisition;
}

static const char *first_missing_plane(uint32_t needed, uint32_t have)
{
   for (int k = 0; k < SONO_PLANE_KIND_COUNT; ++k)
      if ((needed & SONO_PLANE_BIT(k)) && !(have & SONO_PLANE_BIT(k)))
         return sono_plane_kind_name(k);
   return NULL;
}

static void activate_plugins(sono_session_t *s)
{
   sono_frame_format_t format;
   fill_format(s, &format);
   for (uint32_t i = 0; i < s->plugin_count; ++i) {
      session_plugin_t *p = &s->plugins[i];
      sono_error_t err;
      char why[SONO_ERROR_MESSAGE_SIZE];
      if (!is_running(p))
         continue;
      const char *missing = first_missing_plane(p->manifest.planes_needed, format.planes_available);
      if (missing) {
         snprintf(why, sizeof why, "%s: needs the %s plane, which %s cannot provide", p->manifest.id, missing,
                  s->opt.recording);
         refuse_plugin(p, "refused", why);
      } else if (sono_host_instance_activate(p->inst, &format, &err) < 0) {
         refuse_plugin(p, "refused", err.message);
      } else {
         s->planes_needed |= p->manifest.planes_needed;
      }
   }
}

/* The filter the scanner used, when the recording names it. Otherwise:
 * tissue clutter dominates facial scans, so with an ensemble long enough to
 * spare three degrees of freedom a quadratic regression filter is the
 * default; short ensembles are left unfiltered. */
static const char *default_wall(const sono_recording_info_t *info)
{
   if (info->wall_filter[0])
      return info->wall_filter;
   return info->acquisition.ensemble_size >= 8 ? "poly:2" : "none";
}

/* Planes the Doppler core computes per frame: what plugins need, plus what
 * the frame hook displays. */
static uint32_t planes_to_derive(const sono_session_t *s)
{
   uint32_t want = s->planes_needed;
   if (s->opt.images && s->opt.frame_hook)
      want |= s->opt.display_planes;
   return doppler_possible(s) ? want & DERIVABLE & ~s->info.planes_present : 0;
}

static int open_dsp(sono_session_t *s, sono_error_t *err)
{
   uint32_t derive = planes_to_derive(s);
   if (!derive)
      return 0;
   sono_dsp_config_t cfg;
   char msg[512];
   sono_dsp_config_default(&cfg);
   cfg.smoothing = s->opt.smoothing ? s->opt.smoothing : 1;
   const char *wall = s->opt.wall ? s->opt.wall : default_wall(&s->info);
   if (sono_dsp_parse_wall(wall, &cfg, msg, sizeof msg) < 0)
      return sono_error_set(err, "wall filter \"%s\": %s", wall, msg);
   sono_results_set_processing(s->results, wall, cfg.lag, cfg.smoothing);
   s->dsp = sono_dsp_pipeline_create(&cfg, s->info.grid.nz, s->info.grid.nx,
                                     s->info.acquisition.ensemble_size ? s->info.acquisition.ensemble_size : 1, msg,
                                     sizeof msg);
   if (!s->dsp)
      return sono_error_set(err, "Doppler core: %s", msg);
   return 0;
}

static int prepare_output(sono_session_t *s, sono_error_t *err)
{
   if (!s->opt.out_dir)
      return 0;
   if (mkdir(s->opt.out_dir, 0755) < 0 && errno != EEXIST)
      return sono_error_set(err, "%s: cannot create output folder: %s", s->opt.out_dir, strerror(errno));
   return 0;
}

sono_session_t *sono_session_open(const sono_session_options_t *o, sono_error_t *err)
{
   sono_session_t *s = calloc(1, sizeof *s);
   if (!s) {
      sono_error_set(err, "out of memory");
      return NULL;
   }
   s->opt = *o;
   s->rec = sono_recording_open(o->recording, err);
   if (!s->rec) {
      free(s);
      return NULL;
   }
   s->info = *sono_recording_get_info(s->rec);
   if (!o->quiet && sono_recording_warnings(s->rec)[0])
      fprintf(stderr, "warning: %s", sono_recording_warnings(s->rec));
   s->results = sono_results_create(o->recording, &s->info);
   sono_error_clear(err);
   s->gate = session_gate_create(&s->info, err);
   if ((!s->gate && err && err->message[0]) || prepare_output(s, err) < 0 || load_plugins(s, err) < 0) {
      sono_session_close(s);
      return NULL;
   }
   activate_plugins(s);
   if (open_dsp(s, err) < 0) {
      sono_session_close(s);
      return NULL;
   }
   for (uint32_t i = 0; i < s->plugin_count; ++i)
      s->plugins[i].results_index = sono_results_add_plugin(s->results, &s->plugins[i].manifest);
   return s;
}

/* ---- per frame ----------------------------------------------------------- */

typedef struct frame_buf {
   sono_plane_t planes[2 * SONO_PLANE_KIND_COUNT];
   sono_frame_t frame;
} frame_buf;

static const sono_plane_t *find_plane(const sono_plane_t *planes, int n, sono_plane_kind_t kind)
{
   for (int i = 0; i < n; ++i)
      if (planes[i].kind == kind)
         return &planes[i];
   return NULL;
}

static int assemble_frame(sono_session_t *s, uint32_t index, frame_buf *fb, sono_error_t *err)
{
   int n = sono_recording_frame(s->rec, index, fb->planes, err);
   if (n < 0)
      return -1;
   sono_frame_t *f = &fb->frame;
   memset(f, 0, sizeof *f);
   f->struct_size = sizeof *f;
   f->grid = s->info.grid;
   f->acquisition = s->info.acquisition;
   f->sequence = index;
   double rate = s->info.acquisition.frame_rate_hz > 0 ? s->info.acquisition.frame_rate_hz : 1.0;
   f->timestamp_ns = (uint64_t)((double)index / rate * 1e9);
   const sono_plane_t *iq = find_plane(fb->planes, n, SONO_PLANE_IQ);
   if (s->dsp && iq) {
      char msg[512];
      int k = sono_dsp_pipeline_run(s->dsp, iq, &s->info.acquisition, planes_to_derive(s), fb->planes + n, &f->acquisition, msg,
                                    sizeof msg);
      if (k < 0)
         return sono_error_set(err, "%s: frame %u: Doppler core: %s", s->opt.recording, index, msg);
      n += k;
   }
   s->gate_ran = 0;
   if (s->gate && iq) {
      if (session_gate_run(s->gate, iq, f, &fb->planes[n], &s->gate_values, err) < 0)
         return sono_error_prefix(err, "%s: frame %u", s->opt.recording, index);
      s->gate_ran = 1;
      ++n;
   }
   f->planes = fb->planes;
   f->plane_count = (uint32_t)n;
   return 0;
}

static void count_findings(session_plugin_t *p, const sono_event_store_t *ev)
{
   for (uint32_t i = 0; i < sono_event_store_count(ev); ++i) {
      const sono_event_header_t *h = sono_event_store_get(ev, i);
      if (h->type == SONO_EVENT_FINDING) {
         sono_finding_status_t st = ((const sono_event_finding_t *)h)->status;
         if (st >= 0 && st < 3)
            p->findings[st]++;
      }
   }
}

static void note_failure(sono_session_t *s, session_plugin_t *p, const char *reason)
{
   sono_results_add_failure(s->results, p->manifest.id, reason);
   if (!s->opt.quiet)
      fprintf(stderr, "\n%s\n", reason);
   ++p->consecutive_failures;
   if (p->isolated) {
      /* The isolation policy restarts or quarantines; the session follows it. */
      if (sono_host_instance_state(p->inst) == SONO_HOST_STATE_FAILED)
         refuse_plugin(p, "quarantined", reason);
      return;
   }
   if (p->consecutive_failures >= SONO_SESSION_QUARANTINE_AFTER) {
      char why[SONO_ERROR_MESSAGE_SIZE + 64];
      snprintf(why, sizeof why, "quarantined after %u consecutive failures; last: %s", p->consecutive_failures,
               reason);
      refuse_plugin(p, "quarantined", why);
   }
}

static void run_plugin(sono_session_t *s, session_plugin_t *p, const sono_frame_t *f, uint32_t *nsets)
{
   sono_error_t err;
   int rc = sono_host_instance_process(p->inst, f, &err);
   uint64_t ns = sono_host_instance_last_duration_ns(p->inst);
   p->durations_ns[p->frames_processed++] = ns;
   sono_results_add_timing(s->results, p->manifest.id, ns);
   const sono_event_store_t *ev = sono_host_instance_events(p->inst);
   sono_results_add_events(s->results, p->manifest.id, ev);
   count_findings(p, ev);
   if (sono_host_instance_rejected_last(p->inst) && !s->opt.quiet)
      fprintf(stderr, "\n%u event(s) dropped; last: %s\n", sono_host_instance_rejected_last(p->inst),
              sono_host_instance_last_diagnostic(p->inst));
   if (rc < 0)
      note_failure(s, p, err.message);
   else
      p->consecutive_failures = 0;
   s->sets[*nsets] = ev;
   s->ids[(*nsets)++] = p->manifest.id;
}

static void progress(const sono_session_t *s, uint32_t done, uint32_t total, double elapsed)
{
   if (s->opt.progress)
      fprintf(stderr, "\rframe %u/%u  %.1f frames/s ", done, total, elapsed > 0 ? done / elapsed : 0.0);
}

static double now_s(void)
{
   struct timespec ts;
   clock_gettime(CLOCK_MONOTONIC, &ts);
   return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int process_frame(sono_session_t *s, uint32_t index, frame_buf *fb, sono_error_t *err)
{
   if (assemble_frame(s, index, fb, err) < 0)
      return -1;
   sono_results_begin_frame(s->results, index, fb->frame.timestamp_ns);
   uint32_t nsets = 0;
   for (uint32_t i = 0; i < s->plugin_count; ++i)
      if (is_running(&s->plugins[i]))
         run_plugin(s, &s->plugins[i], &fb->frame, &nsets);
   if (s->opt.images && s->opt.frame_hook) {
      const char *image = s->opt.frame_hook(s->opt.hook_ctx, &fb->frame, s->sets, s->ids, nsets);
      if (image)
         sono_results_set_image(s->results, image);
   }
   if (s->gate_ran) {
      const session_gate_values_t *v = &s->gate_values;
      const char *strip = s->opt.images && s->opt.spectral_hook
                             ? s->opt.spectral_hook(s->opt.hook_ctx, &fb->frame, v->psv_m_s, v->edv_m_s, v->ri)
                             : NULL;
      sono_results_set_spectral(s->results, strip, v->psv_m_s, v->edv_m_s, v->ri);
   }
   return 0;
}

static void finish_plugins(sono_session_t *s)
{
   for (uint32_t i = 0; i < s->plugin_count; ++i) {
      session_plugin_t *p = &s->plugins[i];
      uint64_t rejected = p->inst ? sono_host_instance_rejected_total(p->inst) : 0;
      sono_results_plugin_status(s->results, p->results_index, p->status, p->frames_processed, rejected,
                                 p->error[0] ? p->error : NULL);
      if (p->lib)
         sono_results_plugin_field(s->results, p->results_index, "run_mode", p->isolated ? "isolated" : "in-process");
   }
}

int sono_session_run(sono_session_t *s, sono_error_t *err)
{
   uint32_t total = s->info.frame_count;
   if (s->opt.max_frames && s->opt.max_frames < total)
      total = s->opt.max_frames;
   frame_buf *fb = calloc(1, sizeof *fb);
   if (!fb)
      return sono_error_set(err, "out of memory");
   double t0 = now_s();
   int rc = 0;
   for (uint32_t i = 0; i < total && rc == 0; ++i) {
      rc = process_frame(s, i, fb, err);
      s->frames_done = i + 1;
      progress(s, i + 1, total, now_s() - t0);
   }
   s->seconds = now_s() - t0;
   if (s->opt.progress)
      fprintf(stderr, "\n");
   free(fb);
   finish_plugins(s);
   if (rc == 0 && s->opt.out_dir) {
      char path[SONO_PATH_SIZE];
      snprintf(path, sizeof path, "%s/results.json", s->opt.out_dir);
      rc = sono_results_write(s->results, path, err);
   }
   return rc;
}

void sono_session_close(sono_session_t *s)
{
   if (!s)
      return;
   for (uint32_t i = 0; i < s->plugin_count; ++i) {
      session_plugin_t *p = &s->plugins[i];
      sono_host_instance_destroy(p->inst);
      if (p->lib)
         sono_host_library_unload(p->lib, NULL);
      free(p->durations_ns);
   }
   free(s->plugins);
   free(s->sets);
   free(s->ids);
   sono_dsp_pipeline_destroy(s->dsp);
   session_gate_destroy(s->gate);
   sono_results_destroy(s->results);
   sono_recording_close(s->rec);
   free(s);
}

/* ---- summary ------------------------------------------------------------- */

static int cmp_u64(const void *a, const void *b)
{
   uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
   return (x > y) - (x < y);
}

void sono_session_print_summary(const sono_session_t *s, FILE *f)
{
   fprintf(f, "%u frame(s) of %s in %.2f s (%.1f frames/s)\n", s->frames_done, s->opt.recording, s->seconds,
           s->seconds > 0 ? s->frames_done / s->seconds : 0.0);
   for (uint32_t i = 0; i < s->plugin_count; ++i) {
      session_plugin_t *p = &s->plugins[i];
      double med = 0, p99 = 0;
      if (p->frames_processed) {
         qsort(p->durations_ns, p->frames_processed, sizeof *p->durations_ns, cmp_u64);
         med = p->durations_ns[p->frames_processed / 2] * 1e-6;
         p99 = p->durations_ns[(size_t)((p->frames_processed - 1) * 0.99)] * 1e-6;
      }
      fprintf(f, "  %-30s %-11s frames %-4llu detected %-3llu indeterminate %-3llu not detected %-3llu "
                 "time median %.3f ms p99 %.3f ms\n",
              p->manifest.id[0] ? p->manifest.id : p->manifest.path, p->status,
              (unsigned long long)p->frames_processed, (unsigned long long)p->findings[SONO_STATUS_DETECTED],
              (unsigned long long)p->findings[SONO_STATUS_INDETERMINATE],
              (unsigned long long)p->findings[SONO_STATUS_NOT_DETECTED], med, p99);
      if (p->error[0])
         fprintf(f, "      %s\n", p->error);
   }
}

int sono_session_any_failure(const sono_session_t *s)
{
   for (uint32_t i = 0; i < s->plugin_count; ++i)
      if (strcmp(s->plugins[i].status, "ok") != 0)
         return 1;
   return 0;
}

const sono_recording_t *sono_session_recording(const sono_session_t *s) { return s->rec; }
const sono_results_t *sono_session_results(const sono_session_t *s) { return s->results; }
