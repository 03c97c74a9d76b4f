/* Frames for the plugin under test: built from the seed, then sealed in
 * read-only pages with a PROT_NONE guard page after each plane, so that a
 * write to the input or a read past a plane ends in a fault that the
 * handler below turns into a message naming the plugin and the plane. */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <sono/sdk/names.h>
#include "conform.h"

/* ---- fault regions -------------------------------------------------------- */

#define CF_MAX_REGIONS 64

typedef struct region {
   uintptr_t start, end;         /* readable bytes */
   uintptr_t guard_end;          /* [end, guard_end) is the guard page */
   char label[160];
   int used;
} region_t;

static region_t regions[CF_MAX_REGIONS];
static char fault_plugin_id[160] = "?";

static int region_add(void *start, size_t readable, size_t guard, const char *label)
{
   for (int i = 0; i < CF_MAX_REGIONS; ++i) {
      if (regions[i].used)
         continue;
      regions[i].start = (uintptr_t)start;
      regions[i].end = regions[i].start + readable;
      regions[i].guard_end = regions[i].end + guard;
      snprintf(regions[i].label, sizeof regions[i].label, "%s", label);
      regions[i].used = 1;
      return i;
   }
   return -1;
}

static void fault_append(char *buf, size_t size, const char *s)
{
   size_t n = strlen(buf);
   while (*s && n + 1 < size)
      buf[n++] = *s++;
   buf[n] = '\0';
}

static void fault_handler(int sig, siginfo_t *si, void *uc)
{
   (void)uc;
   uintptr_t a = (uintptr_t)si->si_addr;
   for (int i = 0; i < CF_MAX_REGIONS; ++i) {
      const region_t *r = &regions[i];
      if (!r->used || a < r->start || a >= r->guard_end)
         continue;
      char msg[512] = "plugin ";
      fault_append(msg, sizeof msg, fault_plugin_id);
      fault_append(msg, sizeof msg, a < r->end ? " wrote its input: a store into read-only "
                                              : " read past the end of its input: an access to the guard page after ");
      fault_append(msg, sizeof msg, r->label);
      fault_append(msg, sizeof msg, sig == SIGBUS ? " (SIGBUS)" : " (SIGSEGV)");
      cf_fail_raw(msg);
      _exit(3);
   }
   /* Not ours: die with the signal so the parent reports it. */
   signal(sig, SIG_DFL);
   raise(sig);
}

void cf_fault_handler_install(const char *plugin_id)
{
   snprintf(fault_plugin_id, sizeof fault_plugin_id, "%s", plugin_id);
   static char altstack[64 * 1024];
   stack_t ss = {.ss_sp = altstack, .ss_size = sizeof altstack, .ss_flags = 0};
   sigaltstack(&ss, NULL);
   struct sigaction sa;
   memset(&sa, 0, sizeof sa);
   sa.sa_sigaction = fault_handler;
   sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
   sigemptyset(&sa.sa_mask);
   sigaction(SIGSEGV, &sa, NULL);
   sigaction(SIGBUS, &sa, NULL);
}

/* ---- specs ------------------------------------------------------------------- */

uint32_t cf_planes_for(const sono_plugin_descriptor_t *desc)
{
   return desc->planes_needed | SONO_PLANE_BIT(SONO_PLANE_BMODE);
}

cf_frame_spec_t cf_spec(uint32_t nx, uint32_t nz, uint32_t ensemble, uint32_t planes)
{
   cf_frame_spec_t s;
   memset(&s, 0, sizeof s);
   s.nx = nx;
   s.nz = nz;
   s.ensemble = ensemble;
   s.planes = planes;
   s.fill = CF_FILL_RANDOM;
   s.prf_hz = 5000.0;
   s.center_frequency_hz = 5.0e6;
   return s;
}

const char *cf_spec_text(const cf_frame_spec_t *s, char *buf, size_t size)
{
   static const char *fills[] = {"random", "zeros", "constant", "NaN", "Inf", "extreme"};
   int n = snprintf(buf, size, "%ux%u, ensemble %u, %s data, planes ", s->nx, s->nz, s->ensemble, fills[s->fill]);
   for (int k = 0; k < SONO_PLANE_KIND_COUNT && n > 0 && (size_t)n < size; ++k)
      if (s->planes & SONO_PLANE_BIT(k))
         n += snprintf(buf + n, size - (size_t)n, "%s%s", (s->planes & (SONO_PLANE_BIT(k) - 1)) ? "+" : "",
                       sono_plane_kind_name(k));
   return buf;
}

