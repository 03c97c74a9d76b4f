/* results.json (formats.md §3): a cJSON tree built as frames complete. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sono/host/results.h>
#include <sono/sdk/names.h>

struct sono_results {
   cJSON *root;
   cJSON *plugins;
   cJSON *frames;
   cJSON *frame; /* current frame */
};

static void replace(cJSON *o, const char *key, cJSON *v);

/* The recording's own fields as its header spells them, plus what the host
 * derived from them. */
static cJSON *acquisition_json(const sono_acquisition_t *a)
{
   cJSON *o = sono_recording_acquisition_json(a);
   cJSON_AddNumberToObject(o, "ensemble_size", a->ensemble_size);
   cJSON_AddNumberToObject(o, "nyquist_velocity_m_s", a->nyquist_velocity_m_s);
   cJSON_AddStringToObject(o, "probe", a->probe_name);
   return o;
}

static cJSON *info_json(const sono_recording_info_t *info)
{
   cJSON *o = cJSON_CreateObject();
   cJSON_AddStringToObject(o, "description", info->description);
   cJSON_AddNumberToObject(o, "frame_count", info->frame_count);
   cJSON_AddItemToObject(o, "grid", sono_recording_grid_json(&info->grid));
   cJSON_AddItemToObject(o, "acquisition", acquisition_json(&info->acquisition));
   cJSON_AddNumberToObject(o, "nonfinite_values", (double)info->nonfinite_count);
   return o;
}

sono_results_t *sono_results_create(const char *recording, const sono_recording_info_t *info)
{
   sono_results_t *r = calloc(1, sizeof *r);
   if (!r)
      return NULL;
   r->root = cJSON_CreateObject();
   cJSON_AddStringToObject(r->root, "format", "sono.results");
   cJSON_AddNumberToObject(r->root, "version", 1);
   cJSON_AddStringToObject(r->root, "recording", recording ? recording : "");
   cJSON *host = cJSON_AddObjectToObject(r->root, "host");
   cJSON_AddStringToObject(host, "name", "sono-host");
   cJSON_AddStringToObject(host, "version", SONO_VERSION_STRING);
   cJSON_AddStringToObject(host, "abi", SONO_VERSION_STRING);
   if (info)
      cJSON_AddItemToObject(r->root, "recording_info", info_json(info));
   r->plugins = cJSON_AddArrayToObject(r->root, "plugins");
   r->frames = cJSON_AddArrayToObject(r->root, "frames");
   return r;
}

void sono_results_destroy(sono_results_t *r)
{
   if (!r)
      return;
   cJSON_Delete(r->root);
   free(r);
}

void sono_results_set_processing(sono_results_t *r, const char *wall, uint32_t lag, uint32_t smoothing)
{
   cJSON *o = cJSON_CreateObject();
   cJSON_AddStringToObject(o, "wall_filter", wall ? wall : "none");
   cJSON_AddNumberToObject(o, "doppler_lag", lag);
   cJSON_AddNumberToObject(o, "smoothing", smoothing);
   replace(r->root, "processing", o);
}

int sono_results_add_plugin(sono_results_t *r, const sono_manifest_t *m)
{
   cJSON *p = cJSON_CreateObject();
   char abi[32];
   cJSON_AddStringToObject(p, "id", m->id);
   cJSON_AddStringToObject(p, "name", m->name);
   cJSON_AddStringToObject(p, "vendor", m->vendor);
   cJSON_AddStringToObject(p, "version", m->version);
   cJSON_AddStringToObject(p, "abi", sono_version_format(m->abi, abi, sizeof abi));
   cJSON_AddStringToObject(p, "sha256", m->sha256);
   cJSON_AddStringToObject(p, "manifest", m->path);
   cJSON_AddStringToObject(p, "safety_class", m->safety_class);
   cJSON_AddStringToObject(p, "intended_use", m->intended_use);
   cJSON_AddStringToObject(p, "status", "ok");
   cJSON_AddNumberToObject(p, "frames_processed", 0);
   cJSON_AddNumberToObject(p, "events_rejected", 0);
   cJSON_AddItemToArray(r->plugins, p);
   return cJSON_GetArraySize(r->plugins) - 1;
}

static void replace(cJSON *o, const char *key, cJSON *v)
{
   if (cJSON_HasObjectItem(o, key))
      cJSON_ReplaceItemInObjectCaseSensitive(o, key, v);
   else
      cJSON_AddItemToObject(o, key, v);
}

