/* sono-eval hyaluronidase: the hyaluronidase-guidance overlay on phantom
 * pairs (docs/clinical.md, "Hyaluronidase guidance", Evaluation).
 *
 * Pair i is drawn from (seed, i): the vessel, site, PRF and SNR of batch
 * case i (sono_sim_batch_case), artefact injections removed, and one
 * hyaluronic-acid deposit chosen here:
 *   - even i, "shrink": intraluminal (with a second, patent vessel in view),
 *     perivascular or tissue deposit, scaled down for the "after" case;
 *   - odd i, "move": tissue or perivascular deposit moved by 1-3 mm.
 * The "before" case runs through a fresh instance (baseline captured
 * automatically at the first assessable frame, needling grid over a random
 * region given as parameters); its state is saved; the "after" case runs
 * through a new instance that loads that state (the follow-up visit), with
 * the grid over the hypoperfused territory.
 *
 * Frames go from the phantom through the Doppler core (libsono_dsp, with
 * the clutter filter the case's recording declares, as the host uses it) to
 * the plugin in memory; nothing is written to disk, so
 * --work and --batch are not used.
 *
 * Metrics: targets inside the true deposit; targets within 1 mm of a lumen
 * not involved; needling-grid coverage of the given region (and, for
 * information, of the true hypoperfused territory); error of the measured
 * area change for shrinks >= 50% (and all shrinks); migration distance
 * error; per-frame plugin time. The area error is given apart for
 * intraluminal deposits, whose outline is the lumen without flow (the
 * analysis module's flow gap) rather than a B-mode contrast. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <sono/dsp/pipeline.h>
#include <sono/host/host.h>
#include <sono/sdk/events.h>
#include <sono/sdk/names.h>
#include <sono/sim/phantom.h>

#include "evalkit.h"

#define HE_MAX_GT 8
#define HE_MAX_PTS 512

/* ---- random draws (counter based, like the phantom) ------------------------------- */

static uint64_t mix64(uint64_t z)
{
   z += 0x9e3779b97f4a7c15ull;
   z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
   z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
   return z ^ (z >> 31);
}

static double draw(uint64_t seed, uint32_t i, uint32_t what, double lo, double hi)
{
   uint64_t h = mix64(seed * 0x100000001b3ull ^ mix64(((uint64_t)i << 16) | what));
   return lo + (hi - lo) * (double)(h >> 11) * 0x1.0p-53;
}

/* ---- the pair --------------------------------------------------------------------- */

typedef struct pair {
   sono_sim_case_t before, after;
   int kind;                 /* 0 shrink, 1 move */
   int placement;            /* sono_sim_placement_t */
   int dep;                  /* index of the deposit that changes */
   double region_x0, region_x1;
} pair_t;

static void add_patent_vessel(sono_sim_case_t *c, uint64_t seed, uint32_t i)
{
   sono_sim_vessel_t v = c->vessels[0];
   double off = draw(seed, i, 11, 2.6e-3, 3.2e-3) + 0.5 * v.diameter_m;
   double deeper = v.depth_m + off, shallower = v.depth_m - off;
   double reach = fabs(tan(v.tilt_rad)) * 6.4e-3;
   snprintf(v.id, sizeof v.id, "v2");
   snprintf(v.name, sizeof v.name, "patent artery (not involved)");
   v.depth_m = deeper + reach < 8.6e-3 ? deeper : shallower;
   if (v.depth_m - reach < 2.0e-3)
      return;
   v.diameter_m = 1.0e-3;
   v.psv_m_s = c->vessels[0].psv_m_s;
   v.sag_m = 0;
   v.upstream_ri = 0;
   sono_error_t err;
   sono_sim_case_t copy = *c;
   if (sono_sim_add_vessel(&copy, &v) >= 0 && sono_sim_case_validate(&copy, &err) == 0)
      *c = copy;
}

