/* Writes a case as a recording through the SDK writer (formats.md §1). */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sono/sdk/recording.h>
#include <sono/sdk/names.h>

#include "sim_internal.h"

static int make_dirs(const char *dir, sono_error_t *err)
{
   char path[4096];
   if (snprintf(path, sizeof path, "%s", dir) >= (int)sizeof path)
      return sono_error_set(err, "%s: output folder path too long", dir);
   for (char *p = path + 1;; ++p) {
      if (*p == '/' || *p == '\0') {
         char keep = *p;
         *p = '\0';
         if (mkdir(path, 0777) != 0 && errno != EEXIST)
            return sono_error_set(err, "%s: cannot create folder: %s", path, strerror(errno));
         *p = keep;
         if (!keep)
            break;
      }
   }
   return 0;
}

static int write_frames(sono_sim_t *sim, sono_recording_writer_t *w, float *iq, sono_error_t *err)
{
   const sono_sim_case_t *c = sono_sim_get_case(sim);
   sono_plane_t plane;
   memset(&plane, 0, sizeof plane);
   plane.struct_size = sizeof plane;
   plane.kind = SONO_PLANE_IQ;
   plane.dtype = SONO_DTYPE_COMPLEX64;
   plane.shape[0] = c->nz;
   plane.shape[1] = c->nx;
   plane.shape[2] = c->ensemble;
   plane.stride[0] = 1;
   plane.stride[1] = c->nz;
   plane.stride[2] = (int64_t)c->nz * c->nx;
   plane.data = iq;
   for (uint32_t f = 0; f < c->frames; ++f) {
      if (sono_sim_generate_frame(sim, f, iq, err))
         return -1;
      if (sono_recording_writer_add_frame(w, &plane, 1, err))
         return -1;
   }
   return 0;
}

int sono_sim_write(sono_sim_t *sim, const char *dir, const char *stem, sono_error_t *err)
{
   const sono_sim_case_t *c = sono_sim_get_case(sim);
   if (make_dirs(dir, err))
      return -1;
   char header[4096];
   if (snprintf(header, sizeof header, "%s/%s.json", dir, stem) >= (int)sizeof header)
      return sono_error_set(err, "%s/%s.json: path too long", dir, stem);
   sono_recording_info_t info;
   memset(&info, 0, sizeof info);
   sono_sim_grid(sim, &info.grid);
   sono_sim_acquisition(sim, &info.acquisition);
   info.frame_count = c->frames;
   info.planes_present = SONO_PLANE_BIT(SONO_PLANE_IQ);
   if (c->wall_filter != SONO_WALL_NONE)
      snprintf(info.wall_filter, sizeof info.wall_filter, "%s:%u", sono_wall_filter_name(c->wall_filter),
               c->wall_filter_order);
   snprintf(info.description, sizeof info.description, "sono-phantom %s (seed %llu): %s", c->scenario,
            (unsigned long long)c->seed, c->description);
   float *iq = malloc(sizeof(float) * 2 * (size_t)c->nz * c->nx * c->ensemble);
   if (!iq)
      return sono_error_set(err, "%s: out of memory for one frame", header);
   sono_recording_writer_t *w = sono_recording_writer_open(header, &info, err);
   int rc = -1;
   if (w && write_frames(sim, w, iq, err) == 0) {
      cJSON *gt = sono_sim_ground_truth(sim);
      if (sono_recording_writer_set_ground_truth(w, gt, err) == 0) {
         rc = sono_recording_writer_commit(w, err);
         w = NULL;
      }
      cJSON_Delete(gt);
   }
   if (w)
      sono_recording_writer_abort(w);
   free(iq);
   return rc;
}

int sono_sim_write_recording(const sono_sim_case_t *c, const char *dir, const char *stem, sono_error_t *err)
{
   sono_sim_t *sim = sono_sim_create(c, err);
   if (!sim)
      return -1;
   int rc = sono_sim_write(sim, dir, stem, err);
   sono_sim_destroy(sim);
   return rc;
}
