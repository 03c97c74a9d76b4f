/* org.sonoplug.artefacts: B-mode and colour-Doppler artefact detection
 * (clinical-spec §4; docs/clinical.md "Artefact detection").
 *
 * Each frame: the B-mode plane becomes display dB with smoothed copies and a
 * row reference level (art_prep.c); the detectors (art_bmode.c,
 * art_colour.c, art_gain.c) append findings to a per-frame list; the list is
 * pushed as findings, hatched artefact overlays labelled with their kind,
 * and the frame-quality measurements (art_quality.c).
 *
 * Real-time rule: process() allocates nothing, takes no lock and makes no
 * system call; every buffer is made in activate() for the format's largest
 * grid. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "art.h"

#define MM 1e-3

const sono_kit_param_t art_params[P_COUNT] = {
   {"bmode_dynamic_range_db", "B-mode display dynamic range", "dB", SONO_PARAM_FLOAT, 10, 120, 40, NULL},
   {"shadow_drop_db", "Shadow: level below the row reference", "dB", SONO_PARAM_FLOAT, 1, 40, 6, NULL},
   {"shadow_min_depth_m", "Shadow: sustained depth", "m", SONO_PARAM_FLOAT, 0.1 * MM, 20 * MM, 1.0 * MM, NULL},
   {"shadow_min_width_m", "Shadow: minimum width", "m", SONO_PARAM_FLOAT, 0.05 * MM, 10 * MM, 0.3 * MM, NULL},
   {"reflector_db", "Reflector: level above the row reference", "dB", SONO_PARAM_FLOAT, 2, 40, 10, NULL},
   {"enhancement_rise_db", "Enhancement: level above the row reference", "dB", SONO_PARAM_FLOAT, 1, 30, 2, NULL},
   {"enhancement_min_depth_m", "Enhancement: sustained depth", "m", SONO_PARAM_FLOAT, 0.1 * MM, 20 * MM,
    1.0 * MM, NULL},
   {"reverb_min_copies", "Reverberation: copies after the reflector", "1", SONO_PARAM_INT, 1, 10, 3, NULL},
   {"reverb_peak_db", "Reverberation: copy level above the row reference", "dB", SONO_PARAM_FLOAT, 1, 30, 4,
    NULL},
   {"comet_max_lag_m", "Comet tail: largest echo spacing", "m", SONO_PARAM_FLOAT, 0.02 * MM, 2 * MM, 0.3 * MM,
    NULL},
   {"mirror_ncc", "Mirror: normalised cross-correlation", "1", SONO_PARAM_FLOAT, 0.1, 1, 0.6, NULL},
   {"anisotropy_drop_db", "Anisotropy: fall along a layer", "dB", SONO_PARAM_FLOAT, 1, 30, 6, NULL},
   {"anisotropy_striation_db", "Anisotropy: fibre striation of the bright end", "dB", SONO_PARAM_FLOAT, 0, 20, 3,
    NULL},
   {"anisotropy_plateau_m", "Anisotropy: shortest dark plateau seen inside the field", "m", SONO_PARAM_FLOAT, 0.0002,
    0.005, 0.001, NULL},
   {"gain_saturated_fraction", "Gain too high: saturated pixels", "1", SONO_PARAM_FLOAT, 0.001, 0.5, 0.02, NULL},
   {"gain_low_dbfs", "Gain too low: median |IQ| below", "dB", SONO_PARAM_FLOAT, -120, 0, -42, NULL},
   {"gain_high_dbfs", "Gain too high: median |IQ| above", "dB", SONO_PARAM_FLOAT, -120, 0, -20, NULL},
   {"iq_full_scale", "|IQ| at receive saturation", "1", SONO_PARAM_FLOAT, 1e-9, 1e12, 31.6227766, NULL},
   {"near_field_db", "Near-field clutter: standoff level above the floor", "dB", SONO_PARAM_FLOAT, 1, 40, 6, NULL},
   {"alias_fraction", "Aliasing: neighbour speeds above this fraction of VN", "1", SONO_PARAM_FLOAT, 0.3, 0.99,
    0.7, NULL},
   {"alias_min_pairs", "Aliasing: wrapped neighbour pairs", "1", SONO_PARAM_INT, 1, 10000, 6, NULL},
   {"bloom_ratio", "Blooming: colour over B-mode lumen width", "1", SONO_PARAM_FLOAT, 1.0, 5.0, 1.4, NULL},
   {"flash_fill", "Flash: colour fill of the echo-bearing tissue", "1", SONO_PARAM_FLOAT, 0.05, 1, 0.15, NULL},
   {"flash_max_frames", "Flash: longest run of filled frames", "1", SONO_PARAM_INT, 1, 10, 3, NULL},
   {"twinkle_variance", "Twinkling: variance as a fraction of VN^2", "1", SONO_PARAM_FLOAT, 0.01, 2, 0.12, NULL},
   {"noise_fraction", "Colour noise: isolated colour pixels", "1", SONO_PARAM_FLOAT, 1e-4, 0.5, 0.004, NULL},
   {"colour_snr_db", "Colour shown above the Doppler noise floor by", "dB", SONO_PARAM_FLOAT, 0, 60, 22, NULL},
   {"work_range_db", "Working B-mode image: dynamic range from IQ", "dB", SONO_PARAM_FLOAT, 20, 120, 70, NULL},
   {"tissue_level_db", "Working B-mode image: lowest tissue median above its floor", "dB", SONO_PARAM_FLOAT, 0, 60,
    12, NULL},
   {"alias_area_fraction", "Aliasing: opposite-colour core as a fraction of its colour region", "1",
    SONO_PARAM_FLOAT, 0.0, 1.0, 0.1, NULL},
   {"bloom_over_fraction", "Blooming: colour over tissue beside the lumen", "1", SONO_PARAM_FLOAT, 0.0, 1.0, 0.3,
    NULL},
   {"bloom_over_alone", "Blooming: colour over tissue that suffices while the colour spans the lumen", "1",
    SONO_PARAM_FLOAT, 0.0, 1.0, 0.3, NULL},
   {"side_lobe_reflector_db", "Side lobe: reflector peak above the row reference", "dB", SONO_PARAM_FLOAT, 10, 60,
    26, NULL},
   {"side_lobe_min_deg", "Side lobe: smallest lobe angle of the probe", "deg", SONO_PARAM_FLOAT, 1, 80, 18, NULL},
   {"side_lobe_max_deg", "Side lobe: largest lobe angle of the probe", "deg", SONO_PARAM_FLOAT, 1, 80, 37, NULL},
   {"comet_min_tails", "Comet tail: linked tails that make one deposit's field", "1", SONO_PARAM_INT, 2, 100, 8,
    NULL},
   {"comet_link_m", "Comet tail: tails of one field lie within this of a neighbour", "m", SONO_PARAM_FLOAT,
    0.2 * MM, 5 * MM, 1.0 * MM, NULL},
   {"alias_min_axis_slope", "Aliasing: smallest axial rise per lateral distance of the vessel axis (0.058: 3.3 deg)",
    "1", SONO_PARAM_FLOAT, 0.0, 1.0, 0.058, NULL},
   {"bloom_excess_m", "Blooming: colour thicker than its B-mode lumen by at least", "m", SONO_PARAM_FLOAT, 0.0,
    3 * MM, 0.33e-3, NULL},
   {"colour_grow_db", "Colour grows from its seeds into neighbours weaker by up to", "dB", SONO_PARAM_FLOAT, 0, 30,
    10, NULL},
   {"bloom_over_small", "Blooming: colour over tissue that suffices without the thickness excess", "1",
    SONO_PARAM_FLOAT, 0.0, 1.0, 0.36, NULL},
   {"reverb_plate_copies", "Reverberation: copies of a plate seen in its own columns", "1", SONO_PARAM_INT, 1, 6, 2,
    NULL},
   {"reverb_plate_db", "Reverberation: plate level above the tissue beside it", "dB", SONO_PARAM_FLOAT, 2, 40, 12,
    NULL},
   {"alias_fast_share", "Aliasing: share of a wrapping segment's colour at or above half the Nyquist velocity", "1",
    SONO_PARAM_FLOAT, 0.0, 1.0, 0.40, NULL},
   {"comet_min_narrow", "Comet tail: linked narrow tails (3 copies, the first 6 dB over the tissue beside) that make "
    "one deposit's field", "1", SONO_PARAM_INT, 2, 100, 3, NULL},
   {"alias_cine_s", "Aliasing: the wrapping segments seen over this much of the cine make one region (0: this frame "
    "only)", "s", SONO_PARAM_FLOAT, 0.0, 2.0, 1.0, NULL},
   {"bloom_small_symmetry", "Blooming: colour over tissue on both sides of the lumen (smaller over larger side) for "
    "bloom_over_small", "1", SONO_PARAM_FLOAT, 0.0, 1.0, 0.8, NULL},
   {"sil_dark_share", "Reverberation: share of the columns dark for the band under a silicone deposit to be the frame's "
    "dark bottom band", "1", SONO_PARAM_FLOAT, 0.5, 1.0, 0.8, NULL},
   {"sl_clip_db", "Side lobe: a source reflector reaching within this of the display top is taken as clipped", "dB",
    SONO_PARAM_FLOAT, 0.0, 6.0, 1.0, NULL},
   {"sl_headroom_db", "Side lobe: smallest headroom of a row under the display top for a clipped source (speckle "
    "maxima reach about 12 dB over the row)", "dB", SONO_PARAM_FLOAT, 5.0, 20.0, 15.0, NULL},
   {"sl_tissue_db", "Side lobe: a clipped source's row lies at most this over the frame's median level", "dB",
    SONO_PARAM_FLOAT, 0.0, 20.0, 3.0, NULL},
   {"sl_clip_min_w_m", "Side lobe: narrowest clipped source segment (a clipped speckle grain spans one beam width)",
    "m", SONO_PARAM_FLOAT, 0.1e-3, 2e-3, 0.3e-3, NULL},
   {"alias_gap_m", "Aliasing: wrapping stretches of colour further apart than this across the frame are separate "
    "findings (a deposit's shadow cuts one wrapping stretch over less)", "m", SONO_PARAM_FLOAT, 0.5e-3, 20e-3, 6e-3, NULL},
   {"anisotropy_fibre_deg",
    "Anisotropy: fibre tilt from the beam's normal at the layer's dark end (slope along which its stripes hold best)",
    "deg", SONO_PARAM_FLOAT, 2.0, 30.0, 7.0, NULL},
   {"comet_satellite_tails", "Comet tail: tails of a smaller group that a field within twice comet_link_m takes in "
    "(the pieces of one slender deposit)", "1", SONO_PARAM_INT, 2, 100, 3, NULL},
   {"comet_lumen_m", "Comet tail: height of the anechoic band right above a focus that makes it a lumen's far wall, "
    "not a particle", "m", SONO_PARAM_FLOAT, 0.2e-3, 2e-3, 0.5e-3, NULL},
   {"comet_lumen_db", "Comet tail: depth of that band under the row reference (blood)", "dB", SONO_PARAM_FLOAT, 3.0,
    30.0, 10.0, NULL},
   {"anisotropy_bright_deg",
    "Anisotropy: largest fibre tilt from the beam's normal at the layer's bright end (the fibres face the beam where "
    "the layer is bright)",
    "deg", SONO_PARAM_FLOAT, 0.0, 30.0, 6.0, NULL},
   {"alias_follow_share", "Aliasing: share of a core under alias_area_fraction (at least half of it) lying on the "
    "previous frame's aliasing region for the wrap to continue there (1.01: never)", "1", SONO_PARAM_FLOAT, 0.0, 1.01,
    0.5, NULL},
   {"gain_row_quantile",
    "Gain too low: quantile of the per-row median |IQ| read as the tissue level, which must also lie under "
    "gain_low_dbfs (a dark structure filling rows lowers the rows it fills, not the brighter ones)",
    "1", SONO_PARAM_FLOAT, 0.5, 1.0, 0.75, NULL},
   {"twinkle_flash_variance", "Twinkling: share of twinkle_variance that suffices for a column that twinkled on the "
    "previous frame while a flash covers it (the flash's coherent echo dilutes the phase spread)", "1",
    SONO_PARAM_FLOAT, 0.1, 1.0, 0.5, NULL},
   {"twinkle_flash_flips", "Twinkling: sign changes of that column as a multiple of the flash's own share of sign "
    "changes between neighbours", "1", SONO_PARAM_FLOAT, 1.0, 10.0, 2.0, NULL},
   {"shadow_partial_db", "Shadow (partial): mean level of the column from under the reflector to depth, below the "
    "row reference, in both halves", "dB", SONO_PARAM_FLOAT, 1.0, 20.0, 3.0, NULL},
   {"shadow_lumen_db", "Shadow: rows whose reference lies within this of the display floor are anechoic across the "
    "frame (a lumen crossing it); a shadow runs on through them", "dB", SONO_PARAM_FLOAT, 0.0, 10.0, 3.0, NULL},
   {"sil_join_m", "Reverberation: dirty-shadow stretches under echogenic deposits this close across are one deposit "
    "(a shadow cast from above hides its middle)", "m", SONO_PARAM_FLOAT, 0.0, 10e-3, 3e-3, NULL},
   {"sil_shadow_db", "Reverberation: the band 1.5-2.5 mm under an echogenic deposit lies at least this far under the "
    "tissue beside it (the full shadow of silicone oil; diluted CaHA's partial shadow is weaker)", "dB",
    SONO_PARAM_FLOAT, 0.0, 20.0, 12.0, NULL},
   {"sil_floor_db", "Reverberation: ... or within this of the display floor (a full shadow limited by the floor where "
    "the tissue beside it is dim)", "dB", SONO_PARAM_FLOAT, 0.0, 10.0, 3.0, NULL},
   {"enhancement_flank_m", "Enhancement: gap between the anechoic region's side and the tissue beside it read as the "
    "reference (the structure's blurred edge, and its enhanced column, reach past the anechoic region)", "m",
    SONO_PARAM_FLOAT, 0.0, 3e-3, 0.5e-3, NULL},
   {"enhancement_min_band_m", "Enhancement: shortest band under the anechoic region, to the bottom of the image, "
    "that is measured", "m", SONO_PARAM_FLOAT, 0.25e-3, 5e-3, 0.5e-3, NULL},
   {"bone_min_seen", "Bone line: share of the image width over which the line must be seen when the shadow of a "
    "structure above it hides it elsewhere (dark from the bottom up past the line, between seen stretches)", "1",
    SONO_PARAM_FLOAT, 0.0, 1.0, 0.3, NULL},
   {"anisotropy_region_share", "Anisotropy: share of the fitted dark plateau, next to its knee, left out of the "
    "reported region (the least-squares knee falls before the loss has saturated: the last of the ramp is within the "
    "speckle's swings of the layer's level)", "1", SONO_PARAM_FLOAT, 0.0, 0.9, 0.33, NULL},
   {"anisotropy_gap_m", "Anisotropy: shortest stretch without a level (a shadow or lumen hiding the layer), starting "
    "next to the fitted knee, past which the dark plateau is taken (the fit cannot see the ramp inside it); 0: never",
    "m", SONO_PARAM_FLOAT, 0.0, 5e-3, 1.0e-3, NULL},
   {"alias_peak_share", "Aliasing: the opposite-colour core's share of itself plus the other colour at or above "
    "alias_fraction x VN in its wrapping columns, for a core under alias_area_fraction (at least half of it) to count "
    "as a wrap on its own (1.01: never)", "1", SONO_PARAM_FLOAT, 0.0, 1.01, 0.45, NULL},
};

static art_t *self_of(const sono_plugin_t *p) { return (art_t *)p->plugin_data; }

static const sono_plugin_descriptor_t descriptor = {
   SONO_ABI_VERSION,
   "org.sonoplug.artefacts",
   "Artefact detection (B-mode and colour Doppler)",
   "sonoplug",
   "1.0.0",
   "Flags B-mode and colour-Doppler artefacts with their region, basis and advice, and scores frame quality.",
   SONO_PLANE_BIT(SONO_PLANE_BMODE) | SONO_PLANE_BIT(SONO_PLANE_VELOCITY) | SONO_PLANE_BIT(SONO_PLANE_POWER) |
      SONO_PLANE_BIT(SONO_PLANE_VARIANCE) | SONO_PLANE_BIT(SONO_PLANE_IQ),
   SONO_CONCURRENCY_INSTANCE_SAFE,
   SONO_DETERMINISM_BIT_EXACT,
   0,
};

/* ---- lifecycle ------------------------------------------------------------ */

