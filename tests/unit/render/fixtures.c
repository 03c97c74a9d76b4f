#include "fixtures.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <openssl/evp.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sono/host/render.h>

void fixture_frame_init(fixture_frame_t *f)
{
   memset(f, 0, sizeof *f);
   for (uint32_t ix = 0; ix < FIX_NX; ++ix)
      for (uint32_t iz = 0; iz < FIX_NZ; ++iz) {
         size_t i = iz + (size_t)FIX_NZ * ix; /* order F: z fastest */
         f->bmode[i] = (iz >= 10 && iz <= 14) ? 200 : 80;
         double x = FIX_X0 + ix * FIX_DX, z = iz * FIX_DX;
         double r2 = ((x - FIX_VESSEL_X) * (x - FIX_VESSEL_X) + (z - FIX_VESSEL_Z) * (z - FIX_VESSEL_Z)) / 1.0e-6;
         f->velocity[i] = r2 < 1.0 ? (float)(0.5 * FIX_VN * (1.0 - r2)) : 0.0f;
         f->power[i] = r2 < 1.0 ? 0.0f : -60.0f;
      }
   const void *data[3] = {f->bmode, f->velocity, f->power};
   const sono_plane_kind_t kinds[3] = {SONO_PLANE_BMODE, SONO_PLANE_VELOCITY, SONO_PLANE_POWER};
   for (int k = 0; k < 3; ++k) {
      sono_plane_t *p = &f->planes[k];
      p->struct_size = sizeof *p;
      p->kind = kinds[k];
      p->dtype = k == 0 ? SONO_DTYPE_UINT8 : SONO_DTYPE_FLOAT32;
      p->shape[0] = FIX_NZ;
      p->shape[1] = FIX_NX;
      p->shape[2] = 1;
      p->stride[0] = 1;
      p->stride[1] = FIX_NZ;
      p->data = data[k];
   }
   sono_frame_t *fr = &f->frame;
   fr->struct_size = sizeof *fr;
   fr->plane_count = 3;
   fr->planes = f->planes;
   fr->sequence = 7;
   fr->timestamp_ns = 350000000;
   fr->grid = (sono_grid_t){FIX_NX, FIX_NZ, FIX_DX, FIX_DX, FIX_X0, 0.0};
   fr->acquisition.nyquist_velocity_m_s = FIX_VN;
   fr->acquisition.center_frequency_hz = 15e6;
   fr->acquisition.sound_speed_m_s = 1540.0;
}

const sono_point_t fixture_deposit_points[4] = {{1e-3, 2e-3}, {4e-3, 2e-3}, {4e-3, 5e-3}, {1e-3, 5e-3}};
static const sono_point_t danger_points[4] = {{-6e-3, 7.5e-3}, {-0.5e-3, 7.5e-3}, {-0.5e-3, 9e-3}, {-6e-3, 9e-3}};
static const sono_point_t vessel_points[3] = {{-6e-3, 6e-3}, {-3e-3, 6e-3}, {0.0, 6.2e-3}};
static const sono_point_t occlusion_points[2] = {{0.0, 6.2e-3}, {3e-3, 6.4e-3}};
static const sono_point_t target_point[1] = {{2.5e-3, 3.5e-3}};
static const sono_point_t ellipse_centre[1] = {{5e-3, 8e-3}};
static const sono_point_t label_point[1] = {{-5.5e-3, 0.5e-3}};
static const sono_point_t vendor_point[1] = {{5.5e-3, 1e-3}};

static sono_event_overlay_t overlay(sono_shape_t shape, const char *role, const sono_point_t *p, uint32_t n,
                                    const char *label)
{
   sono_event_overlay_t o;
   memset(&o, 0, sizeof o);
   o.header.struct_size = sizeof o;
   o.header.type = SONO_EVENT_OVERLAY;
   o.shape = shape;
   o.role = role;
   o.points = p;
   o.point_count = n;
   o.label = label;
   return o;
}

