/* Checks the velocity file written by `sono-host doppler` against a MUST
 * reference map: check_doppler_output OUT.velocity.bin REF.bin COUNT VN.
 * Exit 0 when every value agrees within 1e-5 VN modulo 2 VN, 77 when the
 * reference is missing, 1 otherwise (with the worst pixel printed). */
#include <stdio.h>
#include <stdlib.h>

#include "dsp_test_util.h"

static float *read_floats(const char *path, size_t count)
{
   FILE *f = fopen(path, "rb");
   if (!f)
      return NULL;
   float *v = malloc(sizeof *v * count);
   size_t got = v ? fread(v, sizeof *v, count, f) : 0;
   fclose(f);
   if (got != count) {
      free(v);
      return NULL;
   }
   return v;
}

int main(int argc, char **argv)
{
   if (argc != 5) {
      fprintf(stderr, "usage: %s OUT.velocity.bin REF.bin COUNT VN\n", argv[0]);
      return 2;
   }
   const size_t count = (size_t)atol(argv[3]);
   const double vn = atof(argv[4]);
   float *ref = read_floats(argv[2], count);
   if (!ref) {
      printf("SKIP: reference %s missing or shorter than %zu floats\n", argv[2], count);
      return SKIP_CODE;
   }
   float *out = read_floats(argv[1], count);
   if (!out) {
      fprintf(stderr, "%s: missing or shorter than %zu floats\n", argv[1], count);
      return 1;
   }
   double worst = 0;
   size_t at = 0;
   for (size_t i = 0; i < count; ++i) {
      double d = dsp_test_wrapped_diff(out[i], ref[i], vn);
      if (d > worst)
         worst = d, at = i;
   }
   printf("%s: max |v - ref| = %.3g VN at element %zu\n", argv[1], worst / vn, at);
   free(ref);
   free(out);
   return worst <= 1e-5 * vn ? 0 : 1;
}
