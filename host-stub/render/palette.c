/* The one clinical palette: every overlay role of every plugin is drawn in
 * the same colour and style, so a clinician learns it once.
 *
 * Choices: danger is red and hatched (no-go); the vessel states run green
 * (perfused) - amber (reduced) - purple (absent), avoiding the red/blue of
 * the colour-Doppler map; deposits are yellow with a light fill; planning
 * aids (targets, needling grid) are orange and blue; vendor roles are a
 * neutral taupe, deliberately unlike any clinical colour. */
#include "render_internal.h"

#include <string.h>

const role_style_t role_styles[ROLE_STYLE_COUNT] = {
   {SONO_ROLE_VESSEL_PERFUSED, "Vessel, perfused", {0, 230, 118}, 3, 0, FILL_SOLID, 0, 0},
   {SONO_ROLE_VESSEL_REDUCED, "Vessel, reduced flow", {255, 196, 0}, 3, 0, FILL_SOLID, 0, 0},
   {SONO_ROLE_VESSEL_ABSENT, "Vessel, absent flow", {213, 0, 249}, 3, 6, FILL_SOLID, 0, 0},
   {SONO_ROLE_OCCLUSION, "Occluded segment", {255, 64, 129}, 5, 0, FILL_SOLID, 0, 0},
   {SONO_ROLE_DEPOSIT, "Deposit", {255, 235, 59}, 2, 0, FILL_SOLID, 64, 0},
   {SONO_ROLE_TARGET, "Target (planning aid)", {255, 109, 0}, 2, 0, FILL_SOLID, 0, 1},
   {SONO_ROLE_DANGER_ZONE, "Danger zone (no-go)", {255, 23, 68}, 2, 0, FILL_HATCH, 220, 0},
   {SONO_ROLE_ARTEFACT, "Artefact region", {144, 164, 174}, 1, 4, FILL_HATCH_BACK, 180, 0},
   {SONO_ROLE_NEEDLING_GRID, "Needling grid (planning aid)", {0, 176, 255}, 1, 0, FILL_SOLID, 0, 1},
   {SONO_ROLE_MEASUREMENT, "Measurement", {255, 255, 255}, 1, 0, FILL_SOLID, 0, 0},
   {SONO_ROLE_ANNOTATION, "Annotation", {224, 224, 224}, 1, 0, FILL_SOLID, 0, 0},
   {NULL, "Vendor overlay (x-...)", {188, 170, 164}, 1, 3, FILL_SOLID, 0, 0},
};

int role_style_index(const char *role)
{
   if (role)
      for (int i = 0; i < ROLE_VENDOR_INDEX; ++i)
         if (strcmp(role, role_styles[i].role) == 0)
            return i;
   return ROLE_VENDOR_INDEX;
}

static uint8_t ramp(double v)
{
   if (v <= 0.0)
      return 0;
   if (v >= 1.0)
      return 255;
   return (uint8_t)(v * 255.0 + 0.5);
}

rgb_t colour_doppler_map(double t)
{
   /* Dark red -> red -> yellow toward the probe; dark blue -> blue -> cyan
    * away: brightness rises with speed and the hue warns of aliasing near
    * +-VN, as on clinical scanners. */
   double a = t < 0 ? -t : t;
   if (a > 1.0)
      a = 1.0;
   uint8_t main = (uint8_t)(90 + ramp(2.0 * a) * 165 / 255);
   uint8_t side = (uint8_t)(ramp(2.0 * a - 1.0) * 215 / 255);
   rgb_t c;
   if (t >= 0) {
      c.r = main;
      c.g = side;
      c.b = 0;
   } else {
      c.r = 0;
      c.g = side;
      c.b = main;
   }
   return c;
}
