/* sono-plugin-runner: loads one plugin instance inside the sandbox and
 * answers the host's requests until SHUTDOWN or until the host goes away.
 *
 * Order at start: limits and crash reporters, then the seccomp filter, and
 * only then the plugin binary, so its sono_entry.init() already runs
 * sandboxed. The runner never dlclose()s: at the end it destroys the
 * instance and exits, so a plugin thread that outlived destroy() cannot run
 * into unmapped code. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sono/host/host.h>

#include "runner.h"

sono_iso_control_t *runner_control;

typedef struct runner {
   const char *manifest;
   const char *plugin_id;
   const char *scratch;
   uint64_t memory;
   uint32_t cpu;
   sono_iso_control_t *ctl;
   uint8_t *area;
   uint64_t area_size;
   sono_host_library_t *lib;
   sono_host_instance_t *inst;
   const uint8_t *slot_base[SONO_ISO_MAX_BUFFERS];
   size_t slot_size[SONO_ISO_MAX_BUFFERS];
   sono_plane_t planes[SONO_ISO_MAX_PLANES];
} runner;

static uint64_t now_ns(void)
{
   struct timespec ts;
   clock_gettime(CLOCK_MONOTONIC, &ts);
   return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int parse_args(int argc, char **argv, runner *r)
{
   for (int i = 1; i + 1 < argc; i += 2) {
      const char *k = argv[i], *v = argv[i + 1];
      if (!strcmp(k, "--manifest")) r->manifest = v;
      else if (!strcmp(k, "--plugin")) r->plugin_id = v;
      else if (!strcmp(k, "--memory")) r->memory = strtoull(v, NULL, 10);
      else if (!strcmp(k, "--cpu")) r->cpu = (uint32_t)strtoul(v, NULL, 10);
      else if (!strcmp(k, "--scratch")) r->scratch = v;
      else if (strcmp(k, "--host-pid") != 0) return -1;
   }
   return r->manifest && r->plugin_id ? 0 : -1;
}

static int map_control(runner *r)
{
   struct stat st;
   if (fstat(SONO_ISO_FD_CONTROL, &st) < 0 || (size_t)st.st_size < sizeof(sono_iso_control_t))
      return -1;
   void *p = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, SONO_ISO_FD_CONTROL, 0);
   if (p == MAP_FAILED)
      return -1;
   r->ctl = runner_control = p;
   if (r->ctl->magic != SONO_ISO_MAGIC || r->ctl->area_offset + r->ctl->area_size > (uint64_t)st.st_size)
      return -1;
   r->area = (uint8_t *)p + r->ctl->area_offset;
   r->area_size = r->ctl->area_size;
   return 0;
}

static void answer(runner *r, int status)
{
   uint64_t one = 1;
   r->ctl->status = status;
   r->ctl->current_call = SONO_ISO_CALL_IDLE;
   __atomic_store_n(&r->ctl->resp_seq, __atomic_load_n(&r->ctl->req_seq, __ATOMIC_ACQUIRE), __ATOMIC_RELEASE);
   if (write(SONO_ISO_FD_RESPONSE, &one, sizeof one) < 0) {
      /* the host sees resp_seq when it next looks */
   }
}

static int fail(runner *r, const char *msg)
{
   snprintf(r->ctl->error, sizeof r->ctl->error, "%s", msg);
   return -1;
}

static uint32_t count_threads(void)
{
   FILE *f = fopen("/proc/self/status", "r");
   char line[256];
   unsigned n = 1;
   while (f && fgets(line, sizeof line, f))
      if (sscanf(line, "Threads: %u", &n) == 1)
         break;
   if (f)
      fclose(f);
   return n > 1 ? n - 1 : 0;
}

/* ---- commands -------------------------------------------------------------- */

