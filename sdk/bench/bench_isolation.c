/* sono-bench isolation: what running a plugin in a sandboxed child costs
 * and guarantees (issue: host isolation).
 *
 *   round trip   one isolated process() of a no-op plugin on a 384x256x16 IQ
 *                frame (planes in a shared memfd buffer) against the same
 *                call in-process; targets: overhead <= 30 us median,
 *                <= 100 us p99; plane copies: none.
 *   slow plugin  100 fps, a good plugin plus one sleeping twice its deadline:
 *                frames whose results are all in within the frame period;
 *                target >= 99.9 %.
 *   --soak N     N frames through every bundled plugin, isolated: host RSS
 *                growth <= 1 MB after warm-up, no file-descriptor leak.
 *
 * The test plugins come from the isolation tests' fixture folder
 * (<build>/tests/unit/isolation/fixtures, or --fixtures DIR). */
#include <dirent.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sono/host/host.h>

#include "timing.h"

enum { NX = 384, NZ = 256, ENS = 16, ROUND_TRIPS = 3000 };

typedef struct bench_frame {
   sono_host_buffer_t buf;
   sono_plane_t planes[6];
   sono_frame_t frame;
   sono_frame_format_t format;
} bench_frame;

static uint64_t now_ns(void)
{
   struct timespec ts;
   clock_gettime(CLOCK_MONOTONIC, &ts);
   return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
   uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
   return (x > y) - (x < y);
}

/* IQ ensemble, B-mode and the three Doppler maps, all in one shared buffer. */
static int make_frame(bench_frame *b, sono_error_t *err)
{
   size_t px = (size_t)NX * NZ, iq = px * ENS * 8, bm = px, fl = px * 4;
   if (sono_host_buffer_create(&b->buf, iq + bm + 3 * fl, "bench-frame", err) < 0 ||
       sono_host_buffer_share(&b->buf, err) < 0)
      return -1;
   uint8_t *d = b->buf.data;
   srand(7);
   for (size_t i = 0; i < b->buf.size; ++i)
      d[i] = (uint8_t)(rand() & 0x3f);
   float *f = (float *)(d + iq + bm);
   for (size_t i = 0; i < 3 * px; ++i)
      f[i] = 0.01f * (float)((int)(i % 13) - 6);
   b->planes[0] = (sono_plane_t){sizeof(sono_plane_t), SONO_PLANE_IQ, SONO_DTYPE_COMPLEX64, {NZ, NX, ENS},
                                 {1, NZ, (int64_t)px}, d};
   b->planes[1] = (sono_plane_t){sizeof(sono_plane_t), SONO_PLANE_BMODE, SONO_DTYPE_UINT8, {NZ, NX, 1}, {NX, 1, 0},
                                 d + iq};
   for (int k = 0; k < 3; ++k)
      b->planes[2 + k] = (sono_plane_t){sizeof(sono_plane_t), SONO_PLANE_VELOCITY + k, SONO_DTYPE_FLOAT32,
                                        {NZ, NX, 1}, {NX, 1, 0}, d + iq + bm + (size_t)k * fl};
   memset(&b->frame, 0, sizeof b->frame);
   b->frame.struct_size = sizeof b->frame;
   b->frame.plane_count = 5;
   b->frame.planes = b->planes;
   b->frame.grid = (sono_grid_t){NX, NZ, 1e-4, 5e-5, -0.0192, 0.002};
   b->frame.acquisition.center_frequency_hz = 7.5e6;
   b->frame.acquisition.demodulation_frequency_hz = 7.5e6;
   b->frame.acquisition.sound_speed_m_s = 1540;
   b->frame.acquisition.prf_hz = 4000;
   b->frame.acquisition.frame_rate_hz = 100;
   b->frame.acquisition.ensemble_size = ENS;
   b->frame.acquisition.nyquist_velocity_m_s = 1540 * 4000 / (4 * 7.5e6);
   memset(&b->format, 0, sizeof b->format);
   b->format.struct_size = sizeof b->format;
   for (int k = 0; k < 5; ++k)
      b->format.planes_available |= SONO_PLANE_BIT(b->planes[k].kind);
   b->format.max_nx = NX;
   b->format.max_nz = NZ;
   b->format.max_ensemble = ENS;
   b->format.max_frame_rate_hz = 100;
   b->format.grid = b->frame.grid;
   b->format.acquisition = b->frame.acquisition;
   return 0;
}

