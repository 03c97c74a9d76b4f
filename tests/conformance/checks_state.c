/* Parameters and state checks, and the seeded fuzzer. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "checks.h"

/* ---- streams that move a few bytes at a time -------------------------------- */

typedef struct bytes_out {
   sono_ostream_t s;
   uint8_t *buf;
   size_t len, cap;
   uint32_t chunk;       /* most bytes accepted per call */
} bytes_out_t;

typedef struct bytes_in {
   sono_istream_t s;
   const uint8_t *buf;
   size_t len, pos;
   uint32_t chunk;
   cf_rng_t *rng;        /* random chunk sizes when set */
} bytes_in_t;

static int64_t out_write(const sono_ostream_t *stream, const void *buf, uint64_t size)
{
   bytes_out_t *o = stream->ctx;
   size_t n = size < o->chunk ? (size_t)size : o->chunk;
   if (o->len + n > o->cap) {
      size_t cap = o->cap ? o->cap * 2 : 4096;
      while (cap < o->len + n)
         cap *= 2;
      uint8_t *b = realloc(o->buf, cap);
      if (!b)
         return -1;
      o->buf = b;
      o->cap = cap;
   }
   memcpy(o->buf + o->len, buf, n);
   o->len += n;
   return (int64_t)n;
}

static int64_t in_read(const sono_istream_t *stream, void *buf, uint64_t size)
{
   bytes_in_t *in = stream->ctx;
   size_t left = in->len - in->pos;
   uint32_t chunk = in->rng ? 1 + cf_rng_below(in->rng, in->chunk) : in->chunk;
   size_t n = size < chunk ? (size_t)size : chunk;
   if (n > left)
      n = left;
   if (n)
      memcpy(buf, in->buf + in->pos, n);
   in->pos += n;
   return (int64_t)n;
}

static int save_state(cf_inst_t *inst, bytes_out_t *o, uint32_t chunk)
{
   memset(o, 0, sizeof *o);
   o->s.ctx = o;
   o->s.write = out_write;
   o->chunk = chunk;
   cf_ctx("plugin %s state save() with writes of at most %u bytes", inst->plugin->desc->id, chunk);
   if (!inst->state->save(inst->plugin, &o->s)) {
      cf_fail("plugin %s state save() returned false (writes of at most %u bytes accepted)", inst->plugin->desc->id,
              chunk);
      return -1;
   }
   return 0;
}

static bool load_state(cf_inst_t *inst, const uint8_t *buf, size_t len, uint32_t chunk, cf_rng_t *rng, const char *what)
{
   bytes_in_t in = {{NULL, in_read}, buf, len, 0, chunk, rng};
   in.s.ctx = &in;
   cf_ctx("plugin %s state load(%s, %zu bytes)", inst->plugin->desc->id, what, len);
   return inst->state->load(inst->plugin, &in.s);
}

/* Index of the first differing byte, or -1 when equal. */
static long first_difference(const bytes_out_t *a, const bytes_out_t *b)
{
   size_t n = a->len < b->len ? a->len : b->len;
   for (size_t i = 0; i < n; ++i)
      if (a->buf[i] != b->buf[i])
         return (long)i;
   return a->len == b->len ? -1 : (long)n;
}

typedef struct sess {
   cf_lib_t lib;
   cf_inst_t inst;
   cf_out_t out;
   cf_rng_t rng;
   cf_frame_spec_t spec;
} sess_t;

static int sess_open(sess_t *s, uint64_t stream)
{
   cf_rng_seed(&s->rng, cf_opt.seed, stream);
   cf_out_init(&s->out, 0);
   if (cf_lib_open(&s->lib) != 0 || cf_inst_create(&s->lib, &s->inst) != 0)
      return -1;
   s->spec = cf_spec(64, 48, 8, cf_planes_for(s->lib.desc));
   sono_frame_format_t fmt;
   cf_format_for(&fmt, &s->spec);
   return cf_inst_activate(&s->inst, &fmt);
}

static void sess_close(sess_t *s)
{
   cf_inst_destroy(&s->inst);
   cf_lib_close(&s->lib);
   cf_out_free(&s->out);
}

