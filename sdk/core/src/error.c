#include <sono/sdk/error.h>

#include <stdio.h>
#include <string.h>

int sono_error_vset(sono_error_t *err, const char *fmt, va_list ap)
{
   if (err)
      vsnprintf(err->message, sizeof err->message, fmt, ap);
   return -1;
}

int sono_error_set(sono_error_t *err, const char *fmt, ...)
{
   va_list ap;
   va_start(ap, fmt);
   sono_error_vset(err, fmt, ap);
   va_end(ap);
   return -1;
}

int sono_error_prefix(sono_error_t *err, const char *fmt, ...)
{
   if (!err)
      return -1;
   char prefix[SONO_ERROR_MESSAGE_SIZE];
   char old[SONO_ERROR_MESSAGE_SIZE];
   va_list ap;
   va_start(ap, fmt);
   vsnprintf(prefix, sizeof prefix, fmt, ap);
   va_end(ap);
   memcpy(old, err->message, sizeof old);
   /* Truncation is acceptable: the message stays NUL-terminated. */
   size_t n = strlen(prefix);
   if (n > sizeof err->message - 3)
      n = sizeof err->message - 3;
   memcpy(err->message, prefix, n);
   memcpy(err->message + n, ": ", 2);
   size_t room = sizeof err->message - n - 3;
   size_t m = strnlen(old, room);
   memcpy(err->message + n + 2, old, m);
   err->message[n + 2 + m] = '\0';
   return -1;
}

void sono_error_clear(sono_error_t *err)
{
   if (err)
      err->message[0] = '\0';
}
