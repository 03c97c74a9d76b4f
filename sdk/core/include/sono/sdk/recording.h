/* libsono_sdk: recordings (JSON header + raw binary files), format v1 of
 * docs/recording-format.md.
 *
 * Reading is memory-mapped and streams frame by frame: sono_recording_frame()
 * fills ABI planes whose `data` and `stride` point straight into the mapping
 * (any axis order, either "order"), so no plane data is copied.
 *
 * Every error names the file and the field or frame, and what was expected:
 *   "scan.json: planes.iq.shape: expected 4 positive integers (one per axis), got 3"
 *   "scan.json: planes.iq: file "scan.iq.bin" holds 1000 bytes, but offset_bytes 0
 *    + shape [4, 4, 8, 2] of complex64 needs 2048 (truncated?)"
 * The reader never crashes on bad input.
 *
 * Ownership: a sono_recording_t owns its mapping; planes returned for a frame
 * stay valid until sono_recording_close(). Ground truth is owned by the
 * recording. Threading: a recording may be read from several threads once
 * opened; open/close are not concurrent with reads. */
#ifndef SONO_SDK_RECORDING_H
#define SONO_SDK_RECORDING_H

#include <stdint.h>
#include <sono/sono.h>
#include "error.h"

#ifdef __cplusplus
extern "C" {
#endif

struct cJSON;

typedef struct sono_recording sono_recording_t;

typedef struct sono_recording_info {
   sono_grid_t grid;
   sono_acquisition_t acquisition;   /* from "acquisition" and "probe" */
   uint32_t frame_count;             /* longest "frame" axis among planes */
   uint32_t planes_present;          /* SONO_PLANE_BIT mask */
   uint64_t nonfinite_count;         /* NaN/Inf values found in float planes */
   sono_gate_t gate;                 /* optional "gate": spectral-Doppler range gate (present = 1);
                                        only position, length and angle correction are read */
   char description[256];
   char wall_filter[32];             /* optional "acquisition.wall_filter": the clutter filter the
                                        scanner's colour mode used ("poly:2", "svd:2", ...; syntax of
                                        sono_wall_spec_parse); "" when absent. Hosts compute colour
                                        planes with it unless the operator chooses another. */
} sono_recording_info_t;

/* Opens and validates a recording header and maps its data files. Data is
 * checked against shape and dtype; float data is scanned once for NaN/Inf,
 * which are counted (info.nonfinite_count) and reported, not refused.
 * Returns NULL with `err` set on any error. */
sono_recording_t *sono_recording_open(const char *header_path, sono_error_t *err);
void sono_recording_close(sono_recording_t *rec);

const sono_recording_info_t *sono_recording_get_info(const sono_recording_t *rec);
const char *sono_recording_path(const sono_recording_t *rec);

/* Warnings found while opening (NaN/Inf values in float planes: count,
 * file and position of the first), one per line, each naming the header and
 * the plane; "" when there are none. Owned by the recording; valid until
 * sono_recording_close(). */
const char *sono_recording_warnings(const sono_recording_t *rec);

/* The "ground_truth" object, or NULL when absent. Owned by the recording. */
const struct cJSON *sono_recording_ground_truth(const sono_recording_t *rec);

/* Fills `planes` (capacity SONO_PLANE_KIND_COUNT) with the planes of frame
 * `index`, zero-copy views into the mapping, and returns how many
 * (>= 0), or -1 with `err` when index is out of range. A plane without a
 * "frame" axis is the same for every frame. The IQ plane's axes are
 * z, x, ensemble; scalar maps are z, x. */
int sono_recording_frame(const sono_recording_t *rec, uint32_t index, sono_plane_t *planes, sono_error_t *err);

/* ---- writing ---------------------------------------------------------
 * Data files are written beside the header, each first to a temporary name
 * and renamed into place by commit(), header last, so a crash never leaves a
 * half-written recording under the final names. Files are written in
 * order "F" with axes [z, x, ensemble, frame] (IQ), [z, x, frame] (maps),
 * [sample, channel, ensemble, frame] (RF), [frequency, time, frame]
 * (spectrogram); shape per frame is taken from the first frame written. */
typedef struct sono_recording_writer sono_recording_writer_t;

/* `header_path` ends in .json; data files are named <stem>.<plane>.bin. */
sono_recording_writer_t *sono_recording_writer_open(const char *header_path, const sono_recording_info_t *info,
                                                    sono_error_t *err);

/* Appends one frame: each given plane (read through its strides) is
 * appended to that plane's file. Every frame must carry the same plane kinds
 * with the same shapes and dtypes as the first. A refused frame (wrong
 * shape, dtype, grid...) writes nothing and the writer stays usable; after
 * a failed write (disk full) only abort remains. Not thread-safe: one
 * writer is used by one thread at a time. */
int sono_recording_writer_add_frame(sono_recording_writer_t *w, const sono_plane_t *planes, uint32_t plane_count,
                                    sono_error_t *err);

/* Sets the "ground_truth" object (deep-copied). */
int sono_recording_writer_set_ground_truth(sono_recording_writer_t *w, const struct cJSON *ground_truth,
                                           sono_error_t *err);

/* Writes the header and renames everything into place; frees `w`. */
int sono_recording_writer_commit(sono_recording_writer_t *w, sono_error_t *err);

/* The "grid" and "acquisition" objects of a header as the writer writes
 * them (caller owns the result; cJSON_Delete it). Used wherever these
 * structs are reported in JSON, so every file spells them the same way. */
struct cJSON *sono_recording_grid_json(const sono_grid_t *grid);
struct cJSON *sono_recording_acquisition_json(const sono_acquisition_t *acquisition);

/* Discards temporary files; frees `w`. */
void sono_recording_writer_abort(sono_recording_writer_t *w);

#ifdef __cplusplus
}
#endif

#endif
