/* sono-conform: the conformance verdict on one plugin binary.
 *
 *   sono-conform PLUGIN.so [--manifest M] [--seed S] [--only CHECK[,CHECK]]
 *                [--junit F] [--json F] [--timeout SECONDS] [--list]
 *   sono-conform PLUGIN.so --replay TRACE
 *
 * The parent never loads the plugin: each check is a child process (this
 * program re-executed with --check ID) that reports lines on a pipe. A
 * signal, a timeout or an unexpected exit is that check's FAIL, and the run
 * goes on. Exit status: 0 no FAIL, 1 at least one FAIL, 2 usage error. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "checks.h"
#include "report.h"

#ifndef SONO_CONFORM_RT_LIB
#define SONO_CONFORM_RT_LIB ""
#endif

static int usage(const char *why)
{
   fprintf(stderr,
           "sono-conform: %s\n"
           "usage: sono-conform PLUGIN.so [--manifest M] [--seed S] [--only CHECK[,CHECK...]]\n"
           "                    [--junit FILE] [--json FILE] [--timeout SECONDS] [--list]\n"
           "       sono-conform PLUGIN.so --replay TRACE\n",
           why);
   return 2;
}

/* ---- options -------------------------------------------------------------- */

typedef struct args {
   const char *only;
   const char *junit;
   const char *json;
   const char *replay;
   const char *check;       /* child mode */
   int result_fd;
   int list;
   int seed_given;
} args_t;

static int parse_u64(const char *s, uint64_t *out)
{
   char *end;
   errno = 0;
   unsigned long long v = strtoull(s, &end, 0);
   if (errno || !*s || *end)
      return -1;
   *out = v;
   return 0;
}

static int parse_args(int argc, char **argv, args_t *a)
{
   memset(a, 0, sizeof *a);
   a->result_fd = 1;
   cf_opt.timeout_s = 20.0;
   for (int i = 1; i < argc; ++i) {
      const char *o = argv[i];
      const char *v = i + 1 < argc ? argv[i + 1] : NULL;
      int takes = 1;
      if (strcmp(o, "--list") == 0) {
         a->list = 1;
         takes = 0;
      } else if (o[0] != '-') {
         if (cf_opt.plugin)
            return usage("more than one plugin given");
         cf_opt.plugin = o;
         takes = 0;
      } else if (!v) {
         return usage("option needs a value");
      } else if (strcmp(o, "--manifest") == 0) {
         snprintf(cf_opt.manifest_path, sizeof cf_opt.manifest_path, "%s", v);
      } else if (strcmp(o, "--seed") == 0) {
         if (parse_u64(v, &cf_opt.seed) != 0)
            return usage("--seed needs an unsigned integer");
         a->seed_given = 1;
      } else if (strcmp(o, "--only") == 0) {
         a->only = v;
      } else if (strcmp(o, "--junit") == 0) {
         a->junit = v;
      } else if (strcmp(o, "--json") == 0) {
         a->json = v;
      } else if (strcmp(o, "--replay") == 0) {
         a->replay = v;
      } else if (strcmp(o, "--timeout") == 0) {
         cf_opt.timeout_s = atof(v);
         if (!(cf_opt.timeout_s > 0))
            return usage("--timeout needs a positive number of seconds");
      } else if (strcmp(o, "--check") == 0) {
         a->check = v;
      } else if (strcmp(o, "--result-fd") == 0) {
         a->result_fd = atoi(v);
      } else {
         return usage("unknown option");
      }
      i += takes;
   }
   if (a->list)
      return 0;
   if (!cf_opt.plugin)
      return usage("no plugin given");
   if (a->only) {
      char copy[1024];
      snprintf(copy, sizeof copy, "%s", a->only);
      for (char *t = strtok(copy, ","); t; t = strtok(NULL, ","))
         if (!cf_check_find(t)) {
            fprintf(stderr, "sono-conform: unknown check \"%s\" (see --list)\n", t);
            return 2;
         }
   }
   return 0;
}

/* The manifest: --manifest, or <stem>.sono.json beside the binary. */
static void find_manifest(void)
{
   if (!cf_opt.manifest_path[0]) {
      snprintf(cf_opt.manifest_path, sizeof cf_opt.manifest_path, "%s", cf_opt.plugin);
      char *dot = strrchr(cf_opt.manifest_path, '.');
      char *slash = strrchr(cf_opt.manifest_path, '/');
      if (dot && (!slash || dot > slash))
         *dot = '\0';
      strncat(cf_opt.manifest_path, ".sono.json", sizeof cf_opt.manifest_path - strlen(cf_opt.manifest_path) - 1);
   }
   sono_error_t err;
   err.message[0] = '\0';
   if (sono_manifest_load(cf_opt.manifest_path, &cf_opt.manifest, &err) == 0)
      cf_opt.have_manifest = 1;
   else
      snprintf(cf_opt.manifest_error, sizeof cf_opt.manifest_error, "%s", err.message);
}