const sono_event_header_t *const *fixture_overlays(uint32_t *n)
{
   static sono_event_overlay_t ov[8];
   static const sono_event_header_t *headers[8];
   ov[0] = overlay(SONO_SHAPE_POLYGON, SONO_ROLE_DEPOSIT, fixture_deposit_points, 4, "HA (fresh)");
   ov[1] = overlay(SONO_SHAPE_POLYGON, SONO_ROLE_DANGER_ZONE, danger_points, 4, "Danger zone");
   ov[2] = overlay(SONO_SHAPE_POLYLINE, SONO_ROLE_VESSEL_PERFUSED, vessel_points, 3, "angular artery");
   ov[3] = overlay(SONO_SHAPE_POLYLINE, SONO_ROLE_OCCLUSION, occlusion_points, 2, NULL);
   ov[4] = overlay(SONO_SHAPE_MARKER, SONO_ROLE_TARGET, target_point, 1, "T1");
   ov[5] = overlay(SONO_SHAPE_ELLIPSE, SONO_ROLE_ARTEFACT, ellipse_centre, 1, "shadow");
   ov[5].radii_m[0] = 0.8e-3;
   ov[5].radii_m[1] = 0.5e-3;
   ov[5].angle_rad = 0.3;
   ov[6] = overlay(SONO_SHAPE_LABEL, SONO_ROLE_ANNOTATION, label_point, 1, "Skin \xC2\xB1 0.2 mm\xC2\xB2");
   ov[7] = overlay(SONO_SHAPE_MARKER, "x-acme-probe-mark", vendor_point, 1, NULL);
   ov[7].rgba = 0x00ff00ffu;
   for (int i = 0; i < 8; ++i)
      headers[i] = &ov[i].header;
   *n = 8;
   return headers;
}

uint8_t *fixture_png_decode(const char *path, uint32_t *w, uint32_t *h)
{
   png_image img;
   memset(&img, 0, sizeof img);
   img.version = PNG_IMAGE_VERSION;
   if (!png_image_begin_read_from_file(&img, path))
      return NULL;
   img.format = PNG_FORMAT_RGB;
   uint8_t *rgb = malloc(PNG_IMAGE_SIZE(img));
   if (!rgb || !png_image_finish_read(&img, NULL, rgb, 0, NULL)) {
      free(rgb);
      png_image_free(&img);
      return NULL;
   }
   *w = img.width;
   *h = img.height;
   return rgb;
}

void fixture_sha256_hex(const void *bytes, size_t n, char hex[65])
{
   unsigned char md[EVP_MAX_MD_SIZE];
   unsigned int len = 0;
   EVP_Digest(bytes, n, md, &len, EVP_sha256(), NULL);
   for (unsigned i = 0; i < len && i < 32; ++i)
      snprintf(hex + 2 * i, 3, "%02x", md[i]);
   hex[64] = '\0';
}

char *fixture_read_file(const char *path, size_t *size)
{
   FILE *f = fopen(path, "rb");
   if (!f)
      return NULL;
   fseek(f, 0, SEEK_END);
   long n = ftell(f);
   fseek(f, 0, SEEK_SET);
   char *d = malloc((size_t)n + 1);
   if (d && fread(d, 1, (size_t)n, f) != (size_t)n) {
      free(d);
      d = NULL;
   }
   fclose(f);
   if (d) {
      d[n] = '\0';
      if (size)
         *size = (size_t)n;
   }
   return d;
}

const char *fixture_temp_dir(char *buf, size_t size)
{
   const char *base = getenv("TMPDIR");
   snprintf(buf, size, "%s/sono-render-XXXXXX", base && *base ? base : "/tmp");
   return mkdtemp(buf);
}

