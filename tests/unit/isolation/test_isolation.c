/* Isolated mode: each deliberately broken plugin runs in its own sandboxed
 * child next to a well-behaved one. For every failure class: the host
 * survives, the good plugin's results for the same frame are intact, the
 * failure carries the right reason, and restart or quarantine follows the
 * policy. argv[1]: conformance fixtures folder, argv[2]: isolation fixtures. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <sono/host/host.h>

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#else
#define UNDER_ASAN 0
#endif

static const char *conform_dir, *iso_dir;

enum { NX = 64, NZ = 48 };

typedef struct rig {
   sono_host_buffer_t buf;
   sono_plane_t planes[2];
   sono_frame_t frame;
   sono_frame_format_t format;
   sono_host_library_t *good_lib, *bad_lib;
   sono_host_instance_t *good, *bad;
   sono_host_policy_t policy;
} rig;

static void path_of(char *out, size_t size, const char *dir, const char *name)
{
   snprintf(out, size, "%s/%s.sono.json", dir, name);
}

static void make_frame(rig *r)
{
   sono_error_t err;
   size_t bmode = NX * NZ, velocity = NX * NZ * sizeof(float);
   assert_int_equal(sono_host_buffer_create(&r->buf, bmode + velocity, "test-frame", &err), 0);
   assert_int_equal(sono_host_buffer_share(&r->buf, &err), 0);
   uint8_t *px = r->buf.data;
   for (size_t i = 0; i < bmode; ++i)
      px[i] = (uint8_t)(i % 200);
   memset(px + bmode, 0, velocity);
   r->planes[0] = (sono_plane_t){sizeof(sono_plane_t), SONO_PLANE_BMODE, SONO_DTYPE_UINT8, {NZ, NX, 1}, {NX, 1, 0}, px};
   r->planes[1] = (sono_plane_t){sizeof(sono_plane_t), SONO_PLANE_VELOCITY, SONO_DTYPE_FLOAT32, {NZ, NX, 1},
                                 {NX, 1, 0}, px + bmode};
   memset(&r->frame, 0, sizeof r->frame);
   r->frame.struct_size = sizeof r->frame;
   r->frame.plane_count = 2;
   r->frame.planes = r->planes;
   r->frame.grid = (sono_grid_t){NX, NZ, 1e-4, 1e-4, 0, 0};
   memset(&r->format, 0, sizeof r->format);
   r->format.struct_size = sizeof r->format;
   r->format.planes_available = SONO_PLANE_BIT(SONO_PLANE_BMODE) | SONO_PLANE_BIT(SONO_PLANE_VELOCITY);
   r->format.max_nx = NX;
   r->format.max_nz = NZ;
   r->format.max_ensemble = 1;
   r->format.grid = r->frame.grid;
}

static sono_host_instance_t *open_isolated(rig *r, const char *dir, const char *name, sono_host_library_t **lib,
                                           sono_error_t *err)
{
   char path[4096];
   path_of(path, sizeof path, dir, name);
   *lib = sono_host_library_load_isolated(path, err);
   assert_non_null(*lib);
   sono_host_instance_options_t opt = {0, 0, SONO_HOST_RUN_ISOLATED, &r->policy};
   sono_host_instance_t *in = sono_host_instance_create(*lib, NULL, &opt, err);
   if (in)
      assert_int_equal(sono_host_instance_activate(in, &r->format, err), 0);
   return in;
}

/* A good plugin and `bad` (NULL: none), both isolated. */
static void rig_open(rig *r, const char *bad_dir, const char *bad)
{
   sono_error_t err;
   memset(r, 0, sizeof *r);
   make_frame(r);
   sono_host_policy_default(&r->policy);
   r->policy.restart_backoff_ms = -1; /* restart at the next frame: no timed waits in tests */
   r->good = open_isolated(r, conform_dir, "fixture_good", &r->good_lib, &err);
   assert_non_null(r->good);
   if (bad) {
      r->bad = open_isolated(r, bad_dir, bad, &r->bad_lib, &err);
      if (!r->bad)
         fail_msg("%s: %s", bad, err.message);
   }
}

