/* sono-host list DIR: every manifest in a plugin folder, with its verdict. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sono/host/host.h>
#include <sono/sdk/names.h>

int sono_cli_list(int argc, char **argv)
{
   if (argc != 2 || !strcmp(argv[1], "--help")) {
      fprintf(stderr, "usage: sono-host list PLUGIN_DIR\n  lists every *.sono.json in PLUGIN_DIR and whether it loads\n");
      return 2;
   }
   sono_error_t err;
   sono_host_listing_t *items = NULL;
   int n = sono_host_scan(argv[1], &items, &err);
   if (n < 0) {
      fprintf(stderr, "sono-host list: %s\n", err.message);
      return 1;
   }
   int bad = 0;
   for (int i = 0; i < n; ++i) {
      const sono_manifest_t *m = &items[i].manifest;
      if (items[i].ok)
         printf("%-34s %-8s %-22s class %s  planes 0x%02x  %s\n", m->id, m->version, m->name, m->safety_class,
                m->planes_needed, m->path);
      else
         printf("INVALID  %s\n         %s\n", m->path, items[i].error), ++bad;
   }
   if (n == 0)
      printf("no plugin manifests (*.sono.json) in %s\n", argv[1]);
   free(items);
   return bad ? 1 : 0;
}