void sono_results_plugin_status(sono_results_t *r, int index, const char *status, uint64_t frames,
                                uint64_t rejected, const char *error)
{
   cJSON *p = cJSON_GetArrayItem(r->plugins, index);
   if (!p)
      return;
   replace(p, "status", cJSON_CreateString(status));
   replace(p, "frames_processed", cJSON_CreateNumber((double)frames));
   replace(p, "events_rejected", cJSON_CreateNumber((double)rejected));
   if (error)
      replace(p, "error", cJSON_CreateString(error));
}

void sono_results_plugin_field(sono_results_t *r, int index, const char *key, const char *value)
{
   cJSON *p = cJSON_GetArrayItem(r->plugins, index);
   if (p && key && value)
      replace(p, key, cJSON_CreateString(value));
}

void sono_results_begin_frame(sono_results_t *r, uint64_t index, uint64_t timestamp_ns)
{
   r->frame = cJSON_CreateObject();
   cJSON_AddNumberToObject(r->frame, "index", (double)index);
   cJSON_AddNumberToObject(r->frame, "timestamp_ns", (double)timestamp_ns);
   cJSON_AddArrayToObject(r->frame, "findings");
   cJSON_AddArrayToObject(r->frame, "measurements");
   cJSON_AddArrayToObject(r->frame, "overlays");
   cJSON_AddItemToArray(r->frames, r->frame);
}

static cJSON *points_json(const sono_point_t *p, uint32_t n)
{
   cJSON *a = cJSON_CreateArray();
   for (uint32_t i = 0; i < n; ++i) {
      double xz[2] = {p[i].x_m, p[i].z_m};
      cJSON_AddItemToArray(a, cJSON_CreateDoubleArray(xz, 2));
   }
   return a;
}

static void add_opt_string(cJSON *o, const char *key, const char *v)
{
   if (v)
      cJSON_AddStringToObject(o, key, v);
}

static cJSON *finding_json(const char *plugin, const sono_event_finding_t *f)
{
   cJSON *o = cJSON_CreateObject();
   cJSON_AddStringToObject(o, "plugin", plugin);
   cJSON_AddStringToObject(o, "kind", f->kind);
   cJSON_AddStringToObject(o, "status", sono_status_name(f->status));
   cJSON_AddNumberToObject(o, "confidence", f->confidence);
   cJSON_AddItemToObject(o, "region_m", points_json(f->region, f->region_count));
   add_opt_string(o, "label", f->label);
   add_opt_string(o, "basis", f->basis);
   add_opt_string(o, "caveat", f->caveat);
   add_opt_string(o, "advice", f->advice);
   cJSON *attrs = cJSON_AddObjectToObject(o, "attributes");
   for (uint32_t i = 0; i < f->attribute_count; ++i) {
      cJSON_AddStringToObject(attrs, f->attributes[i].key, f->attributes[i].value);
      /* formats.md §3 names some attributes as plain fields ("class", "placement"). */
      if (!cJSON_HasObjectItem(o, f->attributes[i].key))
         cJSON_AddStringToObject(o, f->attributes[i].key, f->attributes[i].value);
   }
   return o;
}

static cJSON *measurement_json(const char *plugin, const sono_event_measurement_t *m)
{
   cJSON *o = cJSON_CreateObject();
   double at[2] = {m->at.x_m, m->at.z_m};
   cJSON_AddStringToObject(o, "plugin", plugin);
   cJSON_AddStringToObject(o, "name", m->name);
   cJSON_AddNumberToObject(o, "value", m->value);
   cJSON_AddStringToObject(o, "unit", m->unit);
   add_opt_string(o, "label", m->label);
   cJSON_AddItemToObject(o, "at_m", cJSON_CreateDoubleArray(at, 2));
   return o;
}

/* Run lengths of a mask, alternating outside/inside, starting outside. */
static cJSON *mask_json(const sono_event_overlay_t *ov)
{
   cJSON *o = cJSON_CreateObject();
   cJSON_AddNumberToObject(o, "ix0", ov->mask_ix0);
   cJSON_AddNumberToObject(o, "iz0", ov->mask_iz0);
   cJSON_AddNumberToObject(o, "nx", ov->mask_nx);
   cJSON_AddNumberToObject(o, "nz", ov->mask_nz);
   cJSON *runs = cJSON_AddArrayToObject(o, "runs");
   size_t n = (size_t)ov->mask_nx * ov->mask_nz, run = 0;
   int inside = 0;
   for (size_t i = 0; i < n; ++i, ++run)
      if ((ov->mask[i] != 0) != inside) {
         cJSON_AddItemToArray(runs, cJSON_CreateNumber((double)run));
         inside = !inside;
         run = 0;
      }
   cJSON_AddItemToArray(runs, cJSON_CreateNumber((double)run));
   return o;
}

