/* Following a vessel along its filled course (libsono_analysis), on
 * synthetic planes: a flowing lumen runs into a plug that reaches the
 * field's edge, so there is no lumen beyond it to bridge to, and the trace
 * must be carried on along the plugged course for the plug's silence to be
 * measured as an absent-flow segment:
 *  - a deep vessel, whose tissue band below the lumen lies under the image:
 *    the course is compared with the tissue above it alone;
 *  - a hypoechoic plug whose darkest parts link to the flowing lumen as thin
 *    silent runs: the course starts where the flowing lumen ends, with the
 *    lumen's calibre, not the thin pieces'.
 *  - a plug as echogenic as the tissue around it, which shows no filled
 *    course: the flowing lumen ends bluntly, at its full calibre, and the
 *    vessel's line is followed on to the field's edge.
 * And, against false courses, a lumen that narrows to its end inside the
 * field (a vessel leaving the scan plane) is not carried on. */
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

#define NZ 240
#define NX 256
#define DZ 25e-6
#define DX 50e-6
#define VN 0.05
#define FLOW_FIRST 150  /* columns 150..255 (5.3 mm) flow; the plug fills 0..149 */
#define THIN_LAST 189   /* plug_thin: columns 150..189 hold thin dark pieces of the plug */

enum plug { PLUG_DEEP_ECHOGENIC, PLUG_THIN_PIECES, PLUG_ISOECHOIC, PLUG_NONE };

typedef struct planes {
   uint8_t bmode[NZ * NX];
   float velocity[NZ * NX], power[NZ * NX], variance[NZ * NX];
} planes_t;

/* Tissue with a fixed texture (the test is exact), one horizontal lumen of
 * 0.9 mm (36 rows). PLUG_DEEP_ECHOGENIC: the lumen ends 5 rows above the
 * last row, flowing over columns FLOW_FIRST.., filled with echogenic material
 * (+6 dB) over the rest. PLUG_THIN_PIECES: at mid-depth, flowing over
 * columns ..FLOW_FIRST-1 (the order reversed so both sides are exercised),
 * a hypoechoic plug (-10 dB) beyond with an anechoic core 8 rows thick over
 * its first 2 mm. PLUG_ISOECHOIC: as PLUG_THIN_PIECES, with material at
 * the tissue's level instead of the plug (the lumen ends bluntly in the
 * field). PLUG_NONE: as PLUG_ISOECHOIC, the lumen narrowing to a third of
 * its calibre over its last TAPER columns before it ends. */
#define TAPER 30
static void draw(planes_t *p, enum plug kind)
{
   int top = kind == PLUG_DEEP_ECHOGENIC ? NZ - 5 - 36 : 100, bottom = top + 35, mid = (top + bottom) / 2;
   for (int ix = 0; ix < NX; ++ix)
      for (int iz = 0; iz < NZ; ++iz) {
         size_t q = (size_t)iz + (size_t)NZ * ix;
         int lumen = iz >= top && iz <= bottom;
         int end = NX - FLOW_FIRST - 1; /* the last flowing column of PLUG_ISOECHOIC and PLUG_NONE */
         if (kind == PLUG_NONE && ix <= end && ix > end - TAPER)
            lumen = abs(iz - mid) <= 18 - 12 * (ix - (end - TAPER)) / TAPER;
         int flowing = kind == PLUG_DEEP_ECHOGENIC ? ix >= FLOW_FIRST : ix < NX - FLOW_FIRST;
         int tissue_level = (int)(150 + 20 * sin(0.7 * iz) * cos(0.45 * ix));
         int plug_level = kind == PLUG_DEEP_ECHOGENIC ? tissue_level + 38 : tissue_level - 64;
         int thin = kind == PLUG_THIN_PIECES && ix >= NX - FLOW_FIRST && ix < NX - FLOW_FIRST + (THIN_LAST - FLOW_FIRST) &&
                    abs(iz - mid) <= 4;
         p->bmode[q] = (uint8_t)(!lumen || (kind >= PLUG_ISOECHOIC && !flowing) ? tissue_level
                                 : flowing || thin                       ? 0
                                                                         : plug_level);
         p->velocity[q] = lumen && flowing ? (float)(0.5 * VN) : 0.0f;
         p->power[q] = lumen && flowing ? 0.0f : -60.0f;
         p->variance[q] = 0.0f;
      }
}

