/* libsono_sdk: a union-find over an array of records that carry their own
 * parent index, for connected components built from runs of a mask (the
 * artefacts plugin's regions, the analysis module's deposits).
 *
 * SONO_UNION_FIND(prefix, T, field) defines, for records of type T whose
 * int32_t member `field` is the parent link (a record i starts as its own
 * parent, field == i):
 *   int32_t prefix_root(T *r, int32_t i)  root of i's set, with path halving;
 *   void prefix_join(T *r, int32_t i, int32_t j)  merges the two sets.
 * The root of a set is always its smallest index, so components numbered
 * in root order come out in the order the records were made (a scan
 * order): labels are deterministic and independent of the join order.
 *
 * Ownership: the caller owns the array; nothing allocates. Threading:
 * reentrant, one array per thread. */
#ifndef SONO_SDK_UNION_FIND_H
#define SONO_SDK_UNION_FIND_H

#include <stdint.h>

#define SONO_UNION_FIND(prefix, T, field)                                                                  \
   static inline int32_t prefix##_root(T *r, int32_t i)                                                   \
   {                                                                                                      \
      while (r[i].field != i) {                                                                           \
         r[i].field = r[r[i].field].field; /* path halving */                                            \
         i = r[i].field;                                                                                  \
      }                                                                                                   \
      return i;                                                                                           \
   }                                                                                                      \
   static inline void prefix##_join(T *r, int32_t i, int32_t j)                                           \
   {                                                                                                      \
      i = prefix##_root(r, i);                                                                            \
      j = prefix##_root(r, j);                                                                            \
      if (i != j)                                                                                         \
         r[i > j ? i : j].field = i < j ? i : j;                                                          \
   }

#endif