static void rig_close(rig *r)
{
   sono_error_t err;
   sono_host_instance_destroy(r->good);
   sono_host_instance_destroy(r->bad);
   assert_int_equal(sono_host_library_unload(r->good_lib, &err), 0);
   if (r->bad_lib)
      assert_int_equal(sono_host_library_unload(r->bad_lib, &err), 0);
   sono_host_buffer_unshare(&r->buf);
   sono_host_buffer_destroy(&r->buf);
}

/* The good plugin's results for this frame: a finding and the mean grey
 * level of the test pattern. */
static void assert_good_intact(rig *r)
{
   sono_error_t err;
   assert_int_equal(sono_host_instance_process(r->good, &r->frame, &err), 0);
   const sono_event_store_t *ev = sono_host_instance_events(r->good);
   assert_int_equal(sono_event_store_count(ev), 2);
   const sono_event_header_t *h = sono_event_store_get(ev, 1);
   assert_int_equal(h->type, SONO_EVENT_MEASUREMENT);
   const sono_event_measurement_t *m = (const sono_event_measurement_t *)h;
   assert_string_equal(m->name, "grey_statistic");
   double sum = 0;
   const uint8_t *px = r->planes[0].data;
   for (size_t i = 0; i < (size_t)NX * NZ; ++i)
      sum += px[i];
   assert_true(m->value > sum / (NX * NZ) - 1e-9 && m->value < sum / (NX * NZ) + 1e-9);
   const sono_event_finding_t *f = (const sono_event_finding_t *)sono_event_store_get(ev, 0);
   assert_string_equal(f->kind, "fixture_bright");
}

/* Runs the bad plugin on frame `seq`, then the good one on the same frame. */
static int bad_then_good(rig *r, uint64_t seq, sono_error_t *err)
{
   r->frame.sequence = seq;
   int rc = sono_host_instance_process(r->bad, &r->frame, err);
   assert_good_intact(r);
   return rc;
}

/* Processes frames until the bad plugin's child is back (bounded). */
static int until_not_restarting(rig *r, uint64_t *seq, sono_error_t *err)
{
   int rc = -1;
   for (int i = 0; i < 500; ++i) {
      rc = bad_then_good(r, (*seq)++, err);
      const char *why = sono_host_instance_last_failure(r->bad);
      if (!why || strcmp(why, "restarting") != 0)
         return rc;
      usleep(10000);
   }
   fail_msg("the plugin process never came back");
   return rc;
}

static void assert_contains(const char *text, const char *part)
{
   if (!text || !strstr(text, part))
      fail_msg("expected \"%s\" in: %s", part, text ? text : "(null)");
}

/* ---- round trip ------------------------------------------------------------- */