static void base_deposit(sono_sim_deposit_t *d, const pair_t *p, const sono_sim_case_t *c, uint64_t seed, uint32_t i)
{
   memset(d, 0, sizeof *d);
   snprintf(d->id, sizeof d->id, "d1");
   d->filler = draw(seed, i, 3, 0, 1) < 0.7 ? SONO_SIM_HA_FRESH : SONO_SIM_HA_INTEGRATED;
   d->placement = p->placement;
   d->vessel = p->placement == SONO_SIM_TISSUE ? -1 : 0;
   d->x_m = draw(seed, i, 4, -2.5e-3, 2.5e-3);
   d->angle_rad = 0;
   if (p->placement == SONO_SIM_INTRALUMINAL) {
      d->half_width_m = draw(seed, i, 5, 2.0e-3, 3.5e-3);
      d->half_depth_m = c->vessels[0].diameter_m / 2;
   } else {
      d->half_width_m = draw(seed, i, 5, 1.0e-3, 2.2e-3);
      d->half_depth_m = draw(seed, i, 6, 0.6e-3, 1.1e-3);
      double vz = c->vessels[0].depth_m + tan(c->vessels[0].tilt_rad) * (d->x_m - c->vessels[0].x_center_m);
      double room = c->vessels[0].diameter_m / 2 + 2 * d->half_depth_m + 0.8e-3;
      /* the deposit stays inside the image and below the dermis */
      d->side = vz + room > 8.8e-3 ? -1 : vz - room < 2.5e-3 ? 1 : draw(seed, i, 7, 0, 1) < 0.5 ? -1 : 1;
      d->gap_m = draw(seed, i, 8, 0.2e-3, 0.6e-3);
      /* a tissue deposit sits clear of the vessel, on the side with room */
      double clear = c->vessels[0].diameter_m / 2 + d->half_depth_m + 1.6e-3;
      d->z_m = vz + d->side * clear;
      if (d->z_m + d->half_depth_m > 8.8e-3 || d->z_m - d->half_depth_m < 2.3e-3)
         d->z_m = vz - d->side * clear;
   }
}

/* Intraluminal shrink pairs start from the nasolabial occlusion preset (a
 * 1.4 mm facial artery with flow on both sides of the plug, as when an
 * occlusion is assessed; its perivascular CaHA stays in view); every other
 * pair starts from batch case i with its deposit replaced. */
static int make_pair(pair_t *p, uint64_t seed, uint32_t i, sono_error_t *err)
{
   memset(p, 0, sizeof *p);
   sono_sim_case_t *c = &p->before;
   p->kind = (int)(i % 2);
   double u = draw(seed, i, 1, 0, 1);
   p->placement = p->kind == 0 ? (u < 0.5 ? SONO_SIM_INTRALUMINAL : u < 0.8 ? SONO_SIM_PERIVASCULAR : SONO_SIM_TISSUE)
                               : (u < 0.6 ? SONO_SIM_TISSUE : SONO_SIM_PERIVASCULAR);
   if (p->placement == SONO_SIM_INTRALUMINAL) {
      if (sono_sim_case_preset(c, "nasolabial-ha-occlusion", seed * 1000u + i, err) < 0)
         return -1;
      c->threads = 1;
      for (uint32_t k = 0; k < c->deposit_count; ++k)
         if (c->deposits[k].placement == SONO_SIM_INTRALUMINAL)
            p->dep = (int)k;
      c->deposits[p->dep].x_m = draw(seed, i, 4, -2.0e-3, 2.0e-3);
      c->deposits[p->dep].half_width_m = draw(seed, i, 5, 2.0e-3, 3.5e-3);
      add_patent_vessel(c, seed, i);
   } else {
      sono_sim_batch_case(c, seed, i);
      c->artefact_count = 0;
      c->deposit_count = 0;
      c->threads = 1;
      c->vessels[0].upstream_ri = 0;
      c->vessel_count = 1;
      sono_sim_deposit_t d;
      base_deposit(&d, p, c, seed, i);
      if (sono_sim_add_deposit(c, &d) < 0)
         return sono_error_set(err, "pair %u: deposit not added", i);
      p->dep = 0;
   }
   p->after = *c;
   sono_sim_deposit_t *a = &p->after.deposits[p->dep];
   if (p->kind == 0) {
      double f = draw(seed, i, 20, 0.25, 0.85);
      a->half_width_m *= f;
      if (p->placement != SONO_SIM_INTRALUMINAL)
         a->half_depth_m *= sqrt(f) > 0.6 ? sqrt(f) : 0.6;
   } else {
      double dist = draw(seed, i, 21, 1.0e-3, 3.0e-3), ang = draw(seed, i, 22, 0, 2 * M_PI);
      int tissue = p->placement == SONO_SIM_TISSUE;
      double dx = tissue ? dist * cos(ang) : (cos(ang) >= 0 ? dist : -dist), dz = tissue ? 0.5 * dist * sin(ang) : 0.0;
      a->x_m += dx;
      a->z_m += dz;
   }
   double w = draw(seed, i, 30, 3e-3, 11e-3), x0 = draw(seed, i, 31, -6.0e-3, 6.0e-3 - w);
   p->region_x0 = x0;
   p->region_x1 = x0 + w;
   if (sono_sim_case_validate(&p->before, err) < 0 || sono_sim_case_validate(&p->after, err) < 0)
      return -1;
   return 0;
}

/* ---- running one case through the plugin ----------------------------------------------- */

typedef struct runner {
   sono_host_library_t *lib;
   sono_host_instance_t *inst;
   sono_sim_t *sim;
   sono_dsp_pipeline_t *dsp;
   float *iq;
   sono_plane_t planes[5];
   sono_frame_t frame;
   sono_frame_format_t format;
   double times_ms[64];
   uint32_t time_count;
   char where[32]; /* "pair N before|after", for the evidence lines */
} runner_t;

