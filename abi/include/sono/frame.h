/* sonoplug ABI: the frame a plugin sees, and the format it is activated with.
 *
 * Units are SI throughout: metres, seconds, hertz, metres per second.
 * Positions lie in the image plane: x lateral, z depth (positive into the
 * body, 0 at the probe face). Velocity sign: POSITIVE = TOWARD THE PROBE
 * (decreasing z). This matches MUST/PyMUST; note that USTB's displacement
 * has the opposite sign.
 *
 * Layout: every plane gives its shape and its stride per axis, in ELEMENTS
 * (one complex64 element is 8 bytes). Strides may be any value, including
 * negative, so any memory layout (column-major, row-major, bottom-up,
 * interleaved ensembles) is described without a copy, as OpenFX row bytes.
 * The element at index (i0, i1, i2) is at
 *     (const T *)plane->data + i0*stride[0] + i1*stride[1] + i2*stride[2].
 * Axes that a plane does not use have shape 1 and stride 0.
 *
 * Ownership and lifetime: a sono_frame_t and everything it points to are
 * owned by the host, READ-ONLY for the plugin, and valid only during the
 * process() call that received it. A plugin that needs data later copies it
 * into buffers it allocated in activate(). The host may place planes in
 * read-only shared memory; writing to them is undefined behaviour and the
 * conformance suite reports it as a failure.
 *
 * Growth: sono_frame_t, sono_plane_t and sono_frame_format_t start with
 * struct_size. A later minor version may append fields; a plugin reads a
 * field only if struct_size shows it present (SONO_HAS_FIELD). */
#ifndef SONO_FRAME_H
#define SONO_FRAME_H

#include <stddef.h>
#include <stdint.h>
#include "private/macros.h"

SONO_EXTERN_C_BEGIN

/* True when a size-prefixed struct `ptr` of type `type` is large enough to
 * contain `field`. */
#define SONO_HAS_FIELD(ptr, type, field) \
   ((ptr)->struct_size >= offsetof(type, field) + sizeof(((type *)0)->field))

/* Plane kinds. Axis meaning is fixed per kind (index 0, 1, 2):
 *   IQ           z, x, ensemble        complex64 beamformed IQ (baseband)
 *   RF           sample, channel, ensemble   int16 or float32 channel data
 *   BMODE        z, x, -               uint8 display grey (0..255) or float32 dB
 *   VELOCITY     z, x, -               float32 m/s, + toward the probe
 *   POWER        z, x, -               float32 dB relative to the frame maximum
 *   VARIANCE     z, x, -               float32 (m/s)^2
 *   SPECTROGRAM  frequency, time, -    float32 dB, rows from -PRF/2 upward
 * The z/x planes lie on the frame grid (sono_grid_t). */
typedef int32_t sono_plane_kind_t;
enum {
   SONO_PLANE_IQ = 0,
   SONO_PLANE_RF = 1,
   SONO_PLANE_BMODE = 2,
   SONO_PLANE_VELOCITY = 3,
   SONO_PLANE_POWER = 4,
   SONO_PLANE_VARIANCE = 5,
   SONO_PLANE_SPECTROGRAM = 6,
   SONO_PLANE_KIND_COUNT = 7
};

/* Bit of a plane kind in a plane mask (descriptor planes_needed, format
 * planes_available). */
#define SONO_PLANE_BIT(kind) (UINT32_C(1) << (uint32_t)(kind))

typedef int32_t sono_dtype_t;
enum {
   SONO_DTYPE_COMPLEX64 = 0, /* interleaved float32 (re, im) */
   SONO_DTYPE_FLOAT32 = 1,
   SONO_DTYPE_INT16 = 2,
   SONO_DTYPE_UINT8 = 3
};

typedef struct sono_plane {
   uint32_t struct_size;    /* sizeof(sono_plane_t) as built by the host */
   sono_plane_kind_t kind;  /* SONO_PLANE_* */
   sono_dtype_t dtype;      /* SONO_DTYPE_* */
   uint32_t shape[3];       /* length of each axis; unused axes are 1 */
   int64_t stride[3];       /* elements between neighbours along each axis */
   const void *data;        /* element (0,0,0); host-owned, read-only */
} sono_plane_t;

/* Image grid of the z/x planes, metres. Pixel (iz, ix) is centred at
 * x = x0_m + ix*dx_m, z = z0_m + iz*dz_m. */
