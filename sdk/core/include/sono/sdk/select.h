/* libsono_sdk: order statistics of float samples (medians, percentiles,
 * noise floors), the one selection every SDK library uses.
 *
 * Ownership: the caller's array is reordered in place; nothing is
 * allocated. Threading: [thread-safe] on distinct arrays. Units: those of
 * the samples. */
#ifndef SONO_SDK_SELECT_H
#define SONO_SDK_SELECT_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The k-th smallest of v[0..n-1] (0-based, k < n, n > 0): exact, the
 * same value whatever method select.c picks (a one-pass scan for ranks
 * within 32 of either end, otherwise a branch-free quickselect). The
 * order v is left in is unspecified. NaNs are not allowed in v. */
float sono_select_kth(float *v, size_t n, size_t k);

/* The q-quantile (0..1) of v[0..n-1] as the sample of rank round(q·(n−1));
 * 0 when n is 0. Reorders v. */
float sono_quantile(float *v, size_t n, double q);

#ifdef __cplusplus
}
#endif

#endif