static void runner_close(runner_t *r)
{
   sono_error_t err;
   sono_host_instance_destroy(r->inst);
   if (r->lib)
      sono_host_library_unload(r->lib, &err);
   sono_dsp_pipeline_destroy(r->dsp);
   sono_sim_destroy(r->sim);
   free(r->iq);
   memset(r, 0, sizeof *r);
}

/* The clutter filter the case's recording declares, as the host would use
 * it (session.c): "<name>:<order>", else poly:2 for ensembles of 8 or more. */
static void wall_spec(const sono_sim_case_t *c, char *out, size_t size)
{
   const char *name = c->wall_filter != SONO_WALL_NONE ? sono_wall_filter_name(c->wall_filter) : NULL;
   if (name)
      snprintf(out, size, "%s:%u", name, c->wall_filter_order);
   else
      snprintf(out, size, "%s", c->ensemble >= 8 ? "poly:2" : "none");
}

static int runner_open(runner_t *r, const char *manifest, const sono_sim_case_t *c, sono_error_t *err)
{
   memset(r, 0, sizeof *r);
   if (!(r->sim = sono_sim_create(c, err)))
      return -1;
   const sono_sim_case_t *cc = sono_sim_get_case(r->sim);
   r->iq = malloc((size_t)cc->nz * cc->nx * cc->ensemble * 2 * sizeof(float));
   sono_dsp_config_t cfg;
   char msg[256];
   sono_dsp_config_default(&cfg);
   char wall[32];
   wall_spec(cc, wall, sizeof wall);
   if (sono_dsp_parse_wall(wall, &cfg, msg, sizeof msg) < 0)
      return sono_error_set(err, "case wall filter \"%s\": %s", wall, msg);
   r->dsp = sono_dsp_pipeline_create(&cfg, cc->nz, cc->nx, cc->ensemble, msg, sizeof msg);
   if (!r->iq || !r->dsp)
      return sono_error_set(err, "Doppler core: %s", r->dsp ? "out of memory" : msg);
   r->frame.struct_size = sizeof r->frame;
   sono_sim_grid(r->sim, &r->frame.grid);
   sono_sim_acquisition(r->sim, &r->frame.acquisition);
   r->format.struct_size = sizeof r->format;
   r->format.planes_available = SONO_PLANE_BIT(SONO_PLANE_IQ) | SONO_PLANE_BIT(SONO_PLANE_BMODE) |
                                SONO_PLANE_BIT(SONO_PLANE_VELOCITY) | SONO_PLANE_BIT(SONO_PLANE_POWER) |
                                SONO_PLANE_BIT(SONO_PLANE_VARIANCE);
   r->format.max_nx = cc->nx;
   r->format.max_nz = cc->nz;
   r->format.max_ensemble = cc->ensemble;
   r->format.grid = r->frame.grid;
   r->format.acquisition = r->frame.acquisition;
   if (!(r->lib = sono_host_library_load(manifest, err)) || !(r->inst = sono_host_instance_create(r->lib, NULL, NULL, err)))
      return -1;
   return sono_host_instance_activate(r->inst, &r->format, err);
}

static int runner_frame(runner_t *r, uint32_t index, sono_error_t *err)
{
   const sono_sim_case_t *cc = sono_sim_get_case(r->sim);
   if (sono_sim_generate_frame(r->sim, index, r->iq, err) < 0)
      return -1;
   r->planes[0] = (sono_plane_t){sizeof(sono_plane_t), SONO_PLANE_IQ, SONO_DTYPE_COMPLEX64,
                                 {cc->nz, cc->nx, cc->ensemble}, {1, cc->nz, (int64_t)cc->nz * cc->nx}, r->iq};
   char msg[256];
   sono_acquisition_t acq;
   sono_sim_acquisition(r->sim, &acq);
   uint32_t want = r->format.planes_available & ~SONO_PLANE_BIT(SONO_PLANE_IQ);
   int k = sono_dsp_pipeline_run(r->dsp, &r->planes[0], &acq, want, r->planes + 1, &r->frame.acquisition, msg,
                                 sizeof msg);
   if (k < 0)
      return sono_error_set(err, "frame %u: Doppler core: %s", index, msg);
   r->frame.planes = r->planes;
   r->frame.plane_count = 1 + (uint32_t)k;
   r->frame.sequence = index;
   r->frame.timestamp_ns = (uint64_t)(index / cc->frame_rate_hz * 1e9);
   if (sono_host_instance_process(r->inst, &r->frame, err) < 0)
      return -1;
   if (r->time_count < 64)
      r->times_ms[r->time_count++] = (double)sono_host_instance_last_duration_ns(r->inst) * 1e-6;
   return 0;
}

/* ---- ground truth ------------------------------------------------------------------------ */

