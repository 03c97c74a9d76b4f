/* Text building for the report (see report_text.h). */
#include "report_text.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sb_free(strbuf_t *b)
{
   free(b->data);
   b->data = NULL;
   b->len = b->cap = 0;
}

static int reserve(strbuf_t *b, size_t extra)
{
   if (b->failed)
      return -1;
   if (b->len + extra + 1 <= b->cap)
      return 0;
   size_t cap = b->cap ? b->cap : 4096;
   while (cap < b->len + extra + 1)
      cap *= 2;
   char *d = realloc(b->data, cap);
   if (!d) {
      b->failed = 1;
      return -1;
   }
   b->data = d;
   b->cap = cap;
   return 0;
}

void sb_addn(strbuf_t *b, const char *s, size_t n)
{
   if (reserve(b, n) != 0)
      return;
   memcpy(b->data + b->len, s, n);
   b->len += n;
   b->data[b->len] = '\0';
}

void sb_add(strbuf_t *b, const char *s)
{
   sb_addn(b, s, strlen(s));
}

void sb_printf(strbuf_t *b, const char *fmt, ...)
{
   char small[256];
   va_list ap;
   va_start(ap, fmt);
   int n = vsnprintf(small, sizeof small, fmt, ap);
   va_end(ap);
   if (n < 0)
      return;
   if ((size_t)n < sizeof small) {
      sb_addn(b, small, (size_t)n);
      return;
   }
   if (reserve(b, (size_t)n) != 0)
      return;
   va_start(ap, fmt);
   vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
   va_end(ap);
   b->len += (size_t)n;
}

void sb_escape(strbuf_t *b, const char *s)
{
   if (!s)
      return;
   const char *run = s;
   for (; *s; ++s) {
      const char *entity = NULL;
      switch (*s) {
      case '&': entity = "&amp;"; break;
      case '<': entity = "&lt;"; break;
      case '>': entity = "&gt;"; break;
      case '"': entity = "&quot;"; break;
      case '\'': entity = "&#39;"; break;
      default: break;
      }
      if (entity) {
         sb_addn(b, run, (size_t)(s - run));
         sb_add(b, entity);
         run = s + 1;
      }
   }
   sb_addn(b, run, (size_t)(s - run));
}

void sb_base64(strbuf_t *b, const uint8_t *bytes, size_t n)
{
   static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
   if (reserve(b, (n + 2) / 3 * 4) != 0)
      return;
   char *out = b->data + b->len;
   size_t i = 0;
   for (; i + 2 < n; i += 3) {
      uint32_t v = (uint32_t)bytes[i] << 16 | (uint32_t)bytes[i + 1] << 8 | bytes[i + 2];
      *out++ = alphabet[v >> 18];
      *out++ = alphabet[(v >> 12) & 63];
      *out++ = alphabet[(v >> 6) & 63];
      *out++ = alphabet[v & 63];
   }
   if (i < n) {
      uint32_t v = (uint32_t)bytes[i] << 16 | (i + 1 < n ? (uint32_t)bytes[i + 1] << 8 : 0u);
      *out++ = alphabet[v >> 18];
      *out++ = alphabet[(v >> 12) & 63];
      *out++ = i + 1 < n ? alphabet[(v >> 6) & 63] : '=';
      *out++ = '=';
   }
   b->len = (size_t)(out - b->data);
   b->data[b->len] = '\0';
}