static void find_rt_lib(char *buf, size_t size, const char *self)
{
   const char *env = getenv("SONO_CONFORM_RT_LIB");
   struct stat st;
   if (env && stat(env, &st) == 0) {
      snprintf(buf, size, "%s", env);
      return;
   }
   if (SONO_CONFORM_RT_LIB[0] && stat(SONO_CONFORM_RT_LIB, &st) == 0) {
      snprintf(buf, size, "%s", SONO_CONFORM_RT_LIB);
      return;
   }
   /* Installed layout: bin/sono-conform and lib/sonoplug/libsono_conform_rt.so */
   snprintf(buf, size, "%s", self);
   char *slash = strrchr(buf, '/');
   if (slash)
      snprintf(slash, size - (size_t)(slash - buf), "/../lib/sonoplug/libsono_conform_rt.so");
}

/* ---- running one check in a child ----------------------------------------------- */

static void child_exec(const cf_check_t *c, const args_t *a, int fd, const char *rt_lib, const char *replay)
{
   char seed[32], fds[16];
   snprintf(seed, sizeof seed, "%" PRIu64, cf_opt.seed);
   snprintf(fds, sizeof fds, "%d", fd);
   int devnull = open("/dev/null", O_WRONLY);
   if (devnull >= 0)
      dup2(devnull, 1);
   if (c->needs_rt_preload && rt_lib[0] && !cf_under_sanitizer())
      setenv("LD_PRELOAD", rt_lib, 1);
   char *argv[16];
   int n = 0;
   argv[n++] = (char *)cf_opt.self;
   argv[n++] = (char *)cf_opt.plugin;
   argv[n++] = "--check";
   argv[n++] = (char *)c->id;
   argv[n++] = "--result-fd";
   argv[n++] = fds;
   argv[n++] = "--seed";
   argv[n++] = seed;
   argv[n++] = "--manifest";
   argv[n++] = cf_opt.manifest_path;
   if (replay) {
      argv[n++] = "--replay";
      argv[n++] = (char *)replay;
   }
   argv[n] = NULL;
   (void)a;
   execv(cf_opt.self, argv);
   _exit(127);
}

static void take_line(cf_result_t *r, char *line)
{
   char tag = line[0];
   const char *text = line[1] == ' ' ? line + 2 : line + 1;
   if (tag == 'F') {
      r->status = CF_FAIL;
      if (!r->fail_count++)
         snprintf(r->message, sizeof r->message, "%s", text);
   } else if (tag == 'W') {
      if (r->status < CF_WARN)
         r->status = CF_WARN;
      if (!r->warn_count++ && !r->fail_count)
         snprintf(r->warn_message, sizeof r->warn_message, "%s", text);
   } else if (tag == 'N') {
      snprintf(r->note, sizeof r->note, "%s", text);
   } else if (tag == 'C') {
      snprintf(r->context, sizeof r->context, "%s", text);
   }
}

static void read_lines(cf_result_t *r, char *buf, size_t *len)
{
   char *start = buf, *nl;
   while ((nl = memchr(start, '\n', *len - (size_t)(start - buf)))) {
      *nl = '\0';
      take_line(r, start);
      start = nl + 1;
   }
   *len -= (size_t)(start - buf);
   memmove(buf, start, *len);
}

