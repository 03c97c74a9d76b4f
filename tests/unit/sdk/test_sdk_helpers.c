/* sono_select_kth / sono_quantile against a sorted copy, on data with ties
 * and every rank; sono_wall_spec_parse on every form and every refusal. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <sono/sdk/names.h>
#include <sono/sdk/select.h>

static int cmp_float(const void *a, const void *b)
{
   float x = *(const float *)a, y = *(const float *)b;
   return (x > y) - (x < y);
}

/* Every rank of arrays of 1..40 values with many ties equals the sorted
 * copy's element. */
static void test_select_every_rank(void **state)
{
   (void)state;
   float v[40], sorted[40], work[40];
   uint32_t seed = 12345u;
   for (size_t n = 1; n <= 40; ++n) {
      for (size_t i = 0; i < n; ++i) {
         seed = seed * 1664525u + 1013904223u;
         v[i] = (float)((seed >> 16) % 7) - 3.0f; /* ties on purpose */
      }
      memcpy(sorted, v, n * sizeof *v);
      qsort(sorted, n, sizeof *sorted, cmp_float);
      for (size_t k = 0; k < n; ++k) {
         memcpy(work, v, n * sizeof *v);
         assert_true(sono_select_kth(work, n, k) == sorted[k]);
      }
   }
}

/* Larger arrays reach every method of the selection (end ranks from
 * either side, quickselect with median-of-three and ninther pivots):
 * ranks at both ends and in the middle of random, tied, all-equal,
 * sorted, reversed and organ-pipe data equal the sorted copy's element. */
static void test_select_methods(void **state)
{
   (void)state;
   enum { MAX_N = 3000 };
   static float v[MAX_N], sorted[MAX_N], work[MAX_N];
   static const size_t sizes[] = {16, 17, 33, 64, 128, 255, 256, 1000, MAX_N};
   uint32_t seed = 777u;
   for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; ++si)
      for (int kind = 0; kind < 6; ++kind) {
         size_t n = sizes[si];
         for (size_t i = 0; i < n; ++i) {
            seed = seed * 1664525u + 1013904223u;
            float r = (float)(seed >> 8) * (1.0f / 16777216.0f);
            v[i] = kind == 0   ? r
                   : kind == 1 ? (float)((seed >> 16) % 5) /* ties */
                   : kind == 2 ? 3.0f                       /* all equal */
                   : kind == 3 ? (float)i
                   : kind == 4 ? (float)(n - i)
                               : (float)(i < n / 2 ? i : n - i); /* organ pipe */
         }
         memcpy(sorted, v, n * sizeof *v);
         qsort(sorted, n, sizeof *sorted, cmp_float);
         const size_t ranks[] = {0, 1, 5, 31, 32, n / 20, n / 4, n / 2, n - 33, n - 32, n - 2, n - 1};
         for (size_t r = 0; r < sizeof ranks / sizeof ranks[0]; ++r) {
            if (ranks[r] >= n) /* n - 33 wraps on the smallest sizes */
               continue;
            memcpy(work, v, n * sizeof *v);
            assert_true(sono_select_kth(work, n, ranks[r]) == sorted[ranks[r]]);
         }
      }
}

static void test_quantile_ranks(void **state)
{
   (void)state;
   float v[5] = {5, 1, 4, 2, 3};
   assert_true(sono_quantile(v, 5, 0.0) == 1.0f);
   assert_true(sono_quantile(v, 5, 0.5) == 3.0f);
   assert_true(sono_quantile(v, 5, 1.0) == 5.0f);
   assert_true(sono_quantile(v, 5, 0.3) == 2.0f); /* rank round(0.3 * 4) = 1 */
   assert_true(sono_quantile(v, 0, 0.5) == 0.0f);
}

static void test_wall_spec_forms(void **state)
{
   (void)state;
   char err[160];
   sono_wall_spec_t w = {SONO_WALL_POLY, 2, 0.0};
   assert_int_equal(sono_wall_spec_parse("svd:3", &w, err, sizeof err), 0);
   assert_int_equal(w.kind, SONO_WALL_SVD);
   assert_int_equal(w.order, 3);
   assert_int_equal(sono_wall_spec_parse("iir:80.5:4", &w, err, sizeof err), 0);
   assert_int_equal(w.kind, SONO_WALL_IIR);
   assert_true(w.cutoff_hz == 80.5);
   assert_int_equal(w.order, 4);
   assert_int_equal(sono_wall_spec_parse("iir:120", &w, err, sizeof err), 0);
   assert_int_equal(w.order, 2);
   assert_int_equal(sono_wall_spec_parse("none", &w, err, sizeof err), 0);
   assert_int_equal(w.kind, SONO_WALL_NONE);
}

static void expect_refused(const char *text, const char *needle)
{
   char err[160] = "";
   sono_wall_spec_t w = {SONO_WALL_POLY, 2, 0.0};
   assert_int_equal(sono_wall_spec_parse(text, &w, err, sizeof err), -1);
   if (!strstr(err, needle))
      fail_msg("\"%s\": message \"%s\" lacks \"%s\"", text ? text : "(null)", err, needle);
   assert_int_equal(w.kind, SONO_WALL_POLY); /* a refusal changes nothing */
   assert_int_equal(w.order, 2);
}

static void test_wall_spec_refusals(void **state)
{
   (void)state;
   expect_refused(NULL, "no text, expected poly:N");
   expect_refused("median:3", "\"median:3\": unknown");
   expect_refused("poly", "\"poly\": unknown");
   expect_refused("poly:", "expected poly:N with N a non-negative integer");
   expect_refused("dct:-1", "expected dct:N");
   expect_refused("svd:2x", "expected svd:N");
   expect_refused("iir:0", "expected iir:F or iir:F:order");
   expect_refused("iir:100:", "expected iir:F or iir:F:order");
   expect_refused("iir:100:2:3", "expected iir:F or iir:F:order");
}

int main(void)
{
   const struct CMUnitTest tests[] = {cmocka_unit_test(test_select_every_rank),
                                      cmocka_unit_test(test_select_methods),
                                      cmocka_unit_test(test_quantile_ranks),
                                      cmocka_unit_test(test_wall_spec_forms),
                                      cmocka_unit_test(test_wall_spec_refusals)};
   return cmocka_run_group_tests(tests, NULL, NULL);
}
