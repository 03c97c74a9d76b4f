/* Rule V9 and the perfusion roles: the clinical rules every plugin applies
 * the same way (see analysis.h). */
#include <math.h>

#include <sono/analysis/analysis.h>
#include <sono/sdk/select.h>

void sono_an_v9_limits_default(sono_an_v9_limits_t *l)
{
   l->min_diameter_m = 0.8e-3;
   l->scale_factor = 2.0;
   l->expected_psv_m_s = 0.092;
   l->margin = 0.15;
   l->large_calibre_m = 1.2e-3;
   l->large_expected_psv_m_s = 0.20;
}

/* Running median of the visible calibre over +-AN_NARROW_HALF_M along x
 * (at most AN_NARROW_MAX samples each side): speckle and edge noise dip the
 * lumen edges over a fraction of a millimetre, while a sub-millimetre vessel
 * stays narrow along stretches of its course (blooming widens whole
 * stretches next to a bright wall, not every other column). */
#define AN_NARROW_HALF_M 0.5e-3
#define AN_NARROW_MAX 32
static float visible_median(const sono_an_vessel_t *v, uint32_t i)
{
   float w[2 * AN_NARROW_MAX + 1];
   int n = 0;
   const sono_an_centre_point_t *p = v->points;
   for (int64_t j = (int64_t)i - 1, k = 0; j >= 0 && k < AN_NARROW_MAX && p[i].x_m - p[j].x_m <= AN_NARROW_HALF_M; --j)
      if (!p[j].interpolated) {
         w[n++] = p[j].diameter_m;
         ++k;
      }
   w[n++] = p[i].diameter_m;
   for (uint32_t j = i + 1, k = 0; j < v->point_count && k < AN_NARROW_MAX && p[j].x_m - p[i].x_m <= AN_NARROW_HALF_M; ++j)
      if (!p[j].interpolated) {
         w[n++] = p[j].diameter_m;
         ++k;
      }
   return sono_select_kth(w, (size_t)n, (size_t)n / 2);
}

/* Share of the visible (not bridged) centreline samples whose running
 * median calibre is narrower than `limit`; 1 when none is visible. */
static double share_narrower(const sono_an_vessel_t *v, double limit, uint32_t *visible)
{
   uint32_t n = 0, below = 0;
   for (uint32_t i = 0; i < v->point_count; ++i) {
      if (v->points[i].interpolated)
         continue;
      ++n;
      below += visible_median(v, i) < limit;
   }
   *visible = n;
   return n ? (double)below / n : 1.0;
}

sono_an_v9_t sono_an_rule_v9(const sono_an_vessel_t *v, double vn, int flow_available,
                             const sono_an_v9_limits_t *lim)
{
   sono_an_v9_t r = {0};
   double m = lim->margin;
   uint32_t visible;
   r.diameter_limit_m = lim->min_diameter_m * (1.0 + m);
   /* A PSV corrected for a beam-to-flow angle above 60 degrees carries the
    * axial estimate's error times 1/cos(angle) (x2 at 60, x6 at 80 degrees):
    * it never relaxes the rule; the lowest expected PSV is used instead. */
   int angle_ok = fabs(sin(v->angle_rad)) >= 0.5;
   r.psv_measured = v->psv_measurable && v->psv_m_s > 0 && angle_ok;
   r.large_calibre = !r.psv_measured && lim->large_calibre_m > 0 &&
                     v->diameter_m > lim->large_calibre_m * (1.0 + m);
   r.expected_psv_m_s = r.psv_measured    ? v->psv_m_s * (1.0 - m)
                        : r.large_calibre ? lim->large_expected_psv_m_s
                                          : lim->expected_psv_m_s;
   r.small_share = share_narrower(v, r.diameter_limit_m, &visible);
   r.small = v->diameter_m < r.diameter_limit_m || r.small_share > 0.2;
   r.small_plain = v->diameter_m < lim->min_diameter_m;
   r.high_scale = !(vn <= lim->scale_factor * r.expected_psv_m_s * (1.0 - m));
   r.unmeasurable = !flow_available || !(vn > 0) || visible < 3;
   r.applies = r.small || r.high_scale || r.unmeasurable;
   /* a seen gap or plug: the calibre class by the plain limit, as the
    * calibre itself (the margin guards the negative answer only) */
   r.large_calibre_positive = !r.psv_measured && lim->large_calibre_m > 0 && v->diameter_m > lim->large_calibre_m;
   r.expected_psv_positive_m_s = r.psv_measured            ? r.expected_psv_m_s
                                 : r.large_calibre_positive ? lim->large_expected_psv_m_s
                                                            : lim->expected_psv_m_s;
   r.high_scale_positive = !(vn <= lim->scale_factor * r.expected_psv_positive_m_s * (1.0 - m));
   r.applies_positive = r.small_plain || r.high_scale_positive || r.unmeasurable;
   return r;
}

const char *sono_an_perfusion_role(sono_an_perfusion_t p)
{
   return p == SONO_AN_PERFUSED ? SONO_ROLE_VESSEL_PERFUSED
          : p == SONO_AN_REDUCED ? SONO_ROLE_VESSEL_REDUCED
                                 : SONO_ROLE_VESSEL_ABSENT;
}