static void round_trip_matches_in_process(void **state)
{
   (void)state;
   rig r;
   sono_error_t err;
   rig_open(&r, NULL, NULL);
   assert_good_intact(&r);
   sono_host_isolation_stats_t st;
   sono_host_instance_isolation_stats(r.good, &st);
   assert_int_equal(st.isolated, 1);
   assert_true(st.pid > 0);
   assert_int_equal(st.plane_copies, 0); /* planes live in a shared buffer */
   assert_string_equal(sono_host_instance_descriptor(r.good)->id, "org.sonoplug.fixture.good");
   assert_int_equal(sono_host_library_plugin_count(r.good_lib), 1);
   assert_null(sono_host_instance_extension(r.good, SONO_EXT_PARAMS));

   /* The same plugin in-process gives the same events. */
   char path[4096];
   path_of(path, sizeof path, conform_dir, "fixture_good");
   sono_host_library_t *lib = sono_host_library_load(path, &err);
   assert_non_null(lib);
   sono_host_instance_t *in = sono_host_instance_create(lib, NULL, NULL, &err);
   assert_non_null(in);
   assert_int_equal(sono_host_instance_activate(in, &r.format, &err), 0);
   assert_int_equal(sono_host_instance_process(in, &r.frame, &err), 0);
   const sono_event_store_t *a = sono_host_instance_events(in), *b = sono_host_instance_events(r.good);
   assert_int_equal(sono_event_store_count(a), sono_event_store_count(b));
   const sono_event_finding_t *fa = (const void *)sono_event_store_get(a, 0), *fb = (const void *)sono_event_store_get(b, 0);
   assert_string_equal(fa->basis, fb->basis);
   assert_true(fa->confidence == fb->confidence);
   sono_host_isolation_stats_t none;
   sono_host_instance_isolation_stats(in, &none);
   assert_int_equal(none.isolated, 0);
   sono_host_instance_destroy(in);
   sono_host_library_unload(lib, &err);

   /* A plane outside any shared buffer is copied once, and counted. */
   static uint8_t plain[NX * NZ];
   memcpy(plain, r.buf.data, sizeof plain);
   r.planes[0].data = plain;
   assert_good_intact(&r);
   sono_host_instance_isolation_stats(r.good, &st);
   assert_int_equal(st.plane_copies, 1);
   assert_int_equal(st.plane_bytes_copied, NX * NZ);
   r.planes[0].data = r.buf.data;
   rig_close(&r);
}

static void params_and_state_cross_the_boundary(void **state)
{
   (void)state;
   rig r;
   sono_error_t err;
   rig_open(&r, NULL, NULL);
   double v = 0;
   assert_int_equal(sono_host_instance_set_param(r.good, "threshold", 42.0, &err), 0);
   assert_int_equal(sono_host_instance_get_param(r.good, "threshold", &v, &err), 0);
   assert_true(v == 42.0);
   assert_int_equal(sono_host_instance_set_param(r.good, "threshold", 999.0, &err), -1);
   assert_contains(err.message, "\"threshold\"");
   assert_contains(err.message, "refused");
   assert_int_equal(sono_host_instance_get_param(r.good, "nope", &v, &err), -1);
   assert_contains(err.message, "\"nope\" is unknown");
   sono_param_info_t info;
   assert_int_equal(sono_host_instance_param_info(r.good, 1, &info), 1);
   assert_string_equal(info.key, "mode");
   assert_int_equal(sono_host_instance_param_info(r.good, 7, &info), 0);
   uint8_t *bytes = NULL;
   size_t size = 0;
   assert_int_equal(sono_host_instance_save_state(r.good, &bytes, &size, &err), 0);
   assert_int_equal(sono_host_instance_set_param(r.good, "threshold", 7.0, &err), 0);
   assert_int_equal(sono_host_instance_load_state(r.good, bytes, size, &err), 0);
   assert_int_equal(sono_host_instance_get_param(r.good, "threshold", &v, &err), 0);
   assert_true(v == 42.0);
   bytes[5] ^= 0xff;
   assert_int_equal(sono_host_instance_load_state(r.good, bytes, size, &err), -1);
   assert_contains(err.message, "refused by the plugin");
   free(bytes);
   rig_close(&r);
}

/* ---- failure classes ---------------------------------------------------------- */

