/* libsono_sim: physics-based synthetic facial-ultrasound recordings with
 * ground truth (docs/phantom.md; parameter tables of clinical-spec.md §7).
 *
 * A case (sono_sim_case_t) is plain data: acquisition, grid, tissue layers,
 * vessels, filler deposits and artefact injections. sono_sim_create() turns
 * it into a generator: it allocates every buffer, makes the FFTW plans and
 * convolves the static tissue once; sono_sim_generate_frame() then writes
 * one IQ ensemble per call into a caller buffer without allocating.
 *
 * Signal model (baseband IQ demodulated at the centre frequency fc):
 *   - point scatterers on the image grid (tissue) and moving blood particles,
 *     each contributing a*exp(-j*4*pi*fc*z/c) at its exact depth z,
 *     convolved with a Gaussian pulse-echo PSF (FFT, plans made once);
 *   - echo levels in dB relative to fat (fat speckle has RMS amplitude 1);
 *   - round-trip depth attenuation of each layer, then a TGC that undoes the
 *     layered attenuation, so shadows and enhancement are what remains;
 *   - thermal noise, complex Gaussian, white across pixels and ensemble.
 * A scatterer moving toward the probe at axial speed v (decreasing z)
 * advances its phase by +4*pi*fc*v/(c*PRF) per ensemble sample, so the Kasai
 * estimate v = -VN*angle(sum x[n]*conj(x[n+1]))/pi, VN = c*PRF/(4*fc),
 * recovers v with the project's sign (positive = toward the probe).
 *
 * Units: SI (metres, seconds, hertz, m/s); angles in radians.
 * IQ layout: complex64 (interleaved float re, im), index iz + nz*(ix + nx*n),
 * i.e. axes [z, x, ensemble] in order "F", the recording plane layout.
 *
 * Determinism: every random draw is a counter-based hash of (seed, what,
 * index), never of execution order, so a case gives bit-identical output for
 * any thread count. FFTW plans use FFTW_ESTIMATE (no timing-dependent plan
 * choice).
 *
 * Threading: a generator is used by one thread at a time; it may itself use
 * `threads` worker threads inside sono_sim_generate_frame(). Different
 * generators are independent. FFTW planning is serialised internally. */
#ifndef SONO_SIM_PHANTOM_H
#define SONO_SIM_PHANTOM_H

#include <stddef.h>
#include <stdint.h>
#include <sono/sono.h>
#include <sono/sdk/error.h>