static bool art_init(const sono_plugin_t *p)
{
   sono_kit_params_defaults(art_params, P_COUNT, self_of(p)->p);
   return true;
}

static void free_buffers(art_t *a)
{
   SONO_KIT_FREE(a->bm), SONO_KIT_FREE(a->sm), SONO_KIT_FREE(a->lat), SONO_KIT_FREE(a->wide);
   SONO_KIT_FREE(a->prev_bm), SONO_KIT_FREE(a->prev_nf), SONO_KIT_FREE(a->rowref), SONO_KIT_FREE(a->tmp);
   SONO_KIT_FREE(a->mask), SONO_KIT_FREE(a->mask2), SONO_KIT_FREE(a->labels), SONO_KIT_FREE(a->stack);
   SONO_KIT_FREE(a->col), SONO_KIT_FREE(a->colz), SONO_KIT_FREE(a->colv), SONO_KIT_FREE(a->vel);
   SONO_KIT_FREE(a->pow_db), SONO_KIT_FREE(a->var), SONO_KIT_FREE(a->cmask), SONO_KIT_FREE(a->aflags);
   SONO_KIT_FREE(a->runs), SONO_KIT_FREE(a->run_comps), SONO_KIT_FREE(a->alias_seen);
   a->cap = 0;
}

static void art_destroy(const sono_plugin_t *p)
{
   free_buffers(self_of(p));
   free(self_of(p));
}