static cJSON *finding(const char *plugin, const char *kind, const char *status, double confidence, const char *label,
                      const char *basis)
{
   cJSON *f = cJSON_CreateObject();
   cJSON_AddStringToObject(f, "plugin", plugin);
   cJSON_AddStringToObject(f, "kind", kind);
   cJSON_AddStringToObject(f, "status", status);
   cJSON_AddNumberToObject(f, "confidence", confidence);
   cJSON_AddStringToObject(f, "label", label);
   cJSON_AddStringToObject(f, "basis", basis);
   cJSON_AddStringToObject(f, "caveat",
                           "Absence of Doppler signal does not exclude intravascular filler (slow flow/small vessels).");
   cJSON_AddStringToObject(f, "advice", "Review recommended.");
   cJSON_AddItemToObject(f, "attributes", cJSON_CreateObject());
   cJSON_AddStringToObject(cJSON_GetObjectItem(f, "attributes"), "class", "ha_fresh");
   return f;
}

static cJSON *plugin(const char *id, const char *status, const char *error)
{
   cJSON *p = cJSON_CreateObject();
   cJSON_AddStringToObject(p, "id", id);
   cJSON_AddStringToObject(p, "name", "Test plugin");
   cJSON_AddStringToObject(p, "vendor", "sonoplug");
   cJSON_AddStringToObject(p, "version", "1.0.0");
   cJSON_AddStringToObject(p, "sha256", "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
   cJSON_AddStringToObject(p, "status", status);
   cJSON_AddNumberToObject(p, "frames_processed", 2);
   cJSON_AddNumberToObject(p, "events_rejected", 0);
   cJSON_AddStringToObject(p, "safety_class", "B");
   if (error)
      cJSON_AddStringToObject(p, "error", error);
   return p;
}

static void timing(cJSON *frame, const char *plugin_id, double ns)
{
   cJSON *t = cJSON_CreateObject();
   cJSON_AddStringToObject(t, "plugin", plugin_id);
   cJSON_AddNumberToObject(t, "ns", ns);
   cJSON_AddItemToArray(cJSON_GetObjectItem(frame, "timings"), t);
}

static int render_fixture_png(const char *path)
{
   static fixture_frame_t f;
   fixture_frame_init(&f);
   uint32_t n;
   const sono_event_header_t *const *ev = fixture_overlays(&n);
   sono_renderer_t *r = sono_renderer_create(NULL, FIX_NX, FIX_NZ, NULL);
   int rc = r ? sono_render_frame_png_events(r, &f.frame, ev, n, path, NULL) : -1;
   sono_renderer_destroy(r);
   return rc;
}

int fixture_write_results(const char *dir, int hostile)
{
   char path[4096];
   snprintf(path, sizeof path, "%s/frame_0000.png", dir);
   if (render_fixture_png(path) != 0)
      return -1;
   const char *a = hostile ? "org.evil.<b>x</b>&co" : "org.sonoplug.intravascular";
   const char *label = hostile ? "<script>alert(1)</script>Finding" : "Finding consistent with intraluminal filler";
   const char *basis = hostile ? "\"><img src=x onerror=alert(2)>" : "No colour signal over a 6.2 mm segment";
   cJSON *root = cJSON_CreateObject();
   cJSON_AddStringToObject(root, "format", "sono.results");
   cJSON_AddNumberToObject(root, "version", 1);
   cJSON_AddStringToObject(root, "recording", "scan.json");
   cJSON *host = cJSON_AddObjectToObject(root, "host");
   cJSON_AddStringToObject(host, "name", "sono-host");
   cJSON_AddStringToObject(host, "version", "1.0.0");
   cJSON_AddStringToObject(host, "abi", "1.0.0");
   cJSON *info = cJSON_AddObjectToObject(root, "recording_info");
   cJSON_AddStringToObject(info, "description", hostile ? "<iframe src=//x>" : "nasolabial phantom");
   cJSON_AddNumberToObject(info, "frame_count", 2);
   cJSON *grid = cJSON_AddObjectToObject(info, "grid");
   cJSON_AddNumberToObject(grid, "nx", FIX_NX);
   cJSON_AddNumberToObject(grid, "nz", FIX_NZ);
   cJSON_AddNumberToObject(grid, "dx_m", FIX_DX);
   cJSON_AddNumberToObject(grid, "dz_m", FIX_DX);
   cJSON_AddNumberToObject(grid, "x0_m", FIX_X0);
   cJSON_AddNumberToObject(grid, "z0_m", 0.0);
   cJSON *acq = cJSON_AddObjectToObject(info, "acquisition");
   cJSON_AddNumberToObject(acq, "center_frequency_hz", 15e6);
   cJSON_AddNumberToObject(acq, "nyquist_velocity_m_s", FIX_VN);
   cJSON *plugins = cJSON_AddArrayToObject(root, "plugins");
   cJSON_AddItemToArray(plugins, plugin(a, "ok", NULL));
   cJSON_AddItemToArray(plugins, plugin("org.sonoplug.artefacts", "failed", "crashed on frame 1 (SIGSEGV)"));
   cJSON_AddItemToArray(plugins, plugin("org.sonoplug.refused", "refused", "sha256 differs from the manifest"));
   cJSON_AddItemToArray(plugins, plugin("org.sonoplug.quarantined", "quarantined", "3 crashes"));
   cJSON *frames = cJSON_AddArrayToObject(root, "frames");
   for (int i = 0; i < 2; ++i) {
      cJSON *fr = cJSON_CreateObject();
      cJSON_AddNumberToObject(fr, "index", i);
      cJSON_AddNumberToObject(fr, "timestamp_ns", i * 50e6);
      cJSON *fs = cJSON_AddArrayToObject(fr, "findings");
      cJSON_AddArrayToObject(fr, "measurements");
      cJSON_AddArrayToObject(fr, "overlays");
      cJSON_AddArrayToObject(fr, "timings");
      timing(fr, a, (i + 1) * 1e6);
      timing(fr, "org.sonoplug.artefacts", 5e5);
      if (i == 0) {
         cJSON_AddStringToObject(fr, "image", "frame_0000.png");
         cJSON_AddItemToArray(fs, finding(a, "intravascular_filler", "detected", 0.91, label, basis));
         cJSON_AddItemToArray(fs, finding(a, "filler_deposit", "not_detected", 0.6, "No deposit found", "none"));
         cJSON_AddItemToArray(fs, finding(a, "migration", "indeterminate", 0.3, "Possible migration", "small vessel"));
         cJSON *m = cJSON_CreateObject();
         cJSON_AddStringToObject(m, "plugin", a);
         cJSON_AddStringToObject(m, "name", "occluded_length");
         cJSON_AddNumberToObject(m, "value", 6.2e-3);
         cJSON_AddStringToObject(m, "unit", "m");
         cJSON_AddItemToArray(cJSON_GetObjectItem(fr, "measurements"), m);
         cJSON *s = cJSON_AddObjectToObject(fr, "spectral");
         cJSON_AddStringToObject(s, "image", "frame_0000.png");
         cJSON_AddNumberToObject(s, "psv_m_s", 0.452);
         cJSON_AddNumberToObject(s, "edv_m_s", 0.12);
         cJSON_AddNumberToObject(s, "ri", 0.73);
      } else {
         cJSON_AddStringToObject(fr, "image", "../outside.png");
         cJSON *fl = cJSON_CreateObject();
         cJSON_AddStringToObject(fl, "plugin", "org.sonoplug.artefacts");
         cJSON_AddStringToObject(fl, "status", "failed");
         cJSON_AddStringToObject(fl, "reason", hostile ? "<svg onload=alert(3)>" : "crashed (SIGSEGV)");
         cJSON_AddItemToArray(cJSON_AddArrayToObject(fr, "failures"), fl);
      }
      cJSON_AddItemToArray(frames, fr);
   }
   char *text = cJSON_Print(root);
   cJSON_Delete(root);
   snprintf(path, sizeof path, "%s/results.json", dir);
   FILE *f = fopen(path, "wb");
   int rc = f && text && fputs(text, f) >= 0 ? 0 : -1;
   if (f)
      fclose(f);
   free(text);
   return rc;
}
