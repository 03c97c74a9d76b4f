/* Frame-quality score (0-100) and its components, from the findings of the
 * frame. Reported as measurements plus one label overlay, so that it never
 * counts as an artefact finding:
 *   frame_quality_bmode   100 minus the share of the image covered by
 *                         B-mode artefact regions (shadow, reverberation...)
 *   frame_quality_colour  100 when the colour map can be trusted; flash,
 *                         aliasing, blooming, twinkling and noise subtract
 *   frame_quality_gain    100 unless the overall gain is wrong
 *   frame_quality         min(gain, mean(bmode, colour)).
 * The label states plainly whether the colour map of this frame can be
 * trusted. */
#include <math.h>
#include <stdio.h>

#include "art.h"

/* Area of a polygon (shoelace), m^2. */
static double poly_area(const sono_point_t *p, uint32_t n)
{
   double s = 0;
   for (uint32_t i = 0; i < n; ++i) {
      const sono_point_t *u = &p[i], *v = &p[(i + 1) % n];
      s += u->x_m * v->z_m - v->x_m * u->z_m;
   }
   return fabs(0.5 * s);
}

static double colour_penalty(art_kind_t k)
{
   switch (k) {
   case K_FLASH: return 80;
   case K_ALIASING: return 35;
   case K_BLOOMING: return 30;
   case K_TWINKLING: return 25;
   case K_COLOUR_NOISE: return 40;
   case K_MIRROR: return 15; /* a mirrored vessel carries mirrored colour */
   default: return 0;
   }
}

void art_quality(art_t *a)
{
   double frame_area = a->nx * a->dx * a->nz * a->dz, covered = 0, colour = 100;
   int colour_kinds = 0;
   for (int i = 0; i < a->nfound; ++i) {
      const art_finding_t *f = &a->found[i];
      double pen = colour_penalty(f->kind);
      if (pen > 0) {
         colour -= pen * f->confidence;
         ++colour_kinds;
      }
      if (f->kind != K_GAIN_HIGH && f->kind != K_GAIN_LOW && f->kind != K_FLASH && f->kind != K_COLOUR_NOISE &&
          f->npoly)
         covered += poly_area(f->poly, f->npoly);
   }
   a->q_bmode = fmax(0.0, 100.0 - 100.0 * fmin(1.0, 2.0 * covered / frame_area));
   a->q_colour = a->has_colour ? fmax(0.0, colour) : 100.0;
   double score = fmin(a->q_gain, 0.5 * (a->q_bmode + a->q_colour));
   const char *trust = !a->has_colour ? "no colour data"
                       : a->q_colour >= 80 ? "colour map reliable"
                       : a->q_colour >= 50 ? "colour map: review recommended"
                                           : "colour map not reliable";
   snprintf(a->qtext, sizeof a->qtext, "Frame quality %.0f/100 - %s%s", score, trust,
            colour_kinds ? " (colour artefacts flagged)" : "");
}
