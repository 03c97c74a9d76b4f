/* sono-host run: stream a recording through the Doppler core and every
 * plugin of a folder, then write results.json, one PNG per frame and
 * report.html. A plugin that is refused or fails never stops the run: it is
 * reported, and every other plugin's results are kept. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sono/host/host.h>
#include <sono/host/results.h>
#include <sono/sdk/names.h>
#include <sono/sdk/recording.h>

#include <sono/host/session.h>
#ifdef HAVE_SONO_RENDER
#include <sono/host/render.h>
#include <sono/host/report.h>
#endif

static int usage(void)
{
   fprintf(stderr,
           "usage: sono-host run --in RECORDING.json --out DIR [--plugins DIR] [--wall poly:2|dct:2|svd:2|iir:F]\n"
           "                     [--smooth M] [--frames N] [--no-images] [--quiet] [--isolate|--in-process]\n"
           "  --isolate  run every plugin in its own sandboxed process (deadline watchdog, restarts)\n"
           "  --in-process  run every plugin in this process; default: third-party plugins isolated,\n"
           "             the bundled (vendor sonoplug) ones in-process\n"
           "  --plugins  plugin folder (default: %s)\n"
           "  --out      written: results.json, frame_NNNN.png, report.html\n",
           SONO_DEFAULT_PLUGIN_DIR);
   return 2;
}

static int parse_args(int argc, char **argv, sono_session_options_t *o)
{
   static const struct option opts[] = {{"in", required_argument, 0, 'i'},      {"out", required_argument, 0, 'o'},
                                        {"plugins", required_argument, 0, 'p'}, {"wall", required_argument, 0, 'w'},
                                        {"smooth", required_argument, 0, 'm'},  {"frames", required_argument, 0, 'n'},
                                        {"no-images", no_argument, 0, 'N'},     {"quiet", no_argument, 0, 'q'},
                                        {"isolate", no_argument, 0, 'I'},       {"in-process", no_argument, 0, 'P'},       {"help", no_argument, 0, 'h'},
                                        {0, 0, 0, 0}};
   sono_session_options_default(o);
   o->plugin_dir = SONO_DEFAULT_PLUGIN_DIR;
   o->progress = isatty(STDERR_FILENO);
   optind = 1;
   int c;
   while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
      switch (c) {
      case 'i': o->recording = optarg; break;
      case 'o': o->out_dir = optarg; break;
      case 'p': o->plugin_dir = optarg; break;
      case 'w': o->wall = optarg; break;
      case 'm': o->smoothing = (uint32_t)strtoul(optarg, NULL, 10); break;
      case 'n': o->max_frames = (uint32_t)strtoul(optarg, NULL, 10); break;
      case 'N': o->images = 0; break;
      case 'q': o->progress = 0, o->quiet = 1; break;
      case 'I': o->run_mode = SONO_HOST_RUN_ISOLATED; break;
      case 'P': o->run_mode = SONO_HOST_RUN_IN_PROCESS; break;
      default: return -1;
      }
   }
   if (!o->recording || !o->out_dir || optind != argc)
      return -1;
   return 0;
}

#ifdef HAVE_SONO_RENDER
typedef struct render_ctx {
   sono_renderer_t *renderer;
   const char *out_dir;
   char name[64];
   char strip[64];
} render_ctx;

static const char *render_frame(void *c, const sono_frame_t *frame, const sono_event_store_t *const *sets,
                                const char *const *ids, uint32_t count)
{
   render_ctx *rc = c;
   char path[4096];
   sono_error_t err;
   (void)ids;
   snprintf(rc->name, sizeof rc->name, "frame_%04llu.png", (unsigned long long)frame->sequence);
   snprintf(path, sizeof path, "%s/%s", rc->out_dir, rc->name);
   if (sono_render_frame_png(rc->renderer, frame, sets, count, path, &err) < 0) {
      fprintf(stderr, "\nsono-host run: rendering: %s\n", err.message);
      return NULL;
   }
   return rc->name;
}

static const char *render_strip(void *c, const sono_frame_t *frame, double psv, double edv, double ri)
{
   render_ctx *rc = c;
   char path[4096];
   sono_error_t err;
   sono_spectral_values_t v = {psv, edv, ri};
   snprintf(rc->strip, sizeof rc->strip, "spectral_%04llu.png", (unsigned long long)frame->sequence);
   snprintf(path, sizeof path, "%s/%s", rc->out_dir, rc->strip);
   if (sono_render_spectrogram_png(rc->renderer, frame, &v, path, &err) < 0) {
      fprintf(stderr, "\nsono-host run: spectral strip: %s\n", err.message);
      return NULL;
   }
   return rc->strip;
}

static int write_report(const char *out_dir, int quiet)
{
   char results[4096], html[4096];
   sono_error_t err;
   snprintf(results, sizeof results, "%s/results.json", out_dir);
   snprintf(html, sizeof html, "%s/report.html", out_dir);
   if (sono_report_write_html(results, html, &err) < 0) {
      fprintf(stderr, "sono-host run: report: %s\n", err.message);
      return -1;
   }
   if (!quiet)
      printf("Open %s in a browser (PNG frames and results.json are beside it).\n", html);
   return 0;
}
#endif

static int run_session(sono_session_options_t *o)
{
   sono_error_t err;
   sono_session_t *s = sono_session_open(o, &err);
   if (!s) {
      fprintf(stderr, "sono-host run: %s\n", err.message);
      return 1;
   }
   int rc = sono_session_run(s, &err);
   if (rc < 0)
      fprintf(stderr, "sono-host run: %s\n", err.message);
   else if (!o->quiet)
      sono_session_print_summary(s, stdout);
   int failed = sono_session_any_failure(s);
   sono_session_close(s);
   return rc < 0 ? 1 : failed ? 3 : 0;
}

int sono_cli_run(int argc, char **argv)
{
   sono_session_options_t o;
   if (parse_args(argc, argv, &o) < 0)
      return usage();
#ifdef HAVE_SONO_RENDER
   render_ctx rc = {0};
   sono_render_options_t ro;
   sono_error_t err;
   rc.out_dir = o.out_dir;
   sono_render_options_default(&ro);
   if (o.images && !(rc.renderer = sono_renderer_create(&ro, 4096, 4096, &err))) {
      fprintf(stderr, "sono-host run: %s\n", err.message);
      return 1;
   }
   o.frame_hook = render_frame;
   o.spectral_hook = render_strip;
   o.hook_ctx = &rc;
   int status = run_session(&o);
   sono_renderer_destroy(rc.renderer);
   if (status != 1 && write_report(o.out_dir, o.quiet) < 0)
      status = 1;
   return status;
#else
   return run_session(&o);
#endif
}
