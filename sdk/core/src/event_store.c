/* Fixed-capacity arena of deep-copied events. All memory is taken at
 * creation so that pushing on the per-frame path never allocates. */
#include <sono/sdk/events.h>

#include <stdlib.h>
#include <string.h>

struct sono_event_store {
   uint8_t *arena;
   size_t capacity;
   size_t used;
   const sono_event_header_t **events;
   uint32_t max_events;
   uint32_t count;
};

#define ALIGN 8u

sono_event_store_t *sono_event_store_create(uint32_t max_events, size_t max_bytes)
{
   sono_event_store_t *s = calloc(1, sizeof *s);
   if (!s)
      return NULL;
   s->arena = malloc(max_bytes ? max_bytes : 1);
   s->events = calloc(max_events ? max_events : 1, sizeof *s->events);
   if (!s->arena || !s->events) {
      sono_event_store_destroy(s);
      return NULL;
   }
   s->capacity = max_bytes;
   s->max_events = max_events;
   return s;
}

void sono_event_store_destroy(sono_event_store_t *s)
{
   if (!s)
      return;
   free(s->arena);
   free(s->events);
   free(s);
}

void sono_event_store_clear(sono_event_store_t *s)
{
   s->used = 0;
   s->count = 0;
}

/* Reserves `n` aligned bytes; NULL when the arena is full. */
static void *take(sono_event_store_t *s, size_t n)
{
   size_t at = (s->used + ALIGN - 1) & ~(size_t)(ALIGN - 1);
   if (at > s->capacity || n > s->capacity - at)
      return NULL;
   s->used = at + n;
   return s->arena + at;
}

static int copy_bytes(sono_event_store_t *s, const void *src, size_t n, const void **dst)
{
   if (!src) {
      *dst = NULL;
      return 0;
   }
   void *p = take(s, n ? n : 1);
   if (!p)
      return -1;
   memcpy(p, src, n);
   *dst = p;
   return 0;
}

static int copy_text(sono_event_store_t *s, const char **field)
{
   return copy_bytes(s, *field, *field ? strlen(*field) + 1 : 0, (const void **)field);
}

static int copy_points(sono_event_store_t *s, const sono_point_t **pts, uint32_t n)
{
   return copy_bytes(s, *pts, (size_t)n * sizeof **pts, (const void **)pts);
}

static int copy_finding(sono_event_store_t *s, sono_event_finding_t *f)
{
   if (copy_text(s, &f->kind) || copy_text(s, &f->label) || copy_text(s, &f->basis) || copy_text(s, &f->caveat) ||
       copy_text(s, &f->advice) || copy_points(s, &f->region, f->region_count))
      return -1;
   if (!f->attributes)
      return 0;
   sono_attribute_t *attrs = take(s, f->attribute_count * sizeof *attrs);
   if (!attrs)
      return -1;
   memcpy(attrs, f->attributes, f->attribute_count * sizeof *attrs);
   f->attributes = attrs;
   for (uint32_t i = 0; i < f->attribute_count; ++i)
      if (copy_text(s, &attrs[i].key) || copy_text(s, &attrs[i].value))
         return -1;
   return 0;
}

static int copy_measurement(sono_event_store_t *s, sono_event_measurement_t *m)
{
   return copy_text(s, &m->name) || copy_text(s, &m->unit) || copy_text(s, &m->label) ? -1 : 0;
}

static int copy_overlay(sono_event_store_t *s, sono_event_overlay_t *o)
{
   if (copy_text(s, &o->role) || copy_text(s, &o->label) || copy_points(s, &o->points, o->point_count))
      return -1;
   if (o->shape != SONO_SHAPE_MASK)
      o->mask = NULL;
   return copy_bytes(s, o->mask, (size_t)o->mask_nx * o->mask_nz, (const void **)&o->mask);
}

static size_t host_size_of(sono_event_type_t type)
{
   switch (type) {
   case SONO_EVENT_FINDING: return sizeof(sono_event_finding_t);
   case SONO_EVENT_MEASUREMENT: return sizeof(sono_event_measurement_t);
   case SONO_EVENT_OVERLAY: return sizeof(sono_event_overlay_t);
   default: return 0;
   }
}

static int copy_event(sono_event_store_t *s, const sono_event_header_t *ev, const sono_event_header_t **out,
                      sono_error_t *err)
{
   size_t size = host_size_of(ev->type);
   if (size == 0 || ev->struct_size < size)
      return sono_error_set(err, "event type %d cannot be stored (check it first)", ev->type);
   /* Copy the struct as this host knows it; fields a newer plugin appended
    * beyond `size` are not understood and not kept. */
   sono_event_header_t *copy = take(s, size);
   if (!copy)
      return -1;
   memcpy(copy, ev, size);
   copy->struct_size = (uint32_t)size;
   *out = copy;
   switch (ev->type) {
   case SONO_EVENT_FINDING: return copy_finding(s, (sono_event_finding_t *)copy) ? -1 : 0;
   case SONO_EVENT_MEASUREMENT: return copy_measurement(s, (sono_event_measurement_t *)copy) ? -1 : 0;
   default: return copy_overlay(s, (sono_event_overlay_t *)copy) ? -1 : 0;
   }
}

int sono_event_store_push(sono_event_store_t *s, const sono_event_header_t *ev, sono_error_t *err)
{
   if (s->count >= s->max_events)
      return sono_error_set(err, "event budget exhausted: more than %u events in one frame", s->max_events);
   size_t mark = s->used;
   const sono_event_header_t *copy = NULL;
   if (copy_event(s, ev, &copy, err) < 0) {
      s->used = mark;
      if (host_size_of(ev->type))
         sono_error_set(err, "event storage exhausted: more than %zu bytes of events in one frame", s->capacity);
      return -1;
   }
   s->events[s->count++] = copy;
   return 0;
}

uint32_t sono_event_store_count(const sono_event_store_t *s) { return s->count; }

const sono_event_header_t *sono_event_store_get(const sono_event_store_t *s, uint32_t i)
{
   return i < s->count ? s->events[i] : NULL;
}

const void *sono_event_store_base(const sono_event_store_t *s, size_t *used)
{
   *used = s->used;
   return s->arena;
}
