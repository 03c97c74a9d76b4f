/* libsono_dsp: aliasing helpers for velocity maps.
 *
 * Aliasing shows as a jump between neighbouring pixels of nearly 2 VN
 * through +-VN (e.g. +0.9 VN next to -0.9 VN), unlike a genuine change of
 * direction, which passes through 0. A pair is flagged when both velocities
 * exceed `min_fraction` * VN in magnitude, their signs differ and
 * |v1 - v2| > VN.
 *
 * Images are column-major, pixel (iz, ix) at [ix*ld + iz]. Velocities in m/s,
 * positive toward the probe. Ownership: caller's arrays. Threading:
 * reentrant. No allocation. */
#ifndef SONO_DSP_ALIAS_H
#define SONO_DSP_ALIAS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SONO_DSP_ALIAS_DOWN 1u  /* wrap between (iz, ix) and (iz+1, ix) */
#define SONO_DSP_ALIAS_RIGHT 2u /* wrap between (iz, ix) and (iz, ix+1) */

/* Writes flags[ix*ld + iz] (bits above) and returns the number of flagged
 * pairs. min_fraction: 0.5 is a good default. */
size_t sono_dsp_alias_flags(const float *velocity, size_t nz, size_t nx, size_t ld, float vn, float min_fraction,
                            uint8_t *flags);

/* Unwraps n velocity samples along a path in place: whenever consecutive
 * samples differ by more than VN, the later ones are shifted by a multiple
 * of 2 VN (numpy.unwrap with period 2 VN). Returns the number of wraps. */
size_t sono_dsp_unwrap_path(float *velocity, size_t n, float vn);

#ifdef __cplusplus
}
#endif

#endif