typedef struct truth {
   int deposit_count;
   evalkit_pt_t deposit[HE_MAX_GT][HE_MAX_PTS];
   int deposit_n[HE_MAX_GT];
   double deposit_area[HE_MAX_GT];
   int vessel_count;
   evalkit_pt_t centre[HE_MAX_GT][HE_MAX_PTS];
   int centre_n[HE_MAX_GT];
   double radius[HE_MAX_GT];
   int involved[HE_MAX_GT];
   double occ_x0[HE_MAX_GT], occ_x1[HE_MAX_GT];
} truth_t;

static double polygon_area(const evalkit_pt_t *p, int n)
{
   double a = 0;
   for (int i = 0, j = n - 1; i < n; j = i++)
      a += (p[j].x * p[i].z - p[i].x * p[j].z);
   return fabs(a) / 2;
}

static void read_truth(const sono_sim_t *sim, truth_t *t)
{
   memset(t, 0, sizeof *t);
   cJSON *gt = sono_sim_ground_truth(sim);
   const cJSON *item;
   cJSON_ArrayForEach(item, cJSON_GetObjectItem(gt, "deposits"))
   {
      if (t->deposit_count >= HE_MAX_GT)
         break;
      int k = t->deposit_count++;
      t->deposit_n[k] = evalkit_points(cJSON_GetObjectItem(item, "polygon_m"), t->deposit[k], HE_MAX_PTS);
      t->deposit_area[k] = polygon_area(t->deposit[k], t->deposit_n[k]);
   }
   cJSON_ArrayForEach(item, cJSON_GetObjectItem(gt, "vessels"))
   {
      if (t->vessel_count >= HE_MAX_GT)
         break;
      int k = t->vessel_count++;
      t->centre_n[k] = evalkit_points(cJSON_GetObjectItem(item, "centerline_m"), t->centre[k], HE_MAX_PTS);
      t->radius[k] = cJSON_GetNumberValue(cJSON_GetObjectItem(item, "diameter_m")) / 2;
      const cJSON *occ = cJSON_GetArrayItem(cJSON_GetObjectItem(item, "occluded_segments_m"), 0);
      if (occ) {
         evalkit_pt_t ends[2];
         if (evalkit_points(occ, ends, 2) == 2) {
            t->involved[k] = 1;
            t->occ_x0[k] = fmin(ends[0].x, ends[1].x);
            t->occ_x1[k] = fmax(ends[0].x, ends[1].x);
         }
      }
   }
   cJSON_Delete(gt);
}

static double segment_distance(evalkit_pt_t a, evalkit_pt_t b, evalkit_pt_t p)
{
   double ux = b.x - a.x, uz = b.z - a.z, l2 = ux * ux + uz * uz;
   double s = l2 > 0 ? ((p.x - a.x) * ux + (p.z - a.z) * uz) / l2 : 0;
   s = s < 0 ? 0 : s > 1 ? 1 : s;
   return hypot(a.x + s * ux - p.x, a.z + s * uz - p.z);
}

/* Distance from p to the true lumen wall of vessel k (0 inside). */
static double lumen_distance(const truth_t *t, int k, evalkit_pt_t p)
{
   double best = INFINITY;
   for (int i = 1; i < t->centre_n[k]; ++i)
      best = fmin(best, segment_distance(t->centre[k][i - 1], t->centre[k][i], p));
   return fmax(0.0, best - t->radius[k]);
}

/* ---- tallies ------------------------------------------------------------------------------ */

typedef struct tally {
   evalkit_rate_t target_inside;
   uint32_t target_near_lumen, targets, pairs_with_targets;
   double coverage_region_min, coverage_territory_min;
   evalkit_rate_t coverage_region_ok, coverage_territory_ok;
   double area_err[256], area_err_all[256], area_err_lumen[256];
   size_t area_n, area_all_n, area_lumen_n; /* area_err: outlined on B-mode; _lumen: intraluminal (flow gap) */
   uint32_t area_missing;
   double mig_err[256];
   size_t mig_n;
   uint32_t mig_missing;
   evalkit_rate_t mig_detected;
   double times[8192];
   size_t time_n;
   uint32_t pairs, failures;
} tally_t;

static void add_times(tally_t *t, const runner_t *r)
{
   for (uint32_t i = 0; i < r->time_count && t->time_n < 8192; ++i)
      t->times[t->time_n++] = r->times_ms[i];
}

static int point_in_any_deposit(const truth_t *t, evalkit_pt_t p)
{
   for (int k = 0; k < t->deposit_count; ++k)
      if (evalkit_point_in_polygon(t->deposit[k], t->deposit_n[k], p))
         return 1;
   return 0;
}

