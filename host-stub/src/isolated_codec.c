/* Events across the process boundary. The child encodes each validated
 * event into the shared area with pointers turned into offsets; the host
 * decodes a private copy of the area, checks every offset against the bytes
 * actually used (the child is untrusted), validates the event again and
 * stores it. Only the three event types of ABI 1.x cross: unknown types are
 * skipped by the child, as in-process. */
#include <stdio.h>
#include <string.h>

#include "isolated.h"

typedef union any_event {
   sono_event_header_t header;
   sono_event_finding_t finding;
   sono_event_measurement_t measurement;
   sono_event_overlay_t overlay;
} any_event;

static size_t known_size(sono_event_type_t type)
{
   switch (type) {
   case SONO_EVENT_FINDING: return sizeof(sono_event_finding_t);
   case SONO_EVENT_MEASUREMENT: return sizeof(sono_event_measurement_t);
   case SONO_EVENT_OVERLAY: return sizeof(sono_event_overlay_t);
   default: return 0;
   }
}

#define HAS(ev, type, field) ((size_t)(ev)->header.struct_size >= offsetof(type, field) + sizeof(((type *)0)->field))

/* ---- encoding (child) ----------------------------------------------------- */

typedef struct writer {
   uint8_t *area;
   uint64_t size;
   uint64_t used;
   int full;
} writer;

static uint64_t put(writer *w, const void *data, uint64_t n)
{
   uint64_t at = (w->used + 7u) & ~(uint64_t)7u;
   if (!data || w->full)
      return 0;
   if (at > w->size || n > w->size - at) {
      w->full = 1;
      return 0;
   }
   memcpy(w->area + at, data, n);
   w->used = at + n;
   return at + 1;
}

static uint64_t put_string(writer *w, const char *s) { return s ? put(w, s, strlen(s) + 1) : 0; }

/* Stores an offset in a pointer field (same width on both sides: one host). */
static void set_offset(const void *field_addr, uint64_t off)
{
   uintptr_t v = (uintptr_t)off;
   memcpy((void *)field_addr, &v, sizeof v);
}

static void encode_finding(writer *w, sono_event_finding_t *f)
{
   const sono_event_finding_t src = *f;
   set_offset(&f->kind, put_string(w, src.kind));
   set_offset(&f->region, src.region ? put(w, src.region, (uint64_t)src.region_count * sizeof *src.region) : 0);
   set_offset(&f->label, put_string(w, src.label));
   set_offset(&f->basis, put_string(w, src.basis));
   set_offset(&f->caveat, HAS(f, sono_event_finding_t, caveat) ? put_string(w, src.caveat) : 0);
   set_offset(&f->advice, HAS(f, sono_event_finding_t, advice) ? put_string(w, src.advice) : 0);
   if (!src.attributes || !src.attribute_count) {
      set_offset(&f->attributes, 0);
      return;
   }
   uintptr_t pairs[2 * SONO_EVENT_MAX_ATTRIBUTES];
   uint32_t n = src.attribute_count < SONO_EVENT_MAX_ATTRIBUTES ? src.attribute_count : SONO_EVENT_MAX_ATTRIBUTES;
   for (uint32_t i = 0; i < n; ++i) {
      pairs[2 * i] = (uintptr_t)put_string(w, src.attributes[i].key);
      pairs[2 * i + 1] = (uintptr_t)put_string(w, src.attributes[i].value);
   }
   set_offset(&f->attributes, put(w, pairs, (uint64_t)n * sizeof(sono_attribute_t)));
}

static void encode_measurement(writer *w, sono_event_measurement_t *m)
{
   const sono_event_measurement_t src = *m;
   set_offset(&m->name, put_string(w, src.name));
   set_offset(&m->unit, put_string(w, src.unit));
   set_offset(&m->label, put_string(w, src.label));
}

static void encode_overlay(writer *w, sono_event_overlay_t *o)
{
   const sono_event_overlay_t src = *o;
   set_offset(&o->points, src.points ? put(w, src.points, (uint64_t)src.point_count * sizeof *src.points) : 0);
   set_offset(&o->role, put_string(w, src.role));
   set_offset(&o->label, put_string(w, src.label));
   uint64_t mask_bytes = (uint64_t)src.mask_nx * src.mask_nz;
   set_offset(&o->mask, HAS(o, sono_event_overlay_t, mask) && src.mask && src.shape == SONO_SHAPE_MASK
                           ? put(w, src.mask, mask_bytes)
                           : 0);
}

int sono_iso_encode_event(uint8_t *area, uint64_t size, uint64_t *used, const sono_event_header_t *event)
{
   size_t full = known_size(event->type);
   if (!full)
      return 0;
   any_event ev;
   size_t n = event->struct_size < full ? event->struct_size : full;
   memset(&ev, 0, sizeof ev);
   memcpy(&ev, event, n);
   ev.header.struct_size = (uint32_t)n;
   writer w = {area, size, (*used + 7u) & ~(uint64_t)7u, 0};
   uint64_t record = w.used;
   if (record > size || size - record < 8 + sizeof ev)
      return -1;
   w.used = record + 8 + sizeof ev; /* the struct is written last, once its pointers are offsets */
   if (ev.header.type == SONO_EVENT_FINDING)
      encode_finding(&w, &ev.finding);
   else if (ev.header.type == SONO_EVENT_MEASUREMENT)
      encode_measurement(&w, &ev.measurement);
   else
      encode_overlay(&w, &ev.overlay);
   if (w.full)
      return -1;
   uint32_t rec_size = (uint32_t)(w.used - record);
   memcpy(area + record, &rec_size, sizeof rec_size);
   memset(area + record + 4, 0, 4);
   memcpy(area + record + 8, &ev, sizeof ev);
   *used = w.used;
   return 0;
}

