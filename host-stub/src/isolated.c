/* Isolated mode, host side: one sono-plugin-runner child per instance,
 * driven through a shared control block, with a deadline watchdog and
 * crash handling (docs/host-guide.md, "Isolated mode").
 *
 * Never blocking acquisition: process() waits for the child at most until
 * the frame's deadline. A child still busy with an older frame, starting or
 * waiting for its restart backoff makes the frame fail at once with its
 * reason; nothing here waits for a misbehaving plugin. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "isolated.h"

extern char **environ;

#ifndef SONO_RUNNER_BUILD_PATH
#define SONO_RUNNER_BUILD_PATH ""
#endif
#ifndef SONO_RUNNER_INSTALL_PATH
#define SONO_RUNNER_INSTALL_PATH "/usr/local/libexec/sono-plugin-runner"
#endif

typedef enum wait_result { ANSWERED, TIMED_OUT, DIED } wait_result;

typedef struct slot_info {
   uint64_t inode; /* 0: free */
   const uint8_t *base;
   size_t size;
} slot_info;

struct sono_iso {
   sono_host_policy_t policy;
   char runner[SONO_PATH_SIZE];
   char scratch[SONO_PATH_SIZE];
   char plugin_id[SONO_NAME_SIZE * 2];
   char manifest[SONO_PATH_SIZE]; /* absolute: the child works in the scratch folder */
   uint32_t max_events;
   size_t max_event_bytes;

   int ctl_fd;
   sono_iso_control_t *ctl;
   uint8_t *area;
   size_t map_size;
   uint64_t area_size;
   uint8_t *copy; /* private copy of the event area */

   int req_fd, resp_fd, sock_fd, child_sock;
   pid_t pid;
   int pidfd;
   uint64_t seq;
   int busy;      /* a request is unanswered past its deadline */
   uint64_t busy_frame;
   int starting;  /* START sent to a restarted child, not answered yet */
   int warm;      /* this child has answered a frame: the normal deadline applies */

   slot_info slots[SONO_ISO_MAX_BUFFERS];
   sono_host_buffer_t staging;
   uint64_t staging_inode;

   /* what a restarted child gets back */
   int has_format;
   sono_frame_format_t format;
   uint8_t *state;
   size_t state_size;
   sono_iso_param_t params[SONO_ISO_MAX_PARAMS];
   uint32_t param_count;

   /* policy state */
   uint32_t consecutive_crashes;
   uint64_t denied_seen; /* file-system denials of this child already reported */
   uint64_t restart_at_ns;
   double deadline_ms;
   sono_host_isolation_stats_t stats;

   sono_plugin_descriptor_t desc;
   char d_id[SONO_ISO_TEXT], d_name[SONO_ISO_TEXT], d_vendor[SONO_ISO_TEXT], d_version[SONO_ISO_TEXT],
      d_description[SONO_ISO_TEXT];
};

/* ---- small helpers ------------------------------------------------------- */

