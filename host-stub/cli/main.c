/* sono-host: the reference host's command line. Each command lives in its
 * own file cli/cmd_<name>.c. */
#include <stdio.h>
#include <string.h>

#include "cli_commands.h"

static int usage(FILE *f)
{
   fprintf(f, "usage: sono-host <command> [options]\ncommands:\n");
   for (const sono_cli_command_t *c = sono_cli_commands; c->name; ++c)
      fprintf(f, "  %s\n", c->name);
   fprintf(f, "Run `sono-host <command> --help` for a command's options.\n");
   return 2;
}

int main(int argc, char **argv)
{
   if (argc < 2)
      return usage(stderr);
   if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))
      return usage(stdout), 0;
   for (const sono_cli_command_t *c = sono_cli_commands; c->name; ++c)
      if (strcmp(argv[1], c->name) == 0)
         return c->run(argc - 1, argv + 1);
   fprintf(stderr, "sono-host: unknown command \"%s\"\n", argv[1]);
   return usage(stderr);
}
