/* Overall gain (clinical-spec §4 A6 "Gain too high / too low").
 *
 * The B-mode plane is normalised to its own maximum, so a gain change
 * alone leaves it unchanged; the absolute level comes from the IQ plane:
 * the median echo |IQ| in dB re the receive chain's full scale (parameter
 * iq_full_scale), measured while the working image is built (art_prep.c).
 * Saturation shows as a plateau of display pixels at the top of the
 * display range.
 *
 * Gain too low dims every echo, near and deep: the frame median alone also
 * falls when a dark structure (a lumen, a shadow, an anechoic band) fills
 * more than half of the frame while the tissue around it is normally bright.
 * So the tissue level, the gain_row_quantile quantile of the per-row median
 * |IQ| (the brighter rows: a dark structure lowers the rows it fills), must
 * lie under the limit as well. Training seeds 501-510: under-gained frames'
 * tissue level -64..-52 dB re full scale, every other frame's -35..-31 dB
 * (a frame with a large dark region whose median fell to -42 dB among them). */
#include <math.h>
#include <stdio.h>

#include <sono/sdk/select.h>

#include "art.h"

/* The gain_row_quantile quantile of the row medians, dB re iq_full_scale
 * (a->col is free scratch here: no detector has run yet). */
static double tissue_row_dbfs(art_t *a)
{
   for (int iz = 0; iz < a->nz; ++iz)
      a->col[iz] = a->rowref[iz];
   double m = sono_quantile(a->col, (size_t)a->nz, a->p[P_GAIN_ROW_QUANTILE]) - a->iq_off;
   return (m > a->iq_floor ? m : a->iq_floor) - 20.0 * log10(a->p[P_IQ_FULL_SCALE]);
}

void art_detect_gain(art_t *a, const sono_frame_t *fr)
{
   (void)fr;
   double sat_frac = a->sat_frac, median_dbfs = a->median_dbfs;
   a->q_gain = 100.0;
   int high = sat_frac >= a->p[P_SATURATED_FRACTION] || (isfinite(median_dbfs) && median_dbfs >= a->p[P_GAIN_HIGH_DBFS]);
   int low = !high && isfinite(median_dbfs) && median_dbfs <= a->p[P_GAIN_LOW_DBFS];
   double tissue_dbfs = low ? tissue_row_dbfs(a) : NAN;
   low = low && tissue_dbfs <= a->p[P_GAIN_LOW_DBFS];
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
      double deficit = a->p[P_GAIN_LOW_DBFS] - fmax(median_dbfs, tissue_dbfs);
      f->confidence = (float)fmin(0.95, 0.6 + 0.05 * deficit);
      snprintf(f->label, sizeof f->label, "Overall gain too low");
      snprintf(f->basis, sizeof f->basis,
               "median echo %.0f dB and tissue rows (%.0f%% quantile of the row medians) %.0f dB re full scale, at "
               "least %.0f dB under the limit of %.0f dB",
               median_dbfs, 100.0 * a->p[P_GAIN_ROW_QUANTILE], tissue_dbfs, deficit, a->p[P_GAIN_LOW_DBFS]);
      snprintf(f->advice, sizeof f->advice, "Increase overall gain (or TGC) until tissue speckle is clearly visible");
      a->q_gain = fmax(0.0, 70.0 - 5.0 * deficit);
   }
}
