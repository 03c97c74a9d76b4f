#include "recording_layout.h"

#include <sono/sdk/names.h>
#include <stdio.h>
#include <string.h>

/* ABI axis order of frame.h, then the frame axis every kind may add. */
static const char *const kind_axes[SONO_PLANE_KIND_COUNT][SONO_REC_MAX_AXES] = {
   [SONO_PLANE_IQ] = {"z", "x", "ensemble", "frame"},
   [SONO_PLANE_RF] = {"sample", "channel", "ensemble", "frame"},
   [SONO_PLANE_BMODE] = {"z", "x", NULL, "frame"},
   [SONO_PLANE_VELOCITY] = {"z", "x", NULL, "frame"},
   [SONO_PLANE_POWER] = {"z", "x", NULL, "frame"},
   [SONO_PLANE_VARIANCE] = {"z", "x", NULL, "frame"},
   [SONO_PLANE_SPECTROGRAM] = {"frequency", "time", NULL, "frame"},
};

#define DT(d) (1u << (d))
static const unsigned kind_dtypes[SONO_PLANE_KIND_COUNT] = {
   [SONO_PLANE_IQ] = DT(SONO_DTYPE_COMPLEX64),
   [SONO_PLANE_RF] = DT(SONO_DTYPE_INT16) | DT(SONO_DTYPE_FLOAT32),
   [SONO_PLANE_BMODE] = DT(SONO_DTYPE_UINT8) | DT(SONO_DTYPE_FLOAT32),
   [SONO_PLANE_VELOCITY] = DT(SONO_DTYPE_FLOAT32),
   [SONO_PLANE_POWER] = DT(SONO_DTYPE_FLOAT32),
   [SONO_PLANE_VARIANCE] = DT(SONO_DTYPE_FLOAT32),
   [SONO_PLANE_SPECTROGRAM] = DT(SONO_DTYPE_FLOAT32),
};
#define DTYPE_COUNT 4

static int kind_valid(sono_plane_kind_t kind) { return kind >= 0 && kind < SONO_PLANE_KIND_COUNT; }

const char *sono_rec_axis_name(sono_plane_kind_t kind, int slot)
{
   if (!kind_valid(kind) || slot < 0 || slot >= SONO_REC_MAX_AXES)
      return NULL;
   return kind_axes[kind][slot];
}

int sono_rec_axis_slot(sono_plane_kind_t kind, const char *name)
{
   if (!kind_valid(kind) || !name)
      return -1;
   for (int s = 0; s < SONO_REC_MAX_AXES; ++s)
      if (kind_axes[kind][s] && strcmp(kind_axes[kind][s], name) == 0)
         return s;
   return -1;
}

int sono_rec_dtype_allowed(sono_plane_kind_t kind, sono_dtype_t dtype)
{
   return kind_valid(kind) && dtype >= 0 && dtype < DTYPE_COUNT && (kind_dtypes[kind] & DT(dtype)) != 0;
}

/* Joins the non-NULL names with ", ". */
static void join(const char *const *names, int n, char *buf, size_t size)
{
   size_t used = 0;
   buf[0] = '\0';
   for (int i = 0; i < n; ++i) {
      if (!names[i])
         continue;
      int w = snprintf(buf + used, size - used, "%s%s", used ? ", " : "", names[i]);
      if (w < 0 || (size_t)w >= size - used)
         return;
      used += (size_t)w;
   }
}

void sono_rec_axes_text(sono_plane_kind_t kind, char *buf, size_t size)
{
   if (!kind_valid(kind)) {
      snprintf(buf, size, "none");
      return;
   }
   join(kind_axes[kind], SONO_REC_MAX_AXES, buf, size);
}

void sono_rec_dtypes_text(sono_plane_kind_t kind, char *buf, size_t size)
{
   const char *names[DTYPE_COUNT] = {NULL};
   for (int d = 0; d < DTYPE_COUNT; ++d)
      if (sono_rec_dtype_allowed(kind, d))
         names[d] = sono_dtype_name(d);
   join(names, DTYPE_COUNT, buf, size);
}

static const char *const geometry_names[] = {
   [SONO_PROBE_LINEAR] = "linear", [SONO_PROBE_CONVEX] = "convex", [SONO_PROBE_PHASED] = "phased"};
#define GEOMETRY_COUNT ((int)(sizeof geometry_names / sizeof geometry_names[0]))

const char *sono_rec_probe_geometry_name(sono_probe_geometry_t g)
{
   return g >= 0 && g < GEOMETRY_COUNT ? geometry_names[g] : "unknown";
}

int sono_rec_probe_geometry_from_name(const char *name)
{
   for (int g = 0; name && g < GEOMETRY_COUNT; ++g)
      if (strcmp(geometry_names[g], name) == 0)
         return g;
   return -1;
}
