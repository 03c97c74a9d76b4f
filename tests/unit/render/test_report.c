/* report.html from results.json: content, escaping, schema errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sono/host/report.h>

#include "fixtures.h"

static char tmpdir[256];

static int setup(void **state)
{
   (void)state;
   return fixture_temp_dir(tmpdir, sizeof tmpdir) ? 0 : -1;
}

static char *build_report(int hostile)
{
   char results[512], html[512];
   sono_error_t err = {{0}};
   assert_int_equal(fixture_write_results(tmpdir, hostile), 0);
   snprintf(results, sizeof results, "%s/results.json", tmpdir);
   snprintf(html, sizeof html, "%s/report.html", tmpdir);
   if (sono_report_write_html(results, html, &err) != 0)
      fail_msg("%s", err.message);
   char *text = fixture_read_file(html, NULL);
   assert_non_null(text);
   return text;
}

static size_t count(const char *text, const char *needle)
{
   size_t n = 0;
   for (const char *p = text; (p = strstr(p, needle)) != NULL; p += strlen(needle))
      ++n;
   return n;
}

static void test_report_contents(void **state)
{
   (void)state;
   char *html = build_report(0);
   assert_non_null(strstr(html, "Decision support only \xE2\x80\x94 not a diagnosis. All findings require clinician review."));
   /* Offline and self-contained: a CSP that forbids everything external,
    * and the frame embedded as data. */
   assert_non_null(strstr(html, "default-src 'none'; img-src data:"));
   assert_non_null(strstr(html, "src=\"data:image/png;base64,iVBORw0KGgo"));
   assert_null(strstr(html, "http://"));
   assert_null(strstr(html, "https://"));
   assert_null(strstr(html, "<script"));
   /* Recording metadata and plugin table. */
   assert_non_null(strstr(html, "nasolabial phantom"));
   assert_non_null(strstr(html, "128 x 96 pixels"));
   assert_non_null(strstr(html, "center_frequency_hz"));
   assert_non_null(strstr(html, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"));
   /* Every finding status and every plugin status appears, styled. */
   assert_non_null(strstr(html, "class=\"s-detected\">detected<"));
   assert_non_null(strstr(html, "class=\"s-not_detected\">not_detected<"));
   assert_non_null(strstr(html, "class=\"s-indeterminate\">indeterminate<"));
   assert_non_null(strstr(html, "class=\"s-ok\">ok<"));
   assert_non_null(strstr(html, "class=\"s-failed\">failed: crashed on frame 1 (SIGSEGV)<"));
   assert_non_null(strstr(html, "class=\"s-refused\">refused: sha256 differs from the manifest<"));
   assert_non_null(strstr(html, "class=\"s-quarantined\">quarantined: 3 crashes<"));
   /* Basis, caveat, advice, attributes, confidence. */
   assert_non_null(strstr(html, "No colour signal over a 6.2 mm segment"));
   assert_non_null(strstr(html, "Absence of Doppler signal does not exclude intravascular filler"));
   assert_non_null(strstr(html, "Review recommended."));
   assert_non_null(strstr(html, "class = ha_fresh"));
   assert_non_null(strstr(html, "<td>91%</td>"));
   /* Measurement in mm with its SI value. */
   assert_non_null(strstr(html, "6.20 mm (0.0062 m)"));
   /* Spectral values. */
   assert_non_null(strstr(html, "<td>45.2 cm/s</td><td>12.0 cm/s</td><td>0.73</td>"));
   /* Timings: intravascular 1 ms and 2 ms -> median 1.5, p99 2.0. */
   assert_non_null(strstr(html, "<td>org.sonoplug.intravascular</td><td>2</td><td>1.500</td><td>2.000</td>"));
   assert_non_null(strstr(html, "<td>org.sonoplug.artefacts</td><td>2</td><td>0.500</td><td>0.500</td>"));
   /* The failure of frame 1, in the summary and in the frame. */
   assert_non_null(strstr(html, "<tr><td>1</td><td>org.sonoplug.artefacts</td><td class=\"s-failed\">failed</td>"
                                "<td>crashed (SIGSEGV)</td></tr>"));
   assert_int_equal(count(html, "crashed (SIGSEGV)</td>"), 2);
   /* A path leaving the results folder is never read. */
   assert_non_null(strstr(html, "Image not available: ../outside.png (only relative paths inside the results folder"));
   /* Two embedded images: the frame and its spectral strip. */
   assert_int_equal(count(html, "data:image/png;base64,"), 2);
   free(html);
}

static void test_plugin_text_is_escaped(void **state)
{
   (void)state;
   char *html = build_report(1);
   assert_null(strstr(html, "<script"));
   assert_null(strstr(html, "<img src=x"));
   assert_null(strstr(html, "<svg"));
   assert_null(strstr(html, "<iframe"));
   assert_null(strstr(html, "<b>x</b>"));
   assert_non_null(strstr(html, "&lt;script&gt;alert(1)&lt;/script&gt;Finding"));
   assert_non_null(strstr(html, "&quot;&gt;&lt;img src=x onerror=alert(2)&gt;"));
   assert_non_null(strstr(html, "&lt;svg onload=alert(3)&gt;"));
   assert_non_null(strstr(html, "org.evil.&lt;b&gt;x&lt;/b&gt;&amp;co"));
   assert_non_null(strstr(html, "&lt;iframe src=//x&gt;"));
   free(html);
}

/* Writes `json` to results.json and returns the report error message. */
static const char *report_error(const char *json, sono_error_t *err)
{
   char results[512], html[512];
   snprintf(results, sizeof results, "%s/bad.json", tmpdir);
   snprintf(html, sizeof html, "%s/bad.html", tmpdir);
   FILE *f = fopen(results, "wb");
   assert_non_null(f);
   fputs(json, f);
   fclose(f);
   assert_int_equal(sono_report_write_html(results, html, err), -1);
   assert_non_null(strstr(err->message, "bad.json"));
   return err->message;
}

#define FRAME_WITH(item) \
   "{\"format\":\"sono.results\",\"version\":1,\"plugins\":[],\"frames\":[{\"index\":0," item "}]}"

static void test_schema_errors_name_the_field(void **state)
{
   (void)state;
   sono_error_t err = {{0}};
   assert_non_null(strstr(report_error("{\"format\":\"other\"}", &err), "format: expected \"sono.results\""));
   assert_non_null(strstr(report_error("{\"format\":\"sono.results\",\"version\":2}", &err), "version: expected 1"));
   assert_non_null(strstr(report_error("{\"format\":\"sono.results\",\"version\":1,\"frames\":[]}", &err),
                          "plugins: expected an array"));
   assert_non_null(strstr(report_error("{\"format\":\"sono.results\",\"version\":1,\"plugins\":[{\"id\":\"a.b\"}],"
                                       "\"frames\":[]}",
                                       &err),
                          "plugins[0].version: expected a string"));
   assert_non_null(strstr(report_error(FRAME_WITH("\"findings\":[{\"plugin\":\"a.b\",\"kind\":\"k\",\"status\":"
                                                  "\"maybe\",\"confidence\":0.5}]"),
                                       &err),
                          "frames[0].findings[0].status: expected detected, not_detected or indeterminate, got "
                          "\"maybe\""));
   assert_non_null(strstr(report_error(FRAME_WITH("\"findings\":[{\"plugin\":\"a.b\",\"kind\":\"k\",\"status\":"
                                                  "\"detected\",\"confidence\":1.3}]"),
                                       &err),
                          "frames[0].findings[0].confidence: 1.3 is outside [0, 1]"));
   assert_non_null(strstr(report_error(FRAME_WITH("\"failures\":[{\"plugin\":\"a.b\",\"status\":\"crashed\","
                                                  "\"reason\":\"x\"}]"),
                                       &err),
                          "frames[0].failures[0].status: expected \"failed\", got \"crashed\""));
   assert_non_null(strstr(report_error(FRAME_WITH("\"failures\":[{\"plugin\":\"a.b\",\"status\":\"failed\"}]"), &err),
                          "frames[0].failures[0].reason: expected a string"));
   assert_non_null(strstr(report_error(FRAME_WITH("\"measurements\":[{\"plugin\":\"a.b\",\"name\":\"n\","
                                                  "\"value\":\"1\",\"unit\":\"m\"}]"),
                                       &err),
                          "frames[0].measurements[0].value: expected a finite number"));
   assert_non_null(strstr(report_error(FRAME_WITH("\"timings\":[{\"plugin\":\"a.b\",\"ns\":-1}]"), &err),
                          "frames[0].timings[0].ns: -1 is negative"));
   assert_non_null(strstr(report_error("{\"format\":", &err), "not valid JSON"));

   char html[512];
   snprintf(html, sizeof html, "%s/x.html", tmpdir);
   assert_int_equal(sono_report_write_html("/nonexistent/results.json", html, &err), -1);
   assert_non_null(strstr(err.message, "/nonexistent/results.json: cannot read results"));
}

static void test_every_status_passes_the_schema(void **state)
{
   (void)state;
   static const char *const statuses[] = {"detected", "not_detected", "indeterminate"};
   sono_error_t err = {{0}};
   for (int i = 0; i < 3; ++i) {
      char json[512];
      snprintf(json, sizeof json,
               FRAME_WITH("\"findings\":[{\"plugin\":\"a.b\",\"kind\":\"k\",\"status\":\"%s\",\"confidence\":0.5}],"
                          "\"failures\":[{\"plugin\":\"a.b\",\"status\":\"failed\",\"reason\":\"timeout\"}]"),
               statuses[i]);
      cJSON *root = cJSON_Parse(json);
      assert_int_equal(sono_report_check_results(root, "r.json", &err), 0);
      cJSON_Delete(root);
   }
}

int main(void)
{
   const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_report_contents),
      cmocka_unit_test(test_plugin_text_is_escaped),
      cmocka_unit_test(test_schema_errors_name_the_field),
      cmocka_unit_test(test_every_status_passes_the_schema),
   };
   return cmocka_run_group_tests(tests, setup, NULL);
}