static sono_host_instance_t *open_instance(const char *manifest, int isolated, const sono_host_policy_t *policy,
                                           const sono_frame_format_t *format, sono_host_library_t **lib,
                                           sono_error_t *err)
{
   *lib = isolated ? sono_host_library_load_isolated(manifest, err) : sono_host_library_load(manifest, err);
   if (!*lib)
      return NULL;
   sono_host_instance_options_t opt = {0, 0, isolated ? SONO_HOST_RUN_ISOLATED : SONO_HOST_RUN_IN_PROCESS, policy};
   sono_host_instance_t *in = sono_host_instance_create(*lib, NULL, &opt, err);
   if (in && sono_host_instance_activate(in, format, err) < 0) {
      sono_host_instance_destroy(in);
      return NULL;
   }
   return in;
}

static void close_instance(sono_host_instance_t *in, sono_host_library_t *lib)
{
   sono_error_t err;
   sono_host_instance_destroy(in);
   if (lib)
      sono_host_library_unload(lib, &err);
}

/* Per-call times of `n` process() calls, sorted. */
static int time_calls(sono_host_instance_t *in, bench_frame *b, uint64_t *ns, int n)
{
   sono_error_t err;
   for (int i = 0; i < n; ++i) {
      b->frame.sequence = (uint64_t)i;
      uint64_t t0 = now_ns();
      if (sono_host_instance_process(in, &b->frame, &err) < 0) {
         fprintf(stderr, "sono-bench isolation: %s\n", err.message);
         return -1;
      }
      ns[i] = now_ns() - t0;
   }
   qsort(ns, (size_t)n, sizeof *ns, cmp_u64);
   return 0;
}

static int round_trip(const char *fixtures, bench_frame *b)
{
   char manifest[4096];
   sono_error_t err;
   sono_host_library_t *lib_in = NULL, *lib_iso = NULL;
   sono_host_policy_t pol;
   sono_host_policy_default(&pol);
   pol.min_deadline_ms = 100; /* measuring the channel, not the watchdog, on a shared machine */
   snprintf(manifest, sizeof manifest, "%s/iso_iq.sono.json", fixtures);
   sono_host_instance_t *in = open_instance(manifest, 0, NULL, &b->format, &lib_in, &err);
   sono_host_instance_t *iso = in ? open_instance(manifest, 1, &pol, &b->format, &lib_iso, &err) : NULL;
   static uint64_t a[ROUND_TRIPS], c[ROUND_TRIPS];
   if (!in || !iso || time_calls(in, b, a, 200) < 0 || time_calls(iso, b, c, 200) < 0 ||
       time_calls(in, b, a, ROUND_TRIPS) < 0 || time_calls(iso, b, c, ROUND_TRIPS) < 0) {
      fprintf(stderr, "sono-bench isolation: %s\n", err.message);
      close_instance(in, lib_in);
      close_instance(iso, lib_iso);
      return -1;
   }
   size_t p99 = (size_t)((ROUND_TRIPS - 1) * 0.99);
   double med_in = a[ROUND_TRIPS / 2] * 1e-3, med_iso = c[ROUND_TRIPS / 2] * 1e-3;
   double p99_in = a[p99] * 1e-3, p99_iso = c[p99] * 1e-3;
   sono_host_isolation_stats_t st;
   sono_host_instance_isolation_stats(iso, &st);
   printf("round trip, no-op plugin, %dx%dx%d IQ frame (+ B-mode), %d calls each\n", NX, NZ, ENS, ROUND_TRIPS);
   printf("  in-process process()             median %8.2f us  p99 %8.2f us\n", med_in, p99_in);
   printf("  isolated process()               median %8.2f us  p99 %8.2f us\n", med_iso, p99_iso);
   printf("  isolation overhead               median %8.2f us (target <= 30: %s)  p99 %8.2f us (target <= 100: %s)\n",
          med_iso - med_in, med_iso - med_in <= 30 ? "MET" : "MISSED", p99_iso - p99_in,
          p99_iso - p99_in <= 100 ? "MET" : "MISSED");
   printf("  plane copies                     %llu (%llu bytes) over %d frames (target: none: %s)\n",
          (unsigned long long)st.plane_copies, (unsigned long long)st.plane_bytes_copied, ROUND_TRIPS + 200,
          st.plane_copies == 0 ? "MET" : "MISSED");
   close_instance(in, lib_in);
   close_instance(iso, lib_iso);
   return 0;
}

