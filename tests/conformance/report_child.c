/* Child side of a check: one line per result on the result pipe.
 * Lines: "F text", "W text", "N text", "C text" (context). Plain write(2)
 * so that a report made from a signal handler is not lost. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "conform.h"

static int result_fd = 1;
static int fail_count;

void cf_report_init(int fd) { result_fd = fd; }
int cf_failed(void) { return fail_count; }

static void emit(char tag, const char *fmt, va_list ap)
{
   char line[2048];
   int n = snprintf(line, sizeof line, "%c ", tag);
   vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
   for (char *p = line + n; *p; ++p)
      if (*p == '\n')
         *p = ' ';
   size_t len = strlen(line);
   line[len++] = '\n';
   ssize_t w = write(result_fd, line, len);
   (void)w;
}

#define CF_EMIT(tag)            \
   va_list ap;                  \
   va_start(ap, fmt);           \
   emit(tag, fmt, ap);          \
   va_end(ap)

void cf_fail(const char *fmt, ...) { ++fail_count; CF_EMIT('F'); }
void cf_warn(const char *fmt, ...) { CF_EMIT('W'); }
void cf_note(const char *fmt, ...) { CF_EMIT('N'); }
void cf_ctx(const char *fmt, ...) { CF_EMIT('C'); }

void cf_fail_raw(const char *text)
{
   ssize_t w = write(result_fd, "F ", 2);
   w = write(result_fd, text, strlen(text));
   w = write(result_fd, "\n", 1);
   (void)w;
}
