/* libsono_sdk: error reporting shared by the SDK, the host and the tools.
 *
 * Every fallible function takes a `sono_error_t *err` (may be NULL) and, on
 * failure, writes one human-readable message that names WHAT was wrong,
 * WHERE (file, field, frame) and WHAT was expected, e.g.
 *   "plugins/x.sono.json: field \"sha256\": expected 64 hex digits, got 12 characters".
 * Ownership: caller-owned storage. Threading: one sono_error_t per thread. */
#ifndef SONO_SDK_ERROR_H
#define SONO_SDK_ERROR_H

#include <stdarg.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SONO_ERROR_MESSAGE_SIZE 1024

typedef struct sono_error {
   char message[SONO_ERROR_MESSAGE_SIZE];
} sono_error_t;

/* Writes a printf-style message into `err` (no-op when err is NULL).
 * Always returns -1, so `return sono_error_set(err, ...);` reads naturally. */
int sono_error_set(sono_error_t *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int sono_error_vset(sono_error_t *err, const char *fmt, va_list ap);

/* Prepends "prefix: " to the message already in `err`; returns -1. */
int sono_error_prefix(sono_error_t *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Clears `err` to the empty string. */
void sono_error_clear(sono_error_t *err);

#ifdef __cplusplus
}
#endif

#endif