static void crash_restarts_then_crash_loop_quarantines(void **state)
{
   (void)state;
   rig r;
   sono_error_t err;
   uint64_t seq = 0;
   rig_open(&r, conform_dir, "fixture_crash_process");
   assert_int_equal(bad_then_good(&r, seq++, &err), -1);
   assert_string_equal(sono_host_instance_last_failure(r.bad), "crash");
   assert_contains(err.message, "SIGSEGV");
   assert_contains(err.message, "process() of frame 0");
   assert_contains(err.message, "restart");
   /* Each restart crashes again: the third consecutive crash quarantines. */
   for (int crash = 2; crash <= 3; ++crash) {
      assert_int_equal(until_not_restarting(&r, &seq, &err), -1);
      assert_string_equal(sono_host_instance_last_failure(r.bad), "crash");
   }
   assert_contains(err.message, "crash loop (3 consecutive)");
   assert_contains(err.message, "quarantined");
   assert_int_equal(sono_host_instance_state(r.bad), SONO_HOST_STATE_FAILED);
   sono_host_isolation_stats_t st;
   sono_host_instance_isolation_stats(r.bad, &st);
   assert_int_equal(st.crashes, 3);
   assert_int_equal(st.restarts, 2);
   assert_int_equal(st.quarantined, 1);
   assert_int_equal(bad_then_good(&r, seq++, &err), -1);
   assert_string_equal(sono_host_instance_last_failure(r.bad), "quarantined");
   rig_close(&r);
}

static void hang_misses_deadline_then_quarantine(void **state)
{
   (void)state;
   rig r;
   sono_error_t err;
   rig_open(&r, conform_dir, "fixture_hang");
   sono_host_isolation_stats_t st;
   sono_host_instance_isolation_stats(r.bad, &st);
   assert_true(st.deadline_ms == 20.0); /* 5 ms declared x factor 4 */
   assert_int_equal(bad_then_good(&r, 0, &err), -1);
   assert_string_equal(sono_host_instance_last_failure(r.bad), "deadline");
   /* The first frame of a new process has the warm-up deadline (250 ms). */
   assert_contains(err.message, "process() of frame 0 did not finish within 250.0 ms (declared cost 5.0 ms x 4.0");
   assert_int_equal(bad_then_good(&r, 1, &err), -1);
   assert_string_equal(sono_host_instance_last_failure(r.bad), "deadline");
   assert_contains(err.message, "process() of frame 0 still running, frame 1 not sent");
   assert_int_equal(bad_then_good(&r, 2, &err), -1);
   assert_contains(err.message, "3 consecutive miss(es)");
   assert_contains(err.message, "quarantined");
   assert_int_equal(sono_host_instance_state(r.bad), SONO_HOST_STATE_FAILED);
   sono_host_instance_isolation_stats(r.bad, &st);
   assert_int_equal(st.deadline_misses, 3);
   assert_int_equal(st.pid, 0); /* the spinning child was stopped */
   assert_int_equal(bad_then_good(&r, 3, &err), -1);
   assert_string_equal(sono_host_instance_last_failure(r.bad), "quarantined");
   rig_close(&r);
}

static void hang_restarts_with_saved_state_when_policy_says_so(void **state)
{
   (void)state;
   rig r;
   sono_error_t err;
   memset(&r, 0, sizeof r);
   make_frame(&r);
   sono_host_policy_default(&r.policy);
   r.policy.restart_backoff_ms = -1;
   r.policy.restart_after_quarantine = 1;
   r.policy.crash_loop_limit = 5;
   r.good = open_isolated(&r, conform_dir, "fixture_good", &r.good_lib, &err);
   r.bad = open_isolated(&r, conform_dir, "fixture_hang", &r.bad_lib, &err);
   assert_non_null(r.bad);
   assert_int_equal(sono_host_instance_set_param(r.bad, "threshold", 200.0, &err), 0);
   uint8_t *bytes = NULL;
   size_t size = 0;
   assert_int_equal(sono_host_instance_save_state(r.bad, &bytes, &size, &err), 0);
   free(bytes);
   for (uint64_t seq = 0; seq < 3; ++seq)
      assert_int_equal(bad_then_good(&r, seq, &err), -1);
   assert_contains(err.message, "restarting with the last saved state");
   assert_int_equal(sono_host_instance_state(r.bad), SONO_HOST_STATE_ACTIVE);
   /* A setup call waits for the new child: its threshold is the saved one. */
   double v = 0;
   assert_int_equal(sono_host_instance_get_param(r.bad, "threshold", &v, &err), 0);
   assert_true(v == 200.0);
   sono_host_isolation_stats_t st;
   sono_host_instance_isolation_stats(r.bad, &st);
   assert_int_equal(st.restarts, 1);
   assert_int_equal(st.quarantined, 0);
   rig_close(&r);
}

