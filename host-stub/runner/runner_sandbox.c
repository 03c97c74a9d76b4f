/* The sandbox of an isolated plugin: rlimits, crash reporters and a seccomp
 * filter.
 *
 * The filter is a deny-list with SECCOMP_RET_TRAP: each forbidden system
 * call raises SIGSYS, whose handler writes the call's name into the control
 * block before the child dies, so the host reports "seccomp: socket()
 * denied" instead of an unexplained crash. Calls that would change a file
 * are refused more gently: the handler makes them return EACCES and records
 * them, and the plugin goes on (the host still fails a frame during which
 * one happened, reason "seccomp"). Denied:
 *   network      socket, socketpair, connect, bind, listen, accept(4), send*
 *   programs     execve, execveat, fork, vfork, clone without CLONE_THREAD,
 *                ptrace, process_vm_readv/writev, kill/tgkill of another process
 *   files        open/openat for writing (O_WRONLY, O_RDWR, O_CREAT, O_TRUNC),
 *                openat2, creat, rename*, unlink*, mkdir*, rmdir, link*,
 *                symlink*, truncate, chmod*, chown*, mknod*, *xattr writes
 *   the system   mount, umount2, pivot_root, chroot, unshare, setns, bpf,
 *                perf_event_open, io_uring_setup, module and key calls, reboot
 * A seccomp filter cannot look at a path, so write-mode opens are denied
 * everywhere, the scratch folder (the child's working folder) included:
 * plugins read files but never create or change one.
 * Threads stay allowed (clone with CLONE_THREAD; clone3 answers ENOSYS so
 * glibc falls back to clone, whose flags the filter can see). */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#include "runner.h"

#if defined(__SANITIZE_ADDRESS__)
#define RUNNER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RUNNER_ASAN 1
#endif
#endif

/* Under AddressSanitizer the reporters below must see the signals first. */
__attribute__((visibility("default"))) const char *__asan_default_options(void)
{
   return "handle_segv=0:handle_sigbus=0:handle_abort=0:handle_sigill=0:handle_sigfpe=0:detect_leaks=0:"
          "allow_user_segv_handler=1";
}

static const char *const denied[] = {
   "socket", "socketpair", "connect", "bind", "listen", "accept", "accept4", "sendto", "sendmsg", "sendmmsg",
   "execve", "execveat", "fork", "vfork", "ptrace", "process_vm_readv", "process_vm_writev",
   "openat2", "creat", "rename", "renameat", "renameat2", "unlink", "unlinkat", "mkdir", "mkdirat", "rmdir",
   "link", "linkat", "symlink", "symlinkat", "truncate", "ftruncate", "chmod", "fchmod", "fchmodat", "chown",
   "fchown", "lchown", "fchownat", "mknod", "mknodat", "setxattr", "lsetxattr", "fsetxattr", "removexattr",
   "lremovexattr", "fremovexattr", "mount", "umount2", "pivot_root", "chroot", "unshare", "setns", "bpf",
   "perf_event_open", "io_uring_setup", "init_module", "finit_module", "delete_module", "kexec_load",
   "add_key", "request_key", "keyctl", "reboot", "name_to_handle_at", "open_by_handle_at"};

/* Names of every trapped call, looked up by the SIGSYS handler (no
 * allocation there). Conditional rules add open, openat, clone, kill, tgkill. */
#define MAX_NAMED 96
static struct { int nr; int soft; const char *name; } named[MAX_NAMED];
static int named_count;
static struct { const void *base; size_t size; } maps[SONO_ISO_MAX_BUFFERS];

/* Calls that change files are refused softly (EACCES, reported, the plugin
 * goes on: pthread_setname_np() opens /proc/self/task/N/comm for writing);
 * every other denied call stops the child. */
static const char *const soft_denied[] = {"open", "openat", "creat", "rename", "renameat", "renameat2", "unlink",
                                          "unlinkat", "mkdir", "mkdirat", "rmdir", "link", "linkat", "symlink",
                                          "symlinkat", "truncate", "ftruncate", "chmod", "fchmod", "fchmodat",
                                          "chown", "fchown", "lchown", "fchownat", "mknod", "mknodat"};