static void acquisition_for(sono_acquisition_t *a, const cf_frame_spec_t *s)
{
   memset(a, 0, sizeof *a);
   a->center_frequency_hz = s->center_frequency_hz;
   a->demodulation_frequency_hz = s->center_frequency_hz;
   a->sampling_frequency_hz = 4.0 * s->center_frequency_hz;
   a->sound_speed_m_s = 1540.0;
   a->prf_hz = s->prf_hz;
   a->frame_rate_hz = 20.0;
   a->ensemble_size = s->ensemble;
   a->wall_filter = SONO_WALL_POLY;
   a->wall_filter_order = 1;
   a->doppler_lag = 1;
   a->nyquist_velocity_m_s = s->center_frequency_hz > 0 ? 1540.0 * s->prf_hz / (4.0 * s->center_frequency_hz) : 0;
   a->probe_geometry = SONO_PROBE_LINEAR;
   a->probe_elements = 128;
   a->probe_pitch_m = 3.0e-4;
   snprintf(a->probe_name, sizeof a->probe_name, "L7-conform");
}

static void grid_for(sono_grid_t *g, const cf_frame_spec_t *s)
{
   g->nx = s->nx;
   g->nz = s->nz;
   g->dx_m = 1.0e-4;
   g->dz_m = 1.0e-4;
   g->x0_m = -0.5 * (s->nx - 1) * g->dx_m;
   g->z0_m = 5.0e-3;
}

void cf_format_for(sono_frame_format_t *fmt, const cf_frame_spec_t *s)
{
   memset(fmt, 0, sizeof *fmt);
   fmt->struct_size = sizeof *fmt;
   fmt->planes_available = s->planes;
   fmt->max_nx = s->nx;
   fmt->max_nz = s->nz;
   fmt->max_ensemble = s->ensemble;
   fmt->max_spectrogram_bins = 128;
   fmt->max_spectrogram_columns = 64;
   fmt->max_frame_rate_hz = 60.0;
   grid_for(&fmt->grid, s);
   acquisition_for(&fmt->acquisition, s);
}

/* ---- plane data ------------------------------------------------------------------ */

static float fill_value(const cf_frame_spec_t *s, cf_rng_t *rng, float lo, float hi, size_t i)
{
   switch (s->fill) {
   case CF_FILL_ZEROS: return 0.0f;
   case CF_FILL_CONSTANT: return 0.5f * (lo + hi);
   case CF_FILL_NAN: return (i % 3 == 0) ? NAN : lo + (hi - lo) * (float)cf_rng_unit(rng);
   case CF_FILL_INF: return (i % 4 == 0) ? INFINITY : (i % 4 == 1) ? -INFINITY : lo;
   case CF_FILL_EXTREME: return (i & 1) ? 3.0e38f : -3.0e38f;
   default: return lo + (hi - lo) * (float)cf_rng_unit(rng);
   }
}

static void fill_plane(void *data, sono_plane_kind_t kind, sono_dtype_t dtype, size_t n, const cf_frame_spec_t *s,
                       cf_rng_t *rng)
{
   double vn = s->center_frequency_hz > 0 ? 1540.0 * s->prf_hz / (4.0 * s->center_frequency_hz) : 1.0;
   float lo = -1.0f, hi = 1.0f;
   if (kind == SONO_PLANE_VELOCITY) { lo = (float)-vn; hi = (float)vn; }
   if (kind == SONO_PLANE_POWER || kind == SONO_PLANE_SPECTROGRAM) { lo = -60.0f; hi = 0.0f; }
   if (kind == SONO_PLANE_VARIANCE) { lo = 0.0f; hi = (float)(vn * vn); }
   if (dtype == SONO_DTYPE_UINT8) {
      uint8_t *u = data;
      for (size_t i = 0; i < n; ++i)
         u[i] = s->fill == CF_FILL_ZEROS ? 0 : s->fill == CF_FILL_RANDOM ? (uint8_t)cf_rng_below(rng, 256)
                : s->fill == CF_FILL_EXTREME ? (uint8_t)((i & 1) * 255) : 128;
   } else if (dtype == SONO_DTYPE_INT16) {
      int16_t *v = data;
      for (size_t i = 0; i < n; ++i)
         v[i] = s->fill == CF_FILL_ZEROS ? 0 : s->fill == CF_FILL_RANDOM ? (int16_t)(cf_rng_below(rng, 65536) - 32768)
                : (i & 1) ? INT16_MAX : INT16_MIN;
   } else {
      size_t count = dtype == SONO_DTYPE_COMPLEX64 ? 2 * n : n;
      float *f = data;
      for (size_t i = 0; i < count; ++i)
         f[i] = fill_value(s, rng, lo, hi, i);
   }
}

static void plane_shape(sono_plane_t *p, const cf_frame_spec_t *s)
{
   uint32_t a = s->nz, b = s->nx, c = 1;
   p->dtype = SONO_DTYPE_FLOAT32;
   switch (p->kind) {
   case SONO_PLANE_IQ: c = s->ensemble; p->dtype = SONO_DTYPE_COMPLEX64; break;
   case SONO_PLANE_RF: a = 2 * s->nz; b = s->nx < 128 ? s->nx : 128; c = s->ensemble; p->dtype = SONO_DTYPE_INT16; break;
   case SONO_PLANE_BMODE: p->dtype = SONO_DTYPE_UINT8; break;
   case SONO_PLANE_SPECTROGRAM: a = 128; b = 64; break;
   default: break;
   }
   p->shape[0] = a;
   p->shape[1] = b;
   p->shape[2] = c;
   /* Order "F" (first axis fastest), as in recordings. */
   p->stride[0] = 1;
   p->stride[1] = a;
   p->stride[2] = c > 1 ? (int64_t)a * b : 0;
}

