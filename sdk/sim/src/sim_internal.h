/* Internal state of the phantom generator, shared by the sim_*.c files. */
#ifndef SONO_SIM_INTERNAL_H
#define SONO_SIM_INTERNAL_H

#include <complex.h>
#include <fftw3.h>
#include <math.h>
#include <stdint.h>

#include "sono/sim/phantom.h"

#define SIM_PI 3.14159265358979323846
#define SIM_DB(x) pow(10.0, (x) / 20.0) /* dB to amplitude */

/* ---- counter-based random numbers ----------------------------------------
 * Every draw is a pure function of (seed, stream, indices), so results never
 * depend on thread count or evaluation order. */
enum {
   RNG_TISSUE = 1, RNG_LAYERS, RNG_SEPTA, RNG_DEPOSIT, RNG_FOCI, RNG_PARTICLES,
   RNG_NOISE, RNG_TWINKLE, RNG_COLOUR_NOISE, RNG_FLASH, RNG_TEXTURE, RNG_BATCH, RNG_PRESET,
   RNG_BATCH_SIDE_LOBE, /* appended: earlier streams keep their numbers, so earlier draws do not change */
   RNG_BATCH_NEAR_FIELD
};

static inline uint64_t sim_mix(uint64_t x)
{
   x += 0x9E3779B97F4A7C15ull;
   x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
   x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
   return x ^ (x >> 31);
}

static inline uint64_t sim_hash(uint64_t seed, uint32_t stream, uint64_t a, uint64_t b)
{
   return sim_mix(seed ^ sim_mix(((uint64_t)stream << 48) ^ sim_mix(a ^ sim_mix(b + 0x632BE59BD9B4E019ull))));
}

/* Uniform in [0, 1) from 53 bits. */
static inline double sim_u01(uint64_t h) { return (double)(h >> 11) * (1.0 / 9007199254740992.0); }

/* Approximately standard normal: sum of four 16-bit uniforms (Irwin-Hall),
 * variance-normalised. Cheap enough for per-sample thermal noise. */
static inline float sim_gauss16(uint64_t h)
{
   float s = (float)(h & 0xFFFF) + (float)((h >> 16) & 0xFFFF) + (float)((h >> 32) & 0xFFFF) + (float)(h >> 48);
   return (s * (1.0f / 65536.0f) - 2.0f) * 1.7320508f;
}

/* Sequential generator for setup-time draws (one per purpose, seeded by hash). */
typedef struct { uint64_t state; } sim_rng_t;
static inline void sim_rng_init(sim_rng_t *r, uint64_t seed, uint32_t stream, uint64_t index)
{
   r->state = sim_hash(seed, stream, index, 0);
}
static inline double sim_rng_u01(sim_rng_t *r) { r->state += 0x9E3779B97F4A7C15ull; return sim_u01(sim_mix(r->state)); }
static inline double sim_rng_range(sim_rng_t *r, double lo, double hi) { return lo + (hi - lo) * sim_rng_u01(r); }
double sim_rng_normal(sim_rng_t *r);

/* Smooth random field in [-1, 1]: bilinear value noise with lattice `cell_m`. */
double sim_value_noise(uint64_t seed, uint32_t stream, double x, double z, double cell_m);

/* ---- vessels -------------------------------------------------------------- */
typedef struct sim_vessel_rt {
   int n;                 /* centreline samples, uniform in arclength */
   double ds;
   double *cx, *cz;       /* positions */
   double *tx, *tz;       /* unit tangent toward increasing x */
   double length;
   double radius;
   double bloom_radius;   /* particles out to here (blooming), else radius */
   int occluded;
   double occ_s0, occ_s1; /* occluded arclength range */
   int mirror;            /* mirror copy below the bone line */
   size_t particles;      /* per frame */
   double particle_amp;   /* RMS amplitude per particle */
} sim_vessel_rt_t;

typedef struct sim_particle {
   float s, r;            /* arclength, signed offset along the downward normal */
   float u;               /* speed along +s (m/s), fixed within a frame */
   float re, im;          /* complex amplitude */
   int16_t vessel;
   int16_t flags;         /* 1: mirrored copy wanted */
} sim_particle_t;

