/* Driving one plugin instance with the lifecycle enforced: a call out of
 * order is refused here and never forwarded to the plugin. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sono/sdk/names.h>

#include "isolated.h"


static const char *state_name(sono_host_state_t s)
{
   static const char *const names[] = {"created", "initialised", "active", "failed"};
   return s >= 0 && s <= SONO_HOST_STATE_FAILED ? names[s] : "unknown";
}

static const char *plugin_id(const sono_host_instance_t *in) { return in->lib->manifest.id; }

static int refuse(const sono_host_instance_t *in, const char *call, const char *needed, sono_error_t *err)
{
   ((sono_host_instance_t *)in)->last_failure = "refused";
   return sono_error_set(err, "%s: %s() refused in state %s (needs %s); the call was not forwarded", plugin_id(in),
                         call, state_name(in->state), needed);
}

static void host_log(const sono_host_t *host, sono_log_severity_t severity, const char *message)
{
   static const char *const level[] = {"debug", "info", "warning", "error"};
   const sono_host_instance_t *in = host->host_data;
   if (severity < SONO_LOG_INFO && !getenv("SONO_HOST_DEBUG"))
      return;
   fprintf(stderr, "[%s] %s: %s\n", severity >= 0 && severity <= 3 ? level[severity] : "log", plugin_id(in),
           message ? message : "(null)");
}

static const sono_host_log_t host_log_ext = {host_log};

static const void *host_get_extension(const sono_host_t *host, const char *id)
{
   (void)host;
   if (id && strcmp(id, SONO_EXT_LOG) == 0)
      return &host_log_ext;
   return NULL;
}

static void host_request_restart(const sono_host_t *host)
{
   /* Restarts are decided by the embedding application between frames;
    * the reference host records the request in the log only. */
   host_log(host, SONO_LOG_INFO, "requested a restart");
}

static void record_rejection(sono_host_instance_t *in, const char *msg)
{
   in->rejected_last++;
   in->rejected_total++;
   snprintf(in->diagnostic, sizeof in->diagnostic, "%s, frame %llu: event dropped: %s", plugin_id(in),
            (unsigned long long)in->sequence, msg);
}

static bool output_push(const sono_output_t *out, const sono_event_header_t *ev)
{
   sono_host_instance_t *in = out->ctx;
   sono_error_t err;
   int rc = sono_event_check(ev, in->grid, &err);
   if (rc == 1)
      snprintf(err.message, sizeof err.message, "unknown event type %d (struct_size %u) skipped by its size",
               ev->type, ev->struct_size);
   if (rc == 0 && sono_event_store_push(in->store, ev, &err) == 0)
      return true;
   record_rejection(in, err.message);
   return false;
}

static void init_host_vtable(sono_host_instance_t *in)
{
   in->host.abi_version = (sono_version_t)SONO_ABI_VERSION;
   in->host.host_data = in;
   in->host.name = SONO_HOST_NAME;
   in->host.vendor = "sonoplug";
   in->host.version = SONO_VERSION_STRING;
   in->host.get_extension = host_get_extension;
   in->host.request_restart = host_request_restart;
   in->output.ctx = in;
   in->output.push = output_push;
}

static int create_plugin(sono_host_instance_t *in, const char *id, sono_error_t *err)
{
   const sono_plugin_factory_t *f = in->lib->factory;
   /* Debug mode: with SONO_TRACE set, every call in both directions goes
    * through the libffi call tracer (docs/conformance.md). */
   in->trace = sono_trace_from_env();
   const sono_host_t *host = in->trace ? sono_trace_wrap_host(&in->host, in->trace) : &in->host;
   in->plugin = f->create_plugin(f, host, id);
   if (in->plugin && in->trace)
      in->plugin = sono_trace_wrap_plugin(in->plugin, in->trace);
   if (!in->plugin)
      return sono_error_set(err, "%s: create_plugin(\"%s\") returned NULL", in->lib->manifest.binary_path, id);
   const sono_plugin_t *p = in->plugin;
   if (!p->desc || !p->init || !p->destroy || !p->activate || !p->deactivate || !p->process || !p->get_extension)
      return sono_error_set(err, "%s: plugin \"%s\": vtable incomplete (every function must be set)",
                            in->lib->manifest.binary_path, id);
   in->state = SONO_HOST_STATE_CREATED;
   if (!p->init(p)) {
      in->state = SONO_HOST_STATE_FAILED;
      return sono_error_set(err, "%s: init() returned false", id);
   }
   in->state = SONO_HOST_STATE_INITIALISED;
   return 0;
}

