/* Helpers of the libsono_dsp unit tests: reference data loading. */
#ifndef DSP_TEST_UTIL_H
#define DSP_TEST_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sono/frame.h>

#define SKIP_CODE 77

/* Reads exactly `bytes` bytes of <dir>/<name> into a new buffer, or returns
 * NULL after printing "SKIP: ..." when the file is missing or short. */
void *dsp_test_load(const char *dir, const char *name, size_t bytes);

/* An IQ plane over F-ordered [nz, nx, n] complex64 data. */
sono_plane_t dsp_test_iq_plane(const float *data, uint32_t nz, uint32_t nx, uint32_t n);

/* Velocity difference modulo 2*vn, in [0, vn]. */
double dsp_test_wrapped_diff(double a, double b, double vn);

#endif