static void check_targets(const runner_t *r, const truth_t *t, tally_t *ta, int *any)
{
   const sono_event_store_t *ev = sono_host_instance_events(r->inst);
   for (uint32_t i = 0; i < sono_event_store_count(ev); ++i) {
      const sono_event_header_t *h = sono_event_store_get(ev, i);
      const sono_event_overlay_t *o = (const sono_event_overlay_t *)h;
      if (h->type != SONO_EVENT_OVERLAY || strcmp(o->role, SONO_ROLE_TARGET) != 0)
         continue;
      evalkit_pt_t p = {o->points[0].x_m, o->points[0].z_m};
      int inside = point_in_any_deposit(t, p);
      evalkit_rate_add(&ta->target_inside, inside);
      if (!inside) {
         fprintf(stderr, "%s, frame %u: target at %.2f, %.2f mm is outside every true deposit", r->where,
                 (unsigned)r->frame.sequence, p.x * 1e3, p.z * 1e3);
         for (int k = 0; k < t->vessel_count; ++k)
            fprintf(stderr, "; %.2f mm from the lumen of vessel %d", lumen_distance(t, k, p) * 1e3, k);
         fprintf(stderr, "\n");
      }
      for (int k = 0; k < t->vessel_count; ++k)
         if (!t->involved[k] && lumen_distance(t, k, p) < 1.0e-3) {
            ta->target_near_lumen++;
            fprintf(stderr, "%s, frame %u: target at %.2f, %.2f mm is %.2f mm from the lumen of vessel %d (not involved)\n",
                    r->where, (unsigned)r->frame.sequence, p.x * 1e3, p.z * 1e3, lumen_distance(t, k, p) * 1e3, k);
         }
      ta->targets++;
      *any = 1;
   }
}

/* Share of [a, b] within half a spacing of a puncture that lies in [a, b]. */
static double grid_coverage(const runner_t *r, double a, double b, double spacing)
{
   double xs[128];
   int n = 0;
   const sono_event_store_t *ev = sono_host_instance_events(r->inst);
   for (uint32_t i = 0; i < sono_event_store_count(ev) && n < 128; ++i) {
      const sono_event_header_t *h = sono_event_store_get(ev, i);
      const sono_event_overlay_t *o = (const sono_event_overlay_t *)h;
      if (h->type == SONO_EVENT_OVERLAY && o->shape == SONO_SHAPE_POLYLINE &&
          strcmp(o->role, SONO_ROLE_NEEDLING_GRID) == 0 && o->points[0].x_m >= a - 1e-6 && o->points[0].x_m <= b + 1e-6)
         xs[n++] = o->points[0].x_m;
   }
   int covered = 0, samples = 2000;
   for (int s = 0; s < samples; ++s) {
      double x = a + (b - a) * (s + 0.5) / samples;
      for (int k = 0; k < n; ++k)
         if (fabs(x - xs[k]) <= spacing / 2 + 1e-9) {
            covered++;
            break;
         }
   }
   return (double)covered / samples;
}

static const sono_event_finding_t *find_finding(const runner_t *r, const char *kind, evalkit_pt_t near)
{
   const sono_event_finding_t *best = NULL;
   double bd = INFINITY;
   const sono_event_store_t *ev = sono_host_instance_events(r->inst);
   for (uint32_t i = 0; i < sono_event_store_count(ev); ++i) {
      const sono_event_header_t *h = sono_event_store_get(ev, i);
      const sono_event_finding_t *f = (const sono_event_finding_t *)h;
      if (h->type != SONO_EVENT_FINDING || strcmp(f->kind, kind) != 0 || !f->region_count)
         continue;
      evalkit_pt_t pts[256];
      int n = 0;
      for (uint32_t k = 0; k < f->region_count && n < 256; ++k)
         pts[n++] = (evalkit_pt_t){f->region[k].x_m, f->region[k].z_m};
      evalkit_pt_t c = evalkit_centroid(pts, n);
      double d = hypot(c.x - near.x, c.z - near.z);
      if (d < bd) {
         bd = d;
         best = f;
      }
   }
   return best;
}

static const sono_event_measurement_t *find_measurement(const runner_t *r, const char *name, evalkit_pt_t near)
{
   const sono_event_measurement_t *best = NULL;
   double bd = INFINITY;
   const sono_event_store_t *ev = sono_host_instance_events(r->inst);
   for (uint32_t i = 0; i < sono_event_store_count(ev); ++i) {
      const sono_event_header_t *h = sono_event_store_get(ev, i);
      const sono_event_measurement_t *m = (const sono_event_measurement_t *)h;
      if (h->type != SONO_EVENT_MEASUREMENT || strcmp(m->name, name) != 0)
         continue;
      double d = hypot(m->at.x_m - near.x, m->at.z_m - near.z);
      if (d < bd) {
         bd = d;
         best = m;
      }
   }
   return best;
}

/* ---- one pair ------------------------------------------------------------------------------ */

static int set(runner_t *r, const char *key, double v, sono_error_t *err)
{
   return sono_host_instance_set_param(r->inst, key, v, err);
}

