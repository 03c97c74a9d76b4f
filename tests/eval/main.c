/* sono-eval: runs one plugin over a phantom batch (or any recordings with
 * ground truth) and prints its metrics. One subcommand per file
 * eval_<name>.c, dispatched through a generated table. */
#include <stdio.h>
#include <string.h>

#include "eval_commands.h"

static int usage(FILE *f)
{
   fprintf(f, "usage: sono-eval <plugin> --n N --seed S [--work DIR | --batch DIR] [--plugins DIR] [--verbose] [--keep]\n"
              "                 [--min-<metric> X] [--max-<metric> X]\n"
              "plugins:");
   for (const sono_eval_command_t *c = sono_eval_commands; c->name; ++c)
      fprintf(f, " %s", c->name);
   fprintf(f, "\nexit status 1 when a given threshold is not met, 2 on usage or run errors\n");
   return 2;
}

int main(int argc, char **argv)
{
   if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
      return usage(argc < 2 ? stderr : stdout);
   for (const sono_eval_command_t *c = sono_eval_commands; c->name; ++c)
      if (strcmp(c->name, argv[1]) == 0)
         return c->run(argc - 1, argv + 1);
   fprintf(stderr, "sono-eval: plugin \"%s\": unknown; expected one of the commands below\n", argv[1]);
   return usage(stderr);
}
