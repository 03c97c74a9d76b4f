/* Rule V9 of libsono_analysis as the intravascular plugin applies it:
 *  - the margin guards the negative answer only: a gap seen in a vessel
 *    whose median calibre is over the plain large-calibre limit (1.2 mm) is
 *    held against the slowest facial-artery PSV (0.20 m/s), while "not
 *    detected" in the same vessel keeps the lowest PSV of any vessel until
 *    the limit raised by the margin (1.38 mm);
 *  - the narrow share that holds back "not detected" counts stretches of
 *    narrow lumen, not speckle dips: a 1.45 mm vessel whose edges dip
 *    under 0.92 mm over 0.25 mm of every millimetre is not "within the
 *    margin of 0.8 mm", while a 0.75 mm vessel widened by blooming over 60 %
 *    of its course still is. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <sono/analysis/analysis.h>

#define POINTS 100 /* 5 mm of visible lumen at 50 um per sample */

/* A visible lumen of `calibre` (m) in every sample, no PSV measured. */
static void lumen_of_calibre(sono_an_vessel_t *v, sono_an_centre_point_t *pts, double calibre)
{
   memset(v, 0, sizeof *v);
   for (uint32_t i = 0; i < POINTS; ++i)
      pts[i] = (sono_an_centre_point_t){.x_m = (float)(i * 50e-6), .diameter_m = (float)calibre, .flow_fraction = 1};
   v->points = pts;
   v->point_count = POINTS;
   v->diameter_m = (float)calibre;
}

static void positive_scale_test_takes_the_plain_calibre_class(void **state)
{
   (void)state;
   sono_an_v9_limits_t lim;
   sono_an_v9_limits_default(&lim);
   sono_an_vessel_t v;
   sono_an_centre_point_t pts[POINTS];
   lumen_of_calibre(&v, pts, 1.24e-3);
   sono_an_v9_t r = sono_an_rule_v9(&v, 0.17, 1, &lim);
   /* negative: 0.17 > 2 x 0.092 x 0.85, under 1.38 mm the low PSV holds */
   assert_true(r.applies);
   assert_true(r.high_scale);
   /* positive: over 1.2 mm, 0.17 <= 2 x 0.20 x 0.85 */
   assert_true(r.large_calibre_positive);
   assert_true(fabs(r.expected_psv_positive_m_s - 0.20) < 1e-9);
   assert_false(r.high_scale_positive);
   assert_false(r.applies_positive);
   /* at 1.1 mm both answers are held against the lowest PSV */
   lumen_of_calibre(&v, pts, 1.1e-3);
   r = sono_an_rule_v9(&v, 0.17, 1, &lim);
   assert_false(r.large_calibre_positive);
   assert_true(r.applies_positive);
   /* above twice the slowest facial-artery PSV a seen gap is held back too */
   lumen_of_calibre(&v, pts, 1.24e-3);
   assert_true(sono_an_rule_v9(&v, 0.35, 1, &lim).applies_positive);
}

static void speckle_dips_are_not_a_narrow_vessel(void **state)
{
   (void)state;
   sono_an_v9_limits_t lim;
   sono_an_v9_limits_default(&lim);
   sono_an_vessel_t v;
   sono_an_centre_point_t pts[POINTS];
   lumen_of_calibre(&v, pts, 1.45e-3);
   for (uint32_t i = 0; i < POINTS; ++i)
      if (i % 20 < 5)
         pts[i].diameter_m = 0.7e-3f;
   sono_an_v9_t r = sono_an_rule_v9(&v, 0.05, 1, &lim);
   assert_false(r.small);
   assert_false(r.applies);
}

static void bloomed_stretch_keeps_a_narrow_vessel_small(void **state)
{
   (void)state;
   sono_an_v9_limits_t lim;
   sono_an_v9_limits_default(&lim);
   sono_an_vessel_t v;
   sono_an_centre_point_t pts[POINTS];
   lumen_of_calibre(&v, pts, 1.3e-3); /* the median: the bloomed 60 % */
   for (uint32_t i = 0; i < 40; ++i)
      pts[i].diameter_m = 0.75e-3f;
   sono_an_v9_t r = sono_an_rule_v9(&v, 0.05, 1, &lim);
   assert_true(r.small_share > 0.3);
   assert_true(r.small);
   assert_true(r.applies);
}

int main(void)
{
   const struct CMUnitTest tests[] = {
      cmocka_unit_test(positive_scale_test_takes_the_plain_calibre_class),
      cmocka_unit_test(speckle_dips_are_not_a_narrow_vessel),
      cmocka_unit_test(bloomed_stretch_keeps_a_narrow_vessel_small),
   };
   return cmocka_run_group_tests(tests, NULL, NULL);
}
