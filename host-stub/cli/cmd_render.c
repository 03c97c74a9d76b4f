/* sono-host render RECORDING.json RESULTS.json [options]: re-render the
 * frame PNGs of a run from the recording and the overlays in results.json,
 * for example at another scale or without colour (docs/rendering.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(HAVE_SONO_RENDER)
#include <cjson/cJSON.h>
#include <sono/host/render.h>
#include <sono/host/report.h>
#include <sono/sdk/manifest.h>
#include <sono/sdk/recording.h>

typedef struct render_args {
   const char *recording, *results, *out_dir;
   long only_frame;          /* -1: every frame listed in results.json */
   sono_render_options_t options;
} render_args_t;

static int render_usage(void)
{
   fprintf(stderr,
           "usage: sono-host render RECORDING.json RESULTS.json [options]\n"
           "  --out DIR          where to write PNGs (default: the folder of RESULTS.json)\n"
           "  --frame N          only frame N\n"
           "  --ppmm X           pixels per millimetre (default: image 768 px wide)\n"
           "  --threshold DB     colour shown where power >= max + DB (default -25)\n"
           "  --no-colour | --no-overlays | --no-legend\n"
           "Images keep the names results.json gives them (\"image\"), else frame_NNNN.png.\n");
   return 2;
}

static int parse_number(const char *text, double *out)
{
   char *end = NULL;
   *out = strtod(text, &end);
   return end && end != text && *end == '\0' ? 0 : -1;
}

static int parse_args(int argc, char **argv, render_args_t *a)
{
   memset(a, 0, sizeof *a);
   a->only_frame = -1;
   sono_render_options_default(&a->options);
   for (int i = 1; i < argc; ++i) {
      double v;
      const char *s = argv[i];
      int has_value = i + 1 < argc;
      if (!strcmp(s, "--out") && has_value)
         a->out_dir = argv[++i];
      else if (!strcmp(s, "--frame") && has_value && parse_number(argv[++i], &v) == 0 && v >= 0)
         a->only_frame = (long)v;
      else if (!strcmp(s, "--ppmm") && has_value && parse_number(argv[++i], &v) == 0)
         a->options.pixels_per_mm = v;
      else if (!strcmp(s, "--threshold") && has_value && parse_number(argv[++i], &v) == 0)
         a->options.power_threshold_db = (float)v;
      else if (!strcmp(s, "--no-colour"))
         a->options.show_colour = 0;
      else if (!strcmp(s, "--no-overlays"))
         a->options.show_overlays = 0;
      else if (!strcmp(s, "--no-legend"))
         a->options.show_legend = 0;
      else if (s[0] != '-' && !a->recording)
         a->recording = s;
      else if (s[0] != '-' && !a->results)
         a->results = s;
      else
         return -1;
   }
   return a->recording && a->results ? 0 : -1;
}

static cJSON *load_results(const char *path, sono_error_t *err)
{
   FILE *f = fopen(path, "rb");
   if (!f) {
      sono_error_set(err, "%s: cannot open results", path);
      return NULL;
   }
   fseek(f, 0, SEEK_END);
   long n = ftell(f);
   fseek(f, 0, SEEK_SET);
   char *text = n >= 0 ? malloc((size_t)n + 1) : NULL;
   size_t got = text ? fread(text, 1, (size_t)n, f) : 0;
   fclose(f);
   cJSON *root = text && got == (size_t)n ? cJSON_ParseWithLength(text, got) : NULL;
   free(text);
   if (!root) {
      sono_error_set(err, "%s: not readable as JSON; expected a sono.results document", path);
      return NULL;
   }
   if (sono_report_check_results(root, path, err) != 0) {
      cJSON_Delete(root);
      return NULL;
   }
   return root;
}

/* The file name results.json gives a frame's image, if it is a plain
 * relative name; otherwise frame_NNNN.png. */
static void image_name(const cJSON *frame, long index, char *buf, size_t size)
{
   const cJSON *img = cJSON_GetObjectItemCaseSensitive(frame, "image");
   if (cJSON_IsString(img) && img->valuestring[0] && img->valuestring[0] != '/' && !strstr(img->valuestring, ".."))
      snprintf(buf, size, "%s", img->valuestring);
   else
      snprintf(buf, size, "frame_%04ld.png", index);
}

