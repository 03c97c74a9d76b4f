#include <sono/sdk/plugin_kit.h>

#include <math.h>
#include <stdio.h>

void sono_kit_params_defaults(const sono_kit_param_t *defs, uint32_t count, double *values)
{
   for (uint32_t i = 0; i < count; ++i)
      values[i] = defs[i].default_value;
}

static void copy_field(char *dst, size_t size, const char *src)
{
   snprintf(dst, size, "%s", src ? src : "");
}

bool sono_kit_params_info(const sono_kit_param_t *defs, uint32_t count, uint32_t index, sono_param_info_t *info)
{
   if (index >= count)
      return false;
   const sono_kit_param_t *d = &defs[index];
   memset(info, 0, sizeof *info);
   copy_field(info->key, sizeof info->key, d->key);
   copy_field(info->name, sizeof info->name, d->name);
   copy_field(info->unit, sizeof info->unit, d->unit ? d->unit : "1");
   info->type = d->type;
   info->choice_count = d->type == SONO_PARAM_ENUM ? (uint32_t)d->max_value + 1 : 0;
   info->min_value = d->min_value;
   info->max_value = d->max_value;
   info->default_value = d->default_value;
   return true;
}

int sono_kit_params_find(const sono_kit_param_t *defs, uint32_t count, const char *key)
{
   for (uint32_t i = 0; key && i < count; ++i)
      if (strcmp(defs[i].key, key) == 0)
         return (int)i;
   return -1;
}

static bool value_allowed(const sono_kit_param_t *d, double value)
{
   if (!isfinite(value) || value < d->min_value || value > d->max_value)
      return false;
   return d->type == SONO_PARAM_FLOAT || value == floor(value);
}

sono_status_t sono_kit_params_set(const sono_kit_param_t *defs, uint32_t count, double *values, const char *key,
                                  double value)
{
   int i = sono_kit_params_find(defs, count, key);
   if (i < 0 || !value_allowed(&defs[i], value))
      return SONO_ERROR_INVALID;
   values[i] = value;
   return SONO_OK;
}

bool sono_kit_params_choice_label(const sono_kit_param_t *defs, uint32_t count, uint32_t index, uint32_t choice,
                                  char *buf, uint32_t size)
{
   if (index >= count || defs[index].type != SONO_PARAM_ENUM || !defs[index].choices ||
       choice > (uint32_t)defs[index].max_value || size == 0)
      return false;
   snprintf(buf, size, "%s", defs[index].choices[choice]);
   return true;
}

bool sono_kit_read_exact(const sono_istream_t *s, void *buf, uint64_t size)
{
   uint8_t *p = buf;
   while (size) {
      int64_t n = s->read(s, p, size);
      if (n <= 0 || (uint64_t)n > size)
         return false;
      p += n;
      size -= (uint64_t)n;
   }
   return true;
}

bool sono_kit_write_all(const sono_ostream_t *s, const void *buf, uint64_t size)
{
   const uint8_t *p = buf;
   while (size) {
      int64_t n = s->write(s, p, size);
      if (n <= 0 || (uint64_t)n > size)
         return false;
      p += n;
      size -= (uint64_t)n;
   }
   return true;
}

/* FNV-1a: an integrity check against truncation and foreign bytes, not a
 * defence against tampering. */
static uint64_t fnv1a(const void *data, uint64_t size)
{
   const uint8_t *p = data;
   uint64_t h = 1469598103934665603ull;
   for (uint64_t i = 0; i < size; ++i)
      h = (h ^ p[i]) * 1099511628211ull;
   return h;
}

static void put_u32(uint8_t *p, uint32_t v)
{
   for (int i = 0; i < 4; ++i)
      p[i] = (uint8_t)(v >> (8 * i));
}

static void put_u64(uint8_t *p, uint64_t v)
{
   for (int i = 0; i < 8; ++i)
      p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get_u32(const uint8_t *p)
{
   uint32_t v = 0;
   for (int i = 3; i >= 0; --i)
      v = (v << 8) | p[i];
   return v;
}

static uint64_t get_u64(const uint8_t *p)
{
   uint64_t v = 0;
   for (int i = 7; i >= 0; --i)
      v = (v << 8) | p[i];
   return v;
}

#define STATE_HEADER_SIZE 24

bool sono_kit_state_save(const sono_ostream_t *s, uint32_t magic, uint32_t version, const void *payload,
                         uint64_t size)
{
   uint8_t head[STATE_HEADER_SIZE], tail[8];
   memcpy(head, "SONOSTAT", 8);
   put_u32(head + 8, magic);
   put_u32(head + 12, version);
   put_u64(head + 16, size);
   put_u64(tail, fnv1a(payload, size));
   return sono_kit_write_all(s, head, sizeof head) && sono_kit_write_all(s, payload, size) &&
          sono_kit_write_all(s, tail, sizeof tail);
}

bool sono_kit_state_load(const sono_istream_t *s, uint32_t magic, uint32_t version, void *payload, uint64_t cap,
                         uint64_t *size)
{
   uint8_t head[STATE_HEADER_SIZE], tail[8];
   if (!sono_kit_read_exact(s, head, sizeof head) || memcmp(head, "SONOSTAT", 8) != 0 ||
       get_u32(head + 8) != magic || get_u32(head + 12) != version)
      return false;
   uint64_t n = get_u64(head + 16);
   if (n > cap || !sono_kit_read_exact(s, payload, n) || !sono_kit_read_exact(s, tail, sizeof tail))
      return false;
   if (get_u64(tail) != fnv1a(payload, n))
      return false;
   *size = n;
   return true;
}

bool sono_kit_params_state_save(const sono_ostream_t *s, uint32_t magic, uint32_t version, const double *values,
                                uint32_t count)
{
   return count <= SONO_KIT_MAX_PARAMS && sono_kit_state_save(s, magic, version, values, count * sizeof *values);
}

bool sono_kit_params_state_load(const sono_istream_t *s, uint32_t magic, uint32_t version, const sono_kit_param_t *defs,
                                uint32_t count, double *values)
{
   double scratch[SONO_KIT_MAX_PARAMS];
   uint64_t n = 0;
   if (count > SONO_KIT_MAX_PARAMS || !sono_kit_state_load(s, magic, version, scratch, sizeof scratch, &n) ||
       n != count * sizeof *values)
      return false;
   for (uint32_t i = 0; i < count; ++i)
      if (!value_allowed(&defs[i], scratch[i]))
         return false;
   memcpy(values, scratch, count * sizeof *values);
   return true;
}