static void abort_in_init_fails_create_only(void **state)
{
   (void)state;
   rig r;
   sono_error_t err;
   memset(&r, 0, sizeof r);
   make_frame(&r);
   sono_host_policy_default(&r.policy);
   r.good = open_isolated(&r, conform_dir, "fixture_good", &r.good_lib, &err);
   assert_null(open_isolated(&r, conform_dir, "fixture_abort_init", &r.bad_lib, &err));
   assert_contains(err.message, "SIGABRT");
   assert_contains(err.message, "sono_entry.init()");
   assert_contains(err.message, "while starting");
   assert_good_intact(&r);
   rig_close(&r);
}

static void leaked_thread_is_contained(void **state)
{
   (void)state;
   rig r;
   sono_error_t err;
   rig_open(&r, conform_dir, "fixture_leaks_thread");
   sono_host_isolation_stats_t st;
   sono_host_instance_isolation_stats(r.bad, &st);
   assert_int_equal(st.child_threads, 1); /* reported: a thread the plugin left running */
   /* Naming its thread opens /proc/self/task/N/comm for writing: refused
    * softly, reported, and the plugin goes on. */
   assert_int_equal(st.sandbox_denials, 1);
   assert_contains(sono_host_instance_last_diagnostic(r.bad), "seccomp: openat() denied in create_plugin()/init()");
   assert_int_equal(bad_then_good(&r, 0, &err), 0);
   /* destroy() ends the child with its thread; no dlclose() under it. */
   rig_close(&r);
}

static void allocation_in_process_is_reported(void **state)
{
   (void)state;
   rig r;
   sono_error_t err;
   rig_open(&r, conform_dir, "fixture_allocates");
   assert_int_equal(bad_then_good(&r, 0, &err), 0);
   assert_int_equal(sono_event_store_count(sono_host_instance_events(r.bad)), 2);
   if (!UNDER_ASAN) {
      sono_host_isolation_stats_t st;
      sono_host_instance_isolation_stats(r.bad, &st);
      assert_true(st.rt_violations >= 1);
      assert_contains(sono_host_instance_last_diagnostic(r.bad), "real-time: malloc(4096) called inside process()");
   }
   rig_close(&r);
}

static void write_to_input_is_stopped(void **state)
{
   (void)state;
   rig r;
   sono_error_t err;
   rig_open(&r, conform_dir, "fixture_writes_input");
   uint8_t before = ((const uint8_t *)r.buf.data)[0];
   ((uint8_t *)r.buf.data)[0] = 77;
   assert_int_equal(bad_then_good(&r, 0, &err), -1);
   assert_string_equal(sono_host_instance_last_failure(r.bad), "write-input");
   assert_contains(err.message, "wrote to a read-only input plane");
   assert_contains(err.message, "process() of frame 0");
   assert_int_equal(((const uint8_t *)r.buf.data)[0], 77); /* the frame is untouched */
   ((uint8_t *)r.buf.data)[0] = before;
   rig_close(&r);
}

static void event_flood_is_capped(void **state)
{
   (void)state;
   rig r;
   sono_error_t err;
   rig_open(&r, conform_dir, "fixture_floods");
   assert_int_equal(bad_then_good(&r, 0, &err), 0);
   assert_int_equal(sono_event_store_count(sono_host_instance_events(r.bad)), 1024);
   assert_int_equal(sono_host_instance_rejected_last(r.bad), 5000 - 1024);
   assert_contains(sono_host_instance_last_diagnostic(r.bad), "frame 0: event dropped");
   rig_close(&r);
}