static void name_syscall(int nr, const char *name)
{
   int soft = 0;
   for (size_t i = 0; i < sizeof soft_denied / sizeof *soft_denied; ++i)
      soft |= strcmp(name, soft_denied[i]) == 0;
   if (named_count < MAX_NAMED)
      named[named_count].nr = nr, named[named_count].soft = soft, named[named_count++].name = name;
}

static void copy_name(char *dst, size_t size, const char *src)
{
   size_t i = 0;
   for (; src[i] && i + 1 < size; ++i)
      dst[i] = src[i];
   dst[i] = '\0';
}

static void die_by(int sig)
{
   signal(sig, SIG_DFL);
   syscall(SYS_tgkill, getpid(), (pid_t)syscall(SYS_gettid), sig);
}

/* Makes the trapped call return -EACCES instead of killing the child. */
static int refuse_call(void *uc)
{
   ucontext_t *u = uc;
#if defined(__x86_64__)
   u->uc_mcontext.gregs[REG_RAX] = -EACCES;
   return 1;
#elif defined(__aarch64__)
   u->uc_mcontext.regs[0] = (unsigned long long)-EACCES;
   return 1;
#else
   (void)u;
   return 0;
#endif
}

static void on_sigsys(int sig, siginfo_t *si, void *uc)
{
   sono_iso_control_t *c = runner_control;
   if (c) {
      const char *name = "unknown system call";
      int soft = 0;
      for (int i = 0; i < named_count; ++i)
         if (named[i].nr == si->si_syscall)
            name = named[i].name, soft = named[i].soft;
      if (soft && refuse_call(uc)) {
         copy_name(c->denied_name, sizeof c->denied_name, name);
         c->denied_syscall = si->si_syscall;
         c->denied_call = c->current_call;
         c->denied_frame = c->current_frame;
         c->denied_count++;
         return;
      }
      c->fault_syscall = si->si_syscall;
      copy_name(c->fault_name, sizeof c->fault_name, name);
      c->fault = SONO_ISO_FAULT_SECCOMP;
   }
   die_by(sig);
}

static void on_sigsegv(int sig, siginfo_t *si, void *uc)
{
   (void)sig;
   (void)uc;
   sono_iso_control_t *c = runner_control;
   const uint8_t *a = si->si_addr;
   for (int i = 0; c && si->si_code == SEGV_ACCERR && i < SONO_ISO_MAX_BUFFERS; ++i)
      if (maps[i].base && a >= (const uint8_t *)maps[i].base && a < (const uint8_t *)maps[i].base + maps[i].size) {
         c->fault = SONO_ISO_FAULT_WRITE_INPUT;
         c->fault_addr = (uint64_t)(uintptr_t)a;
      }
   /* SA_RESETHAND restored the default action: the faulting instruction
    * runs again and the child dies of SIGSEGV. */
}

static void on_sigxcpu(int sig, siginfo_t *si, void *uc)
{
   (void)si;
   (void)uc;
   if (runner_control)
      runner_control->fault = SONO_ISO_FAULT_CPU_LIMIT;
   die_by(sig);
}

void runner_note_mapping(uint32_t slot, const void *base, size_t size)
{
   if (slot < SONO_ISO_MAX_BUFFERS)
      maps[slot].base = base, maps[slot].size = size;
}

static int install(int sig, void (*fn)(int, siginfo_t *, void *), int flags)
{
   struct sigaction sa;
   memset(&sa, 0, sizeof sa);
   sa.sa_sigaction = fn;
   sa.sa_flags = SA_SIGINFO | SA_ONSTACK | flags;
   sigemptyset(&sa.sa_mask);
   return sigaction(sig, &sa, NULL);
}

