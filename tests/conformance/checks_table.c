/* The checks, in run order. Ids are stable: reports, docs/conformance.md
 * and the fixture tests refer to them. */
#include <string.h>
#include "checks.h"

const cf_check_t cf_checks[] = {
   {"binary.load", "the binary loads with RTLD_NOW|RTLD_LOCAL, so unresolved symbols fail here and not in a scanner", check_binary_load, 0},
   {"binary.abi", "sono_entry and the descriptor declare an ABI this host can run, as the manifest says", check_binary_abi, 0},
   {"binary.manifest", "the manifest parses, its sha256 binds it to this binary, and the host accepts it", check_binary_manifest, 0},
   {"binary.exports", "only sono_entry is exported, so plugin symbols never clash with the host's or another plugin's", check_binary_exports, 0},
   {"binary.libraries", "linked libraries are on the allow-list, so a plugin brings no second runtime into the scanner", check_binary_libraries, 0},
   {"binary.execstack", "no executable stack, which would weaken the whole scanner process", check_binary_execstack, 0},
   {"binary.scan-time", "load, descriptor and unload take under 100 ms, so scanning many plugins stays fast", check_binary_scan_time, 0},
   {"metadata.descriptor", "the descriptor agrees with the manifest field by field; the factory refuses unknown ids", check_metadata_descriptor, 0},
   {"metadata.ids", "ids and versions are well formed, so reports and results name the plugin unambiguously", check_metadata_ids, 0},
   {"metadata.params", "parameters have unique keys, min <= default <= max, and start at their default", check_metadata_params, 0},
   {"metadata.extensions", "every declared extension is returned; unknown ids give NULL", check_metadata_extensions, 0},
   {"lifecycle.cycle", "create, init, activate, process, deactivate, destroy repeated 100 times without failure", check_lifecycle_cycle, 0},
   {"lifecycle.reinit", "sono_entry init/deinit and dlopen/dlclose repeat cleanly (hosts rescan and reload)", check_lifecycle_reinit, 0},
   {"lifecycle.reactivate", "reactivation with another geometry works, as after a probe, depth or mode change", check_lifecycle_reactivate, 0},
   {"lifecycle.refused", "the host shim refuses process() before activate() and the plugin never sees the call", check_lifecycle_refused, 0},
   {"lifecycle.threads", "no plugin thread survives destroy()/deinit(); a live thread crashes after dlclose", check_lifecycle_threads, 0},
   {"frames.random", "random valid frames from 1x1 to 1024x1024, ensemble 1 to 64, are processed without failure", check_frames_random, 0},
   {"frames.degenerate", "zeros, constants, NaN, Inf, extreme PRF and frequency neither crash nor produce invalid events", check_frames_degenerate, 0},
   {"frames.readonly", "inputs are never written: frames sit in read-only pages shared with other plugins", check_frames_readonly, 0},
   {"frames.outputs", "every event passes sono_event_check: finite in-frame coordinates, confidence in [0,1], known values", check_frames_outputs, 0},
   {"frames.flood", "no frame pushes more events than the host's per-frame cap", check_frames_flood, 0},
   {"realtime.calls", "process() makes no heap allocation, lock, sleep or blocking system call", check_realtime_calls, 1},
   {"realtime.cost", "the measured per-frame time (median, p99) stays within the manifest's cost_per_frame_ms", check_realtime_cost, 0},
   {"determinism.replay", "a plugin declared bit-exact gives byte-identical events when the same frames are replayed", check_determinism_replay, 0},
   {"threads.instances", "instances of an instance-safe plugin process concurrently with the same results", check_threads_instances, 0},
   {"params.values", "random and boundary values are accepted; out-of-range, NaN and non-whole values are refused", check_params_values, 0},
   {"state.roundtrip", "state saved, loaded in small reads and saved again is identical", check_state_roundtrip, 0},
   {"state.garbage", "empty, truncated and 1 MB random states are refused without a crash and change nothing", check_state_garbage, 0},
   {"trace.calls", "through the libffi call tracer, every call obeys the thread and lifecycle rules; the trace replays", check_trace_calls, 0},
   {"fuzz.sequence", "a seeded random sequence of parameters, geometries, frames and state calls runs without failure", check_fuzz_sequence, 0},
   {NULL, NULL, NULL, 0}};

const cf_check_t *cf_check_find(const char *id)
{
   for (const cf_check_t *c = cf_checks; c->id; ++c)
      if (strcmp(c->id, id) == 0)
         return c;
   return NULL;
}
