/* sono-plugin-runner: the child process of an isolated plugin instance.
 * It is an in-process host of exactly one instance (libsono_host's own
 * instance API), driven through the shared control block described in
 * host-stub/src/isolated_proto.h. */
#ifndef SONO_RUNNER_H
#define SONO_RUNNER_H

#include <stddef.h>
#include <stdint.h>

#include "isolated_proto.h"

/* The control block, for the signal handlers that report a crash. */
extern sono_iso_control_t *runner_control;

/* Installs the crash reporters (SIGSYS from seccomp, SIGSEGV on a read-only
 * input plane, SIGXCPU) and the rlimits: address space `memory_bytes`
 * (0: none), CPU `cpu_s` seconds, no core files. Returns 0 or -1. */
int runner_limits(uint64_t memory_bytes, uint32_t cpu_s, char *msg, size_t size);

/* Installs the seccomp filter (docs/host-guide.md, "Sandbox"). */
int runner_seccomp(char *msg, size_t size);

/* Registers a read-only frame mapping for the SIGSEGV reporter. */
void runner_note_mapping(uint32_t slot, const void *base, size_t size);

/* Allocation counting around process() (when the runner can interpose). */
void runner_rt_arm(int on);
uint64_t runner_rt_count(char *first, size_t size);

#endif