static void exit_is_reported(void **state)
{
   (void)state;
   rig r;
   sono_error_t err;
   rig_open(&r, iso_dir, "iso_exit");
   assert_int_equal(bad_then_good(&r, 4, &err), -1);
   assert_string_equal(sono_host_instance_last_failure(r.bad), "exit");
   assert_contains(err.message, "called exit(3) in process() of frame 4");
   rig_close(&r);
}

/* ---- sandbox ---------------------------------------------------------------------- */

static void socket_is_denied_by_name(void **state)
{
   (void)state;
   rig r;
   sono_error_t err;
   rig_open(&r, iso_dir, "iso_socket");
   assert_int_equal(bad_then_good(&r, 0, &err), -1);
   assert_string_equal(sono_host_instance_last_failure(r.bad), "seccomp");
   assert_contains(err.message, "seccomp: socket() denied");
   assert_contains(err.message, "process() of frame 0");
   rig_close(&r);
}

static void writing_etc_is_denied_by_name(void **state)
{
   (void)state;
   rig r;
   sono_error_t err;
   rig_open(&r, iso_dir, "iso_write_etc");
   assert_int_equal(bad_then_good(&r, 0, &err), -1);
   assert_string_equal(sono_host_instance_last_failure(r.bad), "seccomp");
   assert_contains(err.message, "seccomp: openat() denied in process() of frame 0");
   assert_contains(err.message, "EACCES");
   assert_int_equal(access("/etc/sonoplug-isolation-test", F_OK), -1);
   rig_close(&r);
}

static void run_mode_auto_follows_manifest_and_vendor(void **state)
{
   (void)state;
   char path[4096];
   sono_error_t err;
   path_of(path, sizeof path, iso_dir, "iso_plain");
   sono_host_library_t *lib = sono_host_library_load(path, &err);
   assert_non_null(lib);
   sono_host_policy_t p;
   sono_host_policy_default(&p);
   sono_host_instance_options_t opt = {0, 0, SONO_HOST_RUN_AUTO, &p};
   sono_host_isolation_stats_t st;
   sono_host_instance_t *in = sono_host_instance_create(lib, NULL, &opt, &err);
   sono_host_instance_isolation_stats(in, &st);
   assert_int_equal(st.isolated, 1); /* third party, may_isolate: isolated */
   sono_host_instance_destroy(in);
   p.trusted_vendor = "sonoplug-tests";
   in = sono_host_instance_create(lib, NULL, &opt, &err);
   sono_host_instance_isolation_stats(in, &st);
   assert_int_equal(st.isolated, 0);
   sono_host_instance_destroy(in);
   assert_int_equal(sono_host_library_unload(lib, &err), 0);
}

int main(int argc, char **argv)
{
   if (argc < 3) {
      fprintf(stderr, "usage: test_isolation CONFORMANCE_FIXTURES ISOLATION_FIXTURES\n");
      return 2;
   }
   conform_dir = argv[1];
   iso_dir = argv[2];
   const struct CMUnitTest tests[] = {
      cmocka_unit_test(round_trip_matches_in_process),
      cmocka_unit_test(params_and_state_cross_the_boundary),
      cmocka_unit_test(crash_restarts_then_crash_loop_quarantines),
      cmocka_unit_test(hang_misses_deadline_then_quarantine),
      cmocka_unit_test(hang_restarts_with_saved_state_when_policy_says_so),
      cmocka_unit_test(abort_in_init_fails_create_only),
      cmocka_unit_test(leaked_thread_is_contained),
      cmocka_unit_test(allocation_in_process_is_reported),
      cmocka_unit_test(write_to_input_is_stopped),
      cmocka_unit_test(event_flood_is_capped),
      cmocka_unit_test(exit_is_reported),
      cmocka_unit_test(socket_is_denied_by_name),
      cmocka_unit_test(writing_etc_is_denied_by_name),
      cmocka_unit_test(run_mode_auto_follows_manifest_and_vendor),
   };
   return cmocka_run_group_tests(tests, NULL, NULL);
}