static uint64_t now_ns(void)
{
   struct timespec ts;
   clock_gettime(CLOCK_MONOTONIC, &ts);
   return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static const char *pid_of(const sono_host_instance_t *in) { return in->lib->manifest.id; }

/* Copies a string the child wrote, which may lack its terminator. */
static void copy_text(char *dst, size_t size, const char *src, size_t src_size)
{
   size_t n = strnlen(src, src_size);
   if (n >= size)
      n = size - 1;
   memcpy(dst, src, n);
   dst[n] = '\0';
}

static int high_fd(int fd)
{
   /* posix_spawn's dup2 actions target 3..6: sources above them never clash. */
   int h = fcntl(fd, F_DUPFD_CLOEXEC, 16);
   close(fd);
   return h;
}

void sono_host_policy_default(sono_host_policy_t *p)
{
   memset(p, 0, sizeof *p);
   p->deadline_factor = 4.0;
   p->min_deadline_ms = 2.0;
   p->quarantine_after_misses = 3;
   p->restart_backoff_ms = 100.0;
   p->crash_loop_limit = 3;
   p->memory_limit_bytes = (uint64_t)1 << 30;
   p->cpu_limit_s = 3600;
   p->start_timeout_ms = 5000.0;
   p->warmup_deadline_ms = 250.0;
}

static void complete_policy(sono_host_policy_t *p, const sono_host_policy_t *given)
{
   sono_host_policy_t d;
   sono_host_policy_default(&d);
   *p = given ? *given : d;
   if (p->deadline_factor <= 0) p->deadline_factor = d.deadline_factor;
   if (p->min_deadline_ms <= 0) p->min_deadline_ms = d.min_deadline_ms;
   if (!p->quarantine_after_misses) p->quarantine_after_misses = d.quarantine_after_misses;
   if (p->restart_backoff_ms == 0) p->restart_backoff_ms = d.restart_backoff_ms;
   if (!p->crash_loop_limit) p->crash_loop_limit = d.crash_loop_limit;
   if (!p->memory_limit_bytes) p->memory_limit_bytes = d.memory_limit_bytes;
   if (!p->cpu_limit_s) p->cpu_limit_s = d.cpu_limit_s;
   if (p->start_timeout_ms <= 0) p->start_timeout_ms = d.start_timeout_ms;
   if (p->warmup_deadline_ms <= 0) p->warmup_deadline_ms = d.warmup_deadline_ms;
}

int sono_iso_wanted(const sono_host_library_t *lib, const sono_host_instance_options_t *opt)
{
   if (lib->iso)
      return 1;
   if (!opt || opt->run_mode == SONO_HOST_RUN_IN_PROCESS)
      return 0;
   if (opt->run_mode == SONO_HOST_RUN_ISOLATED)
      return 1;
   const char *trusted = opt->policy ? opt->policy->trusted_vendor : NULL;
   return lib->manifest.may_isolate && !(trusted && strcmp(trusted, lib->manifest.vendor) == 0);
}

static void find_runner(struct sono_iso *iso)
{
   const char *env = getenv("SONO_PLUGIN_RUNNER");
   const char *path = iso->policy.runner_path  ? iso->policy.runner_path
                      : env && env[0]          ? env
                      : access(SONO_RUNNER_BUILD_PATH, X_OK) == 0 ? SONO_RUNNER_BUILD_PATH
                                                                  : SONO_RUNNER_INSTALL_PATH;
   snprintf(iso->runner, sizeof iso->runner, "%s", path);
}

/* ---- shared memory and the child ----------------------------------------- */

static int map_control(struct sono_iso *iso, sono_error_t *err)
{
   long page = sysconf(_SC_PAGESIZE);
   size_t ctl = ((sizeof(sono_iso_control_t) + (size_t)page - 1) / (size_t)page) * (size_t)page;
   iso->area_size = iso->max_event_bytes + (uint64_t)iso->max_events * 64u + 65536u;
   iso->map_size = ctl + iso->area_size;
   iso->ctl_fd = memfd_create("sono-iso-control", MFD_CLOEXEC);
   if (iso->ctl_fd < 0 || ftruncate(iso->ctl_fd, (off_t)iso->map_size) < 0)
      return sono_error_set(err, "isolated mode: control memfd of %zu bytes: %s", iso->map_size, strerror(errno));
   iso->ctl_fd = high_fd(iso->ctl_fd);
   void *p = mmap(NULL, iso->map_size, PROT_READ | PROT_WRITE, MAP_SHARED, iso->ctl_fd, 0);
   if (p == MAP_FAILED)
      return sono_error_set(err, "isolated mode: mapping the control block: %s", strerror(errno));
   iso->ctl = p;
   iso->area = (uint8_t *)p + ctl;
   iso->ctl->magic = SONO_ISO_MAGIC;
   iso->ctl->area_offset = ctl;
   iso->ctl->area_size = iso->area_size;
   iso->copy = malloc(iso->area_size);
   if (!iso->copy)
      return sono_error_set(err, "isolated mode: out of memory for the event copy");
   return 0;
}

static int open_channels(struct sono_iso *iso, sono_error_t *err)
{
   int sv[2];
   iso->req_fd = high_fd(eventfd(0, EFD_CLOEXEC));
   iso->resp_fd = high_fd(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
   if (iso->req_fd < 0 || iso->resp_fd < 0 || socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
      return sono_error_set(err, "isolated mode: eventfd/socketpair: %s", strerror(errno));
   iso->sock_fd = high_fd(sv[0]);
   iso->child_sock = high_fd(sv[1]);
   return iso->sock_fd < 0 || iso->child_sock < 0 ? sono_error_set(err, "isolated mode: fcntl: %s", strerror(errno))
                                                  : 0;
}

static void close_fd(int *fd)
{
   if (*fd >= 0)
      close(*fd);
   *fd = -1;
}

static int spawn_child(sono_host_instance_t *in, sono_error_t *err)
{
   struct sono_iso *iso = in->iso;
   char mem[32], cpu[32], host_pid[32];
   snprintf(mem, sizeof mem, "%llu", (unsigned long long)iso->policy.memory_limit_bytes);
   snprintf(cpu, sizeof cpu, "%u", iso->policy.cpu_limit_s);
   snprintf(host_pid, sizeof host_pid, "%d", (int)getpid());
   char *argv[] = {iso->runner,       "--manifest", iso->manifest, "--plugin", iso->plugin_id,
                   "--memory",        mem,          "--cpu",                cpu,        "--scratch",
                   iso->scratch,      "--host-pid", host_pid,               NULL};
   posix_spawn_file_actions_t fa;
   posix_spawn_file_actions_init(&fa);
   posix_spawn_file_actions_adddup2(&fa, iso->ctl_fd, SONO_ISO_FD_CONTROL);
   posix_spawn_file_actions_adddup2(&fa, iso->req_fd, SONO_ISO_FD_REQUEST);
   posix_spawn_file_actions_adddup2(&fa, iso->resp_fd, SONO_ISO_FD_RESPONSE);
   posix_spawn_file_actions_adddup2(&fa, iso->child_sock, SONO_ISO_FD_SOCKET);
   pid_t pid;
   int rc = posix_spawn(&pid, iso->runner, &fa, NULL, argv, environ);
   posix_spawn_file_actions_destroy(&fa);
   if (rc != 0)
      return sono_error_set(err, "%s: cannot start the plugin runner %s: %s", pid_of(in), iso->runner, strerror(rc));
   iso->pid = pid;
   iso->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
   if (iso->pidfd < 0)
      return sono_error_set(err, "%s: pidfd_open(%d): %s", pid_of(in), (int)pid, strerror(errno));
   fcntl(iso->pidfd, F_SETFD, FD_CLOEXEC);
   memset(iso->slots, 0, sizeof iso->slots);
   iso->warm = 0;
   iso->ctl->denied_count = 0;
   iso->denied_seen = 0;
   iso->busy = 0;
   iso->stats.pid = pid;
   return 0;
}

static void send_request(struct sono_iso *iso, sono_iso_cmd_t cmd)
{
   uint64_t one = 1;
   iso->ctl->cmd = cmd;
   iso->seq++;
   __atomic_store_n(&iso->ctl->req_seq, iso->seq, __ATOMIC_RELEASE);
   if (write(iso->req_fd, &one, sizeof one) != sizeof one) {
      /* An eventfd write fails only on counter overflow; the child still
       * sees the new req_seq on its next wake-up. */
   }
}

/* Waits for the answer to request `seq` until `deadline` (monotonic ns). */
static wait_result wait_answer(struct sono_iso *iso, uint64_t seq, uint64_t deadline)
{
   for (;;) {
      if (__atomic_load_n(&iso->ctl->resp_seq, __ATOMIC_ACQUIRE) == seq)
         return ANSWERED;
      uint64_t now = now_ns();
      if (now >= deadline)
         return TIMED_OUT;
      struct pollfd pf[2] = {{iso->resp_fd, POLLIN, 0}, {iso->pidfd, POLLIN, 0}};
      uint64_t left = deadline - now;
      struct timespec ts = {(time_t)(left / 1000000000u), (long)(left % 1000000000u)};
      int n = ppoll(pf, 2, &ts, NULL);
      if (n < 0 && errno != EINTR)
         return TIMED_OUT;
      if (n > 0 && (pf[0].revents & POLLIN)) {
         uint64_t v;
         if (read(iso->resp_fd, &v, sizeof v) < 0 && errno != EAGAIN)
            return TIMED_OUT;
      }
      if (n > 0 && (pf[1].revents & POLLIN))
         return __atomic_load_n(&iso->ctl->resp_seq, __ATOMIC_ACQUIRE) == seq ? ANSWERED : DIED;
   }
}

static int child_dead(struct sono_iso *iso)
{
   struct pollfd pf = {iso->pidfd, POLLIN, 0};
   return iso->pidfd >= 0 && poll(&pf, 1, 0) > 0;
}

/* Reaps the child and describes how it ended; returns the reason keyword. */
static const char *reap_child(sono_host_instance_t *in, char *msg, size_t size)
{
   struct sono_iso *iso = in->iso;
   siginfo_t si;
   memset(&si, 0, sizeof si);
   int got = iso->pidfd >= 0 && waitid(P_PIDFD, (id_t)iso->pidfd, &si, WEXITED) == 0;
   sono_iso_control_t *c = iso->ctl;
   sono_iso_call_t call = c->current_call;
   unsigned long long frame = (unsigned long long)c->current_frame;
   char where[160];
   if (call == SONO_ISO_CALL_PROCESS)
      snprintf(where, sizeof where, "in process() of frame %llu", frame);
   else
      snprintf(where, sizeof where, "in %s", sono_iso_call_name(call));
   const char *reason = "crash";
   if (c->fault == SONO_ISO_FAULT_SECCOMP) {
      char name[64];
      copy_text(name, sizeof name, c->fault_name, sizeof c->fault_name);
      snprintf(msg, size, "%s: seccomp: %s() denied (system call %d) %s; the sandbox stopped the plugin", pid_of(in),
               name, c->fault_syscall, where);
      reason = "seccomp";
   } else if (c->fault == SONO_ISO_FAULT_WRITE_INPUT) {
      snprintf(msg, size, "%s: write-input: the plugin wrote to a read-only input plane at 0x%llx %s (SIGSEGV)",
               pid_of(in), (unsigned long long)c->fault_addr, where);
      reason = "write-input";
   } else if (!got) {
      snprintf(msg, size, "%s: the plugin process %d ended %s (status unavailable: %s)", pid_of(in), (int)iso->pid,
               where, strerror(errno));
   } else if (si.si_code == CLD_EXITED) {
      snprintf(msg, size, "%s: exit: the plugin process called exit(%d) %s", pid_of(in), si.si_status, where);
      reason = "exit";
   } else if (si.si_status == SIGXCPU || c->fault == SONO_ISO_FAULT_CPU_LIMIT) {
      snprintf(msg, size, "%s: cpu-limit: CPU-time limit of %u s exceeded %s (SIGXCPU)", pid_of(in),
               iso->policy.cpu_limit_s, where);
      reason = "cpu-limit";
   } else {
      const char *abbrev = sigabbrev_np(si.si_status), *descr = sigdescr_np(si.si_status);
      snprintf(msg, size, "%s: crash: SIG%s (%s) %s", pid_of(in), abbrev ? abbrev : "?", descr ? descr : "signal",
               where);
   }
   close_fd(&iso->pidfd);
   iso->pid = 0;
   iso->stats.pid = 0;
   iso->busy = 0;
   iso->starting = 0;
   return reason;
}

/* Stops the child now (deadline quarantine, destroy after its grace). */
static void kill_child(struct sono_iso *iso)
{
   if (iso->pid > 0) {
      syscall(SYS_pidfd_send_signal, iso->pidfd, SIGKILL, NULL, 0);
      siginfo_t si;
      waitid(P_PIDFD, (id_t)iso->pidfd, &si, WEXITED);
   }
   close_fd(&iso->pidfd);
   iso->pid = 0;
   iso->stats.pid = 0;
   iso->busy = 0;
   iso->starting = 0;
}

/* ---- startup and restart -------------------------------------------------- */

static void fill_startup(struct sono_iso *iso)
{
   sono_iso_control_t *c = iso->ctl;
   c->has_format = iso->has_format;
   if (iso->has_format)
      c->format = iso->format;
   c->has_state = iso->state && iso->state_size <= iso->area_size;
   if (c->has_state) {
      memcpy(iso->area, iso->state, iso->state_size);
      c->state_size = iso->state_size;
   }
   c->param_count = iso->param_count;
   memcpy(c->params, iso->params, sizeof iso->params);
   c->max_events = iso->max_events;
   c->max_event_bytes = iso->max_event_bytes;
   c->current_call = SONO_ISO_CALL_IDLE;
   c->fault = SONO_ISO_FAULT_NONE;
}

static void take_descriptor(sono_host_instance_t *in)
{
   struct sono_iso *iso = in->iso;
   sono_iso_control_t *c = iso->ctl;
   copy_text(iso->d_id, sizeof iso->d_id, c->desc_id, sizeof c->desc_id);
   copy_text(iso->d_name, sizeof iso->d_name, c->desc_name, sizeof c->desc_name);
   copy_text(iso->d_vendor, sizeof iso->d_vendor, c->desc_vendor, sizeof c->desc_vendor);
   copy_text(iso->d_version, sizeof iso->d_version, c->desc_version, sizeof c->desc_version);
   copy_text(iso->d_description, sizeof iso->d_description, c->desc_description, sizeof c->desc_description);
   iso->desc = (sono_plugin_descriptor_t){c->abi_version,  iso->d_id,    iso->d_name,   iso->d_vendor,
                                          iso->d_version,  iso->d_description, c->planes_needed,
                                          c->concurrency,  c->determinism, 0};
   iso->stats.child_threads = c->child_threads;
   struct sono_iso_library *il = in->lib->iso;
   if (il && !il->described) {
      snprintf(il->id, sizeof il->id, "%s", iso->d_id);
      snprintf(il->name, sizeof il->name, "%s", iso->d_name);
      snprintf(il->vendor, sizeof il->vendor, "%s", iso->d_vendor);
      snprintf(il->version, sizeof il->version, "%s", iso->d_version);
      snprintf(il->description, sizeof il->description, "%s", iso->d_description);
      il->desc = iso->desc;
      il->desc.id = il->id, il->desc.name = il->name, il->desc.vendor = il->vendor;
      il->desc.version = il->version, il->desc.description = il->description;
      il->plugin_count = c->plugin_count;
      il->described = 1;
   }
}

/* A file-system change refused while loading or in a setup call is kept
 * as the diagnostic; it does not fail the call. */
static void note_denials(sono_host_instance_t *in)
{
   struct sono_iso *iso = in->iso;
   sono_iso_control_t *c = iso->ctl;
   if (c->denied_count <= iso->denied_seen)
      return;
   char name[64];
   copy_text(name, sizeof name, c->denied_name, sizeof c->denied_name);
   snprintf(in->diagnostic, sizeof in->diagnostic,
            "%s: seccomp: %s() denied in %s (a file-system change; the call failed with EACCES)", pid_of(in), name,
            sono_iso_call_name(c->denied_call));
   iso->stats.sandbox_denials += c->denied_count - iso->denied_seen;
   iso->denied_seen = c->denied_count;
}

static int start_child(sono_host_instance_t *in, sono_error_t *err)
{
   struct sono_iso *iso = in->iso;
   fill_startup(iso);
   if (spawn_child(in, err) < 0)
      return -1;
   send_request(iso, SONO_ISO_CMD_START);
   iso->starting = 1;
   return 0;
}

/* Completes a START: the child answered (ok or refused) or died. */
static int finish_start(sono_host_instance_t *in, wait_result w, sono_error_t *err)
{
   struct sono_iso *iso = in->iso;
   char msg[SONO_ERROR_MESSAGE_SIZE];
   if (w == TIMED_OUT) {
      kill_child(iso);
      return sono_error_set(err, "%s: the plugin process did not start within %.0f ms (load, init, activate)",
                            pid_of(in), iso->policy.start_timeout_ms);
   }
   if (w == DIED) {
      in->last_failure = reap_child(in, msg, sizeof msg);
      return sono_error_set(err, "%s (while starting)", msg);
   }
   iso->starting = 0;
   if (iso->ctl->status != 0) {
      copy_text(msg, sizeof msg, iso->ctl->error, sizeof iso->ctl->error);
      kill_child(iso);
      return sono_error_set(err, "%s", msg);
   }
   take_descriptor(in);
   note_denials(in);
   return 0;
}

/* ---- create / destroy ------------------------------------------------------ */

static struct sono_iso *iso_alloc(void)
{
   struct sono_iso *iso = calloc(1, sizeof *iso);
   if (!iso)
      return NULL;
   iso->ctl_fd = iso->req_fd = iso->resp_fd = iso->sock_fd = iso->child_sock = iso->pidfd = -1;
   iso->staging.fd = -1;
   return iso;
}

static double deadline_ms_for(const sono_host_instance_t *in)
{
   const sono_host_policy_t *p = &in->iso->policy;
   double d = in->lib->manifest.cost_per_frame_s * 1e3 * p->deadline_factor;
   return d > p->min_deadline_ms ? d : p->min_deadline_ms;
}

int sono_iso_create(sono_host_instance_t *in, const char *plugin_id, const sono_host_instance_options_t *opt,
                    sono_error_t *err)
{
   struct sono_iso *iso = in->iso = iso_alloc();
   if (!iso)
      return sono_error_set(err, "%s: out of memory creating an isolated instance", pid_of(in));
   complete_policy(&iso->policy, opt ? opt->policy : NULL);
   find_runner(iso);
   snprintf(iso->scratch, sizeof iso->scratch, "%s", iso->policy.scratch_dir ? iso->policy.scratch_dir : "/tmp");
   snprintf(iso->plugin_id, sizeof iso->plugin_id, "%s", plugin_id);
   if (!realpath(in->lib->manifest.path, iso->manifest))
      return sono_error_set(err, "%s: %s", in->lib->manifest.path, strerror(errno));
   iso->max_events = opt && opt->max_events_per_frame ? opt->max_events_per_frame : 1024;
   iso->max_event_bytes = opt && opt->max_event_bytes ? opt->max_event_bytes : (size_t)4 << 20;
   iso->deadline_ms = deadline_ms_for(in);
   iso->stats.isolated = 1;
   iso->stats.deadline_ms = iso->deadline_ms;
   if (map_control(iso, err) < 0 || open_channels(iso, err) < 0 || start_child(in, err) < 0)
      return -1;
   uint64_t limit = now_ns() + (uint64_t)(iso->policy.start_timeout_ms * 1e6);
   if (finish_start(in, wait_answer(iso, iso->seq, limit), err) < 0) {
      in->state = SONO_HOST_STATE_FAILED;
      return -1;
   }
   in->state = SONO_HOST_STATE_INITIALISED;
   return 0;
}

void sono_iso_destroy(sono_host_instance_t *in)
{
   struct sono_iso *iso = in->iso;
   if (!iso)
      return;
   if (iso->pid > 0 && !iso->busy && !iso->starting && !child_dead(iso)) {
      /* A short grace for destroy(); the child never dlclose()s, so plugin
       * threads that outlive destroy() cannot crash it mid-unload. */
      send_request(iso, SONO_ISO_CMD_SHUTDOWN);
      wait_answer(iso, iso->seq, now_ns() + 200000000u);
   }
   kill_child(iso);
   close_fd(&iso->req_fd);
   close_fd(&iso->resp_fd);
   close_fd(&iso->sock_fd);
   close_fd(&iso->child_sock);
   close_fd(&iso->ctl_fd);
   if (iso->ctl)
      munmap(iso->ctl, iso->map_size);
   if (iso->staging.data)
      sono_host_buffer_destroy(&iso->staging);
   free(iso->copy);
   free(iso->state);
   free(iso);
   in->iso = NULL;
}

const sono_plugin_descriptor_t *sono_iso_descriptor(const sono_host_instance_t *in) { return &in->iso->desc; }

/* ---- synchronous setup calls (main thread) --------------------------------- */

/* Runs one setup request; -1 with a message when the child cannot answer. */
static int call_child(sono_host_instance_t *in, sono_iso_cmd_t cmd, sono_error_t *err)
{
   struct sono_iso *iso = in->iso;
   char msg[SONO_ERROR_MESSAGE_SIZE];
   if (iso->stats.quarantined)
      return sono_error_set(err, "%s: quarantined; only destroy is allowed", pid_of(in));
   if (iso->busy && wait_answer(iso, iso->seq, 0) != ANSWERED)
      return sono_error_set(err, "%s: the plugin process is still busy with frame %llu (past its deadline)",
                            pid_of(in), (unsigned long long)iso->busy_frame);
   iso->busy = 0;
   /* Setup calls run on the main thread and may wait for a restart. */
   if (iso->pid <= 0) {
      iso->stats.restarts++;
      if (start_child(in, err) < 0)
         return -1;
   }
   if (iso->starting &&
       finish_start(in, wait_answer(iso, iso->seq, now_ns() + (uint64_t)(iso->policy.start_timeout_ms * 1e6)),
                    err) < 0)
      return -1;
   send_request(iso, cmd);
   wait_result w = wait_answer(iso, iso->seq, now_ns() + (uint64_t)(iso->policy.start_timeout_ms * 1e6));
   if (w == ANSWERED && iso->ctl->status == 0)
      return 0;
   if (w == ANSWERED) {
      copy_text(msg, sizeof msg, iso->ctl->error, sizeof iso->ctl->error);
      return sono_error_set(err, "%s", msg);
   }
   if (w == TIMED_OUT) {
      kill_child(iso);
      iso->restart_at_ns = now_ns();
      in->last_failure = "deadline";
      return sono_error_set(err, "%s: no answer within %.0f ms; the plugin process was stopped", pid_of(in),
                            iso->policy.start_timeout_ms);
   }
   in->last_failure = reap_child(in, msg, sizeof msg);
   iso->restart_at_ns = now_ns();
   iso->stats.crashes++;
   return sono_error_set(err, "%s", msg);
}

static size_t staging_need(const sono_frame_format_t *f)
{
   size_t px = (size_t)f->max_nx * f->max_nz;
   size_t ens = f->max_ensemble ? f->max_ensemble : 1;
   size_t spec = (size_t)f->max_spectrogram_bins * f->max_spectrogram_columns;
   /* IQ (complex64 x ensemble), RF of the same order, five float planes. */
   return px * ens * 8u * 2u + px * 4u * 5u + spec * 4u + 4096u;
}

int sono_iso_activate(sono_host_instance_t *in, const sono_frame_format_t *format, sono_error_t *err)
{
   struct sono_iso *iso = in->iso;
   size_t need = staging_need(format);
   if (need > iso->staging.size) {
      if (iso->staging.data)
         sono_host_buffer_destroy(&iso->staging);
      if (sono_host_buffer_create(&iso->staging, need, "sono-iso-staging", err) < 0)
         return -1;
      struct stat st;
      iso->staging_inode = fstat(iso->staging.fd, &st) == 0 ? (uint64_t)st.st_ino : 0;
   }
   iso->ctl->format = *format;
   if (call_child(in, SONO_ISO_CMD_ACTIVATE, err) < 0)
      return -1;
   iso->format = *format;
   iso->has_format = 1;
   in->state = SONO_HOST_STATE_ACTIVE;
   return 0;
}

int sono_iso_deactivate(sono_host_instance_t *in, sono_error_t *err)
{
   if (call_child(in, SONO_ISO_CMD_DEACTIVATE, err) < 0)
      return -1;
   in->iso->has_format = 0;
   in->state = SONO_HOST_STATE_INITIALISED;
   return 0;
}

static void remember_param(struct sono_iso *iso, const char *key, double value)
{
   uint32_t i = 0;
   while (i < iso->param_count && strcmp(iso->params[i].key, key) != 0)
      ++i;
   if (i == SONO_ISO_MAX_PARAMS)
      return;
   snprintf(iso->params[i].key, sizeof iso->params[i].key, "%s", key);
   iso->params[i].value = value;
   if (i == iso->param_count)
      iso->param_count++;
}

int sono_iso_set_param(sono_host_instance_t *in, const char *key, double value, sono_error_t *err)
{
   struct sono_iso *iso = in->iso;
   snprintf(iso->ctl->param.key, sizeof iso->ctl->param.key, "%s", key);
   iso->ctl->param.value = value;
   if (call_child(in, SONO_ISO_CMD_SET_PARAM, err) < 0)
      return -1;
   remember_param(iso, key, value);
   return 0;
}

int sono_iso_get_param(const sono_host_instance_t *cin, const char *key, double *value, sono_error_t *err)
{
   sono_host_instance_t *in = (sono_host_instance_t *)cin; /* a request changes only the channel */
   snprintf(in->iso->ctl->param.key, sizeof in->iso->ctl->param.key, "%s", key);
   if (call_child(in, SONO_ISO_CMD_GET_PARAM, err) < 0)
      return -1;
   *value = in->iso->ctl->value;
   return 0;
}

int sono_iso_param_info(const sono_host_instance_t *cin, uint32_t index, sono_param_info_t *info)
{
   sono_host_instance_t *in = (sono_host_instance_t *)cin;
   in->iso->ctl->param_index = index;
   if (call_child(in, SONO_ISO_CMD_PARAM_INFO, NULL) < 0 || !in->iso->ctl->found)
      return 0;
   *info = in->iso->ctl->info;
   info->key[sizeof info->key - 1] = info->name[sizeof info->name - 1] = info->unit[sizeof info->unit - 1] = '\0';
   return 1;
}

static int keep_state(struct sono_iso *iso, const uint8_t *bytes, size_t size)
{
   uint8_t *copy = malloc(size ? size : 1);
   if (!copy)
      return -1;
   memcpy(copy, bytes, size);
   free(iso->state);
   iso->state = copy;
   iso->state_size = size;
   return 0;
}

int sono_iso_save_state(sono_host_instance_t *in, uint8_t **bytes, size_t *size, sono_error_t *err)
{
   struct sono_iso *iso = in->iso;
   if (call_child(in, SONO_ISO_CMD_SAVE_STATE, err) < 0)
      return -1;
   uint64_t n = iso->ctl->event_bytes;
   if (n > iso->area_size)
      return sono_error_set(err, "%s: state of %llu bytes is larger than the event area", pid_of(in),
                            (unsigned long long)n);
   *bytes = malloc(n ? n : 1);
   if (!*bytes)
      return sono_error_set(err, "%s: out of memory for a %llu-byte state", pid_of(in), (unsigned long long)n);
   memcpy(*bytes, iso->area, n);
   *size = n;
   keep_state(iso, *bytes, n); /* the last saved state is what a restart restores */
   return 0;
}

int sono_iso_load_state(sono_host_instance_t *in, const uint8_t *bytes, size_t size, sono_error_t *err)
{
   struct sono_iso *iso = in->iso;
   if (size > iso->area_size)
      return sono_error_set(err, "%s: state of %zu bytes is larger than the %llu-byte exchange area", pid_of(in),
                            size, (unsigned long long)iso->area_size);
   memcpy(iso->area, bytes, size);
   iso->ctl->state_size = size;
   if (call_child(in, SONO_ISO_CMD_LOAD_STATE, err) < 0)
      return -1;
   keep_state(iso, bytes, size);
   return 0;
}

/* ---- frames ---------------------------------------------------------------- */

static int dtype_bytes(sono_dtype_t t)
{
   switch (t) {
   case SONO_DTYPE_COMPLEX64: return 8;
   case SONO_DTYPE_FLOAT32: return 4;
   case SONO_DTYPE_INT16: return 2;
   case SONO_DTYPE_UINT8: return 1;
   default: return 0;
   }
}

/* Byte span of a strided plane: offset of its lowest element from element
 * (0,0,0) and the bytes up to the end of its highest element. */
static int plane_span(const sono_plane_t *p, int64_t *low, uint64_t *extent)
{
   int64_t lo = 0, hi = 0, es = dtype_bytes(p->dtype);
   if (!es)
      return -1;
   for (int a = 0; a < 3; ++a) {
      if (!p->shape[a])
         return -1;
      int64_t reach = (int64_t)(p->shape[a] - 1) * p->stride[a] * es;
      if (reach < 0)
         lo += reach;
      else
         hi += reach;
   }
   *low = lo;
   *extent = (uint64_t)(hi - lo + es);
   return 0;
}

static int send_buffer(struct sono_iso *iso, uint32_t slot, int fd, uint64_t size)
{
   sono_iso_buffer_msg_t m = {slot, 0, size};
   struct iovec iov = {&m, sizeof m};
   union {
      struct cmsghdr h;
      char buf[CMSG_SPACE(sizeof(int))];
   } u;
   struct msghdr msg;
   memset(&msg, 0, sizeof msg);
   memset(&u, 0, sizeof u);
   msg.msg_iov = &iov;
   msg.msg_iovlen = 1;
   msg.msg_control = u.buf;
   msg.msg_controllen = sizeof u.buf;
   struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
   c->cmsg_level = SOL_SOCKET;
   c->cmsg_type = SCM_RIGHTS;
   c->cmsg_len = CMSG_LEN(sizeof(int));
   memcpy(CMSG_DATA(c), &fd, sizeof fd);
   return sendmsg(iso->sock_fd, &msg, MSG_NOSIGNAL) == (ssize_t)sizeof m ? 0 : -1;
}

/* The slot of a shared buffer in this child, announcing it when new. */
static int slot_for(struct sono_iso *iso, const sono_iso_shared_t *s, uint32_t *sent)
{
   uint32_t free_slot = 0;
   for (uint32_t i = 1; i < SONO_ISO_MAX_BUFFERS; ++i) {
      if (iso->slots[i].inode == s->inode && iso->slots[i].base == s->base)
         return (int)i;
      if (!free_slot && !iso->slots[i].inode)
         free_slot = i;
   }
   if (!free_slot)
      free_slot = 1 + (uint32_t)(s->inode % (SONO_ISO_MAX_BUFFERS - 1)); /* replace one */
   if (send_buffer(iso, free_slot, s->fd, s->size) < 0)
      return -1;
   iso->slots[free_slot] = (slot_info){s->inode, s->base, s->size};
   (*sent)++;
   return (int)free_slot;
}

static int staging_slot(struct sono_iso *iso, uint32_t *sent)
{
   slot_info *s = &iso->slots[SONO_ISO_STAGING_SLOT];
   if (s->inode == iso->staging_inode && s->base == iso->staging.data)
      return 0;
   if (send_buffer(iso, SONO_ISO_STAGING_SLOT, iso->staging.fd, iso->staging.size) < 0)
      return -1;
   *s = (slot_info){iso->staging_inode, iso->staging.data, iso->staging.size};
   (*sent)++;
   return 0;
}

/* Places each plane: by reference in a shared buffer, else copied once into
 * the staging buffer (counted). -1 when a plane cannot be passed. */
static int place_planes(sono_host_instance_t *in, const sono_frame_t *f, sono_error_t *err)
{
   struct sono_iso *iso = in->iso;
   sono_iso_control_t *c = iso->ctl;
   uint32_t sent = 0;
   uint64_t staged = 0;
   if (f->plane_count > SONO_ISO_MAX_PLANES)
      return sono_error_set(err, "%s: frame %llu has %u planes (at most %d)", pid_of(in),
                            (unsigned long long)f->sequence, f->plane_count, SONO_ISO_MAX_PLANES);
   uint32_t n = 0;
   for (uint32_t k = 0; k < f->plane_count; ++k) {
      const sono_plane_t *p = &f->planes[k];
      /* Only the planes the plugin declared cross the boundary. */
      if (p->kind < 0 || p->kind >= 32 || !(iso->desc.planes_needed & SONO_PLANE_BIT(p->kind)))
         continue;
      uint32_t i = n++;
      int64_t low;
      uint64_t extent;
      sono_iso_shared_t sh;
      if (!p->data || plane_span(p, &low, &extent) < 0)
         return sono_error_set(err, "%s: frame %llu: plane %u has no data or an unknown dtype/shape", pid_of(in),
                               (unsigned long long)f->sequence, i);
      c->planes[i] = *p;
      c->planes[i].data = NULL;
      c->refs[i].extent = extent;
      c->refs[i].low = low;
      if (sono_iso_find_shared(p->data, low, extent, &sh)) {
         int slot = slot_for(iso, &sh, &sent);
         if (slot < 0)
            return sono_error_set(err, "%s: passing a frame buffer to the plugin process: %s", pid_of(in),
                                  strerror(errno));
         c->refs[i].slot = (uint32_t)slot;
         c->refs[i].offset = (uint64_t)((const uint8_t *)p->data - sh.base);
         continue;
      }
      staged = (staged + 63u) & ~(uint64_t)63u;
      if (!iso->staging.data || extent > iso->staging.size - staged)
         return sono_error_set(err, "%s: frame %llu: plane %u (%llu bytes) exceeds the activated format", pid_of(in),
                               (unsigned long long)f->sequence, i, (unsigned long long)extent);
      if (staging_slot(iso, &sent) < 0)
         return sono_error_set(err, "%s: passing the staging buffer: %s", pid_of(in), strerror(errno));
      memcpy((uint8_t *)iso->staging.data + staged, (const uint8_t *)p->data + low, extent);
      c->refs[i].slot = SONO_ISO_STAGING_SLOT;
      c->refs[i].offset = staged - (uint64_t)low;
      staged += extent;
      iso->stats.plane_copies++;
      iso->stats.plane_bytes_copied += extent;
   }
   c->frame = *f;
   c->frame.planes = NULL;
   c->frame.plane_count = n;
   c->buffers_sent = sent;
   return 0;
}

typedef struct sink_ctx {
   sono_host_instance_t *in;
} sink_ctx;

static void reject(sono_host_instance_t *in, const char *why)
{
   in->rejected_last++;
   in->rejected_total++;
   snprintf(in->diagnostic, sizeof in->diagnostic, "%s, frame %llu: event dropped: %s", pid_of(in),
            (unsigned long long)in->sequence, why);
}

static void store_event(void *ctx, const sono_event_header_t *ev, const char *why)
{
   sono_host_instance_t *in = ctx;
   sono_error_t err;
   if (ev && sono_event_store_push(in->store, ev, &err) == 0)
      return;
   reject(in, ev ? err.message : why);
}

static void collect_answer(sono_host_instance_t *in, const sono_frame_t *f)
{
   struct sono_iso *iso = in->iso;
   sono_iso_control_t *c = iso->ctl;
   uint64_t used = c->event_bytes;
   uint32_t count = c->event_count, child_rejected = c->rejected;
   if (child_rejected) {
      char d[SONO_ERROR_MESSAGE_SIZE];
      copy_text(d, sizeof d, c->diagnostic, sizeof c->diagnostic);
      in->rejected_last += child_rejected;
      in->rejected_total += child_rejected;
      snprintf(in->diagnostic, sizeof in->diagnostic, "%s", d);
   }
   if (c->rt_violations > iso->stats.rt_violations) {
      char first[256];
      copy_text(first, sizeof first, c->rt_first, sizeof c->rt_first);
      snprintf(in->diagnostic, sizeof in->diagnostic, "%s, frame %llu: real-time: %s (%llu so far)", pid_of(in),
               (unsigned long long)f->sequence, first, (unsigned long long)c->rt_violations);
      iso->stats.rt_violations = c->rt_violations;
   }
   if (used > iso->area_size || count > iso->max_events) {
      reject(in, "the child's event area header is out of bounds; no event taken");
      return;
   }
   memcpy(iso->copy, iso->area, used);
   if (sono_iso_decode_events(iso->copy, used, count, &f->grid, store_event, in) < 0)
      reject(in, "malformed event records from the child; the rest were ignored");
}

/* ---- failures and policy --------------------------------------------------- */

static double backoff_ms(const struct sono_iso *iso)
{
   double b = iso->policy.restart_backoff_ms;
   if (b < 0)
      return 0;
   for (uint32_t i = 1; i < iso->consecutive_crashes && b < 5000.0; ++i)
      b *= 2;
   return b < 5000.0 ? b : 5000.0;
}

static int quarantine(sono_host_instance_t *in, sono_error_t *err, const char *why)
{
   struct sono_iso *iso = in->iso;
   kill_child(iso);
   iso->stats.quarantined = 1;
   in->state = SONO_HOST_STATE_FAILED;
   return sono_error_set(err, "%s; quarantined", why);
}

static int fail(sono_host_instance_t *in, const char *reason, sono_error_t *err, const char *fmt, ...)
   __attribute__((format(printf, 4, 5)));
static int fail(sono_host_instance_t *in, const char *reason, sono_error_t *err, const char *fmt, ...)
{
   va_list ap;
   va_start(ap, fmt);
   in->last_failure = reason;
   sono_error_vset(err, fmt, ap);
   va_end(ap);
   return -1;
}

static int on_crash(sono_host_instance_t *in, sono_error_t *err)
{
   struct sono_iso *iso = in->iso;
   char msg[SONO_ERROR_MESSAGE_SIZE];
   in->last_failure = reap_child(in, msg, sizeof msg);
   iso->stats.crashes++;
   iso->consecutive_crashes++;
   if (iso->consecutive_crashes >= iso->policy.crash_loop_limit) {
      char why[SONO_ERROR_MESSAGE_SIZE + 64];
      snprintf(why, sizeof why, "%s; crash loop (%u consecutive)", msg, iso->consecutive_crashes);
      return quarantine(in, err, why);
   }
   double b = backoff_ms(iso);
   iso->restart_at_ns = now_ns() + (uint64_t)(b * 1e6);
   return sono_error_set(err, "%s; restart in %.0f ms", msg, b);
}

static int on_miss(sono_host_instance_t *in, sono_error_t *err, const char *what, double limit_ms)
{
   struct sono_iso *iso = in->iso;
   iso->stats.deadline_misses++;
   iso->stats.consecutive_misses++;
   in->last_failure = "deadline";
   char msg[SONO_ERROR_MESSAGE_SIZE], within[160] = "";
   if (limit_ms > 0)
      snprintf(within, sizeof within, " within %.1f ms (declared cost %.1f ms x %.1f%s)", limit_ms,
               in->lib->manifest.cost_per_frame_s * 1e3, iso->policy.deadline_factor,
               limit_ms > iso->deadline_ms ? ", warm-up deadline of a new process" : "");
   snprintf(msg, sizeof msg, "%s: deadline: %s%s; %u consecutive miss(es), quarantine after %u", pid_of(in), what,
            within, iso->stats.consecutive_misses, iso->policy.quarantine_after_misses);
   if (iso->stats.consecutive_misses < iso->policy.quarantine_after_misses)
      return sono_error_set(err, "%s", msg);
   if (!iso->policy.restart_after_quarantine)
      return quarantine(in, err, msg);
   kill_child(iso);
   iso->stats.consecutive_misses = 0;
   iso->consecutive_crashes++;
   if (iso->consecutive_crashes >= iso->policy.crash_loop_limit)
      return quarantine(in, err, msg);
   iso->restart_at_ns = now_ns() + (uint64_t)(backoff_ms(iso) * 1e6);
   return sono_error_set(err, "%s; restarting with the last saved state", msg);
}

/* Makes the child ready for a frame without waiting: 1 ready, or -1 with
 * the reason this frame is skipped. */
static int ready_for_frame(sono_host_instance_t *in, const sono_frame_t *f, sono_error_t *err)
{
   struct sono_iso *iso = in->iso;
   if (iso->pid <= 0) {
      if (now_ns() < iso->restart_at_ns)
         return fail(in, "restarting", err, "%s: frame %llu skipped: the plugin process restarts after its backoff",
                     pid_of(in), (unsigned long long)f->sequence);
      iso->stats.restarts++;
      if (start_child(in, err) < 0)
         return fail(in, "restarting", err, "%s", err->message);
   }
   if (iso->starting) {
      wait_result w = wait_answer(iso, iso->seq, 0);
      if (w == TIMED_OUT)
         return fail(in, "restarting", err, "%s: frame %llu skipped: the plugin process is starting", pid_of(in),
                     (unsigned long long)f->sequence);
      if (w == DIED)
         return on_crash(in, err);
      if (finish_start(in, w, err) < 0) {
         iso->consecutive_crashes++;
         iso->restart_at_ns = now_ns() + (uint64_t)(backoff_ms(iso) * 1e6);
         return fail(in, "restarting", err, "%s", err->message);
      }
   }
   if (iso->busy) {
      wait_result w = wait_answer(iso, iso->seq, 0);
      if (w == DIED)
         return on_crash(in, err);
      if (w == TIMED_OUT) {
         char what[128];
         snprintf(what, sizeof what, "process() of frame %llu still running, frame %llu not sent",
                  (unsigned long long)iso->busy_frame, (unsigned long long)f->sequence);
         return on_miss(in, err, what, 0);
      }
      iso->busy = 0; /* the late answer is discarded: its frame was already delivered */
   }
   return 1;
}

int sono_iso_process(sono_host_instance_t *in, const sono_frame_t *f, sono_error_t *err)
{
   struct sono_iso *iso = in->iso;
   uint64_t t0 = now_ns();
   in->last_failure = NULL;
   if (iso->stats.quarantined)
      return fail(in, "quarantined", err, "%s: quarantined; frame %llu not processed", pid_of(in),
                  (unsigned long long)f->sequence);
   if (ready_for_frame(in, f, err) < 0) {
      in->last_ns = now_ns() - t0;
      return -1;
   }
   if (place_planes(in, f, err) < 0)
      return fail(in, "error", err, "%s", err->message);
   /* The plugin's time starts when the frame is handed over; a copy into
    * the staging buffer is the host's own work, counted in plane_copies. */
   double limit_ms = iso->warm ? iso->deadline_ms
                     : iso->deadline_ms > iso->policy.warmup_deadline_ms ? iso->deadline_ms
                                                                         : iso->policy.warmup_deadline_ms;
   uint64_t deadline = now_ns() + (uint64_t)(limit_ms * 1e6);
   send_request(iso, SONO_ISO_CMD_PROCESS);
   wait_result w = wait_answer(iso, iso->seq, deadline);
   in->last_ns = now_ns() - t0;
   if (w == DIED)
      return on_crash(in, err);
   if (w == TIMED_OUT) {
      iso->busy = 1;
      iso->busy_frame = f->sequence;
      char what[128];
      snprintf(what, sizeof what, "process() of frame %llu did not finish", (unsigned long long)f->sequence);
      return on_miss(in, err, what, limit_ms);
   }
   iso->stats.consecutive_misses = 0;
   iso->consecutive_crashes = 0;
   iso->warm = 1;
   collect_answer(in, f);
   if (iso->ctl->denied_count > iso->denied_seen) {
      char name[64];
      copy_text(name, sizeof name, iso->ctl->denied_name, sizeof iso->ctl->denied_name);
      iso->stats.sandbox_denials += iso->ctl->denied_count - iso->denied_seen;
      iso->denied_seen = iso->ctl->denied_count;
      return fail(in, "seccomp", err,
                  "%s: seccomp: %s() denied in process() of frame %llu (a file-system change; the call failed with "
                  "EACCES and the frame's results were discarded)",
                  pid_of(in), name, (unsigned long long)f->sequence);
   }
   if (iso->ctl->status != 0 || iso->ctl->plugin_status != SONO_OK)
      return fail(in, "error", err, "%s: process() of frame %llu returned status %d", pid_of(in),
                  (unsigned long long)f->sequence, iso->ctl->plugin_status);
   return 0;
}

void sono_host_instance_isolation_stats(const sono_host_instance_t *in, sono_host_isolation_stats_t *stats)
{
   memset(stats, 0, sizeof *stats);
   if (in->iso)
      *stats = in->iso->stats;
}

const char *sono_host_instance_last_failure(const sono_host_instance_t *in) { return in->last_failure; }