/* ---- the generator ----------------------------------------------------------- */
struct sono_sim {
   sono_sim_case_t c;
   uint32_t nz, nx, ne;
   size_t npix;
   int fz, fx;                    /* padded FFT grid (z fastest) */
   fftwf_plan fwd, inv;
   fftwf_complex *psf_hat;        /* FFT of the PSF, scaled by 1/(fz*fx) */
   fftwf_complex **work;          /* one padded work grid per thread */
   float complex *tissue;         /* convolved static tissue, npix */
   float *gain;                   /* pre-convolution amplitude multiplier (shadows etc.), npix */
   float *noise_sigma;            /* per depth row, after TGC */
   float *flash_dphi;             /* per pixel phase step of flash frames (0 outside) */
   float *twinkle;                /* per pixel twinkling amplitude (0 outside) */
   double sigma_z, sigma_x;       /* PSF Gaussian widths */
   double psf_peak;               /* peak of the unit-energy PSF */
   double line_peak;              /* peak of a coherent horizontal line of unit amplitude per column */
   double k2;                     /* 4*pi*fc/c: phase per metre of depth */
   double blood_amp;              /* blood echo amplitude (re fat RMS 1) */
   double full_scale;             /* IQ magnitude that saturates */
   double out_gain;               /* global gain (gain artefacts) */
   int saturate;
   double colour_noise_amp;
   int flash_shift_px;
   sim_vessel_rt_t vessels[SONO_SIM_MAX_VESSELS];
   sim_particle_t *particles;     /* capacity max_particles */
   size_t max_particles, nparticles;
   uint32_t threads;
   double bone_z;                 /* 0 when no bone */
};

/* Layer model */
typedef struct sim_layer_bounds {
   double skin, dermis_end, fat_end, muscle_end, deep_end, bone;
} sim_layer_bounds_t;
void sim_layer_bounds(const sono_sim_case_t *c, double x, sim_layer_bounds_t *b);
double sim_muscle_angle(const sono_sim_case_t *c, double x);
double sim_attenuation_db_per_m(const sono_sim_case_t *c, double x, double z);

/* vessels (sim_vessel.c) */
int sim_vessels_build(struct sono_sim *s);
void sim_vessels_free(struct sono_sim *s);
void sim_vessel_point(const sim_vessel_rt_t *v, double sarc, double r, double *x, double *z, double *tz);
int sim_vessel_locate(const sim_vessel_rt_t *v, double x, double z, double *sarc, double *r);
double sim_vessel_centreline_z(const sono_sim_case_t *c, const sono_sim_vessel_t *v, double x);
double sim_segment_speed(const sono_sim_case_t *c, const sim_vessel_rt_t *rt, uint32_t vi, double sarc, double t);
double sim_waveform(double phase, double psv, double ri, double rise_frac);
void sim_particles_draw(struct sono_sim *s, uint32_t frame);
void sim_particles_splat(const struct sono_sim *s, uint32_t n, fftwf_complex *work);
double sim_frame_time(const sono_sim_case_t *c, uint32_t frame);
double sim_deposit_s_range(const sono_sim_case_t *c, const sim_vessel_rt_t *v, const sono_sim_deposit_t *d, double *s1);

/* tissue and deposits (sim_tissue.c) */
void sim_tissue_build(struct sono_sim *s, fftwf_complex *field, uint8_t *lumen, float *scratch, fftwf_complex *tmp);
void sim_convolve(struct sono_sim *s, fftwf_complex *w);

/* side lobes (sim_tissue.c) */
#define SIM_SIDE_LOBE_REFLECTOR_DB 30.0     /* bright reflector, dB re fat */
#define SIM_SIDE_LOBE_FWHM_RAD (6.0 * SIM_PI / 180.0)
#define SIM_SIDE_LOBE_REACH 2.0              /* lobe rendered to +-2 sigma (-17 dB re its peak) */
double sim_side_lobe_sigma(void);
int sim_deposit_contains(const struct sono_sim *s, const sono_sim_deposit_t *d, double x, double z);
void sim_deposit_frame(const struct sono_sim *s, const sono_sim_deposit_t *d, double *cx, double *cz, double *ang);
double sim_filler_echo_db(const sono_sim_deposit_t *d);
double sim_filler_posterior_db(sono_sim_filler_t f);
double sim_deposit_bottom(const struct sono_sim *s, const sono_sim_deposit_t *d, double x);

/* ground truth helpers */
int sim_case_v9_indeterminate(const sono_sim_case_t *c, uint32_t v);

#endif