static void sleep_until(uint64_t t)
{
   struct timespec ts = {(time_t)(t / 1000000000u), (long)(t % 1000000000u)};
   clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
}

static int slow_plugin(const char *fixtures, bench_frame *b, int frames)
{
   char good_m[4096], slow_m[4096];
   sono_error_t err;
   sono_host_policy_t pol;
   sono_host_policy_default(&pol);
   pol.deadline_factor = 2.0;     /* 3 ms declared -> 6 ms, inside the 10 ms frame period */
   pol.warmup_deadline_ms = 6.0;  /* a restart must not cost a late frame either */
   pol.restart_after_quarantine = 1;
   pol.crash_loop_limit = 1000000;
   snprintf(good_m, sizeof good_m, "%s/iso_iq.sono.json", fixtures);
   snprintf(slow_m, sizeof slow_m, "%s/iso_slow.sono.json", fixtures);
   sono_host_library_t *lg = NULL, *ls = NULL;
   sono_host_instance_t *good = open_instance(good_m, 1, &pol, &b->format, &lg, &err);
   sono_host_instance_t *slow = good ? open_instance(slow_m, 1, &pol, &b->format, &ls, &err) : NULL;
   if (!good || !slow) {
      fprintf(stderr, "sono-bench isolation: %s\n", err.message);
      close_instance(good, lg);
      return -1;
   }
   const uint64_t period = 10000000u;
   uint64_t worst = 0, base_worst = 0;
   int on_time = 0, good_ok = 0, base_on_time = 0;
   /* Baseline in the same run: the same loop with the good plugin alone,
    * which shows the scheduling noise of the machine. */
   uint64_t start = now_ns() + period;
   for (int i = 0; i < frames; ++i) {
      uint64_t t = start + (uint64_t)i * period;
      sleep_until(t);
      b->frame.sequence = (uint64_t)i;
      sono_host_instance_process(good, &b->frame, &err);
      uint64_t took = now_ns() - t;
      base_worst = took > base_worst ? took : base_worst;
      base_on_time += took <= period;
   }
   start = now_ns() + period;
   for (int i = 0; i < frames; ++i) {
      uint64_t t = start + (uint64_t)i * period;
      sleep_until(t);
      b->frame.sequence = (uint64_t)i;
      sono_host_instance_process(slow, &b->frame, &err);
      good_ok += sono_host_instance_process(good, &b->frame, &err) == 0;
      uint64_t took = now_ns() - t;
      worst = took > worst ? took : worst;
      on_time += took <= period;
   }
   sono_host_isolation_stats_t st;
   sono_host_instance_isolation_stats(slow, &st);
   double pct = 100.0 * on_time / frames;
   printf("slow plugin at 100 fps: %d frames; one plugin sleeps 12 ms against its 6 ms deadline\n", frames);
   printf("  frames complete within 10 ms    %6.2f %% (target >= 99.9 %%: %s); worst %.2f ms\n", pct,
          pct >= 99.9 ? "MET" : "MISSED", worst * 1e-6);
   printf("  baseline, good plugin alone     %6.2f %%; worst %.2f ms (scheduling noise of this machine)\n",
          100.0 * base_on_time / frames, base_worst * 1e-6);
   printf("  good plugin results             %d/%d frames\n", good_ok, frames);
   printf("  slow plugin                     %llu deadline misses, %u restarts\n",
          (unsigned long long)st.deadline_misses, st.restarts);
   close_instance(good, lg);
   close_instance(slow, ls);
   return 0;
}