/* ---- decoding (host) ------------------------------------------------------ */

typedef struct reader {
   const uint8_t *base;
   uint64_t used;
   const char *bad; /* first field that failed its bounds check */
} reader;

static const void *array_at(reader *r, const void *field, uint64_t elem, uint64_t count, const char *name)
{
   uintptr_t v;
   memcpy(&v, field, sizeof v);
   if (v == 0)
      return NULL;
   uint64_t off = (uint64_t)v - 1;
   if (off >= r->used || (elem && count > (r->used - off) / elem)) {
      r->bad = r->bad ? r->bad : name;
      return NULL;
   }
   return r->base + off;
}

static const char *string_at(reader *r, const void *field, const char *name)
{
   const char *s = array_at(r, field, 0, 0, name);
   if (s && !memchr(s, 0, r->used - (uint64_t)((const uint8_t *)s - r->base))) {
      r->bad = r->bad ? r->bad : name;
      return NULL;
   }
   return s;
}

static void decode_finding(reader *r, sono_event_finding_t *f)
{
   f->kind = string_at(r, &f->kind, "kind");
   f->region = array_at(r, &f->region, sizeof(sono_point_t), f->region_count, "region");
   f->label = string_at(r, &f->label, "label");
   f->basis = string_at(r, &f->basis, "basis");
   f->caveat = HAS(f, sono_event_finding_t, caveat) ? string_at(r, &f->caveat, "caveat") : NULL;
   f->advice = HAS(f, sono_event_finding_t, advice) ? string_at(r, &f->advice, "advice") : NULL;
   if (f->attribute_count > SONO_EVENT_MAX_ATTRIBUTES) {
      r->bad = "attribute_count";
      return;
   }
   sono_attribute_t *a = (sono_attribute_t *)array_at(r, &f->attributes, sizeof *a, f->attribute_count, "attributes");
   f->attributes = a;
   /* The attribute pairs hold offsets too; they live in the host's private
    * copy, so rewriting them in place is safe. */
   for (uint32_t i = 0; a && i < f->attribute_count; ++i) {
      a[i].key = string_at(r, &a[i].key, "attributes.key");
      a[i].value = string_at(r, &a[i].value, "attributes.value");
   }
}

static void decode_measurement(reader *r, sono_event_measurement_t *m)
{
   m->name = string_at(r, &m->name, "name");
   m->unit = string_at(r, &m->unit, "unit");
   m->label = string_at(r, &m->label, "label");
}

static void decode_overlay(reader *r, sono_event_overlay_t *o)
{
   o->points = array_at(r, &o->points, sizeof(sono_point_t), o->point_count, "points");
   o->role = string_at(r, &o->role, "role");
   o->label = string_at(r, &o->label, "label");
   if (HAS(o, sono_event_overlay_t, mask))
      o->mask = array_at(r, &o->mask, 1, (uint64_t)o->mask_nx * o->mask_nz, "mask");
}

int sono_iso_decode_events(uint8_t *copy, uint64_t used, uint32_t count, const sono_grid_t *grid,
                           sono_iso_event_sink sink, void *ctx)
{
   uint64_t at = 0;
   for (uint32_t i = 0; i < count; ++i) {
      at = (at + 7u) & ~(uint64_t)7u;
      uint32_t rec_size;
      any_event ev;
      char why[SONO_ERROR_MESSAGE_SIZE];
      if (at > used || used - at < 8 + sizeof ev)
         return -1;
      memcpy(&rec_size, copy + at, sizeof rec_size);
      memcpy(&ev, copy + at + 8, sizeof ev);
      if (rec_size < 8 + sizeof ev || rec_size > used - at)
         return -1;
      size_t full = known_size(ev.header.type);
      reader r = {copy, used, NULL};
      if (!full || ev.header.struct_size > full) {
         snprintf(why, sizeof why, "event %u from the child: type %d / struct_size %u not encodable", i,
                  ev.header.type, ev.header.struct_size);
         sink(ctx, NULL, why);
         at += rec_size;
         continue;
      }
      if (ev.header.type == SONO_EVENT_FINDING)
         decode_finding(&r, &ev.finding);
      else if (ev.header.type == SONO_EVENT_MEASUREMENT)
         decode_measurement(&r, &ev.measurement);
      else
         decode_overlay(&r, &ev.overlay);
      sono_error_t err;
      if (r.bad) {
         snprintf(why, sizeof why, "event %u from the child: field %s points outside the event area", i, r.bad);
         sink(ctx, NULL, why);
      } else if (sono_event_check(&ev.header, grid, &err) != 0) {
         sink(ctx, NULL, err.message);
      } else {
         sink(ctx, &ev.header, NULL);
      }
      at += rec_size;
   }
   return 0;
}

const char *sono_iso_call_name(sono_iso_call_t call)
{
   static const char *const names[] = {"idle",       "sono_entry.init()", "create_plugin()/init()",
                                       "activate()", "deactivate()",      "process()",
                                       "params",     "state",             "destroy()"};
   return call >= 0 && call <= SONO_ISO_CALL_DESTROY ? names[call] : "an unknown call";
}
