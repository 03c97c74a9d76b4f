#include "dsp_test_util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void *dsp_test_load(const char *dir, const char *name, size_t bytes)
{
   char path[4096];
   snprintf(path, sizeof path, "%s/%s", dir, name);
   FILE *f = fopen(path, "rb");
   if (!f) {
      printf("SKIP: reference file %s is missing\n", path);
      return NULL;
   }
   void *buf = malloc(bytes);
   size_t got = buf ? fread(buf, 1, bytes, f) : 0;
   fclose(f);
   if (got != bytes) {
      printf("SKIP: reference file %s holds %zu bytes, expected %zu\n", path, got, bytes);
      free(buf);
      return NULL;
   }
   return buf;
}

sono_plane_t dsp_test_iq_plane(const float *data, uint32_t nz, uint32_t nx, uint32_t n)
{
   sono_plane_t p;
   memset(&p, 0, sizeof p);
   p.struct_size = sizeof p;
   p.kind = SONO_PLANE_IQ;
   p.dtype = SONO_DTYPE_COMPLEX64;
   p.shape[0] = nz, p.shape[1] = nx, p.shape[2] = n;
   p.stride[0] = 1, p.stride[1] = nz, p.stride[2] = (int64_t)nz * nx;
   p.data = data;
   return p;
}

double dsp_test_wrapped_diff(double a, double b, double vn)
{
   double d = fmod(fabs(a - b), 2.0 * vn);
   return d > vn ? 2.0 * vn - d : d;
}
