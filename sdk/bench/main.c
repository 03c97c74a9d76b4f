/* sono-bench: performance figures of sonoplug, each as a ratio to a baseline
 * measured in the same run and to the target. */
#include <stdio.h>
#include <string.h>

#include "bench_commands.h"

static int usage(void)
{
   fprintf(stderr, "usage: sono-bench <command> [options]\ncommands:");
   for (const sono_bench_command_t *c = sono_bench_commands; c->name; ++c)
      fprintf(stderr, " %s", c->name);
   fprintf(stderr, "\n       sono-bench all   runs every command\n");
   return 2;
}

int main(int argc, char **argv)
{
   if (argc < 2)
      return usage();
   if (strcmp(argv[1], "all") == 0) {
      int rc = 0;
      for (const sono_bench_command_t *c = sono_bench_commands; c->name; ++c) {
         printf("== sono-bench %s ==\n", c->name);
         rc |= c->run(argc - 1, argv + 1);
      }
      return rc;
   }
   for (const sono_bench_command_t *c = sono_bench_commands; c->name; ++c)
      if (strcmp(argv[1], c->name) == 0)
         return c->run(argc - 1, argv + 1);
   fprintf(stderr, "sono-bench: unknown command \"%s\"\n", argv[1]);
   return usage();
}