static void describe(runner *r)
{
   sono_iso_control_t *c = r->ctl;
   const sono_plugin_descriptor_t *d = sono_host_instance_descriptor(r->inst);
   c->abi_version = d->abi_version;
   c->planes_needed = d->planes_needed;
   c->concurrency = d->concurrency;
   c->determinism = d->determinism;
   c->plugin_count = sono_host_library_plugin_count(r->lib);
   snprintf(c->desc_id, sizeof c->desc_id, "%s", d->id ? d->id : "");
   snprintf(c->desc_name, sizeof c->desc_name, "%s", d->name ? d->name : "");
   snprintf(c->desc_vendor, sizeof c->desc_vendor, "%s", d->vendor ? d->vendor : "");
   snprintf(c->desc_version, sizeof c->desc_version, "%s", d->version ? d->version : "");
   snprintf(c->desc_description, sizeof c->desc_description, "%s", d->description ? d->description : "");
}

static int cmd_start(runner *r)
{
   sono_iso_control_t *c = r->ctl;
   sono_error_t err;
   c->current_call = SONO_ISO_CALL_LOAD;
   r->lib = sono_host_library_load(r->manifest, &err);
   if (!r->lib)
      return fail(r, err.message);
   sono_host_instance_options_t opt = {c->max_events, (size_t)c->max_event_bytes, SONO_HOST_RUN_IN_PROCESS, NULL};
   c->current_call = SONO_ISO_CALL_CREATE;
   r->inst = sono_host_instance_create(r->lib, r->plugin_id, &opt, &err);
   if (!r->inst)
      return fail(r, err.message);
   c->current_call = SONO_ISO_CALL_PARAMS;
   for (uint32_t i = 0; i < c->param_count && i < SONO_ISO_MAX_PARAMS; ++i) {
      c->params[i].key[sizeof c->params[i].key - 1] = '\0';
      if (sono_host_instance_set_param(r->inst, c->params[i].key, c->params[i].value, &err) < 0)
         return fail(r, err.message);
   }
   c->current_call = SONO_ISO_CALL_STATE;
   if (c->has_state && c->state_size <= r->area_size &&
       sono_host_instance_load_state(r->inst, r->area, (size_t)c->state_size, &err) < 0)
      return fail(r, err.message);
   c->current_call = SONO_ISO_CALL_ACTIVATE;
   if (c->has_format && sono_host_instance_activate(r->inst, &c->format, &err) < 0)
      return fail(r, err.message);
   describe(r);
   c->child_threads = count_threads();
   return 0;
}

/* Maps the frame buffers the host announced before this request. */
static int receive_buffers(runner *r, uint32_t count)
{
   for (uint32_t i = 0; i < count; ++i) {
      sono_iso_buffer_msg_t m;
      struct iovec iov = {&m, sizeof m};
      union {
         struct cmsghdr h;
         char buf[CMSG_SPACE(sizeof(int))];
      } u;
      struct msghdr msg;
      memset(&msg, 0, sizeof msg);
      msg.msg_iov = &iov;
      msg.msg_iovlen = 1;
      msg.msg_control = u.buf;
      msg.msg_controllen = sizeof u.buf;
      if (recvmsg(SONO_ISO_FD_SOCKET, &msg, MSG_CMSG_CLOEXEC) != (ssize_t)sizeof m)
         return fail(r, "frame buffer announcement lost");
      struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
      int fd;
      if (!c || c->cmsg_type != SCM_RIGHTS || m.slot >= SONO_ISO_MAX_BUFFERS)
         return fail(r, "frame buffer announcement without a descriptor");
      memcpy(&fd, CMSG_DATA(c), sizeof fd);
      if (r->slot_base[m.slot])
         munmap((void *)r->slot_base[m.slot], r->slot_size[m.slot]);
      /* Read-only: a plugin writing its input faults instead of corrupting
       * the frame every other plugin sees. */
      void *p = mmap(NULL, (size_t)m.size, PROT_READ, MAP_SHARED, fd, 0);
      close(fd);
      r->slot_base[m.slot] = p == MAP_FAILED ? NULL : p;
      r->slot_size[m.slot] = p == MAP_FAILED ? 0 : (size_t)m.size;
      runner_note_mapping(m.slot, r->slot_base[m.slot], r->slot_size[m.slot]);
      if (p == MAP_FAILED)
         return fail(r, "cannot map a frame buffer read-only");
   }
   return 0;
}

