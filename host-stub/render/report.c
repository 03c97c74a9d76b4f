/* report.html: one self-contained page from results.json (report.h). */
#include <sono/host/report.h>

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sono/sdk/manifest.h>

#include "report_text.h"

#define MAX_RESULTS_BYTES (512u << 20)
#define MAX_IMAGE_BYTES (64u << 20)

static const char banner[] = "Decision support only \xE2\x80\x94 not a diagnosis. All findings require clinician review.";

static const char style[] =
   "body{font-family:sans-serif;margin:0 auto;max-width:1100px;padding:0 16px 32px;color:#1b1b1b;background:#fafafa}"
   ".banner{position:sticky;top:0;background:#8a1c1c;color:#fff;font-weight:bold;padding:10px 14px;margin:0 -16px 12px;"
   "font-size:1.05em}"
   "h1{font-size:1.5em}h2{border-bottom:2px solid #ccc;padding-bottom:4px;margin-top:28px}"
   "table{border-collapse:collapse;margin:8px 0;width:100%}th,td{border:1px solid #ccc;padding:4px 6px;"
   "text-align:left;vertical-align:top;white-space:pre-wrap;word-break:break-word}th{background:#eee}"
   ".mono{font-family:monospace;font-size:.85em}.frame{border:1px solid #ccc;background:#fff;padding:8px 12px;"
   "margin:14px 0}.frame img{max-width:100%;height:auto;display:block;margin:6px 0}"
   ".s-detected{background:#fde0dc;font-weight:bold}.s-indeterminate{background:#fff3c4;font-weight:bold}"
   ".s-not_detected{background:#eceff1}.s-ok{background:#e3f2e1}.s-failed,.s-refused,.s-quarantined"
   "{background:#fde0dc;font-weight:bold}.missing{color:#8a1c1c}.note{color:#555;font-size:.9em}";

static const cJSON *field(const cJSON *o, const char *key)
{
   return cJSON_GetObjectItemCaseSensitive(o, key);
}

static const char *str_or(const cJSON *o, const char *key, const char *fallback)
{
   const cJSON *v = field(o, key);
   return cJSON_IsString(v) ? v->valuestring : fallback;
}

static double num_or(const cJSON *o, const char *key, double fallback)
{
   const cJSON *v = field(o, key);
   return cJSON_IsNumber(v) ? v->valuedouble : fallback;
}

/* Status names become CSS classes; only [a-z_] survive so a hostile
 * status can never leave the class attribute. */
static void sb_status_class(strbuf_t *b, const char *status)
{
   sb_add(b, "s-");
   for (const char *p = status; *p && p - status < 32; ++p)
      if ((*p >= 'a' && *p <= 'z') || *p == '_')
         sb_addn(b, p, 1);
}

static void sb_cell(strbuf_t *b, const char *text)
{
   sb_add(b, "<td>");
   sb_escape(b, text);
   sb_add(b, "</td>");
}

static void sb_row2(strbuf_t *b, const char *key, const char *value)
{
   sb_add(b, "<tr><th>");
   sb_escape(b, key);
   sb_add(b, "</th>");
   sb_cell(b, value);
   sb_add(b, "</tr>");
}

/* ---- files ------------------------------------------------------------------ */

static char *read_file(const char *path, size_t limit, size_t *size, char *why, size_t why_size)
{
   FILE *f = fopen(path, "rb");
   if (!f) {
      snprintf(why, why_size, "%s", strerror(errno));
      return NULL;
   }
   char *data = NULL;
   long n = -1;
   if (fseek(f, 0, SEEK_END) == 0)
      n = ftell(f);
   if (n < 0 || (size_t)n > limit || fseek(f, 0, SEEK_SET) != 0) {
      snprintf(why, why_size, n < 0 ? "cannot determine its size" : "larger than %zu bytes", limit);
      fclose(f);
      return NULL;
   }
   data = malloc((size_t)n + 1);
   if (!data || fread(data, 1, (size_t)n, f) != (size_t)n) {
      snprintf(why, why_size, data ? "read error" : "out of memory");
      free(data);
      fclose(f);
      return NULL;
   }
   fclose(f);
   data[n] = '\0';
   *size = (size_t)n;
   return data;
}