static void sess_frame(sess_t *s)
{
   cf_process_spec(&s->inst, &s->out, &s->spec, &s->rng, NULL);
   s->spec.sequence++;
}

/* ---- parameters ------------------------------------------------------------------- */

static int whole_type(const sono_param_info_t *p) { return p->type != SONO_PARAM_FLOAT; }

static double random_value(const sono_param_info_t *p, cf_rng_t *rng)
{
   double v = p->min_value + (p->max_value - p->min_value) * cf_rng_unit(rng);
   return whole_type(p) ? floor(v + 0.5) > p->max_value ? floor(v) : floor(v + 0.5) : v;
}

static void expect_accepted(sess_t *s, const sono_param_info_t *p, double v, const char *kind)
{
   const sono_plugin_params_t *pp = s->inst.params;
   cf_ctx("plugin %s set_value(\"%s\", %.17g) (%s)", s->lib.desc->id, p->key, v, kind);
   sono_status_t st = pp->set_value(s->inst.plugin, p->key, v);
   double got = NAN;
   if (st != SONO_OK)
      cf_fail("parameter \"%s\": %s value %.17g in [%g, %g] was refused with status %d", p->key, kind, v, p->min_value,
              p->max_value, (int)st);
   else if (!pp->get_value(s->inst.plugin, p->key, &got) || got != v)
      cf_fail("parameter \"%s\": set to %.17g (%s) but get_value gives %.17g", p->key, v, kind, got);
}

static void expect_refused(sess_t *s, const sono_param_info_t *p, double v, const char *kind)
{
   const sono_plugin_params_t *pp = s->inst.params;
   double before = NAN, after = NAN;
   pp->get_value(s->inst.plugin, p->key, &before);
   cf_ctx("plugin %s set_value(\"%s\", %.17g) (%s)", s->lib.desc->id, p->key, v, kind);
   sono_status_t st = pp->set_value(s->inst.plugin, p->key, v);
   pp->get_value(s->inst.plugin, p->key, &after);
   if (st != SONO_ERROR_INVALID)
      cf_fail("parameter \"%s\" in [%g, %g]: %s value %.17g returned status %d; SONO_ERROR_INVALID (%d) expected",
              p->key, p->min_value, p->max_value, kind, v, (int)st, SONO_ERROR_INVALID);
   else if (!(after == before || (isnan(after) && isnan(before))))
      cf_fail("parameter \"%s\": the refused %s value %.17g changed the value from %.17g to %.17g", p->key, kind, v,
              before, after);
}

void check_params_values(void)
{
   sess_t s;
   if (sess_open(&s, 51) != 0) {
      sess_close(&s);
      return;
   }
   const sono_plugin_params_t *pp = s.inst.params;
   if (!pp) {
      cf_note("no %s extension: nothing to check", SONO_EXT_PARAMS);
      sess_close(&s);
      return;
   }
   uint32_t n = pp->count(s.inst.plugin);
   for (uint32_t i = 0; i < n && !cf_failed(); ++i) {
      sono_param_info_t p;
      if (!pp->get_info(s.inst.plugin, i, &p))
         continue;
      p.key[SONO_PARAM_KEY_SIZE - 1] = '\0';
      expect_accepted(&s, &p, p.min_value, "minimum");
      sess_frame(&s);
      expect_accepted(&s, &p, p.max_value, "maximum");
      sess_frame(&s);
      for (int k = 0; k < 5; ++k)
         expect_accepted(&s, &p, random_value(&p, &s.rng), "random");
      sess_frame(&s);
      double span = p.max_value - p.min_value;
      expect_refused(&s, &p, p.max_value + (span > 0 ? span : 1.0), "above-maximum");
      expect_refused(&s, &p, p.min_value - (span > 0 ? span : 1.0), "below-minimum");
      expect_refused(&s, &p, NAN, "NaN");
      expect_refused(&s, &p, INFINITY, "infinite");
      if (whole_type(&p) && span >= 1.0)
         expect_refused(&s, &p, p.min_value + 0.5, "non-whole");
      expect_accepted(&s, &p, p.default_value, "default");
      sess_frame(&s);
   }
   cf_ctx("plugin %s set_value(\"no.such.key\")", s.lib.desc->id);
   if (pp->set_value(s.inst.plugin, "no.such.key", 0.0) == SONO_OK)
      cf_fail("set_value(\"no.such.key\") returned SONO_OK for an unknown key");
   double v;
   if (pp->get_value(s.inst.plugin, "no.such.key", &v))
      cf_fail("get_value(\"no.such.key\") returned true for an unknown key");
   if (!cf_failed())
      cf_note("%u parameter(s): boundary, random and out-of-range values checked", n);
   sess_close(&s);
}

