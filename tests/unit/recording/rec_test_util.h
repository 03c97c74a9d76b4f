/* Helpers shared by the recording tests: a scratch folder per test, small
 * files, and a valid header to mutate. */
#ifndef REC_TEST_UTIL_H
#define REC_TEST_UTIL_H

#include <cjson/cJSON.h>
#include <stddef.h>

/* A fresh folder under $TMPDIR (or /tmp); free with rt_rmtree + free. */
char *rt_tmpdir(void);
/* Removes `dir` and everything in it. */
void rt_rmtree(const char *dir);
/* "<dir>/<name>", heap-allocated. */
char *rt_path(const char *dir, const char *name);
void rt_write_file(const char *path, const void *data, size_t size);
void rt_write_text(const char *path, const char *text);
void rt_write_json(const char *path, const cJSON *root);
/* Number of entries in `dir` (excluding . and ..). */
int rt_count_entries(const char *dir);

/* A valid header for the files of rt_write_base_data(): an iq plane
 * complex64 [z 4, x 3, ensemble 2, frame 2] and a bmode plane uint8
 * [z 4, x 3, frame 2], grid nz 4 nx 3. */
cJSON *rt_base_header(void);
#define RT_NZ 4
#define RT_NX 3
#define RT_NE 2
#define RT_NF 2
#define RT_IQ_BYTES (RT_NZ * RT_NX * RT_NE * RT_NF * 8)
#define RT_BMODE_BYTES (RT_NZ * RT_NX * RT_NF)
/* Writes scan.iq.bin (iq_delta bytes more or fewer than needed) and
 * scan.bmode.bin into dir. */
void rt_write_base_data(const char *dir, long iq_delta);

/* Replaces the member at dotted `path` (e.g. "planes.iq.shape") with the
 * parsed `json`, or deletes it when json is NULL. Creates nothing: the
 * parent must exist. Returns 0 or -1. */
int rt_set(cJSON *root, const char *path, const char *json);

#endif