/* Only plain relative paths below the results folder are embedded. */
static int image_path_is_safe(const char *rel)
{
   if (!*rel || rel[0] == '/' || strchr(rel, '\\'))
      return 0;
   const char *p = rel;
   while (*p) {
      const char *end = strchr(p, '/');
      size_t n = end ? (size_t)(end - p) : strlen(p);
      if (n == 2 && p[0] == '.' && p[1] == '.')
         return 0;
      p += n;
      if (*p == '/')
         ++p;
   }
   return 1;
}

static void sb_image(strbuf_t *b, const char *dir, const char *rel, const char *alt)
{
   static const unsigned char png_signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
   char path[SONO_PATH_SIZE], why[128] = "";
   size_t size = 0;
   char *data = NULL;
   if (!image_path_is_safe(rel))
      snprintf(why, sizeof why, "only relative paths inside the results folder are embedded");
   else if (snprintf(path, sizeof path, "%s/%s", dir, rel) >= (int)sizeof path)
      snprintf(why, sizeof why, "path too long");
   else if ((data = read_file(path, MAX_IMAGE_BYTES, &size, why, sizeof why)) != NULL &&
            (size < 8 || memcmp(data, png_signature, 8) != 0))
      snprintf(why, sizeof why, "not a PNG file");
   if (why[0]) {
      sb_add(b, "<p class=\"missing\">Image not available: ");
      sb_escape(b, rel);
      sb_add(b, " (");
      sb_escape(b, why);
      sb_add(b, ")</p>");
   } else {
      sb_add(b, "<img alt=\"");
      sb_escape(b, alt);
      sb_add(b, "\" src=\"data:image/png;base64,");
      sb_base64(b, (const uint8_t *)data, size);
      sb_add(b, "\">");
   }
   free(data);
}

/* ---- sections -------------------------------------------------------------------- */

static void sb_json_value(strbuf_t *b, const cJSON *v)
{
   char text[64];
   if (cJSON_IsString(v)) {
      sb_escape(b, v->valuestring);
   } else if (cJSON_IsNumber(v)) {
      snprintf(text, sizeof text, "%.6g", v->valuedouble);
      sb_add(b, text);
   } else if (cJSON_IsBool(v)) {
      sb_add(b, cJSON_IsTrue(v) ? "true" : "false");
   } else {
      char *printed = cJSON_PrintUnformatted(v);
      sb_escape(b, printed ? printed : "");
      free(printed);
   }
}

static void section_recording(strbuf_t *b, const cJSON *root)
{
   const cJSON *host = field(root, "host"), *info = field(root, "recording_info");
   char text[256];
   sb_add(b, "<section id=\"recording\"><h2>Recording</h2><table>");
   sb_row2(b, "Recording", str_or(root, "recording", "(not named)"));
   if (cJSON_IsObject(info)) {
      sb_row2(b, "Description", str_or(info, "description", ""));
      snprintf(text, sizeof text, "%.0f", num_or(info, "frame_count", 0));
      sb_row2(b, "Frames in recording", text);
      const cJSON *g = field(info, "grid");
      if (cJSON_IsObject(g)) {
         double nx = num_or(g, "nx", 0), nz = num_or(g, "nz", 0), dx = num_or(g, "dx_m", 0), dz = num_or(g, "dz_m", 0);
         double x0 = num_or(g, "x0_m", 0), z0 = num_or(g, "z0_m", 0);
         snprintf(text, sizeof text, "%.0f x %.0f pixels (lateral x depth), spacing %.4g x %.4g mm, "
                                     "lateral %.2f to %.2f mm, depth %.2f to %.2f mm",
                  nx, nz, dx * 1e3, dz * 1e3, x0 * 1e3, (x0 + (nx - 1) * dx) * 1e3, z0 * 1e3, (z0 + (nz - 1) * dz) * 1e3);
         sb_row2(b, "Grid", text);
      }
      const cJSON *acq = field(info, "acquisition"), *item;
      if (!cJSON_IsObject(acq))
         acq = NULL;
      cJSON_ArrayForEach(item, acq)
      {
         sb_add(b, "<tr><th>");
         sb_escape(b, item->string);
         sb_add(b, "</th><td>");
         sb_json_value(b, item);
         sb_add(b, "</td></tr>");
      }
   }
   const cJSON *proc = field(root, "processing");
   if (cJSON_IsObject(proc)) {
      snprintf(text, sizeof text, "wall filter %.40s, Kasai lag %.0f, %.0f x %.0f Hamming smoothing",
               str_or(proc, "wall_filter", "?"), num_or(proc, "doppler_lag", 1), num_or(proc, "smoothing", 1),
               num_or(proc, "smoothing", 1));
      sb_row2(b, "Doppler processing", text);
   }
   if (cJSON_IsObject(host)) {
      snprintf(text, sizeof text, "%.60s %.30s (ABI %.30s)", str_or(host, "name", "?"), str_or(host, "version", "?"),
               str_or(host, "abi", "?"));
      sb_row2(b, "Host", text);
   }
   sb_add(b, "</table></section>");
}

