/* sono-host doppler --in REC.json --out OUT.json [--wall poly:2|dct:2|svd:2|iir:F[:order]|none]
 *                   [--smooth M] [--lag L] [--border mirror|replicate] [--mask-db D] [--threads T]
 * Computes the velocity, power and variance planes of every frame of a
 * recording with libsono_dsp and writes them as a new recording, so other
 * tools can compare their maps with ours. No mask unless --mask-db is given:
 * the maps are the estimator's raw output. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sono/dsp/pipeline.h>
#include <sono/sdk/recording.h>

typedef struct doppler_args {
   const char *in, *out;
   sono_dsp_config_t cfg;
} doppler_args_t;

static int usage(void)
{
   fprintf(stderr, "usage: sono-host doppler --in REC.json --out OUT.json [--wall poly:N|dct:N|svd:N|iir:F[:order]|none]\n"
                   "                         [--smooth M] [--lag L] [--border mirror|replicate] [--mask-db D]"
                   " [--threads T]\n");
   return 2;
}

static int parse_count(const char *opt, const char *text, uint32_t lo, uint32_t hi, uint32_t *out)
{
   char *end;
   errno = 0;
   long v = strtol(text, &end, 10);
   if (errno || end == text || *end || v < (long)lo || v > (long)hi) {
      fprintf(stderr, "sono-host doppler: %s \"%s\": expected an integer in %u..%u\n", opt, text, lo, hi);
      return -1;
   }
   *out = (uint32_t)v;
   return 0;
}

static int parse_args(int argc, char **argv, doppler_args_t *a)
{
   memset(a, 0, sizeof *a);
   sono_dsp_config_default(&a->cfg);
   a->cfg.power_threshold_db = -INFINITY;
   char err[256];
   for (int i = 1; i < argc; ++i) {
      const char *opt = argv[i];
      if (!strcmp(opt, "--help"))
         return -1;
      if (i + 1 >= argc) {
         fprintf(stderr, "sono-host doppler: option %s needs a value\n", opt);
         return -1;
      }
      const char *val = argv[++i];
      if (!strcmp(opt, "--in"))
         a->in = val;
      else if (!strcmp(opt, "--out"))
         a->out = val;
      else if (!strcmp(opt, "--wall")) {
         if (sono_dsp_parse_wall(val, &a->cfg, err, sizeof err)) {
            fprintf(stderr, "sono-host doppler: --wall: %s\n", err);
            return -1;
         }
      } else if (!strcmp(opt, "--smooth")) {
         if (parse_count(opt, val, 1, 63, &a->cfg.smoothing))
            return -1;
      } else if (!strcmp(opt, "--lag")) {
         if (parse_count(opt, val, 1, 1024, &a->cfg.lag))
            return -1;
      } else if (!strcmp(opt, "--threads")) {
         if (parse_count(opt, val, 1, 64, &a->cfg.threads))
            return -1;
      } else if (!strcmp(opt, "--border")) {
         if (!strcmp(val, "mirror"))
            a->cfg.border = SONO_DSP_BORDER_MIRROR;
         else if (!strcmp(val, "replicate"))
            a->cfg.border = SONO_DSP_BORDER_REPLICATE;
         else {
            fprintf(stderr, "sono-host doppler: --border \"%s\": expected mirror or replicate\n", val);
            return -1;
         }
      } else if (!strcmp(opt, "--mask-db")) {
         char *end;
         a->cfg.power_threshold_db = strtod(val, &end);
         if (end == val || *end) {
            fprintf(stderr, "sono-host doppler: --mask-db \"%s\": expected a number of dB (e.g. -40)\n", val);
            return -1;
         }
      } else {
         fprintf(stderr, "sono-host doppler: unknown option \"%s\"\n", opt);
         return -1;
      }
   }
   if (!a->in || !a->out) {
      fprintf(stderr, "sono-host doppler: %s is required\n", a->in ? "--out" : "--in");
      return -1;
   }
   return 0;
}

static const sono_plane_t *find_iq(const sono_plane_t *planes, int count)
{
   for (int i = 0; i < count; ++i)
      if (planes[i].kind == SONO_PLANE_IQ)
         return &planes[i];
   return NULL;
}

/* Runs every frame through the pipeline into the writer. */
static int convert(const doppler_args_t *a, sono_recording_t *rec, double *vn, sono_error_t *err)
{
   const sono_recording_info_t *info = sono_recording_get_info(rec);
   sono_plane_t planes[SONO_PLANE_KIND_COUNT], out[4];
   char msg[512];
   if (!(info->planes_present & SONO_PLANE_BIT(SONO_PLANE_IQ)))
      return sono_error_set(err, "%s: planes: no \"iq\" plane, expected beamformed IQ with an ensemble axis", a->in);
   int n = sono_recording_frame(rec, 0, planes, err);
   if (n < 0)
      return -1;
   const sono_plane_t *iq0 = find_iq(planes, n);
   sono_dsp_pipeline_t *p =
      sono_dsp_pipeline_create(&a->cfg, iq0->shape[0], iq0->shape[1], iq0->shape[2], msg, sizeof msg);
   if (!p)
      return sono_error_set(err, "%s: %s", a->in, msg);
   sono_recording_info_t out_info = *info;
   out_info.planes_present = SONO_PLANE_BIT(SONO_PLANE_VELOCITY) | SONO_PLANE_BIT(SONO_PLANE_POWER) |
                             SONO_PLANE_BIT(SONO_PLANE_VARIANCE);
   out_info.nonfinite_count = 0;
   snprintf(out_info.description, sizeof out_info.description, "Doppler maps (sono-host doppler) of %.200s", a->in);
   sono_recording_writer_t *w = NULL;
   const uint32_t wanted = out_info.planes_present;
   int rc = 0;
   for (uint32_t f = 0; f < info->frame_count && rc == 0; ++f) {
      if ((n = sono_recording_frame(rec, f, planes, err)) < 0) {
         rc = -1;
         break;
      }
      sono_acquisition_t acq_out;
      int k = sono_dsp_pipeline_run(p, find_iq(planes, n), &info->acquisition, wanted, out, &acq_out, msg, sizeof msg);
      if (k < 0) {
         rc = sono_error_set(err, "%s: frame %u: %s", a->in, f, msg);
         break;
      }
      if (!w) {
         out_info.acquisition = acq_out;
         *vn = acq_out.nyquist_velocity_m_s;
         if (!(w = sono_recording_writer_open(a->out, &out_info, err))) {
            rc = -1;
            break;
         }
      }
      rc = sono_recording_writer_add_frame(w, out, (uint32_t)k, err);
   }
   sono_dsp_pipeline_destroy(p);
   if (rc == 0 && w)
      return sono_recording_writer_commit(w, err);
   sono_recording_writer_abort(w);
   return -1;
}

int sono_cli_doppler(int argc, char **argv)
{
   doppler_args_t a;
   if (parse_args(argc, argv, &a))
      return usage();
   sono_error_t err;
   sono_error_clear(&err);
   sono_recording_t *rec = sono_recording_open(a.in, &err);
   if (!rec) {
      fprintf(stderr, "sono-host doppler: %s\n", err.message);
      return 1;
   }
   double vn = 0;
   uint32_t frames = sono_recording_get_info(rec)->frame_count;
   int rc = convert(&a, rec, &vn, &err);
   sono_recording_close(rec);
   if (rc) {
      fprintf(stderr, "sono-host doppler: %s\n", err.message);
      return 1;
   }
   printf("wrote %s: velocity, power, variance of %u frame(s), Nyquist velocity %.4g m/s\n", a.out, frames, vn);
   return 0;
}
