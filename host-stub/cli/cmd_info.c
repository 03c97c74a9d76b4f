/* sono-host info PLUGIN: load one plugin (manifest or .so) and describe it,
 * including its parameters. Loading runs every host check. */
#include <stdio.h>
#include <string.h>

#include <sono/host/host.h>
#include <sono/sdk/names.h>

static void print_planes(uint32_t mask)
{
   for (int k = 0; k < SONO_PLANE_KIND_COUNT; ++k)
      if (mask & SONO_PLANE_BIT(k))
         printf(" %s", sono_plane_kind_name(k));
   printf("\n");
}

static void print_params(const sono_host_instance_t *in)
{
   const sono_plugin_params_t *p = sono_host_instance_extension(in, SONO_EXT_PARAMS);
   if (!p) {
      printf("parameters:   none (no %s)\n", SONO_EXT_PARAMS);
      return;
   }
   printf("parameters:   (%s)\n", SONO_EXT_PARAMS);
   sono_error_t err;
   for (uint32_t i = 0;; ++i) {
      double v = 0;
      sono_param_info_t info;
      if (!sono_host_instance_param_info(in, i, &info))
         break;
      sono_host_instance_get_param(in, info.key, &v, &err);
      printf("  %-28s %-8s %g [%g, %g] default %g  %s\n", info.key, info.unit, v, info.min_value, info.max_value,
             info.default_value, info.name);
   }
}

int sono_cli_info(int argc, char **argv)
{
   if (argc != 2 || !strcmp(argv[1], "--help")) {
      fprintf(stderr, "usage: sono-host info PLUGIN(.so|.sono.json)\n");
      return 2;
   }
   sono_error_t err;
   sono_host_library_t *lib = sono_host_library_load(argv[1], &err);
   if (!lib) {
      fprintf(stderr, "sono-host info: %s\n", err.message);
      return 1;
   }
   const sono_manifest_t *m = sono_host_library_manifest(lib);
   char abi[32];
   printf("id:           %s\nname:         %s\nvendor:       %s\nversion:      %s\nabi:          %s\n", m->id, m->name,
          m->vendor, m->version, sono_version_format(m->abi, abi, sizeof abi));
   printf("binary:       %s\nsha256:       %s\nsafety class: %s\nintended use: %s\n", m->binary_path, m->sha256,
          m->safety_class, m->intended_use);
   printf("cost/frame:   %.3f ms\ndeterminism:  %s\nconcurrency:  %s\nisolation:    %s\nplanes:      ",
          m->cost_per_frame_s * 1e3, sono_determinism_name(m->determinism), sono_concurrency_name(m->concurrency),
          m->may_isolate ? "allowed" : "in-process only");
   print_planes(m->planes_needed);
   sono_host_instance_t *in = sono_host_instance_create(lib, NULL, NULL, &err);
   if (in) {
      print_params(in);
      printf("state:        %s\n", sono_host_instance_extension(in, SONO_EXT_STATE) ? "sono.state/1" : "none");
      sono_host_instance_destroy(in);
   } else {
      fprintf(stderr, "sono-host info: %s\n", err.message);
   }
   sono_host_library_unload(lib, &err);
   return in ? 0 : 1;
}