static void section_plugins(strbuf_t *b, const cJSON *plugins)
{
   const cJSON *p;
   char text[64];
   sb_add(b, "<section id=\"plugins\"><h2>Plugins</h2><table><tr><th>Id</th><th>Name / vendor</th><th>Version</th>"
             "<th>sha256</th><th>Status</th><th>Frames</th><th>Events rejected</th><th>Safety class</th>"
             "<th>Intended use</th></tr>");
   cJSON_ArrayForEach(p, plugins)
   {
      const char *status = str_or(p, "status", "");
      sb_add(b, "<tr>");
      sb_cell(b, str_or(p, "id", ""));
      sb_add(b, "<td>");
      sb_escape(b, str_or(p, "name", ""));
      sb_add(b, "<br>");
      sb_escape(b, str_or(p, "vendor", ""));
      sb_add(b, "</td>");
      sb_cell(b, str_or(p, "version", ""));
      sb_add(b, "<td class=\"mono\">");
      sb_escape(b, str_or(p, "sha256", ""));
      sb_add(b, "</td><td class=\"");
      sb_status_class(b, status);
      sb_add(b, "\">");
      sb_escape(b, status);
      if (field(p, "error")) {
         sb_add(b, ": ");
         sb_escape(b, str_or(p, "error", ""));
      }
      sb_add(b, "</td>");
      snprintf(text, sizeof text, "%.0f", num_or(p, "frames_processed", 0));
      sb_cell(b, text);
      snprintf(text, sizeof text, "%.0f", num_or(p, "events_rejected", 0));
      sb_cell(b, text);
      sb_cell(b, str_or(p, "safety_class", ""));
      sb_cell(b, str_or(p, "intended_use", ""));
      sb_add(b, "</tr>");
   }
   sb_add(b, "</table></section>");
}

static int compare_double(const void *a, const void *c)
{
   double x = *(const double *)a, y = *(const double *)c;
   return (x > y) - (x < y);
}

/* Collects every timing of `plugin` over all frames into `ns`. */
static size_t collect_timings(const cJSON *frames, const char *plugin, double *ns, size_t cap)
{
   size_t n = 0;
   const cJSON *f, *t;
   cJSON_ArrayForEach(f, frames)
   {
      cJSON_ArrayForEach(t, field(f, "timings"))
      {
         if (n < cap && strcmp(str_or(t, "plugin", ""), plugin) == 0)
            ns[n++] = num_or(t, "ns", 0);
      }
   }
   qsort(ns, n, sizeof *ns, compare_double);
   return n;
}

static void section_timings(strbuf_t *b, const cJSON *plugins, const cJSON *frames)
{
   size_t cap = 0;
   const cJSON *f, *p;
   cJSON_ArrayForEach(f, frames) cap += (size_t)cJSON_GetArraySize(field(f, "timings"));
   double *ns = malloc((cap ? cap : 1) * sizeof *ns);
   sb_add(b, "<section id=\"timings\"><h2>Processing time per plugin</h2>"
             "<p class=\"note\">Wall time of each plugin's process() call over all frames.</p>"
             "<table><tr><th>Plugin</th><th>Frames timed</th><th>Median (ms)</th><th>p99 (ms)</th>"
             "<th>Max (ms)</th></tr>");
   const cJSON *listed = ns ? plugins : NULL;
   cJSON_ArrayForEach(p, listed)
   {
      const char *id = str_or(p, "id", "");
      size_t n = collect_timings(frames, id, ns, cap);
      sb_add(b, "<tr>");
      sb_cell(b, id);
      if (n == 0) {
         sb_add(b, "<td>0</td><td>-</td><td>-</td><td>-</td></tr>");
         continue;
      }
      double median = n % 2 ? ns[n / 2] : 0.5 * (ns[n / 2 - 1] + ns[n / 2]);
      size_t rank = (size_t)ceil(0.99 * (double)n); /* nearest-rank percentile */
      sb_printf(b, "<td>%zu</td><td>%.3f</td><td>%.3f</td><td>%.3f</td></tr>", n, median / 1e6, ns[rank - 1] / 1e6,
                ns[n - 1] / 1e6);
   }
   sb_add(b, "</table></section>");
   free(ns);
}

