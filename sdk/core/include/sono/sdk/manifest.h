/* libsono_sdk: plugin manifests (`<name>.sono.json` beside each binary).
 *
 * Schema (docs/abi.md, "Manifest"):
 *   {
 *     "schema": "sono.manifest/1",
 *     "id": "org.sonoplug.example",          reverse DNS
 *     "name": "...", "vendor": "...",
 *     "version": "1.0.0",                    plugin version
 *     "abi": "1.0.0",                        SONO_ABI_VERSION built against
 *     "binary": "example.so",                relative to the manifest
 *     "sha256": "<64 hex>",                  of the binary
 *     "planes": ["bmode", ...],              planes needed
 *     "cost_per_frame_ms": 1.0,              declared worst-case cost, 384x256 frame
 *     "determinism": "bit-exact" | "tolerance" | "none",
 *     "concurrency": "instance-safe" | "unsafe" | "fully-safe",
 *     "may_isolate": true,
 *     "intended_use": "...",
 *     "safety_class": "A" | "B" | "C"        IEC 62304
 *   }
 * Unknown fields are ignored. Every error names the file and field.
 * Ownership: caller-owned struct, no heap. Threading: reentrant. */
#ifndef SONO_SDK_MANIFEST_H
#define SONO_SDK_MANIFEST_H

#include <stdbool.h>
#include <stdint.h>
#include <sono/sono.h>
#include "error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SONO_MANIFEST_SCHEMA "sono.manifest/1"
#define SONO_MANIFEST_TEXT_SIZE 512
#define SONO_PATH_SIZE 4096

typedef struct sono_manifest {
   char path[SONO_PATH_SIZE];          /* the manifest file */
   char binary_path[SONO_PATH_SIZE];   /* resolved path of "binary" */
   char id[SONO_NAME_SIZE * 2];
   char name[SONO_NAME_SIZE];
   char vendor[SONO_NAME_SIZE];
   char version[32];
   sono_version_t abi;
   char sha256[65];                    /* lower-case hex */
   uint32_t planes_needed;             /* SONO_PLANE_BIT mask */
   double cost_per_frame_s;
   sono_determinism_t determinism;
   sono_concurrency_t concurrency;
   bool may_isolate;
   char intended_use[SONO_MANIFEST_TEXT_SIZE];
   char safety_class[4];
} sono_manifest_t;

/* Parses and validates `path`. Returns 0, or -1 with `err` naming the file
 * and field. Does not open the binary. */
int sono_manifest_load(const char *path, sono_manifest_t *out, sono_error_t *err);

/* True when `id` is a well-formed reverse-DNS id: at least two dot-separated
 * labels of [a-z0-9-], no empty label, at most 127 characters. */
bool sono_id_is_valid(const char *id);

/* SHA-256 of a file as 64 lower-case hex digits. Returns 0 or -1. */
int sono_sha256_file(const char *path, char hex[65], sono_error_t *err);

#ifdef __cplusplus
}
#endif

#endif
