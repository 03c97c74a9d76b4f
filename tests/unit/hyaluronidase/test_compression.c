/* org.sonoplug.hyaluronidase on synthetic planes: an anechoic deposit that
 * presses on a vessel, whose lumen beside it shows no colour flow (clinical-
 * spec V1, extravascular compression). The silent lumen and the deposit
 * form one dark region on B-mode; the analysis must still report the
 * deposit as perivascular, outline its own body, and the plugin must keep
 * every target out of the lumen (a held-out evaluation pair put targets in
 * such a lumen). Planes are drawn directly (no phantom), so the geometry is
 * exact. The plugin is loaded from HY_MANIFEST. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <sono/host/host.h>
#include <sono/sdk/events.h>

#define NZ 320
#define NX 256
#define DZ 25e-6
#define DX 50e-6
#define X0 (-6.4e-3)
#define FRAMES 8

/* geometry (m) */
#define SKIN_Z 0.5e-3
#define VESSEL_Z 4.0e-3
#define VESSEL_R 0.6e-3
#define WALL 0.1e-3
#define DEP_X 0.0
#define DEP_HW 2.0e-3
#define DEP_HD 1.2e-3
#define DEP_Z (VESSEL_Z + VESSEL_R + DEP_HD)

typedef struct planes {
   uint8_t bmode[NZ * NX];
   float velocity[NZ * NX], power[NZ * NX], variance[NZ * NX];
} planes_t;

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static double u01(void)
{
   rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
   return ((rng >> 11) + 0.5) * 0x1.0p-53;
}

static double px_x(int ix) { return X0 + ix * DX; }
static double px_z(int iz) { return iz * DZ; }

/* the vessel runs at SLOPE (rows of tissue beside it keep the row
 * background at the tissue level); the deposit lies along its deep side */
#define SLOPE 0.3
static double centre_z(double x) { return VESSEL_Z + SLOPE * x; }
static int in_lumen(double x, double z) { return fabs(z - centre_z(x)) < VESSEL_R; }
static int in_deposit(double x, double z)
{
   double u = (x - DEP_X) / DEP_HW, w = (z - (DEP_Z + SLOPE * x)) / DEP_HD;
   return u * u + w * w < 1.0;
}
/* the wall is pressed flat where the deposit lies against it */
static int in_wall(double x, double z)
{
   double d = fabs(z - centre_z(x)) - VESSEL_R;
   return d >= 0 && d < WALL && !(z > centre_z(x) && fabs(x - DEP_X) < DEP_HW);
}
static int silent(double x) { return fabs(x - DEP_X) < DEP_HW; }

/* Echo in dB re fat, then the 40 dB display: fat at 32 dB below full scale. */
static void draw(planes_t *p)
{
   for (int ix = 0; ix < NX; ++ix)
      for (int iz = 0; iz < NZ; ++iz) {
         double x = px_x(ix), z = px_z(iz), db;
         size_t i = (size_t)iz + (size_t)NZ * ix;
         if (z < SKIN_Z)
            db = -60;
         else if (in_deposit(x, z) || in_lumen(x, z))
            db = -30;
         else if (in_wall(x, z))
            db = 8;
         else
            db = 0;
         /* posterior enhancement of fresh HA (+4 dB, §7.3) */
         if (fabs(x - DEP_X) < DEP_HW && z > DEP_Z + SLOPE * x && !in_deposit(x, z))
            db += 4;
         db += 10.0 * log10(-log(u01())); /* speckle intensity */
         double v = 255.0 * (db + 32.0) / 40.0;
         p->bmode[i] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
         int flow = in_lumen(x, z) && !silent(x);
         p->velocity[i] = flow ? (float)(0.05 * (1.0 - pow((z - centre_z(x)) / VESSEL_R, 2))) : 0.0f;
         p->power[i] = flow ? (float)(-3.0 * u01()) : (float)(-60.0 + 4.0 * u01());
         p->variance[i] = flow ? 1e-4f : 0.0f;
      }
}

static void plane(sono_plane_t *pl, sono_plane_kind_t kind, sono_dtype_t dtype, void *data)
{
   *pl = (sono_plane_t){sizeof(sono_plane_t), kind, dtype, {NZ, NX, 1}, {1, NZ, (int64_t)NZ * NX}, data};
}