static sono_status_t art_activate(const sono_plugin_t *p, const sono_frame_format_t *fmt)
{
   art_t *a = self_of(p);
   /* every geometry is accepted: frames too small to hold an artefact are
    * passed without findings (process) */
   if (!(fmt->planes_available & SONO_PLANE_BIT(SONO_PLANE_BMODE)) || fmt->max_nx < 1 || fmt->max_nz < 1)
      return SONO_ERROR_UNSUPPORTED;
   free_buffers(a);
   size_t n = (size_t)fmt->max_nx * fmt->max_nz, nz = fmt->max_nz, nx = fmt->max_nx;
   a->bm = malloc(n * sizeof(float));
   a->sm = malloc(n * sizeof(float));
   a->lat = malloc(n * sizeof(float));
   a->wide = malloc(n * sizeof(float));
   a->prev_bm = malloc(n * sizeof(float));
   a->tmp = malloc(n * sizeof(float));
   a->vel = malloc(n * sizeof(float));
   a->pow_db = malloc(n * sizeof(float));
   a->var = malloc(n * sizeof(float));
   a->mask = malloc(n);
   a->mask2 = malloc(n);
   a->cmask = malloc(n);
   a->aflags = malloc(n);
   a->labels = malloc(n * sizeof(int32_t));
   a->stack = malloc(2 * (n + 8) * sizeof(int32_t)); /* (iz, ix) pairs */
   size_t max_runs = nx * (nz / 2 + 1); /* a run and the gap after it take two rows */
   a->runs = malloc(max_runs * sizeof(art_run_t));
   a->run_comps = malloc(max_runs * sizeof(art_comp_t));
   a->rowref = malloc(nz * sizeof(float));
   a->prev_nf = malloc(nx * sizeof(float));
   a->col = malloc((nz > nx ? nz : nx) * sizeof(float) * 4);
   a->colz = malloc((nx + nz + 4) * sizeof(int32_t));
   a->colv = malloc((nx + nz + 4) * sizeof(float) * 2);
   a->alias_seen = calloc(n, sizeof(uint32_t));
   if (!a->bm || !a->sm || !a->lat || !a->wide || !a->prev_bm || !a->tmp || !a->vel || !a->pow_db || !a->var || !a->mask ||
       !a->mask2 || !a->cmask || !a->aflags || !a->labels || !a->stack || !a->rowref || !a->prev_nf || !a->col ||
       !a->colz || !a->colv || !a->runs || !a->run_comps || !a->alias_seen) {
      free_buffers(a);
      return SONO_ERROR;
   }
   a->cap = n;
   a->have_prev = 0;
   a->nf_valid = 0;
   a->fill_run = 0;
   a->twinkle_seen = 0;
   a->twinkle_held = 0;
   a->last_prf = 0;
   a->cine_valid = 0;
   a->cine_frame = 0;
   return SONO_OK;
}

