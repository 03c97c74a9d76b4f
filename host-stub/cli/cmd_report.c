/* sono-host report OUT_DIR|RESULTS.json [-o REPORT.html]: rebuild the
 * self-contained report.html from an output folder (docs/rendering.md). */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#if defined(HAVE_SONO_RENDER)
#include <sono/host/report.h>
#include <sono/sdk/manifest.h>

static int report_usage(void)
{
   fprintf(stderr, "usage: sono-host report OUT_DIR|RESULTS.json [-o REPORT.html]\n"
                   "  Reads OUT_DIR/results.json (or the file given) and the images it names, and writes\n"
                   "  OUT_DIR/report.html (or -o), a single page that opens offline.\n");
   return 2;
}

int sono_cli_report(int argc, char **argv)
{
   const char *input = NULL, *output = NULL;
   for (int i = 1; i < argc; ++i) {
      if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
         return report_usage();
      if (!strcmp(argv[i], "-o") && i + 1 < argc)
         output = argv[++i];
      else if (!input && argv[i][0] != '-')
         input = argv[i];
      else
         return report_usage();
   }
   if (!input)
      return report_usage();
   char results[SONO_PATH_SIZE], html[SONO_PATH_SIZE];
   struct stat st;
   int is_dir = stat(input, &st) == 0 && S_ISDIR(st.st_mode);
   if (is_dir)
      snprintf(results, sizeof results, "%s/results.json", input);
   else
      snprintf(results, sizeof results, "%s", input);
   if (output) {
      snprintf(html, sizeof html, "%s", output);
   } else {
      const char *slash = strrchr(results, '/');
      snprintf(html, sizeof html, "%.*sreport.html", slash ? (int)(slash - results + 1) : 0, results);
   }
   sono_error_t err;
   if (sono_report_write_html(results, html, &err) != 0) {
      fprintf(stderr, "sono-host report: %s\n", err.message);
      return 1;
   }
   printf("wrote %s (open it in any browser; it needs no network)\n", html);
   return 0;
}
#else
int sono_cli_report(int argc, char **argv)
{
   (void)argc;
   (void)argv;
   fprintf(stderr, "sono-host report: this build has no sono_render library (libpng missing?)\n");
   return 1;
}
#endif