static const sono_an_result_t *run(planes_t *p, enum plug kind, sono_an_context_t **ctx_out)
{
   sono_an_context_t *ctx = syn_context(NZ, NX);
   syn_frame_t fr;
   syn_frame_init(&fr, NZ, NX, DZ, DX, VN, p->bmode, p->velocity, p->power, p->variance);
   const sono_an_result_t *r = NULL;
   draw(p, kind);
   for (int f = 0; f < 5; ++f) {
      r = syn_analyse(ctx, &fr);
   }
   *ctx_out = ctx;
   return r;
}

/* The vessel's absent-flow segment (the plugged course), or NULL. */
static const sono_an_segment_t *absent_segment(const sono_an_result_t *r)
{
   assert_int_equal(r->vessel_count, 1);
   const sono_an_vessel_t *v = &r->vessels[0];
   return v->occlusion >= 0 ? &v->segments[v->occlusion] : NULL;
}

/* Runs plug `kind` and checks that its vessel holds an absent-flow segment
 * of at least min_length_m, and what `holds` asks of the vessel and it. */
static void check_course(enum plug kind, double min_length_m,
                         int (*holds)(const sono_an_vessel_t *v, const sono_an_segment_t *g))
{
   planes_t *p = calloc(1, sizeof *p);
   assert_non_null(p);
   sono_an_context_t *ctx;
   const sono_an_result_t *r = run(p, kind, &ctx);
   const sono_an_segment_t *g = absent_segment(r);
   assert_non_null(g);
   assert_true(g->length_m >= min_length_m);
   assert_true(holds(&r->vessels[0], g));
   sono_an_destroy(ctx);
   free(p);
}

static int keeps_vessel_calibre(const sono_an_vessel_t *v, const sono_an_segment_t *g)
{
   (void)g;
   return v->diameter_m > 0.8e-3;
}

/* the plugged course keeps the lumen's calibre (0.9 mm), not the 0.2 mm of
 * the thin pieces */
static int keeps_lumen_calibre_on_course(const sono_an_vessel_t *v, const sono_an_segment_t *g)
{
   const sono_an_centre_point_t *mid = &v->points[(g->first + g->last) / 2];
   return mid->bottom_z_m - mid->top_z_m > 0.7e-3;
}

static int reaches_field_edge(const sono_an_vessel_t *v, const sono_an_segment_t *g)
{
   (void)g;
   return v->points[v->point_count - 1].x_m > 0.5 * NX * DX - 1e-3;
}

static void deep_plug_followed_against_the_tissue_above(void **state)
{
   (void)state;
   /* the plug spans 7.5 mm to the field's edge; the course stops 1 mm short of it */
   check_course(PLUG_DEEP_ECHOGENIC, 5e-3, keeps_vessel_calibre);
}

static void course_starts_where_the_flowing_lumen_ends(void **state)
{
   (void)state;
   check_course(PLUG_THIN_PIECES, 5e-3, keeps_lumen_calibre_on_course);
}

static void blunt_end_followed_along_the_line_to_the_edge(void **state)
{
   (void)state;
   /* the silent course runs 7.5 mm from the flow's end to the field's edge */
   check_course(PLUG_ISOECHOIC, 7e-3, reaches_field_edge);
}

static void narrowing_lumen_is_not_carried_on(void **state)
{
   (void)state;
   planes_t *p = calloc(1, sizeof *p);
   assert_non_null(p);
   sono_an_context_t *ctx;
   const sono_an_result_t *r = run(p, PLUG_NONE, &ctx);
   assert_null(absent_segment(r));
   assert_true(r->vessels[0].points[r->vessels[0].point_count - 1].x_m < -0.5 * NX * DX + (NX - FLOW_FIRST + 4) * DX);
   sono_an_destroy(ctx);
   free(p);
}

int main(void)
{
   const struct CMUnitTest tests[] = {
      cmocka_unit_test(deep_plug_followed_against_the_tissue_above),
      cmocka_unit_test(course_starts_where_the_flowing_lumen_ends),
      cmocka_unit_test(blunt_end_followed_along_the_line_to_the_edge),
      cmocka_unit_test(narrowing_lumen_is_not_carried_on),
   };
   return cmocka_run_group_tests(tests, NULL, NULL);
}
