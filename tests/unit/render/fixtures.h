/* Fixed synthetic inputs for the render and report tests: a frame built in
 * memory, known overlays, PNG decoding and a results.json writer. */
#ifndef SONO_TEST_RENDER_FIXTURES_H
#define SONO_TEST_RENDER_FIXTURES_H

#include <stddef.h>
#include <stdint.h>
#include <sono/sono.h>

/* 128 x 96 grid, 0.1 mm pixels, x from -6.35 mm, z from 0: 12.8 x 9.6 mm,
 * drawn 768 x 576 px at the automatic scale (60 px/mm). B-mode is grey 80
 * with a bright layer (200) at rows 10..14; a vessel of radius 1 mm at
 * x = -3 mm, z = 6 mm carries +0.5 * VN at its centre (parabolic), power 0 dB
 * inside and -60 dB outside. VN = 0.5 m/s. */
#define FIX_NX 128u
#define FIX_NZ 96u
#define FIX_DX 1.0e-4
#define FIX_X0 (-6.35e-3)
#define FIX_VN 0.5
#define FIX_VESSEL_X (-3.0e-3)
#define FIX_VESSEL_Z 6.0e-3

typedef struct fixture_frame {
   uint8_t bmode[FIX_NX * FIX_NZ];
   float velocity[FIX_NX * FIX_NZ];
   float power[FIX_NX * FIX_NZ];
   sono_plane_t planes[3];
   sono_frame_t frame;
} fixture_frame_t;

void fixture_frame_init(fixture_frame_t *f);

/* The deposit square, x 1..4 mm, z 2..5 mm, labelled "HA (fresh)". */
extern const sono_point_t fixture_deposit_points[4];
/* Overlays of one of each kind (deposit, danger zone, vessel, target,
 * ellipse artefact, label, vendor marker); count in *n. */
const sono_event_header_t *const *fixture_overlays(uint32_t *n);

/* Decodes a PNG to 8-bit RGB (malloc'd); returns NULL on failure. */
uint8_t *fixture_png_decode(const char *path, uint32_t *w, uint32_t *h);
void fixture_sha256_hex(const void *bytes, size_t n, char hex[65]);
/* Reads a whole file (malloc'd, NUL-terminated). */
char *fixture_read_file(const char *path, size_t *size);

/* Writes <dir>/results.json with every status value, a failed plugin, a
 * failures entry, timings, a spectral block and a rendered frame_0000.png.
 * `hostile` puts HTML/script text in plugin strings. Returns 0 or -1. */
int fixture_write_results(const char *dir, int hostile);

/* A fresh temporary folder (mkdtemp) in `buf`. */
const char *fixture_temp_dir(char *buf, size_t size);

#endif