static void failure_rows(strbuf_t *b, const cJSON *frame, int with_frame)
{
   const cJSON *fl;
   cJSON_ArrayForEach(fl, field(frame, "failures"))
   {
      sb_add(b, "<tr>");
      if (with_frame)
         sb_printf(b, "<td>%.0f</td>", num_or(frame, "index", 0));
      sb_cell(b, str_or(fl, "plugin", ""));
      sb_add(b, "<td class=\"s-failed\">");
      sb_escape(b, str_or(fl, "status", ""));
      sb_add(b, "</td>");
      sb_cell(b, str_or(fl, "reason", ""));
      sb_add(b, "</tr>");
   }
}

static void section_failures(strbuf_t *b, const cJSON *plugins, const cJSON *frames)
{
   int count = 0;
   const cJSON *f, *p;
   cJSON_ArrayForEach(f, frames) count += cJSON_GetArraySize(field(f, "failures"));
   sb_add(b, "<section id=\"failures\"><h2>Failures</h2>");
   cJSON_ArrayForEach(p, plugins)
   {
      if (strcmp(str_or(p, "status", "ok"), "ok") != 0) {
         sb_add(b, "<p class=\"missing\">Plugin ");
         sb_escape(b, str_or(p, "id", ""));
         sb_add(b, " status ");
         sb_escape(b, str_or(p, "status", ""));
         sb_add(b, ": ");
         sb_escape(b, str_or(p, "error", "no reason given"));
         sb_add(b, "</p>");
      }
   }
   if (count == 0) {
      sb_add(b, "<p>No plugin failed on a frame.</p></section>");
      return;
   }
   sb_add(b, "<table><tr><th>Frame</th><th>Plugin</th><th>Status</th><th>Reason</th></tr>");
   cJSON_ArrayForEach(f, frames) failure_rows(b, f, 1);
   sb_add(b, "</table></section>");
}

static void finding_attributes(strbuf_t *b, const cJSON *finding)
{
   const cJSON *attrs = field(finding, "attributes"), *a;
   int first = 1;
   if (!cJSON_IsObject(attrs))
      attrs = NULL;
   cJSON_ArrayForEach(a, attrs)
   {
      if (!first)
         sb_add(b, "; ");
      sb_escape(b, a->string);
      sb_add(b, " = ");
      sb_json_value(b, a);
      first = 0;
   }
}

static void frame_findings(strbuf_t *b, const cJSON *frame)
{
   const cJSON *findings = field(frame, "findings"), *f;
   if (cJSON_GetArraySize(findings) == 0) {
      sb_add(b, "<p>No findings reported for this frame.</p>");
      return;
   }
   sb_add(b, "<table><tr><th>Plugin</th><th>Kind</th><th>Status</th><th>Confidence</th><th>Finding</th>"
             "<th>Basis</th><th>Caveat</th><th>Advice</th><th>Attributes</th></tr>");
   cJSON_ArrayForEach(f, findings)
   {
      const char *status = str_or(f, "status", "");
      sb_add(b, "<tr>");
      sb_cell(b, str_or(f, "plugin", ""));
      sb_cell(b, str_or(f, "kind", ""));
      sb_add(b, "<td class=\"");
      sb_status_class(b, status);
      sb_add(b, "\">");
      sb_escape(b, status);
      sb_printf(b, "</td><td>%.0f%%</td>", num_or(f, "confidence", 0) * 100.0);
      sb_cell(b, str_or(f, "label", ""));
      sb_cell(b, str_or(f, "basis", ""));
      sb_cell(b, str_or(f, "caveat", ""));
      sb_cell(b, str_or(f, "advice", ""));
      sb_add(b, "<td>");
      finding_attributes(b, f);
      sb_add(b, "</td></tr>");
   }
   sb_add(b, "</table>");
}