sono_host_instance_t *sono_host_instance_create(sono_host_library_t *lib, const char *plugin_id_wanted,
                                                const sono_host_instance_options_t *opt, sono_error_t *err)
{
   uint32_t max_events = opt && opt->max_events_per_frame ? opt->max_events_per_frame : 1024;
   size_t max_bytes = opt && opt->max_event_bytes ? opt->max_event_bytes : (size_t)4 << 20;
   sono_host_instance_t *in = calloc(1, sizeof *in);
   if (!in || !(in->store = sono_event_store_create(max_events, max_bytes))) {
      free(in);
      sono_error_set(err, "%s: out of memory creating an instance", lib->manifest.id);
      return NULL;
   }
   in->lib = lib;
   init_host_vtable(in);
   lib->live_instances++;
   if (sono_iso_wanted(lib, opt)) {
      if (sono_iso_create(in, plugin_id_wanted ? plugin_id_wanted : lib->manifest.id, opt, err) < 0) {
         sono_host_instance_destroy(in);
         return NULL;
      }
      return in;
   }
   if (create_plugin(in, plugin_id_wanted ? plugin_id_wanted : lib->manifest.id, err) < 0) {
      sono_host_instance_destroy(in);
      return NULL;
   }
   return in;
}

void sono_host_instance_destroy(sono_host_instance_t *in)
{
   if (!in)
      return;
   if (in->iso)
      sono_iso_destroy(in);
   else if (in->state == SONO_HOST_STATE_ACTIVE)
      in->plugin->deactivate(in->plugin);
   if (in->plugin && in->plugin->destroy)
      in->plugin->destroy(in->plugin);
   sono_trace_close(in->trace);
   in->lib->live_instances--;
   sono_event_store_destroy(in->store);
   free(in);
}

int sono_host_instance_activate(sono_host_instance_t *in, const sono_frame_format_t *format, sono_error_t *err)
{
   if (in->state != SONO_HOST_STATE_INITIALISED)
      return refuse(in, "activate", "initialised", err);
   if (!format || format->struct_size < sizeof(sono_frame_format_t))
      return sono_error_set(err, "%s: activate(): frame format missing or struct_size too small", plugin_id(in));
   if (in->iso)
      return sono_iso_activate(in, format, err);
   sono_status_t st = in->plugin->activate(in->plugin, format);
   if (st != SONO_OK)
      return sono_error_set(err, "%s: activate() returned status %d (format %ux%u, ensemble %u not supported?)",
                            plugin_id(in), st, format->max_nx, format->max_nz, format->max_ensemble);
   in->state = SONO_HOST_STATE_ACTIVE;
   return 0;
}

int sono_host_instance_deactivate(sono_host_instance_t *in, sono_error_t *err)
{
   if (in->state != SONO_HOST_STATE_ACTIVE)
      return refuse(in, "deactivate", "active", err);
   if (in->iso)
      return sono_iso_deactivate(in, err);
   in->plugin->deactivate(in->plugin);
   in->state = SONO_HOST_STATE_INITIALISED;
   return 0;
}

static uint64_t now_ns(void)
{
   struct timespec ts;
   clock_gettime(CLOCK_MONOTONIC, &ts);
   return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int sono_host_instance_process(sono_host_instance_t *in, const sono_frame_t *frame, sono_error_t *err)
{
   sono_event_store_clear(in->store);
   in->rejected_last = 0;
   if (in->iso && in->state == SONO_HOST_STATE_FAILED && frame)
      return sono_iso_process(in, frame, err); /* reports "quarantined" */
   if (in->state != SONO_HOST_STATE_ACTIVE)
      return refuse(in, "process", "active", err);
   if (!frame || frame->struct_size < sizeof(sono_frame_t))
      return sono_error_set(err, "%s: process(): frame missing or struct_size too small", plugin_id(in));
   in->grid = &frame->grid;
   in->sequence = frame->sequence;
   if (in->iso)
      return sono_iso_process(in, frame, err);
   in->last_failure = NULL;
   uint64_t t0 = now_ns();
   sono_status_t st = in->plugin->process(in->plugin, frame, &in->output);
   in->last_ns = now_ns() - t0;
   if (st != SONO_OK) {
      in->last_failure = "error";
      return sono_error_set(err, "%s: process() of frame %llu returned status %d", plugin_id(in),
                            (unsigned long long)frame->sequence, st);
   }
   return 0;
}

sono_host_state_t sono_host_instance_state(const sono_host_instance_t *in) { return in->state; }
const sono_plugin_descriptor_t *sono_host_instance_descriptor(const sono_host_instance_t *in)
{
   return in->iso ? sono_iso_descriptor(in) : in->plugin->desc;
}
const sono_host_library_t *sono_host_instance_library(const sono_host_instance_t *in) { return in->lib; }
const sono_event_store_t *sono_host_instance_events(const sono_host_instance_t *in) { return in->store; }
uint32_t sono_host_instance_rejected_last(const sono_host_instance_t *in) { return in->rejected_last; }
uint64_t sono_host_instance_rejected_total(const sono_host_instance_t *in) { return in->rejected_total; }
uint64_t sono_host_instance_last_duration_ns(const sono_host_instance_t *in) { return in->last_ns; }

const char *sono_host_instance_last_diagnostic(const sono_host_instance_t *in)
{
   return in->diagnostic[0] ? in->diagnostic : NULL;
}

const void *sono_host_instance_extension(const sono_host_instance_t *in, const char *id)
{
   if (in->iso || (in->state != SONO_HOST_STATE_INITIALISED && in->state != SONO_HOST_STATE_ACTIVE))
      return NULL;
   return in->plugin->get_extension(in->plugin, id);
}