static const char *attribute(const sono_event_finding_t *f, const char *key)
{
   for (uint32_t i = 0; i < f->attribute_count; ++i)
      if (strcmp(f->attributes[i].key, key) == 0)
         return f->attributes[i].value;
   return NULL;
}

/* --verbose: the deposits the plugin outlined on the last frame, beside the truth. */
static void print_deposits(const runner_t *r, const truth_t *t, int dep, const char *when)
{
   for (int k = dep; k == dep; ++k) {
      evalkit_pt_t c = evalkit_centroid(t->deposit[k], t->deposit_n[k]);
      printf("    %s truth: centroid %.2f, %.2f mm, area %.2f mm2", when, c.x * 1e3, c.z * 1e3, t->deposit_area[k] * 1e6);
      for (int v = 0; v < t->vessel_count; ++v)
         if (t->involved[v])
            printf("; occluded x %.2f to %.2f mm", t->occ_x0[v] * 1e3, t->occ_x1[v] * 1e3);
      printf("\n");
   }
   const sono_event_store_t *ev = sono_host_instance_events(r->inst);
   evalkit_pt_t c = evalkit_centroid(t->deposit[dep], t->deposit_n[dep]);
   for (uint32_t i = 0; i < sono_event_store_count(ev); ++i) {
      const sono_event_header_t *h = sono_event_store_get(ev, i);
      const sono_event_finding_t *f = (const sono_event_finding_t *)h;
      const sono_event_measurement_t *m = (const sono_event_measurement_t *)h;
      if (h->type == SONO_EVENT_MEASUREMENT && strcmp(m->name, "deposit_area_change") == 0)
         printf("    %s measurement at %.2f, %.2f mm: %s\n", when, m->at.x_m * 1e3, m->at.z_m * 1e3, m->label);
      if (h->type == SONO_EVENT_FINDING && strcmp(f->kind, "needling_grid") == 0)
         printf("    %s %s\n", when, f->basis);
      if (h->type != SONO_EVENT_FINDING || strcmp(f->kind, "baseline_comparison") == 0 || !f->region_count)
         continue;
      if (fabs(f->region[0].z_m - c.z) > 3e-3)
         continue; /* far from the true deposit: not printed */
      printf("    %s %s [%s] %s\n", when, f->kind, f->label, f->basis);
   }
}

static int run_case(runner_t *r, const truth_t *t, tally_t *ta, int *any_target, sono_error_t *err)
{
   uint32_t frames = sono_sim_get_case(r->sim)->frames;
   for (uint32_t f = 0; f < frames; ++f) {
      if (runner_frame(r, f, err) < 0)
         return -1;
      check_targets(r, t, ta, any_target);
   }
   add_times(ta, r);
   return 0;
}

/* The true hypoperfused territory: from the occluded segment to the edge of
 * the image downstream. */
static int true_territory(const pair_t *p, const truth_t *t, const sono_grid_t *g, double *a, double *b)
{
   for (int k = 0; k < t->vessel_count; ++k)
      if (t->involved[k]) {
         double lo = g->x0_m, hi = g->x0_m + (g->nx - 1) * g->dx_m;
         int dir = p->after.vessels[k].direction;
         *a = dir > 0 ? t->occ_x0[k] : lo;
         *b = dir > 0 ? hi : t->occ_x1[k];
         return 1;
      }
   return 0;
}