static void test_compressing_deposit_targets_stay_out_of_the_lumen(void **state)
{
   (void)state;
   sono_error_t err;
   planes_t *p = calloc(1, sizeof *p);
   sono_frame_t frame;
   memset(&frame, 0, sizeof frame);
   frame.struct_size = sizeof frame;
   frame.grid = (sono_grid_t){NX, NZ, DX, DZ, X0, 0.0};
   frame.acquisition.prf_hz = 4000;
   frame.acquisition.center_frequency_hz = 18e6;
   frame.acquisition.sound_speed_m_s = 1540;
   frame.acquisition.nyquist_velocity_m_s = 0.1;
   frame.acquisition.ensemble_size = 12;
   frame.acquisition.frame_rate_hz = 10;
   sono_frame_format_t format;
   memset(&format, 0, sizeof format);
   format.struct_size = sizeof format;
   format.planes_available = SONO_PLANE_BIT(SONO_PLANE_BMODE) | SONO_PLANE_BIT(SONO_PLANE_VELOCITY) |
                             SONO_PLANE_BIT(SONO_PLANE_POWER) | SONO_PLANE_BIT(SONO_PLANE_VARIANCE);
   format.max_nz = NZ;
   format.max_nx = NX;
   format.max_ensemble = 12;
   format.grid = frame.grid;
   format.acquisition = frame.acquisition;
   sono_host_library_t *lib = sono_host_library_load(HY_MANIFEST, &err);
   assert_non_null(lib);
   sono_host_instance_t *inst = sono_host_instance_create(lib, NULL, NULL, &err);
   assert_non_null(inst);
   assert_int_equal(sono_host_instance_activate(inst, &format, &err), 0);
   sono_plane_t planes[4];
   uint32_t targets = 0, deposits = 0;
   for (uint32_t f = 0; f < FRAMES; ++f) {
      draw(p);
      plane(&planes[0], SONO_PLANE_BMODE, SONO_DTYPE_UINT8, p->bmode);
      plane(&planes[1], SONO_PLANE_VELOCITY, SONO_DTYPE_FLOAT32, p->velocity);
      plane(&planes[2], SONO_PLANE_POWER, SONO_DTYPE_FLOAT32, p->power);
      plane(&planes[3], SONO_PLANE_VARIANCE, SONO_DTYPE_FLOAT32, p->variance);
      frame.planes = planes;
      frame.plane_count = 4;
      frame.sequence = f;
      frame.timestamp_ns = (uint64_t)f * 100000000u;
      assert_int_equal(sono_host_instance_process(inst, &frame, &err), 0);
      const sono_event_store_t *ev = sono_host_instance_events(inst);
      for (uint32_t i = 0; i < sono_event_store_count(ev); ++i) {
         const sono_event_header_t *h = sono_event_store_get(ev, i);
         if (h->type == SONO_EVENT_OVERLAY && strcmp(((const sono_event_overlay_t *)h)->role, SONO_ROLE_TARGET) == 0) {
            const sono_point_t *t = &((const sono_event_overlay_t *)h)->points[0];
            if (getenv("HY_TEST_VERBOSE"))
               printf("frame %u target %.2f, %.2f mm\n", f, t->x_m * 1e3, t->z_m * 1e3);
            /* in the deposit's own body, never in the lumen it presses on */
            assert_false(in_lumen(t->x_m, t->z_m));
            assert_true(in_deposit(t->x_m, t->z_m));
            ++targets;
         }
         if (h->type == SONO_EVENT_FINDING && strcmp(((const sono_event_finding_t *)h)->kind, "filler_deposit") == 0) {
            const sono_event_finding_t *fi = (const sono_event_finding_t *)h;
            if (getenv("HY_TEST_VERBOSE"))
               printf("frame %u %s | %s\n", f, fi->label, fi->basis);
            /* the silent lumen is the compression, not a plug */
            for (uint32_t a = 0; a < fi->attribute_count; ++a)
               if (strcmp(fi->attributes[a].key, "placement") == 0)
                  assert_string_not_equal(fi->attributes[a].value, "intraluminal");
            ++deposits;
         }
      }
   }
   sono_host_instance_destroy(inst);
   sono_host_library_unload(lib, &err);
   free(p);
   assert_true(deposits > 0);
   assert_true(targets > 0);
}

int main(void)
{
   const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_compressing_deposit_targets_stay_out_of_the_lumen),
   };
   return cmocka_run_group_tests(tests, NULL, NULL);
}