static int build_frame(runner *r, sono_frame_t *f)
{
   sono_iso_control_t *c = r->ctl;
   *f = c->frame;
   if (f->plane_count > SONO_ISO_MAX_PLANES)
      return fail(r, "too many planes");
   for (uint32_t i = 0; i < f->plane_count; ++i) {
      const sono_iso_plane_ref_t *ref = &c->refs[i];
      const uint8_t *base = ref->slot < SONO_ISO_MAX_BUFFERS ? r->slot_base[ref->slot] : NULL;
      size_t size = ref->slot < SONO_ISO_MAX_BUFFERS ? r->slot_size[ref->slot] : 0;
      int64_t lo = (int64_t)ref->offset + ref->low;
      if (!base || lo < 0 || (uint64_t)lo > size || ref->extent > size - (uint64_t)lo)
         return fail(r, "a plane lies outside its frame buffer");
      r->planes[i] = c->planes[i];
      r->planes[i].data = base + ref->offset;
   }
   f->planes = r->planes;
   return 0;
}

static void encode_events(runner *r)
{
   sono_iso_control_t *c = r->ctl;
   const sono_event_store_t *st = sono_host_instance_events(r->inst);
   uint64_t used = 0;
   uint32_t n = 0, dropped = 0;
   for (uint32_t i = 0; i < sono_event_store_count(st); ++i) {
      if (sono_iso_encode_event(r->area, r->area_size, &used, sono_event_store_get(st, i)) == 0)
         n++;
      else
         dropped++;
   }
   c->event_count = n;
   c->event_bytes = used;
   c->rejected = sono_host_instance_rejected_last(r->inst) + dropped;
   const char *d = sono_host_instance_last_diagnostic(r->inst);
   snprintf(c->diagnostic, sizeof c->diagnostic, "%s",
            dropped ? "events beyond the shared event area were dropped" : d ? d : "");
}

static int cmd_process(runner *r)
{
   sono_iso_control_t *c = r->ctl;
   sono_frame_t f;
   sono_error_t err;
   if (receive_buffers(r, c->buffers_sent) < 0 || build_frame(r, &f) < 0)
      return -1;
   c->current_frame = f.sequence;
   c->current_call = SONO_ISO_CALL_PROCESS;
   uint64_t t0 = now_ns();
   runner_rt_arm(1);
   int rc = sono_host_instance_process(r->inst, &f, &err);
   runner_rt_arm(0);
   c->duration_ns = now_ns() - t0;
   c->current_call = SONO_ISO_CALL_IDLE;
   c->plugin_status = rc == 0 ? SONO_OK : SONO_ERROR;
   c->rt_violations = runner_rt_count(c->rt_first, sizeof c->rt_first);
   encode_events(r);
   if (rc < 0)
      snprintf(c->error, sizeof c->error, "%s", err.message);
   return 0;
}

static int cmd_setup(runner *r, sono_iso_cmd_t cmd)
{
   sono_iso_control_t *c = r->ctl;
   sono_error_t err;
   int rc = 0;
   c->param.key[sizeof c->param.key - 1] = '\0';
   switch (cmd) {
   case SONO_ISO_CMD_ACTIVATE:
      c->current_call = SONO_ISO_CALL_ACTIVATE;
      rc = sono_host_instance_activate(r->inst, &c->format, &err);
      break;
   case SONO_ISO_CMD_DEACTIVATE:
      c->current_call = SONO_ISO_CALL_DEACTIVATE;
      rc = sono_host_instance_deactivate(r->inst, &err);
      break;
   case SONO_ISO_CMD_SET_PARAM:
      c->current_call = SONO_ISO_CALL_PARAMS;
      rc = sono_host_instance_set_param(r->inst, c->param.key, c->param.value, &err);
      break;
   case SONO_ISO_CMD_GET_PARAM:
      c->current_call = SONO_ISO_CALL_PARAMS;
      rc = sono_host_instance_get_param(r->inst, c->param.key, &c->value, &err);
      break;
   case SONO_ISO_CMD_PARAM_INFO:
      c->current_call = SONO_ISO_CALL_PARAMS;
      c->found = sono_host_instance_param_info(r->inst, c->param_index, &c->info);
      break;
   case SONO_ISO_CMD_SAVE_STATE: {
      uint8_t *bytes = NULL;
      size_t size = 0;
      c->current_call = SONO_ISO_CALL_STATE;
      rc = sono_host_instance_save_state(r->inst, &bytes, &size, &err);
      if (rc == 0 && size > r->area_size)
         rc = sono_error_set(&err, "state of %zu bytes does not fit the exchange area", size);
      if (rc == 0)
         memcpy(r->area, bytes, size), c->event_bytes = size;
      free(bytes);
      break;
   }
   case SONO_ISO_CMD_LOAD_STATE:
      c->current_call = SONO_ISO_CALL_STATE;
      rc = c->state_size > r->area_size
              ? sono_error_set(&err, "state size out of range")
              : sono_host_instance_load_state(r->inst, r->area, (size_t)c->state_size, &err);
      break;
   default:
      rc = sono_error_set(&err, "unknown request %d", cmd);
   }
   c->child_threads = count_threads();
   return rc < 0 ? fail(r, err.message) : 0;
}