static int run_pair(const char *manifest, const pair_t *p, uint32_t i, tally_t *ta, int verbose, sono_error_t *err)
{
   runner_t r;
   truth_t before, after;
   uint8_t *state = NULL;
   size_t state_size = 0;
   int any = 0, rc = -1;
   if (runner_open(&r, manifest, &p->before, err) < 0 || set(&r, "grid_mode", 1, err) < 0 ||
       set(&r, "grid_x0_m", p->region_x0, err) < 0 || set(&r, "grid_x1_m", p->region_x1, err) < 0)
      goto done;
   snprintf(r.where, sizeof r.where, "pair %u before", i);
   read_truth(r.sim, &before);
   if (run_case(&r, &before, ta, &any, err) < 0)
      goto done;
   if (verbose)
      print_deposits(&r, &before, p->dep, "before");
   double cov = grid_coverage(&r, p->region_x0, p->region_x1, 5e-3);
   ta->coverage_region_min = fmin(ta->coverage_region_min, cov);
   evalkit_rate_add(&ta->coverage_region_ok, cov >= 0.95);
   if (sono_host_instance_save_state(r.inst, &state, &state_size, err) < 0)
      goto done;
   runner_close(&r);

   if (runner_open(&r, manifest, &p->after, err) < 0 || sono_host_instance_load_state(r.inst, state, state_size, err) < 0 ||
       set(&r, "grid_mode", 2, err) < 0)
      goto done;
   snprintf(r.where, sizeof r.where, "pair %u after", i);
   read_truth(r.sim, &after);
   if (run_case(&r, &after, ta, &any, err) < 0)
      goto done;
   if (verbose)
      print_deposits(&r, &after, p->dep, "after");
   double ta0, tb0;
   double tcov = -1;
   if (true_territory(p, &after, &r.frame.grid, &ta0, &tb0)) {
      tcov = grid_coverage(&r, ta0, tb0, 5e-3);
      ta->coverage_territory_min = fmin(ta->coverage_territory_min, tcov);
      evalkit_rate_add(&ta->coverage_territory_ok, tcov >= 0.95);
   }
   int dep = p->dep;
   evalkit_pt_t c_before = evalkit_centroid(before.deposit[dep], before.deposit_n[dep]);
   evalkit_pt_t c_after = evalkit_centroid(after.deposit[dep], after.deposit_n[dep]);
   double true_change = after.deposit_area[dep] / before.deposit_area[dep] - 1.0;
   double true_shift = hypot(c_after.x - c_before.x, c_after.z - c_before.z);
   double measured = NAN;
   if (p->kind == 0) {
      const sono_event_measurement_t *m = find_measurement(&r, "deposit_area_change", c_after);
      /* the deposit measured must be the true one: its centroid inside the true outline */
      if (m && evalkit_point_in_polygon(after.deposit[dep], after.deposit_n[dep], (evalkit_pt_t){m->at.x_m, m->at.z_m})) {
         measured = m->value;
         double e = fabs(m->value - true_change) * 100.0;
         if (ta->area_all_n < 256)
            ta->area_err_all[ta->area_all_n++] = e;
         if (true_change <= -0.5 && p->placement == SONO_SIM_INTRALUMINAL && ta->area_lumen_n < 256)
            ta->area_err_lumen[ta->area_lumen_n++] = e;
         else if (true_change <= -0.5 && ta->area_n < 256)
            ta->area_err[ta->area_n++] = e;
      } else {
         ta->area_missing++;
      }
   } else {
      const sono_event_finding_t *f = find_finding(&r, "migration", c_after);
      const char *d = f ? attribute(f, "distance_mm") : NULL;
      evalkit_pt_t pts[256];
      int np = 0;
      for (uint32_t k = 0; f && k < f->region_count && np < 256; ++k)
         pts[np++] = (evalkit_pt_t){f->region[k].x_m, f->region[k].z_m};
      /* the deposit followed must be the true one: its outline holds the true centroid */
      if (d && np >= 3 && evalkit_point_in_polygon(pts, np, c_after)) {
         measured = atof(d) * 1e-3;
         if (ta->mig_n < 256)
            ta->mig_err[ta->mig_n++] = fabs(measured - true_shift) * 1e3;
         evalkit_rate_add(&ta->mig_detected, f->status == SONO_STATUS_DETECTED);
      } else {
         ta->mig_missing++;
      }
   }
   ta->pairs_with_targets += (uint32_t)any;
   if (verbose)
      printf("pair %3u %-6s %-12s grid %.3f territory %6.3f true %s %+.3f measured %+.3f\n", i,
             p->kind ? "move" : "shrink", sono_sim_placement_name(p->placement), cov, tcov,
             p->kind ? "shift_mm" : "change", p->kind ? true_shift * 1e3 : true_change, p->kind ? measured * 1e3 : measured);
   rc = 0;
done:
   free(state);
   runner_close(&r);
   return rc;
}

/* ---- report -------------------------------------------------------------------------------- */

static double max_of(const double *v, size_t n)
{
   double m = 0;
   for (size_t i = 0; i < n; ++i)
      m = fmax(m, v[i]);
   return m;
}

static double percentile(double *v, size_t n, double q)
{
   if (!n)
      return NAN;
   for (size_t i = 1; i < n; ++i)
      for (size_t j = i; j > 0 && v[j - 1] > v[j]; --j) {
         double x = v[j];
         v[j] = v[j - 1];
         v[j - 1] = x;
      }
   return v[(size_t)fmin((double)n - 1, floor(q * (double)n))];
}

static int check(const char *what, double value, int at_least, double limit, int given)
{
   if (!given)
      return 0;
   int ok = at_least ? value >= limit : value <= limit;
   printf("  %-44s %10.3f %s %-8g %s\n", what, value, at_least ? ">=" : "<=", limit, ok ? "PASS" : "FAIL");
   return !ok;
}