/* Moves every parameter to a random value so the state is not the default. */
static void randomise_params(sess_t *s)
{
   const sono_plugin_params_t *pp = s->inst.params;
   if (!pp)
      return;
   uint32_t n = pp->count(s->inst.plugin);
   for (uint32_t i = 0; i < n; ++i) {
      sono_param_info_t p;
      if (pp->get_info(s->inst.plugin, i, &p))
         pp->set_value(s->inst.plugin, p.key, random_value(&p, &s->rng));
   }
}

void check_state_roundtrip(void)
{
   sess_t s;
   if (sess_open(&s, 52) != 0 || !s.inst.state) {
      if (!cf_failed())
         cf_note("no %s extension: nothing to check", SONO_EXT_STATE);
      sess_close(&s);
      return;
   }
   randomise_params(&s);
   for (int k = 0; k < 3; ++k)
      sess_frame(&s);
   bytes_out_t a = {0}, b = {0}, c = {0};
   if (save_state(&s.inst, &a, 1u << 30) == 0 && save_state(&s.inst, &b, 5) == 0) {
      long d = first_difference(&a, &b);
      if (d >= 0)
         cf_fail("plugin %s: two saves of the same state differ at byte %ld (%zu and %zu bytes; uninitialised memory "
                 "or a timestamp?)", s.lib.desc->id, d, a.len, b.len);
      else if (!load_state(&s.inst, a.buf, a.len, 3, NULL, "its own saved state, read 3 bytes at a time"))
         cf_fail("plugin %s refused to load its own saved state (%zu bytes, read 3 bytes at a time)", s.lib.desc->id,
                 a.len);
      else if (save_state(&s.inst, &c, 7) == 0 && (d = first_difference(&a, &c)) >= 0)
         cf_fail("plugin %s: state saved, loaded and saved again differs at byte %ld (%zu bytes before, %zu after)",
                 s.lib.desc->id, d, a.len, c.len);
      else {
         sess_frame(&s);
         if (!cf_failed())
            cf_note("%zu-byte state: save, load (3-byte reads), save identical", a.len);
      }
   }
   free(a.buf);
   free(b.buf);
   free(c.buf);
   sess_close(&s);
}

void check_state_garbage(void)
{
   sess_t s;
   if (sess_open(&s, 53) != 0 || !s.inst.state) {
      if (!cf_failed())
         cf_note("no %s extension: nothing to check", SONO_EXT_STATE);
      sess_close(&s);
      return;
   }
   randomise_params(&s);
   bytes_out_t before = {0}, after = {0};
   if (save_state(&s.inst, &before, 1u << 30) != 0) {
      sess_close(&s);
      return;
   }
   if (load_state(&s.inst, NULL, 0, 1, NULL, "an empty stream"))
      cf_fail("plugin %s accepted an empty state; it must be refused", s.lib.desc->id);
   if (before.len > 1 && load_state(&s.inst, before.buf, before.len / 2, 1, NULL, "its state cut in half"))
      cf_fail("plugin %s accepted its own state truncated to %zu of %zu bytes; it must be refused", s.lib.desc->id,
              before.len / 2, before.len);
   size_t mb = 1u << 20;
   uint8_t *junk = malloc(mb);
   for (int round = 0; junk && round < 3 && !cf_failed(); ++round) {
      for (size_t i = 0; i < mb; i += 8) {
         uint64_t r = cf_rng_u64(&s.rng);
         memcpy(junk + i, &r, 8);
      }
      char what[64];
      snprintf(what, sizeof what, "1 MB of random bytes, round %d", round + 1);
      if (load_state(&s.inst, junk, mb, 4096, &s.rng, what))
         cf_fail("plugin %s accepted 1 MB of random bytes as its state (round %d); it must be refused", s.lib.desc->id,
                 round + 1);
   }
   free(junk);
   if (!cf_failed() && save_state(&s.inst, &after, 1u << 30) == 0) {
      long d = first_difference(&before, &after);
      if (d >= 0)
         cf_fail("plugin %s: refused loads changed the state (first difference at byte %ld)", s.lib.desc->id, d);
      else {
         sess_frame(&s);
         cf_note("empty, truncated and 3 x 1 MB random states refused; state unchanged");
      }
   }
   free(before.buf);
   free(after.buf);
   sess_close(&s);
}