/* The frame as the host built it during `run`, from the recording. */
static int build_frame(const sono_recording_t *rec, uint32_t index, uint64_t timestamp_ns, sono_plane_t *planes,
                       sono_frame_t *frame, sono_error_t *err)
{
   const sono_recording_info_t *info = sono_recording_get_info(rec);
   int n = sono_recording_frame(rec, index, planes, err);
   if (n < 0)
      return -1;
   memset(frame, 0, sizeof *frame);
   frame->struct_size = sizeof *frame;
   frame->plane_count = (uint32_t)n;
   frame->planes = planes;
   frame->sequence = index;
   frame->timestamp_ns = timestamp_ns;
   frame->grid = info->grid;
   frame->acquisition = info->acquisition;
   sono_acquisition_t *a = &frame->acquisition;
   if (a->nyquist_velocity_m_s <= 0.0 && a->prf_hz > 0.0 && a->center_frequency_hz > 0.0 && a->sound_speed_m_s > 0.0)
      a->nyquist_velocity_m_s = a->sound_speed_m_s * a->prf_hz / (4.0 * a->center_frequency_hz); /* lag 1 */
   return 0;
}

static int render_one(sono_renderer_t *r, const sono_recording_t *rec, const cJSON *frame_json, const char *dir,
                      const char *results, sono_error_t *err)
{
   long index = (long)cJSON_GetObjectItemCaseSensitive(frame_json, "index")->valuedouble;
   const cJSON *ts = cJSON_GetObjectItemCaseSensitive(frame_json, "timestamp_ns");
   sono_plane_t planes[SONO_PLANE_KIND_COUNT];
   sono_frame_t frame;
   if (index < 0 || build_frame(rec, (uint32_t)index, cJSON_IsNumber(ts) ? (uint64_t)ts->valuedouble : 0, planes,
                                &frame, err) != 0)
      return sono_error_prefix(err, "frame %ld", index);
   char what[SONO_PATH_SIZE + 64], name[512], path[SONO_PATH_SIZE];
   snprintf(what, sizeof what, "%s: frames[index %ld].overlays", results, index);
   sono_render_overlays_t *list =
      sono_render_overlays_from_json(cJSON_GetObjectItemCaseSensitive(frame_json, "overlays"), what, err);
   if (!list)
      return -1;
   image_name(frame_json, index, name, sizeof name);
   snprintf(path, sizeof path, "%s/%s", dir, name);
   int rc = sono_render_frame_png_events(r, &frame, sono_render_overlays_events(list), sono_render_overlays_count(list),
                                         path, err);
   sono_render_overlays_free(list);
   if (rc == 0)
      printf("  %s\n", path);
   return rc;
}

int sono_cli_render(int argc, char **argv)
{
   render_args_t a;
   if (parse_args(argc, argv, &a) != 0)
      return render_usage();
   sono_error_t err;
   char dir[SONO_PATH_SIZE];
   if (a.out_dir) {
      snprintf(dir, sizeof dir, "%s", a.out_dir);
   } else {
      const char *slash = strrchr(a.results, '/');
      snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - a.results) : 1, slash ? a.results : ".");
   }
   cJSON *root = load_results(a.results, &err);
   sono_recording_t *rec = root ? sono_recording_open(a.recording, &err) : NULL;
   const sono_recording_info_t *info = rec ? sono_recording_get_info(rec) : NULL;
   sono_renderer_t *r = info ? sono_renderer_create(&a.options, info->grid.nx, info->grid.nz, &err) : NULL;
   int rc = r ? 0 : 1, rendered = 0;
   const cJSON *frame_json, *frames = r ? cJSON_GetObjectItemCaseSensitive(root, "frames") : NULL;
   cJSON_ArrayForEach(frame_json, frames)
   {
      long index = (long)cJSON_GetObjectItemCaseSensitive(frame_json, "index")->valuedouble;
      if (a.only_frame >= 0 && index != a.only_frame)
         continue;
      if (render_one(r, rec, frame_json, dir, a.results, &err) != 0) {
         rc = 1;
         break;
      }
      ++rendered;
   }
   if (rc == 0 && rendered == 0) {
      sono_error_set(&err, "%s: no frame %ld in \"frames\"", a.results, a.only_frame);
      rc = 1;
   }
   if (rc != 0)
      fprintf(stderr, "sono-host render: %s\n", err.message);
   else
      printf("rendered %d frame(s) into %s\n", rendered, dir);
   sono_renderer_destroy(r);
   sono_recording_close(rec);
   cJSON_Delete(root);
   return rc;
}
#else
int sono_cli_render(int argc, char **argv)
{
   (void)argc;
   (void)argv;
   fprintf(stderr, "sono-host render: this build has no sono_render library (libpng missing?)\n");
   return 1;
}
#endif