/* SI value plus the unit a clinician reads (mm, mm2, cm/s). */
static void measurement_value(strbuf_t *b, double value, const char *unit)
{
   char text[96];
   if (strcmp(unit, "m") == 0)
      snprintf(text, sizeof text, "%.2f mm", value * 1e3);
   else if (strcmp(unit, "m2") == 0)
      snprintf(text, sizeof text, "%.2f mm\xC2\xB2", value * 1e6);
   else if (strcmp(unit, "m/s") == 0)
      snprintf(text, sizeof text, "%.1f cm/s", value * 1e2);
   else
      snprintf(text, sizeof text, "%.4g", value);
   sb_add(b, text);
   snprintf(text, sizeof text, " (%.6g ", value);
   sb_add(b, text);
   sb_escape(b, unit);
   sb_add(b, ")");
}

static void frame_measurements(strbuf_t *b, const cJSON *frame)
{
   const cJSON *ms = field(frame, "measurements"), *m;
   if (cJSON_GetArraySize(ms) == 0)
      return;
   sb_add(b, "<table><tr><th>Plugin</th><th>Measurement</th><th>Value</th></tr>");
   cJSON_ArrayForEach(m, ms)
   {
      sb_add(b, "<tr>");
      sb_cell(b, str_or(m, "plugin", ""));
      sb_add(b, "<td>");
      sb_escape(b, str_or(m, "label", str_or(m, "name", "")));
      if (field(m, "label")) {
         sb_add(b, " <span class=\"mono\">");
         sb_escape(b, str_or(m, "name", ""));
         sb_add(b, "</span>");
      }
      sb_add(b, "</td><td>");
      measurement_value(b, num_or(m, "value", 0), str_or(m, "unit", ""));
      sb_add(b, "</td></tr>");
   }
   sb_add(b, "</table>");
}

static void frame_spectral(strbuf_t *b, const cJSON *frame, const char *dir)
{
   const cJSON *s = field(frame, "spectral");
   if (!cJSON_IsObject(s))
      return;
   sb_add(b, "<h4>Spectral Doppler at the gate</h4>");
   sb_image(b, dir, str_or(s, "image", ""), "spectral Doppler strip");
   double psv = num_or(s, "psv_m_s", NAN), edv = num_or(s, "edv_m_s", NAN), ri = num_or(s, "ri", NAN);
   sb_add(b, "<table><tr><th>PSV</th><th>EDV</th><th>RI</th></tr><tr>");
   if (isfinite(psv)) sb_printf(b, "<td>%.1f cm/s</td>", psv * 100.0); else sb_add(b, "<td>-</td>");
   if (isfinite(edv)) sb_printf(b, "<td>%.1f cm/s</td>", edv * 100.0); else sb_add(b, "<td>-</td>");
   if (isfinite(ri)) sb_printf(b, "<td>%.2f</td>", ri); else sb_add(b, "<td>-</td>");
   sb_add(b, "</tr></table>");
}

static void section_frames(strbuf_t *b, const cJSON *frames, const char *dir)
{
   const cJSON *f;
   sb_add(b, "<section id=\"frames\"><h2>Frames</h2>");
   cJSON_ArrayForEach(f, frames)
   {
      double index = num_or(f, "index", 0);
      sb_printf(b, "<article class=\"frame\" id=\"frame-%.0f\"><h3>Frame %.0f", index, index);
      if (field(f, "timestamp_ns"))
         sb_printf(b, " \xC2\xB7 t = %.3f s", num_or(f, "timestamp_ns", 0) / 1e9);
      sb_add(b, "</h3>");
      if (cJSON_IsString(field(f, "image"))) {
         char alt[48];
         snprintf(alt, sizeof alt, "frame %.0f", index);
         sb_image(b, dir, str_or(f, "image", ""), alt);
      }
      frame_findings(b, f);
      frame_measurements(b, f);
      frame_spectral(b, f, dir);
      if (cJSON_GetArraySize(field(f, "failures")) > 0) {
         sb_add(b, "<table><tr><th>Plugin</th><th>Status</th><th>Reason</th></tr>");
         failure_rows(b, f, 0);
         sb_add(b, "</table>");
      }
      sb_add(b, "</article>");
   }
   sb_add(b, "</section>");
}

