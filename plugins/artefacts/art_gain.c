/* Overall gain (clinical-spec §4 A6 "Gain too high / too low").
 *
 * The B-mode plane is normalised to its own maximum, so a gain change
 * alone leaves it unchanged; the absolute level comes from the IQ plane:
 * the median echo in dB re the receive chain's full scale (parameter
 * iq_full_scale) is the display median (dB re the maximum) plus the maximum
 * |IQ| in dB re full scale. Saturation shows as a plateau of pixels at the
 * top of the display range. */
#include <math.h>
#include <stdio.h>

#include "art.h"

/* Largest |IQ| of ensemble sample 0, or 0 without an IQ plane. */
static double iq_max(const sono_frame_t *f)
{
   const sono_plane_t *iq = sono_frame_plane(f, SONO_PLANE_IQ);
   if (!iq || iq->dtype != SONO_DTYPE_COMPLEX64)
      return 0;
   float m = 0;
   for (uint32_t ix = 0; ix < iq->shape[1]; ++ix) {
      /* strides count complex elements of two floats */
      const float *c = (const float *)iq->data + 2 * (int64_t)ix * iq->stride[1];
      const int64_t sz = 2 * iq->stride[0];
      for (uint32_t iz = 0; iz < iq->shape[0]; ++iz) {
         float p = c[iz * sz] * c[iz * sz] + c[iz * sz + 1] * c[iz * sz + 1];
         m = p > m ? p : m;
      }
   }
   return sqrt((double)m);
}

void art_detect_gain(art_t *a, const sono_frame_t *fr)
{
   const float dr = (float)a->p[P_DR_DB];
   size_t sat = 0;
   for (size_t i = 0; i < a->npix; ++i)
      sat += a->bm[i] >= dr - 0.3f;
   double sat_frac = (double)sat / (double)a->npix;
   double mx = iq_max(fr);
   double median_dbfs = mx > 0 ? (a->p50 - dr) + 20.0 * log10(mx / a->p[P_IQ_FULL_SCALE]) : NAN;
   a->q_gain = 100.0;
   int high = sat_frac >= a->p[P_SATURATED_FRACTION] || (isfinite(median_dbfs) && median_dbfs >= a->p[P_GAIN_HIGH_DBFS]);
   int low = !high && isfinite(median_dbfs) && median_dbfs <= a->p[P_GAIN_LOW_DBFS];
   if (!high && !low)
      return;
   art_finding_t *f = art_add(a, high ? K_GAIN_HIGH : K_GAIN_LOW, 0.0f);
   if (!f)
      return;
   char level[96] = "";
   if (isfinite(median_dbfs))
      snprintf(level, sizeof level, "; median echo %.0f dB re full scale", median_dbfs);
   if (high) {
      double excess = fmax(sat_frac / a->p[P_SATURATED_FRACTION], 1.0);
      f->confidence = (float)fmin(0.95, 0.6 + 0.1 * excess);
      snprintf(f->label, sizeof f->label, "Overall gain too high");
      snprintf(f->basis, sizeof f->basis, "%.1f%% of pixels saturated (limit %.1f%%)%s", 100 * sat_frac,
               100 * a->p[P_SATURATED_FRACTION], level);
      snprintf(f->advice, sizeof f->advice, "Reduce overall gain until bright echoes are no longer clipped");
      a->q_gain = fmax(0.0, 100.0 - 1000.0 * sat_frac);
   } else {
      double deficit = a->p[P_GAIN_LOW_DBFS] - median_dbfs;
      f->confidence = (float)fmin(0.95, 0.6 + 0.05 * deficit);
      snprintf(f->label, sizeof f->label, "Overall gain too low");
      snprintf(f->basis, sizeof f->basis, "median echo %.0f dB re full scale, %.0f dB under the limit of %.0f dB",
               median_dbfs, deficit, a->p[P_GAIN_LOW_DBFS]);
      snprintf(f->advice, sizeof f->advice, "Increase overall gain (or TGC) until tissue speckle is clearly visible");
      a->q_gain = fmax(0.0, 70.0 - 5.0 * deficit);
   }
}
