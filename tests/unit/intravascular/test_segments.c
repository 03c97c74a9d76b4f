/* Perfusion segments and the cine window of the shared analysis on
 * synthetic planes, for the intravascular plugin's rules:
 *  - the silent stretch of a lumen is measured as one segment even when a
 *    short band of colour inside it survives the majority filter (it is
 *    merged into the silent segment before it, and the silent run after it
 *    joins that same segment);
 *  - a flash frame (colour over the tissue) is left out of the cine window,
 *    so it leaves no "untraced flow" behind for the rest of the cycle. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <sono/analysis/analysis.h>

#include "synthetic_frame.h"

#define NZ 200
#define NX 256
#define DZ 25e-6
#define DX 50e-6
#define VN 0.05
#define LUMEN_TOP 90    /* rows 90..125: a 0.9 mm lumen at 2.7 mm */
#define LUMEN_BOTTOM 125
#define GAP_FIRST 100   /* columns 100..139: a 2 mm stretch without colour */
#define GAP_LAST 139
#define BLIP_FIRST 118  /* columns 118..123: 0.3 mm of colour inside it */
#define BLIP_LAST 123

typedef struct planes {
   uint8_t bmode[NZ * NX];
   float velocity[NZ * NX], power[NZ * NX], variance[NZ * NX];
} planes_t;

/* Tissue with a fixed texture (no randomness: the test is exact), an
 * anechoic horizontal lumen across the field, colour in the lumen except in
 * the silent stretch, which holds the short band of colour. */
static void draw(planes_t *p, int gap, int flash)
{
   for (int ix = 0; ix < NX; ++ix)
      for (int iz = 0; iz < NZ; ++iz) {
         size_t q = (size_t)iz + (size_t)NZ * ix;
         int lumen = iz >= LUMEN_TOP && iz <= LUMEN_BOTTOM;
         int silent = gap && ix >= GAP_FIRST && ix <= GAP_LAST && !(ix >= BLIP_FIRST && ix <= BLIP_LAST);
         p->bmode[q] = lumen ? 0 : (uint8_t)(150 + 20 * sin(0.7 * iz) * cos(0.45 * ix));
         /* flash: motion colour over the tissue, its power varying with the
          * motion field (10-40 dB under the lumen's) */
         float motion = (float)(-40.0 + 30.0 * (0.5 + 0.5 * sin(1.3 * iz) * cos(0.9 * ix)));
         p->velocity[q] = (lumen && !silent) || flash ? (float)(0.5 * VN) : 0.0f;
         p->power[q] = lumen && !silent ? 0.0f : flash ? motion : -60.0f;
         p->variance[q] = 0.0f;
      }
}

/* Runs `frames` frames through a new context; frame `flash_at` (-1: none)
 * is a flash. Returns the last result; the context is left in *ctx. */
static const sono_an_result_t *run(planes_t *p, int gap, int frames, int flash_at, sono_an_context_t **ctx_out)
{
   sono_an_context_t *ctx = syn_context(NZ, NX);
   syn_frame_t fr;
   syn_frame_init(&fr, NZ, NX, DZ, DX, VN, p->bmode, p->velocity, p->power, p->variance);
   const sono_an_result_t *r = NULL;
   for (int f = 0; f < frames; ++f) {
      draw(p, gap, f == flash_at);
      r = syn_analyse(ctx, &fr);
   }
   *ctx_out = ctx;
   return r;
}

static void split_silence_is_one_segment(void **state)
{
   (void)state;
   planes_t *p = calloc(1, sizeof *p);
   assert_non_null(p);
   sono_an_context_t *ctx;
   const sono_an_result_t *r = run(p, 1, 5, -1, &ctx);
   assert_true(r->cine_ready);
   assert_int_equal(r->vessel_count, 1);
   const sono_an_vessel_t *ves = &r->vessels[0];
   assert_true(ves->occlusion >= 0);
   const sono_an_segment_t *gap = &ves->segments[ves->occlusion];
   /* the whole silent stretch (2 mm less the majority filter's blur at its
    * ends), not either half of it (about 0.9 mm each) */
   assert_true(gap->length_m >= 1.5e-3);
   int absent = 0;
   for (uint32_t k = 0; k < ves->segment_count; ++k)
      absent += ves->segments[k].perfusion == SONO_AN_ABSENT;
   assert_int_equal(absent, 1);
   sono_an_destroy(ctx);
   free(p);
}

/* A patent lumen; frame 2 of 5 is a flash: colour at full power over the
 * whole view. Before, the flash's colour over the darker half of the
 * tissue speckle stayed in the cine window as flow outside the lumen. */
static void flash_frame_leaves_no_flow(void **state)
{
   (void)state;
   planes_t *p = calloc(1, sizeof *p);
   assert_non_null(p);
   sono_an_context_t *ctx;
   const sono_an_result_t *r = run(p, 0, 5, 2, &ctx);
   assert_true(r->cine_ready);
   assert_true(r->untraced_flow_m2 < 0.1e-6);
   assert_int_equal(r->flash_frames, 1);
   assert_int_equal(r->vessel_count, 1);
   assert_int_equal(r->vessels[0].occlusion, -1);
   sono_an_destroy(ctx);
   free(p);
}

int main(void)
{
   const struct CMUnitTest tests[] = {
      cmocka_unit_test(split_silence_is_one_segment),
      cmocka_unit_test(flash_frame_leaves_no_flow),
   };
   return cmocka_run_group_tests(tests, NULL, NULL);
}
