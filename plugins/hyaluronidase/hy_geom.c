/* Plane geometry of the hyaluronidase overlay: polygons and lumens. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>

#include "hy.h"

int hy_point_in_polygon(const sono_point_t *poly, uint32_t n, double x, double z)
{
   int inside = 0;
   for (uint32_t i = 0, j = n - 1; i < n; j = i++) {
      const sono_point_t *a = &poly[i], *b = &poly[j];
      if ((a->z_m > z) != (b->z_m > z) && x < (b->x_m - a->x_m) * (z - a->z_m) / (b->z_m - a->z_m) + a->x_m)
         inside = !inside;
   }
   return inside;
}

static double segment_distance(const sono_point_t *a, const sono_point_t *b, double x, double z)
{
   double ux = b->x_m - a->x_m, uz = b->z_m - a->z_m, len2 = ux * ux + uz * uz;
   double t = len2 > 0 ? ((x - a->x_m) * ux + (z - a->z_m) * uz) / len2 : 0.0;
   t = t < 0 ? 0 : t > 1 ? 1 : t;
   double dx = a->x_m + t * ux - x, dz = a->z_m + t * uz - z;
   return sqrt(dx * dx + dz * dz);
}

double hy_distance_to_edges(const sono_point_t *poly, uint32_t n, double x, double z)
{
   double best = INFINITY;
   for (uint32_t i = 0, j = n - 1; i < n; j = i++) {
      double d = segment_distance(&poly[j], &poly[i], x, z);
      best = d < best ? d : best;
   }
   return best;
}

sono_point_t hy_clamp(const sono_grid_t *g, double x, double z)
{
   double x1 = g->x0_m + (g->nx - 1) * g->dx_m, z1 = g->z0_m + (g->nz - 1) * g->dz_m;
   sono_point_t p = {x < g->x0_m ? g->x0_m : x > x1 ? x1 : x, z < g->z0_m ? g->z0_m : z > z1 ? z1 : z};
   return p;
}

int hy_append(char *buf, size_t size, size_t *len, const char *fmt, ...)
{
   if (*len >= size)
      return 0;
   va_list ap;
   va_start(ap, fmt);
   int n = vsnprintf(buf + *len, size - *len, fmt, ap);
   va_end(ap);
   if (n > 0)
      *len = *len + (size_t)n < size ? *len + (size_t)n : size - 1;
   return n;
}