int sono_eval_hyaluronidase(int argc, char **argv)
{
   evalkit_options_t o;
   evalkit_threshold_t th[16];
   int nth = 0;
   if (evalkit_parse(argc, argv, &o, th, 16, &nth) < 0)
      return 2;
   char manifest[1024];
   snprintf(manifest, sizeof manifest, "%s/hyaluronidase.sono.json", o.plugins);
   tally_t *ta = calloc(1, sizeof *ta);
   ta->coverage_region_min = ta->coverage_territory_min = 1.0;
   for (uint32_t i = 0; i < o.n; ++i) {
      pair_t p;
      sono_error_t err;
      if (make_pair(&p, o.seed, i, &err) < 0 || run_pair(manifest, &p, i, ta, o.verbose, &err) < 0) {
         fprintf(stderr, "sono-eval hyaluronidase: pair %u: %s\n", i, err.message);
         ta->failures++;
         continue;
      }
      ta->pairs++;
   }
   char b1[64];
   double area_med = evalkit_median(ta->area_err, ta->area_n), area_max = max_of(ta->area_err, ta->area_n);
   double area_all_med = evalkit_median(ta->area_err_all, ta->area_all_n);
   double mig_med = evalkit_median(ta->mig_err, ta->mig_n), mig_max = max_of(ta->mig_err, ta->mig_n);
   double t_med = percentile(ta->times, ta->time_n, 0.5), t_p95 = percentile(ta->times, ta->time_n, 0.95);
   printf("sono-eval hyaluronidase: %u pairs (seed %llu), %u failed to run\n", ta->pairs, (unsigned long long)o.seed,
          ta->failures);
   printf("  targets inside the true deposit               %s\n", evalkit_rate_text(&ta->target_inside, b1, sizeof b1));
   printf("  targets within 1 mm of a lumen not involved   %u of %u (pairs with targets: %u)\n",
          ta->target_near_lumen, ta->targets, ta->pairs_with_targets);
   printf("  needling grid coverage of the given region    min %.3f, pairs >= 0.95: %s\n", ta->coverage_region_min,
          evalkit_rate_text(&ta->coverage_region_ok, b1, sizeof b1));
   printf("  grid coverage of the true hypoperfused territory (grid on the estimated territory) min %.3f, >= 0.95: %s\n",
          ta->coverage_territory_min, evalkit_rate_text(&ta->coverage_territory_ok, b1, sizeof b1));
   printf("  area change error, shrink >= 50%% (pp)         tissue/perivascular median %.1f, max %.1f (n %zu); "
          "intraluminal median %.1f, max %.1f (n %zu); all shrinks median %.1f (n %zu); not measured %u\n",
          area_med, area_max, ta->area_n, evalkit_median(ta->area_err_lumen, ta->area_lumen_n),
          max_of(ta->area_err_lumen, ta->area_lumen_n), ta->area_lumen_n, area_all_med, ta->area_all_n, ta->area_missing);
   printf("  migration distance error (mm)                 median %.2f, max %.2f (n %zu); detected %s; not "
          "measured %u\n",
          mig_med, mig_max, ta->mig_n, evalkit_rate_text(&ta->mig_detected, b1, sizeof b1), ta->mig_missing);
   printf("  plugin time per frame (ms)                    median %.2f, p95 %.2f (%zu frames)\n", t_med, t_p95,
          ta->time_n);
   int fail = 0;
   fail |= check("targets inside the true deposit", evalkit_rate_value(&ta->target_inside), 1,
                 evalkit_threshold(th, nth, "min-target-inside", 0), evalkit_threshold(th, nth, "min-target-inside", -1) >= 0);
   fail |= check("targets near a lumen not involved", ta->target_near_lumen, 0,
                 evalkit_threshold(th, nth, "max-target-near-lumen", 0),
                 evalkit_threshold(th, nth, "max-target-near-lumen", -1) >= 0);
   fail |= check("grid coverage of the given region (min)", ta->coverage_region_min, 1,
                 evalkit_threshold(th, nth, "min-grid-coverage", 0), evalkit_threshold(th, nth, "min-grid-coverage", -1) >= 0);
   fail |= check("area change error >= 50% shrink, B-mode (max pp)", area_max, 0,
                 evalkit_threshold(th, nth, "max-area-error-pp", 0), evalkit_threshold(th, nth, "max-area-error-pp", -1) >= 0);
   fail |= check("migration distance error (max mm)", mig_max, 0, evalkit_threshold(th, nth, "max-migration-error-mm", 0),
                 evalkit_threshold(th, nth, "max-migration-error-mm", -1) >= 0);
   fail |= check("area pairs not measured", ta->area_missing, 0, evalkit_threshold(th, nth, "max-area-missing", 0),
                 evalkit_threshold(th, nth, "max-area-missing", -1) >= 0);
   fail |= check("migration pairs not measured", ta->mig_missing, 0, evalkit_threshold(th, nth, "max-migration-missing", 0),
                 evalkit_threshold(th, nth, "max-migration-missing", -1) >= 0);
   fail |= check("plugin time per frame (median ms)", t_med, 0, evalkit_threshold(th, nth, "max-median-ms", 0),
                 evalkit_threshold(th, nth, "max-median-ms", -1) >= 0);
   uint32_t failures = ta->failures;
   free(ta);
   return failures ? 2 : fail ? 1 : 0;
}
