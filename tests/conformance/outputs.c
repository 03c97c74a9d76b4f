/* The output a check hands to process(): every push is checked with
 * sono_event_check (the one definition of a valid event), counted against
 * the per-frame cap, and encoded as pointer-free text so that two runs can
 * be compared byte for byte. The real-time interposer is disarmed while the
 * host side of push runs: only the plugin's own calls count. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sono/sdk/events.h>
#include <sono/sdk/names.h>
#include "conform.h"

static cf_rt_t out_rt;
static int out_rt_known;

static void rt_pause(int on)
{
   if (!out_rt_known) {
      out_rt_known = 1;
      cf_rt_lookup(&out_rt);
   }
   if (out_rt.arm)
      out_rt.arm(on);
}

/* ---- encoding ------------------------------------------------------------ */

typedef struct sink { char *buf; size_t size, len; } sink_t;

static void put(sink_t *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(sink_t *s, const char *fmt, ...)
{
   if (s->len >= s->size)
      return;
   va_list ap;
   va_start(ap, fmt);
   int n = vsnprintf(s->buf + s->len, s->size - s->len, fmt, ap);
   va_end(ap);
   if (n > 0)
      s->len = s->len + (size_t)n < s->size ? s->len + (size_t)n : s->size;
}

static void put_str(sink_t *s, const char *key, const char *v)
{
   if (!v) {
      put(s, " %s=null", key);
      return;
   }
   put(s, " %s=\"", key);
   for (; *v; ++v) {
      if (*v == '\n')
         put(s, "\\n");
      else
         put(s, (*v == '"' || *v == '\\') ? "\\%c" : "%c", *v);
   }
   put(s, "\"");
}

static void put_points(sink_t *s, const char *key, const sono_point_t *p, uint32_t n)
{
   put(s, " %s=[", key);
   for (uint32_t i = 0; p && i < n; ++i)
      put(s, "%s(%a,%a)", i ? "," : "", p[i].x_m, p[i].z_m);
   put(s, "]");
}

static uint64_t fnv1a(const uint8_t *p, size_t n)
{
   uint64_t h = 1469598103934665603ull;
   for (size_t i = 0; i < n; ++i)
      h = (h ^ p[i]) * 1099511628211ull;
   return h;
}

void cf_event_encode(const sono_event_header_t *e, char *buf, size_t size, size_t *len)
{
   sink_t s = {buf, size, *len};
   put(&s, "type=%d flags=%u", (int)e->type, e->flags);
   if (e->type == SONO_EVENT_FINDING && e->struct_size >= sizeof(sono_event_finding_t)) {
      const sono_event_finding_t *f = (const void *)e;
      put_str(&s, "kind", f->kind);
      put(&s, " status=%d confidence=%a", (int)f->status, (double)f->confidence);
      put_points(&s, "region", f->region, f->region_count);
      put(&s, " attributes=[");
      for (uint32_t i = 0; f->attributes && i < f->attribute_count; ++i) {
         put_str(&s, "k", f->attributes[i].key);
         put_str(&s, "v", f->attributes[i].value);
      }
      put(&s, " ]");
      put_str(&s, "label", f->label);
      put_str(&s, "basis", f->basis);
      put_str(&s, "caveat", f->caveat);
      put_str(&s, "advice", f->advice);
   } else if (e->type == SONO_EVENT_MEASUREMENT && e->struct_size >= sizeof(sono_event_measurement_t)) {
      const sono_event_measurement_t *m = (const void *)e;
      put_str(&s, "name", m->name);
      put(&s, " value=%a", m->value);
      put_str(&s, "unit", m->unit);
      put_str(&s, "label", m->label);
      put(&s, " at=(%a,%a)", m->at.x_m, m->at.z_m);
   } else if (e->type == SONO_EVENT_OVERLAY && e->struct_size >= sizeof(sono_event_overlay_t)) {
      const sono_event_overlay_t *o = (const void *)e;
      put(&s, " shape=%d", (int)o->shape);
      put_points(&s, "points", o->points, o->point_count);
      put_str(&s, "role", o->role);
      put_str(&s, "label", o->label);
      put(&s, " rgba=%08x", o->rgba);
      if (o->shape == SONO_SHAPE_MASK) {
         size_t n = (size_t)o->mask_nx * o->mask_nz;
         put(&s, " mask=%ux%u@%u,%u fnv=%016llx", o->mask_nx, o->mask_nz, o->mask_ix0, o->mask_iz0,
             (unsigned long long)(o->mask ? fnv1a(o->mask, n) : 0));
      }
      put(&s, " radii=(%a,%a) angle=%a", o->radii_m[0], o->radii_m[1], o->angle_rad);
   } else {
      put(&s, " size=%u", e->struct_size);
   }
   put(&s, "\n");
   *len = s.len;
}

/* ---- push ------------------------------------------------------------------------ */

static bool out_push(const sono_output_t *output, const sono_event_header_t *event)
{
   cf_out_t *o = (cf_out_t *)output;
   rt_pause(0);
   bool ok = false;
   ++o->pushes;
   sono_error_t err;
   err.message[0] = '\0';
   if (!event) {
      ++o->invalid;
      if (!o->first_invalid[0]) {
         snprintf(o->first_invalid, sizeof o->first_invalid, "push(NULL)");
         o->first_invalid_frame = o->frame_sequence;
      }
   } else if (sono_event_check(event, o->grid, &err) < 0) {
      ++o->invalid;
      if (!o->first_invalid[0]) {
         snprintf(o->first_invalid, sizeof o->first_invalid, "%s", err.message);
         o->first_invalid_frame = o->frame_sequence;
      }
   } else if (o->accepted >= o->cap) {
      ++o->refused_over_cap;
   } else {
      ++o->accepted;
      if (o->text && o->text_len < o->text_cap)
         cf_event_encode(event, o->text, o->text_cap, &o->text_len);
      if (o->text_len + 1 >= o->text_cap)
         o->text_truncated = 1;
      ok = true;
   }
   if (o->pushes > o->max_pushes_in_frame)
      o->max_pushes_in_frame = o->pushes;
   rt_pause(1);
   return ok;
}

void cf_out_init(cf_out_t *o, size_t text_cap)
{
   memset(o, 0, sizeof *o);
   o->out.ctx = o;
   o->out.push = out_push;
   o->cap = CF_EVENT_CAP;
   if (!out_rt_known) {
      out_rt_known = 1;
      cf_rt_lookup(&out_rt);
   }
   if (text_cap) {
      o->text = malloc(text_cap);
      o->text_cap = o->text ? text_cap : 0;
   }
}

void cf_out_free(cf_out_t *o)
{
   free(o->text);
   o->text = NULL;
}

void cf_out_begin(cf_out_t *o, const sono_frame_t *frame)
{
   o->grid = &frame->grid;
   o->frame_sequence = frame->sequence;
   o->pushes = 0;
   o->accepted = 0;
   o->text_len = 0;
   o->text_truncated = 0;
   if (o->text)
      o->text[0] = '\0';
}