static void art_deactivate(const sono_plugin_t *p) { free_buffers(self_of(p)); }

/* ---- output ----------------------------------------------------------------- */

static void push_finding(const art_finding_t *f, const sono_output_t *out)
{
   sono_event_finding_t e;
   sono_kit_finding_init(&e, art_kind_name(f->kind), SONO_STATUS_DETECTED);
   e.confidence = f->confidence;
   e.region = f->npoly ? f->poly : NULL;
   e.region_count = f->npoly;
   e.label = f->label;
   e.basis = f->basis;
   e.advice = f->advice[0] ? f->advice : NULL;
   e.caveat = "Automated artefact flag on a single frame; review recommended.";
   sono_attribute_t attr = {f->attr_key, f->attr_value};
   if (f->attr_key[0]) {
      e.attributes = &attr;
      e.attribute_count = 1;
   }
   sono_kit_push(out, &e);
   if (!f->npoly)
      return;
   sono_event_overlay_t o;
   sono_kit_overlay_init(&o, SONO_SHAPE_POLYGON, SONO_ROLE_ARTEFACT, f->poly, f->npoly);
   o.label = art_kind_short(f->kind);
   sono_kit_push(out, &o);
}

static void push_quality(art_t *a, const sono_output_t *out)
{
   sono_point_t at = {a->x0 + 0.02 * a->nx * a->dx, a->z0 + 0.03 * a->nz * a->dz};
   const struct {
      const char *name;
      double v;
   } m[] = {{"frame_quality", 0.5 * (a->q_bmode + a->q_colour) < a->q_gain ? 0.5 * (a->q_bmode + a->q_colour)
                                                                            : a->q_gain},
            {"frame_quality_bmode", a->q_bmode},
            {"frame_quality_colour", a->q_colour},
            {"frame_quality_gain", a->q_gain}};
   for (size_t i = 0; i < sizeof m / sizeof m[0]; ++i) {
      sono_event_measurement_t e;
      sono_kit_measurement_init(&e, m[i].name, m[i].v, "1", at);
      e.label = i == 0 ? a->qtext : NULL;
      sono_kit_push(out, &e);
   }
   sono_event_overlay_t o;
   sono_kit_overlay_init(&o, SONO_SHAPE_LABEL, SONO_ROLE_ANNOTATION, &at, 1);
   o.label = a->qtext;
   sono_kit_push(out, &o);
}