static long rss_kb(void)
{
   long pages = 0, rss = 0;
   FILE *f = fopen("/proc/self/statm", "r");
   if (f && fscanf(f, "%ld %ld", &pages, &rss) != 2)
      rss = 0;
   if (f)
      fclose(f);
   return rss * (sysconf(_SC_PAGESIZE) / 1024);
}

static int fd_count(void)
{
   int n = 0;
   DIR *d = opendir("/proc/self/fd");
   for (struct dirent *e; d && (e = readdir(d));)
      n += e->d_name[0] != '.';
   if (d)
      closedir(d);
   return n;
}

static int soak(bench_frame *b, int frames)
{
   enum { MAX_PLUGINS = 16 };
   sono_host_listing_t *items = NULL;
   sono_error_t err;
   int n = sono_host_scan(SONO_PLUGIN_DIR, &items, &err);
   sono_host_library_t *libs[MAX_PLUGINS] = {0};
   sono_host_instance_t *ins[MAX_PLUGINS] = {0};
   int count = 0;
   for (int i = 0; i < n && count < MAX_PLUGINS; ++i) {
      if (!items[i].ok)
         continue;
      ins[count] = open_instance(items[i].manifest.path, 1, NULL, &b->format, &libs[count], &err);
      if (!ins[count]) {
         fprintf(stderr, "sono-bench isolation: soak: %s\n", err.message);
         if (libs[count])
            sono_host_library_unload(libs[count], &err);
         continue;
      }
      count++;
   }
   free(items);
   uint64_t failures = 0;
   long rss0 = 0;
   int fds0 = 0;
   for (int f = 0; f < frames; ++f) {
      if (f == frames / 10 || (f == 0 && frames < 10)) {
         rss0 = rss_kb();
         fds0 = fd_count();
      }
      b->frame.sequence = (uint64_t)f;
      for (int i = 0; i < count; ++i)
         failures += sono_host_instance_process(ins[i], &b->frame, &err) < 0;
   }
   long rss1 = rss_kb();
   int fds1 = fd_count();
   printf("soak: %d frames through %d bundled plugin(s), isolated (%llu plugin-frame failures)\n", frames, count,
          (unsigned long long)failures);
   printf("  host RSS after warm-up %ld kB, at the end %ld kB: growth %ld kB (target <= 1024: %s)\n", rss0, rss1,
          rss1 - rss0, rss1 - rss0 <= 1024 ? "MET" : "MISSED");
   printf("  open file descriptors %d -> %d (target: no leak: %s)\n", fds0, fds1, fds1 <= fds0 ? "MET" : "MISSED");
   for (int i = 0; i < count; ++i)
      close_instance(ins[i], libs[i]);
   return 0;
}

int sono_bench_isolation(int argc, char **argv)
{
   char fixtures[4096], base[4096];
   int soak_frames = 0, slow_frames = 1000;
   snprintf(base, sizeof base, "%s", SONO_BENCH_PLUGIN_DIR);
   snprintf(fixtures, sizeof fixtures, "%s/tests/unit/isolation/fixtures", dirname(base));
   for (int i = 1; i < argc; ++i) {
      if (!strcmp(argv[i], "--soak") && i + 1 < argc)
         soak_frames = atoi(argv[++i]);
      else if (!strcmp(argv[i], "--fixtures") && i + 1 < argc)
         snprintf(fixtures, sizeof fixtures, "%s", argv[++i]);
      else if (!strcmp(argv[i], "--slow-frames") && i + 1 < argc)
         slow_frames = atoi(argv[++i]);
      else {
         fprintf(stderr, "usage: sono-bench isolation [--fixtures DIR] [--slow-frames N] [--soak N]\n");
         return 2;
      }
   }
   bench_frame b;
   sono_error_t err;
   if (make_frame(&b, &err) < 0) {
      fprintf(stderr, "sono-bench isolation: %s\n", err.message);
      return 1;
   }
   int rc = soak_frames > 0 ? soak(&b, soak_frames)
                            : (round_trip(fixtures, &b) < 0 || slow_plugin(fixtures, &b, slow_frames) < 0) ? -1 : 0;
   sono_host_buffer_unshare(&b.buf);
   sono_host_buffer_destroy(&b.buf);
   return rc < 0 ? 1 : 0;
}
