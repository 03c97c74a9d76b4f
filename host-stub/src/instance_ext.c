/* Parameters and state of an instance, through the plugin's sono.params/1
 * and sono.state/1 extensions. Main thread only, never during process(). */
#include <stdlib.h>
#include <string.h>

#include "isolated.h"

static const void *extension_or_error(const sono_host_instance_t *in, const char *ext_id, sono_error_t *err)
{
   if (in->state != SONO_HOST_STATE_INITIALISED && in->state != SONO_HOST_STATE_ACTIVE) {
      sono_error_set(err, "%s: %s refused: instance is not initialised", in->lib->manifest.id, ext_id);
      return NULL;
   }
   const void *ext = in->plugin->get_extension(in->plugin, ext_id);
   if (!ext)
      sono_error_set(err, "%s: does not provide extension %s", in->lib->manifest.id, ext_id);
   return ext;
}

int sono_host_instance_set_param(sono_host_instance_t *in, const char *key, double value, sono_error_t *err)
{
   if (in->iso) /* the plugin lives in a child process */
      return sono_iso_set_param(in, key, value, err);
   const sono_plugin_params_t *p = extension_or_error(in, SONO_EXT_PARAMS, err);
   if (!p)
      return -1;
   double old;
   if (!p->get_value(in->plugin, key, &old))
      return sono_error_set(err, "%s: parameter \"%s\" is unknown", in->lib->manifest.id, key);
   if (p->set_value(in->plugin, key, value) != SONO_OK)
      return sono_error_set(err, "%s: parameter \"%s\": value %g refused (out of range or wrong type)",
                            in->lib->manifest.id, key, value);
   return 0;
}

int sono_host_instance_get_param(const sono_host_instance_t *in, const char *key, double *value, sono_error_t *err)
{
   if (in->iso) /* the plugin lives in a child process */
      return sono_iso_get_param(in, key, value, err);
   const sono_plugin_params_t *p = extension_or_error(in, SONO_EXT_PARAMS, err);
   if (!p)
      return -1;
   if (!p->get_value(in->plugin, key, value))
      return sono_error_set(err, "%s: parameter \"%s\" is unknown", in->lib->manifest.id, key);
   return 0;
}

typedef struct membuf {
   uint8_t *data;
   size_t size, cap, pos;
   int failed;
} membuf;

static int64_t membuf_write(const sono_ostream_t *s, const void *buf, uint64_t n)
{
   membuf *m = s->ctx;
   if (m->size + n > m->cap) {
      size_t cap = m->cap ? m->cap : 4096;
      while (cap < m->size + n)
         cap *= 2;
      uint8_t *d = realloc(m->data, cap);
      if (!d) {
         m->failed = 1;
         return -1;
      }
      m->data = d;
      m->cap = cap;
   }
   memcpy(m->data + m->size, buf, n);
   m->size += n;
   return (int64_t)n;
}

static int64_t membuf_read(const sono_istream_t *s, void *buf, uint64_t n)
{
   membuf *m = s->ctx;
   size_t left = m->size - m->pos;
   size_t k = n < left ? (size_t)n : left;
   memcpy(buf, m->data + m->pos, k);
   m->pos += k;
   return (int64_t)k;
}

int sono_host_instance_save_state(sono_host_instance_t *in, uint8_t **bytes, size_t *size, sono_error_t *err)
{
   if (in->iso) /* the plugin lives in a child process */
      return sono_iso_save_state(in, bytes, size, err);
   const sono_plugin_state_t *st = extension_or_error(in, SONO_EXT_STATE, err);
   if (!st)
      return -1;
   membuf m = {0};
   sono_ostream_t os = {&m, membuf_write};
   if (!st->save(in->plugin, &os) || m.failed) {
      free(m.data);
      return sono_error_set(err, "%s: state save failed", in->lib->manifest.id);
   }
   *bytes = m.data;
   *size = m.size;
   return 0;
}

int sono_host_instance_load_state(sono_host_instance_t *in, const uint8_t *bytes, size_t size, sono_error_t *err)
{
   if (in->iso) /* the plugin lives in a child process */
      return sono_iso_load_state(in, bytes, size, err);
   const sono_plugin_state_t *st = extension_or_error(in, SONO_EXT_STATE, err);
   if (!st)
      return -1;
   membuf m = {(uint8_t *)bytes, size, size, 0, 0};
   sono_istream_t is = {&m, membuf_read};
   if (!st->load(in->plugin, &is))
      return sono_error_set(err, "%s: state of %zu bytes refused by the plugin (not a valid state)",
                            in->lib->manifest.id, size);
   return 0;
}

int sono_host_instance_param_info(const sono_host_instance_t *in, uint32_t index, sono_param_info_t *info)
{
   if (in->iso) /* the plugin lives in a child process */
      return sono_iso_param_info(in, index, info);
   const sono_plugin_params_t *p = extension_or_error(in, SONO_EXT_PARAMS, NULL);
   return p && p->get_info(in->plugin, index, info) ? 1 : 0;
}
