/* sono-conform reports: the human summary, JUnit XML and JSON. Every report
 * names the binary's sha256, the manifest and the seed, so it is bound to
 * one binary and reproducible. */
#ifndef SONO_CONFORM_REPORT_H
#define SONO_CONFORM_REPORT_H

#include <stdio.h>
#include "conform.h"

enum { CF_PASS = 0, CF_WARN = 1, CF_FAIL = 2 };

typedef struct cf_result {
   const cf_check_t *check;
   int status;
   char message[2048];       /* the first FAIL, else the first WARN, else the last note */
   char warn_message[2048];
   char note[1024];
   char context[512];        /* last step the child announced */
   int fail_count, warn_count;
   double duration_s;
} cf_result_t;

typedef struct cf_run {
   const char *plugin;
   const char *manifest;
   int have_manifest;
   char plugin_id[160];
   char sha256[65];
   uint64_t seed;
   cf_result_t *results;
   int count;
} cf_run_t;

void cf_report_header(FILE *f, const cf_run_t *run);
void cf_report_line(FILE *f, const cf_run_t *run, const cf_result_t *r, const char *only);
/* Prints the totals; returns the number of FAILs. */
int cf_report_summary(FILE *f, const cf_run_t *run);
int cf_report_junit(const char *path, const cf_run_t *run);
int cf_report_json(const char *path, const cf_run_t *run);
const char *cf_status_name(int status);

#endif
