/* Human, JUnit and JSON reports of a sono-conform run. */
#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "report.h"

const char *cf_status_name(int status)
{
   return status == CF_FAIL ? "FAIL" : status == CF_WARN ? "WARN" : "PASS";
}

void cf_report_header(FILE *f, const cf_run_t *run)
{
   fprintf(f, "sono-conform %s (ABI %s)\n", SONO_VERSION_STRING, SONO_VERSION_STRING);
   fprintf(f, "plugin:   %s%s%s%s\n", run->plugin, run->plugin_id[0] ? " (" : "", run->plugin_id,
           run->plugin_id[0] ? ")" : "");
   fprintf(f, "sha256:   %s\n", run->sha256);
   fprintf(f, "manifest: %s%s\n", run->manifest, run->have_manifest ? "" : " (missing or invalid)");
   fprintf(f, "seed:     %" PRIu64 "\n\n", run->seed);
}

void cf_report_line(FILE *f, const cf_run_t *run, const cf_result_t *r, const char *only)
{
   (void)only;
   fprintf(f, "%s  %-22s %s\n", cf_status_name(r->status), r->check->id, r->message);
   if (r->fail_count > 1)
      fprintf(f, "      (%d more failure(s) in this check)\n", r->fail_count - 1);
   if (r->status == CF_FAIL)
      fprintf(f, "      reproduce: sono-conform %s --manifest %s --seed %" PRIu64 " --only %s\n", run->plugin,
              run->manifest, run->seed, r->check->id);
}

int cf_report_summary(FILE *f, const cf_run_t *run)
{
   int n[3] = {0, 0, 0};
   for (int i = 0; i < run->count; ++i)
      n[run->results[i].status]++;
   fprintf(f, "\n%d check(s): %d PASS, %d WARN, %d FAIL -- verdict %s (seed %" PRIu64 ", sha256 %s)\n", run->count,
           n[CF_PASS], n[CF_WARN], n[CF_FAIL], n[CF_FAIL] ? "FAIL" : "PASS", run->seed, run->sha256);
   return n[CF_FAIL];
}

static void xml_text(FILE *f, const char *s)
{
   for (; *s; ++s) {
      switch (*s) {
      case '<': fputs("&lt;", f); break;
      case '>': fputs("&gt;", f); break;
      case '&': fputs("&amp;", f); break;
      case '"': fputs("&quot;", f); break;
      default:
         if ((unsigned char)*s >= 0x20 || *s == '\t')
            fputc(*s, f);
      }
   }
}

int cf_report_junit(const char *path, const cf_run_t *run)
{
   FILE *f = fopen(path, "w");
   if (!f)
      return -1;
   int fails = 0;
   double total = 0;
   for (int i = 0; i < run->count; ++i) {
      fails += run->results[i].status == CF_FAIL;
      total += run->results[i].duration_s;
   }
   fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n");
   fprintf(f, "  <testsuite name=\"sono-conform\" tests=\"%d\" failures=\"%d\" errors=\"0\" time=\"%.3f\">\n",
           run->count, fails, total);
   fprintf(f, "    <properties>\n      <property name=\"plugin\" value=\"");
   xml_text(f, run->plugin);
   fprintf(f, "\"/>\n      <property name=\"plugin_id\" value=\"");
   xml_text(f, run->plugin_id);
   fprintf(f, "\"/>\n      <property name=\"sha256\" value=\"%s\"/>\n      <property name=\"manifest\" value=\"",
           run->sha256);
   xml_text(f, run->manifest);
   fprintf(f, "\"/>\n      <property name=\"seed\" value=\"%" PRIu64 "\"/>\n", run->seed);
   fprintf(f, "      <property name=\"abi\" value=\"%s\"/>\n    </properties>\n", SONO_VERSION_STRING);
   for (int i = 0; i < run->count; ++i) {
      const cf_result_t *r = &run->results[i];
      fprintf(f, "    <testcase classname=\"sono-conform\" name=\"%s\" time=\"%.3f\">\n", r->check->id, r->duration_s);
      if (r->status == CF_FAIL) {
         fprintf(f, "      <failure message=\"");
         xml_text(f, r->message);
         fprintf(f, "\">reproduce: sono-conform ");
         xml_text(f, run->plugin);
         fprintf(f, " --manifest ");
         xml_text(f, run->manifest);
         fprintf(f, " --seed %" PRIu64 " --only %s</failure>\n", run->seed, r->check->id);
      }
      fprintf(f, "      <system-out>%s: ", cf_status_name(r->status));
      xml_text(f, r->message);
      fprintf(f, " (why: ");
      xml_text(f, r->check->rationale);
      fprintf(f, ")</system-out>\n    </testcase>\n");
   }
   fprintf(f, "  </testsuite>\n</testsuites>\n");
   return fclose(f);
}

int cf_report_json(const char *path, const cf_run_t *run)
{
   cJSON *root = cJSON_CreateObject();
   cJSON_AddStringToObject(root, "schema", "sono.conformance-report/1");
   cJSON_AddStringToObject(root, "tool", "sono-conform " SONO_VERSION_STRING);
   cJSON_AddStringToObject(root, "abi", SONO_VERSION_STRING);
   cJSON_AddStringToObject(root, "plugin", run->plugin);
   cJSON_AddStringToObject(root, "plugin_id", run->plugin_id);
   cJSON_AddStringToObject(root, "sha256", run->sha256);
   cJSON_AddStringToObject(root, "manifest", run->manifest);
   char seed[32];
   snprintf(seed, sizeof seed, "%" PRIu64, run->seed);
   cJSON_AddStringToObject(root, "seed", seed);
   time_t now = time(NULL);
   char when[32];
   strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
   cJSON_AddStringToObject(root, "date", when);
   int fails = 0;
   cJSON *checks = cJSON_AddArrayToObject(root, "checks");
   for (int i = 0; i < run->count; ++i) {
      const cf_result_t *r = &run->results[i];
      fails += r->status == CF_FAIL;
      cJSON *c = cJSON_CreateObject();
      cJSON_AddStringToObject(c, "id", r->check->id);
      cJSON_AddStringToObject(c, "rationale", r->check->rationale);
      cJSON_AddStringToObject(c, "status", cf_status_name(r->status));
      cJSON_AddStringToObject(c, "message", r->message);
      cJSON_AddNumberToObject(c, "failures", r->fail_count);
      cJSON_AddNumberToObject(c, "warnings", r->warn_count);
      cJSON_AddNumberToObject(c, "duration_s", r->duration_s);
      if (r->status == CF_FAIL) {
         char cmd[8192];
         snprintf(cmd, sizeof cmd, "sono-conform %s --manifest %s --seed %s --only %s", run->plugin, run->manifest,
                  seed, r->check->id);
         cJSON_AddStringToObject(c, "reproduce", cmd);
      }
      cJSON_AddItemToArray(checks, c);
   }
   cJSON_AddStringToObject(root, "verdict", fails ? "FAIL" : "PASS");
   char *text = cJSON_Print(root);
   cJSON_Delete(root);
   if (!text)
      return -1;
   FILE *f = fopen(path, "w");
   if (!f) {
      free(text);
      return -1;
   }
   fputs(text, f);
   fputc('\n', f);
   free(text);
   return fclose(f);
}