static void shutdown_instance(runner *r)
{
   r->ctl->current_call = SONO_ISO_CALL_DESTROY;
   sono_host_instance_destroy(r->inst);
   r->inst = NULL;
}

/* Waits for the next request; returns 0 when the host is gone. */
static int wait_request(void)
{
   for (;;) {
      struct pollfd pf[2] = {{SONO_ISO_FD_REQUEST, POLLIN, 0}, {SONO_ISO_FD_SOCKET, 0, 0}};
      if (poll(pf, 2, -1) < 0 && errno != EINTR)
         return 0;
      if (pf[0].revents & POLLIN) {
         uint64_t v;
         if (read(SONO_ISO_FD_REQUEST, &v, sizeof v) == sizeof v)
            return 1;
      }
      if (pf[1].revents & (POLLHUP | POLLERR))
         return 0;
   }
}

static void serve(runner *r)
{
   uint64_t done = 0;
   while (wait_request()) {
      uint64_t seq = __atomic_load_n(&r->ctl->req_seq, __ATOMIC_ACQUIRE);
      if (seq == done)
         continue;
      done = seq;
      sono_iso_cmd_t cmd = r->ctl->cmd;
      int rc;
      if (cmd == SONO_ISO_CMD_START)
         rc = cmd_start(r);
      else if (!r->inst)
         rc = fail(r, "no instance: START failed earlier");
      else if (cmd == SONO_ISO_CMD_PROCESS)
         rc = cmd_process(r);
      else if (cmd == SONO_ISO_CMD_SHUTDOWN) {
         shutdown_instance(r);
         answer(r, 0);
         return;
      } else
         rc = cmd_setup(r, cmd);
      answer(r, rc);
   }
}

#if defined(__SANITIZE_ADDRESS__)
/* LeakSanitizer's exit-time check stops the process's threads with ptrace,
 * which the sandbox forbids: in a sanitizer build of the runner it would turn
 * a plugin's exit() into a SIGSYS. Leaks of the host are still checked. */
int __lsan_is_turned_off(void);
int __lsan_is_turned_off(void) { return 1; }
#endif

int main(int argc, char **argv)
{
   runner r;
   char msg[512];
   memset(&r, 0, sizeof r);
   if (parse_args(argc, argv, &r) < 0 || map_control(&r) < 0) {
      fprintf(stderr, "sono-plugin-runner: started by libsono_host only (isolated mode); see docs/host-guide.md\n");
      return 2;
   }
   if (r.scratch && chdir(r.scratch) < 0) {
      snprintf(msg, sizeof msg, "scratch folder %s: %s", r.scratch, strerror(errno));
      fail(&r, msg);
      answer(&r, -1);
      return 1;
   }
   if (runner_limits(r.memory, r.cpu, msg, sizeof msg) < 0 || runner_seccomp(msg, sizeof msg) < 0) {
      fail(&r, msg);
      answer(&r, -1);
      return 1;
   }
   serve(&r);
   if (r.inst)
      shutdown_instance(&r);
   _exit(0);
}