static void *map_guarded(size_t bytes, size_t *map_size, size_t *offset)
{
   size_t page = (size_t)sysconf(_SC_PAGESIZE);
   size_t rounded = (bytes + 15) & ~(size_t)15;
   size_t body = (rounded + page - 1) / page * page;
   *map_size = body + page;
   uint8_t *m = mmap(NULL, *map_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
   if (m == MAP_FAILED)
      return NULL;
   mprotect(m + body, page, PROT_NONE);
   /* The data ends where the guard page begins. */
   *offset = body - rounded;
   return m;
}

int cf_frame_build(cf_frame_t *f, const cf_frame_spec_t *s, cf_rng_t *rng)
{
   memset(f, 0, sizeof *f);
   for (int i = 0; i <= SONO_PLANE_KIND_COUNT; ++i)
      f->region_ids[i] = -1;
   size_t page = (size_t)sysconf(_SC_PAGESIZE);
   char what[200];
   cf_spec_text(s, what, sizeof what);
   size_t hdr_size, hdr_off;
   uint8_t *hdr = map_guarded(sizeof(sono_frame_t) + SONO_PLANE_KIND_COUNT * sizeof(sono_plane_t), &hdr_size, &hdr_off);
   if (!hdr) {
      cf_fail("out of memory building a frame (%s)", what);
      return -1;
   }
   sono_frame_t *fr = (sono_frame_t *)hdr;
   sono_plane_t *planes = (sono_plane_t *)(hdr + sizeof(sono_frame_t));
   f->maps[0] = hdr;
   f->map_sizes[0] = hdr_size;
   f->map_count = 1;
   fr->struct_size = sizeof *fr;
   fr->planes = planes;
   fr->sequence = s->sequence;
   fr->timestamp_ns = 1000000000ull + s->sequence * 50000000ull;
   grid_for(&fr->grid, s);
   acquisition_for(&fr->acquisition, s);
   if (s->planes & SONO_PLANE_BIT(SONO_PLANE_SPECTROGRAM)) {
      fr->gate.present = 1;
      fr->gate.x_m = 0.0;
      fr->gate.z_m = fr->grid.z0_m + 0.5 * s->nz * fr->grid.dz_m;
      fr->gate.length_m = 1.0e-3;
      fr->gate.velocity0_m_s = -fr->acquisition.nyquist_velocity_m_s;
      fr->gate.dvelocity_m_s = 2.0 * fr->acquisition.nyquist_velocity_m_s / 128.0;
      fr->gate.dtime_s = 1.0e-3;
   }
   for (int k = 0; k < SONO_PLANE_KIND_COUNT; ++k) {
      if (!(s->planes & SONO_PLANE_BIT(k)))
         continue;
      sono_plane_t *p = &planes[fr->plane_count++];
      p->struct_size = sizeof *p;
      p->kind = k;
      plane_shape(p, s);
      size_t n = (size_t)p->shape[0] * p->shape[1] * p->shape[2];
      size_t bytes = n * sono_dtype_size(p->dtype), map_size, off;
      uint8_t *m = map_guarded(bytes, &map_size, &off);
      if (!m) {
         cf_fail("out of memory building plane %s (%zu bytes) of a frame (%s)", sono_plane_kind_name(k), bytes, what);
         cf_frame_free(f);
         return -1;
      }
      fill_plane(m + off, k, p->dtype, n, s, rng);
      p->data = m + off;
      mprotect(m, map_size - page, PROT_READ);
      f->maps[f->map_count] = m;
      f->map_sizes[f->map_count] = map_size;
      char label[160];
      snprintf(label, sizeof label, "plane %s of frame %llu (%ux%u, ensemble %u)", sono_plane_kind_name(k),
               (unsigned long long)s->sequence, s->nx, s->nz, s->ensemble);
      f->region_ids[f->map_count] = region_add(m, map_size - page, page, label);
      f->map_count++;
   }
   mprotect(hdr, hdr_size - page, PROT_READ);
   char label[160];
   snprintf(label, sizeof label, "sono_frame_t of frame %llu", (unsigned long long)s->sequence);
   f->region_ids[0] = region_add(hdr, hdr_size - page, page, label);
   f->frame = fr;
   return 0;
}

void cf_frame_free(cf_frame_t *f)
{
   for (uint32_t i = 0; i < f->map_count; ++i) {
      if (f->region_ids[i] >= 0 && f->region_ids[i] < CF_MAX_REGIONS)
         regions[f->region_ids[i]].used = 0;
      munmap(f->maps[i], f->map_sizes[i]);
   }
   memset(f, 0, sizeof *f);
}