#ifdef __cplusplus
extern "C" {
#endif

struct cJSON;

#define SONO_SIM_MAX_VESSELS 4
#define SONO_SIM_MAX_DEPOSITS 8
#define SONO_SIM_MAX_ARTEFACTS 10
#define SONO_SIM_NAME_SIZE 64

/* Filler classes of clinical-spec §7.3; names as in formats.md §2. */
typedef int32_t sono_sim_filler_t;
enum {
   SONO_SIM_HA_FRESH = 0,
   SONO_SIM_HA_INTEGRATED,
   SONO_SIM_CAHA,
   SONO_SIM_CAHA_DILUTED,
   SONO_SIM_PMMA,
   SONO_SIM_SILICONE,
   SONO_SIM_PLLA,
   SONO_SIM_PCL,
   SONO_SIM_COLLAGEN,
   SONO_SIM_PAAG,
   SONO_SIM_FILLER_COUNT
};

typedef int32_t sono_sim_placement_t;
enum { SONO_SIM_TISSUE = 0, SONO_SIM_INTRALUMINAL = 1, SONO_SIM_PERIVASCULAR = 2 };

/* Artefact injections of clinical-spec §7.4. Aliasing is not injected: it
 * follows from the PRF (sono_sim_set_prf_for_nyquist) and is labelled in the
 * ground truth wherever the axial flow speed exceeds VN. */
typedef int32_t sono_sim_artefact_kind_t;
enum {
   SONO_SIM_ART_SHADOW = 0,      /* strong reflector, column -15 dB below, ramped over 0.2 mm */
   SONO_SIM_ART_REVERBERATION,   /* specular plate, copies at lag d with amplitude a^k */
   SONO_SIM_ART_MIRROR,          /* copy of vessel `vessel` below the bone line, -6 dB */
   SONO_SIM_ART_GAIN_HIGH,       /* +15 dB, saturating */
   SONO_SIM_ART_GAIN_LOW,        /* -20 dB */
   SONO_SIM_ART_NEAR_FIELD,      /* static clutter band 0..1 mm in the standoff */
   SONO_SIM_ART_BLOOMING,        /* flow signal spread to 1.5x the lumen of `vessel` */
   SONO_SIM_ART_FLASH,           /* random-phase tissue motion over 30-80% + 0.2 mm shift */
   SONO_SIM_ART_TWINKLING,       /* random-sign column 0.5 x 1.5 mm under deposit `deposit` */
   SONO_SIM_ART_COLOUR_NOISE,    /* 2% random pixels, low power, random phase */
   SONO_SIM_ART_SIDE_LOBE,       /* +30 dB reflector seen through the array's off-axis lobes (lobe_db, lobe_angle_rad) */
   SONO_SIM_ART_KIND_COUNT
};

typedef int32_t sono_sim_downstream_t;
enum { SONO_SIM_DOWNSTREAM_DAMPED = 0, SONO_SIM_DOWNSTREAM_REVERSED = 1 };

/* A vessel: a cylinder along x whose centreline is
 *   z(x) = depth + tan(tilt)*(x - x_center) + sag*(1 - (2(x - x_center)/W)^2)
 * with W the image width. The beam-to-flow angle is pi/2 - |local slope
 * angle|; with tilt 0 and sag 0 the flow has no axial component and colour
 * Doppler sees nothing. Flow runs toward +x when direction > 0. */
typedef struct sono_sim_vessel {
   char id[16];                    /* "v1" */
   char name[48];                  /* "facial artery (nasolabial)" */
   double depth_m;                 /* centreline depth at x_center */
   double x_center_m;
   double diameter_m;              /* inner (lumen) diameter */
   double tilt_rad;                /* centreline slope angle re horizontal */
   double sag_m;                   /* curvature: depth offset at the centre re the ends */
   int32_t direction;              /* +1: flow toward +x; -1: toward -x */
   double psv_m_s;                 /* true peak systolic centreline SPEED */
   double ri;                      /* resistive index of the (upstream) waveform */
   /* Occlusion: set by an intraluminal deposit on this vessel. Upstream of it
    * the waveform uses upstream_ri (>= 0.95; >= 1 means diastolic reversal);
    * downstream it is damped (PSV x downstream_factor, tardus rise > 100 ms)
    * or reversed collateral flow. */
   double upstream_ri;
   sono_sim_downstream_t downstream_mode;
   double downstream_factor;       /* 0.2..0.4 */
} sono_sim_vessel_t;

/* A filler deposit: an ellipse (semi-axes half_width_m along x, half_depth_m
 * along z), a string of `pearls` circles of radius half_depth_m spaced
 * 2.2*radius along x, or (intraluminal) the lumen of `vessel` over
 * x_m +- half_width_m. Perivascular deposits sit beside `vessel` at x_m with
 * a gap of gap_m (< 1 mm) from the lumen wall, above (side < 0) or below. */
typedef struct sono_sim_deposit {
   char id[16];
   sono_sim_filler_t filler;
   sono_sim_placement_t placement;
   int32_t vessel;                 /* index into vessels, -1 for none */
   double x_m, z_m;                /* centre (z ignored when attached to a vessel) */
   double half_width_m, half_depth_m;
   double angle_rad;               /* ellipse rotation */
   int32_t pearls;                 /* 0 = ellipse */
   int32_t side;                   /* perivascular: -1 above the vessel, +1 below */
   double gap_m;                   /* perivascular gap to the wall */
   double age_months;              /* PLLA echo decays from +8 to +2 dB over 6 months */
   double focus_density_per_mm2;   /* foci per mm^2 for focal classes; 0 = class default */
} sono_sim_deposit_t;

typedef struct sono_sim_artefact {
   sono_sim_artefact_kind_t kind;
   int32_t vessel;                 /* MIRROR, BLOOMING */
   int32_t deposit;                /* TWINKLING */
   double x_m, z_m;                /* SHADOW, REVERBERATION: reflector centre */
   double width_m;                 /* reflector width */
   double lag_m;                   /* REVERBERATION spacing */
   double decay;                   /* REVERBERATION a (0.5..0.7) */
   double fraction;                /* FLASH fill fraction (0.3..0.8) */
   uint32_t frame0, frame1;        /* inclusive frame range (FLASH); else all frames */
   /* SIDE_LOBE: the two-way beam pattern has a lobe on each side of every
    * scan line at angle +-lobe_angle_rad (angular FWHM 6 deg). The bright
    * reflector at (x_m, z_m), width_m wide, is then also received by scan
    * lines at lateral distance d around z_m*tan(lobe_angle_rad), at range
    * sqrt(z_m^2 + d^2): an arc deeper than the reflector. lobe_db is the
    * peak of that off-axis echo re the peak of the reflector's main echo
    * (-35..-25 dB for an 18 MHz linear array). */
   double lobe_db;
   double lobe_angle_rad;
} sono_sim_artefact_t;

/* Tissue layers (clinical-spec §7.1), thicknesses in metres. */
typedef struct sono_sim_layers {
   double standoff_m;              /* gel, anechoic */
   double dermis_m;
   double fat_m;
   int32_t septa;                  /* number of oblique fat septa */
   double muscle_m;                /* SMAS / muscle */
   double muscle_tilt_rad;         /* fibre angle reached at the right edge (anisotropy >= 5 deg) */
   double deep_fat_m;
   double bone_depth_m;            /* bone surface; 0 = no bone in view */
   double undulation_m;            /* smooth boundary waviness amplitude */
} sono_sim_layers_t;

typedef struct sono_sim_case {
   char scenario[SONO_SIM_NAME_SIZE];
   char description[160];
   uint64_t seed;
   /* grid and acquisition */
   uint32_t nz, nx, ensemble, frames;
   double dz_m, dx_m, x0_m, z0_m;
   double center_frequency_hz;
   double bandwidth;               /* fractional -6 dB pulse-echo bandwidth */
   double lateral_fwhm_m;          /* pulse-echo beam width */
   double sound_speed_m_s;
   double prf_hz;
   double frame_rate_hz;
   double heart_rate_hz;
   double snr_db;                  /* blood echo power at the primary vessel depth (or 5 mm) over noise power */
   double clutter_speed_m_s;       /* peak axial tissue (breathing/hand) motion */
   int32_t ophthalmic_preset;      /* the scanner preset is ophthalmic (ground truth label) */
   sono_wall_filter_t wall_filter; /* the colour mode's clutter filter, written into the recording as
                                      acquisition.wall_filter (hosts use it by default); NONE: not written */
   uint32_t wall_filter_order;     /* order (poly, dct) or rank (svd) */
   sono_sim_layers_t layers;
   uint32_t vessel_count, deposit_count, artefact_count;
   sono_sim_vessel_t vessels[SONO_SIM_MAX_VESSELS];
   sono_sim_deposit_t deposits[SONO_SIM_MAX_DEPOSITS];
   sono_sim_artefact_t artefacts[SONO_SIM_MAX_ARTEFACTS];
   uint32_t threads;               /* worker threads in generate_frame; 0 or 1 = caller only */
} sono_sim_case_t;

/* ---- case construction -------------------------------------------------- */

/* Defaults: 384 z x 256 x, dz 25 um, dx 50 um, x0 -6.4 mm, 18 MHz, 60%
 * bandwidth, c 1540, PRF 4 kHz, ensemble 16, 10 frames over one 72 bpm
 * cardiac cycle, blood SNR 25 dB, cheek layers, no vessel or deposit. */
void sono_sim_case_default(sono_sim_case_t *c);

/* Named scenario presets (docs/phantom.md). Returns 0, or -1 with `err`
 * naming the scenario and listing the known names. */
int sono_sim_case_preset(sono_sim_case_t *c, const char *scenario, uint64_t seed, sono_error_t *err);
/* Name and one-line summary of preset `i`, or NULL past the end. */
const char *sono_sim_preset_name(size_t i);
const char *sono_sim_preset_summary(size_t i);

/* The parameters of case `index` of the batch drawn from `seed` (the same
 * case that `sono-phantom batch --seed seed` writes as number `index`). */
void sono_sim_batch_case(sono_sim_case_t *c, uint64_t seed, uint32_t index);

/* Sets the PRF so the angle-corrected Nyquist velocity of vessel `v` at its
 * centre equals ratio*PSV (clinical-spec A5: c*PRF/(4 fc cos(theta))).
 * ratio 0.5 gives the aliasing case of §7.4. */
void sono_sim_set_prf_for_nyquist(sono_sim_case_t *c, uint32_t v, double ratio);

/* Appends a vessel/deposit/artefact; returns its index or -1 when full. */
int sono_sim_add_vessel(sono_sim_case_t *c, const sono_sim_vessel_t *v);
int sono_sim_add_deposit(sono_sim_case_t *c, const sono_sim_deposit_t *d);
int sono_sim_add_artefact(sono_sim_case_t *c, const sono_sim_artefact_t *a);

/* Checks ranges and cross references; -1 with `err` naming the field. */
int sono_sim_case_validate(const sono_sim_case_t *c, sono_error_t *err);

/* Axial Nyquist velocity c*PRF/(4*fc), m/s. */
double sono_sim_nyquist(const sono_sim_case_t *c);

/* Names of the filler classes and placements as written in ground truth. */
const char *sono_sim_filler_name(sono_sim_filler_t f);
int sono_sim_filler_from_name(const char *name);
const char *sono_sim_placement_name(sono_sim_placement_t p);

/* ---- generation ---------------------------------------------------------- */

typedef struct sono_sim sono_sim_t;

/* Validates the case, allocates all buffers, plans the FFTs and builds the
 * static tissue. The case is copied. NULL with `err` on failure. */
sono_sim_t *sono_sim_create(const sono_sim_case_t *c, sono_error_t *err);
void sono_sim_destroy(sono_sim_t *sim);
const sono_sim_case_t *sono_sim_get_case(const sono_sim_t *sim);

/* Writes frame `frame` (< frames) into `iq`: nz*nx*ensemble complex64
 * values (2 floats each), layout iz + nz*(ix + nx*n). No allocation.
 * Returns 0, or -1 with `err` when the frame index is out of range. */
int sono_sim_generate_frame(sono_sim_t *sim, uint32_t frame, float *iq, sono_error_t *err);

/* Grid and acquisition of the case as ABI metadata (recording info). */
void sono_sim_grid(const sono_sim_t *sim, sono_grid_t *grid);
void sono_sim_acquisition(const sono_sim_t *sim, sono_acquisition_t *acq);

/* True axial velocity (m/s, + toward the probe) of the blood at (x, z) in
 * frame `frame`, and whether (x, z) is inside a flowing lumen (returns 1) or
 * not (returns 0, *v = 0). For tests and evaluation. */
int sono_sim_true_velocity(const sono_sim_t *sim, uint32_t frame, double x_m, double z_m, double *v);

/* Centreline speed of vessel `v` at frame `frame` upstream of any occlusion. */
double sono_sim_vessel_speed(const sono_sim_t *sim, uint32_t v, uint32_t frame);

/* Ground truth object of formats.md §2 (new cJSON tree, caller frees with
 * cJSON_Delete) and as a string (caller frees with free()). */
struct cJSON *sono_sim_ground_truth(const sono_sim_t *sim);
char *sono_sim_ground_truth_json(const sono_sim_t *sim);

/* "detected", "not_detected" or "indeterminate" for the case (rule V9). */
const char *sono_sim_expected_intravascular(const sono_sim_case_t *c);

/* Generates every frame and writes `<dir>/<stem>.json` with its data files
 * through the SDK recording writer, ground truth included. */
int sono_sim_write_recording(const sono_sim_case_t *c, const char *dir, const char *stem, sono_error_t *err);
/* The same with an existing generator (frames are regenerated from 0). */
int sono_sim_write(sono_sim_t *sim, const char *dir, const char *stem, sono_error_t *err);

#ifdef __cplusplus
}
#endif

#endif