static void run_check(const cf_check_t *c, const args_t *a, const char *rt_lib, const char *replay, cf_result_t *r)
{
   memset(r, 0, sizeof *r);
   r->check = c;
   int p[2];
   if (pipe(p) != 0) {
      r->status = CF_FAIL;
      snprintf(r->message, sizeof r->message, "cannot create a pipe: %s", strerror(errno));
      return;
   }
   uint64_t t0 = cf_now_ns();
   pid_t pid = fork();
   if (pid == 0) {
      close(p[0]);
      child_exec(c, a, p[1], rt_lib, replay);
   }
   close(p[1]);
   char buf[8192];
   size_t len = 0;
   int timed_out = 0;
   for (;;) {
      double left_s = cf_opt.timeout_s - (double)(cf_now_ns() - t0) / 1e9;
      if (left_s <= 0) {
         timed_out = 1;
         break;
      }
      struct pollfd pfd = {p[0], POLLIN, 0};
      int pr = poll(&pfd, 1, (int)(left_s * 1000) + 1);
      if (pr < 0 && errno == EINTR)
         continue;
      if (pr == 0)
         continue;
      ssize_t got = read(p[0], buf + len, sizeof buf - 1 - len);
      if (got <= 0)
         break;
      len += (size_t)got;
      read_lines(r, buf, &len);
      if (len == sizeof buf - 1)
         len = 0; /* an over-long line: drop it */
   }
   if (timed_out)
      kill(pid, SIGKILL);
   int wst = 0;
   waitpid(pid, &wst, 0);
   if (len) {
      buf[len] = '\0';
      take_line(r, buf);
   }
   close(p[0]);
   r->duration_s = (double)(cf_now_ns() - t0) / 1e9;
   const char *ctx = r->context[0] ? r->context : "start-up";
   if (timed_out) {
      r->status = CF_FAIL;
      r->fail_count++;
      snprintf(r->message, sizeof r->message, "did not finish within %.0f s (hang) during %s", cf_opt.timeout_s, ctx);
   } else if (WIFSIGNALED(wst)) {
      r->status = CF_FAIL;
      if (!r->fail_count++)
         snprintf(r->message, sizeof r->message, "crashed with %s (%s) during %s", cf_signal_name(WTERMSIG(wst)),
                  strsignal(WTERMSIG(wst)), ctx);
   } else if (WIFEXITED(wst) && WEXITSTATUS(wst) != 0 && !r->fail_count) {
      r->status = CF_FAIL;
      r->fail_count++;
      snprintf(r->message, sizeof r->message, "the check process exited with status %d during %s",
               WEXITSTATUS(wst), ctx);
   }
   if (r->status == CF_WARN)
      snprintf(r->message, sizeof r->message, "%s", r->warn_message);
   else if (r->status == CF_PASS)
      snprintf(r->message, sizeof r->message, "%s", r->note);
}

static int selected(const cf_check_t *c, const char *only)
{
   if (!only)
      return 1;
   size_t n = strlen(c->id);
   for (const char *p = only; (p = strstr(p, c->id)); p += n)
      if ((p == only || p[-1] == ',') && (p[n] == '\0' || p[n] == ','))
         return 1;
   return 0;
}

static int child_main(const args_t *a)
{
   cf_report_init(a->result_fd);
   if (a->replay) {
      cf_replay(a->replay);
      return 0;
   }
   const cf_check_t *c = cf_check_find(a->check);
   if (!c)
      return usage("unknown check");
   c->run();
   return cf_failed() ? 1 : 0;
}

static const cf_check_t replay_check = {"trace.replay", "the recorded call sequence re-runs and obeys the rules",
                                        NULL, 0};

int main(int argc, char **argv)
{
   args_t a;
   int rc = parse_args(argc, argv, &a);
   if (rc)
      return rc;
   if (a.list) {
      for (const cf_check_t *c = cf_checks; c->id; ++c)
         printf("%-22s %s\n", c->id, c->rationale);
      return 0;
   }
   static char self[PATH_MAX], rt_lib[PATH_MAX];
   ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
   self[n > 0 ? n : 0] = '\0';
   cf_opt.self = self;
   find_rt_lib(rt_lib, sizeof rt_lib, self);
   cf_opt.rt_lib = rt_lib;
   if (!a.seed_given)
      cf_opt.seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
   find_manifest();
   if (a.check || (a.replay && a.result_fd != 1))
      return child_main(&a);

   cf_run_t run;
   memset(&run, 0, sizeof run);
   run.plugin = cf_opt.plugin;
   run.manifest = cf_opt.manifest_path;
   run.have_manifest = cf_opt.have_manifest;
   run.seed = cf_opt.seed;
   sono_error_t err;
   if (sono_sha256_file(cf_opt.plugin, run.sha256, &err) != 0) {
      fprintf(stderr, "sono-conform: %s\n", err.message);
      return 2;
   }
   if (cf_opt.have_manifest)
      snprintf(run.plugin_id, sizeof run.plugin_id, "%s", cf_opt.manifest.id);
   cf_report_header(stdout, &run);
   static cf_result_t results[64];
   if (a.replay) {
      run_check(&replay_check, &a, rt_lib, a.replay, &results[0]);
      run.count = 1;
   } else {
      for (const cf_check_t *c = cf_checks; c->id; ++c)
         if (selected(c, a.only)) {
            run_check(c, &a, rt_lib, NULL, &results[run.count]);
            cf_report_line(stdout, &run, &results[run.count], a.only);
            fflush(stdout);
            run.count++;
         }
   }
   if (a.replay)
      cf_report_line(stdout, &run, &results[0], NULL);
   run.results = results;
   int failed = cf_report_summary(stdout, &run);
   if (a.junit && cf_report_junit(a.junit, &run) != 0)
      fprintf(stderr, "sono-conform: cannot write %s\n", a.junit);
   if (a.json && cf_report_json(a.json, &run) != 0)
      fprintf(stderr, "sono-conform: cannot write %s\n", a.json);
   return failed ? 1 : 0;
}