static void build_page(strbuf_t *b, const cJSON *root, const char *dir)
{
   const cJSON *plugins = field(root, "plugins"), *frames = field(root, "frames"), *host = field(root, "host");
   sb_add(b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
             "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; img-src data:; "
             "style-src 'unsafe-inline'\">"
             "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>sonoplug report: ");
   sb_escape(b, str_or(root, "recording", "recording"));
   sb_add(b, "</title><style>");
   sb_add(b, style);
   sb_add(b, "</style></head><body>\n<div class=\"banner\" role=\"alert\">");
   sb_add(b, banner);
   sb_add(b, "</div>\n<h1>sonoplug analysis report</h1>"
             "<p class=\"note\">Findings are worded \"consistent with\" or \"possible\" and show their basis, "
             "confidence and plugin version. Targets and needling grids are planning aids: the clinician determines "
             "all injection sites and doses. Absence of Doppler signal does not exclude intravascular filler "
             "(slow flow/small vessels).</p>\n");
   section_recording(b, root);
   section_plugins(b, plugins);
   section_timings(b, plugins, frames);
   section_failures(b, plugins, frames);
   section_frames(b, frames, dir);
   sb_add(b, "\n<footer class=\"note\"><p>Generated by ");
   sb_escape(b, str_or(host, "name", "sono-host"));
   sb_add(b, " ");
   sb_escape(b, str_or(host, "version", ""));
   sb_add(b, " from results format sono.results version 1.</p></footer></body></html>\n");
}

static int write_text(const char *path, const strbuf_t *b, sono_error_t *err)
{
   char tmp[SONO_PATH_SIZE + 8];
   if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
      return sono_error_set(err, "%s: path too long", path);
   FILE *f = fopen(tmp, "wb");
   if (!f)
      return sono_error_set(err, "%s: cannot create report: %s", tmp, strerror(errno));
   int ok = fwrite(b->data, 1, b->len, f) == b->len;
   ok = (fclose(f) == 0) && ok;
   if (!ok || rename(tmp, path) != 0) {
      int e = errno;
      remove(tmp);
      return sono_error_set(err, "%s: cannot write report: %s", path, ok ? strerror(e) : "write error (disk full?)");
   }
   return 0;
}

static void dir_of(const char *path, char *dir, size_t size)
{
   const char *slash = strrchr(path, '/');
   if (!slash)
      snprintf(dir, size, ".");
   else if (slash == path)
      snprintf(dir, size, "/");
   else
      snprintf(dir, size, "%.*s", (int)(slash - path), path);
}

int sono_report_write_html(const char *results_json_path, const char *html_path, sono_error_t *err)
{
   if (!results_json_path || !html_path)
      return sono_error_set(err, "sono_report_write_html: results_json_path and html_path are required");
   char why[128], dir[SONO_PATH_SIZE];
   size_t size = 0;
   char *text = read_file(results_json_path, MAX_RESULTS_BYTES, &size, why, sizeof why);
   if (!text)
      return sono_error_set(err, "%s: cannot read results: %s", results_json_path, why);
   const char *parse_end = NULL;
   cJSON *root = cJSON_ParseWithLengthOpts(text, size, &parse_end, 0);
   if (!root) {
      size_t at = parse_end && parse_end >= text ? (size_t)(parse_end - text) : 0;
      sono_error_set(err, "%s: not valid JSON (byte %zu, near \"%.32s\"); expected a sono.results document",
                     results_json_path, at, at < size ? text + at : "");
      free(text);
      return -1;
   }
   free(text);
   if (sono_report_check_results(root, results_json_path, err) != 0) {
      cJSON_Delete(root);
      return -1;
   }
   dir_of(results_json_path, dir, sizeof dir);
   strbuf_t page = {0};
   build_page(&page, root, dir);
   cJSON_Delete(root);
   int rc = page.failed ? sono_error_set(err, "%s: out of memory building the report", html_path)
                        : write_text(html_path, &page, err);
   sb_free(&page);
   return rc;
}
