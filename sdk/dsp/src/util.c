#include "dsp_internal.h"

#include <stdarg.h>
#include <stdio.h>

int dsp_fail(char *err, size_t err_size, const char *fmt, ...)
{
   if (err && err_size > 0) {
      va_list ap;
      va_start(ap, fmt);
      vsnprintf(err, err_size, fmt, ap);
      va_end(ap);
   }
   return -1;
}