/* ---- fuzzing ----------------------------------------------------------------------- */

void check_fuzz_sequence(void)
{
   sess_t s;
   if (sess_open(&s, 61) != 0) {
      sess_close(&s);
      return;
   }
   enum { STEPS = 200 };
   uint32_t planes = cf_planes_for(s.lib.desc);
   uint32_t max_nx = s.spec.nx, max_nz = s.spec.nz, max_ens = s.spec.ensemble;
   for (int step = 0; step < STEPS && !cf_failed(); ++step) {
      uint32_t op = cf_rng_below(&s.rng, 10);
      cf_ctx("fuzz step %d (op %u)", step, op);
      if (op < 6) {
         cf_frame_spec_t f = cf_spec(1 + cf_rng_below(&s.rng, max_nx), 1 + cf_rng_below(&s.rng, max_nz),
                                     1 + cf_rng_below(&s.rng, max_ens), planes);
         f.fill = cf_rng_below(&s.rng, 8) == 0 ? (int)cf_rng_below(&s.rng, CF_FILL_EXTREME + 1) : CF_FILL_RANDOM;
         f.sequence = (uint64_t)step;
         cf_process_spec(&s.inst, &s.out, &f, &s.rng, NULL);
         if (s.out.invalid) {
            cf_fail("fuzz step %d: plugin %s pushed an invalid event: %s", step, s.lib.desc->id, s.out.first_invalid);
         }
      } else if (op < 8 && s.inst.params) {
         uint32_t n = s.inst.params->count(s.inst.plugin);
         sono_param_info_t p;
         if (n && s.inst.params->get_info(s.inst.plugin, cf_rng_below(&s.rng, n), &p)) {
            double v = cf_rng_below(&s.rng, 4) == 0 ? p.max_value + 1.0 : random_value(&p, &s.rng);
            s.inst.params->set_value(s.inst.plugin, p.key, v);
         }
      } else if (op == 8) {
         cf_inst_deactivate(&s.inst);
         max_nx = 1 + cf_rng_below(&s.rng, 256);
         max_nz = 1 + cf_rng_below(&s.rng, 256);
         max_ens = 1 + cf_rng_below(&s.rng, 32);
         cf_frame_spec_t f = cf_spec(max_nx, max_nz, max_ens, planes);
         sono_frame_format_t fmt;
         cf_format_for(&fmt, &f);
         int rc = cf_inst_activate(&s.inst, &fmt);
         if (rc < 0)
            cf_fail("fuzz step %d: reactivation with %ux%u, ensemble %u failed", step, max_nx, max_nz, max_ens);
         else if (rc > 0) {
            /* UNSUPPORTED is a legal answer; go on with the session's own format. */
            sono_frame_format_t first;
            cf_format_for(&first, &s.spec);
            max_nx = s.spec.nx, max_nz = s.spec.nz, max_ens = s.spec.ensemble;
            if (cf_inst_activate(&s.inst, &first) != 0)
               cf_fail("fuzz step %d: reactivation with %ux%u after an UNSUPPORTED format failed", step,
                       s.spec.nx, s.spec.nz);
         }
      } else if (s.inst.state) {
         bytes_out_t o;
         if (save_state(&s.inst, &o, 1 + cf_rng_below(&s.rng, 16)) == 0 &&
             !load_state(&s.inst, o.buf, o.len, 1 + cf_rng_below(&s.rng, 16), NULL, "its own state"))
            cf_fail("fuzz step %d: plugin %s refused its own saved state (%zu bytes)", step, s.lib.desc->id, o.len);
         free(o.buf);
      }
   }
   if (!cf_failed())
      cf_note("%d random steps", STEPS);
   sess_close(&s);
}