int runner_limits(uint64_t memory_bytes, uint32_t cpu_s, char *msg, size_t size)
{
   static uint8_t alt[64 * 1024];
   stack_t ss = {alt, 0, sizeof alt};
   struct rlimit core = {0, 0};
   sigaltstack(&ss, NULL);
   if (install(SIGSYS, on_sigsys, SA_NODEFER) < 0 || install(SIGSEGV, on_sigsegv, SA_RESETHAND) < 0 ||
       install(SIGXCPU, on_sigxcpu, SA_NODEFER) < 0)
      return snprintf(msg, size, "sigaction: %s", strerror(errno)), -1;
   /* No core files: a core of a plugin holds patient data. */
   setrlimit(RLIMIT_CORE, &core);
   if (cpu_s) {
      struct rlimit cpu = {cpu_s, (rlim_t)cpu_s + 1};
      if (setrlimit(RLIMIT_CPU, &cpu) < 0)
         return snprintf(msg, size, "RLIMIT_CPU %u s: %s", cpu_s, strerror(errno)), -1;
   }
#ifndef RUNNER_ASAN
   /* AddressSanitizer reserves terabytes of shadow address space: under it
    * the memory limit cannot be an address-space limit, and is skipped. */
   if (memory_bytes) {
      struct rlimit as = {memory_bytes, memory_bytes};
      if (setrlimit(RLIMIT_AS, &as) < 0)
         return snprintf(msg, size, "RLIMIT_AS %llu bytes: %s", (unsigned long long)memory_bytes, strerror(errno)), -1;
   }
#else
   (void)memory_bytes;
#endif
   return 0;
}

static int add(scmp_filter_ctx ctx, const char *name, unsigned n, const struct scmp_arg_cmp *cmp)
{
   int nr = seccomp_syscall_resolve_name(name);
   if (nr == __NR_SCMP_ERROR || nr < 0)
      return 0; /* not a system call on this architecture */
   name_syscall(nr, name);
   return seccomp_rule_add_array(ctx, SCMP_ACT_TRAP, nr, n, cmp);
}

static int add_open_rules(scmp_filter_ctx ctx, const char *name, unsigned flags_arg)
{
   const struct scmp_arg_cmp rules[] = {
      {flags_arg, SCMP_CMP_MASKED_EQ, O_ACCMODE, O_WRONLY}, {flags_arg, SCMP_CMP_MASKED_EQ, O_ACCMODE, O_RDWR},
      {flags_arg, SCMP_CMP_MASKED_EQ, O_CREAT, O_CREAT},    {flags_arg, SCMP_CMP_MASKED_EQ, O_TRUNC, O_TRUNC}};
   for (int i = 0; i < 4; ++i)
      if (add(ctx, name, 1, &rules[i]) < 0)
         return -1;
   return 0;
}

int runner_seccomp(char *msg, size_t size)
{
   scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
   if (!ctx)
      return snprintf(msg, size, "seccomp_init failed"), -1;
   int rc = 0;
   for (size_t i = 0; rc == 0 && i < sizeof denied / sizeof *denied; ++i)
      rc = add(ctx, denied[i], 0, NULL);
   const struct scmp_arg_cmp not_thread = {0, SCMP_CMP_MASKED_EQ, CLONE_THREAD, 0};
   const struct scmp_arg_cmp other_pid = {0, SCMP_CMP_NE, (scmp_datum_t)getpid(), 0};
   if (rc == 0)
      rc = add_open_rules(ctx, "open", 1);
   if (rc == 0)
      rc = add_open_rules(ctx, "openat", 2);
   if (rc == 0)
      rc = add(ctx, "clone", 1, &not_thread);
   if (rc == 0)
      rc = add(ctx, "kill", 1, &other_pid);
   if (rc == 0)
      rc = add(ctx, "tgkill", 1, &other_pid);
   if (rc == 0)
      rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
   if (rc == 0)
      rc = seccomp_load(ctx);
   seccomp_release(ctx);
   if (rc < 0)
      return snprintf(msg, size, "installing the seccomp filter: %s", strerror(-rc)), -1;
   return 0;
}
