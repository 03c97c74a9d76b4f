/* sono_render: the self-contained HTML report (docs/rendering.md).
 *
 * sono_report_write_html() reads results.json (formats.md section 3 plus the
 * documented extras: recording_info, plugin name/vendor/safety_class/
 * intended_use/error, per-frame image, timings, spectral, failures) and
 * writes one report.html that opens offline: images are embedded as
 * base64 data: URIs, the page loads nothing else, and a Content-Security-
 * Policy forbids any script or external resource.
 *
 * It contains a banner "Decision support only - not a diagnosis. All
 * findings require clinician review.", the recording's metadata, each
 * plugin's id, version, sha256 and status, per frame its image, findings
 * (status, confidence, basis, caveat, advice, attributes), measurements,
 * spectral strip (PSV, EDV, RI) and failures, the processing time of each
 * plugin over all frames (median and p99), and every failure.
 *
 * Every string from results.json (plugin text included) is HTML-escaped,
 * so no plugin can inject markup. Images are embedded only from relative
 * paths inside the results folder that hold a PNG signature; any other path
 * is shown as "image not available" with the reason.
 *
 * Ownership: files are read and written by path; nothing is retained.
 * The output is written to "<html_path>.tmp" and renamed into place.
 * Threading: reentrant. Allocation: proportional to the report size. */
#ifndef SONO_HOST_REPORT_H
#define SONO_HOST_REPORT_H

#include <sono/sdk/error.h>

#ifdef __cplusplus
extern "C" {
#endif

struct cJSON;

/* Checks a parsed results.json against the schema (formats.md section 3):
 * format "sono.results", version 1, plugins[] {id, version, sha256,
 * status}, frames[] {index, findings[] {plugin, kind, status, confidence in
 * [0, 1]}, measurements[] {plugin, name, value, unit}, failures[] {plugin,
 * status "failed", reason}, timings[] {plugin, ns >= 0}}. Returns 0, or -1
 * with `err` naming `what` (the file) and the field, e.g.
 * "out/results.json: frames[2].findings[0].status: expected detected,
 * not_detected or indeterminate, got \"maybe\"". */
int sono_report_check_results(const struct cJSON *root, const char *what, sono_error_t *err);

/* Reads and checks `results_json_path`, then writes `html_path`. */
int sono_report_write_html(const char *results_json_path, const char *html_path, sono_error_t *err);

#ifdef __cplusplus
}
#endif

#endif