/* ---- process ------------------------------------------------------------------- */

static void set_grid(art_t *a, const sono_frame_t *f)
{
   a->nz = (int)f->grid.nz;
   a->nx = (int)f->grid.nx;
   a->npix = (size_t)a->nz * (size_t)a->nx;
   a->dz = f->grid.dz_m;
   a->dx = f->grid.dx_m;
   a->x0 = f->grid.x0_m;
   a->z0 = f->grid.z0_m;
}

static sono_status_t art_process(const sono_plugin_t *p, const sono_frame_t *frame, const sono_output_t *out)
{
   art_t *a = self_of(p);
   const sono_plane_t *b = sono_frame_plane(frame, SONO_PLANE_BMODE);
   if (!b || (size_t)frame->grid.nx * frame->grid.nz > a->cap)
      return SONO_ERROR;
   if (frame->grid.nx < ART_MIN_GRID || frame->grid.nz < ART_MIN_GRID) {
      a->have_prev = 0; /* too small to assess: no finding, no comparison with the next frame */
      a->fill_run = 0;
      return SONO_OK;
   }
   if (a->have_prev && (a->nz != (int)frame->grid.nz || a->nx != (int)frame->grid.nx ||
                        frame->sequence != a->last_sequence + 1))
      a->have_prev = 0; /* a gap or a new geometry: no frame-to-frame comparison */
   set_grid(a, frame);
   a->nfound = 0;
   if (art_prepare_bmode(a, frame, b))
      return SONO_ERROR;
   art_prepare_colour(a, frame);

   art_detect_gain(a, frame);
   art_detect_near_field(a);
   art_find_bone(a);
   art_detect_reverberation(a);
   art_detect_shadow_enhancement(a);
   art_detect_mirror(a);
   art_detect_anisotropy(a);
   art_detect_side_lobe(a);
   art_detect_colour(a, frame);
   art_quality(a);

   for (int i = 0; i < a->nfound; ++i)
      push_finding(&a->found[i], out);
   push_quality(a, out);

   memcpy(a->prev_bm, a->bm, sizeof(float) * a->npix);
   a->have_prev = 1;
   a->last_sequence = frame->sequence;
   return SONO_OK;
}

