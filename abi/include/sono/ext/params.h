/* sonoplug ABI extension "sono.params/1": typed plugin parameters, fetched
 * with plugin->get_extension(plugin, SONO_EXT_PARAMS).
 *
 * Every parameter has a stable string key, a type (float, int, bool, enum),
 * a unit (SI, or "1" when dimensionless), a range and a default. Values are
 * exchanged as double; int, bool and enum values are whole numbers (bool is
 * 0 or 1; enum is the choice index). A value outside [min, max], non-finite,
 * or not whole for int/bool/enum is refused with SONO_ERROR_INVALID and the
 * parameter keeps its value.
 *
 * Ownership: info structs are filled into caller-owned memory; strings are
 * copied into their fixed-size fields.
 * Threading: [main-thread & (initialised | active)]; never concurrently
 * with process() on the same instance (the host serialises them). */
#ifndef SONO_EXT_PARAMS_H
#define SONO_EXT_PARAMS_H

#include "../plugin.h"

SONO_EXTERN_C_BEGIN

#define SONO_EXT_PARAMS "sono.params/1"
#define SONO_PARAM_KEY_SIZE 64
#define SONO_PARAM_UNIT_SIZE 16

typedef int32_t sono_param_type_t;
enum {
   SONO_PARAM_FLOAT = 0,
   SONO_PARAM_INT = 1,
   SONO_PARAM_BOOL = 2,
   SONO_PARAM_ENUM = 3
};

typedef struct sono_param_info {
   char key[SONO_PARAM_KEY_SIZE];     /* stable id, [a-z0-9_.] */
   char name[SONO_NAME_SIZE];         /* display name */
   char unit[SONO_PARAM_UNIT_SIZE];   /* SI unit or "1" */
   sono_param_type_t type;
   uint32_t choice_count;             /* ENUM: number of choices; else 0 */
   double min_value;
   double max_value;
   double default_value;
} sono_param_info_t;

typedef struct sono_plugin_params {
   /* Number of parameters; constant for the instance's lifetime.
    * [main-thread & (initialised | active) & !processing] */
   uint32_t(SONO_ABI *count)(const sono_plugin_t *plugin);

   /* Fills `info` (caller-owned) for parameter `index`; false when out of range.
    * [main-thread & (initialised | active) & !processing] */
   bool(SONO_ABI *get_info)(const sono_plugin_t *plugin, uint32_t index, sono_param_info_t *info);

   /* Reads the current value of `key` (caller-owned string, read during the
    * call only); false when the key is unknown.
    * [main-thread & (initialised | active) & !processing] */
   bool(SONO_ABI *get_value)(const sono_plugin_t *plugin, const char *key, double *value);

   /* Sets `key` to `value`; SONO_ERROR_INVALID when refused (see above). The
    * new value applies from the next process() call.
    * [main-thread & (initialised | active) & !processing] */
   sono_status_t(SONO_ABI *set_value)(const sono_plugin_t *plugin, const char *key, double value);

   /* Copies the label of ENUM choice `choice` into `buf` (caller-owned,
    * NUL-terminated, truncated to `size`); false when not an enum or out of range.
    * [main-thread & (initialised | active) & !processing] */
   bool(SONO_ABI *get_choice_label)(const sono_plugin_t *plugin, uint32_t index, uint32_t choice,
                                    char *buf, uint32_t size);
} sono_plugin_params_t;

SONO_EXTERN_C_END

#endif