typedef struct sono_grid {
   uint32_t nx;
   uint32_t nz;
   double dx_m;
   double dz_m;
   double x0_m;
   double z0_m;
} sono_grid_t;

typedef int32_t sono_probe_geometry_t;
enum { SONO_PROBE_LINEAR = 0, SONO_PROBE_CONVEX = 1, SONO_PROBE_PHASED = 2 };

typedef int32_t sono_wall_filter_t;
enum {
   SONO_WALL_NONE = 0,
   SONO_WALL_POLY = 1, /* polynomial regression, order = degree */
   SONO_WALL_DCT = 2,  /* drops `order` lowest DCT coefficients */
   SONO_WALL_SVD = 3,  /* removes `order` largest singular components */
   SONO_WALL_IIR = 4   /* high-pass, cutoff_hz */
};

#define SONO_NAME_SIZE 64

/* Acquisition metadata, SI units. A value the source does not know is 0. */
typedef struct sono_acquisition {
   double center_frequency_hz;
   double demodulation_frequency_hz; /* IQ mixing frequency */
   double sampling_frequency_hz;     /* RF fast-time sampling */
   double sound_speed_m_s;
   double prf_hz;                    /* pulse repetition frequency (slow time) */
   double frame_rate_hz;
   double steering_angle_rad;        /* 0 = straight down; + towards +x */
   uint32_t ensemble_size;           /* slow-time samples per frame (IQ axis 2) */
   sono_wall_filter_t wall_filter;   /* filter applied by the host's Doppler core */
   uint32_t wall_filter_order;
   uint32_t doppler_lag;             /* Kasai lag used for the velocity plane */
   double wall_filter_cutoff_hz;
   double nyquist_velocity_m_s;      /* c*PRF/(4*fc*lag); 0 without Doppler */
   sono_probe_geometry_t probe_geometry;
   uint32_t probe_elements;
   double probe_pitch_m;
   double probe_radius_m;            /* 0 for linear */
   char probe_name[SONO_NAME_SIZE];  /* UTF-8, NUL-terminated */
} sono_acquisition_t;

/* A spectral-Doppler range gate and the axes of the spectrogram plane. */
typedef struct sono_gate {
   uint32_t present;                 /* 0: no gate in this frame */
   uint32_t reserved;
   double x_m;                       /* gate centre */
   double z_m;
   double length_m;                  /* axial gate length */
   double angle_correction_rad;      /* beam-to-flow angle used for velocity */
   double velocity0_m_s;             /* velocity of spectrogram row 0 */
   double dvelocity_m_s;             /* velocity step between rows */
   double time0_s;                   /* time of spectrogram column 0 */
   double dtime_s;                   /* time step between columns */
} sono_gate_t;

typedef struct sono_frame {
   uint32_t struct_size;             /* sizeof(sono_frame_t) as built by the host */
   uint32_t plane_count;
   const sono_plane_t *planes;       /* plane_count planes, at most one per kind */
   uint64_t sequence;                /* increases by one per acquired frame */
   uint64_t timestamp_ns;            /* monotonic clock, nanoseconds */
   sono_grid_t grid;
   sono_acquisition_t acquisition;
   sono_gate_t gate;
} sono_frame_t;

/* What activate() is told: the largest frame that process() will receive
 * until deactivate(), and which planes the host can provide. A change of
 * probe, depth or mode makes the host deactivate and activate again. */
typedef struct sono_frame_format {
   uint32_t struct_size;
   uint32_t planes_available;        /* mask of SONO_PLANE_BIT(kind) */
   uint32_t max_nx;
   uint32_t max_nz;
   uint32_t max_ensemble;
   uint32_t max_spectrogram_bins;    /* rows x columns bound of SPECTROGRAM */
   uint32_t max_spectrogram_columns;
   uint32_t reserved;
   double max_frame_rate_hz;
   sono_grid_t grid;                 /* the grid of the first frame */
   sono_acquisition_t acquisition;   /* the acquisition of the first frame */
} sono_frame_format_t;

/* Returns the plane of `kind` in `frame`, or NULL. [thread-safe] */
static inline const sono_plane_t *sono_frame_plane(const sono_frame_t *frame, sono_plane_kind_t kind)
{
   uint32_t i;
   for (i = 0; i < frame->plane_count; ++i)
      if (frame->planes[i].kind == kind)
         return &frame->planes[i];
   return NULL;
}

SONO_EXTERN_C_END

#endif
