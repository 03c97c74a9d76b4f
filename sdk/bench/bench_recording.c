/* sono-bench recording: cost of the recording reader and writer on a
 * 384 x 256 IQ recording with an ensemble of 16 (4 frames, 50 MB), against
 * the memory and disk rooflines measured in the same run.
 * Targets: opening (validation + the one NaN/Inf scan) within 1.5x of
 * mapping the data file afresh and reading it once (a new mapping pays its
 * page-table set-up, which a warm streaming read does not; both are shown);
 * writing within 1.5x of a plain fwrite + fsync of the same bytes; handing
 * out a frame's planes costs no copy. */
#include <sono/sdk/recording.h>

#include <stdio.h>
#include <stdlib.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "timing.h"

enum { NZ = 384, NX = 256, NE = 16, FRAMES = 4 };

typedef struct ctx {
   char dir[64];
   char header[96];
   float *iq;              /* one frame, F order */
   sono_recording_t *rec;
   int failed;
} ctx_t;

static sono_recording_info_t bench_info(void)
{
   sono_recording_info_t info;
   memset(&info, 0, sizeof info);
   info.grid = (sono_grid_t){NX, NZ, 5e-5, 2.5e-5, -6.4e-3, 0.0};
   info.acquisition.center_frequency_hz = 15e6;
   info.acquisition.sound_speed_m_s = 1540.0;
   info.acquisition.prf_hz = 4000.0;
   return info;
}

static void write_recording(void *p)
{
   ctx_t *c = p;
   sono_error_t err;
   sono_recording_info_t info = bench_info();
   sono_recording_writer_t *w = sono_recording_writer_open(c->header, &info, &err);
   sono_plane_t plane = {sizeof plane, SONO_PLANE_IQ, SONO_DTYPE_COMPLEX64, {NZ, NX, NE}, {1, NZ, NZ * NX}, c->iq};
   for (int f = 0; w && f < FRAMES; ++f)
      if (sono_recording_writer_add_frame(w, &plane, 1, &err) != 0)
         c->failed = 1;
   if (!w || sono_recording_writer_commit(w, &err) != 0) {
      fprintf(stderr, "bench recording: %s\n", err.message);
      c->failed = 1;
   }
}

static void write_baseline(void *p)
{
   ctx_t *c = p;
   char path[128];
   snprintf(path, sizeof path, "%s/baseline.bin", c->dir);
   FILE *f = fopen(path, "wb");
   size_t bytes = (size_t)NZ * NX * NE * 8;
   for (int i = 0; f && i < FRAMES; ++i)
      if (fwrite(c->iq, 1, bytes, f) != bytes)
         c->failed = 1;
   if (!f || fflush(f) != 0 || fsync(fileno(f)) != 0)
      c->failed = 1;
   if (f)
      fclose(f);
   unlink(path);
}

static void open_recording(void *p)
{
   ctx_t *c = p;
   sono_error_t err;
   sono_recording_t *rec = sono_recording_open(c->header, &err);
   if (!rec)
      c->failed = 1;
   sono_recording_close(rec);
}

/* Baseline of open: a fresh read-only mapping of the data, read once. */
static void map_and_read(void *p)
{
   ctx_t *c = p;
   char path[128];
   snprintf(path, sizeof path, "%s/bench.iq.bin", c->dir);
   int fd = open(path, O_RDONLY);
   struct stat st;
   if (fd < 0 || fstat(fd, &st) != 0) {
      c->failed = 1;
      if (fd >= 0)
         close(fd);
      return;
   }
   const uint64_t *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
   close(fd);
   if (m == MAP_FAILED) {
      c->failed = 1;
      return;
   }
   uint64_t acc = 0;
   for (size_t i = 0; i < (size_t)st.st_size / 8; ++i)
      acc ^= m[i];
   bench_sink((double)acc);
   munmap((void *)m, (size_t)st.st_size);
}

static void frame_views(void *p)
{
   ctx_t *c = p;
   sono_plane_t planes[SONO_PLANE_KIND_COUNT];
   double acc = 0;
   for (uint32_t f = 0; f < FRAMES; ++f)
      if (sono_recording_frame(c->rec, f, planes, NULL) == 1)
         acc += (double)planes[0].stride[2];
   bench_sink(acc);
}

int sono_bench_recording(int argc, char **argv)
{
   (void)argc;
   (void)argv;
   ctx_t c;
   memset(&c, 0, sizeof c);
   snprintf(c.dir, sizeof c.dir, "/tmp/sono-bench-rec-XXXXXX");
   if (!mkdtemp(c.dir))
      return 1;
   snprintf(c.header, sizeof c.header, "%s/bench.json", c.dir);
   size_t floats = (size_t)NZ * NX * NE * 2;
   c.iq = malloc(floats * sizeof(float));
   if (!c.iq)
      return 1;
   for (size_t i = 0; i < floats; ++i)
      c.iq[i] = (float)(i % 977) - 488.0f;

   bench_stats_t wb = bench_run(write_baseline, &c, 1, 5);
   bench_stats_t wr = bench_run(write_recording, &c, 1, 5);
   bench_report("write 4 IQ frames (384x256x16), atomic", wr, wb.median_s, "fwrite+fsync", 1.5 * wb.median_s);

   sono_error_t err;
   c.rec = sono_recording_open(c.header, &err);
   if (!c.rec) {
      fprintf(stderr, "bench recording: %s\n", err.message);
      return 1;
   }
   sono_plane_t planes[SONO_PLANE_KIND_COUNT];
   sono_recording_frame(c.rec, 0, planes, NULL);
   size_t bytes = (size_t)NZ * NX * NE * 8 * FRAMES;
   bench_stats_t sr = bench_stream_read(planes[0].data, bytes, 5);
   bench_stats_t mr = bench_run(map_and_read, &c, 1, 5);
   bench_stats_t op = bench_run(open_recording, &c, 1, 5);
   bench_report("open + validate + NaN scan (50 MB)", op, sr.median_s, "warm stream read", 0);
   bench_report("open + validate + NaN scan (50 MB)", op, mr.median_s, "fresh mmap + read", 1.5 * mr.median_s);
   bench_stats_t fv = bench_run(frame_views, &c, 10, 200);
   bench_report("planes of 4 frames (zero-copy views)", fv, sr.median_s / FRAMES, "read 1 frame",
                0.01 * sr.median_s / FRAMES);
   sono_recording_close(c.rec);

   char path[128];
   snprintf(path, sizeof path, "%s/bench.iq.bin", c.dir);
   unlink(path);
   unlink(c.header);
   rmdir(c.dir);
   free(c.iq);
   return c.failed;
}