static cJSON *overlay_json(const char *plugin, const sono_event_overlay_t *ov)
{
   cJSON *o = cJSON_CreateObject();
   cJSON_AddStringToObject(o, "plugin", plugin);
   cJSON_AddStringToObject(o, "shape", sono_shape_name(ov->shape));
   cJSON_AddStringToObject(o, "role", ov->role);
   cJSON_AddItemToObject(o, "points_m", points_json(ov->points, ov->point_count));
   add_opt_string(o, "label", ov->label);
   if (ov->rgba) {
      char hex[12];
      snprintf(hex, sizeof hex, "#%08x", ov->rgba);
      cJSON_AddStringToObject(o, "rgba", hex);
   }
   if (ov->shape == SONO_SHAPE_ELLIPSE) {
      cJSON_AddItemToObject(o, "radii_m", cJSON_CreateDoubleArray(ov->radii_m, 2));
      cJSON_AddNumberToObject(o, "angle_rad", ov->angle_rad);
   }
   if (ov->shape == SONO_SHAPE_MASK)
      cJSON_AddItemToObject(o, "mask", mask_json(ov));
   return o;
}

void sono_results_add_events(sono_results_t *r, const char *plugin, const sono_event_store_t *events)
{
   cJSON *findings = cJSON_GetObjectItem(r->frame, "findings");
   cJSON *measurements = cJSON_GetObjectItem(r->frame, "measurements");
   cJSON *overlays = cJSON_GetObjectItem(r->frame, "overlays");
   for (uint32_t i = 0; i < sono_event_store_count(events); ++i) {
      const sono_event_header_t *ev = sono_event_store_get(events, i);
      if (ev->type == SONO_EVENT_FINDING)
         cJSON_AddItemToArray(findings, finding_json(plugin, (const sono_event_finding_t *)ev));
      else if (ev->type == SONO_EVENT_MEASUREMENT)
         cJSON_AddItemToArray(measurements, measurement_json(plugin, (const sono_event_measurement_t *)ev));
      else if (ev->type == SONO_EVENT_OVERLAY)
         cJSON_AddItemToArray(overlays, overlay_json(plugin, (const sono_event_overlay_t *)ev));
   }
}

static cJSON *frame_array(sono_results_t *r, const char *key)
{
   cJSON *a = cJSON_GetObjectItem(r->frame, key);
   return a ? a : cJSON_AddArrayToObject(r->frame, key);
}

void sono_results_add_failure(sono_results_t *r, const char *plugin, const char *reason)
{
   cJSON *o = cJSON_CreateObject();
   cJSON_AddStringToObject(o, "plugin", plugin);
   cJSON_AddStringToObject(o, "status", "failed");
   cJSON_AddStringToObject(o, "reason", reason ? reason : "unknown");
   cJSON_AddItemToArray(frame_array(r, "failures"), o);
}

void sono_results_add_timing(sono_results_t *r, const char *plugin, uint64_t ns)
{
   cJSON *o = cJSON_CreateObject();
   cJSON_AddStringToObject(o, "plugin", plugin);
   cJSON_AddNumberToObject(o, "ns", (double)ns);
   cJSON_AddItemToArray(frame_array(r, "timings"), o);
}

static cJSON *number_or_null(double v)
{
   return isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull();
}

void sono_results_set_spectral(sono_results_t *r, const char *image, double psv, double edv, double ri)
{
   cJSON *o = cJSON_CreateObject();
   if (image)
      cJSON_AddStringToObject(o, "image", image);
   cJSON_AddItemToObject(o, "psv_m_s", number_or_null(psv));
   cJSON_AddItemToObject(o, "edv_m_s", number_or_null(edv));
   cJSON_AddItemToObject(o, "ri", number_or_null(ri));
   replace(r->frame, "spectral", o);
}

void sono_results_set_image(sono_results_t *r, const char *relative_path)
{
   replace(r->frame, "image", cJSON_CreateString(relative_path));
}

int sono_results_write(const sono_results_t *r, const char *path, sono_error_t *err)
{
   char tmp[SONO_PATH_SIZE];
   snprintf(tmp, sizeof tmp, "%s.tmp", path);
   char *text = cJSON_Print(r->root);
   if (!text)
      return sono_error_set(err, "%s: out of memory formatting results", path);
   FILE *f = fopen(tmp, "wb");
   int ok = f && fputs(text, f) >= 0 && fputc('\n', f) != EOF;
   ok = (f && fclose(f) == 0) && ok;
   free(text);
   if (!ok || rename(tmp, path) != 0) {
      int e = errno;
      remove(tmp);
      return sono_error_set(err, "%s: cannot write results: %s", path, strerror(e));
   }
   return 0;
}

const struct cJSON *sono_results_json(const sono_results_t *r) { return r->root; }