/* ---- sono.params/1 ---------------------------------------------------------- */

static double *values_of(const sono_plugin_t *p) { return self_of(p)->p; }

SONO_KIT_DEFINE_PARAMS(params_ext, art_params, P_COUNT, values_of);

/* ---- sono.state/1: the parameter values ------------------------------------- */

#define ART_STATE_MAGIC 0x41525431u /* "ART1" */
/* The blob is the parameter table in order: a new or removed parameter
 * changes its layout, so it bumps the version and an older blob is refused
 * as a whole rather than read into the wrong parameters (4: side-lobe
 * reflector level and angle band; 5: comet field, aliasing axis, blooming
 * excess and colour growth; 6: blooming over-tissue share without the
 * excess; 7: reverberation plate copies and level; 8: aliasing fast share; 9: narrow comet tails;
 * 10: aliasing cine window; 11: anisotropy dark plateau; 12: blooming spill
 * symmetry; 13: silicone dark band share and clipped side-lobe sources; 14: aliasing gap between
 * separate findings; 15: anisotropy fibre tilt; 16: comet satellites and lumen band; 17: anisotropy
 * bright-end fibre tilt; 18: aliasing continuing on the previous frame's region; 19: aliasing steady
 * mosaic; 20: those two removed again; 26: dirty-shadow stretches joined across; 27: dirty-shadow
 * shadow level and display floor; 28: enhancement reference flank gap and shortest band; 29: comet short-lag small group;
 * 30: bone line hidden under another shadow; 31: comet_short_lag_m removed again, its rule not landed;
 * 33: aliasing of near-perpendicular vessels that pulses with the cycle; 34: anisotropy gap past the knee;
 * 35: the two of 33 removed again, the aliasing peak share added; 36: anisotropy partial loss share and
 * fibre tilt; 37: those two removed again, their rule not landed). */
#define ART_STATE_VERSION 37u

static bool state_save(const sono_plugin_t *p, const sono_ostream_t *s)
{
   return sono_kit_params_state_save(s, ART_STATE_MAGIC, ART_STATE_VERSION, self_of(p)->p, P_COUNT);
}

/* Refused bytes change nothing: the kit validates a scratch copy first. */
static bool state_load(const sono_plugin_t *p, const sono_istream_t *s)
{
   return sono_kit_params_state_load(s, ART_STATE_MAGIC, ART_STATE_VERSION, art_params, P_COUNT, self_of(p)->p);
}

static const sono_plugin_state_t state_ext = {state_save, state_load};

static const void *art_get_extension(const sono_plugin_t *p, const char *id)
{
   (void)p;
   return sono_kit_extension(id, &params_ext, &state_ext);
}

static const sono_plugin_t *art_create(const sono_host_t *host)
{
   art_t *a = calloc(1, sizeof *a);
   if (!a)
      return NULL;
   a->host = host;
   a->plugin = (sono_plugin_t){&descriptor, a, art_init, art_destroy, art_activate, art_deactivate, art_process,
                               art_get_extension};
   return &a->plugin;
}

SONO_KIT_DEFINE_ENTRY(descriptor, art_create);
