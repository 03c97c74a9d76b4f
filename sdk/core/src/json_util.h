/* Internal JSON helpers of libsono_sdk: typed field access whose errors name
 * the file and field. Not installed. */
#ifndef SONO_SDK_JSON_UTIL_H
#define SONO_SDK_JSON_UTIL_H

#include <cjson/cJSON.h>
#include <sono/sdk/error.h>

/* Parses a whole file; NULL with "path: not valid JSON near byte N" etc. */
cJSON *sono_json_parse_file(const char *path, sono_error_t *err);

/* Required string / number fields of `obj`; `path` names the file in errors. */
int sono_json_get_string(const cJSON *obj, const char *path, const char *field, const char **out, sono_error_t *err);
int sono_json_get_number(const cJSON *obj, const char *path, const char *field, double *out, sono_error_t *err);

#endif
